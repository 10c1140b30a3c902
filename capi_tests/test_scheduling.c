/* test_scheduling.c: scheduling order, run(), schedule(), tempval, runcount and
 * run()/switch() of single tasklets: catalogue rows B035-B054
 * (reference/stackless-semantics.md §4.2, §4.6, §5.4).
 *
 * Python -> C: `stackless.run()` PyStackless_RunWatchdog(0); `schedule(x)`
 * PyStackless_Schedule(x, 0); `schedule_remove(x)` PyStackless_Schedule(x, 1);
 * `tasklet(f)(args)` PyTasklet_New + PyTasklet_Setup (spawn); `t.run()` PyTasklet_Run;
 * `t.switch()` PyTasklet_Switch; `t.insert()/remove()` PyTasklet_Insert/Remove;
 * `getruncount()` PyStackless_GetRunCount; `stackless.main` PyStackless_GetMain.
 * SPEC §6/§11: there is no "outside": main exists from the first call and counts in the run
 * count; PyTasklet_Switch(current) is a no-op.
 *
 * Every row runs twice, with soft switching enabled and disabled (SPEC §7: plain calls must
 * give identical results in both modes). */
#include "tasklet_util.h"

static int soft_mode;

/* ---- small helpers ------------------------------------------------------------------- */

/* Item i of a body's args tuple: a C long (-1 if missing) / a borrowed object. (Read by hand;
 * PyArg_ParseTuple would do as well.) */
static long arg_long(PyObject *args, Py_ssize_t i) {
    PyObject *o = PyTuple_GetItem(args, i);
    return o ? PyLong_AsLong(o) : -1;
}
static PyObject *arg_obj(PyObject *args, Py_ssize_t i) { return PyTuple_GetItem(args, i); }

/* Schedules once (retval None), dropping the result; -1 on error. */
static int sched0(void) {
    PyObject *r = PyStackless_Schedule(Py_None, 0);
    if (r == NULL) return -1;
    Py_DECREF(r);
    return 0;
}

/* ---- tasklet bodies ------------------------------------------------------------------- */

/* loop_body(name, n): n times log "<name><i>" and schedule(); then log "<name>end". */
static PyObject *loop_body(PyObject *self, PyObject *args) {
    (void)self;
    const char *name = arg_str(args, 0);
    long n = arg_long(args, 1);
    if (name == NULL || PyErr_Occurred()) return NULL;
    char buf[64];
    for (long i = 0; i < n; i++) {
        snprintf(buf, sizeof buf, "%s%ld", name, i);
        log_event(buf);
        if (sched0() < 0) return NULL;
    }
    snprintf(buf, sizeof buf, "%send", name);
    log_event(buf);
    Py_RETURN_NONE;
}
static PyMethodDef loop_def = {"loop_body", loop_body, METH_VARARGS, NULL};

/* name_loop(name, n): n times log "<name>" and schedule() (the doc example of B047). */
static PyObject *name_loop(PyObject *self, PyObject *args) {
    (void)self;
    const char *name = arg_str(args, 0);
    long n = arg_long(args, 1);
    if (name == NULL || PyErr_Occurred()) return NULL;
    for (long i = 0; i < n; i++) {
        log_event(name);
        if (sched0() < 0) return NULL;
    }
    Py_RETURN_NONE;
}
static PyMethodDef name_loop_def = {"name_loop", name_loop, METH_VARARGS, NULL};

/* log_name(name): logs its argument and returns. */
static PyObject *log_name(PyObject *self, PyObject *args) {
    (void)self;
    const char *s = arg_str(args, 0);
    if (s == NULL) return NULL;
    log_event(s);
    Py_RETURN_NONE;
}
static PyMethodDef log_name_def = {"log_name", log_name, METH_VARARGS, NULL};

/* receiver(ch, name): logs "<name>:blocks", receives, logs "<name>:got <value>". */
static PyObject *receiver(PyObject *self, PyObject *args) {
    (void)self;
    PyObject *ch = arg_obj(args, 0);
    const char *name = arg_str(args, 1);
    if (ch == NULL || name == NULL) return NULL;
    char buf[128];
    snprintf(buf, sizeof buf, "%s:blocks", name);
    log_event(buf);
    PyObject *v = PyChannel_Receive((PyChannelObject *)ch);
    if (v == NULL) return NULL;
    PyObject *s = PyObject_Str(v);
    Py_DECREF(v);
    if (s == NULL) return NULL;
    snprintf(buf, sizeof buf, "%s:got %s", name, PyUnicode_AsUTF8(s));
    Py_DECREF(s);
    log_event(buf);
    Py_RETURN_NONE;
}
static PyMethodDef receiver_def = {"receiver", receiver, METH_VARARGS, NULL};

static PyTaskletObject *spawn_receiver(PyChannelObject *ch, const char *name) {
    return spawn(&receiver_def, tuple_steal(2, O(ch), S(name)));
}

/* ---- B035 ----------------------------------------------------------------------------- */

/* B035: Round robin: A loops 2 times, B 2 times, C once, each logging and calling
 * `schedule()`. Before `run()` runcount is 4. The log is exactly
 * `A0 B0 C0 A1 B1 Cend Aend Bend`, and runcount is 1 afterwards.
 * (SPEC §6: main counts, so 3 tasklets + main = 4.) */
