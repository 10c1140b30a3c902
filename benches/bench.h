/* Shared helpers of the libstackless benchmark programs (benches/bench_NAME.c).
 *
 * How we time: every figure is the median of BENCH_RUNS (default 5, never fewer than 5)
 * timed runs, after one untimed warm-up run. A run performs at least 1,000,000 operations
 * and is timed with clock_gettime(CLOCK_MONOTONIC) read just before and just after it; the
 * figure is (elapsed ns) / (operations in the run). Memory figures are peak resident set
 * size (VmHWM in /proc/self/status) measured in a fresh child process: (peak after all the
 * tasklets exist and are blocked - peak before creating them) / number of tasklets.
 *
 * Output: one line per figure, `<name> <value>`, e.g. `yield_2_hard_ns_per_op 9.81`, or
 * `<name> unavailable: <reason>` when the figure could not be measured. Anything else the
 * programs print goes to stderr (with BENCH_VERBOSE set in the environment: every run's
 * figure, in run order). BENCH_ONLY=<text> runs only the timed figures whose name contains
 * <text> (e.g. for a profiler: BENCH_ONLY=yield_2_soft valgrind --tool=callgrind ...). */
#ifndef STACKLESS_BENCH_H
#define STACKLESS_BENCH_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/types.h>
#include <sys/wait.h>

#include "stackless.h"

#define BENCH_MIN_RUNS 5
#define BENCH_MAX_RUNS 101

static inline double bench_now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* Number of timed runs: BENCH_RUNS from the environment, at least 5. */
static inline int bench_runs(void) {
    const char *e = getenv("BENCH_RUNS");
    int n = e ? atoi(e) : BENCH_MIN_RUNS;
    if (n < BENCH_MIN_RUNS) n = BENCH_MIN_RUNS;
    if (n > BENCH_MAX_RUNS) n = BENCH_MAX_RUNS;
    return n;
}

static int bench_cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static inline double bench_median(double *v, int n) {
    qsort(v, (size_t)n, sizeof v[0], bench_cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2.0;
}

/* One run of a workload: returns the elapsed ns per operation, or a negative value when the
 * run failed (it then writes the reason into `why`, at most 200 bytes). */
typedef double (*bench_run_fn)(void *ctx, char *why);

/* Runs `fn` once untimed and bench_runs() times timed; prints `name median` or
 * `name unavailable: why`. Returns the median (negative when unavailable). */
static inline double bench_report(const char *name, bench_run_fn fn, void *ctx) {
    const char *only = getenv("BENCH_ONLY");
    if (only && *only && !strstr(name, only)) return -1;
    char why[256] = "";
    double v[BENCH_MAX_RUNS];
    int runs = bench_runs();
    if (fn(ctx, why) < 0) { /* warm-up */
        printf("%s unavailable: %s\n", name, why);
        fflush(stdout);
        return -1;
    }
    for (int i = 0; i < runs; i++) {
        v[i] = fn(ctx, why);
        if (v[i] < 0) {
            printf("%s unavailable: %s\n", name, why);
            fflush(stdout);
            return -1;
        }
    }
    if (getenv("BENCH_VERBOSE")) {
        fprintf(stderr, "%s runs:", name);
        for (int i = 0; i < runs; i++) fprintf(stderr, " %.2f", v[i]);
        fprintf(stderr, "\n");
    }
    double m = bench_median(v, runs);
    printf("%s %.2f\n", name, m);
    fflush(stdout);
    return m;
}

/* Peak resident set size of this process in bytes (VmHWM), or -1. */
static inline long bench_peak_rss(void) {
    FILE *f = fopen("/proc/self/status", "r");
    if (!f) return -1;
    char line[256];
    long kb = -1;
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "VmHWM:", 6) == 0) {
            kb = strtol(line + 6, NULL, 10);
            break;
        }
    }
    fclose(f);
    return kb < 0 ? -1 : kb * 1024;
}

/* Runs `fn` in a fresh child process (so that its peak RSS starts clean) and copies the line
 * it prints to stdout. `fn` prints its own `name value` line and returns the exit status. */
static inline void bench_in_child(const char *name, int (*fn)(void *), void *ctx) {
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0) {
        printf("%s unavailable: fork failed\n", name);
        return;
    }
    if (pid == 0) {
        int rc = fn(ctx);
        fflush(stdout);
        fflush(stderr);
        _exit(rc); /* no teardown: the figure is printed, the process state is irrelevant */
    }
    int status = 0;
    if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        printf("%s unavailable: the measuring child process failed (status 0x%x)\n", name,
               status);
        fflush(stdout);
    }
}

/* Prints the pending exception (if any) to stderr and fills `why`. */
static inline double bench_fail(char *why, const char *what) {
    snprintf(why, 200, "%s failed", what);
    if (PyErr_Occurred()) {
        fprintf(stderr, "%s: ", what);
        PyErr_Print();
    }
    return -1;
}

/* A tasklet bound to the C function `def` (static), set up with the single argument `arg`
 * (borrowed): alive and scheduled. Returns a new reference, or NULL with an exception set. */
static inline PyTaskletObject *bench_spawn(PyMethodDef *def, PyObject *arg) {
    PyObject *f = PyCFunction_New(def, NULL);
    if (!f) return NULL;
    PyTaskletObject *t = PyTasklet_New(NULL, f);
    Py_DECREF(f);
    if (!t) return NULL;
    PyObject *args = PyTuple_New(arg ? 1 : 0);
    if (!args) {
        Py_DECREF(t);
        return NULL;
    }
    if (arg) {
        Py_INCREF(arg);
        PyTuple_SetItem(args, 0, arg);
    }
    int rc = PyTasklet_Setup(t, args, NULL);
    Py_DECREF(args);
    if (rc < 0) {
        Py_DECREF(t);
        return NULL;
    }
    return t;
}

#endif /* STACKLESS_BENCH_H */
