/* test_schedule_callbacks.c: the schedule callback and the fast C schedule hook (catalogue
 * B137-B140 of reference/stackless-semantics.md, §4.8, SPEC §10): when it fires, its
 * arguments (prev, next) -- never None, also when a tasklet dies --, current == prev inside
 * it, its exceptions reported to stderr (PyErr_WriteUnraisable) and swallowed, no switch from
 * inside it; and the bad-input cases of PyStackless_SetScheduleCallback /
 * PyStackless_SetChannelCallback.
 *
 * Python -> C: stackless.set_schedule_callback(cb) is PyStackless_SetScheduleCallback(cb) (cb a
 * METH_VARARGS PyCFunction receiving (prev, next)); the C hook is
 * PyStackless_SetScheduleFastcallback; schedule() is PyStackless_Schedule(Py_None, 0);
 * stackless.run() is PyStackless_RunWatchdog(0). */
#include <stdlib.h>
#include <unistd.h>

#include "tasklet_util.h"

/* ---- helpers ------------------------------------------------------------------------ */

/* Tasklets named in the callback log. */
static PyObject *g_main = NULL, *g_t1 = NULL, *g_t2 = NULL;

static const char *name_of(PyObject *o) {
    if (o == NULL) return "NULL";
    if (o == Py_None) return "None";
    if (o == g_main) return "main";
    if (o == g_t1) return "t1";
    if (o == g_t2) return "t2";
    return "?";
}

/* What the callbacks saw. */
static int g_calls = 0;           /* calls of sched_cb */
static int g_calls2 = 0;          /* calls of sched_cb2 */
static int g_hook_calls = 0;      /* calls of sched_hook */
static int g_cur_mismatch = 0;    /* calls where getcurrent() was not prev */
static int g_bad_args = 0;        /* calls where prev or next was not a tasklet */
static int g_cb_log = 1;          /* log "prev->next" */
static int g_cb_raise = 0;        /* sched_cb raises ZeroDivisionError("cb boom") */
static int g_hook_fail = 0;       /* sched_hook fails with ValueError("hook boom") */
static int g_try_switch = 0;      /* sched_cb tries to use a channel / schedule() */
static int g_switch_refused = 0;  /* ... and got a RuntimeError */
static int g_switch_done = 0;     /* ... and it did not fail */
static PyChannelObject *g_cb_channel = NULL;
static char g_cur_log[1024];      /* getcurrent() in each call, space separated */

static void reset_state(void) {
    log_reset();
    g_calls = g_calls2 = g_hook_calls = 0;
    g_cur_mismatch = g_bad_args = 0;
    g_cb_log = 1;
    g_cb_raise = g_hook_fail = g_try_switch = 0;
    g_switch_refused = g_switch_done = 0;
    g_cur_log[0] = '\0';
}

static void note_switch(PyObject *prev, PyObject *next) {
    if (!PyTasklet_Check(prev) || !PyTasklet_Check(next)) g_bad_args++;
    if (g_cb_log) {
        char buf[64];
        snprintf(buf, sizeof buf, "%s->%s", name_of(prev), name_of(next));
        log_event(buf);
    }
    PyObject *cur = PyStackless_GetCurrent();
    if (cur != prev) g_cur_mismatch++;
    size_t n = strlen(g_cur_log);
    snprintf(g_cur_log + n, sizeof g_cur_log - n, "%s%s", n ? " " : "", name_of(cur));
    Py_XDECREF(cur);
}

static PyObject *sched_cb(PyObject *self, PyObject *args) {
    (void)self;
    g_calls++;
    if (PyTuple_Size(args) != 2) {
        g_bad_args++;
        Py_RETURN_NONE;
    }
    note_switch(PyTuple_GetItem(args, 0), PyTuple_GetItem(args, 1));
    if (g_try_switch) {
        /* A send on an empty channel would block (a switch): always refused. */
        int rc = PyChannel_Send(g_cb_channel, Py_None);
        if (rc == -1 && PyErr_ExceptionMatches(PyExc_RuntimeError)) g_switch_refused++;
        else g_switch_done++;
        PyErr_Clear();
        /* schedule() in the t1->t2 callback: prev (t1) is runnable and t2 is next, so it
         * would be a real switch and must be refused. (In the other callbacks of the
         * scenario prev is main inside run() or a dying tasklet: no plain switch to expect;
         * whatever schedule() does there, it must not switch, which the exact callback log
         * checks.) */
        int real = PyTuple_GetItem(args, 0) == g_t1 && PyTuple_GetItem(args, 1) == g_t2;
        PyObject *r = PyStackless_Schedule(Py_None, 0);
        if (real) {
            if (r == NULL && PyErr_ExceptionMatches(PyExc_RuntimeError)) g_switch_refused++;
            else g_switch_done++;
        }
        Py_XDECREF(r);
        PyErr_Clear();
    }
    if (g_cb_raise) {
        PyErr_SetString(PyExc_ZeroDivisionError, "cb boom");
        return NULL;
    }
    Py_RETURN_NONE;
}
static PyMethodDef sched_cb_def = {"sched_cb", sched_cb, METH_VARARGS, NULL};

