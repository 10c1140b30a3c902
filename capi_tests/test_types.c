/* test_types.c: type objects and heap types through the public C API.
 *
 * PyType_IsSubtype / PyObject_TypeCheck / PyType_Check / PyType_GetName / PyObject_Type, and
 * PyType_FromSpec / PyType_FromSpecWithBases: a heap type with a positive basicsize and the
 * supported slots, subtypes with a NEGATIVE basicsize (CPython 3.12's form) of an exception
 * class and of a heap type, PyObject_GetTypeData, finalizers, instantiation by calling the
 * type, the type's own refcount, and the errors (bad base, unsupported slot, ...).
 */
#include <stdint.h>
#include <stdlib.h>

#include "check.h"

/* Py_tp_dealloc: a CPython slot that libstackless does not support. */
#define SLOT_TP_DEALLOC 52

/* Finalizer log: which finalizers ran, in order. */
static char fin_log[256];
static void log_fin(const char *who) {
    if (fin_log[0]) strncat(fin_log, ",", sizeof fin_log - strlen(fin_log) - 1);
    strncat(fin_log, who, sizeof fin_log - strlen(fin_log) - 1);
}

/* ----- builtin types ----- */

static void test_builtin_types(void) {
    CHECK_EQ_INT(PyType_IsSubtype(&PyBool_Type, &PyLong_Type), 1);
    CHECK_EQ_INT(PyType_IsSubtype(&PyLong_Type, &PyBool_Type), 0);
    CHECK_EQ_INT(PyType_IsSubtype(&PyLong_Type, &PyBaseObject_Type), 1);
    CHECK_EQ_INT(PyType_IsSubtype(&PyType_Type, &PyBaseObject_Type), 1);
    CHECK_EQ_INT(PyType_IsSubtype(&PyLong_Type, &PyLong_Type), 1);
    CHECK_EQ_INT(PyType_IsSubtype(&PyUnicode_Type, &PyLong_Type), 0);
    CHECK_EQ_INT(PyType_IsSubtype((PyTypeObject *)PyExc_KeyError,
                                  (PyTypeObject *)PyExc_LookupError), 1);
    CHECK_EQ_INT(PyType_IsSubtype((PyTypeObject *)PyExc_TaskletExit,
                                  (PyTypeObject *)PyExc_BaseException), 1);
    CHECK_EQ_INT(PyType_IsSubtype((PyTypeObject *)PyExc_TaskletExit,
                                  (PyTypeObject *)PyExc_Exception), 0);
    /* Never fails: NULL and non-types give 0 without an exception. */
    CHECK_EQ_INT(PyType_IsSubtype(NULL, &PyLong_Type), 0);
    CHECK_EQ_INT(PyType_IsSubtype(&PyLong_Type, NULL), 0);
    CHECK_EQ_INT(PyType_IsSubtype((PyTypeObject *)Py_None, &PyLong_Type), 0);
    CHECK_EQ_INT(PyType_IsSubtype(&PyLong_Type, (PyTypeObject *)Py_None), 0);
    CHECK_NO_EXC();

    PyObject *five = PyLong_FromLong(5);
    CHECK_EQ_INT(PyObject_TypeCheck(five, &PyLong_Type), 1);
    CHECK_EQ_INT(PyObject_TypeCheck(five, &PyBaseObject_Type), 1);
    CHECK_EQ_INT(PyObject_TypeCheck(five, &PyBool_Type), 0);
    CHECK_EQ_INT(PyObject_TypeCheck(Py_True, &PyLong_Type), 1);
    CHECK_EQ_INT(PyObject_TypeCheck(Py_None, &_PyNone_Type), 1);
    CHECK_EQ_INT(PyObject_TypeCheck((PyObject *)&PyLong_Type, &PyType_Type), 1);
    CHECK_EQ_INT(PyObject_TypeCheck(NULL, &PyLong_Type), 0);
    CHECK_EQ_INT(PyObject_TypeCheck(five, NULL), 0);
    CHECK_EQ_INT(PyObject_TypeCheck(five, (PyTypeObject *)Py_None), 0);
    CHECK_NO_EXC();

    CHECK_EQ_INT(PyType_Check((PyObject *)&PyLong_Type), 1);
    CHECK_EQ_INT(PyType_Check((PyObject *)&PyType_Type), 1);
    CHECK_EQ_INT(PyType_Check(PyExc_ValueError), 1);
    CHECK_EQ_INT(PyType_Check(five), 0);
    CHECK_EQ_INT(PyType_Check(Py_None), 0);
    CHECK_EQ_INT(PyType_Check(NULL), 0);

    CHECK_STR(PyType_GetTpName(&PyLong_Type), "int");
    CHECK_STR(PyType_GetTpName(&PyBool_Type), "bool");
    CHECK_STR(PyType_GetTpName(&PyType_Type), "type");
    CHECK_STR(PyType_GetTpName(&_PyNone_Type), "NoneType");
    CHECK_STR(PyType_GetTpName((PyTypeObject *)PyExc_TaskletExit), "TaskletExit");
    CHECK(PyType_GetTpName((PyTypeObject *)five) == NULL);
    CHECK_EXC(PyExc_TypeError, "PyType_GetTpName: argument 'tp' must be type, not int");

    /* CPython's name functions return new references to strs. */
    PyObject *nm = PyType_GetName(&PyTasklet_Type);
    CHECK_OBJ_STR(nm, "tasklet");
    Py_XDECREF(nm);
    nm = PyType_GetQualName(&PyTasklet_Type);
    CHECK_OBJ_STR(nm, "tasklet");
    Py_XDECREF(nm);
    nm = PyType_GetFullyQualifiedName(&PyTasklet_Type);
    CHECK_OBJ_STR(nm, "_stackless.tasklet");
    Py_XDECREF(nm);
    nm = PyType_GetName((PyTypeObject *)PyExc_ValueError);
    CHECK_OBJ_STR(nm, "ValueError");
    Py_XDECREF(nm);
    nm = PyType_GetFullyQualifiedName((PyTypeObject *)PyExc_ValueError);
    CHECK_OBJ_STR(nm, "ValueError");
    Py_XDECREF(nm);

    PyObject *t = PyObject_Type(five);
    CHECK(t == (PyObject *)&PyLong_Type);
    Py_XDECREF(t);
    t = PyObject_Type(t);
    CHECK(t == (PyObject *)&PyType_Type);
    Py_XDECREF(t);
    t = PyObject_Type(PyExc_ValueError);
    CHECK(t == (PyObject *)&PyType_Type);
    Py_XDECREF(t);
    CHECK(Py_TYPE(Py_True) == &PyBool_Type);

    /* type(x) */
    t = PyObject_CallOneArg((PyObject *)&PyType_Type, five);
    CHECK(t == (PyObject *)&PyLong_Type);
    Py_XDECREF(t);
    CHECK(PyObject_CallNoArgs((PyObject *)&PyType_Type) == NULL);
    CHECK_EXC(PyExc_TypeError, "type() takes 1 or 3 arguments");

    /* Attributes of types. */
    PyObject *name = PyObject_GetAttrString((PyObject *)&PyLong_Type, "__name__");
    CHECK_OBJ_STR(name, "int");
    Py_XDECREF(name);
    PyObject *mod = PyObject_GetAttrString((PyObject *)&PyLong_Type, "__module__");
    CHECK_OBJ_STR(mod, "builtins");
    Py_XDECREF(mod);
    PyObject *base = PyObject_GetAttrString((PyObject *)&PyBool_Type, "__base__");
    CHECK(base == (PyObject *)&PyLong_Type);
    Py_XDECREF(base);
    base = PyObject_GetAttrString((PyObject *)&PyBaseObject_Type, "__base__");
    CHECK(base == Py_None);
    Py_XDECREF(base);
    CHECK(PyObject_GetAttrString((PyObject *)&PyLong_Type, "nope") == NULL);
    CHECK_EXC(PyExc_AttributeError, "type object 'int' has no attribute 'nope'");
    /* Static types are immutable. */
    CHECK_EQ_INT(PyObject_SetAttrString((PyObject *)&PyLong_Type, "x", five), -1);
    CHECK_EXC(PyExc_TypeError, "cannot set 'x' attribute of immutable type 'int'");
    CHECK_EQ_INT(PyObject_SetAttrString((PyObject *)&PyLong_Type, "__name__", five), -1);
    CHECK_EXC(PyExc_TypeError, "cannot set '__name__' attribute of immutable type 'int'");
    Py_DECREF(five);
}

