/* SPDX-License-Identifier: MIT */
/* What a set-up reads (policy/setup_reads.h): the decision per caller detail,
 * configuration and topology, the sysfs parts read one at a time, and that a
 * set-up reading less reaches the same plan as one reading everything. */
#include "core/kmem_detect.h"
#include "core/tiers.h"
#include "core/topology.h"
#include "policy/config.h"
#include "policy/setup.h"
#include "policy/setup_reads.h"

#include "fixture.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Every node with memory has CPUs: no detection source can claim one. */
static const char all_cpus[] = "node 0 cpus: 0\nnode 0 size: 512 MB\n"
                               "node 1 cpus: 1\nnode 1 size: 512 MB\n";

static const char *root(const char *name)
{
    static char path[512];
    snprintf(path, sizeof(path), "%s/sysfs/%s", KMS_FIXTURES, name);
    return path;
}

static char *env_list[4];

static void config(struct kms_config *c, const char *a, const char *b)
{
    char err[256], warn[256];
    env_list[0] = (char *)a;
    env_list[1] = (char *)b;
    env_list[2] = NULL;
    ck_assert_msg(kms_config_from_env(env_list, c, err, sizeof(err), warn, sizeof(warn)) == 0, "%s",
                  err);
}

static struct kms_setup_reads reads(const char *topo_text, const char *a, const char *b, bool live,
                                    enum kms_setup_detail detail)
{
    struct kms_config c;
    struct kms_topology t;
    char err[256];
    config(&c, a, b);
    ck_assert_int_eq(kms_topology_parse_text(topo_text, &t, err, sizeof(err)), 0);
    struct kms_setup_reads r = kms_setup_reads(&c, &t, live, detail);
    kms_topology_free(&t);
    return r;
}

START_TEST(no_candidate_node_reads_nothing)
{
    struct kms_setup_reads r = reads(all_cpus, NULL, NULL, true, KMS_SETUP_QUIET);
    ck_assert(!r.consult && !r.daxctl && !r.judge);
    ck_assert_uint_eq(r.sysfs, 0);
}
END_TEST

START_TEST(candidate_node_reads_the_detection_sources)
{
    struct kms_setup_reads r = reads(slurp("tie_hmat.txt"), NULL, NULL, true, KMS_SETUP_QUIET);
    ck_assert(r.consult && r.daxctl && !r.judge);
    /* The weights never change the plan: the kernel applies them. */
    ck_assert_uint_eq(r.sysfs, KMS_SYSFS_TIERS | KMS_SYSFS_HMAT);
    /* A text topology is not this machine: libdaxctl is not asked. */
    r = reads(slurp("tie_hmat.txt"), NULL, NULL, false, KMS_SETUP_QUIET);
    ck_assert(r.consult && !r.daxctl);
    r = reads(slurp("tie_hmat.txt"), "KMEM_DETECT=hmat", NULL, true, KMS_SETUP_QUIET);
    ck_assert(r.consult && !r.daxctl);
    ck_assert_uint_eq(r.sysfs, KMS_SYSFS_HMAT);
    r = reads(slurp("tie_hmat.txt"), "KMEM_DETECT=daxctl,tiers", NULL, true, KMS_SETUP_QUIET);
    ck_assert(r.consult && r.daxctl);
    ck_assert_uint_eq(r.sysfs, KMS_SYSFS_TIERS);
}
END_TEST

START_TEST(named_nodes_need_no_detection)
{
    struct kms_setup_reads r =
        reads(slurp("tie_hmat.txt"), "KMEM_NODES=2", NULL, true, KMS_SETUP_QUIET);
    ck_assert(!r.consult && !r.daxctl && !r.judge);
    ck_assert_uint_eq(r.sysfs, 0);
    r = reads(slurp("tie_hmat.txt"), "KMEM_NODES=2", "KMEM_STRICT=1", true, KMS_SETUP_TELL);
    ck_assert(!r.consult && !r.daxctl);
    ck_assert_uint_eq(r.sysfs, 0);
    /* `kmemshim nodes` shows tiers, HMAT and weights whatever the nodes' source. */
    r = reads(slurp("tie_hmat.txt"), "KMEM_NODES=2", NULL, true, KMS_SETUP_EXPLAIN);
    ck_assert(!r.consult && !r.daxctl && r.judge);
    ck_assert_uint_eq(r.sysfs, KMS_SYSFS_ALL);
}
END_TEST

