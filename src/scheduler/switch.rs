//! The switch itself: [`schedule_task`] moves control from the running tasklet to another,
//! softly (the caller returns `Py_UnwindToken` to the frame loop, which runs the next tasklet
//! on the same stack) or hardly (the caller keeps its C stack and a context switch resumes
//! the next tasklet's stack, or a runner for a tasklet without one).
//!
//! Every scheduler operation first rearranges the queues, then calls `schedule_task(prev,
//! next, soft)`, which (like Stackless's `slp_schedule_task`):
//! 1. makes `next` runnable (unblocks it from its channel, or inserts it when floating);
//! 2. returns prev's claimed tempval at once when `prev == next` (no switch);
//! 3. finds the stack `next` will run on (a hard switch to a tasklet without C state needs a
//!    runner; failing that, prev keeps running and gets `MemoryError`);
//! 4. calls the schedule callback with `current` still `prev`;
//! 5. sets `current = next` and hands over the error indicator and nesting level;
//! 6. soft: returns the unwind token (prev's result arrives later in its tempval, delivered
//!    by the frame loop); hard: switches, and when prev runs again finishes the switch on its
//!    side ([`after_switch`]) and returns its claimed tempval (raising when it holds a bomb).
//!
//! Stacks are owned by exactly one of: the running context (`Scheduler::running_stack`; main
//! runs on the thread's own stack, `None`), a tasklet suspended with C state
//! (`PyTaskletObject::stack`), an idle runner, or the free pool.
//!
//! Never hold a `RefCell` borrow of the thread state across a switch.

use crate::bomb;
use crate::callbacks;
use crate::channel;
use crate::error::PyErr;
use crate::object::{exception, Obj, PyResult};
use crate::stack::{self, Context, Stack};
use crate::tasklet::{tasklet_type, tref, PyTaskletObject, TaskletPtr};
use crate::thread_state::ThreadState;

use super::frames;

/// Makes sure the thread has its main tasklet (the first scheduler use on a thread creates it,
/// standing for the thread's own code) and returns the scheduler.
#[inline]
pub(crate) fn sched(ts: &ThreadState) -> &super::Scheduler {
    if ts.sched.main.get().is_null() {
        create_main(ts);
    }
    &ts.sched
}

