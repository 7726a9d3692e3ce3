/* SPDX-License-Identifier: MIT */
/* kmemshim suggest: a rules file from a KMEM_PROFILE profile.
 *
 * By bytes, the callsites with the most live bytes at their peak go to the
 * target, largest first, until what stays in DRAM fits the budget. By access
 * (the default when the profile has access figures), the callsites whose
 * memory is touched most per byte stay in DRAM, densest first, as long as they
 * fit the budget, and the rest go to the target. Either way what stays is
 * counted as the sum of the remaining callsites' peaks: an upper bound (peaks
 * of different callsites need not coincide), so the budget holds whenever the
 * program behaves as it did when profiled. */
#include "cli/commands.h"
#include "policy/rules.h"
#include "core/access.h"
#include "core/profile_format.h"
#include "core/size.h"
#include "core/target.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct psite {
    uint64_t peak, count, bytes;
    char *callsite, *symbol, *source, *routes;
    /* A wrapper's caller, for the row of one of its contexts; "-" for a callsite's row. */
    char *parent, *parent_symbol;
    bool tracked;                 /* has access figures */
    uint64_t resident;            /* resident bytes at the busiest sample */
    double rate;                  /* bytes touched per interval, averaged */
    double touches;               /* pages touched, summed over the intervals */
    double density;               /* rate / resident: the share touched per interval */
    bool dram_bytes, dram_access; /* where each ranking puts it */
};

static void usage(FILE *out)
{
    fprintf(out,
            "usage: kmemshim suggest [--dram-budget SIZE] [--by bytes|access] [--target TARGET]\n"
            "                        [-o FILE] PROFILE\n"
            "\n"
            "Reads a profile written by KMEM_PROFILE=PATH (or kmemshim run --profile) and\n"
            "writes a rules file (for KMEMRC or kmemshim run --rules) that sends the\n"
            "callsites with the most live bytes at their peak to TARGET, largest first,\n"
            "until the peaks of the callsites left in DRAM add up to at most SIZE.\n"
            "Every other request stays in DRAM (default dram). Each rule has a comment\n"
            "with its callsite's peak, its share, its symbol and source line.\n"
            "\n"
            "A profile written with access sampling (kmemshim run --access) is planned\n"
            "by access instead: the callsites whose memory is touched most per byte stay\n"
            "in DRAM, densest first, while they fit SIZE; the others go to TARGET. A table\n"
            "in the output compares the share of sampled accesses each ranking keeps in DRAM.\n"
            "\n"
            "  --dram-budget SIZE  DRAM the program may keep at peak (bytes, K, M, G, T);\n"
            "                      default 0: every callsite with live bytes goes to TARGET\n"
            "  --by bytes|access   the ranking; default access when the profile has\n"
            "                      access figures, else bytes\n"
            "  --target TARGET     where the callsites that leave DRAM go: kmem (default),\n"
            "                      dax_kmem, kmem_all, preferred, interleave or\n"
            "                      weighted_interleave\n"
            "  -o FILE             write the rules to FILE instead of standard output\n"
            "  -h, --help          this text\n");
}

static char *dup_field(const char *s) { return strdup(s ? s : "-"); }

static int cmp_peak(const void *a, const void *b)
{
    const struct psite *x = a, *y = b;
    if (x->peak != y->peak) return x->peak < y->peak ? 1 : -1;
    return x->bytes < y->bytes ? 1 : x->bytes > y->bytes ? -1 : 0;
}

/* Whether the rules parser takes `rule` (the suggestion must pass kmemshim check). */
static int parses(const char *rule)
{
    struct kms_ruleset rs;
    kms_ruleset_init(&rs);
    size_t errors = kms_rules_parse(&rs, rule, strlen(rule), "suggest", KMS_RULES_FILE);
    kms_ruleset_free(&rs);
    return errors == 0;
}

static bool is_context(const struct psite *s) { return strcmp(s->parent, "-") != 0; }

