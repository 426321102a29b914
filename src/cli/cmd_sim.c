/* vnuma sim: runs a simulator scenario (docs/SIM.md) and reports throughput per
 * configuration, mean ± stddev over seeds, with CSV files and gnuplot plots.
 *
 * This file is the simulator's edge: it reads the scenario and the host, and writes the
 * results; src/lib/sim/ only computes. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "balance/policy.h"
#include "cli.h"
#include "sim/run.h"
#include "sim/scenario.h"
#include "sim/sim.h"
#include "topo/topo.h"
#include "util/cleanup.h"
#include "util/table.h"

extern char **environ;

struct opts {
    const char *scenario;
    const char *host;
    const char *out;
    const char *config;
    int seeds;
    double duration_s;
    bool trace;
    bool quiet;
};

/* What the run callbacks write to: the per-run CSV files, the trace, and progress. */
struct out_ctx {
    const struct vn_scenario *sc;
    FILE *runs, *bal, *trace;
    bool print_trace, quiet;
    double t_last, wall_total; /* wall clock: end of the last run, sum over good runs */
};

static void print_help(void)
{
    vn_cli_print_synopsis("sim");
    printf("\nOptions:\n"
           "  --seeds N       repetitions with seeds 1..N (default: the scenario's)\n"
           "  --out DIR       where CSV files and plots go (default: sim-out/NAME)\n"
           "  --trace         print a per-interval view and write trace.csv\n"
           "  --host SPEC     simulate this host instead of the scenario's\n"
           "  --duration S    simulated seconds per run, warm-up included\n"
           "  --config NAME   run only this configuration\n"
           "  --quiet         print only the summary table\n"
           "  -h, --help      show this help\n"
           "\nSCENARIO is a file (sim/scenarios/NAME.scn; the .scn may be left out).\n"
           "docs/SIM.md describes the format and the model.\n");
}

