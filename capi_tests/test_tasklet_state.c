/* test_tasklet_state.c: insert / remove / bind / setup errors and the tasklet state
 * attributes: catalogue rows B055-B069 (reference/stackless-semantics.md §3.2, §4.10, §5.5),
 * through the C API and through the Python-level face (PyObject_GetAttrString /
 * PyObject_SetAttrString / methods called via PyObject_GetAttrString + PyObject_Call*).
 *
 * Python -> C: `tasklet()` PyTasklet_New(NULL, NULL); `tasklet(f)` PyTasklet_New(NULL, f);
 * `t.bind(f, args, kwargs)` PyTasklet_BindEx; `t.setup(*args)` PyTasklet_Setup;
 * `t.run()/switch()/insert()/remove()` PyTasklet_Run/Switch/Insert/Remove;
 * `stackless.run()` PyStackless_RunWatchdog(0).
 *
 * C has no Python frames: SPEC §7 defines what nesting_level, recursion_depth and restorable
 * mean here (body at nesting level 0 and recursion depth 1; each library-mediated nested
 * call such as PyObject_Call adds one; a tasklet that blocked with a hard switch has C state
 * and is not restorable; a `_nr` call in tail position of a body switches soft when soft
 * switching is enabled). Rows run with soft switching enabled and disabled. */
#include <pthread.h>

#include "tasklet_util.h"

static int soft_mode;

/* ---- small helpers ------------------------------------------------------------------- */

/* Logs `ok` when `rc` is 0, otherwise the message of the pending exception (which it clears);
 * returns None for the tasklet body that called it. */
static PyObject *log_outcome(int rc, const char *ok) {
    if (rc == 0) {
        log_event(ok);
        Py_RETURN_NONE;
    }
    PyObject *exc = PyErr_GetRaisedException();
    PyObject *s = PyObject_Str(exc);
    log_event(s ? PyUnicode_AsUTF8(s) : "?");
    Py_XDECREF(s);
    Py_XDECREF(exc);
    Py_RETURN_NONE;
}

/* Int attribute through the Python-level face, or -1000 on error. */
static long attr_long(PyTaskletObject *t, const char *name) {
    PyObject *v = PyObject_GetAttrString((PyObject *)t, name);
    if (v == NULL) {
        PyErr_Clear();
        return -1000;
    }
    long r = PyLong_Check(v) ? PyLong_AsLong(v) : -1000;
    Py_DECREF(v);
    return r;
}

/* t.<name>(*args) (args stolen). */
static PyObject *call_method(PyTaskletObject *t, const char *name, PyObject *args) {
    PyObject *m = PyObject_GetAttrString((PyObject *)t, name);
    PyObject *r = NULL;
    if (m != NULL && args != NULL) r = PyObject_Call(m, args, NULL);
    Py_XDECREF(m);
    Py_XDECREF(args);
    return r;
}

/* State checks through the C API and the attributes: alive, paused, scheduled, blocked. */
static void expect(int line, const char *what, long got, long want) {
    if (got == want) {
        check_passed_count++;
        return;
    }
    char buf[200];
    snprintf(buf, sizeof buf, "%s: got %ld, want %ld", what, got, want);
    check_fail(__FILE__, line, buf);
}
static void check_state_at(int line, PyTaskletObject *t, int alive, int paused, int scheduled,
                           int blocked) {
    expect(line, "PyTasklet_Alive", PyTasklet_Alive(t), alive);
    expect(line, "PyTasklet_Paused", PyTasklet_Paused(t), paused);
    expect(line, "PyTasklet_Scheduled", PyTasklet_Scheduled(t), scheduled);
    expect(line, "PyTasklet_GetBlocked", PyTasklet_GetBlocked(t), blocked);
    expect(line, "t.alive", attr_bool(t, "alive"), alive);
    expect(line, "t.paused", attr_bool(t, "paused"), paused);
    expect(line, "t.scheduled", attr_bool(t, "scheduled"), scheduled);
    expect(line, "t.blocked", attr_bool(t, "blocked"), blocked != 0);
    if (PyErr_Occurred()) check_fail(__FILE__, line, "state getters left an exception");
}
#define CHECK_STATE(t, alive, paused, scheduled, blocked) \
    check_state_at(__LINE__, (t), (alive), (paused), (scheduled), (blocked))

/* 1 if PyTasklet_GetFrame(t) is NULL without an exception (the reference is released). */
static int has_no_frame(PyTaskletObject *t) {
    PyObject *f = PyTasklet_GetFrame(t);
    Py_XDECREF(f);
    return f == NULL && !PyErr_Occurred();
}

/* ---- tasklet bodies ------------------------------------------------------------------- */

/* log_name(name): logs its argument and returns. */
static PyObject *log_name(PyObject *self, PyObject *args) {
    (void)self;
    const char *s = arg_str(args, 0);
    if (s == NULL) return NULL;
    log_event(s);
    Py_RETURN_NONE;
}
static PyMethodDef log_name_def = {"log_name", log_name, METH_VARARGS, NULL};

/* receiver(ch): logs "r:blocks", receives, logs "r:got". */
static PyObject *receiver(PyObject *self, PyObject *args) {
    (void)self;
    PyObject *ch = PyTuple_GetItem(args, 0);
    if (ch == NULL) return NULL;
    log_event("r:blocks");
    PyObject *v = PyChannel_Receive((PyChannelObject *)ch);
    if (v == NULL) return NULL;
    Py_DECREF(v);
    log_event("r:got");
    Py_RETURN_NONE;
}
static PyMethodDef receiver_def = {"receiver", receiver, METH_VARARGS, NULL};

/* remove_then_finally: logs "task:start", schedule_remove(None), logs "task:resumed" and
 * (like a `finally:` block) "task:finally" on every way out. */
static PyObject *remove_then_finally(PyObject *self, PyObject *args) {
    (void)self;
    (void)args;
    log_event("task:start");
    PyObject *r = PyStackless_Schedule(Py_None, 1);
    if (r != NULL) {
        log_event("task:resumed");
        Py_DECREF(r);
    }
    log_event("task:finally");
    if (r == NULL) return NULL;
    Py_RETURN_NONE;
}
static PyMethodDef remove_then_finally_def = {"remove_then_finally", remove_then_finally,
                                              METH_NOARGS, NULL};

/* soft_remove: logs "soft:start" and ends with `return PyStackless_Schedule_nr(None, 1)`
 * in tail position: SPEC §7, a soft switch when soft switching is enabled. */
static PyObject *soft_remove(PyObject *self, PyObject *args) {
    (void)self;
    (void)args;
    log_event("soft:start");
    return PyStackless_Schedule_nr(Py_None, 1);
}
static PyMethodDef soft_remove_def = {"soft_remove", soft_remove, METH_NOARGS, NULL};

/* ---- B055 ----------------------------------------------------------------------------- */

/* B055: On a dead tasklet (ran to completion), `insert`, `run` and `switch` all raise
 * `RuntimeError("You cannot run an unbound(dead) tasklet")`. */
