/* Unit tests for src/lib/state: the state dir, records, the host lock, liveness. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include <json-c/json.h>

#include "render/render.h"
#include "state/state.h"
#include "../testrecord.h"
#include "util/cleanup.h"

struct fixture {
    char base[64];  /* temp dir, removed by teardown */
    char dir[128];  /* base/state */
    char path[512]; /* scratch */
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    strcpy(f->base, "/tmp/vnuma-state-test-XXXXXX");
    if (!mkdtemp(f->base)) {
        free(f);
        return -1;
    }
    snprintf(f->dir, sizeof f->dir, "%s/state", f->base);
    *state = f;
    return 0;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    if (flag == FTW_DP || flag == FTW_D)
        return rmdir(path) < 0 ? -1 : 0;
    return unlink(path) < 0 ? -1 : 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    /* Tests may leave a dir unwritable on purpose: give it back before removing. */
    chmod(f->dir, 0700);
    int rc = nftw(f->base, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(f);
    return rc;
}

/* The message with printf arguments filled in. */
static const char *fmt(const char *format, ...) __attribute__((format(printf, 1, 2)));
static const char *fmt(const char *format, ...)
{
    static char buf[2][VN_ERROR_MSG_MAX];
    static int which;
    which ^= 1;
    va_list ap;
    va_start(ap, format);
    vsnprintf(buf[which], sizeof buf[which], format, ap);
    va_end(ap);
    return buf[which];
}

static mode_t mode_of(const char *path)
{
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    return st.st_mode & 07777;
}

static struct vn_state *open_locked(struct fixture *f)
{
    struct vn_state *s = NULL;
    struct vn_error err = {0};
    assert_int_equal(vn_state_open(f->dir, &s, &err), 0);
    assert_int_equal(vn_state_lock(s, 1000, "test", &err), 0);
    return s;
}

/* A record as `create` would write it once QEMU runs. */
static void sample_record(struct vn_domain_record *r, const char *name)
{
    vn_domain_record_init(r);
    snprintf(r->name, sizeof r->name, "%s", name);
    r->status = VN_DOMAIN_RUNNING;
    r->config_path = strdup("/etc/vnuma/web1.cfg");
    r->spec =
        tr_spec("name = 'web1'\nmemory = 2048\nvcpus = 4\nvnuma = [ [ 'size=1024', "
                "'vcpus=0-1', 'pnode=auto', 'vdistances=10,20' ], [ 'size=1024', 'vcpus=2-3', "
                "'pnode=auto', 'vdistances=20,10' ] ]\n");
    r->placement = tr_placement(2, (int[]){1, 3}, (uint64_t[]){1024, 1024}, 4, (int[]){0, 0, 1, 1});
    r->placement->score = 0.75;
    r->qemu_pid = 4242;
    r->qemu_start = 123456789012ULL;
    r->creator_pid = 4200;
    r->creator_start = 123456780000ULL;
    r->accel = VN_ACCEL_TCG;
    r->runtime_dir = strdup("/run/vnuma/run/web1");
    r->qmp_socket = strdup("/run/vnuma/run/web1/qmp.sock");
    r->console_socket = strdup("/run/vnuma/run/web1/console.sock");
    r->log_path = strdup("/run/vnuma/run/web1/qemu.log");
    r->created = 1732350000;
    r->mem_dir = strdup("/dev/shm/vnuma-0/st-1-2/web1");
    r->console_log = strdup("/run/vnuma/run/web1/console.log");
    r->accel_reason = strdup("KVM is not usable: /dev/kvm is missing");
    r->balance = 0;
    /* vnode 1 half moved to node 2, and vCPU 3 pinned by vcpu-pin. */
    struct vn_mem_move *m = vn_domain_move_add(r, 1);
    m->state = VN_MOVE_SPLIT;
    vn_bitmap_set(&m->from, 3);
    vn_bitmap_set(&m->to, 2);
    m->nclaim = 2;
    m->claim[0] = (struct vn_claim_share){2, 512, 0};
    m->claim[1] = (struct vn_claim_share){3, 512, 0};
    m->pid = 4300;
    m->pid_start = 99;
    m->started = 1732350100;
    m->pages_total = 262144;
    m->pages_done = 131072;
    m->pages_moved = 131000;
    snprintf(m->reason, sizeof m->reason, "interrupted");
    m->nresident = 1;
    m->resident[0] = (struct vn_move_resident){2, 511.5};
    /* vnode 0 moving from node 1 to node 0, the 1024 MiB it moves into reserved there. */
    m = vn_domain_move_add(r, 0);
    m->state = VN_MOVE_MOVING;
    vn_bitmap_set(&m->from, 1);
    vn_bitmap_set(&m->to, 0);
    m->nclaim = 1;
    m->claim[0] = (struct vn_claim_share){1, 1024, 0};
    m->nreserved = 1;
    m->reserved[0] = (struct vn_claim_share){0, 1024, 0};
    m->pid = 4301;
    struct vn_vcpu_pin *p = vn_domain_pin_add(r, 3);
    p->have_soft = true;
    vn_bitmap_set(&p->soft, 6);
    p->have_soft_nodes = true;
    vn_bitmap_set(&p->soft_nodes, 3);
}

/* The text of o, which it consumes, for comparing (NULL for none). */
static char *json_text(struct json_object *o)
{
    char *t = o ? strdup(json_object_to_json_string(o)) : NULL;
    json_object_put(o);
    return t;
}

static char *placement_text(const struct vn_placement *p)
{
    return json_text(p ? vn_render_json(p) : NULL);
}

static char *spec_text(const struct vn_vm_spec *spec)
{
    return json_text(spec ? vn_spec_to_json(spec) : NULL);
}

