//! `str`: immutable UTF-8 text.
//!
//! Invariant: the bytes are valid UTF-8 followed by one NUL, so `PyUnicode_AsUTF8` can hand out
//! a C string that lives as long as the object.

use std::ptr;

use super::typeobj::{self, PyTypeObject, TypeOps};
use super::{Obj, PyObject, PyResult};
use crate::error::PyErr;

/// The layout of a `str`.
#[repr(C)]
pub struct PyUnicodeObject {
    /// Object head.
    pub ob_base: PyObject,
    /// UTF-8 bytes plus a trailing NUL.
    data: Box<[u8]>,
    /// Length in code points.
    length: usize,
}

/// `str`.
#[no_mangle]
pub static mut PyUnicode_Type: PyTypeObject = PyTypeObject::new_static(
    c"str",
    ptr::addr_of!(typeobj::PyBaseObject_Type) as *mut PyTypeObject,
    std::mem::size_of::<PyUnicodeObject>(),
    0,
    TypeOps {
        drop_fields: Some(drop_unicode),
        repr: Some(unicode_repr),
        str: Some(unicode_str),
        is_true: Some(unicode_is_true),
        new: Some(unicode_new),
        ..TypeOps::EMPTY
    },
);

/// `&PyUnicode_Type`.
pub fn unicode_type() -> *mut PyTypeObject {
    ptr::addr_of_mut!(PyUnicode_Type)
}

/// A new `str`.
pub fn new(s: &str) -> Obj {
    let mut data = Vec::with_capacity(s.len() + 1);
    data.extend_from_slice(s.as_bytes());
    data.push(0);
    // SAFETY: PyUnicodeObject is the layout of str instances.
    unsafe {
        super::alloc_instance(
            unicode_type(),
            PyUnicodeObject {
                ob_base: PyObject::immortal(unicode_type()),
                data: data.into_boxed_slice(),
                length: s.chars().count(),
            },
        )
    }
}

/// A new `str` from bytes that must be UTF-8.
pub fn from_utf8(bytes: &[u8]) -> PyResult<Obj> {
    match std::str::from_utf8(bytes) {
        Ok(s) => Ok(new(s)),
        Err(e) => Err(PyErr::value_error(format!(
            "'utf-8' codec can't decode byte 0x{:02x} in position {}: invalid start byte or truncated data",
            bytes[e.valid_up_to()],
            e.valid_up_to()
        ))),
    }
}

/// True when `op` is a str.
///
/// # Safety
/// `op` is a live object.
pub unsafe fn is_unicode(op: *mut PyObject) -> bool {
    // SAFETY: op is live.
    typeobj::is_subtype(unsafe { super::type_of(op) }, unicode_type())
}

/// The text of a str (borrowed from the object).
///
/// # Safety
/// `op` is a live str, and the returned slice is not used after the object dies.
pub unsafe fn as_str<'a>(op: *mut PyObject) -> &'a str {
    // SAFETY: op is a str; its data is valid UTF-8 plus a NUL.
    unsafe {
        let u = super::cast::<PyUnicodeObject>(op);
        std::str::from_utf8_unchecked(&u.data[..u.data.len() - 1])
    }
}

/// The NUL-terminated UTF-8 of a str.
///
/// # Safety
/// `op` is a live str.
pub unsafe fn as_c_ptr(op: *mut PyObject) -> *const std::ffi::c_char {
    // SAFETY: op is a str.
    unsafe { super::cast::<PyUnicodeObject>(op).data.as_ptr().cast() }
}

/// The length in code points.
///
/// # Safety
/// `op` is a live str.
pub unsafe fn char_len(op: *mut PyObject) -> usize {
    // SAFETY: op is a str.
    unsafe { super::cast::<PyUnicodeObject>(op).length }
}

/// Python's `repr()` of text: quoted, with escapes.
pub fn quote(s: &str) -> String {
    let q = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::with_capacity(s.len() + 2);
    out.push(q);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == q => {
                out.push('\\');
                out.push(c);
            }
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32))
            }
            c => out.push(c),
        }
    }
    out.push(q);
    out
}

unsafe fn drop_unicode(op: *mut PyObject) {
    // SAFETY: called once, on a str being freed.
    unsafe { ptr::drop_in_place(op as *mut PyUnicodeObject) }
}

unsafe fn unicode_repr(op: *mut PyObject) -> PyResult<String> {
    // SAFETY: op is a str.
    Ok(quote(unsafe { as_str(op) }))
}

unsafe fn unicode_str(op: *mut PyObject) -> PyResult<String> {
    // SAFETY: op is a str.
    Ok(unsafe { as_str(op) }.to_owned())
}

unsafe fn unicode_is_true(op: *mut PyObject) -> bool {
    // SAFETY: op is a str.
    unsafe { !as_str(op).is_empty() }
}

unsafe fn unicode_new(
    _tp: *mut PyTypeObject,
    args: *mut PyObject,
    _kw: *mut PyObject,
) -> PyResult<Obj> {
    // SAFETY: args is a tuple.
    match unsafe { super::tuple::items(args) } {
        [] => Ok(new("")),
        [x] => Ok(new(&super::attr::str(*x)?)),
        _ => Err(PyErr::type_error("str() takes at most 1 argument")),
    }
}
