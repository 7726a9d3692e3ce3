#include "core/stats.h"

#include "core/arena.h"
#include "core/engine.h"
#include "policy/callsite.h"
#include "policy/route.h"
#include "policy/size.h"
#include "policy/target.h"

#include <elfutils/libdwfl.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

int kms_stats_on;

static char stats_path[PATH_MAX];   /* "stderr", a path pattern, or "" */
static char profile_path[PATH_MAX]; /* a path pattern, or "" */
static struct timespec started;
/* A copy of standard error taken at start-up: programs may close stderr in
 * their own exit handlers (coreutils' close_stdout does), which run first. */
static int stderr_copy = -1;

/* ---- tags ------------------------------------------------------------------ */

/* The last 16 usable bytes of every block handed out while stats are on. The
 * check word mixes in the block's address, so a tag copied elsewhere (realloc)
 * or left in a block freed and reused untagged never validates; it is cleared
 * when the block is freed. */
struct tag {
    uint64_t size;    /* requested */
    uint32_t site_rt; /* site id << 3 | route */
    uint32_t check;
};

static inline uint32_t tag_check(const void *p, uint64_t size, uint32_t site_rt)
{
    /* Cheap on purpose (it runs twice per block); random bytes pass it with
     * probability 2^-32, and the other fields must be in range too. */
    uint64_t h = ((uintptr_t)p >> 3) ^ size ^ ((uint64_t)site_rt << 32) ^ 0x6b6d656d73686d21ull;
    return (uint32_t)(h ^ (h >> 32)) | 1; /* 0 is a cleared tag */
}

/* Request size plus the tag, rounded to 16 so that blocks of 16 bytes or more
 * keep the 16-byte alignment malloc promises (mimalloc aligns a block to the
 * largest power of two dividing its size, up to 16). */
static inline size_t padded(size_t size) { return (size + KMS_STATS_TAG + 15) & ~(size_t)15; }

static inline bool read_tag(void *p, struct tag *t, size_t *usable)
{
    size_t u = mi_usable_size(p);
    *usable = u;
    if (u < KMS_STATS_TAG) return false;
    memcpy(t, (char *)p + u - KMS_STATS_TAG, sizeof(*t));
    return t->check != 0 && t->size <= u - KMS_STATS_TAG && (t->site_rt & 7) < KMS_TARGET_COUNT &&
           (t->site_rt >> 3) < KMS_STATS_SITES && t->check == tag_check(p, t->size, t->site_rt);
}

static inline void write_tag(void *p, size_t usable, const struct tag *t)
{
    memcpy((char *)p + usable - KMS_STATS_TAG, t, sizeof(*t));
}

static inline void clear_tag(void *p, size_t usable)
{
    uint32_t zero = 0;
    memcpy((char *)p + usable - KMS_STATS_TAG + offsetof(struct tag, check), &zero, 4);
}

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

/* ---- global totals --------------------------------------------------------- */

struct site {
    uintptr_t addr; /* return address; 0 = free slot. Slot 0 is "other callsites". */
    uint8_t routes; /* bit per route the site's requests went to */
    uint64_t count, bytes;
    int64_t live, peak;
    uint64_t hist[KMS_STATS_HIST];
};

struct route_total {
    uint64_t count, bytes;
    int64_t live, peak;
};

static struct site sites[KMS_STATS_SITES];
static struct route_total routes[KMS_TARGET_COUNT];
static int64_t total_live, total_peak;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

/* The id of a callsite: its slot in the open-addressed table. Lock-free;
 * after the first request from a callsite its slot is only read. */
