/* SPDX-License-Identifier: MIT */
/* The rules parser (kmemrc files and KMEM_RULES): the whole grammar, every
 * error message word for word, precedence order, and `kmemshim check`. */
#include "policy/rules.h"
#include "core/target.h"

#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static struct kms_ruleset parse(const char *text, enum kms_rules_mode mode)
{
    struct kms_ruleset rs;
    kms_ruleset_init(&rs);
    kms_rules_parse(&rs, text, strlen(text), mode == KMS_RULES_ENV ? "KMEM_RULES" : "rc", mode);
    return rs;
}

/* Every error of rs, one per line, for comparing with a table entry. */
static const char *joined(const struct kms_ruleset *rs)
{
    static char buf[8192];
    buf[0] = '\0';
    for (size_t i = 0; i < rs->nerrors; i++) {
        strcat(buf, rs->errors[i]);
        strcat(buf, "\n");
    }
    return buf;
}

/* A rule's "file:line" (one static buffer: use one per assertion). */
static const char *origin_of(const struct kms_ruleset *rs, size_t i)
{
    static char buf[KMS_ORIGIN_MAX];
    return kms_rule_origin(rs, &rs->rules[i], buf);
}

static const char *fmt(const struct kms_rule *r)
{
    static char buf[512];
    kms_rule_format(r, buf, sizeof(buf));
    return buf;
}

/* ---- error messages: input, then the exact messages ------------------- */

