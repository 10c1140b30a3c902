//! Channels: synchronous rendezvous between tasklets, with Stackless's exact rules for who
//! runs next.
//!
//! A channel is the head of a cyclic list of blocked tasklets (threaded through their
//! `next`/`prev`, FIFO: append at the tail, take from the head). `balance` counts them:
//! positive for waiting senders, negative for waiting receivers.
//!
//! When an operation finds a partner (`cando`), the value is swapped between the two
//! tasklets' `tempval`s, the partner leaves the channel, and then (source = caller, target =
//! partner, `dir` = +1 send / -1 receive):
//!
//! | setting                       | target goes             | next to run              |
//! |-------------------------------|-------------------------|--------------------------|
//! | `schedule_all`                | to the run-queue tail   | the caller's successor   |
//! | `preference == -dir`          | right after the caller  | the target, at once      |
//! | otherwise                     | to the run-queue tail   | the caller continues     |
//!
//! Without a partner the caller blocks: block_trap is checked first (RuntimeError), then
//! closing (ValueError), then it leaves the run queue for the channel's.
//!
//! Invariants:
//! - `head` is NULL exactly when `balance == 0`; every tasklet in the list has
//!   `blocked == sign(balance)` and points to this channel in `blocked_on`.
//! - The list owns one reference to each tasklet in it.
//! - A channel with blocked tasklets stays alive (SPEC §5), without any reference count
//!   traffic on the hot path (SPEC §9: no atomic read-modify-write on a channel used by one
//!   thread): `blocked_on` is borrowed, and when the last outside reference goes while the
//!   wait queue is not empty, the channel resurrects itself and is `orphaned`: its queue then
//!   holds that one reference, released when the queue empties.

use std::cell::Cell;
use std::ffi::c_int;
use std::ptr;

use crate::bomb;
use crate::callbacks;
use crate::error::PyErr;
use crate::object::typeobj::{PyTypeObject, Py_TPFLAGS_BASETYPE, TypeOps};
use crate::object::{Obj, PyObject, PyResult};
use crate::scheduler::switch::{
    check_can_switch, make_runnable, sched_op, switch_to, wakeup_when_empty,
};
use crate::tasklet::{tref, TaskletPtr};
use crate::thread_state::ThreadState;

/// The channel object. Opaque to C.
#[repr(C)]
pub struct PyChannelObject {
    /// Object head.
    pub ob_base: PyObject,
    /// First blocked tasklet, NULL when none.
    head: Cell<TaskletPtr>,
    /// Waiting senders (> 0) or minus waiting receivers (< 0).
    balance: Cell<c_int>,
    /// Set by close(): operations that would block fail.
    closing: Cell<bool>,
    /// -1 prefer the receiver, 1 prefer the sender, 0 neither.
    preference: Cell<i8>,
    /// Every operation yields to the caller's successor.
    schedule_all: Cell<bool>,
    /// The wait queue holds the channel's last reference (see the module docs).
    orphaned: Cell<bool>,
}

/// `_stackless.channel`.
#[no_mangle]
pub static mut PyChannel_Type: PyTypeObject = PyTypeObject::new_static(
    c"_stackless.channel",
    ptr::addr_of!(crate::object::typeobj::PyBaseObject_Type) as *mut PyTypeObject,
    std::mem::size_of::<PyChannelObject>(),
    Py_TPFLAGS_BASETYPE,
    TypeOps {
        drop_fields: Some(drop_channel),
        pre_dealloc: Some(channel_pre_dealloc),
        new: Some(channel_type_call),
        getattr: Some(crate::channel_attrs::getattr),
        setattr: Some(crate::channel_attrs::setattr),
        ..TypeOps::EMPTY
    },
)
.with_methods(ptr::addr_of!(crate::channel_attrs::METHODS) as *mut _);

/// `&PyChannel_Type`.
pub(crate) fn channel_type() -> *mut PyTypeObject {
    ptr::addr_of_mut!(PyChannel_Type)
}

/// True when `op` is a channel (or subtype instance).
///
/// # Safety
/// `op` is a live object.
pub unsafe fn is_channel(op: *mut PyObject) -> bool {
    // SAFETY: op is live.
    crate::object::typeobj::is_subtype(unsafe { crate::object::type_of(op) }, channel_type())
}

/// The channel behind a pointer.
///
/// # Safety
/// `op` is a live channel.
#[inline]
pub unsafe fn cref<'a>(op: *mut PyObject) -> &'a PyChannelObject {
    // SAFETY: per the contract.
    unsafe { &*(op as *const PyChannelObject) }
}

