/* test_watchdog_nested.c: timed runs that nest (catalogue rows B126-B133 as far as they
 * concern timed runs; reference/stackless-semantics.md §4.5 "Nesting", §5.11; SPEC §8).
 *
 * Only the outermost run with timeout > 0 owns the interrupt: a later timed run behaves as
 * if it had no timeout, and the victim is returned by the owner, which re-inserts the deeper
 * runs it pops. Uncaught errors go to the innermost run. A tasklet that calls a timed run is
 * the one woken on timeout.
 *
 * Python -> C: `stackless.run(n, soft=, ignore_nesting=, totaltimeout=)`
 * PyStackless_RunWatchdogEx(n, PY_WATCHDOG_SOFT | PY_WATCHDOG_IGNORE_NESTING |
 * PY_WATCHDOG_TOTALTIMEOUT); a bytecode is a tick, PyStackless_Tick(1); `schedule()`
 * PyStackless_Schedule(None, 0); `t.run()` PyTasklet_Run; `t.kill()` PyTasklet_Kill;
 * `with atomic():` hold = PyTasklet_SetAtomic(cur, 1) ... PyTasklet_SetAtomic(cur, hold).
 * Rows run with soft switching enabled and disabled; B131-B133 in hard and soft
 * (PY_WATCHDOG_SOFT) watchdog mode. */
#include "tasklet_util.h"

/* ---- small helpers ------------------------------------------------------------------- */

static PyTaskletObject *spawn_obj(PyMethodDef *def, PyObject *arg) {
    PyObject *args = PyTuple_New(1);
    PyTuple_SetItem(args, 0, Py_NewRef(arg));
    return spawn(def, args);
}

/* What a run returned, for the log: "None", "NULL:<exception type>" or the name of the
 * tasklet (see name_of). */
static PyTaskletObject *named[8];
static const char *names[8];
static const char *name_of(PyObject *o) {
    for (int i = 0; i < 8; i++)
        if (named[i] != NULL && (PyObject *)named[i] == o) return names[i];
    PyObject *m = PyStackless_GetMain();
    Py_DECREF(m);
    return o == m ? "main" : "?";
}
static void name(PyTaskletObject *t, const char *n) {
    for (int i = 0; i < 8; i++)
        if (named[i] == NULL) {
            named[i] = t;
            names[i] = n;
            return;
        }
}
static void names_reset(void) {
    for (int i = 0; i < 8; i++) named[i] = NULL;
}
static void log_result(const char *who, PyObject *r) {
    char buf[160];
    if (r == NULL) {
        PyObject *e = PyErr_GetRaisedException();
        PyObject *s = e ? PyObject_Str(e) : NULL;
        snprintf(buf, sizeof buf, "%s:raised %s(%s)", who,
                 e ? PyType_GetTpName(Py_TYPE(e)) : "?", s ? PyUnicode_AsUTF8(s) : "");
        Py_XDECREF(s);
        Py_XDECREF(e);
    } else {
        snprintf(buf, sizeof buf, "%s:got %s", who, r == Py_None ? "None" : name_of(r));
    }
    log_event(buf);
}

static void end_of_test(void) {
    CHECK_NO_EXC();
    if (PyErr_Occurred()) PyErr_Clear();
    CHECK_EQ_INT(PyStackless_GetRunCount(), 1);
    PyObject *cur = PyStackless_GetCurrent();
    CHECK(cur != NULL && PyTasklet_IsMain(T(cur)) == 1);
    CHECK_EQ_INT(PyTasklet_GetPendingIrq(T(cur)), 0);
    CHECK_EQ_INT(PyTasklet_GetAtomic(T(cur)), 0);
    Py_XDECREF(cur);
    names_reset();
}

static long done;

/* ---- bodies -------------------------------------------------------------------------- */

/* busy(n): n ticks; busy_done counts them. */
static long busy_done, busy_total;
static PyObject *busy(PyObject *self, PyObject *args) {
    (void)self;
    (void)args;
    for (busy_done = 0; busy_done < busy_total;) {
        if (PyStackless_Tick(1) < 0) return NULL;
        busy_done++;
    }
    log_event("busy:done");
    Py_RETURN_NONE;
}
static PyMethodDef busy_def = {"busy", busy, METH_NOARGS, NULL};