/* Names of the files in dir, sorted, joined by spaces. */
static const char *dir_listing(const char *dir)
{
    static char out[1024];
    struct dirent **list;
    int n = scandir(dir, &list, NULL, alphasort);
    assert_true(n >= 0);
    out[0] = '\0';
    for (int i = 0; i < n; i++) {
        if (strcmp(list[i]->d_name, ".") && strcmp(list[i]->d_name, "..")) {
            if (out[0])
                strcat(out, " ");
            strncat(out, list[i]->d_name, sizeof out - strlen(out) - 2);
        }
        free(list[i]);
    }
    free(list);
    return out;
}

static void test_open_creates_owner_only(void **state)
{
    struct fixture *f = *state;
    struct vn_state *s = NULL;
    struct vn_error err = {0};
    mode_t old = umask(0);
    int rc = vn_state_open(f->dir, &s, &err);
    umask(old);
    assert_int_equal(rc, 0);
    assert_string_equal(vn_state_dir(s), f->dir);
    assert_int_equal(mode_of(f->dir), 0700);
    assert_int_equal(mode_of(fmt("%s/domains", f->dir)), 0700);
    assert_int_equal(mode_of(fmt("%s/run", f->dir)), 0700);
    vn_state_close(s);
    /* Opening again finds it as it should be. */
    assert_int_equal(vn_state_open(f->dir, &s, &err), 0);
    vn_state_close(s);
}

static void test_open_refuses_bad_dirs(void **state)
{
    struct fixture *f = *state;
    struct vn_state *s = NULL;
    struct vn_error err = {0};

    /* A regular file where the dir should be. */
    snprintf(f->path, sizeof f->path, "%s/file", f->base);
    int fd = open(f->path, O_WRONLY | O_CREAT, 0600);
    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(vn_state_open(f->path, &s, &err), -1);
    assert_string_equal(err.msg, fmt("state directory '%s' is not a directory", f->path));
    assert_null(s);

    /* Below a regular file: ENOTDIR, which stops root too. */
    const char *below = fmt("%s/file/state", f->base);
    char below_copy[512];
    snprintf(below_copy, sizeof below_copy, "%s", below);
    assert_int_equal(vn_state_open(below_copy, &s, &err), -1);
    assert_string_equal(err.msg,
                        fmt("cannot create state directory '%s': Not a directory", below_copy));
    assert_int_equal(err.errnum, ENOTDIR);

    /* Open to other users. */
    assert_int_equal(mkdir(f->dir, 0700), 0);
    assert_int_equal(chmod(f->dir, 0777), 0);
    assert_int_equal(vn_state_open(f->dir, &s, &err), -1);
    assert_string_equal(err.msg, fmt("state directory '%s' is writable by other users (mode "
                                     "0777); make it owner-only (chmod 700)",
                                     f->dir));
    assert_int_equal(vn_state_open("", &s, &err), -1);
    assert_string_equal(err.msg, "the state directory path is empty");
}

static void test_open_unwritable(void **state)
{
    struct fixture *f = *state;
    if (geteuid() == 0) {
        printf("# skipped: root writes to a mode 0500 dir anyway; ENOTDIR and ownership are "
               "tested instead\n");
        skip();
    }
    struct vn_state *s = NULL;
    struct vn_error err = {0};
    assert_int_equal(mkdir(f->dir, 0500), 0);
    assert_int_equal(vn_state_open(f->dir, &s, &err), -1);
    assert_string_equal(err.msg,
                        fmt("state directory '%s' is not writable: Permission denied", f->dir));
}

static void test_open_other_owner(void **state)
{
    struct fixture *f = *state;
    if (geteuid() != 0) {
        printf("# skipped: only root can give a dir to another user\n");
        skip();
    }
    struct vn_state *s = NULL;
    struct vn_error err = {0};
    assert_int_equal(mkdir(f->dir, 0700), 0);
    assert_int_equal(chown(f->dir, 65534, 65534), 0);
    assert_int_equal(vn_state_open(f->dir, &s, &err), -1);
    assert_string_equal(err.msg, fmt("state directory '%s' is owned by uid 65534, not by the "
                                     "current user (uid 0)",
                                     f->dir));
}

static void test_name_check(void **state)
{
    struct vn_error err = {0};
    const char *good[] = {"web1", "a", "A.b-c_d", "0", "x.."};
    for (size_t i = 0; i < VN_ARRAY_SIZE(good); i++)
        assert_int_equal(vn_domain_name_check(good[i], &err), 0);
    char longest[VN_DOMAIN_NAME_MAX + 2];
    memset(longest, 'n', sizeof longest);
    longest[VN_DOMAIN_NAME_MAX] = '\0';
    assert_int_equal(vn_domain_name_check(longest, &err), 0);
    longest[VN_DOMAIN_NAME_MAX] = 'n';
    longest[VN_DOMAIN_NAME_MAX + 1] = '\0';
    assert_int_equal(vn_domain_name_check(longest, &err), -1);
    assert_string_equal(
        err.msg,
        fmt("domain name '%.20s...' is 65 characters long; at most 64 are allowed", longest));

    assert_int_equal(vn_domain_name_check("", &err), -1);
    assert_string_equal(err.msg, "the domain name is empty");
    assert_int_equal(vn_domain_name_check("..", &err), -1);
    assert_string_equal(
        err.msg,
        "domain name '..' starts with '.', which would hide it or make it a parent directory");
    assert_int_equal(vn_domain_name_check("-rf", &err), -1);
    assert_string_equal(
        err.msg, "domain name '-rf' starts with '-', which commands would read as an option");
    assert_int_equal(vn_domain_name_check("a/b", &err), -1);
    assert_string_equal(
        err.msg,
        "domain name 'a/b' contains '/'; only letters, digits, '-', '_' and '.' are allowed");
    assert_int_equal(vn_domain_name_check("a b", &err), -1);
    assert_string_equal(err.msg, "domain name 'a b' contains the byte 0x20; only letters, digits, "
                                 "'-', '_' and '.' are allowed");
}

