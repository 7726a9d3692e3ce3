/* SPDX-License-Identifier: MIT */
#include "core/fork.h"

#include "core/access.h"
#include "core/arena.h"
#include "core/callsite.h"
#include "core/stackwalk.h"
#include "core/stats.h"

#include <pthread.h>

static void prepare(void)
{
    kms_stackwalk_fork_prepare();
    kms_stats_fork_prepare();
    kms_callsite_fork_prepare();
    kms_access_fork_prepare();
    kms_arena_fork_prepare();
}

static void parent(void)
{
    kms_arena_fork_parent();
    kms_access_fork_parent();
    kms_callsite_fork_parent();
    kms_stats_fork_parent();
    kms_stackwalk_fork_parent();
}

static void child(void)
{
    kms_arena_fork_child();
    kms_access_fork_child();
    kms_callsite_fork_child();
    kms_stats_fork_child();
    kms_stackwalk_fork_child();
    kms_access_child_resume(); /* a thread: once every lock is usable again */
}

void kms_fork_handlers_register(void) { pthread_atfork(prepare, parent, child); }
