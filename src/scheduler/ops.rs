//! The tasklet and scheduler operations behind the C API, with Stackless 3.7's semantics
//! (reference/stackless-semantics.md §3.2, §4.2, §4.5–§4.9).
//!
//! Each operation checks everything that can fail *before* it changes any state, so a
//! failed call leaves queues and flags as they were.

use std::ffi::c_int;
use std::ptr;

use super::switch::{
    check_can_switch, make_runnable, sched, sched_op, schedule_task, switch_to, wakeup_when_empty,
};
use crate::bomb;
use crate::channel;
use crate::error::PyErr;
use crate::object::typeobj::{self, PyTypeObject};
use crate::object::{call, dict, exception, tuple, Obj, PyObject, PyResult};
use crate::tasklet::{tasklet_type, tref, Body, PyTaskletObject, TaskletPtr};
use crate::thread_state::{self, ThreadState};

/// `Py_WATCHDOG_THREADBLOCK`.
pub const WATCHDOG_THREADBLOCK: c_int = 1;
/// `PY_WATCHDOG_SOFT`.
pub const WATCHDOG_SOFT: c_int = 2;
/// `PY_WATCHDOG_IGNORE_NESTING`.
pub const WATCHDOG_IGNORE_NESTING: c_int = 4;
/// `PY_WATCHDOG_TOTALTIMEOUT`.
pub const WATCHDOG_TOTALTIMEOUT: c_int = 8;
/// `PY_WATCHDOG_TIME` (libstackless extension).
pub const WATCHDOG_TIME: c_int = 16;
const WATCHDOG_ALL: c_int = WATCHDOG_THREADBLOCK
    | WATCHDOG_SOFT
    | WATCHDOG_IGNORE_NESTING
    | WATCHDOG_TOTALTIMEOUT
    | WATCHDOG_TIME;

/// The running tasklet (creating main on first use).
pub(crate) fn current(ts: &ThreadState) -> TaskletPtr {
    sched(ts).current.get()
}

/// Refuses tasklets of other (or ended) threads.
fn own(ts: &ThreadState, t: &PyTaskletObject) -> PyResult<()> {
    if t.is_own(ts) {
        Ok(())
    } else if !t.thread_alive() {
        Err(PyErr::runtime_error("tasklet has no thread"))
    } else {
        Err(PyErr::runtime_error(
            "this operation on a tasklet of another thread is not supported by libstackless",
        ))
    }
}

fn check_callable(func: &Option<Obj>) -> PyResult<()> {
    match func {
        // SAFETY: f is live.
        Some(f) if !unsafe { call::is_callable(f.as_ptr()) } => Err(PyErr::type_error(
            "tasklet function must be a callable or None",
        )),
        _ => Ok(()),
    }
}

/// `None` (the object) counts as no function.
fn none_to_null(o: Option<Obj>) -> Option<Obj> {
    o.filter(|o| o.as_ptr() != crate::object::singletons::none())
}

/// `PyTasklet_New`: a tasklet of type `tp` (NULL: the tasklet type) bound to `func`.
pub(crate) fn new_tasklet(
    ts: &ThreadState,
    tp: *mut PyTypeObject,
    func: Option<Obj>,
) -> PyResult<Obj> {
    let tp = if tp.is_null() { tasklet_type() } else { tp };
    if !typeobj::is_subtype(tp, tasklet_type()) {
        return Err(PyErr::type_error(format!(
            "PyTasklet_New: type must be a subtype of tasklet, not {}",
            typeobj::name(tp)
        )));
    }
    let func = none_to_null(func);
    check_callable(&func)?;
    sched(ts);
    // SAFETY: PyTaskletObject is a prefix of every tasklet subtype's instances.
    Ok(unsafe { crate::object::alloc_instance(tp, PyTaskletObject::fresh(tp, ts, func)) })
}

/// The callable a not-yet-alive tasklet is bound to (kept in tempval, as Stackless does).
fn bound_func(t: &PyTaskletObject) -> Option<Obj> {
    let p = bound_func_ptr(t);
    // SAFETY: p is NULL or live.
    unsafe { Obj::from_borrowed_opt(p) }
}

