//! Exports: `str` and `bytes`.

use std::ffi::{c_char, c_int};

use super::boundary::{entry, null_arg, typed};
use crate::error::PyErr;
use crate::object::bytes::{self, bytes_type};
use crate::object::unicode::{self, unicode_type};
use crate::object::{self as obj, PyObject};

/// Returns a new reference to a str decoded from the NUL-terminated UTF-8 string `s`, or NULL
/// with an exception set (`SystemError` for NULL; for invalid UTF-8 a `ValueError` with the
/// message of CPython's `UnicodeDecodeError`, e.g. `'utf-8' codec can't decode byte 0xff in
/// position 0: invalid start byte`).
#[no_mangle]
pub unsafe extern "C" fn PyUnicode_FromString(s: *const c_char) -> *mut PyObject {
    entry(|| {
        if s.is_null() {
            return Err(null_arg("PyUnicode_FromString", "s"));
        }
        // SAFETY: s is a NUL-terminated string (C contract).
        let bytes = unsafe { std::ffi::CStr::from_ptr(s) }.to_bytes();
        Ok(unicode::from_utf8(bytes)?.into_raw())
    })
}

/// Returns a new reference to a str decoded from `size` bytes of UTF-8 at `s` (`s` may be
/// NULL only when `size` is 0), or NULL with an exception set (`ValueError` for invalid
/// UTF-8, as `PyUnicode_FromString`).
#[no_mangle]
pub unsafe extern "C" fn PyUnicode_FromStringAndSize(
    s: *const c_char,
    size: isize,
) -> *mut PyObject {
    entry(|| {
        if size < 0 {
            return Err(PyErr::system_error(
                "Negative size passed to PyUnicode_FromStringAndSize",
            ));
        }
        if s.is_null() && size > 0 {
            return Err(null_arg("PyUnicode_FromStringAndSize", "s"));
        }
        let bytes = if size == 0 {
            &[][..]
        } else {
            // SAFETY: s points to size readable bytes (C contract).
            unsafe { std::slice::from_raw_parts(s.cast::<u8>(), size as usize) }
        };
        Ok(unicode::from_utf8(bytes)?.into_raw())
    })
}

/// Returns the UTF-8 text of the str `o`, NUL-terminated and borrowed from `o` (valid while
/// `o` lives), or NULL with an exception set.
#[no_mangle]
pub unsafe extern "C" fn PyUnicode_AsUTF8(o: *mut PyObject) -> *const c_char {
    entry(|| {
        let o = typed(o, unicode_type(), "PyUnicode_AsUTF8", "o")?;
        // SAFETY: o is a str.
        Ok(unsafe { unicode::as_c_ptr(o) })
    })
}

/// Like `PyUnicode_AsUTF8`, and stores the length in bytes in `*size` when `size` is not NULL.
#[no_mangle]
pub unsafe extern "C" fn PyUnicode_AsUTF8AndSize(
    o: *mut PyObject,
    size: *mut isize,
) -> *const c_char {
    entry(|| {
        let o = typed(o, unicode_type(), "PyUnicode_AsUTF8AndSize", "o")?;
        // SAFETY: o is a str; size is NULL or writable.
        unsafe {
            if !size.is_null() {
                *size = unicode::as_str(o).len() as isize;
            }
            Ok(unicode::as_c_ptr(o))
        }
    })
}

/// Returns the length of the str `o` in code points, or -1 with an exception set.
#[no_mangle]
pub unsafe extern "C" fn PyUnicode_GetLength(o: *mut PyObject) -> isize {
    entry(|| {
        let o = typed(o, unicode_type(), "PyUnicode_GetLength", "o")?;
        // SAFETY: o is a str.
        Ok(unsafe { unicode::char_len(o) } as isize)
    })
}

