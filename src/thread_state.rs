//! The per-thread state: the one `thread_local!` of the library (STYLE rule 10).
//!
//! Each OS thread that calls into the library gets a [`ThreadState`], created on first use and
//! freed when the thread ends. Look it up once per API call with [`current`] and pass it down.
//!
//! Invariants:
//! - `TS` holds either NULL or the thread's live `ThreadState`; it has no destructor, so it can
//!   be read at any time, even while the thread is being torn down.
//! - At thread exit the state's objects are released before the state itself is freed, so
//!   finalizers they run still find it.
//! - Never hold a `&mut ThreadState` across anything that can run user code or release an
//!   object (a release can run a finalizer that calls back into the library): take what you
//!   need out, drop the borrow, then release.

use std::cell::Cell;
use std::ptr;

use crate::object::Obj;

/// Everything the library keeps per OS thread.
#[derive(Default)]
pub struct ThreadState {
    /// The error indicator: a normalized exception instance, or `None`. It belongs to whatever
    /// runs on this thread right now (the scheduler swaps it per tasklet).
    pub curexc: Option<Obj>,
    /// Where the last Rust panic on this thread happened, for the SystemError message.
    pub panic_location: Option<String>,
    /// The containers whose `repr()` is being computed on this thread, innermost last (for
    /// CPython's `{...}` / `(...)` on reference cycles; see `object::attr::ReprGuard`).
    pub repr_active: Vec<usize>,
    /// How deeply `repr()` / `str()` calls are nested on this thread (bounded, so that deep
    /// or cyclic structures give a `RecursionError` rather than overflow a tasklet's stack).
    pub repr_depth: usize,
}

thread_local! {
    static TS: Cell<*mut ThreadState> = const { Cell::new(ptr::null_mut()) };
    static TEARDOWN: Teardown = const { Teardown };
}

/// Frees the thread's state when the thread ends.
struct Teardown;

impl Drop for Teardown {
    fn drop(&mut self) {
        if TS.with(|c| c.get()).is_null() {
            return;
        }
        // Release the objects the state holds while it is still installed: a release can run
        // a finalizer, which uses this thread's state (and would otherwise create a new one
        // that nothing frees). Bounded, in case finalizers keep raising.
        for _ in 0..16 {
            match swap_curexc(None) {
                Some(exc) => drop(exc),
                None => break,
            }
        }
        let p = TS.with(|c| c.replace(ptr::null_mut()));
        // SAFETY: p came from Box::into_raw in `current` and is no longer reachable.
        drop(unsafe { Box::from_raw(p) });
    }
}

/// The calling thread's state, created on first use.
#[inline]
pub fn current() -> *mut ThreadState {
    let p = TS.with(|c| c.get());
    if !p.is_null() {
        return p;
    }
    create()
}

#[cold]
fn create() -> *mut ThreadState {
    crate::capi::boundary::install_panic_hook();
    let p = Box::into_raw(Box::default());
    TS.with(|c| c.set(p));
    // Register the teardown; during thread exit this may fail, and then the state is leaked,
    // which is harmless at that point.
    let _ = TEARDOWN.try_with(|_| ());
    p
}

/// Replaces the error indicator and returns the old one (the caller drops it after this
/// returns, never while a borrow of the state is alive).
pub fn swap_curexc(new: Option<Obj>) -> Option<Obj> {
    // SAFETY: a short borrow of this thread's own state; nothing runs while it is held.
    unsafe { std::mem::replace(&mut (*current()).curexc, new) }
}

/// The pending exception, if any (a **borrowed** pointer; NULL when none).
pub fn peek_curexc() -> *mut crate::object::PyObject {
    // SAFETY: a short shared borrow of this thread's own state.
    unsafe {
        (*current())
            .curexc
            .as_ref()
            .map_or(ptr::null_mut(), |o| o.as_ptr())
    }
}
