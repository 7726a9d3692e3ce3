/* SPDX-License-Identifier: MIT */
/* The held decommits' range set (core/span_set.h) on fixtures: joining,
 * cutting, a full set, the order of due times, and its invariants after a long
 * random sequence checked against a byte map. */
#include "core/span_set.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

static struct kms_span_set set;

static void setup(void) { memset(&set, 0, sizeof(set)); }

/* Sorted, disjoint, not touching, non-empty, bytes summed. */
static void check_invariants(const struct kms_span_set *s)
{
    size_t bytes = 0;
    ck_assert_uint_le(s->n, KMS_SPAN_SET_MAX);
    for (unsigned i = 0; i < s->n; i++) {
        ck_assert_uint_lt(s->s[i].start, s->s[i].end);
        if (i) ck_assert_uint_gt(s->s[i].start, s->s[i - 1].end);
        bytes += s->s[i].end - s->s[i].start;
    }
    ck_assert_uint_eq(bytes, s->bytes);
}

#define SPAN(i, a, b, d)                                                                           \
    do {                                                                                           \
        ck_assert_uint_eq(set.s[i].start, (a));                                                    \
        ck_assert_uint_eq(set.s[i].end, (b));                                                      \
        ck_assert_uint_eq(set.s[i].due, (d));                                                      \
    } while (0)

START_TEST(add_keeps_order_and_joins)
{
    ck_assert(kms_span_set_add(&set, 300, 400, 1));
    ck_assert(kms_span_set_add(&set, 100, 200, 2));
    ck_assert_uint_eq(set.n, 2);
    SPAN(0, 100, 200, 2);
    SPAN(1, 300, 400, 1);
    /* Touching on both sides: one span, due at the latest. */
    ck_assert(kms_span_set_add(&set, 200, 300, 0));
    ck_assert_uint_eq(set.n, 1);
    SPAN(0, 100, 400, 2);
    /* Overlapping and covering: still one. */
    ck_assert(kms_span_set_add(&set, 50, 450, 5));
    ck_assert_uint_eq(set.n, 1);
    SPAN(0, 50, 450, 5);
    ck_assert_uint_eq(set.bytes, 400);
    /* Inside an existing span: nothing new but the later due time. */
    ck_assert(kms_span_set_add(&set, 60, 70, 9));
    SPAN(0, 50, 450, 9);
    /* Empty range: nothing. */
    ck_assert(kms_span_set_add(&set, 500, 500, 1));
    ck_assert_uint_eq(set.n, 1);
    check_invariants(&set);
}
END_TEST

START_TEST(add_joins_many)
{
    for (uintptr_t i = 0; i < 10; i++)
        ck_assert(kms_span_set_add(&set, 1000 + 100 * i, 1050 + 100 * i, i));
    ck_assert_uint_eq(set.n, 10);
    ck_assert(kms_span_set_add(&set, 1120, 1510, 0)); /* meets the 2nd to the 6th */
    ck_assert_uint_eq(set.n, 6);
    SPAN(1, 1100, 1550, 5);
    check_invariants(&set);
}
END_TEST

START_TEST(remove_trims_cuts_and_drops)
{
    ck_assert(kms_span_set_add(&set, 100, 200, 1));
    ck_assert(kms_span_set_add(&set, 300, 400, 2));
    ck_assert(kms_span_set_add(&set, 500, 600, 3));
    struct kms_span spill;
    /* The right end of one, all of the next, the left end of the last. */
    ck_assert(!kms_span_set_remove(&set, 150, 550, &spill));
    ck_assert_uint_eq(set.n, 2);
    SPAN(0, 100, 150, 1);
    SPAN(1, 550, 600, 3);
    /* Strictly inside: cut in two, both halves keep the due time. */
    ck_assert(!kms_span_set_remove(&set, 110, 120, &spill));
    ck_assert_uint_eq(set.n, 3);
    SPAN(0, 100, 110, 1);
    SPAN(1, 120, 150, 1);
    /* Disjoint and empty ranges change nothing. */
    ck_assert(!kms_span_set_remove(&set, 200, 500, &spill));
    ck_assert(!kms_span_set_remove(&set, 130, 130, &spill));
    ck_assert_uint_eq(set.n, 3);
    ck_assert_uint_eq(set.bytes, 10 + 30 + 50);
    /* Exactly one span. */
    ck_assert(!kms_span_set_remove(&set, 550, 600, &spill));
    ck_assert_uint_eq(set.n, 2);
    check_invariants(&set);
    ck_assert(kms_span_set_overlaps(&set, 105, 106));
    ck_assert(!kms_span_set_overlaps(&set, 110, 120));
    ck_assert(!kms_span_set_overlaps(&set, 150, 1000));
}
END_TEST

