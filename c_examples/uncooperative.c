/* uncooperative.c: detecting tasklets that never yield, with the watchdog.
 *
 * Cooperative tasklets give up the processor themselves (PyStackless_Schedule, or by
 * waiting on a channel). A tasklet that does not, because of a bug (an endless loop) or an
 * unexpectedly long computation, holds up every other tasklet of its thread. Stackless's
 * answer is to run the scheduler with a large timeout: a well-behaved tasklet always yields
 * long before it has used up that much time, so the only tasklets that reach it are the
 * uncooperative ones. The run then stops the offender and returns it: the program can
 * report it and decide what to do with it.
 *
 * C has no bytecodes to count, so in libstackless running code reports its work with
 * PyStackless_Tick(n): "I have done n units of work". PyStackless_RunWatchdog(timeout) gives
 * each tasklet a slice of `timeout` ticks, started afresh every time a tasklet is switched
 * in. A tasklet that ticks past its slice is interrupted inside its PyStackless_Tick call:
 * it leaves the run queue (it is "paused") and the run returns it (a new reference). Ticks
 * are cheap (a counter and a compare), so long-running loops can report every iteration.
 *
 * Here three tasklets run:
 *   - clock: a well-behaved tasklet doing 4 steps of 100 ticks, yielding after each;
 *   - cruncher: a long computation (15,000 ticks) that forgets to yield;
 *   - spinner: a bug, spinning forever on a flag nobody sets.
 * The scheduler is run with a slice of 10,000 ticks. Detected tasklets get a second chance:
 * the first time they are reported and re-inserted at the end of the run queue (so the
 * others run first); the second time they are killed. The cruncher finishes within its
 * second chance; the spinner does not and is killed, and its cleanup runs. The clock is
 * never interrupted.
 *
 * Build and run it from the repository root:
 *   cargo build --release
 *   cc -std=c11 -Wall -Iinclude c_examples/uncooperative.c -Ltarget/release -lstackless \
 *      -Wl,-rpath,"$PWD/target/release" -o uncooperative && ./uncooperative
 *
 * Expected output:
 *   main: running the scheduler with a slice of 10000 ticks
 *   clock: step 1 of 4
 *   *** uncooperative tasklet detected: cruncher, in <built-in function cruncher>, 10000 ticks done (strike 1): re-inserted
 *   *** uncooperative tasklet detected: spinner, in <built-in function spinner>, 10000 ticks done (strike 1): re-inserted
 *   clock: step 2 of 4
 *   cruncher: done, sum = 112507500
 *   *** uncooperative tasklet detected: spinner, in <built-in function spinner>, 20001 ticks done (strike 2): killing it
 *   spinner: killed while spinning (TaskletExit), releasing its resources
 *   clock: step 3 of 4
 *   clock: step 4 of 4
 *   clock: done
 *   main: all tasklets are done (run count 1); the scheduler ran 4 times
 *   main: clock alive: no, cruncher alive: no, spinner alive: no
 */
#include <stdio.h>
#include <stdlib.h>

#include "stackless.h"

static void die(const char *what) {
    fprintf(stderr, "%s failed: ", what);
    PyErr_Print();
    exit(1);
}

/* ---- The tasklets ------------------------------------------------------------------------
 * Each reports its work with PyStackless_Tick. Tick returns 0 normally; it returns -1 with
 * an exception set if one was raised into the tasklet while it was stopped (for example, it
 * was killed): the body must then clean up and return NULL, like after any failed call. */

/* The ticks each tasklet has got through, for the report in main (the tasklets are looked
 * up by their position in this table). The tick that was interrupted counts once it has
 * returned: a tasklet stopped for the second time has done 10000 + 1 + 10000. */
enum { CLOCK, CRUNCHER, SPINNER, NTASKLETS };
static const char *const names[NTASKLETS] = {"clock", "cruncher", "spinner"};
static long ticks_done[NTASKLETS];
static int strikes[NTASKLETS];

/* clock(): 4 steps of 100 units of work, yielding after each: a good citizen. */
static PyObject *clock_body(PyObject *self, PyObject *unused) {
    (void)self;
    (void)unused;
    for (int step = 1; step <= 4; step++) {
        for (int i = 0; i < 100; i++) {
            if (PyStackless_Tick(1) < 0) return NULL;
            ticks_done[CLOCK]++;
        }
        printf("clock: step %d of 4\n", step);
        PyObject *r = PyStackless_Schedule(Py_None, 0); /* yield */
        if (r == NULL) return NULL;
        Py_DECREF(r);
    }
    printf("clock: done\n");
    Py_RETURN_NONE;
}

/* cruncher(): sums 15,000 numbers, one tick each, without ever yielding. */
static PyObject *cruncher_body(PyObject *self, PyObject *unused) {
    (void)self;
    (void)unused;
    long long sum = 0;
    for (long i = 1; i <= 15000; i++) {
        if (PyStackless_Tick(1) < 0) return NULL;
        ticks_done[CRUNCHER]++;
        sum += i;
    }
    printf("cruncher: done, sum = %lld\n", sum);
    Py_RETURN_NONE;
}

