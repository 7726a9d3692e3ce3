/* SPDX-License-Identifier: MIT */
/* The C allocation entry points. Each one takes its caller's address (the
 * callsite rules match on it) and hands the request to the route and engine. */
#include "preload/entry.h"

#include <errno.h>
#include <malloc.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#define EXPORT __attribute__((visibility("default")))
#define CALLER __builtin_return_address(0)

EXPORT void *malloc(size_t size)
{
    /* kms_entry_malloc, spelled out so that the caller's address is read only
     * where it is needed, after the fast pointer's test or its heap's call
     * (passed as an argument, it would be kept in a register across the call). */
    if (size < kms_fast_small_end) {
        mi_heap_t *h = kms_self.fast[KMS_FAST_SMALL];
        if (__builtin_expect(h == NULL, 0))
            return kms_entry_alloc_miss(size, 0, true, false, CALLER);
        void *p = mi_heap_malloc_small(h, size);
        if (__builtin_expect(p != NULL, 1)) return p;
    } else if (size < kms_fast_threshold) {
        mi_heap_t *h = kms_self.fast[0];
        if (__builtin_expect(h == NULL, 0))
            return kms_entry_alloc_miss(size, 0, false, false, CALLER);
        void *p = mi_heap_malloc(h, size);
        if (__builtin_expect(p != NULL, 1)) return p;
    } else {
        mi_heap_t *h = kms_self.fast[1];
        if (__builtin_expect(h == NULL, 0))
            return kms_entry_alloc_miss(size, 1, false, false, CALLER);
        void *p = mi_heap_malloc(h, size);
        if (__builtin_expect(p != NULL, 1)) return p;
    }
    return kms_entry_malloc_full(size, CALLER);
}

EXPORT void free(void *p) { kms_entry_free(p); }

EXPORT void *calloc(size_t n, size_t size)
{
    size_t total;
    if (__builtin_mul_overflow(n, size, &total)) {
        errno = ENOMEM;
        return NULL;
    }
    /* As malloc, zeroed: the route depends on the size alone wherever the fast or counted
     * pointers are set. */
    if (total < kms_fast_threshold) {
        mi_heap_t *h = kms_self.fast[0];
        if (__builtin_expect(h == NULL, 0))
            return kms_entry_alloc_miss(total, 0, false, true, CALLER);
        void *p = mi_heap_zalloc(h, total);
        if (__builtin_expect(p != NULL, 1)) return p;
    } else {
        mi_heap_t *h = kms_self.fast[1];
        if (__builtin_expect(h == NULL, 0))
            return kms_entry_alloc_miss(total, 1, false, true, CALLER);
        void *p = mi_heap_zalloc(h, total);
        if (__builtin_expect(p != NULL, 1)) return p;
    }
    return kms_entry_calloc_full(total, CALLER);
}

EXPORT void *realloc(void *p, size_t size) { return kms_entry_realloc(p, size, CALLER); }

EXPORT void *reallocarray(void *p, size_t n, size_t size)
{
    size_t total;
    if (__builtin_mul_overflow(n, size, &total)) {
        errno = ENOMEM;
        return NULL;
    }
    return kms_entry_realloc(p, total, CALLER);
}

static bool power_of_two(size_t a) { return a && !(a & (a - 1)); }

EXPORT int posix_memalign(void **out, size_t align, size_t size)
{
    if (!power_of_two(align) || align % sizeof(void *) != 0) return EINVAL;
    int saved = errno;
    void *p = kms_entry_alloc(size, align, false, CALLER);
    if (!p) return ENOMEM;
    errno = saved;
    *out = p;
    return 0;
}

EXPORT void *aligned_alloc(size_t align, size_t size)
{
    if (!power_of_two(align)) {
        errno = EINVAL;
        return NULL;
    }
    return kms_entry_alloc(size, align, false, CALLER);
}

EXPORT void *memalign(size_t align, size_t size)
{
    /* glibc rounds a non-power-of-two alignment up, and takes small ones as is. */
    if (align <= sizeof(void *)) return kms_entry_alloc(size, 0, false, CALLER);
    if (!power_of_two(align)) {
        if (align > (SIZE_MAX >> 1) + 1) {
            errno = EINVAL;
            return NULL;
        }
        size_t a = 1;
        while (a < align)
            a <<= 1;
        align = a;
    }
    return kms_entry_alloc(size, align, false, CALLER);
}

EXPORT void *valloc(size_t size)
{
    return kms_entry_alloc(size, (size_t)sysconf(_SC_PAGESIZE), false, CALLER);
}

EXPORT void *pvalloc(size_t size)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t rounded;
    if (__builtin_add_overflow(size, page - 1, &rounded)) {
        errno = ENOMEM;
        return NULL;
    }
    rounded &= ~(page - 1);
    /* Routed by the size asked for, like every other entry point. */
    return kms_entry_alloc_as(size, rounded ? rounded : page, page, false, CALLER);
}

EXPORT size_t malloc_usable_size(void *p) { return p ? mi_usable_size(p) : 0; }
