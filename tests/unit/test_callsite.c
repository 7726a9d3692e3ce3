/* SPDX-License-Identifier: MIT */
/* Callsite resolution and caller patterns against real code: functions of this
 * (unstripped) test program, global and static, a library linked at start-up,
 * libc, and a library opened with dlopen after start-up. */
#include "policy/callsite_match.h"
#include "policy/rules.h"

#include <check.h>
#include <dlfcn.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>

/* A function that stays itself: not inlined, cloned or folded with a look-alike. */
#ifdef __clang__
#define KMS_SITE __attribute__((noinline))
#else
#define KMS_SITE __attribute__((noipa))
#endif

void *kms_cslib_site(void); /* tests/unit/callsite/lib.c */

KMS_SITE static void *return_address(void) { return __builtin_return_address(0); }

/* Each site returns a return address inside itself, as malloc would see it. */
KMS_SITE void *kms_test_global_fn(void)
{
    void *p = return_address();
    /* Keeps the call from becoming a tail jump, which would return into the caller. */
    __asm__ volatile("" ::: "memory");
    return p;
}

/* A second name for the same code: either name matches. */
void *kms_test_alias_fn(void) __attribute__((alias("kms_test_global_fn")));

KMS_SITE static void *static_site_fn(void)
{
    void *p = return_address();
    __asm__ volatile("" ::: "memory");
    return p;
}

/* One rule from its text, in KMEM_RULES syntax. */
static struct kms_ruleset rule(const char *text)
{
    struct kms_ruleset rs;
    kms_ruleset_init(&rs);
    kms_rules_parse(&rs, text, strlen(text), "KMEM_RULES", KMS_RULES_ENV);
    ck_assert_msg(rs.nerrors == 0 && rs.count == 1, "%s: %s", text,
                  rs.nerrors ? rs.errors[0] : "no rule");
    return rs;
}

/* Matches a resolved callsite, and checks that a callsite only located (no
 * symbols read) gives the same answer wherever no function name is needed,
 * and matches no rule that names one. */
static int matches(const char *pattern, void *addr)
{
    char text[512];
    snprintf(text, sizeof(text), "route kmem caller %s", pattern);
    struct kms_ruleset rs = rule(text);
    const struct kms_rule *r = &rs.rules[0];
    struct kms_callsite cs, loc;
    kms_callsite_resolve((uintptr_t)addr, &cs);
    int resolved = kms_callsite_matches(r, &cs);
    kms_callsite_locate((uintptr_t)addr, &loc);
    int located = kms_callsite_matches(r, &loc);
    bool names_function = r->caller_kind == KMS_CALLER_SYMBOL && strcmp(r->func_glob, "*") != 0;
    ck_assert_msg(located == (names_function ? 0 : resolved), "%s: located %d, resolved %d",
                  pattern, located, resolved);
    kms_ruleset_free(&rs);
    return resolved;
}

static int matches_offset(const char *module, void *addr, long delta)
{
    struct kms_callsite cs;
    ck_assert_int_eq(kms_callsite_resolve((uintptr_t)addr, &cs), 0);
    char pattern[300];
    snprintf(pattern, sizeof(pattern), "%s+0x%llx", module,
             (unsigned long long)(cs.offset + (uint64_t)delta));
    return matches(pattern, addr);
}

START_TEST(global_function)
{
    void *a = kms_test_global_fn();
    struct kms_callsite cs;
    ck_assert_int_eq(kms_callsite_resolve((uintptr_t)a, &cs), 0);
    ck_assert_str_eq(cs.module, "test_callsite");
    ck_assert_ptr_nonnull(cs.func);
    /* The alias and the function start at the same address: the global one
     * of the two is reported (both are global; either is right). */
    ck_assert_msg(strcmp(cs.func, "kms_test_global_fn") == 0 ||
                      strcmp(cs.func, "kms_test_alias_fn") == 0,
                  "func %s", cs.func);
    ck_assert_uint_gt(cs.func_offset, 0);
    ck_assert_uint_eq(cs.offset, (uintptr_t)a - cs.base);
    ck_assert_uint_eq((uintptr_t)kms_test_global_fn - cs.base + cs.func_offset, cs.offset);

    ck_assert(matches("test_callsite:kms_test_global_fn", a));
    ck_assert(matches("test_callsite:kms_test_alias_fn", a));
    ck_assert(matches("test_call?ite:kms_test_g*", a));
    ck_assert(matches("*:kms_test_global_fn", a));
    ck_assert(matches("test_callsite:*", a));
    ck_assert(matches("*:*", a));
    ck_assert(matches("*:*global*", a));
    ck_assert(!matches("test_callsite:kms_test_global", a));
    ck_assert(!matches("test_callsite:static_site_fn", a));
    ck_assert(!matches("libc.so.6:kms_test_global_fn", a));
    ck_assert(!matches("test_callsit:*", a));
    /* The call instruction, not the return address, decides the function:
     * the function's own first byte is some other function's end + 1. */
    ck_assert(!matches("test_callsite:kms_test_global_fn", (void *)kms_test_global_fn));
}
END_TEST

