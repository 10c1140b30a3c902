/* test_objects.c: the value types through the public C API.
 *
 * int/bool, str, bytes, tuple, dict and capsule: constructors and accessors, repr()/str(),
 * truth, the Check/CheckExact functions, calling the type objects, PyDict_Next order,
 * borrowed results, and error cases with CPython's exact messages. Also PyMem_* and
 * PyThread_get_thread_ident.
 */
#include <limits.h>
#include <pthread.h>
#include <stdint.h>

#include "check.h"

/* str(o) equals `want` (CHECK_OBJ_STR, named for symmetry). */
#define CHECK_STR_OF(o, want) CHECK_OBJ_STR(o, want)

/* Creates a str from a literal (the test owns the result). */
static PyObject *S(const char *s) { return PyUnicode_FromString(s); }

static void test_int(void) {
    PyObject *a = PyLong_FromLong(-42);
    CHECK(a != NULL);
    CHECK_EQ_INT(PyLong_AsLong(a), -42);
    CHECK_EQ_INT(PyLong_AsSsize_t(a), -42);
    CHECK_EQ_INT(PyLong_AsLongLong(a), -42);
    CHECK_REPR(a, "-42");
    CHECK_STR_OF(a, "-42");
    CHECK_EQ_INT(PyLong_Check(a), 1);
    CHECK_EQ_INT(PyLong_CheckExact(a), 1);
    CHECK_EQ_INT(PyBool_Check(a), 0);
    CHECK_EQ_INT(PyObject_IsTrue(a), 1);
    CHECK_EQ_INT(PyObject_Not(a), 0);
    CHECK_EQ_INT(PyBool_AsInt(a), 1);

    /* -1 is a valid value: no exception. */
    PyObject *m1 = PyLong_FromLong(-1);
    CHECK_EQ_INT(PyLong_AsLong(m1), -1);
    CHECK_NO_EXC();
    Py_DECREF(m1);

    PyObject *big = PyLong_FromLongLong(LLONG_MAX);
    CHECK_EQ_INT(PyLong_AsLongLong(big), LLONG_MAX);
    CHECK_REPR(big, "9223372036854775807");
    Py_DECREF(big);
    PyObject *small = PyLong_FromLongLong(LLONG_MIN);
    CHECK_REPR(small, "-9223372036854775808");
    CHECK_EQ_INT(PyLong_AsLong(small), LONG_MIN);
    Py_DECREF(small);
    PyObject *ss = PyLong_FromSsize_t(PTRDIFF_MAX);
    CHECK(PyLong_AsSsize_t(ss) == PTRDIFF_MAX);
    Py_DECREF(ss);

    PyObject *u = PyLong_FromUnsignedLong(123);
    CHECK(PyLong_AsUnsignedLong(u) == 123UL);
    Py_DECREF(u);
    u = PyLong_FromUnsignedLong((unsigned long)LONG_MAX);
    CHECK(PyLong_AsUnsignedLong(u) == (unsigned long)LONG_MAX);
    Py_DECREF(u);
    /* Deviation (documented): ints are 64-bit signed. */
    CHECK(PyLong_FromUnsignedLong(ULONG_MAX) == NULL);
    CHECK_EXC(PyExc_OverflowError, NULL);
    CHECK(PyLong_AsUnsignedLong(a) == (unsigned long)-1);
    CHECK_EXC(PyExc_OverflowError, "can't convert negative value to unsigned int");

    PyObject *zero = PyLong_FromLong(0);
    CHECK_EQ_INT(PyObject_IsTrue(zero), 0);
    CHECK_EQ_INT(PyObject_Not(zero), 1);
    CHECK_EQ_INT(PyBool_AsInt(zero), 0);
    CHECK_REPR(zero, "0");
    Py_DECREF(zero);

    /* Wrong types. */
    PyObject *s = S("12");
    CHECK_EQ_INT(PyLong_AsLong(s), -1);
    CHECK_EXC(PyExc_TypeError, "'str' object cannot be interpreted as an integer");
    CHECK_EQ_INT(PyLong_AsLong(Py_None), -1);
    CHECK_EXC(PyExc_TypeError, "'NoneType' object cannot be interpreted as an integer");
    CHECK_EQ_INT(PyLong_Check(s), 0);
    CHECK_EQ_INT(PyLong_CheckExact(s), 0);
    CHECK_EQ_INT(PyBool_AsInt(s), -1);
    CHECK_EXC(PyExc_TypeError, NULL);

    /* Calling int. */
    PyObject *v = PyObject_CallOneArg((PyObject *)&PyLong_Type, s);
    CHECK(v != NULL && PyLong_AsLong(v) == 12);
    Py_XDECREF(v);
    PyObject *bad = S(" 1x ");
    CHECK(PyObject_CallOneArg((PyObject *)&PyLong_Type, bad) == NULL);
    CHECK_EXC(PyExc_ValueError, "invalid literal for int() with base 10: ' 1x '");
    Py_DECREF(bad);
    PyObject *spaced = S(" 7 ");
    v = PyObject_CallOneArg((PyObject *)&PyLong_Type, spaced);
    CHECK(v != NULL && PyLong_AsLong(v) == 7);
    Py_XDECREF(v);
    Py_DECREF(spaced);
    v = PyObject_CallNoArgs((PyObject *)&PyLong_Type);
    CHECK(v != NULL && PyLong_AsLong(v) == 0);
    Py_XDECREF(v);
    v = PyObject_CallOneArg((PyObject *)&PyLong_Type, a);
    CHECK(v != NULL && PyLong_AsLong(v) == -42 && v != a);
    Py_XDECREF(v);
    CHECK(PyObject_CallOneArg((PyObject *)&PyLong_Type, Py_None) == NULL);
    CHECK_EXC(PyExc_TypeError,
              "int() argument must be a string, a bytes-like object or a real number, not "
              "'NoneType'");
    Py_DECREF(s);
    Py_DECREF(a);
}

