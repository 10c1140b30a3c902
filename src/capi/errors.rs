//! Exports: the error indicator, exception objects and the `PyExc_*` classes.

use std::ffi::{c_char, c_int};
use std::ptr::{self, addr_of_mut};

use super::boundary::{c_str, entry, entry_or, non_null};
use crate::error::PyErr;
use crate::object::exception::{self as exc, *};
use crate::object::{self as obj, attr, tuple, typeobj, Obj, PyObject, PyResult};
use crate::thread_state;

/// The `BaseException` exception class (a borrowed reference to an immortal class).
#[no_mangle]
pub static mut PyExc_BaseException: *mut PyObject = addr_of_mut!(BASE_EXCEPTION) as *mut PyObject;
/// The `Exception` exception class (a borrowed reference to an immortal class).
#[no_mangle]
pub static mut PyExc_Exception: *mut PyObject = addr_of_mut!(EXCEPTION) as *mut PyObject;
/// The `SystemExit` exception class (a borrowed reference to an immortal class).
#[no_mangle]
pub static mut PyExc_SystemExit: *mut PyObject = addr_of_mut!(SYSTEM_EXIT) as *mut PyObject;
/// Raised inside a tasklet to kill it; a subclass of `SystemExit`. A tasklet ending with it ends silently.
#[no_mangle]
pub static mut PyExc_TaskletExit: *mut PyObject = addr_of_mut!(TASKLET_EXIT) as *mut PyObject;
/// The `KeyboardInterrupt` exception class (a borrowed reference to an immortal class).
#[no_mangle]
pub static mut PyExc_KeyboardInterrupt: *mut PyObject =
    addr_of_mut!(KEYBOARD_INTERRUPT) as *mut PyObject;
/// The `StopIteration` exception class (a borrowed reference to an immortal class).
#[no_mangle]
pub static mut PyExc_StopIteration: *mut PyObject = addr_of_mut!(STOP_ITERATION) as *mut PyObject;
/// The `ArithmeticError` exception class (a borrowed reference to an immortal class).
#[no_mangle]
pub static mut PyExc_ArithmeticError: *mut PyObject =
    addr_of_mut!(ARITHMETIC_ERROR) as *mut PyObject;
/// The `OverflowError` exception class (a borrowed reference to an immortal class).
#[no_mangle]
pub static mut PyExc_OverflowError: *mut PyObject = addr_of_mut!(OVERFLOW_ERROR) as *mut PyObject;
/// The `ZeroDivisionError` exception class (a borrowed reference to an immortal class).
#[no_mangle]
pub static mut PyExc_ZeroDivisionError: *mut PyObject =
    addr_of_mut!(ZERO_DIVISION_ERROR) as *mut PyObject;
/// The `AttributeError` exception class (a borrowed reference to an immortal class).
#[no_mangle]
pub static mut PyExc_AttributeError: *mut PyObject = addr_of_mut!(ATTRIBUTE_ERROR) as *mut PyObject;
/// The `LookupError` exception class (a borrowed reference to an immortal class).
#[no_mangle]
pub static mut PyExc_LookupError: *mut PyObject = addr_of_mut!(LOOKUP_ERROR) as *mut PyObject;
/// The `IndexError` exception class (a borrowed reference to an immortal class).
#[no_mangle]
pub static mut PyExc_IndexError: *mut PyObject = addr_of_mut!(INDEX_ERROR) as *mut PyObject;
/// The `KeyError` exception class (a borrowed reference to an immortal class).
#[no_mangle]
pub static mut PyExc_KeyError: *mut PyObject = addr_of_mut!(KEY_ERROR) as *mut PyObject;
/// The `MemoryError` exception class (a borrowed reference to an immortal class).
#[no_mangle]
pub static mut PyExc_MemoryError: *mut PyObject = addr_of_mut!(MEMORY_ERROR) as *mut PyObject;
/// The `RuntimeError` exception class (a borrowed reference to an immortal class).
#[no_mangle]
pub static mut PyExc_RuntimeError: *mut PyObject = addr_of_mut!(RUNTIME_ERROR) as *mut PyObject;
/// The `RecursionError` exception class (a borrowed reference to an immortal class).
#[no_mangle]
pub static mut PyExc_RecursionError: *mut PyObject = addr_of_mut!(RECURSION_ERROR) as *mut PyObject;
/// The `NotImplementedError` exception class (a borrowed reference to an immortal class).
#[no_mangle]
pub static mut PyExc_NotImplementedError: *mut PyObject =
    addr_of_mut!(NOT_IMPLEMENTED_ERROR) as *mut PyObject;
