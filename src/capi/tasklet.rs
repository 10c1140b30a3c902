//! Exports: tasklets (SPEC §4).

use std::ffi::{c_int, c_ulong};
use std::ptr;

use super::boundary::{entry, entry_or, non_null, type_arg, typed};
use crate::error::PyErr;
use crate::object::typeobj::PyTypeObject;
use crate::object::{exception, tuple, Obj, PyObject, PyResult};
use crate::scheduler::ops;
use crate::tasklet::{tasklet_type, tref, PyTaskletObject};
use crate::thread_state::{self, ThreadState};

/// Checks a tasklet argument.
pub(crate) fn task<'a>(t: *mut PyTaskletObject, func: &str) -> PyResult<&'a PyTaskletObject> {
    let p = typed(t.cast(), tasklet_type(), func, "task")?;
    // SAFETY: p is a live tasklet.
    Ok(unsafe { tref(p.cast()) })
}

fn opt(o: *mut PyObject) -> Option<Obj> {
    // SAFETY: o is NULL or live (C contract).
    unsafe { Obj::from_borrowed_opt(o) }
}

/// Returns 1 if `o` is a tasklet (or an instance of a subtype), else 0.
#[no_mangle]
pub unsafe extern "C" fn PyTasklet_Check(o: *mut PyObject) -> c_int {
    // SAFETY: o is NULL or live.
    (!o.is_null() && unsafe { crate::tasklet::is_tasklet(o) }) as c_int
}

/// Returns 1 if `o` is exactly a tasklet, else 0.
#[no_mangle]
pub unsafe extern "C" fn PyTasklet_CheckExact(o: *mut PyObject) -> c_int {
    // SAFETY: o is NULL or live.
    (!o.is_null() && unsafe { crate::object::type_of(o) } == tasklet_type()) as c_int
}

/// Creates a tasklet of type `type` (NULL means `PyTasklet_Type`; otherwise a subtype made
/// with `PyType_FromSpecWithBases`) bound to the callable `func` (NULL or `Py_None`: unbound).
/// The new tasklet is not alive and not scheduled; give it arguments with `PyTasklet_Setup`.
/// Returns a new reference, or NULL with an exception set (`TypeError` for a type that is
/// not a tasklet subtype or a non-callable `func`).
#[no_mangle]
pub unsafe extern "C" fn PyTasklet_New(
    type_: *mut PyTypeObject,
    func: *mut PyObject,
) -> *mut PyTaskletObject {
    entry(|| {
        let tp = if type_.is_null() {
            ptr::null_mut()
        } else {
            type_arg(type_, "PyTasklet_New", "type")?
        };
        Ok(ops::new_tasklet(thread_state::current(), tp, opt(func))?
            .into_raw()
            .cast())
    })
}

/// Gives the bound tasklet `task` its arguments (`args` a tuple, `kwds` a dict or NULL; both
/// borrowed) and appends it to the end of the run queue: it becomes alive and scheduled.
/// Returns 0, or -1 with `RuntimeError` ("tasklet is alive", "the tasklet was not bound to a
/// function") or another exception set.
#[no_mangle]
pub unsafe extern "C" fn PyTasklet_Setup(
    task_: *mut PyTaskletObject,
    args: *mut PyObject,
    kwds: *mut PyObject,
) -> c_int {
    entry(|| {
        let t = task(task_, "PyTasklet_Setup")?;
        let args = non_null(args, "PyTasklet_Setup", "args")?;
        // SAFETY: args is live.
        ops::setup(
            thread_state::current(),
            t.as_ptr(),
            unsafe { Obj::from_borrowed(args) },
            opt(kwds),
        )?;
        Ok(0)
    })
}

