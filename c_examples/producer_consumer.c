/* producer_consumer.c: producers and consumers talking over a channel.
 *
 * A channel is a rendezvous point between tasklets. PyChannel_Send hands one object to a
 * tasklet waiting in PyChannel_Receive; whoever comes first blocks until a partner comes.
 * There is no buffer: the channel's queue holds waiting tasklets, not values, and its
 * "balance" counts them (> 0: that many senders are waiting; < 0: that many receivers).
 *
 * This program runs two producers and two consumers over one channel of jobs:
 *   - the jobs are ints, sent with PyChannel_Send;
 *   - one producer has a broken job: it sends an exception instead of a value
 *     (PyChannel_SendException), which the consumer that receives it gets raised from its
 *     PyChannel_Receive call; it reports the job as failed and carries on;
 *   - the last producer to finish closes the channel (PyChannel_Close). Closing only marks
 *     the channel: it wakes nobody. A consumer that asks for more work follows Stackless's
 *     rule for iterating over a channel: "stop when the channel is closing and no sender is
 *     waiting (balance <= 0), otherwise receive". A consumer that was already waiting when
 *     the channel closed is told with a StopIteration sent over the channel, which is how
 *     Stackless ends a loop over a channel.
 * A consumer "works" on each job by yielding once (PyStackless_Schedule), so the output
 * shows who runs when. The channel keeps its default preference (-1, prefer the receiver):
 * a send to a waiting consumer runs that consumer at once, and the producer resumes after
 * the other runnable tasklets.
 *
 * Build and run it from the repository root:
 *   cargo build --release
 *   cc -std=c11 -Wall -Iinclude c_examples/producer_consumer.c -Ltarget/release -lstackless \
 *      -Wl,-rpath,"$PWD/target/release" -o producer_consumer && ./producer_consumer
 *
 * Expected output:
 *   main: 2 producers, 2 consumers, run count 5
 *   C1: waiting for a job
 *   C2: waiting for a job
 *   P1: sending job 1 (balance -2)
 *   C1: got job 1
 *   P2: sending job 10 (balance -1)
 *   C2: got job 10
 *   P1: sending job 2 (balance 0)
 *   C1: waiting for a job
 *   C1: got job 2
 *   P2: sending job 11 as an exception (balance 0)
 *   C2: waiting for a job
 *   C2: job failed: job 11 is broken
 *   C2: waiting for a job
 *   P1: sending job 3 (balance -1)
 *   C2: got job 3
 *   C1: waiting for a job
 *   P2: finished
 *   P1: finished, closing the channel (balance -1)
 *   C1: end of stream, stopping
 *   C2: channel closed and drained, stopping
 *   main: channel closing 1, closed 1, balance 0, run count 1
 */
#include <stdio.h>
#include <stdlib.h>

#include "stackless.h"

static void die(const char *what) {
    fprintf(stderr, "%s failed: ", what);
    PyErr_Print();
    exit(1);
}

/* An exception class of our own for broken jobs: a subclass of Exception, so it cannot be
 * confused with errors the channel itself raises. */
static PyObject *BadJob;

/* How many producers are still running; the last one to finish closes the channel. */
static int producers_left;

/* Prints "name: job failed: <message>" for an exception instance (str() of an exception
 * is its message). */
static void print_failure(const char *name, PyObject *exc) {
    PyObject *text = PyObject_Str(exc);
    if (text == NULL) die("PyObject_Str");
    printf("%s: job failed: %s\n", name, PyUnicode_AsUTF8(text));
    Py_DECREF(text);
}

/* ---- producer(name, channel, first_job, job_count, broken_job) ----------------------------
 * Sends job_count consecutive job numbers starting at first_job. The job numbered broken_job
 * (0: none) is sent as a BadJob exception instead. */
static PyObject *producer(PyObject *self, PyObject *args) {
    (void)self;
    const char *name = PyUnicode_AsUTF8(PyTuple_GetItem(args, 0)); /* borrowed */
    PyChannelObject *ch = (PyChannelObject *)PyTuple_GetItem(args, 1); /* borrowed */
    long first = PyLong_AsLong(PyTuple_GetItem(args, 2));
    long count = PyLong_AsLong(PyTuple_GetItem(args, 3));
    long broken = PyLong_AsLong(PyTuple_GetItem(args, 4));
    if (PyErr_Occurred()) return NULL;

    for (long job = first; job < first + count; job++) {
        if (job == broken) {
            printf("%s: sending job %ld as an exception (balance %d)\n", name, job,
                   PyChannel_GetBalance(ch));
            /* The receiver raises BadJob("job N is broken"). The value (borrowed) becomes
             * the exception's argument; a tuple would be its argument list. */
            char text[64];
            snprintf(text, sizeof text, "job %ld is broken", job);
            PyObject *msg = PyUnicode_FromString(text);
            if (msg == NULL) return NULL;
            int rc = PyChannel_SendException(ch, BadJob, msg);
            Py_DECREF(msg);
            if (rc < 0) return NULL;
        } else {
            printf("%s: sending job %ld (balance %d)\n", name, job, PyChannel_GetBalance(ch));
            PyObject *value = PyLong_FromLong(job);
            if (value == NULL) return NULL;
            /* Blocks until a consumer takes the value (unless one is waiting already). The
             * channel takes its own reference to the value: ours is still ours to release. */
            int rc = PyChannel_Send(ch, value);
            Py_DECREF(value);
            if (rc < 0) return NULL; /* e.g. the channel was closed under us */
        }
    }

    if (--producers_left > 0) {
        printf("%s: finished\n", name);
        Py_RETURN_NONE;
    }

    /* The last producer closes the channel: no more jobs will come. From now on a send or
     * receive that would have to wait raises ValueError instead of blocking. */
    PyChannel_Close(ch);
    printf("%s: finished, closing the channel (balance %d)\n", name, PyChannel_GetBalance(ch));

    /* Closing wakes nobody: consumers already waiting in PyChannel_Receive would wait
     * forever. Tell each of them that the stream has ended. These sends find a waiting
     * receiver, so they are allowed on a closing channel. */
    while (PyChannel_GetBalance(ch) < 0) {
        if (PyChannel_SendException(ch, PyExc_StopIteration, NULL) < 0) return NULL;
    }
    Py_RETURN_NONE;
}