/// The `SystemError` exception class (a borrowed reference to an immortal class).
#[no_mangle]
pub static mut PyExc_SystemError: *mut PyObject = addr_of_mut!(SYSTEM_ERROR) as *mut PyObject;
/// The `TypeError` exception class (a borrowed reference to an immortal class).
#[no_mangle]
pub static mut PyExc_TypeError: *mut PyObject = addr_of_mut!(TYPE_ERROR) as *mut PyObject;
/// The `ValueError` exception class (a borrowed reference to an immortal class).
#[no_mangle]
pub static mut PyExc_ValueError: *mut PyObject = addr_of_mut!(VALUE_ERROR) as *mut PyObject;
/// The `Warning` exception class (a borrowed reference to an immortal class).
#[no_mangle]
pub static mut PyExc_Warning: *mut PyObject = addr_of_mut!(WARNING) as *mut PyObject;
/// The `UserWarning` exception class (a borrowed reference to an immortal class).
#[no_mangle]
pub static mut PyExc_UserWarning: *mut PyObject = addr_of_mut!(USER_WARNING) as *mut PyObject;

/// Checks that `t` is an exception class.
fn exc_class_arg(t: *mut PyObject, func: &str) -> PyResult<*mut typeobj::PyTypeObject> {
    let t = non_null(t, func, "type")?;
    // SAFETY: t is live.
    if unsafe { exc::is_class_object(t) } {
        Ok(t.cast())
    } else {
        Err(PyErr::system_error(format!(
            "{func}: exception {} is not a BaseException subclass",
            // SAFETY: t is live.
            unsafe { attr::repr(t) }.unwrap_or_else(|_| "?".into())
        )))
    }
}

/// Builds the normalized exception for `type(value)` (CPython's `PyErr_SetObject` rules):
/// `value` NULL/None gives no args, an instance of `type` is used as is, a tuple is unpacked
/// into the arguments, anything else becomes the single argument.
fn normalize(t: *mut typeobj::PyTypeObject, value: *mut PyObject) -> PyResult<Obj> {
    // SAFETY: value is NULL or live.
    unsafe {
        if value.is_null() || value == obj::singletons::none() {
            return Ok(PyErr::from_type_args(t, tuple::empty()).into_value());
        }
        if typeobj::is_subtype(obj::type_of(value), t) {
            return Ok(Obj::from_borrowed(value));
        }
        let args = if tuple::is_tuple(value) {
            Obj::from_borrowed(value)
        } else {
            tuple::from_vec(vec![Obj::from_borrowed(value)])
        };
        exc::instantiate(t, args)
    }
}

/// Sets the error indicator to `type(message)`, with `message` a UTF-8 C string. Replaces any
/// pending exception. Bad arguments set a `SystemError` instead.
#[no_mangle]
pub unsafe extern "C" fn PyErr_SetString(type_: *mut PyObject, message: *const c_char) {
    entry_or((), || {
        let t = exc_class_arg(type_, "PyErr_SetString")?;
        let msg = c_str(message, "PyErr_SetString", "message")?;
        PyErr::new(t, msg).restore();
        Ok(())
    })
}

/// Sets the error indicator to `type` with `value` (borrowed): an instance of `type` is
/// raised as is, a tuple gives the constructor arguments, NULL gives none, anything else is
/// the single argument. Replaces any pending exception.
#[no_mangle]
pub unsafe extern "C" fn PyErr_SetObject(type_: *mut PyObject, value: *mut PyObject) {
    set_object(type_, value, "PyErr_SetObject")
}

fn set_object(type_: *mut PyObject, value: *mut PyObject, func: &str) {
    entry_or((), || {
        let t = exc_class_arg(type_, func)?;
        PyErr::from_instance(normalize(t, value)?).restore();
        Ok(())
    })
}

