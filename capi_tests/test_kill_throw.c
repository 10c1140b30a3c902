/* test_kill_throw.c: PyTasklet_Kill / KillEx / Throw / RaiseException on every target state
 * (catalogue B070-B089 of reference/stackless-semantics.md, and the target table of §4.9),
 * including who runs next, and the bad-input cases of the four functions.
 *
 * Python -> C: t.kill() is PyTasklet_Kill(t); kill(pending=True) is PyTasklet_KillEx(t, 1);
 * t.throw(E, v, tb, pending) is PyTasklet_Throw(t, pending, E, v, tb);
 * t.raise_exception(E, *args) is PyTasklet_RaiseException(t, E, args); schedule() is
 * PyStackless_Schedule(Py_None, 0); schedule_remove() is PyStackless_Schedule(Py_None, 1);
 * stackless.run() is PyStackless_RunWatchdog(0) (run_all). A Python try/except in a tasklet
 * is C code checking the NULL/-1 result of the blocking call. */
#include "tasklet_util.h"

/* ---- helpers ------------------------------------------------------------------------ */

/* The exception caught by a tasklet body (owned), and the tasklet a killer kills. */
static PyObject *g_exc = NULL;
static PyTaskletObject *g_victim = NULL;

static void reset_state(void) {
    log_reset();
    Py_CLEAR(g_exc);
    g_victim = NULL;
}

/* A new exception instance cls(arg) (arg borrowed; NULL: no arguments). */
static PyObject *new_exc(PyObject *cls, PyObject *arg) {
    PyObject *a = arg ? tuple1(arg) : PyTuple_New(0);
    PyObject *e = PyObject_Call(cls, a, NULL);
    Py_DECREF(a);
    return e;
}

static PyChannelObject *arg_ch(PyObject *args) {
    return (PyChannelObject *)PyTuple_GetItem(args, 0);
}

static PyObject *main_tasklet(void) { return PyStackless_GetMain(); }

/* A bad pointer argument: TypeError / ValueError / SystemError naming the function (SPEC §2). */
static void check_bad_arg_at(const char *file, int line, const char *func) {
    PyObject *exc = PyErr_GetRaisedException();
    if (exc == NULL) {
        check_fail(file, line, "bad argument: no exception pending");
        return;
    }
    PyObject *s = PyObject_Str(exc);
    const char *text = s ? PyUnicode_AsUTF8(s) : "";
    int ok = (PyErr_GivenExceptionMatches(exc, PyExc_TypeError) ||
              PyErr_GivenExceptionMatches(exc, PyExc_ValueError) ||
              PyErr_GivenExceptionMatches(exc, PyExc_SystemError)) &&
             strstr(text, func) != NULL;
    if (ok) {
        check_passed_count++;
    } else {
        char buf[512];
        snprintf(buf, sizeof buf, "bad argument to %s: got %s(\"%s\")", func,
                 check_type_name(Py_TYPE(exc)), text);
        check_fail(file, line, buf);
    }
    Py_XDECREF(s);
    Py_DECREF(exc);
}
#define CHECK_BAD_ARG(func) check_bad_arg_at(__FILE__, __LINE__, (func))

/* The args tuple of the caught exception, as str(). */
static void check_exc_args_at(const char *file, int line, PyObject *exc, const char *want) {
    if (exc == NULL) {
        check_fail(file, line, "no exception was caught");
        return;
    }
    PyObject *a = PyException_GetArgs(exc);
    check_obj_str_impl(file, line, "args of the caught exception", a, want);
    Py_XDECREF(a);
}
#define CHECK_EXC_ARGS(exc, want) check_exc_args_at(__FILE__, __LINE__, (exc), (want))

static PyObject *int_tuple3(void) {
    PyObject *t = PyTuple_New(3);
    for (long i = 0; i < 3; i++) PyTuple_SetItem(t, i, PyLong_FromLong(i + 1));
    return t;
}

/* ---- tasklet bodies ----------------------------------------------------------------- */

/* "start"; schedule(); on an exception log "handler:<exc>" and re-raise. */
static PyObject *body_sched_reraise(PyObject *self, PyObject *args) {
    (void)self;
    (void)args;
    log_event("start");
    PyObject *r = PyStackless_Schedule(Py_None, 0);
    if (r == NULL) {
        log_exc("handler");
        return NULL; /* re-raise */
    }
    Py_DECREF(r);
    log_event("resumed");
    Py_RETURN_NONE;
}
static PyMethodDef body_sched_reraise_def = {"sched_reraise", body_sched_reraise, METH_VARARGS,
                                             NULL};

/* Logs "ran" and returns. */
static PyObject *body_ran(PyObject *self, PyObject *args) {
    (void)self;
    (void)args;
    log_event("ran");
    Py_RETURN_NONE;
}
static PyMethodDef body_ran_def = {"ran", body_ran, METH_VARARGS, NULL};

/* try: receive() finally: log. "recv", then on error "exc:<E>", "balance <n>", "finally". */
static PyObject *body_recv_finally(PyObject *self, PyObject *args) {
    (void)self;
    PyChannelObject *ch = arg_ch(args);
    log_event("recv");
    PyObject *r = PyChannel_Receive(ch);
    if (r == NULL) {
        log_exc("exc");
        log_eventf("balance %ld", PyChannel_GetBalance(ch));
        log_event("finally");
        return NULL;
    }
    log_event("got");
    Py_DECREF(r);
    log_event("finally");
    Py_RETURN_NONE;
}
static PyMethodDef body_recv_finally_def = {"recv_finally", body_recv_finally, METH_VARARGS,
                                            NULL};

/* try: receive() except BaseException as e: g_exc = e; log "caught:<E>". */
static PyObject *body_recv_catch(PyObject *self, PyObject *args) {
    (void)self;
    PyObject *r = PyChannel_Receive(arg_ch(args));
    if (r == NULL) {
        log_exc("caught");
        Py_XSETREF(g_exc, PyErr_GetRaisedException());
        Py_RETURN_NONE;
    }
    log_event("got");
    Py_DECREF(r);
    Py_RETURN_NONE;
}
static PyMethodDef body_recv_catch_def = {"recv_catch", body_recv_catch, METH_VARARGS, NULL};

/* ---- B070-B078: kill ------------------------------------------------------------------ */

