/* SPDX-License-Identifier: MIT */
/* kmemshim nodes: what the shim sees and what each policy means here. */
#include "cli/commands.h"
#include "policy/setup.h"
#include "policy/config.h"
#include "core/fileread.h"
#include "core/meta.h"
#include "core/target.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern char **environ;

/* The file's text (free it with kms_meta_free), or NULL with errno set
 * (EISDIR for a directory, EFBIG past 16 MiB, EILSEQ for a NUL byte: numactl
 * -H prints text; *nul_at is then its offset). */
static char *read_file(const char *path, size_t *nul_at)
{
    char *buf;
    size_t len;
    if (kms_read_whole(path, 16u << 20, &buf, &len) < 0) return NULL;
    buf[len] = '\0';
    if (strlen(buf) < len) {
        *nul_at = strlen(buf);
        kms_meta_free(buf);
        errno = EILSEQ;
        return NULL;
    }
    return buf;
}

static void print_size(uint64_t b)
{
    if (b >= (1ull << 30) && b % (1ull << 30) == 0)
        printf("%8llu GiB", (unsigned long long)(b >> 30));
    else
        printf("%8llu MiB", (unsigned long long)(b >> 20));
}

static void node_cpus(const struct kms_topology *t, int n, char *buf, size_t len)
{
    struct kms_nodeset cs;
    kms_nodeset_clear(&cs);
    for (int c = 0; c < t->ncpus; c++)
        if (t->cpu_node[c] == n) kms_nodeset_add(&cs, c);
    if (kms_nodeset_empty(&cs))
        snprintf(buf, len, "-");
    else
        kms_nodeset_format(&cs, buf, len);
}

/* Why node n is or is not a KMEM node, one line. */
static void node_why(const struct kms_setup *s, const struct kms_config *c, int n, char *buf,
                     size_t len)
{
    const struct kms_topology *t = &s->topo;
    if (c->nodes_set) {
        if (kms_nodeset_has(&s->kmem, n))
            snprintf(buf, len, "named by %s", kms_nodes_source_name(c->nodes_source));
        else if (kms_nodeset_has(&t->with_cpus, n))
            snprintf(buf, len, "has CPUs");
        else
            snprintf(buf, len, "not named by %s", kms_nodes_source_name(c->nodes_source));
    } else if (s->verdicts) {
        snprintf(buf, len, "%s", s->verdicts[n].why);
    } else {
        snprintf(buf, len, "%s", kms_nodeset_has(&t->with_cpus, n) ? "has CPUs" : "");
    }
}

static void placement_text(const struct kms_placement *pl, char *mode, size_t mlen, char *set,
                           size_t slen)
{
    kms_placement_mode_name(pl, mode, mlen);
    if (pl->mode == KMS_MODE_DEFAULT)
        snprintf(set, slen, "all nodes");
    else
        kms_nodeset_format(&pl->set, set, slen);
}

static void print_text(const struct kms_setup *s, const struct kms_config *config,
                       const char *topo_name)
{
    const struct kms_topology *t = &s->topo;
    const struct kms_tiers *tr = &s->tiers;
    char cpus[64], why[256], list[256], mode[64];
    printf("topology (%s): %d node(s)\n", topo_name, kms_nodeset_count(&t->present));
    printf("node  cpus              memory  tier  dax  kmem  why\n");
    for (int n = 0; n <= t->max_node; n++) {
        if (!kms_nodeset_has(&t->present, n)) continue;
        node_cpus(t, n, cpus, sizeof(cpus));
        printf("%4d  %-16s", n, cpus);
        print_size(t->size[n]);
        char tier[16] = "-";
        if (tr->tier && tr->tier[n] >= 0) snprintf(tier, sizeof(tier), "%d", tr->tier[n]);
        node_why(s, config, n, why, sizeof(why));
        printf("  %4s  %-3s  %-4s  %s\n", tier, kms_nodeset_has(&s->dax, n) ? "yes" : "no",
               kms_nodeset_has(&s->kmem, n) ? "yes" : "no", why);
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
    if (tr->have_hmat) {
        printf("HMAT (from the nearest initiator; latency ns, bandwidth MB/s):\n");
        printf("  node  access  initiators  read-lat  write-lat   read-bw  write-bw\n");
        for (int n = 0; n <= t->max_node; n++) {
            if (tr->perf_class[n] < 0) continue;
            const struct kms_hmat *h = &tr->perf[n];
            kms_nodeset_format(&h->initiators, list, sizeof(list));
            printf("  %4d  %6d  %-10s  %8u  %9u  %8u  %8u\n", n, tr->perf_class[n], list,
                   h->read_latency, h->write_latency, h->read_bandwidth, h->write_bandwidth);
        }
    }
    if (tr->have_weights) {
        printf("weighted interleave weights (node:weight):");
        for (int n = 0; n <= t->max_node; n++)
            if (tr->weight[n]) printf(" %d:%d", n, tr->weight[n]);
        printf("\n");
    }
    kms_nodeset_format(&s->kmem, list, sizeof(list));
    printf("KMEM nodes: %s (source: %s)\n", list, s->source_desc);
    printf("kmem means: %s (KMEM_POLICY)\n", kms_target_name(config->kmem_policy));
    printf("node sets (route, from CPU node: kernel policy and nodes):\n");
    for (int tg = 0; tg < KMS_TARGET_COUNT; tg++) {
        for (int n = 0; n <= t->max_node; n++) {
            if (!kms_nodeset_has(&t->with_cpus, n)) continue;
            placement_text(&s->plan.at[tg][n], mode, sizeof(mode), list, sizeof(list));
            printf("  %-23s cpu-node %d: %-19s %s\n", kms_target_name(tg), n, mode, list);
        }
    }
    if (s->plan.preferred_tie[0]) printf("note: %s\n", s->plan.preferred_tie);
    if (s->plan.hmat_tie[0]) printf("note: %s\n", s->plan.hmat_tie);
}

static void json_string(const char *s)
{
    putchar('"');
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\')
            printf("\\%c", ch);
        else if (ch < 0x20)
            printf("\\u%04x", ch);
        else
            putchar(ch);
    }
    putchar('"');
}

