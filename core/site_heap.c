/* SPDX-License-Identifier: MIT */
#include "core/site_heap.h"

#include <string.h>

__thread struct kms_site_memo kms_site_memo __attribute__((tls_model("initial-exec")));

/* The heap kms_alloc would take for target now; NULL when it would not be
 * a plain heap call (per-CPU class, no heap yet). */
static mi_heap_t *heap_of_target(int target)
{
    int cls = kms_target_class[target];
    if (cls == KMS_CLASS_BY_CPU) return NULL;
    /* The plain heap: the thread's default one, set up once it has served a request. */
    return cls < 0 ? mi_heap_get_default() : kms_self.cur[cls];
}

void kms_site_heap_learn_heaps(uintptr_t caller, uint64_t bound, mi_heap_t *below, mi_heap_t *above)
{
    if (caller == 0 || kms_bypassed(&kms_self) || (!below && !above)) return;
    struct kms_site_heap *e = &kms_site_memo.slot[kms_site_heap_slot(caller)];
    *e = (struct kms_site_heap){.caller = caller, .bound = bound, .heap = {below, above}};
}

void kms_site_heap_learn(uintptr_t caller, uint64_t bound, int below, int above)
{
    kms_site_heap_learn_heaps(caller, bound, below < 0 ? NULL : heap_of_target(below),
                              above < 0 ? NULL : heap_of_target(above));
}

void kms_site_heap_forget(void) { memset(&kms_site_memo, 0, sizeof(kms_site_memo)); }
