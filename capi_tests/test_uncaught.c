/* test_uncaught.c: uncaught exceptions in tasklets, the error handler, and the per-tasklet
 * exception state (catalogue B090-B101 of reference/stackless-semantics.md, §4.7, and SPEC
 * §10: TaskletExit ends a tasklet silently, SystemExit is an ordinary exception).
 *
 * Python -> C: stackless.run() is PyStackless_RunWatchdog(0); set_error_handler(h) is
 * PyStackless_SetErrorHandler(h) with h a METH_VARARGS PyCFunction receiving (type, value,
 * tb); sys.exc_info() of a tasklet is its error indicator (PyErr_Occurred), which is saved
 * and restored on every switch. A tasklet body raising is a C function returning NULL with
 * an exception set. */
#include "tasklet_util.h"

/* ---- helpers ------------------------------------------------------------------------ */

/* What the error handler saw. */
static int g_handler_calls = 0;
static PyObject *g_h_args = NULL;    /* the (type, value, tb) tuple */
static PyObject *g_h_current = NULL; /* getcurrent() inside the handler */
static PyObject *g_exc = NULL;       /* an exception caught by a tasklet body */

static void reset_state(void) {
    log_reset();
    g_handler_calls = 0;
    Py_CLEAR(g_h_args);
    Py_CLEAR(g_h_current);
    Py_CLEAR(g_exc);
}

static PyObject *handler(PyObject *self, PyObject *args) {
    (void)self;
    g_handler_calls++;
    log_event("handler");
    Py_XSETREF(g_h_args, Py_NewRef(args));
    Py_XSETREF(g_h_current, PyStackless_GetCurrent());
    Py_RETURN_NONE;
}
static PyMethodDef handler_def = {"handler", handler, METH_VARARGS, NULL};

/* A handler that raises IndexError("we are the mods"). */
static PyObject *broken_handler(PyObject *self, PyObject *args) {
    (void)self;
    (void)args;
    g_handler_calls++;
    log_event("broken-handler");
    PyErr_SetString(PyExc_IndexError, "we are the mods");
    return NULL;
}
static PyMethodDef broken_handler_def = {"broken_handler", broken_handler, METH_VARARGS, NULL};

/* Installs `def` (NULL: removes the handler); checks the previous one was `want_prev`
 * (NULL: None). Returns the new handler object (owned) or NULL. */
static PyObject *install_handler(PyMethodDef *def) {
    PyObject *h = def ? make_func(def) : NULL;
    PyObject *prev = PyStackless_SetErrorHandler(h);
    CHECK(prev != NULL);
    Py_XDECREF(prev);
    return h;
}

static void remove_handler(PyObject *h) {
    PyObject *prev = PyStackless_SetErrorHandler(NULL);
    CHECK(prev == h);
    Py_XDECREF(prev);
    Py_XDECREF(h);
}

/* Checks that the handler got (ZeroDivisionError, ZeroDivisionError(msg), tb). */
static void check_handler_args_at(int line, PyObject *type, const char *msg) {
    const char *file = __FILE__;
    if (g_h_args == NULL) {
        check_fail(file, line, "the handler was not called");
        return;
    }
    if (PyTuple_Size(g_h_args) != 3) {
        check_fail(file, line, "the handler did not get 3 arguments");
        return;
    }
    PyObject *ty = PyTuple_GetItem(g_h_args, 0);
    PyObject *v = PyTuple_GetItem(g_h_args, 1);
    PyObject *tb = PyTuple_GetItem(g_h_args, 2);
    if (ty != type) check_fail(file, line, "handler arg 0 is not the exception type");
    else check_passed_count++;
    if (!PyExceptionInstance_Check(v) || Py_TYPE(v) != (PyTypeObject *)type)
        check_fail(file, line, "handler arg 1 is not an instance of the type");
    else check_passed_count++;
    check_obj_str_impl(file, line, "handler arg 1", v, msg);
    if (tb == NULL) check_fail(file, line, "handler arg 2 is NULL");
    else check_passed_count++;
}
#define CHECK_HANDLER_ARGS(type, msg) check_handler_args_at(__LINE__, (type), (msg))

