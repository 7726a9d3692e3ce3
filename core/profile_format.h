/* SPDX-License-Identifier: MIT */
/* The profile's format (KMEM_PROFILE): what core/report_profile.c writes and
 * `kmemshim suggest` reads, named in one place.
 *
 * A profile is text: a first line KMS_PROFILE_MAGIC, header lines that start
 * with '#', the last of them the column line ("# " then the column names,
 * tab-separated), then one tab-separated row per group of memory: a callsite,
 * or (access mode) a wrapper's callsite with one caller of it. Readers find a
 * column by its name in the column line, never by its position: columns may
 * be added (the access figures, the parent), and a reader that does not know
 * one skips it. A field that has no value is "-". */
#ifndef KMS_CORE_PROFILE_FORMAT_H
#define KMS_CORE_PROFILE_FORMAT_H

#include <stdbool.h>

#define KMS_PROFILE_MAGIC "# kmemshim profile 1"

enum kms_profile_col {
    KMS_PCOL_PEAK,          /* peak_live: bytes live at the group's peak */
    KMS_PCOL_COUNT,         /* count: allocations */
    KMS_PCOL_BYTES,         /* bytes: requested, in all */
    KMS_PCOL_LIVE,          /* live_at_exit */
    KMS_PCOL_ROUTES,        /* routes the requests took: "dram,kmem" */
    KMS_PCOL_CALLSITE,      /* MODULE+0xOFF, the return address into the allocator */
    KMS_PCOL_SYMBOL,        /* function+0xoff */
    KMS_PCOL_SOURCE,        /* file:line of the call */
    KMS_PCOL_SIZES,         /* the size histogram: LIMIT:COUNT,... */
    KMS_PCOL_RESIDENT_PEAK, /* access mode: bytes resident at the busiest sample */
    KMS_PCOL_TOUCHED_AVG,   /* bytes touched per interval, averaged */
    KMS_PCOL_TOUCHED_PEAK,  /* bytes touched in the busiest interval */
    KMS_PCOL_WRITTEN_AVG,   /* bytes written per interval, or n/a */
    KMS_PCOL_TOUCHES,       /* pages found touched, summed over the intervals */
    KMS_PCOL_PARENT,        /* a wrapper's caller (MODULE+0xOFF) for a context's row */
    KMS_PCOL_PARENT_SYMBOL, /* its function+0xoff */
    KMS_PCOL_N
};

/* The columns' names, as the column line has them. */
extern const char *const kms_profile_col_names[KMS_PCOL_N];
/* The last column a profile without access figures has, and the last one
 * with them. */
#define KMS_PCOL_LAST_PLAIN KMS_PCOL_SIZES
#define KMS_PCOL_LAST_ACCESS KMS_PCOL_PARENT_SYMBOL

/* Where each known column is in a profile's rows: -1 where it has none. */
struct kms_profile_columns {
    int at[KMS_PCOL_N];
    int n; /* columns in the line, known or not */
};

/* Whether line (without its newline) is a column line: "# peak_live<TAB>". */
bool kms_profile_is_column_line(const char *line);

/* Reads a column line. Every column up to sizes must be there, and either
 * all access columns or none (access: whether the header said the profile
 * has access figures, which then must be there). Returns 0, or -1 with the
 * reason in *why (a static string). */
int kms_profile_columns_parse(const char *line, bool access, struct kms_profile_columns *out,
                              const char **why);

/* Splits a row in place (line loses its tabs): field[c] is column c's text,
 * or NULL when the profile or this row has no column c. Returns the number
 * of fields the row has: fewer than cols->n is a row cut short. */
int kms_profile_row_split(char *line, const struct kms_profile_columns *cols,
                          const char *field[KMS_PCOL_N]);

#endif
