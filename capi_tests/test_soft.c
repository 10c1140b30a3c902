/* test_soft.c: soft switching (SPEC §7, reference/stackless-semantics.md §3.5, §4.10, §4.12,
 * catalogue rows B014-B021, B062, B156-B158).
 *
 * What is covered:
 *   1. the stackless protocol: STACKLESS_GETARG / PROMOTE_ALL / PROMOTE_FLAG / RETRACT over
 *      the per-thread flag, and which library calls consume it;
 *   2. soft-switchable function declarations and PyStackless_CallFunction called directly;
 *   3. the `_nr` return codes (SPEC §2, §7, §11): 1 / Py_UnwindToken from a body at nesting
 *      level 0 with soft switching enabled; 0 / the value from main, from a nested
 *      PyObject_Call level, with soft switching disabled, and when nothing switches;
 *      PyStackless_EnableSoftswitch(-1) inquires;
 *   4. B156 (a state machine calling PyStackless_Schedule(retval, remove) with
 *      STACKLESS_PROMOTE_ALL: tempval, paused, restorable, result), B157 (a state machine
 *      calling back with PyObject_Call: nesting level in the callback, error chaining),
 *      B158 (two tasklets doing 100 PyStackless_Schedule_nr each);
 *   5. B014-B021 with receiver and sender written as soft-switchable functions (the `_nr`
 *      calls, and the plain calls with STACKLESS_PROMOTE_ALL): the catalogue's traces;
 *   6. an equivalence harness: scheduling / channel / kill / exception scenarios written for
 *      a soft-switchable script interpreter, each run with soft switching on and off; the
 *      two traces must be identical (and equal to the expected one);
 *   7. "an API call while a soft switch is pending" is a SystemError;
 *   8. runner-stack economy and the state of soft tasklets: 1000 tasklets x 10 soft
 *      schedules, PyTasklet_Restorable / GetFrame / GetNestingLevel / GetRecursionDepth of
 *      soft-suspended and hard-blocked tasklets, PyTasklet_BindEx(t, NULL, NULL, NULL) on a
 *      paused soft tasklet (B062) and on a hard one, killing a soft-suspended tasklet.
 *
 * Sections 4-8 run twice: with soft switching enabled, then disabled (where a soft-specific
 * expectation differs, the check says so). Every tasklet is finished and every reference
 * released at the end of each test (the valgrind variant checks it). */
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>

#include "tasklet_util.h"

#define TOKEN ((PyObject *)Py_UnwindToken)
#define DECL PyStacklessFunctionDeclarationObject

static int g_soft; /* soft switching is enabled in this pass */

/* ---- small helpers ------------------------------------------------------------------- */

/* fails() of tasklet_util.h for calls that may return the unwind token (`_nr` calls, calls
 * with the stackless flag): an unexpected result is released unless it is the token. */
static int fails_nr(PyObject *r) {
    if (r != NULL && r != TOKEN) Py_DECREF(r);
    return r == NULL;
}

/* Releases a result that may be the unwind token (never reference counted). */
static void release(PyObject *r) {
    if (r != TOKEN) Py_XDECREF(r);
}

static long long_of(PyObject *o) { return o != NULL && PyLong_Check(o) ? PyLong_AsLong(o) : -999; }

/* The nesting level of the running tasklet. */
static int current_nesting(void) {
    PyTaskletObject *c = get_current();
    int n = PyTasklet_GetNestingLevel(c);
    Py_DECREF(c);
    return n;
}

/* "Type(message)" of an exception instance. */
static void describe_exc(PyObject *exc, char *buf, size_t size) {
    PyObject *name = PyType_GetName(Py_TYPE(exc));
    PyObject *s = PyObject_Str(exc);
    snprintf(buf, size, "%s(%s)", name ? PyUnicode_AsUTF8(name) : "?",
             s ? PyUnicode_AsUTF8(s) : "?");
    Py_XDECREF(name);
    Py_XDECREF(s);
}

/* The short type name of the pending exception ("none" if none); leaves it pending. */
static const char *pending_name(void) {
    static char buf[64];
    PyObject *exc = PyErr_GetRaisedException();
    if (exc == NULL) return "none";
    PyObject *name = PyType_GetName(Py_TYPE(exc));
    snprintf(buf, sizeof buf, "%s", name ? PyUnicode_AsUTF8(name) : "?");
    Py_XDECREF(name);
    PyErr_SetRaisedException(exc);
    return buf;
}

/* Every test ends with no pending exception and only main runnable. */
static void end_test(void) {
    check_idle();
    CHECK_EQ_INT(_PyStackless_TRY_STACKLESS, 0);
}

/* A plain tasklet body (not METH_STACKLESS): logs its single str argument. */
static PyObject *body_log(PyObject *self, PyObject *args) {
    (void)self;
    log_event(arg_str(args, 0));
    Py_RETURN_NONE;
}
static PyMethodDef def_log = {"body_log", body_log, METH_VARARGS, NULL};

/* ---- the generic entry of a soft-switchable function ---------------------------------
 * soft_entry is a METH_STACKLESS function bound to a declaration (its `self`). Called as a
 * tasklet body as soft_entry(arg, n[, ob1[, ob2[, ob3]]]), it calls the declared function
 * through PyStackless_CallFunction with the stackless flag it was given, so that in soft
 * mode the function runs as a frame of the frame loop, and returns its result (or the
 * unwind token) as the tail call the protocol requires. */
static int g_entry_stackless = -1;

static PyObject *soft_entry(PyObject *self, PyObject *args) {
    STACKLESS_GETARG();
    Py_ssize_t na = PyTuple_Size(args);
    PyObject *arg = PyTuple_GetItem(args, 0);
    long n = PyLong_AsLong(PyTuple_GetItem(args, 1));
    PyObject *o[3] = {NULL, NULL, NULL};
    for (Py_ssize_t i = 2; i < na && i < 5; i++) o[i - 2] = PyTuple_GetItem(args, i);
    g_entry_stackless = stackless;
    STACKLESS_PROMOTE_ALL();
    PyObject *r = PyStackless_CallFunction((DECL *)self, arg, o[0], o[1], o[2], n, NULL);
    STACKLESS_ASSERT();
    return r;
}
static PyMethodDef def_soft_entry = {"soft_entry", soft_entry, METH_VARARGS | METH_STACKLESS,
                                     NULL};

/* A new tasklet, set up (scheduled), whose body is soft_entry bound to `d`: it runs
 * d(arg, n, o1, o2, o3) (all borrowed; trailing NULLs are left out). */
static PyTaskletObject *spawn_soft(DECL *d, PyObject *arg, long n, PyObject *o1, PyObject *o2,
                                   PyObject *o3) {
    int na = 2 + (o1 != NULL) + (o1 && o2) + (o1 && o2 && o3);
    PyObject *args = PyTuple_New(na);
    PyTuple_SetItem(args, 0, Py_NewRef(arg));
    PyTuple_SetItem(args, 1, L(n));
    PyObject *o[3] = {o1, o2, o3};
    for (int i = 2; i < na; i++) PyTuple_SetItem(args, i, Py_NewRef(o[i - 2]));
    PyObject *f = PyCFunction_New(&def_soft_entry, (PyObject *)d);
    PyTaskletObject *t = PyTasklet_New(NULL, f);
    Py_XDECREF(f);
    if (t == NULL || PyTasklet_Setup(t, args, NULL) < 0) check_fail(__FILE__, __LINE__, "spawn_soft");
    Py_DECREF(args);
    return t;
}

/* Initializes a declaration (once). */
static void init_decl(DECL *d, const char *module) {
    if (Py_TYPE((PyObject *)d) != NULL) return;
    PyObject *m = module ? S(module) : NULL;
    CHECK_EQ_INT(PyStackless_InitFunctionDeclaration(d, m, NULL), 0);
    Py_XDECREF(m);
}

/* =========================================================================================
 * 1. The stackless protocol flag
 * ========================================================================================= */

static int g_probe_after = -1;

/* A protocol-aware function: takes the flag and reports what it saw. */
static int probe_getarg(void) {
    STACKLESS_GETARG();
    g_probe_after = _PyStackless_TRY_STACKLESS;
    return stackless;
}

static int g_callee_stackless = -1;

static PyObject *callee_aware(PyObject *self, PyObject *unused) {
    STACKLESS_GETARG();
    (void)self;
    (void)unused;
    g_callee_stackless = stackless;
    g_probe_after = _PyStackless_TRY_STACKLESS;
    Py_RETURN_NONE;
}
static PyMethodDef def_callee_aware = {"callee_aware", callee_aware,
                                       METH_NOARGS | METH_STACKLESS, NULL};

static PyObject *callee_plain(PyObject *self, PyObject *unused) {
    STACKLESS_GETARG();
    (void)self;
    (void)unused;
    g_callee_stackless = stackless;
    Py_RETURN_NONE;
}
static PyMethodDef def_callee_plain = {"callee_plain", callee_plain, METH_NOARGS, NULL};

static void *thread_flag(void *arg) {
    int *seen = arg;
    seen[0] = _PyStackless_TRY_STACKLESS; /* this thread's own flag */
    _PyStackless_TRY_STACKLESS = 5;
    seen[1] = probe_getarg() != 0;
    seen[2] = _PyStackless_TRY_STACKLESS;
    return NULL;
}

/* A trivial soft-switchable function for the protocol checks: returns n + 1. */
static int g_trivial_stackless = -1;
static PyObject *trivial_ssf(PyObject *retval, long *step, PyObject **ob1, PyObject **ob2,
                             PyObject **ob3, long *n, void **any) {
    STACKLESS_GETARG();
    (void)retval, (void)step, (void)ob1, (void)ob2, (void)ob3, (void)any;
    g_trivial_stackless = stackless;
    return L(*n + 1);
}
static DECL trivial_decl = {PyObject_HEAD_INIT(NULL) trivial_ssf, "trivial", NULL};

static void test_protocol_flag(void) {
    fprintf(stderr, "-- protocol flag\n");
    /* The flag is a per-thread lvalue, 0 at start. */
    CHECK(_PyStackless_TryStacklessPtr() != NULL);
    CHECK(_PyStackless_TryStacklessPtr() == _PyStackless_TryStacklessPtr());
    CHECK_EQ_INT(_PyStackless_TRY_STACKLESS, 0);

    /* STACKLESS_GETARG moves the flag into `stackless` and clears it. */
    _PyStackless_TRY_STACKLESS = 1;
    CHECK_EQ_INT(probe_getarg(), 1);
    CHECK_EQ_INT(g_probe_after, 0);
    CHECK_EQ_INT(_PyStackless_TRY_STACKLESS, 0);
    CHECK_EQ_INT(probe_getarg(), 0);
    CHECK_EQ_INT(g_probe_after, 0);
    /* _PyStackless_GetTryStackless is the function behind it. */
    _PyStackless_TRY_STACKLESS = 1;
    CHECK(_PyStackless_GetTryStackless() != 0);
    CHECK_EQ_INT(_PyStackless_TRY_STACKLESS, 0);
    CHECK_EQ_INT(_PyStackless_GetTryStackless(), 0);

    {
        /* STACKLESS_PROMOTE_ALL copies `stackless` into the flag, 1 or 0. */
        int stackless = 1;
        STACKLESS_PROMOTE_ALL();
        CHECK_EQ_INT(_PyStackless_TRY_STACKLESS, 1);
        stackless = 0;
        STACKLESS_PROMOTE_ALL();
        CHECK_EQ_INT(_PyStackless_TRY_STACKLESS, 0);

        /* STACKLESS_PROMOTE_FLAG(flag): with `stackless` set, the flag becomes `flag` and
         * the macro yields it; without, it yields 0 and leaves the flag alone. */
        stackless = 1;
        CHECK_EQ_INT(STACKLESS_PROMOTE_FLAG(METH_STACKLESS), METH_STACKLESS);
        CHECK_EQ_INT(_PyStackless_TRY_STACKLESS, METH_STACKLESS);
        CHECK(probe_getarg() != 0); /* a callee sees a true flag */
        CHECK_EQ_INT(_PyStackless_TRY_STACKLESS, 0);
        CHECK_EQ_INT(STACKLESS_PROMOTE_FLAG(0), 0);
        CHECK_EQ_INT(_PyStackless_TRY_STACKLESS, 0);
        stackless = 0;
        CHECK_EQ_INT(STACKLESS_PROMOTE_FLAG(1), 0);
        CHECK_EQ_INT(_PyStackless_TRY_STACKLESS, 0);
        _PyStackless_TRY_STACKLESS = 1;
        CHECK_EQ_INT(STACKLESS_PROMOTE_FLAG(7), 0);
        CHECK_EQ_INT(_PyStackless_TRY_STACKLESS, 1); /* untouched */

        /* STACKLESS_RETRACT clears it unconditionally; STACKLESS_ASSERT then holds. */
        STACKLESS_RETRACT();
        CHECK_EQ_INT(_PyStackless_TRY_STACKLESS, 0);
        STACKLESS_ASSERT();
        stackless = 1;
        STACKLESS_PROMOTE_ALL();
        STACKLESS_RETRACT();
        CHECK_EQ_INT(_PyStackless_TRY_STACKLESS, 0);
    }

    /* The flag is per thread. */
    _PyStackless_TRY_STACKLESS = 1;
    int seen[3] = {-1, -1, -1};
    pthread_t th;
    CHECK_EQ_INT(pthread_create(&th, NULL, thread_flag, seen), 0);
    CHECK_EQ_INT(pthread_join(th, NULL), 0);
    CHECK_EQ_INT(seen[0], 0);
    CHECK_EQ_INT(seen[1], 1);
    CHECK_EQ_INT(seen[2], 0);
    CHECK_EQ_INT(_PyStackless_TRY_STACKLESS, 1);
    STACKLESS_RETRACT();

    /* Protocol-aware library calls consume the flag. From main nothing switches soft. */
    {
        int stackless = 1;
        /* PyStackless_Schedule with nothing else runnable returns at once (no switch). */
        STACKLESS_PROMOTE_ALL();
        PyObject *r = PyStackless_Schedule(Py_None, 0);
        STACKLESS_ASSERT();
        CHECK(r == Py_None);
        release(r);
        CHECK_EQ_INT(_PyStackless_TRY_STACKLESS, 0);

        /* PyObject_Call passes the flag to a METH_STACKLESS callee ... */
        PyObject *aware = make_func(&def_callee_aware);
        PyObject *plain = make_func(&def_callee_plain);
        PyObject *noargs = PyTuple_New(0);
        g_callee_stackless = -1;
        STACKLESS_PROMOTE_ALL();
        r = PyObject_Call(aware, noargs, NULL);
        CHECK(r == Py_None);
        release(r);
        CHECK(g_callee_stackless != 0);
        CHECK_EQ_INT(g_probe_after, 0);
        CHECK_EQ_INT(_PyStackless_TRY_STACKLESS, 0);
        /* ... not when the caller did not promote ... */
        g_callee_stackless = -1;
        r = PyObject_Call(aware, noargs, NULL);
        release(r);
        CHECK_EQ_INT(g_callee_stackless, 0);
        /* ... and never to a callee that does not obey the protocol (it is not told, and
         * the flag does not leak past the call). */
        g_callee_stackless = -1;
        STACKLESS_PROMOTE_ALL();
        r = PyObject_Call(plain, noargs, NULL);
        CHECK(r == Py_None);
        release(r);
        CHECK_EQ_INT(g_callee_stackless, 0);
        CHECK_EQ_INT(_PyStackless_TRY_STACKLESS, 0);
        /* PyObject_CallNoArgs / PyObject_CallObject take the same route. */
        g_callee_stackless = -1;
        STACKLESS_PROMOTE_ALL();
        r = PyObject_CallNoArgs(aware);
        release(r);
        CHECK(g_callee_stackless != 0);
        CHECK_EQ_INT(_PyStackless_TRY_STACKLESS, 0);
        Py_DECREF(noargs);
        Py_DECREF(aware);
        Py_DECREF(plain);

                /* PyStackless_CallFunction from main: a direct call (no frame, no token). The
         * function is given the caller's flag (so its own promoted calls stay at this level);
         * it still cannot switch soft: it runs in main. */
        init_decl(&trivial_decl, NULL);
        g_trivial_stackless = -1;
        STACKLESS_PROMOTE_ALL();
        r = PyStackless_CallFunction(&trivial_decl, Py_None, NULL, NULL, NULL, 41, NULL);
        STACKLESS_ASSERT();
        CHECK(r != TOKEN);
        CHECK_EQ_INT(long_of(r), 42);
        release(r);
                CHECK_EQ_INT(g_trivial_stackless, 1);
        CHECK_EQ_INT(_PyStackless_TRY_STACKLESS, 0);

        /* A failing protocol-aware call consumes the flag too. */
        STACKLESS_PROMOTE_ALL();
        CHECK(fails_nr(PyStackless_CallFunction(NULL, Py_None, NULL, NULL, NULL, 0, NULL)));
        CHECK_EXC_CONTAINS(PyExc_SystemError, "PyStackless_CallFunction");
        CHECK_EQ_INT(_PyStackless_TRY_STACKLESS, 0);
        STACKLESS_PROMOTE_ALL();
        CHECK(fails_nr(PyChannel_Receive(NULL)));
        CHECK_EXC_CONTAINS(PyExc_SystemError, "PyChannel_Receive");
        CHECK_EQ_INT(_PyStackless_TRY_STACKLESS, 0);
        STACKLESS_PROMOTE_ALL();
        CHECK_EQ_INT(PyChannel_Send(NULL, Py_None), -1);
        CHECK_EXC_CONTAINS(PyExc_SystemError, "PyChannel_Send");
        CHECK_EQ_INT(_PyStackless_TRY_STACKLESS, 0);
        STACKLESS_PROMOTE_ALL();
        CHECK_EQ_INT(PyTasklet_Run(NULL), -1);
        CHECK_EXC_CONTAINS(PyExc_SystemError, "PyTasklet_Run");
        CHECK_EQ_INT(_PyStackless_TRY_STACKLESS, 0);
    }
    end_test();
}

