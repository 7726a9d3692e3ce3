#include "core/stats.h"

#include "core/arena.h"
#include "core/elflibs.h"
#include "core/engine.h"
#include "policy/callsite.h"
#include "policy/route.h"
#include "policy/size.h"
#include "policy/target.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

int kms_stats_on;
uint64_t kms_stats_period = KMS_STATS_SAMPLE_DEFAULT;
__thread struct kms_stats_thread kms_stats_self __attribute__((tls_model("initial-exec")));

static char stats_path[PATH_MAX];   /* "stderr", a path pattern, or "" */
static char profile_path[PATH_MAX]; /* a path pattern, or "" */
static struct timespec started;
/* A copy of standard error taken at start-up: programs may close stderr in
 * their own exit handlers (coreutils' close_stdout does), which run first. */
static int stderr_copy = -1;

int kms_stats_bucket(uint64_t size)
{
    if (size <= 16) return 0;
    /* Bits needed for size - 1, from 5 (17..32) up: two per bucket. */
    int bits = 64 - __builtin_clzll(size - 1);
    int b = (bits - 3) / 2;
    return b < KMS_STATS_HIST - 1 ? b : KMS_STATS_HIST - 1;
}

uint64_t kms_stats_bucket_limit(int bucket)
{
    return bucket >= KMS_STATS_HIST - 1 ? UINT64_MAX : 16ull << (2 * bucket);
}

/* ---- sampling -------------------------------------------------------------- */

double kms_stats_weight(uint64_t size, uint64_t period)
{
    if (period == 0 || size >= period) return 1.0;
    if (size == 0) size = 1; /* malloc(0) hands out a block too */
    /* A block of size bytes holds at least one of the sampled bytes with
     * probability 1 - e^(-size/period). */
    return 1.0 / -expm1(-(double)size / (double)period);
}

int64_t kms_stats_draw(uint64_t *rng, uint64_t period)
{
    uint64_t x = *rng;
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    *rng = x;
    /* u in (0, 1]: 53 random bits, never 0. */
    double u = (double)((x >> 11) + 1) * 0x1.0p-53;
    return (int64_t)(-log(u) * (double)period) + 1;
}

/* ---- global totals --------------------------------------------------------- */

struct site {
    uintptr_t addr;  /* return address; 0 = free slot. Slot 0 is "other callsites". */
    uint16_t routes; /* bit per route the site's requests went to */
    _Static_assert(KMS_TARGET_COUNT <= 16, "one bit of routes per target");
    double count, bytes;
    int64_t live, peak;
    double hist[KMS_STATS_HIST];
};

struct route_total {
    uint64_t count, bytes; /* exact: every request */
    int64_t live, peak;    /* from the recorded blocks */
};

/* One lock for the map of recorded blocks, the sites, the live bytes and the
 * list of threads. It is taken once per recorded block, not per request. */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct kms_sampled recorded;
static struct site sites[KMS_STATS_SITES];
static struct route_total routes[KMS_TARGET_COUNT];
static int64_t total_live, total_peak;
static uint64_t dropped; /* blocks that could not be recorded (the map could not grow) */
static struct kms_stats_thread *threads;
static uint64_t thread_seq;

/* The id of a callsite: its slot in the open-addressed table (lock held). */
static uint32_t site_id(uintptr_t addr)
{
    uint32_t i = (uint32_t)((addr * 0x9E3779B97F4A7C15ull) >> 40) & (KMS_STATS_SITES - 1);
    for (int probe = 0; probe < 64; probe++) {
        if (i == 0) i = 1;
        if (sites[i].addr == addr) return i;
        if (sites[i].addr == 0) {
            sites[i].addr = addr;
            return i;
        }
        i = (i + 1) & (KMS_STATS_SITES - 1);
    }
    return 0;
}

/* Adds (sign 1) or removes (sign -1) a recorded block's live bytes (lock held). */
static void live_add(const struct kms_sampled_rec *r, int sign)
{
    int64_t b = sign * r->bytes;
    routes[r->route].live += b;
    sites[r->site].live += b;
    total_live += b;
    if (sign > 0) {
        if (routes[r->route].live > routes[r->route].peak)
            routes[r->route].peak = routes[r->route].live;
        if (sites[r->site].live > sites[r->site].peak) sites[r->site].peak = sites[r->site].live;
        if (total_live > total_peak) total_peak = total_live;
    }
}

/* ---- per-thread state ------------------------------------------------------ */

