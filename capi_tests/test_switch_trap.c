/* test_switch_trap.c: the switch trap, the atomic flag and the ignore_nesting flag (not
 * preemption): catalogue rows B110-B117 (reference/stackless-semantics.md §4.10, §5.9,
 * §5.10).
 *
 * Python -> C: `stackless.switch_trap(n)` PyStackless_AdjustSwitchTrap(n) (returns the old
 * level); `t.set_atomic(f)` PyTasklet_SetAtomic; `t.set_ignore_nesting(f)`
 * PyTasklet_SetIgnoreNesting; `schedule()` PyStackless_Schedule(x, 0); `schedule_remove()`
 * PyStackless_Schedule(x, 1); `stackless.run()` PyStackless_RunWatchdog(0); `c.send_throw(E)`
 * PyChannel_SendThrow(c, E, NULL, NULL).
 * Rows run with soft switching enabled and disabled. */
#include "tasklet_util.h"

/* ---- small helpers ------------------------------------------------------------------- */

/* t.<name>(arg) (arg borrowed). */
static PyObject *call_method1(PyTaskletObject *t, const char *name, PyObject *arg) {
    PyObject *m = PyObject_GetAttrString((PyObject *)t, name);
    if (m == NULL) return NULL;
    PyObject *r = PyObject_CallOneArg(m, arg);
    Py_DECREF(m);
    return r;
}

static void trap(void) { PyStackless_AdjustSwitchTrap(1); }
static void untrap(void) { PyStackless_AdjustSwitchTrap(-1); }

static int main_scheduled(void) {
    PyTaskletObject *m = get_main();
    int r = PyTasklet_Scheduled(m);
    Py_DECREF(m);
    return r;
}

static void end_of_test(void) {
    CHECK_EQ_INT(PyStackless_AdjustSwitchTrap(0), 0);
    check_main_alone();
}

/* Logs "<prefix><exception type name>" for the pending exception and clears it (unlike
 * log_exc of tasklet_util.h: no ':', the short type name, the exception is taken). */
static void log_exc_clear(const char *prefix) {
    PyObject *exc = PyErr_GetRaisedException();
    char buf[128];
    snprintf(buf, sizeof buf, "%s%s", prefix, exc ? PyType_GetTpName(Py_TYPE(exc)) : "none");
    Py_XDECREF(exc);
    log_event(buf);
}

/* ---- tasklet bodies ------------------------------------------------------------------- */

static PyObject *noop(PyObject *self, PyObject *args) {
    (void)self;
    (void)args;
    log_event("noop");
    Py_RETURN_NONE;
}
static PyMethodDef noop_def = {"noop", noop, METH_NOARGS, NULL};

static PyObject *insert_main(PyObject *self, PyObject *args) {
    (void)self;
    (void)args;
    PyTaskletObject *m = get_main();
    int r = PyTasklet_Insert(m);
    Py_DECREF(m);
    if (r < 0) return NULL;
    log_event("insert-main");
    Py_RETURN_NONE;
}
static PyMethodDef insert_main_def = {"insert_main", insert_main, METH_NOARGS, NULL};

/* receiver(ch): receives; logs "recv:<value>" or "recv:<exception type>" (caught; a
 * TaskletExit is logged and re-raised). */
static PyObject *receiver(PyObject *self, PyObject *args) {
    (void)self;
    PyObject *ch = PyTuple_GetItem(args, 0);
    if (ch == NULL) return NULL;
    PyObject *v = PyChannel_Receive(CH(ch));
    if (v == NULL) {
        if (PyErr_ExceptionMatches(PyExc_TaskletExit)) {
            log_event("recv:TaskletExit");
            return NULL;
        }
        log_exc_clear("recv:");
        Py_RETURN_NONE;
    }
    PyObject *s = PyObject_Str(v);
    char buf[128];
    snprintf(buf, sizeof buf, "recv:%s", s ? PyUnicode_AsUTF8(s) : "?");
    Py_XDECREF(s);
    Py_DECREF(v);
    log_event(buf);
    Py_RETURN_NONE;
}
static PyMethodDef receiver_def = {"receiver", receiver, METH_VARARGS, NULL};

/* sender(ch): sends 1. */
static PyObject *sender(PyObject *self, PyObject *args) {
    (void)self;
    PyObject *ch = PyTuple_GetItem(args, 0);
    if (ch == NULL) return NULL;
    PyObject *one = L(1);
    int r = PyChannel_Send(CH(ch), one);
    Py_DECREF(one);
    if (r < 0) return NULL;
    log_event("sent");
    Py_RETURN_NONE;
}
static PyMethodDef sender_def = {"sender", sender, METH_VARARGS, NULL};

