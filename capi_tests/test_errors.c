/* test_errors.c: the error indicator and exceptions through the public C API.
 *
 * Every PyErr_* function (except the variadic PyErr_Format, covered by test_varargs.c), the
 * PyExc_* hierarchy, matching with classes, instances and tuples, Fetch/Restore and
 * GetRaisedException/SetRaisedException round trips, normalization, PyErr_NewException,
 * exception args/str/repr/attributes, SystemExit's code, and the text PyErr_Print and
 * PyErr_WriteUnraisable write to stderr (captured with dup2).
 */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include "check.h"

/* ----- capturing stderr ----- */

static FILE *capture_file;
static int saved_stderr = -1;
static char captured[4096];

static void capture_start(void) {
    fflush(stderr);
    capture_file = tmpfile();
    saved_stderr = dup(2);
    dup2(fileno(capture_file), 2);
}

static const char *capture_end(void) {
    fflush(stderr);
    dup2(saved_stderr, 2);
    close(saved_stderr);
    rewind(capture_file);
    size_t n = fread(captured, 1, sizeof captured - 1, capture_file);
    captured[n] = 0;
    fclose(capture_file);
    return captured;
}

/* Makes type(msg) as a new reference. */
static PyObject *make_exc(PyObject *type, const char *msg) {
    PyObject *m = PyUnicode_FromString(msg);
    PyObject *e = PyObject_CallOneArg(type, m);
    Py_DECREF(m);
    return e;
}

/* ----- the hierarchy ----- */

static void check_base(PyObject *cls, PyObject *base, const char *name) {
    CHECK_EQ_INT(PyExceptionClass_Check(cls), 1);
    CHECK_STR(PyType_GetTpName((PyTypeObject *)cls), name);
    PyObject *b = PyObject_GetAttrString(cls, "__base__");
    if (b != base) {
        char buf[128];
        snprintf(buf, sizeof buf, "%s.__base__ is %s", name,
                 b && PyType_Check(b) ? PyType_GetTpName((PyTypeObject *)b) : "?");
        CHECK_STR(buf, "the expected base");
    } else {
        CHECK(b == base);
    }
    Py_XDECREF(b);
    CHECK_EQ_INT(PyType_IsSubtype((PyTypeObject *)cls, (PyTypeObject *)base), 1);
    if (PyExceptionClass_Check(base)) {
        CHECK_EQ_INT(PyErr_GivenExceptionMatches(cls, base), 1);
        CHECK_EQ_INT(PyErr_GivenExceptionMatches(base, cls), 0);
    } else {
        /* object is not an exception class: it matches only itself. */
        CHECK_EQ_INT(PyErr_GivenExceptionMatches(cls, base), 0);
    }
}

static void test_hierarchy(void) {
    check_base(PyExc_BaseException, (PyObject *)&PyBaseObject_Type, "BaseException");
    check_base(PyExc_SystemExit, PyExc_BaseException, "SystemExit");
    check_base(PyExc_TaskletExit, PyExc_SystemExit, "TaskletExit");
    check_base(PyExc_KeyboardInterrupt, PyExc_BaseException, "KeyboardInterrupt");
    check_base(PyExc_Exception, PyExc_BaseException, "Exception");
    check_base(PyExc_StopIteration, PyExc_Exception, "StopIteration");
    check_base(PyExc_ArithmeticError, PyExc_Exception, "ArithmeticError");
    check_base(PyExc_OverflowError, PyExc_ArithmeticError, "OverflowError");
    check_base(PyExc_ZeroDivisionError, PyExc_ArithmeticError, "ZeroDivisionError");
    check_base(PyExc_AttributeError, PyExc_Exception, "AttributeError");
    check_base(PyExc_LookupError, PyExc_Exception, "LookupError");
    check_base(PyExc_IndexError, PyExc_LookupError, "IndexError");
    check_base(PyExc_KeyError, PyExc_LookupError, "KeyError");
    check_base(PyExc_MemoryError, PyExc_Exception, "MemoryError");
    check_base(PyExc_RuntimeError, PyExc_Exception, "RuntimeError");
    check_base(PyExc_RecursionError, PyExc_RuntimeError, "RecursionError");
    check_base(PyExc_NotImplementedError, PyExc_RuntimeError, "NotImplementedError");
    check_base(PyExc_SystemError, PyExc_Exception, "SystemError");
    check_base(PyExc_TypeError, PyExc_Exception, "TypeError");
    check_base(PyExc_ValueError, PyExc_Exception, "ValueError");
    check_base(PyExc_Warning, PyExc_Exception, "Warning");
    check_base(PyExc_UserWarning, PyExc_Warning, "UserWarning");

    /* TaskletExit is not an Exception: `except Exception` does not catch it. */
    CHECK_EQ_INT(PyErr_GivenExceptionMatches(PyExc_TaskletExit, PyExc_Exception), 0);
    CHECK_EQ_INT(PyErr_GivenExceptionMatches(PyExc_TaskletExit, PyExc_BaseException), 1);
    CHECK_EQ_INT(PyErr_GivenExceptionMatches(PyExc_KeyError, PyExc_IndexError), 0);
    CHECK_EQ_INT(PyErr_GivenExceptionMatches(PyExc_RecursionError, PyExc_Exception), 1);

    CHECK_REPR(PyExc_ValueError, "<class 'ValueError'>");
    CHECK_REPR(PyExc_TaskletExit, "<class 'TaskletExit'>");
    PyObject *mod = PyObject_GetAttrString(PyExc_TaskletExit, "__module__");
    CHECK_OBJ_STR(mod, "builtins");
    Py_XDECREF(mod);

    CHECK_EQ_INT(PyExceptionClass_Check((PyObject *)&PyLong_Type), 0);
    CHECK_EQ_INT(PyExceptionClass_Check(Py_None), 0);
    CHECK_EQ_INT(PyExceptionClass_Check(NULL), 0);
    CHECK_EQ_INT(PyExceptionInstance_Check(PyExc_ValueError), 0);
    CHECK_EQ_INT(PyExceptionInstance_Check(NULL), 0);
}

