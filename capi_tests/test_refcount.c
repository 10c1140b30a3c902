/* test_refcount.c: reference counting through the public C API.
 *
 * Covers the refcount macros and functions (Py_INCREF ... Py_XSETREF, Py_NewRef, Py_IncRef,
 * Py_DecRef, Py_REFCNT), the "destructor runs exactly once when the last reference goes"
 * rule for capsules held directly or through tuples, dicts and exceptions, the functions that
 * steal references (also on failure), immortal statics, heap types kept alive by their
 * instances, and thread-safe counts.
 */
#include <pthread.h>
#include <stdint.h>

#include "check.h"

/* ----- capsules that count their destructor calls ----- */

static int destroyed[32];

static void count_destructor(PyObject *cap) {
    int *slot = (int *)PyCapsule_GetPointer(cap, PyCapsule_GetName(cap));
    if (slot != NULL) (*slot)++;
}

/* A new capsule whose destructor increments destroyed[i]. */
static PyObject *tracked(int i) {
    destroyed[i] = 0;
    return PyCapsule_New(&destroyed[i], "refcount.tracked", count_destructor);
}

static void test_macros(void) {
    PyObject *o = PyLong_FromLong(12345);
    CHECK(o != NULL);
    CHECK_EQ_INT(Py_REFCNT(o), 1);
    Py_INCREF(o);
    CHECK_EQ_INT(Py_REFCNT(o), 2);
    Py_XINCREF(o);
    CHECK_EQ_INT(Py_REFCNT(o), 3);
    Py_DECREF(o);
    Py_XDECREF(o);
    CHECK_EQ_INT(Py_REFCNT(o), 1);

    PyObject *nothing = NULL;
    Py_XINCREF(nothing);
    Py_XDECREF(nothing);
    CHECK(nothing == NULL);

    PyObject *r = Py_NewRef(o);
    CHECK(r == o);
    CHECK_EQ_INT(Py_REFCNT(o), 2);
    Py_DECREF(r);
    CHECK(Py_XNewRef(nothing) == NULL);
    r = Py_XNewRef(o);
    CHECK(r == o);
    CHECK_EQ_INT(Py_REFCNT(o), 2);
    Py_DECREF(r);

    /* Function forms. */
    Py_IncRef(o);
    CHECK_EQ_INT(Py_REFCNT(o), 2);
    Py_DecRef(o);
    CHECK_EQ_INT(Py_REFCNT(o), 1);
    Py_IncRef(NULL);
    Py_DecRef(NULL);
    CHECK_NO_EXC();

    CHECK(Py_TYPE(o) == &PyLong_Type);
    CHECK(Py_IS_TYPE(o, &PyLong_Type));
    PyObject *none = Py_None;
    CHECK(Py_Is(o, r));
    CHECK(Py_IsNone(none));
    CHECK(!Py_IsNone(o));
    Py_DECREF(o);

    /* Py_DecRef releases the last reference too. */
    PyObject *c = tracked(0);
    Py_DecRef(c);
    CHECK_EQ_INT(destroyed[0], 1);
}

/* Py_CLEAR sets the variable to NULL before the destructor runs (CPython's order). */
static PyObject *clear_target;
static int clear_saw_null;
static void clear_destructor(PyObject *cap) {
    clear_saw_null = (clear_target == NULL);
    count_destructor(cap);
}

/* Py_SETREF stores the new value before the old one is released. */
static PyObject *setref_target;
static PyObject *setref_new;
static int setref_saw_new;
static void setref_destructor(PyObject *cap) {
    setref_saw_new = (setref_target == setref_new);
    count_destructor(cap);
}

