/* Stacks and threads: scale, thread independence and teardown (SPEC §9, §12; issue 3 items
 * 1 and 8).
 *
 * - 100,000 tasklets blocked with C state at once (more than the kernel's mapping limit
 *   allows guard pages for: the allocator falls back to canary-checked stacks), then all
 *   released; every one finishes.
 * - Two threads each run their own tasklets side by side, with independent main tasklets,
 *   run queues and run counts.
  * - A thread that ends with tasklets blocked and paused kills them (their cleanup runs) and
 *   nothing crashes; tasklets without C state outlive it, not alive and with thread id -1,
  *   and every operation on them either works or fails cleanly (B144, B150, B151).
 * - Against a live thread: switching to its tasklet and moving runnable or C-state tasklets
 *   are refused; a paused tasklet without C state moves to the calling thread and runs
 *   there (B145-B149).
 * - exit() called inside a tasklet ends the process normally.
 * - A deep C recursion inside a tasklet fits the default 64 KiB stack (printf with %f).
 */
#include <pthread.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tasklet_util.h"

static PyChannelObject *chan;
static long finished;

static PyObject *blocker(PyObject *self, PyObject *args) {
    (void)self;
    (void)args;
    PyObject *v = PyChannel_Receive(chan);
    if (v == NULL) return NULL;
    finished += PyLong_AsLong(v);
    Py_DECREF(v);
    Py_RETURN_NONE;
}
static PyMethodDef blocker_def = {"blocker", blocker, METH_NOARGS, NULL};

/* Valgrind cannot track 100,000 separate mappings (VG_N_SEGMENTS), so under valgrind the
 * scale test runs with fewer tasklets; it still exercises every path. */
static void test_many_blocked(void) {
    const int N = running_on_valgrind() ? 2000 : 100000;
    chan = PyChannel_New(NULL);
    PyStackless_SetStackSize(16 * 1024);
    PyObject *f = make_func(&blocker_def);
    PyObject *args = PyTuple_New(0);
    int created = 0;
    for (int i = 0; i < N; i++) {
        PyTaskletObject *t = PyTasklet_New(NULL, f);
        if (t == NULL || PyTasklet_Setup(t, args, NULL) != 0) break;
        Py_DECREF(t);
        created++;
    }
    CHECK_EQ_INT(created, N);
    run_all();
    CHECK_EQ_INT(PyChannel_GetBalance(chan), -N);
    PyObject *one = PyLong_FromLong(1);
    PyChannel_SetPreference(chan, 1); /* the sender continues: receivers queue up */
    int ok = 1;
    for (int i = 0; i < N && ok; i++) ok = PyChannel_Send(chan, one) == 0;
    CHECK(ok);
    run_all();
    CHECK_EQ_INT(finished, N);
    CHECK_EQ_INT(PyChannel_GetBalance(chan), 0);
    CHECK_EQ_INT(PyStackless_GetRunCount(), 1);
    Py_DECREF(one);
    Py_DECREF(args);
    Py_DECREF(f);
    Py_CLEAR(chan);
    PyStackless_SetStackSize(64 * 1024);
}

/* ---- two threads side by side ---- */
static PyObject *counter(PyObject *self, PyObject *args) {
    (void)self;
    long *n = PyCapsule_GetPointer(PyTuple_GetItem(args, 0), NULL);
    for (int i = 0; i < 1000; i++) {
        (*n)++;
        PyObject *r = PyStackless_Schedule(Py_None, 0);
        if (r == NULL) return NULL;
        Py_DECREF(r);
    }
    Py_RETURN_NONE;
}
static PyMethodDef counter_def = {"counter", counter, METH_VARARGS, NULL};

struct thread_result {
    long count;
    int runcount_before;
    int runcount_after;
    int ok;
    unsigned long main_id;
};

static void *thread_body(void *arg) {
    struct thread_result *res = arg;
    PyObject *cap = PyCapsule_New(&res->count, NULL, NULL);
    PyTaskletObject *ts[3];
    for (int i = 0; i < 3; i++) {
        PyObject *a = PyTuple_New(1);
        Py_INCREF(cap);
        PyTuple_SetItem(a, 0, cap);
        PyObject *f = make_func(&counter_def);
        ts[i] = PyTasklet_New(NULL, f);
        Py_DECREF(f);
        PyTasklet_Setup(ts[i], a, NULL);
        Py_DECREF(a);
    }
    res->runcount_before = PyStackless_GetRunCount();
    PyObject *r = PyStackless_RunWatchdog(0);
    res->ok = r == Py_None;
    Py_XDECREF(r);
    res->runcount_after = PyStackless_GetRunCount();
    res->main_id = PyStackless_GetCurrentId();
    for (int i = 0; i < 3; i++) Py_DECREF(ts[i]);
    Py_DECREF(cap);
    return NULL;
}

