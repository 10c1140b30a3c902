//! Exports: reference counting, the generic object protocol, types, memory, thread ids.

use std::ffi::{c_char, c_int, c_ulong, c_void};

use super::boundary::{c_str, entry, entry_or, non_null, type_arg, typed};
use crate::error::PyErr;
use crate::object::typeobj::{self, PyTypeObject, PyType_Spec};
use crate::object::{self as obj, attr, unicode, Obj, PyObject};

/// Adds a reference to `o`. NULL is ignored. (Function form of `Py_XINCREF`.)
#[no_mangle]
pub unsafe extern "C" fn Py_IncRef(o: *mut PyObject) {
    // SAFETY: o is NULL or live (C contract).
    unsafe { obj::incref(o) }
}

/// Releases a reference to `o`, freeing it when it was the last. NULL is ignored. (Function
/// form of `Py_XDECREF`.)
#[no_mangle]
pub unsafe extern "C" fn Py_DecRef(o: *mut PyObject) {
    // SAFETY: o is NULL or live and the caller owns the reference.
    let _ = std::panic::catch_unwind(|| unsafe { obj::decref(o) });
}

/// Frees an object whose last reference is being released (its count dropped to zero, or is
/// 1 and that reference is the caller's). Called by the inline `Py_DECREF`; not for direct
/// use.
#[no_mangle]
pub unsafe extern "C" fn _Py_Dealloc(o: *mut PyObject) {
    if o.is_null() {
        return;
    }
    // SAFETY: the count reached zero: nobody else uses the object.
    let _ = std::panic::catch_unwind(|| unsafe { obj::dealloc(o) });
}

/// Returns `repr(o)` as a new reference to a str, or NULL with an exception set. A dict or
/// tuple that contains itself prints as `{...}` / `(...)`, as in CPython; nesting deeper than
/// 64 levels is a `RecursionError` (CPython allows about 1000; the lower limit keeps a tasklet's
/// 64 KiB stack safe).
#[no_mangle]
pub unsafe extern "C" fn PyObject_Repr(o: *mut PyObject) -> *mut PyObject {
    entry(|| {
        let o = non_null(o, "PyObject_Repr", "o")?;
        Ok(unicode::new(&attr::repr(o)?).into_raw())
    })
}

/// Returns `str(o)` as a new reference to a str, or NULL with an exception set (`repr(o)`
/// when its type has no str of its own; the same nesting limit as `PyObject_Repr`).
#[no_mangle]
pub unsafe extern "C" fn PyObject_Str(o: *mut PyObject) -> *mut PyObject {
    entry(|| {
        let o = non_null(o, "PyObject_Str", "o")?;
        Ok(unicode::new(&attr::str(o)?).into_raw())
    })
}

/// Returns 1 if `o` is true, 0 if false, -1 with an exception set on error (e.g. NULL).
#[no_mangle]
pub unsafe extern "C" fn PyObject_IsTrue(o: *mut PyObject) -> c_int {
    entry(|| {
        let o = non_null(o, "PyObject_IsTrue", "o")?;
        Ok(attr::is_true(o)? as c_int)
    })
}

/// Returns 0 if `o` is true, 1 if false, -1 with an exception set on error.
#[no_mangle]
pub unsafe extern "C" fn PyObject_Not(o: *mut PyObject) -> c_int {
    entry(|| {
        let o = non_null(o, "PyObject_Not", "o")?;
        Ok(!attr::is_true(o)? as c_int)
    })
}

/// Returns the attribute `name` of `o` as a new reference, or NULL with an exception set
/// (`AttributeError` when there is no such attribute). A method from a type's method table
/// comes back bound to `o` (a new function object each time). Unlike CPython, looking a method
/// up on the type object itself (unbound) is an `AttributeError`.
#[no_mangle]
pub unsafe extern "C" fn PyObject_GetAttrString(
    o: *mut PyObject,
    name: *const c_char,
) -> *mut PyObject {
    entry(|| {
        let o = non_null(o, "PyObject_GetAttrString", "o")?;
        let name = c_str(name, "PyObject_GetAttrString", "name")?;
        // SAFETY: o is live.
        Ok(unsafe { attr::getattr(o, name)? }.into_raw())
    })
}