static void test_B055(void) {
    log_reset();
    PyTaskletObject *t = spawn_str(&log_name_def, "t");
    CHECK_EQ_INT(PyTasklet_Run(t), 0);
    CHECK_LOG("t");
    CHECK_STATE(t, 0, 0, 0, 0);
    CHECK_EQ_INT(PyTasklet_Insert(t), -1);
    CHECK_EXC(PyExc_RuntimeError, "You cannot run an unbound(dead) tasklet");
    CHECK_EQ_INT(PyTasklet_Run(t), -1);
    CHECK_EXC(PyExc_RuntimeError, "You cannot run an unbound(dead) tasklet");
    CHECK_EQ_INT(PyTasklet_Switch(t), -1);
    CHECK_EXC(PyExc_RuntimeError, "You cannot run an unbound(dead) tasklet");
    CHECK_EQ_INT(PyTasklet_Run_nr(t), -1);
    CHECK_EXC(PyExc_RuntimeError, "You cannot run an unbound(dead) tasklet");
    CHECK_EQ_INT(PyTasklet_Switch_nr(t), -1);
    CHECK_EXC(PyExc_RuntimeError, "You cannot run an unbound(dead) tasklet");
    /* the methods */
    const char *methods[] = {"insert", "run", "switch"};
    for (int i = 0; i < 3; i++) {
        CHECK(fails(call_method0(t, methods[i])));
        CHECK_EXC(PyExc_RuntimeError, "You cannot run an unbound(dead) tasklet");
    }
    CHECK_STATE(t, 0, 0, 0, 0);
    CHECK_LOG("t");
    Py_XDECREF(t);
    check_main_alone();
}

/* ---- B056 ----------------------------------------------------------------------------- */

/* B056: On a blocked tasklet: `insert` -> "You cannot run a blocked tasklet"; `remove` ->
 * "You cannot remove a blocked tasklet."; `run` and `switch` -> "You cannot run a blocked
 * tasklet". */
static void test_B056(void) {
    log_reset();
    PyChannelObject *ch = PyChannel_New(NULL);
    PyTaskletObject *t = spawn(&receiver_def, tuple_steal(1, O(ch)));
    CHECK_EQ_INT(PyTasklet_Run(t), 0);
    CHECK_STATE(t, 1, 0, 1, -1);
    CHECK_EQ_INT(PyTasklet_Insert(t), -1);
    CHECK_EXC(PyExc_RuntimeError, "You cannot run a blocked tasklet");
    CHECK_EQ_INT(PyTasklet_Remove(t), -1);
    CHECK_EXC(PyExc_RuntimeError, "You cannot remove a blocked tasklet.");
    CHECK_EQ_INT(PyTasklet_Run(t), -1);
    CHECK_EXC(PyExc_RuntimeError, "You cannot run a blocked tasklet");
    CHECK_EQ_INT(PyTasklet_Switch(t), -1);
    CHECK_EXC(PyExc_RuntimeError, "You cannot run a blocked tasklet");
    CHECK(fails(call_method0(t, "insert")));
    CHECK_EXC(PyExc_RuntimeError, "You cannot run a blocked tasklet");
    CHECK(fails(call_method0(t, "remove")));
    CHECK_EXC(PyExc_RuntimeError, "You cannot remove a blocked tasklet.");
    CHECK(fails(call_method0(t, "run")));
    CHECK_EXC(PyExc_RuntimeError, "You cannot run a blocked tasklet");
    CHECK(fails(call_method0(t, "switch")));
    CHECK_EXC(PyExc_RuntimeError, "You cannot run a blocked tasklet");
    /* nothing changed */
    CHECK_STATE(t, 1, 0, 1, -1);
    CHECK_EQ_INT(PyChannel_GetBalance(ch), -1);
    CHECK_EQ_INT(PyStackless_GetRunCount(), 1);
    CHECK_LOG("r:blocks");
    CHECK_EQ_INT(PyChannel_Send(ch, Py_None), 0);
    CHECK_LOG("r:blocks r:got");
    CHECK_STATE(t, 0, 0, 0, 0);
    finish(t);
    Py_XDECREF(t);
    Py_XDECREF(ch);
    check_main_alone();
}

/* ---- B057 ----------------------------------------------------------------------------- */

static PyObject *remove_self(PyObject *self, PyObject *args) {
    (void)self;
    (void)args;
    PyTaskletObject *cur = get_current();
    int r = PyTasklet_Remove(cur);
    Py_DECREF(cur);
    return log_outcome(r, "remove-ok");
}
static PyMethodDef remove_self_def = {"remove_self", remove_self, METH_NOARGS, NULL};

/* B057: `getcurrent().remove()` raises "The current tasklet cannot be removed.". */
static void test_B057(void) {
    log_reset();
    PyTaskletObject *cur = get_current();
    CHECK_EQ_INT(PyTasklet_Remove(cur), -1);
    CHECK_EXC(PyExc_RuntimeError, "The current tasklet cannot be removed.");
    CHECK(fails(call_method0(cur, "remove")));
    CHECK_EXC(PyExc_RuntimeError, "The current tasklet cannot be removed.");
    CHECK_EQ_INT(PyTasklet_Scheduled(cur), 1);
    Py_DECREF(cur);
    /* the same inside a tasklet */
    PyTaskletObject *t = spawn(&remove_self_def, NULL);
    run_all();
    CHECK_LOG("The current tasklet cannot be removed.");
    Py_XDECREF(t);
    check_main_alone();
}

/* ---- B058 ----------------------------------------------------------------------------- */

/* B058: `remove()` on a tasklet that is not scheduled is a no-op. `insert()` on a scheduled
 * tasklet is a no-op (runcount unchanged). Inserting the current tasklet is a no-op. */
static void test_B058(void) {
    log_reset();
    /* remove() on a paused tasklet and on a never-bound one */
    PyObject *f = make_func(&log_name_def);
    PyTaskletObject *p = PyTasklet_New(NULL, f);
    PyObject *args = tuple_steal(1, S("p"));
    CHECK_EQ_INT(PyTasklet_BindEx(p, NULL, args, NULL), 0);
    Py_XDECREF(args);
    CHECK_STATE(p, 1, 1, 0, 0);
    CHECK_EQ_INT(PyTasklet_Remove(p), 0);
    CHECK_STATE(p, 1, 1, 0, 0);
    PyTaskletObject *u = PyTasklet_New(NULL, NULL);
    CHECK_EQ_INT(PyTasklet_Remove(u), 0);
    CHECK_STATE(u, 0, 0, 0, 0);
    CHECK_EQ_INT(PyStackless_GetRunCount(), 1);
    /* a dead tasklet */
    PyTaskletObject *d = spawn_str(&log_name_def, "d");
    CHECK_EQ_INT(PyTasklet_Run(d), 0);
    CHECK_EQ_INT(PyTasklet_Remove(d), 0);
    CHECK_STATE(d, 0, 0, 0, 0);

    /* insert() on scheduled tasklets: no-op, and the order is unchanged (not moved to the
     * end: a stays before b) */
    log_reset();
    PyTaskletObject *a = spawn_str(&log_name_def, "a");
    PyTaskletObject *b = spawn_str(&log_name_def, "b");
    CHECK_EQ_INT(PyStackless_GetRunCount(), 3);
    CHECK_EQ_INT(PyTasklet_Insert(a), 0);
    CHECK_EQ_INT(PyStackless_GetRunCount(), 3);
    PyObject *r = call_method0(a, "insert");
    CHECK(r == Py_None);
    Py_XDECREF(r);
    CHECK_EQ_INT(PyStackless_GetRunCount(), 3);
    /* inserting the current tasklet */
    PyTaskletObject *cur = get_current();
    CHECK_EQ_INT(PyTasklet_Insert(cur), 0);
    CHECK_EQ_INT(PyStackless_GetRunCount(), 3);
    CHECK_EQ_INT(PyTasklet_IsCurrent(cur), 1);
    Py_DECREF(cur);
    run_all();
    CHECK_LOG("a b");
    /* now run the paused one */
    CHECK_EQ_INT(PyTasklet_Insert(p), 0);
    CHECK_STATE(p, 1, 0, 1, 0);
    run_all();
    CHECK_LOG("a b p");
    Py_XDECREF(a);
    Py_XDECREF(b);
    Py_XDECREF(d);
    Py_XDECREF(u);
    Py_XDECREF(p);
    Py_DECREF(f);
    check_main_alone();
}

