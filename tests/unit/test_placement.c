/* SPDX-License-Identifier: MIT */
/* Node sets per policy and CPU node, computed from topologies written as
 * `numactl -H` text, against the design's policy table. */
#include "core/placement.h"
#include "core/topology.h"

#include "fixture.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct fx {
    struct kms_topology topo;
    struct kms_plan plan;
    int rc;
    char err[512];
};

static bool movable; /* KMEM_MOVABLE=1 for the next load */

static void load(struct fx *f, const char *file, const char *kmem, bool pref_many)
{
    char why[128];
    struct kms_nodeset k;
    memset(f, 0, sizeof(*f));
    ck_assert_int_eq(kms_topology_parse_text(slurp(file), &f->topo, f->err, sizeof(f->err)), 0);
    if (kmem[0])
        ck_assert_int_eq(kms_nodeset_parse(kmem, &k, why, sizeof(why)), 0);
    else
        kms_nodeset_clear(&k);
    struct kms_plan_opts opts = {
        .have_preferred_many = pref_many, .have_weighted = true, .movable = movable};
    f->rc = kms_plan_compute(&f->topo, &k, &opts, &f->plan, f->err, sizeof(f->err));
}

static void unload(struct fx *f)
{
    if (f->rc == 0) kms_plan_free(&f->plan);
    kms_topology_free(&f->topo);
}

/* "bind 2,3", "preferred 2", "preferred_many 2-3", "default" */
static void expect(struct fx *f, int target, int cpu_node, const char *want)
{
    char got[400], list[256], mode[64];
    const struct kms_placement *pl = &f->plan.at[target][cpu_node];
    kms_nodeset_format(&pl->set, list, sizeof(list));
    kms_placement_mode_name(pl, mode, sizeof(mode));
    if (pl->mode == KMS_MODE_DEFAULT)
        snprintf(got, sizeof(got), "default");
    else
        snprintf(got, sizeof(got), "%s %s", mode, list);
    ck_assert_msg(strcmp(got, want) == 0, "%s from node %d: got '%s', want '%s'",
                  kms_target_name(target), cpu_node, got, want);
}

START_TEST(parse_four_node)
{
    struct fx f;
    load(&f, "four_node.txt", "2,3", true);
    ck_assert_int_eq(f.rc, 0);
    ck_assert_int_eq(f.topo.max_node, 3);
    ck_assert_int_eq(kms_topology_distance(&f.topo, 0, 2), 17);
    ck_assert_int_eq(kms_topology_distance(&f.topo, 3, 1), 17);
    ck_assert_int_eq(kms_topology_distance(&f.topo, 2, 3), 28);
    ck_assert_uint_eq(f.topo.size[2], 256ull << 20);
    ck_assert_int_eq(f.topo.cpu_node[0], 0);
    ck_assert_int_eq(f.topo.cpu_node[1], 1);
    ck_assert(kms_nodeset_has(&f.topo.with_cpus, 1));
    ck_assert(!kms_nodeset_has(&f.topo.with_cpus, 2));
    unload(&f);
}
END_TEST

START_TEST(design_four_node)
{
    struct fx f;
    load(&f, "four_node.txt", "2,3", true);
    ck_assert_int_eq(f.rc, 0);
    expect(&f, KMS_TARGET_DAX_KMEM, 0, "bind 2");
    expect(&f, KMS_TARGET_DAX_KMEM, 1, "bind 3");
    expect(&f, KMS_TARGET_KMEM_ALL, 0, "bind 2-3");
    expect(&f, KMS_TARGET_KMEM_ALL, 1, "bind 2-3");
    expect(&f, KMS_TARGET_PREFERRED, 0, "preferred 2");
    expect(&f, KMS_TARGET_PREFERRED, 1, "preferred 3");
    expect(&f, KMS_TARGET_DRAM, 0, "bind 0-1");
    expect(&f, KMS_TARGET_DRAM, 1, "bind 0-1");
    ck_assert(!f.plan.uniform[KMS_TARGET_DAX_KMEM]);
    ck_assert(f.plan.uniform[KMS_TARGET_KMEM_ALL]);
    ck_assert(!f.plan.uniform[KMS_TARGET_PREFERRED]);
    ck_assert(f.plan.uniform[KMS_TARGET_DRAM]);
    ck_assert_str_eq(f.plan.preferred_tie, "");
    /* Interleave targets: the same set from every CPU node. */
    for (int n = 0; n < 2; n++) {
        expect(&f, KMS_TARGET_INTERLEAVE, n, "interleave 2-3");
        expect(&f, KMS_TARGET_INTERLEAVE_ALL, n, "interleave 0-3");
        expect(&f, KMS_TARGET_WEIGHTED_INTERLEAVE, n, "weighted_interleave 2-3");
        expect(&f, KMS_TARGET_WEIGHTED_INTERLEAVE_ALL, n, "weighted_interleave 0-3");
    }
    ck_assert(f.plan.uniform[KMS_TARGET_INTERLEAVE]);
    ck_assert(f.plan.uniform[KMS_TARGET_WEIGHTED_INTERLEAVE_ALL]);
    unload(&f);
}
END_TEST

