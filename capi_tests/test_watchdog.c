/* test_watchdog.c: preemption by the watchdog: atomic, ignore_nesting, time slices, total
 * timeouts, soft interrupts and the SimpleScheduler loop (catalogue rows B114-B125,
 * reference/stackless-semantics.md §3.4, §4.5, §4.10; SPEC §7 nesting_level, §8). Also:
 * PyStackless_Tick(n) and its bad input, the flags (THREADBLOCK, unknown bits), a tail-call
 * soft switch under a soft interrupt, kill/throw into an interrupted tasklet (its Tick
 * returns -1), no interrupt inside callbacks or under the switch trap, PY_WATCHDOG_TIME.
 * Nested timed runs (B126-B133) are in test_watchdog_nested.c.
 *
 * Python -> C: a bytecode is a tick, `PyStackless_Tick(1)`, and a busy loop is a loop that
 * ticks; `stackless.run(n, soft=, ignore_nesting=, totaltimeout=)`
 * PyStackless_RunWatchdogEx(n, PY_WATCHDOG_SOFT | PY_WATCHDOG_IGNORE_NESTING |
 * PY_WATCHDOG_TOTALTIMEOUT); `with atomic():` old = PyTasklet_SetAtomic(cur, 1) ...
 * PyTasklet_SetAtomic(cur, old); `t.set_ignore_nesting(1)` PyTasklet_SetIgnoreNesting; a
 * Python function called from a tasklet (Stackless nesting) is a PyObject_Call of a C
 * function from the tasklet's body (SPEC §7: one nesting level).
 *
 * libstackless (SPEC §7, §8): a body runs at nesting level 0 whether it switches soft or
 * hard, so a busy body is preemptible without ignore_nesting in both switching modes. The
 * rows run with soft switching enabled and disabled, and the workers come in two kinds:
 * PLAIN (a C loop that yields with PyStackless_Schedule) and SOFT (the same loop as a
 * soft-switchable function started with PyStackless_CallFunction from a METH_STACKLESS
 * body, which switches soft while soft switching is enabled).
 *
 * Tick arithmetic used below: under run(N) a tasklet's first N Tick(1) calls of a slice
 * return at once and the (N+1)th is interrupted; when the victim runs again that call
 * returns and a new slice of N begins. So a busy worker is interrupted with 100 ticks done
 * under run(100), then with 201, 302, ... */
#include <limits.h>
#include <time.h>

#include "tasklet_util.h"

/* ---- small helpers ------------------------------------------------------------------- */

static int soft_mode; /* this pass runs with soft switching enabled */

/* The type name of the pending exception ("-" if none); the exception stays set. */
static const char *pending_name(void) {
    static char buf[64];
    PyObject *e = PyErr_GetRaisedException();
    if (e == NULL) return "-";
    snprintf(buf, sizeof buf, "%s", PyType_GetTpName(Py_TYPE(e)));
    PyErr_SetRaisedException(e);
    return buf;
}

static int pending_irq_of_current(void) {
    PyTaskletObject *c = get_current();
    int r = PyTasklet_GetPendingIrq(c);
    Py_DECREF(c);
    return r;
}

static int set_ignore_nesting_current(int flag) {
    PyTaskletObject *c = get_current();
    int r = PyTasklet_SetIgnoreNesting(c, flag);
    Py_DECREF(c);
    return r;
}

/* A victim of a hard interrupt: returned by the run, alive, paused, not scheduled, not
 * blocked, its interrupt no longer pending. Evaluates to 1 when `r` is `t` (the callers
 * skip the rest of a scenario that did not happen, instead of piling up failures). */
static int check_victim_at(const char *file, int line, PyObject *r, PyTaskletObject *t) {
    char buf[160];
    if (r != (PyObject *)t) {
        snprintf(buf, sizeof buf, "the run returned %s, not the victim",
                 r == NULL ? "NULL" : r == Py_None ? "None" : "another object");
        check_fail(file, line, buf);
        return 0;
    }
    int ok = PyTasklet_Alive(t) == 1 && PyTasklet_Paused(t) == 1 &&
             PyTasklet_Scheduled(t) == 0 && PyTasklet_GetBlocked(t) == 0 &&
             PyTasklet_IsCurrent(t) == 0 && PyTasklet_GetPendingIrq(t) == 0;
    if (!ok) {
        snprintf(buf, sizeof buf,
                 "victim state: alive %d paused %d scheduled %d blocked %d current %d irq %d",
                 PyTasklet_Alive(t), PyTasklet_Paused(t), PyTasklet_Scheduled(t),
                 PyTasklet_GetBlocked(t), PyTasklet_IsCurrent(t), PyTasklet_GetPendingIrq(t));
        check_fail(file, line, buf);
    } else {
        check_passed_count++;
    }
    check_passed_count++;
    return 1;
}
#define CHECK_VICTIM(r, t) check_victim_at(__FILE__, __LINE__, (PyObject *)(r), (t))
/* CHECK_VICTIM, release the result, and go to `label` if it was not the victim. */
#define EXPECT_VICTIM(r, t, label) \
    do { \
        int ok_ = CHECK_VICTIM(r, t); \
        Py_XDECREF(r); \
        if (!ok_) goto label; \
    } while (0)

/* ---- workers ---------------------------------------------------------------------------
 * A worker does `total` ticks and yields (schedule) after every `chunk` of them (never when
 * chunk is 0). W[i] is its record; the body gets i as its argument. */

enum kind { PLAIN, SOFT };
static const char *kind_name(enum kind k) { return k == PLAIN ? "plain" : "soft"; }

struct worker {
    const char *name;
    long total, chunk;
    long done;          /* Tick(1) calls that returned 0 */
    long first_pending; /* done when GetPendingIrq(current) was first seen 1 (-1: never) */
    int started, finished;
    long nesting;       /* the nesting level at the first tick (-1: not seen) */
    long soft_switches; /* yields that switched soft */
    char exc[64];       /* the exception a Tick or a yield returned ("" none) */
};
static struct worker W[8];

static void worker_init(int i, const char *name, long total, long chunk) {
    memset(&W[i], 0, sizeof W[i]);
    W[i].name = name;
    W[i].total = total;
    W[i].chunk = chunk;
    W[i].first_pending = -1;
    W[i].nesting = -1;
}

static void worker_failed(struct worker *w) {
    snprintf(w->exc, sizeof w->exc, "%s", pending_name());
}

/* Runs the worker until it must yield (1), it has finished (0) or a tick failed (-1). */
static int worker_ticks(struct worker *w) {
    w->started = 1;
    if (w->nesting < 0) {
        PyTaskletObject *c = get_current();
        w->nesting = PyTasklet_GetNestingLevel(c);
        Py_DECREF(c);
    }
    while (w->done < w->total) {
        if (PyStackless_Tick(1) < 0) {
            worker_failed(w);
            return -1;
        }
        w->done++;
        if (w->first_pending < 0 && pending_irq_of_current() == 1) w->first_pending = w->done;
        if (w->chunk > 0 && w->done % w->chunk == 0 && w->done < w->total) return 1;
    }
    return 0;
}

static struct worker *worker_of(PyObject *arg) {
    long i = PyLong_AsLong(arg);
    return (i >= 0 && i < 8) ? &W[i] : NULL;
}

/* PLAIN: the loop in C, yielding with PyStackless_Schedule (a hard switch). */
static PyObject *plain_worker(PyObject *self, PyObject *arg) {
    (void)self;
    struct worker *w = worker_of(arg);
    if (w == NULL) return NULL;
    for (;;) {
        int r = worker_ticks(w);
        if (r < 0) return NULL;
        if (r == 0) break;
        PyObject *v = PyStackless_Schedule(Py_None, 0);
        if (v == NULL) {
            worker_failed(w);
            return NULL;
        }
        Py_DECREF(v);
    }
    w->finished = 1;
    Py_RETURN_NONE;
}
static PyMethodDef plain_worker_def = {"plain_worker", plain_worker, METH_O, NULL};

/* SOFT: the same loop as a soft-switchable function; `any` is the worker. */
static PyObject *soft_worker_sf(PyObject *retval, long *step, PyObject **ob1, PyObject **ob2,
                                PyObject **ob3, long *n, void **any) {
    STACKLESS_GETARG();
    (void)ob1;
    (void)ob2;
    (void)ob3;
    (void)n;
    struct worker *w = *any;
    if (retval == NULL) { /* the yield we were suspended in failed */
        worker_failed(w);
        return NULL;
    }
    for (;;) {
        int r = worker_ticks(w);
        if (r < 0) return NULL;
        if (r == 0) break;
        STACKLESS_PROMOTE_ALL();
        PyObject *v = PyStackless_Schedule(Py_None, 0);
        STACKLESS_ASSERT();
        if (v == NULL) {
            worker_failed(w);
            return NULL;
        }
        if (STACKLESS_UNWINDING(v)) {
            w->soft_switches++;
            (*step)++;
            return v;
        }
        Py_DECREF(v);
    }
    w->finished = 1;
    Py_RETURN_NONE;
}
static PyStacklessFunctionDeclarationObject soft_worker_decl = {
    PyObject_HEAD_INIT(NULL) soft_worker_sf, "soft_worker", NULL};

static PyObject *soft_worker(PyObject *self, PyObject *arg) {
    STACKLESS_GETARG();
    (void)self;
    struct worker *w = worker_of(arg);
    if (w == NULL) return NULL;
    STACKLESS_PROMOTE_ALL();
    PyObject *r = PyStackless_CallFunction(&soft_worker_decl, Py_None, NULL, NULL, NULL, 0, w);
    STACKLESS_ASSERT();
    return r;
}
static PyMethodDef soft_worker_def = {"soft_worker", soft_worker, METH_O | METH_STACKLESS,
                                      NULL};

static PyTaskletObject *spawn_worker(int i, enum kind k) {
    PyObject *args = PyTuple_New(1);
    PyTuple_SetItem(args, 0, PyLong_FromLong(i));
    return spawn(k == PLAIN ? &plain_worker_def : &soft_worker_def, args);
}

/* In soft mode a SOFT worker that yielded did so softly; otherwise nothing switches soft. */
static void check_soft_switches(struct worker *w, enum kind k) {
    long yields = w->chunk > 0 ? (w->total - 1) / w->chunk : 0;
    if (k == SOFT && soft_mode && yields > 0) CHECK(w->soft_switches > 0);
    else CHECK_EQ_INT(w->soft_switches, 0);
}

/* ---- run helpers ------------------------------------------------------------------------ */

static PyObject *run_ex(long timeout, int flags) { return PyStackless_RunWatchdogEx(timeout, flags); }

/* Stackless's SimpleScheduler.autoschedule: `while runcount > 1: t = run(n); if t: insert`.
 * Returns the number of run() calls; *interrupts counts those that returned a tasklet.
 * On an exception from run() it kills the other tasklets (as SimpleScheduler does) and
 * returns -1 with the exception set. */
