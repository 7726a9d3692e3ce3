/* SPDX-License-Identifier: MIT */
/* kms_callsite: allocates from one callsite per pattern form of the callsite rules and
 * checks with move_pages(2) on which NUMA node every page of every block landed, and with
 * /proc/self/numa_maps the kernel policy of each block's mapping. Run under the shim with rules
 * (KMEMRC or KMEM_RULES) that name each form's function; guest/callsite.sh is the VM test.
 *
 * Usage: kms_callsite [cpu=N] FORM=SET[=RULE]...
 *   cpu=N  pin the process to CPU N first
 *   FORM   which callsite allocates (the list below); each form allocates three blocks (sizes
 *          in the table below), memsets them whole and keeps them until the end
 *   SET    the node set every page of each block must be on, e.g. 2-3 or 0,1; the mapping of
 *          each block must have the kernel policy "bind:SET" (numa_maps writes the set as a
 *          list of ranges, as in "bind:2-3": kmem_all and dram are bound routes)
 *   RULE   the rule text that is meant to route FORM (printed in the table, not interpreted)
 *
 * Forms (function that calls the allocator; module = where that function lives):
 *   global          cs_global, a global function of this executable
 *   static          cs_static, a static one (in .symtab only)
 *   any_module      cs_any_module (for a `*:FUNCTION` rule)
 *   glob            cs_glob_target (for a rule with globs on both sides)
 *   offset          cs_offset (for a `MODULE+0xOFFSET` rule: the return address of its call to
 *                   malloc, which the test reads from the binary with objdump)
 *   shared          cs_shared_alloc of libcallsite_shared.so, linked at start-up
 *   dlopen          cs_dl_alloc of libcallsite_dl.so, opened with dlopen
 *   cxx_new         callsite_cxx_new: new char[n] (the caller of operator new[])
 *   cxx_vector      callsite_cxx_vector: std::vector<char>(n) (operator new from vector code)
 *   wrapper         via_wrapper -> xmalloc -> malloc (for a rule with `depth 2`)
 *   wrapper_other   via_other_wrapper -> xmalloc -> malloc (not named by the depth rule)
 *   calloc realloc posix_memalign   cs_calloc, cs_realloc (grows a block cs_plain made),
 * cs_memalign sized_big       cs_sized with 1 MiB and 2 MiB blocks  (for `size >= 512K caller ...`)
 *   sized_small     cs_sized with 64 KiB and 256 KiB blocks
 *   plain           cs_plain, which no rule names
 * Other forms allocate 48 KiB, 256 KiB and 1 MiB blocks.
 *
 * Prints one row per form: placement on the expected set, pages per node, the mapping's policy,
 * the rule. Exit status: 0 every form placed as expected, 1 a form did not, 2 bad usage, 3 an
 * allocation or move_pages failed. The program's own bookkeeping is static: the blocks are the
 * only requests it makes (stdio and libnuma make a few small ones, from their own callsites).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "callsite_prog.h" /* tests/preload: CS_KEEP and the library functions */
#include "nodemask.h"

#include <dlfcn.h>
#include <errno.h>
#include <numa.h>
#include <numaif.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef KMS_CALLSITE_DL
#define KMS_CALLSITE_DL "libcallsite_dl.so"
#endif

#define MAX_NODES 64
#define MAX_FORMS 32
#define BLOCKS 3
#define CHUNK 4096 /* pages per move_pages call */

static void *touch(void *p, size_t n)
{
    if (p) memset(p, 0x5a, n);
    return p;
}

/* ---- the callsites ------------------------------------------------------------------------ */

CS_KEEP void *cs_global(size_t n) { return touch(malloc(n), n); }
static CS_KEEP void *cs_static(size_t n) { return touch(malloc(n), n); }
CS_KEEP void *cs_any_module(size_t n) { return touch(malloc(n), n); }
CS_KEEP void *cs_glob_target(size_t n) { return touch(malloc(n), n); }
CS_KEEP void *cs_offset(size_t n) { return touch(malloc(n), n); }
CS_KEEP void *cs_plain(size_t n) { return touch(malloc(n), n); }
CS_KEEP void *cs_sized(size_t n) { return touch(malloc(n), n); }
CS_KEEP void *cs_calloc(size_t n) { return touch(calloc(1, n), n); }
CS_KEEP void *cs_realloc(void *old, size_t n) { return touch(realloc(old, n), n); }
CS_KEEP void *cs_memalign(size_t n)
{
    void *p = NULL;
    return posix_memalign(&p, 4096, n) == 0 ? touch(p, n) : NULL;
}