/* thrower(ch): send_throw(NotImplementedError). */
static PyObject *thrower(PyObject *self, PyObject *args) {
    (void)self;
    PyObject *ch = PyTuple_GetItem(args, 0);
    if (ch == NULL) return NULL;
    if (PyChannel_SendThrow(CH(ch), PyExc_NotImplementedError, NULL, NULL) < 0) return NULL;
    log_event("thrown");
    Py_RETURN_NONE;
}
static PyMethodDef thrower_def = {"thrower", thrower, METH_VARARGS, NULL};

/* ---- B110 ----------------------------------------------------------------------------- */

#define CHECK_TRAPPED() CHECK_EXC(PyExc_RuntimeError, "switch_trap")

/* B110: With `switch_trap(1)` and another tasklet scheduled, RuntimeError matching
 * "switch_trap" is raised by: `schedule()`, `schedule_remove()`, `run()`, `t.run()` on a new
 * tasklet, `t.run()` on a paused tasklet (it stays paused), `t.switch()` (the target is not
 * paused afterwards), `c.send(x)`/`c.send_throw(E)`/`c.receive()` when the partner tasklet
 * is only scheduled and not yet blocked (the caller would block), `s.raise_exception(E)` and
 * `s.kill()` on a tasklet blocked in receive (it stays blocked). In every case state is
 * unchanged by the failed attempt. After `switch_trap(-1)` the same operations succeed (e.g.
 * `c.receive()` then returns 1, or raises the thrown NotImplementedError). */
