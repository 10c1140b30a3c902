//! Exceptions: CPython's class hierarchy (plus Stackless's `TaskletExit`) and instances.
//!
//! Every exception class shares one instance layout, [`PyBaseExceptionObject`]: the `args`
//! tuple, and optional traceback, context and cause objects. `str(e)` is `''`, `str(args[0])`
//! or `str(args)` for 0, 1 or more args, as in CPython (and `repr(args[0])` for a `KeyError`
//! with one argument).
//!
//! Invariant: every exception class has `Py_TPFLAGS_BASE_EXC_SUBCLASS`, so "is this an exception
//! class/instance" is a flag test.

use std::ptr::{self, addr_of};

use super::typeobj::{
    self, AttrLookup, PyTypeObject, Py_TPFLAGS_BASETYPE, Py_TPFLAGS_BASE_EXC_SUBCLASS, TypeOps,
};
use super::{tuple, Obj, PyObject, PyResult};
use crate::error::PyErr;

/// The layout of every exception instance.
#[repr(C)]
pub struct PyBaseExceptionObject {
    /// Object head.
    pub ob_base: PyObject,
    /// The constructor arguments (a tuple).
    pub args: Obj,
    /// `__traceback__` (opaque to the library; carried along with the exception).
    pub traceback: Option<Obj>,
    /// `__context__`.
    pub context: Option<Obj>,
    /// `__cause__`.
    pub cause: Option<Obj>,
}

const EXC_OPS: TypeOps = TypeOps {
    drop_fields: Some(drop_exc),
    new: Some(exc_new),
    repr: Some(exc_repr),
    str: Some(exc_str),
    getattr: Some(exc_getattr),
    setattr: Some(exc_setattr),
    ..TypeOps::EMPTY
};

const fn exc_class(name: &'static std::ffi::CStr, base: *const PyTypeObject) -> PyTypeObject {
    PyTypeObject::new_static(
        name,
        base as *mut PyTypeObject,
        std::mem::size_of::<PyBaseExceptionObject>(),
        Py_TPFLAGS_BASETYPE | Py_TPFLAGS_BASE_EXC_SUBCLASS,
        EXC_OPS,
    )
}

/// Declares the static class objects (not exported: C reaches them through `PyExc_*`).
macro_rules! classes {
    ($($id:ident = $name:literal : $base:expr;)*) => {
        $( pub(crate) static mut $id: PyTypeObject = exc_class($name, $base); )*
    };
}

classes! {
    BASE_EXCEPTION = c"BaseException" : addr_of!(typeobj::PyBaseObject_Type);
    SYSTEM_EXIT = c"SystemExit" : addr_of!(BASE_EXCEPTION);
    TASKLET_EXIT = c"TaskletExit" : addr_of!(SYSTEM_EXIT);
    KEYBOARD_INTERRUPT = c"KeyboardInterrupt" : addr_of!(BASE_EXCEPTION);
    EXCEPTION = c"Exception" : addr_of!(BASE_EXCEPTION);
    STOP_ITERATION = c"StopIteration" : addr_of!(EXCEPTION);
    ARITHMETIC_ERROR = c"ArithmeticError" : addr_of!(EXCEPTION);
    OVERFLOW_ERROR = c"OverflowError" : addr_of!(ARITHMETIC_ERROR);
    ZERO_DIVISION_ERROR = c"ZeroDivisionError" : addr_of!(ARITHMETIC_ERROR);
    ATTRIBUTE_ERROR = c"AttributeError" : addr_of!(EXCEPTION);
    LOOKUP_ERROR = c"LookupError" : addr_of!(EXCEPTION);
    INDEX_ERROR = c"IndexError" : addr_of!(LOOKUP_ERROR);
    KEY_ERROR = c"KeyError" : addr_of!(LOOKUP_ERROR);
    MEMORY_ERROR = c"MemoryError" : addr_of!(EXCEPTION);
    RUNTIME_ERROR = c"RuntimeError" : addr_of!(EXCEPTION);
    RECURSION_ERROR = c"RecursionError" : addr_of!(RUNTIME_ERROR);
    NOT_IMPLEMENTED_ERROR = c"NotImplementedError" : addr_of!(RUNTIME_ERROR);
    SYSTEM_ERROR = c"SystemError" : addr_of!(EXCEPTION);
    TYPE_ERROR = c"TypeError" : addr_of!(EXCEPTION);
    VALUE_ERROR = c"ValueError" : addr_of!(EXCEPTION);
    WARNING = c"Warning" : addr_of!(EXCEPTION);
    USER_WARNING = c"UserWarning" : addr_of!(WARNING);
}

