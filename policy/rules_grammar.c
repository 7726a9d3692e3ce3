/* SPDX-License-Identifier: MIT */
/* The grammar of the rules: one line of a rules file or one clause of
 * KMEM_RULES, its keywords, clauses and settings, and what each error says. */
#include "policy/rules_cursor.h"

#include "policy/settings.h"

#include "core/meta.h"
#include "core/nodeset.h"
#include "core/size.h"
#include "core/target.h"

#include <stdio.h>
#include <string.h>

/* The settings a file line can make: those it shares with the environment
 * (policy/settings.h), then its own. */
enum { SET_DEFAULT = KMS_SETTING_COUNT, SET_COUNT };

/* Node numbers above this cannot exist (the kernel's MAX_NUMNODES is at most 1024). */

static const char size_words[] = KMS_SIZE_WORDS;
static const char pattern_words[] = "a caller pattern MODULE:FUNCTION or MODULE+0xOFFSET";
static const char keyword_words[] = "a keyword (policy, nodes, threshold, stats, default or route)";

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
        if (kms_rules_size_word(c, c->pos, n, &v, what) < 0) return -1;
        if (less && !eq && v == 0) {
            kms_rules_error_at(
                c, c->pos, "expected a size above 0 after '<', found %s: no request is that small",
                kms_rules_found(c, c->pos, n, f, sizeof(f)));
            return -1;
        }
        if (!less && !eq && v == UINT64_MAX) {
            kms_rules_error_at(
                c, c->pos,
                "expected a size below 2^64-1 after '>', found %s: no request is that large",
                kms_rules_found(c, c->pos, n, f, sizeof(f)));
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
        kms_rules_error_at(
            c, at,
            "expected a comparison (<, <=, >, >=) or a range LOW..HIGH after 'size', found %s",
            kms_rules_found_word(c, at, f, sizeof(f)));
        return -1;
    }
    if (kms_rules_size_word(c, at, n, &lo, KMS_SIZE_WORDS " before '..'") < 0) return -1;
    c->pos = after + 2;
    skip_ws(c);
    size_t hat = c->pos, hn = word_len(c, hat);
    if (kms_rules_size_word(c, hat, hn, &hi, KMS_SIZE_WORDS " after '..'") < 0) return -1;
    if (lo > hi) {
        kms_rules_error_at(c, at, "expected LOW <= HIGH in the range LOW..HIGH, found '%.*s..%.*s'",
                           (int)n, b + at, (int)hn, b + hat);
        return -1;
    }
    c->pos = hat + hn;
    r->size_lo = lo;
    r->size_hi = hi;
    r->has_size = 1;
    return 0;
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
        kms_rules_error_at(c, at, "expected %s, found %s", pattern_words,
                           kms_rules_found(c, at, 0, f, sizeof(f)));
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
        kms_rules_error_at(c, at, "expected %s, found %s: %s", pattern_words,
                           kms_rules_found(c, at, n, f, sizeof(f)), why);
        return -1;
    }
    char *text = kms_rules_source_text(c);
    if (!text) {
        kms_rules_error_at(c, at, "expected memory for the pattern, found none (out of memory)");
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
        kms_rules_error_at(c, at, "expected a frame count from 1 to %d after 'depth', found %s",
                           KMS_RULES_MAX_DEPTH, kms_rules_found(c, at, n, f, sizeof(f)));
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

static int parse_route(struct cursor *c, size_t kw_at)
{
    char f[64];
    struct kms_ruleset *rs = c->rs;
    struct kms_rule *r = kms_rules_rule_slot(c, kw_at);
    if (!r) {
        kms_rules_error_at(c, kw_at, "expected memory for the rule, found none (out of memory)");
        return -1;
    }
    memset(r, 0, sizeof(*r));
    r->size_hi = UINT64_MAX;
    skip_ws(c);
    size_t at = c->pos, n = word_len(c, at);
    int target = n ? kms_target_parse(c->buf + at, n) : KMS_TARGET_INVALID;
    r->target = (int8_t)target;
    if (target == KMS_TARGET_INVALID) {
        kms_rules_error_at(c, at, "expected a target (" KMS_TARGET_WORDS "), found %s",
                           kms_rules_found(c, at, n, f, sizeof(f)));
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
            if (kms_rules_word_is(c, at, n, "depth") && !r->has_caller)
                note = " ('depth' follows 'caller PATTERN')";
            else if (kms_rules_word_is(c, at, n, "size") || kms_rules_word_is(c, at, n, "caller") ||
                     kms_rules_word_is(c, at, n, "depth"))
                note = " (each clause at most once)";
            else if (ieq(c, at, n, "size") || ieq(c, at, n, "caller") || ieq(c, at, n, "depth"))
                note = " (keywords are lower case)";
            kms_rules_error_at(c, at, "expected %send of %s, found %s%s", list,
                               c->env ? "rule" : "line", kms_rules_found_word(c, at, f, sizeof(f)),
                               note);
            return -1;
        }
    }
    r->line = c->env ? (uint32_t)kms_rules_column(c, kw_at) : c->line;
    r->source = (uint16_t)c->source;
    rs->count++;
    c->source_rules++;
    return 0;
}

static const char *set_name(int which)
{
    return which == SET_DEFAULT ? "default" : kms_settings[which].word;
}