/* ---- tasklet bodies ----------------------------------------------------------------- */

/* args (name, n): logs name1, schedule, name2, ... nameN. */
static PyObject *body_steps(PyObject *self, PyObject *args) {
    (void)self;
    const char *n = arg_str(args, 0);
    long steps = PyLong_AsLong(PyTuple_GetItem(args, 1));
    char buf[64];
    for (long i = 1; i <= steps; i++) {
        if (i > 1) {
            PyObject *r = PyStackless_Schedule(Py_None, 0);
            if (r == NULL) return NULL;
            Py_DECREF(r);
        }
        snprintf(buf, sizeof buf, "%s%ld", n, i);
        log_event(buf);
    }
    Py_RETURN_NONE;
}
static PyMethodDef body_steps_def = {"steps", body_steps, METH_VARARGS, NULL};

static PyTaskletObject *spawn_steps(const char *name, long n) {
    PyObject *a = PyTuple_New(2);
    PyTuple_SetItem(a, 0, PyUnicode_FromString(name));
    PyTuple_SetItem(a, 1, PyLong_FromLong(n));
    return spawn(&body_steps_def, a);
}

/* args (exception class, message): logs "bad" and raises class(message). */
static PyObject *body_raise(PyObject *self, PyObject *args) {
    (void)self;
    log_event("bad");
    PyErr_SetString(PyTuple_GetItem(args, 0), arg_str(args, 1));
    return NULL;
}
static PyMethodDef body_raise_def = {"raise", body_raise, METH_VARARGS, NULL};

static PyTaskletObject *spawn_raise(PyObject *cls, const char *msg) {
    PyObject *a = PyTuple_New(2);
    PyTuple_SetItem(a, 0, Py_NewRef(cls));
    PyTuple_SetItem(a, 1, PyUnicode_FromString(msg));
    return spawn(&body_raise_def, a);
}

/* Logs "ran" and returns. */
static PyObject *body_ran(PyObject *self, PyObject *args) {
    (void)self;
    (void)args;
    log_event("ran");
    Py_RETURN_NONE;
}
static PyMethodDef body_ran_def = {"ran", body_ran, METH_VARARGS, NULL};

/* ---- B090-B094: the exception goes to main / the watchdog ----------------------------- */

/* B090 [P]/[doc]: "Tasklets A (log, schedule, log), bad (raise ZeroDivisionError) and C run
 * under run(). Log: A1, bad, then run() raises ZeroDivisionError("zz") with runcount 3 (A, C
 * and main still queued). A second run() gives C1, A2, C2." */
static void test_B090(void) {
    reset_state();
    PyTaskletObject *a = spawn_steps("A", 2);
    PyTaskletObject *bad = spawn_raise(PyExc_ZeroDivisionError, "zz");
    PyTaskletObject *c = spawn_steps("C", 2);
    PyObject *r = PyStackless_RunWatchdog(0);
    CHECK(r == NULL);
    CHECK_EXC(PyExc_ZeroDivisionError, "zz");
    Py_XDECREF(r);
    CHECK_LOG("A1 bad");
    CHECK_EQ_INT(PyStackless_GetRunCount(), 3);
    CHECK_EQ_INT(PyTasklet_Alive(bad), 0);
    CHECK_EQ_INT(PyTasklet_Scheduled(a), 1);
    CHECK_EQ_INT(PyTasklet_Scheduled(c), 1);
    run_all();
    CHECK_LOG("A1 bad C1 A2 C2");
    CHECK_EQ_INT(PyTasklet_Alive(a), 0);
    CHECK_EQ_INT(PyTasklet_Alive(c), 0);
    CHECK_EQ_INT(PyStackless_GetRunCount(), 1);
    Py_DECREF(a);
    Py_DECREF(bad);
    Py_DECREF(c);
}

/* B091 [wd] test_error_propagation_when_not_deadlock: "t1 schedule()s and t2 raises
 * ZeroDivisionError("bar"). run() raises it." */
