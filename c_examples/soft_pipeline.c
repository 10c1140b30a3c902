/* soft_pipeline.c: one pipeline stage written twice, as a soft-switchable state machine and
 * as a plain stack-switched C function, giving the same output.
 *
 * The stage receives temperatures in Celsius on an input channel, converts them and sends
 * Fahrenheit on an output channel; None ends the stream (it is passed on, then the stage
 * ends). Main is both the source and the sink.
 *
 * (a) soft_stage: a soft-switchable function (Stackless 3.7's public form): a static
 *     declaration, a METH_STACKLESS entry function that calls it with
 *     PyStackless_CallFunction, and the function itself, a state machine whose state is
 *     `*step` (where to go on) plus `ob1`, `ob2` (the channels) and `n` (a counter). Each call
 *     that may switch is made with the stackless flag promoted; when it switches soft, the
 *     function returns Py_UnwindToken at once, and the library calls it again later with the
 *     call's result as `retval`.
 * (b) hard_stage: ordinary sequential C, with PyChannel_Receive / PyChannel_Send in a loop.
 *
 * Which one to pick:
 *   soft  - a tasklet blocked in it keeps no C stack: a blocked soft tasklet costs its
 *           tasklet object and frame, a hundred or two bytes (test_soft_scale measures it),
 *           so a million of them are cheap. But the code must be a re-entrant state machine:
 *           no C locals survive a switch, and only the protocol's calls may switch.
 *   hard  - plain C that may block anywhere, at any call depth (inside callbacks, library
 *           code, recursion). Each blocked tasklet keeps a stack: 64 KiB of address space,
 *           of which a page or so is resident.
 * Switching soft also needs soft switching enabled (PyStackless_EnableSoftswitch; it is by
 * default) and the call made at nesting level 0; otherwise the very same state machine
 * simply switches hard, with the same results.
 *
 * Build and run it from the repository root:
 *   cargo build --release
 *   cc -std=c11 -Wall -Iinclude c_examples/soft_pipeline.c -Ltarget/release -lstackless \
 *      -Wl,-rpath,"$PWD/target/release" -o soft_pipeline && ./soft_pipeline
 *
 * Expected output:
 *   -- soft-switchable stage
 *     stage: waiting for input
 *   main: the stage waits without a C stack of its own: yes
 *   main: sending -40 C
 *     stage: -40 C -> -40 F
 *   main: received -40 F
 *   main: sending 0 C
 *     stage: waiting for input
 *     stage: 0 C -> 32 F
 *   main: received 32 F
 *   main: sending 37 C
 *     stage: waiting for input
 *     stage: 37 C -> 98 F
 *   main: received 98 F
 *   main: sending 100 C
 *     stage: waiting for input
 *     stage: 100 C -> 212 F
 *   main: received 212 F
 *   main: sending the end of the stream
 *     stage: waiting for input
 *     stage: end of the stream after 4 values
 *   main: the stream has ended
 *   -- stack-switched stage
 *     stage: waiting for input
 *   main: the stage waits without a C stack of its own: no
 *   main: sending -40 C
 *     stage: -40 C -> -40 F
 *   main: received -40 F
 *   main: sending 0 C
 *     stage: waiting for input
 *     stage: 0 C -> 32 F
 *   main: received 32 F
 *   main: sending 37 C
 *     stage: waiting for input
 *     stage: 37 C -> 98 F
 *   main: received 98 F
 *   main: sending 100 C
 *     stage: waiting for input
 *     stage: 100 C -> 212 F
 *   main: received 212 F
 *   main: sending the end of the stream
 *     stage: waiting for input
 *     stage: end of the stream after 4 values
 *   main: the stream has ended
 *   -- both stages gave: -40 32 98 212
 */
#include <stdio.h>
#include <stdlib.h>

#include "stackless.h"

static void die(const char *what) {
    fprintf(stderr, "%s failed: ", what);
    PyErr_Print();
    exit(1);
}

static long to_fahrenheit(long celsius) { return celsius * 9 / 5 + 32; }

/* ---- (a) the soft-switchable stage ----------------------------------------------------- */

/* Where the state machine goes on: the values of *step. */
enum { STAGE_RECEIVE, STAGE_CONVERT, STAGE_SENT, STAGE_END };

