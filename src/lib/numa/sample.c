#include "sample.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "../util/cleanup.h"

double vn_sample_halfwidth(double p, uint64_t k, uint64_t n)
{
    if (k == 0)
        return 1.0;
    if (k >= n)
        return 0.0;
    double fpc = n > 1 ? sqrt((double)(n - k) / (double)(n - 1)) : 0.0;
    return VN_SAMPLE_Z95 * sqrt(p * (1.0 - p) / (double)k) * fpc;
}

uint64_t vn_sample_size(double max_err, uint64_t n)
{
    if (max_err <= 0.0)
        return n;
    double z = VN_SAMPLE_Z95 * 0.5 / max_err;
    uint64_t k = (uint64_t)ceil(z * z);
    /* The finite-population factor would allow fewer; the cap keeps the bound simple. */
    return k < n ? k : n;
}

/* splitmix64: small, seedable, good enough to place one page per stratum. */
static uint64_t next_random(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

void vn_sample_pick(uint64_t n, uint64_t k, uint64_t seed, uint64_t *idx)
{
    if (k >= n) {
        for (uint64_t i = 0; i < n; i++)
            idx[i] = i;
        return;
    }
    uint64_t state = seed;
    for (uint64_t i = 0; i < k; i++) {
        /* Stratum i is [floor(i n / k), floor((i + 1) n / k)); 128-bit products cannot wrap. */
        uint64_t lo = (uint64_t)((unsigned __int128)i * n / k);
        uint64_t hi = (uint64_t)((unsigned __int128)(i + 1) * n / k);
        idx[i] = lo + next_random(&state) % (hi - lo);
    }
}

double vn_estimate_share(const struct vn_residency_estimate *e, int node)
{
    if (e->samples == 0 || node < 0 || node >= VN_NUMA_MAPS_MAX_NODES)
        return 0.0;
    return (double)e->hits[node] / (double)e->samples;
}

double vn_estimate_halfwidth(const struct vn_residency_estimate *e, int node)
{
    if (e->exact)
        return 0.0;
    return vn_sample_halfwidth(vn_estimate_share(e, node), e->samples, e->range_pages);
}

double vn_estimate_mib(const struct vn_residency_estimate *e, int node, size_t page_size)
{
    return vn_estimate_share(e, node) * (double)e->range_pages * (double)page_size /
           (1024.0 * 1024.0);
}

int vn_residency_sample(pid_t pid, uintptr_t start, size_t len, size_t page_size, uint64_t k,
                        uint64_t seed, struct vn_residency_estimate *out, struct vn_error *err)
{
    if (!page_size)
        page_size = (size_t)sysconf(_SC_PAGESIZE);
    memset(out, 0, sizeof *out);
    out->max_node = -1;
    if (start % page_size || len % page_size || len == 0)
        return vn_error_set(err,
                            "the range 0x%lx+%zu is empty or not aligned to pages of %zu bytes",
                            (unsigned long)start, len, page_size);
    uint64_t n = len / page_size;
    if (k == 0)
        k = vn_sample_size(0.02, n);
    if (k > n)
        k = n;
    VN_CLEANUP_FREE uint64_t *idx = malloc(k * sizeof *idx);
    VN_CLEANUP_FREE void **pages = malloc(k * sizeof *pages);
    VN_CLEANUP_FREE int *status = malloc(k * sizeof *status);
    if (!idx || !pages || !status)
        return vn_error_sys(err, ENOMEM, "cannot sample %llu pages", (unsigned long long)k);
    vn_sample_pick(n, k, seed, idx);
    for (uint64_t i = 0; i < k; i++)
        pages[i] = (void *)(start + idx[i] * page_size);

    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    long rc = syscall(SYS_move_pages, (int)pid, (unsigned long)k, pages, NULL, status, 0);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (rc < 0)
        return vn_error_sys(err, errno, "cannot query where the pages of process %d are", (int)pid);
    out->elapsed_ms =
        (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
    out->range_pages = n;
    out->samples = k;
    out->exact = k == n;
    for (uint64_t i = 0; i < k; i++) {
        int s = status[i];
        if (s >= 0 && s < VN_NUMA_MAPS_MAX_NODES) {
            out->hits[s]++;
            if (s > out->max_node)
                out->max_node = s;
        } else if (s == -ENOENT || s == -EFAULT) {
            out->absent++; /* not faulted in yet, or the shared zero page */
        } else {
            out->failed++;
        }
    }
    return 0;
}
