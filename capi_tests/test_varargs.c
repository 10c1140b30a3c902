/* test_varargs.c: the C-variadic functions (src/capi/varargs.c): PyUnicode_FromFormat(V),
 * PyErr_Format(V), Py_BuildValue / Py_VaBuildValue, PyArg_ParseTuple / PyArg_VaParse,
 * PyArg_ParseTupleAndKeywords / PyArg_VaParseTupleAndKeywords, PyArg_UnpackTuple,
 * PyObject_CallFunction / CallMethod / CallFunctionObjArgs / CallMethodObjArgs and
 * PyTuple_Pack: every unit, the error paths and messages (CPython 3.12's), reference
 * counts, and NULL arguments. */

#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include "check.h"

/* ----- helpers --------------------------------------------------------------------- */

/* repr(o) equals want; releases o (NULL counts as a failure): CHECK_REPR of check.h for a
 * new reference. */
static int check_repr_impl(const char *file, int line, const char *expr, PyObject *o,
                           const char *want) {
    if (o == NULL) return check_fail(file, line, expr);
    PyObject *r = PyObject_Repr(o);
    int ok = check_str_impl(file, line, expr, r ? PyUnicode_AsUTF8(r) : NULL, want);
    Py_XDECREF(r);
    Py_DECREF(o);
    return ok;
}
#define CHECK_REPR_STEAL(o, want) check_repr_impl(__FILE__, __LINE__, #o, (o), (want))

/* o is a str whose text equals want; releases o. */
static int check_text_impl(const char *file, int line, const char *expr, PyObject *o,
                           const char *want) {
    if (o == NULL) return check_fail(file, line, expr);
    const char *s = PyUnicode_Check(o) ? PyUnicode_AsUTF8(o) : NULL;
    int ok = check_str_impl(file, line, expr, s, want);
    Py_DECREF(o);
    return ok;
}
#define CHECK_TEXT(o, want) check_text_impl(__FILE__, __LINE__, #o, (o), (want))

/* expr returns NULL with exception `type` and message `msg` pending (then cleared). */
#define CHECK_FAILS(expr, type, msg) \
    do { \
        PyObject *check_r_ = (expr); \
        CHECK(check_r_ == NULL); \
        Py_XDECREF(check_r_); \
        CHECK_EXC((type), (msg)); \
    } while (0)
#define CHECK_FAILS_CONTAINS(expr, type, msg) \
    do { \
        PyObject *check_r_ = (expr); \
        CHECK(check_r_ == NULL); \
        Py_XDECREF(check_r_); \
        CHECK_EXC_CONTAINS((type), (msg)); \
    } while (0)

/* An int-returning parse fails (returns 0) with exception `type`/`msg`. */
#define CHECK_PARSE_FAILS(expr, type, msg) \
    do { \
        CHECK_EQ_INT((expr), 0); \
        CHECK_EXC((type), (msg)); \
    } while (0)
#define CHECK_PARSE_FAILS_CONTAINS(expr, type, msg) \
    do { \
        CHECK_EQ_INT((expr), 0); \
        CHECK_EXC_CONTAINS((type), (msg)); \
    } while (0)

/* A fresh object nobody else holds (refcount 1), for reference-count checks. */
static PyObject *fresh(const char *text) { return PyUnicode_FromString(text); }

/* va_list wrappers, so the V variants are called with a real va_list. */
static PyObject *from_format_v(const char *format, ...) {
    va_list va;
    va_start(va, format);
    PyObject *r = PyUnicode_FromFormatV(format, va);
    va_end(va);
    return r;
}
static PyObject *err_format_v(PyObject *exc, const char *format, ...) {
    va_list va;
    va_start(va, format);
    PyObject *r = PyErr_FormatV(exc, format, va);
    va_end(va);
    return r;
}
static PyObject *build_v(const char *format, ...) {
    va_list va;
    va_start(va, format);
    PyObject *r = Py_VaBuildValue(format, va);
    va_end(va);
    return r;
}
static int parse_v(PyObject *args, const char *format, ...) {
    va_list va;
    va_start(va, format);
    int r = PyArg_VaParse(args, format, va);
    va_end(va);
    return r;
}
static int parse_kw_v(PyObject *args, PyObject *kw, const char *format, char **kwlist, ...) {
    va_list va;
    va_start(va, kwlist);
    int r = PyArg_VaParseTupleAndKeywords(args, kw, format, kwlist, va);
    va_end(va);
    return r;
}

/* The V variants copy their va_list (as CPython's), so a caller can use it twice. */
static int twice_from_format(const char *format, ...) {
    va_list va;
    va_start(va, format);
    PyObject *a = PyUnicode_FromFormatV(format, va);
    PyObject *b = PyUnicode_FromFormatV(format, va);
    va_end(va);
    int same = a && b && strcmp(PyUnicode_AsUTF8(a), PyUnicode_AsUTF8(b)) == 0;
    Py_XDECREF(a);
    Py_XDECREF(b);
    return same;
}
static int twice_build(const char *format, ...) {
    va_list va;
    va_start(va, format);
    PyObject *a = Py_VaBuildValue(format, va);
    PyObject *b = Py_VaBuildValue(format, va);
    va_end(va);
    PyObject *ra = a ? PyObject_Repr(a) : NULL, *rb = b ? PyObject_Repr(b) : NULL;
    int same = ra && rb && strcmp(PyUnicode_AsUTF8(ra), PyUnicode_AsUTF8(rb)) == 0;
    Py_XDECREF(ra);
    Py_XDECREF(rb);
    Py_XDECREF(a);
    Py_XDECREF(b);
    return same;
}
static int twice_parse(PyObject *args, const char *format, ...) {
    va_list va;
    va_start(va, format);
    int a = PyArg_VaParse(args, format, va);
    int b = PyArg_VaParse(args, format, va);
    va_end(va);
    return a && b;
}

/* A function returning its argument tuple, and one returning (args, kwargs). */
static PyObject *echo_args(PyObject *self, PyObject *args) {
    (void)self;
    return Py_NewRef(args);
}
static PyObject *echo_kw(PyObject *self, PyObject *args, PyObject *kw) {
    (void)self;
    return Py_BuildValue("(OO)", args, kw ? kw : Py_None);
}
static PyMethodDef echo_def = {"echo", echo_args, METH_VARARGS, NULL};
static PyMethodDef echo_kw_def = {"echo_kw", (PyCFunction)(void (*)(void))echo_kw,
                                  METH_VARARGS | METH_KEYWORDS, NULL};

/* A function parsing its arguments with PyArg_ParseTupleAndKeywords: f(a, b=2, *, c="c"). */
static PyObject *kwparse(PyObject *self, PyObject *args, PyObject *kw) {
    static char *kwlist[] = {"a", "b", "c", NULL};
    int a, b = 2;
    const char *c = "c";
    (void)self;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "i|i$s:kwparse", kwlist, &a, &b, &c)) {
        return NULL;
    }
    return Py_BuildValue("(iis)", a, b, c);
}
static PyMethodDef kwparse_def = {"kwparse", (PyCFunction)(void (*)(void))kwparse,
                                  METH_VARARGS | METH_KEYWORDS, NULL};

/* A heap type with a method `echo` (returns its args) and failing str()/repr(). */
static PyObject *failing_text(PyObject *self) {
    (void)self;
    PyErr_SetString(PyExc_RuntimeError, "no text for you");
    return NULL;
}
static PyMethodDef obj_methods[] = {
    {"echo", echo_args, METH_VARARGS, NULL},
    {NULL, NULL, 0, NULL},
};
static PyType_Slot obj_slots[] = {
    {Py_tp_methods, obj_methods},
    {Py_tp_str, NULL}, /* failing_text, set by make_obj_type() */
    {Py_tp_repr, NULL},
    {0, NULL},
};
static PyType_Spec obj_spec = {"test.Obj", 0, 0, Py_TPFLAGS_DEFAULT, obj_slots};

/* The test type (ISO C cannot convert a function pointer to void * in an initializer). */
static PyObject *make_obj_type(void) {
    PyObject *(*f)(PyObject *) = failing_text;
    memcpy(&obj_slots[1].pfunc, &f, sizeof f);
    memcpy(&obj_slots[2].pfunc, &f, sizeof f);
    return PyType_FromSpec(&obj_spec);
}

/* Converters. */
static PyObject *make_from_long(void *p) { return PyLong_FromLong(*(long *)p); }
static PyObject *make_fail(void *p) {
    (void)p;
    PyErr_SetString(PyExc_RuntimeError, "converter failed");
    return NULL;
}
static PyObject *make_null_silently(void *p) {
    (void)p;
    return NULL;
}
static int conv_double_int(PyObject *o, void *addr) {
    long v = PyLong_AsLong(o);
    if (v == -1 && PyErr_Occurred()) return 0;
    *(long *)addr = 2 * v;
    return 1;
}
static int conv_fail_silently(PyObject *o, void *addr) {
    (void)o;
    (void)addr;
    return 0;
}
static int cleanup_calls = 0;
static int conv_with_cleanup(PyObject *o, void *addr) {
    if (o == NULL) { /* cleanup after a later failure */
        cleanup_calls++;
        *(long *)addr = -999;
        return 0;
    }
    *(long *)addr = PyLong_AsLong(o);
    return Py_CLEANUP_SUPPORTED;
}

/* ----- PyUnicode_FromFormat -------------------------------------------------------- */