/// Binds `task` to `func` with `args`/`kwargs` (Stackless's `tasklet.bind`; `Py_None` counts as
/// NULL). All NULL unbinds it; `func` alone only binds it; with arguments it becomes alive and
/// paused (not scheduled), keeping the previous function when `func` is NULL. Rebinding drops
/// a paused tasklet's pending body without running it. Returns 0, or -1 with an exception set
/// (`RuntimeError`: "can't (re)bind the current tasklet", "tasklet is scheduled", "tasklet has
/// C state on its stack", "can't unbind the main tasklet", "tasklet has no thread" when
/// arguments are given for a tasklet whose thread ended; `TypeError` for a non-callable).
#[no_mangle]
pub unsafe extern "C" fn PyTasklet_BindEx(
    task_: *mut PyTaskletObject,
    func: *mut PyObject,
    args: *mut PyObject,
    kwargs: *mut PyObject,
) -> c_int {
    entry(|| {
        let t = task(task_, "PyTasklet_BindEx")?;
        ops::bind(
            thread_state::current(),
            t.as_ptr(),
            opt(func),
            opt(args),
            opt(kwargs),
        )?;
        Ok(0)
    })
}

/// Moves `task` to the thread `thread_id` (`(unsigned long)-1`: the calling thread). A no-op
/// when it already belongs there. Returns 0, or -1 with an exception set: `RuntimeError`
/// "can't (re)bind a runnable tasklet", "tasklet has C state on its stack"; `ValueError` "bad
/// thread" for an unknown thread. Moving a tasklet to another live thread is not supported yet
/// (`RuntimeError`).
#[no_mangle]
pub unsafe extern "C" fn PyTasklet_BindThread(
    task_: *mut PyTaskletObject,
    thread_id: c_ulong,
) -> c_int {
    entry(|| {
        let t = task(task_, "PyTasklet_BindThread")?;
        let ts = thread_state::current();
        let me = super::thread_ident();
        let target = if thread_id == c_ulong::MAX {
            me
        } else {
            thread_id
        };
        if t.is_own(ts) && target == me {
            return Ok(0);
        }
        if t.runnable() && t.thread_alive() {
            return Err(PyErr::runtime_error("can't (re)bind a runnable tasklet"));
        }
        if t.has_cstate() && t.thread_alive() {
            return Err(PyErr::runtime_error("tasklet has C state on its stack"));
        }
        if target != me {
            if thread_state::with_thread(target, |_| ()).is_none() {
                return Err(PyErr::value_error("bad thread"));
            }
            return Err(PyErr::runtime_error(
                "PyTasklet_BindThread: moving a tasklet to another live thread is not supported yet",
            ));
        }
        t.serial.set(ts.serial);
        Ok(0)
    })
}

fn run_common(task_: *mut PyTaskletObject, func: &str, switch: bool, nr: bool) -> c_int {
    entry(|| {
        let ts = thread_state::current();
        let soft = crate::soft::request(ts, nr);
        let t = task(task_, func)?;
        let r = ops::run(ts, t.as_ptr(), switch, soft)?;
        Ok(crate::scheduler::frames::is_token(&r) as c_int)
    })
}

/// Runs `task` now: inserts it at the end of the run queue if it is not scheduled, then
/// switches to it; the caller stays in the queue and continues when `task` yields (tasklets
/// between the caller and `task` are skipped this round). Returns 0, or -1 with an exception
/// set (`RuntimeError` "You cannot run a blocked tasklet", "You cannot run an unbound(dead)
/// tasklet", "switch_trap"; or an uncaught exception of a tasklet delivered to the caller).
#[no_mangle]
pub unsafe extern "C" fn PyTasklet_Run(task_: *mut PyTaskletObject) -> c_int {
    run_common(task_, "PyTasklet_Run", false, false)
}

/// `PyTasklet_Run` that may switch soft. Returns 1 when it switched soft (the caller must
/// return `Py_UnwindToken`), 0 when it switched hard (or did not switch), -1 on failure. Soft
/// under the same conditions as `PyChannel_Send_nr`.
#[no_mangle]
pub unsafe extern "C" fn PyTasklet_Run_nr(task_: *mut PyTaskletObject) -> c_int {
    run_common(task_, "PyTasklet_Run_nr", false, true)
}

/// Like `PyTasklet_Run`, but the caller leaves the run queue (it is paused until somebody
/// inserts or runs it). Switching to the current tasklet is a no-op. Returns 0, or -1 with
/// an exception set (as `PyTasklet_Run`, and `RuntimeError` "can't switch to a different
/// thread." for a tasklet of another thread).
#[no_mangle]
pub unsafe extern "C" fn PyTasklet_Switch(task_: *mut PyTaskletObject) -> c_int {
    run_common(task_, "PyTasklet_Switch", true, false)
}

