//! The frame loop: where tasklet bodies start, where soft switches land, and where tasklets
//! end. Every stack except the thread's own runs it.
//!
//! ```text
//!   runner stack:  runner_entry -> frame_loop -> step -> body / soft-switchable function
//!                                      ^                        |
//!                                      +---- Py_UnwindToken ----+  (soft switch: current
//!                                                                   changed, run it here)
//! ```
//!
//! A *runner* is a stack running the frame loop with no tasklet's C code above it. The loop
//! runs the current tasklet's next step when that tasklet has no C state (it is new, or was
//! suspended softly); when the current tasklet is suspended with C state (or is main), the
//! runner goes idle and switches to it. A tasklet that blocks with a hard switch keeps the
//! runner's stack (its C frames are on it); when its body later returns into the loop, the
//! stack is a runner again. So a stack is paid for only by tasklets that block inside plain
//! C code, and a program whose tasklets only switch soft needs one runner (SPEC §7).
//!
//! A tasklet's soft state is a stack of [`CFrame`]s (soft-switchable C functions, each a
//! re-entrant state machine). A step either starts the body, or resumes the top frame with
//! the result of the operation that suspended the tasklet (its claimed tempval). A plain
//! callable that returned the unwind token after a `_nr` call in tail position leaves no
//! frame: when the tasklet resumes, that result simply ends it.
//!
//! Invariants:
//! - `Scheduler::running_stack` is the stack the loop runs on (a runner never runs on the
//!   thread's own stack).
//! - `ThreadState::soft_pending` is set only between a soft switch and the moment the loop
//!   sees the unwind token; `unwind_retval` only between a stackless
//!   `PyStackless_CallFunction` and the loop's next step.

use std::cell::Cell;
use std::ffi::{c_int, c_long, c_void};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr;

use super::switch::{after_switch, claim, hand_over, make_runnable, route_exception, Target};
use crate::bomb;
use crate::callbacks;
use crate::error::PyErr;
use crate::object::{call, cfunction, Obj, PyObject, PyResult};
use crate::soft::{self, PyStacklessFunctionDeclarationObject};
use crate::stack::{self, Context, Stack, Transfer};
use crate::tasklet::{tref, Body, PyTaskletObject, TaskletPtr};
use crate::thread_state::{self, ThreadState};

/// How many idle runners a thread keeps; a runner that would be one more ends instead.
const MAX_IDLE_RUNNERS: usize = 16;

/// A stack suspended in its frame loop with no tasklet to run.
pub(crate) struct Runner {
    ctx: Cell<Option<Context>>,
    stack: Cell<Option<Box<Stack>>>,
}

/// The unwind token, as an owned reference (it is immortal).
pub(crate) fn unwind_token() -> Obj {
    // SAFETY: the token is a static, immortal object.
    unsafe { Obj::from_borrowed(soft::token_ptr()) }
}

/// True when `o` is the unwind token.
#[inline]
pub(crate) fn is_token(o: &Obj) -> bool {
    o.as_ptr() == soft::token_ptr()
}

/// A runner to resume: an idle one, or a new stack from the pool starting in the frame loop.
pub(crate) fn runner(ts: &ThreadState) -> PyResult<Target> {
    runner_sized(ts, stack::default_size())
}

fn runner_sized(ts: &ThreadState, size: usize) -> PyResult<Target> {
    let s = &ts.sched;
    let size = stack::round_size(size);
    let idle = {
        let mut idle = s.idle_runners.borrow_mut();
        let pos = idle.iter().rposition(|r| {
            // SAFETY: a momentary read of the runner's stack cell.
            unsafe {
                (*r.stack.as_ptr())
                    .as_ref()
                    .is_some_and(|st| st.size() == size)
            }
        });
        pos.map(|i| idle.swap_remove(i))
    };
    if let Some(r) = idle {
        let ctx = r
            .ctx
            .take()
            .unwrap_or_else(|| stack::fatal("idle runner without a context"));
        return Ok(Target {
            ctx,
            stack: r.stack.take(),
        });
    }
    let st = s.pool.borrow_mut().take(size).ok_or_else(|| {
        PyErr::new(
            crate::object::exception::memory_error(),
            "cannot allocate a tasklet stack",
        )
    })?;
    // SAFETY: the stack outlives its context: whoever owns the context owns the stack.
    let ctx = unsafe { stack::new_context(&st, runner_entry) };
    Ok(Target {
        ctx,
        stack: Some(st),
    })
}

