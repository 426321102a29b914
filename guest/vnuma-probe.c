/* vnuma-probe: runs inside a vnuma guest, statically linked, with nothing else around.
 *
 *   vnuma-probe hardware   the guest's NUMA view, byte for byte as `numactl --hardware`
 *   vnuma-probe json       the same view as one JSON line, read back by the guest tests
 *   vnuma-probe workload --vnode N --mib M [--seconds S] [--heartbeat-ms MS]
 *                          touches M MiB bound to vnode N from vnode N's CPUs and prints
 *                          a heartbeat with the MiB/s it achieved (migration tests, benches)
 *
 * Everything comes from /sys/devices/system/node, the same source libnuma uses, so the two
 * tools cannot disagree.  No libnuma and no JSON library: the guest image stays small and the
 * binary links statically against glibc alone. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <sched.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define NODE_DIR  "/sys/devices/system/node"
#define MAX_NODES 1024
#define MAX_CPUS  8192

#define MPOL_BIND_ 2 /* <linux/mempolicy.h> value; spelled out to need no kernel headers */

struct node {
    int id;
    int ncpus;
    int *cpus;
    unsigned long long total_kb, free_kb;
    bool has_meminfo;
};

struct view {
    int nnodes;
    struct node nodes[MAX_NODES];
    int *dist; /* nnodes x nnodes, row-major; NULL when the kernel gives none */
};

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("vnuma-probe: ", stderr);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(1);
}

/* Reads a small sysfs file into buf; false when it does not exist or cannot be read. */
static bool read_file(const char *path, char *buf, size_t len)
{
    FILE *f = fopen(path, "re");
    if (!f)
        return false;
    size_t n = fread(buf, 1, len - 1, f);
    bool ok = !ferror(f);
    fclose(f);
    buf[n] = '\0';
    return ok;
}

/* Parses a cpulist ("0-3,8") into a freshly allocated sorted array. */
static int parse_cpulist(const char *s, int **out)
{
    int *cpus = NULL, n = 0, cap = 0;
    const char *p = s;
    while (*p && *p != '\n') {
        char *end;
        long lo = strtol(p, &end, 10), hi;
        if (end == p || lo < 0)
            die("cpulist '%s' is not in the kernel's format.", s);
        hi = lo;
        p = end;
        if (*p == '-') {
            hi = strtol(p + 1, &end, 10);
            if (end == p + 1 || hi < lo || hi >= MAX_CPUS)
                die("cpulist '%s' has a bad range.", s);
            p = end;
        }
        for (long c = lo; c <= hi; c++) {
            if (n == cap) {
                cap = cap ? 2 * cap : 16;
                cpus = realloc(cpus, (size_t)cap * sizeof *cpus);
                if (!cpus)
                    die("out of memory.");
            }
            cpus[n++] = (int)c;
        }
        if (*p == ',')
            p++;
    }
    *out = cpus;
    return n;
}

static int cmp_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

/* Value of "Node N <key>: <v> kB" in a node's meminfo. */
static bool meminfo_value(const char *text, const char *key, unsigned long long *kb)
{
    size_t klen = strlen(key);
    for (const char *line = text; line && *line; line = strchr(line, '\n')) {
        if (*line == '\n')
            line++;
        const char *p = line;
        /* skip "Node N " */
        if (strncmp(p, "Node ", 5) != 0)
            continue;
        p += 5;
        while (isdigit((unsigned char)*p))
            p++;
        while (*p == ' ')
            p++;
        if (strncmp(p, key, klen) == 0 && p[klen] == ':') {
            *kb = strtoull(p + klen + 1, NULL, 10);
            return true;
        }
    }
    return false;
}

