/* SPDX-License-Identifier: MIT */
#include "core/engine.h"

#include "core/decommit.h"
#include "core/site_heap.h"

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

__thread struct kms_thread kms_self __attribute__((tls_model("initial-exec")));
_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__ &&
                   offsetof(struct kms_thread, bypass) == offsetof(struct kms_thread, plain_only),
               "kms_bypass_leave reads bypass as plain_only's low half");
int kms_state;
int8_t kms_target_class[KMS_TARGET_COUNT] = {[0 ... KMS_TARGET_COUNT - 1] = -1};
int8_t kms_node_class[KMS_MAX_NODES][KMS_TARGET_COUNT];
int16_t kms_cpu_node[KMS_MAX_CPUS];

extern void *__dso_handle __attribute__((weak));
extern int __cxa_thread_atexit_impl(void (*fn)(void *), void *obj, void *dso);

int kms_class_by_cpu(int target)
{
    int cpu = sched_getcpu();
    int node = (cpu >= 0 && cpu < KMS_MAX_CPUS) ? kms_cpu_node[cpu] : 0;
    return kms_node_class[node][target];
}

void *kms_plain_alloc(size_t size, size_t align, bool zero)
{
    if (size > PTRDIFF_MAX) {
        errno = ENOMEM;
        return NULL;
    }
    void *p = kms_heap_alloc(mi_heap_get_default(), size, align, zero);
    if (!p) errno = ENOMEM;
    return p;
}

static int find_class(const struct kms_placement *pl)
{
    for (int i = 0; i < kms_nclasses; i++)
        if (kms_placement_equal(&kms_classes[i].pl, pl)) return i;
    return -1;
}

/* The nodes kms_node_class holds: the entries past them are not the machine's. */
static int engine_nodes;

void kms_engine_setup(const struct kms_topology *topo, const struct kms_plan *plan,
                      uint64_t arena_chunk)
{
    struct kms_nodeset all_mem = topo->with_memory;
    uint64_t total = kms_topology_capacity(topo, &all_mem);
    kms_arena_chunk = arena_chunk;
    /* CPUs past the topology's count read as node 0. Only the entries written so far are
     * cleared: the whole table is 16 KiB, four pages a short process need not touch. */
    static int cpus_set;
    int ncpus = topo->ncpus < KMS_MAX_CPUS ? topo->ncpus : KMS_MAX_CPUS;
    for (int c = 0; c < ncpus || c < cpus_set; c++)
        kms_cpu_node[c] = (c < ncpus && topo->cpu_node[c] >= 0) ? topo->cpu_node[c] : 0;
    cpus_set = ncpus;
    int dram_cls = KMS_CLASS_PLAIN;
    for (int t = 0; t < KMS_TARGET_COUNT; t++) {
        for (int n = 0; n <= plan->max_node && n < KMS_MAX_NODES; n++) {
            const struct kms_placement *pl = &plan->at[t][n];
            int cls = KMS_CLASS_PLAIN;
            if (pl->mode != KMS_MODE_DEFAULT) {
                cls = find_class(pl);
                if (cls < 0 && kms_nclasses < KMS_MAX_CLASSES) {
                    cls = kms_nclasses++;
                    struct kms_class *c = &kms_classes[cls];
                    memset(c, 0, sizeof(*c));
                    c->pl = *pl;
                    /* A bound class is sized to what its nodes hold; a preferred one
                     * spills over, so it may use as much as the machine has. */
                    c->reserve_cap = pl->mode == KMS_MODE_BIND
                                         ? kms_bind_reservation(
                                               kms_topology_capacity(topo, &pl->set), topo->ncpus)
                                         : total;
                    if (c->reserve_cap < KMS_ARENA_MIN) c->reserve_cap = KMS_ARENA_MIN;
                    c->fallback = KMS_FALLBACK_NONE;
                }
            }
            if (t == KMS_TARGET_DRAM) dram_cls = cls;
            kms_node_class[n][t] = (int8_t)cls;
        }
    }
    for (int i = 0; i < kms_nclasses; i++) {
        int mode = kms_classes[i].pl.mode;
        if (mode == KMS_MODE_PREFERRED || mode == KMS_MODE_PREFERRED_MANY)
            kms_classes[i].fallback = dram_cls;
    }
    int nodes = plan->max_node + 1 < KMS_MAX_NODES ? plan->max_node + 1 : KMS_MAX_NODES;
    __atomic_store_n(&engine_nodes, nodes, __ATOMIC_RELEASE);
    for (int t = 0; t < KMS_TARGET_COUNT; t++) {
        int8_t cls = plan->uniform[t] ? kms_node_class[0][t] : KMS_CLASS_BY_CPU;
        __atomic_store_n(&kms_target_class[t], cls, __ATOMIC_RELEASE);
    }
}

