/* SPDX-License-Identifier: MIT */
/* dl_iterate_phdr, program_invocation_short_name (the build may define it already) */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include "core/callsite.h"

#include "core/elflibs.h"
#include "core/engine.h"
#include "core/fork.h"
#include "core/meta.h"

#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 35))
#include <dlfcn.h> /* _dl_find_object */
#define KMS_HAVE_DL_FIND_OBJECT 1
#else
#define KMS_HAVE_DL_FIND_OBJECT 0
#endif

struct sym {
    uint64_t value, size;
    uint32_t name; /* offset in the module's string pool */
    uint8_t rank;  /* binding preference: local 0, weak 1, global 2 */
};

struct module {
    struct module *next;
    uintptr_t base;
    char *key;        /* dlpi_name as the loader reports it ("" for the main program) */
    char *file;       /* what to open for the symbols */
    const char *name; /* basename */
    char *alt;        /* main program: the name it was started as, if different */
    int syms_loaded;
    struct sym *syms; /* sorted by value, then rank (preferred last) */
    uint64_t *maxend; /* maxend[i] = the largest value + size among syms[0..i] */
    size_t nsyms;
    char *strings;
};

/* The module list and symbol tables; its place among the shim's locks: core/fork.h. */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static void lock_callsites(void)
{
    kms_lock_order_take(KMS_LOCK_CALLSITES);
    pthread_mutex_lock(&lock);
}

static void unlock_callsites(void)
{
    pthread_mutex_unlock(&lock);
    kms_lock_order_drop(KMS_LOCK_CALLSITES);
}
static struct module *modules;
/* libelf's requests under the lock are bypassed (load_symbols), but a nested
 * lookup on the same thread must still not self-deadlock. */
static __thread int busy;

/* ---- finding the module ----------------------------------------------- */

struct find {
    uintptr_t addr;
    uintptr_t base;
    char name[512];
    int found;
};

#if !KMS_HAVE_DL_FIND_OBJECT
static int find_cb(struct dl_phdr_info *info, size_t size, void *data)
{
    struct find *f = data;
    (void)size;
    for (unsigned i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_LOAD) continue;
        uintptr_t lo = info->dlpi_addr + ph->p_vaddr;
        if (f->addr >= lo && f->addr - lo < ph->p_memsz) {
            f->base = info->dlpi_addr;
            snprintf(f->name, sizeof(f->name), "%s", info->dlpi_name ? info->dlpi_name : "");
            f->found = 1;
            return 1;
        }
    }
    return 0;
}
#endif

