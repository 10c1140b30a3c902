//! Machine stacks and the context switch: the only user of the `context` crate.
//!
//! A [`Stack`] is an mmap'd region with a guard page below the usable part:
//!
//! ```text
//!  low addresses                                             high addresses
//!  | guard page (PROT_NONE) | usable stack (grows down) <------ | top
//!  ^ mapping start           ^ bottom (canary word here when unguarded)
//! ```
//!
//! Every guard page splits a kernel mapping, and Linux allows about 65k mappings per process
//! (`vm.max_map_count`), so only some 30k guarded stacks fit, and the host program needs
//! mappings too. So once a quarter of that budget is used by guarded stacks (or the kernel
//! refuses one), stacks come from *arenas* instead: one mapping carved into 64 stacks without
//! guard pages, each with a canary word at its bottom that is checked at every switch away from
//! it ([`Stack::check_canary`]). A program with 100k blocked tasklets still works. The canary
//! is whatever the bottom word holds when the stack is handed out (zero for a fresh one): it
//! is only read, never written, so the bottom page stays untouched and costs no memory.
//!
//! Stacks are registered with valgrind (client requests, free outside valgrind) so memcheck
//! understands the switches, and are recycled through a per-thread [`StackPool`].
//!
//! Invariants:
//! - A `Stack` is owned by exactly one tasklet (or the pool) and is never freed while a
//!   context on it may still be resumed.
//! - A context is never resumed after its tasklet died (the dying side resumes its successor
//!   with `data == 0`, and nobody keeps its context).
//! - No Rust panic ever unwinds across a switch: every entry function catches at its root.

mod asan;
mod jump;
pub mod overflow;
mod valgrind;

use std::ptr;
use std::sync::atomic::{AtomicUsize, Ordering};

pub use context::{Context, Transfer};

/// The default usable size of a tasklet stack (SPEC §12: 64 KiB).
pub const DEFAULT_STACK_SIZE: usize = 64 * 1024;
/// The smallest stack the library accepts: `printf("%f")` alone needs more than 8 KiB.
pub const MIN_STACK_SIZE: usize = 16 * 1024;
/// How many free stacks a thread keeps for reuse; more are unmapped.
const POOL_LIMIT: usize = 256;

static DEFAULT_SIZE: AtomicUsize = AtomicUsize::new(DEFAULT_STACK_SIZE);

/// The usable size new tasklets get unless they ask for another.
pub fn default_size() -> usize {
    DEFAULT_SIZE.load(Ordering::Relaxed)
}

/// Sets the default usable size (rounded up to whole pages, at least [`MIN_STACK_SIZE`]) and
/// returns the previous one.
pub fn set_default_size(size: usize) -> usize {
    DEFAULT_SIZE.swap(round_size(size), Ordering::Relaxed)
}

fn page_size() -> usize {
    static PAGE: AtomicUsize = AtomicUsize::new(0);
    let p = PAGE.load(Ordering::Relaxed);
    if p != 0 {
        return p;
    }
    // SAFETY: sysconf has no preconditions.
    let p = unsafe { libc::sysconf(libc::_SC_PAGESIZE) }.max(4096) as usize;
    PAGE.store(p, Ordering::Relaxed);
    p
}

/// The largest stack the library accepts (a larger request is clamped to it).
pub const MAX_STACK_SIZE: usize = 1 << 30;

/// Rounds a requested size to whole pages, between [`MIN_STACK_SIZE`] and [`MAX_STACK_SIZE`].
pub fn round_size(size: usize) -> usize {
    let page = page_size();
    let size = size.clamp(MIN_STACK_SIZE, MAX_STACK_SIZE);
    size.div_ceil(page) * page
}

/// An mmap'd machine stack.
pub struct Stack {
    /// Start of the mapping (the guard page when guarded), or of the arena slot.
    map: *mut u8,
    /// Length of the mapping or slot.
    map_len: usize,
    /// Usable bytes (above the guard page).
    usable: usize,
    guarded: bool,
    /// The bottom word's value when the stack was handed out (unguarded stacks only).
    canary: u64,
    /// Carved from an arena: returned to the arena's free list, never unmapped.
    from_arena: bool,
    valgrind_id: usize,
}