/// [`sched`] for operations that may switch: refuses to run while a soft switch is pending
/// (the caller of a `_nr` function that returned 1 / `Py_UnwindToken` must return the token
/// before doing anything else).
#[inline]
pub(crate) fn sched_op(ts: &ThreadState) -> PyResult<&super::Scheduler> {
    if ts.soft_pending.get() {
        return Err(PyErr::system_error(
            "a soft switch is pending: a function that got 1 / Py_UnwindToken from a _nr call \
             must return Py_UnwindToken to its caller before calling the library again",
        ));
    }
    Ok(sched(ts))
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

/// Makes `t` runnable: moves it from its channel to the run queue, or inserts it when it is
/// floating. Does nothing when it is runnable already.
///
/// # Safety
/// `t` is a live tasklet of this thread.
pub(crate) unsafe fn make_runnable(s: &super::Scheduler, t: TaskletPtr) {
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

/// What a hard switch resumes: a suspended context and the stack it runs on (`None`: the
/// thread's own stack, where main runs).
pub(crate) struct Target {
    pub(crate) ctx: Context,
    pub(crate) stack: Option<Box<Stack>>,
}

/// The context to resume for `next`: its own when it is suspended with C state (or is main),
/// otherwise a runner (idle, or new from the pool) that will run it in its frame loop.
fn target_for(ts: &ThreadState, next: &PyTaskletObject) -> PyResult<Target> {
    if let Some(ctx) = next.ctx.take() {
        return Ok(Target {
            ctx,
            stack: next.stack.take(),
        });
    }
    if next.is_main.get() {
        stack::fatal("main has no context to resume");
    }
    frames::runner(ts)
}

/// Switches from `prev` (the running tasklet) to `next`; see the module docs. Returns prev's
/// claimed tempval once prev runs again, or the unwind token after a soft switch.
pub(crate) fn schedule_task(
    ts: &ThreadState,
    prev: TaskletPtr,
    next: TaskletPtr,
    soft: bool,
) -> PyResult<Obj> {
    // SAFETY: prev and next are live tasklets of this thread.
    unsafe { make_runnable(&ts.sched, next) };
    switch_to(ts, prev, next, soft)
}

/// [`schedule_task`] for a `next` the caller knows to be in the run queue already (the
/// common case: a yield to the successor, a channel partner just linked): steps 2-6.
pub(crate) fn switch_to(
    ts: &ThreadState,
    prev: TaskletPtr,
    next: TaskletPtr,
    soft: bool,
) -> PyResult<Obj> {
    let s = &ts.sched;
    // SAFETY: prev is live.
    let p = unsafe { tref(prev) };
    if prev == next {
        s.wd.no_soft_irq.set(false);
        after_switch(ts);
        return claim(p);
    }
    // A pending soft interrupt turns this switch into one to the soft watchdog.
    let next = crate::watchdog::soft_redirect(ts, p, next);
    // SAFETY: next is live.
    let n = unsafe { tref(next) };
    let target = if soft {
        None
    } else {
        match target_for(ts, n) {
            Ok(t) => Some(t),
            Err(e) => {
                // No memory for a runner: prev keeps running, back in the run queue.
                // SAFETY: prev is the running tasklet, live and of this thread.
                unsafe { make_runnable(s, prev) };
                s.current.set(prev);
                drop(p.tempval.take());
                after_switch(ts);
                return Err(e);
            }
        }
    };
    if let Some(t) = &target {
        prefetch(t, n);
    }
    callbacks::schedule_callback(ts, prev, next);
    hand_over(ts, p, n);
    match target {
        None => {
            ts.soft_pending.set(true);
            Ok(frames::unwind_token())
        }
        Some(target) => {
            // SAFETY: prev is the running tasklet; target belongs to next.
            unsafe { hard_switch(ts, p, target) };
            after_switch(ts);
            claim(p)
        }
    }
}

/// Starts loading what the other side of a hard switch touches first: the top of its stack,
/// its `Stack` (checked when it switches away again) and the second cache line of its
/// tasklet (its flags). With many tasklets these are all cold; issued before the callback and
/// the hand-over, the loads overlap with that work.
///
/// It also looks ahead along the run queue, where a round of yields goes next: the stack top
/// of `n`'s successor (whose tasklet line the previous switch prefetched) and the tasklet line
/// of the one after it. A tasklet's stack top is then in cache by the time it is resumed, one
/// switch later, instead of stalling the resume.
#[inline(always)]
fn prefetch(t: &Target, n: &PyTaskletObject) {
    stack::prefetch(&t.ctx);
    if let Some(st) = t.stack.as_deref() {
        stack::prefetch_line((st as *const Stack).cast());
    }
    stack::prefetch_line(n.blocked.as_ptr().cast());
    let after = n.next.get();
    if !after.is_null() {
        // SAFETY: n's successor in its list is a live tasklet; its context slot is only
        // read (a suspended context is a plain pointer).
        unsafe {
            let a = tref(after);
            if let Some(ctx) = &*a.ctx.as_ptr() {
                stack::prefetch(ctx);
            }
            stack::prefetch_line(a.next.get().cast());
        }
    }
}

/// The bookkeeping of every switch: the error indicator and nesting level go with their
/// tasklets, and `next` becomes current.
///
/// The running tasklet's error indicator lives in the thread state, so its own `curexc` slot
/// is always empty while it runs: the moves below need no drops.
#[inline(always)]
pub(crate) fn hand_over(ts: &ThreadState, p: &PyTaskletObject, n: &PyTaskletObject) {
    let s = &ts.sched;
    // SAFETY: plain moves between cells of this thread; p's slot is empty (see above), and
    // ts's and n's are emptied by the reads that move their content out.
    unsafe {
        debug_assert!((*p.curexc.as_ptr()).is_none());
        p.curexc.as_ptr().write(ts.curexc.as_ptr().read());
        ts.curexc.as_ptr().write(n.curexc.as_ptr().read());
        n.curexc.as_ptr().write(None);
    }
    p.nesting_level.set(s.nesting_level.get());
    s.nesting_level.set(n.nesting_level.get());
    p.direct_frames.set(s.direct_frames.get());
    s.direct_frames.set(n.direct_frames.get());
    s.current.set(n.as_ptr());
    s.wd.on_switch();
}

/// The raw switch of a tasklet that keeps its C stack: it takes the stack it runs on, and
/// `target` runs on its own. Returns when `p` is resumed.
///
/// # Safety
/// `p` is the running tasklet (already handed over); `target` is a suspended context.
unsafe fn hard_switch(ts: &ThreadState, p: &PyTaskletObject, target: Target) {
    let s = &ts.sched;
    let mine = s.running_stack.replace(target.stack);
    if let Some(st) = mine.as_deref() {
        st.check_canary();
    }
    // SAFETY: a running tasklet's stack slot is empty (its stack is `running_stack`).
    unsafe {
        debug_assert!((*p.stack.as_ptr()).is_none());
        p.stack.as_ptr().write(mine);
    }
    if !p.is_main.get() && !p.in_cstate_list.get() {
        // SAFETY: p is live and not in the list.
        unsafe { s.cstate_add(p.as_ptr()) };
    }
    // SAFETY: p's ctx slot lives as long as p, which whoever holds it keeps alive while it is
    // suspended; the target context belongs to the stack now in `running_stack` (or the
    // thread's own stack).
    unsafe {
        stack::switch(
            p.ctx.as_ptr(),
            target.ctx,
            (*s.running_stack.as_ptr()).as_deref(),
        )
    };
}

/// Finishes a switch on the side that now runs: returns a dead runner's stack to the pool and
/// releases the references parked during the switch.
#[inline(always)]
pub(crate) fn after_switch(ts: &ThreadState) {
    if ts.sched.parked.get() {
        finish_parked(ts);
    }
}

#[cold]
#[inline(never)]
fn finish_parked(ts: &ThreadState) {
    let s = &ts.sched;
    s.parked.set(false);
    if let Some(st) = s.graveyard.take() {
        s.pool.borrow_mut().give(st);
    }
    // One at a time, and without giving up the Vec's buffer: a release may run a finalizer
    // that switches and parks more.
    loop {
        let next = s.post_switch.borrow_mut().pop();
        match next {
            Some(o) => drop(o),
            None => break,
        }
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

/// Decides what an uncaught exception of a dying tasklet becomes: `TaskletExit` ends it
/// silently; otherwise the error handler (if set) is called in the dying tasklet's context;
/// whatever is left is delivered to the innermost watchdog or main.
pub(crate) fn route_exception(ts: &ThreadState, e: PyErr) -> Option<PyErr> {
    if e.matches(exception::tasklet_exit()) {
        return None;
    }
    match callbacks::error_handler() {
        None => Some(e),
        Some(h) => {
            let _nested = super::Nested::enter(&ts.sched);
            match callbacks::call_error_handler(&h, e) {
                Ok(()) => None,
                Err(e2) if e2.matches(exception::tasklet_exit()) => None,
                Err(e2) => Some(e2),
            }
        }
    }
}