/* ---- B059 ----------------------------------------------------------------------------- */

/* B059: An unbound `tasklet()`: `insert` and `run` raise "You cannot run an unbound(dead)
 * tasklet". `setup()` raises "the tasklet was not bound to a function". */
static void test_B059(void) {
    log_reset();
    PyTaskletObject *t = PyTasklet_New(NULL, NULL);
    CHECK(t != NULL);
    CHECK_STATE(t, 0, 0, 0, 0);
    CHECK_EQ_INT(PyTasklet_Insert(t), -1);
    CHECK_EXC(PyExc_RuntimeError, "You cannot run an unbound(dead) tasklet");
    CHECK_EQ_INT(PyTasklet_Run(t), -1);
    CHECK_EXC(PyExc_RuntimeError, "You cannot run an unbound(dead) tasklet");
    PyObject *empty = PyTuple_New(0);
    CHECK_EQ_INT(PyTasklet_Setup(t, empty, NULL), -1);
    CHECK_EXC(PyExc_RuntimeError, "the tasklet was not bound to a function");
    Py_DECREF(empty);
    CHECK(fails(call_method0(t, "insert")));
    CHECK_EXC(PyExc_RuntimeError, "You cannot run an unbound(dead) tasklet");
    CHECK(fails(call_method0(t, "run")));
    CHECK_EXC(PyExc_RuntimeError, "You cannot run an unbound(dead) tasklet");
    CHECK(fails(call_method0(t, "setup")));
    CHECK_EXC(PyExc_RuntimeError, "the tasklet was not bound to a function");
    /* PyTasklet_New(NULL, Py_None) is unbound too */
    PyTaskletObject *t2 = PyTasklet_New(NULL, Py_None);
    CHECK(t2 != NULL);
    empty = PyTuple_New(0);
    CHECK_EQ_INT(PyTasklet_Setup(t2, empty, NULL), -1);
    CHECK_EXC(PyExc_RuntimeError, "the tasklet was not bound to a function");
    Py_DECREF(empty);
    CHECK_STATE(t, 0, 0, 0, 0);
    CHECK_EQ_INT(PyStackless_GetRunCount(), 1);
    Py_XDECREF(t);
    Py_XDECREF(t2);
    check_main_alone();
}

/* ---- B060 ----------------------------------------------------------------------------- */

/* B060: `tasklet()` is not alive, frame None, nesting_level 0, and `bind(None)` does not
 * change it. `bind(task)` + `setup(False)` + `run()`: the task does `schedule_remove`,
 * leaving it not scheduled, alive, restorable (soft) and with a frame. `insert()` + `run()`
 * completes it and the finally block runs once.
 * C: the task blocks with the plain PyStackless_Schedule, a hard switch, so it has C state
 * and is NOT restorable (SPEC §7). The soft form is a body ending in
 * `return PyStackless_Schedule_nr(None, 1)`: restorable while soft switching is enabled,
 * not restorable when it is disabled. */
static void test_B060(void) {
    log_reset();
    PyTaskletObject *t = PyTasklet_New(NULL, NULL);
    CHECK_STATE(t, 0, 0, 0, 0);
    CHECK(has_no_frame(t));
    PyObject *fr = PyObject_GetAttrString((PyObject *)t, "frame");
    CHECK(fr == Py_None);
    Py_XDECREF(fr);
    CHECK_EQ_INT(PyTasklet_GetNestingLevel(t), 0);
    CHECK_EQ_INT(attr_long(t, "nesting_level"), 0);
    CHECK_EQ_INT(PyTasklet_BindEx(t, NULL, NULL, NULL), 0); /* bind(None) */
    CHECK_EQ_INT(PyTasklet_BindEx(t, Py_None, NULL, NULL), 0);
    CHECK_STATE(t, 0, 0, 0, 0);
    CHECK(has_no_frame(t));

    PyObject *task = make_func(&remove_then_finally_def);
    CHECK_EQ_INT(PyTasklet_BindEx(t, task, NULL, NULL), 0);
    CHECK_STATE(t, 0, 0, 0, 0);
    PyObject *setup_args = PyTuple_New(0);
    CHECK_EQ_INT(PyTasklet_Setup(t, setup_args, NULL), 0);
    Py_DECREF(setup_args);
    CHECK_STATE(t, 1, 0, 1, 0);
    CHECK_EQ_INT(PyTasklet_Run(t), 0);
    CHECK_LOG("task:start");
    CHECK_STATE(t, 1, 1, 0, 0);
    CHECK_EQ_INT(PyTasklet_Restorable(t), 0); /* hard switched: C state */
    CHECK_EQ_INT(attr_bool(t, "restorable"), 0);
    fr = PyTasklet_GetFrame(t);
    CHECK(fr != NULL && fr != Py_None);
    Py_XDECREF(fr);
    fr = PyObject_GetAttrString((PyObject *)t, "frame");
    CHECK(fr != NULL && fr != Py_None);
    Py_XDECREF(fr);
    CHECK_EQ_INT(PyTasklet_Insert(t), 0);
    CHECK_EQ_INT(PyTasklet_Run(t), 0);
    CHECK_LOG("task:start task:resumed task:finally");
    CHECK_STATE(t, 0, 0, 0, 0);
    CHECK(has_no_frame(t));
    finish(t);
    Py_XDECREF(t);
    Py_DECREF(task);

    /* the soft form */
    log_reset();
    t = spawn(&soft_remove_def, NULL);
    CHECK_EQ_INT(PyTasklet_Run(t), 0);
    CHECK_LOG("soft:start");
    CHECK_STATE(t, 1, 1, 0, 0);
    CHECK_EQ_INT(PyTasklet_Restorable(t), soft_mode);
    CHECK_EQ_INT(attr_bool(t, "restorable"), soft_mode);
    fr = PyTasklet_GetFrame(t);
    CHECK(fr != NULL && fr != Py_None);
    Py_XDECREF(fr);
    PyObject *z = S("Z");
    CHECK_EQ_INT(PyTasklet_SetTempval(t, z), 0);
    Py_DECREF(z);
    CHECK_EQ_INT(PyTasklet_Insert(t), 0);
    CHECK_EQ_INT(PyTasklet_Run(t), 0);
    CHECK_STATE(t, 0, 0, 0, 0);
    finish(t);
    Py_XDECREF(t);
    check_main_alone();
}

/* ---- B061 ----------------------------------------------------------------------------- */

