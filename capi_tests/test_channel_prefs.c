/* test_channel_prefs.c: who runs next after a channel send/receive, by preference and
 * schedule_all (catalogue B014-B025, reference/stackless-semantics.md §4.3 and §5.2).
 *
 * Setup of the tables: a receiver R (or a sender S) is blocked first; then S (or R) and an
 * "other" tasklet O are created and main runs the scheduler. The expected logs are exact.
 * Each case runs through the C API (PyChannel_SetPreference, PyChannel_Send, ...) and through
 * the Python-level face (the "preference"/"schedule_all" attributes and the "send"/"receive"
 * methods), and the whole suite runs with soft switching enabled and disabled (SPEC §7). */
#include "tasklet_util.h"

static PyChannelObject *g_ch; /* the channel of the current case (borrowed) */
static int g_face;            /* 0: C API, 1: attributes and methods */

static const char *face_name(void) { return g_face ? "attributes" : "C API"; }

/* ---- channel operations through the selected face ------------------------------------ */

static int ch_send(PyObject *v) {
    if (!g_face) return PyChannel_Send(g_ch, v);
    PyObject *m = PyObject_GetAttrString((PyObject *)g_ch, "send");
    if (m == NULL) return -1;
    PyObject *r = PyObject_CallOneArg(m, v);
    Py_DECREF(m);
    if (r == NULL) return -1;
    Py_DECREF(r);
    return 0;
}

static PyObject *ch_receive(void) {
    if (!g_face) return PyChannel_Receive(g_ch);
    PyObject *m = PyObject_GetAttrString((PyObject *)g_ch, "receive");
    if (m == NULL) return NULL;
    PyObject *r = PyObject_CallNoArgs(m);
    Py_DECREF(m);
    return r;
}

static void ch_set(int pref, int sched_all) {
    if (!g_face) {
        PyChannel_SetPreference(g_ch, pref);
        PyChannel_SetScheduleAll(g_ch, sched_all);
    } else {
        PyObject *p = PyLong_FromLong(pref);
        CHECK_EQ_INT(PyObject_SetAttrString((PyObject *)g_ch, "preference", p), 0);
        Py_DECREF(p);
        PyObject *s = PyBool_FromLong(sched_all);
        CHECK_EQ_INT(PyObject_SetAttrString((PyObject *)g_ch, "schedule_all", s), 0);
        Py_DECREF(s);
    }
    CHECK_EQ_INT(PyChannel_GetPreference(g_ch), pref);
    CHECK_EQ_INT(PyChannel_GetScheduleAll(g_ch), sched_all);
}

/* ---- tasklet bodies --------------------------------------------------------------------- */

static PyObject *body_S(PyObject *self, PyObject *args) {
    (void)self;
    (void)args;
    log_event("S:send-start");
    PyObject *v = PyLong_FromLong(42);
    int rc = ch_send(v);
    Py_DECREF(v);
    if (rc < 0) return NULL;
    log_event("S:send-returned");
    Py_RETURN_NONE;
}
static PyMethodDef def_S = {"S", body_S, METH_VARARGS, NULL};

static PyObject *body_R(PyObject *self, PyObject *args) {
    (void)self;
    (void)args;
    log_event("R:recv-start");
    PyObject *v = ch_receive();
    if (v == NULL) return NULL;
    log_eventf("R:got %ld", PyLong_AsLong(v));
    Py_DECREF(v);
    Py_RETURN_NONE;
}
static PyMethodDef def_R = {"R", body_R, METH_VARARGS, NULL};

static PyObject *body_O(PyObject *self, PyObject *args) {
    (void)self;
    (void)args;
    log_event("O:run");
    Py_RETURN_NONE;
}
static PyMethodDef def_O = {"O", body_O, METH_VARARGS, NULL};

/* Blocks `t` on the channel: with PyTasklet_Run (start_with_run) or a scheduler run. */
static void block_first(PyTaskletObject *t, int start_with_run, int dir) {
    if (start_with_run) CHECK_EQ_INT(PyTasklet_Run(t), 0);
    else run_all();
    CHECK_EQ_INT(PyTasklet_GetBlocked(t), dir);
    CHECK_EQ_INT(PyChannel_GetBalance(g_ch), dir);
}

