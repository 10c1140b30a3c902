//! `dict`: an insertion-ordered mapping.
//!
//! Keys are compared by value for `str` and `int` (and `bool`), by identity for everything
//! else: enough for keyword arguments and user tables (SPEC §3 asks for string keys).
//!
//! Invariants: `index` maps each key to its position in `entries`; the dict owns one reference
//! to every key and value. Like CPython's without its lock, a dict must not be mutated by two
//! threads at once.

use std::collections::HashMap;
use std::ptr;

use super::typeobj::{self, PyTypeObject, TypeOps};
use super::{long, unicode, Obj, PyObject, PyResult};
use crate::error::PyErr;

#[derive(Hash, PartialEq, Eq, Clone)]
enum Key {
    Str(String),
    Int(i64),
    Identity(usize),
}

/// The layout of a `dict`.
#[repr(C)]
pub struct PyDictObject {
    /// Object head.
    pub ob_base: PyObject,
    entries: Vec<(Obj, Obj)>,
    index: HashMap<Key, usize>,
}

/// `dict`.
#[no_mangle]
pub static mut PyDict_Type: PyTypeObject = PyTypeObject::new_static(
    c"dict",
    ptr::addr_of!(typeobj::PyBaseObject_Type) as *mut PyTypeObject,
    std::mem::size_of::<PyDictObject>(),
    0,
    TypeOps {
        drop_fields: Some(drop_dict),
        repr: Some(dict_repr),
        is_true: Some(dict_is_true),
        new: Some(dict_new),
        ..TypeOps::EMPTY
    },
);

/// `&PyDict_Type`.
pub fn dict_type() -> *mut PyTypeObject {
    ptr::addr_of_mut!(PyDict_Type)
}

/// A new empty dict.
pub fn new() -> Obj {
    // SAFETY: PyDictObject is the layout of dict instances.
    unsafe {
        super::alloc_instance(
            dict_type(),
            PyDictObject {
                ob_base: PyObject::immortal(dict_type()),
                entries: Vec::new(),
                index: HashMap::new(),
            },
        )
    }
}

/// True when `op` is a dict.
///
/// # Safety
/// `op` is a live object.
pub unsafe fn is_dict(op: *mut PyObject) -> bool {
    // SAFETY: op is live.
    typeobj::is_subtype(unsafe { super::type_of(op) }, dict_type())
}

unsafe fn key_of(k: *mut PyObject) -> Key {
    // SAFETY: k is live.
    unsafe {
        if unicode::is_unicode(k) {
            Key::Str(unicode::as_str(k).to_owned())
        } else if long::is_long(k) {
            Key::Int(long::value(k))
        } else {
            Key::Identity(k as usize)
        }
    }
}

unsafe fn dict<'a>(op: *mut PyObject) -> &'a mut PyDictObject {
    // SAFETY: op is a dict; callers keep the borrow short and release objects after it.
    unsafe { super::cast_mut::<PyDictObject>(op) }
}

/// The number of entries.
///
/// # Safety
/// `op` is a live dict.
pub unsafe fn len(op: *mut PyObject) -> usize {
    // SAFETY: op is a dict.
    unsafe { dict(op).entries.len() }
}

/// Looks a key up (borrowed result).
///
/// # Safety
/// `op` is a live dict and `key` a live object.
pub unsafe fn get(op: *mut PyObject, key: *mut PyObject) -> Option<*mut PyObject> {
    // SAFETY: per the contract.
    unsafe {
        let d = dict(op);
        d.index.get(&key_of(key)).map(|&i| d.entries[i].1.as_ptr())
    }
}

