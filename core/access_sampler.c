/* SPDX-License-Identifier: MIT */
/* The portable access sampler: every interval, /proc/self/smaps gives each
 * mapping's resident and referenced bytes (and, with soft-dirty bits,
 * /proc/self/pagemap the written pages); the mappings are summed per tracked
 * range and per untracked bucket; then /proc/self/clear_refs starts the next
 * interval. It runs in a thread of the process whose own requests go to the
 * plain heap (bypass) and are never counted. */
#include "core/access_units.h"
#include "core/tier.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

pthread_mutex_t kms_access_lock = PTHREAD_MUTEX_INITIALIZER;
uint64_t kms_access_samples;
double kms_access_seconds;

bool kms_access_started;
bool kms_access_blind;
char kms_access_blind_why[128];
unsigned kms_access_interval_now_ms;
double kms_access_rewalk_us;
double kms_access_cost_share;
static bool stopped;
static struct timespec last; /* when the accessed bits were last cleared (or the start) */

static double since(const struct timespec *t)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - t->tv_sec) + (double)(now.tv_nsec - t->tv_nsec) / 1e9;
}

bool kms_access_detect_soft_dirty(void)
{
    FILE *f = fopen("/proc/self/smaps", "r");
    if (!f) return false;
    char line[512];
    bool sd = false;
    while (fgets(line, sizeof(line), f)) {
        if (strncmp(line, "VmFlags:", 8) != 0) continue;
        /* Two-letter mnemonics separated by blanks. */
        for (char *t = strtok(line + 8, " \n"); t; t = strtok(NULL, " \n"))
            if (strcmp(t, "sd") == 0) sd = true;
        break; /* the first mapping is enough: every new mapping has it */
    }
    fclose(f);
    return sd;
}

/* What one sample found in a range or bucket. */
struct found {
    uint64_t rss, referenced, written;
};

/* Where a mapping's pages count: a unit (0..n-1), a class's bucket
 * (n + class), the plain heap (n + KMS_ACCESS_PLAIN), or nowhere (-1). */
static int bucket_of(uintptr_t start, const char *path, unsigned n)
{
    for (unsigned u = 0; u < n; u++)
        if (start >= kms_access_units[u].start && start < kms_access_units[u].end) return (int)u;
    int na = __atomic_load_n(&kms_narenas, __ATOMIC_ACQUIRE);
    for (int a = 0; a < na; a++)
        if (start >= kms_arenas[a].start && start < kms_arenas[a].end)
            return kms_arenas[a].cls >= 0 ? (int)n + kms_arenas[a].cls : -1;
    /* Anonymous memory outside the arenas: mimalloc's own segments (the plain
     * heap), and whatever else the program maps without a file. */
    if (!path[0] || strcmp(path, "[heap]") == 0) return (int)n + KMS_ACCESS_PLAIN;
    return -1;
}

/* Pages of [start, end) with the soft-dirty bit (55) among those present (63). */
static uint64_t written_pages(int fd, uintptr_t start, uintptr_t end, long pagesz)
{
    uint64_t buf[512], pages = 0;
    for (uintptr_t a = start; a < end;) {
        size_t want = (end - a) / (uintptr_t)pagesz;
        if (want > 512) want = 512;
        ssize_t got = pread(fd, buf, want * 8, (off_t)(a / (uintptr_t)pagesz * 8));
        if (got <= 0) break;
        for (ssize_t i = 0; i < got / 8; i++)
            if ((buf[i] >> 63 & 1) && (buf[i] >> 55 & 1)) pages++;
        a += (uintptr_t)(got / 8) * (uintptr_t)pagesz;
    }
    return pages;
}

static void accumulate(struct kms_access_acc *acc, const struct found *f)
{
    acc->last_rss = f->rss;
    acc->last_touched = f->referenced;
    if (f->rss > acc->resident_peak) acc->resident_peak = f->rss;
    if (f->referenced > acc->touched_peak) acc->touched_peak = f->referenced;
    acc->touched_sum += (double)f->referenced;
    acc->written_sum += (double)f->written;
    acc->samples++;
}

