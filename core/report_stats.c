/* SPDX-License-Identifier: MIT */
#include "core/arena.h"
#include "core/engine.h"
#include "core/report_writers.h"

#include "core/decommit.h"

#include "core/access.h"
#include "core/tier.h"
#include "core/resident.h"
#include "core/size.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TOP_SITES 10

static void json_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c < 0x20)
            fprintf(f, "\\u%04x", c);
        else
            fputc(c, f);
    }
    fputc('"', f);
}

/* Sorted by bytes requested, descending. */
static int by_bytes(const void *a, const void *b)
{
    double x = ((const struct kms_stats_site_copy *)a)->s.bytes,
           y = ((const struct kms_stats_site_copy *)b)->s.bytes;
    return x < y ? 1 : x > y ? -1 : 0;
}

static void sample_note(uint64_t period, char *buf, size_t len)
{
    char h[32];
    if (period == 0)
        snprintf(buf, len, "every block recorded (KMEM_STATS_SAMPLE=0)");
    else
        snprintf(buf, len,
                 "live bytes and callsites estimated from sampled blocks: one per %s allocated "
                 "on average, and every block of %s or more (KMEM_STATS_SAMPLE)",
                 kms_size_human(period, h, sizeof(h)), h);
}

/* What one route shows: its counts, then each class's arena and the bytes
 * resident per node. */
struct route_row {
    int route;
    const struct kms_stats_route *t;
};
struct class_row {
    const char *mode;
    const char *set;
    uint64_t reserved;
};

/* The report's one structure, written by one of two writers: text for people,
 * JSON for programs. Each call writes one element in its order; the writer
 * keeps its separators. */
struct writer {
    void (*head)(FILE *f, const struct kms_stats_snapshot *snap, int width);
    void (*route)(FILE *f, const struct route_row *r, bool first, int width);
    void (*cls)(FILE *f, const struct class_row *c, bool first);
    void (*node)(FILE *f, int node, uint64_t bytes, bool first);
    void (*cls_end)(FILE *f, uint64_t sum);
    void (*route_end)(FILE *f, bool any_class);
    void (*totals)(FILE *f, const struct kms_stats_snapshot *snap, const char *method, int width,
                   size_t ntop);
    void (*site)(FILE *f, const struct kms_stats_site *s, const struct kms_site_name *nm,
                 const char *routes, size_t i);
    void (*tail)(FILE *f, size_t ntop);
};

static void text_head(FILE *f, const struct kms_stats_snapshot *snap, int width)
{
    char buf[512];
    const char *prog = program_invocation_name;
    fprintf(f, "kmemshim stats: pid %ld, %s, %.3f s\n", (long)getpid(), prog ? prog : "?",
            snap->seconds);
    sample_note(snap->period, buf, sizeof(buf));
    fprintf(f, "%s\n", buf);
    fprintf(f, "%-*s %12s %14s %14s %14s\n", width, "route", "allocations", "requested", "live",
            "peak live");
}

static void text_route(FILE *f, const struct route_row *r, bool first, int width)
{
    char h1[32], h2[32], h3[32];
    (void)first;
    fprintf(f, "%-*s %12" PRIu64 " %14s %14s %14s\n", width, kms_target_name(r->route), r->t->count,
            kms_size_human(r->t->bytes, h1, sizeof(h1)),
            kms_size_human(kms_report_pos(r->t->live), h2, sizeof(h2)),
            kms_size_human(kms_report_pos(r->t->peak), h3, sizeof(h3)));
}

static void text_cls(FILE *f, const struct class_row *c, bool first)
{
    char h[32];
    (void)first;
    fprintf(f, "    arena %s %s (%s reserved): resident", c->mode, c->set,
            kms_size_human(c->reserved, h, sizeof(h)));
}

static void text_node(FILE *f, int node, uint64_t bytes, bool first)
{
    char h[32];
    (void)first;
    fprintf(f, " node %d %s", node, kms_size_human(bytes, h, sizeof(h)));
}

static void text_cls_end(FILE *f, uint64_t sum) { fprintf(f, "%s\n", sum ? "" : " nothing"); }

static void text_route_end(FILE *f, bool any_class)
{
    if (!any_class)
        fprintf(f, "    no arena: mimalloc's plain heap, the process's own NUMA policy\n");
}

