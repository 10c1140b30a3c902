//! libstackless: Stackless Python's tasklets, channels and scheduler as a C library, with
//! Stackless's own C API and no Python interpreter.
//!
//! Module map:
//! - [`object`]: the small CPython-compatible object model (refcounted `PyObject`, types,
//!   ints, strings, tuples, dicts, capsules, C functions, exceptions).
//! - [`error`]: `PyErr`, an exception in flight, and the bridge to the error indicator.
//! - [`thread_state`]: the per-thread state (the library's only thread-local).
//! - [`stack`]: machine stacks, the pool, and the context switch (the only user of `context`).
//! - [`tasklet`], [`channel`], [`bomb`]: the Stackless objects; `*_attrs` their Python-level
//!   attributes and methods.
//! - [`scheduler`]: the run queue, switching (hard and soft), the frame loop and runner stacks,
//!   and every scheduling operation.
//! - [`soft`]: the soft-switching protocol (the stackless flag, soft-switchable functions).
//! - [`watchdog`]: preemption by ticks.
//! - [`callbacks`]: channel/schedule callbacks and the error handler.
//! - `capi`: the `extern "C"` functions, argument checks and the panic boundary.
//!
//! The public header `include/stackless.h` is generated from this crate by `build.rs`.

#![allow(non_upper_case_globals, non_snake_case, non_camel_case_types)]
#![warn(missing_docs)]

pub mod bomb;
pub mod callbacks;
pub mod capi;
pub mod channel;
pub mod channel_attrs;
pub mod error;
pub mod object;
pub mod scheduler;
pub mod soft;
pub mod stack;
pub mod tasklet;
pub mod tasklet_attrs;
pub mod thread_slot;
pub mod thread_state;
pub mod watchdog;
