/* kmbench: the synthetic allocator workloads of the kmemshim benchmark.
 *
 *   kmbench WORKLOAD [SCALE]
 *
 * WORKLOAD is churn, xthread, larson, realloc, mixed, aligned or pairs; SCALE
 * (default 1.0) multiplies the amount of work. Every workload prints one line
 * with a checksum of the data it wrote and read back, which depends only on the
 * workload and the scale, never on the allocator or on addresses: the benchmark
 * compares that line with glibc's to catch an allocator that corrupts memory.
 * A broken allocator contract (misaligned block, wrong contents) exits 3.
 */
#define _GNU_SOURCE
#include <malloc.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- helpers ---------------------------------------------------------- */

typedef struct {
    uint64_t s;
} rng_t;

static inline uint64_t rnd(rng_t *r)
{
    /* xorshift64* */
    uint64_t x = r->s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    r->s = x;
    return x * 0x2545F4914F6CDD1DULL;
}

static inline uint64_t mix(uint64_t h, uint64_t v)
{
    h ^= v + 0x9E3779B97F4A7C15ULL + (h << 6) + (h >> 2);
    return h;
}

static void die(const char *what)
{
    fprintf(stderr, "kmbench: %s\n", what);
    exit(3);
}

static void *xmalloc(size_t n)
{
    void *p = malloc(n);
    if (!p) die("malloc returned NULL");
    return p;
}

/* A block starts with its size and a tag and ends with the tag's low byte, so
 * a free can check that nobody else wrote into it. */
struct hdr {
    uint64_t size;
    uint64_t tag;
};

static void *obj_new(size_t size, uint64_t tag)
{
    if (size < sizeof(struct hdr)) size = sizeof(struct hdr);
    unsigned char *p = xmalloc(size);
    struct hdr h = {size, tag};
    memcpy(p, &h, sizeof h);
    p[size - 1] = (unsigned char)tag;
    return p;
}

static uint64_t obj_check(const void *q)
{
    const unsigned char *p = q;
    struct hdr h;
    memcpy(&h, p, sizeof h);
    if (p[h.size - 1] != (unsigned char)h.tag) die("block contents changed");
    return mix(h.size, h.tag);
}

/* Small-object sizes: mostly 16..64, some up to 256, a few up to 1 KiB. */
static size_t small_size(rng_t *r)
{
    uint64_t x = rnd(r);
    unsigned k = (unsigned)(x % 100);
    x >>= 8;
    if (k < 70) return 16 + x % 49;
    if (k < 95) return 64 + x % 193;
    return 256 + x % 769;
}

/* ---- single-thread small-object churn -------------------------------- */

static uint64_t w_churn(double scale)
{
    enum { SLOTS = 8192 };
    static void *slot[SLOTS];
    rng_t r = {0x1234567};
    uint64_t sum = 0, n = (uint64_t)(30e6 * scale);
    for (uint64_t i = 0; i < n; i++) {
        uint64_t x = rnd(&r);
        size_t j = x % SLOTS;
        if (slot[j]) sum = mix(sum, obj_check(slot[j])), free(slot[j]);
        slot[j] = obj_new(small_size(&r), i);
        /* now and then a burst: a short-lived batch freed in allocation order */
        if ((i & 0xFFFF) == 0) {
            void *burst[512];
            for (int k = 0; k < 512; k++)
                burst[k] = obj_new(small_size(&r), i + k);
            for (int k = 0; k < 512; k++)
                sum = mix(sum, obj_check(burst[k])), free(burst[k]);
        }
    }
    for (size_t j = 0; j < SLOTS; j++)
        if (slot[j]) sum = mix(sum, obj_check(slot[j])), free(slot[j]);
    return sum;
}

/* ---- two threads, each freeing what the other allocated -------------- */

/* Blocks travel in batches through a small bounded queue per thread. The
 * threads sleep on a condition variable, never spin, so a thread whose peer
 * is not running does not burn the CPU the peer needs. */
