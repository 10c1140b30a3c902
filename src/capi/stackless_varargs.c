/* The C-variadic conveniences of the scheduler module: PyStackless_CallMethod_Main and
 * PyStackless_CallCMethod_Main. Stable Rust cannot define C-variadic functions, so they are
 * written here on top of the library's non-variadic API (see varargs.rs for how the
 * exported names reach these slp_impl_ functions). */
#include <stdarg.h>

#include "stackless.h"

PyObject *slp_impl_PyStackless_CallMethod_Main(PyObject *o, const char *name, const char *format,
                                               ...);
PyObject *slp_impl_PyStackless_CallCMethod_Main(PyMethodDef *meth, PyObject *self,
                                                const char *format, ...);

/* The argument tuple for a call: Py_VaBuildValue's result, a single value wrapped in a tuple,
 * or () for a NULL/empty format. Returns a new reference or NULL with an exception set. */
static PyObject *call_args(const char *format, va_list va) {
    if (format == NULL || *format == '\0') return PyTuple_New(0);
    PyObject *v = Py_VaBuildValue(format, va);
    if (v == NULL || PyTuple_Check(v)) return v;
    PyObject *t = PyTuple_New(1);
    if (t == NULL) {
        Py_DECREF(v);
        return NULL;
    }
    PyTuple_SetItem(t, 0, v); /* steals v */
    return t;
}

static PyObject *call_main(PyObject *callable, const char *format, va_list va) {
    PyObject *args = call_args(format, va);
    if (args == NULL) {
        Py_DECREF(callable);
        return NULL;
    }
    PyObject *r = PyStackless_Call_Main(callable, args, NULL);
    Py_DECREF(args);
    Py_DECREF(callable);
    return r;
}

PyObject *slp_impl_PyStackless_CallMethod_Main(PyObject *o, const char *name, const char *format,
                                               ...) {
    if (o == NULL) {
        PyErr_SetString(PyExc_SystemError,
                        "PyStackless_CallMethod_Main: argument 'o' must not be NULL");
        return NULL;
    }
    PyObject *callable;
    if (name == NULL) {
        Py_INCREF(o);
        callable = o;
    } else {
        callable = PyObject_GetAttrString(o, name);
        if (callable == NULL) return NULL;
    }
    va_list va;
    va_start(va, format);
    PyObject *r = call_main(callable, format, va);
    va_end(va);
    return r;
}

PyObject *slp_impl_PyStackless_CallCMethod_Main(PyMethodDef *meth, PyObject *self,
                                                const char *format, ...) {
    if (meth == NULL) {
        PyErr_SetString(PyExc_SystemError,
                        "PyStackless_CallCMethod_Main: argument 'meth' must not be NULL");
        return NULL;
    }
    PyObject *callable = PyCFunction_New(meth, self);
    if (callable == NULL) return NULL;
    va_list va;
    va_start(va, format);
    PyObject *r = call_main(callable, format, va);
    va_end(va);
    return r;
}