static int parse_opts(int argc, char **argv, struct opts *o)
{
    static const struct option long_opts[] = {
        {"seeds", required_argument, NULL, 's'},
        {"out", required_argument, NULL, 'o'},
        {"trace", no_argument, NULL, 't'},
        {"host", required_argument, NULL, 'H'},
        {"duration", required_argument, NULL, 'd'},
        {"config", required_argument, NULL, 'c'},
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    optind = 1;
    opterr = 0;
    int c;
    char *end;
    while ((c = getopt_long(argc, argv, ":h", long_opts, NULL)) != -1) {
        switch (c) {
        case 's':
            o->seeds = (int)strtol(optarg, &end, 10);
            if (*end || end == optarg || o->seeds < 1 || o->seeds > 1000)
                return vn_cli_usage("sim", "--seeds needs a number from 1 to 1000, not '%s'",
                                    optarg);
            break;
        case 'd':
            o->duration_s = strtod(optarg, &end);
            if (*end || end == optarg || !(o->duration_s > 0) || o->duration_s > 1e6)
                return vn_cli_usage(
                    "sim", "--duration needs a positive number of seconds, not '%s'", optarg);
            break;
        case 'o':
            o->out = optarg;
            break;
        case 't':
            o->trace = true;
            break;
        case 'H':
            o->host = optarg;
            break;
        case 'c':
            o->config = optarg;
            break;
        case 'q':
            o->quiet = true;
            break;
        case 'h':
            print_help();
            return -1;
        case ':':
            return vn_cli_usage("sim", "option '%s' needs a value", argv[optind - 1]);
        default:
            return vn_cli_usage("sim", "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind >= argc)
        return vn_cli_usage("sim", "no scenario given");
    if (optind + 1 < argc)
        return vn_cli_usage("sim", "one scenario at a time, not '%s' too", argv[optind + 1]);
    o->scenario = argv[optind];
    return 0;
}

static char *read_file(const char *path, size_t *len, struct vn_error *err)
{
    VN_CLEANUP_FILE FILE *f = fopen(path, "r");
    if (!f) {
        vn_error_sys(err, errno, "Cannot open the scenario '%s'", path);
        return NULL;
    }
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    if (!buf)
        abort();
    size_t r;
    while ((r = fread(buf + n, 1, cap - n, f)) > 0) {
        n += r;
        if (n == cap) {
            if (cap >= (16u << 20)) {
                free(buf);
                vn_error_set(err, "The scenario '%s' is larger than 16 MiB.", path);
                return NULL;
            }
            cap *= 2;
            buf = realloc(buf, cap);
            if (!buf)
                abort();
        }
    }
    if (ferror(f)) {
        free(buf);
        vn_error_sys(err, errno, "Cannot read the scenario '%s'", path);
        return NULL;
    }
    *len = n;
    return buf;
}

/* A host file named relative to the scenario is looked up next to it first. */
static void resolve_host(const char *scn_path, const char *host, char *out, size_t cap)
{
    snprintf(out, cap, "%s", host);
    const char *path = host;
    const char *prefix = "";
    if (strncmp(host, "json:", 5) == 0 || strncmp(host, "xml:", 4) == 0) {
        path = strchr(host, ':') + 1;
        prefix = strncmp(host, "json:", 5) == 0 ? "json:" : "xml:";
    } else if (strncmp(host, "synthetic:", 10) == 0 || strcmp(host, "live") == 0) {
        return;
    }
    if (path[0] == '/' || access(path, R_OK) == 0)
        return;
    const char *slash = strrchr(scn_path, '/');
    if (!slash)
        return;
    char cand[PATH_MAX];
    snprintf(cand, sizeof cand, "%.*s/%s", (int)(slash - scn_path), scn_path, path);
    if (access(cand, R_OK) == 0)
        snprintf(out, cap, "%s%s", prefix, cand);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int mkdir_p(const char *dir, struct vn_error *err)
{
    char buf[PATH_MAX];
    snprintf(buf, sizeof buf, "%s", dir);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, 0755) < 0 && errno != EEXIST)
            return vn_error_sys(err, errno, "Cannot create the directory '%s'", buf);
        *p = '/';
    }
    if (mkdir(buf, 0755) < 0 && errno != EEXIST)
        return vn_error_sys(err, errno, "Cannot create the directory '%s'", buf);
    return 0;
}

static FILE *open_out(const char *dir, const char *name, struct vn_error *err)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    if (!f)
        vn_error_sys(err, errno, "Cannot write '%s'", path);
    return f;
}

static int first_cfg(const struct vn_scenario *sc, const bool *run_cfg)
{
    for (int c = 0; c < sc->nconfigs; c++)
        if (run_cfg[c])
            return c;
    return 0;
}

/* s for a gnuplot string literal in quotes q: in '...' a quote is doubled, in "..." a
 * backslash escapes quotes and backslashes; control characters become spaces (a newline
 * would end the string, or a comment, and start a command). */
static const char *gp_esc(const char *s, char q, char *buf, size_t cap)
{
    size_t n = 0;
    for (; *s && n + 3 < cap; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch < 0x20 || ch == 0x7f)
            ch = ' ';
        else if (ch == (unsigned char)q)
            buf[n++] = q == '\'' ? '\'' : '\\';
        else if (q == '"' && ch == '\\')
            buf[n++] = '\\';
        buf[n++] = (char)ch;
    }
    buf[n] = '\0';
    return buf;
}

#define GP_NAME (2 * VN_SIM_NAME_MAX + 1)

/* The gnuplot script: throughput per VM against the swept count (or per configuration when
 * nothing is swept), and locality. */
