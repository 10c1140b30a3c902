//! Built-in functions: a C function described by a `PyMethodDef`, optionally bound to `self`.
//!
//! Calling one follows the `METH_*` flags exactly as CPython does, and checks the result:
//! NULL must come with an exception, a value must come without one.
//!
//! Invariant: the `PyMethodDef` outlives every function object made from it (it is static in
//! user code, or owned by a heap type that the bound `self` keeps alive).

use std::ffi::{c_char, c_int, CStr};
use std::ptr;

use super::typeobj::{self, AttrLookup, PyTypeObject, TypeOps};
use super::{tuple, unicode, Obj, PyObject, PyResult};
use crate::error::PyErr;

/// `PyCFunction`: `PyObject *f(PyObject *self, PyObject *args)`.
pub type PyCFunction = Option<unsafe extern "C" fn(*mut PyObject, *mut PyObject) -> *mut PyObject>;

/// `PyCFunctionWithKeywords`: `PyObject *f(PyObject *self, PyObject *args, PyObject *kwargs)`.
pub type PyCFunctionWithKeywords =
    Option<unsafe extern "C" fn(*mut PyObject, *mut PyObject, *mut PyObject) -> *mut PyObject>;

/// `METH_VARARGS`: called as `f(self, args_tuple)`.
pub const METH_VARARGS: c_int = 0x0001;
/// `METH_KEYWORDS`: with `METH_VARARGS`, called as `f(self, args_tuple, kwargs_dict_or_NULL)`.
pub const METH_KEYWORDS: c_int = 0x0002;
/// `METH_NOARGS`: called as `f(self, NULL)`; any argument is a `TypeError`.
pub const METH_NOARGS: c_int = 0x0004;
/// `METH_O`: called as `f(self, arg)` with exactly one argument.
pub const METH_O: c_int = 0x0008;
/// `METH_CLASS` (accepted, no special meaning here).
pub const METH_CLASS: c_int = 0x0010;
/// `METH_STATIC` (accepted, no special meaning here).
pub const METH_STATIC: c_int = 0x0020;
/// `METH_COEXIST` (accepted, no special meaning here).
pub const METH_COEXIST: c_int = 0x0040;
/// `METH_STACKLESS`: the function obeys the soft-switching protocol (Stackless's value).
pub const METH_STACKLESS: c_int = 0x0100;

/// `PyMethodDef`: a C function's name, entry point, calling convention and documentation.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct PyMethodDef {
    /// The name (a C string).
    pub ml_name: *const c_char,
    /// The function; cast a `PyCFunctionWithKeywords` to `PyCFunction` when using
    /// `METH_KEYWORDS`, as in CPython.
    pub ml_meth: PyCFunction,
    /// `METH_*` flags.
    pub ml_flags: c_int,
    /// The docstring, or NULL.
    pub ml_doc: *const c_char,
}

// SAFETY: method tables are immutable after creation.
unsafe impl Sync for PyMethodDef {}

impl PyMethodDef {
    /// The `{NULL, NULL, 0, NULL}` entry that ends a table.
    pub const SENTINEL: PyMethodDef = PyMethodDef {
        ml_name: ptr::null(),
        ml_meth: None,
        ml_flags: 0,
        ml_doc: ptr::null(),
    };
}

/// The layout of a built-in function object.
#[repr(C)]
pub struct PyCFunctionObject {
    /// Object head.
    pub ob_base: PyObject,
    /// The description (borrowed; outlives the object).
    pub ml: *const PyMethodDef,
    /// The bound `self`, or `None`.
    pub self_: Option<Obj>,
    /// The module, or `None`.
    pub module: Option<Obj>,
}

/// `builtin_function_or_method`.
#[no_mangle]
pub static mut PyCFunction_Type: PyTypeObject = PyTypeObject::new_static(
    c"builtin_function_or_method",
    ptr::addr_of!(typeobj::PyBaseObject_Type) as *mut PyTypeObject,
    std::mem::size_of::<PyCFunctionObject>(),
    0,
    TypeOps {
        drop_fields: Some(drop_cfunction),
        call: Some(cfunction_call),
        repr: Some(cfunction_repr),
        getattr: Some(cfunction_getattr),
        ..TypeOps::EMPTY
    },
);

/// `&PyCFunction_Type`.
pub fn cfunction_type() -> *mut PyTypeObject {
    ptr::addr_of_mut!(PyCFunction_Type)
}

/// True when `op` is a built-in function.
///
/// # Safety
/// `op` is a live object.
pub unsafe fn is_cfunction(op: *mut PyObject) -> bool {
    // SAFETY: op is live.
    typeobj::is_subtype(unsafe { super::type_of(op) }, cfunction_type())
}

