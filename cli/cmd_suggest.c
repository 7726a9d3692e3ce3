/* kmemshim suggest: a rules file from a KMEM_PROFILE profile. The callsites
 * with the most live bytes at their peak go to kmem, largest first, until
 * what stays in DRAM fits the budget. What stays is counted as the sum of the
 * remaining callsites' peaks: an upper bound (peaks of different callsites
 * need not coincide), so the budget holds whenever the program behaves as it
 * did when profiled. */
#include "cli/commands.h"
#include "policy/rules.h"
#include "core/size.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct psite {
    uint64_t peak, count, bytes;
    char *callsite, *symbol, *source, *routes;
};

static void usage(FILE *out)
{
    fprintf(out,
            "usage: kmemshim suggest [--dram-budget SIZE] [--target TARGET] [-o FILE] PROFILE\n"
            "\n"
            "Reads a profile written by KMEM_PROFILE=PATH (or kmemshim run --profile) and\n"
            "writes a rules file (for KMEMRC or kmemshim run --rules) that sends the\n"
            "callsites with the most live bytes at their peak to TARGET, largest first,\n"
            "until the peaks of the callsites left in DRAM add up to at most SIZE.\n"
            "Every other request stays in DRAM (default dram). Each rule has a comment\n"
            "with its callsite's peak, its share, its symbol and source line.\n"
            "\n"
            "  --dram-budget SIZE  DRAM the program may keep at peak (bytes, K, M, G, T);\n"
            "                      default 0: every callsite with live bytes goes to TARGET\n"
            "  --target TARGET     kmem (default), dax_kmem, kmem_all or preferred\n"
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

/* "route TARGET caller MODULE+0xOFF" (exact, what the profile printed), or by
 * function when the module's name does not fit the pattern syntax. */
static int make_rule(const struct psite *s, const char *target, char *out, size_t len)
{
    snprintf(out, len, "route %s caller %s", target, s->callsite);
    if (parses(out)) return 0;
    const char *plus = strrchr(s->callsite, '+');
    if (plus && strcmp(s->symbol, "-") != 0) {
        char fn[512];
        snprintf(fn, sizeof(fn), "%s", s->symbol);
        char *off = strstr(fn, "+0x");
        if (off) *off = '\0';
        snprintf(out, len, "route %s caller %.*s:%s", target, (int)(plus - s->callsite),
                 s->callsite, fn);
        if (parses(out)) return 0;
    }
    return -1;
}

int kms_cmd_suggest(int argc, char **argv)
{
    const char *profile = NULL, *outpath = NULL, *target = "kmem";
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
        } else if (!profile) {
            profile = a;
            continue;
        } else {
            fprintf(stderr, "kmemshim suggest: one PROFILE at most, found '%s' after '%s'\n", a,
                    profile);
            return 2;
        }
        const char *why;
        if (kms_parse_size(v, strlen(v), &budget, &why) < 0) {
            fprintf(stderr, "kmemshim suggest: --dram-budget '%s': %s\n", v, why);
            return 2;
        }
    }
    if (!profile) {
        fprintf(stderr, "kmemshim suggest: expected a PROFILE\n");
        usage(stderr);
        return 2;
    }
    char probe[128];
    snprintf(probe, sizeof(probe), "route %s", target);
    if (!parses(probe)) {
        fprintf(stderr,
                "kmemshim suggest: --target '%s': expected dram, kmem, dax_kmem, "
                "kmem_all or preferred\n",
                target);
        return 2;
    }

    FILE *in = fopen(profile, "r");
    if (!in) {
        fprintf(stderr, "kmemshim suggest: %s: %s\n", profile, strerror(errno));
        return 1;
    }
    char line[8192], header[512] = "";
    size_t n = 0, cap = 0, lineno = 0;
    struct psite *ps = NULL;
    int status = 0;
    uint64_t all = 0;
    while (fgets(line, sizeof(line), in)) {
        lineno++;
        line[strcspn(line, "\n")] = '\0';
        if (lineno == 1 && strcmp(line, "# kmemshim profile 1") != 0) {
            fprintf(stderr, "%s:1: not a kmemshim profile (expected '# kmemshim profile 1')\n",
                    profile);
            status = 1;
            break;
        }
        if (strncmp(line, "# pid ", 6) == 0) snprintf(header, sizeof(header), "%.500s", line + 2);
        if (line[0] == '#' || line[0] == '\0') continue;
        char *f[9], *save = NULL;
        int k = 0;
        for (char *t = strtok_r(line, "\t", &save); t && k < 9; t = strtok_r(NULL, "\t", &save))
            f[k++] = t;
        if (k < 8) {
            fprintf(stderr, "%s:%zu: expected 9 tab-separated fields, found %d\n", profile, lineno,
                    k);
            status = 1;
            break;
        }
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            struct psite *np = realloc(ps, cap * sizeof(*ps));
            if (!np) {
                status = 1;
                break;
            }
            ps = np;
        }
        struct psite *s = &ps[n++];
        s->peak = strtoull(f[0], NULL, 10);
        s->count = strtoull(f[1], NULL, 10);
        s->bytes = strtoull(f[2], NULL, 10);
        s->routes = dup_field(f[4]);
        s->callsite = dup_field(f[5]);
        s->symbol = dup_field(f[6]);
        s->source = dup_field(f[7]);
        all += s->peak;
    }
    fclose(in);
    if (status) {
        for (size_t i = 0; i < n; i++)
            free(ps[i].routes), free(ps[i].callsite), free(ps[i].symbol), free(ps[i].source);
        free(ps);
        return status;
    }
    qsort(ps, n, sizeof(*ps), cmp_peak);

    FILE *out = stdout;
    if (outpath && !(out = fopen(outpath, "w"))) {
        fprintf(stderr, "kmemshim suggest: %s: %s\n", outpath, strerror(errno));
        return 1;
    }
    char h1[32], h2[32], h3[32], rule[1200];
    fprintf(out, "# kmemshim rules suggested from %s%s%s%s\n", profile, header[0] ? " (" : "",
            header, header[0] ? ")" : "");
    fprintf(out, "# DRAM budget %s; the callsites' peaks add up to %s.\n",
            kms_size_human(budget, h1, sizeof(h1)), kms_size_human(all, h2, sizeof(h2)));
    fprintf(out,
            "# Callsites go to %s, largest peak first, until the peaks of those left\n"
            "# in DRAM add up to at most the budget.\n",
            target);
    fprintf(out, "default dram\n");
    uint64_t left = all;
    int rules = 0;
    for (size_t i = 0; i < n && left > budget; i++) {
        const struct psite *s = &ps[i];
        if (s->peak == 0) break;
        if (strcmp(s->callsite, "-") == 0 || make_rule(s, target, rule, sizeof(rule)) < 0) {
            fprintf(out, "\n# cannot route %s (%s at peak): %s\n", s->callsite,
                    kms_size_human(s->peak, h1, sizeof(h1)),
                    strcmp(s->callsite, "-") == 0
                        ? "callsites beyond the profile's table, counted together"
                        : "no caller pattern names it");
            continue;
        }
        left -= s->peak;
        rules++;
        fprintf(out,
                "\n# %d: %s live at peak (%.1f%% of all peaks), %" PRIu64
                " allocations, %s requested; routes seen: %s\n",
                rules, kms_size_human(s->peak, h1, sizeof(h1)),
                all ? 100.0 * (double)s->peak / (double)all : 0.0, s->count,
                kms_size_human(s->bytes, h2, sizeof(h2)), s->routes);
        fprintf(out, "#    %s%s%s; DRAM left at peak: %s\n",
                strcmp(s->symbol, "-") ? s->symbol : s->callsite,
                strcmp(s->source, "-") ? " at " : "", strcmp(s->source, "-") ? s->source : "",
                kms_size_human(left, h3, sizeof(h3)));
        fprintf(out, "%s\n", rule);
    }
    if (left > budget)
        fprintf(out, "\n# the budget cannot be met: %s stays in DRAM\n",
                kms_size_human(left, h1, 32));
    else if (rules == 0)
        fprintf(out, "\n# everything fits the budget: no rule needed\n");
    if (outpath && fclose(out) != 0) {
        fprintf(stderr, "kmemshim suggest: %s: %s\n", outpath, strerror(errno));
        status = 1;
    }
    for (size_t i = 0; i < n; i++)
        free(ps[i].routes), free(ps[i].callsite), free(ps[i].symbol), free(ps[i].source);
    free(ps);
    return status;
}