/// `PyTasklet_Switch` that may switch soft (returns 1 then); see `PyTasklet_Run_nr`.
#[no_mangle]
pub unsafe extern "C" fn PyTasklet_Switch_nr(task_: *mut PyTaskletObject) -> c_int {
    run_common(task_, "PyTasklet_Switch_nr", true, true)
}

/// Removes `task` from the run queue (it becomes paused). A no-op when it is not scheduled.
/// Returns 0, or -1 with `RuntimeError` ("You cannot remove a blocked tasklet.", "The current
/// tasklet cannot be removed.").
#[no_mangle]
pub unsafe extern "C" fn PyTasklet_Remove(task_: *mut PyTaskletObject) -> c_int {
    entry(|| {
        let t = task(task_, "PyTasklet_Remove")?;
        ops::remove(thread_state::current(), t.as_ptr())?;
        Ok(0)
    })
}

/// Appends `task` to the end of the run queue (just before the current tasklet) unless it is
/// scheduled already. Returns 0, or -1 with `RuntimeError` ("You cannot run a blocked
/// tasklet", "You cannot run an unbound(dead) tasklet").
#[no_mangle]
pub unsafe extern "C" fn PyTasklet_Insert(task_: *mut PyTaskletObject) -> c_int {
    entry(|| {
        let t = task(task_, "PyTasklet_Insert")?;
        ops::insert(thread_state::current(), t.as_ptr())?;
        Ok(0)
    })
}

/// Builds the exception `klass(*args)` for RaiseException / SendException: `klass` must be an
/// exception class; a non-tuple `args` is the single argument; NULL means no arguments.
pub(crate) fn exception_from(
    klass: *mut PyObject,
    args: *mut PyObject,
    what: &str,
) -> PyResult<PyErr> {
    // SAFETY: klass is NULL or live.
    if klass.is_null() || !unsafe { exception::is_class_object(klass) } {
        return Err(PyErr::type_error(format!(
            "{what} needs Exception or string subclass as first parameter"
        )));
    }
    // SAFETY: args is NULL or live.
    let args = unsafe {
        if args.is_null() {
            tuple::empty()
        } else if tuple::is_tuple(args) {
            Obj::from_borrowed(args)
        } else {
            tuple::from_vec(vec![Obj::from_borrowed(args)])
        }
    };
    Ok(PyErr::from_instance(exception::instantiate(
        klass.cast(),
        args,
    )?))
}

/// Builds an exception with `raise` semantics from (exc, val, tb), as for
/// `PyTasklet_Throw` / `PyChannel_SendThrow`.
pub(crate) fn exception_raise_form(
    exc: *mut PyObject,
    val: *mut PyObject,
    tb: *mut PyObject,
) -> PyResult<PyErr> {
    let none = crate::object::singletons::none();
    if !tb.is_null() && tb != none {
        return Err(PyErr::type_error(
            "third argument must be a traceback object",
        ));
    }
    let val = if val == none { ptr::null_mut() } else { val };
    // SAFETY: exc, val are NULL or live.
    unsafe {
        if !exc.is_null() && exception::is_class_object(exc) {
            if !val.is_null()
                && exception::is_instance(val)
                && crate::object::typeobj::is_subtype(crate::object::type_of(val), exc.cast())
            {
                return Ok(PyErr::from_instance(Obj::from_borrowed(val)));
            }
            return exception_from(exc, val, "throw");
        }
        if !exc.is_null() && exception::is_instance(exc) {
            if !val.is_null() {
                return Err(PyErr::type_error(
                    "instance exception may not have a separate value",
                ));
            }
            return Ok(PyErr::from_instance(Obj::from_borrowed(exc)));
        }
        let name = if exc.is_null() {
            "NULL"
        } else {
            crate::object::typeobj::type_name_of(exc)
        };
        Err(PyErr::type_error(format!(
            "exceptions must be classes, or instances, not {name}"
        )))
    }
}