/* "1" clears the accessed bits but flushes no TLB: a page whose translation a
 * CPU still caches is touched again without the bit being set, and a small
 * hot structure would look cold. "4" (clear soft-dirty bits) ends with a TLB
 * flush of the process, also on kernels without soft-dirty bits, where it
 * changes nothing else. */
static void clear_refs(void)
{
    int fd = open("/proc/self/clear_refs", O_WRONLY | O_CLOEXEC);
    if (fd < 0) {
        kms_access_blind = true;
        return;
    }
    ssize_t rc = write(fd, "1", 1);
    rc = write(fd, "4", 1);
    (void)rc;
    close(fd);
}

static double last_sample_cpu; /* seconds of CPU the latest sample took */
static uint64_t last_walks; /* page-table entries touched in the latest interval, every mapping */

/* The entries whose accessed bit the program set again in a mapping: its
 * referenced bytes, those in transparent huge pages one entry per 2 MiB. */
static uint64_t walks_of(uint64_t referenced, uint64_t huge, long pagesz)
{
    uint64_t in_huge = huge < referenced ? huge : referenced;
    return in_huge / (2u << 20) + (referenced - in_huge) / (uint64_t)pagesz;
}

void kms_access_sample(bool final)
{
    if (kms_access_blind) return;
    /* The cost is the CPU time of the calling thread, not the wall time
     * (which other processes stretch). */
    struct timespec t0, t1;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t0);
    double covered = since(&last) * 1000.0 / kms_access_interval_ms;
    /* A short last interval would understate every rate: it counts only
     * when it is most of one, or when there is no other. */
    bool count = !final || covered >= 0.5 || kms_access_samples == 0;
    unsigned n = __atomic_load_n(&kms_access_nunits, __ATOMIC_ACQUIRE);
    struct found found[KMS_ACCESS_UNITS + KMS_MAX_CLASSES + 1];
    memset(found, 0, sizeof(found));
    long pagesz = sysconf(_SC_PAGESIZE);
    int pm = kms_access_soft_dirty ? open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC) : -1;
    FILE *f = count ? fopen("/proc/self/smaps", "r") : NULL;
    char line[1024];
    int cur = -1;
    uintptr_t vs = 0, ve = 0;
    uint64_t walks = 0, map_ref = 0, map_huge = 0; /* the current mapping's */
    while (f && fgets(line, sizeof(line), f)) {
        unsigned long long kb, s, e;
        if (strncmp(line, "AnonHugePages:", 14) == 0) {
            map_huge = strtoull(line + 14, NULL, 10) << 10;
            continue;
        }
        if (strncmp(line, "Rss:", 4) == 0) {
            if (cur < 0) continue;
            kb = strtoull(line + 4, NULL, 10);
            found[cur].rss += kb << 10;
            if (kb && cur < (int)n && ve > kms_access_units[cur].used_end)
                __atomic_store_n(&kms_access_units[cur].used_end, ve, __ATOMIC_RELAXED);
            if (pm >= 0 && kb && cur < (int)n)
                found[cur].written += written_pages(pm, vs, ve, pagesz) * (uint64_t)pagesz;
            continue;
        }
        if (strncmp(line, "Referenced:", 11) == 0) {
            map_ref = strtoull(line + 11, NULL, 10) << 10;
            if (cur >= 0) found[cur].referenced += map_ref;
            continue;
        }
        /* A mapping's first line, "start-end perms offset dev inode [path]",
         * is the only one with a '-' before any ':'. */
        char *dash = strchr(line, '-'), *colon = strchr(line, ':');
        if (!dash || (colon && colon < dash)) continue;
        char path[512] = "";
        if (sscanf(line, "%llx-%llx %*s %*s %*s %*s %511[^\n]", &s, &e, path) < 2) continue;
        if (cur >= 0) walks += walks_of(map_ref, map_huge, pagesz);
        map_ref = map_huge = 0;
        vs = (uintptr_t)s, ve = (uintptr_t)e;
        cur = bucket_of(vs, path, n);
    }
    if (cur >= 0) walks += walks_of(map_ref, map_huge, pagesz);
    if (f) fclose(f);
    if (pm >= 0) close(pm);
    if (!final) clear_refs();
    clock_gettime(CLOCK_MONOTONIC, &last);
    if (!count) return;
    for (unsigned u = 0; u < n; u++)
        accumulate(&kms_access_units[u].acc, &found[u]);
    for (int b = 0; b <= KMS_ACCESS_PLAIN; b++)
        accumulate(&kms_access_other[b], &found[n + (unsigned)b]);
    last_walks = walks;
    kms_access_samples++;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t1);
    last_sample_cpu = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    kms_access_seconds += last_sample_cpu;
}

