//! The tasklet object: a lightweight thread with Stackless's state model.
//!
//! A tasklet is *bound* to a callable (held in `tempval` until it is set up, as Stackless
//! does), *set up* with arguments (it gets a [`Body`] and is alive), and *started* the first
//! time the frame loop runs it. It is *scheduled* while linked in a list (`next != NULL`): the
//! run queue, or a channel's wait queue when *blocked*. Alive but not scheduled is *paused*.
//! Suspended, it has either soft frames only (no C state: it resumes in the frame loop of any
//! runner) or C state (it blocked with a hard switch and keeps the stack it ran on).
//!
//! Invariants:
//! - `next`/`prev` are both NULL, or link the tasklet into exactly one cyclic list (the run
//!   queue of its thread, or one channel's wait queue); that list owns one reference to it.
//! - `blocked != 0` exactly when it sits in a channel's queue, and then `blocked_on` points to
//!   that channel, which stays alive meanwhile (see `channel`: no reference count changes).
//! - `ctx` is `Some` exactly while the tasklet is suspended with C state (or is a suspended
//!   main); `stack` then holds the stack that context is on (main, on the thread's own stack,
//!   has none). A running tasklet's stack is the scheduler's `running_stack`.
//! - `frames` holds its soft frames (innermost on top); `body` is set only between setup and
//!   the first run.
//! - `curexc` holds the tasklet's error indicator while it is not running.

use std::cell::Cell;
use std::ffi::c_ulong;
use std::ptr;

use crate::object::typeobj::{PyTypeObject, Py_TPFLAGS_BASETYPE, TypeOps};
use crate::object::{Obj, PyObject};
use crate::scheduler::frames::{CFrame, FrameStack};
use crate::stack::{Context, Stack};
use crate::thread_state::ThreadState;

/// What a set-up tasklet will call when it first runs.
pub struct Body {
    /// The callable.
    pub func: Obj,
    /// The positional arguments (a tuple).
    pub args: Obj,
    /// The keyword arguments (a dict) or `None`.
    pub kwargs: Option<Obj>,
}

/// The tasklet object. Opaque to C.
#[repr(C)]
pub struct PyTaskletObject {
    // Field order: what every switch touches comes first (the first 64 bytes hold the head,
    // the queue links, tempval, the context, the stack and the error indicator).
    /// Object head.
    pub ob_base: PyObject,
    /// Next in its list (run queue or channel queue), NULL when not linked.
    pub(crate) next: Cell<*mut PyTaskletObject>,
    /// Previous in its list.
    pub(crate) prev: Cell<*mut PyTaskletObject>,
    /// The transfer slot: bound callable, values in flight, schedule retvals, bombs.
    pub(crate) tempval: Cell<Option<Obj>>,
    /// The suspended machine context while started and not running.
    pub(crate) ctx: Cell<Option<Context>>,
    /// The stack it keeps while suspended with C state (it blocked with a hard switch).
    pub(crate) stack: Cell<Option<Box<Stack>>>,
    /// The saved error indicator while not running.
    pub(crate) curexc: Cell<Option<Obj>>,
    /// Library-mediated nested calls active on it beyond its body, while not running.
    pub(crate) nesting_level: Cell<i32>,
    /// Soft-switchable functions it runs directly (see `Scheduler::direct_frames`), while not
    /// running.
    pub(crate) direct_frames: Cell<i32>,
    /// -1 blocked receiving, +1 blocked sending, 0 not blocked.
    pub(crate) blocked: Cell<i8>,
    /// No involuntary switches (watchdog preemption).
    pub(crate) atomic: Cell<bool>,
    /// Preemptible even at nesting level > 0.
    pub(crate) ignore_nesting: Cell<bool>,
    /// Channel operations that would block raise RuntimeError instead.
    pub(crate) block_trap: Cell<bool>,
    /// A watchdog interrupt was deferred and is waiting.
    pub(crate) pending_irq: Cell<bool>,
    /// True from the first run until it dies (main: always).
    pub(crate) started: Cell<bool>,
    /// True while it is in the thread's list of tasklets suspended with C state.
    pub(crate) in_cstate_list: Cell<bool>,
    /// True for a thread's main tasklet.
    pub(crate) is_main: Cell<bool>,
    /// Its soft frames (soft-switchable functions in progress): the innermost, linked to the
    /// ones below it. One word, and the frame loop reaches the top frame in one load.
    pub(crate) frames: FrameStack,
    /// The serial of the owning thread's state (see `thread_state`); 0 for none.
    pub(crate) serial: Cell<u64>,
    /// The callable of a started body (what `PyTasklet_GetFrame` reports).
    pub(crate) func: Cell<Option<Obj>>,
    /// The channel it is blocked on (borrowed: a channel outlives its wait queue), while
    /// blocked; NULL otherwise.
    pub(crate) blocked_on: Cell<*mut PyObject>,
    /// Set up but not started: what to call.
    pub(crate) body: Cell<Option<Body>>,
    /// Usable stack size to use when it starts (0: the library default).
    pub(crate) stack_size: Cell<usize>,
    /// Links of the thread's list of started tasklets (those with C state).
    pub(crate) cs_next: Cell<*mut PyTaskletObject>,
    /// See `cs_next`.
    pub(crate) cs_prev: Cell<*mut PyTaskletObject>,
}

