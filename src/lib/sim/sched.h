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
/* Linux-like periodic load balancing of run queues (all-cpus, pin, dynamic, balance). */
void vn_sim_load_balance(struct vn_sim *s);
/* The dynamic scheduler's soft-affinity decision (balance/softaff.h). */
void vn_sim_policy(struct vn_sim *s);
/* vCPU vi's work phase ends: draw the next one's cost. */
void vn_sim_phase(struct vn_sim *s, int vi);

/* Settles running and waiting time up to now into the demand counters (dynamic, balance). */
void vn_sim_settle_demand(struct vn_sim *s);
/* Takes vCPU vi off the host for good (its VM left): off its CPU or queue, events voided. */
void vn_sim_vcpu_retire(struct vn_sim *s, int vi);
/* Moves the vCPUs of VM m's vnode k whose CPU their hard affinity no longer allows. */
void vn_sim_enforce_vnode(struct vn_sim *s, int m, int k);
/* One interval of vnumad's balancing policy, vn_bal_run (sched balance; bal.c). */
void vn_sim_bal_policy_tick(struct vn_sim *s);
/* A pending VM arrives (vm.c). */
void vn_sim_arrive(struct vn_sim *s, int i);
/* The placement request of a simulated VM (vm.c). */
void vn_sim_vm_spec(struct vn_sim_vm *vm, struct vn_vm_spec *spec);
/* Frees what VM vm holds and zeroes it (vm.c). */
void vn_sim_vm_free(struct vn_sim_vm *vm);
/* Rebuilds s->load from the claims of the VMs present (vm.c). */
void vn_sim_rebuild_load(struct vn_sim *s);

#endif
