/* check.h: the assertions of the C test suite.
 *
 * Every failed check prints file:line, the expression, and the pending Python-style
 * exception (if any), then counts as a failure; the test keeps going so one run shows every
 * broken check. End main() with `return check_report();`, which prints the closing
 * "N passed, N failed" line and returns non-zero on any failure.
 *
 *   CHECK(expr)                   expr is true
 *   CHECK_EQ_INT(a, b)            two integers are equal (prints both)
 *   CHECK_STR(obj_or_cstr, "..")  C strings are equal
 *   CHECK_OBJ_STR(obj, "..")      str(obj) equals the text
 *   CHECK_EXC(type, "message")    an exception of `type` (or subclass) is pending and its
 *                                 str() equals message (NULL: any message); it is cleared
 *   CHECK_EXC_CONTAINS(type, sub) as CHECK_EXC, message contains `sub`
 *   CHECK_NO_EXC()                no exception is pending
 *   CHECK_REPR(obj, "..")         repr(obj) equals the text (obj borrowed)
 *
 * Also: SLOT_FN(f), a function pointer as the void * of PyType_Slot.pfunc (ISO C has no
 * conversion between function and object pointers; a union is what -Wpedantic accepts).
 */
#ifndef STACKLESS_CHECK_H
#define STACKLESS_CHECK_H

#include <stdio.h>
#include <string.h>

#include "stackless.h"

static int check_passed_count = 0;
static int check_failed_count = 0;

/* The fully qualified name of a type as a C string (valid until the next call). */
static inline const char *check_type_name(PyTypeObject *t) {
    static char buf[64];
    PyObject *n = PyType_GetFullyQualifiedName(t);
    snprintf(buf, sizeof buf, "%s", n ? PyUnicode_AsUTF8(n) : "<?>");
    Py_XDECREF(n);
    if (n == NULL) PyErr_Clear();
    return buf;
}

static inline void check_print_pending(void) {
    PyObject *exc = PyErr_GetRaisedException();
    if (exc != NULL) {
        PyObject *s = PyObject_Str(exc);
        fprintf(stderr, "    pending exception: %s: %s\n", check_type_name(Py_TYPE(exc)),
                s ? PyUnicode_AsUTF8(s) : "<str() failed>");
        Py_XDECREF(s);
        PyErr_SetRaisedException(exc);
    }
}

static inline int check_fail(const char *file, int line, const char *what) {
    check_failed_count++;
    fprintf(stderr, "%s:%d: CHECK failed: %s\n", file, line, what);
    check_print_pending();
    return 0;
}

#define CHECK(expr) \
    ((expr) ? (check_passed_count++, 1) : check_fail(__FILE__, __LINE__, #expr))

#define CHECK_EQ_INT(a, b) \
    do { \
        long long check_a_ = (long long)(a), check_b_ = (long long)(b); \
        if (check_a_ == check_b_) { check_passed_count++; } \
        else { \
            char check_buf_[256]; \
            snprintf(check_buf_, sizeof check_buf_, "%s == %s (%lld != %lld)", #a, #b, \
                     check_a_, check_b_); \
            check_fail(__FILE__, __LINE__, check_buf_); \
        } \
    } while (0)

static inline int check_str_impl(const char *file, int line, const char *expr, const char *got,
                                 const char *want) {
    if (got != NULL && want != NULL && strcmp(got, want) == 0) {
        check_passed_count++;
        return 1;
    }
    check_failed_count++;
    fprintf(stderr, "%s:%d: CHECK failed: %s:\n    got  \"%s\"\n    want \"%s\"\n", file, line, expr,
            got ? got : "(NULL)", want ? want : "(NULL)");
    check_print_pending();
    return 0;
}
#define CHECK_STR(got, want) check_str_impl(__FILE__, __LINE__, #got, (got), (want))

static inline int check_obj_str_impl(const char *file, int line, const char *expr, PyObject *o,
                              const char *want) {
    if (o == NULL) return check_fail(file, line, expr);
    PyObject *s = PyObject_Str(o);
    int r = check_str_impl(file, line, expr, s ? PyUnicode_AsUTF8(s) : NULL, want);
    Py_XDECREF(s);
    return r;
}
#define CHECK_OBJ_STR(o, want) check_obj_str_impl(__FILE__, __LINE__, #o, (o), (want))

static inline int check_exc_impl(const char *file, int line, const char *expr, PyObject *type,
                          const char *msg, int contains) {
    PyObject *exc = PyErr_GetRaisedException();
    char buf[512];
    if (exc == NULL) {
        snprintf(buf, sizeof buf, "%s: no exception pending", expr);
        return check_fail(file, line, buf);
    }
    PyObject *s = PyObject_Str(exc);
    const char *text = s ? PyUnicode_AsUTF8(s) : "<str() failed>";
    int ok = PyErr_GivenExceptionMatches(exc, type) &&
             (msg == NULL || (contains ? strstr(text, msg) != NULL : strcmp(text, msg) == 0));
    if (ok) {
        check_passed_count++;
    } else {
        snprintf(buf, sizeof buf, "%s: got %s(\"%s\")", expr, check_type_name(Py_TYPE(exc)),
                 text);
        check_fail(file, line, buf);
    }
    Py_XDECREF(s);
    Py_DECREF(exc);
    return ok;
}
#define CHECK_EXC(type, msg) \
    check_exc_impl(__FILE__, __LINE__, "CHECK_EXC(" #type ", " #msg ")", (type), (msg), 0)
#define CHECK_EXC_CONTAINS(type, msg) \
    check_exc_impl(__FILE__, __LINE__, "CHECK_EXC_CONTAINS(" #type ", " #msg ")", (type), (msg), 1)
#define CHECK_NO_EXC() CHECK(PyErr_Occurred() == NULL)

#define CHECK_REPR(o, want) \
    do { \
        PyObject *check_repr_ = PyObject_Repr(o); \
        CHECK_OBJ_STR(check_repr_, want); \
        Py_XDECREF(check_repr_); \
    } while (0)

typedef void (*any_fn)(void);
static inline void *slot_fn(any_fn f) {
    union {
        any_fn f;
        void *p;
    } u;
    u.f = f;
    return u.p;
}
#define SLOT_FN(f) slot_fn((any_fn)(f))

static inline int check_report(void) {
    printf("%d passed, %d failed\n", check_passed_count, check_failed_count);
    return check_failed_count == 0 ? 0 : 1;
}

#endif /* STACKLESS_CHECK_H */
