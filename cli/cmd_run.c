/* SPDX-License-Identifier: MIT */
/* kmemshim run: sets the KMEM_* variables and LD_PRELOAD, then execs the
 * command. The library is looked for beside this executable (the build tree),
 * then in the install's private library directory relative to it, then where
 * it was installed, so a relocated install still finds its own copy. */
#include "cli/commands.h"
#include "core/size.h"
#include "policy/config.h"
#include "core/target.h"
#include "kms_version.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Both set by CMakeLists.txt from the install directories. */
#ifndef KMS_SHIMDIR_FROM_BINDIR
#define KMS_SHIMDIR_FROM_BINDIR "../lib/kmemshim"
#endif
#ifndef KMS_INSTALL_FULL_SHIMDIR
#define KMS_INSTALL_FULL_SHIMDIR "/usr/local/lib/kmemshim"
#endif

/* The SONAME, not the development symlink: a package installs only this name, and a
 * running child keeps a valid LD_PRELOAD when the library is upgraded under it. */
#define SHIM_NAME KMS_SONAME

static void usage(FILE *out)
{
    fprintf(out,
            "usage: kmemshim run [OPTIONS] -- COMMAND [ARGS...]\n"
            "\n"
            "Runs COMMAND with " SHIM_NAME " preloaded (an existing LD_PRELOAD is kept,\n"
            "after it) and the KMEM_* variables the options set. Without options the\n"
            "whole heap goes to KMEM, as with LD_PRELOAD=" SHIM_NAME " alone.\n"
            "\n"
            "  --policy P         KMEM_POLICY: dax_kmem, kmem_all, preferred, interleave\n"
            "                     or weighted_interleave (or memkind's names)\n"
            "  --threshold SIZE   KMEM_THRESHOLD: requests of at least SIZE go to kmem\n"
            "  --rules FILE       KMEMRC: a rules file (see kmemshim check)\n"
            "  --nodes LIST       KMEM_NODES: the KMEM nodes, such as 2,3 or 2-5\n"
            "  --stats[=PATH]     KMEM_STATS: a report at exit, on stderr or in PATH\n"
            "                     (%%p: the process id; a .json suffix: JSON)\n"
            "  --profile PATH     KMEM_PROFILE: a per-callsite profile at exit, the\n"
            "                     input of kmemshim suggest\n"
            "  --access           KMEM_ACCESS: add to the profile (and the --stats report)\n"
            "                     how much of each callsite's memory is touched per\n"
            "                     interval; slower, see kmemshim(7)\n"
            "  --interval MS      the sampling interval of --access or --dram-budget,\n"
            "                     %u to %u ms (default %u)\n"
            "  --dram-budget SIZE KMEM_DRAM_BUDGET: runtime tiering, no rules needed: the\n"
            "                     callsites touched most per byte keep their memory in\n"
            "                     DRAM up to SIZE, the rest moves to KMEM as heat moves\n"
            "  --timeline FILE    KMEM_TIMELINE: with --dram-budget, a row per interval\n"
            "                     and group (scripts/timeline-plot.sh draws it)\n"
            "  --library FILE     preload FILE instead of the " SHIM_NAME " found\n"
            "  -n, --dry-run      print the environment and command instead of running it\n"
            "  -h, --help         this text\n"
            "\n"
            "The library is found beside this program, else in %s/ relative to it,\n"
            "else in %s/.\n",
            KMS_ACCESS_MS_MIN, KMS_ACCESS_MS_MAX, KMS_ACCESS_MS_DEFAULT, KMS_SHIMDIR_FROM_BINDIR,
            KMS_INSTALL_FULL_SHIMDIR);
}

static int exists(const char *path) { return access(path, R_OK) == 0; }

/* Fills out with the library's path; returns 0, or -1 with every place tried in tried.
 * The directory is made absolute (LD_PRELOAD is read by every child, whatever its
 * working directory); the file name is kept, not resolved to the versioned file. */
static int find_library(char *out, size_t outlen, char *tried, size_t triedlen)
{
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    tried[0] = '\0';
    char dirs[3][PATH_MAX + 64];
    int nd = 0;
    if (n > 0) {
        exe[n] = '\0';
        char *slash = strrchr(exe, '/');
        if (slash) *slash = '\0';
        snprintf(dirs[nd++], sizeof(dirs[0]), "%s", exe);
        snprintf(dirs[nd++], sizeof(dirs[0]), "%s/" KMS_SHIMDIR_FROM_BINDIR, exe);
    }
    snprintf(dirs[nd++], sizeof(dirs[0]), "%s", KMS_INSTALL_FULL_SHIMDIR);
    for (int i = 0; i < nd; i++) {
        char path[PATH_MAX], dir[PATH_MAX];
        int w = snprintf(path, sizeof(path), "%s/" SHIM_NAME, dirs[i]);
        if (w > 0 && (size_t)w < sizeof(path) && exists(path)) {
            int o = realpath(dirs[i], dir) ? snprintf(out, outlen, "%s/" SHIM_NAME, dir) : -1;
            if (o < 0 || (size_t)o >= outlen) o = snprintf(out, outlen, "%s", path);
            return o > 0 && (size_t)o < outlen ? 0 : -1;
        }
        size_t used = strlen(tried);
        snprintf(tried + used, triedlen - used, "  %s\n", path);
    }
    return -1;
}

