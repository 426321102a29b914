/* Unit tests of domain/: the memory dir chain, records' derived paths, and the host load a
 * create places against.  The "QEMU" of a record is this very process, mapping a memory file
 * where domain/ derives it, so residency is real and nothing is booted. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <pwd.h>

#include "../../../src/lib/domain/domain_int.h"
#include "../../../src/lib/net/net.h"
#include "config/config.h"
#include "render/render.h"
#include "../testrecord.h"
#include "topo/topo.h"

struct fx {
    char dir[64]; /* scratch, removed at the end */
    char state[128];
    struct vn_state *s;
    struct vn_error err;
};

static int fx_setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/vn-dom-test-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->state, sizeof f->state, "%s/state", f->dir);
    assert_int_equal(vn_state_open(f->state, &f->s, &f->err), 0);
    *state = f;
    return 0;
}

static void rm_tree(const char *path)
{
    /* Tests make at most three levels below path; nftw would be overkill. */
    char cmd[512];
    snprintf(cmd, sizeof cmd, "%s", path);
    pid_t pid = fork();
    if (pid == 0) {
        execl("/bin/rm", "rm", "-rf", cmd, (char *)NULL);
        _exit(127);
    }
    int st;
    waitpid(pid, &st, 0);
}

static int fx_teardown(void **state)
{
    struct fx *f = *state;
    unsetenv("VNUMA_HOST_CONF");
    vn_state_close(f->s);
    rm_tree(f->dir);
    free(f);
    return 0;
}

/* Two state dirs give one name two memory dirs; each level is 0700 and ours; the files
 * are 0600 and stale ones are replaced. */