/* "route TARGET caller MODULE+0xOFF" (exact, what the profile printed), or by
 * function when the module's name does not fit the pattern syntax. A
 * wrapper's context is named by the wrapper's caller, the second frame
 * (depth 2), for the requests access mode grouped by it (KMS_ACCESS_WRAP_MIN
 * bytes and more): smaller ones walk no stack, as when profiled. */
static int make_rule(const struct psite *s, const char *target, char *out, size_t len)
{
    bool ctx = is_context(s);
    const char *where = ctx ? s->parent : s->callsite, *sym = ctx ? s->parent_symbol : s->symbol;
    const char *pre = ctx ? "size >= 1K " : "", *post = ctx ? " depth 2" : "";
    _Static_assert(KMS_ACCESS_WRAP_MIN == 1024, "the rule's size is access mode's bound");
    snprintf(out, len, "route %s %scaller %s%s", target, pre, where, post);
    if (parses(out)) return 0;
    const char *plus = strrchr(where, '+');
    if (plus && strcmp(sym, "-") != 0) {
        char fn[512];
        snprintf(fn, sizeof(fn), "%s", sym);
        char *off = strstr(fn, "+0x");
        if (off) *off = '\0';
        snprintf(out, len, "route %s %scaller %.*s:%s%s", target, pre, (int)(plus - where), where,
                 fn, post);
        if (parses(out)) return 0;
    }
    return -1;
}

/* The name a table or comment shows: the function, or the callsite; a
 * context as tiering names its group, callsite<caller. */
static void display_name(const struct psite *s, char *out, size_t len)
{
    bool sym = strcmp(s->symbol, "-") != 0 && (!is_context(s) || strcmp(s->parent_symbol, "-"));
    const char *a = sym ? s->symbol : s->callsite, *b = sym ? s->parent_symbol : s->parent;
    snprintf(out, len, "%s%s%s", a, is_context(s) ? "<" : "", is_context(s) ? b : "");
}

struct profile {
    struct psite *ps;
    size_t n;
    uint64_t all;     /* sum of the peaks */
    bool access;      /* a "# access" line: written with access sampling */
    bool blind;       /* ... whose accessed bits could not be cleared: no figures */
    char header[512]; /* "pid N program P" */
    char blind_why[512];
    char access_facts[512];
};

static void profile_free(struct profile *p)
{
    for (size_t i = 0; i < p->n; i++)
        free(p->ps[i].routes), free(p->ps[i].callsite), free(p->ps[i].symbol),
            free(p->ps[i].source), free(p->ps[i].parent), free(p->ps[i].parent_symbol);
    free(p->ps);
}

/* A column of access figures: a number, or "-" for an untracked callsite. */
static bool figure(const char *f, double *out)
{
    if (strcmp(f, "-") == 0 || strcmp(f, "n/a") == 0) return false;
    *out = strtod(f, NULL);
    return true;
}

