/* libFuzzer harness for simulator scenarios: any bytes through the scenario parser; a
 * scenario that parses and is small is then built on a fixed 2-node host, simulated for a few
 * milliseconds and checked for conservation.  Seed corpus: sim/scenarios/. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sim/scenario.h"
#include "sim/sim.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Two nodes of 2 cores x 2 threads and 2 GiB. */
static const struct vn_host_topo *fixed_host(void)
{
    static struct vn_node nodes[2];
    static struct vn_cpu cpus[8];
    static int dist[4] = {10, 21, 21, 10};
    static struct vn_host_topo host;
    if (host.nnodes)
        return &host;
    for (int n = 0; n < 2; n++) {
        nodes[n] = (struct vn_node){.os_index = n, .package = n, .mem_mib = 2048, .free_mib = 2048};
        vn_bitmap_zero(&nodes[n].cpus);
        vn_bitmap_set_range(&nodes[n].cpus, 4 * n, 4 * n + 3);
    }
    for (int c = 0; c < 8; c++)
        cpus[c] = (struct vn_cpu){
            .os_index = c, .node = c / 4, .package = c / 4, .core = c / 2, .smt = c % 2};
    strcpy(host.name, "fuzz-2node");
    host.nodes = nodes;
    host.nnodes = 2;
    host.cpus = cpus;
    host.ncpus = 8;
    host.dist = dist;
    host.npackages = 2;
    return &host;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct vn_scenario *sc = calloc(1, sizeof *sc);
    struct vn_error err = {0};
    if (!sc)
        return 0;
    if (vn_scenario_parse((const char *)data, size, "fuzz.scn", sc, &err) == 0) {
        int vms = 0, vcpus = 0;
        for (int g = 0; g < sc->ngroups; g++)
            for (int pt = 0; pt < vn_scenario_npoints(sc); pt++) {
                vms += vn_scenario_count(sc, g, pt);
                vcpus += vn_scenario_count(sc, g, pt) * sc->groups[g].vcpus;
            }
        if (vms <= 16 && vcpus <= 64 && sc->params.epoch_ns >= 100000 &&
            sc->params.timeslice_ns >= 100000 && sc->params.balance_ns >= 100000 &&
            sc->params.policy_ns >= 100000) {
            struct vn_sim *s = vn_scenario_build(sc, fixed_host(), 0, 0, 1, &err);
            if (s) {
                vn_sim_run_until(s, 5000000);
                if (vn_sim_check(s, &err) < 0)
                    abort();
                vn_sim_free(s);
            }
        }
    }
    free(sc);
    return 0;
}