static void test_B091(void) {
    reset_state();
    PyTaskletObject *t1 = spawn_steps("t1-", 2);
    PyTaskletObject *t2 = spawn_raise(PyExc_ZeroDivisionError, "bar");
    PyObject *r = PyStackless_RunWatchdog(0);
    CHECK(r == NULL);
    CHECK_EXC(PyExc_ZeroDivisionError, "bar");
    Py_XDECREF(r);
    CHECK_LOG("t1-1 bad");
    /* t1 is still queued: finish it. */
    CHECK_EQ_INT(PyTasklet_Alive(t1), 1);
    run_all();
    CHECK_LOG("t1-1 bad t1-2");
    CHECK_EQ_INT(PyTasklet_Alive(t1), 0);
    Py_DECREF(t1);
    Py_DECREF(t2);
}

/* B092 [wd] test_main_gets_exception: "Main is blocked receiving on an unrelated channel and a
 * tasklet raises ZeroDivisionError("mumbai"). Main's receive() raises it, and main is
 * unblocked." */
static void test_B092(void) {
    reset_state();
    PyChannelObject *ch = PyChannel_New(NULL);
    PyTaskletObject *t = spawn_raise(PyExc_ZeroDivisionError, "mumbai");
    PyObject *r = PyChannel_Receive(ch);
    CHECK(r == NULL);
    CHECK_EXC(PyExc_ZeroDivisionError, "mumbai");
    Py_XDECREF(r);
    CHECK_LOG("bad");
    CHECK_EQ_INT(PyChannel_GetBalance(ch), 0);
    PyObject *m = PyStackless_GetMain();
    CHECK_EQ_INT(PyTasklet_GetBlocked((PyTaskletObject *)m), 0);
    CHECK_EQ_INT(PyTasklet_IsCurrent((PyTaskletObject *)m), 1);
    Py_DECREF(m);
    CHECK_EQ_INT(PyTasklet_Alive(t), 0);
    CHECK_EQ_INT(PyStackless_GetRunCount(), 1);
    Py_DECREF(t);
    Py_DECREF(ch);
}

/* B093 [P]: "An exception in a tasklet started by t.run() propagates out of t.run() in
 * main." */
static void test_B093(void) {
    reset_state();
    PyTaskletObject *t = spawn_raise(PyExc_ValueError, "from t");
    CHECK_EQ_INT(PyTasklet_Run(t), -1);
    CHECK_EXC(PyExc_ValueError, "from t");
    CHECK_LOG("bad");
    CHECK_EQ_INT(PyTasklet_Alive(t), 0);
    CHECK_EQ_INT(PyStackless_GetRunCount(), 1);
    Py_DECREF(t);
}

/* B094 [P]/[wd] test_send_recv: "Main sends to a blocked receiver with pref -1; the receiver
 * runs and raises. The exception comes out of main's send(). For example, a server killed
 * with send_exception(StopIteration) makes that call raise StopIteration." */
static PyObject *b094_server(PyObject *self, PyObject *args) {
    (void)self;
    PyChannelObject *ch = (PyChannelObject *)PyTuple_GetItem(args, 0);
    for (;;) {
        PyObject *r = PyChannel_Receive(ch);
        if (r == NULL) {
            log_exc("server");
            return NULL;
        }
        PyObject *s = PyObject_Str(r);
        char buf[64];
        snprintf(buf, sizeof buf, "server:got-%s", s ? PyUnicode_AsUTF8(s) : "?");
        log_event(buf);
        Py_XDECREF(s);
        int bad = PyLong_Check(r) && PyLong_AsLong(r) == 13;
        Py_DECREF(r);
        if (bad) {
            PyErr_SetString(PyExc_ValueError, "unlucky");
            return NULL;
        }
    }
}
static PyMethodDef b094_server_def = {"server", b094_server, METH_VARARGS, NULL};

