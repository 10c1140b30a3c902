//! `PyCapsule`: an opaque C pointer with an optional name, context and destructor.
//!
//! Invariant: the destructor runs exactly once, when the last reference goes (from the
//! capsule's field destructor, while the capsule is still intact).

use std::ffi::{c_char, c_void, CStr};
use std::ptr;

use super::typeobj::{self, PyTypeObject, TypeOps};
use super::{PyObject, PyResult};

/// `PyCapsule_Destructor`.
pub type PyCapsule_Destructor = Option<unsafe extern "C" fn(*mut PyObject)>;

/// The layout of a capsule.
#[repr(C)]
pub struct PyCapsule {
    /// Object head.
    pub ob_base: PyObject,
    /// The wrapped pointer (never NULL).
    pub pointer: *mut c_void,
    /// The name (not copied: it must outlive the capsule, as in CPython), or NULL.
    pub name: *const c_char,
    /// The context pointer.
    pub context: *mut c_void,
    /// Called with the capsule when it dies.
    pub destructor: PyCapsule_Destructor,
}

/// `PyCapsule_Type`.
#[no_mangle]
pub static mut PyCapsule_Type: PyTypeObject = PyTypeObject::new_static(
    c"PyCapsule",
    ptr::addr_of!(typeobj::PyBaseObject_Type) as *mut PyTypeObject,
    std::mem::size_of::<PyCapsule>(),
    0,
    TypeOps {
        drop_fields: Some(drop_capsule),
        repr: Some(capsule_repr),
        ..TypeOps::EMPTY
    },
);

/// `&PyCapsule_Type`.
pub fn capsule_type() -> *mut PyTypeObject {
    ptr::addr_of_mut!(PyCapsule_Type)
}

/// True when `op` is exactly a capsule.
///
/// # Safety
/// `op` is a live object.
pub unsafe fn is_capsule(op: *mut PyObject) -> bool {
    // SAFETY: op is live.
    unsafe { super::type_of(op) == capsule_type() }
}

/// The capsule's fields.
///
/// # Safety
/// `op` is a live capsule; no other reference to its fields is live.
pub unsafe fn fields<'a>(op: *mut PyObject) -> &'a mut PyCapsule {
    // SAFETY: per the contract.
    unsafe { super::cast_mut::<PyCapsule>(op) }
}

/// CPython's name comparison: both NULL, or equal strings.
///
/// # Safety
/// Both are NULL or NUL-terminated strings.
pub unsafe fn names_match(a: *const c_char, b: *const c_char) -> bool {
    match (a.is_null(), b.is_null()) {
        (true, true) => true,
        // SAFETY: both are valid C strings.
        (false, false) => unsafe { CStr::from_ptr(a) == CStr::from_ptr(b) },
        _ => false,
    }
}

unsafe fn drop_capsule(op: *mut PyObject) {
    // SAFETY: called once on a capsule being freed; the object is still intact.
    unsafe {
        if let Some(d) = fields(op).destructor.take() {
            d(op);
        }
    }
}

unsafe fn capsule_repr(op: *mut PyObject) -> PyResult<String> {
    // SAFETY: op is a capsule; its name is NULL or a C string.
    let name = unsafe {
        let n = fields(op).name;
        if n.is_null() {
            "NULL".to_owned()
        } else {
            format!("\"{}\"", CStr::from_ptr(n).to_string_lossy())
        }
    };
    Ok(format!("<capsule object {name} at {op:p}>"))
}
