/* SPDX-License-Identifier: MIT */
/* policy/rules_scan.h's portable variant (8 bytes a step), which x86-64
 * builds of the parser do not use, so that it is tested somewhere. */
#undef __SSE2__
#include "rules_scan_cases.h"

int main(void) { return run_scan_suite("rules_scan_swar"); }