static void load_view(struct view *v)
{
    DIR *d = opendir(NODE_DIR);
    if (!d)
        die("cannot open '%s': %s.", NODE_DIR, strerror(errno));
    int ids[MAX_NODES], n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        char *end;
        if (strncmp(e->d_name, "node", 4) != 0 || !isdigit((unsigned char)e->d_name[4]))
            continue;
        long id = strtol(e->d_name + 4, &end, 10);
        if (*end || id >= MAX_NODES || n == MAX_NODES)
            continue;
        ids[n++] = (int)id;
    }
    closedir(d);
    if (n == 0)
        die("'%s' lists no nodes.", NODE_DIR);
    qsort(ids, (size_t)n, sizeof ids[0], cmp_int);

    v->nnodes = n;
    static char buf[1 << 16];
    char path[256];
    for (int i = 0; i < n; i++) {
        struct node *nd = &v->nodes[i];
        nd->id = ids[i];
        snprintf(path, sizeof path, NODE_DIR "/node%d/cpulist", nd->id);
        nd->ncpus = read_file(path, buf, sizeof buf) ? parse_cpulist(buf, &nd->cpus) : 0;
        snprintf(path, sizeof path, NODE_DIR "/node%d/meminfo", nd->id);
        nd->has_meminfo = read_file(path, buf, sizeof buf) &&
                          meminfo_value(buf, "MemTotal", &nd->total_kb) &&
                          meminfo_value(buf, "MemFree", &nd->free_kb);
    }

    /* Each nodeN/distance lists the distances to the online nodes in id order, so column k
     * is the k-th node of our sorted list. */
    v->dist = calloc((size_t)n * (size_t)n, sizeof *v->dist);
    if (!v->dist)
        die("out of memory.");
    for (int i = 0; i < n; i++) {
        snprintf(path, sizeof path, NODE_DIR "/node%d/distance", v->nodes[i].id);
        if (!read_file(path, buf, sizeof buf)) {
            free(v->dist);
            v->dist = NULL;
            return;
        }
        char *p = buf;
        for (int k = 0; k < n; k++) {
            char *end;
            long val = strtol(p, &end, 10);
            if (end == p)
                die("'%s' lists fewer than %d distances.", path, n);
            v->dist[i * n + k] = (int)val;
            p = end;
        }
    }
}

/* "available: 4 nodes (0-3)" with numactl's range compression. */
static void print_available(const struct view *v)
{
    printf("available: %d nodes (", v->nnodes);
    for (int i = 0; i < v->nnodes;) {
        int j = i;
        while (j + 1 < v->nnodes && v->nodes[j + 1].id == v->nodes[j].id + 1)
            j++;
        printf("%s%d", i ? "," : "", v->nodes[i].id);
        if (j > i)
            printf("-%d", v->nodes[j].id);
        i = j + 1;
    }
    printf(")\n");
}

static int cmd_hardware(void)
{
    static struct view v;
    load_view(&v);
    print_available(&v);
    for (int i = 0; i < v.nnodes; i++) {
        const struct node *nd = &v.nodes[i];
        printf("node %d cpus:", nd->id);
        for (int c = 0; c < nd->ncpus; c++)
            printf(" %d", nd->cpus[c]);
        printf("\n");
        /* numactl prints what libnuma returns: bytes >> 20, or -1 when meminfo is missing. */
        if (nd->has_meminfo) {
            printf("node %d size: %llu MB\n", nd->id, nd->total_kb >> 10);
            printf("node %d free: %llu MB\n", nd->id, nd->free_kb >> 10);
        } else {
            printf("node %d size: -1 MB\nnode %d free: -1 MB\n", nd->id, nd->id);
        }
    }
    if (!v.dist || v.dist[0] == 0) {
        printf("No distance information available.\n");
        return 0;
    }
    printf("node distances:\nnode ");
    for (int i = 0; i < v.nnodes; i++)
        printf("% 3d ", v.nodes[i].id);
    printf("\n");
    for (int i = 0; i < v.nnodes; i++) {
        printf("% 3d: ", v.nodes[i].id);
        for (int k = 0; k < v.nnodes; k++)
            printf("% 3d ", v.dist[i * v.nnodes + k]);
        printf("\n");
    }
    return 0;
}

static int cmd_json(void)
{
    static struct view v;
    load_view(&v);
    printf("{\"nodes\":[");
    for (int i = 0; i < v.nnodes; i++) {
        const struct node *nd = &v.nodes[i];
        printf("%s{\"node\":%d,\"cpus\":[", i ? "," : "", nd->id);
        for (int c = 0; c < nd->ncpus; c++)
            printf("%s%d", c ? "," : "", nd->cpus[c]);
        printf("],\"mem_mib\":%llu,\"free_mib\":%llu}", nd->total_kb >> 10, nd->free_kb >> 10);
    }
    printf("],\"distances\":[");
    for (int i = 0; i < v.nnodes; i++) {
        printf("%s[", i ? "," : "");
        for (int k = 0; k < v.nnodes; k++)
            printf("%s%d", k ? "," : "", v.dist ? v.dist[i * v.nnodes + k] : 0);
        printf("]");
    }
    printf("]}\n");
    return 0;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long parse_num(const char *opt, const char *s, long min)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < min)
        die("option '%s' needs an integer of at least %ld, not '%s'.", opt, min, s);
    return v;
}