/* ----- a heap type based on object, positive basicsize ----- */

typedef struct {
    PyObject_HEAD
    long x;
    long y;
} PointObject;

static int point_init(PyObject *self, PyObject *args, PyObject *kwargs) {
    PointObject *p = (PointObject *)self;
    Py_ssize_t n = PyTuple_Size(args);
    if (n > 2) {
        PyErr_SetString(PyExc_TypeError, "Point() takes at most 2 arguments");
        return -1;
    }
    if (n >= 1) {
        p->x = PyLong_AsLong(PyTuple_GetItem(args, 0));
        if (p->x == -1 && PyErr_Occurred()) return -1;
    }
    if (n >= 2) {
        p->y = PyLong_AsLong(PyTuple_GetItem(args, 1));
        if (p->y == -1 && PyErr_Occurred()) return -1;
    }
    if (kwargs != NULL) {
        PyObject *y = PyDict_GetItemString(kwargs, "y");
        if (y != NULL) p->y = PyLong_AsLong(y);
        if (PyErr_Occurred()) return -1;
    }
    return 0;
}

static PyObject *point_repr(PyObject *self) {
    PointObject *p = (PointObject *)self;
    char buf[64];
    snprintf(buf, sizeof buf, "Point(%ld, %ld)", p->x, p->y);
    return PyUnicode_FromString(buf);
}

static PyObject *point_str(PyObject *self) {
    PointObject *p = (PointObject *)self;
    char buf[64];
    snprintf(buf, sizeof buf, "(%ld, %ld)", p->x, p->y);
    return PyUnicode_FromString(buf);
}

/* point(*args, **kw) -> x * y + len(args) + 100 * len(kw) */
static PyObject *point_call(PyObject *self, PyObject *args, PyObject *kwargs) {
    PointObject *p = (PointObject *)self;
    long kw = kwargs ? (long)PyDict_Size(kwargs) : 0;
    return PyLong_FromLong(p->x * p->y + (long)PyTuple_Size(args) + 100 * kw);
}

static void point_finalize(PyObject *self) {
    (void)self;
    log_fin("Point");
}