static void assert_str_or_null(const char *a, const char *b)
{
    if (!a || !b)
        assert_ptr_equal(a, b);
    else
        assert_string_equal(a, b);
}

static void assert_records_equal(const struct vn_domain_record *a, const struct vn_domain_record *b)
{
    assert_string_equal(a->name, b->name);
    assert_int_equal(a->status, b->status);
    assert_str_or_null(a->config_path, b->config_path);
    char *ta = spec_text(a->spec), *tb = spec_text(b->spec);
    assert_str_or_null(ta, tb);
    free(ta);
    free(tb);
    ta = placement_text(a->placement);
    tb = placement_text(b->placement);
    assert_str_or_null(ta, tb);
    free(ta);
    free(tb);
    const struct vn_claim *ca = vn_domain_claim(a), *cb = vn_domain_claim(b);
    assert_int_equal(ca->n, cb->n);
    for (int i = 0; i < ca->n; i++) {
        assert_int_equal(ca->v[i].node, cb->v[i].node);
        assert_int_equal(ca->v[i].mem_mib, cb->v[i].mem_mib);
        assert_int_equal(ca->v[i].vcpus, cb->v[i].vcpus);
    }
    assert_int_equal(a->qemu_pid, b->qemu_pid);
    assert_int_equal(a->qemu_start, b->qemu_start);
    assert_int_equal(a->creator_pid, b->creator_pid);
    assert_int_equal(a->creator_start, b->creator_start);
    assert_int_equal(a->accel, b->accel);
    assert_str_or_null(a->runtime_dir, b->runtime_dir);
    assert_str_or_null(a->qmp_socket, b->qmp_socket);
    assert_str_or_null(a->console_socket, b->console_socket);
    assert_str_or_null(a->log_path, b->log_path);
    assert_int_equal(a->created, b->created);
    assert_str_or_null(a->mem_dir, b->mem_dir);
    assert_str_or_null(a->console_log, b->console_log);
    assert_str_or_null(a->accel_reason, b->accel_reason);
    assert_int_equal(a->balance, b->balance);
    assert_int_equal(a->balance_fixed, b->balance_fixed);
    assert_int_equal(a->nmoves, b->nmoves);
    for (int i = 0; i < a->nmoves; i++)
        assert_memory_equal(&a->moves[i], &b->moves[i], sizeof a->moves[i]);
    assert_int_equal(a->npins, b->npins);
    for (int i = 0; i < a->npins; i++)
        assert_memory_equal(&a->pins[i], &b->pins[i], sizeof a->pins[i]);
}

static void test_write_read_roundtrip(void **state)
{
    struct fixture *f = *state;
    struct vn_state *s = open_locked(f);
    struct vn_error err = {0};
    struct vn_domain_record r, back;
    sample_record(&r, "web1");
    assert_int_equal(vn_state_write_record(s, &r, &err), 0);
    assert_string_equal(dir_listing(fmt("%s/domains", f->dir)), "web1.json");
    assert_int_equal(mode_of(fmt("%s/domains/web1.json", f->dir)), 0600);
    assert_int_equal(vn_state_read_record(s, "web1", &back, &err), 0);
    assert_records_equal(&r, &back);
    vn_domain_record_clear(&back);

    /* An update replaces the record whole and leaves no temp file behind. */
    r.status = VN_DOMAIN_MIGRATING;
    free(r.placement);
    r.placement = NULL;
    r.nmoves = 0;
    free(r.log_path);
    r.log_path = NULL;
    assert_int_equal(vn_state_write_record(s, &r, &err), 0);
    assert_string_equal(dir_listing(fmt("%s/domains", f->dir)), "web1.json");
    assert_int_equal(vn_state_read_record(s, "web1", &back, &err), 0);
    assert_records_equal(&r, &back);
    assert_string_equal(vn_domain_status_name(back.status), "migrating");
    vn_domain_record_clear(&back);

    /* A preserved domain: its watcher and how its life ended (extra.watcher_*, stopped*). */
    r.status = VN_DOMAIN_PRESERVED;
    r.watcher_pid = 4321;
    r.watcher_start = 987654321;
    r.stopped = strdup("crash");
    r.stopped_at = 1732350100;
    assert_int_equal(vn_state_write_record(s, &r, &err), 0);
    assert_int_equal(vn_state_read_record(s, "web1", &back, &err), 0);
    assert_string_equal(vn_domain_status_name(back.status), "preserved");
    assert_int_equal(back.watcher_pid, 4321);
    assert_int_equal(back.watcher_start, 987654321);
    assert_string_equal(back.stopped, "crash");
    assert_int_equal(back.stopped_at, 1732350100);
    vn_domain_record_clear(&back);

    /* A record with nothing filled in (the first "creating" one) round-trips too. */
    struct vn_domain_record empty;
    vn_domain_record_init(&empty);
    strcpy(empty.name, "new");
    assert_int_equal(vn_state_write_record(s, &empty, &err), 0);
    assert_int_equal(vn_state_read_record(s, "new", &back, &err), 0);
    assert_int_equal(back.status, VN_DOMAIN_CREATING);
    assert_int_equal(back.accel, VN_ACCEL_AUTO);
    assert_null(back.spec);
    assert_null(back.placement);
    assert_null(back.mem_dir);
    assert_int_equal(back.balance, -1);
    assert_int_equal(back.nmoves + back.npins, 0);
    vn_domain_record_clear(&back);

    vn_domain_record_clear(&r);
    vn_state_close(s);
}

/* A vnode without vCPUs (a memory-only guest node) has the empty list "": it must read back
 * (found by the guest tier's cpuless topology). */