static void test_B035(void) {
    log_reset();
    PyTaskletObject *a = spawn(&loop_def, tuple_steal(2, S("A"), L(2)));
    PyTaskletObject *b = spawn(&loop_def, tuple_steal(2, S("B"), L(2)));
    PyTaskletObject *c = spawn(&loop_def, tuple_steal(2, S("C"), L(1)));
    CHECK_EQ_INT(PyStackless_GetRunCount(), 4);
    run_all();
    CHECK_LOG("A0 B0 C0 A1 B1 Cend Aend Bend");
    CHECK_EQ_INT(PyStackless_GetRunCount(), 1);
    CHECK_EQ_INT(PyTasklet_Alive(a), 0);
    CHECK_EQ_INT(PyTasklet_Alive(b), 0);
    CHECK_EQ_INT(PyTasklet_Alive(c), 0);
    Py_XDECREF(a);
    Py_XDECREF(b);
    Py_XDECREF(c);
    check_main_alone();
}

/* ---- B036 ----------------------------------------------------------------------------- */

/* B036: `run()` with nothing scheduled returns None immediately. */
static void test_B036(void) {
    log_reset();
    CHECK_EQ_INT(PyStackless_GetRunCount(), 1);
    PyObject *r = PyStackless_RunWatchdog(0);
    CHECK(r == Py_None);
    Py_XDECREF(r);
    CHECK_NO_EXC();
    /* and from the Ex form, with the flag bits SPEC §6 defines */
    r = PyStackless_RunWatchdogEx(0, 0);
    CHECK(r == Py_None);
    Py_XDECREF(r);
    CHECK_LOG("");
    check_main_alone();
}

/* ---- B037 ----------------------------------------------------------------------------- */

/* B037: The only tasklet blocks on a channel. `run()` returns None; the tasklet stays
 * blocked and runcount is 1. No deadlock error, because the watchdog (main) is revived. */
static void test_B037(void) {
    log_reset();
    PyChannelObject *ch = PyChannel_New(NULL);
    PyTaskletObject *t = spawn_receiver(ch, "r");
    PyObject *r = PyStackless_RunWatchdog(0);
    CHECK(r == Py_None);
    Py_XDECREF(r);
    CHECK_NO_EXC();
    CHECK_LOG("r:blocks");
    CHECK_EQ_INT(PyTasklet_GetBlocked(t), -1);
    CHECK_EQ_INT(PyTasklet_Alive(t), 1);
    CHECK_EQ_INT(PyTasklet_Scheduled(t), 1); /* Stackless: blocked counts as scheduled */
    CHECK_EQ_INT(PyChannel_GetBalance(ch), -1);
    CHECK_EQ_INT(PyStackless_GetRunCount(), 1);
    /* finish it: pref -1, the receiver runs before send returns */
    PyObject *v = PyUnicode_FromString("x");
    CHECK_EQ_INT(PyChannel_Send(ch, v), 0);
    Py_DECREF(v);
    CHECK_LOG("r:blocks r:got x");
    CHECK_EQ_INT(PyTasklet_Alive(t), 0);
    Py_XDECREF(t);
    Py_XDECREF(ch);
    check_main_alone();
}

/* ---- B038 ----------------------------------------------------------------------------- */

/* Logs "rc=<runcount> ms=<main.scheduled> mp=<main.paused>" (C API and attributes). */
static PyObject *runcount_probe(PyObject *self, PyObject *args) {
    (void)self;
    (void)args;
    PyTaskletObject *m = get_main();
    char buf[128];
    snprintf(buf, sizeof buf, "rc=%d ms=%d mp=%d attr:ms=%d mp=%d", PyStackless_GetRunCount(),
             PyTasklet_Scheduled(m), PyTasklet_Paused(m), attr_bool(m, "scheduled"),
             attr_bool(m, "paused"));
    Py_DECREF(m);
    log_event(buf);
    Py_RETURN_NONE;
}
static PyMethodDef runcount_probe_def = {"runcount_probe", runcount_probe, METH_NOARGS, NULL};

/* B038: Main plus 2 tasklets: runcount 3 before `run()`. Inside the first tasklet runcount
 * is 2, inside the second 1, because `run()` removes main from the queue. Inside them
 * `main.scheduled == False` and `main.paused == True`. */
static void test_B038(void) {
    log_reset();
    PyTaskletObject *t1 = spawn(&runcount_probe_def, NULL);
    PyTaskletObject *t2 = spawn(&runcount_probe_def, NULL);
    CHECK_EQ_INT(PyStackless_GetRunCount(), 3);
    run_all();
    CHECK_LOG("rc=2 ms=0 mp=1 attr:ms=0 mp=1 rc=1 ms=0 mp=1 attr:ms=0 mp=1");
    PyTaskletObject *m = get_main();
    CHECK_EQ_INT(PyTasklet_Scheduled(m), 1);
    CHECK_EQ_INT(PyTasklet_Paused(m), 0);
    Py_DECREF(m);
    Py_XDECREF(t1);
    Py_XDECREF(t2);
    check_main_alone();
}

