/* test_soft_scale.c: what a blocked tasklet costs, soft and hard (SPEC §7 "a million soft
 * tasklets cost one runner stack", §12 scale).
 *
 * 1. 1,000,000 tasklets whose bodies end with `return PyChannel_Receive_nr(ch)` (tail
 *    position: with soft switching enabled they block softly and keep no C stack) are all
 *    blocked on one channel at the same time (balance -1,000,000). The resident memory
 *    they add is measured and printed as bytes per blocked soft tasklet, and checked against
 *    a generous bound (< 512 bytes). Main then sends 1,000,000 values with preference 1 (it
 *    keeps running; every receiver becomes runnable) and runs the scheduler: every tasklet
 *    finishes, the balance and the run count are back to 0 and 1.
 * 2. The same with 10,000 tasklets that block with a hard switch (a plain PyChannel_Receive:
 *    each keeps its stack): bytes per blocked hard tasklet are printed (and checked to be
 *    below the 64 KiB a whole stack would be: stacks are committed lazily).
 *
 * 3. A tasklet 1,000,000 soft frames deep (a soft-switchable function calling itself
 *    stacklessly), paused at the bottom, then rebound: its frames are dropped without running
 *    them, one at a time (a recursive drop of that chain would overflow main's stack).
 *
 * Under valgrind (LD_PRELOAD names vgpreload) the counts are 2,000 and 200 and the memory
 * bounds are not checked (valgrind's own bookkeeping dominates the resident size). Times are
 * printed, never checked. */
#include <stdlib.h>
#include <time.h>

#include "tasklet_util.h"

static PyChannelObject *g_ch;
static long g_started, g_hard_done;

/* VmRSS or VmHWM of this process, in bytes (-1 if unknown). */
static long proc_status_bytes(const char *key) {
    FILE *f = fopen("/proc/self/status", "r");
    if (f == NULL) return -1;
    char line[256];
    long kb = -1;
    size_t n = strlen(key);
    while (fgets(line, sizeof line, f) != NULL) {
        if (strncmp(line, key, n) == 0 && line[n] == ':') {
            kb = strtol(line + n + 1, NULL, 10);
            break;
        }
    }
    fclose(f);
    return kb < 0 ? -1 : kb * 1024;
}

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Soft: the receive is the body's tail call; the received value ends the tasklet. */
static PyObject *body_soft(PyObject *self, PyObject *unused) {
    (void)self, (void)unused;
    g_started++;
    return PyChannel_Receive_nr(g_ch);
}
static PyMethodDef def_soft = {"soft_receiver", body_soft, METH_NOARGS, NULL};

/* Hard: a plain PyChannel_Receive blocks with a hard switch, keeping the stack. */
static PyObject *body_hard(PyObject *self, PyObject *unused) {
    (void)self, (void)unused;
    g_started++;
    PyObject *v = PyChannel_Receive(g_ch);
    if (v == NULL) return NULL;
    g_hard_done++;
    return v;
}
static PyMethodDef def_hard = {"hard_receiver", body_hard, METH_NOARGS, NULL};

/* ---- 3. deep soft frames ------------------------------------------------------------ */

static PyStacklessFunctionDeclarationObject descend_decl;

/* *n = levels left below this one. Calls the next level stacklessly (each level is a frame);
 * the last one leaves the run queue. Re-entered (step 1) with the result of what it called,
 * which it returns. */
static PyObject *descend(PyObject *retval, long *step, PyObject **ob1, PyObject **ob2,
                         PyObject **ob3, long *n, void **any) {
    STACKLESS_GETARG();
    (void)ob1, (void)ob2, (void)ob3, (void)any;
    if (retval == NULL) return NULL;
    if (*step == 1) return Py_NewRef(retval);
    *step = 1;
    STACKLESS_PROMOTE_ALL();
    PyObject *r = *n == 0 ? PyStackless_Schedule(Py_None, 1)
                          : PyStackless_CallFunction(&descend_decl, Py_None, NULL, NULL, NULL,
                                                     *n - 1, NULL);
    STACKLESS_ASSERT();
    return r;
}
static PyStacklessFunctionDeclarationObject descend_decl = {
    PyObject_HEAD_INIT(NULL) descend, "descend", NULL};

static long g_depth;

static PyObject *body_deep(PyObject *self, PyObject *unused) {
    STACKLESS_GETARG();
    (void)self, (void)unused;
    STACKLESS_PROMOTE_ALL();
    PyObject *r = PyStackless_CallFunction(&descend_decl, Py_None, NULL, NULL, NULL, g_depth, NULL);
    STACKLESS_ASSERT();
    return r;
}
static PyMethodDef def_deep = {"deep", body_deep, METH_NOARGS | METH_STACKLESS, NULL};

static void deep_frames(long depth) {
    CHECK_EQ_INT(PyStackless_InitFunctionDeclaration(&descend_decl, NULL, NULL), 0);
    g_depth = depth;
    PyTaskletObject *t = spawn(&def_deep, NULL);
    CHECK(t != NULL);
    if (t == NULL) return;
    PyObject *r = PyStackless_RunWatchdog(0);
    CHECK(r != NULL);
    Py_XDECREF(r);
    CHECK_EQ_INT(PyTasklet_Paused(t), 1);
    CHECK_EQ_INT(PyTasklet_Restorable(t), 1); /* soft frames only: no C state */
    CHECK(PyTasklet_GetRecursionDepth(t) > depth);
    CHECK_EQ_INT(PyTasklet_BindEx(t, NULL, NULL, NULL), 0);
    CHECK_NO_EXC();
    CHECK_EQ_INT(PyTasklet_Alive(t), 0);
    Py_DECREF(t);
}