/* B070 [mi] test_kill_pending_False: "A tasklet is in schedule(), catching and re-raising
 * TaskletExit. t.kill() -> the handler has run before kill returns." */
static void test_B070(void) {
    reset_state();
    PyTaskletObject *t = spawn(&body_sched_reraise_def, NULL);
    CHECK_EQ_INT(PyTasklet_Run(t), 0);
    CHECK_LOG("start");
    CHECK_EQ_INT(PyTasklet_Alive(t), 1);
    CHECK_EQ_INT(PyTasklet_Kill(t), 0);
    CHECK_NO_EXC();
    log_event("after-kill");
    CHECK_LOG("start handler:TaskletExit after-kill");
    CHECK_EQ_INT(PyTasklet_Alive(t), 0);
    CHECK_EQ_INT(PyTasklet_Scheduled(t), 0);
    CHECK_EQ_INT(PyStackless_GetRunCount(), 1);
    Py_DECREF(t);
}

/* B071 [mi] test_kill_pending_true: "The same with kill(pending=True): the handler has not
 * run after kill; it runs on the next t.run()." */
static void test_B071(void) {
    reset_state();
    PyTaskletObject *t = spawn(&body_sched_reraise_def, NULL);
    CHECK_EQ_INT(PyTasklet_Run(t), 0);
    CHECK_EQ_INT(PyTasklet_KillEx(t, 1), 0);
    CHECK_NO_EXC();
    log_event("after-kill");
    CHECK_LOG("start after-kill");
    CHECK_EQ_INT(PyTasklet_Alive(t), 1);
    CHECK_EQ_INT(PyTasklet_Scheduled(t), 1);
    CHECK_EQ_INT(PyTasklet_Run(t), 0);
    CHECK_NO_EXC();
    log_event("after-run");
    CHECK_LOG("start after-kill handler:TaskletExit after-run");
    CHECK_EQ_INT(PyTasklet_Alive(t), 0);
    CHECK_EQ_INT(PyStackless_GetRunCount(), 1);
    Py_DECREF(t);
}

/* B072 [mi] test_kill_current: "getcurrent().kill() inside a tasklet raises TaskletExit at the
 * call site. The tasklet dies silently and t.run() in main returns normally. t.alive is False
 * and thread_id is unchanged." */
static PyObject *b072_body(PyObject *self, PyObject *args) {
    (void)self;
    (void)args;
    PyObject *cur = PyStackless_GetCurrent();
    int rc = PyTasklet_Kill((PyTaskletObject *)cur);
    Py_DECREF(cur);
    log_eventf("kill=%ld", rc);
    log_exc("raised");
    if (rc == 0) {
        log_event("still-running");
        Py_RETURN_NONE;
    }
    return NULL; /* TaskletExit propagates */
}
static PyMethodDef b072_def = {"b072", b072_body, METH_VARARGS, NULL};

static void test_B072(void) {
    reset_state();
    PyTaskletObject *t = spawn(&b072_def, NULL);
    unsigned long tid = PyTasklet_GetThreadId(t);
    CHECK(tid == PyThread_get_thread_ident());
    CHECK_EQ_INT(PyTasklet_Run(t), 0);
    CHECK_NO_EXC();
    CHECK_LOG("kill=-1 raised:TaskletExit");
    CHECK_EQ_INT(PyTasklet_Alive(t), 0);
    CHECK(PyTasklet_GetThreadId(t) == tid);
    CHECK_EQ_INT(PyStackless_GetRunCount(), 1);
    Py_DECREF(t);
}

/* B073 [P]: "Killing an unstarted but scheduled tasklet: its function never runs, alive and
 * scheduled become False, runcount 1." */
static void test_B073(void) {
    reset_state();
    PyTaskletObject *t = spawn(&body_ran_def, NULL);
    CHECK_EQ_INT(PyTasklet_Alive(t), 1);
    CHECK_EQ_INT(PyTasklet_Scheduled(t), 1);
    CHECK_EQ_INT(PyStackless_GetRunCount(), 2);
    CHECK_EQ_INT(PyTasklet_Kill(t), 0);
    CHECK_NO_EXC();
    CHECK_LOG("");
    CHECK_EQ_INT(PyTasklet_Alive(t), 0);
    CHECK_EQ_INT(PyTasklet_Scheduled(t), 0);
    CHECK_EQ_INT(PyStackless_GetRunCount(), 1);
    run_all();
    CHECK_LOG("");
    Py_DECREF(t);
}

/* B074 [P]: "Killing a tasklet blocked in receive: TaskletExit is raised inside receive,
 * finally runs, balance returns to 0, alive is False, and main continues right after
 * (current is main)." */
static void test_B074(void) {
    reset_state();
    PyChannelObject *ch = PyChannel_New(NULL);
    PyTaskletObject *t = spawn_ch(&body_recv_finally_def, ch);
    CHECK_EQ_INT(PyTasklet_Run(t), 0);
    CHECK_EQ_INT(PyTasklet_GetBlocked(t), -1);
    CHECK_EQ_INT(PyChannel_GetBalance(ch), -1);
    CHECK_EQ_INT(PyTasklet_Kill(t), 0);
    CHECK_NO_EXC();
    log_event("main");
    CHECK_LOG("recv exc:TaskletExit balance 0 finally main");
    CHECK_EQ_INT(PyChannel_GetBalance(ch), 0);
    CHECK_EQ_INT(PyTasklet_Alive(t), 0);
    CHECK_EQ_INT(PyTasklet_GetBlocked(t), 0);
    PyObject *cur = PyStackless_GetCurrent();
    PyObject *m = main_tasklet();
    CHECK(cur == m);
    Py_DECREF(cur);
    Py_DECREF(m);
    CHECK_EQ_INT(PyStackless_GetRunCount(), 1);
    Py_DECREF(t);
    Py_DECREF(ch);
}

/* B075 [P]: "Queue (inside run): A, K, B, C, with B scheduled after K and not yet started. K
 * does B.kill(). Log: A:start, K:killing B, C:start, A:resumed, K:after kill, C:resumed.
 * After killing a queued tasklet, control goes to the victim's successor, not back to the
 * killer." */
