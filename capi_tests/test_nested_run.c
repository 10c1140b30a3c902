/* test_nested_run.c: run() called from tasklets, nested runs and the watchdog stack
 * (catalogue rows B126-B130, reference/stackless-semantics.md §4.2, §4.5 nesting, §4.6,
 * §5.11) and PyStackless_GetThreadInfo of the own thread (B161).
 *
 * Python -> C: `stackless.run()` PyStackless_RunWatchdog(0) (SPEC §6: callable from plain C
 * main() and from any tasklet; runs nest); `schedule()` PyStackless_Schedule(None, 0);
 * `t.run()` PyTasklet_Run; `stackless.main` PyStackless_GetMain; `get_thread_info(id)`
 * PyStackless_GetThreadInfo(id).
 * Rows run with soft switching enabled and disabled. */
#include "tasklet_util.h"

static long done;

/* ---- tasklet bodies ------------------------------------------------------------------- */

/* worker: schedule(); done += 1 */
static PyObject *worker(PyObject *self, PyObject *args) {
    (void)self;
    (void)args;
    log_event("worker:start");
    PyObject *r = PyStackless_Schedule(Py_None, 0);
    if (r == NULL) return NULL;
    Py_DECREF(r);
    done++;
    log_event("worker:done");
    Py_RETURN_NONE;
}
static PyMethodDef worker_def = {"worker", worker, METH_NOARGS, NULL};

/* runner: run(); logs that it returned (and main.paused) */
static PyObject *runner(PyObject *self, PyObject *args) {
    (void)self;
    (void)args;
    log_event("runner:run");
    PyObject *r = PyStackless_RunWatchdog(0);
    if (r == NULL) return NULL;
    int is_none = r == Py_None;
    Py_DECREF(r);
    PyTaskletObject *m = get_main();
    log_eventf("runner:returned main.paused=%ld", PyTasklet_Paused(m));
    Py_DECREF(m);
    if (!is_none) log_event("runner:run-did-not-return-None");
    done++;
    Py_RETURN_NONE;
}
static PyMethodDef runner_def = {"runner", runner, METH_NOARGS, NULL};

/* ---- B126 ----------------------------------------------------------------------------- */

/* B126: The worker does `schedule(); done += 1`. A runner tasklet calls `run()`. Main loops
 * `schedule()` until done == 1. The runner's `run()` has not returned, because main stayed
 * runnable. Then `t.run()` makes the runner's run return. */
static void test_B126(void) {
    log_reset();
    done = 0;
    PyTaskletObject *w = spawn(&worker_def, NULL);
    PyTaskletObject *r = spawn(&runner_def, NULL);
    for (int i = 0; done != 1 && i < 10; i++) {
        log_event("main:schedule");
        PyObject *v = PyStackless_Schedule(Py_None, 0);
        CHECK(v == Py_None);
        Py_XDECREF(v);
    }
    CHECK_EQ_INT(done, 1);
    CHECK_LOG("main:schedule worker:start runner:run main:schedule worker:done");
    /* the runner waits inside run(): alive, paused (not runnable) */
    CHECK_EQ_INT(PyTasklet_Alive(r), 1);
    CHECK_EQ_INT(PyTasklet_Paused(r), 1);
    CHECK_EQ_INT(PyTasklet_Scheduled(r), 0);
    CHECK_EQ_INT(PyTasklet_Alive(w), 0);
    CHECK_EQ_INT(PyStackless_GetRunCount(), 1);
    /* SPEC §7: a nested RunWatchdog is a library-mediated nested call */
    CHECK_EQ_INT(PyTasklet_GetNestingLevel(r), 1);
    CHECK_EQ_INT(PyTasklet_Run(r), 0);
    CHECK_LOG("main:schedule worker:start runner:run main:schedule worker:done "
              "runner:returned main.paused=0");
    CHECK_EQ_INT(done, 2);
    CHECK_EQ_INT(PyTasklet_Alive(r), 0);
    finish(w);
    finish(r);
    Py_XDECREF(w);
    Py_XDECREF(r);
    check_main_alone();
}

/* ---- B127 ----------------------------------------------------------------------------- */

/* runner_send(ch): run(); done += 1; ch.send("x") */
static PyObject *runner_send(PyObject *self, PyObject *args) {
    (void)self;
    PyObject *ch = PyTuple_GetItem(args, 0);
    if (ch == NULL) return NULL;
    log_event("runner:run");
    PyObject *r = PyStackless_RunWatchdog(0);
    if (r == NULL) return NULL;
    Py_DECREF(r);
    log_eventf("runner:returned done=%ld", done);
    done++;
    PyObject *x = PyUnicode_FromString("x");
    int rc = PyChannel_Send(CH(ch), x);
    Py_DECREF(x);
    if (rc < 0) return NULL;
    log_event("runner:sent");
    Py_RETURN_NONE;
}
static PyMethodDef runner_send_def = {"runner_send", runner_send, METH_VARARGS, NULL};