static long autoschedule(long timeout, int flags, long *interrupts) {
    long runs = 0;
    if (interrupts) *interrupts = 0;
    while (PyStackless_GetRunCount() > 1 && runs < 100000) {
        PyObject *r = run_ex(timeout, flags);
        runs++;
        if (r == NULL) {
            PyObject *exc = PyErr_GetRaisedException();
            while (PyStackless_GetRunCount() > 1) {
                PyObject *cur = PyStackless_GetCurrent();
                PyObject *next = PyObject_GetAttrString(cur, "next");
                Py_DECREF(cur);
                int rc = next != NULL ? PyTasklet_Kill(T(next)) : -1;
                Py_XDECREF(next);
                if (rc < 0) {
                    PyErr_Clear();
                    break;
                }
            }
            PyErr_SetRaisedException(exc);
            return -1;
        }
        if (r != Py_None) {
            if (interrupts) (*interrupts)++;
            if (PyTasklet_Insert(T(r)) < 0) check_fail(__FILE__, __LINE__, "insert the victim");
        }
        Py_DECREF(r);
    }
    return runs;
}

/* Nothing of the watchdog is left behind by a test: a busy tasklet under run(0) is never
 * interrupted, no tick is charged against an old budget, only main is runnable. */
static void end_of_test(void) {
    CHECK_NO_EXC();
    if (PyErr_Occurred()) PyErr_Clear();
    CHECK_EQ_INT(PyStackless_GetRunCount(), 1);
    worker_init(7, "leak-check", 2000, 0);
    PyTaskletObject *t = spawn_worker(7, PLAIN);
    PyObject *r = run_ex(0, 0);
    CHECK(r == Py_None);
    Py_XDECREF(r);
    CHECK_EQ_INT(W[7].done, 2000);
    CHECK_EQ_INT(W[7].first_pending, -1);
    finish(t);
    Py_XDECREF(t);
    CHECK_EQ_INT(PyStackless_Tick(1000000), 0); /* main, outside any run: nothing happens */
    CHECK_EQ_INT(PyStackless_GetRunCount(), 1);
    PyObject *cur = PyStackless_GetCurrent();
    CHECK(cur != NULL && PyTasklet_IsMain(T(cur)) == 1);
    CHECK_EQ_INT(PyTasklet_GetAtomic(T(cur)), 0);
    CHECK_EQ_INT(PyTasklet_GetPendingIrq(T(cur)), 0);
    Py_XDECREF(cur);
    CHECK_EQ_INT(PyStackless_AdjustSwitchTrap(0), 0);
}

/* ---- B114 ------------------------------------------------------------------------------ */

static long b114_results[8];
static PyObject *b114_body(PyObject *self, PyObject *args) {
    (void)self;
    (void)args;
    PyTaskletObject *c = get_current();
    b114_results[0] = PyTasklet_SetAtomic(c, 0);
    b114_results[1] = PyTasklet_SetAtomic(c, 1);
    b114_results[2] = PyTasklet_GetAtomic(c);
    b114_results[3] = PyTasklet_SetAtomic(c, 1);
    b114_results[4] = PyTasklet_SetAtomic(c, 0);
    b114_results[5] = PyTasklet_GetAtomic(c);
    Py_DECREF(c);
    Py_RETURN_NONE;
}
static PyMethodDef b114_def = {"b114", b114_body, METH_NOARGS, NULL};

/* B114: `set_atomic(v)` returns the previous value: set(False), set(True), set(True),
 * set(False) give False, False, True, True and `atomic` tracks it. (Here inside a tasklet
 * under a timed run, and on main.) */
static void test_B114(void) {
    log_reset();
    PyTaskletObject *t = spawn(&b114_def, NULL);
    PyObject *r = run_ex(100, 0);
    CHECK(r == Py_None);
    Py_XDECREF(r);
    CHECK_EQ_INT(b114_results[0], 0);
    CHECK_EQ_INT(b114_results[1], 0);
    CHECK_EQ_INT(b114_results[2], 1);
    CHECK_EQ_INT(b114_results[3], 1);
    CHECK_EQ_INT(b114_results[4], 1);
    CHECK_EQ_INT(b114_results[5], 0);
    CHECK_EQ_INT(PyTasklet_GetAtomic(t), 0);
    PyTaskletObject *m = T(PyStackless_GetMain());
    CHECK_EQ_INT(PyTasklet_SetAtomic(m, 0), 0);
    CHECK_EQ_INT(PyTasklet_SetAtomic(m, 1), 0);
    CHECK_EQ_INT(PyTasklet_SetAtomic(m, 1), 1);
    CHECK_EQ_INT(PyTasklet_GetAtomic(m), 1);
    CHECK_EQ_INT(PyTasklet_SetAtomic(m, 0), 1);
    CHECK_EQ_INT(PyTasklet_GetAtomic(m), 0);
    Py_DECREF(m);
    finish(t);
    Py_XDECREF(t);
    end_of_test();
}

/* ---- B115 ------------------------------------------------------------------------------ */

/* Nested "with atomic()" blocks: outer (old 0), inner (old 1). Ticks inside both; the inner
 * block's exit restores 1, so the deferred interrupt waits for the outer exit. */
static long b115_inner_exit_ticks, b115_after_ticks, b115_atomic_seen[4];
static PyObject *b115_body(PyObject *self, PyObject *args) {
    (void)self;
    (void)args;
    int old_outer = set_atomic_current(1);
    b115_atomic_seen[0] = old_outer;
    for (int i = 0; i < 150; i++)
        if (PyStackless_Tick(1) < 0) return NULL;
    int old_inner = set_atomic_current(1);
    b115_atomic_seen[1] = old_inner;
    for (int i = 0; i < 150; i++)
        if (PyStackless_Tick(1) < 0) return NULL;
    set_atomic_current(old_inner); /* inner exit: still atomic */
    b115_atomic_seen[2] = pending_irq_of_current();
    for (b115_inner_exit_ticks = 0; b115_inner_exit_ticks < 150; b115_inner_exit_ticks++)
        if (PyStackless_Tick(1) < 0) return NULL;
    set_atomic_current(old_outer); /* outer exit: atomic off, the interrupt fires */
    b115_atomic_seen[3] = pending_irq_of_current();
    for (b115_after_ticks = 0; b115_after_ticks < 1000; b115_after_ticks++)
        if (PyStackless_Tick(1) < 0) return NULL;
    Py_RETURN_NONE;
}
static PyMethodDef b115_def = {"b115", b115_body, METH_NOARGS, NULL};

/* B115: inside `with atomic():` atomic is True; on exit the old value (False or True) is
 * restored. Preemption follows the restored value: nested atomic blocks defer the interrupt
 * until the outermost one ends. */
static void test_B115(void) {
    PyTaskletObject *m = T(PyStackless_GetMain());
    /* the context manager's save/set/restore */
    int old = PyTasklet_SetAtomic(m, 1);
    CHECK_EQ_INT(old, 0);
    CHECK_EQ_INT(PyTasklet_GetAtomic(m), 1);
    int old2 = PyTasklet_SetAtomic(m, 1);
    CHECK_EQ_INT(old2, 1);
    CHECK_EQ_INT(PyTasklet_SetAtomic(m, old2), 1);
    CHECK_EQ_INT(PyTasklet_GetAtomic(m), 1);
    CHECK_EQ_INT(PyTasklet_SetAtomic(m, old), 1);
    CHECK_EQ_INT(PyTasklet_GetAtomic(m), 0);
    Py_DECREF(m);

    b115_inner_exit_ticks = b115_after_ticks = -1;
    PyTaskletObject *t = spawn(&b115_def, NULL);
    PyObject *r = run_ex(100, 0);
    CHECK_VICTIM(r, t);
    Py_XDECREF(r);
    CHECK_EQ_INT(b115_atomic_seen[0], 0);
    CHECK_EQ_INT(b115_atomic_seen[1], 1);
    CHECK_EQ_INT(b115_atomic_seen[2], 1); /* the irq is pending after the inner exit */
    CHECK_EQ_INT(b115_inner_exit_ticks, 150);
    CHECK_EQ_INT(b115_atomic_seen[3], 1);
    CHECK_EQ_INT(b115_after_ticks, 0); /* interrupted by the first tick after the outer exit */
    CHECK_EQ_INT(PyTasklet_GetAtomic(t), 0);
    CHECK_EQ_INT(PyTasklet_Insert(t), 0);
    run_all();
    CHECK_EQ_INT(b115_after_ticks, 1000);
    CHECK_EQ_INT(PyTasklet_Alive(t), 0);
    finish(t);
    Py_XDECREF(t);
    end_of_test();
}

/* ---- B116 ------------------------------------------------------------------------------ */

static PyObject *b116_atomic(PyObject *self, PyObject *ch) {
    (void)self;
    set_atomic_current(1);
    log_event("A1");
    for (int i = 0; i < 300; i++)
        if (PyStackless_Tick(1) < 0) return NULL;
    PyObject *v = PyStackless_Schedule(Py_None, 0); /* explicit switch: allowed */
    if (v == NULL) return NULL;
    Py_DECREF(v);
    log_event("A2");
    v = PyChannel_Receive(CH(ch)); /* blocking: allowed */
    if (v == NULL) return NULL;
    log_eventf("A3:got %ld", PyLong_AsLong(v));
    Py_DECREF(v);
    set_atomic_current(0);
    log_event("A4");
    Py_RETURN_NONE;
}
static PyMethodDef b116_atomic_def = {"b116_atomic", b116_atomic, METH_O, NULL};

static PyObject *b116_other(PyObject *self, PyObject *ch) {
    (void)self;
    log_event("B1");
    PyObject *v = PyStackless_Schedule(Py_None, 0);
    if (v == NULL) return NULL;
    Py_DECREF(v);
    log_event("B2");
    PyObject *x = PyLong_FromLong(7);
    int rc = PyChannel_Send(CH(ch), x);
    Py_DECREF(x);
    if (rc < 0) return NULL;
    log_event("B3");
    Py_RETURN_NONE;
}
static PyMethodDef b116_other_def = {"b116_other", b116_other, METH_O, NULL};

/* B116: atomic does not stop explicit switches: an atomic tasklet calling `schedule()` lets
 * "other" run and then resumes; it may block on a channel. Under run(100) the atomic
 * tasklet's 300 ticks are not preempted; the pending interrupt fires on its first tick after
 * atomic is cleared, and there is none: it ends without being interrupted. */
static void test_B116(void) {
    log_reset();
    PyChannelObject *ch = PyChannel_New(NULL);
    PyObject *args = PyTuple_New(1);
    PyTuple_SetItem(args, 0, Py_NewRef((PyObject *)ch));
    PyTaskletObject *a = spawn(&b116_atomic_def, Py_NewRef(args));
    PyTaskletObject *b = spawn(&b116_other_def, args);
    PyObject *r = run_ex(100, 0);
    CHECK(r == Py_None);
    Py_XDECREF(r);
    CHECK_LOG("A1 B1 A2 B2 A3:got 7 A4 B3");
    CHECK_EQ_INT(PyTasklet_Alive(a), 0);
    CHECK_EQ_INT(PyTasklet_Alive(b), 0);
    finish(a);
    finish(b);
    Py_XDECREF(a);
    Py_XDECREF(b);
    Py_XDECREF(ch);
    end_of_test();
}

/* ---- B117 ------------------------------------------------------------------------------ */