static PyObject *sched_cb2(PyObject *self, PyObject *args) {
    (void)self;
    (void)args;
    g_calls2++;
    Py_RETURN_NONE;
}
static PyMethodDef sched_cb2_def = {"sched_cb2", sched_cb2, METH_VARARGS, NULL};

static int sched_hook(PyTaskletObject *from, PyTaskletObject *to) {
    g_hook_calls++;
    note_switch((PyObject *)from, (PyObject *)to);
    if (g_hook_fail) {
        PyErr_SetString(PyExc_ValueError, "hook boom");
        return -1;
    }
    return 0;
}

/* Installs a schedule callback (owned reference returned; NULL: remove). */
static PyObject *install_cb(PyMethodDef *def) {
    PyObject *cb = def ? make_func(def) : NULL;
    CHECK_EQ_INT(PyStackless_SetScheduleCallback(cb), 0);
    CHECK_NO_EXC();
    return cb;
}

/* ---- stderr capture ----------------------------------------------------------------- */

static FILE *cap_file = NULL;
static int cap_saved_fd = -1;

static void capture_begin(void) {
    fflush(stderr);
    cap_file = tmpfile();
    cap_saved_fd = dup(2);
    if (cap_file != NULL && cap_saved_fd >= 0) dup2(fileno(cap_file), 2);
}

/* Restores stderr; returns what was written to it meanwhile (malloc'd, NUL-terminated). */
static char *capture_end(void) {
    fflush(stderr);
    if (cap_saved_fd >= 0) {
        dup2(cap_saved_fd, 2);
        close(cap_saved_fd);
        cap_saved_fd = -1;
    }
    char *text = NULL;
    if (cap_file != NULL) {
        long size = lseek(fileno(cap_file), 0, SEEK_END);
        if (size < 0) size = 0;
        text = malloc((size_t)size + 1);
        lseek(fileno(cap_file), 0, SEEK_SET);
        ssize_t n = size > 0 ? read(fileno(cap_file), text, (size_t)size) : 0;
        text[n > 0 ? n : 0] = '\0';
        fclose(cap_file);
        cap_file = NULL;
    }
    if (text == NULL) {
        text = malloc(1);
        text[0] = '\0';
    }
    return text;
}

static int count_occurrences(const char *text, const char *sub) {
    int n = 0;
    for (const char *p = strstr(text, sub); p != NULL; p = strstr(p + 1, sub)) n++;
    return n;
}

static void check_contains_at(int line, const char *text, const char *sub) {
    if (strstr(text, sub) != NULL) {
        check_passed_count++;
        return;
    }
    char buf[256];
    snprintf(buf, sizeof buf, "stderr contains \"%s\"", sub);
    check_fail(__FILE__, line, buf);
    fprintf(stderr, "    stderr was: <<<%s>>>\n", text);
}
#define CHECK_CONTAINS(text, sub) check_contains_at(__LINE__, (text), (sub))

/* ---- tasklet bodies ----------------------------------------------------------------- */

/* Schedules `n` times (args: (n,)). */
static PyObject *body_sched_n(PyObject *self, PyObject *args) {
    (void)self;
    long n = PyLong_AsLong(PyTuple_GetItem(args, 0));
    for (long i = 0; i < n; i++) {
        PyObject *r = PyStackless_Schedule(Py_None, 0);
        if (r == NULL) return NULL;
        Py_DECREF(r);
    }
    Py_RETURN_NONE;
}
static PyMethodDef body_sched_n_def = {"sched_n", body_sched_n, METH_VARARGS, NULL};

static PyTaskletObject *spawn_sched_n(long n) {
    PyObject *a = PyTuple_New(1);
    PyTuple_SetItem(a, 0, PyLong_FromLong(n));
    return spawn(&body_sched_n_def, a);
}