START_TEST(static_function)
{
    void *a = static_site_fn();
    struct kms_callsite cs;
    ck_assert_int_eq(kms_callsite_resolve((uintptr_t)a, &cs), 0);
    ck_assert_str_eq(cs.module, "test_callsite");
    ck_assert_ptr_nonnull(cs.func);
    ck_assert_str_eq(cs.func, "static_site_fn"); /* only in .symtab */
    ck_assert(matches("test_callsite:static_site_fn", a));
    ck_assert(matches("*:static_*", a));
    ck_assert(!matches("*:kms_test_global_fn", a));
}
END_TEST

START_TEST(offsets)
{
    void *a = kms_test_global_fn();
    ck_assert(matches_offset("test_callsite", a, 0));
    ck_assert(matches_offset("*", a, 0));
    ck_assert(matches_offset("test_*", a, 0));
    ck_assert(!matches_offset("test_callsite", a, 1));
    ck_assert(!matches_offset("test_callsite", a, -1));
    ck_assert(!matches_offset("libc.so.6", a, 0));

    /* The profile's form, accepted back by a rule. */
    struct kms_callsite cs;
    kms_callsite_resolve((uintptr_t)a, &cs);
    char text[300];
    snprintf(text, sizeof(text), "%s+0x%llx", cs.module, (unsigned long long)cs.offset);
    ck_assert_str_eq(cs.module, "test_callsite");
    ck_assert(matches(text, a));
}
END_TEST

START_TEST(shared_library)
{
    void *a = kms_cslib_site();
    struct kms_callsite cs;
    ck_assert_int_eq(kms_callsite_resolve((uintptr_t)a, &cs), 0);
    ck_assert_str_eq(cs.module, "libkms_cslib.so");
    ck_assert_str_eq(cs.func, "kms_cslib_site");
    ck_assert(matches("libkms_cslib.so:kms_cslib_site", a));
    ck_assert(matches("libkms_cslib*:kms_*", a));
    ck_assert(!matches("test_callsite:kms_cslib_site", a));
    ck_assert(matches_offset("libkms_cslib.so", a, 0));
}
END_TEST

static void *qsort_caller;

static int compare(const void *x, const void *y)
{
    qsort_caller = __builtin_return_address(0);
    return *(const int *)x - *(const int *)y;
}

START_TEST(libc)
{
    /* qsort calls compare: the return address is inside libc. */
    int v[] = {3, 1, 2};
    qsort(v, 3, sizeof(v[0]), compare);
    void *a = qsort_caller;
    struct kms_callsite cs;
    ck_assert_int_eq(kms_callsite_resolve((uintptr_t)a, &cs), 0);
    ck_assert_str_eq(cs.module, "libc.so.6");
    ck_assert(matches("libc.so.6:*", a));
    ck_assert(matches("libc.so.?:*", a));
    ck_assert(!matches("test_callsite:*", a));
    ck_assert(matches_offset("libc.so.6", a, 0));
}
END_TEST