static void test_two_threads(void) {
    struct thread_result a = {0}, b = {0};
    pthread_t ta, tb;
    pthread_create(&ta, NULL, thread_body, &a);
    pthread_create(&tb, NULL, thread_body, &b);
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    CHECK(a.ok);
    CHECK(b.ok);
    CHECK_EQ_INT(a.count, 3000);
    CHECK_EQ_INT(b.count, 3000);
    CHECK_EQ_INT(a.runcount_before, 4);
    CHECK_EQ_INT(b.runcount_before, 4);
    CHECK_EQ_INT(a.runcount_after, 1);
    CHECK_EQ_INT(b.runcount_after, 1);
    CHECK(a.main_id != b.main_id);
    CHECK(a.main_id != PyThread_get_thread_ident());
    /* this thread's scheduler was not disturbed */
    CHECK_EQ_INT(PyStackless_GetRunCount(), 1);
}

/* ---- a thread ending with live tasklets ---- */
static int cleanups;
static PyChannelObject *thread_chan;

static PyObject *waits_forever(PyObject *self, PyObject *args) {
    (void)self;
    (void)args;
    PyObject *v = PyChannel_Receive(thread_chan);
    if (v == NULL) {
        if (PyErr_ExceptionMatches(PyExc_TaskletExit)) cleanups++;
        return NULL;
    }
    Py_DECREF(v);
    Py_RETURN_NONE;
}
static PyMethodDef waits_def = {"waits_forever", waits_forever, METH_NOARGS, NULL};

static PyObject *pauses(PyObject *self, PyObject *args) {
    (void)self;
    (void)args;
    PyObject *r = PyStackless_Schedule(Py_None, 1);
    if (r == NULL) {
        if (PyErr_ExceptionMatches(PyExc_TaskletExit)) cleanups++;
        return NULL;
    }
    Py_DECREF(r);
    Py_RETURN_NONE;
}
static PyMethodDef pauses_def = {"pauses", pauses, METH_NOARGS, NULL};

static PyTaskletObject *leftover[3];

static void *ending_thread(void *arg) {
    (void)arg;
    thread_chan = PyChannel_New(NULL);
    leftover[0] = spawn(&waits_def, NULL);
    leftover[1] = spawn(&waits_def, NULL);
    leftover[2] = spawn(&pauses_def, NULL);
    PyObject *r = PyStackless_RunWatchdog(0);
    Py_XDECREF(r);
    /* the thread ends with two tasklets blocked and one paused, all with C state */
    return NULL;
}

static void test_thread_end_kills(void) {
    pthread_t t;
    pthread_create(&t, NULL, ending_thread, NULL);
    pthread_join(t, NULL);
    CHECK_EQ_INT(cleanups, 3);
    for (int i = 0; i < 3; i++) {
        CHECK_EQ_INT(PyTasklet_Alive(leftover[i]), 0);
        CHECK(PyTasklet_GetThreadId(leftover[i]) == (unsigned long)-1);
        Py_DECREF(leftover[i]);
    }
    Py_CLEAR(thread_chan);
}

/* ---- tasklets without C state outlive their thread (B144, B150, B151) ---- */
static long noop_runs;

static PyObject *counting_noop(PyObject *self, PyObject *args) {
    (void)self;
    (void)args;
    noop_runs++;
    Py_RETURN_NONE;
}
static PyMethodDef counting_noop_def = {"counting_noop", counting_noop, METH_NOARGS, NULL};

static PyTaskletObject *orphans[2]; /* [0] scheduled, [1] removed; neither ever ran */

static void *orphaning_thread(void *arg) {
    (void)arg;
    orphans[0] = spawn(&counting_noop_def, NULL);
    orphans[1] = spawn(&counting_noop_def, NULL);
    if (PyTasklet_Remove(orphans[1]) < 0) PyErr_Print();
    return NULL; /* ends without running them */
}

