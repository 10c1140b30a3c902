//! The object model: a small CPython-compatible object system (SPEC §3).
//!
//! Every object starts with the public head [`PyObject`] `{ ob_refcnt, ob_type }`, is allocated
//! with `malloc` at its type's `basicsize` (so subtypes can append data, which starts zeroed),
//! and is freed by [`dealloc`] when its count reaches zero.
//!
//! Invariants:
//! - Reference counts are changed only with atomic operations (objects cross threads through
//!   channels); the C header's inline `Py_INCREF`/`Py_DECREF` use the same atomics.
//! - Static objects (singletons, type objects, exception classes) have the count
//!   [`_Py_IMMORTAL_REFCNT`] and are *immortal*: increments and decrements skip them (as in
//!   CPython 3.12), so they are never freed and cost no atomic operation.
//! - An [`Obj`] owns exactly one reference; dropping it releases that reference. Raw
//!   `*mut PyObject` values in Rust code are borrowed unless a comment says otherwise.
//! - An instance of a heap type (made by `PyType_FromSpecWithBases`) holds a reference to its type.

pub mod attr;
pub mod bytes;
pub mod call;
pub mod capsule;
pub mod cfunction;
pub mod dict;
pub mod exception;
pub mod long;
pub mod singletons;
pub mod tuple;
pub mod typeobj;
pub mod unicode;

use std::ptr::{self, NonNull};
use std::sync::atomic::{fence, AtomicIsize, Ordering};

pub use typeobj::PyTypeObject;

/// `Py_ssize_t`: CPython's signed size type.
#[allow(non_camel_case_types)]
pub type Py_ssize_t = isize;

/// The refcount given to static objects: decrementing it to zero is impossible in practice.
pub(crate) const _Py_IMMORTAL_REFCNT: Py_ssize_t = 1 << 60;

/// The public object head. Every object begins with it.
#[repr(C)]
pub struct PyObject {
    /// The reference count (changed atomically).
    pub ob_refcnt: Py_ssize_t,
    /// The object's type.
    pub ob_type: *mut PyTypeObject,
}

impl PyObject {
    /// A head for a static (immortal) object of type `tp`.
    pub const fn immortal(tp: *mut PyTypeObject) -> PyObject {
        PyObject {
            ob_refcnt: _Py_IMMORTAL_REFCNT,
            ob_type: tp,
        }
    }
}

/// The result type of every fallible core operation.
pub type PyResult<T> = Result<T, crate::error::PyErr>;

/// Adds one reference.
///
/// # Safety
/// `op` is NULL or points to a live object.
#[inline]
pub unsafe fn incref(op: *mut PyObject) {
    if op.is_null() {
        return;
    }
    // SAFETY: op is a live object; its refcount field is only ever accessed atomically.
    let count = unsafe { AtomicIsize::from_ptr(ptr::addr_of_mut!((*op).ob_refcnt)) };
    // Immortal objects (None, the bools, types, ...) are not counted, as in CPython 3.12: no
    // atomic read-modify-write for the objects every call passes around.
    if count.load(Ordering::Relaxed) < _Py_IMMORTAL_REFCNT {
        count.fetch_add(1, Ordering::Relaxed);
    }
}

/// Releases one reference, freeing the object when it was the last.
///
/// # Safety
/// `op` is NULL or points to a live object whose reference the caller owns.
#[inline]
pub unsafe fn decref(op: *mut PyObject) {
    if op.is_null() {
        return;
    }
    // SAFETY: as in incref; the caller owns the reference it gives up.
    let count = unsafe { AtomicIsize::from_ptr(ptr::addr_of_mut!((*op).ob_refcnt)) };
    let c = count.load(Ordering::Acquire);
    if c >= _Py_IMMORTAL_REFCNT {
        return;
    }
    // The caller's reference is the only one: no other thread can hold (and so touch) the
    // count, so the object dies without an atomic read-modify-write. The acquire load pairs
    // with the release decrement that brought the count down to 1.
    if c == 1 {
        // SAFETY: that was the last reference.
        unsafe { dealloc(op) };
        return;
    }
    let old = count.fetch_sub(1, Ordering::Release);
    if old == 1 {
        fence(Ordering::Acquire);
        // SAFETY: that was the last reference.
        unsafe { dealloc(op) };
    }
}

/// The current reference count (a snapshot).
///
/// # Safety
/// `op` points to a live object.
pub unsafe fn refcnt(op: *mut PyObject) -> Py_ssize_t {
    // SAFETY: op is live.
    unsafe { AtomicIsize::from_ptr(ptr::addr_of_mut!((*op).ob_refcnt)) }.load(Ordering::Relaxed)
}

