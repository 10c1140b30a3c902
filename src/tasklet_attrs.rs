//! The Python-level face of a tasklet: attributes and methods by name (SPEC §3), so
//! `PyObject_GetAttrString(t, "alive")` and `PyObject_CallMethod(t, "run", NULL)` work as in
//! Stackless. Each one forwards to the C API function of the same meaning.

use std::ffi::{c_int, CStr};
use std::ptr;

use crate::capi::tasklet as api;
use crate::error::PyErr;
use crate::object::cfunction::{PyMethodDef, METH_KEYWORDS, METH_NOARGS, METH_O, METH_VARARGS};
use crate::object::typeobj::AttrLookup;
use crate::object::{call, long, singletons, tuple, Obj, PyObject, PyResult};
use crate::tasklet::PyTaskletObject;

/// A C flag getter's result as a bool object (an error passes through).
pub(crate) fn flag(r: c_int) -> PyResult<Obj> {
    if r < 0 && PyErr::occurred() {
        Err(PyErr::fetch().expect("occurred"))
    } else {
        Ok(singletons::new_bool(r != 0))
    }
}

fn int(r: c_int) -> PyResult<Obj> {
    if r < 0 && PyErr::occurred() {
        Err(PyErr::fetch().expect("occurred"))
    } else {
        Ok(long::new(r as i64))
    }
}

fn obj(r: *mut PyObject) -> PyResult<Obj> {
    // SAFETY: r is a new reference or NULL.
    match unsafe { Obj::from_owned(r) } {
        Some(o) => Ok(o),
        None => match PyErr::fetch() {
            Some(e) => Err(e),
            None => Ok(Obj::none()),
        },
    }
}

/// Attribute getter of tasklets.
pub(crate) unsafe fn getattr(op: *mut PyObject, name: &str) -> AttrLookup {
    let t = op as *mut PyTaskletObject;
    // SAFETY: op is a live tasklet; each call below is a checked C API function.
    let r = unsafe {
        match name {
            "alive" => flag(api::PyTasklet_Alive(t)),
            "paused" => flag(api::PyTasklet_Paused(t)),
            "blocked" => flag(api::PyTasklet_GetBlocked(t)),
            "scheduled" => flag(api::PyTasklet_Scheduled(t)),
            "restorable" => flag(api::PyTasklet_Restorable(t)),
            "atomic" => flag(api::PyTasklet_GetAtomic(t)),
            "block_trap" => flag(api::PyTasklet_GetBlockTrap(t)),
            "ignore_nesting" => flag(api::PyTasklet_GetIgnoreNesting(t)),
            "is_current" => flag(api::PyTasklet_IsCurrent(t)),
            "is_main" => flag(api::PyTasklet_IsMain(t)),
            "next" => obj(api::PyTasklet_GetNext(t)),
            "prev" => obj(api::PyTasklet_GetPrev(t)),
            "tempval" => obj(api::PyTasklet_GetTempval(t)),
            "thread_id" => {
                let id = api::PyTasklet_GetThreadId(t);
                Ok(long::new(if id == std::ffi::c_ulong::MAX {
                    -1
                } else {
                    id as i64
                }))
            }
            "nesting_level" => int(api::PyTasklet_GetNestingLevel(t)),
            "recursion_depth" => int(api::PyTasklet_GetRecursionDepth(t)),
            "frame" => obj(api::PyTasklet_GetFrame(t)),
            _ => return AttrLookup::NotFound,
        }
    };
    AttrLookup::Found(r)
}

/// Attribute setter of tasklets: only `tempval` is writable.
pub(crate) unsafe fn setattr(
    op: *mut PyObject,
    name: &str,
    value: *mut PyObject,
) -> Option<PyResult<()>> {
    if name != "tempval" {
        return None;
    }
    // SAFETY: op is a live tasklet; value NULL or live.
    let r = unsafe { api::PyTasklet_SetTempval(op.cast(), value) };
    Some(if r < 0 {
        Err(PyErr::fetch().expect("set"))
    } else {
        Ok(())
    })
}

/// A C method's int result as Python's `None` / NULL.
pub(crate) fn done(r: c_int) -> *mut PyObject {
    if r < 0 {
        ptr::null_mut()
    } else {
        Obj::none().into_raw()
    }
}

