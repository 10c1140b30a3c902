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

/// A new `str` from bytes that must be UTF-8. Invalid input is a `ValueError` with the text of
/// CPython's `UnicodeDecodeError` (the class itself does not exist here).
pub fn from_utf8(bytes: &[u8]) -> PyResult<Obj> {
    match std::str::from_utf8(bytes) {
        Ok(s) => Ok(new(s)),
        Err(e) => Err(PyErr::value_error(decode_error_text(bytes, &e))),
    }
}

/// CPython's message for a UTF-8 decoding error: which byte(s) and why.
fn decode_error_text(bytes: &[u8], e: &std::str::Utf8Error) -> String {
    let start = e.valid_up_to();
    let (len, reason) = match e.error_len() {
        None => (bytes.len() - start, "unexpected end of data"),
        Some(n) => {
            let invalid_start = matches!(bytes[start], 0x80..=0xc1 | 0xf5..=0xff);
            (
                n,
                if invalid_start {
                    "invalid start byte"
                } else {
                    "invalid continuation byte"
                },
            )
        }
    };
    if len == 1 {
        format!(
            "'utf-8' codec can't decode byte 0x{:02x} in position {start}: {reason}",
            bytes[start]
        )
    } else {
        format!(
            "'utf-8' codec can't decode bytes in position {start}-{}: {reason}",
            start + len - 1
        )
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
///
/// As CPython: single quotes unless the text holds `'` and no `"`; `\\`, `\n`, `\r`, `\t`
/// and the quote are escaped, and characters that are not printable become `\xNN`, `\uNNNN`
/// or `\UNNNNNNNN`. See [`is_printable`] for how "printable" is decided without the Unicode
/// database.
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
            c if !is_printable(c) => {
                let u = c as u32;
                out.push_str(&if u <= 0xff {
                    format!("\\x{u:02x}")
                } else if u <= 0xffff {
                    format!("\\u{u:04x}")
                } else {
                    format!("\\U{u:08x}")
                })
            }
            c => out.push(c),
        }
    }
    out.push(q);
    out
}

/// Python's `str.isprintable()` for one character, as far as it can be told without the
/// Unicode database: false for the control characters (Cc), the space and line/paragraph
/// separators other than `' '` (Zs, Zl, Zp), the format characters (Cf), private use (Co),
/// the noncharacters, and the planes that hold no assigned characters (4 to 13, most of 14).
/// Other unassigned code points (which CPython also escapes) are treated as printable.
pub fn is_printable(c: char) -> bool {
    let u = c as u32;
    let not_printable = matches!(u,
        // Cc
        0x00..=0x1f | 0x7f..=0x9f
        // Zs (except ' '), Zl, Zp
        | 0xa0 | 0x1680 | 0x2000..=0x200a | 0x2028 | 0x2029 | 0x202f | 0x205f | 0x3000
        // Cf
        | 0xad | 0x600..=0x605 | 0x61c | 0x6dd | 0x70f | 0x890 | 0x891 | 0x8e2 | 0x180e
        | 0x200b..=0x200f | 0x202a..=0x202e | 0x2060..=0x2064 | 0x2066..=0x206f | 0xfeff
        | 0xfff9..=0xfffb | 0x110bd | 0x110cd | 0x13430..=0x1343f | 0x1bca0..=0x1bca3
        | 0x1d173..=0x1d17a | 0xe0001 | 0xe0020..=0xe007f
        // Co
        | 0xe000..=0xf8ff | 0xf0000..=0x10ffff
        // Noncharacters and the unassigned planes
        | 0xfdd0..=0xfdef | 0x323b0..=0xe0000 | 0xe0080..=0xe00ff | 0xe01f0..=0xeffff
    );
    !not_printable && u & 0xfffe != 0xfffe
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

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_message(bytes: &[u8]) -> String {
        let e = from_utf8(bytes).expect_err("invalid UTF-8");
        assert!(e.matches(crate::object::exception::value_error()));
        // SAFETY: the exception instance is live.
        unsafe { crate::object::attr::str(e.value().as_ptr()) }.unwrap()
    }

    #[test]
    fn quote_chooses_the_quote_as_python() {
        assert_eq!(quote("abc"), "'abc'");
        assert_eq!(quote(""), "''");
        assert_eq!(quote("it's"), "\"it's\"");
        assert_eq!(quote("say \"x\""), "'say \"x\"'");
        assert_eq!(quote("' and \""), "'\\' and \"'");
    }

    #[test]
    fn quote_escapes_controls_and_non_printables() {
        assert_eq!(quote("a\\b\nc\rd\te"), "'a\\\\b\\nc\\rd\\te'");
        assert_eq!(quote("\0\u{1f}\u{7f}"), "'\\x00\\x1f\\x7f'");
        assert_eq!(quote("\u{85}\u{a0}\u{ad}"), "'\\x85\\xa0\\xad'");
        assert_eq!(quote("\u{2028}\u{200b}\u{feff}"), "'\\u2028\\u200b\\ufeff'");
        assert_eq!(quote("\u{e000}\u{fffe}"), "'\\ue000\\ufffe'");
        assert_eq!(quote("\u{f0000}\u{10ffff}"), "'\\U000f0000\\U0010ffff'");
        // Printable non-ASCII text is kept as is.
        assert_eq!(quote("é€ 😀 中"), "'é€ 😀 中'");
    }

    #[test]
    fn printable_boundaries() {
        assert!(is_printable(' '));
        assert!(is_printable('~'));
        assert!(!is_printable('\u{9f}'));
        assert!(is_printable('\u{a1}'));
        assert!(!is_printable('\u{3000}'));
        assert!(is_printable('\u{3001}'));
        assert!(!is_printable('\u{1fffe}'));
        assert!(is_printable('\u{1f600}'));
        assert!(is_printable('\u{e0100}')); // a variation selector
    }

    #[test]
    fn decode_errors_read_as_cpython() {
        assert_eq!(
            decode_message(b"\xff"),
            "'utf-8' codec can't decode byte 0xff in position 0: invalid start byte"
        );
        assert_eq!(
            decode_message(b"ab\x80"),
            "'utf-8' codec can't decode byte 0x80 in position 2: invalid start byte"
        );
        assert_eq!(
            decode_message(b"\xe2\x28\xa1"),
            "'utf-8' codec can't decode byte 0xe2 in position 0: invalid continuation byte"
        );
        assert_eq!(
            decode_message(b"\xe2\x82\x28"),
            "'utf-8' codec can't decode bytes in position 0-1: invalid continuation byte"
        );
        assert_eq!(
            decode_message(b"a\xf0\x9f\x98"),
            "'utf-8' codec can't decode bytes in position 1-3: unexpected end of data"
        );
        assert_eq!(
            decode_message(b"\xe2"),
            "'utf-8' codec can't decode byte 0xe2 in position 0: unexpected end of data"
        );
    }

    #[test]
    fn str_objects_keep_text_and_length() {
        let s = new("héllo");
        // SAFETY: s is a live str.
        unsafe {
            assert_eq!(as_str(s.as_ptr()), "héllo");
            assert_eq!(char_len(s.as_ptr()), 5);
            assert_eq!(*as_c_ptr(s.as_ptr()).add(6), 0);
        }
    }
}
