/* SPDX-License-Identifier: MIT */
#include "policy/rules.h"

#include "policy/rules_scan.h"

#include "core/meta.h"
#include "core/nodeset.h"
#include "core/size.h"
#include "core/target.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum { SET_POLICY, SET_NODES, SET_THRESHOLD, SET_STATS, SET_DEFAULT };

/* Node numbers above this cannot exist (the kernel's MAX_NUMNODES is at most 1024). */

static const char size_words[] = "a size like 4096, 64K or 1M";
static const char pattern_words[] = "a caller pattern MODULE:FUNCTION or MODULE+0xOFFSET";
static const char keyword_words[] = "a keyword (policy, nodes, threshold, stats, default or route)";

void kms_ruleset_init(struct kms_ruleset *rs)
{
    memset(rs, 0, sizeof(*rs));
    rs->policy = -1;
    rs->default_target = -1;
}

void kms_ruleset_free(struct kms_ruleset *rs)
{
    for (size_t i = 0; i < rs->nsources; i++) {
        kms_meta_free(rs->sources[i].name);
        kms_meta_free(rs->sources[i].text);
    }
    kms_meta_free(rs->sources);
    kms_meta_free(rs->rules);
    for (size_t i = 0; i < rs->nerrors; i++)
        kms_meta_free(rs->errors[i]);
    kms_meta_free(rs->errors);
    kms_meta_free(rs->nodes);
    kms_meta_free(rs->stats);
    kms_ruleset_init(rs);
}

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

/* ---- parsing ---------------------------------------------------------- */

struct cursor {
    struct kms_ruleset *rs;
    const char *origin;
    int env;
    const char *buf; /* whole input: env columns count from its start */
    size_t len;      /* of buf */
    size_t start;    /* offset of the current line/rule in buf */
    size_t end;      /* offset just past it (comment included) */
    size_t pos;      /* absolute offset of the cursor */
    unsigned line;
    size_t errors;       /* of this kms_rules_parse call */
    int source;          /* index in rs->sources once a route was seen; -1 before */
    size_t source_rules; /* rules kept by this call */
    char *owned;         /* kms_rules_load's buffer (len + 1 bytes): the text, once adopted */
    size_t ends[2];      /* NULs that end the line's pattern, written once the line is read */
    int nends;
};

/* Byte classes of the scanner: one table load per byte instead of a chain of compares. */
enum { C_WS = 1, C_HASH = 2, C_IDENT = 4 };
static const unsigned char cclass[256] = {
    [' '] = C_WS,
    ['\t'] = C_WS,
    ['\r'] = C_WS,
    ['#'] = C_HASH,
    ['a' ... 'z'] = C_IDENT,
    ['A' ... 'Z'] = C_IDENT,
    ['0' ... '9'] = C_IDENT,
    ['_'] = C_IDENT,
};

static void add_error_text(struct kms_ruleset *rs, const char *msg)
{
    rs->nerrors_total++;
    if (rs->nerrors >= KMS_RULES_MAX_ERRORS) return;
    if (rs->nerrors % 8 == 0) {
        char **e = kms_meta_realloc(rs->errors, (rs->nerrors + 8) * sizeof(*e));
        if (!e) {
            rs->oom = 1;
            return;
        }
        rs->errors = e;
    }
    char *m = kms_meta_strdup(msg);
    if (!m) {
        rs->oom = 1;
        return;
    }
    rs->errors[rs->nerrors++] = m;
}

/* ":n" at out; returns its length. Every rule gets an origin at start-up, and
 * snprintf would be most of what parsing a rule costs. */
static size_t put_num(char *out, uint64_t n)
{
    char digits[24];
    size_t k = 0;
    do
        digits[k++] = (char)('0' + n % 10);
    while ((n /= 10) != 0);
    out[0] = ':';
    for (size_t i = 0; i < k; i++)
        out[1 + i] = digits[k - 1 - i];
    out[1 + k] = '\0';
    return 1 + k;
}

/* "path:line" fitting in KMS_ORIGIN_MAX: a long path keeps its tail, which names the file.
 * KMEM_RULES is one line: its origins are "KMEM_RULES, column N", which a bare
 * "KMEM_RULES:N" would let a reader take for a line. */
static void format_origin(char *out, const char *origin, unsigned line, size_t col, int with_col,
                          int env)
{
    char tail[48];
    size_t tlen;
    if (env) {
        memcpy(tail, ", column", 8);
        tlen = 8 + put_num(tail + 8, col);
        tail[8] = ' ';
    } else if (with_col) {
        tlen = put_num(tail, line);
        tlen += put_num(tail + tlen, col);
    } else {
        tlen = put_num(tail, line);
    }
    size_t olen = strlen(origin);
    if (olen + tlen < KMS_ORIGIN_MAX) {
        memcpy(out, origin, olen);
    } else {
        size_t keep = KMS_ORIGIN_MAX - 1 - tlen - 3;
        memcpy(out, "...", 3);
        memcpy(out + 3, origin + olen - keep, keep);
        olen = keep + 3;
    }
    memcpy(out + olen, tail, tlen + 1);
}