START_TEST(no_policy_four_node)
{
    struct kms_topology t;
    struct kms_plan plan;
    struct kms_nodeset k;
    char err[256];
    ck_assert_int_eq(kms_topology_parse_text(slurp("four_node.txt"), &t, err, sizeof(err)), 0);
    kms_nodeset_parse("2-3", &k, err, sizeof(err));
    /* mbind() denied: nothing may carry a policy, the interleaves included. */
    struct kms_plan_opts opts = {.have_weighted = true, .no_policy = true};
    ck_assert_int_eq(kms_plan_compute(&t, &k, &opts, &plan, err, sizeof(err)), 0);
    for (int tg = 0; tg < KMS_TARGET_COUNT; tg++)
        for (int n = 0; n < 4; n++)
            ck_assert_int_eq(plan.at[tg][n].mode, KMS_MODE_DEFAULT);
    kms_plan_free(&plan);
    kms_topology_free(&t);
}
END_TEST

START_TEST(movable_four_node)
{
    struct fx f;
    movable = true;
    load(&f, "four_node.txt", "2,3", true);
    movable = false;
    ck_assert_int_eq(f.rc, 0);
    /* Bound to the target and DRAM, first touches on the nearest KMEM node. */
    expect(&f, KMS_TARGET_DAX_KMEM, 0, "bind+balancing(home 2) 0-2");
    expect(&f, KMS_TARGET_DAX_KMEM, 1, "bind+balancing(home 3) 0-1,3");
    expect(&f, KMS_TARGET_KMEM_ALL, 0, "bind+balancing(home 2) 0-3");
    expect(&f, KMS_TARGET_KMEM_ALL, 1, "bind+balancing(home 3) 0-3");
    expect(&f, KMS_TARGET_PREFERRED, 1, "bind+balancing(home 3) 0-1,3");
    expect(&f, KMS_TARGET_DRAM, 0, "bind 0-1");
    expect(&f, KMS_TARGET_INTERLEAVE, 0, "interleave 2-3");
    ck_assert(!f.plan.uniform[KMS_TARGET_KMEM_ALL]);
    unload(&f);
}
END_TEST

START_TEST(two_node_without_kmem)
{
    struct fx f;
    load(&f, "two_node.txt", "", false);
    ck_assert_int_eq(f.rc, 0);
    /* Every route is DRAM; the interleave_all ones interleave over it. */
    for (int n = 0; n < 2; n++)
        for (int t = 0; t < KMS_TARGET_COUNT; t++)
            expect(&f, t, n,
                   t == KMS_TARGET_INTERLEAVE_ALL            ? "interleave 0-1"
                   : t == KMS_TARGET_WEIGHTED_INTERLEAVE_ALL ? "weighted_interleave 0-1"
                                                             : "default");
    unload(&f);
}
END_TEST

START_TEST(three_node_with_sparse_kmem_id)
{
    struct fx f;
    load(&f, "three_node_kmem3.txt", "3", false);
    ck_assert_int_eq(f.rc, 0);
    ck_assert(!kms_nodeset_has(&f.topo.present, 2));
    for (int n = 0; n < 2; n++) {
        expect(&f, KMS_TARGET_DAX_KMEM, n, "bind 3");
        expect(&f, KMS_TARGET_KMEM_ALL, n, "bind 3");
        expect(&f, KMS_TARGET_PREFERRED, n, "preferred 3");
        expect(&f, KMS_TARGET_DRAM, n, "bind 0-1");
    }
    unload(&f);
}
END_TEST

START_TEST(every_node_is_kmem)
{
    struct fx f;
    load(&f, "two_node.txt", "0-1", false);
    ck_assert_int_eq(f.rc, 0);
    expect(&f, KMS_TARGET_DAX_KMEM, 0, "bind 0");
    expect(&f, KMS_TARGET_DAX_KMEM, 1, "bind 1");
    expect(&f, KMS_TARGET_KMEM_ALL, 0, "bind 0-1");
    expect(&f, KMS_TARGET_PREFERRED, 1, "preferred 1");
    /* Nothing is left to bind DRAM to: it keeps the default policy. */
    expect(&f, KMS_TARGET_DRAM, 0, "default");
    unload(&f);
}
END_TEST