/* ---- consumer(name, channel) ----------------------------------------------------------- */
static PyObject *consumer(PyObject *self, PyObject *args) {
    (void)self;
    const char *name = PyUnicode_AsUTF8(PyTuple_GetItem(args, 0));
    PyChannelObject *ch = (PyChannelObject *)PyTuple_GetItem(args, 1);
    if (name == NULL) return NULL;

    for (;;) {
        /* Stackless's iteration rule: a closing channel with no sender waiting will never
         * deliver anything again, so stop instead of receiving. */
        if (PyChannel_GetClosing(ch) && PyChannel_GetBalance(ch) <= 0) {
            printf("%s: channel closed and drained, stopping\n", name);
            break;
        }

        printf("%s: waiting for a job\n", name);
        PyObject *job = PyChannel_Receive(ch); /* a new reference, or NULL + exception */
        if (job == NULL) {
            if (PyErr_ExceptionMatches(PyExc_StopIteration)) {
                PyErr_Clear(); /* the end-of-stream signal: handled */
                printf("%s: end of stream, stopping\n", name);
                break;
            }
            if (PyErr_ExceptionMatches(BadJob)) {
                /* Take the exception (this clears the error indicator) and report it. */
                PyObject *exc = PyErr_GetRaisedException();
                print_failure(name, exc);
                Py_DECREF(exc);
                continue;
            }
            return NULL; /* anything else: let the tasklet die with it */
        }
        printf("%s: got job %ld\n", name, PyLong_AsLong(job));
        Py_DECREF(job);

        /* Handling a job takes a while: give the other tasklets a turn meanwhile. */
        PyObject *r = PyStackless_Schedule(Py_None, 0);
        if (r == NULL) return NULL;
        Py_DECREF(r);
    }
    Py_RETURN_NONE;
}

static PyMethodDef producer_def = {"producer", producer, METH_VARARGS, NULL};
static PyMethodDef consumer_def = {"consumer", consumer, METH_VARARGS, NULL};

/* PyTasklet_New + PyTasklet_Setup: a new reference to a scheduled tasklet that will call
 * def's function with args. Steals args. */
static PyTaskletObject *spawn(PyMethodDef *def, PyObject *args) {
    PyObject *func = PyCFunction_New(def, NULL);
    if (func == NULL || args == NULL) die("PyCFunction_New/PyTuple_New");
    PyTaskletObject *t = PyTasklet_New(NULL, func);
    if (t == NULL) die("PyTasklet_New");
    if (PyTasklet_Setup(t, args, NULL) < 0) die("PyTasklet_Setup");
    Py_DECREF(func);
    Py_DECREF(args);
    return t;
}

/* A 2-tuple (name, channel) or a 5-tuple (name, channel, first, count, broken). */
static PyObject *make_args(const char *name, PyChannelObject *ch, long first, long count,
                           long broken, int n) {
    PyObject *args = PyTuple_New(n);
    if (args == NULL) return NULL;
    PyTuple_SetItem(args, 0, PyUnicode_FromString(name));
    Py_INCREF(ch); /* SetItem steals: give the tuple a reference of its own */
    PyTuple_SetItem(args, 1, (PyObject *)ch);
    if (n == 5) {
        PyTuple_SetItem(args, 2, PyLong_FromLong(first));
        PyTuple_SetItem(args, 3, PyLong_FromLong(count));
        PyTuple_SetItem(args, 4, PyLong_FromLong(broken));
    }
    return args;
}

int main(void) {
    BadJob = PyErr_NewException("producer_consumer.BadJob", NULL, NULL);
    if (BadJob == NULL) die("PyErr_NewException");

    PyChannelObject *jobs = PyChannel_New(NULL); /* NULL: a plain channel */
    if (jobs == NULL) die("PyChannel_New");

    /* Consumers first, so that they are already waiting when the producers start. */
    PyTaskletObject *tasklets[4];
    tasklets[0] = spawn(&consumer_def, make_args("C1", jobs, 0, 0, 0, 2));
    tasklets[1] = spawn(&consumer_def, make_args("C2", jobs, 0, 0, 0, 2));
    tasklets[2] = spawn(&producer_def, make_args("P1", jobs, 1, 3, 0, 5));
    tasklets[3] = spawn(&producer_def, make_args("P2", jobs, 10, 2, 11, 5));
    producers_left = 2;
    printf("main: 2 producers, 2 consumers, run count %d\n", PyStackless_GetRunCount());

    PyObject *r = PyStackless_RunWatchdog(0);
    if (r == NULL) die("PyStackless_RunWatchdog");
    Py_DECREF(r);

    /* closed = closing and nobody waiting: every tasklet has finished. */
    printf("main: channel closing %d, closed %d, balance %d, run count %d\n",
           PyChannel_GetClosing(jobs), PyChannel_GetClosed(jobs), PyChannel_GetBalance(jobs),
           PyStackless_GetRunCount());

    for (int i = 0; i < 4; i++) {
        if (PyTasklet_Alive(tasklets[i])) fprintf(stderr, "tasklet %d still alive!\n", i);
        Py_DECREF(tasklets[i]);
    }
    Py_DECREF(jobs);
    Py_DECREF(BadJob);
    return 0;
}