static void test_B094(void) {
    reset_state();
    PyChannelObject *ch = PyChannel_New(NULL);
    CHECK_EQ_INT(PyChannel_GetPreference(ch), -1);
    PyTaskletObject *t = spawn_ch(&b094_server_def, ch);
    CHECK_EQ_INT(PyTasklet_Run(t), 0);
    PyObject *one = PyLong_FromLong(1);
    CHECK_EQ_INT(PyChannel_Send(ch, one), 0);
    CHECK_NO_EXC();
    PyObject *n13 = PyLong_FromLong(13);
    CHECK_EQ_INT(PyChannel_Send(ch, n13), -1);
    CHECK_EXC(PyExc_ValueError, "unlucky");
    CHECK_LOG("server:got-1 server:got-13");
    CHECK_EQ_INT(PyTasklet_Alive(t), 0);
    Py_DECREF(t);

    /* A server killed with send_exception(StopIteration). */
    log_reset();
    t = spawn_ch(&b094_server_def, ch);
    CHECK_EQ_INT(PyTasklet_Run(t), 0);
    CHECK_EQ_INT(PyChannel_Send(ch, one), 0);
    PyObject *empty = PyTuple_New(0);
    CHECK_EQ_INT(PyChannel_SendException(ch, PyExc_StopIteration, empty), -1);
    CHECK_EXC(PyExc_StopIteration, "");
    CHECK_LOG("server:got-1 server:StopIteration");
    CHECK_EQ_INT(PyTasklet_Alive(t), 0);
    CHECK_EQ_INT(PyChannel_GetBalance(ch), 0);
    CHECK_EQ_INT(PyStackless_GetRunCount(), 1);
    Py_DECREF(t);
    Py_DECREF(empty);
    Py_DECREF(n13);
    Py_DECREF(one);
    Py_DECREF(ch);
}

/* ---- B095-B099: the error handler ------------------------------------------------------ */

/* B095 [mi] TestErrorHandler.test_set: "set_error_handler(foo) returns None,
 * set_error_handler(None) returns foo, and then None again." */
static void test_B095(void) {
    reset_state();
    PyObject *cur = PyStackless_GetErrorHandler();
    CHECK(cur == Py_None);
    Py_XDECREF(cur);
    PyObject *foo = make_func(&handler_def);
    PyObject *prev = PyStackless_SetErrorHandler(foo);
    CHECK(prev == Py_None);
    Py_XDECREF(prev);
    cur = PyStackless_GetErrorHandler();
    CHECK(cur == foo);
    Py_XDECREF(cur);
    prev = PyStackless_SetErrorHandler(Py_None);
    CHECK(prev == foo);
    Py_XDECREF(prev);
    prev = PyStackless_SetErrorHandler(Py_None);
    CHECK(prev == Py_None);
    Py_XDECREF(prev);
    /* NULL removes it too. */
    prev = PyStackless_SetErrorHandler(foo);
    CHECK(prev == Py_None);
    Py_XDECREF(prev);
    prev = PyStackless_SetErrorHandler(NULL);
    CHECK(prev == foo);
    Py_XDECREF(prev);
    cur = PyStackless_GetErrorHandler();
    CHECK(cur == Py_None);
    Py_XDECREF(cur);
    CHECK_NO_EXC();
    Py_DECREF(foo);
}

/* B096 [mi] test_handler: "With a handler installed, a tasklet raising ZeroDivisionError calls
 * handler(type, value, tb) and run() returns normally." */
static void test_B096(void) {
    reset_state();
    PyObject *h = install_handler(&handler_def);
    PyTaskletObject *t = spawn_raise(PyExc_ZeroDivisionError, "hz");
    run_all();
    CHECK_NO_EXC();
    CHECK_LOG("bad handler");
    CHECK_EQ_INT(g_handler_calls, 1);
    CHECK_HANDLER_ARGS(PyExc_ZeroDivisionError, "hz");
    CHECK(g_h_current == (PyObject *)t);
    CHECK_EQ_INT(PyTasklet_Alive(t), 0);
    CHECK_EQ_INT(PyStackless_GetRunCount(), 1);
    remove_handler(h);
    Py_DECREF(t);
    reset_state();
}

/* B097 [mi] test_borken_handler: "A handler that raises IndexError("we are the mods") makes
 * run() raise IndexError." */
