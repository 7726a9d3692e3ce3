/* SPDX-License-Identifier: MIT */
/* The shim's own records (core/meta.h): every size class and the blocks past them, contents
 * kept across realloc, zeroing, overflow, reuse, threads handing records to each other, and
 * fork while other threads make records. */
#include "core/meta.h"

#include "core/check.h"

#include <check.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* Under AddressSanitizer the C library's allocator serves the records (core/meta.h): what
 * is checked there is the contract, not how the shim's own chunks place blocks. */
static const bool own_chunks = !KMS_ASAN;

static void fill(unsigned char *p, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (unsigned char)(seed + i * 7);
}

static int holds(const unsigned char *p, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != (unsigned char)(seed + i * 7)) return 0;
    return 1;
}

static const size_t sizes[] = {0,    1,    8,     15,    16,    17,    100,   1024,   1025,    4095,
                               4096, 8191, 16383, 16384, 16385, 65472, 65473, 100000, 1u << 20};

START_TEST(every_size_is_usable_and_distinct)
{
    enum { N = sizeof(sizes) / sizeof(sizes[0]) };
    unsigned char *p[N][3];
    for (unsigned i = 0; i < N; i++)
        for (unsigned k = 0; k < 3; k++) {
            p[i][k] = kms_meta_malloc(sizes[i]);
            ck_assert_ptr_nonnull(p[i][k]);
            ck_assert_uint_eq((uintptr_t)p[i][k] % 16, 0);
            fill(p[i][k], sizes[i], i * 3 + k);
        }
    for (unsigned i = 0; i < N; i++)
        for (unsigned k = 0; k < 3; k++) {
            ck_assert_msg(holds(p[i][k], sizes[i], i * 3 + k), "block %u of %zu bytes", k,
                          sizes[i]);
            kms_meta_free(p[i][k]);
        }
    kms_meta_free(NULL);
}
END_TEST

START_TEST(realloc_keeps_the_contents_both_ways)
{
    unsigned char *p = kms_meta_realloc(NULL, 10);
    ck_assert_ptr_nonnull(p);
    fill(p, 10, 1);
    size_t have = 10;
    /* Up through every class into blocks of their own, then down again. */
    for (size_t n = 24; n <= (1u << 20); n = n * 3 / 2) {
        p = kms_meta_realloc(p, n);
        ck_assert_ptr_nonnull(p);
        ck_assert(holds(p, have, 1));
        fill(p, n, 1);
        have = n;
    }
    for (size_t n = have; n >= 8; n /= 3) {
        p = kms_meta_realloc(p, n);
        ck_assert_ptr_nonnull(p);
        ck_assert(holds(p, n, 1));
    }
    /* Within its block it stays where it is. */
    unsigned char *q = kms_meta_malloc(100);
    unsigned char *r = kms_meta_realloc(q, 120);
    ck_assert_ptr_nonnull(r);
    if (own_chunks) ck_assert_ptr_eq(r, q);
    kms_meta_free(r);
    kms_meta_free(p);
}
END_TEST

START_TEST(calloc_zeroes_reused_blocks_and_refuses_overflow)
{
    for (unsigned i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        unsigned char *p = kms_meta_malloc(sizes[i]);
        ck_assert_ptr_nonnull(p);
        memset(p, 0xa5, sizes[i]);
        kms_meta_free(p);
        unsigned char *z = kms_meta_calloc(1, sizes[i]);
        ck_assert_ptr_nonnull(z);
        for (size_t k = 0; k < sizes[i]; k++)
            ck_assert_msg(z[k] == 0, "byte %zu of %zu", k, sizes[i]);
        kms_meta_free(z);
    }
    ck_assert_ptr_null(kms_meta_calloc(SIZE_MAX / 2, 3));
    unsigned char *keep = kms_meta_malloc(32);
    ck_assert_ptr_null(kms_meta_reallocarray(keep, SIZE_MAX / 4, 8));
    fill(keep, 32, 9);
    ck_assert(holds(keep, 32, 9));
    kms_meta_free(keep);
    ck_assert_ptr_null(kms_meta_malloc(SIZE_MAX - 8));
    ck_assert_ptr_null(kms_meta_realloc(NULL, SIZE_MAX / 2 + 1));
}
END_TEST

START_TEST(a_freed_block_is_reused)
{
    if (!own_chunks) return;
    void *a = kms_meta_malloc(200);
    kms_meta_free(a);
    void *b = kms_meta_malloc(250); /* the same class, 256 bytes */
    ck_assert_ptr_eq(a, b);
    kms_meta_free(b);
}
END_TEST

