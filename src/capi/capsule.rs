//! Exports: `PyCapsule`.

use std::ffi::{c_char, c_int, c_void};

use super::boundary::{entry, entry_or, non_null};
use crate::error::PyErr;
use crate::object::capsule::{self, capsule_type, PyCapsule, PyCapsule_Destructor};
use crate::object::{self as obj, PyObject};

fn capsule_arg<'a>(c: *mut PyObject, func: &str) -> crate::object::PyResult<&'a mut PyCapsule> {
    let c = non_null(c, func, "capsule")?;
    // SAFETY: c is live.
    if unsafe { capsule::is_capsule(c) } {
        // SAFETY: c is a capsule.
        Ok(unsafe { capsule::fields(c) })
    } else {
        // SAFETY: c is live.
        Err(super::boundary::wrong_type(
            func,
            "capsule",
            "PyCapsule",
            unsafe { obj::type_of(c) },
        ))
    }
}

/// Returns a new reference to a capsule wrapping `pointer` (must not be NULL). `name` (may be
/// NULL) is not copied and must outlive the capsule. `destructor` (may be NULL) is called
/// with the capsule exactly once, when its last reference goes. Returns NULL with an
/// exception set on error.
#[no_mangle]
pub unsafe extern "C" fn PyCapsule_New(
    pointer: *mut c_void,
    name: *const c_char,
    destructor: PyCapsule_Destructor,
) -> *mut PyObject {
    entry(|| {
        if pointer.is_null() {
            return Err(PyErr::value_error("PyCapsule_New called with null pointer"));
        }
        // SAFETY: PyCapsule is the layout of capsule instances.
        Ok(unsafe {
            obj::alloc_instance(
                capsule_type(),
                PyCapsule {
                    ob_base: PyObject::immortal(capsule_type()),
                    pointer,
                    name,
                    context: std::ptr::null_mut(),
                    destructor,
                },
            )
        }
        .into_raw())
    })
}

fn checked<'a>(
    c: *mut PyObject,
    name: *const c_char,
    func: &str,
) -> crate::object::PyResult<&'a mut PyCapsule> {
    let cap = capsule_arg(c, func)?;
    // SAFETY: both names are NULL or C strings.
    if unsafe { capsule::names_match(cap.name, name) } {
        Ok(cap)
    } else {
        Err(PyErr::value_error(format!(
            "{func} called with incorrect name"
        )))
    }
}

/// Returns the pointer stored in the capsule. `name` must match the capsule's name (both
/// NULL, or equal strings). Returns NULL with an exception set on error.
#[no_mangle]
pub unsafe extern "C" fn PyCapsule_GetPointer(
    capsule: *mut PyObject,
    name: *const c_char,
) -> *mut c_void {
    entry(|| Ok(checked(capsule, name, "PyCapsule_GetPointer")?.pointer))
}

/// Returns the capsule's name (borrowed; may be NULL without an error), or NULL with an
/// exception set when `capsule` is not a capsule.
#[no_mangle]
pub unsafe extern "C" fn PyCapsule_GetName(capsule: *mut PyObject) -> *const c_char {
    entry(|| Ok(capsule_arg(capsule, "PyCapsule_GetName")?.name))
}

/// Returns the capsule's context pointer (may be NULL without an error), or NULL with an
/// exception set when `capsule` is not a capsule.
#[no_mangle]
pub unsafe extern "C" fn PyCapsule_GetContext(capsule: *mut PyObject) -> *mut c_void {
    entry(|| Ok(capsule_arg(capsule, "PyCapsule_GetContext")?.context))
}

/// Returns the capsule's destructor (may be NULL), or NULL with an exception set when
/// `capsule` is not a capsule.
#[no_mangle]
pub unsafe extern "C" fn PyCapsule_GetDestructor(capsule: *mut PyObject) -> PyCapsule_Destructor {
    entry_or(None, || {
        Ok(capsule_arg(capsule, "PyCapsule_GetDestructor")?.destructor)
    })
}

/// Replaces the pointer (must not be NULL). Returns 0, or -1 with an exception set.
#[no_mangle]
pub unsafe extern "C" fn PyCapsule_SetPointer(
    capsule: *mut PyObject,
    pointer: *mut c_void,
) -> c_int {
    entry(|| {
        let c = capsule_arg(capsule, "PyCapsule_SetPointer")?;
        if pointer.is_null() {
            return Err(PyErr::value_error(
                "PyCapsule_SetPointer called with null pointer",
            ));
        }
        c.pointer = pointer;
        Ok(0)
    })
}

/// Replaces the name (not copied; may be NULL). Returns 0, or -1 with an exception set.
#[no_mangle]
pub unsafe extern "C" fn PyCapsule_SetName(capsule: *mut PyObject, name: *const c_char) -> c_int {
    entry(|| {
        capsule_arg(capsule, "PyCapsule_SetName")?.name = name;
        Ok(0)
    })
}

/// Replaces the context pointer (may be NULL). Returns 0, or -1 with an exception set.
#[no_mangle]
pub unsafe extern "C" fn PyCapsule_SetContext(
    capsule: *mut PyObject,
    context: *mut c_void,
) -> c_int {
    entry(|| {
        capsule_arg(capsule, "PyCapsule_SetContext")?.context = context;
        Ok(0)
    })
}

/// Replaces the destructor (may be NULL). Returns 0, or -1 with an exception set.
#[no_mangle]
pub unsafe extern "C" fn PyCapsule_SetDestructor(
    capsule: *mut PyObject,
    destructor: PyCapsule_Destructor,
) -> c_int {
    entry(|| {
        capsule_arg(capsule, "PyCapsule_SetDestructor")?.destructor = destructor;
        Ok(0)
    })
}

/// Returns 1 if `capsule` is a capsule whose name matches `name`, else 0. Never fails.
#[no_mangle]
pub unsafe extern "C" fn PyCapsule_IsValid(capsule: *mut PyObject, name: *const c_char) -> c_int {
    entry_or(0, || {
        Ok(checked(capsule, name, "PyCapsule_IsValid").is_ok() as c_int)
    })
}

/// Returns 1 if `o` is a capsule, else 0.
#[no_mangle]
pub unsafe extern "C" fn PyCapsule_CheckExact(o: *mut PyObject) -> c_int {
    // SAFETY: o is NULL or live.
    (!o.is_null() && unsafe { capsule::is_capsule(o) }) as c_int
}