/* quick: 80 ticks, more than the inner run's 50 and less than the outer run's 100 */
static PyObject *quick(PyObject *self, PyObject *args) {
    (void)self;
    (void)args;
    for (int i = 0; i < 80; i++)
        if (PyStackless_Tick(1) < 0) return NULL;
    log_event("quick:done");
    Py_RETURN_NONE;
}
static PyMethodDef quick_def = {"quick", quick, METH_NOARGS, NULL};

/* worker: schedule(); done += 1 (the TestNewWatchdog worker) */
static PyObject *worker(PyObject *self, PyObject *args) {
    (void)self;
    (void)args;
    PyObject *r = PyStackless_Schedule(Py_None, 0);
    if (r == NULL) return NULL;
    Py_DECREF(r);
    done++;
    log_event("worker:done");
    Py_RETURN_NONE;
}
static PyMethodDef worker_def = {"worker", worker, METH_NOARGS, NULL};

/* loop_task: while True: n ticks; schedule() -- until killed */
static PyObject *loop_task(PyObject *self, PyObject *n_obj) {
    (void)self;
    long n = PyLong_AsLong(n_obj);
    for (;;) {
        for (long i = 0; i < n; i++)
            if (PyStackless_Tick(1) < 0) return NULL;
        PyObject *r = PyStackless_Schedule(Py_None, 0);
        if (r == NULL) return NULL;
        Py_DECREF(r);
    }
}
static PyMethodDef loop_task_def = {"loop_task", loop_task, METH_O, NULL};

/* ---- the outermost timed run owns the interrupt ---------------------------------------- */

/* runner(timeout): spawns busy, then `while t := run(timeout): t.insert()`, logging */
static long runner_timeout;
static PyObject *runner_loop(PyObject *self, PyObject *args) {
    (void)self;
    (void)args;
    PyTaskletObject *b = spawn(&busy_def, NULL);
    name(b, "busy");
    log_event("runner:run");
    for (;;) {
        PyObject *r = PyStackless_RunWatchdogEx(runner_timeout, 0);
        log_result("runner", r);
        if (r == NULL) {
            Py_DECREF(b);
            return NULL;
        }
        if (r == Py_None) {
            Py_DECREF(r);
            break;
        }
        log_eventf("busy_done=%ld", busy_done);
        PyTasklet_Insert(T(r));
        Py_DECREF(r);
    }
    Py_DECREF(b);
    Py_RETURN_NONE;
}
static PyMethodDef runner_loop_def = {"runner_loop", runner_loop, METH_NOARGS, NULL};

/* runner_inner: quick in a run(50) of its own that returns first; then spawns busy and ends */
static PyTaskletObject *inner_busy;
static PyObject *runner_inner(PyObject *self, PyObject *args) {
    (void)self;
    (void)args;
    PyTaskletObject *q = spawn(&quick_def, NULL);
    Py_XDECREF(q);
    log_event("runner:run");
    PyObject *r = PyStackless_RunWatchdogEx(50, 0);
    log_result("runner", r);
    if (r == NULL) return NULL;
    Py_DECREF(r);
    inner_busy = spawn(&busy_def, NULL);
    name(inner_busy, "busy");
    log_event("runner:end");
    Py_RETURN_NONE;
}
static PyMethodDef runner_inner_def = {"runner_inner", runner_inner, METH_NOARGS, NULL};