static PyObject *point_norm1(PyObject *self, PyObject *unused) {
    PointObject *p = (PointObject *)self;
    (void)unused;
    return PyLong_FromLong(labs(p->x) + labs(p->y));
}

static PyObject *point_scale(PyObject *self, PyObject *factor) {
    PointObject *p = (PointObject *)self;
    long f = PyLong_AsLong(factor);
    if (f == -1 && PyErr_Occurred()) return NULL;
    p->x *= f;
    p->y *= f;
    Py_RETURN_NONE;
}

static PyMethodDef point_methods[] = {
    {"norm1", point_norm1, METH_NOARGS, "Manhattan length."},
    {"scale", point_scale, METH_O, NULL},
    {NULL, NULL, 0, NULL},
};

static PyObject *new_point_type(void) {
    PyType_Slot slots[] = {
        {Py_tp_init, SLOT_FN(point_init)},
        {Py_tp_repr, SLOT_FN(point_repr)},
        {Py_tp_str, SLOT_FN(point_str)},
        {Py_tp_call, SLOT_FN(point_call)},
        {Py_tp_finalize, SLOT_FN(point_finalize)},
        {Py_tp_methods, point_methods},
        {Py_tp_doc, (void *)"A point."},
        {0, NULL},
    };
    PyType_Spec spec = {"types.Point", (int)sizeof(PointObject), 0, Py_TPFLAGS_BASETYPE, slots};
    return PyType_FromSpec(&spec);
}

/* Point(x, y) as a new reference. */
static PyObject *make_point(PyObject *tp, long x, long y) {
    PyObject *args = PyTuple_New(2);
    PyTuple_SetItem(args, 0, PyLong_FromLong(x));
    PyTuple_SetItem(args, 1, PyLong_FromLong(y));
    PyObject *p = PyObject_Call(tp, args, NULL);
    Py_DECREF(args);
    return p;
}

static void test_heap_type(void) {
    PyObject *Point = new_point_type();
    CHECK(Point != NULL);
    if (Point == NULL) return;
    CHECK_EQ_INT(Py_REFCNT(Point), 1);
    CHECK_EQ_INT(PyType_Check(Point), 1);
    CHECK(Py_TYPE(Point) == &PyType_Type);
    CHECK_EQ_INT(PyType_IsSubtype((PyTypeObject *)Point, &PyBaseObject_Type), 1);
    CHECK_EQ_INT(PyCallable_Check(Point), 1);
    /* PyType_GetName gives the full tp_name (documented deviation); __name__ is the short one. */
    CHECK_STR(PyType_GetTpName((PyTypeObject *)Point), "types.Point");
    CHECK_REPR(Point, "<class 'types.Point'>");
    PyObject *a = PyObject_GetAttrString(Point, "__name__");
    CHECK_OBJ_STR(a, "Point");
    Py_XDECREF(a);
    a = PyObject_GetAttrString(Point, "__qualname__");
    CHECK_OBJ_STR(a, "Point");
    Py_XDECREF(a);
    a = PyObject_GetAttrString(Point, "__module__");
    CHECK_OBJ_STR(a, "types");
    Py_XDECREF(a);
    a = PyObject_GetAttrString(Point, "__doc__");
    CHECK_OBJ_STR(a, "A point.");
    Py_XDECREF(a);
    a = PyObject_GetAttrString(Point, "__base__");
    CHECK(a == (PyObject *)&PyBaseObject_Type);
    Py_XDECREF(a);

    /* Instantiate by calling the type: tp_init gets the arguments. */
    PyObject *p = make_point(Point, 3, -4);
    CHECK(p != NULL);
    if (p == NULL) return;
    CHECK(Py_TYPE(p) == (PyTypeObject *)Point);
    CHECK_EQ_INT(Py_REFCNT(Point), 2);
    CHECK_EQ_INT(PyObject_TypeCheck(p, (PyTypeObject *)Point), 1);
    CHECK_EQ_INT(PyObject_TypeCheck(p, &PyBaseObject_Type), 1);
    CHECK_EQ_INT(((PointObject *)p)->x, 3);
    CHECK_EQ_INT(((PointObject *)p)->y, -4);
    CHECK_REPR(p, "Point(3, -4)");
    CHECK_OBJ_STR(p, "(3, -4)");
    CHECK_EQ_INT(PyObject_IsTrue(p), 1);
    PyObject *t = PyObject_Type(p);
    CHECK(t == Point);
    Py_XDECREF(t);
    /* With a positive basicsize, the type data is what follows the base (object) part. */
    CHECK(PyObject_GetTypeData(p, (PyTypeObject *)Point) == (void *)&((PointObject *)p)->x);

    /* Keyword arguments reach tp_init. */
    PyObject *args = PyTuple_New(1);
    PyTuple_SetItem(args, 0, PyLong_FromLong(1));
    PyObject *kw = PyDict_New();
    PyObject *seven = PyLong_FromLong(7);
    PyDict_SetItemString(kw, "y", seven);
    PyObject *q = PyObject_Call(Point, args, kw);
    CHECK(q != NULL && ((PointObject *)q)->x == 1 && ((PointObject *)q)->y == 7);

    /* tp_call */
    CHECK_EQ_INT(PyCallable_Check(p), 1);
    PyObject *r = PyObject_Call(p, args, NULL);
    CHECK(r != NULL && PyLong_AsLong(r) == -11);
    Py_XDECREF(r);
    r = PyObject_Call(p, args, kw);
    CHECK(r != NULL && PyLong_AsLong(r) == 89);
    Py_XDECREF(r);
    r = PyObject_CallNoArgs(p);
    CHECK(r != NULL && PyLong_AsLong(r) == -12);
    Py_XDECREF(r);

    /* Methods from Py_tp_methods, bound to the instance. */
    PyObject *m = PyObject_GetAttrString(p, "norm1");
    CHECK(m != NULL && PyCFunction_Check(m));
    r = m ? PyObject_CallNoArgs(m) : NULL;
    CHECK(r != NULL && PyLong_AsLong(r) == 7);
    Py_XDECREF(r);
    PyObject *doc = m ? PyObject_GetAttrString(m, "__doc__") : NULL;
    CHECK_OBJ_STR(doc, "Manhattan length.");
    Py_XDECREF(doc);
    PyObject *self = m ? PyObject_GetAttrString(m, "__self__") : NULL;
    CHECK(self == p);
    Py_XDECREF(self);
    Py_XDECREF(m);
    m = PyObject_GetAttrString(p, "scale");
    PyObject *two = PyLong_FromLong(2);
    r = m ? PyObject_CallOneArg(m, two) : NULL;
    CHECK(r == Py_None);
    Py_XDECREF(r);
    Py_XDECREF(m);
    CHECK_REPR(p, "Point(6, -8)");
    CHECK_EQ_INT(PyObject_HasAttrString(p, "scale"), 1);
    CHECK_EQ_INT(PyObject_HasAttrString(p, "nope"), 0);
    CHECK(PyObject_GetAttrString(p, "nope") == NULL);
    CHECK_EXC(PyExc_AttributeError, "'types.Point' object has no attribute 'nope'");
    CHECK_EQ_INT(PyObject_SetAttrString(p, "scale", two), -1);
    CHECK_EXC(PyExc_AttributeError, "'types.Point' object attribute 'scale' is read-only");

    /* tp_init errors propagate, and the half-made object is released (finalizer runs). */
    PyObject *bad = PyTuple_New(1);
    PyTuple_SetItem(bad, 0, PyUnicode_FromString("x"));
    fin_log[0] = 0;
    CHECK(PyObject_Call(Point, bad, NULL) == NULL);
    CHECK_EXC(PyExc_TypeError, "'str' object cannot be interpreted as an integer");
    CHECK_STR(fin_log, "Point");
    Py_DECREF(bad);
    CHECK_EQ_INT(Py_REFCNT(Point), 3); /* p and q */

    /* Instances keep the type alive. */
    Py_DECREF(Point);
    CHECK_EQ_INT(Py_REFCNT(Point), 2);
    fin_log[0] = 0;
    Py_DECREF(q);
    CHECK_STR(fin_log, "Point");
    CHECK_EQ_INT(Py_REFCNT(Point), 1);
    CHECK_STR(PyType_GetTpName(Py_TYPE(p)), "types.Point");
    fin_log[0] = 0;
    Py_DECREF(p); /* last instance: frees the type too */
    CHECK_STR(fin_log, "Point");

    Py_DECREF(args);
    Py_DECREF(kw);
    Py_DECREF(seven);
    Py_DECREF(two);
}