static void test_bool(void) {
    PyObject *t = PyBool_FromLong(42), *f = PyBool_FromLong(0);
    CHECK(t == Py_True);
    CHECK(f == Py_False);
    CHECK_REPR(t, "True");
    CHECK_REPR(f, "False");
    CHECK_STR_OF(t, "True");
    CHECK_EQ_INT(PyBool_Check(t), 1);
    CHECK_EQ_INT(PyBool_Check(f), 1);
    CHECK_EQ_INT(PyLong_Check(t), 1); /* bool is a subtype of int */
    CHECK_EQ_INT(PyLong_CheckExact(t), 0);
    CHECK_EQ_INT(PyLong_AsLong(t), 1);
    CHECK_EQ_INT(PyLong_AsLong(f), 0);
    CHECK_EQ_INT(PyObject_IsTrue(t), 1);
    CHECK_EQ_INT(PyObject_IsTrue(f), 0);
    CHECK_EQ_INT(PyBool_AsInt(t), 1);
    CHECK_EQ_INT(PyBool_AsInt(f), 0);
    CHECK(PyType_IsSubtype(&PyBool_Type, &PyLong_Type));
    Py_DECREF(t);
    Py_DECREF(f);

    /* bool(x) */
    PyObject *e = S("");
    PyObject *r = PyObject_CallOneArg((PyObject *)&PyBool_Type, e);
    CHECK(r == Py_False);
    Py_XDECREF(r);
    Py_DECREF(e);
    r = PyObject_CallNoArgs((PyObject *)&PyBool_Type);
    CHECK(r == Py_False);
    Py_XDECREF(r);
    r = PyObject_CallOneArg((PyObject *)&PyBool_Type, (PyObject *)&PyLong_Type);
    CHECK(r == Py_True);
    Py_XDECREF(r);

    CHECK_REPR(Py_None, "None");
    CHECK_STR_OF(Py_None, "None");
    CHECK_EQ_INT(PyObject_IsTrue(Py_None), 0);
    CHECK_EQ_INT(PyObject_Not(Py_None), 1);
}