static void test_from_format(void) {
    CHECK_TEXT(PyUnicode_FromFormat(""), "");
    CHECK_TEXT(PyUnicode_FromFormat("plain text"), "plain text");
    CHECK_TEXT(PyUnicode_FromFormat("100%% sure %%"), "100% sure %");

    /* %c */
    CHECK_TEXT(PyUnicode_FromFormat("[%c]", 'A'), "[A]");
    CHECK_TEXT(PyUnicode_FromFormat("%c", 0xE9), "\xC3\xA9");
    CHECK_TEXT(PyUnicode_FromFormat("%c", 0x1F600), "\xF0\x9F\x98\x80");
    CHECK_FAILS(PyUnicode_FromFormat("%c", 0x110000), PyExc_OverflowError,
                "character argument not in range(0x110000)");
    CHECK_FAILS(PyUnicode_FromFormat("%c", -1), PyExc_OverflowError,
                "character argument not in range(0x110000)");
    CHECK_FAILS_CONTAINS(PyUnicode_FromFormat("%c", 0xD800), PyExc_ValueError, "surrogate");

    /* Integers: every size modifier. */
    CHECK_TEXT(PyUnicode_FromFormat("%d %i", INT_MIN, INT_MAX), "-2147483648 2147483647");
    CHECK_TEXT(PyUnicode_FromFormat("%u", UINT_MAX), "4294967295");
    CHECK_TEXT(PyUnicode_FromFormat("%ld %li", LONG_MIN, -1L), "-9223372036854775808 -1");
    CHECK_TEXT(PyUnicode_FromFormat("%lu", ULONG_MAX), "18446744073709551615");
    CHECK_TEXT(PyUnicode_FromFormat("%lld %lli", LLONG_MIN, LLONG_MAX),
               "-9223372036854775808 9223372036854775807");
    CHECK_TEXT(PyUnicode_FromFormat("%llu", ULLONG_MAX), "18446744073709551615");
    CHECK_TEXT(PyUnicode_FromFormat("%zd %zi", (Py_ssize_t)-5, (Py_ssize_t)7), "-5 7");
    CHECK_TEXT(PyUnicode_FromFormat("%zu", SIZE_MAX), "18446744073709551615");
    CHECK_TEXT(PyUnicode_FromFormat("%x %X %o", 255, 255, 8), "ff FF 10");
    CHECK_TEXT(PyUnicode_FromFormat("%lx %llx %zx", 0xABCUL, 0xDEFULL, (size_t)0x10),
               "abc def 10");
    CHECK_TEXT(PyUnicode_FromFormat("%td %jd %ju", (ptrdiff_t)-3, (intmax_t)-4, (uintmax_t)5),
               "-3 -4 5");
    CHECK_TEXT(PyUnicode_FromFormat("%x", -1), "ffffffff");

    /* Width, precision and flags (CPython 3.12 semantics). */
    CHECK_TEXT(PyUnicode_FromFormat("[%5d]", 42), "[   42]");
    CHECK_TEXT(PyUnicode_FromFormat("[%-5d]", 42), "[42   ]");
    CHECK_TEXT(PyUnicode_FromFormat("[%05d]", 42), "[00042]");
    CHECK_TEXT(PyUnicode_FromFormat("[%05d]", -42), "[-0042]");
    CHECK_TEXT(PyUnicode_FromFormat("[%.3d]", 7), "[007]");
    CHECK_TEXT(PyUnicode_FromFormat("[%6.3d]", -7), "[  -007]");
    CHECK_TEXT(PyUnicode_FromFormat("[%010.5d]", 100), "[0000000100]"); /* CPython's quirk */
    CHECK_TEXT(PyUnicode_FromFormat("[%-05d]", 3), "[3    ]");
    CHECK_TEXT(PyUnicode_FromFormat("[%*d]", 4, 7), "[   7]");
    CHECK_TEXT(PyUnicode_FromFormat("[%*d]", -4, 7), "[7   ]");
    CHECK_TEXT(PyUnicode_FromFormat("[%.*d]", 3, 7), "[007]");
    CHECK_TEXT(PyUnicode_FromFormat("[%.*d]", -1, 7), "[7]");
    CHECK_TEXT(PyUnicode_FromFormat("[%1d]", 12345), "[12345]");
    CHECK_FAILS(PyUnicode_FromFormat("%99999999999999999999999d", 1), PyExc_ValueError,
                "width too big");
    CHECK_FAILS(PyUnicode_FromFormat("%.99999999999999999999999d", 1), PyExc_ValueError,
                "precision too big");

    /* %p: 0x-prefixed lowercase hex. */
    CHECK_TEXT(PyUnicode_FromFormat("%p", (void *)0x1234abcd), "0x1234abcd");
    CHECK_TEXT(PyUnicode_FromFormat("%p", (void *)NULL), "0x0");

    /* %s: UTF-8, invalid bytes replaced, precision in bytes, width in characters. */
    CHECK_TEXT(PyUnicode_FromFormat("<%s>", "abc"), "<abc>");
    CHECK_TEXT(PyUnicode_FromFormat("<%s>", "caf\xC3\xA9"), "<caf\xC3\xA9>");
    CHECK_TEXT(PyUnicode_FromFormat("<%s>", (const char *)NULL), "<(null)>");
    CHECK_TEXT(PyUnicode_FromFormat("<%s>", "a\xFF" "b"), "<a\xEF\xBF\xBD" "b>");
    CHECK_TEXT(PyUnicode_FromFormat("<%s>", "\xE2\x82"), "<\xEF\xBF\xBD>");
    CHECK_TEXT(PyUnicode_FromFormat("<%s>", "\xED\xA0\x80"),
               "<\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD>"); /* a UTF-8-encoded surrogate */
    CHECK_TEXT(PyUnicode_FromFormat("<%.2s>", "abcdef"), "<ab>");
    CHECK_TEXT(PyUnicode_FromFormat("<%.10s>", "abc"), "<abc>");
    CHECK_TEXT(PyUnicode_FromFormat("<%.3s>", "\xC3\xA9\xC3\xA9"), "<\xC3\xA9>");
    CHECK_TEXT(PyUnicode_FromFormat("<%.1s>", "\xC3\xA9"), "<>");
    CHECK_TEXT(PyUnicode_FromFormat("<%4s>", "\xC3\xA9"), "<   \xC3\xA9>");
    CHECK_TEXT(PyUnicode_FromFormat("<%-4s>", "ab"), "<ab  >");
    CHECK_TEXT(PyUnicode_FromFormat("<%*.*s>", 5, 2, "abcdef"), "<   ab>");
    CHECK_TEXT(PyUnicode_FromFormat("<%ls>", L"wide \u00e9"), "<wide \xC3\xA9>");
    CHECK_TEXT(PyUnicode_FromFormat("<%.2ls>", L"wide"), "<wi>");

    /* Objects. */
    PyObject *s = PyUnicode_FromString("h\xC3\xA9llo");
    PyObject *n = PyLong_FromLong(-17);
    PyObject *b = PyBytes_FromStringAndSize("a\0b", 3);
    CHECK_TEXT(PyUnicode_FromFormat("%U!", s), "h\xC3\xA9llo!");
    CHECK_TEXT(PyUnicode_FromFormat("[%.2U]", s), "[h\xC3\xA9]");
    CHECK_TEXT(PyUnicode_FromFormat("[%7U]", s), "[  h\xC3\xA9llo]");
    CHECK_TEXT(PyUnicode_FromFormat("[%-7.3U]", s), "[h\xC3\xA9l    ]");
    CHECK_TEXT(PyUnicode_FromFormat("%U", (PyObject *)NULL), "<NULL>");
    CHECK_FAILS(PyUnicode_FromFormat("%U", n), PyExc_SystemError,
                "%U argument must be a str, not int");
    CHECK_TEXT(PyUnicode_FromFormat("%V|%V", s, "unused", (PyObject *)NULL, "fallback"),
               "h\xC3\xA9llo|fallback");
    CHECK_TEXT(PyUnicode_FromFormat("%lV", (PyObject *)NULL, L"wide"), "wide");
    CHECK_TEXT(PyUnicode_FromFormat("%S %S", n, s), "-17 h\xC3\xA9llo");
    CHECK_TEXT(PyUnicode_FromFormat("%R %R", n, s), "-17 'h\xC3\xA9llo'");
    CHECK_TEXT(PyUnicode_FromFormat("%R", b), "b'a\\x00b'");
    CHECK_TEXT(PyUnicode_FromFormat("%A", s), "'h\\xe9llo'");
    PyObject *wide = PyUnicode_FromString("\xE2\x82\xAC\xF0\x9F\x98\x80");
    CHECK_TEXT(PyUnicode_FromFormat("%A", wide), "'\\u20ac\\U0001f600'");
    CHECK_TEXT(PyUnicode_FromFormat("[%8.4A]", wide), "[    '\\u2]");
    Py_DECREF(wide);
    CHECK_TEXT(PyUnicode_FromFormat("%S %R %A", (PyObject *)NULL, (PyObject *)NULL,
                                    (PyObject *)NULL),
               "<NULL> <NULL> <NULL>");
    CHECK_TEXT(PyUnicode_FromFormat("[%5S]", n), "[  -17]");
    CHECK_TEXT(PyUnicode_FromFormat("%S", Py_None), "None");

    /* Failing str()/repr() propagate. */
    PyObject *type = make_obj_type();
    PyObject *inst = type ? PyObject_CallNoArgs(type) : NULL;
    CHECK(inst != NULL);
    CHECK_FAILS(PyUnicode_FromFormat("%S", inst), PyExc_RuntimeError, "no text for you");
    CHECK_FAILS(PyUnicode_FromFormat("%R", inst), PyExc_RuntimeError, "no text for you");
    CHECK_FAILS(PyUnicode_FromFormat("%A", inst), PyExc_RuntimeError, "no text for you");
    Py_XDECREF(inst);
    Py_XDECREF(type);

    /* Reference counts are untouched. */
    Py_ssize_t rc = Py_REFCNT(s);
    PyObject *r = PyUnicode_FromFormat("%U %S %R %A %V", s, s, s, s, s, "x");
    CHECK(r != NULL);
    Py_XDECREF(r);
    CHECK_EQ_INT(Py_REFCNT(s), rc);

    /* Invalid conversions and formats. */
    CHECK_FAILS(PyUnicode_FromFormat("abc %q def", 1), PyExc_SystemError,
                "invalid format string: %q def");
    CHECK_FAILS(PyUnicode_FromFormat("trailing %"), PyExc_SystemError,
                "invalid format string: %");
    CHECK_FAILS(PyUnicode_FromFormat("%5c", 'a'), PyExc_SystemError,
                "invalid format string: %5c");
    CHECK_FAILS(PyUnicode_FromFormat("%lc", 'a'), PyExc_SystemError,
                "invalid format string: %lc");
    CHECK_FAILS(PyUnicode_FromFormat("%.2p", NULL), PyExc_SystemError,
                "invalid format string: %.2p");
    CHECK_FAILS(PyUnicode_FromFormat("%lU", s), PyExc_SystemError,
                "invalid format string: %lU");
    CHECK_FAILS(PyUnicode_FromFormat("%zs", "x"), PyExc_SystemError,
                "invalid format string: %zs");
    CHECK_FAILS(PyUnicode_FromFormat("%f", 1.0), PyExc_SystemError, "invalid format string: %f");
    CHECK_FAILS(PyUnicode_FromFormat("caf\xC3\xA9 %d", 1), PyExc_ValueError,
                "PyUnicode_FromFormatV() expects an ASCII-encoded format string, got a "
                "non-ASCII byte: 0xc3");
    CHECK_FAILS(PyUnicode_FromFormat(NULL), PyExc_SystemError,
                "PyUnicode_FromFormat: argument 'format' must not be NULL");

    /* Long output grows the buffer. */
    size_t big = 100000;
    char *text = malloc(big + 1);
    CHECK(text != NULL);
    if (text) {
        memset(text, 'x', big);
        text[big] = '\0';
        PyObject *long_str = PyUnicode_FromFormat("%s%s|%d", text, text, 5);
        CHECK(long_str != NULL);
        if (long_str) {
            CHECK_EQ_INT(PyUnicode_GetLength(long_str), 2 * big + 2);
            Py_DECREF(long_str);
        }
        CHECK_TEXT(PyUnicode_FromFormat("%.3s", text), "xxx");
        CHECK_TEXT(PyUnicode_FromFormat("%*s", 3, ""), "   ");
        PyObject *padded = PyUnicode_FromFormat("%200000d", 1);
        CHECK(padded != NULL && PyUnicode_GetLength(padded) == 200000);
        Py_XDECREF(padded);
        free(text);
    }

    CHECK_TEXT(PyUnicode_FromFormat("<%.0s|%.s>", "abc", "abc"), "<|abc>");

    /* The va_list variant. */
    CHECK_TEXT(from_format_v("%s-%d-%U", "a", 2, s), "a-2-h\xC3\xA9llo");
    CHECK(twice_from_format("%s %d %S", "x", 42, s));
    CHECK_FAILS(from_format_v("%y"), PyExc_SystemError, "invalid format string: %y");
    CHECK_FAILS(from_format_v(NULL), PyExc_SystemError,
                "PyUnicode_FromFormatV: argument 'format' must not be NULL");

    Py_DECREF(s);
    Py_DECREF(n);
    Py_DECREF(b);
    CHECK_NO_EXC();
}

/* ----- PyErr_Format ---------------------------------------------------------------- */