/* ---- B039 / B040 ---------------------------------------------------------------------- */

/* B039: `schedule("v")` from main with no other runnable tasklet returns `"v"`
 * immediately; runcount 1. */
static void test_B039(void) {
    log_reset();
    PyObject *v = PyUnicode_FromString("v");
    PyObject *r = PyStackless_Schedule(v, 0);
    CHECK(r == v);
    CHECK_OBJ_STR(r, "v");
    Py_XDECREF(r);
    CHECK_EQ_INT(PyStackless_GetRunCount(), 1);
    /* The main's tempval does not keep the value once it has been returned. */
    PyTaskletObject *m = get_main();
    PyObject *tv = PyTasklet_GetTempval(m);
    CHECK(tv == Py_None);
    Py_XDECREF(tv);
    Py_DECREF(m);
    Py_DECREF(v);
    /* The header: NULL retval means None. */
    r = PyStackless_Schedule(NULL, 0);
    CHECK(r == Py_None);
    Py_XDECREF(r);
    CHECK_NO_EXC();
    check_main_alone();
}

/* B040: `schedule_remove("w")` from main with nothing else runnable returns `"w"`
 * immediately. Main is re-inserted (scheduled True, runcount 1). */
static void test_B040(void) {
    log_reset();
    PyObject *w = PyUnicode_FromString("w");
    PyObject *r = PyStackless_Schedule(w, 1);
    CHECK(r == w);
    CHECK_OBJ_STR(r, "w");
    Py_XDECREF(r);
    CHECK_NO_EXC();
    PyTaskletObject *m = get_main();
    CHECK_EQ_INT(PyTasklet_Scheduled(m), 1);
    CHECK_EQ_INT(PyTasklet_Paused(m), 0);
    CHECK_EQ_INT(attr_bool(m, "scheduled"), 1);
    Py_DECREF(m);
    CHECK_EQ_INT(PyStackless_GetRunCount(), 1);
    Py_DECREF(w);
    check_main_alone();
}

/* ---- B041 ----------------------------------------------------------------------------- */

/* t1: logs "t1:a", schedules, logs "t1:b". */
static PyObject *t1_ab(PyObject *self, PyObject *args) {
    (void)self;
    (void)args;
    log_event("t1:a");
    if (sched0() < 0) return NULL;
    log_event("t1:b");
    Py_RETURN_NONE;
}
static PyMethodDef t1_ab_def = {"t1_ab", t1_ab, METH_NOARGS, NULL};

/* B041: Main calls `schedule_remove("R")`. t1 logs "a", schedules, logs "b". t2 blocks on
 * a channel. -> Log `t1 a, t2 blocks, t1 b`. Then main is revived with return value `"R"`
 * and the channel balance is -1. */
static void test_B041(void) {
    log_reset();
    PyChannelObject *ch = PyChannel_New(NULL);
    PyTaskletObject *t1 = spawn(&t1_ab_def, NULL);
    PyTaskletObject *t2 = spawn_receiver(ch, "t2");
    PyObject *rv = PyUnicode_FromString("R");
    PyObject *r = PyStackless_Schedule(rv, 1);
    CHECK(r == rv);
    CHECK_OBJ_STR(r, "R");
    Py_XDECREF(r);
    CHECK_NO_EXC();
    CHECK_LOG("t1:a t2:blocks t1:b");
    CHECK_EQ_INT(PyChannel_GetBalance(ch), -1);
    CHECK_EQ_INT(PyTasklet_GetBlocked(t2), -1);
    CHECK_EQ_INT(PyTasklet_Alive(t1), 0);
    CHECK_EQ_INT(PyStackless_GetRunCount(), 1);
    PyTaskletObject *m = get_main();
    CHECK_EQ_INT(PyTasklet_Scheduled(m), 1);
    Py_DECREF(m);
    /* cleanup: wake t2 */
    CHECK_EQ_INT(PyChannel_Send(ch, rv), 0);
    CHECK_LOG("t1:a t2:blocks t1:b t2:got R");
    CHECK_EQ_INT(PyTasklet_Alive(t2), 0);
    Py_DECREF(rv);
    Py_XDECREF(t1);
    Py_XDECREF(t2);
    Py_XDECREF(ch);
    check_main_alone();
}

/* ---- B042 ----------------------------------------------------------------------------- */

/* tempval_body: schedule("X") -> logs "got:X"; schedule(current) -> logs "cur" if it got
 * the current tasklet back; schedule_remove("Y") -> logs "got:<value>". */
