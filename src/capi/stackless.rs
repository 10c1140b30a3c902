//! Exports: the scheduler and module-level functions (SPEC §6), the watchdog flags and the
//! unwind token.

use std::ffi::{c_int, c_long, c_ulong};
use std::ptr;

use super::boundary::{entry, non_null};
use crate::callbacks;
use crate::error::PyErr;
use crate::object::{call, dict, long, tuple, Obj, PyObject, PyResult};
use crate::scheduler::ops;
use crate::scheduler::switch::sched;
use crate::soft::PyUnwindObject;
use crate::tasklet::{tref, PyTaskletObject};
use crate::thread_state;

/// `Py_WATCHDOG_THREADBLOCK`: when the run queue empties and other threads exist, wait for
/// them instead of returning.
pub const Py_WATCHDOG_THREADBLOCK: c_int = 1;
/// `PY_WATCHDOG_SOFT`: return None at the next scheduling moment instead of interrupting.
pub const PY_WATCHDOG_SOFT: c_int = 2;
/// Same as `PY_WATCHDOG_SOFT`.
pub const Py_WATCHDOG_SOFT: c_int = 2;
/// `PY_WATCHDOG_IGNORE_NESTING`: interrupt at any nesting level.
pub const PY_WATCHDOG_IGNORE_NESTING: c_int = 4;
/// Same as `PY_WATCHDOG_IGNORE_NESTING`.
pub const Py_WATCHDOG_IGNORE_NESTING: c_int = 4;
/// `PY_WATCHDOG_TOTALTIMEOUT`: one budget for the whole run instead of a slice per tasklet.
pub const PY_WATCHDOG_TOTALTIMEOUT: c_int = 8;
/// Same as `PY_WATCHDOG_TOTALTIMEOUT` (the name Stackless's documentation uses).
pub const Py_WATCHDOG_TIMEOUT: c_int = 8;
/// `PY_WATCHDOG_TIME` (libstackless extension): the timeout is microseconds of running time,
/// not ticks.
pub const PY_WATCHDOG_TIME: c_int = 16;

/// The soft-switch marker a `_nr` call returns when it switched soft (test with
/// `STACKLESS_UNWINDING(obj)`). Never reference counted.
#[no_mangle]
pub static mut Py_UnwindToken: *mut PyUnwindObject = ptr::addr_of_mut!(crate::soft::UNWIND_TOKEN);

fn current_task(ts: &thread_state::ThreadState) -> *mut PyTaskletObject {
    ops::current(ts)
}

/// Yields to the next runnable tasklet. `retval` (borrowed; NULL means `Py_None`) is stored in
/// the caller's tempval; with `remove` non-zero the caller leaves the run queue (paused) and
/// waits to be inserted or run. When the caller runs again this returns a new reference to its
/// tempval (normally `retval`, unless somebody changed it), or NULL with an exception set (one
/// raised into the caller, deadlock errors, "switch_trap"). With nothing else runnable it
/// returns at once.
#[no_mangle]
pub unsafe extern "C" fn PyStackless_Schedule(
    retval: *mut PyObject,
    remove: c_int,
) -> *mut PyObject {
    schedule(retval, remove, false)
}

fn schedule(retval: *mut PyObject, remove: c_int, nr: bool) -> *mut PyObject {
    entry(|| {
        let ts = thread_state::current();
        let soft = crate::soft::request(ts, nr);
        // SAFETY: retval is NULL or live.
        let rv = unsafe { Obj::from_borrowed_opt(retval) }.unwrap_or_else(Obj::none);
        Ok(ops::schedule(ts, rv, remove != 0, soft)?.into_raw())
    })
}

/// `PyStackless_Schedule` that may switch soft: returns `Py_UnwindToken` when it switched soft
/// (the caller's tempval then reaches its soft frame when it resumes), else a new reference to
/// the caller's tempval as `PyStackless_Schedule`, or NULL with an exception set. Soft under
/// the same conditions as `PyChannel_Send_nr`.
#[no_mangle]
pub unsafe extern "C" fn PyStackless_Schedule_nr(
    retval: *mut PyObject,
    remove: c_int,
) -> *mut PyObject {
    schedule(retval, remove, true)
}

/// Returns the number of runnable tasklets of the calling thread, the running one included
/// (main counts like any other; inside `PyStackless_RunWatchdog` its caller is not runnable).
#[no_mangle]
pub extern "C" fn PyStackless_GetRunCount() -> c_int {
    entry(|| Ok(sched(thread_state::current()).runcount.get() as c_int))
}

/// Returns a new reference to the running tasklet (never NULL: the first call on a thread
/// creates its main tasklet).
#[no_mangle]
pub extern "C" fn PyStackless_GetCurrent() -> *mut PyObject {
    entry(|| {
        let t = current_task(thread_state::current());
        // SAFETY: the current tasklet is live.
        Ok(unsafe { Obj::from_borrowed(t.cast()) }.into_raw())
    })
}

