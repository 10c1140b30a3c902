//! `bytes`: an immutable byte string.
//!
//! Invariant: the data is followed by one NUL byte (not counted in the size), so
//! `PyBytes_AsString` can be used as a C string when the data has no NUL of its own.

use std::ptr;

use super::typeobj::{self, PyTypeObject, TypeOps};
use super::{Obj, PyObject, PyResult};
use crate::error::PyErr;

/// The layout of a `bytes`.
#[repr(C)]
pub struct PyBytesObject {
    /// Object head.
    pub ob_base: PyObject,
    /// The bytes plus a trailing NUL.
    data: Box<[u8]>,
}

/// `bytes`.
#[no_mangle]
pub static mut PyBytes_Type: PyTypeObject = PyTypeObject::new_static(
    c"bytes",
    ptr::addr_of!(typeobj::PyBaseObject_Type) as *mut PyTypeObject,
    std::mem::size_of::<PyBytesObject>(),
    0,
    TypeOps {
        drop_fields: Some(drop_bytes),
        repr: Some(bytes_repr),
        is_true: Some(bytes_is_true),
        ..TypeOps::EMPTY
    },
);

/// `&PyBytes_Type`.
pub fn bytes_type() -> *mut PyTypeObject {
    ptr::addr_of_mut!(PyBytes_Type)
}

/// A new `bytes` holding a copy of `data`.
pub fn new(data: &[u8]) -> Obj {
    let mut v = Vec::with_capacity(data.len() + 1);
    v.extend_from_slice(data);
    v.push(0);
    from_vec_with_nul(v)
}

/// A new `bytes` of `n` zero bytes; `MemoryError` when that much memory cannot be had.
pub fn zeroed(n: usize) -> PyResult<Obj> {
    let total = n.checked_add(1).ok_or_else(PyErr::no_memory)?;
    let mut v = Vec::new();
    v.try_reserve_exact(total).map_err(|_| PyErr::no_memory())?;
    v.resize(total, 0);
    Ok(from_vec_with_nul(v))
}

/// Wraps bytes that already end with the NUL terminator.
fn from_vec_with_nul(v: Vec<u8>) -> Obj {
    // SAFETY: PyBytesObject is the layout of bytes instances.
    unsafe {
        super::alloc_instance(
            bytes_type(),
            PyBytesObject {
                ob_base: PyObject::immortal(bytes_type()),
                data: v.into_boxed_slice(),
            },
        )
    }
}

/// True when `op` is a bytes object.
///
/// # Safety
/// `op` is a live object.
pub unsafe fn is_bytes(op: *mut PyObject) -> bool {
    // SAFETY: op is live.
    typeobj::is_subtype(unsafe { super::type_of(op) }, bytes_type())
}

/// The bytes, without the trailing NUL.
///
/// # Safety
/// `op` is a live bytes object; the slice is not used after it dies.
pub unsafe fn as_slice<'a>(op: *mut PyObject) -> &'a [u8] {
    // SAFETY: op is bytes.
    unsafe {
        let b = super::cast::<PyBytesObject>(op);
        &b.data[..b.data.len() - 1]
    }
}

/// A pointer to the bytes (NUL-terminated).
///
/// # Safety
/// `op` is a live bytes object.
pub unsafe fn as_ptr(op: *mut PyObject) -> *mut std::ffi::c_char {
    // SAFETY: op is bytes. C may write into the buffer as CPython allows for fresh objects.
    unsafe {
        super::cast_mut::<PyBytesObject>(op)
            .data
            .as_mut_ptr()
            .cast()
    }
}

unsafe fn drop_bytes(op: *mut PyObject) {
    // SAFETY: called once on a bytes object being freed.
    unsafe { ptr::drop_in_place(op as *mut PyBytesObject) }
}

unsafe fn bytes_repr(op: *mut PyObject) -> PyResult<String> {
    // SAFETY: op is bytes.
    let data = unsafe { as_slice(op) };
    let q = if data.contains(&b'\'') && !data.contains(&b'"') {
        '"'
    } else {
        '\''
    };
    let mut s = String::from("b");
    s.push(q);
    for &b in data {
        match b {
            b'\\' => s.push_str("\\\\"),
            b'\n' => s.push_str("\\n"),
            b'\r' => s.push_str("\\r"),
            b'\t' => s.push_str("\\t"),
            b if b as char == q => {
                s.push('\\');
                s.push(q);
            }
            0x20..=0x7e => s.push(b as char),
            b => s.push_str(&format!("\\x{b:02x}")),
        }
    }
    s.push(q);
    Ok(s)
}

unsafe fn bytes_is_true(op: *mut PyObject) -> bool {
    // SAFETY: op is bytes.
    unsafe { !as_slice(op).is_empty() }
}
