/* SPDX-License-Identifier: MIT */
/* kmbench: the synthetic allocator workloads of the kmemshim benchmark.
 *
 *   kmbench WORKLOAD [SCALE]
 *
 * WORKLOAD is churn, xthread, larson, threads, mstress, server, realloc, mixed, aligned,
 * tiny or pairs; SCALE
 * (default 1.0) multiplies the amount of work. Every workload prints one line
 * with a checksum of the data it wrote and read back, which depends only on the
 * workload and the scale, never on the allocator or on addresses: the benchmark
 * compares that line with glibc's to catch an allocator that corrupts memory.
 * A broken allocator contract (misaligned block, wrong contents) exits 3.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <malloc.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

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

/* ---- thread churn: threads are created and end all the time while two
 * long-lived threads keep allocating. Every thread keeps a working set of its
 * own and trades blocks through shared slots, so a block is often freed by
 * another thread than the one that allocated it, dead or alive ------------ */

/* The checksum is a sum (order-free) over every block ever allocated, each
 * checked exactly once when it leaves its slot, so it does not depend on how
 * the threads interleave. */
enum { TC_SLOTS = 16384, TC_OWN = 1000 };
static void *tc_slot[TC_SLOTS];
static uint64_t tc_sum;

struct tc_job {
    uint64_t seed, ops, tag0;
};

static void *tc_main(void *arg)
{
    const struct tc_job *job = arg;
    void *own[TC_OWN] = {0};
    rng_t r = {job->seed};
    uint64_t sum = 0;
    for (uint64_t i = 0; i < job->ops; i++) {
        uint64_t x = rnd(&r);
        void *p = obj_new(small_size(&r), job->tag0 + i), *old;
        if (x >> 63) { /* half the blocks stay with the thread, half are shared */
            size_t j = (x >> 8) % TC_OWN;
            old = own[j], own[j] = p;
        } else {
            old = __atomic_exchange_n(&tc_slot[x % TC_SLOTS], p, __ATOMIC_ACQ_REL);
        }
        if (old) sum += obj_check(old), free(old);
    }
    for (size_t j = 0; j < TC_OWN; j++)
        if (own[j]) sum += obj_check(own[j]), free(own[j]);
    __atomic_fetch_add(&tc_sum, sum, __ATOMIC_RELAXED);
    return NULL;
}

static uint64_t w_threads(double scale)
{
    enum { WAVE = 2, SHORT_OPS = 2000, LONG = 2 };
    uint64_t waves = (uint64_t)(1000 * scale);
    if (waves < 2) waves = 2;
    /* the long-lived threads do as much as all short-lived ones together */
    struct tc_job lj[LONG];
    pthread_t lt[LONG];
    for (int k = 0; k < LONG; k++) {
        lj[k] = (struct tc_job){0xC0FFEE + (uint64_t)k, waves * WAVE * SHORT_OPS / LONG,
                                (uint64_t)(k + 1) << 56};
        if (pthread_create(&lt[k], NULL, tc_main, &lj[k])) die("pthread_create");
    }
    for (uint64_t w = 0; w < waves; w++) {
        struct tc_job sj[WAVE];
        pthread_t st[WAVE];
        for (int k = 0; k < WAVE; k++) {
            uint64_t id = w * WAVE + (uint64_t)k;
            sj[k] = (struct tc_job){0x5EED0000 + id, SHORT_OPS, (id + 1) << 20};
            if (pthread_create(&st[k], NULL, tc_main, &sj[k])) die("pthread_create");
        }
        for (int k = 0; k < WAVE; k++)
            pthread_join(st[k], NULL);
    }
    for (int k = 0; k < LONG; k++)
        pthread_join(lt[k], NULL);
    for (size_t j = 0; j < TC_SLOTS; j++)
        if (tc_slot[j]) tc_sum += obj_check(tc_slot[j]), free(tc_slot[j]);
    return tc_sum;
}

/* ---- mstress: threads that allocate, hand blocks to other threads through a
 * shared table, and exit, round after round (the shape of mimalloc-bench's
 * mstress). A round's threads run side by side; what they leave in the table
 * outlives them, half of it is freed by the main thread between rounds and the
 * rest by the next rounds' threads, so every round's new threads start while
 * dead threads' segments still hold live blocks ------------------------- */

enum { MS_HANDOFF = 1000, MS_THREADS = 2 };
static void *ms_handoff[MS_HANDOFF];
static uint64_t ms_sum;

/* A block of n words: word i holds tag ^ (n - i), every word written and
 * checked, so a block's pages are touched as a program's would be. */
static void *ms_new(size_t words, uint64_t tag)
{
    uint64_t *p = xmalloc(words * sizeof *p);
    p[0] = words;
    for (size_t i = 1; i < words; i++)
        p[i] = tag ^ (words - i);
    return p;
}

static uint64_t ms_free(void *q)
{
    if (!q) return 0;
    uint64_t *p = q, words = p[0], tag = words > 1 ? p[1] ^ (words - 1) : 0;
    for (size_t i = 2; i < words; i++)
        if (p[i] != (tag ^ (words - i))) die("block contents changed");
    free(p);
    return mix(words, tag);
}

