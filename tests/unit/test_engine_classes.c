/* SPDX-License-Identifier: MIT */
/* kms_target_classes: the classes a target's requests can land in, which the statistics
 * report lists under each route and runtime tiering counts against the DRAM budget. The
 * topologies are fixtures; setting up the engine makes no arena, so nothing is touched on
 * this machine's nodes. */
#include "core/engine.h"
#include "policy/setup.h"

#include "fixture.h"

#include <check.h>
#include <string.h>

static void set_up(const char *kmem_nodes, const char *fixture, struct kms_setup *s)
{
    struct kms_config c;
    char err[256], warn[256], var[64];
    snprintf(var, sizeof(var), "KMEM_NODES=%s", kmem_nodes);
    char *env[] = {var, NULL};
    ck_assert_int_eq(kms_config_from_env(env, &c, err, sizeof(err), warn, sizeof(warn)), 0);
    ck_assert_int_eq(kms_setup_run_text(&c, NULL, slurp(fixture), NULL, KMS_SETUP_EXPLAIN, s), 0);
    kms_engine_setup(&s->topo, &s->plan, 0);
}

/* The classes of target t, as "bind:2 bind:3" in class order. */
static const char *classes_of(int t)
{
    static char out[512];
    bool used[KMS_MAX_CLASSES];
    kms_target_classes(t, used);
    out[0] = '\0';
    for (int c = 0; c < KMS_MAX_CLASSES; c++) {
        if (!used[c]) continue;
        ck_assert_int_lt(c, kms_nclasses);
        char set[128];
        kms_nodeset_format(&kms_classes[c].pl.set, set, sizeof(set));
        snprintf(out + strlen(out), sizeof(out) - strlen(out), "%s%s:%s", out[0] ? " " : "",
                 kms_mode_name(kms_classes[c].pl.mode), set);
    }
    return out;
}

START_TEST(before_set_up_no_target_has_a_class)
{
    for (int t = 0; t < KMS_TARGET_COUNT; t++)
        ck_assert_str_eq(classes_of(t), "");
}
END_TEST

/* Two sockets, each a CPU node with DRAM and a CPU-less node of slow memory nearer to it:
 * the nearest KMEM node depends on the CPU, so dax_kmem is decided by the CPU's node. Its
 * classes are the two KMEM nodes' and nothing else, although the table holds an entry for
 * every node the engine allows, those past the machine's too. */
START_TEST(a_route_by_cpu_lists_only_its_own_nodes_classes)
{
    struct kms_setup s;
    set_up("2,3", "four_node.txt", &s);
    ck_assert_int_eq(kms_target_class[KMS_TARGET_DAX_KMEM], KMS_CLASS_BY_CPU);
    ck_assert_str_eq(classes_of(KMS_TARGET_DAX_KMEM), "bind:2 bind:3");
    ck_assert_str_eq(classes_of(KMS_TARGET_DRAM), "bind:0-1");
    ck_assert_str_eq(classes_of(KMS_TARGET_KMEM_ALL), "bind:2-3");
    kms_setup_free(&s);
}
END_TEST

/* Every node is KMEM: DRAM is the plain heap, no class, and the KMEM classes are not DRAM's. */
START_TEST(dram_on_the_plain_heap_has_no_class)
{
    struct kms_setup s;
    set_up("0,1", "two_node.txt", &s);
    ck_assert_str_eq(classes_of(KMS_TARGET_DRAM), "");
    ck_assert_str_ne(classes_of(KMS_TARGET_DAX_KMEM), "");
    kms_setup_free(&s);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("engine_classes");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, before_set_up_no_target_has_a_class);
    tcase_add_test(tc, a_route_by_cpu_lists_only_its_own_nodes_classes);
    tcase_add_test(tc, dram_on_the_plain_heap_has_no_class);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