/* The state machine. `retval` is borrowed: first the `arg` of PyStackless_CallFunction
 * (None), later the result of the call that switched (the received value, or the send's
 * None), or NULL with an exception set (e.g. the tasklet was killed while waiting). It
 * returns a new reference (the stage's result), NULL with an exception, or Py_UnwindToken.
 * *ob1 and *ob2 are the channels (the library keeps references to them), *n the count. */
static PyObject *stage_function(PyObject *retval, long *step, PyObject **ob1, PyObject **ob2,
                                PyObject **ob3, long *n, void **any) {
    STACKLESS_GETARG(); /* must come first: `stackless` says whether we may switch soft */
    (void)ob3, (void)any;
    PyChannelObject *in = (PyChannelObject *)*ob1, *out = (PyChannelObject *)*ob2;
    PyObject *value = retval; /* borrowed until we own a result of our own */
    Py_XINCREF(value);        /* from here on `value` is a reference we own */
    for (;;) {
        if (value == NULL) return NULL; /* an exception: let it end the stage */
        switch (*step) {
        case STAGE_RECEIVE:
            *step = STAGE_CONVERT; /* set before the call: a soft switch returns right away */
            Py_DECREF(value);
            printf("  stage: waiting for input\n");
            STACKLESS_PROMOTE_ALL(); /* "I can take Py_UnwindToken" */
            value = PyChannel_Receive(in);
            STACKLESS_ASSERT();
            if (value != NULL && STACKLESS_UNWINDING(value))
                return value; /* switched soft: we are called again with the value */
            break;            /* switched hard (or not at all): the value is here */
        case STAGE_CONVERT: {
            PyObject *result;
            if (value == Py_None) {
                *step = STAGE_END;
                result = Py_NewRef(Py_None); /* pass the end of the stream on */
            } else {
                *step = STAGE_SENT;
                long c = PyLong_AsLong(value), f = to_fahrenheit(c);
                printf("  stage: %ld C -> %ld F\n", c, f);
                result = PyLong_FromLong(f);
                (*n)++;
            }
            Py_DECREF(value);
            STACKLESS_PROMOTE_ALL();
            int rc = PyChannel_Send(out, result); /* 1: switched soft, 0: done, -1: error */
            STACKLESS_ASSERT();
            Py_DECREF(result);
            if (rc < 0) return NULL;
            if (rc == 1) return (PyObject *)Py_UnwindToken;
            value = Py_NewRef(Py_None); /* what the send returns */
            break;
        }
        case STAGE_SENT: /* `value` is the send's result */
            *step = STAGE_RECEIVE;
            break;
        case STAGE_END:
            Py_DECREF(value);
            printf("  stage: end of the stream after %ld values\n", *n);
            return PyLong_FromLong(*n);
        default:
            Py_DECREF(value);
            PyErr_SetString(PyExc_SystemError, "stage_function: bad step");
            return NULL;
        }
    }
}

/* Its declaration: a static object, initialized once with
 * PyStackless_InitFunctionDeclaration. */
static PyStacklessFunctionDeclarationObject stage_declaration = {
    PyObject_HEAD_INIT(NULL) stage_function, "stage", NULL};

/* The entry: a METH_STACKLESS function (so it is told, through the flag, whether it may
 * return Py_UnwindToken) taking (in, out). As a tasklet's body it is called by the
 * library's frame loop; it hands over to the state machine and returns what that returns. */
static PyObject *soft_stage(PyObject *self, PyObject *args) {
    STACKLESS_GETARG();
    (void)self;
    PyObject *in = PyTuple_GetItem(args, 0), *out = PyTuple_GetItem(args, 1);
    STACKLESS_PROMOTE_ALL();
    PyObject *r = PyStackless_CallFunction(&stage_declaration, Py_None, in, out, NULL, 0, NULL);
    STACKLESS_ASSERT();
    return r;
}
static PyMethodDef soft_stage_def = {"soft_stage", soft_stage, METH_VARARGS | METH_STACKLESS,
                                     NULL};

/* ---- (b) the stack-switched stage -------------------------------------------------------- */

