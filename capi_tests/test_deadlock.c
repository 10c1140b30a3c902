/* test_deadlock.c: blocking with nothing else runnable in one thread (catalogue B102-B109 of
 * reference/stackless-semantics.md, §4.6): the watchdog is revived when its caller is
 * floating; otherwise the tasklet trying to block gets "Deadlock: the last runnable tasklet
 * cannot be blocked." and stays runnable; a tasklet ending while main is blocked on a channel
 * wakes main with "the main tasklet is receiving without a sender available." / "...is
 * sending without a receiver available.".
 *
 * Python -> C: c.receive() is PyChannel_Receive, c.send(x) PyChannel_Send, schedule_remove()
 * PyStackless_Schedule(Py_None, 1), stackless.run() PyStackless_RunWatchdog(0). */
#include "tasklet_util.h"

#define DEADLOCK_MSG "Deadlock: the last runnable tasklet cannot be blocked."
#define MAIN_RECV_MSG "the main tasklet is receiving without a sender available."
#define MAIN_SEND_MSG "the main tasklet is sending without a receiver available."

/* ---- helpers ------------------------------------------------------------------------ */

static PyObject *tuple2(PyObject *a, PyObject *b) {
    PyObject *t = PyTuple_New(2);
    PyTuple_SetItem(t, 0, Py_NewRef(a));
    PyTuple_SetItem(t, 1, Py_NewRef(b));
    return t;
}

static PyChannelObject *arg_ch(PyObject *args, Py_ssize_t i) {
    return (PyChannelObject *)PyTuple_GetItem(args, i);
}

static int main_blocked(void) {
    PyObject *m = PyStackless_GetMain();
    int b = PyTasklet_GetBlocked((PyTaskletObject *)m);
    Py_DECREF(m);
    return b;
}

static PyObject *body_ran(PyObject *self, PyObject *args) {
    (void)self;
    (void)args;
    log_event("t");
    Py_RETURN_NONE;
}
static PyMethodDef body_ran_def = {"ran", body_ran, METH_VARARGS, NULL};

/* ---- B102-B104: main alone ------------------------------------------------------------ */

/* B102 [wd] testReceiveOnMain: "Main receives alone: RuntimeError matching "Deadlock"."
 * (B005: "Main is not left blocked and balance == 0"; the same for a send.) */
static void test_B102(void) {
    log_reset();
    PyChannelObject *ch = PyChannel_New(NULL);
    CHECK_EQ_INT(PyStackless_GetRunCount(), 1);
    PyObject *r = PyChannel_Receive(ch);
    CHECK(r == NULL);
    CHECK_EXC(PyExc_RuntimeError, DEADLOCK_MSG);
    Py_XDECREF(r);
    CHECK_EQ_INT(PyChannel_GetBalance(ch), 0);
    CHECK_EQ_INT(main_blocked(), 0);
    CHECK_EQ_INT(PyStackless_GetRunCount(), 1);

    CHECK_EQ_INT(PyChannel_Send(ch, Py_None), -1);
    CHECK_EXC(PyExc_RuntimeError, DEADLOCK_MSG);
    CHECK_EQ_INT(PyChannel_GetBalance(ch), 0);
    CHECK_EQ_INT(main_blocked(), 0);
    CHECK_EQ_INT(PyStackless_GetRunCount(), 1);
    Py_DECREF(ch);
}

/* B103 [wd] test_main_receiving_endttasklet: "tasklet(lambda: None)() followed by main
 * c.receive(): RuntimeError "the main tasklet is receiving without a sender available."."
 * (§4.6 rule 4: "Main is unblocked from the channel.") */
