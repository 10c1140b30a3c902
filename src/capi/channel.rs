//! Exports: channels (SPEC §5).

use std::ffi::c_int;

use super::boundary::{entry, entry_or, non_null, type_arg, typed};
use super::tasklet::{exception_from, exception_raise_form};
use crate::channel::{self, channel_type, cref, PyChannelObject};
use crate::error::PyErr;
use crate::object::typeobj::{self, PyTypeObject};
use crate::object::{tuple, Obj, PyObject, PyResult};
use crate::scheduler::frames;
use crate::soft;
use crate::thread_state;

fn chan<'a>(c: *mut PyChannelObject, func: &str) -> PyResult<&'a PyChannelObject> {
    let p = typed(c.cast(), channel_type(), func, "self")?;
    // SAFETY: p is a live channel.
    Ok(unsafe { cref(p) })
}

/// Returns 1 if `o` is a channel (or an instance of a subtype), else 0.
#[no_mangle]
pub unsafe extern "C" fn PyChannel_Check(o: *mut PyObject) -> c_int {
    // SAFETY: o is NULL or live.
    (!o.is_null() && unsafe { channel::is_channel(o) }) as c_int
}

/// Returns 1 if `o` is exactly a channel, else 0.
#[no_mangle]
pub unsafe extern "C" fn PyChannel_CheckExact(o: *mut PyObject) -> c_int {
    // SAFETY: o is NULL or live.
    (!o.is_null() && unsafe { crate::object::type_of(o) } == channel_type()) as c_int
}

/// Creates a channel of type `type` (NULL means `PyChannel_Type`; otherwise a subtype):
/// balance 0, preference -1 (prefer the receiver), schedule_all 0, open. Returns a new
/// reference, or NULL with `TypeError` ("channel_new: type must be subtype of channel").
#[no_mangle]
pub unsafe extern "C" fn PyChannel_New(type_: *mut PyTypeObject) -> *mut PyChannelObject {
    entry(|| {
        let tp = if type_.is_null() {
            channel_type()
        } else {
            type_arg(type_, "PyChannel_New", "type")?
        };
        if !typeobj::is_subtype(tp, channel_type()) {
            return Err(PyErr::type_error(
                "channel_new: type must be subtype of channel",
            ));
        }
        Ok(channel::new(tp).into_raw().cast())
    })
}

fn send(c: *mut PyChannelObject, arg: *mut PyObject, func: &str, nr: bool) -> c_int {
    entry(|| {
        let ts = thread_state::current();
        let soft = soft::request(ts, nr);
        let ch = chan(c, func)?;
        let arg = non_null(arg, func, "arg")?;
        // SAFETY: arg is live.
        let value = unsafe { Obj::from_borrowed(arg) };
        let r = channel::action(ts, ch as *const _ as *mut PyObject, 1, value, soft)?;
        Ok(frames::is_token(&r) as c_int)
    })
}

/// Sends `arg` (borrowed) over the channel. With a receiver waiting, the value is handed over
/// and who runs next follows the channel's preference (default -1: the receiver runs at once,
/// the sender resumes after everything else) and schedule_all; otherwise the caller blocks
/// until a receiver comes. Returns 0, or -1 with an exception set (`RuntimeError` "this tasklet
/// does not like to be blocked." under block_trap, `ValueError` "Send/receive operation on a
/// closed channel", deadlock errors, "switch_trap", or an exception raised into the caller).
#[no_mangle]
pub unsafe extern "C" fn PyChannel_Send(self_: *mut PyChannelObject, arg: *mut PyObject) -> c_int {
    send(self_, arg, "PyChannel_Send", false)
}

/// `PyChannel_Send` that may switch soft: returns 1 when it switched soft (the caller must
/// return `Py_UnwindToken` to its own caller at once), 0 when it switched hard or did not
/// switch, -1 on failure. Soft when called by a tasklet body (or a soft-switchable function)
/// at nesting level 0 with soft switching enabled; hard from main's own code, from nested
/// calls, or with soft switching disabled (SPEC §7).
#[no_mangle]
pub unsafe extern "C" fn PyChannel_Send_nr(
    self_: *mut PyChannelObject,
    arg: *mut PyObject,
) -> c_int {
    send(self_, arg, "PyChannel_Send_nr", true)
}