static void test_B110(void) {
    /* schedule() */
    log_reset();
    PyTaskletObject *s = spawn(&noop_def, NULL);
    trap();
    CHECK(fails(PyStackless_Schedule(Py_None, 0)));
    CHECK_TRAPPED();
    CHECK(fails(PyStackless_Schedule_nr(Py_None, 0)));
    CHECK_TRAPPED();
    untrap();
    CHECK_EQ_INT(PyStackless_GetRunCount(), 2);
    CHECK_EQ_INT(main_scheduled(), 1);
    CHECK_LOG("");
    PyObject *r = PyStackless_Schedule(Py_None, 0);
    CHECK(r == Py_None);
    Py_XDECREF(r);
    CHECK_LOG("noop");
    finish(s);
    Py_XDECREF(s);

    /* schedule_remove() */
    log_reset();
    s = spawn(&insert_main_def, NULL);
    trap();
    CHECK(fails(PyStackless_Schedule(Py_None, 1)));
    CHECK_TRAPPED();
    untrap();
    CHECK_EQ_INT(main_scheduled(), 1);
    CHECK_EQ_INT(PyStackless_GetRunCount(), 2);
    CHECK_LOG("");
    r = PyStackless_Schedule(Py_None, 1);
    CHECK(r == Py_None);
    Py_XDECREF(r);
    CHECK_LOG("insert-main");
    finish(s);
    Py_XDECREF(s);

    /* run() */
    log_reset();
    s = spawn(&noop_def, NULL);
    trap();
    CHECK(fails(PyStackless_RunWatchdog(0)));
    CHECK_TRAPPED();
    untrap();
    CHECK_EQ_INT(main_scheduled(), 1);
    CHECK_EQ_INT(PyStackless_GetRunCount(), 2);
    CHECK_LOG("");
    run_all();
    CHECK_LOG("noop");
    finish(s);
    Py_XDECREF(s);

    /* t.run() on a new tasklet */
    log_reset();
    s = spawn(&noop_def, NULL);
    trap();
    CHECK_EQ_INT(PyTasklet_Run(s), -1);
    CHECK_TRAPPED();
    CHECK_EQ_INT(PyTasklet_Run_nr(s), -1);
    CHECK_TRAPPED();
    CHECK(fails(call_method0(s, "run")));
    CHECK_TRAPPED();
    untrap();
    CHECK_EQ_INT(PyTasklet_Scheduled(s), 1);
    CHECK_EQ_INT(PyTasklet_Alive(s), 1);
    CHECK_LOG("");
    CHECK_EQ_INT(PyTasklet_Run(s), 0);
    CHECK_LOG("noop");
    finish(s);
    Py_XDECREF(s);

    /* t.run() on a paused tasklet: it stays paused */
    log_reset();
    PyObject *f = make_func(&noop_def);
    s = PyTasklet_New(NULL, f);
    Py_DECREF(f);
    PyObject *empty = PyTuple_New(0);
    CHECK_EQ_INT(PyTasklet_BindEx(s, NULL, empty, NULL), 0);
    Py_DECREF(empty);
    CHECK_EQ_INT(PyTasklet_Paused(s), 1);
    trap();
    CHECK_EQ_INT(PyTasklet_Run(s), -1);
    CHECK_TRAPPED();
    untrap();
    CHECK_EQ_INT(PyTasklet_Paused(s), 1);
    CHECK_EQ_INT(PyTasklet_Scheduled(s), 0);
    CHECK_EQ_INT(PyStackless_GetRunCount(), 1);
    CHECK_EQ_INT(PyTasklet_Run(s), 0);
    CHECK_LOG("noop");
    finish(s);
    Py_XDECREF(s);

    /* t.switch(): the target is not paused afterwards, the caller not removed */
    log_reset();
    s = spawn(&noop_def, NULL);
    trap();
    CHECK_EQ_INT(PyTasklet_Switch(s), -1);
    CHECK_TRAPPED();
    CHECK_EQ_INT(PyTasklet_Switch_nr(s), -1);
    CHECK_TRAPPED();
    CHECK(fails(call_method0(s, "switch")));
    CHECK_TRAPPED();
    untrap();
    CHECK_EQ_INT(PyTasklet_Paused(s), 0);
    CHECK_EQ_INT(PyTasklet_Scheduled(s), 1);
    CHECK_EQ_INT(main_scheduled(), 1);
    CHECK_EQ_INT(PyStackless_GetRunCount(), 2);
    CHECK_EQ_INT(PyTasklet_Switch(s), 0);
    CHECK_LOG("noop");
    finish(s);
    Py_XDECREF(s);

    /* c.send(x) with the receiver only scheduled */
    log_reset();
    PyChannelObject *c = PyChannel_New(NULL);
    s = spawn(&receiver_def, tuple_steal(1, O(c)));
    trap();
    CHECK_EQ_INT(PyChannel_Send(c, Py_None), -1);
    CHECK_TRAPPED();
    untrap();
    CHECK_EQ_INT(PyChannel_GetBalance(c), 0);
    CHECK_EQ_INT(main_scheduled(), 1);
    CHECK_EQ_INT(PyStackless_GetRunCount(), 2);
    CHECK_LOG("");
    CHECK_EQ_INT(PyChannel_Send(c, Py_None), 0);
    CHECK_LOG("recv:None");
    finish(s);
    Py_XDECREF(s);

    /* c.send_throw(E) with the receiver only scheduled */
    log_reset();
    s = spawn(&receiver_def, tuple_steal(1, O(c)));
    trap();
    CHECK_EQ_INT(PyChannel_SendThrow(c, PyExc_NotImplementedError, NULL, NULL), -1);
    CHECK_TRAPPED();
    untrap();
    CHECK_EQ_INT(PyChannel_GetBalance(c), 0);
    CHECK_EQ_INT(PyStackless_GetRunCount(), 2);
    CHECK_EQ_INT(PyChannel_SendThrow(c, PyExc_NotImplementedError, NULL, NULL), 0);
    CHECK_LOG("recv:NotImplementedError");
    finish(s);
    Py_XDECREF(s);

    /* c.receive() with the sender only scheduled */
    log_reset();
    s = spawn(&sender_def, tuple_steal(1, O(c)));
    trap();
    CHECK(fails(PyChannel_Receive(c)));
    CHECK_TRAPPED();
    CHECK(fails(PyChannel_Receive_nr(c)));
    CHECK_TRAPPED();
    untrap();
    CHECK_EQ_INT(PyChannel_GetBalance(c), 0);
    CHECK_EQ_INT(main_scheduled(), 1);
    CHECK_EQ_INT(PyStackless_GetRunCount(), 2);
    r = PyChannel_Receive(c);
    CHECK(r != NULL && PyLong_AsLong(r) == 1);
    Py_XDECREF(r);
    run_all(); /* the sender was put back in the queue: let it finish */
    CHECK_LOG("sent");
    finish(s);
    Py_XDECREF(s);

    /* c.receive() with a send_throw partner only scheduled */
    log_reset();
    s = spawn(&thrower_def, tuple_steal(1, O(c)));
    trap();
    CHECK(fails(PyChannel_Receive(c)));
    CHECK_TRAPPED();
    untrap();
    CHECK_EQ_INT(PyChannel_GetBalance(c), 0);
    CHECK(fails(PyChannel_Receive(c)));
    CHECK_EXC(PyExc_NotImplementedError, NULL);
    run_all();
    CHECK_LOG("thrown");
    finish(s);
    Py_XDECREF(s);

    /* s.raise_exception(E) on a tasklet blocked in receive: it stays blocked */
    log_reset();
    s = spawn(&receiver_def, tuple_steal(1, O(c)));
    CHECK_EQ_INT(PyTasklet_Run(s), 0);
    CHECK_EQ_INT(PyTasklet_GetBlocked(s), -1);
    PyObject *noargs = PyTuple_New(0);
    trap();
    CHECK_EQ_INT(PyTasklet_RaiseException(s, PyExc_IndexError, noargs), -1);
    CHECK_TRAPPED();
    CHECK_EQ_INT(PyTasklet_Throw(s, 0, PyExc_IndexError, NULL, NULL), -1);
    CHECK_TRAPPED();
    untrap();
    CHECK_EQ_INT(PyTasklet_GetBlocked(s), -1);
    CHECK_EQ_INT(PyChannel_GetBalance(c), -1);
    CHECK_LOG("");
    CHECK_EQ_INT(PyTasklet_RaiseException(s, PyExc_IndexError, noargs), 0);
    CHECK_LOG("recv:IndexError");
    CHECK_EQ_INT(PyTasklet_Alive(s), 0);
    CHECK_EQ_INT(PyChannel_GetBalance(c), 0);
    Py_DECREF(noargs);
    finish(s);
    Py_XDECREF(s);

    /* s.kill() on a tasklet blocked in receive: it stays blocked */
    log_reset();
    s = spawn(&receiver_def, tuple_steal(1, O(c)));
    CHECK_EQ_INT(PyTasklet_Run(s), 0);
    trap();
    CHECK_EQ_INT(PyTasklet_Kill(s), -1);
    CHECK_TRAPPED();
    CHECK(fails(call_method0(s, "kill")));
    CHECK_TRAPPED();
    untrap();
    CHECK_EQ_INT(PyTasklet_GetBlocked(s), -1);
    CHECK_EQ_INT(PyTasklet_Alive(s), 1);
    CHECK_EQ_INT(PyChannel_GetBalance(c), -1);
    CHECK_LOG("");
    CHECK_EQ_INT(PyTasklet_Kill(s), 0);
    CHECK_LOG("recv:TaskletExit");
    CHECK_EQ_INT(PyTasklet_Alive(s), 0);
    CHECK_EQ_INT(PyChannel_GetBalance(c), 0);
    finish(s);
    Py_XDECREF(s);
    Py_XDECREF(c);
    end_of_test();
}