/* §4.5: only the first, outermost run with timeout > 0 owns the interrupt. */
static void test_outermost_owner(void) {
    /* main run(0), the runner's run(100) owns it: the victims go to the runner */
    log_reset();
    busy_total = 1000;
    runner_timeout = 100;
    PyTaskletObject *r = spawn(&runner_loop_def, NULL);
    PyObject *v = PyStackless_RunWatchdogEx(0, 0);
    log_result("main", v);
    Py_XDECREF(v);
    CHECK_LOG("runner:run runner:got busy busy_done=100 runner:got busy busy_done=201 "
              "runner:got busy busy_done=302 runner:got busy busy_done=403 "
              "runner:got busy busy_done=504 runner:got busy busy_done=605 "
              "runner:got busy busy_done=706 runner:got busy busy_done=807 "
              "runner:got busy busy_done=908 busy:done runner:got None main:got None");
    CHECK_EQ_INT(PyTasklet_Alive(r), 0);
    finish(r);
    Py_XDECREF(r);
    end_of_test();

    /* main run(100) owns it, the runner's run(70) does not: main gets the victim after 100
     * ticks (not 70), pops the runner's run and re-inserts it */
    log_reset();
    runner_timeout = 70;
    r = spawn(&runner_loop_def, NULL);
    name(r, "runner");
    v = PyStackless_RunWatchdogEx(100, 0);
    log_result("main", v);
    CHECK_LOG("runner:run main:got busy");
    CHECK_EQ_INT(busy_done, 100);
    CHECK_EQ_INT(PyTasklet_Scheduled(r), 1); /* re-inserted by main's run */
    CHECK_EQ_INT(PyTasklet_Paused(r), 0);
    CHECK_EQ_INT(PyStackless_GetRunCount(), 2);
    if (v != NULL && v != Py_None) {
        CHECK_EQ_INT(PyTasklet_Paused(T(v)), 1);
        CHECK_EQ_INT(PyTasklet_Insert(T(v)), 0);
    }
    Py_XDECREF(v);
    /* the runner's run returns None when it runs again; busy then finishes (with no timed
     * run left, in one go) */
    v = PyStackless_RunWatchdogEx(0, 0);
    log_result("main", v);
    Py_XDECREF(v);
    CHECK_LOG("runner:run main:got busy runner:got None busy:done main:got None");
    CHECK_EQ_INT(busy_done, 1000);
    CHECK_EQ_INT(PyTasklet_Alive(r), 0);
    finish(r);
    Py_XDECREF(r);
    end_of_test();

    /* an inner non-owning run(50) that returns first neither preempts (quick's 80 ticks
     * run through) nor releases main's interrupt: busy, started after it, is preempted
     * after 100 ticks */
    log_reset();
    busy_total = 1000;
    inner_busy = NULL;
    r = spawn(&runner_inner_def, NULL);
    v = PyStackless_RunWatchdogEx(100, 0);
    log_result("main", v);
    CHECK_LOG("runner:run quick:done runner:got None runner:end main:got busy");
    CHECK_EQ_INT(busy_done, 100);
    CHECK(v == (PyObject *)inner_busy);
    if (v != NULL && v != Py_None) CHECK_EQ_INT(PyTasklet_Insert(T(v)), 0);
    Py_XDECREF(v);
    run_all();
    CHECK_EQ_INT(busy_done, 1000);
    CHECK_EQ_INT(PyTasklet_Alive(r), 0);
    finish(inner_busy);
    Py_CLEAR(inner_busy);
    finish(r);
    Py_XDECREF(r);
    end_of_test();
}

/* ---- B126 -------------------------------------------------------------------------------- */

/* runner_timed: run(100) (it owns the interrupt); logs the result */
static PyObject *runner_timed(PyObject *self, PyObject *args) {
    (void)self;
    (void)args;
    log_event("runner:run");
    PyObject *r = PyStackless_RunWatchdogEx(100, 0);
    log_result("runner", r);
    if (r == NULL) return NULL;
    PyTaskletObject *m = get_main();
    if (r == (PyObject *)m) PyTasklet_Insert(m); /* main was preempted: let it go on */
    Py_DECREF(m);
    Py_DECREF(r);
    done++;
    Py_RETURN_NONE;
}
static PyMethodDef runner_timed_def = {"runner_timed", runner_timed, METH_NOARGS, NULL};

/* B126 (timed): the worker does `schedule(); done += 1`; a runner tasklet calls `run(100)`;
 * main loops `schedule()` until done == 1. The runner's run has not returned, because main
 * stayed runnable. Then `t.run()` makes the runner's run return.
 * libstackless (SPEC §6, §7): main is a tasklet like any other, its own code runs at
 * nesting level 0, so while the runner's timed run is active main's own ticks are preempted
 * too: the runner gets main as its victim. */