/// Where every runner stack starts.
extern "C" fn runner_entry(t: Transfer) -> ! {
    // SAFETY: the switcher passed its save slot.
    unsafe { stack::on_first_wake(t) };
    let ts = thread_state::current();
    after_switch(ts);
    frame_loop(ts)
}

/// The frame loop: runs soft steps of whichever tasklet is current, forever. See the module
/// docs.
fn frame_loop(ts: &ThreadState) -> ! {
    loop {
        let t = ts.sched.current.get();
        // SAFETY: current is a live tasklet.
        let tt = unsafe { tref(t) };
        // SAFETY: a momentary read of the cell.
        if tt.is_main.get() || unsafe { (*tt.ctx.as_ptr()).is_some() } {
            let ctx = tt
                .ctx
                .take()
                .unwrap_or_else(|| stack::fatal("main has no context"));
            go_idle(
                ts,
                Target {
                    ctx,
                    stack: tt.stack.take(),
                },
            );
            continue;
        }
        if let Some(size) = wants_own_stack_size(ts, tt) {
            if let Ok(target) = runner_sized(ts, size) {
                go_idle(ts, target);
                continue;
            }
        }
        if let Err(p) = catch_unwind(AssertUnwindSafe(|| step(ts, t))) {
            // A library bug: the tasklet dies with a SystemError instead of the process.
            ts.soft_pending.set(false);
            drop(ts.unwind_retval.take());
            if ts.sched.current.get() == t {
                end_tasklet(ts, t, Err(crate::capi::boundary::panic_error(p)));
            }
        }
    }
}

/// A new tasklet that asked for a stack size other than the running stack's.
fn wants_own_stack_size(ts: &ThreadState, tt: &PyTaskletObject) -> Option<usize> {
    if tt.started.get() {
        // Only a body that has not started yet can choose its stack (and started tasklets
        // have no body): the common case, decided on the tasklet's hot line.
        return None;
    }
    let want = tt.stack_size.get();
    if want == 0 || !tt.has_body() {
        return None;
    }
    // SAFETY: a momentary read of the cell.
    let have = unsafe {
        (*ts.sched.running_stack.as_ptr())
            .as_ref()
            .map(|s| s.size())
    };
    (have != Some(want)).then_some(want)
}

/// This runner has nothing to run: it waits in the idle list (or ends, when enough are idle)
/// and resumes `target`.
fn go_idle(ts: &ThreadState, target: Target) {
    let s = &ts.sched;
    if s.idle_runners.borrow().len() >= MAX_IDLE_RUNNERS {
        // Our stack is released by the other side, once we are off it.
        let mine = s.running_stack.replace(target.stack);
        drop(s.graveyard.replace(mine));
        s.parked.set(true);
        // SAFETY: target is a suspended context of a live stack; nobody keeps ours.
        unsafe { stack::exit_to(target.ctx, (*s.running_stack.as_ptr()).as_deref()) }
    }
    let r = Box::new(Runner {
        ctx: Cell::new(None),
        stack: Cell::new(s.running_stack.replace(target.stack)),
    });
    let slot = r.ctx.as_ptr();
    s.idle_runners.borrow_mut().push(r);
    // SAFETY: the slot lives in a boxed runner that stays in the idle list until somebody
    // resumes it; the target context belongs to the stack now in `running_stack`.
    unsafe { stack::switch(slot, target.ctx, (*s.running_stack.as_ptr()).as_deref()) };
    after_switch(ts);
}