/* ----- matching ----- */

static void test_matching(void) {
    PyObject *ke = make_exc(PyExc_KeyError, "k");
    CHECK_EQ_INT(PyExceptionInstance_Check(ke), 1);
    CHECK_EQ_INT(PyExceptionClass_Check(ke), 0);
    CHECK_EQ_INT(PyErr_GivenExceptionMatches(ke, PyExc_KeyError), 1);
    CHECK_EQ_INT(PyErr_GivenExceptionMatches(ke, PyExc_LookupError), 1);
    CHECK_EQ_INT(PyErr_GivenExceptionMatches(ke, PyExc_BaseException), 1);
    CHECK_EQ_INT(PyErr_GivenExceptionMatches(ke, PyExc_ValueError), 0);

    /* Tuples: any member; nested tuples too. */
    PyObject *t = PyTuple_New(2);
    PyTuple_SetItem(t, 0, Py_NewRef(PyExc_ValueError));
    PyTuple_SetItem(t, 1, Py_NewRef(PyExc_LookupError));
    CHECK_EQ_INT(PyErr_GivenExceptionMatches(ke, t), 1);
    CHECK_EQ_INT(PyErr_GivenExceptionMatches(PyExc_IndexError, t), 1);
    CHECK_EQ_INT(PyErr_GivenExceptionMatches(PyExc_TypeError, t), 0);
    PyObject *nested = PyTuple_New(2);
    PyTuple_SetItem(nested, 0, Py_NewRef(PyExc_TypeError));
    PyTuple_SetItem(nested, 1, t);
    CHECK_EQ_INT(PyErr_GivenExceptionMatches(ke, nested), 1);
    PyObject *empty = PyTuple_New(0);
    CHECK_EQ_INT(PyErr_GivenExceptionMatches(ke, empty), 0);

    /* Non-exceptions match only themselves. */
    PyObject *five = PyLong_FromLong(5);
    CHECK_EQ_INT(PyErr_GivenExceptionMatches(five, PyExc_Exception), 0);
    CHECK_EQ_INT(PyErr_GivenExceptionMatches(five, five), 1);
    CHECK_EQ_INT(PyErr_GivenExceptionMatches((PyObject *)&PyLong_Type,
                                             (PyObject *)&PyBaseObject_Type), 0);
    CHECK_EQ_INT(PyErr_GivenExceptionMatches(PyExc_ValueError, five), 0);
    CHECK_EQ_INT(PyErr_GivenExceptionMatches(NULL, PyExc_Exception), 0);
    CHECK_EQ_INT(PyErr_GivenExceptionMatches(ke, NULL), 0);
    /* An instance is not a class to match against. */
    CHECK_EQ_INT(PyErr_GivenExceptionMatches(ke, ke), 0);

    /* PyErr_ExceptionMatches looks at the pending exception. */
    CHECK_EQ_INT(PyErr_ExceptionMatches(PyExc_Exception), 0);
    PyErr_SetObject(PyExc_KeyError, five);
    CHECK_EQ_INT(PyErr_ExceptionMatches(PyExc_LookupError), 1);
    CHECK_EQ_INT(PyErr_ExceptionMatches(nested), 1);
    CHECK_EQ_INT(PyErr_ExceptionMatches(PyExc_ValueError), 0);
    CHECK_EQ_INT(PyErr_ExceptionMatches(NULL), 0);
    CHECK_EXC(PyExc_KeyError, "5");
    CHECK_NO_EXC();

    Py_DECREF(nested);
    Py_DECREF(empty);
    Py_DECREF(five);
    Py_DECREF(ke);
}

/* ----- setting and clearing ----- */