/* =========================================================================================
 * 2. Declarations and PyStackless_CallFunction called directly
 * ========================================================================================= */

/* Records what it is given, replaces *ob1 with *ob2, and returns (retval, n). */
static struct {
    int calls, stackless;
    long step, n;
    PyObject *retval, *ob1, *ob2, *ob3;
    void *any;
    int exc_pending;
} g_seen;

static PyObject *inspect_ssf(PyObject *retval, long *step, PyObject **ob1, PyObject **ob2,
                             PyObject **ob3, long *n, void **any) {
    STACKLESS_GETARG();
    g_seen.calls++;
    g_seen.stackless = stackless;
    g_seen.step = *step;
    g_seen.n = *n;
    g_seen.retval = retval;
    g_seen.ob1 = *ob1;
    g_seen.ob2 = *ob2;
    g_seen.ob3 = *ob3;
    g_seen.any = *any;
    g_seen.exc_pending = PyErr_Occurred() != NULL;
    if (retval == NULL) return NULL;
    /* The state is in/out: the function may replace an object (owning the new one). */
    if (*ob2 != NULL) Py_SETREF(*ob1, Py_NewRef(*ob2));
    *step = 99;
    return tuple_steal(2, Py_NewRef(retval), L(*n));
}
static DECL inspect_decl = {PyObject_HEAD_INIT(NULL) inspect_ssf, "inspect", NULL};

static void test_declarations(void) {
    fprintf(stderr, "-- declarations and direct calls\n");
    init_decl(&inspect_decl, "test_soft");
    CHECK(Py_TYPE((PyObject *)&inspect_decl) == &PyStacklessFunctionDeclaration_Type);
    CHECK_EQ_INT(PyStacklessFunctionDeclarationType_CheckExact((PyObject *)&inspect_decl), 1);
    CHECK_EQ_INT(PyStacklessFunctionDeclaration_CheckExact((PyObject *)&inspect_decl), 1);
    CHECK_EQ_INT(PyStacklessFunctionDeclarationType_CheckExact(Py_None), 0);
    CHECK_STR(inspect_decl.name, "inspect");
    CHECK_STR(inspect_decl.module_name, "test_soft");
    CHECK(inspect_decl.sfunc == inspect_ssf);

    /* A direct call (no stackless flag): step starts at 0, the state is passed in, and the
     * result comes back. The function's replacements of ob1..3 are released afterwards. */
    PyObject *arg = S("arg");
    PyObject *a = S("a"), *b = S("b"), *c = S("c");
    Py_ssize_t ra = Py_REFCNT(a), rb = Py_REFCNT(b), rc = Py_REFCNT(c), rarg = Py_REFCNT(arg);
    int any_target;
    memset(&g_seen, 0, sizeof g_seen);
    PyObject *r = PyStackless_CallFunction(&inspect_decl, arg, a, b, c, 7, &any_target);
    CHECK_EQ_INT(g_seen.calls, 1);
    CHECK_EQ_INT(g_seen.stackless, 0);
    CHECK_EQ_INT(g_seen.step, 0);
    CHECK_EQ_INT(g_seen.n, 7);
    CHECK(g_seen.retval == arg);
    CHECK(g_seen.ob1 == a && g_seen.ob2 == b && g_seen.ob3 == c);
    CHECK(g_seen.any == &any_target);
    CHECK_EQ_INT(g_seen.exc_pending, 0);
    CHECK(r != NULL && r != TOKEN && PyTuple_Check(r));
    if (r != NULL && r != TOKEN && PyTuple_Check(r)) {
        CHECK(PyTuple_GetItem(r, 0) == arg);
        CHECK_EQ_INT(long_of(PyTuple_GetItem(r, 1)), 7);
    }
    release(r);
    CHECK_EQ_INT(Py_REFCNT(a), ra);
    CHECK_EQ_INT(Py_REFCNT(b), rb);
    CHECK_EQ_INT(Py_REFCNT(c), rc);
    CHECK_EQ_INT(Py_REFCNT(arg), rarg);

    /* A NULL arg means "an exception is pending": the function gets NULL with it. */
    memset(&g_seen, 0, sizeof g_seen);
    PyErr_SetString(PyExc_KeyError, "pending");
    CHECK(fails_nr(PyStackless_CallFunction(&inspect_decl, NULL, NULL, NULL, NULL, 0, NULL)));
    CHECK_EQ_INT(g_seen.calls, 1);
    CHECK(g_seen.retval == NULL);
    CHECK_EQ_INT(g_seen.exc_pending, 1);
    CHECK_EXC(PyExc_KeyError, "'pending'");

    /* The declaration is immortal: calls do not change its refcount. */
    Py_ssize_t rd = Py_REFCNT((PyObject *)&inspect_decl);
    r = PyStackless_CallFunction(&inspect_decl, arg, NULL, NULL, NULL, 0, NULL);
    release(r);
    CHECK_EQ_INT(Py_REFCNT((PyObject *)&inspect_decl), rd);

    Py_DECREF(arg);
    Py_DECREF(a);
    Py_DECREF(b);
    Py_DECREF(c);
    end_test();
}

/* =========================================================================================
 * 3. _nr return codes
 * ========================================================================================= */

static PyChannelObject *g_ch; /* the channel of the current test (borrowed) */
static PyTaskletObject *g_other; /* a tasklet for Run_nr / Switch_nr (borrowed) */

enum { NR_SCHED, NR_SCHED_ALONE, NR_RUN, NR_SWITCH, NR_SEND, NR_RECV, NR_CALLFUNC };
static const char *const nr_names[] = {"Schedule_nr", "Schedule_nr(alone)", "Run_nr",
                                       "Switch_nr", "Send_nr", "Receive_nr", "CallFunction"};
static int g_nr_which;
static int g_nr_code;    /* what the call returned: 1 token, 0 value/no switch, -1 failure */
static int g_nr_nesting; /* the nesting level at the call */

/* Makes the selected `_nr` call and returns what the protocol says: the token after a soft
 * switch, the result otherwise (all these calls are in tail position). */
static PyObject *nr_call(void) {
    g_nr_nesting = current_nesting();
    PyObject *r = NULL;
    int rc = 0;
    switch (g_nr_which) {
    case NR_SCHED:
    case NR_SCHED_ALONE:
        r = PyStackless_Schedule_nr(Py_None, 0);
        g_nr_code = r == NULL ? -1 : r == TOKEN ? 1 : 0;
        if (r != NULL && r != TOKEN) CHECK(r == Py_None);
        return r;
    case NR_RECV:
        r = PyChannel_Receive_nr(g_ch);
        g_nr_code = r == NULL ? -1 : r == TOKEN ? 1 : 0;
        return r;
    case NR_CALLFUNC: {
        /* PyStackless_CallFunction with the flag promoted from a stackless caller. */
        int stackless = 1;
        STACKLESS_PROMOTE_ALL();
        r = PyStackless_CallFunction(&trivial_decl, Py_None, NULL, NULL, NULL, 1, NULL);
        STACKLESS_ASSERT();
        g_nr_code = r == NULL ? -1 : r == TOKEN ? 1 : 0;
        return r;
    }
    case NR_RUN: rc = PyTasklet_Run_nr(g_other); break;
    case NR_SWITCH: rc = PyTasklet_Switch_nr(g_other); break;
    case NR_SEND: {
        PyObject *v = L(5);
        rc = PyChannel_Send_nr(g_ch, v);
        Py_DECREF(v);
        break;
    }
    }
    g_nr_code = rc;
    if (rc < 0) return NULL;
    if (rc == 1) return TOKEN;
    Py_RETURN_NONE;
}

/* A plain body (not METH_STACKLESS) making the call at nesting level 0. */
static PyObject *body_nr(PyObject *self, PyObject *args) {
    (void)self, (void)args;
    return nr_call();
}
static PyMethodDef def_body_nr = {"body_nr", body_nr, METH_VARARGS, NULL};

/* A plain function called through PyObject_Call from a body: nesting level 1. */
static PyObject *nested_nr(PyObject *self, PyObject *args) {
    (void)self, (void)args;
    return nr_call();
}
static PyMethodDef def_nested_nr = {"nested_nr", nested_nr, METH_VARARGS, NULL};

static PyObject *body_nested_nr(PyObject *self, PyObject *args) {
    (void)self;
    PyObject *f = make_func(&def_nested_nr);
    PyObject *r = PyObject_Call(f, args, NULL);
    Py_DECREF(f);
    CHECK(r != TOKEN); /* a nested level never gets the token */
    return r;
}
static PyMethodDef def_body_nested_nr = {"body_nested_nr", body_nested_nr, METH_VARARGS, NULL};

/* A METH_STACKLESS body promoting the flag to a METH_STACKLESS callee: the callee runs at the
 * body's level (0), so its _nr call may switch soft and the token comes back through
 * PyObject_Call. */
static PyObject *aware_nr(PyObject *self, PyObject *args) {
    STACKLESS_GETARG();
    (void)self, (void)args, (void)stackless;
    return nr_call();
}
static PyMethodDef def_aware_nr = {"aware_nr", aware_nr, METH_VARARGS | METH_STACKLESS, NULL};

static PyObject *body_promote_nr(PyObject *self, PyObject *args) {
    STACKLESS_GETARG();
    (void)self;
    PyObject *f = make_func(&def_aware_nr);
    STACKLESS_PROMOTE_ALL();
    PyObject *r = PyObject_Call(f, args, NULL);
    STACKLESS_ASSERT();
    Py_DECREF(f);
    return r;
}
static PyMethodDef def_body_promote_nr = {"body_promote_nr", body_promote_nr,
                                          METH_VARARGS | METH_STACKLESS, NULL};

