//! `None`, `True` and `False`: static, immortal objects.
//!
//! `True`/`False` are `int` instances (type `bool`, a subtype of `int`) holding 1 and 0.

use std::ptr;

use super::long::{PyLongObject, PyLong_Type};
use super::typeobj::{PyTypeObject, TypeOps};
use super::{PyObject, PyResult};

/// The type of `None`.
#[no_mangle]
pub static mut _PyNone_Type: PyTypeObject = PyTypeObject::new_static(
    c"NoneType",
    ptr::addr_of!(super::typeobj::PyBaseObject_Type) as *mut PyTypeObject,
    std::mem::size_of::<PyObject>(),
    0,
    TypeOps {
        repr: Some(none_repr),
        is_true: Some(never_true),
        ..TypeOps::EMPTY
    },
);

/// The `None` object. C code uses it through the `Py_None` macro.
#[no_mangle]
pub static mut _Py_NoneStruct: PyObject =
    PyObject::immortal(ptr::addr_of!(_PyNone_Type) as *mut PyTypeObject);

/// `bool`, a subtype of `int`.
#[no_mangle]
pub static mut PyBool_Type: PyTypeObject = PyTypeObject::new_static(
    c"bool",
    ptr::addr_of!(PyLong_Type) as *mut PyTypeObject,
    std::mem::size_of::<PyLongObject>(),
    0,
    TypeOps {
        repr: Some(bool_repr),
        new: Some(bool_new),
        ..TypeOps::EMPTY
    },
);

/// The `False` object (`Py_False`).
#[no_mangle]
pub static mut _Py_FalseStruct: PyLongObject = PyLongObject {
    ob_base: PyObject::immortal(ptr::addr_of!(PyBool_Type) as *mut PyTypeObject),
    value: 0,
};

/// The `True` object (`Py_True`).
#[no_mangle]
pub static mut _Py_TrueStruct: PyLongObject = PyLongObject {
    ob_base: PyObject::immortal(ptr::addr_of!(PyBool_Type) as *mut PyTypeObject),
    value: 1,
};

/// `Py_None` (borrowed).
#[inline]
pub fn none() -> *mut PyObject {
    ptr::addr_of_mut!(_Py_NoneStruct)
}

/// `Py_True` / `Py_False` (borrowed) for a truth value.
#[inline]
pub fn bool_ptr(v: bool) -> *mut PyObject {
    if v {
        ptr::addr_of_mut!(_Py_TrueStruct).cast()
    } else {
        ptr::addr_of_mut!(_Py_FalseStruct).cast()
    }
}

/// An owned reference to `True` or `False`.
pub fn new_bool(v: bool) -> super::Obj {
    // SAFETY: the bools are static, live objects.
    unsafe { super::Obj::from_borrowed(bool_ptr(v)) }
}

/// `&PyBool_Type`.
pub fn bool_type() -> *mut PyTypeObject {
    ptr::addr_of_mut!(PyBool_Type)
}

unsafe fn none_repr(_: *mut PyObject) -> PyResult<String> {
    Ok("None".to_owned())
}

unsafe fn never_true(_: *mut PyObject) -> bool {
    false
}

unsafe fn bool_repr(op: *mut PyObject) -> PyResult<String> {
    // SAFETY: op is a bool (an int).
    Ok(if unsafe { super::long::value(op) } != 0 {
        "True"
    } else {
        "False"
    }
    .to_owned())
}

unsafe fn bool_new(
    _tp: *mut PyTypeObject,
    args: *mut PyObject,
    _kw: *mut PyObject,
) -> PyResult<super::Obj> {
    // SAFETY: args is a tuple (checked by the caller of the type).
    let items = unsafe { super::tuple::items(args) };
    match items {
        [] => Ok(new_bool(false)),
        [x] => Ok(new_bool(super::attr::is_true(*x)?)),
        _ => Err(crate::error::PyErr::type_error(
            "bool expected at most 1 argument",
        )),
    }
}
