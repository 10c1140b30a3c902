/* test_channels.c: channel basics, close/iteration/sequences (catalogue B001-B013,
 * B026-B034 of reference/stackless-semantics.md §5.1 and §5.3), the bad-input behaviour of
 * every channel function (SPEC §2) and the Python-level attribute/method face of a channel
 * (SPEC §3 "Attributes").
 *
 * Every test runs twice: with soft switching enabled and disabled (SPEC §7: both modes
 * must give identical results). Each test leaves no tasklet blocked or runnable behind. */
#include <stdarg.h>

#include "tasklet_util.h"

/* ---- helpers -------------------------------------------------------------------------- */

static PyChannelObject *g_ch; /* the channel the tasklet bodies use (borrowed) */

/* Logs "<prefix><str(o)>". */
static void log_obj(const char *prefix, PyObject *o) {
    PyObject *s = o ? PyObject_Str(o) : NULL;
    char buf[256];
    snprintf(buf, sizeof buf, "%s%s", prefix, s ? PyUnicode_AsUTF8(s) : "<NULL>");
    Py_XDECREF(s);
    PyErr_Clear();
    log_event(buf);
}

/* A new tuple of the n objects given (borrowed): what PyTuple_Pack(n, ...) does. */
static PyObject *tup(int n, ...) {
    va_list ap;
    PyObject *t = PyTuple_New(n);
    va_start(ap, n);
    for (int i = 0; i < n; i++) {
        PyObject *o = va_arg(ap, PyObject *);
        Py_INCREF(o);
        PyTuple_SetItem(t, i, o);
    }
    va_end(ap);
    return t;
}

/* A new tuple of the n C longs given. */
static PyObject *tup_longs(int n, ...) {
    va_list ap;
    PyObject *t = PyTuple_New(n);
    va_start(ap, n);
    for (int i = 0; i < n; i++) PyTuple_SetItem(t, i, PyLong_FromLong(va_arg(ap, long)));
    va_end(ap);
    return t;
}

static PyObject *new_int_tuple(long start, long stop) {
    PyObject *t = PyTuple_New(stop - start);
    for (long i = start; i < stop; i++) PyTuple_SetItem(t, i - start, PyLong_FromLong(i));
    return t;
}

static PyObject *main_tasklet(void) { return PyStackless_GetMain(); }

/* Python's `next(ch)` for a channel: StopIteration when `closing and balance <= 0`,
 * otherwise `ch.receive()`. Returns a new reference or NULL with an exception set. */
static PyObject *chan_next(PyChannelObject *ch) {
    if (PyChannel_GetClosing(ch) && PyChannel_GetBalance(ch) <= 0) {
        PyErr_SetNone(PyExc_StopIteration);
        return NULL;
    }
    return PyChannel_Receive(ch);
}

/* Python's `for x in ch: log(x)`: returns 0 when the loop ended by StopIteration (raised by
 * the iterator rule or received from the channel), -1 with another exception pending. */
static int chan_for_log(PyChannelObject *ch, const char *prefix) {
    for (;;) {
        PyObject *x = chan_next(ch);
        if (x == NULL) {
            if (PyErr_ExceptionMatches(PyExc_StopIteration)) {
                PyErr_Clear();
                return 0;
            }
            return -1;
        }
        log_obj(prefix, x);
        Py_DECREF(x);
    }
}

/* The tuple (SystemError, TypeError): what NULL / wrong-type arguments may raise. */
static PyObject *g_bad_arg_excs;

/* ---- tasklet bodies ------------------------------------------------------------------- */

/* args (name, value): logs "<name>:send-start", sends value on g_ch, logs "<name>:sent". */
static PyObject *body_send(PyObject *self, PyObject *args) {
    (void)self;
    char buf[64];
    const char *name = arg_str(args, 0);
    snprintf(buf, sizeof buf, "%s:send-start", name);
    log_event(buf);
    if (PyChannel_Send(g_ch, PyTuple_GetItem(args, 1)) < 0) return NULL;
    snprintf(buf, sizeof buf, "%s:sent", name);
    log_event(buf);
    Py_RETURN_NONE;
}
static PyMethodDef def_send = {"body_send", body_send, METH_VARARGS, NULL};

/* args (name,): logs "<name>:recv-start", receives on g_ch, logs "<name>:got <value>". */
static PyObject *body_recv(PyObject *self, PyObject *args) {
    (void)self;
    char buf[64];
    const char *name = arg_str(args, 0);
    snprintf(buf, sizeof buf, "%s:recv-start", name);
    log_event(buf);
    PyObject *v = PyChannel_Receive(g_ch);
    if (v == NULL) return NULL;
    snprintf(buf, sizeof buf, "%s:got ", name);
    log_obj(buf, v);
    Py_DECREF(v);
    Py_RETURN_NONE;
}
static PyMethodDef def_recv = {"body_recv", body_recv, METH_VARARGS, NULL};

static PyTaskletObject *spawn_send(const char *name, PyObject *value) {
    PyObject *n = PyUnicode_FromString(name);
    PyObject *args = tup(2, n, value);
    Py_DECREF(n);
    return spawn(&def_send, args);
}
static PyTaskletObject *spawn_send_long(const char *name, long v) {
    PyObject *o = PyLong_FromLong(v);
    PyTaskletObject *t = spawn_send(name, o);
    Py_DECREF(o);
    return t;
}

/* ---- 5.1 channel basics --------------------------------------------------------------- */

static void test_B001(void) {
    /* B001: a tasklet sending on a fresh channel blocks; balance 1; control returns. */
    PyChannelObject *ch = PyChannel_New(NULL);
    g_ch = ch;
    log_reset();
    PyTaskletObject *t = spawn_send_long("t", 1);
    CHECK_EQ_INT(PyTasklet_Run(t), 0);
    log_event("main:back");
    CHECK_LOG("t:send-start main:back");
    CHECK_EQ_INT(PyTasklet_GetBlocked(t), 1);
    CHECK_EQ_INT(PyChannel_GetBalance(ch), 1);
    CHECK_EQ_INT(PyTasklet_Alive(t), 1);
    CHECK_EQ_INT(PyTasklet_Scheduled(t), 1); /* blocked counts as scheduled */
    CHECK_EQ_INT(PyTasklet_Paused(t), 0);
    CHECK_EQ_INT(PyStackless_GetRunCount(), 1);
    PyObject *q = PyChannel_GetQueue(ch);
    CHECK(q == (PyObject *)t);
    Py_XDECREF(q);

    /* Unblock: main takes the value, the sender finishes on the next run. */
    PyObject *v = PyChannel_Receive(ch);
    CHECK_EQ_INT(PyLong_AsLong(v), 1);
    Py_XDECREF(v);
    CHECK_EQ_INT(PyTasklet_GetBlocked(t), 0);
    CHECK_EQ_INT(PyChannel_GetBalance(ch), 0);
    run_all();
    CHECK_LOG("t:send-start main:back t:sent");
    CHECK_EQ_INT(PyTasklet_Alive(t), 0);
    Py_XDECREF(t);
    Py_DECREF(ch);
    check_idle();
}

static void test_B002(void) {
    /* B002: the same with receive: blocked -1, balance -1. */
    PyChannelObject *ch = PyChannel_New(NULL);
    g_ch = ch;
    log_reset();
    PyTaskletObject *t = spawn_str(&def_recv, "t");
    CHECK_EQ_INT(PyTasklet_Run(t), 0);
    log_event("main:back");
    CHECK_LOG("t:recv-start main:back");
    CHECK_EQ_INT(PyTasklet_GetBlocked(t), -1);
    CHECK_EQ_INT(PyChannel_GetBalance(ch), -1);
    CHECK_EQ_INT(PyTasklet_Scheduled(t), 1);
    CHECK_EQ_INT(PyStackless_GetRunCount(), 1);

    PyObject *v = PyLong_FromLong(5);
    CHECK_EQ_INT(PyChannel_Send(ch, v), 0);
    Py_DECREF(v);
    CHECK_LOG("t:recv-start main:back t:got 5");
    CHECK_EQ_INT(PyChannel_GetBalance(ch), 0);
    CHECK_EQ_INT(PyTasklet_Alive(t), 0);
    Py_XDECREF(t);
    Py_DECREF(ch);
    check_idle();
}