/* Runs a `_nr` call `which` from a tasklet body `def` and checks the code it got. */
static void nr_case(PyMethodDef *def, int which, int want_code, int want_nesting) {
    char what[96];
    snprintf(what, sizeof what, "%s from %s (soft %d)", nr_names[which], def->ml_name, g_soft);
    PyChannelObject *ch = PyChannel_New(NULL);
    g_ch = ch;
    log_reset();
    /* t runs first; the partner the call needs is a runnable tasklet queued behind it
     * (Send/Receive: t blocks, then main is its partner). */
    PyTaskletObject *t = spawn(def, NULL);
    PyTaskletObject *partner = NULL;
    if (which == NR_SCHED || which == NR_RUN || which == NR_SWITCH)
        partner = spawn_str(&def_log, "other");
    g_other = partner;
    g_nr_code = -2;
    g_nr_nesting = -2;
    g_nr_which = which;
    run_all();
    if (which == NR_SEND || which == NR_RECV) {
        CHECK_EQ_INT(PyTasklet_GetBlocked(t), which == NR_SEND ? 1 : -1);
        CHECK_EQ_INT(PyTasklet_Restorable(t), want_code == 1);
        if (which == NR_SEND) {
            PyObject *v = PyChannel_Receive(ch);
            CHECK_EQ_INT(long_of(v), 5);
            Py_XDECREF(v);
        } else {
            PyObject *v = L(6);
            CHECK_EQ_INT(PyChannel_Send(ch, v), 0);
            Py_DECREF(v);
        }
        run_all();
    }
    if (which == NR_SWITCH) {
        /* t left the run queue: it is paused until main inserts it. */
        CHECK_EQ_INT(PyTasklet_Paused(t), 1);
        CHECK_EQ_INT(PyTasklet_Restorable(t), want_code == 1);
        CHECK_EQ_INT(PyTasklet_Insert(t), 0);
        run_all();
    }
    if (g_nr_code != want_code || g_nr_nesting != want_nesting)
        fprintf(stderr, "    in case: %s\n", what);
    CHECK_EQ_INT(g_nr_code, want_code);
    CHECK_EQ_INT(g_nr_nesting, want_nesting);
    CHECK_EQ_INT(PyTasklet_Alive(t), 0);
    if (partner) CHECK_EQ_INT(PyTasklet_Alive(partner), 0);
    if (which == NR_SCHED || which == NR_RUN || which == NR_SWITCH) CHECK_LOG("other");
    CHECK_EQ_INT(PyChannel_GetBalance(ch), 0);
    Py_XDECREF(t);
    Py_XDECREF(partner);
    Py_DECREF(ch);
    end_test();
}

static void test_nr_codes(void) {
    fprintf(stderr, "-- _nr return codes\n");
    /* EnableSoftswitch(-1) inquires without changing; the others return the old value. */
    CHECK_EQ_INT(PyStackless_EnableSoftswitch(-1), g_soft);
    CHECK_EQ_INT(PyStackless_EnableSoftswitch(-1), g_soft);
    CHECK_EQ_INT(PyStackless_EnableSoftswitch(!g_soft), g_soft);
    CHECK_EQ_INT(PyStackless_EnableSoftswitch(-1), !g_soft);
    CHECK_EQ_INT(PyStackless_EnableSoftswitch(g_soft), !g_soft);
    CHECK_EQ_INT(PyStackless_EnableSoftswitch(g_soft), g_soft);
    CHECK_EQ_INT(PyStackless_EnableSoftswitch(-1), g_soft);

    /* From a body at nesting level 0: soft (1 / token) when enabled, else hard (0 / value). */
    int soft = g_soft ? 1 : 0;
    nr_case(&def_body_nr, NR_SCHED, soft, 0);
    nr_case(&def_body_nr, NR_RUN, soft, 0);
    nr_case(&def_body_nr, NR_SWITCH, soft, 0);
    nr_case(&def_body_nr, NR_SEND, soft, 0);
    nr_case(&def_body_nr, NR_RECV, soft, 0);
    nr_case(&def_body_nr, NR_CALLFUNC, soft, 0);
    /* Nothing else runnable: no switch, the value (even at level 0 in soft mode). */
    nr_case(&def_body_nr, NR_SCHED_ALONE, 0, 0);
    /* From a nested PyObject_Call level: always hard. */
    nr_case(&def_body_nested_nr, NR_SCHED, 0, 1);
    nr_case(&def_body_nested_nr, NR_RUN, 0, 1);
    nr_case(&def_body_nested_nr, NR_SWITCH, 0, 1);
    nr_case(&def_body_nested_nr, NR_SEND, 0, 1);
    nr_case(&def_body_nested_nr, NR_RECV, 0, 1);
    nr_case(&def_body_nested_nr, NR_CALLFUNC, 0, 1);
    /* Through PyObject_Call to a METH_STACKLESS callee with the flag: the body's level. */
    nr_case(&def_body_promote_nr, NR_SCHED, soft, 0);
    nr_case(&def_body_promote_nr, NR_RECV, soft, 0);
    nr_case(&def_body_promote_nr, NR_SEND, soft, 0);

    /* From main's own code: always hard, 0 / the value (SPEC §11). */
    PyChannelObject *ch = PyChannel_New(NULL);
    g_ch = ch;
    log_reset();
    PyTaskletObject *o = spawn_str(&def_log, "o1");
    PyObject *r = PyStackless_Schedule_nr(Py_None, 0);
    CHECK(r == Py_None);
    release(r);
    CHECK_LOG("o1");
    Py_XDECREF(o);
    o = spawn_str(&def_log, "o2");
    CHECK_EQ_INT(PyTasklet_Run_nr(o), 0);
    CHECK_LOG("o1 o2");
    Py_XDECREF(o);
    o = spawn_str(&def_log, "o3");
    CHECK_EQ_INT(PyTasklet_Switch_nr(o), 0); /* main is re-inserted when o3 ends */
    CHECK_LOG("o1 o2 o3");
    Py_XDECREF(o);
    /* a blocked receiver (hard or soft) and a blocked sender */
    g_nr_which = NR_RECV;
    PyTaskletObject *t = spawn(&def_body_nr, NULL);
    run_all();
    PyObject *v = L(8);
    CHECK_EQ_INT(PyChannel_Send_nr(ch, v), 0);
    Py_DECREF(v);
    CHECK_EQ_INT(PyTasklet_Alive(t), 0);
    Py_XDECREF(t);
    g_nr_which = NR_SEND;
    t = spawn(&def_body_nr, NULL);
    run_all();
    r = PyChannel_Receive_nr(ch);
    CHECK(r != TOKEN);
    CHECK_EQ_INT(long_of(r), 5);
    release(r);
    run_all();
    CHECK_EQ_INT(PyTasklet_Alive(t), 0);
    Py_XDECREF(t);
    Py_DECREF(ch);
    end_test();
}

/* =========================================================================================
 * 4. B156, B157, B158: soft-switchable C state machines
 * ========================================================================================= */

/* demo_ssf: a state machine in the style of Stackless's demo_soft_switchable.
 *   n = 0, 1, 2 (the action): counts two steps (the count lives in a malloc'd state kept in
 *       *any), scheduling after each with PyStackless_Schedule(retval, remove = n > 1)
 *       when n > 0, and returns the count (2);
 *   n = 100: calls retval (a callable) with PyObject_Call and returns its result; an
 *       Exception raised by it becomes RuntimeError("demo_soft_switchable callback failed")
 *       with the original as __context__ (other BaseExceptions pass unchanged).
 * Every call that may switch is made with STACKLESS_PROMOTE_ALL(): when it switches soft,
 * the function returns the token and is re-entered at the saved step with the call's result
 * as retval (borrowed). */
struct demo_state {
    long count;
};
static int g_demo_stackless = -1;
static long g_demo_null_step = -1;         /* step at which retval NULL arrived */
static char g_demo_null_exc[64];           /* and the exception that came with it */

static PyObject *demo_ssf(PyObject *retval, long *step, PyObject **ob1, PyObject **ob2,
                          PyObject **ob3, long *n, void **any) {
    STACKLESS_GETARG();
    (void)ob1, (void)ob2, (void)ob3;
    struct demo_state *st = *any;
    long action = *n;
    g_demo_stackless = stackless;
    Py_XINCREF(retval); /* retval is borrowed; from here on this function owns a reference */
    if (*step == 0 && action >= 100) *step = 100;
    if (retval == NULL && *step != 101) {
        /* an exception arrived with the re-entry (e.g. the tasklet was killed while
         * suspended softly) */
        goto failed;
    }
    switch (*step) {
    case 0:
        *step = 1;
        st = PyMem_Calloc(1, sizeof *st);
        if (st == NULL) {
            Py_CLEAR(retval);
            PyErr_NoMemory();
            goto done;
        }
        *any = st;
        st->count = 1;
        if (action > 0) {
            STACKLESS_PROMOTE_ALL();
            Py_SETREF(retval, PyStackless_Schedule(retval, action > 1));
            STACKLESS_ASSERT();
            if (retval == NULL) goto failed; /* a hard switch: the exception is here */
            if (STACKLESS_UNWINDING(retval)) return retval;
        }
        /* fall through */
    case 1:
        *step = 2;
        st->count++;
        if (action > 0) {
            STACKLESS_PROMOTE_ALL();
            Py_SETREF(retval, PyStackless_Schedule(retval, action > 1));
            STACKLESS_ASSERT();
            if (retval == NULL) goto failed; /* a hard switch: the exception is here */
            if (STACKLESS_UNWINDING(retval)) return retval;
        }
        /* fall through */
    case 2:
        *step = 3;
        Py_SETREF(retval, L(st->count));
        break;
    case 100: {
        *step = 101;
        PyObject *noargs = PyTuple_New(0);
        STACKLESS_PROMOTE_ALL();
        Py_SETREF(retval, PyObject_Call(retval, noargs, NULL));
        STACKLESS_ASSERT();
        Py_DECREF(noargs);
        if (retval != NULL && STACKLESS_UNWINDING(retval)) return retval;
    }
        /* fall through */
    case 101:
        *step = 102;
        if (retval == NULL && PyErr_ExceptionMatches(PyExc_Exception)) {
            PyObject *original = PyErr_GetRaisedException();
            PyErr_SetString(PyExc_RuntimeError, "demo_soft_switchable callback failed");
            PyObject *wrapped = PyErr_GetRaisedException();
            PyException_SetContext(wrapped, original); /* steals original */
            PyErr_SetRaisedException(wrapped);
        }
        break;
    default:
        PyErr_SetString(PyExc_SystemError, "demo_ssf: invalid step");
        Py_CLEAR(retval);
    }
    goto done;
failed:
    g_demo_null_step = *step;
    snprintf(g_demo_null_exc, sizeof g_demo_null_exc, "%s", pending_name());
done:
    PyMem_Free(*any);
    *any = NULL;
    return retval;
}
static DECL demo_decl = {PyObject_HEAD_INIT(NULL) demo_ssf, "demo_soft_switchable", NULL};

/* record_ssf: calls the soft-switchable function *ob1 (a declaration) with (*ob2, n) as a
 * nested frame and records its result (g_rec_result) or exception (g_rec_exc); returns None.
 * It shows that a frame's result reaches the frame below it. */
static PyObject *g_rec_result, *g_rec_exc;
static int g_rec_count;

static PyObject *record_outcome(PyObject *r) {
    g_rec_count++;
    if (r == NULL) Py_XSETREF(g_rec_exc, PyErr_GetRaisedException());
    else Py_XSETREF(g_rec_result, Py_NewRef(r));
    Py_RETURN_NONE;
}

static PyObject *record_ssf(PyObject *retval, long *step, PyObject **ob1, PyObject **ob2,
                            PyObject **ob3, long *n, void **any) {
    STACKLESS_GETARG();
    (void)ob3, (void)any;
    switch (*step) {
    case 0: {
        *step = 1;
        if (retval == NULL) return NULL;
        STACKLESS_PROMOTE_ALL();
        PyObject *r = PyStackless_CallFunction((DECL *)*ob1, *ob2, NULL, NULL, NULL, *n, NULL);
        STACKLESS_ASSERT();
        if (r != NULL && STACKLESS_UNWINDING(r)) return r;
        PyObject *out = record_outcome(r);
        Py_XDECREF(r);
        return out;
    }
    case 1:
        *step = 2;
        return record_outcome(retval);
    default:
        PyErr_SetString(PyExc_SystemError, "record_ssf: invalid step");
        return NULL;
    }
}
static DECL record_decl = {PyObject_HEAD_INIT(NULL) record_ssf, "record", NULL};

static void rec_reset(void) {
    Py_CLEAR(g_rec_result);
    Py_CLEAR(g_rec_exc);
    g_rec_count = 0;
}

/* A tasklet running record(d, arg, n). */
static PyTaskletObject *spawn_recorded(DECL *d, PyObject *arg, long n) {
    return spawn_soft(&record_decl, Py_None, n, (PyObject *)d, arg, NULL);
}

/* ---- B156 ---- */

static void b156_action(long action) {
    rec_reset();
    PyObject *obj1 = S("OBJ1");
    PyTaskletObject *t = spawn_recorded(&demo_decl, obj1, action);
    run_all();
    CHECK_EQ_INT(g_rec_count, 1);
    CHECK_EQ_INT(long_of(g_rec_result), 2);
    CHECK(g_rec_exc == NULL);
    CHECK_EQ_INT(PyTasklet_Alive(t), 0);
    Py_XDECREF(t);
    Py_DECREF(obj1);
    rec_reset();
    end_test();
}

