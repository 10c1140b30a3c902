/* main_loop_pump.c: driving tasklets from an application's own main loop.
 *
 * Most applications already have a main loop (a game's frame loop, a GUI's event loop, a
 * server's poll loop) and cannot hand control over to a scheduler for good. Stackless's
 * answer is to "pump" the scheduler: once per pass through its loop, the application wakes
 * the tasklets that wait for the next pass and calls PyStackless_RunWatchdog(0), which runs
 * each of them until it waits again, then returns. The tasklets look like straight-line code
 * ("do this, wait a frame, do that") while the application stays in charge.
 *
 * The tasklets wait for the next frame by receiving on a channel, frame_channel. The main
 * loop wakes them by sending the frame number to every waiting receiver. The trick is the
 * channel's preference: by default (-1) a send to a waiting receiver switches to the
 * receiver at once, so main would end up running every tasklet from inside its sends.
 * With preference 1 ("prefer the sender") the send hands the value over, puts the receiver
 * at the end of the run queue and returns immediately; the woken tasklets run only when the
 * loop calls PyStackless_RunWatchdog(0).
 *
 * Tasklets that are pumped this way must not yield with PyStackless_Schedule: a tasklet
 * that stays runnable keeps the scheduler run going, and the run would not return until
 * it waits on the channel, blocks somewhere else or ends.
 *
 * Build and run it from the repository root:
 *   cargo build --release
 *   cc -std=c11 -Wall -Iinclude c_examples/main_loop_pump.c -Ltarget/release -lstackless \
 *      -Wl,-rpath,"$PWD/target/release" -o main_loop_pump && ./main_loop_pump
 *
 * Expected output:
 *   main: 2 tasklets created, run count 3
 *   main: start-up run
 *   walker: at x = 0, waiting for a frame
 *   blinker: light off, waiting for a frame
 *   main: start-up run done, 2 tasklets wait for a frame (balance -2), run count 1
 *   main: frame 1: woke 2 tasklets, the sends returned at once; run count 3
 *   walker: frame 1, x = 10
 *   blinker: frame 1, light on
 *   main: frame 1 done
 *   main: frame 2: woke 2 tasklets, the sends returned at once; run count 3
 *   walker: frame 2, x = 20
 *   blinker: frame 2, light off
 *   blinker: done blinking
 *   main: frame 2 done
 *   main: frame 3: woke 1 tasklet, the sends returned at once; run count 2
 *   walker: frame 3, x = 30
 *   walker: arrived
 *   main: frame 3 done
 *   main: no tasklet waits for a frame any more, run count 1
 */
#include <stdio.h>
#include <stdlib.h>

#include "stackless.h"

static void die(const char *what) {
    fprintf(stderr, "%s failed: ", what);
    PyErr_Print();
    exit(1);
}

/* The channel the tasklets wait on, once per frame. */
static PyChannelObject *frame_channel;

/* ---- The tasklets' side: wait for the next frame ----------------------------------------
 * Blocks the calling tasklet until the main loop sends the next frame number, and returns
 * it; -1 with an exception set if the receive failed (for example, the tasklet was killed
 * while it waited). Nobody ever sends on this channel except the main loop, so the receive
 * always blocks: it is a "yield until the next frame". */
static long wait_for_frame(void) {
    PyObject *frame = PyChannel_Receive(frame_channel); /* new reference, or NULL */
    if (frame == NULL) return -1;
    long n = PyLong_AsLong(frame);
    Py_DECREF(frame);
    return n;
}

/* walker(): moves 10 units per frame for 3 frames. */
static PyObject *walker(PyObject *self, PyObject *unused) {
    (void)self;
    (void)unused; /* METH_NOARGS: always NULL */
    long x = 0;
    printf("walker: at x = %ld, waiting for a frame\n", x);
    for (int step = 0; step < 3; step++) {
        long frame = wait_for_frame();
        if (frame < 0) return NULL;
        x += 10;
        printf("walker: frame %ld, x = %ld\n", frame, x);
    }
    printf("walker: arrived\n");
    Py_RETURN_NONE;
}