static void text_totals(FILE *f, const struct kms_stats_snapshot *snap, const char *method,
                        int width, size_t ntop)
{
    char h1[32], h2[32];
    fprintf(f, "%-*s %12s %14s %14s %14s\n", width, "total", "", "",
            kms_size_human(kms_report_pos(snap->live), h1, 32),
            kms_size_human(kms_report_pos(snap->peak), h2, 32));
    fprintf(f, "resident bytes measured with %s\n", method);
    struct kms_decommit_counts d;
    kms_decommit_counts(&d);
    if (d.on) {
        char h3[32], h4[32];
        fprintf(f,
                "freed arena pages kept for reuse: %s, reused %s, returned to the kernel later %s, "
                "kept now %s\n",
                kms_size_human(d.held, h1, 32), kms_size_human(d.reused, h2, 32),
                kms_size_human(d.made, h3, 32), kms_size_human(d.holding, h4, 32));
    }
    fprintf(f, "top %zu callsites by bytes requested:\n", ntop);
    fprintf(f, "  %14s %10s %14s  %-13s %s\n", "requested", "count", "peak live", "route",
            "callsite");
}

static void text_site(FILE *f, const struct kms_stats_site *s, const struct kms_site_name *nm,
                      const char *routes, size_t i)
{
    char h1[32], h2[32];
    (void)i;
    /* A wrapper's context as tiering names its group: callsite<caller. */
    bool ctx = nm->parent_where[0] != '\0';
    fprintf(f, "  %14s %10" PRIu64 " %14s  %-13s %s%s%s%s%s%s%s%s%s\n",
            kms_size_human(kms_report_est(s->bytes), h1, 32), kms_report_est(s->count),
            kms_size_human(kms_report_pos(s->peak), h2, 32), routes, nm->where, ctx ? "<" : "",
            nm->parent_where, nm->symbol[0] ? " " : "", nm->symbol, ctx && nm->symbol[0] ? "<" : "",
            ctx && nm->symbol[0] ? nm->parent_symbol : "", nm->source[0] ? " at " : "", nm->source);
}

static void text_tail(FILE *f, size_t ntop)
{
    (void)ntop;
    if (kms_access_on) {
        kms_access_stats_text(f);
        kms_tier_stats_text(f);
    }
}

static void json_head(FILE *f, const struct kms_stats_snapshot *snap, int width)
{
    const char *prog = program_invocation_name;
    (void)width;
    fprintf(f, "{\n  \"pid\": %ld,\n  \"program\": ", (long)getpid());
    json_str(f, prog ? prog : "");
    fprintf(f, ",\n  \"seconds\": %.3f,\n  \"routes\": [", snap->seconds);
}

static void json_route(FILE *f, const struct route_row *r, bool first, int width)
{
    (void)width;
    fprintf(f,
            "%s\n    {\"route\": \"%s\", \"allocations\": %" PRIu64
            ", \"bytes_requested\": %" PRIu64 ", \"live_bytes\": %" PRIu64
            ", \"peak_live_bytes\": %" PRIu64 ", \"resident\": [",
            first ? "" : ",", kms_target_name(r->route), r->t->count, r->t->bytes,
            kms_report_pos(r->t->live), kms_report_pos(r->t->peak));
}

static void json_cls(FILE *f, const struct class_row *c, bool first)
{
    fprintf(f,
            "%s{\"policy\": \"%s\", \"nodes\": \"%s\", \"reserved_bytes\": %" PRIu64
            ", \"by_node\": {",
            first ? "" : ", ", c->mode, c->set, c->reserved);
}

static void json_node(FILE *f, int node, uint64_t bytes, bool first)
{
    fprintf(f, "%s\"%d\": %" PRIu64, first ? "" : ", ", node, bytes);
}

static void json_cls_end(FILE *f, uint64_t sum)
{
    (void)sum;
    fprintf(f, "}}");
}

static void json_route_end(FILE *f, bool any_class)
{
    (void)any_class;
    fprintf(f, "]}");
}

static void json_totals(FILE *f, const struct kms_stats_snapshot *snap, const char *method,
                        int width, size_t ntop)
{
    (void)width;
    (void)ntop;
    fprintf(f,
            "\n  ],\n  \"total\": {\"live_bytes\": %" PRIu64 ", \"peak_live_bytes\": %" PRIu64
            "},\n  \"sample_period_bytes\": %" PRIu64 ",\n  \"dropped_samples\": %" PRIu64
            ",\n  \"resident_method\": \"%s\",\n",
            kms_report_pos(snap->live), kms_report_pos(snap->peak), snap->period, snap->dropped,
            method);
    struct kms_decommit_counts d;
    kms_decommit_counts(&d);
    fprintf(f,
            "  \"kept_for_reuse\": {\"kept_bytes\": %" PRIu64 ", \"reused_bytes\": %" PRIu64
            ", \"returned_later_bytes\": %" PRIu64
            ", \"kept_now_bytes\": %zu},\n  \"top_callsites\": [",
            d.held, d.reused, d.made, d.holding);
}