START_TEST(dlopened_library)
{
    char pattern[] = "libkms_csdl.so:kms_csdl_site";
    for (int round = 0; round < 2; round++) {
        /* Opened (again) after start-up and after earlier lookups. */
        void *h = dlopen(KMS_CSDL_PATH, RTLD_NOW | RTLD_LOCAL);
        ck_assert_msg(h != NULL, "%s", dlerror());
        void *(*site)(void) = (void *(*)(void))dlsym(h, "kms_csdl_site");
        void *(*(*static_ptr)(void))(void) =
            (void *(*(*)(void))(void))dlsym(h, "kms_csdl_static_ptr");
        ck_assert_ptr_nonnull(site);
        ck_assert_ptr_nonnull(static_ptr);
        void *a = site();
        struct kms_callsite cs;
        ck_assert_int_eq(kms_callsite_resolve((uintptr_t)a, &cs), 0);
        ck_assert_str_eq(cs.module, "libkms_csdl.so");
        ck_assert_str_eq(cs.func, "kms_csdl_site");
        ck_assert(matches(pattern, a));
        ck_assert(matches("*:kms_csdl_*", a));
        ck_assert(!matches("libkms_cslib.so:*", a));
        ck_assert(matches_offset("libkms_csdl.so", a, 0));
        /* A static function of the library, from its .symtab. */
        void *b = static_ptr()();
        ck_assert(matches("libkms_csdl.so:kms_csdl_static_site", b));
        ck_assert(!matches(pattern, b));
        dlclose(h);
    }
}
END_TEST

START_TEST(unresolvable)
{
    struct kms_callsite cs;
    void *heap = malloc(64);
    ck_assert_int_eq(kms_callsite_resolve(0, &cs), -1);
    ck_assert_ptr_null(cs.module);
    ck_assert_int_eq(kms_callsite_resolve((uintptr_t)heap, &cs), -1);
    ck_assert(!matches("*:*", heap));
    ck_assert(!matches("*+0x0", heap));
    free(heap);

    /* A rule without a caller condition matches any frame. */
    struct kms_ruleset rs = rule("route kmem size >= 1M");
    ck_assert(kms_callsite_matches(&rs.rules[0], &cs));
    kms_ruleset_free(&rs);

    /* The vDSO has no file to read: its offsets match, its names do not. */
    uintptr_t vdso = getauxval(AT_SYSINFO_EHDR);
    if (vdso) {
        ck_assert_int_eq(kms_callsite_resolve(vdso + 16, &cs), 0);
        ck_assert_str_eq(cs.module, "linux-vdso.so.1");
        ck_assert_ptr_null(cs.func);
        ck_assert(matches("linux-vdso.so.1:*", (void *)(vdso + 16)));
        ck_assert(!matches("linux-vdso.so.1:__vdso_*", (void *)(vdso + 16)));
        ck_assert(matches_offset("linux-vdso.so.1", (void *)(vdso + 16), 0));
    }
}
END_TEST

static void *racer(void *arg)
{
    struct kms_ruleset *rs = arg;
    void *sites[] = {kms_test_global_fn(), static_site_fn(), kms_cslib_site()};
    int want[] = {1, 0, 0};
    for (int i = 0; i < 2000; i++) {
        int k = i % 3;
        struct kms_callsite cs;
        if (kms_callsite_resolve((uintptr_t)sites[k], &cs) != 0 ||
            kms_callsite_matches(&rs->rules[0], &cs) != want[k])
            return (void *)1;
    }
    return NULL;
}

START_TEST(threads)
{
    /* Fresh caches, so the threads race to create modules and read symbols. */
    kms_callsite_reset();
    struct kms_ruleset rs = rule("route kmem caller test_callsite:kms_test_global_fn");
    pthread_t t[8];
    for (int i = 0; i < 8; i++)
        ck_assert_int_eq(pthread_create(&t[i], NULL, racer, &rs), 0);
    for (int i = 0; i < 8; i++) {
        void *ret;
        pthread_join(t[i], &ret);
        ck_assert_ptr_null(ret);
    }
    kms_ruleset_free(&rs);
    kms_callsite_reset();
}
END_TEST

START_TEST(fork_hooks)
{
    /* The engine's atfork handlers call these; the child must resolve normally. */
    kms_callsite_fork_prepare();
    kms_callsite_fork_parent();
    kms_callsite_fork_prepare();
    kms_callsite_fork_child();
    ck_assert(matches("test_callsite:kms_test_global_fn", kms_test_global_fn()));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("callsite");
    TCase *tc = tcase_create("resolve");
    tcase_add_test(tc, global_function);
    tcase_add_test(tc, static_function);
    tcase_add_test(tc, offsets);
    tcase_add_test(tc, shared_library);
    tcase_add_test(tc, libc);
    tcase_add_test(tc, dlopened_library);
    tcase_add_test(tc, unresolvable);
    tcase_add_test(tc, threads);
    tcase_add_test(tc, fork_hooks);
    tcase_set_timeout(tc, 60);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