extern void *__dso_handle __attribute__((weak));
extern int __cxa_thread_atexit_impl(void (*fn)(void *), void *obj, void *dso);

/* Lock held: a thread's counters go into the totals and it leaves the list. */
static void retire_locked(struct kms_stats_thread *s)
{
    for (int r = 0; r < KMS_TARGET_COUNT; r++) {
        __atomic_fetch_add(&routes[r].count, s->count[r], __ATOMIC_RELAXED);
        __atomic_fetch_add(&routes[r].bytes, s->bytes[r], __ATOMIC_RELAXED);
        s->count[r] = s->bytes[r] = 0;
    }
    if (s->prev)
        s->prev->next = s->next;
    else if (threads == s)
        threads = s->next;
    if (s->next) s->next->prev = s->prev;
    s->next = s->prev = NULL;
}

static void lock_self(struct kms_stats_thread *s)
{
    s->in_lock++;
    pthread_mutex_lock(&lock);
}

static void drain_pending(struct kms_stats_thread *s);

static void unlock_self(struct kms_stats_thread *s)
{
    pthread_mutex_unlock(&lock);
    s->in_lock--;
    if (s->npending && !s->in_lock) drain_pending(s);
}

static void thread_exit(void *arg)
{
    (void)arg;
    struct kms_stats_thread *s = &kms_stats_self;
    lock_self(s);
    retire_locked(s);
    s->state = KMS_STATS_EXITED;
    unlock_self(s);
}

static void activate(struct kms_stats_thread *s)
{
    s->state = KMS_STATS_STARTING;
    lock_self(s);
    uint64_t seq = ++thread_seq;
    s->next = threads;
    s->prev = NULL;
    if (threads) threads->prev = s;
    threads = s;
    unlock_self(s);
    /* splitmix64 of the thread's ordinal: a fixed sequence of samples per
     * thread, so one program's reports repeat from run to run. */
    uint64_t z = seq * 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    s->rng = (z ^ (z >> 31)) | 1;
    s->left = kms_stats_period ? kms_stats_draw(&s->rng, kms_stats_period) : 0;
    /* glibc allocates the destructor's record: that request must not come back here. */
    kms_self.bypass++;
    __cxa_thread_atexit_impl(thread_exit, NULL, &__dso_handle);
    kms_self.bypass--;
    s->state = KMS_STATS_ACTIVE;
}

void kms_stats_note_slow(void *p, size_t size, int route, const void *caller)
{
    struct kms_stats_thread *s = &kms_stats_self;
    if (kms_self.bypass) return; /* the shim's own requests are not counted */
    if (s->state == KMS_STATS_NONE) activate(s);
    switch (s->state) {
    case KMS_STATS_ACTIVE: kms_stats_note(p, size, route, caller); return;
    case KMS_STATS_STARTING:
        /* A signal handler while this thread registers: counted once it is. */
        s->count[route]++;
        s->bytes[route] += size;
        return;
    default:
        /* Exited (its destructors still allocate): straight into the totals. */
        __atomic_fetch_add(&routes[route].count, 1, __ATOMIC_RELAXED);
        __atomic_fetch_add(&routes[route].bytes, size, __ATOMIC_RELAXED);
        if (size >= kms_stats_period || (s->left -= (int64_t)size) < 0)
            kms_stats_sample(p, size, route, caller);
    }
}

void kms_stats_sample(void *p, size_t size, int route, const void *caller)
{
    struct kms_stats_thread *s = &kms_stats_self;
    double w = kms_stats_weight(size, kms_stats_period);
    if (size < kms_stats_period) s->left = kms_stats_draw(&s->rng, kms_stats_period);
    /* A signal handler that interrupted this thread's locked part: its block
     * is counted above but not recorded. */
    if (s->in_lock) return;
    lock_self(s);
    struct kms_sampled_rec r = {
        .addr = (uintptr_t)p,
        .bytes = (int64_t)llround((double)size * w),
        .site = site_id((uintptr_t)caller),
        .route = (uint8_t)route,
        .bucket = (uint8_t)kms_stats_bucket(size),
    };
    struct kms_sampled_rec old;
    int put = kms_sampled_put(&recorded, &r, &old);
    if (put == 1) live_add(&old, -1); /* its free went unseen (see kms_stats_free) */
    if (put >= 0) {
        struct site *g = &sites[r.site];
        g->routes |= (uint16_t)(1u << route);
        g->count += w;
        g->bytes += (double)size * w;
        g->hist[r.bucket] += w;
        live_add(&r, 1);
    } else {
        dropped++;
    }
    unlock_self(s);
}