static void write_plot(FILE *f, const struct vn_scenario *sc, const bool *run_cfg, int group,
                       const char *unit)
{
    /* Every name is the user's: escaped for the quotes it goes into. */
    char scn_sq[GP_NAME], scn_dq[GP_NAME], first_dq[GP_NAME];
    char cfg[VN_SCN_MAX_CONFIGS][GP_NAME], grp[VN_SCN_MAX_GROUPS][GP_NAME];
    char grp_dq[GP_NAME];
    gp_esc(sc->name, '\'', scn_sq, sizeof scn_sq);
    gp_esc(sc->name, '"', scn_dq, sizeof scn_dq);
    gp_esc(sc->configs[first_cfg(sc, run_cfg)].name, '"', first_dq, sizeof first_dq);
    gp_esc(sc->groups[group].name, '"', grp_dq, sizeof grp_dq);
    for (int c = 0; c < sc->nconfigs; c++)
        gp_esc(sc->configs[c].name, '\'', cfg[c], sizeof cfg[c]);
    for (int g = 0; g < sc->ngroups; g++)
        gp_esc(sc->groups[g].name, '\'', grp[g], sizeof grp[g]);
    fprintf(f, "# Written by vnuma sim for scenario '%s'.  Run: gnuplot plot.gp\n", scn_sq);
    fprintf(f, "if (strstrt(GPVAL_TERMINALS, 'pngcairo') > 0) {\n"
               "  set terminal pngcairo size 900,560 font 'sans,10'\n"
               "} else {\n"
               "  set terminal png size 900,560\n"
               "}\n"
               "set datafile separator ','\n"
               "set key outside right top\n"
               "set grid ytics\n");
    if (sc->sweep >= 0) {
        /* One data block per configuration with only the plotted group's rows: an undefined
         * point (1/0) between two rows of another group would break the line. */
        for (int c = 0; c < sc->nconfigs; c++) {
            if (!run_cfg[c])
                continue;
            fprintf(f,
                    "set table $cfg%d\n"
                    "plot 'summary.csv' using 2:5:6:(100*$9) with table if (strcol(3) eq '%d' "
                    "&& strcol(1) eq '%s')\nunset table\n",
                    c, group, cfg[c]);
        }
        fprintf(f,
                "set datafile separator whitespace\n"
                "set output 'throughput.png'\n"
                "set title \"%s: throughput per VM of '%s' (mean ± sd over seeds)\"\n"
                "set xlabel 'VMs of %s'\nset ylabel '%s per VM'\nset yrange [0:*]\n",
                scn_dq, grp_dq, grp[group], unit);
        fprintf(f, "plot");
        bool first = true;
        for (int c = 0; c < sc->nconfigs; c++) {
            if (!run_cfg[c])
                continue;
            fprintf(f, "%s \\\n  $cfg%d using 1:2:3 with yerrorlines title '%s' lw 2",
                    first ? "" : ",", c, cfg[c]);
            first = false;
        }
        fprintf(f,
                "\nset output 'locality.png'\n"
                "set title \"%s: share of memory accesses that are local\"\n"
                "set ylabel 'local accesses (%%)'\nset yrange [0:105]\n",
                scn_dq);
        fprintf(f, "plot");
        first = true;
        for (int c = 0; c < sc->nconfigs; c++) {
            if (!run_cfg[c])
                continue;
            fprintf(f, "%s \\\n  $cfg%d using 1:4 with linespoints title '%s' lw 2",
                    first ? "" : ",", c, cfg[c]);
            first = false;
        }
        fprintf(f, "\n");
    } else {
        /* Nothing swept: one cluster per configuration, one bar per group, from the wide
         * table (summary-wide.csv: config, then rel, rel_sd, locality per group). */
        fprintf(f,
                "set output 'throughput.png'\n"
                "set title \"%s: throughput per VM relative to '%s' (± sd)\"\n"
                "set style data histograms\nset style histogram errorbars gap 2 lw 1\n"
                "set style fill solid 0.7 border -1\nset xtics rotate by -20\n"
                "set ylabel 'relative throughput per VM'\nset yrange [0:*]\n",
                scn_dq, first_dq);
        fprintf(f, "plot");
        for (int g = 0; g < sc->ngroups; g++)
            fprintf(f, "%s \\\n  'summary-wide.csv' using %d:%d%s title '%s'", g ? "," : "",
                    2 + 3 * g, 3 + 3 * g, g ? "" : ":xtic(1)", grp[g]);
        fprintf(f,
                "\nset output 'locality.png'\nset title \"%s: local accesses\"\n"
                "set style histogram clustered gap 2\n"
                "set ylabel 'local accesses (%%)'\nset yrange [0:105]\n",
                scn_dq);
        fprintf(f, "plot");
        for (int g = 0; g < sc->ngroups; g++)
            fprintf(f, "%s \\\n  'summary-wide.csv' using (100*$%d)%s title '%s'", g ? "," : "",
                    4 + 3 * g, g ? "" : ":xtic(1)", grp[g]);
        fprintf(f, "\n");
    }
}

