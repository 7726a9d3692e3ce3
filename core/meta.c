/* SPDX-License-Identifier: MIT */
/* The one place in core/ and policy/ that names an allocator for the shim's
 * records (core/meta.h says which and why). */
#include "core/meta.h"

#include <stdint.h>
#include <string.h>

/* gcc says ASan and TSan with __SANITIZE_ADDRESS__ and __SANITIZE_THREAD__,
 * clang with __has_feature. TSan needs the C library's allocator as much as
 * ASan: it sees a block freed by one thread and handed to another by malloc
 * as ordered, while mimalloc's reuse of it looks like a race. */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define KMS_META_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define KMS_META_SANITIZED 1
#endif
#endif

#ifdef KMS_META_SANITIZED
#include <stdlib.h>
#define META_MALLOC malloc
#define META_CALLOC calloc
#define META_REALLOC realloc
#define META_FREE free
#else
#include <mimalloc.h>
#define META_MALLOC mi_malloc
#define META_CALLOC mi_calloc
#define META_REALLOC mi_realloc
#define META_FREE mi_free
#endif

void *kms_meta_malloc(size_t size) { return META_MALLOC(size); }

void *kms_meta_calloc(size_t n, size_t size) { return META_CALLOC(n, size); }

void *kms_meta_realloc(void *p, size_t size) { return META_REALLOC(p, size); }

void *kms_meta_reallocarray(void *p, size_t n, size_t size)
{
    if (size && n > SIZE_MAX / size) return NULL;
    return META_REALLOC(p, n * size);
}

void kms_meta_free(void *p) { META_FREE(p); }

static char *copy(const char *s, size_t n)
{
    char *d = META_MALLOC(n + 1);
    if (d) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

char *kms_meta_strndup(const char *s, size_t n) { return copy(s, strnlen(s, n)); }

char *kms_meta_strdup(const char *s) { return copy(s, strlen(s)); }
