/* The one reader of /proc/PID files (floor 1, an edge module): a process's or thread's stat
 * line, its threads, its command line and small text files such as comm.
 *
 * The parser is pure and fuzzed (fuzz/fuzz_proc_stat.c); every other module that needs
 * /proc/PID goes through here, so the rule "fields count from the last ')'" is written once. */
#ifndef VN_PROC_H
#define VN_PROC_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "../util/error.h"

/* The fields of /proc/PID/stat vnuma reads (proc(5) numbering in comments). */
struct vn_proc_stat {
    char state;         /* 3: R, S, D, Z, X... */
    uint64_t utime;     /* 14, clock ticks */
    uint64_t stime;     /* 15, clock ticks */
    uint64_t starttime; /* 22, clock ticks after boot: with the pid, names one process */
    int processor;      /* 39: the CPU it last ran on, -1 when the line is shorter */
};

/* Parses the text of a stat file (need not be NUL-terminated): 0, or -1 when fields 3-22 are
 * not all there or not numbers where numbers belong.  Pure. */
int vn_proc_stat_parse(const char *text, size_t len, struct vn_proc_stat *out);

/* Reads /proc/PID/stat (tid 0) or /proc/PID/task/TID/stat; ENOENT in err->errnum when gone. */
int vn_proc_stat_read(pid_t pid, pid_t tid, struct vn_proc_stat *out, struct vn_error *err);

/* Reads /proc/PID/FILE (tid 0) or /proc/PID/task/TID/FILE into buf, NUL-terminated; returns
 * the byte count (at most len - 1) or -1 with err. */
ssize_t vn_proc_read(pid_t pid, pid_t tid, const char *file, char *buf, size_t len,
                     struct vn_error *err);

/* The pids of every process (at most max); their count or -1 with err. */
int vn_proc_pids(pid_t *pids, int max, struct vn_error *err);

/* The thread ids of pid (at most max, in /proc order); their count or -1 with err. */
int vn_proc_threads(pid_t pid, pid_t *tids, int max, struct vn_error *err);

#endif