static size_t column(const struct cursor *c, size_t at)
{
    return (c->env ? at : at - c->start) + 1;
}

static void __attribute__((format(printf, 3, 4)))
error_at(struct cursor *c, size_t at, const char *fmt, ...)
{
    char where[KMS_ORIGIN_MAX], msg[640];
    va_list ap;
    format_origin(where, c->origin, c->line, column(c, at), 1, c->env);
    int n = snprintf(msg, sizeof(msg), "%s: ", where);
    va_start(ap, fmt);
    vsnprintf(msg + n, sizeof(msg) - (size_t)n, fmt, ap);
    va_end(ap);
    add_error_text(c->rs, msg);
    c->errors++;
}

static inline int is_ws(char ch) { return cclass[(unsigned char)ch] & C_WS; }

static inline int at_end(const struct cursor *c)
{
    return c->pos >= c->end || c->buf[c->pos] == '#';
}

static inline void skip_ws(struct cursor *c)
{
    const unsigned char *p = (const unsigned char *)c->buf + c->pos;
    const unsigned char *e = (const unsigned char *)c->buf + c->end;
    while (p < e && (cclass[*p] & C_WS))
        p++;
    c->pos = (size_t)(p - (const unsigned char *)c->buf);
}

/* A word: the run of bytes up to white space, a comment or the end. Eight
 * bytes a step while they lie inside the line. */
static inline size_t word_len(const struct cursor *c, size_t at)
{
    const unsigned char *p = (const unsigned char *)c->buf + at, *q = p;
    const unsigned char *e = (const unsigned char *)c->buf + c->end;
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    for (; e - q >= 8; q += 8) {
        uint64_t x;
        memcpy(&x, q, 8);
        uint64_t m = kms_scan_word_stops(x);
        if (m) return (size_t)(q - p) + (size_t)__builtin_ctzll(m) / 8;
    }
#endif
    while (q < e && !(cclass[*q] & (C_WS | C_HASH)))
        q++;
    return (size_t)(q - p);
}

static inline size_t ident_len(const struct cursor *c, size_t at)
{
    const unsigned char *p = (const unsigned char *)c->buf + at, *q = p;
    const unsigned char *e = (const unsigned char *)c->buf + c->end;
    while (q < e && (cclass[*q] & C_IDENT))
        q++;
    return (size_t)(q - p);
}

/* The "found" part of a message: the word at `at` quoted, or the end. */
static const char *found(const struct cursor *c, size_t at, size_t len, char *buf, size_t buflen)
{
    if (len == 0) {
        if (at < c->end && c->buf[at] == '#')
            snprintf(buf, buflen, "a comment");
        else
            snprintf(buf, buflen, c->env ? "end of rule" : "end of line");
    } else if (len > 40) {
        snprintf(buf, buflen, "'%.37s...'", c->buf + at);
    } else {
        snprintf(buf, buflen, "'%.*s'", (int)len, c->buf + at);
    }
    return buf;
}

static const char *found_word(const struct cursor *c, size_t at, char *buf, size_t buflen)
{
    return found(c, at, word_len(c, at), buf, buflen);
}

static int word_is(const struct cursor *c, size_t at, size_t len, const char *w)
{
    return strlen(w) == len && memcmp(c->buf + at, w, len) == 0;
}

/* word_is for a literal: the length is a constant and the compare inline. */
#define WORD_IS(c, at, len, lit)                                                                   \
    ((len) == sizeof(lit) - 1 && memcmp((c)->buf + (at), lit, sizeof(lit) - 1) == 0)

/* WORD_IS(ident_len(at)) without scanning the identifier: the literal, then
 * no identifier byte. */
#define KEYWORD_AT(c, at, lit)                                                                     \
    ((at) + sizeof(lit) - 1 <= (c)->end && memcmp((c)->buf + (at), lit, sizeof(lit) - 1) == 0 &&   \
     ((at) + sizeof(lit) - 1 == (c)->end ||                                                        \
      !(cclass[(unsigned char)(c)->buf[(at) + sizeof(lit) - 1]] & C_IDENT)))