/// Raises `klass(*args)` in `task` immediately: switches to it (a blocked or paused tasklet is
/// moved to just before the caller; a queued one runs from its place), and the caller continues
/// when it yields or dies. `klass` must be an exception class; a non-tuple `args` is wrapped
/// in a 1-tuple. If `task` is the current tasklet the exception is raised in the caller (-1).
/// Returns 0, or -1 with an exception set (`RuntimeError` "You cannot throw to a dead tasklet";
/// `TypeError` for a bad `klass`).
#[no_mangle]
pub unsafe extern "C" fn PyTasklet_RaiseException(
    task_: *mut PyTaskletObject,
    klass: *mut PyObject,
    args: *mut PyObject,
) -> c_int {
    entry(|| {
        let t = task(task_, "PyTasklet_RaiseException")?;
        let err = exception_from(klass, args, "tasklet.raise_exception")?;
        ops::throw(thread_state::current(), t.as_ptr(), false, err)?;
        Ok(0)
    })
}

/// Raises an exception in `task` with `raise` semantics: `exc` is a class (instantiated with
/// `val`) or an instance (then `val` must be NULL/None); `tb` must be NULL or None. With
/// `pending` 0 it behaves like `PyTasklet_RaiseException`; with `pending` non-zero the tasklet
/// is made runnable (unblocked if blocked) and raises when it next runs, while the caller
/// continues. Returns 0, or -1 with an exception set.
#[no_mangle]
pub unsafe extern "C" fn PyTasklet_Throw(
    task_: *mut PyTaskletObject,
    pending: c_int,
    exc: *mut PyObject,
    val: *mut PyObject,
    tb: *mut PyObject,
) -> c_int {
    entry(|| {
        let t = task(task_, "PyTasklet_Throw")?;
        let err = exception_raise_form(exc, val, tb)?;
        ops::throw(thread_state::current(), t.as_ptr(), pending != 0, err)?;
        Ok(0)
    })
}

/// Kills `task`: raises `TaskletExit` in it at once (its cleanup runs before this returns). A
/// dead tasklet is left alone (0). Killing the current tasklet raises `TaskletExit` in the
/// caller (-1). Returns 0, or -1 with an exception set.
#[no_mangle]
pub unsafe extern "C" fn PyTasklet_Kill(task_: *mut PyTaskletObject) -> c_int {
    kill(task_, 0, "PyTasklet_Kill")
}

/// `PyTasklet_Kill`, or with `pending` non-zero: the tasklet is made runnable and dies when
/// it next runs, while the caller continues. Returns 0, or -1 with an exception set.
#[no_mangle]
pub unsafe extern "C" fn PyTasklet_KillEx(task_: *mut PyTaskletObject, pending: c_int) -> c_int {
    kill(task_, pending, "PyTasklet_KillEx")
}

fn kill(task_: *mut PyTaskletObject, pending: c_int, func: &str) -> c_int {
    entry(|| {
        let t = task(task_, func)?;
        ops::kill(thread_state::current(), t.as_ptr(), pending != 0)?;
        Ok(0)
    })
}

fn flag_get(
    task_: *mut PyTaskletObject,
    func: &str,
    f: impl FnOnce(&PyTaskletObject) -> bool,
) -> c_int {
    entry(|| Ok(f(task(task_, func)?) as c_int))
}

/// Returns the atomic flag of `task` (1 or 0), or -1 with an exception set.
#[no_mangle]
pub unsafe extern "C" fn PyTasklet_GetAtomic(task_: *mut PyTaskletObject) -> c_int {
    flag_get(task_, "PyTasklet_GetAtomic", |t| t.atomic.get())
}

/// Sets the atomic flag of `task` to `flag != 0` (an atomic tasklet is never preempted by the
/// watchdog; explicit switches still happen). Returns the previous value, or -1 with an
/// exception set.
#[no_mangle]
pub unsafe extern "C" fn PyTasklet_SetAtomic(task_: *mut PyTaskletObject, flag: c_int) -> c_int {
    entry(|| {
        let t = task(task_, "PyTasklet_SetAtomic")?;
        let old = t.atomic.replace(flag != 0);
        recheck_pending_irq(t);
        Ok(old as c_int)
    })
}