/* Inside the shim's own work, not a thread's exit (whose frees are the program's). */
static inline bool own_work(void)
{
    return kms_self.bypass != 0 && !(kms_self.bypass & KMS_BYPASS_EXITING);
}

/* Lock held: forgets p's record, if it has one. */
static bool forget_locked(void *p, struct kms_sampled_rec *r)
{
    if (!kms_sampled_take(&recorded, (uintptr_t)p, r)) return false;
    live_add(r, -1);
    return true;
}

void kms_stats_free(void *p)
{
    struct kms_stats_thread *s = &kms_stats_self;
    if (!p) return;
    if (own_work()) {
        /* The shim's own blocks are never recorded, and its own work (reading
         * symbol tables, with the callsite table's lock held) must not wait
         * for this lock: a thread holding it may wait for that one. */
        mi_free(p);
        return;
    }
    if (s->in_lock) {
        /* A signal handler interrupted this thread holding the lock. The block
         * is freed once the lock is let go: freed now, its address could be
         * handed out and recorded again before its record is forgotten. */
        if (s->npending < KMS_STATS_PENDING) {
            s->pending[s->npending++] = p;
            return;
        }
        /* Out of room: freed now; the stale record is replaced when the
         * address is recorded again. */
        mi_free(p);
        return;
    }
    struct kms_sampled_rec r;
    lock_self(s);
    forget_locked(p, &r);
    unlock_self(s);
    mi_free(p);
}

static void drain_pending(struct kms_stats_thread *s)
{
    while (s->npending > 0 && !s->in_lock) {
        void *p = s->pending[--s->npending];
        kms_stats_free(p);
    }
}

void *kms_stats_realloc(void *p, size_t size, const void *caller)
{
    struct kms_stats_thread *s = &kms_stats_self;
    int route = kms_route_decide(size, caller);
    if (!p) {
        void *q = kms_alloc(route, size, 0, false);
        if (q) kms_stats_note(q, size, route, caller);
        return q;
    }
    if (size == 0) {
        /* glibc's behaviour: free and return NULL. */
        if (kms_sampled_maybe(p))
            kms_stats_free(p);
        else
            mi_free(p);
        return NULL;
    }
    /* The record goes first: once mimalloc moves the block, its old address
     * may be handed out (and recorded) by another thread at once. */
    struct kms_sampled_rec r;
    bool had = false;
    if (!s->in_lock && !own_work() && kms_sampled_maybe(p)) {
        lock_self(s);
        had = forget_locked(p, &r);
        unlock_self(s);
    }
    void *q = kms_realloc_routed(p, size, route);
    if (!q) {
        if (had) { /* p is still the caller's: its record comes back */
            struct kms_sampled_rec old;
            lock_self(s);
            if (kms_sampled_put(&recorded, &r, &old) >= 0) live_add(&r, 1);
            unlock_self(s);
        }
        return NULL;
    }
    kms_stats_note(q, size, route, caller);
    return q;
}

/* ---- resident bytes per node, from the kernel ------------------------------ */

struct resident {
    uint64_t *bytes; /* [class][node] */
    int max_node;
    const char *method;
};

/* move_pages(2) with no target nodes reports the node of each page; mincore
 * first, so that only pages that exist are asked about. */