/* After a complete clause, only white space, a comment or the end may follow. */
static int expect_end(struct cursor *c)
{
    char f[64];
    skip_ws(c);
    if (at_end(c)) return 0;
    error_at(c, c->pos, "expected end of %s, found %s", c->env ? "rule" : "line",
             found_word(c, c->pos, f, sizeof(f)));
    return -1;
}

static int parse_size_word(struct cursor *c, size_t at, size_t len, uint64_t *out, const char *what)
{
    const char *why;
    char f[64];
    if (len == 0) {
        error_at(c, at, "expected %s, found %s", what, found_word(c, at, f, sizeof(f)));
        return -1;
    }
    if (kms_parse_size(c->buf + at, len, out, &why) < 0) {
        error_at(c, at, "expected %s, found %s: %s", what, found(c, at, len, f, sizeof(f)), why);
        return -1;
    }
    return 0;
}

/* size OP SIZE | size LOW..HIGH, spaces allowed around OP and "..". */
static int parse_size_clause(struct cursor *c, struct kms_rule *r)
{
    char f[64];
    uint64_t v, lo, hi;
    skip_ws(c);
    size_t at = c->pos;
    const char *b = c->buf;
    if (at < c->end && (b[at] == '<' || b[at] == '>')) {
        int less = b[at] == '<', eq = 0;
        c->pos++;
        if (c->pos < c->end && b[c->pos] == '=') {
            eq = 1;
            c->pos++;
        }
        const char *op = less ? (eq ? "<=" : "<") : (eq ? ">=" : ">");
        skip_ws(c);
        size_t n = word_len(c, c->pos);
        char what[96];
        snprintf(what, sizeof(what), "%s after '%s'", size_words, op);
        if (parse_size_word(c, c->pos, n, &v, what) < 0) return -1;
        if (less && !eq && v == 0) {
            error_at(c, c->pos,
                     "expected a size above 0 after '<', found %s: no request is that small",
                     found(c, c->pos, n, f, sizeof(f)));
            return -1;
        }
        if (!less && !eq && v == UINT64_MAX) {
            error_at(c, c->pos,
                     "expected a size below 2^64-1 after '>', found %s: no request is that large",
                     found(c, c->pos, n, f, sizeof(f)));
            return -1;
        }
        c->pos += n;
        if (less) {
            r->size_lo = 0;
            r->size_hi = eq ? v : v - 1;
        } else {
            r->size_lo = eq ? v : v + 1;
            r->size_hi = UINT64_MAX;
        }
        r->has_size = 1;
        return 0;
    }
    /* A range: LOW stops at "..", which a size never contains. */
    size_t n = 0;
    while (at + n < c->end && !is_ws(b[at + n]) && b[at + n] != '#' &&
           !(b[at + n] == '.' && at + n + 1 < c->end && b[at + n + 1] == '.'))
        n++;
    size_t after = at + n;
    while (after < c->end && is_ws(b[after]))
        after++;
    int dots = after + 1 < c->end && b[after] == '.' && b[after + 1] == '.';
    if (!dots) {
        /* No "..": the value was meant as OP SIZE or was garbage; say what works. */
        error_at(c, at,
                 "expected a comparison (<, <=, >, >=) or a range LOW..HIGH after 'size', found %s",
                 found_word(c, at, f, sizeof(f)));
        return -1;
    }
    if (parse_size_word(c, at, n, &lo, "a size like 4096, 64K or 1M before '..'") < 0) return -1;
    c->pos = after + 2;
    skip_ws(c);
    size_t hat = c->pos, hn = word_len(c, hat);
    if (parse_size_word(c, hat, hn, &hi, "a size like 4096, 64K or 1M after '..'") < 0) return -1;
    if (lo > hi) {
        error_at(c, at, "expected LOW <= HIGH in the range LOW..HIGH, found '%.*s..%.*s'", (int)n,
                 b + at, (int)hn, b + hat);
        return -1;
    }
    c->pos = hat + hn;
    r->size_lo = lo;
    r->size_hi = hi;
    r->has_size = 1;
    return 0;
}

/* The source of this call's rules, registered at its first route. */
static int add_source(struct cursor *c)
{
    struct kms_ruleset *rs = c->rs;
    if (rs->nsources >= UINT16_MAX) return -1; /* kms_rule.source's range */
    struct kms_rules_source *ns = kms_meta_realloc(rs->sources, (rs->nsources + 1) * sizeof(*ns));
    if (!ns) goto oom;
    rs->sources = ns;
    char *name = kms_meta_strdup(c->origin);
    if (!name) goto oom;
    ns[rs->nsources] = (struct kms_rules_source){.name = name, .env = c->env};
    c->source = (int)rs->nsources++;
    return 0;
oom:
    rs->oom = 1;
    return -1;
}