static PyObject *b075_a(PyObject *self, PyObject *args) {
    (void)self;
    const char *n = arg_str(args, 0);
    char buf[64];
    snprintf(buf, sizeof buf, "%s:start", n);
    log_event(buf);
    PyObject *r = PyStackless_Schedule(Py_None, 0);
    if (r == NULL) return NULL;
    Py_DECREF(r);
    snprintf(buf, sizeof buf, "%s:resumed", n);
    log_event(buf);
    Py_RETURN_NONE;
}
static PyMethodDef b075_a_def = {"a", b075_a, METH_VARARGS, NULL};

static PyObject *b075_k(PyObject *self, PyObject *args) {
    (void)self;
    (void)args;
    log_event("K:killing-B");
    int rc = PyTasklet_Kill(g_victim);
    log_event(rc == 0 ? "K:after-kill" : "K:kill-failed");
    if (rc != 0) return NULL;
    Py_RETURN_NONE;
}
static PyMethodDef b075_k_def = {"k", b075_k, METH_VARARGS, NULL};

static PyObject *b075_b(PyObject *self, PyObject *args) {
    (void)self;
    (void)args;
    log_event("B:start");
    Py_RETURN_NONE;
}
static PyMethodDef b075_b_def = {"b", b075_b, METH_VARARGS, NULL};

static void test_B075(void) {
    reset_state();
    PyTaskletObject *a = spawn_str(&b075_a_def, "A");
    PyTaskletObject *k = spawn(&b075_k_def, NULL);
    PyTaskletObject *b = spawn(&b075_b_def, NULL);
    PyTaskletObject *c = spawn_str(&b075_a_def, "C");
    g_victim = b;
    run_all();
    CHECK_LOG("A:start K:killing-B C:start A:resumed K:after-kill C:resumed");
    CHECK_EQ_INT(PyTasklet_Alive(a), 0);
    CHECK_EQ_INT(PyTasklet_Alive(k), 0);
    CHECK_EQ_INT(PyTasklet_Alive(b), 0);
    CHECK_EQ_INT(PyTasklet_Alive(c), 0);
    CHECK_EQ_INT(PyStackless_GetRunCount(), 1);
    Py_DECREF(a);
    Py_DECREF(k);
    Py_DECREF(b);
    Py_DECREF(c);
    g_victim = NULL;
}

/* B076 [P]: "B is started and queued behind the killer K. K kills B: B logs "TaskletExit",
 * then K:after (B's successor in the cyclic queue was K)." */
static PyObject *b076_b(PyObject *self, PyObject *args) {
    (void)self;
    (void)args;
    log_event("B:start");
    PyObject *r = PyStackless_Schedule(Py_None, 0);
    if (r == NULL) {
        log_exc("B");
        return NULL;
    }
    Py_DECREF(r);
    log_event("B:resumed");
    Py_RETURN_NONE;
}
static PyMethodDef b076_b_def = {"b", b076_b, METH_VARARGS, NULL};

static PyObject *b076_k(PyObject *self, PyObject *args) {
    (void)self;
    (void)args;
    log_event("K:killing-B");
    int rc = PyTasklet_Kill(g_victim);
    log_event(rc == 0 ? "K:after" : "K:kill-failed");
    if (rc != 0) return NULL;
    Py_RETURN_NONE;
}
static PyMethodDef b076_k_def = {"k", b076_k, METH_VARARGS, NULL};

static void test_B076(void) {
    reset_state();
    PyTaskletObject *b = spawn(&b076_b_def, NULL);
    PyTaskletObject *k = spawn(&b076_k_def, NULL);
    g_victim = b;
    run_all();
    CHECK_LOG("B:start K:killing-B B:TaskletExit K:after");
    CHECK_EQ_INT(PyTasklet_Alive(b), 0);
    CHECK_EQ_INT(PyTasklet_Alive(k), 0);
    CHECK_EQ_INT(PyStackless_GetRunCount(), 1);
    Py_DECREF(b);
    Py_DECREF(k);
    g_victim = NULL;
}

/* B077 [P]/[mi] test_kill_dead: "kill() or throw(TaskletExit) on a tasklet that already
 * finished is a no-op with no error." (§4.9: the same with pending=True.) */
static void test_B077(void) {
    reset_state();
    PyTaskletObject *t = spawn(&body_ran_def, NULL);
    run_all();
    CHECK_LOG("ran");
    CHECK_EQ_INT(PyTasklet_Alive(t), 0);
    CHECK_EQ_INT(PyTasklet_Kill(t), 0);
    CHECK_NO_EXC();
    CHECK_EQ_INT(PyTasklet_Throw(t, 0, PyExc_TaskletExit, NULL, NULL), 0);
    CHECK_NO_EXC();
    CHECK_EQ_INT(PyTasklet_KillEx(t, 1), 0);
    CHECK_NO_EXC();
    CHECK_EQ_INT(PyTasklet_Throw(t, 1, PyExc_TaskletExit, NULL, NULL), 0);
    CHECK_NO_EXC();
    CHECK_EQ_INT(PyTasklet_Alive(t), 0);
    CHECK_EQ_INT(PyTasklet_Scheduled(t), 0);
    CHECK_EQ_INT(PyStackless_GetRunCount(), 1);
    CHECK_LOG("ran");
    Py_DECREF(t);
}

/* B078 [P]: "kill(pending=True) on a blocked tasklet: blocked=False, scheduled=True,
 * balance=0, alive=True, runcount 2. The next run() raises TaskletExit in it and it dies." */
static void test_B078(void) {
    reset_state();
    PyChannelObject *ch = PyChannel_New(NULL);
    PyTaskletObject *t = spawn_ch(&body_recv_finally_def, ch);
    CHECK_EQ_INT(PyTasklet_Run(t), 0);
    CHECK_EQ_INT(PyTasklet_GetBlocked(t), -1);
    CHECK_EQ_INT(PyTasklet_KillEx(t, 1), 0);
    CHECK_NO_EXC();
    CHECK_EQ_INT(PyTasklet_GetBlocked(t), 0);
    CHECK_EQ_INT(PyTasklet_Scheduled(t), 1);
    CHECK_EQ_INT(PyChannel_GetBalance(ch), 0);
    CHECK_EQ_INT(PyTasklet_Alive(t), 1);
    CHECK_EQ_INT(PyStackless_GetRunCount(), 2);
    CHECK_LOG("recv");
    run_all();
    CHECK_LOG("recv exc:TaskletExit balance 0 finally");
    CHECK_EQ_INT(PyTasklet_Alive(t), 0);
    CHECK_EQ_INT(PyStackless_GetRunCount(), 1);
    Py_DECREF(t);
    Py_DECREF(ch);
}

