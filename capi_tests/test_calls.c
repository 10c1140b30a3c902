/* test_calls.c: built-in functions, calling, and attributes through the public C API.
 *
 * PyCFunction_New/NewEx with each METH_* convention, CPython's TypeError messages for wrong
 * argument counts and keywords, the result checks (NULL without an exception, a value with
 * one), bad ml_flags, PyObject_Call/CallObject/CallNoArgs/CallOneArg, PyCallable_Check,
 * calling non-callables, bound methods from Py_tp_methods, and PyObject_Get/Set/HasAttr(String).
 * (The variadic call functions are covered by test_varargs.c.)
 */
#include "check.h"

/* ----- C functions of each convention ----- */

static PyObject *last_self;
static PyObject *last_args;
static PyObject *last_kwargs;
static int calls;

static PyObject *f_varargs(PyObject *self, PyObject *args) {
    calls++;
    last_self = self;
    last_args = args;
    return PyLong_FromSsize_t(PyTuple_Size(args));
}

static PyObject *f_keywords(PyObject *self, PyObject *args, PyObject *kwargs) {
    calls++;
    last_self = self;
    last_args = args;
    last_kwargs = kwargs;
    return PyLong_FromSsize_t(PyTuple_Size(args) + (kwargs ? 10 * PyDict_Size(kwargs) : 0));
}

static PyObject *f_noargs(PyObject *self, PyObject *arg) {
    calls++;
    last_self = self;
    last_args = arg; /* must be NULL */
    return PyUnicode_FromString("noargs");
}

static PyObject *f_o(PyObject *self, PyObject *arg) {
    calls++;
    last_self = self;
    return Py_NewRef(arg);
}

static PyObject *f_raise(PyObject *self, PyObject *args) {
    (void)self;
    (void)args;
    PyErr_SetString(PyExc_ValueError, "raised by f");
    return NULL;
}

static PyObject *f_null_no_exc(PyObject *self, PyObject *args) {
    (void)self;
    (void)args;
    return NULL;
}

static PyObject *f_value_with_exc(PyObject *self, PyObject *args) {
    (void)self;
    (void)args;
    PyErr_SetString(PyExc_KeyError, "stray");
    Py_RETURN_NONE;
}

static PyMethodDef def_varargs = {"fv", f_varargs, METH_VARARGS, "Takes *args."};
static PyMethodDef def_keywords = {"fk", (PyCFunction)(void (*)(void))f_keywords,
                                   METH_VARARGS | METH_KEYWORDS, NULL};
static PyMethodDef def_noargs = {"fn", f_noargs, METH_NOARGS, NULL};
static PyMethodDef def_o = {"fo", f_o, METH_O, NULL};
static PyMethodDef def_stackless = {"fs", f_o, METH_O | METH_STACKLESS, NULL};
static PyMethodDef def_raise = {"raiser", f_raise, METH_VARARGS, NULL};
static PyMethodDef def_null = {"bad", f_null_no_exc, METH_VARARGS, NULL};
static PyMethodDef def_stray = {"stray", f_value_with_exc, METH_NOARGS, NULL};

/* A tuple of n ints 0..n-1. */
static PyObject *ints(int n) {
    PyObject *t = PyTuple_New(n);
    for (int i = 0; i < n; i++) PyTuple_SetItem(t, i, PyLong_FromLong(i));
    return t;
}

static long as_long_and_drop(PyObject *o) {
    if (o == NULL) return -999;
    long v = PyLong_AsLong(o);
    Py_DECREF(o);
    return v;
}