/// The type of a live object.
///
/// # Safety
/// `op` points to a live object.
#[inline]
pub unsafe fn type_of(op: *mut PyObject) -> *mut PyTypeObject {
    // SAFETY: op is live.
    unsafe { (*op).ob_type }
}

/// Frees an object whose count reached zero: runs the user finalizers of its heap types (most
/// derived first), then the Rust destructor of its static base, frees the memory, and releases
/// the instance's reference to a heap type.
///
/// Finalizers run with the count temporarily back at 1 (they may take and drop references)
/// and with the error indicator saved: a pending exception survives them, and an exception a
/// finalizer leaves behind is reported as unraisable. A finalizer that keeps a new reference
/// resurrects the object: it is then not freed (and its finalizers run again when the count
/// next reaches zero), as in CPython.
///
/// # Safety
/// `op` is an object whose reference count is zero and which nobody will use again.
pub unsafe fn dealloc(op: *mut PyObject) {
    // SAFETY: op is a dead-but-intact object: its type pointer is valid.
    unsafe {
        let tp = type_of(op);
        let count = AtomicIsize::from_ptr(ptr::addr_of_mut!((*op).ob_refcnt));
        // Finalizers may use the object (and even take temporary references); keep it alive
        // while they run.
        count.store(1, Ordering::Relaxed);
        if let Some(pre) = typeobj::lookup(tp, |t| t.ops.pre_dealloc) {
            pre(op);
            if !release_temporary(count) {
                // Resurrected: whoever holds it now frees it later.
                return;
            }
        }
        if has_finalizer(tp) {
            let saved = crate::thread_state::swap_curexc(None);
            let mut t = tp;
            while typeobj::is_heap(t) {
                if let Some(fin) = (*t).tp_finalize {
                    fin(op);
                    if let Some(e) = crate::error::PyErr::fetch() {
                        e.write_unraisable(op);
                    }
                }
                t = (*t).tp_base;
            }
            drop(crate::thread_state::swap_curexc(saved));
            if !release_temporary(count) {
                // Resurrected: a finalizer stored a reference somewhere.
                return;
            }
        }
        // The first static type in the chain knows the Rust layout.
        let mut s = tp;
        while !s.is_null() {
            if let Some(drop_fields) = (*s).ops.drop_fields {
                drop_fields(op);
                break;
            }
            s = (*s).tp_base;
        }
        libc::free(op.cast());
        if typeobj::is_heap(tp) {
            decref(tp.cast());
        }
    }
}

/// After code that ran during a deallocation: gives up the temporary reference `dealloc`
/// holds. Returns true when it was the only one (the deallocation goes on, the count stays at
/// 1 for what follows), false when the object was resurrected (someone else frees it later).
/// No atomic read-modify-write in the common case: a count of 1 means nobody else holds a
/// reference, so nobody else can change it.
fn release_temporary(count: &AtomicIsize) -> bool {
    if count.load(Ordering::Acquire) == 1 {
        return true;
    }
    if count.fetch_sub(1, Ordering::AcqRel) != 1 {
        return false;
    }
    count.store(1, Ordering::Relaxed);
    true
}

/// True when a heap type in `tp`'s chain has a user finalizer.
fn has_finalizer(tp: *mut PyTypeObject) -> bool {
    let mut t = tp;
    while typeobj::is_heap(t) {
        // SAFETY: t is a live type.
        if unsafe { (*t).tp_finalize }.is_some() {
            return true;
        }
        // SAFETY: as above.
        t = unsafe { (*t).tp_base };
    }
    false
}

/// Allocates an instance of `tp` (at `tp`'s basicsize, zero-filled past `value`) and moves
/// `value`, whose first field must be a `PyObject` head, into it. The head is set to count 1
/// and type `tp`. Returns an owned reference.
///
/// # Safety
/// `T` is `#[repr(C)]` and begins with a `PyObject`; `tp` is a live type whose instances have
/// `T`'s layout at their start (it is `T`'s static type or a subtype of it).
pub unsafe fn alloc_instance<T>(tp: *mut PyTypeObject, value: T) -> Obj {
    // SAFETY: tp is live; the memory is large enough for T and for tp's own data.
    unsafe {
        let size = (*tp).tp_basicsize.max(0) as usize;
        let base = std::mem::size_of::<T>();
        let size = size.max(base);
        // malloc, not calloc: glibc's calloc bypasses its per-thread cache. `value` fills the
        // first `base` bytes; only a subtype's extra bytes need zeroing.
        let mem = libc::malloc(size) as *mut T;
        if mem.is_null() {
            std::alloc::handle_alloc_error(std::alloc::Layout::from_size_align_unchecked(size, 16));
        }
        if size > base {
            ptr::write_bytes((mem as *mut u8).add(base), 0, size - base);
        }
        ptr::write(mem, value);
        let op = mem as *mut PyObject;
        (*op).ob_refcnt = 1;
        (*op).ob_type = tp;
        if typeobj::is_heap(tp) {
            incref(tp.cast());
        }
        Obj::from_owned_unchecked(op)
    }
}