/* Every state of a tasklet whose thread is gone reads "nothing" (B144, B150). */
static void check_orphan_state(PyTaskletObject *t) {
    CHECK_EQ_INT(PyTasklet_Alive(t), 0);
    CHECK_EQ_INT(PyTasklet_Paused(t), 0);
    CHECK_EQ_INT(PyTasklet_Scheduled(t), 0);
    CHECK_EQ_INT(PyTasklet_GetBlocked(t), 0);
    CHECK_EQ_INT(PyTasklet_GetBlockTrap(t), 0);
    CHECK_EQ_INT(PyTasklet_GetIgnoreNesting(t), 0);
    CHECK_EQ_INT(PyTasklet_Restorable(t), 1);
    CHECK(PyTasklet_GetThreadId(t) == (unsigned long)-1);
    PyObject *n = PyTasklet_GetNext(t), *p = PyTasklet_GetPrev(t);
    CHECK(n == Py_None && p == Py_None);
    Py_XDECREF(n);
    Py_XDECREF(p);
    CHECK_NO_EXC();
}

static void test_tasklets_of_ended_thread(void) {
    pthread_t th;
    noop_runs = 0;
    pthread_create(&th, NULL, orphaning_thread, NULL);
    pthread_join(th, NULL);
    PyObject *noop = PyCFunction_New(&counting_noop_def, NULL);
    PyObject *no_args = PyTuple_New(0);
    for (int i = 0; i < 2; i++) {
        PyTaskletObject *t = orphans[i];
        if (t == NULL) {
            CHECK(!"the thread could not create its tasklets");
            continue;
        }
        check_orphan_state(t);
        CHECK_EQ_INT(PyTasklet_GetAtomic(t), 0);
        /* what needs a thread fails cleanly */
        CHECK_EQ_INT(PyTasklet_Setup(t, no_args, NULL), -1);
        CHECK_EXC(PyExc_RuntimeError, NULL);
                CHECK_EQ_INT(PyTasklet_BindEx(t, noop, no_args, NULL), -1);
        CHECK_EXC(PyExc_RuntimeError, "tasklet has no thread");
        CHECK_EQ_INT(PyTasklet_Insert(t), -1);
        CHECK_EXC(PyExc_RuntimeError, NULL);
        CHECK_EQ_INT(PyTasklet_Run(t), -1);
        CHECK_EXC(PyExc_RuntimeError, NULL);
        CHECK_EQ_INT(PyTasklet_Switch(t), -1);
        CHECK_EXC(PyExc_RuntimeError, NULL);
        CHECK_EQ_INT(PyTasklet_RaiseException(t, PyExc_ValueError, NULL), -1);
        CHECK_EXC(PyExc_RuntimeError, NULL);
        CHECK_EQ_INT(PyTasklet_Throw(t, 0, PyExc_ValueError, NULL, NULL), -1);
        CHECK_EXC(PyExc_RuntimeError, NULL);
        CHECK_EQ_INT(PyTasklet_Throw(t, 1, PyExc_TaskletExit, NULL, NULL), -1);
        CHECK_EXC(PyExc_RuntimeError, "tasklet has no thread"); /* B151 */
        /* what does not, works */
        CHECK(PyTasklet_SetAtomic(t, 1) >= 0);
        CHECK_EQ_INT(PyTasklet_GetAtomic(t), 1);
        CHECK(PyTasklet_SetAtomic(t, 0) >= 0);
        CHECK_EQ_INT(PyTasklet_BindEx(t, Py_None, NULL, NULL), 0);
        CHECK_EQ_INT(PyTasklet_Remove(t), 0);
        CHECK_EQ_INT(PyTasklet_BindEx(t, noop, NULL, NULL), 0);
        CHECK_EQ_INT(PyTasklet_KillEx(t, 1), 0); /* B151 */
        CHECK_NO_EXC();
        check_orphan_state(t);
        Py_DECREF(t);
        orphans[i] = NULL;
    }
        CHECK_EQ_INT(noop_runs, 0); /* none of them ever ran */
    Py_DECREF(noop);
    Py_DECREF(no_args);
}

/* ---- bind_thread and switch against a live thread (B145-B149) ---- */
static pthread_mutex_t live_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t live_cond = PTHREAD_COND_INITIALIZER;
static int live_stage; /* 1: the helper's tasklet is ready; 2: the checks are done */
static PyTaskletObject *remote_paused;
static unsigned long remote_ident;

static void live_set_stage(int stage) {
    pthread_mutex_lock(&live_lock);
    live_stage = stage;
    pthread_cond_broadcast(&live_cond);
    pthread_mutex_unlock(&live_lock);
}

static void live_wait_stage(int stage) {
    pthread_mutex_lock(&live_lock);
    while (live_stage < stage) pthread_cond_wait(&live_cond, &live_lock);
    pthread_mutex_unlock(&live_lock);
}