/// [`bound_func`], borrowed (NULL when none).
fn bound_func_ptr(t: &PyTaskletObject) -> *mut PyObject {
    let p = t.tempval_ptr();
    // SAFETY: p is NULL or live.
    if !p.is_null() && unsafe { call::is_callable(p) } {
        p
    } else {
        ptr::null_mut()
    }
}

fn check_args(args: &Obj, kwargs: &Option<Obj>) -> PyResult<()> {
    // SAFETY: both are live.
    unsafe {
        if !tuple::is_tuple(args.as_ptr()) {
            return Err(PyErr::type_error("tasklet arguments must be a tuple"));
        }
        if let Some(k) = kwargs {
            if !dict::is_dict(k.as_ptr()) {
                return Err(PyErr::type_error(
                    "tasklet keyword arguments must be a dict",
                ));
            }
        }
    }
    Ok(())
}

/// `PyTasklet_BindEx`.
pub(crate) fn bind(
    ts: &ThreadState,
    t: TaskletPtr,
    func: Option<Obj>,
    args: Option<Obj>,
    kwargs: Option<Obj>,
) -> PyResult<()> {
    let s = sched(ts);
    // SAFETY: t is live.
    let tt = unsafe { tref(t) };
    let func = none_to_null(func);
    check_callable(&func)?;
    let args = none_to_null(args);
    let kwargs = none_to_null(kwargs);
    if s.current.get() == t {
        return Err(PyErr::runtime_error("can't (re)bind the current tasklet"));
    }
    if tt.scheduled() {
        return Err(PyErr::runtime_error("tasklet is scheduled"));
    }
    if tt.is_main.get() {
        return Err(PyErr::runtime_error("can't unbind the main tasklet"));
    }
    if tt.has_cstate() && tt.thread_alive() {
        return Err(PyErr::runtime_error("tasklet has C state on its stack"));
    }
    if let Some(a) = &args {
        check_args(a, &kwargs)?;
    } else if let Some(k) = &kwargs {
        check_args(&tuple::empty(), &Some(k.clone()))?;
    }
    if (args.is_some() || kwargs.is_some()) && !tt.thread_alive() {
        // With arguments the tasklet becomes paused, a state only a live thread can hold.
        return Err(PyErr::runtime_error("tasklet has no thread"));
    }
    // A paused tasklet without C state loses its soft frames without running them (as
    // Stackless's bind drops the frame).
    tt.started.set(false);
    tt.frames.clear();
    tt.nesting_level.set(0);
    // The previously bound function, for `bind(NULL, args)`.
    let previous = tt
        .body
        .take()
        .map(|b| b.func)
        .or_else(|| tt.func.take())
        .or_else(|| bound_func(tt));
    if args.is_none() && kwargs.is_none() {
        drop(tt.tempval.replace(func));
        return Ok(());
    }
    let Some(f) = func.or(previous) else {
        return Err(PyErr::runtime_error(
            "the tasklet was not bound to a function",
        ));
    };
    tt.body.set(Some(Body {
        func: f,
        args: args.unwrap_or_else(tuple::empty),
        kwargs,
    }));
    drop(tt.tempval.take());
    Ok(())
}

/// `PyTasklet_Setup`: gives a bound tasklet its arguments and appends it to the run queue.
pub(crate) fn setup(
    ts: &ThreadState,
    t: TaskletPtr,
    args: Obj,
    kwargs: Option<Obj>,
) -> PyResult<()> {
    let s = sched(ts);
    // SAFETY: t is live.
    let tt = unsafe { tref(t) };
    own(ts, tt)?;
    if tt.alive() {
        return Err(PyErr::runtime_error("tasklet is alive"));
    }
    let kwargs = none_to_null(kwargs);
    check_args(&args, &kwargs)?;
    if bound_func_ptr(tt).is_null() {
        return Err(PyErr::runtime_error(
            "the tasklet was not bound to a function",
        ));
    }
    // The bound function's reference moves from tempval into the body.
    let func = tt.tempval.take().expect("checked above");
    tt.body.set(Some(Body { func, args, kwargs }));
    // SAFETY: t is live, floating (not alive before) and of this thread.
    unsafe { s.insert(t) };
    Ok(())
}

