//! The Python-level face of a channel: attributes and methods by name (SPEC §3). Each one
//! forwards to the C API function of the same meaning.

use std::ffi::{c_int, CStr};
use std::ptr;

use crate::capi::channel as api;
use crate::channel::PyChannelObject;
use crate::error::PyErr;
use crate::object::cfunction::{PyMethodDef, METH_NOARGS, METH_O, METH_VARARGS};
use crate::object::typeobj::AttrLookup;
use crate::object::{long, tuple, Obj, PyObject, PyResult};
use crate::tasklet_attrs::{done, flag};

/// Attribute getter of channels.
pub(crate) unsafe fn getattr(op: *mut PyObject, name: &str) -> AttrLookup {
    let c = op as *mut PyChannelObject;
    // SAFETY: op is a live channel; each call is a checked C API function.
    let r = unsafe {
        match name {
            "balance" => Ok(long::new(api::PyChannel_GetBalance(c) as i64)),
            "closing" => flag(api::PyChannel_GetClosing(c)),
            "closed" => flag(api::PyChannel_GetClosed(c)),
            "preference" => Ok(long::new(api::PyChannel_GetPreference(c) as i64)),
            "schedule_all" => flag(api::PyChannel_GetScheduleAll(c)),
            "queue" => Obj::from_owned(api::PyChannel_GetQueue(c))
                .ok_or_else(|| PyErr::fetch().expect("set")),
            _ => return AttrLookup::NotFound,
        }
    };
    AttrLookup::Found(r)
}

/// Attribute setter of channels: `preference` and `schedule_all` are writable.
pub(crate) unsafe fn setattr(
    op: *mut PyObject,
    name: &str,
    value: *mut PyObject,
) -> Option<PyResult<()>> {
    let c = op as *mut PyChannelObject;
    if name != "preference" && name != "schedule_all" {
        return None;
    }
    if value.is_null() {
        return Some(Err(PyErr::type_error(format!(
            "can't delete channel attribute '{name}'"
        ))));
    }
    // SAFETY: value is live; c is a live channel.
    Some(unsafe {
        if name == "preference" {
            long::as_i64(value).map(|v| api::PyChannel_SetPreference(c, v.signum() as c_int))
        } else {
            crate::object::attr::is_true(value)
                .map(|v| api::PyChannel_SetScheduleAll(c, v as c_int))
        }
    })
}

unsafe extern "C" fn m_send(slf: *mut PyObject, v: *mut PyObject) -> *mut PyObject {
    // SAFETY: slf is a live channel; v live.
    done(unsafe { api::PyChannel_Send(slf.cast(), v) })
}
unsafe extern "C" fn m_receive(slf: *mut PyObject, _: *mut PyObject) -> *mut PyObject {
    // SAFETY: slf is a live channel.
    unsafe { api::PyChannel_Receive(slf.cast()) }
}
unsafe extern "C" fn m_send_exception(slf: *mut PyObject, args: *mut PyObject) -> *mut PyObject {
    crate::capi::boundary::entry(|| {
        // SAFETY: args is a tuple.
        let items = unsafe { tuple::to_vec(args)? };
        let Some((klass, rest)) = items.split_first() else {
            return Err(PyErr::type_error(
                "send_exception() missing required argument 'exc'",
            ));
        };
        let rest = tuple::from_vec(rest.to_vec());
        // SAFETY: slf is a live channel.
        if unsafe { api::PyChannel_SendException(slf.cast(), klass.as_ptr(), rest.as_ptr()) } < 0 {
            return Err(PyErr::fetch().expect("set"));
        }
        Ok(Obj::none().into_raw())
    })
}
unsafe extern "C" fn m_send_throw(slf: *mut PyObject, args: *mut PyObject) -> *mut PyObject {
    crate::capi::boundary::entry(|| {
        // SAFETY: args is a tuple.
        let [e, v, tb] = unsafe {
            crate::object::call::parse_args(
                "send_throw",
                args,
                ptr::null_mut(),
                ["exc", "val", "tb"],
            )?
        };
        let n = ptr::null_mut();
        // SAFETY: slf is a live channel; arguments borrowed from args.
        if unsafe {
            api::PyChannel_SendThrow(slf.cast(), e.unwrap_or(n), v.unwrap_or(n), tb.unwrap_or(n))
        } < 0
        {
            return Err(PyErr::fetch().expect("set"));
        }
        Ok(Obj::none().into_raw())
    })
}
unsafe extern "C" fn m_send_sequence(slf: *mut PyObject, seq: *mut PyObject) -> *mut PyObject {
    // SAFETY: slf is a live channel.
    let n = unsafe { api::PyChannel_SendSequence(slf.cast(), seq) };
    if n < 0 {
        ptr::null_mut()
    } else {
        long::new(n as i64).into_raw()
    }
}
unsafe extern "C" fn m_close(slf: *mut PyObject, _: *mut PyObject) -> *mut PyObject {
    // SAFETY: slf is a live channel.
    unsafe { api::PyChannel_Close(slf.cast()) };
    Obj::none().into_raw()
}
unsafe extern "C" fn m_open(slf: *mut PyObject, _: *mut PyObject) -> *mut PyObject {
    // SAFETY: slf is a live channel.
    unsafe { api::PyChannel_Open(slf.cast()) };
    Obj::none().into_raw()
}

const fn m(
    name: &'static CStr,
    f: unsafe extern "C" fn(*mut PyObject, *mut PyObject) -> *mut PyObject,
    flags: c_int,
) -> PyMethodDef {
    PyMethodDef {
        ml_name: name.as_ptr(),
        ml_meth: Some(f),
        ml_flags: flags,
        ml_doc: ptr::null(),
    }
}

/// The channel methods.
pub(crate) static mut METHODS: [PyMethodDef; 8] = [
    m(c"send", m_send, METH_O),
    m(c"receive", m_receive, METH_NOARGS),
    m(c"send_exception", m_send_exception, METH_VARARGS),
    m(c"send_throw", m_send_throw, METH_VARARGS),
    m(c"send_sequence", m_send_sequence, METH_O),
    m(c"close", m_close, METH_NOARGS),
    m(c"open", m_open, METH_NOARGS),
    PyMethodDef::SENTINEL,
];
