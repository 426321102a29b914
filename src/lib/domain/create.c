/* vn_domain_create: config -> accelerator -> (lock) name, place, claim, record (unlock) ->
 * memory files, QEMU paused -> affinity -> cont -> (lock) record running (unlock).
 *
 * After the "creating" record is written, every failure goes through undo(): QEMU stopped,
 * memory files, runtime dir and record removed, so a failed create leaves no process, no
 * file and no claim behind. */
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../net/net.h"
#include "../numa/numa_maps.h"
#include "../qemu/accel.h"
#include "../qemu/guest_paths.h"
#include "../qemu/launch.h"
#include "../qemu/qmp.h"
#include "../render/render.h"
#include "../topo/topo.h"
#include "../util/cleanup.h"
#include "../util/fault.h"
#include "domain_int.h"

#define LOCK_TIMEOUT_MS  30000
#define READY_TIMEOUT_MS 30000
#define QMP_TIMEOUT_MS   10000
#define EXIT_GRACE_MS    2000

/* Everything one create holds; released by ctx_free. */
struct ctx {
    const struct vn_domain_create_opts *opts;
    const char *name;
    struct vn_vm_spec *spec;
    struct vn_host_topo *topo;
    struct vn_state *state;
    struct vn_placement *p;
    struct vn_dom_paths paths;
    char kernel[4096], initrd[4096];
    const char *cmdline;
    struct vn_accel_result accel;
    struct vn_qemu_cred cred; /* who QEMU runs as */
    bool recorded;            /* a record exists that undo() must remove */
    bool mem_made;
    struct vn_qemu_proc proc;
    struct vn_dom_nic *nics; /* one per spec vif */
    struct vn_tap *taps;     /* vnuma's copies of the tap descriptors until QEMU runs */
    /* Confined: kernel and initrd opened by vnuma, read by QEMU through /proc/self/fd/N
     * (fd 0 means not opened: stdin is never one of them) */
    int boot_fd[2];
    char boot_arg[2][32];
};

static void progress(const struct ctx *c, const char *msg)
{
    if (c->opts->progress)
        c->opts->progress(c->opts->progress_ctx, msg);
}

/* A boot file named by the config must be a readable regular file, checked before anything is
 * touched (disks: diskimg.c). */
static int check_file(const char *name, const char *key, const char *path, struct vn_error *err)
{
    struct stat st;
    if (stat(path, &st) < 0)
        return vn_error_sys(err, errno, "domain '%s': the '%s' file '%s' cannot be used", name, key,
                            path);
    if (!S_ISREG(st.st_mode))
        return vn_error_set(err, "domain '%s': the '%s' file '%s' is not a regular file", name, key,
                            path);
    if (access(path, R_OK) < 0)
        return vn_error_sys(err, errno, "domain '%s': the '%s' file '%s' is not readable", name,
                            key, path);
    return 0;
}

static int resolve_boot(struct ctx *c, struct vn_error *err)
{
    const struct vn_vm_spec *s = c->spec;
    if (s->kernel && check_file(c->name, "kernel", s->kernel, err) < 0)
        return -1;
    if (s->ramdisk && check_file(c->name, "ramdisk", s->ramdisk, err) < 0)
        return -1;
    for (int i = 0; i < s->ndisks; i++)
        if (vn_dom_disk_check(c->name, &c->spec->disks[i], err) < 0)
            return -1;
    c->cmdline = s->cmdline;
    if (s->kernel) {
        snprintf(c->kernel, sizeof c->kernel, "%s", s->kernel);
        if (s->ramdisk)
            snprintf(c->initrd, sizeof c->initrd, "%s", s->ramdisk);
        return 0;
    }
    if (s->ndisks > 0)
        return 0; /* boots from its disk */
    /* Neither kernel nor disk: the project's guest image. */
    if (vn_guest_default_kernel(c->kernel, sizeof c->kernel, err) < 0 ||
        vn_guest_default_initramfs(c->initrd, sizeof c->initrd, err) < 0)
        return vn_error_prefix(err,
                               "domain '%s': the config has no kernel and no disk, and the "
                               "default guest image is unusable",
                               c->name);
    if (!c->cmdline)
        c->cmdline = VN_DOMAIN_DEFAULT_CMDLINE;
    return 0;
}