fn check_runnable(tt: &PyTaskletObject) -> PyResult<()> {
    if tt.blocked.get() != 0 {
        return Err(PyErr::runtime_error("You cannot run a blocked tasklet"));
    }
    if !tt.alive() {
        return Err(PyErr::runtime_error(
            "You cannot run an unbound(dead) tasklet",
        ));
    }
    Ok(())
}

/// `PyTasklet_Run` (`remove_caller` false) and `PyTasklet_Switch` (true): switch to `t`,
/// inserting it at the tail when it is not scheduled. Run leaves the caller where it is in
/// the queue; switch removes it (paused). Returns the unwind token after a soft switch, None
/// otherwise.
pub(crate) fn run(
    ts: &ThreadState,
    t: TaskletPtr,
    remove_caller: bool,
    soft: bool,
) -> PyResult<Obj> {
    let s = sched_op(ts)?;
    // SAFETY: t is live.
    let tt = unsafe { tref(t) };
    if remove_caller && !tt.is_own(ts) && tt.thread_alive() {
        // Stackless refuses this even where it can run tasklets of other threads.
        return Err(PyErr::runtime_error("can't switch to a different thread."));
    }
    own(ts, tt)?;
    check_runnable(tt)?;
    let prev = s.current.get();
    if prev == t {
        return Ok(Obj::none());
    }
    check_can_switch(s)?;
    // SAFETY: prev is the running tasklet.
    let p = unsafe { tref(prev) };
    drop(p.tempval.take());
    if !tt.scheduled() {
        // SAFETY: t is live, floating, of this thread.
        unsafe { s.insert(t) };
    }
    if remove_caller {
        // SAFETY: prev is current, hence queued; its reference is released after the switch.
        s.release_later(unsafe { s.unlink(prev) });
    }
    let r = switch_to(ts, prev, t, soft)?;
    Ok(if crate::scheduler::frames::is_token(&r) {
        r
    } else {
        Obj::none()
    })
}

/// `PyTasklet_Insert`.
pub(crate) fn insert(ts: &ThreadState, t: TaskletPtr) -> PyResult<()> {
    let s = sched(ts);
    // SAFETY: t is live.
    let tt = unsafe { tref(t) };
    own(ts, tt)?;
    check_runnable(tt)?;
    if !tt.scheduled() {
        // SAFETY: t is live, floating, of this thread.
        unsafe { s.insert(t) };
    }
    Ok(())
}

/// `PyTasklet_Remove`.
pub(crate) fn remove(ts: &ThreadState, t: TaskletPtr) -> PyResult<()> {
    let s = sched(ts);
    // SAFETY: t is live.
    let tt = unsafe { tref(t) };
    if !tt.thread_alive() {
        return Ok(());
    }
    own(ts, tt)?;
    if tt.blocked.get() != 0 {
        return Err(PyErr::runtime_error("You cannot remove a blocked tasklet."));
    }
    if s.current.get() == t {
        return Err(PyErr::runtime_error(
            "The current tasklet cannot be removed.",
        ));
    }
    if tt.scheduled() {
        // SAFETY: t is runnable, hence in the run queue; it is not running.
        drop(unsafe { s.unlink(t) });
    }
    Ok(())
}

/// `PyStackless_Schedule`: yields to the next runnable tasklet, staying in the queue (at the
/// end, in effect) or leaving it (`remove`). Returns the caller's tempval when it resumes
/// (`retval`, unless somebody changed it meanwhile), or the unwind token after a soft switch.
#[inline]
pub(crate) fn schedule(ts: &ThreadState, retval: Obj, remove: bool, soft: bool) -> PyResult<Obj> {
    let s = sched_op(ts)?;
    let prev = s.current.get();
    // SAFETY: prev is the running tasklet.
    let p = unsafe { tref(prev) };
    if remove || p.next.get() != prev {
        check_can_switch(s)?;
    }
    p.tempval.set(Some(retval));
    let next = if remove {
        // SAFETY: prev is current, hence queued.
        let r = unsafe { s.unlink(prev) };
        s.release_later(r);
        match s.current.get() {
            n if !n.is_null() => n,
            _ => match wakeup_when_empty(s) {
                // SAFETY: w is a live tasklet of this thread.
                Ok(w) => unsafe {
                    make_runnable(s, w);
                    w
                },
                Err(e) => {
                    // SAFETY: prev is live and floating; the queue is empty.
                    unsafe { s.insert(prev) };
                    drop(p.tempval.take());
                    super::switch::after_switch(ts);
                    return Err(e);
                }
            },
        }
    } else {
        p.next.get()
    };
    switch_to(ts, prev, next, soft)
}

