/* SPDX-License-Identifier: MIT */
/* madvise and mprotect, exported so that mimalloc's own calls reach the shim:
 * its decommits of arena memory are held back, and its commits take back what
 * is held (core/decommit.h says why and why it is safe). Every call is made
 * as the system call it names; the C library's functions are nothing more. */
#include "core/decommit.h"

#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#define EXPORT __attribute__((visibility("default")))

EXPORT int madvise(void *addr, size_t len, int advice)
{
    if (advice == MADV_DONTNEED && kms_decommit_hold(addr, len, __builtin_return_address(0)))
        return 0;
    return (int)syscall(SYS_madvise, addr, len, advice);
}

EXPORT int mprotect(void *addr, size_t len, int prot)
{
    /* A commit grants access; taking it away (a guard page) leaves what is held. */
    if (prot != PROT_NONE) kms_decommit_release(addr, len);
    return (int)syscall(SYS_mprotect, addr, len, prot);
}
