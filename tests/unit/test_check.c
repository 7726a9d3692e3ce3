/* SPDX-License-Identifier: MIT */
/* The invariant checks (core/check.h). Where the build checks (KMEMSHIM_ASSERT:
 * Debug builds, the sanitizer trees), each planted broken invariant aborts
 * inside the library, naming it: a fast pointer inside a foreign call, a
 * bypass left twice, a lock taken out of core/fork.h's order. Where it does
 * not (release builds), kms_assert does not even evaluate its condition, and
 * the planted cases are not run. */
#include "core/callsite.h"
#include "core/check.h"
#include "core/engine.h"
#include "core/fork.h"

#include <check.h>
#include <signal.h>
#include <stdio.h>

static int evaluated;
static __attribute__((unused)) int count_evaluation(void) { return ++evaluated; }

START_TEST(matches_the_build)
{
    ck_assert_int_eq(kms_assert_on, KMS_ASSERT);
    kms_assert(count_evaluation() > 0);
    ck_assert_int_eq(evaluated, KMS_ASSERT ? 1 : 0);
}
END_TEST

START_TEST(fast_pointer_inside_bypass)
{
    kms_bypass_enter(&kms_self);
    kms_self.fast[0] = mi_heap_get_default(); /* planted */
    kms_fast_learn(8, 0);                     /* engine.c checks the thread first */
}
END_TEST

START_TEST(bypass_left_twice)
{
    kms_bypass_enter(&kms_self);
    kms_bypass_leave(&kms_self);
    kms_bypass_leave(&kms_self); /* planted: leaves what it never entered */
}
END_TEST

START_TEST(lock_order_reversed)
{
    kms_lock_order_take(KMS_LOCK_ARENAS); /* planted: (2) taken under (4) */
    kms_callsite_reset();
}
END_TEST

START_TEST(lock_order_kept)
{
    kms_lock_order_take(KMS_LOCK_STATS);
    kms_callsite_reset(); /* (2) under (1) */
    kms_lock_order_drop(KMS_LOCK_STATS);
    kms_bypass_enter(&kms_self);
    kms_bypass_leave(&kms_self);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("check");
    TCase *tc = tcase_create("check");
    tcase_add_test(tc, matches_the_build);
    tcase_add_test(tc, lock_order_kept);
    if (kms_assert_on) {
        tcase_add_test_raise_signal(tc, fast_pointer_inside_bypass, SIGABRT);
        tcase_add_test_raise_signal(tc, bypass_left_twice, SIGABRT);
        tcase_add_test_raise_signal(tc, lock_order_reversed, SIGABRT);
    } else {
        printf("test_check: a release build: the invariants are compiled out, the planted "
               "cases not run (a Debug or sanitizer build runs them)\n");
    }
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