static void test_varargs(void) {
    PyObject *f = PyCFunction_New(&def_varargs, NULL);
    CHECK(f != NULL);
    CHECK_EQ_INT(PyCFunction_Check(f), 1);
    CHECK_EQ_INT(PyCallable_Check(f), 1);
    CHECK_REPR(f, "<built-in function fv>");
    PyObject *a = PyObject_GetAttrString(f, "__name__");
    CHECK_OBJ_STR(a, "fv");
    Py_XDECREF(a);
    a = PyObject_GetAttrString(f, "__doc__");
    CHECK_OBJ_STR(a, "Takes *args.");
    Py_XDECREF(a);
    a = PyObject_GetAttrString(f, "__self__");
    CHECK(a == Py_None);
    Py_XDECREF(a);
    a = PyObject_GetAttrString(f, "__module__");
    CHECK(a == Py_None);
    Py_XDECREF(a);

    PyObject *t3 = ints(3);
    calls = 0;
    CHECK_EQ_INT(as_long_and_drop(PyObject_Call(f, t3, NULL)), 3);
    CHECK(last_args == t3); /* the tuple is passed through */
    CHECK(last_self == NULL);
    CHECK_EQ_INT(as_long_and_drop(PyObject_CallObject(f, t3)), 3);
    CHECK_EQ_INT(as_long_and_drop(PyObject_CallObject(f, NULL)), 0);
    CHECK_EQ_INT(as_long_and_drop(PyObject_CallNoArgs(f)), 0);
    CHECK_EQ_INT(as_long_and_drop(PyObject_CallOneArg(f, Py_None)), 1);
    CHECK_EQ_INT(calls, 5);

    /* An empty kwargs dict is fine, a non-empty one is refused. */
    PyObject *kw = PyDict_New();
    CHECK_EQ_INT(as_long_and_drop(PyObject_Call(f, t3, kw)), 3);
    PyDict_SetItemString(kw, "k", Py_None);
    CHECK(PyObject_Call(f, t3, kw) == NULL);
    CHECK_EXC(PyExc_TypeError, "fv() takes no keyword arguments");

    /* Bound to self (passed as the first C argument). */
    PyObject *self = PyUnicode_FromString("me");
    PyObject *bound = PyCFunction_New(&def_varargs, self);
    CHECK_EQ_INT(as_long_and_drop(PyObject_CallNoArgs(bound)), 0);
    CHECK(last_self == self);
    a = PyObject_GetAttrString(bound, "__self__");
    CHECK(a == self);
    Py_XDECREF(a);
    PyObject *r = PyObject_Repr(bound);
    const char *rs = r ? PyUnicode_AsUTF8(r) : "";
    CHECK(strncmp(rs, "<built-in method fv of str object at 0x", 39) == 0);
    Py_XDECREF(r);
    a = PyObject_GetAttrString(bound, "__qualname__");
    CHECK_OBJ_STR(a, "str.fv");
    Py_XDECREF(a);
    Py_DECREF(bound);

    /* With a module: named module.name() in messages. */
    PyObject *modname = PyUnicode_FromString("mymod");
    PyObject *mf = PyCFunction_NewEx(&def_noargs, NULL, modname);
    a = PyObject_GetAttrString(mf, "__module__");
    CHECK(a == modname);
    Py_XDECREF(a);
    CHECK_REPR(mf, "<built-in function fn>");
    CHECK(PyObject_CallOneArg(mf, Py_None) == NULL);
    CHECK_EXC(PyExc_TypeError, "mymod.fn() takes no arguments (1 given)");
    Py_DECREF(mf);
    Py_DECREF(modname);

    Py_DECREF(self);
    Py_DECREF(kw);
    Py_DECREF(t3);
    Py_DECREF(f);
}

