/* SPDX-License-Identifier: MIT */
#include "core/arena.h"

#include "core/fork.h"

#include <errno.h>
#include <mimalloc.h>
#include <pthread.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef SYS_set_mempolicy_home_node
#define SYS_set_mempolicy_home_node 450 /* the same on every architecture */
#endif

struct kms_arena kms_arenas[KMS_MAX_ARENAS];
int kms_narenas;
struct kms_class kms_classes[KMS_MAX_CLASSES];
int kms_nclasses;
uint64_t kms_arena_chunk;

/* Serialises growing the arenas; the last of the shim's locks (core/fork.h). */
static pthread_mutex_t arena_lock = PTHREAD_MUTEX_INITIALIZER;

static void lock_arenas(void)
{
    kms_lock_order_take(KMS_LOCK_ARENAS);
    pthread_mutex_lock(&arena_lock);
}

static void unlock_arenas(void)
{
    pthread_mutex_unlock(&arena_lock);
    kms_lock_order_drop(KMS_LOCK_ARENAS);
}
void kms_arena_fork_prepare(void) { lock_arenas(); }
void kms_arena_fork_parent(void) { unlock_arenas(); }
void kms_arena_fork_child(void)
{
    pthread_mutex_init(&arena_lock, NULL);
    kms_lock_order_drop(KMS_LOCK_ARENAS);
}

int kms_mbind(void *start, size_t len, const struct kms_placement *pl)
{
    if (pl->mode == KMS_MODE_DEFAULT) return 0;
    /* The raw syscall: libnuma's wrapper is the same, but this keeps the
     * engine free of libnuma's global state after start-up. maxnode counts
     * one more than the bits the kernel reads. */
    long rc = syscall(SYS_mbind, start, len, pl->mode | pl->flags, pl->set.w,
                      (unsigned long)KMS_MAX_NODES + 1, 0);
    if (rc == 0 && pl->home >= 0)
        rc = syscall(SYS_set_mempolicy_home_node, start, len, (unsigned long)pl->home, 0);
    /* A transparent huge page is allocated on the faulting CPU's node whenever that node is in
     * a bind set, whatever the home node says (Linux 6.1 at least): a movable range, whose set
     * includes DRAM, takes base pages so its first touches land on the home node. */
    if (rc == 0 && (pl->flags & KMS_MPOL_F_NUMA_BALANCING))
        rc = madvise(start, len, MADV_NOHUGEPAGE);
    return rc == 0 ? 0 : -errno;
}

static uint64_t round_up(uint64_t v, uint64_t a) { return (v + a - 1) / a * a; }

