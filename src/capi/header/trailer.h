
/* ----- Hand-written part (src/capi/header/trailer.h): macros, inline reference counting
 * and the C-variadic functions. It has its own guard because cbindgen places the trailer
 * after the main include guard. ----- */
#ifndef STACKLESS_TRAILER_H
#define STACKLESS_TRAILER_H

#ifdef __cplusplus
extern "C" {
#endif

/* Casts any object pointer (PyTaskletObject *, ...) to PyObject *. */
#define _PyObject_CAST(op) ((PyObject *)(op))

/* Put PyObject_HEAD first in a struct to make it an object. */
#define PyObject_HEAD PyObject ob_base;
/* Initializer of the head of a static object: static objects are immortal. */
#define PyObject_HEAD_INIT(type) { _Py_IMMORTAL_REFCNT, (type) },

#define Py_TYPE(ob) (_PyObject_CAST(ob)->ob_type)
#define Py_REFCNT(ob) (__atomic_load_n(&_PyObject_CAST(ob)->ob_refcnt, __ATOMIC_RELAXED))
#define Py_IS_TYPE(ob, type) (Py_TYPE(ob) == (type))
#define Py_Is(x, y) ((x) == (y))
#define Py_IsNone(x) Py_Is((x), Py_None)

/* Reference counts are atomic: objects may travel between threads through channels.
 * Unlike CPython, Py_INCREF/Py_DECREF ignore NULL. */
static inline void _Py_INCREF_impl(PyObject *op) {
    if (op) __atomic_fetch_add(&op->ob_refcnt, 1, __ATOMIC_RELAXED);
}
static inline void _Py_DECREF_impl(PyObject *op) {
    if (op && __atomic_sub_fetch(&op->ob_refcnt, 1, __ATOMIC_RELEASE) == 0) {
        __atomic_thread_fence(__ATOMIC_ACQUIRE);
        _Py_Dealloc(op);
    }
}
static inline PyObject *_Py_NewRef_impl(PyObject *op) { _Py_INCREF_impl(op); return op; }

#define Py_INCREF(op) _Py_INCREF_impl(_PyObject_CAST(op))
#define Py_DECREF(op) _Py_DECREF_impl(_PyObject_CAST(op))
#define Py_XINCREF(op) _Py_INCREF_impl(_PyObject_CAST(op))
#define Py_XDECREF(op) _Py_DECREF_impl(_PyObject_CAST(op))
#define Py_NewRef(op) _Py_NewRef_impl(_PyObject_CAST(op))
#define Py_XNewRef(op) _Py_NewRef_impl(_PyObject_CAST(op))

/* Releases the reference held in the variable op (if any) and sets op to NULL first. */
#define Py_CLEAR(op) \
    do { \
        PyObject *_py_tmp = _PyObject_CAST(op); \
        if (_py_tmp != NULL) { \
            (op) = NULL; \
            Py_DECREF(_py_tmp); \
        } \
    } while (0)

/* Stores src in dst (stealing src) and releases dst's old value afterwards. */
#define Py_SETREF(dst, src) \
    do { \
        PyObject **_tmp_dst_ptr = (PyObject **)&(dst); \
        PyObject *_tmp_old_dst = *_tmp_dst_ptr; \
        *_tmp_dst_ptr = _PyObject_CAST(src); \
        Py_DECREF(_tmp_old_dst); \
    } while (0)
#define Py_XSETREF(dst, src) Py_SETREF(dst, src)

#define Py_None (&_Py_NoneStruct)
#define Py_True ((PyObject *)&_Py_TrueStruct)
#define Py_False ((PyObject *)&_Py_FalseStruct)
#define Py_RETURN_NONE return Py_NewRef(Py_None)
#define Py_RETURN_TRUE return Py_NewRef(Py_True)
#define Py_RETURN_FALSE return Py_NewRef(Py_False)
#define Py_RETURN_NOTIMPLEMENTED return (PyErr_SetString(PyExc_NotImplementedError, "not implemented"), (PyObject *)0)

#define Py_TPFLAGS_DEFAULT 0

/* ----- C-variadic functions (implemented in C in src/capi/varargs.c) ----- */

/* Returns a new reference to a str built from a printf-like format. Supported: %% %c %d %i
 * %u %ld %li %lu %lld %lli %llu %zd %zi %zu %x %s %p, %U (a str object), %S (str() of an
 * object), %R (repr() of an object), %A (same as %R); widths and precisions are not supported.
 * An unsupported conversion is a SystemError. Returns NULL with an exception set on error. */
PyObject *PyUnicode_FromFormat(const char *format, ...);
/* PyUnicode_FromFormat with a va_list. */
PyObject *PyUnicode_FromFormatV(const char *format, va_list vargs);

/* Sets exception `exception` with a message built as PyUnicode_FromFormat does, and returns
 * NULL (always). */
PyObject *PyErr_Format(PyObject *exception, const char *format, ...);
/* PyErr_Format with a va_list. */
PyObject *PyErr_FormatV(PyObject *exception, const char *format, va_list vargs);

/* Builds a value from a format, as CPython's Py_BuildValue: one unit gives that value,
 * several give a tuple. Units: i b h B H (int), I k (unsigned), l, L, K, n (Py_ssize_t),
 * c (char -> 1-byte bytes), C (int -> 1-char str), s z U (C string or NULL -> str / None),
 * s# z# y# (with a Py_ssize_t length), y (C string -> bytes), O S (object, new reference
 * taken), N (object, reference stolen), O& (converter, object), ( ) tuple, { } dict, and
 * spaces, commas and colons as separators. An unsupported unit is a SystemError. Returns a
 * new reference or NULL with an exception set (references passed with N are released on
 * error too). */
PyObject *Py_BuildValue(const char *format, ...);
/* Py_BuildValue with a va_list. */
PyObject *Py_VaBuildValue(const char *format, va_list vargs);

/* Parses the tuple `args` into C variables, as CPython's PyArg_ParseTuple. Units: i b h l L n
 * (integers, range-checked), I k K (unsigned, not range-checked), p (truth as int), s z
 * (const char *, z accepts None), s# z# y# (pointer + Py_ssize_t length), y (bytes as const
 * char *), U (str object), O (object, borrowed), O! (type-checked object), O& (converter),
 * S (bytes object), (...) (nested tuple), | (the rest is optional), $ (ignored), :name and
 * ;message (error text). Returns 1 on success, 0 with an exception set on failure. */
int PyArg_ParseTuple(PyObject *args, const char *format, ...);
/* PyArg_ParseTuple with a va_list. */
int PyArg_VaParse(PyObject *args, const char *format, va_list vargs);
/* PyArg_ParseTuple with keyword arguments: `kw` is a dict or NULL, `keywords` the
 * NULL-terminated list of parameter names (an empty name marks a positional-only one).
 * Returns 1 on success, 0 with an exception set on failure. */
int PyArg_ParseTupleAndKeywords(PyObject *args, PyObject *kw, const char *format,
                                char **keywords, ...);
/* PyArg_ParseTupleAndKeywords with a va_list. */
int PyArg_VaParseTupleAndKeywords(PyObject *args, PyObject *kw, const char *format,
                                  char **keywords, va_list vargs);
/* Unpacks the tuple `args` (between min and max items) into `max` PyObject ** outputs
 * (borrowed references; outputs past the given items are left untouched). Returns 1 on
 * success, 0 with an exception set on failure. */
int PyArg_UnpackTuple(PyObject *args, const char *name, Py_ssize_t min, Py_ssize_t max, ...);

/* Calls `callable` with arguments built by Py_BuildValue(format, ...) (a tuple result gives
 * the arguments, anything else the single argument; NULL format means no arguments).
 * Returns a new reference or NULL with an exception set. */
PyObject *PyObject_CallFunction(PyObject *callable, const char *format, ...);
/* Calls the method `name` of `obj` with arguments built as in PyObject_CallFunction.
 * Returns a new reference or NULL with an exception set. */
PyObject *PyObject_CallMethod(PyObject *obj, const char *name, const char *format, ...);
/* Calls `callable` with the NULL-terminated list of object arguments (borrowed). Returns a
 * new reference or NULL with an exception set. */
PyObject *PyObject_CallFunctionObjArgs(PyObject *callable, ...);
/* Calls the method named by the str `name` of `obj` with the NULL-terminated list of object
 * arguments (borrowed). Returns a new reference or NULL with an exception set. */
PyObject *PyObject_CallMethodObjArgs(PyObject *obj, PyObject *name, ...);

/* Returns a new reference to a tuple of the `n` object arguments (borrowed; the tuple takes
 * its own references), or NULL with an exception set. */
PyObject *PyTuple_Pack(Py_ssize_t n, ...);

/* ----- Scheduler conveniences (src/capi/stackless_varargs.c) ----- */

/* Calls the method `name` of `o` (or `o` itself when `name` is NULL) as the main tasklet's
 * code (see PyStackless_Call_Main), with arguments built as in PyObject_CallFunction.
 * Returns a new reference or NULL with an exception set. */
PyObject *PyStackless_CallMethod_Main(PyObject *o, const char *name, const char *format, ...);
/* Calls the C function described by `meth` (bound to `self`, which may be NULL) as the main
 * tasklet's code, with arguments built as in PyObject_CallFunction. `meth` must outlive the
 * call. Returns a new reference or NULL with an exception set. */
PyObject *PyStackless_CallCMethod_Main(PyMethodDef *meth, PyObject *self, const char *format,
                                       ...);

/* True when `obj` is the soft-switch marker returned by a `_nr` call that switched soft. */
#define STACKLESS_UNWINDING(obj) ((PyObject *)(obj) == (PyObject *)Py_UnwindToken)

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* STACKLESS_TRAILER_H */