void kms_target_classes(int target, bool used[KMS_MAX_CLASSES])
{
    memset(used, 0, sizeof(bool) * KMS_MAX_CLASSES);
    int cls = __atomic_load_n(&kms_target_class[target], __ATOMIC_ACQUIRE);
    if (cls >= 0 && cls < KMS_MAX_CLASSES) used[cls] = true;
    if (cls != KMS_CLASS_BY_CPU) return;
    int nodes = __atomic_load_n(&engine_nodes, __ATOMIC_ACQUIRE);
    for (int n = 0; n < nodes; n++) {
        int c = kms_node_class[n][target];
        if (c >= 0 && c < KMS_MAX_CLASSES) used[c] = true;
    }
}

uint64_t kms_fast_threshold = UINT64_MAX;
uint64_t kms_fast_small_end = MI_SMALL_SIZE_MAX + 1;
bool kms_fast_ok;
bool kms_fast_counted;
int kms_fast_target[2];
static bool counted_above; /* counted[1] may be set */

void kms_fast_enable(bool ok, bool counted, uint64_t recorded_from, uint64_t threshold, int below,
                     int above)
{
    /* One route for all sizes is the side below an unreachable threshold
     * (cut at recorded_from when counted), so that small requests take the
     * small path. */
    if (threshold == 0 || below == above) {
        threshold = UINT64_MAX;
        below = above;
    }
    kms_fast_counted = counted;
    counted_above = !counted || recorded_from == 0 || threshold <= recorded_from;
    kms_fast_threshold = counted_above ? threshold : recorded_from;
    kms_fast_small_end =
        kms_fast_threshold > MI_SMALL_SIZE_MAX ? MI_SMALL_SIZE_MAX + 1 : kms_fast_threshold;
    kms_fast_target[0] = below;
    kms_fast_target[1] = above;
    kms_fast_ok = ok;
}

void kms_fast_learn(size_t size, int target)
{
    struct kms_thread *self = &kms_self;
    kms_thread_check(self);
    if (!kms_fast_ok || kms_bypassed(self)) return;
    int cls = kms_target_class[target];
    if (cls == KMS_CLASS_BY_CPU) return;
    unsigned side = size >= kms_fast_threshold;
    if (kms_fast_counted && (self->stats.state != KMS_STATS_ACTIVE || (side && !counted_above)))
        return;
    /* The plain heap is the thread's default one, known to be set up now
     * that a request has been served. */
    mi_heap_t **heaps = kms_fast_counted ? self->counted : self->fast;
    heaps[side] = cls < 0 ? mi_heap_get_default() : self->cur[cls];
    if (!kms_fast_counted && side == 0) heaps[KMS_FAST_SMALL] = heaps[0];
}

static void thread_exit(void *arg)
{
    (void)arg;
    /* mimalloc deletes this thread's heaps in its own thread-exit hook, which
     * runs after this one: from here on the thread allocates from the plain heap. */
    kms_self.exiting = 1;
    memset(kms_self.fast, 0, sizeof(kms_self.fast));
    memset(kms_self.counted, 0, sizeof(kms_self.counted));
    memset(kms_self.cur, 0, sizeof(kms_self.cur));
    memset(kms_self.heap, 0, sizeof(kms_self.heap));
    kms_site_heap_forget();
    kms_decommit_poll(false);
}