static void test_memdir_keyed_and_private(void **state)
{
    struct fx *f = *state;
    char other[160];
    snprintf(other, sizeof other, "%s/state2", f->dir);
    struct vn_state *s2 = NULL;
    assert_int_equal(vn_state_open(other, &s2, &f->err), 0);
    struct vn_dom_memdir a, b;
    assert_int_equal(vn_dom_memdir_for(f->state, "web", &a, &f->err), 0);
    assert_int_equal(vn_dom_memdir_for(other, "web", &b, &f->err), 0);
    assert_string_not_equal(a.path, b.path);
    int fd = vn_dom_memdir_open(&a, true, &f->err);
    if (fd < 0)
        fail_msg("%s", f->err.msg);
    assert_int_equal(vn_dom_memdir_make_files(fd, a.path, 2, &f->err), 0);
    struct stat st;
    assert_int_equal(fstatat(fd, "vnode1", &st, AT_SYMLINK_NOFOLLOW), 0);
    assert_int_equal(st.st_mode & 07777, 0600);
    assert_int_equal(fstat(fd, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0700);
    /* A stale file with contents is replaced by an empty one. */
    int v = openat(fd, "vnode0", O_WRONLY);
    assert_int_equal(write(v, "x", 1), 1);
    close(v);
    assert_int_equal(vn_dom_memdir_make_files(fd, a.path, 1, &f->err), 0);
    assert_int_equal(fstatat(fd, "vnode0", &st, 0), 0);
    assert_int_equal(st.st_size, 0);
    close(fd);
    assert_int_equal(vn_dom_memdir_remove(&a, &f->err), 0);
    assert_int_equal(access(a.path, F_OK), -1);
    vn_state_close(s2);
}

/* A level that is a symbolic link, or writable by others, is refused and nothing is made
 * through it. */
static void test_memdir_refuses_links_and_open_dirs(void **state)
{
    struct fx *f = *state;
    char root[160], target[200], lvl[600];
    snprintf(root, sizeof root, "%s/root", f->dir);
    snprintf(target, sizeof target, "%s/elsewhere", f->dir);
    assert_int_equal(mkdir(root, 0755), 0);
    assert_int_equal(mkdir(target, 0700), 0);
    setenv("VNUMA_MEM_DIR", root, 1);
    struct vn_dom_memdir m;
    assert_int_equal(vn_dom_memdir_for(f->state, "web", &m, &f->err), 0);
    unsetenv("VNUMA_MEM_DIR");
    snprintf(lvl, sizeof lvl, "%s/%s", root, m.level[0]);
    assert_int_equal(symlink(target, lvl), 0);
    assert_int_equal(vn_dom_memdir_open(&m, true, &f->err), -1);
    assert_non_null(strstr(f->err.msg, "is a symbolic link or not a directory"));
    struct stat st;
    char inside[600];
    snprintf(inside, sizeof inside, "%s/%s", target, m.level[1]);
    assert_int_equal(stat(inside, &st), -1);
    unlink(lvl);
    assert_int_equal(mkdir(lvl, 0700), 0);
    assert_int_equal(chmod(lvl, 0777), 0);
    assert_int_equal(vn_dom_memdir_open(&m, true, &f->err), -1);
    assert_non_null(strstr(f->err.msg, "or is writable by others (mode 0777)"));
}

/* A record's paths are replaced by the derived ones; a legacy memory dir is kept. */
static void test_vet_record(void **state)
{
    struct fx *f = *state;
    struct vn_domain_record r;
    vn_domain_record_init(&r);
    snprintf(r.name, sizeof r.name, "web");
    r.qmp_socket = strdup("/run/other/qmp.sock");
    r.mem_dir = strdup("/etc");
    assert_int_equal(vn_dom_vet_record(f->s, &r, &f->err), 0);
    char want[4096];
    snprintf(want, sizeof want, "%s/run/web/qmp.sock", f->state);
    assert_string_equal(r.qmp_socket, want);
    struct vn_dom_memdir m;
    assert_int_equal(vn_dom_memdir_for(f->state, "web", &m, &f->err), 0);
    assert_string_equal(vn_dom_record_mem_dir(&r), m.path);
    char legacy[4096];
    assert_int_equal(vn_dom_memdir_legacy("web", legacy, sizeof legacy, 0), 0);
    free(r.mem_dir);
    r.mem_dir = strdup(legacy);
    assert_int_equal(vn_dom_vet_record(f->s, &r, &f->err), 0);
    assert_string_equal(vn_dom_record_mem_dir(&r), legacy);
    /* This process is not a QEMU started for the record's socket. */
    r.qemu_pid = getpid();
    assert_false(vn_dom_is_own_qemu(&r));
    vn_domain_record_clear(&r);
}

static void write_file(const char *path, const char *text)
{
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fputs(text, fp);
    fclose(fp);
}

/* Points VNUMA_HOST_CONF at a host config in the scratch dir with text (unset at teardown). */
static void use_host_conf(struct fx *f, const char *text)
{
    char path[160];
    snprintf(path, sizeof path, "%s/vnuma.conf", f->dir);
    write_file(path, text);
    setenv("VNUMA_HOST_CONF", path, 1);
}

/* A host config in which QEMU runs as the user running the tests (not confined). */
static void use_own_user(struct fx *f)
{
    struct passwd *pw = getpwuid(geteuid());
    assert_non_null(pw);
    char text[200];
    snprintf(text, sizeof text, "qemu_user = \"%s\"\n", pw->pw_name);
    use_host_conf(f, text);
}

/* The reliability issue's "resident memory counted twice": a 16 MiB VM fits beside a running
 * domain only when the part of its claim already resident is not subtracted a second time. */
static void test_create_counts_resident_once(void **state)
{
    struct fx *f = *state;
    /* Node 0: 64 MiB, 40 free.  p1 claims 48 of which 32 are resident: without the credit
     * 40 - 48 < 0 is free; with it 40 + 32 - 48 = 24, room for a 16 MiB VM. */
    char host[200], cfg[200], kernel[200];
    snprintf(host, sizeof host, "%s/host.json", f->dir);
    write_file(host, "{\"name\":\"tiny\",\"nodes\":[{\"node\":0,\"package\":0,\"memory_mib\":64,"
                     "\"free_mib\":40,\"cpus\":\"0-1\"}],\"distances\":[[10]],\"pci\":[],"
                     "\"cpus\":[{\"cpu\":0,\"node\":0,\"package\":0,\"core\":0,\"smt\":0},"
                     "{\"cpu\":1,\"node\":0,\"package\":0,\"core\":1,\"smt\":0}]}");
    snprintf(kernel, sizeof kernel, "%s/kernel", f->dir);
    write_file(kernel, "not really a kernel: a dry run only checks it is readable\n");
    use_own_user(f);
    snprintf(cfg, sizeof cfg, "%s/p2.cfg", f->dir);
    char text[600];
    snprintf(text, sizeof text,
             "name = \"p2\"\nmemory = 16\nvcpus = 1\naccel = \"tcg\"\nkernel = \"%s\"\n", kernel);
    write_file(cfg, text);

    /* p1: this process, mapping its memory file where domain/ derives it, 32 MiB touched. */
    struct vn_dom_memdir m;
    assert_int_equal(vn_dom_memdir_for(f->state, "p1", &m, &f->err), 0);
    int dfd = vn_dom_memdir_open(&m, true, &f->err);
    assert_true(dfd >= 0);
    assert_int_equal(vn_dom_memdir_make_files(dfd, m.path, 1, &f->err), 0);
    int mfd = openat(dfd, "vnode0", O_RDWR);
    close(dfd);
    assert_int_equal(ftruncate(mfd, 48 << 20), 0);
    char *mem = mmap(NULL, 48 << 20, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
    assert_true(mem != MAP_FAILED);
    memset(mem, 1, 32 << 20);

    struct vn_domain_record r;
    vn_domain_record_init(&r);
    snprintf(r.name, sizeof r.name, "p1");
    r.status = VN_DOMAIN_RUNNING;
    r.qemu_pid = getpid();
    assert_int_equal(vn_proc_start_time(getpid(), &r.qemu_start, &f->err), 0);
    r.config_path = strdup("/x/p1.cfg");
    r.placement = tr_placement(1, (int[]){0}, (uint64_t[]){48}, 1, (int[]){0});
    r.mem_dir = strdup(m.path);
    assert_int_equal(vn_state_lock(f->s, 1000, "test", &f->err), 0);
    if (vn_state_write_record(f->s, &r, &f->err) < 0)
        fail_msg("%s", f->err.msg);
    vn_state_unlock(f->s);
    vn_domain_record_clear(&r);

    struct vn_domain_create_opts o = {.state_dir = f->state, .host_spec = host, .dry_run = true};
    struct vn_domain_create_result res;
    struct vn_diags diags = {0};
    int rc = vn_domain_create(cfg, &o, &res, &diags, &f->err);
    if (rc < 0)
        fail_msg("p2 should fit beside p1: %s", f->err.msg);
    assert_int_equal(res.placement->claim.v[0].node, 0);
    vn_domain_create_result_clear(&res);
    vn_diags_free(&diags);

    /* The same with p1's pages not resident (dropped): now it really does not fit. */
    assert_int_equal(madvise(mem, 48 << 20, MADV_REMOVE), 0);
    assert_int_equal(vn_domain_create(cfg, &o, &res, &diags, &f->err), -1);
    assert_non_null(strstr(f->err.msg, "does not fit"));
    vn_diags_free(&diags);
    munmap(mem, 48 << 20);
    close(mfd);
    vn_dom_memdir_remove(&m, &f->err);
}

/* A running record named name whose "QEMU" is this process: one vnode of mib on node. */
static void put_running(struct fx *f, const char *name, int node, uint64_t mib)
{
    struct vn_domain_record r;
    vn_domain_record_init(&r);
    snprintf(r.name, sizeof r.name, "%s", name);
    r.status = VN_DOMAIN_RUNNING;
    r.qemu_pid = getpid();
    assert_int_equal(vn_proc_start_time(getpid(), &r.qemu_start, &f->err), 0);
    r.config_path = strdup("/x/x.cfg");
    r.placement = tr_placement(1, &node, &mib, 1, (int[]){0});
    assert_int_equal(vn_state_lock(f->s, 1000, "test", &f->err), 0);
    if (vn_state_write_record(f->s, &r, &f->err) < 0)
        fail_msg("%s", f->err.msg);
    vn_state_unlock(f->s);
    vn_domain_record_clear(&r);
}

/* A pid that no longer runs: a child that exited and was reaped. */
static pid_t dead_pid(uint64_t *start)
{
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    if (pid == 0) {
        char c;
        ssize_t n = read(fds[0], &c, 1);
        _exit(n == 1 ? 0 : 1);
    }
    struct vn_error e = {0};
    assert_int_equal(vn_proc_start_time(pid, start, &e), 0);
    assert_int_equal(write(fds[1], "x", 1), 1);
    close(fds[0]);
    close(fds[1]);
    waitpid(pid, NULL, 0);
    return pid;
}

/* A record of name whose QEMU and watcher have both exited, with config's on_* keys. */
static void put_orphaned(struct fx *f, const char *name, const char *config, bool watcher_alive)
{
    struct vn_domain_record r;
    vn_domain_record_init(&r);
    snprintf(r.name, sizeof r.name, "%s", name);
    r.status = VN_DOMAIN_RUNNING;
    r.qemu_pid = dead_pid(&r.qemu_start);
    if (watcher_alive) {
        r.watcher_pid = getpid();
        assert_int_equal(vn_proc_start_time(getpid(), &r.watcher_start, &f->err), 0);
    } else {
        r.watcher_pid = dead_pid(&r.watcher_start);
    }
    r.spec = tr_spec(config);
    int node = 0;
    uint64_t mib = 256;
    r.placement = tr_placement(1, &node, &mib, 1, (int[]){0});
    assert_int_equal(vn_state_lock(f->s, 1000, "test", &f->err), 0);
    if (vn_state_write_record(f->s, &r, &f->err) < 0)
        fail_msg("%s", f->err.msg);
    vn_state_unlock(f->s);
    vn_domain_record_clear(&r);
}

/* destroy's one path acts only on the domain the caller saw: a record that names another
 * QEMU (destroyed and created again meanwhile) is left alone; preserve keeps the record. */
static void test_end_checks_identity(void **state)
{
    struct fx *f = *state;
    put_running(f, "x", 0, 256);
    struct vn_domain_record r;
    assert_int_equal(vn_state_read_record(f->s, "x", &r, &f->err), 0);
    struct vn_dom_ident other = {r.qemu_pid, r.qemu_start + 1}, same = {r.qemu_pid, r.qemu_start};
    vn_domain_record_clear(&r);
    struct vn_dom_end end = {.expect = &other};
    assert_int_equal(vn_dom_end(f->s, "x", &end, &f->err), 1);
    assert_int_equal(vn_state_read_record(f->s, "x", &r, &f->err), 0);
    assert_int_equal(r.status, VN_DOMAIN_RUNNING);
    vn_domain_record_clear(&r);
    end = (struct vn_dom_end){.expect = &same, .preserve = true, .stopped = "crash"};
    if (vn_dom_end(f->s, "x", &end, &f->err) != 0)
        fail_msg("%s", f->err.msg);
    assert_int_equal(vn_state_read_record(f->s, "x", &r, &f->err), 0);
    assert_int_equal(r.status, VN_DOMAIN_PRESERVED);
    assert_string_equal(r.stopped, "crash");
    assert_true(r.stopped_at > 0);
    vn_domain_record_clear(&r);
    end = (struct vn_dom_end){.expect = &same};
    assert_int_equal(vn_dom_end(f->s, "x", &end, &f->err), 0);
    assert_int_equal(vn_state_read_record(f->s, "x", &r, &f->err), -1);
    assert_int_equal(f->err.errnum, ENOENT);
}

static void collect(void *ctx, const char *msg)
{
    char *buf = ctx;
    snprintf(buf + strlen(buf), 4096 - strlen(buf), "%s\n", msg);
}

/* list's clean-up: QEMU and watcher gone -> on_poweroff (destroy, preserve); a live watcher
 * or a watcher's own note leaves the record alone. */
static void test_reap(void **state)
{
    struct fx *f = *state;
    put_orphaned(f, "gone", "name = \"gone\"\nmemory = 256\n", false);
    put_orphaned(f, "kept", "name = \"kept\"\nmemory = 256\non_poweroff = \"preserve\"\n", false);
    put_orphaned(f, "watched", "name = \"watched\"\nmemory = 256\n", true);
    char said[4096] = "";
    if (vn_domain_reap(f->state, collect, said, &f->err) < 0)
        fail_msg("%s", f->err.msg);
    struct vn_domain_record r;
    assert_int_equal(vn_state_read_record(f->s, "gone", &r, &f->err), -1);
    assert_int_equal(f->err.errnum, ENOENT);
    assert_int_equal(vn_state_read_record(f->s, "kept", &r, &f->err), 0);
    assert_int_equal(r.status, VN_DOMAIN_PRESERVED);
    assert_string_equal(r.stopped, "poweroff");
    vn_domain_record_clear(&r);
    assert_int_equal(vn_state_read_record(f->s, "watched", &r, &f->err), 0);
    assert_int_equal(r.status, VN_DOMAIN_RUNNING);
    vn_domain_record_clear(&r);
    assert_non_null(strstr(said, "domain 'gone': its QEMU (pid "));
    assert_non_null(strstr(said, "are gone; taken as a poweroff: on_poweroff = \"destroy\": "
                                 "destroyed (claim released, files and record removed)"));
    assert_non_null(strstr(said, "poweroff: on_poweroff = \"preserve\": QEMU is gone, the record "
                                 "is kept as preserved"));
    assert_null(strstr(said, "'watched'"));
    /* A second pass finds nothing more to do (the preserved record is not reaped again). */
    said[0] = '\0';
    assert_int_equal(vn_domain_reap(f->state, collect, said, &f->err), 0);
    assert_string_equal(said, "");
}

/* Two re-placements race for the last 512 MiB of node 1: exactly one wins, the other is
 * refused with the figures, and the claims never exceed the node. */
static void test_replace_race_one_wins(void **state)
{
    struct fx *f = *state;
    char host[200];
    snprintf(host, sizeof host, "%s/host2.json", f->dir);
    write_file(host, "{\"name\":\"two\",\"nodes\":["
                     "{\"node\":0,\"package\":0,\"memory_mib\":1024,\"cpus\":\"0\"},"
                     "{\"node\":1,\"package\":0,\"memory_mib\":1024,\"cpus\":\"1\"}],"
                     "\"distances\":[[10,20],[20,10]],\"pci\":[],\"cpus\":["
                     "{\"cpu\":0,\"node\":0,\"package\":0,\"core\":0,\"smt\":0},"
                     "{\"cpu\":1,\"node\":1,\"package\":0,\"core\":1,\"smt\":0}]}");
    struct vn_host_topo *t = vn_topo_load(host, &f->err);
    if (!t)
        fail_msg("%s", f->err.msg);
    put_running(f, "a", 0, 512);
    put_running(f, "b", 0, 512);
    put_running(f, "c", 1, 512);
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    const char *names[2] = {"a", "b"};
    pid_t kids[2];
    for (int i = 0; i < 2; i++) {
        kids[i] = fork();
        if (kids[i] == 0) {
            struct vn_domain_placement_update u = {.nvnodes = 1, .pnode = {1}, .topo = t};
            struct vn_error e = {0};
            char line[VN_ERROR_MSG_MAX + 8];
            int rc = vn_domain_set_placement(f->state, names[i], &u, &e);
            int n = snprintf(line, sizeof line, "%d %s\n", rc, rc == 0 ? "won" : e.msg);
            ssize_t w = write(fds[1], line, (size_t)n);
            _exit(w == n ? 0 : 1);
        }
    }
    close(fds[1]);
    char buf[4096] = "";
    size_t got = 0;
    ssize_t n;
    while (got < sizeof buf - 1 && (n = read(fds[0], buf + got, sizeof buf - 1 - got)) > 0)
        got += (size_t)n;
    close(fds[0]);
    for (int i = 0; i < 2; i++)
        waitpid(kids[i], NULL, 0);
    int wins = 0;
    for (char *p = buf; (p = strstr(p, "0 won")); p++)
        wins++;
    if (wins != 1)
        fail_msg("want exactly one winner, got %d:\n%s", wins, buf);
    assert_non_null(strstr(buf, "host node 1 would hold claims of 1536 MiB, more than its 1024 "
                                "MiB (1024 MiB of them claimed by other domains)"));
    vn_topo_free(t);
}

/* vcpu-pin DOMAIN all fills one entry per vCPU: the result must hold as many as a config may
 * have (it held 256 of 1024, and wrote past its end). */
static void test_vcpu_result_holds_every_vcpu(void **state)
{
    (void)state;
    struct vn_domain_vcpu_result *res = NULL;
    assert_true(sizeof res->v / sizeof res->v[0] >= VN_MAX_VCPUS);
}

/* The whole QEMU argv of a domain for a config's text, one argument per line, compared with
 * tests/data/golden/NAME (VNUMA_REGEN=1 writes it).  Fixed paths, so the golden is stable. */
static void argv_golden_taps(const char *name, const char *cfg, const struct vn_accel_result *accel,
                             const struct vn_tap *taps)
{
    struct vn_diags diags;
    vn_diags_init(&diags, name);
    struct vn_vm_spec *spec = vn_config_parse_buf(cfg, strlen(cfg), name, &diags);
    if (!spec)
        fail_msg("config for %s does not parse", name);
    /* validation rewrites root= (config/validate.c), as create does before the argv */
    if (vn_config_validate(spec, NULL, &diags) != 0)
        fail_msg("config for %s does not validate", name);
    vn_diags_free(&diags);
    struct vn_placement *p = tr_placement(1, (int[]){0}, (uint64_t[]){256}, 1, (int[]){0});
    struct vn_dom_paths paths = {0};
    snprintf(paths.run, sizeof paths.run, "/RUN/g");
    snprintf(paths.mem, sizeof paths.mem, "/MEM/g");
    snprintf(paths.qmp, sizeof paths.qmp, "/RUN/g/qmp.sock");
    snprintf(paths.watch, sizeof paths.watch, "/RUN/g/watch.sock");
    snprintf(paths.console, sizeof paths.console, "/RUN/g/console.sock");
    snprintf(paths.console_log, sizeof paths.console_log, "/RUN/g/console.log");
    snprintf(paths.vnc, sizeof paths.vnc, "/RUN/g/vnc.sock");
    struct vn_error err = {0};
    /* the config's kernel (as create passes it), or none: then the firmware boots a disk */
    char **argv = vn_dom_qemu_argv("qemu-system-x86_64", spec, p, accel, &paths, taps, spec->kernel,
                                   NULL, spec->cmdline ? spec->cmdline : "console=ttyS0", &err);
    if (!argv)
        fail_msg("%s", err.msg);
    size_t len = 1;
    for (char **a = argv; *a; a++)
        len += strlen(*a) + 1;
    char *text = calloc(1, len);
    for (char **a = argv; *a; a++) {
        strcat(text, *a);
        strcat(text, "\n");
    }
    const char *root = getenv("VNUMA_SRCDIR");
    assert_non_null(root);
    char path[4096];
    snprintf(path, sizeof path, "%s/tests/data/golden/%s", root, name);
    if (getenv("VNUMA_REGEN")) {
        write_file(path, text);
    } else {
        static char want[16384];
        FILE *fp = fopen(path, "r");
        if (!fp)
            fail_msg("golden file '%s' is missing; run with VNUMA_REGEN=1 to create it", path);
        want[fread(want, 1, sizeof want - 1, fp)] = '\0';
        fclose(fp);
        if (strcmp(want, text) != 0) {
            print_error("--- %s\n%s\n+++ got\n%s\n", path, want, text);
            fail_msg("the argv differs from golden file '%s'", path);
        }
    }
    free(text);
    vn_argv_free(argv);
    free(p);
    vn_spec_free(spec);
}

static void argv_golden(const char *name, const char *cfg, const struct vn_accel_result *accel)
{
    argv_golden_taps(name, cfg, accel, NULL);
}

/* NICs in the argv: a tap with vhost-net, one without, e1000, rtl8139, user-mode, the order of
 * devid whatever the order written, the given and the generated MAC; no vif: -nic none. */
static void test_argv_nics(void **state)
{
    (void)state;
    const char *base = "name = \"g\"\nmemory = 256\nvcpus = 1\nkernel = \"/boot/vmlinuz\"\n";
    char cfg[1024];
    struct vn_accel_result tcg = {.accel = VN_ACCEL_TCG};
    struct vn_tap vhost[1] = {{.name = "vn1", .fd = 7, .vhost_fd = 8}};
    snprintf(cfg, sizeof cfg, "%svif = [ 'bridge=br0' ]\n", base);
    argv_golden_taps("argv-net-virtio-vhost.qemu", cfg, &tcg, vhost);
    struct vn_tap plain[1] = {{.name = "vn1", .fd = 7, .vhost_fd = -1}};
    snprintf(cfg, sizeof cfg, "%svif = [ 'bridge=br0,model=e1000,mac=00:16:3e:01:02:03' ]\n", base);
    argv_golden_taps("argv-net-e1000.qemu", cfg, &tcg, plain);
    snprintf(cfg, sizeof cfg, "%svif = [ 'type=user' ]\n", base);
    argv_golden_taps("argv-net-user.qemu", cfg, &tcg,
                     (struct vn_tap[]){{.fd = -1, .vhost_fd = -1}});
    /* written devid 1 then 0: QEMU gets net0 (the tap on fd 9) first */
    struct vn_tap two[2] = {{.name = "b", .fd = 9, .vhost_fd = 10},
                            {.name = "a", .fd = 11, .vhost_fd = -1}};
    snprintf(cfg, sizeof cfg,
             "%svif = [ 'devid=1,bridge=br1,model=rtl8139', 'devid=0,bridge=br0' ]\n", base);
    argv_golden_taps("argv-net-two-devid.qemu", cfg, &tcg, two);
}

/* VNC in the argv: the runtime dir's socket by default, loopback TCP with vnclisten, and
 * password=on (the password itself never on the command line); the accelerator's CPU model. */
static void test_argv_vnc_and_cpu_model(void **state)
{
    const char *base = "name = \"g\"\nmemory = 256\nvcpus = 1\nkernel = \"/boot/vmlinuz\"\n";
    char cfg[512];
    struct vn_accel_result tcg = {.accel = VN_ACCEL_TCG};
    struct vn_accel_result kvm = {.accel = VN_ACCEL_KVM, .cpu = VN_ACCEL_CPU_NO_ARCH_CAPS};
    snprintf(cfg, sizeof cfg, "%svnc = 1\nvncpasswd = \"s3cret\"\n", base);
    argv_golden("argv-vnc-unix.qemu", cfg, &tcg);
    snprintf(cfg, sizeof cfg, "%svnc = 1\nvnclisten = \"127.0.0.1:3\"\n", base);
    argv_golden("argv-vnc-tcp.qemu", cfg, &kvm);
    snprintf(cfg, sizeof cfg,
             "%svnc = 1\nvnclisten = \"0.0.0.0\"\nvnc_remote = 1\nvncpasswd = \"pw\"\n", base);
    argv_golden("argv-vnc-remote.qemu", cfg, &tcg);
    /* Without vnc = 1 there is no -vnc at all. */
    snprintf(cfg, sizeof cfg, "%svnclisten = \"127.0.0.1\"\n", base);
    argv_golden("argv-novnc.qemu", cfg, &tcg);
}

/* Who QEMU runs as for a host config's text and an effective uid: rc, and err containing want. */
static void cred_case(const char *text, const char *user_override, uid_t euid, int want_rc,
                      const char *want, struct vn_qemu_cred *c)
{
    struct vn_host_conf hc = {0};
    struct vn_error err = {0};
    if (vn_host_conf_parse_buf(text, strlen(text), "h.conf", &hc, &err) < 0)
        fail_msg("host config does not parse: %s", err.msg);
    if (user_override) {
        free(hc.qemu_user);
        hc.qemu_user = strdup(user_override);
    }
    int rc = vn_dom_qemu_cred_for(&hc, euid, c, &err);
    vn_host_conf_clear(&hc);
    if (rc != want_rc)
        fail_msg("'%s' as uid %u: rc %d, want %d (%s)", text, (unsigned)euid, rc, want_rc, err.msg);
    if (want && !strstr(err.msg, want))
        fail_msg("'%s': error '%s' does not contain '%s'", text, err.msg, want);
}

/* Credential resolution: root takes qemu_user/qemu_group; a missing user says how to make it;
 * a written key is named at FILE:LINE:COL; a non-root vnuma keeps its own user. */
static void test_qemu_cred_resolution(void **state)
{
    (void)state;
    struct vn_qemu_cred c;
    /* The default user, not on this host. */
    cred_case("", "vn-nosuch-user", 0, -1,
              "the QEMU user 'vn-nosuch-user' does not exist (QEMU runs as it when vnuma is "
              "root); run scripts/setup.sh (or install the vnuma package) to create it, or set "
              "qemu_user in h.conf",
              &c);
    cred_case("qemu_user = \"vn-nosuch-user\"\n", NULL, 0, -1,
              "h.conf:1:13: qemu_user: the QEMU user 'vn-nosuch-user' does not exist; create it "
              "or change qemu_user",
              &c);
    cred_case("qemu_user = \"root\"\nqemu_group = \"vn-nosuch-group\"\n", NULL, 0, -1,
              "h.conf:2:14: qemu_group: the QEMU group 'vn-nosuch-group' does not exist", &c);
    /* Not root: another user is refused, no qemu_user means the invoking user. */
    cred_case("qemu_user = \"root\"\n", NULL, 4242, -1,
              "h.conf:1:13: qemu_user: 'root' (uid 0) is not the user vnuma runs as (uid 4242): "
              "only root can start QEMU as another user",
              &c);
    cred_case("", "vn-nosuch-user", 4242, 0, NULL, &c);
    assert_false(c.change);
    /* Root with a user that exists: its uid, primary group, and that group first. */
    struct passwd *pw = getpwnam("nobody");
    if (!pw) {
        print_message("# no user 'nobody' here: the resolution of a real user is not checked\n");
        return;
    }
    uid_t uid = pw->pw_uid;
    gid_t gid = pw->pw_gid;
    cred_case("qemu_user = \"nobody\"\n", NULL, 0, 0, NULL, &c);
    assert_true(c.change);
    assert_int_equal(c.uid, uid);
    assert_int_equal(c.gid, gid);
    assert_true(c.ngroups >= 1);
    assert_int_equal(c.groups[0], gid);
    assert_string_equal(c.user, "nobody");
    cred_case("qemu_user = \"nobody\"\nqemu_group = \"root\"\n", NULL, 0, 0, NULL, &c);
    assert_int_equal(c.gid, 0);
    assert_int_equal(c.groups[0], 0);
    assert_string_equal(c.group, "root");
}

/* A create fails before anything starts when the QEMU user is missing (no state dir made), and
 * names the file and the user when that user cannot read the kernel (root only: as anyone
 * else QEMU runs as the caller). */
static void test_create_confined_checks(void **state)
{
    struct fx *f = *state;
    char host[200], cfg[200], kernel[200], fresh[200], text[600];
    snprintf(host, sizeof host, "%s/host.json", f->dir);
    write_file(host, "{\"name\":\"tiny\",\"nodes\":[{\"node\":0,\"package\":0,\"memory_mib\":64,"
                     "\"free_mib\":64,\"cpus\":\"0\"}],\"distances\":[[10]],\"pci\":[],"
                     "\"cpus\":[{\"cpu\":0,\"node\":0,\"package\":0,\"core\":0,\"smt\":0}]}");
    snprintf(kernel, sizeof kernel, "%s/kernel", f->dir);
    write_file(kernel, "not really a kernel\n");
    snprintf(cfg, sizeof cfg, "%s/c.cfg", f->dir);
    snprintf(text, sizeof text,
             "name = \"c\"\nmemory = 16\nvcpus = 1\naccel = \"tcg\"\nkernel = \"%s\"\n", kernel);
    write_file(cfg, text);
    snprintf(fresh, sizeof fresh, "%s/fresh-state", f->dir);

    struct vn_domain_create_opts o = {.state_dir = fresh, .host_spec = host};
    struct vn_domain_create_result res;
    struct vn_diags diags = {0};
    struct stat st;
    if (geteuid() == 0) {
        use_host_conf(f, "qemu_user = \"vn-nosuch-user\"\n");
        assert_int_equal(vn_domain_create(cfg, &o, &res, &diags, &f->err), -1);
        vn_diags_free(&diags);
        assert_non_null(strstr(f->err.msg, "domain 'c' cannot be created: "));
        assert_non_null(strstr(f->err.msg, "qemu_user: the QEMU user 'vn-nosuch-user' does not"));
        assert_int_equal(stat(fresh, &st), -1);
    } else {
        /* Not root: naming another user is refused just as early. */
        use_host_conf(f, "qemu_user = \"root\"\n");
        assert_int_equal(vn_domain_create(cfg, &o, &res, &diags, &f->err), -1);
        vn_diags_free(&diags);
        assert_non_null(strstr(f->err.msg, "only root can start QEMU as another user"));
        assert_int_equal(stat(fresh, &st), -1);
        return;
    }
    struct passwd *pw = getpwnam("nobody");
    if (!pw) {
        print_message("# no user 'nobody' here: the access check is not run\n");
        return;
    }
    use_host_conf(f, "qemu_user = \"nobody\"\n");
    o.dry_run = true;
    /* The scratch dir is 0700: the kernel in it is fine (vnuma opens it and QEMU reads it
     * through the descriptor), but QEMU's sockets go under the state dir, which nobody
     * cannot reach. */
    assert_int_equal(chmod(kernel, 0644), 0);
    assert_int_equal(chmod(f->dir, 0700), 0);
    assert_int_equal(vn_domain_create(cfg, &o, &res, &diags, &f->err), -1);
    vn_diags_free(&diags);
    char want[600];
    snprintf(want, sizeof want,
             "domain 'c': QEMU runs as user 'nobody' (uid %u), which cannot reach the state "
             "directory's parent '%s' (Permission denied)",
             (unsigned)pw->pw_uid, f->dir);
    if (!strstr(f->err.msg, want))
        fail_msg("'%s' does not contain '%s'", f->err.msg, want);
    if (strstr(f->err.msg, "'kernel'"))
        fail_msg("the kernel in a closed dir is refused: %s", f->err.msg);
    /* Reachable and readable: the dry run goes through. */
    assert_int_equal(chmod(f->dir, 0711), 0);
    assert_int_equal(chmod(kernel, 0644), 0);
    if (vn_domain_create(cfg, &o, &res, &diags, &f->err) < 0)
        fail_msg("%s", f->err.msg);
    vn_domain_create_result_clear(&res);
    vn_diags_free(&diags);
    /* A QEMU binary only root may execute. */
    char bin[200];
    snprintf(bin, sizeof bin, "%s/qemu", f->dir);
    write_file(bin, "#!/bin/sh\nexit 1\n");
    assert_int_equal(chmod(bin, 0700), 0);
    setenv("VNUMA_QEMU", bin, 1);
    int qrc = vn_domain_create(cfg, &o, &res, &diags, &f->err);
    unsetenv("VNUMA_QEMU");
    vn_diags_free(&diags);
    assert_int_equal(qrc, -1);
    if (!strstr(f->err.msg, "which cannot execute the QEMU binary") || !strstr(f->err.msg, bin))
        fail_msg("%s", f->err.msg);
    /* KVM asked for: nobody is not in the group kvm, so /dev/kvm is out of its reach. */
    struct stat kst;
    if (stat("/dev/kvm", &kst) == 0 && !(kst.st_mode & 006)) {
        snprintf(text, sizeof text,
                 "name = \"c\"\nmemory = 16\nvcpus = 1\naccel = \"kvm\"\nkernel = \"%s\"\n",
                 kernel);
        write_file(cfg, text);
        assert_int_equal(vn_domain_create(cfg, &o, &res, &diags, &f->err), -1);
        vn_diags_free(&diags);
        if (!strstr(f->err.msg, "which cannot read and write the KVM device '/dev/kvm'") ||
            !strstr(f->err.msg, "group 'kvm'"))
            fail_msg("%s", f->err.msg);
        snprintf(text, sizeof text,
                 "name = \"c\"\nmemory = 16\nvcpus = 1\naccel = \"tcg\"\nkernel = \"%s\"\n",
                 kernel);
        write_file(cfg, text);
    }
    /* Readable by root only: refused, naming the file, its owner and mode. */
    assert_int_equal(chmod(kernel, 0600), 0);
    assert_int_equal(vn_domain_create(cfg, &o, &res, &diags, &f->err), -1);
    vn_diags_free(&diags);
    snprintf(want, sizeof want,
             "domain 'c': QEMU runs as user 'nobody' (uid %u), which cannot read the 'kernel' "
             "file '%s' (owner %u, group %u, mode 0600)",
             (unsigned)pw->pw_uid, kernel, (unsigned)getuid(), (unsigned)getgid());
    if (!strstr(f->err.msg, want))
        fail_msg("'%s' does not contain '%s'", f->err.msg, want);
}

/* Disks in the argv: each a -drive with its format always given and a device whose id is the
 * vdev, in the guest's naming order (config/vdev.c) whatever the list's order; a read-only
 * disk; CD-ROMs (one with an image, one empty) on their own AHCI ports; qcow2 (its backing
 * file comes from the image, checked by create); root= rewritten in -append. */
static void test_argv_disks(void **state)
{
    (void)state;
    const char *base = "name = \"g\"\nmemory = 256\nvcpus = 1\nkernel = \"/boot/vmlinuz\"\n";
    char cfg[1024];
    struct vn_accel_result tcg = {.accel = VN_ACCEL_TCG};
    snprintf(cfg, sizeof cfg,
             "%sdisk = [ '/img/root.img,raw,xvda,rw' ]\nroot = \"/dev/xvda\"\n"
             "extra = \"console=ttyS0\"\n",
             base);
    argv_golden("argv-disk-raw.qemu", cfg, &tcg);
    snprintf(cfg, sizeof cfg,
             "%sdisk = [ 'format=qcow2, vdev=xvda, target=/img/over,lay.qcow2' ]\n"
             "cmdline = \"console=ttyS0 root=/dev/xvda1\"\n",
             base);
    argv_golden("argv-disk-qcow2.qemu", cfg, &tcg);
    snprintf(cfg, sizeof cfg,
             "%sdisk = [ '/img/data.img,raw,xvdc,ro', '/img/root.img,raw,xvda,w' ]\n"
             "root = \"/dev/xvda\"\n",
             base);
    argv_golden("argv-disk-ro.qemu", cfg, &tcg);
    snprintf(cfg, sizeof cfg,
             "%sdisk = [ ',,hdd,cdrom', '/img/boot.iso,,hdc,devtype=cdrom', '/img/a.img,,hda' ]\n",
             base);
    argv_golden("argv-disk-cdrom.qemu", cfg, &tcg);
    /* No kernel: the firmware boots, in xl's default order "cd" (disks, then CD-ROMs). */
    argv_golden("argv-disk-firmware.qemu",
                "name = \"g\"\nmemory = 256\nvcpus = 1\n"
                "disk = [ '/img/install.iso,raw,hdc,cdrom', '/img/b.img,raw,xvdb', "
                "'/img/a.img,raw,xvda' ]\n",
                &tcg);
}

/* ---- disk images (diskimg.c) ---- */

static void put32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24), p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8), p[3] = (unsigned char)v;
}

