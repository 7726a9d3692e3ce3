/* SPDX-License-Identifier: MIT */
/* Linked against libkmemshim.so (a setuid program ignores LD_PRELOAD from the
 * environment): prints the kernel policy of a 1 MiB block. */
#include "vma_policy.h"

#include <stdlib.h>
#include <string.h>

int main(void)
{
    char *p = malloc(1 << 20);
    char pol[256] = "?";
    memset(p, 1, 1 << 20);
    vma_policy(p, pol, sizeof(pol));
    printf("secure_probe: block policy %s\n", pol);
    free(p);
    return 0;
}
