/* SPDX-License-Identifier: MIT */
#include "core/topology.h"

#include "core/meta.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void kms_topology_free(struct kms_topology *t)
{
    kms_meta_free(t->size);
    kms_meta_free(t->distance);
    kms_meta_free(t->cpu_node);
    memset(t, 0, sizeof(*t));
    t->max_node = -1;
}

uint64_t kms_topology_capacity(const struct kms_topology *t, const struct kms_nodeset *s)
{
    uint64_t sum = 0;
    for (int n = 0; n <= t->max_node; n++)
        if (kms_nodeset_has(s, n)) sum += t->size[n];
    return sum;
}

/* line 0: the whole text. */
static int fail(char *err, size_t errlen, int line, const char *fmt, ...)
{
    va_list ap;
    int w = line ? snprintf(err, errlen, "line %d: ", line) : 0;
    va_start(ap, fmt);
    if (w >= 0 && (size_t)w < errlen) vsnprintf(err + w, errlen - (size_t)w, fmt, ap);
    va_end(ap);
    return -1;
}

/* A line quoted in a message: control and non-ASCII bytes as \xNN, at most
 * 60 bytes of it, so that a binary file gives a readable message. */
static const char *quoted(const char *p, char *buf, size_t len)
{
    size_t o = 0, shown = 0;
    for (; *p && shown < 60 && o + 5 < len; p++, shown++) {
        unsigned char ch = (unsigned char)*p;
        if (ch >= 0x20 && ch < 0x7f)
            buf[o++] = (char)ch;
        else
            o += (size_t)snprintf(buf + o, len - o, "\\x%02x", ch);
    }
    if (*p && o + 4 < len) {
        memcpy(buf + o, "...", 3);
        o += 3;
    }
    buf[o] = '\0';
    return buf;
}

/* The text is parsed in two passes: the first finds the largest node and CPU
 * ids so the arrays can be sized, the second fills them. */
struct text_scan {
    int max_node, max_cpu;
};

static const char *skip_spaces(const char *p)
{
    while (*p == ' ' || *p == '\t')
        p++;
    return p;
}

static int parse_int(const char **pp, long *out)
{
    const char *p = skip_spaces(*pp);
    char *end;
    if (!isdigit((unsigned char)*p)) return -1;
    *out = strtol(p, &end, 10);
    *pp = end;
    return 0;
}