/* The text the patterns of this call point into: kms_rules_load's buffer,
 * or one copy of buf, a byte longer so that a pattern at its very end can be
 * ended. NULL when out of memory. */
static char *source_text(struct cursor *c)
{
    struct kms_rules_source *src = &c->rs->sources[c->source];
    if (src->text) return src->text;
    if (c->owned) {
        src->text = c->owned;
        c->owned = NULL;
        return src->text;
    }
    src->text = kms_meta_malloc(c->len + 1);
    if (!src->text) {
        c->rs->oom = 1;
        return NULL;
    }
    memcpy(src->text, c->buf, c->len);
    src->text[c->len] = '\0';
    return src->text;
}

const char *kms_rule_origin(const struct kms_ruleset *rs, const struct kms_rule *r,
                            char buf[KMS_ORIGIN_MAX])
{
    const struct kms_rules_source *src = &rs->sources[r->source];
    format_origin(buf, src->name, r->line, r->line, 0, src->env);
    return buf;
}

static int hexval(char ch)
{
    if (ch >= '0' && ch <= '9') return ch - '0';
    if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
    return -1;
}

static int parse_pattern(struct cursor *c, struct kms_rule *r)
{
    char f[64];
    skip_ws(c);
    size_t at = c->pos, n = word_len(c, at);
    const char *w = c->buf + at, *why = NULL;
    size_t modlen = 0;
    const char *colon = n ? memchr(w, ':', n) : NULL;
    if (n == 0) {
        error_at(c, at, "expected %s, found %s", pattern_words, found(c, at, 0, f, sizeof(f)));
        return -1;
    }
    if (colon) {
        modlen = (size_t)(colon - w);
        if (modlen == 0)
            why = "the module is empty (use * for any)";
        else if (modlen + 1 == n)
            why = "the function is empty (use * for any)";
    } else {
        const char *plus = NULL;
        for (size_t i = n; i-- > 0;)
            if (w[i] == '+') {
                plus = w + i;
                break;
            }
        if (!plus) {
            why = "neither ':' nor '+' in it";
        } else {
            modlen = (size_t)(plus - w);
            const char *h = plus + 1, *e = w + n;
            uint64_t off = 0;
            if (modlen == 0) {
                why = "the module is empty (use * for any)";
            } else if (e - h < 3 || h[0] != '0' || (h[1] != 'x' && h[1] != 'X')) {
                why = "the offset is not hexadecimal like 0x4f21";
            } else {
                for (h += 2; h < e && !why; h++) {
                    int d = hexval(*h);
                    if (d < 0)
                        why = "the offset is not hexadecimal like 0x4f21";
                    else if (off >> 60)
                        why = "the offset overflows 64 bits";
                    else
                        off = off << 4 | (uint64_t)d;
                }
            }
            r->offset = off;
        }
    }
    if (!why && memchr(w, '/', modlen)) why = "the module is a file name without directories";
    if (why) {
        error_at(c, at, "expected %s, found %s: %s", pattern_words, found(c, at, n, f, sizeof(f)),
                 why);
        return -1;
    }
    char *text = source_text(c);
    if (!text) {
        error_at(c, at, "expected memory for the pattern, found none (out of memory)");
        return -1;
    }
    /* The word ends at white space, '#', the line's end or buf's: a byte of
     * the text no other pattern holds, or the extra byte. The text may be
     * buf itself, so the NULs wait until the line has been read. */
    c->ends[0] = at + modlen;
    c->ends[1] = at + n;
    c->nends = 2;
    r->module_glob = text + at;
    if (colon) r->func_glob = text + at + modlen + 1;
    r->caller_kind = colon ? KMS_CALLER_SYMBOL : KMS_CALLER_OFFSET;
    r->has_caller = 1;
    c->pos = at + n;
    return 0;
}

static int parse_depth(struct cursor *c, struct kms_rule *r)
{
    char f[64];
    skip_ws(c);
    size_t at = c->pos, n = word_len(c, at);
    unsigned v = 0;
    size_t i = 0;
    for (; i < n && c->buf[at + i] >= '0' && c->buf[at + i] <= '9' && v <= KMS_RULES_MAX_DEPTH; i++)
        v = v * 10 + (unsigned)(c->buf[at + i] - '0');
    if (n == 0 || i < n || v < 1 || v > KMS_RULES_MAX_DEPTH) {
        error_at(c, at, "expected a frame count from 1 to %d after 'depth', found %s",
                 KMS_RULES_MAX_DEPTH, found(c, at, n, f, sizeof(f)));
        return -1;
    }
    r->depth = (uint8_t)v;
    c->pos = at + n;
    return 0;
}

