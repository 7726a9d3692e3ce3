/* SPDX-License-Identifier: MIT */
#include "core/tiers.h"

#include "core/meta.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TIERING_DIR "/sys/devices/virtual/memory_tiering"
#define NODE_DIR "/sys/devices/system/node"
#define WEIGHT_DIR "/sys/kernel/mm/mempolicy/weighted_interleave"

/* Reads a small sysfs file into buf without its trailing newline. Returns 1,
 * 0 when it does not exist (or cannot be read: sysfs hides what it lacks), -1
 * when it is too long to be what sysfs writes. */
static int read_small(const char *path, char *buf, size_t len, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    size_t n = fread(buf, 1, len - 1, f);
    bool more = fgetc(f) != EOF;
    fclose(f);
    if (more) {
        snprintf(err, errlen, "%s: longer than %zu bytes", path, len - 1);
        return -1;
    }
    buf[n] = '\0';
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
        buf[--n] = '\0';
    return 1;
}

/* A file holding one unsigned number. Returns 1 with *out, 0 if absent, -1. */
static int read_u32(const char *path, uint32_t *out, char *err, size_t errlen)
{
    char buf[64];
    int rc = read_small(path, buf, sizeof(buf), err, errlen);
    if (rc <= 0) return rc;
    char *end;
    errno = 0;
    unsigned long v = strtoul(buf, &end, 10);
    if (buf[0] < '0' || buf[0] > '9' || *end != '\0' || errno || v > UINT32_MAX) {
        snprintf(err, errlen, "%s: expected a number, found '%.40s'", path, buf);
        return -1;
    }
    *out = (uint32_t)v;
    return 1;
}

static int read_tiers(const char *root, struct kms_tiers *tr, char *err, size_t errlen)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s" TIERING_DIR, root);
    DIR *d = opendir(path);
    if (!d) return 0;
    struct dirent *e;
    int rc = 0;
    while (rc == 0 && (e = readdir(d))) {
        int id;
        char tail;
        if (sscanf(e->d_name, "memory_tier%d%c", &id, &tail) != 1 || id < 0) continue;
        char list[4096], why[128];
        snprintf(path, sizeof(path), "%s" TIERING_DIR "/%s/nodelist", root, e->d_name);
        int r = read_small(path, list, sizeof(list), err, errlen);
        if (r < 0) rc = -1;
        if (r <= 0) continue;
        struct kms_nodeset s;
        /* An empty tier (all its nodes offline) has an empty nodelist. */
        if (list[0] == '\0') continue;
        if (kms_nodeset_parse(list, &s, why, sizeof(why)) < 0) {
            snprintf(err, errlen, "%s: %s", path, why);
            rc = -1;
            continue;
        }
        for (int n = 0; n <= tr->max_node; n++) {
            if (!kms_nodeset_has(&s, n)) continue;
            tr->tier[n] = id;
            tr->have_tiers = true;
        }
    }
    closedir(d);
    return rc;
}

static int read_access(const char *root, int node, int cls, struct kms_hmat *h, char *err,
                       size_t errlen)
{
    static const char *const names[] = {"read_latency", "write_latency", "read_bandwidth",
                                        "write_bandwidth"};
    uint32_t *slots[] = {&h->read_latency, &h->write_latency, &h->read_bandwidth,
                         &h->write_bandwidth};
    char path[4096];
    memset(h, 0, sizeof(*h));
    for (int i = 0; i < 4; i++) {
        snprintf(path, sizeof(path), "%s" NODE_DIR "/node%d/access%d/initiators/%s", root, node,
                 cls, names[i]);
        int r = read_u32(path, slots[i], err, errlen);
        if (r < 0) return -1;
        if (r > 0 && *slots[i] > 0) h->have = true;
    }
    snprintf(path, sizeof(path), "%s" NODE_DIR "/node%d/access%d/initiators", root, node, cls);
    DIR *d = opendir(path);
    if (!d) return 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        int id;
        char tail;
        if (sscanf(e->d_name, "node%d%c", &id, &tail) == 1) kms_nodeset_add(&h->initiators, id);
    }
    closedir(d);
    return 0;
}

void kms_tiers_free(struct kms_tiers *tr)
{
    kms_meta_free(tr->tier);
    kms_meta_free(tr->perf);
    kms_meta_free(tr->perf_class);
    kms_meta_free(tr->weight);
    memset(tr, 0, sizeof(*tr));
    tr->max_node = -1;
}

