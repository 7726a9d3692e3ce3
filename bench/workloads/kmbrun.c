/* SPDX-License-Identifier: MIT */
/* kmbrun: runs one benchmark command and reports how it went.
 *
 *   kmbrun -o OUT -e ERR [-t SECONDS] -- COMMAND [ARG]...
 *
 * Runs COMMAND in its own process group with stdout to OUT and stderr to ERR,
 * and prints one line on stdout:
 *
 *   STATUS WALL_SECONDS CPU_SECONDS MAXRSS_KIB
 *
 * STATUS is "ok" (exit 0), "exit:N", "signal:NAME" (a crash) or "timeout"
 * (killed, with its process group, after SECONDS, default 300). The wall time
 * is CLOCK_MONOTONIC around fork and wait; the CPU time is the child's user
 * plus system time; the peak RSS is the child's ru_maxrss, which covers every
 * image the process exec()ed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void usage(void)
{
    fprintf(stderr, "usage: kmbrun -o OUT -e ERR [-t SECONDS] -- COMMAND [ARG]...\n");
    exit(2);
}

int main(int argc, char **argv)
{
    const char *out = NULL, *err = NULL;
    double limit = 300;
    int opt;
    while ((opt = getopt(argc, argv, "+o:e:t:")) != -1) {
        switch (opt) {
        case 'o': out = optarg; break;
        case 'e': err = optarg; break;
        case 't':
            limit = strtod(optarg, NULL);
            if (!(limit > 0)) usage();
            break;
        default: usage();
        }
    }
    if (!out || !err || optind >= argc) usage();

    sigset_t chld, old;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    sigprocmask(SIG_BLOCK, &chld, &old);

    double t0 = now();
    pid_t pid = fork();
    if (pid < 0) {
        perror("kmbrun: fork");
        return 2;
    }
    if (pid == 0) {
        sigprocmask(SIG_SETMASK, &old, NULL);
        setpgid(0, 0);
        int fo = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int fe = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fo < 0 || fe < 0 || dup2(fo, 1) < 0 || dup2(fe, 2) < 0) {
            perror("kmbrun: redirect");
            _exit(126);
        }
        close(fo);
        close(fe);
        execvp(argv[optind], argv + optind);
        fprintf(stderr, "kmbrun: exec %s: %s\n", argv[optind], strerror(errno));
        _exit(127);
    }
    setpgid(pid, pid); /* either side may win the race; both set the same group */

    int status = 0, timed_out = 0;
    struct rusage ru;
    memset(&ru, 0, sizeof ru);
    for (;;) {
        pid_t w = wait4(pid, &status, WNOHANG, &ru);
        if (w == pid) break;
        if (w < 0 && errno != EINTR) {
            perror("kmbrun: wait4");
            return 2;
        }
        double left = limit - (now() - t0);
        if (left <= 0) {
            kill(-pid, SIGKILL);
            timed_out = 1;
            if (wait4(pid, &status, 0, &ru) < 0) perror("kmbrun: wait4");
            break;
        }
        struct timespec ts = {(time_t)left, (long)((left - (double)(time_t)left) * 1e9)};
        sigtimedwait(&chld, NULL, &ts);
    }
    double wall = now() - t0;

    if (timed_out)
        printf("timeout");
    else if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        printf("ok");
    else if (WIFEXITED(status))
        printf("exit:%d", WEXITSTATUS(status));
    else if (WIFSIGNALED(status))
        printf("signal:%s",
               sigabbrev_np(WTERMSIG(status)) ? sigabbrev_np(WTERMSIG(status)) : "unknown");
    else
        printf("unknown");
    double cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
                 (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
    printf(" %.6f %.6f %ld\n", wall, cpu, ru.ru_maxrss);
    return 0;
}
