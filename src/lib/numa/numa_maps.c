#include "numa_maps.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../util/cleanup.h"

/* Parses "N<node>=<pages>" or "kernelpagesize_kB=<n>" tokens of one line into out. */
static int parse_tokens(const char *line, size_t len, struct vn_residency *out, int lineno,
                        struct vn_error *err)
{
    const char *p = line, *end = line + len;
    uint64_t page_kib = 0;
    uint64_t pages[64];
    int nodes[64], n = 0;
    while (p < end) {
        while (p < end && *p == ' ')
            p++;
        const char *tok = p;
        while (p < end && *p != ' ')
            p++;
        size_t tlen = (size_t)(p - tok);
        char buf[64];
        if (tlen == 0 || tlen >= sizeof buf)
            continue;
        memcpy(buf, tok, tlen);
        buf[tlen] = '\0';
        unsigned node;
        uint64_t count;
        char extra;
        if (buf[0] == 'N' && sscanf(buf, "N%u=%" SCNu64 "%c", &node, &count, &extra) == 2) {
            if (node >= VN_NUMA_MAPS_MAX_NODES || n == 64)
                return vn_error_set(err, "numa_maps line %d: node 'N%u' is out of range", lineno,
                                    node);
            nodes[n] = (int)node;
            pages[n++] = count;
        } else if (strncmp(buf, "kernelpagesize_kB=", 18) == 0) {
            if (sscanf(buf + 18, "%" SCNu64 "%c", &page_kib, &extra) != 1 || page_kib == 0)
                return vn_error_set(err, "numa_maps line %d: bad page size '%s'", lineno, buf);
        }
    }
    if (n && page_kib == 0)
        page_kib = 4; /* kernels before 3.x omit it only for base pages */
    if (n && out->page_kib && out->page_kib != page_kib)
        return vn_error_set(err,
                            "numa_maps line %d: mappings of one path use page sizes %" PRIu64
                            " and %" PRIu64 " KiB",
                            lineno, out->page_kib, page_kib);
    for (int i = 0; i < n; i++) {
        out->pages[nodes[i]] += pages[i];
        out->total_pages += pages[i];
        if (nodes[i] > out->max_node)
            out->max_node = nodes[i];
    }
    if (n)
        out->page_kib = page_kib;
    return 0;
}

/* True when the line's "file=" token equals path exactly. */
static bool line_has_file(const char *line, size_t len, const char *path)
{
    size_t plen = strlen(path);
    for (const char *p = line; p + 5 + plen <= line + len; p++) {
        if ((p == line || p[-1] == ' ') && memcmp(p, "file=", 5) == 0)
            return memcmp(p + 5, path, plen) == 0 &&
                   (p + 5 + plen == line + len || p[5 + plen] == ' ');
    }
    return false;
}

void vn_residency_init(struct vn_residency *r)
{
    memset(r, 0, sizeof *r);
    r->max_node = -1;
}

int vn_numa_maps_parse(const char *text, size_t len, const char *path, struct vn_residency *out,
                       struct vn_error *err)
{
    int matched = 0, lineno = 0;
    const char *p = text, *end = text + len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t llen = nl ? (size_t)(nl - p) : (size_t)(end - p);
        lineno++;
        if (llen && (!path || line_has_file(p, llen, path))) {
            if (parse_tokens(p, llen, out, lineno, err) < 0)
                return -1;
            matched++;
        }
        p += llen + 1;
    }
    return matched;
}

int vn_numa_maps_read(int pid, const char *path, struct vn_residency *out, struct vn_error *err)
{
    char fname[64];
    snprintf(fname, sizeof fname, "/proc/%d/numa_maps", pid);
    VN_CLEANUP_FILE FILE *f = fopen(fname, "re");
    if (!f)
        return vn_error_sys(err, errno, "cannot open '%s'", fname);
    VN_CLEANUP_FREE char *buf = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (cap - len < 65536) {
            cap = cap ? cap * 2 : 262144;
            char *nbuf = realloc(buf, cap);
            if (!nbuf)
                return vn_error_sys(err, ENOMEM, "cannot read '%s'", fname);
            buf = nbuf;
        }
        size_t got = fread(buf + len, 1, cap - len, f);
        len += got;
        if (got == 0) {
            if (ferror(f))
                return vn_error_sys(err, errno, "cannot read '%s'", fname);
            break;
        }
    }
    vn_residency_init(out);
    return vn_numa_maps_parse(buf, len, path, out, err);
}

double vn_residency_mib(const struct vn_residency *r, int node)
{
    if (node < 0 || node >= VN_NUMA_MAPS_MAX_NODES)
        return 0;
    return (double)r->pages[node] * (double)r->page_kib / 1024.0;
}