/// A new channel of type `tp` (a subtype of channel): balance 0, preference -1.
pub(crate) fn new(tp: *mut PyTypeObject) -> Obj {
    // SAFETY: PyChannelObject is the layout of channel instances.
    unsafe {
        crate::object::alloc_instance(
            tp,
            PyChannelObject {
                ob_base: PyObject::immortal(tp),
                head: Cell::new(ptr::null_mut()),
                balance: Cell::new(0),
                closing: Cell::new(false),
                preference: Cell::new(-1),
                schedule_all: Cell::new(false),
                orphaned: Cell::new(false),
            },
        )
    }
}

impl PyChannelObject {
    /// The balance.
    pub fn balance(&self) -> c_int {
        self.balance.get()
    }
    /// The closing flag.
    pub fn closing(&self) -> bool {
        self.closing.get()
    }
    /// Closing and empty.
    pub fn closed(&self) -> bool {
        self.closing.get() && self.balance.get() == 0
    }
    /// Sets or clears closing.
    pub fn set_closing(&self, v: bool) {
        self.closing.set(v)
    }
    /// The preference (-1, 0, 1).
    pub fn preference(&self) -> c_int {
        self.preference.get() as c_int
    }
    /// Sets the preference to the sign of `v`.
    pub fn set_preference(&self, v: c_int) {
        self.preference.set(v.signum() as i8)
    }
    /// The schedule_all flag.
    pub fn schedule_all(&self) -> bool {
        self.schedule_all.get()
    }
    /// Sets schedule_all.
    pub fn set_schedule_all(&self, v: bool) {
        self.schedule_all.set(v)
    }
    /// The first blocked tasklet (borrowed), or NULL.
    pub fn head(&self) -> TaskletPtr {
        self.head.get()
    }

    /// Appends `t` (handing over a reference) at the tail of the wait queue.
    unsafe fn push_back(&self, t: TaskletPtr) {
        let head = self.head.get();
        // SAFETY: t and the queued tasklets are live.
        unsafe {
            if head.is_null() {
                tref(t).next.set(t);
                tref(t).prev.set(t);
                self.head.set(t);
            } else {
                let last = tref(head).prev.get();
                tref(t).next.set(head);
                tref(t).prev.set(last);
                tref(last).next.set(t);
                tref(head).prev.set(t);
            }
        }
    }

    /// Unlinks `t` from the wait queue and returns the queue's reference.
    unsafe fn remove(&self, t: TaskletPtr) -> Obj {
        // SAFETY: t is in this queue; its neighbours are live.
        unsafe {
            let tt = tref(t);
            let (next, prev) = (tt.next.get(), tt.prev.get());
            if next == t {
                self.head.set(ptr::null_mut());
            } else {
                tref(prev).next.set(next);
                tref(next).prev.set(prev);
                if self.head.get() == t {
                    self.head.set(next);
                }
            }
            tt.next.set(ptr::null_mut());
            tt.prev.set(ptr::null_mut());
            Obj::from_owned_unchecked(t.cast())
        }
    }
}

/// Takes a blocked tasklet out of its channel: fixes the balance, clears `blocked` and
/// returns the wait queue's reference to it (the caller links it somewhere or drops it).
/// An orphaned channel whose queue this empties is released (and freed).
///
/// # Safety
/// `t` is a live tasklet with `blocked != 0`.
pub(crate) unsafe fn unblock(t: TaskletPtr) -> Obj {
    // SAFETY: a blocked tasklet's channel is alive (module docs).
    unsafe {
        let tt = tref(t);
        let chan = tt.blocked_on.replace(ptr::null_mut());
        if chan.is_null() {
            crate::stack::fatal("blocked tasklet without a channel");
        }
        let ch = cref(chan);
        let r = ch.remove(t);
        ch.balance.set(ch.balance.get() - tt.blocked.get() as c_int);
        tt.blocked.set(0);
        if ch.head.get().is_null() && ch.orphaned.get() {
            release_orphan(chan);
        }
        r
    }
}

/// Drops the reference an orphaned channel's (now empty) wait queue held.
#[cold]
unsafe fn release_orphan(chan: *mut PyObject) {
    // SAFETY: the queue's reference, given up once.
    unsafe {
        cref(chan).orphaned.set(false);
        crate::object::decref(chan);
    }
}

/// The last reference to a channel went: while tasklets are blocked on it, it stays alive
/// (resurrected, its wait queue holding the reference) instead of being freed.
unsafe fn channel_pre_dealloc(op: *mut PyObject) {
    // SAFETY: op is a live channel (its count is held at 1 while this runs).
    unsafe {
        let ch = cref(op);
        if !ch.head.get().is_null() && !ch.orphaned.get() {
            ch.orphaned.set(true);
            crate::object::incref(op);
        }
    }
}