/* B061: `bind(non-callable)` raises TypeError matching "callable". */
static void test_B061(void) {
    log_reset();
    PyTaskletObject *t = PyTasklet_New(NULL, NULL);
    PyObject *three = L(3);
    CHECK_EQ_INT(PyTasklet_BindEx(t, three, NULL, NULL), -1);
    CHECK_EXC(PyExc_TypeError, "tasklet function must be a callable or None");
    PyObject *args = PyTuple_New(0);
    CHECK_EQ_INT(PyTasklet_BindEx(t, three, args, NULL), -1);
    CHECK_EXC_CONTAINS(PyExc_TypeError, "callable");
    Py_DECREF(args);
    CHECK(fails(call_method(t, "bind", tuple_steal(1, O(three)))));
    CHECK_EXC_CONTAINS(PyExc_TypeError, "callable");
    CHECK_STATE(t, 0, 0, 0, 0);
    /* tasklet(non-callable) */
    CHECK(fails(PyTasklet_New(NULL, three)));
    CHECK_EXC_CONTAINS(PyExc_TypeError, "callable");
    Py_DECREF(three);
    Py_XDECREF(t);
    check_main_alone();
}

/* ---- B062 ----------------------------------------------------------------------------- */

/* B062: A paused, soft-switched tasklet inside `try/finally`: after `bind(None)` it is not
 * alive and has no frame. The finally block never runs (count 0). Afterwards `run()` raises
 * "You cannot run an unbound(dead) tasklet".
 * C: (a) a tasklet paused without C state because it never started (bound with arguments):
 * unbinding discards it and its function never runs. (b) the soft form of B060: with soft
 * switching enabled it has no C state and can be unbound; with it disabled it has C state
 * and bind(None) raises "tasklet has C state on its stack" (B063). */
static void test_B062(void) {
    log_reset();
    PyObject *f = make_func(&remove_then_finally_def);
    PyTaskletObject *t = PyTasklet_New(NULL, f);
    PyObject *args = PyTuple_New(0);
    CHECK_EQ_INT(PyTasklet_BindEx(t, NULL, args, NULL), 0);
    Py_DECREF(args);
    CHECK_STATE(t, 1, 1, 0, 0);
    CHECK_EQ_INT(PyTasklet_Restorable(t), 1);
    CHECK_EQ_INT(PyTasklet_BindEx(t, NULL, NULL, NULL), 0);
    CHECK_STATE(t, 0, 0, 0, 0);
    CHECK(has_no_frame(t));
    CHECK_EQ_INT(PyTasklet_Run(t), -1);
    CHECK_EXC(PyExc_RuntimeError, "You cannot run an unbound(dead) tasklet");
    CHECK_LOG("");
    Py_XDECREF(t);
    Py_DECREF(f);

    /* (b) */
    log_reset();
    t = spawn(&soft_remove_def, NULL);
    CHECK_EQ_INT(PyTasklet_Run(t), 0);
    CHECK_LOG("soft:start");
    CHECK_STATE(t, 1, 1, 0, 0);
    if (soft_mode) {
        CHECK_EQ_INT(PyTasklet_BindEx(t, NULL, NULL, NULL), 0);
        CHECK_NO_EXC();
        CHECK_STATE(t, 0, 0, 0, 0);
        CHECK(has_no_frame(t));
        CHECK_EQ_INT(PyTasklet_Run(t), -1);
        CHECK_EXC(PyExc_RuntimeError, "You cannot run an unbound(dead) tasklet");
    } else {
        CHECK_EQ_INT(PyTasklet_BindEx(t, NULL, NULL, NULL), -1);
        CHECK_EXC(PyExc_RuntimeError, "tasklet has C state on its stack");
        CHECK_STATE(t, 1, 1, 0, 0);
    }
    CHECK_LOG("soft:start");
    finish(t);
    Py_XDECREF(t);
    check_main_alone();
}

/* ---- B063 ----------------------------------------------------------------------------- */

static PyObject *bind_self(PyObject *self, PyObject *args) {
    (void)self;
    (void)args;
    PyTaskletObject *cur = get_current();
    int r = PyTasklet_BindEx(cur, NULL, NULL, NULL);
    Py_DECREF(cur);
    return log_outcome(r, "bind-ok");
}
static PyMethodDef bind_self_def = {"bind_self", bind_self, METH_NOARGS, NULL};

/* B063: `current.bind(None)` -> RuntimeError "can't (re)bind the current tasklet".
 * `bind(None)` on a scheduled tasklet -> "tasklet is scheduled". On a paused tasklet with C
 * state -> "tasklet has C state on its stack". Dropping the last reference to such a C-state
 * tasklet kills it, so its finally block runs once.
 * (§3.2: "tasklet is scheduled" is also raised for a blocked tasklet. SPEC §7: a body that
 * blocked with a plain hard switch has C state; its body runs at nesting level 0.) */
static void test_B063(void) {
    log_reset();
    PyTaskletObject *t = spawn(&bind_self_def, NULL);
    run_all();
    CHECK_LOG("can't (re)bind the current tasklet");
    Py_XDECREF(t);
    /* from main, main being current: the current-tasklet check comes first */
    PyTaskletObject *m = get_main();
    CHECK_EQ_INT(PyTasklet_BindEx(m, NULL, NULL, NULL), -1);
    CHECK_EXC(PyExc_RuntimeError, "can't (re)bind the current tasklet");
    CHECK(fails(call_method(m, "bind", tuple_steal(1, O(Py_None)))));
    CHECK_EXC(PyExc_RuntimeError, "can't (re)bind the current tasklet");
    Py_DECREF(m);

    /* scheduled */
    log_reset();
    t = spawn_str(&log_name_def, "s");
    CHECK_EQ_INT(PyTasklet_BindEx(t, NULL, NULL, NULL), -1);
    CHECK_EXC(PyExc_RuntimeError, "tasklet is scheduled");
    CHECK_STATE(t, 1, 0, 1, 0);
    /* blocked */
    PyChannelObject *ch = PyChannel_New(NULL);
    PyTaskletObject *b = spawn(&receiver_def, tuple_steal(1, O(ch)));
    run_all();
    CHECK_LOG("s r:blocks");
    CHECK_STATE(b, 1, 0, 1, -1);
    CHECK_EQ_INT(PyTasklet_BindEx(b, NULL, NULL, NULL), -1);
    CHECK_EXC(PyExc_RuntimeError, "tasklet is scheduled");
    CHECK_STATE(b, 1, 0, 1, -1);
    CHECK_EQ_INT(PyChannel_Send(ch, Py_None), 0);
    CHECK_LOG("s r:blocks r:got");
    finish(b);
    Py_XDECREF(b);
    Py_XDECREF(ch);
    Py_XDECREF(t);

    /* paused with C state */
    log_reset();
    t = spawn(&remove_then_finally_def, NULL);
    CHECK_EQ_INT(PyTasklet_Run(t), 0);
    CHECK_STATE(t, 1, 1, 0, 0);
    CHECK_EQ_INT(PyTasklet_Restorable(t), 0);
    CHECK_EQ_INT(PyTasklet_GetNestingLevel(t), 0);
    CHECK_EQ_INT(PyTasklet_BindEx(t, NULL, NULL, NULL), -1);
    CHECK_EXC(PyExc_RuntimeError, "tasklet has C state on its stack");
    PyObject *f2 = make_func(&log_name_def);
    PyObject *args = tuple_steal(1, S("x"));
    CHECK_EQ_INT(PyTasklet_BindEx(t, f2, args, NULL), -1);
    CHECK_EXC(PyExc_RuntimeError, "tasklet has C state on its stack");
    Py_DECREF(args);
    Py_DECREF(f2);
    CHECK_STATE(t, 1, 1, 0, 0);
    CHECK_LOG("task:start");
    /* dropping the last reference kills it: the finally block runs once, right away */
    CHECK_EQ_INT(Py_REFCNT(t), 1);
    Py_DECREF(t);
    CHECK_LOG("task:start task:finally");
    CHECK_NO_EXC();
    check_main_alone();
}