static void test_set_clear(void) {
    CHECK(PyErr_Occurred() == NULL);
    PyErr_SetString(PyExc_ValueError, "boom");
    CHECK(PyErr_Occurred() == PyExc_ValueError);
    CHECK(PyErr_Occurred() == PyExc_ValueError); /* borrowed: no change */
    PyErr_Clear();
    CHECK(PyErr_Occurred() == NULL);
    PyErr_Clear(); /* nothing pending: fine */

    /* A new exception replaces the pending one. */
    PyErr_SetString(PyExc_ValueError, "first");
    PyErr_SetString(PyExc_TypeError, "second");
    CHECK_EXC(PyExc_TypeError, "second");
    CHECK_NO_EXC();

    /* UTF-8 messages. */
    PyErr_SetString(PyExc_ValueError, "caf\xc3\xa9");
    CHECK_EXC(PyExc_ValueError, "caf\xc3\xa9");

    /* SetNone: no args. */
    PyErr_SetNone(PyExc_KeyboardInterrupt);
    CHECK(PyErr_Occurred() == PyExc_KeyboardInterrupt);
    PyObject *e = PyErr_GetRaisedException();
    PyObject *args = PyException_GetArgs(e);
    CHECK_EQ_INT(PyTuple_Size(args), 0);
    CHECK_OBJ_STR(e, "");
    CHECK_REPR(e, "KeyboardInterrupt()");
    Py_XDECREF(args);
    Py_XDECREF(e);

    /* SetObject: the value becomes the argument; a tuple gives the arguments; an instance of
     * the class (or a subclass) is raised as is; None means no arguments. */
    PyObject *v = PyLong_FromLong(3);
    PyErr_SetObject(PyExc_SystemExit, v);
    e = PyErr_GetRaisedException();
    CHECK_REPR(e, "SystemExit(3)");
    Py_XDECREF(e);
    Py_DECREF(v);
    PyObject *t = PyTuple_New(2);
    PyTuple_SetItem(t, 0, PyUnicode_FromString("a"));
    PyTuple_SetItem(t, 1, PyLong_FromLong(1));
    PyErr_SetObject(PyExc_ValueError, t);
    e = PyErr_GetRaisedException();
    CHECK_REPR(e, "ValueError('a', 1)");
    CHECK_OBJ_STR(e, "('a', 1)");
    Py_XDECREF(e);
    Py_DECREF(t);
    PyErr_SetObject(PyExc_ValueError, Py_None);
    e = PyErr_GetRaisedException();
    CHECK_REPR(e, "ValueError()");
    Py_XDECREF(e);
    PyObject *ke = make_exc(PyExc_KeyError, "k");
    PyErr_SetObject(PyExc_LookupError, ke); /* a subclass instance: raised as is */
    CHECK(PyErr_Occurred() == PyExc_KeyError);
    e = PyErr_GetRaisedException();
    CHECK(e == ke);
    Py_XDECREF(e);
    PyErr_SetObject(PyExc_TypeError, ke); /* another class: wrapped as the argument */
    e = PyErr_GetRaisedException();
    CHECK(e != ke && Py_TYPE(e) == (PyTypeObject *)PyExc_TypeError);
    CHECK_REPR(e, "TypeError(KeyError('k'))");
    CHECK_OBJ_STR(e, "'k'");
    Py_XDECREF(e);
    Py_DECREF(ke);

    /* Not an exception class: SystemError. */
    PyErr_SetString((PyObject *)&PyLong_Type, "x");
    CHECK_EXC_CONTAINS(PyExc_SystemError, "is not a BaseException subclass");
    PyErr_SetObject(Py_None, NULL);
    CHECK_EXC(PyExc_SystemError, NULL);
    PyErr_SetString(NULL, "x");
    CHECK_EXC(PyExc_SystemError, NULL);
    PyErr_SetString(PyExc_ValueError, NULL);
    CHECK_EXC(PyExc_SystemError, NULL);
    PyErr_SetNone(NULL);
    CHECK_EXC(PyExc_SystemError, NULL);

    /* Helpers. */
    CHECK(PyErr_NoMemory() == NULL);
    CHECK(PyErr_Occurred() == PyExc_MemoryError);
    CHECK_EXC(PyExc_MemoryError, "");
    CHECK_EQ_INT(PyErr_BadArgument(), 0);
    CHECK_EXC(PyExc_TypeError, "bad argument type for built-in operation");
    PyErr_BadInternalCall();
    CHECK_EXC(PyExc_SystemError, "bad argument to internal function");
}

/* ----- fetch / restore ----- */

