/* SPDX-License-Identifier: MIT */
/* kmemshim: the command-line companion of libkmemshim.so. */
#include "cli/commands.h"
#include "kms_version.h"

#include <stdio.h>
#include <string.h>

static const struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *what;
} commands[] = {
    {"nodes", kms_cmd_nodes, "topology, KMEM nodes and the node set of each policy"},
    {"check", kms_cmd_check, "validate a rules file (KMEMRC) and/or KMEM_RULES"},
    {"run", kms_cmd_run, "run a command under the shim (sets LD_PRELOAD and KMEM_*)"},
    {"suggest", kms_cmd_suggest, "a rules file from a KMEM_PROFILE profile and a DRAM budget"},
};

static void usage(FILE *out)
{
    fprintf(out, "usage: kmemshim COMMAND [ARGS...]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        fprintf(out, "  %-8s %s\n", commands[i].name, commands[i].what);
    fprintf(out, "\n'kmemshim COMMAND --help' describes a command; man kmemshim(1) and\n"
                 "kmemshim(7) describe the command and the library. kmemshim --version\n"
                 "prints the version.\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0) {
        printf("kmemshim " KMS_VERSION "\n");
        return 0;
    }
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        if (strcmp(argv[1], commands[i].name) == 0) return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "kmemshim: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