/* The next interval: the configured one, or longer where the latest sample's
 * CPU time or the program's re-walks of the pages it touched would pass
 * their share of it. */
static unsigned next_interval_ms(void)
{
    double ms = kms_access_interval_ms;
    if (kms_access_cost_share <= 0) return kms_access_interval_ms;
    double cpu_ms = last_sample_cpu * 1000.0 / kms_access_cost_share;
    double rewalk_ms = (double)last_walks * kms_access_rewalk_us / 1000.0 / kms_access_cost_share;
    /* The sampler's CPU time grows at most twice a step: one sample that
     * was preempted does not stop the sampling for a minute. The re-walks are
     * a count of pages times a cost measured once: taken as they are. */
    double twice = 2.0 * kms_access_interval_now_ms;
    if (cpu_ms > twice) cpu_ms = twice;
    if (cpu_ms > ms) ms = cpu_ms;
    if (rewalk_ms > ms) ms = rewalk_ms;
    if (ms > KMS_ACCESS_MS_LONGEST) ms = KMS_ACCESS_MS_LONGEST;
    return (unsigned)ms;
}

/* What touching a page again after a clear and a TLB flush costs, in
 * microseconds: pages of the sampler's own are touched cold (after the clear)
 * and warm, in a scattered order as a program's random reads would (STRIDE is
 * prime to PAGES: every page once); the least of five rounds, since other
 * work on the machine only ever adds time. It clears every accessed bit of
 * the process, which the first interval starts with anyway. */
static double measure_rewalk(void)
{
    enum { PAGES = 1024, STRIDE = 509, ROUNDS = 5 };
    long pagesz = sysconf(_SC_PAGESIZE);
    size_t len = (size_t)PAGES * (size_t)pagesz;
    volatile unsigned char *m =
        mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) return 0;
    for (size_t i = 0; i < PAGES; i++)
        m[i * (size_t)pagesz] = 1;
    double r[ROUNDS];
    for (int k = 0; k < ROUNDS; k++) {
        struct timespec a, b, c;
        clear_refs();
        unsigned sum = 0;
        clock_gettime(CLOCK_MONOTONIC, &a);
        for (size_t i = 0; i < PAGES; i++)
            sum += m[(i * STRIDE % PAGES) * (size_t)pagesz];
        clock_gettime(CLOCK_MONOTONIC, &b);
        for (size_t i = 0; i < PAGES; i++)
            sum += m[(i * STRIDE % PAGES) * (size_t)pagesz];
        clock_gettime(CLOCK_MONOTONIC, &c);
        (void)sum;
        double cold = (double)(b.tv_sec - a.tv_sec) * 1e6 + (double)(b.tv_nsec - a.tv_nsec) / 1e3;
        double warm = (double)(c.tv_sec - b.tv_sec) * 1e6 + (double)(c.tv_nsec - b.tv_nsec) / 1e3;
        r[k] = cold > warm ? (cold - warm) / PAGES : 0;
    }
    munmap((void *)m, len);
    double least = r[0];
    for (int k = 1; k < ROUNDS; k++)
        if (r[k] < least) least = r[k];
    return least;
}