/* Case-insensitive word_is, to hint at "Size" or "CALLER". */
static int ieq(const struct cursor *c, size_t at, size_t len, const char *w)
{
    if (strlen(w) != len) return 0;
    for (size_t i = 0; i < len; i++)
        if ((c->buf[at + i] | 0x20) != w[i]) return 0;
    return 1;
}

/* The next free slot, where a rule is parsed in place: it only counts once
 * the rule is complete (rs->count++). NULL when out of memory. */
static struct kms_rule *rule_slot(struct cursor *c, size_t kw_at)
{
    struct kms_ruleset *rs = c->rs;
    if (c->source < 0 && add_source(c) < 0) return NULL;
    if (rs->count == rs->cap) {
        /* At the first route of a file, room for a rule per 32 bytes of what
         * is left (most route lines are longer): a large rules file is not
         * copied again and again while the array doubles. */
        size_t guess = c->env ? 0 : rs->count + (c->len - kw_at) / 32;
        size_t cap = rs->cap ? rs->cap * 2 : 16;
        if (c->source_rules == 0 && guess > cap) cap = guess;
        struct kms_rule *nr = kms_meta_realloc(rs->rules, cap * sizeof(*nr));
        if (!nr) {
            rs->oom = 1;
            return NULL;
        }
        rs->rules = nr;
        rs->cap = cap;
    }
    return &rs->rules[rs->count];
}

static int parse_route(struct cursor *c, size_t kw_at)
{
    char f[64];
    struct kms_ruleset *rs = c->rs;
    struct kms_rule *r = rule_slot(c, kw_at);
    if (!r) {
        error_at(c, kw_at, "expected memory for the rule, found none (out of memory)");
        return -1;
    }
    memset(r, 0, sizeof(*r));
    r->size_hi = UINT64_MAX;
    skip_ws(c);
    size_t at = c->pos, n = word_len(c, at);
    int target = n ? kms_target_parse(c->buf + at, n) : KMS_TARGET_INVALID;
    r->target = (int8_t)target;
    if (target == KMS_TARGET_INVALID) {
        error_at(c, at, "expected a target (" KMS_TARGET_WORDS "), found %s",
                 found(c, at, n, f, sizeof(f)));
        return -1;
    }
    c->pos = at + n;
    for (;;) {
        /* Every clause ends at white space, so the next one starts after some. */
        skip_ws(c);
        if (at_end(c)) break;
        at = c->pos;
        if (KEYWORD_AT(c, at, "caller") && !r->has_caller) {
            c->pos += 6;
            if (parse_pattern(c, r) < 0) return -1;
        } else if (KEYWORD_AT(c, at, "size") && !r->has_size) {
            c->pos += 4;
            if (parse_size_clause(c, r) < 0) return -1;
        } else if (KEYWORD_AT(c, at, "depth") && r->has_caller && !r->depth) {
            c->pos += 5;
            if (parse_depth(c, r) < 0) return -1;
        } else {
            n = ident_len(c, at);
            const char *alts[3];
            int k = 0;
            if (!r->has_size) alts[k++] = "'size'";
            if (!r->has_caller)
                alts[k++] = "'caller'";
            else if (!r->depth)
                alts[k++] = "'depth'";
            char list[64] = "";
            for (int i = 0; i < k; i++) {
                strcat(list, alts[i]);
                strcat(list, i + 1 < k ? ", " : " or ");
            }
            /* Only a repeated or misplaced clause gets here with a known word. */
            const char *note = "";
            if (word_is(c, at, n, "depth") && !r->has_caller)
                note = " ('depth' follows 'caller PATTERN')";
            else if (word_is(c, at, n, "size") || word_is(c, at, n, "caller") ||
                     word_is(c, at, n, "depth"))
                note = " (each clause at most once)";
            else if (ieq(c, at, n, "size") || ieq(c, at, n, "caller") || ieq(c, at, n, "depth"))
                note = " (keywords are lower case)";
            error_at(c, at, "expected %send of %s, found %s%s", list, c->env ? "rule" : "line",
                     found_word(c, at, f, sizeof(f)), note);
            return -1;
        }
    }
    r->line = c->env ? (uint32_t)column(c, kw_at) : c->line;
    r->source = (uint16_t)c->source;
    rs->count++;
    c->source_rules++;
    return 0;
}

static const char *const set_names[] = {"policy", "nodes", "threshold", "stats", "default"};
static const char *const set_vars[] = {"KMEM_POLICY", "KMEM_NODES", "KMEM_THRESHOLD", "KMEM_STATS",
                                       NULL};