static void test_keywords(void) {
    PyObject *f = PyCFunction_NewEx(&def_keywords, NULL, NULL);
    CHECK(f != NULL);
    PyObject *t2 = ints(2);
    last_kwargs = (PyObject *)1;
    CHECK_EQ_INT(as_long_and_drop(PyObject_Call(f, t2, NULL)), 2);
    CHECK(last_kwargs == NULL);
    PyObject *kw = PyDict_New();
    PyDict_SetItemString(kw, "a", Py_None);
    PyDict_SetItemString(kw, "b", Py_None);
    CHECK_EQ_INT(as_long_and_drop(PyObject_Call(f, t2, kw)), 22);
    CHECK(last_kwargs == kw); /* the dict is passed through */
    CHECK(last_args == t2);
    PyObject *empty = PyDict_New();
    CHECK_EQ_INT(as_long_and_drop(PyObject_Call(f, t2, empty)), 2);
    CHECK(last_kwargs == empty);
    CHECK_EQ_INT(as_long_and_drop(PyObject_CallNoArgs(f)), 0);
    CHECK(last_kwargs == NULL);
    Py_DECREF(empty);
    Py_DECREF(kw);
    Py_DECREF(t2);
    Py_DECREF(f);
}

static void test_noargs_o(void) {
    PyObject *fn = PyCFunction_New(&def_noargs, NULL);
    PyObject *t1 = ints(1), *t2 = ints(2), *t0 = ints(0);
    last_args = (PyObject *)1;
    PyObject *r = PyObject_CallNoArgs(fn);
    CHECK_OBJ_STR(r, "noargs");
    Py_XDECREF(r);
    CHECK(last_args == NULL);
    r = PyObject_Call(fn, t0, NULL);
    CHECK_OBJ_STR(r, "noargs");
    Py_XDECREF(r);
    CHECK(PyObject_Call(fn, t1, NULL) == NULL);
    CHECK_EXC(PyExc_TypeError, "fn() takes no arguments (1 given)");
    CHECK(PyObject_Call(fn, t2, NULL) == NULL);
    CHECK_EXC(PyExc_TypeError, "fn() takes no arguments (2 given)");
    PyObject *kw = PyDict_New();
    PyDict_SetItemString(kw, "x", Py_None);
    CHECK(PyObject_Call(fn, t0, kw) == NULL);
    CHECK_EXC(PyExc_TypeError, "fn() takes no keyword arguments");
    PyObject *empty = PyDict_New();
    r = PyObject_Call(fn, t0, empty);
    CHECK_OBJ_STR(r, "noargs");
    Py_XDECREF(r);

    PyObject *fo = PyCFunction_New(&def_o, NULL);
    PyObject *five = PyLong_FromLong(5);
    r = PyObject_CallOneArg(fo, five);
    CHECK(r == five);
    Py_XDECREF(r);
    r = PyObject_Call(fo, t1, NULL);
    CHECK(r == PyTuple_GetItem(t1, 0));
    Py_XDECREF(r);
    CHECK(PyObject_CallNoArgs(fo) == NULL);
    CHECK_EXC(PyExc_TypeError, "fo() takes exactly one argument (0 given)");
    CHECK(PyObject_Call(fo, t2, NULL) == NULL);
    CHECK_EXC(PyExc_TypeError, "fo() takes exactly one argument (2 given)");
    CHECK(PyObject_Call(fo, t1, kw) == NULL);
    CHECK_EXC(PyExc_TypeError, "fo() takes no keyword arguments");

    /* METH_STACKLESS is accepted alongside a calling convention. */
    PyObject *fs = PyCFunction_New(&def_stackless, NULL);
    CHECK(fs != NULL);
    r = fs ? PyObject_CallOneArg(fs, five) : NULL;
    CHECK(r == five);
    Py_XDECREF(r);
    Py_XDECREF(fs);

    Py_DECREF(five);
    Py_DECREF(kw);
    Py_DECREF(empty);
    Py_DECREF(t0);
    Py_DECREF(t1);
    Py_DECREF(t2);
    Py_DECREF(fn);
    Py_DECREF(fo);
}