/* ----- a heap type without slots ----- */

static int init_fails_silently(PyObject *self, PyObject *args, PyObject *kwargs) {
    (void)self;
    (void)args;
    (void)kwargs;
    return -1;
}

static PyObject *repr_not_str(PyObject *self) {
    (void)self;
    return PyLong_FromLong(1);
}

static void test_plain_type(void) {
    PyType_Slot slots[] = {{0, NULL}};
    PyType_Spec spec = {"types.Plain", 0, 0, 0, slots};
    PyObject *Plain = PyType_FromSpec(&spec);
    CHECK(Plain != NULL);
    if (Plain == NULL) return;
    PyObject *doc = PyObject_GetAttrString(Plain, "__doc__");
    CHECK(doc == Py_None);
    Py_XDECREF(doc);
    PyObject *o = PyObject_CallNoArgs(Plain);
    CHECK(o != NULL);
    PyObject *r = PyObject_Repr(o);
    const char *rs = r ? PyUnicode_AsUTF8(r) : "";
    CHECK(strncmp(rs, "<types.Plain object at 0x", 25) == 0);
    Py_XDECREF(r);
    CHECK_EQ_INT(PyCallable_Check(o), 0);
    CHECK(PyObject_CallNoArgs(o) == NULL);
    CHECK_EXC(PyExc_TypeError, "'types.Plain' object is not callable");
    /* No tp_init: arguments are refused, as object.__new__ does. */
    PyObject *one = PyLong_FromLong(1);
    CHECK(PyObject_CallOneArg(Plain, one) == NULL);
    CHECK_EXC(PyExc_TypeError, "types.Plain() takes no arguments");
    Py_DECREF(one);
    /* Not a BASETYPE: cannot be subclassed. */
    PyType_Spec sub = {"types.SubPlain", 0, 0, 0, slots};
    CHECK(PyType_FromSpecWithBases(&sub, Plain) == NULL);
    CHECK_EXC(PyExc_TypeError, "type 'types.Plain' is not an acceptable base type");
    CHECK_EQ_INT(PyObject_SetAttrString(o, "x", Py_None), -1);
    CHECK_EXC(PyExc_AttributeError, "'types.Plain' object has no attribute 'x'");
    /* PyObject_GetTypeData requires an instance of the class. */
    PyObject *five = PyLong_FromLong(5);
    CHECK(PyObject_GetTypeData(five, (PyTypeObject *)Plain) == NULL);
    CHECK_EXC(PyExc_TypeError, NULL);
    CHECK(PyObject_GetTypeData(five, &PyLong_Type) == NULL);
    CHECK_EXC(PyExc_TypeError, NULL);
    Py_DECREF(five);
    Py_DECREF(o);
    Py_DECREF(Plain);

    /* tp_init returning -1 without an exception. */
    PyType_Slot slots2[] = {{Py_tp_init, SLOT_FN(init_fails_silently)},
                            {Py_tp_repr, SLOT_FN(repr_not_str)},
                            {0, NULL}};
    PyType_Spec spec2 = {"types.Silent", 0, 0, 0, slots2};
    PyObject *Silent = PyType_FromSpec(&spec2);
    CHECK(PyObject_CallNoArgs(Silent) == NULL);
    CHECK_EXC(PyExc_SystemError, NULL);
    Py_DECREF(Silent);

    /* tp_repr returning a non-str. */
    PyType_Slot slots3[] = {{Py_tp_repr, SLOT_FN(repr_not_str)}, {0, NULL}};
    PyType_Spec spec3 = {"types.BadRepr", 0, 0, 0, slots3};
    PyObject *BadRepr = PyType_FromSpec(&spec3);
    o = PyObject_CallNoArgs(BadRepr);
    CHECK(PyObject_Repr(o) == NULL);
    CHECK_EXC(PyExc_TypeError, "__repr__ returned non-string (type int)");
    CHECK(PyObject_Str(o) == NULL);
    CHECK_EXC(PyExc_TypeError, "__repr__ returned non-string (type int)");
    Py_DECREF(o);
    Py_DECREF(BadRepr);
}