/* B127: Main blocks on c. The runner's `run()` returns once the worker has finished
 * (done == 2), then it sends to c and main wakes. (Here done counts the worker's and then
 * the runner's increment.) */
static void test_B127(void) {
    log_reset();
    done = 0;
    PyChannelObject *c = PyChannel_New(NULL);
    PyTaskletObject *w = spawn(&worker_def, NULL);
    PyTaskletObject *r = spawn(&runner_send_def, tuple_steal(1, O(c)));
    PyObject *v = PyChannel_Receive(c);
    CHECK(v != NULL);
    if (v != NULL) {
        PyObject *s = PyObject_Str(v);
        char buf[64];
        snprintf(buf, sizeof buf, "main:got %s done=%ld", s ? PyUnicode_AsUTF8(s) : "?", done);
        Py_XDECREF(s);
        log_event(buf);
        Py_DECREF(v);
    }
    CHECK_LOG("worker:start runner:run worker:done runner:returned done=1 main:got x done=2");
    CHECK_EQ_INT(done, 2);
    CHECK_EQ_INT(PyTasklet_Alive(w), 0);
    /* the runner's send returns when it runs again (pref -1: main ran first) */
    CHECK_EQ_INT(PyTasklet_Scheduled(r), 1);
    CHECK_EQ_INT(PyStackless_GetRunCount(), 2);
    run_all();
    CHECK_LOG("worker:start runner:run worker:done runner:returned done=1 main:got x done=2 "
              "runner:sent");
    CHECK_EQ_INT(PyTasklet_Alive(r), 0);
    CHECK_EQ_INT(PyChannel_GetBalance(c), 0);
    finish(w);
    finish(r);
    Py_XDECREF(w);
    Py_XDECREF(r);
    Py_XDECREF(c);
    check_main_alone();
}

/* ---- B128 ----------------------------------------------------------------------------- */

/* B128: Main calls `run()` and the runner calls `run()` too. The inner run returns first,
 * with `main.paused == True`; then the outer one returns. done == 2. */
static void test_B128(void) {
    log_reset();
    done = 0;
    PyTaskletObject *w = spawn(&worker_def, NULL);
    PyTaskletObject *r = spawn(&runner_def, NULL);
    PyObject *v = PyStackless_RunWatchdog(0);
    CHECK(v == Py_None);
    Py_XDECREF(v);
    log_event("main:returned");
    CHECK_LOG("worker:start runner:run worker:done runner:returned main.paused=1 "
              "main:returned");
    CHECK_EQ_INT(done, 2);
    CHECK_EQ_INT(PyTasklet_Alive(w), 0);
    CHECK_EQ_INT(PyTasklet_Alive(r), 0);
    finish(w);
    finish(r);
    Py_XDECREF(w);
    Py_XDECREF(r);
    check_main_alone();
}

/* ---- B129 ----------------------------------------------------------------------------- */

static PyObject *bad(PyObject *self, PyObject *args) {
    (void)self;
    (void)args;
    log_event("bad:raise");
    PyErr_SetString(PyExc_ZeroDivisionError, "inner");
    return NULL;
}
static PyMethodDef bad_def = {"bad", bad, METH_NOARGS, NULL};

/* runner_catch: creates `bad`, calls run(), logs what run() gave. */
static PyObject *runner_catch(PyObject *self, PyObject *args) {
    (void)self;
    (void)args;
    PyTaskletObject *b = spawn(&bad_def, NULL);
    Py_XDECREF(b);
    log_event("runner:run");
    PyObject *r = PyStackless_RunWatchdog(0);
    if (r != NULL) {
        log_event(r == Py_None ? "runner:returned None" : "runner:returned ?");
        Py_DECREF(r);
        Py_RETURN_NONE;
    }
    PyObject *exc = PyErr_GetRaisedException();
    PyObject *s = exc ? PyObject_Str(exc) : NULL;
    char buf[128];
    snprintf(buf, sizeof buf, "runner:got %s(%s)", exc ? PyType_GetTpName(Py_TYPE(exc)) : "?",
             s ? PyUnicode_AsUTF8(s) : "?");
    Py_XDECREF(s);
    Py_XDECREF(exc);
    log_event(buf);
    Py_RETURN_NONE;
}
static PyMethodDef runner_catch_def = {"runner_catch", runner_catch, METH_NOARGS, NULL};