static void print_json(const struct kms_setup *s, const struct kms_config *config,
                       const char *topo_name)
{
    const struct kms_topology *t = &s->topo;
    const struct kms_tiers *tr = &s->tiers;
    char buf[256], mode[64];
    printf("{\n  \"topology\": ");
    json_string(topo_name);
    kms_nodeset_format(&s->kmem, buf, sizeof(buf));
    printf(",\n  \"kmem_nodes\": ");
    json_string(kms_nodeset_empty(&s->kmem) ? "" : buf);
    printf(",\n  \"source\": ");
    json_string(s->source_desc);
    kms_detect_format(config->detect, buf, sizeof(buf));
    printf(",\n  \"detect\": ");
    json_string(buf);
    printf(",\n  \"kmem_means\": \"%s\",\n  \"nodes\": [", kms_target_name(config->kmem_policy));
    bool first = true;
    for (int n = 0; n <= t->max_node; n++) {
        if (!kms_nodeset_has(&t->present, n)) continue;
        node_cpus(t, n, buf, sizeof(buf));
        printf("%s\n    {\"node\": %d, \"cpus\": ", first ? "" : ",", n);
        first = false;
        json_string(strcmp(buf, "-") == 0 ? "" : buf);
        printf(", \"bytes\": %llu, \"tier\": %d, \"dax\": %s, \"kmem\": %s, \"why\": ",
               (unsigned long long)t->size[n], tr->tier ? tr->tier[n] : -1,
               kms_nodeset_has(&s->dax, n) ? "true" : "false",
               kms_nodeset_has(&s->kmem, n) ? "true" : "false");
        node_why(s, config, n, buf, sizeof(buf));
        json_string(buf);
        if (tr->perf_class && tr->perf_class[n] >= 0) {
            const struct kms_hmat *h = &tr->perf[n];
            kms_nodeset_format(&h->initiators, buf, sizeof(buf));
            printf(", \"hmat\": {\"access\": %d, \"initiators\": ", tr->perf_class[n]);
            json_string(buf);
            printf(", \"read_latency_ns\": %u, \"write_latency_ns\": %u, \"read_bandwidth_mbs\": "
                   "%u, \"write_bandwidth_mbs\": %u}",
                   h->read_latency, h->write_latency, h->read_bandwidth, h->write_bandwidth);
        }
        if (tr->weight && tr->weight[n]) printf(", \"weight\": %d", tr->weight[n]);
        printf(", \"distances\": [");
        bool f2 = true;
        for (int m = 0; m <= t->max_node; m++) {
            if (!kms_nodeset_has(&t->present, m)) continue;
            printf("%s%d", f2 ? "" : ", ", kms_topology_distance(t, n, m));
            f2 = false;
        }
        printf("]}");
    }
    printf("\n  ],\n  \"routes\": [");
    first = true;
    for (int tg = 0; tg < KMS_TARGET_COUNT; tg++) {
        for (int n = 0; n <= t->max_node; n++) {
            if (!kms_nodeset_has(&t->with_cpus, n)) continue;
            placement_text(&s->plan.at[tg][n], mode, sizeof(mode), buf, sizeof(buf));
            printf("%s\n    {\"route\": \"%s\", \"cpu_node\": %d, \"policy\": \"%s\", \"nodes\": ",
                   first ? "" : ",", kms_target_name(tg), n, mode);
            json_string(buf);
            printf("}");
            first = false;
        }
    }
    printf("\n  ],\n  \"notes\": [");
    first = true;
    const char *plan_notes[] = {s->plan.preferred_tie, s->plan.hmat_tie};
    for (int i = 0; i < 2; i++) {
        if (!plan_notes[i][0]) continue;
        printf("%s", first ? "" : ", ");
        json_string(plan_notes[i]);
        first = false;
    }
    const char *w = s->warning;
    while (*w) {
        size_t n = strcspn(w, "\n");
        snprintf(buf, sizeof(buf), "%.*s", (int)n, w);
        printf("%s", first ? "" : ", ");
        json_string(buf);
        first = false;
        w += n + (w[n] == '\n');
    }
    printf("]\n}\n");
}