static int resident_move_pages(struct resident *res)
{
    long pagesz = sysconf(_SC_PAGESIZE);
    const size_t chunk_pages = 1u << 18, batch = 1024;
    unsigned char *vec =
        mmap(NULL, chunk_pages, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (vec == MAP_FAILED) return -1;
    void *pages[1024];
    int status[1024];
    int rc = 0;
    int n = atomic_load_explicit(&kms_narenas, memory_order_acquire);
    for (int a = 0; a < n && rc == 0; a++) {
        uintptr_t start = kms_arenas[a].start, end = kms_arenas[a].end;
        for (uintptr_t c = start; c < end && rc == 0; c += chunk_pages * (uintptr_t)pagesz) {
            size_t np = (end - c) / (uintptr_t)pagesz;
            if (np > chunk_pages) np = chunk_pages;
            if (mincore((void *)c, np * (size_t)pagesz, vec) < 0) continue;
            size_t k = 0;
            for (size_t i = 0; i <= np && rc == 0; i++) {
                /* Arenas are mostly untouched: skip 8 absent pages at a time. */
                uint64_t word;
                if (i % 8 == 0 && i + 8 <= np && (memcpy(&word, vec + i, 8), word == 0)) {
                    i += 7;
                    continue;
                }
                if (i < np && (vec[i] & 1)) pages[k++] = (void *)(c + i * (uintptr_t)pagesz);
                if (k == batch || (i == np && k)) {
                    long r = syscall(SYS_move_pages, 0, (unsigned long)k, pages, NULL, status, 0);
                    if (r < 0) {
                        rc = -1;
                        break;
                    }
                    for (size_t j = 0; j < k; j++)
                        if (status[j] >= 0 && status[j] <= res->max_node)
                            res->bytes[kms_arenas[a].cls * (res->max_node + 1) + status[j]] +=
                                (uint64_t)pagesz;
                    k = 0;
                }
            }
        }
    }
    munmap(vec, chunk_pages);
    res->method = "move_pages(2)";
    return rc;
}

/* /proc/self/numa_maps: per mapping, N<node>=<pages>; the arenas' mappings are
 * the lines whose start lies in an arena. */
static int resident_numa_maps(struct resident *res)
{
    FILE *f = fopen("/proc/self/numa_maps", "r");
    if (!f) return -1;
    char line[4096];
    int n = atomic_load_explicit(&kms_narenas, memory_order_acquire);
    while (fgets(line, sizeof(line), f)) {
        uintptr_t addr = (uintptr_t)strtoull(line, NULL, 16);
        int cls = -1;
        for (int a = 0; a < n; a++)
            if (addr >= kms_arenas[a].start && addr < kms_arenas[a].end) cls = kms_arenas[a].cls;
        if (cls < 0) continue;
        uint64_t kb = 4;
        char *k = strstr(line, "kernelpagesize_kB=");
        if (k) kb = strtoull(k + 18, NULL, 10);
        for (char *t = strtok(line, " \n"); t; t = strtok(NULL, " \n")) {
            char *end;
            if (t[0] != 'N' || t[1] < '0' || t[1] > '9') continue;
            long node = strtol(t + 1, &end, 10);
            if (*end != '=' || node > res->max_node) continue;
            res->bytes[cls * (res->max_node + 1) + node] += strtoull(end + 1, NULL, 10) * kb * 1024;
        }
    }
    fclose(f);
    res->method = "/proc/self/numa_maps";
    return 0;
}

static void resident_measure(struct resident *res)
{
    res->max_node = 0;
    for (int c = 0; c < kms_nclasses; c++)
        for (int nd = 0; nd < KMS_MAX_NODES; nd++)
            if (kms_nodeset_has(&kms_classes[c].pl.set, nd) && nd > res->max_node)
                res->max_node = nd;
    /* Preferred and bound sets spill or fall back only within what the kernel
     * knows: count every node up to the highest with memory. */
    long cfg = sysconf(_SC_NPROCESSORS_CONF);
    (void)cfg;
    if (res->max_node < 63) res->max_node = 63;
    size_t cells = (size_t)(kms_nclasses ? kms_nclasses : 1) * (size_t)(res->max_node + 1);
    res->bytes = calloc(cells, sizeof(uint64_t));
    res->method = "none";
    if (!res->bytes) return;
    if (resident_move_pages(res) < 0) {
        /* Denied (seccomp) or unsupported: the kernel's per-mapping summary instead. */
        memset(res->bytes, 0, cells * sizeof(uint64_t));
        if (resident_numa_maps(res) < 0) res->method = "unavailable";
    }
}

/* ---- names ----------------------------------------------------------------- */

struct site_name {
    char where[512];  /* "module+0xoffset" or "?" */
    char symbol[512]; /* "function+0xoff" or "" */
    char source[512]; /* "file:line" or "" */
};

static void site_name(uint32_t id, uintptr_t addr, const struct kms_libdw *D, Dwfl *dwfl,
                      struct site_name *out)
{
    memset(out, 0, sizeof(*out));
    if (id == 0) {
        snprintf(out->where, sizeof(out->where), "(other callsites)");
        return;
    }
    struct kms_callsite cs;
    if (kms_callsite_resolve(addr, &cs) < 0 || !cs.module) {
        snprintf(out->where, sizeof(out->where), "0x%" PRIxPTR, addr);
    } else {
        snprintf(out->where, sizeof(out->where), "%s+0x%" PRIx64, cs.module, cs.offset);
        if (cs.func)
            snprintf(out->symbol, sizeof(out->symbol), "%s+0x%" PRIx64, cs.func, cs.func_offset);
    }
    if (dwfl) {
        /* The call instruction, not the return address: the line of the call. */
        Dwarf_Addr a = (Dwarf_Addr)addr - 1;
        Dwfl_Module *m = D->addrmodule(dwfl, a);
        Dwfl_Line *l = m ? D->module_getsrc(m, a) : NULL;
        int lineno = 0;
        const char *file = l ? D->lineinfo(l, NULL, &lineno, NULL, NULL, NULL) : NULL;
        if (file) snprintf(out->source, sizeof(out->source), "%s:%d", file, lineno);
    }
}

static Dwfl *dwfl_open(const struct kms_libdw *D)
{
    if (!D) return NULL;
    static Dwfl_Callbacks cb;
    cb.find_elf = D->linux_proc_find_elf;
    cb.find_debuginfo = D->standard_find_debuginfo;
    Dwfl *d = D->begin(&cb);
    if (!d) return NULL;
    if (D->linux_proc_report(d, getpid()) != 0 || D->report_end(d, NULL, NULL) != 0) {
        D->end(d);
        return NULL;
    }
    return d;
}

/* ---- reports --------------------------------------------------------------- */

int kms_stats_expand_path(const char *pattern, long pid, char *out, size_t outlen)
{
    size_t o = 0;
    int total = 0;
    for (const char *s = pattern; *s; s++) {
        char buf[32];
        const char *piece = buf;
        if (s[0] == '%' && s[1] == 'p') {
            snprintf(buf, sizeof(buf), "%ld", pid);
            s++;
        } else if (s[0] == '%' && s[1] == '%') {
            buf[0] = '%', buf[1] = '\0';
            s++;
        } else {
            buf[0] = *s, buf[1] = '\0';
        }
        for (; *piece; piece++, total++)
            if (o + 1 < outlen) out[o++] = *piece;
    }
    if (outlen) out[o < outlen ? o : outlen - 1] = '\0';
    return total;
}

static FILE *open_report(const char *pattern, char *path, size_t pathlen, bool *close_it)
{
    *close_it = false;
    if (strcmp(pattern, "stderr") == 0) {
        snprintf(path, pathlen, "stderr");
        int fd = stderr_copy >= 0 ? dup(stderr_copy) : -1;
        FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
        if (!f) {
            if (fd >= 0) close(fd);
            return stderr;
        }
        *close_it = true;
        return f;
    }
    kms_stats_expand_path(pattern, (long)getpid(), path, pathlen);
    FILE *f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "kmemshim: warning: cannot write the report to %s: %s\n", path,
                strerror(errno));
        return NULL;
    }
    *close_it = true;
    return f;
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

