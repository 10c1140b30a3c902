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
mod containers;
mod errors;
mod numbers;
mod object;
mod text;
mod varargs;