static void test_cpuless_vnode_roundtrip(void **state)
{
    struct fixture *f = *state;
    struct vn_state *s = open_locked(f);
    struct vn_error err = {0};
    struct vn_domain_record r, back;
    vn_domain_record_init(&r);
    strcpy(r.name, "cl");
    r.placement = tr_placement(2, (int[]){0, 0}, (uint64_t[]){256, 256}, 2, (int[]){0, 0});
    assert_int_equal(vn_state_write_record(s, &r, &err), 0);
    if (vn_state_read_record(s, "cl", &back, &err) < 0)
        fail_msg("%s", err.msg);
    assert_true(vn_bitmap_empty(&back.placement->vnodes[1].vcpus));
    assert_records_equal(&r, &back);
    vn_domain_record_clear(&back);
    vn_domain_record_clear(&r);
    vn_state_close(s);
}

static void test_write_needs_lock_and_valid_record(void **state)
{
    struct fixture *f = *state;
    struct vn_state *s = NULL;
    struct vn_error err = {0};
    assert_int_equal(vn_state_open(f->dir, &s, &err), 0);
    struct vn_domain_record r;
    sample_record(&r, "web1");
    assert_int_equal(vn_state_write_record(s, &r, &err), -1);
    assert_string_equal(err.msg, "domain 'web1': writing its state record needs the host lock");
    assert_int_equal(vn_state_remove_record(s, "web1", &err), -1);
    assert_string_equal(err.msg, "domain 'web1': removing its state record needs the host lock");
    assert_int_equal(vn_state_lock(s, 1000, "test", &err), 0);
    r.placement->claim.v[1].node = 1;
    assert_int_equal(vn_state_write_record(s, &r, &err), -1);
    assert_string_equal(err.msg, "domain 'web1': the claim lists host node 1 twice");
    strcpy(r.name, "../etc");
    assert_int_equal(vn_state_write_record(s, &r, &err), -1);
    assert_string_equal(
        err.msg,
        "domain name '../etc' starts with '.', which would hide it or make it a parent directory");
    assert_string_equal(dir_listing(fmt("%s/domains", f->dir)), "");
    vn_domain_record_clear(&r);
    vn_state_close(s);
}