/* ---- B079-B085: throw ------------------------------------------------------------------ */

/* One throw into a tasklet blocked in body_recv_catch. pending 0: it has caught the
 * exception and finished when throw returns; pending 1: it is runnable and still alive, and
 * catches the exception at the next t.run(). The caught exception's args must be `want_args`,
 * and it must be `want_same` when that is not NULL. */
static void throw_into_blocked_at(int line, int pending, PyObject *exc, PyObject *val,
                                  const char *want_args, PyObject *want_same) {
    const char *file = __FILE__;
    reset_state();
    PyChannelObject *ch = PyChannel_New(NULL);
    PyTaskletObject *t = spawn_ch(&body_recv_catch_def, ch);
    CHECK_EQ_INT(PyTasklet_Run(t), 0);
    CHECK_EQ_INT(PyTasklet_GetBlocked(t), -1);
    int rc = PyTasklet_Throw(t, pending, exc, val, NULL);
    if (rc != 0) check_fail(file, line, "PyTasklet_Throw did not return 0");
    else check_passed_count++;
    CHECK_NO_EXC();
    CHECK_EQ_INT(PyChannel_GetBalance(ch), 0);
    if (pending) {
        CHECK_LOG("");
        CHECK(g_exc == NULL);
        CHECK_EQ_INT(PyTasklet_Alive(t), 1);
        CHECK_EQ_INT(PyTasklet_GetBlocked(t), 0);
        CHECK_EQ_INT(PyTasklet_Scheduled(t), 1);
        CHECK_EQ_INT(PyTasklet_Run(t), 0);
        CHECK_NO_EXC();
    }
    CHECK_LOG("caught:IndexError");
    CHECK_EQ_INT(PyTasklet_Alive(t), 0);
    CHECK(g_exc != NULL && PyErr_GivenExceptionMatches(g_exc, PyExc_IndexError));
    check_exc_args_at(file, line, g_exc, want_args);
    if (want_same != NULL) CHECK(g_exc == want_same);
    CHECK_EQ_INT(PyStackless_GetRunCount(), 1);
    Py_DECREF(t);
    Py_DECREF(ch);
    Py_CLEAR(g_exc);
}

static void throw_variants(int pending) {
    /* throw(IndexError) */
    throw_into_blocked_at(__LINE__, pending, PyExc_IndexError, NULL, "()", NULL);
    /* throw(IndexError, None) */
    throw_into_blocked_at(__LINE__, pending, PyExc_IndexError, Py_None, "()", NULL);
    /* throw(IndexError, (1, 2, 3)) */
    PyObject *v = int_tuple3();
    throw_into_blocked_at(__LINE__, pending, PyExc_IndexError, v, "(1, 2, 3)", NULL);
    Py_DECREF(v);
    /* throw(IndexError(1, 2, 3)) */
    PyObject *targs = int_tuple3();
    PyObject *inst = PyObject_Call(PyExc_IndexError, targs, NULL);
    Py_DECREF(targs);
    CHECK(inst != NULL);
    throw_into_blocked_at(__LINE__, pending, inst, NULL, "(1, 2, 3)", inst);
    Py_XDECREF(inst);
}

/* B079 [mi] TestTaskletThrowImmediate.test_throw_noargs/args/inst: "The tasklet is blocked on
 * receive. t.throw(IndexError), throw(IndexError, (1,2,3)) and throw(IndexError(1,2,3)) all
 * make receive raise IndexError with args == (1,2,3) for the last two. With immediate throw
 * the tasklet has finished when throw returns." */
static void test_B079(void) { throw_variants(0); }

/* B080 [mi] test_throw_exc_info / test_throw_traceback: "throw(*sys.exc_info()) from an
 * except block: the target sees ZeroDivisionError and its formatted traceback contains
 * "errfunc"." In C: the (type, value, tb) fetched from the error indicator after errfunc()
 * failed are thrown; the target catches that very exception. (There are no Python
 * tracebacks, so the "errfunc" part is not expressible.) */
static PyObject *errfunc(void) {
    PyErr_SetString(PyExc_ZeroDivisionError, "division by zero");
    return NULL;
}

static void test_B080(void) {
    reset_state();
    PyChannelObject *ch = PyChannel_New(NULL);
    PyTaskletObject *t = spawn_ch(&body_recv_catch_def, ch);
    CHECK_EQ_INT(PyTasklet_Run(t), 0);
    CHECK(errfunc() == NULL);
    PyObject *ty = NULL, *v = NULL, *tb = NULL;
    PyErr_Fetch(&ty, &v, &tb);
    CHECK(ty == PyExc_ZeroDivisionError);
    CHECK(v != NULL);
    CHECK_EQ_INT(PyTasklet_Throw(t, 0, ty, v, tb), 0);
    CHECK_NO_EXC();
    CHECK_LOG("caught:ZeroDivisionError");
    CHECK(g_exc == v);
    CHECK_OBJ_STR(g_exc, "division by zero");
    CHECK_EQ_INT(PyTasklet_Alive(t), 0);
    Py_XDECREF(ty);
    Py_XDECREF(v);
    Py_XDECREF(tb);
    Py_DECREF(t);
    Py_DECREF(ch);
    Py_CLEAR(g_exc);
}

/* B081 [mi] TestTaskletThrowNonImmediate: "The same with pending=True: the tasklet is still
 * alive after throw and finishes after t.run()." */
static void test_B081(void) { throw_variants(1); }

/* B082 [mi] test_new: "throw(IndexError) to a created, never-run tasklet. Immediate: the
 * caller (main) gets IndexError, because the tasklet dies with it and the error goes to main.
 * Pending: throw returns normally and the next run() raises IndexError." */