static const struct {
    int env;
    const char *in;
    const char *want;
} bad[] = {
    /* unknown keyword */
    {0, "rout kmem",
     "rc:1:1: expected a keyword (policy, nodes, threshold, stats, default or route), found "
     "'rout'\n"},
    {0, "\n\n  Route kmem",
     "rc:3:3: expected a keyword (policy, nodes, threshold, stats, default or route), found "
     "'Route' (keywords are lower case)\n"},
    {0, "route: kmem", "rc:1:6: expected a space after 'route', found ':'\n"},
    {0, "threshold=1M", "rc:1:10: expected a space after 'threshold', found '='\n"},
    {0, ">= 1M",
     "rc:1:1: expected a keyword (policy, nodes, threshold, stats, default or route), found "
     "'>='\n"},
    /* unknown target, policy */
    {0, "route foo",
     "rc:1:7: expected a target (dram, kmem, dax_kmem, kmem_all, preferred, interleave, "
     "interleave_all, weighted_interleave, weighted_interleave_all), found 'foo'\n"},
    {0, "route",
     "rc:1:6: expected a target (dram, kmem, dax_kmem, kmem_all, preferred, interleave, "
     "interleave_all, weighted_interleave, weighted_interleave_all), found end of line\n"},
    {0, "route # nothing",
     "rc:1:7: expected a target (dram, kmem, dax_kmem, kmem_all, preferred, interleave, "
     "interleave_all, weighted_interleave, weighted_interleave_all), found a comment\n"},
    {0, "default nvm",
     "rc:1:9: expected a target (dram, kmem, dax_kmem, kmem_all, preferred, interleave, "
     "interleave_all, weighted_interleave, weighted_interleave_all), found 'nvm'\n"},
    {0, "policy dram", "rc:1:8: expected a policy (" KMS_POLICY_WORDS "), found 'dram'\n"},
    {0, "policy", "rc:1:7: expected a policy (" KMS_POLICY_WORDS "), found end of line\n"},
    /* missing values */
    {0, "threshold",
     "rc:1:10: expected a size such as 4096, 64K, 1M, 2G or 1T, found end of line\n"},
    {0, "stats   ",
     "rc:1:9: expected stderr, 1 (stderr), 0 (no report) or a path, found end of line\n"},
    {0, "nodes", "rc:1:6: expected a node list such as 2,3 or 2-5, found end of line\n"},
    {0, "route kmem size",
     "rc:1:16: expected a comparison (<, <=, >, >=) or a range LOW..HIGH after 'size', found end "
     "of line\n"},
    {0, "route kmem size >=",
     "rc:1:19: expected a size such as 4096, 64K, 1M, 2G or 1T after '>=', found end of line\n"},
    {0, "route kmem caller",
     "rc:1:18: expected a caller pattern MODULE:FUNCTION or MODULE+0xOFFSET, found end of line\n"},
    {0, "route kmem caller a:b depth",
     "rc:1:28: expected a frame count from 1 to 64 after 'depth', found end of line\n"},
    /* bad and overflowing sizes */
    {0, "threshold 1Q",
     "rc:1:11: expected a size such as 4096, 64K, 1M, 2G or 1T, found '1Q': unknown suffix "
     "(expected K, M, G "
     "or T)\n"},
    {0, "threshold 99999999999999999999",
     "rc:1:11: expected a size such as 4096, 64K, 1M, 2G or 1T, found '99999999999999999999': "
     "overflows 64 "
     "bits\n"},
    {0, "threshold 16777216T",
     "rc:1:11: expected a size such as 4096, 64K, 1M, 2G or 1T, found '16777216T': overflows 64 "
     "bits\n"},
    {0, "threshold -1",
     "rc:1:11: expected a size such as 4096, 64K, 1M, 2G or 1T, found '-1': negative\n"},
    {0, "threshold 1M extra", "rc:1:14: expected end of line, found 'extra'\n"},
    {0, "route kmem size > big",
     "rc:1:19: expected a size such as 4096, 64K, 1M, 2G or 1T after '>', found 'big': not a "
     "number\n"},
    {0, "route kmem size = 4K",
     "rc:1:17: expected a comparison (<, <=, >, >=) or a range LOW..HIGH after 'size', found "
     "'='\n"},
    {0, "route kmem size 4K",
     "rc:1:17: expected a comparison (<, <=, >, >=) or a range LOW..HIGH after 'size', found "
     "'4K'\n"},
    {0, "route kmem size >= 1M..2M",
     "rc:1:20: expected a size such as 4096, 64K, 1M, 2G or 1T after '>=', found '1M..2M': "
     "trailing "
     "characters\n"},
    {0, "route kmem size < 0",
     "rc:1:19: expected a size above 0 after '<', found '0': no request is that small\n"},
    {0, "route kmem size > 18446744073709551615",
     "rc:1:19: expected a size below 2^64-1 after '>', found '18446744073709551615': no request is "
     "that large\n"},
    /* ranges */
    {0, "route kmem size 4K..1K",
     "rc:1:17: expected LOW <= HIGH in the range LOW..HIGH, found '4K..1K'\n"},
    {0, "route kmem size 4K .. 1K",
     "rc:1:17: expected LOW <= HIGH in the range LOW..HIGH, found '4K..1K'\n"},
    {0, "route kmem size ..4K",
     "rc:1:17: expected a size such as 4096, 64K, 1M, 2G or 1T before '..', found '..4K'\n"},
    {0, "route kmem size 1K..",
     "rc:1:21: expected a size such as 4096, 64K, 1M, 2G or 1T after '..', found end of line\n"},
    {0, "route kmem size 1X..2K",
     "rc:1:17: expected a size such as 4096, 64K, 1M, 2G or 1T before '..', found '1X': unknown "
     "suffix "
     "(expected K, M, G or T)\n"},
    /* bad patterns */
    {0, "route kmem caller foo",
     "rc:1:19: expected a caller pattern MODULE:FUNCTION or MODULE+0xOFFSET, found 'foo': neither "
     "':' nor '+' in it\n"},
    {0, "route kmem caller :f",
     "rc:1:19: expected a caller pattern MODULE:FUNCTION or MODULE+0xOFFSET, found ':f': the "
     "module is empty (use * for any)\n"},
    {0, "route kmem caller app:",
     "rc:1:19: expected a caller pattern MODULE:FUNCTION or MODULE+0xOFFSET, found 'app:': the "
     "function is empty (use * for any)\n"},
    {0, "route kmem caller +0x10",
     "rc:1:19: expected a caller pattern MODULE:FUNCTION or MODULE+0xOFFSET, found '+0x10': the "
     "module is empty (use * for any)\n"},
    {0, "route kmem caller app+12",
     "rc:1:19: expected a caller pattern MODULE:FUNCTION or MODULE+0xOFFSET, found 'app+12': the "
     "offset is not hexadecimal like 0x4f21\n"},
    {0, "route kmem caller app+0xg1",
     "rc:1:19: expected a caller pattern MODULE:FUNCTION or MODULE+0xOFFSET, found 'app+0xg1': the "
     "offset is not hexadecimal like 0x4f21\n"},
    {0, "route kmem caller app+0x10000000000000000",
     "rc:1:19: expected a caller pattern MODULE:FUNCTION or MODULE+0xOFFSET, found "
     "'app+0x10000000000000000': the offset overflows 64 bits\n"},
    {0, "route kmem caller /usr/bin/app:main",
     "rc:1:19: expected a caller pattern MODULE:FUNCTION or MODULE+0xOFFSET, found "
     "'/usr/bin/app:main': the module is a file name without directories\n"},
    /* bad depth, misplaced and repeated clauses */
    {0, "route kmem caller a:b depth 0",
     "rc:1:29: expected a frame count from 1 to 64 after 'depth', found '0'\n"},
    {0, "route kmem caller a:b depth 65",
     "rc:1:29: expected a frame count from 1 to 64 after 'depth', found '65'\n"},
    {0, "route kmem caller a:b depth 99999999999",
     "rc:1:29: expected a frame count from 1 to 64 after 'depth', found '99999999999'\n"},
    {0, "route kmem caller a:b depth two",
     "rc:1:29: expected a frame count from 1 to 64 after 'depth', found 'two'\n"},
    {0, "route kmem depth 2",
     "rc:1:12: expected 'size', 'caller' or end of line, found 'depth' ('depth' follows 'caller "
     "PATTERN')\n"},
    {0, "route kmem size > 1 size < 9",
     "rc:1:21: expected 'caller' or end of line, found 'size' (each clause at most once)\n"},
    {0, "route kmem caller a:b caller c:d",
     "rc:1:23: expected 'size', 'depth' or end of line, found 'caller' (each clause at most "
     "once)\n"},
    {0, "route kmem caller a:b depth 2 depth 3 size >= 1",
     "rc:1:31: expected 'size' or end of line, found 'depth' (each clause at most once)\n"},
    {0, "route kmem size >= 1 caller a:b depth 2 extra",
     "rc:1:41: expected end of line, found 'extra'\n"},
    {0, "route kmem Size >= 1M",
     "rc:1:12: expected 'size', 'caller' or end of line, found 'Size' (keywords are lower case)\n"},
    {0, "route kmem fast", "rc:1:12: expected 'size', 'caller' or end of line, found 'fast'\n"},
    /* settings */
    {0, "nodes 3-1",
     "rc:1:9: expected a node list such as 2,3 or 2-5, found '3-1': range 3-1 runs backwards\n"},
    {0, "nodes 2,x",
     "rc:1:9: expected a node list such as 2,3 or 2-5, found '2,x': expected a node number, found "
     "'x'\n"},
    {0, "nodes 2;3",
     "rc:1:8: expected a node list such as 2,3 or 2-5, found '2;3': expected ',' or '-' after a "
     "node "
     "number, found ';'\n"},
    {0, "nodes 1024",
     "rc:1:7: expected a node list such as 2,3 or 2-5, found '1024': node number too large (the "
     "limit "
     "is 1023)\n"},
    {0, "policy preferred\npolicy kmem_all",
     "rc:2:1: expected one 'policy' line, found a second one (the first is at line 1)\n"},
    {0, "default dram\n\ndefault kmem",
     "rc:3:1: expected one 'default' line, found a second one (the first is at line 1)\n"},
    /* text */
    {0, "route kmem\n\x01 x", "rc:2:1: expected text, found the control byte 0x01\n"},
    {0, "route kmem \x7f", "rc:1:12: expected text, found the control byte 0x7f\n"},
    {0, "\x1b[1mroute", "rc:1:1: expected text, found the control byte 0x1b\n"},
    /* several errors: all of them, in order, and the good lines still count */
    {0, "route foo\nroute kmem size >= 1M\nthreshold 1Q\n\nroute kmem caller x\n",
     "rc:1:7: expected a target (dram, kmem, dax_kmem, kmem_all, preferred, interleave, "
     "interleave_all, weighted_interleave, weighted_interleave_all), found 'foo'\n"
     "rc:3:11: expected a size such as 4096, 64K, 1M, 2G or 1T, found '1Q': unknown suffix "
     "(expected K, M, G "
     "or T)\n"
     "rc:5:19: expected a caller pattern MODULE:FUNCTION or MODULE+0xOFFSET, found 'x': neither "
     "':' nor '+' in it\n"},
    /* KMEM_RULES: columns count from the start of the variable */
    {1, "route kmem size >= 1M; route foo",
     "KMEM_RULES, column 30: expected a target (dram, kmem, dax_kmem, kmem_all, preferred, "
     "interleave, "
     "interleave_all, weighted_interleave, weighted_interleave_all), found 'foo'\n"},
    {1, "threshold 1M",
     "KMEM_RULES, column 1: expected 'route', found 'threshold' (KMEM_RULES holds routes; use "
     "KMEM_THRESHOLD)\n"},
    {1, "route kmem;policy preferred",
     "KMEM_RULES, column 12: expected 'route', found 'policy' (KMEM_RULES holds routes; use "
     "KMEM_POLICY)\n"},
    {1, " nodes 2",
     "KMEM_RULES, column 2: expected 'route', found 'nodes' (KMEM_RULES holds routes; use "
     "KMEM_NODES)\n"},
    {1, "stats stderr",
     "KMEM_RULES, column 1: expected 'route', found 'stats' (KMEM_RULES holds routes; use "
     "KMEM_STATS)\n"},
    {1, "default dram",
     "KMEM_RULES, column 1: expected 'route', found 'default' (KMEM_RULES holds routes; put it in "
     "the "
     "rules file)\n"},
    {1, "kmem size >= 1M", "KMEM_RULES, column 1: expected 'route', found 'kmem'\n"},
    {1, "ROUTE kmem",
     "KMEM_RULES, column 1: expected 'route', found 'ROUTE' (keywords are lower case)\n"},
    {1, "route kmem size",
     "KMEM_RULES, column 16: expected a comparison (<, <=, >, >=) or a range LOW..HIGH after "
     "'size', found "
     "end of rule\n"},
    {1, "route kmem size 2M..1M ;; route kmem caller a:b depth 0",
     "KMEM_RULES, column 17: expected LOW <= HIGH in the range LOW..HIGH, found '2M..1M'\n"
     "KMEM_RULES, column 55: expected a frame count from 1 to 64 after 'depth', found '0'\n"},
    {1, "route kmem x",
     "KMEM_RULES, column 12: expected 'size', 'caller' or end of rule, found 'x'\n"},
};

