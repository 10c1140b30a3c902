/* bench_watchdog: the cost of preemption by ticks (SPEC section 8).
 *
 * Figures:
 *   tick_ns_per_op             a PyStackless_Tick(1) that does not interrupt, called in a loop
 *                              by a tasklet running under PyStackless_RunWatchdog(LONG_MAX)
 *                              (a timed run is active, the budget is never used up);
 *                              10,000,000 ticks per run; the figure includes the loop
  *   tick_untimed_ns_per_op     the same call with no timed run active (from main)
 *   tick_inline_ns_per_op      the header's inline PyStackless_TickWith(state, 1) instead,
 *                              under a timed run as tick_ns_per_op
 *   interrupt_roundtrip_ns_per_op
 *                              one interrupt round trip: PyStackless_RunWatchdog(1) resumes a
 *                              tasklet that ticks in a loop, the tasklet is interrupted at its
 *                              second tick and the run returns it, main re-inserts it
 *                              (PyTasklet_Insert) and repeats; 1,000,000 round trips per run
 * Timing and output format: see bench.h. */
#include <limits.h>

#include "bench.h"

#define TICKS 10000000L
#define ROUNDTRIPS 1000000L

/* ---- non-interrupting tick ------------------------------------------------------------------ */

static PyObject *ticker(PyObject *self, PyObject *arg) {
    (void)self;
    long n = PyLong_AsLong(arg);
    for (long i = 0; i < n; i++)
        if (PyStackless_Tick(1) < 0) return NULL;
    Py_RETURN_NONE;
}
static PyMethodDef ticker_def = {"ticker", ticker, METH_O, NULL};

static PyObject *ticker_inline(PyObject *self, PyObject *arg) {
    (void)self;
    long n = PyLong_AsLong(arg);
    PyStackless_TickState *st = PyStackless_GetTickState();
    for (long i = 0; i < n; i++)
        if (PyStackless_TickWith(st, 1) < 0) return NULL;
    Py_RETURN_NONE;
}
static PyMethodDef ticker_inline_def = {"ticker_inline", ticker_inline, METH_O, NULL};

static double run_tick_timed(void *def, char *why) {
    PyObject *n = PyLong_FromLong(TICKS);
    PyTaskletObject *t = n ? bench_spawn((PyMethodDef *)def, n) : NULL;
    Py_XDECREF(n);
    if (t == NULL) return bench_fail(why, "creating the tasklet");
    double t0 = bench_now_ns();
    PyObject *r = PyStackless_RunWatchdog(LONG_MAX);
    double t1 = bench_now_ns();
    int alive = PyTasklet_Alive(t);
    Py_DECREF(t);
    if (r == NULL) return bench_fail(why, "PyStackless_RunWatchdog");
    int interrupted = r != Py_None;
    Py_DECREF(r);
    if (interrupted || alive) {
        snprintf(why, 200, "the tasklet was interrupted");
        return -1;
    }
    return (t1 - t0) / (double)TICKS;
}

static double run_tick_untimed(void *unused, char *why) {
    (void)unused;
    double t0 = bench_now_ns();
    for (long i = 0; i < TICKS; i++)
        if (PyStackless_Tick(1) < 0) return bench_fail(why, "PyStackless_Tick");
    double t1 = bench_now_ns();
    return (t1 - t0) / (double)TICKS;
}

/* ---- interrupt round trip ------------------------------------------------------------------- */

static volatile int stop;

static PyObject *spinner(PyObject *self, PyObject *unused) {
    (void)self, (void)unused;
    while (!stop)
        if (PyStackless_Tick(1) < 0) return NULL;
    Py_RETURN_NONE;
}
static PyMethodDef spinner_def = {"spinner", spinner, METH_NOARGS, NULL};

static double run_interrupt(void *unused, char *why) {
    (void)unused;
    stop = 0;
    PyTaskletObject *t = bench_spawn(&spinner_def, NULL);
    if (t == NULL) return bench_fail(why, "creating the tasklet");
    double result = 0;
    double t0 = bench_now_ns();
    for (long i = 0; i < ROUNDTRIPS; i++) {
        PyObject *r = PyStackless_RunWatchdog(1);
        if (r != (PyObject *)t) {
            if (r == NULL) {
                result = bench_fail(why, "PyStackless_RunWatchdog(1)");
            } else {
                snprintf(why, 200, "PyStackless_RunWatchdog(1) did not return the tasklet");
                result = -1;
            }
            Py_XDECREF(r);
            break;
        }
        Py_DECREF(r);
        if (PyTasklet_Insert(t) < 0) {
            result = bench_fail(why, "PyTasklet_Insert");
            break;
        }
    }
    double t1 = bench_now_ns();
    /* Let the spinner end. */
    stop = 1;
    if (!PyTasklet_Scheduled(t) && PyTasklet_Alive(t)) PyTasklet_Insert(t);
    PyObject *r = PyStackless_RunWatchdog(0);
    if (r == NULL && result >= 0) result = bench_fail(why, "ending the spinner");
    Py_XDECREF(r);
    Py_DECREF(t);
    return result < 0 ? result : (t1 - t0) / (double)ROUNDTRIPS;
}

int main(void) {
        bench_report("tick_ns_per_op", run_tick_timed, &ticker_def);
    bench_report("tick_inline_ns_per_op", run_tick_timed, &ticker_inline_def);
    bench_report("tick_untimed_ns_per_op", run_tick_untimed, NULL);
    bench_report("interrupt_roundtrip_ns_per_op", run_interrupt, NULL);
    return 0;
}