static void test_str(void) {
    PyObject *s = S("h\xc3\xa9llo"); /* "héllo" */
    CHECK(s != NULL);
    CHECK_EQ_INT(PyUnicode_Check(s), 1);
    CHECK_EQ_INT(PyUnicode_CheckExact(s), 1);
    CHECK_EQ_INT(PyUnicode_GetLength(s), 5);
    Py_ssize_t n = -1;
    const char *u = PyUnicode_AsUTF8AndSize(s, &n);
    CHECK_EQ_INT(n, 6);
    CHECK_STR(u, "h\xc3\xa9llo");
    CHECK(PyUnicode_AsUTF8(s) == u); /* borrowed from the object: the same buffer */
    CHECK(PyUnicode_AsUTF8AndSize(s, NULL) == u);
    CHECK_STR_OF(s, "h\xc3\xa9llo");
    CHECK_REPR(s, "'h\xc3\xa9llo'");
    CHECK_EQ_INT(PyObject_IsTrue(s), 1);
    Py_DECREF(s);

    /* Comparison. */
    s = S("abc");
    CHECK_EQ_INT(PyUnicode_CompareWithASCIIString(s, "abc"), 0);
    CHECK_EQ_INT(PyUnicode_CompareWithASCIIString(s, "abd"), -1);
    CHECK_EQ_INT(PyUnicode_CompareWithASCIIString(s, "abb"), 1);
    CHECK_EQ_INT(PyUnicode_CompareWithASCIIString(s, "ab"), 1);
    CHECK_EQ_INT(PyUnicode_CompareWithASCIIString(s, "abcd"), -1);
    CHECK_EQ_INT(PyUnicode_CompareWithASCIIString(s, ""), 1);
    CHECK_NO_EXC();
    Py_DECREF(s);

    /* Empty string. */
    s = S("");
    CHECK_EQ_INT(PyUnicode_GetLength(s), 0);
    CHECK_EQ_INT(PyObject_IsTrue(s), 0);
    CHECK_REPR(s, "''");
    Py_DECREF(s);
    s = PyUnicode_FromStringAndSize(NULL, 0);
    CHECK(s != NULL && PyUnicode_GetLength(s) == 0);
    Py_XDECREF(s);

    /* Embedded NUL. */
    s = PyUnicode_FromStringAndSize("a\0b", 3);
    CHECK_EQ_INT(PyUnicode_GetLength(s), 3);
    PyUnicode_AsUTF8AndSize(s, &n);
    CHECK_EQ_INT(n, 3);
    CHECK_REPR(s, "'a\\x00b'");
    Py_DECREF(s);
    s = PyUnicode_FromStringAndSize("abcdef", 3);
    CHECK_STR_OF(s, "abc");
    Py_DECREF(s);

    /* repr() quoting and escapes, as CPython. */
    struct {
        const char *in, *want;
    } reprs[] = {
        {"it's", "\"it's\""},
        {"say \"hi\"", "'say \"hi\"'"},
        {"both ' and \"", "'both \\' and \"'"},
        {"tab\there\nnl\rcr\\bs", "'tab\\there\\nnl\\rcr\\\\bs'"},
        {"\x01\x1f\x7f", "'\\x01\\x1f\\x7f'"},
        {"\xc2\x85\xc2\xa0\xc2\xad", "'\\x85\\xa0\\xad'"}, /* U+0085 U+00A0 U+00AD */
        {"\xe2\x80\xa8", "'\\u2028'"},                      /* LINE SEPARATOR */
        {"\xef\xbb\xbf", "'\\ufeff'"},                      /* BOM */
        {"\xf3\xb0\x80\x80", "'\\U000f0000'"},              /* plane 15 private use */
        {"\xe2\x82\xac \xf0\x9f\x98\x80", "'\xe2\x82\xac \xf0\x9f\x98\x80'"}, /* euro, emoji */
        {"\xc3\xa9", "'\xc3\xa9'"},
    };
    for (size_t i = 0; i < sizeof reprs / sizeof reprs[0]; i++) {
        s = S(reprs[i].in);
        CHECK_REPR(s, reprs[i].want);
        Py_XDECREF(s);
    }

    /* Invalid UTF-8: CPython's UnicodeDecodeError text (the class is ValueError here). */
    CHECK(S("\xff") == NULL);
    CHECK_EXC(PyExc_ValueError, "'utf-8' codec can't decode byte 0xff in position 0: invalid "
                                "start byte");
    CHECK(S("ab\xe2\x28\xa1") == NULL);
    CHECK_EXC(PyExc_ValueError, "'utf-8' codec can't decode byte 0xe2 in position 2: invalid "
                                "continuation byte");
    CHECK(PyUnicode_FromStringAndSize("a\xe2\x82", 3) == NULL);
    CHECK_EXC(PyExc_ValueError, "'utf-8' codec can't decode bytes in position 1-2: unexpected "
                                "end of data");
    CHECK(PyUnicode_FromStringAndSize("\xe2", 1) == NULL);
    CHECK_EXC(PyExc_ValueError, "'utf-8' codec can't decode byte 0xe2 in position 0: "
                                "unexpected end of data");
    CHECK(S("\xed\xa0\x80") == NULL); /* a surrogate */
    CHECK_EXC(PyExc_ValueError, "'utf-8' codec can't decode byte 0xed in position 0: invalid "
                                "continuation byte");
    CHECK(PyUnicode_FromStringAndSize("abc", -1) == NULL);
    CHECK_EXC(PyExc_SystemError, "Negative size passed to PyUnicode_FromStringAndSize");

    /* str(x) */
    PyObject *i = PyLong_FromLong(5);
    PyObject *r = PyObject_CallOneArg((PyObject *)&PyUnicode_Type, i);
    CHECK_STR_OF(r, "5");
    CHECK(PyUnicode_CheckExact(r));
    Py_XDECREF(r);
    r = PyObject_CallNoArgs((PyObject *)&PyUnicode_Type);
    CHECK_STR_OF(r, "");
    Py_XDECREF(r);

    /* Not a str. */
    CHECK(PyUnicode_AsUTF8(i) == NULL);
    CHECK_EXC(PyExc_TypeError, NULL);
    CHECK_EQ_INT(PyUnicode_GetLength(i), -1);
    CHECK_EXC(PyExc_TypeError, NULL);
    CHECK_EQ_INT(PyUnicode_Check(i), 0);
    CHECK_EQ_INT(PyUnicode_CheckExact(i), 0);
    Py_DECREF(i);
}

