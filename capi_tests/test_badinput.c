/* test_badinput.c: every exported function with bad input.
 *
 * Each function is called with NULL for each pointer argument and with an object of the
 * wrong type where a specific type is expected. It must not crash, must return its
 * documented failure value, and must leave a clear exception naming the function and the
 * argument -- except the functions documented as never failing (the Check functions,
 * PyDict_GetItem, the HasAttr functions, ...), which must give their documented result and
 * leave no exception. Where CPython has its own message for a wrong type (e.g. "'str' object
 * cannot be interpreted as an integer"), that message is expected instead.
 *
 * capi_tests/badinput_coverage.py checks that every function declared in stackless.h is
 * called here or exempted there with a reason. Functions that steal a reference are given
 * fresh objects, so valgrind's leak check also verifies that they steal on failure.
 */
#include <limits.h>
#include <stdint.h>

#include "check.h"

/* The call returns `fail` and leaves an exception of type `exc` with the text `msg`. */
#define EXPECT_FAIL(call, fail, exc, msg) \
    do { \
        CHECK((call) == (fail)); \
        CHECK_EXC(exc, msg); \
    } while (0)

/* A void call leaves an exception of type `exc` with the text `msg`. */
#define EXPECT_EXC(call, exc, msg) \
    do { \
        call; \
        CHECK_EXC(exc, msg); \
    } while (0)

/* A call documented as never failing returns `want` and leaves no exception. */
#define EXPECT_QUIET(call, want) \
    do { \
        CHECK((call) == (want)); \
        CHECK_NO_EXC(); \
    } while (0)

#define NULLMSG(f, a) f ": argument '" a "' must not be NULL"
#define TYPEMSG(f, a, want, got) f ": argument '" a "' must be " want ", not " got

/* Objects of assorted types to pass where another type is expected. */
static PyObject *an_int, *a_str, *a_dict, *a_tuple, *a_capsule, *an_exc;
/* A fresh unbound tasklet and a fresh channel (never run, never used to switch). */
static PyTaskletObject *a_tasklet;
static PyChannelObject *a_channel;
static int capsule_target;

static PyObject *f_noargs(PyObject *self, PyObject *unused) {
    (void)unused;
    (void)self;
    Py_RETURN_NONE;
}
static PyMethodDef def_noargs = {"f", f_noargs, METH_NOARGS, NULL};

static void destructor(PyObject *cap) { (void)cap; }

static void test_callables(void) {
    PyObject *f = PyCFunction_New(&def_noargs, NULL);

    EXPECT_FAIL(PyCFunction_NewEx(NULL, NULL, NULL), NULL, PyExc_SystemError,
                NULLMSG("PyCFunction_NewEx", "ml"));
    EXPECT_FAIL(PyCFunction_New(NULL, an_int), NULL, PyExc_SystemError,
                NULLMSG("PyCFunction_New", "ml"));
    EXPECT_QUIET(PyCFunction_Check(NULL), 0);
    EXPECT_QUIET(PyCFunction_Check(an_int), 0);
    EXPECT_QUIET(PyCallable_Check(NULL), 0);
    EXPECT_QUIET(PyCallable_Check(a_str), 0);

    EXPECT_FAIL(PyObject_Call(NULL, a_tuple, NULL), NULL, PyExc_SystemError,
                NULLMSG("PyObject_Call", "callable"));
    EXPECT_FAIL(PyObject_Call(f, NULL, NULL), NULL, PyExc_SystemError,
                NULLMSG("PyObject_Call", "args"));
    EXPECT_FAIL(PyObject_Call(f, a_dict, NULL), NULL, PyExc_TypeError,
                TYPEMSG("PyObject_Call", "args", "tuple", "dict"));
    EXPECT_FAIL(PyObject_Call(f, a_tuple, a_tuple), NULL, PyExc_TypeError,
                TYPEMSG("PyObject_Call", "kwargs", "dict", "tuple"));
    EXPECT_FAIL(PyObject_Call(an_int, a_tuple, NULL), NULL, PyExc_TypeError,
                "'int' object is not callable");
    EXPECT_FAIL(PyObject_CallObject(NULL, NULL), NULL, PyExc_SystemError,
                NULLMSG("PyObject_CallObject", "callable"));
    EXPECT_FAIL(PyObject_CallObject(f, an_int), NULL, PyExc_TypeError,
                TYPEMSG("PyObject_CallObject", "args", "tuple", "int"));
    EXPECT_FAIL(PyObject_CallNoArgs(NULL), NULL, PyExc_SystemError,
                NULLMSG("PyObject_CallNoArgs", "callable"));
    EXPECT_FAIL(PyObject_CallNoArgs(a_dict), NULL, PyExc_TypeError,
                "'dict' object is not callable");
    EXPECT_FAIL(PyObject_CallOneArg(NULL, an_int), NULL, PyExc_SystemError,
                NULLMSG("PyObject_CallOneArg", "callable"));
    EXPECT_FAIL(PyObject_CallOneArg(f, NULL), NULL, PyExc_SystemError,
                NULLMSG("PyObject_CallOneArg", "arg"));
    EXPECT_FAIL(PyObject_CallOneArg(a_capsule, an_int), NULL, PyExc_TypeError,
                "'PyCapsule' object is not callable");
    Py_DECREF(f);
}

static void test_capsules(void) {
    EXPECT_FAIL(PyCapsule_New(NULL, "n", NULL), NULL, PyExc_ValueError,
                "PyCapsule_New called with null pointer");

    EXPECT_FAIL(PyCapsule_GetPointer(NULL, NULL), NULL, PyExc_SystemError,
                NULLMSG("PyCapsule_GetPointer", "capsule"));
    EXPECT_FAIL(PyCapsule_GetPointer(an_int, NULL), NULL, PyExc_TypeError,
                TYPEMSG("PyCapsule_GetPointer", "capsule", "PyCapsule", "int"));
    EXPECT_FAIL(PyCapsule_GetPointer(a_capsule, "other"), NULL, PyExc_ValueError,
                "PyCapsule_GetPointer called with incorrect name");
    EXPECT_FAIL(PyCapsule_GetName(NULL), NULL, PyExc_SystemError,
                NULLMSG("PyCapsule_GetName", "capsule"));
    EXPECT_FAIL(PyCapsule_GetName(a_str), NULL, PyExc_TypeError,
                TYPEMSG("PyCapsule_GetName", "capsule", "PyCapsule", "str"));
    EXPECT_FAIL(PyCapsule_GetContext(NULL), NULL, PyExc_SystemError,
                NULLMSG("PyCapsule_GetContext", "capsule"));
    EXPECT_FAIL(PyCapsule_GetContext(Py_None), NULL, PyExc_TypeError,
                TYPEMSG("PyCapsule_GetContext", "capsule", "PyCapsule", "NoneType"));
    EXPECT_FAIL(PyCapsule_GetDestructor(NULL), NULL, PyExc_SystemError,
                NULLMSG("PyCapsule_GetDestructor", "capsule"));
    EXPECT_FAIL(PyCapsule_GetDestructor(an_int), NULL, PyExc_TypeError,
                TYPEMSG("PyCapsule_GetDestructor", "capsule", "PyCapsule", "int"));

    EXPECT_FAIL(PyCapsule_SetPointer(NULL, &capsule_target), -1, PyExc_SystemError,
                NULLMSG("PyCapsule_SetPointer", "capsule"));
    EXPECT_FAIL(PyCapsule_SetPointer(an_int, &capsule_target), -1, PyExc_TypeError,
                TYPEMSG("PyCapsule_SetPointer", "capsule", "PyCapsule", "int"));
    EXPECT_FAIL(PyCapsule_SetPointer(a_capsule, NULL), -1, PyExc_ValueError,
                "PyCapsule_SetPointer called with null pointer");
    EXPECT_FAIL(PyCapsule_SetName(NULL, "n"), -1, PyExc_SystemError,
                NULLMSG("PyCapsule_SetName", "capsule"));
    EXPECT_FAIL(PyCapsule_SetName(a_dict, "n"), -1, PyExc_TypeError,
                TYPEMSG("PyCapsule_SetName", "capsule", "PyCapsule", "dict"));
    EXPECT_FAIL(PyCapsule_SetContext(NULL, NULL), -1, PyExc_SystemError,
                NULLMSG("PyCapsule_SetContext", "capsule"));
    EXPECT_FAIL(PyCapsule_SetContext(a_tuple, NULL), -1, PyExc_TypeError,
                TYPEMSG("PyCapsule_SetContext", "capsule", "PyCapsule", "tuple"));
    EXPECT_FAIL(PyCapsule_SetDestructor(NULL, destructor), -1, PyExc_SystemError,
                NULLMSG("PyCapsule_SetDestructor", "capsule"));
    EXPECT_FAIL(PyCapsule_SetDestructor(an_exc, destructor), -1, PyExc_TypeError,
                TYPEMSG("PyCapsule_SetDestructor", "capsule", "PyCapsule", "ValueError"));

    /* Never fail. */
    EXPECT_QUIET(PyCapsule_IsValid(NULL, NULL), 0);
    EXPECT_QUIET(PyCapsule_IsValid(an_int, NULL), 0);
    EXPECT_QUIET(PyCapsule_IsValid(a_capsule, NULL), 0);
    EXPECT_QUIET(PyCapsule_CheckExact(NULL), 0);
    EXPECT_QUIET(PyCapsule_CheckExact(an_int), 0);

    /* The capsule is unchanged by the failed calls. */
    CHECK(PyCapsule_GetPointer(a_capsule, "bad.cap") == &capsule_target);
    CHECK_STR(PyCapsule_GetName(a_capsule), "bad.cap");
}