static PyObject *tempval_body(PyObject *self, PyObject *args) {
    (void)self;
    (void)args;
    char buf[128];
    PyObject *x = PyUnicode_FromString("X");
    PyObject *r = PyStackless_Schedule(x, 0);
    Py_DECREF(x);
    if (r == NULL) return NULL;
    PyObject *s = PyObject_Str(r);
    snprintf(buf, sizeof buf, "got:%s", s ? PyUnicode_AsUTF8(s) : "?");
    Py_XDECREF(s);
    Py_DECREF(r);
    log_event(buf);

    /* Python's `schedule()` without argument: the retval is the current tasklet. */
    PyObject *cur = PyStackless_GetCurrent();
    r = PyStackless_Schedule(cur, 0);
    if (r == NULL) {
        Py_DECREF(cur);
        return NULL;
    }
    log_event(r == cur ? "cur" : "not-cur");
    Py_DECREF(r);
    Py_DECREF(cur);

    PyObject *y = PyUnicode_FromString("Y");
    r = PyStackless_Schedule(y, 1);
    Py_DECREF(y);
    if (r == NULL) return NULL;
    s = PyObject_Str(r);
    snprintf(buf, sizeof buf, "got:%s", s ? PyUnicode_AsUTF8(s) : "?");
    Py_XDECREF(s);
    Py_DECREF(r);
    log_event(buf);
    Py_RETURN_NONE;
}
static PyMethodDef tempval_def = {"tempval_body", tempval_body, METH_NOARGS, NULL};

/* B042: tempval: the tasklet does `schedule("X")`. While it is paused, `t.tempval == "X"`,
 * and on resume `schedule` returns "X". `schedule()` with no argument returns the current
 * tasklet. After `schedule_remove("Y")` the tasklet is paused with `t.tempval == "Y"`. Main
 * sets `t.tempval = "Z"` and calls `insert()` + `run()`: `schedule_remove` returns "Z".
 * (C has no default argument: `schedule()` is PyStackless_Schedule(current, 0).) */
static void test_B042(void) {
    log_reset();
    PyTaskletObject *t = spawn(&tempval_def, NULL);
    CHECK_EQ_INT(PyTasklet_Run(t), 0);
    /* t is waiting in schedule("X"): scheduled, not current */
    CHECK_LOG("");
    CHECK_EQ_INT(PyTasklet_Scheduled(t), 1);
    PyObject *tv = PyTasklet_GetTempval(t);
    CHECK_OBJ_STR(tv, "X");
    Py_XDECREF(tv);
    tv = PyObject_GetAttrString((PyObject *)t, "tempval");
    CHECK_OBJ_STR(tv, "X");
    Py_XDECREF(tv);

    CHECK_EQ_INT(PyTasklet_Run(t), 0);
    CHECK_LOG("got:X");
    /* t waits in schedule(current): its tempval is itself */
    tv = PyTasklet_GetTempval(t);
    CHECK(tv == (PyObject *)t);
    Py_XDECREF(tv);

    CHECK_EQ_INT(PyTasklet_Run(t), 0);
    CHECK_LOG("got:X cur");
    /* t waits in schedule_remove("Y"): paused */
    CHECK_EQ_INT(PyTasklet_Paused(t), 1);
    CHECK_EQ_INT(PyTasklet_Scheduled(t), 0);
    CHECK_EQ_INT(PyTasklet_Alive(t), 1);
    tv = PyTasklet_GetTempval(t);
    CHECK_OBJ_STR(tv, "Y");
    Py_XDECREF(tv);

    PyObject *z = PyUnicode_FromString("Z");
    CHECK_EQ_INT(PyTasklet_SetTempval(t, z), 0);
    tv = PyTasklet_GetTempval(t);
    CHECK(tv == z);
    Py_XDECREF(tv);
    Py_DECREF(z);
    CHECK_EQ_INT(PyTasklet_Insert(t), 0);
    CHECK_EQ_INT(PyTasklet_Run(t), 0);
    CHECK_LOG("got:X cur got:Z");
    CHECK_EQ_INT(PyTasklet_Alive(t), 0);
    Py_XDECREF(t);

    /* The same through the Python-level face: t.tempval = "Z2", t.insert(), t.run(). */
    log_reset();
    t = spawn(&tempval_def, NULL);
    PyObject *r = call_method0(t, "run");
    CHECK(r == Py_None);
    Py_XDECREF(r);
    r = call_method0(t, "run");
    CHECK(r == Py_None);
    Py_XDECREF(r);
    r = call_method0(t, "run");
    CHECK(r == Py_None);
    Py_XDECREF(r);
    CHECK_EQ_INT(attr_bool(t, "paused"), 1);
    tv = PyObject_GetAttrString((PyObject *)t, "tempval");
    CHECK_OBJ_STR(tv, "Y");
    Py_XDECREF(tv);
    PyObject *z2 = PyUnicode_FromString("Z2");
    CHECK_EQ_INT(PyObject_SetAttrString((PyObject *)t, "tempval", z2), 0);
    Py_DECREF(z2);
    r = call_method0(t, "insert");
    CHECK(r == Py_None);
    Py_XDECREF(r);
    CHECK_EQ_INT(attr_bool(t, "scheduled"), 1);
    r = call_method0(t, "run");
    CHECK(r == Py_None);
    Py_XDECREF(r);
    CHECK_LOG("got:X cur got:Z2");
    CHECK_EQ_INT(attr_bool(t, "alive"), 0);
    Py_XDECREF(t);
    check_main_alone();
}

/* ---- B043 ----------------------------------------------------------------------------- */

static PyObject *return_42(PyObject *self, PyObject *args) {
    (void)self;
    (void)args;
    log_event("ret42");
    return PyLong_FromLong(42);
}
static PyMethodDef return_42_def = {"return_42", return_42, METH_NOARGS, NULL};

