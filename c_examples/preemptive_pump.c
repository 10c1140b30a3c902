/* preemptive_pump.c: giving tasklets a fixed budget of work per frame of a main loop.
 *
 * An application with its own main loop (a game, a GUI, a server) wants its tasklets to make
 * progress every frame, but not to hold up the frame for longer than it can afford. Stackless
 * calls this pre-emptive pumping of the scheduler: once per frame the loop runs the scheduler
 * with a timeout and the "total timeout" flag. The timeout is then one budget for the whole
 * run, however many times the tasklets switch among themselves; when it is used up, the
 * tasklet that is running is stopped and the run returns it. The loop puts it back at the end
 * of the run queue and goes on with the frame; next frame the tasklets continue where they
 * were.
 *
 * C has no bytecodes to count, so in libstackless running code reports its work with
 * PyStackless_Tick(n): "I have done n units of work". The budget is counted in those ticks,
 * so the schedule below is exactly reproducible. (With PY_WATCHDOG_TIME added to the flags
 * the budget is microseconds of running time instead, checked at the same tick points.)
 *
 * Without PY_WATCHDOG_TOTALTIMEOUT the timeout would be a slice per tasklet that starts
 * afresh at every switch: tasklets that yield often would never use one up, and the run
 * would not come back until they all had finished. That is the right tool for catching
 * tasklets that never yield (see uncooperative.c), not for keeping a frame short.
 *
 * A tick reports a unit of work that has been done, and the budget is used up when a tick
 * goes past it: a budget of 250 lets 250 ticks through, and the 251st stops the tasklet
 * that reports it. So a frame gets through 251 units of work, the last of them the one
 * whose tick found the budget spent.
 *
 * Three tasklets share a budget of 250 ticks per frame:
 *   - loader: loads 6 assets of 120 ticks each, without yielding;
 *   - ai: 5 rounds of thinking, 80 ticks each, yielding after every round;
 *   - compressor: one 700-tick job, without yielding.
 * Each frame prints how many ticks each of them got and who was stopped when the budget ran
 * out. When every tasklet has finished, the run returns None and the loop ends.
 *
 * Build and run it from the repository root:
 *   cargo build --release
 *   cc -std=c11 -Wall -Iinclude c_examples/preemptive_pump.c -Ltarget/release -lstackless \
 *      -Wl,-rpath,"$PWD/target/release" -o preemptive_pump && ./preemptive_pump
 *
 * Expected output:
 *   main: 3 tasklets, a budget of 250 ticks per frame
 *   frame 1:
 *     loader: asset 1 of 6 loaded
 *     loader: asset 2 of 6 loaded
 *     => ticks this frame: loader 251, ai 0, compressor 0 (total 251)
 *     => budget used up, loader stopped and re-inserted
 *   frame 2:
 *     ai: round 1 of 5 thought through
 *     => ticks this frame: loader 0, ai 80, compressor 171 (total 251)
 *     => budget used up, compressor stopped and re-inserted
 *   frame 3:
 *     loader: asset 3 of 6 loaded
 *     loader: asset 4 of 6 loaded
 *     => ticks this frame: loader 251, ai 0, compressor 0 (total 251)
 *     => budget used up, loader stopped and re-inserted
 *   frame 4:
 *     ai: round 2 of 5 thought through
 *     => ticks this frame: loader 0, ai 80, compressor 171 (total 251)
 *     => budget used up, compressor stopped and re-inserted
 *   frame 5:
 *     loader: asset 5 of 6 loaded
 *     loader: asset 6 of 6 loaded
 *     => ticks this frame: loader 218, ai 33, compressor 0 (total 251)
 *     => budget used up, ai stopped and re-inserted
 *   frame 6:
 *     => ticks this frame: loader 0, ai 0, compressor 251 (total 251)
 *     => budget used up, compressor stopped and re-inserted
 *   frame 7:
 *     ai: round 3 of 5 thought through
 *     compressor: job compressed
 *     ai: round 4 of 5 thought through
 *     => ticks this frame: loader 0, ai 144, compressor 107 (total 251)
 *     => budget used up, ai stopped and re-inserted
 *   frame 8:
 *     ai: round 5 of 5 thought through
 *     => ticks this frame: loader 0, ai 63, compressor 0 (total 63)
 *   main: all work done in 8 frames
 *   main: loader alive: no, ai alive: no, compressor alive: no, run count 1
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
 * Each does its work in units, reporting every unit with PyStackless_Tick(1). When the
 * frame's budget runs out inside a tasklet, its PyStackless_Tick call does not return until
 * the tasklet is run again (next frame). Tick returns -1 with an exception set only if one
 * was raised into the tasklet meanwhile (for example, it was killed): then it stops. */

