/* kmemshim nodes: what the shim sees and what each policy means here. */
#include "cli/commands.h"
#include "policy/setup.h"
#include "policy/config.h"
#include "core/target.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern char **environ;

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) return NULL;
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    size_t n;
    while (buf && (n = fread(buf + len, 1, cap - len - 1, f)) > 0) {
        len += n;
        if (cap - len < 2) {
            char *nb = realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
            cap *= 2;
        }
    }
    fclose(f);
    if (buf) buf[len] = '\0';
    return buf;
}

static void print_size(uint64_t b)
{
    if (b >= (1ull << 30) && b % (1ull << 30) == 0)
        printf("%8llu GiB", (unsigned long long)(b >> 30));
    else
        printf("%8llu MiB", (unsigned long long)(b >> 20));
}

int kms_cmd_nodes(int argc, char **argv)
{
    const char *topo_file = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            printf("usage: kmemshim nodes [--topology FILE]\n\n"
                   "Prints the NUMA topology, the KMEM nodes and where they came from\n"
                   "(KMEM_NODES, MEMKIND_DAX_KMEM_NODES, libdaxctl or none), and the node set\n"
                   "and kernel policy of each route from each CPU node. The KMEM_* variables\n"
                   "apply as they do to the library.\n\n"
                   "  --topology FILE  use `numactl -H` output saved in FILE instead of this\n"
                   "                   machine (KMEM nodes then come from KMEM_NODES only)\n");
            return 0;
        }
        if (strcmp(argv[i], "--topology") == 0 && i + 1 < argc) {
            topo_file = argv[++i];
        } else {
            fprintf(stderr, "kmemshim nodes: unexpected argument '%s' (see --help)\n", argv[i]);
            return 2;
        }
    }
    struct kms_config config;
    char err[512], warn[1024];
    if (kms_config_from_env(environ, &config, err, sizeof(err), warn, sizeof(warn)) < 0) {
        fprintf(stderr, "kmemshim: error: %s\n", err);
        return 1;
    }
    if (warn[0]) fprintf(stderr, "kmemshim: warning: %s", warn);
    struct kms_setup s;
    int rc;
    bool uses_pref = config.kmem_policy == KMS_TARGET_PREFERRED;
    if (topo_file) {
        char *text = read_file(topo_file);
        if (!text) {
            fprintf(stderr, "kmemshim nodes: cannot read %s\n", topo_file);
            return 1;
        }
        rc = kms_setup_run_text(&config, uses_pref, text, &s);
        free(text);
    } else {
        rc = kms_setup_run(&config, uses_pref, &s);
    }
    if (rc < 0) {
        fprintf(stderr, "kmemshim: error: %s\n", s.error);
        kms_setup_free(&s);
        return 1;
    }
    if (s.warning[0]) fprintf(stderr, "kmemshim: warning: %s\n", s.warning);

    const struct kms_topology *t = &s.topo;
    printf("topology (%s): %d node(s)\n", topo_file ? topo_file : "libnuma",
           kms_nodeset_count(&t->present));
    printf("node  cpus              memory  kmem\n");
    for (int n = 0; n <= t->max_node; n++) {
        if (!kms_nodeset_has(&t->present, n)) continue;
        char cpus[64] = "";
        struct kms_nodeset cs;
        kms_nodeset_clear(&cs);
        for (int c = 0; c < t->ncpus; c++)
            if (t->cpu_node[c] == n) kms_nodeset_add(&cs, c);
        if (kms_nodeset_empty(&cs))
            snprintf(cpus, sizeof(cpus), "-");
        else
            kms_nodeset_format(&cs, cpus, sizeof(cpus));
        printf("%4d  %-16s", n, cpus);
        print_size(t->size[n]);
        printf("  %s\n", kms_nodeset_has(&s.kmem, n) ? "yes" : "");
    }
    printf("distances:\n  node");
    for (int m = 0; m <= t->max_node; m++)
        if (kms_nodeset_has(&t->present, m)) printf(" %4d", m);
    printf("\n");
    for (int n = 0; n <= t->max_node; n++) {
        if (!kms_nodeset_has(&t->present, n)) continue;
        printf("  %4d", n);
        for (int m = 0; m <= t->max_node; m++)
            if (kms_nodeset_has(&t->present, m)) printf(" %4d", kms_topology_distance(t, n, m));
        printf("\n");
    }
    char list[256];
    kms_nodeset_format(&s.kmem, list, sizeof(list));
    printf("KMEM nodes: %s (source: %s)\n", list, kms_nodes_source_name(s.kmem_source));
    printf("kmem means: %s (KMEM_POLICY)\n", kms_target_name(config.kmem_policy));
    printf("node sets (route, from CPU node: kernel policy and nodes):\n");
    for (int tg = 0; tg < KMS_TARGET_COUNT; tg++) {
        for (int n = 0; n <= t->max_node; n++) {
            if (!kms_nodeset_has(&t->with_cpus, n)) continue;
            const struct kms_placement *pl = &s.plan.at[tg][n];
            if (pl->mode == KMS_MODE_DEFAULT)
                snprintf(list, sizeof(list), "all nodes");
            else
                kms_nodeset_format(&pl->set, list, sizeof(list));
            printf("  %-10s cpu-node %d: %-14s %s\n", kms_target_name(tg), n,
                   kms_mode_name(pl->mode), list);
        }
    }
    if (s.plan.preferred_tie[0]) printf("note: %s\n", s.plan.preferred_tie);
    kms_setup_free(&s);
    return 0;
}