/// Live guarded stacks in the process (each costs two kernel mappings).
static GUARDED_LIVE: AtomicUsize = AtomicUsize::new(0);
const ARENA_STACKS: usize = 64;

/// How many guarded stacks the process may have: a quarter of the kernel's mapping limit.
fn guard_budget() -> usize {
    static BUDGET: AtomicUsize = AtomicUsize::new(0);
    let b = BUDGET.load(Ordering::Relaxed);
    if b != 0 {
        return b;
    }
    let limit = std::fs::read_to_string("/proc/sys/vm/max_map_count")
        .ok()
        .and_then(|s| s.trim().parse::<usize>().ok())
        .unwrap_or(65530);
    let b = (limit / 4).max(64);
    BUDGET.store(b, Ordering::Relaxed);
    b
}

/// Free arena slots by usable size (slot start addresses). Arena memory is never unmapped.
static ARENA_FREE: std::sync::Mutex<Vec<(usize, Vec<usize>)>> = std::sync::Mutex::new(Vec::new());

/// A fresh private read-write mapping of `len` bytes (memory is committed only when touched).
fn map_anonymous(len: usize) -> Option<*mut libc::c_void> {
    // SAFETY: an anonymous private mapping; the result is checked.
    let map = unsafe {
        libc::mmap(
            ptr::null_mut(),
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
            -1,
            0,
        )
    };
    (map != libc::MAP_FAILED).then_some(map)
}

fn arena_take(usable: usize) -> Option<*mut u8> {
    let mut free = ARENA_FREE.lock().unwrap_or_else(|p| p.into_inner());
    let idx = match free.iter().position(|(sz, _)| *sz == usable) {
        Some(i) => i,
        None => {
            free.push((usable, Vec::new()));
            free.len() - 1
        }
    };
    if let Some(slot) = free[idx].1.pop() {
        return Some(slot as *mut u8);
    }
    let map = map_anonymous(usable * ARENA_STACKS)?;
    let base = map as usize;
    free[idx]
        .1
        .extend((1..ARENA_STACKS).map(|i| base + i * usable));
    Some(map as *mut u8)
}

fn arena_give(slot: *mut u8, usable: usize) {
    // Give the memory back to the kernel but keep the address range.
    // SAFETY: the slot belongs to an arena mapping and nothing runs on it.
    unsafe { libc::madvise(slot.cast(), usable, libc::MADV_DONTNEED) };
    let mut free = ARENA_FREE.lock().unwrap_or_else(|p| p.into_inner());
    if let Some((_, v)) = free.iter_mut().find(|(sz, _)| *sz == usable) {
        v.push(slot as usize);
    }
}

impl Stack {
    /// Maps a new stack with `usable` bytes (already rounded): guarded while the guard budget
    /// lasts, else from an arena. Returns `None` when the kernel has no memory for it.
    fn map(usable: usize) -> Option<Stack> {
        if GUARDED_LIVE.load(Ordering::Relaxed) < guard_budget() {
            if let Some(s) = Stack::map_guarded(usable) {
                return Some(s);
            }
        }
        let slot = arena_take(usable)?;
        let mut s = Stack {
            map: slot,
            map_len: usable,
            usable,
            guarded: false,
            canary: 0,
            from_arena: true,
            valgrind_id: 0,
        };
        s.valgrind_id = valgrind::stack_register(s.bottom(), s.top());
        s.remember_canary();
        Some(s)
    }

    fn map_guarded(usable: usize) -> Option<Stack> {
        let page = page_size();
        let len = usable + page;
        let map = map_anonymous(len)?;
        // SAFETY: the first page belongs to the mapping we just made.
        if unsafe { libc::mprotect(map, page, libc::PROT_NONE) } != 0 {
            // SAFETY: our own fresh mapping.
            unsafe { libc::munmap(map, len) };
            return None;
        }
        GUARDED_LIVE.fetch_add(1, Ordering::Relaxed);
        let mut s = Stack {
            map: map as *mut u8,
            map_len: len,
            usable,
            guarded: true,
            canary: 0,
            from_arena: false,
            valgrind_id: 0,
        };
        s.valgrind_id = valgrind::stack_register(s.bottom(), s.top());
        Some(s)
    }