/// A deferred preemption of the running tasklet may fire at the next tick.
fn recheck_pending_irq(t: &PyTaskletObject) {
    let ts = thread_state::current();
    if t.pending_irq.get() && t.is_own(ts) && ops::current(ts) == t.as_ptr() {
        ts.sched.wd.recheck_soon();
    }
}

/// Returns the ignore_nesting flag of `task` (1 or 0), or -1 with an exception set.
#[no_mangle]
pub unsafe extern "C" fn PyTasklet_GetIgnoreNesting(task_: *mut PyTaskletObject) -> c_int {
    flag_get(task_, "PyTasklet_GetIgnoreNesting", |t| {
        t.ignore_nesting.get()
    })
}

/// Sets the ignore_nesting flag (preemption allowed at any nesting level). Returns the previous
/// value, or -1 with an exception set.
#[no_mangle]
pub unsafe extern "C" fn PyTasklet_SetIgnoreNesting(
    task_: *mut PyTaskletObject,
    flag: c_int,
) -> c_int {
    entry(|| {
        let t = task(task_, "PyTasklet_SetIgnoreNesting")?;
        let old = t.ignore_nesting.replace(flag != 0);
        recheck_pending_irq(t);
        Ok(old as c_int)
    })
}

/// Returns 1 when a watchdog interrupt of `task` is deferred and pending, 0 if not, -1 with
/// an exception set.
#[no_mangle]
pub unsafe extern "C" fn PyTasklet_GetPendingIrq(task_: *mut PyTaskletObject) -> c_int {
    flag_get(task_, "PyTasklet_GetPendingIrq", |t| t.pending_irq.get())
}

/// Returns the block_trap flag of `task` (1 or 0), or -1 with an exception set.
#[no_mangle]
pub unsafe extern "C" fn PyTasklet_GetBlockTrap(task_: *mut PyTaskletObject) -> c_int {
    flag_get(task_, "PyTasklet_GetBlockTrap", |t| t.block_trap.get())
}

/// Sets the block_trap flag to `value != 0`: channel operations of `task` that would block
/// raise `RuntimeError` instead. Bad arguments leave an exception set.
#[no_mangle]
pub unsafe extern "C" fn PyTasklet_SetBlockTrap(task_: *mut PyTaskletObject, value: c_int) {
    entry_or((), || {
        task(task_, "PyTasklet_SetBlockTrap")?
            .block_trap
            .set(value != 0);
        Ok(())
    })
}

/// Returns a new reference to what `task` is executing: for a tasklet inside a
/// soft-switchable function, the tuple `(declaration, step)` of its innermost soft frame;
/// otherwise the callable of its body. NULL without an exception when it has none (not
/// alive); NULL with an exception for bad input.
#[no_mangle]
pub unsafe extern "C" fn PyTasklet_GetFrame(task_: *mut PyTaskletObject) -> *mut PyObject {
    entry(|| {
        let t = task(task_, "PyTasklet_GetFrame")?;
        if !t.alive() {
            return Ok(ptr::null_mut());
        }
        let top = t.top_frame();
        if !top.is_null() {
            // SAFETY: the top frame stays in place while we read it.
            let f = unsafe { &*top };
            if let Some(d) = f.declaration() {
                let step = crate::object::long::new(f.step as i64);
                return Ok(tuple::from_vec(vec![d.clone(), step]).into_raw());
            }
        }
        // SAFETY: momentary reads of the cells.
        let f = unsafe {
            (*t.func.as_ptr())
                .clone()
                .or_else(|| (*t.body.as_ptr()).as_ref().map(|b| b.func.clone()))
        };
        Ok(f.map_or(ptr::null_mut(), Obj::into_raw))
    })
}

/// Returns 1 if `task` is its thread's main tasklet, 0 if not, -1 with an exception set.
#[no_mangle]
pub unsafe extern "C" fn PyTasklet_IsMain(task_: *mut PyTaskletObject) -> c_int {
    flag_get(task_, "PyTasklet_IsMain", |t| t.is_main.get())
}

