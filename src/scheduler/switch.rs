//! The switch itself: [`schedule_task`] moves control from the running tasklet to another,
//! and [`tasklet_entry`] / [`end_tasklet`] start and finish tasklet bodies on their stacks.
//!
//! Every scheduler operation first rearranges the queues, then calls `schedule_task(prev,
//! next)`, which (like Stackless's `slp_schedule_task`):
//! 1. makes `next` runnable (unblocks it from its channel, or inserts it when floating);
//! 2. returns prev's claimed tempval at once when `prev == next` (no switch);
//! 3. calls the schedule callback with `current` still `prev`;
//! 4. sets `current = next`, hands over the error indicator and nesting level, and switches;
//! 5. when prev runs again, finishes the switch on its side ([`after_switch`]) and returns its
//!    claimed tempval (raising when it holds a bomb).
//!
//! Never hold a `RefCell` borrow of the thread state across step 4.

use std::panic::{catch_unwind, AssertUnwindSafe};

use crate::bomb;
use crate::callbacks;
use crate::channel;
use crate::error::PyErr;
use crate::object::{call, exception, Obj, PyResult};
use crate::stack::{self, Transfer};
use crate::tasklet::{tasklet_type, tref, PyTaskletObject, TaskletPtr};
use crate::thread_state::{self, ThreadState};

/// Makes sure the thread has its main tasklet (the first scheduler use on a thread creates it,
/// standing for the thread's own code) and returns the scheduler.
#[inline]
pub(crate) fn sched(ts: &ThreadState) -> &super::Scheduler {
    if ts.sched.main.get().is_null() {
        create_main(ts);
    }
    &ts.sched
}

#[cold]
fn create_main(ts: &ThreadState) {
    let tp = tasklet_type();
    // SAFETY: PyTaskletObject is the layout of tasklet instances.
    let main = unsafe { crate::object::alloc_instance(tp, PyTaskletObject::fresh(tp, ts, None)) };
    let t = main.into_raw() as TaskletPtr;
    // SAFETY: t is live; it becomes the only tasklet in the (empty) run queue.
    unsafe {
        tref(t).is_main.set(true);
        tref(t).started.set(true);
        ts.sched.main.set(t);
        ts.sched.insert(t);
    }
}

/// Takes `t`'s tempval as the result of the operation that suspended it: a bomb raises its
/// exception, nothing gives `None`.
pub(crate) fn claim(t: &PyTaskletObject) -> PyResult<Obj> {
    match t.tempval.take() {
        None => Ok(Obj::none()),
        Some(v) => {
            // SAFETY: v is live.
            if unsafe { bomb::is_bomb(v.as_ptr()) } {
                Err(bomb::explode(&v))
            } else {
                Ok(v)
            }
        }
    }
}

/// Refuses a switch that the switch trap or a running callback forbids.
pub(crate) fn check_can_switch(s: &super::Scheduler) -> PyResult<()> {
    if s.schedlock.get() > 0 {
        return Err(PyErr::runtime_error(
            "Recursive scheduler call due to callbacks!",
        ));
    }
    if s.switch_trap.get() != 0 {
        return Err(PyErr::runtime_error("switch_trap"));
    }
    Ok(())
}

/// Gives `next` a context to resume: a tasklet that never ran gets a stack and a fresh
/// context starting in [`tasklet_entry`]. Fails only when no memory is left for a stack.
fn prepare(ts: &ThreadState, next: TaskletPtr) -> PyResult<()> {
    // SAFETY: next is live.
    let n = unsafe { tref(next) };
    // SAFETY: a momentary read of the cell.
    if unsafe { (*n.ctx.as_ptr()).is_some() } {
        return Ok(());
    }
    if n.started.get() {
        stack::fatal("switching to a tasklet that is already running");
    }
    let size = match n.stack_size.get() {
        0 => stack::default_size(),
        sz => sz,
    };
    let st =
        ts.sched.pool.borrow_mut().take(size).ok_or_else(|| {
            PyErr::new(exception::memory_error(), "cannot allocate a tasklet stack")
        })?;
    // SAFETY: the stack is owned by the tasklet from now on and outlives its context.
    let ctx = unsafe { stack::new_context(&st, tasklet_entry) };
    n.stack.set(Some(st));
    n.ctx.set(Some(ctx));
    n.started.set(true);
    // SAFETY: next is live and was not started, so it is not in the list.
    unsafe { ts.sched.cstate_add(next) };
    Ok(())
}

