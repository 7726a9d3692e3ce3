/* SPDX-License-Identifier: MIT */
/* A program's own madvise and mprotect on its blocks behave as the kernel
 * says, under the shim that exports both (preload/vm_calls.c): pages it drops
 * with MADV_DONTNEED read as zeros at once (only mimalloc's own decommits are
 * kept for reuse), a page it makes read-only and read-write again keeps its
 * data, and bad arguments fail with the kernel's errno. Prints "ok". */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static int fail(const char *what)
{
    fprintf(stderr, "FAIL: %s\n", what);
    return 1;
}

int main(void)
{
    const size_t page = (size_t)sysconf(_SC_PAGESIZE);
    for (int round = 0; round < 50; round++) {
        /* Several sizes, so that the blocks come from small, large and huge pages. */
        size_t size = (size_t)(64 << 10) << (round % 8);
        unsigned char *p = malloc(size + 2 * page);
        if (!p) return fail("malloc");
        memset(p, 0xab, size + 2 * page);
        unsigned char *a = (unsigned char *)(((uintptr_t)p + page - 1) & ~(uintptr_t)(page - 1));
        if (madvise(a, size, MADV_DONTNEED) != 0) return fail("madvise(MADV_DONTNEED)");
        for (size_t i = 0; i < size; i++)
            if (a[i] != 0) return fail("a page dropped with MADV_DONTNEED does not read as zero");
        if (a > p && p[0] != 0xab) return fail("the bytes before the dropped pages changed");
        memset(a, 0x5c, size);
        if (mprotect(a, page, PROT_READ) != 0) return fail("mprotect(PROT_READ)");
        if (a[0] != 0x5c) return fail("a read-only page lost its data");
        if (mprotect(a, page, PROT_READ | PROT_WRITE) != 0)
            return fail("mprotect(PROT_READ|WRITE)");
        a[0] = 1;
        free(p);
    }
    errno = 0;
    if (madvise((void *)1, 4096, MADV_DONTNEED) == 0 || errno != EINVAL)
        return fail("madvise on an unaligned address did not fail with EINVAL");
    errno = 0;
    if (mprotect((void *)1, 4096, PROT_READ) == 0 || errno != EINVAL)
        return fail("mprotect on an unaligned address did not fail with EINVAL");
    puts("ok");
    return 0;
}
