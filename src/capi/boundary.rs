//! The panic and error boundary of every `extern "C"` entry (STYLE rules 3 and 4).
//!
//! [`entry`] runs a core closure returning `PyResult<T>`: `Ok` passes through, `Err` is stored
//! in the thread's error indicator and the function's failure value (`-1`, `NULL`, ...) is
//! returned, and a Rust panic becomes a `SystemError` instead of aborting the process.
//! The argument helpers turn NULL or wrongly typed pointers into clear exceptions that name
//! the function and the argument.

use std::ffi::{c_char, c_int, c_long, c_ulong, CStr};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Once;

use crate::error::PyErr;
use crate::object::typeobj::{self, PyTypeObject};
use crate::object::{PyObject, PyResult};
use crate::thread_state;

/// The value a C function returns when it fails.
pub trait Fail {
    /// The failure value.
    fn fail() -> Self;
}

impl Fail for c_int {
    fn fail() -> Self {
        -1
    }
}
impl Fail for c_long {
    fn fail() -> Self {
        -1
    }
}
impl Fail for isize {
    fn fail() -> Self {
        -1
    }
}
impl Fail for c_ulong {
    fn fail() -> Self {
        c_ulong::MAX
    }
}
impl Fail for () {
    fn fail() -> Self {}
}
impl<T> Fail for *mut T {
    fn fail() -> Self {
        std::ptr::null_mut()
    }
}
impl<T> Fail for *const T {
    fn fail() -> Self {
        std::ptr::null()
    }
}

/// Runs the body of a C entry point. See the module docs.
#[inline]
pub fn entry<T: Fail>(body: impl FnOnce() -> PyResult<T>) -> T {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(v)) => v,
        Ok(Err(e)) => {
            e.restore();
            T::fail()
        }
        Err(payload) => {
            report_panic(payload);
            T::fail()
        }
    }
}

/// Like [`entry`] for functions that cannot report failure through their return value: the
/// exception is left set and `fallback` is returned.
#[inline]
pub fn entry_or<T>(fallback: T, body: impl FnOnce() -> PyResult<T>) -> T {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(v)) => v,
        Ok(Err(e)) => {
            e.restore();
            fallback
        }
        Err(payload) => {
            report_panic(payload);
            fallback
        }
    }
}

#[cold]
fn report_panic(payload: Box<dyn std::any::Any + Send>) {
    panic_error(payload).restore();
}

/// Turns a caught panic payload into a `SystemError` naming where it happened.
#[cold]
pub fn panic_error(payload: Box<dyn std::any::Any + Send>) -> PyErr {
    let msg = payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".to_owned());
    let location = thread_state::current().panic_location.take();
    let at = location.map(|l| format!(" at {l}")).unwrap_or_default();
    // Dropping the payload could itself panic in theory; leak it instead.
    std::mem::forget(payload);
    PyErr::system_error(format!(
        "libstackless internal error (Rust panic{at}): {msg}"
    ))
}

/// Runs when the library is loaded (or, statically linked, when the program starts), so the
/// quiet panic hook is in place before the first call.
#[used]
#[link_section = ".init_array"]
static INSTALL_PANIC_HOOK_AT_LOAD: extern "C" fn() = {
    extern "C" fn at_load() {
        install_panic_hook();
    }
    at_load
};

/// Replaces the default panic hook, which would print to stderr (the library never prints
/// unless asked), with one that records where the panic happened for the SystemError.
pub fn install_panic_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        std::panic::set_hook(Box::new(|info| {
            if let Some(loc) = info.location() {
                let at = format!("{}:{}", loc.file(), loc.line());
                thread_state::current().panic_location.set(Some(at));
            }
        }));
    });
}

/// Rejects NULL.
#[inline]
pub fn non_null(p: *mut PyObject, func: &str, arg: &str) -> PyResult<*mut PyObject> {
    if p.is_null() {
        Err(null_arg(func, arg))
    } else {
        Ok(p)
    }
}

/// The SystemError for a NULL argument.
#[cold]
pub fn null_arg(func: &str, arg: &str) -> PyErr {
    PyErr::system_error(format!("{func}: argument '{arg}' must not be NULL"))
}

/// Rejects NULL and objects that are not instances of `tp` (or a subtype).
#[inline]
pub fn typed(
    p: *mut PyObject,
    tp: *mut PyTypeObject,
    func: &str,
    arg: &str,
) -> PyResult<*mut PyObject> {
    let p = non_null(p, func, arg)?;
    // SAFETY: p is non-NULL and, by the C contract, a live object.
    let actual = unsafe { crate::object::type_of(p) };
    if typeobj::is_subtype(actual, tp) {
        Ok(p)
    } else {
        Err(wrong_type(func, arg, typeobj::name(tp), actual))
    }
}

/// The TypeError for an argument of the wrong type.
#[cold]
pub fn wrong_type(func: &str, arg: &str, expected: &str, actual: *mut PyTypeObject) -> PyErr {
    PyErr::type_error(format!(
        "{func}: argument '{arg}' must be {expected}, not {}",
        typeobj::name(actual)
    ))
}

/// A NUL-terminated UTF-8 argument as `&str`.
///
/// # Safety
/// `p` is NULL or a NUL-terminated string that outlives the result.
#[inline]
pub unsafe fn c_str<'a>(p: *const c_char, func: &str, arg: &str) -> PyResult<&'a str> {
    if p.is_null() {
        return Err(null_arg(func, arg));
    }
    // SAFETY: p is a NUL-terminated string by the C contract.
    unsafe { CStr::from_ptr(p) }
        .to_str()
        .map_err(|_| PyErr::value_error(format!("{func}: argument '{arg}' is not valid UTF-8")))
}

/// A type-object argument.
#[inline]
pub fn type_arg(p: *mut PyTypeObject, func: &str, arg: &str) -> PyResult<*mut PyTypeObject> {
    let p = non_null(p.cast(), func, arg)?;
    // SAFETY: p is a live object by the C contract.
    if unsafe { typeobj::is_type(p) } {
        Ok(p.cast())
    } else {
        // SAFETY: as above.
        Err(wrong_type(func, arg, "type", unsafe {
            crate::object::type_of(p)
        }))
    }
}