static void test_B003(void) {
    /* B003: a send to a waiting receiver never blocks, even under block_trap. */
    PyChannelObject *ch = PyChannel_New(NULL);
    g_ch = ch;
    log_reset();
    PyTaskletObject *t = spawn_str(&def_recv, "t");
    CHECK_EQ_INT(PyTasklet_Run(t), 0);
    PyTaskletObject *m = (PyTaskletObject *)main_tasklet();
    PyTasklet_SetBlockTrap(m, 1);
    CHECK_EQ_INT(PyTasklet_GetBlockTrap(m), 1);
    PyObject *one = PyLong_FromLong(1);
    CHECK_EQ_INT(PyChannel_Send(ch, one), 0);
    CHECK_NO_EXC();
    Py_DECREF(one);
    PyTasklet_SetBlockTrap(m, 0);
    CHECK_LOG("t:recv-start t:got 1");
    CHECK_EQ_INT(PyTasklet_Alive(t), 0);
    CHECK_EQ_INT(PyChannel_GetBalance(ch), 0);
    Py_XDECREF(m);
    Py_XDECREF(t);
    Py_DECREF(ch);
    check_idle();
}

static void test_B004(void) {
    /* B004: a receive from a waiting sender never blocks, even under block_trap. */
    PyChannelObject *ch = PyChannel_New(NULL);
    g_ch = ch;
    log_reset();
    PyTaskletObject *t = spawn_send_long("t", 1);
    CHECK_EQ_INT(PyTasklet_Run(t), 0);
    PyTaskletObject *m = (PyTaskletObject *)main_tasklet();
    PyTasklet_SetBlockTrap(m, 1);
    PyObject *v = PyChannel_Receive(ch);
    CHECK(v != NULL);
    CHECK_EQ_INT(PyLong_AsLong(v), 1);
    Py_XDECREF(v);
    PyTasklet_SetBlockTrap(m, 0);
    CHECK_EQ_INT(PyChannel_GetBalance(ch), 0);
    run_all();
    CHECK_LOG("t:send-start t:sent");
    Py_XDECREF(m);
    Py_XDECREF(t);
    Py_DECREF(ch);
    check_idle();
}

static void test_B005(void) {
    /* B005: main receiving with nothing else runnable: deadlock error, not left blocked. */
    PyChannelObject *ch = PyChannel_New(NULL);
    PyObject *v = PyChannel_Receive(ch);
    CHECK(v == NULL);
    CHECK_EXC(PyExc_RuntimeError, "Deadlock: the last runnable tasklet cannot be blocked.");
    Py_XDECREF(v);
    CHECK_EQ_INT(PyChannel_GetBalance(ch), 0);
    PyObject *q = PyChannel_GetQueue(ch);
    CHECK(q == Py_None);
    Py_XDECREF(q);
    PyTaskletObject *m = (PyTaskletObject *)main_tasklet();
    CHECK_EQ_INT(PyTasklet_GetBlocked(m), 0);
    CHECK_EQ_INT(PyTasklet_IsCurrent(m), 1);
    Py_XDECREF(m);
    /* The same for a send. */
    CHECK_EQ_INT(PyChannel_Send(ch, Py_None), -1);
    CHECK_EXC(PyExc_RuntimeError, "Deadlock: the last runnable tasklet cannot be blocked.");
    CHECK_EQ_INT(PyChannel_GetBalance(ch), 0);
    Py_DECREF(ch);
    check_idle();
}

/* B006 sender: send_exception(ValueError, (1, 2, 3)). */
static PyObject *body_send_exc(PyObject *self, PyObject *args) {
    (void)self;
    (void)args;
    PyObject *a = tup_longs(3, 1L, 2L, 3L);
    int rc = PyChannel_SendException(g_ch, PyExc_ValueError, a);
    Py_DECREF(a);
    log_eventf("S:send_exception=%ld", rc);
    if (rc < 0) return NULL;
    Py_RETURN_NONE;
}
static PyMethodDef def_send_exc = {"body_send_exc", body_send_exc, METH_VARARGS, NULL};

/* Checks that the pending exception is `type` with args whose str is `args_str`; clears it. */
static void check_exc_args(PyObject *type, const char *args_str) {
    PyObject *e = PyErr_GetRaisedException();
    CHECK(e != NULL);
    if (e == NULL) return;
    CHECK(PyErr_GivenExceptionMatches(e, type));
    PyObject *a = PyException_GetArgs(e);
    CHECK_OBJ_STR(a, args_str);
    Py_XDECREF(a);
    PyErr_Clear();
    Py_DECREF(e);
}

static void test_B006(void) {
    /* B006: send_exception blocks like send; the receiver raises ValueError(1, 2, 3). */
    PyChannelObject *ch = PyChannel_New(NULL);
    g_ch = ch;
    log_reset();
    PyTaskletObject *t = spawn(&def_send_exc, NULL);
    CHECK_EQ_INT(PyTasklet_Run(t), 0);
    CHECK_EQ_INT(PyTasklet_GetBlocked(t), 1);
    CHECK_EQ_INT(PyChannel_GetBalance(ch), 1);
    CHECK_LOG("");
    PyObject *v = PyChannel_Receive(ch);
    CHECK(v == NULL);
    check_exc_args(PyExc_ValueError, "(1, 2, 3)");
    Py_XDECREF(v);
    CHECK_EQ_INT(PyChannel_GetBalance(ch), 0);
    run_all();
    CHECK_LOG("S:send_exception=0");
    Py_XDECREF(t);
    Py_DECREF(ch);
    check_idle();
}

/* B007: bar() raises ValueError(1, 2, 3); the body catches it and send_throw()s it. */
static PyObject *bar(void) {
    PyObject *a = tup_longs(3, 1L, 2L, 3L);
    PyErr_SetObject(PyExc_ValueError, a);
    Py_DECREF(a);
    return NULL;
}
static PyObject *g_thrown; /* the instance the sender threw (new reference) */
static PyObject *body_send_throw(PyObject *self, PyObject *args) {
    (void)self;
    (void)args;
    PyObject *r = bar();
    if (r != NULL) return r;
    PyObject *type, *value, *tb;
    PyErr_Fetch(&type, &value, &tb);
    PyErr_NormalizeException(&type, &value, &tb);
    Py_XINCREF(value);
    g_thrown = value;
    int rc = PyChannel_SendThrow(g_ch, type, value, tb);
    Py_XDECREF(type);
    Py_XDECREF(value);
    Py_XDECREF(tb);
    log_eventf("S:send_throw=%ld", rc);
    if (rc < 0) return NULL;
    Py_RETURN_NONE;
}
static PyMethodDef def_send_throw = {"body_send_throw", body_send_throw, METH_VARARGS, NULL};

static void test_B007(void) {
    /* B007: send_throw(*sys.exc_info()): the receiver raises the same ValueError(1, 2, 3).
     * (The traceback half of B007 cannot be expressed: there are no traceback objects.) */
    PyChannelObject *ch = PyChannel_New(NULL);
    g_ch = ch;
    log_reset();
    g_thrown = NULL;
    PyTaskletObject *t = spawn(&def_send_throw, NULL);
    CHECK_EQ_INT(PyTasklet_Run(t), 0);
    CHECK_EQ_INT(PyTasklet_GetBlocked(t), 1);
    PyObject *v = PyChannel_Receive(ch);
    CHECK(v == NULL);
    PyObject *e = PyErr_GetRaisedException();
    CHECK(e != NULL);
    if (e != NULL) {
        CHECK(PyErr_GivenExceptionMatches(e, PyExc_ValueError));
        CHECK(e == g_thrown); /* `raise` semantics with an instance: that very instance */
        PyObject *a = PyException_GetArgs(e);
        CHECK_OBJ_STR(a, "(1, 2, 3)");
        Py_XDECREF(a);
        PyErr_Clear();
        Py_DECREF(e);
    }
    Py_XDECREF(v);
    run_all();
    CHECK_LOG("S:send_throw=0");
    Py_CLEAR(g_thrown);
    Py_XDECREF(t);
    Py_DECREF(ch);
    check_idle();
}

/* B008/B009: with block_trap set, a blocking send/receive raises RuntimeError and the caller
 * continues. METH_O: arg is 1 for send, 0 for receive. */