/// Makes `t` runnable: moves it from its channel to the run queue, or inserts it when it is
/// floating. Does nothing when it is runnable already.
///
/// # Safety
/// `t` is a live tasklet of this thread.
unsafe fn make_runnable(s: &super::Scheduler, t: TaskletPtr) {
    // SAFETY: t is live.
    unsafe {
        let tt = tref(t);
        if tt.blocked.get() != 0 {
            let r = channel::unblock(t);
            s.link_before_current(r.into_raw() as TaskletPtr);
        } else if !tt.scheduled() {
            s.insert(t);
        }
    }
}

/// Switches from `prev` (the running tasklet) to `next`; see the module docs. Returns prev's
/// claimed tempval once prev runs again.
pub(crate) fn schedule_task(ts: &ThreadState, prev: TaskletPtr, next: TaskletPtr) -> PyResult<Obj> {
    let s = &ts.sched;
    if prev != next {
        if let Err(e) = prepare(ts, next) {
            // No memory for next's stack: prev keeps running, back in the run queue.
            // SAFETY: prev is the running tasklet, live and of this thread.
            unsafe { make_runnable(s, prev) };
            s.current.set(prev);
            // SAFETY: prev is live.
            drop(unsafe { tref(prev) }.tempval.take());
            after_switch(ts);
            return Err(e);
        }
    }
    // SAFETY: prev and next are live tasklets of this thread.
    unsafe { make_runnable(s, next) };
    // SAFETY: prev is live.
    let p = unsafe { tref(prev) };
    if prev == next {
        after_switch(ts);
        return claim(p);
    }
    callbacks::schedule_callback(ts, prev, next);
    // SAFETY: both live; next was prepared.
    unsafe { hard_switch(ts, prev, next) };
    after_switch(ts);
    claim(p)
}

/// The raw switch: bookkeeping, then the context switch. Returns when prev is resumed.
///
/// # Safety
/// `prev` is the running tasklet; `next` is prepared and runnable.
unsafe fn hard_switch(ts: &ThreadState, prev: TaskletPtr, next: TaskletPtr) {
    let s = &ts.sched;
    // SAFETY: both live.
    let (p, n) = unsafe { (tref(prev), tref(next)) };
    p.curexc.set(ts.curexc.take());
    ts.curexc.set(n.curexc.take());
    p.nesting_level.set(s.nesting_level.get());
    s.nesting_level.set(n.nesting_level.get());
    s.current.set(next);
    // SAFETY: a momentary read of prev's stack cell.
    if let Some(st) = unsafe { (*p.stack.as_ptr()).as_ref() } {
        st.check_canary();
    }
    let target = n
        .ctx
        .take()
        .unwrap_or_else(|| stack::fatal("switch target has no context"));
    // SAFETY: prev's ctx slot lives as long as prev, which is kept alive by whoever holds
    // it while it is suspended; the target context belongs to a live stack (next's own, or
    // the thread's when next is main), which a momentary read of the cell names.
    unsafe { stack::switch(p.ctx.as_ptr(), target, (*n.stack.as_ptr()).as_ref()) };
}

/// Finishes a switch on the side that now runs: returns a dead tasklet's stack to the pool
/// and releases the references parked during the switch.
pub(crate) fn after_switch(ts: &ThreadState) {
    let s = &ts.sched;
    if let Some(st) = s.graveyard.take() {
        s.pool.borrow_mut().give(st);
    }
    loop {
        let parked = std::mem::take(&mut *s.post_switch.borrow_mut());
        if parked.is_empty() {
            break;
        }
        drop(parked);
    }
}

/// Chooses who runs when the running tasklet leaves the run queue and nothing else is
/// runnable: the innermost watchdog (or main) is revived when it is floating; otherwise this
/// is a deadlock.
pub(crate) fn wakeup_when_empty(s: &super::Scheduler) -> PyResult<TaskletPtr> {
    let w = s.innermost_watchdog();
    // SAFETY: watchdogs and main are live.
    if unsafe { tref(w) }.scheduled() {
        Err(PyErr::runtime_error(
            "Deadlock: the last runnable tasklet cannot be blocked.",
        ))
    } else {
        Ok(w)
    }
}

/// Where every tasklet body starts, on its own stack.
extern "C" fn tasklet_entry(t: Transfer) -> ! {
    // SAFETY: the switcher passed its save slot (or 0).
    unsafe { stack::on_first_wake(t) };
    let ts = thread_state::current();
    after_switch(ts);
    let me = ts.sched.current.get();
    let result = catch_unwind(AssertUnwindSafe(|| run_body(me)))
        .unwrap_or_else(|p| Err(crate::capi::boundary::panic_error(p)));
    end_tasklet(ts, me, result)
}

