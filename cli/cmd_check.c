/* SPDX-License-Identifier: MIT */
/* kmemshim check: validate a rules file (and/or a KMEM_RULES string) the way
 * the shim will read it at start-up, reporting every error at once. */
#include "cli/commands.h"
#include "core/elflibs.h"
#include "policy/rules.h"

#include <stdio.h>
#include <string.h>

static void usage(FILE *out)
{
    fprintf(out, "usage: kmemshim check [--list] [--rules 'RULES'] [FILE]\n"
                 "\n"
                 "Validates a kmemshim rules file (what KMEMRC names) and/or a KMEM_RULES\n"
                 "string, exactly as the shim reads them at start-up. Prints errors as\n"
                 "FILE:LINE:COLUMN (KMEM_RULES, column COLUMN), the first 10 and then how\n"
                 "many more, and exits 1, or prints a summary line and where the requests\n"
                 "no route matches go, and exits 0.\n"
                 "\n"
                 "  --rules 'RULES'  also check RULES as KMEM_RULES (';'-separated routes);\n"
                 "                   they are tried before the file's\n"
                 "  --list           print every route in order of precedence, with its origin\n"
                 "  -h, --help       this text\n");
}

/* The shim opens libelf only when a rule that names a function meets a module
 * it names, and without libelf such a rule can never match: checked here,
 * where the rules are validated before they run. 1 when some rule needs it
 * and it cannot be loaded. */
static int check_symbols(const struct kms_ruleset *rs)
{
    size_t need = 0;
    const struct kms_rule *first = NULL;
    for (size_t i = 0; i < rs->count; i++) {
        if (!kms_rule_needs_symbols(&rs->rules[i])) continue;
        if (!first) first = &rs->rules[i];
        need++;
    }
    if (!need || kms_libelf()) return 0;
    char origin[KMS_ORIGIN_MAX];
    fprintf(stderr, "%s: caller %s:%s needs the symbol tables: %s\n",
            kms_rule_origin(rs, first, origin), first->module_glob, first->func_glob,
            kms_elflibs_error());
    if (need > 1)
        fprintf(stderr, "... and %zu more rules that name functions, which cannot match either\n",
                need - 1);
    return 1;
}

int kms_cmd_check(int argc, char **argv)
{
    const char *file = NULL, *env = NULL;
    int list = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            usage(stdout);
            return 0;
        } else if (strcmp(argv[i], "--list") == 0) {
            list = 1;
        } else if (strcmp(argv[i], "--rules") == 0 && i + 1 < argc) {
            env = argv[++i];
        } else if (strncmp(argv[i], "--rules=", 8) == 0) {
            env = argv[i] + 8;
        } else if (argv[i][0] == '-' && argv[i][1] != '\0') {
            fprintf(stderr, "kmemshim check: unknown option '%s'\n", argv[i]);
            usage(stderr);
            return 2;
        } else if (!file) {
            file = argv[i];
        } else {
            fprintf(stderr, "kmemshim check: one FILE at most, found '%s' after '%s'\n", argv[i],
                    file);
            return 2;
        }
    }
    if (!file && !env) {
        fprintf(stderr, "kmemshim check: expected a FILE or --rules 'RULES'\n");
        usage(stderr);
        return 2;
    }
    struct kms_ruleset rs;
    kms_ruleset_init(&rs);
    /* Same order as the shim: KMEM_RULES first, so --list shows real precedence. */
    if (env) kms_rules_parse(&rs, env, strlen(env), "KMEM_RULES", KMS_RULES_ENV);
    if (file) kms_rules_load(&rs, file);
    int status = 0;
    if (!rs.nerrors_total) status = check_symbols(&rs);
    if (rs.nerrors_total) {
        for (size_t i = 0; i < rs.nerrors; i++)
            fprintf(stderr, "%s\n", rs.errors[i]);
        if (rs.nerrors_total > rs.nerrors)
            fprintf(stderr, "... and %zu more errors\n", rs.nerrors_total - rs.nerrors);
        fprintf(stderr, "%s: %zu error%s\n", file ? file : "KMEM_RULES", rs.nerrors_total,
                rs.nerrors_total == 1 ? "" : "s");
        status = 1;
    } else if (!status) {
        char line[512];
        kms_ruleset_summary(&rs, line, sizeof(line));
        printf("%s: ok: %s\n", file ? file : "KMEM_RULES", line);
        kms_ruleset_unmatched(&rs, line, sizeof(line));
        printf("%s: where no route matches: %s\n", file ? file : "KMEM_RULES", line);
        if (list) {
            for (size_t i = 0; i < rs.count; i++) {
                char rule[1024], origin[KMS_ORIGIN_MAX];
                kms_rule_format(&rs.rules[i], rule, sizeof(rule));
                printf("%s: %s\n", kms_rule_origin(&rs, &rs.rules[i], origin), rule);
            }
        }
    }
    kms_ruleset_free(&rs);
    return status;
}
