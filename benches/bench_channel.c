/* bench_channel: ping-pong between two tasklets over two channels (default preference -1).
 * "ping" sends on c1 and receives the answer on c2; "pong" receives on c1 and answers on c2.
 *
 * Figures (ns per message, one message one way: a round trip is two messages):
 *   channel_hard_ns_per_msg   plain PyChannel_Send / PyChannel_Receive from the bodies: every
 *                             switch is hard
 *   channel_soft_ns_per_msg   each side runs a soft-switchable function that calls
 *                             PyChannel_Send / PyChannel_Receive with STACKLESS_PROMOTE_ALL():
 *                             every blocking call switches soft (checked: one soft switch
 *                             per message)
 * Each run passes 1,000,000 messages (500,000 round trips); timing and output format: see
 * bench.h. */
#include "bench.h"

#define MESSAGES 1000000L

static PyChannelObject *c1, *c2;
static PyObject *msg; /* the message: one int object, sent over and over */

/* ---- hard --------------------------------------------------------------------------------- */

static PyObject *ping_hard(PyObject *self, PyObject *arg) {
    (void)self;
    long n = PyLong_AsLong(arg);
    for (long i = 0; i < n; i++) {
        if (PyChannel_Send(c1, msg) < 0) return NULL;
        PyObject *r = PyChannel_Receive(c2);
        if (r == NULL) return NULL;
        Py_DECREF(r);
    }
    Py_RETURN_NONE;
}
static PyMethodDef ping_hard_def = {"ping_hard", ping_hard, METH_O, NULL};

static PyObject *pong_hard(PyObject *self, PyObject *arg) {
    (void)self;
    long n = PyLong_AsLong(arg);
    for (long i = 0; i < n; i++) {
        PyObject *r = PyChannel_Receive(c1);
        if (r == NULL) return NULL;
        int rc = PyChannel_Send(c2, r);
        Py_DECREF(r);
        if (rc < 0) return NULL;
    }
    Py_RETURN_NONE;
}
static PyMethodDef pong_hard_def = {"pong_hard", pong_hard, METH_O, NULL};

/* ---- soft --------------------------------------------------------------------------------- */

static long soft_switches; /* blocking calls that switched soft */
static long direct_returns; /* calls that returned their result directly (no switch, or hard) */

/* A channel action with the caller's stackless flag promoted: returns Py_UnwindToken when it
 * switched soft, else the received value / Py_None for a send (new references), or NULL. */
static PyObject *act(int stackless, int send, PyChannelObject *c, PyObject *v) {
    STACKLESS_PROMOTE_ALL();
    if (send) {
        int rc = PyChannel_Send(c, v);
        STACKLESS_ASSERT();
        if (rc == 1) return (PyObject *)Py_UnwindToken;
        if (rc < 0) return NULL;
        Py_RETURN_NONE;
    }
    PyObject *r = PyChannel_Receive(c);
    STACKLESS_ASSERT();
    return r;
}

/* One side of the ping-pong as a state machine. *n = round trips left; *step: 0 = about to
 * start a round trip, 1 = its first action is done (re-entered with that action's result
 * after a soft switch), 2 = its second action is done. Ping sends on c1 then receives on c2;
 * pong receives on c1 (keeping the value in *ob1) then sends it back on c2. */
static PyObject *side(int ping, PyObject *retval, long *step, PyObject **ob1, long *n) {
    STACKLESS_GETARG();
    if (retval == NULL) return NULL;
    PyObject *owned = NULL; /* a result returned directly (not through a soft switch) */
    for (;;) {
        if (*step == 0) {
            if (*n == 0) Py_RETURN_NONE;
            *step = 1;
            PyObject *r = act(stackless, ping, c1, msg);
            if (STACKLESS_UNWINDING(r)) {
                soft_switches++;
                return r;
            }
            if (r == NULL) return NULL;
            direct_returns++;
            retval = owned = r;
        }
        if (*step == 1) {
            if (!ping) Py_XSETREF(*ob1, Py_NewRef(retval));
            Py_CLEAR(owned);
            *step = 2;
            PyObject *r = act(stackless, !ping, c2, *ob1);
            if (STACKLESS_UNWINDING(r)) {
                soft_switches++;
                return r;
            }
            if (r == NULL) return NULL;
            direct_returns++;
            Py_DECREF(r);
        }
        /* *step == 2: the round trip is done */
        --*n;
        *step = 0;
    }
}