static void test_leftover_temp_file(void **state)
{
    struct fixture *f = *state;
    struct vn_state *s = open_locked(f);
    struct vn_error err = {0};
    struct vn_domain_record r;
    sample_record(&r, "web1");
    assert_int_equal(vn_state_write_record(s, &r, &err), 0);
    vn_state_unlock(s);

    /* A writer that crashed between mkstemp and rename leaves half a record behind. */
    snprintf(f->path, sizeof f->path, "%s/domains/.web1.json.Ab12Cd", f->dir);
    int fd = open(f->path, O_WRONLY | O_CREAT, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "{\"version\": 1, \"na", 18), 18);
    close(fd);
    char **names;
    int n;
    assert_int_equal(vn_state_list(s, &names, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_string_equal(names[0], "web1");
    vn_state_names_free(names, n);
    struct vn_domain_record back;
    assert_int_equal(vn_state_read_record(s, "web1", &back, &err), 0);
    assert_records_equal(&r, &back);
    vn_domain_record_clear(&back);

    /* The next lock holder knows no writer is active and removes it. */
    assert_int_equal(vn_state_lock(s, 1000, "test", &err), 0);
    assert_string_equal(dir_listing(fmt("%s/domains", f->dir)), "web1.json");
    vn_domain_record_clear(&r);
    vn_state_close(s);
}

/* Rewrites the record file of web1 as text. */
static void put_file(struct fixture *f, const char *text)
{
    snprintf(f->path, sizeof f->path, "%s/domains/web1.json", f->dir);
    int fd = open(f->path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
}

/* Writes a good record, changes key to value (JSON text; NULL deletes it), reads it back and
 * checks the error is "state record 'PATH' is corrupt: WHY". */
static void check_corrupt(struct vn_state *s, struct fixture *f, const char *key, const char *value,
                          const char *why)
{
    struct vn_error err = {0};
    struct vn_domain_record r;
    sample_record(&r, "web1");
    assert_int_equal(vn_state_write_record(s, &r, &err), 0);
    vn_domain_record_clear(&r);
    snprintf(f->path, sizeof f->path, "%s/domains/web1.json", f->dir);
    struct json_object *o = json_object_from_file(f->path);
    assert_non_null(o);
    /* key is a path: "extra.migrations.1.state" (numbers index arrays). */
    char path[128];
    snprintf(path, sizeof path, "%s", key);
    struct json_object *at = o;
    char *last = path, *dot;
    while ((dot = strchr(last, '.'))) {
        *dot = '\0';
        at = json_object_is_type(at, json_type_array)
                 ? json_object_array_get_idx(at, (size_t)atoi(last))
                 : json_object_object_get(at, last);
        assert_non_null(at);
        last = dot + 1;
    }
    if (value && json_object_is_type(at, json_type_array))
        json_object_array_put_idx(at, (size_t)atoi(last), json_tokener_parse(value));
    else if (value)
        json_object_object_add(at, last, json_tokener_parse(value));
    else
        json_object_object_del(at, last);
    put_file(f, json_object_to_json_string(o));
    json_object_put(o);
    assert_int_equal(vn_state_read_record(s, "web1", &r, &err), -1);
    if (why[0] == '~') /* a part of the message only */
        assert_non_null(strstr(err.msg, why + 1));
    else
        assert_string_equal(err.msg, fmt("state record '%s' is corrupt: %s", f->path, why));
    /* Nothing is handed out from a rejected record. */
    assert_null(r.spec);
    assert_null(r.config_path);
}

static void test_corrupt_records(void **state)
{
    struct fixture *f = *state;
    struct vn_state *s = open_locked(f);
    struct vn_error err = {0};
    struct vn_domain_record r;
    const char *prefix = fmt("%s/domains/web1.json", f->dir);
    char path[512];
    snprintf(path, sizeof path, "%s", prefix);

    put_file(f, "");
    assert_int_equal(vn_state_read_record(s, "web1", &r, &err), -1);
    assert_string_equal(err.msg, fmt("state record '%s' is corrupt: the file is empty", path));
    put_file(f, "{\"version\": 1, \"name\": \"we");
    assert_int_equal(vn_state_read_record(s, "web1", &r, &err), -1);
    assert_string_equal(
        err.msg, fmt("state record '%s' is corrupt: the JSON ends early (truncated file?)", path));
    put_file(f, "{\"version\": 1,, }");
    assert_int_equal(vn_state_read_record(s, "web1", &r, &err), -1);
    assert_string_equal(err.msg, fmt("state record '%s' is corrupt: invalid JSON at byte 14: "
                                     "quoted object property name expected",
                                     path));
    put_file(f, "[1, 2]\n");
    assert_int_equal(vn_state_read_record(s, "web1", &r, &err), -1);
    assert_string_equal(err.msg,
                        fmt("state record '%s' is corrupt: it is not a JSON object", path));

    check_corrupt(s, f, "qemu_pid", "\"4242\"", "key 'qemu_pid' must be an integer");
    check_corrupt(s, f, "qemu_pid", "-5", "key 'qemu_pid' is out of range (-5)");
    check_corrupt(s, f, "qemu_start", "-5", "key 'qemu_start' is negative");
    check_corrupt(s, f, "status", NULL, "key 'status' is missing");
    check_corrupt(s, f, "status", "\"flying\"",
                  "status 'flying' is not one of creating, running, paused, migrating, stopping");
    check_corrupt(s, f, "accel", "\"xen\"", "accel 'xen' is not one of auto, kvm, tcg");
    check_corrupt(s, f, "name", "\"db1\"", "it names domain 'db1'");
    check_corrupt(s, f, "version", "3",
                  "version 3 is not supported (this vnuma reads versions 1 and 2)");
    check_corrupt(s, f, "colour", "\"blue\"", "unknown key 'colour'");
    check_corrupt(s, f, "log", "7", "key 'log' must be a string or null");
    check_corrupt(s, f, "extra", "[]", "key 'extra' must be an object");
    /* The claim is the placement's, stored once: a second one is refused. */
    check_corrupt(s, f, "claim", "[]", "unknown key 'claim'");
    check_corrupt(s, f, "placement.claim",
                  "[{\"node\": 0, \"memory_mib\": 1, \"vcpus\": 1}, "
                  "{\"node\": 0, \"memory_mib\": 2, \"vcpus\": 1}]",
                  "placement: claim[1]: host node 0 is claimed twice");
    check_corrupt(s, f, "placement.claim.0.vcpus", "true",
                  "placement: claim[0]: key 'vcpus' has the wrong type");
    check_corrupt(s, f, "placement.vcpus", "0", "placement: key 'vcpus' is out of range (0)");
    check_corrupt(s, f, "placement.vnodes.1.pnodes", "[3, 1]",
                  "placement: vnodes[1]: pnodes must be ascending host node numbers below 4096");
    check_corrupt(s, f, "placement.vnodes.0.vcpus", "\"1,0\"",
                  "placement: vnodes[0]: key 'vcpus' is not in canonical form ('0-1', not '1,0')");
    check_corrupt(s, f, "placement.vcpu_affinity.2.vnode", "5",
                  "placement: vcpu_affinity[2]: key 'vnode' is out of range (5)");
    check_corrupt(s, f, "placement.colour", "1", "placement: unknown key 'colour'");
    check_corrupt(s, f, "spec.vcpus", "\"four\"", "~spec");
    /* What later commands add: typed, and checked like the rest. */
    check_corrupt(s, f, "extra.colour", "1", "extra: unknown key 'colour'");
    check_corrupt(s, f, "extra.balance", "1", "extra: key 'balance' must be a boolean");
    check_corrupt(s, f, "extra.migrations.x", "{}",
                  "extra: migrations key 'x' is not a number 0..63");
    check_corrupt(s, f, "extra.migrations.1.state", "\"gone\"",
                  "extra.migrations[\"1\"]: state 'gone' is not one of moving, split");
    check_corrupt(s, f, "extra.migrations.1.reason", NULL,
                  "extra.migrations[\"1\"]: key 'reason' is missing");
    check_corrupt(s, f, "extra.vcpu_affinity.3.hard", "\"x\"",
                  "~extra.vcpu_affinity[\"3\"]: key 'hard': ");
    vn_state_close(s);
}

/* A version 1 record (the claim kept twice, top-level with "mem_mib") is read, the top-level
 * claim winning, and written back as version 2; a bad v1 claim is refused with its entry. */
static void put_v1(struct fixture *f, const char *claim)
{
    snprintf(f->path, sizeof f->path, "%s/domains/web1.json", f->dir);
    struct json_object *o = json_object_from_file(f->path);
    assert_non_null(o);
    json_object_object_add(o, "version", json_object_new_int(1));
    json_object_object_add(o, "claim", json_tokener_parse(claim));
    put_file(f, json_object_to_json_string(o));
    json_object_put(o);
}

static void test_read_version1(void **state)
{
    struct fixture *f = *state;
    struct vn_state *s = open_locked(f);
    struct vn_error err = {0};
    struct vn_domain_record r;
    sample_record(&r, "web1");
    assert_int_equal(vn_state_write_record(s, &r, &err), 0);
    vn_domain_record_clear(&r);
    put_v1(f, "[{\"node\": 1, \"mem_mib\": 1536, \"vcpus\": 3}, "
              "{\"node\": 3, \"mem_mib\": 512, \"vcpus\": 1}]");
    assert_int_equal(vn_state_read_record(s, "web1", &r, &err), 0);
    assert_int_equal(vn_domain_claim(&r)->n, 2);
    assert_int_equal(vn_domain_claim(&r)->v[0].mem_mib, 1536);
    assert_int_equal(vn_domain_claim(&r)->v[1].vcpus, 1);
    assert_int_equal(vn_state_write_record(s, &r, &err), 0);
    vn_domain_record_clear(&r);
    struct json_object *o = json_object_from_file(f->path);
    assert_int_equal(json_object_get_int(json_object_object_get(o, "version")), 2);
    assert_null(json_object_object_get(o, "claim"));
    json_object_put(o);

    put_v1(f, "[{\"node\": 0, \"mem_mib\": 1, \"vcpus\": 1}, "
              "{\"node\": 0, \"mem_mib\": 2, \"vcpus\": 1}]");
    assert_int_equal(vn_state_read_record(s, "web1", &r, &err), -1);
    assert_string_equal(err.msg, fmt("state record '%s' is corrupt: the claim lists host node 0 "
                                     "twice",
                                     f->path));
    put_v1(f, "[{\"node\": 0, \"mem_mib\": 1, \"vcpus\": true}]");
    assert_int_equal(vn_state_read_record(s, "web1", &r, &err), -1);
    assert_string_equal(err.msg, fmt("state record '%s' is corrupt: claim entry 0: key 'vcpus' "
                                     "must be an integer",
                                     f->path));
    put_v1(f, "[{\"node\": 0, \"mem_mib\": 1}]");
    assert_int_equal(vn_state_read_record(s, "web1", &r, &err), -1);
    assert_string_equal(err.msg, fmt("state record '%s' is corrupt: claim entry 0: key 'vcpus' "
                                     "is missing",
                                     f->path));
    vn_state_close(s);
}

/* A record made before placement, parsed from memory. */
static const char doc_record[] =
    "{\"version\": 2, \"name\": \"web1\", \"status\": \"running\", \"created\": 1732350000,\n"
    " \"config\": \"/etc/vnuma/web1.cfg\", \"accel\": \"tcg\", \"qemu_pid\": 4242,\n"
    " \"qemu_start\": 123456789012, \"creator_pid\": 4200, \"creator_start\": 123456780000,\n"
    " \"runtime_dir\": \"/run/vnuma/run/web1\", \"qmp_socket\": \"/run/vnuma/run/web1/qmp.sock\",\n"
    " \"console_socket\": null, \"log\": \"/run/vnuma/run/web1/qemu.log\",\n"
    " \"spec\": null, \"placement\": null, \"extra\": {\"balance\": true}}\n";

static void test_record_from_buf(void **state)
{
    struct vn_error err = {0};
    struct vn_domain_record r;
    /* An exact-size copy without a terminating NUL: the parser must stay within len. */
    size_t len = strlen(doc_record);
    char *buf = malloc(len);
    assert_non_null(buf);
    memcpy(buf, doc_record, len);
    assert_int_equal(vn_domain_record_from_json_buf(buf, len, "web1", &r, &err), 0);
    free(buf);
    assert_string_equal(r.name, "web1");
    assert_int_equal(r.status, VN_DOMAIN_RUNNING);
    assert_int_equal(r.accel, VN_ACCEL_TCG);
    assert_int_equal(r.created, 1732350000);
    assert_int_equal(r.qemu_pid, 4242);
    assert_int_equal(r.qemu_start, 123456789012ULL);
    assert_int_equal(r.creator_pid, 4200);
    assert_int_equal(r.creator_start, 123456780000ULL);
    assert_string_equal(r.config_path, "/etc/vnuma/web1.cfg");
    assert_string_equal(r.qmp_socket, "/run/vnuma/run/web1/qmp.sock");
    assert_null(r.console_socket);
    assert_string_equal(r.log_path, "/run/vnuma/run/web1/qemu.log");
    assert_int_equal(vn_domain_claim(&r)->n, 0);
    assert_null(r.spec);
    assert_null(r.placement);
    assert_int_equal(r.balance, 1);
    vn_domain_record_clear(&r);

    /* The same checks as for a file, named after the domain. */
    const char *bad = "{\"version\": 2, \"name\": \"web1\", \"status\": \"running\", "
                      "\"created\": 1732350000, \"config\": null, \"accel\": \"kvm\", "
                      "\"qemu_pid\": 0, \"qemu_start\": 0, \"creator_pid\": 0, "
                      "\"creator_start\": 0, \"runtime_dir\": null, \"qmp_socket\": null, "
                      "\"console_socket\": null, \"log\": null, "
                      "\"spec\": null, \"placement\": null, \"extra\": {\"mem_dir\": 1}}";
    assert_int_equal(vn_domain_record_from_json_buf(bad, strlen(bad), "web1", &r, &err), -1);
    assert_string_equal(err.msg, "state record 'web1.json' is corrupt: extra: key 'mem_dir' must "
                                 "be a string");
    assert_null(r.config_path);
    assert_null(r.mem_dir);
    assert_int_equal(
        vn_domain_record_from_json_buf(doc_record, strlen(doc_record), "db1", &r, &err), -1);
    assert_string_equal(err.msg, "state record 'db1.json' is corrupt: it names domain 'web1'");
    assert_int_equal(vn_domain_record_from_json_buf(doc_record, 20, "web1", &r, &err), -1);
    assert_string_equal(
        err.msg, "state record 'web1.json' is corrupt: the JSON ends early (truncated file?)");
    assert_int_equal(vn_domain_record_from_json_buf("{}", 2, "../web1", &r, &err), -1);
}

static void test_read_missing_remove_list(void **state)
{
    struct fixture *f = *state;
    struct vn_state *s = open_locked(f);
    struct vn_error err = {0};
    struct vn_domain_record r;
    assert_int_equal(vn_state_read_record(s, "nope", &r, &err), -1);
    assert_string_equal(err.msg, "domain 'nope' does not exist");
    assert_int_equal(err.errnum, ENOENT);

    const char *names_in[] = {"zeta", "alpha", "m.1"};
    for (size_t i = 0; i < VN_ARRAY_SIZE(names_in); i++) {
        sample_record(&r, names_in[i]);
        assert_int_equal(vn_state_write_record(s, &r, &err), 0);
        vn_domain_record_clear(&r);
    }
    /* Files that are not records are not listed. */
    put_file(f, "{}");
    snprintf(f->path, sizeof f->path, "%s/domains/notes.txt", f->dir);
    close(open(f->path, O_WRONLY | O_CREAT, 0600));
    char **names;
    int n;
    assert_int_equal(vn_state_list(s, &names, &n, &err), 0);
    assert_int_equal(n, 4);
    assert_string_equal(names[0], "alpha");
    assert_string_equal(names[1], "m.1");
    assert_string_equal(names[2], "web1");
    assert_string_equal(names[3], "zeta");
    vn_state_names_free(names, n);

    assert_int_equal(vn_state_remove_record(s, "m.1", &err), 0);
    assert_int_equal(vn_state_remove_record(s, "m.1", &err), -1);
    assert_string_equal(err.msg, "domain 'm.1' does not exist");
    assert_int_equal(err.errnum, ENOENT);
    assert_int_equal(vn_state_list(s, &names, &n, &err), 0);
    assert_int_equal(n, 3);
    assert_string_equal(names[1], "web1");
    vn_state_names_free(names, n);
    vn_state_close(s);
}

static void test_lock_excludes_other_process(void **state)
{
    struct fixture *f = *state;
    struct vn_state *s = NULL;
    struct vn_error err = {0};
    assert_int_equal(vn_state_open(f->dir, &s, &err), 0);
    assert_int_equal(vn_state_lock(s, 1000, "create 'web1'", &err), 0);
    assert_true(vn_state_locked(s));
    assert_int_equal(vn_state_lock(s, 1000, "again", &err), -1);
    assert_string_equal(err.msg, fmt("the host lock '%s/host.lock' is already held by this "
                                     "process",
                                     f->dir));

    char want[VN_ERROR_MSG_MAX];
    snprintf(want, sizeof want,
             "the host lock '%s/host.lock' is held by pid %d (create 'web1'); gave up after "
             "200 ms",
             f->dir, (int)getpid());
    fflush(NULL);
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        /* Another vnuma: its own handle, so its own open file and flock. */
        struct vn_state *s2 = NULL;
        struct vn_error e2 = {0};
        if (vn_state_open(f->dir, &s2, &e2) < 0)
            _exit(2);
        if (vn_state_lock(s2, 200, "create 'web2'", &e2) == 0)
            _exit(3);
        if (strcmp(e2.msg, want) != 0) {
            fprintf(stderr, "got '%s'\n", e2.msg);
            _exit(4);
        }
        _exit(0);
    }
    int status;
    assert_int_equal(waitpid(child, &status, 0), child);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);

    /* Released: the other process gets it now. */
    vn_state_unlock(s);
    assert_false(vn_state_locked(s));
    child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        struct vn_state *s2 = NULL;
        struct vn_error e2 = {0};
        if (vn_state_open(f->dir, &s2, &e2) < 0 || vn_state_lock(s2, 2000, "x", &e2) < 0)
            _exit(1);
        _exit(0);
    }
    assert_int_equal(waitpid(child, &status, 0), child);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    vn_state_close(s);
}