static void test_tuples(void) {
    EXPECT_FAIL(PyTuple_New(-1), NULL, PyExc_SystemError, "PyTuple_New: negative size");
    EXPECT_FAIL(PyTuple_New(PTRDIFF_MAX), NULL, PyExc_MemoryError, "");

    EXPECT_FAIL(PyTuple_GetItem(NULL, 0), NULL, PyExc_SystemError,
                NULLMSG("PyTuple_GetItem", "p"));
    EXPECT_FAIL(PyTuple_GetItem(a_dict, 0), NULL, PyExc_TypeError,
                TYPEMSG("PyTuple_GetItem", "p", "tuple", "dict"));
    EXPECT_FAIL(PyTuple_GetItem(a_tuple, 5), NULL, PyExc_IndexError, "tuple index out of range");
    /* Steals the item even when it fails (fresh objects: valgrind checks the release). */
    EXPECT_FAIL(PyTuple_SetItem(NULL, 0, PyLong_FromLong(1000)), -1, PyExc_SystemError,
                NULLMSG("PyTuple_SetItem", "p"));
    EXPECT_FAIL(PyTuple_SetItem(an_int, 0, PyLong_FromLong(1000)), -1, PyExc_TypeError,
                TYPEMSG("PyTuple_SetItem", "p", "tuple", "int"));
    EXPECT_FAIL(PyTuple_SetItem((PyObject *)&PyTuple_Type, 0, PyLong_FromLong(1000)), -1,
                PyExc_TypeError, TYPEMSG("PyTuple_SetItem", "p", "tuple", "type"));
    EXPECT_FAIL(PyTuple_SetItem(a_tuple, 0, PyLong_FromLong(1000)), -1, PyExc_SystemError,
                NULL); /* shared */
    EXPECT_FAIL(PyTuple_Size(NULL), -1, PyExc_SystemError, NULLMSG("PyTuple_Size", "p"));
    EXPECT_FAIL(PyTuple_Size(Py_None), -1, PyExc_TypeError,
                TYPEMSG("PyTuple_Size", "p", "tuple", "NoneType"));
    EXPECT_QUIET(PyTuple_Check(NULL), 0);
    EXPECT_QUIET(PyTuple_Check(a_dict), 0);
    EXPECT_QUIET(PyTuple_CheckExact(NULL), 0);
    EXPECT_QUIET(PyTuple_CheckExact(a_dict), 0);
}

static void test_dicts(void) {
    PyObject *d = PyDict_New();
    PyObject *k = PyUnicode_FromString("k");

    EXPECT_FAIL(PyDict_SetItem(NULL, k, an_int), -1, PyExc_SystemError,
                NULLMSG("PyDict_SetItem", "p"));
    EXPECT_FAIL(PyDict_SetItem(a_tuple, k, an_int), -1, PyExc_TypeError,
                TYPEMSG("PyDict_SetItem", "p", "dict", "tuple"));
    EXPECT_FAIL(PyDict_SetItem(d, NULL, an_int), -1, PyExc_SystemError,
                NULLMSG("PyDict_SetItem", "key"));
    EXPECT_FAIL(PyDict_SetItem(d, k, NULL), -1, PyExc_SystemError,
                NULLMSG("PyDict_SetItem", "val"));
    EXPECT_FAIL(PyDict_SetItemString(NULL, "k", an_int), -1, PyExc_SystemError,
                NULLMSG("PyDict_SetItemString", "p"));
    EXPECT_FAIL(PyDict_SetItemString(an_int, "k", an_int), -1, PyExc_TypeError,
                TYPEMSG("PyDict_SetItemString", "p", "dict", "int"));
    EXPECT_FAIL(PyDict_SetItemString(d, NULL, an_int), -1, PyExc_SystemError,
                NULLMSG("PyDict_SetItemString", "key"));
    EXPECT_FAIL(PyDict_SetItemString(d, "k", NULL), -1, PyExc_SystemError,
                NULLMSG("PyDict_SetItemString", "val"));
    EXPECT_FAIL(PyDict_SetItemString(d, "\xff", an_int), -1, PyExc_ValueError,
                "PyDict_SetItemString: argument 'key' is not valid UTF-8");
    CHECK_EQ_INT(PyDict_Size(d), 0); /* nothing was stored */

    /* PyDict_GetItem and PyDict_GetItemString never fail. */
    EXPECT_QUIET(PyDict_GetItem(NULL, k), NULL);
    EXPECT_QUIET(PyDict_GetItem(d, NULL), NULL);
    EXPECT_QUIET(PyDict_GetItem(a_tuple, k), NULL);
    EXPECT_QUIET(PyDict_GetItemString(NULL, "k"), NULL);
    EXPECT_QUIET(PyDict_GetItemString(d, NULL), NULL);
    EXPECT_QUIET(PyDict_GetItemString(an_int, "k"), NULL);
    EXPECT_QUIET(PyDict_GetItemString(d, "\xff"), NULL);

    EXPECT_FAIL(PyDict_GetItemWithError(NULL, k), NULL, PyExc_SystemError,
                NULLMSG("PyDict_GetItemWithError", "p"));
    EXPECT_FAIL(PyDict_GetItemWithError(an_int, k), NULL, PyExc_TypeError,
                TYPEMSG("PyDict_GetItemWithError", "p", "dict", "int"));
    EXPECT_FAIL(PyDict_GetItemWithError(d, NULL), NULL, PyExc_SystemError,
                NULLMSG("PyDict_GetItemWithError", "key"));
    EXPECT_FAIL(PyDict_DelItem(NULL, k), -1, PyExc_SystemError, NULLMSG("PyDict_DelItem", "p"));
    EXPECT_FAIL(PyDict_DelItem(a_str, k), -1, PyExc_TypeError,
                TYPEMSG("PyDict_DelItem", "p", "dict", "str"));
    EXPECT_FAIL(PyDict_DelItem(d, NULL), -1, PyExc_SystemError,
                NULLMSG("PyDict_DelItem", "key"));
    EXPECT_FAIL(PyDict_DelItem(d, k), -1, PyExc_KeyError, "'k'");
    EXPECT_FAIL(PyDict_DelItemString(NULL, "k"), -1, PyExc_SystemError,
                NULLMSG("PyDict_DelItemString", "p"));
    EXPECT_FAIL(PyDict_DelItemString(a_str, "k"), -1, PyExc_TypeError,
                TYPEMSG("PyDict_DelItemString", "p", "dict", "str"));
    EXPECT_FAIL(PyDict_DelItemString(d, NULL), -1, PyExc_SystemError,
                NULLMSG("PyDict_DelItemString", "key"));
    EXPECT_FAIL(PyDict_Contains(NULL, k), -1, PyExc_SystemError,
                NULLMSG("PyDict_Contains", "p"));
    EXPECT_FAIL(PyDict_Contains(a_tuple, k), -1, PyExc_TypeError,
                TYPEMSG("PyDict_Contains", "p", "dict", "tuple"));
    EXPECT_FAIL(PyDict_Contains(d, NULL), -1, PyExc_SystemError,
                NULLMSG("PyDict_Contains", "key"));
    EXPECT_FAIL(PyDict_Size(NULL), -1, PyExc_SystemError, NULLMSG("PyDict_Size", "p"));
    EXPECT_FAIL(PyDict_Size(a_capsule), -1, PyExc_TypeError,
                TYPEMSG("PyDict_Size", "p", "dict", "PyCapsule"));

    Py_ssize_t pos = 0;
    PyObject *key, *value;
    EXPECT_FAIL(PyDict_Next(NULL, &pos, &key, &value), 0, PyExc_SystemError,
                NULLMSG("PyDict_Next", "p"));
    EXPECT_FAIL(PyDict_Next(a_tuple, &pos, &key, &value), 0, PyExc_TypeError,
                TYPEMSG("PyDict_Next", "p", "dict", "tuple"));
    EXPECT_FAIL(PyDict_Next(d, NULL, &key, &value), 0, PyExc_SystemError,
                NULLMSG("PyDict_Next", "ppos"));
    CHECK_EQ_INT(pos, 0);
    EXPECT_QUIET(PyDict_Next(d, &pos, NULL, NULL), 0); /* NULL outputs are allowed */

    EXPECT_QUIET(PyDict_Check(NULL), 0);
    EXPECT_QUIET(PyDict_Check(a_tuple), 0);
    EXPECT_QUIET(PyDict_CheckExact(NULL), 0);
    EXPECT_QUIET(PyDict_CheckExact(a_tuple), 0);

    Py_DECREF(k);
    Py_DECREF(d);
}