/* ----- negative basicsize: subtypes of an exception class ----- */

struct err_data {
    int code;
    char note[20];
};
struct suberr_data {
    double weight;
    long marks[4];
};

static void myerror_finalize(PyObject *self) {
    (void)self;
    log_fin("MyError");
}
static void suberror_finalize(PyObject *self) {
    (void)self;
    log_fin("SubError");
}

static int all_zero(const void *p, size_t n) {
    const unsigned char *b = (const unsigned char *)p;
    for (size_t i = 0; i < n; i++)
        if (b[i] != 0) return 0;
    return 1;
}

static PyObject *err_repr(PyObject *self) {
    (void)self;
    return PyUnicode_FromString("<custom repr>");
}

/* tp_init of an exception subtype: gets the arguments, including keywords. */
static PyObject *KwError;
static int kwerror_init(PyObject *self, PyObject *args, PyObject *kwargs) {
    struct err_data *d = PyObject_GetTypeData(self, (PyTypeObject *)KwError);
    if (d == NULL) return -1;
    d->code = (int)PyTuple_Size(args);
    PyObject *code = kwargs ? PyDict_GetItemString(kwargs, "code") : NULL;
    if (code != NULL) d->code = (int)PyLong_AsLong(code);
    return PyErr_Occurred() ? -1 : 0;
}

static void test_exception_init(void) {
    PyType_Slot slots[] = {{Py_tp_init, SLOT_FN(kwerror_init)}, {0, NULL}};
    PyType_Spec spec = {"types.KwError", -(int)sizeof(struct err_data), 0, 0, slots};
    KwError = PyType_FromSpecWithBases(&spec, PyExc_RuntimeError);
    CHECK(KwError != NULL);
    if (KwError == NULL) return;
    PyObject *args = PyTuple_New(2);
    PyTuple_SetItem(args, 0, PyUnicode_FromString("a"));
    PyTuple_SetItem(args, 1, PyUnicode_FromString("b"));
    PyObject *e = PyObject_Call(KwError, args, NULL);
    CHECK(e != NULL);
    CHECK_EQ_INT(((struct err_data *)PyObject_GetTypeData(e, (PyTypeObject *)KwError))->code, 2);
    CHECK_REPR(e, "KwError('a', 'b')"); /* args are still stored by BaseException */
    Py_XDECREF(e);
    PyObject *kw = PyDict_New();
    PyObject *v = PyLong_FromLong(77);
    PyDict_SetItemString(kw, "code", v);
    e = PyObject_Call(KwError, args, kw); /* keywords go to tp_init */
    CHECK(e != NULL);
    CHECK_EQ_INT(((struct err_data *)PyObject_GetTypeData(e, (PyTypeObject *)KwError))->code, 77);
    Py_XDECREF(e);
    /* PyErr_SetString creates the instance through the type, so tp_init runs. */
    PyErr_SetString(KwError, "msg");
    e = PyErr_GetRaisedException();
    CHECK_EQ_INT(((struct err_data *)PyObject_GetTypeData(e, (PyTypeObject *)KwError))->code, 1);
    Py_XDECREF(e);
    Py_DECREF(v);
    Py_DECREF(kw);
    Py_DECREF(args);
    Py_DECREF(KwError);
}