/// Sets `key` to `value` (both borrowed; the dict takes its own references).
///
/// # Safety
/// `op` is a live dict; `key` and `value` are live.
pub unsafe fn set(op: *mut PyObject, key: *mut PyObject, value: *mut PyObject) {
    // SAFETY: per the contract. The replaced value is released after the borrow ends.
    unsafe {
        let k = key_of(key);
        let value = Obj::from_borrowed(value);
        let old = {
            let d = dict(op);
            match d.index.get(&k) {
                Some(&i) => Some(std::mem::replace(&mut d.entries[i].1, value)),
                None => {
                    d.index.insert(k, d.entries.len());
                    d.entries.push((Obj::from_borrowed(key), value));
                    None
                }
            }
        };
        drop(old);
    }
}

/// Removes `key`; false when it was not there.
///
/// # Safety
/// `op` is a live dict and `key` a live object.
pub unsafe fn del(op: *mut PyObject, key: *mut PyObject) -> bool {
    // SAFETY: per the contract. The removed pair is released after the borrow ends.
    unsafe {
        let removed = {
            let d = dict(op);
            let Some(i) = d.index.remove(&key_of(key)) else {
                return false;
            };
            let pair = d.entries.remove(i);
            for v in d.index.values_mut() {
                if *v > i {
                    *v -= 1;
                }
            }
            pair
        };
        drop(removed);
        true
    }
}

/// The entry at position `pos` (borrowed), for `PyDict_Next`.
///
/// # Safety
/// `op` is a live dict.
pub unsafe fn entry_at(op: *mut PyObject, pos: usize) -> Option<(*mut PyObject, *mut PyObject)> {
    // SAFETY: op is a dict.
    unsafe {
        dict(op)
            .entries
            .get(pos)
            .map(|(k, v)| (k.as_ptr(), v.as_ptr()))
    }
}

/// A snapshot of the entries as owned references.
///
/// # Safety
/// `op` is a live dict.
pub unsafe fn items(op: *mut PyObject) -> Vec<(Obj, Obj)> {
    // SAFETY: op is a dict.
    unsafe { dict(op).entries.clone() }
}

unsafe fn drop_dict(op: *mut PyObject) {
    // SAFETY: called once on a dict being freed; entries are released after it is detached.
    unsafe {
        let entries = std::mem::take(&mut dict(op).entries);
        ptr::drop_in_place(op as *mut PyDictObject);
        drop(entries);
    }
}

unsafe fn dict_repr(op: *mut PyObject) -> PyResult<String> {
    let Some(_guard) = super::attr::ReprGuard::enter(op) else {
        return Ok("{...}".to_owned());
    };
    // SAFETY: op is a dict.
    let entries = unsafe { items(op) };
    let mut parts = Vec::with_capacity(entries.len());
    for (k, v) in &entries {
        parts.push(format!(
            "{}: {}",
            super::attr::repr(k.as_ptr())?,
            super::attr::repr(v.as_ptr())?
        ));
    }
    Ok(format!("{{{}}}", parts.join(", ")))
}

unsafe fn dict_is_true(op: *mut PyObject) -> bool {
    // SAFETY: op is a dict.
    unsafe { len(op) > 0 }
}

