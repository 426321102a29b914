/* vnuma balance: talks to vnumad over its control socket (STATE_DIR/vnumad.sock, one JSON
 * request per line, one JSON reply per line, through the one client of src/daemon/ctl.h), and
 * switches a domain's balancing on or off in its record (extra.balance), which vnumad reads on
 * every pass and which survives restarts. */
#include <errno.h>
#include <getopt.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "ctl.h"
#include "domain/domain.h"
#include "state/state.h"
#include "util/cleanup.h"
#include "util/table.h"

#define ONCE_TIMEOUT_MS 300000 /* `once` runs a whole pass before it answers */

static void print_help(void)
{
    vn_cli_print_synopsis("balance");
    printf("\nSubcommands:\n"
           "  status [DOMAIN]       what vnumad sees: locality, residency, last actions\n"
           "  pause [DOMAIN]        stop balancing the host (or one domain) until resume\n"
           "  resume [DOMAIN]       balance again\n"
           "  once                  run one balancing pass now and print its actions\n"
           "  metrics               print the Prometheus metrics\n"
           "  DOMAIN on|off         allow or forbid balancing the domain (kept in its record)\n"
           "\nOptions:\n"
           "  --json            print vnumad's JSON reply\n"
           "  --state-dir DIR   state directory (default $VNUMA_STATE_DIR, else /run/vnuma)\n"
           "  --timeout SECONDS give up on vnumad after this long (default 10, once 300)\n"
           "  -h, --help        show this help\n"
           "\npause/resume last until vnumad restarts; on/off is durable.\n"
           "Exit status 1 when vnumad is not running, refuses, or does not answer in time.\n");
}

/* Sends one request through the control socket's one client (src/daemon/ctl.h) and returns
 * vnumad's parsed reply (ok or not) within timeout_ms. */
static int request(const char *state_dir, const char *cmd, const char *domain, int timeout_ms,
                   struct json_object **out, struct vn_error *err)
{
    *out = NULL;
    struct json_object *rq = json_object_new_object();
    json_object_object_add(rq, "cmd", json_object_new_string(cmd));
    if (domain)
        json_object_object_add(rq, "domain", json_object_new_string(domain));
    const char *s = json_object_to_json_string_ext(rq, JSON_C_TO_STRING_PLAIN);
    size_t len = strlen(s);
    VN_CLEANUP_FREE char *line = malloc(len + 2);
    if (!line) {
        json_object_put(rq);
        return vn_error_set(err, "out of memory");
    }
    memcpy(line, s, len);
    memcpy(line + len, "\n", 2);
    json_object_put(rq);
    VN_CLEANUP_FREE char *reply = NULL;
    if (vnd_ctl_call(state_dir, line, timeout_ms, &reply, err) < 0)
        return -1;
    struct json_object *o = json_tokener_parse(reply);
    if (!o || !json_object_is_type(o, json_type_object)) {
        json_object_put(o);
        return vn_error_set(err, "vnumad's reply is not a JSON object");
    }
    struct json_object *ok = vn_cli_json_get(o, "ok");
    if (!ok || !json_object_get_boolean(ok)) {
        vn_error_set(err, "%s", vn_cli_json_str(o, "error", "vnumad refused the request"));
        json_object_put(o);
        return -1;
    }
    *out = o;
    return 0;
}

static void print_actions(struct json_object *acts)
{
    size_t n = acts ? json_object_array_length(acts) : 0;
    for (size_t i = 0; i < n; i++) {
        struct json_object *a = json_object_array_get_idx(acts, i);
        printf("  %s %s: %s -> %s\n", vn_cli_json_str(a, "domain", "?"),
               vn_cli_json_str(a, "kind", "?"), vn_cli_json_str(a, "reason", ""),
               vn_cli_json_str(a, "result", ""));
    }
}

