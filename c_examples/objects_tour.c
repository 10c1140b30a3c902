/* objects_tour.c: a tour of libstackless's object model, written the way a C program uses it.
 *
 * libstackless carries a small CPython-compatible object system (ints, strs, tuples, dicts,
 * C functions, exceptions), because Stackless's C API passes objects around: tasklets run
 * callables with argument tuples, and channels carry objects. This program creates a few
 * objects, defines a C function and calls it, raises and catches exceptions, and releases
 * every reference it owns (it runs clean under valgrind).
 *
 * Build and run it from the repository root:
 *   cargo build --release
 *   cc -std=c11 -Wall -Iinclude c_examples/objects_tour.c -Ltarget/release -lstackless \
 *      -Wl,-rpath,"$PWD/target/release" -o objects_tour && ./objects_tour
 *
 * Expected output:
 *   -- ints
 *   answer = 42, repr: 42
 *   PyLong_FromUnsignedLong(ULONG_MAX): caught OverflowError: int too large for libstackless's 64-bit ints
 *   -- strings
 *   'héllo, tasklet' has 14 code points in 15 bytes of UTF-8
 *   -- tuples
 *   point = (3, 4, 'label'), 3 items, point[1] = 4
 *   -- dicts
 *   config = {'stack_kb': 64, 'name': 'tour'}
 *     stack_kb -> 64
 *     name -> 'tour'
 *   missing key: NULL, exception pending: no
 *   -- calling a C function
 *   <built-in function hypot2>
 *   hypot2(3, 4) = 25
 *   -- exceptions
 *   hypot2(3, 'x'): caught TypeError: hypot2() argument 2 must be int, not str
 *   hypot2(3): caught TypeError: hypot2() takes exactly 2 arguments (1 given)
 *   tour.TourError: the tour is over (an Exception: yes)
 *   done
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>

#include "stackless.h"

/* Most calls return NULL (or -1) with an exception set when they fail. A real program
 * would propagate the failure to its caller; this tour just prints it and stops. */
static void die_if_error(const void *result, const char *what) {
    if (result == NULL && PyErr_Occurred() != NULL) {
        fprintf(stderr, "%s failed: ", what);
        PyErr_Print(); /* prints "Type: message" to stderr and clears the exception */
        exit(1);
    }
}

/* Prints repr(o) without a newline. */
static void print_repr(PyObject *o) {
    PyObject *r = PyObject_Repr(o); /* new reference */
    die_if_error(r, "PyObject_Repr");
    fputs(PyUnicode_AsUTF8(r), stdout); /* borrowed from r: use it before releasing r */
    Py_DECREF(r);
}

/* ---- A C function callable as an object -------------------------------------------------
 * METH_VARARGS: it is called as f(self, args) with args a tuple. It returns a new reference,
 * or sets an exception and returns NULL, exactly like a CPython extension function. */
static PyObject *hypot2(PyObject *self, PyObject *args) {
    (void)self; /* NULL: the function is not bound to an object */
    Py_ssize_t n = PyTuple_Size(args);
    if (n != 2) {
        char msg[80];
        snprintf(msg, sizeof msg, "hypot2() takes exactly 2 arguments (%td given)", n);
        PyErr_SetString(PyExc_TypeError, msg);
        return NULL;
    }
    long v[2];
    for (Py_ssize_t i = 0; i < 2; i++) {
        PyObject *item = PyTuple_GetItem(args, i); /* borrowed reference */
        if (!PyLong_Check(item)) {
            /* PyErr_Format sets the exception and returns NULL. PyType_GetTpName gives the
             * type's name as a C string (PyTypeObject is opaque in libstackless). */
            return PyErr_Format(PyExc_TypeError, "hypot2() argument %zd must be int, not %.50s",
                                i + 1, PyType_GetTpName(Py_TYPE(item)));
        }
        v[i] = PyLong_AsLong(item);
        if (v[i] == -1 && PyErr_Occurred()) return NULL; /* -1 may be a real value */
    }
    return PyLong_FromLong(v[0] * v[0] + v[1] * v[1]);
}