static void test_B103(void) {
    log_reset();
    PyChannelObject *ch = PyChannel_New(NULL);
    PyTaskletObject *t = spawn(&body_ran_def, NULL);
    PyObject *r = PyChannel_Receive(ch);
    CHECK(r == NULL);
    CHECK_EXC(PyExc_RuntimeError, MAIN_RECV_MSG);
    Py_XDECREF(r);
    CHECK_LOG("t");
    CHECK_EQ_INT(PyChannel_GetBalance(ch), 0);
    CHECK_EQ_INT(main_blocked(), 0);
    CHECK_EQ_INT(PyTasklet_Alive(t), 0);
    CHECK_EQ_INT(PyStackless_GetRunCount(), 1);
    Py_DECREF(t);
    Py_DECREF(ch);
}

/* B104 [wd] test_main_sending_enddtasklet: "The same with c.send(None): "the main tasklet is
 * sending without a receiver available."." */
static void test_B104(void) {
    log_reset();
    PyChannelObject *ch = PyChannel_New(NULL);
    PyTaskletObject *t = spawn(&body_ran_def, NULL);
    CHECK_EQ_INT(PyChannel_Send(ch, Py_None), -1);
    CHECK_EXC(PyExc_RuntimeError, MAIN_SEND_MSG);
    CHECK_LOG("t");
    CHECK_EQ_INT(PyChannel_GetBalance(ch), 0);
    CHECK_EQ_INT(main_blocked(), 0);
    CHECK_EQ_INT(PyTasklet_Alive(t), 0);
    CHECK_EQ_INT(PyStackless_GetRunCount(), 1);
    Py_DECREF(t);
    Py_DECREF(ch);
}

/* ---- B105-B107: a tasklet blocking while main is blocked ------------------------------ */

/* args (mc, c2, catch): receives on c2 (deadlock); if catch, logs and then sends None on mc,
 * else lets the error propagate. */
static PyObject *b105_body(PyObject *self, PyObject *args) {
    (void)self;
    PyChannelObject *mc = arg_ch(args, 0);
    PyChannelObject *c2 = arg_ch(args, 1);
    int catch_it = PyObject_IsTrue(PyTuple_GetItem(args, 2));
    log_event("t:recv");
    PyObject *r = PyChannel_Receive(c2);
    if (r != NULL) {
        log_event("t:got");
        Py_DECREF(r);
        Py_RETURN_NONE;
    }
    log_exc("t");
    if (!catch_it) return NULL;
    CHECK_EXC(PyExc_RuntimeError, DEADLOCK_MSG);
    /* The block was undone: the tasklet is runnable, not blocked, and c2 is empty. */
    PyObject *cur = PyStackless_GetCurrent();
    CHECK_EQ_INT(PyTasklet_GetBlocked((PyTaskletObject *)cur), 0);
    CHECK_EQ_INT(PyTasklet_Scheduled((PyTaskletObject *)cur), 1);
    Py_DECREF(cur);
    CHECK_EQ_INT(PyChannel_GetBalance(c2), 0);
    log_event("t:send");
    int rc = PyChannel_Send(mc, Py_None);
    log_event(rc == 0 ? "t:sent" : "t:send-failed");
    if (rc != 0) return NULL;
    Py_RETURN_NONE;
}
static PyMethodDef b105_def = {"b105", b105_body, METH_VARARGS, NULL};

static PyTaskletObject *spawn_b105(PyChannelObject *mc, PyChannelObject *c2, int catch_it) {
    PyObject *a = PyTuple_New(3);
    PyTuple_SetItem(a, 0, Py_NewRef((PyObject *)mc));
    PyTuple_SetItem(a, 1, Py_NewRef((PyObject *)c2));
    PyTuple_SetItem(a, 2, PyBool_FromLong(catch_it));
    return spawn(&b105_def, a);
}

/* B105 [wd] test_tasklet_deadlock: "Main is blocked on mc. A tasklet receives on another,
 * empty channel and gets RuntimeError "Deadlock" in the tasklet. It then mc.send(None)s and
 * main wakes normally." */
