//! Soft switching: Stackless's protocol for C code that can switch tasklets without keeping
//! a C stack (SPEC §7).
//!
//! - The *stackless flag* (`_PyStackless_TRY_STACKLESS`) is a per-thread implicit parameter:
//!   a caller that can handle `Py_UnwindToken` sets it (`STACKLESS_PROMOTE_ALL`), and the
//!   protocol-aware callee takes it (`STACKLESS_GETARG`). The `_nr` functions set it for
//!   themselves.
//! - A switch is soft when soft switching is enabled, the call carries the flag, and the
//!   running tasklet is at nesting level 0 in the frame loop (not main). Then the operation
//!   returns the token and its result reaches the tasklet later, through the frame loop.
//! - Soft-switchable functions are declared with a static
//!   [`PyStacklessFunctionDeclarationObject`] and called with `PyStackless_CallFunction`,
//!   which, in stackless mode, pushes a frame that the frame loop drives.

use std::ffi::{c_char, c_int, c_long, c_void, CStr};
use std::ptr;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::error::PyErr;
use crate::object::typeobj::{PyTypeObject, TypeOps};
use crate::object::{Obj, PyObject, PyResult};
use crate::scheduler::frames::{unwind_token, CFrame, SoftFunc};
use crate::scheduler::switch::sched;
use crate::tasklet::tref;
use crate::thread_state::ThreadState;

static SOFTSWITCH: AtomicBool = AtomicBool::new(true);

/// Whether soft switching is enabled (process-wide).
pub fn enabled() -> bool {
    SOFTSWITCH.load(Ordering::Relaxed)
}

/// Enables or disables soft switching; returns the previous setting.
pub fn set_enabled(on: bool) -> bool {
    SOFTSWITCH.swap(on, Ordering::Relaxed)
}

/// `PyUnwindObject`: the type of `Py_UnwindToken`.
#[repr(C)]
pub struct PyUnwindObject {
    /// Object head.
    pub ob_base: PyObject,
}

static mut UNWIND_TYPE: PyTypeObject = PyTypeObject::new_static(
    c"_stackless.unwind",
    ptr::addr_of!(crate::object::typeobj::PyBaseObject_Type) as *mut PyTypeObject,
    std::mem::size_of::<PyUnwindObject>(),
    0,
    TypeOps::EMPTY,
);

/// The unwind token object.
pub(crate) static mut UNWIND_TOKEN: PyUnwindObject = PyUnwindObject {
    ob_base: PyObject::immortal(ptr::addr_of!(UNWIND_TYPE) as *mut PyTypeObject),
};

/// `Py_UnwindToken` as a plain pointer.
#[inline]
pub fn token_ptr() -> *mut PyObject {
    ptr::addr_of_mut!(UNWIND_TOKEN).cast()
}

/// Takes the stackless flag (as `STACKLESS_GETARG` does): returns it and clears it.
#[inline]
pub fn take_flag(ts: &ThreadState) -> bool {
    ts.try_stackless.replace(0) != 0
}

/// Decides whether a protocol-aware operation called now switches soft: `stackless` is the
/// flag the caller passed (always true for `_nr` functions).
#[inline]
pub fn allowed(ts: &ThreadState, stackless: bool) -> bool {
    if !stackless || !enabled() {
        return false;
    }
    let s = sched(ts);
    if s.nesting_level.get() != 0 {
        return false;
    }
    // SAFETY: current is live.
    !unsafe { tref(s.current.get()) }.is_main.get()
}

/// For an operation entry: takes the caller's flag (`_nr` variants count as flagged) and
/// decides soft or hard.
#[inline]
pub fn request(ts: &ThreadState, nr: bool) -> bool {
    let flag = take_flag(ts);
    allowed(ts, flag || nr)
}

/// `PyModuleDef`: opaque here (there are no modules); accepted for Stackless compatibility.
pub struct PyModuleDef {
    _private: [u8; 0],
}

