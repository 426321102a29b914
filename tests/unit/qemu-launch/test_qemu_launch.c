/* Unit tests for the QEMU launcher, the guest paths and the guest image's mkcpio.
 *
 * They start real processes (QEMU with bad options, QEMU with "-machine none", sh, mkcpio)
 * but never boot a guest, so they take well under a second.  After every test no child may
 * be left: not running, not a zombie. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <utime.h>
#include <cmocka.h>
#include <dirent.h>
#include <pwd.h>

#include "qemu/accel.h"
#include "qemu/cred.h"
#include "qemu/guest_paths.h"
#include "qemu/launch.h"

static char tmpdir[256];
static char qemu[4096];
static int have_qemu;

static int setup(void **state)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/vnuma-test-launch.XXXXXX");
    if (!mkdtemp(tmpdir))
        return -1;
    struct vn_error err = {0};
    have_qemu = vn_qemu_find_binary(qemu, sizeof qemu, &err) == 0;
    return 0;
}

static int teardown(void **state)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

static void tmp_path(char *buf, size_t len, const char *name)
{
    snprintf(buf, len, "%s/%s", tmpdir, name);
}

/* No child of ours may be running or waiting to be reaped. */
static void assert_no_children(void)
{
    errno = 0;
    assert_int_equal(waitpid(-1, NULL, WNOHANG), -1);
    assert_int_equal(errno, ECHILD);
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void read_file(const char *path, char *buf, size_t len)
{
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    size_t n = fread(buf, 1, len - 1, f);
    buf[n] = '\0';
    fclose(f);
}

static void test_spawn_binary_not_found(void **state)
{
    char log[512];
    tmp_path(log, sizeof log, "notfound.log");
    const char *argv[] = {"/nonexistent/qemu-system-x86_64", "-version", NULL};
    struct vn_qemu_proc proc;
    struct vn_error err = {0};
    assert_int_equal(vn_qemu_spawn(argv, log, &proc, &err), -1);
    assert_string_equal(err.msg, "cannot execute QEMU '/nonexistent/qemu-system-x86_64': No "
                                 "such file or directory");
    assert_int_equal(err.errnum, ENOENT);
    assert_no_children();
}

static void test_spawn_needs_a_path(void **state)
{
    const char *argv[] = {"qemu-system-x86_64", NULL};
    struct vn_qemu_proc proc;
    struct vn_error err = {0};
    assert_int_equal(vn_qemu_spawn(argv, "/dev/null", &proc, &err), -1);
    assert_string_equal(err.msg, "the QEMU binary 'qemu-system-x86_64' must be given as a path.");
    assert_no_children();
}

static void test_spawn_log_not_creatable(void **state)
{
    const char *argv[] = {"/bin/true", NULL};
    struct vn_qemu_proc proc;
    struct vn_error err = {0};
    assert_int_equal(vn_qemu_spawn(argv, "/nonexistent/dir/q.log", &proc, &err), -1);
    assert_string_equal(err.msg, "cannot create the QEMU log '/nonexistent/dir/q.log': No such "
                                 "file or directory");
    assert_no_children();
}

/* Runs /usr/bin/id held and released as cred; its output in *out.  rc of the release. */
static int run_id_as(const struct vn_qemu_cred *cred, char *out, size_t len, struct vn_error *err)
{
    char log[512];
    tmp_path(log, sizeof log, "id.log");
    const char *argv[] = {"/usr/bin/id", NULL};
    struct vn_qemu_proc proc;
    assert_int_equal(vn_qemu_spawn_held_as(argv, log, NULL, 0, cred, &proc, err), 0);
    int rc = vn_qemu_release(&proc, argv[0], err);
    if (rc == 0) {
        int st = 0;
        assert_int_equal(vn_qemu_wait_exit(proc.pid, 5000, &st, err), 1);
        assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    }
    read_file(log, out, len);
    assert_no_children();
    return rc;
}

/* The launcher child becomes the QEMU user (uid, gid, groups) before execve; a failure to do
 * so is the release's error, named, and nothing is left running. */
static void test_spawn_as_another_user(void **state)
{
    struct passwd *pw = getpwnam("nobody");
    if (!pw || access("/usr/bin/id", X_OK) < 0) {
        skip();
        return;
    }
    uid_t uid = pw->pw_uid;
    gid_t gid = pw->pw_gid;
    struct vn_qemu_cred c;
    struct vn_error err = {0};
    assert_int_equal(vn_qemu_cred_resolve("nobody", NULL, &c, &err), 0);
    char out[512], want[128];
    if (geteuid() != 0) {
        /* Only root may change who it is: the drop fails, and says so. */
        assert_int_equal(run_id_as(&c, out, sizeof out, &err), -1);
        assert_non_null(strstr(err.msg, "cannot run QEMU '/usr/bin/id' as user 'nobody'"));
        return;
    }
    assert_int_equal(run_id_as(&c, out, sizeof out, &err), 0);
    snprintf(want, sizeof want, "uid=%u(nobody) gid=%u(", (unsigned)uid, (unsigned)gid);
    if (strncmp(out, want, strlen(want)) != 0)
        fail_msg("id printed '%s', want it to start with '%s'", out, want);
    assert_null(strstr(out, "(root)"));
    /* An impossible group list: setgroups refuses, the child reports it and exits unexec'd. */
    c.ngroups = 65537;
    assert_int_equal(run_id_as(&c, out, sizeof out, &err), -1);
    snprintf(want, sizeof want, "cannot run QEMU '/usr/bin/id' as user 'nobody' (uid %u): Invalid",
             (unsigned)uid);
    if (!strstr(err.msg, want))
        fail_msg("'%s' does not contain '%s'", err.msg, want);
    assert_string_equal(out, "");
}

/* What the QEMU user can open is asked of that very user: a root-only file fails, naming it. */
static void test_cred_access(void **state)
{
    if (geteuid() != 0 || !getpwnam("nobody")) {
        skip();
        return;
    }
    struct vn_qemu_cred c;
    struct vn_error err = {0};
    assert_int_equal(vn_qemu_cred_resolve("nobody", NULL, &c, &err), 0);
    char priv[512], open_file[512];
    tmp_path(priv, sizeof priv, "private");
    write_file(priv, "x");
    assert_int_equal(chmod(priv, 0644), 0);
    snprintf(open_file, sizeof open_file, "/tmp/vnuma-test-cred.%d", (int)getpid());
    write_file(open_file, "x");
    assert_int_equal(chmod(open_file, 0644), 0);
    const char *paths[] = {open_file, "/tmp", priv};
    int modes[] = {R_OK, X_OK, R_OK};
    int bad = -2;
    /* tmpdir is 0700: the 0644 file in it is out of reach. */
    assert_int_equal(vn_qemu_cred_access(&c, paths, modes, 3, &bad, &err), -1);
    assert_int_equal(bad, 2);
    assert_int_equal(err.errnum, EACCES);
    assert_int_equal(vn_qemu_cred_access(&c, paths, modes, 2, &bad, &err), 0);
    int w[] = {R_OK | W_OK};
    assert_int_equal(vn_qemu_cred_access(&c, paths, w, 1, &bad, &err), -1);
    assert_int_equal(bad, 0);
    unlink(open_file);
    assert_no_children();
}

static void test_find_binary_missing(void **state)
{
    char buf[4096], empty[512];
    struct vn_error err = {0};
    char *old_path = strdup(getenv("PATH") ? getenv("PATH") : "");
    tmp_path(empty, sizeof empty, "emptybin");
    mkdir(empty, 0755);
    setenv("PATH", empty, 1);
    unsetenv("VNUMA_QEMU");
    assert_int_equal(vn_qemu_find_binary(buf, sizeof buf, &err), -1);
    assert_string_equal(err.msg, "the QEMU binary 'qemu-system-x86_64' was not found on PATH; "
                                 "install the Debian package 'qemu-system-x86' or set "
                                 "VNUMA_QEMU to its path.");
    setenv("VNUMA_QEMU", "/nonexistent/qemu", 1);
    assert_int_equal(vn_qemu_find_binary(buf, sizeof buf, &err), -1);
    assert_string_equal(err.msg,
                        "the QEMU binary '/nonexistent/qemu' (VNUMA_QEMU) is not an executable "
                        "file.");
    setenv("VNUMA_QEMU", "/bin/true", 1);
    assert_int_equal(vn_qemu_find_binary(buf, sizeof buf, &err), 0);
    assert_string_equal(buf, "/bin/true");
    unsetenv("VNUMA_QEMU");
    setenv("PATH", old_path, 1);
    free(old_path);
}

static void test_qemu_bad_option_is_reported_and_reaped(void **state)
{
    if (!have_qemu)
        skip();
    char log[512], sock[512];
    tmp_path(log, sizeof log, "bad.log");
    tmp_path(sock, sizeof sock, "bad.qmp");
    const char *argv[] = {qemu, "-no-such-option-for-vnuma", NULL};
    struct vn_qemu_proc proc;
    struct vn_error err = {0};
    assert_int_equal(vn_qemu_spawn(argv, log, &proc, &err), 0);
    assert_true(proc.pid > 0);
    assert_int_equal(vn_qemu_wait_ready(&proc, sock, 10000, &err), -1);
    assert_non_null(strstr(err.msg, "exited with status 1 before it was ready: "));
    assert_non_null(strstr(err.msg, "-no-such-option-for-vnuma: invalid option"));
    assert_non_null(strstr(err.msg, log));
    assert_no_children();
    struct stat st;
    assert_int_equal(stat(log, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
}

static void test_qemu_ready_then_killed(void **state)
{
    if (!have_qemu)
        skip();
    char log[512], sock[512], qmp[600];
    tmp_path(log, sizeof log, "ready.log");
    tmp_path(sock, sizeof sock, "ready.qmp");
    snprintf(qmp, sizeof qmp, "unix:%s,server=on,wait=off", sock);
    const char *argv[] = {qemu,   "-machine", "none", "-nodefaults", "-display",
                          "none", "-qmp",     qmp,    NULL};
    struct vn_qemu_proc proc;
    struct vn_error err = {0};
    assert_int_equal(vn_qemu_spawn(argv, log, &proc, &err), 0);
    assert_int_equal(vn_qemu_wait_ready(&proc, sock, 10000, &err), 0);
    /* Detached: its own session and process group. */
    assert_int_equal(getsid(proc.pid), proc.pid);
    assert_int_equal(vn_qemu_kill(proc.pid, 5000), 0);
    assert_no_children();
    assert_int_equal(kill(proc.pid, 0), -1);
}

static void test_wait_ready_timeout_stops_the_process(void **state)
{
    char log[512], sock[512];
    tmp_path(log, sizeof log, "slow.log");
    tmp_path(sock, sizeof sock, "never.qmp");
    const char *argv[] = {"/bin/sh", "-c", "echo starting; exec sleep 30", NULL};
    struct vn_qemu_proc proc;
    struct vn_error err = {0};
    assert_int_equal(vn_qemu_spawn(argv, log, &proc, &err), 0);
    assert_int_equal(vn_qemu_wait_ready(&proc, sock, 300, &err), -1);
    assert_non_null(strstr(err.msg, "did not create its QMP socket"));
    assert_non_null(strstr(err.msg, "within 300 ms and was stopped"));
    assert_non_null(strstr(err.msg, "ends with: starting"));
    assert_no_children();
}

static void test_kill_escalates_to_sigkill(void **state)
{
    char log[512], text[256] = "";
    tmp_path(log, sizeof log, "stubborn.log");
    /* The trap is inherited by sleep (ignored signals survive exec), so only SIGKILL works;
     * the group kill reaches the grandchild too. */
    const char *argv[] = {"/bin/sh", "-c", "trap '' TERM; echo ready; sleep 30; sleep 30", NULL};
    struct vn_qemu_proc proc;
    struct vn_error err = {0};
    assert_int_equal(vn_qemu_spawn(argv, log, &proc, &err), 0);
    for (int i = 0; i < 500 && !strstr(text, "ready"); i++) {
        usleep(10000);
        read_file(log, text, sizeof text);
    }
    assert_non_null(strstr(text, "ready"));
    assert_int_equal(vn_qemu_kill(proc.pid, 200), 1);
    assert_no_children();
    /* The sleep in the same process group is gone as well (once init has reaped it). */
    for (int i = 0; i < 200 && kill(-proc.pid, 0) == 0; i++)
        usleep(10000);
    assert_int_equal(kill(-proc.pid, 0), -1);
    assert_int_equal(errno, ESRCH);
}

static void test_kill_refuses_dangerous_pids(void **state)
{
    assert_int_equal(vn_qemu_kill(0, 10), -1);
    assert_int_equal(vn_qemu_kill(1, 10), -1);
    assert_int_equal(vn_qemu_kill(-5, 10), -1);
}

static void test_log_tail(void **state)
{
    char log[512], buf[256];
    tmp_path(log, sizeof log, "tail.log");
    write_file(log, "first\n\x1b[2Jsecond\r\n\n   \nthird line\n\n");
    vn_qemu_log_tail(log, 2, buf, sizeof buf);
    assert_string_equal(buf, "[2Jsecond / third line");
    vn_qemu_log_tail(log, 10, buf, sizeof buf);
    assert_string_equal(buf, "first / [2Jsecond / third line");
    vn_qemu_log_tail("/nonexistent/log", 2, buf, sizeof buf);
    assert_string_equal(buf, "");
}

static void test_describe_status(void **state)
{
    char buf[128];
    vn_qemu_describe_status(1 << 8, buf, sizeof buf);
    assert_string_equal(buf, "exited with status 1");
    vn_qemu_describe_status(SIGKILL, buf, sizeof buf);
    assert_string_equal(buf, "was killed by signal 9 (Killed)");
}

static void test_qemu_version(void **state)
{
    if (!have_qemu)
        skip();
    char buf[256];
    struct vn_error err = {0};
    assert_int_equal(vn_qemu_version(qemu, buf, sizeof buf, &err), 0);
    assert_non_null(strstr(buf, "QEMU emulator version"));
    assert_no_children();
}

static void test_accel_args(void **state)
{
    const char *a[5];
    struct vn_accel_result r = {.accel = VN_ACCEL_TCG};
    vn_accel_qemu_args(&r, a);
    assert_string_equal(a[0], "-accel");
    assert_string_equal(a[1], "tcg,thread=multi");
    assert_string_equal(a[2], "-cpu");
    assert_string_equal(a[3], "max");
    assert_null(a[4]);
    r.accel = VN_ACCEL_KVM;
    vn_accel_qemu_args(&r, a);
    assert_string_equal(a[0], "-enable-kvm");
    assert_string_equal(a[2], "host");
    assert_null(a[3]);
    /* The probe's model, when it chose one, is what QEMU gets. */
    snprintf(r.cpu, sizeof r.cpu, "%s", VN_ACCEL_CPU_NO_ARCH_CAPS);
    vn_accel_qemu_args(&r, a);
    assert_string_equal(a[1], "-cpu");
    assert_string_equal(a[2], "host,-arch-capabilities");
    assert_null(a[3]);
    assert_string_equal(vn_accel_cpu(&r), "host,-arch-capabilities");
    assert_string_equal(vn_accel_name(VN_ACCEL_KVM), "kvm");
    assert_string_equal(vn_accel_name(VN_ACCEL_TCG), "tcg");
}

static void test_accel_probe_without_qemu(void **state)
{
    struct vn_accel_result r;
    struct vn_error err = {0};
    setenv("VNUMA_QEMU", "/nonexistent/qemu", 1);
    assert_int_equal(vn_accel_probe("/k", "/i", NULL, &r, &err), -1);
    assert_string_equal(err.msg,
                        "the QEMU binary '/nonexistent/qemu' (VNUMA_QEMU) is not an executable "
                        "file.");
    unsetenv("VNUMA_QEMU");
}

/* A stand-in QEMU: answers -version, and otherwise runs body (sh) as the "guest". */
static void write_fake_qemu(const char *path, const char *body)
{
    char text[1024];
    snprintf(text, sizeof text,
             "#!/bin/sh\n[ \"$1\" = -version ] && { echo 'QEMU emulator version 0.fake'; "
             "exit 0; }\n%s\n",
             body);
    write_file(path, text);
    chmod(path, 0755);
}

static void test_accel_probe_verdicts_and_cache(void **state)
{
    /* The probe only boots when /dev/kvm opens; elsewhere the verdict is TCG at once. */
    int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (kvm < 0)
        skip();
    close(kvm);
    char fake[512], cache[512], kernel[512];
    tmp_path(fake, sizeof fake, "fake-qemu");
    tmp_path(cache, sizeof cache, "accel-cache");
    tmp_path(kernel, sizeof kernel, "vmlinuz");
    write_file(kernel, "k");
    setenv("VNUMA_QEMU", fake, 1);
    struct vn_accel_result r;
    struct vn_error err = {0};

    write_fake_qemu(fake, "echo 'qemu: error: failed to initialize kvm'; exit 1");
    assert_int_equal(vn_accel_probe(kernel, kernel, NULL, &r, &err), 0);
    assert_int_equal(r.accel, VN_ACCEL_TCG);
    assert_false(r.from_cache);
    /* Without a cache no log is kept, so none is named; QEMU's last words are in the reason. */
    assert_string_equal(r.reason, "KVM probe boot failed: QEMU exited with status 1: qemu: "
                                  "error: failed to initialize kvm; using TCG.");
    /* With a cache the failed probe's log is kept there, and named. */
    char keptlog[600], want[1200];
    snprintf(keptlog, sizeof keptlog, "%s/accel-probe.log", cache);
    char cache2[512];
    tmp_path(cache2, sizeof cache2, "accel-cache-fail");
    assert_int_equal(vn_accel_probe(kernel, kernel, cache2, &r, &err), 0);
    snprintf(keptlog, sizeof keptlog, "%s/accel-probe.log", cache2);
    snprintf(want, sizeof want,
             "KVM probe boot failed: QEMU exited with status 1: qemu: error: failed to "
             "initialize kvm (log '%s'); using TCG.",
             keptlog);
    assert_string_equal(r.reason, want);
    char text[256];
    read_file(keptlog, text, sizeof text);
    assert_string_equal(text, "qemu: error: failed to initialize kvm\n");
    struct stat st;
    assert_int_equal(stat(keptlog, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(stat(cache2, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);

    write_fake_qemu(fake, "echo 'VNUMA-PROBE-JSON: {}'; exit 0");
    assert_int_equal(vn_accel_probe(kernel, kernel, cache, &r, &err), 0);
    assert_int_equal(r.accel, VN_ACCEL_KVM);
    assert_false(r.from_cache);
    assert_non_null(strstr(r.reason, "A KVM probe guest reached its userspace in "));
    assert_non_null(strstr(r.reason, "; using KVM with -cpu host."));
    assert_string_equal(r.cpu, "host");
    /* Same kernel, QEMU version and /dev/kvm: the cached verdict, without a boot. */
    write_fake_qemu(fake, "exit 1");
    assert_int_equal(vn_accel_probe(kernel, kernel, cache, &r, &err), 0);
    assert_int_equal(r.accel, VN_ACCEL_KVM);
    assert_true(r.from_cache);
    /* Another guest kernel is another key: the probe runs again. */
    utime(kernel, &(struct utimbuf){1, 1});
    assert_int_equal(vn_accel_probe(kernel, kernel, cache, &r, &err), 0);
    assert_int_equal(r.accel, VN_ACCEL_TCG);
    assert_false(r.from_cache);

    assert_int_equal(vn_accel_probe("/nonexistent/vmlinuz", kernel, cache, &r, &err), -1);
    assert_string_equal(err.msg, "cannot probe KVM: the guest kernel '/nonexistent/vmlinuz' "
                                 "cannot be read: No such file or directory");
    unsetenv("VNUMA_QEMU");
    assert_no_children();
}

/* A stand-in for QEMU 7.2 on a host kernel that refuses IA32_ARCH_CAPABILITIES: "-cpu host"
 * prints the MSR error and the assertion, then aborts; "-cpu host,-arch-capabilities" boots
 * when ok_model is true.  Every run appends its -cpu value to calls. */
static void write_msr_fake_qemu(const char *path, const char *calls, bool ok_model)
{
    char body[1024];
    snprintf(body, sizeof body,
             "ulimit -c 0\ncpu=\n"
             "while [ $# -gt 0 ]; do [ \"$1\" = -cpu ] && cpu=$2; shift; done\n"
             "echo \"$cpu\" >>'%s'\n"
             "if [ \"$cpu\" = host ] || [ %d = 0 ]; then\n"
             "  echo 'qemu-system-x86_64: error: failed to set MSR 0x10a to 0x2000000001e72eb'\n"
             "  echo \"qemu-system-x86_64: ../target/i386/kvm/kvm.c:2980: kvm_buf_set_msrs: "
             "Assertion \\`ret == cpu->kvm_msr_buf->nmsrs' failed.\"\n"
             "  kill -s ABRT $$\nfi\n"
             "[ \"$cpu\" = host,-arch-capabilities ] && { echo 'VNUMA-PROBE-JSON: {}'; exit 0; }\n"
             "exit 2",
             calls, ok_model ? 1 : 0);
    write_fake_qemu(path, body);
}

/* The MSR 0x10a abort with -cpu host: the probe retries with -cpu host,-arch-capabilities,
 * says so, and the verdict (cached with its model) puts that model on QEMU's command line. */
static void test_accel_probe_retries_without_arch_capabilities(void **state)
{
    int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (kvm < 0) {
        print_message("# SKIP: /dev/kvm cannot be opened, so the probe boots nothing\n");
        skip();
    }
    close(kvm);
    char fake[512], cache[512], kernel[512], calls[512], text[1024];
    tmp_path(fake, sizeof fake, "fake-qemu-msr");
    tmp_path(cache, sizeof cache, "accel-cache-msr");
    tmp_path(kernel, sizeof kernel, "vmlinuz-msr");
    tmp_path(calls, sizeof calls, "msr-calls");
    write_file(kernel, "k");
    setenv("VNUMA_QEMU", fake, 1);
    struct vn_accel_result r;
    struct vn_error err = {0};
    const char *retried = "With -cpu host QEMU failed to set MSR 0x10a (the host kernel refuses "
                          "IA32_ARCH_CAPABILITIES), so the probe was retried with -cpu "
                          "host,-arch-capabilities. ";

    write_msr_fake_qemu(fake, calls, true);
    write_file(calls, "");
    assert_int_equal(vn_accel_probe(kernel, kernel, cache, &r, &err), 0);
    assert_int_equal(r.accel, VN_ACCEL_KVM);
    assert_false(r.from_cache);
    assert_string_equal(r.cpu, "host,-arch-capabilities");
    read_file(calls, text, sizeof text);
    assert_string_equal(text, "host\nhost,-arch-capabilities\n");
    assert_memory_equal(r.reason, retried, strlen(retried));
    assert_non_null(strstr(r.reason, "A KVM probe guest reached its userspace in "));
    assert_non_null(strstr(r.reason, "; using KVM with -cpu host,-arch-capabilities."));
    const char *a[5];
    vn_accel_qemu_args(&r, a);
    assert_string_equal(a[0], "-enable-kvm");
    assert_string_equal(a[1], "-cpu");
    assert_string_equal(a[2], "host,-arch-capabilities");
    assert_null(a[3]);

    /* The cached verdict keeps the model, without a boot. */
    write_file(calls, "");
    struct vn_accel_result c;
    assert_int_equal(vn_accel_probe(kernel, kernel, cache, &c, &err), 0);
    assert_true(c.from_cache);
    assert_int_equal(c.accel, VN_ACCEL_KVM);
    assert_string_equal(c.cpu, "host,-arch-capabilities");
    assert_string_equal(c.reason, r.reason);
    read_file(calls, text, sizeof text);
    assert_string_equal(text, "");

    /* The retry aborts too: TCG, and the reason tells both. */
    write_msr_fake_qemu(fake, calls, false);
    assert_int_equal(vn_accel_probe(kernel, kernel, NULL, &r, &err), 0);
    assert_int_equal(r.accel, VN_ACCEL_TCG);
    assert_string_equal(vn_accel_cpu(&r), "max");
    read_file(calls, text, sizeof text);
    assert_string_equal(text, "host\nhost,-arch-capabilities\n");
    assert_memory_equal(r.reason, retried, strlen(retried));
    assert_non_null(strstr(r.reason, "KVM probe boot failed: QEMU was killed by signal 6 ("));
    assert_non_null(strstr(r.reason, "Assertion `ret == cpu->kvm_msr_buf->nmsrs' failed.; using "
                                     "TCG."));

    /* Any other failure is not retried. */
    write_file(calls, "");
    write_fake_qemu(fake, "echo \"$*\" >>\"$(dirname \"$0\")/msr-calls\"\n"
                          "echo 'qemu: error: failed to initialize kvm'; exit 1");
    assert_int_equal(vn_accel_probe(kernel, kernel, NULL, &r, &err), 0);
    assert_int_equal(r.accel, VN_ACCEL_TCG);
    read_file(calls, text, sizeof text);
    assert_int_equal(strchr(text, '\n') - text + 1, (long)strlen(text)); /* one line: one run */
    assert_null(strstr(r.reason, "retried"));
    unsetenv("VNUMA_QEMU");
    assert_no_children();
}

/* The probe as QEMU's user: a /dev/kvm that user cannot open means TCG, saying why, with no
 * boot at all. */
static void test_accel_probe_as_user_without_kvm(void **state)
{
    struct stat st;
    if (geteuid() != 0 || !getpwnam("nobody") || stat("/dev/kvm", &st) < 0 || (st.st_mode & 006) ||
        !have_qemu) {
        skip();
        return;
    }
    int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (kvm < 0) {
        skip();
        return;
    }
    close(kvm);
    struct vn_qemu_cred c;
    struct vn_error err = {0};
    assert_int_equal(vn_qemu_cred_resolve("nobody", NULL, &c, &err), 0);
    char kernel[512];
    tmp_path(kernel, sizeof kernel, "vmlinuz-as");
    write_file(kernel, "k");
    struct vn_accel_result r;
    assert_int_equal(vn_accel_probe_as(kernel, kernel, NULL, &c, &r, &err), 0);
    assert_int_equal(r.accel, VN_ACCEL_TCG);
    assert_non_null(strstr(r.reason, "'/dev/kvm' cannot be opened by QEMU's user 'nobody': "
                                     "Permission denied (add it to the group 'kvm'); using TCG."));
    assert_no_children();
}

/* Entries of dir whose name starts with prefix. */
static int count_entries(const char *dir, const char *prefix)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        n += strncmp(e->d_name, prefix, strlen(prefix)) == 0;
    closedir(d);
    return n;
}

/* The probe's QEMU writes into a private $TMPDIR/vnuma-accel-probe.XXXXXX that is removed on
 * every path: failed or answered, with a cache or without, and when QEMU cannot start.  (It
 * used to leave a /tmp/vnuma-accel-probe.* log after every failed probe without a cache, i.e.
 * after each `vnuma create --dry-run` with accel=auto.) */
static void test_accel_probe_leaves_no_temp_files(void **state)
{
    int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (kvm < 0)
        skip();
    close(kvm);
    char fake[512], cache[512], kernel[512], tmp[512];
    tmp_path(fake, sizeof fake, "fake-qemu-tmp");
    tmp_path(cache, sizeof cache, "accel-cache-tmp");
    tmp_path(kernel, sizeof kernel, "vmlinuz-tmp");
    tmp_path(tmp, sizeof tmp, "probe-tmpdir");
    write_file(kernel, "k");
    assert_int_equal(mkdir(tmp, 0700), 0);
    const char *old_tmpdir = getenv("TMPDIR");
    char saved_tmpdir[4096] = "";
    if (old_tmpdir)
        snprintf(saved_tmpdir, sizeof saved_tmpdir, "%s", old_tmpdir);
    setenv("TMPDIR", tmp, 1);
    setenv("VNUMA_QEMU", fake, 1);
    struct vn_accel_result r;
    struct vn_error err = {0};

    /* The fake guest checks that its log is in the private directory, mode 0700. */
    write_fake_qemu(fake, "d=$(dirname \"$(readlink /proc/$$/fd/1)\")\n"
                          "case $d in */vnuma-accel-probe.*) ;; *) exit 3 ;; esac\n"
                          "[ \"$(stat -c %a \"$d\")\" = 700 ] || exit 4\n"
                          "echo 'qemu: error: failed to set MSR 0x10a'; exit 1");
    for (int i = 0; i < 3; i++) {
        assert_int_equal(vn_accel_probe(kernel, kernel, NULL, &r, &err), 0);
        assert_non_null(strstr(r.reason, "QEMU exited with status 1: qemu: error"));
        assert_int_equal(count_entries(tmp, "vnuma-accel-probe."), 0);
    }
    assert_int_equal(vn_accel_probe(kernel, kernel, cache, &r, &err), 0);
    assert_non_null(strstr(r.reason, "QEMU exited with status 1: qemu: error"));
    assert_int_equal(count_entries(tmp, ""), 2); /* only . and .. */
    unlink(kernel);
    write_file(kernel, "k2"); /* another key: no cached verdict */
    write_fake_qemu(fake, "echo 'VNUMA-PROBE-JSON: {}'; exit 0");
    assert_int_equal(vn_accel_probe(kernel, kernel, NULL, &r, &err), 0);
    assert_int_equal(r.accel, VN_ACCEL_KVM);
    assert_int_equal(count_entries(tmp, ""), 2);

    /* A TMPDIR the probe cannot write: mkdtemp fails, an error, and nothing is made (root
     * writes anyway, so only checked for other users). */
    write_fake_qemu(fake, "exit 0");
    utime(kernel, &(struct utimbuf){2, 2});
    chmod(tmp, 0500);
    if (geteuid() != 0) {
        assert_int_equal(vn_accel_probe(kernel, kernel, NULL, &r, &err), -1);
        assert_non_null(strstr(err.msg, "cannot create a temporary directory"));
    }
    chmod(tmp, 0700);
    assert_int_equal(count_entries(tmp, ""), 2);

    if (*saved_tmpdir)
        setenv("TMPDIR", saved_tmpdir, 1);
    else
        unsetenv("TMPDIR");
    unsetenv("VNUMA_QEMU");
    assert_no_children();
}

/* The cache directory holds a verdict create trusts and a log it writes: a planted symlink is
 * replaced, never written through; a directory others can write is not used. */
static void test_accel_cache_is_private(void **state)
{
    int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (kvm < 0)
        skip();
    close(kvm);
    char fake[512], cache[512], kernel[512], victim[512], link[600], text[256];
    tmp_path(fake, sizeof fake, "fake-qemu-priv");
    tmp_path(cache, sizeof cache, "accel-cache-priv");
    tmp_path(kernel, sizeof kernel, "vmlinuz-priv");
    tmp_path(victim, sizeof victim, "victim");
    write_file(kernel, "k");
    write_file(victim, "precious\n");
    setenv("VNUMA_QEMU", fake, 1);
    write_fake_qemu(fake, "echo 'qemu: error: failed to set MSR 0x10a'; exit 1");
    struct vn_accel_result r;
    struct vn_error err = {0};

    assert_int_equal(mkdir(cache, 0700), 0);
    snprintf(link, sizeof link, "%s/accel-probe.log", cache);
    assert_int_equal(symlink(victim, link), 0);
    assert_int_equal(vn_accel_probe(kernel, kernel, cache, &r, &err), 0);
    read_file(victim, text, sizeof text);
    assert_string_equal(text, "precious\n");
    struct stat st;
    assert_int_equal(lstat(link, &st), 0);
    assert_true(S_ISREG(st.st_mode));
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(st.st_uid, geteuid());
    read_file(link, text, sizeof text);
    assert_string_equal(text, "qemu: error: failed to set MSR 0x10a\n");

    /* A cache file that is a symlink is not read as a verdict (a fresh cache: one file). */
    write_fake_qemu(fake, "echo 'VNUMA-PROBE-JSON: {}'; exit 0");
    tmp_path(cache, sizeof cache, "accel-cache-priv2");
    assert_int_equal(vn_accel_probe(kernel, kernel, cache, &r, &err), 0);
    assert_int_equal(r.accel, VN_ACCEL_KVM); /* cached as accel-HASH */
    DIR *d = opendir(cache);
    struct dirent *e;
    char name[300] = "";
    while ((e = readdir(d)))
        if (strncmp(e->d_name, "accel-", 6) == 0 && strcmp(e->d_name, "accel-probe.log") != 0)
            snprintf(name, sizeof name, "%s", e->d_name);
    closedir(d);
    assert_true(name[0]);
    char cfile[900], moved[900];
    snprintf(cfile, sizeof cfile, "%s/%s", cache, name);
    snprintf(moved, sizeof moved, "%s/elsewhere", tmpdir);
    assert_int_equal(rename(cfile, moved), 0);
    assert_int_equal(symlink(moved, cfile), 0);
    write_fake_qemu(fake, "exit 1");
    assert_int_equal(vn_accel_probe(kernel, kernel, cache, &r, &err), 0);
    assert_false(r.from_cache);
    assert_int_equal(r.accel, VN_ACCEL_TCG);

    /* Writable by others: not used, and said so. */
    chmod(cache, 0777);
    assert_int_equal(vn_accel_probe(kernel, kernel, cache, &r, &err), 0);
    assert_false(r.from_cache);
    char want[1200];
    snprintf(want, sizeof want,
             " The verdict is not cached: the cache directory '%s' cannot be used (it is not a "
             "directory of yours that only you can write).",
             cache);
    assert_non_null(strstr(r.reason, want));
    assert_null(strstr(r.reason, "(log '"));
    chmod(cache, 0700);
    unsetenv("VNUMA_QEMU");
    assert_no_children();
}

static void test_newest_kernel(void **state)
{
    char dir[512], path[600], buf[4096];
    struct vn_error err = {0};
    tmp_path(dir, sizeof dir, "boot");
    mkdir(dir, 0755);
    assert_int_equal(vn_guest_newest_kernel(dir, buf, sizeof buf, &err), -1);
    assert_non_null(strstr(err.msg, "install the Debian package 'linux-image-cloud-amd64'"));
    const char *names[] = {"vmlinuz-6.1.0-9-cloud-amd64", "vmlinuz-6.1.0-10-cloud-amd64",
                           "vmlinuz-6.1.0-11-amd64", "vmlinuz-cloud-amd64",
                           "config-6.2.0-1-cloud-amd64"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        write_file(path, "x");
    }
    assert_int_equal(vn_guest_newest_kernel(dir, buf, sizeof buf, &err), 0);
    snprintf(path, sizeof path, "%s/vmlinuz-6.1.0-10-cloud-amd64", dir);
    assert_string_equal(buf, path);
}

static void test_default_paths_env(void **state)
{
    char buf[4096];
    struct vn_error err = {0};
    setenv("VNUMA_KERNEL", "/nonexistent/vmlinuz", 1);
    assert_int_equal(vn_guest_default_kernel(buf, sizeof buf, &err), -1);
    assert_string_equal(err.msg, "the guest kernel '/nonexistent/vmlinuz' (VNUMA_KERNEL) cannot "
                                 "be read: No such file or directory");
    setenv("VNUMA_KERNEL", "/dev/null", 1);
    assert_int_equal(vn_guest_default_kernel(buf, sizeof buf, &err), 0);
    assert_string_equal(buf, "/dev/null");
    unsetenv("VNUMA_KERNEL");
    setenv("VNUMA_INITRAMFS", "/nonexistent/initramfs", 1);
    assert_int_equal(vn_guest_default_initramfs(buf, sizeof buf, &err), -1);
    assert_non_null(strstr(err.msg, "(VNUMA_INITRAMFS) cannot be read"));
    unsetenv("VNUMA_INITRAMFS");
}

/* Runs mkcpio SPEC OUT with spec_text; returns its exit status and its stderr in msg. */
static int run_mkcpio(const char *spec_text, const char *out, char *msg, size_t len)
{
    const char *mkcpio = getenv("VNUMA_MKCPIO");
    assert_non_null(mkcpio);
    char spec[512], log[512];
    tmp_path(spec, sizeof spec, "spec");
    tmp_path(log, sizeof log, "mkcpio.log");
    write_file(spec, spec_text);
    const char *argv[] = {mkcpio, spec, out, NULL};
    struct vn_qemu_proc proc;
    struct vn_error err = {0};
    assert_int_equal(vn_qemu_spawn(argv, log, &proc, &err), 0);
    int st;
    assert_int_equal(vn_qemu_wait_exit(proc.pid, 10000, &st, &err), 1);
    read_file(log, msg, len);
    msg[strcspn(msg, "\n")] = '\0';
    assert_true(WIFEXITED(st));
    return WEXITSTATUS(st);
}

static void test_mkcpio_spec_errors(void **state)
{
    if (!getenv("VNUMA_MKCPIO"))
        skip();
    char out[512], msg[1024], expect[1200], spec_path[512], dir_src[512];
    tmp_path(out, sizeof out, "out.cpio");
    tmp_path(spec_path, sizeof spec_path, "spec");
    tmp_path(dir_src, sizeof dir_src, "adir");
    mkdir(dir_src, 0755);
    char dir_line[600];
    snprintf(dir_line, sizeof dir_line, "dir /a 0755\nfile /a/b %s 0644\n", dir_src);
    const struct {
        const char *spec;
        const char *msg;
    } cases[] = {
        {"dir dev 0755\n", "1: path 'dev' is not absolute."},
        {"# comment\n\nnod /dev/console 0600 c 5 1\n",
         "3: the parent directory of '/dev/console' is not declared before it."},
        {"dir /a 0755\ndir /a 0755\n", "2: path '/a' is declared twice."},
        {"dir /a 9999\n", "1: mode '9999' is not an octal number between 0 and 7777."},
        {"dir /a 0755\ndir /a/../b 0755\n",
         "2: path '/a/../b' has an empty, '.' or '..' component."},
        {"dir /a/ 0755\n", "1: path '/a/' ends with '/'."},
        {"dir / 0755\n", "1: path '/' is the archive's root and cannot be an entry."},
        {"frob /a\n", "1: unknown entry type 'frob' (expected dir, file, nod or slink)."},
        {"nod /x 0600 x 1 2\n", "1: device type 'x' is neither 'c' nor 'b'."},
        {"nod /x 0600 c 1 99999999\n",
         "1: device number '99999999' is not a number between 0 and 1048575."},
        {"file /init 0755\n", "1: 'file' takes PATH SRC MODE."},
        {"file /init /nonexistent/init 0755\n",
         "1: cannot open '/nonexistent/init' for '/init': No such file or directory."},
        {dir_line, "2: source '"},
        {"# nothing\n", "the spec '"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        assert_int_equal(run_mkcpio(cases[i].spec, out, msg, sizeof msg), 1);
        snprintf(expect, sizeof expect, "mkcpio: %s:%s", spec_path, cases[i].msg);
        if (i == 13)
            snprintf(expect, sizeof expect, "mkcpio: the spec '%s' declares no entries.",
                     spec_path);
        if (i == 12)
            assert_non_null(strstr(msg, "' is not a regular file."));
        else
            assert_string_equal(msg, expect);
        /* A failed run leaves neither the archive nor its temporary file. */
        assert_int_equal(access(out, F_OK), -1);
        char tmp[600];
        snprintf(tmp, sizeof tmp, "%s.tmp", out);
        assert_int_equal(access(tmp, F_OK), -1);
    }
    assert_no_children();
}

static void test_mkcpio_writes_newc(void **state)
{
    if (!getenv("VNUMA_MKCPIO"))
        skip();
    char out[512], msg[1024], src[512], spec[2048];
    tmp_path(out, sizeof out, "good.cpio");
    tmp_path(src, sizeof src, "hello.txt");
    write_file(src, "hello\n");
    snprintf(spec, sizeof spec,
             "dir /dev 0755\nnod /dev/console 0600 c 5 1\ndir /bin 0755\n"
             "file /bin/hello %s 0755\nslink /bin/sh hello 0777\n",
             src);
    assert_int_equal(run_mkcpio(spec, out, msg, sizeof msg), 0);
    assert_string_equal(msg, "");
    static char buf[8192];
    int fd = open(out, O_RDONLY);
    assert_true(fd >= 0);
    ssize_t n = read(fd, buf, sizeof buf);
    close(fd);
    assert_true(n > 0);
    assert_int_equal(n % 512, 0);
    assert_memory_equal(buf, "070701", 6);
    /* First entry: ino 721, a directory 0755 owned by 0:0, mtime 0, name "dev". */
    assert_memory_equal(buf + 6, "000002D1000041ED0000000000000000000000020000000000000000", 56);
    assert_memory_equal(buf + 110, "dev", 4);
    assert_non_null(memmem(buf, (size_t)n, "hello\n", 6));
    assert_non_null(memmem(buf, (size_t)n, "TRAILER!!!", 10));
    /* /dev/console: a character device 5:1 (rdevmajor, rdevminor fields). */
    char *console = memmem(buf, (size_t)n, "dev/console", 11);
    assert_non_null(console);
    assert_memory_equal(console - 110 + 14, "00002180", 8);
    assert_memory_equal(console - 110 + 78, "0000000500000001", 16);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_spawn_binary_not_found),
        cmocka_unit_test(test_spawn_needs_a_path),
        cmocka_unit_test(test_spawn_log_not_creatable),
        cmocka_unit_test(test_find_binary_missing),
        cmocka_unit_test(test_spawn_as_another_user),
        cmocka_unit_test(test_cred_access),
        cmocka_unit_test(test_qemu_bad_option_is_reported_and_reaped),
        cmocka_unit_test(test_qemu_ready_then_killed),
        cmocka_unit_test(test_wait_ready_timeout_stops_the_process),
        cmocka_unit_test(test_kill_escalates_to_sigkill),
        cmocka_unit_test(test_kill_refuses_dangerous_pids),
        cmocka_unit_test(test_log_tail),
        cmocka_unit_test(test_describe_status),
        cmocka_unit_test(test_qemu_version),
        cmocka_unit_test(test_accel_args),
        cmocka_unit_test(test_accel_probe_without_qemu),
        cmocka_unit_test(test_accel_probe_verdicts_and_cache),
        cmocka_unit_test(test_accel_probe_retries_without_arch_capabilities),
        cmocka_unit_test(test_accel_probe_leaves_no_temp_files),
        cmocka_unit_test(test_accel_probe_as_user_without_kvm),
        cmocka_unit_test(test_accel_cache_is_private),
        cmocka_unit_test(test_newest_kernel),
        cmocka_unit_test(test_default_paths_env),
        cmocka_unit_test(test_mkcpio_spec_errors),
        cmocka_unit_test(test_mkcpio_writes_newc),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