static void test_B105(void) {
    log_reset();
    PyChannelObject *mc = PyChannel_New(NULL);
    PyChannelObject *c2 = PyChannel_New(NULL);
    PyTaskletObject *t = spawn_b105(mc, c2, 1);
    PyObject *r = PyChannel_Receive(mc);
    CHECK(r == Py_None);
    CHECK_NO_EXC();
    Py_XDECREF(r);
    log_event("main:got");
    CHECK_EQ_INT(main_blocked(), 0);
    CHECK_EQ_INT(PyChannel_GetBalance(mc), 0);
    run_all();
    CHECK_LOG("t:recv t:RuntimeError t:send main:got t:sent");
    CHECK_EQ_INT(PyTasklet_Alive(t), 0);
    CHECK_EQ_INT(PyChannel_GetBalance(c2), 0);
    CHECK_EQ_INT(PyStackless_GetRunCount(), 1);
    Py_DECREF(t);
    Py_DECREF(c2);
    Py_DECREF(mc);
}

/* B106 [wd] test_tasklet_and_main_receive: "As B105, but the tasklet doesn't catch the
 * error. Main's mc.receive() raises RuntimeError "Deadlock"." */
static void test_B106(void) {
    log_reset();
    PyChannelObject *mc = PyChannel_New(NULL);
    PyChannelObject *c2 = PyChannel_New(NULL);
    PyTaskletObject *t = spawn_b105(mc, c2, 0);
    PyObject *r = PyChannel_Receive(mc);
    CHECK(r == NULL);
    CHECK_EXC(PyExc_RuntimeError, DEADLOCK_MSG);
    Py_XDECREF(r);
    CHECK_LOG("t:recv t:RuntimeError");
    CHECK_EQ_INT(main_blocked(), 0);
    CHECK_EQ_INT(PyChannel_GetBalance(mc), 0);
    CHECK_EQ_INT(PyChannel_GetBalance(c2), 0);
    CHECK_EQ_INT(PyTasklet_Alive(t), 0);
    CHECK_EQ_INT(PyStackless_GetRunCount(), 1);
    Py_DECREF(t);
    Py_DECREF(c2);
    Py_DECREF(mc);
}

/* B107 [de] testScheduleRemove2: "Main is blocked on a channel and the only tasklet calls
 * schedule_remove(). -> RuntimeError (Deadlock) in the tasklet; it then sends to main." */
static PyObject *b107_body(PyObject *self, PyObject *args) {
    (void)self;
    PyChannelObject *mc = arg_ch(args, 0);
    log_event("t:remove");
    PyObject *r = PyStackless_Schedule(Py_None, 1);
    if (r != NULL) {
        log_event("t:resumed");
        Py_DECREF(r);
        Py_RETURN_NONE;
    }
    log_exc("t");
    CHECK_EXC(PyExc_RuntimeError, DEADLOCK_MSG);
    PyObject *cur = PyStackless_GetCurrent();
    CHECK_EQ_INT(PyTasklet_Scheduled((PyTaskletObject *)cur), 1);
    Py_DECREF(cur);
    log_event("t:send");
    PyObject *v = PyUnicode_FromString("wake");
    int rc = PyChannel_Send(mc, v);
    Py_DECREF(v);
    log_event(rc == 0 ? "t:sent" : "t:send-failed");
    if (rc != 0) return NULL;
    Py_RETURN_NONE;
}
static PyMethodDef b107_def = {"b107", b107_body, METH_VARARGS, NULL};

static void test_B107(void) {
    log_reset();
    PyChannelObject *mc = PyChannel_New(NULL);
    PyTaskletObject *t = spawn(&b107_def, tuple1((PyObject *)mc));
    PyObject *r = PyChannel_Receive(mc);
    CHECK_NO_EXC();
    CHECK_OBJ_STR(r, "wake");
    Py_XDECREF(r);
    log_event("main:got");
    run_all();
    CHECK_LOG("t:remove t:RuntimeError t:send main:got t:sent");
    CHECK_EQ_INT(PyTasklet_Alive(t), 0);
    CHECK_EQ_INT(main_blocked(), 0);
    CHECK_EQ_INT(PyStackless_GetRunCount(), 1);
    Py_DECREF(t);
    Py_DECREF(mc);
}

