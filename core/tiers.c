/* SPDX-License-Identifier: MIT */
#include "core/tiers.h"

#include "core/fileread.h"
#include "core/meta.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TIERING_DIR "/sys/devices/virtual/memory_tiering"
#define NODE_DIR "/sys/devices/system/node"
#define WEIGHT_DIR "/sys/kernel/mm/mempolicy/weighted_interleave"

/* A small sysfs file in buf, without its trailing newline. Returns 1, 0 when
 * it does not exist (or cannot be read: sysfs hides what it lacks), -1 when it
 * is too long to be what sysfs writes. */
static int read_small(const char *path, char *buf, size_t len, char *err, size_t errlen)
{
    if (kms_read_small_trim(NULL, path, buf, len) >= 0) return 1;
    if (errno != EFBIG) return 0;
    snprintf(err, errlen, "%s: longer than %zu bytes", path, len - 1);
    return -1;
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