/// One step of the current tasklet `t` (which has no C state): start its body, or resume its
/// top frame (or end it, when none is left) with the result of what suspended it.
fn step(ts: &ThreadState, t: TaskletPtr) {
    // SAFETY: t is the current tasklet.
    let tt = unsafe { tref(t) };
    let mut ran_frame = false;
    // A started tasklet has no body: skip the (cold) body slot.
    let body = if tt.started.get() {
        None
    } else {
        tt.body.take()
    };
    let r = if let Some(Body { func, args, kwargs }) = body {
        tt.started.set(true);
        // The function moves into `func` (what GetFrame reports) and is called from there:
        // nothing replaces `func` of a running tasklet (bind refuses it) before the step ends.
        let f = func.as_ptr();
        drop(tt.func.replace(Some(func)));
        match tt.tempval.take() {
            // A bomb placed before the first run (killed or thrown to while new) ends it
            // without calling the body.
            // SAFETY: v is live.
            Some(v) if unsafe { bomb::is_bomb(v.as_ptr()) } => Err(bomb::explode(&v)),
            _ => call_body(ts, f, &args, &kwargs),
        }
    } else {
        let retval = match ts.unwind_retval.take() {
            Some(r) => r,
            None => claim(tt),
        };
        if tt.has_frames() {
            ran_frame = true;
            exec_top(ts, tt, retval)
        } else {
            retval
        }
    };
    finish_step(ts, t, r, ran_frame);
}

/// Calls a body at nesting level 0 (so its `_nr` calls may switch soft). A `METH_STACKLESS`
/// function also gets the stackless flag, as Stackless passes it.
fn call_body(
    ts: &ThreadState,
    f: *mut PyObject,
    args: &Obj,
    kwargs: &Option<Obj>,
) -> PyResult<Obj> {
    // SAFETY: f is live.
    let stackless = unsafe { cfunction::is_stackless(f) };
    ts.try_stackless.set(stackless as c_int);
    let kwargs = kwargs.as_ref().map_or(ptr::null_mut(), Obj::as_ptr);
    // SAFETY: f is live, args a tuple, kwargs NULL or a dict (checked at setup).
    let r = unsafe { call::call(f, args.as_ptr(), kwargs) };
    ts.try_stackless.set(0);
    r
}

/// What a step's outcome means for the tasklet.
fn finish_step(ts: &ThreadState, t: TaskletPtr, r: PyResult<Obj>, ran_frame: bool) {
    // SAFETY: t is live (the run queue or a channel holds it; we are its step).
    let tt = unsafe { tref(t) };
    let r = match r {
        Ok(v) if is_token(&v) => {
            if ts.soft_pending.replace(false) {
                // Switched soft: whatever is current now runs next.
                after_switch(ts);
                return;
            }
            // SAFETY: a momentary read of the cell.
            if unsafe { (*ts.unwind_retval.as_ptr()).is_some() } {
                // A stackless PyStackless_CallFunction pushed a frame: it runs next.
                return;
            }
            Err(PyErr::system_error(
                "a function returned Py_UnwindToken although no soft switch happened",
            ))
        }
        r => r,
    };
    if ran_frame {
        drop(tt.pop_frame());
    }
    if ts.soft_pending.replace(false) {
        // Broken promise: after a soft switch the code went on and returned something other
        // than the unwind token. The tasklet is already suspended; it gets a SystemError when
        // it resumes.
        drop(r);
        tt.push_frame(Box::new(CFrame::protocol_error()));
        after_switch(ts);
        return;
    }
    if tt.has_frames() {
        // The result goes to the frame below, which runs in the next step.
        tt.tempval.set(Some(match r {
            Ok(v) => v,
            Err(e) => bomb::new(e),
        }));
        return;
    }
    end_tasklet(ts, t, r);
}

