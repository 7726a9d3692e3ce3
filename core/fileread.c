/* SPDX-License-Identifier: MIT */
#include "core/fileread.h"

#include "core/meta.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

ssize_t kms_read_small(const char *root, const char *path, char *buf, size_t len)
{
    char full[4096];
    if (root && *root) {
        int n = snprintf(full, sizeof(full), "%s%s", root, path);
        if (n < 0 || (size_t)n >= sizeof(full)) {
            errno = ENAMETOOLONG;
            return -1;
        }
        path = full;
    }
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    size_t got = 0;
    int err = 0;
    while (got + 1 < len) {
        size_t want = len - 1 - got;
        ssize_t k = read(fd, buf + got, want);
        if (k < 0 && errno == EINTR) continue;
        if (k < 0) err = errno;
        if (k <= 0) break;
        got += (size_t)k;
        if ((size_t)k < want) break;
    }
    if (!err && got + 1 == len) { /* full: is there more? */
        char extra;
        ssize_t k;
        while ((k = read(fd, &extra, 1)) < 0 && errno == EINTR)
            ;
        if (k > 0) err = EFBIG;
    }
    close(fd);
    buf[got] = '\0';
    if (err) {
        errno = err;
        return -1;
    }
    return (ssize_t)got;
}

ssize_t kms_read_small_trim(const char *root, const char *path, char *buf, size_t len)
{
    ssize_t n = kms_read_small(root, path, buf, len);
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
        buf[--n] = '\0';
    return n;
}

int kms_read_whole(const char *path, size_t max, char **out, size_t *lenp)
{
    *out = NULL;
    *lenp = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    struct stat st;
    if (fstat(fd, &st) < 0) st.st_mode = 0;
    if (S_ISDIR(st.st_mode)) {
        close(fd);
        errno = EISDIR;
        return -1;
    }
    /* Up to one byte past the limit. A regular file's buffer has its size and
     * a byte more, for the read that sees its end. */
    size_t cap = 4096, len = 0;
    if (S_ISREG(st.st_mode) && st.st_size > 0 && (uint64_t)st.st_size <= max)
        cap = (size_t)st.st_size + 1;
    char *buf = kms_meta_malloc(cap);
    int err = buf ? 0 : ENOMEM;
    while (!err) {
        if (len == cap) {
            if (cap > max) break;
            size_t ncap = cap * 2 > max + 1 ? max + 1 : cap * 2;
            char *nb = kms_meta_realloc(buf, ncap);
            if (!nb) {
                err = ENOMEM;
                break;
            }
            buf = nb;
            cap = ncap;
        }
        ssize_t r = read(fd, buf + len, cap - len);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) err = errno;
        if (r <= 0) break;
        len += (size_t)r;
    }
    close(fd);
    if (!err && len > max) err = EFBIG;
    if (!err && len == cap) { /* a pipe's: the extra byte */
        char *nb = kms_meta_realloc(buf, len + 1);
        if (nb)
            buf = nb;
        else
            err = ENOMEM;
    }
    if (err) {
        kms_meta_free(buf);
        errno = err;
        return -1;
    }
    *out = buf;
    *lenp = len;
    return 0;
}