static void test_err_format(void) {
    PyObject *s = PyUnicode_FromString("spam");
    CHECK(PyErr_Format(PyExc_TypeError, "bad %d: %R", 5, s) == NULL);
    CHECK_EXC(PyExc_TypeError, "bad 5: 'spam'");

    /* The message is the exception's single argument. */
    CHECK(PyErr_Format(PyExc_ValueError, "just text") == NULL);
    PyObject *exc = PyErr_GetRaisedException();
    CHECK(exc != NULL);
    if (exc) {
        CHECK_REPR_STEAL(PyException_GetArgs(exc), "('just text',)");
        Py_DECREF(exc);
    }

    /* Replaces a pending exception. */
    PyErr_SetString(PyExc_KeyError, "old");
    CHECK(PyErr_Format(PyExc_IndexError, "new %s", "one") == NULL);
    CHECK_EXC(PyExc_IndexError, "new one");

    /* A user exception class. */
    PyObject *myexc = PyErr_NewException("test.MyError", NULL, NULL);
    CHECK(myexc != NULL);
    CHECK(PyErr_Format(myexc, "%zd items", (Py_ssize_t)3) == NULL);
    CHECK_EXC(myexc, "3 items");
    CHECK(PyErr_ExceptionMatches(myexc) == 0);
    Py_XDECREF(myexc);

    /* A formatting error is what gets raised. */
    CHECK(PyErr_Format(PyExc_TypeError, "%q") == NULL);
    CHECK_EXC(PyExc_SystemError, "invalid format string: %q");

    PyObject *type = make_obj_type();
    PyObject *inst = type ? PyObject_CallNoArgs(type) : NULL;
    CHECK(PyErr_Format(PyExc_TypeError, "about %S", inst) == NULL);
    CHECK_EXC(PyExc_RuntimeError, "no text for you");
    Py_XDECREF(inst);
    Py_XDECREF(type);

    /* Bad arguments. */
    CHECK(PyErr_Format(Py_None, "x") == NULL);
    CHECK_EXC_CONTAINS(PyExc_SystemError, "not a BaseException subclass");
    CHECK(PyErr_Format(s, "x") == NULL);
    CHECK_EXC_CONTAINS(PyExc_SystemError, "not a BaseException subclass");
    CHECK(PyErr_Format(NULL, "x") == NULL);
    CHECK_EXC(PyExc_SystemError, NULL);
    CHECK(PyErr_Format(PyExc_TypeError, NULL) == NULL);
    CHECK_EXC(PyExc_SystemError, "PyErr_Format: argument 'format' must not be NULL");

    /* The va_list variant. */
    CHECK(err_format_v(PyExc_RuntimeError, "v%s%d", "x", 1) == NULL);
    CHECK_EXC(PyExc_RuntimeError, "vx1");
    CHECK(err_format_v(PyExc_RuntimeError, NULL) == NULL);
    CHECK_EXC(PyExc_SystemError, "PyErr_FormatV: argument 'format' must not be NULL");

    Py_DECREF(s);
    CHECK_NO_EXC();
}

/* ----- Py_BuildValue --------------------------------------------------------------- */

static void test_build_value(void) {
    /* Shapes: none, one value, several (a tuple), nested. */
    CHECK(Py_BuildValue("") == Py_None);
    Py_DECREF(Py_None);
    CHECK_REPR_STEAL(Py_BuildValue(" ,:\t;"), "None");
    CHECK_REPR_STEAL(Py_BuildValue("i", 5), "5");
    PyObject *v = Py_BuildValue("(is)", 5, "five");
    CHECK_OBJ_STR(v, "(5, 'five')");
    Py_XDECREF(v);
    CHECK_REPR_STEAL(Py_BuildValue("ii", 1, 2), "(1, 2)");
    CHECK_REPR_STEAL(Py_BuildValue("i, i: i", 1, 2, 3), "(1, 2, 3)");
    CHECK_REPR_STEAL(Py_BuildValue("(i)", 1), "(1,)");
    CHECK_REPR_STEAL(Py_BuildValue("()"), "()");
    CHECK_REPR_STEAL(Py_BuildValue("(())"), "((),)");
    CHECK_REPR_STEAL(Py_BuildValue("((ii)(s))", 1, 2, "x"), "((1, 2), ('x',))");
    CHECK_REPR_STEAL(Py_BuildValue("{}"), "{}");
    CHECK_REPR_STEAL(Py_BuildValue("{s:i,s:(ii)}", "a", 1, "b", 2, 3), "{'a': 1, 'b': (2, 3)}");
    CHECK_REPR_STEAL(Py_BuildValue("{i:s}", 1, "one"), "{1: 'one'}");
    CHECK_REPR_STEAL(Py_BuildValue("iiiiiiiiiiiiiiiiiiii", 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12,
                                   13, 14, 15, 16, 17, 18, 19, 20),
                     "(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20)");

    /* Integer units. */
    CHECK_REPR_STEAL(Py_BuildValue("(bBhi)", -1, 255, -300, INT_MIN),
                     "(-1, 255, -300, -2147483648)");
    CHECK_REPR_STEAL(Py_BuildValue("(HI)", 65535, UINT_MAX), "(65535, 4294967295)");
    CHECK_REPR_STEAL(Py_BuildValue("(lLn)", LONG_MIN, LLONG_MAX, (Py_ssize_t)-1),
                     "(-9223372036854775808, 9223372036854775807, -1)");
    CHECK_REPR_STEAL(Py_BuildValue("(kK)", 42UL, 9223372036854775807ULL),
                     "(42, 9223372036854775807)");
    CHECK_FAILS(Py_BuildValue("K", ULLONG_MAX), PyExc_OverflowError, NULL);
    CHECK_FAILS(Py_BuildValue("k", ULONG_MAX), PyExc_OverflowError, NULL);

    /* Characters. */
    CHECK_REPR_STEAL(Py_BuildValue("c", 'z'), "b'z'");
    CHECK_REPR_STEAL(Py_BuildValue("C", 0xE9), "'\xC3\xA9'");
    CHECK_REPR_STEAL(Py_BuildValue("C", 'A'), "'A'");
    CHECK_FAILS(Py_BuildValue("C", 0x110000), PyExc_ValueError,
                "chr() arg not in range(0x110000)");
    CHECK_FAILS(Py_BuildValue("C", -1), PyExc_ValueError, "chr() arg not in range(0x110000)");
    CHECK_FAILS_CONTAINS(Py_BuildValue("C", 0xDC00), PyExc_ValueError, "surrogate");

    /* Strings and bytes; NULL gives None; '#' lengths are Py_ssize_t (-1: strlen). */
    CHECK_REPR_STEAL(Py_BuildValue("s", "hello"), "'hello'");
    CHECK_REPR_STEAL(Py_BuildValue("(szU)", "a", "b", "c"), "('a', 'b', 'c')");
    CHECK_REPR_STEAL(Py_BuildValue("(szUy)", (char *)NULL, (char *)NULL, (char *)NULL,
                                   (char *)NULL),
                     "(None, None, None, None)");
    CHECK_REPR_STEAL(Py_BuildValue("s#", "abcdef", (Py_ssize_t)3), "'abc'");
    CHECK_REPR_STEAL(Py_BuildValue("s#", "abc", (Py_ssize_t)-1), "'abc'");
    CHECK_REPR_STEAL(Py_BuildValue("s#", "a\0b", (Py_ssize_t)3), "'a\\x00b'");
    CHECK_REPR_STEAL(Py_BuildValue("z#", (char *)NULL, (Py_ssize_t)5), "None");
    CHECK_REPR_STEAL(Py_BuildValue("U#", "xyz", (Py_ssize_t)2), "'xy'");
    CHECK_REPR_STEAL(Py_BuildValue("y", "bytes"), "b'bytes'");
    CHECK_REPR_STEAL(Py_BuildValue("y#", "a\0b", (Py_ssize_t)3), "b'a\\x00b'");
    CHECK_REPR_STEAL(Py_BuildValue("y#", (char *)NULL, (Py_ssize_t)3), "None");
    CHECK_REPR_STEAL(Py_BuildValue("(s#i)", "ab", (Py_ssize_t)2, 7), "('ab', 7)");
    CHECK_FAILS(Py_BuildValue("s", "bad \xFF utf-8"), PyExc_ValueError, NULL);
    CHECK_FAILS(Py_BuildValue("s#", "\xC3\xA9", (Py_ssize_t)1), PyExc_ValueError, NULL);

    /* O and S take a new reference, N steals one. */
    PyObject *o = fresh("probe");
    CHECK_EQ_INT(Py_REFCNT(o), 1);
    PyObject *r = Py_BuildValue("O", o);
    CHECK(r == o);
    CHECK_EQ_INT(Py_REFCNT(o), 2);
    Py_XDECREF(r);
    r = Py_BuildValue("(OS)", o, o);
    CHECK_EQ_INT(Py_REFCNT(o), 3);
    CHECK_REPR_STEAL(r, "('probe', 'probe')");
    CHECK_EQ_INT(Py_REFCNT(o), 1);
    Py_INCREF(o);
    r = Py_BuildValue("N", o);
    CHECK(r == o);
    CHECK_EQ_INT(Py_REFCNT(o), 2);
    Py_XDECREF(r);
    Py_INCREF(o);
    CHECK_REPR_STEAL(Py_BuildValue("(iN)", 1, o), "(1, 'probe')");
    CHECK_EQ_INT(Py_REFCNT(o), 1);

    /* A NULL object: SystemError, or the pending exception of the call that failed. */
    CHECK_FAILS(Py_BuildValue("O", (PyObject *)NULL), PyExc_SystemError,
                "NULL object passed to Py_BuildValue");
    CHECK_FAILS(Py_BuildValue("(iS)", 1, (PyObject *)NULL), PyExc_SystemError,
                "NULL object passed to Py_BuildValue");
    PyErr_SetString(PyExc_RuntimeError, "from a failed call");
    CHECK_FAILS(Py_BuildValue("(iO)", 1, (PyObject *)NULL), PyExc_RuntimeError,
                "from a failed call");
    CHECK_FAILS(Py_BuildValue("N", (PyObject *)NULL), PyExc_SystemError,
                "NULL object passed to Py_BuildValue");

    /* N references are consumed on every error, before or after the failing unit. */
    Py_INCREF(o);
    CHECK_FAILS(Py_BuildValue("(ON)", (PyObject *)NULL, o), PyExc_SystemError,
                "NULL object passed to Py_BuildValue");
    CHECK_EQ_INT(Py_REFCNT(o), 1);
    Py_INCREF(o);
    CHECK_FAILS(Py_BuildValue("(NO)", o, (PyObject *)NULL), PyExc_SystemError,
                "NULL object passed to Py_BuildValue");
    CHECK_EQ_INT(Py_REFCNT(o), 1);
    Py_INCREF(o);
    Py_INCREF(o);
    CHECK_FAILS(Py_BuildValue("N(is{s:N})f", o, 1, "bad \xFF", "k", o, 1.5), PyExc_ValueError,
                NULL);
    CHECK_EQ_INT(Py_REFCNT(o), 1);
    Py_INCREF(o);
    CHECK_FAILS(Py_BuildValue("fN", 2.0, o), PyExc_SystemError,
                "Py_BuildValue: unsupported format unit 'f'");
    CHECK_EQ_INT(Py_REFCNT(o), 1);
    Py_INCREF(o);
    CHECK_FAILS(Py_BuildValue("{N}", o), PyExc_SystemError, "Bad dict format");
    CHECK_EQ_INT(Py_REFCNT(o), 1);
    Py_INCREF(o);
    CHECK_FAILS(Py_BuildValue("(N", o), PyExc_SystemError, "unmatched paren in format");
    CHECK_EQ_INT(Py_REFCNT(o), 1);
    Py_INCREF(o);
    CHECK_FAILS(Py_BuildValue("[N]", o), PyExc_SystemError,
                "Py_BuildValue: unsupported format unit '['");
    CHECK_EQ_INT(Py_REFCNT(o), 1);
    Py_INCREF(o);
    CHECK_FAILS(Py_BuildValue("(O&N)", make_fail, (void *)NULL, o), PyExc_RuntimeError,
                "converter failed");
    CHECK_EQ_INT(Py_REFCNT(o), 1);
    Py_INCREF(o);
    CHECK_FAILS(Py_BuildValue("d D u N", 1.0, (void *)NULL, (void *)NULL, o),
                PyExc_SystemError, "Py_BuildValue: unsupported format unit 'd'");
    CHECK_EQ_INT(Py_REFCNT(o), 1);
    /* Documented limit: after an unknown unit the argument types are unknown, so the walk
     * stops and later N references are not consumed. */
    Py_INCREF(o);
    CHECK_FAILS(Py_BuildValue("wN", o, o), PyExc_SystemError,
                "Py_BuildValue: unsupported format unit 'w'");
    CHECK_EQ_INT(Py_REFCNT(o), 2);
    Py_DECREF(o);

    /* O& converters. */
    long seven = 7;
    CHECK_REPR_STEAL(Py_BuildValue("(O&i)", make_from_long, &seven, 8), "(7, 8)");
    CHECK_REPR_STEAL(Py_BuildValue("N&", make_from_long, &seven), "7");
    CHECK_FAILS(Py_BuildValue("O&", make_fail, (void *)NULL), PyExc_RuntimeError,
                "converter failed");
    CHECK_FAILS(Py_BuildValue("O&", make_null_silently, (void *)NULL), PyExc_SystemError,
                "Py_BuildValue: 'O&' converter returned NULL without setting an exception");
    CHECK_FAILS(Py_BuildValue("O&", (void *)NULL, (void *)NULL), PyExc_SystemError,
                "Py_BuildValue: NULL converter for 'O&'");

    /* Unsupported and bad formats. */
    CHECK_FAILS(Py_BuildValue("f", 1.0), PyExc_SystemError,
                "Py_BuildValue: unsupported format unit 'f'");
    CHECK_FAILS(Py_BuildValue("(i d)", 1, 1.0), PyExc_SystemError,
                "Py_BuildValue: unsupported format unit 'd'");
    CHECK_FAILS(Py_BuildValue("D", (void *)NULL), PyExc_SystemError,
                "Py_BuildValue: unsupported format unit 'D'");
    CHECK_FAILS(Py_BuildValue("w", 1), PyExc_SystemError,
                "Py_BuildValue: unsupported format unit 'w'");
    CHECK_FAILS(Py_BuildValue("[i]", 1), PyExc_SystemError,
                "Py_BuildValue: unsupported format unit '['");
    CHECK_FAILS(Py_BuildValue("(i", 1), PyExc_SystemError, "unmatched paren in format");
    CHECK_FAILS(Py_BuildValue("i)", 1), PyExc_SystemError, "unmatched paren in format");
    CHECK_FAILS(Py_BuildValue("(i}", 1), PyExc_SystemError, "unmatched paren in format");
    CHECK_FAILS(Py_BuildValue("{i}", 1), PyExc_SystemError, "Bad dict format");
    CHECK_FAILS(Py_BuildValue("{s:i,s}", "a", 1, "b"), PyExc_SystemError, "Bad dict format");
    CHECK_FAILS(Py_BuildValue(NULL), PyExc_SystemError,
                "Py_BuildValue: argument 'format' must not be NULL");

    /* Nesting: deep is fine, beyond the limit is an error. */
    char deep[512];
    memset(deep, '(', 100);
    memset(deep + 100, ')', 100);
    deep[200] = '\0';
    r = Py_BuildValue(deep);
    CHECK(r != NULL && PyTuple_Check(r));
    Py_XDECREF(r);
    memset(deep, '(', 101);
    memset(deep + 101, ')', 101);
    deep[202] = '\0';
    CHECK_FAILS(Py_BuildValue(deep), PyExc_SystemError,
                "Py_BuildValue: format nested too deeply (more than 100 levels)");

    /* The va_list variant. */
    CHECK_REPR_STEAL(build_v("(is)", 3, "v"), "(3, 'v')");
    CHECK_REPR_STEAL(build_v(""), "None");
    CHECK(twice_build("(is#O)", 1, "abc", (Py_ssize_t)2, Py_None));
    CHECK_FAILS(build_v(NULL), PyExc_SystemError,
                "Py_VaBuildValue: argument 'format' must not be NULL");
    Py_INCREF(o);
    CHECK_FAILS(build_v("Nf", o, 1.0), PyExc_SystemError,
                "Py_BuildValue: unsupported format unit 'f'");
    CHECK_EQ_INT(Py_REFCNT(o), 1);

    Py_DECREF(o);
    CHECK_NO_EXC();
}