/// `_stackless.tasklet`.
#[no_mangle]
pub static mut PyTasklet_Type: PyTypeObject = PyTypeObject::new_static(
    c"_stackless.tasklet",
    ptr::addr_of!(crate::object::typeobj::PyBaseObject_Type) as *mut PyTypeObject,
    std::mem::size_of::<PyTaskletObject>(),
    Py_TPFLAGS_BASETYPE,
    TypeOps {
        drop_fields: Some(drop_tasklet),
        pre_dealloc: Some(crate::scheduler::ops::tasklet_pre_dealloc),
        new: Some(crate::scheduler::ops::tasklet_type_call),
        call: Some(crate::scheduler::ops::tasklet_instance_call),
        getattr: Some(crate::tasklet_attrs::getattr),
        setattr: Some(crate::tasklet_attrs::setattr),
        ..TypeOps::EMPTY
    },
)
.with_methods(ptr::addr_of!(crate::tasklet_attrs::METHODS) as *mut _);

/// `&PyTasklet_Type`.
pub fn tasklet_type() -> *mut PyTypeObject {
    ptr::addr_of_mut!(PyTasklet_Type)
}

/// A raw tasklet pointer.
pub type TaskletPtr = *mut PyTaskletObject;

/// The tasklet behind a pointer.
///
/// # Safety
/// `t` is a live tasklet.
#[inline]
pub unsafe fn tref<'a>(t: TaskletPtr) -> &'a PyTaskletObject {
    // SAFETY: per the contract.
    unsafe { &*t }
}

/// True when `op` is a tasklet (or subtype instance).
///
/// # Safety
/// `op` is a live object.
pub unsafe fn is_tasklet(op: *mut PyObject) -> bool {
    // SAFETY: op is live.
    crate::object::typeobj::is_subtype(unsafe { crate::object::type_of(op) }, tasklet_type())
}

impl PyTaskletObject {
    /// The fields of a new, unbound tasklet.
    pub fn fresh(tp: *mut PyTypeObject, ts: &ThreadState, tempval: Option<Obj>) -> PyTaskletObject {
        PyTaskletObject {
            ob_base: PyObject::immortal(tp),
            next: Cell::new(ptr::null_mut()),
            prev: Cell::new(ptr::null_mut()),
            blocked: Cell::new(0),
            atomic: Cell::new(false),
            ignore_nesting: Cell::new(false),
            block_trap: Cell::new(false),
            pending_irq: Cell::new(false),
            tempval: Cell::new(tempval),
            body: Cell::new(None),
            func: Cell::new(None),
            started: Cell::new(false),
            ctx: Cell::new(None),
            stack: Cell::new(None),
            frames: FrameStack::default(),
            in_cstate_list: Cell::new(false),
            stack_size: Cell::new(0),
            blocked_on: Cell::new(ptr::null_mut()),
            curexc: Cell::new(None),
            nesting_level: Cell::new(0),
            direct_frames: Cell::new(0),
            serial: Cell::new(ts.serial),
            is_main: Cell::new(false),
            cs_next: Cell::new(ptr::null_mut()),
            cs_prev: Cell::new(ptr::null_mut()),
        }
    }