static void test_result_checks(void) {
    PyObject *f = PyCFunction_New(&def_raise, NULL);
    CHECK(PyObject_CallNoArgs(f) == NULL);
    CHECK_EXC(PyExc_ValueError, "raised by f");
    Py_DECREF(f);

    f = PyCFunction_New(&def_null, NULL);
    CHECK(PyObject_CallNoArgs(f) == NULL);
    CHECK_EXC(PyExc_SystemError,
              "<built-in function bad> returned NULL without setting an exception");
    Py_DECREF(f);

    f = PyCFunction_New(&def_stray, NULL);
    CHECK(PyObject_CallNoArgs(f) == NULL);
    PyObject *e = PyErr_GetRaisedException();
    CHECK(e != NULL && Py_TYPE(e) == (PyTypeObject *)PyExc_SystemError);
    CHECK_OBJ_STR(e, "<built-in function stray> returned a result with an exception set");
    PyObject *cause = e ? PyException_GetCause(e) : NULL;
    CHECK(cause != NULL && Py_TYPE(cause) == (PyTypeObject *)PyExc_KeyError);
    CHECK_OBJ_STR(cause, "'stray'");
    Py_XDECREF(cause);
    Py_XDECREF(e);
    Py_DECREF(f);
}

static void test_bad_flags(void) {
    static PyMethodDef bad_zero = {"b0", f_varargs, 0, NULL};
    static PyMethodDef bad_two = {"b1", f_varargs, METH_NOARGS | METH_O, NULL};
    static PyMethodDef bad_kw_only = {"b2", f_varargs, METH_KEYWORDS, NULL};
    static PyMethodDef bad_o_kw = {"b3", f_varargs, METH_O | METH_KEYWORDS, NULL};
    static PyMethodDef bad_fastcall = {"b4", f_varargs, 0x0080, NULL};
    static PyMethodDef no_name = {NULL, f_varargs, METH_VARARGS, NULL};
    static PyMethodDef no_meth = {"nm", NULL, METH_VARARGS, NULL};
    CHECK(PyCFunction_New(&bad_zero, NULL) == NULL);
    CHECK_EXC(PyExc_SystemError, "b0() method: bad call flags");
    CHECK(PyCFunction_New(&bad_two, NULL) == NULL);
    CHECK_EXC(PyExc_SystemError, "b1() method: bad call flags");
    CHECK(PyCFunction_New(&bad_kw_only, NULL) == NULL);
    CHECK_EXC(PyExc_SystemError, "b2() method: bad call flags");
    CHECK(PyCFunction_New(&bad_o_kw, NULL) == NULL);
    CHECK_EXC(PyExc_SystemError, "b3() method: bad call flags");
    CHECK(PyCFunction_NewEx(&bad_fastcall, NULL, NULL) == NULL);
    CHECK_EXC(PyExc_SystemError, "b4() method: bad call flags");
    CHECK(PyCFunction_New(&no_name, NULL) == NULL);
    CHECK_EXC(PyExc_SystemError, NULL);
    CHECK(PyCFunction_New(&no_meth, NULL) == NULL);
    CHECK_EXC(PyExc_SystemError, NULL);
    CHECK(PyCFunction_New(NULL, NULL) == NULL);
    CHECK_EXC(PyExc_SystemError, NULL);
}

/* ----- callables and non-callables ----- */

typedef struct {
    PyObject_HEAD
    long n;
} CounterObject;

static PyObject *counter_incr(PyObject *self, PyObject *unused) {
    (void)unused;
    ((CounterObject *)self)->n++;
    Py_RETURN_NONE;
}
static PyObject *counter_add(PyObject *self, PyObject *v) {
    long x = PyLong_AsLong(v);
    if (x == -1 && PyErr_Occurred()) return NULL;
    ((CounterObject *)self)->n += x;
    return PyLong_FromLong(((CounterObject *)self)->n);
}
static PyObject *counter_get(PyObject *self, PyObject *unused) {
    (void)unused;
    return PyLong_FromLong(((CounterObject *)self)->n);
}
static PyObject *counter_call_null(PyObject *self, PyObject *args, PyObject *kwargs) {
    (void)self;
    (void)args;
    (void)kwargs;
    return NULL;
}
static PyMethodDef counter_methods[] = {
    {"incr", counter_incr, METH_NOARGS, NULL},
    {"add", counter_add, METH_O, NULL},
    {"get", counter_get, METH_NOARGS, NULL},
    {NULL, NULL, 0, NULL},
};