/// Ends the running tasklet `t` with the result of its body, and makes the next tasklet
/// current (per Stackless: its successor in the queue; the innermost watchdog or main when an
/// exception has to be delivered or nothing else is runnable). The frame loop then runs it.
pub(crate) fn end_tasklet(ts: &ThreadState, t: TaskletPtr, result: PyResult<Obj>) {
    let s = &ts.sched;
    let exc = match result {
        Ok(v) => {
            drop(v);
            None
        }
        Err(e) => route_exception(ts, e),
    };
    // Whatever the body left in the error indicator dies with it.
    drop(ts.curexc.take());
    // SAFETY: t is the running tasklet: live, current, in the run queue.
    let tt = unsafe { tref(t) };
    // SAFETY: as above.
    s.release_later(unsafe { s.unlink(t) });
    tt.started.set(false);
    tt.nesting_level.set(0);
    tt.direct_frames.set(0);
    drop(tt.func.take());
    drop(tt.tempval.take());
    tt.frames.clear();
    if tt.in_cstate_list.get() {
        // SAFETY: t is in the list.
        unsafe { s.cstate_remove(t) };
    }
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
    // SAFETY: next is a live tasklet of this thread.
    unsafe { make_runnable(s, next) };
    callbacks::schedule_callback(ts, t, next);
    // SAFETY: next is live.
    hand_over(ts, tt, unsafe { tref(next) });
    after_switch(ts);
}

/// The C signature of a soft-switchable function (`slp_softswitchablefunc`).
pub(crate) type SoftFunc = unsafe extern "C" fn(
    *mut PyObject,
    *mut c_long,
    *mut *mut PyObject,
    *mut *mut PyObject,
    *mut *mut PyObject,
    *mut c_long,
    *mut *mut c_void,
) -> *mut PyObject;

/// A soft frame: a soft-switchable function's declaration and its saved state
/// (`step, ob1, ob2, ob3, n, any`, Stackless's names). A frame without a function stands for
/// code that broke the soft-switch protocol: running it raises SystemError.
pub struct CFrame {
    /// The state machine (copied from the declaration: one load less for the frame loop).
    sfunc: Option<SoftFunc>,
    sfd: Option<Obj>,
    /// The frame below (its caller), if any.
    below: Option<Box<CFrame>>,
    pub(crate) step: c_long,
    ob1: *mut PyObject,
    ob2: *mut PyObject,
    ob3: *mut PyObject,
    n: c_long,
    any: *mut c_void,
}

impl CFrame {
    /// A frame for `sfd` with its initial state (the objects are borrowed; the frame takes
    /// its own references).
    ///
    /// # Safety
    /// `sfd` is an initialized declaration; `ob1..3` are NULL or live.
    pub(crate) unsafe fn new(
        sfd: *mut PyObject,
        ob1: *mut PyObject,
        ob2: *mut PyObject,
        ob3: *mut PyObject,
        n: c_long,
        any: *mut c_void,
    ) -> CFrame {
        // SAFETY: per the contract.
        unsafe {
            crate::object::incref(ob1);
            crate::object::incref(ob2);
            crate::object::incref(ob3);
            let d = &*(sfd as *const PyStacklessFunctionDeclarationObject);
            CFrame {
                sfunc: Some(d.sfunc.expect("checked at push")),
                sfd: Some(Obj::from_borrowed(sfd)),
                below: None,
                step: 0,
                ob1,
                ob2,
                ob3,
                n,
                any,
            }
        }
    }

    fn protocol_error() -> CFrame {
        CFrame {
            sfunc: None,
            sfd: None,
            below: None,
            step: 0,
            ob1: ptr::null_mut(),
            ob2: ptr::null_mut(),
            ob3: ptr::null_mut(),
            n: 0,
            any: ptr::null_mut(),
        }
    }

    /// The declaration (borrowed), for `PyTasklet_GetFrame`.
    pub(crate) fn declaration(&self) -> Option<&Obj> {
        self.sfd.as_ref()
    }
}