/// Sets the attribute `name` of `o` to `v` (borrowed; NULL deletes it). Returns 0, or -1 with
/// an exception set. Objects have no `__dict__` here (unlike CPython's exceptions and heap
/// types): only the attributes a type defines as writable can be set; anything else fails
/// with CPython's message for such an object (read-only attribute, `'T' object has no
/// attribute 'x'`, or `TypeError` for a static type).
#[no_mangle]
pub unsafe extern "C" fn PyObject_SetAttrString(
    o: *mut PyObject,
    name: *const c_char,
    v: *mut PyObject,
) -> c_int {
    entry(|| {
        let o = non_null(o, "PyObject_SetAttrString", "o")?;
        let name = c_str(name, "PyObject_SetAttrString", "name")?;
        // SAFETY: o is live; v is NULL or live.
        unsafe { attr::setattr(o, name, v)? };
        Ok(0)
    })
}

/// Returns 1 if `o` has the attribute `name`, else 0. Never fails: errors (including NULL
/// arguments) count as "no" and are cleared, as in CPython.
#[no_mangle]
pub unsafe extern "C" fn PyObject_HasAttrString(o: *mut PyObject, name: *const c_char) -> c_int {
    entry_or(0, || {
        if o.is_null() || name.is_null() {
            return Ok(0);
        }
        let Ok(name) = c_str(name, "PyObject_HasAttrString", "name") else {
            return Ok(0);
        };
        // SAFETY: o is live.
        Ok(unsafe { attr::getattr(o, name) }.is_ok() as c_int)
    })
}

/// The str `name` argument of the `PyObject_*Attr` functions (CPython's message when it is
/// not a str).
fn name_arg<'a>(name: *mut PyObject, func: &str) -> crate::object::PyResult<&'a str> {
    let name = non_null(name, func, "name")?;
    // SAFETY: name is live (C contract); a str lives for the duration of the call.
    unsafe {
        if !unicode::is_unicode(name) {
            return Err(PyErr::type_error(format!(
                "attribute name must be string, not '{}'",
                typeobj::type_name_of(name)
            )));
        }
        Ok(unicode::as_str(name))
    }
}

/// Returns the attribute named by the str `name` as a new reference, or NULL with an
/// exception set.
#[no_mangle]
pub unsafe extern "C" fn PyObject_GetAttr(o: *mut PyObject, name: *mut PyObject) -> *mut PyObject {
    entry(|| {
        let o = non_null(o, "PyObject_GetAttr", "o")?;
        let name = name_arg(name, "PyObject_GetAttr")?;
        // SAFETY: o is live.
        Ok(unsafe { attr::getattr(o, name)? }.into_raw())
    })
}

/// Sets the attribute named by the str `name` to `v` (borrowed; NULL deletes). Returns 0, or
/// -1 with an exception set.
#[no_mangle]
pub unsafe extern "C" fn PyObject_SetAttr(
    o: *mut PyObject,
    name: *mut PyObject,
    v: *mut PyObject,
) -> c_int {
    entry(|| {
        let o = non_null(o, "PyObject_SetAttr", "o")?;
        let name = name_arg(name, "PyObject_SetAttr")?;
        // SAFETY: o is live; v is NULL or live.
        unsafe { attr::setattr(o, name, v)? };
        Ok(0)
    })
}

/// Returns 1 if `o` has the attribute named by the str `name`, else 0 (never fails).
#[no_mangle]
pub unsafe extern "C" fn PyObject_HasAttr(o: *mut PyObject, name: *mut PyObject) -> c_int {
    entry_or(0, || {
        if o.is_null() || name.is_null() {
            return Ok(0);
        }
        let Ok(name) = name_arg(name, "PyObject_HasAttr") else {
            return Ok(0);
        };
        // SAFETY: o is live.
        Ok(unsafe { attr::getattr(o, name) }.is_ok() as c_int)
    })
}

/// Returns 1 if `a` is `b` or a subtype of it, else 0. Never fails: NULL arguments and
/// objects that are not types also give 0.
#[no_mangle]
pub unsafe extern "C" fn PyType_IsSubtype(a: *mut PyTypeObject, b: *mut PyTypeObject) -> c_int {
    entry_or(0, || {
        if a.is_null() || b.is_null() {
            return Ok(0);
        }
        // SAFETY: a and b are live objects (C contract); only a type's base chain is walked.
        let both_types = unsafe { typeobj::is_type(a.cast()) && typeobj::is_type(b.cast()) };
        Ok((both_types && typeobj::is_subtype(a, b)) as c_int)
    })
}

/// Returns 1 if `o` is an instance of `tp` or of a subtype of it, else 0. Never fails (0 for
/// NULL arguments).
#[no_mangle]
pub unsafe extern "C" fn PyObject_TypeCheck(o: *mut PyObject, tp: *mut PyTypeObject) -> c_int {
    if o.is_null() || tp.is_null() {
        return 0;
    }
    // SAFETY: o is live; only its type's base chain is walked (`tp` is only compared).
    typeobj::is_subtype(unsafe { obj::type_of(o) }, tp) as c_int
}

