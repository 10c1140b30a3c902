/* test_channel_callbacks.c: the channel callback (catalogue B134-B136,
 * reference/stackless-semantics.md §4.8; SPEC §10).
 *
 * The callback is a C function object (METH_VARARGS) called as
 * cb(channel, tasklet, sending, willblock) before every same-thread channel action; it logs
 * "cb:<tasklet>,<sending>,<willblock>,<str(tasklet.tempval)>". The suite runs with soft
 * switching enabled and disabled (SPEC §7). */
#include "tasklet_util.h"

static PyChannelObject *g_ch;   /* the channel under test (borrowed) */
static PyTaskletObject *g_t;    /* names for the log (borrowed) */
static PyTaskletObject *g_t2;
static PyObject *g_main;
static int g_cb_calls;
static int g_cb_bad_args; /* calls whose arguments had the wrong shape */

static void end_test(void) {
    check_idle();
    CHECK_EQ_INT(PyStackless_SetChannelCallback(NULL), 0);
}

static const char *tasklet_name(PyObject *t) {
    if (t == g_main) return "main";
    if (t == (PyObject *)g_t) return "t";
    if (t == (PyObject *)g_t2) return "t2";
    return "?";
}

/* The monitor: logs each call. */
static PyObject *cb_monitor(PyObject *self, PyObject *args) {
    (void)self;
    g_cb_calls++;
    if (!PyTuple_Check(args) || PyTuple_Size(args) != 4) {
        g_cb_bad_args++;
        Py_RETURN_NONE;
    }
    PyObject *chan = PyTuple_GetItem(args, 0);
    PyObject *task = PyTuple_GetItem(args, 1);
    PyObject *sending = PyTuple_GetItem(args, 2);
    PyObject *willblock = PyTuple_GetItem(args, 3);
    if (chan != (PyObject *)g_ch || !PyTasklet_Check(task) || !PyLong_Check(sending) ||
        !PyLong_Check(willblock))
        g_cb_bad_args++;
    PyObject *tv = PyTasklet_GetTempval((PyTaskletObject *)task);
    PyObject *tvs = tv ? PyObject_Str(tv) : NULL;
    char buf[128];
    snprintf(buf, sizeof buf, "cb:%s,%ld,%ld,%s", tasklet_name(task), PyLong_AsLong(sending),
             PyLong_AsLong(willblock), tvs ? PyUnicode_AsUTF8(tvs) : "<NULL>");
    Py_XDECREF(tvs);
    Py_XDECREF(tv);
    PyErr_Clear();
    log_event(buf);
    Py_RETURN_NONE;
}
static PyMethodDef def_cb_monitor = {"cb_monitor", cb_monitor, METH_VARARGS, NULL};

/* Tasklet bodies: t receives once, t2 sends 8. */
static PyObject *body_recv(PyObject *self, PyObject *args) {
    (void)self;
    (void)args;
    PyObject *v = PyChannel_Receive(g_ch);
    if (v == NULL) return NULL;
    log_eventf("t:got %ld", PyLong_AsLong(v));
    Py_DECREF(v);
    Py_RETURN_NONE;
}
static PyMethodDef def_recv = {"body_recv", body_recv, METH_VARARGS, NULL};

static PyObject *body_send8(PyObject *self, PyObject *args) {
    (void)self;
    (void)args;
    PyObject *v = PyLong_FromLong(8);
    int rc = PyChannel_Send(g_ch, v);
    Py_DECREF(v);
    if (rc < 0) return NULL;
    log_event("t2:sent");
    Py_RETURN_NONE;
}
static PyMethodDef def_send8 = {"body_send8", body_send8, METH_VARARGS, NULL};

static PyObject *install_monitor(void) {
    PyObject *cb = PyCFunction_New(&def_cb_monitor, NULL);
    CHECK(cb != NULL);
    CHECK_EQ_INT(PyStackless_SetChannelCallback(cb), 0);
    g_cb_calls = 0;
    g_cb_bad_args = 0;
    return cb;
}

static void test_B134(void) {
    /* B134: during the callback the sender's tempval holds the value being sent. */
    PyChannelObject *ch = PyChannel_New(NULL);
    g_ch = ch;
    g_main = PyStackless_GetMain();
    g_t = spawn(&def_recv, NULL);
    g_t2 = NULL;
    CHECK_EQ_INT(PyTasklet_Run(g_t), 0); /* blocks receiving, before the monitor */
    PyObject *cb = install_monitor();
    log_reset();
    PyObject *v = PyLong_FromLong(42);
    CHECK_EQ_INT(PyChannel_Send(ch, v), 0);
    Py_DECREF(v);
    CHECK_LOG("cb:main,1,0,42 t:got 42");
    CHECK_EQ_INT(g_cb_calls, 1);
    CHECK_EQ_INT(g_cb_bad_args, 0);
    CHECK_EQ_INT(PyTasklet_Alive(g_t), 0);
    Py_XDECREF(cb);
    Py_CLEAR(g_t);
    Py_CLEAR(g_main);
    Py_DECREF(ch);
    end_test();
}