/* The value of a setting, c->buf[at..at+n), ends its line and is kept in *dst. */
static int keep_value(struct cursor *c, size_t at, size_t n, char **dst, const char *what)
{
    c->pos += n;
    if (kms_rules_expect_end(c) < 0) return -1;
    char *d = kms_meta_strndup(c->buf + at, n);
    if (!d) {
        c->rs->oom = 1;
        kms_rules_error_at(c, at, "expected memory for %s, found none (out of memory)", what);
        return -1;
    }
    kms_meta_free(*dst);
    *dst = d;
    return 0;
}

/* A setting's value that names a target (or a policy, by parse): the word at
 * c->buf[at..at+n), which ends its line. */
static int target_value(struct cursor *c, size_t at, size_t n, int (*parse)(const char *, size_t),
                        const char *what, int *out)
{
    char f[64];
    int t = n ? parse(c->buf + at, n) : KMS_TARGET_INVALID;
    if (t == KMS_TARGET_INVALID) {
        kms_rules_error_at(c, at, "expected %s, found %s", what,
                           kms_rules_found(c, at, n, f, sizeof(f)));
        return -1;
    }
    c->pos += n;
    if (kms_rules_expect_end(c) < 0) return -1;
    *out = t;
    return 0;
}

static int parse_setting(struct cursor *c, int which, size_t kw_at)
{
    struct kms_ruleset *rs = c->rs;
    char f[64];
    if (c->env) {
        if (which != SET_DEFAULT)
            kms_rules_error_at(c, kw_at,
                               "expected 'route', found '%s' (KMEM_RULES holds routes; use %s)",
                               set_name(which), kms_settings[which].var);
        else
            kms_rules_error_at(
                c, kw_at,
                "expected 'route', found '%s' (KMEM_RULES holds routes; put it in the rules file)",
                set_name(which));
        return -1;
    }
    if (rs->line_of_[which]) {
        kms_rules_error_at(c, kw_at,
                           "expected one '%s' line, found a second one (the first is at line %u)",
                           set_name(which), rs->line_of_[which]);
        return -1;
    }
    skip_ws(c);
    size_t at = c->pos, n = word_len(c, at);
    if (which == SET_DEFAULT) {
        int t;
        if (target_value(c, at, n, kms_target_parse, "a target (" KMS_TARGET_WORDS ")", &t) < 0)
            return -1;
        rs->default_target = t;
        rs->line_of_[which] = c->line;
        return 0;
    }
    /* A shared setting: the environment's parser, this file's position. */
    struct kms_setting_value sv;
    char why[96];
    size_t bad = 0;
    if (kms_setting_parse(which, c->buf + at, n, &sv, why, sizeof(why), &bad) < 0) {
        kms_rules_error_at(c, n ? at + bad : at, "expected %s, found %s%s%s",
                           kms_settings[which].expected, kms_rules_found(c, at, n, f, sizeof(f)),
                           n && why[0] ? ": " : "", n ? why : "");
        return -1;
    }
    switch (which) {
    case KMS_SETTING_POLICY:
        c->pos += n;
        if (kms_rules_expect_end(c) < 0) return -1;
        rs->policy = sv.policy;
        break;
    case KMS_SETTING_NODES:
        if (keep_value(c, at, n, &rs->nodes, "the node list") < 0) return -1;
        rs->node_set = sv.nodes;
        kms_rules_format_origin(rs->nodes_origin, c->origin, c->line, kms_rules_column(c, at), 1,
                                0);
        break;
    case KMS_SETTING_THRESHOLD:
        c->pos += n;
        if (kms_rules_expect_end(c) < 0) return -1;
        rs->threshold = sv.size;
        rs->threshold_set = 1;
        break;
    case KMS_SETTING_STATS:
        if (keep_value(c, at, n, &rs->stats, "the stats path") < 0) return -1;
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
void kms_rules_parse_line(struct cursor *c, size_t ctrl)
{
    char f[64];
    const char *b = c->buf;
    /* Control bytes mean a binary or corrupted file: one error, skip the line. */
    if (ctrl != SIZE_MAX) {
        unsigned char ch = (unsigned char)b[ctrl];
        if (ch == 0)
            kms_rules_error_at(c, ctrl, "expected text, found a NUL byte");
        else
            kms_rules_error_at(c, ctrl, "expected text, found the control byte 0x%02x", ch);
        return;
    }
    if (c->end - c->start > KMS_RULES_MAX_LINE) {
        kms_rules_error_at(c, c->start + KMS_RULES_MAX_LINE,
                           "expected a %s of at most %d bytes, found %zu bytes",
                           c->env ? "rule" : "line", KMS_RULES_MAX_LINE, c->end - c->start);
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
        for (int k = 0; k < SET_COUNT; k++)
            if (kms_rules_word_is(c, at, n, set_name(k))) which = k;
    }
    /* A keyword is followed by white space, a comment or the end. */
    if ((which >= 0 || route) && at + n < c->end &&
        !(cclass[(unsigned char)b[at + n]] & (C_WS | C_HASH))) {
        kms_rules_error_at(c, at + n, "expected a space after '%.*s', found '%c'", (int)n, b + at,
                           b[at + n]);
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
            kms_rules_error_at(c, at, "expected 'route', found %s%s",
                               kms_rules_found(c, at, w, f, sizeof(f)),
                               is_keyword_upper(c, at, w) ? " (keywords are lower case)" : "");
        else
            kms_rules_error_at(c, at, "expected %s, found %s%s", keyword_words,
                               kms_rules_found(c, at, w, f, sizeof(f)),
                               is_keyword_upper(c, at, w) ? " (keywords are lower case)" : "");
    }
}
