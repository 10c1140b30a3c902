/* wait_for_result.c: a tasklet waits for the result of an asynchronous request.
 *
 * Tasklets let code that waits for something (a reply from the network, a disk read, a
 * timer) be written as a plain function call that returns the result, while the rest of the
 * program goes on. This program builds such a "wait for the result" call from three
 * primitives, without any channel:
 *   - PyStackless_Schedule(request, 1): with remove = 1 the calling tasklet leaves the run
 *     queue. It is paused: neither runnable nor blocked, it waits until somebody puts it
 *     back. Its first argument is kept in the tasklet's tempval, the tasklet's transfer
 *     slot, and is what the call will return when the tasklet resumes...
 *   - PyTasklet_SetTempval(t, result): ...unless somebody replaces the tempval meanwhile:
 *     then the call returns that instead. This is how the answer gets in;
 *   - PyTasklet_Insert(t): puts the paused tasklet back at the end of the run queue; it
 *     resumes at the next scheduler run.
 * A failure is delivered with PyTasklet_Throw(t, 1, ...) instead: with pending = 1 it makes
 * the tasklet runnable and the exception is raised from its PyStackless_Schedule call when
 * it runs.
 *
 * The "service" here is a simulated user directory whose lookups take time: looking up user
 * n is answered n ticks after it was asked. main() runs a loop, one pass per tick: it lets
 * the service answer the requests that are due, then runs the scheduler so that the
 * tasklets that got their answers continue. Answers come back in a different order from the
 * questions, and a tasklet can ask several questions one after the other in straight-line
 * code.
 *
 * Build and run it from the repository root:
 *   cargo build --release
 *   cc -std=c11 -Wall -Iinclude c_examples/wait_for_result.c -Ltarget/release -lstackless \
 *      -Wl,-rpath,"$PWD/target/release" -o wait_for_result && ./wait_for_result
 *
 * Expected output:
 *   main: 3 tasklets created, run count 4
 *   T1: asking for user 2
 *   T2: asking for user 1
 *   T3: asking for user 4
 *   main: tick 0: 3 requests pending, run count 1; T1 is paused: yes, its tempval is 2
 *   main: tick 1: answering T2: user 1 is 'ada'
 *   T2: user 1 is ada
 *   main: tick 2: answering T1: user 2 is 'grace'
 *   T1: user 2 is grace
 *   T1: asking for user 1
 *   main: tick 3: answering T1: user 1 is 'ada'
 *   T1: user 1 is ada
 *   main: tick 4: answering T3: user 4 is unknown, raising KeyError
 *   T3: lookup failed: KeyError: 4
 *   main: no request pending, run count 1
 */
#include <stdio.h>
#include <stdlib.h>

#include "stackless.h"

static void die(const char *what) {
    fprintf(stderr, "%s failed: ", what);
    PyErr_Print();
    exit(1);
}

/* ---- The simulated asynchronous service ---------------------------------------------------
 * A pending request remembers the waiting tasklet, a name for the log and when the answer
 * is due. The question itself is not stored here: it travels in the tasklet's tempval. */
struct request {
    PyTaskletObject *tasklet; /* a reference we own: see service_submit */
    const char *who;
    long due_tick;
};

static struct request pending[8];
static int n_pending;
static long current_tick;

static const char *user_names[] = {NULL, "ada", "grace", "linus"}; /* users 1 to 3 */

/* Registers a request from the calling tasklet for user `id`. Returns 0, or -1 with an
 * exception set. */
static int service_submit(const char *who, long id) {
    if (n_pending == (int)(sizeof pending / sizeof pending[0])) {
        PyErr_SetString(PyExc_RuntimeError, "too many pending requests");
        return -1;
    }
    /* A paused tasklet is in no queue at all: whoever is going to resume it must hold a
     * reference to it, or it would be destroyed (and killed) when the last one goes. */
    PyObject *me = PyStackless_GetCurrent(); /* a new reference */
    pending[n_pending].tasklet = (PyTaskletObject *)me;
    pending[n_pending].who = who;
    pending[n_pending].due_tick = current_tick + id; /* looking up user n takes n ticks */
    n_pending++;
    return 0;
}

/* Answers the requests that are due at `tick`: the answer goes into the tasklet's tempval
 * and the tasklet goes back into the run queue. Runs in main, between scheduler runs. */
static void service_poll(long tick) {
    for (int i = 0; i < n_pending;) {
        struct request req = pending[i];
        if (req.due_tick != tick) {
            i++;
            continue;
        }
        pending[i] = pending[--n_pending]; /* take it off the list */

        /* While the tasklet is paused, its tempval is what it passed to
         * PyStackless_Schedule: the user id it asked for. */
        PyObject *query = PyTasklet_GetTempval(req.tasklet); /* new reference */
        if (query == NULL) die("PyTasklet_GetTempval");
        long id = PyLong_AsLong(query);

        if (id >= 1 && id <= 3) {
            PyObject *answer = PyUnicode_FromString(user_names[id]);
            if (answer == NULL) die("PyUnicode_FromString");
            printf("main: tick %ld: answering %s: user %ld is '%s'\n", tick, req.who, id,
                   user_names[id]);
            /* Replace the tempval with the answer (SetTempval takes its own reference),
             * then make the tasklet runnable again. */
            if (PyTasklet_SetTempval(req.tasklet, answer) < 0) die("PyTasklet_SetTempval");
            if (PyTasklet_Insert(req.tasklet) < 0) die("PyTasklet_Insert");
            Py_DECREF(answer);
        } else {
            printf("main: tick %ld: answering %s: user %ld is unknown, raising KeyError\n", tick,
                   req.who, id);
            /* pending = 1: the tasklet becomes runnable and raises KeyError(id) from its
             * PyStackless_Schedule call when it runs; main goes on at once. */
            if (PyTasklet_Throw(req.tasklet, 1, PyExc_KeyError, query, NULL) < 0) {
                die("PyTasklet_Throw");
            }
        }
        Py_DECREF(query);
        Py_DECREF(req.tasklet); /* the run queue holds the tasklet now */
    }
}

