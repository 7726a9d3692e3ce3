/* SPDX-License-Identifier: MIT */
/* POSIX and glibc semantics of every entry point, run under the shim: edge
 * sizes, overflow, alignment errors, NULL, and data kept by realloc. */
#include <errno.h>
#include <sys/syscall.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int failures;
#define EXPECT(cond, ...)                                                                          \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            printf("FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);                                 \
            printf(__VA_ARGS__);                                                                   \
            printf("\n");                                                                          \
            failures++;                                                                            \
        }                                                                                          \
    } while (0)

/* Opaque to the compiler, so it cannot fold away calls with impossible sizes. */
static size_t opaque(size_t v)
{
    __asm__ volatile("" : "+r"(v));
    return v;
}

static void zero_and_huge_sizes(void)
{
    void *a = malloc(0), *b = malloc(0);
    EXPECT(a && b && a != b, "malloc(0) gives unique pointers: %p %p", a, b);
    free(a);
    free(b);
    free(NULL);
    EXPECT(malloc_usable_size(NULL) == 0, "usable size of NULL");

    size_t huge[] = {SIZE_MAX, SIZE_MAX - 4096, (size_t)PTRDIFF_MAX + 1, (size_t)1 << 62};
    for (size_t i = 0; i < sizeof(huge) / sizeof(huge[0]); i++) {
        errno = 0;
        void *p = malloc(opaque(huge[i]));
        EXPECT(p == NULL && errno == ENOMEM, "malloc(%zu): %p errno %d", huge[i], p, errno);
        errno = 0;
        p = calloc(1, opaque(huge[i]));
        EXPECT(p == NULL && errno == ENOMEM, "calloc(1, %zu): %p errno %d", huge[i], p, errno);
        void *q = malloc(8);
        errno = 0;
        p = realloc(q, opaque(huge[i]));
        EXPECT(p == NULL && errno == ENOMEM, "realloc(%zu): errno %d", huge[i], errno);
        free(q); /* still ours after a failed realloc */ /* NOLINT */
        errno = 0;
        p = memalign(64, opaque(huge[i]));
        EXPECT(p == NULL && errno == ENOMEM, "memalign(64, %zu): errno %d", huge[i], errno);
    }
}

static void calloc_and_overflow(void)
{
    errno = 0;
    void *p = calloc(opaque(SIZE_MAX / 2), 3);
    EXPECT(p == NULL && errno == ENOMEM, "calloc overflow: %p errno %d", p, errno);
    errno = 0;
    p = calloc(opaque((size_t)1 << 33), (size_t)1 << 33);
    EXPECT(p == NULL && errno == ENOMEM, "calloc 2^66: errno %d", errno);
    /* calloc must zero memory that was used before. */
    for (int round = 0; round < 50; round++) {
        size_t n = (size_t)(round + 1) * 1000;
        unsigned char *d = malloc(n);
        memset(d, 0xff, n);
        free(d);
        unsigned char *z = calloc(n, 1);
        size_t bad = 0;
        for (size_t i = 0; i < n; i++)
            bad += z[i] != 0;
        EXPECT(bad == 0, "calloc(%zu) had %zu non-zero bytes", n, bad);
        free(z);
    }
    void *q = calloc(0, 10);
    EXPECT(q != NULL, "calloc(0, 10)");
    free(q);
}

static void realloc_semantics(void)
{
    unsigned char *p = NULL;
    size_t sizes[] = {1, 7, 100, 4096, 70000, 1 << 20, 5 << 20, 300, 17, 40 << 20, 64};
    size_t prev = 0;
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        size_t n = sizes[i];
        p = realloc(p, n);
        EXPECT(p != NULL, "realloc to %zu", n);
        size_t keep = prev < n ? prev : n;
        size_t bad = 0;
        for (size_t j = 0; j < keep; j++)
            bad += p[j] != (unsigned char)(j * 7 + 1);
        EXPECT(bad == 0, "realloc to %zu lost %zu of %zu bytes", n, bad, keep);
        for (size_t j = 0; j < n; j++)
            p[j] = (unsigned char)(j * 7 + 1);
        EXPECT(malloc_usable_size(p) >= n, "usable %zu < %zu", malloc_usable_size(p), n);
        prev = n;
    }
    errno = 0;
    void *r = realloc(p, 0);
    EXPECT(r == NULL, "realloc(p, 0) frees and returns NULL as glibc does");
    errno = 0;
    void *q = malloc(16);
    r = reallocarray(q, opaque(SIZE_MAX / 4), 8);
    EXPECT(r == NULL && errno == ENOMEM, "reallocarray overflow errno %d", errno);
    r = reallocarray(q, 4, 8);
    EXPECT(r != NULL, "reallocarray 4x8");
    free(r);
}

