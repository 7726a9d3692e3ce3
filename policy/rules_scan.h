/* SPDX-License-Identifier: MIT */
/* Scanning rules text several bytes a step: finding a line's end and its
 * control bytes, and a word's end, for the parser (policy/rules.c). Every
 * mask below has its lowest set bit exact (a borrow of the subtractions only
 * runs above a true hit), so the first byte found is the first one there is;
 * loads stay inside [0, len). */
#ifndef KMS_POLICY_RULES_SCAN_H
#define KMS_POLICY_RULES_SCAN_H
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

/* The bytes of x (8 of a line, little-endian) that end a word: '#' and
 * those up to ' ' (a line that gets parsed has only tab and CR below it).
 * Each term's lowest set bit is exact (a borrow only runs above a true hit),
 * so the lowest bit of the sum is the first such byte. */
static inline uint64_t kms_scan_word_stops(uint64_t x)
{
    const uint64_t ones = 0x0101010101010101ull, high = 0x8080808080808080ull;
    uint64_t hash = x ^ (0x23 * ones);
    return (((x - 0x21 * ones) & ~x) | ((hash - ones) & ~hash)) & high;
}

/* Whether any of the 8 bytes in x is below 0x20 or is 0x7f (exact: the
 * borrows of these subtractions only reach bytes above a true hit). */
static inline uint64_t kms_scan_controls(uint64_t x)
{
    const uint64_t ones = 0x0101010101010101ull, high = 0x8080808080808080ull;
    uint64_t y = x ^ (0x7f * ones);
    return (((x - 0x20 * ones) & ~x) | ((y - ones) & ~y)) & high;
}

static inline int kms_scan_is_control(unsigned char ch) { return ch < 0x20 || ch == 0x7f; }

/* The end of the line at b[j..len) (its '\n', or len) and in *ctrl its first
 * control byte other than tab and CR (SIZE_MAX: none), in one pass of 8 bytes
 * a step: lines of a large rules file are scanned once, not byte by byte. */
static inline size_t kms_scan_line_end(const char *b, size_t j, size_t len, size_t *ctrl)
{
    *ctrl = SIZE_MAX;
    for (;;) {
        while (j + 8 <= len) {
            uint64_t x;
            memcpy(&x, b + j, 8);
            uint64_t m = kms_scan_controls(x);
            if (!m) {
                j += 8;
                continue;
            }
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
            j += (size_t)__builtin_ctzll(m) / 8; /* the first control byte */
            if (b[j] == '\n') return j;
#endif
            break;
        }
        size_t stop = j + 8 < len ? j + 8 : len;
        for (; j < stop; j++) {
            unsigned char ch = (unsigned char)b[j];
            if (!kms_scan_is_control(ch)) continue;
            if (ch == '\n') return j;
            if (ch != '\t' && ch != '\r' && *ctrl == SIZE_MAX) *ctrl = j;
        }
        if (j >= len) return len;
    }
}

/* The same for a KMEM_RULES rule, which also ends at ';'. */
static inline size_t kms_scan_rule_end(const char *b, size_t j, size_t len, size_t *ctrl)
{
    *ctrl = SIZE_MAX;
    for (; j < len && b[j] != ';' && b[j] != '\n'; j++) {
        unsigned char ch = (unsigned char)b[j];
        if (kms_scan_is_control(ch) && ch != '\t' && ch != '\r' && *ctrl == SIZE_MAX) *ctrl = j;
    }
    return j;
}

#if !defined(__SSE2__)
/* Bytes of x equal to v (lowest set bit exact, as in word_stops). */
static inline uint64_t kms_scan_bytes_eq(uint64_t x, unsigned char v)
{
    const uint64_t ones = 0x0101010101010101ull, high = 0x8080808080808080ull;
    uint64_t y = x ^ (v * ones);
    return (y - ones) & ~y & high;
}
#endif

/* Where the word at b[p..] ends: its first byte up to ' ', or '#', or len.
 * With colon: also the first ':' in it, and in *odd the first '/' or 0x7f
 * (SIZE_MAX or past the end: none). */
static inline size_t kms_scan_word_end(const char *b, size_t p, size_t len, size_t *colon,
                                       size_t *odd)
{
    size_t q = p;
    if (colon) *colon = *odd = SIZE_MAX;
#if defined(__SSE2__)
    /* 16 bytes a step, each test one exact bit per byte. */
    const __m128i space = _mm_set1_epi8(' '), hash = _mm_set1_epi8('#');
    for (; q + 16 <= len; q += 16) {
        __m128i x = _mm_loadu_si128((const __m128i *)(const void *)(b + q));
        __m128i stop =
            _mm_or_si128(_mm_cmpeq_epi8(_mm_min_epu8(x, space), x), _mm_cmpeq_epi8(x, hash));
        unsigned m = (unsigned)_mm_movemask_epi8(stop);
        if (colon) {
            unsigned cm = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(x, _mm_set1_epi8(':')));
            unsigned om = (unsigned)_mm_movemask_epi8(_mm_or_si128(
                _mm_cmpeq_epi8(x, _mm_set1_epi8('/')), _mm_cmpeq_epi8(x, _mm_set1_epi8(0x7f))));
            if (cm && *colon == SIZE_MAX) *colon = q + (size_t)__builtin_ctz(cm);
            if (om && *odd == SIZE_MAX) *odd = q + (size_t)__builtin_ctz(om);
        }
        if (m) return q + (size_t)__builtin_ctz(m);
    }
#elif __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    for (; q + 8 <= len; q += 8) {
        uint64_t x;
        memcpy(&x, b + q, 8);
        uint64_t m = kms_scan_word_stops(x);
        if (colon) {
            uint64_t cm = kms_scan_bytes_eq(x, ':'),
                     om = kms_scan_bytes_eq(x, '/') | kms_scan_bytes_eq(x, 0x7f);
            if (cm && *colon == SIZE_MAX) *colon = q + (size_t)__builtin_ctzll(cm) / 8;
            if (om && *odd == SIZE_MAX) *odd = q + (size_t)__builtin_ctzll(om) / 8;
        }
        if (m) return q + (size_t)__builtin_ctzll(m) / 8;
    }
#endif
    for (; q < len; q++) {
        unsigned char ch = (unsigned char)b[q];
        if (ch <= ' ' || ch == '#') break;
        if (!colon) continue;
        if (ch == ':' && *colon == SIZE_MAX) *colon = q;
        if ((ch == '/' || ch == 0x7f) && *odd == SIZE_MAX) *odd = q;
    }
    return q;
}

static inline size_t kms_scan_blanks(const char *b, size_t p, size_t len)
{
    while (p < len && (b[p] == ' ' || b[p] == '\t'))
        p++;
    return p;
}

#endif