static void test_B135(void) {
    /* B135: t blocks receiving; main sends 7; t2 blocks sending 8; main receives. The
     * callback is called before each action with (tasklet, sending, willblock, tempval). */
    PyChannelObject *ch = PyChannel_New(NULL);
    g_ch = ch;
    g_main = PyStackless_GetMain();
    PyObject *cb = install_monitor();
    log_reset();
    g_t = spawn(&def_recv, NULL);
    g_t2 = NULL;
    CHECK_EQ_INT(PyTasklet_Run(g_t), 0);
    PyObject *seven = PyLong_FromLong(7);
    CHECK_EQ_INT(PyChannel_Send(ch, seven), 0);
    Py_DECREF(seven);
    g_t2 = spawn(&def_send8, NULL);
    CHECK_EQ_INT(PyTasklet_Run(g_t2), 0);
    CHECK_EQ_INT(PyTasklet_GetBlocked(g_t2), 1);
    PyObject *v = PyChannel_Receive(ch);
    CHECK(v != NULL);
    log_eventf("main:got %ld", v ? PyLong_AsLong(v) : -1);
    Py_XDECREF(v);
    CHECK_LOG("cb:t,0,1,None cb:main,1,0,7 t:got 7 cb:t2,1,1,8 cb:main,0,0,None main:got 8");
    run_all(); /* t2 finishes: no channel action, no callback */
    CHECK_LOG("cb:t,0,1,None cb:main,1,0,7 t:got 7 cb:t2,1,1,8 cb:main,0,0,None main:got 8 "
              "t2:sent");
    CHECK_EQ_INT(g_cb_calls, 4);
    CHECK_EQ_INT(g_cb_bad_args, 0);
    Py_XDECREF(cb);
    Py_CLEAR(g_t);
    Py_CLEAR(g_t2);
    Py_CLEAR(g_main);
    Py_DECREF(ch);
    end_test();
}

static void test_B136(void) {
    /* B136: get returns None initially; set/get/set(None). (The C setter returns 0/-1,
     * not the previous callback as Python's set_channel_callback does.) */
    PyObject *cur = PyStackless_GetChannelCallback();
    CHECK(cur == Py_None);
    Py_XDECREF(cur);
    PyObject *cb = PyCFunction_New(&def_cb_monitor, NULL);
    CHECK_EQ_INT(PyStackless_SetChannelCallback(cb), 0);
    cur = PyStackless_GetChannelCallback();
    CHECK(cur == cb);
    Py_XDECREF(cur);
    /* A non-callable is refused and leaves the callback as it was. */
    PyObject *num = PyLong_FromLong(1);
    CHECK_EQ_INT(PyStackless_SetChannelCallback(num), -1);
    CHECK_EXC(PyExc_TypeError, "channel callback must be callable");
    Py_DECREF(num);
    cur = PyStackless_GetChannelCallback();
    CHECK(cur == cb);
    Py_XDECREF(cur);
    /* set(None) removes it. */
    CHECK_EQ_INT(PyStackless_SetChannelCallback(Py_None), 0);
    cur = PyStackless_GetChannelCallback();
    CHECK(cur == Py_None);
    Py_XDECREF(cur);
    /* set(NULL) removes it too. */
    CHECK_EQ_INT(PyStackless_SetChannelCallback(cb), 0);
    CHECK_EQ_INT(PyStackless_SetChannelCallback(NULL), 0);
    cur = PyStackless_GetChannelCallback();
    CHECK(cur == Py_None);
    Py_XDECREF(cur);
    /* The library holds its own reference: the callback survives the caller's release. */
    CHECK_EQ_INT(PyStackless_SetChannelCallback(cb), 0);
    Py_ssize_t rc = Py_REFCNT(cb);
    CHECK(rc >= 2);
    Py_DECREF(cb);
    cur = PyStackless_GetChannelCallback();
    CHECK(cur != NULL && cur != Py_None && PyCallable_Check(cur));
    Py_XDECREF(cur);
    /* A removed callback is no longer called. */
    g_cb_calls = 0;
    CHECK_EQ_INT(PyStackless_SetChannelCallback(NULL), 0);
    PyChannelObject *ch = PyChannel_New(NULL);
    PyObject *r = PyChannel_Receive(ch); /* deadlock error, but no callback */
    CHECK(r == NULL);
    CHECK_EXC(PyExc_RuntimeError, "Deadlock: the last runnable tasklet cannot be blocked.");
    CHECK_EQ_INT(g_cb_calls, 0);
    Py_DECREF(ch);
    end_test();
}