static void test_B082(void) {
    reset_state();
    PyTaskletObject *t = spawn(&body_ran_def, NULL);
    CHECK_EQ_INT(PyTasklet_Throw(t, 0, PyExc_IndexError, NULL, NULL), -1);
    CHECK_EXC(PyExc_IndexError, "");
    CHECK_LOG("");
    CHECK_EQ_INT(PyTasklet_Alive(t), 0);
    CHECK_EQ_INT(PyStackless_GetRunCount(), 1);
    Py_DECREF(t);

    t = spawn(&body_ran_def, NULL);
    CHECK_EQ_INT(PyTasklet_Throw(t, 1, PyExc_IndexError, NULL, NULL), 0);
    CHECK_NO_EXC();
    CHECK_EQ_INT(PyTasklet_Alive(t), 1);
    CHECK_EQ_INT(PyTasklet_Scheduled(t), 1);
    PyObject *r = PyStackless_RunWatchdog(0);
    CHECK(r == NULL);
    CHECK_EXC(PyExc_IndexError, "");
    Py_XDECREF(r);
    CHECK_LOG("");
    CHECK_EQ_INT(PyTasklet_Alive(t), 0);
    CHECK_EQ_INT(PyStackless_GetRunCount(), 1);
    Py_DECREF(t);
}

/* B083 [mi] test_kill_new: "throw(TaskletExit) to a new scheduled tasklet: it dies without
 * running. run() is fine, then t.run() raises RuntimeError matching "dead"." */
static void test_B083(void) {
    reset_state();
    PyTaskletObject *t = spawn(&body_ran_def, NULL);
    CHECK_EQ_INT(PyTasklet_Throw(t, 0, PyExc_TaskletExit, NULL, NULL), 0);
    CHECK_NO_EXC();
    CHECK_EQ_INT(PyTasklet_Alive(t), 0);
    run_all();
    CHECK_LOG("");
    CHECK_EQ_INT(PyTasklet_Run(t), -1);
    CHECK_EXC(PyExc_RuntimeError, "You cannot run an unbound(dead) tasklet");
    CHECK_LOG("");
    Py_DECREF(t);
}

/* B084 [mi] test_dead / [P]: "throw(IndexError) and raise_exception(ValueError) on a finished
 * tasklet raise RuntimeError("You cannot throw to a dead tasklet")." (§4.9: the same with
 * pending=True.) */
static void test_B084(void) {
    reset_state();
    PyTaskletObject *t = spawn(&body_ran_def, NULL);
    run_all();
    CHECK_LOG("ran");
    CHECK_EQ_INT(PyTasklet_Throw(t, 0, PyExc_IndexError, NULL, NULL), -1);
    CHECK_EXC(PyExc_RuntimeError, "You cannot throw to a dead tasklet");
    PyObject *empty = PyTuple_New(0);
    CHECK_EQ_INT(PyTasklet_RaiseException(t, PyExc_ValueError, empty), -1);
    CHECK_EXC(PyExc_RuntimeError, "You cannot throw to a dead tasklet");
    CHECK_EQ_INT(PyTasklet_Throw(t, 1, PyExc_IndexError, NULL, NULL), -1);
    CHECK_EXC(PyExc_RuntimeError, "You cannot throw to a dead tasklet");
    CHECK_EQ_INT(PyTasklet_Alive(t), 0);
    CHECK_EQ_INT(PyTasklet_Scheduled(t), 0);
    CHECK_EQ_INT(PyStackless_GetRunCount(), 1);
    CHECK_LOG("ran");
    Py_DECREF(empty);
    Py_DECREF(t);
}

/* B085 [mi] test_throw_invalid: "throw() with no args raises TypeError.
 * throw(IndexError(1), (1,2,3)) raises TypeError (an instance exception may not have a
 * separate value)." Plus the other TypeErrors of §3.2: "third argument must be a traceback
 * object", "exceptions must be classes, or instances, not %s". The target is unchanged. */
static void test_B085(void) {
    reset_state();
    PyChannelObject *ch = PyChannel_New(NULL);
    PyTaskletObject *t = spawn_ch(&body_recv_catch_def, ch);
    CHECK_EQ_INT(PyTasklet_Run(t), 0);

    CHECK_EQ_INT(PyTasklet_Throw(t, 0, NULL, NULL, NULL), -1);
    CHECK_EXC_CONTAINS(PyExc_TypeError, "exceptions must be classes, or instances, not ");

    PyObject *one = PyLong_FromLong(1);
    PyObject *inst = new_exc(PyExc_IndexError, one);
    PyObject *v = int_tuple3();
    CHECK_EQ_INT(PyTasklet_Throw(t, 0, inst, v, NULL), -1);
    CHECK_EXC(PyExc_TypeError, "instance exception may not have a separate value");
    CHECK_EQ_INT(PyTasklet_Throw(t, 1, inst, v, NULL), -1);
    CHECK_EXC(PyExc_TypeError, "instance exception may not have a separate value");

    CHECK_EQ_INT(PyTasklet_Throw(t, 0, PyExc_IndexError, NULL, one), -1);
    CHECK_EXC(PyExc_TypeError, "third argument must be a traceback object");

    PyObject *n42 = PyLong_FromLong(42);
    CHECK_EQ_INT(PyTasklet_Throw(t, 0, n42, NULL, NULL), -1);
    CHECK_EXC(PyExc_TypeError, "exceptions must be classes, or instances, not int");
    CHECK_EQ_INT(PyTasklet_Throw(t, 1, n42, NULL, NULL), -1);
    CHECK_EXC(PyExc_TypeError, "exceptions must be classes, or instances, not int");
    /* A class that is not an exception class. */
    CHECK_EQ_INT(PyTasklet_Throw(t, 0, (PyObject *)&PyLong_Type, NULL, NULL), -1);
    CHECK_EXC(PyExc_TypeError, "exceptions must be classes, or instances, not type");

    /* Nothing happened to the target. */
    CHECK_LOG("");
    CHECK(g_exc == NULL);
    CHECK_EQ_INT(PyTasklet_GetBlocked(t), -1);
    CHECK_EQ_INT(PyChannel_GetBalance(ch), -1);
    CHECK_EQ_INT(PyTasklet_Alive(t), 1);

    /* Clean up: the tasklet catches TaskletExit and ends. */
    CHECK_EQ_INT(PyTasklet_Kill(t), 0);
    CHECK_LOG("caught:TaskletExit");
    CHECK_EQ_INT(PyTasklet_Alive(t), 0);
    Py_DECREF(n42);
    Py_DECREF(v);
    Py_XDECREF(inst);
    Py_DECREF(one);
    Py_DECREF(t);
    Py_DECREF(ch);
    Py_CLEAR(g_exc);
}

/* ---- B086-B089: raise_exception ------------------------------------------------------- */