START_TEST(a_said_outcome_reads_its_reasons)
{
    /* The warning or the KMEM_STRICT=1 error names each source's reason. */
    struct kms_setup_reads r = reads(all_cpus, NULL, NULL, true, KMS_SETUP_TELL);
    ck_assert(r.consult && r.daxctl && !r.judge);
    ck_assert_uint_eq(r.sysfs, KMS_SYSFS_TIERS | KMS_SYSFS_HMAT);
    r = reads(all_cpus, "KMEM_STRICT=1", NULL, true, KMS_SETUP_QUIET);
    ck_assert(r.consult && r.daxctl);
    ck_assert_uint_eq(r.sysfs, KMS_SYSFS_TIERS | KMS_SYSFS_HMAT);
    r = reads(all_cpus, NULL, NULL, true, KMS_SETUP_EXPLAIN);
    ck_assert(r.consult && r.daxctl && r.judge);
    ck_assert_uint_eq(r.sysfs, KMS_SYSFS_ALL);
}
END_TEST

START_TEST(libdaxctl_only_where_a_dax_device_is_listed)
{
    /* Nothing to claim: libdaxctl only words the message, and only a listed device can
     * change its answer. */
    struct kms_setup_reads r = reads(all_cpus, NULL, NULL, true, KMS_SETUP_TELL);
    ck_assert(r.daxctl && r.daxctl_if_listed);
    r = reads(all_cpus, "KMEM_STRICT=1", NULL, true, KMS_SETUP_QUIET);
    ck_assert(r.daxctl && r.daxctl_if_listed);
    /* A node to claim, or `kmemshim nodes`: always asked. */
    r = reads(slurp("tie_hmat.txt"), NULL, NULL, true, KMS_SETUP_TELL);
    ck_assert(r.daxctl && !r.daxctl_if_listed);
    r = reads(all_cpus, NULL, NULL, true, KMS_SETUP_EXPLAIN);
    ck_assert(r.daxctl && !r.daxctl_if_listed);
}
END_TEST

static void make_dir(const char *base, const char *rel)
{
    char path[512];
    snprintf(path, sizeof(path), "%s%s", base, rel);
    ck_assert_msg(mkdir(path, 0755) == 0, "mkdir %s", path);
}

static void remove_dir(const char *base, const char *rel)
{
    char path[512];
    snprintf(path, sizeof(path), "%s%s", base, rel);
    ck_assert_msg(rmdir(path) == 0, "rmdir %s", path);
}

START_TEST(dax_devices_listed_in_either_directory)
{
    char base[] = "/tmp/kms-daxlisted-XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(base));
    ck_assert(!kms_kmem_dax_listed(base)); /* no /sys/bus/dax, no /sys/class/dax */
    make_dir(base, "/sys");
    make_dir(base, "/sys/bus");
    make_dir(base, "/sys/bus/dax");
    make_dir(base, "/sys/bus/dax/devices");
    make_dir(base, "/sys/class");
    make_dir(base, "/sys/class/dax");
    ck_assert(!kms_kmem_dax_listed(base)); /* both empty */
    make_dir(base, "/sys/class/dax/dax0.0");
    ck_assert(kms_kmem_dax_listed(base)); /* the class directory of older kernels */
    remove_dir(base, "/sys/class/dax/dax0.0");
    ck_assert(!kms_kmem_dax_listed(base));
    make_dir(base, "/sys/bus/dax/devices/dax1.0");
    ck_assert(kms_kmem_dax_listed(base));
    const char *rm[] = {"/sys/bus/dax/devices/dax1.0",
                        "/sys/bus/dax/devices",
                        "/sys/bus/dax",
                        "/sys/bus",
                        "/sys/class/dax",
                        "/sys/class",
                        "/sys",
                        ""};
    for (size_t i = 0; i < sizeof(rm) / sizeof(rm[0]); i++)
        remove_dir(base, rm[i]);
}
END_TEST

