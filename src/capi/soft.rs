//! Exports: soft-switchable functions and the stackless protocol flag (SPEC §7).

use std::ffi::{c_int, c_long, c_void};

use super::boundary::{entry, typed};
use crate::object::unicode::{self, unicode_type};
use crate::object::PyObject;
use crate::soft::{self, decl_type, PyModuleDef, PyStacklessFunctionDeclarationObject};
use crate::thread_state;

/// Initializes a static soft-switchable function declaration: sets its type and its
/// `module_name` (from `module`, a str or NULL; `module_def` is accepted for compatibility
/// and may be NULL). Call it once before the first `PyStackless_CallFunction` with `sfd`.
/// Returns 0, or -1 with an exception set (`SystemError` for a NULL `sfd` or a declaration
/// without `sfunc`, `TypeError` for a `module` that is not a str).
#[no_mangle]
pub unsafe extern "C" fn PyStackless_InitFunctionDeclaration(
    sfd: *mut PyStacklessFunctionDeclarationObject,
    module: *mut PyObject,
    module_def: *mut PyModuleDef,
) -> c_int {
    let _ = module_def;
    entry(|| {
        if sfd.is_null() {
            return Err(super::boundary::null_arg(
                "PyStackless_InitFunctionDeclaration",
                "sfd",
            ));
        }
        // SAFETY: sfd points to a declaration (C contract).
        let d = unsafe { &mut *sfd };
        if d.sfunc.is_none() {
            return Err(crate::error::PyErr::system_error(
                "PyStackless_InitFunctionDeclaration: the declaration has no function (sfunc is NULL)",
            ));
        }
        if !module.is_null() {
            let m = typed(
                module,
                unicode_type(),
                "PyStackless_InitFunctionDeclaration",
                "module",
            )?;
            // The declaration is static; the module name must live as long: keep a copy.
            // SAFETY: m is a live str.
            let name = std::ffi::CString::new(unsafe { unicode::as_str(m) }).unwrap_or_default();
            d.module_name = Box::leak(name.into_boxed_c_str()).as_ptr();
        }
        d.ob_base.ob_type = decl_type();
        d.ob_base.ob_refcnt = crate::object::_Py_IMMORTAL_REFCNT;
        Ok(0)
    })
}

/// Returns 1 if `o` is a soft-switchable function declaration (exactly), else 0.
#[no_mangle]
pub unsafe extern "C" fn PyStacklessFunctionDeclarationType_CheckExact(o: *mut PyObject) -> c_int {
    // SAFETY: o is NULL or live (a declaration not yet initialized has a NULL type).
    (!o.is_null() && unsafe { (*o).ob_type } == decl_type()) as c_int
}

/// Calls the soft-switchable function declared by `sfd` with `arg` as its first `retval`
/// (borrowed; NULL means "an exception is pending") and `ob1`, `ob2`, `ob3` (borrowed; the
/// frame keeps its own references, and the function may replace them), `n` and `any` as its
/// initial state (`*step` starts at 0). If the caller set the stackless flag
/// (`STACKLESS_PROMOTE_ALL()`) and the tasklet may switch soft, the function is driven by the
/// frame loop: this returns `Py_UnwindToken`, which the caller must return to its own caller.
/// Otherwise the function is called directly (its own soft-switching calls then switch hard)
/// and this returns a new reference to its result, or NULL with an exception set.
#[no_mangle]
pub unsafe extern "C" fn PyStackless_CallFunction(
    sfd: *mut PyStacklessFunctionDeclarationObject,
    arg: *mut PyObject,
    ob1: *mut PyObject,
    ob2: *mut PyObject,
    ob3: *mut PyObject,
    n: c_long,
    any: *mut c_void,
) -> *mut PyObject {
    entry(|| {
        let ts = thread_state::current();
        // SAFETY: sfd is NULL or a declaration (C contract).
        let d = match unsafe { soft::check_decl(sfd, "PyStackless_CallFunction") } {
            Ok(d) => d,
            Err(e) => {
                soft::take_flag(ts);
                return Err(e);
            }
        };
        // SAFETY: d is initialized; the objects are NULL or live (C contract).
        Ok(unsafe { soft::call_function(ts, d, arg, ob1, ob2, ob3, n, any)? }.into_raw())
    })
}

/// The address of the calling thread's stackless flag: the lvalue behind
/// `_PyStackless_TRY_STACKLESS`, used by the `STACKLESS_*` protocol macros.
#[no_mangle]
pub extern "C" fn _PyStackless_TryStacklessPtr() -> *mut c_int {
    soft::flag_ptr(thread_state::current())
}

/// Returns the calling thread's stackless flag and clears it (what `STACKLESS_GETARG()`
/// does).
#[no_mangle]
pub extern "C" fn _PyStackless_GetTryStackless() -> c_int {
    soft::take_flag(thread_state::current()) as c_int
}