static void test_bytes(void) {
    PyObject *b = PyBytes_FromStringAndSize("a\0b", 3);
    CHECK(b != NULL);
    CHECK_EQ_INT(PyBytes_Size(b), 3);
    char *p = PyBytes_AsString(b);
    CHECK(p != NULL && p[0] == 'a' && p[1] == 0 && p[2] == 'b' && p[3] == 0);
    CHECK_REPR(b, "b'a\\x00b'");
    CHECK_STR_OF(b, "b'a\\x00b'");
    CHECK_EQ_INT(PyBytes_Check(b), 1);
    CHECK_EQ_INT(PyObject_IsTrue(b), 1);
    Py_DECREF(b);

    b = PyBytes_FromString("it's");
    CHECK_EQ_INT(PyBytes_Size(b), 4);
    CHECK_STR(PyBytes_AsString(b), "it's");
    CHECK_REPR(b, "b\"it's\"");
    Py_DECREF(b);
    b = PyBytes_FromString("'\"\t\n\r\\\x80\xff~");
    CHECK_REPR(b, "b'\\'\"\\t\\n\\r\\\\\\x80\\xff~'");
    Py_DECREF(b);

    /* NULL data: zero-filled, writable. */
    b = PyBytes_FromStringAndSize(NULL, 4);
    CHECK_EQ_INT(PyBytes_Size(b), 4);
    p = PyBytes_AsString(b);
    CHECK(p[0] == 0 && p[3] == 0 && p[4] == 0);
    p[1] = 'x';
    CHECK_REPR(b, "b'\\x00x\\x00\\x00'");
    Py_DECREF(b);

    b = PyBytes_FromStringAndSize("", 0);
    CHECK_EQ_INT(PyBytes_Size(b), 0);
    CHECK_EQ_INT(PyObject_IsTrue(b), 0);
    CHECK_REPR(b, "b''");
    Py_DECREF(b);

    CHECK(PyBytes_FromStringAndSize("x", -1) == NULL);
    CHECK_EXC(PyExc_SystemError, "Negative size passed to PyBytes_FromStringAndSize");
    CHECK(PyBytes_FromStringAndSize(NULL, PTRDIFF_MAX) == NULL);
    CHECK_EXC(PyExc_MemoryError, NULL);

    PyObject *s = S("x");
    CHECK_EQ_INT(PyBytes_Check(s), 0);
    CHECK(PyBytes_AsString(s) == NULL);
    CHECK_EXC(PyExc_TypeError, NULL);
    CHECK_EQ_INT(PyBytes_Size(s), -1);
    CHECK_EXC(PyExc_TypeError, NULL);
    Py_DECREF(s);
}

static void test_tuple(void) {
    PyObject *t = PyTuple_New(0);
    CHECK(t != NULL);
    CHECK_EQ_INT(PyTuple_Size(t), 0);
    CHECK_REPR(t, "()");
    CHECK_EQ_INT(PyObject_IsTrue(t), 0);
    CHECK(PyTuple_GetItem(t, 0) == NULL);
    CHECK_EXC(PyExc_IndexError, "tuple index out of range");
    Py_DECREF(t);

    t = PyTuple_New(1);
    PyTuple_SetItem(t, 0, PyLong_FromLong(1));
    CHECK_REPR(t, "(1,)");
    CHECK_STR_OF(t, "(1,)");
    CHECK_EQ_INT(PyObject_IsTrue(t), 1);
    Py_DECREF(t);

    t = PyTuple_New(3);
    CHECK_EQ_INT(PyTuple_Check(t), 1);
    CHECK_EQ_INT(PyTuple_CheckExact(t), 1);
    CHECK_EQ_INT(PyTuple_Size(t), 3);
    PyTuple_SetItem(t, 0, PyLong_FromLong(1));
    PyTuple_SetItem(t, 1, S("a'b"));
    PyObject *inner = PyTuple_New(2);
    PyTuple_SetItem(inner, 0, Py_NewRef(Py_None));
    PyTuple_SetItem(inner, 1, PyBytes_FromString("x"));
    PyTuple_SetItem(t, 2, inner);
    CHECK_REPR(t, "(1, \"a'b\", (None, b'x'))");
    CHECK_STR_OF(t, "(1, \"a'b\", (None, b'x'))");
    CHECK(PyTuple_GetItem(t, 2) == inner);
    CHECK_EQ_INT(PyLong_AsLong(PyTuple_GetItem(t, 0)), 1);
    CHECK(PyTuple_GetItem(t, 3) == NULL);
    CHECK_EXC(PyExc_IndexError, "tuple index out of range");
    CHECK(PyTuple_GetItem(t, -1) == NULL);
    CHECK_EXC(PyExc_IndexError, "tuple index out of range");

    /* tuple(t) is t; tuple() is empty. */
    PyObject *r = PyObject_CallOneArg((PyObject *)&PyTuple_Type, t);
    CHECK(r == t);
    Py_XDECREF(r);
    r = PyObject_CallNoArgs((PyObject *)&PyTuple_Type);
    CHECK(r != NULL && PyTuple_Size(r) == 0);
    Py_XDECREF(r);
    Py_DECREF(t);

    CHECK(PyTuple_New(-1) == NULL);
    CHECK_EXC(PyExc_SystemError, NULL);
    CHECK(PyTuple_New(PTRDIFF_MAX) == NULL);
    CHECK_EXC(PyExc_MemoryError, NULL);

    /* An unfilled slot is an error here (CPython returns NULL without one). */
    t = PyTuple_New(1);
    CHECK(PyTuple_GetItem(t, 0) == NULL);
    CHECK_EXC(PyExc_SystemError, NULL);
    CHECK_REPR(t, "(<NULL>,)");
    Py_DECREF(t);

    PyObject *d = PyDict_New();
    CHECK_EQ_INT(PyTuple_Check(d), 0);
    CHECK_EQ_INT(PyTuple_CheckExact(d), 0);
    CHECK_EQ_INT(PyTuple_Size(d), -1);
    CHECK_EXC(PyExc_TypeError, "PyTuple_Size: argument 'p' must be tuple, not dict");
    Py_DECREF(d);
}