/* Confined: a boot file is opened here, as root, and QEMU reads it through the descriptor
 * (/proc/self/fd/N): the directories above it need not let the QEMU user in (a build tree in
 * /root or in a mktemp dir), only the file itself must be readable by that user (its mode;
 * ACLs are not consulted). */
static int open_boot_file(struct ctx *c, int i, const char *path, const char *key,
                          struct vn_error *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0) {
        int e = errno;
        if (fd >= 0)
            close(fd);
        return vn_error_sys(err, e, "domain '%s': %s '%s' cannot be opened", c->name, key, path);
    }
    c->boot_fd[i] = fd;
    snprintf(c->boot_arg[i], sizeof c->boot_arg[i], "/proc/self/fd/%d", fd);
    if (!vn_qemu_cred_may_read(&c->cred, &st))
        return vn_error_set(err,
                            "domain '%s': QEMU runs as user '%s' (uid %u), which cannot read %s "
                            "'%s' (owner %u, group %u, mode %04o); give that user read access or "
                            "set qemu_user in the host config",
                            c->name, c->cred.user, (unsigned)c->cred.uid, key, path,
                            (unsigned)st.st_uid, (unsigned)st.st_gid,
                            (unsigned)(st.st_mode & 07777));
    return 0;
}

/* Confined: the user QEMU runs as can read the boot files and disks (and write the writable
 * ones) and reach the state dir, checked as that user before anything is touched. */
static int check_confined_access(struct ctx *c, struct vn_error *err)
{
    if (!vn_dom_confined(&c->cred))
        return 0;
    const struct vn_vm_spec *s = c->spec;
    int n = s->ndisks + 3;
    VN_CLEANUP_FREE const char **paths = calloc((size_t)n, sizeof *paths);
    VN_CLEANUP_FREE const char **keys = calloc((size_t)n, sizeof *keys);
    VN_CLEANUP_FREE int *modes = calloc((size_t)n, sizeof *modes);
    if (!paths || !keys || !modes)
        return vn_error_sys(err, ENOMEM, "domain '%s'", c->name);
    int k = 0;
    if ((c->kernel[0] && open_boot_file(c, 0, c->kernel, "the 'kernel' file", err) < 0) ||
        (c->initrd[0] && open_boot_file(c, 1, c->initrd, "the 'ramdisk' file", err) < 0))
        return -1;
    for (int i = 0; i < s->ndisks; i++)
        if (s->disks[i].target)
            paths[k] = s->disks[i].target, keys[k] = "the 'disk' file",
            modes[k++] = s->disks[i].readonly || s->disks[i].cdrom ? R_OK : R_OK | W_OK;
    /* QEMU makes its sockets in STATE/run/NAME: it must get through the state dir's parents
     * (vnuma opens the state dir and run/ to it itself). */
    char parent[4096];
    snprintf(parent, sizeof parent, "%s", vn_domain_state_dir(c->opts->state_dir));
    char *slash = strrchr(parent, '/');
    if (!slash)
        snprintf(parent, sizeof parent, ".");
    else if (slash == parent)
        parent[1] = '\0';
    else
        *slash = '\0';
    /* A parent that is missing or not a directory is vn_state_open's error to give. */
    struct stat pst;
    if (stat(parent, &pst) == 0 && S_ISDIR(pst.st_mode))
        paths[k] = parent, keys[k] = "the state directory's parent", modes[k++] = X_OK;
    return vn_dom_confine_check(c->name, &c->cred, paths, keys, modes, k, err);
}

/* Each vif's bridge and tap name, checked before anything starts (a dry run only names
 * them: it may describe another host). */
