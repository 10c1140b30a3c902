//! `PyErr`: an exception in flight inside Rust code, and the bridge to the thread's error
//! indicator.
//!
//! Core functions return `PyResult<T>`; the C boundary stores an `Err` in the indicator with
//! [`PyErr::restore`] and returns the function's failure value.
//!
//! Invariant: a `PyErr` always holds a normalized exception *instance* (never a bare class or
//! a lazy (type, value) pair), so fetching and restoring preserves identity.

use crate::object::exception as exc;
use crate::object::typeobj::PyTypeObject;
use crate::object::{tuple, unicode, Obj};
use crate::thread_state;

/// An exception instance travelling through Rust code.
pub struct PyErr {
    value: Obj,
}

impl PyErr {
    /// `tp(msg)`.
    pub fn new(tp: *mut PyTypeObject, msg: impl AsRef<str>) -> PyErr {
        let args = tuple::from_vec(vec![unicode::new(msg.as_ref())]);
        PyErr::from_type_args(tp, args)
    }

    /// `tp(*args)`; `args` is a tuple.
    pub fn from_type_args(tp: *mut PyTypeObject, args: Obj) -> PyErr {
        match exc::instantiate(tp, args) {
            Ok(v) => PyErr { value: v },
            Err(e) => e,
        }
    }

    /// Wraps an exception instance (the caller checked it is one).
    pub fn from_instance(value: Obj) -> PyErr {
        // SAFETY: value is live.
        debug_assert!(unsafe { exc::is_instance(value.as_ptr()) });
        PyErr { value }
    }

    /// `TypeError(msg)`.
    pub fn type_error(msg: impl AsRef<str>) -> PyErr {
        PyErr::new(exc::type_error(), msg)
    }
    /// `ValueError(msg)`.
    pub fn value_error(msg: impl AsRef<str>) -> PyErr {
        PyErr::new(exc::value_error(), msg)
    }
    /// `RuntimeError(msg)`.
    pub fn runtime_error(msg: impl AsRef<str>) -> PyErr {
        PyErr::new(exc::runtime_error(), msg)
    }
    /// `SystemError(msg)`.
    pub fn system_error(msg: impl AsRef<str>) -> PyErr {
        PyErr::new(exc::system_error(), msg)
    }
    /// `AttributeError(msg)`.
    pub fn attribute_error(msg: impl AsRef<str>) -> PyErr {
        PyErr::new(exc::attribute_error(), msg)
    }
    /// `IndexError(msg)`.
    pub fn index_error(msg: impl AsRef<str>) -> PyErr {
        PyErr::new(exc::index_error(), msg)
    }
    /// `OverflowError(msg)`.
    pub fn overflow_error(msg: impl AsRef<str>) -> PyErr {
        PyErr::new(exc::overflow_error(), msg)
    }
    /// `MemoryError()`.
    pub fn no_memory() -> PyErr {
        PyErr::from_type_args(exc::memory_error(), tuple::empty())
    }

    /// The exception instance.
    pub fn value(&self) -> &Obj {
        &self.value
    }

    /// Gives up the instance.
    pub fn into_value(self) -> Obj {
        self.value
    }

    /// The exception's class.
    pub fn type_ptr(&self) -> *mut PyTypeObject {
        self.value.type_ptr()
    }

    /// True when the exception is an instance of `tp` (or a subclass).
    pub fn matches(&self, tp: *mut PyTypeObject) -> bool {
        self.value.is_instance(tp)
    }

    /// Makes this the thread's pending exception (replacing any other).
    pub fn restore(self) {
        drop(thread_state::swap_curexc(Some(self.value)));
    }

    /// Takes the thread's pending exception, clearing the indicator.
    pub fn fetch() -> Option<PyErr> {
        thread_state::swap_curexc(None).map(|value| PyErr { value })
    }

    /// True when an exception is pending on this thread.
    pub fn occurred() -> bool {
        !thread_state::peek_curexc().is_null()
    }