/// `PyStackless_RunWatchdogEx`: runs the scheduler until nothing else is runnable. The
/// caller leaves the run queue while it runs. Returns None (queue drained, or everyone else
/// blocked), or raises the uncaught exception of a tasklet.
pub(crate) fn run_watchdog(
    ts: &ThreadState,
    timeout: std::ffi::c_long,
    flags: c_int,
) -> PyResult<Obj> {
    if flags & !WATCHDOG_ALL != 0 {
        return Err(PyErr::value_error(format!(
            "PyStackless_RunWatchdogEx: unknown flags 0x{:x}",
            flags & !WATCHDOG_ALL
        )));
    }
    let s = sched_op(ts)?;
    let me = s.current.get();
    // SAFETY: me is the running tasklet.
    let m = unsafe { tref(me) };
    if m.next.get() == me {
        // Nothing else is runnable.
        return Ok(Obj::none());
    }
    check_can_switch(s)?;
    let owns_interrupt = crate::watchdog::acquire(ts, me, timeout, flags);
    s.watchdogs.borrow_mut().push(me);
    drop(m.tempval.take());
    // SAFETY: me is current, hence queued. Holding this reference on our own stack keeps the
    // watchdog alive while it waits; it is always revived eventually.
    let my_ref = unsafe { s.unlink(me) };
    let next = s.current.get();
    let result = {
        let _nested = super::Nested::enter(s);
        switch_to(ts, me, next, false)
    };
    let deeper = {
        let mut w = s.watchdogs.borrow_mut();
        match w.iter().rposition(|&x| x == me) {
            Some(pos) => w.split_off(pos),
            None => Vec::new(),
        }
    };
    for &d in deeper.iter().skip(1) {
        // SAFETY: a watchdog deeper than us is suspended inside its own run and alive.
        let dt = unsafe { tref(d) };
        if dt.alive() && !dt.scheduled() {
            // SAFETY: d is live, floating, of this thread.
            unsafe { s.insert(d) };
        }
    }
    drop(my_ref);
    if owns_interrupt {
        crate::watchdog::release(ts);
    }
    result
}

/// `PyTasklet_Throw` / `RaiseException` / `Kill`: raises `err` in `t`, now (switching to it)
/// or when it next runs (`pending`).
pub(crate) fn throw(ts: &ThreadState, t: TaskletPtr, pending: bool, err: PyErr) -> PyResult<()> {
    let s = sched_op(ts)?;
    // SAFETY: t is live.
    let tt = unsafe { tref(t) };
    if s.current.get() == t {
        return Err(err);
    }
    own(ts, tt)?;
    if !tt.alive() {
        if err.matches(exception::tasklet_exit()) {
            unschedule_dead(s, t);
            return Ok(());
        }
        return Err(PyErr::runtime_error("You cannot throw to a dead tasklet"));
    }
    if !pending {
        check_can_switch(s)?;
    }
    drop(tt.tempval.replace(Some(bomb::new(err))));
    if pending {
        if tt.blocked.get() != 0 {
            // SAFETY: t is blocked; its reference moves from the channel to the run queue.
            let r = unsafe { channel::unblock(t) };
            unsafe { s.link_before_current(r.into_raw() as TaskletPtr) };
        } else if !tt.scheduled() {
            // SAFETY: t is live, floating, of this thread.
            unsafe { s.insert(t) };
        }
        return Ok(());
    }
    let prev = s.current.get();
    // SAFETY: prev is the running tasklet.
    drop(unsafe { tref(prev) }.tempval.take());
    schedule_task(ts, prev, t, false).map(drop)
}

