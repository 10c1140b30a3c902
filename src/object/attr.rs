//! Generic object protocol: attributes by name, `repr`, `str`, truth.
//!
//! Attribute lookup walks the type chain: first each type's own `getattr` hook (data
//! attributes such as a tasklet's `alive`), then the method tables, which give a function bound
//! to the object (so `PyObject_CallMethod(t, "run", NULL)` works).

use std::ffi::CStr;

use super::cfunction;
use super::typeobj::{self, AttrLookup, PyTypeObject};
use super::{unicode, Obj, PyObject, PyResult};
use crate::error::PyErr;
use crate::thread_state;

fn no_attribute(op: *mut PyObject, name: &str) -> PyErr {
    // SAFETY: op is live.
    unsafe {
        if typeobj::is_type(op) {
            PyErr::attribute_error(format!(
                "type object '{}' has no attribute '{name}'",
                typeobj::name(op.cast())
            ))
        } else {
            PyErr::attribute_error(format!(
                "'{}' object has no attribute '{name}'",
                typeobj::type_name_of(op)
            ))
        }
    }
}

/// Finds a method called `name` in the tables along `tp`'s chain.
fn find_method(tp: *mut PyTypeObject, name: &str) -> Option<*const cfunction::PyMethodDef> {
    typeobj::lookup(tp, |t| {
        let mut m = t.tp_methods as *const cfunction::PyMethodDef;
        if m.is_null() {
            return None;
        }
        // SAFETY: method tables are NULL-name terminated and live as long as their type.
        unsafe {
            while !(*m).ml_name.is_null() {
                if CStr::from_ptr((*m).ml_name).to_bytes() == name.as_bytes() {
                    return Some(m);
                }
                m = m.add(1);
            }
        }
        None
    })
}

/// `getattr(op, name)`.
///
/// # Safety
/// `op` is a live object.
pub unsafe fn getattr(op: *mut PyObject, name: &str) -> PyResult<Obj> {
    // SAFETY: op is live.
    let tp = unsafe { super::type_of(op) };
    let mut t = tp;
    while !t.is_null() {
        // SAFETY: t is a live type.
        let ty = unsafe { &*t };
        if let Some(hook) = ty.ops.getattr {
            // SAFETY: the hook belongs to op's type chain.
            if let AttrLookup::Found(r) = unsafe { hook(op, name) } {
                return r;
            }
        }
        t = ty.tp_base;
    }
    if let Some(ml) = find_method(tp, name) {
        // SAFETY: ml lives as long as the type, which op (bound as self) keeps alive.
        return unsafe { cfunction::new(ml, op, std::ptr::null_mut()) };
    }
    Err(no_attribute(op, name))
}

/// `setattr(op, name, value)`; `value` NULL deletes.
///
/// Only attributes that a type's `setattr` hook accepts can be set: objects have no
/// `__dict__` here. Otherwise the error is CPython's for an object without one: a read-only
/// data attribute is "attribute 'x' of 'T' objects is not writable", a method is "'T' object
/// attribute 'x' is read-only", a static type is immutable (`TypeError`), and anything else
/// is "'T' object has no attribute 'x'".
///
/// # Safety
/// `op` is live; `value` is NULL or live.
pub unsafe fn setattr(op: *mut PyObject, name: &str, value: *mut PyObject) -> PyResult<()> {
    // SAFETY: op is live.
    let tp = unsafe { super::type_of(op) };
    // Walk every level: a subtype's hook may not know a base's attribute.
    let mut t = tp;
    while !t.is_null() {
        // SAFETY: t is live.
        let ty = unsafe { &*t };
        if let Some(h) = ty.ops.setattr {
            // SAFETY: the hook belongs to op's type chain.
            if let Some(r) = unsafe { h(op, name, value) } {
                return r;
            }
        }
        t = ty.tp_base;
    }
    // SAFETY: op is live.
    if unsafe { typeobj::is_type(op) } && !typeobj::is_heap(op.cast()) {
        return Err(PyErr::type_error(format!(
            "cannot set '{name}' attribute of immutable type '{}'",
            typeobj::name(op.cast())
        )));
    }
    // SAFETY: op is live.
    if unsafe { is_data_attribute(op, name) } {
        return Err(PyErr::attribute_error(format!(
            "attribute '{name}' of '{}' objects is not writable",
            typeobj::name(tp)
        )));
    }
    if find_method(tp, name).is_some() {
        return Err(PyErr::attribute_error(format!(
            "'{}' object attribute '{name}' is read-only",
            typeobj::name(tp)
        )));
    }
    Err(no_attribute(op, name))
}

/// True when a `getattr` hook of `op`'s type chain knows `name`.
///
/// # Safety
/// `op` is live.
unsafe fn is_data_attribute(op: *mut PyObject, name: &str) -> bool {
    // SAFETY: op is live.
    let mut t = unsafe { super::type_of(op) };
    while !t.is_null() {
        // SAFETY: t is a live type.
        let ty = unsafe { &*t };
        if let Some(hook) = ty.ops.getattr {
            // SAFETY: the hook belongs to op's type chain.
            if let AttrLookup::Found(_) = unsafe { hook(op, name) } {
                return true;
            }
        }
        t = ty.tp_base;
    }
    false
}