/* ---- The tasklets' side: a call that waits for the answer --------------------------------
 * Asks the service for user `id`, pauses the calling tasklet until the answer is there and
 * returns it: a new reference, or NULL with an exception set (the lookup failed, or the
 * tasklet was killed while it waited). */
static PyObject *lookup_user(const char *who, long id) {
    printf("%s: asking for user %ld\n", who, id);
    if (service_submit(who, id) < 0) return NULL;
    PyObject *query = PyLong_FromLong(id);
    if (query == NULL) return NULL; /* (a real program would withdraw the request here) */
    /* Leave the run queue, with the question in our tempval. The scheduler goes on with
     * the other tasklets; when none is left, the scheduler run in main returns. */
    PyObject *answer = PyStackless_Schedule(query, 1);
    Py_DECREF(query);
    return answer;
}

/* client(name, id, ...): looks up each user id in turn and prints the answers. */
static PyObject *client(PyObject *self, PyObject *args) {
    (void)self;
    const char *who = PyUnicode_AsUTF8(PyTuple_GetItem(args, 0));
    if (who == NULL) return NULL;
    for (Py_ssize_t i = 1; i < PyTuple_Size(args); i++) {
        long id = PyLong_AsLong(PyTuple_GetItem(args, i));
        PyObject *name = lookup_user(who, id);
        if (name == NULL) {
            if (!PyErr_ExceptionMatches(PyExc_KeyError)) return NULL;
            PyObject *exc = PyErr_GetRaisedException(); /* new reference; clears it */
            PyObject *text = PyObject_Str(exc);
            if (text == NULL) return NULL;
            printf("%s: lookup failed: KeyError: %s\n", who, PyUnicode_AsUTF8(text));
            Py_DECREF(text);
            Py_DECREF(exc);
            continue;
        }
        printf("%s: user %ld is %s\n", who, id, PyUnicode_AsUTF8(name));
        Py_DECREF(name);
    }
    Py_RETURN_NONE;
}

static PyMethodDef client_def = {"client", client, METH_VARARGS, NULL};

/* Starts client(who, ids[0], ..., ids[n-1]) in a new tasklet. Returns a new reference. */
static PyTaskletObject *start_client(PyObject *func, const char *who, const long *ids, int n) {
    PyObject *args = PyTuple_New(1 + n);
    if (args == NULL) die("PyTuple_New");
    PyTuple_SetItem(args, 0, PyUnicode_FromString(who));
    for (int i = 0; i < n; i++) PyTuple_SetItem(args, 1 + i, PyLong_FromLong(ids[i]));
    PyTaskletObject *t = PyTasklet_New(NULL, func);
    if (t == NULL) die("PyTasklet_New");
    if (PyTasklet_Setup(t, args, NULL) < 0) die("PyTasklet_Setup");
    Py_DECREF(args);
    return t;
}

static void run_scheduler(void) {
    PyObject *r = PyStackless_RunWatchdog(0);
    if (r == NULL) die("PyStackless_RunWatchdog");
    Py_DECREF(r);
}

int main(void) {
    PyObject *func = PyCFunction_New(&client_def, NULL);
    if (func == NULL) die("PyCFunction_New");
    static const long t1_ids[] = {2, 1}, t2_ids[] = {1}, t3_ids[] = {4};
    PyTaskletObject *t1 = start_client(func, "T1", t1_ids, 2);
    PyTaskletObject *t2 = start_client(func, "T2", t2_ids, 1);
    PyTaskletObject *t3 = start_client(func, "T3", t3_ids, 1);
    Py_DECREF(func);
    printf("main: 3 tasklets created, run count %d\n", PyStackless_GetRunCount());

    /* Tick 0: every client runs until it waits for its first answer. */
    run_scheduler();
    PyObject *t1_tempval = PyTasklet_GetTempval(t1);
    if (t1_tempval == NULL) die("PyTasklet_GetTempval");
    printf("main: tick 0: %d requests pending, run count %d; "
           "T1 is paused: %s, its tempval is %ld\n",
           n_pending, PyStackless_GetRunCount(), PyTasklet_Paused(t1) ? "yes" : "no",
           PyLong_AsLong(t1_tempval));
    Py_DECREF(t1_tempval);
    /* We do not need our own references any more: the service holds the paused tasklets. */
    Py_DECREF(t1);
    Py_DECREF(t2);
    Py_DECREF(t3);

    /* The main loop: one pass per tick while the service has work. */
    while (n_pending > 0) {
        current_tick++;
        service_poll(current_tick);
        run_scheduler(); /* the answered tasklets continue until they wait again or end */
    }
    printf("main: no request pending, run count %d\n", PyStackless_GetRunCount());
    return 0;
}