static void test_B156(void) {
    fprintf(stderr, "-- B156\n");
    init_decl(&demo_decl, NULL);
    init_decl(&record_decl, NULL);
    rec_reset();
    PyObject *obj1 = S("OBJ1"), *obj2 = S("OBJ2");
    PyTaskletObject *t = spawn_recorded(&demo_decl, obj1, 2);
    CHECK_EQ_INT(PyTasklet_Run(t), 0);
    /* paused in the first PyStackless_Schedule(retval, 1): tempval is OBJ1 */
    CHECK_EQ_INT(PyTasklet_Alive(t), 1);
    CHECK_EQ_INT(PyTasklet_Scheduled(t), 0);
    CHECK_EQ_INT(PyTasklet_Paused(t), 1);
    CHECK_EQ_INT(PyTasklet_Restorable(t), g_soft);
        /* Soft-switchable functions called with the stackless flag are frames, not nested calls,
     * in both modes (SPEC §7: the nesting level counts non-stackless calls only), so the
     * nesting level and the recursion depth do not depend on the mode. */
    CHECK_EQ_INT(PyTasklet_GetNestingLevel(t), 0);
    CHECK_EQ_INT(PyTasklet_GetRecursionDepth(t), 3); /* body, record, demo */
        /* The function always gets the flag its (flagged) caller passed; only in soft mode can it
     * act on it. */
    CHECK_EQ_INT(g_demo_stackless, 1);
    PyObject *tv = PyTasklet_GetTempval(t);
    CHECK(tv == obj1);
    Py_XDECREF(tv);
    PyObject *f = PyTasklet_GetFrame(t);
    if (g_soft) {
        /* the innermost frame: (declaration, step) */
        CHECK(f != NULL && PyTuple_Check(f) && PyTuple_Size(f) == 2);
        if (f != NULL && PyTuple_Check(f) && PyTuple_Size(f) == 2) {
            CHECK(PyTuple_GetItem(f, 0) == (PyObject *)&demo_decl);
            CHECK_EQ_INT(long_of(PyTuple_GetItem(f, 1)), 1);
        }
    } else {
        CHECK(f != NULL && PyCFunction_Check(f)); /* the body's callable */
    }
    Py_XDECREF(f);
    CHECK_EQ_INT(g_rec_count, 0);

    /* the new tempval is what the pending schedule returns */
    CHECK_EQ_INT(PyTasklet_SetTempval(t, obj2), 0);
    CHECK_EQ_INT(PyTasklet_Insert(t), 0);
    CHECK_EQ_INT(PyTasklet_Run(t), 0);
    CHECK_EQ_INT(PyTasklet_Alive(t), 1);
    CHECK_EQ_INT(PyTasklet_Paused(t), 1);
    CHECK_EQ_INT(PyTasklet_Restorable(t), g_soft);
    tv = PyTasklet_GetTempval(t);
    CHECK(tv == obj2);
    Py_XDECREF(tv);
    f = PyTasklet_GetFrame(t);
    if (g_soft && f != NULL && PyTuple_Check(f) && PyTuple_Size(f) == 2)
        CHECK_EQ_INT(long_of(PyTuple_GetItem(f, 1)), 2);
    else
        CHECK(f != NULL && (!g_soft && PyCFunction_Check(f)));
    Py_XDECREF(f);

    CHECK_EQ_INT(PyTasklet_Insert(t), 0);
    CHECK_EQ_INT(PyTasklet_Run(t), 0);
    CHECK_EQ_INT(PyTasklet_Alive(t), 0);
    CHECK_EQ_INT(g_rec_count, 1);
    CHECK_EQ_INT(long_of(g_rec_result), 2);
    CHECK(g_rec_exc == NULL);
    tv = PyTasklet_GetTempval(t); /* B043: None after the end */
    CHECK(tv == Py_None);
    Py_XDECREF(tv);
    Py_XDECREF(t);
    Py_DECREF(obj1);
    Py_DECREF(obj2);
    rec_reset();
    end_test();

    /* actions 1 (schedule without remove) and 0 (no schedule) also give 2 */
    b156_action(1);
    b156_action(0);

    /* Called directly from main (no frame loop), the same function runs to its end. */
    PyObject *r = PyStackless_CallFunction(&demo_decl, Py_None, NULL, NULL, NULL, 0, NULL);
    CHECK_EQ_INT(long_of(r), 2);
    release(r);
    end_test();
}

/* ---- B157 ---- */

static int g_cb_nesting = -1;
static int g_cb_unwound = -1;
static PyObject *g_marker;

/* Callbacks obeying the protocol (METH_STACKLESS), like a Python function in Stackless. */
static PyObject *cb_ok(PyObject *self, PyObject *unused) {
    STACKLESS_GETARG();
    (void)self, (void)unused, (void)stackless;
    g_cb_nesting = current_nesting();
    return S("cb result");
}
static PyMethodDef def_cb_ok = {"cb_ok", cb_ok, METH_NOARGS | METH_STACKLESS, NULL};

/* ... that switches itself (a schedule in tail position) */
static PyObject *cb_switch(PyObject *self, PyObject *unused) {
    STACKLESS_GETARG();
    (void)self, (void)unused;
    g_cb_nesting = current_nesting();
    STACKLESS_PROMOTE_ALL();
    PyObject *r = PyStackless_Schedule(g_marker, 0);
    STACKLESS_ASSERT();
    g_cb_unwound = r == TOKEN;
    return r;
}
static PyMethodDef def_cb_switch = {"cb_switch", cb_switch, METH_NOARGS | METH_STACKLESS, NULL};

static PyObject *cb_fail(PyObject *self, PyObject *unused) {
    STACKLESS_GETARG();
    (void)self, (void)unused, (void)stackless;
    g_cb_nesting = current_nesting();
    PyErr_SetString(PyExc_ZeroDivisionError, "division by zero");
    return NULL;
}
static PyMethodDef def_cb_fail = {"cb_fail", cb_fail, METH_NOARGS | METH_STACKLESS, NULL};

/* ... that fails later: it receives (tail position) and main sends an exception */
static PyObject *cb_fail_later(PyObject *self, PyObject *unused) {
    STACKLESS_GETARG();
    (void)self, (void)unused;
    g_cb_nesting = current_nesting();
    STACKLESS_PROMOTE_ALL();
    PyObject *r = PyChannel_Receive(g_ch);
    STACKLESS_ASSERT();
    g_cb_unwound = r == TOKEN;
    return r;
}
static PyMethodDef def_cb_fail_later = {"cb_fail_later", cb_fail_later,
                                        METH_NOARGS | METH_STACKLESS, NULL};

static PyObject *cb_base(PyObject *self, PyObject *unused) {
    STACKLESS_GETARG();
    (void)self, (void)unused, (void)stackless;
    PyErr_SetString(PyExc_KeyboardInterrupt, "stop");
    return NULL;
}
static PyMethodDef def_cb_base = {"cb_base", cb_base, METH_NOARGS | METH_STACKLESS, NULL};

/* A callback that does not obey the protocol: always called one level deeper. */
static PyObject *cb_plain(PyObject *self, PyObject *unused) {
    (void)self, (void)unused;
    g_cb_nesting = current_nesting();
    Py_RETURN_NONE;
}
static PyMethodDef def_cb_plain = {"cb_plain", cb_plain, METH_NOARGS, NULL};

/* Runs demo(100, callback) in a recorded tasklet, with *other (if not NULL) set to a tasklet
 * queued behind it; returns the tasklet (new reference). */
static PyTaskletObject *b157_run(PyMethodDef *def, PyTaskletObject **other) {
    rec_reset();
    g_cb_nesting = -1;
    g_cb_unwound = -1;
    PyObject *cb = make_func(def);
    PyTaskletObject *t = spawn_recorded(&demo_decl, cb, 100);
    Py_DECREF(cb);
    if (other != NULL) *other = spawn_str(&def_log, "other");
    run_all();
    return t;
}

/* The recorded exception is RuntimeError("demo_soft_switchable callback failed") whose
 * __context__ is `want_context` ("Type(message)"). */
static void check_wrapped(const char *want_context) {
    CHECK(g_rec_exc != NULL);
    if (g_rec_exc == NULL) return;
    char buf[160];
    describe_exc(g_rec_exc, buf, sizeof buf);
    CHECK_STR(buf, "RuntimeError(demo_soft_switchable callback failed)");
    PyObject *ctx = PyException_GetContext(g_rec_exc);
    CHECK(ctx != NULL);
    if (ctx != NULL) {
        describe_exc(ctx, buf, sizeof buf);
        CHECK_STR(buf, want_context);
        Py_DECREF(ctx);
    }
    CHECK(g_rec_result == NULL);
}

/* In hard mode the calls are direct: the body's PyStackless_CallFunction(record) (+1),
 * record's PyStackless_CallFunction(demo) (+1) and demo's PyObject_Call(callback) (+1). */
/* A METH_STACKLESS callback reached through a promoted PyObject_Call from a soft-switchable
 * function runs at the caller's level in both modes: SPEC §7 counts only non-stackless calls
 * (Stackless's "nesting >= 1 in hard mode" of B157 is a property of its C-stack recursion,
 * which libstackless's definition replaces; SPEC §7 requires identical results). */
enum { HARD_CB_NESTING = 0 };

static void test_B157(void) {
    fprintf(stderr, "-- B157\n");
    PyChannelObject *ch = PyChannel_New(NULL);
    g_ch = ch;
    g_marker = S("marker");

    /* callback ok: nesting level 0 inside it in soft mode, >= 1 in hard mode */
    PyTaskletObject *t = b157_run(&def_cb_ok, NULL);
    CHECK_EQ_INT(g_cb_nesting, g_soft ? 0 : HARD_CB_NESTING);
    CHECK_EQ_INT(g_rec_count, 1);
    CHECK_OBJ_STR(g_rec_result, "cb result");
    CHECK(g_rec_exc == NULL);
    CHECK_EQ_INT(PyTasklet_Alive(t), 0);
    Py_XDECREF(t);

    /* a callback that switches: soft in soft mode (it returns the token, the state machine
     * returns it, and gets the callback's result when re-entered) */
    log_reset();
    PyTaskletObject *other = NULL;
    t = b157_run(&def_cb_switch, &other);
    CHECK_LOG("other");
    CHECK_EQ_INT(PyTasklet_Alive(other), 0);
    Py_XDECREF(other);
    CHECK_EQ_INT(g_cb_nesting, g_soft ? 0 : HARD_CB_NESTING);
    CHECK_EQ_INT(g_cb_unwound, g_soft);
    CHECK(g_rec_result == g_marker);
    CHECK(g_rec_exc == NULL);
    CHECK_EQ_INT(PyTasklet_Alive(t), 0);
    Py_XDECREF(t);

    /* a callback that fails: RuntimeError with __context__ = the ZeroDivisionError */
    t = b157_run(&def_cb_fail, NULL);
    CHECK_EQ_INT(g_cb_nesting, g_soft ? 0 : HARD_CB_NESTING);
    check_wrapped("ZeroDivisionError(division by zero)");
    CHECK_EQ_INT(PyTasklet_Alive(t), 0);
    Py_XDECREF(t);

    /* a callback that fails after a switch: the exception comes with the re-entry */
    t = b157_run(&def_cb_fail_later, NULL);
    CHECK_EQ_INT(PyTasklet_GetBlocked(t), -1);
    CHECK_EQ_INT(g_cb_unwound, g_soft ? 1 : -1); /* hard: still inside the receive */
    CHECK_EQ_INT(g_cb_nesting, g_soft ? 0 : HARD_CB_NESTING);
    CHECK_EQ_INT(PyTasklet_Restorable(t), g_soft);
    CHECK_EQ_INT(g_rec_count, 0);
    PyObject *later = S("later");
    CHECK_EQ_INT(PyChannel_SendException(ch, PyExc_ZeroDivisionError, later), 0);
    Py_DECREF(later);
    CHECK_EQ_INT(PyTasklet_Alive(t), 0);
    CHECK_EQ_INT(g_rec_count, 1);
    check_wrapped("ZeroDivisionError(later)");
    Py_XDECREF(t);

    /* a BaseException that is not an Exception passes unchanged */
    t = b157_run(&def_cb_base, NULL);
    CHECK(g_rec_exc != NULL && PyErr_GivenExceptionMatches(g_rec_exc, PyExc_KeyboardInterrupt));
    PyObject *no_ctx = g_rec_exc != NULL ? PyException_GetContext(g_rec_exc) : NULL;
    CHECK(no_ctx == NULL);
    Py_XDECREF(no_ctx);
    Py_XDECREF(t);

        /* a callback that does not obey the protocol runs one level deeper, in both modes */
    t = b157_run(&def_cb_plain, NULL);
    CHECK_EQ_INT(g_cb_nesting, 1);
    CHECK(g_rec_result == Py_None);
    Py_XDECREF(t);

    /* Without the recorder the RuntimeError ends the tasklet and reaches run() (§4.7). */
    PyObject *cb = make_func(&def_cb_fail);
    t = spawn_soft(&demo_decl, cb, 100, NULL, NULL, NULL);
    Py_DECREF(cb);
    PyObject *r = PyStackless_RunWatchdog(0);
    CHECK(r == NULL);
    PyObject *exc = PyErr_GetRaisedException();
    CHECK(exc != NULL);
    if (exc != NULL) {
        char buf[160];
        describe_exc(exc, buf, sizeof buf);
        CHECK_STR(buf, "RuntimeError(demo_soft_switchable callback failed)");
        PyObject *ctx = PyException_GetContext(exc);
        CHECK(ctx != NULL && PyErr_GivenExceptionMatches(ctx, PyExc_ZeroDivisionError));
        Py_XDECREF(ctx);
        Py_DECREF(exc);
    }
    CHECK_EQ_INT(PyTasklet_Alive(t), 0);
    Py_XDECREF(t);

    Py_CLEAR(g_marker);
    rec_reset();
    Py_DECREF(ch);
    end_test();
}

/* ---- B158 ---- */

/* cframe_loop_ssf: n PyStackless_Schedule_nr calls; ob1 is a one-character str naming the
 * tasklet, appended to g_b158_order before each call. */
static char g_b158_order[512];
static int g_b158_unwinds;

static PyObject *cframe_loop_ssf(PyObject *retval, long *step, PyObject **ob1, PyObject **ob2,
                                 PyObject **ob3, long *n, void **any) {
    STACKLESS_GETARG();
    (void)ob2, (void)ob3, (void)any, (void)stackless;
    if (retval == NULL) return NULL;
    Py_INCREF(retval);
    while (*n > 0) {
        (*n)--;
        (*step)++;
        strncat(g_b158_order, PyUnicode_AsUTF8(*ob1), 1);
        Py_DECREF(retval);
        retval = PyStackless_Schedule_nr(Py_None, 0);
        if (retval == NULL) return NULL;
        if (STACKLESS_UNWINDING(retval)) {
            g_b158_unwinds++;
            return retval; /* re-entered with the schedule's result */
        }
    }
    return retval;
}
static DECL cframe_loop_decl = {PyObject_HEAD_INIT(NULL) cframe_loop_ssf, "cframe_loop", NULL};

