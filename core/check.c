/* SPDX-License-Identifier: MIT */
#include "core/check.h"

#include "core/fork.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

const int kms_assert_on = KMS_ASSERT;

#if KMS_ASSERT
__thread unsigned kms_locks_held __attribute__((tls_model("initial-exec")));
#endif

void kms_assert_fail(const char *cond, const char *file, int line, const char *func)
{
    char msg[512];
    int n = snprintf(msg, sizeof(msg), "kmemshim: %s:%d: %s: invariant broken: %s\n", file, line,
                     func, cond);
    if (n > (int)sizeof(msg) - 1) n = (int)sizeof(msg) - 1;
    if (n > 0) {
        ssize_t rc = write(STDERR_FILENO, msg, (size_t)n);
        (void)rc;
    }
    abort();
}