static int resolve_nics(struct ctx *c, struct vn_error *err)
{
    int n = c->spec->nvifs;
    if (n == 0)
        return 0;
    c->nics = calloc((size_t)n, sizeof *c->nics);
    c->taps = calloc((size_t)n, sizeof *c->taps);
    if (!c->nics || !c->taps)
        return vn_error_sys(err, ENOMEM, "domain '%s'", c->name);
    for (int i = 0; i < n; i++)
        c->taps[i].fd = c->taps[i].vhost_fd = -1;
    return vn_dom_nics_resolve(c->name, c->spec, vn_domain_state_dir(c->opts->state_dir),
                               !c->opts->dry_run, c->nics, err);
}

/* Where the accelerator verdict is cached: $XDG_CACHE_HOME/vnuma, else STATE_DIR/cache. */
static void cache_dir(const struct ctx *c, char *buf, size_t len)
{
    const char *xdg = getenv("XDG_CACHE_HOME");
    buf[0] = '\0';
    if (xdg && *xdg)
        snprintf(buf, len, "%s/vnuma", xdg);
    else if (c->state)
        snprintf(buf, len, "%s/cache", vn_state_dir(c->state));
}

static int choose_accel(struct ctx *c, struct vn_error *err)
{
    enum vn_accel want = c->opts->accel_override ? c->opts->accel : c->spec->accel;
    const char *why = c->opts->accel_override ? "given on the command line" : "the config says so";
    if (want != VN_ACCEL_AUTO) {
        c->accel.accel = want;
        snprintf(c->accel.reason, sizeof c->accel.reason, "%s (%s).",
                 want == VN_ACCEL_KVM ? "KVM" : "TCG", why);
        return 0;
    }
    /* The probe boots the project's image: the config's own kernel could do anything. */
    char kernel[4096], initrd[4096];
    struct vn_error e2 = {0};
    if (vn_guest_default_kernel(kernel, sizeof kernel, &e2) < 0 ||
        vn_guest_default_initramfs(initrd, sizeof initrd, &e2) < 0) {
        c->accel.accel = VN_ACCEL_TCG;
        snprintf(c->accel.reason, sizeof c->accel.reason,
                 "KVM cannot be probed without the guest image (%.500s); using TCG.", e2.msg);
        return 0;
    }
    char cache[4096];
    cache_dir(c, cache, sizeof cache);
    progress(c, "choosing the accelerator (the first KVM probe boot may take up to 20 s)...");
    /* As QEMU's own user: KVM counts only if that user can use it. */
    if (vn_accel_probe_as(kernel, initrd, cache[0] ? cache : NULL, &c->cred, &c->accel, err) < 0)
        return vn_error_prefix(err, "domain '%s': cannot choose an accelerator", c->name);
    return 0;
}

/* What of a running domain's claim is already resident (so already out of the host's free
 * memory) is credited back, or a warm host would look twice as full as it is.  A domain whose
 * pages cannot be read gets no credit: its claim then counts in full, the safe side. */
static int credit_resident(struct ctx *c, struct vn_host_load *load, struct vn_domain_record *r,
                           struct vn_error *err)
{
    struct vn_residency res;
    struct vn_error e2 = {0};
    if (vn_dom_vet_record(c->state, r, &e2) < 0 || vn_dom_residency_sum(r, &res, &e2) < 0)
        return 0;
    const struct vn_claim *claim = vn_domain_claim(r);
    for (int i = 0; i < claim->n; i++) {
        int node = claim->v[i].node;
        uint64_t mib = node >= 0 && node <= res.max_node && node < VN_NUMA_MAPS_MAX_NODES
                           ? (uint64_t)vn_residency_mib(&res, node)
                           : 0;
        if (vn_host_load_add_resident(load, c->topo, claim, node, mib, err) < 0)
            return -1;
    }
    return 0;
}

/* The claims of existing domains, with their affinity groups, as a host load.  A corrupt
 * record is an error: placing without its claim could overcommit a node. */