static void json_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c < 0x20)
            fprintf(f, "\\u%04x", c);
        else
            fputc(c, f);
    }
    fputc('"', f);
}

static uint64_t pos(int64_t v) { return v > 0 ? (uint64_t)v : 0; }
/* An estimate, as a count. */
static uint64_t est(double v) { return v > 0.5 ? (uint64_t)llround(v) : 0; }

static void routes_of(uint16_t mask, char *buf, size_t len)
{
    size_t o = 0;
    buf[0] = '\0';
    for (int r = 0; r < KMS_TARGET_COUNT; r++)
        if (mask & (1u << r))
            o += (size_t)snprintf(buf + o, o < len ? len - o : 0, "%s%s", o ? "," : "",
                                  kms_target_name(r));
    if (!buf[0]) snprintf(buf, len, "-");
}

/* What the report shows, copied under the lock: it is then written without
 * it, since naming callsites takes the callsite table's lock, which a thread
 * may hold while it frees (and so waits for this one). */
struct site_copy {
    uint32_t id;
    struct site s;
};
static struct site_copy *copies;
static size_t ncopies;
static int64_t shown_live, shown_peak;

/* Sorted by key, descending. */
static int by_bytes(const void *a, const void *b)
{
    double x = ((const struct site_copy *)a)->s.bytes, y = ((const struct site_copy *)b)->s.bytes;
    return x < y ? 1 : x > y ? -1 : 0;
}
static int by_peak(const void *a, const void *b)
{
    int64_t x = ((const struct site_copy *)a)->s.peak, y = ((const struct site_copy *)b)->s.peak;
    if (x != y) return x < y ? 1 : -1;
    return by_bytes(a, b);
}