/* B117: `set_ignore_nesting(1)` returns False and `set_ignore_nesting(0)` returns True. */
static void test_B117(void) {
    worker_init(0, "t", 10, 0);
    PyTaskletObject *t = spawn_worker(0, PLAIN);
    CHECK_EQ_INT(PyTasklet_GetIgnoreNesting(t), 0);
    CHECK_EQ_INT(PyTasklet_SetIgnoreNesting(t, 1), 0);
    CHECK_EQ_INT(PyTasklet_GetIgnoreNesting(t), 1);
    CHECK_EQ_INT(PyTasklet_SetIgnoreNesting(t, 0), 1);
    CHECK_EQ_INT(PyTasklet_GetIgnoreNesting(t), 0);
    CHECK_EQ_INT(PyTasklet_SetIgnoreNesting(t, 5), 0); /* any non-zero value is "on" */
    CHECK_EQ_INT(PyTasklet_GetIgnoreNesting(t), 1);
    CHECK_EQ_INT(PyTasklet_GetPendingIrq(t), 0);
    run_all();
    CHECK_EQ_INT(W[0].done, 10);
    finish(t);
    Py_XDECREF(t);
    end_of_test();
}

/* ---- B118 ------------------------------------------------------------------------------ */

/* B118: a busy tasklet (100k ticks) under `run(100)`: run returns t (paused, not
 * scheduled), runcount 1. After `t.insert()`, `run(100, soft=True)` returns None once the
 * tasklet finishes. In between, re-inserted victims continue where they were and each run
 * gives them a fresh slice. */
static void test_B118(enum kind k) {
    worker_init(0, "busy", 100000, 0);
    PyTaskletObject *t = spawn_worker(0, k);
    PyObject *r = run_ex(100, 0);
    int ok = CHECK_VICTIM(r, t);
    Py_XDECREF(r);
    CHECK_EQ_INT(PyStackless_GetRunCount(), 1);
    /* SPEC §7: the body, and a soft-switchable function it calls in the protocol, run at
     * nesting level 0 in both switching modes */
    CHECK_EQ_INT(W[0].nesting, 0);
    CHECK_EQ_INT(W[0].done, 100);
    CHECK_EQ_INT(W[0].first_pending, -1);
    if (!ok) goto out1;
    /* re-insert and continue: fresh slices */
    long expect[3] = {201, 302, 403};
    for (int i = 0; i < 3; i++) {
        CHECK_EQ_INT(PyTasklet_Insert(t), 0);
        CHECK_EQ_INT(PyStackless_GetRunCount(), 2);
        r = run_ex(100, 0);
        EXPECT_VICTIM(r, t, out1);
        CHECK_EQ_INT(W[0].done, expect[i]);
    }
    /* a soft run: the slice runs out at the 505th tick, the irq only becomes pending, and
     * the run returns None when the tasklet has finished */
    CHECK_EQ_INT(PyTasklet_Insert(t), 0);
    r = run_ex(100, PY_WATCHDOG_SOFT);
    CHECK(r == Py_None);
    Py_XDECREF(r);
    CHECK_EQ_INT(W[0].done, 100000);
    CHECK_EQ_INT(W[0].finished, 1);
    CHECK_EQ_INT(W[0].first_pending, 505);
    CHECK_EQ_INT(PyTasklet_Alive(t), 0);
    CHECK_STR(W[0].exc, "");
out1:
    finish(t);
    Py_XDECREF(t);

    /* PyTasklet_Run on the victim (no timed run active): it runs to completion */
    worker_init(0, "busy", 5000, 0);
    t = spawn_worker(0, k);
    r = run_ex(100, 0);
    EXPECT_VICTIM(r, t, out2);
    CHECK_EQ_INT(PyTasklet_Run(t), 0);
    CHECK_EQ_INT(W[0].done, 5000);
    CHECK_EQ_INT(PyTasklet_Alive(t), 0);
out2:
    finish(t);
    Py_XDECREF(t);
    end_of_test();
}

/* ---- Tick(n) and bad input --------------------------------------------------------------- */

static long tickn_calls;
static PyObject *tickn_body(PyObject *self, PyObject *args) {
    (void)self;
    (void)args;
    long ns[] = {60, 40, 1, 250, 1};
    for (tickn_calls = 0; tickn_calls < 5; tickn_calls++)
        if (PyStackless_Tick(ns[tickn_calls]) < 0) return NULL;
    Py_RETURN_NONE;
}
static PyMethodDef tickn_def = {"tickn", tickn_body, METH_NOARGS, NULL};

/* PyStackless_Tick(n) charges n ticks at once; a negative n is a ValueError. */
static void test_tick_n(void) {
    tickn_calls = -1;
    PyTaskletObject *t = spawn(&tickn_def, NULL);
    PyObject *r = run_ex(100, 0);
    CHECK_VICTIM(r, t);
    Py_XDECREF(r);
    CHECK_EQ_INT(tickn_calls, 2); /* Tick(60), Tick(40) returned; Tick(1) was interrupted */
    CHECK_EQ_INT(PyTasklet_Insert(t), 0);
    r = run_ex(100, 0); /* Tick(1) returns; Tick(250) alone is over the slice */
    CHECK_VICTIM(r, t);
    Py_XDECREF(r);
    CHECK_EQ_INT(tickn_calls, 3);
    CHECK_EQ_INT(PyTasklet_Insert(t), 0);
    r = run_ex(100, 0);
    CHECK(r == Py_None);
    Py_XDECREF(r);
    CHECK_EQ_INT(tickn_calls, 5);
    CHECK_EQ_INT(PyTasklet_Alive(t), 0);
    finish(t);
    Py_XDECREF(t);

    CHECK_EQ_INT(PyStackless_Tick(0), 0);
    CHECK_EQ_INT(PyStackless_Tick(-1), -1);
    CHECK_EXC(PyExc_ValueError, NULL);
    CHECK_EQ_INT(PyStackless_Tick(LONG_MIN), -1);
    CHECK_EXC(PyExc_ValueError, NULL);
    CHECK_EQ_INT(PyStackless_Tick(LONG_MAX), 0);
    end_of_test();
}

/* ---- B119 ------------------------------------------------------------------------------ */

static long b119_pre, b119_post, b119_first_pending, b119_old_atomic, b119_pending_at_clear;
static PyObject *b119_body(PyObject *self, PyObject *args) {
    (void)self;
    (void)args;
    set_atomic_current(1);
    for (b119_pre = 0; b119_pre < 10000;) {
        if (PyStackless_Tick(1) < 0) return NULL;
        b119_pre++;
        if (b119_first_pending < 0 && pending_irq_of_current() == 1)
            b119_first_pending = b119_pre;
    }
    b119_pending_at_clear = pending_irq_of_current();
    b119_old_atomic = set_atomic_current(0);
    for (b119_post = 0; b119_post < 10000; b119_post++)
        if (PyStackless_Tick(1) < 0) return NULL;
    Py_RETURN_NONE;
}
static PyMethodDef b119_def = {"b119", b119_body, METH_NOARGS, NULL};

/* B119: a tasklet runs a 10k-tick loop with atomic set, then a busy loop. `run(100)` returns
 * t, and the interruption happens only after the atomic part: the deferred irq (pending
 * meanwhile) fires on the first tick after atomic is cleared. */
static void test_B119(void) {
    b119_pre = b119_post = b119_first_pending = b119_old_atomic = b119_pending_at_clear = -1;
    PyTaskletObject *t = spawn(&b119_def, NULL);
    PyObject *r = run_ex(100, 0);
    CHECK_VICTIM(r, t);
    Py_XDECREF(r);
    CHECK_EQ_INT(b119_pre, 10000);
    CHECK_EQ_INT(b119_first_pending, 101);
    CHECK_EQ_INT(b119_pending_at_clear, 1);
    CHECK_EQ_INT(b119_old_atomic, 1);
    CHECK_EQ_INT(b119_post, 0);
    CHECK_EQ_INT(PyTasklet_GetAtomic(t), 0);
    CHECK_EQ_INT(PyTasklet_Insert(t), 0);
    r = run_ex(100, 0); /* a fresh slice: 100 more */
    CHECK_VICTIM(r, t);
    Py_XDECREF(r);
    CHECK_EQ_INT(b119_post, 101);
    CHECK_EQ_INT(PyTasklet_Insert(t), 0);
    run_all();
    CHECK_EQ_INT(b119_post, 10000);
    CHECK_EQ_INT(PyTasklet_Alive(t), 0);
    finish(t);
    Py_XDECREF(t);

    /* the atomic flag set from outside before the run: never preempted */
    worker_init(0, "busy", 2000, 0);
    t = spawn_worker(0, PLAIN);
    CHECK_EQ_INT(PyTasklet_SetAtomic(t, 1), 0);
    r = run_ex(100, 0);
    CHECK(r == Py_None);
    Py_XDECREF(r);
    CHECK_EQ_INT(W[0].done, 2000);
    CHECK_EQ_INT(W[0].first_pending, 101);
    CHECK_EQ_INT(PyTasklet_GetPendingIrq(t), 1); /* it ended atomic with the irq pending */
    finish(t);
    Py_XDECREF(t);
    end_of_test();
}

/* ---- nesting: PyObject_Call from the body ------------------------------------------------ */

static long nest_inner_total, nest_inner_done, nest_inner_first_pending, nest_inner_level,
    nest_post, nest_set_ignore_at;
static int nest_inner_stackless;

/* inner(): runs nested inside the body (PyObject_Call): ticks nest_inner_total times; with
 * nest_set_ignore_at > 0 it calls set_ignore_nesting(1) on itself after that many ticks. */
static PyObject *nest_inner(PyObject *self, PyObject *args) {
    (void)self;
    (void)args;
    PyTaskletObject *c = get_current();
    nest_inner_level = PyTasklet_GetNestingLevel(c);
    Py_DECREF(c);
    for (nest_inner_done = 0; nest_inner_done < nest_inner_total;) {
        if (PyStackless_Tick(1) < 0) return NULL;
        nest_inner_done++;
        if (nest_inner_first_pending < 0 && pending_irq_of_current() == 1)
            nest_inner_first_pending = nest_inner_done;
        if (nest_inner_done == nest_set_ignore_at) set_ignore_nesting_current(1);
    }
    Py_RETURN_NONE;
}
static PyMethodDef nest_inner_def = {"nest_inner", nest_inner, METH_NOARGS, NULL};
static PyMethodDef nest_inner_stackless_def = {"nest_inner_stackless", nest_inner,
                                               METH_NOARGS | METH_STACKLESS, NULL};

/* body: 10 ticks, PyObject_Call(inner), then 1000 ticks (nest_post counts them). A
 * METH_STACKLESS body: with nest_inner_stackless it passes the stackless flag on to a
 * METH_STACKLESS inner, which then runs at the body's level (SPEC §7). */
static PyObject *nest_body(PyObject *self, PyObject *args) {
    STACKLESS_GETARG();
    (void)self;
    (void)args;
    for (int i = 0; i < 10; i++)
        if (PyStackless_Tick(1) < 0) return NULL;
    PyObject *f =
        PyCFunction_New(nest_inner_stackless ? &nest_inner_stackless_def : &nest_inner_def, NULL);
    PyObject *no_args = PyTuple_New(0);
    if (nest_inner_stackless) STACKLESS_PROMOTE_ALL();
    PyObject *r = PyObject_Call(f, no_args, NULL);
    STACKLESS_RETRACT();
    Py_DECREF(no_args);
    Py_DECREF(f);
    if (r == NULL) return NULL;
    Py_DECREF(r);
    for (nest_post = 0; nest_post < 1000; nest_post++)
        if (PyStackless_Tick(1) < 0) return NULL;
    Py_RETURN_NONE;
}
static PyMethodDef nest_body_def = {"nest_body", nest_body, METH_NOARGS | METH_STACKLESS, NULL};