enum { BATCH = 128, QCAP = 16 };
struct batch {
    void *item[BATCH];
};
struct queue {
    struct batch *b[QCAP];
    unsigned head, count;
};
static pthread_mutex_t xt_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t xt_cond = PTHREAD_COND_INITIALIZER;

struct xt {
    struct queue *out, *in;
    uint64_t batches, seed, sum;
};

static void *xt_main(void *arg)
{
    struct xt *t = arg;
    rng_t r = {t->seed};
    uint64_t sent = 0, got = 0, sum = 0, tag = 0;
    struct batch *todo[QCAP];
    while (sent < t->batches || got < t->batches) {
        unsigned n = 0;
        bool can_send;
        pthread_mutex_lock(&xt_lock);
        for (;;) {
            can_send = sent < t->batches && t->out->count < QCAP;
            if (can_send || t->in->count || got == t->batches) break;
            pthread_cond_wait(&xt_cond, &xt_lock);
        }
        while (t->in->count) {
            todo[n++] = t->in->b[t->in->head];
            t->in->head = (t->in->head + 1) % QCAP;
            t->in->count--;
        }
        pthread_mutex_unlock(&xt_lock);
        if (n) pthread_cond_broadcast(&xt_cond);
        /* free what the peer allocated */
        for (unsigned i = 0; i < n; i++) {
            for (int k = 0; k < BATCH; k++) {
                sum += obj_check(todo[i]->item[k]);
                free(todo[i]->item[k]);
            }
            free(todo[i]);
            got++;
        }
        if (can_send) {
            struct batch *b = xmalloc(sizeof *b);
            for (int k = 0; k < BATCH; k++)
                b->item[k] = obj_new(small_size(&r), tag++);
            pthread_mutex_lock(&xt_lock);
            t->out->b[(t->out->head + t->out->count) % QCAP] = b;
            t->out->count++;
            sent++;
            pthread_mutex_unlock(&xt_lock);
            pthread_cond_broadcast(&xt_cond);
        }
    }
    t->sum = sum;
    return NULL;
}

static uint64_t w_xthread(double scale)
{
    static struct queue a, b;
    uint64_t batches = (uint64_t)(10e6 / BATCH * scale);
    struct xt t1 = {&a, &b, batches, 0xabcdef, 0}, t2 = {&b, &a, batches, 0x777777, 0};
    pthread_t th;
    if (pthread_create(&th, NULL, xt_main, &t2)) die("pthread_create");
    xt_main(&t1);
    pthread_join(th, NULL);
    return mix(t1.sum, t2.sum);
}

/* ---- larson-style server: short-lived threads inherit their predecessors'
 * blocks, replace them at random, and die ------------------------------- */

enum { LANES = 2, LSLOTS = 4000 };
struct lane {
    void *slot[LSLOTS];
    rng_t r;
    uint64_t ops, sum, epoch;
};

static void *larson_main(void *arg)
{
    struct lane *l = arg;
    for (uint64_t i = 0; i < l->ops; i++) {
        uint64_t x = rnd(&l->r);
        size_t j = x % LSLOTS;
        if (l->slot[j]) l->sum = mix(l->sum, obj_check(l->slot[j])), free(l->slot[j]);
        l->slot[j] = obj_new(16 + (x >> 32) % 1009, l->epoch * l->ops + i);
    }
    return NULL;
}

static uint64_t w_larson(double scale)
{
    static struct lane lane[LANES];
    uint64_t epochs = (uint64_t)(250 * scale), sum = 0;
    if (epochs < 4) epochs = 4;
    for (int k = 0; k < LANES; k++)
        lane[k].r.s = 0x5151 + (uint64_t)k, lane[k].ops = 20000;
    for (uint64_t e = 0; e < epochs; e++) {
        pthread_t th[LANES];
        /* the lanes trade places: a thread frees what a dead thread of the
         * other lane allocated */
        if (e & 1) {
            struct lane tmp = lane[0];
            lane[0] = lane[1];
            lane[1] = tmp;
        }
        for (int k = 0; k < LANES; k++) {
            lane[k].epoch = e;
            if (pthread_create(&th[k], NULL, larson_main, &lane[k])) die("pthread_create");
        }
        for (int k = 0; k < LANES; k++)
            pthread_join(th[k], NULL);
    }
    for (int k = 0; k < LANES; k++) {
        for (size_t j = 0; j < LSLOTS; j++)
            if (lane[k].slot[j])
                lane[k].sum = mix(lane[k].sum, obj_check(lane[k].slot[j])), free(lane[k].slot[j]);
        sum = mix(sum, lane[k].sum);
    }
    return sum;
}