static const char *base_name(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

static void free_module(struct module *m)
{
    kms_meta_free(m->key);
    kms_meta_free(m->file);
    kms_meta_free(m->alt);
    kms_meta_free(m->syms);
    kms_meta_free(m->maxend);
    kms_meta_free(m->strings);
    kms_meta_free(m);
}

/* Called with the lock held; the loader was asked before, without it (see
 * module_of). */
static struct module *module_get(const struct find *f)
{
    for (struct module *m = modules; m; m = m->next)
        if (m->base == f->base && strcmp(m->key, f->name) == 0) return m;
    struct module *m = kms_meta_calloc(1, sizeof(*m));
    if (!m) return NULL;
    m->base = f->base;
    m->key = kms_meta_strdup(f->name);
    if (f->name[0]) {
        m->file = kms_meta_strdup(f->name);
        m->name = m->file ? base_name(m->file) : NULL;
    } else {
        /* The main program: /proc/self/exe names the real file (symbols are
         * read through it, so a replaced path does not matter). */
        char path[4096];
        ssize_t n = readlink("/proc/self/exe", path, sizeof(path) - 1);
        path[n > 0 ? n : 0] = '\0';
        static const char deleted[] = " (deleted)";
        size_t len = strlen(path), dl = sizeof(deleted) - 1;
        if (len > dl && strcmp(path + len - dl, deleted) == 0) path[len - dl] = '\0';
        m->file = kms_meta_strdup(path[0] ? path : "/proc/self/exe");
        if (m->file) {
            m->name = base_name(m->file);
            /* A symlink (python3 -> python3.11) makes the started name differ:
             * users may write either. */
            const char *started = program_invocation_short_name;
            if (started && *started && strcmp(started, m->name) != 0)
                m->alt = kms_meta_strdup(started);
        }
    }
    if (!m->key || !m->file || !m->name) {
        free_module(m);
        return NULL;
    }
    m->next = modules;
    modules = m;
    return m;
}

/* ---- symbols ---------------------------------------------------------- */

static int sym_cmp(const void *a, const void *b)
{
    const struct sym *x = a, *y = b;
    if (x->value != y->value) return x->value < y->value ? -1 : 1;
    if (x->rank != y->rank) return x->rank < y->rank ? -1 : 1;
    if (x->size != y->size) return x->size < y->size ? -1 : 1;
    return x->name < y->name ? -1 : x->name > y->name;
}

struct pool {
    char *buf;
    size_t len, cap;
};

static int pool_add(struct pool *p, const char *s, uint32_t *off)
{
    size_t n = strlen(s) + 1;
    if (p->len + n > UINT32_MAX) return -1;
    if (p->len + n > p->cap) {
        size_t cap = p->cap ? p->cap : 4096;
        while (cap < p->len + n)
            cap *= 2;
        char *b = kms_meta_realloc(p->buf, cap);
        if (!b) return -1;
        p->buf = b;
        p->cap = cap;
    }
    memcpy(p->buf + p->len, s, n);
    *off = (uint32_t)p->len;
    p->len += n;
    return 0;
}

static void read_symbols(const struct kms_libelf *E, Elf *e, struct pool *pool, struct sym **syms,
                         size_t *n, size_t *cap)
{
    Elf_Scn *scn = NULL;
    while ((scn = E->nextscn(e, scn)) != NULL) {
        GElf_Shdr sh;
        if (!E->getshdr(scn, &sh) || (sh.sh_type != SHT_SYMTAB && sh.sh_type != SHT_DYNSYM) ||
            sh.sh_entsize == 0)
            continue;
        Elf_Data *d = E->getdata(scn, NULL);
        if (!d) continue;
        size_t count = sh.sh_size / sh.sh_entsize;
        for (size_t i = 0; i < count; i++) {
            GElf_Sym s;
            if (!E->getsym(d, (int)i, &s)) break;
            int type = GELF_ST_TYPE(s.st_info), bind = GELF_ST_BIND(s.st_info);
            if ((type != STT_FUNC && type != STT_GNU_IFUNC) || s.st_shndx == SHN_UNDEF ||
                s.st_size == 0 || s.st_value == 0)
                continue;
            const char *name = E->strptr(e, sh.sh_link, s.st_name);
            if (!name || !*name) continue;
            if (*n == *cap) {
                size_t nc = *cap ? *cap * 2 : 256;
                struct sym *ns = kms_meta_realloc(*syms, nc * sizeof(*ns));
                if (!ns) return;
                *syms = ns;
                *cap = nc;
            }
            struct sym *out = &(*syms)[*n];
            if (pool_add(pool, name, &out->name) < 0) return;
            out->value = s.st_value;
            out->size = s.st_size;
            out->rank = bind == STB_GLOBAL ? 2 : bind == STB_WEAK ? 1 : 0;
            (*n)++;
        }
    }
}

/* With the lock held. A module whose file cannot be read (the vDSO, a deleted
 * library) simply has no symbols: offsets still match, function names do not. */
static void ensure_symbols(struct module *m)
{
    if (m->syms_loaded) return;
    m->syms_loaded = 1;
    const struct kms_libelf *E = kms_libelf(); /* loaded by load_symbols, outside the lock */
    if (!E) return;
    const char *path = m->key[0] ? m->file : "/proc/self/exe";
    /* A name without '/' (the vDSO's "linux-vdso.so.1") is no file: opening it
     * would read whatever the working directory holds under that name. */
    if (!strchr(path, '/')) return;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return;
    struct pool pool = {0};
    struct sym *syms = NULL;
    size_t n = 0, cap = 0;
    Elf *e = E->begin(fd, ELF_C_READ_MMAP, NULL);
    if (e && E->kind(e) == ELF_K_ELF) read_symbols(E, e, &pool, &syms, &n, &cap);
    if (e) E->end(e);
    close(fd);
    if (n == 0) {
        kms_meta_free(syms);
        kms_meta_free(pool.buf);
        return;
    }
    qsort(syms, n, sizeof(*syms), sym_cmp);
    /* .symtab and .dynsym both list the exported functions: keep one of each. */
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (k && syms[k - 1].value == syms[i].value && syms[k - 1].size == syms[i].size &&
            strcmp(pool.buf + syms[k - 1].name, pool.buf + syms[i].name) == 0) {
            if (syms[i].rank > syms[k - 1].rank) syms[k - 1].rank = syms[i].rank;
            continue;
        }
        syms[k++] = syms[i];
    }
    n = k;
    /* Dedup may have raised ranks: restore the order the search relies on. */
    qsort(syms, n, sizeof(*syms), sym_cmp);
    uint64_t *maxend = kms_meta_malloc(n * sizeof(*maxend));
    if (!maxend) {
        kms_meta_free(syms);
        kms_meta_free(pool.buf);
        return;
    }
    uint64_t hi = 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t end = syms[i].value + syms[i].size;
        hi = end > hi ? end : hi;
        maxend[i] = hi;
    }
    m->syms = syms;
    m->maxend = maxend;
    m->nsyms = n;
    m->strings = pool.buf;
}

