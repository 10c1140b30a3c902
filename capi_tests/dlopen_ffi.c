/* dlopen_ffi.c: the library loaded the way an FFI loads it (Python's ctypes, a JVM, ...):
 * with dlopen, after the program and one of its threads started, and called through
 * function pointers from dlsym.
 *
 * This is what the library's initial-exec thread-locals (src/thread_slot.c) must survive:
 * the C library has to find static TLS room for them at dlopen time, for the threads that
 * already exist too. Checked: the load works, tasklets run and switch (hard and from a
 * second thread that predates the load), and the exported stackless flag is per thread.
 *
 * Not linked against libstackless: its path is the first argument. No check.h either (it
 * calls the library directly); the output ends with "N passed, N failed" like the others. */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "stackless.h"

static int passed, failed;
#define CHECK(cond)                                                            \
    do {                                                                       \
        if (cond) {                                                            \
            passed++;                                                          \
        } else {                                                               \
            failed++;                                                          \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
        }                                                                      \
    } while (0)

/* The entry points used, as pointers resolved with dlsym. */
#define ENTRY_POINTS(X)                                                                    \
    X(PyCFunction_New) X(PyTuple_New) X(PyTasklet_New) X(PyTasklet_Setup)                  \
    X(PyStackless_RunWatchdog) X(PyStackless_Schedule) X(PyStackless_GetRunCount)          \
    X(_PyStackless_TryStacklessPtr) X(_Py_Dealloc) X(PyErr_Occurred)
#define DECLARE(name) static __typeof__(&name) p_##name;
ENTRY_POINTS(DECLARE)
static int *p_flag; /* the calling thread's _PyStackless_TryStacklessFlag, from dlsym */

/* Py_DECREF without the header's inline (which would need nothing more, but keeps this file
 * honest about calling only through pointers). */
static void release(PyObject *o) {
    if (o != NULL && __atomic_load_n(&o->ob_refcnt, __ATOMIC_ACQUIRE) < _Py_IMMORTAL_REFCNT &&
        __atomic_sub_fetch(&o->ob_refcnt, 1, __ATOMIC_ACQ_REL) == 0)
        p__Py_Dealloc(o);
}

static long switches;

/* A tasklet body: yields three times (hard switches: a plain C body). */
static PyObject *body(PyObject *self, PyObject *unused) {
    (void)unused;
    for (int i = 0; i < 3; i++) {
        PyObject *r = p_PyStackless_Schedule(NULL, 0);
        if (r == NULL) return NULL;
        release(r);
        switches++;
    }
    (void)self;
    return p_PyTuple_New(0); /* any new reference (Py_None would need a link-time symbol) */
}
static PyMethodDef body_def = {"body", body, METH_NOARGS, NULL};

/* Runs two tasklets that take turns, on the calling thread. */
static void run_two(void) {
    PyObject *func = p_PyCFunction_New(&body_def, NULL);
    PyObject *args = p_PyTuple_New(0);
    CHECK(func != NULL && args != NULL);
    if (func == NULL || args == NULL) return;
    long before = switches;
    for (int i = 0; i < 2; i++) {
        PyTaskletObject *t = p_PyTasklet_New(NULL, func);
        CHECK(t != NULL && p_PyTasklet_Setup(t, args, NULL) == 0);
        release((PyObject *)t);
    }
    CHECK(p_PyStackless_GetRunCount() == 3);
    PyObject *r = p_PyStackless_RunWatchdog(0);
    CHECK(r != NULL && p_PyErr_Occurred() == NULL);
    release(r);
    CHECK(switches - before == 6);
    CHECK(p_PyStackless_GetRunCount() == 1);
    release(args);
    release(func);
}

/* A thread that exists before the library is loaded. */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static int loaded;
static int *early_flag;

static void *early_thread(void *unused) {
    (void)unused;
    pthread_mutex_lock(&lock);
    while (!loaded) pthread_cond_wait(&cond, &lock);
    pthread_mutex_unlock(&lock);
    early_flag = p__PyStackless_TryStacklessPtr();
    CHECK(early_flag != NULL && *early_flag == 0);
    run_two();
    return NULL;
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s path/to/libstackless.so\n", argv[0]);
        return 2;
    }
    pthread_t early;
    CHECK(pthread_create(&early, NULL, early_thread, NULL) == 0);

    void *lib = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    if (lib == NULL) {
        fprintf(stderr, "dlopen failed: %s\n", dlerror());
        return 1;
    }
#define RESOLVE(name)                                                            \
    {                                                                            \
        void *sym = dlsym(lib, #name);                                           \
        memcpy(&p_##name, &sym, sizeof sym);                                     \
        CHECK(sym != NULL);                                                      \
    }
    ENTRY_POINTS(RESOLVE)
    p_flag = dlsym(lib, "_PyStackless_TryStacklessFlag");
    CHECK(p_flag != NULL);
    if (failed) return 1;

    /* The exported flag is the one the library uses, and it starts cleared. */
    CHECK(p_flag == p__PyStackless_TryStacklessPtr());
    CHECK(*p_flag == 0);
    run_two();

    pthread_mutex_lock(&lock);
    loaded = 1;
    pthread_cond_signal(&cond);
    pthread_mutex_unlock(&lock);
    pthread_join(early, NULL);
    CHECK(early_flag != NULL && early_flag != p_flag); /* one flag per thread */

    printf("%d passed, %d failed\n", passed, failed);
    return failed != 0;
}
