/* safe_tasklets.c: what happens to exceptions a tasklet does not catch, and how to handle them.
 *
 * A tasklet body is a C function that returns NULL with an exception set when it fails. If
 * nothing catches that exception, the tasklet dies and, by default, the exception is raised
 * in main: the scheduler run (PyStackless_RunWatchdog) stops at once and returns NULL with
 * it, while the other tasklets stay queued where they were; a later run continues them.
 * That is often not what a program wants: one failing tasklet should not stop the others.
 * This program shows, with the same three tasklets (A and C take two steps each, "bad"
 * fails with a ValueError):
 *   1. the default behaviour described above;
 *   2. a "safe" wrapper: every tasklet runs its body through a small C function that calls
 *      the body, logs any exception it fails with and returns normally, so the tasklet
 *      ends cleanly and the run goes on. It catches Exception and its subclasses only:
 *      TaskletExit (the exception a killed tasklet gets, a subclass of SystemExit) must
 *      still end the tasklet;
 *   3. the error handler (PyStackless_SetErrorHandler): one callable, called for every
 *      tasklet that dies of an uncaught exception, from inside the dying tasklet;
 *   4. killing a tasklet (PyTasklet_Kill) lets it clean up: the call it is blocked in
 *      fails with TaskletExit, the body releases what it holds and returns NULL.
 *
 * Build and run it from the repository root:
 *   cargo build --release
 *   cc -std=c11 -Wall -Iinclude c_examples/safe_tasklets.c -Ltarget/release -lstackless \
 *      -Wl,-rpath,"$PWD/target/release" -o safe_tasklets && ./safe_tasklets
 *
 * Expected output:
 *   -- 1. by default an uncaught exception stops the scheduler run
 *   A: step 1
 *   bad: raising ValueError
 *   main: the run failed with ValueError: bad data; run count 3 (main, A and C)
 *   C: step 1
 *   A: step 2
 *   C: step 2
 *   main: the second run finished, run count 1
 *   -- 2. a safe wrapper logs the exception and the run goes on
 *   A: step 1
 *   bad: raising ValueError
 *   safe: tasklet bad failed with ValueError: bad data (logged, the tasklet ends normally)
 *   C: step 1
 *   A: step 2
 *   C: step 2
 *   main: the run finished, run count 1
 *   -- 3. an error handler does the same for every tasklet
 *   A: step 1
 *   bad: raising ValueError
 *   handler: ValueError: bad data (called in the dying tasklet: yes)
 *   C: step 1
 *   A: step 2
 *   C: step 2
 *   main: the run finished, run count 1
 *   -- 4. killing a tasklet runs its cleanup
 *   listener: connection open, waiting for messages
 *   listener: got 'hello'
 *   main: the listener waits (balance -1); killing it
 *   listener: receive failed with TaskletExit, closing the connection
 *   main: kill returned, listener alive: no, balance 0
 */
#include <stdio.h>
#include <stdlib.h>

#include "stackless.h"

static void die(const char *what) {
    fprintf(stderr, "%s failed: ", what);
    PyErr_Print();
    exit(1);
}

/* Prints "Type: message" (no newline) for an exception class and instance: the class's
 * __name__ attribute, and str() of the instance, which is its message. */
static void print_exception(PyObject *type, PyObject *value) {
    PyObject *name = PyObject_GetAttrString(type, "__name__");
    PyObject *text = PyObject_Str(value);
    if (name == NULL || text == NULL) die("PyObject_GetAttrString/PyObject_Str");
    printf("%s: %s", PyUnicode_AsUTF8(name), PyUnicode_AsUTF8(text));
    Py_DECREF(name);
    Py_DECREF(text);
}

/* ---- The tasklet bodies ------------------------------------------------------------------ */

/* stepper(name): prints two steps, yielding between them. */
static PyObject *stepper(PyObject *self, PyObject *name) { /* METH_O: one argument */
    (void)self;
    for (int step = 1; step <= 2; step++) {
        printf("%s: step %d\n", PyUnicode_AsUTF8(name), step);
        if (step == 2) break;
        PyObject *r = PyStackless_Schedule(Py_None, 0);
        if (r == NULL) return NULL;
        Py_DECREF(r);
    }
    Py_RETURN_NONE;
}

/* bad(name): fails at once. */
static PyObject *bad(PyObject *self, PyObject *name) {
    (void)self;
    printf("%s: raising ValueError\n", PyUnicode_AsUTF8(name));
    PyErr_SetString(PyExc_ValueError, "bad data");
    return NULL; /* the tasklet ends with this exception */
}

static PyMethodDef stepper_def = {"stepper", stepper, METH_O, NULL};
static PyMethodDef bad_def = {"bad", bad, METH_O, NULL};

