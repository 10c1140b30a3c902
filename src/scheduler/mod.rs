//! The per-thread scheduler: the run queue and everything that decides who runs next.
//!
//! Glossary (Stackless's terms):
//! - *tasklet*: a lightweight thread ([`crate::tasklet`]).
//! - *main*: the tasklet standing for the thread's own code; created by the first API call on
//!   the thread, it runs on the thread's stack.
//! - *current*: the running tasklet. It is the cursor of the run queue.
//! - *runnable*: linked in the run queue. *blocked*: linked in a channel's wait queue.
//!   *paused*: alive but in no list.
//! - *insert*: link at the tail of the run queue, i.e. just **before** current, so it runs
//!   after everything already runnable.
//! - *watchdog*: a tasklet inside `PyStackless_RunWatchdog[Ex]` (a scheduler run). It removed
//!   itself from the queue and is woken ("revived") when the queue has nothing else to run.
//!   Runs nest; the innermost watchdog (or main when there is none) receives the uncaught
//!   exceptions of tasklets.
//! - *atomic*: forbids involuntary switches only. *switch trap*: a per-thread counter; while
//!   non-zero every real switch raises `RuntimeError("switch_trap")`.
//!
//! The run queue is Stackless's: a cyclic doubly linked list threaded through the tasklets'
//! `next`/`prev`, entered at `current`:
//!
//! ```text
//!        insert() puts new tasklets here (the tail)
//!                    v
//!   ... <-> prev <-> [t] <-> current <-> current.next <-> ...
//! ```
//!
//! Invariants:
//! - `current` is NULL only while the queue is empty, which happens only in the middle of an
//!   operation (the running code always has a current tasklet).
//! - `runcount` is the length of the run queue; main counts like any other tasklet.
//! - The queue owns one reference to each tasklet in it. A reference dropped while its
//!   tasklet may still be running is parked in `post_switch` and released only after the
//!   switch completed, on the next tasklet's stack (a tasklet is never freed on its own
//!   stack).
//! - Stacks: see `switch.rs` (who owns a stack) and `frames.rs` (runners). A runner that ends
//!   parks its stack in `graveyard`; the other side returns it to the pool after the switch.
//!
//! Rejected designs: a `VecDeque` run queue (Stackless's "run jumps the cursor" and "insert
//! before current" make the cyclic list the natural shape, and removal of an arbitrary tasklet
//! must be O(1)); keeping a strong reference to a suspended tasklet on its own stack (it could
//! then never be freed, and dropping the last reference must kill it, SPEC §4).

pub mod frames;
pub mod ops;
pub mod switch;
pub mod teardown;

use std::cell::{Cell, RefCell};
use std::ffi::{c_int, c_ulong};
use std::ptr;

use crate::object::Obj;
use crate::stack::{Stack, StackPool};
use crate::tasklet::{tref, TaskletPtr};

/// The scheduler part of a thread's state.
pub struct Scheduler {
    /// The main tasklet (an owned reference), NULL until the first scheduler use.
    pub(crate) main: Cell<TaskletPtr>,
    /// The running tasklet; the cursor of the run queue.
    pub(crate) current: Cell<TaskletPtr>,
    /// Number of tasklets in the run queue.
    pub(crate) runcount: Cell<isize>,
    /// Tasklets inside a scheduler run, outermost first (borrowed: each is suspended in
    /// `RunWatchdog` and keeps itself alive).
    pub(crate) watchdogs: RefCell<Vec<TaskletPtr>>,
    /// Stackless's switch trap counter.
    pub(crate) switch_trap: Cell<c_int>,
    /// Non-zero while a schedule or channel callback runs.
    pub(crate) schedlock: Cell<c_int>,
    /// References to release after the current switch completed.
    pub(crate) post_switch: RefCell<Vec<Obj>>,
    /// True when `post_switch` or `graveyard` may hold something (the switch path's one
    /// check for "anything to finish").
    pub(crate) parked: Cell<bool>,
    /// The stack of a runner that just ended, returned to the pool after the switch.
    pub(crate) graveyard: Cell<Option<Box<Stack>>>,
    /// The stack the running code is on (`None`: the thread's own stack, where main runs).
    pub(crate) running_stack: Cell<Option<Box<Stack>>>,
    /// Runners waiting for a tasklet without C state to run.
    /// (Boxed: a suspended runner's context slot must not move when the list grows.)
    #[allow(clippy::vec_box)]
    pub(crate) idle_runners: RefCell<Vec<Box<frames::Runner>>>,
    /// Free stacks for reuse.
    pub(crate) pool: RefCell<StackPool>,
    /// Head of the list of started tasklets (those with C state), linked by `cs_next`.
    pub(crate) cstate_head: Cell<TaskletPtr>,
    /// Preemption state (ticks, the interrupt owner).
    pub(crate) wd: crate::watchdog::Watchdog,
    /// Soft-switchable functions the running tasklet runs directly (called with the
    /// stackless flag when it could not switch soft): frames for `recursion_depth`, not
    /// nesting levels.
    pub(crate) direct_frames: Cell<i32>,
    /// Library-mediated nested calls active on the running tasklet.
    pub(crate) nesting_level: Cell<i32>,
    thread_id: c_ulong,
}