/* The hard form: a plain C loop of PyStackless_Schedule calls. */
static PyObject *body_cframe_hard(PyObject *self, PyObject *args) {
    (void)self;
    const char *name = arg_str(args, 0);
    PyObject *r = Py_NewRef(Py_None);
    for (int i = 0; i < 100; i++) {
        strncat(g_b158_order, name, 1);
        Py_DECREF(r);
        r = PyStackless_Schedule(Py_None, 0);
        if (r == NULL) return NULL;
    }
    return r;
}
static PyMethodDef def_cframe_hard = {"cframe_hard", body_cframe_hard, METH_VARARGS, NULL};

static void test_B158(void) {
    fprintf(stderr, "-- B158\n");
    init_decl(&cframe_loop_decl, NULL);
    char want[256] = "";
    for (int i = 0; i < 100; i++) strcat(want, "AB");

    /* soft: two tasklets doing 100 _nr schedules each in a soft-switchable function */
    g_b158_order[0] = '\0';
    g_b158_unwinds = 0;
    PyObject *a = S("A"), *b = S("B");
    PyTaskletObject *ta = spawn_soft(&cframe_loop_decl, Py_None, 100, a, NULL, NULL);
    PyTaskletObject *tb = spawn_soft(&cframe_loop_decl, Py_None, 100, b, NULL, NULL);
    run_all();
    CHECK_STR(g_b158_order, want);
    CHECK_EQ_INT(g_b158_unwinds, g_soft ? 200 : 0);
    CHECK_EQ_INT(PyTasklet_Alive(ta), 0);
    CHECK_EQ_INT(PyTasklet_Alive(tb), 0);
    Py_XDECREF(ta);
    Py_XDECREF(tb);
    Py_DECREF(a);
    Py_DECREF(b);

    /* hard: the same with plain PyStackless_Schedule */
    g_b158_order[0] = '\0';
    ta = spawn_str(&def_cframe_hard, "A");
    tb = spawn_str(&def_cframe_hard, "B");
    run_all();
    CHECK_STR(g_b158_order, want);
    CHECK_EQ_INT(PyTasklet_Alive(ta), 0);
    CHECK_EQ_INT(PyTasklet_Alive(tb), 0);
    Py_XDECREF(ta);
    Py_XDECREF(tb);
    end_test();
}

/* =========================================================================================
 * 5. B014-B021: receiver and sender as soft-switchable functions
 * ========================================================================================= */

/* How the state machines make their channel calls: the `_nr` functions, or the plain ones
 * with the stackless flag promoted. */
enum { FLAVOUR_NR, FLAVOUR_PROMOTE };
static const char *const flavour_names[] = {"_nr calls", "promoted plain calls"};

/* recv_ssf(ob1 = channel, n = flavour): logs R:recv-start, receives, logs R:got <v>. */
static PyObject *recv_ssf(PyObject *retval, long *step, PyObject **ob1, PyObject **ob2,
                          PyObject **ob3, long *n, void **any) {
    STACKLESS_GETARG();
    (void)ob2, (void)ob3, (void)any;
    PyChannelObject *ch = (PyChannelObject *)*ob1;
    Py_XINCREF(retval);
    switch (*step) {
    case 0:
        *step = 1;
        if (retval == NULL) break;
        log_event("R:recv-start");
        if (*n == FLAVOUR_NR) {
            Py_SETREF(retval, PyChannel_Receive_nr(ch));
        } else {
            STACKLESS_PROMOTE_ALL();
            Py_SETREF(retval, PyChannel_Receive(ch));
            STACKLESS_ASSERT();
        }
        if (retval != NULL && STACKLESS_UNWINDING(retval)) return retval;
        /* fall through */
    case 1:
        *step = 2;
        if (retval == NULL) break;
        log_eventf("R:got %ld", long_of(retval));
        Py_SETREF(retval, Py_NewRef(Py_None));
        break;
    default:
        PyErr_SetString(PyExc_SystemError, "recv_ssf: invalid step");
        Py_CLEAR(retval);
    }
    return retval;
}
static DECL recv_decl = {PyObject_HEAD_INIT(NULL) recv_ssf, "receiver", NULL};

/* send_ssf(ob1 = channel, n = flavour): logs S:send-start, sends 42, logs S:send-returned. */
static PyObject *send_ssf(PyObject *retval, long *step, PyObject **ob1, PyObject **ob2,
                          PyObject **ob3, long *n, void **any) {
    STACKLESS_GETARG();
    (void)ob2, (void)ob3, (void)any;
    PyChannelObject *ch = (PyChannelObject *)*ob1;
    switch (*step) {
    case 0: {
        *step = 1;
        if (retval == NULL) return NULL;
        log_event("S:send-start");
        PyObject *v = L(42);
        int rc;
        if (*n == FLAVOUR_NR) {
            rc = PyChannel_Send_nr(ch, v);
        } else {
            STACKLESS_PROMOTE_ALL();
            rc = PyChannel_Send(ch, v);
            STACKLESS_ASSERT();
        }
        Py_DECREF(v);
        if (rc < 0) return NULL;
        if (rc == 1) return TOKEN; /* re-entered at step 1 with the send's result */
        retval = Py_None;
    }
        /* fall through */
    case 1:
        *step = 2;
        if (retval == NULL) return NULL;
        log_event("S:send-returned");
        Py_RETURN_NONE;
    default:
        PyErr_SetString(PyExc_SystemError, "send_ssf: invalid step");
        return NULL;
    }
}
static DECL send_decl = {PyObject_HEAD_INIT(NULL) send_ssf, "sender", NULL};

/* One row: `first` ('R' or 'S') blocks first; then the other and O are created and main
 * runs the scheduler. */
static void pref_case(const char *id, char first, int pref, int sched_all, int flavour,
                      const char *want) {
    PyChannelObject *ch = PyChannel_New(NULL);
    log_reset();
    PyTaskletObject *r = NULL, *s = NULL;
    if (first == 'R') r = spawn_soft(&recv_decl, Py_None, flavour, (PyObject *)ch, NULL, NULL);
    else s = spawn_soft(&send_decl, Py_None, flavour, (PyObject *)ch, NULL, NULL);
    run_all();
    PyTaskletObject *blocked = first == 'R' ? r : s;
    CHECK_EQ_INT(PyTasklet_GetBlocked(blocked), first == 'R' ? -1 : 1);
    CHECK_EQ_INT(PyChannel_GetBalance(ch), first == 'R' ? -1 : 1);
    CHECK_EQ_INT(PyTasklet_Restorable(blocked), g_soft);
    log_reset();
    if (first == 'R') s = spawn_soft(&send_decl, Py_None, flavour, (PyObject *)ch, NULL, NULL);
    else r = spawn_soft(&recv_decl, Py_None, flavour, (PyObject *)ch, NULL, NULL);
    PyTaskletObject *o = spawn_str(&def_log, "O:run");
    PyChannel_SetPreference(ch, pref);
    PyChannel_SetScheduleAll(ch, sched_all);
    run_all();
    if (strcmp(tu_log, want) != 0)
        fprintf(stderr, "    in %s with %s, soft %d\n", id, flavour_names[flavour], g_soft);
    CHECK_LOG(want);
    CHECK_EQ_INT(PyTasklet_Alive(r), 0);
    CHECK_EQ_INT(PyTasklet_Alive(s), 0);
    CHECK_EQ_INT(PyTasklet_Alive(o), 0);
    CHECK_EQ_INT(PyChannel_GetBalance(ch), 0);
    Py_XDECREF(r);
    Py_XDECREF(s);
    Py_XDECREF(o);
    Py_DECREF(ch);
    end_test();
}

static void test_B014_B021(void) {
    fprintf(stderr, "-- B014-B021\n");
    init_decl(&recv_decl, NULL);
    init_decl(&send_decl, NULL);
    for (int fl = FLAVOUR_NR; fl <= FLAVOUR_PROMOTE; fl++) {
        /* B014-B017: receiver blocked first */
        pref_case("B014", 'R', -1, 0, fl, "S:send-start R:got 42 O:run S:send-returned");
        pref_case("B015", 'R', 0, 0, fl, "S:send-start S:send-returned O:run R:got 42");
        pref_case("B016", 'R', 1, 0, fl, "S:send-start S:send-returned O:run R:got 42");
        pref_case("B017", 'R', -1, 1, fl, "S:send-start O:run R:got 42 S:send-returned");
        pref_case("B017", 'R', 0, 1, fl, "S:send-start O:run R:got 42 S:send-returned");
        pref_case("B017", 'R', 1, 1, fl, "S:send-start O:run R:got 42 S:send-returned");
        /* B018-B021: sender blocked first */
        pref_case("B018", 'S', -1, 0, fl, "R:recv-start R:got 42 O:run S:send-returned");
        pref_case("B019", 'S', 0, 0, fl, "R:recv-start R:got 42 O:run S:send-returned");
        pref_case("B020", 'S', 1, 0, fl, "R:recv-start S:send-returned O:run R:got 42");
        pref_case("B021", 'S', -1, 1, fl, "R:recv-start O:run S:send-returned R:got 42");
        pref_case("B021", 'S', 0, 1, fl, "R:recv-start O:run S:send-returned R:got 42");
        pref_case("B021", 'S', 1, 1, fl, "R:recv-start O:run S:send-returned R:got 42");
    }
}

/* =========================================================================================
 * 6. Equivalence harness: the same scenarios with soft switching on and off
 * =========================================================================================
 * script_ssf is a soft-switchable interpreter of small scripts: *ob1 is the script (a tuple
 * of ops, each a tuple (code, args...)), *ob2 the name used in its log lines, *step the index
 * of the current op and *n 1 while a switching op waits for its result. Every op that may
 * switch is made the protocol's way (promoted flag or `_nr` call); when it switches soft the
 * interpreter returns the token and is re-entered with the op's result. */
enum {
    OP_LOG,          /* (text)            log text */
    OP_SCHED,        /* ()                PyStackless_Schedule(None, 0), promoted */
    OP_SCHED_NR,     /* ()                PyStackless_Schedule_nr(None, 0) */
    OP_SCHED_REMOVE, /* (value)           PyStackless_Schedule(value, 1), promoted;
                                          logs "N:resumed <result>" */
    OP_RECV,         /* (ch)              PyChannel_Receive, promoted; logs "N:got <v>" */
    OP_RECV_NR,      /* (ch)              PyChannel_Receive_nr; logs "N:got <v>" */
    OP_SEND,         /* (ch, value)       PyChannel_Send, promoted */
    OP_SEND_NR,      /* (ch, value)       PyChannel_Send_nr */
    OP_RUN_NR,       /* (i)               PyTasklet_Run_nr(g_tasks[i]) */
    OP_SWITCH_NR,    /* (i)               PyTasklet_Switch_nr(g_tasks[i]) */
    OP_INSERT,       /* (i)               PyTasklet_Insert(g_tasks[i]) */
    OP_KILL,         /* (i)               PyTasklet_Kill(g_tasks[i]) (a hard switch) */
    OP_CALL,         /* (script, name)    a nested script frame (PyStackless_CallFunction,
                                          promoted); logs "N:call-> <result>" */
    OP_RAISE,        /* (class, message)  raises class(message) */
    OP_CATCH,        /* (class)           catches a matching exception of the op before it:
                                          logs "N:caught Type(message)" */
    OP_RETURN,       /* (value)           ends the script with value */
    OP_DEPTH         /* ()                logs "N:depth <recursion depth>" */
};

static PyTaskletObject *g_tasks[8]; /* the tasklets of the current scenario (borrowed) */

static long op_code(PyObject *op) { return PyLong_AsLong(PyTuple_GetItem(op, 0)); }
static PyObject *op_arg(PyObject *op, Py_ssize_t i) {
    return PyTuple_Size(op) > i ? PyTuple_GetItem(op, i) : NULL;
}

/* Ops: arguments are borrowed. */
static PyObject *op0(long code) { return tuple_steal(1, L(code)); }
static PyObject *op1(long code, PyObject *a) { return tuple_steal(2, L(code), Py_NewRef(a)); }
static PyObject *op2(long code, PyObject *a, PyObject *b) {
    return tuple_steal(3, L(code), Py_NewRef(a), Py_NewRef(b));
}
static PyObject *op_log(const char *text) { return tuple_steal(2, L(OP_LOG), S(text)); }
static PyObject *op_i(long code, long i) { return tuple_steal(2, L(code), L(i)); }
static PyObject *op_send(long code, PyChannelObject *ch, long v) {
    return tuple_steal(3, L(code), Py_NewRef((PyObject *)ch), L(v));
}
static PyObject *op_raise(PyObject *cls, const char *msg) {
    return tuple_steal(3, L(OP_RAISE), Py_NewRef(cls), S(msg));
}
static PyObject *op_value(long code, const char *v) { return tuple_steal(2, L(code), S(v)); }

/* A script of `n` ops (stolen). */
static PyObject *script(int n, ...) {
    va_list ap;
    va_start(ap, n);
    PyObject *t = PyTuple_New(n);
    for (int i = 0; i < n; i++) PyTuple_SetItem(t, i, va_arg(ap, PyObject *));
    va_end(ap);
    return t;
}

static PyObject *rc_result(int rc) {
    if (rc < 0) return NULL;
    if (rc == 1) return TOKEN;
    Py_RETURN_NONE;
}

/* Handles the outcome `r` (stolen; NULL: an exception is pending) of op *step. Returns 0 to
 * go on, -1 to end the script with the exception. */
