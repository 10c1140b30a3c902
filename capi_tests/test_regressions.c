/* Regression tests: each block is a bug that was found and fixed, checked the way a user
 * would meet it. */
#include "check.h"

int main(void) {
    /* PyTuple_New / PyBytes_FromStringAndSize with an impossible size aborted the process
     * ("memory allocation failed") instead of raising MemoryError. */
    CHECK(PyTuple_New((Py_ssize_t)1 << 40) == NULL);
    CHECK_EXC(PyExc_MemoryError, NULL);
    CHECK(PyTuple_New((Py_ssize_t)1 << 60) == NULL);
    CHECK_EXC(PyExc_MemoryError, NULL);
    CHECK(PyBytes_FromStringAndSize(NULL, (Py_ssize_t)1 << 45) == NULL);
    CHECK_EXC(PyExc_MemoryError, NULL);

    /* str() of a KeyError with one argument showed the argument's str(), not its repr(). */
    PyErr_SetString(PyExc_KeyError, "k");
    PyObject *e = PyErr_GetRaisedException();
    CHECK_OBJ_STR(e, "'k'");
    Py_DECREF(e);

    /* PyObject_GetAttr with a non-str name: CPython's message. */
    PyObject *i = PyLong_FromLong(1);
    CHECK(PyObject_GetAttr(i, i) == NULL);
    CHECK_EXC(PyExc_TypeError, "attribute name must be string, not 'int'");
    Py_DECREF(i);
        /* PyTasklet_Kill reported its errors under PyTasklet_KillEx's name. */
    CHECK(PyTasklet_Kill(NULL) == -1);
    CHECK_EXC(PyExc_SystemError, "PyTasklet_Kill: argument 'task' must not be NULL");

    /* Stack sizes near SIZE_MAX overflowed the page rounding (the default became 0). */
    size_t old = PyStackless_SetStackSize((size_t)-1);
    CHECK(PyStackless_SetStackSize(0) == (size_t)1 << 30);
    PyStackless_SetStackSize(old);
    CHECK(PyStackless_SetStackSize(0) == old);
    return check_report();
}