static int g_count;
static PyObject *body_trapped_op(PyObject *self, PyObject *arg) {
    (void)self;
    int sending = (int)PyLong_AsLong(arg);
    PyTaskletObject *cur = (PyTaskletObject *)PyStackless_GetCurrent();
    int old = PyTasklet_GetBlockTrap(cur);
    PyTasklet_SetBlockTrap(cur, 1);
    if (sending) {
        CHECK_EQ_INT(PyChannel_Send(g_ch, Py_None), -1);
    } else {
        PyObject *v = PyChannel_Receive(g_ch);
        CHECK(v == NULL);
        Py_XDECREF(v);
    }
    CHECK_EXC(PyExc_RuntimeError, "this tasklet does not like to be blocked.");
    CHECK_EQ_INT(PyChannel_GetBalance(g_ch), 0);
    CHECK_EQ_INT(PyTasklet_GetBlocked(cur), 0);
    PyTasklet_SetBlockTrap(cur, old);
    Py_DECREF(cur);
    g_count++;
    Py_RETURN_NONE;
}
static PyMethodDef def_trapped_op = {"body_trapped_op", body_trapped_op, METH_O, NULL};

static void trapped_op_twice(int sending) {
    PyChannelObject *ch = PyChannel_New(NULL);
    g_ch = ch;
    g_count = 0;
    PyObject *flag = PyLong_FromLong(sending);
    /* in main */
    PyObject *r = body_trapped_op(NULL, flag);
    Py_XDECREF(r);
    /* and in a tasklet */
    PyTaskletObject *t = spawn(&def_trapped_op, tup(1, flag));
    run_all();
    CHECK_EQ_INT(g_count, 2);
    CHECK_EQ_INT(PyTasklet_Alive(t), 0);
    Py_XDECREF(t);
    Py_DECREF(flag);
    Py_DECREF(ch);
    check_idle();
}

static void test_B008(void) {
    /* B008 */
    trapped_op_twice(1);
}

static void test_B009(void) {
    /* B009 */
    trapped_op_twice(0);
}

static void test_B010(void) {
    /* B010: three blocked senders: balance 3, queue FIFO, receives give 0, 1, 2. */
    PyChannelObject *ch = PyChannel_New(NULL);
    g_ch = ch;
    log_reset();
    PyTaskletObject *t0 = spawn_send_long("t0", 0);
    PyTaskletObject *t1 = spawn_send_long("t1", 1);
    PyTaskletObject *t2 = spawn_send_long("t2", 2);
    run_all();
    CHECK_LOG("t0:send-start t1:send-start t2:send-start");
    CHECK_EQ_INT(PyChannel_GetBalance(ch), 3);
    CHECK_EQ_INT(PyTasklet_GetBlocked(t0), 1);
    CHECK_EQ_INT(PyTasklet_GetBlocked(t1), 1);
    CHECK_EQ_INT(PyTasklet_GetBlocked(t2), 1);
    PyObject *q = PyChannel_GetQueue(ch);
    CHECK(q == (PyObject *)t0);
    PyObject *n1 = PyTasklet_GetNext(t0);
    CHECK(n1 == (PyObject *)t1);
    PyObject *n2 = PyTasklet_GetNext(t1);
    CHECK(n2 == (PyObject *)t2);
    PyObject *n3 = PyTasklet_GetNext(t2);
    CHECK(n3 == Py_None);
    Py_XDECREF(q);
    Py_XDECREF(n1);
    Py_XDECREF(n2);
    Py_XDECREF(n3);
    for (long i = 0; i < 3; i++) {
        PyObject *v = PyChannel_Receive(ch);
        CHECK(v != NULL);
        CHECK_EQ_INT(PyLong_AsLong(v), i);
        Py_XDECREF(v);
    }
    CHECK_EQ_INT(PyChannel_GetBalance(ch), 0);
    q = PyChannel_GetQueue(ch);
    CHECK(q == Py_None);
    Py_XDECREF(q);
    run_all();
    CHECK_LOG("t0:send-start t1:send-start t2:send-start t0:sent t1:sent t2:sent");
    Py_XDECREF(t0);
    Py_XDECREF(t1);
    Py_XDECREF(t2);
    Py_DECREF(ch);
    check_idle();
}

static void test_B011(void) {
    /* B011: defaults, and the setters clamp to the sign / to a flag. */
    PyChannelObject *ch = PyChannel_New(NULL);
    CHECK_EQ_INT(PyChannel_GetPreference(ch), -1);
    CHECK_EQ_INT(PyChannel_GetScheduleAll(ch), 0);
    CHECK_EQ_INT(PyChannel_GetBalance(ch), 0);
    CHECK_EQ_INT(PyChannel_GetClosing(ch), 0);
    CHECK_EQ_INT(PyChannel_GetClosed(ch), 0);
    PyChannel_SetPreference(ch, 5);
    CHECK_EQ_INT(PyChannel_GetPreference(ch), 1);
    PyChannel_SetPreference(ch, -7);
    CHECK_EQ_INT(PyChannel_GetPreference(ch), -1);
    PyChannel_SetPreference(ch, 0);
    CHECK_EQ_INT(PyChannel_GetPreference(ch), 0);
    PyChannel_SetScheduleAll(ch, 3);
    CHECK_EQ_INT(PyChannel_GetScheduleAll(ch), 1);
    PyChannel_SetScheduleAll(ch, 0);
    CHECK_EQ_INT(PyChannel_GetScheduleAll(ch), 0);
    CHECK_NO_EXC();
    Py_DECREF(ch);
    check_idle();
}

/* B012 receiver: keeps the exception it gets in g_caught. */
static PyObject *g_caught;
static PyObject *body_recv_catch(PyObject *self, PyObject *args) {
    (void)self;
    (void)args;
    PyObject *v = PyChannel_Receive(g_ch);
    if (v != NULL) {
        log_obj("R:got ", v);
        Py_DECREF(v);
    } else {
        g_caught = PyErr_GetRaisedException();
        log_event("R:raised");
    }
    Py_RETURN_NONE;
}
static PyMethodDef def_recv_catch = {"body_recv_catch", body_recv_catch, METH_VARARGS, NULL};

static void test_B012(void) {
    /* B012: send_exception(42) is a TypeError; send_throw(KeyError("k")) raises that. */
    PyChannelObject *ch = PyChannel_New(NULL);
    g_ch = ch;
    log_reset();
    PyObject *n = PyLong_FromLong(42);
    CHECK_EQ_INT(PyChannel_SendException(ch, n, NULL), -1);
    CHECK_EXC(PyExc_TypeError,
              "channel.send_exception needs Exception or string subclass as first parameter");
    CHECK_EQ_INT(PyChannel_GetBalance(ch), 0);
    Py_DECREF(n);

    g_caught = NULL;
    PyTaskletObject *r = spawn(&def_recv_catch, NULL);
    CHECK_EQ_INT(PyTasklet_Run(r), 0);
    CHECK_EQ_INT(PyChannel_GetBalance(ch), -1);
    PyErr_SetString(PyExc_KeyError, "k");
    PyObject *inst = PyErr_GetRaisedException();
    CHECK(inst != NULL);
    CHECK_EQ_INT(PyChannel_SendThrow(ch, inst, NULL, NULL), 0);
    CHECK_LOG("R:raised");
    CHECK(g_caught != NULL);
    if (g_caught != NULL) {
        CHECK(PyErr_GivenExceptionMatches(g_caught, PyExc_KeyError));
        CHECK(g_caught == inst);
        PyObject *rep = PyObject_Repr(g_caught);
        CHECK_OBJ_STR(rep, "KeyError('k')");
        Py_XDECREF(rep);
    }
    PyErr_Clear();
    Py_CLEAR(g_caught);
    Py_XDECREF(inst);
    CHECK_EQ_INT(PyTasklet_Alive(r), 0);
    Py_XDECREF(r);
    Py_DECREF(ch);
    check_idle();
}

