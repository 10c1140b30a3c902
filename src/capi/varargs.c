/* placeholder while the real shim is written */
#include "stackless.h"
#define NYI(name) void slp_impl_##name(void); void slp_impl_##name(void) {}
NYI(PyUnicode_FromFormat) NYI(PyUnicode_FromFormatV) NYI(PyErr_Format) NYI(PyErr_FormatV)
NYI(Py_BuildValue) NYI(Py_VaBuildValue) NYI(PyArg_ParseTuple) NYI(PyArg_VaParse)
NYI(PyArg_ParseTupleAndKeywords) NYI(PyArg_VaParseTupleAndKeywords) NYI(PyArg_UnpackTuple)
NYI(PyObject_CallFunction) NYI(PyObject_CallMethod) NYI(PyObject_CallFunctionObjArgs)
NYI(PyObject_CallMethodObjArgs) NYI(PyTuple_Pack)
