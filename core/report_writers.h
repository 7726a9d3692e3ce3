/* SPDX-License-Identifier: MIT */
/* The report writers' shared pieces: a snapshot's callsites named, and the
 * small formatting helpers both writers use. Private to core/report*.c. */
#ifndef KMS_CORE_REPORT_WRITERS_H
#define KMS_CORE_REPORT_WRITERS_H
#include "core/elflibs.h"
#include "core/expmath.h"
#include "core/stats.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct kms_site_name {
    char where[512];  /* "module+0xoffset", "0x..." or "(other callsites)" */
    char symbol[512]; /* "function+0xoff" or "" */
    char source[512]; /* "file:line" or "" (only with a Dwfl session) */
    /* A wrapper's caller, for access mode's context groups: as where and
     * symbol; "" for a callsite's own group. */
    char parent_where[512];
    char parent_symbol[512];
};

/* Names site id (0: the "other callsites" bucket): its callsite addr and, for
 * a wrapper's context, the caller parent (0: none); dwfl NULL: no source lines. */
void kms_report_site_name(uint32_t id, uintptr_t addr, uintptr_t parent, const struct kms_libdw *D,
                          Dwfl *dwfl, struct kms_site_name *out);
/* A session over this process's modules for source lines, or NULL. */
Dwfl *kms_report_dwfl_open(const struct kms_libdw *D);
/* "dram,dax_kmem" from a bit mask of targets; "-" when empty. */
void kms_report_routes_of(uint16_t mask, char *buf, size_t len);

/* The width of a route column: the longest name among the targets shown
 * ("weighted_interleave_all"), and at least 10. */
int kms_report_route_width(const bool shown[KMS_TARGET_COUNT]);

static inline uint64_t kms_report_pos(int64_t v) { return v > 0 ? (uint64_t)v : 0; }
/* An estimate, as a count. */
static inline uint64_t kms_report_est(double v) { return v > 0.5 ? (uint64_t)kms_round(v) : 0; }

/* KMEM_STATS: text, or JSON (json true). uses: the targets some request can
 * reach, shown even when nothing went there. */
void kms_report_write_stats(FILE *f, bool json, struct kms_stats_snapshot *snap,
                            const bool uses[KMS_TARGET_COUNT]);
/* KMEM_PROFILE: one tab-separated line per callsite, the input of `kmemshim suggest`. */
void kms_report_write_profile(FILE *f, struct kms_stats_snapshot *snap);

#endif