static uint32_t site_id(uintptr_t addr)
{
    uint32_t i = (uint32_t)((addr * 0x9E3779B97F4A7C15ull) >> 40) & (KMS_STATS_SITES - 1);
    for (int probe = 0; probe < 64; probe++) {
        if (i == 0) i = 1;
        uintptr_t k = __atomic_load_n(&sites[i].addr, __ATOMIC_ACQUIRE);
        if (k == addr) return i;
        if (k == 0) {
            if (__atomic_compare_exchange_n(&sites[i].addr, &k, addr, false, __ATOMIC_ACQ_REL,
                                            __ATOMIC_ACQUIRE) ||
                k == addr)
                return i;
        }
        i = (i + 1) & (KMS_STATS_SITES - 1);
    }
    return 0;
}

/* ---- per-thread counters --------------------------------------------------- */

#define LOCAL_SLOTS 512u
struct local_site {
    uint32_t id; /* 0 = empty */
    uint8_t routes;
    uint32_t hist[KMS_STATS_HIST];
    int64_t count, bytes, live;
};

#define LOCAL_BYTES (LOCAL_SLOTS * (sizeof(struct local_site) + sizeof(uint16_t)))

enum { TS_NONE = 0, TS_ACTIVE, TS_EXITED };
struct tstate {
    int64_t count[KMS_TARGET_COUNT], bytes[KMS_TARGET_COUNT], live[KMS_TARGET_COUNT];
    uint64_t churn;
    uint32_t ops;
    int state;
    uintptr_t last_caller; /* the last callsite and its id: loops skip the lookup */
    uint32_t last_id;
    uint32_t nused;
    bool in_flush;
    struct local_site *sites; /* LOCAL_SLOTS, mmap-ed: never through malloc */
    uint16_t *used;           /* slots in use, so a flush touches only those */
};

static __thread struct tstate ts __attribute__((tls_model("initial-exec")));

extern void *__dso_handle __attribute__((weak));
extern int __cxa_thread_atexit_impl(void (*fn)(void *), void *obj, void *dso);

static void peak_update(void)
{
    total_live = 0;
    for (int r = 0; r < KMS_TARGET_COUNT; r++) {
        if (routes[r].live > routes[r].peak) routes[r].peak = routes[r].live;
        total_live += routes[r].live;
    }
    if (total_live > total_peak) total_peak = total_live;
}

/* With the lock held. */
static void flush_locked(struct tstate *s)
{
    for (int r = 0; r < KMS_TARGET_COUNT; r++) {
        routes[r].count += (uint64_t)s->count[r];
        routes[r].bytes += (uint64_t)s->bytes[r];
        routes[r].live += s->live[r];
        s->count[r] = s->bytes[r] = s->live[r] = 0;
    }
    peak_update();
    if (s->sites) {
        for (unsigned i = 0; i < LOCAL_SLOTS; i++) {
            struct local_site *l = &s->sites[i];
            if (!l->id) continue;
            struct site *g = &sites[l->id];
            g->routes |= l->routes;
            g->count += (uint64_t)l->count;
            g->bytes += (uint64_t)l->bytes;
            g->live += l->live;
            if (g->live > g->peak) g->peak = g->live;
            for (int b = 0; b < KMS_STATS_HIST; b++)
                g->hist[b] += l->hist[b];
            memset(l, 0, sizeof(*l));
        }
        s->nused = 0;
    }
    s->churn = 0;
    s->ops = 0;
}

static void flush(struct tstate *s)
{
    /* A signal handler that allocates while this thread flushes must not
     * take the lock again: its counts wait for the next flush. */
    if (s->in_flush) return;
    s->in_flush = true;
    pthread_mutex_lock(&lock);
    flush_locked(s);
    pthread_mutex_unlock(&lock);
    s->in_flush = false;
}

static void thread_exit(void *arg)
{
    (void)arg;
    struct tstate *s = &ts;
    flush(s);
    s->state = TS_EXITED;
    if (s->sites) munmap(s->sites, LOCAL_SLOTS * sizeof(*s->sites));
    s->sites = NULL;
}

