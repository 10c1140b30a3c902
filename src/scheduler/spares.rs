//! Spare tasklet memory: the blocks of freed plain tasklets, kept per thread for the next
//! `PyTasklet_New` (a program that spawns and finishes many short tasklets then stops paying
//! `malloc`/`free` for each; glibc's per-thread cache holds only a handful of blocks).
//!
//! Invariants:
//! - Only blocks of exact `PyTasklet_Type` instances enter the list, so every block has that
//!   type's basicsize. Subtype instances are always freed.
//! - The list is bounded ([`MAX_SPARES`]) and freed with the thread's state. A tasklet freed
//!   while its thread's state is gone (or on a thread without one) is simply freed.
//! - Nothing is recycled under valgrind or AddressSanitizer, so that they still report every
//!   use of a freed tasklet.

use std::cell::Cell;
use std::ptr;

use crate::object::PyObject;

/// At most this many blocks are kept per thread (about 60 KiB).
pub(crate) const MAX_SPARES: usize = 256;

/// A free block: its first word links to the next one.
struct Link {
    next: *mut Link,
}

/// A thread's spare tasklet blocks.
pub struct Spares {
    head: Cell<*mut Link>,
    count: Cell<usize>,
}

impl Default for Spares {
    fn default() -> Spares {
        Spares {
            head: Cell::new(ptr::null_mut()),
            count: Cell::new(0),
        }
    }
}

impl Spares {
    /// A spare block, or NULL when there is none.
    pub fn take(&self) -> *mut u8 {
        let p = self.head.get();
        if !p.is_null() {
            // SAFETY: blocks in the list are unused allocations that start with a Link.
            self.head.set(unsafe { (*p).next });
            self.count.set(self.count.get() - 1);
        }
        p.cast()
    }

    /// Keeps `block` (an unused `malloc` block of a plain tasklet's size) unless the list is
    /// full. Returns false when the caller must free it.
    fn put(&self, block: *mut u8) -> bool {
        if self.count.get() >= MAX_SPARES {
            return false;
        }
        let link = block as *mut Link;
        // SAFETY: the block is unused and at least one word long.
        unsafe {
            link.write(Link {
                next: self.head.get(),
            })
        };
        self.head.set(link);
        self.count.set(self.count.get() + 1);
        true
    }

    /// How many blocks are kept.
    #[cfg(test)]
    pub fn count(&self) -> usize {
        self.count.get()
    }
}

impl Drop for Spares {
    fn drop(&mut self) {
        loop {
            let p = self.take();
            if p.is_null() {
                break;
            }
            // SAFETY: the block came from malloc and is unused.
            unsafe { libc::free(p.cast()) };
        }
    }
}

/// `PyTasklet_Type`'s `recycle`: keeps the memory of a freed plain tasklet on the calling
/// thread's spare list. Returns false when the caller must free it.
///
/// # Safety
/// `op` is an exact `PyTasklet_Type` instance whose fields were dropped.
pub(crate) unsafe fn recycle_tasklet(op: *mut PyObject) -> bool {
    if crate::stack::memory_checked() {
        return false;
    }
    match crate::thread_state::peek() {
        Some(ts) => ts.sched.spares.put(op.cast()),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block() -> *mut u8 {
        // SAFETY: plain allocation, freed by the list.
        unsafe { libc::malloc(64).cast() }
    }

    #[test]
    fn take_returns_the_last_block_put() {
        let s = Spares::default();
        assert!(s.take().is_null());
        let (a, b) = (block(), block());
        assert!(s.put(a));
        assert!(s.put(b));
        assert_eq!(s.count(), 2);
        assert_eq!(s.take(), b);
        assert_eq!(s.take(), a);
        assert!(s.take().is_null());
        // SAFETY: both blocks are out of the list.
        unsafe {
            libc::free(a.cast());
            libc::free(b.cast());
        }
    }

    #[test]
    fn the_list_is_bounded() {
        let s = Spares::default();
        for _ in 0..MAX_SPARES {
            assert!(s.put(block()));
        }
        let extra = block();
        assert!(!s.put(extra));
        assert_eq!(s.count(), MAX_SPARES);
        // SAFETY: refused, so still ours.
        unsafe { libc::free(extra.cast()) };
        // The rest is freed by Drop.
    }
}
