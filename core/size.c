/* SPDX-License-Identifier: MIT */
#include "core/size.h"

#include <stdio.h>

int kms_parse_size(const char *s, size_t len, uint64_t *out, const char **why)
{
    size_t i = 0;
    uint64_t v = 0;
    if (len == 0) {
        *why = "empty";
        return -1;
    }
    if (s[0] == '-') {
        *why = "negative";
        return -1;
    }
    if (s[0] < '0' || s[0] > '9') {
        *why = "not a number";
        return -1;
    }
    for (; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
        unsigned d = (unsigned)(s[i] - '0');
        if (v > (UINT64_MAX - d) / 10) {
            *why = "overflows 64 bits";
            return -1;
        }
        v = v * 10 + d;
    }
    if (i < len) {
        unsigned shift;
        switch (s[i]) {
        case 'k':
        case 'K': shift = 10; break;
        case 'm':
        case 'M': shift = 20; break;
        case 'g':
        case 'G': shift = 30; break;
        case 't':
        case 'T': shift = 40; break;
        case 'b':
        case 'B': shift = 0; break;
        default: *why = "unknown suffix (expected K, M, G or T)"; return -1;
        }
        i++;
        /* "1KB", "1KiB" are common spellings of the same thing. */
        if (shift && i < len && (s[i] == 'i' || s[i] == 'I')) i++;
        if (shift && i < len && (s[i] == 'b' || s[i] == 'B')) i++;
        if (i < len) {
            *why = "trailing characters";
            return -1;
        }
        if (shift && v > (UINT64_MAX >> shift)) {
            *why = "overflows 64 bits";
            return -1;
        }
        v <<= shift;
    }
    *out = v;
    return 0;
}

void kms_format_size(uint64_t v, char *buf, size_t buflen)
{
    static const char units[] = "KMGT";
    int u = -1;
    while (v >= 1024 && (v % 1024) == 0 && u < 3) {
        v /= 1024;
        u++;
    }
    if (u < 0)
        snprintf(buf, buflen, "%llu", (unsigned long long)v);
    else
        snprintf(buf, buflen, "%llu%c", (unsigned long long)v, units[u]);
}

const char *kms_size_human(uint64_t b, char *buf, size_t len)
{
    if (b >= (1ull << 30))
        snprintf(buf, len, "%.1f GiB", (double)b / (1 << 30));
    else if (b >= (1ull << 20))
        snprintf(buf, len, "%.1f MiB", (double)b / (1 << 20));
    else if (b >= (10ull << 10))
        snprintf(buf, len, "%.1f KiB", (double)b / (1 << 10));
    else
        snprintf(buf, len, "%llu B", (unsigned long long)b);
    return buf;
}