static int scan_or_fill(const char *text, struct kms_topology *t, struct text_scan *sc, bool fill,
                        char *err, size_t errlen)
{
    int lineno = 0;
    bool in_distances = false;
    int header[KMS_MAX_NODES];
    int nheader = 0;
    const char *line = text;
    while (*line) {
        const char *eol = strchr(line, '\n');
        size_t len = eol ? (size_t)(eol - line) : strlen(line);
        char buf[8192];
        lineno++;
        if (len >= sizeof(buf)) return fail(err, errlen, lineno, "line too long");
        memcpy(buf, line, len);
        buf[len] = '\0';
        line = eol ? eol + 1 : line + len;
        const char *p = skip_spaces(buf);
        long node, v;
        if (*p == '\0' || strncmp(p, "available:", 10) == 0 || *p == '#') continue;
        if (strncmp(p, "node distances:", 15) == 0) {
            in_distances = true;
            continue;
        }
        if (in_distances && strncmp(p, "node", 4) == 0) {
            /* header row: "node   0   1   2" */
            p += 4;
            nheader = 0;
            while (parse_int(&p, &v) == 0) {
                if (v >= KMS_MAX_NODES || nheader >= KMS_MAX_NODES)
                    return fail(err, errlen, lineno, "node %ld is out of range", v);
                header[nheader++] = (int)v;
            }
            continue;
        }
        if (in_distances && isdigit((unsigned char)*p)) {
            if (parse_int(&p, &node) < 0 || *p != ':')
                return fail(err, errlen, lineno, "expected 'N:' at the start of a distance row");
            p++;
            for (int i = 0; i < nheader; i++) {
                if (parse_int(&p, &v) < 0)
                    return fail(err, errlen, lineno, "expected %d distances for node %ld", nheader,
                                node);
                if (fill) {
                    if (node > t->max_node || header[i] > t->max_node)
                        return fail(err, errlen, lineno, "distance row for unknown node %ld", node);
                    t->distance[node * (t->max_node + 1) + header[i]] = (int)v;
                }
            }
            continue;
        }
        char q[256];
        if (strncmp(p, "node ", 5) != 0)
            return fail(err, errlen, lineno, "unrecognised line '%s'", quoted(p, q, sizeof(q)));
        p += 5;
        if (parse_int(&p, &node) < 0 || node >= KMS_MAX_NODES)
            return fail(err, errlen, lineno, "expected a node number after 'node'");
        p = skip_spaces(p);
        if (node > sc->max_node) sc->max_node = (int)node;
        if (fill) kms_nodeset_add(&t->present, (int)node);
        if (strncmp(p, "cpus:", 5) == 0) {
            p += 5;
            while (parse_int(&p, &v) == 0) {
                if (v >= KMS_MAX_CPUS)
                    return fail(err, errlen, lineno, "cpu %ld is out of range", v);
                if (v > sc->max_cpu) sc->max_cpu = (int)v;
                if (fill) {
                    t->cpu_node[v] = (int16_t)node;
                    kms_nodeset_add(&t->with_cpus, (int)node);
                }
            }
        } else if (strncmp(p, "size:", 5) == 0) {
            p += 5;
            if (parse_int(&p, &v) < 0)
                return fail(err, errlen, lineno, "expected a size after 'size:'");
            p = skip_spaces(p);
            uint64_t mult = 1;
            if (strncmp(p, "MB", 2) == 0)
                mult = 1ull << 20;
            else if (strncmp(p, "GB", 2) == 0)
                mult = 1ull << 30;
            else if (strncmp(p, "kB", 2) == 0 || strncmp(p, "KB", 2) == 0)
                mult = 1ull << 10;
            if (fill) {
                t->size[node] = (uint64_t)v * mult;
                if (v > 0) kms_nodeset_add(&t->with_memory, (int)node);
            }
        } else if (strncmp(p, "free:", 5) == 0) {
            continue;
        } else {
            return fail(err, errlen, lineno, "unrecognised line 'node %ld %s'", node,
                        quoted(p, q, sizeof(q)));
        }
    }
    return 0;
}

int kms_topology_parse_text(const char *text, struct kms_topology *t, char *err, size_t errlen)
{
    struct text_scan sc = {-1, -1};
    memset(t, 0, sizeof(*t));
    t->max_node = -1;
    if (scan_or_fill(text, t, &sc, false, err, errlen) < 0) return -1;
    if (sc.max_node < 0) return fail(err, errlen, 0, "no nodes found");
    int nn = sc.max_node + 1;
    t->max_node = sc.max_node;
    t->ncpus = sc.max_cpu + 1;
    t->size = kms_meta_calloc((size_t)nn, sizeof(*t->size));
    t->distance = kms_meta_calloc((size_t)nn * (size_t)nn, sizeof(*t->distance));
    t->cpu_node = kms_meta_malloc(sizeof(*t->cpu_node) * (size_t)(t->ncpus > 0 ? t->ncpus : 1));
    if (!t->size || !t->distance || !t->cpu_node) {
        kms_topology_free(t);
        return fail(err, errlen, 0, "out of memory");
    }
    for (int c = 0; c < t->ncpus; c++)
        t->cpu_node[c] = -1;
    /* Without a distance table every node is local to itself and remote to the rest. */
    for (int a = 0; a < nn; a++)
        for (int b = 0; b < nn; b++)
            t->distance[a * nn + b] = a == b ? 10 : 20;
    if (scan_or_fill(text, t, &sc, true, err, errlen) < 0) {
        kms_topology_free(t);
        return -1;
    }
    return 0;
}