START_TEST(tie_with_preferred_many)
{
    struct fx f;
    load(&f, "tie_one_cpu.txt", "1,2", true);
    ck_assert_int_eq(f.rc, 0);
    expect(&f, KMS_TARGET_DAX_KMEM, 0, "bind 1-2");
    expect(&f, KMS_TARGET_KMEM_ALL, 0, "bind 1-2");
    expect(&f, KMS_TARGET_PREFERRED, 0, "preferred_many 1-2");
    expect(&f, KMS_TARGET_DRAM, 0, "bind 0");
    ck_assert_str_eq(f.plan.preferred_tie, "");
    unload(&f);
}
END_TEST

START_TEST(tie_without_preferred_many_names_the_tie)
{
    struct fx f;
    load(&f, "tie_one_cpu.txt", "1,2", false);
    ck_assert_int_eq(f.rc, 0);
    expect(&f, KMS_TARGET_DAX_KMEM, 0, "bind 1-2");
    ck_assert_msg(strstr(f.plan.preferred_tie, "KMEM nodes 1-2 are equally close to CPU node 0 "
                                               "(distance 17)") != NULL,
                  "tie message: %s", f.plan.preferred_tie);
    ck_assert(strstr(f.plan.preferred_tie, "MPOL_PREFERRED_MANY") != NULL);
    unload(&f);
}
END_TEST

START_TEST(tie_on_one_cpu_node_only)
{
    struct fx f;
    load(&f, "tie_mixed.txt", "2-5", true);
    ck_assert_int_eq(f.rc, 0);
    expect(&f, KMS_TARGET_DAX_KMEM, 0, "bind 2-3");
    expect(&f, KMS_TARGET_DAX_KMEM, 1, "bind 4");
    expect(&f, KMS_TARGET_KMEM_ALL, 0, "bind 2-5");
    expect(&f, KMS_TARGET_KMEM_ALL, 1, "bind 2-5");
    expect(&f, KMS_TARGET_PREFERRED, 0, "preferred_many 2-3");
    expect(&f, KMS_TARGET_PREFERRED, 1, "preferred 4");
    expect(&f, KMS_TARGET_DRAM, 1, "bind 0-1");
    unload(&f);
    load(&f, "tie_mixed.txt", "2-5", false);
    ck_assert(strstr(f.plan.preferred_tie, "CPU node 0") != NULL);
    expect(&f, KMS_TARGET_PREFERRED, 1, "preferred 4");
    unload(&f);
}
END_TEST

START_TEST(memoryless_cpu_node)
{
    struct fx f;
    load(&f, "memoryless_cpu_node.txt", "2", false);
    ck_assert_int_eq(f.rc, 0);
    expect(&f, KMS_TARGET_DAX_KMEM, 1, "bind 2");
    expect(&f, KMS_TARGET_DRAM, 1, "bind 0");
    unload(&f);
}
END_TEST

START_TEST(kmem_node_that_does_not_exist)
{
    struct fx f;
    load(&f, "four_node.txt", "7", false);
    ck_assert_int_eq(f.rc, -1);
    ck_assert_str_eq(f.err, "KMEM node 7 does not exist (this machine has nodes 0-3)");
    kms_topology_free(&f.topo);
}
END_TEST

START_TEST(kmem_node_without_memory)
{
    struct fx f;
    load(&f, "memoryless_cpu_node.txt", "1", false);
    ck_assert_int_eq(f.rc, -1);
    ck_assert_str_eq(f.err, "KMEM node 1 has no memory");
    kms_topology_free(&f.topo);
}
END_TEST

START_TEST(bad_topology_text)
{
    struct kms_topology t;
    char err[256];
    ck_assert_int_eq(kms_topology_parse_text("", &t, err, sizeof(err)), -1);
    ck_assert_str_eq(err, "no nodes found");
    ck_assert_int_eq(kms_topology_parse_text("node 0 cpus: 0\nbanana\n", &t, err, sizeof(err)), -1);
    ck_assert_str_eq(err, "line 2: unrecognised line 'banana'");
    /* A binary file's bytes are quoted as \xNN, and a long line is cut. */
    ck_assert_int_eq(kms_topology_parse_text("node 0 cpus: 0\n\x7f"
                                             "ELF\x02\xff\n",
                                             &t, err, sizeof(err)),
                     -1);
    ck_assert_str_eq(err, "line 2: unrecognised line '\\x7fELF\\x02\\xff'");
    ck_assert_int_eq(
        kms_topology_parse_text("node 0 weight: 0123456789012345678901234567890123456789"
                                "01234567890123456789\n",
                                &t, err, sizeof(err)),
        -1);
    ck_assert_str_eq(err, "line 1: unrecognised line 'node 0 weight: "
                          "0123456789012345678901234567890123456789012345678901...'");
    ck_assert_int_eq(kms_topology_parse_text("node 0 size: lots\n", &t, err, sizeof(err)), -1);
    ck_assert_str_eq(err, "line 1: expected a size after 'size:'");
    ck_assert_int_eq(kms_topology_parse_text("node 0 cpus: 0\nnode distances:\nnode 0\n  0: \n", &t,
                                             err, sizeof(err)),
                     -1);
    ck_assert_str_eq(err, "line 4: expected 1 distances for node 0");
}
END_TEST