START_TEST(error_messages)
{
    struct kms_ruleset rs = parse(bad[_i].in, bad[_i].env ? KMS_RULES_ENV : KMS_RULES_FILE);
    ck_assert_msg(strcmp(joined(&rs), bad[_i].want) == 0, "input %d \"%s\":\n got: %s want: %s", _i,
                  bad[_i].in, joined(&rs), bad[_i].want);
    ck_assert_uint_eq(rs.nerrors_total, rs.nerrors);
    kms_ruleset_free(&rs);
}
END_TEST

START_TEST(nul_byte)
{
    static const char text[] = "route kmem\nroute dram size\0 < 1K\n";
    struct kms_ruleset rs;
    kms_ruleset_init(&rs);
    ck_assert_uint_eq(kms_rules_parse(&rs, text, sizeof(text) - 1, "rc", KMS_RULES_FILE), 1);
    ck_assert_str_eq(joined(&rs), "rc:2:16: expected text, found a NUL byte\n");
    ck_assert_uint_eq(rs.count, 1);
    kms_ruleset_free(&rs);
}
END_TEST

START_TEST(overlong_line)
{
    size_t n = KMS_RULES_MAX_LINE + 10;
    char *text = malloc(n + 32);
    memset(text, ' ', n);
    memcpy(text + n, "route kmem\nroute dram\n", 23);
    struct kms_ruleset rs;
    kms_ruleset_init(&rs);
    ck_assert_uint_eq(kms_rules_parse(&rs, text, strlen(text), "rc", KMS_RULES_FILE), 1);
    ck_assert_str_eq(joined(&rs),
                     "rc:1:4097: expected a line of at most 4096 bytes, found 4116 bytes\n");
    ck_assert_uint_eq(rs.count, 1);
    ck_assert_int_eq(rs.rules[0].target, KMS_TARGET_DRAM);
    kms_ruleset_free(&rs);
    /* In KMEM_RULES the limit is per rule. */
    kms_ruleset_init(&rs);
    text[0] = 'x';
    text[n + 10] = ';';
    kms_rules_parse(&rs, text, strlen(text), "KMEM_RULES", KMS_RULES_ENV);
    ck_assert_str_eq(
        joined(&rs),
        "KMEM_RULES, column 4097: expected a rule of at most 4096 bytes, found 4116 bytes\n");
    ck_assert_uint_eq(rs.count, 1);
    kms_ruleset_free(&rs);
    /* Exactly the limit is fine. */
    kms_ruleset_init(&rs);
    memset(text, ' ', KMS_RULES_MAX_LINE);
    memcpy(text + KMS_RULES_MAX_LINE - 10, "route kmem", 11);
    ck_assert_uint_eq(kms_rules_parse(&rs, text, strlen(text), "rc", KMS_RULES_FILE), 0);
    ck_assert_uint_eq(rs.count, 1);
    kms_ruleset_free(&rs);
    free(text);
}
END_TEST

START_TEST(error_cap)
{
    /* A binary file must not produce megabytes of messages: the count stays exact. */
    char text[400 * 4];
    for (int i = 0; i < 400; i++)
        memcpy(text + i * 4, "xy\n\n", 4);
    struct kms_ruleset rs;
    kms_ruleset_init(&rs);
    ck_assert_uint_eq(kms_rules_parse(&rs, text, sizeof(text), "rc", KMS_RULES_FILE), 400);
    ck_assert_uint_eq(rs.nerrors, KMS_RULES_MAX_ERRORS);
    ck_assert_uint_eq(KMS_RULES_MAX_ERRORS, 10); /* a few, then "... and N more errors" */
    ck_assert_uint_eq(rs.nerrors_total, 400);
    ck_assert_str_eq(rs.errors[9], "rc:19:1: expected a keyword (policy, nodes, threshold, stats, "
                                   "default or route), found 'xy'");
    kms_ruleset_free(&rs);
}
END_TEST

START_TEST(long_origin_and_token)
{
    char origin[300];
    memset(origin, 'd', sizeof(origin));
    memcpy(origin + sizeof(origin) - 8, "/kmemrc", 8);
    struct kms_ruleset rs;
    kms_ruleset_init(&rs);
    const char *text = "route kmem\nroute kmem caller "
                       "averyveryveryveryveryveryveryveryverylongname";
    kms_rules_parse(&rs, text, strlen(text), origin, KMS_RULES_FILE);
    ck_assert_uint_eq(rs.count, 1);
    /* The tail of the path names the file. */
    ck_assert_uint_lt(strlen(origin_of(&rs, 0)), KMS_ORIGIN_MAX);
    ck_assert_str_eq(origin_of(&rs, 0) + strlen(origin_of(&rs, 0)) - 9, "/kmemrc:1");
    ck_assert_int_eq(strncmp(origin_of(&rs, 0), "...ddd", 6), 0);
    ck_assert_uint_eq(rs.nerrors, 1);
    ck_assert_ptr_nonnull(strstr(rs.errors[0], "found 'averyveryveryveryveryveryveryveryvery...': "
                                               "neither"));
    kms_ruleset_free(&rs);
}
END_TEST

/* ---- the grammar --------------------------------------------------------- */

