/* SPDX-License-Identifier: MIT */
#include "policy/rules.h"

int kms_glob_match(const char *pat, const char *s)
{
    /* Backtrack only to the last '*': each star can absorb more, never less,
     * so the match is linear-ish and never recursive (patterns come from users). */
    const char *star = NULL, *resume = NULL;
    while (*s) {
        if (*pat == '*') {
            star = pat++;
            resume = s;
        } else if (*pat == '?' || *pat == *s) {
            pat++;
            s++;
        } else if (star) {
            pat = star + 1;
            s = ++resume;
        } else {
            return 0;
        }
    }
    while (*pat == '*')
        pat++;
    return *pat == '\0';
}