/* Reads the profile; errors name the file and line. Returns 0, or 1. */
static int read_profile(const char *path, struct profile *p)
{
    memset(p, 0, sizeof(*p));
    FILE *in = fopen(path, "r");
    if (!in) {
        fprintf(stderr, "kmemshim suggest: %s: %s\n", path, strerror(errno));
        return 1;
    }
    char line[8192];
    size_t cap = 0, lineno = 0;
    int status = 0;
    bool columns = false; /* the column line, the header's last, has been read */
    struct kms_profile_columns cols;
    while (fgets(line, sizeof(line), in)) {
        lineno++;
        line[strcspn(line, "\n")] = '\0';
        if (lineno == 1 && strcmp(line, KMS_PROFILE_MAGIC) != 0) {
            fprintf(stderr, "%s:1: not a kmemshim profile (expected '" KMS_PROFILE_MAGIC "')\n",
                    path);
            status = 1;
            break;
        }
        if (kms_profile_is_column_line(line)) {
            const char *why;
            if (kms_profile_columns_parse(line, p->access, &cols, &why) < 0) {
                fprintf(stderr, "%s:%zu: %s\n", path, lineno, why);
                status = 1;
                break;
            }
            columns = true;
        }
        if (strncmp(line, "# pid ", 6) == 0)
            snprintf(p->header, sizeof(p->header), "%.500s", line + 2);
        if (strncmp(line, "# access none: ", 15) == 0) {
            p->blind = true;
            snprintf(p->blind_why, sizeof(p->blind_why), "%.500s", line + 15);
        } else if (strncmp(line, "# access ", 9) == 0) {
            p->access = true;
            snprintf(p->access_facts, sizeof(p->access_facts), "%.500s", line + 9);
        }
        if (line[0] == '#' || line[0] == '\0') continue;
        if (!columns) {
            fprintf(stderr,
                    "%s:%zu: a callsite before the column line ('# peak_live<TAB>count...'): "
                    "not a complete kmemshim profile\n",
                    path, lineno);
            status = 1;
            break;
        }
        const char *f[KMS_PCOL_N];
        int k = kms_profile_row_split(line, &cols, f);
        if (k < cols.n) {
            fprintf(stderr,
                    "%s:%zu: expected %d tab-separated fields (as the column line), found %d\n",
                    path, lineno, cols.n, k);
            status = 1;
            break;
        }
        if (p->n == cap) {
            cap = cap ? cap * 2 : 64;
            struct psite *np = realloc(p->ps, cap * sizeof(*np));
            if (!np) {
                status = 1;
                break;
            }
            p->ps = np;
        }
        struct psite *s = &p->ps[p->n++];
        memset(s, 0, sizeof(*s));
        s->peak = strtoull(f[KMS_PCOL_PEAK], NULL, 10);
        s->count = strtoull(f[KMS_PCOL_COUNT], NULL, 10);
        s->bytes = strtoull(f[KMS_PCOL_BYTES], NULL, 10);
        s->routes = dup_field(f[KMS_PCOL_ROUTES]);
        s->callsite = dup_field(f[KMS_PCOL_CALLSITE]);
        s->symbol = dup_field(f[KMS_PCOL_SYMBOL]);
        s->source = dup_field(f[KMS_PCOL_SOURCE]);
        s->parent = dup_field(f[KMS_PCOL_PARENT]);
        s->parent_symbol = dup_field(f[KMS_PCOL_PARENT_SYMBOL]);
        double res;
        if (p->access && figure(f[KMS_PCOL_RESIDENT_PEAK], &res) &&
            figure(f[KMS_PCOL_TOUCHED_AVG], &s->rate) && figure(f[KMS_PCOL_TOUCHES], &s->touches)) {
            s->tracked = true;
            s->resident = (uint64_t)res;
            s->density = res > 0 ? s->rate / res : 0;
        }
        p->all += s->peak;
    }
    /* A directory opens but cannot be read; an empty file or one cut inside its
     * header would otherwise read as a profile without callsites, whose plan
     * is "default dram" for a program never profiled. */
    if (!status && ferror(in)) {
        fprintf(stderr, "kmemshim suggest: %s: %s: not a kmemshim profile\n", path,
                strerror(errno));
        status = 1;
    } else if (!status && lineno == 0) {
        fprintf(stderr,
                "%s: empty file: not a kmemshim profile (expected '# kmemshim profile 1')\n", path);
        status = 1;
    } else if (!status && !columns) {
        fprintf(stderr,
                "%s:%zu: the profile ends inside its header (no column line '# "
                "peak_live<TAB>count...'): not a complete kmemshim profile\n",
                path, lineno);
        status = 1;
    }
    fclose(in);
    if (status) profile_free(p);
    return status;
}

/* Callsites that can be given a rule: a name the rules can say, some bytes. */
static bool plannable(const struct psite *s) { return s->peak && strcmp(s->callsite, "-") != 0; }

/* By bytes: the largest peaks leave DRAM until the rest fits the budget. */
static void plan_bytes(struct psite *ps, size_t n, uint64_t all, uint64_t budget)
{
    if (n) qsort(ps, n, sizeof(*ps), cmp_peak); /* qsort(NULL, 0) is undefined */
    uint64_t left = all;
    for (size_t i = 0; i < n; i++) {
        ps[i].dram_bytes = true;
        if (left > budget && plannable(&ps[i])) {
            ps[i].dram_bytes = false;
            left -= ps[i].peak;
        }
    }
}

