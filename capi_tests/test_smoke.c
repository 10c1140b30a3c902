/* test_smoke.c: a quick pass over the object model's basics (ints, strs, tuples, dicts,
 * exceptions), checking values, reference ownership and error reporting. The detailed
 * per-area tests live in the other test_*.c files. */
#include <limits.h>

#include "check.h"

static void test_ints(void) {
    PyObject *n = PyLong_FromLong(-12345);
    CHECK(n != NULL);
    CHECK(PyLong_Check(n));
    CHECK(PyLong_CheckExact(n));
    CHECK_EQ_INT(PyLong_AsLong(n), -12345);
    CHECK_EQ_INT(PyLong_AsLongLong(n), -12345);
    CHECK_OBJ_STR(n, "-12345");
    CHECK_EQ_INT(PyObject_IsTrue(n), 1);
    CHECK_NO_EXC();

    /* A negative value does not fit an unsigned long. */
    CHECK_EQ_INT(PyLong_AsUnsignedLong(n) == (unsigned long)-1, 1);
    CHECK_EXC(PyExc_OverflowError, NULL);

    /* -1 is also the error value: PyErr_Occurred tells them apart. */
    PyObject *m1 = PyLong_FromLong(-1);
    CHECK_EQ_INT(PyLong_AsLong(m1), -1);
    CHECK_NO_EXC();
    Py_DECREF(m1);

    PyObject *zero = PyLong_FromLong(0);
    CHECK_EQ_INT(PyObject_IsTrue(zero), 0);
    CHECK_EQ_INT(PyObject_Not(zero), 1);
    Py_DECREF(zero);

    CHECK(PyLong_FromUnsignedLong(ULONG_MAX) == NULL);
    CHECK_EXC(PyExc_OverflowError, NULL);

    /* Wrong types and NULL are reported, not crashed on. */
    PyObject *s = PyUnicode_FromString("7");
    CHECK_EQ_INT(PyLong_AsLong(s), -1);
    CHECK_EXC(PyExc_TypeError, NULL);
    CHECK_EQ_INT(PyLong_AsLong(NULL), -1);
    CHECK(PyErr_Occurred() != NULL);
    PyErr_Clear();
    Py_DECREF(s);

    /* bool is an int subtype with two shared instances. */
    PyObject *t = PyBool_FromLong(5);
    CHECK(t == Py_True);
    CHECK(PyBool_Check(t));
    CHECK(PyLong_Check(t) && !PyLong_CheckExact(t));
    CHECK_OBJ_STR(t, "True");
    Py_DECREF(t);

    /* A fresh object has one reference, owned by the caller. */
    CHECK_EQ_INT(Py_REFCNT(n), 1);
    Py_INCREF(n);
    CHECK_EQ_INT(Py_REFCNT(n), 2);
    Py_DECREF(n);
    Py_DECREF(n);
}

static void test_strings(void) {
    PyObject *s = PyUnicode_FromString("gr\xc3\xbc\xc3\x9f" "e"); /* "grüße" */
    CHECK(s != NULL);
    CHECK(PyUnicode_Check(s));
    CHECK_EQ_INT(PyUnicode_GetLength(s), 5);
    Py_ssize_t size = 0;
    CHECK_STR(PyUnicode_AsUTF8AndSize(s, &size), "gr\xc3\xbc\xc3\x9f" "e");
    CHECK_EQ_INT(size, 7);
    CHECK_EQ_INT(PyUnicode_CompareWithASCIIString(s, "gr\xc3\xbc\xc3\x9f" "e"), 0);
    CHECK(PyUnicode_CompareWithASCIIString(s, "zzz") < 0);

    PyObject *r = PyObject_Repr(s);
    CHECK_STR(r ? PyUnicode_AsUTF8(r) : NULL, "'gr\xc3\xbc\xc3\x9f" "e'");
    Py_XDECREF(r);
    Py_DECREF(s);

    PyObject *part = PyUnicode_FromStringAndSize("tasklet", 4);
    CHECK_OBJ_STR(part, "task");
    Py_XDECREF(part);

    CHECK(PyUnicode_FromString("\xff\xfe") == NULL);
    CHECK_EXC(PyExc_ValueError, NULL);
    CHECK(PyUnicode_FromString(NULL) == NULL);
    CHECK_EXC(PyExc_SystemError, NULL);

    PyObject *n = PyLong_FromLong(3);
    CHECK(PyUnicode_AsUTF8(n) == NULL);
    CHECK_EXC(PyExc_TypeError, NULL);
    Py_DECREF(n);
}