static void test_B097(void) {
    reset_state();
    PyObject *h = install_handler(&broken_handler_def);
    PyTaskletObject *t = spawn_raise(PyExc_ZeroDivisionError, "hz");
    PyObject *r = PyStackless_RunWatchdog(0);
    CHECK(r == NULL);
    CHECK_EXC(PyExc_IndexError, "we are the mods");
    Py_XDECREF(r);
    CHECK_LOG("bad broken-handler");
    CHECK_EQ_INT(g_handler_calls, 1);
    CHECK_EQ_INT(PyTasklet_Alive(t), 0);
    CHECK_EQ_INT(PyStackless_GetRunCount(), 1);
    remove_handler(h);
    Py_DECREF(t);
}

/* B098 [mi] test_early_hrow / test_getcurrent: "throw(ZeroDivisionError) to a never-run
 * tasklet with a handler: the handler is called, the function never ran, and inside the
 * handler getcurrent() is the dying tasklet. This holds for throw and for run()." */
static void test_B098(void) {
    reset_state();
    PyObject *h = install_handler(&handler_def);
    PyTaskletObject *t = spawn(&body_ran_def, NULL);
    CHECK_EQ_INT(PyTasklet_Throw(t, 0, PyExc_ZeroDivisionError, NULL, NULL), 0);
    CHECK_NO_EXC();
    CHECK_LOG("handler");
    CHECK_EQ_INT(g_handler_calls, 1);
    CHECK_HANDLER_ARGS(PyExc_ZeroDivisionError, "");
    CHECK(g_h_current == (PyObject *)t);
    CHECK_EQ_INT(PyTasklet_Alive(t), 0);
    CHECK_EQ_INT(PyStackless_GetRunCount(), 1);
    Py_DECREF(t);

    /* run(): a tasklet raising under run(). */
    reset_state();
    t = spawn_raise(PyExc_ZeroDivisionError, "in run");
    run_all();
    CHECK_LOG("bad handler");
    CHECK(g_h_current == (PyObject *)t);
    CHECK_HANDLER_ARGS(PyExc_ZeroDivisionError, "in run");
    Py_DECREF(t);

    /* t.run(): the same, and t.run() returns normally. */
    reset_state();
    t = spawn_raise(PyExc_ZeroDivisionError, "in t.run");
    CHECK_EQ_INT(PyTasklet_Run(t), 0);
    CHECK_NO_EXC();
    CHECK_LOG("bad handler");
    CHECK(g_h_current == (PyObject *)t);
    Py_DECREF(t);
    remove_handler(h);
    reset_state();
}

/* B099 [mi] test_throw_pending: "A pending throw does not call the handler; the next s.run()
 * does." */
static void test_B099(void) {
    reset_state();
    PyObject *h = install_handler(&handler_def);
    PyTaskletObject *t = spawn(&body_ran_def, NULL);
    CHECK_EQ_INT(PyTasklet_Throw(t, 1, PyExc_ZeroDivisionError, NULL, NULL), 0);
    CHECK_NO_EXC();
    CHECK_EQ_INT(g_handler_calls, 0);
    CHECK_LOG("");
    CHECK_EQ_INT(PyTasklet_Alive(t), 1);
    CHECK_EQ_INT(PyTasklet_Run(t), 0);
    CHECK_NO_EXC();
    CHECK_EQ_INT(g_handler_calls, 1);
    CHECK_LOG("handler");
    CHECK(g_h_current == (PyObject *)t);
    CHECK_HANDLER_ARGS(PyExc_ZeroDivisionError, "");
    CHECK_EQ_INT(PyTasklet_Alive(t), 0);
    remove_handler(h);
    Py_DECREF(t);
    reset_state();
}

/* ---- B100-B101: exception state, TaskletExit ------------------------------------------ */

/* B100 [ts] TestExceptionState: "A tasklet inside except ZeroDivisionError: calls schedule().
 * Main's sys.exc_info() is (None, None, None). When resumed, the tasklet again sees
 * ZeroDivisionError. Exception state is per tasklet." In C: the error indicator. Main's own
 * pending exception is likewise invisible to the tasklet and still there when main resumes. */