/// `PyErr_SetObject(type, NULL)`.
#[no_mangle]
pub unsafe extern "C" fn PyErr_SetNone(type_: *mut PyObject) {
    set_object(type_, ptr::null_mut(), "PyErr_SetNone")
}

/// Returns the type of the pending exception as a **borrowed** reference, or NULL when no
/// exception is pending. Never sets an exception.
#[no_mangle]
pub extern "C" fn PyErr_Occurred() -> *mut PyObject {
    let p = thread_state::peek_curexc();
    if p.is_null() {
        p
    } else {
        // SAFETY: p is the live pending exception.
        unsafe { obj::type_of(p).cast() }
    }
}

/// Clears the error indicator.
#[no_mangle]
pub extern "C" fn PyErr_Clear() {
    let _ = std::panic::catch_unwind(|| drop(PyErr::fetch()));
}

/// Moves the pending exception out of the indicator (clearing it) as three **new**
/// references: its type, its (normalized) instance and its traceback (NULL when none). With
/// no exception pending all three are NULL. If any pointer argument is NULL nothing is
/// fetched and a `SystemError` is set instead (with the pending exception as its context).
#[no_mangle]
pub unsafe extern "C" fn PyErr_Fetch(
    ptype: *mut *mut PyObject,
    pvalue: *mut *mut PyObject,
    ptraceback: *mut *mut PyObject,
) {
    entry_or((), || {
        let null = [
            (ptype, "ptype"),
            (pvalue, "pvalue"),
            (ptraceback, "ptraceback"),
        ]
        .into_iter()
        .find(|(p, _)| p.is_null());
        if let Some((_, arg)) = null {
            let e = super::boundary::null_arg("PyErr_Fetch", arg);
            if let Some(old) = PyErr::fetch() {
                // SAFETY: e is an exception instance.
                unsafe { exc::fields(e.value().as_ptr()).context = Some(old.into_value()) };
            }
            return Err(e);
        }
        // SAFETY: the outputs are writable (C contract).
        unsafe {
            match PyErr::fetch() {
                None => {
                    *ptype = ptr::null_mut();
                    *pvalue = ptr::null_mut();
                    *ptraceback = ptr::null_mut();
                }
                Some(e) => {
                    let v = e.into_value();
                    *ptype = Obj::from_borrowed(v.type_ptr().cast()).into_raw();
                    *ptraceback = exc::fields(v.as_ptr())
                        .traceback
                        .clone()
                        .map_or(ptr::null_mut(), Obj::into_raw);
                    *pvalue = v.into_raw();
                }
            }
        }
        Ok(())
    })
}

/// Sets the error indicator from a (type, value, traceback) triple, **stealing** all three
/// references (any may be NULL), even when it fails. `type` NULL clears the indicator. `value`
/// is normalized as in `PyErr_SetObject`; the traceback (NULL or `None` for none) becomes the
/// exception's `__traceback__` (tracebacks are opaque objects here: any object is kept as is).
/// A `type` that is not an exception class sets a `SystemError` instead. Replaces any pending
/// exception.
#[no_mangle]
pub unsafe extern "C" fn PyErr_Restore(
    type_: *mut PyObject,
    value: *mut PyObject,
    traceback: *mut PyObject,
) {
    entry_or((), || {
        // SAFETY: we own the three references (stolen).
        let (t, v, tb) = unsafe {
            (
                Obj::from_owned(type_),
                Obj::from_owned(value),
                Obj::from_owned(traceback),
            )
        };
        let Some(t) = t else {
            drop(PyErr::fetch());
            return Ok(());
        };
        let class = exc_class_arg(t.as_ptr(), "PyErr_Restore")?;
        let inst = normalize(class, v.as_ref().map_or(ptr::null_mut(), Obj::as_ptr))?;
        let tb = tb.filter(|tb| tb.as_ptr() != obj::singletons::none());
        // SAFETY: inst is an exception instance; the old traceback is released after the store.
        let old = std::mem::replace(unsafe { &mut exc::fields(inst.as_ptr()).traceback }, tb);
        drop(old);
        PyErr::from_instance(inst).restore();
        Ok(())
    })
}

