/* SPDX-License-Identifier: MIT */
#include "core/profile_format.h"

#include <string.h>

const char *const kms_profile_col_names[KMS_PCOL_N] = {
    [KMS_PCOL_PEAK] = "peak_live",
    [KMS_PCOL_COUNT] = "count",
    [KMS_PCOL_BYTES] = "bytes",
    [KMS_PCOL_LIVE] = "live_at_exit",
    [KMS_PCOL_ROUTES] = "routes",
    [KMS_PCOL_CALLSITE] = "callsite",
    [KMS_PCOL_SYMBOL] = "symbol",
    [KMS_PCOL_SOURCE] = "source",
    [KMS_PCOL_SIZES] = "sizes",
    [KMS_PCOL_RESIDENT_PEAK] = "resident_peak",
    [KMS_PCOL_TOUCHED_AVG] = "touched_avg",
    [KMS_PCOL_TOUCHED_PEAK] = "touched_peak",
    [KMS_PCOL_WRITTEN_AVG] = "written_avg",
    [KMS_PCOL_TOUCHES] = "touches",
    [KMS_PCOL_PARENT] = "parent",
    [KMS_PCOL_PARENT_SYMBOL] = "parent_symbol",
};

bool kms_profile_is_column_line(const char *line)
{
    size_t n = strlen(kms_profile_col_names[KMS_PCOL_PEAK]);
    return strncmp(line, "# ", 2) == 0 &&
           strncmp(line + 2, kms_profile_col_names[KMS_PCOL_PEAK], n) == 0 && line[2 + n] == '\t';
}

int kms_profile_columns_parse(const char *line, bool access, struct kms_profile_columns *out,
                              const char **why)
{
    for (int c = 0; c < KMS_PCOL_N; c++)
        out->at[c] = -1;
    out->n = 0;
    if (!kms_profile_is_column_line(line)) {
        *why = "not a column line ('# peak_live<TAB>count...')";
        return -1;
    }
    for (const char *p = line + 2;; out->n++) {
        size_t len = strcspn(p, "\t");
        for (int c = 0; c < KMS_PCOL_N; c++)
            if (out->at[c] < 0 && strlen(kms_profile_col_names[c]) == len &&
                memcmp(p, kms_profile_col_names[c], len) == 0)
                out->at[c] = out->n;
        if (!p[len]) {
            out->n++;
            break;
        }
        p += len + 1;
    }
    for (int c = 0; c <= KMS_PCOL_LAST_PLAIN; c++)
        if (out->at[c] < 0) {
            *why = "the column line lacks a column every profile has (peak_live, count, bytes, "
                   "live_at_exit, routes, callsite, symbol, source, sizes)";
            return -1;
        }
    /* The access figures suggest plans by; the parent comes with them, but a
     * profile written before it existed has none (every row a callsite). */
    bool any = false, all = true;
    for (int c = KMS_PCOL_RESIDENT_PEAK; c <= KMS_PCOL_TOUCHES; c++) {
        any |= out->at[c] >= 0;
        all &= out->at[c] >= 0;
    }
    if (any && !all) {
        *why = "the column line has some access columns but not all (resident_peak, "
               "touched_avg, touched_peak, written_avg, touches)";
        return -1;
    }
    if (access && !all) {
        *why = "the header has an '# access' line but the column line no access columns";
        return -1;
    }
    if ((out->at[KMS_PCOL_PARENT] < 0) != (out->at[KMS_PCOL_PARENT_SYMBOL] < 0)) {
        *why = "the column line has one of parent and parent_symbol without the other";
        return -1;
    }
    return 0;
}

int kms_profile_row_split(char *line, const struct kms_profile_columns *cols,
                          const char *field[KMS_PCOL_N])
{
    for (int c = 0; c < KMS_PCOL_N; c++)
        field[c] = NULL;
    int k = 0;
    for (char *p = line;; k++) {
        size_t len = strcspn(p, "\t");
        for (int c = 0; c < KMS_PCOL_N; c++)
            if (cols->at[c] == k) field[c] = p;
        if (!p[len]) {
            k++;
            break;
        }
        p[len] = '\0';
        p += len + 1;
    }
    return k;
}
