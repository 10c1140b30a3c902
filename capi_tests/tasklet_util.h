/* tasklet_util.h: helpers for the C tests that drive tasklets.
 *
 *   log_event("A0")            append an event to the trace (space separated)
 *   log_reset()                clear the trace
 *   CHECK_LOG("A0 B0 ...")     the trace equals the text (without trailing space)
 *   make_func(&def)            a new reference to a function object for a PyMethodDef
 *   spawn(&def, args)          PyTasklet_New + PyTasklet_Setup: a new reference to a
 *                              scheduled tasklet running def's function; `args` (a tuple,
 *                              stolen; NULL means no arguments)
 *   spawn_str(&def, "name")    spawn with the single argument str("name")
 *   arg_str(args, i)           the UTF-8 of str item i of an args tuple
 *   run_all()                  PyStackless_RunWatchdog(0), checks the result is None
 *
 * Small helpers shared by several tests:
 *   T(o) CH(o)                 casts to PyTaskletObject * / PyChannelObject *
 *   S("text") L(n) O(o)        a new reference: str, int, or o itself (Py_NewRef); meant
 *                              for tuple_steal's arguments
 *   tuple_steal(n, a, b, ...)  a new n-tuple of the n items, stealing each reference (an
 *                              item is released if the tuple cannot be made)
 *   tuple1(o)                  a new 1-tuple holding o (o borrowed)
 *   spawn_ch(&def, ch)         spawn with the single argument ch
 *   get_main() get_current()   new references to the main / the current tasklet
 *   fails(r)                   for checks that expect NULL: r == NULL, and releases a
 *                              result that is not (CHECK(fails(PyFoo(...))))
 *   finish(t)                  kills t if a failed check left it alive (clean teardown)
 *   attr_bool(t, "name")       the bool attribute t.name: 1/0, or -1 on error (cleared) or
 *                              if it is not a bool
 *   call_method0(t, "name")    t.name() through PyObject_GetAttrString + CallNoArgs
 *   set_atomic_current(flag)   PyTasklet_SetAtomic on the current tasklet (the old flag)
 *   log_exc("prefix")          logs "prefix:<full type name of the pending exception>" (or
 *                              "prefix:none"); the exception stays pending
 *   check_main_alone()         3 checks: only main runnable (run count 1), no exception
 *                              pending, main is current
 *   check_idle()               2 checks: no exception pending (it is cleared), run count 1
 *   running_on_valgrind()      1 when run under valgrind (its preload library is loaded)
 *   check_bad_task_int(fn, "name")
 *                              4 checks of an int function of a tasklet (SPEC §2): fn(NULL)
 *                              and fn(a str) return -1 with SystemError / TypeError naming
 *                              the function
 *
 * A tasklet body is a METH_VARARGS / METH_NOARGS / METH_O C function; it returns a new
 * reference (its result) or NULL with an exception set (the tasklet dies with it).
 */
#ifndef STACKLESS_TASKLET_UTIL_H
#define STACKLESS_TASKLET_UTIL_H

#include <stdarg.h>
#include <stdlib.h>

#include "check.h"

static char tu_log[8192];

static inline void log_reset(void) { tu_log[0] = '\0'; }

static inline void log_event(const char *ev) {
    size_t n = strlen(tu_log);
    if (n + strlen(ev) + 2 >= sizeof tu_log) return;
    if (n) strcat(tu_log, " ");
    strcat(tu_log, ev);
}

static inline void log_eventf(const char *fmt, long v) {
    char buf[128];
    snprintf(buf, sizeof buf, fmt, v);
    log_event(buf);
}

#define CHECK_LOG(want) CHECK_STR(tu_log, (want))

static inline PyObject *make_func(PyMethodDef *def) { return PyCFunction_New(def, NULL); }

static inline PyTaskletObject *spawn(PyMethodDef *def, PyObject *args) {
    PyObject *f = make_func(def);
    PyTaskletObject *t = PyTasklet_New(NULL, f);
    Py_XDECREF(f);
    if (args == NULL) args = PyTuple_New(0);
    if (t == NULL || PyTasklet_Setup(t, args, NULL) < 0) {
        check_fail(__FILE__, __LINE__, "spawn failed");
        Py_XDECREF(args);
        return t;
    }
    Py_DECREF(args);
    return t;
}

static inline PyTaskletObject *spawn_str(PyMethodDef *def, const char *s) {
    PyObject *args = PyTuple_New(1);
    PyTuple_SetItem(args, 0, PyUnicode_FromString(s));
    return spawn(def, args);
}