/// Normalizes a fetched triple in place: afterwards `*pvalue` is an instance of `*ptype` and
/// `*ptype` is its class. The references are owned by the caller before and after; the
/// traceback is left as it is (`ptraceback` may be NULL). When normalizing fails the pair is
/// replaced by the error that occurred (and no exception is left set). NULL `ptype` or `pvalue`
/// sets a `SystemError`.
#[no_mangle]
pub unsafe extern "C" fn PyErr_NormalizeException(
    ptype: *mut *mut PyObject,
    pvalue: *mut *mut PyObject,
    ptraceback: *mut *mut PyObject,
) {
    entry_or((), || {
        if ptype.is_null() {
            return Err(super::boundary::null_arg(
                "PyErr_NormalizeException",
                "ptype",
            ));
        }
        if pvalue.is_null() {
            return Err(super::boundary::null_arg(
                "PyErr_NormalizeException",
                "pvalue",
            ));
        }
        // The traceback is not touched (NULL is accepted).
        let _ = ptraceback;
        // SAFETY: the pointers are valid; the caller owns the references they hold.
        unsafe {
            if (*ptype).is_null() {
                return Ok(());
            }
            let result = exc_class_arg(*ptype, "PyErr_NormalizeException")
                .and_then(|t| normalize(t, *pvalue));
            let inst = match result {
                Ok(inst) => inst,
                Err(e) => e.into_value(),
            };
            obj::decref(*ptype);
            obj::decref(*pvalue);
            *ptype = Obj::from_borrowed(inst.type_ptr().cast()).into_raw();
            *pvalue = inst.into_raw();
        }
        Ok(())
    })
}

/// Takes the pending exception instance out of the indicator (clearing it) as a **new**
/// reference, or returns NULL when none is pending.
#[no_mangle]
pub extern "C" fn PyErr_GetRaisedException() -> *mut PyObject {
    PyErr::fetch().map_or(ptr::null_mut(), |e| e.into_value().into_raw())
}

/// Sets the pending exception to the instance `exc`, **stealing** the reference. NULL clears
/// the indicator; a non-exception sets a `SystemError` instead.
#[no_mangle]
pub unsafe extern "C" fn PyErr_SetRaisedException(exc_: *mut PyObject) {
    entry_or((), || {
        // SAFETY: the reference is stolen.
        let Some(e) = (unsafe { Obj::from_owned(exc_) }) else {
            drop(PyErr::fetch());
            return Ok(());
        };
        // SAFETY: e is live.
        if !unsafe { exc::is_instance(e.as_ptr()) } {
            return Err(PyErr::system_error(format!(
                "PyErr_SetRaisedException: {} is not an exception instance",
                // SAFETY: e is live.
                unsafe { attr::repr(e.as_ptr()) }.unwrap_or_default()
            )));
        }
        PyErr::from_instance(e).restore();
        Ok(())
    })
}

/// Returns 1 if `given` (an exception class or instance) matches `exc` (a class, or a tuple of
/// classes checked in turn), else 0. NULL arguments give 0.
#[no_mangle]
pub unsafe extern "C" fn PyErr_GivenExceptionMatches(
    given: *mut PyObject,
    exc_: *mut PyObject,
) -> c_int {
    // SAFETY: both are NULL or live.
    unsafe { exc::given_matches(given, exc_) as c_int }
}

/// Returns 1 if the pending exception matches `exc` (see `PyErr_GivenExceptionMatches`),
/// else 0 (also when nothing is pending).
#[no_mangle]
pub unsafe extern "C" fn PyErr_ExceptionMatches(exc_: *mut PyObject) -> c_int {
    // SAFETY: forwarded; the pending exception is live.
    unsafe { exc::given_matches(thread_state::peek_curexc(), exc_) as c_int }
}