static PyObject *b100_body(PyObject *self, PyObject *args) {
    (void)self;
    (void)args;
    log_event(PyErr_Occurred() ? "t:sees-exception" : "t:clean");
    PyErr_SetString(PyExc_ZeroDivisionError, "in tasklet");
    PyObject *r = PyStackless_Schedule(Py_None, 0);
    log_event(r == Py_None ? "t:resumed" : r == NULL ? "t:schedule-NULL" : "t:resumed-other");
    Py_XDECREF(r);
    CHECK_EXC(PyExc_ZeroDivisionError, "in tasklet");
    CHECK_NO_EXC();
    Py_RETURN_NONE;
}
static PyMethodDef b100_def = {"b100", b100_body, METH_VARARGS, NULL};

static void test_B100(void) {
    reset_state();
    PyTaskletObject *t = spawn(&b100_def, NULL);
    PyErr_SetString(PyExc_ValueError, "main's");
    PyObject *r = PyStackless_Schedule(Py_None, 0);
    log_event(r == Py_None ? "main:resumed" : r == NULL ? "main:schedule-NULL" : "main:other");
    Py_XDECREF(r);
    CHECK_EXC(PyExc_ValueError, "main's");
    CHECK_NO_EXC();
    CHECK_LOG("t:clean main:resumed");
    /* The tasklet is in its "except" block, main is clean. */
    CHECK(PyErr_Occurred() == NULL);
    run_all();
    CHECK_NO_EXC();
    CHECK_LOG("t:clean main:resumed t:resumed");
    CHECK_EQ_INT(PyTasklet_Alive(t), 0);
    Py_DECREF(t);
}

/* B101 [ex] testTaskletExitCode / [P]: "TaskletExit().code works. TaskletExit subclasses
 * SystemExit." */
static void test_B101(void) {
    reset_state();
    CHECK(PyExceptionClass_Check(PyExc_TaskletExit));
    CHECK_EQ_INT(PyType_IsSubtype((PyTypeObject *)PyExc_TaskletExit,
                                  (PyTypeObject *)PyExc_SystemExit), 1);
    CHECK(PyErr_GivenExceptionMatches(PyExc_TaskletExit, PyExc_SystemExit));
    CHECK(!PyErr_GivenExceptionMatches(PyExc_TaskletExit, PyExc_Exception));
    CHECK(PyErr_GivenExceptionMatches(PyExc_TaskletExit, PyExc_BaseException));
    CHECK_STR(check_type_name((PyTypeObject *)PyExc_TaskletExit), "TaskletExit");

    PyObject *empty = PyTuple_New(0);
    PyObject *e = PyObject_Call(PyExc_TaskletExit, empty, NULL);
    CHECK(e != NULL && PyExceptionInstance_Check(e));
    PyObject *code = e ? PyObject_GetAttrString(e, "code") : NULL;
    CHECK(code == Py_None);
    Py_XDECREF(code);
    Py_XDECREF(e);

    PyObject *n3 = PyLong_FromLong(3);
    PyObject *a3 = tuple1(n3);
    e = PyObject_Call(PyExc_TaskletExit, a3, NULL);
    CHECK(e != NULL);
    code = e ? PyObject_GetAttrString(e, "code") : NULL;
    CHECK(code != NULL && PyLong_Check(code) && PyLong_AsLong(code) == 3);
    CHECK(e != NULL && PyErr_GivenExceptionMatches(e, PyExc_SystemExit));
    Py_XDECREF(code);
    Py_XDECREF(e);
    CHECK_NO_EXC();
    Py_DECREF(a3);
    Py_DECREF(n3);
    Py_DECREF(empty);
}

/* ---- SPEC §10 / §4.7: TaskletExit, SystemExit, where the error goes ------------------- */

/* SPEC §10: "TaskletExit ends it silently" (the handler is not called); §4.7 "TaskletExit (or
 * SystemExit on other threads) is silently swallowed". */
