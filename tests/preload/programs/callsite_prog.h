/* SPDX-License-Identifier: MIT */
/* Shared between the callsite test program and its libraries. */
#ifndef KMS_TEST_CALLSITE_PROG_H
#define KMS_TEST_CALLSITE_PROG_H
#include <stddef.h>

/* Kept out of line and out of interprocedural analysis, so every allocation
 * has the caller the rules name (no inlining, cloning or identical-code folding). */
#if defined(__clang__)
#define CS_KEEP __attribute__((noinline, used, optnone))
#else
#define CS_KEEP __attribute__((noinline, noipa, used))
#endif

#ifdef __cplusplus
extern "C" {
#endif
void *cs_shared_alloc(size_t n);     /* libcallsite_shared.so, linked at start-up */
void *cs_dl_alloc(size_t n);         /* libcallsite_dl.so, dlopen-ed */
void *callsite_cxx_new(size_t n);    /* callsite_cxx.cc: new char[n] */
void *callsite_cxx_vector(size_t n); /* callsite_cxx.cc: std::vector<char>(n), kept alive */
#ifdef __cplusplus
}
#endif
#endif
