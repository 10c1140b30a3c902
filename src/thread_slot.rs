//! The Rust side of `src/thread_slot.c`: the library's per-thread variables that must be
//! reachable in a couple of instructions.
//!
//! - [`get`] / [`set`]: the calling thread's `ThreadState` pointer (NULL before the first API
//!   call on the thread and after its teardown).
//! - [`TryFlag`]: the soft-switching protocol's stackless flag, which the header's macros
//!   also use inline.
//!
//! On x86_64 Linux both are initial-exec TLS variables defined in C and reached with inline
//! assembly (the offset from the thread pointer is in the GOT); elsewhere the state pointer is
//! a Rust `thread_local!` and the flag is reached through a C function.

use std::ffi::c_int;

/// The calling thread's stackless flag: `_PyStackless_TryStacklessFlag`, a C thread-local
/// (src/thread_slot.c) that the header's STACKLESS_* macros use inline. A handle in the
/// thread state with `Cell`'s methods; it only ever touches the calling thread's flag (a
/// thread state is only used by its own thread).
pub struct TryFlag(());

impl TryFlag {
    /// The handle (the flag itself exists for every thread from its start).
    pub(crate) const fn new() -> TryFlag {
        TryFlag(())
    }

    /// The flag.
    #[inline(always)]
    pub fn get(&self) -> c_int {
        // SAFETY: the calling thread's flag; nothing else holds a reference to it.
        unsafe { *try_flag_ptr() }
    }

    /// Sets the flag.
    #[inline(always)]
    pub fn set(&self, v: c_int) {
        // SAFETY: as in get.
        unsafe { *try_flag_ptr() = v }
    }

    /// Sets the flag and returns the previous value.
    #[inline(always)]
    pub fn replace(&self, v: c_int) -> c_int {
        // SAFETY: as in get.
        unsafe { std::mem::replace(&mut *try_flag_ptr(), v) }
    }

    /// The flag's address (valid for the calling thread's lifetime).
    pub fn as_ptr(&self) -> *mut c_int {
        try_flag_ptr()
    }
}

/// The address of the calling thread's `_PyStackless_TryStacklessFlag`.
#[inline(always)]
fn try_flag_ptr() -> *mut c_int {
    #[cfg(all(target_arch = "x86_64", target_os = "linux"))]
    {
        let p: *mut c_int;
        // SAFETY: computes the address of this thread's copy (initial-exec model: its offset
        // from the thread pointer, which %fs:0 holds, is in the GOT).
        unsafe {
            std::arch::asm!(
                "mov {p}, qword ptr fs:[0]",
                "add {p}, qword ptr [rip + _PyStackless_TryStacklessFlag@GOTTPOFF]",
                p = out(reg) p,
                options(nostack, readonly, pure),
            )
        };
        p
    }
    #[cfg(not(all(target_arch = "x86_64", target_os = "linux")))]
    {
        extern "C" {
            fn stackless_try_flag_ptr() -> *mut c_int;
        }
        // SAFETY: a plain C function returning the calling thread's address.
        unsafe { stackless_try_flag_ptr() }
    }
}

/// The state slot: this thread's state pointer, read on every API call.
///
/// On x86_64 Linux it is `stackless_thread_slot`, an initial-exec TLS variable defined in
/// `src/thread_slot.c` and read with `mov %fs:OFFSET` (two instructions); elsewhere a
/// `thread_local!` (which in a shared library costs a `__tls_get_addr` call per access).
mod state {
    use crate::thread_state::ThreadState;

    #[cfg(all(target_arch = "x86_64", target_os = "linux"))]
    mod imp {
        use super::ThreadState;
        use std::arch::asm;

        /// The calling thread's state pointer.
        #[inline(always)]
        pub fn get() -> *mut ThreadState {
            let p: *mut ThreadState;
            // SAFETY: reads this thread's slot (defined in thread_slot.c, initial-exec model:
            // its offset from the thread pointer is in the GOT).
            unsafe {
                asm!(
                    "mov {p}, qword ptr [rip + stackless_thread_slot@GOTTPOFF]",
                    "mov {p}, qword ptr fs:[{p}]",
                    p = out(reg) p,
                    options(nostack, readonly, preserves_flags, pure),
                )
            };
            p
        }

        /// Sets the calling thread's state pointer.
        pub fn set(v: *mut ThreadState) {
            // SAFETY: writes this thread's slot, as `get` reads it.
            unsafe {
                asm!(
                    "mov {o}, qword ptr [rip + stackless_thread_slot@GOTTPOFF]",
                    "mov qword ptr fs:[{o}], {v}",
                    o = out(reg) _,
                    v = in(reg) v,
                    options(nostack, preserves_flags),
                )
            };
        }
    }

    #[cfg(not(all(target_arch = "x86_64", target_os = "linux")))]
    mod imp {
        use super::ThreadState;
        use std::cell::Cell;
        use std::ptr;

        thread_local! {
            static TS: Cell<*mut ThreadState> = const { Cell::new(ptr::null_mut()) };
        }

        /// The calling thread's state pointer.
        #[inline(always)]
        pub fn get() -> *mut ThreadState {
            TS.with(|c| c.get())
        }

        /// Sets the calling thread's state pointer.
        pub fn set(v: *mut ThreadState) {
            TS.with(|c| c.set(v))
        }
    }

    pub use imp::{get, set};
}

pub use state::{get, set};