/* t1: logs "t1:a", schedule(), logs "t1:b". */
static PyObject *body_t1(PyObject *self, PyObject *args) {
    (void)self;
    (void)args;
    if (!g_cb_log) log_event("t1:a");
    PyObject *r = PyStackless_Schedule(Py_None, 0);
    if (r == NULL) return NULL;
    Py_DECREF(r);
    if (!g_cb_log) log_event("t1:b");
    Py_RETURN_NONE;
}
static PyMethodDef body_t1_def = {"t1", body_t1, METH_VARARGS, NULL};

/* t2: logs "t2" and returns. */
static PyObject *body_t2(PyObject *self, PyObject *args) {
    (void)self;
    (void)args;
    if (!g_cb_log) log_event("t2");
    Py_RETURN_NONE;
}
static PyMethodDef body_t2_def = {"t2", body_t2, METH_VARARGS, NULL};

/* The B139 scenario: t1 (one schedule()) and t2 (returns) under run(). */
static void run_t1_t2(void) {
    PyTaskletObject *t1 = spawn(&body_t1_def, NULL);
    PyTaskletObject *t2 = spawn(&body_t2_def, NULL);
    g_t1 = (PyObject *)t1;
    g_t2 = (PyObject *)t2;
    run_all();
    CHECK_NO_EXC();
    CHECK_EQ_INT(PyTasklet_Alive(t1), 0);
    CHECK_EQ_INT(PyTasklet_Alive(t2), 0);
    CHECK_EQ_INT(PyStackless_GetRunCount(), 1);
    g_t1 = g_t2 = NULL;
    Py_DECREF(t1);
    Py_DECREF(t2);
}

/* ---- B137-B140 ---------------------------------------------------------------------- */

/* B137 [sc] test0/test1: "No schedule callbacks fire before run(). Two tasklets each doing 3
 * C-level schedules give >= 6 callbacks. Replacing the monitor stops calls to the old one,
 * and None stops all." */
static void test_B137(void) {
    reset_state();
    g_cb_log = 0;
    PyObject *cb = install_cb(&sched_cb_def);
    PyObject *got = PyStackless_GetScheduleCallback();
    CHECK(got == cb);
    Py_XDECREF(got);
    PyTaskletObject *a = spawn_sched_n(3);
    PyTaskletObject *b = spawn_sched_n(3);
    CHECK_EQ_INT(g_calls, 0);
    run_all();
    CHECK(g_calls >= 6);
    CHECK_EQ_INT(PyTasklet_Alive(a), 0);
    CHECK_EQ_INT(PyTasklet_Alive(b), 0);
    Py_DECREF(a);
    Py_DECREF(b);
    int first = g_calls;

    /* Replace the monitor. */
    PyObject *cb2 = install_cb(&sched_cb2_def);
    a = spawn_sched_n(3);
    b = spawn_sched_n(3);
    run_all();
    CHECK_EQ_INT(g_calls, first);
    CHECK(g_calls2 >= 6);
    Py_DECREF(a);
    Py_DECREF(b);
    int second = g_calls2;

    /* None stops all. */
    CHECK_EQ_INT(PyStackless_SetScheduleCallback(Py_None), 0);
    got = PyStackless_GetScheduleCallback();
    CHECK(got == Py_None);
    Py_XDECREF(got);
    a = spawn_sched_n(3);
    b = spawn_sched_n(3);
    run_all();
    CHECK_EQ_INT(g_calls, first);
    CHECK_EQ_INT(g_calls2, second);
    Py_DECREF(a);
    Py_DECREF(b);

    CHECK_EQ_INT(g_bad_args, 0);
    CHECK_NO_EXC();
    Py_DECREF(cb);
    Py_DECREF(cb2);
}

/* B138 [sc] test2currentWithPrevAndNext: "Inside the schedule callback getcurrent() is
 * prev." */
static void test_B138(void) {
    reset_state();
    g_cb_log = 0;
    PyObject *cb = install_cb(&sched_cb_def);
    PyTaskletObject *a = spawn_sched_n(2);
    PyTaskletObject *b = spawn_sched_n(1);
    run_all();
    CHECK(g_calls > 0);
    CHECK_EQ_INT(g_cur_mismatch, 0);
    CHECK_EQ_INT(g_bad_args, 0);
    /* After the callbacks the current tasklet is main again. */
    PyObject *cur = PyStackless_GetCurrent();
    CHECK(cur == g_main);
    Py_XDECREF(cur);
    Py_DECREF(a);
    Py_DECREF(b);
    CHECK_EQ_INT(PyStackless_SetScheduleCallback(NULL), 0);
    Py_DECREF(cb);
}