/* ---- realloc growth: interleaved buffers grow by small steps ---------- */

static uint64_t w_realloc(double scale)
{
    enum { BUFS = 64 };
    static unsigned char *buf[BUFS];
    static size_t len[BUFS], cap[BUFS];
    rng_t r = {0x9999};
    uint64_t sum = 0, n = (uint64_t)(14e6 * scale);
    for (uint64_t i = 0; i < n; i++) {
        uint64_t x = rnd(&r);
        size_t b = x % BUFS, add = 1 + (x >> 16) % 96;
        size_t limit = (size_t)16 << ((x >> 40) % 15); /* 16 B .. 256 KiB */
        if (len[b] + add > cap[b]) {
            if (len[b] + add > limit && len[b]) {
                /* done growing: verify, then start over */
                for (size_t k = 0; k < len[b]; k += 61)
                    if (buf[b][k] != (unsigned char)(k * 7 + b)) die("realloc lost contents");
                sum = mix(sum, len[b]);
                free(buf[b]);
                buf[b] = NULL, len[b] = cap[b] = 0;
            }
            /* grow like a naive string builder: to exactly what is needed,
             * half of the time, or by half again */
            size_t want = len[b] + add;
            if (x & (1ULL << 63)) want += want / 2;
            unsigned char *q = realloc(buf[b], want);
            if (!q) die("realloc returned NULL");
            buf[b] = q, cap[b] = want;
        }
        for (size_t k = 0; k < add; k++, len[b]++)
            buf[b][len[b]] = (unsigned char)(len[b] * 7 + b);
    }
    for (size_t b = 0; b < BUFS; b++)
        sum = mix(sum, len[b]), free(buf[b]);
    return sum;
}

/* ---- mixed sizes from 16 B to 64 MiB, every page touched -------------- */

static uint64_t w_mixed(double scale)
{
    enum { SLOTS = 256 };
    static unsigned char *slot[SLOTS];
    static size_t sz[SLOTS];
    rng_t r = {0x4242};
    uint64_t sum = 0, n = (uint64_t)(4e4 * scale);
    for (uint64_t i = 0; i < n; i++) {
        uint64_t x = rnd(&r), y = rnd(&r);
        size_t j = x % SLOTS, size;
        unsigned k = (unsigned)((x >> 16) % 10000);
        if (k < 9400) /* 16 B .. 4 KiB, log-uniform */
            size = ((size_t)16 << (y % 8)) + (y >> 8) % ((size_t)16 << (y % 8));
        else if (k < 9990) /* 4 KiB .. 1 MiB */
            size = ((size_t)4096 << (y % 8)) + (y >> 8) % ((size_t)4096 << (y % 8));
        else /* 1 MiB .. 64 MiB */
            size = ((size_t)1 << (20 + y % 6)) + (y >> 8) % ((size_t)1 << (20 + y % 6));
        if (size > ((size_t)64 << 20)) size = (size_t)64 << 20;
        if (slot[j]) {
            sum = mix(sum, slot[j][0]);
            sum = mix(sum, slot[j][sz[j] - 1]);
            free(slot[j]);
        }
        /* touch every page, as a program that uses its memory would */
        unsigned char *p = xmalloc(size);
        for (size_t o = 0; o < size; o += 4096)
            p[o] = (unsigned char)(o >> 12);
        p[size - 1] = (unsigned char)i;
        slot[j] = p, sz[j] = size;
    }
    for (size_t j = 0; j < SLOTS; j++)
        if (slot[j]) sum = mix(sum, slot[j][sz[j] - 1]), free(slot[j]);
    return sum;
}

