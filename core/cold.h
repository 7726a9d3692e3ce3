/* SPDX-License-Identifier: MIT */
/* KMS_COLD: on a large zero-filled table that only statistics, profiles, tiering or caller
 * rules touch. Every process pays a page fault for each page of the library's .bss that its
 * start-up writes; the state start-up writes is small, but a table of this kind between two
 * of its variables puts them pages apart. On x86-64 the linker places ".lbss" (the ABI's
 * large-data bss) after .bss in the same writable segment, so these tables go there and the
 * rest of .bss packs into a few pages. AddressSanitizer does not put redzones around a
 * variable in a section of its own: its builds keep the tables in .bss, checked. */
#ifndef KMS_CORE_COLD_H
#define KMS_CORE_COLD_H
#include "core/check.h"

#if defined(__x86_64__) && defined(__ELF__) && !KMS_ASAN
#define KMS_COLD __attribute__((section(".lbss")))
#else
#define KMS_COLD
#endif

#endif