/* B110a: `c.send(1)` to an already-blocked receiver with default preference -1, under the
 * trap: RuntimeError "switch_trap" and `balance` stays -1 (the receiver is still blocked). */
static void test_B110a(void) {
    log_reset();
    PyChannelObject *c = PyChannel_New(NULL);
    PyTaskletObject *s = spawn(&receiver_def, tuple_steal(1, O(c)));
    CHECK_EQ_INT(PyTasklet_Run(s), 0);
    CHECK_EQ_INT(PyChannel_GetPreference(c), -1);
    CHECK_EQ_INT(PyChannel_GetBalance(c), -1);
    PyObject *one = L(1);
    trap();
    CHECK_EQ_INT(PyChannel_Send(c, one), -1);
    CHECK_TRAPPED();
    untrap();
    CHECK_EQ_INT(PyChannel_GetBalance(c), -1);
    CHECK_EQ_INT(PyTasklet_GetBlocked(s), -1);
    CHECK_EQ_INT(PyStackless_GetRunCount(), 1);
    CHECK_LOG("");
    CHECK_EQ_INT(PyChannel_Send(c, one), 0);
    CHECK_LOG("recv:1");
    Py_DECREF(one);
    finish(s);
    Py_XDECREF(s);
    Py_XDECREF(c);
    end_of_test();
}

/* ---- B111 / B112 / B113 --------------------------------------------------------------- */

/* B111: Under the trap, switching to self (with nothing else runnable) is allowed. A send
 * with `preference=1` to a waiting receiver is allowed (no switch; balance becomes 0).
 * `insert()` is allowed. (§4.10 also: remove, pending throws.) */
