/* SPDX-License-Identifier: MIT */
/* The three pieces of floating-point arithmetic the sampled statistics need
 * (the exponential distribution's draw and weight, rounding), computed here
 * rather than by libm: every process under the shim would otherwise load
 * libm at start-up (about 20,000 instructions of mapping and relocation) for
 * a feature most runs leave off. Relative error below 1e-7 on the ranges
 * used, far under the sampling's own noise. */
#ifndef KMS_CORE_EXPMATH_H
#define KMS_CORE_EXPMATH_H
#include <stdint.h>
#include <string.h>

#define KMS_LN2 0.69314718055994530942

/* -ln(u) for u in (0, 1]. */
static inline double kms_neg_log(double u)
{
    uint64_t bits;
    memcpy(&bits, &u, sizeof(bits));
    int e = (int)((bits >> 52) & 0x7ff) - 1023; /* u = m * 2^e, m in [1, 2) */
    bits = (bits & ((1ull << 52) - 1)) | (1023ull << 52);
    double m;
    memcpy(&m, &bits, sizeof(m));
    /* ln(m) = 2 atanh(t), t = (m - 1) / (m + 1) in [0, 1/3) */
    double t = (m - 1) / (m + 1), t2 = t * t;
    double s =
        t * (1 + t2 * (1.0 / 3 + t2 * (1.0 / 5 + t2 * (1.0 / 7 + t2 * (1.0 / 9 + t2 / 11)))));
    return -(e * KMS_LN2 + 2 * s);
}

/* 1 - e^(-x) for x >= 0, accurate for small x too (where 1 - exp(-x) is not). */
static inline double kms_one_minus_exp_neg(double x)
{
    if (x < 1e-3) return x * (1 - x * (0.5 - x * (1.0 / 6 - x * (1.0 / 24))));
    if (x > 40) return 1;
    /* e^(-x) = 2^-k * e^-r, r = x - k ln2 in [0, ln2) */
    int k = (int)(x / KMS_LN2);
    double r = x - k * KMS_LN2, term = 1, sum = 1;
    for (int i = 1; i <= 14; i++) {
        term *= -r / i;
        sum += term;
    }
    uint64_t bits = (uint64_t)(1023 - k) << 52; /* 2^-k, k <= 57 */
    double scale;
    memcpy(&scale, &bits, sizeof(scale));
    return 1 - sum * scale;
}

/* v rounded to the nearest integer, halves away from zero (as llround). */
static inline int64_t kms_round(double v)
{
    return v >= 0 ? (int64_t)(v + 0.5) : -(int64_t)(-v + 0.5);
}

#endif
