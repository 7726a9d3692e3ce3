/* Callsites: a return address as (module basename, offset in the module,
 * function symbol), and the match of a rule's "caller" pattern against it.
 *
 * Symbols come from the module file's .symtab and .dynsym (elfutils' libelf),
 * read lazily, once per module, the first time a function name is needed, so
 * a library dlopen-ed after start-up resolves as soon as it is loaded. All of
 * it is thread-safe (one mutex; the engine calls it once per new callsite and
 * caches the decision). Nothing here unwinds: the engine passes each frame. */
#ifndef KMS_POLICY_CALLSITE_H
#define KMS_POLICY_CALLSITE_H
#include <stddef.h>
#include <stdint.h>

#include "policy/rules.h"

struct kms_callsite {
    const char *module;     /* basename ("libc.so.6", "myapp"); NULL: no module holds addr */
    const char *module_alt; /* the main program's name as started, when it differs; else NULL */
    uintptr_t base;         /* the module's load bias (dl_phdr_info.dlpi_addr) */
    uint64_t offset;        /* addr - base: what "MODULE+0xOFFSET" compares, exactly */
    const char *func;       /* innermost symbol around the call instruction, NULL if none */
    uint64_t func_offset;   /* addr - that symbol's start */
    /* private: where the symbol search stopped, for kms_callsite_matches */
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
 * functions (`lib*.so:*`), and for kms_callsite_matches of those. */
int kms_callsite_locate(uintptr_t addr, struct kms_callsite *cs);

/* Whether rule r's caller pattern matches a resolved callsite; 1 when the
 * rule has no caller condition. Lock-free: resolve once, test every rule. */
int kms_callsite_matches(const struct kms_rule *r, const struct kms_callsite *cs);

/* Both steps for one frame address; reads symbols only when the module glob
 * matches and the function glob is not "*". */
int kms_rule_caller_matches(const struct kms_rule *r, uintptr_t addr);

/* "myapp+0x4f21 (hot_lookup+0x31)": the profile's form, which a rule accepts back. */
int kms_callsite_format(const struct kms_callsite *cs, char *buf, size_t buflen);

/* For the engine's pthread_atfork handlers: the child must not inherit a held lock. */
void kms_callsite_fork_prepare(void);
void kms_callsite_fork_parent(void);
void kms_callsite_fork_child(void);

/* Frees every cached module (tests, exit). No resolve may run concurrently. */
void kms_callsite_reset(void);

#endif