static bool activate(struct tstate *s)
{
    if (s->state == TS_EXITED) return false;
    void *m = mmap(NULL, LOCAL_BYTES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) {
        s->state = TS_EXITED; /* counts go straight to the totals */
        return false;
    }
    s->sites = m;
    s->used = (uint16_t *)(s->sites + LOCAL_SLOTS);
    s->nused = 0;
    s->state = TS_ACTIVE;
    /* glibc allocates the destructor's record: that request must not come back here. */
    kms_self.bypass++;
    __cxa_thread_atexit_impl(thread_exit, NULL, &__dso_handle);
    kms_self.bypass--;
    return true;
}

static inline struct local_site *local_find(struct tstate *s, uint32_t id)
{
    uint32_t i = (id * 2654435761u) >> (32 - 9);
    for (unsigned probe = 0; probe < 16; probe++, i = (i + 1) & (LOCAL_SLOTS - 1)) {
        struct local_site *l = &s->sites[i];
        if (l->id == id) return l;
        if (l->id == 0) {
            l->id = id;
            s->used[s->nused++] = (uint16_t)i;
            return l;
        }
    }
    return NULL;
}

/* A thread that has exited (its destructors may still free) or has no table. */
static __attribute__((noinline)) void account_direct(uint32_t id, int route, uint64_t size,
                                                     bool alloc)
{
    pthread_mutex_lock(&lock);
    struct site *g = &sites[id];
    if (alloc) {
        routes[route].count++;
        routes[route].bytes += size;
        routes[route].live += (int64_t)size;
        g->routes |= (uint8_t)(1u << route);
        g->count++;
        g->bytes += size;
        g->live += (int64_t)size;
        g->hist[kms_stats_bucket(size)]++;
        if (g->live > g->peak) g->peak = g->live;
    } else {
        routes[route].live -= (int64_t)size;
        g->live -= (int64_t)size;
    }
    peak_update();
    pthread_mutex_unlock(&lock);
}

/* Inlined into each caller, so the alloc and free variants have no branch on alloc. */
static inline __attribute__((always_inline)) void account(uint32_t id, int route, uint64_t size,
                                                          bool alloc)
{
    struct tstate *s = &ts;
    if (__builtin_expect(s->state != TS_ACTIVE, 0) && !activate(s)) {
        account_direct(id, route, size, alloc);
        return;
    }
    struct local_site *l = local_find(s, id);
    if (__builtin_expect(!l, 0)) {
        flush(s);
        l = local_find(s, id);
    }
    if (__builtin_expect(!l, 0)) {
        /* Only inside a nested flush (a signal handler): count the route alone. */
        if (alloc) {
            s->count[route]++;
            s->bytes[route] += (int64_t)size;
            s->live[route] += (int64_t)size;
        } else {
            s->live[route] -= (int64_t)size;
        }
        return;
    }
    if (alloc) {
        s->count[route]++;
        s->bytes[route] += (int64_t)size;
        s->live[route] += (int64_t)size;
        l->routes |= (uint8_t)(1u << route);
        l->count++;
        l->bytes += (int64_t)size;
        l->live += (int64_t)size;
        l->hist[kms_stats_bucket(size)]++;
    } else {
        s->live[route] -= (int64_t)size;
        l->live -= (int64_t)size;
    }
    s->churn += size;
    /* A large block flushes at once: peaks of large blocks, the ones that
     * matter for placement, are then exact. */
    if (__builtin_expect(++s->ops >= KMS_STATS_FLUSH_OPS || s->churn >= KMS_STATS_FLUSH_BYTES ||
                             size >= KMS_STATS_FLUSH_BYTES / 4,
                         0))
        flush(s);
}

/* ---- the entry points ------------------------------------------------------ */

static void record(void *p, size_t size, int route, const void *caller)
{
    struct tstate *s = &ts;
    uint32_t id = s->last_id;
    if ((uintptr_t)caller != s->last_caller) {
        id = site_id((uintptr_t)caller);
        s->last_caller = (uintptr_t)caller;
        s->last_id = id;
    }
    struct tag t = {size, id << 3 | (uint32_t)route, 0};
    t.check = tag_check(p, size, t.site_rt);
    write_tag(p, mi_usable_size(p), &t);
    account(id, route, size, true);
}