/// True when `op` is a built-in function declared `METH_STACKLESS` (it obeys the soft
/// switching protocol).
///
/// # Safety
/// `op` is a live object.
pub unsafe fn is_stackless(op: *mut PyObject) -> bool {
    // SAFETY: op is live; a function's method def outlives it.
    unsafe {
        is_cfunction(op)
            && (*super::cast::<PyCFunctionObject>(op).ml).ml_flags & METH_STACKLESS != 0
    }
}

const KNOWN_FLAGS: c_int = METH_VARARGS
    | METH_KEYWORDS
    | METH_NOARGS
    | METH_O
    | METH_CLASS
    | METH_STATIC
    | METH_COEXIST
    | METH_STACKLESS;

/// `PyCFunction_NewEx`: a function object for `ml`, bound to `self_` and `module` (both may be
/// NULL).
///
/// # Safety
/// `ml` points to a valid `PyMethodDef` that outlives the result; `self_` and `module` are NULL
/// or live.
pub unsafe fn new(
    ml: *const PyMethodDef,
    self_: *mut PyObject,
    module: *mut PyObject,
) -> PyResult<Obj> {
    // SAFETY: ml is valid.
    unsafe {
        let m = &*ml;
        if m.ml_name.is_null() {
            return Err(PyErr::system_error(
                "PyCFunction_NewEx: ml->ml_name is NULL",
            ));
        }
        if m.ml_meth.is_none() {
            return Err(PyErr::system_error(
                "PyCFunction_NewEx: ml->ml_meth is NULL",
            ));
        }
        let calling = m.ml_flags & (METH_VARARGS | METH_KEYWORDS | METH_NOARGS | METH_O);
        let valid = [
            METH_VARARGS,
            METH_VARARGS | METH_KEYWORDS,
            METH_NOARGS,
            METH_O,
        ]
        .contains(&calling);
        if m.ml_flags & !KNOWN_FLAGS != 0 || !valid {
            // CPython's message. Unlike CPython, unknown flag bits (e.g. METH_FASTCALL, which
            // libstackless does not support) are rejected too.
            return Err(PyErr::system_error(format!(
                "{}() method: bad call flags",
                CStr::from_ptr(m.ml_name).to_string_lossy(),
            )));
        }
        Ok(super::alloc_instance(
            cfunction_type(),
            PyCFunctionObject {
                ob_base: PyObject::immortal(cfunction_type()),
                ml,
                self_: Obj::from_borrowed_opt(self_),
                module: Obj::from_borrowed_opt(module),
            },
        ))
    }
}

fn ml_name(ml: &PyMethodDef) -> String {
    // SAFETY: ml_name was checked non-NULL at creation and is a C string.
    unsafe { CStr::from_ptr(ml.ml_name) }
        .to_string_lossy()
        .into_owned()
}

/// Turns what a C function returned into a result, enforcing CPython's rule: NULL needs an
/// exception, and a value must not come with one.
///
/// # Safety
/// `r` is NULL or a new reference returned by the C function.
pub unsafe fn check_result(r: *mut PyObject, what: &dyn Fn() -> String) -> PyResult<Obj> {
    // SAFETY: r is NULL or owned.
    let r = unsafe { Obj::from_owned(r) };
    match (r, PyErr::fetch()) {
        (Some(v), None) => Ok(v),
        (None, Some(e)) => Err(e),
        (None, None) => Err(PyErr::system_error(format!(
            "{} returned NULL without setting an exception",
            what()
        ))),
        (Some(_), Some(e)) => {
            let err = PyErr::system_error(format!(
                "{} returned a result with an exception set",
                what()
            ));
            // As CPython: the stray exception becomes the cause (and context) of the error.
            // SAFETY: both are exception instances.
            unsafe {
                let f = super::exception::fields(err.value().as_ptr());
                f.context = Some(e.value().clone());
                f.cause = Some(e.into_value());
            }
            Err(err)
        }
    }
}

/// The text CPython uses for an object in "`NULL` without an exception" errors: its repr.
///
/// # Safety
/// `op` is a live object.
pub unsafe fn describe_callable(op: *mut PyObject) -> String {
    // SAFETY: op is live.
    unsafe { super::attr::repr(op) }.unwrap_or_else(|_| {
        format!("<{} object at {op:p}>", unsafe {
            typeobj::type_name_of(op)
        })
    })
}

/// `__qualname__` of a function: its name, qualified by the class of the object it is bound
/// to (`"Point.norm1"`), as CPython's built-in methods.
fn qualname(f: &PyCFunctionObject) -> String {
    // SAFETY: ml outlives f.
    let name = ml_name(unsafe { &*f.ml });
    match &f.self_ {
        None => name,
        Some(s) => {
            // SAFETY: s is live.
            let cls = if unsafe { typeobj::is_type(s.as_ptr()) } {
                s.as_ptr().cast()
            } else {
                s.type_ptr()
            };
            format!("{}.{name}", typeobj::short_name(cls))
        }
    }
}