static void nest_reset(long inner_total) {
    nest_inner_total = inner_total;
    nest_inner_done = nest_inner_first_pending = nest_inner_level = nest_post = -1;
    nest_set_ignore_at = 0;
    nest_inner_stackless = 0;
}

/* Finishes a nest_body victim and checks it completed. */
static void nest_complete(PyTaskletObject *t) {
    CHECK_EQ_INT(PyTasklet_Insert(t), 0);
    run_all();
    CHECK_EQ_INT(nest_inner_done, nest_inner_total);
    CHECK_EQ_INT(nest_post, 1000);
    CHECK_EQ_INT(PyTasklet_Alive(t), 0);
    finish(t);
}

/* SPEC §7/§8 and §4.10: a busy loop inside a PyObject_Call'ed function (nesting level 1) is
 * not preempted unless ignore_nesting (the tasklet's flag or PY_WATCHDOG_IGNORE_NESTING);
 * the pending irq fires on the first tick after the nested call returns. Setting
 * ignore_nesting while the irq is pending lets it fire on the next tick. */
static void test_nesting(void) {
    /* no ignore_nesting: deferred until the call returns */
    nest_reset(1000);
    PyTaskletObject *t = spawn(&nest_body_def, NULL);
    PyObject *r = run_ex(100, 0);
    CHECK_VICTIM(r, t);
    Py_XDECREF(r);
    CHECK_EQ_INT(nest_inner_level, 1);
    CHECK_EQ_INT(nest_inner_done, 1000);
    CHECK_EQ_INT(nest_inner_first_pending, 91); /* tick 101 of the slice: 10 + 91 */
    CHECK_EQ_INT(nest_post, 0);
    CHECK_EQ_INT(PyTasklet_GetNestingLevel(t), 0);
    nest_complete(t);
    Py_XDECREF(t);

    /* the tasklet's ignore_nesting flag: interrupted inside the nested call */
    nest_reset(1000);
    t = spawn(&nest_body_def, NULL);
    CHECK_EQ_INT(PyTasklet_SetIgnoreNesting(t, 1), 0);
    r = run_ex(100, 0);
    CHECK_VICTIM(r, t);
    Py_XDECREF(r);
    CHECK_EQ_INT(nest_inner_done, 90);
    CHECK_EQ_INT(nest_inner_first_pending, -1);
    CHECK_EQ_INT(nest_post, -1);
    CHECK_EQ_INT(PyTasklet_GetNestingLevel(t), 1); /* suspended inside the nested call */
    CHECK_EQ_INT(PyTasklet_Restorable(t), 0);
    nest_complete(t);
    Py_XDECREF(t);

    /* PY_WATCHDOG_IGNORE_NESTING: the same */
    nest_reset(1000);
    t = spawn(&nest_body_def, NULL);
    r = run_ex(100, PY_WATCHDOG_IGNORE_NESTING);
    CHECK_VICTIM(r, t);
    Py_XDECREF(r);
    CHECK_EQ_INT(nest_inner_done, 90);
    CHECK_EQ_INT(nest_post, -1);
    CHECK_EQ_INT(PyTasklet_GetIgnoreNesting(t), 0);
    /* the next run without the flag: the rest of the nested call is not preempted */
    CHECK_EQ_INT(PyTasklet_Insert(t), 0);
    r = run_ex(100, 0);
    CHECK_VICTIM(r, t);
    Py_XDECREF(r);
    CHECK_EQ_INT(nest_inner_done, 1000);
    CHECK_EQ_INT(nest_post, 0);
    nest_complete(t);
    Py_XDECREF(t);

    /* set_ignore_nesting(1) while the irq is pending: the next tick interrupts */
    nest_reset(1000);
    nest_set_ignore_at = 500;
    t = spawn(&nest_body_def, NULL);
    r = run_ex(100, 0);
    CHECK_VICTIM(r, t);
    Py_XDECREF(r);
    CHECK_EQ_INT(nest_inner_first_pending, 91);
    CHECK_EQ_INT(nest_inner_done, 500);
    CHECK_EQ_INT(PyTasklet_GetIgnoreNesting(t), 1);
    nest_complete(t);
    Py_XDECREF(t);

    /* a METH_STACKLESS callee reached with the stackless flag runs at the caller's level 0:
     * preempted inside it without ignore_nesting */
    nest_reset(1000);
    nest_inner_stackless = 1;
    t = spawn(&nest_body_def, NULL);
    r = run_ex(100, 0);
    CHECK_VICTIM(r, t);
    Py_XDECREF(r);
    CHECK_EQ_INT(nest_inner_level, 0);
    CHECK_EQ_INT(nest_inner_done, 90);
    nest_complete(t);
    Py_XDECREF(t);
    end_of_test();
}

/* ---- B120 ------------------------------------------------------------------------------ */

/* B120: two cooperative tasklets (each yields every 10 ticks) under `run(1000,
 * totaltimeout=True)`: one of them is returned (removed) and runcount is 2. With
 * `soft=True` it returns None, nobody is removed. Without totaltimeout the run never times
 * out, because every switch resets the slice. */
static void test_B120(enum kind k) {
    /* per-slice budget: the cooperative pair runs to completion */
    worker_init(0, "A", 2000, 10);
    worker_init(1, "B", 2000, 10);
    PyTaskletObject *a = spawn_worker(0, k), *b = spawn_worker(1, k);
    PyObject *r = run_ex(1000, 0);
    CHECK(r == Py_None);
    Py_XDECREF(r);
    CHECK(W[0].finished && W[1].finished);
    CHECK_EQ_INT(W[0].done + W[1].done, 4000);
    check_soft_switches(&W[0], k);
    finish(a);
    finish(b);
    Py_XDECREF(a);
    Py_XDECREF(b);

    /* the same with SOFT: no irq ever becomes pending */
    worker_init(0, "A", 2000, 10);
    worker_init(1, "B", 2000, 10);
    a = spawn_worker(0, k), b = spawn_worker(1, k);
    r = run_ex(1000, PY_WATCHDOG_SOFT);
    CHECK(r == Py_None);
    Py_XDECREF(r);
    CHECK(W[0].finished && W[1].finished);
    CHECK_EQ_INT(W[0].first_pending, -1);
    CHECK_EQ_INT(W[1].first_pending, -1);
    finish(a);
    finish(b);
    Py_XDECREF(a);
    Py_XDECREF(b);

    /* TOTALTIMEOUT: one budget of 1000 ticks for the run. A and B alternate 10 ticks each:
     * the 1001st tick is A's 501st. */
    worker_init(0, "A", 2000, 10);
    worker_init(1, "B", 2000, 10);
    a = spawn_worker(0, k), b = spawn_worker(1, k);
    r = run_ex(1000, PY_WATCHDOG_TOTALTIMEOUT);
    EXPECT_VICTIM(r, a, out);
    CHECK_EQ_INT(PyStackless_GetRunCount(), 2);
    CHECK_EQ_INT(PyTasklet_Scheduled(b), 1);
    CHECK_EQ_INT(W[0].done, 500);
    CHECK_EQ_INT(W[1].done, 500);
    CHECK_EQ_INT(PyTasklet_Insert(a), 0);
    run_all();
    CHECK(W[0].finished && W[1].finished);
    check_soft_switches(&W[0], k);
out:
    finish(a);
    finish(b);
    Py_XDECREF(a);
    Py_XDECREF(b);

    /* TOTALTIMEOUT | SOFT: A's irq becomes pending at its 501st tick; at its next yield
     * (510) the run returns None; nobody is removed */
    worker_init(0, "A", 2000, 10);
    worker_init(1, "B", 2000, 10);
    a = spawn_worker(0, k), b = spawn_worker(1, k);
    r = run_ex(1000, PY_WATCHDOG_TOTALTIMEOUT | PY_WATCHDOG_SOFT);
    CHECK(r == Py_None);
    Py_XDECREF(r);
    CHECK_EQ_INT(W[0].first_pending, 501);
    CHECK_EQ_INT(W[0].done, 510);
    CHECK_EQ_INT(W[1].done, 500);
    CHECK_EQ_INT(PyTasklet_Scheduled(a), 1);
    CHECK_EQ_INT(PyTasklet_Scheduled(b), 1);
    CHECK_EQ_INT(PyTasklet_Paused(a), 0);
    CHECK_EQ_INT(PyTasklet_GetPendingIrq(a), 0);
    /* main, A, B (the catalogue's probe notes runcount 2 here; nobody is removed, and
     * libstackless counts main, SPEC §6) */
    CHECK_EQ_INT(PyStackless_GetRunCount(), 3);
    /* B is next: the would-be-next tasklet stays queued in its place */
    PyObject *cur = PyStackless_GetCurrent();
    PyObject *next = PyObject_GetAttrString(cur, "next");
    CHECK(next == (PyObject *)b);
    Py_XDECREF(next);
    Py_XDECREF(cur);
    run_all();
    CHECK(W[0].finished && W[1].finished);
    finish(a);
    finish(b);
    Py_XDECREF(a);
    Py_XDECREF(b);
    end_of_test();
}

/* ---- SOFT -------------------------------------------------------------------------------- */

static PyObject *soft_recv_body(PyObject *self, PyObject *ch) {
    (void)self;
    PyObject *v = PyChannel_Receive(CH(ch));
    if (v == NULL) return NULL;
    log_eventf("R:got %ld", PyLong_AsLong(v));
    Py_DECREF(v);
    for (int i = 0; i < 5; i++)
        if (PyStackless_Tick(1) < 0) return NULL;
    log_event("R:schedule");
    v = PyStackless_Schedule(Py_None, 0);
    if (v == NULL) return NULL;
    Py_DECREF(v);
    log_event("R:end");
    Py_RETURN_NONE;
}
static PyMethodDef soft_recv_def = {"soft_recv", soft_recv_body, METH_O, NULL};

static PyObject *soft_send_body(PyObject *self, PyObject *ch) {
    (void)self;
    for (int i = 0; i < 150; i++)
        if (PyStackless_Tick(1) < 0) return NULL;
    log_eventf("S:pending %ld", pending_irq_of_current());
    PyObject *x = PyLong_FromLong(1);
    int rc = PyChannel_Send(CH(ch), x);
    Py_DECREF(x);
    if (rc < 0) return NULL;
    log_event("S:sent");
    Py_RETURN_NONE;
}
static PyMethodDef soft_send_def = {"soft_send", soft_send_body, METH_O, NULL};

/* PY_WATCHDOG_SOFT (§4.5): a busy tasklet is never interrupted (its irq only becomes
 * pending) and the run returns None at its next scheduling moment, nobody removed; the
 * switch made by a channel's preference rule is exempt once and passes the irq on to the
 * tasklet it switches to; with schedule_all the switch goes to the watchdog at once. */