static const struct {
    const char *in;
    const char *canonical; /* kms_rule_format of the one rule */
    uint64_t lo, hi;
} good[] = {
    {"route kmem", "route kmem", 0, UINT64_MAX},
    {"route dram size >= 1M", "route dram size >= 1M", 1 << 20, UINT64_MAX},
    {"route dram size > 1M", "route dram size >= 1048577", (1 << 20) + 1, UINT64_MAX},
    {"route dram size <= 64K", "route dram size <= 64K", 0, 65536},
    {"route dram size < 64K", "route dram size <= 65535", 0, 65535},
    {"route dram size>=1M", "route dram size >= 1M", 1 << 20, UINT64_MAX},
    {"route dram size<4096", "route dram size <= 4095", 0, 4095},
    {"route dram size >=  2G", "route dram size >= 2G", 2ull << 30, UINT64_MAX},
    {"route dram size 1K..4K", "route dram size 1K..4K", 1024, 4096},
    {"route dram size 1K .. 4K", "route dram size 1K..4K", 1024, 4096},
    {"route dram size 4K..4K", "route dram size 4K..4K", 4096, 4096},
    {"route dram size 0..1T", "route dram size <= 1T", 0, 1ull << 40},
    {"route dram size 1KiB..1MB", "route dram size 1K..1M", 1024, 1 << 20},
    {"route dram size >= 0", "route dram size >= 0", 0, UINT64_MAX},
    {"route dram size <= 18446744073709551615", "route dram size >= 0", 0, UINT64_MAX},
    {"route kmem_all caller libfoo.so:*", "route kmem_all caller libfoo.so:*", 0, UINT64_MAX},
    {"route preferred caller myapp+0x4f21", "route preferred caller myapp+0x4f21", 0, UINT64_MAX},
    {"route preferred caller myapp+0X4F21", "route preferred caller myapp+0x4f21", 0, UINT64_MAX},
    {"route preferred caller libstdc++.so.6+0xffffffffffffffff",
     "route preferred caller libstdc++.so.6+0xffffffffffffffff", 0, UINT64_MAX},
    {"route kmem caller libstdc++.so.6:_Znwm", "route kmem caller libstdc++.so.6:_Znwm", 0,
     UINT64_MAX},
    {"route kmem caller *:png_malloc depth 4 size >= 64K",
     "route kmem size >= 64K caller *:png_malloc depth 4", 65536, UINT64_MAX},
    {"route kmem size >= 64K caller *:png_malloc depth 4",
     "route kmem size >= 64K caller *:png_malloc depth 4", 65536, UINT64_MAX},
    {"route kmem caller a:b depth 1", "route kmem caller a:b depth 1", 0, UINT64_MAX},
    {"route kmem caller a:b depth 64", "route kmem caller a:b depth 64", 0, UINT64_MAX},
    {"route kmem caller my?pp:ns::f*", "route kmem caller my?pp:ns::f*", 0, UINT64_MAX},
    {"  route\tdax_kmem\tsize >= 1  # trailing comment\r", "route dax_kmem size >= 1", 1,
     UINT64_MAX},
    {"route kmem size >= 1M# no space before the comment", "route kmem size >= 1M", 1 << 20,
     UINT64_MAX},
    {"route MEMKIND_DAX_KMEM_ALL", "route kmem_all", 0, UINT64_MAX},
    {"route memkind_regular", "route dram", 0, UINT64_MAX},
    {"route preferred", "route preferred", 0, UINT64_MAX},
};

START_TEST(grammar)
{
    for (int env = 0; env < 2; env++) {
        struct kms_ruleset rs = parse(good[_i].in, env ? KMS_RULES_ENV : KMS_RULES_FILE);
        ck_assert_msg(rs.nerrors == 0, "%s: %s", good[_i].in, joined(&rs));
        ck_assert_uint_eq(rs.count, 1);
        const struct kms_rule *r = &rs.rules[0];
        ck_assert_str_eq(fmt(r), good[_i].canonical);
        ck_assert_uint_eq(r->size_lo, good[_i].lo);
        ck_assert_uint_eq(r->size_hi, good[_i].hi);
        ck_assert_int_eq(r->has_size, strstr(good[_i].in, "size") != NULL);
        ck_assert_int_eq(r->has_caller, r->caller_kind != KMS_CALLER_NONE);
        /* The canonical form parses back to the same rule. */
        struct kms_ruleset again = parse(fmt(r), KMS_RULES_FILE);
        ck_assert_uint_eq(again.count, 1);
        ck_assert_str_eq(fmt(&again.rules[0]), good[_i].canonical);
        kms_ruleset_free(&again);
        kms_ruleset_free(&rs);
    }
}
END_TEST

START_TEST(rule_fields)
{
    struct kms_ruleset rs = parse("route kmem caller *:png_malloc depth 4 size >= 64K\n"
                                  "route dram caller myapp+0x4f21\n"
                                  "route kmem_all caller libfoo.so:*\n",
                                  KMS_RULES_FILE);
    ck_assert_uint_eq(rs.nerrors, 0);
    ck_assert_uint_eq(rs.count, 3);
    const struct kms_rule *r = &rs.rules[0];
    ck_assert_int_eq(r->target, KMS_TARGET_KMEM);
    ck_assert_int_eq(r->caller_kind, KMS_CALLER_SYMBOL);
    ck_assert_str_eq(r->module_glob, "*");
    ck_assert_str_eq(r->func_glob, "png_malloc");
    ck_assert_uint_eq(r->depth, 4);
    ck_assert_uint_eq(kms_rule_frames(r), 4);
    ck_assert_str_eq(origin_of(&rs, 0), "rc:1");
    ck_assert(kms_rule_size_matches(r, 65536));
    ck_assert(!kms_rule_size_matches(r, 65535));
    r = &rs.rules[1];
    ck_assert_int_eq(r->target, KMS_TARGET_DRAM);
    ck_assert_int_eq(r->caller_kind, KMS_CALLER_OFFSET);
    ck_assert_str_eq(r->module_glob, "myapp");
    ck_assert_ptr_null(r->func_glob);
    ck_assert_uint_eq(r->offset, 0x4f21);
    ck_assert_uint_eq(r->depth, 0);
    ck_assert_uint_eq(kms_rule_frames(r), 1);
    ck_assert_int_eq(r->has_size, 0);
    ck_assert(kms_rule_size_matches(r, 0) && kms_rule_size_matches(r, UINT64_MAX));
    ck_assert_str_eq(origin_of(&rs, 2), "rc:3");
    kms_ruleset_free(&rs);
}
END_TEST

START_TEST(settings)
{
    struct kms_ruleset rs = parse("# comment\n"
                                  "policy    preferred        # as KMEM_POLICY\n"
                                  "nodes     2,3,5-7          # as KMEM_NODES\n"
                                  "threshold 1M\n"
                                  "stats     /tmp/kmem.stats\n"
                                  "default   kmem_all\n",
                                  KMS_RULES_FILE);
    ck_assert_msg(rs.nerrors == 0, "%s", joined(&rs));
    ck_assert_int_eq(rs.policy, KMS_TARGET_PREFERRED);
    ck_assert_str_eq(rs.nodes, "2,3,5-7");
    ck_assert_str_eq(rs.nodes_origin, "rc:3:11");
    ck_assert_int_eq(rs.threshold_set, 1);
    ck_assert_uint_eq(rs.threshold, 1 << 20);
    ck_assert_str_eq(rs.stats, "/tmp/kmem.stats");
    ck_assert_int_eq(rs.default_target, KMS_TARGET_KMEM_ALL);
    ck_assert_uint_eq(rs.count, 0);
    char line[256];
    kms_ruleset_summary(&rs, line, sizeof(line));
    ck_assert_str_eq(line, "0 routes; policy preferred; nodes 2,3,5-7; threshold 1M; stats "
                           "/tmp/kmem.stats; default kmem_all");
    kms_ruleset_free(&rs);

    rs = parse("policy MEMKIND_DAX_KMEM\nthreshold 0\n", KMS_RULES_FILE);
    ck_assert_uint_eq(rs.nerrors, 0);
    ck_assert_int_eq(rs.policy, KMS_TARGET_DAX_KMEM);
    ck_assert_int_eq(rs.threshold_set, 1);
    ck_assert_uint_eq(rs.threshold, 0);
    kms_ruleset_free(&rs);

    /* Unset settings stay unset. */
    rs = parse("", KMS_RULES_FILE);
    ck_assert_int_eq(rs.policy, -1);
    ck_assert_int_eq(rs.default_target, -1);
    ck_assert_ptr_null(rs.nodes);
    ck_assert_ptr_null(rs.stats);
    ck_assert_int_eq(rs.threshold_set, 0);
    kms_rule_format(&(struct kms_rule){.target = KMS_TARGET_DRAM}, line, sizeof(line));
    ck_assert_str_eq(line, "route dram");
    kms_ruleset_summary(&rs, line, sizeof(line));
    ck_assert_str_eq(line, "0 routes");
    kms_ruleset_free(&rs);
}
END_TEST

