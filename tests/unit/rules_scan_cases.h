/* SPDX-License-Identifier: MIT */
/* The checks of policy/rules_scan.h against a byte-by-byte reference, shared
 * by test_rules_scan.c (the build's own variant, SSE2 on x86-64) and
 * test_rules_scan_swar.c (the portable 8-byte variant). */
#include "policy/rules_scan.h"

#include <check.h>
#include <stdlib.h>

/* Bytes that mean something to the scanner, and some that do not. */
static const unsigned char alphabet[] = {' ', '\t', '\r', '\n', '#', ':',  '/',  0x7f, 0x01, 0x00,
                                         'a', 'Z',  '_',  '.',  '*', 0x80, 0xc3, 0xff, '!',  '"'};

static void fill(unsigned char *b, size_t n, unsigned seed)
{
    srand(seed);
    for (size_t i = 0; i < n; i++) {
        /* mostly word bytes, so that words are long enough to span steps */
        int r = rand() % 64;
        b[i] = r < (int)sizeof(alphabet) ? alphabet[r] : (unsigned char)('a' + r % 26);
    }
}

START_TEST(word_end_matches_bytewise)
{
    unsigned char b[96];
    for (unsigned seed = 1; seed <= 4000; seed++) {
        size_t len = 1 + seed % sizeof(b);
        fill(b, len, seed);
        for (size_t p = 0; p < len; p += 1 + seed % 5) {
            size_t end = p, colon = SIZE_MAX, odd = SIZE_MAX;
            while (end < len && b[end] > ' ' && b[end] != '#') {
                if (b[end] == ':' && colon == SIZE_MAX) colon = end;
                if ((b[end] == '/' || b[end] == 0x7f) && odd == SIZE_MAX) odd = end;
                end++;
            }
            size_t c, o;
            ck_assert_uint_eq(kms_scan_word_end((const char *)b, p, len, NULL, NULL), end);
            ck_assert_uint_eq(kms_scan_word_end((const char *)b, p, len, &c, &o), end);
            if (colon != SIZE_MAX)
                ck_assert_uint_eq(c, colon);
            else
                ck_assert_uint_ge(c, end);
            if (odd != SIZE_MAX)
                ck_assert_uint_eq(o, odd);
            else
                ck_assert_uint_ge(o, end);
        }
    }
}
END_TEST

START_TEST(line_end_matches_bytewise)
{
    unsigned char b[96];
    for (unsigned seed = 1; seed <= 4000; seed++) {
        size_t len = 1 + seed % sizeof(b);
        fill(b, len, seed);
        for (size_t j = 0; j < len; j += 1 + seed % 7) {
            size_t end = j, ctrl = SIZE_MAX;
            for (; end < len && b[end] != '\n'; end++)
                if ((b[end] < 0x20 || b[end] == 0x7f) && b[end] != '\t' && b[end] != '\r' &&
                    ctrl == SIZE_MAX)
                    ctrl = end;
            size_t got;
            ck_assert_uint_eq(kms_scan_line_end((const char *)b, j, len, &got), end);
            ck_assert_uint_eq(got, ctrl);
        }
    }
}
END_TEST

static int run_scan_suite(const char *name)
{
    Suite *s = suite_create(name);
    TCase *tc = tcase_create("scan");
    tcase_add_test(tc, word_end_matches_bytewise);
    tcase_add_test(tc, line_end_matches_bytewise);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
