/* SPDX-License-Identifier: MIT */
/* Runtime tiering: the groups' state, their moves and what the reports say
 * of them (the mechanism is described in tier.h, the decision in
 * tier_plan.h). */
#include "core/tier.h"

#include "core/access_units.h"
#include "core/callsite.h"
#include "core/cold.h"
#include "core/engine.h"
#include "core/nodeset.h"
#include "core/size.h"
#include "core/tier_plan.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define MPOL_MF_STRICT_ (1 << 0)
#define MPOL_MF_MOVE_ (1 << 1)
/* Pieces of a move: one mincore() vector and one move_pages() batch each. */
#define PIECE (2ull << 20)
#define PIECE_PAGES 512
/* Intervals before a range whose pages could not all move is tried again. */
#define RETRY_INTERVALS 10

int kms_tier_on;

struct group {
    bool tiered; /* tiering places it (no rule names its callsite) */
    int cls[2];  /* the class of each tier from the allocating thread's node (-1: own policy) */
    int tier;    /* where its range's policy points */
    int settled; /* where its pages are: tier, once the move has gone through the range */
    uintptr_t cursor;  /* next address of the move in progress; 0: none */
    bool failed_pass;  /* some page of this pass could not move */
    bool retrying;     /* this pass only moves what an earlier one left */
    uint64_t retry_at; /* the step at which a failed range is tried again; 0: none */
    unsigned samples;  /* samples since it was made */
    uint64_t moved_at; /* the step of its latest move */
    double density;
    uint64_t resident, touched;
    uint64_t promoted, demoted, failed; /* bytes */
    unsigned moves;
    bool named; /* name is the module+offset one, set outside the lock */
    char name[80];
};

static struct group groups[KMS_ACCESS_UNITS] KMS_COLD;
static struct kms_tier_setup setup;
static int timeline_fd = -1;
static struct timespec started;
static uint64_t steps;
static uint64_t credit;    /* bytes the rate still allows to move */
static uint64_t dram_used; /* DRAM bytes in use after the last step; read by new groups */
static uint64_t promoted, demoted, failed, moves, failed_pieces;
static double dram_touches, all_touches;

static double now_since(const struct timespec *t)
{
    struct timespec n;
    clock_gettime(CLOCK_MONOTONIC, &n);
    return (double)(n.tv_sec - t->tv_sec) + (double)(n.tv_nsec - t->tv_nsec) / 1e9;
}

