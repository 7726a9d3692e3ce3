/* SPDX-License-Identifier: MIT */
#include "core/elflibs.h"

#include "core/engine.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#define LIBELF_SONAME "libelf.so.1"
#define LIBDW_SONAME "libdw.so.1"

static struct kms_libelf elf_api;
static struct kms_libdw dw_api;
static const struct kms_libelf *elf_ok;
static const struct kms_libdw *dw_ok;
static pthread_once_t elf_once = PTHREAD_ONCE_INIT, dw_once = PTHREAD_ONCE_INIT;
static char error[256];

/* Fills n function pointers named by names from the library; 0 when all are there. */
static int load(const char *soname, const char *const *names, void **out, int n)
{
    /* RTLD_LOCAL: the program's own copy of elfutils, if it has one, stays its own. */
    void *h = dlopen(soname, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        const char *why = dlerror();
        snprintf(error, sizeof(error), "cannot load %s (elfutils): %s", soname, why ? why : "?");
        return -1;
    }
    for (int i = 0; i < n; i++) {
        out[i] = dlsym(h, names[i]);
        if (!out[i]) {
            snprintf(error, sizeof(error), "%s has no %s", soname, names[i]);
            dlclose(h);
            return -1;
        }
    }
    return 0;
}

static void load_elf(void)
{
    static const char *const names[] = {"elf_version", "elf_begin",    "elf_end",
                                        "elf_kind",    "elf_nextscn",  "elf_getdata",
                                        "elf_strptr",  "gelf_getshdr", "gelf_getsym"};
    void *f[sizeof(names) / sizeof(names[0])];
    _Static_assert(sizeof(f) == sizeof(elf_api), "one name per member of struct kms_libelf");
    if (load(LIBELF_SONAME, names, f, (int)(sizeof(names) / sizeof(names[0]))) < 0) return;
    memcpy(&elf_api, f, sizeof(elf_api));
    if (elf_api.version(EV_CURRENT) == EV_NONE) {
        snprintf(error, sizeof(error), "%s does not support this ELF version", LIBELF_SONAME);
        return;
    }
    __atomic_store_n(&elf_ok, &elf_api, __ATOMIC_RELEASE);
}

static void load_dw(void)
{
    static const char *const names[] = {"dwfl_begin",
                                        "dwfl_end",
                                        "dwfl_linux_proc_report",
                                        "dwfl_report_end",
                                        "dwfl_addrmodule",
                                        "dwfl_module_getsrc",
                                        "dwfl_lineinfo",
                                        "dwfl_linux_proc_find_elf",
                                        "dwfl_standard_find_debuginfo"};
    void *f[sizeof(names) / sizeof(names[0])];
    _Static_assert(sizeof(f) == sizeof(dw_api), "one name per member of struct kms_libdw");
    if (load(LIBDW_SONAME, names, f, (int)(sizeof(names) / sizeof(names[0]))) < 0) return;
    memcpy(&dw_api, f, sizeof(dw_api));
    __atomic_store_n(&dw_ok, &dw_api, __ATOMIC_RELEASE);
}

/* The library's table once loaded, loading it on the first call. */
static const void *loaded(const void *const *ok, pthread_once_t *once, void (*load_fn)(void))
{
    const void *p = __atomic_load_n(ok, __ATOMIC_ACQUIRE);
    if (p) return p;
    kms_bypass_enter(&kms_self); /* dlopen allocates through malloc */
    pthread_once(once, load_fn);
    kms_bypass_leave(&kms_self);
    return __atomic_load_n(ok, __ATOMIC_ACQUIRE);
}

const struct kms_libelf *kms_libelf(void)
{
    return loaded((const void *const *)&elf_ok, &elf_once, load_elf);
}

const struct kms_libdw *kms_libdw(void)
{
    return loaded((const void *const *)&dw_ok, &dw_once, load_dw);
}

const char *kms_elflibs_error(void) { return error; }