static PyObject *ping_loop(PyObject *retval, long *step, PyObject **ob1, PyObject **ob2,
                           PyObject **ob3, long *n, void **any) {
    (void)ob2, (void)ob3, (void)any;
    return side(1, retval, step, ob1, n);
}
static PyObject *pong_loop(PyObject *retval, long *step, PyObject **ob1, PyObject **ob2,
                           PyObject **ob3, long *n, void **any) {
    (void)ob2, (void)ob3, (void)any;
    return side(0, retval, step, ob1, n);
}
static PyStacklessFunctionDeclarationObject ping_decl = {
    PyObject_HEAD_INIT(NULL) ping_loop, "ping_loop", NULL};
static PyStacklessFunctionDeclarationObject pong_decl = {
    PyObject_HEAD_INIT(NULL) pong_loop, "pong_loop", NULL};

static PyObject *start_soft(PyStacklessFunctionDeclarationObject *decl, PyObject *arg) {
    STACKLESS_GETARG();
    long n = PyLong_AsLong(arg);
    STACKLESS_PROMOTE_ALL();
    PyObject *r = PyStackless_CallFunction(decl, Py_None, NULL, NULL, NULL, n, NULL);
    STACKLESS_ASSERT();
    return r;
}
/* The bodies are METH_STACKLESS: the frame loop passes them the stackless flag. */
static PyObject *ping_soft(PyObject *self, PyObject *arg) {
    (void)self;
    return start_soft(&ping_decl, arg);
}
static PyObject *pong_soft(PyObject *self, PyObject *arg) {
    (void)self;
    return start_soft(&pong_decl, arg);
}
static PyMethodDef ping_soft_def = {"ping_soft", ping_soft, METH_O | METH_STACKLESS, NULL};
static PyMethodDef pong_soft_def = {"pong_soft", pong_soft, METH_O | METH_STACKLESS, NULL};

/* ---- driver ------------------------------------------------------------------------------- */

static double run_pingpong(void *vsoft, char *why) {
    int soft = *(int *)vsoft;
    long rounds = MESSAGES / 2;
    PyObject *n = PyLong_FromLong(rounds);
    if (n == NULL) return bench_fail(why, "PyLong_FromLong");
    PyTaskletObject *pong = bench_spawn(soft ? &pong_soft_def : &pong_hard_def, n);
    PyTaskletObject *ping = bench_spawn(soft ? &ping_soft_def : &ping_hard_def, n);
    Py_DECREF(n);
    if (pong == NULL || ping == NULL) return bench_fail(why, "creating the tasklets");
    Py_DECREF(pong);
    Py_DECREF(ping);
    soft_switches = direct_returns = 0;
    double t0 = bench_now_ns();
    PyObject *r = PyStackless_RunWatchdog(0);
    double t1 = bench_now_ns();
    if (r == NULL) return bench_fail(why, "PyStackless_RunWatchdog");
    Py_DECREF(r);
    if (PyChannel_GetBalance(c1) != 0 || PyChannel_GetBalance(c2) != 0) {
        snprintf(why, 200, "the ping-pong did not finish");
        return -1;
    }
    if (getenv("BENCH_VERBOSE"))
        fprintf(stderr, "%s: %ld soft switches, %ld direct returns\n",
                soft ? "soft" : "hard", soft_switches, direct_returns);
    if (soft && soft_switches < 2 * rounds - 2) {
        snprintf(why, 200,
                 "soft switching did not happen (%ld soft switches, %ld calls returned "
                 "directly); is soft switching enabled?",
                 soft_switches, direct_returns);
        return -1;
    }
    return (t1 - t0) / (double)(2 * rounds);
}

int main(void) {
    if (PyStackless_InitFunctionDeclaration(&ping_decl, NULL, NULL) < 0 ||
        PyStackless_InitFunctionDeclaration(&pong_decl, NULL, NULL) < 0) {
        PyErr_Print();
        return 1;
    }
    c1 = PyChannel_New(NULL);
    c2 = PyChannel_New(NULL);
    msg = PyLong_FromLong(42);
    if (c1 == NULL || c2 == NULL || msg == NULL) {
        PyErr_Print();
        return 1;
    }
    int hard = 0, soft = 1;
    bench_report("channel_hard_ns_per_msg", run_pingpong, &hard);
    bench_report("channel_soft_ns_per_msg", run_pingpong, &soft);
    Py_DECREF(c1);
    Py_DECREF(c2);
    Py_DECREF(msg);
    return 0;
}