static void test_fetch_restore(void) {
    PyObject *t = (PyObject *)1, *v = (PyObject *)1, *tb = (PyObject *)1;
    PyErr_Fetch(&t, &v, &tb); /* nothing pending */
    CHECK(t == NULL && v == NULL && tb == NULL);

    PyErr_SetString(PyExc_IndexError, "idx");
    PyErr_Fetch(&t, &v, &tb);
    CHECK_NO_EXC();
    CHECK(t == PyExc_IndexError);
    CHECK(v != NULL && Py_TYPE(v) == (PyTypeObject *)PyExc_IndexError); /* normalized */
    CHECK(tb == NULL);
    CHECK_OBJ_STR(v, "idx");
    PyObject *keep = Py_NewRef(v);
    PyErr_Restore(t, v, tb);
    CHECK(PyErr_Occurred() == PyExc_IndexError);
    /* Identity survives. */
    PyErr_Fetch(&t, &v, &tb);
    CHECK(v == keep);
    PyErr_Restore(t, v, tb);
    PyObject *e = PyErr_GetRaisedException();
    CHECK(e == keep);
    PyErr_SetRaisedException(e);
    CHECK(PyErr_GetRaisedException() == keep);
    Py_DECREF(keep); /* the reference GetRaisedException returned */
    Py_DECREF(keep);

    /* Restore with an unnormalized value is normalized. */
    PyErr_Restore(Py_NewRef(PyExc_ValueError), PyUnicode_FromString("lazy"), NULL);
    e = PyErr_GetRaisedException();
    CHECK(e != NULL && Py_TYPE(e) == (PyTypeObject *)PyExc_ValueError);
    CHECK_OBJ_STR(e, "lazy");
    Py_XDECREF(e);
    PyErr_Restore(Py_NewRef(PyExc_ValueError), NULL, NULL);
    e = PyErr_GetRaisedException();
    CHECK_REPR(e, "ValueError()");
    Py_XDECREF(e);

    /* Tracebacks are opaque objects carried along; Restore sets (or clears) them. */
    PyObject *fake_tb = PyUnicode_FromString("tb");
    PyErr_Restore(Py_NewRef(PyExc_ValueError), NULL, fake_tb);
    e = PyErr_GetRaisedException();
    PyObject *got_tb = PyObject_GetAttrString(e, "__traceback__");
    CHECK(got_tb == fake_tb);
    Py_XDECREF(got_tb);
    PyErr_Restore(Py_NewRef(PyExc_ValueError), e, NULL); /* steals e; clears its traceback */
    PyErr_Fetch(&t, &v, &tb);
    CHECK(tb == NULL);
    got_tb = PyObject_GetAttrString(v, "__traceback__");
    CHECK(got_tb == Py_None);
    Py_XDECREF(got_tb);
    Py_XDECREF(t);
    Py_XDECREF(v);

    /* GetRaisedException / SetRaisedException. */
    CHECK(PyErr_GetRaisedException() == NULL);
    PyErr_SetRaisedException(NULL); /* clears */
    CHECK_NO_EXC();
    PyErr_SetString(PyExc_ValueError, "x");
    PyErr_SetRaisedException(NULL);
    CHECK_NO_EXC();
    e = make_exc(PyExc_RuntimeError, "set");
    PyErr_SetRaisedException(e);
    CHECK(PyErr_Occurred() == PyExc_RuntimeError);
    CHECK_EXC(PyExc_RuntimeError, "set");
    PyErr_SetRaisedException(PyLong_FromLong(1));
    CHECK_EXC(PyExc_SystemError, NULL);
    PyErr_SetRaisedException(Py_NewRef(PyExc_ValueError)); /* a class is not an instance */
    CHECK_EXC(PyExc_SystemError, NULL);

    /* Bad arguments. */
    PyErr_SetString(PyExc_ValueError, "kept");
    PyErr_Fetch(NULL, &v, &tb);
    CHECK_EXC(PyExc_SystemError, "PyErr_Fetch: argument 'ptype' must not be NULL");
    PyErr_Restore(Py_NewRef(Py_None), NULL, NULL);
    CHECK_EXC(PyExc_SystemError, NULL);
}

static void test_normalize(void) {
    PyObject *t = Py_NewRef(PyExc_ValueError), *v = PyUnicode_FromString("n"), *tb = NULL;
    PyErr_NormalizeException(&t, &v, &tb);
    CHECK_NO_EXC();
    CHECK(t == PyExc_ValueError);
    CHECK(v != NULL && Py_TYPE(v) == (PyTypeObject *)PyExc_ValueError);
    CHECK_OBJ_STR(v, "n");
    CHECK(tb == NULL);
    /* Already normalized: unchanged. */
    PyObject *same = v;
    PyErr_NormalizeException(&t, &v, &tb);
    CHECK(v == same && t == PyExc_ValueError);
    Py_DECREF(t);
    Py_DECREF(v);

    /* NULL value. */
    t = Py_NewRef(PyExc_KeyError);
    v = NULL;
    PyErr_NormalizeException(&t, &v, &tb);
    CHECK_REPR(v, "KeyError()");
    Py_DECREF(t);
    Py_DECREF(v);

    /* A subclass instance: the type becomes the instance's class. */
    t = Py_NewRef(PyExc_LookupError);
    v = make_exc(PyExc_KeyError, "sub");
    PyErr_NormalizeException(&t, &v, &tb);
    CHECK(t == PyExc_KeyError);
    CHECK_REPR(v, "KeyError('sub')");
    Py_DECREF(t);
    Py_DECREF(v);

    /* A tuple value gives the arguments. */
    t = Py_NewRef(PyExc_ValueError);
    v = PyTuple_New(2);
    PyTuple_SetItem(v, 0, PyLong_FromLong(1));
    PyTuple_SetItem(v, 1, PyLong_FromLong(2));
    PyErr_NormalizeException(&t, &v, &tb);
    CHECK_REPR(v, "ValueError(1, 2)");
    Py_DECREF(t);
    Py_DECREF(v);

    /* NULL type: nothing to do. */
    t = NULL;
    v = NULL;
    PyErr_NormalizeException(&t, &v, &tb);
    CHECK(t == NULL && v == NULL);
    CHECK_NO_EXC();

    /* A non-class type: the triple becomes the error. */
    t = PyLong_FromLong(1);
    v = NULL;
    PyErr_NormalizeException(&t, &v, &tb);
    CHECK(t == PyExc_SystemError);
    CHECK(v != NULL && PyExceptionInstance_Check(v));
    CHECK_NO_EXC();
    Py_XDECREF(t);
    Py_XDECREF(v);

    PyErr_NormalizeException(NULL, &v, &tb);
    CHECK_EXC(PyExc_SystemError, NULL);
}

