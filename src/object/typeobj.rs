//! Type objects: the layout behind the opaque C `PyTypeObject`, single inheritance, and heap
//! types made by `PyType_FromSpecWithBases`.
//!
//! A type carries two kinds of behaviour:
//! - `ops`: Rust functions for the library's own types (how to drop the Rust fields, how to
//!   create an instance when the type is called, repr, attributes, ...);
//! - the C slots a user may give a heap type (`Py_tp_init`, `Py_tp_call`, `Py_tp_repr`,
//!   `Py_tp_str`, `Py_tp_finalize`, `Py_tp_methods`).
//!
//! Lookups walk the `tp_base` chain, so a subtype inherits everything it does not override.
//!
//! Instance layout of a heap type (SPEC §3, CPython 3.12's negative-basicsize form):
//!
//! ```text
//! | base type's instance (base basicsize) | pad to 16 | this type's data (-spec.basicsize) |
//! ^ object                                           ^ PyObject_GetTypeData(obj, this type)
//! ```
//!
//! Invariants:
//! - Static types are immortal and never change after start-up; heap types are refcounted,
//!   flagged `Py_TPFLAGS_HEAPTYPE`, and own their name and method table copy.
//! - `tp_basicsize` of a subtype is >= its base's, so a base's Rust layout is always a prefix.

use std::ffi::{c_char, c_int, c_uint, c_void, CStr, CString};
use std::ptr;

use super::cfunction::PyMethodDef;
use super::{Obj, PyObject, PyResult, Py_ssize_t};
use crate::error::PyErr;

/// `Py_TPFLAGS_HEAPTYPE`: the type was created at run time and is reference counted.
pub const Py_TPFLAGS_HEAPTYPE: u64 = 1 << 9;
/// `Py_TPFLAGS_BASETYPE`: the type may be subclassed.
pub const Py_TPFLAGS_BASETYPE: u64 = 1 << 10;
/// `Py_TPFLAGS_BASE_EXC_SUBCLASS`: the type is BaseException or a subclass.
pub const Py_TPFLAGS_BASE_EXC_SUBCLASS: u64 = 1 << 30;

/// C slot: `tp_init`.
pub type InitFunc = unsafe extern "C" fn(*mut PyObject, *mut PyObject, *mut PyObject) -> c_int;
/// C slot: `tp_call`.
pub type TernaryFunc =
    unsafe extern "C" fn(*mut PyObject, *mut PyObject, *mut PyObject) -> *mut PyObject;
/// C slot: `tp_repr` / `tp_str`.
pub type ReprFunc = unsafe extern "C" fn(*mut PyObject) -> *mut PyObject;
/// C slot: `tp_finalize`.
pub type DestructorFunc = unsafe extern "C" fn(*mut PyObject);

/// Rust `new`: `(type, args tuple, kwargs or NULL)` -> a new instance.
pub type NewOp = unsafe fn(*mut PyTypeObject, *mut PyObject, *mut PyObject) -> PyResult<Obj>;
/// Rust `call`: `(self, args tuple, kwargs or NULL)` -> the result.
pub type CallOp = unsafe fn(*mut PyObject, *mut PyObject, *mut PyObject) -> PyResult<Obj>;
/// Rust `setattr`: `(self, name, value or NULL)`; `None` means "not handled here".
pub type SetAttrOp = unsafe fn(*mut PyObject, &str, *mut PyObject) -> Option<PyResult<()>>;

/// How an attribute lookup by a type's own hook ended.
pub enum AttrLookup {
    /// The hook does not know this name: try the method table, then fail.
    NotFound,
    /// The hook answered.
    Found(PyResult<Obj>),
}

