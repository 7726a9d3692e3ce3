/* SPDX-License-Identifier: MIT */
/* Runs a command with NUMA system calls denied (EPERM) by a seccomp filter, as
 * Docker's default profile does for containers started without CAP_SYS_NICE.
 * usage: deny_numa_exec SYSCALL[,SYSCALL...] CMD [ARGS...]
 * SYSCALL: mbind, set_mempolicy, get_mempolicy, move_pages, migrate_pages. */
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

static const struct {
    const char *name;
    int nr;
} known[] = {
    {"mbind", __NR_mbind},
    {"set_mempolicy", __NR_set_mempolicy},
    {"get_mempolicy", __NR_get_mempolicy},
    {"move_pages", __NR_move_pages},
    {"migrate_pages", __NR_migrate_pages},
};

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: deny_numa_exec SYSCALL[,SYSCALL...] CMD [ARGS...]\n");
        return 2;
    }
    struct sock_filter f[64];
    unsigned n = 0;
    f[n++] =
        (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch));
    f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0);
    f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
    f[n++] =
        (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr));
    char *list = strdup(argv[1]);
    for (char *tok = strtok(list, ","); tok; tok = strtok(NULL, ",")) {
        int nr = -1;
        for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
            if (strcmp(tok, known[i].name) == 0) nr = known[i].nr;
        if (nr < 0) {
            fprintf(stderr, "deny_numa_exec: unknown system call '%s'\n", tok);
            return 2;
        }
        f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned)nr, 0, 1);
        f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K,
                                              SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA));
    }
    f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
    struct sock_fprog prog = {.len = (unsigned short)n, .filter = f};
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
        prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) != 0) {
        perror("deny_numa_exec: seccomp");
        return 2;
    }
    execvp(argv[2], argv + 2);
    perror("deny_numa_exec: exec");
    return 127;
}