unsafe fn dict_new(
    _tp: *mut PyTypeObject,
    args: *mut PyObject,
    kw: *mut PyObject,
) -> PyResult<Obj> {
    // SAFETY: args is a tuple; kw NULL or a dict.
    unsafe {
        let d = new();
        match super::tuple::items(args) {
            [] => {}
            [src] if is_dict(*src) => {
                for (k, v) in items(*src) {
                    set(d.as_ptr(), k.as_ptr(), v.as_ptr());
                }
            }
            _ => return Err(PyErr::type_error("dict() takes at most one dict argument")),
        }
        if !kw.is_null() {
            for (k, v) in items(kw) {
                set(d.as_ptr(), k.as_ptr(), v.as_ptr());
            }
        }
        Ok(d)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(d: &Obj) -> Vec<String> {
        // SAFETY: d is a live dict; the snapshot keeps its keys alive while they are read.
        unsafe { items(d.as_ptr()) }
            .iter()
            .map(|(k, _)| {
                // SAFETY: as above.
                unsafe { super::super::attr::repr(k.as_ptr()) }.unwrap()
            })
            .collect()
    }

    fn set_str(d: &Obj, k: &str, v: &Obj) {
        let k = unicode::new(k);
        // SAFETY: all live.
        unsafe { set(d.as_ptr(), k.as_ptr(), v.as_ptr()) }
    }

    fn del_str(d: &Obj, k: &str) -> bool {
        let k = unicode::new(k);
        // SAFETY: all live.
        unsafe { del(d.as_ptr(), k.as_ptr()) }
    }

    fn get_str(d: &Obj, k: &str) -> Option<*mut PyObject> {
        let k = unicode::new(k);
        // SAFETY: all live.
        unsafe { get(d.as_ptr(), k.as_ptr()) }
    }

    #[test]
    fn order_survives_deletion_and_reinsertion() {
        let d = new();
        let v: Vec<Obj> = (0..5).map(long::new).collect();
        for (i, k) in ["a", "b", "c", "d", "e"].iter().enumerate() {
            set_str(&d, k, &v[i]);
        }
        assert!(del_str(&d, "b"));
        assert!(!del_str(&d, "b"));
        assert!(del_str(&d, "a"));
        assert_eq!(keys(&d), ["'c'", "'d'", "'e'"]);
        // The index still points at the right entries after the shifts.
        assert_eq!(get_str(&d, "c"), Some(v[2].as_ptr()));
        assert_eq!(get_str(&d, "e"), Some(v[4].as_ptr()));
        assert_eq!(get_str(&d, "a"), None);
        set_str(&d, "a", &v[0]);
        assert_eq!(keys(&d), ["'c'", "'d'", "'e'", "'a'"]);
        // Replacing a value keeps the key's position.
        set_str(&d, "d", &v[1]);
        assert_eq!(keys(&d), ["'c'", "'d'", "'e'", "'a'"]);
        assert_eq!(get_str(&d, "d"), Some(v[1].as_ptr()));
        assert!(del_str(&d, "e"));
        // SAFETY: d is a live dict.
        unsafe {
            assert_eq!(len(d.as_ptr()), 3);
            let (k, val) = entry_at(d.as_ptr(), 2).unwrap();
            assert_eq!(unicode::as_str(k), "a");
            assert_eq!(val, v[0].as_ptr());
            assert!(entry_at(d.as_ptr(), 3).is_none());
        }
    }

    #[test]
    fn keys_compare_by_value_for_str_and_int_else_by_identity() {
        let d = new();
        let one = long::new(1);
        let x = unicode::new("x");
        // SAFETY: all live.
        unsafe {
            set(d.as_ptr(), one.as_ptr(), x.as_ptr());
            let other_one = long::new(1);
            assert_eq!(get(d.as_ptr(), other_one.as_ptr()), Some(x.as_ptr()));
            assert_eq!(
                get(d.as_ptr(), super::super::singletons::bool_ptr(true)),
                Some(x.as_ptr())
            );
            let t1 = super::super::tuple::empty();
            let t2 = super::super::tuple::empty();
            set(d.as_ptr(), t1.as_ptr(), one.as_ptr());
            assert_eq!(get(d.as_ptr(), t1.as_ptr()), Some(one.as_ptr()));
            assert_eq!(get(d.as_ptr(), t2.as_ptr()), None);
            assert_eq!(len(d.as_ptr()), 2);
        }
    }

    #[test]
    fn the_dict_owns_its_keys_and_values() {
        let d = new();
        let k = unicode::new("k");
        let v = long::new(4242); // not a cached small int: counted
                                 // SAFETY: all live.
        unsafe {
            set(d.as_ptr(), k.as_ptr(), v.as_ptr());
            assert_eq!(super::super::refcnt(k.as_ptr()), 2);
            assert_eq!(super::super::refcnt(v.as_ptr()), 2);
            drop(d);
            assert_eq!(super::super::refcnt(k.as_ptr()), 1);
            assert_eq!(super::super::refcnt(v.as_ptr()), 1);
        }
    }
}
