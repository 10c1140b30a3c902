/* bench_spawn: spawn + complete. Creates 1,000,000 tasklets bound to a C function that does
 * nothing (PyTasklet_New + PyTasklet_Setup each), and runs them to completion with
 * PyStackless_RunWatchdog(0): first all at once, then in batches of 100 (the steady state
 * of a program that keeps spawning short tasklets, where freed memory is reused at once).
 *
 * Figures:
 *   spawn_complete_ns_per_tasklet   all created before any runs: (creation + run + end +
 *                                   free) / 1,000,000
 *   spawn_batched_ns_per_tasklet    the same in 10,000 batches of 100
 * Timing and output format: see bench.h. */
#include "bench.h"

#define TASKLETS 1000000L

static long ran;

static PyObject *noop(PyObject *self, PyObject *unused) {
    (void)self, (void)unused;
    ran++;
    Py_RETURN_NONE;
}
static PyMethodDef noop_def = {"noop", noop, METH_NOARGS, NULL};

struct spawn_ctx {
    PyObject *func; /* the callable, created once */
    PyObject *args; /* the empty argument tuple, created once */
};

/* Spawns and runs TASKLETS tasklets, `batch` at a time. */
static double spawn_in_batches(struct spawn_ctx *c, long batch, char *why) {
    ran = 0;
    double t0 = bench_now_ns();
    for (long done = 0; done < TASKLETS; done += batch) {
        for (long i = 0; i < batch; i++) {
            PyTaskletObject *t = PyTasklet_New(NULL, c->func);
            if (t == NULL) return bench_fail(why, "PyTasklet_New");
            int rc = PyTasklet_Setup(t, c->args, NULL);
            Py_DECREF(t); /* the run queue keeps it until it ends */
            if (rc < 0) return bench_fail(why, "PyTasklet_Setup");
        }
        PyObject *r = PyStackless_RunWatchdog(0);
        if (r == NULL) return bench_fail(why, "PyStackless_RunWatchdog");
        Py_DECREF(r);
    }
    double t1 = bench_now_ns();
    if (ran != TASKLETS) {
        snprintf(why, 200, "only %ld of %ld tasklets ran", ran, TASKLETS);
        return -1;
    }
        return (t1 - t0) / (double)TASKLETS;
}

static double run_spawn(void *vctx, char *why) {
    return spawn_in_batches(vctx, TASKLETS, why);
}

static double run_batched(void *vctx, char *why) {
    return spawn_in_batches(vctx, 100, why);
}


int main(void) {
    struct spawn_ctx c;
    c.func = PyCFunction_New(&noop_def, NULL);
    c.args = PyTuple_New(0);
    if (c.func == NULL || c.args == NULL) {
        PyErr_Print();
        return 1;
    }
        bench_report("spawn_complete_ns_per_tasklet", run_spawn, &c);
    bench_report("spawn_batched_ns_per_tasklet", run_batched, &c);
    Py_DECREF(c.func);
    Py_DECREF(c.args);
    return 0;
}