/* The classes a route uses (from any CPU node). */
static void classes_of_route(int r, bool *used)
{
    memset(used, 0, sizeof(bool) * KMS_MAX_CLASSES);
    int c = kms_target_class[r];
    if (c >= 0 && c != KMS_CLASS_BY_CPU) {
        used[c] = true;
        return;
    }
    if (c == KMS_CLASS_BY_CPU)
        for (int n = 0; n < KMS_MAX_NODES; n++)
            if (kms_route_class[r][n] >= 0) used[kms_route_class[r][n]] = true;
}

static double elapsed(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - started.tv_sec) + (double)(now.tv_nsec - started.tv_nsec) / 1e9;
}

#define TOP_SITES 10

/* The routes' totals at the report: the retired threads' counts and the
 * running threads' own (read as they are). */
static struct route_total shown[KMS_TARGET_COUNT];

static void sample_note(char *buf, size_t len)
{
    char h[32];
    if (kms_stats_period == 0)
        snprintf(buf, len, "every block recorded (KMEM_STATS_SAMPLE=0)");
    else
        snprintf(buf, len,
                 "live bytes and callsites estimated from sampled blocks: one per %s allocated "
                 "on average, and every block of %s or more (KMEM_STATS_SAMPLE)",
                 kms_size_human(kms_stats_period, h, sizeof(h)), h);
}

