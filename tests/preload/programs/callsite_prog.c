/* SPDX-License-Identifier: MIT */
/* Under the shim with callsite rules: each named allocation is made from its
 * own function (of this executable, a static one, a shared library linked at
 * start-up, a library opened with dlopen, C++ new, a wrapper) and must land in
 * a mapping whose kernel policy is the one its route asks for.
 *
 * usage: callsite_prog NAME=POLICY...   (e.g. global=bind:0 static=prefer:0 plain=default)
 * Names: global static shared dlopen cxx_new cxx_vector wrapper realloc calloc
 * posix_memalign sized_small sized_big offset plain plain_small, and
 * threads / threads_wrapper: 8 threads released at once make the first
 * requests from alloc_threaded (or via_wrapper), so the callsite's first
 * decision is made concurrently; every block must share one policy. */
#include "callsite_prog.h"
#include "vma_policy.h"

#include <dlfcn.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BIG (256 * 1024)
#define SMALL (64 * 1024)
#define HUGE (1024 * 1024)

static void *touch(void *p, size_t n)
{
    if (p) memset(p, 0x5a, n);
    return p;
}

/* A global function of the executable. */
CS_KEEP void *alloc_global(size_t n) { return touch(malloc(n), n); }

/* A static one: only .symtab names it. */
static CS_KEEP void *alloc_static(size_t n) { return touch(malloc(n), n); }

/* An allocation wrapper, and the function that calls it: only a rule with
 * depth >= 2 sees via_wrapper. */
CS_KEEP void *xmalloc(size_t n)
{
    void *p = malloc(n);
    if (!p) abort();
    return touch(p, n);
}
CS_KEEP void *via_wrapper(size_t n) { return touch(xmalloc(n), n); }

/* The other entry points, each from a function a rule names. */
CS_KEEP void *alloc_realloc(void *old, size_t n) { return touch(realloc(old, n), n); }
CS_KEEP void *alloc_calloc(size_t n) { return touch(calloc(1, n), n); }
CS_KEEP void *alloc_posix_memalign(size_t n)
{
    void *p = NULL;
    if (posix_memalign(&p, 4096, n) != 0) return NULL;
    return touch(p, n);
}

/* For a rule with both a size and a caller condition. */
CS_KEEP void *alloc_sized(size_t n) { return touch(malloc(n), n); }

/* Matched by MODULE+0xOFFSET (the offset is read from the binary at test time). */
CS_KEEP void *alloc_offset(size_t n) { return touch(malloc(n), n); }

/* No rule names it, except negative tests that name the next function. */
CS_KEEP void *alloc_plain(size_t n) { return touch(malloc(n), n); }

/* Allocates nothing: a rule naming it must change nothing. */
CS_KEEP int never_allocates(int x) { return x * 3 + 1; }

/* Only the threads check calls it. */
CS_KEEP void *alloc_threaded(size_t n) { return touch(malloc(n), n); }

#define NTHREADS 8
static pthread_barrier_t start;
static void *thread_main(void *arg)
{
    void *(*fn)(size_t) = (void *(*)(size_t))arg;
    pthread_barrier_wait(&start);
    void *keep = NULL;
    for (int i = 0; i < 20; i++) {
        free(keep);
        keep = fn(BIG);
    }
    return keep;
}

static void *threads(void *(*fn)(size_t))
{
    pthread_t t[NTHREADS];
    void *got[NTHREADS];
    char first[256] = "", pol[256];
    pthread_barrier_init(&start, NULL, NTHREADS);
    for (int i = 0; i < NTHREADS; i++)
        if (pthread_create(&t[i], NULL, thread_main, (void *)fn) != 0) return NULL;
    for (int i = 0; i < NTHREADS; i++)
        pthread_join(t[i], &got[i]);
    pthread_barrier_destroy(&start);
    for (int i = 0; i < NTHREADS; i++) {
        if (!got[i] || vma_policy(got[i], pol, sizeof(pol)) < 0) return NULL;
        if (i == 0)
            snprintf(first, sizeof(first), "%s", pol);
        else if (strcmp(pol, first) != 0) {
            printf("FAIL thread %d's block is %s, thread 0's %s\n", i, pol, first);
            return NULL;
        }
    }
    return got[0];
}