/* ---- The safe wrapper -------------------------------------------------------------------
 * safe_call(body, name): calls body(name). If that fails with an Exception, the exception is
 * logged and cleared, and the wrapper returns None: as far as the scheduler can see, the
 * tasklet ended normally. Anything else (TaskletExit, SystemExit, ...) is passed on. */
static PyObject *safe_call(PyObject *self, PyObject *args) {
    (void)self;
    PyObject *body = PyTuple_GetItem(args, 0); /* borrowed */
    PyObject *name = PyTuple_GetItem(args, 1);
    if (body == NULL || name == NULL) return NULL;

    PyObject *result = PyObject_CallOneArg(body, name);
    if (result != NULL) return result;

    if (!PyErr_ExceptionMatches(PyExc_Exception)) return NULL;
    PyObject *exc = PyErr_GetRaisedException(); /* new reference; the indicator is cleared */
    printf("safe: tasklet %s failed with ", PyUnicode_AsUTF8(name));
    print_exception((PyObject *)Py_TYPE(exc), exc);
    printf(" (logged, the tasklet ends normally)\n");
    Py_DECREF(exc);
    Py_RETURN_NONE;
}

static PyMethodDef safe_call_def = {"safe_call", safe_call, METH_VARARGS, NULL};

/* ---- Starting tasklets ------------------------------------------------------------------- */

/* The three tasklets of parts 1-3, in this order: A, bad, C. */
static PyTaskletObject *the_bad_tasklet; /* borrowed; the run queue keeps it alive */

/* Starts a tasklet running def's function on str(name). With `safe`, the tasklet runs
 * safe_call(function, name) instead. */
static void spawn(PyMethodDef *def, const char *name, int safe) {
    PyObject *body = PyCFunction_New(def, NULL);
    PyObject *name_obj = PyUnicode_FromString(name);
    if (body == NULL || name_obj == NULL) die("PyCFunction_New/PyUnicode_FromString");

    PyObject *func, *args;
    if (safe) {
        func = PyCFunction_New(&safe_call_def, NULL);
        if (func == NULL) die("PyCFunction_New");
        args = PyTuple_New(2);
        if (args == NULL) die("PyTuple_New");
        PyTuple_SetItem(args, 0, body); /* steals our references to body and name_obj */
        PyTuple_SetItem(args, 1, name_obj);
    } else {
        func = body;
        args = PyTuple_New(1);
        if (args == NULL) die("PyTuple_New");
        PyTuple_SetItem(args, 0, name_obj);
    }

    PyTaskletObject *t = PyTasklet_New(NULL, func);
    if (t == NULL) die("PyTasklet_New");
    if (PyTasklet_Setup(t, args, NULL) < 0) die("PyTasklet_Setup");
    if (def == &bad_def) the_bad_tasklet = t;
    Py_DECREF(t); /* scheduled: the run queue holds it */
    Py_DECREF(args);
    Py_DECREF(func);
}

static void spawn_three(int safe) {
    spawn(&stepper_def, "A", safe);
    spawn(&bad_def, "bad", safe);
    spawn(&stepper_def, "C", safe);
}

/* Runs the scheduler and expects it to finish normally. */
static void run_ok(const char *what) {
    PyObject *r = PyStackless_RunWatchdog(0);
    if (r == NULL) die("PyStackless_RunWatchdog");
    Py_DECREF(r);
    printf("main: %s, run count %d\n", what, PyStackless_GetRunCount());
}

/* ---- Part 3: the error handler ------------------------------------------------------------
 * Called as handler(type, value, traceback) for a tasklet dying of an uncaught exception
 * (other than TaskletExit), while that tasklet is still the current one. Returning normally
 * means "handled"; returning NULL with an exception would send that one to main instead. */
static PyObject *error_handler(PyObject *self, PyObject *args) {
    (void)self;
    PyObject *type = PyTuple_GetItem(args, 0);
    PyObject *value = PyTuple_GetItem(args, 1);
    if (type == NULL || value == NULL) return NULL;

    PyObject *current = PyStackless_GetCurrent(); /* new reference */
    printf("handler: ");
    print_exception(type, value);
    printf(" (called in the dying tasklet: %s)\n",
           current == (PyObject *)the_bad_tasklet ? "yes" : "no");
    Py_DECREF(current);
    Py_RETURN_NONE;
}

static PyMethodDef error_handler_def = {"error_handler", error_handler, METH_VARARGS, NULL};

/* ---- Part 4: a tasklet with something to clean up ---------------------------------------- */

/* listener(channel): holds a "connection" (here just a buffer) and receives messages until
 * its receive fails. Whatever ends it, it releases the connection. */
