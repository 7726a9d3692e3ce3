#include "preload/entry.h"

void *kms_entry_malloc_full(size_t size, const void *caller)
{
    void *p = kms_entry_alloc(size, 0, false, caller);
    if (p && kms_fast_ok) kms_fast_learn(size, kms_route_decide(size, caller));
    return p;
}

void *kms_entry_realloc(void *p, size_t size, const void *caller)
{
    if (!p) return kms_entry_alloc(size, 0, false, caller);
    if (size == 0) {
        kms_entry_free(p);
        return NULL;
    }
    int target = kms_route_decide(size, caller);
    if (__builtin_expect(!kms_stats_on, 1)) return kms_realloc_routed(p, size, target);
    struct kms_sampled_rec r;
    bool had = kms_stats_realloc_begin(p, &r);
    void *q = kms_access_on ? kms_access_realloc(p, size, target, caller)
                            : kms_realloc_routed(p, size, target);
    if (!q) {
        if (had) kms_stats_realloc_failed(&r); /* p is still the caller's */
        return NULL;
    }
    kms_stats_note(q, size, target, caller);
    return q;
}