/// The Rust behaviour of the library's own types. Every entry is optional and inherited.
#[derive(Clone, Copy)]
pub struct TypeOps {
    /// Drops the Rust fields of an instance (the memory itself is freed by the caller).
    pub drop_fields: Option<unsafe fn(*mut PyObject)>,
    /// Runs first when the last reference goes, with the count temporarily back at 1: may
    /// run code that uses the object (a tasklet with C state is killed here). If the object
    /// gained references meanwhile, it is not freed.
    pub pre_dealloc: Option<unsafe fn(*mut PyObject)>,
    /// Creates an instance when the type is called: `(type, args tuple, kwargs or NULL)`.
    pub new: Option<NewOp>,
    /// Calls an instance: `(self, args tuple, kwargs or NULL)`.
    pub call: Option<CallOp>,
    /// `repr(self)`.
    pub repr: Option<unsafe fn(*mut PyObject) -> PyResult<String>>,
    /// `str(self)`; defaults to repr.
    pub str: Option<unsafe fn(*mut PyObject) -> PyResult<String>>,
    /// Truth value; defaults to true.
    pub is_true: Option<unsafe fn(*mut PyObject) -> bool>,
    /// Attribute getter by name.
    pub getattr: Option<unsafe fn(*mut PyObject, &str) -> AttrLookup>,
    /// Attribute setter by name (`value` NULL deletes). `None` means "not handled here".
    pub setattr: Option<SetAttrOp>,
}

impl TypeOps {
    /// No behaviour at all: everything is inherited.
    pub const EMPTY: TypeOps = TypeOps {
        drop_fields: None,
        pre_dealloc: None,
        new: None,
        call: None,
        repr: None,
        str: None,
        is_true: None,
        getattr: None,
        setattr: None,
    };
}

/// Storage a heap type owns.
pub struct HeapExtra {
    name: CString,
    /// The user's method table, copied so the spec need not outlive the type.
    _methods: Vec<PyMethodDef>,
    doc: Option<CString>,
}

/// A type object. Opaque to C; laid out with the object head first so a type is an object.
#[repr(C)]
pub struct PyTypeObject {
    /// The object head (type: `PyType_Type`).
    pub ob_base: PyObject,
    /// The full name, e.g. `"_stackless.tasklet"` or `"ValueError"`.
    pub tp_name: *const c_char,
    /// The size of an instance in bytes.
    pub tp_basicsize: Py_ssize_t,
    /// The base type (NULL only for `object`).
    pub tp_base: *mut PyTypeObject,
    /// `Py_TPFLAGS_*`.
    pub tp_flags: u64,
    /// Rust behaviour.
    pub ops: TypeOps,
    /// A NULL-terminated method table, or NULL.
    pub tp_methods: *mut PyMethodDef,
    /// User C slots (heap types).
    pub tp_init: Option<InitFunc>,
    /// User C slot `Py_tp_call`.
    pub tp_call: Option<TernaryFunc>,
    /// User C slot `Py_tp_repr`.
    pub tp_repr: Option<ReprFunc>,
    /// User C slot `Py_tp_str`.
    pub tp_str: Option<ReprFunc>,
    /// User C slot `Py_tp_finalize`: cleanup run before the object is freed.
    pub tp_finalize: Option<DestructorFunc>,
    /// Offset of this type's own data inside an instance (`PyObject_GetTypeData`).
    pub data_offset: Py_ssize_t,
    /// Heap types only.
    pub heap: *mut HeapExtra,
}

// SAFETY: type objects are immutable after creation except for their atomic refcount.
unsafe impl Sync for PyTypeObject {}

impl PyTypeObject {
    /// A static type with the given name (NUL-terminated), base, instance size and behaviour.
    pub const fn new_static(
        name: &'static CStr,
        base: *mut PyTypeObject,
        basicsize: usize,
        flags: u64,
        ops: TypeOps,
    ) -> PyTypeObject {
        PyTypeObject {
            ob_base: PyObject::immortal(ptr::addr_of!(PyType_Type) as *mut PyTypeObject),
            tp_name: name.as_ptr(),
            tp_basicsize: basicsize as Py_ssize_t,
            tp_base: base,
            tp_flags: flags,
            ops,
            tp_methods: ptr::null_mut(),
            tp_init: None,
            tp_call: None,
            tp_repr: None,
            tp_str: None,
            tp_finalize: None,
            data_offset: basicsize as Py_ssize_t,
            heap: ptr::null_mut(),
        }
    }

    /// The same type with a method table.
    pub const fn with_methods(mut self, methods: *mut PyMethodDef) -> PyTypeObject {
        self.tp_methods = methods;
        self
    }
}

/// `object`: the root of every type.
#[no_mangle]
pub static mut PyBaseObject_Type: PyTypeObject = PyTypeObject::new_static(
    c"object",
    ptr::null_mut(),
    std::mem::size_of::<PyObject>(),
    Py_TPFLAGS_BASETYPE,
    TypeOps::EMPTY,
);