/* Densest first; callsites without figures after those with, smallest first. */
static int cmp_density(const void *a, const void *b)
{
    const struct psite *x = a, *y = b;
    if (x->tracked != y->tracked) return x->tracked ? -1 : 1;
    if (x->tracked && x->density != y->density) return x->density < y->density ? 1 : -1;
    if (x->peak != y->peak) return x->peak < y->peak ? -1 : 1;
    return strcmp(x->callsite, y->callsite);
}

/* By access: the densest stay in DRAM while they fit the budget. What cannot
 * be named by a rule stays in DRAM in any case, and counts against it. */
static void plan_access(struct psite *ps, size_t n, uint64_t budget)
{
    if (n) qsort(ps, n, sizeof(*ps), cmp_density);
    uint64_t used = 0;
    for (size_t i = 0; i < n; i++)
        if (!plannable(&ps[i])) used += ps[i].peak;
    for (size_t i = 0; i < n; i++) {
        struct psite *s = &ps[i];
        s->dram_access = true;
        if (!plannable(s)) continue;
        if (used + s->peak <= budget)
            used += s->peak;
        else
            s->dram_access = false;
    }
}

static double pct(double part, double whole) { return whole > 0 ? 100.0 * part / whole : 0.0; }

static void print_table(FILE *out, const struct profile *p, const char *target, bool by_access)
{
    char h1[32], h2[32];
    double all = 0, kept_access = 0, kept_bytes = 0;
    fprintf(out, "#\n# %-44s %10s %12s %8s  %s\n", "callsite", "peak", "access rate", "density",
            "route");
    for (size_t i = 0; i < p->n; i++) {
        const struct psite *s = &p->ps[i];
        if (!s->peak) continue;
        bool dram = by_access ? s->dram_access : s->dram_bytes;
        char rate[32] = "-", density[32] = "-";
        if (s->tracked) {
            snprintf(rate, sizeof(rate), "%s", kms_size_human((uint64_t)s->rate, h2, sizeof(h2)));
            snprintf(density, sizeof(density), "%.4f", s->density);
            all += s->touches;
            if (s->dram_access) kept_access += s->touches;
            if (s->dram_bytes) kept_bytes += s->touches;
        }
        /* The function is the readable name; the rules below carry the exact callsite. */
        char name[1100];
        display_name(s, name, sizeof(name));
        fprintf(out, "# %-44.44s %10s %12s %8s  %s\n", name,
                kms_size_human(s->peak, h1, sizeof(h1)), rate, density, dram ? "dram" : target);
    }
    fprintf(out,
            "#   access rate: bytes touched per sampling interval, averaged; density: the rate\n"
            "#   over the resident bytes (the share touched per interval); - : not tracked\n");
    if (p->access && !p->blind)
        fprintf(out,
                "# sampled accesses kept in DRAM: %.1f%% by access, %.1f%% by bytes (of the "
                "tracked callsites' touches)\n",
                pct(kept_access, all), pct(kept_bytes, all));
}

/* Whether the wrapper whose context s is leaves DRAM by a rule of its own,
 * which would take the context's requests too unless a rule before it keeps
 * them. */
static bool wrapper_leaves(const struct profile *p, const struct psite *s, bool by_access)
{
    for (size_t i = 0; i < p->n; i++) {
        const struct psite *w = &p->ps[i];
        if (!is_context(w) && strcmp(w->callsite, s->callsite) == 0)
            return !(by_access ? w->dram_access : w->dram_bytes) && plannable(w);
    }
    return false;
}