static void test_clear_setref(void) {
    destroyed[1] = 0;
    clear_target = PyCapsule_New(&destroyed[1], NULL, clear_destructor);
    CHECK(clear_target != NULL);
    Py_CLEAR(clear_target);
    CHECK(clear_target == NULL);
    CHECK_EQ_INT(destroyed[1], 1);
    CHECK(clear_saw_null);
    Py_CLEAR(clear_target); /* NULL: nothing happens */
    CHECK(clear_target == NULL);
    CHECK_EQ_INT(destroyed[1], 1);

    /* Py_CLEAR on a shared object only drops one reference. */
    PyObject *shared = tracked(2);
    PyObject *alias = Py_NewRef(shared);
    Py_CLEAR(alias);
    CHECK(alias == NULL);
    CHECK_EQ_INT(destroyed[2], 0);
    CHECK_EQ_INT(Py_REFCNT(shared), 1);
    Py_DECREF(shared);
    CHECK_EQ_INT(destroyed[2], 1);

    destroyed[3] = 0;
    setref_target = PyCapsule_New(&destroyed[3], NULL, setref_destructor);
    setref_new = PyLong_FromLong(7000); /* not a cached small int: counted */
    Py_SETREF(setref_target, setref_new);
    CHECK_EQ_INT(destroyed[3], 1);
    CHECK(setref_saw_new);
    CHECK(setref_target == setref_new);
    CHECK_EQ_INT(Py_REFCNT(setref_target), 1);

    PyObject *x = NULL;
    Py_XSETREF(x, setref_target); /* steals: x now owns the int */
    CHECK(x == setref_new);
    CHECK_EQ_INT(Py_REFCNT(x), 1);
    Py_XSETREF(x, NULL);
    CHECK(x == NULL);
    setref_target = setref_new = NULL;
}

/* ----- containers release what they hold ----- */

static void test_tuple(void) {
    PyObject *a = tracked(4), *b = tracked(5);
    PyObject *t = PyTuple_New(2);
    CHECK(t != NULL);
    CHECK_EQ_INT(PyTuple_SetItem(t, 0, a), 0); /* steals a */
    CHECK_EQ_INT(PyTuple_SetItem(t, 1, b), 0); /* steals b */
    CHECK_EQ_INT(Py_REFCNT(a), 1);
    PyObject *item = PyTuple_GetItem(t, 0); /* borrowed */
    CHECK(item == a);
    CHECK_EQ_INT(Py_REFCNT(a), 1);

    /* Replacing an item releases the old one. */
    PyObject *c = tracked(6);
    CHECK_EQ_INT(PyTuple_SetItem(t, 1, c), 0);
    CHECK_EQ_INT(destroyed[5], 1);

    /* A tuple kept alive by another holder keeps its items. */
    Py_INCREF(t);
    Py_DECREF(t);
    CHECK_EQ_INT(destroyed[4], 0);
    Py_DECREF(t);
    CHECK_EQ_INT(destroyed[4], 1);
    CHECK_EQ_INT(destroyed[6], 1);

    /* Items shared with the caller survive the tuple. */
    PyObject *d = tracked(7);
    t = PyTuple_New(1);
    PyTuple_SetItem(t, 0, Py_NewRef(d));
    CHECK_EQ_INT(Py_REFCNT(d), 2);
    Py_DECREF(t);
    CHECK_EQ_INT(destroyed[7], 0);
    CHECK_EQ_INT(Py_REFCNT(d), 1);
    Py_DECREF(d);
    CHECK_EQ_INT(destroyed[7], 1);

    /* A partly filled tuple releases what it holds. */
    PyObject *e = tracked(8);
    t = PyTuple_New(3);
    PyTuple_SetItem(t, 1, e);
    Py_DECREF(t);
    CHECK_EQ_INT(destroyed[8], 1);

    /* Nested tuples. */
    PyObject *f = tracked(9);
    PyObject *inner = PyTuple_New(1);
    PyTuple_SetItem(inner, 0, f);
    PyObject *outer = PyTuple_New(1);
    PyTuple_SetItem(outer, 0, inner);
    Py_DECREF(outer);
    CHECK_EQ_INT(destroyed[9], 1);
}