/// `PyStacklessFunctionDeclarationObject`: declares a soft-switchable C function. Users
/// define it statically and initialize it with `PyStackless_InitFunctionDeclaration`.
#[repr(C)]
pub struct PyStacklessFunctionDeclarationObject {
    /// Object head (`PyObject_HEAD_INIT(NULL)` in a static declaration).
    pub ob_base: PyObject,
    /// The state machine.
    pub sfunc: Option<SoftFunc>,
    /// Its name.
    pub name: *const c_char,
    /// The name of its module (may be NULL).
    pub module_name: *const c_char,
}

/// `PyStacklessFunctionDeclaration_Type`.
#[no_mangle]
pub static mut PyStacklessFunctionDeclaration_Type: PyTypeObject = PyTypeObject::new_static(
    c"_stackless.function_declaration",
    ptr::addr_of!(crate::object::typeobj::PyBaseObject_Type) as *mut PyTypeObject,
    std::mem::size_of::<PyStacklessFunctionDeclarationObject>(),
    0,
    TypeOps {
        repr: Some(decl_repr),
        ..TypeOps::EMPTY
    },
);

/// `&PyStacklessFunctionDeclaration_Type`.
pub fn decl_type() -> *mut PyTypeObject {
    ptr::addr_of_mut!(PyStacklessFunctionDeclaration_Type)
}

/// The declaration's name for messages.
pub(crate) fn decl_name(d: &PyStacklessFunctionDeclarationObject) -> String {
    if d.name.is_null() {
        return "<soft-switchable function>".to_owned();
    }
    // SAFETY: name is a NUL-terminated string (declared by the user).
    unsafe { CStr::from_ptr(d.name) }
        .to_string_lossy()
        .into_owned()
}

unsafe fn decl_repr(op: *mut PyObject) -> PyResult<String> {
    // SAFETY: op is a declaration.
    let d = unsafe { &*(op as *const PyStacklessFunctionDeclarationObject) };
    Ok(format!("<soft switchable function {}>", decl_name(d)))
}

/// Checks a declaration argument: initialized (its type set by
/// `PyStackless_InitFunctionDeclaration`) and with a function.
///
/// # Safety
/// `sfd` is NULL or points to a declaration object (possibly not initialized).
pub(crate) unsafe fn check_decl<'a>(
    sfd: *mut PyStacklessFunctionDeclarationObject,
    func: &str,
) -> PyResult<&'a PyStacklessFunctionDeclarationObject> {
    if sfd.is_null() {
        return Err(crate::capi::boundary::null_arg(func, "sfd"));
    }
    // SAFETY: sfd points to a declaration-shaped object.
    let d = unsafe { &*sfd };
    if d.ob_base.ob_type.is_null() {
        return Err(PyErr::system_error(format!(
            "{func}: the declaration is not initialized (call PyStackless_InitFunctionDeclaration first)"
        )));
    }
    if !crate::object::typeobj::is_subtype(d.ob_base.ob_type, decl_type()) {
        return Err(crate::capi::boundary::wrong_type(
            func,
            "sfd",
            "a soft switchable function declaration",
            d.ob_base.ob_type,
        ));
    }
    if d.sfunc.is_none() {
        return Err(PyErr::system_error(format!(
            "{func}: the declaration has no function (sfunc is NULL)"
        )));
    }
    Ok(d)
}

/// Turns what a soft-switchable function returned into a result (the token passes through),
/// enforcing CPython's rule: NULL needs an exception, a value must come without one.
pub(crate) fn check_sfunc_result(
    ts: &ThreadState,
    r: *mut PyObject,
    d: &PyStacklessFunctionDeclarationObject,
) -> PyResult<Obj> {
    if r == token_ptr() {
        return Ok(unwind_token());
    }
    // SAFETY: a momentary read of the cell.
    let pending = unsafe { (*ts.curexc.as_ptr()).is_some() };
    if !r.is_null() && !pending {
        // SAFETY: r is a new reference.
        return Ok(unsafe { Obj::from_owned_unchecked(r) });
    }
    // The rare cases: let the general check build the error (and the name).
    // SAFETY: r is NULL or a new reference.
    unsafe { crate::object::cfunction::check_result(r, &|| decl_name(d)) }
}