START_TEST(tie_break_needs_two_kmem_nodes)
{
    struct kms_nodeset s;
    kms_nodeset_clear(&s);
    ck_assert(!kms_setup_reads_tie_break(&s));
    kms_nodeset_add(&s, 2);
    ck_assert(!kms_setup_reads_tie_break(&s));
    kms_nodeset_add(&s, 3);
    ck_assert(kms_setup_reads_tie_break(&s));
}
END_TEST

/* Parts read one call at a time add up to one call reading them all. */
START_TEST(parts_read_one_at_a_time)
{
    struct kms_topology t;
    struct kms_tiers some = {0}, all = {0};
    char err[256];
    ck_assert_int_eq(kms_topology_parse_text(slurp("tie_hmat.txt"), &t, err, sizeof(err)), 0);
    ck_assert_int_eq(kms_tiers_read(root("slow"), &t, KMS_SYSFS_TIERS, &some, err, sizeof(err)), 0);
    ck_assert(some.have_tiers && !some.have_hmat && !some.have_weights);
    ck_assert_uint_eq(some.parts, KMS_SYSFS_TIERS);
    ck_assert_int_eq(some.perf_class[2], -1);
    ck_assert_int_eq(kms_tiers_read(root("slow"), &t, KMS_SYSFS_HMAT, &some, err, sizeof(err)), 0);
    ck_assert(some.have_tiers && some.have_hmat && !some.have_weights);
    ck_assert_int_eq(kms_tiers_read(root("slow"), &t, KMS_SYSFS_ALL, &all, err, sizeof(err)), 0);
    for (int n = 0; n <= t.max_node; n++) {
        ck_assert_int_eq(some.tier[n], all.tier[n]);
        ck_assert_int_eq(some.perf_class[n], all.perf_class[n]);
        ck_assert_uint_eq(some.perf[n].read_latency, all.perf[n].read_latency);
        ck_assert_int_eq(some.weight[n], 0);
    }
    ck_assert_int_eq(all.weight[0], 4);
    kms_tiers_free(&some);
    kms_tiers_free(&all);
    /* A malformed file is an error only in a part that is read. */
    ck_assert_int_eq(
        kms_tiers_read(root("bad_latency"), &t, KMS_SYSFS_TIERS, &some, err, sizeof(err)), 0);
    ck_assert_int_eq(
        kms_tiers_read(root("bad_latency"), &t, KMS_SYSFS_HMAT, &some, err, sizeof(err)), -1);
    ck_assert_msg(strstr(err, "node2/access1/initiators/read_latency: expected a number"), "%s",
                  err);
    ck_assert_ptr_null(some.tier);
    kms_topology_free(&t);
}
END_TEST

static void expect_same_plan(const struct kms_setup *a, const struct kms_setup *b)
{
    ck_assert(kms_nodeset_equal(&a->kmem, &b->kmem));
    ck_assert_int_eq(a->kmem_source, b->kmem_source);
    ck_assert_int_eq(a->plan.max_node, b->plan.max_node);
    for (int tg = 0; tg < KMS_TARGET_COUNT; tg++)
        for (int n = 0; n <= a->plan.max_node; n++)
            ck_assert(kms_placement_equal(&a->plan.at[tg][n], &b->plan.at[tg][n]));
    ck_assert_str_eq(a->plan.hmat_tie, b->plan.hmat_tie);
}

static void run(const char *topo, const char *sysfs, const char *a, const char *b,
                enum kms_setup_detail detail, struct kms_setup *s)
{
    struct kms_config c;
    bool uses[KMS_TARGET_COUNT] = {[KMS_TARGET_DAX_KMEM] = true, [KMS_TARGET_PREFERRED] = true};
    config(&c, a, b);
    ck_assert_msg(kms_setup_run_text(&c, uses, topo, sysfs ? root(sysfs) : NULL, detail, s) == 0,
                  "%s", s->error);
}