static int host_load(struct ctx *c, struct vn_host_load *load, struct vn_error *err)
{
    vn_host_load_init(load, c->topo);
    if (!c->state)
        return 0;
    char **names = NULL;
    int n = 0, rc = 0;
    if (vn_state_list(c->state, &names, &n, err) < 0)
        return -1;
    for (int i = 0; i < n && rc == 0; i++) {
        struct vn_domain_record r;
        if (vn_state_read_record(c->state, names[i], &r, err) < 0) {
            rc = -1;
            break;
        }
        if (vn_domain_holds_claim(&r))
            rc = vn_host_load_add_claim(load, c->topo, vn_domain_claim(&r),
                                        r.spec ? r.spec->affinity_group : NULL,
                                        r.spec ? r.spec->anti_affinity_group : NULL, err);
        if (rc == 0 && vn_domain_alive(&r))
            rc = credit_resident(c, load, &r, err);
        vn_domain_record_clear(&r);
    }
    vn_state_names_free(names, n);
    return rc;
}

static int place(struct ctx *c, struct vn_error *err)
{
    VN_CLEANUP_FREE struct vn_host_load *load = calloc(1, sizeof *load);
    if (!load)
        return vn_error_sys(err, ENOMEM, "domain '%s': cannot place", c->name);
    struct vn_place_request req;
    char locality[1024];
    if (host_load(c, load, err) < 0 || vn_place_request_init(&req, c->spec, c->topo, err) < 0 ||
        (!c->opts->host_spec &&
         vn_domain_vif_locality(c->spec, c->topo, &req, locality, sizeof locality, err) < 0) ||
        vn_place(c->opts->algo, c->topo, load, &req, c->p, NULL, err) < 0)
        return vn_error_prefix(err, "domain '%s': cannot place it", c->name);
    return 0;
}

/* The name is free unless a record holds it, whatever its QEMU does. */
static int check_name_free(struct ctx *c, struct vn_error *err)
{
    struct vn_domain_record r;
    struct vn_error e2 = {0};
    if (vn_state_read_record(c->state, c->name, &r, &e2) < 0) {
        if (e2.errnum == ENOENT)
            return 0;
        *err = e2;
        return vn_error_prefix(err, "domain '%s' cannot be created", c->name);
    }
    const char *st = vn_dom_state(&r);
    int rc;
    if (strcmp(st, "dead") == 0)
        rc = vn_error_set(err,
                          "domain '%s' already exists, but its QEMU is not running; remove it "
                          "with 'vnuma destroy %s' first",
                          c->name, c->name);
    else if (strcmp(st, "preserved") == 0)
        rc = vn_error_set(err,
                          "domain '%s' already exists (preserved after its %s); remove it with "
                          "'vnuma destroy %s' first",
                          c->name, r.stopped ? r.stopped : "end", c->name);
    else if (strcmp(st, "creating") == 0)
        rc = vn_error_set(err, "domain '%s' is already being created (by pid %d)", c->name,
                          (int)r.creator_pid);
    else
        rc =
            vn_error_set(err, "domain '%s' already exists (QEMU pid %d)", c->name, (int)r.qemu_pid);
    vn_domain_record_clear(&r);
    return rc;
}

static int fill_record(struct ctx *c, struct vn_domain_record *r, enum vn_domain_status st,
                       struct vn_error *err)
{
    vn_domain_record_init(r);
    snprintf(r->name, sizeof r->name, "%s", c->name);
    r->status = st;
    char real[PATH_MAX];
    r->config_path = strdup(realpath(c->spec->file, real) ? real : c->spec->file);
    /* The record's own copies of the spec and the placement. */
    if (!(r->spec = vn_spec_clone(c->spec, err)))
        return vn_error_prefix(err, "domain '%s': cannot record its spec", c->name);
    if ((r->placement = malloc(sizeof *r->placement)))
        *r->placement = *c->p;
    r->creator_pid = getpid();
    if (vn_proc_start_time(r->creator_pid, &r->creator_start, err) < 0)
        return -1;
    r->accel = c->accel.accel;
    r->runtime_dir = strdup(c->paths.run);
    r->qmp_socket = strdup(c->paths.qmp);
    r->console_socket = strdup(c->paths.console);
    r->log_path = strdup(c->paths.log);
    r->created = (int64_t)time(NULL);
    r->mem_dir = strdup(c->paths.memdir.path);
    r->console_log = strdup(c->paths.console_log);
    r->accel_reason = strdup(c->accel.reason);
    if (c->proc.pid > 0) {
        r->qemu_pid = c->proc.pid;
        if (vn_proc_start_time(c->proc.pid, &r->qemu_start, err) < 0)
            return -1;
    }
    if (!r->config_path || !r->spec || !r->placement || !r->runtime_dir || !r->qmp_socket ||
        !r->console_socket || !r->log_path || !r->mem_dir || !r->console_log || !r->accel_reason)
        return vn_error_sys(err, ENOMEM, "cannot build the record");
    return 0;
}