static void test_B111(void) {
    log_reset();
    PyTaskletObject *cur = get_current();
    trap();
    CHECK_EQ_INT(PyTasklet_Switch(cur), 0);
    CHECK_EQ_INT(PyTasklet_Run(cur), 0);
    PyObject *v = PyUnicode_FromString("self");
    PyObject *r = PyStackless_Schedule(v, 0); /* nothing else runnable: no switch */
    CHECK(r == v);
    Py_XDECREF(r);
    Py_DECREF(v);
    CHECK_NO_EXC();
    untrap();
    Py_DECREF(cur);

    /* send with preference 1 to a waiting receiver */
    PyChannelObject *c = PyChannel_New(NULL);
    PyTaskletObject *s = spawn(&receiver_def, tuple_steal(1, O(c)));
    CHECK_EQ_INT(PyTasklet_Run(s), 0);
    PyChannel_SetPreference(c, 1);
    PyObject *seven = L(7);
    trap();
    CHECK_EQ_INT(PyChannel_Send(c, seven), 0);
    CHECK_NO_EXC();
    untrap();
    Py_DECREF(seven);
    CHECK_EQ_INT(PyChannel_GetBalance(c), 0);
    CHECK_EQ_INT(PyTasklet_GetBlocked(s), 0);
    CHECK_EQ_INT(PyTasklet_Scheduled(s), 1);
    CHECK_LOG("");
    run_all();
    CHECK_LOG("recv:7");
    finish(s);
    Py_XDECREF(s);

    /* insert() and remove() */
    log_reset();
    PyObject *f = make_func(&noop_def);
    s = PyTasklet_New(NULL, f);
    Py_DECREF(f);
    PyObject *empty = PyTuple_New(0);
    CHECK_EQ_INT(PyTasklet_BindEx(s, NULL, empty, NULL), 0);
    Py_DECREF(empty);
    trap();
    CHECK_EQ_INT(PyTasklet_Insert(s), 0);
    CHECK_EQ_INT(PyTasklet_Scheduled(s), 1);
    CHECK_EQ_INT(PyStackless_GetRunCount(), 2);
    CHECK_EQ_INT(PyTasklet_Remove(s), 0);
    CHECK_EQ_INT(PyTasklet_Paused(s), 1);
    CHECK_EQ_INT(PyTasklet_Insert(s), 0);
    CHECK_NO_EXC();
    untrap();
    run_all();
    CHECK_LOG("noop");
    finish(s);
    Py_XDECREF(s);

    /* a pending throw to a blocked tasklet */
    log_reset();
    PyChannel_SetPreference(c, -1);
    s = spawn(&receiver_def, tuple_steal(1, O(c)));
    CHECK_EQ_INT(PyTasklet_Run(s), 0);
    trap();
    CHECK_EQ_INT(PyTasklet_Throw(s, 1, PyExc_IndexError, NULL, NULL), 0);
    CHECK_NO_EXC();
    untrap();
    CHECK_EQ_INT(PyTasklet_GetBlocked(s), 0);
    CHECK_EQ_INT(PyTasklet_Scheduled(s), 1);
    CHECK_EQ_INT(PyChannel_GetBalance(c), 0);
    CHECK_LOG("");
    run_all();
    CHECK_LOG("recv:IndexError");
    finish(s);
    Py_XDECREF(s);
    Py_XDECREF(c);
    end_of_test();
}

/* B112: A blocking `receive` on an empty channel while other tasklets are runnable, under
 * the trap: RuntimeError "switch_trap". The caller is not left blocked (balance
 * restored). */
static void test_B112(void) {
    log_reset();
    PyChannelObject *c = PyChannel_New(NULL);
    PyTaskletObject *s = spawn(&noop_def, NULL);
    trap();
    CHECK(fails(PyChannel_Receive(c)));
    CHECK_TRAPPED();
    untrap();
    CHECK_EQ_INT(PyChannel_GetBalance(c), 0);
    PyTaskletObject *m = get_main();
    CHECK_EQ_INT(PyTasklet_GetBlocked(m), 0);
    CHECK_EQ_INT(PyTasklet_Scheduled(m), 1);
    Py_DECREF(m);
    CHECK_EQ_INT(PyStackless_GetRunCount(), 2);
    PyObject *q = PyChannel_GetQueue(c);
    CHECK(q == Py_None);
    Py_XDECREF(q);
    run_all();
    CHECK_LOG("noop");
    finish(s);
    Py_XDECREF(s);
    Py_XDECREF(c);
    end_of_test();
}

/* B113: `switch_trap(0)` returns the current level without changing it. The trap is a
 * counter: (1, 1, -1) leaves 1. */