    /// The lowest usable address.
    pub fn bottom(&self) -> *mut u8 {
        // SAFETY: within the mapping.
        unsafe { self.map.add(self.map_len - self.usable) }
    }

    /// One past the highest usable address (where the stack starts growing down).
    pub fn top(&self) -> *mut u8 {
        // SAFETY: one past the end of the mapping.
        unsafe { self.map.add(self.map_len) }
    }

    /// Usable size in bytes.
    pub fn size(&self) -> usize {
        self.usable
    }

    /// True when a guard page protects the bottom.
    pub fn is_guarded(&self) -> bool {
        self.guarded
    }

    /// The address range of the guard page (empty when unguarded).
    pub fn guard_range(&self) -> (usize, usize) {
        if self.guarded {
            (self.map as usize, self.bottom() as usize)
        } else {
            (0, 0)
        }
    }

    /// Remembers the bottom word as the canary. Reading an untouched page maps the shared zero
    /// page, so this costs no memory.
    fn remember_canary(&mut self) {
        // SAFETY: the bottom word is inside the usable range and 8-aligned (page aligned).
        self.canary = unsafe { (self.bottom() as *const u64).read_volatile() };
    }

    /// Aborts the process with a clear message when an unguarded stack overflowed (its canary
    /// was overwritten). Called at every switch away from a tasklet on this stack.
    #[inline]
    pub fn check_canary(&self) {
        // SAFETY: the bottom word is inside the usable range.
        if !self.guarded && unsafe { (self.bottom() as *const u64).read_volatile() } != self.canary
        {
            crate::stack::fatal("tasklet stack overflow (canary overwritten; the stack has no guard page because the kernel's mapping limit was reached)");
        }
    }

    /// A `context` view of this stack (non-owning).
    fn as_context_stack(&self) -> context::stack::Stack {
        // SAFETY: top > bottom, both inside our mapping, which outlives every context on it.
        unsafe { context::stack::Stack::new(self.top().cast(), self.bottom().cast()) }
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        valgrind::stack_deregister(self.valgrind_id);
        if self.from_arena {
            arena_give(self.map, self.usable);
            return;
        }
        GUARDED_LIVE.fetch_sub(1, Ordering::Relaxed);
        // SAFETY: we own the mapping and nothing runs on it any more.
        unsafe { libc::munmap(self.map.cast(), self.map_len) };
    }
}

/// Free stacks kept for reuse by one thread.
#[derive(Default)]
pub struct StackPool {
    /// (Boxed: stacks move between the pool, runners and tasklets as one pointer.)
    #[allow(clippy::vec_box)]
    free: Vec<Box<Stack>>,
}

impl StackPool {
    /// A stack with at least `usable` bytes (rounded), reused when possible. `None` when the
    /// kernel has no memory left.
    pub fn take(&mut self, usable: usize) -> Option<Box<Stack>> {
        let usable = round_size(usable);
        if let Some(i) = self.free.iter().rposition(|s| s.usable == usable) {
            let mut s = self.free.swap_remove(i);
            if !s.guarded {
                // A reused unguarded stack: its bottom word may have changed while it was used.
                s.remember_canary();
            }
            return Some(s);
        }
        Stack::map(usable).map(Box::new)
    }

    /// Returns a stack for reuse (or unmaps it when the pool is full).
    pub fn give(&mut self, s: Box<Stack>) {
        if self.free.len() < POOL_LIMIT {
            self.free.push(s);
        }
    }

    /// Unmaps every free stack.
    pub fn clear(&mut self) {
        self.free.clear();
    }

    /// True when no free stack is held.
    pub fn is_empty(&self) -> bool {
        self.free.is_empty()
    }
}

/// The function a new context starts in. It must never return (it ends by switching away
/// for good) and must catch every panic.
pub type EntryFn = extern "C" fn(Transfer) -> !;