fn receive(c: *mut PyChannelObject, func: &str, nr: bool) -> *mut PyObject {
    entry(|| {
        let ts = thread_state::current();
        let soft = soft::request(ts, nr);
        let ch = chan(c, func)?;
        let r = channel::action(ts, ch as *const _ as *mut PyObject, -1, Obj::none(), soft)?;
        Ok(r.into_raw())
    })
}

/// Receives a value from the channel, blocking until a sender comes. An exception sent with
/// `PyChannel_SendException`/`SendThrow` is raised here instead. Returns a new reference, or
/// NULL with an exception set (the same errors as `PyChannel_Send`).
#[no_mangle]
pub unsafe extern "C" fn PyChannel_Receive(self_: *mut PyChannelObject) -> *mut PyObject {
    receive(self_, "PyChannel_Receive", false)
}

/// `PyChannel_Receive` that may switch soft: returns `Py_UnwindToken` when it switched soft
/// (the received value then reaches the caller's soft frame, or ends a body that made the call
/// in tail position), else a new reference to the value, or NULL with an exception set. Soft
/// under the same conditions as `PyChannel_Send_nr`.
#[no_mangle]
pub unsafe extern "C" fn PyChannel_Receive_nr(self_: *mut PyChannelObject) -> *mut PyObject {
    receive(self_, "PyChannel_Receive_nr", true)
}

/// Sends the exception `klass(*value)` (a non-tuple `value` is the single argument; NULL: none)
/// so that the receiver raises it; otherwise behaves exactly like `PyChannel_Send`. Returns
/// 0, or -1 with an exception set (`TypeError` "channel.send_exception needs Exception or
/// string subclass as first parameter").
#[no_mangle]
pub unsafe extern "C" fn PyChannel_SendException(
    self_: *mut PyChannelObject,
    klass: *mut PyObject,
    value: *mut PyObject,
) -> c_int {
    entry(|| {
        let ch = chan(self_, "PyChannel_SendException")?;
        let err = exception_from(klass, value, "channel.send_exception")?;
        channel::send_exception(
            thread_state::current(),
            ch as *const _ as *mut PyObject,
            err,
        )?;
        Ok(0)
    })
}

/// Sends an exception built with `raise` semantics from (`exc`, `val`, `tb`), as
/// `PyTasklet_Throw` does; the receiver raises it. Returns 0, or -1 with an exception set.
#[no_mangle]
pub unsafe extern "C" fn PyChannel_SendThrow(
    self_: *mut PyChannelObject,
    exc: *mut PyObject,
    val: *mut PyObject,
    tb: *mut PyObject,
) -> c_int {
    entry(|| {
        let ch = chan(self_, "PyChannel_SendThrow")?;
        let err = exception_raise_form(exc, val, tb)?;
        channel::send_exception(
            thread_state::current(),
            ch as *const _ as *mut PyObject,
            err,
        )?;
        Ok(0)
    })
}

/// Sends every item of the tuple `seq` in order, as `PyChannel_Send` does. Returns the number
/// of items sent, or -1 with an exception set (items sent before the failure stay sent).
#[no_mangle]
pub unsafe extern "C" fn PyChannel_SendSequence(
    self_: *mut PyChannelObject,
    seq: *mut PyObject,
) -> isize {
    entry(|| {
        let ch = chan(self_, "PyChannel_SendSequence")?;
        let seq = typed(seq, tuple::tuple_type(), "PyChannel_SendSequence", "seq")?;
        // SAFETY: seq is a tuple.
        let items = unsafe { tuple::to_vec(seq)? };
        let ts = thread_state::current();
        let mut n = 0;
        for item in items {
            channel::action(ts, ch as *const _ as *mut PyObject, 1, item, false)?;
            n += 1;
        }
        Ok(n)
    })
}