/* The value of a setting, c->buf[at..at+n), ends its line and is kept in *dst. */
static int keep_value(struct cursor *c, size_t at, size_t n, char **dst, const char *what)
{
    c->pos += n;
    if (expect_end(c) < 0) return -1;
    char *d = kms_meta_strndup(c->buf + at, n);
    if (!d) {
        c->rs->oom = 1;
        error_at(c, at, "expected memory for %s, found none (out of memory)", what);
        return -1;
    }
    kms_meta_free(*dst);
    *dst = d;
    return 0;
}

static int parse_setting(struct cursor *c, int which, size_t kw_at)
{
    struct kms_ruleset *rs = c->rs;
    char f[64];
    if (c->env) {
        if (set_vars[which])
            error_at(c, kw_at, "expected 'route', found '%s' (KMEM_RULES holds routes; use %s)",
                     set_names[which], set_vars[which]);
        else
            error_at(
                c, kw_at,
                "expected 'route', found '%s' (KMEM_RULES holds routes; put it in the rules file)",
                set_names[which]);
        return -1;
    }
    if (rs->line_of_[which]) {
        error_at(c, kw_at, "expected one '%s' line, found a second one (the first is at line %u)",
                 set_names[which], rs->line_of_[which]);
        return -1;
    }
    skip_ws(c);
    size_t at = c->pos, n = word_len(c, at);
    const char *v = c->buf + at;
    int t;
    uint64_t sz;
    switch (which) {
    case SET_POLICY:
        t = n ? kms_policy_parse(v, n) : KMS_TARGET_INVALID;
        if (t == KMS_TARGET_INVALID) {
            error_at(c, at, "expected a policy (" KMS_POLICY_WORDS "), found %s",
                     found(c, at, n, f, sizeof(f)));
            return -1;
        }
        c->pos += n;
        if (expect_end(c) < 0) return -1;
        rs->policy = t;
        break;
    case SET_NODES: {
        char why[96];
        size_t bad = 0;
        struct kms_nodeset set;
        if (n == 0 || kms_nodeset_parse_n(v, n, &set, &bad, why, sizeof(why)) < 0) {
            error_at(c, at + bad, "expected a node list like 2,3 or 2-5, found %s%s%s",
                     found(c, at, n, f, sizeof(f)), n ? ": " : "", n ? why : "");
            return -1;
        }
        if (keep_value(c, at, n, &rs->nodes, "the node list") < 0) return -1;
        rs->node_set = set;
        format_origin(rs->nodes_origin, c->origin, c->line, column(c, at), 1, 0);
        break;
    }
    case SET_THRESHOLD:
        if (parse_size_word(c, at, n, &sz, size_words) < 0) return -1;
        c->pos += n;
        if (expect_end(c) < 0) return -1;
        rs->threshold = sz;
        rs->threshold_set = 1;
        break;
    case SET_STATS: {
        if (n == 0) {
            error_at(c, at, "expected 'stderr' or a file path, found %s",
                     found(c, at, 0, f, sizeof(f)));
            return -1;
        }
        if (keep_value(c, at, n, &rs->stats, "the stats path") < 0) return -1;
        break;
    }
    case SET_DEFAULT:
        t = n ? kms_target_parse(v, n) : KMS_TARGET_INVALID;
        if (t == KMS_TARGET_INVALID) {
            error_at(c, at, "expected a target (" KMS_TARGET_WORDS "), found %s",
                     found(c, at, n, f, sizeof(f)));
            return -1;
        }
        c->pos += n;
        if (expect_end(c) < 0) return -1;
        rs->default_target = t;
        break;
    }
    rs->line_of_[which] = c->line;
    return 0;
}

static int is_keyword_upper(const struct cursor *c, size_t at, size_t n)
{
    static const char *const all[] = {"policy", "nodes", "threshold", "stats", "default", "route"};
    for (size_t k = 0; k < sizeof(all) / sizeof(all[0]); k++) {
        size_t len = strlen(all[k]);
        if (len != n) continue;
        size_t i = 0;
        while (i < n && (c->buf[at + i] | 0x20) == all[k][i])
            i++;
        if (i == n) return 1;
    }
    return 0;
}