/* Mostly 1-16 words (8-128 bytes), kept ones up to 64; one in a hundred is
 * 100 times larger, one in a thousand 1,000 times, one in ten thousand 20,000
 * times (up to 10 MiB). */
static size_t ms_words(rng_t *r, unsigned shift)
{
    size_t n = (size_t)1 << (rnd(r) % shift);
    if (rnd(r) % 100 == 0) {
        uint64_t k = rnd(r) % 100;
        n *= k == 0 ? 20000 : k < 10 ? 1000 : 100;
    }
    return n < 2 ? 2 : n;
}

struct ms_job {
    uint64_t seed, allocs;
};

static void *ms_main(void *arg)
{
    const struct ms_job *job = arg;
    rng_t r = {job->seed};
    uint64_t allocs = job->allocs, keep = allocs / 2, tag = job->seed << 24, sum = 0;
    size_t ndata = 0, nkept = 0;
    void **data = xmalloc(allocs * sizeof *data), **kept = xmalloc(keep * sizeof *kept);
    while (allocs || keep) {
        if (!keep || (allocs && rnd(&r) % 2)) {
            allocs--;
            data[ndata++] = ms_new(ms_words(&r, 5), tag++);
        } else {
            keep--;
            kept[nkept++] = ms_new(ms_words(&r, 7), tag++);
        }
        if (rnd(&r) % 3 < 2 && ndata) { /* free an earlier block, often a handed-over one */
            size_t i = rnd(&r) % ndata;
            sum += ms_free(data[i]);
            data[i] = NULL;
        }
        if (rnd(&r) % 4 == 0 && ndata) { /* trade a block with the handoff table */
            size_t i = rnd(&r) % ndata;
            data[i] =
                __atomic_exchange_n(&ms_handoff[rnd(&r) % MS_HANDOFF], data[i], __ATOMIC_ACQ_REL);
        }
    }
    for (size_t i = 0; i < nkept; i++)
        sum += ms_free(kept[i]);
    for (size_t i = 0; i < ndata; i++)
        sum += ms_free(data[i]);
    free(kept);
    free(data);
    __atomic_fetch_add(&ms_sum, sum, __ATOMIC_RELAXED);
    return NULL;
}

static uint64_t w_mstress(double scale)
{
    uint64_t rounds = (uint64_t)(200 * scale);
    if (rounds < 2) rounds = 2;
    rng_t r = {0x3e57};
    for (uint64_t n = 0; n < rounds; n++) {
        struct ms_job job[MS_THREADS];
        pthread_t th[MS_THREADS];
        for (int k = 0; k < MS_THREADS; k++) {
            job[k] = (struct ms_job){n * MS_THREADS + (uint64_t)k + 1, 2500 * (uint64_t)(k + 1)};
            if (pthread_create(&th[k], NULL, ms_main, &job[k])) die("pthread_create");
        }
        for (int k = 0; k < MS_THREADS; k++)
            pthread_join(th[k], NULL);
        for (size_t i = 0; i < MS_HANDOFF; i++)
            if (n + 1 == rounds || rnd(&r) % 2)
                ms_sum += ms_free(__atomic_exchange_n(&ms_handoff[i], NULL, __ATOMIC_ACQ_REL));
    }
    return ms_sum;
}

/* ---- a server starting a thread per connection, on loopback ------------ */

/* A client thread connects N times and sends a 4-byte request number; the
 * server starts a thread per connection that builds a response from small
 * pieces (as a parser and a formatter would), sends it with a length prefix,
 * and waits for the client to close. The client closes with a reset, so no
 * connection lingers in TIME_WAIT between runs. */
static pthread_mutex_t sv_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t sv_cond = PTHREAD_COND_INITIALIZER;
static uint64_t sv_done;

static int read_full(int fd, void *buf, size_t n)
{
    for (size_t got = 0; got < n;) {
        ssize_t k = read(fd, (char *)buf + got, n - got);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) return -1;
        got += (size_t)k;
    }
    return 0;
}

static int write_full(int fd, const void *buf, size_t n)
{
    for (size_t put = 0; put < n;) {
        ssize_t k = write(fd, (const char *)buf + put, n - put);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) return -1;
        put += (size_t)k;
    }
    return 0;
}

