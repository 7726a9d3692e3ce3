/* SPDX-License-Identifier: MIT */
/* Which nodes are KMEM DAX: dax devices in system-ram mode whose memory is online. */
#ifndef KMS_CORE_KMEM_DETECT_H
#define KMS_CORE_KMEM_DETECT_H
#include "core/nodeset.h"

#include <stdbool.h>

/* Fills out with the target nodes of online system-ram dax devices. Returns the
 * number of devices found, or -1 when libdaxctl could not start (no error for a
 * machine without /sys/bus/dax: that is 0 devices). */
int kms_kmem_detect_daxctl(struct kms_nodeset *out, char *err, size_t errlen);

/* Whether sysfs under root ("" = the live /sys) lists any dax device, in the
 * directories libdaxctl walks (/sys/bus/dax/devices, /sys/class/dax): where it
 * lists none, libdaxctl would find none, and need not be opened to say so. */
bool kms_kmem_dax_listed(const char *root);

#endif