/* ----- PyArg_ParseTuple ------------------------------------------------------------ */

static void test_parse_ints(void) {
    PyObject *args = Py_BuildValue("(iiiiii)", 1, 255, -7, 40000, 123, 9);
    char b = 0;
    unsigned char B = 0;
    short h = 0;
    unsigned short H = 0;
    int i = 0;
    unsigned int I = 0;
    CHECK_EQ_INT(PyArg_ParseTuple(args, "bBhHiI", &b, &B, &h, &H, &i, &I), 1);
    CHECK_EQ_INT((unsigned char)b, 1);
    CHECK_EQ_INT(B, 255);
    CHECK_EQ_INT(h, -7);
    CHECK_EQ_INT(H, 40000);
    CHECK_EQ_INT(i, 123);
    CHECK_EQ_INT(I, 9);
    Py_DECREF(args);

    long l = 0;
    unsigned long k = 0;
    long long L = 0;
    unsigned long long K = 0;
    Py_ssize_t n = 0;
    args = Py_BuildValue("(lkLKn)", LONG_MIN, 5L, LLONG_MAX, 6LL, (Py_ssize_t)-3);
    CHECK_EQ_INT(PyArg_ParseTuple(args, "lkLKn", &l, &k, &L, &K, &n), 1);
    CHECK(l == LONG_MIN && k == 5 && L == LLONG_MAX && K == 6 && n == -3);
    Py_DECREF(args);

    /* Bitfield units mask, without overflow checks. */
    args = Py_BuildValue("(iiiLLL)", 257, -1, 65537, -1LL, -1LL, -2LL);
    unsigned char B2 = 0;
    CHECK_EQ_INT(PyArg_ParseTuple(args, "BBHIkK", &B, &B2, &H, &I, &k, &K), 1);
    CHECK_EQ_INT(B, 1);
    CHECK_EQ_INT(B2, 255);
    CHECK_EQ_INT(H, 1);
    CHECK(I == UINT_MAX);
    CHECK(k == ULONG_MAX);
    CHECK(K == ULLONG_MAX - 1);
    Py_DECREF(args);

    /* Range checks with CPython's messages. */
#define PARSE1_FAILS(fmt, value, type, msg) \
    do { \
        PyObject *a_ = Py_BuildValue("(L)", (long long)(value)); \
        long long out_ = 0; \
        CHECK_PARSE_FAILS(PyArg_ParseTuple(a_, fmt, &out_), type, msg); \
        Py_XDECREF(a_); \
    } while (0)
    PARSE1_FAILS("i", 2147483648LL, PyExc_OverflowError, "signed integer is greater than maximum");
    PARSE1_FAILS("i", -2147483649LL, PyExc_OverflowError, "signed integer is less than minimum");
    PARSE1_FAILS("b", -1, PyExc_OverflowError, "unsigned byte integer is less than minimum");
    PARSE1_FAILS("b", 256, PyExc_OverflowError, "unsigned byte integer is greater than maximum");
    PARSE1_FAILS("h", 32768, PyExc_OverflowError,
                 "signed short integer is greater than maximum");
    PARSE1_FAILS("h", -32769, PyExc_OverflowError, "signed short integer is less than minimum");
#undef PARSE1_FAILS
    args = Py_BuildValue("(iii)", INT_MAX, INT_MIN, 255);
    int i2 = 0;
    CHECK_EQ_INT(PyArg_ParseTuple(args, "iib", &i, &i2, &b), 1);
    CHECK(i == INT_MAX && i2 == INT_MIN && (unsigned char)b == 255);
    Py_DECREF(args);
    args = Py_BuildValue("(ii)", SHRT_MIN, SHRT_MAX);
    short h2 = 0;
    CHECK_EQ_INT(PyArg_ParseTuple(args, "hh", &h, &h2), 1);
    CHECK(h == SHRT_MIN && h2 == SHRT_MAX);
    Py_DECREF(args);

    /* Wrong types. */
    args = Py_BuildValue("(s)", "x");
    CHECK_PARSE_FAILS(PyArg_ParseTuple(args, "i", &i), PyExc_TypeError,
                      "'str' object cannot be interpreted as an integer");
    CHECK_PARSE_FAILS(PyArg_ParseTuple(args, "n", &n), PyExc_TypeError,
                      "'str' object cannot be interpreted as an integer");
    CHECK_PARSE_FAILS(PyArg_ParseTuple(args, "B", &B), PyExc_TypeError,
                      "'str' object cannot be interpreted as an integer");
    CHECK_PARSE_FAILS(PyArg_ParseTuple(args, "k", &k), PyExc_TypeError,
                      "argument 1 must be int, not str");
    CHECK_PARSE_FAILS(PyArg_ParseTuple(args, "K:f", &K), PyExc_TypeError,
                      "f() argument 1 must be int, not str");
    Py_DECREF(args);
    args = Py_BuildValue("(O)", Py_None);
    CHECK_PARSE_FAILS(PyArg_ParseTuple(args, "k", &k), PyExc_TypeError,
                      "argument 1 must be int, not None");
    Py_DECREF(args);

    /* bool is an int. */
    args = Py_BuildValue("(OO)", Py_True, Py_False);
    CHECK_EQ_INT(PyArg_ParseTuple(args, "ii", &i, &i2), 1);
    CHECK(i == 1 && i2 == 0);
    Py_DECREF(args);
    CHECK_NO_EXC();
}