/* ---- B064 ----------------------------------------------------------------------------- */

/* B064: `bind(func)` with no args, then `t.run()` -> RuntimeError (not alive:
 * "unbound(dead)"). */
static void test_B064(void) {
    log_reset();
    PyTaskletObject *t = PyTasklet_New(NULL, NULL);
    PyObject *f = make_func(&log_name_def);
    CHECK_EQ_INT(PyTasklet_BindEx(t, f, NULL, NULL), 0);
    CHECK_STATE(t, 0, 0, 0, 0);
    PyObject *tv = PyTasklet_GetTempval(t); /* §3.2: tempval holds the bound function */
    CHECK(tv == f);
    Py_XDECREF(tv);
    CHECK_EQ_INT(PyTasklet_Run(t), -1);
    CHECK_EXC(PyExc_RuntimeError, "You cannot run an unbound(dead) tasklet");
    CHECK(fails(call_method0(t, "run")));
    CHECK_EXC_CONTAINS(PyExc_RuntimeError, "unbound(dead)");
    CHECK_LOG("");
    Py_DECREF(f);
    Py_XDECREF(t);
    check_main_alone();
}

/* ---- B065 ----------------------------------------------------------------------------- */

/* kw_body(*args, **kwargs): logs "args=<args> kw=<kwargs>". */
static PyObject *kw_body(PyObject *self, PyObject *args, PyObject *kw) {
    (void)self;
    PyObject *a = PyObject_Str(args);
    PyObject *k = kw ? PyObject_Str(kw) : S("NULL");
    char buf[256];
    snprintf(buf, sizeof buf, "args=%s kw=%s", a ? PyUnicode_AsUTF8(a) : "?",
             k ? PyUnicode_AsUTF8(k) : "?");
    Py_XDECREF(a);
    Py_XDECREF(k);
    log_event(buf);
    Py_RETURN_NONE;
}
static PyMethodDef kw_def = {"kw_body", (PyCFunction)(void (*)(void))kw_body,
                             METH_VARARGS | METH_KEYWORDS, NULL};

/* B065: `bind(f, args, kwargs)` leaves the tasklet not scheduled (paused). `t.run()` calls
 * `f(*args, **kwargs)`. `bind(None, args, kwargs)` keeps the previously bound function. */
static void test_B065(void) {
    log_reset();
    PyObject *f = make_func(&kw_def);
    PyTaskletObject *t = PyTasklet_New(NULL, NULL);
    PyObject *args = tuple_steal(2, L(1), L(2));
    PyObject *kw = PyDict_New();
    PyObject *v = S("v");
    PyDict_SetItemString(kw, "k", v);
    Py_DECREF(v);
    CHECK_EQ_INT(PyTasklet_BindEx(t, f, args, kw), 0);
    CHECK_STATE(t, 1, 1, 0, 0);
    CHECK_EQ_INT(PyStackless_GetRunCount(), 1);
    CHECK_LOG("");
    CHECK_EQ_INT(PyTasklet_Run(t), 0);
    CHECK_LOG("args=(1, 2) kw={'k': 'v'}");
    CHECK_STATE(t, 0, 0, 0, 0);
    Py_DECREF(args);
    Py_DECREF(kw);

    /* bind(None, args, kwargs) keeps the previously bound function: (a) `tasklet(f)`,
     * bound and never set up; (b) bound with other arguments and not run yet. (Once a
     * tasklet has ended its function is gone: tempval is None, B043.) */
    log_reset();
    PyTaskletObject *t2 = PyTasklet_New(NULL, f);
    args = tuple_steal(1, L(3));
    kw = PyDict_New();
    v = S("w");
    PyDict_SetItemString(kw, "k", v);
    Py_DECREF(v);
    CHECK_EQ_INT(PyTasklet_BindEx(t2, NULL, args, kw), 0);
    CHECK_STATE(t2, 1, 1, 0, 0);
    CHECK_EQ_INT(PyTasklet_Run(t2), 0);
    CHECK_LOG("args=(3,) kw={'k': 'w'}");
    CHECK_STATE(t2, 0, 0, 0, 0);
    finish(t2);
    Py_XDECREF(t2);
    log_reset();
    t2 = PyTasklet_New(NULL, NULL);
    PyObject *args1 = tuple_steal(1, L(1));
    CHECK_EQ_INT(PyTasklet_BindEx(t2, f, args1, NULL), 0);
    Py_DECREF(args1);
    CHECK_EQ_INT(PyTasklet_BindEx(t2, NULL, args, NULL), 0); /* args only */
    CHECK_STATE(t2, 1, 1, 0, 0);
    CHECK_EQ_INT(PyTasklet_Run(t2), 0);
    CHECK_EQ_INT(PyTasklet_BindEx(t2, f, args, NULL), 0);
    CHECK_EQ_INT(PyTasklet_BindEx(t2, NULL, NULL, kw), 0); /* kwargs only */
    CHECK_STATE(t2, 1, 1, 0, 0);
    CHECK_EQ_INT(PyTasklet_Run(t2), 0);
    CHECK_LOG("args=(3,) kw=NULL args=() kw={'k': 'w'}");
    finish(t2);
    Py_XDECREF(t2);
    Py_DECREF(args);
    Py_DECREF(kw);

    /* The Python-level face: t.bind(f, (5,), None) returns t; t.run() */
    log_reset();
    PyObject *r = call_method(t, "bind", tuple_steal(3, O(f), tuple_steal(1, L(5)), O(Py_None)));
    CHECK(r == (PyObject *)t);
    Py_XDECREF(r);
    CHECK_STATE(t, 1, 1, 0, 0);
    r = call_method0(t, "run");
    CHECK(r == Py_None);
    Py_XDECREF(r);
    CHECK_LOG("args=(5,) kw=NULL");
    CHECK_STATE(t, 0, 0, 0, 0);
    finish(t);
    Py_XDECREF(t);
    Py_DECREF(f);
    check_main_alone();
}

/* ---- B066 ----------------------------------------------------------------------------- */

static PyObject *unbind_main(PyObject *self, PyObject *args) {
    (void)self;
    (void)args;
    PyTaskletObject *m = get_main();
    int r = PyTasklet_BindEx(m, NULL, NULL, NULL);
    Py_DECREF(m);
    return log_outcome(r, "unbind-ok");
}
static PyMethodDef unbind_main_def = {"unbind_main", unbind_main, METH_NOARGS, NULL};

static void *b066_thread(void *arg) {
    (void)arg;
    PyTaskletObject *cur = get_current();
    CHECK_EQ_INT(PyTasklet_IsMain(cur), 1);
    CHECK_EQ_INT(PyTasklet_GetNestingLevel(cur), 0);
    Py_XDECREF(cur);
    PyTaskletObject *t = spawn(&unbind_main_def, NULL);
    run_all();
    Py_XDECREF(t);
    return NULL;
}

/* B066: In a fresh thread, a tasklet calling `main.bind(None)` gets RuntimeError "can't
 * unbind the main tasklet". (Main is inside run(), so it is neither current nor
 * scheduled.) The same from the process's main thread. */
