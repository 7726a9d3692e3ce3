/* SPDX-License-Identifier: MIT */
/* The rules parser's frame: the rule set's storage, errors and origins, the
 * common line's one-pass path, and reading a rules file. The grammar of a
 * line is policy/rules_grammar.c. */
#include "policy/rules.h"

#include "policy/rules_cursor.h"

#include "core/fileread.h"
#include "core/meta.h"
#include "core/size.h"
#include "core/target.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

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

void kms_rules_add_error(struct kms_ruleset *rs, const char *msg)
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
void kms_rules_format_origin(char *out, const char *origin, unsigned line, size_t col, int with_col,
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

size_t kms_rules_column(const struct cursor *c, size_t at)
{
    return (c->env ? at : at - c->start) + 1;
}

void __attribute__((format(printf, 3, 4)))
kms_rules_error_at(struct cursor *c, size_t at, const char *fmt, ...)
{
    char where[KMS_ORIGIN_MAX], msg[640];
    va_list ap;
    kms_rules_format_origin(where, c->origin, c->line, kms_rules_column(c, at), 1, c->env);
    int n = snprintf(msg, sizeof(msg), "%s: ", where);
    va_start(ap, fmt);
    vsnprintf(msg + n, sizeof(msg) - (size_t)n, fmt, ap);
    va_end(ap);
    kms_rules_add_error(c->rs, msg);
    c->errors++;
}

/* The "found" part of a message: the word at `at` quoted, or the end. */
const char *kms_rules_found(const struct cursor *c, size_t at, size_t len, char *buf, size_t buflen)
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

const char *kms_rules_found_word(const struct cursor *c, size_t at, char *buf, size_t buflen)
{
    return kms_rules_found(c, at, word_len(c, at), buf, buflen);
}

int kms_rules_word_is(const struct cursor *c, size_t at, size_t len, const char *w)
{
    return strlen(w) == len && memcmp(c->buf + at, w, len) == 0;
}

/* After a complete clause, only white space, a comment or the end may follow. */
int kms_rules_expect_end(struct cursor *c)
{
    char f[64];
    skip_ws(c);
    if (at_end(c)) return 0;
    kms_rules_error_at(c, c->pos, "expected end of %s, found %s", c->env ? "rule" : "line",
                       kms_rules_found_word(c, c->pos, f, sizeof(f)));
    return -1;
}

int kms_rules_size_word(struct cursor *c, size_t at, size_t len, uint64_t *out, const char *what)
{
    const char *why;
    char f[64];
    if (len == 0) {
        kms_rules_error_at(c, at, "expected %s, found %s", what,
                           kms_rules_found_word(c, at, f, sizeof(f)));
        return -1;
    }
    if (kms_parse_size(c->buf + at, len, out, &why) < 0) {
        kms_rules_error_at(c, at, "expected %s, found %s: %s", what,
                           kms_rules_found(c, at, len, f, sizeof(f)), why);
        return -1;
    }
    return 0;
}

/* The source of this call's rules, registered at its first route. */
static int kms_rules_add_source(struct cursor *c)
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
char *kms_rules_source_text(struct cursor *c)
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
    kms_rules_format_origin(buf, src->name, r->line, r->line, 0, src->env);
    return buf;
}

/* The next free slot, where a rule is parsed in place: it only counts once
 * the rule is complete (rs->count++). NULL when out of memory. */
struct kms_rule *kms_rules_rule_slot(struct cursor *c, size_t kw_at)
{
    struct kms_ruleset *rs = c->rs;
    if (c->source < 0 && kms_rules_add_source(c) < 0) return NULL;
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
        r = kms_rules_rule_slot(c, i);
        text = r ? kms_rules_source_text(c) : NULL;
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
        kms_rules_parse_line(&c, ctrl);
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
    char *buf;
    size_t len;
    if (kms_read_whole(path, KMS_RULES_MAX_FILE, &buf, &len) < 0) {
        if (errno == ENOENT)
            snprintf(msg, sizeof(msg), "%s: expected a readable rules file, found no such file",
                     path);
        else if (errno == EISDIR)
            snprintf(msg, sizeof(msg), "%s: expected a readable rules file, found a directory",
                     path);
        else if (errno == EFBIG)
            snprintf(msg, sizeof(msg),
                     "%s: expected a rules file of at most %u bytes, found a larger one", path,
                     KMS_RULES_MAX_FILE);
        else if (errno == ENOMEM) {
            rs->oom = 1;
            snprintf(msg, sizeof(msg), "%s: expected memory to read the rules file, found none",
                     path);
        } else
            snprintf(msg, sizeof(msg),
                     "%s: expected a readable rules file, found it unreadable (%s)", path,
                     strerror(errno));
        kms_rules_add_error(rs, msg);
        return 1;
    }
    /* The rules' patterns may keep pointing into the buffer (parse). */
    size_t n = parse(rs, buf, len, path, KMS_RULES_FILE, &buf);
    kms_meta_free(buf); /* NULL when the rules adopted it */
    return n;
}
