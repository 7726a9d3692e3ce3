/* SPDX-License-Identifier: MIT */
/* The stack walk for depth rules: once start-up has loaded libunwind, the
 * return addresses from the given first frame outwards, from a fresh stack
 * and from one walked before, in a thread's first walks (libgcc's unwinder)
 * and in its later ones (libunwind's cache); before, the first frame. */
#include "core/stackwalk.h"

#include <check.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/wait.h>
#include <unistd.h>

#define NOINLINE __attribute__((noinline, noipa))

/* Return addresses recorded by the functions themselves, for comparison. */
static uintptr_t ret_into_mid, ret_into_outer, ret_into_test;

struct walk {
    uintptr_t frames[8];
    unsigned n;
};

/* Stands for the allocator: its caller's return address is `first`, and
 * its own frame (and this one's) must be skipped. */
static NOINLINE void inner(struct walk *w, unsigned max)
{
    ret_into_mid = (uintptr_t)__builtin_return_address(0);
    w->n = kms_stackwalk(ret_into_mid, w->frames, max);
    __asm__ volatile("" ::: "memory");
}

static NOINLINE void mid(struct walk *w, unsigned max)
{
    ret_into_outer = (uintptr_t)__builtin_return_address(0);
    inner(w, max);
    __asm__ volatile("" ::: "memory");
}

static NOINLINE void outer(struct walk *w, unsigned max)
{
    ret_into_test = (uintptr_t)__builtin_return_address(0);
    mid(w, max);
    __asm__ volatile("" ::: "memory");
}

static void check_walk(const struct walk *w, unsigned max)
{
    ck_assert_uint_eq(w->n, max);
    ck_assert_msg(w->frames[0] == ret_into_mid, "frame 0 is the first frame asked for");
    if (max > 1) ck_assert_msg(w->frames[1] == ret_into_outer, "frame 1 is mid's caller");
    if (max > 2)
        ck_assert_msg(w->frames[2] == ret_into_test, "frame 2 is outer's caller: %lx, not %lx",
                      (unsigned long)w->frames[2], (unsigned long)ret_into_test);
}

START_TEST(walks_once_loaded)
{
    /* before start-up loads an unwinder: the first frame only */
    struct walk a = {0}, b = {0}, c = {0};
    outer(&a, 3);
    ck_assert_uint_eq(a.n, 1);
    ck_assert_msg(a.frames[0] == ret_into_mid, "frame 0 is the first frame asked for");
    ck_assert_msg(!kms_stackwalk_ready(), "no unwinder before kms_stackwalk_load");
    ck_assert_msg(kms_stackwalk_load(), "libunwind.so.8 (scripts/deps.sh installs libunwind8)");
    ck_assert(kms_stackwalk_ready());
    outer(&b, 3);
    check_walk(&b, 3);
    outer(&c, 3); /* the same frames again (but frame 2) */
    check_walk(&c, 3);
    /* frame 2 is the return into this test, from another call each time */
    for (unsigned i = 0; i < 2; i++)
        ck_assert_msg(b.frames[i] == c.frames[i], "frame %u differs on the cached walk", i);
    ck_assert_msg(b.frames[2] != c.frames[2], "two calls of outer, two return addresses");
}
END_TEST

/* Walks a thread's first walks and as many more, each compared with the
 * frames the functions recorded: the switch from libgcc's unwinder to
 * libunwind's changes nothing a rule sees. */
static void *cold_then_warm(void *arg)
{
    (void)arg;
    uintptr_t first = 0, second = 0;
    for (unsigned i = 0; i < 2 * KMS_STACKWALK_COLD_WALKS; i++) {
        struct walk w = {0};
        outer(&w, 3);
        check_walk(&w, 3);
        if (i == 0) first = w.frames[0], second = w.frames[1];
        ck_assert_msg(w.frames[0] == first && w.frames[1] == second, "walk %u differs", i);
    }
    return NULL;
}

START_TEST(a_threads_first_walks_and_later_ones_agree)
{
    ck_assert(kms_stackwalk_load());
    cold_then_warm(NULL); /* this thread: some walks behind it already */
    pthread_t t;
    ck_assert_int_eq(pthread_create(&t, NULL, cold_then_warm, NULL), 0);
    ck_assert_int_eq(pthread_join(t, NULL), 0);
}
END_TEST

START_TEST(max_bounds_the_walk)
{
    kms_stackwalk_load();
    struct walk w = {0};
    outer(&w, 1);
    check_walk(&w, 1);
    outer(&w, 2);
    check_walk(&w, 2);
}
END_TEST

START_TEST(walks_in_a_forked_child)
{
    /* A forked child walks with libgcc's unwinder (libunwind's lookups take
     * the loader's lock, which fork may copy held): the same frames. */
    kms_stackwalk_load();
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        kms_stackwalk_fork_child();
        struct walk w = {0};
        outer(&w, 3);
        _exit(w.n == 3 && w.frames[0] == ret_into_mid && w.frames[1] == ret_into_outer &&
                      w.frames[2] == ret_into_test
                  ? 0
                  : 1);
    }
    int st = 0;
    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the child's walk: status %d", st);
}
END_TEST

START_TEST(first_not_on_the_stack)
{
    /* An address that is no frame: the walk gives it back alone. */
    kms_stackwalk_load();
    uintptr_t frames[4] = {0};
    ck_assert_uint_eq(kms_stackwalk(0x1234, frames, 4), 1);
    ck_assert_uint_eq(frames[0], 0x1234);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("stackwalk");
    TCase *tc = tcase_create("walk");
    tcase_add_test(tc, walks_once_loaded);
    tcase_add_test(tc, a_threads_first_walks_and_later_ones_agree);
    tcase_add_test(tc, max_bounds_the_walk);
    tcase_add_test(tc, walks_in_a_forked_child);
    tcase_add_test(tc, first_not_on_the_stack);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_set_fork_status(sr, CK_NOFORK);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