static void test_tuple_steals_on_failure(void) {
    /* NULL tuple. */
    PyObject *a = tracked(10);
    CHECK_EQ_INT(PyTuple_SetItem(NULL, 0, a), -1);
    CHECK_EXC(PyExc_SystemError, NULL);
    CHECK_EQ_INT(destroyed[10], 1);

    /* Not a tuple. */
    PyObject *not_tuple = PyLong_FromLong(1);
    a = tracked(10);
    CHECK_EQ_INT(PyTuple_SetItem(not_tuple, 0, a), -1);
    CHECK_EXC(PyExc_TypeError, NULL);
    CHECK_EQ_INT(destroyed[10], 1);
    Py_DECREF(not_tuple);

    /* Index out of range. */
    PyObject *t = PyTuple_New(1);
    a = tracked(10);
    CHECK_EQ_INT(PyTuple_SetItem(t, 1, a), -1);
    CHECK_EXC(PyExc_IndexError, "tuple assignment index out of range");
    CHECK_EQ_INT(destroyed[10], 1);
    a = tracked(10);
    CHECK_EQ_INT(PyTuple_SetItem(t, -1, a), -1);
    CHECK_EXC(PyExc_IndexError, "tuple assignment index out of range");
    CHECK_EQ_INT(destroyed[10], 1);

    /* A shared tuple must not change. */
    Py_INCREF(t);
    a = tracked(10);
    CHECK_EQ_INT(PyTuple_SetItem(t, 0, a), -1);
    CHECK_EXC(PyExc_SystemError, NULL);
    CHECK_EQ_INT(destroyed[10], 1);
    Py_DECREF(t);
    Py_DECREF(t);
}

static void test_dict(void) {
    PyObject *d = PyDict_New();
    PyObject *v = tracked(11);
    CHECK_EQ_INT(PyDict_SetItemString(d, "v", v), 0); /* does not steal */
    CHECK_EQ_INT(Py_REFCNT(v), 2);
    CHECK(PyDict_GetItemString(d, "v") == v); /* borrowed */
    CHECK_EQ_INT(Py_REFCNT(v), 2);
    PyObject *k = PyUnicode_FromString("v");
    CHECK(PyDict_GetItem(d, k) == v);
    CHECK(PyDict_GetItemWithError(d, k) == v);
    CHECK_EQ_INT(Py_REFCNT(v), 2);
    Py_DECREF(v);
    CHECK_EQ_INT(destroyed[11], 0);

    /* Replacing a value releases the old one; the key is kept. */
    PyObject *w = tracked(12);
    CHECK_EQ_INT(PyDict_SetItem(d, k, w), 0);
    CHECK_EQ_INT(destroyed[11], 1);
    Py_DECREF(w);
    CHECK_EQ_INT(destroyed[12], 0);

    /* Deleting releases the value. */
    CHECK_EQ_INT(PyDict_DelItem(d, k), 0);
    CHECK_EQ_INT(destroyed[12], 1);
    CHECK_EQ_INT(Py_REFCNT(k), 1);

    /* Keys are held too: a capsule key (compared by identity). */
    PyObject *ck = tracked(13);
    PyObject *cv = tracked(14);
    CHECK_EQ_INT(PyDict_SetItem(d, ck, cv), 0);
    CHECK_EQ_INT(Py_REFCNT(ck), 2);
    Py_DECREF(ck);
    Py_DECREF(cv);
    CHECK_EQ_INT(destroyed[13], 0);
    CHECK_EQ_INT(destroyed[14], 0);

    /* A dict inside a tuple inside a dict. */
    PyObject *deep = tracked(15);
    PyObject *d2 = PyDict_New();
    PyDict_SetItemString(d2, "deep", deep);
    Py_DECREF(deep);
    PyObject *t = PyTuple_New(1);
    PyTuple_SetItem(t, 0, d2);
    PyDict_SetItemString(d, "t", t);
    Py_DECREF(t);
    CHECK_EQ_INT(destroyed[15], 0);

    /* Releasing the dict releases keys, values and everything below. */
    Py_DECREF(d);
    CHECK_EQ_INT(destroyed[13], 1);
    CHECK_EQ_INT(destroyed[14], 1);
    CHECK_EQ_INT(destroyed[15], 1);
    CHECK_EQ_INT(Py_REFCNT(k), 1);
    Py_DECREF(k);

    /* PyDict_SetItem failing does not take references. */
    d = PyDict_New();
    PyObject *x = tracked(16);
    CHECK_EQ_INT(PyDict_SetItem(d, NULL, x), -1);
    CHECK_EXC(PyExc_SystemError, NULL);
    CHECK_EQ_INT(Py_REFCNT(x), 1);
    Py_DECREF(x);
    CHECK_EQ_INT(destroyed[16], 1);
    Py_DECREF(d);
}

/* ----- exceptions hold their args ----- */