START_TEST(nodeset_parse_and_format)
{
    struct kms_nodeset s;
    char why[128], out[64];
    ck_assert_int_eq(kms_nodeset_parse("0,2-4,7", &s, why, sizeof(why)), 0);
    kms_nodeset_format(&s, out, sizeof(out));
    ck_assert_str_eq(out, "0,2-4,7");
    ck_assert_int_eq(kms_nodeset_count(&s), 5);
    ck_assert_int_eq(kms_nodeset_parse("", &s, why, sizeof(why)), -1);
    ck_assert_str_eq(why, "empty node list");
    ck_assert_int_eq(kms_nodeset_parse("3-1", &s, why, sizeof(why)), -1);
    ck_assert_str_eq(why, "range 3-1 runs backwards");
    ck_assert_int_eq(kms_nodeset_parse("2,", &s, why, sizeof(why)), -1);
    ck_assert_str_eq(why, "missing node number at the end");
    ck_assert_int_eq(kms_nodeset_parse("-1", &s, why, sizeof(why)), -1);
    ck_assert_str_eq(why, "expected a node number, found '-'");
    ck_assert_int_eq(kms_nodeset_parse("2x", &s, why, sizeof(why)), -1);
    ck_assert_str_eq(why, "expected ',' or '-' after a node number, found 'x'");
    ck_assert_int_eq(kms_nodeset_parse("99999", &s, why, sizeof(why)), -1);
    ck_assert_str_eq(why, "node number too large (the limit is 1023)");
    ck_assert_int_eq(kms_nodeset_parse("1023", &s, why, sizeof(why)), 0);
    ck_assert(kms_nodeset_has(&s, 1023));
}
END_TEST

/* A walk over the members: first, next, last, across words and at both ends. */
START_TEST(nodeset_walk)
{
    struct kms_nodeset s;
    char why[128];
    kms_nodeset_clear(&s);
    ck_assert_int_eq(kms_nodeset_first(&s), -1);
    ck_assert_int_eq(kms_nodeset_next(&s, -1), -1);
    ck_assert_int_eq(kms_nodeset_last(&s), -1);
    ck_assert_int_eq(kms_nodeset_parse("0,2,63-64,700,1023", &s, why, sizeof(why)), 0);
    int want[] = {0, 2, 63, 64, 700, 1023}, k = 0;
    for (int n = kms_nodeset_first(&s); n >= 0; n = kms_nodeset_next(&s, n)) {
        ck_assert_int_lt(k, 6);
        ck_assert_int_eq(n, want[k++]);
    }
    ck_assert_int_eq(k, 6);
    ck_assert_int_eq(kms_nodeset_next(&s, -1), 0);
    ck_assert_int_eq(kms_nodeset_next(&s, 64), 700);
    ck_assert_int_eq(kms_nodeset_next(&s, 1023), -1);
    ck_assert_int_eq(kms_nodeset_last(&s), 1023);
    ck_assert_int_eq(kms_nodeset_parse("5,64", &s, why, sizeof(why)), 0);
    ck_assert_int_eq(kms_nodeset_last(&s), 64);
    ck_assert_int_eq(kms_nodeset_next(&s, 5), 64);
    ck_assert_int_eq(kms_nodeset_next(&s, 4), 5);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("placement");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, parse_four_node);
    tcase_add_test(tc, design_four_node);
    tcase_add_test(tc, movable_four_node);
    tcase_add_test(tc, no_policy_four_node);
    tcase_add_test(tc, two_node_without_kmem);
    tcase_add_test(tc, three_node_with_sparse_kmem_id);
    tcase_add_test(tc, every_node_is_kmem);
    tcase_add_test(tc, tie_with_preferred_many);
    tcase_add_test(tc, tie_without_preferred_many_names_the_tie);
    tcase_add_test(tc, tie_on_one_cpu_node_only);
    tcase_add_test(tc, memoryless_cpu_node);
    tcase_add_test(tc, kmem_node_that_does_not_exist);
    tcase_add_test(tc, kmem_node_without_memory);
    tcase_add_test(tc, bad_topology_text);
    tcase_add_test(tc, nodeset_parse_and_format);
    tcase_add_test(tc, nodeset_walk);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