/* A qcow2 v3 header as qemu-img writes one: backing name after the extensions, the backing
 * format extension when fmt is not NULL, incompatible bit 2 when data_file. */
static void write_qcow2(const char *path, const char *backing, const char *fmt, bool data_file)
{
    unsigned char buf[1024] = {0};
    put32(buf, 0x514649fb);
    put32(buf + 4, 3);
    put32(buf + 20, 16);
    put32(buf + 100, 104); /* header_length */
    size_t ext = 104;
    if (data_file)
        buf[79] = 4;
    if (fmt) {
        put32(buf + ext, 0xe2792aca);
        put32(buf + ext + 4, (uint32_t)strlen(fmt));
        memcpy(buf + ext + 8, fmt, strlen(fmt));
        ext += 8 + ((strlen(fmt) + 7) & ~(size_t)7);
    }
    ext += 8; /* end of extensions */
    if (backing) {
        put32(buf + 12, (uint32_t)ext); /* backing_file_offset (low half) */
        put32(buf + 16, (uint32_t)strlen(backing));
        memcpy(buf + ext, backing, strlen(backing));
    }
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    assert_int_equal(fwrite(buf, 1, sizeof buf, fp), sizeof buf);
    fclose(fp);
}

/* check_disk DIR SPEC: vn_dom_disk_check on the one disk of a config; returns its result,
 * the format it leaves in *fmt (caller frees) and the message in err. */