/// `type`: the type of every type object.
#[no_mangle]
pub static mut PyType_Type: PyTypeObject = PyTypeObject::new_static(
    c"type",
    ptr::addr_of!(PyBaseObject_Type) as *mut PyTypeObject,
    std::mem::size_of::<PyTypeObject>(),
    0,
    TypeOps {
        repr: Some(type_repr),
        getattr: Some(type_getattr),
        call: Some(type_call),
        new: Some(type_new),
        drop_fields: Some(type_drop),
        ..TypeOps::EMPTY
    },
);

/// `&PyBaseObject_Type`.
pub fn object_type() -> *mut PyTypeObject {
    ptr::addr_of_mut!(PyBaseObject_Type)
}

/// `&PyType_Type`.
pub fn type_type() -> *mut PyTypeObject {
    ptr::addr_of_mut!(PyType_Type)
}

/// True for types made by `PyType_FromSpecWithBases` (refcounted).
// Type pointers in this crate always come from a live object's `ob_type`, a static type or a
// checked argument: these primitives take them as given.
#[allow(clippy::not_unsafe_ptr_arg_deref)]
pub fn is_heap(tp: *mut PyTypeObject) -> bool {
    // SAFETY: tp is a live type.
    !tp.is_null() && unsafe { (*tp).tp_flags } & Py_TPFLAGS_HEAPTYPE != 0
}

/// `PyType_IsSubtype`: `a` is `b` or derives from it.
pub fn is_subtype(a: *mut PyTypeObject, b: *mut PyTypeObject) -> bool {
    let mut t = a;
    while !t.is_null() {
        if t == b {
            return true;
        }
        // SAFETY: t is a live type.
        t = unsafe { (*t).tp_base };
    }
    false
}

/// True when `op` is a type object.
///
/// # Safety
/// `op` is a live object.
pub unsafe fn is_type(op: *mut PyObject) -> bool {
    // SAFETY: op is live.
    is_subtype(unsafe { super::type_of(op) }, type_type())
}

/// The full name of a type, e.g. `_stackless.tasklet`.
#[allow(clippy::not_unsafe_ptr_arg_deref)] // see `is_heap`
pub fn name(tp: *mut PyTypeObject) -> &'static str {
    // SAFETY: tp is live, and type names live as long as the type (static or heap-owned; a
    // heap type's name is only read while the type is alive).
    unsafe { CStr::from_ptr((*tp).tp_name) }
        .to_str()
        .unwrap_or("?")
}

/// The name after the last dot, as Python's `__name__`.
pub fn short_name(tp: *mut PyTypeObject) -> &'static str {
    let n = name(tp);
    n.rsplit('.').next().unwrap_or(n)
}

/// The name of an object's type, for error messages.
///
/// # Safety
/// `op` is a live object.
pub unsafe fn type_name_of(op: *mut PyObject) -> &'static str {
    // SAFETY: op is live.
    name(unsafe { super::type_of(op) })
}

/// Finds the first entry along the base chain for which `get` returns `Some`.
pub fn lookup<T>(tp: *mut PyTypeObject, get: impl Fn(&PyTypeObject) -> Option<T>) -> Option<T> {
    let mut t = tp;
    while !t.is_null() {
        // SAFETY: t is a live type.
        let ty = unsafe { &*t };
        if let Some(v) = get(ty) {
            return Some(v);
        }
        t = ty.tp_base;
    }
    None
}

unsafe fn type_repr(op: *mut PyObject) -> PyResult<String> {
    Ok(format!("<class '{}'>", name(op.cast())))
}