fn user_text(r: *mut PyObject, what: &str) -> PyResult<String> {
    // SAFETY: r is what a user slot returned.
    let v = unsafe { cfunction::check_result(r, &|| what.to_owned())? };
    // SAFETY: v is live.
    if unsafe { unicode::is_unicode(v.as_ptr()) } {
        // SAFETY: v is a str.
        Ok(unsafe { unicode::as_str(v.as_ptr()) }.to_owned())
    } else {
        Err(PyErr::type_error(format!(
            "{what} returned non-string (type {})",
            typeobj::name(v.type_ptr())
        )))
    }
}

/// How deeply `repr()`/`str()` may nest on one thread. CPython's limit is its recursion limit
/// (1000 frames on an 8 MiB stack); one level here takes about 300-400 bytes of stack, so the
/// limit is low enough to stay within about a third of a tasklet's 64 KiB stack: deeper (or
/// cyclic, outside containers) structures give `RecursionError` instead of a stack overflow.
pub const MAX_REPR_DEPTH: usize = 64;

/// Counts one level of `repr()`/`str()` nesting for as long as it lives.
struct DepthGuard;

impl DepthGuard {
    fn enter(what: &str) -> PyResult<DepthGuard> {
        let depth = &thread_state::current().repr_depth;
        if depth.get() >= MAX_REPR_DEPTH {
            return Err(PyErr::new(
                super::exception::recursion_error(),
                format!("maximum recursion depth exceeded while getting the {what} of an object"),
            ));
        }
        depth.set(depth.get() + 1);
        Ok(DepthGuard)
    }
}

impl Drop for DepthGuard {
    fn drop(&mut self) {
        let depth = &thread_state::current().repr_depth;
        depth.set(depth.get() - 1);
    }
}

/// Marks a container whose `repr()` is being computed, as CPython's `Py_ReprEnter`: a
/// container that holds itself prints as `{...}` / `(...)` instead of recursing forever.
pub struct ReprGuard(usize);

impl ReprGuard {
    /// `None` when `op`'s repr is already being computed further up (a reference cycle).
    pub fn enter(op: *mut PyObject) -> Option<ReprGuard> {
        let key = op as usize;
        let mut active = thread_state::current().repr_active.borrow_mut();
        if active.contains(&key) {
            return None;
        }
        active.push(key);
        Some(ReprGuard(key))
    }
}

impl Drop for ReprGuard {
    fn drop(&mut self) {
        let mut active = thread_state::current().repr_active.borrow_mut();
        if let Some(i) = active.iter().rposition(|&k| k == self.0) {
            active.remove(i);
        }
    }
}

/// `repr(op)` as Rust text.
///
/// # Safety
/// `op` is a live object.
pub unsafe fn repr(op: *mut PyObject) -> PyResult<String> {
    let _depth = DepthGuard::enter("repr")?;
    // SAFETY: forwarded.
    unsafe { repr_at_this_depth(op) }
}

/// [`repr`] without counting a nesting level (for `str`'s fallback to `repr`).
unsafe fn repr_at_this_depth(op: *mut PyObject) -> PyResult<String> {
    // SAFETY: op is a live object (every caller holds a reference).
    let tp = unsafe { super::type_of(op) };
    enum R {
        User(typeobj::ReprFunc),
        Rust(unsafe fn(*mut PyObject) -> PyResult<String>),
    }
    match typeobj::lookup(tp, |t| {
        t.tp_repr.map(R::User).or_else(|| t.ops.repr.map(R::Rust))
    }) {
        // SAFETY: a user slot called with a live object.
        Some(R::User(f)) => user_text(unsafe { f(op) }, "__repr__"),
        // SAFETY: the op belongs to op's type chain.
        Some(R::Rust(f)) => unsafe { f(op) },
        None => Ok(format!("<{} object at {op:p}>", typeobj::name(tp))),
    }
}

/// `str(op)` as Rust text: the nearest `str` along the type chain (a user `tp_str` or the
/// type's own), else `repr(op)`, as CPython's inherited `tp_str` (a subtype that defines only
/// a `tp_repr` keeps its base's `str`).
///
/// # Safety
/// `op` is a live object.
pub unsafe fn str(op: *mut PyObject) -> PyResult<String> {
    let _depth = DepthGuard::enter("str")?;
    // SAFETY: op is a live object.
    let tp = unsafe { super::type_of(op) };
    enum S {
        User(typeobj::ReprFunc),
        Rust(unsafe fn(*mut PyObject) -> PyResult<String>),
    }
    let found = typeobj::lookup(tp, |t| {
        t.tp_str.map(S::User).or_else(|| t.ops.str.map(S::Rust))
    });
    match found {
        // SAFETY: a user slot called with a live object.
        Some(S::User(f)) => user_text(unsafe { f(op) }, "__str__"),
        // SAFETY: the op belongs to op's type chain.
        Some(S::Rust(f)) => unsafe { f(op) },
        // SAFETY: op is live.
        None => unsafe { repr_at_this_depth(op) },
    }
}

/// Truth value (`PyObject_IsTrue`).
///
/// # Safety
/// `op` is a live object.
pub unsafe fn is_true(op: *mut PyObject) -> PyResult<bool> {
    // SAFETY: op is a live object.
    let tp = unsafe { super::type_of(op) };
    match typeobj::lookup(tp, |t| t.ops.is_true) {
        // SAFETY: the op belongs to op's type chain.
        Some(f) => Ok(unsafe { f(op) }),
        None => Ok(true),
    }
}
