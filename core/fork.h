/* The shim's locks, and fork().
 *
 * Three mutexes, always taken in this order, never the other way round:
 *   1. the statistics' lock (core/stats.c): recorded blocks, sites, threads;
 *   2. the callsite table's lock (core/callsite.c): loaded modules, symbols;
 *   3. the arenas' lock (core/arena.c): adding an arena to a class.
 * At run time no thread holds two of them: the report copies under (1) and
 * names callsites under (2) after letting (1) go; the shim's own work under
 * (2) (reading symbol tables) allocates from the plain heap, which takes
 * neither (1) nor (3), and its frees skip (1) (core/stats.c, own_work).
 * fork() takes all three in this order before the child is made, so the child
 * finds each in a known state (the parent lets them go; the child makes new
 * ones), whatever the other threads held. mimalloc's own state needs nothing
 * from us: a child's heaps are its thread's, as in the parent. */
#ifndef KMS_CORE_FORK_H
#define KMS_CORE_FORK_H

/* Registers the fork handlers; once, at start-up, after the engine. */
void kms_fork_handlers_register(void);

#endif