/* An allocation wrapper and two functions that call it: a `depth 2` rule sees the caller. */
CS_KEEP void *xmalloc(size_t n)
{
    void *p = malloc(n);
    if (!p) {
        fprintf(stderr, "kms_callsite: xmalloc(%zu) failed\n", n);
        exit(3);
    }
    return touch(p, n);
}
CS_KEEP void *via_wrapper(size_t n) { return touch(xmalloc(n), n); }
CS_KEEP void *via_other_wrapper(size_t n) { return touch(xmalloc(n), n); }

static void *(*dl_alloc_fn)(size_t);

static void *dl_alloc(size_t n)
{
    if (!dl_alloc_fn) {
        void *h = dlopen(KMS_CALLSITE_DL, RTLD_NOW | RTLD_LOCAL);
        if (!h) {
            fprintf(stderr, "kms_callsite: dlopen %s: %s\n", KMS_CALLSITE_DL, dlerror());
            exit(3);
        }
        dl_alloc_fn = (void *(*)(size_t))dlsym(h, "cs_dl_alloc");
        if (!dl_alloc_fn) {
            fprintf(stderr, "kms_callsite: no cs_dl_alloc in %s\n", KMS_CALLSITE_DL);
            exit(3);
        }
    }
    return dl_alloc_fn(n);
}

static const char *const form_names[] = {
    "global",  "static",         "any_module", "glob",        "offset",        "shared",
    "dlopen",  "cxx_new",        "cxx_vector", "wrapper",     "wrapper_other", "calloc",
    "realloc", "posix_memalign", "sized_big",  "sized_small", "plain",
};
#define NFORM_NAMES (sizeof(form_names) / sizeof(form_names[0]))

static const size_t default_sizes[BLOCKS] = {48 << 10, 256 << 10, 1 << 20};
static const size_t big_sizes[BLOCKS] = {1 << 20, 2 << 20, 1 << 20};
static const size_t small_sizes[BLOCKS] = {64 << 10, 256 << 10, 100 << 10};

/* Allocates one block of n bytes from form f's callsite. */
static void *make(unsigned f, size_t n)
{
    const char *name = form_names[f];
    if (!strcmp(name, "global")) return cs_global(n);
    if (!strcmp(name, "static")) return cs_static(n);
    if (!strcmp(name, "any_module")) return cs_any_module(n);
    if (!strcmp(name, "glob")) return cs_glob_target(n);
    if (!strcmp(name, "offset")) return cs_offset(n);
    if (!strcmp(name, "shared")) return cs_shared_alloc(n);
    if (!strcmp(name, "dlopen")) return dl_alloc(n);
    if (!strcmp(name, "cxx_new")) return callsite_cxx_new(n);
    if (!strcmp(name, "cxx_vector")) return callsite_cxx_vector(n);
    if (!strcmp(name, "wrapper")) return via_wrapper(n);
    if (!strcmp(name, "wrapper_other")) return via_other_wrapper(n);
    if (!strcmp(name, "calloc")) return cs_calloc(n);
    if (!strcmp(name, "realloc"))
        return cs_realloc(cs_plain(64), n); /* moves to the matched route */
    if (!strcmp(name, "posix_memalign")) return cs_memalign(n);
    if (!strcmp(name, "sized_big") || !strcmp(name, "sized_small")) return cs_sized(n);
    if (!strcmp(name, "plain")) return cs_plain(n);
    return NULL;
}

/* ---- checking ------------------------------------------------------------------------------ */

struct form {
    unsigned id;  /* index into form_names */
    uint64_t set; /* expected nodes */
    const char *rule;
    void *block[BLOCKS];
    size_t size[BLOCKS];
    size_t counts[MAX_NODES + 1]; /* pages per node; [MAX_NODES] = not placed */
    size_t on, total;
    char policy[BLOCKS][64]; /* of each block's mapping */
    int ok;
};

static struct form forms[MAX_FORMS];
static int nforms;
static long page_size;
static int max_node;

static void usage(const char *msg, const char *arg)
{
    fprintf(stderr, "kms_callsite: %s: '%s' (see the comment at the top of kms_callsite.c)\n", msg,
            arg);
    exit(2);
}