static int script_outcome(PyObject *script_, long *step, const char *name, PyObject *r) {
    PyObject *op = PyTuple_GetItem(script_, *step);
    Py_ssize_t len = PyTuple_Size(script_);
    char buf[300], what[200];
    if (r == NULL) {
        PyObject *exc = PyErr_GetRaisedException();
        describe_exc(exc, what, sizeof what);
        PyObject *next = *step + 1 < len ? PyTuple_GetItem(script_, *step + 1) : NULL;
        if (next != NULL && op_code(next) == OP_CATCH &&
            PyErr_GivenExceptionMatches(exc, op_arg(next, 1))) {
            snprintf(buf, sizeof buf, "%s:caught %s", name, what);
            log_event(buf);
            Py_DECREF(exc);
            *step += 2;
            return 0;
        }
        snprintf(buf, sizeof buf, "%s:exit %s", name, what);
        log_event(buf);
        PyErr_SetRaisedException(exc);
        *step = len;
        return -1;
    }
    const char *label = NULL;
    switch (op_code(op)) {
    case OP_RECV:
    case OP_RECV_NR: label = "got"; break;
    case OP_SCHED_REMOVE: label = "resumed"; break;
    case OP_CALL: label = "call->"; break;
    }
    if (label != NULL) {
        PyObject *s = PyObject_Str(r);
        snprintf(buf, sizeof buf, "%s:%s %s", name, label, s ? PyUnicode_AsUTF8(s) : "?");
        Py_XDECREF(s);
        log_event(buf);
    }
    Py_DECREF(r);
    (*step)++;
    return 0;
}

static DECL script_decl;

static PyObject *script_ssf(PyObject *retval, long *step, PyObject **ob1, PyObject **ob2,
                            PyObject **ob3, long *n, void **any) {
    STACKLESS_GETARG();
    (void)ob3, (void)any;
    PyObject *scr = *ob1;
    const char *name = PyUnicode_AsUTF8(*ob2);
    Py_ssize_t len = PyTuple_Size(scr);
    PyObject *r;
    if (*n == 1) {
        /* resumed after a soft switch: retval is the result of op *step */
        *n = 0;
        r = Py_XNewRef(retval);
        goto outcome;
    }
    if (retval == NULL) return NULL;
    while (*step < len) {
        {
            PyObject *op = PyTuple_GetItem(scr, *step);
            PyObject *a1 = op_arg(op, 1), *a2 = op_arg(op, 2);
            PyTaskletObject *task = a1 != NULL && PyLong_Check(a1) ? g_tasks[PyLong_AsLong(a1)]
                                                                   : NULL;
            switch (op_code(op)) {
            case OP_LOG: log_event(PyUnicode_AsUTF8(a1)); (*step)++; continue;
            case OP_CATCH: (*step)++; continue; /* nothing was raised */
            case OP_RETURN: *step = len; return Py_NewRef(a1);
            case OP_DEPTH: {
                char buf[80];
                PyTaskletObject *c = get_current();
                snprintf(buf, sizeof buf, "%s:depth %d", name, PyTasklet_GetRecursionDepth(c));
                Py_DECREF(c);
                log_event(buf);
                (*step)++;
                continue;
            }
            case OP_RAISE: PyErr_SetString(a1, PyUnicode_AsUTF8(a2)); r = NULL; break;
            case OP_SCHED:
                STACKLESS_PROMOTE_ALL();
                r = PyStackless_Schedule(Py_None, 0);
                break;
            case OP_SCHED_NR: r = PyStackless_Schedule_nr(Py_None, 0); break;
            case OP_SCHED_REMOVE:
                STACKLESS_PROMOTE_ALL();
                r = PyStackless_Schedule(a1, 1);
                break;
            case OP_RECV:
                STACKLESS_PROMOTE_ALL();
                r = PyChannel_Receive((PyChannelObject *)a1);
                break;
            case OP_RECV_NR: r = PyChannel_Receive_nr((PyChannelObject *)a1); break;
            case OP_SEND:
                STACKLESS_PROMOTE_ALL();
                r = rc_result(PyChannel_Send((PyChannelObject *)a1, a2));
                break;
            case OP_SEND_NR: r = rc_result(PyChannel_Send_nr((PyChannelObject *)a1, a2)); break;
            case OP_RUN_NR: r = rc_result(PyTasklet_Run_nr(task)); break;
            case OP_SWITCH_NR: r = rc_result(PyTasklet_Switch_nr(task)); break;
            case OP_INSERT: r = rc_result(PyTasklet_Insert(task)); break;
            case OP_KILL: r = rc_result(PyTasklet_Kill(task)); break;
            case OP_CALL:
                STACKLESS_PROMOTE_ALL();
                r = PyStackless_CallFunction(&script_decl, Py_None, a1, a2, NULL, 0, NULL);
                break;
            default: PyErr_SetString(PyExc_SystemError, "script_ssf: bad op"); return NULL;
            }
            STACKLESS_ASSERT();
            if (r != NULL && STACKLESS_UNWINDING(r)) {
                *n = 1;
                return r;
            }
        }
    outcome:
        if (script_outcome(scr, step, name, r) < 0) return NULL;
    }
    Py_RETURN_NONE;
}
static DECL script_decl = {PyObject_HEAD_INIT(NULL) script_ssf, "script", NULL};

/* A scheduled tasklet running `scr` (stolen) under `name`. */
static PyTaskletObject *spawn_script(const char *name, PyObject *scr) {
    PyObject *nm = S(name);
    PyTaskletObject *t = spawn_soft(&script_decl, Py_None, 0, scr, nm, NULL);
    Py_DECREF(nm);
    Py_DECREF(scr);
    return t;
}

/* Runs `scenario` with soft switching enabled, then disabled; both traces must equal each
 * other and `want`. The scenario's own checks run in both modes. */
static void equivalent(const char *name, void (*scenario)(void), const char *want) {
    char traces[2][sizeof tu_log];
    int saved = PyStackless_EnableSoftswitch(-1);
    for (int mode = 1; mode >= 0; mode--) {
        PyStackless_EnableSoftswitch(mode);
        g_soft = mode;
        log_reset();
        scenario();
        memcpy(traces[mode], tu_log, sizeof tu_log);
        end_test();
    }
    PyStackless_EnableSoftswitch(saved);
    g_soft = saved;
    if (strcmp(traces[1], traces[0]) != 0 || strcmp(traces[1], want) != 0)
        fprintf(stderr, "    scenario %s:\n      soft: %s\n      hard: %s\n", name, traces[1],
                traces[0]);
    CHECK_STR(traces[1], traces[0]);
    CHECK_STR(traces[1], want);
}

static void release_tasks(void) {
    for (int i = 0; i < 8; i++) {
        if (g_tasks[i] != NULL) {
            CHECK_EQ_INT(PyTasklet_Alive(g_tasks[i]), 0);
            Py_DECREF(g_tasks[i]);
            g_tasks[i] = NULL;
        }
    }
}

/* §4.2 round robin: A(2 iterations), B(2), C(1) -> A0 B0 C0 A1 B1 Cend Aend Bend */
static void sc_round_robin(void) {
    g_tasks[0] = spawn_script("A", script(5, op_log("A0"), op0(OP_SCHED), op_log("A1"),
                                          op0(OP_SCHED), op_log("Aend")));
    g_tasks[1] = spawn_script("B", script(5, op_log("B0"), op0(OP_SCHED_NR), op_log("B1"),
                                          op0(OP_SCHED_NR), op_log("Bend")));
    g_tasks[2] = spawn_script("C", script(3, op_log("C0"), op0(OP_SCHED), op_log("Cend")));
    run_all();
    release_tasks();
}

/* A producer and a consumer over a channel with preference `g_pref`. */
static int g_pref;
static void sc_channel(void) {
    PyChannelObject *ch = PyChannel_New(NULL);
    PyChannel_SetPreference(ch, g_pref);
    PyObject *c = (PyObject *)ch;
    g_tasks[0] = spawn_script("C", script(3, op1(OP_RECV, c), op1(OP_RECV_NR, c),
                                          op_log("C:end")));
    g_tasks[1] = spawn_script("P", script(4, op_send(OP_SEND, ch, 1), op_log("P:sent1"),
                                          op_send(OP_SEND_NR, ch, 2), op_log("P:sent2")));
    run_all();
    CHECK_EQ_INT(PyChannel_GetBalance(ch), 0);
    release_tasks();
    Py_DECREF(ch);
}
static void sc_channel_m1(void) { g_pref = -1; sc_channel(); }
static void sc_channel_0(void) { g_pref = 0; sc_channel(); }
static void sc_channel_1(void) { g_pref = 1; sc_channel(); }

/* Kill (B074, B070, B071): a blocked victim dies at once; one that catches TaskletExit
 * schedules and finishes later; a pending kill lands at the next run. */
static void sc_kill(void) {
    PyChannelObject *ch = PyChannel_New(NULL);
    PyObject *c = (PyObject *)ch;
    g_tasks[0] = spawn_script("V", script(3, op_log("V:start"), op1(OP_RECV_NR, c),
                                          op_log("V:never")));
    g_tasks[1] = spawn_script("W", script(5, op1(OP_RECV, c), op1(OP_CATCH, PyExc_TaskletExit),
                                          op_log("W:cleanup"), op0(OP_SCHED), op_log("W:after")));
    g_tasks[2] = spawn_script("X", script(2, op_value(OP_SCHED_REMOVE, "x"), op_log("X:never")));
    run_all();
    CHECK_EQ_INT(PyChannel_GetBalance(ch), -2);
    CHECK_EQ_INT(PyTasklet_Paused(g_tasks[2]), 1);
    CHECK_EQ_INT(PyTasklet_Kill(g_tasks[0]), 0);
    log_event("main:killed V");
    CHECK_EQ_INT(PyTasklet_Kill(g_tasks[1]), 0);
    log_event("main:killed W");
    CHECK_EQ_INT(PyTasklet_KillEx(g_tasks[2], 1), 0);
    log_event("main:kill X pending");
    CHECK_EQ_INT(PyChannel_GetBalance(ch), 0);
    run_all();
    release_tasks();
    Py_DECREF(ch);
}

/* A script kills a blocked one (a hard switch from inside a script). */
static void sc_kill_from_tasklet(void) {
    PyChannelObject *ch = PyChannel_New(NULL);
    g_tasks[1] = spawn_script("V", script(2, op1(OP_RECV_NR, (PyObject *)ch), op_log("V:never")));
    run_all();
    g_tasks[0] = spawn_script("K", script(3, op_log("K:killing"), op_i(OP_KILL, 1),
                                          op_log("K:after")));
    run_all();
    CHECK_EQ_INT(PyChannel_GetBalance(ch), 0);
    release_tasks();
    Py_DECREF(ch);
}

/* B088: a victim blocked in receive catches the thrown ValueError and schedules. */
static void sc_raise_exception(void) {
    PyChannelObject *ch = PyChannel_New(NULL);
    g_tasks[0] = spawn_script("victim", script(5, op1(OP_RECV, (PyObject *)ch),
                                               op1(OP_CATCH, PyExc_ValueError),
                                               op_log("victim:schedules"), op0(OP_SCHED_NR),
                                               op_log("victim:resumed")));
    run_all();
    g_tasks[1] = spawn_script("other", script(1, op_log("other:runs")));
    PyObject *args = S("boom");
    CHECK_EQ_INT(PyTasklet_RaiseException(g_tasks[0], PyExc_ValueError, args), 0);
    Py_DECREF(args);
    log_eventf("main:resumed (balance %ld)", PyChannel_GetBalance(ch));
    run_all();
    release_tasks();
    Py_DECREF(ch);
}

/* §4.7: an uncaught exception goes to run(); the other tasklets stay queued. Also an
 * exception sent over a channel (B006) and a pending throw (B081). */
static void sc_uncaught(void) {
    g_tasks[0] = spawn_script("A", script(3, op_log("A1"), op0(OP_SCHED), op_log("A2")));
    g_tasks[1] = spawn_script("bad", script(2, op_raise(PyExc_ZeroDivisionError, "bad"),
                                            op_log("bad:never")));
    g_tasks[2] = spawn_script("C", script(3, op_log("C1"), op0(OP_SCHED_NR), op_log("C2")));
    PyObject *r = PyStackless_RunWatchdog(0);
    CHECK(r == NULL);
    log_event(r == NULL ? "run raised" : "run returned");
    CHECK_EXC(PyExc_ZeroDivisionError, "bad");
    release(r);
    run_all();

    PyChannelObject *ch = PyChannel_New(NULL);
    PyObject *c = (PyObject *)ch;
    g_tasks[3] = spawn_script("R", script(4, op1(OP_RECV_NR, c), op1(OP_CATCH, PyExc_KeyError),
                                          op1(OP_RECV, c), op_log("R:never")));
    run_all();
    PyObject *k = S("k");
    CHECK_EQ_INT(PyChannel_SendException(ch, PyExc_KeyError, k), 0);
    Py_DECREF(k);
    log_event("main:sent KeyError");
    PyObject *exc = PyObject_CallOneArg(PyExc_IndexError, Py_None);
    CHECK_EQ_INT(PyTasklet_Throw(g_tasks[3], 1, exc, NULL, NULL), 0);
    Py_XDECREF(exc);
    log_event("main:threw IndexError");
    CHECK_EQ_INT(PyChannel_GetBalance(ch), 0);
    r = PyStackless_RunWatchdog(0);
    CHECK(r == NULL);
    CHECK_EXC(PyExc_IndexError, "None");
    release(r);
    release_tasks();
    Py_DECREF(ch);
}

/* B042: tempval across schedule_remove; main changes it before resuming. */
static void sc_tempval(void) {
    g_tasks[0] = spawn_script("T", script(2, op_value(OP_SCHED_REMOVE, "Y"), op_log("T:end")));
    run_all();
    CHECK_EQ_INT(PyTasklet_Paused(g_tasks[0]), 1);
    PyObject *tv = PyTasklet_GetTempval(g_tasks[0]);
    CHECK_OBJ_STR(tv, "Y");
    Py_XDECREF(tv);
    PyObject *z = S("Z");
    CHECK_EQ_INT(PyTasklet_SetTempval(g_tasks[0], z), 0);
    Py_DECREF(z);
    CHECK_EQ_INT(PyTasklet_Insert(g_tasks[0]), 0);
    CHECK_EQ_INT(PyTasklet_Run(g_tasks[0]), 0);
    release_tasks();
}

/* Nested frames: results and exceptions reach the frame below; depth counts the frames (or
 * the nested levels of the direct calls). */