static void test_parse_text(void) {
    PyObject *args;
    const char *s = NULL, *z = "unset";
    Py_ssize_t len = -1, zlen = -1;

    args = Py_BuildValue("(sO)", "h\xC3\xA9", Py_None);
    CHECK_EQ_INT(PyArg_ParseTuple(args, "sz", &s, &z), 1);
    CHECK_STR(s, "h\xC3\xA9");
    CHECK(z == NULL);
    CHECK_EQ_INT(PyArg_ParseTuple(args, "s#z#", &s, &len, &z, &zlen), 1);
    CHECK(len == 3 && memcmp(s, "h\xC3\xA9", 3) == 0);
    CHECK(z == NULL && zlen == 0);
    CHECK_PARSE_FAILS(PyArg_ParseTuple(args, "ss", &s, &z), PyExc_TypeError,
                      "argument 2 must be str, not None");
    CHECK_PARSE_FAILS(PyArg_ParseTuple(args, "s#s#:g", &s, &len, &z, &zlen), PyExc_TypeError,
                      "a bytes-like object is required, not 'NoneType'");
    Py_DECREF(args);

    /* Embedded NUL: rejected by s, z and y; fine with #. */
    args = Py_BuildValue("(s#y#)", "a\0b", (Py_ssize_t)3, "c\0d", (Py_ssize_t)3);
    CHECK_PARSE_FAILS(PyArg_ParseTuple(args, "sy#", &s, &z, &zlen), PyExc_ValueError,
                      "embedded null character");
    CHECK_PARSE_FAILS(PyArg_ParseTuple(args, "z#y", &s, &len, &z), PyExc_ValueError,
                      "embedded null byte");
    CHECK_EQ_INT(PyArg_ParseTuple(args, "s#y#", &s, &len, &z, &zlen), 1);
    CHECK(len == 3 && memcmp(s, "a\0b", 3) == 0);
    CHECK(zlen == 3 && memcmp(z, "c\0d", 3) == 0);
    Py_DECREF(args);

    /* s# and z# also take bytes; s, z, y and y# are strict. */
    int iv = 0;
    args = Py_BuildValue("(yiy)", "raw", 5, "b");
    CHECK_EQ_INT(PyArg_ParseTuple(args, "s#iz#", &s, &len, &iv, &z, &zlen), 1);
    CHECK(len == 3 && memcmp(s, "raw", 3) == 0 && iv == 5 && zlen == 1 && z[0] == 'b');
    CHECK_EQ_INT(PyArg_ParseTuple(args, "yiy", &s, &iv, &z), 1);
    CHECK_STR(s, "raw");
    CHECK_PARSE_FAILS(PyArg_ParseTuple(args, "sii", &s, &iv, &iv), PyExc_TypeError,
                      "argument 1 must be str, not bytes");
    CHECK_PARSE_FAILS(PyArg_ParseTuple(args, "yzy", &s, &z, &z), PyExc_TypeError,
                      "argument 2 must be str or None, not int");
    CHECK_PARSE_FAILS(PyArg_ParseTuple(args, "ys#y", &s, &z, &len, &z), PyExc_TypeError,
                      "a bytes-like object is required, not 'int'");
    Py_DECREF(args);
    args = Py_BuildValue("(s)", "text");
    CHECK_PARSE_FAILS(PyArg_ParseTuple(args, "y", &s), PyExc_TypeError,
                      "a bytes-like object is required, not 'str'");
    CHECK_PARSE_FAILS(PyArg_ParseTuple(args, "y#", &s, &len), PyExc_TypeError,
                      "a bytes-like object is required, not 'str'");
    Py_DECREF(args);

    /* U and S: the object itself (borrowed). */
    PyObject *u = NULL, *bytes = NULL;
    args = Py_BuildValue("(sy)", "str", "bytes");
    Py_ssize_t rc0 = Py_REFCNT(PyTuple_GetItem(args, 0));
    CHECK_EQ_INT(PyArg_ParseTuple(args, "US", &u, &bytes), 1);
    CHECK(u == PyTuple_GetItem(args, 0) && bytes == PyTuple_GetItem(args, 1));
    CHECK_EQ_INT(Py_REFCNT(u), rc0);
    CHECK_PARSE_FAILS(PyArg_ParseTuple(args, "SU", &u, &bytes), PyExc_TypeError,
                      "argument 1 must be bytes, not str");
    CHECK_PARSE_FAILS(PyArg_ParseTuple(args, "UU:h", &u, &bytes), PyExc_TypeError,
                      "h() argument 2 must be str, not bytes");
    Py_DECREF(args);

    /* c and C: one byte, one character. */
    char c = 0;
    int C = 0;
    args = Py_BuildValue("(ys)", "q", "\xE2\x82\xAC");
    CHECK_EQ_INT(PyArg_ParseTuple(args, "cC", &c, &C), 1);
    CHECK(c == 'q' && C == 0x20AC);
    CHECK_PARSE_FAILS(PyArg_ParseTuple(args, "Cc", &C, &c), PyExc_TypeError,
                      "argument 1 must be a unicode character, not bytes");
    Py_DECREF(args);
    args = Py_BuildValue("(ys)", "qq", "ab");
    CHECK_PARSE_FAILS(PyArg_ParseTuple(args, "cC", &c, &C), PyExc_TypeError,
                      "argument 1 must be a byte string of length 1, not bytes");
    CHECK_PARSE_FAILS(PyArg_ParseTuple(args, "OC", &u, &C), PyExc_TypeError,
                      "argument 2 must be a unicode character, not str");
    Py_DECREF(args);
    CHECK_NO_EXC();
}

static void test_parse_objects(void) {
    PyObject *args, *o1 = NULL, *o2 = NULL;
    int p1 = -1, p2 = -1, p3 = -1, p4 = -1;

    /* p: truth. */
    args = Py_BuildValue("(iisO)", 0, 7, "", Py_None);
    CHECK_EQ_INT(PyArg_ParseTuple(args, "pppp", &p1, &p2, &p3, &p4), 1);
    CHECK(p1 == 0 && p2 == 1 && p3 == 0 && p4 == 0);
    Py_DECREF(args);

    /* O: borrowed, no new reference. */
    PyObject *probe = fresh("obj");
    args = PyTuple_Pack(1, probe);
    Py_ssize_t rc = Py_REFCNT(probe);
    CHECK_EQ_INT(PyArg_ParseTuple(args, "O", &o1), 1);
    CHECK(o1 == probe);
    CHECK_EQ_INT(Py_REFCNT(probe), rc);
    Py_DECREF(args);

    /* O!: type-checked. */
    args = Py_BuildValue("(iO)", 5, Py_True);
    CHECK_EQ_INT(PyArg_ParseTuple(args, "O!O!", &PyLong_Type, &o1, &PyLong_Type, &o2), 1);
    CHECK(o2 == Py_True);
    CHECK_PARSE_FAILS(PyArg_ParseTuple(args, "O!O!:foo", &PyBool_Type, &o1, &PyLong_Type, &o2),
                      PyExc_TypeError, "foo() argument 1 must be bool, not int");
    CHECK_PARSE_FAILS(PyArg_ParseTuple(args, "O!O", (PyTypeObject *)NULL, &o1, &o2),
                      PyExc_SystemError, "PyArg_ParseTuple: 'O!' needs a type object, got NULL");
    CHECK_PARSE_FAILS(PyArg_ParseTuple(args, "O!O", (PyTypeObject *)probe, &o1, &o2),
                      PyExc_SystemError, "PyArg_ParseTuple: 'O!' needs a type object, got str");
    Py_DECREF(args);
    args = Py_BuildValue("(s)", "x");
    CHECK_PARSE_FAILS(PyArg_ParseTuple(args, "O!:foo", &PyLong_Type, &o1), PyExc_TypeError,
                      "foo() argument 1 must be int, not str");
    CHECK_PARSE_FAILS(PyArg_ParseTuple(args, "O!", &PyTuple_Type, &o1), PyExc_TypeError,
                      "argument 1 must be tuple, not str");
    Py_DECREF(args);

    /* O&: converters. */
    long v = 0;
    args = Py_BuildValue("(i)", 21);
    CHECK_EQ_INT(PyArg_ParseTuple(args, "O&", conv_double_int, &v), 1);
    CHECK_EQ_INT(v, 42);
    CHECK_PARSE_FAILS(PyArg_ParseTuple(args, "O&:f", conv_fail_silently, &v), PyExc_SystemError,
                      "f() argument 1 (unspecified)");
    CHECK_PARSE_FAILS(PyArg_ParseTuple(args, "O&", (void *)NULL, &v), PyExc_SystemError,
                      "PyArg_ParseTuple: NULL converter for 'O&'");
    Py_DECREF(args);
    args = Py_BuildValue("(s)", "x");
    CHECK_PARSE_FAILS(PyArg_ParseTuple(args, "O&", conv_double_int, &v), PyExc_TypeError,
                      "'str' object cannot be interpreted as an integer");
    Py_DECREF(args);

    /* Py_CLEANUP_SUPPORTED: a later failure calls the converter again with NULL. */
    args = Py_BuildValue("(is)", 5, "x");
    int i = 0;
    cleanup_calls = 0;
    v = 0;
    CHECK_PARSE_FAILS(PyArg_ParseTuple(args, "O&i", conv_with_cleanup, &v, &i), PyExc_TypeError,
                      "'str' object cannot be interpreted as an integer");
    CHECK_EQ_INT(cleanup_calls, 1);
    CHECK_EQ_INT(v, -999);
    Py_DECREF(args);
    args = Py_BuildValue("(ii)", 5, 6);
    CHECK_EQ_INT(PyArg_ParseTuple(args, "O&i", conv_with_cleanup, &v, &i), 1);
    CHECK_EQ_INT(cleanup_calls, 1);
    CHECK(v == 5 && i == 6);
    Py_DECREF(args);

    Py_DECREF(probe);
    CHECK_NO_EXC();
}