static void test_B126(void) {
    log_reset();
    done = 0;
    PyTaskletObject *w = spawn(&worker_def, NULL);
    PyTaskletObject *r = spawn(&runner_timed_def, NULL);
    for (int i = 0; done != 1 && i < 10; i++) {
        log_event("main:schedule");
        PyObject *v = PyStackless_Schedule(Py_None, 0);
        Py_XDECREF(v);
    }
    CHECK_EQ_INT(done, 1);
    CHECK_LOG("main:schedule runner:run main:schedule worker:done");
    CHECK_EQ_INT(PyTasklet_Alive(r), 1);
    CHECK_EQ_INT(PyTasklet_Paused(r), 1);
    CHECK_EQ_INT(PyTasklet_Run(r), 0);
    CHECK_LOG("main:schedule runner:run main:schedule worker:done runner:got None");
    CHECK_EQ_INT(done, 2);
    CHECK_EQ_INT(PyTasklet_Alive(r), 0);
    finish(w);
    finish(r);
    Py_XDECREF(w);
    Py_XDECREF(r);
    end_of_test();

    /* main's own ticks under the runner's timed run */
    log_reset();
    done = 0;
    r = spawn(&runner_timed_def, NULL);
    PyObject *v = PyStackless_Schedule(Py_None, 0); /* the runner starts its run */
    Py_XDECREF(v);
    long i;
    for (i = 0; i < 1000; i++)
        if (PyStackless_Tick(1) < 0) break;
    log_eventf("main:ticked %ld", i);
    CHECK_LOG("runner:run runner:got main main:ticked 1000");
    CHECK_EQ_INT(done, 1);
    CHECK_EQ_INT(PyTasklet_Alive(r), 0);
    finish(r);
    Py_XDECREF(r);
    end_of_test();
}

/* ---- B127 -------------------------------------------------------------------------------- */

/* runner_send(ch): `while t := run(100): t.insert()`; then ch.send("x") */
static long b127_interrupts;
static PyObject *runner_send(PyObject *self, PyObject *ch) {
    (void)self;
    log_event("runner:run");
    for (;;) {
        PyObject *r = PyStackless_RunWatchdogEx(100, 0);
        if (r == NULL) return NULL;
        if (r == Py_None) {
            Py_DECREF(r);
            break;
        }
        b127_interrupts++;
        PyTasklet_Insert(T(r));
        Py_DECREF(r);
    }
    log_eventf("runner:returned interrupts=%ld", b127_interrupts);
    PyObject *x = PyUnicode_FromString("x");
    int rc = PyChannel_Send(CH(ch), x);
    Py_DECREF(x);
    if (rc < 0) return NULL;
    log_event("runner:sent");
    Py_RETURN_NONE;
}
static PyMethodDef runner_send_def = {"runner_send", runner_send, METH_O, NULL};

/* B127 (timed): main blocks on c. The runner's timed run preempts the busy tasklet (the
 * runner re-inserts it), returns once busy has finished, then the runner sends to c and
 * main wakes. */
static void test_B127(void) {
    log_reset();
    b127_interrupts = 0;
    busy_total = 1000;
    PyChannelObject *c = PyChannel_New(NULL);
    PyTaskletObject *b = spawn(&busy_def, NULL);
    PyTaskletObject *r = spawn_obj(&runner_send_def, (PyObject *)c);
    PyObject *v = PyChannel_Receive(c);
    CHECK(v != NULL);
    if (v != NULL) {
        log_event("main:got");
        Py_DECREF(v);
    }
    /* busy's first 1000 ticks ran before the runner's run started (no timed run then) */
    CHECK_LOG("busy:done runner:run runner:returned interrupts=0 main:got");
    CHECK_EQ_INT(PyTasklet_Alive(b), 0);
    run_all();
    CHECK_EQ_INT(PyTasklet_Alive(r), 0);
    finish(b);
    finish(r);
    Py_XDECREF(b);
    Py_XDECREF(r);

    /* busy started after the runner's run: preempted 9 times */
    log_reset();
    b127_interrupts = 0;
    r = spawn_obj(&runner_send_def, (PyObject *)c);
    v = PyStackless_Schedule(Py_None, 0); /* the runner starts its run (main stays queued) */
    Py_XDECREF(v);
    b = spawn(&busy_def, NULL);
    v = PyChannel_Receive(c);
    CHECK(v != NULL);
    if (v != NULL) {
        log_event("main:got");
        Py_DECREF(v);
    }
    CHECK_LOG("runner:run busy:done runner:returned interrupts=9 main:got");
    CHECK_EQ_INT(busy_done, 1000);
    run_all();
    CHECK_EQ_INT(PyTasklet_Alive(r), 0);
    finish(b);
    finish(r);
    Py_XDECREF(b);
    Py_XDECREF(r);
    Py_XDECREF(c);
    end_of_test();
}

/* ---- B128 -------------------------------------------------------------------------------- */

