//! The opt-in stack-overflow reporter (SPEC §12).
//!
//! A tasklet that overflows its stack hits the guard page below it and gets SIGSEGV, which by
//! default kills the process with no hint of why. After [`install`], a SIGSEGV handler running
//! on an alternate signal stack checks whether the faulting address is in the guard page of
//! the running tasklet's stack; if so it prints which tasklet overflowed and aborts. Any other
//! fault is passed to the handler that was installed before (or the default action).
//!
//! Each thread needs its own alternate stack: [`install`] sets one up for the calling thread,
//! and every thread whose library state is created afterwards gets one too.
//!
//! Invariant: the handler only reads memory (the thread's state through its thread-local
//! pointer) and calls async-signal-safe functions (`write`, `sigaction`, `abort`).

use std::mem::MaybeUninit;
use std::ptr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

const ALTSTACK_SIZE: usize = 64 * 1024;

static INSTALLED: AtomicBool = AtomicBool::new(false);
/// The SIGSEGV action that was in place before ours.
static PREVIOUS: Mutex<Option<libc::sigaction>> = Mutex::new(None);

/// Installs the reporter (process-wide) and an alternate signal stack for the calling
/// thread. Returns an error message when the kernel refuses.
pub fn install() -> Result<(), String> {
    install_altstack()?;
    if INSTALLED.swap(true, Ordering::AcqRel) {
        return Ok(());
    }
    // SAFETY: a zeroed sigaction is a valid starting point; we fill in handler and flags.
    unsafe {
        let mut act: libc::sigaction = MaybeUninit::zeroed().assume_init();
        act.sa_sigaction = handler as *const () as usize;
        act.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK;
        libc::sigemptyset(&mut act.sa_mask);
        let mut old: libc::sigaction = MaybeUninit::zeroed().assume_init();
        if libc::sigaction(libc::SIGSEGV, &act, &mut old) != 0 {
            INSTALLED.store(false, Ordering::Release);
            return Err("sigaction(SIGSEGV) failed".into());
        }
        *PREVIOUS.lock().unwrap_or_else(|p| p.into_inner()) = Some(old);
    }
    Ok(())
}

/// Gives a new thread its alternate signal stack when the reporter is installed.
pub fn on_thread_start() {
    if INSTALLED.load(Ordering::Acquire) {
        let _ = install_altstack();
    }
}

fn install_altstack() -> Result<(), String> {
    // SAFETY: querying the current alternate stack.
    unsafe {
        let mut cur: libc::stack_t = MaybeUninit::zeroed().assume_init();
        if libc::sigaltstack(ptr::null(), &mut cur) == 0 && cur.ss_flags & libc::SS_DISABLE == 0 {
            return Ok(()); // the thread has one already (ours or the host's)
        }
        let mem = libc::mmap(
            ptr::null_mut(),
            ALTSTACK_SIZE,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        );
        if mem == libc::MAP_FAILED {
            return Err("cannot map an alternate signal stack".into());
        }
        let st = libc::stack_t {
            ss_sp: mem,
            ss_flags: 0,
            ss_size: ALTSTACK_SIZE,
        };
        if libc::sigaltstack(&st, ptr::null_mut()) != 0 {
            libc::munmap(mem, ALTSTACK_SIZE);
            return Err("sigaltstack failed".into());
        }
    }
    Ok(())
}

fn write_all(parts: &[&[u8]]) {
    for p in parts {
        // SAFETY: write(2) on valid buffers is async-signal-safe.
        unsafe { libc::write(2, p.as_ptr().cast(), p.len()) };
    }
}

fn hex(mut v: usize, buf: &mut [u8; 18]) -> &[u8] {
    buf[0] = b'0';
    buf[1] = b'x';
    let mut digits = [0u8; 16];
    let mut n = 0;
    loop {
        digits[n] = b"0123456789abcdef"[v & 15];
        n += 1;
        v >>= 4;
        if v == 0 {
            break;
        }
    }
    for i in 0..n {
        buf[2 + i] = digits[n - 1 - i];
    }
    &buf[..2 + n]
}

extern "C" fn handler(sig: libc::c_int, info: *mut libc::siginfo_t, ctx: *mut libc::c_void) {
    // SAFETY: the kernel passes a valid siginfo for SA_SIGINFO handlers.
    let addr = unsafe { (*info).si_addr() } as usize;
    if let Some((tasklet, lo, hi)) = crate::scheduler::running_guard() {
        if addr >= lo && addr < hi {
            let (mut b1, mut b2) = ([0u8; 18], [0u8; 18]);
            write_all(&[
                b"libstackless: fatal: stack overflow in tasklet ",
                hex(tasklet, &mut b1),
                b" (fault at ",
                hex(addr, &mut b2),
                b", in the guard page below its stack; give it a larger stack with PyTasklet_SetStackSize or PyStackless_SetStackSize)\n",
            ]);
            // SAFETY: abort is async-signal-safe.
            unsafe { libc::abort() };
        }
    }
    // Not ours: hand the fault to the previous handler.
    let prev = PREVIOUS.try_lock().ok().and_then(|g| *g);
    // SAFETY: restoring a previously valid action; the fault repeats and reaches it, or we
    // call a SA_SIGINFO handler directly.
    unsafe {
        match prev {
            Some(p) if p.sa_sigaction != libc::SIG_DFL && p.sa_sigaction != libc::SIG_IGN => {
                if p.sa_flags & libc::SA_SIGINFO != 0 {
                    let f: extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void) =
                        std::mem::transmute(p.sa_sigaction);
                    f(sig, info, ctx);
                } else {
                    let f: extern "C" fn(libc::c_int) = std::mem::transmute(p.sa_sigaction);
                    f(sig);
                }
            }
            _ => {
                let mut dfl: libc::sigaction = MaybeUninit::zeroed().assume_init();
                dfl.sa_sigaction = libc::SIG_DFL;
                libc::sigaction(libc::SIGSEGV, &dfl, ptr::null_mut());
            }
        }
    }
}
