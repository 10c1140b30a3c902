#!/usr/bin/env python3
"""badinput_coverage.py: every function of the public header is tested with bad input.

Run from the repository root:

    python3 capi_tests/badinput_coverage.py

It extracts the name of every function declared in include/stackless.h (prototypes,
including those written over several lines; not the `static inline` helpers behind the
refcount macros, nor function-pointer typedefs) and checks that each one is called in
capi_tests/test_badinput.c, or is listed in EXEMPT below with a one-line reason. It prints
what is missing and exits with status 1 when anything is; it also fails on exemptions that
name no declared function (a renamed or removed function). (An exempt function may still be
called by the test, e.g. PyDict_New to make an argument.)
"""

import os
import re
import sys

HEADER = os.path.join("include", "stackless.h")
TEST = os.path.join("capi_tests", "test_badinput.c")

# Functions that need no bad-input test, each with its reason.
EXEMPT = {
    # No pointer parameter and no input that can be wrong.
    "PyLong_FromLong": "no pointer parameter; every long is a valid value",
    "PyLong_FromSsize_t": "no pointer parameter; every Py_ssize_t is a valid value",
    "PyLong_FromLongLong": "no pointer parameter; every long long is a valid value",
    "PyBool_FromLong": "no pointer parameter; every long is a valid value",
    "PyDict_New": "no parameters",
    "PyErr_Occurred": "no parameters",
    "PyErr_Clear": "no parameters",
    "PyErr_GetRaisedException": "no parameters",
    "PyErr_NoMemory": "no parameters (it sets MemoryError by design; test_errors.c)",
    "PyErr_BadArgument": "no parameters (it sets TypeError by design; test_errors.c)",
    "PyErr_BadInternalCall": "no parameters (it sets SystemError by design; test_errors.c)",
    "PyErr_Print": "no parameters (test_errors.c checks the output)",
    "PyErr_PrintEx": "no pointer parameter; the flag is ignored (test_errors.c)",
    "PyThread_get_thread_ident": "no parameters",
    "PyStackless_RunWatchdog": "no pointer parameter and no flags; every timeout is valid "
        "(RunWatchdogEx's flag check is tested)",
    "PyStackless_AdjustSwitchTrap": "no pointer parameter; every change is valid",
    "PyStackless_GetThreads": "no parameters",
    "PyStackless_EnableSoftswitch": "no pointer parameter; every flag is valid (-1 inquires)",
    "PyStackless_SetStackSize": "no pointer parameter and no failure value (returns the "
        "previous default; test_threads_stacks.c)",
    "PyStackless_InstallOverflowHandler": "no parameters (takes over SIGSEGV; test_overflow.c)",
    # C-variadic functions: implemented in varargs.c and tested there.
    "PyUnicode_FromFormat": "variadic; covered by test_varargs.c",
    "PyUnicode_FromFormatV": "va_list form; covered by test_varargs.c",
    "PyErr_Format": "variadic; covered by test_varargs.c",
    "PyErr_FormatV": "va_list form; covered by test_varargs.c",
    "Py_BuildValue": "variadic; covered by test_varargs.c",
    "Py_VaBuildValue": "va_list form; covered by test_varargs.c",
    "PyArg_ParseTuple": "variadic; covered by test_varargs.c",
    "PyArg_VaParse": "va_list form; covered by test_varargs.c",
    "PyArg_ParseTupleAndKeywords": "variadic; covered by test_varargs.c",
    "PyArg_VaParseTupleAndKeywords": "va_list form; covered by test_varargs.c",
    "PyArg_UnpackTuple": "variadic; covered by test_varargs.c",
    "PyObject_CallFunction": "variadic; covered by test_varargs.c",
    "PyObject_CallMethod": "variadic; covered by test_varargs.c",
    "PyObject_CallFunctionObjArgs": "variadic; covered by test_varargs.c",
    "PyObject_CallMethodObjArgs": "variadic; covered by test_varargs.c",
    "PyTuple_Pack": "variadic; covered by test_varargs.c",
    "PyStackless_GetTickState": "no parameters (the thread's tick state; test_tick_fast.c)",
    "_PyStackless_TryStacklessPtr": "no parameters (the lvalue behind _PyStackless_TRY_STACKLESS; used in test_soft)",
}


