/* SPDX-License-Identifier: MIT */
/* The arenas and mimalloc's segment cache: once the first exclusive arena
 * exists, freed segments of two kinds share the cache, and the time a
 * skipped entry keeps its pages is shortened (core/arena.c) unless the user
 * chose it. Each test runs in its own process (Check's fork mode). */
#include "core/arena.h"

#include <check.h>
#include <mimalloc.h>
#include <stdlib.h>

/* The cache's delay once the first arena exists, from the given delays and
 * no MIMALLOC_SEGMENT_DECOMMIT_DELAY in the environment. */
static long cache_delay_after_first_arena(long cache_ms, long span_ms)
{
    unsetenv("MIMALLOC_SEGMENT_DECOMMIT_DELAY");
    mi_option_set(mi_option_segment_decommit_delay, cache_ms);
    mi_option_set(mi_option_decommit_delay, span_ms);
    ck_assert_int_ge(kms_arena_add_own(-1, 64ull << 20, false), 0);
    return mi_option_get(mi_option_segment_decommit_delay);
}

START_TEST(the_first_arena_shortens_the_segment_cache_delay)
{
    /* As long as a freed span inside a segment waits. */
    ck_assert_int_eq(cache_delay_after_first_arena(500, 25), 25);
    /* The arena serves: a heap in it allocates and frees. */
    mi_heap_t *h = mi_heap_new_in_arena(kms_arenas[0].mi_id);
    ck_assert_ptr_nonnull(h);
    void *p = mi_heap_malloc(h, 100);
    ck_assert_int_eq(kms_arena_of(p), 0);
    mi_free(p);
}
END_TEST

START_TEST(a_delay_the_user_set_is_kept)
{
    /* mimalloc matches its variables ignoring case; so does the shim. The
     * option itself was read when the process started: only its value
     * staying as it was shows that the shim left it alone. */
    setenv("mimalloc_Segment_Decommit_Delay", "700", 1);
    long before = mi_option_get(mi_option_segment_decommit_delay);
    ck_assert_int_ge(kms_arena_add_own(-1, 64ull << 20, false), 0);
    ck_assert_int_eq(mi_option_get(mi_option_segment_decommit_delay), before);
    ck_assert_int_ne(before, mi_option_get(mi_option_decommit_delay));
}
END_TEST

START_TEST(a_longer_span_delay_does_not_lengthen_the_cache_delay)
{
    ck_assert_int_eq(cache_delay_after_first_arena(500, 2000), 500);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("arena");
    TCase *tc = tcase_create("segment_cache");
    tcase_add_test(tc, the_first_arena_shortens_the_segment_cache_delay);
    tcase_add_test(tc, a_delay_the_user_set_is_kept);
    tcase_add_test(tc, a_longer_span_delay_does_not_lengthen_the_cache_delay);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
