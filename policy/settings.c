/* SPDX-License-Identifier: MIT */
#include "policy/settings.h"

#include "core/size.h"
#include "core/target.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

const struct kms_setting kms_settings[KMS_SETTING_COUNT] = {
    [KMS_SETTING_POLICY] = {"policy", "KMEM_POLICY", "a policy (" KMS_POLICY_WORDS ")"},
    [KMS_SETTING_NODES] = {"nodes", "KMEM_NODES", "a node list such as 2,3 or 2-5"},
    [KMS_SETTING_THRESHOLD] = {"threshold", "KMEM_THRESHOLD", KMS_SIZE_WORDS},
    [KMS_SETTING_STATS] = {"stats", "KMEM_STATS", "stderr, 1 (stderr), 0 (no report) or a path"},
};

int kms_switch_parse(const char *v, size_t n)
{
    static const char *const on[] = {"1", "yes", "on", "true"};
    static const char *const off[] = {"0", "no", "off", "false"};
    for (int i = 0; i < 4; i++) {
        if (strlen(on[i]) == n && strncasecmp(v, on[i], n) == 0) return 1;
        if (strlen(off[i]) == n && strncasecmp(v, off[i], n) == 0) return 0;
    }
    return -1;
}

int kms_setting_parse(enum kms_setting_id id, const char *v, size_t n,
                      struct kms_setting_value *out, char *why, size_t whylen, size_t *bad)
{
    const char *reason = "";
    *bad = 0;
    if (whylen) why[0] = '\0';
    if (n == 0 && id != KMS_SETTING_NODES) { /* the node list parser says it itself */
        snprintf(why, whylen, "empty");
        return -1;
    }
    switch (id) {
    case KMS_SETTING_POLICY:
        out->policy = kms_policy_parse(v, n);
        if (out->policy == KMS_TARGET_INVALID) return -1;
        return 0;
    case KMS_SETTING_NODES: return kms_nodeset_parse_n(v, n, &out->nodes, bad, why, whylen);
    case KMS_SETTING_THRESHOLD:
        if (kms_parse_size(v, n, &out->size, &reason) == 0) return 0;
        snprintf(why, whylen, "%s", reason);
        return -1;
    case KMS_SETTING_STATS: {
        int sw = kms_switch_parse(v, n);
        out->report = sw == 0                                              ? KMS_REPORT_OFF
                      : sw == 1 || (n == 6 && memcmp(v, "stderr", 6) == 0) ? KMS_REPORT_STDERR
                                                                           : KMS_REPORT_PATH;
        return 0;
    }
    case KMS_SETTING_COUNT: break;
    }
    return -1;
}