macro_rules! getters {
    ($($f:ident => $id:ident;)*) => {
        $(
            #[doc = concat!("The `", stringify!($id), "` class.")]
            #[inline]
            pub fn $f() -> *mut PyTypeObject { ptr::addr_of_mut!($id) }
        )*
    };
}

getters! {
    base_exception => BASE_EXCEPTION;
    system_exit => SYSTEM_EXIT;
    tasklet_exit => TASKLET_EXIT;
    keyboard_interrupt => KEYBOARD_INTERRUPT;
    exception => EXCEPTION;
    stop_iteration => STOP_ITERATION;
    arithmetic_error => ARITHMETIC_ERROR;
    overflow_error => OVERFLOW_ERROR;
    zero_division_error => ZERO_DIVISION_ERROR;
    attribute_error => ATTRIBUTE_ERROR;
    lookup_error => LOOKUP_ERROR;
    index_error => INDEX_ERROR;
    key_error => KEY_ERROR;
    memory_error => MEMORY_ERROR;
    runtime_error => RUNTIME_ERROR;
    recursion_error => RECURSION_ERROR;
    not_implemented_error => NOT_IMPLEMENTED_ERROR;
    system_error => SYSTEM_ERROR;
    type_error => TYPE_ERROR;
    value_error => VALUE_ERROR;
    warning => WARNING;
    user_warning => USER_WARNING;
}

/// True when `tp` is BaseException or a subclass.
///
/// # Safety
/// `tp` is NULL or a live type.
pub unsafe fn is_exception_class(tp: *mut PyTypeObject) -> bool {
    // SAFETY: tp is a live type.
    !tp.is_null() && unsafe { (*tp).tp_flags } & Py_TPFLAGS_BASE_EXC_SUBCLASS != 0
}

/// True when `op` is an exception class object.
///
/// # Safety
/// `op` is a live object.
pub unsafe fn is_class_object(op: *mut PyObject) -> bool {
    // SAFETY: op is live.
    unsafe { typeobj::is_type(op) && is_exception_class(op.cast()) }
}

/// True when `op` is an exception instance.
///
/// # Safety
/// `op` is a live object.
pub unsafe fn is_instance(op: *mut PyObject) -> bool {
    // SAFETY: op is a live object.
    is_exception_class(unsafe { super::type_of(op) })
}

/// Creates `tp(*args)` for an exception class. The instance is allocated at `tp`'s size, so
/// user subclasses with data work; a user `tp_init` runs too.
#[allow(clippy::not_unsafe_ptr_arg_deref)] // see `typeobj::is_heap`
pub fn instantiate(tp: *mut PyTypeObject, args: Obj) -> PyResult<Obj> {
    // SAFETY: tp is a live type.
    if !unsafe { is_exception_class(tp) } {
        return Err(PyErr::system_error(format!(
            "exception {} is not a BaseException subclass",
            typeobj::name(tp)
        )));
    }
    // SAFETY: tp is a live type object; args is a tuple.
    unsafe { super::call::call(tp.cast(), args.as_ptr(), ptr::null_mut()) }
}