/* ---- SPEC §10 / semantics §4.8: channel operations inside the callback, and callbacks
 * that raise ---------------------------------------------------------------------------- */

static PyChannelObject *g_other;
static PyObject *cb_recursive(PyObject *self, PyObject *args) {
    (void)self;
    (void)args;
    g_cb_calls++;
    CHECK_EQ_INT(PyChannel_Send(g_other, Py_None), -1);
    CHECK_EXC(PyExc_RuntimeError, "Recursive channel call due to callbacks!");
    PyObject *v = PyChannel_Receive(g_ch);
    CHECK(v == NULL);
    CHECK_EXC(PyExc_RuntimeError, "Recursive channel call due to callbacks!");
    Py_XDECREF(v);
    log_event("cb");
    Py_RETURN_NONE;
}
static PyMethodDef def_cb_recursive = {"cb_recursive", cb_recursive, METH_VARARGS, NULL};

static void test_callback_recursive_channel_call(void) {
    /* A channel operation from inside the callback: RuntimeError("Recursive channel call
     * due to callbacks!"); the outer operation goes on. */
    PyChannelObject *ch = PyChannel_New(NULL);
    g_other = PyChannel_New(NULL);
    g_ch = ch;
    g_main = PyStackless_GetMain();
    g_t = spawn(&def_recv, NULL);
    g_t2 = NULL;
    CHECK_EQ_INT(PyTasklet_Run(g_t), 0);
    PyObject *cb = PyCFunction_New(&def_cb_recursive, NULL);
    CHECK_EQ_INT(PyStackless_SetChannelCallback(cb), 0);
    g_cb_calls = 0;
    log_reset();
    PyObject *v = PyLong_FromLong(5);
    CHECK_EQ_INT(PyChannel_Send(ch, v), 0);
    CHECK_NO_EXC();
    Py_DECREF(v);
    CHECK_LOG("cb t:got 5");
    CHECK_EQ_INT(g_cb_calls, 1);
    CHECK_EQ_INT(PyChannel_GetBalance(ch), 0);
    CHECK_EQ_INT(PyChannel_GetBalance(g_other), 0);
    CHECK_EQ_INT(PyStackless_SetChannelCallback(NULL), 0);
    Py_XDECREF(cb);
    Py_CLEAR(g_t);
    Py_CLEAR(g_main);
    Py_CLEAR(g_other);
    Py_DECREF(ch);
    end_test();
}

static PyObject *cb_raising(PyObject *self, PyObject *args) {
    (void)self;
    (void)args;
    g_cb_calls++;
    log_event("cb:raise");
    PyErr_SetString(PyExc_ValueError, "raised by the channel callback (expected)");
    return NULL;
}
static PyMethodDef def_cb_raising = {"cb_raising", cb_raising, METH_VARARGS, NULL};

static void test_callback_raises(void) {
    /* An exception raised by the callback is reported (PyErr_WriteUnraisable, on stderr)
     * and swallowed; the operation goes on and reports success. */
    PyChannelObject *ch = PyChannel_New(NULL);
    g_ch = ch;
    g_main = PyStackless_GetMain();
    g_t = spawn(&def_recv, NULL);
    g_t2 = NULL;
    PyObject *cb = PyCFunction_New(&def_cb_raising, NULL);
    CHECK_EQ_INT(PyStackless_SetChannelCallback(cb), 0);
    g_cb_calls = 0;
    log_reset();
    CHECK_EQ_INT(PyTasklet_Run(g_t), 0); /* t's receive: callback raises, t still blocks */
    CHECK_NO_EXC();
    CHECK_EQ_INT(PyTasklet_GetBlocked(g_t), -1);
    PyObject *v = PyLong_FromLong(6);
    CHECK_EQ_INT(PyChannel_Send(ch, v), 0);
    CHECK_NO_EXC();
    Py_DECREF(v);
    CHECK_LOG("cb:raise cb:raise t:got 6");
    CHECK_EQ_INT(g_cb_calls, 2);
    CHECK_EQ_INT(PyTasklet_Alive(g_t), 0);
    CHECK_EQ_INT(PyStackless_SetChannelCallback(NULL), 0);
    Py_XDECREF(cb);
    Py_CLEAR(g_t);
    Py_CLEAR(g_main);
    Py_DECREF(ch);
    end_test();
}

static void run_suite(void) {
    test_B134();
    test_B135();
    test_B136();
    test_callback_recursive_channel_call();
    test_callback_raises();
}

int main(void) {
    for (int soft = 1; soft >= 0; soft--) {
        PyStackless_EnableSoftswitch(soft);
        fprintf(stderr, "--- soft switching %s\n", soft ? "enabled" : "disabled");
        run_suite();
    }
    return check_report();
}