static int cmd_workload(int argc, char **argv)
{
    static const struct option opts[] = {
        {"vnode", required_argument, NULL, 'n'},
        {"mib", required_argument, NULL, 'm'},
        {"seconds", required_argument, NULL, 's'},
        {"heartbeat-ms", required_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    long vnode = -1, mib = -1, seconds = 0, beat_ms = 1000;
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'n':
            vnode = parse_num("--vnode", optarg, 0);
            break;
        case 'm':
            mib = parse_num("--mib", optarg, 1);
            break;
        case 's':
            seconds = parse_num("--seconds", optarg, 0);
            break;
        case 'h':
            beat_ms = parse_num("--heartbeat-ms", optarg, 10);
            break;
        default:
            die("usage: vnuma-probe workload --vnode N --mib M [--seconds S] [--heartbeat-ms MS]");
        }
    }
    if (vnode < 0 || mib < 0 || optind != argc)
        die("usage: vnuma-probe workload --vnode N --mib M [--seconds S] [--heartbeat-ms MS]");
    if (vnode >= MAX_NODES)
        die("vnode '%ld' is above the largest node id %d.", vnode, MAX_NODES - 1);

    static struct view v;
    load_view(&v);
    const struct node *nd = NULL;
    for (int i = 0; i < v.nnodes; i++)
        if (v.nodes[i].id == vnode)
            nd = &v.nodes[i];
    if (!nd)
        die("the guest has no node '%ld'.", vnode);

    /* A CPU-less vnode keeps the default affinity: its memory is still worth exercising. */
    if (nd->ncpus > 0) {
        cpu_set_t *set = CPU_ALLOC(MAX_CPUS);
        size_t size = CPU_ALLOC_SIZE(MAX_CPUS);
        CPU_ZERO_S(size, set);
        for (int i = 0; i < nd->ncpus; i++)
            CPU_SET_S((size_t)nd->cpus[i], size, set);
        if (sched_setaffinity(0, size, set) < 0)
            die("cannot bind to the CPUs of node '%ld': %s.", vnode, strerror(errno));
        CPU_FREE(set);
    }

    size_t len = (size_t)mib << 20;
    char *buf = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (buf == MAP_FAILED)
        die("cannot map %ld MiB: %s.", mib, strerror(errno));
    unsigned long mask[MAX_NODES / (8 * sizeof(unsigned long))] = {0};
    mask[vnode / (8 * (long)sizeof(unsigned long))] |= 1UL << (vnode % (8 * sizeof(unsigned long)));
    if (syscall(SYS_mbind, buf, len, MPOL_BIND_, mask, (unsigned long)MAX_NODES + 1, 0UL) < 0)
        die("cannot bind %ld MiB to node '%ld': %s.", mib, vnode, strerror(errno));

    printf("VNUMA-WORKLOAD: start vnode=%ld mib=%ld cpus=%d\n", vnode, mib, nd->ncpus);
    fflush(stdout);
    long page = sysconf(_SC_PAGESIZE);
    double start = now_s(), last = start;
    unsigned long long touched = 0, pass = 0;
    for (;;) {
        /* One write per cache line keeps the loop memory-bound rather than page-fault-bound
         * after the first pass. */
        for (size_t off = 0; off < len; off += 64)
            buf[off] = (char)(pass + off / (size_t)page);
        touched += (unsigned long long)mib;
        pass++;
        double t = now_s();
        if ((t - last) * 1000.0 >= (double)beat_ms) {
            printf("VNUMA-WORKLOAD: vnode=%ld t=%.2f passes=%llu mib_per_s=%.1f\n", vnode,
                   t - start, pass, (double)touched / (t - last));
            fflush(stdout);
            touched = 0;
            last = t;
        }
        if (seconds > 0 && t - start >= (double)seconds)
            break;
    }
    printf("VNUMA-WORKLOAD: done vnode=%ld passes=%llu\n", vnode, pass);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "hardware") == 0 && argc == 2)
        return cmd_hardware();
    if (argc >= 2 && strcmp(argv[1], "json") == 0 && argc == 2)
        return cmd_json();
    if (argc >= 2 && strcmp(argv[1], "workload") == 0)
        return cmd_workload(argc - 1, argv + 1);
    fprintf(stderr, "usage: vnuma-probe hardware | json | workload --vnode N --mib M "
                    "[--seconds S] [--heartbeat-ms MS]\n");
    return 2;
}