static void test_B013(void) {
    /* B013: a channel subtype works; a non-subtype is a TypeError. */
    PyType_Slot slots[] = {{0, NULL}};
    PyType_Spec spec = {"test.MyChannel", -(int)sizeof(long), 0, Py_TPFLAGS_BASETYPE, slots};
    PyObject *sub = PyType_FromSpecWithBases(&spec, (PyObject *)&PyChannel_Type);
    CHECK(sub != NULL);
    if (sub != NULL) {
        PyChannelObject *ch = PyChannel_New((PyTypeObject *)sub);
        CHECK(ch != NULL);
        if (ch != NULL) {
            CHECK(Py_TYPE(ch) == (PyTypeObject *)sub);
            CHECK_EQ_INT(PyChannel_Check((PyObject *)ch), 1);
            CHECK_EQ_INT(PyChannel_CheckExact((PyObject *)ch), 0);
            CHECK_EQ_INT(PyChannel_GetPreference(ch), -1);
            long *data = PyObject_GetTypeData((PyObject *)ch, (PyTypeObject *)sub);
            CHECK(data != NULL && *data == 0);
            g_ch = ch;
            log_reset();
            PyTaskletObject *t = spawn_str(&def_recv, "t");
            CHECK_EQ_INT(PyTasklet_Run(t), 0);
            CHECK_EQ_INT(PyChannel_GetBalance(ch), -1);
            PyObject *v = PyLong_FromLong(9);
            CHECK_EQ_INT(PyChannel_Send(ch, v), 0);
            Py_DECREF(v);
            CHECK_LOG("t:recv-start t:got 9");
            Py_XDECREF(t);
            Py_DECREF(ch);
        }
        Py_DECREF(sub);
    }
    PyChannelObject *bad = PyChannel_New(&PyTasklet_Type);
    CHECK(bad == NULL);
    CHECK_EXC(PyExc_TypeError, "channel_new: type must be subtype of channel");
    Py_XDECREF(bad);
    bad = PyChannel_New(&PyLong_Type);
    CHECK(bad == NULL);
    CHECK_EXC(PyExc_TypeError, "channel_new: type must be subtype of channel");
    Py_XDECREF(bad);
    PyChannelObject *plain = PyChannel_New(NULL);
    CHECK(plain != NULL);
    CHECK_EQ_INT(PyChannel_CheckExact((PyObject *)plain), 1);
    Py_XDECREF(plain);
    check_idle();
}

/* SPEC §5: a channel with blocked tasklets stays alive when its last outside reference goes
 * (without a reference per blocked tasklet: the hot path changes no counts), and is freed
 * once its wait queue empties. A channel subtype with a finalizer shows when it is freed. */
static int g_chan_finalized;
static void count_chan_finalize(PyObject *self) {
    (void)self;
    g_chan_finalized++;
}

static void test_orphaned_channel(void) {
    PyType_Slot slots[] = {{Py_tp_finalize, SLOT_FN(count_chan_finalize)}, {0, NULL}};
    PyType_Spec spec = {"test.CountedChannel", 0, 0, Py_TPFLAGS_BASETYPE, slots};
    PyObject *sub = PyType_FromSpecWithBases(&spec, (PyObject *)&PyChannel_Type);
    CHECK(sub != NULL);
    if (sub == NULL) return;
    PyChannelObject *ch = PyChannel_New((PyTypeObject *)sub);
    CHECK(ch != NULL);
    if (ch == NULL) {
        Py_DECREF(sub);
        return;
    }
    g_ch = ch;
    log_reset();
    PyTaskletObject *t1 = spawn_str(&def_recv, "t1");
    PyTaskletObject *t2 = spawn_str(&def_recv, "t2");
    CHECK_EQ_INT(PyTasklet_Run(t1), 0); /* t1 blocks, then t2 (next in the queue) does */
    CHECK_LOG("t1:recv-start t2:recv-start");
    CHECK_EQ_INT(PyChannel_GetBalance(ch), -2);
    CHECK_EQ_INT(Py_REFCNT(ch), 1); /* blocking took no reference */

    /* The last outside reference goes: the channel stays, both stay blocked on it. */
    g_chan_finalized = 0;
    g_ch = NULL;
    Py_DECREF(ch);
    CHECK_EQ_INT(g_chan_finalized, 0);
    CHECK_EQ_INT(PyTasklet_GetBlocked(t1), -1);
    CHECK_EQ_INT(PyTasklet_GetBlocked(t2), -1);
    PyObject *after = PyTasklet_GetNext(t1); /* the queue is intact: t1 -> t2 */
    CHECK(after == (PyObject *)t2);
    Py_XDECREF(after);

    /* Killing one leaves the other waiting on the live channel; killing the last frees it. */
    CHECK_EQ_INT(PyTasklet_Kill(t1), 0);
    CHECK_NO_EXC();
    CHECK_EQ_INT(PyTasklet_Alive(t1), 0);
    CHECK_EQ_INT(g_chan_finalized, 0);
    CHECK_EQ_INT(PyTasklet_GetBlocked(t2), -1);
    CHECK_EQ_INT(PyTasklet_Kill(t2), 0);
    CHECK_NO_EXC();
    CHECK_EQ_INT(PyTasklet_Alive(t2), 0);
    CHECK_EQ_INT(g_chan_finalized, 1);
    CHECK_LOG("t1:recv-start t2:recv-start");
    Py_XDECREF(t1);
    Py_XDECREF(t2);
    Py_DECREF(sub);
    check_idle();
}

/* ---- 5.3 close / iteration / sequences ------------------------------------------------ */

static void test_B026(void) {
    /* B026: send on an empty closed channel: ValueError. */
    PyChannelObject *ch = PyChannel_New(NULL);
    PyChannel_Close(ch);
    CHECK_NO_EXC();
    CHECK_EQ_INT(PyChannel_GetClosing(ch), 1);
    CHECK_EQ_INT(PyChannel_GetClosed(ch), 1);
    CHECK_EQ_INT(PyChannel_Send(ch, Py_None), -1);
    CHECK_EXC(PyExc_ValueError, "Send/receive operation on a closed channel");
    CHECK_EQ_INT(PyChannel_GetBalance(ch), 0);
    Py_DECREF(ch);
    check_idle();
}

static void test_B027(void) {
    /* B027: receive on an empty closed channel: ValueError. */
    PyChannelObject *ch = PyChannel_New(NULL);
    PyChannel_Close(ch);
    PyObject *v = PyChannel_Receive(ch);
    CHECK(v == NULL);
    CHECK_EXC(PyExc_ValueError, "Send/receive operation on a closed channel");
    Py_XDECREF(v);
    CHECK_EQ_INT(PyChannel_GetBalance(ch), 0);
    Py_DECREF(ch);
    check_idle();
}

static void test_B028(void) {
    /* B028: next(iter(ch)) on an empty closed channel: StopIteration (the iterator rule,
     * emulated: closing and balance <= 0). */
    PyChannelObject *ch = PyChannel_New(NULL);
    PyChannel_Close(ch);
    CHECK_EQ_INT(PyChannel_GetClosing(ch), 1);
    CHECK(PyChannel_GetBalance(ch) <= 0);
    PyObject *v = chan_next(ch);
    CHECK(v == NULL);
    CHECK_EXC(PyExc_StopIteration, NULL);
    Py_XDECREF(v);
    Py_DECREF(ch);
    check_idle();
}

