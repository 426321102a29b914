/* Residency by sampling: how much of an address range of a process sits on each host node,
 * estimated from K pages queried with move_pages(2) in query mode (nodes = NULL), in one call
 * whose cost does not grow with the range.
 *
 * The K pages are stratified: the range is cut into K equal strata and one page is drawn at
 * random in each.  For every node the share p = hits/K is an unbiased estimate of the node's
 * share of the range's pages, and its 95% confidence half-width is at most the binomial one,
 * 1.96 * sqrt(p (1 - p) / K) (stratification only lowers the variance; it is lowest when the
 * node's pages are contiguous, as after mbind of halves).  With the worst case p = 1/2,
 * K = 2401 bounds every share to +-2%.  When K reaches the page count every page is queried
 * and the result is exact.
 *
 * Shares are of the whole range: pages never touched count as "absent".  The exact method is
 * numa_maps (numa_maps.h), which counts present pages only. */
#ifndef VN_SAMPLE_H
#define VN_SAMPLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "../util/error.h"
#include "numa_maps.h"

#define VN_SAMPLE_Z95 1.959963984540054

struct vn_residency_estimate {
    uint64_t range_pages;                  /* pages in the range */
    uint64_t samples;                      /* K, pages queried */
    uint64_t hits[VN_NUMA_MAPS_MAX_NODES]; /* sampled pages found on each node */
    uint64_t absent;                       /* sampled pages not present (never touched) */
    uint64_t failed;                       /* sampled pages the kernel would not report */
    int max_node;                          /* highest node with hits, -1 when none */
    bool exact;                            /* every page was queried */
    double elapsed_ms;                     /* time of the move_pages call */
};

/* 95% half-width of a share p estimated from k samples of a population of n (exact, 0, when
 * k >= n; the finite-population factor sqrt((n - k) / (n - 1)) applied otherwise). */
double vn_sample_halfwidth(double p, uint64_t k, uint64_t n);

/* The smallest K whose worst-case (p = 1/2) half-width is at most max_err, capped at n. */
uint64_t vn_sample_size(double max_err, uint64_t n);

/* Fills idx[0..k) with increasing page indexes in [0, n): one uniformly random page in each
 * of k equal strata (all pages when k >= n, and then k is n).  Deterministic for a seed. */
void vn_sample_pick(uint64_t n, uint64_t k, uint64_t seed, uint64_t *idx);

/* Share of the range on node, hits/K. */
double vn_estimate_share(const struct vn_residency_estimate *e, int node);
/* Its 95% half-width (0 when exact). */
double vn_estimate_halfwidth(const struct vn_residency_estimate *e, int node);
/* Estimated MiB of the range on node. */
double vn_estimate_mib(const struct vn_residency_estimate *e, int node, size_t page_size);

/* Samples k pages (0: enough for +-2%) of [start, start + len) in process pid with pages of
 * page_size bytes (0: the base page size); seed picks the pages. */
int vn_residency_sample(pid_t pid, uintptr_t start, size_t len, size_t page_size, uint64_t k,
                        uint64_t seed, struct vn_residency_estimate *out, struct vn_error *err);

#endif