/* B043: After a tasklet returns a value (e.g. 42), `t.tempval` is None and `alive` is
 * False. */
static void test_B043(void) {
    log_reset();
    PyTaskletObject *t = spawn(&return_42_def, NULL);
    CHECK_EQ_INT(PyTasklet_Run(t), 0);
    CHECK_LOG("ret42");
    PyObject *tv = PyTasklet_GetTempval(t);
    CHECK(tv == Py_None);
    Py_XDECREF(tv);
    tv = PyObject_GetAttrString((PyObject *)t, "tempval");
    CHECK(tv == Py_None);
    Py_XDECREF(tv);
    CHECK_EQ_INT(PyTasklet_Alive(t), 0);
    CHECK_EQ_INT(attr_bool(t, "alive"), 0);
    Py_XDECREF(t);
    check_main_alone();
}

/* ---- B044 / B045 ---------------------------------------------------------------------- */

/* foo(previous, insert): logs "foo" and previous.scheduled; with insert, calls
 * previous.insert() and logs previous.scheduled again. */
static PyObject *foo_body(PyObject *self, PyObject *args) {
    (void)self;
    PyObject *prev = arg_obj(args, 0);
    long do_insert = arg_long(args, 1);
    if (prev == NULL || PyErr_Occurred()) return NULL;
    log_event("foo");
    log_eventf("prev.scheduled=%ld", PyTasklet_Scheduled(T(prev)));
    if (do_insert) {
        if (PyTasklet_Insert(T(prev)) < 0) return NULL;
        log_eventf("inserted:prev.scheduled=%ld", PyTasklet_Scheduled(T(prev)));
    }
    Py_RETURN_NONE;
}
static PyMethodDef foo_def = {"foo", foo_body, METH_VARARGS, NULL};

/* x_body(remove): creates foo(previous=X) and calls schedule() / schedule_remove(). */
static PyObject *x_body(PyObject *self, PyObject *args) {
    (void)self;
    long remove = arg_long(args, 0);
    if (PyErr_Occurred()) return NULL;
    log_event("X:start");
    PyObject *me = PyStackless_GetCurrent();
    PyTaskletObject *foo = spawn(&foo_def, tuple_steal(2, O(me), L(remove)));
    Py_DECREF(me);
    if (foo == NULL) return NULL;
    Py_DECREF(foo);
    PyObject *r = PyStackless_Schedule(Py_None, (int)remove);
    if (r == NULL) return NULL;
    Py_DECREF(r);
    log_event("X:resumed");
    Py_RETURN_NONE;
}
static PyMethodDef x_def = {"x_body", x_body, METH_VARARGS, NULL};

/* B044: Inside tasklet X, tasklet `foo(previous=X)` is created and X calls `schedule()`.
 * foo runs and sees `previous.scheduled == True`; events == ["foo"]. */
static void test_B044(void) {
    log_reset();
    PyTaskletObject *x = spawn(&x_def, tuple_steal(1, L(0)));
    run_all();
    CHECK_LOG("X:start foo prev.scheduled=1 X:resumed");
    CHECK_EQ_INT(PyTasklet_Alive(x), 0);
    Py_XDECREF(x);
    check_main_alone();
}

/* B045: The same with `schedule_remove()`. foo sees `previous.scheduled == False`, calls
 * `previous.insert()`, after which previous.scheduled is True, and X resumes. */
static void test_B045(void) {
    log_reset();
    PyTaskletObject *x = spawn(&x_def, tuple_steal(1, L(1)));
    run_all();
    CHECK_LOG("X:start foo prev.scheduled=0 inserted:prev.scheduled=1 X:resumed");
    CHECK_EQ_INT(PyTasklet_Alive(x), 0);
    Py_XDECREF(x);
    check_main_alone();
}

/* ---- B046 ----------------------------------------------------------------------------- */

/* B046: `insert()` order: three paused tasklets inserted in the order 2, 0, 1, then
 * `run()`, give the order `[2, 0, 1]`. (Paused = bound with arguments, B065.) */
static void test_B046(void) {
    log_reset();
    PyTaskletObject *t[3];
    const char *names[3] = {"0", "1", "2"};
    PyObject *f = make_func(&log_name_def);
    for (int i = 0; i < 3; i++) {
        t[i] = PyTasklet_New(NULL, f);
        PyObject *args = tuple_steal(1, S(names[i]));
        CHECK_EQ_INT(PyTasklet_BindEx(t[i], NULL, args, NULL), 0);
        Py_DECREF(args);
        CHECK_EQ_INT(PyTasklet_Paused(t[i]), 1);
    }
    Py_DECREF(f);
    CHECK_EQ_INT(PyStackless_GetRunCount(), 1);
    CHECK_EQ_INT(PyTasklet_Insert(t[2]), 0);
    CHECK_EQ_INT(PyTasklet_Insert(t[0]), 0);
    CHECK_EQ_INT(PyTasklet_Insert(t[1]), 0);
    CHECK_EQ_INT(PyStackless_GetRunCount(), 4);
    run_all();
    CHECK_LOG("2 0 1");
    for (int i = 0; i < 3; i++) Py_XDECREF(t[i]);
    check_main_alone();
}

