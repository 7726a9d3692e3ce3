/* SPDX-License-Identifier: MIT */
/* Memory tiers, HMAT figures and interleave weights read from fixture sysfs
 * trees (fixtures/sysfs/NAME/sys/...), the detection of slow-memory nodes they
 * give, the HMAT tie-break, KMEM_DETECT, and the weighted-interleave fallback. */
#include "policy/setup.h"
#include "core/tiers.h"
#include "core/topology.h"
#include "policy/config.h"

#include "fixture.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *root(const char *name)
{
    static char path[512];
    snprintf(path, sizeof(path), "%s/sysfs/%s", KMS_FIXTURES, name);
    return path;
}

struct fx {
    struct kms_topology topo;
    struct kms_tiers tr;
    int rc;
    char err[512];
};

static void load(struct fx *f, const char *topo, const char *sysfs)
{
    memset(f, 0, sizeof(*f));
    ck_assert_int_eq(kms_topology_parse_text(slurp(topo), &f->topo, f->err, sizeof(f->err)), 0);
    f->rc = kms_tiers_read(root(sysfs), &f->topo, KMS_SYSFS_ALL, &f->tr, f->err, sizeof(f->err));
}

static void unload(struct fx *f)
{
    if (f->rc == 0) kms_tiers_free(&f->tr);
    kms_topology_free(&f->topo);
}

static void expect_set(const struct kms_nodeset *s, const char *want)
{
    char got[128];
    kms_nodeset_format(s, got, sizeof(got));
    ck_assert_str_eq(got, want);
}

START_TEST(reads_tiers_hmat_and_weights)
{
    struct fx f;
    load(&f, "tie_hmat.txt", "slow");
    ck_assert_msg(f.rc == 0, "%s", f.err);
    ck_assert(f.tr.have_tiers && f.tr.have_hmat && f.tr.have_weights);
    for (int n = 0; n < 4; n++)
        ck_assert_int_eq(f.tr.tier[n], 4);
    ck_assert_int_eq(f.tr.perf_class[2], 1);
    ck_assert_uint_eq(f.tr.perf[2].read_latency, 300);
    ck_assert_uint_eq(f.tr.perf[2].write_latency, 300);
    ck_assert_uint_eq(f.tr.perf[2].read_bandwidth, 5120);
    ck_assert_uint_eq(f.tr.perf[3].read_latency, 500);
    expect_set(&f.tr.perf[2].initiators, "0");
    expect_set(&f.tr.perf[3].initiators, "0-1");
    ck_assert_int_eq(f.tr.weight[0], 4);
    ck_assert_int_eq(f.tr.weight[3], 1);
    unload(&f);
}
END_TEST

START_TEST(missing_files_are_not_given)
{
    struct fx f;
    load(&f, "tie_hmat.txt", "does-not-exist");
    ck_assert_msg(f.rc == 0, "%s", f.err);
    ck_assert(!f.tr.have_tiers && !f.tr.have_hmat && !f.tr.have_weights);
    ck_assert_int_eq(f.tr.tier[2], -1);
    ck_assert_int_eq(f.tr.perf_class[2], -1);
    unload(&f);
}
END_TEST

static void detect(struct fx *f, unsigned sources, const char *want,
                   struct kms_node_verdict v[static 4])
{
    struct kms_nodeset out;
    kms_nodeset_clear(&out);
    kms_tiers_detect(&f->topo, &f->tr, NULL, sources, &out, v);
    expect_set(&out, want);
}

START_TEST(hmat_finds_slow_nodes)
{
    struct fx f;
    struct kms_node_verdict v[4];
    load(&f, "tie_hmat.txt", "slow");
    detect(&f, KMS_DETECT_ALL, "2-3", v);
    ck_assert_int_eq(v[2].by, KMS_DETECT_HMAT);
    ck_assert_str_eq(v[0].why, "has CPUs");
    ck_assert_msg(strstr(v[2].why, "HMAT latency 300 ns vs 100 ns of node 0's DRAM (>= 1.5x)"),
                  "%s", v[2].why);
    ck_assert_msg(strstr(v[2].why, "memory tier 4 as the CPU nodes"), "%s", v[2].why);
    /* The tiers alone see no difference: every node is in tier 4. */
    detect(&f, KMS_DETECT_TIERS, "(none)", v);
    struct kms_nodeset dax, out;
    kms_nodeset_parse("3", &dax, f.err, sizeof(f.err));
    kms_nodeset_clear(&out);
    kms_tiers_detect(&f.topo, &f.tr, &dax, KMS_DETECT_DAXCTL, &out, v);
    expect_set(&out, "3");
    ck_assert_str_eq(v[2].why, "no dax device");
    ck_assert_str_eq(v[3].why, "dax device in system-ram mode");
    unload(&f);
}
END_TEST