static void test_soft(enum kind k) {
    /* busy to the end: None, finished */
    worker_init(0, "busy", 20000, 0);
    PyTaskletObject *a = spawn_worker(0, k);
    PyObject *r = run_ex(100, PY_WATCHDOG_SOFT);
    CHECK(r == Py_None);
    Py_XDECREF(r);
    CHECK_EQ_INT(W[0].done, 20000);
    CHECK_EQ_INT(W[0].first_pending, 101);
    CHECK_EQ_INT(PyTasklet_Alive(a), 0);
    finish(a);
    Py_XDECREF(a);

    /* A yields after 300 ticks: the run returns None there; B has not run */
    worker_init(0, "A", 600, 300);
    worker_init(1, "B", 50, 0);
    a = spawn_worker(0, k);
    PyTaskletObject *b = spawn_worker(1, k);
    r = run_ex(100, PY_WATCHDOG_SOFT);
    CHECK(r == Py_None);
    Py_XDECREF(r);
    CHECK_EQ_INT(W[0].done, 300);
    CHECK_EQ_INT(W[1].started, 0);
    CHECK_EQ_INT(PyTasklet_Scheduled(a), 1);
    CHECK_EQ_INT(PyTasklet_Scheduled(b), 1);
    CHECK_EQ_INT(PyStackless_GetRunCount(), 3);
    check_soft_switches(&W[0], k);
    run_all();
    CHECK(W[0].finished && W[1].finished);
    finish(a);
    finish(b);
    Py_XDECREF(a);
    Py_XDECREF(b);
    end_of_test();
}

/* tail(n): n ticks, then `return PyStackless_Schedule_nr(None, 0)` in tail position (a soft
 * switch while soft switching is enabled; SPEC §7): when resumed it simply ends. */
static long tail_done, tail_unwound;
static PyObject *tail_body(PyObject *self, PyObject *n_obj) {
    (void)self;
    long n = PyLong_AsLong(n_obj);
    for (tail_done = 0; tail_done < n;) {
        if (PyStackless_Tick(1) < 0) return NULL;
        tail_done++;
    }
    log_event("tail:yield");
    PyObject *r = PyStackless_Schedule_nr(Py_None, 0);
    if (STACKLESS_UNWINDING(r)) tail_unwound++;
    return r;
}
static PyMethodDef tail_def = {"tail", tail_body, METH_O, NULL};

static PyObject *other_body(PyObject *self, PyObject *args) {
    (void)self;
    (void)args;
    log_event("other:ran");
    Py_RETURN_NONE;
}
static PyMethodDef other_def = {"other", other_body, METH_NOARGS, NULL};

/* A body whose last act is a soft switch (a `_nr` call in tail position): a soft interrupt
 * ends the run at that switch; a hard one stops the busy part before it; either way the
 * tasklet completes afterwards. */
static void test_tail_soft(void) {
    /* soft watchdog: the tail switch is the scheduling moment */
    log_reset();
    tail_unwound = 0;
    PyObject *n = PyLong_FromLong(300);
    PyObject *args = PyTuple_New(1);
    PyTuple_SetItem(args, 0, Py_NewRef(n));
    PyTaskletObject *t = spawn(&tail_def, args);
    PyTaskletObject *o = spawn(&other_def, NULL);
    PyObject *r = run_ex(100, PY_WATCHDOG_SOFT);
    CHECK(r == Py_None);
    Py_XDECREF(r);
    log_event("main:returned");
    CHECK_LOG("tail:yield main:returned");
    CHECK_EQ_INT(PyTasklet_Scheduled(t), 1);
    CHECK_EQ_INT(PyTasklet_Scheduled(o), 1);
    CHECK_EQ_INT(tail_unwound, soft_mode ? 1 : 0);
    run_all();
    CHECK_LOG("tail:yield main:returned other:ran");
    CHECK_EQ_INT(PyTasklet_Alive(t), 0);
    finish(t);
    finish(o);
    Py_XDECREF(t);
    Py_XDECREF(o);

    /* hard watchdog: interrupted at 100 ticks (before `other` has run), and at 201, before
     * the tail switch */
    log_reset();
    tail_unwound = 0;
    args = PyTuple_New(1);
    PyTuple_SetItem(args, 0, Py_NewRef(n));
    t = spawn(&tail_def, args);
    o = spawn(&other_def, NULL);
    r = run_ex(100, 0);
    log_event("main:returned");
    EXPECT_VICTIM(r, t, out);
    CHECK_EQ_INT(tail_done, 100);
    CHECK_LOG("main:returned");
    CHECK_EQ_INT(PyTasklet_Insert(t), 0);
    r = run_ex(100, 0);
    EXPECT_VICTIM(r, t, out);
    CHECK_EQ_INT(tail_done, 201);
    CHECK_LOG("main:returned other:ran");
    CHECK_EQ_INT(PyTasklet_Insert(t), 0);
    run_all();
    CHECK_EQ_INT(tail_done, 300);
    CHECK_LOG("main:returned other:ran tail:yield");
    /* (it has C state now, stopped inside a Tick: whether its tail switch is soft is the
     * library's choice, SPEC §7) */
    CHECK_EQ_INT(PyTasklet_Alive(t), 0);
out:
    finish(t);
    finish(o);
    Py_XDECREF(t);
    Py_XDECREF(o);
    Py_DECREF(n);
    end_of_test();
}

/* The channel exemption (PY_WATCHDOG_NO_SOFT_IRQ in Stackless). */
static void test_soft_channel(void) {
    for (int schedule_all = 0; schedule_all < 2; schedule_all++) {
        log_reset();
        PyChannelObject *ch = PyChannel_New(NULL);
        PyChannel_SetScheduleAll(ch, schedule_all);
        PyObject *args = PyTuple_New(1);
        PyTuple_SetItem(args, 0, Py_NewRef((PyObject *)ch));
        PyTaskletObject *rt = spawn(&soft_recv_def, Py_NewRef(args));
        PyTaskletObject *st = spawn(&soft_send_def, args);
        PyObject *r = run_ex(100, PY_WATCHDOG_SOFT);
        CHECK(r == Py_None);
        Py_XDECREF(r);
        log_event("main:returned");
        if (!schedule_all) {
            /* S's send switches to the waiting receiver R (preference -1): exempt; R gets
             * the irq and its schedule() goes to the watchdog */
            CHECK_LOG("S:pending 1 R:got 1 R:schedule main:returned");
        } else {
            /* schedule_all: the send switches to S's successor, which is the watchdog */
            CHECK_LOG("S:pending 1 main:returned");
        }
        run_all();
        log_event("main:end");
        if (!schedule_all)
            CHECK_LOG("S:pending 1 R:got 1 R:schedule main:returned S:sent R:end main:end");
        else
            CHECK_LOG("S:pending 1 main:returned R:got 1 R:schedule S:sent R:end main:end");
        CHECK_EQ_INT(PyTasklet_Alive(rt), 0);
        CHECK_EQ_INT(PyTasklet_Alive(st), 0);
        finish(rt);
        finish(st);
        Py_XDECREF(rt);
        Py_XDECREF(st);
        Py_XDECREF(ch);
        end_of_test();
    }
}

/* ---- flags ------------------------------------------------------------------------------- */

/* Every combination of the five flags is accepted; any other bit is a ValueError that
 * changes nothing (SPEC §6). THREADBLOCK with one thread behaves like a plain run. */
static void test_flags(void) {
    for (int f = 0; f < 32; f++) {
        PyObject *r = run_ex(100, f); /* nothing else runnable: returns at once */
        CHECK(r == Py_None);
        Py_XDECREF(r);
        CHECK_NO_EXC();
    }
    int bad[] = {32, 64, 128, 255, 256, 1 << 20, -1, INT_MIN, 2 | 64};
    worker_init(0, "t", 500, 0);
    PyTaskletObject *t = spawn_worker(0, PLAIN);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CHECK(fails(run_ex(100, bad[i])));
        CHECK_EXC(PyExc_ValueError, NULL);
        CHECK_EQ_INT(PyStackless_GetRunCount(), 2);
        CHECK_EQ_INT(W[0].started, 0);
    }
    /* no interrupt state was left by the failed calls */
    run_all();
    CHECK_EQ_INT(W[0].done, 500);
    finish(t);
    Py_XDECREF(t);

    /* THREADBLOCK: accepted; cooperative tasklets finish; a busy one is preempted */
    worker_init(0, "A", 300, 10);
    worker_init(1, "B", 300, 10);
    PyTaskletObject *a = spawn_worker(0, PLAIN), *b = spawn_worker(1, PLAIN);
    PyObject *r = run_ex(0, Py_WATCHDOG_THREADBLOCK);
    CHECK(r == Py_None);
    Py_XDECREF(r);
    CHECK(W[0].finished && W[1].finished);
    finish(a);
    finish(b);
    Py_XDECREF(a);
    Py_XDECREF(b);
    worker_init(0, "busy", 1000, 0);
    a = spawn_worker(0, PLAIN);
    r = run_ex(100, Py_WATCHDOG_THREADBLOCK);
    CHECK_VICTIM(r, a);
    Py_XDECREF(r);
    CHECK_EQ_INT(W[0].done, 100);
    CHECK_EQ_INT(PyTasklet_Insert(a), 0);
    r = run_ex(100, Py_WATCHDOG_THREADBLOCK | PY_WATCHDOG_TOTALTIMEOUT |
                        PY_WATCHDOG_IGNORE_NESTING);
    CHECK_VICTIM(r, a);
    Py_XDECREF(r);
    CHECK_EQ_INT(W[0].done, 201);
    CHECK_EQ_INT(PyTasklet_Insert(a), 0);
    run_all();
    CHECK_EQ_INT(W[0].done, 1000);
    finish(a);
    Py_XDECREF(a);
    /* both spellings */
    CHECK_EQ_INT(Py_WATCHDOG_SOFT, PY_WATCHDOG_SOFT);
    CHECK_EQ_INT(Py_WATCHDOG_IGNORE_NESTING, PY_WATCHDOG_IGNORE_NESTING);
    CHECK_EQ_INT(Py_WATCHDOG_TIMEOUT, PY_WATCHDOG_TOTALTIMEOUT);
    CHECK_EQ_INT(Py_WATCHDOG_THREADBLOCK | PY_WATCHDOG_SOFT | PY_WATCHDOG_IGNORE_NESTING |
                     PY_WATCHDOG_TOTALTIMEOUT | PY_WATCHDOG_TIME,
                 31);
    /* timeout <= 0: no preemption, whatever the flags */
    worker_init(0, "busy", 3000, 0);
    a = spawn_worker(0, PLAIN);
    r = run_ex(-5, PY_WATCHDOG_TOTALTIMEOUT | PY_WATCHDOG_IGNORE_NESTING);
    CHECK(r == Py_None);
    Py_XDECREF(r);
    CHECK_EQ_INT(W[0].done, 3000);
    finish(a);
    Py_XDECREF(a);
    end_of_test();
}

/* ---- B121 ------------------------------------------------------------------------------ */

/* runtask5 / runtask_atomic analogues: the work in nested calls or in atomic sections. */
static PyObject *b121_nested(PyObject *self, PyObject *arg) {
    (void)self;
    struct worker *w = worker_of(arg);
    if (w == NULL) return NULL;
    PyObject *f = PyCFunction_New(&plain_worker_def, NULL);
    long parts[] = {1, 10, 100, 500};
    for (int i = 0; i < 4; i++) {
        w->total = w->done + parts[i]; /* the nested call does the next part */
        PyObject *r = PyObject_CallOneArg(f, arg);
        if (r == NULL) {
            Py_DECREF(f);
            return NULL;
        }
        Py_DECREF(r);
        if (PyStackless_Tick(1) < 0) { /* the body's own tick between the calls */
            Py_DECREF(f);
            return NULL;
        }
        w->done++;
    }
    Py_DECREF(f);
    Py_RETURN_NONE;
}
static PyMethodDef b121_nested_def = {"b121_nested", b121_nested, METH_O, NULL};

