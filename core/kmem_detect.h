/* SPDX-License-Identifier: MIT */
/* Which nodes are KMEM DAX: dax devices in system-ram mode whose memory is online. */
#ifndef KMS_CORE_KMEM_DETECT_H
#define KMS_CORE_KMEM_DETECT_H
#include "core/nodeset.h"

/* Fills out with the target nodes of online system-ram dax devices. Returns the
 * number of devices found, or -1 when libdaxctl could not start (no error for a
 * machine without /sys/bus/dax: that is 0 devices). */
int kms_kmem_detect_daxctl(struct kms_nodeset *out, char *err, size_t errlen);

#endif
