//! Exports: `tuple` and `dict`.

use std::ffi::{c_char, c_int};

use super::boundary::{c_str, entry, entry_or, non_null, typed};
use crate::error::PyErr;
use crate::object::dict::{self, dict_type};
use crate::object::tuple::{self, tuple_type};
use crate::object::{self as obj, unicode, PyObject};

/// Returns a new reference to a tuple of `size` empty slots, to be filled with
/// `PyTuple_SetItem` before use; NULL with an exception set (`SystemError` for a negative
/// size, `MemoryError` when the memory cannot be had).
#[no_mangle]
pub extern "C" fn PyTuple_New(size: isize) -> *mut PyObject {
    entry(|| {
        if size < 0 {
            return Err(PyErr::system_error("PyTuple_New: negative size"));
        }
        Ok(tuple::new_empty_slots(size as usize)?.into_raw())
    })
}

/// Returns the item at `pos` of the tuple `p` as a **borrowed** reference, or NULL with an
/// exception set (`IndexError` when out of range; unlike CPython, a slot not yet filled by
/// `PyTuple_SetItem` is a `SystemError` rather than NULL without an exception).
#[no_mangle]
pub unsafe extern "C" fn PyTuple_GetItem(p: *mut PyObject, pos: isize) -> *mut PyObject {
    entry(|| {
        let p = typed(p, tuple_type(), "PyTuple_GetItem", "p")?;
        // SAFETY: p is a tuple.
        let items = unsafe { tuple::items(p) };
        match usize::try_from(pos).ok().and_then(|i| items.get(i)) {
            Some(&item) if !item.is_null() => Ok(item),
            Some(_) => Err(PyErr::system_error(
                "PyTuple_GetItem: the slot has not been filled",
            )),
            None => Err(PyErr::index_error("tuple index out of range")),
        }
    })
}

/// Stores `o` at `pos` of the tuple `p`. **Steals** the reference to `o`, even on failure.
/// Only for filling a new tuple nobody else holds (its refcount must be 1), as in CPython.
/// Returns 0, or -1 with an exception set.
#[no_mangle]
pub unsafe extern "C" fn PyTuple_SetItem(p: *mut PyObject, pos: isize, o: *mut PyObject) -> c_int {
    entry(|| {
        // SAFETY: the reference to o is ours from here on, whatever happens.
        let item = unsafe { obj::Obj::from_owned(o) };
        let p = typed(p, tuple_type(), "PyTuple_SetItem", "p")?;
        // SAFETY: p is a live tuple.
        if unsafe { obj::refcnt(p) } != 1 {
            return Err(PyErr::system_error(
                "PyTuple_SetItem: the tuple is shared (refcount != 1); tuples are immutable once in use",
            ));
        }
        // SAFETY: p is a tuple.
        let len = unsafe { tuple::items(p) }.len();
        let i = usize::try_from(pos).ok().filter(|&i| i < len);
        let Some(i) = i else {
            return Err(PyErr::index_error("tuple assignment index out of range"));
        };
        // SAFETY: p is an unshared tuple; i in range; the tuple takes the reference.
        unsafe { tuple::set_item(p, i, item.map_or(std::ptr::null_mut(), obj::Obj::into_raw)) };
        Ok(0)
    })
}

/// Returns the length of the tuple `p`, or -1 with an exception set.
#[no_mangle]
pub unsafe extern "C" fn PyTuple_Size(p: *mut PyObject) -> isize {
    entry(|| {
        let p = typed(p, tuple_type(), "PyTuple_Size", "p")?;
        // SAFETY: p is a tuple.
        Ok(unsafe { tuple::items(p) }.len() as isize)
    })
}

/// Returns 1 if `o` is a tuple, else 0.
#[no_mangle]
pub unsafe extern "C" fn PyTuple_Check(o: *mut PyObject) -> c_int {
    // SAFETY: o is NULL or live.
    (!o.is_null() && unsafe { tuple::is_tuple(o) }) as c_int
}

/// Returns 1 if `o` is exactly a tuple, else 0.
#[no_mangle]
pub unsafe extern "C" fn PyTuple_CheckExact(o: *mut PyObject) -> c_int {
    // SAFETY: o is NULL or live.
    (!o.is_null() && unsafe { obj::type_of(o) } == tuple_type()) as c_int
}