static void write_rules(FILE *out, const struct profile *p, const char *target, bool by_access,
                        uint64_t budget)
{
    char h1[32], h2[32], h3[32], rule[1200], name[1100];
    uint64_t left = 0;
    for (size_t i = 0; i < p->n; i++)
        if (by_access ? p->ps[i].dram_access : p->ps[i].dram_bytes) left += p->ps[i].peak;
    int rules = 0;
    uint64_t moved = 0;
    /* First the wrappers' contexts, whose rules name the second frame: they
     * must come before a rule for the wrapper's own callsite, which names the
     * first frame of the same requests. */
    for (int contexts = 1; contexts >= 0; contexts--)
        for (size_t i = 0; i < p->n; i++) {
            const struct psite *s = &p->ps[i];
            if (is_context(s) != contexts) continue;
            bool dram = by_access ? s->dram_access : s->dram_bytes;
            if (dram && !(contexts && plannable(s) && wrapper_leaves(p, s, by_access))) continue;
            display_name(s, name, sizeof(name));
            if (make_rule(s, dram ? "dram" : target, rule, sizeof(rule)) < 0) {
                fprintf(out, "\n# cannot route %s (%s at peak): no caller pattern names it\n", name,
                        kms_size_human(s->peak, h1, sizeof(h1)));
                if (!dram) left += s->peak;
                continue;
            }
            rules++;
            if (!dram) moved += s->peak;
            fprintf(out,
                    "\n# %d: %s live at peak (%.1f%% of all peaks), %" PRIu64
                    " allocations, %s requested; routes seen: %s\n",
                    rules, kms_size_human(s->peak, h1, sizeof(h1)),
                    pct((double)s->peak, (double)p->all), s->count,
                    kms_size_human(s->bytes, h2, sizeof(h2)), s->routes);
            if (s->tracked)
                fprintf(out, "#    access rate %s per interval, density %.4f\n",
                        kms_size_human((uint64_t)s->rate, h3, sizeof(h3)), s->density);
            if (contexts)
                fprintf(out, "#    %s: what %s allocates through the wrapper %s%s\n",
                        dram ? "stays in DRAM" : "leaves DRAM",
                        strcmp(s->parent_symbol, "-") ? s->parent_symbol : s->parent,
                        strcmp(s->symbol, "-") ? s->symbol : s->callsite,
                        dram ? " (whose own rule follows)" : "");
            else
                fprintf(out, "#    %s%s%s\n", name, strcmp(s->source, "-") ? " at " : "",
                        strcmp(s->source, "-") ? s->source : "");
            fprintf(out, "%s\n", rule);
        }
    fprintf(out, "\n# DRAM left at peak: %s", kms_size_human(left, h1, sizeof(h1)));
    if (left > budget)
        fprintf(out, "; the budget cannot be met\n");
    else if (moved == 0)
        fprintf(out, "; everything fits the budget: no rule needed\n");
    else
        fprintf(out, "; %s goes to %s\n", kms_size_human(moved, h2, sizeof(h2)), target);
}

