//! Exports: `int` and `bool`.

use std::ffi::{c_int, c_long, c_longlong, c_ulong};

use super::boundary::{entry, non_null, typed};
use crate::error::PyErr;
use crate::object::long::{self, long_type};
use crate::object::singletons::{bool_type, new_bool};
use crate::object::{self as obj, PyObject};

/// Returns a new reference to an int with value `v` (NULL only if memory runs out). As in
/// CPython, -5..256 are shared immortal objects: every call returns the same one.
#[no_mangle]
pub extern "C" fn PyLong_FromLong(v: c_long) -> *mut PyObject {
    entry(|| Ok(long::new(v).into_raw()))
}

/// Returns a new reference to an int with value `v`.
#[no_mangle]
pub extern "C" fn PyLong_FromSsize_t(v: isize) -> *mut PyObject {
    entry(|| Ok(long::new(v as i64).into_raw()))
}

/// Returns a new reference to an int with value `v`.
#[no_mangle]
pub extern "C" fn PyLong_FromLongLong(v: c_longlong) -> *mut PyObject {
    entry(|| Ok(long::new(v).into_raw()))
}

/// Returns a new reference to an int with value `v`, or NULL with `OverflowError` set when
/// `v` does not fit a signed 64-bit integer.
#[no_mangle]
pub extern "C" fn PyLong_FromUnsignedLong(v: c_ulong) -> *mut PyObject {
    entry(|| {
        let v = i64::try_from(v)
            .map_err(|_| PyErr::overflow_error("int too large for libstackless's 64-bit ints"))?;
        Ok(long::new(v).into_raw())
    })
}

fn int_arg(o: *mut PyObject, func: &str) -> crate::object::PyResult<i64> {
    let o = non_null(o, func, "o")?;
    // SAFETY: o is live.
    unsafe { long::as_i64(o) }
}

/// Returns the value of the int `o`. On error (NULL, not an int) returns -1 with an exception
/// set; use `PyErr_Occurred()` to tell that apart from a real -1.
#[no_mangle]
pub unsafe extern "C" fn PyLong_AsLong(o: *mut PyObject) -> c_long {
    entry(|| Ok(int_arg(o, "PyLong_AsLong")? as c_long))
}

/// Returns the value of the int `o` as `Py_ssize_t`; -1 with an exception set on error.
#[no_mangle]
pub unsafe extern "C" fn PyLong_AsSsize_t(o: *mut PyObject) -> isize {
    entry(|| Ok(int_arg(o, "PyLong_AsSsize_t")? as isize))
}

/// Returns the value of the int `o` as `long long`; -1 with an exception set on error.
#[no_mangle]
pub unsafe extern "C" fn PyLong_AsLongLong(o: *mut PyObject) -> c_longlong {
    entry(|| int_arg(o, "PyLong_AsLongLong"))
}

/// Returns the value of the int `o` as `unsigned long`; `(unsigned long)-1` with an exception
/// set on error (`OverflowError("can't convert negative value to unsigned int")` for negative
/// values, as CPython).
#[no_mangle]
pub unsafe extern "C" fn PyLong_AsUnsignedLong(o: *mut PyObject) -> c_ulong {
    entry(|| {
        let v = int_arg(o, "PyLong_AsUnsignedLong")?;
        c_ulong::try_from(v)
            .map_err(|_| PyErr::overflow_error("can't convert negative value to unsigned int"))
    })
}

/// Returns 1 if `o` is an int or an instance of a subtype (bool included), else 0.
#[no_mangle]
pub unsafe extern "C" fn PyLong_Check(o: *mut PyObject) -> c_int {
    // SAFETY: o is NULL or live.
    (!o.is_null() && unsafe { long::is_long(o) }) as c_int
}

/// Returns 1 if `o` is exactly an int (not a bool), else 0.
#[no_mangle]
pub unsafe extern "C" fn PyLong_CheckExact(o: *mut PyObject) -> c_int {
    // SAFETY: o is NULL or live.
    (!o.is_null() && unsafe { obj::type_of(o) } == long_type()) as c_int
}

/// Returns a new reference to `Py_True` if `v` is non-zero, else to `Py_False`.
#[no_mangle]
pub extern "C" fn PyBool_FromLong(v: c_long) -> *mut PyObject {
    new_bool(v != 0).into_raw()
}

/// Returns 1 if `o` is `Py_True` or `Py_False`, else 0.
#[no_mangle]
pub unsafe extern "C" fn PyBool_Check(o: *mut PyObject) -> c_int {
    // SAFETY: o is NULL or live.
    (!o.is_null() && unsafe { obj::type_of(o) } == bool_type()) as c_int
}

/// Returns the value of a bool or int `o` as 0/1 truth; -1 with an exception set on error.
/// (An extension: a checked way to read a flag argument.)
#[no_mangle]
pub unsafe extern "C" fn PyBool_AsInt(o: *mut PyObject) -> c_int {
    entry(|| {
        let o = typed(o, long_type(), "PyBool_AsInt", "o")?;
        // SAFETY: o is an int.
        Ok((unsafe { long::value(o) } != 0) as c_int)
    })
}