static void sc_nested(void) {
    PyChannelObject *ch = PyChannel_New(NULL);
    PyObject *inner = script(5, op_log("inner:start"), op0(OP_SCHED), op0(OP_DEPTH),
                             op1(OP_RECV_NR, (PyObject *)ch), op_value(OP_RETURN, "7"));
    PyObject *nm = S("inner");
    PyObject *mid = script(3, op_log("mid:start"), op2(OP_CALL, inner, nm), op_log("mid:end"));
    Py_DECREF(inner);
    Py_DECREF(nm);
    nm = S("mid");
    g_tasks[0] = spawn_script("outer", script(3, op2(OP_CALL, mid, nm), op0(OP_DEPTH),
                                              op_log("outer:end")));
    Py_DECREF(mid);
    Py_DECREF(nm);
    PyObject *failing = script(2, op0(OP_SCHED_NR), op_raise(PyExc_ValueError, "inner failed"));
    nm = S("failing");
    g_tasks[1] = spawn_script("outer2", script(4, op2(OP_CALL, failing, nm),
                                               op1(OP_CATCH, PyExc_ValueError), op0(OP_SCHED),
                                               op_log("outer2:end")));
    Py_DECREF(failing);
    Py_DECREF(nm);
    run_all();
    CHECK_EQ_INT(PyTasklet_GetBlocked(g_tasks[0]), -1);
    CHECK_EQ_INT(PyTasklet_GetRecursionDepth(g_tasks[0]), 4);
    PyObject *v = L(5);
    CHECK_EQ_INT(PyChannel_Send(ch, v), 0);
    Py_DECREF(v);
    run_all();
    release_tasks();
    Py_DECREF(ch);
}

/* Run_nr, Switch_nr and Insert from scripts (§4.2). */
static void sc_run_switch(void) {
    g_tasks[0] = spawn_script("A", script(5, op_log("A:start"), op_i(OP_RUN_NR, 1),
                                          op_log("A:back"), op_i(OP_SWITCH_NR, 2),
                                          op_log("A:end")));
    g_tasks[1] = spawn_script("B", script(3, op_log("B:start"), op0(OP_SCHED), op_log("B:end")));
    g_tasks[2] = spawn_script("C", script(3, op_log("C:start"), op_i(OP_INSERT, 0),
                                          op_log("C:end")));
    CHECK_EQ_INT(PyTasklet_Remove(g_tasks[2]), 0); /* C is paused until A switches to it */
    run_all();
    release_tasks();
}

/* A stack-switched body (plain PyChannel_Receive in a loop) talking to a script. */
static PyObject *body_hard_receiver(PyObject *self, PyObject *args) {
    (void)self, (void)args;
    for (int i = 0; i < 2; i++) {
        PyObject *v = PyChannel_Receive(g_ch);
        if (v == NULL) return NULL;
        log_eventf("H:got %ld", long_of(v));
        Py_DECREF(v);
    }
    Py_RETURN_NONE;
}
static PyMethodDef def_hard_receiver = {"hard_receiver", body_hard_receiver, METH_VARARGS, NULL};

static void sc_mixed(void) {
    PyChannelObject *ch = PyChannel_New(NULL);
    g_ch = ch;
    g_tasks[0] = spawn(&def_hard_receiver, NULL);
    g_tasks[1] = spawn_script("P", script(4, op_send(OP_SEND_NR, ch, 1), op_log("P:mid"),
                                          op_send(OP_SEND, ch, 2), op_log("P:end")));
    run_all();
    release_tasks();
    Py_DECREF(ch);
}

/* The schedule hook sees the same switches (§4.8): t1 schedules once, t2 just returns. */
static const char *task_label(PyTaskletObject *t) {
    static const char *const names[] = {"t1", "t2", "t3", "t4", "t5", "t6", "t7", "t8"};
    if (PyTasklet_IsMain(t) == 1) return "main";
    for (int i = 0; i < 8; i++)
        if (g_tasks[i] == t) return names[i];
    return "?";
}
static int g_hook_current_ok;
static int sched_hook(PyTaskletObject *prev, PyTaskletObject *next) {
    char buf[64];
    snprintf(buf, sizeof buf, "%s->%s", task_label(prev), task_label(next));
    log_event(buf);
    PyTaskletObject *c = get_current(); /* the callback runs with current still prev */
    g_hook_current_ok += c == prev;
    Py_DECREF(c);
    return 0;
}
static void sc_sched_hook(void) {
    g_tasks[0] = spawn_script("t1", script(1, op0(OP_SCHED)));
    g_tasks[1] = spawn_script("t2", script(0));
    g_hook_current_ok = 0;
    PyStackless_SetScheduleFastcallback(sched_hook);
    run_all();
    PyStackless_SetScheduleFastcallback(NULL);
    CHECK_EQ_INT(g_hook_current_ok, 4);
    release_tasks();
}

static void test_equivalence(void) {
    fprintf(stderr, "-- equivalence harness\n");
    init_decl(&script_decl, NULL);
    equivalent("round robin", sc_round_robin, "A0 B0 C0 A1 B1 Cend Aend Bend");
    equivalent("channel pref -1", sc_channel_m1, "C:got 1 P:sent1 C:got 2 C:end P:sent2");
    equivalent("channel pref 0", sc_channel_0, "P:sent1 C:got 1 C:got 2 C:end P:sent2");
    equivalent("channel pref 1", sc_channel_1, "P:sent1 C:got 1 P:sent2 C:got 2 C:end");
    equivalent("kill", sc_kill,
               "V:start V:exit TaskletExit() main:killed V W:caught TaskletExit() W:cleanup "
               "main:killed W main:kill X pending W:after X:exit TaskletExit()");
    equivalent("kill from a tasklet", sc_kill_from_tasklet,
               "K:killing V:exit TaskletExit() K:after");
    equivalent("raise_exception", sc_raise_exception,
               "victim:caught ValueError(boom) victim:schedules main:resumed (balance 0) "
               "other:runs victim:resumed");
    equivalent("uncaught", sc_uncaught,
               "A1 bad:exit ZeroDivisionError(bad) run raised C1 A2 C2 R:caught KeyError('k') "
               "main:sent KeyError main:threw IndexError R:exit IndexError(None)");
    equivalent("tempval", sc_tempval, "T:resumed Z T:end");
    equivalent("nested frames", sc_nested,
               "mid:start inner:start inner:depth 4 failing:exit ValueError(inner failed) "
               "outer2:caught ValueError(inner failed) outer2:end inner:got 5 mid:call-> 7 "
               "mid:end outer:call-> None outer:depth 2 outer:end");
    equivalent("run / switch / insert", sc_run_switch,
               "A:start B:start A:back C:start C:end B:end A:end");
    equivalent("soft and hard tasklets", sc_mixed, "H:got 1 P:mid H:got 2 P:end");
    equivalent("schedule hook", sc_sched_hook, "main->t1 t1->t2 t2->t1 t1->main");
}

/* =========================================================================================
 * 7. An API call while a soft switch is pending
 * ========================================================================================= */

#define PENDING_MSG                                                                           \
    "a soft switch is pending: a function that got 1 / Py_UnwindToken from a _nr call must " \
    "return Py_UnwindToken to its caller before calling the library again"
#define BROKEN_MSG                                                                            \
    "the tasklet's code returned a value after a soft switch instead of Py_UnwindToken"

static int g_pending_got; /* what the _nr call returned: 1 token */
static int g_keep_promise;

/* A METH_STACKLESS body that gets the token from Schedule_nr and then, instead of returning
 * it, calls the library: every call that may switch is refused with SystemError. Then it
 * keeps its promise (returns the token) or breaks it (returns None). */
static PyObject *body_pending(PyObject *self, PyObject *args) {
    STACKLESS_GETARG();
    (void)self, (void)args;
    log_event("B:start");
    PyObject *r = PyStackless_Schedule_nr(Py_None, 0);
    g_pending_got = r == TOKEN;
    if (r != TOKEN) {
        log_event("B:hard");
        return r;
    }
    CHECK(fails_nr(PyStackless_Schedule(Py_None, 0)));
    CHECK_EXC(PyExc_SystemError, PENDING_MSG);
    CHECK(fails_nr(PyStackless_Schedule_nr(Py_None, 0)));
    CHECK_EXC(PyExc_SystemError, PENDING_MSG);
    PyObject *v = L(1);
    CHECK_EQ_INT(PyChannel_Send(g_ch, v), -1);
    CHECK_EXC(PyExc_SystemError, PENDING_MSG);
    CHECK_EQ_INT(PyChannel_Send_nr(g_ch, v), -1);
    CHECK_EXC(PyExc_SystemError, PENDING_MSG);
    Py_DECREF(v);
    CHECK(fails_nr(PyChannel_Receive(g_ch)));
    CHECK_EXC(PyExc_SystemError, PENDING_MSG);
    CHECK(fails_nr(PyChannel_Receive_nr(g_ch)));
    CHECK_EXC(PyExc_SystemError, PENDING_MSG);
    CHECK_EQ_INT(PyTasklet_Run(g_other), -1);
    CHECK_EXC(PyExc_SystemError, PENDING_MSG);
    CHECK_EQ_INT(PyTasklet_Switch_nr(g_other), -1);
    CHECK_EXC(PyExc_SystemError, PENDING_MSG);
    CHECK_EQ_INT(PyTasklet_Kill(g_other), -1);
    CHECK_EXC(PyExc_SystemError, PENDING_MSG);
    PyObject *exc = PyObject_CallOneArg(PyExc_ValueError, Py_None);
    CHECK_EQ_INT(PyTasklet_Throw(g_other, 0, exc, NULL, NULL), -1);
    CHECK_EXC(PyExc_SystemError, PENDING_MSG);
    Py_XDECREF(exc);
    CHECK(fails_nr(PyStackless_RunWatchdog(0)));
    CHECK_EXC(PyExc_SystemError, PENDING_MSG);
    /* A stackless PyStackless_CallFunction would push a frame: refused as well. (Known
     * failure at the time of writing: it returns the token and pushes the frame onto the
     * tasklet switched to, which then runs trivial_ssf after its own body.) */
    STACKLESS_PROMOTE_ALL();
    CHECK(fails_nr(PyStackless_CallFunction(&trivial_decl, Py_None, NULL, NULL, NULL, 0, NULL)));
    CHECK_EXC(PyExc_SystemError, PENDING_MSG);
    CHECK_EQ_INT(_PyStackless_TRY_STACKLESS, 0);
    log_event("B:refused");
    if (g_keep_promise) return TOKEN;
    Py_RETURN_NONE;
}
static PyMethodDef def_pending = {"body_pending", body_pending, METH_VARARGS | METH_STACKLESS,
                                  NULL};

/* The opposite mistake: a body returns the token although nothing switched soft. */
static PyObject *body_false_token(PyObject *self, PyObject *args) {
    (void)self, (void)args;
    log_event("F:start");
    return TOKEN;
}
static PyMethodDef def_false_token = {"false_token", body_false_token, METH_VARARGS, NULL};

static void test_pending_switch(void) {
    fprintf(stderr, "-- API calls while a soft switch is pending\n");
    PyChannelObject *ch = PyChannel_New(NULL);
    g_ch = ch;
    for (g_keep_promise = 1; g_keep_promise >= 0; g_keep_promise--) {
        log_reset();
        g_pending_got = -1;
        PyTaskletObject *b = spawn(&def_pending, NULL);
        PyTaskletObject *o = spawn_str(&def_log, "O:run");
        g_other = o;
        PyObject *r = PyStackless_RunWatchdog(0);
        CHECK_EQ_INT(g_pending_got, g_soft);
        if (!g_soft) {
            CHECK(r == Py_None);
            CHECK_LOG("B:start O:run B:hard");
        } else if (g_keep_promise) {
            /* the late token is accepted: B resumes and ends with the schedule's result */
            CHECK(r == Py_None);
            CHECK_LOG("B:start B:refused O:run");
        } else {
            /* a broken promise: B is already suspended; it dies with SystemError when it
             * resumes, and the error reaches run() */
            CHECK(r == NULL);
            CHECK_EXC(PyExc_SystemError, BROKEN_MSG);
            CHECK_LOG("B:start B:refused O:run");
        }
        release(r);
        CHECK_EQ_INT(PyTasklet_Alive(b), 0);
        CHECK_EQ_INT(PyTasklet_Alive(o), 0);
        CHECK_EQ_INT(PyChannel_GetBalance(ch), 0);
        Py_XDECREF(b);
        Py_XDECREF(o);
        end_test();
    }
    Py_DECREF(ch);

    log_reset();
    PyTaskletObject *f = spawn(&def_false_token, NULL);
    CHECK(fails_nr(PyStackless_RunWatchdog(0)));
    CHECK_EXC(PyExc_SystemError,
              "a function returned Py_UnwindToken although no soft switch happened");
    CHECK_LOG("F:start");
    CHECK_EQ_INT(PyTasklet_Alive(f), 0);
    Py_XDECREF(f);
    end_test();
}

/* =========================================================================================
 * 8. Runner-stack economy and the state of soft tasklets
 * ========================================================================================= */

/* econ_ssf(n = number of schedules): schedules n times (the sixth time with remove), with the
 * promoted plain call; counts the soft switches in g_econ_unwinds. */
static long g_econ_unwinds, g_econ_done;

static PyObject *econ_ssf(PyObject *retval, long *step, PyObject **ob1, PyObject **ob2,
                          PyObject **ob3, long *n, void **any) {
    STACKLESS_GETARG();
    (void)ob1, (void)ob2, (void)ob3, (void)any;
    if (retval == NULL) return NULL;
    while (*step < *n) {
        int remove = *step == 5;
        (*step)++;
        STACKLESS_PROMOTE_ALL();
        PyObject *r = PyStackless_Schedule(Py_None, remove);
        STACKLESS_ASSERT();
        if (r == NULL) return NULL;
        if (STACKLESS_UNWINDING(r)) {
            g_econ_unwinds++;
            return r;
        }
        Py_DECREF(r);
    }
    g_econ_done++;
    Py_RETURN_NONE;
}
static DECL econ_decl = {PyObject_HEAD_INIT(NULL) econ_ssf, "econ", NULL};