/// The `args` tuple of an exception instance (borrowed).
///
/// # Safety
/// `op` is a live exception instance.
pub unsafe fn args(op: *mut PyObject) -> *mut PyObject {
    // SAFETY: op is an exception.
    unsafe { super::cast::<PyBaseExceptionObject>(op).args.as_ptr() }
}

/// Access to an instance's fields.
///
/// # Safety
/// `op` is a live exception instance and no other reference to its fields is live.
pub unsafe fn fields<'a>(op: *mut PyObject) -> &'a mut PyBaseExceptionObject {
    // SAFETY: per the contract.
    unsafe { super::cast_mut::<PyBaseExceptionObject>(op) }
}

/// `PyErr_GivenExceptionMatches`, as CPython: `given` (a class or an instance) matches `exc`
/// (a class or a tuple, possibly nested, of classes) when both are exception classes and
/// `given` derives from `exc`; objects that are not exception classes match only themselves.
///
/// # Safety
/// Both are NULL or live objects.
pub unsafe fn given_matches(given: *mut PyObject, exc: *mut PyObject) -> bool {
    if given.is_null() || exc.is_null() {
        return false;
    }
    // SAFETY: both are live.
    unsafe {
        if tuple::is_tuple(exc) {
            return tuple::items(exc).iter().any(|&e| given_matches(given, e));
        }
        let given: *mut PyObject = if is_instance(given) {
            super::type_of(given).cast()
        } else {
            given
        };
        if is_class_object(given) && is_class_object(exc) {
            return typeobj::is_subtype(given.cast(), exc.cast());
        }
        given == exc
    }
}

unsafe fn drop_exc(op: *mut PyObject) {
    // SAFETY: called once on an exception being freed.
    unsafe { ptr::drop_in_place(op as *mut PyBaseExceptionObject) }
}

unsafe fn exc_new(tp: *mut PyTypeObject, args: *mut PyObject, kw: *mut PyObject) -> PyResult<Obj> {
    // SAFETY: kw is NULL or a dict; args is a tuple.
    unsafe {
        // Keyword arguments are for a user `tp_init`; BaseException itself takes none.
        let user_init = typeobj::lookup(tp, |t| t.tp_init).is_some();
        if !kw.is_null() && super::dict::len(kw) > 0 && !user_init {
            return Err(PyErr::type_error(format!(
                "{}() takes no keyword arguments",
                typeobj::short_name(tp)
            )));
        }
        Ok(super::alloc_instance(
            tp,
            PyBaseExceptionObject {
                ob_base: PyObject::immortal(tp),
                args: Obj::from_borrowed(args),
                traceback: None,
                context: None,
                cause: None,
            },
        ))
    }
}

unsafe fn exc_repr(op: *mut PyObject) -> PyResult<String> {
    // SAFETY: op is an exception; its args is a tuple.
    unsafe {
        let name = typeobj::short_name(super::type_of(op));
        let a = args(op);
        match tuple::items(a) {
            [one] => Ok(format!("{name}({})", super::attr::repr(*one)?)),
            _ => Ok(format!("{name}{}", super::attr::repr(a)?)),
        }
    }
}

unsafe fn exc_str(op: *mut PyObject) -> PyResult<String> {
    // SAFETY: op is an exception; its args is a tuple.
    unsafe {
        let a = args(op);
        match tuple::items(a) {
            [] => Ok(String::new()),
            // As CPython's KeyError_str: `str(KeyError('k'))` is `"'k'"`, so that an empty or
            // odd key still reads as a key.
            [one] if typeobj::is_subtype(super::type_of(op), key_error()) => {
                super::attr::repr(*one)
            }
            [one] => super::attr::str(*one),
            _ => super::attr::str(a),
        }
    }
}

fn opt(o: &Option<Obj>) -> Obj {
    o.clone().unwrap_or_else(Obj::none)
}