/// Returns an id of the running tasklet: the thread id for a main tasklet, the tasklet's
/// address otherwise.
#[no_mangle]
pub extern "C" fn PyStackless_GetCurrentId() -> c_ulong {
    entry(|| {
        let t = current_task(thread_state::current());
        // SAFETY: the current tasklet is live.
        Ok(if unsafe { tref(t) }.is_main.get() {
            super::thread_ident()
        } else {
            t as usize as c_ulong
        })
    })
}

/// Returns a new reference to the calling thread's main tasklet.
#[no_mangle]
pub extern "C" fn PyStackless_GetMain() -> *mut PyObject {
    entry(|| {
        let s = sched(thread_state::current());
        // SAFETY: main is live.
        Ok(unsafe { Obj::from_borrowed(s.main.get().cast()) }.into_raw())
    })
}

/// `PyStackless_RunWatchdogEx(timeout, 0)`.
#[no_mangle]
pub extern "C" fn PyStackless_RunWatchdog(timeout: c_long) -> *mut PyObject {
    PyStackless_RunWatchdogEx(timeout, 0)
}

/// Runs the scheduler (Stackless's `stackless.run()`): the caller leaves the run queue and
/// the other tasklets run until none is runnable (tasklets still blocked on channels are left
/// blocked). Callable from any tasklet; runs nest, and uncaught tasklet exceptions go to the
/// innermost one. `timeout <= 0` means no preemption. Returns a new reference to `Py_None`,
/// or NULL with an exception set (an uncaught exception of a tasklet; `ValueError` for
/// unknown flag bits). With `timeout > 0` the outermost such run owns preemption: a tasklet
/// that uses up `timeout` ticks (`PyStackless_Tick`) without switching is interrupted and
/// returned (a new reference; it is paused); flags: `Py_WATCHDOG_THREADBLOCK` (accepted),
/// `PY_WATCHDOG_SOFT` (return None at the next switch instead of interrupting),
/// `PY_WATCHDOG_IGNORE_NESTING`, `PY_WATCHDOG_TOTALTIMEOUT` (one budget for the whole run),
/// `PY_WATCHDOG_TIME` (the budget is microseconds of running time).
#[no_mangle]
pub extern "C" fn PyStackless_RunWatchdogEx(timeout: c_long, flags: c_int) -> *mut PyObject {
    entry(|| Ok(ops::run_watchdog(thread_state::current(), timeout, flags)?.into_raw()))
}

fn callable_or_none(cb: *mut PyObject, msg: &str) -> PyResult<Option<Obj>> {
    if cb.is_null() || cb == crate::object::singletons::none() {
        return Ok(None);
    }
    // SAFETY: cb is live.
    if !unsafe { call::is_callable(cb) } {
        return Err(PyErr::type_error(msg));
    }
    // SAFETY: as above.
    Ok(Some(unsafe { Obj::from_borrowed(cb) }))
}

/// Installs the channel callback (process-wide), called as `callable(channel, tasklet,
/// sending, willblock)` before every channel action; NULL or `Py_None` removes it. Its
/// exceptions are reported with `PyErr_WriteUnraisable` and ignored. Returns 0, or -1 with
/// `TypeError` ("channel callback must be callable").
#[no_mangle]
pub unsafe extern "C" fn PyStackless_SetChannelCallback(callable: *mut PyObject) -> c_int {
    entry(|| {
        let cb = callable_or_none(callable, "channel callback must be callable")?;
        drop(callbacks::set_channel_callback(cb));
        Ok(0)
    })
}

/// Returns a new reference to the channel callback, or `Py_None`.
#[no_mangle]
pub extern "C" fn PyStackless_GetChannelCallback() -> *mut PyObject {
    entry(|| {
        Ok(callbacks::channel_callback_obj()
            .unwrap_or_else(Obj::none)
            .into_raw())
    })
}

/// Installs the schedule callback (process-wide), called as `callable(prev, next)` before
/// every real switch, with the current tasklet still `prev`; NULL or `Py_None` removes it.
/// It shares its slot with `PyStackless_SetScheduleFastcallback`. Its exceptions are reported
/// and ignored. Returns 0, or -1 with `TypeError` ("schedule callback must be callable").
#[no_mangle]
pub unsafe extern "C" fn PyStackless_SetScheduleCallback(callable: *mut PyObject) -> c_int {
    entry(|| {
        let cb = callable_or_none(callable, "schedule callback must be callable")?;
        drop(callbacks::set_schedule_callback(cb));
        Ok(0)
    })
}