/// Creates a new exception class named `name` (`"module.Name"`, a UTF-8 string) deriving from
/// `base` (an exception class or a 1-tuple of one; NULL means `Exception`). `dict` must be
/// NULL or a dict (its contents are ignored). Returns a new reference to the class, or NULL
/// with an exception set.
#[no_mangle]
pub unsafe extern "C" fn PyErr_NewException(
    name: *const c_char,
    base: *mut PyObject,
    dict: *mut PyObject,
) -> *mut PyObject {
    entry(|| {
        c_str(name, "PyErr_NewException", "name")?;
        if !dict.is_null() {
            super::boundary::typed(dict, obj::dict::dict_type(), "PyErr_NewException", "dict")?;
        }
        // SAFETY: name is a valid C string.
        let name = unsafe { std::ffi::CStr::from_ptr(name) };
        Ok(exc::new_class(name, base)?.into_raw())
    })
}

/// Sets `MemoryError` and returns NULL.
#[no_mangle]
pub extern "C" fn PyErr_NoMemory() -> *mut PyObject {
    entry(|| -> PyResult<*mut PyObject> { Err(PyErr::no_memory()) })
}

/// Sets `TypeError("bad argument type for built-in operation")` and returns 0.
#[no_mangle]
pub extern "C" fn PyErr_BadArgument() -> c_int {
    entry_or(0, || -> PyResult<c_int> {
        Err(PyErr::type_error(
            "bad argument type for built-in operation",
        ))
    })
}

/// Sets `SystemError("bad argument to internal function")`.
#[no_mangle]
pub extern "C" fn PyErr_BadInternalCall() {
    PyErr::system_error("bad argument to internal function").restore();
}

/// Prints the pending exception to stderr as `Name: message` and clears it. Its chain comes
/// first, as in CPython: the `__cause__` ("The above exception was the direct cause of the
/// following exception:") or else the `__context__` ("During handling of the above exception,
/// another exception occurred:"). Nothing happens when no exception is pending. Unlike
/// CPython, there is no traceback, and a pending `SystemExit` does not exit the process.
#[no_mangle]
pub extern "C" fn PyErr_Print() {
    entry_or((), || {
        if let Some(e) = PyErr::fetch() {
            crate::error::write_stderr(&e.report_text());
        }
        Ok(())
    });
    // A failure while printing (e.g. a str() that raised) is not reported again.
    drop(PyErr::fetch());
}

/// `PyErr_Print()`; the flag is accepted for compatibility.
#[no_mangle]
pub extern "C" fn PyErr_PrintEx(set_sys_last_vars: c_int) {
    let _ = set_sys_last_vars;
    PyErr_Print();
}

/// Reports the pending exception as unraisable (an error that cannot be propagated, e.g. in
/// a callback or a finalizer): prints `Exception ignored in: <repr(obj)>` (unless `obj` is
/// NULL or `None`) and the exception as `PyErr_Print` does to stderr, then clears it. Nothing
/// happens when no exception is pending.
#[no_mangle]
pub unsafe extern "C" fn PyErr_WriteUnraisable(obj_: *mut PyObject) {
    entry_or((), || {
        if let Some(e) = PyErr::fetch() {
            // SAFETY: obj_ is NULL or live (C contract).
            unsafe { e.write_unraisable(obj_) };
        }
        Ok(())
    });
    drop(PyErr::fetch());
}

/// Prints the pending exception as unraisable after the line `context` (a str), then clears it.
pub(crate) unsafe fn write_unraisable_with_context(context: *mut PyObject) {
    let Some(e) = PyErr::fetch() else { return };
    // SAFETY: context is a live str.
    let ctx = unsafe { obj::unicode::as_str(context) }.to_owned();
    crate::error::write_stderr(&format!("{ctx}\n{}", e.report_text()));
}

/// Returns 1 if `o` is an exception instance, else 0.
#[no_mangle]
pub unsafe extern "C" fn PyExceptionInstance_Check(o: *mut PyObject) -> c_int {
    // SAFETY: o is NULL or live.
    (!o.is_null() && unsafe { exc::is_instance(o) }) as c_int
}

/// Returns 1 if `o` is an exception class, else 0.
#[no_mangle]
pub unsafe extern "C" fn PyExceptionClass_Check(o: *mut PyObject) -> c_int {
    // SAFETY: o is NULL or live.
    (!o.is_null() && unsafe { exc::is_class_object(o) }) as c_int
}