START_TEST(hmat_as_fast_as_dram_is_not_slow)
{
    struct fx f;
    struct kms_node_verdict v[4];
    load(&f, "tie_hmat.txt", "flat");
    detect(&f, KMS_DETECT_ALL, "(none)", v);
    ck_assert_msg(strstr(v[2].why, "HMAT latency 100 ns vs 100 ns of node 0's DRAM (< 1.5x): as "
                                   "fast as DRAM"),
                  "%s", v[2].why);
    unload(&f);
}
END_TEST

START_TEST(lower_tier_is_slow)
{
    struct fx f;
    struct kms_node_verdict v[4];
    load(&f, "four_node.txt", "dax");
    detect(&f, KMS_DETECT_ALL, "2-3", v);
    ck_assert_int_eq(v[3].by, KMS_DETECT_TIERS);
    ck_assert_msg(strstr(v[3].why, "memory tier 22, below the CPU nodes' tier 4"), "%s", v[3].why);
    ck_assert_msg(strstr(v[3].why, "no HMAT latency"), "%s", v[3].why);
    detect(&f, KMS_DETECT_HMAT, "(none)", v);
    unload(&f);
}
END_TEST

START_TEST(wider_memory_is_not_slow)
{
    struct fx f;
    struct kms_node_verdict v[4];
    load(&f, "four_node.txt", "hbm");
    detect(&f, KMS_DETECT_HMAT, "(none)", v);
    ck_assert_msg(strstr(v[2].why, "but more bandwidth (81920 > 20480 MB/s): not slow memory"),
                  "%s", v[2].why);
    ck_assert_str_eq(v[3].why, "no HMAT latency");
    unload(&f);
}
END_TEST