static void test_exception_subtype(void) {
    PyType_Slot slots[] = {
        {Py_tp_finalize, SLOT_FN(myerror_finalize)},
        {Py_tp_doc, (void *)"My error."},
        {0, NULL},
    };
    PyType_Spec spec = {"types.MyError", -(int)sizeof(struct err_data), 0, Py_TPFLAGS_BASETYPE,
                        slots};
    PyObject *MyError = PyType_FromSpecWithBases(&spec, PyExc_ValueError);
    CHECK(MyError != NULL);
    if (MyError == NULL) return;
    CHECK_EQ_INT(PyExceptionClass_Check(MyError), 1);
    CHECK_EQ_INT(PyType_IsSubtype((PyTypeObject *)MyError, (PyTypeObject *)PyExc_ValueError), 1);
    CHECK_EQ_INT(PyType_IsSubtype((PyTypeObject *)MyError, (PyTypeObject *)PyExc_Exception), 1);
    CHECK_STR(PyType_GetTpName((PyTypeObject *)MyError), "types.MyError");
    PyObject *base = PyObject_GetAttrString(MyError, "__base__");
    CHECK(base == PyExc_ValueError);
    Py_XDECREF(base);

    /* Instances are exceptions carrying zeroed per-object data. */
    PyObject *args = PyTuple_New(1);
    PyTuple_SetItem(args, 0, PyUnicode_FromString("boom"));
    PyObject *e = PyObject_Call(MyError, args, NULL);
    Py_DECREF(args);
    CHECK(e != NULL);
    if (e == NULL) return;
    CHECK_EQ_INT(PyExceptionInstance_Check(e), 1);
    CHECK_OBJ_STR(e, "boom");
    CHECK_REPR(e, "MyError('boom')");
    struct err_data *d = PyObject_GetTypeData(e, (PyTypeObject *)MyError);
    CHECK(d != NULL);
    if (d == NULL) return;
    CHECK(((uintptr_t)d % 16) == 0);
    CHECK(all_zero(d, sizeof *d));
    d->code = 42;
    strcpy(d->note, "hello");
    /* The args are still intact next to the data. */
    PyObject *a = PyException_GetArgs(e);
    CHECK_REPR(a, "('boom',)");
    Py_XDECREF(a);

    /* Raise it: identity and data survive the round trip. */
    PyErr_SetObject(MyError, e);
    CHECK_EQ_INT(PyErr_ExceptionMatches(PyExc_ValueError), 1);
    CHECK_EQ_INT(PyErr_ExceptionMatches(MyError), 1);
    CHECK(PyErr_Occurred() == MyError);
    PyObject *got = PyErr_GetRaisedException();
    CHECK(got == e);
    CHECK_EQ_INT(((struct err_data *)PyObject_GetTypeData(got, (PyTypeObject *)MyError))->code,
                 42);
    CHECK_STR(((struct err_data *)PyObject_GetTypeData(got, (PyTypeObject *)MyError))->note,
              "hello");
    Py_XDECREF(got);

    /* PyErr_SetString on the subtype makes a fresh instance (zeroed data). */
    PyErr_SetString(MyError, "second");
    got = PyErr_GetRaisedException();
    CHECK(got != NULL && Py_TYPE(got) == (PyTypeObject *)MyError);
    CHECK(all_zero(PyObject_GetTypeData(got, (PyTypeObject *)MyError), sizeof(struct err_data)));
    CHECK_OBJ_STR(got, "second");
    fin_log[0] = 0;
    Py_XDECREF(got);
    CHECK_STR(fin_log, "MyError");

    /* A subtype of the subtype, with its own data: distinct, zeroed, and both survive. */
    PyType_Slot subslots[] = {{Py_tp_finalize, SLOT_FN(suberror_finalize)}, {0, NULL}};
    PyType_Spec subspec = {"types.SubError", -(int)sizeof(struct suberr_data), 0, 0, subslots};
    PyObject *bases = PyTuple_New(1);
    PyTuple_SetItem(bases, 0, Py_NewRef(MyError));
    PyObject *SubError = PyType_FromSpecWithBases(&subspec, bases);
    Py_DECREF(bases);
    CHECK(SubError != NULL);
    if (SubError == NULL) return;
    CHECK_EQ_INT(Py_REFCNT(MyError), 3); /* ours, e's, SubError's base reference */
    PyObject *s = PyObject_CallNoArgs(SubError);
    CHECK(s != NULL);
    if (s == NULL) return;
    CHECK_OBJ_STR(s, "");
    CHECK_REPR(s, "SubError()");
    struct err_data *d1 = PyObject_GetTypeData(s, (PyTypeObject *)MyError);
    struct suberr_data *d2 = PyObject_GetTypeData(s, (PyTypeObject *)SubError);
    CHECK(d1 != NULL && d2 != NULL);
    if (d1 == NULL || d2 == NULL) return;
    CHECK((char *)d2 >= (char *)d1 + sizeof *d1);
    CHECK(((uintptr_t)d2 % 16) == 0);
    CHECK(all_zero(d1, sizeof *d1));
    CHECK(all_zero(d2, sizeof *d2));
    memset(d1, 0x11, sizeof *d1);
    d2->weight = 2.5;
    d2->marks[3] = 99;
    CHECK(all_zero(d2, offsetof(struct suberr_data, marks[3]) - sizeof(double)) ||
          d2->marks[0] == 0);
    CHECK(d2->weight == 2.5 && d2->marks[0] == 0 && d2->marks[3] == 99);
    CHECK(((unsigned char *)d1)[sizeof *d1 - 1] == 0x11);
    CHECK_EQ_INT(PyErr_GivenExceptionMatches(s, PyExc_ValueError), 1);
    CHECK_EQ_INT(PyErr_GivenExceptionMatches(s, MyError), 1);
    CHECK_EQ_INT(PyErr_GivenExceptionMatches(e, SubError), 0);
    /* Not an instance of SubError. */
    CHECK(PyObject_GetTypeData(e, (PyTypeObject *)SubError) == NULL);
    CHECK_EXC(PyExc_TypeError, NULL);

    /* Finalizers: each level once, most derived first. */
    fin_log[0] = 0;
    Py_DECREF(s);
    CHECK_STR(fin_log, "SubError,MyError");
    fin_log[0] = 0;
    Py_DECREF(e);
    CHECK_STR(fin_log, "MyError");

    /* Keyword arguments: refused without a tp_init. */
    PyObject *kw = PyDict_New();
    PyDict_SetItemString(kw, "x", Py_None);
    PyObject *empty = PyTuple_New(0);
    CHECK(PyObject_Call(SubError, empty, kw) == NULL);
    CHECK_EXC(PyExc_TypeError, "SubError() takes no keyword arguments");
    Py_DECREF(empty);
    Py_DECREF(kw);

    Py_DECREF(SubError);
    CHECK_EQ_INT(Py_REFCNT(MyError), 1);
    Py_DECREF(MyError);

    /* An exception subtype with only a tp_repr: str() still comes from BaseException. */
    PyType_Slot rslots[] = {{Py_tp_repr, SLOT_FN(err_repr)}, {0, NULL}};
    PyType_Spec rspec = {"types.ReprError", 0, 0, 0, rslots};
    PyObject *ReprError = PyType_FromSpecWithBases(&rspec, PyExc_RuntimeError);
    PyObject *msg = PyUnicode_FromString("the message");
    PyObject *re = PyObject_CallOneArg(ReprError, msg);
    CHECK_OBJ_STR(re, "the message");
    CHECK_REPR(re, "<custom repr>");
    Py_XDECREF(re);
    Py_DECREF(msg);
    Py_DECREF(ReprError);
}