/* Index just past the last symbol starting at or before key. */
static size_t upper_bound(const struct module *m, uint64_t key)
{
    size_t lo = 0, hi = m->nsyms;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (m->syms[mid].value <= key)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Symbols covering key, innermost first: walk down while some earlier symbol
 * may still reach key (maxend is a running maximum, so this stops early). */
static int each_covering(const struct module *m, size_t from, uint64_t key,
                         int (*fn)(const char *name, uint64_t value, void *arg), void *arg)
{
    for (size_t i = from; i-- > 0;) {
        if (m->maxend[i] <= key) break;
        const struct sym *s = &m->syms[i];
        if (key - s->value < s->size && fn(m->strings + s->name, s->value, arg)) return 1;
    }
    return 0;
}

struct first {
    const char *name;
    uint64_t value;
};

static int take_first(const char *name, uint64_t value, void *arg)
{
    struct first *f = arg;
    f->name = name;
    f->value = value;
    return 1;
}

struct each_name {
    int (*fn)(const char *name, void *arg);
    void *arg;
};

static int each_name_cb(const char *name, uint64_t value, void *arg)
{
    (void)value;
    const struct each_name *e = arg;
    return e->fn(name, e->arg);
}

/* ---- public ----------------------------------------------------------- */

/* The loader is asked without our lock: dl_iterate_phdr (without
 * _dl_find_object) holds the loader's lock during callbacks, and a callback
 * that mallocs would otherwise wait for us while we wait for it. */
static struct module *module_of(uintptr_t addr)
{
    struct find f = {.addr = addr};
#if KMS_HAVE_DL_FIND_OBJECT
    /* glibc 2.35+: lock-free. dl_iterate_phdr takes the loader's dl_load_write_lock,
     * which fork() does not reset in the child: a child forked while another thread
     * was in dlopen, dlclose or dl_iterate_phdr would wait forever on its first new
     * callsite. */
    struct dl_find_object dlfo;
    if (_dl_find_object((void *)addr, &dlfo) == 0 && dlfo.dlfo_link_map) {
        f.base = dlfo.dlfo_link_map->l_addr;
        snprintf(f.name, sizeof(f.name), "%s",
                 dlfo.dlfo_link_map->l_name ? dlfo.dlfo_link_map->l_name : "");
        f.found = 1;
    }
#else
    dl_iterate_phdr(find_cb, &f);
#endif
    if (!f.found) return NULL;
    lock_callsites();
    struct module *m = module_get(&f);
    unlock_callsites();
    return m;
}

static void load_symbols(struct module *m)
{
    /* libelf is opened on the first module whose symbols are wanted, and
     * without our lock: dlopen holds the loader's lock while the library's
     * constructors allocate, and a thread that allocated from a callsite
     * not seen before would wait for our lock while we wait for the loader. */
    (void)kms_libelf();
    struct kms_thread *self = &kms_self;
    kms_bypass_enter(self); /* libelf and qsort allocate through malloc */
    lock_callsites();
    ensure_symbols(m);
    unlock_callsites();
    kms_bypass_leave(self);
}

/* A callsite located but not looked up in the symbols (kms_callsite_locate). */
#define SYM_NOT_LOOKED_UP ((size_t)-1)

int kms_callsite_locate(uintptr_t addr, struct kms_callsite *cs)
{
    memset(cs, 0, sizeof(*cs));
    if (busy || addr == 0) return -1;
    busy = 1;
    struct module *m = module_of(addr);
    busy = 0;
    if (!m) return -1;
    cs->module = m->name;
    cs->module_alt = m->alt;
    cs->base = m->base;
    cs->offset = (uint64_t)(addr - m->base);
    cs->mod_ = m;
    cs->sym_ = SYM_NOT_LOOKED_UP;
    return 0;
}

int kms_callsite_resolve(uintptr_t addr, struct kms_callsite *cs)
{
    memset(cs, 0, sizeof(*cs));
    if (busy || addr == 0) return -1;
    busy = 1;
    struct module *m = module_of(addr);
    if (!m) {
        busy = 0;
        return -1;
    }
    load_symbols(m);
    busy = 0;
    cs->module = m->name;
    cs->module_alt = m->alt;
    cs->base = m->base;
    cs->offset = (uint64_t)(addr - m->base);
    cs->mod_ = m;
    /* A return address may be the first byte after a noreturn call's function. */
    uint64_t key = cs->offset ? cs->offset - 1 : 0;
    cs->sym_ = m->nsyms ? upper_bound(m, key) : 0;
    struct first f = {0};
    if (m->nsyms && each_covering(m, cs->sym_, key, take_first, &f)) {
        cs->func = f.name;
        cs->func_offset = cs->offset - f.value;
    }
    return 0;
}

int kms_callsite_each_symbol(const struct kms_callsite *cs, int (*fn)(const char *name, void *arg),
                             void *arg)
{
    const struct module *m = cs->mod_;
    if (!m || cs->sym_ == SYM_NOT_LOOKED_UP || !m->nsyms) return 0;
    uint64_t key = cs->offset ? cs->offset - 1 : 0;
    struct each_name e = {fn, arg};
    return each_covering(m, cs->sym_, key, each_name_cb, &e);
}

void kms_callsite_fork_prepare(void) { lock_callsites(); }
void kms_callsite_fork_parent(void) { unlock_callsites(); }
void kms_callsite_fork_child(void)
{
    pthread_mutex_init(&lock, NULL);
    kms_lock_order_drop(KMS_LOCK_CALLSITES);
}

void kms_callsite_reset(void)
{
    lock_callsites();
    struct module *m = modules;
    modules = NULL;
    unlock_callsites();
    while (m) {
        struct module *next = m->next;
        free_module(m);
        m = next;
    }
}
