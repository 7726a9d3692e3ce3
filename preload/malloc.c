/* The C allocation entry points. Each one takes its caller's address (the
 * callsite rules match on it) and hands the request to the route and engine. */
#include "core/access.h"
#include "core/engine.h"
#include "core/stats.h"
#include "policy/route.h"

#include <errno.h>
#include <malloc.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#define EXPORT __attribute__((visibility("default")))
#define CALLER __builtin_return_address(0)

static inline __attribute__((always_inline)) void *route_alloc(size_t size, size_t align, bool zero,
                                                               const void *caller)
{
    int route = kms_route_decide(size, caller);
    if (__builtin_expect(kms_stats_on, 0)) { /* KMEM_STATS / KMEM_PROFILE */
        void *p = kms_access_on ? kms_access_alloc(route, size, align, zero, caller)
                                : kms_alloc(route, size, align, zero);
        if (p) kms_stats_note(p, size, route, caller);
        return p;
    }
    return kms_alloc(route, size, align, zero);
}

static __attribute__((noinline)) void *malloc_full(size_t size, const void *caller)
{
    void *p = route_alloc(size, 0, false, caller);
    if (p && kms_fast_ok) kms_fast_learn(size, kms_route_decide(size, caller));
    return p;
}

EXPORT void *malloc(size_t size)
{
    void *p = kms_fast_malloc(size);
    if (__builtin_expect(p != NULL, 1)) {
        if (__builtin_expect(kms_stats_on, 0)) /* KMEM_STATS / KMEM_PROFILE */
            kms_stats_note_fast(p, size, CALLER);
        return p;
    }
    return malloc_full(size, CALLER);
}

EXPORT void free(void *p)
{
    if (__builtin_expect(kms_stats_on, 0) && kms_sampled_maybe(p)) { /* KMEM_STATS / KMEM_PROFILE */
        kms_stats_free(p);
        return;
    }
    mi_free(p);
}

EXPORT void *calloc(size_t n, size_t size)
{
    size_t total;
    if (__builtin_mul_overflow(n, size, &total)) {
        errno = ENOMEM;
        return NULL;
    }
    return route_alloc(total, 0, true, CALLER);
}

static void *do_realloc(void *p, size_t size, const void *caller)
{
    if (__builtin_expect(kms_stats_on, 0)) /* KMEM_STATS / KMEM_PROFILE */
        return kms_stats_realloc(p, size, caller);
    if (!p) return route_alloc(size, 0, false, caller);
    if (size == 0) {
        /* glibc's behaviour, which programs rely on: free and return NULL. */
        mi_free(p);
        return NULL;
    }
    return kms_realloc_routed(p, size, kms_route_decide(size, caller));
}

EXPORT void *realloc(void *p, size_t size) { return do_realloc(p, size, CALLER); }

EXPORT void *reallocarray(void *p, size_t n, size_t size)
{
    size_t total;
    if (__builtin_mul_overflow(n, size, &total)) {
        errno = ENOMEM;
        return NULL;
    }
    return do_realloc(p, total, CALLER);
}

static bool power_of_two(size_t a) { return a && !(a & (a - 1)); }

EXPORT int posix_memalign(void **out, size_t align, size_t size)
{
    if (!power_of_two(align) || align % sizeof(void *) != 0) return EINVAL;
    int saved = errno;
    void *p = route_alloc(size, align, false, CALLER);
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
    return route_alloc(size, align, false, CALLER);
}

EXPORT void *memalign(size_t align, size_t size)
{
    /* glibc rounds a non-power-of-two alignment up, and takes small ones as is. */
    if (align <= sizeof(void *)) return route_alloc(size, 0, false, CALLER);
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
    return route_alloc(size, align, false, CALLER);
}

EXPORT void *valloc(size_t size)
{
    return route_alloc(size, (size_t)sysconf(_SC_PAGESIZE), false, CALLER);
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
    int route = kms_route_decide(size, CALLER);
    void *p = kms_alloc(route, rounded ? rounded : page, page, false);
    if (__builtin_expect(kms_stats_on, 0) && p) /* KMEM_STATS / KMEM_PROFILE */
        kms_stats_note(p, size, route, CALLER);
    return p;
}

EXPORT size_t malloc_usable_size(void *p) { return p ? mi_usable_size(p) : 0; }