/* ctrl: the line's first control byte (other than tab and CR), or SIZE_MAX. */
static void parse_line(struct cursor *c, size_t ctrl)
{
    char f[64];
    const char *b = c->buf;
    /* Control bytes mean a binary or corrupted file: one error, skip the line. */
    if (ctrl != SIZE_MAX) {
        unsigned char ch = (unsigned char)b[ctrl];
        if (ch == 0)
            error_at(c, ctrl, "expected text, found a NUL byte");
        else
            error_at(c, ctrl, "expected text, found the control byte 0x%02x", ch);
        return;
    }
    if (c->end - c->start > KMS_RULES_MAX_LINE) {
        error_at(c, c->start + KMS_RULES_MAX_LINE,
                 "expected a %s of at most %d bytes, found %zu bytes", c->env ? "rule" : "line",
                 KMS_RULES_MAX_LINE, c->end - c->start);
        return;
    }
    c->pos = c->start;
    skip_ws(c);
    if (at_end(c)) return;
    size_t at = c->pos, n;
    int which = -1;
    int route = KEYWORD_AT(c, at, "route");
    if (route) {
        n = 5;
    } else {
        n = ident_len(c, at);
        for (int k = 0; k < 5; k++)
            if (word_is(c, at, n, set_names[k])) which = k;
    }
    /* A keyword is followed by white space, a comment or the end. */
    if ((which >= 0 || route) && at + n < c->end &&
        !(cclass[(unsigned char)b[at + n]] & (C_WS | C_HASH))) {
        error_at(c, at + n, "expected a space after '%.*s', found '%c'", (int)n, b + at, b[at + n]);
        return;
    }
    c->pos = at + n;
    if (route) {
        parse_route(c, at);
    } else if (which >= 0) {
        parse_setting(c, which, at);
    } else {
        size_t w = word_len(c, at);
        if (c->env)
            error_at(c, at, "expected 'route', found %s%s", found(c, at, w, f, sizeof(f)),
                     is_keyword_upper(c, at, w) ? " (keywords are lower case)" : "");
        else
            error_at(c, at, "expected %s, found %s%s", keyword_words, found(c, at, w, f, sizeof(f)),
                     is_keyword_upper(c, at, w) ? " (keywords are lower case)" : "");
    }
}

/* ---- the common line, in one pass ------------------------------------- */

/* Most lines of a large rules file read "route TARGET caller MODULE:FUNCTION".
 * Such a line is parsed here in one pass with no cursor, its end found on the
 * way (every byte of it is looked at, so it has no control byte). Returns
 * the line's end ('\n' or len) with the rule kept, or SIZE_MAX for any other
 * line, right or wrong: line_end and parse_line then read it from the start
 * and give the same rule, or the errors. */
static size_t fast_route_line(struct cursor *c, size_t i)
{
    const char *b = c->buf;
    size_t len = c->len, colon, odd;
    if (len - i < 8 || memcmp(b + i, "route", 5) != 0 || (b[i + 5] != ' ' && b[i + 5] != '\t'))
        return SIZE_MAX;
    size_t t = kms_scan_blanks(b, i + 6, len);
    size_t te = kms_scan_word_end(b, t, len, NULL, NULL);
    int target = te - t == 4 && memcmp(b + t, "kmem", 4) == 0 ? KMS_TARGET_KMEM
                 : te > t                                     ? kms_target_parse(b + t, te - t)
                                                              : KMS_TARGET_INVALID;
    if (target == KMS_TARGET_INVALID || te >= len || (b[te] != ' ' && b[te] != '\t'))
        return SIZE_MAX;
    size_t k = kms_scan_blanks(b, te, len);
    if (len - k < 7 || memcmp(b + k, "caller", 6) != 0 || (b[k + 6] != ' ' && b[k + 6] != '\t'))
        return SIZE_MAX;
    size_t w = kms_scan_blanks(b, k + 7, len);
    size_t we = kms_scan_word_end(b, w, len, &colon, &odd);
    /* MODULE:FUNCTION, both non-empty; a '/' anywhere (only the module may
     * not have one) or a DEL byte is left to parse_line. */
    if (odd < we || colon >= we || colon == w || colon + 1 == we) return SIZE_MAX;
    size_t e = we;
    while (e < len && (b[e] == ' ' || b[e] == '\t' || b[e] == '\r'))
        e++;
    if ((e < len && b[e] != '\n') || e - i > KMS_RULES_MAX_LINE) return SIZE_MAX;
    struct kms_ruleset *rs = c->rs;
    struct kms_rule *r;
    char *text;
    if (__builtin_expect(c->source >= 0 && rs->count < rs->cap, 1) &&
        (text = rs->sources[c->source].text) != NULL) {
        r = &rs->rules[rs->count];
    } else {
        r = rule_slot(c, i);
        text = r ? source_text(c) : NULL;
        if (!text) return SIZE_MAX; /* parse_line says so */
    }
    memset(r, 0, sizeof(*r));
    r->size_hi = UINT64_MAX;
    r->target = (int8_t)target;
    r->has_caller = 1;
    r->caller_kind = KMS_CALLER_SYMBOL;
    r->module_glob = text + w;
    r->func_glob = text + colon + 1;
    r->line = c->line;
    r->source = (uint16_t)c->source;
    /* The line has been read: the pattern's ends may become NULs. */
    text[colon] = text[we] = '\0';
    rs->count++;
    c->source_rules++;
    return e;
}