/* ---- B108-B109: the watchdog is revived ----------------------------------------------- */

/* B108 [de] testScheduleRemove: "The only tasklet under run() calls schedule_remove(). run()
 * returns and the tasklet stays paused; the code after schedule_remove never runs." */
static PyObject *b108_body(PyObject *self, PyObject *args) {
    (void)self;
    (void)args;
    log_event("before");
    PyObject *r = PyStackless_Schedule(Py_None, 1);
    if (r == NULL) {
        log_exc("t");
        return NULL;
    }
    Py_DECREF(r);
    log_event("after");
    Py_RETURN_NONE;
}
static PyMethodDef b108_def = {"b108", b108_body, METH_VARARGS, NULL};

static void test_B108(void) {
    log_reset();
    PyTaskletObject *t = spawn(&b108_def, NULL);
    run_all();
    CHECK_NO_EXC();
    CHECK_LOG("before");
    CHECK_EQ_INT(PyTasklet_Alive(t), 1);
    CHECK_EQ_INT(PyTasklet_Paused(t), 1);
    CHECK_EQ_INT(PyTasklet_Scheduled(t), 0);
    CHECK_EQ_INT(PyStackless_GetRunCount(), 1);
    /* A second run() has nothing to do. */
    run_all();
    CHECK_LOG("before");
    /* Clean up: kill the paused tasklet. */
    CHECK_EQ_INT(PyTasklet_Kill(t), 0);
    CHECK_NO_EXC();
    CHECK_LOG("before t:TaskletExit");
    CHECK_EQ_INT(PyTasklet_Alive(t), 0);
    Py_DECREF(t);
}

/* B109 [de] testTemporaryChannel / [P] dl.py: "A tasklet blocks on a temporary channel that is
 * freed. run() returns. ... This is a refcount artefact: don't test it. The basic point
 * (run() returns, the tasklet is left dangling) is what matters." SPEC §5: "A channel that
 * still has blocked tasklets stays alive (blocked tasklets hold a reference to it): no
 * tasklet is ever left dangling on a freed channel." So the tasklet stays blocked (alive,
 * blocked -1, scheduled, not paused), and main doing the same gets the "receiving without a
 * sender" error (the hard-switching behaviour of Stackless). */
static PyObject *b109_body(PyObject *self, PyObject *args) {
    (void)self;
    (void)args;
    PyChannelObject *tmp = PyChannel_New(NULL);
    log_event("t:recv");
    PyObject *r = PyChannel_Receive(tmp);
    Py_DECREF(tmp);
    if (r == NULL) {
        log_exc("t");
        return NULL;
    }
    log_event("t:got");
    Py_DECREF(r);
    Py_RETURN_NONE;
}
static PyMethodDef b109_def = {"b109", b109_body, METH_VARARGS, NULL};