/// Returns a new reference to the schedule callback, or `Py_None`.
#[no_mangle]
pub extern "C" fn PyStackless_GetScheduleCallback() -> *mut PyObject {
    entry(|| {
        Ok(callbacks::schedule_callback_obj()
            .unwrap_or_else(Obj::none)
            .into_raw())
    })
}

/// Installs a C function as the schedule hook, called as `func(prev, next)` before every real
/// switch (a non-zero return is reported as an error in the callback and ignored). It
/// replaces the hook installed by `PyStackless_SetScheduleCallback` (one slot, as in
/// Stackless). NULL removes it.
#[no_mangle]
pub extern "C" fn PyStackless_SetScheduleFastcallback(
    func: Option<unsafe extern "C" fn(*mut PyTaskletObject, *mut PyTaskletObject) -> c_int>,
) {
    callbacks::set_schedule_hook(func);
}

/// Installs the error handler (Stackless's `set_error_handler`), called as
/// `handler(type, value, traceback)` in the context of a tasklet dying from an uncaught
/// exception (other than `TaskletExit`). If it returns, the error is considered handled; if it
/// raises, its exception goes to the innermost scheduler run or main. NULL or `Py_None` removes
/// it. Returns a new reference to the previous handler (or `Py_None`), or NULL with
/// `TypeError` for a non-callable.
#[no_mangle]
pub unsafe extern "C" fn PyStackless_SetErrorHandler(handler: *mut PyObject) -> *mut PyObject {
    entry(|| {
        let h = callable_or_none(handler, "error handler must be callable")?;
        Ok(callbacks::set_error_handler(h)
            .unwrap_or_else(Obj::none)
            .into_raw())
    })
}

/// Returns a new reference to the error handler, or `Py_None`.
#[no_mangle]
pub extern "C" fn PyStackless_GetErrorHandler() -> *mut PyObject {
    entry(|| {
        Ok(callbacks::error_handler()
            .unwrap_or_else(Obj::none)
            .into_raw())
    })
}

/// Calls `func(*args, **kwds)` (`args` a tuple or NULL, `kwds` a dict or NULL) as the main
/// tasklet's code. Legal only from the main tasklet while no scheduler run is active on the
/// thread (else `RuntimeError`). Returns a new reference to the result, or NULL with an
/// exception set.
#[no_mangle]
pub unsafe extern "C" fn PyStackless_Call_Main(
    func: *mut PyObject,
    args: *mut PyObject,
    kwds: *mut PyObject,
) -> *mut PyObject {
    entry(|| {
        let func = non_null(func, "PyStackless_Call_Main", "func")?;
        let ts = thread_state::current();
        let s = sched(ts);
        if s.current.get() != s.main.get() || !s.watchdogs.borrow().is_empty() {
            return Err(PyErr::runtime_error(
                "Call_Main cannot run within a main tasklet (only from main, outside a scheduler run)",
            ));
        }
        let args = if args.is_null() {
            tuple::empty()
        } else {
            super::boundary::typed(args, tuple::tuple_type(), "PyStackless_Call_Main", "args")?;
            // SAFETY: args is live.
            unsafe { Obj::from_borrowed(args) }
        };
        if !kwds.is_null() {
            super::boundary::typed(kwds, dict::dict_type(), "PyStackless_Call_Main", "kwds")?;
        }
        let _nested = crate::scheduler::Nested::enter(s);
        // SAFETY: checked above.
        Ok(unsafe { call::call(func, args.as_ptr(), kwds)? }.into_raw())
    })
}

/// Adds `change` to the calling thread's switch trap counter and returns the previous value.
/// While the counter is non-zero, every operation that would switch tasklets raises
/// `RuntimeError("switch_trap")`. `PyStackless_AdjustSwitchTrap(0)` reads it.
#[no_mangle]
pub extern "C" fn PyStackless_AdjustSwitchTrap(change: c_int) -> c_int {
    entry(|| {
        let s = sched(thread_state::current());
        let old = s.switch_trap.get();
        let new = old.wrapping_add(change);
        s.switch_trap.set(new);
        // SAFETY: current is live.
        if new == 0
            && old != 0
            && unsafe { crate::tasklet::tref(s.current.get()) }
                .pending_irq
                .get()
        {
            // A preemption deferred by the trap fires at the next tick.
            s.wd.recheck_soon();
        }
        Ok(old)
    })
}

