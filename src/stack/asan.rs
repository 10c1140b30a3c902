//! AddressSanitizer fiber annotations (SPEC §12).
//!
//! When the host program is built with ASan, every stack switch must be announced, or ASan
//! mistakes the jump for a huge stack frame and reports false errors (and warns on `longjmp`
//! and no-return calls). The library itself is not instrumented; it finds ASan's
//! `__sanitizer_start_switch_fiber` / `__sanitizer_finish_switch_fiber` in the process with
//! `dlsym` once, and does nothing when they are absent.

use std::ffi::c_void;
use std::ptr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;

type StartFn = unsafe extern "C" fn(*mut *mut c_void, *const c_void, usize);
type FinishFn = unsafe extern "C" fn(*mut c_void, *mut *const c_void, *mut usize);

struct Fns {
    start: StartFn,
    finish: FinishFn,
}

static FNS: OnceLock<Option<Fns>> = OnceLock::new();

/// Set once the lookup found no ASan. Every switch asks, so the common answer costs one load.
static ABSENT: AtomicBool = AtomicBool::new(false);

#[inline(always)]
fn fns() -> Option<&'static Fns> {
    if ABSENT.load(Ordering::Relaxed) {
        return None;
    }
    lookup()
}

#[cold]
#[inline(never)]
fn lookup() -> Option<&'static Fns> {
    let found = FNS
        .get_or_init(|| {
            // SAFETY: dlsym with RTLD_DEFAULT and NUL-terminated names; the symbols, when
            // present, have exactly these signatures (sanitizer/common_interface_defs.h).
            unsafe {
                let s = libc::dlsym(
                    libc::RTLD_DEFAULT,
                    c"__sanitizer_start_switch_fiber".as_ptr(),
                );
                let f = libc::dlsym(
                    libc::RTLD_DEFAULT,
                    c"__sanitizer_finish_switch_fiber".as_ptr(),
                );
                (!s.is_null() && !f.is_null()).then(|| Fns {
                    start: std::mem::transmute::<*mut c_void, StartFn>(s),
                    finish: std::mem::transmute::<*mut c_void, FinishFn>(f),
                })
            }
        })
        .as_ref();
    ABSENT.store(found.is_none(), Ordering::Relaxed);
    found
}

/// The bounds `(bottom, size)` of the calling thread's own stack (where main tasklets run).
fn thread_stack() -> (*const c_void, usize) {
    // SAFETY: pthread_getattr_np on the calling thread, attr destroyed after use.
    unsafe {
        let mut attr = std::mem::MaybeUninit::<libc::pthread_attr_t>::zeroed();
        if libc::pthread_getattr_np(libc::pthread_self(), attr.as_mut_ptr()) != 0 {
            return (ptr::null(), 0);
        }
        let (mut addr, mut size) = (ptr::null_mut(), 0usize);
        libc::pthread_attr_getstack(attr.as_ptr(), &mut addr, &mut size);
        libc::pthread_attr_destroy(attr.as_mut_ptr());
        (addr as *const c_void, size)
    }
}

fn bounds(target: Option<&super::Stack>) -> (*const c_void, usize) {
    match target {
        Some(s) => (s.bottom() as *const c_void, s.size()),
        None => thread_stack(),
    }
}

/// Announces a switch to `target` (`None`: the thread's own stack). Returns the token to pass
/// to [`finish`] once we run again.
#[inline]
pub fn start(target: Option<&super::Stack>) -> *mut c_void {
    let mut fake = ptr::null_mut();
    if let Some(f) = fns() {
        let (b, s) = bounds(target);
        // SAFETY: ASan's documented protocol.
        unsafe { (f.start)(&mut fake, b, s) };
    }
    fake
}

/// Announces that a dying context switches to `target` for good.
#[inline]
pub fn start_final(target: Option<&super::Stack>) {
    if let Some(f) = fns() {
        let (b, s) = bounds(target);
        // SAFETY: ASan's documented protocol: a NULL save slot means "this stack is gone".
        unsafe { (f.start)(ptr::null_mut(), b, s) };
    }
}

/// Completes a switch on the side that now runs (`token` from [`start`], or NULL at the first
/// entry of a context).
#[inline]
pub fn finish(token: *mut c_void) {
    if let Some(f) = fns() {
        let (mut b, mut s) = (ptr::null(), 0usize);
        // SAFETY: ASan's documented protocol.
        unsafe { (f.finish)(token, &mut b, &mut s) };
    }
}