static void test_dict(void) {
    PyObject *d = PyDict_New();
    CHECK(d != NULL);
    CHECK_EQ_INT(PyDict_Check(d), 1);
    CHECK_EQ_INT(PyDict_CheckExact(d), 1);
    CHECK_EQ_INT(PyDict_Size(d), 0);
    CHECK_EQ_INT(PyObject_IsTrue(d), 0);
    CHECK_REPR(d, "{}");

    PyObject *one = PyLong_FromLong(1), *two = PyLong_FromLong(2), *x = S("x");
    CHECK_EQ_INT(PyDict_SetItemString(d, "a", one), 0);
    CHECK_EQ_INT(PyDict_SetItemString(d, "b", x), 0);
    CHECK_EQ_INT(PyDict_SetItemString(d, "c", two), 0);
    CHECK_EQ_INT(PyDict_Size(d), 3);
    CHECK_EQ_INT(PyObject_IsTrue(d), 1);
    CHECK_REPR(d, "{'a': 1, 'b': 'x', 'c': 2}");
    CHECK_STR_OF(d, "{'a': 1, 'b': 'x', 'c': 2}");

    /* Lookups: borrowed, by value for str keys. */
    CHECK(PyDict_GetItemString(d, "a") == one);
    PyObject *ka = S("a");
    CHECK(PyDict_GetItem(d, ka) == one);
    CHECK(PyDict_GetItemWithError(d, ka) == one);
    CHECK_EQ_INT(PyDict_Contains(d, ka), 1);
    CHECK(PyDict_GetItemString(d, "zz") == NULL);
    CHECK_NO_EXC();
    PyObject *kz = S("zz");
    CHECK(PyDict_GetItem(d, kz) == NULL);
    CHECK_NO_EXC();
    CHECK(PyDict_GetItemWithError(d, kz) == NULL);
    CHECK_NO_EXC();
    CHECK_EQ_INT(PyDict_Contains(d, kz), 0);

    /* Replacing keeps the position. */
    CHECK_EQ_INT(PyDict_SetItem(d, ka, two), 0);
    CHECK_REPR(d, "{'a': 2, 'b': 'x', 'c': 2}");

    /* Deleting, then re-adding, moves the key to the end. */
    CHECK_EQ_INT(PyDict_DelItem(d, ka), 0);
    CHECK_REPR(d, "{'b': 'x', 'c': 2}");
    CHECK(PyDict_GetItemString(d, "c") == two);
    CHECK_EQ_INT(PyDict_SetItemString(d, "a", one), 0);
    CHECK_REPR(d, "{'b': 'x', 'c': 2, 'a': 1}");
    CHECK_EQ_INT(PyDict_DelItemString(d, "c"), 0);
    CHECK_REPR(d, "{'b': 'x', 'a': 1}");
    CHECK(PyDict_GetItemString(d, "a") == one);
    CHECK(PyDict_GetItemString(d, "b") == x);
    CHECK(PyDict_GetItemString(d, "c") == NULL);

    /* Missing keys. */
    CHECK_EQ_INT(PyDict_DelItem(d, kz), -1);
    CHECK_EXC(PyExc_KeyError, "'zz'");
    CHECK_EQ_INT(PyDict_DelItemString(d, "c"), -1);
    CHECK_EXC(PyExc_KeyError, "'c'");
    CHECK_EQ_INT(PyDict_DelItem(d, one), -1);
    CHECK_EXC(PyExc_KeyError, "1");

    /* PyDict_Next: insertion order, borrowed references, NULL outputs allowed. */
    PyDict_SetItemString(d, "z", Py_None);
    const char *order[] = {"b", "a", "z"};
    Py_ssize_t pos = 0;
    PyObject *k, *v;
    int i = 0;
    while (PyDict_Next(d, &pos, &k, &v)) {
        CHECK(i < 3);
        if (i < 3) CHECK_STR(PyUnicode_AsUTF8(k), order[i]);
        CHECK(PyDict_GetItem(d, k) == v);
        i++;
    }
    CHECK_EQ_INT(i, 3);
    CHECK_EQ_INT(PyDict_Next(d, &pos, &k, &v), 0); /* stays at the end */
    pos = 0;
    i = 0;
    while (PyDict_Next(d, &pos, NULL, NULL)) i++;
    CHECK_EQ_INT(i, 3);
    pos = 0;
    CHECK_EQ_INT(PyDict_Next(d, &pos, NULL, &v), 1);
    CHECK(v == x);
    pos = -5;
    CHECK_EQ_INT(PyDict_Next(d, &pos, &k, &v), 0);
    CHECK_NO_EXC();

    /* int keys compare by value, and True == 1 as in Python. */
    PyObject *d2 = PyDict_New();
    PyObject *k1 = PyLong_FromLong(1), *k1b = PyLong_FromLong(1);
    PyDict_SetItem(d2, k1, x);
    CHECK(PyDict_GetItem(d2, k1b) == x);
    PyDict_SetItem(d2, Py_True, Py_None);
    CHECK_EQ_INT(PyDict_Size(d2), 1);
    CHECK_REPR(d2, "{1: None}");
    PyDict_SetItem(d2, Py_None, one);
    CHECK(PyDict_GetItem(d2, Py_None) == one);
    CHECK_REPR(d2, "{1: None, None: 1}");
    /* str and int keys do not mix. */
    PyObject *s1 = S("1");
    CHECK(PyDict_GetItem(d2, s1) == NULL);
    Py_DECREF(s1);

    /* dict(d2) copies; dict() is empty. */
    PyObject *copy = PyObject_CallOneArg((PyObject *)&PyDict_Type, d2);
    CHECK(copy != NULL && copy != d2);
    CHECK_REPR(copy, "{1: None, None: 1}");
    Py_XDECREF(copy);
    copy = PyObject_CallNoArgs((PyObject *)&PyDict_Type);
    CHECK_REPR(copy, "{}");
    Py_XDECREF(copy);
    Py_DECREF(d2);
    Py_DECREF(k1);
    Py_DECREF(k1b);

    /* PyDict_GetItem / GetItemString leave a pending exception alone. */
    PyErr_SetString(PyExc_RuntimeError, "pending");
    CHECK(PyDict_GetItem(d, kz) == NULL);
    CHECK(PyDict_GetItemString(d, "zz") == NULL);
    CHECK(PyDict_GetItem(NULL, kz) == NULL);
    CHECK(PyDict_GetItemString(d, "a") == one);
    CHECK_EXC(PyExc_RuntimeError, "pending");

    /* Wrong types. */
    CHECK_EQ_INT(PyDict_SetItemString(one, "a", one), -1);
    CHECK_EXC(PyExc_TypeError, "PyDict_SetItemString: argument 'p' must be dict, not int");
    CHECK_EQ_INT(PyDict_DelItemString(one, "a"), -1);
    CHECK_EXC(PyExc_TypeError, "PyDict_DelItemString: argument 'p' must be dict, not int");
    CHECK_EQ_INT(PyDict_Check(one), 0);
    CHECK_EQ_INT(PyDict_CheckExact(one), 0);
    CHECK(PyDict_GetItem(one, ka) == NULL);
    CHECK_NO_EXC();
    CHECK(PyDict_GetItemWithError(one, ka) == NULL);
    CHECK_EXC(PyExc_TypeError, NULL);

    Py_DECREF(ka);
    Py_DECREF(kz);
    Py_DECREF(one);
    Py_DECREF(two);
    Py_DECREF(x);
    Py_DECREF(d);
}

