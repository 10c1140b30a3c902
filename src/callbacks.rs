//! Process-wide callbacks, as in Stackless: the channel callback, the schedule callback and
//! its fast C hook (they share one slot), and the error handler for uncaught tasklet
//! exceptions.
//!
//! A callback's exception is reported with `PyErr_WriteUnraisable` and swallowed: the
//! operation goes on. While a callback runs (`schedlock`), a switch or channel operation
//! raises `RuntimeError` instead of re-entering the scheduler.
//!
//! Invariants: each slot holds an owned reference (or nothing); it is read on the hot path
//! only through an atomic "is set" flag, and updated under its mutex.

use std::ffi::c_int;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;

use crate::error::PyErr;
use crate::object::{call, singletons, Obj, PyObject, PyResult};
use crate::tasklet::{PyTaskletObject, TaskletPtr};
use crate::thread_state::ThreadState;

/// The fast schedule hook: `int hook(PyTaskletObject *from, PyTaskletObject *to)`.
pub type ScheduleHook = unsafe extern "C" fn(*mut PyTaskletObject, *mut PyTaskletObject) -> c_int;

/// An owned object reference that may cross threads inside a `Mutex`.
struct Slot(usize);

impl Slot {
    fn get(&self) -> Option<Obj> {
        // SAFETY: the slot owns a reference, so the object is live; we add our own.
        (self.0 != 0).then(|| unsafe { Obj::from_borrowed(self.0 as *mut PyObject) })
    }
    fn replace(&mut self, new: Option<Obj>) -> Option<Obj> {
        let old = std::mem::replace(&mut self.0, new.map_or(0, |o| o.into_raw() as usize));
        // SAFETY: the slot owned that reference.
        unsafe { Obj::from_owned(old as *mut PyObject) }
    }
}

static CHANNEL_CB: Mutex<Slot> = Mutex::new(Slot(0));
static CHANNEL_CB_SET: AtomicBool = AtomicBool::new(false);
static SCHEDULE_CB: Mutex<Slot> = Mutex::new(Slot(0));
/// The fast hook (a function pointer), 0 when none.
static SCHEDULE_HOOK: AtomicUsize = AtomicUsize::new(0);
static ERROR_HANDLER: Mutex<Slot> = Mutex::new(Slot(0));
static ERROR_HANDLER_SET: AtomicBool = AtomicBool::new(false);

