/* SPDX-License-Identifier: MIT */
#include "core/decommit.h"

#include "core/arena.h"
#include "core/check.h"
#include "core/fork.h"
#include "core/span_set.h"

#include <link.h>
#include <mimalloc.h>
#include <pthread.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct kms_span_set held;          /* under lock */
static struct kms_decommit_counts counts; /* under lock, but holding (held.bytes) */
/* Set once at start-up (kms_decommit_setup); until then nothing is held. */
static bool on;
static uintptr_t text_lo, text_hi; /* mimalloc's executable segment */
static uint64_t delay_ns;
/* The earliest due time of what is held, 0 when nothing is: written under the
 * lock (release), read without it (acquire). A commit of a held range comes
 * after the hold in mimalloc's own order (the segment changed hands through its
 * atomics), so a commit that reads 0 here has nothing held to take out. */
static uint64_t next_due;

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void take(void)
{
    kms_lock_order_take(KMS_LOCK_DECOMMIT);
    pthread_mutex_lock(&lock);
}

static void drop(void)
{
    uint64_t due = kms_span_set_next_due(&held);
    __atomic_store_n(&next_due, due == UINT64_MAX ? 0 : due, __ATOMIC_RELEASE);
    pthread_mutex_unlock(&lock);
    kms_lock_order_drop(KMS_LOCK_DECOMMIT);
}

/* Under the lock: the range leaves the set and is decommitted now. */
static void make(const struct kms_span *s)
{
    (void)syscall(SYS_madvise, (void *)s->start, s->end - s->start, MADV_DONTNEED);
    counts.made += s->end - s->start;
}

/* Under the lock: makes what fell due by now, and the oldest past the cap. */
static void make_due(uint64_t now, bool all)
{
    struct kms_span s;
    while (held.n &&
           (all || held.bytes > KMS_DECOMMIT_CAP || kms_span_set_next_due(&held) <= now) &&
           kms_span_set_take_first_due(&held, &s))
        make(&s);
}

static int find_text(struct dl_phdr_info *info, size_t size, void *arg)
{
    (void)size;
    uintptr_t want = (uintptr_t)arg;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_X)) continue;
        uintptr_t lo = info->dlpi_addr + ph->p_vaddr, hi = lo + ph->p_memsz;
        if (want - lo < hi - lo) {
            text_lo = lo;
            text_hi = hi;
            return 1;
        }
    }
    return 0;
}

static void deferred_free(bool force, unsigned long long heartbeat, void *arg)
{
    (void)arg;
    /* mimalloc calls this on its slower allocation path, a clock read every
     * 16th call is enough to notice what fell due; and forced at every thread
     * exit, where what is held is what the next thread may reuse. */
    if (force || (heartbeat & 15) == 0) kms_decommit_poll(false);
}

void kms_decommit_setup(void)
{
    long delay = mi_option_get(mi_option_decommit_delay);
    if (delay <= 0 || !mi_option_is_enabled(mi_option_allow_decommit) ||
        mi_option_is_enabled(mi_option_page_reset))
        return;
    dl_iterate_phdr(find_text, (void *)(uintptr_t)&mi_malloc);
    if (text_hi == 0) return;
    delay_ns = (uint64_t)delay * KMS_DECOMMIT_HOLD_DELAYS * 1000000u;
    mi_register_deferred_free(deferred_free, NULL);
    __atomic_store_n(&on, true, __ATOMIC_RELAXED);
}

bool kms_decommit_hold(void *addr, size_t len, const void *ret)
{
    uintptr_t start = (uintptr_t)addr, end = start + len, r = (uintptr_t)ret;
    if (!__atomic_load_n(&on, __ATOMIC_RELAXED) || r - text_lo >= text_hi - text_lo || len == 0 ||
        end < start)
        return false;
    if ((start | len) & ((uintptr_t)getpagesize() - 1)) return false;
    int a = kms_arena_of(addr);
    if (a < 0 || end > kms_arenas[a].end) return false;
    uint64_t now = now_ns();
    take();
    bool ok = kms_span_set_add(&held, start, end, now + delay_ns);
    if (ok) {
        counts.held += len;
        make_due(now, false);
    }
    drop();
    return ok;
}

void kms_decommit_release(void *addr, size_t len)
{
    if (__atomic_load_n(&next_due, __ATOMIC_ACQUIRE) == 0 || len == 0) return;
    uintptr_t start = (uintptr_t)addr, end = start + len;
    if (end < start) end = UINTPTR_MAX;
    /* A program's own mprotect of its own mappings (a collector's, from a
     * signal handler too) never takes the lock. */
    if (!kms_arena_meets(start, end)) return;
    take();
    size_t before = held.bytes;
    struct kms_span spill;
    if (kms_span_set_remove(&held, start, end, &spill)) {
        before -= spill.end - spill.start;
        make(&spill);
    }
    counts.reused += before - held.bytes;
    drop();
}

void kms_decommit_poll(bool all)
{
    uint64_t due = __atomic_load_n(&next_due, __ATOMIC_ACQUIRE);
    if (due == 0) return;
    uint64_t now = now_ns();
    if (!all && now < due) return;
    take();
    make_due(now, all);
    drop();
}

void kms_decommit_counts(struct kms_decommit_counts *c)
{
    take();
    *c = counts;
    c->on = __atomic_load_n(&on, __ATOMIC_RELAXED);
    c->holding = held.bytes;
    drop();
}

void kms_decommit_fork_prepare(void) { take(); }
void kms_decommit_fork_parent(void) { drop(); }
void kms_decommit_fork_child(void)
{
    pthread_mutex_init(&lock, NULL);
    kms_lock_order_drop(KMS_LOCK_DECOMMIT);
}
