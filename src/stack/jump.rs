//! The raw context switch: `context`'s `jump_fcontext`, entered so that the CPU's return
//! predictor stays in step.
//!
//! `jump_fcontext` saves the callee-saved registers on the running stack, switches stack
//! pointers, and leaves with `pop` + `jmp *reg` instead of `ret`. Reached with `call` (as
//! `Context::resume` does), every switch therefore leaves one entry on the return stack
//! buffer that no `ret` consumes: from then on each `ret` on the resumed side is predicted
//! one frame off and mispredicts, about 15-20 cycles each, three or four of them per switch
//! through the library's frames. Entered with `push <return address>; jmp`, as here, the
//! return stack buffer is left untouched: the resumed side's `ret`s then consume the entries
//! pushed by the calls that led to the switch, which are the right ones whenever both sides
//! switched from the same call chain (every yield loop, every channel ping-pong).
//!
//! The block behaves exactly like a call of `jump_fcontext(to, data)`: arguments in rdi/rsi,
//! the `Transfer` back in rax/rdx, caller-saved registers clobbered, callee-saved ones
//! preserved (saved and restored by `jump_fcontext` itself). Other targets call it normally.

use super::{Context, Transfer};

/// Resumes `target`, passing it `data`; returns what the context that resumes us later
/// passes back (as [`Context::resume`]).
///
/// # Safety
/// As [`Context::resume`]: `target` is a suspended context on a live stack.
#[inline(always)]
pub(super) unsafe fn resume(target: Context, data: usize) -> Transfer {
    #[cfg(all(target_arch = "x86_64", unix))]
    {
        use std::arch::asm;
        use std::ffi::c_void;

        extern "C" {
            fn jump_fcontext();
        }
        let to: *const c_void = unsafe { std::mem::transmute::<Context, *const c_void>(target) };
        let from: *const c_void;
        let back: usize;
        // SAFETY: per the contract; see the module docs for the calling convention. Without
        // `nostack` the stack pointer is 16-byte aligned at the block's start, so after the
        // push it is aligned as at a function's entry.
        unsafe {
            asm!(
                "lea rax, [rip + 2f]",
                "push rax",
                "jmp {jump}",
                "2:",
                jump = sym jump_fcontext,
                inout("rdi") to => _,
                inout("rsi") data => _,
                out("rax") from,
                out("rdx") back,
                clobber_abi("C"),
            );
            Transfer::new(std::mem::transmute::<*const c_void, Context>(from), back)
        }
    }
    #[cfg(not(all(target_arch = "x86_64", unix)))]
    // SAFETY: per the contract.
    unsafe {
        target.resume(data)
    }
}