START_TEST(unmatched)
{
    static const struct {
        const char *text, *want;
    } cases[] = {
        {"default dram\n", "dram (the default line)"},
        {"default kmem_all\n", "kmem_all (the default line)"},
        {"", "kmem, every size (no route, no default line and no threshold)"},
        {"# only a comment\npolicy preferred\n",
         "kmem, every size (no route, no default line and no threshold)"},
        {"route kmem size >= 1M\n", "dram (no default line)"},
        {"route dram caller a:b\ndefault preferred\n", "preferred (the default line)"},
        {"threshold 1M\n", "kmem from 1M up (threshold), dram below (no default line)"},
        {"threshold 64K\ndefault interleave\nroute dram size < 1K\n",
         "kmem from 64K up (threshold), interleave below (the default line)"},
        {"threshold 0\ndefault dram\n", "kmem, every size (threshold 0)"},
    };
    char line[256];
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct kms_ruleset rs = parse(cases[i].text, KMS_RULES_FILE);
        ck_assert_uint_eq(rs.nerrors, 0);
        int n = kms_ruleset_unmatched(&rs, line, sizeof(line));
        ck_assert_str_eq(line, cases[i].want);
        ck_assert_int_eq(n, (int)strlen(line));
        kms_ruleset_free(&rs);
    }
}
END_TEST

START_TEST(summary)
{
    struct kms_ruleset rs = parse("route kmem size >= 1M\n"
                                  "route kmem size >= 2M\n"
                                  "route dram caller a:b depth 3\n"
                                  "route dram caller a:b depth 1\n"
                                  "route kmem size < 1K caller x+0x1\n"
                                  "route preferred\n",
                                  KMS_RULES_FILE);
    char line[256];
    int n = kms_ruleset_summary(&rs, line, sizeof(line));
    ck_assert_str_eq(line, "6 routes (2 by size, 2 by caller, 1 by size and caller, 1 "
                           "unconditional; 1 with depth)");
    ck_assert_int_eq(n, (int)strlen(line));
    /* Truncation reports the full length, like snprintf. */
    char small[8];
    ck_assert_int_eq(kms_ruleset_summary(&rs, small, sizeof(small)), n);
    ck_assert_str_eq(small, "6 route");
    kms_ruleset_free(&rs);
    rs = parse("route kmem size >= 1M", KMS_RULES_FILE);
    kms_ruleset_summary(&rs, line, sizeof(line));
    ck_assert_str_eq(line, "1 route (1 by size)");
    kms_ruleset_free(&rs);
}
END_TEST

/* ---- precedence: KMEM_RULES first, then the file, each in order ------- */

START_TEST(precedence)
{
    struct kms_ruleset rs;
    kms_ruleset_init(&rs);
    const char *env = "route dram size >= 1G; route kmem_all caller app:*";
    ck_assert_uint_eq(kms_rules_parse(&rs, env, strlen(env), "KMEM_RULES", KMS_RULES_ENV), 0);
    const char *file = "threshold 4K\n"
                       "route preferred size >= 1M\n"
                       "\n"
                       "route dram caller app:hot\n";
    ck_assert_uint_eq(kms_rules_parse(&rs, file, strlen(file), "kmemrc", KMS_RULES_FILE), 0);
    ck_assert_uint_eq(rs.count, 4);
    ck_assert_str_eq(origin_of(&rs, 0), "KMEM_RULES, column 1");
    ck_assert_str_eq(origin_of(&rs, 1), "KMEM_RULES, column 24");
    ck_assert_str_eq(origin_of(&rs, 2), "kmemrc:2");
    ck_assert_str_eq(origin_of(&rs, 3), "kmemrc:4");
    ck_assert_str_eq(fmt(&rs.rules[0]), "route dram size >= 1G");
    ck_assert_str_eq(fmt(&rs.rules[1]), "route kmem_all caller app:*");
    ck_assert_str_eq(fmt(&rs.rules[2]), "route preferred size >= 1M");
    ck_assert_str_eq(fmt(&rs.rules[3]), "route dram caller app:hot");
    /* First match by size: a 2G request is decided by the KMEM_RULES route. */
    size_t first = rs.count;
    for (size_t i = 0; i < rs.count && first == rs.count; i++)
        if (!rs.rules[i].has_caller && kms_rule_size_matches(&rs.rules[i], 2ull << 30)) first = i;
    ck_assert_uint_eq(first, 0);
    ck_assert_uint_eq(rs.threshold, 4096);
    kms_ruleset_free(&rs);
}
END_TEST

START_TEST(env_separators)
{
    /* Empty rules, spaces and a trailing ';' are fine; a newline separates too. */
    struct kms_ruleset rs =
        parse(" ; route kmem ;;route dram size < 1K;\nroute preferred ; ", KMS_RULES_ENV);
    ck_assert_msg(rs.nerrors == 0, "%s", joined(&rs));
    ck_assert_uint_eq(rs.count, 3);
    ck_assert_str_eq(origin_of(&rs, 0), "KMEM_RULES, column 4");
    ck_assert_str_eq(origin_of(&rs, 1), "KMEM_RULES, column 17");
    ck_assert_str_eq(origin_of(&rs, 2), "KMEM_RULES, column 39");
    ck_assert_str_eq(fmt(&rs.rules[2]), "route preferred");
    kms_ruleset_free(&rs);
    /* A comment in KMEM_RULES ends at the next ';'. */
    rs = parse("route kmem # big ones; route dram", KMS_RULES_ENV);
    ck_assert_uint_eq(rs.nerrors, 0);
    ck_assert_uint_eq(rs.count, 2);
    kms_ruleset_free(&rs);
}
END_TEST