static void test_exceptions(void) {
    /* PyErr_SetObject borrows the value; the exception's args hold it. */
    PyObject *a = tracked(17);
    PyErr_SetObject(PyExc_ValueError, a);
    CHECK_EQ_INT(Py_REFCNT(a), 2);
    Py_DECREF(a);
    CHECK_EQ_INT(destroyed[17], 0);
    PyErr_Clear();
    CHECK_EQ_INT(destroyed[17], 1);

    /* Through Fetch / Restore: new references out, stolen back in. */
    a = tracked(18);
    PyErr_SetObject(PyExc_KeyError, a);
    Py_DECREF(a);
    PyObject *t = NULL, *v = NULL, *tb = NULL;
    PyErr_Fetch(&t, &v, &tb);
    CHECK(t == PyExc_KeyError);
    CHECK(v != NULL);
    CHECK(tb == NULL);
    CHECK_EQ_INT(Py_REFCNT(v), 1);
    CHECK_NO_EXC();
    PyErr_Restore(t, v, tb); /* steals all three */
    CHECK(PyErr_Occurred() == PyExc_KeyError);
    CHECK_EQ_INT(destroyed[18], 0);
    PyErr_Clear();
    CHECK_EQ_INT(destroyed[18], 1);

    /* GetRaisedException / SetRaisedException. */
    a = tracked(19);
    PyErr_SetObject(PyExc_RuntimeError, a);
    Py_DECREF(a);
    PyObject *e = PyErr_GetRaisedException();
    CHECK_EQ_INT(Py_REFCNT(e), 1);
    PyObject *args = PyException_GetArgs(e); /* new reference */
    CHECK_EQ_INT(Py_REFCNT(args), 2);
    Py_DECREF(args);
    PyObject *args2 = PyObject_GetAttrString(e, "args"); /* new reference */
    CHECK(args2 == args);
    Py_DECREF(args2);
    PyErr_SetRaisedException(e); /* steals */
    CHECK_EQ_INT(destroyed[19], 0);
    PyErr_Clear();
    CHECK_EQ_INT(destroyed[19], 1);

    /* An exception instance dropped by the caller. */
    a = tracked(20);
    PyObject *targs = PyTuple_New(1);
    PyTuple_SetItem(targs, 0, a);
    e = PyObject_Call(PyExc_TypeError, targs, NULL);
    Py_DECREF(targs);
    CHECK(e != NULL);
    CHECK_EQ_INT(destroyed[20], 0);
    Py_DECREF(e);
    CHECK_EQ_INT(destroyed[20], 1);

    /* __context__ / __cause__ are owned (SetContext / SetCause steal). */
    PyObject *outer = PyObject_CallNoArgs(PyExc_ValueError);
    PyObject *ctx_arg = tracked(21);
    PyErr_SetObject(PyExc_KeyError, ctx_arg);
    Py_DECREF(ctx_arg);
    PyObject *ctx = PyErr_GetRaisedException();
    PyException_SetContext(outer, ctx); /* steals ctx */
    PyObject *cause_arg = tracked(22);
    PyErr_SetObject(PyExc_KeyError, cause_arg);
    Py_DECREF(cause_arg);
    PyObject *cause = PyErr_GetRaisedException();
    PyException_SetCause(outer, cause); /* steals cause */
    CHECK_EQ_INT(Py_REFCNT(ctx), 1);
    CHECK_EQ_INT(Py_REFCNT(cause), 1);
    PyObject *got = PyException_GetContext(outer); /* new reference */
    CHECK(got == ctx);
    CHECK_EQ_INT(Py_REFCNT(ctx), 2);
    Py_DECREF(got);
    got = PyException_GetCause(outer);
    CHECK(got == cause);
    Py_DECREF(got);
    CHECK_EQ_INT(destroyed[21], 0);
    CHECK_EQ_INT(destroyed[22], 0);
    Py_DECREF(outer);
    CHECK_EQ_INT(destroyed[21], 1);
    CHECK_EQ_INT(destroyed[22], 1);

    /* Replacing the context releases the old one. */
    outer = PyObject_CallNoArgs(PyExc_ValueError);
    ctx_arg = tracked(23);
    PyErr_SetObject(PyExc_KeyError, ctx_arg);
    Py_DECREF(ctx_arg);
    PyException_SetContext(outer, PyErr_GetRaisedException());
    PyException_SetContext(outer, NULL);
    CHECK_EQ_INT(destroyed[23], 1);
    Py_DECREF(outer);

    /* PyErr_Restore and PyErr_SetRaisedException steal even when they reject the input. */
    a = tracked(24);
    PyErr_Restore(Py_NewRef(Py_None), a, NULL); /* None is not an exception class */
    CHECK_EXC(PyExc_SystemError, NULL);
    CHECK_EQ_INT(destroyed[24], 1);
    a = tracked(24);
    PyErr_SetRaisedException(a); /* a capsule is not an exception */
    CHECK_EXC(PyExc_SystemError, NULL);
    CHECK_EQ_INT(destroyed[24], 1);
    /* PyErr_Restore(NULL, ...) clears and releases the rest. */
    a = tracked(24);
    PyErr_SetString(PyExc_ValueError, "pending");
    PyErr_Restore(NULL, a, NULL);
    CHECK_NO_EXC();
    CHECK_EQ_INT(destroyed[24], 1);
    /* The traceback slot takes a reference as well. */
    a = tracked(25);
    PyErr_Restore(Py_NewRef(PyExc_ValueError), NULL, a);
    PyObject *t2, *v2, *tb2;
    PyErr_Fetch(&t2, &v2, &tb2);
    CHECK(tb2 == a);
    CHECK_EQ_INT(destroyed[25], 0);
    Py_DECREF(t2);
    Py_DECREF(v2);
    Py_DECREF(tb2);
    CHECK_EQ_INT(destroyed[25], 1);
}