static void test_liveness(void **state)
{
    struct vn_error err = {0};
    uint64_t self_start;
    assert_int_equal(vn_proc_start_time(getpid(), &self_start, &err), 0);
    assert_true(vn_proc_alive(getpid(), self_start));
    /* Same pid, another start time: a recycled pid is another process. */
    assert_false(vn_proc_alive(getpid(), self_start + 1));

    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        pause();
        _exit(0);
    }
    struct vn_domain_record r;
    vn_domain_record_init(&r);
    strcpy(r.name, "web1");
    r.status = VN_DOMAIN_RUNNING;
    r.qemu_pid = child;
    assert_int_equal(vn_proc_start_time(child, &r.qemu_start, &err), 0);
    assert_true(vn_domain_alive(&r));
    assert_true(vn_domain_holds_claim(&r));
    kill(child, SIGKILL);
    /* Before the wait it is a zombie: dead already. */
    for (int i = 0; i < 200 && vn_domain_alive(&r); i++)
        usleep(5000);
    assert_false(vn_domain_alive(&r));
    assert_int_equal(waitpid(child, NULL, 0), child);
    assert_false(vn_domain_alive(&r));
    assert_false(vn_domain_holds_claim(&r));
    assert_int_equal(vn_proc_start_time(child, &self_start, &err), -1);
    assert_string_equal(err.msg,
                        fmt("cannot read '/proc/%d/stat': No such file or directory", (int)child));
    r.qemu_pid = 0;
    assert_false(vn_domain_alive(&r));
}