static void test_errors(void) {
    EXPECT_EXC(PyErr_SetString(NULL, "m"), PyExc_SystemError,
               NULLMSG("PyErr_SetString", "type"));
    EXPECT_EXC(PyErr_SetString(PyExc_ValueError, NULL), PyExc_SystemError,
               NULLMSG("PyErr_SetString", "message"));
    EXPECT_EXC(PyErr_SetString(an_int, "m"), PyExc_SystemError,
               "PyErr_SetString: exception 7 is not a BaseException subclass");
    EXPECT_EXC(PyErr_SetString(an_exc, "m"), PyExc_SystemError,
               "PyErr_SetString: exception ValueError('e') is not a BaseException subclass");
    EXPECT_EXC(PyErr_SetString((PyObject *)&PyLong_Type, "m"), PyExc_SystemError,
               "PyErr_SetString: exception <class 'int'> is not a BaseException subclass");
    EXPECT_EXC(PyErr_SetString(PyExc_ValueError, "\xff"), PyExc_ValueError,
               "PyErr_SetString: argument 'message' is not valid UTF-8");
    EXPECT_EXC(PyErr_SetObject(NULL, an_int), PyExc_SystemError,
               NULLMSG("PyErr_SetObject", "type"));
    EXPECT_EXC(PyErr_SetObject(a_str, NULL), PyExc_SystemError,
               "PyErr_SetObject: exception 's' is not a BaseException subclass");
    EXPECT_EXC(PyErr_SetNone(NULL), PyExc_SystemError, NULLMSG("PyErr_SetNone", "type"));
    EXPECT_EXC(PyErr_SetNone(Py_None), PyExc_SystemError,
               "PyErr_SetNone: exception None is not a BaseException subclass");

    PyObject *t = NULL, *v = NULL, *tb = NULL;
    EXPECT_EXC(PyErr_Fetch(NULL, &v, &tb), PyExc_SystemError, NULLMSG("PyErr_Fetch", "ptype"));
    EXPECT_EXC(PyErr_Fetch(&t, NULL, &tb), PyExc_SystemError, NULLMSG("PyErr_Fetch", "pvalue"));
    EXPECT_EXC(PyErr_Fetch(&t, &v, NULL), PyExc_SystemError,
               NULLMSG("PyErr_Fetch", "ptraceback"));
    CHECK(t == NULL && v == NULL && tb == NULL);
    /* Restore steals even what it rejects (fresh objects: valgrind checks the release). */
    EXPECT_EXC(PyErr_Restore(PyLong_FromLong(1000), PyLong_FromLong(1001), NULL),
               PyExc_SystemError, "PyErr_Restore: exception 1000 is not a BaseException subclass");
    EXPECT_EXC(PyErr_NormalizeException(NULL, &v, &tb), PyExc_SystemError,
               NULLMSG("PyErr_NormalizeException", "ptype"));
    EXPECT_EXC(PyErr_NormalizeException(&t, NULL, &tb), PyExc_SystemError,
               NULLMSG("PyErr_NormalizeException", "pvalue"));
    EXPECT_EXC(PyErr_SetRaisedException(PyLong_FromLong(1000)), PyExc_SystemError,
               "PyErr_SetRaisedException: 1000 is not an exception instance");
    EXPECT_EXC(PyErr_SetRaisedException(Py_NewRef(PyExc_ValueError)), PyExc_SystemError,
               "PyErr_SetRaisedException: <class 'ValueError'> is not an exception instance");

    /* Never fail. */
    EXPECT_QUIET(PyErr_GivenExceptionMatches(NULL, PyExc_ValueError), 0);
    EXPECT_QUIET(PyErr_GivenExceptionMatches(an_exc, NULL), 0);
    EXPECT_QUIET(PyErr_GivenExceptionMatches(an_int, PyExc_ValueError), 0);
    EXPECT_QUIET(PyErr_GivenExceptionMatches(an_exc, a_str), 0);
    EXPECT_QUIET(PyErr_ExceptionMatches(NULL), 0);
    EXPECT_QUIET(PyErr_ExceptionMatches(an_int), 0);
    EXPECT_QUIET(PyExceptionInstance_Check(NULL), 0);
    EXPECT_QUIET(PyExceptionInstance_Check(an_int), 0);
    EXPECT_QUIET(PyExceptionClass_Check(NULL), 0);
    EXPECT_QUIET(PyExceptionClass_Check((PyObject *)&PyLong_Type), 0);
    PyErr_WriteUnraisable(NULL); /* nothing pending: nothing happens */
    CHECK_NO_EXC();
    PyErr_WriteUnraisable(an_int);
    CHECK_NO_EXC();

    EXPECT_FAIL(PyErr_NewException(NULL, NULL, NULL), NULL, PyExc_SystemError,
                NULLMSG("PyErr_NewException", "name"));
    EXPECT_FAIL(PyErr_NewException("m.E", an_int, NULL), NULL, PyExc_TypeError,
                "PyErr_NewException: base must be an exception class");
    EXPECT_FAIL(PyErr_NewException("m.E", a_tuple, NULL), NULL, PyExc_TypeError,
                "PyErr_NewException: base must be an exception class");
    EXPECT_FAIL(PyErr_NewException("m.E", NULL, a_tuple), NULL, PyExc_TypeError,
                TYPEMSG("PyErr_NewException", "dict", "dict", "tuple"));
    EXPECT_FAIL(PyErr_NewException("E", NULL, NULL), NULL, PyExc_SystemError,
                "PyErr_NewException: name must be module.class");

    EXPECT_FAIL(PyException_GetArgs(NULL), NULL, PyExc_SystemError,
                NULLMSG("PyException_GetArgs", "exc"));
    EXPECT_FAIL(PyException_GetArgs(an_int), NULL, PyExc_TypeError,
                TYPEMSG("PyException_GetArgs", "exc", "an exception instance", "int"));
    EXPECT_FAIL(PyException_GetContext(NULL), NULL, PyExc_SystemError,
                NULLMSG("PyException_GetContext", "exc"));
    EXPECT_FAIL(PyException_GetContext(PyExc_ValueError), NULL, PyExc_TypeError,
                TYPEMSG("PyException_GetContext", "exc", "an exception instance", "type"));
    EXPECT_FAIL(PyException_GetCause(NULL), NULL, PyExc_SystemError,
                NULLMSG("PyException_GetCause", "exc"));
    EXPECT_FAIL(PyException_GetCause(a_str), NULL, PyExc_TypeError,
                TYPEMSG("PyException_GetCause", "exc", "an exception instance", "str"));
    /* The setters steal their argument even when they fail. */
    EXPECT_EXC(PyException_SetContext(NULL, PyObject_CallNoArgs(PyExc_KeyError)),
               PyExc_SystemError, NULLMSG("PyException_SetContext", "exc"));
    EXPECT_EXC(PyException_SetContext(an_int, PyObject_CallNoArgs(PyExc_KeyError)),
               PyExc_TypeError,
               TYPEMSG("PyException_SetContext", "exc", "an exception instance", "int"));
    EXPECT_EXC(PyException_SetContext(an_exc, PyLong_FromLong(1000)), PyExc_TypeError,
               TYPEMSG("PyException_SetContext", "ctx", "an exception instance or NULL", "int"));
    EXPECT_EXC(PyException_SetCause(NULL, PyObject_CallNoArgs(PyExc_KeyError)),
               PyExc_SystemError, NULLMSG("PyException_SetCause", "exc"));
    EXPECT_EXC(PyException_SetCause(a_dict, NULL), PyExc_TypeError,
               TYPEMSG("PyException_SetCause", "exc", "an exception instance", "dict"));
    EXPECT_EXC(PyException_SetCause(an_exc, PyLong_FromLong(1000)), PyExc_TypeError,
               TYPEMSG("PyException_SetCause", "cause", "an exception instance or NULL", "int"));
    /* an_exc was not changed. */
    EXPECT_QUIET(PyException_GetContext(an_exc), NULL);
    EXPECT_QUIET(PyException_GetCause(an_exc), NULL);
}

static void test_numbers(void) {
    EXPECT_FAIL(PyLong_FromUnsignedLong(ULONG_MAX), NULL, PyExc_OverflowError, NULL);

    EXPECT_FAIL(PyLong_AsLong(NULL), -1, PyExc_SystemError, NULLMSG("PyLong_AsLong", "o"));
    EXPECT_FAIL(PyLong_AsLong(a_str), -1, PyExc_TypeError,
                "'str' object cannot be interpreted as an integer");
    EXPECT_FAIL(PyLong_AsSsize_t(NULL), -1, PyExc_SystemError,
                NULLMSG("PyLong_AsSsize_t", "o"));
    EXPECT_FAIL(PyLong_AsSsize_t(Py_None), -1, PyExc_TypeError,
                "'NoneType' object cannot be interpreted as an integer");
    EXPECT_FAIL(PyLong_AsLongLong(NULL), -1, PyExc_SystemError,
                NULLMSG("PyLong_AsLongLong", "o"));
    EXPECT_FAIL(PyLong_AsLongLong(a_tuple), -1, PyExc_TypeError,
                "'tuple' object cannot be interpreted as an integer");
    EXPECT_FAIL(PyLong_AsUnsignedLong(NULL), (unsigned long)-1, PyExc_SystemError,
                NULLMSG("PyLong_AsUnsignedLong", "o"));
    EXPECT_FAIL(PyLong_AsUnsignedLong(a_dict), (unsigned long)-1, PyExc_TypeError,
                "'dict' object cannot be interpreted as an integer");
    EXPECT_QUIET(PyLong_Check(NULL), 0);
    EXPECT_QUIET(PyLong_Check(a_str), 0);
    EXPECT_QUIET(PyLong_CheckExact(NULL), 0);
    EXPECT_QUIET(PyLong_CheckExact(Py_True), 0);
    EXPECT_QUIET(PyBool_Check(NULL), 0);
    EXPECT_QUIET(PyBool_Check(an_int), 0);
    EXPECT_FAIL(PyBool_AsInt(NULL), -1, PyExc_SystemError, NULLMSG("PyBool_AsInt", "o"));
    EXPECT_FAIL(PyBool_AsInt(a_str), -1, PyExc_TypeError,
                TYPEMSG("PyBool_AsInt", "o", "int", "str"));
}