/* R blocked; S and O created; run. */
static void send_case(int pref, int sched_all, int start_with_run, const char *want) {
    fprintf(stderr, "  send case: preference %d, schedule_all %d (%s)\n", pref, sched_all,
            face_name());
    PyChannelObject *ch = PyChannel_New(NULL);
    g_ch = ch;
    PyTaskletObject *r = spawn(&def_R, NULL);
    block_first(r, start_with_run, -1);
    ch_set(pref, sched_all);
    log_reset();
    PyTaskletObject *s = spawn(&def_S, NULL);
    PyTaskletObject *o = spawn(&def_O, NULL);
    run_all();
    CHECK_LOG(want);
    CHECK_EQ_INT(PyChannel_GetBalance(ch), 0);
    CHECK_EQ_INT(PyTasklet_Alive(r), 0);
    CHECK_EQ_INT(PyTasklet_Alive(s), 0);
    CHECK_EQ_INT(PyTasklet_Alive(o), 0);
    Py_XDECREF(r);
    Py_XDECREF(s);
    Py_XDECREF(o);
    Py_DECREF(ch);
    check_idle();
}

/* S blocked; R and O created; run. */
static void recv_case(int pref, int sched_all, int start_with_run, const char *want) {
    fprintf(stderr, "  receive case: preference %d, schedule_all %d (%s)\n", pref, sched_all,
            face_name());
    PyChannelObject *ch = PyChannel_New(NULL);
    g_ch = ch;
    log_reset();
    PyTaskletObject *s = spawn(&def_S, NULL);
    block_first(s, start_with_run, 1);
    CHECK_LOG("S:send-start");
    ch_set(pref, sched_all);
    log_reset();
    PyTaskletObject *r = spawn(&def_R, NULL);
    PyTaskletObject *o = spawn(&def_O, NULL);
    run_all();
    CHECK_LOG(want);
    CHECK_EQ_INT(PyChannel_GetBalance(ch), 0);
    CHECK_EQ_INT(PyTasklet_Alive(r), 0);
    CHECK_EQ_INT(PyTasklet_Alive(s), 0);
    CHECK_EQ_INT(PyTasklet_Alive(o), 0);
    Py_XDECREF(r);
    Py_XDECREF(s);
    Py_XDECREF(o);
    Py_DECREF(ch);
    check_idle();
}

/* ---- 5.2 --------------------------------------------------------------------------------- */

static void test_B014(void) {
    /* B014: send, preference -1 (default): the receiver runs at once. */
    send_case(-1, 0, 0, "S:send-start R:got 42 O:run S:send-returned");
    /* the default really is -1: a fresh channel, preference not touched */
    PyChannelObject *ch = PyChannel_New(NULL);
    g_ch = ch;
    PyTaskletObject *r = spawn(&def_R, NULL);
    block_first(r, 0, -1);
    log_reset();
    PyTaskletObject *s = spawn(&def_S, NULL);
    PyTaskletObject *o = spawn(&def_O, NULL);
    run_all();
    CHECK_LOG("S:send-start R:got 42 O:run S:send-returned");
    Py_XDECREF(r);
    Py_XDECREF(s);
    Py_XDECREF(o);
    Py_DECREF(ch);
    check_idle();
}

static void test_B015(void) {
    /* B015: send, preference 0: the sender continues, the receiver goes to the tail. */
    send_case(0, 0, 0, "S:send-start S:send-returned O:run R:got 42");
}

static void test_B016(void) {
    /* B016: send, preference 1: the same as B015. */
    send_case(1, 0, 0, "S:send-start S:send-returned O:run R:got 42");
}

static void test_B017(void) {
    /* B017: send, schedule_all (any preference): the sender yields to its successor. */
    send_case(-1, 1, 0, "S:send-start O:run R:got 42 S:send-returned");
    send_case(0, 1, 0, "S:send-start O:run R:got 42 S:send-returned");
    send_case(1, 1, 0, "S:send-start O:run R:got 42 S:send-returned");
}

static void test_B018(void) {
    /* B018: receive, preference -1: the receiver continues, the sender goes to the tail. */
    recv_case(-1, 0, 0, "R:recv-start R:got 42 O:run S:send-returned");
}

static void test_B019(void) {
    /* B019: receive, preference 0: the same as B018. */
    recv_case(0, 0, 0, "R:recv-start R:got 42 O:run S:send-returned");
}

static void test_B020(void) {
    /* B020: receive, preference 1: the sender runs at once. */
    recv_case(1, 0, 0, "R:recv-start S:send-returned O:run R:got 42");
}

static void test_B021(void) {
    /* B021: receive, schedule_all (any preference). */
    recv_case(-1, 1, 0, "R:recv-start O:run S:send-returned R:got 42");
    recv_case(0, 1, 0, "R:recv-start O:run S:send-returned R:got 42");
    recv_case(1, 1, 0, "R:recv-start O:run S:send-returned R:got 42");
}

