/* SPDX-License-Identifier: MIT */
/* The library the stress test dlopen-s and dlclose-s in a loop. It allocates in
 * its constructor (freed in its destructor), through a thread-local variable
 * (dynamic TLS: glibc allocates it on first use in each thread, and frees it
 * when the library is unloaded), and hands blocks to the program, which frees
 * them after the library is gone. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void *ctor_block;
static __thread char tls_buf[4096];

__attribute__((constructor)) static void stress_dl_init(void)
{
    ctor_block = malloc(1000);
    if (ctor_block) memset(ctor_block, 0x5a, 1000);
}

__attribute__((destructor)) static void stress_dl_fini(void)
{
    unsigned char *b = ctor_block;
    for (int i = 0; b && i < 1000; i++)
        if (b[i] != 0x5a) abort();
    free(ctor_block);
    ctor_block = NULL;
}

/* A block of n bytes (calloc for odd n, malloc otherwise); the caller fills and frees it. */
__attribute__((visibility("default"))) void *stress_dl_alloc(size_t n)
{
    tls_buf[n % sizeof(tls_buf)]++;
    return (n & 1) ? calloc(1, n) : malloc(n);
}

/* realloc from inside the library. */
__attribute__((visibility("default"))) void *stress_dl_realloc(void *p, size_t n)
{
    return realloc(p, n);
}