int kms_tiers_read(const char *root, const struct kms_topology *t, unsigned parts,
                   struct kms_tiers *out, char *err, size_t errlen)
{
    int nn = t->max_node + 1;
    if (!out->tier) {
        memset(out, 0, sizeof(*out));
        out->max_node = t->max_node;
        out->tier = kms_meta_malloc(sizeof(int) * (size_t)(nn > 0 ? nn : 1));
        out->perf = kms_meta_calloc((size_t)(nn > 0 ? nn : 1), sizeof(struct kms_hmat));
        out->perf_class = kms_meta_malloc(sizeof(int) * (size_t)(nn > 0 ? nn : 1));
        out->weight = kms_meta_calloc((size_t)(nn > 0 ? nn : 1), sizeof(int));
        if (!out->tier || !out->perf || !out->perf_class || !out->weight) {
            kms_tiers_free(out);
            snprintf(err, errlen, "out of memory reading the memory tiers");
            return -1;
        }
        for (int n = 0; n < nn; n++)
            out->tier[n] = out->perf_class[n] = -1;
    }
    parts &= ~out->parts;
    if ((parts & KMS_SYSFS_TIERS) && read_tiers(root, out, err, errlen) < 0) goto fail;
    for (int n = 0; n < nn; n++) {
        if (!kms_nodeset_has(&t->present, n)) continue;
        struct kms_hmat h;
        for (int cls = 1; (parts & KMS_SYSFS_HMAT) && cls >= 0 && out->perf_class[n] < 0; cls--) {
            if (read_access(root, n, cls, &h, err, errlen) < 0) goto fail;
            if (!h.have) continue;
            out->perf[n] = h;
            out->perf_class[n] = cls;
            out->have_hmat = true;
        }
        if (!(parts & KMS_SYSFS_WEIGHTS)) continue;
        char path[4096];
        uint32_t w;
        snprintf(path, sizeof(path), "%s" WEIGHT_DIR "/node%d", root, n);
        int r = read_u32(path, &w, err, errlen);
        if (r < 0) goto fail;
        if (r > 0) {
            if (w == 0 || w > 255) {
                snprintf(err, errlen, "%s: weight %u out of range (1-255)", path, w);
                goto fail;
            }
            out->weight[n] = (int)w;
            out->have_weights = true;
        }
    }
    out->parts |= parts;
    return 0;
fail:
    kms_tiers_free(out);
    return -1;
}

/* The DRAM latency a CPU-less node is compared with: that of the memory local
 * to its nearest initiator, or the best of the CPU nodes' when the initiator's
 * own memory has no figure. 0 when nothing is known. */
static uint32_t dram_latency(const struct kms_topology *t, const struct kms_tiers *tr, int node,
                             int *from)
{
    const struct kms_hmat *h = &tr->perf[node];
    for (int i = 0; i <= t->max_node; i++) {
        if (!kms_nodeset_has(&h->initiators, i) || !kms_nodeset_has(&t->with_memory, i)) continue;
        if (tr->perf[i].read_latency) {
            *from = i;
            return tr->perf[i].read_latency;
        }
    }
    uint32_t best = 0;
    for (int i = 0; i <= t->max_node; i++) {
        uint32_t l = tr->perf[i].read_latency;
        if (!kms_nodeset_has(&t->with_cpus, i) || !l) continue;
        if (!best || l < best) {
            best = l;
            *from = i;
        }
    }
    return best;
}

void kms_tiers_detect(const struct kms_topology *t, const struct kms_tiers *tr,
                      const struct kms_nodeset *dax, unsigned sources, struct kms_nodeset *out,
                      struct kms_node_verdict *verdicts)
{
    /* The slowest tier that holds a CPU node's memory: DRAM's. */
    int cpu_tier = -1;
    for (int n = 0; n <= t->max_node; n++)
        if (kms_nodeset_has(&t->with_cpus, n) && kms_nodeset_has(&t->with_memory, n) &&
            tr->tier[n] > cpu_tier)
            cpu_tier = tr->tier[n];
    for (int n = 0; n <= t->max_node; n++) {
        struct kms_node_verdict v = {0};
        char *w = v.why;
        size_t left = sizeof(v.why);
#define SAY(...)                                                                                   \
    do {                                                                                           \
        int k_ = snprintf(w, left, __VA_ARGS__);                                                   \
        if (k_ > 0 && (size_t)k_ < left) w += k_, left -= (size_t)k_;                              \
    } while (0)
        if (!kms_nodeset_has(&t->present, n)) continue;
        if (kms_nodeset_has(&t->with_cpus, n)) {
            SAY("has CPUs");
        } else if (!kms_nodeset_has(&t->with_memory, n)) {
            SAY("no memory");
        } else {
            if ((sources & KMS_DETECT_DAXCTL) && dax && kms_nodeset_has(dax, n)) {
                v.slow = true;
                v.by = KMS_DETECT_DAXCTL;
                SAY("dax device in system-ram mode");
            } else if ((sources & KMS_DETECT_DAXCTL) && dax) {
                SAY("no dax device");
            }
            if (sources & KMS_DETECT_TIERS) {
                if (tr->tier[n] < 0 || cpu_tier < 0) {
                    SAY("%sno memory tier", w == v.why ? "" : "; ");
                } else if (tr->tier[n] > cpu_tier) {
                    SAY("%smemory tier %d, below the CPU nodes' tier %d", w == v.why ? "" : "; ",
                        tr->tier[n], cpu_tier);
                    if (!v.slow) v.by = KMS_DETECT_TIERS;
                    v.slow = true;
                } else {
                    SAY("%smemory tier %d as the CPU nodes", w == v.why ? "" : "; ", tr->tier[n]);
                }
            }
            if (sources & KMS_DETECT_HMAT) {
                const struct kms_hmat *h = &tr->perf[n];
                int from = -1;
                uint32_t ref = h->read_latency ? dram_latency(t, tr, n, &from) : 0;
                if (!h->read_latency) {
                    SAY("%sno HMAT latency", w == v.why ? "" : "; ");
                } else if (!ref) {
                    SAY("%sHMAT latency %u ns, no DRAM figure to compare", w == v.why ? "" : "; ",
                        h->read_latency);
                } else {
                    bool slower =
                        (uint64_t)h->read_latency * 10 >= (uint64_t)ref * KMS_HMAT_SLOW_TENTHS;
                    uint32_t ref_bw = tr->perf[from].read_bandwidth;
                    bool wider = h->read_bandwidth && ref_bw && h->read_bandwidth > ref_bw;
                    SAY("%sHMAT latency %u ns vs %u ns of node %d's DRAM", w == v.why ? "" : "; ",
                        h->read_latency, ref, from);
                    if (slower && wider)
                        SAY(" but more bandwidth (%u > %u MB/s): not slow memory",
                            h->read_bandwidth, ref_bw);
                    else if (slower) {
                        SAY(" (>= %d.%dx)", KMS_HMAT_SLOW_TENTHS / 10, KMS_HMAT_SLOW_TENTHS % 10);
                        if (!v.slow) v.by = KMS_DETECT_HMAT;
                        v.slow = true;
                    } else {
                        SAY(" (< %d.%dx): as fast as DRAM", KMS_HMAT_SLOW_TENTHS / 10,
                            KMS_HMAT_SLOW_TENTHS % 10);
                    }
                }
            }
        }
#undef SAY
        if (v.slow) kms_nodeset_add(out, n);
        if (verdicts) verdicts[n] = v;
    }
}