/* B086 [mi] TestTaskletSwitching.test_raise_exception: "The tasklet is blocked on receive.
 * s.raise_exception(IndexError) makes receive raise IndexError; the tasklet catches it." */
static void test_B086(void) {
    reset_state();
    PyChannelObject *ch = PyChannel_New(NULL);
    PyTaskletObject *t = spawn_ch(&body_recv_catch_def, ch);
    CHECK_EQ_INT(PyTasklet_Run(t), 0);
    PyObject *empty = PyTuple_New(0);
    CHECK_EQ_INT(PyTasklet_RaiseException(t, PyExc_IndexError, empty), 0);
    CHECK_NO_EXC();
    CHECK_LOG("caught:IndexError");
    CHECK_EXC_ARGS(g_exc, "()");
    CHECK_EQ_INT(PyTasklet_Alive(t), 0);
    CHECK_EQ_INT(PyChannel_GetBalance(ch), 0);
    Py_DECREF(t);

    /* The same with args NULL (no arguments, as documented in the header). */
    reset_state();
    t = spawn_ch(&body_recv_catch_def, ch);
    CHECK_EQ_INT(PyTasklet_Run(t), 0);
    CHECK_EQ_INT(PyTasklet_RaiseException(t, PyExc_IndexError, NULL), 0);
    CHECK_NO_EXC();
    CHECK_LOG("caught:IndexError");
    CHECK_EXC_ARGS(g_exc, "()");
    CHECK_EQ_INT(PyTasklet_Alive(t), 0);
    Py_DECREF(t);

    Py_DECREF(empty);
    Py_DECREF(ch);
    Py_CLEAR(g_exc);
}

/* B087 [P]: "raise_exception(ValueError, "boom") on a blocked tasklet that does not catch it:
 * main gets ValueError('boom') from the raise_exception call, balance is 0 and the target is
 * dead." (§3.2: a non-tuple args is wrapped into a 1-tuple: the same result.) */
static void test_B087(void) {
    for (int wrapped = 0; wrapped < 2; wrapped++) {
        reset_state();
        PyChannelObject *ch = PyChannel_New(NULL);
        PyTaskletObject *t = spawn_ch(&body_recv_finally_def, ch);
        CHECK_EQ_INT(PyTasklet_Run(t), 0);
        PyObject *boom = PyUnicode_FromString("boom");
        PyObject *args = wrapped ? tuple1(boom) : Py_NewRef(boom);
        CHECK_EQ_INT(PyTasklet_RaiseException(t, PyExc_ValueError, args), -1);
        CHECK_EXC(PyExc_ValueError, "boom");
        CHECK_LOG("recv exc:ValueError balance 0 finally");
        CHECK_EQ_INT(PyChannel_GetBalance(ch), 0);
        CHECK_EQ_INT(PyTasklet_Alive(t), 0);
        CHECK_EQ_INT(PyStackless_GetRunCount(), 1);
        Py_DECREF(args);
        Py_DECREF(boom);
        Py_DECREF(t);
        Py_DECREF(ch);
    }
}

/* B088 [P]: "A victim blocked in receive catches the thrown ValueError and calls schedule();
 * O is queued. Log: victim got ValueError, schedules / main resumed after throw (balance 0) /
 * other runs / victim resumed. The target is inserted right before the thrower." */
static PyObject *b088_victim(PyObject *self, PyObject *args) {
    (void)self;
    PyObject *r = PyChannel_Receive(arg_ch(args));
    if (r == NULL) {
        log_exc("victim-got");
        PyErr_Clear();
        log_event("victim-schedules");
        r = PyStackless_Schedule(Py_None, 0);
        if (r == NULL) return NULL;
        log_event("victim-resumed");
    }
    Py_DECREF(r);
    Py_RETURN_NONE;
}
static PyMethodDef b088_victim_def = {"victim", b088_victim, METH_VARARGS, NULL};

static PyObject *b088_other(PyObject *self, PyObject *args) {
    (void)self;
    (void)args;
    log_event("other-runs");
    Py_RETURN_NONE;
}
static PyMethodDef b088_other_def = {"other", b088_other, METH_VARARGS, NULL};

static void test_B088(void) {
    reset_state();
    PyChannelObject *ch = PyChannel_New(NULL);
    PyTaskletObject *victim = spawn_ch(&b088_victim_def, ch);
    CHECK_EQ_INT(PyTasklet_Run(victim), 0);
    CHECK_EQ_INT(PyTasklet_GetBlocked(victim), -1);
    PyTaskletObject *o = spawn(&b088_other_def, NULL);
    CHECK_EQ_INT(PyTasklet_Throw(victim, 0, PyExc_ValueError, NULL, NULL), 0);
    CHECK_NO_EXC();
    log_eventf("main-resumed(balance=%ld)", PyChannel_GetBalance(ch));
    CHECK_EQ_INT(PyStackless_GetRunCount(), 3);
    run_all();
    CHECK_LOG("victim-got:ValueError victim-schedules main-resumed(balance=0) other-runs "
              "victim-resumed");
    CHECK_EQ_INT(PyTasklet_Alive(victim), 0);
    CHECK_EQ_INT(PyTasklet_Alive(o), 0);
    Py_DECREF(o);
    Py_DECREF(victim);
    Py_DECREF(ch);
}

/* B089 [P]: "raise_exception(TaskletExit) on a dead tasklet is OK (no-op)." */
static void test_B089(void) {
    reset_state();
    PyTaskletObject *t = spawn(&body_ran_def, NULL);
    run_all();
    PyObject *empty = PyTuple_New(0);
    CHECK_EQ_INT(PyTasklet_RaiseException(t, PyExc_TaskletExit, empty), 0);
    CHECK_NO_EXC();
    CHECK_EQ_INT(PyTasklet_RaiseException(t, PyExc_TaskletExit, NULL), 0);
    CHECK_NO_EXC();
    CHECK_EQ_INT(PyTasklet_Alive(t), 0);
    CHECK_EQ_INT(PyTasklet_Scheduled(t), 0);
    CHECK_LOG("ran");
    Py_DECREF(empty);
    Py_DECREF(t);
}

/* ---- §4.9: the other target states ---------------------------------------------------- */

/* §4.9 "current: exception raised directly in the caller | same (pending is meaningless)";
 * §3.2 "If t is the current tasklet the exception is raised directly in the caller (-1)";
 * "Killing the current tasklet raises TaskletExit in the caller (-1)." (From main.) */
