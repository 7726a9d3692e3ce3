/* SPDX-License-Identifier: MIT */
/* The unit tests' fixtures (tests/unit/fixtures): a file's text, read whole. */
#ifndef KMS_TESTS_UNIT_FIXTURE_H
#define KMS_TESTS_UNIT_FIXTURE_H
#include <check.h>
#include <stdio.h>

/* The text of fixture name; the buffer is reused by the next call. */
static inline char *slurp(const char *name)
{
    static char buf[65536];
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", KMS_FIXTURES, name);
    FILE *f = fopen(path, "r");
    ck_assert_msg(f != NULL, "fixture %s", path);
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    ck_assert_msg(!ferror(f) && n < sizeof(buf) - 1, "fixture %s: unreadable or too large", path);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

#endif
