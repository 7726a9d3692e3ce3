/* SPDX-License-Identifier: MIT */
/* policy/rules_scan.h as the build compiles it for the parser. */
#include "rules_scan_cases.h"

int main(void) { return run_scan_suite("rules_scan"); }