static void test_B113(void) {
    log_reset();
    CHECK_EQ_INT(PyStackless_AdjustSwitchTrap(0), 0);
    CHECK_EQ_INT(PyStackless_AdjustSwitchTrap(0), 0);
    CHECK_EQ_INT(PyStackless_AdjustSwitchTrap(1), 0);
    CHECK_EQ_INT(PyStackless_AdjustSwitchTrap(1), 1);
    CHECK_EQ_INT(PyStackless_AdjustSwitchTrap(-1), 2);
    CHECK_EQ_INT(PyStackless_AdjustSwitchTrap(0), 1);
    CHECK_EQ_INT(PyStackless_AdjustSwitchTrap(0), 1);
    /* still trapped at level 1 */
    PyTaskletObject *s = spawn(&noop_def, NULL);
    CHECK(fails(PyStackless_Schedule(Py_None, 0)));
    CHECK_TRAPPED();
    CHECK_EQ_INT(PyStackless_AdjustSwitchTrap(-1), 1);
    CHECK_EQ_INT(PyStackless_AdjustSwitchTrap(0), 0);
    run_all();
    CHECK_LOG("noop");
    finish(s);
    Py_XDECREF(s);
    end_of_test();
}

/* ---- B114 / B115 / B116 / B117 -------------------------------------------------------- */

static void check_set_atomic_sequence(PyTaskletObject *t) {
    CHECK_EQ_INT(PyTasklet_GetAtomic(t), 0);
    CHECK_EQ_INT(attr_bool(t, "atomic"), 0);
    CHECK_EQ_INT(PyTasklet_SetAtomic(t, 0), 0);
    CHECK_EQ_INT(attr_bool(t, "atomic"), 0);
    CHECK_EQ_INT(PyTasklet_SetAtomic(t, 1), 0);
    CHECK_EQ_INT(attr_bool(t, "atomic"), 1);
    CHECK_EQ_INT(PyTasklet_GetAtomic(t), 1);
    CHECK_EQ_INT(PyTasklet_SetAtomic(t, 1), 1);
    CHECK_EQ_INT(attr_bool(t, "atomic"), 1);
    CHECK_EQ_INT(PyTasklet_SetAtomic(t, 0), 1);
    CHECK_EQ_INT(attr_bool(t, "atomic"), 0);
    CHECK_EQ_INT(PyTasklet_GetAtomic(t), 0);
    /* a non-zero flag is stored as 1 */
    CHECK_EQ_INT(PyTasklet_SetAtomic(t, 42), 0);
    CHECK_EQ_INT(PyTasklet_GetAtomic(t), 1);
    CHECK_EQ_INT(PyTasklet_SetAtomic(t, 0), 1);
    /* the method: t.set_atomic(False/True/True/False) -> False, False, True, True */
    PyObject *want[4] = {Py_False, Py_False, Py_True, Py_True};
    PyObject *arg[4] = {Py_False, Py_True, Py_True, Py_False};
    for (int i = 0; i < 4; i++) {
        PyObject *r = call_method1(t, "set_atomic", arg[i]);
        CHECK(r == want[i]);
        Py_XDECREF(r);
        CHECK_EQ_INT(attr_bool(t, "atomic"), arg[i] == Py_True);
    }
    CHECK_NO_EXC();
}

static PyObject *atomic_seq_body(PyObject *self, PyObject *args) {
    (void)self;
    (void)args;
    PyTaskletObject *cur = get_current();
    check_set_atomic_sequence(cur);
    Py_DECREF(cur);
    log_event("seq-done");
    Py_RETURN_NONE;
}
static PyMethodDef atomic_seq_def = {"atomic_seq", atomic_seq_body, METH_NOARGS, NULL};

/* B114: `set_atomic(v)` returns the previous value. Starting from False, the sequence
 * set(False), set(True), set(True), set(False) returns False, False, True, True, and the
 * `atomic` attribute tracks it. (On main, on another tasklet, and on the current tasklet;
 * the other flags start at 0 too, §3.1.) */
static void test_B114(void) {
    log_reset();
    PyTaskletObject *m = get_main();
    check_set_atomic_sequence(m);
    Py_DECREF(m);
    PyTaskletObject *t = spawn(&atomic_seq_def, NULL);
    CHECK_EQ_INT(PyTasklet_GetIgnoreNesting(t), 0);
    CHECK_EQ_INT(PyTasklet_GetPendingIrq(t), 0);
    CHECK_EQ_INT(PyTasklet_GetBlockTrap(t), 0);
    check_set_atomic_sequence(t);
    run_all();
    CHECK_LOG("seq-done");
    finish(t);
    Py_XDECREF(t);
    end_of_test();
}