/* B139 [P]: "t1 (one schedule()) and t2 (returns) under run(). The schedule callback sees
 * exactly main->t1, t1->t2, t2->t1, t1->main: no None at tasklet death, and no call for
 * no-op schedules." */
static void test_B139(void) {
    reset_state();
    PyObject *cb = install_cb(&sched_cb_def);
    /* No-op schedules (nothing else runnable): no call. */
    PyObject *r = PyStackless_Schedule(Py_None, 0);
    CHECK(r == Py_None);
    Py_XDECREF(r);
    r = PyStackless_Schedule(Py_None, 1);
    CHECK(r == Py_None);
    Py_XDECREF(r);
    CHECK_EQ_INT(g_calls, 0);
    CHECK_LOG("");

    run_t1_t2();
    CHECK_LOG("main->t1 t1->t2 t2->t1 t1->main");
    CHECK_EQ_INT(g_calls, 4);
    CHECK_STR(g_cur_log, "main t1 t2 t1"); /* getcurrent() is prev in each call */
    CHECK_EQ_INT(g_cur_mismatch, 0);
    CHECK_EQ_INT(g_bad_args, 0);
    CHECK_EQ_INT(PyStackless_SetScheduleCallback(NULL), 0);
    Py_DECREF(cb);
}

/* B140 [de] TestExceptionInScheduleCallback / [P]: "A schedule callback that raises: the
 * message ("Error in scheduling callback" + traceback) is printed to stderr, the exception is
 * swallowed and run() completes." */
static void test_B140(void) {
    reset_state();
    g_cb_log = 0;
    g_cb_raise = 1;
    PyObject *cb = install_cb(&sched_cb_def);
    capture_begin();
    run_t1_t2();
    char *text = capture_end();
    CHECK_LOG("t1:a t2 t1:b");
    CHECK_EQ_INT(g_calls, 4);
    CHECK_NO_EXC();
    CHECK_CONTAINS(text, "ZeroDivisionError");
    CHECK_CONTAINS(text, "cb boom");
    CHECK_CONTAINS(text, "Error in scheduling callback");
    /* Every failing call is reported. */
    CHECK_EQ_INT(count_occurrences(text, "cb boom"), 4);
    free(text);

    /* The running tasklet's own pending exception is not disturbed by the callback's. */
    log_reset();
    PyTaskletObject *t = spawn(&body_t2_def, NULL);
    g_t2 = (PyObject *)t;
    PyErr_SetString(PyExc_KeyError, "mine");
    capture_begin();
    PyObject *r = PyStackless_Schedule(Py_None, 0);
    text = capture_end();
    CHECK(r == Py_None);
    Py_XDECREF(r);
    CHECK_EXC(PyExc_KeyError, NULL);
    CHECK_LOG("t2");
    CHECK_CONTAINS(text, "cb boom");
    free(text);
    g_t2 = NULL;
    Py_DECREF(t);

    CHECK_EQ_INT(PyStackless_SetScheduleCallback(NULL), 0);
    Py_DECREF(cb);
}

/* ---- the fast C hook (SPEC §6, §10; §3.1 slp_schedule_hook_func) ---------------------- */

/* "PyStackless_SetScheduleFastcallback(f): a C hook. It replaces the Python callback's fast
 * hook: they share one slot." "A non-zero return makes Stackless print "Error in scheduling
 * callback" as an unraisable exception; scheduling continues." */
static void test_S48_fast_hook(void) {
    reset_state();
    PyStackless_SetScheduleFastcallback(sched_hook);
    run_t1_t2();
    CHECK_LOG("main->t1 t1->t2 t2->t1 t1->main");
    CHECK_EQ_INT(g_hook_calls, 4);
    CHECK_STR(g_cur_log, "main t1 t2 t1");
    CHECK_EQ_INT(g_cur_mismatch, 0);
    CHECK_EQ_INT(g_bad_args, 0);

    /* A failing hook is reported and ignored. */
    reset_state();
    g_hook_fail = 1;
    g_cb_log = 0;
    capture_begin();
    run_t1_t2();
    char *text = capture_end();
    CHECK_LOG("t1:a t2 t1:b");
    CHECK_EQ_INT(g_hook_calls, 4);
    CHECK_NO_EXC();
    CHECK_CONTAINS(text, "ValueError");
    CHECK_CONTAINS(text, "hook boom");
    free(text);

    /* One slot: the hook replaces the Python callback's hook... */
    reset_state();
    g_cb_log = 0;
    PyObject *cb = install_cb(&sched_cb_def);
    PyStackless_SetScheduleFastcallback(sched_hook);
    run_t1_t2();
    CHECK_EQ_INT(g_calls, 0);
    CHECK_EQ_INT(g_hook_calls, 4);
    /* ... installing the callback again replaces the hook ... */
    reset_state();
    g_cb_log = 0;
    CHECK_EQ_INT(PyStackless_SetScheduleCallback(cb), 0);
    run_t1_t2();
    CHECK_EQ_INT(g_calls, 4);
    CHECK_EQ_INT(g_hook_calls, 0);
    /* ... and NULL removes whatever is installed. */
    reset_state();
    g_cb_log = 0;
    PyStackless_SetScheduleFastcallback(NULL);
    run_t1_t2();
    CHECK_EQ_INT(g_calls, 0);
    CHECK_EQ_INT(g_hook_calls, 0);
    CHECK_EQ_INT(PyStackless_SetScheduleCallback(NULL), 0);
    Py_DECREF(cb);
}

