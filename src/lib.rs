//! libstackless: Stackless Python's tasklets, channels and scheduler as a C library, with
//! Stackless's own C API and no Python interpreter.
//!
//! Module map:
//! - [`object`]: the small CPython-compatible object model (refcounted `PyObject`, types,
//!   ints, strings, tuples, dicts, capsules, C functions, exceptions).
//! - [`error`]: `PyErr`, an exception in flight, and the bridge to the error indicator.
//! - [`thread_state`]: the per-thread state (the library's only thread-local).
//! - `capi`: the `extern "C"` functions, argument checks and the panic boundary.
//!
//! The public header `include/stackless.h` is generated from this crate by `build.rs`.

#![allow(non_upper_case_globals, non_snake_case, non_camel_case_types)]
#![warn(missing_docs)]

pub mod capi;
pub mod error;
pub mod object;
pub mod thread_state;