/* Writes the record under the host lock. */
static int write_record(struct ctx *c, enum vn_domain_status st, struct vn_error *err)
{
    struct vn_domain_record r;
    int rc = fill_record(c, &r, st, err);
    if (rc == 0 && !vn_state_locked(c->state)) {
        char what[128];
        snprintf(what, sizeof what, "create '%s'", c->name);
        rc = vn_state_lock(c->state, LOCK_TIMEOUT_MS, what, err);
    }
    if (rc == 0)
        rc = vn_state_write_record(c->state, &r, err);
    vn_state_unlock(c->state);
    vn_domain_record_clear(&r);
    if (rc < 0)
        return vn_error_prefix(err, "domain '%s': cannot write its state record", c->name);
    return 0;
}

/* Removes everything this create made; failures are appended to err's message. */
static void undo(struct ctx *c, struct vn_error *err)
{
    char problems[512] = "";
    struct vn_error e2 = {0};
    if (c->proc.pid > 0 && vn_qemu_kill(c->proc.pid, 2000) < 0)
        snprintf(problems, sizeof problems, " QEMU (pid %d) could not be stopped.",
                 (int)c->proc.pid);
    /* the taps are not persistent: with QEMU gone, closing these removes them */
    vn_dom_nics_close(c->spec->nvifs, c->taps);
    if (c->mem_made && vn_dom_memdir_remove(&c->paths.memdir, &e2) < 0)
        snprintf(problems + strlen(problems), sizeof problems - strlen(problems), " %.200s.",
                 e2.msg);
    if (c->state && vn_state_remove_runtime_dir(c->state, c->name, &e2) < 0)
        snprintf(problems + strlen(problems), sizeof problems - strlen(problems), " %.200s.",
                 e2.msg);
    if (c->recorded) {
        char what[128];
        snprintf(what, sizeof what, "create '%s' (cleaning up)", c->name);
        if (vn_state_lock(c->state, LOCK_TIMEOUT_MS, what, &e2) < 0 ||
            vn_state_remove_record(c->state, c->name, &e2) < 0)
            snprintf(problems + strlen(problems), sizeof problems - strlen(problems),
                     " The record could not be removed: %.200s.", e2.msg);
        vn_state_unlock(c->state);
    }
    if (problems[0]) {
        size_t len = strlen(err->msg);
        snprintf(err->msg + len, sizeof err->msg - len, " Cleaning up also failed:%s", problems);
    }
}

/* When QEMU died, its exit status and log tail are the real cause: they replace err (a QMP
 * error is then only a symptom).  Returns -1. */
static int explain_qemu_death(struct ctx *c, struct vn_error *err)
{
    int st;
    /* A QMP error often arrives while QEMU is still on its way out: give it a moment. */
    if (c->proc.pid <= 0 || vn_qemu_wait_exit(c->proc.pid, EXIT_GRACE_MS, &st, NULL) != 1)
        return -1;
    char how[128], tail[600];
    vn_qemu_describe_status(st, how, sizeof how);
    vn_qemu_log_tail(c->paths.log, 3, tail, sizeof tail);
    vn_error_set(err, "domain '%s': cannot start QEMU: QEMU (pid %d) %s before it was ready: %s",
                 c->name, (int)c->proc.pid, how, tail[0] ? tail : "it printed nothing");
    c->proc.pid = 0; /* reaped */
    return -1;
}

/* Steps after the record: files, QEMU (held, recorded, released), affinity, cont, record
 * running.  *argv_out gets the command line QEMU runs. */