/* ----- instances: args, str, repr, attributes ----- */

static void test_instances(void) {
    PyObject *e = make_exc(PyExc_ValueError, "boom");
    CHECK_OBJ_STR(e, "boom");
    CHECK_REPR(e, "ValueError('boom')");
    PyObject *args = PyException_GetArgs(e);
    CHECK_REPR(args, "('boom',)");
    PyObject *args2 = PyObject_GetAttrString(e, "args");
    CHECK(args2 == args);
    Py_XDECREF(args2);
    Py_XDECREF(args);
    CHECK_EQ_INT(PyObject_IsTrue(e), 1);
    CHECK_EQ_INT(PyObject_HasAttrString(e, "args"), 1);
    CHECK_EQ_INT(PyObject_HasAttrString(e, "code"), 0);
    CHECK(PyObject_GetAttrString(e, "code") == NULL);
    CHECK_EXC(PyExc_AttributeError, "'ValueError' object has no attribute 'code'");

    /* Replacing args. */
    PyObject *nargs = PyTuple_New(2);
    PyTuple_SetItem(nargs, 0, PyUnicode_FromString("x"));
    PyTuple_SetItem(nargs, 1, PyLong_FromLong(2));
    CHECK_EQ_INT(PyObject_SetAttrString(e, "args", nargs), 0);
    Py_DECREF(nargs);
    CHECK_OBJ_STR(e, "('x', 2)");
    CHECK_REPR(e, "ValueError('x', 2)");
    PyObject *one = PyLong_FromLong(1);
    CHECK_EQ_INT(PyObject_SetAttrString(e, "args", one), -1);
    CHECK_EXC(PyExc_TypeError, NULL);
    CHECK_EQ_INT(PyObject_SetAttrString(e, "args", NULL), -1);
    CHECK_EXC(PyExc_TypeError, "args may not be deleted");

    /* __context__ / __cause__ / __traceback__ default to None. */
    PyObject *a = PyObject_GetAttrString(e, "__context__");
    CHECK(a == Py_None);
    Py_XDECREF(a);
    a = PyObject_GetAttrString(e, "__cause__");
    CHECK(a == Py_None);
    Py_XDECREF(a);
    a = PyObject_GetAttrString(e, "__traceback__");
    CHECK(a == Py_None);
    Py_XDECREF(a);
    CHECK(PyException_GetContext(e) == NULL);
    CHECK(PyException_GetCause(e) == NULL);
    CHECK_NO_EXC();
    PyObject *ctx = make_exc(PyExc_KeyError, "c");
    CHECK_EQ_INT(PyObject_SetAttrString(e, "__context__", ctx), 0);
    PyObject *got = PyException_GetContext(e);
    CHECK(got == ctx);
    Py_XDECREF(got);
    CHECK_EQ_INT(PyObject_SetAttrString(e, "__context__", Py_None), 0);
    CHECK(PyException_GetContext(e) == NULL);
    CHECK_EQ_INT(PyObject_SetAttrString(e, "__context__", one), -1);
    CHECK_EXC(PyExc_TypeError, "exception context must be None or derive from BaseException");
    CHECK_EQ_INT(PyObject_SetAttrString(e, "__cause__", one), -1);
    CHECK_EXC(PyExc_TypeError, "exception cause must be None or derive from BaseException");
    CHECK_EQ_INT(PyObject_SetAttrString(e, "__cause__", ctx), 0);
    got = PyObject_GetAttrString(e, "__cause__");
    CHECK(got == ctx);
    Py_XDECREF(got);
    PyException_SetCause(e, NULL);
    CHECK(PyException_GetCause(e) == NULL);
    PyException_SetContext(e, Py_NewRef(one)); /* steals; not an exception */
    CHECK_EXC(PyExc_TypeError, NULL);
    CHECK(PyException_GetContext(e) == NULL);
    Py_DECREF(ctx);

    /* Other messages. */
    PyObject *empty = PyObject_CallNoArgs(PyExc_RuntimeError);
    CHECK_OBJ_STR(empty, "");
    CHECK_REPR(empty, "RuntimeError()");
    Py_XDECREF(empty);
    PyObject *k = make_exc(PyExc_KeyError, "key");
    CHECK_OBJ_STR(k, "'key'");
    CHECK_REPR(k, "KeyError('key')");
    Py_XDECREF(k);
    k = PyObject_CallOneArg(PyExc_KeyError, one);
    CHECK_OBJ_STR(k, "1");
    Py_XDECREF(k);
    PyObject *q = make_exc(PyExc_ValueError, "it's \"q\"");
    CHECK_OBJ_STR(q, "it's \"q\"");
    CHECK_REPR(q, "ValueError('it\\'s \"q\"')");
    Py_XDECREF(q);
    PyObject *nested = PyObject_CallOneArg(PyExc_TypeError, e);
    CHECK_REPR(nested, "TypeError(ValueError('x', 2))");
    Py_XDECREF(nested);

    /* No keyword arguments. */
    PyObject *kw = PyDict_New();
    PyDict_SetItemString(kw, "x", one);
    PyObject *noargs = PyTuple_New(0);
    CHECK(PyObject_Call(PyExc_ValueError, noargs, kw) == NULL);
    CHECK_EXC(PyExc_TypeError, "ValueError() takes no keyword arguments");
    Py_DECREF(noargs);
    Py_DECREF(kw);

    /* PyException_GetArgs on something else. */
    CHECK(PyException_GetArgs(one) == NULL);
    CHECK_EXC(PyExc_TypeError, NULL);
    CHECK(PyException_GetArgs(PyExc_ValueError) == NULL);
    CHECK_EXC(PyExc_TypeError, NULL);

    Py_DECREF(one);
    Py_DECREF(e);
}