/* ----- function objects hold self ----- */

static PyObject *return_self(PyObject *self, PyObject *unused) {
    (void)unused;
    return Py_NewRef(self);
}
static PyMethodDef self_def = {"self", return_self, METH_NOARGS, NULL};

static void test_cfunction(void) {
    PyObject *s = tracked(26);
    PyObject *f = PyCFunction_New(&self_def, s);
    CHECK_EQ_INT(Py_REFCNT(s), 2);
    Py_DECREF(s);
    PyObject *r = PyObject_CallNoArgs(f);
    CHECK(r == s);
    Py_DECREF(r);
    CHECK_EQ_INT(destroyed[26], 0);
    Py_DECREF(f);
    CHECK_EQ_INT(destroyed[26], 1);
}

/* ----- heap types are kept alive by their instances ----- */

static int finalized;
static void fin(PyObject *self) {
    (void)self;
    finalized++;
}

static void test_heap_type(void) {
    PyType_Slot slots[] = {{Py_tp_finalize, SLOT_FN(fin)}, {0, NULL}};
    PyType_Spec spec = {"refcount.Heap", -16, 0, Py_TPFLAGS_DEFAULT, slots};
    PyObject *tp = PyType_FromSpec(&spec);
    CHECK(tp != NULL);
    CHECK_EQ_INT(Py_REFCNT(tp), 1);
    PyObject *o1 = PyObject_CallNoArgs(tp);
    PyObject *o2 = PyObject_CallNoArgs(tp);
    CHECK(o1 != NULL && o2 != NULL);
    CHECK_EQ_INT(Py_REFCNT(tp), 3);
    PyObject *ty = PyObject_Type(o1); /* new reference */
    CHECK(ty == tp);
    CHECK_EQ_INT(Py_REFCNT(tp), 4);
    Py_DECREF(ty);
    Py_DECREF(tp); /* the instances keep it alive */
    CHECK_EQ_INT(Py_REFCNT(tp), 2);
    CHECK(PyType_GetTpName((PyTypeObject *)tp) != NULL);
    finalized = 0;
    Py_DECREF(o1);
    CHECK_EQ_INT(finalized, 1);
    CHECK_EQ_INT(Py_REFCNT(tp), 1);
    Py_DECREF(o2); /* frees the instance, then the type (valgrind checks it) */
    CHECK_EQ_INT(finalized, 2);
}

/* A finalizer that takes and drops temporary references to its object. */
static int temp_ref_seen;
static void fin_temp_ref(PyObject *self) {
    Py_INCREF(self);
    temp_ref_seen = (int)Py_REFCNT(self);
    Py_DECREF(self);
}