static int launch(struct ctx *c, const char *qemu, char ***argv_out, struct vn_error *err)
{
    if (vn_state_make_runtime_dir(c->state, c->name, err) < 0)
        return vn_error_prefix(err, "domain '%s': cannot create its runtime directory", c->name);
    VN_CLEANUP_CLOSE int mem_fd = vn_dom_memdir_open(&c->paths.memdir, true, err);
    if (mem_fd < 0)
        return vn_error_prefix(err, "domain '%s'", c->name);
    c->mem_made = true;
    if (vn_dom_memdir_check_room(mem_fd, c->paths.memdir.path, c->p->mem_mib, err) < 0)
        return vn_error_prefix(err, "domain '%s' cannot be created", c->name);
    if (vn_dom_memdir_make_files(mem_fd, c->paths.memdir.path, c->p->nvnodes, err) < 0)
        return vn_error_prefix(err, "domain '%s'", c->name);
    /* Confined: the files (0600) and their dir are the QEMU user's, which opens them. */
    if (vn_dom_confined(&c->cred) && vn_dom_memdir_give(mem_fd, c->paths.memdir.path, c->p->nvnodes,
                                                        c->cred.uid, c->cred.gid, err) < 0)
        return vn_error_prefix(err, "domain '%s'", c->name);
    /* QEMU opens its files through the dir vnuma checked, never by the path again. */
    snprintf(c->paths.mem, sizeof c->paths.mem, "/proc/self/fd/%d", mem_fd);
    int nv = c->spec->nvifs;
    if (nv > 0 && vn_dom_nics_open(c->name, c->spec, c->nics, c->taps, err) < 0)
        return -1;
    const char *kernel = c->boot_fd[0] > 0 ? c->boot_arg[0] : c->kernel[0] ? c->kernel : NULL;
    const char *initrd = c->boot_fd[1] > 0 ? c->boot_arg[1] : c->initrd[0] ? c->initrd : NULL;
    char **argv = vn_dom_qemu_argv(qemu, c->spec, c->p, &c->accel, &c->paths, c->taps, kernel,
                                   initrd, c->cmdline, err);
    if (!argv)
        return vn_error_prefix(err, "domain '%s'", c->name);
    *argv_out = argv;
    /* QEMU inherits the memory dir and each tap's (and vhost-net's) descriptor */
    VN_CLEANUP_FREE int *keep = calloc(3 + 2 * (size_t)nv, sizeof *keep);
    if (!keep)
        return vn_error_sys(err, ENOMEM, "domain '%s'", c->name);
    int nkeep = 0;
    keep[nkeep++] = mem_fd;
    for (int i = 0; i < 2; i++)
        if (c->boot_fd[i] > 0)
            keep[nkeep++] = c->boot_fd[i];
    for (int i = 0; i < nv; i++) {
        if (c->taps[i].fd >= 0)
            keep[nkeep++] = c->taps[i].fd;
        if (c->taps[i].vhost_fd >= 0)
            keep[nkeep++] = c->taps[i].vhost_fd;
    }
    if (vn_qemu_spawn_held_as((const char *const *)argv, c->paths.log, keep, nkeep, &c->cred,
                              &c->proc, err) < 0)
        return vn_error_prefix(err, "domain '%s': cannot start QEMU", c->name);
    /* The log is open (root's, 0600, QEMU writes to the inherited fd): now the dir where QEMU
     * makes its sockets becomes its user's. */
    if (vn_dom_confine_runtime_dir(c->name, c->paths.run, &c->cred, err) < 0) {
        vn_qemu_abandon(&c->proc);
        return -1;
    }
    vn_fault_point("create.held");
    /* The pid goes into the record before QEMU may run: a crash before this line leaves a
     * held child that exits on its own, one after it a QEMU that `destroy` can find. */
    if (write_record(c, VN_DOMAIN_CREATING, err) < 0) {
        vn_qemu_abandon(&c->proc);
        return -1;
    }
    vn_fault_point("create.recorded");
    if (vn_qemu_release(&c->proc, qemu, err) < 0)
        return vn_error_prefix(err, "domain '%s': cannot start QEMU", c->name);
    /* QEMU holds the taps now: they go when it exits, whoever stops it */
    vn_dom_nics_close(nv, c->taps);
    if (vn_qemu_wait_ready(&c->proc, c->paths.qmp, READY_TIMEOUT_MS, err) < 0) {
        c->proc.pid = 0; /* reaped or stopped by wait_ready */
        return vn_error_prefix(err, "domain '%s': cannot start QEMU", c->name);
    }
    VN_CLEANUP(vn_qmp_closep)
    struct vn_qmp *q = vn_qmp_connect(c->paths.qmp, QMP_TIMEOUT_MS, c->name, err);
    if (!q)
        return explain_qemu_death(c, err);
    VN_CLEANUP_FREE struct vn_qmp_vcpu *vcpus = NULL;
    int nvcpus = 0;
    if (vn_qmp_query_vcpus(q, QMP_TIMEOUT_MS, &vcpus, &nvcpus, err) < 0)
        return explain_qemu_death(c, err);
    if (vn_dom_apply_affinity(c->proc.pid, vcpus, nvcpus, c->p, c->topo, err) < 0) {
        vn_error_prefix(err, "domain '%s'", c->name);
        return explain_qemu_death(c, err);
    }
    if (vn_dom_vnc_set_password(q, c->name, &c->spec->vnc, QMP_TIMEOUT_MS, err) < 0)
        return explain_qemu_death(c, err);
    struct json_object *r = vn_qmp_command(q, "cont", NULL, QMP_TIMEOUT_MS, err);
    if (!r)
        return explain_qemu_death(c, err);
    json_object_put(r);
    vn_fault_point("create.running");
    return write_record(c, VN_DOMAIN_RUNNING, err);
}