static int cap_destroyed;
static void cap_destructor(PyObject *cap) {
    /* The capsule is intact while its destructor runs. */
    if (PyCapsule_GetPointer(cap, PyCapsule_GetName(cap)) != NULL) cap_destroyed++;
}
static void other_destructor(PyObject *cap) {
    (void)cap;
    cap_destroyed += 100;
}

static void test_capsule(void) {
    static int data = 5, other = 6, ctx = 7;
    PyObject *c = PyCapsule_New(&data, "mod.data", cap_destructor);
    CHECK(c != NULL);
    CHECK_EQ_INT(PyCapsule_CheckExact(c), 1);
    CHECK(PyCapsule_GetPointer(c, "mod.data") == &data);
    CHECK_STR(PyCapsule_GetName(c), "mod.data");
    CHECK(PyCapsule_GetContext(c) == NULL);
    CHECK_NO_EXC();
    CHECK(PyCapsule_GetDestructor(c) == cap_destructor);
    CHECK_EQ_INT(PyCapsule_IsValid(c, "mod.data"), 1);
    CHECK_EQ_INT(PyCapsule_IsValid(c, "mod.other"), 0);
    CHECK_EQ_INT(PyCapsule_IsValid(c, NULL), 0);
    CHECK_NO_EXC();
    CHECK_EQ_INT(PyObject_IsTrue(c), 1);

    /* The name compares by content, not by pointer. */
    char name_copy[] = "mod.data";
    CHECK(PyCapsule_GetPointer(c, name_copy) == &data);
    CHECK(PyCapsule_GetPointer(c, "mod.other") == NULL);
    CHECK_EXC(PyExc_ValueError, "PyCapsule_GetPointer called with incorrect name");
    CHECK(PyCapsule_GetPointer(c, NULL) == NULL);
    CHECK_EXC(PyExc_ValueError, "PyCapsule_GetPointer called with incorrect name");

    /* repr */
    PyObject *r = PyObject_Repr(c);
    const char *rs = r ? PyUnicode_AsUTF8(r) : "";
    CHECK(strncmp(rs, "<capsule object \"mod.data\" at 0x", 32) == 0);
    CHECK(rs[strlen(rs) - 1] == '>');
    Py_XDECREF(r);

    /* Setters. */
    CHECK_EQ_INT(PyCapsule_SetPointer(c, &other), 0);
    CHECK(PyCapsule_GetPointer(c, "mod.data") == &other);
    CHECK_EQ_INT(PyCapsule_SetPointer(c, NULL), -1);
    CHECK_EXC(PyExc_ValueError, "PyCapsule_SetPointer called with null pointer");
    CHECK(PyCapsule_GetPointer(c, "mod.data") == &other);
    CHECK_EQ_INT(PyCapsule_SetContext(c, &ctx), 0);
    CHECK(PyCapsule_GetContext(c) == &ctx);
    CHECK_EQ_INT(PyCapsule_SetContext(c, NULL), 0);
    CHECK(PyCapsule_GetContext(c) == NULL);
    CHECK_NO_EXC();
    CHECK_EQ_INT(PyCapsule_SetName(c, NULL), 0);
    CHECK(PyCapsule_GetName(c) == NULL);
    CHECK_NO_EXC();
    CHECK(PyCapsule_GetPointer(c, NULL) == &other);
    CHECK_EQ_INT(PyCapsule_IsValid(c, NULL), 1);
    r = PyObject_Repr(c);
    rs = r ? PyUnicode_AsUTF8(r) : "";
    CHECK(strncmp(rs, "<capsule object NULL at 0x", 26) == 0);
    Py_XDECREF(r);
    CHECK_EQ_INT(PyCapsule_SetName(c, "mod.data"), 0);

    /* Replacing the destructor: only the new one runs. */
    CHECK_EQ_INT(PyCapsule_SetDestructor(c, other_destructor), 0);
    CHECK(PyCapsule_GetDestructor(c) == other_destructor);
    CHECK_EQ_INT(PyCapsule_SetDestructor(c, NULL), 0);
    CHECK(PyCapsule_GetDestructor(c) == NULL);
    CHECK_NO_EXC();
    CHECK_EQ_INT(PyCapsule_SetDestructor(c, cap_destructor), 0);
    cap_destroyed = 0;
    Py_DECREF(c);
    CHECK_EQ_INT(cap_destroyed, 1);

    /* Without a destructor. */
    c = PyCapsule_New(&data, NULL, NULL);
    CHECK(c != NULL);
    CHECK(PyCapsule_GetName(c) == NULL);
    CHECK(PyCapsule_GetDestructor(c) == NULL);
    CHECK_NO_EXC();
    Py_DECREF(c);

    /* Errors. */
    CHECK(PyCapsule_New(NULL, "x", NULL) == NULL);
    CHECK_EXC(PyExc_ValueError, "PyCapsule_New called with null pointer");
    PyObject *i = PyLong_FromLong(1);
    CHECK_EQ_INT(PyCapsule_CheckExact(i), 0);
    CHECK_EQ_INT(PyCapsule_IsValid(i, NULL), 0);
    CHECK_NO_EXC();
    CHECK(PyCapsule_GetPointer(i, NULL) == NULL);
    CHECK_EXC(PyExc_TypeError, NULL);
    Py_DECREF(i);
}

