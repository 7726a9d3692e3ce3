/* From configuration to a plan: reads the topology, finds the KMEM nodes
 * (configured, or through libdaxctl), checks the kernel accepts the policies
 * and computes the node sets. Shared by the preloaded start-up and the command. */
#ifndef KMS_POLICY_SETUP_H
#define KMS_POLICY_SETUP_H
#include "core/placement.h"
#include "core/topology.h"
#include "policy/config.h"

struct kms_setup {
    struct kms_topology topo;
    struct kms_plan plan;
    struct kms_nodeset kmem;
    int kmem_source; /* enum kms_nodes_source */
    bool numa_ok;    /* topology read, mbind permitted */
    bool have_preferred_many;
    char warning[768]; /* one line, or empty: the shim degrades to DRAM */
    char error[768];   /* one line: the program must stop */
};

/* uses_preferred: the configuration can route to `preferred` (a tie the
 * kernel cannot express is then an error). Returns 0, or -1 with s->error. */
int kms_setup_run(const struct kms_config *c, bool uses_preferred, struct kms_setup *s);
/* Same, with a topology given as `numactl -H` text instead of the live one. */
int kms_setup_run_text(const struct kms_config *c, bool uses_preferred, const char *topo_text,
                       struct kms_setup *s);
void kms_setup_free(struct kms_setup *s);

#endif