/// Returns 1 if `task` is the running tasklet of its thread, 0 if not, -1 with an exception.
#[no_mangle]
pub unsafe extern "C" fn PyTasklet_IsCurrent(task_: *mut PyTaskletObject) -> c_int {
    entry(|| {
        let t = task(task_, "PyTasklet_IsCurrent")?;
        let ts = thread_state::current();
        Ok((t.is_own(ts) && ops::current(ts) == t.as_ptr()) as c_int)
    })
}

fn nesting_of(ts: &ThreadState, t: &PyTaskletObject) -> i32 {
    if t.is_own(ts) && ops::current(ts) == t.as_ptr() {
        ts.sched.nesting_level.get()
    } else {
        t.nesting_level.get()
    }
}

fn direct_frames_of(ts: &ThreadState, t: &PyTaskletObject) -> i32 {
    if t.is_own(ts) && ops::current(ts) == t.as_ptr() {
        ts.sched.direct_frames.get()
    } else {
        t.direct_frames.get()
    }
}

/// Returns the depth of `task`'s library-level call chain (its body counts 1, each nested
/// library-mediated call 1 more; 0 when it is not running a body), or -1 with an exception.
#[no_mangle]
pub unsafe extern "C" fn PyTasklet_GetRecursionDepth(task_: *mut PyTaskletObject) -> c_int {
    entry(|| {
        let t = task(task_, "PyTasklet_GetRecursionDepth")?;
        let ts = thread_state::current();
        let body = (t.started.get() && !t.is_main.get()) as i32;
        let frames = t.frame_count() as i32 + direct_frames_of(ts, t);
        Ok(if t.started.get() {
            body + frames + nesting_of(ts, t)
        } else {
            0
        })
    })
}

/// Returns the number of library-mediated nested calls active on `task` beyond its body (a
/// `PyObject_Call` made from inside it, a callback, a nested scheduler run), or -1 with an
/// exception set.
#[no_mangle]
pub unsafe extern "C" fn PyTasklet_GetNestingLevel(task_: *mut PyTaskletObject) -> c_int {
    entry(|| {
        let t = task(task_, "PyTasklet_GetNestingLevel")?;
        Ok(nesting_of(thread_state::current(), t))
    })
}

/// Returns 1 if `task` is alive (set up, or started and not finished, on a live thread), 0 if
/// not, -1 with an exception set.
#[no_mangle]
pub unsafe extern "C" fn PyTasklet_Alive(task_: *mut PyTaskletObject) -> c_int {
    flag_get(task_, "PyTasklet_Alive", |t| t.alive())
}

/// Returns 1 if `task` is paused (alive, but neither runnable nor blocked), 0 if not, -1 with
/// an exception set.
#[no_mangle]
pub unsafe extern "C" fn PyTasklet_Paused(task_: *mut PyTaskletObject) -> c_int {
    flag_get(task_, "PyTasklet_Paused", |t| t.paused())
}

/// Returns 1 if `task` is scheduled: runnable **or blocked on a channel** (Stackless's
/// meaning), 0 if not, -1 with an exception set.
#[no_mangle]
pub unsafe extern "C" fn PyTasklet_Scheduled(task_: *mut PyTaskletObject) -> c_int {
    flag_get(task_, "PyTasklet_Scheduled", |t| t.scheduled())
}

/// Returns 1 if `task` has no C state (it can be resumed without a stack of its own: it is new,
/// or suspended softly), 0 if it has (it blocked with a hard switch inside C code, runs a
/// nested call now, or is a main tasklet), -1 with an exception set.
#[no_mangle]
pub unsafe extern "C" fn PyTasklet_Restorable(task_: *mut PyTaskletObject) -> c_int {
    entry(|| {
        let t = task(task_, "PyTasklet_Restorable")?;
        let ts = thread_state::current();
        if t.is_main.get() || t.has_cstate() {
            return Ok(0);
        }
        Ok((nesting_of(ts, t) == 0) as c_int)
    })
}

/// Returns -1 if `task` is blocked receiving, 1 if blocked sending, 0 if not blocked.
/// Bad arguments also return -1, with an exception set (check `PyErr_Occurred`).
#[no_mangle]
pub unsafe extern "C" fn PyTasklet_GetBlocked(task_: *mut PyTaskletObject) -> c_int {
    entry(|| Ok(task(task_, "PyTasklet_GetBlocked")?.blocked.get() as c_int))
}