static void *live_helper_thread(void *arg) {
    (void)arg;
    remote_ident = PyThread_get_thread_ident();
    remote_paused = spawn(&counting_noop_def, NULL); /* alive, paused, no C state */
    if (remote_paused == NULL || PyTasklet_Remove(remote_paused) < 0) PyErr_Print();
    live_set_stage(1);
    live_wait_stage(2); /* stays alive while the main thread works on its tasklet */
    return NULL;
}

static PyChannelObject *live_chan;
static PyObject *live_blocker(PyObject *self, PyObject *args) {
    (void)self;
    (void)args;
    return PyChannel_Receive(live_chan);
}
static PyMethodDef live_blocker_def = {"live_blocker", live_blocker, METH_NOARGS, NULL};

static void test_bind_thread_and_switch(void) {
    pthread_t th;
    live_stage = 0;
    noop_runs = 0;
    pthread_create(&th, NULL, live_helper_thread, NULL);
    live_wait_stage(1);
    PyTaskletObject *t = remote_paused;
    if (t == NULL) {
        CHECK(!"the helper thread could not create its tasklet");
        live_set_stage(2);
        pthread_join(th, NULL);
        return;
    }
    CHECK(PyTasklet_GetThreadId(t) == remote_ident);
    CHECK_EQ_INT(PyTasklet_Paused(t), 1);
    /* B149: no switching into another thread */
    CHECK_EQ_INT(PyTasklet_Switch(t), -1);
    CHECK_EXC(PyExc_RuntimeError, "can't switch to a different thread.");
    /* B148: unknown ids are refused, from C and from the Python-level face */
    CHECK_EQ_INT(PyTasklet_BindThread(t, 0x7fffffffUL), -1);
    CHECK_EXC(PyExc_ValueError, "bad thread");
    PyObject *meth = PyObject_GetAttrString((PyObject *)t, "bind_thread");
    PyObject *minus2 = PyLong_FromLong(-2);
    CHECK(fails(PyObject_CallFunctionObjArgs(meth, minus2, NULL)));
    CHECK_EXC(PyExc_OverflowError, NULL);
    Py_XDECREF(minus2);
    Py_XDECREF(meth);
    /* B146: a runnable tasklet cannot move */
    PyTaskletObject *local = spawn(&counting_noop_def, NULL);
    CHECK_EQ_INT(PyTasklet_BindThread(local, remote_ident), -1);
    CHECK_EXC_CONTAINS(PyExc_RuntimeError, "runnable");
    /* B147: nor can one with C state */
    live_chan = PyChannel_New(NULL);
    PyTaskletObject *blocked = spawn(&live_blocker_def, NULL);
    CHECK_EQ_INT(PyTasklet_Run(blocked), 0);
    CHECK_EQ_INT(PyTasklet_GetBlocked(blocked), -1);
    CHECK_EQ_INT(PyTasklet_BindThread(blocked, remote_ident), -1);
    CHECK_EXC_CONTAINS(PyExc_RuntimeError, "C state");
    CHECK_EQ_INT(PyTasklet_Kill(blocked), 0);
    Py_XDECREF(blocked);
    Py_CLEAR(live_chan);
    /* B145/B148: a paused tasklet without C state moves to the calling thread and runs here */
    CHECK_EQ_INT(PyTasklet_BindThread(t, (unsigned long)-1), 0);
    CHECK(PyTasklet_GetThreadId(t) == PyThread_get_thread_ident());
    CHECK_EQ_INT(PyTasklet_Alive(t), 1);
    CHECK_EQ_INT(PyTasklet_Run(t), 0);
    run_all();
    CHECK_EQ_INT(noop_runs, 2); /* local and the moved tasklet */
    CHECK_EQ_INT(PyTasklet_Alive(t), 0);
    Py_XDECREF(local);
    live_set_stage(2);
    pthread_join(th, NULL);
    Py_DECREF(t);
    remote_paused = NULL;
    check_main_alone();
}

/* ---- a channel partner of another thread is refused, not corrupted ---- */
static PyChannelObject *cross_chan;

static PyObject *cross_receiver(PyObject *self, PyObject *args) {
    (void)self;
    (void)args;
    PyObject *v = PyChannel_Receive(cross_chan);
    if (v == NULL) return NULL;
    Py_DECREF(v);
    Py_RETURN_NONE;
}
static PyMethodDef cross_receiver_def = {"cross_receiver", cross_receiver, METH_NOARGS, NULL};