START_TEST(globs)
{
    ck_assert(kms_glob_match("*", ""));
    ck_assert(kms_glob_match("*", "anything"));
    ck_assert(kms_glob_match("lib*.so*", "libfoo.so.1"));
    ck_assert(!kms_glob_match("lib*.so", "libfoo.so.1"));
    ck_assert(kms_glob_match("?", "a"));
    ck_assert(!kms_glob_match("?", ""));
    ck_assert(!kms_glob_match("?", "ab"));
    ck_assert(kms_glob_match("a*b*c", "aXbYbZc"));
    ck_assert(!kms_glob_match("a*b*c", "aXbYbZ"));
    ck_assert(kms_glob_match("*png_malloc", "png_malloc"));
    ck_assert(kms_glob_match("[x]", "[x]")); /* brackets are literal */
    ck_assert(!kms_glob_match("[x]", "x"));
    ck_assert(kms_glob_match("**a**", "bab"));
    ck_assert(!kms_glob_match("abc", "ab"));
    ck_assert(!kms_glob_match("ab", "abc"));
    /* Linear: this would take ages with naive backtracking. */
    char s[4001];
    memset(s, 'a', 4000);
    s[4000] = '\0';
    ck_assert(!kms_glob_match("*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b", s));
}
END_TEST

/* ---- files ------------------------------------------------------------- */

START_TEST(load_files)
{
    struct kms_ruleset rs;
    kms_ruleset_init(&rs);
    ck_assert_uint_eq(kms_rules_load(&rs, KMS_FIXTURES "/rules/good.rc"), 0);
    ck_assert_uint_eq(rs.count, 3);
    ck_assert_str_eq(origin_of(&rs, 0), KMS_FIXTURES "/rules/good.rc:3");
    kms_ruleset_free(&rs);

    kms_ruleset_init(&rs);
    ck_assert_uint_eq(kms_rules_load(&rs, KMS_FIXTURES "/rules/missing.rc"), 1);
    ck_assert_str_eq(rs.errors[0], KMS_FIXTURES
                     "/rules/missing.rc: expected a readable rules file, found no such file");
    kms_ruleset_free(&rs);

    kms_ruleset_init(&rs);
    ck_assert_uint_eq(kms_rules_load(&rs, KMS_FIXTURES "/rules"), 1);
    ck_assert_str_eq(rs.errors[0],
                     KMS_FIXTURES "/rules: expected a readable rules file, found a directory");
    kms_ruleset_free(&rs);

    /* NUL and other control bytes, CRLF line ends. */
    kms_ruleset_init(&rs);
    ck_assert_uint_eq(kms_rules_load(&rs, KMS_FIXTURES "/rules/binary.rc"), 2);
    ck_assert_str_eq(joined(&rs), KMS_FIXTURES
                     "/rules/binary.rc:2:12: expected text, found a NUL byte\n" KMS_FIXTURES
                     "/rules/binary.rc:3:1: expected text, found the control byte 0x7f\n");
    ck_assert_uint_eq(rs.count, 2);
    kms_ruleset_free(&rs);
}
END_TEST

START_TEST(load_unreadable)
{
    if (geteuid() == 0) return; /* root reads a mode-000 file anyway */
    char path[] = "/tmp/kms_rules_XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    close(fd);
    chmod(path, 0);
    struct kms_ruleset rs;
    kms_ruleset_init(&rs);
    ck_assert_uint_eq(kms_rules_load(&rs, path), 1);
    char want[256];
    snprintf(want, sizeof(want),
             "%s: expected a readable rules file, found it unreadable (Permission denied)", path);
    ck_assert_str_eq(rs.errors[0], want);
    kms_ruleset_free(&rs);
    unlink(path);
}
END_TEST

START_TEST(load_too_big)
{
    char path[] = "/tmp/kms_rules_XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(ftruncate(fd, KMS_RULES_MAX_FILE + 1), 0);
    close(fd);
    struct kms_ruleset rs;
    kms_ruleset_init(&rs);
    ck_assert_uint_eq(kms_rules_load(&rs, path), 1);
    char want[256];
    snprintf(want, sizeof(want),
             "%s: expected a rules file of at most 4194304 bytes, found a larger one", path);
    ck_assert_str_eq(rs.errors[0], want);
    kms_ruleset_free(&rs);
    unlink(path);
}
END_TEST

/* ---- kmemshim check ---------------------------------------------------- */