static void ctx_free(struct ctx *c)
{
    for (int i = 0; i < 2; i++)
        if (c->boot_fd[i] > 0)
            close(c->boot_fd[i]);
    if (c->spec)
        vn_dom_nics_close(c->spec->nvifs, c->taps);
    free(c->taps);
    free(c->nics);
    vn_spec_free(c->spec);
    vn_topo_free(c->topo);
    vn_state_close(c->state);
    free(c->p);
}

/* Opens the state dir for a dry run without creating it: a missing one is an empty host. */
static int open_state(struct ctx *c, struct vn_error *err)
{
    const char *dir = vn_domain_state_dir(c->opts->state_dir);
    if (c->opts->dry_run)
        return vn_dom_open_existing(dir, &c->state, err);
    if (vn_state_open(dir, &c->state, err) < 0)
        return vn_error_prefix(err, "domain '%s' cannot be created", c->name);
    return 0;
}

static int create(struct ctx *c, const char *config_path, struct vn_domain_create_result *res,
                  struct vn_diags *diags, struct vn_error *err)
{
    c->topo = vn_topo_load(c->opts->host_spec, err);
    if (!c->topo)
        return vn_error_prefix(err, "cannot read the host topology");
    c->spec = vn_config_load_file(config_path, c->topo, diags, err);
    if (!c->spec) {
        if (!err->msg[0])
            vn_error_set(err, "config '%s' has %d error%s; nothing was created", config_path,
                         diags->nerrors, diags->nerrors == 1 ? "" : "s");
        return -1;
    }
    if (!c->spec->name)
        return vn_error_set(err, "config '%s' has no 'name'; a domain needs one", config_path);
    c->name = c->spec->name;
    if (vn_domain_name_check(c->name, err) < 0)
        return vn_error_prefix(err, "config '%s'", config_path);
    snprintf(res->name, sizeof res->name, "%s", c->name);
    if (vn_dom_qemu_cred(&c->cred, err) < 0)
        return vn_error_prefix(err, "domain '%s' cannot be created", c->name);
    if (resolve_boot(c, err) < 0 || check_confined_access(c, err) < 0 || resolve_nics(c, err) < 0 ||
        open_state(c, err) < 0 || choose_accel(c, err) < 0)
        return -1;
    /* KVM chosen (probed as root, or asked for): the QEMU user must open /dev/kvm too. */
    if (c->accel.accel == VN_ACCEL_KVM) {
        const char *kvm[] = {"/dev/kvm"}, *what[] = {"the KVM device"};
        int rw[] = {R_OK | W_OK};
        struct vn_error e2 = {0};
        if (vn_dom_confine_check(c->name, &c->cred, kvm, what, rw, 1, &e2) < 0)
            return vn_error_set(err,
                                "%s; for KVM it must be in the group 'kvm' (scripts/setup.sh "
                                "adds it)",
                                e2.msg);
    }
    res->accel = c->accel.accel;
    snprintf(res->accel_reason, sizeof res->accel_reason, "%s", c->accel.reason);
    snprintf(res->accel_cpu, sizeof res->accel_cpu, "%s", vn_accel_cpu(&c->accel));
    char qemu[4096];
    if (vn_qemu_find_binary(qemu, sizeof qemu, err) < 0)
        return vn_error_prefix(err, "domain '%s': cannot start QEMU", c->name);
    const char *bin[] = {qemu}, *bin_what[] = {"the QEMU binary"};
    if (vn_dom_confine_check(c->name, &c->cred, bin, bin_what, (int[]){X_OK}, 1, err) < 0)
        return -1;

