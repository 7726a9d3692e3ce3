/* SPDX-License-Identifier: MIT */
#include "core/report_writers.h"

#include "core/access.h"
#include "core/profile_format.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <unistd.h>

/* Sorted by peak live bytes, then bytes requested, descending. */
static int by_peak(const void *a, const void *b)
{
    int64_t x = ((const struct kms_stats_site_copy *)a)->s.peak,
            y = ((const struct kms_stats_site_copy *)b)->s.peak;
    if (x != y) return x < y ? 1 : -1;
    double x2 = ((const struct kms_stats_site_copy *)a)->s.bytes;
    double y2 = ((const struct kms_stats_site_copy *)b)->s.bytes;
    return x2 < y2 ? 1 : x2 > y2 ? -1 : 0;
}

void kms_report_write_profile(FILE *f, struct kms_stats_snapshot *snap)
{
    qsort(snap->sites, snap->nsites, sizeof(*snap->sites), by_peak);
    const char *prog = program_invocation_name;
    fprintf(f, KMS_PROFILE_MAGIC "\n");
    fprintf(f, "# pid %ld program %s\n", (long)getpid(), prog ? prog : "?");
    fprintf(f, "# total peak_live %" PRIu64 " live_at_exit %" PRIu64 "\n",
            kms_report_pos(snap->peak), kms_report_pos(snap->live));
    /* 0: every block was recorded and the numbers are exact; otherwise they
     * are estimates from blocks sampled once per that many bytes. */
    fprintf(f, "# sample_period %" PRIu64 "\n", snap->period);
    if (kms_access_on) kms_access_profile_header(f);
    int last = kms_access_on ? KMS_PCOL_LAST_ACCESS : KMS_PCOL_LAST_PLAIN;
    for (int c = 0; c <= last; c++)
        fprintf(f, "%s%s", c ? "\t" : "# ", kms_profile_col_names[c]);
    fprintf(f, "\n");
    const struct kms_libdw *D = kms_libdw();
    Dwfl *dwfl = kms_report_dwfl_open(D);
    for (size_t i = 0; i < snap->nsites; i++) {
        const struct kms_stats_site *s = &snap->sites[i].s;
        struct kms_site_name nm;
        char rt[64];
        kms_report_site_name(snap->sites[i].id, s->addr, s->parent, D, dwfl, &nm);
        kms_report_routes_of(s->routes, rt, sizeof(rt));
        fprintf(f, "%" PRIu64 "\t%" PRIu64 "\t%" PRIu64 "\t%" PRIu64 "\t%s\t%s\t%s\t%s\t",
                kms_report_pos(s->peak), kms_report_est(s->count), kms_report_est(s->bytes),
                kms_report_pos(s->live), rt, snap->sites[i].id ? nm.where : "-",
                nm.symbol[0] ? nm.symbol : "-", nm.source[0] ? nm.source : "-");
        bool first = true;
        for (int b = 0; b < KMS_STATS_HIST; b++) {
            if (kms_report_est(s->hist[b]) == 0) continue;
            uint64_t lim = kms_stats_bucket_limit(b);
            if (lim == UINT64_MAX)
                fprintf(f, "%smax:%" PRIu64, first ? "" : ",", kms_report_est(s->hist[b]));
            else
                fprintf(f, "%s%" PRIu64 ":%" PRIu64, first ? "" : ",", lim,
                        kms_report_est(s->hist[b]));
            first = false;
        }
        if (kms_access_on) {
            if (first) fprintf(f, "-"); /* the columns after it must not shift */
            kms_access_profile_columns(f, snap->sites[i].id ? s->addr : 0, s->parent);
            fprintf(f, "\t%s\t%s", nm.parent_where[0] ? nm.parent_where : "-",
                    nm.parent_symbol[0] ? nm.parent_symbol : "-");
        }
        fprintf(f, "\n");
    }
    if (dwfl) D->end(dwfl);
}