static void test_system_exit(void) {
    PyObject *e = PyObject_CallNoArgs(PyExc_SystemExit);
    PyObject *code = PyObject_GetAttrString(e, "code");
    CHECK(code == Py_None);
    Py_XDECREF(code);
    Py_XDECREF(e);

    PyObject *three = PyLong_FromLong(3);
    e = PyObject_CallOneArg(PyExc_SystemExit, three);
    code = PyObject_GetAttrString(e, "code");
    CHECK(code == three);
    Py_XDECREF(code);
    CHECK_OBJ_STR(e, "3");
    Py_XDECREF(e);

    e = make_exc(PyExc_TaskletExit, "bye");
    code = PyObject_GetAttrString(e, "code");
    CHECK_OBJ_STR(code, "bye");
    Py_XDECREF(code);
    CHECK_REPR(e, "TaskletExit('bye')");
    CHECK_EQ_INT(PyErr_GivenExceptionMatches(e, PyExc_SystemExit), 1);
    CHECK_EQ_INT(PyErr_GivenExceptionMatches(e, PyExc_Exception), 0);
    Py_XDECREF(e);

    PyObject *t = PyTuple_New(2);
    PyTuple_SetItem(t, 0, PyLong_FromLong(1));
    PyTuple_SetItem(t, 1, PyLong_FromLong(2));
    e = PyObject_Call(PyExc_TaskletExit, t, NULL);
    code = PyObject_GetAttrString(e, "code");
    CHECK_REPR(code, "(1, 2)");
    Py_XDECREF(code);
    Py_XDECREF(e);
    Py_DECREF(t);

    PyErr_SetNone(PyExc_TaskletExit);
    CHECK(PyErr_ExceptionMatches(PyExc_SystemExit));
    e = PyErr_GetRaisedException();
    code = PyObject_GetAttrString(e, "code");
    CHECK(code == Py_None);
    Py_XDECREF(code);
    Py_XDECREF(e);
    Py_DECREF(three);
}

/* ----- PyErr_NewException ----- */