static PyObject *runner_plain(PyObject *self, PyObject *args) {
    (void)self;
    (void)args;
    log_event("runner:run");
    PyObject *r = PyStackless_RunWatchdogEx(100, 0);
    if (r == NULL) return NULL;
    PyTaskletObject *m = get_main();
    log_eventf("runner:returned main.paused=%ld", PyTasklet_Paused(m));
    Py_DECREF(m);
    Py_DECREF(r);
    done++;
    Py_RETURN_NONE;
}
static PyMethodDef runner_plain_def = {"runner_plain", runner_plain, METH_NOARGS, NULL};

/* B128 (timed): main calls `run(100)` and the runner calls `run(100)` too. The inner run
 * returns first, with `main.paused == True`; then the outer one returns. done == 2. */
static void test_B128(void) {
    log_reset();
    done = 0;
    PyTaskletObject *w = spawn(&worker_def, NULL);
    PyTaskletObject *r = spawn(&runner_plain_def, NULL);
    PyObject *v = PyStackless_RunWatchdogEx(100, 0);
    log_result("main", v);
    Py_XDECREF(v);
    CHECK_LOG("runner:run worker:done runner:returned main.paused=1 main:got None");
    CHECK_EQ_INT(done, 2);
    finish(w);
    finish(r);
    Py_XDECREF(w);
    Py_XDECREF(r);
    end_of_test();
}

/* ---- B129 -------------------------------------------------------------------------------- */

static PyObject *bad(PyObject *self, PyObject *args) {
    (void)self;
    (void)args;
    for (int i = 0; i < 30; i++)
        if (PyStackless_Tick(1) < 0) return NULL;
    log_event("bad:raise");
    PyErr_SetString(PyExc_ZeroDivisionError, "inner");
    return NULL;
}
static PyMethodDef bad_def = {"bad", bad, METH_NOARGS, NULL};

/* runner_catch(timeout): creates `bad`, calls run(timeout), logs what it gave */
static PyObject *runner_catch(PyObject *self, PyObject *timeout) {
    (void)self;
    PyTaskletObject *b = spawn(&bad_def, NULL);
    Py_XDECREF(b);
    log_event("runner:run");
    PyObject *r = PyStackless_RunWatchdogEx(PyLong_AsLong(timeout), 0);
    log_result("runner", r);
    Py_XDECREF(r);
    Py_RETURN_NONE;
}
static PyMethodDef runner_catch_def = {"runner_catch", runner_catch, METH_O, NULL};

/* B129 (timed): an error raised by a tasklet created inside the inner run goes to the inner
 * `run()` (the innermost watchdog), whichever of the runs owns the interrupt. */
static void test_B129(void) {
    long timeouts[][2] = {{100, 0}, {0, 100}, {100, 100}}; /* main's, the runner's */
    for (int i = 0; i < 3; i++) {
        log_reset();
        PyObject *t = PyLong_FromLong(timeouts[i][1]);
        PyTaskletObject *r = spawn_obj(&runner_catch_def, t);
        Py_DECREF(t);
        PyObject *v = PyStackless_RunWatchdogEx(timeouts[i][0], 0);
        log_result("main", v);
        Py_XDECREF(v);
        CHECK_LOG("runner:run bad:raise runner:raised ZeroDivisionError(inner) main:got None");
        CHECK_EQ_INT(PyTasklet_Alive(r), 0);
        finish(r);
        Py_XDECREF(r);
        end_of_test();
    }
}

/* ---- B130 -------------------------------------------------------------------------------- */

static PyObject *wakes_main(PyObject *self, PyObject *args) {
    (void)self;
    (void)args;
    done++;
    log_event("w:main.run");
    PyTaskletObject *m = get_main();
    int rc = PyTasklet_Run(m);
    Py_DECREF(m);
    if (rc < 0) return NULL;
    log_eventf("w:after done=%ld", done);
    done++;
    Py_RETURN_NONE;
}
static PyMethodDef wakes_main_def = {"wakes_main", wakes_main, METH_NOARGS, NULL};

static PyObject *runner_nested(PyObject *self, PyObject *args) {
    (void)self;
    (void)args;
    PyTaskletObject *w = spawn(&wakes_main_def, NULL);
    Py_XDECREF(w);
    log_event("runner:run");
    PyObject *r = PyStackless_RunWatchdogEx(100, 0);
    if (r == NULL) return NULL;
    Py_DECREF(r);
    done++;
    log_eventf("runner:returned done=%ld", done);
    Py_RETURN_NONE;
}
static PyMethodDef runner_nested_def = {"runner_nested", runner_nested, METH_NOARGS, NULL};