def strip_comments(text):
    """Removes /* */ and // comments (string literals in the header hold no comment markers
    that matter here, but are skipped anyway)."""
    out = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c == '"' or c == "'":
            j = i + 1
            while j < n and text[j] != c:
                j += 2 if text[j] == "\\" else 1
            out.append(text[i : j + 1])
            i = j + 1
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append(" " + "\n" * text.count("\n", i, j))
            i = j
        elif text.startswith("//", i):
            j = text.find("\n", i)
            i = n if j < 0 else j
        else:
            out.append(c)
            i += 1
    return "".join(out)


def strip_preprocessor(text):
    """Removes preprocessor directives, with their backslash-continued lines."""
    out = []
    continued = False
    for line in text.split("\n"):
        directive = continued or line.lstrip().startswith("#")
        continued = directive and line.rstrip().endswith("\\")
        out.append("" if directive else line)
    return "\n".join(out)


PROTOTYPE = re.compile(
    r"^(?:extern\s+)?[A-Za-z_][\w\s\*]*?[\s\*]([A-Za-z_]\w*)\s*\((.*)\)\s*$", re.S
)


def declared_functions(header_text):
    """The names of the functions declared (prototypes ending in ';') at file scope."""
    text = strip_preprocessor(strip_comments(header_text))
    text = text.replace('extern "C" {', " ")
    statements = []
    depth = 0
    buf = []
    for ch in text:
        if ch == "{":
            if depth == 0:
                buf = []  # a definition (inline function, struct): not a prototype
            depth += 1
        elif ch == "}":
            if depth > 0:
                depth -= 1
            # else: the closing brace of extern "C"
        elif depth > 0:
            continue
        elif ch == ";":
            statements.append("".join(buf))
            buf = []
        else:
            buf.append(ch)
    names = []
    for st in statements:
        st = " ".join(st.split())
        if not st or st.startswith("typedef"):
            continue
        m = PROTOTYPE.match(st)
        if m and m.group(1) not in names:
            names.append(m.group(1))
    return names


SELF_TEST_HEADER = """
#define MACRO(x) \\
    do_not_count(x);
typedef PyObject *(*PyCFunction)(PyObject*, PyObject*);
typedef struct { int a; void (*cb)(int); } S;
#ifdef __cplusplus
extern "C" {
#endif
// A comment naming fake_in_comment(int x);
extern PyObject *PyExc_Thing;
/* block fake_in_block(void); */
PyObject *one_line(PyObject *o);
int
  several_lines(PyObject *args,
                const char *format,
                ...);
PyCapsule_Destructor returns_fn_ptr(PyObject *capsule);
static inline void inline_helper(PyObject *op) { if (op) helper_call(op); }
#ifdef __cplusplus
}  // extern "C"
#endif
"""


def self_test():
    """The parser finds exactly the prototypes of a small sample header."""
    got = declared_functions(SELF_TEST_HEADER)
    want = ["one_line", "several_lines", "returns_fn_ptr"]
    if got != want:
        print(f"badinput_coverage: parser self-test failed: got {got}, want {want}")
        return False
    return True


def called_in(test_text):
    """Identifiers called (`name(`) in the test source, outside comments."""
    code = strip_comments(test_text)
    return set(re.findall(r"\b([A-Za-z_]\w*)\s*\(", code))


def main():
    if not self_test():
        return 1
    try:
        with open(HEADER, encoding="utf-8") as f:
            header = f.read()
        with open(TEST, encoding="utf-8") as f:
            test = f.read()
    except OSError as e:
        print(f"badinput_coverage: {e} (run from the repository root)")
        return 1
    declared = declared_functions(header)
    if len(declared) < 50:
        print(f"badinput_coverage: only {len(declared)} functions found in {HEADER}: "
              "the parser is broken")
        return 1
    called = called_in(test)
    missing = [n for n in declared if n not in called and n not in EXEMPT]
    unknown = sorted(n for n in EXEMPT if n not in declared)
    for n in missing:
        print(f"missing: {n} is declared in {HEADER} but not called in {TEST} "
              "(add a bad-input test, or an exemption with its reason)")
    for n in unknown:
        print(f"unknown exemption: {n} is not declared in {HEADER}")
    tested = len([n for n in declared if n in called])
    print(f"badinput_coverage: {len(declared)} functions declared, {tested} tested, "
          f"{len([n for n in declared if n in EXEMPT])} exempt, {len(missing)} missing")
    return 1 if (missing or unknown) else 0


if __name__ == "__main__":
    sys.exit(main())
