/* SPDX-License-Identifier: MIT */
/* A shared library the test program opens with dlopen after start-up. */
#include "callsite_prog.h"

#include <stdlib.h>
#include <string.h>

CS_KEEP void *cs_dl_alloc(size_t n)
{
    char *p = malloc(n);
    if (p) memset(p, 2, n);
    return p;
}