/* B129: An error raised by a tasklet created inside the inner run goes to the inner
 * `run()` (the innermost watchdog), not to main. */
static void test_B129(void) {
    log_reset();
    PyTaskletObject *r = spawn(&runner_catch_def, NULL);
    PyObject *v = PyStackless_RunWatchdog(0);
    CHECK(v == Py_None);
    Py_XDECREF(v);
    CHECK_NO_EXC();
    if (PyErr_Occurred()) PyErr_Clear();
    log_event("main:returned");
    CHECK_LOG("runner:run bad:raise runner:got ZeroDivisionError(inner) main:returned");
    CHECK_EQ_INT(PyTasklet_Alive(r), 0);
    finish(r);
    Py_XDECREF(r);
    check_main_alone();
}

/* ---- B130 ----------------------------------------------------------------------------- */

/* wakes_main: done += 1; stackless.main.run(); ...; done += 1 */
static PyObject *wakes_main(PyObject *self, PyObject *args) {
    (void)self;
    (void)args;
    done++;
    log_event("w:main.run");
    PyTaskletObject *m = get_main();
    int rc = PyTasklet_Run(m);
    Py_DECREF(m);
    if (rc < 0) return NULL;
    log_eventf("w:after done=%ld", done);
    done++;
    Py_RETURN_NONE;
}
static PyMethodDef wakes_main_def = {"wakes_main", wakes_main, METH_NOARGS, NULL};

/* runner_nested: creates w, run() (nested), done += 1 */
static PyObject *runner_nested(PyObject *self, PyObject *args) {
    (void)self;
    (void)args;
    PyTaskletObject *w = spawn(&wakes_main_def, NULL);
    Py_XDECREF(w);
    log_event("runner:run");
    PyObject *r = PyStackless_RunWatchdog(0);
    if (r == NULL) return NULL;
    Py_DECREF(r);
    done++;
    log_eventf("runner:returned done=%ld", done);
    Py_RETURN_NONE;
}
static PyMethodDef runner_nested_def = {"runner_nested", runner_nested, METH_NOARGS, NULL};

/* B130: Inside a nested run, a tasklet does `stackless.main.run()`. The outer run returns
 * early (done == 1). A second `run()` completes everything (done == 3). */
static void test_B130(void) {
    log_reset();
    done = 0;
    PyTaskletObject *r = spawn(&runner_nested_def, NULL);
    PyObject *v = PyStackless_RunWatchdog(0);
    CHECK(v == Py_None);
    Py_XDECREF(v);
    CHECK_NO_EXC();
    log_eventf("main:returned done=%ld", done);
    CHECK_EQ_INT(done, 1);
    CHECK_LOG("runner:run w:main.run main:returned done=1");
    /* the woken main pops the deeper watchdog (the runner) and re-inserts it */
    CHECK_EQ_INT(PyTasklet_Scheduled(r), 1);
    CHECK_EQ_INT(PyStackless_GetRunCount(), 3);
    v = PyStackless_RunWatchdog(0);
    CHECK(v == Py_None);
    Py_XDECREF(v);
    log_eventf("main:returned2 done=%ld", done);
    CHECK_EQ_INT(done, 3);
    CHECK_LOG("runner:run w:main.run main:returned done=1 w:after done=1 "
              "runner:returned done=3 main:returned2 done=3");
    CHECK_EQ_INT(PyTasklet_Alive(r), 0);
    finish(r);
    Py_XDECREF(r);
    check_main_alone();
}

/* ---- B161 ----------------------------------------------------------------------------- */

/* Checks get_thread_info(own id) == (main, current, runcount); logs "info-ok" or details. */
static void check_thread_info(const char *who, PyObject *want_current) {
    PyObject *info = PyStackless_GetThreadInfo(PyThread_get_thread_ident());
    PyTaskletObject *m = get_main();
    char buf[160];
    if (info == NULL || !PyTuple_Check(info) || PyTuple_Size(info) != 3) {
        snprintf(buf, sizeof buf, "%s:bad-info", who);
        PyErr_Clear();
    } else {
        PyObject *rc = PyTuple_GetItem(info, 2);
        snprintf(buf, sizeof buf, "%s:main=%d current=%d rc=%ld", who,
                 PyTuple_GetItem(info, 0) == (PyObject *)m,
                 PyTuple_GetItem(info, 1) == want_current,
                 PyLong_Check(rc) ? PyLong_AsLong(rc) : -1000);
    }
    log_event(buf);
    Py_XDECREF(info);
    Py_DECREF(m);
}