fn lock(m: &'static Mutex<Slot>) -> std::sync::MutexGuard<'static, Slot> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Replaces the channel callback; returns the previous one.
pub(crate) fn set_channel_callback(cb: Option<Obj>) -> Option<Obj> {
    let mut g = lock(&CHANNEL_CB);
    CHANNEL_CB_SET.store(cb.is_some(), Ordering::Release);
    g.replace(cb)
}

/// The channel callback.
pub(crate) fn channel_callback_obj() -> Option<Obj> {
    lock(&CHANNEL_CB).get()
}

/// Replaces the schedule callback (and installs the hook that calls it); returns the previous
/// callback.
pub(crate) fn set_schedule_callback(cb: Option<Obj>) -> Option<Obj> {
    let mut g = lock(&SCHEDULE_CB);
    let hook = if cb.is_some() {
        call_schedule_callback as ScheduleHook as usize
    } else {
        0
    };
    SCHEDULE_HOOK.store(hook, Ordering::Release);
    g.replace(cb)
}

/// The schedule callback object (not the C hook).
pub(crate) fn schedule_callback_obj() -> Option<Obj> {
    lock(&SCHEDULE_CB).get()
}

/// Installs a C hook in the schedule slot, replacing the callback's hook.
pub(crate) fn set_schedule_hook(hook: Option<ScheduleHook>) {
    SCHEDULE_HOOK.store(hook.map_or(0, |h| h as usize), Ordering::Release);
}

/// Replaces the error handler; returns the previous one.
pub(crate) fn set_error_handler(h: Option<Obj>) -> Option<Obj> {
    let mut g = lock(&ERROR_HANDLER);
    ERROR_HANDLER_SET.store(h.is_some(), Ordering::Release);
    g.replace(h)
}

/// The error handler.
pub(crate) fn error_handler() -> Option<Obj> {
    if !ERROR_HANDLER_SET.load(Ordering::Acquire) {
        return None;
    }
    lock(&ERROR_HANDLER).get()
}

/// Calls the error handler as `h(type, value, traceback)`.
pub(crate) fn call_error_handler(h: &Obj, e: PyErr) -> PyResult<()> {
    let v = e.into_value();
    // SAFETY: v is an exception instance.
    let tb = unsafe { crate::object::exception::fields(v.as_ptr()) }
        .traceback
        .clone()
        .unwrap_or_else(Obj::none);
    // SAFETY: types are live objects.
    let t = unsafe { Obj::from_borrowed(v.type_ptr().cast()) };
    // SAFETY: h is live.
    unsafe { call::call_vec(h.as_ptr(), vec![t, v, tb]) }.map(drop)
}

/// Runs `f` with the scheduler locked against re-entry, reporting (and swallowing) any
/// exception it leaves with `what` as the context.
fn guarded(ts: &ThreadState, what: &str, f: impl FnOnce() -> PyResult<()>) {
    let s = &ts.sched;
    // The running tasklet's own pending exception must survive the callback.
    let saved = ts.curexc.take();
    s.schedlock.set(s.schedlock.get() + 1);
    let r = {
        let _nested = crate::scheduler::Nested::enter(s);
        f()
    };
    s.schedlock.set(s.schedlock.get() - 1);
    if let Err(e) = r {
        e.restore();
        crate::capi::write_unraisable_text(what);
    }
    drop(ts.curexc.replace(saved));
}

/// Calls the channel callback `cb(channel, tasklet, sending, willblock)` if one is set.
/// (Inline: on every channel operation, so the "none set" case must cost one load.)
#[inline(always)]
pub(crate) fn channel_callback(
    ts: &ThreadState,
    chan: *mut PyObject,
    t: TaskletPtr,
    sending: bool,
    willblock: bool,
) {
    if CHANNEL_CB_SET.load(Ordering::Acquire) {
        call_channel_callback(ts, chan, t, sending, willblock);
    }
}

#[cold]
#[inline(never)]
fn call_channel_callback(
    ts: &ThreadState,
    chan: *mut PyObject,
    t: TaskletPtr,
    sending: bool,
    willblock: bool,
) {
    let Some(cb) = channel_callback_obj() else {
        return;
    };
    guarded(ts, "Error in channel callback", || {
        // SAFETY: chan and t are live.
        let args = unsafe {
            vec![
                Obj::from_borrowed(chan),
                Obj::from_borrowed(t.cast()),
                singletons::new_bool(sending),
                singletons::new_bool(willblock),
            ]
        };
        // SAFETY: cb is live.
        unsafe { call::call_vec(cb.as_ptr(), args) }.map(drop)
    });
}

/// Calls the schedule hook for a real switch `prev -> next` (current is still `prev`). Inline:
/// without a hook (the common case) it is one load on the switch path.
#[inline(always)]
pub(crate) fn schedule_callback(ts: &ThreadState, prev: TaskletPtr, next: TaskletPtr) {
    let h = SCHEDULE_HOOK.load(Ordering::Acquire);
    if h != 0 {
        call_schedule_hook(ts, h, prev, next);
    }
}

#[cold]
#[inline(never)]
fn call_schedule_hook(ts: &ThreadState, h: usize, prev: TaskletPtr, next: TaskletPtr) {
    // SAFETY: the slot only ever holds ScheduleHook function pointers.
    let hook: ScheduleHook = unsafe { std::mem::transmute::<usize, ScheduleHook>(h) };
    // Stackless calls the hook with `current` still `prev`, although the queue operation may
    // already have moved the cursor (a run() removing its caller, a tasklet dying).
    let cursor = ts.sched.current.replace(prev);
    guarded(ts, "Error in scheduling callback", || {
        // SAFETY: a C hook called with two live tasklets.
        if unsafe { hook(prev, next) } != 0 {
            return Err(PyErr::fetch().unwrap_or_else(|| {
                PyErr::system_error(
                    "the schedule hook returned an error without setting an exception",
                )
            }));
        }
        Ok(())
    });
    ts.sched.current.set(cursor);
}

/// The hook installed by `set_schedule_callback`: calls the callback object as
/// `cb(prev, next)`. Returns -1 with an exception set when it raised.
unsafe extern "C" fn call_schedule_callback(
    prev: *mut PyTaskletObject,
    next: *mut PyTaskletObject,
) -> c_int {
    let Some(cb) = schedule_callback_obj() else {
        return 0;
    };
    let arg = |t: *mut PyTaskletObject| {
        if t.is_null() {
            Obj::none()
        } else {
            // SAFETY: t is a live tasklet.
            unsafe { Obj::from_borrowed(t.cast()) }
        }
    };
    // SAFETY: cb is live.
    match unsafe { call::call_vec(cb.as_ptr(), vec![arg(prev), arg(next)]) } {
        Ok(_) => 0,
        Err(e) => {
            e.restore();
            -1
        }
    }
}