    c->p = calloc(1, sizeof *c->p);
    if (!c->p)
        return vn_error_sys(err, ENOMEM, "domain '%s'", c->name);

    if (c->opts->dry_run) {
        /* No lock and no record: read the claims as they are. */
        if (place(c, err) < 0)
            return -1;
        if (c->state) {
            if (vn_dom_paths(c->state, c->name, &c->paths, err) < 0)
                return vn_error_prefix(err, "domain '%s'", c->name);
        } else if (vn_dom_paths_fresh(vn_domain_state_dir(c->opts->state_dir), c->name, &c->paths,
                                      err) < 0) {
            return vn_error_prefix(err, "domain '%s'", c->name);
        }
    } else {
        if (vn_dom_paths(c->state, c->name, &c->paths, err) < 0)
            return vn_error_prefix(err, "domain '%s'", c->name);
        if (vn_dom_confine_state_dir(c->state, &c->cred, err) < 0)
            return vn_error_prefix(err, "domain '%s' cannot be created", c->name);
        char what[128];
        snprintf(what, sizeof what, "create '%s'", c->name);
        if (vn_state_lock(c->state, LOCK_TIMEOUT_MS, what, err) < 0)
            return vn_error_prefix(err, "domain '%s' cannot be created", c->name);
        if (check_name_free(c, err) < 0 || place(c, err) < 0 ||
            write_record(c, VN_DOMAIN_CREATING, err) < 0) {
            vn_state_unlock(c->state);
            return -1;
        }
        c->recorded = true;
    }
    snprintf(res->runtime_dir, sizeof res->runtime_dir, "%s", c->paths.run);
    snprintf(res->mem_dir, sizeof res->mem_dir, "%s", c->paths.mem);

    if (c->opts->dry_run) {
        res->argv = vn_dom_qemu_argv(qemu, c->spec, c->p, &c->accel, &c->paths, NULL,
                                     c->kernel[0] ? c->kernel : NULL,
                                     c->initrd[0] ? c->initrd : NULL, c->cmdline, err);
        if (!res->argv)
            return vn_error_prefix(err, "domain '%s'", c->name);
    } else if (launch(c, qemu, &res->argv, err) < 0) {
        undo(c, err);
        return -1;
    }
    res->qemu_pid = c->proc.pid;
    res->placement = c->p;
    c->p = NULL;
    return 0;
}

int vn_domain_create(const char *config_path, const struct vn_domain_create_opts *opts,
                     struct vn_domain_create_result *result, struct vn_diags *diags,
                     struct vn_error *err)
{
    memset(result, 0, sizeof *result);
    struct ctx c = {.opts = opts};
    int rc = create(&c, config_path, result, diags, err);
    ctx_free(&c);
    if (rc < 0)
        vn_domain_create_result_clear(result);
    return rc;
}

void vn_domain_create_result_clear(struct vn_domain_create_result *r)
{
    free(r->placement);
    vn_argv_free(r->argv);
    memset(r, 0, sizeof *r);
}