static void *sv_handler(void *arg)
{
    int fd = (int)(intptr_t)arg;
    uint32_t req;
    if (read_full(fd, &req, sizeof req)) die("server: short request");
    rng_t r = {0xABCD0000ull + req};
    /* parse: a few dozen small header objects */
    enum { PARTS = 32 };
    void *part[PARTS];
    size_t len = 0;
    for (int k = 0; k < PARTS; k++) {
        part[k] = obj_new(small_size(&r), (uint64_t)req * PARTS + (uint64_t)k);
        len += ((struct hdr *)part[k])->size;
    }
    /* format: the body, 1-16 KiB, from the parts */
    size_t body = 1024 + rnd(&r) % 15360;
    unsigned char *out = xmalloc(sizeof(uint32_t) + body);
    uint32_t n32 = (uint32_t)body;
    memcpy(out, &n32, sizeof n32);
    for (size_t o = 0; o < body; o++)
        out[sizeof n32 + o] = (unsigned char)(o * 31 + req + len);
    for (int k = 0; k < PARTS; k++)
        obj_check(part[k]), free(part[k]);
    if (write_full(fd, out, sizeof n32 + body)) die("server: write");
    free(out);
    char c;
    while (read(fd, &c, 1) > 0) /* until the client closes */
        ;
    close(fd);
    pthread_mutex_lock(&sv_lock);
    sv_done++;
    pthread_cond_signal(&sv_cond);
    pthread_mutex_unlock(&sv_lock);
    return NULL;
}

struct sv_client {
    struct sockaddr_in addr;
    uint32_t first, count;
    uint64_t sum;
};

static void *sv_client_main(void *arg)
{
    struct sv_client *cl = arg;
    for (uint32_t i = cl->first; i < cl->first + cl->count; i++) {
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        if (fd < 0) die("client: socket");
        if (connect(fd, (struct sockaddr *)&cl->addr, sizeof cl->addr)) die("client: connect");
        if (write_full(fd, &i, sizeof i)) die("client: write");
        uint32_t n;
        if (read_full(fd, &n, sizeof n) || n > (1u << 20)) die("client: bad response");
        unsigned char *buf = xmalloc(n);
        if (read_full(fd, buf, n)) die("client: short response");
        uint64_t h = i;
        for (uint32_t o = 0; o < n; o += 7)
            h = mix(h, buf[o]);
        cl->sum += h;
        free(buf);
        struct linger lg = {1, 0};
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
        close(fd);
    }
    return NULL;
}

static uint64_t w_server(double scale)
{
    enum { CLIENTS = 2 };
    uint32_t conns = (uint32_t)(10000 * scale);
    if (conns < CLIENTS) conns = CLIENTS;
    int ls = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof addr;
    if (ls < 0 || bind(ls, (struct sockaddr *)&addr, sizeof addr) || listen(ls, 256) ||
        getsockname(ls, (struct sockaddr *)&addr, &alen))
        die("server: cannot listen on 127.0.0.1");
    struct sv_client cl[CLIENTS];
    pthread_t ct[CLIENTS];
    for (int k = 0; k < CLIENTS; k++) {
        cl[k] = (struct sv_client){addr, conns / CLIENTS * (uint32_t)k, conns / CLIENTS, 0};
        if (pthread_create(&ct[k], NULL, sv_client_main, &cl[k])) die("pthread_create");
    }
    pthread_attr_t detached;
    pthread_attr_init(&detached);
    pthread_attr_setdetachstate(&detached, PTHREAD_CREATE_DETACHED);
    uint32_t total = conns / CLIENTS * CLIENTS;
    for (uint32_t i = 0; i < total; i++) {
        int fd = accept(ls, NULL, NULL);
        if (fd < 0) die("server: accept");
        pthread_t t;
        if (pthread_create(&t, &detached, sv_handler, (void *)(intptr_t)fd)) die("pthread_create");
    }
    uint64_t sum = 0;
    for (int k = 0; k < CLIENTS; k++)
        pthread_join(ct[k], NULL), sum += cl[k].sum;
    pthread_mutex_lock(&sv_lock);
    while (sv_done < total)
        pthread_cond_wait(&sv_cond, &sv_lock);
    pthread_mutex_unlock(&sv_lock);
    close(ls);
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

/* ---- a short-lived tool: what a process launched by a shell loop does -- */

static uint64_t w_tiny(double scale)
{
    /* a few hundred small requests, as a tool parsing its arguments and
     * input does, then exit: start-up dominates */
    enum { N = 200 };
    void *p[N];
    rng_t r = {0x7177};
    uint64_t sum = 0, rounds = (uint64_t)scale;
    if (rounds < 1) rounds = 1;
    for (uint64_t k = 0; k < rounds; k++) {
        for (int i = 0; i < N; i++)
            p[i] = obj_new(small_size(&r), (uint64_t)i);
        for (int i = 0; i < N; i++)
            sum = mix(sum, obj_check(p[i])), free(p[i]);
    }
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
    {"churn", w_churn},     {"xthread", w_xthread}, {"larson", w_larson},   {"threads", w_threads},
    {"mstress", w_mstress}, {"server", w_server},   {"realloc", w_realloc}, {"mixed", w_mixed},
    {"aligned", w_aligned}, {"tiny", w_tiny},       {"pairs", w_pairs},
};

int main(int argc, char **argv)
{
    if (argc < 2 || argc > 3) {
        fprintf(
            stderr,
            "usage: kmbench churn|xthread|larson|threads|mstress|server|realloc|mixed|aligned|tiny|"
            "pairs [SCALE]\n");
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