/* Creates n tasklets running def (with soft switching enabled or not), blocks them all on
 * g_ch, measures what they add to the resident size, releases them and checks that all
 * finished. Prints the figures (unless kind is NULL) and returns bytes per tasklet. */
static double block_all(PyMethodDef *def, long n, const char *kind, int soft) {
    PyStackless_EnableSoftswitch(soft);
    PyTaskletObject **ts = malloc((size_t)n * sizeof *ts);
    CHECK(ts != NULL);
    if (ts == NULL) return -1;
    memset(ts, 0, (size_t)n * sizeof *ts); /* touched now, so not counted below */
    PyObject *f = make_func(def);
    PyObject *noargs = PyTuple_New(0);
    g_ch = PyChannel_New(NULL);
    g_started = g_hard_done = 0;

    long rss0 = proc_status_bytes("VmRSS"), hwm0 = proc_status_bytes("VmHWM");
    double t0 = now();
    int setup_failures = 0;
    for (long i = 0; i < n; i++) {
        ts[i] = PyTasklet_New(NULL, f);
        if (ts[i] == NULL || PyTasklet_Setup(ts[i], noargs, NULL) < 0) setup_failures++;
    }
    CHECK_EQ_INT(setup_failures, 0);
    CHECK_EQ_INT(PyStackless_GetRunCount(), n + 1);
    run_all(); /* every body runs and blocks */
    double t1 = now();
    long rss1 = proc_status_bytes("VmRSS"), hwm1 = proc_status_bytes("VmHWM");
    CHECK_EQ_INT(g_started, n);
    CHECK_EQ_INT(PyChannel_GetBalance(g_ch), -n);
    CHECK_EQ_INT(PyStackless_GetRunCount(), 1);
    CHECK_EQ_INT(PyTasklet_GetBlocked(ts[0]), -1);
    CHECK_EQ_INT(PyTasklet_GetBlocked(ts[n - 1]), -1);
    CHECK_EQ_INT(PyTasklet_Restorable(ts[0]), soft && def == &def_soft);
    CHECK_EQ_INT(PyTasklet_Restorable(ts[n - 1]), soft && def == &def_soft);

    /* Release: preference 1 keeps main running while it wakes every receiver. */
    PyChannel_SetPreference(g_ch, 1);
    int send_failures = 0;
    for (long i = 0; i < n; i++) {
        PyObject *v = PyLong_FromLong(i);
        if (PyChannel_Send(g_ch, v) < 0) send_failures++;
        Py_DECREF(v);
    }
    CHECK_EQ_INT(send_failures, 0);
    CHECK_EQ_INT(PyChannel_GetBalance(g_ch), 0);
    CHECK_EQ_INT(PyStackless_GetRunCount(), n + 1);
    run_all();
    double t2 = now();
    long finished = 0;
    for (long i = 0; i < n; i++) {
        finished += ts[i] != NULL && PyTasklet_Alive(ts[i]) == 0;
        Py_XDECREF(ts[i]);
    }
    CHECK_EQ_INT(finished, n);
    if (def == &def_hard) CHECK_EQ_INT(g_hard_done, n);
    CHECK_EQ_INT(PyStackless_GetRunCount(), 1);
    CHECK_EQ_INT(PyChannel_GetBalance(g_ch), 0);
    CHECK_NO_EXC();

    double per = rss0 < 0 || rss1 < 0 ? -1 : (double)(rss1 - rss0) / (double)n;
    if (kind != NULL)
        printf("%s: %ld tasklets blocked at once: VmRSS %+.1f MiB = %.0f bytes per blocked "
               "tasklet (VmHWM %+.1f MiB); create+block %.2f s, release+finish %.2f s\n",
               kind, n, (double)(rss1 - rss0) / 1048576.0, per,
               (double)(hwm1 - hwm0) / 1048576.0, t1 - t0, t2 - t1);
    fflush(stdout);
    Py_DECREF(g_ch);
    g_ch = NULL;
    Py_DECREF(noargs);
    Py_DECREF(f);
    free(ts);
    PyStackless_EnableSoftswitch(1);
    return per;
}

int main(void) {
    int vg = running_on_valgrind();
    long n_soft = vg ? 2000 : 1000000, n_hard = vg ? 200 : 10000;

    /* Warm up: main, a runner stack, the allocator. */
    g_ch = PyChannel_New(NULL);
    PyTaskletObject *w = PyTasklet_New(NULL, NULL);
    Py_XDECREF(w);
    Py_DECREF(g_ch);
    g_ch = NULL;
    block_all(&def_soft, 10, NULL, 1);
    block_all(&def_hard, 10, NULL, 1);

    /* Hard first: memory freed by the million soft tasklets stays with the allocator and
     * would hide the tasklet objects of the hard ones. */
    double hard = block_all(&def_hard, n_hard, "hard (plain PyChannel_Receive)", 1);
    double soft = block_all(&def_soft, n_soft, "soft (PyChannel_Receive_nr tail call)", 1);
    if (!vg) {
        CHECK(soft > 0 && soft < 512);
        CHECK(hard > 0 && hard < 65536);
        CHECK(hard > soft);
    }
    /* The same bodies with soft switching disabled: the tail-call receivers block hard. */
    block_all(&def_soft, n_hard, "hard (the same tail call, soft switching disabled)", 0);
    PyStackless_EnableSoftswitch(1);
    deep_frames(vg ? 2000 : 1000000);
    return check_report();
}
