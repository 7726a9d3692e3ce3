/* SPDX-License-Identifier: MIT */
/* A shared library linked to test_callsite at start-up: its functions give
 * return addresses inside a library the loader mapped before main. */
#include <stdint.h>

/* A function that stays itself: not inlined, cloned or folded with a look-alike. */
#ifdef __clang__
#define KMS_SITE __attribute__((noinline))
#else
#define KMS_SITE __attribute__((noipa))
#endif

KMS_SITE static void *return_address(void) { return __builtin_return_address(0); }

KMS_SITE __attribute__((visibility("default"))) void *kms_cslib_site(void)
{
    void *p = return_address();
    /* Keeps the call from becoming a tail jump, which would return into the caller. */
    __asm__ volatile("" ::: "memory");
    return p;
}