/// Returns 1 if `o` is a type object, else 0.
#[no_mangle]
pub unsafe extern "C" fn PyType_Check(o: *mut PyObject) -> c_int {
    // SAFETY: o is NULL or live.
    (!o.is_null() && unsafe { typeobj::is_type(o) }) as c_int
}

/// Creates a heap type from `spec` with the given base(s): `bases` is a type, a tuple holding
/// exactly one type, or NULL (then the `Py_tp_base`/`Py_tp_bases` slot, or `object`).
/// A negative `spec->basicsize` adds that many bytes of per-object data, reached with
/// `PyObject_GetTypeData`; this is how to subclass the opaque `PyTasklet_Type` and
/// `PyChannel_Type`. Supported slots: `Py_tp_init`, `Py_tp_call`, `Py_tp_repr`, `Py_tp_str`,
/// `Py_tp_finalize` (cleanup before the object is freed; each level's finalizer runs, most
/// derived first), `Py_tp_methods`, `Py_tp_doc`, `Py_tp_base`, `Py_tp_bases`; any other slot
/// is a `SystemError`. Returns a new reference to the type, or NULL with an exception set.
#[no_mangle]
pub unsafe extern "C" fn PyType_FromSpecWithBases(
    spec: *mut PyType_Spec,
    bases: *mut PyObject,
) -> *mut PyObject {
    // SAFETY: forwarded.
    unsafe { type_from_spec(spec, bases, "PyType_FromSpecWithBases") }
}

unsafe fn type_from_spec(
    spec: *mut PyType_Spec,
    bases: *mut PyObject,
    func: &str,
) -> *mut PyObject {
    entry(|| {
        if spec.is_null() {
            return Err(super::boundary::null_arg(func, "spec"));
        }
        // SAFETY: spec is valid (C contract); bases is NULL or live.
        Ok(unsafe { typeobj::from_spec_for(spec, bases, func)? }.into_raw())
    })
}

/// `PyType_FromSpecWithBases(spec, NULL)`.
#[no_mangle]
pub unsafe extern "C" fn PyType_FromSpec(spec: *mut PyType_Spec) -> *mut PyObject {
    // SAFETY: forwarded.
    unsafe { type_from_spec(spec, std::ptr::null_mut(), "PyType_FromSpec") }
}

/// Returns a pointer to the per-object data that `cls` (a heap type made with a negative
/// basicsize) added to `o`, which must be an instance of `cls` or a subtype. The memory is
/// zero-filled when the object is created, aligned to 16 bytes, and lives as long as `o`.
/// (For a heap type with a positive basicsize it is the part after the base's instance.)
/// Returns NULL with an exception set on bad arguments; unlike CPython, `cls` is checked: a
/// static type is a `TypeError`.
#[no_mangle]
pub unsafe extern "C" fn PyObject_GetTypeData(
    o: *mut PyObject,
    cls: *mut PyTypeObject,
) -> *mut c_void {
    entry(|| {
        let cls = type_arg(cls, "PyObject_GetTypeData", "cls")?;
        if !typeobj::is_heap(cls) {
            return Err(PyErr::type_error(format!(
                "PyObject_GetTypeData: argument 'cls' must be a type made by PyType_FromSpec, not the static type '{}'",
                typeobj::name(cls)
            )));
        }
        let o = typed(o, cls, "PyObject_GetTypeData", "o")?;
        // SAFETY: o is an instance of cls, so its allocation covers cls's data offset.
        Ok(unsafe { (o as *mut u8).offset((*cls).data_offset) }.cast())
    })
}

/// Returns a new reference to a str holding the type's short name (`"tasklet"`,
/// `"TypeError"`; the part after the last dot), as CPython 3.11+ does; NULL with an exception
/// set on bad input.
#[no_mangle]
pub unsafe extern "C" fn PyType_GetName(tp: *mut PyTypeObject) -> *mut PyObject {
    entry(|| {
        let tp = type_arg(tp, "PyType_GetName", "tp")?;
        Ok(unicode::new(typeobj::short_name(tp)).into_raw())
    })
}

/// Returns a new reference to a str holding the type's qualified name (the same as its short
/// name here: there are no nested classes). NULL with an exception set on bad input.
#[no_mangle]
pub unsafe extern "C" fn PyType_GetQualName(tp: *mut PyTypeObject) -> *mut PyObject {
    entry(|| {
        let tp = type_arg(tp, "PyType_GetQualName", "tp")?;
        Ok(unicode::new(typeobj::short_name(tp)).into_raw())
    })
}