/// Returns a new reference to the tempval of `task` (its transfer slot: the bound function
/// before setup, a value in flight, a schedule retval, ...), `Py_None` when empty, or NULL
/// with an exception set.
#[no_mangle]
pub unsafe extern "C" fn PyTasklet_GetTempval(task_: *mut PyTaskletObject) -> *mut PyObject {
    entry(|| {
        let t = task(task_, "PyTasklet_GetTempval")?;
        let p = t.tempval_ptr();
        // SAFETY: p is NULL or live.
        Ok(if p.is_null() {
            Obj::none()
        } else {
            unsafe { Obj::from_borrowed(p) }
        }
        .into_raw())
    })
}

/// Sets the tempval of `task` to `value` (borrowed; NULL means `Py_None`). On a paused tasklet
/// this changes what its pending `PyStackless_Schedule` returns. Returns 0, or -1 with an
/// exception set.
#[no_mangle]
pub unsafe extern "C" fn PyTasklet_SetTempval(
    task_: *mut PyTaskletObject,
    value: *mut PyObject,
) -> c_int {
    entry(|| {
        let t = task(task_, "PyTasklet_SetTempval")?;
        drop(
            t.tempval
                .replace(Some(opt(value).unwrap_or_else(Obj::none))),
        );
        Ok(0)
    })
}

fn neighbour(task_: *mut PyTaskletObject, func: &str, next: bool) -> *mut PyObject {
    entry(|| {
        let t = task(task_, func)?;
        let n = if next { t.next.get() } else { t.prev.get() };
        let end = if t.blocked.get() != 0 {
            // In a channel's queue the walk ends at the channel, as in Stackless.
            // SAFETY: a blocked tasklet's channel is live.
            let head = match t.blocked_on.get() {
                c if c.is_null() => ptr::null_mut(),
                c => unsafe { crate::channel::cref(c).head() },
            };
            if next {
                n == head
            } else {
                t.as_ptr() == head
            }
        } else {
            false
        };
        Ok(if n.is_null() || end {
            Obj::none()
        } else {
            // SAFETY: a linked neighbour is live.
            unsafe { Obj::from_borrowed(n.cast()) }
        }
        .into_raw())
    })
}

/// Returns a new reference to the tasklet after `task` in its list (run queue, or channel
/// queue), or `Py_None` (not linked, or the end of a channel's queue); NULL with an exception
/// for bad input.
#[no_mangle]
pub unsafe extern "C" fn PyTasklet_GetNext(task_: *mut PyTaskletObject) -> *mut PyObject {
    neighbour(task_, "PyTasklet_GetNext", true)
}

/// Returns a new reference to the tasklet before `task` in its list, or `Py_None`; NULL with
/// an exception for bad input.
#[no_mangle]
pub unsafe extern "C" fn PyTasklet_GetPrev(task_: *mut PyTaskletObject) -> *mut PyObject {
    neighbour(task_, "PyTasklet_GetPrev", false)
}

/// Returns the id of the thread `task` belongs to, or `(unsigned long)-1` when that thread
/// ended (and, with an exception set, for bad input).
#[no_mangle]
pub unsafe extern "C" fn PyTasklet_GetThreadId(task_: *mut PyTaskletObject) -> c_ulong {
    entry(|| Ok(task(task_, "PyTasklet_GetThreadId")?.thread_id()))
}

/// Sets the usable stack size `task` gets when it first runs (rounded up to whole pages, at
/// least 16 KiB and at most 1 GiB; 0 restores the library default). Returns 0, or -1 with an exception set
/// (`RuntimeError` when it has started already).
#[no_mangle]
pub unsafe extern "C" fn PyTasklet_SetStackSize(task_: *mut PyTaskletObject, size: usize) -> c_int {
    entry(|| {
        let t = task(task_, "PyTasklet_SetStackSize")?;
        if t.started.get() {
            return Err(PyErr::runtime_error(
                "PyTasklet_SetStackSize: the tasklet has started already",
            ));
        }
        t.stack_size.set(if size == 0 {
            0
        } else {
            crate::stack::round_size(size)
        });
        Ok(0)
    })
}