static void test_objects(void) {
    /* NULL is ignored by the reference-count functions. */
    Py_IncRef(NULL);
    Py_DecRef(NULL);
    _Py_Dealloc(NULL);
    CHECK_NO_EXC();

    EXPECT_FAIL(PyObject_Repr(NULL), NULL, PyExc_SystemError, NULLMSG("PyObject_Repr", "o"));
    EXPECT_FAIL(PyObject_Str(NULL), NULL, PyExc_SystemError, NULLMSG("PyObject_Str", "o"));
    EXPECT_FAIL(PyObject_IsTrue(NULL), -1, PyExc_SystemError, NULLMSG("PyObject_IsTrue", "o"));
    EXPECT_FAIL(PyObject_Not(NULL), -1, PyExc_SystemError, NULLMSG("PyObject_Not", "o"));

    PyObject *name = PyUnicode_FromString("x");
    EXPECT_FAIL(PyObject_GetAttrString(NULL, "x"), NULL, PyExc_SystemError,
                NULLMSG("PyObject_GetAttrString", "o"));
    EXPECT_FAIL(PyObject_GetAttrString(an_int, NULL), NULL, PyExc_SystemError,
                NULLMSG("PyObject_GetAttrString", "name"));
    EXPECT_FAIL(PyObject_GetAttrString(an_int, "\xff"), NULL, PyExc_ValueError,
                "PyObject_GetAttrString: argument 'name' is not valid UTF-8");
    EXPECT_FAIL(PyObject_SetAttrString(NULL, "x", an_int), -1, PyExc_SystemError,
                NULLMSG("PyObject_SetAttrString", "o"));
    EXPECT_FAIL(PyObject_SetAttrString(an_int, NULL, an_int), -1, PyExc_SystemError,
                NULLMSG("PyObject_SetAttrString", "name"));
    EXPECT_FAIL(PyObject_SetAttrString(an_exc, "__context__", an_int), -1, PyExc_TypeError,
                "exception context must be None or derive from BaseException");
    EXPECT_QUIET(PyObject_HasAttrString(NULL, "x"), 0);
    EXPECT_QUIET(PyObject_HasAttrString(an_int, NULL), 0);
    EXPECT_QUIET(PyObject_HasAttrString(an_int, "\xff"), 0);
    EXPECT_FAIL(PyObject_GetAttr(NULL, name), NULL, PyExc_SystemError,
                NULLMSG("PyObject_GetAttr", "o"));
    EXPECT_FAIL(PyObject_GetAttr(an_int, NULL), NULL, PyExc_SystemError,
                NULLMSG("PyObject_GetAttr", "name"));
    EXPECT_FAIL(PyObject_GetAttr(an_int, an_int), NULL, PyExc_TypeError,
                "attribute name must be string, not 'int'");
    EXPECT_FAIL(PyObject_SetAttr(NULL, name, an_int), -1, PyExc_SystemError,
                NULLMSG("PyObject_SetAttr", "o"));
    EXPECT_FAIL(PyObject_SetAttr(an_int, NULL, an_int), -1, PyExc_SystemError,
                NULLMSG("PyObject_SetAttr", "name"));
    EXPECT_FAIL(PyObject_SetAttr(an_int, a_tuple, an_int), -1, PyExc_TypeError,
                "attribute name must be string, not 'tuple'");
    EXPECT_QUIET(PyObject_HasAttr(NULL, name), 0);
    EXPECT_QUIET(PyObject_HasAttr(an_int, NULL), 0);
    EXPECT_QUIET(PyObject_HasAttr(an_int, an_int), 0);
    Py_DECREF(name);

    /* Types. */
    EXPECT_QUIET(PyType_IsSubtype(NULL, &PyLong_Type), 0);
    EXPECT_QUIET(PyType_IsSubtype(&PyLong_Type, NULL), 0);
    EXPECT_QUIET(PyType_IsSubtype((PyTypeObject *)an_int, &PyLong_Type), 0);
    EXPECT_QUIET(PyType_IsSubtype(&PyBool_Type, (PyTypeObject *)a_str), 0);
    EXPECT_QUIET(PyObject_TypeCheck(NULL, &PyLong_Type), 0);
    EXPECT_QUIET(PyObject_TypeCheck(an_int, NULL), 0);
    EXPECT_QUIET(PyObject_TypeCheck(an_int, (PyTypeObject *)a_dict), 0);
    EXPECT_QUIET(PyType_Check(NULL), 0);
    EXPECT_QUIET(PyType_Check(an_int), 0);

    EXPECT_FAIL(PyType_FromSpec(NULL), NULL, PyExc_SystemError,
                NULLMSG("PyType_FromSpec", "spec"));
    EXPECT_FAIL(PyType_FromSpecWithBases(NULL, NULL), NULL, PyExc_SystemError,
                NULLMSG("PyType_FromSpecWithBases", "spec"));
    PyType_Slot none[] = {{0, NULL}};
    PyType_Spec spec = {"bad.T", 0, 0, Py_TPFLAGS_BASETYPE, none};
    EXPECT_FAIL(PyType_FromSpecWithBases(&spec, an_int), NULL, PyExc_TypeError,
                "PyType_FromSpecWithBases: argument 'bases' must be a type or a tuple of one "
                "type, not int");
    EXPECT_FAIL(PyType_FromSpecWithBases(&spec, a_tuple), NULL, PyExc_TypeError,
                "PyType_FromSpecWithBases: argument 'bases' must be a type or a tuple of one "
                "type");
    PyType_Slot bad_base[] = {{Py_tp_base, an_int}, {0, NULL}};
    PyType_Spec bad_base_spec = {"bad.U", 0, 0, 0, bad_base};
    EXPECT_FAIL(PyType_FromSpec(&bad_base_spec), NULL, PyExc_TypeError,
                "PyType_FromSpec: the Py_tp_base(s) slot must be a type or a tuple of one type, "
                "not int");
    PyType_Spec no_name = {NULL, 0, 0, 0, none};
    EXPECT_FAIL(PyType_FromSpec(&no_name), NULL, PyExc_SystemError,
                "PyType_FromSpec: spec->name is NULL");
    PyType_Spec no_slots = {"bad.NoSlots", 0, 0, 0, NULL}; /* accepted as "no slots" */
    PyObject *NoSlots = PyType_FromSpec(&no_slots);
    CHECK(NoSlots != NULL);
    CHECK_NO_EXC();
    Py_XDECREF(NoSlots);

    PyObject *T = PyType_FromSpec(&spec);
    PyObject *inst = PyObject_CallNoArgs(T);
    EXPECT_FAIL(PyObject_GetTypeData(NULL, (PyTypeObject *)T), NULL, PyExc_SystemError,
                NULLMSG("PyObject_GetTypeData", "o"));
    EXPECT_FAIL(PyObject_GetTypeData(inst, NULL), NULL, PyExc_SystemError,
                NULLMSG("PyObject_GetTypeData", "cls"));
    EXPECT_FAIL(PyObject_GetTypeData(an_int, (PyTypeObject *)T), NULL, PyExc_TypeError,
                TYPEMSG("PyObject_GetTypeData", "o", "bad.T", "int"));
    EXPECT_FAIL(PyObject_GetTypeData(inst, (PyTypeObject *)an_int), NULL, PyExc_TypeError,
                TYPEMSG("PyObject_GetTypeData", "cls", "type", "int"));
    EXPECT_FAIL(PyObject_GetTypeData(an_int, &PyLong_Type), NULL, PyExc_TypeError,
                "PyObject_GetTypeData: argument 'cls' must be a type made by PyType_FromSpec, "
                "not the static type 'int'");
    Py_DECREF(inst);
    Py_DECREF(T);

    EXPECT_FAIL(PyType_GetTpName(NULL), NULL, PyExc_SystemError, NULLMSG("PyType_GetTpName", "tp"));
    EXPECT_FAIL(PyType_GetTpName((PyTypeObject *)a_str), NULL, PyExc_TypeError,
                TYPEMSG("PyType_GetTpName", "tp", "type", "str"));
    EXPECT_FAIL(PyType_GetName(NULL), NULL, PyExc_SystemError, NULLMSG("PyType_GetName", "tp"));
    EXPECT_FAIL(PyType_GetName((PyTypeObject *)a_str), NULL, PyExc_TypeError,
                TYPEMSG("PyType_GetName", "tp", "type", "str"));
    EXPECT_FAIL(PyType_GetQualName(NULL), NULL, PyExc_SystemError,
                NULLMSG("PyType_GetQualName", "tp"));
    EXPECT_FAIL(PyType_GetQualName((PyTypeObject *)a_str), NULL, PyExc_TypeError,
                TYPEMSG("PyType_GetQualName", "tp", "type", "str"));
    EXPECT_FAIL(PyType_GetFullyQualifiedName(NULL), NULL, PyExc_SystemError,
                NULLMSG("PyType_GetFullyQualifiedName", "tp"));
    EXPECT_FAIL(PyType_GetFullyQualifiedName((PyTypeObject *)a_str), NULL, PyExc_TypeError,
                TYPEMSG("PyType_GetFullyQualifiedName", "tp", "type", "str"));
    EXPECT_FAIL(PyObject_Type(NULL), NULL, PyExc_SystemError, NULLMSG("PyObject_Type", "o"));

    /* Memory. */
    EXPECT_FAIL(PyMem_Malloc(SIZE_MAX), NULL, PyExc_MemoryError, "");
    EXPECT_FAIL(PyMem_Calloc(SIZE_MAX, 2), NULL, PyExc_MemoryError, "");
    EXPECT_FAIL(PyMem_Calloc(2, SIZE_MAX / 2), NULL, PyExc_MemoryError, "");
    PyMem_Free(NULL);
    CHECK_NO_EXC();
}