/* spinner(): waits for a flag that nobody sets, by spinning (the bug). */
static volatile int flag_nobody_sets = 0;
static PyObject *spinner_body(PyObject *self, PyObject *unused) {
    (void)self;
    (void)unused;
    void *resource = malloc(1024); /* something to clean up */
    while (!flag_nobody_sets) {
        if (PyStackless_Tick(1) < 0) {
            /* killed while stopped: TaskletExit is pending; clean up and pass it on */
            printf("spinner: killed while spinning (%s), releasing its resources\n",
                   PyErr_ExceptionMatches(PyExc_TaskletExit) ? "TaskletExit" : "?");
            free(resource);
            return NULL; /* a tasklet that ends with TaskletExit ends quietly */
        }
        ticks_done[SPINNER]++;
    }
    free(resource);
    Py_RETURN_NONE;
}

static PyMethodDef defs[NTASKLETS] = {
    {"clock", clock_body, METH_NOARGS, NULL},
    {"cruncher", cruncher_body, METH_NOARGS, NULL},
    {"spinner", spinner_body, METH_NOARGS, NULL},
};

/* Creates and schedules a tasklet running def's function; returns a new reference. */
static PyTaskletObject *start(PyMethodDef *def) {
    PyObject *func = PyCFunction_New(def, NULL);
    if (func == NULL) die("PyCFunction_New");
    PyTaskletObject *t = PyTasklet_New(NULL, func);
    Py_DECREF(func);
    if (t == NULL) die("PyTasklet_New");
    PyObject *no_args = PyTuple_New(0);
    if (no_args == NULL) die("PyTuple_New");
    if (PyTasklet_Setup(t, no_args, NULL) < 0) die("PyTasklet_Setup");
    Py_DECREF(no_args);
    return t;
}

/* ---- Reporting an offender ---------------------------------------------------------------
 * Stackless's idiom prints the offender's stack (traceback.print_stack(t.frame)). A C
 * tasklet's "frame" (PyTasklet_GetFrame) describes what it is executing: here the callable
 * its body is. */
static void report(PyTaskletObject *t, int which) {
    const char *where = "?";
    PyObject *frame = PyTasklet_GetFrame(t); /* new reference, or NULL */
    PyObject *repr = frame != NULL ? PyObject_Repr(frame) : NULL;
    if (repr != NULL) where = PyUnicode_AsUTF8(repr);
    printf("*** uncooperative tasklet detected: %s, in %s, %ld ticks done (strike %d): %s\n",
           names[which], where, ticks_done[which], strikes[which],
           strikes[which] == 1 ? "re-inserted" : "killing it");
    Py_XDECREF(repr);
    Py_XDECREF(frame);
    PyErr_Clear(); /* GetFrame may return NULL without an exception; nothing else failed */
}

int main(void) {
    PyTaskletObject *tasklets[NTASKLETS];
    for (int i = 0; i < NTASKLETS; i++) tasklets[i] = start(&defs[i]);

    const long slice = 10000; /* far more than a cooperative tasklet uses between yields */
    printf("main: running the scheduler with a slice of %ld ticks\n", slice);

    int runs = 0;
    /* Run until only main is left runnable (tasklets waiting on a channel would not count:
     * a program that has some would also stop when a run returns None). */
    while (PyStackless_GetRunCount() > 1) {
        PyObject *t = PyStackless_RunWatchdog(slice); /* None, the offender, or NULL */
        runs++;
        if (t == NULL) die("PyStackless_RunWatchdog"); /* a tasklet raised an exception */
        if (t == Py_None) {
            Py_DECREF(t);
            continue;
        }
        /* The run returned the tasklet it interrupted: alive, but out of the run queue. */
        int which = 0;
        while (which < NTASKLETS && (PyObject *)tasklets[which] != t) which++;
        if (which == NTASKLETS) {
            fprintf(stderr, "an unknown tasklet was interrupted\n");
            return 1;
        }
        strikes[which]++;
        report((PyTaskletObject *)t, which);
        if (strikes[which] == 1) {
            /* Second chance: back to the end of the run queue, the others run first. */
            if (PyTasklet_Insert((PyTaskletObject *)t) < 0) die("PyTasklet_Insert");
        } else {
            /* Kill it: TaskletExit is raised inside it (its PyStackless_Tick returns -1), its
             * cleanup runs, and PyTasklet_Kill returns when it has ended. */
            if (PyTasklet_Kill((PyTaskletObject *)t) < 0) die("PyTasklet_Kill");
        }
        Py_DECREF(t);
    }

    printf("main: all tasklets are done (run count %d); the scheduler ran %d times\n",
           PyStackless_GetRunCount(), runs);
    printf("main: clock alive: %s, cruncher alive: %s, spinner alive: %s\n",
           PyTasklet_Alive(tasklets[CLOCK]) ? "yes" : "no",
           PyTasklet_Alive(tasklets[CRUNCHER]) ? "yes" : "no",
           PyTasklet_Alive(tasklets[SPINNER]) ? "yes" : "no");
    for (int i = 0; i < NTASKLETS; i++) Py_DECREF(tasklets[i]);
    return 0;
}
