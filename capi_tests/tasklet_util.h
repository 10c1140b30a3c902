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
 * A tasklet body is a METH_VARARGS / METH_NOARGS / METH_O C function; it returns a new
 * reference (its result) or NULL with an exception set (the tasklet dies with it).
 */
#ifndef STACKLESS_TASKLET_UTIL_H
#define STACKLESS_TASKLET_UTIL_H

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

#endif /* STACKLESS_TASKLET_UTIL_H */