START_TEST(quiet_setup_plans_as_an_explained_one)
{
    struct kms_setup quiet, told, full;
    /* Detected through HMAT, with the tie between nodes 2 and 3 broken by it. */
    run(slurp("tie_hmat.txt"), "slow", NULL, NULL, KMS_SETUP_QUIET, &quiet);
    run(slurp("tie_hmat.txt"), "slow", NULL, NULL, KMS_SETUP_EXPLAIN, &full);
    expect_same_plan(&quiet, &full);
    ck_assert_ptr_null(quiet.verdicts);
    ck_assert_ptr_nonnull(full.verdicts);
    ck_assert_uint_eq(quiet.tiers.parts, KMS_SYSFS_TIERS | KMS_SYSFS_HMAT);
    ck_assert_str_eq(quiet.source_desc, "detected (KMEM_DETECT=daxctl,tiers,hmat)");
    kms_setup_free(&quiet);
    kms_setup_free(&full);

    /* Named nodes: HMAT is read for their tie alone. */
    run(slurp("tie_hmat.txt"), "slow", "KMEM_NODES=2,3", NULL, KMS_SETUP_QUIET, &quiet);
    run(slurp("tie_hmat.txt"), "slow", "KMEM_NODES=2,3", NULL, KMS_SETUP_EXPLAIN, &full);
    expect_same_plan(&quiet, &full);
    ck_assert_uint_eq(quiet.tiers.parts, KMS_SYSFS_HMAT);
    ck_assert_str_eq(quiet.plan.hmat_tie, "KMEM nodes 2-3 are equally close to CPU node 0 "
                                          "(distance 17); HMAT picks 2 (lowest read latency, "
                                          "then highest read bandwidth)");
    kms_setup_free(&quiet);
    kms_setup_free(&full);

    /* One named node: nothing to read, and a malformed file unread is no error. */
    run(slurp("tie_hmat.txt"), "bad_latency", "KMEM_NODES=2", NULL, KMS_SETUP_QUIET, &quiet);
    ck_assert_uint_eq(quiet.tiers.parts, 0);
    ck_assert_ptr_null(quiet.tiers.tier);
    ck_assert_str_eq(quiet.warning, "");
    kms_setup_free(&quiet);

    /* No node can be claimed: nothing read, the same plan, a warning nobody shows; told,
     * the warning names each source's reason as before. */
    run(all_cpus, "slow", NULL, NULL, KMS_SETUP_QUIET, &quiet);
    run(all_cpus, "slow", NULL, NULL, KMS_SETUP_TELL, &told);
    run(all_cpus, "slow", NULL, NULL, KMS_SETUP_EXPLAIN, &full);
    expect_same_plan(&quiet, &full);
    expect_same_plan(&told, &full);
    ck_assert_uint_eq(quiet.tiers.parts, 0);
    ck_assert_ptr_null(quiet.tiers.tier);
    ck_assert_str_eq(quiet.warning, "no KMEM nodes: KMEM_NODES is not set and every node with "
                                    "memory has CPUs; every route uses DRAM");
    ck_assert_str_eq(told.warning, full.warning);
    ck_assert_str_eq(told.warning, "no KMEM nodes: KMEM_NODES is not set and "
                                   "KMEM_DETECT=daxctl,tiers,hmat found no slow-memory node (no "
                                   "CPU-less node in a lower memory tier; no CPU-less node with "
                                   "a clearly higher HMAT latency); every route uses DRAM");
    kms_setup_free(&quiet);
    kms_setup_free(&told);
    kms_setup_free(&full);
}
END_TEST

START_TEST(strict_error_names_every_source)
{
    struct kms_config c;
    struct kms_setup s;
    config(&c, "KMEM_STRICT=1", NULL);
    ck_assert_int_eq(kms_setup_run_text(&c, NULL, all_cpus, root("slow"), KMS_SETUP_QUIET, &s), -1);
    ck_assert_str_eq(s.error, "no KMEM nodes: KMEM_NODES is not set and "
                              "KMEM_DETECT=daxctl,tiers,hmat found no slow-memory node (no "
                              "CPU-less node in a lower memory tier; no CPU-less node with a "
                              "clearly higher HMAT latency) (KMEM_STRICT=1)");
    kms_setup_free(&s);
}
END_TEST

/* The node states alone settle a set-up only where nobody hears why there are no
 * KMEM nodes and no route can bind every node with memory. */
