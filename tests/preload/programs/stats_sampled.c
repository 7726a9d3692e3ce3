/* SPDX-License-Identifier: MIT */
/* Sampled statistics against the truth: keep_small keeps 1,000,000 blocks of
 * 64 bytes (64,000,000 bytes) live at once, churn allocates 65,536 blocks of
 * 1000 bytes freeing each at once, keep_large keeps 40 blocks of 1 MiB, and
 * everything is freed before exit. The test compares the report with these
 * numbers: exact per route, within a statistical tolerance per callsite.
 * usage: stats_sampled */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NSMALL 1000000
#define NLARGE 40

__attribute__((noinline)) static void **keep_small(void)
{
    void **v = calloc(NSMALL, sizeof(void *));
    if (!v) exit(1);
    for (int i = 0; i < NSMALL; i++)
        if (!(v[i] = malloc(64))) exit(1);
    return v;
}

__attribute__((noinline)) static void churn(void)
{
    for (int i = 0; i < 65536; i++) {
        char *p = malloc(1000);
        if (!p) exit(1);
        p[0] = (char)i;
        __asm__ volatile("" : : "r"(p) : "memory");
        free(p);
    }
}

__attribute__((noinline)) static void **keep_large(void)
{
    void **v = calloc(NLARGE, sizeof(void *));
    if (!v) exit(1);
    for (int i = 0; i < NLARGE; i++)
        if (!(v[i] = malloc(1 << 20))) exit(1);
    return v;
}

int main(void)
{
    void **s = keep_small();
    churn();
    void **l = keep_large();
    for (int i = 0; i < NSMALL; i++)
        free(s[i]);
    for (int i = 0; i < NLARGE; i++)
        free(l[i]);
    free(s);
    free(l);
    printf("ok\n");
    return 0;
}
