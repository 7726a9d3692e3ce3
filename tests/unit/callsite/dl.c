/* SPDX-License-Identifier: MIT */
/* A library test_callsite opens with dlopen after start-up. */
#include <stdint.h>

/* A function that stays itself: not inlined, cloned or folded with a look-alike. */
#ifdef __clang__
#define KMS_SITE __attribute__((noinline))
#else
#define KMS_SITE __attribute__((noipa))
#endif

KMS_SITE static void *return_address(void) { return __builtin_return_address(0); }

KMS_SITE __attribute__((visibility("default"))) void *kms_csdl_site(void)
{
    void *p = return_address();
    /* Keeps the call from becoming a tail jump, which would return into the caller. */
    __asm__ volatile("" ::: "memory");
    return p;
}

/* Only in .symtab: a static function of a shared object matches too. */
KMS_SITE static void *kms_csdl_static_site(void)
{
    void *p = return_address();
    __asm__ volatile("" ::: "memory");
    return p;
}

__attribute__((visibility("default"))) void *(*kms_csdl_static_ptr(void))(void)
{
    return kms_csdl_static_site;
}