static void test_S49_current_main(void) {
    reset_state();
    PyObject *cur = PyStackless_GetCurrent();
    PyTaskletObject *m = (PyTaskletObject *)cur;
    PyObject *x = PyUnicode_FromString("x");
    CHECK_EQ_INT(PyTasklet_RaiseException(m, PyExc_ValueError, x), -1);
    CHECK_EXC(PyExc_ValueError, "x");
    CHECK_EQ_INT(PyTasklet_Throw(m, 0, PyExc_KeyError, NULL, NULL), -1);
    CHECK_EXC(PyExc_KeyError, "");
    CHECK_EQ_INT(PyTasklet_Throw(m, 1, PyExc_IndexError, x, NULL), -1);
    CHECK_EXC(PyExc_IndexError, "x");
    CHECK_EQ_INT(PyTasklet_Kill(m), -1);
    CHECK_EXC(PyExc_TaskletExit, "");
    CHECK_EQ_INT(PyTasklet_KillEx(m, 1), -1);
    CHECK_EXC(PyExc_TaskletExit, "");
    /* Main is still the current, runnable tasklet. */
    CHECK_EQ_INT(PyTasklet_IsCurrent(m), 1);
    CHECK_EQ_INT(PyTasklet_Alive(m), 1);
    CHECK_EQ_INT(PyStackless_GetRunCount(), 1);
    Py_DECREF(x);
    Py_DECREF(cur);
}

/* §4.9 "current" inside a tasklet: t.raise_exception / t.throw on itself raise at the call
 * site (-1), and the tasklet can catch the error and go on. */
static PyObject *s49_self_body(PyObject *self, PyObject *args) {
    (void)self;
    (void)args;
    PyObject *cur = PyStackless_GetCurrent();
    int rc = PyTasklet_RaiseException((PyTaskletObject *)cur, PyExc_ValueError, NULL);
    log_eventf("raise=%ld", rc);
    log_exc("self");
    PyErr_Clear();
    rc = PyTasklet_Throw((PyTaskletObject *)cur, 1, PyExc_KeyError, NULL, NULL);
    log_eventf("throw=%ld", rc);
    log_exc("self");
    PyErr_Clear();
    Py_DECREF(cur);
    log_event("end");
    Py_RETURN_NONE;
}
static PyMethodDef s49_self_def = {"self", s49_self_body, METH_VARARGS, NULL};

static void test_S49_current_tasklet(void) {
    reset_state();
    PyTaskletObject *t = spawn(&s49_self_def, NULL);
    run_all();
    CHECK_LOG("raise=-1 self:ValueError throw=-1 self:KeyError end");
    CHECK_EQ_INT(PyTasklet_Alive(t), 0);
    Py_DECREF(t);
}

/* §4.9 "bound only (no args), or unbound | not alive: TaskletExit is a no-op; others
 * RuntimeError "You cannot throw to a dead tasklet" | same". */
static void test_S49_not_alive(void) {
    reset_state();
    PyObject *f = make_func(&body_ran_def);
    PyTaskletObject *bound = PyTasklet_New(NULL, f);
    PyTaskletObject *unbound = PyTasklet_New(NULL, NULL);
    PyTaskletObject *ts[2] = {bound, unbound};
    for (int i = 0; i < 2; i++) {
        PyTaskletObject *t = ts[i];
        CHECK(t != NULL);
        CHECK_EQ_INT(PyTasklet_Alive(t), 0);
        CHECK_EQ_INT(PyTasklet_Kill(t), 0);
        CHECK_NO_EXC();
        CHECK_EQ_INT(PyTasklet_KillEx(t, 1), 0);
        CHECK_NO_EXC();
        CHECK_EQ_INT(PyTasklet_RaiseException(t, PyExc_TaskletExit, NULL), 0);
        CHECK_NO_EXC();
        CHECK_EQ_INT(PyTasklet_Throw(t, 0, PyExc_IndexError, NULL, NULL), -1);
        CHECK_EXC(PyExc_RuntimeError, "You cannot throw to a dead tasklet");
        CHECK_EQ_INT(PyTasklet_Throw(t, 1, PyExc_IndexError, NULL, NULL), -1);
        CHECK_EXC(PyExc_RuntimeError, "You cannot throw to a dead tasklet");
        CHECK_EQ_INT(PyTasklet_RaiseException(t, PyExc_ValueError, NULL), -1);
        CHECK_EXC(PyExc_RuntimeError, "You cannot throw to a dead tasklet");
        CHECK_EQ_INT(PyTasklet_Alive(t), 0);
        CHECK_EQ_INT(PyTasklet_Scheduled(t), 0);
    }
    CHECK_EQ_INT(PyStackless_GetRunCount(), 1);
    CHECK_LOG("");
    Py_XDECREF(bound);
    Py_XDECREF(unbound);
    Py_XDECREF(f);
}

/* §4.9 "paused (removed) | linked before the caller and switched to | appended to the run
 * queue": a tasklet paused in schedule_remove(). */
static PyObject *s49_paused_body(PyObject *self, PyObject *args) {
    (void)self;
    (void)args;
    log_event("p:start");
    PyObject *r = PyStackless_Schedule(Py_None, 1);
    if (r == NULL) {
        log_exc("p");
        PyErr_Clear();
    } else {
        Py_DECREF(r);
        log_event("p:resumed");
    }
    log_event("p:end");
    Py_RETURN_NONE;
}
static PyMethodDef s49_paused_def = {"paused", s49_paused_body, METH_VARARGS, NULL};