/* ----- negative basicsize: a subtype of a heap type ----- */

struct point3_data {
    long z;
};

static void point3_finalize(PyObject *self) {
    (void)self;
    log_fin("Point3");
}

static void test_heap_subtype(void) {
    PyObject *Point = new_point_type();
    PyType_Slot slots[] = {
        {Py_tp_base, Point},
        {Py_tp_finalize, SLOT_FN(point3_finalize)},
        {0, NULL},
    };
    PyType_Spec spec = {"types.Point3", -(int)sizeof(struct point3_data), 0, Py_TPFLAGS_BASETYPE,
                        slots};
    PyObject *Point3 = PyType_FromSpec(&spec); /* base from the Py_tp_base slot */
    CHECK(Point3 != NULL);
    if (Point3 == NULL) return;
    CHECK_EQ_INT(PyType_IsSubtype((PyTypeObject *)Point3, (PyTypeObject *)Point), 1);
    CHECK_EQ_INT(Py_REFCNT(Point), 2);

    /* Inherited tp_init, tp_repr, tp_str, tp_call and methods. */
    PyObject *p = make_point(Point3, 2, 5);
    CHECK(p != NULL);
    if (p == NULL) return;
    CHECK_REPR(p, "Point(2, 5)");
    CHECK_OBJ_STR(p, "(2, 5)");
    PyObject *r = PyObject_CallNoArgs(p);
    CHECK(r != NULL && PyLong_AsLong(r) == 10);
    Py_XDECREF(r);
    PyObject *m = PyObject_GetAttrString(p, "norm1");
    r = m ? PyObject_CallNoArgs(m) : NULL;
    CHECK(r != NULL && PyLong_AsLong(r) == 7);
    Py_XDECREF(r);
    Py_XDECREF(m);

    /* Data of each level. */
    struct point3_data *z = PyObject_GetTypeData(p, (PyTypeObject *)Point3);
    CHECK(z != NULL);
    if (z == NULL) return;
    CHECK((char *)z >= (char *)p + sizeof(PointObject));
    CHECK(((uintptr_t)z % 16) == 0);
    CHECK_EQ_INT(z->z, 0);
    z->z = -9;
    CHECK(PyObject_GetTypeData(p, (PyTypeObject *)Point) == (void *)&((PointObject *)p)->x);
    CHECK_EQ_INT(((PointObject *)p)->y, 5);

    /* A third level, by a tuple of bases, with no data and no slots. */
    PyType_Slot none[] = {{0, NULL}};
    PyType_Spec spec4 = {"types.Point4", 0, 0, 0, none};
    PyObject *Point4 = PyType_FromSpecWithBases(&spec4, Point3);
    CHECK(Point4 != NULL);
    PyObject *p4 = Point4 ? make_point(Point4, 1, 1) : NULL;
    CHECK(p4 != NULL);
    struct point3_data *z4 = p4 ? PyObject_GetTypeData(p4, (PyTypeObject *)Point3) : NULL;
    CHECK(z4 != NULL && z4->z == 0);
    fin_log[0] = 0;
    Py_XDECREF(p4);
    CHECK_STR(fin_log, "Point3,Point");
    Py_XDECREF(Point4);

    CHECK_EQ_INT(z->z, -9);
    fin_log[0] = 0;
    Py_DECREF(p);
    CHECK_STR(fin_log, "Point3,Point");
    Py_DECREF(Point3);
    CHECK_EQ_INT(Py_REFCNT(Point), 1);
    Py_DECREF(Point);
}