impl Scheduler {
    /// A scheduler for the calling thread (main is created lazily).
    pub fn new() -> Scheduler {
        Scheduler {
            main: Cell::new(ptr::null_mut()),
            current: Cell::new(ptr::null_mut()),
            runcount: Cell::new(0),
            watchdogs: RefCell::new(Vec::new()),
            switch_trap: Cell::new(0),
            schedlock: Cell::new(0),
            post_switch: RefCell::new(Vec::new()),
            parked: Cell::new(false),
            graveyard: Cell::new(None),
            running_stack: Cell::new(None),
            idle_runners: RefCell::new(Vec::new()),
            pool: RefCell::new(StackPool::default()),
            cstate_head: Cell::new(ptr::null_mut()),
            wd: crate::watchdog::Watchdog::default(),
            direct_frames: Cell::new(0),
            nesting_level: Cell::new(0),
            thread_id: crate::capi::thread_ident(),
        }
    }

    /// The id of the thread this scheduler belongs to.
    pub fn thread_id(&self) -> c_ulong {
        self.thread_id
    }

    /// Links `t` at the tail of the run queue (just before current) and takes a reference.
    ///
    /// # Safety
    /// `t` is a live tasklet of this thread in no list.
    pub(crate) unsafe fn insert(&self, t: TaskletPtr) {
        // SAFETY: t is live; the queue takes its own reference.
        unsafe {
            crate::object::incref(t.cast());
            self.link_before_current(t);
        }
    }

    /// Links `t` right after current, handing over a reference the caller owns.
    ///
    /// # Safety
    /// `t` is a live tasklet of this thread in no list; the queue is not empty.
    pub(crate) unsafe fn link_after_current(&self, t: TaskletPtr) {
        // SAFETY: t is live; current is live and linked.
        unsafe {
            let cur = tref(self.current.get());
            let after = cur.next.get();
            tref(t).prev.set(cur.as_ptr());
            tref(t).next.set(after);
            tref(after).prev.set(t);
            cur.next.set(t);
        }
        self.runcount.set(self.runcount.get() + 1);
    }

    /// Links `t` just before `pos` (a tasklet in the run queue) and takes a reference.
    ///
    /// # Safety
    /// `t` is a live tasklet of this thread in no list; `pos` is in the run queue.
    pub(crate) unsafe fn insert_before(&self, t: TaskletPtr, pos: TaskletPtr) {
        // SAFETY: t is live; pos and its predecessor are live and linked.
        unsafe {
            crate::object::incref(t.cast());
            let before = tref(pos).prev.get();
            tref(t).next.set(pos);
            tref(t).prev.set(before);
            tref(before).next.set(t);
            tref(pos).prev.set(t);
        }
        self.runcount.set(self.runcount.get() + 1);
    }

    /// Links without touching the reference count (the caller hands one over).
    ///
    /// # Safety
    /// As [`Scheduler::insert`].
    pub(crate) unsafe fn link_before_current(&self, t: TaskletPtr) {
        let cur = self.current.get();
        // SAFETY: t and cur are live.
        unsafe {
            if cur.is_null() {
                tref(t).next.set(t);
                tref(t).prev.set(t);
                self.current.set(t);
            } else {
                let last = tref(cur).prev.get();
                tref(t).next.set(cur);
                tref(t).prev.set(last);
                tref(last).next.set(t);
                tref(cur).prev.set(t);
            }
        }
        self.runcount.set(self.runcount.get() + 1);
    }

