//! The per-thread state: the one `thread_local!` of the library (STYLE rule 10).
//!
//! Each OS thread that calls into the library gets a [`ThreadState`], created on first use and
//! torn down when the thread ends. Look it up once per API call with [`current`] and pass the
//! reference down.
//!
//! Every field is a `Cell`/`RefCell`, and code only ever holds shared `&ThreadState`
//! references: user code called back by the library (callbacks, finalizers, tasklet bodies)
//! re-enters it on the same thread, so no `&mut` to this state may exist across a call out.
//! `RefCell` borrows are kept within one function and never span a call out or a switch.
//!
//! Invariants:
//! - `TS` holds either NULL or the thread's live `ThreadState`; it has no destructor, so it can
//!   be read at any time, even while the thread is being torn down.
//! - At thread exit the state's objects are released before the state itself is freed, so
//!   finalizers they run still find it.

use std::cell::Cell;
use std::ffi::c_ulong;
use std::ptr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use crate::object::{Obj, PyObject};
use crate::scheduler::Scheduler;
use crate::thread_slot::{self as slot, TryFlag};

/// Everything the library keeps per OS thread.
pub struct ThreadState {
    /// The error indicator: a normalized exception instance, or `None`. It belongs to the
    /// running tasklet; the scheduler saves and restores it at every switch.
    pub curexc: Cell<Option<Obj>>,
    /// Where the last Rust panic on this thread happened, for the SystemError message.
    pub panic_location: Cell<Option<String>>,
    /// The containers whose `repr()` is being computed on this thread, innermost last (for
    /// CPython's `{...}` / `(...)` on reference cycles; see `object::attr::ReprGuard`).
    pub repr_active: std::cell::RefCell<Vec<usize>>,
    /// How deeply `repr()` / `str()` calls are nested on this thread (bounded, so that deep
    /// or cyclic structures give a `RecursionError` rather than overflow a tasklet's stack).
    pub repr_depth: Cell<usize>,
    /// Stackless's `_PyStackless_TRY_STACKLESS`: the implicit "you may return the unwind
    /// token" parameter of the soft-switching protocol (see `soft`).
    pub try_stackless: TryFlag,
    /// Set by a soft switch until the frame loop sees the unwind token.
    pub soft_pending: Cell<bool>,
    /// The first value for a frame pushed by a stackless `PyStackless_CallFunction`.
    pub unwind_retval: Cell<Option<crate::object::PyResult<Obj>>>,
    /// The thread's scheduler: main tasklet, run queue, watchdogs, stacks.
    pub sched: Scheduler,
    /// A number no other thread of this process ever gets (OS thread ids are reused).
    pub serial: u64,
}

/// A live thread known to the library.
struct Registered {
    serial: u64,
    ident: c_ulong,
    ts: usize,
}

/// Every thread with a live state, in the order they first used the library.
static THREADS: Mutex<Vec<Registered>> = Mutex::new(Vec::new());
static NEXT_SERIAL: AtomicU64 = AtomicU64::new(1);

fn threads() -> std::sync::MutexGuard<'static, Vec<Registered>> {
    THREADS.lock().unwrap_or_else(|p| p.into_inner())
}

/// True while the thread with this serial has a live state.
pub fn serial_alive(serial: u64) -> bool {
    serial != 0 && threads().iter().any(|r| r.serial == serial)
}

/// The OS thread id of a live thread, by serial.
pub fn ident_of(serial: u64) -> Option<c_ulong> {
    threads()
        .iter()
        .find(|r| r.serial == serial)
        .map(|r| r.ident)
}

/// The ids of all threads with a live state, the first one to use the library first.
pub fn thread_idents() -> Vec<c_ulong> {
    threads().iter().map(|r| r.ident).collect()
}

/// Runs `f` with the state of the live thread `ident`, under the registry lock (so the
/// state cannot go away meanwhile). `f` must only read plain data of that state.
pub fn with_thread<R>(ident: c_ulong, f: impl FnOnce(&ThreadState) -> R) -> Option<R> {
    let g = threads();
    let r = g.iter().find(|r| r.ident == ident)?;
    // SAFETY: registered states are live until they unregister under this lock.
    Some(f(unsafe { &*(r.ts as *const ThreadState) }))
}

thread_local! {
    static TEARDOWN: Teardown = const { Teardown };
}

/// Tears the thread's state down when the thread ends.
struct Teardown;

impl Drop for Teardown {
    fn drop(&mut self) {
        let p = slot::get();
        if p.is_null() {
            return;
        }
        // SAFETY: p is this thread's live state; teardown may call back into the library,
        // which still finds it through TS until the end.
        let keep = unsafe { (*p).sched.teardown(&*p) };
        // Release the objects the state holds while it is still installed: a release can run
        // a finalizer, which uses this thread's state (and would otherwise create a new one
        // that nothing frees). Bounded, in case finalizers keep raising.
        for _ in 0..16 {
            match swap_curexc(None) {
                Some(exc) => drop(exc),
                None => break,
            }
        }
        // SAFETY: p is still live.
        let serial = unsafe { (*p).serial };
        threads().retain(|r| r.serial != serial);
        slot::set(ptr::null_mut());
        if keep {
            // The thread is not on its own stack (e.g. `exit()` called inside a tasklet):
            // freeing would unmap the stack we run on. The process is ending; leak it.
            return;
        }
        // SAFETY: p came from Box::into_raw in `create` and is no longer reachable.
        drop(unsafe { Box::from_raw(p) });
    }
}

/// The calling thread's state, created on first use.
#[inline]
pub fn current() -> &'static ThreadState {
    let p = slot::get();
    if !p.is_null() {
        // SAFETY: p stays valid until the thread's teardown, after which TS is NULL.
        return unsafe { &*p };
    }
    create()
}

/// The calling thread's state if it has one (never creates it; safe in a signal handler).
pub fn peek() -> Option<&'static ThreadState> {
    let p = slot::get();
    // SAFETY: p is NULL or this thread's live state.
    unsafe { p.as_ref() }
}

#[cold]
fn create() -> &'static ThreadState {
    crate::capi::boundary::install_panic_hook();
    let p = Box::into_raw(Box::new(ThreadState {
        curexc: Cell::new(None),
        panic_location: Cell::new(None),
        repr_active: std::cell::RefCell::new(Vec::new()),
        repr_depth: Cell::new(0),
        try_stackless: TryFlag::new(),
        soft_pending: Cell::new(false),
        unwind_retval: Cell::new(None),
        sched: Scheduler::new(),
        serial: NEXT_SERIAL.fetch_add(1, Ordering::Relaxed),
    }));
    slot::set(p);
    crate::stack::overflow::on_thread_start();
    // SAFETY: p is live.
    threads().push(Registered {
        serial: unsafe { (*p).serial },
        ident: crate::capi::thread_ident(),
        ts: p as usize,
    });
    // Register the teardown; during thread exit this may fail, and then the state is leaked,
    // which is harmless at that point.
    let _ = TEARDOWN.try_with(|_| ());
    // SAFETY: just created; lives until teardown.
    unsafe { &*p }
}

/// Replaces the error indicator and returns the old one (the caller drops it).
pub fn swap_curexc(new: Option<Obj>) -> Option<Obj> {
    current().curexc.replace(new)
}

/// The pending exception (borrowed), or NULL.
pub fn peek_curexc() -> *mut PyObject {
    let ts = current();
    // SAFETY: a momentary read of the cell's content; nothing runs meanwhile.
    unsafe {
        (*ts.curexc.as_ptr())
            .as_ref()
            .map_or(ptr::null_mut(), Obj::as_ptr)
    }
}