static void alignment(void)
{
    void *p = (void *)0x1;
    size_t bad_align[] = {0, 1, 2, 3, 4, 12, 24, 100, (size_t)3 << 20};
    for (size_t i = 0; i < sizeof(bad_align) / sizeof(bad_align[0]); i++) {
        p = (void *)0x1;
        int rc = posix_memalign(&p, bad_align[i], 64);
        EXPECT(rc == EINVAL && p == (void *)0x1, "posix_memalign(align %zu) = %d", bad_align[i],
               rc);
    }
    int rc = posix_memalign(&p, 64, opaque(SIZE_MAX - 10));
    EXPECT(rc == ENOMEM, "posix_memalign huge = %d", rc);
    errno = 0;
    p = aligned_alloc(3, 64);
    EXPECT(p == NULL && errno == EINVAL, "aligned_alloc(3): errno %d", errno);
    errno = 0;
    p = aligned_alloc(0, 64);
    EXPECT(p == NULL && errno == EINVAL, "aligned_alloc(0): errno %d", errno);
    size_t good[] = {8, 16, 32, 64, 4096, 65536, 1 << 20, 4 << 20};
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        size_t a = good[i];
        rc = posix_memalign(&p, a, 100);
        EXPECT(rc == 0 && (uintptr_t)p % a == 0, "posix_memalign(%zu): rc %d %p", a, rc, p);
        if (rc == 0) free(p);
        p = aligned_alloc(a, 3 * a);
        EXPECT(p && (uintptr_t)p % a == 0, "aligned_alloc(%zu): %p", a, p);
        free(p);
        p = memalign(a, 1);
        EXPECT(p && (uintptr_t)p % a == 0, "memalign(%zu): %p", a, p);
        free(p);
    }
    /* Past 16 MiB, mimalloc cannot align inside a routed arena: bound routes
     * say ENOMEM (never a misaligned block), DRAM and preferred still work. */
    /* Asked of the kernel directly: this also runs without /proc. */
    int mode = -1;
    void *probe = malloc(32);
    int routed_bound =
        syscall(SYS_get_mempolicy, &mode, NULL, 0UL, probe, 2UL /* MPOL_F_ADDR */) == 0 &&
        mode == 2 /* MPOL_BIND */;
    free(probe);
    for (size_t a = 32u << 20; a <= (1u << 30); a <<= 2) {
        p = NULL;
        rc = posix_memalign(&p, a, 100);
        if (routed_bound)
            EXPECT(rc == ENOMEM && p == NULL, "posix_memalign(%zu) on a bound route: %d", a, rc);
        else
            EXPECT(rc == 0 && (uintptr_t)p % a == 0, "posix_memalign(%zu): rc %d %p", a, rc, p);
        free(p);
    }
    p = memalign(24, 10); /* glibc rounds up to 32 */
    EXPECT(p && (uintptr_t)p % 32 == 0, "memalign(24): %p", p);
    free(p);
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    p = valloc(1);
    EXPECT(p && (uintptr_t)p % page == 0, "valloc: %p", p);
    free(p);
    p = pvalloc(0);
    EXPECT(p && (uintptr_t)p % page == 0 && malloc_usable_size(p) >= page, "pvalloc(0): %p", p);
    free(p);
    errno = 0;
    p = pvalloc(opaque(SIZE_MAX - 2));
    EXPECT(p == NULL && errno == ENOMEM, "pvalloc huge: errno %d", errno);
}

static void many_sizes(void)
{
    /* Every size class up to 64 MiB, kept alive together, then checked. */
    enum { N = 400 };
    unsigned char *blocks[N];
    size_t sizes[N];
    for (int i = 0; i < N; i++) {
        size_t n = ((size_t)1 << (i % 27)) + 1;
        n += (size_t)(i * 13) % n;
        sizes[i] = n;
        blocks[i] = malloc(n);
        EXPECT(blocks[i] != NULL, "malloc(%zu)", n);
        if (blocks[i]) {
            blocks[i][0] = (unsigned char)i;
            blocks[i][n - 1] = (unsigned char)(i + 1);
        }
    }
    for (int i = 0; i < N; i++) {
        if (!blocks[i]) continue;
        EXPECT(blocks[i][0] == (unsigned char)i &&
                   blocks[i][sizes[i] - 1] == (unsigned char)(i + 1),
               "block %d of %zu corrupted", i, sizes[i]);
        free(blocks[i]);
    }
}

int main(void)
{
    zero_and_huge_sizes();
    calloc_and_overflow();
    realloc_semantics();
    alignment();
    many_sizes();
    printf("api_semantics: %d failures\n", failures);
    return failures ? 1 : 0;
}