/* B121: the SimpleScheduler loop `while runcount > 1: t = run(N); if t: t.insert()` with 3
 * CPU-bound tasklets (ignore_nesting set): all of them finish. 1000 ticks each under
 * run(100): each is interrupted at 100, 201, ..., 908 ticks: 27 interrupts. */
static void test_B121(enum kind k) {
    const char *names[] = {"t1", "t2", "t3"};
    PyTaskletObject *ts[3];
    for (int i = 0; i < 3; i++) {
        worker_init(i, names[i], 1000, 0);
        ts[i] = spawn_worker(i, k);
        PyTasklet_SetIgnoreNesting(ts[i], 1);
    }
    long interrupts = 0;
    long runs = autoschedule(100, 0, &interrupts);
    CHECK_EQ_INT(interrupts, 27);
    CHECK_EQ_INT(runs, 28);
    for (int i = 0; i < 3; i++) {
        CHECK_EQ_INT(PyTasklet_Alive(ts[i]), 0);
        CHECK_EQ_INT(W[i].done, 1000);
        finish(ts[i]);
        Py_XDECREF(ts[i]);
    }

    /* without ignore_nesting: libstackless bodies run at nesting level 0, the same */
    for (int i = 0; i < 3; i++) {
        worker_init(i, names[i], 1000, 0);
        ts[i] = spawn_worker(i, k);
    }
    runs = autoschedule(100, 0, &interrupts);
    CHECK_EQ_INT(interrupts, 27);
    for (int i = 0; i < 3; i++) {
        CHECK_EQ_INT(PyTasklet_Alive(ts[i]), 0);
        finish(ts[i]);
        Py_XDECREF(ts[i]);
    }

    end_of_test();
}

/* runtask_atomic: 10 x atomic sections of 1, 10, 100 and 500 ticks (`hold =
 * set_atomic(1) ... set_atomic(hold)`), one plain tick after each. */
static PyObject *b121_atomic(PyObject *self, PyObject *arg) {
    (void)self;
    struct worker *w = worker_of(arg);
    if (w == NULL) return NULL;
    long parts[] = {1, 10, 100, 500};
    w->started = 1;
    for (int rep = 0; rep < 10; rep++) {
        for (int i = 0; i < 4; i++) {
            int hold = set_atomic_current(1);
            for (long j = 0; j < parts[i]; j++) {
                if (PyStackless_Tick(1) < 0) return NULL;
                w->done++;
            }
            set_atomic_current(hold);
            if (PyStackless_Tick(1) < 0) return NULL;
            w->done++;
        }
    }
    w->finished = 1;
    Py_RETURN_NONE;
}
static PyMethodDef b121_atomic_def = {"b121_atomic", b121_atomic, METH_O, NULL};

/* B121 test_atomic: with atomic sections all tasklets finish, and no victim is ever
 * interrupted inside one (it is not atomic when returned). Each section that outlasts the
 * slice ends with an interrupt at the tick after it. */
static void test_B121_atomic(void) {
    PyTaskletObject *ts[3];
    for (int i = 0; i < 3; i++) {
        worker_init(i, "t", 0, 0);
        PyObject *args = PyTuple_New(1);
        PyTuple_SetItem(args, 0, PyLong_FromLong(i));
        ts[i] = spawn(&b121_atomic_def, args);
        PyTasklet_SetIgnoreNesting(ts[i], 1);
    }
    long runs = 0, interrupts = 0, atomic_victims = 0;
    while (PyStackless_GetRunCount() > 1 && runs < 100000) {
        PyObject *r = run_ex(100, 0);
        runs++;
        if (r == NULL) break;
        if (r != Py_None) {
            interrupts++;
            if (PyTasklet_GetAtomic(T(r)) != 0) atomic_victims++;
            PyTasklet_Insert(T(r));
        }
        Py_DECREF(r);
    }
    CHECK_NO_EXC();
    CHECK(interrupts >= 30); /* at least every 500-tick section */
    CHECK_EQ_INT(atomic_victims, 0);
    for (int i = 0; i < 3; i++) {
        CHECK_EQ_INT(PyTasklet_Alive(ts[i]), 0);
        CHECK_EQ_INT(W[i].done, 6150);
        CHECK_EQ_INT(W[i].finished, 1);
        finish(ts[i]);
        Py_XDECREF(ts[i]);
    }
    end_of_test();
}

/* B121 test_nested: the work is done in nested calls (1, 10, 100, 500 ticks, each followed
 * by a tick of the body: 615 ticks); with ignore_nesting set they are preempted inside
 * (at 100, 201, ..., 605: 6 interrupts each), without it only at the body's tick after a
 * call that outlasted the slice (after the 100- and the 500-tick call: 2 each); all
 * finish. */
static void test_B121_nested(void) {
    const char *names[] = {"t1", "t2", "t3"};
    PyTaskletObject *ts[3];
    for (int ignore = 1; ignore >= 0; ignore--) {
        for (int i = 0; i < 3; i++) {
            worker_init(i, names[i], 0, 0);
            PyObject *args = PyTuple_New(1);
            PyTuple_SetItem(args, 0, PyLong_FromLong(i));
            ts[i] = spawn(&b121_nested_def, args);
            PyTasklet_SetIgnoreNesting(ts[i], ignore);
        }
        long interrupts = 0;
        long runs = autoschedule(100, 0, &interrupts);
        CHECK(runs >= 1);
        CHECK_EQ_INT(interrupts, ignore ? 18 : 6);
        for (int i = 0; i < 3; i++) {
            CHECK_EQ_INT(PyTasklet_Alive(ts[i]), 0);
            CHECK_EQ_INT(W[i].done, 615);
            finish(ts[i]);
            Py_XDECREF(ts[i]);
        }
    }
    end_of_test();
}

/* ---- B122 ------------------------------------------------------------------------------ */

static PyObject *user_warning;

static PyObject *b122_bad(PyObject *self, PyObject *args) {
    (void)self;
    (void)args;
    for (int i = 0; i < 250; i++)
        if (PyStackless_Tick(1) < 0) return NULL;
    PyErr_SetString(user_warning, "bad");
    return NULL;
}
static PyMethodDef b122_bad_def = {"b122_bad", b122_bad, METH_NOARGS, NULL};

/* B122: in that loop, a tasklet raising UserWarning makes `run(100)` raise UserWarning; the
 * others stay queued (SimpleScheduler then kills them). */
static void test_B122(enum kind k) {
    worker_init(0, "t1", 1000, 0);
    worker_init(2, "t3", 1000, 0);
    PyTaskletObject *t1 = spawn_worker(0, k);
    PyTaskletObject *bad = spawn(&b122_bad_def, NULL);
    PyTaskletObject *t3 = spawn_worker(2, k);
    /* first by hand: t1 interrupted, bad interrupted, t3 interrupted, t1 again... */
    long runs = 0, interrupts = 0;
    PyObject *r;
    while ((r = run_ex(100, 0)) != NULL && r != Py_None && runs < 100) {
        runs++;
        interrupts++;
        PyTasklet_Insert(T(r));
        Py_DECREF(r);
    }
    if (!CHECK(r == NULL)) { /* nobody was preempted and bad's error never came */
        Py_XDECREF(r);
        goto out;
    }
    CHECK_EXC(user_warning, "bad");
    /* t1 100, bad 100, t3 100, t1 201, bad 201, t3 201, t1 302, then bad raised */
    CHECK_EQ_INT(interrupts, 7);
    CHECK_EQ_INT(PyTasklet_Alive(bad), 0);
    CHECK_EQ_INT(PyTasklet_Scheduled(t1), 1);
    CHECK_EQ_INT(PyTasklet_Scheduled(t3), 1);
    CHECK_EQ_INT(W[0].done, 302);
    CHECK_EQ_INT(W[2].done, 201);
    CHECK_EQ_INT(PyStackless_GetRunCount(), 3);
    /* the loop goes on and finishes the others */
    CHECK(autoschedule(100, 0, NULL) >= 0);
    CHECK(W[0].finished && W[2].finished);
out:
    finish(t1);
    finish(bad);
    finish(t3);
    Py_XDECREF(t1);
    Py_XDECREF(bad);
    Py_XDECREF(t3);

    /* SimpleScheduler itself: the exception propagates out of autoschedule, which kills the
     * rest */
    worker_init(0, "t1", 1000, 0);
    worker_init(2, "t3", 1000, 0);
    t1 = spawn_worker(0, k);
    bad = spawn(&b122_bad_def, NULL);
    t3 = spawn_worker(2, k);
    CHECK_EQ_INT(autoschedule(100, 0, NULL), -1);
    CHECK_EXC(user_warning, "bad");
    CHECK_EQ_INT(PyTasklet_Alive(t1), 0);
    CHECK_EQ_INT(PyTasklet_Alive(t3), 0);
    CHECK_EQ_INT(PyStackless_GetRunCount(), 1);
    /* (killing a queued tasklet lets its successor run, without a timed run: one of them
     * may have finished instead of being killed) */
    CHECK(W[0].finished || strcmp(W[0].exc, "TaskletExit") == 0);
    CHECK(W[2].finished || strcmp(W[2].exc, "TaskletExit") == 0);
    finish(t1);
    finish(bad);
    finish(t3);
    Py_XDECREF(t1);
    Py_XDECREF(bad);
    Py_XDECREF(t3);
    end_of_test();
}

/* ---- B123 ------------------------------------------------------------------------------ */

static long server_count;
static PyObject *b123_server(PyObject *self, PyObject *ch) {
    (void)self;
    for (;;) {
        PyObject *v = PyChannel_Receive(CH(ch));
        if (v == NULL) return NULL;
        Py_DECREF(v);
        server_count++;
    }
}
static PyMethodDef b123_server_def = {"server", b123_server, METH_O, NULL};

static PyObject *b123_client(PyObject *self, PyObject *args) {
    (void)self;
    PyObject *name = PyTuple_GetItem(args, 0);
    PyObject *ch = PyTuple_GetItem(args, 1);
    for (int ii = 0; ii < 1000; ii++) {
        if (ii % 50 == 0 && PyChannel_Send(CH(ch), name) < 0) return NULL;
        if (PyStackless_Tick(3) < 0) return NULL; /* an iteration: 3 ticks */
    }
    Py_RETURN_NONE;
}
static PyMethodDef b123_client_def = {"client", b123_client, METH_VARARGS, NULL};

/* B123: a server tasklet loops `chan.receive()` and 3 clients each send 20 times (every 50
 * of 1000 iterations of 3 ticks: the clients are interrupted between their sends), under
 * the SimpleScheduler with `run(100)`: server.count == 60. The server is then killed with
 * `chan.send_exception(StopIteration)`, which raises in main. */