static void test_parse_structure(void) {
    PyObject *args;
    int a = -1, b = -1, c = -1;
    PyObject *o = NULL;

    /* Nested tuples. */
    args = Py_BuildValue("(i(ii))", 1, 2, 3);
    CHECK_EQ_INT(PyArg_ParseTuple(args, "i(ii)", &a, &b, &c), 1);
    CHECK(a == 1 && b == 2 && c == 3);
    CHECK_PARSE_FAILS(PyArg_ParseTuple(args, "(ii)i", &a, &b, &c), PyExc_TypeError,
                      "argument 1 must be 2-item sequence, not int");
    CHECK_PARSE_FAILS(PyArg_ParseTuple(args, "i(iii):f", &a, &b, &c, &c), PyExc_TypeError,
                      "f() argument 2 must be sequence of length 3, not 2");
    CHECK_PARSE_FAILS(PyArg_ParseTuple(args, "i(iU)", &a, &b, &o), PyExc_TypeError,
                      "argument 2, item 1 must be str, not int");
    Py_DECREF(args);
    args = Py_BuildValue("((i(is)))", 1, 2, "x");
    CHECK_PARSE_FAILS(PyArg_ParseTuple(args, "(i(ik))", &a, &b, &c), PyExc_TypeError,
                      "argument 1, item 1, item 1 must be int, not str");
    CHECK_EQ_INT(PyArg_ParseTuple(args, "(i(iU))", &a, &b, &o), 1);
    CHECK(a == 1 && b == 2 && PyUnicode_Check(o));
    Py_DECREF(args);

    /* Argument counts. */
    args = Py_BuildValue("(i)", 1);
    CHECK_PARSE_FAILS(PyArg_ParseTuple(args, "ii", &a, &b), PyExc_TypeError,
                      "function takes exactly 2 arguments (1 given)");
    CHECK_PARSE_FAILS(PyArg_ParseTuple(args, "ii:foo", &a, &b), PyExc_TypeError,
                      "foo() takes exactly 2 arguments (1 given)");
    CHECK_PARSE_FAILS(PyArg_ParseTuple(args, "ii|i:foo", &a, &b, &c), PyExc_TypeError,
                      "foo() takes at least 2 arguments (1 given)");
    CHECK_PARSE_FAILS(PyArg_ParseTuple(args, ""), PyExc_TypeError,
                      "function takes exactly 0 arguments (1 given)");
    CHECK_PARSE_FAILS(PyArg_ParseTuple(args, "ii;custom message", &a, &b), PyExc_TypeError,
                      "custom message");
    a = b = -1;
    CHECK_EQ_INT(PyArg_ParseTuple(args, "i|i", &a, &b), 1);
    CHECK(a == 1 && b == -1); /* optional outputs are left alone */
    CHECK_EQ_INT(PyArg_ParseTuple(args, "|ii", &a, &b), 1);
    Py_DECREF(args);
    args = Py_BuildValue("(iii)", 1, 2, 3);
    CHECK_PARSE_FAILS(PyArg_ParseTuple(args, "i|i", &a, &b), PyExc_TypeError,
                      "function takes at most 2 arguments (3 given)");
    CHECK_PARSE_FAILS(PyArg_ParseTuple(args, "i:one", &a), PyExc_TypeError,
                      "one() takes exactly 1 argument (3 given)");
    CHECK_PARSE_FAILS(PyArg_ParseTuple(args, "iiU;need a str", &a, &b, &o), PyExc_TypeError,
                      "need a str");
    CHECK_PARSE_FAILS(PyArg_ParseTuple(args, "iis;need a str", &a, &b, &o), PyExc_TypeError,
                      "need a str");
    Py_DECREF(args);
    args = Py_BuildValue("(L)", 1LL << 40);
    /* An exception set by the conversion wins over ;message. */
    CHECK_PARSE_FAILS(PyArg_ParseTuple(args, "i;custom", &a), PyExc_OverflowError,
                      "signed integer is greater than maximum");
    Py_DECREF(args);
    args = PyTuple_New(0);
    CHECK_EQ_INT(PyArg_ParseTuple(args, ""), 1);
    CHECK_EQ_INT(PyArg_ParseTuple(args, ":noargs"), 1);
    CHECK_EQ_INT(PyArg_ParseTuple(args, "|i", &a), 1);
    CHECK_PARSE_FAILS(PyArg_ParseTuple(args, "i", &a), PyExc_TypeError,
                      "function takes exactly 1 argument (0 given)");

    /* Bad formats are SystemErrors, found before any argument is looked at. */
    CHECK_PARSE_FAILS_CONTAINS(PyArg_ParseTuple(args, "|f", &a), PyExc_SystemError,
                               "unsupported format unit 'f'");
    CHECK_PARSE_FAILS(PyArg_ParseTuple(args, "|x", &a), PyExc_SystemError,
                      "PyArg_ParseTuple: bad format string '|x': bad format unit 'x'");
    CHECK_PARSE_FAILS_CONTAINS(PyArg_ParseTuple(args, "|(i", &a), PyExc_SystemError,
                               "missing ')'");
    CHECK_PARSE_FAILS_CONTAINS(PyArg_ParseTuple(args, "|i)", &a), PyExc_SystemError,
                               "unmatched ')'");
    CHECK_PARSE_FAILS_CONTAINS(PyArg_ParseTuple(args, "|i|i", &a, &b), PyExc_SystemError,
                               "'|' specified twice");
    CHECK_PARSE_FAILS_CONTAINS(PyArg_ParseTuple(args, "|($i)", &a), PyExc_SystemError,
                               "inside a nested tuple");
    CHECK_PARSE_FAILS_CONTAINS(PyArg_ParseTuple(args, "|$i", &a), PyExc_SystemError,
                               "PyArg_ParseTupleAndKeywords");
    CHECK_PARSE_FAILS_CONTAINS(PyArg_ParseTuple(args, "|s*", &a), PyExc_SystemError,
                               "unsupported format unit 's*'");
    CHECK_PARSE_FAILS_CONTAINS(PyArg_ParseTuple(args, "|d", &a), PyExc_SystemError,
                               "unsupported format unit 'd'");
    CHECK_PARSE_FAILS_CONTAINS(PyArg_ParseTuple(args, "|es", &a), PyExc_SystemError,
                               "unsupported format unit 'e'");
    /* 29 nested levels is CPython's maximum; 30 is an error. */
    char deep[80];
    PyObject *t = PyTuple_New(0);
    for (int k = 0; k < 28; k++) {
        PyObject *outer = PyTuple_Pack(1, t);
        Py_DECREF(t);
        t = outer;
    }
    PyObject *deep_args = PyTuple_Pack(1, t);
    memset(deep, '(', 29);
    memset(deep + 29, ')', 29);
    deep[58] = '\0';
    CHECK_EQ_INT(PyArg_ParseTuple(deep_args, deep), 1);
    Py_DECREF(deep_args);
    Py_DECREF(t);
    memset(deep, '(', 30);
    memset(deep + 30, ')', 30);
    deep[60] = '\0';
    CHECK_PARSE_FAILS_CONTAINS(PyArg_ParseTuple(args, deep), PyExc_SystemError,
                               "too many tuple nesting levels in argument format string");

    /* Bad arguments. */
    CHECK_PARSE_FAILS(PyArg_ParseTuple(NULL, "i", &a), PyExc_SystemError,
                      "PyArg_ParseTuple: argument 'args' must not be NULL");
    CHECK_PARSE_FAILS(PyArg_ParseTuple(args, NULL), PyExc_SystemError,
                      "PyArg_ParseTuple: argument 'format' must not be NULL");
    Py_DECREF(args);
    args = PyLong_FromLong(3);
    CHECK_PARSE_FAILS(PyArg_ParseTuple(args, "i", &a), PyExc_SystemError,
                      "new style getargs format but argument is not a tuple");
    Py_DECREF(args);
    args = Py_BuildValue("(is)", 1, "x");
    CHECK_PARSE_FAILS(PyArg_ParseTuple(args, "is", &a, (const char **)NULL), PyExc_SystemError,
                      "PyArg_ParseTuple: NULL output pointer for format unit 's'");
    CHECK_PARSE_FAILS(PyArg_ParseTuple(args, "is#", &a, &o, (Py_ssize_t *)NULL),
                      PyExc_SystemError,
                      "PyArg_ParseTuple: NULL output pointer for format unit 's'");
    CHECK_PARSE_FAILS(PyArg_ParseTuple(args, "iO!", &a, &PyUnicode_Type, (PyObject **)NULL),
                      PyExc_SystemError,
                      "PyArg_ParseTuple: NULL output pointer for format unit 'O'");

    /* The va_list variant. */
    const char *s = NULL;
    CHECK_EQ_INT(parse_v(args, "is", &a, &s), 1);
    CHECK(a == 1 && s && strcmp(s, "x") == 0);
    CHECK_PARSE_FAILS(parse_v(args, "ii:vf", &a, &b), PyExc_TypeError,
                      "'str' object cannot be interpreted as an integer");
    CHECK_PARSE_FAILS(parse_v(args, "i:vf", &a), PyExc_TypeError,
                      "vf() takes exactly 1 argument (2 given)");
    CHECK(twice_parse(args, "is", &a, &s));
    CHECK_PARSE_FAILS(parse_v(NULL, "i", &a), PyExc_SystemError,
                      "PyArg_VaParse: argument 'args' must not be NULL");
    CHECK_PARSE_FAILS(parse_v(args, NULL), PyExc_SystemError,
                      "PyArg_VaParse: argument 'format' must not be NULL");
    Py_DECREF(args);
    CHECK_NO_EXC();
}

/* Py_BuildValue -> PyArg_ParseTuple round trips. */
static void test_round_trip(void) {
    PyObject *probe = fresh("round");
    PyObject *args =
        Py_BuildValue("(ihlLns#y#O(iz)KC)", -5, 300, -6L, 1LL << 40, (Py_ssize_t)77, "a\0b",
                      (Py_ssize_t)3, "xy", (Py_ssize_t)2, probe, 9, (char *)NULL, 12ULL, 0xE9);
    CHECK(args != NULL);
    int i = 0, i2 = 0, C = 0;
    short h = 0;
    long l = 0;
    long long L = 0;
    unsigned long long K = 0;
    Py_ssize_t n = 0, slen = 0, ylen = 0;
    const char *s = NULL, *y = NULL, *z = "unset";
    PyObject *o = NULL;
    CHECK_EQ_INT(PyArg_ParseTuple(args, "ihlLns#y#O(iz)KC:round", &i, &h, &l, &L, &n, &s, &slen,
                                  &y, &ylen, &o, &i2, &z, &K, &C),
                 1);
    CHECK(i == -5 && h == 300 && l == -6 && L == (1LL << 40) && n == 77);
    CHECK(slen == 3 && memcmp(s, "a\0b", 3) == 0);
    CHECK(ylen == 2 && memcmp(y, "xy", 2) == 0);
    CHECK(o == probe);
    CHECK(i2 == 9 && z == NULL && K == 12 && C == 0xE9);
    Py_XDECREF(args);
    CHECK_EQ_INT(Py_REFCNT(probe), 1);
    Py_DECREF(probe);
    CHECK_NO_EXC();
}

/* ----- PyArg_ParseTupleAndKeywords ------------------------------------------------- */

