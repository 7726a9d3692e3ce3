/* SPDX-License-Identifier: MIT */
/* The access figures in the profile (extra columns, and header lines a reader
 * that does not know them skips as comments) and in the KMEM_STATS report (per
 * route, the share of touches next to the share of resident bytes). */
#include "core/access.h"

#include "core/access_units.h"
#include "core/report_writers.h"
#include "core/size.h"
#include "core/target.h"
#include "core/tier.h"

#include <inttypes.h>
#include <string.h>
#include <unistd.h>

static void written(FILE *f, const struct kms_access_figures *x, bool soft_dirty)
{
    if (soft_dirty)
        fprintf(f, "%" PRIu64, kms_report_est(x->written_avg));
    else
        fprintf(f, "n/a");
}

/* touches: pages found referenced, summed over the intervals. */
static void figures(FILE *f, const struct kms_access_figures *x, bool soft_dirty)
{
    long pagesz = sysconf(_SC_PAGESIZE);
    fprintf(f, "%" PRIu64 "\t%" PRIu64 "\t%" PRIu64 "\t", x->resident_peak,
            kms_report_est(x->touched_avg), x->touched_peak);
    written(f, x, soft_dirty);
    fprintf(f, "\t%" PRIu64, kms_report_est(x->touched_sum / (double)pagesz));
}

void kms_access_profile_header(FILE *f)
{
    struct kms_access_info in;
    kms_access_get_info(&in);
    /* One line of facts, then the untracked memory per route. Without
     * clearing there are no figures: the backend says why, and samples is 0. */
    fprintf(f,
            "# access interval_ms %u samples %" PRIu64 " written %s tracked %u untracked %u"
            " min_bytes %u max_tracked %u backend %s sampling_seconds %.3f interval_now_ms %u\n",
            in.interval_ms, in.samples, in.soft_dirty ? "soft-dirty" : "n/a", in.tracked,
            in.untracked, KMS_ACCESS_MIN_BYTES, KMS_ACCESS_UNITS,
            in.blind ? "none" : "clear_refs+smaps", in.sample_seconds, in.interval_now_ms);
    if (in.blind)
        fprintf(f, "# access none: the accessed bits cannot be cleared (%s)\n", in.blind_why);
    fprintf(f, "# access_other\troute\tresident_peak\ttouched_avg\ttouched_peak\twritten_avg"
               "\ttouches\n");
    for (int r = 0; r < KMS_TARGET_COUNT; r++) {
        struct kms_access_figures all, other;
        kms_access_route(r, &all, &other);
        if (!other.samples || (!other.resident_peak && !other.touched_peak)) continue;
        fprintf(f, "# access_other\t%s\t", kms_target_name(r));
        figures(f, &other, in.soft_dirty);
        fprintf(f, "\n");
    }
}

void kms_access_profile_columns(FILE *f, uintptr_t caller, uintptr_t parent)
{
    struct kms_access_figures x;
    if (!caller || kms_access_blind || !kms_access_site(caller, parent, &x)) {
        fprintf(f, "\t-\t-\t-\t-\t-");
        return;
    }
    fprintf(f, "\t");
    figures(f, &x, kms_access_soft_dirty);
}

struct shares {
    double touches[KMS_TARGET_COUNT], resident[KMS_TARGET_COUNT];
    double all_touches, all_resident;
    bool used[KMS_TARGET_COUNT];
};

static void shares_of(struct shares *s)
{
    memset(s, 0, sizeof(*s));
    for (int r = 0; r < KMS_TARGET_COUNT; r++) {
        struct kms_access_figures all, other;
        kms_access_route(r, &all, &other);
        s->used[r] = all.samples > 0 && (all.touched_sum > 0 || all.resident_peak > 0);
        s->touches[r] = all.touched_sum;
        s->resident[r] = (double)all.resident_peak;
        s->all_touches += all.touched_sum;
        s->all_resident += (double)all.resident_peak;
    }
}

static double pct(double part, double whole) { return whole > 0 ? 100.0 * part / whole : 0.0; }

void kms_access_stats_text(FILE *f)
{
    struct kms_access_info in;
    struct shares s;
    kms_access_get_info(&in);
    if (in.blind) {
        fprintf(f,
                "accesses (KMEM_ACCESS): none measured: the accessed bits cannot be cleared "
                "(%s)\n",
                in.blind_why);
        return;
    }
    shares_of(&s);
    char grown[64] = "";
    if (in.interval_now_ms != in.interval_ms)
        snprintf(grown, sizeof(grown), " (lengthened to %u ms by KMEM_ACCESS_COST)",
                 in.interval_now_ms);
    fprintf(f,
            "accesses (KMEM_ACCESS): %" PRIu64 " intervals of %u ms%s, %u callsites tracked; "
            "writes %s\n",
            in.samples, in.interval_ms, grown, in.tracked,
            in.soft_dirty ? "from soft-dirty bits" : "n/a (no soft-dirty bits in this kernel)");
    int width = kms_report_route_width(s.used);
    fprintf(f, "%-*s %18s %22s\n", width, "route", "share of touches", "share of resident peak");
    for (int r = 0; r < KMS_TARGET_COUNT; r++)
        if (s.used[r])
            fprintf(f, "%-*s %17.1f%% %21.1f%%\n", width, kms_target_name(r),
                    pct(s.touches[r], s.all_touches), pct(s.resident[r], s.all_resident));
    if (kms_tier_on)
        fprintf(f, "(by the route the requests took; runtime tiering moves the tracked callsites' "
                   "memory between DRAM and KMEM: its section says what DRAM served)\n");
}

void kms_access_stats_json(FILE *f)
{
    struct kms_access_info in;
    struct shares s;
    kms_access_get_info(&in);
    shares_of(&s);
    fprintf(f,
            ",\n  \"access\": {\"interval_ms\": %u, \"interval_now_ms\": %u, \"samples\": %" PRIu64
            ", \"tracked\": %u, \"written\": %s, \"blind\": %s, \"rewalk_us\": %.3f, "
            "\"sampling_seconds\": %.3f, \"routes\": [",
            in.interval_ms, in.interval_now_ms, in.samples, in.tracked,
            in.soft_dirty ? "true" : "null", in.blind ? "true" : "false", in.rewalk_us,
            in.sample_seconds);
    bool first = true;
    for (int r = 0; r < KMS_TARGET_COUNT; r++) {
        if (!s.used[r]) continue;
        fprintf(f, "%s{\"route\": \"%s\", \"touch_share\": %.4f, \"resident_share\": %.4f}",
                first ? "" : ", ", kms_target_name(r), pct(s.touches[r], s.all_touches) / 100,
                pct(s.resident[r], s.all_resident) / 100);
        first = false;
    }
    fprintf(f, "]}");
}