static void test_callables(void) {
    PyObject *five = PyLong_FromLong(5);
    PyObject *s = PyUnicode_FromString("s");
    CHECK_EQ_INT(PyCallable_Check(five), 0);
    CHECK_EQ_INT(PyCallable_Check(Py_None), 0);
    CHECK_EQ_INT(PyCallable_Check(s), 0);
    CHECK_EQ_INT(PyCallable_Check(NULL), 0);
    CHECK_EQ_INT(PyCallable_Check((PyObject *)&PyLong_Type), 1);
    CHECK_EQ_INT(PyCallable_Check(PyExc_ValueError), 1);
    PyObject *e = PyObject_CallNoArgs(PyExc_ValueError);
    CHECK_EQ_INT(PyCallable_Check(e), 0);

    CHECK(PyObject_CallNoArgs(five) == NULL);
    CHECK_EXC(PyExc_TypeError, "'int' object is not callable");
    CHECK(PyObject_CallOneArg(Py_None, five) == NULL);
    CHECK_EXC(PyExc_TypeError, "'NoneType' object is not callable");
    CHECK(PyObject_CallObject(s, NULL) == NULL);
    CHECK_EXC(PyExc_TypeError, "'str' object is not callable");
    CHECK(PyObject_CallNoArgs(e) == NULL);
    CHECK_EXC(PyExc_TypeError, "'ValueError' object is not callable");

    /* Bad call arguments. */
    PyObject *f = PyCFunction_New(&def_varargs, NULL);
    CHECK(PyObject_Call(f, NULL, NULL) == NULL);
    CHECK_EXC(PyExc_SystemError, NULL);
    CHECK(PyObject_Call(f, five, NULL) == NULL);
    CHECK_EXC(PyExc_TypeError, NULL);
    PyObject *t0 = PyTuple_New(0);
    CHECK(PyObject_Call(f, t0, five) == NULL);
    CHECK_EXC(PyExc_TypeError, NULL);
    CHECK(PyObject_Call(NULL, t0, NULL) == NULL);
    CHECK_EXC(PyExc_SystemError, NULL);
    CHECK(PyObject_CallObject(f, five) == NULL);
    CHECK_EXC(PyExc_TypeError, NULL);
    CHECK(PyObject_CallOneArg(f, NULL) == NULL);
    CHECK_EXC(PyExc_SystemError, NULL);
    CHECK(PyObject_CallNoArgs(NULL) == NULL);
    CHECK_EXC(PyExc_SystemError, NULL);

    /* A heap type with methods and a tp_call that breaks the protocol. */
    PyType_Slot slots[] = {
        {Py_tp_methods, counter_methods},
        {Py_tp_call, SLOT_FN(counter_call_null)},
        {0, NULL},
    };
    PyType_Spec spec = {"calls.Counter", (int)sizeof(CounterObject), 0, 0, slots};
    PyObject *Counter = PyType_FromSpec(&spec);
    PyObject *c = PyObject_CallNoArgs(Counter);
    CHECK(c != NULL);
    CHECK_EQ_INT(PyCallable_Check(c), 1);
    CHECK(PyObject_CallNoArgs(c) == NULL);
    CHECK_EXC_CONTAINS(PyExc_SystemError, "returned NULL without setting an exception");

    /* Bound methods, via PyObject_GetAttrString; each keeps the instance alive. */
    PyObject *incr = PyObject_GetAttrString(c, "incr");
    PyObject *add = PyObject_GetAttrString(c, "add");
    PyObject *get = PyObject_GetAttrString(c, "get");
    CHECK(incr != NULL && add != NULL && get != NULL);
    CHECK_EQ_INT(Py_REFCNT(c), 4);
    Py_DECREF(c);
    PyObject *r = PyObject_CallNoArgs(incr);
    CHECK(r == Py_None);
    Py_XDECREF(r);
    CHECK_EQ_INT(as_long_and_drop(PyObject_CallOneArg(add, five)), 6);
    CHECK_EQ_INT(as_long_and_drop(PyObject_CallNoArgs(get)), 6);
    CHECK(PyObject_CallOneArg(incr, five) == NULL);
    CHECK_EXC(PyExc_TypeError, "Counter.incr() takes no arguments (1 given)");
    CHECK(PyObject_CallNoArgs(add) == NULL);
    CHECK_EXC(PyExc_TypeError, "Counter.add() takes exactly one argument (0 given)");
    CHECK(PyObject_CallOneArg(add, s) == NULL);
    CHECK_EXC(PyExc_TypeError, "'str' object cannot be interpreted as an integer");
    PyObject *a = PyObject_GetAttrString(incr, "__qualname__");
    CHECK_OBJ_STR(a, "Counter.incr");
    Py_XDECREF(a);
    a = PyObject_GetAttrString(incr, "__name__");
    CHECK_OBJ_STR(a, "incr");
    Py_XDECREF(a);
    a = PyObject_GetAttrString(incr, "__self__");
    CHECK(a == c);
    Py_XDECREF(a);
    r = PyObject_Repr(incr);
    const char *rs = r ? PyUnicode_AsUTF8(r) : "";
    CHECK(strncmp(rs, "<built-in method incr of calls.Counter object at 0x", 51) == 0);
    Py_XDECREF(r);
    /* A fresh bound method each time (as CPython's method objects). */
    PyObject *incr2 = PyObject_GetAttrString(c, "incr");
    CHECK(incr2 != NULL && incr2 != incr);
    Py_XDECREF(incr2);
    Py_DECREF(incr);
    Py_DECREF(add);
    CHECK_EQ_INT(Py_REFCNT(c), 1);
    Py_DECREF(get); /* frees the instance */
    Py_DECREF(Counter);

    Py_DECREF(t0);
    Py_DECREF(f);
    Py_DECREF(e);
    Py_DECREF(s);
    Py_DECREF(five);
}