/// A dead tasklet leaves whatever list it is still in.
fn unschedule_dead(s: &super::Scheduler, t: TaskletPtr) {
    // SAFETY: t is live.
    let tt = unsafe { tref(t) };
    if tt.blocked.get() != 0 {
        // SAFETY: t is blocked.
        drop(unsafe { channel::unblock(t) });
    } else if tt.scheduled() {
        // SAFETY: t is in the run queue and not running (it is dead).
        drop(unsafe { s.unlink(t) });
    }
}

/// `PyTasklet_KillEx`: raises `TaskletExit` in `t`; a dead tasklet is left alone.
pub(crate) fn kill(ts: &ThreadState, t: TaskletPtr, pending: bool) -> PyResult<()> {
    let s = sched(ts);
    // SAFETY: t is live.
    let tt = unsafe { tref(t) };
    if !tt.thread_alive() {
        // Its thread ended: drop what is left of it.
        drop(tt.body.take());
        return Ok(());
    }
    if !tt.alive() && s.current.get() != t {
        unschedule_dead(s, t);
        return Ok(());
    }
    throw(
        ts,
        t,
        pending,
        PyErr::from_type_args(exception::tasklet_exit(), tuple::empty()),
    )
}

/// Runs when the last reference to a tasklet goes: a tasklet with C state (it started and
/// is suspended) is killed first, so its cleanup code runs (SPEC §4).
pub(crate) unsafe fn tasklet_pre_dealloc(op: *mut PyObject) {
    let t = op as TaskletPtr;
    // SAFETY: op is a tasklet being freed (temporarily resurrected by the caller).
    let tt = unsafe { tref(t) };
    if !tt.has_cstate() {
        return;
    }
    let ts = thread_state::current();
    if !tt.is_own(ts) {
        // Cannot run it from this thread; its stack is leaked rather than corrupted.
        return;
    }
    let saved = ts.curexc.take();
    if let Err(e) = kill(ts, t, false) {
        e.restore();
        crate::capi::write_unraisable_text("Error killing a tasklet that was being freed");
    }
    drop(ts.curexc.replace(saved));
}

/// Calling the tasklet type: `tasklet(func=None)`.
pub(crate) unsafe fn tasklet_type_call(
    tp: *mut PyTypeObject,
    args: *mut PyObject,
    kw: *mut PyObject,
) -> PyResult<Obj> {
    // SAFETY: args is a tuple; kw NULL or a dict.
    let items = unsafe { tuple::items(args) };
    // SAFETY: kw is NULL or a dict.
    let kw_func = if kw.is_null() {
        None
    } else {
        unsafe { dict::items(kw) }.into_iter().next()
    };
    let func = match (items, kw_func) {
        ([], None) => None,
        // SAFETY: f is live.
        ([f], None) => Some(unsafe { Obj::from_borrowed(*f) }),
        // SAFETY: k is a live key.
        ([], Some((k, v)))
            if unsafe {
                crate::object::unicode::is_unicode(k.as_ptr())
                    && crate::object::unicode::as_str(k.as_ptr()) == "func"
            } =>
        {
            Some(v)
        }
        _ => {
            return Err(PyErr::type_error(
                "tasklet() takes at most 1 argument (func)",
            ))
        }
    };
    new_tasklet(thread_state::current(), tp, func)
}

/// Calling a tasklet: `t(*args, **kwargs)` is `setup`, and returns the tasklet.
pub(crate) unsafe fn tasklet_instance_call(
    op: *mut PyObject,
    args: *mut PyObject,
    kw: *mut PyObject,
) -> PyResult<Obj> {
    let ts = thread_state::current();
    // SAFETY: args and kw are live (kw may be NULL).
    let (a, k) = unsafe { (Obj::from_borrowed(args), Obj::from_borrowed_opt(kw)) };
    setup(ts, op as TaskletPtr, a, k)?;
    // SAFETY: op is live.
    Ok(unsafe { Obj::from_borrowed(op) })
}