/* ---- B047 / B048 / B049 --------------------------------------------------------------- */

/* B047: t1, t2, t3 each log their name and schedule, 2 loops. Main calls `t2.run()`. Log:
 * `t2, t3`, then main continues. t1 does not run: run() jumps the cursor to t2 and main is
 * next after t3. (A following `run()` then finishes all three, starting with t1.) */
static void test_B047(void) {
    log_reset();
    PyTaskletObject *t1 = spawn(&name_loop_def, tuple_steal(2, S("t1"), L(2)));
    PyTaskletObject *t2 = spawn(&name_loop_def, tuple_steal(2, S("t2"), L(2)));
    PyTaskletObject *t3 = spawn(&name_loop_def, tuple_steal(2, S("t3"), L(2)));
    CHECK_EQ_INT(PyTasklet_Run(t2), 0);
    log_event("main");
    CHECK_LOG("t2 t3 main");
    CHECK_EQ_INT(PyStackless_GetRunCount(), 4);
    run_all();
    CHECK_LOG("t2 t3 main t1 t2 t3 t1");
    Py_XDECREF(t1);
    Py_XDECREF(t2);
    Py_XDECREF(t3);
    check_main_alone();
}

/* B048: a, b, c are scheduled, then `b.remove(); b.run()`. Only `b` runs and main resumes.
 * A later `run()` gives `a, c`. */
static void test_B048(void) {
    log_reset();
    PyTaskletObject *a = spawn_str(&log_name_def, "a");
    PyTaskletObject *b = spawn_str(&log_name_def, "b");
    PyTaskletObject *c = spawn_str(&log_name_def, "c");
    CHECK_EQ_INT(PyTasklet_Remove(b), 0);
    CHECK_EQ_INT(PyTasklet_Paused(b), 1);
    CHECK_EQ_INT(PyStackless_GetRunCount(), 3);
    CHECK_EQ_INT(PyTasklet_Run(b), 0);
    log_event("main");
    CHECK_LOG("b main");
    run_all();
    CHECK_LOG("b main a c");
    Py_XDECREF(a);
    Py_XDECREF(b);
    Py_XDECREF(c);

    /* The Python-level face: t.remove() returns t itself, t.run() returns None. */
    log_reset();
    a = spawn_str(&log_name_def, "a");
    b = spawn_str(&log_name_def, "b");
    PyObject *r = call_method0(b, "remove");
    CHECK(r == (PyObject *)b);
    Py_XDECREF(r);
    r = call_method0(b, "run");
    CHECK(r == Py_None);
    Py_XDECREF(r);
    log_event("main");
    run_all();
    CHECK_LOG("b main a");
    Py_XDECREF(a);
    Py_XDECREF(b);
    check_main_alone();
}

static int b049_flag;
static PyObject *set_flag(PyObject *self, PyObject *args) {
    (void)self;
    (void)args;
    b049_flag = 1;
    Py_RETURN_NONE;
}
static PyMethodDef set_flag_def = {"set_flag", set_flag, METH_NOARGS, NULL};

/* B049: `t.run()` on a fresh tasklet runs it to completion before `run()` returns (flag
 * set). */
static void test_B049(void) {
    log_reset();
    b049_flag = 0;
    PyTaskletObject *t = spawn(&set_flag_def, NULL);
    CHECK_EQ_INT(b049_flag, 0);
    CHECK_EQ_INT(PyTasklet_Run(t), 0);
    CHECK_EQ_INT(b049_flag, 1);
    CHECK_EQ_INT(PyTasklet_Alive(t), 0);
    Py_XDECREF(t);
    check_main_alone();
}

/* ---- B050 / B051 / B052 / B053 -------------------------------------------------------- */

/* Inside t: logs main.paused, main.scheduled, runcount; inserts main; logs "t:end". */
static PyObject *switch_probe(PyObject *self, PyObject *args) {
    (void)self;
    (void)args;
    PyTaskletObject *m = get_main();
    log_eventf("mp=%ld", PyTasklet_Paused(m));
    log_eventf("ms=%ld", PyTasklet_Scheduled(m));
    log_eventf("rc=%ld", PyStackless_GetRunCount());
    int r = PyTasklet_Insert(m);
    Py_DECREF(m);
    if (r < 0) return NULL;
    log_eventf("rc=%ld", PyStackless_GetRunCount());
    log_event("t:end");
    Py_RETURN_NONE;
}
static PyMethodDef switch_probe_def = {"switch_probe", switch_probe, METH_NOARGS, NULL};

/* B050: `t.switch()` from main: inside t, `main.paused == True`, `main.scheduled ==
 * False`, runcount 1. t does `main.insert()`, and main continues after t finishes. */
static void test_B050(void) {
    log_reset();
    PyTaskletObject *t = spawn(&switch_probe_def, NULL);
    CHECK_EQ_INT(PyTasklet_Switch(t), 0);
    log_event("main");
    CHECK_LOG("mp=1 ms=0 rc=1 rc=2 t:end main");
    CHECK_EQ_INT(PyTasklet_Alive(t), 0);
    Py_XDECREF(t);
    check_main_alone();
}