static PyObject *atomic_ctx_body(PyObject *self, PyObject *args) {
    (void)self;
    (void)args;
    PyTaskletObject *cur = get_current();
    for (int start = 0; start < 2; start++) {
        PyTasklet_SetAtomic(cur, start);
        int old = PyTasklet_SetAtomic(cur, 1); /* __enter__ */
        log_eventf("in:%ld", PyTasklet_GetAtomic(cur));
        PyTasklet_SetAtomic(cur, old); /* __exit__ */
        log_eventf("out:%ld", PyTasklet_GetAtomic(cur));
    }
    PyTasklet_SetAtomic(cur, 0);
    Py_DECREF(cur);
    Py_RETURN_NONE;
}
static PyMethodDef atomic_ctx_def = {"atomic_ctx", atomic_ctx_body, METH_NOARGS, NULL};

/* B115: Inside `with stackless.atomic():` atomic is True. On exit it is restored to the old
 * value (False or True).
 * C has no `with`: the context manager is `old = set_atomic(current, 1)` ...
 * `set_atomic(current, old)`, from False and from True. */
static void test_B115(void) {
    log_reset();
    PyTaskletObject *t = spawn(&atomic_ctx_def, NULL);
    run_all();
    CHECK_LOG("in:1 out:0 in:1 out:1");
    finish(t);
    Py_XDECREF(t);
    end_of_test();
}

static PyObject *atomic_scheduler(PyObject *self, PyObject *args) {
    (void)self;
    (void)args;
    PyTaskletObject *cur = get_current();
    int old = PyTasklet_SetAtomic(cur, 1);
    log_event("A:atomic");
    PyObject *r = PyStackless_Schedule(Py_None, 0);
    log_eventf("A:resumed atomic=%ld", PyTasklet_GetAtomic(cur));
    PyTasklet_SetAtomic(cur, old);
    Py_DECREF(cur);
    if (r == NULL) return NULL;
    Py_DECREF(r);
    Py_RETURN_NONE;
}
static PyMethodDef atomic_scheduler_def = {"atomic_scheduler", atomic_scheduler, METH_NOARGS,
                                           NULL};

static PyObject *other(PyObject *self, PyObject *args) {
    (void)self;
    (void)args;
    log_event("other");
    Py_RETURN_NONE;
}
static PyMethodDef other_def = {"other", other, METH_NOARGS, NULL};

/* B116: Atomic does not stop explicit switches. An atomic tasklet calling `schedule()` lets
 * "other" run and then resumes. */
static void test_B116(void) {
    log_reset();
    PyTaskletObject *a = spawn(&atomic_scheduler_def, NULL);
    PyTaskletObject *o = spawn(&other_def, NULL);
    run_all();
    CHECK_LOG("A:atomic other A:resumed atomic=1");
    CHECK_EQ_INT(PyTasklet_GetAtomic(a), 0);
    finish(a);
    finish(o);
    Py_XDECREF(a);
    Py_XDECREF(o);
    /* main, atomic, t.run() / schedule() still switch */
    log_reset();
    PyTaskletObject *m = get_main();
    CHECK_EQ_INT(PyTasklet_SetAtomic(m, 1), 0);
    o = spawn(&other_def, NULL);
    PyObject *r = PyStackless_Schedule(Py_None, 0);
    CHECK(r == Py_None);
    Py_XDECREF(r);
    CHECK_LOG("other");
    CHECK_EQ_INT(PyTasklet_SetAtomic(m, 0), 1);
    Py_DECREF(m);
    finish(o);
    Py_XDECREF(o);
    end_of_test();
}

/* B117: `set_ignore_nesting(1)` returns False and `set_ignore_nesting(0)` returns True. */
static void test_B117(void) {
    log_reset();
    PyTaskletObject *t = spawn(&other_def, NULL);
    CHECK_EQ_INT(PyTasklet_GetIgnoreNesting(t), 0);
    CHECK_EQ_INT(attr_bool(t, "ignore_nesting"), 0);
    CHECK_EQ_INT(PyTasklet_SetIgnoreNesting(t, 1), 0);
    CHECK_EQ_INT(PyTasklet_GetIgnoreNesting(t), 1);
    CHECK_EQ_INT(attr_bool(t, "ignore_nesting"), 1);
    CHECK_EQ_INT(PyTasklet_SetIgnoreNesting(t, 0), 1);
    CHECK_EQ_INT(PyTasklet_GetIgnoreNesting(t), 0);
    CHECK_EQ_INT(attr_bool(t, "ignore_nesting"), 0);
    PyObject *r = call_method1(t, "set_ignore_nesting", Py_True);
    CHECK(r == Py_False);
    Py_XDECREF(r);
    r = call_method1(t, "set_ignore_nesting", Py_False);
    CHECK(r == Py_True);
    Py_XDECREF(r);
    CHECK_EQ_INT(attr_bool(t, "ignore_nesting"), 0);
    /* on main too */
    PyTaskletObject *m = get_main();
    CHECK_EQ_INT(PyTasklet_SetIgnoreNesting(m, 1), 0);
    CHECK_EQ_INT(PyTasklet_SetIgnoreNesting(m, 0), 1);
    Py_DECREF(m);
    run_all();
    CHECK_LOG("other");
    finish(t);
    Py_XDECREF(t);
    end_of_test();
}