static void test_new_exception(void) {
    PyObject *MyErr = PyErr_NewException("mod.MyErr", NULL, NULL);
    CHECK(MyErr != NULL);
    if (MyErr == NULL) return;
    CHECK_EQ_INT(PyExceptionClass_Check(MyErr), 1);
    CHECK_EQ_INT(PyType_Check(MyErr), 1);
    CHECK_EQ_INT(Py_REFCNT(MyErr), 1);
    CHECK_REPR(MyErr, "<class 'mod.MyErr'>");
    CHECK_STR(PyType_GetTpName((PyTypeObject *)MyErr), "mod.MyErr");
    PyObject *a = PyObject_GetAttrString(MyErr, "__module__");
    CHECK_OBJ_STR(a, "mod");
    Py_XDECREF(a);
    a = PyObject_GetAttrString(MyErr, "__name__");
    CHECK_OBJ_STR(a, "MyErr");
    Py_XDECREF(a);
    a = PyObject_GetAttrString(MyErr, "__base__");
    CHECK(a == PyExc_Exception);
    Py_XDECREF(a);
    CHECK_EQ_INT(PyErr_GivenExceptionMatches(MyErr, PyExc_Exception), 1);

    /* Raise and match. */
    PyErr_SetString(MyErr, "mine");
    CHECK(PyErr_Occurred() == MyErr);
    CHECK_EQ_INT(PyErr_ExceptionMatches(MyErr), 1);
    CHECK_EQ_INT(PyErr_ExceptionMatches(PyExc_Exception), 1);
    CHECK_EQ_INT(PyErr_ExceptionMatches(PyExc_ValueError), 0);
    PyObject *e = PyErr_GetRaisedException();
    CHECK_OBJ_STR(e, "mine");
    CHECK_REPR(e, "MyErr('mine')");
    CHECK_EQ_INT(PyExceptionInstance_Check(e), 1);
    CHECK_EQ_INT(Py_REFCNT(MyErr), 2); /* the instance holds its class */
    Py_XDECREF(e);
    CHECK_EQ_INT(Py_REFCNT(MyErr), 1);

    /* Deriving from a given base, or a 1-tuple of one; and from the new class itself. */
    PyObject *KErr = PyErr_NewException("mod.KErr", PyExc_KeyError, NULL);
    CHECK(KErr != NULL);
    CHECK_EQ_INT(PyErr_GivenExceptionMatches(KErr, PyExc_LookupError), 1);
    e = make_exc(KErr, "kk");
    CHECK_OBJ_STR(e, "'kk'"); /* KeyError's str */
    Py_XDECREF(e);
    PyObject *bases = PyTuple_New(1);
    PyTuple_SetItem(bases, 0, Py_NewRef(MyErr));
    PyObject *dict = PyDict_New();
    PyObject *SubErr = PyErr_NewException("mod.sub.SubErr", bases, dict);
    CHECK(SubErr != NULL);
    CHECK_EQ_INT(PyErr_GivenExceptionMatches(SubErr, MyErr), 1);
    CHECK_EQ_INT(PyErr_GivenExceptionMatches(MyErr, SubErr), 0);
    a = SubErr ? PyObject_GetAttrString(SubErr, "__module__") : NULL;
    CHECK_OBJ_STR(a, "mod.sub");
    Py_XDECREF(a);
    Py_DECREF(bases);
    Py_DECREF(dict);

    /* Errors. */
    CHECK(PyErr_NewException("NoDot", NULL, NULL) == NULL);
    CHECK_EXC(PyExc_SystemError, "PyErr_NewException: name must be module.class");
    CHECK(PyErr_NewException("m.X", (PyObject *)&PyLong_Type, NULL) == NULL);
    CHECK_EXC(PyExc_TypeError, NULL);
    PyObject *five = PyLong_FromLong(5);
    CHECK(PyErr_NewException("m.X", NULL, five) == NULL);
    CHECK_EXC(PyExc_TypeError, NULL);
    CHECK(PyErr_NewException(NULL, NULL, NULL) == NULL);
    CHECK_EXC(PyExc_SystemError, NULL);
    Py_DECREF(five);

    Py_XDECREF(SubErr);
    Py_XDECREF(KErr);
    Py_DECREF(MyErr);
}

/* ----- PyErr_Print / PyErr_WriteUnraisable ----- */

static PyObject *str_fails(PyObject *self) {
    (void)self;
    PyErr_SetString(PyExc_RuntimeError, "no str for you");
    return NULL;
}

static int fin_raises_calls;
static void fin_raises(PyObject *self) {
    (void)self;
    fin_raises_calls++;
    PyErr_SetString(PyExc_RuntimeError, "raised in a finalizer");
}

static PyObject *holder_repr(PyObject *self) {
    (void)self;
    return PyUnicode_FromString("<holder>");
}