/// Returns a new reference to an empty dict.
#[no_mangle]
pub extern "C" fn PyDict_New() -> *mut PyObject {
    entry(|| Ok(dict::new().into_raw()))
}

fn dict_arg(p: *mut PyObject, func: &str) -> crate::object::PyResult<*mut PyObject> {
    typed(p, dict_type(), func, "p")
}

/// Sets `p[key] = val`. Keys compare by value for str and int, by identity otherwise.
/// Does not steal: the dict takes its own references. Returns 0, or -1 with an exception set.
#[no_mangle]
pub unsafe extern "C" fn PyDict_SetItem(
    p: *mut PyObject,
    key: *mut PyObject,
    val: *mut PyObject,
) -> c_int {
    entry(|| {
        let p = dict_arg(p, "PyDict_SetItem")?;
        let key = non_null(key, "PyDict_SetItem", "key")?;
        let val = non_null(val, "PyDict_SetItem", "val")?;
        // SAFETY: p is a dict; key and val are live.
        unsafe { dict::set(p, key, val) };
        Ok(0)
    })
}

/// Sets `p[key] = val` with a str key made from the UTF-8 string `key`. Does not steal `val`.
/// Returns 0, or -1 with an exception set.
#[no_mangle]
pub unsafe extern "C" fn PyDict_SetItemString(
    p: *mut PyObject,
    key: *const c_char,
    val: *mut PyObject,
) -> c_int {
    entry(|| {
        let p = dict_arg(p, "PyDict_SetItemString")?;
        let key = unicode::new(c_str(key, "PyDict_SetItemString", "key")?);
        let val = non_null(val, "PyDict_SetItemString", "val")?;
        // SAFETY: p is a dict; key and val are live.
        unsafe { dict::set(p, key.as_ptr(), val) };
        Ok(0)
    })
}

/// Returns `p[key]` as a **borrowed** reference, or NULL **without** an exception when the key
/// is missing. Never fails: bad arguments (NULL, `p` not a dict) also give NULL without an
/// exception, and an exception that was pending before the call is left as it was, as
/// CPython's `PyDict_GetItem` does. Prefer `PyDict_GetItemWithError`.
#[no_mangle]
pub unsafe extern "C" fn PyDict_GetItem(p: *mut PyObject, key: *mut PyObject) -> *mut PyObject {
    entry_or(std::ptr::null_mut(), || {
        if p.is_null() || key.is_null() {
            return Ok(std::ptr::null_mut());
        }
        // SAFETY: p is live (C contract).
        if !unsafe { dict::is_dict(p) } {
            return Ok(std::ptr::null_mut());
        }
        // SAFETY: p is a dict; key is live.
        Ok(unsafe { dict::get(p, key) }.unwrap_or(std::ptr::null_mut()))
    })
}

/// Returns `p[key]` as a **borrowed** reference; NULL without an exception when the key is
/// missing, NULL with an exception set on bad arguments.
#[no_mangle]
pub unsafe extern "C" fn PyDict_GetItemWithError(
    p: *mut PyObject,
    key: *mut PyObject,
) -> *mut PyObject {
    entry(|| {
        let p = dict_arg(p, "PyDict_GetItemWithError")?;
        let key = non_null(key, "PyDict_GetItemWithError", "key")?;
        // SAFETY: p is a dict; key is live.
        Ok(unsafe { dict::get(p, key) }.unwrap_or(std::ptr::null_mut()))
    })
}

/// Returns `p[key]` for a UTF-8 string key as a **borrowed** reference, or NULL without an
/// exception when missing. Never fails: bad arguments also give NULL without an exception, and
/// a pending exception is left as it was, as in CPython.
#[no_mangle]
pub unsafe extern "C" fn PyDict_GetItemString(
    p: *mut PyObject,
    key: *const c_char,
) -> *mut PyObject {
    entry_or(std::ptr::null_mut(), || {
        let (Ok(p), Ok(k)) = (
            dict_arg(p, "PyDict_GetItemString"),
            c_str(key, "PyDict_GetItemString", "key"),
        ) else {
            return Ok(std::ptr::null_mut());
        };
        let k = unicode::new(k);
        // SAFETY: p is a dict; k is live.
        Ok(unsafe { dict::get(p, k.as_ptr()) }.unwrap_or(std::ptr::null_mut()))
    })
}