/// Compares the str `o` with the NUL-terminated string `s`: returns -1, 0 or 1 for less,
/// equal or greater (byte order). On bad arguments returns -1 with an exception set.
#[no_mangle]
pub unsafe extern "C" fn PyUnicode_CompareWithASCIIString(
    o: *mut PyObject,
    s: *const c_char,
) -> c_int {
    entry(|| {
        let o = typed(o, unicode_type(), "PyUnicode_CompareWithASCIIString", "o")?;
        if s.is_null() {
            return Err(null_arg("PyUnicode_CompareWithASCIIString", "s"));
        }
        // SAFETY: o is a str; s a C string.
        let (a, b) = unsafe {
            (
                unicode::as_str(o).as_bytes(),
                std::ffi::CStr::from_ptr(s).to_bytes(),
            )
        };
        Ok(a.cmp(b) as c_int)
    })
}

/// Returns 1 if `o` is a str (or subtype instance), else 0.
#[no_mangle]
pub unsafe extern "C" fn PyUnicode_Check(o: *mut PyObject) -> c_int {
    // SAFETY: o is NULL or live.
    (!o.is_null() && unsafe { unicode::is_unicode(o) }) as c_int
}

/// Returns 1 if `o` is exactly a str, else 0.
#[no_mangle]
pub unsafe extern "C" fn PyUnicode_CheckExact(o: *mut PyObject) -> c_int {
    // SAFETY: o is NULL or live.
    (!o.is_null() && unsafe { obj::type_of(o) } == unicode_type()) as c_int
}

/// Returns a new reference to a bytes object holding a copy of `size` bytes at `s`. `s` may
/// be NULL, giving `size` zero bytes (which may be written through `PyBytes_AsString` before
/// the object is shared). Returns NULL with an exception set (`SystemError` for a negative
/// size, `MemoryError` when the memory cannot be had).
#[no_mangle]
pub unsafe extern "C" fn PyBytes_FromStringAndSize(s: *const c_char, size: isize) -> *mut PyObject {
    entry(|| {
        if size < 0 {
            return Err(PyErr::system_error(
                "Negative size passed to PyBytes_FromStringAndSize",
            ));
        }
        if s.is_null() {
            return Ok(bytes::zeroed(size as usize)?.into_raw());
        }
        // SAFETY: s points to size readable bytes (C contract).
        let data = unsafe { std::slice::from_raw_parts(s.cast::<u8>(), size as usize) };
        Ok(bytes::new(data).into_raw())
    })
}

/// Returns a new reference to a bytes object holding a copy of the NUL-terminated string `s`
/// (without the NUL), or NULL with an exception set.
#[no_mangle]
pub unsafe extern "C" fn PyBytes_FromString(s: *const c_char) -> *mut PyObject {
    entry(|| {
        if s.is_null() {
            return Err(null_arg("PyBytes_FromString", "s"));
        }
        // SAFETY: s is a C string.
        Ok(bytes::new(unsafe { std::ffi::CStr::from_ptr(s) }.to_bytes()).into_raw())
    })
}

/// Returns a pointer to the contents of the bytes object `o` (followed by a NUL), borrowed
/// from `o`, or NULL with an exception set.
#[no_mangle]
pub unsafe extern "C" fn PyBytes_AsString(o: *mut PyObject) -> *mut c_char {
    entry(|| {
        let o = typed(o, bytes_type(), "PyBytes_AsString", "o")?;
        // SAFETY: o is bytes.
        Ok(unsafe { bytes::as_ptr(o) })
    })
}

/// Returns the length of the bytes object `o`, or -1 with an exception set.
#[no_mangle]
pub unsafe extern "C" fn PyBytes_Size(o: *mut PyObject) -> isize {
    entry(|| {
        let o = typed(o, bytes_type(), "PyBytes_Size", "o")?;
        // SAFETY: o is bytes.
        Ok(unsafe { bytes::as_slice(o) }.len() as isize)
    })
}

/// Returns 1 if `o` is a bytes object, else 0.
#[no_mangle]
pub unsafe extern "C" fn PyBytes_Check(o: *mut PyObject) -> c_int {
    // SAFETY: o is NULL or live.
    (!o.is_null() && unsafe { bytes::is_bytes(o) }) as c_int
}
