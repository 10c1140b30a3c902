//! `int`: a machine-word integer (C `long`, 64 bits on the supported targets).
//!
//! The library needs integers for arguments, return values and ids only, so there is no
//! arbitrary precision; conversions that do not fit raise `OverflowError`.
//!
//! As in CPython 3.12, the small ints -5..=256 are preallocated immortal objects: creating one
//! returns the shared object (`PyLong_FromLong(1) == PyLong_FromLong(1)`), and passing them
//! around (a channel message, a counter) changes no reference count.

use std::ffi::c_long;
use std::ptr;
use std::sync::atomic::{AtomicPtr, Ordering};

use super::typeobj::{self, PyTypeObject, TypeOps};
use super::{Obj, PyObject, PyResult};
use crate::error::PyErr;

/// The layout of an `int` (and of `bool`).
#[repr(C)]
pub struct PyLongObject {
    /// Object head.
    pub ob_base: PyObject,
    /// The value.
    pub value: i64,
}

/// `int`.
#[no_mangle]
pub static mut PyLong_Type: PyTypeObject = PyTypeObject::new_static(
    c"int",
    ptr::addr_of!(typeobj::PyBaseObject_Type) as *mut PyTypeObject,
    std::mem::size_of::<PyLongObject>(),
    0,
    TypeOps {
        repr: Some(long_repr),
        is_true: Some(long_is_true),
        new: Some(long_new),
        ..TypeOps::EMPTY
    },
);

/// `&PyLong_Type`.
pub fn long_type() -> *mut PyTypeObject {
    ptr::addr_of_mut!(PyLong_Type)
}

/// The range of CPython's small-int cache.
const SMALL_MIN: i64 = -5;
const SMALL_MAX: i64 = 256;
const SMALL_COUNT: usize = (SMALL_MAX - SMALL_MIN + 1) as usize;

/// The small ints, `SMALL_MIN` first: immortal, created on first use, never freed.
fn small_ints() -> *mut PyLongObject {
    static SMALL: AtomicPtr<PyLongObject> = AtomicPtr::new(ptr::null_mut());
    let p = SMALL.load(Ordering::Acquire);
    if !p.is_null() {
        return p;
    }
    create_small_ints(&SMALL)
}

#[cold]
fn create_small_ints(slot: &AtomicPtr<PyLongObject>) -> *mut PyLongObject {
    let ints: Box<[PyLongObject]> = (SMALL_MIN..=SMALL_MAX)
        .map(|value| PyLongObject {
            ob_base: PyObject::immortal(long_type()),
            value,
        })
        .collect();
    debug_assert_eq!(ints.len(), SMALL_COUNT);
    let p = Box::into_raw(ints) as *mut PyLongObject;
    match slot.compare_exchange(ptr::null_mut(), p, Ordering::AcqRel, Ordering::Acquire) {
        Ok(_) => p,
        Err(theirs) => {
            // Another thread created them first: use theirs.
            // SAFETY: ours was never published.
            drop(unsafe { Box::from_raw(ptr::slice_from_raw_parts_mut(p, SMALL_COUNT)) });
            theirs
        }
    }
}

/// An `int`: the shared immortal object for a small value, otherwise a new one.
pub fn new(v: i64) -> Obj {
    if (SMALL_MIN..=SMALL_MAX).contains(&v) {
        // SAFETY: an immortal int of the cache (its references are not counted).
        return unsafe {
            Obj::from_owned_unchecked(small_ints().add((v - SMALL_MIN) as usize).cast())
        };
    }
    // SAFETY: PyLongObject is the layout of int instances.
    unsafe {
        super::alloc_instance(
            long_type(),
            PyLongObject {
                ob_base: PyObject::immortal(long_type()),
                value: v,
            },
        )
    }
}

/// True when `op` is an int (or bool).
///
/// # Safety
/// `op` is a live object.
pub unsafe fn is_long(op: *mut PyObject) -> bool {
    // SAFETY: op is live.
    typeobj::is_subtype(unsafe { super::type_of(op) }, long_type())
}

/// The value of an int.
///
/// # Safety
/// `op` is a live int.
pub unsafe fn value(op: *mut PyObject) -> i64 {
    // SAFETY: op is an int.
    unsafe { super::cast::<PyLongObject>(op).value }
}

/// The value of any object that is an int, or a TypeError naming `what`.
///
/// # Safety
/// `op` is a live object.
pub unsafe fn as_i64(op: *mut PyObject) -> PyResult<i64> {
    // SAFETY: op is live.
    unsafe {
        if is_long(op) {
            Ok(value(op))
        } else {
            Err(PyErr::type_error(format!(
                "'{}' object cannot be interpreted as an integer",
                typeobj::type_name_of(op)
            )))
        }
    }
}

/// The value as a C `long`.
///
/// # Safety
/// `op` is a live object.
pub unsafe fn as_c_long(op: *mut PyObject) -> PyResult<c_long> {
    // SAFETY: op is live.
    let v = unsafe { as_i64(op)? };
    c_long::try_from(v)
        .map_err(|_| PyErr::overflow_error("Python int too large to convert to C long"))
}

unsafe fn long_repr(op: *mut PyObject) -> PyResult<String> {
    // SAFETY: op is an int.
    Ok(unsafe { value(op) }.to_string())
}

unsafe fn long_is_true(op: *mut PyObject) -> bool {
    // SAFETY: op is an int.
    unsafe { value(op) != 0 }
}

unsafe fn long_new(
    _tp: *mut PyTypeObject,
    args: *mut PyObject,
    _kw: *mut PyObject,
) -> PyResult<Obj> {
    // SAFETY: args is a tuple.
    let items = unsafe { super::tuple::items(args) };
    match items {
        [] => Ok(new(0)),
        // SAFETY: items are live objects.
        [x] => unsafe {
            if is_long(*x) {
                Ok(new(value(*x)))
            } else if super::unicode::is_unicode(*x) {
                let text = super::unicode::as_str(*x);
                text.trim().parse::<i64>().map(new).map_err(|_| {
                    PyErr::value_error(format!(
                        "invalid literal for int() with base 10: {}",
                        super::unicode::quote(text)
                    ))
                })
            } else {
                Err(PyErr::type_error(format!(
                    "int() argument must be a string, a bytes-like object or a real number, not '{}'",
                    typeobj::type_name_of(*x)
                )))
            }
        },
        _ => Err(PyErr::type_error("int() takes at most 1 argument")),
    }
}