static void test_tuples(void) {
    PyObject *t = PyTuple_New(3);
    CHECK(t != NULL);
    PyObject *item = PyLong_FromLong(100001); /* not a small int a cache might share */
    Py_INCREF(item); /* keep our own reference: SetItem steals one */
    CHECK_EQ_INT(PyTuple_SetItem(t, 0, item), 0);
    CHECK_EQ_INT(Py_REFCNT(item), 2);
    CHECK_EQ_INT(PyTuple_SetItem(t, 1, PyUnicode_FromString("two")), 0);
    CHECK_EQ_INT(PyTuple_SetItem(t, 2, Py_NewRef(Py_None)), 0);
    CHECK(PyTuple_Check(t));
    CHECK_EQ_INT(PyTuple_Size(t), 3);
    CHECK(PyTuple_GetItem(t, 0) == item); /* borrowed: same object, no new reference */
    CHECK_EQ_INT(Py_REFCNT(item), 2);
    CHECK_OBJ_STR(t, "(100001, 'two', None)");

    CHECK(PyTuple_GetItem(t, 3) == NULL);
    CHECK_EXC(PyExc_IndexError, NULL);
    CHECK(PyTuple_GetItem(t, -1) == NULL);
    CHECK_EXC(PyExc_IndexError, NULL);

    Py_DECREF(t); /* releases the tuple's reference to item */
    CHECK_EQ_INT(Py_REFCNT(item), 1);
    Py_DECREF(item);

    PyObject *one = PyTuple_New(1);
    CHECK_EQ_INT(PyTuple_SetItem(one, 0, PyLong_FromLong(9)), 0);
    CHECK_OBJ_STR(one, "(9,)");
    Py_DECREF(one);

    CHECK(PyTuple_New(-1) == NULL);
    CHECK(PyErr_Occurred() != NULL);
    PyErr_Clear();
    CHECK_EQ_INT(PyTuple_Size(NULL), -1);
    CHECK(PyErr_Occurred() != NULL);
    PyErr_Clear();
}

static void test_dicts(void) {
    PyObject *d = PyDict_New();
    CHECK(d != NULL && PyDict_Check(d));
    PyObject *v = PyLong_FromLong(65536);
    CHECK_EQ_INT(PyDict_SetItemString(d, "stack_kb", v), 0);
    CHECK_EQ_INT(Py_REFCNT(v), 2); /* SetItem does not steal */
    PyObject *key = PyUnicode_FromString("stack_kb");
    CHECK(PyDict_GetItem(d, key) == v);
    CHECK_EQ_INT(PyDict_Contains(d, key), 1);
    CHECK(PyDict_GetItemString(d, "absent") == NULL);
    CHECK_NO_EXC();
    CHECK_EQ_INT(PyDict_Size(d), 1);
    CHECK_OBJ_STR(d, "{'stack_kb': 65536}");
    CHECK_EQ_INT(PyDict_DelItem(d, key), 0);
    CHECK_EQ_INT(Py_REFCNT(v), 1);
    CHECK_EQ_INT(PyDict_DelItem(d, key), -1);
    CHECK_EXC(PyExc_KeyError, NULL);
    CHECK_EQ_INT(PyDict_Size(d), 0);
    Py_DECREF(key);
    Py_DECREF(v);
    Py_DECREF(d);
}

static PyObject *raise_value_error(PyObject *self, PyObject *arg) {
    (void)self;
    (void)arg;
    PyErr_SetString(PyExc_ValueError, "bad value");
    return NULL;
}
static PyMethodDef raise_def = {"raise_value_error", raise_value_error, METH_O, NULL};

static void test_exceptions(void) {
    CHECK_NO_EXC();
    PyErr_SetString(PyExc_KeyError, "k");
    CHECK(PyErr_Occurred() == PyExc_KeyError);
    CHECK(PyErr_ExceptionMatches(PyExc_LookupError)); /* a subclass matches its base */
    CHECK(!PyErr_ExceptionMatches(PyExc_TypeError));

    PyObject *type = NULL, *value = NULL, *tb = NULL;
    PyErr_Fetch(&type, &value, &tb);
    CHECK_NO_EXC();
    CHECK(type == PyExc_KeyError);
    CHECK(value != NULL && PyExceptionInstance_Check(value));
    CHECK(PyErr_GivenExceptionMatches(value, PyExc_Exception));
    PyErr_Restore(type, value, tb); /* steals all three */
    CHECK_EXC(PyExc_KeyError, NULL);

    /* An exception raised by a C function comes out of PyObject_Call. */
    PyObject *f = PyCFunction_New(&raise_def, NULL);
    CHECK(f != NULL);
    PyObject *r = PyObject_CallOneArg(f, Py_None);
    CHECK(r == NULL);
    CHECK_EXC(PyExc_ValueError, "bad value");
    Py_XDECREF(f);

    /* A new exception class derives from Exception. */
    PyObject *cls = PyErr_NewException("smoke.SmokeError", NULL, NULL);
    CHECK(cls != NULL && PyExceptionClass_Check(cls));
    PyErr_SetString(cls, "where there's smoke");
    PyObject *exc = PyErr_GetRaisedException();
    CHECK_NO_EXC();
    CHECK(exc != NULL && Py_TYPE(exc) == (PyTypeObject *)cls);
    CHECK_OBJ_STR(exc, "where there's smoke");
    CHECK(PyErr_GivenExceptionMatches(exc, PyExc_Exception));
    CHECK(!PyErr_GivenExceptionMatches(exc, PyExc_TypeError));
    PyErr_SetRaisedException(exc); /* steals */
    CHECK_EXC(cls, "where there's smoke");
    Py_XDECREF(cls);

    PyErr_Clear();
    CHECK(PyErr_GetRaisedException() == NULL);
}

int main(void) {
    test_ints();
    test_strings();
    test_tuples();
    test_dicts();
    test_exceptions();
    CHECK_NO_EXC();
    return check_report();
}
