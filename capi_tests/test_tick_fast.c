/* PyStackless_TickWith, the header's inline fast form of PyStackless_Tick: the same
 * interrupts at the same tick counts, the same errors. */
#include "tasklet_util.h"

static long done_ticks;
static int use_fast;

/* Ticks one at a time until stopped by the caller's flag; counts the ticks done. */
static PyObject *busy(PyObject *self, PyObject *args) {
    (void)self;
    (void)args;
    PyStackless_TickState *st = PyStackless_GetTickState();
    for (long i = 0; i < 1000; i++) {
        int r = use_fast ? PyStackless_TickWith(st, 1) : PyStackless_Tick(1);
        if (r < 0) return NULL;
        done_ticks++;
    }
    Py_RETURN_NONE;
}
static PyMethodDef busy_def = {"busy", busy, METH_NOARGS, NULL};

/* Runs a busy tasklet under run(100) and returns how many ticks it had done when the run
 * returned it (-1 when it was not interrupted). */
static long interrupted_after(int fast) {
    use_fast = fast;
    done_ticks = 0;
    PyTaskletObject *t = spawn(&busy_def, NULL);
    PyObject *r = PyStackless_RunWatchdog(100);
    long at = r == (PyObject *)t ? done_ticks : -1;
    Py_XDECREF(r);
    CHECK_EQ_INT(PyTasklet_Kill(t), 0);
    CHECK_EQ_INT(PyTasklet_Alive(t), 0);
    Py_DECREF(t);
    return at;
}

int main(void) {
    PyStackless_TickState *st = PyStackless_GetTickState();
    CHECK(st != NULL);
    CHECK(st == PyStackless_GetTickState());
    /* outside a timed run nothing interrupts */
    for (int i = 0; i < 1000; i++) CHECK_EQ_INT(PyStackless_TickWith(st, 1), 0);
    CHECK_EQ_INT(PyStackless_TickWith(st, 1L << 40), 0);
    /* the same errors */
    CHECK_EQ_INT(PyStackless_TickWith(st, -1), -1);
    CHECK_EXC(PyExc_ValueError, "PyStackless_Tick: the number of ticks must not be negative");
    /* the same interrupt point as PyStackless_Tick, in both switching modes */
    for (int soft = 1; soft >= 0; soft--) {
        PyStackless_EnableSoftswitch(soft);
        long slow = interrupted_after(0);
        long fast = interrupted_after(1);
        CHECK_EQ_INT(slow, 100);
        CHECK_EQ_INT(fast, slow);
    }
    PyStackless_EnableSoftswitch(1);
    CHECK_NO_EXC();
    return check_report();
}