    /// Unlinks `t` from the run queue and returns the queue's reference to it. If `t` was
    /// current, current moves to its successor (NULL when the queue becomes empty).
    ///
    /// # Safety
    /// `t` is in this run queue.
    pub(crate) unsafe fn unlink(&self, t: TaskletPtr) -> Obj {
        // SAFETY: t is linked; its neighbours are live.
        unsafe {
            let tt = tref(t);
            let (next, prev) = (tt.next.get(), tt.prev.get());
            if next == t {
                self.current.set(ptr::null_mut());
            } else {
                tref(prev).next.set(next);
                tref(next).prev.set(prev);
                if self.current.get() == t {
                    self.current.set(next);
                }
            }
            tt.next.set(ptr::null_mut());
            tt.prev.set(ptr::null_mut());
            self.runcount.set(self.runcount.get() - 1);
            Obj::from_owned_unchecked(t.cast())
        }
    }

    /// Parks a reference to be released after the next switch (or at the end of the
    /// operation when no switch happens).
    pub(crate) fn release_later(&self, o: Obj) {
        self.post_switch.borrow_mut().push(o);
        self.parked.set(true);
    }

    /// The innermost watchdog, or main.
    pub(crate) fn innermost_watchdog(&self) -> TaskletPtr {
        self.watchdogs
            .borrow()
            .last()
            .copied()
            .unwrap_or(self.main.get())
    }

    /// Adds a started tasklet to the list of tasklets with C state.
    ///
    /// # Safety
    /// `t` is live and not in that list.
    pub(crate) unsafe fn cstate_add(&self, t: TaskletPtr) {
        let head = self.cstate_head.get();
        // SAFETY: t and head are live.
        unsafe {
            tref(t).in_cstate_list.set(true);
            tref(t).cs_next.set(head);
            tref(t).cs_prev.set(ptr::null_mut());
            if !head.is_null() {
                tref(head).cs_prev.set(t);
            }
        }
        self.cstate_head.set(t);
    }

    /// Removes a tasklet from the list of tasklets with C state.
    ///
    /// # Safety
    /// `t` is live and in that list.
    pub(crate) unsafe fn cstate_remove(&self, t: TaskletPtr) {
        // SAFETY: t and its neighbours are live.
        unsafe {
            let (n, p) = (tref(t).cs_next.get(), tref(t).cs_prev.get());
            if p.is_null() {
                self.cstate_head.set(n);
            } else {
                tref(p).cs_next.set(n);
            }
            if !n.is_null() {
                tref(n).cs_prev.set(p);
            }
            tref(t).cs_next.set(ptr::null_mut());
            tref(t).cs_prev.set(ptr::null_mut());
            tref(t).in_cstate_list.set(false);
        }
    }
}

/// For the overflow reporter (called from a signal handler: reads only): the running
/// tasklet of the calling thread and the guard range of its stack, if it has a guarded one.
pub fn running_guard() -> Option<(usize, usize, usize)> {
    let ts = crate::thread_state::peek()?;
    let cur = ts.sched.current.get();
    if cur.is_null() {
        return None;
    }
    // SAFETY: a momentary read of the running stack's cell.
    let st = unsafe { (*ts.sched.running_stack.as_ptr()).as_ref()? };
    let (lo, hi) = st.guard_range();
    (hi > lo).then_some((cur as usize, lo, hi))
}

/// Counts one library-mediated nested call (SPEC §7's nesting level) for as long as it lives:
/// a `PyObject_Call` made from inside a tasklet, a callback, a nested scheduler run. The level
/// belongs to the running tasklet and is saved and restored with it at every switch, so a
/// call that blocks and resumes later still undoes exactly its own increment.
pub(crate) struct Nested<'a>(&'a Scheduler);

impl<'a> Nested<'a> {
    /// Enters one level on the calling thread's running tasklet.
    pub(crate) fn enter(s: &'a Scheduler) -> Nested<'a> {
        s.nesting_level.set(s.nesting_level.get() + 1);
        Nested(s)
    }
}

impl Drop for Nested<'_> {
    fn drop(&mut self) {
        let level = self.0.nesting_level.get() - 1;
        self.0.nesting_level.set(level);
        if level == 0 {
            // A preemption deferred because of the nesting may fire now.
            let cur = self.0.current.get();
            // SAFETY: current is live.
            if !cur.is_null() && unsafe { tref(cur) }.pending_irq.get() {
                self.0.wd.recheck_soon();
            }
        }
    }
}

impl Default for Scheduler {
    fn default() -> Self {
        Scheduler::new()
    }
}