/* "2-3", "0,1", "4": a node mask (the shim's own parser). */
static uint64_t parse_set(const char *s, size_t len, const char *arg)
{
    uint64_t set;
    char why[96];
    if (kms_nodemask_parse(s, len, &set, why, sizeof(why)) < 0) usage(why, arg);
    return set;
}

/* The set as the kernel lists it in numa_maps: ranges of two or more as "a-b", joined by ",". */
static void set_list(uint64_t set, char *buf, size_t len)
{
    size_t o = 0;
    buf[0] = '\0';
    for (int n = 0; n < MAX_NODES; n++) {
        if (!(set & (1ull << n))) continue;
        int m = n;
        while (m + 1 < MAX_NODES && (set & (1ull << (m + 1))))
            m++;
        o += (size_t)snprintf(buf + o, o < len ? len - o : 0, m > n ? "%s%d-%d" : "%s%d",
                              o ? "," : "", n, m);
        n = m;
    }
}

/* The set for people: every node, "{2,3}". */
static void set_braces(uint64_t set, char *buf, size_t len)
{
    size_t o = (size_t)snprintf(buf, len, "{");
    for (int n = 0; n < MAX_NODES && o < len; n++)
        if (set & (1ull << n)) o += (size_t)snprintf(buf + o, len - o, "%s%d", o > 1 ? "," : "", n);
    if (o < len) snprintf(buf + o, len - o, "}");
}

/* The policy word of the numa_maps line of the mapping that holds p ("bind:2-3", "default"). */
static void mapping_policy(const void *p, char *out, size_t len)
{
    char line[1024];
    uintptr_t addr = (uintptr_t)p, best = 0;
    snprintf(out, len, "(no mapping)");
    FILE *f = fopen("/proc/self/numa_maps", "r");
    if (!f) {
        perror("kms_callsite: /proc/self/numa_maps");
        exit(3);
    }
    /* In increasing address order: the mapping is the last one starting at or below addr. */
    while (fgets(line, sizeof line, f)) {
        char *end;
        uintptr_t start = (uintptr_t)strtoull(line, &end, 16);
        if (start <= addr && start >= best) {
            best = start;
            snprintf(out, len, "%.*s", (int)strcspn(end + 1, " \n"), end + 1);
        }
    }
    fclose(f);
}

static void count_pages(struct form *fm)
{
    static void *pages[CHUNK];
    static int status[CHUNK];
    size_t n = 0;
    for (int b = 0; b < BLOCKS; b++) {
        uintptr_t pg = (uintptr_t)fm->block[b] & ~(uintptr_t)(page_size - 1);
        uintptr_t end = (uintptr_t)fm->block[b] + fm->size[b];
        for (;; pg += (uintptr_t)page_size) {
            if (pg < end) {
                pages[n++] = (void *)pg;
                fm->total++;
            }
            if (n == CHUNK || (pg >= end && n > 0)) {
                if (move_pages(0, n, pages, NULL, status, 0) != 0) {
                    perror("kms_callsite: move_pages");
                    exit(3);
                }
                for (size_t i = 0; i < n; i++)
                    fm->counts[status[i] >= 0 && status[i] < MAX_NODES ? status[i] : MAX_NODES]++;
                n = 0;
            }
            if (pg >= end) break;
        }
    }
    for (int i = 0; i < MAX_NODES; i++)
        if (fm->set & (1ull << i)) fm->on += fm->counts[i];
}

static void pin(const char *arg)
{
    int cpu = atoi(arg + 4);
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    if (sched_setaffinity(0, sizeof set, &set) != 0) {
        fprintf(stderr, "kms_callsite: sched_setaffinity(cpu %d): %s\n", cpu, strerror(errno));
        exit(2);
    }
    for (int i = 0; i < 1000 && sched_getcpu() != cpu; i++)
        sched_yield();
    if (sched_getcpu() != cpu) {
        fprintf(stderr, "kms_callsite: still on cpu %d after pinning to %d\n", sched_getcpu(), cpu);
        exit(2);
    }
}