static int cross_sent;
static void *cross_sender_thread(void *arg) {
    (void)arg;
    PyObject *v = PyLong_FromLong(1);
    cross_sent = PyChannel_Send(cross_chan, v);
    if (cross_sent < 0 &&
        PyErr_ExceptionMatches(PyExc_RuntimeError)) {
        PyErr_Clear();
        cross_sent = -2;
    }
    Py_DECREF(v);
    return NULL;
}

static void test_cross_thread_channel(void) {
    cross_chan = PyChannel_New(NULL);
    PyTaskletObject *r = spawn(&cross_receiver_def, NULL);
    CHECK_EQ_INT(PyTasklet_Run(r), 0);
    CHECK_EQ_INT(PyChannel_GetBalance(cross_chan), -1);
    pthread_t th;
    pthread_create(&th, NULL, cross_sender_thread, NULL);
    pthread_join(th, NULL);
    CHECK_EQ_INT(cross_sent, -2);
    CHECK_EQ_INT(PyChannel_GetBalance(cross_chan), -1);
    CHECK_EQ_INT(PyTasklet_Kill(r), 0);
    CHECK_EQ_INT(PyTasklet_Alive(r), 0);
    Py_DECREF(r);
    Py_CLEAR(cross_chan);
}

/* ---- exit() inside a tasklet ---- */
static PyObject *exiter(PyObject *self, PyObject *args) {
    (void)self;
    (void)args;
    fflush(stdout);
    exit(7);
}
static PyMethodDef exiter_def = {"exiter", exiter, METH_NOARGS, NULL};

static void test_exit_in_tasklet(void) {
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        PyTaskletObject *t = spawn(&exiter_def, NULL);
        (void)t;
        PyObject *r = PyStackless_RunWatchdog(0);
        (void)r;
        _exit(1); /* not reached */
    }
    int status = 0;
    waitpid(pid, &status, 0);
    CHECK(WIFEXITED(status));
    CHECK_EQ_INT(WEXITSTATUS(status), 7);
}

/* ---- a stack-hungry C call inside a tasklet ---- */
static int deep(int n) {
    char buf[512];
    snprintf(buf, sizeof buf, "%f %d", 3.25 * n, n);
    return n == 0 ? (int)strlen(buf) : deep(n - 1) + (buf[0] == '0');
}
static PyObject *hungry(PyObject *self, PyObject *args) {
    (void)self;
    (void)args;
    return PyLong_FromLong(deep(60));
}
static PyMethodDef hungry_def = {"hungry", hungry, METH_NOARGS, NULL};

static void test_stack_hungry(void) {
    PyTaskletObject *t = spawn(&hungry_def, NULL);
    CHECK_EQ_INT(PyTasklet_Run(t), 0);
    CHECK_EQ_INT(PyTasklet_Alive(t), 0);
    Py_DECREF(t);
}

/* The soft-switching protocol's stackless flag is per thread: the header's macros and the
 * library's functions see the same flag on one thread, and another thread's is untouched. */
static void *flag_reader(void *out) {
    *(int *)out = _PyStackless_TRY_STACKLESS * 10 + (_PyStackless_TryStacklessPtr() ==
                                                    &_PyStackless_TRY_STACKLESS);
    return NULL;
}

static void test_flag_per_thread(void) {
    CHECK(_PyStackless_TryStacklessPtr() == &_PyStackless_TRY_STACKLESS);
    _PyStackless_TRY_STACKLESS = 1;
    int other = -1;
    pthread_t th;
    pthread_create(&th, NULL, flag_reader, &other);
    pthread_join(th, NULL);
    CHECK_EQ_INT(other, 1); /* flag 0 there, and the same address through both ways */
    CHECK_EQ_INT(_PyStackless_GetTryStackless(), 1); /* ours, taken and cleared */
    CHECK_EQ_INT(_PyStackless_TRY_STACKLESS, 0);
    _PyStackless_TRY_STACKLESS = 1;
    {
        STACKLESS_GETARG();
        CHECK_EQ_INT(stackless, 1);
        CHECK_EQ_INT(_PyStackless_TRY_STACKLESS, 0);
        STACKLESS_PROMOTE_ALL();
        CHECK_EQ_INT(*_PyStackless_TryStacklessPtr(), 1);
        STACKLESS_RETRACT();
    }
    CHECK_EQ_INT(_PyStackless_TRY_STACKLESS, 0);
}

int main(void) {
    test_flag_per_thread();
    test_stack_hungry();
    test_two_threads();
    test_thread_end_kills();
    test_tasklets_of_ended_thread();
    test_bind_thread_and_switch();
    test_cross_thread_channel();
    test_exit_in_tasklet();
    test_many_blocked();
    return check_report();
}
