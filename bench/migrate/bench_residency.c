/* bench-residency: residency sampling against a full numa_maps scan on a host process, for
 * ranges of 256 MiB to 16 GiB.  The range is one tmpfs file of 512 MiB mapped again and again
 * side by side, so a 16 GiB range has 16 GiB of page tables to walk while using 512 MiB of
 * memory; a known, scattered 25% of its pages is mapped (written once), the rest is not, and the
 * sampled present share is compared with numa_maps' count.  Prints CSV lines
 * "csv,residency,mib,k,sample_ms,numa_maps_ms,estimate,exact,error,bound". */
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "numa/numa_maps.h"
#include "numa/sample.h"

#define MIB      (1024UL * 1024UL)
#define FILE_LEN (512 * MIB)

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

int main(int argc, char **argv)
{
    const char *path = "/dev/shm/bench-residency";
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    if (fd < 0 || ftruncate(fd, FILE_LEN) < 0)
        return 1;
    const size_t sizes_mib[] = {256, 1024, 4096, 16384};
    size_t max = argc > 1 ? strtoul(argv[1], NULL, 10) : 16384;
    for (size_t s = 0; s < sizeof sizes_mib / sizeof sizes_mib[0] && sizes_mib[s] <= max; s++) {
        size_t len = sizes_mib[s] * MIB;
        char *base = mmap(NULL, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        for (size_t off = 0; off < len; off += FILE_LEN) {
            size_t part = len - off < FILE_LEN ? len - off : FILE_LEN;
            if (mmap(base + off, part, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd, 0) ==
                MAP_FAILED)
                return 1;
        }
        size_t pages = len / 4096, present = 0;
        for (size_t i = 0; i < pages; i++) {
            uint64_t h = (uint64_t)i * 0x9e3779b97f4a7c15ULL;
            if ((h >> 40) % 4 == 0) {
                base[i * 4096] = 1; /* a write fault maps one page: no fault-around */
                present++;
            }
        }
        struct vn_residency r;
        struct vn_error err = {0};
        double t0 = now_ms();
        if (vn_numa_maps_read(getpid(), path, &r, &err) < 0) {
            fprintf(stderr, "%s\n", err.msg);
            return 1;
        }
        double scan_ms = now_ms() - t0;
        double exact = (double)r.total_pages / (double)pages;
        struct vn_residency_estimate *e = malloc(sizeof *e);
        double best_ms = 1e9, worst_err = 0, est = 0, bound = 0;
        for (uint64_t seed = 1; seed <= 20; seed++) {
            if (vn_residency_sample(getpid(), (uintptr_t)base, len, 0, 0, seed, e, &err) < 0) {
                fprintf(stderr, "%s\n", err.msg);
                return 1;
            }
            best_ms = fmin(best_ms, e->elapsed_ms);
            est = 1.0 - (double)e->absent / (double)e->samples;
            bound = vn_sample_halfwidth(est, e->samples, e->range_pages);
            worst_err = fmax(worst_err, fabs(est - exact));
        }
        printf("csv,residency,%zu,%llu,%.3f,%.1f,%.4f,%.4f,%.4f,%.4f\n", sizes_mib[s],
               (unsigned long long)e->samples, best_ms, scan_ms, est, exact, worst_err, bound);
        fflush(stdout);
        (void)present;
        free(e);
        munmap(base, len);
    }
    unlink(path);
    return 0;
}