static int run_gnuplot(const char *dir)
{
    char *const argv[] = {"gnuplot", "plot.gp", NULL};
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    /* The script names its files relative to the output directory. */
    int rc = -1;
    char cwd[PATH_MAX];
    if (!getcwd(cwd, sizeof cwd) || chdir(dir) < 0) {
        posix_spawn_file_actions_destroy(&fa);
        return -1;
    }
    pid_t pid;
    if (posix_spawnp(&pid, "gnuplot", &fa, NULL, argv, environ) == 0) {
        int st;
        if (waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0)
            rc = 0;
    }
    posix_spawn_file_actions_destroy(&fa);
    if (chdir(cwd) < 0)
        rc = -1;
    return rc;
}

static void table_freep(struct vn_table **t)
{
    vn_table_free(*t);
}

static void on_sample(const struct vn_sim_run *run, const struct vn_sim *sim,
                      const struct vn_sim_sample *smp, void *arg)
{
    struct out_ctx *t = arg;
    const char *config = t->sc->configs[run->config].name;
    double tot = 0, loc = 0;
    for (int m = 0; m < smp->nvms; m++) {
        tot += smp->vm_tput[m];
        loc += smp->vm_locality[m];
        if (t->trace) {
            struct vn_sim_vm_stats st;
            vn_sim_vm_stats(sim, m, &st);
            fprintf(t->trace, "%s,%d,%llu,%.3f,%s,%.3f,%.4f\n", config, run->count,
                    (unsigned long long)run->seed, smp->t_s, st.name, smp->vm_tput[m],
                    smp->vm_locality[m]);
        }
    }
    if (!t->print_trace)
        return;
    printf("  t=%6.2fs %-14s n=%-4d seed=%-3llu total=%-12.1f locality=%5.1f%% mem-util", smp->t_s,
           config, run->count, (unsigned long long)run->seed, tot,
           smp->nvms ? 100 * loc / smp->nvms : 0.0);
    for (int n = 0; n < smp->nnodes && n < 8; n++)
        printf(" %3.0f%%", 100 * smp->node_util[n]);
    if (smp->nnodes > 8)
        printf(" ...");
    printf("  running");
    for (int n = 0; n < smp->nnodes && n < 8; n++)
        printf(" %.1f", smp->node_running[n]);
    printf("\n");
}