#ifdef KMS_CLI
static int run(const char *args, char *out, size_t outlen)
{
    char cmd[1024];
    snprintf(cmd, sizeof(cmd), "'%s' %s 2>&1", KMS_CLI, args);
    FILE *p = popen(cmd, "r");
    ck_assert_ptr_nonnull(p);
    size_t n = fread(out, 1, outlen - 1, p);
    out[n] = '\0';
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

START_TEST(check_example)
{
    char out[4096];
    ck_assert_int_eq(run("check " KMS_SOURCE_DIR "/kmemrc.example", out, sizeof(out)), 0);
    ck_assert_str_eq(out, KMS_SOURCE_DIR
                     "/kmemrc.example: ok: 6 routes (1 by size, 3 by caller, "
                     "2 by size and caller; 1 with depth); policy dax_kmem; threshold 1M; "
                     "default dram\n" KMS_SOURCE_DIR "/kmemrc.example: where no route matches: "
                     "kmem from 1M up (threshold), dram below (the default line)\n");
    /* The example shows every keyword. */
    static const char *const words[] = {"policy", "nodes", "threshold", "stats", "default",
                                        "route",  "size",  "caller",    "depth", ".."};
    FILE *f = fopen(KMS_SOURCE_DIR "/kmemrc.example", "r");
    ck_assert_ptr_nonnull(f);
    size_t n = fread(out, 1, sizeof(out) - 1, f);
    out[n] = '\0';
    fclose(f);
    for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
        ck_assert_msg(strstr(out, words[i]) != NULL, "kmemrc.example lacks %s", words[i]);
}
END_TEST

START_TEST(check_bad)
{
    char out[4096];
    ck_assert_int_eq(run("check " KMS_FIXTURES "/rules/bad.rc", out, sizeof(out)), 1);
    ck_assert_str_eq(
        out, KMS_FIXTURES
        "/rules/bad.rc:3:1: expected a keyword (policy, nodes, threshold, stats, "
        "default or route), found 'polcy'\n" KMS_FIXTURES
        "/rules/bad.rc:4:11: expected a size such as 4096, 64K, 1M, 2G or 1T, found '12Q': "
        "unknown suffix (expected K, M, G or T)\n" KMS_FIXTURES
        "/rules/bad.rc:6:7: expected a target (dram, kmem, dax_kmem, kmem_all, "
        "preferred, interleave, interleave_all, weighted_interleave, "
        "weighted_interleave_all), found 'nvdimm'\n" KMS_FIXTURES
        "/rules/bad.rc:7:17: expected LOW <= HIGH in the range LOW..HIGH, found "
        "'4K..1K'\n" KMS_FIXTURES
        "/rules/bad.rc:8:19: expected a caller pattern MODULE:FUNCTION or "
        "MODULE+0xOFFSET, found 'hot_lookup': neither ':' nor '+' in it\n" KMS_FIXTURES
        "/rules/bad.rc:9:35: expected a frame count from 1 to 64 after 'depth', found "
        "'100'\n" KMS_FIXTURES "/rules/bad.rc:10:19: expected a size such as 4096, 64K, "
        "1M, 2G or 1T after '>=', found end of line\n" KMS_FIXTURES "/rules/bad.rc: 7 errors\n");
}
END_TEST

START_TEST(check_cli)
{
    char out[4096];
    ck_assert_int_eq(run("check --help", out, sizeof(out)), 0);
    ck_assert_ptr_nonnull(strstr(out, "usage: kmemshim check"));
    ck_assert_int_eq(run("check", out, sizeof(out)), 2);
    ck_assert_int_eq(run("check --bogus x", out, sizeof(out)), 2);
    ck_assert_int_eq(run("check " KMS_FIXTURES "/rules/nope.rc", out, sizeof(out)), 1);
    ck_assert_str_eq(out, KMS_FIXTURES "/rules/nope.rc: expected a readable rules file, found no "
                                       "such file\n" KMS_FIXTURES "/rules/nope.rc: 1 error\n");
    ck_assert_int_eq(
        run("check --rules 'route kmem size >= 1M; route dram caller a:b' --list " KMS_FIXTURES
            "/rules/good.rc",
            out, sizeof(out)),
        0);
    ck_assert_str_eq(out, KMS_FIXTURES
                     "/rules/good.rc: ok: 5 routes (2 by size, 2 by caller, 1 by "
                     "size and caller; 1 with depth); threshold 64K\n" KMS_FIXTURES
                     "/rules/good.rc: where no route matches: kmem from 64K up (threshold), dram "
                     "below (no default line)\n"
                     "KMEM_RULES, column 1: route kmem size >= 1M\n"
                     "KMEM_RULES, column 24: route dram caller a:b\n" KMS_FIXTURES
                     "/rules/good.rc:3: route dram caller myapp:hot_*\n" KMS_FIXTURES
                     "/rules/good.rc:4: route kmem size >= 1M\n" KMS_FIXTURES
                     "/rules/good.rc:5: route kmem size 4K..64K caller *:xmalloc depth 3\n");
    /* A file of nonsense (a binary file, say): the first few errors, then a count. */
    ck_assert_int_eq(run("check " KMS_FIXTURES "/rules/many_errors.rc", out, sizeof(out)), 1);
    char want[4096] = "";
    for (int line = 2; line <= 11; line++)
        snprintf(want + strlen(want), sizeof(want) - strlen(want),
                 "%s/rules/many_errors.rc:%d:1: expected a keyword (policy, nodes, threshold, "
                 "stats, default or route), found 'xy'\n",
                 KMS_FIXTURES, line);
    snprintf(want + strlen(want), sizeof(want) - strlen(want),
             "... and 5 more errors\n%s/rules/many_errors.rc: 15 errors\n", KMS_FIXTURES);
    ck_assert_str_eq(out, want);
    ck_assert_int_eq(run("check --rules 'route kmem size >= 1Z'", out, sizeof(out)), 1);
    ck_assert_str_eq(
        out,
        "KMEM_RULES, column 20: expected a size such as 4096, 64K, 1M, 2G or 1T after '>=', found "
        "'1Z': unknown suffix (expected K, M, G or T)\nKMEM_RULES: 1 error\n");
}
END_TEST
#endif

/* ---- patterns kept in place ------------------------------------------ */

START_TEST(pattern_at_the_end_of_an_unterminated_buffer)
{
    /* buf is a slice: the byte after it must be neither read as part of the
     * pattern nor written. */
    char text[] = "route kmem caller libfoo.so:bar_*Xroute dram caller app+0x10Y";
    struct kms_ruleset rs;
    kms_ruleset_init(&rs);
    size_t first = (size_t)(strchr(text, 'X') - text);
    ck_assert_uint_eq(kms_rules_parse(&rs, text, first, "rc", KMS_RULES_FILE), 0);
    size_t second = (size_t)(strchr(text, 'Y') - text) - first - 1;
    ck_assert_uint_eq(kms_rules_parse(&rs, text + first + 1, second, "KMEM_RULES", KMS_RULES_ENV),
                      0);
    ck_assert_int_eq(text[first], 'X');
    ck_assert_int_eq(text[first + 1 + second], 'Y');
    ck_assert_uint_eq(rs.count, 2);
    ck_assert_str_eq(rs.rules[0].module_glob, "libfoo.so");
    ck_assert_str_eq(rs.rules[0].func_glob, "bar_*");
    ck_assert_str_eq(rs.rules[1].module_glob, "app");
    ck_assert_ptr_null(rs.rules[1].func_glob);
    ck_assert_uint_eq(rs.rules[1].offset, 0x10);
    ck_assert_str_eq(origin_of(&rs, 0), "rc:1");
    ck_assert_str_eq(origin_of(&rs, 1), "KMEM_RULES, column 1");
    kms_ruleset_free(&rs);
}
END_TEST

/* A rules file's common lines take a one-pass parser; KMEM_RULES always
 * takes the full one. Both must agree, on good lines and on bad. */
START_TEST(one_pass_lines_parse_as_the_full_parser_does)
{
    static const char *const lines[] = {
        "route kmem caller nosuchmod_1:fn_1",
        "route dram caller libfoo.so.1:bar_*",
        "route\tkmem\t\tcaller  app:main  \t",
        "route kmem caller app:main\r",
        "route kmem caller app:main # why",
        "route MEMKIND_DAX_KMEM caller a:b",
        "route preferred caller averyveryveryveryveryverylongmodulename.so:averyverylongfunction",
        "route kmem caller a:f/g",
        "route kmem caller a/b:f",
        "route kmem caller a:f\x7f",
        "route kmem caller :f",
        "route kmem caller a:",
        "route kmem caller a",
        "route kmem caller a:b:c",
        "route kmem caller a:b depth 2",
        "route kmem caller a:b size >= 1M",
        "route kmem size >= 1M caller a:b",
        "route kmem callers a:b",
        "route kmemx caller a:b",
        "route kmem caller a:b\x01",
        "route kmem caller a:b#x",
        "route kmem caller\ta:b",
        "routekmem caller a:b",
        " route kmem caller a:b",
        "route kmem caller a+0x10",
    };
    for (size_t k = 0; k < sizeof(lines) / sizeof(lines[0]); k++) {
        struct kms_ruleset f, e;
        kms_ruleset_init(&f);
        kms_ruleset_init(&e);
        size_t fe = kms_rules_parse(&f, lines[k], strlen(lines[k]), "rc", KMS_RULES_FILE);
        size_t ee = kms_rules_parse(&e, lines[k], strlen(lines[k]), "E", KMS_RULES_ENV);
        ck_assert_msg(fe == ee && f.count == e.count, "line %zu: %zu/%zu errors, %zu/%zu rules", k,
                      fe, ee, f.count, e.count);
        /* "rc:1:C: msg" against "E, column C: msg", a line being a rule
         * (KMEM_RULES names what it expects instead of a keyword differently) */
        if (fe && !strstr(e.errors[0], "expected 'route'")) {
            char env[640];
            ck_assert_msg(strncmp(e.errors[0], "E, column ", 10) == 0, "%s", e.errors[0]);
            snprintf(env, sizeof(env), "%s", e.errors[0] + strlen("E, column "));
            char *rule = strstr(env, "end of rule");
            if (rule) memcpy(rule, "end of line", strlen("end of line"));
            ck_assert_str_eq(f.errors[0] + strlen("rc:1:"), env);
        }
        for (size_t i = 0; i < f.count; i++) {
            const struct kms_rule *a = &f.rules[i], *b = &e.rules[i];
            ck_assert_int_eq(a->target, b->target);
            ck_assert_int_eq(a->caller_kind, b->caller_kind);
            ck_assert_int_eq(a->has_size, b->has_size);
            ck_assert_uint_eq(a->size_lo, b->size_lo);
            ck_assert_uint_eq(a->size_hi, b->size_hi);
            ck_assert_uint_eq(a->offset, b->offset);
            ck_assert_uint_eq(a->depth, b->depth);
            ck_assert_str_eq(a->module_glob, b->module_glob);
            if (a->func_glob || b->func_glob) ck_assert_str_eq(a->func_glob, b->func_glob);
            ck_assert_str_eq(fmt(a), fmt(b));
            ck_assert_uint_eq(a->line, 1);
        }
        kms_ruleset_free(&f);
        kms_ruleset_free(&e);
    }
}
END_TEST

START_TEST(loaded_file_keeps_its_patterns)
{
    /* kms_rules_load's buffer becomes the patterns' text: the last pattern
     * ends at the file's end, and a second file does not disturb the first. */
    char path[] = "/tmp/kms_rules_XXXXXX", path2[] = "/tmp/kms_rules_XXXXXX";
    int fd = mkstemp(path), fd2 = mkstemp(path2);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_ge(fd2, 0);
    const char *a = "route kmem caller liba.so:f1 # one\nroute dram caller app+0x2a";
    const char *b = "route kmem caller b*:g";
    ck_assert_int_eq(write(fd, a, strlen(a)), (ssize_t)strlen(a));
    ck_assert_int_eq(write(fd2, b, strlen(b)), (ssize_t)strlen(b));
    close(fd);
    close(fd2);
    struct kms_ruleset rs;
    kms_ruleset_init(&rs);
    ck_assert_uint_eq(kms_rules_load(&rs, path), 0);
    ck_assert_uint_eq(kms_rules_load(&rs, path2), 0);
    unlink(path);
    unlink(path2);
    ck_assert_uint_eq(rs.count, 3);
    ck_assert_str_eq(rs.rules[0].module_glob, "liba.so");
    ck_assert_str_eq(rs.rules[0].func_glob, "f1");
    ck_assert_str_eq(rs.rules[1].module_glob, "app");
    ck_assert_uint_eq(rs.rules[1].offset, 0x2a);
    ck_assert_str_eq(rs.rules[2].module_glob, "b*");
    ck_assert_str_eq(rs.rules[2].func_glob, "g");
    char want[64];
    snprintf(want, sizeof(want), "%s:2", path);
    ck_assert_str_eq(origin_of(&rs, 1), want);
    snprintf(want, sizeof(want), "%s:1", path2);
    ck_assert_str_eq(origin_of(&rs, 2), want);
    kms_ruleset_free(&rs);
}
END_TEST

START_TEST(many_rules_keep_their_patterns_and_lines)
{
    /* Long enough for the array to grow past its first guess, with tabs,
     * comments and a bad line among them. */
    static char text[200000];
    size_t len = 0;
    for (int i = 1; i <= 3000; i++) {
        if (i == 1500)
            len += (size_t)snprintf(text + len, sizeof(text) - len, "route kmem caller\n");
        else if (i % 7 == 0)
            len += (size_t)snprintf(text + len, sizeof(text) - len,
                                    "\troute dram caller m%d:f%d # note\n", i, i);
        else
            len += (size_t)snprintf(text + len, sizeof(text) - len, "route kmem caller m%d:f%d\n",
                                    i, i);
    }
    struct kms_ruleset rs;
    kms_ruleset_init(&rs);
    ck_assert_uint_eq(kms_rules_parse(&rs, text, len, "big.rc", KMS_RULES_FILE), 1);
    ck_assert_str_eq(rs.errors[0], "big.rc:1500:18: expected a caller pattern MODULE:FUNCTION or "
                                   "MODULE+0xOFFSET, found end of line");
    ck_assert_uint_eq(rs.count, 2999);
    for (size_t k = 0; k < rs.count; k++) {
        int i = (int)(k < 1499 ? k + 1 : k + 2);
        char mod[16], fn[16], want[32];
        snprintf(mod, sizeof(mod), "m%d", i);
        snprintf(fn, sizeof(fn), "f%d", i);
        snprintf(want, sizeof(want), "big.rc:%d", i);
        ck_assert_str_eq(rs.rules[k].module_glob, mod);
        ck_assert_str_eq(rs.rules[k].func_glob, fn);
        ck_assert_str_eq(origin_of(&rs, k), want);
        ck_assert_int_eq(rs.rules[k].target, i % 7 == 0 ? KMS_TARGET_DRAM : KMS_TARGET_KMEM);
    }
    kms_ruleset_free(&rs);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("rules");
    TCase *tc = tcase_create("errors");
    tcase_add_loop_test(tc, error_messages, 0, (int)(sizeof(bad) / sizeof(bad[0])));
    tcase_add_test(tc, nul_byte);
    tcase_add_test(tc, overlong_line);
    tcase_add_test(tc, error_cap);
    tcase_add_test(tc, long_origin_and_token);
    suite_add_tcase(s, tc);
    tc = tcase_create("grammar");
    tcase_add_loop_test(tc, grammar, 0, (int)(sizeof(good) / sizeof(good[0])));
    tcase_add_test(tc, rule_fields);
    tcase_add_test(tc, settings);
    tcase_add_test(tc, summary);
    tcase_add_test(tc, unmatched);
    tcase_add_test(tc, precedence);
    tcase_add_test(tc, env_separators);
    tcase_add_test(tc, globs);
    suite_add_tcase(s, tc);
    tc = tcase_create("files");
    tcase_add_test(tc, load_files);
    tcase_add_test(tc, load_unreadable);
    tcase_add_test(tc, load_too_big);
#ifdef KMS_CLI
    tcase_add_test(tc, check_example);
    tcase_add_test(tc, check_bad);
    tcase_add_test(tc, check_cli);
    tcase_add_test(tc, pattern_at_the_end_of_an_unterminated_buffer);
    tcase_add_test(tc, one_pass_lines_parse_as_the_full_parser_does);
    tcase_add_test(tc, loaded_file_keeps_its_patterns);
    tcase_add_test(tc, many_rules_keep_their_patterns_and_lines);
#endif
    tcase_set_timeout(tc, 60);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