/* B051: `current.switch()` with nothing else runnable is a no-op, even twice.
 * SPEC §11: PyTasklet_Switch(current) is a no-op also while other tasklets are runnable
 * (Stackless corrupts its scheduler there). */
static void test_B051(void) {
    log_reset();
    PyTaskletObject *cur = get_current();
    CHECK_EQ_INT(PyTasklet_Switch(cur), 0);
    CHECK_EQ_INT(PyTasklet_Switch(cur), 0);
    CHECK_NO_EXC();
    CHECK_EQ_INT(PyTasklet_Scheduled(cur), 1);
    CHECK_EQ_INT(PyStackless_GetRunCount(), 1);
    PyObject *r = call_method0(cur, "switch");
    CHECK(r == Py_None);
    Py_XDECREF(r);

    /* SPEC §11 variant: another tasklet is runnable; nothing runs, main stays queued. */
    PyTaskletObject *o = spawn_str(&log_name_def, "other");
    CHECK_EQ_INT(PyTasklet_Switch(cur), 0);
    CHECK_LOG("");
    CHECK_EQ_INT(PyTasklet_Scheduled(cur), 1);
    CHECK_EQ_INT(PyTasklet_IsCurrent(cur), 1);
    CHECK_EQ_INT(PyStackless_GetRunCount(), 2);
    /* and the scheduler is still sound afterwards */
    CHECK_EQ_INT(sched0(), 0);
    CHECK_LOG("other");
    CHECK_EQ_INT(PyTasklet_Alive(o), 0);
    Py_XDECREF(o);
    Py_XDECREF(cur);
    check_main_alone();
}

/* B052: `t.bind(args=())` makes t paused; `t.switch()` runs it. (Main is then paused; when
 * t ends with nothing else runnable main is revived, §4.6 rule 1.) */
static void test_B052(void) {
    log_reset();
    PyObject *f = make_func(&log_name_def);
    PyTaskletObject *t = PyTasklet_New(NULL, f);
    Py_DECREF(f);
    PyObject *args = tuple_steal(1, S("t"));
    CHECK_EQ_INT(PyTasklet_BindEx(t, NULL, args, NULL), 0);
    Py_DECREF(args);
    CHECK_EQ_INT(PyTasklet_Paused(t), 1);
    CHECK_EQ_INT(PyTasklet_Scheduled(t), 0);
    CHECK_EQ_INT(PyTasklet_Switch(t), 0);
    CHECK_LOG("t");
    CHECK_EQ_INT(PyTasklet_Alive(t), 0);
    Py_XDECREF(t);
    check_main_alone();
}

/* B053: `t.switch()` to a blocked tasklet raises `RuntimeError` matching "blocked" and t
 * stays blocked. `ch.send(None)` later completes it. */
static void test_B053(void) {
    log_reset();
    PyChannelObject *ch = PyChannel_New(NULL);
    PyTaskletObject *t = spawn_receiver(ch, "r");
    CHECK_EQ_INT(PyTasklet_Run(t), 0);
    CHECK_EQ_INT(PyTasklet_GetBlocked(t), -1);
    CHECK_EQ_INT(PyTasklet_Switch(t), -1);
    CHECK_EXC(PyExc_RuntimeError, "You cannot run a blocked tasklet");
    CHECK_EQ_INT(PyTasklet_GetBlocked(t), -1);
    CHECK_EQ_INT(PyChannel_GetBalance(ch), -1);
    /* the failed switch did not remove the caller */
    PyTaskletObject *m = get_main();
    CHECK_EQ_INT(PyTasklet_Scheduled(m), 1);
    Py_DECREF(m);
    CHECK_EQ_INT(PyStackless_GetRunCount(), 1);
    CHECK_EQ_INT(PyChannel_Send(ch, Py_None), 0);
    CHECK_LOG("r:blocks r:got None");
    CHECK_EQ_INT(PyTasklet_Alive(t), 0);
    Py_XDECREF(t);
    Py_XDECREF(ch);
    check_main_alone();
}

/* ---- B054 ----------------------------------------------------------------------------- */

static PyObject *self_remove(PyObject *self, PyObject *args) {
    (void)self;
    (void)args;
    log_event("f:start");
    PyObject *r = PyStackless_Schedule(Py_None, 1);
    if (r == NULL) {
        log_event(PyErr_ExceptionMatches(PyExc_TaskletExit) ? "f:TaskletExit" : "f:error");
        return NULL;
    }
    Py_DECREF(r);
    log_event("f:resumed");
    Py_RETURN_NONE;
}
static PyMethodDef self_remove_def = {"self_remove", self_remove, METH_NOARGS, NULL};

/* B054: `schedule_remove(None)` in a tasklet that holds the last reference to itself does
 * not crash, under `run()` and under main's `schedule_remove(None)`.
 * In C the tasklet holds no reference to itself: once it leaves the run queue nobody else
 * holds it. SPEC §4: dropping the last reference to an alive tasklet with its own C stack
 * kills it (TaskletExit raised in it, its cleanup runs) exactly once. */