/* B130 (timed): inside a nested run, a tasklet does `stackless.main.run()`. The outer
 * run(100) returns early (done == 1). A second `run(100)` completes everything (done == 3),
 * and the interrupt is still owned correctly afterwards (a busy tasklet is preempted by the
 * next timed run after 100 ticks). */
static void test_B130(void) {
    log_reset();
    done = 0;
    PyTaskletObject *r = spawn(&runner_nested_def, NULL);
    PyObject *v = PyStackless_RunWatchdogEx(100, 0);
    CHECK(v == Py_None);
    Py_XDECREF(v);
    log_eventf("main:returned done=%ld", done);
    CHECK_EQ_INT(done, 1);
    CHECK_EQ_INT(PyTasklet_Scheduled(r), 1);
    v = PyStackless_RunWatchdogEx(100, 0);
    CHECK(v == Py_None);
    Py_XDECREF(v);
    log_eventf("main:returned2 done=%ld", done);
    CHECK_EQ_INT(done, 3);
    CHECK_LOG("runner:run w:main.run main:returned done=1 w:after done=1 "
              "runner:returned done=3 main:returned2 done=3");
    finish(r);
    Py_XDECREF(r);
    busy_total = 500;
    PyTaskletObject *b = spawn(&busy_def, NULL);
    v = PyStackless_RunWatchdogEx(100, 0);
    CHECK(v == (PyObject *)b);
    CHECK_EQ_INT(busy_done, 100);
    Py_XDECREF(v);
    CHECK_EQ_INT(PyTasklet_Kill(b), 0);
    Py_XDECREF(b);
    end_of_test();
}

/* ---- B131 -------------------------------------------------------------------------------- */

static PyTaskletObject *t1, *t2;
static int wd_soft; /* PY_WATCHDOG_SOFT or 0 */

static PyObject *b131_runner(PyObject *self, PyObject *args) {
    (void)self;
    (void)args;
    log_event("runner:run");
    PyObject *r = PyStackless_RunWatchdogEx(
        150, wd_soft | PY_WATCHDOG_TOTALTIMEOUT | PY_WATCHDOG_IGNORE_NESTING);
    log_result("runner", r);
    if (r == NULL) return NULL;
    Py_DECREF(r);
    log_eventf("runner:t1.alive=%ld", PyTasklet_Alive(t1));
    log_eventf("runner:t2.alive=%ld", PyTasklet_Alive(t2));
    if (PyStackless_GetRunCount() != 0) done++; /* we were interrupted */
    if (PyTasklet_Kill(t1) < 0) return NULL;
    if (PyTasklet_Kill(t2) < 0) return NULL;
    log_event("runner:end");
    Py_RETURN_NONE;
}
static PyMethodDef b131_runner_def = {"b131_runner", b131_runner, METH_NOARGS, NULL};

/* B131: a tasklet calling `run(150, soft/hard, totaltimeout=True, ignore_nesting=True)` is
 * the one woken on timeout (not main, whose untimed run returns only when everything has
 * ended); runcount is non-zero afterwards. t1 and t2 loop: 200 ticks, schedule(). The
 * 151st tick of the runner's run is t1's: hard, the run returns t1; soft, t1's irq becomes
 * pending and the run returns None at its schedule(). */
static void test_B131(void) {
    log_reset();
    done = 0;
    PyObject *n = PyLong_FromLong(200);
    PyTaskletObject *w = spawn(&worker_def, NULL);
    t1 = spawn_obj(&loop_task_def, n);
    t2 = spawn_obj(&loop_task_def, n);
    Py_DECREF(n);
    name(t1, "t1");
    name(t2, "t2");
    PyTaskletObject *r = spawn(&b131_runner_def, NULL);
    PyObject *v = PyStackless_RunWatchdogEx(0, 0);
    log_result("main", v);
    Py_XDECREF(v);
    CHECK_EQ_INT(done, 2);
    if (wd_soft)
        CHECK_LOG("runner:run worker:done runner:got None runner:t1.alive=1 runner:t2.alive=1 "
                  "runner:end main:got None");
    else
        CHECK_LOG("runner:run worker:done runner:got t1 runner:t1.alive=1 runner:t2.alive=1 "
                  "runner:end main:got None");
    CHECK_EQ_INT(PyTasklet_Alive(t1), 0);
    CHECK_EQ_INT(PyTasklet_Alive(t2), 0);
    CHECK_EQ_INT(PyTasklet_Alive(r), 0);
    finish(w);
    finish(t1);
    finish(t2);
    finish(r);
    Py_XDECREF(w);
    Py_CLEAR(t1);
    Py_CLEAR(t2);
    Py_XDECREF(r);
    end_of_test();
}