static void test_text(void) {
    Py_ssize_t n = 99;
    EXPECT_FAIL(PyUnicode_FromString(NULL), NULL, PyExc_SystemError,
                NULLMSG("PyUnicode_FromString", "s"));
    EXPECT_FAIL(PyUnicode_FromStringAndSize(NULL, 3), NULL, PyExc_SystemError,
                NULLMSG("PyUnicode_FromStringAndSize", "s"));
    EXPECT_FAIL(PyUnicode_FromStringAndSize("abc", -1), NULL, PyExc_SystemError,
                "Negative size passed to PyUnicode_FromStringAndSize");
    EXPECT_FAIL(PyUnicode_AsUTF8(NULL), NULL, PyExc_SystemError,
                NULLMSG("PyUnicode_AsUTF8", "o"));
    EXPECT_FAIL(PyUnicode_AsUTF8(an_int), NULL, PyExc_TypeError,
                TYPEMSG("PyUnicode_AsUTF8", "o", "str", "int"));
    EXPECT_FAIL(PyUnicode_AsUTF8AndSize(NULL, &n), NULL, PyExc_SystemError,
                NULLMSG("PyUnicode_AsUTF8AndSize", "o"));
    EXPECT_FAIL(PyUnicode_AsUTF8AndSize(a_capsule, &n), NULL, PyExc_TypeError,
                TYPEMSG("PyUnicode_AsUTF8AndSize", "o", "str", "PyCapsule"));
    CHECK_EQ_INT(n, 99); /* not written on failure */
    EXPECT_FAIL(PyUnicode_GetLength(NULL), -1, PyExc_SystemError,
                NULLMSG("PyUnicode_GetLength", "o"));
    EXPECT_FAIL(PyUnicode_GetLength(Py_None), -1, PyExc_TypeError,
                TYPEMSG("PyUnicode_GetLength", "o", "str", "NoneType"));
    EXPECT_FAIL(PyUnicode_CompareWithASCIIString(NULL, "a"), -1, PyExc_SystemError,
                NULLMSG("PyUnicode_CompareWithASCIIString", "o"));
    EXPECT_FAIL(PyUnicode_CompareWithASCIIString(an_int, "a"), -1, PyExc_TypeError,
                TYPEMSG("PyUnicode_CompareWithASCIIString", "o", "str", "int"));
    EXPECT_FAIL(PyUnicode_CompareWithASCIIString(a_str, NULL), -1, PyExc_SystemError,
                NULLMSG("PyUnicode_CompareWithASCIIString", "s"));
    EXPECT_QUIET(PyUnicode_Check(NULL), 0);
    EXPECT_QUIET(PyUnicode_Check(an_int), 0);
    EXPECT_QUIET(PyUnicode_CheckExact(NULL), 0);
    EXPECT_QUIET(PyUnicode_CheckExact(an_int), 0);

    EXPECT_FAIL(PyBytes_FromStringAndSize("x", -1), NULL, PyExc_SystemError,
                "Negative size passed to PyBytes_FromStringAndSize");
    EXPECT_FAIL(PyBytes_FromString(NULL), NULL, PyExc_SystemError,
                NULLMSG("PyBytes_FromString", "s"));
    EXPECT_FAIL(PyBytes_AsString(NULL), NULL, PyExc_SystemError,
                NULLMSG("PyBytes_AsString", "o"));
    EXPECT_FAIL(PyBytes_AsString(a_str), NULL, PyExc_TypeError,
                TYPEMSG("PyBytes_AsString", "o", "bytes", "str"));
    EXPECT_FAIL(PyBytes_Size(NULL), -1, PyExc_SystemError, NULLMSG("PyBytes_Size", "o"));
    EXPECT_FAIL(PyBytes_Size(a_str), -1, PyExc_TypeError,
                TYPEMSG("PyBytes_Size", "o", "bytes", "str"));
    EXPECT_QUIET(PyBytes_Check(NULL), 0);
    EXPECT_QUIET(PyBytes_Check(a_str), 0);
}

/* ----- Tasklets, channels and the scheduler -----
 *
 * Nothing here switches tasklets: the tasklets are fresh (a_tasklet is unbound and never
 * alive), the channels fresh and open, and every call that could switch fails first.
 * main() checks afterwards that the run queue, the current tasklet and the callbacks are as
 * they were. */

#define TASKLET_NAME "_stackless.tasklet"
#define CHANNEL_NAME "_stackless.channel"

/* `call` uses the placeholder BAD for its tasklet argument, which is given NULL, an int and
 * a channel in turn: each must return `fail` with the SystemError / TypeError naming the
 * function `f` and the argument 'task'. */
#define EXPECT_BAD_TASK(call, fail, f) \
    do { \
        PyTaskletObject *BAD = NULL; \
        EXPECT_FAIL(call, fail, PyExc_SystemError, NULLMSG(f, "task")); \
        BAD = (PyTaskletObject *)an_int; \
        EXPECT_FAIL(call, fail, PyExc_TypeError, TYPEMSG(f, "task", TASKLET_NAME, "int")); \
        BAD = (PyTaskletObject *)a_channel; \
        EXPECT_FAIL(call, fail, PyExc_TypeError, \
                    TYPEMSG(f, "task", TASKLET_NAME, CHANNEL_NAME)); \
    } while (0)

/* The same for a void function: each call leaves the exception set. */
#define EXPECT_BAD_TASK_VOID(call, f) \
    do { \
        PyTaskletObject *BAD = NULL; \
        EXPECT_EXC(call, PyExc_SystemError, NULLMSG(f, "task")); \
        BAD = (PyTaskletObject *)an_int; \
        EXPECT_EXC(call, PyExc_TypeError, TYPEMSG(f, "task", TASKLET_NAME, "int")); \
        BAD = (PyTaskletObject *)a_channel; \
        EXPECT_EXC(call, PyExc_TypeError, TYPEMSG(f, "task", TASKLET_NAME, CHANNEL_NAME)); \
    } while (0)

/* Channel arguments (named 'self'): BAD is NULL, an int and a tasklet in turn. */
#define EXPECT_BAD_CHAN(call, fail, f) \
    do { \
        PyChannelObject *BAD = NULL; \
        EXPECT_FAIL(call, fail, PyExc_SystemError, NULLMSG(f, "self")); \
        BAD = (PyChannelObject *)an_int; \
        EXPECT_FAIL(call, fail, PyExc_TypeError, TYPEMSG(f, "self", CHANNEL_NAME, "int")); \
        BAD = (PyChannelObject *)a_tasklet; \
        EXPECT_FAIL(call, fail, PyExc_TypeError, \
                    TYPEMSG(f, "self", CHANNEL_NAME, TASKLET_NAME)); \
    } while (0)

#define EXPECT_BAD_CHAN_VOID(call, f) \
    do { \
        PyChannelObject *BAD = NULL; \
        EXPECT_EXC(call, PyExc_SystemError, NULLMSG(f, "self")); \
        BAD = (PyChannelObject *)an_int; \
        EXPECT_EXC(call, PyExc_TypeError, TYPEMSG(f, "self", CHANNEL_NAME, "int")); \
        BAD = (PyChannelObject *)a_tasklet; \
        EXPECT_EXC(call, PyExc_TypeError, TYPEMSG(f, "self", CHANNEL_NAME, TASKLET_NAME)); \
    } while (0)

#define RAISE_EXC_MSG(what) what " needs Exception or string subclass as first parameter"