static void test_B054(void) {
    log_reset();
    PyTaskletObject *t = spawn(&self_remove_def, NULL);
    Py_XDECREF(t); /* the run queue holds the only reference now */
    run_all();
    CHECK_LOG("f:start f:TaskletExit");
    CHECK_EQ_INT(PyStackless_GetRunCount(), 1);

    log_reset();
    t = spawn(&self_remove_def, NULL);
    Py_XDECREF(t);
    PyObject *r = PyStackless_Schedule(Py_None, 1);
    CHECK(r == Py_None);
    Py_XDECREF(r);
    CHECK_NO_EXC();
    CHECK_LOG("f:start f:TaskletExit");
    PyTaskletObject *m = get_main();
    CHECK_EQ_INT(PyTasklet_Scheduled(m), 1);
    Py_DECREF(m);
    check_main_alone();
}

/* ---- bad input ------------------------------------------------------------------------ */

/* SPEC §2: NULL or a wrong-type pointer gives the failure value and SystemError /
 * TypeError naming the function, never a crash (check_bad_task_int). */
static void test_bad_input(void) {
    log_reset();
    check_bad_task_int(PyTasklet_Run, "PyTasklet_Run");
    check_bad_task_int(PyTasklet_Run_nr, "PyTasklet_Run_nr");
    check_bad_task_int(PyTasklet_Switch, "PyTasklet_Switch");
    check_bad_task_int(PyTasklet_Switch_nr, "PyTasklet_Switch_nr");
    check_bad_task_int(PyTasklet_Insert, "PyTasklet_Insert");
    check_bad_task_int(PyTasklet_Remove, "PyTasklet_Remove");
    check_bad_task_int(PyTasklet_Alive, "PyTasklet_Alive");
    check_bad_task_int(PyTasklet_Paused, "PyTasklet_Paused");
    check_bad_task_int(PyTasklet_Scheduled, "PyTasklet_Scheduled");
    check_bad_task_int(PyTasklet_GetBlocked, "PyTasklet_GetBlocked");
    check_bad_task_int(PyTasklet_IsMain, "PyTasklet_IsMain");
    check_bad_task_int(PyTasklet_IsCurrent, "PyTasklet_IsCurrent");

    PyObject *notask = PyUnicode_FromString("not a tasklet");
    CHECK(fails(PyTasklet_GetTempval(NULL)));
    CHECK_EXC_CONTAINS(PyExc_SystemError, "PyTasklet_GetTempval");
    CHECK(fails(PyTasklet_GetTempval(T(notask))));
    CHECK_EXC_CONTAINS(PyExc_TypeError, "PyTasklet_GetTempval");
    CHECK_EQ_INT(PyTasklet_SetTempval(NULL, Py_None), -1);
    CHECK_EXC_CONTAINS(PyExc_SystemError, "PyTasklet_SetTempval");
    CHECK_EQ_INT(PyTasklet_SetTempval(T(notask), Py_None), -1);
    CHECK_EXC_CONTAINS(PyExc_TypeError, "PyTasklet_SetTempval");

    CHECK(PyTasklet_Setup(NULL, notask, NULL) == -1);
    CHECK_EXC_CONTAINS(PyExc_SystemError, "PyTasklet_Setup");
    CHECK(PyTasklet_BindEx(NULL, NULL, NULL, NULL) == -1);
    CHECK_EXC_CONTAINS(PyExc_SystemError, "PyTasklet_BindEx");

    /* PyStackless_Schedule has no pointer argument that may be bad (NULL retval is None);
     * RunWatchdogEx rejects unknown flag bits with ValueError (SPEC §6). */
    PyObject *r = PyStackless_RunWatchdogEx(0, 1 << 8);
    CHECK(fails(r));
    CHECK_EXC(PyExc_ValueError, NULL);
    r = PyStackless_RunWatchdogEx(0, 32);
    CHECK(fails(r));
    CHECK_EXC(PyExc_ValueError, NULL);
    r = PyStackless_RunWatchdogEx(0, -1);
    CHECK(fails(r));
    CHECK_EXC(PyExc_ValueError, NULL);

    /* A wrong-type channel for the channel calls used here. */
    CHECK(fails(PyChannel_Receive((PyChannelObject *)notask)));
    CHECK_EXC_CONTAINS(PyExc_TypeError, "PyChannel_Receive");
    CHECK_EQ_INT(PyChannel_Send(NULL, Py_None), -1);
    CHECK_EXC_CONTAINS(PyExc_SystemError, "PyChannel_Send");
    Py_DECREF(notask);
    check_main_alone();
}

int main(void) {
    for (int pass = 0; pass < 2; pass++) {
        soft_mode = pass == 0;
        PyStackless_EnableSoftswitch(soft_mode);
        CHECK_EQ_INT(PyStackless_EnableSoftswitch(-1), soft_mode);
        test_B035();
        test_B036();
        test_B037();
        test_B038();
        test_B039();
        test_B040();
        test_B041();
        test_B042();
        test_B043();
        test_B044();
        test_B045();
        test_B046();
        test_B047();
        test_B048();
        test_B049();
        test_B050();
        test_B051();
        test_B052();
        test_B053();
        test_B054();
    }
    PyStackless_EnableSoftswitch(1);
    test_bad_input();
    return check_report();
}