static void *dl_alloc(size_t n)
{
    char path[PATH_MAX];
    ssize_t len = readlink("/proc/self/exe", path, sizeof(path) - 1);
    if (len <= 0) return NULL;
    path[len] = '\0';
    char *slash = strrchr(path, '/');
    snprintf(slash + 1, sizeof(path) - (size_t)(slash + 1 - path), "libcallsite_dl.so");
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        printf("FAIL dlopen %s: %s\n", path, dlerror());
        return NULL;
    }
    void *(*fn)(size_t) = (void *(*)(size_t))dlsym(h, "cs_dl_alloc");
    return fn ? fn(n) : NULL;
}

static void *make(const char *name)
{
    if (!strcmp(name, "global")) return alloc_global(BIG);
    if (!strcmp(name, "static")) return alloc_static(BIG);
    if (!strcmp(name, "shared")) return cs_shared_alloc(BIG);
    if (!strcmp(name, "dlopen")) return dl_alloc(BIG);
    if (!strcmp(name, "cxx_new")) return callsite_cxx_new(BIG);
    if (!strcmp(name, "cxx_vector")) return callsite_cxx_vector(BIG);
    if (!strcmp(name, "wrapper")) return via_wrapper(BIG);
    if (!strcmp(name, "realloc")) /* starts unmatched, small; grows in the matched function */
        return alloc_realloc(alloc_plain(64), BIG);
    if (!strcmp(name, "calloc")) { /* twice: the second from the callsite memo the first taught */
        free(alloc_calloc(BIG));
        return alloc_calloc(BIG);
    }
    if (!strcmp(name, "posix_memalign")) return alloc_posix_memalign(BIG);
    if (!strcmp(name, "sized_small")) return alloc_sized(BIG);
    if (!strcmp(name, "sized_big")) return alloc_sized(HUGE);
    if (!strcmp(name, "offset")) return alloc_offset(BIG);
    if (!strcmp(name, "plain")) return alloc_plain(BIG);
    if (!strcmp(name, "plain_small")) return alloc_plain(SMALL);
    if (!strcmp(name, "threads")) return threads(alloc_threaded);
    if (!strcmp(name, "threads_wrapper")) return threads(via_wrapper);
    printf("FAIL unknown allocation name %s\n", name);
    return NULL;
}

int main(int argc, char **argv)
{
    int failures = 0;
    if (argc < 2) {
        fprintf(stderr, "usage: callsite_prog NAME=POLICY...\n");
        return 2;
    }
    never_allocates(argc);
    for (int i = 1; i < argc; i++) {
        char name[64], got[256];
        const char *eq = strchr(argv[i], '=');
        if (!eq || (size_t)(eq - argv[i]) >= sizeof(name)) {
            fprintf(stderr, "bad check %s\n", argv[i]);
            return 2;
        }
        memcpy(name, argv[i], (size_t)(eq - argv[i]));
        name[eq - argv[i]] = '\0';
        const char *want = eq + 1;
        void *p = make(name); /* kept: the mapping must stay */
        if (!p) {
            printf("FAIL %-15s NULL\n", name);
            failures++;
            continue;
        }
        if (vma_policy(p, got, sizeof(got)) < 0) {
            printf("FAIL %-15s no mapping for %p\n", name, p);
            failures++;
            continue;
        }
        int ok = strcmp(got, want) == 0;
        printf("%s %-15s %-10s (want %s)\n", ok ? "ok  " : "FAIL", name, got, want);
        failures += !ok;
    }
    return failures ? 1 : 0;
}