/// How CPython names a function in argument errors: `module.qualname()` (or `qualname()`
/// without a module, or for `builtins`).
fn function_str(f: &PyCFunctionObject) -> String {
    let q = qualname(f);
    let module = f
        .module
        .as_ref()
        .filter(|m| m.as_ptr() != super::singletons::none());
    match module {
        // SAFETY: m is live.
        Some(m) => match unsafe { super::attr::str(m.as_ptr()) } {
            Ok(m) if m != "builtins" => format!("{m}.{q}()"),
            _ => format!("{q}()"),
        },
        None => format!("{q}()"),
    }
}

unsafe fn cfunction_call(
    op: *mut PyObject,
    args: *mut PyObject,
    kw: *mut PyObject,
) -> PyResult<Obj> {
    // SAFETY: op is a function object; args a tuple; kw NULL or a dict.
    unsafe {
        let f = super::cast::<PyCFunctionObject>(op);
        let ml = &*f.ml;
        let self_ = f.self_.as_ref().map_or(ptr::null_mut(), Obj::as_ptr);
        let nargs = tuple::items(args).len();
        let has_kw = !kw.is_null() && super::dict::len(kw) > 0;
        let meth = ml.ml_meth.expect("checked at creation");
        let calling = ml.ml_flags & (METH_VARARGS | METH_KEYWORDS | METH_NOARGS | METH_O);
        // The messages are CPython 3.12's: METH_VARARGS functions name themselves by
        // `ml_name`, METH_NOARGS / METH_O ones by `function_str`.
        let r = match calling {
            METH_NOARGS | METH_O if has_kw => {
                return Err(PyErr::type_error(format!(
                    "{} takes no keyword arguments",
                    function_str(f)
                )))
            }
            METH_NOARGS => {
                if nargs != 0 {
                    return Err(PyErr::type_error(format!(
                        "{} takes no arguments ({nargs} given)",
                        function_str(f)
                    )));
                }
                meth(self_, ptr::null_mut())
            }
            METH_O => {
                if nargs != 1 {
                    return Err(PyErr::type_error(format!(
                        "{} takes exactly one argument ({nargs} given)",
                        function_str(f)
                    )));
                }
                meth(self_, tuple::items(args)[0])
            }
            METH_VARARGS => {
                if has_kw {
                    return Err(PyErr::type_error(format!(
                        "{}() takes no keyword arguments",
                        ml_name(ml)
                    )));
                }
                meth(self_, args)
            }
            _ => {
                let with_kw: unsafe extern "C" fn(
                    *mut PyObject,
                    *mut PyObject,
                    *mut PyObject,
                ) -> *mut PyObject = std::mem::transmute(meth);
                with_kw(self_, args, kw)
            }
        };
        check_result(r, &|| describe_callable(op))
    }
}

unsafe fn cfunction_repr(op: *mut PyObject) -> PyResult<String> {
    // SAFETY: op is a function object.
    unsafe {
        let f = super::cast::<PyCFunctionObject>(op);
        let name = ml_name(&*f.ml);
        Ok(match &f.self_ {
            Some(s) => format!(
                "<built-in method {name} of {} object at {:p}>",
                typeobj::type_name_of(s.as_ptr()),
                s.as_ptr()
            ),
            None => format!("<built-in function {name}>"),
        })
    }
}

unsafe fn cfunction_getattr(op: *mut PyObject, name: &str) -> AttrLookup {
    // SAFETY: op is a function object.
    let f = unsafe { super::cast::<PyCFunctionObject>(op) };
    // SAFETY: ml outlives f.
    let ml = unsafe { &*f.ml };
    AttrLookup::Found(Ok(match name {
        "__name__" => unicode::new(&ml_name(ml)),
        "__qualname__" => unicode::new(&qualname(f)),
        "__doc__" if ml.ml_doc.is_null() => Obj::none(),
        // SAFETY: ml_doc is a C string.
        "__doc__" => unicode::new(&unsafe { CStr::from_ptr(ml.ml_doc) }.to_string_lossy()),
        "__self__" => f.self_.clone().unwrap_or_else(Obj::none),
        "__module__" => f.module.clone().unwrap_or_else(Obj::none),
        _ => return AttrLookup::NotFound,
    }))
}

unsafe fn drop_cfunction(op: *mut PyObject) {
    // SAFETY: called once on a function object being freed.
    unsafe { ptr::drop_in_place(op as *mut PyCFunctionObject) }
}