enum { LOADER, AI, COMPRESSOR, NTASKLETS };
static const char *const names[NTASKLETS] = {"loader", "ai", "compressor"};
static long ticks_done[NTASKLETS]; /* units of work done by each tasklet so far */

/* Reports one unit of work done by tasklet `who`; -1 if the tasklet must stop. */
static int work(int who) {
    ticks_done[who]++;
    return PyStackless_Tick(1);
}

static PyObject *loader(PyObject *self, PyObject *unused) {
    (void)self;
    (void)unused;
    for (int asset = 1; asset <= 6; asset++) {
        for (int i = 0; i < 120; i++)
            if (work(LOADER) < 0) return NULL;
        printf("  loader: asset %d of 6 loaded\n", asset);
    }
    Py_RETURN_NONE;
}

static PyObject *ai(PyObject *self, PyObject *unused) {
    (void)self;
    (void)unused;
    for (int round = 1; round <= 5; round++) {
        for (int i = 0; i < 80; i++)
            if (work(AI) < 0) return NULL;
        printf("  ai: round %d of 5 thought through\n", round);
        /* Yield to the other tasklets: with a total budget this does not reset anything. */
        PyObject *r = PyStackless_Schedule(Py_None, 0);
        if (r == NULL) return NULL;
        Py_DECREF(r);
    }
    Py_RETURN_NONE;
}

static PyObject *compressor(PyObject *self, PyObject *unused) {
    (void)self;
    (void)unused;
    for (int i = 0; i < 700; i++)
        if (work(COMPRESSOR) < 0) return NULL;
    printf("  compressor: job compressed\n");
    Py_RETURN_NONE;
}

static PyMethodDef defs[NTASKLETS] = {
    {"loader", loader, METH_NOARGS, NULL},
    {"ai", ai, METH_NOARGS, NULL},
    {"compressor", compressor, METH_NOARGS, NULL},
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

int main(void) {
    PyTaskletObject *tasklets[NTASKLETS];
    for (int i = 0; i < NTASKLETS; i++) tasklets[i] = start(&defs[i]);

    const long budget = 250; /* ticks of tasklet work per frame */
    printf("main: 3 tasklets, a budget of %ld ticks per frame\n", budget);

    long before[NTASKLETS] = {0};
    for (int frame = 1;; frame++) {
        /* ProcessMessages(); ApplicationLoopStuff(); ... would go here. */
        printf("frame %d:\n", frame);

        /* The tasklets' share of the frame. */
        PyObject *t = PyStackless_RunWatchdogEx(budget, PY_WATCHDOG_TOTALTIMEOUT);
        if (t == NULL) die("PyStackless_RunWatchdogEx"); /* a tasklet raised an exception */

        /* Who got how much of the budget. */
        long total = 0;
        printf("  => ticks this frame:");
        for (int i = 0; i < NTASKLETS; i++) {
            printf(" %s %ld%s", names[i], ticks_done[i] - before[i],
                   i + 1 < NTASKLETS ? "," : "");
            total += ticks_done[i] - before[i];
            before[i] = ticks_done[i];
        }
        printf(" (total %ld)\n", total);

        if (t == Py_None) {
            /* Nothing was left to run: every tasklet has finished (tasklets blocked on
             * channels would also end the run; this program has none). */
            Py_DECREF(t);
            printf("main: all work done in %d frames\n", frame);
            break;
        }
        /* The budget ran out: t is the tasklet that was running, now out of the run queue.
         * Put it back at the end, so it continues next frame after the others. */
        int which = 0;
        while (which < NTASKLETS && (PyObject *)tasklets[which] != t) which++;
        printf("  => budget used up, %s stopped and re-inserted\n",
               which < NTASKLETS ? names[which] : "?");
        if (PyTasklet_Insert((PyTaskletObject *)t) < 0) die("PyTasklet_Insert");
        Py_DECREF(t);
    }

    printf("main: loader alive: %s, ai alive: %s, compressor alive: %s, run count %d\n",
           PyTasklet_Alive(tasklets[LOADER]) ? "yes" : "no",
           PyTasklet_Alive(tasklets[AI]) ? "yes" : "no",
           PyTasklet_Alive(tasklets[COMPRESSOR]) ? "yes" : "no", PyStackless_GetRunCount());
    for (int i = 0; i < NTASKLETS; i++) Py_DECREF(tasklets[i]);
    return 0;
}
