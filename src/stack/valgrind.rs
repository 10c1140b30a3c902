//! Valgrind client requests for stack registration, issued with the documented magic
//! instruction sequence so no header or build option is needed. Outside valgrind the
//! sequence is a few no-op rotates and returns the default value.

const STACK_REGISTER: usize = 0x1501;
const STACK_DEREGISTER: usize = 0x1502;

#[cfg(target_arch = "x86_64")]
fn request(args: &[usize; 6], default: usize) -> usize {
    let mut result = default;
    // SAFETY: the magic preamble rotates rdi by 128 bits in total (no change) and
    // `xchg rbx, rbx` is a no-op; valgrind recognises the sequence and reads the argument
    // block at rax. Natively nothing observable happens.
    unsafe {
        core::arch::asm!(
            "rol rdi, 3",
            "rol rdi, 13",
            "rol rdi, 61",
            "rol rdi, 51",
            "xchg rbx, rbx",
            in("rax") args.as_ptr(),
            inout("rdx") result,
            inout("rdi") 0usize => _,
            options(nostack),
        );
    }
    result
}

#[cfg(not(target_arch = "x86_64"))]
fn request(_args: &[usize; 6], default: usize) -> usize {
    default
}

/// Tells valgrind that `[bottom, top)` is a stack; returns its id (0 outside valgrind).
pub fn stack_register(bottom: *mut u8, top: *mut u8) -> usize {
    request(&[STACK_REGISTER, bottom as usize, top as usize, 0, 0, 0], 0)
}

/// Forgets a stack registered with [`stack_register`].
pub fn stack_deregister(id: usize) {
    if id != 0 {
        request(&[STACK_DEREGISTER, id, 0, 0, 0, 0], 0);
    }
}