static void test_generic(void) {
    /* repr/str of types. */
    CHECK_REPR((PyObject *)&PyLong_Type, "<class 'int'>");
    CHECK_REPR((PyObject *)&PyType_Type, "<class 'type'>");
    CHECK_REPR((PyObject *)&PyBaseObject_Type, "<class 'object'>");
    CHECK_STR_OF((PyObject *)&PyUnicode_Type, "<class 'str'>");
    CHECK_REPR((PyObject *)&PyBool_Type, "<class 'bool'>");
    CHECK_REPR((PyObject *)&_PyNone_Type, "<class 'NoneType'>");
    CHECK_REPR((PyObject *)&PyCapsule_Type, "<class 'PyCapsule'>");
    CHECK_REPR((PyObject *)&PyCFunction_Type, "<class 'builtin_function_or_method'>");
    CHECK_EQ_INT(PyObject_IsTrue((PyObject *)&PyLong_Type), 1);

    /* Types that cannot be instantiated from C. */
    CHECK(PyObject_CallNoArgs((PyObject *)&PyCapsule_Type) == NULL);
    CHECK_EXC(PyExc_TypeError, "cannot create 'PyCapsule' instances");
    CHECK(PyObject_CallNoArgs((PyObject *)&_PyNone_Type) == NULL);
    CHECK_EXC(PyExc_TypeError, "cannot create 'NoneType' instances");

    /* NULL. */
    CHECK(PyObject_Repr(NULL) == NULL);
    CHECK_EXC(PyExc_SystemError, NULL);
    CHECK(PyObject_Str(NULL) == NULL);
    CHECK_EXC(PyExc_SystemError, NULL);
    CHECK_EQ_INT(PyObject_IsTrue(NULL), -1);
    CHECK_EXC(PyExc_SystemError, NULL);
    CHECK_EQ_INT(PyObject_Not(NULL), -1);
    CHECK_EXC(PyExc_SystemError, NULL);
}