    /// The text `PyErr_Print` writes for this exception: `Name: message` (or just `Name` when
    /// the message is empty), preceded by its chain as CPython prints it: the `__cause__`
    /// ("direct cause") when there is one, else the `__context__` ("during handling").
    /// Without tracebacks there is no `Traceback (most recent call last):` block. The result
    /// ends with a newline.
    pub fn report_text(&self) -> String {
        const CAUSE: &str =
            "\nThe above exception was the direct cause of the following exception:\n\n";
        const CONTEXT: &str =
            "\nDuring handling of the above exception, another exception occurred:\n\n";
        // Walk from this exception down its chain (bounded, in case of a cycle), then print
        // the oldest first.
        let mut parts: Vec<(String, &str)> = Vec::new();
        let mut cur = Some(self.value.clone());
        while let Some(c) = cur.take() {
            if parts.len() > 32 {
                break;
            }
            let name = exc::display_name(c.type_ptr());
            // SAFETY: c is a live exception.
            let line = match unsafe { crate::object::attr::str(c.as_ptr()) } {
                Ok(s) if s.is_empty() => format!("{name}\n"),
                Ok(s) => format!("{name}: {s}\n"),
                Err(_) => format!("{name}: <exception str() failed>\n"),
            };
            // SAFETY: c is an exception instance; the fields are only read.
            let f = unsafe { exc::fields(c.as_ptr()) };
            let (next, sep) = match (&f.cause, &f.context) {
                (Some(cause), _) => (Some(cause.clone()), CAUSE),
                (None, Some(ctx)) => (Some(ctx.clone()), CONTEXT),
                (None, None) => (None, ""),
            };
            parts.push((line, sep));
            cur = next;
        }
        let mut out = String::new();
        // Each entry's separator introduces it after the (older) exception it chains to.
        for (line, sep) in parts.iter().rev() {
            out.push_str(sep);
            out.push_str(line);
        }
        out
    }

    /// Reports an exception that cannot be propagated (CPython's unraisable hook): writes
    /// `Exception ignored in: <repr(obj)>` (unless `obj` is NULL or `None`) and the exception to
    /// stderr.
    ///
    /// # Safety
    /// `obj` is NULL or a live object.
    pub unsafe fn write_unraisable(self, obj: *mut crate::object::PyObject) {
        let mut text = String::new();
        if !obj.is_null() && obj != crate::object::singletons::none() {
            // SAFETY: obj is live.
            let r = unsafe { crate::object::attr::repr(obj) }
                .unwrap_or_else(|_| "<object repr() failed>".into());
            text.push_str(&format!("Exception ignored in: {r}\n"));
        }
        text.push_str(&self.report_text());
        write_stderr(&text);
    }

    /// Takes the pending exception that a user callback reported with a failure value, or
    /// makes a SystemError saying the callback broke the protocol.
    pub fn take_or_system_error(what: &str) -> PyErr {
        PyErr::fetch().unwrap_or_else(|| PyErr::system_error(what))
    }
}

/// Writes text to stderr in one piece (the library prints only when asked to).
pub fn write_stderr(text: &str) {
    use std::io::Write;
    let mut err = std::io::stderr().lock();
    let _ = err.write_all(text.as_bytes());
    let _ = err.flush();
}

impl std::fmt::Debug for PyErr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PyErr({:?})", self.value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::object::exception as exc;

    #[test]
    fn report_text_prints_the_chain_oldest_first() {
        let first = PyErr::new(exc::value_error(), "first");
        let second = PyErr::new(exc::type_error(), "second");
        // SAFETY: both are exception instances.
        unsafe { exc::fields(second.value().as_ptr()).context = Some(first.into_value()) };
        assert_eq!(
            second.report_text(),
            "ValueError: first\n\nDuring handling of the above exception, another exception \
             occurred:\n\nTypeError: second\n"
        );
        let cause = PyErr::new(exc::key_error(), "c");
        // SAFETY: an exception instance.
        unsafe { exc::fields(second.value().as_ptr()).cause = Some(cause.into_value()) };
        assert_eq!(
            second.report_text(),
            "KeyError: 'c'\n\nThe above exception was the direct cause of the following \
             exception:\n\nTypeError: second\n"
        );
        let bare = PyErr::no_memory();
        assert_eq!(bare.report_text(), "MemoryError\n");
    }

    #[test]
    fn a_context_cycle_does_not_hang() {
        let a = PyErr::new(exc::value_error(), "a");
        let b = PyErr::new(exc::value_error(), "b");
        // SAFETY: exception instances; the cycle is broken below.
        unsafe {
            exc::fields(a.value().as_ptr()).context = Some(b.value().clone());
            exc::fields(b.value().as_ptr()).context = Some(a.value().clone());
        }
        assert!(a.report_text().lines().count() > 10);
        // SAFETY: as above.
        unsafe { exc::fields(a.value().as_ptr()).context = None };
    }

    #[test]
    fn restore_and_fetch_keep_identity() {
        let e = PyErr::new(exc::runtime_error(), "x");
        let p = e.value().as_ptr();
        e.restore();
        assert!(PyErr::occurred());
        let back = PyErr::fetch().unwrap();
        assert_eq!(back.value().as_ptr(), p);
        assert!(!PyErr::occurred());
    }
}