static bool is_main_thread(void) { return syscall(SYS_gettid) == getpid(); }

mi_heap_t *kms_heap_for_arena(int a)
{
    struct kms_thread *self = &kms_self;
    mi_heap_t *h = self->heap[a];
    if (h) return h;
    if (!self->exit_hook && !is_main_thread()) {
        self->exit_hook = true;
        __cxa_thread_atexit_impl(thread_exit, NULL, &__dso_handle);
    }
    h = mi_heap_new_in_arena(kms_arenas[a].mi_id);
    self->heap[a] = h;
    kms_decommit_poll(false);
    return h;
}

void *kms_alloc_slow(int cls, size_t size, size_t align, bool zero)
{
    struct kms_thread *self = &kms_self;
    void *p = NULL;
    if (size > PTRDIFF_MAX || align > PTRDIFF_MAX) {
        errno = ENOMEM;
        return NULL;
    }
    kms_bypass_enter(self);
    for (int hops = 0; hops < KMS_MAX_CLASSES && cls >= 0; hops++) {
        struct kms_class *c = &kms_classes[cls];
        /* mimalloc cannot align inside an exclusive arena past half its block
         * size; no new arena would help, so such a request takes the fallback
         * (DRAM for preferred, ENOMEM for bound routes) at once. */
        if (align > KMS_ARENA_MAX_ALIGN) {
            if (c->fallback == KMS_FALLBACK_NONE) {
                errno = ENOMEM;
                break;
            }
            cls = c->fallback;
            continue;
        }
        /* Try every arena the class has; add one when all are full. mimalloc
         * can miss free blocks of an arena while other threads claim blocks
         * of it at the same moment, so a miss is retried before it counts. */
        bool grown = false;
        for (int attempt = 0; attempt < 4 && !p; attempt++) {
            int n = __atomic_load_n(&c->narenas, __ATOMIC_ACQUIRE);
            for (int i = n - 1; i >= 0 && !p; i--) {
                mi_heap_t *h = kms_heap_for_arena(c->arenas[i]);
                if (h && (p = kms_heap_alloc(h, size, align, zero))) self->cur[cls] = h;
            }
            if (p) break;
            if (attempt == 0 && kms_arena_grow(cls, size + align) >= 0)
                grown = true;
            else if (!grown)
                sched_yield();
        }
        if (p) break;
        if (c->fallback == KMS_FALLBACK_NONE) {
            errno = ENOMEM;
            break;
        }
        cls = c->fallback;
    }
    kms_bypass_leave(self);
    if (!p && cls == KMS_CLASS_PLAIN) p = kms_plain_alloc(size, align, zero);
    if (!p) errno = ENOMEM;
    return p;
}

void *kms_realloc_routed(void *p, size_t size, int target)
{
    struct kms_thread *self = &kms_self;
    if (kms_bypassed(self)) {
        void *q = mi_realloc(p, size);
        if (!q) errno = ENOMEM;
        return q;
    }
    int cls = kms_class_of_target(target);
    int a = kms_arena_of(p);
    int have = a < 0 ? -1 : kms_arenas[a].cls;
    if (have == cls) {
        mi_heap_t *h = cls < 0 ? mi_heap_get_default() : self->cur[cls];
        if (h) {
            void *q = mi_heap_realloc(h, p, size);
            if (q) return q;
        }
    }
    /* Another class, or the class is full: allocate through the route (which
     * grows or falls back as its policy says), copy, free. */
    void *q = kms_alloc(target, size, 0, false);
    if (!q) return NULL;
    size_t old = mi_usable_size(p);
    memcpy(q, p, old < size ? old : size);
    mi_free(p);
    return q;
}