static void test_B066(void) {
    log_reset();
    pthread_t th;
    CHECK_EQ_INT(pthread_create(&th, NULL, b066_thread, NULL), 0);
    pthread_join(th, NULL);
    CHECK_LOG("can't unbind the main tasklet");
    log_reset();
    PyTaskletObject *t = spawn(&unbind_main_def, NULL);
    run_all();
    CHECK_LOG("can't unbind the main tasklet");
    Py_XDECREF(t);
    check_main_alone();
}

/* ---- B067 ----------------------------------------------------------------------------- */

/* inner (called through PyObject_CallNoArgs from depth_body): logs depth and nesting of the
 * current tasklet, then schedule_remove(None). */
static PyObject *depth_inner(PyObject *self, PyObject *args) {
    (void)self;
    (void)args;
    PyTaskletObject *cur = get_current();
    log_eventf("inner:depth=%ld", PyTasklet_GetRecursionDepth(cur));
    log_eventf("inner:nesting=%ld", PyTasklet_GetNestingLevel(cur));
    Py_DECREF(cur);
    PyObject *r = PyStackless_Schedule(Py_None, 1);
    if (r == NULL) {
        log_event("inner:exit");
        return NULL;
    }
    log_event("inner:resumed");
    return r;
}
static PyMethodDef depth_inner_def = {"depth_inner", depth_inner, METH_NOARGS, NULL};

static PyObject *depth_body(PyObject *self, PyObject *args) {
    (void)self;
    (void)args;
    PyTaskletObject *cur = get_current();
    log_eventf("body:depth=%ld", PyTasklet_GetRecursionDepth(cur));
    log_eventf("body:nesting=%ld", PyTasklet_GetNestingLevel(cur));
    Py_DECREF(cur);
    PyObject *inner = make_func(&depth_inner_def);
    PyObject *r = PyObject_CallNoArgs(inner);
    Py_DECREF(inner);
    return r;
}
static PyMethodDef depth_body_def = {"depth_body", depth_body, METH_NOARGS, NULL};

static PyObject *depth_test(PyObject *self, PyObject *args) {
    (void)self;
    (void)args;
    PyTaskletObject *cur = get_current();
    log_eventf("test:depth=%ld", PyTasklet_GetRecursionDepth(cur));
    Py_DECREF(cur);
    Py_RETURN_NONE;
}
static PyMethodDef depth_test_def = {"depth_test", depth_test, METH_NOARGS, NULL};

/* B067: A tasklet paused 2 Python frames deep has `recursion_depth == 2`. `bind(test, ())`
 * resets it to 0, and inside `test` it is 1.
 * C (SPEC §7, header): the body counts 1 and a nested PyObject_Call adds 1, so a tasklet
 * paused inside a PyObject_Call'd function is 2 deep (and at nesting level 1 there). It has
 * C state, so it cannot be rebound (Stackless's test is soft-switching only): it is killed
 * instead, which resets the depth to 0. The rebind part uses a paused tasklet without C
 * state: bind(test, ()) -> depth 0, inside test 1. */
static void test_B067(void) {
    log_reset();
    PyTaskletObject *t = spawn(&depth_body_def, NULL);
    CHECK_EQ_INT(PyTasklet_GetRecursionDepth(t), 0);
    CHECK_EQ_INT(PyTasklet_Run(t), 0);
    CHECK_LOG("body:depth=1 body:nesting=0 inner:depth=2 inner:nesting=1");
    CHECK_STATE(t, 1, 1, 0, 0);
    CHECK_EQ_INT(PyTasklet_GetRecursionDepth(t), 2);
    CHECK_EQ_INT(attr_long(t, "recursion_depth"), 2);
    CHECK_EQ_INT(PyTasklet_GetNestingLevel(t), 1);
    CHECK_EQ_INT(attr_long(t, "nesting_level"), 1);
    CHECK_EQ_INT(PyTasklet_Restorable(t), 0);
    PyObject *test = make_func(&depth_test_def);
    PyObject *empty = PyTuple_New(0);
    CHECK_EQ_INT(PyTasklet_BindEx(t, test, empty, NULL), -1);
    CHECK_EXC(PyExc_RuntimeError, "tasklet has C state on its stack");
    CHECK_EQ_INT(PyTasklet_Kill(t), 0);
    CHECK_LOG("body:depth=1 body:nesting=0 inner:depth=2 inner:nesting=1 inner:exit");
    CHECK_STATE(t, 0, 0, 0, 0);
    CHECK_EQ_INT(PyTasklet_GetRecursionDepth(t), 0);
    CHECK_EQ_INT(PyTasklet_GetNestingLevel(t), 0);
    finish(t);
    Py_XDECREF(t);

    log_reset();
    PyObject *f = make_func(&log_name_def);
    t = PyTasklet_New(NULL, f);
    PyObject *args = tuple_steal(1, S("never"));
    CHECK_EQ_INT(PyTasklet_BindEx(t, NULL, args, NULL), 0);
    Py_DECREF(args);
    CHECK_EQ_INT(PyTasklet_GetRecursionDepth(t), 0);
    CHECK_EQ_INT(PyTasklet_BindEx(t, test, empty, NULL), 0);
    CHECK_EQ_INT(PyTasklet_GetRecursionDepth(t), 0);
    CHECK_EQ_INT(attr_long(t, "recursion_depth"), 0);
    CHECK_STATE(t, 1, 1, 0, 0);
    CHECK_EQ_INT(PyTasklet_Run(t), 0);
    CHECK_LOG("test:depth=1");
    CHECK_EQ_INT(PyTasklet_GetRecursionDepth(t), 0);
    finish(t);
    Py_XDECREF(t);
    Py_DECREF(f);
    Py_DECREF(empty);
    Py_DECREF(test);
    /* main, not running a library-called body */
    PyTaskletObject *m = get_main();
    CHECK_EQ_INT(PyTasklet_GetNestingLevel(m), 0);
    Py_DECREF(m);
    check_main_alone();
}

/* ---- B068 ----------------------------------------------------------------------------- */

static PyObject *setup_self(PyObject *self, PyObject *args) {
    (void)self;
    PyTaskletObject *cur = get_current();
    int r = PyTasklet_Setup(cur, args, NULL);
    Py_DECREF(cur);
    return log_outcome(r, "setup-ok");
}
static PyMethodDef setup_self_def = {"setup_self", setup_self, METH_VARARGS, NULL};

/* B068: `setup()` on an alive tasklet (e.g. the current one) raises "tasklet is alive".
 * `bind(f)` on a scheduled tasklet raises "tasklet is scheduled". */