static void test_finalizer_temp_ref(void) {
    PyType_Slot slots[] = {{Py_tp_finalize, SLOT_FN(fin_temp_ref)}, {0, NULL}};
    PyType_Spec spec = {"refcount.TempRef", 0, 0, Py_TPFLAGS_DEFAULT, slots};
    PyObject *tp = PyType_FromSpec(&spec);
    PyObject *o = PyObject_CallNoArgs(tp);
    Py_DECREF(tp);
    temp_ref_seen = 0;
    Py_DECREF(o); /* freed exactly once, no use after free (valgrind) */
    CHECK_EQ_INT(temp_ref_seen, 2);
}

/* A finalizer that resurrects its object: the object must stay valid. */
static PyObject *resurrected;
static void fin_resurrect(PyObject *self) {
    if (resurrected == NULL) resurrected = Py_NewRef(self);
}

static void test_finalizer_resurrect(void) {
    PyType_Slot slots[] = {{Py_tp_finalize, SLOT_FN(fin_resurrect)}, {0, NULL}};
    PyType_Spec spec = {"refcount.Phoenix", 0, 0, Py_TPFLAGS_DEFAULT, slots};
    PyObject *tp = PyType_FromSpec(&spec);
    PyObject *o = PyObject_CallNoArgs(tp);
    Py_DECREF(tp);
    resurrected = NULL;
    Py_DECREF(o);
    CHECK(resurrected == o);
    CHECK_EQ_INT(Py_REFCNT(resurrected), 1);
    CHECK(PyObject_TypeCheck(resurrected, Py_TYPE(resurrected)));
    CHECK_STR(PyType_GetTpName(Py_TYPE(resurrected)), "refcount.Phoenix");
    PyObject *keep = resurrected;
    Py_DECREF(keep); /* finalizer runs again, does not resurrect: freed */
    CHECK(resurrected == keep);
}

/* ----- immortal statics ----- */

static void test_immortal(void) {
    PyObject *statics[] = {Py_None,           Py_True,           Py_False,
                           (PyObject *)&PyLong_Type, (PyObject *)&PyType_Type,
                           (PyObject *)&PyBaseObject_Type, PyExc_ValueError,
                           PyExc_TaskletExit, PyExc_BaseException};
    size_t n = sizeof statics / sizeof statics[0];
    for (size_t i = 0; i < n; i++) {
        Py_ssize_t before = Py_REFCNT(statics[i]);
        CHECK(before >= ((Py_ssize_t)1 << 59));
        for (int j = 0; j < 100000; j++) Py_DECREF(statics[i]);
        for (int j = 0; j < 1000; j++) Py_DecRef(statics[i]);
        CHECK(Py_REFCNT(statics[i]) > 0);
        /* Still usable. */
        PyObject *r = PyObject_Repr(statics[i]);
        CHECK(r != NULL);
        Py_XDECREF(r);
        /* Give the references back so other checks see the usual counts. */
        for (int j = 0; j < 101000; j++) Py_INCREF(statics[i]);
        CHECK_EQ_INT(Py_REFCNT(statics[i]), before);
    }
    CHECK_OBJ_STR(Py_None, "None");
    CHECK_OBJ_STR(Py_True, "True");
    CHECK_OBJ_STR(PyExc_ValueError, "<class 'ValueError'>");

    /* Singletons returned by the API are new references to the same objects. */
    PyObject *t = PyBool_FromLong(5);
    CHECK(t == Py_True);
    Py_DECREF(t);

    /* CPython 3.12's small ints: -5..256 are shared immortal objects; others are new. */
    long small[] = {-5, -1, 0, 1, 42, 256};
    for (size_t i = 0; i < sizeof small / sizeof small[0]; i++) {
        PyObject *a = PyLong_FromLong(small[i]);
        PyObject *b = PyLong_FromLongLong(small[i]);
        CHECK(a != NULL && a == b);
        CHECK(Py_REFCNT(a) >= ((Py_ssize_t)1 << 59));
        CHECK_EQ_INT(PyLong_AsLong(a), small[i]);
        Py_XDECREF(a);
        Py_XDECREF(b);
    }
    long big[] = {-6, 257, 100000};
    for (size_t i = 0; i < sizeof big / sizeof big[0]; i++) {
        PyObject *a = PyLong_FromLong(big[i]);
        PyObject *b = PyLong_FromLong(big[i]);
        CHECK(a != NULL && b != NULL && a != b);
        CHECK_EQ_INT(Py_REFCNT(a), 1);
        CHECK_EQ_INT(PyLong_AsLong(b), big[i]);
        Py_XDECREF(a);
        Py_XDECREF(b);
    }
}