/* SPEC §10: "A channel operation or switch from inside a callback is a RuntimeError ..., never
 * a crash." The switch is refused, the callback goes on, and the run completes. */
static void test_S10_switch_in_callback(void) {
    reset_state();
    g_try_switch = 1;
    g_cb_channel = PyChannel_New(NULL);
    PyObject *cb = install_cb(&sched_cb_def);
    run_t1_t2();
    CHECK_LOG("main->t1 t1->t2 t2->t1 t1->main");
    CHECK_EQ_INT(g_switch_refused, 5); /* 4 sends + the schedule() in t1->t2 */
    CHECK_EQ_INT(g_switch_done, 0);
    CHECK_EQ_INT(PyChannel_GetBalance(g_cb_channel), 0);
    CHECK_EQ_INT(PyStackless_SetScheduleCallback(NULL), 0);
    Py_DECREF(cb);
    Py_CLEAR(g_cb_channel);
}

/* ---- bad input ---------------------------------------------------------------------- */

/* §3.4: SetChannelCallback "TypeError "channel callback must be callable""; the schedule
 * callback likewise ("schedule callback must be callable"). The installed callback stays. */
static void test_bad_input(void) {
    reset_state();
    PyObject *n = PyLong_FromLong(3);
    PyObject *cb = install_cb(&sched_cb_def);
    CHECK_EQ_INT(PyStackless_SetScheduleCallback(n), -1);
    CHECK_EXC(PyExc_TypeError, "schedule callback must be callable");
    PyObject *got = PyStackless_GetScheduleCallback();
    CHECK(got == cb);
    Py_XDECREF(got);
    CHECK_EQ_INT(PyStackless_SetScheduleCallback(NULL), 0);
    got = PyStackless_GetScheduleCallback();
    CHECK(got == Py_None);
    Py_XDECREF(got);

    CHECK_EQ_INT(PyStackless_SetChannelCallback(n), -1);
    CHECK_EXC(PyExc_TypeError, "channel callback must be callable");
    got = PyStackless_GetChannelCallback();
    CHECK(got == Py_None);
    Py_XDECREF(got);
    CHECK_EQ_INT(PyStackless_SetChannelCallback(cb), 0);
    CHECK_EQ_INT(PyStackless_SetChannelCallback(n), -1);
    CHECK_EXC(PyExc_TypeError, "channel callback must be callable");
    got = PyStackless_GetChannelCallback();
    CHECK(got == cb);
    Py_XDECREF(got);
    CHECK_EQ_INT(PyStackless_SetChannelCallback(NULL), 0);
    got = PyStackless_GetChannelCallback();
    CHECK(got == Py_None);
    Py_XDECREF(got);
    CHECK_NO_EXC();
    Py_DECREF(cb);
    Py_DECREF(n);
}

/* Every test runs with soft switching enabled and disabled (SPEC §7: programs using the
 * plain calls give identical results and event orders in both modes). */
static void run_tests(void) {
    test_B137();
    test_B138();
    test_B139();
    test_B140();
    test_S48_fast_hook();
    test_S10_switch_in_callback();
    test_bad_input();
}

int main(void) {
    g_main = PyStackless_GetMain();
    for (int soft = 1; soft >= 0; soft--) {
        PyStackless_EnableSoftswitch(soft);
        CHECK_EQ_INT(PyStackless_EnableSoftswitch(-1), soft);
        run_tests();
    }
    Py_CLEAR(g_main);
    CHECK_NO_EXC();
    return check_report();
}