static int print_status(struct json_object *o)
{
    struct json_object *doms = vn_cli_json_get(o, "domains");
    printf("vnumad: %s, %s passes, interval %s s, kernel.numa_balancing %s\n",
           json_object_get_boolean(vn_cli_json_get(o, "paused")) ? "paused" : "balancing",
           vn_cli_json_str(o, "passes", "0"), vn_cli_json_str(o, "interval_s", "?"),
           vn_cli_json_str(o, "numa_balancing", "unknown"));
    static const char *const headers[] = {"domain",   "state",    "balance",  "paused",
                                          "locality", "resident", "moved MiB"};
    VN_CLEANUP(vn_table_freep) struct vn_table *t = vn_table_new(7, headers);
    vn_table_align_right(t, 4);
    vn_table_align_right(t, 6);
    size_t n = doms ? json_object_array_length(doms) : 0;
    for (size_t i = 0; i < n; i++) {
        struct json_object *d = json_object_array_get_idx(doms, i);
        char res[512] = "";
        size_t len = 0;
        struct json_object *vns = vn_cli_json_get(d, "vnodes");
        for (size_t k = 0; vns && k < json_object_array_length(vns); k++) {
            struct json_object *rs = vn_cli_json_get(json_object_array_get_idx(vns, k), "resident");
            len += (size_t)snprintf(res + len, len < sizeof res ? sizeof res - len : 0,
                                    "%sv%zu:", k ? " " : "", k);
            for (size_t j = 0; rs && j < json_object_array_length(rs) && len < sizeof res; j++) {
                struct json_object *r = json_object_array_get_idx(rs, j);
                len += (size_t)snprintf(res + len, sizeof res - len, "%sn%s=%s", j ? "," : "",
                                        vn_cli_json_str(r, "node", "?"),
                                        vn_cli_json_str(r, "mib", "?"));
            }
            if (len >= sizeof res)
                break;
        }
        char loc[32] = "-";
        if (vn_cli_json_get(d, "locality_pct"))
            snprintf(loc, sizeof loc, "%s%%", vn_cli_json_str(d, "locality_pct", "?"));
        const char *state = json_object_get_boolean(vn_cli_json_get(d, "running"))
                                ? "running"
                                : vn_cli_json_str(d, "status", "?");
        vn_table_add(t, "%s", vn_cli_json_str(d, "name", "?"));
        vn_table_add(t, "%s", state);
        vn_table_add(t, "%s",
                     json_object_get_boolean(vn_cli_json_get(d, "balance")) ? "on" : "off");
        vn_table_add(t, "%s", json_object_get_boolean(vn_cli_json_get(d, "paused")) ? "yes" : "no");
        vn_table_add(t, "%s", loc);
        vn_table_add(t, "%s", res[0] ? res : "-");
        vn_table_add(t, "%lld",
                     (long long)(json_object_get_int64(vn_cli_json_get(d, "moved_bytes")) >> 20));
    }
    vn_table_print(t, stdout, 0);
    for (size_t i = 0; i < n; i++) {
        struct json_object *d = json_object_array_get_idx(doms, i);
        struct json_object *acts = vn_cli_json_get(d, "last_actions");
        if (acts && json_object_array_length(acts) > 0) {
            printf("last actions of '%s':\n", vn_cli_json_str(d, "name", "?"));
            print_actions(acts);
        }
        if (vn_cli_json_get(d, "problem"))
            printf("'%s': %s\n", vn_cli_json_str(d, "name", "?"),
                   vn_cli_json_str(d, "problem", ""));
    }
    return VN_EXIT_OK;
}