/* ---- bad input ------------------------------------------------------------------------ */

static void test_bad_input(void) {
    log_reset();
    check_bad_task_int(PyTasklet_GetAtomic, "PyTasklet_GetAtomic");
    check_bad_task_int(PyTasklet_GetIgnoreNesting, "PyTasklet_GetIgnoreNesting");
    check_bad_task_int(PyTasklet_GetPendingIrq, "PyTasklet_GetPendingIrq");
    check_bad_task_int(PyTasklet_GetBlockTrap, "PyTasklet_GetBlockTrap");
    check_bad_task_int(PyTasklet_Kill, "PyTasklet_Kill");
    PyObject *notask = PyUnicode_FromString("not a tasklet");
    CHECK_EQ_INT(PyTasklet_SetAtomic(NULL, 1), -1);
    CHECK_EXC_CONTAINS(PyExc_SystemError, "PyTasklet_SetAtomic");
    CHECK_EQ_INT(PyTasklet_SetAtomic(T(notask), 1), -1);
    CHECK_EXC_CONTAINS(PyExc_TypeError, "PyTasklet_SetAtomic");
    CHECK_EQ_INT(PyTasklet_SetIgnoreNesting(NULL, 1), -1);
    CHECK_EXC_CONTAINS(PyExc_SystemError, "PyTasklet_SetIgnoreNesting");
    CHECK_EQ_INT(PyTasklet_SetIgnoreNesting(T(notask), 1), -1);
    CHECK_EXC_CONTAINS(PyExc_TypeError, "PyTasklet_SetIgnoreNesting");
    CHECK_EQ_INT(PyTasklet_KillEx(NULL, 1), -1);
    CHECK_EXC_CONTAINS(PyExc_SystemError, "PyTasklet_KillEx");
    CHECK_EQ_INT(PyTasklet_RaiseException(NULL, PyExc_IndexError, NULL), -1);
    CHECK_EXC_CONTAINS(PyExc_SystemError, "PyTasklet_RaiseException");
    CHECK_EQ_INT(PyTasklet_RaiseException(T(notask), PyExc_IndexError, NULL), -1);
    CHECK_EXC_CONTAINS(PyExc_TypeError, "PyTasklet_RaiseException");
    CHECK_EQ_INT(PyTasklet_Throw(NULL, 0, PyExc_IndexError, NULL, NULL), -1);
    CHECK_EXC_CONTAINS(PyExc_SystemError, "PyTasklet_Throw");
    CHECK_EQ_INT(PyTasklet_Throw(T(notask), 1, PyExc_IndexError, NULL, NULL), -1);
    CHECK_EXC_CONTAINS(PyExc_TypeError, "PyTasklet_Throw");
    CHECK_EQ_INT(PyChannel_SendThrow(NULL, PyExc_IndexError, NULL, NULL), -1);
    CHECK_EXC_CONTAINS(PyExc_SystemError, "PyChannel_SendThrow");
    CHECK_EQ_INT(PyChannel_SendThrow(CH(notask), PyExc_IndexError, NULL, NULL), -1);
    CHECK_EXC_CONTAINS(PyExc_TypeError, "PyChannel_SendThrow");
    CHECK(fails(PyChannel_Receive_nr(NULL)));
    CHECK_EXC_CONTAINS(PyExc_SystemError, "PyChannel_Receive_nr");
    Py_DECREF(notask);
    /* the trap counter is untouched by all this */
    end_of_test();
}

int main(void) {
    for (int pass = 0; pass < 2; pass++) {
        PyStackless_EnableSoftswitch(pass == 0);
        test_B110();
        test_B110a();
        test_B111();
        test_B112();
        test_B113();
        test_B114();
        test_B115();
        test_B116();
        test_B117();
    }
    PyStackless_EnableSoftswitch(1);
    test_bad_input();
    return check_report();
}