/// An owned reference to an object.
#[repr(transparent)]
pub struct Obj(NonNull<PyObject>);

impl Obj {
    /// Takes over a reference the caller owns. NULL gives `None`.
    ///
    /// # Safety
    /// `op` is NULL or a live object whose reference the caller gives up.
    pub unsafe fn from_owned(op: *mut PyObject) -> Option<Obj> {
        NonNull::new(op).map(Obj)
    }

    /// Takes over a reference the caller owns.
    ///
    /// # Safety
    /// `op` is a live, non-NULL object whose reference the caller gives up.
    pub unsafe fn from_owned_unchecked(op: *mut PyObject) -> Obj {
        // SAFETY: the caller promises non-NULL.
        Obj(unsafe { NonNull::new_unchecked(op) })
    }

    /// Adds a reference to a borrowed object that may be NULL.
    ///
    /// # Safety
    /// `op` is NULL or a live object.
    pub unsafe fn from_borrowed_opt(op: *mut PyObject) -> Option<Obj> {
        // SAFETY: op is NULL or live.
        (!op.is_null()).then(|| unsafe { Obj::from_borrowed(op) })
    }

    /// Adds a reference to a borrowed object and owns it.
    ///
    /// # Safety
    /// `op` is a live, non-NULL object.
    pub unsafe fn from_borrowed(op: *mut PyObject) -> Obj {
        // SAFETY: op is live.
        unsafe {
            incref(op);
            Obj::from_owned_unchecked(op)
        }
    }

    /// The borrowed pointer.
    #[inline]
    pub fn as_ptr(&self) -> *mut PyObject {
        self.0.as_ptr()
    }

    /// Gives the reference to the caller (for returning a new reference to C).
    #[inline]
    pub fn into_raw(self) -> *mut PyObject {
        let p = self.0.as_ptr();
        std::mem::forget(self);
        p
    }

    /// The object's type.
    #[inline]
    pub fn type_ptr(&self) -> *mut PyTypeObject {
        // SAFETY: we own a reference, so the object is live.
        unsafe { type_of(self.as_ptr()) }
    }

    /// True when the object is an instance of `tp` or of a subtype.
    pub fn is_instance(&self, tp: *mut PyTypeObject) -> bool {
        typeobj::is_subtype(self.type_ptr(), tp)
    }

    /// `Py_None`, as an owned reference.
    pub fn none() -> Obj {
        // SAFETY: None is a static, always-live object.
        unsafe { Obj::from_borrowed(singletons::none()) }
    }
}

impl Clone for Obj {
    fn clone(&self) -> Obj {
        // SAFETY: self keeps the object live.
        unsafe { Obj::from_borrowed(self.as_ptr()) }
    }
}

impl Drop for Obj {
    fn drop(&mut self) {
        // SAFETY: we own one reference.
        unsafe { decref(self.as_ptr()) }
    }
}

impl PartialEq for Obj {
    /// Identity, as Python's `is`.
    fn eq(&self, other: &Obj) -> bool {
        self.as_ptr() == other.as_ptr()
    }
}

impl std::fmt::Debug for Obj {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // SAFETY: self keeps the object live.
        match unsafe { attr::repr(self.as_ptr()) } {
            Ok(s) => f.write_str(&s),
            Err(_) => write!(f, "<object at {:p}>", self.as_ptr()),
        }
    }
}

/// Casts a pointer to a type's own struct, for objects already checked to be of that type.
///
/// # Safety
/// `op` is a live instance of a type whose layout starts with `T`.
#[inline]
pub unsafe fn cast<'a, T>(op: *mut PyObject) -> &'a T {
    // SAFETY: per the contract.
    unsafe { &*(op as *const T) }
}

/// Mutable variant of [`cast`].
///
/// # Safety
/// As [`cast`], and no other reference to the object's Rust fields is live.
#[inline]
pub unsafe fn cast_mut<'a, T>(op: *mut PyObject) -> &'a mut T {
    // SAFETY: per the contract.
    unsafe { &mut *(op as *mut T) }
}
