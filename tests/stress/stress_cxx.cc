/* SPDX-License-Identifier: MIT */
// C++ operator new/delete for the stress test, behind a C interface: every
// variant the shim overrides (plain, array, nothrow, aligned, sized delete).
// Each allocating function is its own callsite, so caller rules can match it.
#include <cerrno>
#include <cstddef>
#include <new>

extern "C" {

enum {
    STRESS_NEW = 0,
    STRESS_NEW_ARRAY,
    STRESS_NEW_NOTHROW,
    STRESS_NEW_ALIGNED,
    STRESS_NEW_ALIGNED_ARRAY,
    STRESS_NEW_ALIGNED_NOTHROW,
    STRESS_NEW_VARIANTS,
};

// A throwing new that fails is the C entry points' NULL with ENOMEM: the
// exception must not cross the C caller, and --allow-enomem decides. The
// calls stay in this function: the rules file matches it as their caller.
__attribute__((noinline)) void *stress_cxx_new(std::size_t n, int variant, std::size_t align)
{
    try {
        switch (variant) {
        case STRESS_NEW: return ::operator new(n);
        case STRESS_NEW_ARRAY: return ::operator new[](n);
        case STRESS_NEW_NOTHROW: return ::operator new(n, std::nothrow);
        case STRESS_NEW_ALIGNED: return ::operator new(n, std::align_val_t(align));
        case STRESS_NEW_ALIGNED_ARRAY: return ::operator new[](n, std::align_val_t(align));
        default: return ::operator new(n, std::align_val_t(align), std::nothrow);
        }
    } catch (const std::bad_alloc &) {
        errno = ENOMEM;
        return nullptr;
    }
}

// sized: use the sized delete when the variant has one (alternating, so both kinds run).
__attribute__((noinline)) void stress_cxx_delete(void *p, std::size_t n, int variant,
                                                 std::size_t align, int sized)
{
    switch (variant) {
    case STRESS_NEW:
        if (sized)
            ::operator delete(p, n);
        else
            ::operator delete(p);
        break;
    case STRESS_NEW_ARRAY:
        if (sized)
            ::operator delete[](p, n);
        else
            ::operator delete[](p);
        break;
    case STRESS_NEW_NOTHROW: ::operator delete(p, std::nothrow); break;
    case STRESS_NEW_ALIGNED:
        if (sized)
            ::operator delete(p, n, std::align_val_t(align));
        else
            ::operator delete(p, std::align_val_t(align));
        break;
    case STRESS_NEW_ALIGNED_ARRAY:
        if (sized)
            ::operator delete[](p, n, std::align_val_t(align));
        else
            ::operator delete[](p, std::align_val_t(align));
        break;
    default: ::operator delete(p, std::align_val_t(align), std::nothrow); break;
    }
}
}