static void test_claims(void **state)
{
    struct fixture *f = *state;
    struct vn_state *s = open_locked(f);
    struct vn_error err = {0};
    uint64_t self_start;
    assert_int_equal(vn_proc_start_time(getpid(), &self_start, &err), 0);
    pid_t dead = fork();
    assert_true(dead >= 0);
    if (dead == 0)
        _exit(0);
    uint64_t dead_start = 0;
    vn_proc_start_time(dead, &dead_start, NULL);
    assert_int_equal(waitpid(dead, NULL, 0), dead);

    /* name, status, qemu pid/start, creator pid/start, claimed node */
    struct {
        const char *name;
        enum vn_domain_status status;
        pid_t qpid;
        uint64_t qstart;
        pid_t cpid;
        uint64_t cstart;
        int node;
        bool counts;
    } cases[] = {
        {"running-alive", VN_DOMAIN_RUNNING, getpid(), self_start, 0, 0, 0, true},
        {"running-dead", VN_DOMAIN_RUNNING, dead, dead_start, 0, 0, 1, false},
        {"running-reused", VN_DOMAIN_RUNNING, getpid(), self_start + 7, 0, 0, 2, false},
        {"creating-live-creator", VN_DOMAIN_CREATING, 0, 0, getpid(), self_start, 3, true},
        {"creating-dead-creator", VN_DOMAIN_CREATING, 0, 0, dead, dead_start, 4, false},
        {"creating-unknown", VN_DOMAIN_CREATING, 0, 0, 0, 0, 5, true},
        {"excluded", VN_DOMAIN_RUNNING, getpid(), self_start, 0, 0, 6, true},
    };
    for (size_t i = 0; i < VN_ARRAY_SIZE(cases); i++) {
        struct vn_domain_record r;
        vn_domain_record_init(&r);
        strcpy(r.name, cases[i].name);
        r.status = cases[i].status;
        r.qemu_pid = cases[i].qpid;
        r.qemu_start = cases[i].qstart;
        r.creator_pid = cases[i].cpid;
        r.creator_start = cases[i].cstart;
        r.placement = tr_placement(1, &cases[i].node, (uint64_t[]){512}, 1, (int[]){0});
        assert_int_equal(vn_state_write_record(s, &r, &err), 0);
        vn_domain_record_clear(&r);
    }
    struct vn_claim *claims;
    int n;
    assert_int_equal(vn_state_claims(s, "excluded", &claims, &n, &err), 0);
    /* Sorted by name: creating-live-creator (3), creating-unknown (5), running-alive (0). */
    assert_int_equal(n, 3);
    assert_int_equal(claims[0].v[0].node, 3);
    assert_int_equal(claims[1].v[0].node, 5);
    assert_int_equal(claims[2].v[0].node, 0);
    assert_int_equal(claims[2].v[0].mem_mib, 512);
    free(claims);

    /* A corrupt record stops placement: its claim is unknown. */
    snprintf(f->path, sizeof f->path, "%s/domains/broken.json", f->dir);
    close(open(f->path, O_WRONLY | O_CREAT, 0600));
    assert_int_equal(vn_state_claims(s, NULL, &claims, &n, &err), -1);
    assert_string_equal(err.msg, fmt("state record '%s' is corrupt: the file is empty", f->path));
    vn_state_close(s);
}

