
/*
 * libstackless: Stackless Python's tasklets, channels and scheduler for C, with Stackless's
 * own C API and no Python interpreter.
 *
 * Conventions (as CPython / Stackless):
 *   - int functions return 0 on success, -1 on failure with an exception set;
 *   - PyObject * functions return a new reference, or NULL with an exception set;
 *   - each function says whether it returns a new or a borrowed reference and whether it
 *     steals a reference;
 *   - NULL or wrongly typed arguments give a clear exception and the failure value.
 * Do not load this library into a process that also holds a Python interpreter: the
 * names collide with libpython's.
 */

#define LIBSTACKLESS_VERSION "0.1.0"
#define STACKLESS_VERSION "3.7"

/* The refcount of static objects (never freed). */
#define _Py_IMMORTAL_REFCNT ((Py_ssize_t)1 << 60)

/* Opaque types. */
typedef struct PyTypeObject PyTypeObject;
typedef struct PyLongObject PyLongObject;
typedef struct PyTaskletObject PyTaskletObject;
typedef struct PyChannelObject PyChannelObject;
typedef struct PyModuleDef PyModuleDef;

/* A thread's tick counter and budget (see PyStackless_GetTickState / PyStackless_TickWith). */
typedef struct PyStackless_TickState {
    unsigned long long counter;
    unsigned long long watermark;
} PyStackless_TickState;
typedef struct PyStacklessFunctionDeclarationObject PyStacklessFunctionDeclarationObject;

/* Stackless's schedule hook: a function type (as in Stackless); pass a pointer to one to
 * PyStackless_SetScheduleFastcallback. */
typedef int (slp_schedule_hook_func)(PyTaskletObject *from, PyTaskletObject *to);