static void test_B029(void) {
    /* B029: close with two blocked receivers: partners still complete, then ValueError. */
    PyChannelObject *ch = PyChannel_New(NULL);
    g_ch = ch;
    log_reset();
    PyTaskletObject *r1 = spawn_str(&def_recv, "r1");
    PyTaskletObject *r2 = spawn_str(&def_recv, "r2");
    run_all();
    CHECK_LOG("r1:recv-start r2:recv-start");
    PyChannel_Close(ch);
    CHECK_EQ_INT(PyChannel_GetClosing(ch), 1);
    CHECK_EQ_INT(PyChannel_GetClosed(ch), 0);
    CHECK_EQ_INT(PyChannel_GetBalance(ch), -2);
    CHECK_EQ_INT(PyTasklet_GetBlocked(r1), -1); /* close wakes nobody */
    CHECK_EQ_INT(PyTasklet_GetBlocked(r2), -1);

    PyObject *one = PyLong_FromLong(1), *two = PyLong_FromLong(2), *three = PyLong_FromLong(3);
    CHECK_EQ_INT(PyChannel_Send(ch, one), 0);
    CHECK_LOG("r1:recv-start r2:recv-start r1:got 1");
    CHECK_EQ_INT(PyChannel_GetBalance(ch), -1);
    CHECK_EQ_INT(PyChannel_GetClosed(ch), 0);
    CHECK_EQ_INT(PyChannel_Send(ch, two), 0);
    CHECK_LOG("r1:recv-start r2:recv-start r1:got 1 r2:got 2");
    CHECK_EQ_INT(PyChannel_GetBalance(ch), 0);
    CHECK_EQ_INT(PyChannel_GetClosed(ch), 1);
    CHECK_EQ_INT(PyChannel_Send(ch, three), -1);
    CHECK_EXC(PyExc_ValueError, "Send/receive operation on a closed channel");
    PyObject *v = PyChannel_Receive(ch);
    CHECK(v == NULL);
    CHECK_EXC(PyExc_ValueError, "Send/receive operation on a closed channel");
    Py_XDECREF(v);
    v = chan_next(ch);
    CHECK(v == NULL);
    CHECK_EXC(PyExc_StopIteration, NULL);
    Py_XDECREF(v);
    PyChannel_Open(ch);
    CHECK_NO_EXC();
    CHECK_EQ_INT(PyChannel_GetClosing(ch), 0);
    CHECK_EQ_INT(PyChannel_GetClosed(ch), 0);
    CHECK_EQ_INT(PyTasklet_Alive(r1), 0);
    CHECK_EQ_INT(PyTasklet_Alive(r2), 0);
    Py_DECREF(one);
    Py_DECREF(two);
    Py_DECREF(three);
    Py_XDECREF(r1);
    Py_XDECREF(r2);
    Py_DECREF(ch);
    check_idle();
}

static void test_B030(void) {
    /* B030: close with a blocked sender: the value can still be received, then closed. */
    PyChannelObject *ch = PyChannel_New(NULL);
    g_ch = ch;
    log_reset();
    PyTaskletObject *s = spawn_send_long("s", 7);
    run_all();
    PyChannel_Close(ch);
    CHECK_EQ_INT(PyChannel_GetClosing(ch), 1);
    CHECK_EQ_INT(PyChannel_GetClosed(ch), 0);
    CHECK_EQ_INT(PyChannel_GetBalance(ch), 1);
    CHECK_EQ_INT(PyTasklet_GetBlocked(s), 1);
    PyObject *v = PyChannel_Receive(ch);
    CHECK(v != NULL);
    CHECK_EQ_INT(PyLong_AsLong(v), 7);
    Py_XDECREF(v);
    CHECK_EQ_INT(PyChannel_GetClosed(ch), 1);
    CHECK_EQ_INT(PyChannel_GetBalance(ch), 0);
    run_all();
    CHECK_LOG("s:send-start s:sent");
    Py_XDECREF(s);
    Py_DECREF(ch);
    check_idle();
}

/* B031 body: a trapped tasklet receiving/sending on a closed empty channel. */
static PyObject *body_trapped_closed(PyObject *self, PyObject *args) {
    (void)self;
    (void)args;
    PyTaskletObject *cur = (PyTaskletObject *)PyStackless_GetCurrent();
    PyTasklet_SetBlockTrap(cur, 1);
    PyObject *v = PyChannel_Receive(g_ch);
    CHECK(v == NULL);
    CHECK_EXC(PyExc_RuntimeError, "this tasklet does not like to be blocked.");
    Py_XDECREF(v);
    CHECK_EQ_INT(PyChannel_Send(g_ch, Py_None), -1);
    CHECK_EXC(PyExc_RuntimeError, "this tasklet does not like to be blocked.");
    PyTasklet_SetBlockTrap(cur, 0);
    Py_DECREF(cur);
    log_event("T:done");
    Py_RETURN_NONE;
}
static PyMethodDef def_trapped_closed = {"body_trapped_closed", body_trapped_closed,
                                         METH_VARARGS, NULL};

static void test_B031(void) {
    /* B031: block_trap is checked before closing: RuntimeError, not ValueError. */
    PyChannelObject *ch = PyChannel_New(NULL);
    g_ch = ch;
    log_reset();
    PyChannel_Close(ch);
    PyTaskletObject *t = spawn(&def_trapped_closed, NULL);
    run_all();
    CHECK_LOG("T:done");
    /* and in main */
    PyTaskletObject *m = (PyTaskletObject *)main_tasklet();
    PyTasklet_SetBlockTrap(m, 1);
    PyObject *v = PyChannel_Receive(ch);
    CHECK(v == NULL);
    CHECK_EXC(PyExc_RuntimeError, "this tasklet does not like to be blocked.");
    Py_XDECREF(v);
    PyTasklet_SetBlockTrap(m, 0);
    Py_XDECREF(m);
    Py_XDECREF(t);
    Py_DECREF(ch);
    check_idle();
}

/* B032 sender: send_sequence(range(10)), close(), then pump None while closing and not
 * closed. */
static PyObject *body_seq_sender_pump(PyObject *self, PyObject *args) {
    (void)self;
    (void)args;
    PyObject *seq = new_int_tuple(0, 10);
    Py_ssize_t n = PyChannel_SendSequence(g_ch, seq);
    Py_DECREF(seq);
    if (n < 0) return NULL;
    log_eventf("S:sent_sequence=%ld", (long)n);
    PyChannel_Close(g_ch);
    while (PyChannel_GetClosing(g_ch) && !PyChannel_GetClosed(g_ch)) {
        if (PyChannel_Send(g_ch, Py_None) < 0) return NULL;
    }
    Py_RETURN_NONE;
}
static PyMethodDef def_seq_sender_pump = {"body_seq_sender_pump", body_seq_sender_pump,
                                          METH_VARARGS, NULL};

/* `for i in ch: data.append(i)`, data in the log as "d:<i>". */
static PyObject *body_for_receiver(PyObject *self, PyObject *args) {
    (void)self;
    (void)args;
    if (chan_for_log(g_ch, "d:") < 0) return NULL;
    log_event("R:loop-ended");
    Py_RETURN_NONE;
}
static PyMethodDef def_for_receiver = {"body_for_receiver", body_for_receiver, METH_VARARGS,
                                       NULL};

/* The log without the "d:None" padding, with the data items' "d:" prefixes. */
static void strip_none_padding(char *out, size_t size) {
    out[0] = '\0';
    char copy[sizeof tu_log];
    strcpy(copy, tu_log);
    for (char *tok = strtok(copy, " "); tok; tok = strtok(NULL, " ")) {
        if (strcmp(tok, "d:None") == 0) continue;
        if (strncmp(tok, "d:", 2) != 0) continue;
        if (out[0] && strlen(out) + 1 < size) strcat(out, " ");
        if (strlen(out) + strlen(tok + 2) < size) strcat(out, tok + 2);
    }
}

static void test_B032(void) {
    /* B032: send_sequence, close, pump None; the iterating receiver gets 0..9. */
    PyChannelObject *ch = PyChannel_New(NULL);
    g_ch = ch;
    log_reset();
    PyTaskletObject *s = spawn(&def_seq_sender_pump, NULL);
    PyTaskletObject *r = spawn(&def_for_receiver, NULL);
    run_all();
    char data[512];
    strip_none_padding(data, sizeof data);
    strcat(data, " 10"); /* data.append(10) */
    CHECK_STR(data, "0 1 2 3 4 5 6 7 8 9 10");
    CHECK(strstr(tu_log, "S:sent_sequence=10") != NULL);
    CHECK(strstr(tu_log, "R:loop-ended") != NULL);
    CHECK_EQ_INT(PyChannel_GetClosed(ch), 1);
    CHECK_EQ_INT(PyTasklet_Alive(s), 0);
    CHECK_EQ_INT(PyTasklet_Alive(r), 0);
    Py_XDECREF(s);
    Py_XDECREF(r);
    Py_DECREF(ch);
    check_idle();
}