unsafe fn type_getattr(op: *mut PyObject, attr: &str) -> AttrLookup {
    let tp = op as *mut PyTypeObject;
    let s = match attr {
        "__name__" | "__qualname__" => short_name(tp).to_owned(),
        "__module__" => match name(tp).rsplit_once('.') {
            Some((m, _)) => m.to_owned(),
            None => "builtins".to_owned(),
        },
        "__doc__" => {
            // SAFETY: tp is live; heap extras live as long as the type.
            let doc = unsafe { tp.as_ref().and_then(|t| t.heap.as_ref()) }
                .and_then(|h| h.doc.as_ref())
                .map(|d| d.to_string_lossy().into_owned());
            return AttrLookup::Found(Ok(match doc {
                Some(d) => super::unicode::new(&d),
                None => Obj::none(),
            }));
        }
        "__base__" => {
            // SAFETY: tp is live.
            let base = unsafe { (*tp).tp_base };
            return AttrLookup::Found(Ok(if base.is_null() {
                Obj::none()
            } else {
                // SAFETY: the base type is live.
                unsafe { Obj::from_borrowed(base.cast()) }
            }));
        }
        _ => return AttrLookup::NotFound,
    };
    AttrLookup::Found(Ok(super::unicode::new(&s)))
}

/// Calling a type object creates an instance: the nearest `ops.new` along the base chain
/// allocates it (at the called type's size), then the nearest user `tp_init` initialises it.
unsafe fn type_call(
    op: *mut PyObject,
    args: *mut PyObject,
    kwargs: *mut PyObject,
) -> PyResult<Obj> {
    let tp = op as *mut PyTypeObject;
    let obj = match lookup(tp, |t| t.ops.new) {
        // SAFETY: tp is live; args is a tuple and kwargs NULL or a dict (checked by the caller).
        Some(new) => unsafe { new(tp, args, kwargs)? },
        None => {
            return Err(PyErr::type_error(format!(
                "cannot create '{}' instances",
                name(tp)
            )))
        }
    };
    if let Some(init) = lookup(tp, |t| t.tp_init) {
        // SAFETY: a user slot, called with CPython's conventions.
        let rc = unsafe { init(obj.as_ptr(), args, kwargs) };
        if rc < 0 {
            return Err(PyErr::take_or_system_error(&format!(
                "{} tp_init returned -1 without setting an exception",
                name(tp)
            )));
        }
    }
    Ok(obj)
}

/// The generic allocator used by heap types whose Rust base is `object`: a zeroed instance of
/// the type's size. Arguments are left to `tp_init`; without one, any argument is a
/// `TypeError`, as CPython's `object.__new__`.
unsafe fn object_new(
    tp: *mut PyTypeObject,
    args: *mut PyObject,
    kw: *mut PyObject,
) -> PyResult<Obj> {
    // SAFETY: args is a tuple and kw NULL or a dict (checked by the caller).
    let excess = unsafe {
        !super::tuple::items(args).is_empty() || (!kw.is_null() && super::dict::len(kw) > 0)
    };
    if excess && lookup(tp, |t| t.tp_init).is_none() {
        return Err(PyErr::type_error(format!(
            "{}() takes no arguments",
            name(tp)
        )));
    }
    // SAFETY: PyObject is a valid prefix of every instance.
    Ok(unsafe { super::alloc_instance(tp, PyObject::immortal(tp)) })
}

/// `type(x)`: the type of `x`. (Creating a class with `type(name, bases, dict)` is not
/// supported: use `PyType_FromSpec`.)
unsafe fn type_new(
    _tp: *mut PyTypeObject,
    args: *mut PyObject,
    kw: *mut PyObject,
) -> PyResult<Obj> {
    // SAFETY: args is a tuple and kw NULL or a dict (checked by the caller).
    unsafe {
        let no_kw = kw.is_null() || super::dict::len(kw) == 0;
        match super::tuple::items(args) {
            [x] if no_kw => Ok(Obj::from_borrowed(super::type_of(*x).cast())),
            [_, _, _] => Err(PyErr::type_error(
                "type() with 3 arguments is not supported by libstackless: use PyType_FromSpec",
            )),
            _ => Err(PyErr::type_error("type() takes 1 or 3 arguments")),
        }
    }
}

/// Frees what a heap type owns when its last reference goes.
unsafe fn type_drop(op: *mut PyObject) {
    let tp = op as *mut PyTypeObject;
    // SAFETY: a heap type being freed: its base reference and extras are released once.
    unsafe {
        if !(*tp).heap.is_null() {
            drop(Box::from_raw((*tp).heap));
            (*tp).heap = ptr::null_mut();
        }
        if is_heap((*tp).tp_base) {
            super::decref((*tp).tp_base.cast());
        }
    }
}