/// Returns a new reference to the first tasklet waiting on the channel, or `Py_None` when no
/// tasklet waits (walk the rest with `PyTasklet_GetNext`); NULL with an exception for bad input.
#[no_mangle]
pub unsafe extern "C" fn PyChannel_GetQueue(self_: *mut PyChannelObject) -> *mut PyObject {
    entry(|| {
        let ch = chan(self_, "PyChannel_GetQueue")?;
        let h = ch.head();
        Ok(if h.is_null() {
            Obj::none()
        } else {
            // SAFETY: a queued tasklet is live.
            unsafe { Obj::from_borrowed(h.cast()) }
        }
        .into_raw())
    })
}

/// Marks the channel as closing: from now on a send or receive that would block raises
/// `ValueError`; waiting tasklets are not woken. Bad arguments leave an exception set.
#[no_mangle]
pub unsafe extern "C" fn PyChannel_Close(self_: *mut PyChannelObject) {
    entry_or((), || {
        chan(self_, "PyChannel_Close")?.set_closing(true);
        Ok(())
    })
}

/// Clears the closing flag. Bad arguments leave an exception set.
#[no_mangle]
pub unsafe extern "C" fn PyChannel_Open(self_: *mut PyChannelObject) {
    entry_or((), || {
        chan(self_, "PyChannel_Open")?.set_closing(false);
        Ok(())
    })
}

/// Returns 1 if the channel is closing, 0 if not, -1 with an exception set.
#[no_mangle]
pub unsafe extern "C" fn PyChannel_GetClosing(self_: *mut PyChannelObject) -> c_int {
    entry(|| Ok(chan(self_, "PyChannel_GetClosing")?.closing() as c_int))
}

/// Returns 1 if the channel is closed (closing and nobody waiting), 0 if not, -1 with an
/// exception set.
#[no_mangle]
pub unsafe extern "C" fn PyChannel_GetClosed(self_: *mut PyChannelObject) -> c_int {
    entry(|| Ok(chan(self_, "PyChannel_GetClosed")?.closed() as c_int))
}

/// Returns the preference: -1 (prefer the receiver), 0 (none), 1 (prefer the sender); on
/// bad arguments -1 with an exception set (check `PyErr_Occurred`).
#[no_mangle]
pub unsafe extern "C" fn PyChannel_GetPreference(self_: *mut PyChannelObject) -> c_int {
    entry(|| Ok(chan(self_, "PyChannel_GetPreference")?.preference()))
}

/// Sets the preference to the sign of `val` (-1, 0 or 1). Bad arguments leave an exception set.
#[no_mangle]
pub unsafe extern "C" fn PyChannel_SetPreference(self_: *mut PyChannelObject, val: c_int) {
    entry_or((), || {
        chan(self_, "PyChannel_SetPreference")?.set_preference(val);
        Ok(())
    })
}

/// Returns 1 if schedule_all is set, 0 if not, -1 with an exception set.
#[no_mangle]
pub unsafe extern "C" fn PyChannel_GetScheduleAll(self_: *mut PyChannelObject) -> c_int {
    entry(|| Ok(chan(self_, "PyChannel_GetScheduleAll")?.schedule_all() as c_int))
}

/// Sets schedule_all to `val != 0`: every successful operation then yields to the caller's
/// successor, overriding the preference. Bad arguments leave an exception set.
#[no_mangle]
pub unsafe extern "C" fn PyChannel_SetScheduleAll(self_: *mut PyChannelObject, val: c_int) {
    entry_or((), || {
        chan(self_, "PyChannel_SetScheduleAll")?.set_schedule_all(val != 0);
        Ok(())
    })
}

/// Returns the balance: the number of blocked senders (> 0) or minus the number of blocked
/// receivers (< 0). On bad arguments returns 0 with an exception set.
#[no_mangle]
pub unsafe extern "C" fn PyChannel_GetBalance(self_: *mut PyChannelObject) -> c_int {
    entry_or(0, || Ok(chan(self_, "PyChannel_GetBalance")?.balance()))
}
