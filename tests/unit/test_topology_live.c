/* SPDX-License-Identifier: MIT */
/* core/topology_live.c on sysfs trees written by the test (kms_topology_read_sysfs),
 * and core/fileread.h's small-file reader under a root: what it reads, what it
 * refuses, and what it names when it fails. */
#include "core/fileread.h"
#include "core/topology.h"

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static char root[64];

static void put(const char *rel, const char *text)
{
    char path[256];
    snprintf(path, sizeof(path), "%s%s", root, rel);
    for (char *p = path + strlen(root) + 1; (p = strchr(p, '/')); p++) {
        *p = '\0';
        mkdir(path, 0755);
        *p = '/';
    }
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
}

static void setup(void)
{
    snprintf(root, sizeof(root), "/tmp/kms_topo.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(root));
}

static void teardown(void)
{
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
    ck_assert_int_eq(system(cmd), 0);
}

#define N "/sys/devices/system/node"

START_TEST(two_nodes)
{
    put(N "/online", "0-1\n");
    put(N "/node0/meminfo", "Node 0 MemTotal:       1024 kB\nNode 0 MemFree: 12 kB\n");
    put(N "/node0/cpulist", "0-1,3\n");
    put(N "/node0/distance", "10 21\n");
    put(N "/node1/meminfo", "Node 1 MemTotal:       2048 kB\n");
    put(N "/node1/cpulist", "\n");
    put(N "/node1/distance", "21 10\n");
    struct kms_topology t;
    char err[256] = "";
    ck_assert_int_eq(kms_topology_read_sysfs(root, &t, err, sizeof(err)), 0);
    ck_assert_int_eq(t.max_node, 1);
    ck_assert_int_eq(kms_nodeset_count(&t.present), 2);
    ck_assert(kms_nodeset_has(&t.with_cpus, 0) && !kms_nodeset_has(&t.with_cpus, 1));
    ck_assert(kms_nodeset_has(&t.with_memory, 1));
    ck_assert_uint_eq(t.size[0], 1024 * 1024);
    ck_assert_uint_eq(t.size[1], 2048 * 1024);
    ck_assert_int_eq(kms_topology_distance(&t, 0, 1), 21);
    ck_assert_int_eq(t.ncpus, 4);
    ck_assert_int_eq(t.cpu_node[3], 0);
    ck_assert_int_eq(t.cpu_node[2], -1);
    kms_topology_free(&t);
}
END_TEST

START_TEST(bad_online)
{
    struct kms_topology t;
    char err[256] = "";
    ck_assert_int_eq(kms_topology_read_sysfs(root, &t, err, sizeof(err)), -1);
    ck_assert_msg(strstr(err, "cannot read") && strstr(err, "/online"), "%s", err);
    put(N "/online", "0-x\n");
    ck_assert_int_eq(kms_topology_read_sysfs(root, &t, err, sizeof(err)), -1);
    ck_assert_msg(strstr(err, "/online: '0-x'"), "%s", err);
}
END_TEST

START_TEST(small_reader)
{
    char buf[8];
    put("/f", "1234\n");
    ck_assert_int_eq(kms_read_small(root, "/f", buf, sizeof(buf)), 5);
    ck_assert_int_eq(kms_read_small_trim(root, "/f", buf, sizeof(buf)), 4);
    ck_assert_str_eq(buf, "1234");
    put("/g", "1234567"); /* exactly fits */
    ck_assert_int_eq(kms_read_small(root, "/g", buf, sizeof(buf)), 7);
    put("/h", "12345678"); /* one byte too many */
    ck_assert_int_eq(kms_read_small(root, "/h", buf, sizeof(buf)), -1);
    ck_assert_int_eq(errno, EFBIG);
    ck_assert_int_eq(kms_read_small(root, "/none", buf, sizeof(buf)), -1);
    ck_assert_int_eq(errno, ENOENT);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("topology_live");
    TCase *tc = tcase_create("sysfs");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, two_nodes);
    tcase_add_test(tc, bad_online);
    tcase_add_test(tc, small_reader);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