/* ----- attributes ----- */

static void test_attributes(void) {
    PyObject *f = PyCFunction_New(&def_varargs, NULL);
    PyObject *five = PyLong_FromLong(5);
    PyObject *name = PyUnicode_FromString("__name__");
    PyObject *nope = PyUnicode_FromString("nope");

    PyObject *v = PyObject_GetAttr(f, name);
    CHECK_OBJ_STR(v, "fv");
    Py_XDECREF(v);
    CHECK_EQ_INT(PyObject_HasAttr(f, name), 1);
    CHECK_EQ_INT(PyObject_HasAttr(f, nope), 0);
    CHECK_EQ_INT(PyObject_HasAttrString(f, "__doc__"), 1);
    CHECK_EQ_INT(PyObject_HasAttrString(f, "nope"), 0);
    CHECK_NO_EXC();

    /* Missing attributes. */
    CHECK(PyObject_GetAttr(f, nope) == NULL);
    CHECK_EXC(PyExc_AttributeError, "'builtin_function_or_method' object has no attribute 'nope'");
    CHECK(PyObject_GetAttrString(five, "nope") == NULL);
    CHECK_EXC(PyExc_AttributeError, "'int' object has no attribute 'nope'");
    CHECK(PyObject_GetAttrString(Py_None, "x") == NULL);
    CHECK_EXC(PyExc_AttributeError, "'NoneType' object has no attribute 'x'");
    CHECK(PyObject_GetAttrString((PyObject *)&PyUnicode_Type, "x") == NULL);
    CHECK_EXC(PyExc_AttributeError, "type object 'str' has no attribute 'x'");

    /* Read-only attributes and objects without a __dict__. */
    CHECK_EQ_INT(PyObject_SetAttr(f, name, five), -1);
    CHECK_EXC(PyExc_AttributeError,
              "attribute '__name__' of 'builtin_function_or_method' objects is not writable");
    CHECK_EQ_INT(PyObject_SetAttrString(f, "__doc__", NULL), -1);
    CHECK_EXC(PyExc_AttributeError,
              "attribute '__doc__' of 'builtin_function_or_method' objects is not writable");
    CHECK_EQ_INT(PyObject_SetAttrString(f, "nope", five), -1);
    CHECK_EXC(PyExc_AttributeError, "'builtin_function_or_method' object has no attribute 'nope'");
    CHECK_EQ_INT(PyObject_SetAttrString(five, "x", five), -1);
    CHECK_EXC(PyExc_AttributeError, "'int' object has no attribute 'x'");
    CHECK_EQ_INT(PyObject_SetAttr(five, nope, NULL), -1);
    CHECK_EXC(PyExc_AttributeError, "'int' object has no attribute 'nope'");

    /* Writable attributes (on exceptions). */
    PyObject *e = PyObject_CallNoArgs(PyExc_ValueError);
    PyObject *ctx = PyObject_CallNoArgs(PyExc_KeyError);
    PyObject *attr = PyUnicode_FromString("__context__");
    CHECK_EQ_INT(PyObject_SetAttr(e, attr, ctx), 0);
    v = PyObject_GetAttr(e, attr);
    CHECK(v == ctx);
    Py_XDECREF(v);
    CHECK_EQ_INT(PyObject_SetAttr(e, attr, NULL), 0); /* delete */
    v = PyObject_GetAttr(e, attr);
    CHECK(v == Py_None);
    Py_XDECREF(v);
    Py_DECREF(attr);
    Py_DECREF(ctx);
    Py_DECREF(e);

    /* The name must be a str (CPython's message); HasAttr never fails. */
    CHECK(PyObject_GetAttr(f, five) == NULL);
    CHECK_EXC(PyExc_TypeError, "attribute name must be string, not 'int'");
    CHECK_EQ_INT(PyObject_SetAttr(f, five, five), -1);
    CHECK_EXC(PyExc_TypeError, "attribute name must be string, not 'int'");
    CHECK_EQ_INT(PyObject_HasAttr(f, five), 0);
    CHECK_EQ_INT(PyObject_HasAttr(f, NULL), 0);
    CHECK_EQ_INT(PyObject_HasAttr(NULL, name), 0);
    CHECK_EQ_INT(PyObject_HasAttrString(NULL, "x"), 0);
    CHECK_EQ_INT(PyObject_HasAttrString(f, NULL), 0);
    CHECK_NO_EXC();
    /* ... and leaves a pending exception alone. */
    PyErr_SetString(PyExc_RuntimeError, "pending");
    CHECK_EQ_INT(PyObject_HasAttrString(f, "nope"), 0);
    CHECK_EQ_INT(PyObject_HasAttr(f, five), 0);
    CHECK_EQ_INT(PyObject_HasAttrString(f, "__name__"), 1);
    CHECK_EXC(PyExc_RuntimeError, "pending");

    CHECK(PyObject_GetAttrString(NULL, "x") == NULL);
    CHECK_EXC(PyExc_SystemError, NULL);
    CHECK(PyObject_GetAttrString(f, NULL) == NULL);
    CHECK_EXC(PyExc_SystemError, NULL);

    Py_DECREF(name);
    Py_DECREF(nope);
    Py_DECREF(five);
    Py_DECREF(f);
}

int main(void) {
    test_varargs();
    test_keywords();
    test_noargs_o();
    test_result_checks();
    test_bad_flags();
    test_callables();
    test_attributes();
    CHECK_NO_EXC();
    return check_report();
}