static void test_B022(void) {
    /* B022: main sends to a blocked receiver (pref -1): the receiver runs to completion
     * before main's send returns. */
    PyChannelObject *ch = PyChannel_New(NULL);
    g_ch = ch;
    PyTaskletObject *r = spawn(&def_R, NULL);
    block_first(r, 1, -1);
    log_reset();
    PyObject *v = PyLong_FromLong(42);
    CHECK_EQ_INT(ch_send(v), 0);
    Py_DECREF(v);
    log_event("main:send-returned");
    CHECK_LOG("R:got 42 main:send-returned");
    CHECK_EQ_INT(PyTasklet_Alive(r), 0);
    CHECK_EQ_INT(PyStackless_GetRunCount(), 1);
    Py_XDECREF(r);
    Py_DECREF(ch);
    check_idle();
}

static void test_B023(void) {
    /* B023: main receives from a blocked sender (pref -1): main continues; the sender is
     * scheduled and its code after send runs only at the next schedule. */
    PyChannelObject *ch = PyChannel_New(NULL);
    g_ch = ch;
    log_reset();
    PyTaskletObject *s = spawn(&def_S, NULL);
    block_first(s, 1, 1);
    PyObject *v = ch_receive();
    CHECK(v != NULL);
    log_eventf("main:got %ld", v ? PyLong_AsLong(v) : -1);
    Py_XDECREF(v);
    CHECK_LOG("S:send-start main:got 42");
    CHECK_EQ_INT(PyStackless_GetRunCount(), 2);
    CHECK_EQ_INT(PyTasklet_GetBlocked(s), 0);
    CHECK_EQ_INT(PyTasklet_Scheduled(s), 1);
    CHECK_EQ_INT(PyTasklet_Alive(s), 1);
    PyObject *r = PyStackless_Schedule(Py_None, 0);
    CHECK(r == Py_None);
    Py_XDECREF(r);
    log_event("main:after-schedule");
    CHECK_LOG("S:send-start main:got 42 S:send-returned main:after-schedule");
    CHECK_EQ_INT(PyTasklet_Alive(s), 0);
    Py_XDECREF(s);
    Py_DECREF(ch);
    check_idle();
}

static void test_B024(void) {
    /* B024: preference 1: main sends to a blocked receiver and continues; the receiver
     * runs only when main runs the scheduler ("pump the scheduler"). */
    PyChannelObject *ch = PyChannel_New(NULL);
    g_ch = ch;
    PyTaskletObject *r = spawn(&def_R, NULL);
    block_first(r, 1, -1);
    ch_set(1, 0);
    log_reset();
    PyObject *v = PyLong_FromLong(42);
    CHECK_EQ_INT(ch_send(v), 0);
    Py_DECREF(v);
    log_event("main:send-returned");
    CHECK_LOG("main:send-returned");
    CHECK_EQ_INT(PyTasklet_GetBlocked(r), 0);
    CHECK_EQ_INT(PyTasklet_Scheduled(r), 1);
    CHECK_EQ_INT(PyStackless_GetRunCount(), 2);
    CHECK_EQ_INT(PyChannel_GetBalance(ch), 0);
    run_all();
    CHECK_LOG("main:send-returned R:got 42");
    CHECK_EQ_INT(PyTasklet_Alive(r), 0);
    Py_XDECREF(r);
    Py_DECREF(ch);
    check_idle();
}

static void test_B025(void) {
    /* B025: B014-B016 driven through the C API with the receiver blocked by PyTasklet_Run
     * (embed.c): identical traces. */
    send_case(-1, 0, 1, "S:send-start R:got 42 O:run S:send-returned");
    send_case(0, 0, 1, "S:send-start S:send-returned O:run R:got 42");
    send_case(1, 0, 1, "S:send-start S:send-returned O:run R:got 42");
    /* and the receive side of the table the same way */
    recv_case(-1, 0, 1, "R:recv-start R:got 42 O:run S:send-returned");
    recv_case(1, 0, 1, "R:recv-start S:send-returned O:run R:got 42");
}

static void run_suite(void) {
    test_B014();
    test_B015();
    test_B016();
    test_B017();
    test_B018();
    test_B019();
    test_B020();
    test_B021();
    test_B022();
    test_B023();
    test_B024();
}

int main(void) {
    for (int soft = 1; soft >= 0; soft--) {
        PyStackless_EnableSoftswitch(soft);
        for (g_face = 0; g_face <= 1; g_face++) {
            fprintf(stderr, "--- soft switching %s, %s\n", soft ? "enabled" : "disabled",
                    face_name());
            run_suite();
        }
        g_face = 0;
        test_B025(); /* C API only */
    }
    return check_report();
}
