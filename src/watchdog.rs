//! Preemption: watchdog ticks, time slices and interrupts (SPEC §8, semantics notes §4.5).
//!
//! C has no bytecodes, so running code reports units of work with `PyStackless_Tick(n)`. The
//! outermost `PyStackless_RunWatchdogEx` with a timeout owns the interrupt; while it runs,
//! every tick past the budget (`watermark`) asks for an interrupt of the running tasklet:
//!
//! - allowed: the tasklet is switched out right there (hard), leaves the run queue (paused),
//!   and the owning run returns it;
//! - deferred while the tasklet is atomic, at nesting level > 0 (unless ignore_nesting or
//!   `PY_WATCHDOG_IGNORE_NESTING`), inside a callback or under the switch trap: the tasklet
//!   gets `pending_irq` and the next tick after the condition ends interrupts it;
//! - `PY_WATCHDOG_SOFT`: never interrupts; the tasklet gets `pending_irq`, and its next switch
//!   goes to the watchdog instead, whose run returns None.
//!
//! The budget is a slice per tasklet, reset at every switch, or one total budget for the run
//! with `PY_WATCHDOG_TOTALTIMEOUT`. With `PY_WATCHDOG_TIME` it is microseconds of running time
//! (the clock is read at tick points) instead of ticks.
//!
//! Invariants: `owner` is NULL or a tasklet suspended inside its timed run; without an owner
//! `watermark` is `u64::MAX`, so a tick is one addition and one comparison.

use std::cell::Cell;
use std::ffi::{c_int, c_long};
use std::ptr;

use crate::error::PyErr;
use crate::object::{Obj, PyResult};
use crate::scheduler::ops::{
    WATCHDOG_IGNORE_NESTING, WATCHDOG_SOFT, WATCHDOG_TIME, WATCHDOG_TOTALTIMEOUT,
};
use crate::scheduler::switch::{sched_op, schedule_task};
use crate::tasklet::{tref, PyTaskletObject, TaskletPtr};
use crate::thread_state::ThreadState;

/// The tick counter and budget of a thread, shared with C: the header's inline
/// `PyStackless_TickWith` adds to `counter` and calls into the library only past `watermark`.
#[repr(C)]
pub struct PyStackless_TickState {
    /// Ticks charged on this thread so far.
    pub counter: Cell<u64>,
    /// The tick count past which an interrupt is due (`u64::MAX`: none).
    pub watermark: Cell<u64>,
}

/// The watchdog part of a thread's scheduler.
pub struct Watchdog {
    /// The counter and the budget (read and written by C's inline fast path too).
    pub(crate) ticks: PyStackless_TickState,
    /// The budget: ticks, or microseconds with `PY_WATCHDOG_TIME`.
    interval: Cell<u64>,
    /// With `PY_WATCHDOG_TIME`: the monotonic time (ns) when the budget runs out.
    deadline_ns: Cell<u64>,
    /// The tasklet whose timed run owns the interrupt (NULL: none).
    pub(crate) owner: Cell<TaskletPtr>,
    /// The owning run's flags.
    flags: Cell<c_int>,
    /// The next switch was caused by a channel action's preference and is exempt from the soft
    /// interrupt (Stackless's `PY_WATCHDOG_NO_SOFT_IRQ`).
    pub(crate) no_soft_irq: Cell<bool>,
}

impl Default for Watchdog {
    fn default() -> Self {
        Watchdog {
            ticks: PyStackless_TickState {
                counter: Cell::new(0),
                watermark: Cell::new(u64::MAX),
            },
            interval: Cell::new(0),
            deadline_ns: Cell::new(u64::MAX),
            owner: Cell::new(ptr::null_mut()),
            flags: Cell::new(0),
            no_soft_irq: Cell::new(false),
        }
    }
}

fn now_ns() -> u64 {
    let mut t = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime with a valid pointer.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut t) };
    t.tv_sec as u64 * 1_000_000_000 + t.tv_nsec as u64
}

impl Watchdog {
    fn has(&self, flag: c_int) -> bool {
        self.flags.get() & flag != 0
    }

    /// Starts a fresh budget (a run took the interrupt, or a switch reset the slice).
    fn rearm(&self) {
        if self.has(WATCHDOG_TIME) {
            self.deadline_ns
                .set(now_ns().saturating_add(self.interval.get().saturating_mul(1000)));
            // Every tick checks the clock.
            self.ticks.watermark.set(self.ticks.counter.get());
        } else {
            self.ticks
                .watermark
                .set(self.ticks.counter.get().saturating_add(self.interval.get()));
        }
    }

    /// Called at every switch: a per-tasklet slice starts over.
    #[inline]
    pub(crate) fn on_switch(&self) {
        if !self.owner.get().is_null() && !self.has(WATCHDOG_TOTALTIMEOUT) {
            self.rearm();
        }
    }

    /// A deferred interrupt may fire now: make the next tick check.
    pub(crate) fn recheck_soon(&self) {
        if !self.owner.get().is_null() {
            self.ticks.watermark.set(self.ticks.counter.get());
        }
    }

    /// True when the owning run is a soft watchdog.
    pub(crate) fn soft(&self) -> bool {
        !self.owner.get().is_null() && self.has(WATCHDOG_SOFT)
    }
}

