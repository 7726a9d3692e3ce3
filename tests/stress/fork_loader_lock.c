/* SPDX-License-Identifier: MIT */
/* A child forked while another thread holds the dynamic loader's lock (inside
 * dl_iterate_phdr, dlopen or dlclose) inherits that lock held: glibc's fork()
 * resets dl_load_lock in the child but not dl_load_write_lock. The shim must
 * never need it on the allocation path: this program keeps one thread inside
 * dl_iterate_phdr, forks, and has each child allocate from a callsite the
 * parent never used (with a caller rule, a new callsite is resolved to its
 * module). A child that does not exit within 5 s hung. Run under the shim with
 * KMEM_RULES containing a caller rule; usage: fork_loader_lock SECONDS */
#include <link.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int slow_cb(struct dl_phdr_info *info, size_t size, void *data)
{
    (void)info;
    (void)size;
    for (volatile int k = 0; k < 20000; k++)
        (void)data;
    return 0;
}

static void *hold_loader_lock(void *arg)
{
    (void)arg;
    for (;;)
        dl_iterate_phdr(slow_cb, NULL);
    return NULL;
}

__attribute__((noinline)) static void child(void)
{
    alarm(5);
    void *volatile p = malloc(100);
    free(p);
    _exit(p ? 0 : 1);
}

int main(int argc, char **argv)
{
    int seconds = argc > 1 ? atoi(argv[1]) : 5;
    pthread_t t;
    if (pthread_create(&t, NULL, hold_loader_lock, NULL) != 0) return 2;
    time_t end = time(NULL) + seconds;
    int forks = 0, hung = 0, failed = 0;
    while (time(NULL) < end && hung < 3) {
        pid_t pid = fork();
        if (pid < 0) return 2;
        if (pid == 0) child();
        int status;
        if (waitpid(pid, &status, 0) != pid) return 2;
        forks++;
        if (WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM)
            hung++;
        else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
            failed++;
    }
    printf("fork_loader_lock: %d forks, %d children hung, %d failed\n", forks, hung, failed);
    fflush(stdout);
    _exit(hung || failed || forks == 0 ? 1 : 0);
}