static void test_tasklets(void) {
    PyTaskletObject *t = a_tasklet;
    PyObject *f = PyCFunction_New(&def_noargs, NULL);
    PyTaskletObject *bound = PyTasklet_New(NULL, f); /* bound, never set up */
    CHECK(bound != NULL);

    EXPECT_QUIET(PyTasklet_Check(NULL), 0);
    EXPECT_QUIET(PyTasklet_Check(an_int), 0);
    EXPECT_QUIET(PyTasklet_Check((PyObject *)a_channel), 0);
    EXPECT_QUIET(PyTasklet_CheckExact(NULL), 0);
    EXPECT_QUIET(PyTasklet_CheckExact((PyObject *)a_channel), 0);

    /* PyTasklet_New: NULL type and NULL func are allowed (a_tasklet). */
    EXPECT_FAIL(PyTasklet_New((PyTypeObject *)an_int, NULL), NULL, PyExc_TypeError,
                TYPEMSG("PyTasklet_New", "type", "type", "int"));
    EXPECT_FAIL(PyTasklet_New(&PyChannel_Type, NULL), NULL, PyExc_TypeError,
                "PyTasklet_New: type must be a subtype of tasklet, not " CHANNEL_NAME);
    EXPECT_FAIL(PyTasklet_New(&PyLong_Type, f), NULL, PyExc_TypeError,
                "PyTasklet_New: type must be a subtype of tasklet, not int");
    EXPECT_FAIL(PyTasklet_New(NULL, a_str), NULL, PyExc_TypeError,
                "tasklet function must be a callable or None");

    /* Setup fails before the tasklet is set up or inserted. */
    EXPECT_BAD_TASK(PyTasklet_Setup(BAD, a_tuple, NULL), -1, "PyTasklet_Setup");
    EXPECT_FAIL(PyTasklet_Setup(bound, NULL, NULL), -1, PyExc_SystemError,
                NULLMSG("PyTasklet_Setup", "args"));
    EXPECT_FAIL(PyTasklet_Setup(bound, a_dict, NULL), -1, PyExc_TypeError,
                "tasklet arguments must be a tuple");
    EXPECT_FAIL(PyTasklet_Setup(bound, an_int, NULL), -1, PyExc_TypeError,
                "tasklet arguments must be a tuple");
    EXPECT_FAIL(PyTasklet_Setup(bound, a_tuple, a_tuple), -1, PyExc_TypeError,
                "tasklet keyword arguments must be a dict");
    EXPECT_FAIL(PyTasklet_Setup(t, a_tuple, NULL), -1, PyExc_RuntimeError,
                "the tasklet was not bound to a function");
    EXPECT_QUIET(PyTasklet_Alive(bound), 0);
    EXPECT_QUIET(PyTasklet_Scheduled(bound), 0);

    /* BindEx checks everything before it changes the tasklet. */
    EXPECT_BAD_TASK(PyTasklet_BindEx(BAD, f, NULL, NULL), -1, "PyTasklet_BindEx");
    EXPECT_FAIL(PyTasklet_BindEx(t, an_int, NULL, NULL), -1, PyExc_TypeError,
                "tasklet function must be a callable or None");
    EXPECT_FAIL(PyTasklet_BindEx(t, f, a_dict, NULL), -1, PyExc_TypeError,
                "tasklet arguments must be a tuple");
    EXPECT_FAIL(PyTasklet_BindEx(t, f, a_tuple, a_tuple), -1, PyExc_TypeError,
                "tasklet keyword arguments must be a dict");
    EXPECT_FAIL(PyTasklet_BindEx(t, NULL, NULL, a_str), -1, PyExc_TypeError,
                "tasklet keyword arguments must be a dict");
    PyObject *tv = PyTasklet_GetTempval(t); /* still unbound: nothing was stored */
    CHECK(tv == Py_None);
    Py_XDECREF(tv);
    CHECK_NO_EXC();

    EXPECT_BAD_TASK(PyTasklet_BindThread(BAD, (unsigned long)-1), -1, "PyTasklet_BindThread");
    EXPECT_FAIL(PyTasklet_BindThread(t, 1), -1, PyExc_ValueError, "bad thread");

    /* Running: a tasklet that is not alive cannot be run, so nothing switches. */
    EXPECT_BAD_TASK(PyTasklet_Run(BAD), -1, "PyTasklet_Run");
    EXPECT_FAIL(PyTasklet_Run(t), -1, PyExc_RuntimeError,
                "You cannot run an unbound(dead) tasklet");
    EXPECT_BAD_TASK(PyTasklet_Run_nr(BAD), -1, "PyTasklet_Run_nr");
    EXPECT_FAIL(PyTasklet_Run_nr(bound), -1, PyExc_RuntimeError,
                "You cannot run an unbound(dead) tasklet");
    EXPECT_BAD_TASK(PyTasklet_Switch(BAD), -1, "PyTasklet_Switch");
    EXPECT_FAIL(PyTasklet_Switch(t), -1, PyExc_RuntimeError,
                "You cannot run an unbound(dead) tasklet");
    EXPECT_BAD_TASK(PyTasklet_Switch_nr(BAD), -1, "PyTasklet_Switch_nr");
    EXPECT_FAIL(PyTasklet_Switch_nr(bound), -1, PyExc_RuntimeError,
                "You cannot run an unbound(dead) tasklet");
    EXPECT_BAD_TASK(PyTasklet_Insert(BAD), -1, "PyTasklet_Insert");
    EXPECT_FAIL(PyTasklet_Insert(t), -1, PyExc_RuntimeError,
                "You cannot run an unbound(dead) tasklet");
    EXPECT_BAD_TASK(PyTasklet_Remove(BAD), -1, "PyTasklet_Remove");
    EXPECT_QUIET(PyTasklet_Remove(t), 0); /* not scheduled: a no-op */

    /* Raising into a tasklet: the exception arguments are checked before the tasklet's state. */
    EXPECT_BAD_TASK(PyTasklet_RaiseException(BAD, PyExc_ValueError, NULL), -1,
                    "PyTasklet_RaiseException");
    EXPECT_FAIL(PyTasklet_RaiseException(t, NULL, NULL), -1, PyExc_TypeError,
                RAISE_EXC_MSG("tasklet.raise_exception"));
    EXPECT_FAIL(PyTasklet_RaiseException(t, an_int, NULL), -1, PyExc_TypeError,
                RAISE_EXC_MSG("tasklet.raise_exception"));
    EXPECT_FAIL(PyTasklet_RaiseException(t, an_exc, NULL), -1, PyExc_TypeError,
                RAISE_EXC_MSG("tasklet.raise_exception"));
    EXPECT_FAIL(PyTasklet_RaiseException(t, (PyObject *)&PyLong_Type, NULL), -1,
                PyExc_TypeError, RAISE_EXC_MSG("tasklet.raise_exception"));
    EXPECT_FAIL(PyTasklet_RaiseException(t, PyExc_ValueError, a_str), -1, PyExc_RuntimeError,
                "You cannot throw to a dead tasklet");

    EXPECT_BAD_TASK(PyTasklet_Throw(BAD, 0, PyExc_ValueError, NULL, NULL), -1,
                    "PyTasklet_Throw");
    EXPECT_FAIL(PyTasklet_Throw(t, 0, PyExc_ValueError, NULL, an_int), -1, PyExc_TypeError,
                "third argument must be a traceback object");
    EXPECT_FAIL(PyTasklet_Throw(t, 1, an_exc, NULL, a_tuple), -1, PyExc_TypeError,
                "third argument must be a traceback object");
    EXPECT_FAIL(PyTasklet_Throw(t, 0, NULL, NULL, NULL), -1, PyExc_TypeError,
                "exceptions must be classes, or instances, not NULL");
    EXPECT_FAIL(PyTasklet_Throw(t, 0, an_int, NULL, NULL), -1, PyExc_TypeError,
                "exceptions must be classes, or instances, not int");
    EXPECT_FAIL(PyTasklet_Throw(t, 0, (PyObject *)&PyLong_Type, NULL, NULL), -1,
                PyExc_TypeError, "exceptions must be classes, or instances, not type");
    EXPECT_FAIL(PyTasklet_Throw(t, 0, an_exc, an_int, NULL), -1, PyExc_TypeError,
                "instance exception may not have a separate value");
    EXPECT_FAIL(PyTasklet_Throw(t, 1, PyExc_ValueError, NULL, Py_None), -1,
                PyExc_RuntimeError, "You cannot throw to a dead tasklet");

    /* PyTasklet_Kill forwards to PyTasklet_KillEx; its messages must still name itself. */
    EXPECT_BAD_TASK(PyTasklet_Kill(BAD), -1, "PyTasklet_Kill");
    EXPECT_BAD_TASK(PyTasklet_KillEx(BAD, 0), -1, "PyTasklet_KillEx");
    EXPECT_BAD_TASK(PyTasklet_KillEx(BAD, 1), -1, "PyTasklet_KillEx");
    EXPECT_QUIET(PyTasklet_Kill(t), 0); /* not alive: left alone */
    EXPECT_QUIET(PyTasklet_KillEx(t, 1), 0);

    /* Attributes. */
    EXPECT_BAD_TASK(PyTasklet_GetAtomic(BAD), -1, "PyTasklet_GetAtomic");
    EXPECT_BAD_TASK(PyTasklet_SetAtomic(BAD, 1), -1, "PyTasklet_SetAtomic");
    EXPECT_BAD_TASK(PyTasklet_GetIgnoreNesting(BAD), -1, "PyTasklet_GetIgnoreNesting");
    EXPECT_BAD_TASK(PyTasklet_SetIgnoreNesting(BAD, 1), -1, "PyTasklet_SetIgnoreNesting");
    EXPECT_BAD_TASK(PyTasklet_GetPendingIrq(BAD), -1, "PyTasklet_GetPendingIrq");
    EXPECT_BAD_TASK(PyTasklet_GetBlockTrap(BAD), -1, "PyTasklet_GetBlockTrap");
    EXPECT_BAD_TASK_VOID(PyTasklet_SetBlockTrap(BAD, 1), "PyTasklet_SetBlockTrap");
    EXPECT_BAD_TASK(PyTasklet_GetFrame(BAD), NULL, "PyTasklet_GetFrame");
    EXPECT_QUIET(PyTasklet_GetFrame(t), NULL); /* not alive: NULL without an exception */
    EXPECT_BAD_TASK(PyTasklet_IsMain(BAD), -1, "PyTasklet_IsMain");
    EXPECT_BAD_TASK(PyTasklet_IsCurrent(BAD), -1, "PyTasklet_IsCurrent");
    EXPECT_BAD_TASK(PyTasklet_GetRecursionDepth(BAD), -1, "PyTasklet_GetRecursionDepth");
    EXPECT_BAD_TASK(PyTasklet_GetNestingLevel(BAD), -1, "PyTasklet_GetNestingLevel");
    EXPECT_BAD_TASK(PyTasklet_Alive(BAD), -1, "PyTasklet_Alive");
    EXPECT_BAD_TASK(PyTasklet_Paused(BAD), -1, "PyTasklet_Paused");
    EXPECT_BAD_TASK(PyTasklet_Scheduled(BAD), -1, "PyTasklet_Scheduled");
    EXPECT_BAD_TASK(PyTasklet_Restorable(BAD), -1, "PyTasklet_Restorable");
    EXPECT_BAD_TASK(PyTasklet_GetBlocked(BAD), -1, "PyTasklet_GetBlocked");
    EXPECT_BAD_TASK(PyTasklet_GetTempval(BAD), NULL, "PyTasklet_GetTempval");
    EXPECT_BAD_TASK(PyTasklet_SetTempval(BAD, an_int), -1, "PyTasklet_SetTempval");
    EXPECT_QUIET(PyTasklet_SetTempval(t, NULL), 0); /* NULL means None */
    EXPECT_BAD_TASK(PyTasklet_GetNext(BAD), NULL, "PyTasklet_GetNext");
    EXPECT_BAD_TASK(PyTasklet_GetPrev(BAD), NULL, "PyTasklet_GetPrev");
    EXPECT_BAD_TASK(PyTasklet_GetThreadId(BAD), (unsigned long)-1, "PyTasklet_GetThreadId");
    EXPECT_BAD_TASK(PyTasklet_SetStackSize(BAD, 0), -1, "PyTasklet_SetStackSize");

    /* The tasklets are as they were made. */
    EXPECT_QUIET(PyTasklet_Alive(t), 0);
    EXPECT_QUIET(PyTasklet_Scheduled(t), 0);
    EXPECT_QUIET(PyTasklet_GetBlocked(t), 0);
    EXPECT_QUIET(PyTasklet_GetAtomic(t), 0);
    EXPECT_QUIET(PyTasklet_GetBlockTrap(t), 0);
    EXPECT_QUIET(PyTasklet_Alive(bound), 0);
    EXPECT_QUIET(PyTasklet_Scheduled(bound), 0);
    Py_XDECREF(bound);
    Py_DECREF(f);
}