/// `RunWatchdogEx` bookkeeping: a run with a timeout takes the interrupt unless an outer
/// timed run has it. Returns true when this run owns it (and must [`release`] it).
pub(crate) fn acquire(ts: &ThreadState, me: TaskletPtr, timeout: c_long, flags: c_int) -> bool {
    let w = &ts.sched.wd;
    if timeout <= 0 || !w.owner.get().is_null() {
        return false;
    }
    w.owner.set(me);
    w.flags.set(flags);
    w.interval.set(timeout as u64);
    w.rearm();
    true
}

/// Ends the timed run that owns the interrupt.
pub(crate) fn release(ts: &ThreadState) {
    let w = &ts.sched.wd;
    w.owner.set(ptr::null_mut());
    w.flags.set(0);
    w.ticks.watermark.set(u64::MAX);
    w.deadline_ns.set(u64::MAX);
}

/// `PyStackless_Tick(n)`: charges `n` ticks to the running tasklet. Returns Ok when it may go
/// on (possibly after having been interrupted and resumed), Err when an exception was raised
/// into it while it was out.
#[inline]
pub fn tick(ts: &ThreadState, n: u64) -> PyResult<()> {
    let w = &ts.sched.wd;
    let c = w.ticks.counter.get().wrapping_add(n);
    w.ticks.counter.set(c);
    if c <= w.ticks.watermark.get() {
        return Ok(());
    }
    tick_slow(ts)
}

#[cold]
fn tick_slow(ts: &ThreadState) -> PyResult<()> {
    let s = &ts.sched;
    let w = &s.wd;
    let owner = w.owner.get();
    if owner.is_null() {
        w.ticks.watermark.set(u64::MAX);
        return Ok(());
    }
    if w.has(WATCHDOG_TIME) && now_ns() < w.deadline_ns.get() {
        w.ticks.watermark.set(w.ticks.counter.get());
        return Ok(());
    }
    let cur = s.current.get();
    // SAFETY: current is live.
    let c = unsafe { tref(cur) };
    if cur == owner || ts.soft_pending.get() {
        w.rearm();
        return Ok(());
    }
    let nesting_ok =
        s.nesting_level.get() == 0 || c.ignore_nesting.get() || w.has(WATCHDOG_IGNORE_NESTING);
    if w.has(WATCHDOG_SOFT)
        || c.atomic.get()
        || s.schedlock.get() > 0
        || !nesting_ok
        || s.switch_trap.get() != 0
    {
        c.pending_irq.set(true);
        w.rearm();
        return Ok(());
    }
    interrupt(ts, cur, owner)
}

/// Switches the running tasklet `victim` out: it leaves the run queue (paused) and the
/// owning run returns it.
fn interrupt(ts: &ThreadState, victim: TaskletPtr, owner: TaskletPtr) -> PyResult<()> {
    let s = sched_op(ts)?;
    // SAFETY: both are live tasklets of this thread.
    let (v, o) = unsafe { (tref(victim), tref(owner)) };
    v.pending_irq.set(false);
    // SAFETY: victim is live.
    drop(
        o.tempval
            .replace(Some(unsafe { Obj::from_borrowed(victim.cast()) })),
    );
    drop(v.tempval.take());
    // SAFETY: the victim is current, hence in the run queue.
    s.release_later(unsafe { s.unlink(victim) });
    schedule_task(ts, victim, owner, false).map(drop)
}

/// At a switch out of `prev` with a pending soft interrupt: returns the tasklet to switch to
/// instead of `next` (the soft watchdog, linked just before `next`), or `next` when the
/// interrupt is passed on (an exempt channel switch) or does not apply.
#[inline(always)]
pub(crate) fn soft_redirect(ts: &ThreadState, p: &PyTaskletObject, next: TaskletPtr) -> TaskletPtr {
    let w = &ts.sched.wd;
    if !w.soft() || !p.pending_irq.get() {
        w.no_soft_irq.set(false);
        return next;
    }
    soft_redirect_slow(ts, p, next)
}

#[cold]
#[inline(never)]
fn soft_redirect_slow(ts: &ThreadState, p: &PyTaskletObject, next: TaskletPtr) -> TaskletPtr {
    let s = &ts.sched;
    let w = &s.wd;
    p.pending_irq.set(false);
    let owner = w.owner.get();
    if w.no_soft_irq.replace(false) {
        // SAFETY: next is live.
        unsafe { tref(next) }.pending_irq.set(true);
        return next;
    }
    // SAFETY: owner is a live tasklet suspended in its run.
    let o = unsafe { tref(owner) };
    if o.scheduled() || owner == p.as_ptr() {
        return next;
    }
    // SAFETY: owner is floating; next is in the run queue.
    unsafe { s.insert_before(owner, next) };
    owner
}

/// `PyStackless_Tick` for the C entry: validates `n`.
pub(crate) fn tick_checked(ts: &ThreadState, n: c_long) -> PyResult<()> {
    if n < 0 {
        return Err(PyErr::value_error(
            "PyStackless_Tick: the number of ticks must not be negative",
        ));
    }
    tick(ts, n as u64)
}