/* The method table entry must outlive the function object: make it static. */
static PyMethodDef hypot2_def = {
    "hypot2", hypot2, METH_VARARGS, "hypot2(x, y) -> x*x + y*y",
};

/* Calls f(*args) and reports a TypeError by catching it with PyErr_ExceptionMatches and
 * PyErr_Fetch (the classic way; PyErr_GetRaisedException is the newer one, used below). */
static void call_and_catch(PyObject *f, PyObject *args, const char *label) {
    PyObject *result = PyObject_Call(f, args, NULL);
    if (result != NULL) {
        printf("%s = %ld\n", label, PyLong_AsLong(result));
        Py_DECREF(result);
        return;
    }
    if (!PyErr_ExceptionMatches(PyExc_TypeError)) {
        die_if_error(NULL, label); /* anything else is unexpected */
    }
    PyObject *type, *value, *traceback;
    PyErr_Fetch(&type, &value, &traceback); /* three new references; clears the indicator */
    PyObject *text = PyObject_Str(value);
    die_if_error(text, "PyObject_Str");
    printf("%s: caught %s: %s\n", label, PyType_GetTpName((PyTypeObject *)type),
           PyUnicode_AsUTF8(text));
    Py_DECREF(text);
    Py_XDECREF(type);
    Py_XDECREF(value);
    Py_XDECREF(traceback); /* NULL here: Py_XDECREF ignores NULL */
}

