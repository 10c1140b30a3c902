//! Exports: built-in functions and calling.

use std::ffi::c_int;

use super::boundary::{entry, non_null, typed};
use crate::object::cfunction::{self, PyMethodDef};
use crate::object::{call, dict, tuple, PyObject, PyResult};

/// Returns a new reference to a function object for `ml`, bound to `self_` (may be NULL; it
/// is passed as the C function's first argument) and `module` (may be NULL). `ml` is not
/// copied and must outlive the function (make it static). Returns NULL with an exception set
/// for bad arguments or bad `ml_flags` (`SystemError("f() method: bad call flags")`): the
/// calling convention must be `METH_VARARGS`, `METH_VARARGS | METH_KEYWORDS`, `METH_NOARGS` or
/// `METH_O`, optionally with `METH_CLASS`, `METH_STATIC`, `METH_COEXIST`, `METH_STACKLESS`;
/// other bits (e.g. `METH_FASTCALL`, not supported here) are refused.
#[no_mangle]
pub unsafe extern "C" fn PyCFunction_NewEx(
    ml: *mut PyMethodDef,
    self_: *mut PyObject,
    module: *mut PyObject,
) -> *mut PyObject {
    // SAFETY: forwarded.
    unsafe { new_function(ml, self_, module, "PyCFunction_NewEx") }
}

unsafe fn new_function(
    ml: *mut PyMethodDef,
    self_: *mut PyObject,
    module: *mut PyObject,
    func: &str,
) -> *mut PyObject {
    entry(|| {
        if ml.is_null() {
            return Err(super::boundary::null_arg(func, "ml"));
        }
        // SAFETY: ml is valid and static (C contract); self_ and module NULL or live.
        Ok(unsafe { cfunction::new(ml, self_, module)? }.into_raw())
    })
}

/// `PyCFunction_NewEx(ml, self_, NULL)`.
#[no_mangle]
pub unsafe extern "C" fn PyCFunction_New(
    ml: *mut PyMethodDef,
    self_: *mut PyObject,
) -> *mut PyObject {
    // SAFETY: forwarded.
    unsafe { new_function(ml, self_, std::ptr::null_mut(), "PyCFunction_New") }
}

/// Returns 1 if `o` is a built-in function object, else 0.
#[no_mangle]
pub unsafe extern "C" fn PyCFunction_Check(o: *mut PyObject) -> c_int {
    // SAFETY: o is NULL or live.
    (!o.is_null() && unsafe { cfunction::is_cfunction(o) }) as c_int
}

/// Returns 1 if `o` can be called, else 0.
#[no_mangle]
pub unsafe extern "C" fn PyCallable_Check(o: *mut PyObject) -> c_int {
    // SAFETY: o is NULL or live.
    (!o.is_null() && unsafe { call::is_callable(o) }) as c_int
}

fn call_checked(
    callable: *mut PyObject,
    args: *mut PyObject,
    kwargs: *mut PyObject,
    func: &str,
) -> PyResult<*mut PyObject> {
    let callable = non_null(callable, func, "callable")?;
    let args = typed(args, tuple::tuple_type(), func, "args")?;
    if !kwargs.is_null() {
        typed(kwargs, dict::dict_type(), func, "kwargs")?;
    }
    let ts = crate::thread_state::current();
    // The soft-switching protocol: a caller that passed the stackless flag may get
    // Py_UnwindToken from a METH_STACKLESS callee, which then runs at the caller's level.
    // Any other callee runs one nesting level deeper, where switches are hard.
    // SAFETY: callable is live.
    if crate::soft::take_flag(ts) && unsafe { crate::object::cfunction::is_stackless(callable) } {
        ts.try_stackless.set(1);
        // SAFETY: checked above.
        let r = unsafe { call::call(callable, args, kwargs) };
        ts.try_stackless.set(0);
        return Ok(r?.into_raw());
    }
    let _nested = crate::scheduler::Nested::enter(&ts.sched);
    // SAFETY: checked above.
    Ok(unsafe { call::call(callable, args, kwargs)? }.into_raw())
}

/// Calls `callable(*args, **kwargs)`. `args` must be a tuple, `kwargs` a dict or NULL; neither
/// is stolen. Returns a new reference to the result, or NULL with an exception set.
#[no_mangle]
pub unsafe extern "C" fn PyObject_Call(
    callable: *mut PyObject,
    args: *mut PyObject,
    kwargs: *mut PyObject,
) -> *mut PyObject {
    entry(|| call_checked(callable, args, kwargs, "PyObject_Call"))
}

/// Calls `callable(*args)`; `args` is a tuple or NULL (no arguments). Returns a new reference
/// to the result, or NULL with an exception set.
#[no_mangle]
pub unsafe extern "C" fn PyObject_CallObject(
    callable: *mut PyObject,
    args: *mut PyObject,
) -> *mut PyObject {
    // SAFETY: forwarded.
    unsafe { call_object(callable, args, "PyObject_CallObject") }
}

unsafe fn call_object(callable: *mut PyObject, args: *mut PyObject, func: &str) -> *mut PyObject {
    entry(|| {
        if args.is_null() {
            let empty = tuple::empty();
            return call_checked(callable, empty.as_ptr(), std::ptr::null_mut(), func);
        }
        call_checked(callable, args, std::ptr::null_mut(), func)
    })
}

/// Calls `callable()` with no arguments. Returns a new reference, or NULL with an exception set.
#[no_mangle]
pub unsafe extern "C" fn PyObject_CallNoArgs(callable: *mut PyObject) -> *mut PyObject {
    // SAFETY: forwarded.
    unsafe { call_object(callable, std::ptr::null_mut(), "PyObject_CallNoArgs") }
}

/// Calls `callable(arg)` (`arg` is borrowed). Returns a new reference, or NULL with an
/// exception set.
#[no_mangle]
pub unsafe extern "C" fn PyObject_CallOneArg(
    callable: *mut PyObject,
    arg: *mut PyObject,
) -> *mut PyObject {
    entry(|| {
        let arg = non_null(arg, "PyObject_CallOneArg", "arg")?;
        // SAFETY: arg is live.
        let args = tuple::from_vec(vec![unsafe { crate::object::Obj::from_borrowed(arg) }]);
        call_checked(
            callable,
            args.as_ptr(),
            std::ptr::null_mut(),
            "PyObject_CallOneArg",
        )
    })
}