/// Runs the body of a tasklet that starts now. A bomb placed before its first run (it was
/// killed or thrown to while new) ends it without calling the body.
fn run_body(me: TaskletPtr) -> PyResult<Obj> {
    // SAFETY: me is the running tasklet.
    let m = unsafe { tref(me) };
    let body = m
        .body
        .take()
        .unwrap_or_else(|| stack::fatal("a tasklet started without a body"));
    m.func.set(Some(body.func.clone()));
    if let Some(v) = m.tempval.take() {
        // SAFETY: v is live.
        if unsafe { bomb::is_bomb(v.as_ptr()) } {
            return Err(bomb::explode(&v));
        }
    }
    let kwargs = body
        .kwargs
        .as_ref()
        .map_or(std::ptr::null_mut(), Obj::as_ptr);
    // SAFETY: func is live, args a tuple, kwargs NULL or a dict (checked at setup).
    unsafe { call::call(body.func.as_ptr(), body.args.as_ptr(), kwargs) }
}

/// Decides what an uncaught exception of a dying tasklet becomes: `TaskletExit` ends it
/// silently; otherwise the error handler (if set) is called in the dying tasklet's context;
/// whatever is left is delivered to the innermost watchdog or main.
fn route_exception(e: PyErr) -> Option<PyErr> {
    if e.matches(exception::tasklet_exit()) {
        return None;
    }
    match callbacks::error_handler() {
        None => Some(e),
        Some(h) => match callbacks::call_error_handler(&h, e) {
            Ok(()) => None,
            Err(e2) if e2.matches(exception::tasklet_exit()) => None,
            Err(e2) => Some(e2),
        },
    }
}

/// Ends the running tasklet `me` and switches away for good.
fn end_tasklet(ts: &ThreadState, me: TaskletPtr, result: PyResult<Obj>) -> ! {
    let s = &ts.sched;
    let exc = match result {
        Ok(v) => {
            drop(v);
            None
        }
        Err(e) => route_exception(e),
    };
    // Whatever the body left in the error indicator dies with it.
    drop(ts.curexc.take());
    // SAFETY: me is the running tasklet: live, current, in the run queue.
    let m = unsafe { tref(me) };
    // SAFETY: as above.
    s.release_later(unsafe { s.unlink(me) });
    m.started.set(false);
    m.nesting_level.set(0);
    drop(m.func.take());
    drop(m.tempval.take());
    // SAFETY: me is in the C-state list since it started.
    unsafe { s.cstate_remove(me) };
    let dead_stack = m.stack.take();
    let next = match exc {
        Some(e) => {
            let w = s.innermost_watchdog();
            // SAFETY: watchdogs and main are live.
            unsafe { tref(w) }.tempval.set(Some(bomb::new(e)));
            w
        }
        None if !s.current.get().is_null() => s.current.get(),
        None => {
            let w = s.innermost_watchdog();
            // SAFETY: as above.
            let wt = unsafe { tref(w) };
            match wt.blocked.get() {
                0 => {}
                dir => {
                    let msg = if dir < 0 {
                        "the main tasklet is receiving without a sender available."
                    } else {
                        "the main tasklet is sending without a receiver available."
                    };
                    wt.tempval.set(Some(bomb::new(PyErr::runtime_error(msg))));
                }
            }
            w
        }
    };
    if prepare(ts, next).is_err() {
        stack::fatal("no memory for a tasklet stack while a tasklet was ending");
    }
    // SAFETY: next is a live tasklet of this thread.
    unsafe { make_runnable(s, next) };
    callbacks::schedule_callback(ts, me, next);
    // SAFETY: next is live and prepared.
    let n = unsafe { tref(next) };
    ts.curexc.set(n.curexc.take());
    s.nesting_level.set(n.nesting_level.get());
    s.current.set(next);
    // The stack we are running on is freed by the other side, after the switch.
    s.graveyard.set(dead_stack);
    let target = n
        .ctx
        .take()
        .unwrap_or_else(|| stack::fatal("switch target has no context"));
    // SAFETY: target is a suspended context of a live stack; nobody keeps ours.
    unsafe { stack::exit_to(target, (*n.stack.as_ptr()).as_ref()) }
}