/* The same library under another name (libkmemshim.so, .so.0, .so.0.1.0, another path). */
static bool same_file(const char *a, const char *b)
{
    struct stat sa, sb;
    if (strcmp(a, b) == 0) return true;
    return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev &&
           sa.st_ino == sb.st_ino;
}

static int set(const char *var, const char *val)
{
    if (setenv(var, val, 1) < 0) {
        fprintf(stderr, "kmemshim run: cannot set %s: %s\n", var, strerror(errno));
        return -1;
    }
    return 0;
}

/* Returns the option's value (for --opt VALUE and --opt=VALUE), advancing *i.
 * A next word that starts with "--" (the end of the options, or another
 * option) is a missing value, not a file named "--": a path that starts so
 * can be given as --opt=--name or --opt ./--name. */
static const char *value(int argc, char **argv, int *i, const char *opt)
{
    size_t n = strlen(opt);
    if (strncmp(argv[*i], opt, n) == 0 && argv[*i][n] == '=') {
        if (argv[*i][n + 1]) return argv[*i] + n + 1;
        fprintf(stderr, "kmemshim run: %s needs a value, found '%s' (see --help)\n", opt, argv[*i]);
        exit(2);
    }
    if (strcmp(argv[*i], opt) == 0) {
        if (*i + 1 < argc && argv[*i + 1][0] && strncmp(argv[*i + 1], "--", 2) != 0) {
            (*i)++;
            return argv[*i];
        }
        if (*i + 1 < argc)
            fprintf(stderr, "kmemshim run: %s needs a value, found '%s' (see --help)\n", opt,
                    argv[*i + 1]);
        else
            fprintf(stderr, "kmemshim run: %s needs a value (see --help)\n", opt);
        exit(2);
    }
    return NULL;
}

