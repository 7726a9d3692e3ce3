/* SPDX-License-Identifier: MIT */
/* The reports of KMEM_STATS and KMEM_PROFILE: where they go, and writing
 * them from a snapshot of the statistics (core/stats.h) at exit. */
#ifndef KMS_CORE_REPORT_H
#define KMS_CORE_REPORT_H
#include "core/target.h"

#include <stdbool.h>
#include <stddef.h>

/* stats: "stderr", a path pattern or NULL; profile: a path pattern or NULL
 * (%p in a pattern is the process id; a stats path ending in .json gets
 * JSON). uses: the targets some request can reach. announce_profile: the
 * user did not choose the profile's name (KMEM_PROFILE=1), so it is printed
 * on stderr once written. Registers the report at exit; nothing when both
 * are NULL. Counting must be on (kms_stats_start). */
void kms_report_setup(const char *stats, const char *profile, bool announce_profile,
                      const bool uses[KMS_TARGET_COUNT]);

/* Writes the reports now (also at exit). */
void kms_report_write(void);

/* "PATH" with every %p replaced by pid (and %% by %). Returns snprintf's. */
int kms_report_expand_path(const char *pattern, long pid, char *out, size_t outlen);

#endif