static void test_S49_paused(void) {
    /* Immediate: the target runs at once, the caller continues right after it. */
    reset_state();
    PyTaskletObject *p = spawn(&s49_paused_def, NULL);
    CHECK_EQ_INT(PyTasklet_Run(p), 0);
    CHECK_EQ_INT(PyTasklet_Paused(p), 1);
    PyTaskletObject *o = spawn(&b088_other_def, NULL);
    CHECK_EQ_INT(PyTasklet_Throw(p, 0, PyExc_ValueError, NULL, NULL), 0);
    CHECK_NO_EXC();
    log_event("main");
    CHECK_LOG("p:start p:ValueError p:end main");
    CHECK_EQ_INT(PyTasklet_Alive(p), 0);
    CHECK_EQ_INT(PyTasklet_Alive(o), 1);
    run_all();
    CHECK_LOG("p:start p:ValueError p:end main other-runs");
    Py_DECREF(p);
    Py_DECREF(o);

    /* Pending: appended to the run queue (after o), the caller continues. */
    reset_state();
    p = spawn(&s49_paused_def, NULL);
    CHECK_EQ_INT(PyTasklet_Run(p), 0);
    o = spawn(&b088_other_def, NULL);
    CHECK_EQ_INT(PyTasklet_KillEx(p, 1), 0);
    CHECK_NO_EXC();
    CHECK_EQ_INT(PyTasklet_Paused(p), 0);
    CHECK_EQ_INT(PyTasklet_Scheduled(p), 1);
    CHECK_EQ_INT(PyStackless_GetRunCount(), 3);
    log_event("main");
    run_all();
    CHECK_LOG("p:start main other-runs p:TaskletExit p:end");
    CHECK_EQ_INT(PyTasklet_Alive(p), 0);
    Py_DECREF(p);
    Py_DECREF(o);

    /* Kill (immediate) of a paused tasklet. */
    reset_state();
    p = spawn(&s49_paused_def, NULL);
    CHECK_EQ_INT(PyTasklet_Run(p), 0);
    CHECK_EQ_INT(PyTasklet_Kill(p), 0);
    CHECK_NO_EXC();
    log_event("main");
    CHECK_LOG("p:start p:TaskletExit p:end main");
    CHECK_EQ_INT(PyTasklet_Alive(p), 0);
    CHECK_EQ_INT(PyStackless_GetRunCount(), 1);
    Py_DECREF(p);
}

/* ---- bad input ---------------------------------------------------------------------- */

/* SPEC §2: NULL or an object of the wrong type gives a clear exception naming the function;
 * §3.2: raise_exception's klass must be an exception class, else TypeError "tasklet.
 * raise_exception needs Exception or string subclass as first parameter". */
static void test_bad_input(void) {
    reset_state();
    CHECK_EQ_INT(PyTasklet_Kill(NULL), -1);
    CHECK_BAD_ARG("PyTasklet_Kill");
    CHECK_EQ_INT(PyTasklet_KillEx(NULL, 0), -1);
    CHECK_BAD_ARG("PyTasklet_Kill");
    CHECK_EQ_INT(PyTasklet_KillEx(NULL, 1), -1);
    CHECK_BAD_ARG("PyTasklet_Kill");
    CHECK_EQ_INT(PyTasklet_Throw(NULL, 0, PyExc_IndexError, NULL, NULL), -1);
    CHECK_BAD_ARG("PyTasklet_Throw");
    CHECK_EQ_INT(PyTasklet_RaiseException(NULL, PyExc_IndexError, NULL), -1);
    CHECK_BAD_ARG("PyTasklet_RaiseException");

    /* Wrong types: a channel and an int passed as the tasklet. */
    PyChannelObject *ch = PyChannel_New(NULL);
    PyObject *n = PyLong_FromLong(7);
    PyTaskletObject *wrong[2] = {(PyTaskletObject *)ch, (PyTaskletObject *)n};
    for (int i = 0; i < 2; i++) {
        CHECK_EQ_INT(PyTasklet_Kill(wrong[i]), -1);
        CHECK_EXC_CONTAINS(PyExc_TypeError, "PyTasklet_Kill");
        CHECK_EQ_INT(PyTasklet_KillEx(wrong[i], 1), -1);
        CHECK_EXC_CONTAINS(PyExc_TypeError, "PyTasklet_Kill");
        CHECK_EQ_INT(PyTasklet_Throw(wrong[i], 0, PyExc_IndexError, NULL, NULL), -1);
        CHECK_EXC_CONTAINS(PyExc_TypeError, "PyTasklet_Throw");
        CHECK_EQ_INT(PyTasklet_RaiseException(wrong[i], PyExc_IndexError, NULL), -1);
        CHECK_EXC_CONTAINS(PyExc_TypeError, "PyTasklet_RaiseException");
    }

    /* Bad exception classes for raise_exception. */
    PyTaskletObject *t = spawn(&body_ran_def, NULL);
    PyObject *s = PyUnicode_FromString("s");
    PyObject *inst = new_exc(PyExc_ValueError, s);
    PyObject *bad[3] = {n, (PyObject *)&PyLong_Type, NULL};
    for (int i = 0; i < 3; i++) {
        CHECK_EQ_INT(PyTasklet_RaiseException(t, bad[i], NULL), -1);
        CHECK_EXC(PyExc_TypeError,
                  "tasklet.raise_exception needs Exception or string subclass as first "
                  "parameter");
    }
    /* An exception instance is not an exception class either. */
    CHECK_EQ_INT(PyTasklet_RaiseException(t, inst, NULL), -1);
    CHECK_EXC(PyExc_TypeError, NULL);

    /* Nothing happened to the target: it still runs normally. */
    CHECK_EQ_INT(PyTasklet_Alive(t), 1);
    CHECK_EQ_INT(PyTasklet_Scheduled(t), 1);
    CHECK_LOG("");
    run_all();
    CHECK_LOG("ran");
    CHECK_EQ_INT(PyStackless_GetRunCount(), 1);

    Py_XDECREF(inst);
    Py_DECREF(s);
    Py_DECREF(t);
    Py_DECREF(n);
    Py_DECREF(ch);
}

/* Every test runs with soft switching enabled and disabled (SPEC §7: programs using the
 * plain calls give identical results and event orders in both modes). */
static void run_tests(void) {
    test_B070();
    test_B071();
    test_B072();
    test_B073();
    test_B074();
    test_B075();
    test_B076();
    test_B077();
    test_B078();
    test_B079();
    test_B080();
    test_B081();
    test_B082();
    test_B083();
    test_B084();
    test_B085();
    test_B086();
    test_B087();
    test_B088();
    test_B089();
    test_S49_current_main();
    test_S49_current_tasklet();
    test_S49_not_alive();
    test_S49_paused();
    test_bad_input();
}

int main(void) {
    for (int soft = 1; soft >= 0; soft--) {
        PyStackless_EnableSoftswitch(soft);
        CHECK_EQ_INT(PyStackless_EnableSoftswitch(-1), soft);
        run_tests();
    }
    CHECK_NO_EXC();
    return check_report();
}
