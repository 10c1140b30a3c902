//! Bombs: exceptions travelling through `tempval`.
//!
//! Stackless delivers an exception to another tasklet by putting a *bomb* (an object holding
//! the exception) where that tasklet will look for its next value: its `tempval`, or the value
//! sent over a channel. When the tasklet resumes and claims the value, the bomb "explodes":
//! the exception is raised there.

use std::ptr;

use crate::error::PyErr;
use crate::object::typeobj::{PyTypeObject, TypeOps};
use crate::object::{Obj, PyObject, PyResult};

/// The layout of a bomb.
#[repr(C)]
pub struct PyBombObject {
    /// Object head.
    pub ob_base: PyObject,
    /// The exception instance it carries.
    exc: Obj,
}

/// `_stackless.bomb`.
pub(crate) static mut BOMB_TYPE: PyTypeObject = PyTypeObject::new_static(
    c"_stackless.bomb",
    ptr::addr_of!(crate::object::typeobj::PyBaseObject_Type) as *mut PyTypeObject,
    std::mem::size_of::<PyBombObject>(),
    0,
    TypeOps {
        drop_fields: Some(drop_bomb),
        repr: Some(bomb_repr),
        ..TypeOps::EMPTY
    },
);

fn bomb_type() -> *mut PyTypeObject {
    ptr::addr_of_mut!(BOMB_TYPE)
}

/// A bomb carrying `e`.
pub fn new(e: PyErr) -> Obj {
    // SAFETY: PyBombObject is the layout of bomb instances.
    unsafe {
        crate::object::alloc_instance(
            bomb_type(),
            PyBombObject {
                ob_base: PyObject::immortal(bomb_type()),
                exc: e.into_value(),
            },
        )
    }
}

/// True when `op` is a bomb.
///
/// # Safety
/// `op` is a live object.
#[inline]
pub unsafe fn is_bomb(op: *mut PyObject) -> bool {
    // SAFETY: op is live.
    unsafe { crate::object::type_of(op) == bomb_type() }
}

/// The exception a bomb carries (the bomb may be shared, so this is a new reference).
pub fn explode(b: &Obj) -> PyErr {
    // SAFETY: b is a bomb.
    PyErr::from_instance(
        unsafe { crate::object::cast::<PyBombObject>(b.as_ptr()) }
            .exc
            .clone(),
    )
}

unsafe fn drop_bomb(op: *mut PyObject) {
    // SAFETY: called once on a bomb being freed.
    unsafe { ptr::drop_in_place(op as *mut PyBombObject) }
}

unsafe fn bomb_repr(op: *mut PyObject) -> PyResult<String> {
    // SAFETY: op is a bomb; its exception is live.
    let inner =
        unsafe { crate::object::attr::repr(crate::object::cast::<PyBombObject>(op).exc.as_ptr())? };
    Ok(format!("<_stackless.bomb {inner}>"))
}
