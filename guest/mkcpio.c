/* mkcpio: writes a newc ("070701") cpio archive from a spec, the way the kernel's
 * usr/gen_init_cpio does, so that an initramfs with device nodes (/dev/console) can be built
 * without root.  Every entry is owned by uid/gid 0 and has mtime 0, so the same inputs give
 * the same archive.
 *
 *   usage: mkcpio SPEC|- [OUTPUT]        (OUTPUT defaults to standard output)
 *
 * Spec lines (fields separated by blanks; '#' starts a comment line):
 *   dir   PATH MODE
 *   file  PATH SRC MODE
 *   nod   PATH MODE c|b MAJOR MINOR
 *   slink PATH TARGET MODE
 * PATH is absolute, without '.', '..' or empty components, and its parent must be declared
 * before it (the kernel's unpacker does not create missing parents).  MODE is octal. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define NAME_MAX_LEN 4095 /* PATH_MAX minus the NUL, as the kernel's unpacker accepts */
#define MAX_ENTRIES  65536
#define MAX_FIELDS   7

struct entry_list {
    char **paths;
    bool *is_dir;
    size_t n;
};

static const char *spec_name = "spec";
static const char *out_tmp;
static unsigned long lineno;
static FILE *out;
static uint64_t out_bytes;
static uint32_t next_ino = 721;
/* Global so that a leak checker sees it as reachable when main returns. */
static struct entry_list seen;

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static void fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (lineno)
        fprintf(stderr, "mkcpio: %s:%lu: ", spec_name, lineno);
    else
        fputs("mkcpio: ", stderr);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    if (out_tmp)
        unlink(out_tmp);
    exit(1);
}

static void put(const void *p, size_t n)
{
    if (n && fwrite(p, 1, n, out) != n)
        fail("cannot write the archive: %s.", strerror(errno));
    out_bytes += n;
}

static void pad4(void)
{
    static const char zeros[4];
    put(zeros, (4 - out_bytes % 4) % 4);
}

static void header(const char *name, uint32_t mode, uint32_t size, uint32_t nlink, uint32_t rmaj,
                   uint32_t rmin)
{
    char h[111];
    size_t namesize = strlen(name) + 1;
    snprintf(h, sizeof h, "070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X", next_ino++,
             mode, 0u, 0u, nlink, 0u, size, 0u, 0u, rmaj, rmin, (uint32_t)namesize, 0u);
    put(h, 110);
    put(name, namesize);
    pad4();
}

static void check_path(const char *path, bool is_dir)
{
    size_t len = strlen(path);
    if (path[0] != '/')
        fail("path '%s' is not absolute.", path);
    if (len > NAME_MAX_LEN)
        fail("path '%.40s...' is longer than %d bytes.", path, NAME_MAX_LEN);
    if (len == 1)
        fail("path '/' is the archive's root and cannot be an entry.");
    if (path[len - 1] == '/')
        fail("path '%s' ends with '/'.", path);
    for (const char *c = path; *c;) {
        const char *next = strchr(c + 1, '/');
        size_t clen = next ? (size_t)(next - c - 1) : strlen(c + 1);
        if (clen == 0 || (clen == 1 && c[1] == '.') || (clen == 2 && c[1] == '.' && c[2] == '.'))
            fail("path '%s' has an empty, '.' or '..' component.", path);
        c = next ? next : c + 1 + clen;
    }

    const char *slash = strrchr(path, '/');
    size_t plen = (size_t)(slash - path);
    bool parent_ok = plen == 0;
    for (size_t i = 0; i < seen.n; i++) {
        if (strcmp(seen.paths[i], path) == 0)
            fail("path '%s' is declared twice.", path);
        if (!parent_ok && seen.is_dir[i] && strlen(seen.paths[i]) == plen &&
            strncmp(seen.paths[i], path, plen) == 0)
            parent_ok = true;
    }
    if (!parent_ok)
        fail("the parent directory of '%s' is not declared before it.", path);
    if (seen.n == MAX_ENTRIES)
        fail("the spec has more than %d entries.", MAX_ENTRIES);
    if (seen.n % 256 == 0) {
        seen.paths = realloc(seen.paths, (seen.n + 256) * sizeof *seen.paths);
        seen.is_dir = realloc(seen.is_dir, (seen.n + 256) * sizeof *seen.is_dir);
        if (!seen.paths || !seen.is_dir)
            fail("out of memory.");
    }
    seen.paths[seen.n] = strdup(path);
    if (!seen.paths[seen.n])
        fail("out of memory.");
    seen.is_dir[seen.n++] = is_dir;
}

static uint32_t parse_mode(const char *s)
{
    char *end;
    errno = 0;
    unsigned long m = strtoul(s, &end, 8);
    if (errno || end == s || *end || m > 07777)
        fail("mode '%s' is not an octal number between 0 and 7777.", s);
    return (uint32_t)m;
}

static uint32_t parse_devnum(const char *s)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno || end == s || *end || v > 0xfffff)
        fail("device number '%s' is not a number between 0 and 1048575.", s);
    return (uint32_t)v;
}