/// Returns a new reference to a str holding the type's fully qualified name: `"module.Name"`
/// (`"_stackless.tasklet"`, `"mymod.MyError"`), or the bare name for built-in types
/// (`"TypeError"`), as CPython 3.13. NULL with an exception set on bad input.
#[no_mangle]
pub unsafe extern "C" fn PyType_GetFullyQualifiedName(tp: *mut PyTypeObject) -> *mut PyObject {
    entry(|| {
        let tp = type_arg(tp, "PyType_GetFullyQualifiedName", "tp")?;
        Ok(unicode::new(typeobj::name(tp)).into_raw())
    })
}

/// Returns the type's full name as a C string borrowed from the type (it lives as long as the
/// type): `"_stackless.tasklet"`, `"int"`, `"mod.MyError"` for a class made by
/// `PyErr_NewException("mod.MyError", ...)`. A libstackless extension: `PyTypeObject` is
/// opaque here, so this stands in for CPython's `Py_TYPE(o)->tp_name`, which error messages
/// show. Returns NULL with an exception set when `tp` is not a type.
#[no_mangle]
pub unsafe extern "C" fn PyType_GetTpName(tp: *mut PyTypeObject) -> *const c_char {
    entry(|| {
        let tp = type_arg(tp, "PyType_GetTpName", "tp")?;
        // SAFETY: tp is a live type.
        Ok(unsafe { (*tp).tp_name })
    })
}

/// Returns a new reference to the type of `o` (NULL with an exception set for NULL).
#[no_mangle]
pub unsafe extern "C" fn PyObject_Type(o: *mut PyObject) -> *mut PyObject {
    entry(|| {
        let o = non_null(o, "PyObject_Type", "o")?;
        // SAFETY: o is live; types are live objects.
        Ok(unsafe { Obj::from_borrowed(obj::type_of(o).cast()) }.into_raw())
    })
}

/// Allocates `n` bytes (at least 1) with `malloc`. Returns NULL with `MemoryError` set when
/// memory runs out or `n` exceeds `PY_SSIZE_T_MAX` (unlike CPython, which sets no exception).
/// Free with `PyMem_Free`.
#[no_mangle]
pub unsafe extern "C" fn PyMem_Malloc(n: usize) -> *mut c_void {
    entry(|| {
        // As CPython: sizes beyond PY_SSIZE_T_MAX fail without asking the allocator (which,
        // under a sanitizer, may abort rather than return NULL).
        if n > isize::MAX as usize {
            return Err(PyErr::no_memory());
        }
        // SAFETY: plain malloc.
        let p = unsafe { libc::malloc(n.max(1)) };
        if p.is_null() {
            Err(PyErr::no_memory())
        } else {
            Ok(p)
        }
    })
}

/// Allocates `nelem * elsize` zeroed bytes (at least 1). Returns NULL with `MemoryError` set
/// on overflow, beyond `PY_SSIZE_T_MAX` bytes, or when memory runs out (CPython sets no
/// exception). Free with `PyMem_Free`.
#[no_mangle]
pub unsafe extern "C" fn PyMem_Calloc(nelem: usize, elsize: usize) -> *mut c_void {
    entry(|| {
        let (n, e) = if nelem == 0 || elsize == 0 {
            (1, 1)
        } else {
            (nelem, elsize)
        };
        // As CPython: an overflowing or too large request fails without asking the allocator.
        if n > isize::MAX as usize / e {
            return Err(PyErr::no_memory());
        }
        // SAFETY: plain calloc.
        let p = unsafe { libc::calloc(n, e) };
        if p.is_null() {
            Err(PyErr::no_memory())
        } else {
            Ok(p)
        }
    })
}

/// Frees memory from `PyMem_Malloc`/`PyMem_Calloc`. NULL is ignored.
#[no_mangle]
pub unsafe extern "C" fn PyMem_Free(p: *mut c_void) {
    // SAFETY: p came from PyMem_Malloc/Calloc (C contract) or is NULL.
    unsafe { libc::free(p) }
}

/// Returns the calling OS thread's id: the value used for tasklets' `thread_id`,
/// `PyTasklet_BindThread` and `PyStackless_GetThreadInfo`.
#[no_mangle]
pub extern "C" fn PyThread_get_thread_ident() -> c_ulong {
    super::thread_ident()
}