/// A send (`dir` = 1, `value` is what is sent, possibly a bomb) or a receive (`dir` = -1,
/// `value` None) by the running tasklet. Returns the received value (receive) or None (send);
/// a bomb that arrives raises its exception. With `soft`, a switch is soft and returns the
/// unwind token instead (the result reaches the tasklet through the frame loop).
pub(crate) fn action(
    ts: &ThreadState,
    chan: *mut PyObject,
    dir: i8,
    value: Obj,
    soft: bool,
) -> PyResult<Obj> {
    let s = sched_op(ts)?;
    if s.schedlock.get() > 0 {
        return Err(PyErr::runtime_error(
            "Recursive channel call due to callbacks!",
        ));
    }
    // SAFETY: chan is a live channel (checked by the caller).
    let ch = unsafe { cref(chan) };
    let source = s.current.get();
    // SAFETY: current is live.
    let src = unsafe { tref(source) };
    let bal = ch.balance.get();
    let cando = if dir > 0 { bal < 0 } else { bal > 0 };
    if cando {
        // SAFETY: cando means the queue holds a live partner.
        if !unsafe { tref(ch.head.get()) }.is_own(ts) {
            return Err(PyErr::runtime_error(
                "channel: the waiting partner belongs to another thread; channels between threads are not supported yet",
            ));
        }
    }
    if cando {
        if ch.schedule_all.get() || ch.preference.get() == -dir {
            check_can_switch(s)?;
        }
    } else {
        if src.block_trap.get() {
            return Err(PyErr::runtime_error(
                "this tasklet does not like to be blocked.",
            ));
        }
        if ch.closing.get() {
            return Err(PyErr::value_error(
                "Send/receive operation on a closed channel",
            ));
        }
        check_can_switch(s)?;
    }
    src.tempval.set(Some(value));
    callbacks::channel_callback(ts, chan, source, dir > 0, !cando);
    if cando {
        let target = ch.head.get();
        // SAFETY: cando means the queue holds a partner.
        let tref_t = unsafe { unblock(target) }.into_raw() as TaskletPtr;
        // SAFETY: target is live (we hold the queue's reference in tref_t).
        let tg = unsafe { tref(tref_t) };
        let a = src.tempval.take();
        src.tempval.set(tg.tempval.take());
        tg.tempval.set(a);
        let next = if ch.schedule_all.get() {
            // SAFETY: target is live and in no list; we hand over its reference.
            unsafe { s.link_before_current(tref_t) };
            src.next.get()
        } else if ch.preference.get() == -dir {
            // A switch by the preference rule is exempt from a pending soft interrupt.
            s.wd.no_soft_irq.set(true);
            // SAFETY: as above.
            unsafe { s.link_after_current(tref_t) };
            tref_t
        } else {
            // SAFETY: as above.
            unsafe { s.link_before_current(tref_t) };
            source
        };
        switch_to(ts, source, next, soft)
    } else {
        // SAFETY: source is current, hence in the run queue.
        let my_ref = unsafe { s.unlink(source) };
        // SAFETY: chan is live; the wait queue takes over the queue's reference.
        unsafe {
            ch.push_back(my_ref.into_raw() as TaskletPtr);
            src.blocked_on.set(chan);
        }
        src.blocked.set(dir);
        ch.balance.set(ch.balance.get() + dir as c_int);
        let next = match s.current.get() {
            n if !n.is_null() => n,
            _ => match wakeup_when_empty(s) {
                // SAFETY: w is a live tasklet of this thread.
                Ok(w) => unsafe {
                    make_runnable(s, w);
                    w
                },
                Err(e) => {
                    // Undo the block: the caller stays runnable and keeps running.
                    // SAFETY: source is blocked on ch.
                    let r = unsafe { unblock(source) };
                    // SAFETY: the run queue is empty: source becomes current again.
                    unsafe { s.link_before_current(r.into_raw() as TaskletPtr) };
                    drop(src.tempval.take());
                    return Err(e);
                }
            },
        };
        switch_to(ts, source, next, soft)
    }
}

/// Sends an exception (`bomb` wraps it) like a value.
pub(crate) fn send_exception(ts: &ThreadState, chan: *mut PyObject, e: PyErr) -> PyResult<()> {
    action(ts, chan, 1, bomb::new(e), false).map(drop)
}

unsafe fn channel_type_call(
    tp: *mut PyTypeObject,
    args: *mut PyObject,
    kw: *mut PyObject,
) -> PyResult<Obj> {
    // SAFETY: args is a tuple; kw NULL or a dict.
    unsafe {
        if !crate::object::tuple::items(args).is_empty()
            || (!kw.is_null() && crate::object::dict::len(kw) > 0)
        {
            return Err(PyErr::type_error("channel() takes no arguments"));
        }
    }
    Ok(new(tp))
}

unsafe fn drop_channel(op: *mut PyObject) {
    // SAFETY: called once on a channel being freed: its wait queue is empty (a channel with
    // blocked tasklets resurrects itself in pre_dealloc).
    unsafe { ptr::drop_in_place(op as *mut PyChannelObject) }
}