static void emit_file(const char *path, const char *src, uint32_t mode)
{
    int fd = open(src, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        fail("cannot open '%s' for '%s': %s.", src, path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) < 0)
        fail("cannot stat '%s': %s.", src, strerror(errno));
    if (!S_ISREG(st.st_mode))
        fail("source '%s' of '%s' is not a regular file.", src, path);
    if ((uint64_t)st.st_size > UINT32_MAX)
        fail("source '%s' is %lld bytes; a newc archive holds at most 4 GiB - 1 per file.", src,
             (long long)st.st_size);
    header(path + 1, S_IFREG | mode, (uint32_t)st.st_size, 1, 0, 0);
    char buf[65536];
    uint64_t copied = 0;
    for (;;) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            fail("cannot read '%s': %s.", src, strerror(errno));
        if (n == 0)
            break;
        if (copied + (uint64_t)n > (uint64_t)st.st_size)
            fail("source '%s' grew while it was being archived.", src);
        put(buf, (size_t)n);
        copied += (uint64_t)n;
    }
    close(fd);
    if (copied != (uint64_t)st.st_size)
        fail("source '%s' shrank while it was being archived.", src);
    pad4();
}

static void process_line(char *line)
{
    char *f[MAX_FIELDS + 1];
    int n = 0;
    for (char *tok = strtok(line, " \t\r\n"); tok; tok = strtok(NULL, " \t\r\n")) {
        if (n == MAX_FIELDS)
            fail("too many fields.");
        f[n++] = tok;
    }
    if (n == 0 || f[0][0] == '#')
        return;

    const char *type = f[0];
    if (strcmp(type, "dir") == 0) {
        if (n != 3)
            fail("'dir' takes PATH MODE.");
        check_path(f[1], true);
        header(f[1] + 1, S_IFDIR | parse_mode(f[2]), 0, 2, 0, 0);
    } else if (strcmp(type, "file") == 0) {
        if (n != 4)
            fail("'file' takes PATH SRC MODE.");
        check_path(f[1], false);
        emit_file(f[1], f[2], parse_mode(f[3]));
    } else if (strcmp(type, "nod") == 0) {
        if (n != 6)
            fail("'nod' takes PATH MODE c|b MAJOR MINOR.");
        if (strcmp(f[3], "c") != 0 && strcmp(f[3], "b") != 0)
            fail("device type '%s' is neither 'c' nor 'b'.", f[3]);
        check_path(f[1], false);
        uint32_t kind = f[3][0] == 'c' ? S_IFCHR : S_IFBLK;
        header(f[1] + 1, kind | parse_mode(f[2]), 0, 1, parse_devnum(f[4]), parse_devnum(f[5]));
    } else if (strcmp(type, "slink") == 0) {
        if (n != 4)
            fail("'slink' takes PATH TARGET MODE.");
        size_t tlen = strlen(f[2]);
        if (tlen > NAME_MAX_LEN)
            fail("link target of '%s' is longer than %d bytes.", f[1], NAME_MAX_LEN);
        check_path(f[1], false);
        header(f[1] + 1, S_IFLNK | parse_mode(f[3]), (uint32_t)tlen, 1, 0, 0);
        put(f[2], tlen);
        pad4();
    } else {
        fail("unknown entry type '%s' (expected dir, file, nod or slink).", type);
    }
}

int main(int argc, char **argv)
{
    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: mkcpio SPEC|- [OUTPUT]\n");
        return 2;
    }
    FILE *spec = stdin;
    if (strcmp(argv[1], "-") != 0) {
        spec_name = argv[1];
        spec = fopen(argv[1], "re");
        if (!spec)
            fail("cannot open the spec '%s': %s.", argv[1], strerror(errno));
    }

    /* Write next to the output and rename at the end: a failed run leaves no half archive. */
    static char tmp[4096];
    out = stdout;
    if (argc == 3) {
        if (snprintf(tmp, sizeof tmp, "%s.tmp", argv[2]) >= (int)sizeof tmp)
            fail("output path '%s' is too long.", argv[2]);
        out = fopen(tmp, "we");
        if (!out)
            fail("cannot create '%s': %s.", tmp, strerror(errno));
        out_tmp = tmp;
    }

    char line[3 * NAME_MAX_LEN + 64];
    while (fgets(line, sizeof line, spec)) {
        lineno++;
        if (!strchr(line, '\n') && !feof(spec))
            fail("line is longer than %zu bytes.", sizeof line - 2);
        process_line(line);
    }
    if (ferror(spec))
        fail("cannot read the spec: %s.", strerror(errno));
    lineno = 0;
    if (seen.n == 0)
        fail("the spec '%s' declares no entries.", spec_name);

    header("TRAILER!!!", 0, 0, 1, 0, 0);
    /* Pad the archive to 512 bytes like cpio(1) does; the kernel ignores trailing zeros. */
    static const char zeros[512];
    put(zeros, (512 - out_bytes % 512) % 512);
    if (fflush(out) != 0 || (out != stdout && fsync(fileno(out)) != 0))
        fail("cannot write the archive: %s.", strerror(errno));
    if (out != stdout) {
        if (fclose(out) != 0)
            fail("cannot write '%s': %s.", tmp, strerror(errno));
        if (rename(tmp, argv[2]) < 0)
            fail("cannot rename '%s' to '%s': %s.", tmp, argv[2], strerror(errno));
    }
    return 0;
}