/* After each run: its rows of runs.csv and balance.csv, and a progress line. */
static void on_run(const struct vn_sim_report *r, int ri, void *arg)
{
    struct out_ctx *t = arg;
    const struct vn_scenario *sc = t->sc;
    const struct vn_sim_run *run = &r->runs[ri];
    const char *config = sc->configs[run->config].name;
    double now = now_s(), wall = now - t->t_last;
    t->t_last = now;
    if (run->failed) {
        fprintf(stderr, "vnuma sim: error: %s\n", run->error.msg);
        return;
    }
    t->wall_total += wall;
    const struct vn_sim_bal_stats *bs = &run->bal;
    fprintf(t->bal, "%s,%d,%llu,%llu,%llu,%llu,%llu,%llu", config, run->count,
            (unsigned long long)run->seed, (unsigned long long)bs->intervals,
            (unsigned long long)bs->migrate, (unsigned long long)bs->affinity,
            (unsigned long long)bs->replace, (unsigned long long)bs->skipped_total);
    for (int k = 0; k < VN_SIM_NSKIP; k++)
        fprintf(t->bal, ",%llu", (unsigned long long)bs->skipped[k]);
    fprintf(t->bal, ",%llu,%.1f,%d,%d,%d\n", (unsigned long long)bs->ordered_mib, bs->moved_mib,
            bs->arrived, bs->departed, bs->rejected);
    if (!t->quiet && (sc->configs[run->config].sched == VN_SIM_SCHED_BALANCE || bs->arrived ||
                      bs->departed || bs->rejected))
        printf("  %-16s balancer: %llu intervals, %llu migrate, %llu affinity, %llu "
               "replace, %llu skipped, %.0f MiB moved; VMs %d arrived, %d left, %d "
               "rejected\n",
               config, (unsigned long long)bs->intervals, (unsigned long long)bs->migrate,
               (unsigned long long)bs->affinity, (unsigned long long)bs->replace,
               (unsigned long long)bs->skipped_total, bs->moved_mib, bs->arrived, bs->departed,
               bs->rejected);
    for (int i = run->first_vm; i < run->first_vm + run->nvms; i++) {
        const struct vn_sim_vm_stats *st = &r->vms[i].st;
        fprintf(t->runs, "%s,%d,%llu,%s,%s,%s,%d,%llu,%d,%d,%.3f,%.4f,%.4f,%.3f\n", config,
                run->count, (unsigned long long)run->seed, st->name,
                sc->groups[r->vms[i].group].name, st->workload, st->vcpus,
                (unsigned long long)st->mem_mib, st->nnodes_mem, st->guest_numa, st->tput,
                st->locality, st->run_share, st->present_s);
    }
    if (!t->quiet)
        printf("  %-16s %s%-4d seed %-3llu %8.0f events, %6.2fs wall\n", config,
               sc->sweep >= 0 ? "n=" : "", run->count, (unsigned long long)run->seed,
               (double)run->events, wall);
}

/* summary.csv, summary-wide.csv (nothing swept) and the table on stdout. */
static int write_summary(const char *outdir, const struct vn_scenario *sc,
                         const struct vn_sim_report *r, struct vn_error *err)
{
    VN_CLEANUP_FILE FILE *sum = open_out(outdir, "summary.csv", err);
    if (!sum)
        return -1;
    fprintf(sum, "config,count,group,vms,per_vm_mean,per_vm_sd,group_mean,group_sd,locality,"
                 "unit,rel_first,rel_first_sd\n");
    VN_CLEANUP_FILE FILE *wide = NULL;
    if (r->npoints == 1 && !(wide = open_out(outdir, "summary-wide.csv", err)))
        return -1;
    if (wide) {
        fprintf(wide, "config");
        for (int g = 0; g < sc->ngroups; g++)
            fprintf(wide, ",%s_rel,%s_rel_sd,%s_locality", sc->groups[g].name, sc->groups[g].name,
                    sc->groups[g].name);
        fprintf(wide, "\n");
    }
    static const char *const hdr[] = {"config", "count", "group", "VMs",      "per VM",
                                      "± sd",   "total", "± sd",  "locality", "vs first"};
    VN_CLEANUP(table_freep) struct vn_table *tbl = vn_table_new(10, hdr);
    for (int i = 1; i < 10; i++)
        if (i != 2)
            vn_table_align_right(tbl, i);
    for (int c = 0; c < sc->nconfigs; c++) {
        if (!r->config_run[c])
            continue;
        for (int pt = 0; pt < r->npoints; pt++) {
            if (wide)
                fprintf(wide, "%s", sc->configs[c].name);
            for (int g = 0; g < sc->ngroups; g++) {
                const struct vn_sim_cell *cl = vn_sim_report_cell(r, c, pt, g);
                if (cl->nvms == 0) {
                    if (wide)
                        fprintf(wide, ",0,0,0");
                    continue;
                }
                const char *unit = vn_sim_workload_unit(&sc->workloads[sc->groups[g].workload]);
                fprintf(sum, "%s,%d,%d,%d,%.3f,%.3f,%.3f,%.3f,%.4f,%s,%.4f,%.4f\n",
                        sc->configs[c].name, cl->count, g, cl->nvms, cl->per_vm_mean, cl->per_vm_sd,
                        cl->group_mean, cl->group_sd, cl->locality, unit, cl->rel_first,
                        cl->rel_first_sd);
                if (wide)
                    fprintf(wide, ",%.4f,%.4f,%.4f", cl->rel_first, cl->rel_first_sd, cl->locality);
                vn_table_add(tbl, "%s", sc->configs[c].name);
                if (sc->sweep >= 0)
                    vn_table_add(tbl, "%d", cl->count);
                else
                    vn_table_add(tbl, "-");
                vn_table_add(tbl, "%s", sc->groups[g].name);
                vn_table_add(tbl, "%d", cl->nvms);
                vn_table_add(tbl, "%.1f", cl->per_vm_mean);
                vn_table_add(tbl, "%.1f", cl->per_vm_sd);
                vn_table_add(tbl, "%.1f", cl->group_mean);
                vn_table_add(tbl, "%.1f", cl->group_sd);
                vn_table_add(tbl, "%.1f%%", 100 * cl->locality);
                vn_table_add(tbl, "%+.1f%%", 100 * (cl->rel_first - 1));
            }
            if (wide)
                fprintf(wide, "\n");
        }
    }
    int pg = sc->sweep >= 0 ? sc->sweep : 0;
    printf("\nThroughput (%s, mean ± sd over %d seed(s)); 'vs first' compares per-VM throughput "
           "with configuration '%s':\n",
           vn_sim_workload_unit(&sc->workloads[sc->groups[pg].workload]), r->nseeds,
           sc->configs[r->first_config].name);
    vn_table_print(tbl, stdout, 2);
    return 0;
}