/* ---- B132 -------------------------------------------------------------------------------- */

static long awoken;
static long awoken_order[4];

static PyMethodDef b132_runner_def;
/* runner(recursive, start): spawns runner(recursive - 1) if recursive; then inside
 * `with atomic():` run(10000, soft, totaltimeout, ignore_nesting) and note the wake-up
 * order; the first watchdog (recursive == start) kills t1 and t2. */
static PyObject *b132_runner(PyObject *self, PyObject *args) {
    (void)self;
    long recursive = PyLong_AsLong(PyTuple_GetItem(args, 0));
    long start = PyLong_AsLong(PyTuple_GetItem(args, 1));
    if (recursive) {
        PyObject *a = PyTuple_New(2);
        PyTuple_SetItem(a, 0, PyLong_FromLong(recursive - 1));
        PyTuple_SetItem(a, 1, PyLong_FromLong(start));
        PyTaskletObject *t = spawn(&b132_runner_def, a);
        Py_XDECREF(t);
    }
    int hold = set_atomic_current(1);
    PyObject *r = PyStackless_RunWatchdogEx(
        10000, wd_soft | PY_WATCHDOG_TOTALTIMEOUT | PY_WATCHDOG_IGNORE_NESTING);
    long a = awoken++;
    awoken_order[recursive] = a;
    set_atomic_current(hold);
    if (r == NULL) return NULL;
    if (!wd_soft && recursive == start) CHECK(r == (PyObject *)t1 || r == (PyObject *)t2);
    Py_DECREF(r);
    if (recursive == start) done++; /* we were interrupted */
    if (PyTasklet_Kill(t1) < 0) return NULL;
    if (PyTasklet_Kill(t2) < 0) return NULL;
    Py_RETURN_NONE;
}
static PyMethodDef b132_runner_def = {"b132_runner", b132_runner, METH_VARARGS, NULL};

/* B132: with 4 nested timed watchdogs (each inside `atomic`), the outermost timed watchdog
 * wakes first (awoken order 0). t1 and t2 loop: 100 ticks, schedule(). */
static void test_B132(void) {
    done = 0;
    awoken = 0;
    for (int i = 0; i < 4; i++) awoken_order[i] = -1;
    PyObject *n = PyLong_FromLong(100);
    PyTaskletObject *w = spawn(&worker_def, NULL);
    t1 = spawn_obj(&loop_task_def, n);
    t2 = spawn_obj(&loop_task_def, n);
    Py_DECREF(n);
    PyObject *a = PyTuple_New(2);
    PyTuple_SetItem(a, 0, PyLong_FromLong(3));
    PyTuple_SetItem(a, 1, PyLong_FromLong(3));
    PyTaskletObject *r = spawn(&b132_runner_def, a);
    PyObject *v = PyStackless_RunWatchdogEx(0, 0);
    CHECK(v == Py_None);
    Py_XDECREF(v);
    CHECK_EQ_INT(done, 2);
    CHECK_EQ_INT(awoken, 4);
    CHECK_EQ_INT(awoken_order[3], 0); /* the first (outermost) watchdog woke first */
    CHECK_EQ_INT(PyTasklet_Alive(t1), 0);
    CHECK_EQ_INT(PyTasklet_Alive(t2), 0);
    finish(w);
    finish(t1);
    finish(t2);
    finish(r);
    Py_XDECREF(w);
    Py_CLEAR(t1);
    Py_CLEAR(t2);
    Py_XDECREF(r);
    end_of_test();
}

/* ---- B133 -------------------------------------------------------------------------------- */

static PyTaskletObject *wds[3]; /* watchdog1, watchdog2, worker */