/// Removes `p[key]`. Returns 0, or -1 with an exception set (`KeyError` when missing).
#[no_mangle]
pub unsafe extern "C" fn PyDict_DelItem(p: *mut PyObject, key: *mut PyObject) -> c_int {
    entry(|| {
        let p = dict_arg(p, "PyDict_DelItem")?;
        let key = non_null(key, "PyDict_DelItem", "key")?;
        // SAFETY: p is a dict; key is live.
        if unsafe { dict::del(p, key) } {
            Ok(0)
        } else {
            // SAFETY: key is live.
            Err(PyErr::from_type_args(
                crate::object::exception::key_error(),
                tuple::from_vec(vec![unsafe { obj::Obj::from_borrowed(key) }]),
            ))
        }
    })
}

/// Removes the entry with the UTF-8 string key `key`. Returns 0, or -1 with an exception set.
#[no_mangle]
pub unsafe extern "C" fn PyDict_DelItemString(p: *mut PyObject, key: *const c_char) -> c_int {
    entry(|| {
        let p = dict_arg(p, "PyDict_DelItemString")?;
        let k = unicode::new(c_str(key, "PyDict_DelItemString", "key")?);
        // SAFETY: p is a dict; k is live.
        if unsafe { dict::del(p, k.as_ptr()) } {
            Ok(0)
        } else {
            Err(PyErr::from_type_args(
                crate::object::exception::key_error(),
                tuple::from_vec(vec![k]),
            ))
        }
    })
}

/// Returns 1 if `p` has `key`, 0 if not, -1 with an exception set on bad arguments.
#[no_mangle]
pub unsafe extern "C" fn PyDict_Contains(p: *mut PyObject, key: *mut PyObject) -> c_int {
    entry(|| {
        let p = dict_arg(p, "PyDict_Contains")?;
        let key = non_null(key, "PyDict_Contains", "key")?;
        // SAFETY: p is a dict; key is live.
        Ok(unsafe { dict::get(p, key) }.is_some() as c_int)
    })
}

/// Returns the number of entries in `p`, or -1 with an exception set.
#[no_mangle]
pub unsafe extern "C" fn PyDict_Size(p: *mut PyObject) -> isize {
    entry(|| {
        let p = dict_arg(p, "PyDict_Size")?;
        // SAFETY: p is a dict.
        Ok(unsafe { dict::len(p) } as isize)
    })
}

/// Iterates over `p` in insertion order: start with `*ppos = 0`; each call stores **borrowed**
/// references in `*pkey` / `*pvalue` (either may be NULL) and returns 1, or returns 0 at the
/// end. The dict must not change during the iteration. Bad arguments return 0 with an
/// exception set.
#[no_mangle]
pub unsafe extern "C" fn PyDict_Next(
    p: *mut PyObject,
    ppos: *mut isize,
    pkey: *mut *mut PyObject,
    pvalue: *mut *mut PyObject,
) -> c_int {
    entry_or(0, || {
        let p = dict_arg(p, "PyDict_Next")?;
        if ppos.is_null() {
            return Err(super::boundary::null_arg("PyDict_Next", "ppos"));
        }
        // SAFETY: ppos, pkey, pvalue are NULL or writable (C contract); p is a dict.
        unsafe {
            let Ok(pos) = usize::try_from(*ppos) else {
                return Ok(0);
            };
            let Some((k, v)) = dict::entry_at(p, pos) else {
                return Ok(0);
            };
            *ppos += 1;
            if !pkey.is_null() {
                *pkey = k;
            }
            if !pvalue.is_null() {
                *pvalue = v;
            }
        }
        Ok(1)
    })
}

/// Returns 1 if `o` is a dict, else 0.
#[no_mangle]
pub unsafe extern "C" fn PyDict_Check(o: *mut PyObject) -> c_int {
    // SAFETY: o is NULL or live.
    (!o.is_null() && unsafe { dict::is_dict(o) }) as c_int
}

/// Returns 1 if `o` is exactly a dict, else 0.
#[no_mangle]
pub unsafe extern "C" fn PyDict_CheckExact(o: *mut PyObject) -> c_int {
    // SAFETY: o is NULL or live.
    (!o.is_null() && unsafe { obj::type_of(o) } == dict_type()) as c_int
}
