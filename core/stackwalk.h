/* SPDX-License-Identifier: MIT */
/* The return addresses of the stack above an allocation, for rules that look
 * past the innermost caller ("depth N"). libunwind's unw_backtrace, opened
 * with dlopen at start-up when such a rule exists, keeps a per-thread cache of
 * each return address's frame layout: a stack seen before is walked with a
 * hash probe and a load per frame (~100 instructions) instead of a DWARF
 * lookup and CFI interpretation per frame (~1,500 with libgcc's unwinder).
 * Without libunwind, in a thread's first walks (libunwind's per-thread set-up
 * costs more than a few walks save) and in a forked child (see
 * kms_stackwalk_fork_child), libgcc's _Unwind_Backtrace does the same walk
 * (opened, not linked). */
#ifndef KMS_CORE_STACKWALK_H
#define KMS_CORE_STACKWALK_H
#include <stdbool.h>
#include <stdint.h>

/* How many walks of each thread take libgcc's unwinder where libunwind is
 * loaded (core/stackwalk.c says why). */
#define KMS_STACKWALK_COLD_WALKS 32

/* Opens libunwind (once; later calls are one load). False when it is not
 * there: walks then take libgcc's unwinder, opened instead. Call at start-up,
 * not from inside an allocation (dlopen allocates and takes the loader's lock). */
bool kms_stackwalk_load(void);
/* Whether either unwinder is loaded; without one, a walk gives back only the
 * first frame. */
bool kms_stackwalk_ready(void);

/* Fills frames[0..max) with the return addresses from `first` outwards: the
 * frames inside the caller of kms_stackwalk (the shim's own) are skipped
 * until `first`, the return address into the allocator, is found. Returns how
 * many; at least 1 (frames[0] = first when the walk does not find it, or no
 * unwinder could be loaded). The
 * caller must keep its own allocations off the route decision meanwhile:
 * libunwind may allocate on a thread's first walk. */
unsigned kms_stackwalk(uintptr_t first, uintptr_t *frames, unsigned max);

/* Around fork(): no walk is under way in another thread while the child is
 * made (libunwind's own locks are then free in the child). */
void kms_stackwalk_fork_prepare(void);
void kms_stackwalk_fork_parent(void);
void kms_stackwalk_fork_child(void);

#endif