static void test_runtime_dir(void **state)
{
    struct fixture *f = *state;
    struct vn_state *s = NULL;
    struct vn_error err = {0};
    assert_int_equal(vn_state_open(f->dir, &s, &err), 0);
    char path[4096];
    assert_int_equal(vn_state_runtime_path(s, "web1", "qmp.sock", path, sizeof path, &err), 0);
    assert_string_equal(path, fmt("%s/run/web1/qmp.sock", f->dir));
    assert_int_equal(vn_state_record_path(s, "web1", path, sizeof path, &err), 0);
    assert_string_equal(path, fmt("%s/domains/web1.json", f->dir));
    assert_int_equal(vn_state_runtime_path(s, "..", NULL, path, sizeof path, &err), -1);
    assert_string_equal(
        err.msg,
        "domain name '..' starts with '.', which would hide it or make it a parent directory");
    char small[16];
    assert_int_equal(vn_state_runtime_path(s, "web1", NULL, small, sizeof small, &err), -1);
    /* The same paths for a state dir given by path alone (dry runs: it need not exist). */
    assert_int_equal(vn_state_runtime_path_in(f->dir, "web1", "qmp.sock", path, sizeof path, &err),
                     0);
    assert_string_equal(path, fmt("%s/run/web1/qmp.sock", f->dir));
    assert_int_equal(
        vn_state_runtime_path_in("/nonexistent", "web1", NULL, path, sizeof path, &err), 0);
    assert_string_equal(path, "/nonexistent/run/web1");
    assert_int_equal(vn_state_runtime_path_in(f->dir, "", NULL, path, sizeof path, &err), -1);
    assert_string_equal(err.msg, "the domain name is empty");

    assert_int_equal(vn_state_make_runtime_dir(s, "web1", &err), 0);
    assert_int_equal(vn_state_make_runtime_dir(s, "web1", &err), 0);
    assert_int_equal(vn_state_runtime_path(s, "web1", NULL, path, sizeof path, &err), 0);
    assert_int_equal(mode_of(path), 0700);
    for (int i = 0; i < 3; i++) {
        char file[4200];
        snprintf(file, sizeof file, "%s/f%d", path, i);
        close(open(file, O_WRONLY | O_CREAT, 0600));
    }
    assert_int_equal(vn_state_remove_runtime_dir(s, "web1", &err), 0);
    assert_int_equal(access(path, F_OK), -1);
    assert_int_equal(vn_state_remove_runtime_dir(s, "web1", &err), 0);
    vn_state_close(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_open_creates_owner_only, setup, teardown),
        cmocka_unit_test_setup_teardown(test_open_refuses_bad_dirs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_open_unwritable, setup, teardown),
        cmocka_unit_test_setup_teardown(test_open_other_owner, setup, teardown),
        cmocka_unit_test(test_name_check),
        cmocka_unit_test_setup_teardown(test_write_read_roundtrip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cpuless_vnode_roundtrip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_write_needs_lock_and_valid_record, setup, teardown),
        cmocka_unit_test_setup_teardown(test_leftover_temp_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_corrupt_records, setup, teardown),
        cmocka_unit_test_setup_teardown(test_read_version1, setup, teardown),
        cmocka_unit_test(test_record_from_buf),
        cmocka_unit_test_setup_teardown(test_read_missing_remove_list, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lock_excludes_other_process, setup, teardown),
        cmocka_unit_test(test_liveness),
        cmocka_unit_test_setup_teardown(test_claims, setup, teardown),
        cmocka_unit_test_setup_teardown(test_runtime_dir, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