int kms_cmd_run(int argc, char **argv)
{
    const char *policy = NULL, *threshold = NULL, *rules = NULL, *nodes = NULL, *stats = NULL,
               *profile = NULL, *library = NULL, *interval = NULL, *budget = NULL, *timeline = NULL;
    int dry = 0, access_mode = 0, i;
    for (i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        if (strcmp(a, "--") == 0) {
            i++;
            break;
        }
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage(stdout);
            return 0;
        } else if (strcmp(a, "-n") == 0 || strcmp(a, "--dry-run") == 0) {
            dry = 1;
        } else if (strcmp(a, "--access") == 0) {
            access_mode = 1;
        } else if (strcmp(a, "--stats") == 0) {
            stats = "stderr";
        } else if (strncmp(a, "--stats=", 8) == 0 && a[8]) {
            stats = a + 8;
        } else if ((v = value(argc, argv, &i, "--policy"))) {
            policy = v;
        } else if ((v = value(argc, argv, &i, "--threshold"))) {
            threshold = v;
        } else if ((v = value(argc, argv, &i, "--rules"))) {
            rules = v;
        } else if ((v = value(argc, argv, &i, "--nodes"))) {
            nodes = v;
        } else if ((v = value(argc, argv, &i, "--profile"))) {
            profile = v;
        } else if ((v = value(argc, argv, &i, "--interval"))) {
            interval = v;
        } else if ((v = value(argc, argv, &i, "--dram-budget"))) {
            budget = v;
        } else if ((v = value(argc, argv, &i, "--timeline"))) {
            timeline = v;
        } else if ((v = value(argc, argv, &i, "--library"))) {
            library = v;
        } else if (a[0] == '-') {
            fprintf(stderr, "kmemshim run: unknown option '%s' (see --help)\n", a);
            return 2;
        } else {
            break; /* the command, without "--" */
        }
    }
    if (i >= argc) {
        fprintf(stderr, "kmemshim run: no command to run (kmemshim run [OPTIONS] -- COMMAND)\n");
        return 2;
    }
    /* Values are checked here, where the message can name the option; the
     * library checks them again. */
    if (policy && kms_policy_parse(policy, strlen(policy)) == KMS_TARGET_INVALID) {
        fprintf(stderr, "kmemshim run: --policy '%s': expected %s\n", policy, KMS_POLICY_WORDS);
        return 2;
    }
    uint64_t sz;
    const char *why;
    if (threshold && kms_parse_size(threshold, strlen(threshold), &sz, &why) < 0) {
        fprintf(stderr, "kmemshim run: --threshold '%s': %s\n", threshold, why);
        return 2;
    }
    struct kms_nodeset ns;
    char nodes_why[128];
    if (nodes && kms_nodeset_parse(nodes, &ns, nodes_why, sizeof(nodes_why)) < 0) {
        fprintf(stderr, "kmemshim run: --nodes '%s': %s; expected a node list such as 2,3 or 2-5\n",
                nodes, nodes_why);
        return 2;
    }
    unsigned ms;
    if (interval && kms_access_interval_parse(interval, &ms) < 0) {
        fprintf(stderr, "kmemshim run: --interval '%s': expected milliseconds, %u to %u\n",
                interval, KMS_ACCESS_MS_MIN, KMS_ACCESS_MS_MAX);
        return 2;
    }
    if (budget && kms_parse_size(budget, strlen(budget), &sz, &why) < 0) {
        fprintf(stderr, "kmemshim run: --dram-budget '%s': %s\n", budget, why);
        return 2;
    }
    if (timeline && !budget) {
        fprintf(stderr, "kmemshim run: --timeline needs --dram-budget: it is runtime tiering's\n");
        return 2;
    }
    if (interval && !access_mode && !budget) {
        fprintf(stderr, "kmemshim run: --interval is the sampling interval of --access or "
                        "--dram-budget\n");
        return 2;
    }
    if (access_mode && !profile && !stats) {
        fprintf(stderr, "kmemshim run: --access needs --profile PATH or --stats: the access "
                        "figures are written there\n");
        return 2;
    }
    char access_ms[16];
    snprintf(access_ms, sizeof(access_ms), "%u", interval ? ms : KMS_ACCESS_MS_DEFAULT);
    if (rules && access(rules, R_OK) < 0) {
        fprintf(stderr, "kmemshim run: --rules '%s': %s\n", rules, strerror(errno));
        return 2;
    }
    char lib[PATH_MAX + 64], tried[4 * PATH_MAX];
    if (library) {
        if (!exists(library)) {
            fprintf(stderr, "kmemshim run: --library '%s': %s\n", library, strerror(errno));
            return 2;
        }
        if (!realpath(library, lib)) snprintf(lib, sizeof(lib), "%s", library);
    } else if (find_library(lib, sizeof(lib), tried, sizeof(tried)) < 0) {
        fprintf(stderr, "kmemshim run: cannot find " SHIM_NAME "; tried:\n%s", tried);
        return 127;
    }
    if ((policy && set("KMEM_POLICY", policy)) || (threshold && set("KMEM_THRESHOLD", threshold)) ||
        (rules && set("KMEMRC", rules)) || (nodes && set("KMEM_NODES", nodes)) ||
        (stats && set("KMEM_STATS", stats)) || (profile && set("KMEM_PROFILE", profile)) ||
        ((access_mode || budget) && set("KMEM_ACCESS", access_ms)) ||
        (budget && set("KMEM_DRAM_BUDGET", budget)) || (timeline && set("KMEM_TIMELINE", timeline)))
        return 1;
    /* Keep what is preloaded already, unless it is this library. The shim
     * goes first so that its malloc is the one every module binds to. */
    const char *old = getenv("LD_PRELOAD");
    size_t cap = strlen(lib) + (old ? strlen(old) : 0) + 2;
    char *pre = malloc(cap);
    if (!pre) return 1;
    snprintf(pre, cap, "%s", lib);
    if (old) {
        char *copy = strdup(old), *save = NULL;
        for (char *t = copy ? strtok_r(copy, ": ", &save) : NULL; t;
             t = strtok_r(NULL, ": ", &save)) {
            if (same_file(t, lib)) continue;
            strcat(pre, ":");
            strcat(pre, t);
        }
        free(copy);
    }
    if (set("LD_PRELOAD", pre)) return 1;
    if (dry) {
        static const char *const vars[] = {
            "LD_PRELOAD", "KMEM_POLICY",  "KMEM_THRESHOLD", "KMEMRC",           "KMEM_NODES",
            "KMEM_STATS", "KMEM_PROFILE", "KMEM_ACCESS",    "KMEM_DRAM_BUDGET", "KMEM_TIMELINE"};
        for (size_t k = 0; k < sizeof(vars) / sizeof(vars[0]); k++)
            if (getenv(vars[k])) printf("%s=%s\n", vars[k], getenv(vars[k]));
        for (int k = i; k < argc; k++)
            printf("%s%s", argv[k], k + 1 < argc ? " " : "\n");
        return 0;
    }
    execvp(argv[i], argv + i);
    fprintf(stderr, "kmemshim run: cannot run '%s': %s\n", argv[i], strerror(errno));
    return errno == ENOENT ? 127 : 126;
}