// ----- PyType_FromSpecWithBases ------------------------------------------------------------

/// `PyType_Slot`: one (slot id, function) pair; the array ends with `{0, NULL}`.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct PyType_Slot {
    /// A `Py_tp_*` slot id.
    pub slot: c_int,
    /// The function or value for the slot.
    pub pfunc: *mut c_void,
}

/// `PyType_Spec`: the description of a heap type.
#[repr(C)]
pub struct PyType_Spec {
    /// `"module.Name"`.
    pub name: *const c_char,
    /// Instance size: positive = the whole instance (must include the base's part), negative =
    /// the extra bytes this type adds (reach them with `PyObject_GetTypeData`), 0 = inherit.
    pub basicsize: c_int,
    /// Must be 0 (variable-size objects are not supported).
    pub itemsize: c_int,
    /// `Py_TPFLAGS_*` (`Py_TPFLAGS_BASETYPE` allows further subclassing).
    pub flags: c_uint,
    /// The slots, ending with `{0, NULL}`.
    pub slots: *mut PyType_Slot,
}

/// Slot id `Py_tp_base`.
pub const Py_tp_base: c_int = 48;
/// Slot id `Py_tp_bases`.
pub const Py_tp_bases: c_int = 49;
/// Slot id `Py_tp_call`.
pub const Py_tp_call: c_int = 50;
/// Slot id `Py_tp_doc`.
pub const Py_tp_doc: c_int = 56;
/// Slot id `Py_tp_init`.
pub const Py_tp_init: c_int = 60;
/// Slot id `Py_tp_methods`.
pub const Py_tp_methods: c_int = 64;
/// Slot id `Py_tp_repr`.
pub const Py_tp_repr: c_int = 66;
/// Slot id `Py_tp_str`.
pub const Py_tp_str: c_int = 70;
/// Slot id `Py_tp_finalize`.
pub const Py_tp_finalize: c_int = 80;

/// Resolves a base given as a type, or a tuple of exactly one type (`what` names it in
/// errors: the `bases` argument or a slot).
unsafe fn single_base(bases: *mut PyObject, func: &str, what: &str) -> PyResult<*mut PyTypeObject> {
    // SAFETY: bases is a live object.
    unsafe {
        if is_type(bases) {
            return Ok(bases.cast());
        }
        if super::tuple::is_tuple(bases) {
            return match super::tuple::items(bases) {
                [one] if !one.is_null() && is_type(*one) => Ok((*one).cast()),
                [_] => Err(PyErr::type_error(format!(
                    "{func}: {what} must be a type or a tuple of one type"
                ))),
                _ => Err(PyErr::type_error(format!(
                    "{func}: {what}: libstackless supports exactly one base type"
                ))),
            };
        }
        Err(PyErr::type_error(format!(
            "{func}: {what} must be a type or a tuple of one type, not {}",
            type_name_of(bases)
        )))
    }
}

fn align16(n: Py_ssize_t) -> Py_ssize_t {
    (n + 15) & !15
}

/// Creates a heap type from a spec (`PyType_FromSpecWithBases`).
///
/// # Safety
/// `spec` points to a valid spec whose slot array is terminated; `bases` is NULL or live.
pub unsafe fn from_spec(spec: *const PyType_Spec, bases: *mut PyObject) -> PyResult<Obj> {
    // SAFETY: forwarded.
    unsafe { from_spec_for(spec, bases, "PyType_FromSpecWithBases") }
}

