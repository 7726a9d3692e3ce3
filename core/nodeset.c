/* SPDX-License-Identifier: MIT */
#include "core/nodeset.h"

#include <stdio.h>

int kms_nodeset_count(const struct kms_nodeset *s)
{
    int c = 0;
    for (size_t i = 0; i < sizeof(s->w) / sizeof(s->w[0]); i++)
        c += __builtin_popcountll(s->w[i]);
    return c;
}

bool kms_nodeset_empty(const struct kms_nodeset *s) { return kms_nodeset_first(s) < 0; }

int kms_nodeset_first(const struct kms_nodeset *s)
{
    for (size_t i = 0; i < sizeof(s->w) / sizeof(s->w[0]); i++)
        if (s->w[i]) return (int)(i * 64) + __builtin_ctzll(s->w[i]);
    return -1;
}

int kms_nodeset_next(const struct kms_nodeset *s, int n)
{
    if (n < 0) return kms_nodeset_first(s);
    n++;
    for (size_t i = (size_t)n / 64; i < sizeof(s->w) / sizeof(s->w[0]); i++) {
        uint64_t w = s->w[i];
        if (i == (size_t)n / 64) w &= ~0ull << (n % 64);
        if (w) return (int)(i * 64) + __builtin_ctzll(w);
    }
    return -1;
}

int kms_nodeset_last(const struct kms_nodeset *s)
{
    for (size_t i = sizeof(s->w) / sizeof(s->w[0]); i-- > 0;)
        if (s->w[i]) return (int)(i * 64) + 63 - __builtin_clzll(s->w[i]);
    return -1;
}

/* One node number at s[*i], below len. */
static int parse_node(const char *s, size_t len, size_t *i, int *out, char *why, size_t whylen)
{
    long v = 0;
    size_t at = *i;
    if (at >= len || s[at] < '0' || s[at] > '9') {
        if (at >= len)
            snprintf(why, whylen, "missing node number at the end");
        else
            snprintf(why, whylen, "expected a node number, found '%c'", s[at]);
        return -1;
    }
    for (; at < len && s[at] >= '0' && s[at] <= '9'; at++) {
        v = v * 10 + (s[at] - '0');
        if (v >= KMS_MAX_NODES) {
            snprintf(why, whylen, "node number too large (the limit is %d)", KMS_MAX_NODES - 1);
            return -1;
        }
    }
    *out = (int)v;
    *i = at;
    return 0;
}

int kms_nodeset_parse_n(const char *s, size_t len, struct kms_nodeset *out, size_t *bad_at,
                        char *why, size_t whylen)
{
    size_t i = 0, dummy;
    if (!bad_at) bad_at = &dummy;
    kms_nodeset_clear(out);
    *bad_at = 0;
    if (len == 0) {
        snprintf(why, whylen, "empty node list");
        return -1;
    }
    for (;;) {
        int lo, hi;
        *bad_at = i;
        if (parse_node(s, len, &i, &lo, why, whylen) < 0) return -1;
        hi = lo;
        if (i < len && s[i] == '-') {
            *bad_at = ++i;
            if (parse_node(s, len, &i, &hi, why, whylen) < 0) return -1;
            if (hi < lo) {
                snprintf(why, whylen, "range %d-%d runs backwards", lo, hi);
                return -1;
            }
        }
        for (int n = lo; n <= hi; n++)
            kms_nodeset_add(out, n);
        if (i == len) return 0;
        if (s[i] != ',') {
            *bad_at = i;
            snprintf(why, whylen, "expected ',' or '-' after a node number, found '%c'", s[i]);
            return -1;
        }
        i++;
    }
}

int kms_nodeset_parse(const char *s, struct kms_nodeset *out, char *why, size_t whylen)
{
    return kms_nodeset_parse_n(s, strlen(s), out, NULL, why, whylen);
}

void kms_nodeset_format(const struct kms_nodeset *s, char *buf, size_t len)
{
    size_t used = 0;
    buf[0] = '\0';
    for (int n = 0; n < KMS_MAX_NODES; n++) {
        if (!kms_nodeset_has(s, n)) continue;
        int end = n;
        while (end + 1 < KMS_MAX_NODES && kms_nodeset_has(s, end + 1))
            end++;
        int w;
        if (end == n)
            w = snprintf(buf + used, len - used, "%s%d", used ? "," : "", n);
        else
            w = snprintf(buf + used, len - used, "%s%d-%d", used ? "," : "", n, end);
        if (w < 0 || (size_t)w >= len - used) return;
        used += (size_t)w;
        n = end;
    }
    if (used == 0) snprintf(buf, len, "(none)");
}
