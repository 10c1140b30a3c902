/* round_robin.c: cooperative round robin, the "hello world" of tasklets.
 *
 * A tasklet is a lightweight thread: a callable plus the arguments to call it with, run by
 * the scheduler of the thread that created it. Tasklets are cooperative: a tasklet runs
 * until it gives up the processor itself, here by calling PyStackless_Schedule, which puts
 * it at the back of the run queue and lets the next runnable tasklet go.
 *
 * This program turns one C function into a callable (PyMethodDef + PyCFunction_New),
 * starts three worker tasklets on it with different arguments (PyTasklet_New +
 * PyTasklet_Setup), and lets the scheduler run them (PyStackless_RunWatchdog) until all of
 * them have finished. Each worker prints a line per step and yields after it, so their
 * output interleaves: A, B, C, A, B, C, ... with finished workers dropping out.
 *
 * Build and run it from the repository root:
 *   cargo build --release
 *   cc -std=c11 -Wall -Iinclude c_examples/round_robin.c -Ltarget/release -lstackless \
 *      -Wl,-rpath,"$PWD/target/release" -o round_robin && ./round_robin
 *
 * Expected output:
 *   main: 3 workers set up, run count 4 (main + 3 workers)
 *   A: step 1 of 3 (run count 3)
 *   B: step 1 of 2 (run count 3)
 *   C: step 1 of 1 (run count 3)
 *   A: step 2 of 3 (run count 3)
 *   B: step 2 of 2 (run count 3)
 *   C: done
 *   A: step 3 of 3 (run count 2)
 *   B: done
 *   A: done
 *   main: scheduler run finished, run count 1, A alive: no, B alive: no, C alive: no
 */
#include <stdio.h>
#include <stdlib.h>

#include "stackless.h"

/* Most calls return NULL or -1 with an exception set when they fail. A real program would
 * pass the failure up to its caller; this example prints it and stops. */
static void die(const char *what) {
    fprintf(stderr, "%s failed: ", what);
    PyErr_Print(); /* prints "Type: message" to stderr and clears the exception */
    exit(1);
}

/* ---- The worker: a plain C function made callable ----------------------------------------
 * A tasklet's body is any callable; the scheduler calls it with the argument tuple given to
 * PyTasklet_Setup. METH_VARARGS means the C function receives (self, args) with args that
 * tuple (a borrowed reference). The body returns a new reference (its result) or NULL with
 * an exception set, exactly like any CPython extension function. Here args is (name, steps).
 */
static PyObject *worker(PyObject *self, PyObject *args) {
    (void)self; /* NULL: the function object was not bound to anything */
    const char *name = PyUnicode_AsUTF8(PyTuple_GetItem(args, 0)); /* borrowed, from args */
    long steps = PyLong_AsLong(PyTuple_GetItem(args, 1));
    if (name == NULL || (steps == -1 && PyErr_Occurred())) {
        return NULL; /* a bad argument: the tasklet ends with this exception */
    }

    for (long i = 1; i <= steps; i++) {
        /* The run count is the number of runnable tasklets, this one included. main is not
         * among them while it sits in PyStackless_RunWatchdog (the scheduler run takes its
         * caller out of the queue and puts it back when the run ends). */
        printf("%s: step %ld of %ld (run count %d)\n", name, i, steps, PyStackless_GetRunCount());

        /* Yield: stay runnable, but let every other runnable tasklet have its turn first.
         * The first argument is the value this call returns when we are resumed (Py_None
         * here; NULL would mean the same); 0 means "stay in the run queue". The result is a
         * new reference that we must release, or NULL if an exception was raised into us
         * while we waited (for example if somebody killed us): then we stop and pass it on. */
        PyObject *r = PyStackless_Schedule(Py_None, 0);
        if (r == NULL) {
            return NULL;
        }
        Py_DECREF(r);
    }
    printf("%s: done\n", name);
    Py_RETURN_NONE; /* the tasklet ends normally; its result is dropped */
}

/* The method table entry must outlive every function object made from it: make it static. */
static PyMethodDef worker_def = {"worker", worker, METH_VARARGS, "worker(name, steps)"};

/* Creates a tasklet that will call worker(name, steps), and schedules it. Returns a new
 * reference to the tasklet. */
static PyTaskletObject *start_worker(PyObject *worker_func, const char *name, long steps) {
    /* PyTasklet_New binds the callable (it takes its own reference to it); NULL as the type
     * means a plain tasklet. The tasklet is not alive yet: it has nothing to call it with. */
    PyTaskletObject *t = PyTasklet_New(NULL, worker_func);
    if (t == NULL) die("PyTasklet_New");

    /* The argument tuple. PyTuple_SetItem steals the reference it is given, so the new
     * objects need no Py_DECREF of their own. */
    PyObject *args = PyTuple_New(2);
    if (args == NULL) die("PyTuple_New");
    PyTuple_SetItem(args, 0, PyUnicode_FromString(name));
    PyTuple_SetItem(args, 1, PyLong_FromLong(steps));

    /* PyTasklet_Setup gives the tasklet its arguments (it keeps its own reference to the
     * tuple; NULL kwargs means none) and appends it to the run queue: it is now alive and
     * scheduled, but it runs only when the scheduler gets to it. */
    if (PyTasklet_Setup(t, args, NULL) < 0) die("PyTasklet_Setup");
    Py_DECREF(args);
    return t;
}

int main(void) {
    /* One function object serves all three workers: each tasklet gets its own arguments. */
    PyObject *worker_func = PyCFunction_New(&worker_def, NULL);
    if (worker_func == NULL) die("PyCFunction_New");

    /* Nothing special is needed first: the first call creates this thread's scheduler and
     * its main tasklet, which is the code of main() itself. */
    PyTaskletObject *a = start_worker(worker_func, "A", 3);
    PyTaskletObject *b = start_worker(worker_func, "B", 2);
    PyTaskletObject *c = start_worker(worker_func, "C", 1);
    Py_DECREF(worker_func); /* the tasklets hold their own references to it */

    /* main counts as a runnable tasklet too. */
    printf("main: 3 workers set up, run count %d (main + 3 workers)\n",
           PyStackless_GetRunCount());

    /* Run the scheduler until no tasklet is runnable any more. The argument is the
     * preemption budget; 0 means none: the tasklets are purely cooperative. It returns a
     * new reference to None when the queue has run empty, or NULL if a tasklet died of an
     * uncaught exception (see safe_tasklets.c). */
    PyObject *result = PyStackless_RunWatchdog(0);
    if (result == NULL) die("PyStackless_RunWatchdog");
    Py_DECREF(result);

    /* Every worker returned, so it is dead: only main is runnable. */
    printf("main: scheduler run finished, run count %d, A alive: %s, B alive: %s, C alive: %s\n",
           PyStackless_GetRunCount(), PyTasklet_Alive(a) ? "yes" : "no",
           PyTasklet_Alive(b) ? "yes" : "no", PyTasklet_Alive(c) ? "yes" : "no");

    /* We kept a reference to each tasklet only to ask whether it is alive. A scheduled
     * tasklet does not need one from us: the run queue holds its own. */
    Py_DECREF(a);
    Py_DECREF(b);
    Py_DECREF(c);
    return 0;
}