/* blinker(): switches a light on and off, one change per frame, twice. */
static PyObject *blinker(PyObject *self, PyObject *unused) {
    (void)self;
    (void)unused;
    int on = 0;
    printf("blinker: light off, waiting for a frame\n");
    for (int step = 0; step < 2; step++) {
        long frame = wait_for_frame();
        if (frame < 0) return NULL;
        on = !on;
        printf("blinker: frame %ld, light %s\n", frame, on ? "on" : "off");
    }
    printf("blinker: done blinking\n");
    Py_RETURN_NONE;
}

/* METH_NOARGS: the functions take no arguments, so the tasklets are set up with (). */
static PyMethodDef walker_def = {"walker", walker, METH_NOARGS, NULL};
static PyMethodDef blinker_def = {"blinker", blinker, METH_NOARGS, NULL};

/* Creates and schedules a tasklet that calls def's function with no arguments. The run queue
 * holds a reference to a scheduled tasklet (and a channel to a tasklet waiting on it), so we
 * can drop ours at once: the tasklet lives until it ends. */
static void spawn(PyMethodDef *def) {
    PyObject *func = PyCFunction_New(def, NULL);
    if (func == NULL) die("PyCFunction_New");
    PyTaskletObject *t = PyTasklet_New(NULL, func);
    if (t == NULL) die("PyTasklet_New");
    PyObject *no_args = PyTuple_New(0);
    if (no_args == NULL) die("PyTuple_New");
    if (PyTasklet_Setup(t, no_args, NULL) < 0) die("PyTasklet_Setup");
    Py_DECREF(no_args);
    Py_DECREF(t);
    Py_DECREF(func);
}

/* One pump of the scheduler: runs every runnable tasklet until it waits again or ends. */
static void run_tasklets(void) {
    PyObject *r = PyStackless_RunWatchdog(0);
    if (r == NULL) die("PyStackless_RunWatchdog"); /* a tasklet died of an exception */
    Py_DECREF(r);
}

int main(void) {
    frame_channel = PyChannel_New(NULL);
    if (frame_channel == NULL) die("PyChannel_New");
    /* Prefer the sender: a send to a waiting receiver does not switch to it. */
    PyChannel_SetPreference(frame_channel, 1);

    spawn(&walker_def);
    spawn(&blinker_def);
    printf("main: 2 tasklets created, run count %d\n", PyStackless_GetRunCount());

    /* The tasklets have not started yet: one run takes each of them to its first wait. */
    printf("main: start-up run\n");
    run_tasklets();
    printf("main: start-up run done, %d tasklets wait for a frame (balance %d), run count %d\n",
           -PyChannel_GetBalance(frame_channel), PyChannel_GetBalance(frame_channel),
           PyStackless_GetRunCount());

    /* The application's main loop. A real one would also poll input, draw, sleep, ... */
    for (long frame = 1;; frame++) {
        /* A negative balance is the number of tasklets blocked receiving on the channel. */
        int waiting = -PyChannel_GetBalance(frame_channel);
        if (waiting == 0) break; /* every tasklet has finished */

        /* Wake every tasklet that waits for a frame. Thanks to preference 1 each send just
         * moves one receiver to the run queue and returns; none of them runs yet. */
        PyObject *frame_number = PyLong_FromLong(frame);
        if (frame_number == NULL) die("PyLong_FromLong");
        while (PyChannel_GetBalance(frame_channel) < 0) {
            if (PyChannel_Send(frame_channel, frame_number) < 0) die("PyChannel_Send");
        }
        Py_DECREF(frame_number);
        printf("main: frame %ld: woke %d tasklet%s, the sends returned at once; run count %d\n",
               frame, waiting, waiting == 1 ? "" : "s", PyStackless_GetRunCount());

        /* Pump: the woken tasklets each run their frame's work, in the order they were
         * woken, until they wait for the next frame (or end). Then the run returns. */
        run_tasklets();
        printf("main: frame %ld done\n", frame);
    }
    printf("main: no tasklet waits for a frame any more, run count %d\n",
           PyStackless_GetRunCount());

    Py_DECREF(frame_channel);
    return 0;
}
