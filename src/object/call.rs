//! Calling objects: `PyObject_Call` and friends.
//!
//! A callable is an object whose type (or a base) has a user `tp_call` slot or a Rust `call`
//! operation; calling a type object creates an instance (see `typeobj`).

use std::ptr;

use super::typeobj::{self, PyTypeObject};
use super::{tuple, Obj, PyObject, PyResult};
use crate::error::PyErr;

enum Callee {
    User(typeobj::TernaryFunc),
    Rust(typeobj::CallOp),
}

fn find_call(tp: *mut PyTypeObject) -> Option<Callee> {
    typeobj::lookup(tp, |t| {
        t.tp_call
            .map(Callee::User)
            .or_else(|| t.ops.call.map(Callee::Rust))
    })
}

/// `PyCallable_Check`.
///
/// # Safety
/// `op` is a live object.
pub unsafe fn is_callable(op: *mut PyObject) -> bool {
    // SAFETY: op is live.
    find_call(unsafe { super::type_of(op) }).is_some()
}

/// Calls `callable(*args, **kwargs)`.
///
/// # Safety
/// `callable` is live, `args` is a live tuple, `kwargs` is NULL or a live dict.
pub unsafe fn call(
    callable: *mut PyObject,
    args: *mut PyObject,
    kwargs: *mut PyObject,
) -> PyResult<Obj> {
    // SAFETY: per the contract.
    unsafe {
        let tp = super::type_of(callable);
        match find_call(tp) {
            Some(Callee::Rust(f)) => f(callable, args, kwargs),
            Some(Callee::User(f)) => {
                let r = f(callable, args, kwargs);
                super::cfunction::check_result(r, &|| super::cfunction::describe_callable(callable))
            }
            None => Err(PyErr::type_error(format!(
                "'{}' object is not callable",
                typeobj::name(tp)
            ))),
        }
    }
}

/// Calls `callable(*args)`.
///
/// # Safety
/// `callable` is live.
pub unsafe fn call_vec(callable: *mut PyObject, args: Vec<Obj>) -> PyResult<Obj> {
    let t = tuple::from_vec(args);
    // SAFETY: t is a tuple we own.
    unsafe { call(callable, t.as_ptr(), ptr::null_mut()) }
}