int main(void) {
    /* ---- ints ---------------------------------------------------------------------------- */
    puts("-- ints");
    PyObject *answer = PyLong_FromLong(42); /* new reference: we own it */
    die_if_error(answer, "PyLong_FromLong");
    printf("answer = %ld, repr: ", PyLong_AsLong(answer));
    print_repr(answer);
    putchar('\n');

    /* ints are 64-bit here: a value that does not fit raises OverflowError. */
    PyObject *big = PyLong_FromUnsignedLong(ULONG_MAX);
    if (big == NULL && PyErr_ExceptionMatches(PyExc_OverflowError)) {
        PyObject *exc = PyErr_GetRaisedException(); /* new reference; clears the indicator */
        PyObject *text = PyObject_Str(exc);
        die_if_error(text, "PyObject_Str");
        printf("PyLong_FromUnsignedLong(ULONG_MAX): caught %s: %s\n",
               PyType_GetTpName(Py_TYPE(exc)), PyUnicode_AsUTF8(text));
        Py_DECREF(text);
        Py_DECREF(exc);
    } else {
        Py_XDECREF(big);
    }

    /* ---- strings: UTF-8 in, UTF-8 out ---------------------------------------------------- */
    puts("-- strings");
    PyObject *greeting = PyUnicode_FromString("h\xc3\xa9llo, tasklet"); /* "héllo, tasklet" */
    die_if_error(greeting, "PyUnicode_FromString");
    Py_ssize_t nbytes;
    const char *utf8 = PyUnicode_AsUTF8AndSize(greeting, &nbytes); /* borrowed from greeting */
    printf("'%s' has %td code points in %td bytes of UTF-8\n", utf8,
           PyUnicode_GetLength(greeting), nbytes);

    /* ---- tuples: fill a new tuple with PyTuple_SetItem, which STEALS the reference ---------- */
    puts("-- tuples");
    PyObject *point = PyTuple_New(3);
    die_if_error(point, "PyTuple_New");
    PyTuple_SetItem(point, 0, PyLong_FromLong(3));
    PyTuple_SetItem(point, 1, PyLong_FromLong(4));
    PyTuple_SetItem(point, 2, PyUnicode_FromString("label"));
    fputs("point = ", stdout);
    print_repr(point);
    printf(", %td items, point[1] = %ld\n", PyTuple_Size(point),
           PyLong_AsLong(PyTuple_GetItem(point, 1))); /* GetItem: borrowed, nothing to release */

    /* ---- dicts: SetItem does NOT steal; GetItem returns a borrowed reference --------------- */
    puts("-- dicts");
    PyObject *config = PyDict_New();
    die_if_error(config, "PyDict_New");
    PyObject *stack_kb = PyLong_FromLong(64);
    PyObject *name = PyUnicode_FromString("tour");
    die_if_error(stack_kb, "PyLong_FromLong");
    die_if_error(name, "PyUnicode_FromString");
    if (PyDict_SetItemString(config, "stack_kb", stack_kb) < 0 ||
        PyDict_SetItemString(config, "name", name) < 0) {
        die_if_error(NULL, "PyDict_SetItemString");
    }
    Py_DECREF(stack_kb); /* the dict holds its own references now */
    Py_DECREF(name);
    fputs("config = ", stdout);
    print_repr(config);
    putchar('\n');

    Py_ssize_t pos = 0;
    PyObject *key, *value; /* borrowed references, valid while the dict is unchanged */
    while (PyDict_Next(config, &pos, &key, &value)) {
        printf("  %s -> ", PyUnicode_AsUTF8(key));
        print_repr(value);
        putchar('\n');
    }
    /* A missing key is NULL *without* an exception (PyDict_GetItemWithError tells errors apart). */
    PyObject *missing = PyDict_GetItemString(config, "nope");
    printf("missing key: %s, exception pending: %s\n", missing ? "found" : "NULL",
           PyErr_Occurred() ? "yes" : "no");

    /* ---- calling a C function through the object model ------------------------------------- */
    puts("-- calling a C function");
    PyObject *f = PyCFunction_New(&hypot2_def, NULL);
    die_if_error(f, "PyCFunction_New");
    print_repr(f);
    putchar('\n');
    PyObject *args = PyTuple_New(2);
    die_if_error(args, "PyTuple_New");
    PyTuple_SetItem(args, 0, Py_NewRef(PyTuple_GetItem(point, 0))); /* SetItem steals: */
    PyTuple_SetItem(args, 1, Py_NewRef(PyTuple_GetItem(point, 1))); /* give it a new ref */
    call_and_catch(f, args, "hypot2(3, 4)");
    Py_DECREF(args);

    /* ---- exceptions ------------------------------------------------------------------------ */
    puts("-- exceptions");
    args = PyTuple_New(2);
    die_if_error(args, "PyTuple_New");
    PyTuple_SetItem(args, 0, PyLong_FromLong(3));
    PyTuple_SetItem(args, 1, PyUnicode_FromString("x"));
    call_and_catch(f, args, "hypot2(3, 'x')");
    Py_DECREF(args);

    args = PyTuple_New(1);
    die_if_error(args, "PyTuple_New");
    PyTuple_SetItem(args, 0, PyLong_FromLong(3));
    call_and_catch(f, args, "hypot2(3)");
    Py_DECREF(args);

    /* A new exception class (a subclass of Exception), raised and caught. */
    PyObject *TourError = PyErr_NewException("tour.TourError", NULL, NULL);
    die_if_error(TourError, "PyErr_NewException");
    PyErr_SetString(TourError, "the tour is over");
    PyObject *exc = PyErr_GetRaisedException(); /* new reference to the instance */
    PyObject *text = PyObject_Str(exc);
    die_if_error(text, "PyObject_Str");
    printf("%s: %s (an Exception: %s)\n", PyType_GetTpName(Py_TYPE(exc)), PyUnicode_AsUTF8(text),
           PyErr_GivenExceptionMatches(exc, PyExc_Exception) ? "yes" : "no");
    Py_DECREF(text);
    Py_DECREF(exc);
    Py_DECREF(TourError);

    /* ---- release everything we own --------------------------------------------------------- */
    Py_DECREF(f);
    Py_DECREF(config);
    Py_DECREF(point);
    Py_DECREF(greeting);
    Py_DECREF(answer);
    puts("done");
    return 0;
}