static void test_B109(void) {
    log_reset();
    PyTaskletObject *t = spawn(&b109_def, NULL);
    run_all();
    CHECK_NO_EXC();
    CHECK_LOG("t:recv");
    CHECK_EQ_INT(PyTasklet_Alive(t), 1);
    CHECK_EQ_INT(PyTasklet_GetBlocked(t), -1);
    CHECK_EQ_INT(PyTasklet_Scheduled(t), 1);
    CHECK_EQ_INT(PyTasklet_Paused(t), 0);
    CHECK_EQ_INT(PyStackless_GetRunCount(), 1);
    /* Clean up: kill it; its receive raises TaskletExit and it drops the channel. */
    CHECK_EQ_INT(PyTasklet_Kill(t), 0);
    CHECK_NO_EXC();
    CHECK_LOG("t:recv t:TaskletExit");
    CHECK_EQ_INT(PyTasklet_Alive(t), 0);
    Py_DECREF(t);

    /* Main does channel().receive() while another tasklet ends. */
    log_reset();
    PyTaskletObject *t2 = spawn(&body_ran_def, NULL);
    PyChannelObject *tmp = PyChannel_New(NULL);
    PyObject *r = PyChannel_Receive(tmp);
    Py_DECREF(tmp);
    CHECK(r == NULL);
    CHECK_EXC(PyExc_RuntimeError, MAIN_RECV_MSG);
    Py_XDECREF(r);
    CHECK_LOG("t");
    CHECK_EQ_INT(main_blocked(), 0);
    Py_DECREF(t2);
}

/* ---- §4.6 rule 1: the floating watchdog is revived ------------------------------------ */

/* §4.6 rule 1 / B037: "the watchdog is revived ... So run() returns None while tasklets stay
 * blocked". Two tasklets blocked on channels under run(): run() returns, both stay blocked;
 * then main sends to both (each runs at once, preference -1). */
static PyObject *recv_log(PyObject *self, PyObject *args) {
    (void)self;
    PyChannelObject *ch = arg_ch(args, 0);
    const char *name = PyUnicode_AsUTF8(PyTuple_GetItem(args, 1));
    char buf[64];
    snprintf(buf, sizeof buf, "%s:recv", name);
    log_event(buf);
    PyObject *r = PyChannel_Receive(ch);
    if (r == NULL) return NULL;
    PyObject *s = PyObject_Str(r);
    snprintf(buf, sizeof buf, "%s:got-%s", name, s ? PyUnicode_AsUTF8(s) : "?");
    log_event(buf);
    Py_XDECREF(s);
    Py_DECREF(r);
    Py_RETURN_NONE;
}
static PyMethodDef recv_log_def = {"recv_log", recv_log, METH_VARARGS, NULL};

static void test_S46_watchdog_revived(void) {
    log_reset();
    PyChannelObject *c1 = PyChannel_New(NULL);
    PyChannelObject *c2 = PyChannel_New(NULL);
    PyObject *n1 = PyUnicode_FromString("a");
    PyObject *n2 = PyUnicode_FromString("b");
    PyTaskletObject *a = spawn(&recv_log_def, tuple2((PyObject *)c1, n1));
    PyTaskletObject *b = spawn(&recv_log_def, tuple2((PyObject *)c2, n2));
    run_all();
    CHECK_NO_EXC();
    CHECK_LOG("a:recv b:recv");
    CHECK_EQ_INT(PyTasklet_GetBlocked(a), -1);
    CHECK_EQ_INT(PyTasklet_GetBlocked(b), -1);
    CHECK_EQ_INT(PyStackless_GetRunCount(), 1);
    PyObject *v = PyLong_FromLong(5);
    CHECK_EQ_INT(PyChannel_Send(c2, v), 0);
    CHECK_EQ_INT(PyChannel_Send(c1, v), 0);
    CHECK_LOG("a:recv b:recv b:got-5 a:got-5");
    CHECK_EQ_INT(PyTasklet_Alive(a), 0);
    CHECK_EQ_INT(PyTasklet_Alive(b), 0);
    Py_DECREF(v);
    Py_DECREF(a);
    Py_DECREF(b);
    Py_DECREF(n1);
    Py_DECREF(n2);
    Py_DECREF(c1);
    Py_DECREF(c2);
}

/* Every test runs with soft switching enabled and disabled (SPEC §7: programs using the
 * plain calls give identical results and event orders in both modes). */
static void run_tests(void) {
    test_B102();
    test_B103();
    test_B104();
    test_B105();
    test_B106();
    test_B107();
    test_B108();
    test_B109();
    test_S46_watchdog_revived();
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
