//! `tuple`: a fixed-size sequence of references.
//!
//! Invariants: a tuple owns one reference to each non-NULL item. Items are NULL only between
//! `PyTuple_New(n)` and the `PyTuple_SetItem` calls that fill it (CPython's rule); readers
//! treat a NULL item as missing.

use std::ptr;

use super::typeobj::{self, PyTypeObject, TypeOps};
use super::{Obj, PyObject, PyResult};
use crate::error::PyErr;

/// The layout of a `tuple`.
#[repr(C)]
pub struct PyTupleObject {
    /// Object head.
    pub ob_base: PyObject,
    /// Owned references (or NULL while being filled).
    items: Box<[*mut PyObject]>,
}

/// `tuple`.
#[no_mangle]
pub static mut PyTuple_Type: PyTypeObject = PyTypeObject::new_static(
    c"tuple",
    ptr::addr_of!(typeobj::PyBaseObject_Type) as *mut PyTypeObject,
    std::mem::size_of::<PyTupleObject>(),
    0,
    TypeOps {
        drop_fields: Some(drop_tuple),
        repr: Some(tuple_repr),
        is_true: Some(tuple_is_true),
        new: Some(tuple_new),
        ..TypeOps::EMPTY
    },
);

/// `&PyTuple_Type`.
pub fn tuple_type() -> *mut PyTypeObject {
    ptr::addr_of_mut!(PyTuple_Type)
}

/// A tuple of `n` NULL slots, to be filled with [`set_item`]; `MemoryError` when that many
/// slots cannot be allocated.
pub fn new_empty_slots(n: usize) -> PyResult<Obj> {
    let mut items = Vec::new();
    items.try_reserve_exact(n).map_err(|_| PyErr::no_memory())?;
    items.resize(n, ptr::null_mut());
    // SAFETY: PyTupleObject is the layout of tuple instances.
    Ok(unsafe {
        super::alloc_instance(
            tuple_type(),
            PyTupleObject {
                ob_base: PyObject::immortal(tuple_type()),
                items: items.into_boxed_slice(),
            },
        )
    })
}

/// A tuple owning the given references.
pub fn from_vec(v: Vec<Obj>) -> Obj {
    let items: Box<[*mut PyObject]> = v.into_iter().map(Obj::into_raw).collect();
    // SAFETY: PyTupleObject is the layout of tuple instances; the items are owned.
    unsafe {
        super::alloc_instance(
            tuple_type(),
            PyTupleObject {
                ob_base: PyObject::immortal(tuple_type()),
                items,
            },
        )
    }
}

/// `()`.
pub fn empty() -> Obj {
    from_vec(Vec::new())
}

/// True when `op` is a tuple.
///
/// # Safety
/// `op` is a live object.
pub unsafe fn is_tuple(op: *mut PyObject) -> bool {
    // SAFETY: op is live.
    typeobj::is_subtype(unsafe { super::type_of(op) }, tuple_type())
}

/// The items (borrowed; NULL for unfilled slots).
///
/// # Safety
/// `op` is a live tuple, and the slice is not used after it dies or is modified.
pub unsafe fn items<'a>(op: *mut PyObject) -> &'a [*mut PyObject] {
    // SAFETY: op is a tuple.
    unsafe { &super::cast::<PyTupleObject>(op).items }
}

/// Stores `item` (an owned reference, may be NULL) at `i`, releasing what was there.
///
/// # Safety
/// `op` is a live tuple that nobody else is reading; `i` is in range.
pub unsafe fn set_item(op: *mut PyObject, i: usize, item: *mut PyObject) {
    // SAFETY: per the contract; the old item is released after the slot is updated.
    unsafe {
        let t = super::cast_mut::<PyTupleObject>(op);
        let old = std::mem::replace(&mut t.items[i], item);
        super::decref(old);
    }
}

/// The items as owned references (NULL slots are an error).
///
/// # Safety
/// `op` is a live tuple.
pub unsafe fn to_vec(op: *mut PyObject) -> PyResult<Vec<Obj>> {
    // SAFETY: op is a tuple; non-NULL items are live.
    unsafe {
        items(op)
            .iter()
            .map(|&p| {
                if p.is_null() {
                    Err(PyErr::system_error("tuple item is NULL (tuple not filled)"))
                } else {
                    Ok(Obj::from_borrowed(p))
                }
            })
            .collect()
    }
}

unsafe fn drop_tuple(op: *mut PyObject) {
    // SAFETY: called once on a tuple being freed; it owns its items.
    unsafe {
        let t = super::cast_mut::<PyTupleObject>(op);
        let items = std::mem::take(&mut t.items);
        ptr::drop_in_place(op as *mut PyTupleObject);
        for p in items.iter() {
            super::decref(*p);
        }
    }
}

unsafe fn tuple_repr(op: *mut PyObject) -> PyResult<String> {
    let Some(_guard) = super::attr::ReprGuard::enter(op) else {
        return Ok("(...)".to_owned());
    };
    // SAFETY: op is a tuple.
    let items = unsafe { items(op) };
    let mut parts = Vec::with_capacity(items.len());
    for &p in items {
        parts.push(if p.is_null() {
            "<NULL>".to_owned()
        } else {
            super::attr::repr(p)?
        });
    }
    Ok(if parts.len() == 1 {
        format!("({},)", parts[0])
    } else {
        format!("({})", parts.join(", "))
    })
}

unsafe fn tuple_is_true(op: *mut PyObject) -> bool {
    // SAFETY: op is a tuple.
    unsafe { !items(op).is_empty() }
}

unsafe fn tuple_new(
    _tp: *mut PyTypeObject,
    args: *mut PyObject,
    _kw: *mut PyObject,
) -> PyResult<Obj> {
    // SAFETY: args is a tuple.
    match unsafe { items(args) } {
        [] => Ok(empty()),
        // SAFETY: x is live.
        [x] if unsafe { is_tuple(*x) } => Ok(unsafe { Obj::from_borrowed(*x) }),
        [_] => Err(PyErr::type_error("tuple() argument must be a tuple")),
        _ => Err(PyErr::type_error("tuple expected at most 1 argument")),
    }
}