impl Drop for CFrame {
    fn drop(&mut self) {
        // SAFETY: the frame owns these references (NULL allowed).
        unsafe {
            crate::object::decref(self.ob1);
            crate::object::decref(self.ob2);
            crate::object::decref(self.ob3);
        }
    }
}

/// Runs the top frame of `tt` with `retval` (an exception is passed as NULL with the error
/// indicator set, as the protocol says).
fn exec_top(ts: &ThreadState, tt: &PyTaskletObject, retval: PyResult<Obj>) -> PyResult<Obj> {
    let f = tt.top_frame();
    // SAFETY: the frame is boxed and stays in place until the loop pops it, after this call.
    let f = unsafe { &mut *f };
    let Some(func) = f.sfunc else {
        drop(retval);
        return Err(PyErr::system_error(
            "the tasklet's code returned a value after a soft switch instead of Py_UnwindToken",
        ));
    };
    let rv = match retval {
        Ok(v) => Some(v),
        Err(e) => {
            e.restore();
            None
        }
    };
    ts.try_stackless.set(1);
    // SAFETY: the C state machine gets a borrowed retval (it takes its own reference, as
    // Stackless's protocol says) and pointers to its saved state.
    let r = unsafe {
        func(
            rv.as_ref().map_or(ptr::null_mut(), Obj::as_ptr),
            &mut f.step,
            &mut f.ob1,
            &mut f.ob2,
            &mut f.ob3,
            &mut f.n,
            &mut f.any,
        )
    };
    ts.try_stackless.set(0);
    drop(rv);
    // SAFETY: a frame with a function has its declaration (an initialized one, checked at
    // push); the reference is only dereferenced for an error message.
    let d = unsafe {
        &*(f.sfd.as_ref().map_or(ptr::null_mut(), Obj::as_ptr)
            as *const PyStacklessFunctionDeclarationObject)
    };
    soft::check_sfunc_result(ts, r, d)
}

/// A tasklet's soft frames, innermost first, each linked to the one below (Stackless's frame
/// chain). Dropping it releases the frames one at a time (no recursion, however deep).
#[derive(Default)]
pub struct FrameStack {
    top: Cell<Option<Box<CFrame>>>,
}

impl FrameStack {
    /// True when there is no frame.
    #[inline]
    pub fn is_empty(&self) -> bool {
        // SAFETY: a momentary read of the cell.
        unsafe { (*self.top.as_ptr()).is_none() }
    }

    /// The number of frames.
    pub fn len(&self) -> usize {
        let mut n = 0;
        // SAFETY: a momentary walk; nothing runs meanwhile.
        let mut f = unsafe { (*self.top.as_ptr()).as_deref() };
        while let Some(fr) = f {
            n += 1;
            f = fr.below.as_deref();
        }
        n
    }

    /// Pushes `f` on top.
    pub fn push(&self, mut f: Box<CFrame>) {
        f.below = self.top.take();
        self.top.set(Some(f));
    }

    /// Pops the top frame.
    pub fn pop(&self) -> Option<Box<CFrame>> {
        let mut f = self.top.take()?;
        self.top.set(f.below.take());
        Some(f)
    }

    /// The top frame, NULL when none (boxed: it stays in place until popped).
    #[inline]
    pub fn top(&self) -> *mut CFrame {
        // SAFETY: a momentary access to the cell.
        unsafe {
            (*self.top.as_ptr())
                .as_deref_mut()
                .map_or(ptr::null_mut(), |f| f as *mut CFrame)
        }
    }

    /// Drops every frame, top first. The frames' references are released one by one (a
    /// release may run code; the stack is already detached from the tasklet by then).
    pub fn clear(&self) {
        let mut f = self.top.take();
        while let Some(mut fr) = f {
            f = fr.below.take();
            drop(fr);
        }
    }
}

impl Drop for FrameStack {
    fn drop(&mut self) {
        self.clear();
    }
}
