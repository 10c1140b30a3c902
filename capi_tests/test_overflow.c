/* The opt-in stack-overflow reporter (SPEC §12): a tasklet that recurses without bound hits
 * the guard page below its stack; with PyStackless_InstallOverflowHandler() the process
 * prints which tasklet overflowed and aborts, instead of dying with a bare SIGSEGV. Runs in a
 * child process; the parent checks how it ended and what it printed. */
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tasklet_util.h"

static volatile long sink;

/* Recurses until `sink` says stop, which it never does. The call goes through a volatile
 * function pointer so that no optimiser turns the recursion into a loop. */
static long recurse(long n);
static long (*volatile recurse_ptr)(long) = recurse;
static long recurse(long n) {
    volatile char pad[256];
    pad[0] = (char)n;
    sink += pad[0];
    if (sink < 0) return n;
    return recurse_ptr(n + 1) + pad[0];
}

static PyObject *overflow_body(PyObject *self, PyObject *args) {
    (void)self;
    (void)args;
    return PyLong_FromLong(recurse(0));
}
static PyMethodDef overflow_def = {"overflow_body", overflow_body, METH_NOARGS, NULL};

/* Runs `child` in a forked process with stderr captured; returns its wait status. */
static int run_child(void (*child)(void), char *err, size_t errlen) {
    int fds[2];
    if (pipe(fds) != 0) return -1;
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid == 0) {
        close(fds[0]);
        dup2(fds[1], 2);
        child();
        _exit(0);
    }
    close(fds[1]);
    size_t n = 0;
    ssize_t r;
    while (n + 1 < errlen && (r = read(fds[0], err + n, errlen - 1 - n)) > 0) n += (size_t)r;
    err[n] = '\0';
    close(fds[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    return status;
}

static void child_with_handler(void) {
    if (PyStackless_InstallOverflowHandler() != 0) _exit(3);
    PyTaskletObject *t = spawn(&overflow_def, NULL);
    PyTasklet_Run(t);
    _exit(4); /* not reached */
}

static void child_without_handler(void) {
    PyTaskletObject *t = spawn(&overflow_def, NULL);
    PyTasklet_Run(t);
    _exit(4); /* not reached */
}

int main(void) {
    char err[4096];
    int status = run_child(child_with_handler, err, sizeof err);
    CHECK(WIFSIGNALED(status));
    CHECK_EQ_INT(WIFSIGNALED(status) ? WTERMSIG(status) : 0, SIGABRT);
    CHECK(strstr(err, "libstackless: fatal: stack overflow in tasklet 0x") != NULL);
    if (strstr(err, "stack overflow") == NULL) fprintf(stderr, "child stderr: %s\n", err);

    /* Without the reporter the guard page still stops the overflow: a plain SIGSEGV, and the
     * library prints nothing. */
    status = run_child(child_without_handler, err, sizeof err);
    CHECK(WIFSIGNALED(status));
    CHECK_EQ_INT(WIFSIGNALED(status) ? WTERMSIG(status) : 0, SIGSEGV);
    CHECK(strstr(err, "libstackless") == NULL);

    /* Installing twice is fine. */
    CHECK_EQ_INT(PyStackless_InstallOverflowHandler(), 0);
    CHECK_EQ_INT(PyStackless_InstallOverflowHandler(), 0);
    return check_report();
}