int kms_cmd_suggest(int argc, char **argv)
{
    const char *path = NULL, *outpath = NULL, *target = "kmem", *by = NULL;
    uint64_t budget = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = NULL;
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage(stdout);
            return 0;
        }
        if (strncmp(a, "--dram-budget=", 14) == 0) {
            v = a + 14;
        } else if (strcmp(a, "--dram-budget") == 0 && i + 1 < argc) {
            v = argv[++i];
        } else if (strcmp(a, "--by") == 0 && i + 1 < argc) {
            by = argv[++i];
            continue;
        } else if (strncmp(a, "--by=", 5) == 0) {
            by = a + 5;
            continue;
        } else if (strcmp(a, "--target") == 0 && i + 1 < argc) {
            target = argv[++i];
            continue;
        } else if (strncmp(a, "--target=", 9) == 0) {
            target = a + 9;
            continue;
        } else if (strcmp(a, "-o") == 0 && i + 1 < argc) {
            outpath = argv[++i];
            continue;
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "kmemshim suggest: unknown option or missing value '%s'\n", a);
            usage(stderr);
            return 2;
        } else if (!path) {
            path = a;
            continue;
        } else {
            fprintf(stderr, "kmemshim suggest: one PROFILE at most, found '%s' after '%s'\n", a,
                    path);
            return 2;
        }
        const char *why;
        if (kms_parse_size(v, strlen(v), &budget, &why) < 0) {
            fprintf(stderr, "kmemshim suggest: --dram-budget '%s': %s\n", v, why);
            return 2;
        }
    }
    if (!path) {
        fprintf(stderr, "kmemshim suggest: expected a PROFILE\n");
        usage(stderr);
        return 2;
    }
    if (by && strcmp(by, "bytes") != 0 && strcmp(by, "access") != 0) {
        fprintf(stderr, "kmemshim suggest: --by '%s': expected bytes or access\n", by);
        return 2;
    }
    /* Where the callsites that leave DRAM go: kmem or a target over the KMEM
     * nodes (what KMEM_POLICY accepts); dram or a DRAM-and-KMEM interleave
     * would make a plan that moves nothing off DRAM. */
    if (strcmp(target, "kmem") != 0 &&
        kms_policy_parse(target, strlen(target)) == KMS_TARGET_INVALID) {
        fprintf(stderr,
                "kmemshim suggest: --target '%s': expected kmem or a KMEM target: " KMS_POLICY_WORDS
                "\n",
                target);
        return 2;
    }

    struct profile p;
    if (read_profile(path, &p)) return 1;
    if (by && strcmp(by, "access") == 0 && !p.access) {
        fprintf(stderr,
                "kmemshim suggest: --by access: %s has no access figures (profile with "
                "kmemshim run --access)\n",
                path);
        profile_free(&p);
        return 2;
    }
    /* Sampled where the accessed bits could not be cleared: every page read as touched, so
     * the profile has no figures to rank by. */
    if (p.blind && by && strcmp(by, "access") == 0) {
        fprintf(stderr,
                "kmemshim suggest: --by access: %s has no access figures: %s; profile again "
                "where /proc/self/clear_refs is writable, or rank --by bytes\n",
                path, p.blind_why);
        profile_free(&p);
        return 1;
    }
    bool by_access = !p.blind && (by ? strcmp(by, "access") == 0 : p.access);
    const char *ranking =
        p.blind     ? "ranked by bytes: the profile has no access figures (its accessed bits "
                      "could not be cleared); the largest peaks leave DRAM first"
        : by_access ? "ranked by access density: the callsites touched most per byte stay in DRAM"
        : p.access  ? "ranked by bytes (--by bytes): the largest peaks leave DRAM first"
                    : "ranked by bytes: the profile has no access figures (profiled without "
                      "--access); the largest peaks leave DRAM first";
    fprintf(stderr, "kmemshim suggest: %s\n", ranking);
    if (p.blind) fprintf(stderr, "kmemshim suggest: %s: %s\n", path, p.blind_why);
    plan_bytes(p.ps, p.n, p.all, budget);
    if (p.access && !p.blind) plan_access(p.ps, p.n, budget);
    if (!by_access && p.n) qsort(p.ps, p.n, sizeof(*p.ps), cmp_peak);

    FILE *out = stdout;
    if (outpath && !(out = fopen(outpath, "w"))) {
        fprintf(stderr, "kmemshim suggest: %s: %s\n", outpath, strerror(errno));
        profile_free(&p);
        return 1;
    }
    char h1[32], h2[32];
    fprintf(out, "# kmemshim rules suggested from %s%s%s%s\n", path, p.header[0] ? " (" : "",
            p.header, p.header[0] ? ")" : "");
    if (p.access) fprintf(out, "# access sampling: %s\n", p.access_facts);
    fprintf(out, "# DRAM budget %s; the callsites' peaks add up to %s.\n",
            kms_size_human(budget, h1, sizeof(h1)), kms_size_human(p.all, h2, sizeof(h2)));
    fprintf(out, "# %s; the rest goes to %s.\n", ranking, target);
    print_table(out, &p, target, by_access);
    fprintf(out, "default dram\n");
    write_rules(out, &p, target, by_access, budget);
    int status = 0;
    if (outpath && fclose(out) != 0) {
        fprintf(stderr, "kmemshim suggest: %s: %s\n", outpath, strerror(errno));
        status = 1;
    }
    profile_free(&p);
    return status;
}