static void json_site(FILE *f, const struct kms_stats_site *s, const struct kms_site_name *nm,
                      const char *routes, size_t i)
{
    fprintf(f, "%s\n    {\"callsite\": ", i ? "," : "");
    json_str(f, nm->where);
    fprintf(f, ", \"symbol\": ");
    json_str(f, nm->symbol);
    if (nm->parent_where[0]) {
        fprintf(f, ", \"parent\": ");
        json_str(f, nm->parent_where);
        fprintf(f, ", \"parent_symbol\": ");
        json_str(f, nm->parent_symbol);
    }
    fprintf(f,
            ", \"routes\": \"%s\", \"allocations\": %" PRIu64 ", \"bytes_requested\": %" PRIu64
            ", \"peak_live_bytes\": %" PRIu64 "}",
            routes, kms_report_est(s->count), kms_report_est(s->bytes), kms_report_pos(s->peak));
}

static void json_tail(FILE *f, size_t ntop)
{
    fprintf(f, "%s]", ntop ? "\n  " : "");
    if (kms_access_on) kms_access_stats_json(f);
    kms_tier_stats_json(f);
    fprintf(f, "\n}\n");
}

static const struct writer text_writer = {text_head,   text_route,   text_cls,
                                          text_node,   text_cls_end, text_route_end,
                                          text_totals, text_site,    text_tail};
static const struct writer json_writer = {json_head,   json_route,   json_cls,
                                          json_node,   json_cls_end, json_route_end,
                                          json_totals, json_site,    json_tail};

void kms_report_write_stats(FILE *f, bool json, struct kms_stats_snapshot *snap,
                            const bool uses[KMS_TARGET_COUNT])
{
    const struct writer *w = json ? &json_writer : &text_writer;
    struct kms_resident res;
    kms_resident_measure(&res);
    qsort(snap->sites, snap->nsites, sizeof(*snap->sites), by_bytes);
    size_t ntop = snap->nsites < TOP_SITES ? snap->nsites : TOP_SITES;
    int stride = res.max_node + 1;

    bool shown[KMS_TARGET_COUNT];
    for (int r = 0; r < KMS_TARGET_COUNT; r++)
        shown[r] = snap->route[r].count || uses[r];
    int width = kms_report_route_width(shown);
    w->head(f, snap, width);
    bool first = true;
    for (int r = 0; r < KMS_TARGET_COUNT; r++) {
        if (!shown[r]) continue;
        w->route(f, &(struct route_row){r, &snap->route[r]}, first, width);
        first = false;
        bool used[KMS_MAX_CLASSES];
        kms_target_classes(r, used);
        bool any = false;
        for (int c = 0; c < kms_nclasses; c++) {
            if (!used[c]) continue;
            char set[256];
            kms_nodeset_format(&kms_classes[c].pl.set, set, sizeof(set));
            w->cls(f,
                   &(struct class_row){kms_mode_name(kms_classes[c].pl.mode), set,
                                       kms_classes[c].reserved_bytes},
                   !any);
            any = true;
            bool firstn = true;
            uint64_t sum = 0;
            for (int nd = 0; res.bytes && nd <= res.max_node; nd++) {
                uint64_t b = res.bytes[c * stride + nd];
                if (!b) continue;
                sum += b;
                w->node(f, nd, b, firstn);
                firstn = false;
            }
            w->cls_end(f, sum);
        }
        w->route_end(f, any);
    }
    w->totals(f, snap, res.method, width, ntop);
    /* No source lines here: reading debug information costs a tenth of a
     * second or more at every exit (and every exec-ed child reports); the
     * profile has them. */
    for (size_t i = 0; i < ntop; i++) {
        const struct kms_stats_site *s = &snap->sites[i].s;
        struct kms_site_name nm;
        char routes[512];
        kms_report_site_name(snap->sites[i].id, s->addr, s->parent, NULL, NULL, &nm);
        kms_report_routes_of(s->routes, routes, sizeof(routes));
        w->site(f, s, &nm, routes, i);
    }
    w->tail(f, ntop);
    kms_resident_free(&res);
}