static void test_B123(void) {
    server_count = 0;
    PyChannelObject *ch = PyChannel_New(NULL);
    PyObject *sargs = PyTuple_New(1);
    PyTuple_SetItem(sargs, 0, Py_NewRef((PyObject *)ch));
    PyTaskletObject *server = spawn(&b123_server_def, sargs);
    PyTaskletObject *clients[3];
    const char *names[] = {"client1", "client2", "client3"};
    for (int i = 0; i < 3; i++) {
        PyObject *args = PyTuple_New(2);
        PyTuple_SetItem(args, 0, PyUnicode_FromString(names[i]));
        PyTuple_SetItem(args, 1, Py_NewRef((PyObject *)ch));
        clients[i] = spawn(&b123_client_def, args);
    }
    long interrupts = 0;
    long runs = autoschedule(100, 0, &interrupts);
    CHECK(runs >= 1);
    CHECK(interrupts > 0);
    CHECK_EQ_INT(server_count, 60);
    for (int i = 0; i < 3; i++) CHECK_EQ_INT(PyTasklet_Alive(clients[i]), 0);
    CHECK_EQ_INT(PyChannel_GetBalance(ch), -1); /* the server waits */
    CHECK_EQ_INT(PyChannel_SendException(ch, PyExc_StopIteration, NULL), -1);
    CHECK_EXC(PyExc_StopIteration, NULL);
    CHECK_EQ_INT(PyTasklet_Alive(server), 0);
    CHECK_EQ_INT(PyChannel_GetBalance(ch), 0);
    finish(server);
    Py_XDECREF(server);
    for (int i = 0; i < 3; i++) {
        finish(clients[i]);
        Py_XDECREF(clients[i]);
    }
    Py_XDECREF(ch);
    end_of_test();
}

/* ---- B124 ------------------------------------------------------------------------------ */

/* Three workers of 1000 ticks, yielding every `chunk` ticks (0: never), under the
 * SimpleScheduler with run(40[, soft]). Returns the number of run() calls. */
static long b124_count(enum kind k, long chunk, int flags) {
    PyTaskletObject *ts[3];
    for (int i = 0; i < 3; i++) {
        worker_init(i, "t", 1000, chunk);
        ts[i] = spawn_worker(i, k);
        PyTasklet_SetIgnoreNesting(ts[i], 1);
    }
    long runs = autoschedule(40, flags, NULL);
    for (int i = 0; i < 3; i++) {
        CHECK_EQ_INT(PyTasklet_Alive(ts[i]), 0);
        CHECK_EQ_INT(W[i].done, 1000);
        finish(ts[i]);
        Py_XDECREF(ts[i]);
    }
    return runs;
}

/* B124: counting run() calls of the SimpleScheduler: hard interrupts give #(no schedule
 * calls) > #(with schedule calls), because each schedule() starts a fresh slice; soft
 * interrupts give the reverse, because a soft interrupt only ends the run at a schedule. */
static void test_B124(enum kind k) {
    long n1 = b124_count(k, 0, 0);
    long n2 = b124_count(k, 50, 0);
    CHECK(n1 > n2);
    long s1 = b124_count(k, 0, PY_WATCHDOG_SOFT);
    long s2 = b124_count(k, 50, PY_WATCHDOG_SOFT);
    CHECK(s1 < s2);
    /* exact counts. hard: 3 x 24 interrupts (at 40, 81, ..., 983) + the last run; 3 x 20
     * (one per 50-tick chunk) + 1. soft: the busy ones never reach a scheduling moment
     * (tasklet ends may count as one); 3 x 19 schedule() calls after a used-up slice + 1 */
    CHECK_EQ_INT(n1, 73);
    CHECK_EQ_INT(n2, 61);
    CHECK(s1 >= 1 && s1 <= 4);
    CHECK_EQ_INT(s2, 58);
    end_of_test();
}

/* ---- B125 ------------------------------------------------------------------------------ */

static PyChannelObject *ring[3];
static unsigned long ring_rand = 12345;
static long ring_rand_int(long lo, long hi) {
    ring_rand = ring_rand * 1103515245UL + 12345UL;
    return lo + (long)((ring_rand >> 16) % (unsigned long)(hi - lo + 1));
}

static PyObject *ring_body(PyObject *self, PyObject *arg) {
    (void)self;
    long i = PyLong_AsLong(arg);
    long a = i, b = (i + 1) % 3;
    int recv = 0;
    for (;;) {
        if (i != 0 || recv) {
            PyObject *d = PyChannel_Receive(ring[a]);
            if (d == NULL) return NULL;
            Py_DECREF(d);
        }
        recv = 1;
        long n = ring_rand_int(100, 1000);
        for (long j = 0; j < n; j++)
            if (PyStackless_Tick(1) < 0) return NULL;
        PyObject *x = PyLong_FromLong(n);
        int rc = PyChannel_Send(ring[b], x);
        Py_DECREF(x);
        if (rc < 0) return NULL;
    }
}
static PyMethodDef ring_def = {"ring", ring_body, METH_O, NULL};

/* B125: 3 tasklets in a channel ring under `run(50000, soft=True, totaltimeout=True,
 * ignore_nesting=True)` x 10: after each return runcount is 3 or 4. */
static void test_B125(void) {
    PyTaskletObject *c[3];
    for (int i = 0; i < 3; i++) ring[i] = PyChannel_New(NULL);
    for (int i = 0; i < 3; i++) {
        PyObject *f = make_func(&ring_def);
        c[i] = PyTasklet_New(NULL, f);
        Py_DECREF(f);
    }
    for (int i = 0; i < 3; i++) {
        PyObject *args = PyTuple_New(1);
        PyTuple_SetItem(args, 0, PyLong_FromLong(i));
        CHECK_EQ_INT(PyTasklet_Setup(c[2 - i], args, NULL), 0);
        Py_DECREF(args);
    }
    for (int i = 0; i < 10; i++) {
        PyObject *r = run_ex(50000, PY_WATCHDOG_SOFT | PY_WATCHDOG_TOTALTIMEOUT |
                                        PY_WATCHDOG_IGNORE_NESTING);
        CHECK(r == Py_None);
        Py_XDECREF(r);
        int rc = PyStackless_GetRunCount();
        CHECK(rc == 3 || rc == 4);
    }
    for (int i = 0; i < 3; i++) {
        CHECK_EQ_INT(PyTasklet_Alive(c[i]), 1);
        CHECK_EQ_INT(PyTasklet_Kill(c[i]), 0);
        CHECK_EQ_INT(PyTasklet_Alive(c[i]), 0);
        Py_XDECREF(c[i]);
    }
    for (int i = 0; i < 3; i++) {
        CHECK_EQ_INT(PyChannel_GetBalance(ring[i]), 0);
        Py_CLEAR(ring[i]);
    }
    end_of_test();
}

/* ---- kill / throw to a victim ---------------------------------------------------------- */

/* SPEC §8: PyStackless_Tick returns -1 with the exception when one was raised into the
 * tasklet while it was interrupted (PyTasklet_Kill on the paused victim, a pending kill, a
 * RaiseException the body handles). */
static void test_kill_victim(enum kind k) {
    worker_init(0, "busy", 100000, 0);
    PyTaskletObject *t = spawn_worker(0, k);
    PyObject *r = run_ex(100, 0);
    EXPECT_VICTIM(r, t, out1);
    CHECK_EQ_INT(PyTasklet_Kill(t), 0);
    CHECK_NO_EXC();
    CHECK_STR(W[0].exc, "TaskletExit");
    CHECK_EQ_INT(W[0].done, 100);
    CHECK_EQ_INT(W[0].finished, 0);
    CHECK_EQ_INT(PyTasklet_Alive(t), 0);
    CHECK_EQ_INT(PyStackless_GetRunCount(), 1);
out1:
    finish(t);
    Py_XDECREF(t);

    /* a pending kill: the victim is made runnable and dies in its Tick when it runs */
    worker_init(0, "busy", 100000, 0);
    t = spawn_worker(0, k);
    r = run_ex(100, 0);
    EXPECT_VICTIM(r, t, out2);
    CHECK_EQ_INT(PyTasklet_KillEx(t, 1), 0);
    CHECK_EQ_INT(PyTasklet_Scheduled(t), 1);
    CHECK_EQ_INT(PyTasklet_Alive(t), 1);
    r = run_ex(100, 0);
    CHECK(r == Py_None);
    Py_XDECREF(r);
    CHECK_STR(W[0].exc, "TaskletExit");
    CHECK_EQ_INT(W[0].done, 100);
    CHECK_EQ_INT(PyTasklet_Alive(t), 0);
out2:
    finish(t);
    Py_XDECREF(t);

    /* another exception: the victim dies with it and it goes to main */
    worker_init(0, "busy", 100000, 0);
    t = spawn_worker(0, k);
    r = run_ex(100, 0);
    EXPECT_VICTIM(r, t, out3);
    CHECK_EQ_INT(PyTasklet_RaiseException(t, PyExc_ValueError, NULL), -1);
    CHECK_EXC(PyExc_ValueError, NULL);
    CHECK_STR(W[0].exc, "ValueError");
    CHECK_EQ_INT(PyTasklet_Alive(t), 0);
out3:
    finish(t);
    Py_XDECREF(t);
    end_of_test();
}

/* A body that survives an exception raised into its Tick. */
static long survivor_done, survivor_errors;
static PyObject *survivor_body(PyObject *self, PyObject *args) {
    (void)self;
    (void)args;
    for (survivor_done = 0; survivor_done < 1000;) {
        if (PyStackless_Tick(1) < 0) {
            if (!PyErr_ExceptionMatches(PyExc_KeyError)) return NULL;
            PyErr_Clear();
            survivor_errors++;
            continue; /* a failed tick does not count */
        }
        survivor_done++;
    }
    Py_RETURN_NONE;
}
static PyMethodDef survivor_def = {"survivor", survivor_body, METH_NOARGS, NULL};

static void test_throw_victim(void) {
    survivor_done = survivor_errors = 0;
    PyTaskletObject *t = spawn(&survivor_def, NULL);
    PyObject *r = run_ex(100, 0);
    CHECK_VICTIM(r, t);
    Py_XDECREF(r);
    /* throw pending: the tick raises when the victim next runs, inside the next run */
    CHECK_EQ_INT(PyTasklet_Throw(t, 1, PyExc_KeyError, NULL, NULL), 0);
    CHECK_EQ_INT(PyTasklet_Scheduled(t), 1);
    r = run_ex(100, 0);
    CHECK_VICTIM(r, t);
    Py_XDECREF(r);
    CHECK_EQ_INT(survivor_errors, 1);
    CHECK_EQ_INT(survivor_done, 200); /* 100 + a fresh slice of 100 after the failed tick */
    /* raise now: the victim handles it and runs to its end (no timed run now) */
    CHECK_EQ_INT(PyTasklet_RaiseException(t, PyExc_KeyError, NULL), 0);
    CHECK_EQ_INT(survivor_errors, 2);
    CHECK_EQ_INT(survivor_done, 1000);
    CHECK_EQ_INT(PyTasklet_Alive(t), 0);
    finish(t);
    Py_XDECREF(t);
    end_of_test();
}

/* ---- callbacks ---------------------------------------------------------------------------- */

static int in_callback;
static long cb_ticks, cb_pending;
static PyObject *chan_cb(PyObject *self, PyObject *args) {
    (void)self;
    (void)args;
    in_callback = 1;
    for (cb_ticks = 0; cb_ticks < 300; cb_ticks++)
        if (PyStackless_Tick(1) < 0) break;
    cb_pending = pending_irq_of_current();
    in_callback = 0;
    Py_RETURN_NONE;
}
static PyMethodDef chan_cb_def = {"chan_cb", chan_cb, METH_VARARGS, NULL};