/* B033 sender: send_sequence(range(10)) == 10, send_exception(StopIteration), close(). */
static PyObject *body_seq_sender_stop(PyObject *self, PyObject *args) {
    (void)self;
    PyObject *stop_arg = PyTuple_GetItem(args, 0); /* how many items to send */
    PyObject *seq = new_int_tuple(0, PyLong_AsLong(stop_arg));
    Py_ssize_t n = PyChannel_SendSequence(g_ch, seq);
    Py_DECREF(seq);
    if (n < 0) return NULL;
    log_eventf("S:sent_sequence=%ld", (long)n);
    if (PyChannel_SendException(g_ch, PyExc_StopIteration, NULL) < 0) return NULL;
    log_event("S:sent_stop");
    if (PyTuple_Size(args) > 1) PyChannel_Close(g_ch);
    Py_RETURN_NONE;
}
static PyMethodDef def_seq_sender_stop = {"body_seq_sender_stop", body_seq_sender_stop,
                                          METH_VARARGS, NULL};

static void test_B033(void) {
    /* B033: send_sequence + send_exception(StopIteration) + close: the for loop ends. */
    PyChannelObject *ch = PyChannel_New(NULL);
    g_ch = ch;
    log_reset();
    PyTaskletObject *s = spawn(&def_seq_sender_stop, tup_longs(2, 10L, 1L));
    PyTaskletObject *r = spawn(&def_for_receiver, NULL);
    run_all();
    char data[512];
    strip_none_padding(data, sizeof data);
    CHECK_STR(data, "0 1 2 3 4 5 6 7 8 9");
    CHECK(strstr(tu_log, "S:sent_sequence=10") != NULL);
    CHECK(strstr(tu_log, "R:loop-ended") != NULL);
    CHECK(strstr(tu_log, "S:sent_stop") != NULL);
    CHECK_EQ_INT(PyChannel_GetClosed(ch), 1);
    CHECK_EQ_INT(PyTasklet_Alive(s), 0);
    CHECK_EQ_INT(PyTasklet_Alive(r), 0);
    Py_XDECREF(s);
    Py_XDECREF(r);
    Py_DECREF(ch);
    check_idle();
}

static void test_B034(void) {
    /* B034: send_sequence(range(5)) == 5; list(ch) in main with a trailing
     * send_exception(StopIteration) gives [0, 1, 2, 3, 4]. */
    PyChannelObject *ch = PyChannel_New(NULL);
    g_ch = ch;
    log_reset();
    PyTaskletObject *s = spawn(&def_seq_sender_stop, tup_longs(1, 5L));
    CHECK_EQ_INT(chan_for_log(ch, "d:"), 0);
    char data[512];
    strip_none_padding(data, sizeof data);
    CHECK_STR(data, "0 1 2 3 4");
    run_all();
    CHECK(strstr(tu_log, "S:sent_sequence=5") != NULL);
    CHECK(strstr(tu_log, "S:sent_stop") != NULL);
    CHECK_EQ_INT(PyTasklet_Alive(s), 0);
    CHECK_EQ_INT(PyChannel_GetBalance(ch), 0);
    Py_XDECREF(s);
    Py_DECREF(ch);
    check_idle();
}

/* ---- bad input (SPEC §2) ---------------------------------------------------------------- */

/* An exception of g_bad_arg_excs is pending and its message names `func`; clears it. */
#define CHECK_BAD(func) CHECK_EXC_CONTAINS(g_bad_arg_excs, func)

static void test_bad_input(void) {
    PyChannelObject *ch = PyChannel_New(NULL);
    PyObject *num = PyLong_FromLong(3);
    PyChannelObject *wrong = (PyChannelObject *)num; /* not a channel */
    PyTaskletObject *tl = PyTasklet_New(NULL, NULL);
    PyChannelObject *wrong2 = (PyChannelObject *)tl; /* a tasklet is not a channel either */

    CHECK_EQ_INT(PyChannel_Check(NULL), 0);
    CHECK_EQ_INT(PyChannel_CheckExact(NULL), 0);
    CHECK_EQ_INT(PyChannel_Check(num), 0);
    CHECK_EQ_INT(PyChannel_Check((PyObject *)tl), 0);
    CHECK_NO_EXC();

    CHECK(PyChannel_New((PyTypeObject *)num) == NULL);
    CHECK_EXC(PyExc_TypeError, NULL);

    PyChannelObject *bads[2] = {NULL, wrong};
    for (int i = 0; i < 3; i++) {
        PyChannelObject *b = i < 2 ? bads[i] : wrong2;
        CHECK_EQ_INT(PyChannel_Send(b, Py_None), -1);
        CHECK_BAD("PyChannel_Send");
        CHECK_EQ_INT(PyChannel_Send_nr(b, Py_None), -1);
        CHECK_BAD("PyChannel_Send_nr");
        CHECK(PyChannel_Receive(b) == NULL);
        CHECK_BAD("PyChannel_Receive");
        CHECK(PyChannel_Receive_nr(b) == NULL);
        CHECK_BAD("PyChannel_Receive_nr");
        CHECK_EQ_INT(PyChannel_SendException(b, PyExc_ValueError, NULL), -1);
        CHECK_BAD("PyChannel_SendException");
        CHECK_EQ_INT(PyChannel_SendThrow(b, PyExc_ValueError, NULL, NULL), -1);
        CHECK_BAD("PyChannel_SendThrow");
        PyObject *seq = new_int_tuple(0, 2);
        CHECK_EQ_INT(PyChannel_SendSequence(b, seq), -1);
        CHECK_BAD("PyChannel_SendSequence");
        Py_DECREF(seq);
        CHECK(PyChannel_GetQueue(b) == NULL);
        CHECK_BAD("PyChannel_GetQueue");
        PyChannel_Close(b);
        CHECK_BAD("PyChannel_Close");
        PyChannel_Open(b);
        CHECK_BAD("PyChannel_Open");
        CHECK_EQ_INT(PyChannel_GetClosing(b), -1);
        CHECK_BAD("PyChannel_GetClosing");
        CHECK_EQ_INT(PyChannel_GetClosed(b), -1);
        CHECK_BAD("PyChannel_GetClosed");
        CHECK_EQ_INT(PyChannel_GetPreference(b), -1);
        CHECK_BAD("PyChannel_GetPreference");
        PyChannel_SetPreference(b, 1);
        CHECK_BAD("PyChannel_SetPreference");
        CHECK_EQ_INT(PyChannel_GetScheduleAll(b), -1);
        CHECK_BAD("PyChannel_GetScheduleAll");
        PyChannel_SetScheduleAll(b, 1);
        CHECK_BAD("PyChannel_SetScheduleAll");
        CHECK_EQ_INT(PyChannel_GetBalance(b), 0); /* documented failure value */
        CHECK_BAD("PyChannel_GetBalance");
    }

    /* Bad second arguments on a good channel: nothing blocks, nothing changes. */
    CHECK_EQ_INT(PyChannel_Send(ch, NULL), -1);
    CHECK_BAD("PyChannel_Send");
    CHECK_EQ_INT(PyChannel_Send_nr(ch, NULL), -1);
    CHECK_BAD("PyChannel_Send_nr");
    CHECK_EQ_INT(PyChannel_SendException(ch, NULL, NULL), -1);
    CHECK(PyErr_Occurred() != NULL);
    PyErr_Clear();
    CHECK_EQ_INT(PyChannel_SendException(ch, (PyObject *)tl, NULL), -1);
    CHECK_EXC(PyExc_TypeError,
              "channel.send_exception needs Exception or string subclass as first parameter");
    CHECK_EQ_INT(PyChannel_SendThrow(ch, NULL, NULL, NULL), -1);
    CHECK(PyErr_Occurred() != NULL);
    PyErr_Clear();
    CHECK_EQ_INT(PyChannel_SendThrow(ch, num, NULL, NULL), -1);
    CHECK_EXC(PyExc_TypeError, "exceptions must be classes, or instances, not int");
    PyErr_SetString(PyExc_ValueError, "v");
    PyObject *inst = PyErr_GetRaisedException();
    CHECK_EQ_INT(PyChannel_SendThrow(ch, inst, num, NULL), -1);
    CHECK_EXC(PyExc_TypeError, "instance exception may not have a separate value");
    CHECK_EQ_INT(PyChannel_SendThrow(ch, PyExc_ValueError, NULL, num), -1);
    CHECK_EXC(PyExc_TypeError, "third argument must be a traceback object");
    Py_XDECREF(inst);
    CHECK_EQ_INT(PyChannel_SendSequence(ch, NULL), -1);
    CHECK_BAD("PyChannel_SendSequence");
    CHECK_EQ_INT(PyChannel_SendSequence(ch, num), -1);
    CHECK_EXC(PyExc_TypeError, NULL);
    CHECK_EQ_INT(PyChannel_GetBalance(ch), 0);
    CHECK_EQ_INT(PyChannel_GetPreference(ch), -1);
    CHECK_EQ_INT(PyChannel_GetClosing(ch), 0);
    CHECK_NO_EXC();

    Py_XDECREF(tl);
    Py_DECREF(num);
    Py_DECREF(ch);
    check_idle();
}