START_TEST(strdup_and_strndup)
{
    char *s = kms_meta_strdup("kmemshim");
    ck_assert_str_eq(s, "kmemshim");
    char *t = kms_meta_strndup("kmemshim", 4);
    ck_assert_str_eq(t, "kmem");
    char *u = kms_meta_strndup("km", 10);
    ck_assert_str_eq(u, "km");
    kms_meta_free(s), kms_meta_free(t), kms_meta_free(u);
}
END_TEST

/* Threads make records, hand half of them to the next thread, which checks and frees them. */
enum { THREADS = 4, ROUNDS = 2000, HAND = 16 };
static unsigned char *handed[THREADS][HAND];
static size_t handed_len[THREADS][HAND];
static pthread_barrier_t barrier;

static void *worker(void *arg)
{
    unsigned id = (unsigned)(uintptr_t)arg;
    uint64_t x = 0x9e3779b97f4a7c15ull * (id + 1);
    for (unsigned r = 0; r < ROUNDS; r++) {
        unsigned char *mine[HAND];
        size_t len[HAND];
        for (unsigned k = 0; k < HAND; k++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            len[k] = (size_t)(x % 40000);
            mine[k] = kms_meta_malloc(len[k]);
            ck_assert_ptr_nonnull(mine[k]);
            fill(mine[k], len[k], id + k);
        }
        for (unsigned k = 0; k < HAND; k++)
            handed[id][k] = mine[k], handed_len[id][k] = len[k];
        pthread_barrier_wait(&barrier);
        unsigned from = (id + 1) % THREADS;
        for (unsigned k = 0; k < HAND; k++) {
            ck_assert(holds(handed[from][k], handed_len[from][k], from + k));
            kms_meta_free(handed[from][k]);
        }
        pthread_barrier_wait(&barrier);
    }
    return NULL;
}

START_TEST(threads_hand_records_to_each_other)
{
    pthread_t t[THREADS];
    pthread_barrier_init(&barrier, NULL, THREADS);
    for (unsigned i = 0; i < THREADS; i++)
        ck_assert_int_eq(pthread_create(&t[i], NULL, worker, (void *)(uintptr_t)i), 0);
    for (unsigned i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    pthread_barrier_destroy(&barrier);
}
END_TEST

static volatile int stop;
static void *churn(void *arg)
{
    (void)arg;
    while (!stop) {
        void *p = kms_meta_malloc(48);
        void *q = kms_meta_calloc(3, 700);
        kms_meta_free(p);
        kms_meta_free(q);
    }
    return NULL;
}

/* What the preloaded library's fork handlers do (core/fork.c): the records' lock held across
 * fork, so that a child finds it free whatever the other threads were doing. */
static void prepare(void) { kms_meta_fork_prepare(); }
static void parent(void) { kms_meta_fork_parent(); }
static void child(void) { kms_meta_fork_child(); }

START_TEST(fork_while_other_threads_make_records)
{
    pthread_atfork(prepare, parent, child);
    pthread_t t[2];
    for (int i = 0; i < 2; i++)
        ck_assert_int_eq(pthread_create(&t[i], NULL, churn, NULL), 0);
    /* Under ASan every fork copies the shadow memory's page tables, and the C library's
     * allocator is the one tested: fewer forks keep the test inside its time there. */
    int forks = own_chunks ? 200 : 40;
    for (int i = 0; i < forks; i++) {
        pid_t pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
            alarm(10); /* a lock left held would hang here */
            void *p = kms_meta_malloc(48);
            char *s = kms_meta_strdup("child");
            /* The classes work in the child: two small blocks share a 64 KiB chunk (each
             * had a mapping of its own if the child still counted as the lock's holder),
             * and a freed block is the next one of its class. */
            void *q = kms_meta_malloc(48);
            int same_chunk = ((uintptr_t)p ^ (uintptr_t)q) < 65536;
            kms_meta_free(p);
            void *again = kms_meta_malloc(40);
            bool placed = !own_chunks || (same_chunk && again == p);
            _exit(p && s && strcmp(s, "child") == 0 && placed ? 0 : 1);
        }
        int status;
        ck_assert_int_eq(waitpid(pid, &status, 0), pid);
        ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child %d: status %#x", i,
                      status);
    }
    stop = 1;
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("meta");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, every_size_is_usable_and_distinct);
    tcase_add_test(tc, realloc_keeps_the_contents_both_ways);
    tcase_add_test(tc, calloc_zeroes_reused_blocks_and_refuses_overflow);
    tcase_add_test(tc, a_freed_block_is_reused);
    tcase_add_test(tc, strdup_and_strndup);
    tcase_add_test(tc, threads_hand_records_to_each_other);
    tcase_add_test(tc, fork_while_other_threads_make_records);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