int kms_cmd_nodes(int argc, char **argv)
{
    const char *topo_file = NULL, *sysfs = NULL;
    bool json = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            printf("usage: kmemshim nodes [--json] [--topology FILE [--sysfs DIR]]\n\n"
                   "Prints, per node, its CPUs, memory, memory tier, HMAT figures, dax device\n"
                   "and why it is or is not a KMEM node; the KMEM nodes and where they came\n"
                   "from (KMEM_NODES, MEMKIND_DAX_KMEM_NODES, or the KMEM_DETECT sources);\n"
                   "the weighted-interleave weights; and the node set and kernel policy of\n"
                   "each route from each CPU node. The KMEM_* variables apply as they do to\n"
                   "the library.\n\n"
                   "  --json           the same as one JSON object\n"
                   "  --topology FILE  use `numactl -H` output saved in FILE instead of this\n"
                   "                   machine (KMEM nodes then come from KMEM_NODES only)\n"
                   "  --sysfs DIR      with --topology: read the memory tiers, HMAT figures and\n"
                   "                   weights from DIR/sys/... and detect KMEM nodes from them\n");
            return 0;
        }
        if (strcmp(argv[i], "--topology") == 0 && i + 1 < argc) {
            topo_file = argv[++i];
        } else if (strcmp(argv[i], "--sysfs") == 0 && i + 1 < argc) {
            sysfs = argv[++i];
        } else if (strcmp(argv[i], "--json") == 0) {
            json = true;
        } else {
            fprintf(stderr, "kmemshim nodes: unexpected argument '%s' (see --help)\n", argv[i]);
            return 2;
        }
    }
    if (sysfs && !topo_file) {
        fprintf(stderr, "kmemshim nodes: --sysfs needs --topology\n");
        return 2;
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
    /* What the library would check for a program whose rules use "kmem". */
    bool uses[KMS_TARGET_COUNT] = {false};
    uses[config.kmem_policy] = true;
    if (topo_file) {
        size_t nul_at = 0;
        char *text = read_file(topo_file, &nul_at);
        if (!text && errno == EILSEQ) {
            fprintf(stderr,
                    "kmemshim nodes: %s: not numactl -H output (a NUL byte at offset %zu: "
                    "binary data)\n",
                    topo_file, nul_at);
            return 1;
        }
        if (!text) {
            fprintf(stderr, "kmemshim nodes: cannot read %s: %s\n", topo_file, strerror(errno));
            return 1;
        }
        /* Parsed here first so that an error names the file. */
        struct kms_topology t;
        char err_topo[256];
        if (kms_topology_parse_text(text, &t, err_topo, sizeof(err_topo)) < 0) {
            fprintf(stderr, "kmemshim nodes: %s: %s (expected numactl -H output)\n", topo_file,
                    err_topo);
            kms_meta_free(text);
            return 1;
        }
        kms_topology_free(&t);
        rc = kms_setup_run_text(&config, uses, text, sysfs, KMS_SETUP_EXPLAIN, &s);
        kms_meta_free(text);
    } else {
        rc = kms_setup_run(&config, uses, KMS_SETUP_EXPLAIN, &s);
    }
    if (rc < 0) {
        fprintf(stderr, "kmemshim: error: %s\n", s.error);
        kms_setup_free(&s);
        return 1;
    }
    /* Once: in JSON the warnings are notes of the output, in text they go to
     * stderr as the library prints them. */
    const char *w = json ? "" : s.warning;
    while (*w) {
        size_t n = strcspn(w, "\n");
        fprintf(stderr, "kmemshim: warning: %.*s\n", (int)n, w);
        w += n + (w[n] == '\n');
    }
    const char *name = topo_file ? topo_file : "sysfs";
    if (json)
        print_json(&s, &config, name);
    else
        print_text(&s, &config, name);
    kms_setup_free(&s);
    return 0;
}
