//! The C API: every `#[no_mangle] extern "C"` function lives under this module (exported
//! type objects and singletons live beside their types in `object/`, as data).
//!
//! Each function checks its arguments, calls one core function inside
//! [`boundary::entry`], and converts the result. The doc comment of each function is copied
//! into `include/stackless.h` by cbindgen: it states what the function does, its return
//! convention and who owns each reference.
//!
//! Pointer arguments must be NULL or point to live objects; NULL and objects of the wrong
//! type are reported as exceptions, never dereferenced blindly.

#![allow(clippy::missing_safety_doc)]

pub mod boundary;
mod callables;
mod capsule;
pub(crate) mod channel;
mod containers;
pub(crate) mod errors;
mod numbers;
mod object;
pub mod soft;
pub mod stackless;
pub(crate) mod tasklet;
mod text;
mod varargs;

use std::ffi::c_ulong;

/// The calling OS thread's id (`PyThread_get_thread_ident`).
pub fn thread_ident() -> c_ulong {
    // SAFETY: pthread_self has no preconditions.
    unsafe { libc::pthread_self() as c_ulong }
}

/// Reports the pending exception as unraisable, with `context` as the first line (for errors
/// in callbacks and finalizers, which cannot propagate).
pub fn write_unraisable_text(context: &str) {
    let obj = crate::object::unicode::new(context);
    // SAFETY: obj is a live str.
    unsafe { errors::write_unraisable_with_context(obj.as_ptr()) };
}