/* Reference cycles print as CPython's {...} / (...); deep nesting is a RecursionError, not a
 * stack overflow. */
static void test_recursive_repr(void) {
    PyObject *d = PyDict_New();
    PyDict_SetItemString(d, "self", d);
    CHECK_REPR(d, "{'self': {...}}");
    CHECK_STR_OF(d, "{'self': {...}}");
    PyDict_DelItemString(d, "self"); /* break the cycle */
    Py_DECREF(d);

    PyObject *d2 = PyDict_New();
    PyObject *t = PyTuple_New(1);
    PyTuple_SetItem(t, 0, Py_NewRef(d2));
    PyDict_SetItemString(d2, "t", t);
    CHECK_REPR(t, "({'t': (...)},)");
    CHECK_REPR(d2, "{'t': ({...},)}");
    /* The same object twice (not a cycle) prints in full. */
    PyDict_SetItemString(d2, "u", Py_None);
    PyObject *pair = PyTuple_New(2);
    PyTuple_SetItem(pair, 0, PyLong_FromLong(1));
    PyTuple_SetItem(pair, 1, PyLong_FromLong(2));
    PyObject *twice = PyTuple_New(2);
    PyTuple_SetItem(twice, 0, Py_NewRef(pair));
    PyTuple_SetItem(twice, 1, Py_NewRef(pair));
    CHECK_REPR(twice, "((1, 2), (1, 2))");
    Py_DECREF(twice);
    Py_DECREF(pair);
    PyDict_DelItemString(d2, "t");
    Py_DECREF(t);
    Py_DECREF(d2);

    /* Deep nesting. */
    PyObject *o = PyLong_FromLong(0);
    for (int i = 0; i < 40; i++) {
        PyObject *n = PyTuple_New(1);
        PyTuple_SetItem(n, 0, o);
        o = n;
    }
    PyObject *r = PyObject_Repr(o);
    CHECK(r != NULL);
    CHECK_NO_EXC();
    Py_XDECREF(r);
    for (int i = 0; i < 200; i++) {
        PyObject *n = PyTuple_New(1);
        PyTuple_SetItem(n, 0, o);
        o = n;
    }
    CHECK(PyObject_Repr(o) == NULL);
    CHECK_EXC(PyExc_RecursionError,
              "maximum recursion depth exceeded while getting the repr of an object");
    Py_DECREF(o);

    /* An exception that is its own argument. */
    PyObject *e = PyObject_CallNoArgs(PyExc_ValueError);
    PyObject *args = PyTuple_New(1);
    PyTuple_SetItem(args, 0, Py_NewRef(e));
    PyObject_SetAttrString(e, "args", args);
    Py_DECREF(args);
    CHECK(PyObject_Repr(e) == NULL);
    CHECK_EXC(PyExc_RecursionError,
              "maximum recursion depth exceeded while getting the repr of an object");
    CHECK(PyObject_Str(e) == NULL);
    CHECK_EXC(PyExc_RecursionError,
              "maximum recursion depth exceeded while getting the str of an object");
    PyObject *empty = PyTuple_New(0);
    PyObject_SetAttrString(e, "args", empty); /* break the cycle */
    Py_DECREF(empty);
    CHECK_REPR(e, "ValueError()");
    Py_DECREF(e);
}

static unsigned long ident_in_thread;
static void *get_ident(void *arg) {
    (void)arg;
    ident_in_thread = PyThread_get_thread_ident();
    return NULL;
}

static void test_mem_thread(void) {
    char *p = PyMem_Malloc(0);
    CHECK(p != NULL);
    PyMem_Free(p);
    p = PyMem_Malloc(100);
    CHECK(p != NULL);
    memset(p, 'x', 100);
    PyMem_Free(p);
    int *z = PyMem_Calloc(10, sizeof(int));
    CHECK(z != NULL);
    int all_zero = 1;
    for (int i = 0; i < 10; i++) all_zero &= (z[i] == 0);
    CHECK(all_zero);
    PyMem_Free(z);
    z = PyMem_Calloc(0, 0);
    CHECK(z != NULL);
    PyMem_Free(z);
    CHECK(PyMem_Calloc(SIZE_MAX / 2, 4) == NULL);
    CHECK_EXC(PyExc_MemoryError, NULL);
    PyMem_Free(NULL);

    unsigned long me = PyThread_get_thread_ident();
    CHECK(me == PyThread_get_thread_ident());
    pthread_t t;
    pthread_create(&t, NULL, get_ident, NULL);
    pthread_join(t, NULL);
    CHECK(ident_in_thread != 0 && ident_in_thread != me);
}

int main(void) {
    test_int();
    test_bool();
    test_str();
    test_bytes();
    test_tuple();
    test_dict();
    test_capsule();
    test_generic();
    test_recursive_repr();
    test_mem_thread();
    CHECK_NO_EXC();
    return check_report();
}
