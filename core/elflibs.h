/* SPDX-License-Identifier: MIT */
/* libelf and libdw (elfutils), opened with dlopen when a feature needs them
 * instead of being linked: a preloaded library is mapped into every process
 * it runs in, and these two bring libz, liblzma and libbz2 along, about
 * 1.5 MiB of memory and five libraries per process, for callsite rules and
 * reports that most runs do not use. Start-up opens them when the
 * configuration asks for those features, so the allocation path never calls
 * dlopen in a normal run. */
#ifndef KMS_CORE_ELFLIBS_H
#define KMS_CORE_ELFLIBS_H
#include <elfutils/libdwfl.h>
#include <gelf.h>
#include <libelf.h>

struct kms_libelf {
    __typeof__(elf_version) *version;
    __typeof__(elf_begin) *begin;
    __typeof__(elf_end) *end;
    __typeof__(elf_kind) *kind;
    __typeof__(elf_nextscn) *nextscn;
    __typeof__(elf_getdata) *getdata;
    __typeof__(elf_strptr) *strptr;
    __typeof__(gelf_getshdr) *getshdr;
    __typeof__(gelf_getsym) *getsym;
};

struct kms_libdw {
    __typeof__(dwfl_begin) *begin;
    __typeof__(dwfl_end) *end;
    __typeof__(dwfl_linux_proc_report) *linux_proc_report;
    __typeof__(dwfl_report_end) *report_end;
    __typeof__(dwfl_addrmodule) *addrmodule;
    __typeof__(dwfl_module_getsrc) *module_getsrc;
    __typeof__(dwfl_lineinfo) *lineinfo;
    __typeof__(dwfl_linux_proc_find_elf) *linux_proc_find_elf;
    __typeof__(dwfl_standard_find_debuginfo) *standard_find_debuginfo;
};

/* The functions, loaded at the first call (once per process; later calls are
 * one load); NULL when the library or one of its functions is missing, and
 * kms_elflibs_error() says what. */
const struct kms_libelf *kms_libelf(void);
const struct kms_libdw *kms_libdw(void);
const char *kms_elflibs_error(void);

#endif
