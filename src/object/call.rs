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

/// Matches `args` (a tuple) and `kwargs` (NULL or a dict) against parameter `names`, as a
/// Python signature `f(name0=None, name1=None, ...)` would: returns the borrowed argument for
/// each name (None where not given). Too many arguments, unknown keywords and duplicates raise
/// `TypeError` naming `func`.
///
/// # Safety
/// `args` is a live tuple and `kwargs` NULL or a live dict; the results are borrowed from them.
pub unsafe fn parse_args<const N: usize>(
    func: &str,
    args: *mut PyObject,
    kwargs: *mut PyObject,
    names: [&str; N],
) -> PyResult<[Option<*mut PyObject>; N]> {
    let mut out = [None; N];
    // SAFETY: args is a tuple.
    let items = if args.is_null() {
        &[][..]
    } else {
        unsafe { tuple::items(args) }
    };
    if items.len() > N {
        return Err(PyErr::type_error(format!(
            "{func}() takes at most {N} arguments ({} given)",
            items.len()
        )));
    }
    for (slot, &a) in out.iter_mut().zip(items) {
        *slot = Some(a);
    }
    if !kwargs.is_null() {
        // SAFETY: kwargs is a dict.
        for (k, v) in unsafe { super::dict::items(kwargs) } {
            // SAFETY: keys are live.
            let key = unsafe {
                super::unicode::is_unicode(k.as_ptr()).then(|| super::unicode::as_str(k.as_ptr()))
            };
            let Some(i) = key.and_then(|key| names.iter().position(|n| *n == key)) else {
                return Err(PyErr::type_error(format!(
                    "{func}() got an unexpected keyword argument {}",
                    super::attr::repr(k.as_ptr()).unwrap_or_default()
                )));
            };
            if out[i].is_some() {
                return Err(PyErr::type_error(format!(
                    "{func}() got multiple values for argument '{}'",
                    names[i]
                )));
            }
            // The dict keeps the value alive for the duration of the call.
            out[i] = Some(v.as_ptr());
        }
    }
    Ok(out)
}