START_TEST(brief_read_only_where_nothing_else_can_matter)
{
    struct kms_config c;
    bool uses[KMS_TARGET_COUNT] = {false};
    uses[KMS_TARGET_DAX_KMEM] = true;
    config(&c, NULL, NULL);
    ck_assert(kms_setup_reads_brief(&c, uses, KMS_SETUP_QUIET));
    ck_assert(!kms_setup_reads_brief(&c, uses, KMS_SETUP_TELL));
    ck_assert(!kms_setup_reads_brief(&c, uses, KMS_SETUP_EXPLAIN));
    ck_assert(!kms_setup_reads_brief(&c, NULL, KMS_SETUP_QUIET));
    config(&c, "KMEM_NODES=0", NULL);
    ck_assert(!kms_setup_reads_brief(&c, uses, KMS_SETUP_QUIET));
    config(&c, "KMEM_STRICT=1", NULL);
    ck_assert(!kms_setup_reads_brief(&c, uses, KMS_SETUP_QUIET));
    config(&c, NULL, NULL);
    uses[KMS_TARGET_INTERLEAVE_ALL] = true;
    ck_assert(!kms_setup_reads_brief(&c, uses, KMS_SETUP_QUIET));
    uses[KMS_TARGET_INTERLEAVE_ALL] = false;
    uses[KMS_TARGET_WEIGHTED_INTERLEAVE_ALL] = true;
    ck_assert(!kms_setup_reads_brief(&c, uses, KMS_SETUP_QUIET));
}
END_TEST

START_TEST(candidates_are_cpu_less_nodes_with_memory)
{
    struct kms_topology t;
    char err[256];
    ck_assert_int_eq(kms_topology_parse_text(all_cpus, &t, err, sizeof(err)), 0);
    ck_assert(!kms_setup_reads_candidates(&t));
    kms_topology_free(&t);
    ck_assert_int_eq(kms_topology_parse_text("node 0 cpus: 0\nnode 0 size: 512 MB\n"
                                             "node 1 cpus:\nnode 1 size: 512 MB\n",
                                             &t, err, sizeof(err)),
                     0);
    ck_assert(kms_setup_reads_candidates(&t));
    kms_topology_free(&t);
    /* A CPU-less node without memory is nobody's. */
    ck_assert_int_eq(kms_topology_parse_text("node 0 cpus: 0\nnode 0 size: 512 MB\n"
                                             "node 1 cpus:\nnode 1 size: 0 MB\n",
                                             &t, err, sizeof(err)),
                     0);
    ck_assert(!kms_setup_reads_candidates(&t));
    kms_topology_free(&t);
}
END_TEST

/* On this machine the node states say what the full read says about which nodes exist,
 * have CPUs and have memory. */
START_TEST(node_states_match_the_full_read)
{
    struct kms_topology full, sets;
    char err[256];
    if (kms_topology_read_live(&full, err, sizeof(err)) < 0) {
        ck_assert_int_eq(kms_topology_read_live_sets(&sets, err, sizeof(err)), -1);
        return;
    }
    ck_assert_msg(kms_topology_read_live_sets(&sets, err, sizeof(err)) == 0, "%s", err);
    ck_assert_int_eq(sets.max_node, full.max_node);
    ck_assert(kms_nodeset_equal(&sets.present, &full.present));
    ck_assert(kms_nodeset_equal(&sets.with_cpus, &full.with_cpus));
    ck_assert(kms_nodeset_equal(&sets.with_memory, &full.with_memory));
    ck_assert_uint_eq(kms_topology_capacity(&sets, &sets.with_memory), 0);
    kms_topology_free(&full);
    kms_topology_free(&sets);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("setup_reads");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, no_candidate_node_reads_nothing);
    tcase_add_test(tc, candidate_node_reads_the_detection_sources);
    tcase_add_test(tc, named_nodes_need_no_detection);
    tcase_add_test(tc, a_said_outcome_reads_its_reasons);
    tcase_add_test(tc, libdaxctl_only_where_a_dax_device_is_listed);
    tcase_add_test(tc, dax_devices_listed_in_either_directory);
    tcase_add_test(tc, tie_break_needs_two_kmem_nodes);
    tcase_add_test(tc, parts_read_one_at_a_time);
    tcase_add_test(tc, quiet_setup_plans_as_an_explained_one);
    tcase_add_test(tc, strict_error_names_every_source);
    tcase_add_test(tc, brief_read_only_where_nothing_else_can_matter);
    tcase_add_test(tc, candidates_are_cpu_less_nodes_with_memory);
    tcase_add_test(tc, node_states_match_the_full_read);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