static void test_print(void) {
    const char *out;

    capture_start();
    PyErr_SetString(PyExc_ValueError, "boom");
    PyErr_Print();
    out = capture_end();
    CHECK_STR(out, "ValueError: boom\n");
    CHECK_NO_EXC();

    capture_start();
    PyErr_Print(); /* nothing pending: nothing printed */
    out = capture_end();
    CHECK_STR(out, "");

    capture_start();
    PyErr_SetNone(PyExc_KeyboardInterrupt);
    PyErr_PrintEx(0);
    out = capture_end();
    CHECK_STR(out, "KeyboardInterrupt\n");
    CHECK_NO_EXC();

    capture_start();
    PyErr_SetString(PyExc_KeyError, "k");
    PyErr_PrintEx(1);
    out = capture_end();
    CHECK_STR(out, "KeyError: 'k'\n");

    /* SystemExit is printed, not exited on (documented deviation). */
    capture_start();
    PyErr_SetString(PyExc_SystemExit, "3");
    PyErr_Print();
    out = capture_end();
    CHECK_STR(out, "SystemExit: 3\n");

    /* A class made by PyErr_NewException prints with its module. */
    PyObject *MyErr = PyErr_NewException("mod.MyErr", NULL, NULL);
    capture_start();
    PyErr_SetString(MyErr, "x");
    PyErr_Print();
    out = capture_end();
    CHECK_STR(out, "mod.MyErr: x\n");
    Py_DECREF(MyErr);

    /* The __context__ chain. */
    PyObject *first = make_exc(PyExc_ValueError, "first");
    PyObject *second = make_exc(PyExc_TypeError, "second");
    PyException_SetContext(second, first); /* steals */
    capture_start();
    PyErr_SetRaisedException(second);
    PyErr_Print();
    out = capture_end();
    CHECK_STR(out, "ValueError: first\n"
                   "\n"
                   "During handling of the above exception, another exception occurred:\n"
                   "\n"
                   "TypeError: second\n");

    /* __cause__ is shown instead of __context__. */
    PyObject *cause = make_exc(PyExc_KeyError, "c");
    PyObject *ctx = make_exc(PyExc_IndexError, "ignored");
    PyObject *top = make_exc(PyExc_RuntimeError, "top");
    PyException_SetContext(top, ctx);
    PyException_SetCause(top, cause);
    capture_start();
    PyErr_SetRaisedException(top);
    PyErr_Print();
    out = capture_end();
    CHECK_STR(out, "KeyError: 'c'\n"
                   "\n"
                   "The above exception was the direct cause of the following exception:\n"
                   "\n"
                   "RuntimeError: top\n");

    /* str() failing while printing. */
    PyType_Slot slots[] = {{Py_tp_str, SLOT_FN(str_fails)}, {0, NULL}};
    PyType_Spec spec = {"mod.BadStr", 0, 0, 0, slots};
    PyObject *BadStr = PyType_FromSpecWithBases(&spec, PyExc_Exception);
    capture_start();
    PyErr_SetNone(BadStr);
    PyErr_Print();
    out = capture_end();
    CHECK_STR(out, "mod.BadStr: <exception str() failed>\n");
    CHECK_NO_EXC();
    Py_DECREF(BadStr);

    /* PyErr_WriteUnraisable. */
    PyObject *obj = PyUnicode_FromString("where");
    capture_start();
    PyErr_SetString(PyExc_ValueError, "lost");
    PyErr_WriteUnraisable(obj);
    out = capture_end();
    CHECK_STR(out, "Exception ignored in: 'where'\nValueError: lost\n");
    CHECK_NO_EXC();
    Py_DECREF(obj);
    capture_start();
    PyErr_SetString(PyExc_ValueError, "lost");
    PyErr_WriteUnraisable(NULL);
    out = capture_end();
    CHECK_STR(out, "ValueError: lost\n");
    CHECK_NO_EXC();
    capture_start();
    PyErr_WriteUnraisable(Py_None); /* nothing pending */
    out = capture_end();
    CHECK_STR(out, "");

    /* An exception left by a finalizer is reported as unraisable, and the exception that was
     * pending when the object died survives. */
    PyType_Slot hslots[] = {{Py_tp_finalize, SLOT_FN(fin_raises)},
                            {Py_tp_repr, SLOT_FN(holder_repr)},
                            {0, NULL}};
    PyType_Spec hspec = {"mod.Holder", 0, 0, 0, hslots};
    PyObject *Holder = PyType_FromSpec(&hspec);
    PyObject *h = PyObject_CallNoArgs(Holder);
    Py_DECREF(Holder);
    fin_raises_calls = 0;
    capture_start();
    PyErr_SetString(PyExc_KeyError, "pending");
    Py_DECREF(h);
    out = capture_end();
    CHECK_EQ_INT(fin_raises_calls, 1);
    CHECK_STR(out, "Exception ignored in: <holder>\nRuntimeError: raised in a finalizer\n");
    CHECK_EXC(PyExc_KeyError, "'pending'");
}

/* ----- the error indicator is per thread ----- */

static int thread_saw_exception = -1;
static void *thread_body(void *arg) {
    (void)arg;
    thread_saw_exception = PyErr_Occurred() != NULL;
    PyErr_SetString(PyExc_ValueError, "in thread");
    return NULL; /* the pending exception dies with the thread (valgrind: no leak) */
}

/* A thread that ends with an exception pending whose class has a finalizer that uses the
 * library: the finalizer runs once, with the thread's state still usable (no leak). */
static PyObject *FinalizedError;
static int finalized_in_thread;
static void finalized_error_fin(PyObject *self) {
    (void)self;
    finalized_in_thread++;
    PyErr_SetString(PyExc_ValueError, "inside the finalizer");
    PyErr_Clear();
}
static void *thread_ends_with_exception(void *arg) {
    (void)arg;
    PyErr_SetString(FinalizedError, "left pending");
    return NULL;
}

static void test_threads(void) {
    PyErr_SetString(PyExc_TypeError, "main");
    pthread_t t;
    pthread_create(&t, NULL, thread_body, NULL);
    pthread_join(t, NULL);
    CHECK_EQ_INT(thread_saw_exception, 0);
    CHECK_EXC(PyExc_TypeError, "main");

    PyType_Slot slots[] = {{Py_tp_finalize, SLOT_FN(finalized_error_fin)}, {0, NULL}};
    PyType_Spec spec = {"mod.FinalizedError", 0, 0, 0, slots};
    FinalizedError = PyType_FromSpecWithBases(&spec, PyExc_Exception);
    finalized_in_thread = 0;
    pthread_create(&t, NULL, thread_ends_with_exception, NULL);
    pthread_join(t, NULL);
    CHECK_EQ_INT(finalized_in_thread, 1);
    CHECK_EQ_INT(Py_REFCNT(FinalizedError), 1);
    Py_DECREF(FinalizedError);
}

int main(void) {
    test_hierarchy();
    test_matching();
    test_set_clear();
    test_fetch_restore();
    test_normalize();
    test_instances();
    test_system_exit();
    test_new_exception();
    test_print();
    test_threads();
    CHECK_NO_EXC();
    return check_report();
}