/* ----- errors ----- */

static void test_spec_errors(void) {
    PyType_Slot none[] = {{0, NULL}};

    /* A base that is not a BASETYPE. */
    PyType_Spec spec = {"types.MyInt", 0, 0, 0, none};
    CHECK(PyType_FromSpecWithBases(&spec, (PyObject *)&PyLong_Type) == NULL);
    CHECK_EXC(PyExc_TypeError, "type 'int' is not an acceptable base type");
    CHECK(PyType_FromSpecWithBases(&spec, (PyObject *)&PyType_Type) == NULL);
    CHECK_EXC(PyExc_TypeError, "type 'type' is not an acceptable base type");

    /* Bases that are not types. */
    CHECK(PyType_FromSpecWithBases(&spec, Py_None) == NULL);
    CHECK_EXC(PyExc_TypeError, NULL);
    PyObject *two = PyTuple_New(2);
    PyTuple_SetItem(two, 0, Py_NewRef(PyExc_ValueError));
    PyTuple_SetItem(two, 1, Py_NewRef(PyExc_KeyError));
    CHECK(PyType_FromSpecWithBases(&spec, two) == NULL);
    CHECK_EXC(PyExc_TypeError, NULL); /* one base only (documented) */
    Py_DECREF(two);

    /* An unsupported slot. */
    PyType_Slot bad[] = {{SLOT_TP_DEALLOC, SLOT_FN(point_finalize)}, {0, NULL}};
    PyType_Spec badspec = {"types.Bad", 0, 0, 0, bad};
    CHECK(PyType_FromSpec(&badspec) == NULL);
    CHECK_EXC_CONTAINS(PyExc_SystemError, "slot 52");

    /* Variable-size types. */
    PyType_Spec var = {"types.Var", 0, 8, 0, none};
    CHECK(PyType_FromSpec(&var) == NULL);
    CHECK_EXC(PyExc_SystemError, NULL);

    /* A positive basicsize smaller than the base's. */
    PyType_Spec small = {"types.Small", 8, 0, 0, none};
    CHECK(PyType_FromSpec(&small) == NULL);
    CHECK_EXC(PyExc_TypeError, NULL);

    /* No name. */
    PyType_Spec noname = {NULL, 0, 0, 0, none};
    CHECK(PyType_FromSpec(&noname) == NULL);
    CHECK_EXC(PyExc_SystemError, NULL);

    /* The spec cannot make a non-exception layout pass for an exception. */
    PyType_Spec fake = {"types.Fake", 0, 0, (unsigned)Py_TPFLAGS_BASE_EXC_SUBCLASS, none};
    PyObject *Fake = PyType_FromSpec(&fake);
    CHECK(Fake != NULL);
    CHECK_EQ_INT(PyExceptionClass_Check(Fake), 0);
    PyObject *f = Fake ? PyObject_CallNoArgs(Fake) : NULL;
    CHECK_EQ_INT(PyExceptionInstance_Check(f), 0);
    PyErr_SetRaisedException(f); /* steals; not an exception */
    CHECK_EXC(PyExc_SystemError, NULL);
    Py_XDECREF(Fake);

    /* The spec is copied: it may go away after the call. */
    PyType_Slot *heap_slots = malloc(3 * sizeof *heap_slots);
    char *heap_name = malloc(32);
    strcpy(heap_name, "types.Copied");
    heap_slots[0].slot = Py_tp_methods;
    heap_slots[0].pfunc = point_methods;
    heap_slots[1].slot = Py_tp_doc;
    heap_slots[1].pfunc = (void *)"doc";
    heap_slots[2].slot = 0;
    heap_slots[2].pfunc = NULL;
    PyType_Spec copied = {heap_name, (int)sizeof(PointObject), 0, 0, heap_slots};
    PyObject *Copied = PyType_FromSpec(&copied);
    free(heap_slots);
    memset(heap_name, 'x', 31);
    free(heap_name);
    CHECK_STR(PyType_GetTpName((PyTypeObject *)Copied), "types.Copied");
    PyObject *c = PyObject_CallNoArgs(Copied);
    PyObject *m = c ? PyObject_GetAttrString(c, "norm1") : NULL;
    PyObject *r = m ? PyObject_CallNoArgs(m) : NULL;
    CHECK(r != NULL && PyLong_AsLong(r) == 0);
    Py_XDECREF(r);
    Py_XDECREF(m);
    Py_XDECREF(c);
    Py_XDECREF(Copied);
}

int main(void) {
    test_builtin_types();
    test_heap_type();
    test_plain_type();
    test_exception_subtype();
    test_exception_init();
    test_heap_subtype();
    test_spec_errors();
    CHECK_NO_EXC();
    return check_report();
}