int main(int argc, char **argv)
{
    int failures = 0;
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc < 2) usage("no forms", "");
    if (numa_available() < 0) {
        fprintf(stderr, "kms_callsite: no NUMA support in this kernel\n");
        return 2;
    }
    page_size = sysconf(_SC_PAGESIZE);
    max_node = numa_max_node();
    const char *pre = getenv("LD_PRELOAD");

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strncmp(a, "cpu=", 4)) {
            pin(a);
            continue;
        }
        const char *eq = strchr(a, '=');
        if (!eq) usage("not FORM=SET[=RULE]", a);
        if (nforms == MAX_FORMS) usage("too many forms", a);
        struct form *fm = &forms[nforms];
        unsigned f;
        for (f = 0; f < NFORM_NAMES; f++)
            if (strlen(form_names[f]) == (size_t)(eq - a) &&
                !strncmp(a, form_names[f], (size_t)(eq - a)))
                break;
        if (f == NFORM_NAMES) usage("unknown form", a);
        const char *eq2 = strchr(eq + 1, '=');
        fm->id = f;
        fm->set = parse_set(eq + 1, eq2 ? (size_t)(eq2 - eq - 1) : strlen(eq + 1), a);
        fm->rule = eq2 ? eq2 + 1 : "";
        nforms++;
    }
    printf("kms_callsite: pid %d on cpu %d (node %d), LD_PRELOAD=%s KMEM_NODES=%s\n", (int)getpid(),
           sched_getcpu(), numa_node_of_cpu(sched_getcpu()), pre ? pre : "",
           getenv("KMEM_NODES") ? getenv("KMEM_NODES") : "");

    /* Every block first, then the checks: the blocks of later forms must not move earlier ones. */
    for (int i = 0; i < nforms; i++) {
        struct form *fm = &forms[i];
        const char *name = form_names[fm->id];
        const size_t *sizes = !strcmp(name, "sized_big")     ? big_sizes
                              : !strcmp(name, "sized_small") ? small_sizes
                                                             : default_sizes;
        for (int b = 0; b < BLOCKS; b++) {
            fm->size[b] = sizes[b];
            fm->block[b] = make(fm->id, sizes[b]);
            if (!fm->block[b]) {
                fprintf(stderr, "kms_callsite: %s: allocation of %zu bytes failed\n", name,
                        sizes[b]);
                return 3;
            }
        }
    }

    for (int i = 0; i < nforms; i++) {
        struct form *fm = &forms[i];
        char want[160], list[128], nodes[256] = "", placed[200], expect[160];
        size_t o = 0;
        count_pages(fm);
        set_list(fm->set, list, sizeof list);
        snprintf(want, sizeof want, "bind:%s", list);
        fm->ok = fm->total > 0 && fm->on == fm->total;
        for (int b = 0; b < BLOCKS; b++) {
            mapping_policy(fm->block[b], fm->policy[b], sizeof fm->policy[b]);
            if (strcmp(fm->policy[b], want) != 0) fm->ok = 0;
        }
        for (int n = 0; n <= max_node && n < MAX_NODES; n++)
            o += (size_t)snprintf(nodes + o, sizeof nodes - o, "%sN%d=%zu", n ? " " : "", n,
                                  fm->counts[n]);
        if (fm->counts[MAX_NODES])
            snprintf(nodes + o, sizeof nodes - o, " unplaced=%zu", fm->counts[MAX_NODES]);
        set_braces(fm->set, expect, sizeof expect);
        snprintf(placed, sizeof placed, "placement %zu/%zu pages on %s", fm->on, fm->total, expect);
        if (i == 0)
            printf("kms_callsite: %-6s %-14s %-34s %-30s %-26s %s\n", "result", "form",
                   "pages on the expected set", "pages per node", "mapping (3 blocks)", "rule");
        char pols[200];
        if (!strcmp(fm->policy[0], fm->policy[1]) && !strcmp(fm->policy[0], fm->policy[2]))
            snprintf(pols, sizeof pols, "%s", fm->policy[0]);
        else
            snprintf(pols, sizeof pols, "%s,%s,%s", fm->policy[0], fm->policy[1], fm->policy[2]);
        printf("kms_callsite: %-6s %-14s %-34s %-30s %-26s %s\n", fm->ok ? "ok" : "FAILED",
               form_names[fm->id], placed, nodes, pols, fm->rule);
        failures += !fm->ok;
    }
    printf("kms_callsite: %d of %d forms placed as expected%s\n", nforms - failures, nforms,
           failures ? ": FAILED" : "");
    return failures ? 1 : 0;
}