static int check_disk(const char *spec_text, char **fmt, struct vn_error *err)
{
    char cfg[1024];
    snprintf(cfg, sizeof cfg, "name = 'd'\nmemory = 64\ndisk = [ '%s' ]\n", spec_text);
    struct vn_diags diags;
    vn_diags_init(&diags, "d.cfg");
    struct vn_vm_spec *spec = vn_config_parse_buf(cfg, strlen(cfg), "d.cfg", &diags);
    vn_diags_free(&diags);
    assert_non_null(spec);
    memset(err, 0, sizeof *err);
    int rc = vn_dom_disk_check("d", &spec->disks[0], err);
    *fmt = strdup(spec->disks[0].format);
    vn_spec_free(spec);
    return rc;
}

/* The format is the config's or probed (qcow2 only when the image names no other file); a
 * qcow2 backing chain must be there, readable and record its formats; every error names the
 * domain, the vdev and the path. */
static void test_disk_images(void **state)
{
    struct fx *f = *state;
    char raw[600], q[600], qb[600], qnofmt[600], qdata[600], spec[1400], *fmt;
    struct vn_error err;
    snprintf(raw, sizeof raw, "%s/base.img", f->dir);
    write_file(raw, "not a qcow2 header, just data");
    snprintf(q, sizeof q, "%s/plain.qcow2", f->dir);
    write_qcow2(q, NULL, NULL, false);
    snprintf(qb, sizeof qb, "%s/over.qcow2", f->dir);
    write_qcow2(qb, "base.img", "raw", false);
    snprintf(qnofmt, sizeof qnofmt, "%s/nofmt.qcow2", f->dir);
    write_qcow2(qnofmt, "base.img", NULL, false);
    snprintf(qdata, sizeof qdata, "%s/data.qcow2", f->dir);
    write_qcow2(qdata, NULL, NULL, true);

    snprintf(spec, sizeof spec, "%s,,xvda", raw);
    assert_int_equal(check_disk(spec, &fmt, &err), 0);
    assert_string_equal(fmt, "raw");
    free(fmt);
    snprintf(spec, sizeof spec, "%s,,xvda", q);
    assert_int_equal(check_disk(spec, &fmt, &err), 0);
    assert_string_equal(fmt, "qcow2"); /* probed */
    free(fmt);
    snprintf(spec, sizeof spec, "%s,raw,xvda", q);
    assert_int_equal(check_disk(spec, &fmt, &err), 0);
    assert_string_equal(fmt, "raw"); /* as written, never probed */
    free(fmt);

    /* probed, but it names other files: refused */
    snprintf(spec, sizeof spec, "%s,,xvdb", qb);
    assert_int_equal(check_disk(spec, &fmt, &err), -1);
    free(fmt);
    assert_non_null(strstr(err.msg, "domain 'd': disk 'xvdb': '"));
    assert_non_null(strstr(err.msg, "names other files (a backing file), and the config gives no "
                                    "format; write format=qcow2 if it is one"));
    snprintf(spec, sizeof spec, "%s,,xvdb", qdata);
    assert_int_equal(check_disk(spec, &fmt, &err), -1);
    free(fmt);
    assert_non_null(strstr(err.msg, "(an external data file)"));

    /* written as qcow2: the backing chain is followed */
    snprintf(spec, sizeof spec, "%s,qcow2,xvda", qb);
    assert_int_equal(check_disk(spec, &fmt, &err), 0);
    free(fmt);
    snprintf(spec, sizeof spec, "%s,qcow2,xvda", qnofmt);
    assert_int_equal(check_disk(spec, &fmt, &err), -1);
    free(fmt);
    assert_non_null(strstr(err.msg, "names the backing file 'base.img' but not its format"));
    assert_int_equal(unlink(raw), 0);
    snprintf(spec, sizeof spec, "%s,qcow2,xvda", qb);
    assert_int_equal(check_disk(spec, &fmt, &err), -1);
    free(fmt);
    char want[1400];
    snprintf(want, sizeof want,
             "domain 'd': disk 'xvda': the backing file '%s' cannot be used: No such file or "
             "directory",
             raw);
    assert_string_equal(err.msg, want);

    /* the image itself: missing, of another format, not a file */
    snprintf(spec, sizeof spec, "%s,raw,hdb", raw);
    assert_int_equal(check_disk(spec, &fmt, &err), -1);
    free(fmt);
    snprintf(want, sizeof want,
             "domain 'd': disk 'hdb': the image '%s' cannot be used: No such file or directory",
             raw);
    assert_string_equal(err.msg, want);
    write_file(raw, "raw data");
    snprintf(spec, sizeof spec, "%s,qcow2,xvda", raw);
    assert_int_equal(check_disk(spec, &fmt, &err), -1);
    free(fmt);
    assert_non_null(strstr(err.msg, "' is not a qcow2 image"));
    assert_int_equal(check_disk("/dev/null,raw,xvda,ro", &fmt, &err), -1);
    free(fmt);
    assert_string_equal(err.msg, "domain 'd': disk 'xvda': the image '/dev/null' is neither a "
                                 "regular file nor a block device");
    /* a damaged header: a backing name past the end of what was read */
    write_qcow2(qb, "base.img", "raw", false);
    FILE *fp = fopen(qb, "r+");
    assert_non_null(fp);
    fseek(fp, 16, SEEK_SET);
    fputc(0x7f, fp); /* backing_file_size = huge */
    fclose(fp);
    snprintf(spec, sizeof spec, "%s,qcow2,xvda", qb);
    assert_int_equal(check_disk(spec, &fmt, &err), -1);
    free(fmt);
    assert_non_null(strstr(err.msg, "has a damaged qcow2 header"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vcpu_result_holds_every_vcpu),
        cmocka_unit_test(test_argv_vnc_and_cpu_model),
        cmocka_unit_test(test_qemu_cred_resolution),
        cmocka_unit_test_setup_teardown(test_create_confined_checks, fx_setup, fx_teardown),
        cmocka_unit_test(test_argv_disks),
        cmocka_unit_test_setup_teardown(test_disk_images, fx_setup, fx_teardown),
        cmocka_unit_test(test_argv_nics),
        cmocka_unit_test_setup_teardown(test_replace_race_one_wins, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_end_checks_identity, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_reap, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_memdir_keyed_and_private, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_memdir_refuses_links_and_open_dirs, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(test_vet_record, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_create_counts_resident_once, fx_setup, fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
