/* Internal entry points between the simulator's engine (sim.c), its scheduling policies
 * (sched.c) and its VMs (vm.c). */
#ifndef VN_SIM_SCHED_H
#define VN_SIM_SCHED_H

#include "sim_int.h"

void vn_sim_push(struct vn_sim *s, int64_t t, int kind, int idx, uint64_t gen);
void vn_sim_rate(struct vn_sim *s, struct vn_sim_vcpu *v);
void vn_sim_accrue(struct vn_sim *s, struct vn_sim_vcpu *v);
/* Recomputes VM m's access shares per vnode from its pages. */
void vn_sim_vm_weights(struct vn_sim *s, int m);

/* Starts a new vCPU after delay_ns: always-running ones then, bursty ones at a random phase
 * after it; draws its first work phase. */
void vn_sim_start_vcpu(struct vn_sim *s, int vi, int64_t delay_ns);

/* Event handlers. */
void vn_sim_slice_end(struct vn_sim *s, int cpu);
void vn_sim_block(struct vn_sim *s, int vi);
void vn_sim_wake(struct vn_sim *s, int vi);
void vn_sim_balance(struct vn_sim *s);
void vn_sim_policy(struct vn_sim *s);
/* vCPU vi's work phase ends: draw the next one's cost. */
void vn_sim_phase(struct vn_sim *s, int vi);

#endif
