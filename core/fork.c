/* SPDX-License-Identifier: MIT */
#include "core/fork.h"

#include "core/access.h"
#include "core/arena.h"
#include "core/callsite.h"
#include "core/decommit.h"
#include "core/meta.h"
#include "core/stackwalk.h"
#include "core/stats.h"

#include <pthread.h>
#include <sys/single_threaded.h>

/* Set once before the handlers are registered. */
static bool callers;
/* Whether prepare() took the arenas', kept pages' and records' locks: not in a process that has
 * never had a second thread (glibc's own malloc skips its locks there too), where no one else can
 * hold it; the lock's page then stays shared between parent and child. Written only when it
 * changes, before the fork; read on both sides. */
static bool arena_held;

static void prepare(void)
{
    if (callers) {
        kms_stackwalk_fork_prepare();
        kms_stats_fork_prepare();
        kms_callsite_fork_prepare();
        kms_access_fork_prepare();
    }
    bool held = !__libc_single_threaded;
    if (held != arena_held) arena_held = held;
    if (held) {
        kms_arena_fork_prepare();
        kms_decommit_fork_prepare();
        kms_meta_fork_prepare();
    }
}

static void parent(void)
{
    if (arena_held) {
        kms_meta_fork_parent();
        kms_decommit_fork_parent();
        kms_arena_fork_parent();
    }
    if (callers) {
        kms_access_fork_parent();
        kms_callsite_fork_parent();
        kms_stats_fork_parent();
        kms_stackwalk_fork_parent();
    }
}

static void child(void)
{
    if (arena_held) {
        kms_meta_fork_child();
        kms_decommit_fork_child();
        kms_arena_fork_child();
    }
    if (callers) {
        kms_access_fork_child();
        kms_callsite_fork_child();
        kms_stats_fork_child();
        kms_stackwalk_fork_child();
        kms_access_child_resume(); /* a thread: once every lock is usable again */
    }
}

void kms_fork_handlers_register(bool uses_callers)
{
    callers = uses_callers;
    pthread_atfork(prepare, parent, child);
}
