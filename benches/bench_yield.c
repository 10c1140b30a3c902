/* bench_yield: N tasklets take turns with PyStackless_Schedule(Py_None, 0) in a loop.
 *
 * Figures (ns per PyStackless_Schedule call; every call is one switch to another tasklet):
 *   yield_2_hard_ns_per_op      2 tasklets, plain PyStackless_Schedule from the body: every
 *                               switch is hard (each tasklet keeps its C stack)
 *   yield_2_soft_ns_per_op      2 tasklets, each running a soft-switchable function that loops
 *                               over PyStackless_Schedule with STACKLESS_PROMOTE_ALL(): every
 *                               switch is soft (checked: each call must return Py_UnwindToken)
 *   yield_1000_hard_ns_per_op   the same with 1000 tasklets (1000 yields each)
 *   yield_1000_soft_ns_per_op
 * Each run performs 1,000,000 switches; timing and output format: see bench.h. */
#include "bench.h"

#define OPS 1000000L

/* ---- hard: a plain body calling PyStackless_Schedule ------------------------------------ */

static PyObject *hard_body(PyObject *self, PyObject *arg) {
    (void)self;
    long n = PyLong_AsLong(arg);
    for (long i = 0; i < n; i++) {
        PyObject *r = PyStackless_Schedule(Py_None, 0);
        if (r == NULL) return NULL;
        Py_DECREF(r);
    }
    Py_RETURN_NONE;
}
static PyMethodDef hard_def = {"hard_yield", hard_body, METH_O, NULL};

/* ---- soft: a soft-switchable function looping over PyStackless_Schedule ----------------- */

static long soft_unwinds; /* PyStackless_Schedule calls that switched soft */
static long hard_returns; /* ... that returned a value (switched hard, or did not switch) */

/* State: *n = yields left. Re-entered with the result of the yield that switched soft. */
static PyObject *yield_loop(PyObject *retval, long *step, PyObject **ob1, PyObject **ob2,
                            PyObject **ob3, long *n, void **any) {
    STACKLESS_GETARG();
    (void)step, (void)ob1, (void)ob2, (void)ob3, (void)any;
    if (retval == NULL) return NULL;
    while (*n > 0) {
        --*n;
        STACKLESS_PROMOTE_ALL();
        PyObject *r = PyStackless_Schedule(Py_None, 0);
        STACKLESS_ASSERT();
        if (STACKLESS_UNWINDING(r)) {
            soft_unwinds++;
            return r;
        }
        if (r == NULL) return NULL;
        Py_DECREF(r);
        hard_returns++;
    }
    Py_RETURN_NONE;
}
static PyStacklessFunctionDeclarationObject yield_decl = {
    PyObject_HEAD_INIT(NULL) yield_loop, "yield_loop", NULL};

/* The body: METH_STACKLESS, so the frame loop passes the stackless flag, which it promotes
 * to PyStackless_CallFunction: the loop then runs as a frame of the frame loop. */
static PyObject *soft_body(PyObject *self, PyObject *arg) {
    STACKLESS_GETARG();
    (void)self;
    long n = PyLong_AsLong(arg);
    STACKLESS_PROMOTE_ALL();
    PyObject *r = PyStackless_CallFunction(&yield_decl, Py_None, NULL, NULL, NULL, n, NULL);
    STACKLESS_ASSERT();
    return r;
}
static PyMethodDef soft_def = {"soft_yield", soft_body, METH_O | METH_STACKLESS, NULL};

/* ---- driver ----------------------------------------------------------------------------- */

struct yield_case {
    int tasklets;
    int soft;
};

static double run_yield(void *vctx, char *why) {
    struct yield_case *c = vctx;
    long per = OPS / c->tasklets;
    long ops = per * c->tasklets;
    PyObject *n = PyLong_FromLong(per);
    if (n == NULL) return bench_fail(why, "PyLong_FromLong");
    for (int i = 0; i < c->tasklets; i++) {
        PyTaskletObject *t = bench_spawn(c->soft ? &soft_def : &hard_def, n);
        if (t == NULL) return bench_fail(why, "creating the tasklets");
        Py_DECREF(t); /* the run queue keeps it */
    }
    Py_DECREF(n);
    soft_unwinds = hard_returns = 0;
    double t0 = bench_now_ns();
    PyObject *r = PyStackless_RunWatchdog(0);
    double t1 = bench_now_ns();
    if (r == NULL) return bench_fail(why, "PyStackless_RunWatchdog");
    Py_DECREF(r);
    if (c->soft && (hard_returns != 0 || soft_unwinds != ops)) {
        snprintf(why, 200,
                 "soft switching did not happen (%ld of %ld yields switched soft); "
                 "is soft switching enabled?",
                 soft_unwinds, ops);
        return -1;
    }
    return (t1 - t0) / (double)ops;
}

int main(void) {
    if (PyStackless_InitFunctionDeclaration(&yield_decl, NULL, NULL) < 0) {
        PyErr_Print();
        return 1;
    }
    struct yield_case cases[] = {{2, 0}, {2, 1}, {1000, 0}, {1000, 1}};
    const char *names[] = {"yield_2_hard_ns_per_op", "yield_2_soft_ns_per_op",
                           "yield_1000_hard_ns_per_op", "yield_1000_soft_ns_per_op"};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        bench_report(names[i], run_yield, &cases[i]);
    return 0;
}