static void *sampler(void *arg)
{
    (void)arg;
    kms_bypass_enter(&kms_self); /* its requests are the shim's own: plain heap, not counted */
    pthread_setname_np(pthread_self(), kms_tier_on ? "kmemshim-tier" : "kmemshim-access");
    kms_access_figures_lock();
    if (!kms_access_rewalk_us && kms_access_cost_share > 0) kms_access_rewalk_us = measure_rewalk();
    clock_gettime(CLOCK_MONOTONIC, &last);
    kms_access_figures_unlock();
    struct timespec next;
    clock_gettime(CLOCK_MONOTONIC, &next);
    for (;;) {
        unsigned interval = __atomic_load_n(&kms_access_interval_now_ms, __ATOMIC_RELAXED);
        uint64_t ns = (uint64_t)next.tv_nsec + (uint64_t)interval * 1000000u;
        next.tv_sec += (time_t)(ns / 1000000000u);
        next.tv_nsec = (long)(ns % 1000000000u);
        while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL) != 0)
            ;
        kms_tier_name_groups();
        kms_access_figures_lock();
        bool stop = stopped;
        if (!stop) {
            kms_access_sample(false);
            kms_tier_step(interval / 1000.0);
            __atomic_store_n(&kms_access_interval_now_ms, next_interval_ms(), __ATOMIC_RELAXED);
        }
        kms_access_figures_unlock();
        if (stop) return NULL;
        kms_tier_flush_timeline();
        /* Behind (a sample took longer than an interval, or the thread was
         * not scheduled): the next interval is a whole one from now, not a
         * burst of short ones, which would understate every rate. */
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (now.tv_sec > next.tv_sec || (now.tv_sec == next.tv_sec && now.tv_nsec > next.tv_nsec))
            next = now;
    }
}

void kms_access_sampler_start(void)
{
    kms_access_figures_lock();
    bool go = !kms_access_started && !stopped;
    __atomic_store_n(&kms_access_started, true, __ATOMIC_RELAXED);
    kms_access_figures_unlock();
    if (!go) return;
    /* Every signal blocked in the sampler: the program's signals go to its own threads. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pthread_attr_t attr;
    pthread_t t;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&attr, 256u << 10);
    kms_bypass_enter(&kms_self);
    int rc = pthread_create(&t, &attr, sampler, NULL);
    kms_bypass_leave(&kms_self);
    pthread_attr_destroy(&attr);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        /* No thread: the last sample at exit still gives the figures of one interval. */
        kms_access_figures_lock();
        __atomic_store_n(&kms_access_started, false, __ATOMIC_RELAXED);
        kms_access_figures_unlock();
    }
}

void kms_access_finish(void)
{
    if (!kms_access_on) return;
    kms_access_figures_lock();
    if (!stopped) {
        stopped = true;
        kms_access_sample(true);
    }
    kms_access_figures_unlock();
}

void kms_access_sampler_fork_prepare(void) { kms_access_figures_lock(); }
void kms_access_sampler_fork_parent(void) { kms_access_figures_unlock(); }
void kms_access_sampler_fork_child(void)
{
    pthread_mutex_init(&kms_access_lock, NULL);
    kms_lock_order_drop(KMS_LOCK_ACCESS_FIGURES);
    if (!kms_access_on) return;
    /* The child's own run: no sampler yet (kms_access_child_resume starts
     * one, unless the child may start no thread), and figures from now on. */
    kms_access_started = !kms_access_child_sampler;
    stopped = false;
    unsigned n = __atomic_load_n(&kms_access_nunits, __ATOMIC_ACQUIRE);
    for (unsigned u = 0; u < n; u++)
        memset(&kms_access_units[u].acc, 0, sizeof(kms_access_units[u].acc));
    memset(kms_access_other, 0, sizeof(kms_access_other));
    kms_access_samples = 0;
    kms_access_seconds = 0;
    clear_refs();
    clock_gettime(CLOCK_MONOTONIC, &last);
}

bool kms_access_sampler_init(void)
{
    kms_access_interval_now_ms = kms_access_interval_ms;
    clock_gettime(CLOCK_MONOTONIC, &last);
    /* Without clearing, every page ever touched reads as touched in every
     * interval: figures that look real and mean nothing. */
    int fd = open("/proc/self/clear_refs", O_WRONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(kms_access_blind_why, sizeof(kms_access_blind_why), "/proc/self/clear_refs: %s",
                 strerror(errno));
        kms_access_blind = true;
        return false;
    }
    close(fd);
    return true;
}