/* ---- aligned allocations through the three aligned entry points ------ */

static uint64_t w_aligned(double scale)
{
    enum { SLOTS = 2048 };
    static void *slot[SLOTS];
    rng_t r = {0x3131};
    uint64_t sum = 0, n = (uint64_t)(5e6 * scale);
    for (uint64_t i = 0; i < n; i++) {
        uint64_t x = rnd(&r);
        size_t j = x % SLOTS;
        size_t align = (size_t)16 << ((x >> 16) % 13); /* 16 B .. 64 KiB */
        if (((x >> 24) & 15) != 0 && align > 256)
            align = 16 << ((x >> 28) % 5); /* big alignments are rarer */
        size_t size = 1 + (x >> 32) % 2048;
        void *p = NULL;
        switch (i % 3) {
        case 0:
            if (posix_memalign(&p, align, size)) p = NULL;
            break;
        case 1: /* C11 asks for a multiple of the alignment */
            p = aligned_alloc(align, (size + align - 1) & ~(align - 1));
            break;
        default: p = memalign(align, size); break;
        }
        if (!p) die("aligned allocation returned NULL");
        if ((uintptr_t)p & (align - 1)) die("misaligned block");
        memset(p, (int)(i & 0xff), size < 64 ? size : 64);
        if (slot[j]) sum = mix(sum, *(unsigned char *)slot[j]), free(slot[j]);
        slot[j] = p;
    }
    for (size_t j = 0; j < SLOTS; j++)
        if (slot[j]) sum = mix(sum, *(unsigned char *)slot[j]), free(slot[j]);
    return sum;
}

/* ---- the callgrind fast path: N malloc(32)/free pairs ----------------- */

__attribute__((noinline)) uint64_t kmbench_pairs(uint64_t n)
{
    /* One block stays live, so the loop's block never leaves its page empty:
     * otherwise every free would take mimalloc's page-retire path, which is
     * not what a program with a working set sees. */
    void *keep = malloc(32);
    uint64_t sum = keep != NULL;
    for (uint64_t i = 0; i < n; i++) {
        void *p = malloc(32);
        /* keep the compiler from pairing malloc with free away */
        __asm__ volatile("" : : "r"(p) : "memory");
        sum += p != NULL;
        free(p);
    }
    free(keep);
    return sum;
}

static uint64_t w_pairs(double scale)
{
    /* the scale is the number of pairs */
    return kmbench_pairs((uint64_t)scale);
}

/* ---- main --------------------------------------------------------------- */

static const struct {
    const char *name;
    uint64_t (*fn)(double);
} workloads[] = {
    {"churn", w_churn}, {"xthread", w_xthread}, {"larson", w_larson}, {"realloc", w_realloc},
    {"mixed", w_mixed}, {"aligned", w_aligned}, {"pairs", w_pairs},
};

int main(int argc, char **argv)
{
    if (argc < 2 || argc > 3) {
        fprintf(stderr,
                "usage: kmbench churn|xthread|larson|realloc|mixed|aligned|pairs [SCALE]\n");
        return 2;
    }
    double scale = 1.0;
    if (argc == 3) {
        char *end;
        scale = strtod(argv[2], &end);
        if (*end || !(scale > 0)) {
            fprintf(stderr, "kmbench: bad scale '%s'\n", argv[2]);
            return 2;
        }
    }
    for (size_t i = 0; i < sizeof workloads / sizeof workloads[0]; i++) {
        if (strcmp(argv[1], workloads[i].name) == 0) {
            uint64_t sum = workloads[i].fn(scale);
            printf("%s scale=%g checksum=%016llx\n", argv[1], scale, (unsigned long long)sum);
            return 0;
        }
    }
    fprintf(stderr, "kmbench: unknown workload '%s'\n", argv[1]);
    return 2;
}