static void test_parse_keywords(void) {
    static char *kwlist[] = {"a", "b", "c", NULL};
    int a = -1, b = -1;
    const char *c = "unset";
    PyObject *args, *kw;

    /* Positional, keyword, mixed. */
    args = Py_BuildValue("(i)", 1);
    CHECK_EQ_INT(PyArg_ParseTupleAndKeywords(args, NULL, "i|is:foo", kwlist, &a, &b, &c), 1);
    CHECK(a == 1 && b == -1 && strcmp(c, "unset") == 0);
    kw = Py_BuildValue("{s:s}", "c", "see");
    CHECK_EQ_INT(PyArg_ParseTupleAndKeywords(args, kw, "i|is:foo", kwlist, &a, &b, &c), 1);
    CHECK(a == 1 && b == -1 && strcmp(c, "see") == 0);
    Py_DECREF(kw);
    kw = PyDict_New();
    CHECK_EQ_INT(PyArg_ParseTupleAndKeywords(args, kw, "i|is:foo", kwlist, &a, &b, &c), 1);
    Py_DECREF(kw);
    Py_DECREF(args);
    args = PyTuple_New(0);
    kw = Py_BuildValue("{s:i,s:i}", "b", 20, "a", 10);
    CHECK_EQ_INT(PyArg_ParseTupleAndKeywords(args, kw, "i|is:foo", kwlist, &a, &b, &c), 1);
    CHECK(a == 10 && b == 20);
    Py_DECREF(kw);

    /* Missing, duplicate, unknown, non-str keywords, too many. */
    CHECK_PARSE_FAILS(PyArg_ParseTupleAndKeywords(args, NULL, "i|is:foo", kwlist, &a, &b, &c),
                      PyExc_TypeError, "foo() missing required argument 'a' (pos 1)");
    CHECK_PARSE_FAILS(PyArg_ParseTupleAndKeywords(args, NULL, "ii|s", kwlist, &a, &b, &c),
                      PyExc_TypeError, "function missing required argument 'a' (pos 1)");
    kw = Py_BuildValue("{s:i}", "a", 1);
    CHECK_PARSE_FAILS(PyArg_ParseTupleAndKeywords(args, kw, "ii|s:foo", kwlist, &a, &b, &c),
                      PyExc_TypeError, "foo() missing required argument 'b' (pos 2)");
    Py_DECREF(kw);
    Py_DECREF(args);
    args = Py_BuildValue("(i)", 1);
    kw = Py_BuildValue("{s:i}", "a", 2);
    CHECK_PARSE_FAILS(PyArg_ParseTupleAndKeywords(args, kw, "i|is:foo", kwlist, &a, &b, &c),
                      PyExc_TypeError, "argument for foo() given by name ('a') and position (1)");
    Py_DECREF(kw);
    kw = Py_BuildValue("{s:i}", "d", 2);
    CHECK_PARSE_FAILS(PyArg_ParseTupleAndKeywords(args, kw, "i|is:foo", kwlist, &a, &b, &c),
                      PyExc_TypeError, "'d' is an invalid keyword argument for foo()");
    CHECK_PARSE_FAILS(PyArg_ParseTupleAndKeywords(args, kw, "i|is", kwlist, &a, &b, &c),
                      PyExc_TypeError, "'d' is an invalid keyword argument for this function");
    Py_DECREF(kw);
    kw = Py_BuildValue("{i:i}", 1, 2);
    CHECK_PARSE_FAILS(PyArg_ParseTupleAndKeywords(args, kw, "i|is:foo", kwlist, &a, &b, &c),
                      PyExc_TypeError, "keywords must be strings");
    Py_DECREF(kw);
    Py_DECREF(args);
    args = Py_BuildValue("(iiii)", 1, 2, 3, 4);
    CHECK_PARSE_FAILS(PyArg_ParseTupleAndKeywords(args, NULL, "i|is:foo", kwlist, &a, &b, &c),
                      PyExc_TypeError, "foo() takes at most 3 arguments (4 given)");
    Py_DECREF(args);
    args = PyTuple_New(0);
    kw = Py_BuildValue("{s:i,s:i,s:i,s:i}", "a", 1, "b", 2, "c", 3, "d", 4);
    CHECK_PARSE_FAILS(PyArg_ParseTupleAndKeywords(args, kw, "i|is", kwlist, &a, &b, &c),
                      PyExc_TypeError, "function takes at most 3 keyword arguments (4 given)");
    Py_DECREF(kw);

    /* Conversion errors name the argument. */
    kw = Py_BuildValue("{s:i,s:i}", "a", 1, "c", 5);
    CHECK_PARSE_FAILS(PyArg_ParseTupleAndKeywords(args, kw, "i|is:foo", kwlist, &a, &b, &c),
                      PyExc_TypeError, "foo() argument 3 must be str, not int");
    CHECK_PARSE_FAILS(PyArg_ParseTupleAndKeywords(args, kw, "i|is;bad c", kwlist, &a, &b, &c),
                      PyExc_TypeError, "bad c");
    Py_DECREF(kw);
    Py_DECREF(args);

    /* Keyword-only ($). */
    static char *kwlist2[] = {"a", "b", NULL};
    args = Py_BuildValue("(ii)", 1, 2);
    CHECK_PARSE_FAILS(PyArg_ParseTupleAndKeywords(args, NULL, "i|$i:foo", kwlist2, &a, &b),
                      PyExc_TypeError, "foo() takes at most 1 positional argument (2 given)");
    CHECK_PARSE_FAILS(PyArg_ParseTupleAndKeywords(args, NULL, "i$i:foo", kwlist2, &a, &b),
                      PyExc_TypeError, "foo() takes exactly 1 positional argument (2 given)");
    CHECK_PARSE_FAILS(PyArg_ParseTupleAndKeywords(args, NULL, "|$ii:foo", kwlist2, &a, &b),
                      PyExc_TypeError, "foo() takes no positional arguments");
    Py_DECREF(args);
    args = Py_BuildValue("(i)", 1);
    CHECK_PARSE_FAILS(PyArg_ParseTupleAndKeywords(args, NULL, "i$i:foo", kwlist2, &a, &b),
                      PyExc_TypeError, "foo() missing required argument 'b' (pos 2)");
    kw = Py_BuildValue("{s:i}", "b", 7);
    a = b = -1;
    CHECK_EQ_INT(PyArg_ParseTupleAndKeywords(args, kw, "i$i:foo", kwlist2, &a, &b), 1);
    CHECK(a == 1 && b == 7);
    Py_DECREF(kw);
    Py_DECREF(args);

    /* Positional-only parameters (empty names). */
    static char *kwlist3[] = {"", "b", NULL};
    args = PyTuple_New(0);
    kw = Py_BuildValue("{s:i}", "b", 1);
    CHECK_PARSE_FAILS(PyArg_ParseTupleAndKeywords(args, kw, "ii:foo", kwlist3, &a, &b),
                      PyExc_TypeError, "foo() takes at least 1 positional argument (0 given)");
    CHECK_PARSE_FAILS(PyArg_ParseTupleAndKeywords(args, kw, "i$i:foo", kwlist3, &a, &b),
                      PyExc_TypeError, "foo() takes exactly 1 positional argument (0 given)");
    Py_DECREF(kw);
    Py_DECREF(args);
    args = Py_BuildValue("(i)", 5);
    kw = Py_BuildValue("{s:i}", "b", 6);
    CHECK_EQ_INT(PyArg_ParseTupleAndKeywords(args, kw, "ii:foo", kwlist3, &a, &b), 1);
    CHECK(a == 5 && b == 6);
    Py_DECREF(kw);
    kw = Py_BuildValue("{s:i}", "", 6);
    CHECK_PARSE_FAILS(PyArg_ParseTupleAndKeywords(args, kw, "i|i:foo", kwlist3, &a, &b),
                      PyExc_TypeError, "'' is an invalid keyword argument for foo()");
    Py_DECREF(kw);
    Py_DECREF(args);

    /* Nested tuples and O& work with keywords too. */
    static char *kwlist4[] = {"pt", "n", NULL};
    long n = 0;
    args = PyTuple_New(0);
    kw = Py_BuildValue("{s:(ii),s:i}", "pt", 3, 4, "n", 8);
    CHECK_EQ_INT(PyArg_ParseTupleAndKeywords(args, kw, "(ii)O&", kwlist4, &a, &b,
                                             conv_double_int, &n),
                 1);
    CHECK(a == 3 && b == 4 && n == 16);
    Py_DECREF(kw);
    kw = Py_BuildValue("{s:(is),s:i}", "pt", 3, "x", "n", 8);
    CHECK_PARSE_FAILS(PyArg_ParseTupleAndKeywords(args, kw, "(ii)O&", kwlist4, &a, &b,
                                                  conv_double_int, &n),
                      PyExc_TypeError, "'str' object cannot be interpreted as an integer");
    Py_DECREF(kw);
    /* Optional units after the last given keyword still skip their outputs correctly. */
    kw = Py_BuildValue("{s:i}", "n", 3);
    a = b = -1;
    CHECK_EQ_INT(PyArg_ParseTupleAndKeywords(args, kw, "|(ii)O&", kwlist4, &a, &b,
                                             conv_double_int, &n),
                 1);
    CHECK(a == -1 && b == -1 && n == 6);
    Py_DECREF(kw);
    Py_DECREF(args);

    /* Bad formats and keyword lists. */
    args = PyTuple_New(0);
    static char *bad_kwlist[] = {"a", "", NULL};
    CHECK_PARSE_FAILS(PyArg_ParseTupleAndKeywords(args, NULL, "|ii", bad_kwlist, &a, &b),
                      PyExc_SystemError, "Empty keyword parameter name");
    CHECK_PARSE_FAILS(PyArg_ParseTupleAndKeywords(args, NULL, "|i", kwlist2, &a),
                      PyExc_SystemError, "More keyword list entries (2) than format specifiers (1)");
    CHECK_PARSE_FAILS(PyArg_ParseTupleAndKeywords(args, NULL, "|iii", kwlist2, &a, &b, &b),
                      PyExc_SystemError,
                      "more argument specifiers than keyword list entries (remaining format:'i')");
    CHECK_PARSE_FAILS(PyArg_ParseTupleAndKeywords(args, NULL, "|i|i", kwlist2, &a, &b),
                      PyExc_SystemError, "Invalid format string (| specified twice)");
    CHECK_PARSE_FAILS(PyArg_ParseTupleAndKeywords(args, NULL, "$i|i", kwlist2, &a, &b),
                      PyExc_SystemError, "Invalid format string ($ before |)");
    CHECK_PARSE_FAILS(PyArg_ParseTupleAndKeywords(args, NULL, "|$i$i", kwlist2, &a, &b),
                      PyExc_SystemError, "Invalid format string ($ specified twice)");
    CHECK_PARSE_FAILS(PyArg_ParseTupleAndKeywords(args, NULL, "|$ii", kwlist3, &a, &b),
                      PyExc_SystemError, "Empty parameter name after $");
    CHECK_PARSE_FAILS_CONTAINS(PyArg_ParseTupleAndKeywords(args, NULL, "|if", kwlist2, &a, &b),
                               PyExc_SystemError, "unsupported format unit 'f'");
    CHECK_PARSE_FAILS_CONTAINS(PyArg_ParseTupleAndKeywords(args, NULL, "|i(i", kwlist2, &a, &b),
                               PyExc_SystemError, "missing ')'");

    static char *bad_utf8_kwlist[] = {"\xff", NULL};
    kw = Py_BuildValue("{s:i}", "a", 1);
    CHECK_PARSE_FAILS_CONTAINS(PyArg_ParseTupleAndKeywords(args, kw, "|i", bad_utf8_kwlist, &a),
                               PyExc_ValueError, "");
    Py_DECREF(kw);

    /* Bad arguments. */
    CHECK_PARSE_FAILS(PyArg_ParseTupleAndKeywords(NULL, NULL, "|ii", kwlist2, &a, &b),
                      PyExc_SystemError,
                      "PyArg_ParseTupleAndKeywords: argument 'args' must not be NULL");
    CHECK_PARSE_FAILS(PyArg_ParseTupleAndKeywords(args, NULL, NULL, kwlist2, &a, &b),
                      PyExc_SystemError,
                      "PyArg_ParseTupleAndKeywords: argument 'format' must not be NULL");
    CHECK_PARSE_FAILS(PyArg_ParseTupleAndKeywords(args, NULL, "|ii", NULL, &a, &b),
                      PyExc_SystemError,
                      "PyArg_ParseTupleAndKeywords: argument 'keywords' must not be NULL");
    CHECK_PARSE_FAILS(PyArg_ParseTupleAndKeywords(args, args, "|ii", kwlist2, &a, &b),
                      PyExc_SystemError,
                      "PyArg_ParseTupleAndKeywords: argument 'kw' must be a dict or NULL, not "
                      "tuple");
    PyObject *not_tuple = PyLong_FromLong(1);
    CHECK_PARSE_FAILS(PyArg_ParseTupleAndKeywords(not_tuple, NULL, "|ii", kwlist2, &a, &b),
                      PyExc_SystemError,
                      "PyArg_ParseTupleAndKeywords: argument 'args' must be a tuple, not int");
    Py_DECREF(not_tuple);

    /* The va_list variant. */
    kw = Py_BuildValue("{s:i}", "b", 4);
    a = b = -1;
    CHECK_EQ_INT(parse_kw_v(args, kw, "|ii", kwlist2, &a, &b), 1);
    CHECK(a == -1 && b == 4);
    CHECK_PARSE_FAILS(parse_kw_v(args, kw, "i|i:vk", kwlist2, &a, &b), PyExc_TypeError,
                      "vk() missing required argument 'a' (pos 1)");
    CHECK_PARSE_FAILS(parse_kw_v(NULL, kw, "|ii", kwlist2, &a, &b), PyExc_SystemError,
                      "PyArg_VaParseTupleAndKeywords: argument 'args' must not be NULL");
    Py_DECREF(kw);
    Py_DECREF(args);

    /* Through a real call. */
    PyObject *f = PyCFunction_New(&kwparse_def, NULL);
    args = Py_BuildValue("(i)", 1);
    CHECK_REPR_STEAL(PyObject_Call(f, args, NULL), "(1, 2, 'c')");
    kw = Py_BuildValue("{s:s,s:i}", "c", "kw", "b", 5);
    CHECK_REPR_STEAL(PyObject_Call(f, args, kw), "(1, 5, 'kw')");
    Py_DECREF(kw);
    Py_DECREF(args);
    args = Py_BuildValue("(iii)", 1, 2, 3);
    CHECK_FAILS(PyObject_Call(f, args, NULL), PyExc_TypeError,
                "kwparse() takes at most 2 positional arguments (3 given)");
    Py_DECREF(args);
    Py_DECREF(f);
    CHECK_NO_EXC();
}

/* ----- PyArg_UnpackTuple ----------------------------------------------------------- */

