/* The fault hook of the fault matrix (docs/RELIABILITY.md).
 *
 * Each named step of a multi-step operation calls vn_fault_point("op.step").  When the
 * environment names that step in VNUMA_FAULT, the process kills itself there with SIGKILL, as
 * a crash or an operator's kill -9 would, so tests can check what the next command finds.
 * VNUMA_FAULT=STEP:stop stops it there instead (SIGSTOP), so that a test can act at that very
 * moment (kill QEMU, fill a disk) and then let it go on with SIGCONT.
 * Unset (the normal case) it costs one getenv. */
#ifndef VN_FAULT_H
#define VN_FAULT_H

/* SIGKILLs the calling process when $VNUMA_FAULT equals step; SIGSTOPs it when it equals
 * "step:stop". */
void vn_fault_point(const char *step);

#endif
