/* SPDX-License-Identifier: MIT */
/* Sizes as users write them: "4096", "64K", "1M", "2G", "1T" (powers of 1024). */
#ifndef KMS_CORE_SIZE_H
#define KMS_CORE_SIZE_H
#include <stddef.h>
#include <stdint.h>

/* Parses exactly s[0..len). On failure returns -1 and sets *why to a static
 * description of what was wrong ("empty", "not a number", "overflows 64 bits",
 * "unknown suffix", "trailing characters", "negative"). */
int kms_parse_size(const char *s, size_t len, uint64_t *out, const char **why);

/* Writes a human form ("1M", "4096", "1.5G" is never produced: exact units only). */
void kms_format_size(uint64_t v, char *buf, size_t buflen);

/* For people: "1.5 GiB", "12.0 MiB", "40.0 KiB", "812 B". Returns buf. */
const char *kms_size_human(uint64_t b, char *buf, size_t len);

#endif