START_TEST(malformed_files_name_the_file)
{
    static const struct {
        const char *fixture, *file, *what;
    } cases[] = {
        {"bad_latency", "/sys/devices/system/node/node2/access1/initiators/read_latency",
         ": expected a number, found 'fast'"},
        {"bad_nodelist", "/sys/devices/virtual/memory_tiering/memory_tier22/nodelist", ": "},
        {"bad_weight", "/sys/kernel/mm/mempolicy/weighted_interleave/node1",
         ": expected a number, found '0x10'"},
        {"zero_weight", "/sys/kernel/mm/mempolicy/weighted_interleave/node1",
         ": weight 0 out of range (1-255)"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct fx f;
        load(&f, "four_node.txt", cases[i].fixture);
        ck_assert_int_eq(f.rc, -1);
        char want[1024];
        snprintf(want, sizeof(want), "%s%s%s", root(cases[i].fixture), cases[i].file,
                 cases[i].what);
        ck_assert_msg(strncmp(f.err, want, strlen(want)) == 0, "got '%s', want '%s...'", f.err,
                      want);
        unload(&f);
    }
}
END_TEST

START_TEST(tie_broken_by_latency_then_bandwidth)
{
    struct fx f;
    load(&f, "tie_hmat.txt", "slow");
    struct kms_nodeset s;
    kms_nodeset_parse("2-3", &s, f.err, sizeof(f.err));
    ck_assert(kms_tiers_break_tie(&f.tr, &s));
    expect_set(&s, "2");
    unload(&f);

    load(&f, "four_node.txt", "bandwidth");
    kms_nodeset_parse("2-3", &s, f.err, sizeof(f.err));
    ck_assert(kms_tiers_break_tie(&f.tr, &s));
    expect_set(&s, "3");
    unload(&f);

    /* A node without figures: no guess. */
    load(&f, "four_node.txt", "hbm");
    kms_nodeset_parse("2-3", &s, f.err, sizeof(f.err));
    ck_assert(!kms_tiers_break_tie(&f.tr, &s));
    expect_set(&s, "2-3");
    unload(&f);
    /* Equal figures: the tie stands. */
    load(&f, "four_node.txt", "flat");
    kms_nodeset_parse("2-3", &s, f.err, sizeof(f.err));
    ck_assert(!kms_tiers_break_tie(&f.tr, &s));
    expect_set(&s, "2-3");
    unload(&f);
}
END_TEST

static char *env_list[8];

static int config(struct kms_config *c, const char *a, const char *b, char *err, size_t errlen)
{
    char warn[256];
    env_list[0] = (char *)a;
    env_list[1] = (char *)b;
    env_list[2] = NULL;
    return kms_config_from_env(env_list, c, err, errlen, warn, sizeof(warn));
}

START_TEST(detect_variable)
{
    char why[128], err[512];
    struct kms_config c;
    ck_assert_int_eq(kms_detect_parse("tiers,hmat", why, sizeof(why)),
                     KMS_DETECT_TIERS | KMS_DETECT_HMAT);
    ck_assert_int_eq(kms_detect_parse("all", why, sizeof(why)), KMS_DETECT_ALL);
    ck_assert_int_eq(kms_detect_parse("tiers,acpi", why, sizeof(why)), -1);
    ck_assert_str_eq(why, "unknown source 'acpi'");
    ck_assert_int_eq(kms_detect_parse("", why, sizeof(why)), -1);
    ck_assert_int_eq(kms_detect_parse("tiers,", why, sizeof(why)), -1);
    ck_assert_int_eq(config(&c, "KMEM_STRICT=0", NULL, err, sizeof(err)), 0);
    ck_assert_uint_eq(c.detect, KMS_DETECT_ALL);
    ck_assert_int_eq(config(&c, "KMEM_DETECT=daxctl,bogus", NULL, err, sizeof(err)), -1);
    ck_assert_str_eq(err, "KMEM_DETECT='daxctl,bogus': unknown source 'bogus'; expected a "
                          "comma-separated list of daxctl, tiers, hmat (or all)");
    ck_assert_int_eq(config(&c, "KMEM_MOVABLE=maybe", NULL, err, sizeof(err)), -1);
    ck_assert_str_eq(err, "KMEM_MOVABLE='maybe': expected 1, yes, on, true or 0, no, off, false "
                          "(leave KMEM pages to the kernel's tiering)");
    ck_assert_int_eq(config(&c, "KMEM_MOVABLE=on", NULL, err, sizeof(err)), 0);
    ck_assert(c.movable);
}
END_TEST

/* The whole set-up on a text topology and a fixture sysfs tree. */
START_TEST(setup_detects_and_breaks_the_tie)
{
    char err[512];
    struct kms_config c;
    struct kms_setup s;
    bool uses[KMS_TARGET_COUNT] = {[KMS_TARGET_PREFERRED] = true};
    ck_assert_int_eq(config(&c, "KMEM_STRICT=1", NULL, err, sizeof(err)), 0);
    ck_assert_int_eq(
        kms_setup_run_text(&c, uses, slurp("tie_hmat.txt"), root("slow"), KMS_SETUP_EXPLAIN, &s),
        0);
    expect_set(&s.kmem, "2-3");
    ck_assert_int_eq(s.kmem_source, KMS_NODES_DETECTED);
    ck_assert_str_eq(s.source_desc, "detected (KMEM_DETECT=daxctl,tiers,hmat): libdaxctl: not "
                                    "asked, memory tiers: (none), HMAT: 2-3");
    /* From node 0, 2 and 3 tie at 17: HMAT picks 2 (300 ns against 500). */
    expect_set(&s.plan.at[KMS_TARGET_DAX_KMEM][0].set, "2");
    ck_assert_int_eq(s.plan.at[KMS_TARGET_PREFERRED][0].mode, KMS_MODE_PREFERRED);
    expect_set(&s.plan.at[KMS_TARGET_PREFERRED][0].set, "2");
    expect_set(&s.plan.at[KMS_TARGET_DAX_KMEM][1].set, "3");
    ck_assert_str_eq(s.plan.hmat_tie, "KMEM nodes 2-3 are equally close to CPU node 0 (distance "
                                      "17); HMAT picks 2 (lowest read latency, then highest read "
                                      "bandwidth)");
    ck_assert_str_eq(s.warning, "");
    kms_setup_free(&s);

    /* As fast as DRAM: no KMEM node, the usual warning, an error under KMEM_STRICT=1. */
    ck_assert_int_eq(
        kms_setup_run_text(&c, uses, slurp("tie_hmat.txt"), root("flat"), KMS_SETUP_EXPLAIN, &s),
        -1);
    ck_assert_str_eq(s.error,
                     "no KMEM nodes: KMEM_NODES is not set and KMEM_DETECT=daxctl,tiers,hmat "
                     "found no slow-memory node (no CPU-less node in a lower memory tier; no "
                     "CPU-less node with a clearly higher HMAT latency) (KMEM_STRICT=1)");
    kms_setup_free(&s);
    ck_assert_int_eq(config(&c, "KMEM_DETECT=hmat", NULL, err, sizeof(err)), 0);
    uses[KMS_TARGET_INTERLEAVE] = true;
    ck_assert_int_eq(
        kms_setup_run_text(&c, uses, slurp("tie_hmat.txt"), root("flat"), KMS_SETUP_EXPLAIN, &s),
        0);
    ck_assert_str_eq(s.warning,
                     "no KMEM nodes: KMEM_NODES is not set and KMEM_DETECT=hmat found no "
                     "slow-memory node (no CPU-less node with a clearly higher HMAT latency); "
                     "every route uses DRAM\nroutes interleave and weighted_interleave have no "
                     "KMEM node to interleave over: they use DRAM");
    ck_assert_int_eq(s.plan.at[KMS_TARGET_INTERLEAVE][0].mode, KMS_MODE_DEFAULT);
    kms_setup_free(&s);

    /* A malformed file stops `kmemshim nodes --sysfs`, naming the file. */
    ck_assert_int_eq(kms_setup_run_text(&c, uses, slurp("tie_hmat.txt"), root("bad_latency"),
                                        KMS_SETUP_EXPLAIN, &s),
                     -1);
    ck_assert_msg(strstr(s.error, "node2/access1/initiators/read_latency: expected a number, "
                                  "found 'fast'"),
                  "%s", s.error);
    kms_setup_free(&s);
}
END_TEST

START_TEST(weighted_fallback)
{
    char err[512], w[256], e[256];
    struct kms_config c;
    bool uses[KMS_TARGET_COUNT] = {[KMS_TARGET_WEIGHTED_INTERLEAVE_ALL] = true};
    ck_assert_int_eq(config(&c, "KMEM_STRICT=0", NULL, err, sizeof(err)), 0);
    w[0] = e[0] = '\0';
    ck_assert_int_eq(kms_setup_weighted_fallback(&c, uses, false, w, sizeof(w), e, sizeof(e)), 0);
    ck_assert_str_eq(w, "weighted_interleave: this kernel has no MPOL_WEIGHTED_INTERLEAVE (Linux "
                        "6.9+); the weighted routes interleave evenly");
    w[0] = '\0';
    ck_assert_int_eq(kms_setup_weighted_fallback(&c, uses, true, w, sizeof(w), e, sizeof(e)), 0);
    ck_assert_str_eq(w, "");
    uses[KMS_TARGET_WEIGHTED_INTERLEAVE_ALL] = false;
    ck_assert_int_eq(kms_setup_weighted_fallback(&c, uses, false, w, sizeof(w), e, sizeof(e)), 0);
    ck_assert_str_eq(w, "");
    uses[KMS_TARGET_WEIGHTED_INTERLEAVE] = true;
    ck_assert_int_eq(config(&c, "KMEM_STRICT=1", NULL, err, sizeof(err)), 0);
    ck_assert_int_eq(kms_setup_weighted_fallback(&c, uses, false, w, sizeof(w), e, sizeof(e)), -1);
    ck_assert_str_eq(e, "weighted_interleave: this kernel has no MPOL_WEIGHTED_INTERLEAVE (Linux "
                        "6.9+) (KMEM_STRICT=1)");

    /* The plan then names plain interleave for the weighted targets. */
    struct kms_topology t;
    struct kms_plan plan;
    struct kms_nodeset k;
    ck_assert_int_eq(kms_topology_parse_text(slurp("four_node.txt"), &t, err, sizeof(err)), 0);
    kms_nodeset_parse("2-3", &k, err, sizeof(err));
    struct kms_plan_opts opts = {.have_preferred_many = true, .have_weighted = false};
    ck_assert_int_eq(kms_plan_compute(&t, &k, &opts, &plan, err, sizeof(err)), 0);
    ck_assert_int_eq(plan.at[KMS_TARGET_WEIGHTED_INTERLEAVE][0].mode, KMS_MODE_INTERLEAVE);
    ck_assert_int_eq(plan.at[KMS_TARGET_WEIGHTED_INTERLEAVE_ALL][1].mode, KMS_MODE_INTERLEAVE);
    expect_set(&plan.at[KMS_TARGET_WEIGHTED_INTERLEAVE_ALL][1].set, "0-3");
    kms_plan_free(&plan);
    opts.have_weighted = true;
    ck_assert_int_eq(kms_plan_compute(&t, &k, &opts, &plan, err, sizeof(err)), 0);
    ck_assert_int_eq(plan.at[KMS_TARGET_WEIGHTED_INTERLEAVE][0].mode, KMS_MODE_WEIGHTED);
    expect_set(&plan.at[KMS_TARGET_WEIGHTED_INTERLEAVE][0].set, "2-3");
    kms_plan_free(&plan);
    kms_topology_free(&t);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("tiers");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, reads_tiers_hmat_and_weights);
    tcase_add_test(tc, missing_files_are_not_given);
    tcase_add_test(tc, hmat_finds_slow_nodes);
    tcase_add_test(tc, hmat_as_fast_as_dram_is_not_slow);
    tcase_add_test(tc, lower_tier_is_slow);
    tcase_add_test(tc, wider_memory_is_not_slow);
    tcase_add_test(tc, malformed_files_name_the_file);
    tcase_add_test(tc, tie_broken_by_latency_then_bandwidth);
    tcase_add_test(tc, detect_variable);
    tcase_add_test(tc, setup_detects_and_breaks_the_tie);
    tcase_add_test(tc, weighted_fallback);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
