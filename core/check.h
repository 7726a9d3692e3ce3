/* SPDX-License-Identifier: MIT */
/* kms_assert(cond): an invariant the code states, checked where KMS_ASSERT is
 * 1 (debug and sanitizer builds: CMake's KMEMSHIM_ASSERT) and compiled out
 * elsewhere (release builds, the condition not even evaluated), as mimalloc's
 * mi_assert_internal. A broken one writes what and where to stderr, without
 * allocating, and aborts. */
#ifndef KMS_CORE_CHECK_H
#define KMS_CORE_CHECK_H

#ifndef KMS_ASSERT
#define KMS_ASSERT 0
#endif

/* KMS_ASAN: 1 in an AddressSanitizer build (gcc says so with __SANITIZE_ADDRESS__,
 * clang with __has_feature), where the shim's records and tables keep to what ASan
 * can put redzones around (core/meta.c, core/cold.h). */
#if defined(__SANITIZE_ADDRESS__)
#define KMS_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define KMS_ASAN 1
#endif
#endif
#ifndef KMS_ASAN
#define KMS_ASAN 0
#endif

#if KMS_ASSERT
#define kms_assert(cond)                                                                           \
    (__builtin_expect(!!(cond), 1) ? (void)0 : kms_assert_fail(#cond, __FILE__, __LINE__, __func__))
#else
#define kms_assert(cond) ((void)0)
#endif

/* Whether the library was built with the checks on. */
extern const int kms_assert_on;

__attribute__((noreturn, cold)) void kms_assert_fail(const char *cond, const char *file, int line,
                                                     const char *func);

#endif