static void test_B068(void) {
    log_reset();
    PyObject *empty = PyTuple_New(0);
    PyTaskletObject *m = get_main();
    CHECK_EQ_INT(PyTasklet_Setup(m, empty, NULL), -1);
    CHECK_EXC(PyExc_RuntimeError, "tasklet is alive");
    CHECK(fails(call_method0(m, "setup")));
    CHECK_EXC(PyExc_RuntimeError, "tasklet is alive");
    Py_DECREF(m);
    PyTaskletObject *t = spawn(&setup_self_def, NULL);
    CHECK_EQ_INT(PyStackless_GetRunCount(), 2);
    CHECK_EQ_INT(PyTasklet_Setup(t, empty, NULL), -1);
    CHECK_EXC(PyExc_RuntimeError, "tasklet is alive");
    CHECK_EQ_INT(PyStackless_GetRunCount(), 2);
    PyObject *f = make_func(&log_name_def);
    CHECK_EQ_INT(PyTasklet_BindEx(t, f, NULL, NULL), -1);
    CHECK_EXC(PyExc_RuntimeError, "tasklet is scheduled");
    CHECK(fails(call_method(t, "bind", tuple_steal(1, O(f)))));
    CHECK_EXC(PyExc_RuntimeError, "tasklet is scheduled");
    CHECK_STATE(t, 1, 0, 1, 0);
    run_all();
    CHECK_LOG("tasklet is alive");
    /* a paused (bound with args) tasklet is alive too */
    PyTaskletObject *p = PyTasklet_New(NULL, f);
    PyObject *args = tuple_steal(1, S("p"));
    CHECK_EQ_INT(PyTasklet_BindEx(p, NULL, args, NULL), 0);
    CHECK_EQ_INT(PyTasklet_Setup(p, args, NULL), -1);
    CHECK_EXC(PyExc_RuntimeError, "tasklet is alive");
    CHECK_STATE(p, 1, 1, 0, 0);
    /* a finished tasklet can be set up again */
    CHECK_EQ_INT(PyTasklet_Run(p), 0);
    CHECK_EQ_INT(PyTasklet_BindEx(p, f, NULL, NULL), 0);
    CHECK_EQ_INT(PyTasklet_Setup(p, args, NULL), 0);
    CHECK_STATE(p, 1, 0, 1, 0);
    run_all();
    CHECK_LOG("tasklet is alive p p");
    Py_DECREF(args);
    Py_XDECREF(p);
    Py_DECREF(f);
    Py_XDECREF(t);
    Py_DECREF(empty);
    check_main_alone();
}

/* ---- B069 ----------------------------------------------------------------------------- */

/* SPEC §8: `int PyStackless_Tick(long n)` reports work to the watchdog. It is not in the
 * header of this build; a weak reference lets the test build and report its absence. */
extern int PyStackless_Tick(long n) __attribute__((weak));

static PyObject *busy(PyObject *self, PyObject *args) {
    (void)self;
    (void)args;
    log_event("busy:start");
    for (long i = 0; i < 100000; i++) {
        if (PyStackless_Tick != NULL && PyStackless_Tick(1) < 0) return NULL;
    }
    log_event("busy:end");
    Py_RETURN_NONE;
}
static PyMethodDef busy_def = {"busy", busy, METH_NOARGS, NULL};

/* B069: A new tasklet is alive, scheduled, recursion_depth 0. `run(10)` returns t: alive,
 * paused, not scheduled, recursion_depth 1. `insert()`: scheduled and not paused. `run()`:
 * not alive, not scheduled, recursion_depth 0.
 * C: the body reports ticks with PyStackless_Tick (SPEC §8); run(10) is
 * PyStackless_RunWatchdog(10). */
static void test_B069(void) {
    log_reset();
    if (!CHECK(PyStackless_Tick != NULL))
        fprintf(stderr, "    PyStackless_Tick (SPEC §8) is not exported\n");
    PyTaskletObject *t = spawn(&busy_def, NULL);
    CHECK_STATE(t, 1, 0, 1, 0);
    CHECK_EQ_INT(PyTasklet_GetRecursionDepth(t), 0);
    PyObject *r = PyStackless_RunWatchdog(10);
    CHECK(r == (PyObject *)t);
    if (r == NULL) PyErr_Clear();
    Py_XDECREF(r);
    CHECK_LOG("busy:start");
    CHECK_STATE(t, 1, 1, 0, 0);
    CHECK_EQ_INT(PyTasklet_GetRecursionDepth(t), 1);
    CHECK_EQ_INT(PyStackless_GetRunCount(), 1);
    CHECK_EQ_INT(PyTasklet_Insert(t), 0);
    if (PyErr_Occurred()) PyErr_Clear();
    CHECK_STATE(t, 1, 0, 1, 0);
    run_all();
    CHECK_LOG("busy:start busy:end");
    CHECK_STATE(t, 0, 0, 0, 0);
    CHECK_EQ_INT(PyTasklet_GetRecursionDepth(t), 0);
    finish(t);
    Py_XDECREF(t);
    check_main_alone();
}

/* ---- attributes ----------------------------------------------------------------------- */

/* The Python-level face of the state attributes not covered above: is_main, is_current,
 * thread_id, next/prev, tempval writes; read-only attributes refuse writes. */
static void test_attributes(void) {
    log_reset();
    PyTaskletObject *m = get_main();
    CHECK_EQ_INT(attr_bool(m, "is_main"), 1);
    CHECK_EQ_INT(attr_bool(m, "is_current"), 1);
    PyTaskletObject *t = spawn_str(&log_name_def, "t");
    CHECK_EQ_INT(attr_bool(t, "is_main"), 0);
    CHECK_EQ_INT(attr_bool(t, "is_current"), 0);
    CHECK_EQ_INT(PyTasklet_IsMain(t), 0);
    CHECK_EQ_INT(PyTasklet_IsCurrent(t), 0);
    PyObject *tid = PyObject_GetAttrString((PyObject *)t, "thread_id");
    CHECK(tid != NULL && PyLong_AsUnsignedLong(tid) == PyThread_get_thread_ident());
    Py_XDECREF(tid);
    CHECK(PyTasklet_GetThreadId(t) == PyThread_get_thread_ident());
    /* queue main <-> t */
    PyObject *n = PyObject_GetAttrString((PyObject *)m, "next");
    CHECK(n == (PyObject *)t);
    Py_XDECREF(n);
    n = PyObject_GetAttrString((PyObject *)t, "prev");
    CHECK(n == (PyObject *)m);
    Py_XDECREF(n);
    /* tempval write through the attribute, and read back through the C API */
    PyObject *v = S("tv");
    CHECK_EQ_INT(PyObject_SetAttrString((PyObject *)t, "tempval", v), 0);
    PyObject *tv = PyTasklet_GetTempval(t);
    CHECK(tv == v);
    Py_XDECREF(tv);
    Py_DECREF(v);
    /* read-only attributes */
    CHECK_EQ_INT(PyObject_SetAttrString((PyObject *)t, "alive", Py_False), -1);
    CHECK_EXC(PyExc_AttributeError, NULL);
    CHECK_EQ_INT(PyObject_SetAttrString((PyObject *)t, "paused", Py_True), -1);
    CHECK_EXC(PyExc_AttributeError, NULL);
    CHECK(fails(PyObject_GetAttrString((PyObject *)t, "no_such_attribute")));
    CHECK_EXC(PyExc_AttributeError, NULL);
    CHECK_STATE(t, 1, 0, 1, 0);
    run_all();
    CHECK_LOG("t");
    n = PyObject_GetAttrString((PyObject *)t, "next");
    CHECK(n == Py_None);
    Py_XDECREF(n);
    Py_XDECREF(t);
    Py_DECREF(m);
    check_main_alone();
}

/* ---- reused memory -------------------------------------------------------------------- */

#define REUSE_BATCH 300

/* A freed tasklet's memory is soon reused by the allocator for the next one: every new
 * tasklet starts with default state, whatever its predecessors at that address had set. */
