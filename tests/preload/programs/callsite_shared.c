/* SPDX-License-Identifier: MIT */
/* A shared library linked at start-up: its function is the caller of malloc. */
#include "callsite_prog.h"

#include <stdlib.h>
#include <string.h>

CS_KEEP void *cs_shared_alloc(size_t n)
{
    char *p = malloc(n);
    if (p) memset(p, 1, n);
    return p;
}
