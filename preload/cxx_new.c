/* SPDX-License-Identifier: MIT */
/* C++ operator new and delete, every variant, so that a C++ callsite is the
 * caller of `new` and not libstdc++. Written in C with the Itanium ABI names:
 * the library must not pull libstdc++ into C programs. A failed throwing new
 * calls the program's new-handler, then throws std::bad_alloc through
 * libstdc++'s own thrower, found at run time (a program that calls operator
 * new has libstdc++ loaded). */
#include "preload/entry.h"

#include <dlfcn.h>
#include <stdlib.h>

#define EXPORT __attribute__((visibility("default")))
#define CALLER __builtin_return_address(0)

typedef void (*new_handler_t)(void);

static __attribute__((noinline)) void *new_failed(size_t size, size_t align, const void *caller,
                                                  bool nothrow)
{
    for (;;) {
        new_handler_t (*get_handler)(void) =
            (new_handler_t(*)(void))dlsym(RTLD_DEFAULT, "_ZSt15get_new_handlerv");
        new_handler_t handler = get_handler ? get_handler() : NULL;
        if (!handler) {
            if (nothrow) return NULL;
            void (*throw_bad_alloc)(void) =
                (void (*)(void))dlsym(RTLD_DEFAULT, "_ZSt17__throw_bad_allocv");
            if (throw_bad_alloc) throw_bad_alloc();
            abort(); /* no libstdc++: nothing can catch it anyway */
        }
        handler();
        void *p = kms_entry_alloc(size, align, false, caller);
        if (p) return p;
    }
}

static inline __attribute__((always_inline)) void *cxx_new(size_t size, size_t align,
                                                           const void *caller, bool nothrow)
{
    void *p = align ? kms_entry_alloc(size, align, false, caller) : kms_entry_malloc(size, caller);
    if (__builtin_expect(p != NULL, 1)) return p;
    return new_failed(size, align, caller, nothrow);
}

/* operator new(size_t) and friends */
EXPORT void *_Znwm(size_t n) { return cxx_new(n, 0, CALLER, false); }
EXPORT void *_Znam(size_t n) { return cxx_new(n, 0, CALLER, false); }
EXPORT void *_ZnwmRKSt9nothrow_t(size_t n, const void *nt)
{
    (void)nt;
    return cxx_new(n, 0, CALLER, true);
}
EXPORT void *_ZnamRKSt9nothrow_t(size_t n, const void *nt)
{
    (void)nt;
    return cxx_new(n, 0, CALLER, true);
}
EXPORT void *_ZnwmSt11align_val_t(size_t n, size_t al) { return cxx_new(n, al, CALLER, false); }
EXPORT void *_ZnamSt11align_val_t(size_t n, size_t al) { return cxx_new(n, al, CALLER, false); }
EXPORT void *_ZnwmSt11align_val_tRKSt9nothrow_t(size_t n, size_t al, const void *nt)
{
    (void)nt;
    return cxx_new(n, al, CALLER, true);
}
EXPORT void *_ZnamSt11align_val_tRKSt9nothrow_t(size_t n, size_t al, const void *nt)
{
    (void)nt;
    return cxx_new(n, al, CALLER, true);
}

/* operator delete: every form frees the same way; sizes and alignments are
 * known to mimalloc already. */
#define DELETE_BODY kms_entry_free(p);
EXPORT void _ZdlPv(void *p){DELETE_BODY} EXPORT void _ZdaPv(void *p){DELETE_BODY} EXPORT
    void _ZdlPvm(void *p, size_t n)
{
    (void)n;
    DELETE_BODY
}
EXPORT void _ZdaPvm(void *p, size_t n)
{
    (void)n;
    DELETE_BODY
}
EXPORT void _ZdlPvRKSt9nothrow_t(void *p, const void *nt)
{
    (void)nt;
    DELETE_BODY
}
EXPORT void _ZdaPvRKSt9nothrow_t(void *p, const void *nt)
{
    (void)nt;
    DELETE_BODY
}
EXPORT void _ZdlPvSt11align_val_t(void *p, size_t al)
{
    (void)al;
    DELETE_BODY
}
EXPORT void _ZdaPvSt11align_val_t(void *p, size_t al)
{
    (void)al;
    DELETE_BODY
}
EXPORT void _ZdlPvmSt11align_val_t(void *p, size_t n, size_t al)
{
    (void)n;
    (void)al;
    DELETE_BODY
}
EXPORT void _ZdaPvmSt11align_val_t(void *p, size_t n, size_t al)
{
    (void)n;
    (void)al;
    DELETE_BODY
}
EXPORT void _ZdlPvSt11align_val_tRKSt9nothrow_t(void *p, size_t al, const void *nt)
{
    (void)al;
    (void)nt;
    DELETE_BODY
}
EXPORT void _ZdaPvSt11align_val_tRKSt9nothrow_t(void *p, size_t al, const void *nt)
{
    (void)al;
    (void)nt;
    DELETE_BODY
}