/// Returns a new reference to the tuple `(main, current or None, runcount)` describing the
/// thread `thread_id` (current is None when runcount is 0), or NULL with an exception set
/// (`ValueError` for an unknown thread). Only the calling thread can be described for now;
/// another live thread gives `RuntimeError`.
#[no_mangle]
pub extern "C" fn PyStackless_GetThreadInfo(thread_id: c_ulong) -> *mut PyObject {
    entry(|| {
        let ts = thread_state::current();
        if thread_id != super::thread_ident() {
            if thread_state::with_thread(thread_id, |_| ()).is_none() {
                return Err(PyErr::value_error(
                    "PyStackless_GetThreadInfo: unknown thread id",
                ));
            }
            return Err(PyErr::runtime_error(
                "PyStackless_GetThreadInfo: describing another thread is not supported yet",
            ));
        }
        let s = sched(ts);
        let rc = s.runcount.get();
        // SAFETY: main and current are live.
        let (main, cur) = unsafe {
            (
                Obj::from_borrowed(s.main.get().cast()),
                if rc == 0 {
                    Obj::none()
                } else {
                    Obj::from_borrowed(s.current.get().cast())
                },
            )
        };
        Ok(tuple::from_vec(vec![main, cur, long::new(rc as i64)]).into_raw())
    })
}

/// Returns a new reference to a tuple of the ids of all threads that use the library, the
/// first thread that used it first.
#[no_mangle]
pub extern "C" fn PyStackless_GetThreads() -> *mut PyObject {
    entry(|| {
        thread_state::current();
        let ids = thread_state::thread_idents();
        let items = ids
            .into_iter()
            .map(|id| {
                i64::try_from(id)
                    .map(long::new)
                    .map_err(|_| PyErr::overflow_error("thread id too large"))
            })
            .collect::<PyResult<Vec<_>>>()?;
        Ok(tuple::from_vec(items).into_raw())
    })
}

/// Enables (`flag` 1) or disables (0) soft switching, process-wide; -1 only inquires. Returns
/// the previous setting. With soft switching off every `_nr` call switches hard (and returns
/// 0 / the value); programs written to the protocol behave the same in both modes.
#[no_mangle]
pub extern "C" fn PyStackless_EnableSoftswitch(flag: c_int) -> c_int {
    if flag >= 0 {
        crate::soft::set_enabled(flag != 0) as c_int
    } else {
        crate::soft::enabled() as c_int
    }
}

/// Sets the default usable stack size of tasklets that start from now on (rounded up to whole
/// pages, at least 16 KiB and at most 1 GiB; default 64 KiB); 0 only inquires. Returns the
/// previous default.
#[no_mangle]
pub extern "C" fn PyStackless_SetStackSize(size: usize) -> usize {
    if size == 0 {
        return crate::stack::default_size();
    }
    crate::stack::set_default_size(size)
}

/// Installs the stack-overflow reporter: a tasklet that overflows its stack (and hits the
/// guard page below it) makes the process print "libstackless: fatal: stack overflow in
/// tasklet ..." to stderr and abort, instead of dying with a bare SIGSEGV. A SIGSEGV handler
/// running on an alternate signal stack is installed process-wide (other faults go to the
/// handler that was there before), and each thread gets an alternate stack: the calling one
/// now, the others when they first use the library (call this before starting threads).
/// Opt-in because it takes over SIGSEGV. Returns 0, or -1 with `RuntimeError` when the kernel
/// refuses.
#[no_mangle]
pub extern "C" fn PyStackless_InstallOverflowHandler() -> c_int {
    entry(|| {
        crate::stack::overflow::install().map_err(|m| {
            PyErr::runtime_error(format!("PyStackless_InstallOverflowHandler: {m}"))
        })?;
        Ok(0)
    })
}

/// Charges `n` units of work ("ticks") to the running tasklet, C's stand-in for the bytecodes
/// Stackless's watchdog counts. While a `PyStackless_RunWatchdogEx` with a timeout runs, a
/// tasklet that has used up its budget is interrupted right here: it leaves the run queue
/// (paused), that run returns it, and this call returns when somebody runs the tasklet again.
/// The interrupt waits while the tasklet is atomic, inside a nested call (unless
/// ignore_nesting), in a callback or under the switch trap. A tick that does not interrupt is
/// one addition and one comparison. Returns 0, or -1 with an exception set when one was raised
/// into the tasklet while it was out (e.g. it was killed), or for a negative `n` (ValueError).
#[no_mangle]
pub extern "C" fn PyStackless_Tick(n: c_long) -> c_int {
    entry(|| {
        crate::watchdog::tick_checked(thread_state::current(), n)?;
        Ok(0)
    })
}

/// Returns the calling thread's tick state, for the header's inline `PyStackless_TickWith`
/// (the fast form of `PyStackless_Tick` for hot loops). The pointer is valid for the life of
/// the calling thread and must be used only on it.
#[no_mangle]
pub extern "C" fn PyStackless_GetTickState() -> *mut crate::watchdog::PyStackless_TickState {
    &thread_state::current().sched.wd.ticks as *const _ as *mut _
}