static void test_many_soft_tasklets(void) {
    enum { N = 1000, SWITCHES = 10 };
    fprintf(stderr, "-- %d tasklets x %d soft schedules\n", N, SWITCHES);
    init_decl(&econ_decl, NULL);
    static PyTaskletObject *ts[N];
    g_econ_unwinds = g_econ_done = 0;
    for (int i = 0; i < N; i++) ts[i] = spawn_soft(&econ_decl, Py_None, SWITCHES, NULL, NULL, NULL);
    run_all(); /* everyone schedules 5 times, then removes itself */
    int paused = 0, restorable = 0, frames = 0, level0 = 0;
    for (int i = 0; i < N; i++) {
        paused += PyTasklet_Paused(ts[i]) == 1;
        restorable += PyTasklet_Restorable(ts[i]) == 1;
        level0 += PyTasklet_GetNestingLevel(ts[i]) == 0;
        PyObject *f = PyTasklet_GetFrame(ts[i]);
        frames += f != NULL && PyTuple_Check(f) && PyTuple_Size(f) == 2 &&
                  PyTuple_GetItem(f, 0) == (PyObject *)&econ_decl &&
                  long_of(PyTuple_GetItem(f, 1)) == 6;
        Py_XDECREF(f);
    }
    CHECK_EQ_INT(paused, N);
    CHECK_EQ_INT(restorable, g_soft ? N : 0);
    CHECK_EQ_INT(frames, g_soft ? N : 0);
        /* Suspended at the function's level: nesting 0 in both modes (SPEC §7). */
    CHECK_EQ_INT(level0, N);
    CHECK_EQ_INT(g_econ_unwinds, g_soft ? N * 6L : 0);
    for (int i = 0; i < N; i++) CHECK_EQ_INT(PyTasklet_Insert(ts[i]), 0) ;
    run_all();
    CHECK_EQ_INT(g_econ_done, N);
    CHECK_EQ_INT(g_econ_unwinds, g_soft ? (long)N * SWITCHES : 0);
    int dead = 0;
    for (int i = 0; i < N; i++) {
        dead += PyTasklet_Alive(ts[i]) == 0;
        Py_DECREF(ts[i]);
    }
    CHECK_EQ_INT(dead, N);
    end_test();
}

/* A plain body that blocks with a hard switch: PyChannel_Receive (no flag). */
static PyObject *body_hard_recv(PyObject *self, PyObject *args) {
    (void)self, (void)args;
    return PyChannel_Receive(g_ch);
}
static PyMethodDef def_hard_recv = {"hard_recv", body_hard_recv, METH_VARARGS, NULL};

/* A plain body ending with PyChannel_Receive_nr in tail position. */
static PyObject *body_tail_recv(PyObject *self, PyObject *args) {
    (void)self, (void)args;
    return PyChannel_Receive_nr(g_ch);
}
static PyMethodDef def_tail_recv = {"tail_recv", body_tail_recv, METH_VARARGS, NULL};

/* A plain body that receives at a nested level. */
static PyObject *nested_recv(PyObject *self, PyObject *args) {
    (void)self, (void)args;
    return PyChannel_Receive_nr(g_ch);
}
static PyMethodDef def_nested_recv = {"nested_recv", nested_recv, METH_VARARGS, NULL};
static PyObject *body_nested_recv(PyObject *self, PyObject *args) {
    (void)self;
    PyObject *f = make_func(&def_nested_recv);
    PyObject *r = PyObject_Call(f, args, NULL);
    Py_DECREF(f);
    return r;
}
static PyMethodDef def_body_nested_recv = {"body_nested_recv", body_nested_recv, METH_VARARGS,
                                           NULL};

/* Restorable / GetFrame / nesting of tasklets blocked in various ways. */
static void state_case(PyMethodDef *def, int want_restorable, int want_nesting) {
    PyChannelObject *ch = PyChannel_New(NULL);
    g_ch = ch;
    PyObject *f = make_func(def);
    PyTaskletObject *t = PyTasklet_New(NULL, f);
    PyObject *noargs = PyTuple_New(0);
    CHECK_EQ_INT(PyTasklet_Setup(t, noargs, NULL), 0);
    Py_DECREF(noargs);
    CHECK_EQ_INT(PyTasklet_Restorable(t), 1); /* new: no C state */
    run_all();
    CHECK_EQ_INT(PyTasklet_GetBlocked(t), -1);
    if (PyTasklet_Restorable(t) != want_restorable) fprintf(stderr, "    in %s\n", def->ml_name);
    CHECK_EQ_INT(PyTasklet_Restorable(t), want_restorable);
    CHECK_EQ_INT(PyTasklet_GetNestingLevel(t), want_nesting);
    PyObject *fr = PyTasklet_GetFrame(t); /* no soft frame: the body's callable */
    CHECK(fr == f);
    Py_XDECREF(fr);
    /* bind(None) refuses a blocked tasklet */
    CHECK_EQ_INT(PyTasklet_BindEx(t, NULL, NULL, NULL), -1);
    CHECK_EXC(PyExc_RuntimeError, "tasklet is scheduled");
    PyObject *v = L(3);
    CHECK_EQ_INT(PyChannel_Send(ch, v), 0);
    Py_DECREF(v);
    CHECK_EQ_INT(PyTasklet_Alive(t), 0);
    CHECK_EQ_INT(PyTasklet_Restorable(t), 1);
    Py_XDECREF(t);
    Py_DECREF(f);
    Py_DECREF(ch);
    end_test();
}

static void test_restorable(void) {
    fprintf(stderr, "-- restorable / frame / nesting\n");
    state_case(&def_tail_recv, g_soft, 0);
    state_case(&def_hard_recv, 0, 0);
    state_case(&def_body_nested_recv, 0, 1);
    PyTaskletObject *m = T(PyStackless_GetMain());
    CHECK_EQ_INT(PyTasklet_Restorable(m), 0);
    Py_DECREF(m);
}

/* bind_ssf: a paused state machine with a "finally" step that must not run when the tasklet
 * is unbound (B062): it counts in g_finally. */
static int g_finally;
static PyObject *bind_ssf(PyObject *retval, long *step, PyObject **ob1, PyObject **ob2,
                          PyObject **ob3, long *n, void **any) {
    STACKLESS_GETARG();
    (void)ob1, (void)ob2, (void)ob3, (void)n, (void)any;
    if (*step == 0 && retval != NULL) {
        *step = 1;
        STACKLESS_PROMOTE_ALL();
        PyObject *r = PyStackless_Schedule(Py_None, 1);
        STACKLESS_ASSERT();
        if (r != NULL && STACKLESS_UNWINDING(r)) return r;
        retval = r;
    } else {
        Py_XINCREF(retval);
    }
    g_finally++; /* the "finally" block */
    return retval;
}
static DECL bind_decl = {PyObject_HEAD_INIT(NULL) bind_ssf, "bind_demo", NULL};

static PyObject *body_hard_pause(PyObject *self, PyObject *args) {
    (void)self, (void)args;
    PyObject *r = PyStackless_Schedule(Py_None, 1); /* no flag: a hard switch */
    g_finally++;
    return r;
}
static PyMethodDef def_hard_pause = {"hard_pause", body_hard_pause, METH_VARARGS, NULL};

static void test_B062(void) {
    fprintf(stderr, "-- B062 (bind(None) on a paused tasklet)\n");
    init_decl(&bind_decl, NULL);
    g_finally = 0;
    PyObject *keep = S("kept by the frame");
    Py_ssize_t rk = Py_REFCNT(keep);
    PyTaskletObject *t = spawn_soft(&bind_decl, Py_None, 0, keep, NULL, NULL);
    CHECK_EQ_INT(PyTasklet_Run(t), 0);
    CHECK_EQ_INT(PyTasklet_Paused(t), 1);
    CHECK_EQ_INT(PyTasklet_Restorable(t), g_soft);
    if (g_soft) {
        /* soft: no C state, so the tasklet can be unbound; its frame is dropped without
         * running (the finally step never runs) and its references are released */
        CHECK_EQ_INT(PyTasklet_BindEx(t, NULL, NULL, NULL), 0);
        CHECK_EQ_INT(PyTasklet_Alive(t), 0);
        CHECK_EQ_INT(PyTasklet_Paused(t), 0);
        PyObject *f = PyTasklet_GetFrame(t);
        CHECK(f == NULL);
        CHECK_NO_EXC();
        Py_XDECREF(f);
        CHECK_EQ_INT(Py_REFCNT(keep), rk); /* the frame's reference is released */
        CHECK_EQ_INT(PyTasklet_Run(t), -1);
        CHECK_EXC(PyExc_RuntimeError, "You cannot run an unbound(dead) tasklet");
        CHECK_EQ_INT(g_finally, 0);
        /* it can be bound again: alive and paused, and it runs its new function */
        PyObject *lf = make_func(&def_log);
        PyObject *args = tuple_steal(1, S("rebound"));
        log_reset();
        CHECK_EQ_INT(PyTasklet_BindEx(t, lf, args, NULL), 0);
        Py_DECREF(args);
        Py_DECREF(lf);
        CHECK_EQ_INT(PyTasklet_Alive(t), 1);
        CHECK_EQ_INT(PyTasklet_Paused(t), 1);
        CHECK_EQ_INT(PyTasklet_Insert(t), 0);
        run_all();
        CHECK_LOG("rebound");
        CHECK_EQ_INT(PyTasklet_Alive(t), 0);
        CHECK_EQ_INT(g_finally, 0);
    } else {
        /* hard: the tasklet keeps C state */
        CHECK_EQ_INT(PyTasklet_BindEx(t, NULL, NULL, NULL), -1);
        CHECK_EXC(PyExc_RuntimeError, "tasklet has C state on its stack");
        CHECK_EQ_INT(PyTasklet_Alive(t), 1);
        CHECK_EQ_INT(PyTasklet_Insert(t), 0);
        run_all();
        CHECK_EQ_INT(PyTasklet_Alive(t), 0);
        CHECK_EQ_INT(g_finally, 1);
    }
    Py_XDECREF(t);
    CHECK_EQ_INT(Py_REFCNT(keep), rk);
    Py_DECREF(keep);

    end_test();

    /* A plain body paused in a hard PyStackless_Schedule(remove) has C state in both modes. */
    g_finally = 0;
    t = spawn(&def_hard_pause, NULL);
    CHECK_EQ_INT(PyTasklet_Run(t), 0);
    CHECK_EQ_INT(PyTasklet_Paused(t), 1);
    CHECK_EQ_INT(PyTasklet_Restorable(t), 0);
    CHECK_EQ_INT(PyTasklet_BindEx(t, NULL, NULL, NULL), -1);
    CHECK_EXC(PyExc_RuntimeError, "tasklet has C state on its stack");
    CHECK_EQ_INT(PyTasklet_Alive(t), 1);
    CHECK_EQ_INT(PyTasklet_Insert(t), 0);
    run_all();
    CHECK_EQ_INT(PyTasklet_Alive(t), 0);
    CHECK_EQ_INT(g_finally, 1);
    Py_XDECREF(t);
    end_test();
}

/* Killing a soft-suspended tasklet: its state machine is re-entered with retval NULL and
 * TaskletExit pending. */
static void test_kill_soft(void) {
    fprintf(stderr, "-- kill a soft-suspended tasklet\n");
    for (int pending = 0; pending <= 1; pending++) {
        rec_reset();
        g_demo_null_step = -1;
        g_demo_null_exc[0] = '\0';
        PyObject *obj = S("obj");
        PyTaskletObject *t = spawn_recorded(&demo_decl, obj, 2);
        CHECK_EQ_INT(PyTasklet_Run(t), 0);
        CHECK_EQ_INT(PyTasklet_Paused(t), 1);
        CHECK_EQ_INT(PyTasklet_Restorable(t), g_soft);
        CHECK_EQ_INT(PyTasklet_KillEx(t, pending), 0);
        if (pending) {
            CHECK_EQ_INT(PyTasklet_Alive(t), 1);
            CHECK_EQ_INT(g_demo_null_step, -1);
            run_all();
        }
        CHECK_EQ_INT(PyTasklet_Alive(t), 0);
        CHECK_EQ_INT(g_demo_null_step, 1);
        CHECK_STR(g_demo_null_exc, "TaskletExit");
        /* the recorder (the frame below) saw the TaskletExit come out of demo */
        CHECK_EQ_INT(g_rec_count, 1);
        CHECK(g_rec_exc != NULL && PyErr_GivenExceptionMatches(g_rec_exc, PyExc_TaskletExit));
        Py_XDECREF(t);
        Py_DECREF(obj);
        rec_reset();
        end_test();
    }
    /* a soft receiver blocked on a channel: killed, the balance is back to 0 */
    PyChannelObject *ch = PyChannel_New(NULL);
    log_reset();
    PyTaskletObject *r = spawn_soft(&recv_decl, Py_None, FLAVOUR_NR, (PyObject *)ch, NULL, NULL);
    run_all();
    CHECK_EQ_INT(PyChannel_GetBalance(ch), -1);
    CHECK_EQ_INT(PyTasklet_Kill(r), 0);
    CHECK_EQ_INT(PyChannel_GetBalance(ch), 0);
    CHECK_EQ_INT(PyTasklet_Alive(r), 0);
    CHECK_LOG("R:recv-start");
    Py_XDECREF(r);
    Py_DECREF(ch);
    end_test();
}

/* ---- main ------------------------------------------------------------------------------- */

int main(void) {
    test_protocol_flag();
    test_declarations();
    for (int soft = 1; soft >= 0; soft--) {
        g_soft = soft;
        PyStackless_EnableSoftswitch(soft);
        fprintf(stderr, "--- soft switching %s\n", soft ? "enabled" : "disabled");
        test_nr_codes();
        test_B156();
        test_B157();
        test_B158();
        test_B014_B021();
        test_pending_switch();
        test_many_soft_tasklets();
        test_restorable();
        test_B062();
        test_kill_soft();
    }
    PyStackless_EnableSoftswitch(1);
    g_soft = 1;
    test_equivalence();
    return check_report();
}