static void write_stats(FILE *f, bool json)
{
    struct resident res;
    resident_measure(&res);
    qsort(copies, ncopies, sizeof(*copies), by_bytes);
    size_t ntop = ncopies < TOP_SITES ? ncopies : TOP_SITES;
    char h1[32], h2[32], h3[32], h4[32], buf[512];
    const char *prog = program_invocation_name;
    int stride = res.max_node + 1;

    if (json) {
        fprintf(f, "{\n  \"pid\": %ld,\n  \"program\": ", (long)getpid());
        json_str(f, prog ? prog : "");
        fprintf(f, ",\n  \"seconds\": %.3f,\n  \"routes\": [", elapsed());
    } else {
        fprintf(f, "kmemshim stats: pid %ld, %s, %.3f s\n", (long)getpid(), prog ? prog : "?",
                elapsed());
        sample_note(buf, sizeof(buf));
        fprintf(f, "%s\n", buf);
        fprintf(f, "%-10s %12s %14s %14s %14s\n", "route", "allocations", "requested", "live",
                "peak live");
    }
    bool first = true;
    for (int r = 0; r < KMS_TARGET_COUNT; r++) {
        const struct route_total *t = &shown[r];
        if (!t->count && !kms_routes.uses[r]) continue;
        if (json) {
            fprintf(f,
                    "%s\n    {\"route\": \"%s\", \"allocations\": %" PRIu64
                    ", \"bytes_requested\": %" PRIu64 ", \"live_bytes\": %" PRIu64
                    ", \"peak_live_bytes\": %" PRIu64 ", \"resident\": [",
                    first ? "" : ",", kms_target_name(r), t->count, t->bytes, pos(t->live),
                    pos(t->peak));
        } else {
            fprintf(f, "%-10s %12" PRIu64 " %14s %14s %14s\n", kms_target_name(r), t->count,
                    kms_size_human(t->bytes, h1, sizeof(h1)),
                    kms_size_human(pos(t->live), h2, sizeof(h2)),
                    kms_size_human(pos(t->peak), h3, sizeof(h3)));
        }
        first = false;
        bool used[KMS_MAX_CLASSES];
        classes_of_route(r, used);
        bool firstc = true, any = false;
        for (int c = 0; c < kms_nclasses; c++) {
            if (!used[c]) continue;
            any = true;
            char set[256];
            kms_nodeset_format(&kms_classes[c].pl.set, set, sizeof(set));
            const char *mode = kms_mode_name(kms_classes[c].pl.mode);
            if (json) {
                fprintf(f,
                        "%s{\"policy\": \"%s\", \"nodes\": \"%s\", \"reserved_bytes\": %" PRIu64
                        ", \"by_node\": {",
                        firstc ? "" : ", ", mode, set, kms_classes[c].reserved_bytes);
            } else {
                fprintf(f, "    arena %s %s (%s reserved): resident", mode, set,
                        kms_size_human(kms_classes[c].reserved_bytes, h4, sizeof(h4)));
            }
            firstc = false;
            bool firstn = true;
            uint64_t sum = 0;
            for (int nd = 0; res.bytes && nd <= res.max_node; nd++) {
                uint64_t b = res.bytes[c * stride + nd];
                if (!b) continue;
                sum += b;
                if (json)
                    fprintf(f, "%s\"%d\": %" PRIu64, firstn ? "" : ", ", nd, b);
                else
                    fprintf(f, " node %d %s", nd, kms_size_human(b, h1, sizeof(h1)));
                firstn = false;
            }
            if (json)
                fprintf(f, "}}");
            else
                fprintf(f, "%s\n", sum ? "" : " nothing");
        }
        if (json)
            fprintf(f, "]}");
        else if (!any)
            fprintf(f, "    no arena: mimalloc's plain heap, the process's own NUMA policy\n");
    }
    if (json) {
        fprintf(f,
                "\n  ],\n  \"total\": {\"live_bytes\": %" PRIu64 ", \"peak_live_bytes\": %" PRIu64
                "},\n  \"sample_period_bytes\": %" PRIu64 ",\n  \"dropped_samples\": %" PRIu64
                ",\n  \"resident_method\": \"%s\",\n  \"top_callsites\": [",
                pos(shown_live), pos(shown_peak), kms_stats_period, dropped, res.method);
    } else {
        fprintf(f, "%-10s %12s %14s %14s %14s\n", "total", "", "",
                kms_size_human(pos(shown_live), h1, 32), kms_size_human(pos(shown_peak), h2, 32));
        fprintf(f, "resident bytes measured with %s\n", res.method);
        fprintf(f, "top %zu callsites by bytes requested:\n", ntop);
        fprintf(f, "  %14s %10s %14s  %-13s %s\n", "requested", "count", "peak live", "route",
                "callsite");
    }
    /* No source lines here: reading debug information costs a tenth of a
     * second or more at every exit (and every exec-ed child reports); the
     * profile has them. */
    for (size_t i = 0; i < ntop; i++) {
        const struct site *s = &copies[i].s;
        struct site_name nm;
        site_name(copies[i].id, s->addr, NULL, NULL, &nm);
        routes_of(s->routes, buf, sizeof(buf));
        if (json) {
            fprintf(f, "%s\n    {\"callsite\": ", i ? "," : "");
            json_str(f, nm.where);
            fprintf(f, ", \"symbol\": ");
            json_str(f, nm.symbol);
            fprintf(f,
                    ", \"routes\": \"%s\", \"allocations\": %" PRIu64
                    ", \"bytes_requested\": %" PRIu64 ", \"peak_live_bytes\": %" PRIu64 "}",
                    buf, est(s->count), est(s->bytes), pos(s->peak));
        } else {
            fprintf(f, "  %14s %10" PRIu64 " %14s  %-13s %s%s%s%s%s\n",
                    kms_size_human(est(s->bytes), h1, 32), est(s->count),
                    kms_size_human(pos(s->peak), h2, 32), buf, nm.where, nm.symbol[0] ? " " : "",
                    nm.symbol, nm.source[0] ? " at " : "", nm.source);
        }
    }
    if (json) fprintf(f, "%s]\n}\n", ntop ? "\n  " : "");
    free(res.bytes);
}

static void write_profile(FILE *f)
{
    qsort(copies, ncopies, sizeof(*copies), by_peak);
    const char *prog = program_invocation_name;
    fprintf(f, "# kmemshim profile 1\n");
    fprintf(f, "# pid %ld program %s\n", (long)getpid(), prog ? prog : "?");
    fprintf(f, "# total peak_live %" PRIu64 " live_at_exit %" PRIu64 "\n", pos(shown_peak),
            pos(shown_live));
    /* 0: every block was recorded and the numbers are exact; otherwise they
     * are estimates from blocks sampled once per that many bytes. */
    fprintf(f, "# sample_period %" PRIu64 "\n", kms_stats_period);
    fprintf(f,
            "# peak_live\tcount\tbytes\tlive_at_exit\troutes\tcallsite\tsymbol\tsource\tsizes\n");
    const struct kms_libdw *D = kms_libdw();
    Dwfl *dwfl = dwfl_open(D);
    for (size_t i = 0; i < ncopies; i++) {
        const struct site *s = &copies[i].s;
        struct site_name nm;
        char rt[64];
        site_name(copies[i].id, s->addr, D, dwfl, &nm);
        routes_of(s->routes, rt, sizeof(rt));
        fprintf(f, "%" PRIu64 "\t%" PRIu64 "\t%" PRIu64 "\t%" PRIu64 "\t%s\t%s\t%s\t%s\t",
                pos(s->peak), est(s->count), est(s->bytes), pos(s->live), rt,
                copies[i].id ? nm.where : "-", nm.symbol[0] ? nm.symbol : "-",
                nm.source[0] ? nm.source : "-");
        bool first = true;
        for (int b = 0; b < KMS_STATS_HIST; b++) {
            if (est(s->hist[b]) == 0) continue;
            uint64_t lim = kms_stats_bucket_limit(b);
            if (lim == UINT64_MAX)
                fprintf(f, "%smax:%" PRIu64, first ? "" : ",", est(s->hist[b]));
            else
                fprintf(f, "%s%" PRIu64 ":%" PRIu64, first ? "" : ",", lim, est(s->hist[b]));
            first = false;
        }
        fprintf(f, "\n");
    }
    if (dwfl) D->end(dwfl);
}