/* owned: NULL, or buf itself, malloc-ed with len + 1 bytes, which the rules
 * may adopt as their text (then *owned is set to NULL). */
static size_t parse(struct kms_ruleset *rs, const char *buf, size_t len, const char *origin,
                    enum kms_rules_mode mode, char **owned)
{
    struct cursor c = {.rs = rs,
                       .origin = origin,
                       .env = mode == KMS_RULES_ENV,
                       .buf = buf,
                       .len = len,
                       .source = -1,
                       .owned = owned ? *owned : NULL};
    size_t i = 0;
    while (i < len) {
        size_t ctrl;
        c.line++;
        size_t e = c.env ? SIZE_MAX : fast_route_line(&c, i);
        if (e != SIZE_MAX) {
            i = e + 1;
            continue;
        }
        e = c.env ? kms_scan_rule_end(buf, i, len, &ctrl) : kms_scan_line_end(buf, i, len, &ctrl);
        c.start = i;
        c.end = e;
        parse_line(&c, ctrl);
        if (c.nends) {
            char *text = rs->sources[c.source].text;
            text[c.ends[0]] = text[c.ends[1]] = '\0';
            c.nends = 0;
        }
        i = e + 1;
    }
    if (owned) *owned = c.owned;
    return c.errors;
}

size_t kms_rules_parse(struct kms_ruleset *rs, const char *buf, size_t len, const char *origin,
                       enum kms_rules_mode mode)
{
    return parse(rs, buf, len, origin, mode, NULL);
}

size_t kms_rules_load(struct kms_ruleset *rs, const char *path)
{
    char msg[640];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0) {
        if (errno == ENOENT)
            snprintf(msg, sizeof(msg), "%s: expected a readable rules file, found no such file",
                     path);
        else
            snprintf(msg, sizeof(msg),
                     "%s: expected a readable rules file, found it unreadable (%s)", path,
                     strerror(errno));
        add_error_text(rs, msg);
        return 1;
    }
    if (fstat(fd, &st) < 0) st.st_mode = 0;
    if (S_ISDIR(st.st_mode)) {
        snprintf(msg, sizeof(msg), "%s: expected a readable rules file, found a directory", path);
        add_error_text(rs, msg);
        close(fd);
        return 1;
    }
    /* Read up to one byte past the limit, so a pipe or /proc file works as well as a file.
     * A regular file's buffer has its size and a byte more, for the read that sees its
     * end; the rules' patterns may keep pointing into it (parse). */
    size_t cap = 4096, len = 0;
    if (S_ISREG(st.st_mode) && st.st_size > 0 && (uint64_t)st.st_size <= KMS_RULES_MAX_FILE)
        cap = (size_t)st.st_size + 1;
    char *buf = kms_meta_malloc(cap);
    if (!buf) goto oom;
    for (;;) {
        if (len == cap) {
            if (cap > KMS_RULES_MAX_FILE) break;
            size_t ncap = cap * 2 > KMS_RULES_MAX_FILE + 1 ? KMS_RULES_MAX_FILE + 1 : cap * 2;
            char *nb = kms_meta_realloc(buf, ncap);
            if (!nb) goto oom;
            buf = nb;
            cap = ncap;
        }
        ssize_t r = read(fd, buf + len, cap - len);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) {
            snprintf(msg, sizeof(msg),
                     "%s: expected a readable rules file, found it unreadable (%s)", path,
                     strerror(errno));
            add_error_text(rs, msg);
            kms_meta_free(buf);
            close(fd);
            return 1;
        }
        if (r == 0) break;
        len += (size_t)r;
    }
    close(fd);
    if (len > KMS_RULES_MAX_FILE) {
        snprintf(msg, sizeof(msg),
                 "%s: expected a rules file of at most %u bytes, found a larger one", path,
                 KMS_RULES_MAX_FILE);
        add_error_text(rs, msg);
        kms_meta_free(buf);
        return 1;
    }
    if (len == cap) { /* a pipe's: the text's extra byte */
        char *nb = kms_meta_realloc(buf, len + 1);
        if (!nb) goto oom_closed;
        buf = nb;
    }
    size_t n = parse(rs, buf, len, path, KMS_RULES_FILE, &buf);
    kms_meta_free(buf); /* NULL when the rules adopted it */
    return n;
oom:
    close(fd);
oom_closed:
    kms_meta_free(buf);
    rs->oom = 1;
    snprintf(msg, sizeof(msg), "%s: expected memory to read the rules file, found none", path);
    add_error_text(rs, msg);
    return 1;
}