static PyObject *b133_worker(PyObject *self, PyObject *args) {
    (void)self;
    (void)args;
    /* (Stackless checks the watchdog list [wd1, main, wd1, wd2] here: not observable in the
     * C API; what is: both watchdogs and main wait, paused) */
    PyTaskletObject *m = get_main();
    CHECK_EQ_INT(PyTasklet_Paused(m), 1);
    Py_DECREF(m);
    CHECK_EQ_INT(PyTasklet_Paused(wds[0]), 1);
    CHECK_EQ_INT(PyTasklet_Scheduled(wds[1]), 0);
    if (PyTasklet_Insert(wds[1]) < 0) return NULL;
    done++;
    for (int i = 0; i < 100; i++)
        for (int j = 0; j < 100; j++)
            if (PyStackless_Tick(1) < 0) return NULL;
    if (wd_soft) {
        PyObject *r = PyStackless_Schedule(Py_None, 0);
        if (r == NULL) return NULL;
        Py_DECREF(r);
    }
    done++;
    log_event("worker:done");
    Py_RETURN_NONE;
}
static PyMethodDef b133_worker_def = {"b133_worker", b133_worker, METH_NOARGS, NULL};

static PyObject *b133_wd2(PyObject *self, PyObject *args) {
    (void)self;
    (void)args;
    wds[2] = spawn(&b133_worker_def, NULL);
    name(wds[2], "worker");
    PyObject *r = PyStackless_RunWatchdogEx(0, 0);
    log_result("wd2", r);
    if (r == NULL) return NULL;
    Py_DECREF(r);
    Py_RETURN_NONE;
}
static PyMethodDef b133_wd2_def = {"b133_wd2", b133_wd2, METH_NOARGS, NULL};

static PyObject *b133_wd1(PyObject *self, PyObject *args) {
    (void)self;
    (void)args;
    wds[1] = spawn(&b133_wd2_def, NULL);
    name(wds[1], "wd2");
    PyObject *victim = PyStackless_RunWatchdogEx(
        1000, wd_soft | PY_WATCHDOG_IGNORE_NESTING | PY_WATCHDOG_TOTALTIMEOUT);
    log_result("wd1", victim);
    if (victim == NULL) return NULL;
    log_eventf("wd1:done=%ld", done); /* the worker was interrupted neither early nor late */
    Py_DECREF(victim);
    Py_RETURN_NONE;
}
static PyMethodDef b133_wd1_def = {"b133_wd1", b133_wd1, METH_NOARGS, NULL};

/* B133: watchdog1 runs a timed run; watchdog2 (inside it) an untimed one; the worker
 * (inside that) re-inserts watchdog2 and busy-loops. In hard mode the victim returned to
 * watchdog1 is the worker; in soft mode watchdog1's run returns None at the worker's
 * schedule(). */
static void test_B133(void) {
    log_reset();
    done = 0;
    wds[0] = wds[1] = wds[2] = NULL;
    wds[0] = spawn(&b133_wd1_def, NULL);
    name(wds[0], "wd1");
    PyObject *v = PyStackless_RunWatchdogEx(0, 0);
    log_result("main", v);
    Py_XDECREF(v);
    if (wd_soft) {
        CHECK_LOG("wd1:got None wd1:done=1 wd2:got None worker:done main:got None");
        CHECK_EQ_INT(done, 2);
    } else {
        CHECK_LOG("wd1:got worker wd1:done=1 wd2:got None main:got None");
        CHECK_EQ_INT(done, 1);
        /* the victim waits, paused, until somebody inserts it */
        CHECK_EQ_INT(PyTasklet_Paused(wds[2]), 1);
        CHECK_EQ_INT(PyTasklet_Insert(wds[2]), 0);
        run_all();
        CHECK_EQ_INT(done, 2);
    }
    for (int i = 0; i < 3; i++) {
        CHECK_EQ_INT(PyTasklet_Alive(wds[i]), 0);
        finish(wds[i]);
        Py_CLEAR(wds[i]);
    }
    end_of_test();
}

int main(void) {
    for (int pass = 0; pass < 2; pass++) {
        PyStackless_EnableSoftswitch(pass == 0);
        test_outermost_owner();
        test_B126();
        test_B127();
        test_B128();
        test_B129();
        test_B130();
        for (int soft = 0; soft < 2; soft++) {
            wd_soft = soft ? PY_WATCHDOG_SOFT : 0;
            test_B131();
            test_B132();
            test_B133();
        }
    }
    PyStackless_EnableSoftswitch(1);
    return check_report();
}