static PyObject *ret_none(void) { Py_RETURN_NONE; }
static PyObject *ret_true(void) { Py_RETURN_TRUE; }
static PyObject *ret_false(void) { Py_RETURN_FALSE; }

static void test_return_macros(void) {
        /* Py_None is immortal (CPython 3.12's rule): returning it does not change its count. */
    Py_ssize_t n = Py_REFCNT(Py_None);
    PyObject *r = ret_none();
    CHECK(r == Py_None);
    CHECK_EQ_INT(Py_REFCNT(Py_None), n);
    CHECK(n >= _Py_IMMORTAL_REFCNT);
    Py_DECREF(r);
    r = ret_true();
    CHECK(r == Py_True);
    Py_DECREF(r);
    r = ret_false();
    CHECK(r == Py_False);
    Py_DECREF(r);
}

/* ----- thread safety ----- */

#define PAIRS 1000000

struct worker {
    PyObject *obj;
    int use_functions;
};

static void *hammer(void *arg) {
    struct worker *w = (struct worker *)arg;
    for (int i = 0; i < PAIRS; i++) {
        if (w->use_functions) {
            Py_IncRef(w->obj);
            Py_DecRef(w->obj);
        } else {
            Py_INCREF(w->obj);
            Py_DECREF(w->obj);
        }
    }
    return NULL;
}

/* Takes PAIRS references first, then gives them all back. */
static void *hammer_bulk(void *arg) {
    PyObject *o = (PyObject *)arg;
    for (int i = 0; i < PAIRS; i++) Py_INCREF(o);
    for (int i = 0; i < PAIRS; i++) Py_DECREF(o);
    return NULL;
}

/* Each thread owns one reference and releases it: the last one frees the capsule. */
static void *release_one(void *arg) {
    Py_DECREF((PyObject *)arg);
    return NULL;
}

static void test_threads(void) {
    PyObject *o = tracked(27);
    struct worker w1 = {o, 0}, w2 = {o, 1}, w3 = {o, 0};
    pthread_t t1, t2, t3, t4;
    CHECK_EQ_INT(pthread_create(&t1, NULL, hammer, &w1), 0);
    CHECK_EQ_INT(pthread_create(&t2, NULL, hammer, &w2), 0);
    CHECK_EQ_INT(pthread_create(&t3, NULL, hammer, &w3), 0);
    CHECK_EQ_INT(pthread_create(&t4, NULL, hammer_bulk, o), 0);
    pthread_join(t1, NULL);
    pthread_join(t2, NULL);
    pthread_join(t3, NULL);
    pthread_join(t4, NULL);
    CHECK_EQ_INT(Py_REFCNT(o), 1);
    CHECK_EQ_INT(destroyed[27], 0);

    /* Eight threads each drop one of eight references: exactly one destructor call. */
    pthread_t ts[8];
    for (int i = 0; i < 7; i++) Py_INCREF(o);
    for (int i = 0; i < 8; i++) CHECK_EQ_INT(pthread_create(&ts[i], NULL, release_one, o), 0);
    for (int i = 0; i < 8; i++) pthread_join(ts[i], NULL);
    CHECK_EQ_INT(destroyed[27], 1);

    /* A static shared by threads keeps its count. */
    Py_ssize_t none_before = Py_REFCNT(Py_None);
    struct worker wn1 = {Py_None, 0}, wn2 = {Py_None, 1};
    pthread_create(&t1, NULL, hammer, &wn1);
    pthread_create(&t2, NULL, hammer, &wn2);
    pthread_join(t1, NULL);
    pthread_join(t2, NULL);
    CHECK_EQ_INT(Py_REFCNT(Py_None), none_before);
}

int main(void) {
    test_macros();
    test_clear_setref();
    test_tuple();
    test_tuple_steals_on_failure();
    test_dict();
    test_exceptions();
    test_cfunction();
    test_heap_type();
    test_finalizer_temp_ref();
    test_finalizer_resurrect();
    test_immortal();
    test_return_macros();
    test_threads();
    CHECK_NO_EXC();
    return check_report();
}
