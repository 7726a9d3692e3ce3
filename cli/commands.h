/* SPDX-License-Identifier: MIT */
/* Subcommands of the kmemshim command; each returns the exit status. */
#ifndef KMS_CLI_COMMANDS_H
#define KMS_CLI_COMMANDS_H

int kms_cmd_nodes(int argc, char **argv);
int kms_cmd_check(int argc, char **argv);
int kms_cmd_run(int argc, char **argv);
int kms_cmd_suggest(int argc, char **argv);

#endif