fn this(slf: *mut PyObject, r: c_int) -> *mut PyObject {
    if r < 0 {
        ptr::null_mut()
    } else {
        // SAFETY: slf is live.
        unsafe { Obj::from_borrowed(slf) }.into_raw()
    }
}

fn boundary(f: impl FnOnce() -> PyResult<Obj>) -> *mut PyObject {
    crate::capi::boundary::entry(|| Ok(f()?.into_raw()))
}

fn truth(o: Option<*mut PyObject>) -> PyResult<bool> {
    // SAFETY: o is a live argument.
    o.map_or(Ok(false), |p| unsafe { crate::object::attr::is_true(p) })
}

unsafe extern "C" fn m_insert(slf: *mut PyObject, _: *mut PyObject) -> *mut PyObject {
    // SAFETY: slf is a live tasklet.
    done(unsafe { api::PyTasklet_Insert(slf.cast()) })
}
unsafe extern "C" fn m_remove(slf: *mut PyObject, _: *mut PyObject) -> *mut PyObject {
    // SAFETY: as above.
    this(slf, unsafe { api::PyTasklet_Remove(slf.cast()) })
}
unsafe extern "C" fn m_run(slf: *mut PyObject, _: *mut PyObject) -> *mut PyObject {
    // SAFETY: as above.
    done(unsafe { api::PyTasklet_Run(slf.cast()) })
}
unsafe extern "C" fn m_switch(slf: *mut PyObject, _: *mut PyObject) -> *mut PyObject {
    // SAFETY: as above.
    done(unsafe { api::PyTasklet_Switch(slf.cast()) })
}
unsafe extern "C" fn m_setup(
    slf: *mut PyObject,
    args: *mut PyObject,
    kw: *mut PyObject,
) -> *mut PyObject {
    // SAFETY: as above; args a tuple, kw NULL or a dict.
    this(slf, unsafe { api::PyTasklet_Setup(slf.cast(), args, kw) })
}
unsafe extern "C" fn m_bind(
    slf: *mut PyObject,
    args: *mut PyObject,
    kw: *mut PyObject,
) -> *mut PyObject {
    boundary(|| {
        // SAFETY: args is a tuple, kw NULL or a dict.
        let [f, a, k] = unsafe { call::parse_args("bind", args, kw, ["func", "args", "kwargs"])? };
        let n = ptr::null_mut();
        // SAFETY: slf is a live tasklet; the arguments are borrowed from args/kw.
        if unsafe {
            api::PyTasklet_BindEx(slf.cast(), f.unwrap_or(n), a.unwrap_or(n), k.unwrap_or(n))
        } < 0
        {
            return Err(PyErr::fetch().expect("set"));
        }
        // SAFETY: slf is live.
        Ok(unsafe { Obj::from_borrowed(slf) })
    })
}
unsafe extern "C" fn m_kill(
    slf: *mut PyObject,
    args: *mut PyObject,
    kw: *mut PyObject,
) -> *mut PyObject {
    boundary(|| {
        // SAFETY: args is a tuple, kw NULL or a dict.
        let [p] = unsafe { call::parse_args("kill", args, kw, ["pending"])? };
        // SAFETY: slf is a live tasklet.
        if unsafe { api::PyTasklet_KillEx(slf.cast(), truth(p)? as c_int) } < 0 {
            return Err(PyErr::fetch().expect("set"));
        }
        Ok(Obj::none())
    })
}
unsafe extern "C" fn m_throw(
    slf: *mut PyObject,
    args: *mut PyObject,
    kw: *mut PyObject,
) -> *mut PyObject {
    boundary(|| {
        // SAFETY: args is a tuple, kw NULL or a dict.
        let [e, v, tb, p] =
            unsafe { call::parse_args("throw", args, kw, ["exc", "val", "tb", "pending"])? };
        let Some(e) = e else {
            return Err(PyErr::type_error(
                "throw() missing required argument 'exc' (pos 1)",
            ));
        };
        let n = ptr::null_mut();
        // SAFETY: slf is a live tasklet; arguments borrowed.
        if unsafe {
            api::PyTasklet_Throw(
                slf.cast(),
                truth(p)? as c_int,
                e,
                v.unwrap_or(n),
                tb.unwrap_or(n),
            )
        } < 0
        {
            return Err(PyErr::fetch().expect("set"));
        }
        Ok(Obj::none())
    })
}
unsafe extern "C" fn m_raise_exception(slf: *mut PyObject, args: *mut PyObject) -> *mut PyObject {
    boundary(|| {
        // SAFETY: args is a tuple.
        let items = unsafe { tuple::to_vec(args)? };
        let Some((klass, rest)) = items.split_first() else {
            return Err(PyErr::type_error(
                "raise_exception() missing required argument 'exc'",
            ));
        };
        let rest = tuple::from_vec(rest.to_vec());
        // SAFETY: slf is a live tasklet.
        if unsafe { api::PyTasklet_RaiseException(slf.cast(), klass.as_ptr(), rest.as_ptr()) } < 0 {
            return Err(PyErr::fetch().expect("set"));
        }
        Ok(Obj::none())
    })
}
unsafe extern "C" fn m_set_atomic(slf: *mut PyObject, flag_: *mut PyObject) -> *mut PyObject {
    boundary(|| {
        // SAFETY: slf is a live tasklet.
        flag(unsafe { api::PyTasklet_SetAtomic(slf.cast(), truth(Some(flag_))? as c_int) })
    })
}
unsafe extern "C" fn m_set_ignore_nesting(
    slf: *mut PyObject,
    flag_: *mut PyObject,
) -> *mut PyObject {
    boundary(|| {
        // SAFETY: slf is a live tasklet.
        flag(unsafe { api::PyTasklet_SetIgnoreNesting(slf.cast(), truth(Some(flag_))? as c_int) })
    })
}
unsafe extern "C" fn m_bind_thread(slf: *mut PyObject, args: *mut PyObject) -> *mut PyObject {
    boundary(|| {
        // SAFETY: args is a tuple.
        let [tid] =
            unsafe { call::parse_args("bind_thread", args, ptr::null_mut(), ["thread_id"])? };
        let id = match tid {
            None => -1,
            // SAFETY: t is live.
            Some(t) => unsafe { long::as_i64(t)? },
        };
        if id < -1 {
            return Err(PyErr::overflow_error(
                "can't convert negative value to unsigned int",
            ));
        }
        // SAFETY: slf is a live tasklet.
        if unsafe { api::PyTasklet_BindThread(slf.cast(), id as std::ffi::c_ulong) } < 0 {
            return Err(PyErr::fetch().expect("set"));
        }
        Ok(Obj::none())
    })
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

type KwFn = unsafe extern "C" fn(*mut PyObject, *mut PyObject, *mut PyObject) -> *mut PyObject;

const fn mk(name: &'static CStr, f: KwFn) -> PyMethodDef {
    // SAFETY: a keywords function is stored as PyCFunction, as CPython does; the call path
    // casts it back because of METH_KEYWORDS.
    let f = unsafe {
        std::mem::transmute::<
            KwFn,
            unsafe extern "C" fn(*mut PyObject, *mut PyObject) -> *mut PyObject,
        >(f)
    };
    PyMethodDef {
        ml_name: name.as_ptr(),
        ml_meth: Some(f),
        ml_flags: METH_VARARGS | METH_KEYWORDS,
        ml_doc: ptr::null(),
    }
}

/// The tasklet methods.
pub(crate) static mut METHODS: [PyMethodDef; 13] = [
    mk(c"bind", m_bind),
    mk(c"setup", m_setup),
    m(c"insert", m_insert, METH_NOARGS),
    m(c"remove", m_remove, METH_NOARGS),
    m(c"run", m_run, METH_NOARGS),
    m(c"switch", m_switch, METH_NOARGS),
    mk(c"kill", m_kill),
    m(c"raise_exception", m_raise_exception, METH_VARARGS),
    mk(c"throw", m_throw),
    m(c"set_atomic", m_set_atomic, METH_O),
    m(c"set_ignore_nesting", m_set_ignore_nesting, METH_O),
    m(c"bind_thread", m_bind_thread, METH_VARARGS),
    PyMethodDef::SENTINEL,
];