START_TEST(full_set)
{
    for (uintptr_t i = 0; i < KMS_SPAN_SET_MAX; i++)
        ck_assert(kms_span_set_add(&set, 100 * i, 100 * i + 50, i));
    ck_assert_uint_eq(set.n, KMS_SPAN_SET_MAX);
    /* No room for a span of its own: refused, nothing of it kept. */
    ck_assert(!kms_span_set_add(&set, 60, 70, 1));
    ck_assert(!kms_span_set_overlaps(&set, 60, 70));
    /* Joining needs no room. */
    ck_assert(kms_span_set_add(&set, 50, 100, 7));
    ck_assert_uint_eq(set.n, KMS_SPAN_SET_MAX - 1);
    ck_assert(kms_span_set_add(&set, 60000, 60001, 1));
    ck_assert_uint_eq(set.n, KMS_SPAN_SET_MAX);
    /* A cut with no room: the right piece comes back to be acted on now. */
    struct kms_span spill;
    size_t before = set.bytes;
    ck_assert(kms_span_set_remove(&set, 210, 220, &spill));
    ck_assert_uint_eq(spill.start, 220);
    ck_assert_uint_eq(spill.end, 250);
    ck_assert_uint_eq(spill.due, 2);
    ck_assert_uint_eq(set.bytes, before - 40);
    ck_assert(kms_span_set_overlaps(&set, 209, 210));
    ck_assert(!kms_span_set_overlaps(&set, 210, 300));
    check_invariants(&set);
}
END_TEST

START_TEST(due_order)
{
    ck_assert_uint_eq(kms_span_set_next_due(&set), UINT64_MAX);
    struct kms_span out;
    ck_assert(!kms_span_set_take_first_due(&set, &out));
    ck_assert(kms_span_set_add(&set, 100, 200, 30));
    ck_assert(kms_span_set_add(&set, 300, 400, 10));
    ck_assert(kms_span_set_add(&set, 500, 600, 20));
    ck_assert(kms_span_set_add(&set, 700, 800, 10));
    ck_assert_uint_eq(kms_span_set_next_due(&set), 10);
    uintptr_t want[] = {300, 700, 500, 100};
    for (int i = 0; i < 4; i++) {
        ck_assert(kms_span_set_take_first_due(&set, &out));
        ck_assert_uint_eq(out.start, want[i]);
        check_invariants(&set);
    }
    ck_assert_uint_eq(set.n, 0);
    ck_assert_uint_eq(set.bytes, 0);
}
END_TEST

/* Random adds and removes on 4,096 units, against a map of what is held. */
START_TEST(random_against_map)
{
    enum { UNITS = 4096 };
    static unsigned char map[UNITS];
    memset(map, 0, sizeof(map));
    unsigned seed = 12345;
    for (int step = 0; step < 40000; step++) {
        seed = seed * 1103515245u + 12345u;
        uintptr_t a = (seed >> 8) % UNITS, len = 1 + (seed >> 20) % 64;
        uintptr_t b = a + len > UNITS ? UNITS : a + len;
        if ((seed >> 4) % 3) {
            struct kms_span spill;
            if (kms_span_set_remove(&set, a, b, &spill))
                for (uintptr_t u = spill.start; u < spill.end; u++)
                    map[u] = 0;
            for (uintptr_t u = a; u < b; u++)
                map[u] = 0;
        } else if (kms_span_set_add(&set, a, b, (uint64_t)step)) {
            for (uintptr_t u = a; u < b; u++)
                map[u] = 1;
        }
        if (step % 2000 == 0) {
            check_invariants(&set);
            for (uintptr_t u = 0; u < UNITS; u++)
                ck_assert_int_eq(kms_span_set_overlaps(&set, u, u + 1), map[u]);
        }
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("span_set");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_add_test(tc, add_keeps_order_and_joins);
    tcase_add_test(tc, add_joins_many);
    tcase_add_test(tc, remove_trims_cuts_and_drops);
    tcase_add_test(tc, full_set);
    tcase_add_test(tc, due_order);
    tcase_add_test(tc, random_against_map);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