/* ---- the Python-level face (SPEC §3 Attributes) ------------------------------------------ */

static long attr_long(PyObject *o, const char *name) {
    PyObject *v = PyObject_GetAttrString(o, name);
    if (v == NULL) return -999;
    long r = PyLong_AsLong(v);
    Py_DECREF(v);
    return r;
}

static int attr_true(PyObject *o, const char *name) {
    PyObject *v = PyObject_GetAttrString(o, name);
    if (v == NULL) return -999;
    int r = PyObject_IsTrue(v);
    Py_DECREF(v);
    return r;
}

static int set_attr_long(PyObject *o, const char *name, long val) {
    PyObject *v = PyLong_FromLong(val);
    int r = PyObject_SetAttrString(o, name, v);
    Py_DECREF(v);
    return r;
}

/* Calls ch.<name>(*args); args a new tuple (stolen) or NULL for no arguments. */
static PyObject *call_method(PyObject *o, const char *name, PyObject *args) {
    PyObject *m = PyObject_GetAttrString(o, name);
    PyObject *r = NULL;
    if (m != NULL) {
        PyObject *a = args ? args : PyTuple_New(0);
        r = PyObject_Call(m, a, NULL);
        if (!args) Py_DECREF(a);
        Py_DECREF(m);
    }
    Py_XDECREF(args);
    return r;
}

static void test_pyface_attributes(void) {
    /* B011 through the attributes: preference and schedule_all are read/write and clamp. */
    PyChannelObject *chc = PyChannel_New(NULL);
    PyObject *ch = (PyObject *)chc;
    CHECK_EQ_INT(attr_long(ch, "balance"), 0);
    CHECK_EQ_INT(attr_true(ch, "closing"), 0);
    CHECK_EQ_INT(attr_true(ch, "closed"), 0);
    CHECK_EQ_INT(attr_long(ch, "preference"), -1);
    CHECK_EQ_INT(attr_long(ch, "schedule_all"), 0);
    PyObject *q = PyObject_GetAttrString(ch, "queue");
    CHECK(q == Py_None);
    Py_XDECREF(q);
    CHECK_NO_EXC();

    CHECK_EQ_INT(set_attr_long(ch, "preference", 5), 0);
    CHECK_EQ_INT(attr_long(ch, "preference"), 1);
    CHECK_EQ_INT(PyChannel_GetPreference(chc), 1);
    CHECK_EQ_INT(set_attr_long(ch, "preference", -7), 0);
    CHECK_EQ_INT(attr_long(ch, "preference"), -1);
    CHECK_EQ_INT(set_attr_long(ch, "preference", 0), 0);
    CHECK_EQ_INT(attr_long(ch, "preference"), 0);
    CHECK_EQ_INT(PyChannel_GetPreference(chc), 0);
    CHECK_EQ_INT(set_attr_long(ch, "schedule_all", 3), 0);
    CHECK_EQ_INT(attr_long(ch, "schedule_all"), 1);
    CHECK_EQ_INT(PyChannel_GetScheduleAll(chc), 1);
    CHECK_EQ_INT(PyObject_SetAttrString(ch, "schedule_all", Py_False), 0);
    CHECK_EQ_INT(attr_long(ch, "schedule_all"), 0);
    CHECK_NO_EXC();

    /* Read-only and unknown attributes, and a bad value type. */
    CHECK_EQ_INT(set_attr_long(ch, "balance", 1), -1);
    CHECK_EXC(PyExc_AttributeError, NULL);
    CHECK_EQ_INT(PyObject_SetAttrString(ch, "closing", Py_True), -1);
    CHECK_EXC(PyExc_AttributeError, NULL);
    CHECK_EQ_INT(PyObject_SetAttrString(ch, "queue", Py_None), -1);
    CHECK_EXC(PyExc_AttributeError, NULL);
    CHECK(PyObject_GetAttrString(ch, "no_such_attribute") == NULL);
    CHECK_EXC(PyExc_AttributeError, NULL);
    CHECK_EQ_INT(PyObject_HasAttrString(ch, "send"), 1);
    CHECK_EQ_INT(PyObject_HasAttrString(ch, "no_such_attribute"), 0);
    PyObject *s = PyUnicode_FromString("x");
    CHECK_EQ_INT(PyObject_SetAttrString(ch, "preference", s), -1);
    CHECK_EXC(PyExc_TypeError, NULL);
    Py_DECREF(s);
    CHECK_EQ_INT(attr_long(ch, "preference"), 0);
    CHECK_NO_EXC();
    Py_DECREF(ch);
    check_idle();
}