static PyObject *hard_stage(PyObject *self, PyObject *args) {
    (void)self;
    PyChannelObject *in = (PyChannelObject *)PyTuple_GetItem(args, 0);
    PyChannelObject *out = (PyChannelObject *)PyTuple_GetItem(args, 1);
    long count = 0;
    for (;;) {
        printf("  stage: waiting for input\n");
        PyObject *value = PyChannel_Receive(in); /* blocks here, keeping this C stack */
        if (value == NULL) return NULL;
        if (value == Py_None) {
            Py_DECREF(value);
            break;
        }
        long c = PyLong_AsLong(value), f = to_fahrenheit(c);
        Py_DECREF(value);
        printf("  stage: %ld C -> %ld F\n", c, f);
        PyObject *result = PyLong_FromLong(f);
        int rc = PyChannel_Send(out, result);
        Py_DECREF(result);
        if (rc < 0) return NULL;
        count++;
    }
    if (PyChannel_Send(out, Py_None) < 0) return NULL; /* pass the end of the stream on */
    printf("  stage: end of the stream after %ld values\n", count);
    return PyLong_FromLong(count);
}
static PyMethodDef hard_stage_def = {"hard_stage", hard_stage, METH_VARARGS, NULL};

/* ---- main: source and sink --------------------------------------------------------------- */

static const long inputs[] = {-40, 0, 37, 100};
enum { N_INPUTS = sizeof inputs / sizeof inputs[0] };

/* Runs one pipeline through the stage `def`; stores the results in `results`. */
static void run_pipeline(const char *title, PyMethodDef *def, long *results) {
    printf("-- %s\n", title);
    PyChannelObject *in = PyChannel_New(NULL), *out = PyChannel_New(NULL);
    PyObject *func = PyCFunction_New(def, NULL);
    if (in == NULL || out == NULL || func == NULL) die("creating the pipeline");
    PyTaskletObject *stage = PyTasklet_New(NULL, func);
    PyObject *args = PyTuple_New(2);
    if (stage == NULL || args == NULL) die("PyTasklet_New");
    PyTuple_SetItem(args, 0, Py_NewRef((PyObject *)in)); /* SetItem steals a reference */
    PyTuple_SetItem(args, 1, Py_NewRef((PyObject *)out));
    if (PyTasklet_Setup(stage, args, NULL) < 0) die("PyTasklet_Setup");
    Py_DECREF(args);

    /* Start the stage: it runs until it waits for input. */
    if (PyTasklet_Run(stage) < 0) die("PyTasklet_Run");
    printf("main: the stage waits without a C stack of its own: %s\n",
           PyTasklet_Restorable(stage) == 1 ? "yes" : "no");

    for (int i = 0; i < N_INPUTS; i++) {
        printf("main: sending %ld C\n", inputs[i]);
        PyObject *v = PyLong_FromLong(inputs[i]);
        if (PyChannel_Send(in, v) < 0) die("PyChannel_Send");
        Py_DECREF(v);
        PyObject *r = PyChannel_Receive(out);
        if (r == NULL) die("PyChannel_Receive");
        results[i] = PyLong_AsLong(r);
        printf("main: received %ld F\n", results[i]);
        Py_DECREF(r);
    }
    printf("main: sending the end of the stream\n");
    if (PyChannel_Send(in, Py_None) < 0) die("PyChannel_Send");
    PyObject *end = PyChannel_Receive(out);
    if (end == NULL) die("PyChannel_Receive");
    Py_DECREF(end);
    /* The stage is runnable again (its send completed): let it finish. */
    PyObject *r = PyStackless_RunWatchdog(0);
    if (r == NULL) die("PyStackless_RunWatchdog");
    Py_DECREF(r);
    printf("main: the stream has %s\n", PyTasklet_Alive(stage) ? "not ended?" : "ended");

    Py_DECREF(stage);
    Py_DECREF(func);
    Py_DECREF(in);
    Py_DECREF(out);
}

int main(void) {
    if (PyStackless_InitFunctionDeclaration(&stage_declaration, NULL, NULL) < 0)
        die("PyStackless_InitFunctionDeclaration");
    long soft_results[N_INPUTS], hard_results[N_INPUTS];
    run_pipeline("soft-switchable stage", &soft_stage_def, soft_results);
    run_pipeline("stack-switched stage", &hard_stage_def, hard_results);
    printf("-- both stages gave:");
    for (int i = 0; i < N_INPUTS; i++) {
        if (soft_results[i] != hard_results[i]) {
            printf(" (they differ!)\n");
            return 1;
        }
        printf(" %ld", soft_results[i]);
    }
    printf("\n");
    return 0;
}
