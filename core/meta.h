/* SPDX-License-Identifier: MIT */
/* The shim's own memory: every record core/ and policy/ keep (rules, route
 * decisions, symbol tables, topology, tiers, snapshots) comes from here,
 * never from the exported malloc, which would route, count and possibly
 * re-enter the shim (scripts/layers.sh refuses a call to the public allocator
 * in core/ and policy/). Chunks mapped from the kernel serve it (core/meta.c),
 * as mimalloc's records come from its own allocator, not from its malloc; not
 * mimalloc's heaps, because a record a thread makes (a module it names, a
 * callsite it decided) outlives the thread, and a block of a thread's heap that
 * outlives it keeps the thread's segment abandoned for good: mimalloc 2.0.9
 * then visits it up to 1,024 times at every later thread exit. One lock
 * (core/fork.h, the last) guards the chunks; a request nested in its holder (a
 * signal handler that allocates) gets a mapping of its own.
 *
 * Under AddressSanitizer the C library's allocator (the sanitizer's) serves it
 * instead, so that the sanitizer tree checks the shim's records for bounds,
 * use after free and leaks; that build never preloads the shim.
 *
 * A block from kms_meta_* goes back through kms_meta_free and no other free;
 * a block a foreign call handed out (getline, realpath) goes back through the
 * foreign library's own release, never through kms_meta_free. */
#ifndef KMS_CORE_META_H
#define KMS_CORE_META_H
#include <stddef.h>

/* As malloc, calloc (n * size overflowing: NULL), realloc and free; a block past
 * PTRDIFF_MAX bytes is NULL. */
void *kms_meta_malloc(size_t size);
void *kms_meta_calloc(size_t n, size_t size);
void *kms_meta_realloc(void *p, size_t size);
/* realloc of p to n * size bytes; NULL (p kept) when the product overflows. */
void *kms_meta_reallocarray(void *p, size_t n, size_t size);
void kms_meta_free(void *p);
/* The first n bytes of s (stopping at a NUL), NUL-terminated; NULL when out of memory. */
char *kms_meta_strndup(const char *s, size_t n);
/* All of s. */
char *kms_meta_strdup(const char *s);

/* fork() (core/fork.c): the chunks' lock held across it. */
void kms_meta_fork_prepare(void);
void kms_meta_fork_parent(void);
void kms_meta_fork_child(void);

#endif
