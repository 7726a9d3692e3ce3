/* SPDX-License-Identifier: MIT */
#include "core/span_set.h"

#include <string.h>

static void erase(struct kms_span_set *set, unsigned i)
{
    set->bytes -= set->s[i].end - set->s[i].start;
    memmove(&set->s[i], &set->s[i + 1], (set->n - i - 1) * sizeof(set->s[0]));
    set->n--;
}

static void insert(struct kms_span_set *set, unsigned i, struct kms_span sp)
{
    memmove(&set->s[i + 1], &set->s[i], (set->n - i) * sizeof(set->s[0]));
    set->s[i] = sp;
    set->n++;
    set->bytes += sp.end - sp.start;
}

bool kms_span_set_add(struct kms_span_set *set, uintptr_t start, uintptr_t end, uint64_t due)
{
    if (start >= end) return true;
    /* The spans it overlaps or touches, [i, j): they become one. */
    unsigned i = 0;
    while (i < set->n && set->s[i].end < start)
        i++;
    unsigned j = i;
    struct kms_span sp = {start, end, due};
    while (j < set->n && set->s[j].start <= end) {
        if (set->s[j].start < sp.start) sp.start = set->s[j].start;
        if (set->s[j].end > sp.end) sp.end = set->s[j].end;
        if (set->s[j].due > sp.due) sp.due = set->s[j].due;
        j++;
    }
    if (i == j && set->n == KMS_SPAN_SET_MAX) return false;
    while (j > i)
        erase(set, --j);
    insert(set, i, sp);
    return true;
}

bool kms_span_set_remove(struct kms_span_set *set, uintptr_t start, uintptr_t end,
                         struct kms_span *spill)
{
    if (start >= end) return false;
    for (unsigned i = 0; i < set->n; i++) {
        struct kms_span *s = &set->s[i];
        if (s->end <= start) continue;
        if (s->start >= end) break;
        if (s->start < start && s->end > end) {
            /* Strictly inside: the span is cut in two. */
            struct kms_span right = {end, s->end, s->due};
            set->bytes -= s->end - start;
            s->end = start;
            if (set->n < KMS_SPAN_SET_MAX) {
                insert(set, i + 1, right);
                return false;
            }
            *spill = right;
            return true;
        }
        if (s->start < start) { /* its right part goes */
            set->bytes -= s->end - start;
            s->end = start;
        } else if (s->end > end) { /* its left part goes; nothing further can meet */
            set->bytes -= end - s->start;
            s->start = end;
            break;
        } else { /* all of it goes */
            erase(set, i);
            i--;
        }
    }
    return false;
}

bool kms_span_set_overlaps(const struct kms_span_set *set, uintptr_t start, uintptr_t end)
{
    for (unsigned i = 0; i < set->n && set->s[i].start < end; i++)
        if (set->s[i].end > start) return true;
    return false;
}

bool kms_span_set_take_first_due(struct kms_span_set *set, struct kms_span *out)
{
    if (set->n == 0) return false;
    unsigned best = 0;
    for (unsigned i = 1; i < set->n; i++)
        if (set->s[i].due < set->s[best].due) best = i;
    *out = set->s[best];
    erase(set, best);
    return true;
}

uint64_t kms_span_set_next_due(const struct kms_span_set *set)
{
    uint64_t due = UINT64_MAX;
    for (unsigned i = 0; i < set->n; i++)
        if (set->s[i].due < due) due = set->s[i].due;
    return due;
}
