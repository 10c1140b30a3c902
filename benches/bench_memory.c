/* bench_memory: what a blocked tasklet costs. Creates N tasklets whose body receives from one
 * channel, runs them until all of them are blocked on it (PyStackless_RunWatchdog(0) returns
 * then), and measures the growth of the peak resident set size (VmHWM).
 *
 * Figures (bytes per blocked tasklet; each measured in its own fresh child process, see
 * bench.h): everything the tasklet costs is counted: the tasklet object, its arguments, its
 * place in the channel's queue and, for hard, the stack pages it touched.
 *   blocked_100k_hard_bytes_per_tasklet   100,000 tasklets blocked in a plain
 *                                         PyChannel_Receive (each keeps its C stack)
 *   blocked_100k_soft_bytes_per_tasklet   100,000 tasklets whose body returns
 *                                         PyChannel_Receive_nr(ch) (blocked softly: no stack)
 *   blocked_1m_soft_bytes_per_tasklet     the same with 1,000,000 tasklets
 * A memory figure is one measurement, not a median (it barely varies). */
#include "bench.h"

static PyChannelObject *ch;
static long soft_blocks;

static PyObject *recv_hard(PyObject *self, PyObject *unused) {
    (void)self, (void)unused;
    return PyChannel_Receive(ch);
}
static PyMethodDef recv_hard_def = {"recv_hard", recv_hard, METH_NOARGS, NULL};

/* A body invoked by the frame loop may call a _nr function in tail position: it blocks
 * softly and, once resumed, the received value ends the tasklet. */
static PyObject *recv_soft(PyObject *self, PyObject *unused) {
    (void)self, (void)unused;
    PyObject *r = PyChannel_Receive_nr(ch);
    if (STACKLESS_UNWINDING(r)) soft_blocks++;
    return r;
}
static PyMethodDef recv_soft_def = {"recv_soft", recv_soft, METH_NOARGS, NULL};

struct mem_case {
    const char *name;
    long tasklets;
    int soft;
};

static int measure(void *vctx) {
    struct mem_case *c = vctx;
    ch = PyChannel_New(NULL);
    PyObject *func = PyCFunction_New(c->soft ? &recv_soft_def : &recv_hard_def, NULL);
    PyObject *args = PyTuple_New(0);
    if (ch == NULL || func == NULL || args == NULL) {
        PyErr_Print();
        return 1;
    }
    long before = bench_peak_rss();
    for (long i = 0; i < c->tasklets; i++) {
        PyTaskletObject *t = PyTasklet_New(NULL, func);
        if (t == NULL || PyTasklet_Setup(t, args, NULL) < 0) {
            PyErr_Print();
            return 1;
        }
        Py_DECREF(t); /* the run queue, then the channel, keeps it */
    }
    PyObject *r = PyStackless_RunWatchdog(0);
    if (r == NULL) {
        PyErr_Print();
        return 1;
    }
    Py_DECREF(r);
    long after = bench_peak_rss();
    int balance = PyChannel_GetBalance(ch);
    if (balance != -c->tasklets) {
        printf("%s unavailable: %d tasklets blocked instead of %ld\n", c->name, -balance,
               c->tasklets);
    } else if (c->soft && soft_blocks != c->tasklets) {
        printf("%s unavailable: only %ld of %ld tasklets blocked softly; is soft switching "
               "enabled?\n",
               c->name, soft_blocks, c->tasklets);
    } else if (before < 0 || after < 0) {
        printf("%s unavailable: cannot read VmHWM from /proc/self/status\n", c->name);
    } else {
        printf("%s %.0f\n", c->name, (double)(after - before) / (double)c->tasklets);
    }
    return 0; /* the child exits without tearing the blocked tasklets down */
}

int main(void) {
    struct mem_case cases[] = {
        {"blocked_100k_hard_bytes_per_tasklet", 100000, 0},
        {"blocked_100k_soft_bytes_per_tasklet", 100000, 1},
        {"blocked_1m_soft_bytes_per_tasklet", 1000000, 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        bench_in_child(cases[i].name, measure, &cases[i]);
    return 0;
}
