/* SPDX-License-Identifier: MIT */
/* The engine on a large machine: a 1.5 TiB KMEM node is usable in full (its
 * route reserves the node's whole capacity), and a route grows by adding
 * arenas when the per-arena cap is small. The topology is a fixture; the
 * kernel's node 0 stands in for every node, so nothing is touched beyond a page. */
#include "core/engine.h"
#include "policy/setup.h"

#include "fixture.h"

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

START_TEST(one_and_a_half_tebibytes_in_one_route)
{
    struct kms_config c;
    char err[256], warn[256];
    char *env[] = {"KMEM_NODES=1", NULL};
    ck_assert_int_eq(kms_config_from_env(env, &c, err, sizeof(err), warn, sizeof(warn)), 0);
    struct kms_setup s;
    ck_assert_int_eq(
        kms_setup_run_text(&c, NULL, slurp("large_kmem.txt"), NULL, KMS_SETUP_EXPLAIN, &s), 0);
    /* The fixture's node 1 does not exist on this machine: bind to node 0. */
    for (int n = 0; n <= s.plan.max_node; n++)
        for (int t = 0; t < KMS_TARGET_COUNT; t++)
            if (s.plan.at[t][n].mode != KMS_MODE_DEFAULT) {
                kms_nodeset_clear(&s.plan.at[t][n].set);
                kms_nodeset_add(&s.plan.at[t][n].set, 0);
            }
    /* The capacity, though, is the fixture's. */
    kms_engine_setup(&s.topo, &s.plan, 0);
    int cls = kms_class_of_target(KMS_TARGET_DAX_KMEM);
    ck_assert_int_ge(cls, 0);
    uint64_t want = kms_bind_reservation(1536ull << 30, s.topo.ncpus);
    ck_assert_uint_eq(kms_classes[cls].reserve_cap, want);

    enum { N = 5 };
    void *blocks[N];
    size_t block = 280ull << 30;
    for (int i = 0; i < N; i++) {
        blocks[i] = kms_alloc(KMS_TARGET_DAX_KMEM, block, 0, false);
        ck_assert_msg(blocks[i] != NULL, "block %d of 280 GiB", i);
        int a = kms_arena_of(blocks[i]);
        ck_assert_int_ge(a, 0);
        ck_assert_int_eq(kms_arenas[a].cls, cls);
    }
    /* 5 x 280 GiB = 1400 GiB: all of it in the one reservation of 1.5 TiB (and headroom). */
    ck_assert_int_eq(kms_classes[cls].narenas, 1);
    ck_assert_uint_eq(kms_classes[cls].reserved_bytes, want);
    /* Far more than the node holds fails with ENOMEM instead of an OOM kill. */
    errno = 0;
    ck_assert_ptr_null(kms_alloc(KMS_TARGET_DAX_KMEM, 256ull << 30, 0, false));
    ck_assert_int_eq(errno, ENOMEM);
    for (int i = 0; i < N; i++)
        mi_free(blocks[i]);
    /* And what was freed is usable again. */
    void *again = kms_alloc(KMS_TARGET_DAX_KMEM, 1024ull << 30, 0, false);
    ck_assert_ptr_nonnull(again);
    mi_free(again);
    kms_setup_free(&s);
}
END_TEST

START_TEST(bind_reservation_headroom)
{
    /* Capacity plus a 32 MiB segment per thread: 2 per CPU, at least 16 threads. */
    ck_assert_uint_eq(kms_bind_reservation(256ull << 20, 2), (256ull + 16 * 32) << 20);
    ck_assert_uint_eq(kms_bind_reservation(256ull << 20, 8), (256ull + 16 * 32) << 20);
    ck_assert_uint_eq(kms_bind_reservation(256ull << 20, 64), (256ull + 128 * 32) << 20);
    ck_assert_uint_eq(kms_bind_reservation(0, 0), 16ull * 32 << 20);
    /* 1.5 TiB with 256 CPUs: 16 GiB more address space, about 1%. */
    ck_assert_uint_eq(kms_bind_reservation(1536ull << 30, 256), (1536ull + 16) << 30);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("engine_large");
    TCase *tc = tcase_create("large");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, bind_reservation_headroom);
    tcase_add_test(tc, one_and_a_half_tebibytes_in_one_route);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_set_fork_status(sr, CK_NOFORK);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