static inline const char *arg_str(PyObject *args, Py_ssize_t i) {
    return PyUnicode_AsUTF8(PyTuple_GetItem(args, i));
}

static inline void run_all_at(const char *file, int line) {
    PyObject *r = PyStackless_RunWatchdog(0);
    if (r != Py_None) check_fail(file, line, "PyStackless_RunWatchdog(0) did not return None");
    else check_passed_count++;
    Py_XDECREF(r);
}
#define run_all() run_all_at(__FILE__, __LINE__)

/* ---- small helpers shared by several tests -------------------------------------------- */

#define T(o) ((PyTaskletObject *)(o))
#define CH(o) ((PyChannelObject *)(o))
#define S(s) PyUnicode_FromString(s)
#define L(n) PyLong_FromLong(n)
#define O(o) Py_NewRef((PyObject *)(o))

static inline PyObject *tuple_steal(int n, ...) {
    va_list ap;
    va_start(ap, n);
    PyObject *t = PyTuple_New(n);
    for (int i = 0; i < n; i++) {
        PyObject *item = va_arg(ap, PyObject *);
        if (t != NULL) PyTuple_SetItem(t, i, item);
        else Py_XDECREF(item);
    }
    va_end(ap);
    return t;
}

static inline PyObject *tuple1(PyObject *o) {
    PyObject *t = PyTuple_New(1);
    PyTuple_SetItem(t, 0, Py_NewRef(o));
    return t;
}

static inline PyTaskletObject *spawn_ch(PyMethodDef *def, PyChannelObject *ch) {
    return spawn(def, tuple1((PyObject *)ch));
}

static inline PyTaskletObject *get_main(void) { return T(PyStackless_GetMain()); }
static inline PyTaskletObject *get_current(void) { return T(PyStackless_GetCurrent()); }

static inline int fails(void *r) {
    Py_XDECREF((PyObject *)r);
    return r == NULL;
}

static inline void finish(PyTaskletObject *t) {
    if (t != NULL && PyTasklet_Alive(t) == 1) {
        if (PyTasklet_Kill(t) < 0) PyErr_Clear();
    }
}

static inline int attr_bool(PyTaskletObject *t, const char *name) {
    PyObject *v = PyObject_GetAttrString((PyObject *)t, name);
    if (v == NULL) {
        PyErr_Clear();
        return -1;
    }
    int r = v == Py_True ? 1 : v == Py_False ? 0 : -1;
    Py_DECREF(v);
    return r;
}

static inline PyObject *call_method0(PyTaskletObject *t, const char *name) {
    PyObject *m = PyObject_GetAttrString((PyObject *)t, name);
    if (m == NULL) return NULL;
    PyObject *r = PyObject_CallNoArgs(m);
    Py_DECREF(m);
    return r;
}

static inline int set_atomic_current(int flag) {
    PyTaskletObject *c = get_current();
    int r = PyTasklet_SetAtomic(c, flag);
    Py_DECREF(c);
    return r;
}

static inline void log_exc(const char *prefix) {
    char buf[128];
    PyObject *t = PyErr_Occurred();
    snprintf(buf, sizeof buf, "%s:%s", prefix,
             t ? check_type_name((PyTypeObject *)t) : "none");
    log_event(buf);
}

/* The end of a test: the scheduler is left as it was found. */
static inline void check_main_alone(void) {
    CHECK_EQ_INT(PyStackless_GetRunCount(), 1);
    CHECK_NO_EXC();
    PyObject *cur = PyStackless_GetCurrent();
    CHECK(cur != NULL && PyTasklet_IsMain(T(cur)) == 1);
    Py_XDECREF(cur);
}

static inline void check_idle(void) {
    CHECK_NO_EXC();
    PyErr_Clear();
    CHECK_EQ_INT(PyStackless_GetRunCount(), 1);
}

static inline int running_on_valgrind(void) {
    const char *p = getenv("LD_PRELOAD");
    return p != NULL && strstr(p, "vgpreload") != NULL;
}

static inline void check_bad_task_int(int (*fn)(PyTaskletObject *), const char *name) {
    PyObject *notask = PyUnicode_FromString("not a tasklet");
    CHECK_EQ_INT(fn(NULL), -1);
    if (!CHECK_EXC_CONTAINS(PyExc_SystemError, name)) fprintf(stderr, "    (%s(NULL))\n", name);
    CHECK_EQ_INT(fn(T(notask)), -1);
    if (!CHECK_EXC_CONTAINS(PyExc_TypeError, name)) fprintf(stderr, "    (%s(str))\n", name);
    Py_DECREF(notask);
}

#endif /* STACKLESS_TASKLET_UTIL_H */