static long cbr_pre, cbr_post;
static PyObject *cb_receiver(PyObject *self, PyObject *ch) {
    (void)self;
    for (cbr_pre = 0; cbr_pre < 50; cbr_pre++)
        if (PyStackless_Tick(1) < 0) return NULL;
    PyObject *v = PyChannel_Receive(CH(ch)); /* a sender waits: no switch */
    if (v == NULL) return NULL;
    Py_DECREF(v);
    for (cbr_post = 0; cbr_post < 1000; cbr_post++)
        if (PyStackless_Tick(1) < 0) return NULL;
    Py_RETURN_NONE;
}
static PyMethodDef cb_receiver_def = {"cb_receiver", cb_receiver, METH_O, NULL};

static PyObject *cb_sender(PyObject *self, PyObject *ch) {
    (void)self;
    PyObject *x = PyLong_FromLong(3);
    int rc = PyChannel_Send(CH(ch), x);
    Py_DECREF(x);
    if (rc < 0) return NULL;
    Py_RETURN_NONE;
}
static PyMethodDef cb_sender_def = {"cb_sender", cb_sender, METH_O, NULL};

/* The schedule callback ticks too (it runs in the switch, with current = prev). */
static long sched_cb_calls;
static int sched_hook(PyTaskletObject *prev, PyTaskletObject *next) {
    (void)prev;
    (void)next;
    sched_cb_calls++;
    in_callback = 1;
    for (int i = 0; i < 250; i++)
        if (PyStackless_Tick(1) < 0) break;
    in_callback = 0;
    return 0;
}

/* SPEC §8: no interrupt while a callback runs (even with IGNORE_NESTING: the scheduler lock
 * defers it); the pending irq fires on the first tick after the callback. */
static void test_callbacks(void) {
    PyObject *cb = make_func(&chan_cb_def);
    for (int pass = 0; pass < 2; pass++) {
        int flags = pass ? PY_WATCHDOG_IGNORE_NESTING : 0;
        cbr_pre = cbr_post = cb_ticks = cb_pending = -1;
        PyChannelObject *ch = PyChannel_New(NULL);
        PyObject *args = PyTuple_New(1);
        PyTuple_SetItem(args, 0, Py_NewRef((PyObject *)ch));
        PyTaskletObject *s = spawn(&cb_sender_def, Py_NewRef(args));
        /* the sender blocks first (no callback yet) */
        PyObject *r = run_ex(0, 0);
        CHECK(r == Py_None);
        Py_XDECREF(r);
        CHECK_EQ_INT(PyChannel_GetBalance(ch), 1);
        PyTaskletObject *rcv = spawn(&cb_receiver_def, args);
        CHECK_EQ_INT(PyStackless_SetChannelCallback(cb), 0);
        r = run_ex(100, flags);
        CHECK_VICTIM(r, rcv);
        Py_XDECREF(r);
        CHECK_EQ_INT(in_callback, 0);
        CHECK_EQ_INT(cb_ticks, 300);   /* the callback ran to its end */
        CHECK_EQ_INT(cb_pending, 1);   /* with the irq pending */
        CHECK_EQ_INT(cbr_pre, 50);
        CHECK_EQ_INT(cbr_post, 0);     /* fired at the first tick after the callback */
        CHECK_EQ_INT(PyStackless_SetChannelCallback(NULL), 0);
        CHECK_EQ_INT(PyTasklet_Insert(rcv), 0);
        run_all();
        CHECK_EQ_INT(cbr_post, 1000);
        CHECK_EQ_INT(PyTasklet_Alive(rcv), 0);
        CHECK_EQ_INT(PyTasklet_Alive(s), 0);
        finish(s);
        finish(rcv);
        Py_XDECREF(s);
        Py_XDECREF(rcv);
        Py_XDECREF(ch);
    }
    Py_DECREF(cb);

    /* the schedule callback: cooperative workers, a ticking hook, IGNORE_NESTING; no run
     * returns while the hook runs, and everything finishes */
    worker_init(0, "A", 500, 50);
    worker_init(1, "B", 500, 50);
    PyTaskletObject *a = spawn_worker(0, PLAIN), *b = spawn_worker(1, PLAIN);
    sched_cb_calls = 0;
    PyStackless_SetScheduleFastcallback(sched_hook);
    long runs = 0;
    PyObject *r;
    while (PyStackless_GetRunCount() > 1 && runs < 1000) {
        r = run_ex(100, PY_WATCHDOG_IGNORE_NESTING);
        runs++;
        CHECK_EQ_INT(in_callback, 0);
        if (r == NULL) break;
        if (r != Py_None) PyTasklet_Insert(T(r));
        Py_DECREF(r);
    }
    PyStackless_SetScheduleFastcallback(NULL);
    CHECK_NO_EXC();
    CHECK(sched_cb_calls > 0);
    CHECK(W[0].finished && W[1].finished);
    finish(a);
    finish(b);
    Py_XDECREF(a);
    Py_XDECREF(b);
    end_of_test();
}

/* ---- switch trap ------------------------------------------------------------------------- */

static long trap_in, trap_pending, trap_after;
static PyObject *trap_body(PyObject *self, PyObject *args) {
    (void)self;
    (void)args;
    PyStackless_AdjustSwitchTrap(1);
    for (trap_in = 0; trap_in < 202; trap_in++)
        if (PyStackless_Tick(1) < 0) break;
    trap_pending = pending_irq_of_current();
    PyStackless_AdjustSwitchTrap(-1);
    for (trap_after = 0; trap_after < 1000; trap_after++)
        if (PyStackless_Tick(1) < 0) return NULL;
    Py_RETURN_NONE;
}
static PyMethodDef trap_def = {"trap", trap_body, METH_NOARGS, NULL};

/* SPEC §8, §4.10: the watchdog does not preempt under the switch trap; the pending irq
 * fires on the next tick after the trap ends. */
static void test_switch_trap(void) {
    trap_in = trap_pending = trap_after = -1;
    PyTaskletObject *t = spawn(&trap_def, NULL);
    PyObject *r = run_ex(100, PY_WATCHDOG_IGNORE_NESTING);
    CHECK_VICTIM(r, t);
    Py_XDECREF(r);
    CHECK_EQ_INT(trap_in, 202);
    CHECK_EQ_INT(trap_pending, 1);
    CHECK_EQ_INT(trap_after, 0);
    CHECK_EQ_INT(PyStackless_AdjustSwitchTrap(0), 0);
    CHECK_EQ_INT(PyTasklet_Insert(t), 0);
    run_all();
    CHECK_EQ_INT(trap_after, 1000);
    finish(t);
    Py_XDECREF(t);
    end_of_test();
}

/* ---- PY_WATCHDOG_TIME -------------------------------------------------------------------- */

static long sleeper_after;
static PyObject *sleeper_body(PyObject *self, PyObject *args) {
    (void)self;
    (void)args;
    struct timespec ts = {0, 3 * 1000 * 1000}; /* 3 ms, more than the 1 ms budget */
    while (nanosleep(&ts, &ts) != 0) {
    }
    for (sleeper_after = 0; sleeper_after < 10; sleeper_after++)
        if (PyStackless_Tick(1) < 0) return NULL;
    Py_RETURN_NONE;
}
static PyMethodDef sleeper_def = {"sleeper", sleeper_body, METH_NOARGS, NULL};

/* PY_WATCHDOG_TIME (libstackless): the timeout is microseconds of the tasklet's running
 * time, checked at tick points. No exact timing is asserted. */
static void test_time(enum kind k) {
    /* a busy loop with a 1 ms budget is interrupted (long before its 5M ticks) */
    worker_init(0, "busy", 5000000, 0);
    PyTaskletObject *t = spawn_worker(0, k);
    PyObject *r = run_ex(1000, PY_WATCHDOG_TIME);
    EXPECT_VICTIM(r, t, out);
    CHECK(W[0].done < W[0].total); /* (0 is possible if the process was descheduled) */
    long first = W[0].done;
    CHECK_EQ_INT(PyTasklet_Insert(t), 0);
    r = run_ex(1000, PY_WATCHDOG_TIME | PY_WATCHDOG_TOTALTIMEOUT);
    EXPECT_VICTIM(r, t, out);
    CHECK(W[0].done > first && W[0].done < W[0].total);
    CHECK_EQ_INT(PyTasklet_Kill(t), 0);
    CHECK_EQ_INT(PyTasklet_Alive(t), 0);
out:
    finish(t);
    Py_XDECREF(t);

    /* checked at tick points: a tasklet that sleeps past its budget is interrupted at its
     * first tick afterwards */
    sleeper_after = -1;
    t = spawn(&sleeper_def, NULL);
    r = run_ex(1000, PY_WATCHDOG_TIME);
    CHECK_VICTIM(r, t);
    Py_XDECREF(r);
    CHECK_EQ_INT(sleeper_after, 0);
    CHECK_EQ_INT(PyTasklet_Insert(t), 0);
    run_all();
    CHECK_EQ_INT(sleeper_after, 10);
    finish(t);
    Py_XDECREF(t);

    /* a slice of 10 s is never used up by cooperative workers: the slice restarts at
     * every switch, and the run ends when they finish */
    worker_init(0, "A", 3000, 10);
    worker_init(1, "B", 3000, 10);
    PyTaskletObject *a = spawn_worker(0, k), *b = spawn_worker(1, k);
    r = run_ex(10 * 1000 * 1000, PY_WATCHDOG_TIME);
    CHECK(r == Py_None);
    Py_XDECREF(r);
    CHECK(W[0].finished && W[1].finished);
    finish(a);
    finish(b);
    Py_XDECREF(a);
    Py_XDECREF(b);
    end_of_test();
}

int main(void) {
    CHECK_EQ_INT(PyStackless_InitFunctionDeclaration(&soft_worker_decl, NULL, NULL), 0);
    user_warning = PyErr_NewException("test.UserWarning", PyExc_Exception, NULL);
    CHECK(user_warning != NULL);
    for (int pass = 0; pass < 2; pass++) {
        soft_mode = pass == 0;
        PyStackless_EnableSoftswitch(soft_mode);
        fprintf(stderr, "-- soft switching %s\n", soft_mode ? "enabled" : "disabled");
        test_B114();
        test_B115();
        test_B116();
        test_B117();
        test_tick_n();
        test_B119();
        test_nesting();
        test_soft_channel();
        test_tail_soft();
        test_flags();
        test_B121_nested();
        test_B121_atomic();
        test_B123();
        test_B125();
        test_throw_victim();
        test_callbacks();
        test_switch_trap();
        for (int k = PLAIN; k <= SOFT; k++) {
            fprintf(stderr, "-- %s workers\n", kind_name((enum kind)k));
            test_B118((enum kind)k);
            test_B120((enum kind)k);
            test_soft((enum kind)k);
            test_B121((enum kind)k);
            test_B122((enum kind)k);
            test_B124((enum kind)k);
            test_kill_victim((enum kind)k);
            test_time((enum kind)k);
        }
    }
    PyStackless_EnableSoftswitch(1);
    Py_XDECREF(user_warning);
    return check_report();
}