int vn_cmd_balance(int argc, char **argv)
{
    static const struct option opts[] = {{"json", no_argument, NULL, 'j'},
                                         {"state-dir", required_argument, NULL, 's'},
                                         {"timeout", required_argument, NULL, 't'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    bool json = false;
    const char *state_dir = NULL, *timeout = NULL;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "+:h", opts, NULL)) != -1) {
        if (c == 'j')
            json = true;
        else if (c == 's')
            state_dir = optarg;
        else if (c == 't')
            timeout = optarg;
        else if (c == 'h') {
            print_help();
            return VN_EXIT_OK;
        } else
            return vn_cli_bad_option("balance", c, argv);
    }
    /* Options may follow the subcommand too. */
    char *args[4];
    int nargs = 0;
    for (int i = optind; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0)
            json = true;
        else if (strcmp(argv[i], "--state-dir") == 0 && i + 1 < argc)
            state_dir = argv[++i];
        else if (strncmp(argv[i], "--state-dir=", 12) == 0)
            state_dir = argv[i] + 12;
        else if (strcmp(argv[i], "--timeout") == 0 && i + 1 < argc)
            timeout = argv[++i];
        else if (strncmp(argv[i], "--timeout=", 10) == 0)
            timeout = argv[i] + 10;
        else if (argv[i][0] == '-')
            return vn_cli_usage("balance", "unknown option '%s'", argv[i]);
        else if (nargs < 4)
            args[nargs++] = argv[i];
        else
            return vn_cli_usage("balance", "too many arguments");
    }
    if (nargs == 0)
        return vn_cli_usage("balance", "missing subcommand (status, pause, resume, once, "
                                       "metrics, or DOMAIN on|off)");
    const char *dir = vn_domain_state_dir(state_dir);
    const char *sub = args[0];
    struct vn_error err = {0};
    VN_CLEANUP(vn_cli_json_putp) struct json_object *o = NULL;
    bool is_cmd = strcmp(sub, "status") == 0 || strcmp(sub, "pause") == 0 ||
                  strcmp(sub, "resume") == 0 || strcmp(sub, "once") == 0 ||
                  strcmp(sub, "metrics") == 0;
    if (!is_cmd) {
        if (nargs != 2 || (strcmp(args[1], "on") != 0 && strcmp(args[1], "off") != 0))
            return vn_cli_usage("balance",
                                "unknown subcommand '%s' (expected status, pause, "
                                "resume, once, metrics, or DOMAIN on|off)",
                                sub);
        if (vn_domain_name_check(sub, &err) < 0)
            return vn_cli_fail("balance", &err);
        bool on = strcmp(args[1], "on") == 0;
        if (vn_domain_set_balance(state_dir, sub, on, &err) < 0)
            return vn_cli_fail("balance", &err);
        printf("balancing of domain '%s' is %s\n", sub, on ? "on" : "off");
        return VN_EXIT_OK;
    }
    bool takes_domain =
        strcmp(sub, "status") == 0 || strcmp(sub, "pause") == 0 || strcmp(sub, "resume") == 0;
    if (nargs > (takes_domain ? 2 : 1))
        return vn_cli_usage("balance", "'%s' takes %s", sub,
                            takes_domain ? "at most one DOMAIN" : "no argument");
    const char *domain = nargs > 1 ? args[1] : NULL;
    int timeout_ms = strcmp(sub, "once") == 0 ? ONCE_TIMEOUT_MS : VND_CLIENT_TIMEOUT_MS;
    if (timeout) {
        char *end;
        double t = strtod(timeout, &end);
        if (end == timeout || *end || !(t >= 0.1 && t <= 3600))
            return vn_cli_usage("balance", "--timeout '%s' must be 0.1 to 3600 seconds", timeout);
        timeout_ms = (int)(t * 1000);
    }
    if (request(dir, sub, domain, timeout_ms, &o, &err) < 0)
        return vn_cli_fail("balance", &err);
    if (json) {
        vn_cli_print_json(o);
        return VN_EXIT_OK;
    }
    if (strcmp(sub, "status") == 0)
        return print_status(o);
    if (strcmp(sub, "metrics") == 0) {
        fputs(vn_cli_json_str(o, "metrics", ""), stdout);
        return VN_EXIT_OK;
    }
    if (strcmp(sub, "once") == 0) {
        struct json_object *acts = vn_cli_json_get(o, "actions");
        size_t n = acts ? json_object_array_length(acts) : 0;
        printf("one pass over %s domains: %zu actions\n", vn_cli_json_str(o, "domains", "0"), n);
        print_actions(acts);
        return VN_EXIT_OK;
    }
    printf("balancing %s %s%s%s\n", strcmp(sub, "pause") == 0 ? "paused" : "resumed",
           domain ? "for domain '" : "for the host", domain ? domain : "", domain ? "'" : "");
    return VN_EXIT_OK;
}
