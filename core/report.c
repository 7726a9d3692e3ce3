/* SPDX-License-Identifier: MIT */
#include "core/report.h"

#include "core/access.h"
#include "core/callsite.h"
#include "core/cold.h"
#include "core/engine.h"
#include "core/report_writers.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char stats_path[PATH_MAX] KMS_COLD;   /* "stderr", a path pattern, or "" */
static char profile_path[PATH_MAX] KMS_COLD; /* a path pattern, or "" */
static bool profile_announce;                /* print the profile's name once written */
static bool uses[KMS_TARGET_COUNT];
/* A copy of standard error taken at start-up: programs may close stderr in
 * their own exit handlers (coreutils' close_stdout does), which run first. */
static int stderr_copy = -1;

int kms_report_expand_path(const char *pattern, long pid, char *out, size_t outlen)
{
    size_t o = 0;
    int total = 0;
    for (const char *s = pattern; *s; s++) {
        char buf[32];
        const char *piece = buf;
        if (s[0] == '%' && s[1] == 'p') {
            snprintf(buf, sizeof(buf), "%ld", pid);
            s++;
        } else if (s[0] == '%' && s[1] == '%') {
            buf[0] = '%', buf[1] = '\0';
            s++;
        } else {
            buf[0] = *s, buf[1] = '\0';
        }
        for (; *piece; piece++, total++)
            if (o + 1 < outlen) out[o++] = *piece;
    }
    if (outlen) out[o < outlen ? o : outlen - 1] = '\0';
    return total;
}

/* what: "report" (KMEM_STATS) or "profile" (KMEM_PROFILE), for the warning. */
static FILE *open_report(const char *pattern, const char *what, char *path, size_t pathlen,
                         bool *close_it)
{
    *close_it = false;
    if (strcmp(pattern, "stderr") == 0) {
        snprintf(path, pathlen, "stderr");
        int fd = stderr_copy >= 0 ? dup(stderr_copy) : -1;
        FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
        if (!f) {
            if (fd >= 0) close(fd);
            return stderr;
        }
        *close_it = true;
        return f;
    }
    kms_report_expand_path(pattern, (long)getpid(), path, pathlen);
    FILE *f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "kmemshim: warning: cannot write the %s to %s: %s\n", what, path,
                strerror(errno));
        return NULL;
    }
    *close_it = true;
    return f;
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

int kms_report_route_width(const bool shown[KMS_TARGET_COUNT])
{
    int width = 10;
    for (int r = 0; r < KMS_TARGET_COUNT; r++)
        if (shown[r] && (int)strlen(kms_target_name(r)) > width)
            width = (int)strlen(kms_target_name(r));
    return width;
}

void kms_report_routes_of(uint16_t mask, char *buf, size_t len)
{
    size_t o = 0;
    buf[0] = '\0';
    for (int r = 0; r < KMS_TARGET_COUNT; r++)
        if (mask & (1u << r))
            o += (size_t)snprintf(buf + o, o < len ? len - o : 0, "%s%s", o ? "," : "",
                                  kms_target_name(r));
    if (!buf[0]) snprintf(buf, len, "-");
}

static void name_address(uintptr_t addr, char *where, size_t wlen, char *symbol, size_t slen)
{
    struct kms_callsite cs;
    if (kms_callsite_resolve(addr, &cs) < 0 || !cs.module) {
        snprintf(where, wlen, "0x%" PRIxPTR, addr);
    } else {
        snprintf(where, wlen, "%s+0x%" PRIx64, cs.module, cs.offset);
        if (cs.func) snprintf(symbol, slen, "%s+0x%" PRIx64, cs.func, cs.func_offset);
    }
}

void kms_report_site_name(uint32_t id, uintptr_t addr, uintptr_t parent, const struct kms_libdw *D,
                          Dwfl *dwfl, struct kms_site_name *out)
{
    memset(out, 0, sizeof(*out));
    if (id == 0) {
        snprintf(out->where, sizeof(out->where), "(other callsites)");
        return;
    }
    name_address(addr, out->where, sizeof(out->where), out->symbol, sizeof(out->symbol));
    if (parent)
        name_address(parent, out->parent_where, sizeof(out->parent_where), out->parent_symbol,
                     sizeof(out->parent_symbol));
    if (dwfl) {
        /* The call instruction, not the return address: the line of the call. */
        Dwarf_Addr a = (Dwarf_Addr)addr - 1;
        Dwfl_Module *m = D->addrmodule(dwfl, a);
        Dwfl_Line *l = m ? D->module_getsrc(m, a) : NULL;
        int lineno = 0;
        const char *file = l ? D->lineinfo(l, NULL, &lineno, NULL, NULL, NULL) : NULL;
        if (file) snprintf(out->source, sizeof(out->source), "%s:%d", file, lineno);
    }
}

Dwfl *kms_report_dwfl_open(const struct kms_libdw *D)
{
    if (!D) return NULL;
    static Dwfl_Callbacks cb;
    cb.find_elf = D->linux_proc_find_elf;
    cb.find_debuginfo = D->standard_find_debuginfo;
    Dwfl *d = D->begin(&cb);
    if (!d) return NULL;
    if (D->linux_proc_report(d, getpid()) != 0 || D->report_end(d, NULL, NULL) != 0) {
        D->end(d);
        return NULL;
    }
    return d;
}

void kms_report_write(void)
{
    if (!stats_path[0] && !profile_path[0]) return;
    kms_bypass_enter(&kms_self);
    int saved = errno;
    struct kms_stats_snapshot snap;
    kms_access_finish(); /* the last sample, before anything is written */
    /* Not from a signal handler inside the statistics' locked part. */
    if (kms_stats_snapshot(&snap)) {
        char path[PATH_MAX + 32];
        bool close_it;
        FILE *f;
        if (stats_path[0] &&
            (f = open_report(stats_path, "report", path, sizeof(path), &close_it))) {
            kms_report_write_stats(f, ends_with(path, ".json"), &snap, uses);
            if (close_it)
                fclose(f);
            else
                fflush(f);
        }
        if (profile_path[0] &&
            (f = open_report(profile_path, "profile", path, sizeof(path), &close_it))) {
            kms_report_write_profile(f, &snap);
            if (close_it)
                fclose(f);
            else
                fflush(f);
            if (profile_announce)
                dprintf(stderr_copy >= 0 ? stderr_copy : STDERR_FILENO,
                        "kmemshim: profile written to %s\n", path);
        }
        kms_stats_snapshot_free(&snap);
    }
    errno = saved;
    kms_bypass_leave(&kms_self);
}

static void at_exit(void) { kms_report_write(); }

void kms_report_setup(const char *stats, const char *profile, bool announce_profile,
                      const bool uses_[KMS_TARGET_COUNT])
{
    if (!stats && !profile) return;
    snprintf(stats_path, sizeof(stats_path), "%s", stats ? stats : "");
    snprintf(profile_path, sizeof(profile_path), "%s", profile ? profile : "");
    profile_announce = profile && announce_profile;
    memcpy(uses, uses_, sizeof(uses));
    if (strcmp(stats_path, "stderr") == 0 || profile_announce)
        stderr_copy = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 3);
    /* Registered before main: runs after the program's own atexit handlers. */
    atexit(at_exit);
}