/* Reserves len bytes aligned to KMS_ARENA_ALIGN, PROT_NONE, no swap accounting. */
static void *reserve(size_t len)
{
    size_t span = len + KMS_ARENA_ALIGN;
    char *raw = mmap(NULL, span, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (raw == MAP_FAILED) return NULL;
    uintptr_t start = round_up((uintptr_t)raw, KMS_ARENA_ALIGN);
    size_t head = start - (uintptr_t)raw;
    if (head) munmap(raw, head);
    size_t tail = span - head - len;
    if (tail) munmap((char *)start + len, tail);
    return (void *)start;
}

/* mimalloc 2.0.9's segment cache gives a freed segment to the next heap
 * that needs one, but a pop looks only at the first free entry of each of
 * its 64-entry fields and skips the field when that entry is of the other
 * kind: an arena's segment for a plain heap, or the reverse. Once an
 * exclusive arena exists, every exiting thread frees one segment of each
 * kind; the entries the pops skip pile up, each keeping its touched pages
 * for segment_decommit_delay (500 ms), while fresh segments are made for the
 * threads that missed: a server starting a thread per request kept several
 * times mimalloc's memory (bench/analysis.md, "Figures behind the code"). So
 * a cached segment waits as long as a freed span inside a segment does
 * (decommit_delay). A value the user set is left. Called with the arenas'
 * lock held, for the first arena. */
static void segment_cache_for_two_kinds(void)
{
    static const char var[] = "MIMALLOC_SEGMENT_DECOMMIT_DELAY=";
    extern char **environ;
    /* mimalloc reads its variables ignoring case. */
    for (char **e = environ; e && *e; e++)
        if (strncasecmp(*e, var, sizeof(var) - 1) == 0) return;
    long span = mi_option_get(mi_option_decommit_delay);
    if (span < mi_option_get(mi_option_segment_decommit_delay))
        mi_option_set(mi_option_segment_decommit_delay, span);
}

uint64_t kms_bind_reservation(uint64_t capacity, int ncpus)
{
    uint64_t threads = ncpus > 8 ? 2 * (uint64_t)ncpus : 16;
    return capacity + threads * KMS_ARENA_ALIGN;
}

int kms_arena_add_own(int cls, uint64_t want, bool huge)
{
    static const struct kms_placement none = {.mode = KMS_MODE_DEFAULT};
    const struct kms_placement *pl = cls >= 0 ? &kms_classes[cls].pl : &none;
    int saved_errno = errno;
    lock_arenas();
    int n = __atomic_load_n(&kms_narenas, __ATOMIC_RELAXED);
    void *start = NULL;
    want = round_up(want, KMS_ARENA_ALIGN);
    while (n < KMS_MAX_ARENAS && want >= KMS_ARENA_MIN && !(start = reserve(want)))
        want = round_up(want / 2, KMS_ARENA_ALIGN);
    mi_arena_id_t id;
    int rc = start ? kms_mbind(start, want, pl) : -ENOMEM;
    /* Advice only: without THP the range keeps base pages. */
    if (rc == 0 && huge && !(pl->flags & KMS_MPOL_F_NUMA_BALANCING))
        (void)madvise(start, want, MADV_HUGEPAGE);
    if (rc < 0 || !mi_manage_os_memory_ex(start, want, false, false, true, -1, true, &id)) {
        if (start) munmap(start, want);
        unlock_arenas();
        errno = rc < 0 ? -rc : ENOMEM;
        return -1;
    }
    kms_arenas[n] = (struct kms_arena){(uintptr_t)start, (uintptr_t)start + want, id, cls, true};
    if (n == 0) segment_cache_for_two_kinds();
    __atomic_store_n(&kms_narenas, n + 1, __ATOMIC_RELEASE);
    unlock_arenas();
    errno = saved_errno;
    return n;
}

int kms_arena_grow(int cls, size_t min_bytes)
{
    struct kms_class *c = &kms_classes[cls];
    int saved_errno = errno;
    lock_arenas();
    int n = __atomic_load_n(&kms_narenas, __ATOMIC_RELAXED);
    if (n >= KMS_MAX_ARENAS) {
        unlock_arenas();
        errno = ENOMEM;
        return -1;
    }
    uint64_t need = round_up((uint64_t)min_bytes + KMS_ARENA_ALIGN, KMS_ARENA_ALIGN);
    uint64_t left = c->reserve_cap > c->reserved_bytes ? c->reserve_cap - c->reserved_bytes : 0;
    uint64_t want = left;
    if (kms_arena_chunk && want > kms_arena_chunk) want = kms_arena_chunk;
    if (want < need) want = need;
    /* A class never reserves past its target: far more than a bound node set
     * can hold fails here with ENOMEM instead of an OOM kill later, and a
     * preferred class falls back to DRAM. */
    if (c->reserved_bytes + need > c->reserve_cap) {
        unlock_arenas();
        errno = ENOMEM;
        return -1;
    }
    want = round_up(want, KMS_ARENA_ALIGN);
    void *start = NULL;
    /* Under `ulimit -v` a large reservation fails: halve until it fits. */
    while (want >= need && want >= KMS_ARENA_MIN) {
        start = reserve(want);
        if (start) break;
        want = round_up(want / 2, KMS_ARENA_ALIGN);
    }
    if (!start) {
        unlock_arenas();
        errno = ENOMEM;
        return -1;
    }
    int rc = kms_mbind(start, want, &c->pl);
    mi_arena_id_t id;
    if (rc < 0 || !mi_manage_os_memory_ex(start, want, false, false, true, -1, true, &id)) {
        munmap(start, want);
        unlock_arenas();
        errno = rc < 0 ? -rc : ENOMEM;
        return -1;
    }
    kms_arenas[n].start = (uintptr_t)start;
    kms_arenas[n].end = (uintptr_t)start + want;
    kms_arenas[n].mi_id = id;
    kms_arenas[n].cls = cls;
    if (n == 0) segment_cache_for_two_kinds();
    kms_assert(c->narenas < KMS_MAX_ARENAS);
    c->arenas[c->narenas] = n;
    c->reserved_bytes += want;
    /* A class never reserves past its cap, but for the last arena's rounding up. */
    kms_assert(c->reserved_bytes <= round_up(c->reserve_cap, KMS_ARENA_ALIGN));
    /* Publish the arena before the class sees it, so a reader that finds the
     * class's arena also finds its range in kms_arena_of. */
    __atomic_store_n(&kms_narenas, n + 1, __ATOMIC_RELEASE);
    __atomic_store_n(&c->narenas, c->narenas + 1, __ATOMIC_RELEASE);
    unlock_arenas();
    errno = saved_errno;
    return n;
}