void kms_stats_report(void)
{
    if (!kms_stats_on) return;
    struct kms_stats_thread *s = &kms_stats_self;
    if (s->in_lock) return; /* from a signal handler inside the locked part */
    kms_self.bypass++;
    int saved = errno;
    /* Room for every site (only the used part is touched), taken before the lock. */
    struct site_copy *buf = malloc(KMS_STATS_SITES * sizeof(*buf));
    lock_self(s);
    for (int r = 0; r < KMS_TARGET_COUNT; r++) {
        shown[r] = routes[r];
        for (struct kms_stats_thread *t = threads; t; t = t->next) {
            shown[r].count += __atomic_load_n(&t->count[r], __ATOMIC_RELAXED);
            shown[r].bytes += __atomic_load_n(&t->bytes[r], __ATOMIC_RELAXED);
        }
    }
    shown_live = total_live;
    shown_peak = total_peak;
    ncopies = 0;
    for (uint32_t i = 0; buf && i < KMS_STATS_SITES; i++)
        if (sites[i].count > 0) buf[ncopies++] = (struct site_copy){i, sites[i]};
    copies = buf;
    unlock_self(s);
    char path[PATH_MAX + 32];
    bool close_it;
    FILE *f;
    if (stats_path[0] && (f = open_report(stats_path, path, sizeof(path), &close_it))) {
        write_stats(f, ends_with(path, ".json"));
        if (close_it)
            fclose(f);
        else
            fflush(f);
    }
    if (profile_path[0] && (f = open_report(profile_path, path, sizeof(path), &close_it))) {
        write_profile(f);
        if (close_it)
            fclose(f);
        else
            fflush(f);
    }
    free(buf);
    copies = NULL;
    ncopies = 0;
    errno = saved;
    kms_self.bypass--;
}

/* ---- start-up and fork ----------------------------------------------------- */

static void at_exit(void) { kms_stats_report(); }
static void fork_prepare(void) { lock_self(&kms_stats_self); }
static void fork_parent(void) { unlock_self(&kms_stats_self); }
static void fork_child(void)
{
    pthread_mutex_init(&lock, NULL);
    kms_stats_self.in_lock--;
    /* The other threads are gone; their blocks stay, and so do their counts. */
    struct kms_stats_thread *self = &kms_stats_self, *next;
    for (struct kms_stats_thread *t = threads; t; t = next) {
        next = t->next;
        if (t != self) retire_locked(t);
    }
    clock_gettime(CLOCK_MONOTONIC, &started);
}

void kms_stats_init(const struct kms_config *c)
{
    if (!c->stats && !c->profile) return;
    snprintf(stats_path, sizeof(stats_path), "%s", c->stats ? c->stats : "");
    snprintf(profile_path, sizeof(profile_path), "%s", c->profile ? c->profile : "");
    kms_stats_period = c->stats_sample_set ? c->stats_sample : KMS_STATS_SAMPLE_DEFAULT;
    clock_gettime(CLOCK_MONOTONIC, &started);
    if (strcmp(stats_path, "stderr") == 0) stderr_copy = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 3);
    pthread_atfork(fork_prepare, fork_parent, fork_child);
    /* Registered before main: runs after the program's own atexit handlers. */
    atexit(at_exit);
    __atomic_store_n(&kms_stats_on, 1, __ATOMIC_RELEASE);
}