static void test_pyface_methods(void) {
    /* B001/B002/B010/B029/B030 through the methods: send, receive, send_exception,
     * send_throw, send_sequence, close, open, and the attributes balance/queue/closed. */
    PyChannelObject *chc = PyChannel_New(NULL);
    PyObject *ch = (PyObject *)chc;
    g_ch = chc;
    log_reset();

    /* receive by a tasklet, send by main through ch.send (B002 + B022 order). */
    PyTaskletObject *r = spawn_str(&def_recv, "r");
    CHECK_EQ_INT(PyTasklet_Run(r), 0);
    CHECK_EQ_INT(attr_long(ch, "balance"), -1);
    PyObject *q = PyObject_GetAttrString(ch, "queue");
    CHECK(q == (PyObject *)r);
    Py_XDECREF(q);
    PyObject *send = PyObject_GetAttrString(ch, "send");
    CHECK(send != NULL && PyCallable_Check(send));
    PyObject *v = PyLong_FromLong(42);
    PyObject *res = send ? PyObject_CallOneArg(send, v) : NULL;
    CHECK(res == Py_None);
    Py_XDECREF(res);
    Py_DECREF(v);
    CHECK_LOG("r:recv-start r:got 42");
    CHECK_EQ_INT(attr_long(ch, "balance"), 0);
    Py_XDECREF(r);

    /* send by a tasklet, receive by main through ch.receive (B001 + B023). */
    PyTaskletObject *s = spawn_send_long("s", 43);
    CHECK_EQ_INT(PyTasklet_Run(s), 0);
    CHECK_EQ_INT(attr_long(ch, "balance"), 1);
    res = call_method(ch, "receive", NULL);
    CHECK(res != NULL);
    CHECK_EQ_INT(PyLong_AsLong(res), 43);
    Py_XDECREF(res);
    run_all();
    CHECK_LOG("r:recv-start r:got 42 s:send-start s:sent");
    Py_XDECREF(s);

    /* send_exception(ValueError, 1, 2) (B006). */
    g_caught = NULL;
    log_reset();
    r = spawn(&def_recv_catch, NULL);
    CHECK_EQ_INT(PyTasklet_Run(r), 0);
    PyObject *one = PyLong_FromLong(1), *two = PyLong_FromLong(2);
    PyObject *ve_args = tup(3, PyExc_ValueError, one, two);
    Py_DECREF(one);
    Py_DECREF(two);
    res = call_method(ch, "send_exception", ve_args);
    CHECK(res == Py_None);
    Py_XDECREF(res);
    CHECK_LOG("R:raised");
    if (g_caught != NULL) {
        CHECK(PyErr_GivenExceptionMatches(g_caught, PyExc_ValueError));
        PyObject *a = PyException_GetArgs(g_caught);
        CHECK_OBJ_STR(a, "(1, 2)");
        Py_XDECREF(a);
    } else {
        CHECK(g_caught != NULL);
    }
    Py_CLEAR(g_caught);
    Py_XDECREF(r);
    /* send_exception(42): TypeError (B012) */
    res = call_method(ch, "send_exception", tup_longs(1, 42L));
    CHECK(res == NULL);
    CHECK_EXC(PyExc_TypeError,
              "channel.send_exception needs Exception or string subclass as first parameter");

    /* send_throw(KeyError('k')) (B012). */
    log_reset();
    r = spawn(&def_recv_catch, NULL);
    CHECK_EQ_INT(PyTasklet_Run(r), 0);
    PyErr_SetString(PyExc_KeyError, "k");
    PyObject *inst = PyErr_GetRaisedException();
    res = call_method(ch, "send_throw", tup(1, inst));
    CHECK(res == Py_None);
    Py_XDECREF(res);
    CHECK_LOG("R:raised");
    CHECK(g_caught == inst);
    Py_CLEAR(g_caught);
    Py_XDECREF(inst);
    Py_XDECREF(r);

    /* send_sequence((0, 1, 2)) returns 3 (B034); the receiver iterates (B033). */
    log_reset();
    r = spawn(&def_for_receiver, NULL);
    CHECK_EQ_INT(PyTasklet_Run(r), 0);
    PyObject *seq = new_int_tuple(0, 3);
    res = call_method(ch, "send_sequence", tup(1, seq));
    Py_DECREF(seq);
    CHECK(res != NULL);
    CHECK_EQ_INT(PyLong_AsLong(res), 3);
    Py_XDECREF(res);
    CHECK_LOG("d:0 d:1 d:2");

    /* close (B029): closing, not closed while the receiver waits; a send still completes. */
    res = call_method(ch, "close", NULL);
    CHECK(res == Py_None);
    Py_XDECREF(res);
    CHECK_EQ_INT(attr_true(ch, "closing"), 1);
    CHECK_EQ_INT(attr_true(ch, "closed"), 0);
    CHECK_EQ_INT(attr_long(ch, "balance"), -1);
    v = PyLong_FromLong(3);
    res = send ? PyObject_CallOneArg(send, v) : NULL;
    CHECK(res == Py_None);
    Py_XDECREF(res);
    Py_DECREF(v);
    /* balance is 0 now: the receiver's iterator stops (closing and balance <= 0). */
    CHECK_LOG("d:0 d:1 d:2 d:3 R:loop-ended");
    CHECK_EQ_INT(attr_true(ch, "closed"), 1);
    res = send ? PyObject_CallOneArg(send, Py_None) : NULL;
    CHECK(res == NULL);
    CHECK_EXC(PyExc_ValueError, "Send/receive operation on a closed channel");
    res = call_method(ch, "receive", NULL);
    CHECK(res == NULL);
    CHECK_EXC(PyExc_ValueError, "Send/receive operation on a closed channel");
    res = call_method(ch, "open", NULL);
    CHECK(res == Py_None);
    Py_XDECREF(res);
    CHECK_EQ_INT(attr_true(ch, "closing"), 0);
    CHECK_EQ_INT(attr_true(ch, "closed"), 0);
    Py_XDECREF(r);

    /* Wrong arguments to the methods: TypeError, nothing blocks. */
    res = send ? PyObject_CallNoArgs(send) : NULL;
    CHECK(res == NULL);
    CHECK_EXC(PyExc_TypeError, NULL);
    res = call_method(ch, "receive", tup_longs(1, 1L));
    CHECK(res == NULL);
    CHECK_EXC(PyExc_TypeError, NULL);
    res = call_method(ch, "send_sequence", tup_longs(1, 1L));
    CHECK(res == NULL);
    CHECK_EXC(PyExc_TypeError, NULL);
    CHECK_EQ_INT(attr_long(ch, "balance"), 0);

    Py_XDECREF(send);
    Py_DECREF(ch);
    check_idle();
}

/* ---- the _nr variants (SPEC §7, §11) ---------------------------------------------------- */

/* A body that ends with PyChannel_Receive_nr in tail position (the soft protocol: the
 * unwind token, or the value, is the body's result). */
static PyObject *body_recv_nr_tail(PyObject *self, PyObject *args) {
    (void)self;
    (void)args;
    log_event("Rnr:start");
    return PyChannel_Receive_nr(g_ch);
}
static PyMethodDef def_recv_nr_tail = {"body_recv_nr_tail", body_recv_nr_tail, METH_VARARGS,
                                       NULL};

/* A body that sends with PyChannel_Send_nr and returns the token when it switched soft. */
static PyObject *body_send_nr(PyObject *self, PyObject *args) {
    (void)self;
    (void)args;
    log_event("Snr:start");
    PyObject *v = PyLong_FromLong(11);
    int rc = PyChannel_Send_nr(g_ch, v);
    Py_DECREF(v);
    if (rc < 0) return NULL;
    if (rc == 1) return (PyObject *)Py_UnwindToken;
    CHECK_EQ_INT(rc, 0);
    log_event("Snr:sent");
    Py_RETURN_NONE;
}
static PyMethodDef def_send_nr = {"body_send_nr", body_send_nr, METH_VARARGS, NULL};

static void test_nr_variants(void) {
    /* From main's own code the _nr calls switch hard and return 0 / the real value
     * (SPEC §11), with the same orders as the plain calls (B022, B023). */
    PyChannelObject *ch = PyChannel_New(NULL);
    g_ch = ch;
    log_reset();
    PyTaskletObject *r = spawn_str(&def_recv, "r");
    CHECK_EQ_INT(PyTasklet_Run(r), 0);
    PyObject *v = PyLong_FromLong(1);
    CHECK_EQ_INT(PyChannel_Send_nr(ch, v), 0);
    Py_DECREF(v);
    log_event("main:sent");
    CHECK_LOG("r:recv-start r:got 1 main:sent");
    CHECK_EQ_INT(PyTasklet_Alive(r), 0);
    Py_XDECREF(r);

    log_reset();
    PyTaskletObject *s = spawn_send_long("s", 2);
    CHECK_EQ_INT(PyTasklet_Run(s), 0);
    v = PyChannel_Receive_nr(ch);
    CHECK(v != NULL && v != (PyObject *)Py_UnwindToken);
    CHECK_EQ_INT(v && v != (PyObject *)Py_UnwindToken ? PyLong_AsLong(v) : -1, 2);
    if (v != (PyObject *)Py_UnwindToken) Py_XDECREF(v);
    log_event("main:got");
    run_all();
    CHECK_LOG("s:send-start main:got s:sent");
    Py_XDECREF(s);

        /* Bodies using the _nr calls by the protocol: same order as the plain calls (B018).
     * With soft switching, Snr's send switches soft and its body returns the unwind token:
     * by the protocol the body then ends with the send's result when it resumes (SPEC §7,
     * tail position), so the code after the call (Snr:sent) runs only when it switched hard. */
    log_reset();
    PyTaskletObject *snr = spawn(&def_send_nr, NULL);
    PyTaskletObject *rnr = spawn(&def_recv_nr_tail, NULL);
    run_all();
    if (PyStackless_EnableSoftswitch(-1)) {
        CHECK_LOG("Snr:start Rnr:start");
    } else {
        CHECK_LOG("Snr:start Rnr:start Snr:sent");
    }
    CHECK_EQ_INT(PyTasklet_Alive(snr), 0);
    CHECK_EQ_INT(PyTasklet_Alive(rnr), 0);
    CHECK_EQ_INT(PyChannel_GetBalance(ch), 0);
    Py_XDECREF(snr);
    Py_XDECREF(rnr);
    Py_DECREF(ch);
    check_idle();
}

/* ---- main ------------------------------------------------------------------------------- */

static void run_suite(void) {
    test_B001();
    test_B002();
    test_B003();
    test_B004();
    test_B005();
    test_B006();
    test_B007();
    test_B008();
    test_B009();
    test_B010();
    test_B011();
    test_B012();
    test_B013();
    test_orphaned_channel();
    test_B026();
    test_B027();
    test_B028();
    test_B029();
    test_B030();
    test_B031();
    test_B032();
    test_B033();
    test_B034();
    test_bad_input();
    test_pyface_attributes();
    test_pyface_methods();
    test_nr_variants();
}

int main(void) {
    g_bad_arg_excs = tup(2, PyExc_SystemError, PyExc_TypeError);
    for (int soft = 1; soft >= 0; soft--) {
        PyStackless_EnableSoftswitch(soft);
        fprintf(stderr, "--- soft switching %s\n", soft ? "enabled" : "disabled");
        run_suite();
    }
    Py_DECREF(g_bad_arg_excs);
    return check_report();
}