/// Creates a suspended context on `stack` that will start in `entry`.
///
/// # Safety
/// `stack` must outlive the context and must not be running another context.
pub unsafe fn new_context(stack: &Stack, entry: EntryFn) -> Context {
    // SAFETY: per the contract.
    unsafe { Context::new(&stack.as_context_stack(), entry) }
}

/// Suspends the running context and resumes `target`, which runs on `target_stack` (`None`:
/// the thread's own stack). When somebody resumes us later, the context they left is stored
/// into the slot they passed as `data` (see [`on_wake`]). `save_slot` is where *our*
/// suspended context must be stored by whoever we resume.
///
/// Never call this while holding a borrow of shared state that the other side may touch.
///
/// # Safety
/// `target` is a suspended context of a live stack; `save_slot` stays valid until we are
/// resumed.
#[inline]
pub unsafe fn switch(
    save_slot: *mut Option<Context>,
    target: Context,
    target_stack: Option<&Stack>,
) {
    let token = asan::start(target_stack);
    // SAFETY: per the contract.
    let t = unsafe { jump::resume(target, save_slot as usize) };
    asan::finish(token);
    // SAFETY: the switcher passed its own save slot (or 0 when it died).
    unsafe { on_wake(t) };
}

/// Starts loading the top of a suspended context's stack into the cache: the registers and
/// frames a resume pops first ([`PREFETCH_LINES`] lines: the saved registers and the library's
/// frames above them, about 240 bytes on x86_64, plus the start of the caller's). Issued a few
/// dozen instructions before the switch, these loads overlap with the switch's bookkeeping
/// instead of stalling right after the stack-pointer swap. A hint only: prefetching never
/// faults, whatever the address.
#[inline(always)]
pub fn prefetch(target: &Context) {
    // SAFETY: a Context is one pointer (the saved stack pointer); the value is only used as
    // a prefetch address.
    let top: *const u8 = unsafe { std::mem::transmute_copy(target) };
    for line in 0..PREFETCH_LINES {
        prefetch_line(top.wrapping_add(line * 64));
    }
}

/// Starts loading the cache line at `p` (a hint: never faults, whatever the address).
#[inline(always)]
pub fn prefetch_line(p: *const u8) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: prefetch instructions never fault.
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(p.cast())
    };
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}

/// How many 64-byte lines [`prefetch`] loads (6 measured better than 4 on the 1000-tasklet
/// hard yield).
const PREFETCH_LINES: usize = 6;

/// Leaves the running context for good (its tasklet died) and resumes `target` on
/// `target_stack`. Nobody keeps the abandoned context, so its stack can be reused once we are
/// off it.
///
/// # Safety
/// `target` is a suspended context of a live stack.
pub unsafe fn exit_to(target: Context, target_stack: Option<&Stack>) -> ! {
    asan::start_final(target_stack);
    // SAFETY: per the contract.
    unsafe { jump::resume(target, 0) };
    fatal("a dead tasklet was resumed");
}

/// Files away the context of whoever just switched to us. Call first thing after every
/// resume; a fresh context calls [`on_first_wake`] instead.
///
/// # Safety
/// `t.data` is 0 or the save slot the switcher passed to [`switch`].
#[inline]
pub unsafe fn on_wake(t: Transfer) {
    if t.data != 0 {
        // SAFETY: the slot belongs to the suspended switcher and is valid until it resumes.
        unsafe { *(t.data as *mut Option<Context>) = Some(t.context) };
    }
}

/// [`on_wake`] for the first line of an entry function.
///
/// # Safety
/// As [`on_wake`].
#[inline]
pub unsafe fn on_first_wake(t: Transfer) {
    asan::finish(std::ptr::null_mut());
    // SAFETY: per the contract.
    unsafe { on_wake(t) };
}

/// Prints a message to stderr and aborts: for broken invariants that cannot be reported as
/// exceptions (STYLE rule 9).
pub fn fatal(msg: &str) -> ! {
    let text = format!("libstackless: fatal: {msg}\n");
    // SAFETY: write(2) on a valid buffer.
    unsafe { libc::write(2, text.as_ptr().cast(), text.len()) };
    std::process::abort();
}