int kms_tier_init(const struct kms_tier_setup *s)
{
    setup = *s;
    clock_gettime(CLOCK_MONOTONIC, &started);
    if (s->timeline) {
        timeline_fd = open(s->timeline, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (timeline_fd < 0) return -1;
        static const char head[] = "# kmemshim timeline 1\n"
                                   "time_s\tgroup\ttier\tresident\ttouched\tdensity\n";
        ssize_t rc = write(timeline_fd, head, sizeof(head) - 1);
        (void)rc;
    }
    __atomic_store_n(&kms_tier_on, 1, __ATOMIC_RELEASE);
    return 0;
}

bool kms_tier_pinned(uintptr_t caller, uintptr_t parent)
{
    if (!kms_tier_on || !setup.pinned) return false;
    return setup.pinned(caller) || (parent && setup.pinned(parent));
}

bool kms_tier_new_group(unsigned unit, bool pinned, uint64_t bytes, int *cls)
{
    if (!kms_tier_on || unit >= KMS_ACCESS_UNITS || pinned) return false;
    struct group *g = &groups[unit];
    memset(g, 0, sizeof(*g));
    g->tiered = true;
    g->cls[KMS_TIER_DRAM] = kms_class_of_target(KMS_TARGET_DRAM);
    g->cls[KMS_TIER_KMEM] = kms_class_of_target(setup.kmem_target);
    /* As the kernel's first touch: DRAM while the budget has room. The
     * units' lock serialises this with other new groups; the sampler's next
     * step replaces the sum with what it measures. */
    uint64_t used = __atomic_load_n(&dram_used, __ATOMIC_RELAXED);
    g->tier = used + bytes <= setup.budget ? KMS_TIER_DRAM : KMS_TIER_KMEM;
    if (g->tier == KMS_TIER_DRAM) __atomic_store_n(&dram_used, used + bytes, __ATOMIC_RELAXED);
    g->settled = g->tier;
    *cls = g->cls[g->tier];
    return true;
}

/* The kernel's policy call: the raw syscall, as kms_mbind. */
static long mbind_raw(uintptr_t start, size_t len, const struct kms_placement *pl, unsigned flags)
{
    if (pl->mode == KMS_MODE_DEFAULT) /* MPOL_DEFAULT: no nodes, nothing to move to */
        return syscall(SYS_mbind, start, len, 0, NULL, 0UL, 0);
    return syscall(SYS_mbind, start, len, pl->mode | pl->flags, pl->set.w,
                   (unsigned long)KMS_MAX_NODES + 1, flags);
}

static const struct kms_placement *placement_of(int cls)
{
    static const struct kms_placement none = {.mode = KMS_MODE_DEFAULT};
    return cls >= 0 ? &kms_classes[cls].pl : &none;
}

/* Pages of [a, a + len) not on the placement's nodes, among those resident:
 * their addresses in pages[], their count returned; the resident pages'
 * count in *resident when it is not NULL. */
static size_t misplaced(uintptr_t a, size_t len, const struct kms_placement *pl, void **pages,
                        long pagesz, size_t *resident)
{
    unsigned char vec[PIECE_PAGES];
    size_t n = len / (size_t)pagesz, k = 0;
    if (resident) *resident = 0;
    if (n > PIECE_PAGES || mincore((void *)a, len, vec) < 0) return 0;
    for (size_t i = 0; i < n; i++)
        if (vec[i] & 1) pages[k++] = (void *)(a + i * (size_t)pagesz);
    if (resident) *resident = k;
    if (!k || pl->mode == KMS_MODE_DEFAULT) return 0;
    int status[PIECE_PAGES];
    if (syscall(SYS_move_pages, 0, (unsigned long)k, pages, NULL, status, 0) < 0) return 0;
    size_t m = 0;
    for (size_t i = 0; i < k; i++)
        if (status[i] >= 0 && !kms_nodeset_has(&pl->set, status[i])) pages[m++] = pages[i];
    return m;
}

/* Moves pieces of g's range until the allowance (bytes) is spent. */
static void move_some(struct kms_access_unit *u, struct group *g, uint64_t *allowance)
{
    long pagesz = sysconf(_SC_PAGESIZE);
    const struct kms_placement *pl = placement_of(g->cls[g->tier]);
    uintptr_t end = __atomic_load_n(&u->used_end, __ATOMIC_RELAXED);
    void *pages[PIECE_PAGES];
    while (g->cursor && g->cursor < end) {
        size_t len = end - g->cursor < PIECE ? end - g->cursor : PIECE;
        size_t resident;
        size_t want = misplaced(g->cursor, len, pl, pages, pagesz, &resident);
        uint64_t bytes = (uint64_t)want * (uint64_t)pagesz;
        if (bytes > *allowance) return; /* the next interval's share */
        size_t left = 0;
        if (want) {
            mbind_raw(g->cursor, len, pl, MPOL_MF_MOVE_ | MPOL_MF_STRICT_);
            left = misplaced(g->cursor, len, pl, pages, pagesz, NULL);
            if (left > resident) left = resident;
        }
        /* Promoted or demoted: the resident bytes now under the new tier's
         * nodes, whether they had to change node or were there already. */
        size_t base = g->retrying ? want : resident;
        uint64_t moved = (uint64_t)(base > left ? base - left : 0) * (uint64_t)pagesz;
        if (g->tier == KMS_TIER_DRAM) {
            g->promoted += moved;
            promoted += moved;
        } else {
            g->demoted += moved;
            demoted += moved;
        }
        if (want) {
            if (left) {
                failed_pieces++;
                g->failed += (uint64_t)left * (uint64_t)pagesz;
                failed += (uint64_t)left * (uint64_t)pagesz;
                g->failed_pass = true;
            }
            *allowance -= bytes;
        }
        g->cursor += len;
    }
    if (g->failed_pass) {
        g->retry_at = steps + RETRY_INTERVALS;
        g->failed_pass = false;
    } else {
        g->settled = g->tier;
    }
    g->cursor = 0;
}

/* Points g's whole range at tier t: pages faulted from now on land there;
 * the resident ones follow piece by piece. */
static void start_move(struct kms_access_unit *u, struct group *g, int t)
{
    g->tier = t;
    g->moves++;
    g->moved_at = steps;
    moves++;
    g->retry_at = 0;
    g->retrying = false;
    mbind_raw(u->start, u->end - u->start, placement_of(g->cls[t]), 0);
    g->cursor = u->start;
}

/* The DRAM memory the budget also covers: untracked memory on DRAM classes
 * (and the plain heap), and the groups tiering does not place. */
static bool dram_class(const bool dram[KMS_MAX_CLASSES], int cls)
{
    return cls < 0 || (cls < KMS_MAX_CLASSES && dram[cls]);
}

/* The rows of the latest step, written once the lock is let go and the
 * groups are named (kms_tier_flush_timeline). */
struct row {
    double t;
    unsigned unit;
    int tier;
    uint64_t resident, touched;
    double density;
};
static struct row rows[KMS_ACCESS_UNITS];
static unsigned nrows;

static void timeline_row(double t, unsigned unit, const struct group *g)
{
    rows[nrows++] = (struct row){t, unit, g->tier, g->resident, g->touched, g->density};
}

void kms_tier_flush_timeline(void)
{
    if (timeline_fd < 0 || !nrows) return;
    kms_tier_name_groups();
    pthread_mutex_lock(&kms_access_lock); /* the names, which a report may be setting */
    for (unsigned i = 0; i < nrows; i++) {
        const struct row *r = &rows[i];
        char line[256];
        int n = snprintf(line, sizeof(line), "%.3f\t%s\t%s\t%" PRIu64 "\t%" PRIu64 "\t%.4f\n", r->t,
                         groups[r->unit].name, r->tier == KMS_TIER_DRAM ? "dram" : "kmem",
                         r->resident, r->touched, r->density);
        if (n > 0 && (size_t)n < sizeof(line)) {
            ssize_t rc = write(timeline_fd, line, (size_t)n);
            (void)rc;
        }
    }
    nrows = 0;
    pthread_mutex_unlock(&kms_access_lock);
}

static int name_address(char *buf, size_t len, uintptr_t a)
{
    struct kms_callsite cs;
    if (kms_callsite_locate(a, &cs) == 0 && cs.module)
        return snprintf(buf, len, "%s+0x%" PRIx64, cs.module, cs.offset);
    return snprintf(buf, len, "0x%" PRIxPTR, a);
}

/* "module+0xOFF" for a callsite; "module+0xOFF<module+0xOFF" for a wrapper's
 * context (the wrapper's callsite, then its caller). */
static void name_unit(char *name, size_t len, const struct kms_access_unit *u)
{
    int n = name_address(name, len, u->caller);
    if (u->parent && n > 0 && (size_t)n + 1 < len) {
        name[n] = '<';
        name_address(name + n + 1, len - (size_t)n - 1, u->parent);
    }
}

void kms_tier_name_groups(void)
{
    if (!kms_tier_on) return;
    unsigned n = __atomic_load_n(&kms_access_nunits, __ATOMIC_ACQUIRE);
    for (unsigned u = 0; u < n; u++) {
        struct group *g = &groups[u];
        if (!g->tiered || __atomic_load_n(&g->named, __ATOMIC_ACQUIRE)) continue;
        char name[sizeof(g->name)];
        name_unit(name, sizeof(name), &kms_access_units[u]);
        pthread_mutex_lock(&kms_access_lock);
        memcpy(g->name, name, sizeof(name));
        __atomic_store_n(&g->named, true, __ATOMIC_RELEASE);
        pthread_mutex_unlock(&kms_access_lock);
    }
}

void kms_tier_step(double interval_s)
{
    if (!kms_tier_on) return;
    steps++;
    unsigned n = __atomic_load_n(&kms_access_nunits, __ATOMIC_ACQUIRE);
    uint64_t other_dram = 0;
    bool dram[KMS_MAX_CLASSES];
    kms_target_classes(KMS_TARGET_DRAM, dram);
    for (int b = 0; b <= KMS_ACCESS_PLAIN; b++)
        if (b == KMS_ACCESS_PLAIN || (b < kms_nclasses && dram_class(dram, b)))
            other_dram += kms_access_other[b].last_rss;
    struct kms_tier_group in[KMS_ACCESS_UNITS] = {{0}};
    unsigned idx[KMS_ACCESS_UNITS], m = 0;
    for (unsigned u = 0; u < n; u++) {
        struct group *g = &groups[u];
        struct kms_access_unit *un = &kms_access_units[u];
        if (!g->tiered) {
            if (dram_class(dram, kms_arenas[un->arena].cls)) other_dram += un->acc.last_rss;
            continue;
        }
        g->resident = un->acc.last_rss;
        g->touched = un->acc.last_touched;
        g->density = kms_tier_smooth(g->density, g->touched, g->resident, g->samples == 0);
        all_touches += (double)g->touched;
        if (g->settled == KMS_TIER_DRAM) dram_touches += (double)g->touched;
        /* A group seen once may be filling still: it stays where it started
         * until a second sample says how large it is. A group that moved
         * stays KMS_TIER_DWELL intervals where it went: a group growing past
         * what the budget has left, or shrinking below it, does not go back
         * and forth on its size. */
        bool young = ++g->samples < 2;
        bool stay = young || (g->moves && steps - g->moved_at < KMS_TIER_DWELL);
        if (stay && g->tier == KMS_TIER_DRAM) other_dram += g->resident;
        in[m] = (struct kms_tier_group){g->resident, g->density, g->tier, stay};
        idx[m++] = u;
    }
    int want[KMS_ACCESS_UNITS];
    uint64_t budget = setup.budget > other_dram ? setup.budget - other_dram : 0;
    kms_tier_plan(in, m, budget, want);
    uint64_t used = other_dram;
    for (unsigned k = 0; k < m; k++) {
        struct group *g = &groups[idx[k]];
        if (want[k] != g->tier)
            start_move(&kms_access_units[idx[k]], g, want[k]);
        else if (!g->cursor && g->retry_at && steps >= g->retry_at) {
            g->cursor = kms_access_units[idx[k]].start; /* pages that could not move, again */
            g->retry_at = 0;
            g->retrying = true;
        }
        if (g->tier == KMS_TIER_DRAM && !in[k].pinned) used += in[k].resident;
    }
    __atomic_store_n(&dram_used, used, __ATOMIC_RELAXED);
    /* Demotions first: they make the room promotions need. What an interval
     * does not spend carries over, up to a second's worth or one piece, so
     * that a rate below a piece per interval still moves. */
    uint64_t cap = setup.rate > PIECE ? setup.rate : PIECE;
    credit += (uint64_t)((double)setup.rate * interval_s);
    if (credit > cap) credit = cap;
    for (int pass = KMS_TIER_KMEM; pass >= KMS_TIER_DRAM; pass--)
        for (unsigned k = 0; k < m; k++) {
            struct group *g = &groups[idx[k]];
            if (g->cursor && g->tier == pass) move_some(&kms_access_units[idx[k]], g, &credit);
        }
    if (timeline_fd >= 0) {
        double t = now_since(&started);
        nrows = 0;
        for (unsigned k = 0; k < m; k++)
            timeline_row(t, idx[k], &groups[idx[k]]);
    }
}

void kms_tier_fork_child(void)
{
    timeline_fd = -1; /* the parent's file (closed at exec by O_CLOEXEC) */
    promoted = demoted = failed = moves = failed_pieces = 0;
    dram_touches = all_touches = 0;
    for (unsigned u = 0; u < KMS_ACCESS_UNITS; u++) {
        groups[u].promoted = groups[u].demoted = groups[u].failed = 0;
        groups[u].moves = 0;
    }
}

static double share(void) { return all_touches > 0 ? dram_touches / all_touches : 0.0; }

void kms_tier_stats_text(FILE *f)
{
    if (!kms_tier_on) return;
    kms_tier_name_groups(); /* the groups made since the sampler's last interval */
    pthread_mutex_lock(&kms_access_lock);
    unsigned n = __atomic_load_n(&kms_access_nunits, __ATOMIC_ACQUIRE);
    char b[32];
    kms_format_size(setup.budget, b, sizeof(b));
    fprintf(f,
            "tiering (KMEM_DRAM_BUDGET %s): %" PRIu64 " moves, %.1f MiB promoted, %.1f MiB "
            "demoted, %.1f MiB could not move; DRAM served %.1f%% of the sampled touches\n",
            b, moves, (double)promoted / 1048576.0, (double)demoted / 1048576.0,
            (double)failed / 1048576.0, 100.0 * share());
    fprintf(f, "    %-40s %-5s %8s %12s %12s %12s %6s\n", "group", "tier", "density", "resident",
            "promoted", "demoted", "moves");
    for (unsigned u = 0; u < n; u++) {
        const struct group *g = &groups[u];
        if (!g->tiered) continue;
        fprintf(f, "    %-40s %-5s %8.4f %9.1f MiB %9.1f MiB %9.1f MiB %6u\n", g->name,
                g->tier == KMS_TIER_DRAM ? "dram" : "kmem", g->density,
                (double)g->resident / 1048576.0, (double)g->promoted / 1048576.0,
                (double)g->demoted / 1048576.0, g->moves);
    }
    pthread_mutex_unlock(&kms_access_lock);
}

void kms_tier_stats_json(FILE *f)
{
    if (!kms_tier_on) return;
    kms_tier_name_groups(); /* the groups made since the sampler's last interval */
    pthread_mutex_lock(&kms_access_lock);
    unsigned n = __atomic_load_n(&kms_access_nunits, __ATOMIC_ACQUIRE);
    fprintf(f,
            ",\n  \"tiering\": {\"budget\": %" PRIu64 ", \"interval_ms\": %u, \"rate\": %" PRIu64
            ", \"promoted_bytes\": %" PRIu64 ", \"demoted_bytes\": %" PRIu64 ", \"moves\": %" PRIu64
            ", \"moves_failed\": %" PRIu64 ", \"failed_bytes\": %" PRIu64
            ", \"dram_touch_share\": %.4f, \"groups\": [",
            setup.budget, kms_access_interval_now_ms, setup.rate, promoted, demoted, moves,
            failed_pieces, failed, share());
    bool first = true;
    for (unsigned u = 0; u < n; u++) {
        const struct group *g = &groups[u];
        if (!g->tiered) continue;
        fprintf(f,
                "%s\n    {\"callsite\": \"%s\", \"tier\": \"%s\", \"density\": %.4f, "
                "\"resident\": %" PRIu64 ", \"promoted_bytes\": %" PRIu64
                ", \"demoted_bytes\": %" PRIu64 ", \"failed_bytes\": %" PRIu64 ", \"moves\": %u}",
                first ? "" : ",", g->name, g->tier == KMS_TIER_DRAM ? "dram" : "kmem", g->density,
                g->resident, g->promoted, g->demoted, g->failed, g->moves);
        first = false;
    }
    fprintf(f, "]}");
    pthread_mutex_unlock(&kms_access_lock);
}