static void test_channels(void) {
    PyChannelObject *c = a_channel;

    EXPECT_QUIET(PyChannel_Check(NULL), 0);
    EXPECT_QUIET(PyChannel_Check(an_int), 0);
    EXPECT_QUIET(PyChannel_Check((PyObject *)a_tasklet), 0);
    EXPECT_QUIET(PyChannel_CheckExact(NULL), 0);
    EXPECT_QUIET(PyChannel_CheckExact((PyObject *)a_tasklet), 0);

    /* PyChannel_New: NULL type is the channel type (a_channel). */
    EXPECT_FAIL(PyChannel_New((PyTypeObject *)an_int), NULL, PyExc_TypeError,
                TYPEMSG("PyChannel_New", "type", "type", "int"));
    EXPECT_FAIL(PyChannel_New(&PyTasklet_Type), NULL, PyExc_TypeError,
                "channel_new: type must be subtype of channel");
    EXPECT_FAIL(PyChannel_New(&PyLong_Type), NULL, PyExc_TypeError,
                "channel_new: type must be subtype of channel");

    /* Sending and receiving: the arguments are checked before anything can block. */
    EXPECT_BAD_CHAN(PyChannel_Send(BAD, an_int), -1, "PyChannel_Send");
    EXPECT_FAIL(PyChannel_Send(c, NULL), -1, PyExc_SystemError,
                NULLMSG("PyChannel_Send", "arg"));
    EXPECT_BAD_CHAN(PyChannel_Send_nr(BAD, an_int), -1, "PyChannel_Send_nr");
    EXPECT_FAIL(PyChannel_Send_nr(c, NULL), -1, PyExc_SystemError,
                NULLMSG("PyChannel_Send_nr", "arg"));
    EXPECT_BAD_CHAN(PyChannel_Receive(BAD), NULL, "PyChannel_Receive");
    EXPECT_BAD_CHAN(PyChannel_Receive_nr(BAD), NULL, "PyChannel_Receive_nr");

    EXPECT_BAD_CHAN(PyChannel_SendException(BAD, PyExc_ValueError, NULL), -1,
                    "PyChannel_SendException");
    EXPECT_FAIL(PyChannel_SendException(c, NULL, NULL), -1, PyExc_TypeError,
                RAISE_EXC_MSG("channel.send_exception"));
    EXPECT_FAIL(PyChannel_SendException(c, an_int, NULL), -1, PyExc_TypeError,
                RAISE_EXC_MSG("channel.send_exception"));
    EXPECT_FAIL(PyChannel_SendException(c, an_exc, NULL), -1, PyExc_TypeError,
                RAISE_EXC_MSG("channel.send_exception"));
    EXPECT_FAIL(PyChannel_SendException(c, (PyObject *)&PyTuple_Type, a_tuple), -1,
                PyExc_TypeError, RAISE_EXC_MSG("channel.send_exception"));

    EXPECT_BAD_CHAN(PyChannel_SendThrow(BAD, PyExc_ValueError, NULL, NULL), -1,
                    "PyChannel_SendThrow");
    EXPECT_FAIL(PyChannel_SendThrow(c, PyExc_ValueError, NULL, an_int), -1, PyExc_TypeError,
                "third argument must be a traceback object");
    EXPECT_FAIL(PyChannel_SendThrow(c, NULL, NULL, NULL), -1, PyExc_TypeError,
                "exceptions must be classes, or instances, not NULL");
    EXPECT_FAIL(PyChannel_SendThrow(c, a_str, NULL, NULL), -1, PyExc_TypeError,
                "exceptions must be classes, or instances, not str");
    EXPECT_FAIL(PyChannel_SendThrow(c, an_exc, an_int, Py_None), -1, PyExc_TypeError,
                "instance exception may not have a separate value");

    EXPECT_BAD_CHAN(PyChannel_SendSequence(BAD, a_tuple), -1, "PyChannel_SendSequence");
    EXPECT_FAIL(PyChannel_SendSequence(c, NULL), -1, PyExc_SystemError,
                NULLMSG("PyChannel_SendSequence", "seq"));
    EXPECT_FAIL(PyChannel_SendSequence(c, a_dict), -1, PyExc_TypeError,
                TYPEMSG("PyChannel_SendSequence", "seq", "tuple", "dict"));
    EXPECT_FAIL(PyChannel_SendSequence(c, (PyObject *)a_tasklet), -1, PyExc_TypeError,
                TYPEMSG("PyChannel_SendSequence", "seq", "tuple", TASKLET_NAME));
    PyObject *empty = PyTuple_New(0);
    EXPECT_QUIET(PyChannel_SendSequence(c, empty), 0); /* nothing to send: no blocking */
    Py_DECREF(empty);

    /* Attributes. */
    EXPECT_BAD_CHAN(PyChannel_GetQueue(BAD), NULL, "PyChannel_GetQueue");
    EXPECT_BAD_CHAN_VOID(PyChannel_Close(BAD), "PyChannel_Close");
    EXPECT_BAD_CHAN_VOID(PyChannel_Open(BAD), "PyChannel_Open");
    EXPECT_BAD_CHAN(PyChannel_GetClosing(BAD), -1, "PyChannel_GetClosing");
    EXPECT_BAD_CHAN(PyChannel_GetClosed(BAD), -1, "PyChannel_GetClosed");
    EXPECT_BAD_CHAN(PyChannel_GetPreference(BAD), -1, "PyChannel_GetPreference");
    EXPECT_BAD_CHAN_VOID(PyChannel_SetPreference(BAD, 1), "PyChannel_SetPreference");
    EXPECT_BAD_CHAN(PyChannel_GetScheduleAll(BAD), -1, "PyChannel_GetScheduleAll");
    EXPECT_BAD_CHAN_VOID(PyChannel_SetScheduleAll(BAD, 1), "PyChannel_SetScheduleAll");
    EXPECT_BAD_CHAN(PyChannel_GetBalance(BAD), 0, "PyChannel_GetBalance");

    /* The channel is as it was made. */
    PyObject *q = PyChannel_GetQueue(c);
    CHECK(q == Py_None);
    Py_XDECREF(q);
    EXPECT_QUIET(PyChannel_GetClosing(c), 0);
    EXPECT_QUIET(PyChannel_GetClosed(c), 0);
    EXPECT_QUIET(PyChannel_GetPreference(c), -1);
    EXPECT_QUIET(PyChannel_GetScheduleAll(c), 0);
    EXPECT_QUIET(PyChannel_GetBalance(c), 0);
}

static PyMethodDef def_badflags = {"g", f_noargs, 0x1000, NULL};