static PyObject *info_body(PyObject *self, PyObject *args) {
    (void)self;
    (void)args;
    PyObject *cur = PyStackless_GetCurrent();
    check_thread_info("t", cur);
    Py_DECREF(cur);
    Py_RETURN_NONE;
}
static PyMethodDef info_def = {"info", info_body, METH_NOARGS, NULL};

/* B161: `get_thread_info(own_thread_id)` returns `(main, current, runcount)`, with current
 * None when runcount == 0. From main with nothing queued: `(main, main, 1)`.
 * (SPEC §6: main counts, so the own thread's runcount is never 0 while it asks.) */
static void test_B161(void) {
    log_reset();
    PyObject *m = PyStackless_GetMain();
    check_thread_info("main", m);
    CHECK_LOG("main:main=1 current=1 rc=1");
    CHECK_EQ_INT(PyStackless_GetCurrentId(), PyThread_get_thread_ident());
    /* one tasklet queued */
    log_reset();
    PyTaskletObject *t = spawn(&info_def, NULL);
    check_thread_info("main", m);
    CHECK_LOG("main:main=1 current=1 rc=2");
    /* from inside the tasklet, under t.run(): main stays queued */
    CHECK_EQ_INT(PyTasklet_Run(t), 0);
    CHECK_LOG("main:main=1 current=1 rc=2 t:main=1 current=1 rc=2");
    Py_XDECREF(t);
    /* under run(): main is not runnable */
    log_reset();
    t = spawn(&info_def, NULL);
    run_all();
    CHECK_LOG("t:main=1 current=1 rc=1");
    Py_XDECREF(t);
    /* the whole tuple */
    PyObject *info = PyStackless_GetThreadInfo(PyThread_get_thread_ident());
    CHECK(info != NULL && PyTuple_Check(info) && PyTuple_Size(info) == 3);
    if (info != NULL && PyTuple_Size(info) == 3) {
        CHECK(PyTuple_GetItem(info, 0) == m);
        CHECK(PyTuple_GetItem(info, 1) == m);
        CHECK_OBJ_STR(PyTuple_GetItem(info, 2), "1");
    }
    Py_XDECREF(info);
    /* the thread list holds the own thread */
    PyObject *threads = PyStackless_GetThreads();
    CHECK(threads != NULL && PyTuple_Check(threads) && PyTuple_Size(threads) >= 1);
    if (threads != NULL && PyTuple_Size(threads) >= 1)
        CHECK(PyLong_AsUnsignedLong(PyTuple_GetItem(threads, 0)) ==
              PyThread_get_thread_ident());
    Py_XDECREF(threads);
    /* an unknown thread id */
    CHECK(fails(PyStackless_GetThreadInfo(0)));
    CHECK_EXC(PyExc_ValueError, NULL);
    Py_DECREF(m);
    check_main_alone();
}

/* ---- bad input ------------------------------------------------------------------------ */

static void test_bad_input(void) {
    log_reset();
    /* SPEC §6: flag bits other than 1|2|4|8|16 are a ValueError */
    CHECK(fails(PyStackless_RunWatchdogEx(0, 64)));
    CHECK_EXC(PyExc_ValueError, NULL);
    CHECK(fails(PyStackless_RunWatchdogEx(0, 256)));
    CHECK_EXC(PyExc_ValueError, NULL);
    /* bad flags from inside a tasklet leave the scheduler alone */
    PyTaskletObject *t = spawn(&worker_def, NULL);
    CHECK(fails(PyStackless_RunWatchdogEx(0, 1 << 20)));
    CHECK_EXC(PyExc_ValueError, NULL);
    CHECK_EQ_INT(PyStackless_GetRunCount(), 2);
    run_all();
    finish(t);
    Py_XDECREF(t);
    /* the tasklet functions used here */
    CHECK_EQ_INT(PyTasklet_Run(NULL), -1);
    CHECK_EXC_CONTAINS(PyExc_SystemError, "PyTasklet_Run");
    CHECK_EQ_INT(PyTasklet_GetNestingLevel(NULL), -1);
    CHECK_EXC_CONTAINS(PyExc_SystemError, "PyTasklet_GetNestingLevel");
    check_main_alone();
}

int main(void) {
    for (int pass = 0; pass < 2; pass++) {
        PyStackless_EnableSoftswitch(pass == 0);
        test_B126();
        test_B127();
        test_B128();
        test_B129();
        test_B130();
        test_B161();
    }
    PyStackless_EnableSoftswitch(1);
    test_bad_input();
    return check_report();
}