/// [`from_spec`] for the C function `func` (which the error messages name).
///
/// # Safety
/// As [`from_spec`].
pub unsafe fn from_spec_for(
    spec: *const PyType_Spec,
    bases: *mut PyObject,
    func: &str,
) -> PyResult<Obj> {
    // SAFETY: the spec and everything it points to are valid (caller's contract; NULL name
    // and slots are checked).
    unsafe {
        let spec = &*spec;
        if spec.name.is_null() {
            return Err(PyErr::system_error(format!("{func}: spec->name is NULL")));
        }
        let name = CStr::from_ptr(spec.name).to_owned();
        if spec.itemsize != 0 {
            return Err(PyErr::system_error(format!(
                "{func}: variable-size types (itemsize != 0) are not supported"
            )));
        }
        let mut base = if bases.is_null() {
            ptr::null_mut()
        } else {
            single_base(bases, func, "argument 'bases'")?
        };
        let mut init = None;
        let mut call = None;
        let mut repr = None;
        let mut str_ = None;
        let mut finalize = None;
        let mut methods = Vec::new();
        let mut doc = None;
        let mut s = spec.slots;
        while !s.is_null() && (*s).slot != 0 {
            let p = (*s).pfunc;
            match (*s).slot {
                Py_tp_base | Py_tp_bases => {
                    if base.is_null() && !p.is_null() {
                        base = single_base(p.cast(), func, "the Py_tp_base(s) slot")?;
                    }
                }
                Py_tp_init => {
                    init = (!p.is_null()).then(|| std::mem::transmute::<*mut c_void, InitFunc>(p))
                }
                Py_tp_call => {
                    call =
                        (!p.is_null()).then(|| std::mem::transmute::<*mut c_void, TernaryFunc>(p))
                }
                Py_tp_repr => {
                    repr = (!p.is_null()).then(|| std::mem::transmute::<*mut c_void, ReprFunc>(p))
                }
                Py_tp_str => {
                    str_ = (!p.is_null()).then(|| std::mem::transmute::<*mut c_void, ReprFunc>(p))
                }
                Py_tp_finalize => {
                    finalize = (!p.is_null())
                        .then(|| std::mem::transmute::<*mut c_void, DestructorFunc>(p))
                }
                Py_tp_doc => {
                    if !p.is_null() {
                        doc = Some(CStr::from_ptr(p as *const c_char).to_owned());
                    }
                }
                Py_tp_methods => {
                    let mut m = p as *const PyMethodDef;
                    while !m.is_null() && !(*m).ml_name.is_null() {
                        methods.push(*m);
                        m = m.add(1);
                    }
                }
                other => {
                    return Err(PyErr::system_error(format!(
                        "{func}: slot {other} is not supported by libstackless"
                    )))
                }
            }
            s = s.add(1);
        }
        if base.is_null() {
            base = object_type();
        }
        if (*base).tp_flags & Py_TPFLAGS_BASETYPE == 0 {
            return Err(PyErr::type_error(format!(
                "type '{}' is not an acceptable base type",
                self::name(base)
            )));
        }
        let base_size = (*base).tp_basicsize;
        let (basicsize, data_offset) = match spec.basicsize {
            0 => (base_size, base_size),
            n if n < 0 => {
                let off = align16(base_size);
                (off + (-(n as Py_ssize_t)), off)
            }
            n => {
                let n = n as Py_ssize_t;
                if n < base_size {
                    return Err(PyErr::type_error(format!(
                        "{func}: basicsize {n} is smaller than the base type's ({base_size}); use a negative basicsize to add data to an opaque base"
                    )));
                }
                (n, base_size)
            }
        };
        if !methods.is_empty() {
            methods.push(PyMethodDef::SENTINEL);
        }
        let mut extra = Box::new(HeapExtra {
            name,
            _methods: methods,
            doc,
        });
        let tp_methods = if extra._methods.is_empty() {
            ptr::null_mut()
        } else {
            extra._methods.as_mut_ptr()
        };
        let mut ops = TypeOps::EMPTY;
        if lookup(base, |t| t.ops.new).is_none() {
            ops.new = Some(object_new);
        }
        let ty = PyTypeObject {
            ob_base: PyObject::immortal(type_type()),
            tp_name: extra.name.as_ptr(),
            tp_basicsize: basicsize,
            tp_base: base,
            // Whether instances are exceptions (and so have the exception layout) comes from
            // the base alone, never from the spec.
            tp_flags: ((spec.flags as u64 & !Py_TPFLAGS_BASE_EXC_SUBCLASS) | Py_TPFLAGS_HEAPTYPE)
                | ((*base).tp_flags & Py_TPFLAGS_BASE_EXC_SUBCLASS),
            ops,
            tp_methods,
            tp_init: init,
            tp_call: call,
            tp_repr: repr,
            tp_str: str_,
            tp_finalize: finalize,
            data_offset,
            heap: Box::into_raw(extra),
        };
        if is_heap(base) {
            super::incref(base.cast());
        }
        let obj = super::alloc_instance(type_type(), ty);
        Ok(obj)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::object::exception;

    /// Makes a heap type from a name, basicsize and base with no slots.
    fn make(name: &CStr, basicsize: c_int, flags: u64, base: *mut PyTypeObject) -> PyResult<Obj> {
        let mut slots = [PyType_Slot {
            slot: 0,
            pfunc: ptr::null_mut(),
        }];
        let spec = PyType_Spec {
            name: name.as_ptr(),
            basicsize,
            itemsize: 0,
            flags: flags as c_uint,
            slots: slots.as_mut_ptr(),
        };
        // SAFETY: the spec is valid for the call; base is a live type.
        unsafe { from_spec(&spec, base.cast()) }
    }

    fn layout(t: &Obj) -> (Py_ssize_t, Py_ssize_t) {
        let tp = t.as_ptr() as *mut PyTypeObject;
        // SAFETY: t is a live type.
        unsafe { ((*tp).tp_basicsize, (*tp).data_offset) }
    }

    #[test]
    fn align16_rounds_up() {
        assert_eq!(align16(0), 0);
        assert_eq!(align16(1), 16);
        assert_eq!(align16(16), 16);
        assert_eq!(align16(17), 32);
        assert_eq!(align16(48), 48);
    }

    #[test]
    fn negative_basicsize_appends_aligned_data() {
        let head = std::mem::size_of::<PyObject>() as Py_ssize_t;
        let a = make(c"t.A", -24, Py_TPFLAGS_BASETYPE, object_type()).unwrap();
        assert_eq!(layout(&a), (align16(head) + 24, align16(head)));
        // A second level starts after the first level's data, aligned.
        let b = make(c"t.B", -8, Py_TPFLAGS_BASETYPE, a.as_ptr().cast()).unwrap();
        let (a_size, _) = layout(&a);
        assert_eq!(layout(&b), (align16(a_size) + 8, align16(a_size)));
        // basicsize 0 inherits the base's size and adds no data.
        let c = make(c"t.C", 0, 0, b.as_ptr().cast()).unwrap();
        let (b_size, _) = layout(&b);
        assert_eq!(layout(&c), (b_size, b_size));
        // A positive basicsize is the whole instance; the data follows the base part.
        let d = make(c"t.D", 40, 0, object_type()).unwrap();
        assert_eq!(layout(&d), (40, head));
    }

    #[test]
    fn exception_subtypes_keep_the_exception_layout() {
        let exc_size = std::mem::size_of::<exception::PyBaseExceptionObject>() as Py_ssize_t;
        let e = make(c"t.E", -4, 0, exception::value_error()).unwrap();
        assert_eq!(layout(&e), (align16(exc_size) + 4, align16(exc_size)));
        // SAFETY: e is a live type.
        assert!(unsafe { exception::is_exception_class(e.as_ptr().cast()) });
    }

    #[test]
    fn bad_specs_are_refused() {
        let too_small = make(c"t.S", 8, 0, object_type()).map(|_| ()).unwrap_err();
        assert!(too_small.matches(exception::type_error()));
        let not_base = make(c"t.I", 0, 0, super::super::long::long_type())
            .map(|_| ())
            .unwrap_err();
        assert!(not_base.matches(exception::type_error()));
        // The spec cannot claim the exception layout.
        let fake = make(c"t.F", 0, Py_TPFLAGS_BASE_EXC_SUBCLASS, object_type()).unwrap();
        // SAFETY: fake is a live type.
        assert!(!unsafe { exception::is_exception_class(fake.as_ptr().cast()) });
    }

    #[test]
    fn heap_types_are_refcounted_and_hold_their_base() {
        let a = make(c"t.Base", 0, Py_TPFLAGS_BASETYPE, object_type()).unwrap();
        // SAFETY: a is a live type.
        let count = || unsafe { super::super::refcnt(a.as_ptr()) };
        assert_eq!(count(), 1);
        let b = make(c"t.Sub", 0, 0, a.as_ptr().cast()).unwrap();
        assert_eq!(count(), 2);
        drop(b);
        assert_eq!(count(), 1);
        assert_eq!(short_name(a.as_ptr().cast()), "Base");
        assert_eq!(name(a.as_ptr().cast()), "t.Base");
    }
}
