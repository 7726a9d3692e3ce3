/* SPDX-License-Identifier: MIT */
/* A set of disjoint address ranges, each with the time it falls due: the
 * decommits the shim holds back (core/decommit.c). Fixed capacity and no
 * allocation, so that it can be used inside the allocator; every operation is
 * a function of the set and its arguments alone (no clock, no system call), so
 * that tests run it on fixtures.
 *
 * Invariants, kept by every operation: the spans are sorted by start, disjoint
 * and not touching (two adjacent ranges are one span), none is empty, n <=
 * KMS_SPAN_SET_MAX, and bytes is the sum of their lengths. Ranges are
 * half-open, [start, end). */
#ifndef KMS_CORE_SPAN_SET_H
#define KMS_CORE_SPAN_SET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KMS_SPAN_SET_MAX 128

struct kms_span {
    uintptr_t start, end;
    uint64_t due; /* when it should be acted on; merged spans keep the later */
};

struct kms_span_set {
    unsigned n;
    size_t bytes;
    struct kms_span s[KMS_SPAN_SET_MAX];
};

/* Adds [start, end), due at `due`, joining what it overlaps or touches (the
 * joined span is due at the latest of their times). Returns false, and leaves
 * the set without any part of [start, end), when the set has no room for it:
 * the caller then acts on the whole range at once. start < end. */
bool kms_span_set_add(struct kms_span_set *set, uintptr_t start, uintptr_t end, uint64_t due);

/* Takes [start, end) out of the set: what it covers of each span goes, the
 * rest stays. Cutting a span in two needs a slot: when the set is full the
 * right-hand piece is taken out too and returned in *spill (true returned),
 * for the caller to act on now. Empty or disjoint ranges change nothing. */
bool kms_span_set_remove(struct kms_span_set *set, uintptr_t start, uintptr_t end,
                         struct kms_span *spill);

/* Whether any span meets [start, end). */
bool kms_span_set_overlaps(const struct kms_span_set *set, uintptr_t start, uintptr_t end);

/* Takes out the span due first (the lowest start among equals) into *out.
 * Returns false when the set is empty. */
bool kms_span_set_take_first_due(struct kms_span_set *set, struct kms_span *out);

/* The earliest due time, or UINT64_MAX when the set is empty. */
uint64_t kms_span_set_next_due(const struct kms_span_set *set);

#endif