bool kms_tiers_break_tie(const struct kms_tiers *tr, struct kms_nodeset *set)
{
    if (!tr || kms_nodeset_count(set) < 2) return false;
    uint32_t best_lat = 0, best_bw = 0;
    for (int n = 0; n <= tr->max_node; n++) {
        if (!kms_nodeset_has(set, n)) continue;
        const struct kms_hmat *h = &tr->perf[n];
        if (!h->read_latency) return false;
        if (!best_lat || h->read_latency < best_lat) best_lat = h->read_latency;
    }
    for (int n = 0; n <= tr->max_node; n++) {
        const struct kms_hmat *h = &tr->perf[n];
        if (kms_nodeset_has(set, n) && h->read_latency == best_lat && h->read_bandwidth > best_bw)
            best_bw = h->read_bandwidth;
    }
    struct kms_nodeset keep;
    kms_nodeset_clear(&keep);
    for (int n = 0; n <= tr->max_node; n++) {
        const struct kms_hmat *h = &tr->perf[n];
        if (kms_nodeset_has(set, n) && h->read_latency == best_lat && h->read_bandwidth == best_bw)
            kms_nodeset_add(&keep, n);
    }
    if (kms_nodeset_equal(&keep, set)) return false;
    *set = keep;
    return true;
}

static const struct {
    const char *word;
    unsigned mask;
} detect_words[] = {
    {"daxctl", KMS_DETECT_DAXCTL},
    {"tiers", KMS_DETECT_TIERS},
    {"hmat", KMS_DETECT_HMAT},
    {"all", KMS_DETECT_ALL},
};

int kms_detect_parse(const char *s, char *why, size_t whylen)
{
    unsigned mask = 0;
    const char *p = s;
    if (!*p) {
        snprintf(why, whylen, "empty");
        return -1;
    }
    for (;;) {
        size_t n = strcspn(p, ",");
        bool found = false;
        for (size_t i = 0; i < sizeof(detect_words) / sizeof(detect_words[0]); i++) {
            if (strlen(detect_words[i].word) == n && strncmp(detect_words[i].word, p, n) == 0) {
                mask |= detect_words[i].mask;
                found = true;
            }
        }
        if (!found) {
            snprintf(why, whylen, "unknown source '%.*s'", (int)(n > 40 ? 40 : n), p);
            return -1;
        }
        if (!p[n]) break;
        p += n + 1;
    }
    return (int)mask;
}

void kms_detect_format(unsigned mask, char *buf, size_t len)
{
    buf[0] = '\0';
    size_t used = 0;
    for (size_t i = 0; i < 3; i++) {
        if (!(mask & detect_words[i].mask)) continue;
        int k = snprintf(buf + used, len - used, "%s%s", used ? "," : "", detect_words[i].word);
        if (k > 0 && (size_t)k < len - used) used += (size_t)k;
    }
    if (!used) snprintf(buf, len, "none");
}