void *kms_stats_alloc(size_t size, size_t align, bool zero, const void *caller)
{
    int route = kms_route_decide(size, caller);
    /* The shim's own requests are neither tagged nor counted. */
    if (kms_self.bypass || size > PTRDIFF_MAX / 2) return kms_alloc(route, size, align, zero);
    void *p = kms_alloc(route, padded(size), align, zero);
    if (p) record(p, size, route, caller);
    return p;
}

void *kms_stats_alloc_page(size_t size, size_t rounded, size_t page, const void *caller)
{
    int route = kms_route_decide(size, caller);
    if (kms_self.bypass || rounded > PTRDIFF_MAX / 2) return kms_alloc(route, rounded, page, false);
    void *p = kms_alloc(route, rounded + KMS_STATS_TAG, page, false);
    if (p) record(p, size, route, caller);
    return p;
}

void kms_stats_free(void *p)
{
    if (!p) return;
    struct tag t;
    size_t usable;
    if (read_tag(p, &t, &usable)) {
        clear_tag(p, usable);
        account(t.site_rt >> 3, (int)(t.site_rt & 7), t.size, false);
    }
    mi_free(p);
}

void *kms_stats_realloc(void *p, size_t size, const void *caller)
{
    if (!p) return kms_stats_alloc(size, 0, false, caller);
    if (size == 0) {
        kms_stats_free(p);
        return NULL;
    }
    struct tag t;
    size_t usable;
    bool tagged = read_tag(p, &t, &usable);
    int route = kms_route_decide(size, caller);
    bool tag_new = !kms_self.bypass && size <= PTRDIFF_MAX / 2;
    /* Cleared first: if the block moves, mimalloc frees it without us. */
    if (tagged) clear_tag(p, usable);
    void *q = kms_realloc_routed(p, tag_new ? padded(size) : size, route);
    if (!q) {
        if (tagged) write_tag(p, usable, &t);
        return NULL;
    }
    if (tagged) account(t.site_rt >> 3, (int)(t.site_rt & 7), t.size, false);
    if (tag_new) record(q, size, route, caller);
    return q;
}