    /// The object pointer.
    pub fn as_obj(&self) -> *mut PyObject {
        self as *const PyTaskletObject as *mut PyObject
    }

    /// The tasklet pointer.
    pub fn as_ptr(&self) -> TaskletPtr {
        self as *const PyTaskletObject as TaskletPtr
    }

    /// Has a frame: set up, or started and not finished (and its thread is alive).
    pub fn alive(&self) -> bool {
        (self.started.get() || self.has_body()) && self.thread_alive()
    }

    /// True while the owning thread has a live state.
    pub fn thread_alive(&self) -> bool {
        let s = self.serial.get();
        s != 0
            && (s == crate::thread_state::current().serial || crate::thread_state::serial_alive(s))
    }

    /// True when it belongs to the calling thread.
    pub fn is_own(&self, ts: &ThreadState) -> bool {
        self.serial.get() == ts.serial
    }

    /// The owning thread's id, or `(unsigned long)-1` once that thread ended.
    pub fn thread_id(&self) -> c_ulong {
        crate::thread_state::ident_of(self.serial.get()).unwrap_or(c_ulong::MAX)
    }

    /// Set up and not yet started.
    pub fn has_body(&self) -> bool {
        // SAFETY: a momentary read of the cell.
        unsafe { (*self.body.as_ptr()).is_some() }
    }

    /// Linked in a list: runnable, or blocked on a channel.
    pub fn scheduled(&self) -> bool {
        !self.next.get().is_null()
    }

    /// Alive and in no list.
    pub fn paused(&self) -> bool {
        self.alive() && !self.scheduled()
    }

    /// Runnable: in the run queue (scheduled and not blocked).
    pub fn runnable(&self) -> bool {
        self.scheduled() && self.blocked.get() == 0
    }

    /// True when it holds C state: it is suspended in C code on a stack of its own (it
    /// blocked with a hard switch). Main runs on the thread's stack and does not count.
    pub fn has_cstate(&self) -> bool {
        // SAFETY: a momentary read of the cell.
        !self.is_main.get() && unsafe { (*self.ctx.as_ptr()).is_some() }
    }

    /// True when it has soft frames.
    #[inline]
    pub fn has_frames(&self) -> bool {
        !self.frames.is_empty()
    }

    /// Number of soft frames.
    pub fn frame_count(&self) -> usize {
        self.frames.len()
    }

    /// Pushes a soft frame.
    pub(crate) fn push_frame(&self, f: Box<CFrame>) {
        self.frames.push(f);
    }

    /// Pops the top soft frame.
    pub(crate) fn pop_frame(&self) -> Option<Box<CFrame>> {
        self.frames.pop()
    }

    /// The top soft frame, NULL when none (it stays boxed in place until popped).
    #[inline]
    pub(crate) fn top_frame(&self) -> *mut CFrame {
        self.frames.top()
    }

    /// A borrowed look at tempval (NULL when empty).
    pub fn tempval_ptr(&self) -> *mut PyObject {
        // SAFETY: a momentary read of the cell.
        unsafe {
            (*self.tempval.as_ptr())
                .as_ref()
                .map_or(ptr::null_mut(), Obj::as_ptr)
        }
    }
}

unsafe fn drop_tasklet(op: *mut PyObject) {
    // SAFETY: called once on a tasklet being freed; it is in no list (lists hold references)
    // and has no live context (pre_dealloc killed it).
    unsafe { ptr::drop_in_place(op as *mut PyTaskletObject) }
}
