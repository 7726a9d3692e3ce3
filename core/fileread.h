/* SPDX-License-Identifier: MIT */
/* Reading files: the one small-file reader (sysfs attributes, /proc files)
 * and the one whole-file reader (the rules file). Paths are taken under a
 * root directory, so that the readers of the machine's state run on fixture
 * trees in the tests (NULL or "": the real root). */
#ifndef KMS_CORE_FILEREAD_H
#define KMS_CORE_FILEREAD_H
#include <stddef.h>
#include <sys/types.h>

/* Reads root/path into buf (len bytes, NUL-terminated). sysfs gives an
 * attribute whole to one read(): a read that fills less than asked is the
 * end, and only a full buffer costs a second read, to tell a file that fits
 * from a longer one. Returns the length read, or -1 with errno: that of
 * open(2) (ENOENT: absent) or read(2), EFBIG when the file is longer than
 * len - 1 bytes, ENAMETOOLONG when root/path is. */
ssize_t kms_read_small(const char *root, const char *path, char *buf, size_t len);

/* As kms_read_small, without trailing newlines and spaces. */
ssize_t kms_read_small_trim(const char *root, const char *path, char *buf, size_t len);

/* Reads the whole of path, at most max bytes, into *out: a kms_meta_malloc
 * block one byte longer than the *len bytes read (free it with kms_meta_free),
 * the byte after them not written. Pipes and /proc files work as well as
 * regular files. Returns 0, or -1 with errno: that of open(2) or read(2),
 * EISDIR for a directory, EFBIG past max, ENOMEM. */
int kms_read_whole(const char *path, size_t max, char **out, size_t *len);

#endif