static void test_scheduler(void) {
    PyObject *f = PyCFunction_New(&def_noargs, NULL);
    PyObject *r;

    /* retval may be NULL (None); with nothing else runnable Schedule returns at once. */
    r = PyStackless_Schedule(NULL, 0);
    CHECK(r == Py_None);
    Py_XDECREF(r);
    CHECK_NO_EXC();
    r = PyStackless_Schedule_nr(NULL, 0);
    CHECK(r == Py_None);
    Py_XDECREF(r);
    CHECK_NO_EXC();

    EXPECT_FAIL(PyStackless_RunWatchdogEx(0, 0x100), NULL, PyExc_ValueError,
                "PyStackless_RunWatchdogEx: unknown flags 0x100");
    EXPECT_FAIL(PyStackless_GetThreadInfo(1), NULL, PyExc_ValueError,
                "PyStackless_GetThreadInfo: unknown thread id");

    /* Callbacks: NULL removes; a non-callable is refused and changes nothing. */
    EXPECT_FAIL(PyStackless_SetChannelCallback(an_int), -1, PyExc_TypeError,
                "channel callback must be callable");
    EXPECT_QUIET(PyStackless_SetChannelCallback(NULL), 0);
    EXPECT_FAIL(PyStackless_SetScheduleCallback(a_str), -1, PyExc_TypeError,
                "schedule callback must be callable");
    EXPECT_QUIET(PyStackless_SetScheduleCallback(NULL), 0);
    PyStackless_SetScheduleFastcallback(NULL);
    CHECK_NO_EXC();
    EXPECT_FAIL(PyStackless_SetErrorHandler(a_dict), NULL, PyExc_TypeError,
                "error handler must be callable");
    r = PyStackless_SetErrorHandler(NULL);
    CHECK(r == Py_None);
    Py_XDECREF(r);
    CHECK_NO_EXC();

    EXPECT_FAIL(PyStackless_Call_Main(NULL, NULL, NULL), NULL, PyExc_SystemError,
                NULLMSG("PyStackless_Call_Main", "func"));
    EXPECT_FAIL(PyStackless_Call_Main(f, a_dict, NULL), NULL, PyExc_TypeError,
                TYPEMSG("PyStackless_Call_Main", "args", "tuple", "dict"));
    EXPECT_FAIL(PyStackless_Call_Main(f, NULL, a_tuple), NULL, PyExc_TypeError,
                TYPEMSG("PyStackless_Call_Main", "kwds", "dict", "tuple"));
    EXPECT_FAIL(PyStackless_Call_Main(an_int, NULL, NULL), NULL, PyExc_TypeError,
                "'int' object is not callable");

    EXPECT_FAIL(PyStackless_CallMethod_Main(NULL, "x", NULL), NULL, PyExc_SystemError,
                NULLMSG("PyStackless_CallMethod_Main", "o"));
    EXPECT_FAIL(PyStackless_CallMethod_Main(an_int, NULL, NULL), NULL, PyExc_TypeError,
                "'int' object is not callable");
    EXPECT_FAIL(PyStackless_CallMethod_Main(an_int, "nosuch", NULL), NULL,
                PyExc_AttributeError, "'int' object has no attribute 'nosuch'");
    EXPECT_FAIL(PyStackless_CallMethod_Main(f, NULL, "i", 5), NULL, PyExc_TypeError,
                "f() takes no arguments (1 given)");
    EXPECT_FAIL(PyStackless_CallMethod_Main(f, NULL, "f"), NULL, PyExc_SystemError,
                "Py_BuildValue: unsupported format unit 'f'");
    EXPECT_FAIL(PyStackless_CallCMethod_Main(NULL, NULL, NULL), NULL, PyExc_SystemError,
                NULLMSG("PyStackless_CallCMethod_Main", "meth"));
    EXPECT_FAIL(PyStackless_CallCMethod_Main(&def_badflags, NULL, NULL), NULL,
                PyExc_SystemError, "g() method: bad call flags");
    EXPECT_FAIL(PyStackless_CallCMethod_Main(&def_noargs, an_int, "i", 5), NULL,
                PyExc_TypeError, "int.f() takes no arguments (1 given)"); /* bound to 7 */

    Py_DECREF(f);
}

/* Nothing above switched or changed the scheduler: main is still running alone and no
 * callback is installed. */
static void check_scheduler_untouched(void) {
    PyObject *cur = PyStackless_GetCurrent();
    PyObject *main_ = PyStackless_GetMain();
    CHECK(cur == main_);
    Py_XDECREF(cur);
    Py_XDECREF(main_);
    CHECK_EQ_INT(PyStackless_GetRunCount(), 1);
    CHECK(PyStackless_GetCurrentId() == PyThread_get_thread_ident());
    PyObject *cb[3] = {PyStackless_GetChannelCallback(), PyStackless_GetScheduleCallback(),
                       PyStackless_GetErrorHandler()};
    for (int i = 0; i < 3; i++) {
        CHECK(cb[i] == Py_None);
        Py_XDECREF(cb[i]);
    }
    CHECK_NO_EXC();
}

/* Soft-switchable function declarations (SPEC §7). */
static PyObject *soft_fn(PyObject *retval, long *step, PyObject **ob1, PyObject **ob2,
                         PyObject **ob3, long *n, void **any) {
    STACKLESS_GETARG();
    (void)stackless;
    (void)step;
    (void)ob1;
    (void)ob2;
    (void)ob3;
    (void)n;
    (void)any;
    Py_XINCREF(retval);
    return retval;
}

static void test_soft(void) {
    static PyStacklessFunctionDeclarationObject uninit = {PyObject_HEAD_INIT(NULL) soft_fn,
                                                          "soft_fn", NULL};
    static PyStacklessFunctionDeclarationObject nofunc = {PyObject_HEAD_INIT(NULL) NULL,
                                                          "nofunc", NULL};
    static PyStacklessFunctionDeclarationObject decl = {PyObject_HEAD_INIT(NULL) soft_fn,
                                                        "soft_fn", NULL};
    EXPECT_FAIL(PyStackless_InitFunctionDeclaration(NULL, NULL, NULL), -1, PyExc_SystemError,
                NULLMSG("PyStackless_InitFunctionDeclaration", "sfd"));
    EXPECT_FAIL(PyStackless_InitFunctionDeclaration(&nofunc, NULL, NULL), -1, PyExc_SystemError,
                "PyStackless_InitFunctionDeclaration: the declaration has no function (sfunc is NULL)");
    EXPECT_FAIL(PyStackless_InitFunctionDeclaration(&decl, an_int, NULL), -1, PyExc_TypeError,
                TYPEMSG("PyStackless_InitFunctionDeclaration", "module", "str", "int"));
    CHECK_EQ_INT(PyStackless_InitFunctionDeclaration(&decl, NULL, NULL), 0);
    CHECK_EQ_INT(PyStacklessFunctionDeclarationType_CheckExact((PyObject *)&decl), 1);
    CHECK_EQ_INT(PyStacklessFunctionDeclarationType_CheckExact((PyObject *)&uninit), 0);
    CHECK_EQ_INT(PyStacklessFunctionDeclarationType_CheckExact(an_int), 0);
    CHECK_EQ_INT(PyStacklessFunctionDeclarationType_CheckExact(NULL), 0);

    EXPECT_FAIL(PyStackless_CallFunction(NULL, an_int, NULL, NULL, NULL, 0, NULL), NULL,
                PyExc_SystemError, NULLMSG("PyStackless_CallFunction", "sfd"));
    EXPECT_FAIL(PyStackless_CallFunction(&uninit, an_int, NULL, NULL, NULL, 0, NULL), NULL,
                PyExc_SystemError,
                "PyStackless_CallFunction: the declaration is not initialized (call "
                "PyStackless_InitFunctionDeclaration first)");
    EXPECT_FAIL(PyStackless_CallFunction((PyStacklessFunctionDeclarationObject *)an_int, an_int,
                                         NULL, NULL, NULL, 0, NULL),
                NULL, PyExc_TypeError,
                TYPEMSG("PyStackless_CallFunction", "sfd", "a soft switchable function declaration",
                        "int"));
    /* NULL arg means "an exception is pending": with none pending, the function sees NULL
     * and returns it, which is reported as a protocol error. */
    EXPECT_FAIL(PyStackless_CallFunction(&decl, NULL, NULL, NULL, NULL, 0, NULL), NULL,
                PyExc_SystemError, "soft_fn returned NULL without setting an exception");
    /* A direct call (no stackless flag) returns the function's result. */
    PyObject *r = PyStackless_CallFunction(&decl, an_int, NULL, NULL, NULL, 0, NULL);
    CHECK(r == an_int);
    Py_XDECREF(r);
        /* PyStackless_Tick: a negative count is a ValueError; no pointer parameter. */
    EXPECT_FAIL(PyStackless_Tick(-1), -1, PyExc_ValueError,
                "PyStackless_Tick: the number of ticks must not be negative");
    CHECK_EQ_INT(PyStackless_Tick(0), 0);
    /* The protocol flag: GETARG clears it. */
    _PyStackless_TRY_STACKLESS = 1;
    CHECK_EQ_INT(_PyStackless_GetTryStackless(), 1);
    CHECK_EQ_INT(_PyStackless_TRY_STACKLESS, 0);
    CHECK_NO_EXC();
}

int main(void) {
    an_int = PyLong_FromLong(7);
    a_str = PyUnicode_FromString("s");
    a_dict = PyDict_New();
    a_tuple = PyTuple_New(1);
    PyTuple_SetItem(a_tuple, 0, PyLong_FromLong(1));
    Py_INCREF(a_tuple); /* shared: PyTuple_SetItem must refuse it */
    a_capsule = PyCapsule_New(&capsule_target, "bad.cap", NULL);
    PyObject *msg = PyUnicode_FromString("e");
    an_exc = PyObject_CallOneArg(PyExc_ValueError, msg);
    Py_DECREF(msg);
    CHECK_OBJ_STR(an_exc, "e");
    a_tasklet = PyTasklet_New(NULL, NULL);
    a_channel = PyChannel_New(NULL);
    CHECK(a_tasklet != NULL && a_channel != NULL);
    CHECK_NO_EXC();

    test_callables();
    test_capsules();
    test_tuples();
    test_dicts();
    test_errors();
    test_numbers();
    test_objects();
    test_text();
    test_tasklets();
    test_channels();
    test_scheduler();
    test_soft();
    check_scheduler_untouched();

    Py_DECREF(an_int);
    Py_DECREF(a_str);
    Py_DECREF(a_dict);
    Py_DECREF(a_tuple);
    Py_DECREF(a_tuple);
    Py_DECREF(a_capsule);
    Py_DECREF(an_exc);
    Py_DECREF(a_tasklet);
    Py_DECREF(a_channel);
    CHECK_NO_EXC();
    return check_report();
}