int vn_cmd_sim(int argc, char **argv)
{
    struct opts o = {0};
    int rc = parse_opts(argc, argv, &o);
    if (rc != 0)
        return rc < 0 ? VN_EXIT_OK : rc;
    struct vn_error err = {0};

    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s", o.scenario);
    if (access(path, R_OK) != 0) {
        char alt[PATH_MAX];
        snprintf(alt, sizeof alt, "%s.scn", o.scenario);
        if (access(alt, R_OK) == 0)
            snprintf(path, sizeof path, "%s", alt);
    }
    size_t len = 0;
    VN_CLEANUP_FREE char *buf = read_file(path, &len, &err);
    if (!buf)
        return vn_cli_fail("sim", &err);
    VN_CLEANUP_FREE struct vn_scenario *sc = calloc(1, sizeof *sc);
    if (!sc)
        abort();
    if (vn_scenario_parse(buf, len, path, sc, &err) < 0)
        return vn_cli_fail("sim", &err);
    if (o.seeds)
        sc->seeds = o.seeds;
    if (o.duration_s > 0) {
        sc->duration_ns = (int64_t)(o.duration_s * 1e9);
        if (sc->warmup_ns >= sc->duration_ns)
            sc->warmup_ns = sc->duration_ns / 10;
    }
    int only = o.config ? vn_scenario_config_index(sc, o.config) : -1;
    if (o.config && only < 0)
        return vn_cli_usage("sim", "scenario '%s' has no configuration '%s'", sc->name, o.config);

    char host[VN_SCN_HOST_MAX + PATH_MAX];
    resolve_host(path, o.host ? o.host : sc->host, host, sizeof host);
    VN_CLEANUP(vn_topo_freep) struct vn_host_topo *topo = vn_topo_load(host, &err);
    if (!topo)
        return vn_cli_fail("sim", &err);

    char outdir[PATH_MAX];
    if (o.out)
        snprintf(outdir, sizeof outdir, "%s", o.out);
    else
        snprintf(outdir, sizeof outdir, "sim-out/%s", sc->name);
    if (mkdir_p(outdir, &err) < 0)
        return vn_cli_fail("sim", &err);
    VN_CLEANUP_FILE FILE *runs = open_out(outdir, "runs.csv", &err);
    if (!runs)
        return vn_cli_fail("sim", &err);
    VN_CLEANUP_FILE FILE *tcsv = NULL;
    if (o.trace && !(tcsv = open_out(outdir, "trace.csv", &err)))
        return vn_cli_fail("sim", &err);
    fprintf(runs, "config,count,seed,vm,group,workload,vcpus,memory_mib,mem_nodes,guest_numa,"
                  "throughput,locality,run_share,present_s\n");
    if (tcsv)
        fprintf(tcsv, "config,count,seed,t_s,vm,throughput,locality\n");
    VN_CLEANUP_FILE FILE *bcsv = open_out(outdir, "balance.csv", &err);
    if (!bcsv)
        return vn_cli_fail("sim", &err);
    fprintf(bcsv, "config,count,seed,intervals,migrate,affinity,replace,skipped");
    for (int k = 0; k < VN_BAL_NSKIP; k++)
        fprintf(bcsv, ",skipped_%s", vn_bal_skip_name((enum vn_bal_skip)k));
    fprintf(bcsv, ",ordered_mib,moved_mib,arrived,departed,rejected\n");

    int npts = vn_scenario_npoints(sc);
    if (!o.quiet)
        printf("Scenario '%s' on host '%s' (%d nodes, %d CPUs): %d configuration(s) x %d point(s) "
               "x %d seed(s), %.1fs simulated each (%.1fs warm-up).\n",
               sc->name, topo->name, topo->nnodes, topo->ncpus, only >= 0 ? 1 : sc->nconfigs, npts,
               sc->seeds, (double)sc->duration_ns / 1e9, (double)sc->warmup_ns / 1e9);

    struct out_ctx ctx = {sc, runs, bcsv, tcsv, o.trace, o.quiet, now_s(), 0};
    struct vn_sim_run_opts ro = {topo, only, o.trace, on_run, on_sample, &ctx};
    VN_CLEANUP(vn_sim_report_free) struct vn_sim_report rep;
    if (vn_scenario_run(sc, &ro, &rep, &err) < 0)
        return vn_cli_fail("sim", &err);
    if (write_summary(outdir, sc, &rep, &err) < 0)
        return vn_cli_fail("sim", &err);
    double wall = ctx.wall_total;
    printf("\nSimulator speed: %.1f simulated s in %.2f s wall (%.1f sim-s per wall-s), %llu "
           "events (%.2f M events/s).\n",
           rep.sim_s, wall, wall > 0 ? rep.sim_s / wall : 0, (unsigned long long)rep.events,
           wall > 0 ? (double)rep.events / wall / 1e6 : 0);

    fflush(runs);
    fflush(bcsv);
    if (tcsv)
        fflush(tcsv);
    VN_CLEANUP_FILE FILE *gp = open_out(outdir, "plot.gp", &err);
    if (!gp)
        return vn_cli_fail("sim", &err);
    int pg = sc->sweep >= 0 ? sc->sweep : 0;
    write_plot(gp, sc, rep.config_run, pg,
               vn_sim_workload_unit(&sc->workloads[sc->groups[pg].workload]));
    fclose(gp);
    gp = NULL;
    if (run_gnuplot(outdir) == 0)
        printf("Results in %s/: runs.csv, summary.csv%s%s, balance.csv, plot.gp, throughput.png, "
               "locality.png.\n",
               outdir, npts == 1 ? ", summary-wide.csv" : "", tcsv ? ", trace.csv" : "");
    else
        printf("Results in %s/: runs.csv, summary.csv%s, balance.csv, plot.gp (gnuplot failed or "
               "is not installed, so no PNG; run 'gnuplot plot.gp' there to see why).\n",
               outdir, tcsv ? ", trace.csv" : "");
    return rep.nfailed ? VN_EXIT_FAIL : VN_EXIT_OK;
}