size_t kms_stats_usable_size(void *p)
{
    if (!p) return 0;
    struct tag t;
    size_t usable;
    return read_tag(p, &t, &usable) ? usable - KMS_STATS_TAG : usable;
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

static void site_name(uint32_t id, Dwfl *dwfl, struct site_name *out)
{
    memset(out, 0, sizeof(*out));
    if (id == 0) {
        snprintf(out->where, sizeof(out->where), "(other callsites)");
        return;
    }
    struct kms_callsite cs;
    if (kms_callsite_resolve(sites[id].addr, &cs) < 0 || !cs.module) {
        snprintf(out->where, sizeof(out->where), "0x%" PRIxPTR, sites[id].addr);
    } else {
        snprintf(out->where, sizeof(out->where), "%s+0x%" PRIx64, cs.module, cs.offset);
        if (cs.func)
            snprintf(out->symbol, sizeof(out->symbol), "%s+0x%" PRIx64, cs.func, cs.func_offset);
    }
    if (dwfl) {
        /* The call instruction, not the return address: the line of the call. */
        Dwarf_Addr a = (Dwarf_Addr)sites[id].addr - 1;
        Dwfl_Module *m = dwfl_addrmodule(dwfl, a);
        Dwfl_Line *l = m ? dwfl_module_getsrc(m, a) : NULL;
        int lineno = 0;
        const char *file = l ? dwfl_lineinfo(l, NULL, &lineno, NULL, NULL, NULL) : NULL;
        if (file) snprintf(out->source, sizeof(out->source), "%s:%d", file, lineno);
    }
}

static Dwfl *dwfl_open(void)
{
    static const Dwfl_Callbacks cb = {
        .find_elf = dwfl_linux_proc_find_elf,
        .find_debuginfo = dwfl_standard_find_debuginfo,
    };
    Dwfl *d = dwfl_begin(&cb);
    if (!d) return NULL;
    if (dwfl_linux_proc_report(d, getpid()) != 0 || dwfl_report_end(d, NULL, NULL) != 0) {
        dwfl_end(d);
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

static void routes_of(uint8_t mask, char *buf, size_t len)
{
    size_t o = 0;
    buf[0] = '\0';
    for (int r = 0; r < KMS_TARGET_COUNT; r++)
        if (mask & (1u << r))
            o += (size_t)snprintf(buf + o, o < len ? len - o : 0, "%s%s", o ? "," : "",
                                  kms_target_name(r));
    if (!buf[0]) snprintf(buf, len, "-");
}

/* Ids of sites with requests, sorted by key (descending). */
static int by_bytes(const void *a, const void *b)
{
    uint64_t x = sites[*(const uint32_t *)a].bytes, y = sites[*(const uint32_t *)b].bytes;
    return x < y ? 1 : x > y ? -1 : 0;
}
static int by_peak(const void *a, const void *b)
{
    int64_t x = sites[*(const uint32_t *)a].peak, y = sites[*(const uint32_t *)b].peak;
    if (x != y) return x < y ? 1 : -1;
    return by_bytes(a, b);
}

static uint32_t *sorted_sites(int (*cmp)(const void *, const void *), size_t *n)
{
    uint32_t *ids = malloc(KMS_STATS_SITES * sizeof(*ids));
    *n = 0;
    if (!ids) return NULL;
    for (uint32_t i = 0; i < KMS_STATS_SITES; i++)
        if (sites[i].count) ids[(*n)++] = i;
    qsort(ids, *n, sizeof(*ids), cmp);
    return ids;
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

static void write_stats(FILE *f, bool json)
{
    struct resident res;
    resident_measure(&res);
    size_t nsorted;
    uint32_t *ids = sorted_sites(by_bytes, &nsorted);
    size_t ntop = nsorted < TOP_SITES ? nsorted : TOP_SITES;
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
        fprintf(f, "%-10s %12s %14s %14s %14s\n", "route", "allocations", "requested", "live",
                "peak live");
    }
    bool first = true;
    for (int r = 0; r < KMS_TARGET_COUNT; r++) {
        const struct route_total *t = &routes[r];
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
                "},\n  \"resident_method\": \"%s\",\n  \"top_callsites\": [",
                pos(total_live), pos(total_peak), res.method);
    } else {
        fprintf(f, "%-10s %12s %14s %14s %14s\n", "total", "", "",
                kms_size_human(pos(total_live), h1, 32), kms_size_human(pos(total_peak), h2, 32));
        fprintf(f, "resident bytes measured with %s\n", res.method);
        fprintf(f, "top %zu callsites by bytes requested:\n", ntop);
        fprintf(f, "  %14s %10s %14s  %-13s %s\n", "requested", "count", "peak live", "route",
                "callsite");
    }
    /* No source lines here: reading debug information costs a tenth of a
     * second or more at every exit (and every exec-ed child reports); the
     * profile has them. */
    Dwfl *dwfl = NULL;
    for (size_t i = 0; i < ntop; i++) {
        const struct site *s = &sites[ids[i]];
        struct site_name nm;
        site_name(ids[i], dwfl, &nm);
        routes_of(s->routes, buf, sizeof(buf));
        if (json) {
            fprintf(f, "%s\n    {\"callsite\": ", i ? "," : "");
            json_str(f, nm.where);
            fprintf(f, ", \"symbol\": ");
            json_str(f, nm.symbol);
            fprintf(f,
                    ", \"routes\": \"%s\", \"allocations\": %" PRIu64
                    ", \"bytes_requested\": %" PRIu64 ", \"peak_live_bytes\": %" PRIu64 "}",
                    buf, s->count, s->bytes, pos(s->peak));
        } else {
            fprintf(f, "  %14s %10" PRIu64 " %14s  %-13s %s%s%s%s%s\n",
                    kms_size_human(s->bytes, h1, 32), s->count,
                    kms_size_human(pos(s->peak), h2, 32), buf, nm.where, nm.symbol[0] ? " " : "",
                    nm.symbol, nm.source[0] ? " at " : "", nm.source);
        }
    }
    if (dwfl) dwfl_end(dwfl);
    if (json) fprintf(f, "%s]\n}\n", ntop ? "\n  " : "");
    free(ids);
    free(res.bytes);
}

static void write_profile(FILE *f)
{
    size_t n;
    uint32_t *ids = sorted_sites(by_peak, &n);
    const char *prog = program_invocation_name;
    fprintf(f, "# kmemshim profile 1\n");
    fprintf(f, "# pid %ld program %s\n", (long)getpid(), prog ? prog : "?");
    fprintf(f, "# total peak_live %" PRIu64 " live_at_exit %" PRIu64 "\n", pos(total_peak),
            pos(total_live));
    fprintf(f,
            "# peak_live\tcount\tbytes\tlive_at_exit\troutes\tcallsite\tsymbol\tsource\tsizes\n");
    Dwfl *dwfl = dwfl_open();
    for (size_t i = 0; ids && i < n; i++) {
        const struct site *s = &sites[ids[i]];
        struct site_name nm;
        char rt[64];
        site_name(ids[i], dwfl, &nm);
        routes_of(s->routes, rt, sizeof(rt));
        fprintf(f, "%" PRIu64 "\t%" PRIu64 "\t%" PRIu64 "\t%" PRIu64 "\t%s\t%s\t%s\t%s\t",
                pos(s->peak), s->count, s->bytes, pos(s->live), rt, ids[i] ? nm.where : "-",
                nm.symbol[0] ? nm.symbol : "-", nm.source[0] ? nm.source : "-");
        bool first = true;
        for (int b = 0; b < KMS_STATS_HIST; b++) {
            if (!s->hist[b]) continue;
            uint64_t lim = kms_stats_bucket_limit(b);
            if (lim == UINT64_MAX)
                fprintf(f, "%smax:%" PRIu64, first ? "" : ",", s->hist[b]);
            else
                fprintf(f, "%s%" PRIu64 ":%" PRIu64, first ? "" : ",", lim, s->hist[b]);
            first = false;
        }
        fprintf(f, "\n");
    }
    if (dwfl) dwfl_end(dwfl);
    free(ids);
}

void kms_stats_report(void)
{
    if (!kms_stats_on) return;
    kms_self.bypass++;
    int saved = errno;
    pthread_mutex_lock(&lock);
    flush_locked(&ts);
    pthread_mutex_unlock(&lock);
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
    errno = saved;
    kms_self.bypass--;
}

/* ---- start-up and fork ----------------------------------------------------- */

static void at_exit(void) { kms_stats_report(); }
static void fork_prepare(void) { pthread_mutex_lock(&lock); }
static void fork_parent(void) { pthread_mutex_unlock(&lock); }
static void fork_child(void)
{
    pthread_mutex_init(&lock, NULL);
    clock_gettime(CLOCK_MONOTONIC, &started);
}

void kms_stats_init(const struct kms_config *c)
{
    if (!c->stats && !c->profile) return;
    snprintf(stats_path, sizeof(stats_path), "%s", c->stats ? c->stats : "");
    snprintf(profile_path, sizeof(profile_path), "%s", c->profile ? c->profile : "");
    clock_gettime(CLOCK_MONOTONIC, &started);
    if (strcmp(stats_path, "stderr") == 0) stderr_copy = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 3);
    pthread_atfork(fork_prepare, fork_parent, fork_child);
    /* Registered before main: runs after the program's own atexit handlers. */
    atexit(at_exit);
    __atomic_store_n(&kms_stats_on, 1, __ATOMIC_RELEASE);
}