static void test_unpack_tuple(void) {
    PyObject *a = NULL, *b = NULL;
    PyObject *args = Py_BuildValue("(i)", 1);
    CHECK_EQ_INT(PyArg_UnpackTuple(args, "f", 1, 2, &a, &b), 1);
    CHECK(a == PyTuple_GetItem(args, 0) && b == NULL);
    CHECK_PARSE_FAILS(PyArg_UnpackTuple(args, "f", 2, 2, &a, &b), PyExc_TypeError,
                      "f expected 2 arguments, got 1");
    CHECK_PARSE_FAILS(PyArg_UnpackTuple(args, "f", 2, 3, &a, &b, &b), PyExc_TypeError,
                      "f expected at least 2 arguments, got 1");
    CHECK_PARSE_FAILS(PyArg_UnpackTuple(args, NULL, 2, 3, &a, &b, &b), PyExc_TypeError,
                      "unpacked tuple should have at least 2 elements, but has 1");
    CHECK_PARSE_FAILS(PyArg_UnpackTuple(args, "f", 0, 0), PyExc_TypeError,
                      "f expected 0 arguments, got 1");
    CHECK_PARSE_FAILS(PyArg_UnpackTuple(args, "f", 1, 1, (PyObject **)NULL), PyExc_SystemError,
                      "PyArg_UnpackTuple: output pointer 1 is NULL");
    Py_DECREF(args);
    args = Py_BuildValue("(iii)", 1, 2, 3);
    CHECK_PARSE_FAILS(PyArg_UnpackTuple(args, "f", 1, 2, &a, &b), PyExc_TypeError,
                      "f expected at most 2 arguments, got 3");
    CHECK_PARSE_FAILS(PyArg_UnpackTuple(args, "f", 0, 1, &a), PyExc_TypeError,
                      "f expected at most 1 argument, got 3");
    CHECK_PARSE_FAILS(PyArg_UnpackTuple(args, NULL, 1, 2, &a, &b), PyExc_TypeError,
                      "unpacked tuple should have at most 2 elements, but has 3");
    CHECK_PARSE_FAILS(PyArg_UnpackTuple(args, NULL, 1, 1, &a), PyExc_TypeError,
                      "unpacked tuple should have 1 element, but has 3");
    Py_DECREF(args);
    args = PyTuple_New(0);
    CHECK_PARSE_FAILS(PyArg_UnpackTuple(args, "g", 1, 1, &a), PyExc_TypeError,
                      "g expected 1 argument, got 0");
    CHECK_EQ_INT(PyArg_UnpackTuple(args, "g", 0, 1, &a), 1);
    CHECK_PARSE_FAILS(PyArg_UnpackTuple(args, "g", 2, 1, &a), PyExc_SystemError,
                      "PyArg_UnpackTuple: bad bounds min=2, max=1");
    CHECK_PARSE_FAILS(PyArg_UnpackTuple(args, "g", -1, 1, &a), PyExc_SystemError,
                      "PyArg_UnpackTuple: bad bounds min=-1, max=1");
    CHECK_PARSE_FAILS(PyArg_UnpackTuple(NULL, "g", 0, 1, &a), PyExc_SystemError,
                      "PyArg_UnpackTuple: argument 'args' must not be NULL");
    Py_DECREF(args);
    args = PyDict_New();
    CHECK_PARSE_FAILS(PyArg_UnpackTuple(args, "g", 0, 1, &a), PyExc_SystemError,
                      "PyArg_UnpackTuple() argument list is not a tuple");
    Py_DECREF(args);
    CHECK_NO_EXC();
}

/* ----- Calls ----------------------------------------------------------------------- */

static void test_call_function(void) {
    PyObject *f = PyCFunction_New(&echo_def, NULL);
    CHECK(f != NULL);
    CHECK_REPR_STEAL(PyObject_CallFunction(f, NULL), "()");
    CHECK_REPR_STEAL(PyObject_CallFunction(f, ""), "()");
    CHECK_REPR_STEAL(PyObject_CallFunction(f, "i", 1), "(1,)");
    CHECK_REPR_STEAL(PyObject_CallFunction(f, "is", 1, "two"), "(1, 'two')");
    CHECK_REPR_STEAL(PyObject_CallFunction(f, "(is)", 1, "two"), "(1, 'two')");
    CHECK_REPR_STEAL(PyObject_CallFunction(f, "((is))", 1, "two"), "((1, 'two'),)");
    CHECK_REPR_STEAL(PyObject_CallFunction(f, " "), "()");
    CHECK_REPR_STEAL(PyObject_CallFunction(f, "z", (char *)NULL), "(None,)");
    PyObject *t = Py_BuildValue("(ii)", 3, 4);
    CHECK_REPR_STEAL(PyObject_CallFunction(f, "O", t), "(3, 4)"); /* a single tuple is the args */
    CHECK_REPR_STEAL(PyObject_CallFunction(f, "(O)", t), "((3, 4),)");
    CHECK_REPR_STEAL(PyObject_CallFunction(f, "OO", t, t), "((3, 4), (3, 4))");
    Py_DECREF(t);

    /* N is consumed, whatever happens. */
    PyObject *o = fresh("callarg");
    Py_INCREF(o);
    CHECK_REPR_STEAL(PyObject_CallFunction(f, "N", o), "('callarg',)");
    CHECK_EQ_INT(Py_REFCNT(o), 1);
    Py_INCREF(o);
    CHECK_FAILS(PyObject_CallFunction(f, "Nf", o, 1.0), PyExc_SystemError,
                "Py_BuildValue: unsupported format unit 'f'");
    CHECK_EQ_INT(Py_REFCNT(o), 1);
    Py_INCREF(o);
    CHECK_FAILS(PyObject_CallFunction(NULL, "iN", 1, o), PyExc_SystemError,
                "PyObject_CallFunction: argument 'callable' must not be NULL");
    CHECK_EQ_INT(Py_REFCNT(o), 1);
    CHECK_FAILS(PyObject_CallFunction(NULL, NULL), PyExc_SystemError,
                "PyObject_CallFunction: argument 'callable' must not be NULL");

    /* Errors of the call itself. */
    PyObject *n = PyLong_FromLong(3);
    CHECK_FAILS(PyObject_CallFunction(n, "i", 1), PyExc_TypeError, "'int' object is not callable");
    CHECK_FAILS(PyObject_CallFunction(n, NULL), PyExc_TypeError, "'int' object is not callable");
    Py_DECREF(n);
    CHECK_FAILS(PyObject_CallFunction(f, "O", (PyObject *)NULL), PyExc_SystemError,
                "NULL object passed to Py_BuildValue");

    /* CallFunctionObjArgs: borrowed arguments up to NULL. */
    CHECK_REPR_STEAL(PyObject_CallFunctionObjArgs(f, NULL), "()");
    Py_ssize_t rc = Py_REFCNT(o);
    CHECK_REPR_STEAL(PyObject_CallFunctionObjArgs(f, o, Py_None, NULL), "('callarg', None)");
    CHECK_EQ_INT(Py_REFCNT(o), rc);
    CHECK_REPR_STEAL(PyObject_CallFunctionObjArgs(f, o, o, o, o, o, o, o, o, o, o, NULL),
                     "('callarg', 'callarg', 'callarg', 'callarg', 'callarg', 'callarg', "
                     "'callarg', 'callarg', 'callarg', 'callarg')");
    CHECK_EQ_INT(Py_REFCNT(o), rc);
    CHECK_FAILS(PyObject_CallFunctionObjArgs(NULL, o, NULL), PyExc_SystemError,
                "PyObject_CallFunctionObjArgs: argument 'callable' must not be NULL");
    CHECK_FAILS(PyObject_CallFunctionObjArgs(o, NULL), PyExc_TypeError,
                "'str' object is not callable");

    /* Keyword functions get kwargs NULL. */
    PyObject *fk = PyCFunction_New(&echo_kw_def, NULL);
    CHECK_REPR_STEAL(PyObject_CallFunction(fk, "i", 1), "((1,), None)");
    CHECK_REPR_STEAL(PyObject_CallFunctionObjArgs(fk, o, NULL), "(('callarg',), None)");
    Py_DECREF(fk);

    Py_DECREF(o);
    Py_DECREF(f);
    CHECK_NO_EXC();
}

static void test_call_method(void) {
    PyObject *type = make_obj_type();
    PyObject *obj = type ? PyObject_CallNoArgs(type) : NULL;
    CHECK(obj != NULL);
    if (obj == NULL) {
        Py_XDECREF(type);
        return;
    }
    CHECK_REPR_STEAL(PyObject_CallMethod(obj, "echo", NULL), "()");
    CHECK_REPR_STEAL(PyObject_CallMethod(obj, "echo", ""), "()");
    CHECK_REPR_STEAL(PyObject_CallMethod(obj, "echo", "is", 1, "x"), "(1, 'x')");
    CHECK_REPR_STEAL(PyObject_CallMethod(obj, "echo", "(ii)", 1, 2), "(1, 2)");

    PyObject *o = fresh("marg");
    Py_INCREF(o);
    CHECK_REPR_STEAL(PyObject_CallMethod(obj, "echo", "N", o), "('marg',)");
    CHECK_EQ_INT(Py_REFCNT(o), 1);

    /* Failures still consume N references. */
    Py_INCREF(o);
    CHECK_FAILS(PyObject_CallMethod(obj, "nope", "N", o), PyExc_AttributeError,
                "'test.Obj' object has no attribute 'nope'");
    CHECK_EQ_INT(Py_REFCNT(o), 1);
    Py_INCREF(o);
    CHECK_FAILS(PyObject_CallMethod(type, "__name__", "N", o), PyExc_TypeError,
                "attribute of type 'str' is not callable");
    CHECK_EQ_INT(Py_REFCNT(o), 1);
    Py_INCREF(o);
    CHECK_FAILS(PyObject_CallMethod(NULL, "echo", "N", o), PyExc_SystemError,
                "PyObject_CallMethod: argument 'obj' must not be NULL");
    CHECK_EQ_INT(Py_REFCNT(o), 1);
    Py_INCREF(o);
    CHECK_FAILS(PyObject_CallMethod(obj, NULL, "N", o), PyExc_SystemError,
                "PyObject_CallMethod: argument 'name' must not be NULL");
    CHECK_EQ_INT(Py_REFCNT(o), 1);
    CHECK_FAILS(PyObject_CallMethod(obj, NULL, NULL), PyExc_SystemError,
                "PyObject_CallMethod: argument 'name' must not be NULL");
    Py_INCREF(o);
    CHECK_FAILS(PyObject_CallMethod(obj, "echo", "Nx", o), PyExc_SystemError,
                "Py_BuildValue: unsupported format unit 'x'");
    CHECK_EQ_INT(Py_REFCNT(o), 1);

    /* CallMethodObjArgs. */
    PyObject *name = PyUnicode_FromString("echo");
    Py_ssize_t rc = Py_REFCNT(o);
    CHECK_REPR_STEAL(PyObject_CallMethodObjArgs(obj, name, o, Py_None, NULL), "('marg', None)");
    CHECK_REPR_STEAL(PyObject_CallMethodObjArgs(obj, name, NULL), "()");
    CHECK_EQ_INT(Py_REFCNT(o), rc);
    CHECK_FAILS(PyObject_CallMethodObjArgs(NULL, name, NULL), PyExc_SystemError,
                "PyObject_CallMethodObjArgs: argument 'obj' must not be NULL");
    CHECK_FAILS(PyObject_CallMethodObjArgs(obj, NULL, NULL), PyExc_SystemError,
                "PyObject_CallMethodObjArgs: argument 'name' must not be NULL");
    CHECK_FAILS(PyObject_CallMethodObjArgs(obj, o, NULL), PyExc_AttributeError,
                "'test.Obj' object has no attribute 'marg'");
    PyObject *bad_name = PyLong_FromLong(1);
    CHECK_FAILS(PyObject_CallMethodObjArgs(obj, bad_name, NULL), PyExc_TypeError, NULL);
    Py_DECREF(bad_name);
    Py_DECREF(name);

    Py_DECREF(o);
    Py_DECREF(obj);
    Py_DECREF(type);
    CHECK_NO_EXC();
}

/* ----- PyTuple_Pack ---------------------------------------------------------------- */

static void test_tuple_pack(void) {
    CHECK_REPR_STEAL(PyTuple_Pack(0), "()");
    PyObject *a = fresh("pa"), *b = PyLong_FromLong(2);
    PyObject *t = PyTuple_Pack(3, a, b, a);
    CHECK_EQ_INT(Py_REFCNT(a), 3);
    CHECK_REPR_STEAL(t, "('pa', 2, 'pa')");
    CHECK_EQ_INT(Py_REFCNT(a), 1);
    CHECK_FAILS(PyTuple_Pack(3, a, (PyObject *)NULL, b), PyExc_SystemError,
                "PyTuple_Pack: item 1 is NULL");
    CHECK_EQ_INT(Py_REFCNT(a), 1);
    CHECK_FAILS(PyTuple_Pack(-1), PyExc_SystemError, "PyTuple_Pack: negative size");
    Py_DECREF(a);
    Py_DECREF(b);
    CHECK_NO_EXC();
}

int main(void) {
    test_from_format();
    test_err_format();
    test_build_value();
    test_parse_ints();
    test_parse_text();
    test_parse_objects();
    test_parse_structure();
    test_round_trip();
    test_parse_keywords();
    test_unpack_tuple();
    test_call_function();
    test_call_method();
    test_tuple_pack();
    return check_report();
}
