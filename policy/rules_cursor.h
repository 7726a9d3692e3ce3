/* SPDX-License-Identifier: MIT */
/* Inside the rules parser (policy/rules.c, policy/rules_grammar.c): the cursor
 * over one call's text, the byte classes of the scanner, and what both files
 * share. Not for other files. */
#ifndef KMS_POLICY_RULES_CURSOR_H
#define KMS_POLICY_RULES_CURSOR_H
#include "policy/rules.h"
#include "policy/rules_scan.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

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

/* word_is for a literal: the length is a constant and the compare inline. */
#define WORD_IS(c, at, len, lit)                                                                   \
    ((len) == sizeof(lit) - 1 && memcmp((c)->buf + (at), lit, sizeof(lit) - 1) == 0)

/* WORD_IS(ident_len(at)) without scanning the identifier: the literal, then
 * no identifier byte. */
#define KEYWORD_AT(c, at, lit)                                                                     \
    ((at) + sizeof(lit) - 1 <= (c)->end && memcmp((c)->buf + (at), lit, sizeof(lit) - 1) == 0 &&   \
     ((at) + sizeof(lit) - 1 == (c)->end ||                                                        \
      !(cclass[(unsigned char)(c)->buf[(at) + sizeof(lit) - 1]] & C_IDENT)))

/* rules.c: errors, origins and the words of messages. */
void kms_rules_add_error(struct kms_ruleset *rs, const char *msg);
void kms_rules_format_origin(char *out, const char *origin, unsigned line, size_t col, int with_col,
                             int env);
size_t kms_rules_column(const struct cursor *c, size_t at);
void __attribute__((format(printf, 3, 4)))
kms_rules_error_at(struct cursor *c, size_t at, const char *fmt, ...);
const char *kms_rules_found(const struct cursor *c, size_t at, size_t len, char *buf,
                            size_t buflen);
const char *kms_rules_found_word(const struct cursor *c, size_t at, char *buf, size_t buflen);
int kms_rules_word_is(const struct cursor *c, size_t at, size_t len, const char *w);
int kms_rules_expect_end(struct cursor *c);
int kms_rules_size_word(struct cursor *c, size_t at, size_t len, uint64_t *out, const char *what);
/* rules.c: where a rule goes, and the text its patterns point into. */
struct kms_rule *kms_rules_rule_slot(struct cursor *c, size_t kw_at);
char *kms_rules_source_text(struct cursor *c);
/* rules_grammar.c: one line (or KMEM_RULES clause), c->start..c->end; ctrl: its first
 * control byte other than tab and CR, or SIZE_MAX. */
void kms_rules_parse_line(struct cursor *c, size_t ctrl);

#endif
