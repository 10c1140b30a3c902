
/* ----- Hand-written part (src/capi/header/trailer.h): macros, inline reference counting
 * and the C-variadic functions. It has its own guard because cbindgen places the trailer
 * after the main include guard. ----- */
#ifndef STACKLESS_TRAILER_H
#define STACKLESS_TRAILER_H

#include <assert.h>

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
 * Immortal objects (Py_None, Py_True, types, exception classes, static declarations) are not
 * counted at all, as in CPython 3.12. Unlike CPython, Py_INCREF/Py_DECREF ignore NULL.
 * Py_DECREF of the only reference frees without an atomic read-modify-write: with a count
 * of 1 nobody else holds the object, so nobody else can change the count. */
static inline int _Py_IsImmortal(PyObject *op) {
    return __atomic_load_n(&op->ob_refcnt, __ATOMIC_RELAXED) >= _Py_IMMORTAL_REFCNT;
}
static inline void _Py_INCREF_impl(PyObject *op) {
    if (op && !_Py_IsImmortal(op)) __atomic_fetch_add(&op->ob_refcnt, 1, __ATOMIC_RELAXED);
}
static inline void _Py_DECREF_impl(PyObject *op) {
    if (op == NULL) return;
    Py_ssize_t n = __atomic_load_n(&op->ob_refcnt, __ATOMIC_ACQUIRE);
    if (n >= _Py_IMMORTAL_REFCNT) return;
    if (n == 1 || __atomic_sub_fetch(&op->ob_refcnt, 1, __ATOMIC_RELEASE) == 0) {
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

/* ----- C-variadic functions (implemented in C in src/capi/varargs.c) -----
 *
 * They follow CPython 3.12 (semantics and error messages), with these differences: there is
 * no float, complex, list or buffer type, so the format units that need one are a
 * SystemError; ints are 64-bit (an unsigned value above INT64_MAX is an OverflowError); a
 * str holds valid UTF-8 only (no lone surrogates); every required pointer argument is checked
 * (NULL gives a SystemError naming the function, never a crash); PyArg formats are validated
 * before any argument is converted (a bad unit is a SystemError even in an optional part). */

/* Returns a new reference to a str built from a printf-like format (ASCII; a non-ASCII byte
 * is a ValueError). Each conversion is %[flags][width][.precision][length]type:
 *   flags: '-' (left-justify), '0' (zero-pad integers); width and precision: digits or '*'
 *   (an int argument; a negative width left-justifies, a negative precision is ignored);
 *   length (integers only, plus 'l' for %s and %V): l ll z t j (long, long long, size_t or
 *   Py_ssize_t, ptrdiff_t, intmax_t);
 *   %% a '%'; %c an int code point (OverflowError outside range(0x110000), ValueError for a
 *   surrogate); %d %i signed, %u %x %X %o unsigned integers (precision: minimum digits);
 *   %p a pointer as 0x-prefixed lowercase hex ("0x0" for NULL); %s a UTF-8 C string
 *   (invalid bytes become U+FFFD; precision counts bytes; NULL prints "(null)"), %ls a
 *   wchar_t string; %U a str object; %V a str object, or when it is NULL the C string that
 *   follows it; %S str(), %R repr(), %A ascii() of an object (NULL prints "<NULL>", like
 *   CPython's PyObject_Str(NULL)). Width and precision of text count characters.
 * Any other conversion, or %c/%p with a width, precision or length, is a SystemError
 * ("invalid format string: %q..."). Returns NULL with an exception set on error. */
PyObject *PyUnicode_FromFormat(const char *format, ...);
/* PyUnicode_FromFormat with a va_list. */
PyObject *PyUnicode_FromFormatV(const char *format, va_list vargs);

/* Clears any pending exception, then sets `exception` with a str message built as
 * PyUnicode_FromFormat does, and returns NULL (always). If the formatting fails, its error is
 * set instead; a NULL or non-exception `exception` gives a SystemError. */
PyObject *PyErr_Format(PyObject *exception, const char *format, ...);
/* PyErr_Format with a va_list. */
PyObject *PyErr_FormatV(PyObject *exception, const char *format, va_list vargs);

/* Builds a value from a format, as CPython's Py_BuildValue: no unit gives None, one unit
 * gives that value, several give a tuple. Units:
 *   b B h i (int), H I (unsigned int), l (long), k (unsigned long), L (long long),
 *   K (unsigned long long), n (Py_ssize_t) -> int;
 *   c (int) -> bytes of length 1; C (int code point) -> str of length 1;
 *   s z U (const char *, UTF-8) -> str, y (const char *) -> bytes; followed by '#' they take
 *   a Py_ssize_t length too (a negative length means strlen); a NULL pointer gives None;
 *   O S (PyObject *, a new reference is taken), N (PyObject *, the reference is stolen);
 *   a NULL object is a SystemError ("NULL object passed to Py_BuildValue") unless an
 *   exception is already set (the error of the call that produced the NULL), which is kept;
 *   O& (PyObject *(*converter)(void *), void *) -> converter(arg) (a new reference);
 *   (...) a tuple, {...} a dict of key, value pairs (nesting limit: 100 levels);
 *   space, tab, ',', ':' and ';' are separators.
 * f d D u and [...] (no float, complex or list type) and unknown units are a SystemError
 * ("Py_BuildValue: unsupported format unit 'f'"); so are unmatched brackets and an odd
 * number of items in {...}.
 * Returns a new reference or NULL with an exception set. The references passed with N are
 * consumed on error too: after the first error the rest of the format is still walked and
 * its arguments read (nothing more is built, no converter is called), releasing each N
 * object. The one exception is an unknown unit: the types of the arguments after it are
 * unknown, so N objects after an unknown unit are not released. */
PyObject *Py_BuildValue(const char *format, ...);
/* Py_BuildValue with a va_list. */
PyObject *Py_VaBuildValue(const char *format, va_list vargs);

/* What an O& converter of PyArg_ParseTuple(AndKeywords) may return instead of 1 to be called
 * again as converter(NULL, addr) if a later argument fails, to release what it allocated. */
#define Py_CLEANUP_SUPPORTED 0x20000

/* Parses the tuple `args` into C variables, as CPython's PyArg_ParseTuple. Each unit reads
 * output pointers from the variable arguments:
 *   i (int *), b (unsigned char *, 0..255), h (short *): range-checked, OverflowError as
 *   CPython ("signed integer is greater than maximum"); l (long *), L (long long *),
 *   n (Py_ssize_t *); B (unsigned char *), H (unsigned short *), I (unsigned int *),
 *   k (unsigned long *), K (unsigned long long *): truncated, not range-checked (k and K
 *   accept only int); p (int *): the truth of any object;
 *   c (char *): bytes of length 1; C (int *): str of length 1, as its code point;
 *   s (const char **): a str as UTF-8 (ValueError "embedded null character" if it holds a
 *   NUL); z: as s, or None -> NULL; s# z# (const char **, Py_ssize_t *): a str or bytes
 *   (z#: or None -> NULL, 0); y (const char **): bytes without NUL; y# (const char **,
 *   Py_ssize_t *): bytes. The pointers are borrowed from the argument objects;
 *   U (PyObject **): a str; S (PyObject **): bytes; O (PyObject **): any object (borrowed);
 *   O! (PyTypeObject *, PyObject **): an instance of that type or a subtype;
 *   O& (int (*converter)(PyObject *, void *), void *): converter(arg, addr) returns 1 (or
 *   Py_CLEANUP_SUPPORTED) for success, 0 for failure (with an exception set);
 *   (...) a tuple of exactly those items (nesting limit: 29 levels);
 *   | the rest is optional (their outputs are left untouched when absent);
 *   :name ends the format and names the function in messages; ;message ends the format and
 *   replaces every message about the arguments.
 * Messages as CPython, e.g. "foo() takes exactly 2 arguments (1 given)", "foo() argument 1
 * must be str, not int". f d D e w Y s* z* y* (no float, complex, bytearray or buffer) and $
 * (use PyArg_ParseTupleAndKeywords) are a SystemError, as are unknown units and unmatched
 * parentheses. Returns 1 on success, 0 with an exception set on failure. */
int PyArg_ParseTuple(PyObject *args, const char *format, ...);
/* PyArg_ParseTuple with a va_list. */
int PyArg_VaParse(PyObject *args, const char *format, va_list vargs);
/* PyArg_ParseTuple with keyword arguments: `kw` is a dict or NULL, `keywords` the
 * NULL-terminated list of parameter names, one per unit (leading empty names mark
 * positional-only parameters). In the format, $ marks the rest as keyword-only (after any
 * |). Messages as CPython, e.g. "foo() missing required argument 'a' (pos 1)", "'x' is an
 * invalid keyword argument for foo()", "argument for foo() given by name ('a') and position
 * (1)", "foo() takes at most 2 positional arguments (3 given)". Returns 1 on success, 0 with
 * an exception set on failure. */
int PyArg_ParseTupleAndKeywords(PyObject *args, PyObject *kw, const char *format,
                                char **keywords, ...);
/* PyArg_ParseTupleAndKeywords with a va_list. */
int PyArg_VaParseTupleAndKeywords(PyObject *args, PyObject *kw, const char *format,
                                  char **keywords, va_list vargs);
/* Unpacks the tuple `args` (between min and max items) into PyObject ** outputs (borrowed
 * references; only as many outputs as there are items are written, the others are left
 * untouched). Messages as CPython: "name expected at least 1 argument, got 0", or with a
 * NULL name "unpacked tuple should have at most 2 elements, but has 3". Returns 1 on
 * success, 0 with an exception set on failure. */
int PyArg_UnpackTuple(PyObject *args, const char *name, Py_ssize_t min, Py_ssize_t max, ...);

/* Calls `callable` with arguments built by Py_BuildValue(format, ...): if that gives a
 * single tuple, it is the argument tuple (so "(ii)" and "O" with a tuple pass its items);
 * otherwise the values are the arguments. A NULL or empty format means no arguments.
 * Returns a new reference or NULL with an exception set. References passed with N are
 * consumed even when the call cannot be made (NULL callable). */
PyObject *PyObject_CallFunction(PyObject *callable, const char *format, ...);
/* Calls the method `name` (a C string) of `obj` with arguments built as in
 * PyObject_CallFunction (a non-callable attribute is a TypeError). Returns a new reference
 * or NULL with an exception set. References passed with N are consumed on every failure. */
PyObject *PyObject_CallMethod(PyObject *obj, const char *name, const char *format, ...);
/* Calls `callable` with the NULL-terminated list of object arguments (borrowed). Returns a
 * new reference or NULL with an exception set. */
PyObject *PyObject_CallFunctionObjArgs(PyObject *callable, ...);
/* Calls the method named by the str `name` of `obj` with the NULL-terminated list of object
 * arguments (borrowed). Returns a new reference or NULL with an exception set. */
PyObject *PyObject_CallMethodObjArgs(PyObject *obj, PyObject *name, ...);

/* Returns a new reference to a tuple of the `n` object arguments (borrowed; the tuple takes
 * its own references), or NULL with an exception set (a NULL item is a SystemError). */
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

/* The fast form of PyStackless_Tick(n) for hot loops: fetch the thread's tick state once
 * with PyStackless_GetTickState() (on the thread that ticks) and pass it. A tick that does not
 * interrupt is an addition and a comparison here; otherwise PyStackless_Tick does the work.
 * Same results as PyStackless_Tick. */
static inline int PyStackless_TickWith(PyStackless_TickState *st, long n) {
    if (n >= 0) {
        unsigned long long c = st->counter + (unsigned long long)n;
        if (c <= st->watermark) {
            st->counter = c;
            return 0;
        }
    }
    return PyStackless_Tick(n);
}

/* ----- Soft-switchable functions (Stackless 3.7's protocol, SPEC section 7) ----- */

/* A soft-switchable function: a re-entrant state machine. `retval` is the result of the call
 * that suspended it (borrowed; NULL with an exception set on error; on the first entry the
 * `arg` of PyStackless_CallFunction); `*step` starts at 0; `ob1..ob3`, `n` and `any` are its
 * saved state. It returns a new reference (its result), NULL with an exception set, or
 * Py_UnwindToken after a call that switched soft (it is then re-entered with that call's
 * result). It must begin with STACKLESS_GETARG(). */
typedef PyObject *(slp_softswitchablefunc)(PyObject *retval, long *step, PyObject **ob1,
                                           PyObject **ob2, PyObject **ob3, long *n, void **any);

/* The static declaration of a soft-switchable function:
 *   static PyStacklessFunctionDeclarationObject decl = {
 *       PyObject_HEAD_INIT(NULL) my_function, "my_function", NULL };
 * then PyStackless_InitFunctionDeclaration(&decl, NULL, NULL) before first use. */
struct PyStacklessFunctionDeclarationObject {
    PyObject_HEAD
    slp_softswitchablefunc *sfunc;
    const char *name;
    const char *module_name;
};

/* The stackless flag ("the caller can take Py_UnwindToken"), per thread: on Linux a
 * thread-local variable the library exports, so that the protocol macros cost a load or a
 * store, not a call; elsewhere reached through _PyStackless_TryStacklessPtr. Only through the
 * macros below (and _PyStackless_TRY_STACKLESS); _PyStackless_GetTryStackless takes it too. */
#if defined(__linux__)
extern __thread int _PyStackless_TryStacklessFlag;
#define _PyStackless_TRY_STACKLESS _PyStackless_TryStacklessFlag
#else
#define _PyStackless_TRY_STACKLESS (*_PyStackless_TryStacklessPtr())
#endif
static inline int _PyStackless_TakeTryStackless(void) {
    int flag = _PyStackless_TRY_STACKLESS;
    _PyStackless_TRY_STACKLESS = 0;
    return flag;
}
/* First statement of a protocol-aware function: `stackless` = the flag, which is cleared. */
#define STACKLESS_GETARG() int stackless = _PyStackless_TakeTryStackless()
/* Pass the flag on to a protocol-aware callee (PyStackless_Schedule, PyChannel_Send/Receive,
 * PyTasklet_Run/Switch, PyObject_Call, PyStackless_CallFunction, ...). */
#define STACKLESS_PROMOTE_ALL() ((void)(_PyStackless_TRY_STACKLESS = stackless))
/* Pass the flag on only if `flag` says the callee obeys the protocol. */
#define STACKLESS_PROMOTE_FLAG(flag) (stackless ? (_PyStackless_TRY_STACKLESS = (flag)) : 0)
/* Clear the flag. */
#define STACKLESS_RETRACT() ((void)(_PyStackless_TRY_STACKLESS = 0))
/* Debug check that a callee consumed the flag. */
#ifdef NDEBUG
#define STACKLESS_ASSERT() ((void)0)
#else
#define STACKLESS_ASSERT() assert(_PyStackless_TRY_STACKLESS == 0)
#endif
#define PyStacklessFunctionDeclaration_CheckExact(op) PyStacklessFunctionDeclarationType_CheckExact(op)

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* STACKLESS_TRAILER_H */
