//! Exports: the C-variadic and `va_list` functions (`Py_BuildValue`, `PyArg_ParseTuple`,
//! `PyErr_Format`, ..., and `PyStackless_CallMethod_Main` / `CallCMethod_Main` from
//! `stackless_varargs.c`).
//!
//! Stable Rust can neither define a C-variadic function nor read a `va_list`, so these are
//! written in C (`varargs.c`, compiled by `build.rs`) on top of the non-variadic API. A C
//! object's symbols are not exported from the cdylib (rustc's version script lists only Rust
//! items), so each public name is a Rust naked function that only jumps to the C
//! implementation: every argument register, `%al` (the vector-register count of a variadic
//! call) and the stack reach the C code untouched.
//!
//! The declarations and docs of these functions are in `header/trailer.h` (cbindgen cannot
//! describe a variadic function from these stubs).

macro_rules! trampolines {
    ($($name:ident => $imp:ident;)*) => {
        extern "C" {
            $( fn $imp(); )*
        }
        $(
            #[doc = concat!("Entry point of `", stringify!($name), "`; see `varargs.c`.")]
            #[no_mangle]
            #[unsafe(naked)]
            pub unsafe extern "C" fn $name() {
                #[cfg(target_arch = "x86_64")]
                core::arch::naked_asm!("jmp {}", sym $imp);
                #[cfg(target_arch = "aarch64")]
                core::arch::naked_asm!("b {}", sym $imp);
            }
        )*
    };
}

trampolines! {
    PyUnicode_FromFormat => slp_impl_PyUnicode_FromFormat;
    PyUnicode_FromFormatV => slp_impl_PyUnicode_FromFormatV;
    PyErr_Format => slp_impl_PyErr_Format;
    PyErr_FormatV => slp_impl_PyErr_FormatV;
    Py_BuildValue => slp_impl_Py_BuildValue;
    Py_VaBuildValue => slp_impl_Py_VaBuildValue;
    PyArg_ParseTuple => slp_impl_PyArg_ParseTuple;
    PyArg_VaParse => slp_impl_PyArg_VaParse;
    PyArg_ParseTupleAndKeywords => slp_impl_PyArg_ParseTupleAndKeywords;
    PyArg_VaParseTupleAndKeywords => slp_impl_PyArg_VaParseTupleAndKeywords;
    PyArg_UnpackTuple => slp_impl_PyArg_UnpackTuple;
    PyObject_CallFunction => slp_impl_PyObject_CallFunction;
    PyObject_CallMethod => slp_impl_PyObject_CallMethod;
    PyObject_CallFunctionObjArgs => slp_impl_PyObject_CallFunctionObjArgs;
    PyObject_CallMethodObjArgs => slp_impl_PyObject_CallMethodObjArgs;
    PyTuple_Pack => slp_impl_PyTuple_Pack;
    PyStackless_CallMethod_Main => slp_impl_PyStackless_CallMethod_Main;
    PyStackless_CallCMethod_Main => slp_impl_PyStackless_CallCMethod_Main;
}