unsafe fn exc_getattr(op: *mut PyObject, name: &str) -> AttrLookup {
    // SAFETY: op is an exception.
    let e = unsafe { fields(op) };
    let v = match name {
        "args" => e.args.clone(),
        "__traceback__" => opt(&e.traceback),
        "__context__" => opt(&e.context),
        "__cause__" => opt(&e.cause),
        // SAFETY: op is live.
        "code" if typeobj::is_subtype(unsafe { super::type_of(op) }, system_exit()) => {
            // SAFETY: args is a tuple.
            match unsafe { tuple::items(e.args.as_ptr()) } {
                [] => Obj::none(),
                // SAFETY: the item is live.
                [one] => unsafe { Obj::from_borrowed(*one) },
                _ => e.args.clone(),
            }
        }
        _ => return AttrLookup::NotFound,
    };
    AttrLookup::Found(Ok(v))
}

unsafe fn exc_setattr(op: *mut PyObject, name: &str, value: *mut PyObject) -> Option<PyResult<()>> {
    // SAFETY: value is NULL or live.
    let v = unsafe { Obj::from_borrowed_opt(value) }
        .filter(|v| v.as_ptr() != super::singletons::none());
    let slot = {
        // SAFETY: op is an exception; the borrow ends before anything is released.
        let e = unsafe { fields(op) };
        match name {
            "__traceback__" => &mut e.traceback,
            "__context__" | "__cause__" => {
                // SAFETY: v is live.
                if v.as_ref()
                    .is_some_and(|v| !unsafe { is_instance(v.as_ptr()) })
                {
                    let what = if name == "__cause__" {
                        "cause"
                    } else {
                        "context"
                    };
                    return Some(Err(PyErr::type_error(format!(
                        "exception {what} must be None or derive from BaseException"
                    ))));
                }
                if name == "__cause__" {
                    &mut e.cause
                } else {
                    &mut e.context
                }
            }
            "args" => {
                let Some(v) = v else {
                    return Some(Err(PyErr::type_error("args may not be deleted")));
                };
                // SAFETY: v is live.
                if !unsafe { tuple::is_tuple(v.as_ptr()) } {
                    return Some(Err(PyErr::type_error("args must be a tuple")));
                }
                let old = std::mem::replace(&mut e.args, v);
                drop(old);
                return Some(Ok(()));
            }
            _ => return None,
        }
    };
    let old = std::mem::replace(slot, v);
    drop(old);
    Some(Ok(()))
}

/// The class name as CPython prints it in a report: `module.Name`, or just `Name` for the
/// `builtins` and `__main__` modules.
pub fn display_name(tp: *mut PyTypeObject) -> &'static str {
    let n = typeobj::name(tp);
    n.strip_prefix("builtins.")
        .or_else(|| n.strip_prefix("__main__."))
        .unwrap_or(n)
}

/// A message-only helper for tests and diagnostics: `"TypeName: message"`.
pub fn describe(value: &Obj) -> String {
    let name = typeobj::short_name(value.type_ptr());
    // SAFETY: value is live.
    match unsafe { super::attr::str(value.as_ptr()) } {
        Ok(s) if s.is_empty() => name.to_owned(),
        Ok(s) => format!("{name}: {s}"),
        Err(_) => format!("{name}: <exception str() failed>"),
    }
}