static void test_reused_memory(void) {
    log_reset();
    PyTaskletObject *ts[REUSE_BATCH];
    PyObject *v = S("left over");
    for (int i = 0; i < REUSE_BATCH; i++) {
        ts[i] = spawn_str(&log_name_def, "x");
        if (ts[i] == NULL) return;
        CHECK_EQ_INT(PyTasklet_SetAtomic(ts[i], 1), 0);
        CHECK_EQ_INT(PyTasklet_SetIgnoreNesting(ts[i], 1), 0);
        PyTasklet_SetBlockTrap(ts[i], 1);
    }
    run_all();
    for (int i = 0; i < REUSE_BATCH; i++) {
        CHECK_EQ_INT(PyTasklet_SetTempval(ts[i], v), 0);
        Py_DECREF(ts[i]);
    }
    Py_DECREF(v);
    for (int i = 0; i < REUSE_BATCH; i++) {
        ts[i] = PyTasklet_New(NULL, NULL);
        if (ts[i] == NULL) return;
        CHECK_STATE(ts[i], 0, 0, 0, 0);
        CHECK_EQ_INT(PyTasklet_GetAtomic(ts[i]), 0);
        CHECK_EQ_INT(PyTasklet_GetIgnoreNesting(ts[i]), 0);
        CHECK_EQ_INT(PyTasklet_GetBlockTrap(ts[i]), 0);
        CHECK_EQ_INT(PyTasklet_GetBlocked(ts[i]), 0);
        PyObject *tv = PyTasklet_GetTempval(ts[i]);
        CHECK(tv == Py_None);
        Py_XDECREF(tv);
        PyObject *n = PyTasklet_GetNext(ts[i]);
        CHECK(n == Py_None);
        Py_XDECREF(n);
    }
    for (int i = 0; i < REUSE_BATCH; i++) Py_DECREF(ts[i]);
    check_main_alone();
}

/* ---- bad input ------------------------------------------------------------------------ */


static void test_bad_input(void) {
    log_reset();
    check_bad_task_int(PyTasklet_Alive, "PyTasklet_Alive");
    check_bad_task_int(PyTasklet_Paused, "PyTasklet_Paused");
    check_bad_task_int(PyTasklet_Scheduled, "PyTasklet_Scheduled");
    check_bad_task_int(PyTasklet_GetBlocked, "PyTasklet_GetBlocked");
    check_bad_task_int(PyTasklet_Restorable, "PyTasklet_Restorable");
    check_bad_task_int(PyTasklet_GetRecursionDepth, "PyTasklet_GetRecursionDepth");
    check_bad_task_int(PyTasklet_GetNestingLevel, "PyTasklet_GetNestingLevel");
    check_bad_task_int(PyTasklet_IsMain, "PyTasklet_IsMain");
    check_bad_task_int(PyTasklet_IsCurrent, "PyTasklet_IsCurrent");
    check_bad_task_int(PyTasklet_Insert, "PyTasklet_Insert");
    check_bad_task_int(PyTasklet_Remove, "PyTasklet_Remove");
    check_bad_task_int(PyTasklet_Run, "PyTasklet_Run");
    check_bad_task_int(PyTasklet_Switch, "PyTasklet_Switch");
    check_bad_task_int(PyTasklet_Kill, "PyTasklet_Kill");

    PyObject *notask = S("not a tasklet");
    PyObject *empty = PyTuple_New(0);
    CHECK(fails(PyTasklet_GetFrame(NULL)));
    CHECK_EXC_CONTAINS(PyExc_SystemError, "PyTasklet_GetFrame");
    CHECK(fails(PyTasklet_GetFrame(T(notask))));
    CHECK_EXC_CONTAINS(PyExc_TypeError, "PyTasklet_GetFrame");
    CHECK(fails(PyTasklet_GetTempval(NULL)));
    CHECK_EXC_CONTAINS(PyExc_SystemError, "PyTasklet_GetTempval");
    CHECK_EQ_INT(PyTasklet_SetTempval(T(notask), Py_None), -1);
    CHECK_EXC_CONTAINS(PyExc_TypeError, "PyTasklet_SetTempval");
    CHECK(PyTasklet_GetThreadId(NULL) == (unsigned long)-1);
    CHECK_EXC_CONTAINS(PyExc_SystemError, "PyTasklet_GetThreadId");
    CHECK(fails(PyTasklet_GetNext(NULL)));
    CHECK_EXC_CONTAINS(PyExc_SystemError, "PyTasklet_GetNext");
    CHECK(fails(PyTasklet_GetPrev(T(notask))));
    CHECK_EXC_CONTAINS(PyExc_TypeError, "PyTasklet_GetPrev");

    /* PyTasklet_New: a type that is not a tasklet subtype; a non-callable function */
    CHECK(fails(PyTasklet_New(&PyLong_Type, NULL)));
    CHECK_EXC(PyExc_TypeError, NULL);
    CHECK(fails(PyTasklet_New(NULL, notask)));
    CHECK_EXC_CONTAINS(PyExc_TypeError, "callable");

    /* PyTasklet_Setup */
    CHECK_EQ_INT(PyTasklet_Setup(NULL, empty, NULL), -1);
    CHECK_EXC_CONTAINS(PyExc_SystemError, "PyTasklet_Setup");
    CHECK_EQ_INT(PyTasklet_Setup(T(notask), empty, NULL), -1);
    CHECK_EXC_CONTAINS(PyExc_TypeError, "PyTasklet_Setup");
    PyObject *f = make_func(&log_name_def);
    PyTaskletObject *t = PyTasklet_New(NULL, f);
    CHECK_EQ_INT(PyTasklet_Setup(t, NULL, NULL), -1);
    CHECK_EXC_CONTAINS(PyExc_SystemError, "PyTasklet_Setup");
    CHECK_EQ_INT(PyTasklet_Setup(t, notask, NULL), -1); /* args not a tuple */
    CHECK_EXC(PyExc_TypeError, NULL);
    CHECK_EQ_INT(PyTasklet_Setup(t, empty, notask), -1); /* kwds not a dict */
    CHECK_EXC(PyExc_TypeError, NULL);
    CHECK_STATE(t, 0, 0, 0, 0);

    /* PyTasklet_BindEx */
    CHECK_EQ_INT(PyTasklet_BindEx(NULL, f, empty, NULL), -1);
    CHECK_EXC_CONTAINS(PyExc_SystemError, "PyTasklet_BindEx");
    CHECK_EQ_INT(PyTasklet_BindEx(T(notask), f, empty, NULL), -1);
    CHECK_EXC_CONTAINS(PyExc_TypeError, "PyTasklet_BindEx");
    CHECK_EQ_INT(PyTasklet_BindEx(t, f, notask, NULL), -1);
    CHECK_EXC(PyExc_TypeError, NULL);
    CHECK_EQ_INT(PyTasklet_BindEx(t, f, empty, notask), -1);
    CHECK_EXC(PyExc_TypeError, NULL);
    CHECK_STATE(t, 0, 0, 0, 0);
    CHECK_EQ_INT(PyStackless_GetRunCount(), 1);
    Py_XDECREF(t);
    Py_DECREF(f);
    Py_DECREF(empty);
    Py_DECREF(notask);
    check_main_alone();
}

int main(void) {
    for (int pass = 0; pass < 2; pass++) {
        soft_mode = pass == 0;
        PyStackless_EnableSoftswitch(soft_mode);
        test_B055();
        test_B056();
        test_B057();
        test_B058();
        test_B059();
        test_B060();
        test_B061();
        test_B062();
        test_B063();
        test_B064();
        test_B065();
        test_B066();
        test_B067();
        test_B068();
        test_B069();
                test_attributes();
        test_reused_memory();
    }
    PyStackless_EnableSoftswitch(1);
    test_bad_input();
    return check_report();
}