static void test_S47_taskletexit_silent(void) {
    reset_state();
    PyTaskletObject *t = spawn_raise(PyExc_TaskletExit, "bye");
    run_all();
    CHECK_NO_EXC();
    CHECK_LOG("bad");
    CHECK_EQ_INT(PyTasklet_Alive(t), 0);
    Py_DECREF(t);

    /* With an error handler installed: it is not called for TaskletExit. */
    reset_state();
    PyObject *h = install_handler(&handler_def);
    t = spawn_raise(PyExc_TaskletExit, "bye");
    CHECK_EQ_INT(PyTasklet_Run(t), 0);
    CHECK_NO_EXC();
    CHECK_LOG("bad");
    CHECK_EQ_INT(g_handler_calls, 0);
    remove_handler(h);
    Py_DECREF(t);
}

/* SPEC §10/§11: "SystemExit is treated like any other exception (it does not exit the
 * process)": it goes to run(), or to the error handler when one is installed. */
static void test_S10_systemexit(void) {
    reset_state();
    PyTaskletObject *t = spawn_raise(PyExc_SystemExit, "exit");
    PyObject *r = PyStackless_RunWatchdog(0);
    CHECK(r == NULL);
    CHECK_EXC(PyExc_SystemExit, "exit");
    Py_XDECREF(r);
    CHECK_LOG("bad");
    CHECK_EQ_INT(PyTasklet_Alive(t), 0);
    Py_DECREF(t);

    reset_state();
    PyObject *h = install_handler(&handler_def);
    t = spawn_raise(PyExc_SystemExit, "exit");
    run_all();
    CHECK_NO_EXC();
    CHECK_LOG("bad handler");
    CHECK_HANDLER_ARGS(PyExc_SystemExit, "exit");
    remove_handler(h);
    Py_DECREF(t);
    reset_state();
}

/* §4.7: "Whatever call main was in raises: run(), t.run(), ch.send(), ch.receive(),
 * schedule(). Other tasklets stay queued." Here: schedule(). */
static void test_S47_schedule_gets_error(void) {
    reset_state();
    PyTaskletObject *bad = spawn_raise(PyExc_LookupError, "k");
    PyTaskletObject *c = spawn_steps("C", 2);
    PyObject *r = PyStackless_Schedule(Py_None, 0);
    CHECK(r == NULL);
    CHECK_EXC(PyExc_LookupError, "k");
    Py_XDECREF(r);
    CHECK_LOG("bad");
    CHECK_EQ_INT(PyTasklet_Scheduled(c), 1);
    CHECK_EQ_INT(PyStackless_GetRunCount(), 2);
    run_all();
    CHECK_LOG("bad C1 C2");
    CHECK_EQ_INT(PyTasklet_Alive(c), 0);
    Py_DECREF(bad);
    Py_DECREF(c);
}

/* ---- bad input ---------------------------------------------------------------------- */

/* set_error_handler with a non-callable: TypeError, and the old handler stays. */
static void test_bad_input(void) {
    reset_state();
    PyObject *h = install_handler(&handler_def);
    PyObject *n = PyLong_FromLong(5);
    PyObject *prev = PyStackless_SetErrorHandler(n);
    CHECK(prev == NULL);
    CHECK_EXC_CONTAINS(PyExc_TypeError, "callable");
    Py_XDECREF(prev);
    PyObject *cur = PyStackless_GetErrorHandler();
    CHECK(cur == h);
    Py_XDECREF(cur);
    remove_handler(h);
    Py_DECREF(n);
}

/* Every test runs with soft switching enabled and disabled (SPEC §7: programs using the
 * plain calls give identical results and event orders in both modes). */
static void run_tests(void) {
    test_B090();
    test_B091();
    test_B092();
    test_B093();
    test_B094();
    test_B095();
    test_B096();
    test_B097();
    test_B098();
    test_B099();
    test_B100();
    test_B101();
    test_S47_taskletexit_silent();
    test_S10_systemexit();
    test_S47_schedule_gets_error();
    test_bad_input();
}

int main(void) {
    for (int soft = 1; soft >= 0; soft--) {
        PyStackless_EnableSoftswitch(soft);
        CHECK_EQ_INT(PyStackless_EnableSoftswitch(-1), soft);
        run_tests();
    }
    reset_state();
    CHECK_NO_EXC();
    return check_report();
}