static PyObject *listener(PyObject *self, PyObject *channel) {
    (void)self;
    PyChannelObject *ch = (PyChannelObject *)channel;
    char *connection = PyMem_Malloc(4096);
    if (connection == NULL) return NULL;
    printf("listener: connection open, waiting for messages\n");

    for (;;) {
        PyObject *msg = PyChannel_Receive(ch);
        if (msg == NULL) break; /* an exception: leave the loop and clean up */
        printf("listener: got '%s'\n", PyUnicode_AsUTF8(msg));
        Py_DECREF(msg);
    }

    /* A killed tasklet gets TaskletExit raised from the call it was blocked in. */
    if (PyErr_ExceptionMatches(PyExc_TaskletExit)) {
        printf("listener: receive failed with TaskletExit, closing the connection\n");
    }
    PyMem_Free(connection);
    /* Return NULL with the exception still set: TaskletExit ends the tasklet quietly (it
     * is neither raised in main nor given to the error handler). */
    return NULL;
}

static PyMethodDef listener_def = {"listener", listener, METH_O, NULL};

int main(void) {
    /* ---- 1. The default --------------------------------------------------------------- */
    puts("-- 1. by default an uncaught exception stops the scheduler run");
    spawn_three(0);
    PyObject *r = PyStackless_RunWatchdog(0);
    if (r != NULL) {
        fprintf(stderr, "the run should have failed\n");
        return 1;
    }
    /* The exception of the dead tasklet is now main's: take it and report it. */
    PyObject *exc = PyErr_GetRaisedException();
    printf("main: the run failed with ");
    print_exception((PyObject *)Py_TYPE(exc), exc);
    printf("; run count %d (main, A and C)\n", PyStackless_GetRunCount());
    Py_DECREF(exc);
    /* A and C are still queued: the next run continues them. */
    run_ok("the second run finished");

    /* ---- 2. A safe wrapper around every body --------------------------------------------- */
    puts("-- 2. a safe wrapper logs the exception and the run goes on");
    spawn_three(1);
    run_ok("the run finished");

    /* ---- 3. The error handler ---------------------------------------------------------- */
    puts("-- 3. an error handler does the same for every tasklet");
    PyObject *handler = PyCFunction_New(&error_handler_def, NULL);
    if (handler == NULL) die("PyCFunction_New");
    PyObject *previous = PyStackless_SetErrorHandler(handler); /* returns the old one */
    if (previous == NULL) die("PyStackless_SetErrorHandler");
    Py_DECREF(previous); /* None: there was none */
    Py_DECREF(handler);  /* the library keeps its own reference */

    spawn_three(0);
    run_ok("the run finished");

    previous = PyStackless_SetErrorHandler(NULL); /* remove it; we get our handler back */
    if (previous == NULL) die("PyStackless_SetErrorHandler");
    Py_DECREF(previous);

    /* ---- 4. Kill and cleanup ----------------------------------------------------------- */
    puts("-- 4. killing a tasklet runs its cleanup");
    PyChannelObject *ch = PyChannel_New(NULL);
    if (ch == NULL) die("PyChannel_New");
    PyObject *func = PyCFunction_New(&listener_def, NULL);
    if (func == NULL) die("PyCFunction_New");
    PyTaskletObject *t = PyTasklet_New(NULL, func);
    if (t == NULL) die("PyTasklet_New");
    PyObject *args = PyTuple_New(1);
    if (args == NULL) die("PyTuple_New");
    Py_INCREF(ch);
    PyTuple_SetItem(args, 0, (PyObject *)ch);
    if (PyTasklet_Setup(t, args, NULL) < 0) die("PyTasklet_Setup");
    Py_DECREF(args);
    Py_DECREF(func);

    r = PyStackless_RunWatchdog(0); /* the listener starts and waits on the channel */
    if (r == NULL) die("PyStackless_RunWatchdog");
    Py_DECREF(r);

    PyObject *hello = PyUnicode_FromString("hello");
    if (hello == NULL) die("PyUnicode_FromString");
    /* Default preference: the listener runs at once, prints, and waits again; then our
     * send returns. */
    if (PyChannel_Send(ch, hello) < 0) die("PyChannel_Send");
    Py_DECREF(hello);

    printf("main: the listener waits (balance %d); killing it\n", PyChannel_GetBalance(ch));
    /* The listener's receive fails with TaskletExit; it cleans up and dies before
     * PyTasklet_Kill returns. */
    if (PyTasklet_Kill(t) < 0) die("PyTasklet_Kill");
    printf("main: kill returned, listener alive: %s, balance %d\n",
           PyTasklet_Alive(t) ? "yes" : "no", PyChannel_GetBalance(ch));

    Py_DECREF(t);
    Py_DECREF(ch);
    return 0;
}
