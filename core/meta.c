/* SPDX-License-Identifier: MIT */
/* The one place in core/ and policy/ that names an allocator for the shim's
 * records (core/meta.h says which and why). */
#include "core/meta.h"

#include "core/check.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* No block is larger than PTRDIFF_MAX; asking for one is out of memory, as an
 * overflowing calloc is, in both allocators (ASan's aborts on either). */
static bool too_large(size_t n, size_t size) { return size && n > (size_t)PTRDIFF_MAX / size; }

#if KMS_ASAN
#include <stdlib.h>

void *kms_meta_malloc(size_t size) { return too_large(1, size) ? NULL : malloc(size); }
void *kms_meta_calloc(size_t n, size_t size) { return too_large(n, size) ? NULL : calloc(n, size); }
void *kms_meta_realloc(void *p, size_t size)
{
    return too_large(1, size) ? NULL : realloc(p, size);
}
void kms_meta_free(void *p) { free(p); }
void kms_meta_fork_prepare(void) {}
void kms_meta_fork_parent(void) {}
void kms_meta_fork_child(void) {}

#else
#include "core/fork.h"

#include <pthread.h>
#include <sys/mman.h>

/* Chunks of 64 KiB, aligned to their size, so that a block's chunk is its
 * address rounded down. A chunk holds blocks of one class (16 B to 16 KiB,
 * powers of two) after its header; a larger block has a mapping of its own,
 * a chunk of one block. Freed small blocks go to their class's list, never
 * back to the kernel: the shim's records are few and mostly live as long as
 * the process. */
#define CHUNK ((size_t)64 << 10)
#define MIN_SHIFT 4
#define NCLASSES 11 /* 16 B .. 16 KiB */
#define LARGE NCLASSES
#define HEAD 64 /* the header's room: where a small class's blocks may start, and a large block */
#define MAGIC 0x6b6d7368u

struct chunk {
    uint32_t magic;
    uint32_t cls; /* a class, or LARGE */
    size_t len;   /* LARGE: the mapping's length */
};

struct free_block {
    struct free_block *next;
};

struct class_state {
    struct free_block *free;
    char *bump, *end; /* the current chunk's blocks not yet handed out */
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct class_state classes[NCLASSES]; /* under lock */
/* This thread holds the lock: a signal handler that allocates (which POSIX does not
 * allow, but programs do) may need a record of its own while the thread it
 * interrupted holds the lock. */
static __thread bool holding __attribute__((tls_model("initial-exec")));

static void take(void)
{
    kms_lock_order_take(KMS_LOCK_META);
    pthread_mutex_lock(&lock);
    holding = true;
}

static void drop(void)
{
    holding = false;
    pthread_mutex_unlock(&lock);
    kms_lock_order_drop(KMS_LOCK_META);
}

/* len bytes (a multiple of CHUNK) aligned to CHUNK, or NULL. */
static void *map_aligned(size_t len)
{
    if (len > SIZE_MAX - CHUNK) return NULL;
    char *p = mmap(NULL, len + CHUNK, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) return NULL;
    uintptr_t a = ((uintptr_t)p + CHUNK - 1) & ~(uintptr_t)(CHUNK - 1);
    size_t head = a - (uintptr_t)p, tail = CHUNK - head;
    if (head) munmap(p, head);
    if (tail) munmap((char *)a + len, tail);
    return (void *)a;
}

static struct chunk *chunk_of(const void *p)
{
    struct chunk *c = (struct chunk *)((uintptr_t)p & ~(uintptr_t)(CHUNK - 1));
    kms_assert(c->magic == MAGIC);
    return c;
}

static size_t class_size(unsigned cls) { return (size_t)1 << (cls + MIN_SHIFT); }

/* The class of size bytes, or LARGE. */
static unsigned class_of(size_t size)
{
    if (size <= ((size_t)1 << MIN_SHIFT)) return 0;
    unsigned bits = 64 - (unsigned)__builtin_clzll((unsigned long long)(size - 1));
    return bits - MIN_SHIFT < NCLASSES ? bits - MIN_SHIFT : LARGE;
}

/* The bytes a block can hold. */
static size_t capacity(const void *p)
{
    const struct chunk *c = chunk_of(p);
    return c->cls == LARGE ? c->len - HEAD : class_size(c->cls);
}

static void *large_alloc(size_t size)
{
    if (size > SIZE_MAX - HEAD - CHUNK) return NULL;
    size_t len = (size + HEAD + CHUNK - 1) & ~(CHUNK - 1);
    struct chunk *c = map_aligned(len);
    if (!c) return NULL;
    *c = (struct chunk){.magic = MAGIC, .cls = LARGE, .len = len};
    return (char *)c + HEAD;
}

static void *small_alloc(unsigned cls)
{
    struct class_state *s = &classes[cls];
    size_t bsize = class_size(cls);
    void *p = NULL;
    take();
    if (s->free) {
        p = s->free;
        s->free = s->free->next;
    } else {
        if (s->bump == s->end) {
            struct chunk *c = map_aligned(CHUNK);
            if (c) {
                *c = (struct chunk){.magic = MAGIC, .cls = cls};
                s->bump = (char *)c + (bsize > HEAD ? bsize : HEAD);
                s->end = (char *)c + CHUNK;
            }
        }
        if (s->bump != s->end) {
            p = s->bump;
            s->bump += bsize;
        }
    }
    drop();
    return p;
}

void *kms_meta_malloc(size_t size)
{
    if (too_large(1, size)) return NULL;
    unsigned cls = class_of(size);
    /* Nested in the lock's holder (a signal handler): a mapping of its own, which
     * needs no lock. */
    return cls == LARGE || holding ? large_alloc(size) : small_alloc(cls);
}

void *kms_meta_calloc(size_t n, size_t size)
{
    if (too_large(n, size)) return NULL;
    void *p = kms_meta_malloc(n * size);
    /* A large block is fresh from the kernel, zero already. */
    if (p && chunk_of(p)->cls != LARGE) memset(p, 0, n * size);
    return p;
}

void kms_meta_free(void *p)
{
    if (!p) return;
    struct chunk *c = chunk_of(p);
    if (c->cls == LARGE) {
        munmap(c, c->len);
        return;
    }
    /* Nested in the lock's holder (a signal handler): the block is not reused. */
    if (holding) return;
    struct free_block *b = p;
    take();
    b->next = classes[c->cls].free;
    classes[c->cls].free = b;
    drop();
}

void *kms_meta_realloc(void *p, size_t size)
{
    if (!p) return kms_meta_malloc(size);
    size_t have = capacity(p);
    if (size <= have && class_of(size) == class_of(have)) return p;
    void *q = kms_meta_malloc(size);
    if (!q) return NULL;
    memcpy(q, p, have < size ? have : size);
    kms_meta_free(p);
    return q;
}

/* fork() holds the lock across, so that the child finds the lists whole and
 * the lock free (core/fork.h: taken last). */
void kms_meta_fork_prepare(void) { take(); }
void kms_meta_fork_parent(void) { drop(); }
void kms_meta_fork_child(void)
{
    pthread_mutex_init(&lock, NULL);
    holding = false;
    kms_lock_order_drop(KMS_LOCK_META);
}
#endif

void *kms_meta_reallocarray(void *p, size_t n, size_t size)
{
    if (too_large(n, size)) return NULL;
    return kms_meta_realloc(p, n * size);
}

static char *copy(const char *s, size_t n)
{
    char *d = kms_meta_malloc(n + 1);
    if (d) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

char *kms_meta_strndup(const char *s, size_t n) { return copy(s, strnlen(s, n)); }

char *kms_meta_strdup(const char *s) { return copy(s, strlen(s)); }