fn instance_arg(e: *mut PyObject, func: &str) -> PyResult<*mut PyObject> {
    let e = non_null(e, func, "exc")?;
    // SAFETY: e is live.
    if unsafe { exc::is_instance(e) } {
        Ok(e)
    } else {
        // SAFETY: e is live.
        Err(super::boundary::wrong_type(
            func,
            "exc",
            "an exception instance",
            unsafe { obj::type_of(e) },
        ))
    }
}

/// Returns a new reference to the `args` tuple of the exception instance `exc`, or NULL with
/// an exception set.
#[no_mangle]
pub unsafe extern "C" fn PyException_GetArgs(exc_: *mut PyObject) -> *mut PyObject {
    entry(|| {
        let e = instance_arg(exc_, "PyException_GetArgs")?;
        // SAFETY: e is an exception.
        Ok(unsafe { Obj::from_borrowed(exc::args(e)) }.into_raw())
    })
}

/// Returns a new reference to the `__context__` of `exc` (the exception being handled when it
/// was raised), or NULL without an exception when there is none.
#[no_mangle]
pub unsafe extern "C" fn PyException_GetContext(exc_: *mut PyObject) -> *mut PyObject {
    entry(|| {
        let e = instance_arg(exc_, "PyException_GetContext")?;
        // SAFETY: e is an exception.
        Ok(unsafe { exc::fields(e) }
            .context
            .clone()
            .map_or(ptr::null_mut(), Obj::into_raw))
    })
}

/// Checks the value given for `__context__` / `__cause__`: NULL or an exception instance.
fn chained_arg(v: Option<Obj>, func: &str, arg: &str) -> PyResult<Option<Obj>> {
    match v {
        // SAFETY: o is live.
        Some(o) if !unsafe { exc::is_instance(o.as_ptr()) } => Err(super::boundary::wrong_type(
            func,
            arg,
            "an exception instance or NULL",
            o.type_ptr(),
        )),
        v => Ok(v),
    }
}

/// Sets the `__context__` of `exc`, **stealing** the reference to `ctx` (NULL clears it).
/// Unlike CPython, `ctx` is checked: anything but an exception instance leaves a `TypeError`
/// set (the reference is still stolen).
#[no_mangle]
pub unsafe extern "C" fn PyException_SetContext(exc_: *mut PyObject, ctx: *mut PyObject) {
    entry_or((), || {
        // SAFETY: stolen.
        let ctx = unsafe { Obj::from_owned(ctx) };
        let e = instance_arg(exc_, "PyException_SetContext")?;
        let ctx = chained_arg(ctx, "PyException_SetContext", "ctx")?;
        // SAFETY: e is an exception; the old value is released after the store.
        let old = std::mem::replace(unsafe { &mut exc::fields(e).context }, ctx);
        drop(old);
        Ok(())
    })
}

/// Returns a new reference to the `__cause__` of `exc`, or NULL without an exception.
#[no_mangle]
pub unsafe extern "C" fn PyException_GetCause(exc_: *mut PyObject) -> *mut PyObject {
    entry(|| {
        let e = instance_arg(exc_, "PyException_GetCause")?;
        // SAFETY: e is an exception.
        Ok(unsafe { exc::fields(e) }
            .cause
            .clone()
            .map_or(ptr::null_mut(), Obj::into_raw))
    })
}

/// Sets the `__cause__` of `exc`, **stealing** the reference to `cause` (NULL clears it).
/// `PyErr_Print` then shows the cause instead of the context. Unlike CPython, `cause` is
/// checked: anything but an exception instance leaves a `TypeError` set (the reference is
/// still stolen).
#[no_mangle]
pub unsafe extern "C" fn PyException_SetCause(exc_: *mut PyObject, cause: *mut PyObject) {
    entry_or((), || {
        // SAFETY: stolen.
        let cause = unsafe { Obj::from_owned(cause) };
        let e = instance_arg(exc_, "PyException_SetCause")?;
        let cause = chained_arg(cause, "PyException_SetCause", "cause")?;
        // SAFETY: e is an exception; the old value is released after the store.
        let old = std::mem::replace(unsafe { &mut exc::fields(e).cause }, cause);
        drop(old);
        Ok(())
    })
}