/// `PyErr_NewException`: a new exception class `name` ("module.Name") deriving from `base`
/// (an exception class, a 1-tuple holding one, or NULL for `Exception`).
pub fn new_class(name: &std::ffi::CStr, base: *mut PyObject) -> PyResult<Obj> {
    if !name.to_bytes().contains(&b'.') {
        return Err(PyErr::system_error(
            "PyErr_NewException: name must be module.class",
        ));
    }
    let base: *mut PyObject = if base.is_null() {
        exception().cast()
    } else {
        base
    };
    // SAFETY: base is live.
    let base_ok = unsafe {
        is_class_object(base)
            || (tuple::is_tuple(base)
                && matches!(tuple::items(base), [one] if is_class_object(*one)))
    };
    if !base_ok {
        return Err(PyErr::type_error(
            "PyErr_NewException: base must be an exception class",
        ));
    }
    let mut slots = [typeobj::PyType_Slot {
        slot: 0,
        pfunc: ptr::null_mut(),
    }];
    let spec = typeobj::PyType_Spec {
        name: name.as_ptr(),
        basicsize: 0,
        itemsize: 0,
        flags: Py_TPFLAGS_BASETYPE as u32,
        slots: slots.as_mut_ptr(),
    };
    // SAFETY: the spec and its slots live for the duration of the call; base is live.
    unsafe { typeobj::from_spec_for(&spec, base, "PyErr_NewException") }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::object::unicode;

    fn exc(tp: *mut PyTypeObject, args: Vec<Obj>) -> Obj {
        instantiate(tp, tuple::from_vec(args)).unwrap()
    }

    fn text(f: unsafe fn(*mut PyObject) -> PyResult<String>, o: &Obj) -> String {
        // SAFETY: o is live.
        unsafe { f(o.as_ptr()) }.unwrap()
    }

    #[test]
    fn str_and_repr_follow_the_args() {
        let e = exc(value_error(), vec![]);
        assert_eq!(text(super::super::attr::str, &e), "");
        assert_eq!(text(super::super::attr::repr, &e), "ValueError()");
        let e = exc(value_error(), vec![unicode::new("boom")]);
        assert_eq!(text(super::super::attr::str, &e), "boom");
        assert_eq!(text(super::super::attr::repr, &e), "ValueError('boom')");
        let e = exc(
            value_error(),
            vec![unicode::new("a"), super::super::long::new(1)],
        );
        assert_eq!(text(super::super::attr::str, &e), "('a', 1)");
        assert_eq!(text(super::super::attr::repr, &e), "ValueError('a', 1)");
        // KeyError shows the key's repr.
        let e = exc(key_error(), vec![unicode::new("k")]);
        assert_eq!(text(super::super::attr::str, &e), "'k'");
    }

    #[test]
    fn matching_follows_cpython() {
        let ke = exc(key_error(), vec![]);
        // SAFETY: every argument below is a live object.
        let m = |g: *mut PyObject, e: *mut PyTypeObject| unsafe { given_matches(g, e.cast()) };
        assert!(m(ke.as_ptr(), lookup_error()));
        assert!(m(key_error().cast(), base_exception()));
        assert!(!m(ke.as_ptr(), index_error()));
        assert!(!m(tasklet_exit().cast(), exception()));
        assert!(m(tasklet_exit().cast(), system_exit()));
        // Non-exception classes only match themselves.
        let int = super::super::long::long_type();
        assert!(!m(int.cast(), typeobj::object_type()));
        assert!(m(int.cast(), int));
        // Tuples, nested.
        // SAFETY: the classes are static, live objects.
        let (lookup, type_err) = unsafe {
            (
                Obj::from_borrowed(lookup_error().cast()),
                Obj::from_borrowed(type_error().cast()),
            )
        };
        let outer = tuple::from_vec(vec![type_err, tuple::from_vec(vec![lookup])]);
        // SAFETY: both live.
        assert!(unsafe { given_matches(ke.as_ptr(), outer.as_ptr()) });
        // SAFETY: NULL is allowed.
        assert!(!unsafe { given_matches(std::ptr::null_mut(), outer.as_ptr()) });
    }

    #[test]
    fn display_names() {
        assert_eq!(display_name(value_error()), "ValueError");
        assert_eq!(display_name(tasklet_exit()), "TaskletExit");
        let cls = new_class(c"mod.Err", std::ptr::null_mut()).unwrap();
        assert_eq!(display_name(cls.as_ptr().cast()), "mod.Err");
        let cls = new_class(c"builtins.Err2", std::ptr::null_mut()).unwrap();
        assert_eq!(display_name(cls.as_ptr().cast()), "Err2");
    }
}
