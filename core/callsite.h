/* SPDX-License-Identifier: MIT */
/* Callsites: a return address as (module basename, offset in the module,
 * function symbol). Rules match against this (policy/callsite_match.h); the
 * reports name their callsites with it.
 *
 * Symbols come from the module file's .symtab and .dynsym (elfutils' libelf),
 * read lazily, once per module, the first time a function name is needed, so
 * a library dlopen-ed after start-up resolves as soon as it is loaded. All of
 * it is thread-safe (one mutex; the engine calls it once per new callsite and
 * caches the decision). Nothing here unwinds: the engine passes each frame. */
#ifndef KMS_CORE_CALLSITE_H
#define KMS_CORE_CALLSITE_H
#include <stddef.h>
#include <stdint.h>

struct kms_callsite {
    const char *module;     /* basename ("libc.so.6", "myapp"); NULL: no module holds addr */
    const char *module_alt; /* the main program's name as started, when it differs; else NULL */
    uintptr_t base;         /* the module's load bias (dl_phdr_info.dlpi_addr) */
    uint64_t offset;        /* addr - base: what "MODULE+0xOFFSET" compares, exactly */
    const char *func;       /* innermost symbol around the call instruction, NULL if none */
    uint64_t func_offset;   /* addr - that symbol's start */
    /* private: where the symbol search stopped, for kms_callsite_each_symbol */
    const void *mod_;
    size_t sym_;
};

/* Fills *cs for the return address addr (the call instruction is at addr - 1,
 * which is what symbols are looked up with). Returns 0, or -1 when no loaded
 * module contains addr (JIT code, a bad address). The strings stay valid until
 * kms_callsite_reset(). */
int kms_callsite_resolve(uintptr_t addr, struct kms_callsite *cs);

/* The same without the symbol lookup (func NULL; the module's symbol tables
 * are not read): enough for rules on a module's offsets or on any of its
 * functions (`lib*.so:*`), and for the matching of those. */
int kms_callsite_locate(uintptr_t addr, struct kms_callsite *cs);

/* Calls fn with each symbol that covers a resolved callsite, innermost first
 * (aliases too: glibc's malloc is also __libc_malloc), until fn returns
 * non-zero; returns that value, or 0. Nothing for a callsite only located. */
int kms_callsite_each_symbol(const struct kms_callsite *cs, int (*fn)(const char *name, void *arg),
                             void *arg);

/* The module table's lock across fork(): the child must not inherit it held (core/fork.h). */
void kms_callsite_fork_prepare(void);
void kms_callsite_fork_parent(void);
void kms_callsite_fork_child(void);

/* Frees every cached module (tests, exit). No resolve may run concurrently. */
void kms_callsite_reset(void);

#endif