/// `PyStackless_CallFunction`: in stackless mode (the caller set the flag and may switch
/// soft) pushes a frame for `sfd` and returns the unwind token (the frame loop then calls the
/// function with `arg`); otherwise calls it directly and returns its result (one nesting level
/// deeper when the caller did not pass the flag).
///
/// # Safety
/// `d` is an initialized declaration; `arg`, `ob1..3` are NULL or live.
#[allow(clippy::too_many_arguments)]
pub(crate) unsafe fn call_function(
    ts: &ThreadState,
    d: &PyStacklessFunctionDeclarationObject,
    arg: *mut PyObject,
    ob1: *mut PyObject,
    ob2: *mut PyObject,
    ob3: *mut PyObject,
    n: c_long,
    any: *mut c_void,
) -> PyResult<Obj> {
    let sfd = d as *const PyStacklessFunctionDeclarationObject as *mut PyObject;
    let flag = take_flag(ts);
    // Like every other call that may switch, refused while a soft switch is pending (the
    // frame would land on the tasklet switched to).
    crate::scheduler::switch::sched_op(ts)?;
    if allowed(ts, flag) {
        let s = sched(ts);
        // SAFETY: current is live; the frame takes its own references.
        unsafe {
            tref(s.current.get()).push_frame(Box::new(CFrame::new(sfd, ob1, ob2, ob3, n, any)))
        };
        let first = if arg.is_null() {
            Err(PyErr::fetch().unwrap_or_else(|| {
                PyErr::system_error("PyStackless_CallFunction: arg is NULL but no exception is set")
            }))
        } else {
            // SAFETY: arg is live.
            Ok(unsafe { Obj::from_borrowed(arg) })
        };
        ts.unwind_retval.set(Some(first));
        return Ok(unwind_token());
    }
    let func = d.sfunc.expect("checked");
    // A caller that passed the stackless flag runs the function at its own level even when it
    // cannot switch soft now (soft switching disabled, main, nested): the function's own
    // switches are hard then anyway, and the nesting level must not depend on the mode.
    // A plain C caller could not take the unwind token: the function runs one level deeper,
    // so its _nr calls switch hard.
    let s = &ts.sched;
    let _nested = (!flag).then(|| crate::scheduler::Nested::enter(s));
    // It still counts as a frame of the tasklet (recursion depth), as it does when the frame
    // loop drives it.
    s.direct_frames.set(s.direct_frames.get() + 1);
    struct Leave<'a>(&'a crate::scheduler::Scheduler);
    impl Drop for Leave<'_> {
        fn drop(&mut self) {
            self.0.direct_frames.set(self.0.direct_frames.get() - 1);
        }
    }
    let _frame = Leave(s);
    let (mut step, mut o1, mut o2, mut o3, mut nn, mut a): (c_long, _, _, _, c_long, _) =
        (0, ob1, ob2, ob3, n, any);
    // SAFETY: the function gets its in/out state in locals (it may replace the objects, as
    // the protocol allows); we own the references it leaves there.
    // The function's STACKLESS_GETARG() sees the caller's flag: with it, its own promoted calls
    // stay at this level too (and switch hard under the same conditions that made this call
    // direct); without it they are nested.
    ts.try_stackless.set(flag as c_int);
    let r = unsafe {
        crate::object::incref(o1);
        crate::object::incref(o2);
        crate::object::incref(o3);
        let r = func(arg, &mut step, &mut o1, &mut o2, &mut o3, &mut nn, &mut a);
        ts.try_stackless.set(0);
        crate::object::decref(o1);
        crate::object::decref(o2);
        crate::object::decref(o3);
        r
    };
    check_sfunc_result(ts, r, d)
}

/// The C pointer to the calling thread's stackless flag (the lvalue behind
/// `_PyStackless_TRY_STACKLESS`).
pub(crate) fn flag_ptr(ts: &ThreadState) -> *mut c_int {
    ts.try_stackless.as_ptr()
}
