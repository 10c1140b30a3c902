//! Thread teardown: what happens to a thread's tasklets when the thread ends (or the process
//! exits through the main thread).
//!
//! Tasklets with C state are killed (`TaskletExit` is raised in them, so their cleanup code
//! runs), the run queue is emptied, main is released and the stack pool is unmapped. When the
//! thread is not on its own stack at that point (`exit()` called inside a tasklet), nothing
//! can be freed safely: the state is left to the ending process.

use super::Scheduler;
use crate::object::Obj;
use crate::tasklet::{tref, TaskletPtr};
use crate::thread_state::ThreadState;

impl Scheduler {
    /// Tears the scheduler down. Returns true when the state must be leaked instead of freed
    /// (the thread is running on a tasklet's stack, not its own).
    pub(crate) fn teardown(&self, ts: &ThreadState) -> bool {
        let main = self.main.get();
        if main.is_null() {
            return false;
        }
        if self.current.get() != main {
            return true;
        }
        // Leave any scheduler run: tasklets killed below must not wake a watchdog.
        self.watchdogs.borrow_mut().clear();
        self.switch_trap.set(0);
        let saved = ts.curexc.take();
        let mut attempts = 0usize;
        loop {
            let t = self.cstate_head.get();
            if t.is_null() {
                break;
            }
            attempts += 1;
            // SAFETY: tasklets in the C-state list are alive (the list is unlinked at death).
            let tt = unsafe { tref(t) };
            if !tt.has_cstate() {
                // Suspended softly now: it simply stops, like a tasklet that never had C state.
                // SAFETY: t is in the list.
                unsafe { self.cstate_remove(t) };
                attempts = 0;
                continue;
            }
            // SAFETY: as above.
            let keep = unsafe { Obj::from_borrowed(t.cast()) };
            if let Err(e) = super::ops::kill(ts, t, false) {
                e.restore();
                crate::capi::write_unraisable_text("Error killing a tasklet at thread exit");
            }
            if self.cstate_head.get() == t && attempts > 3 {
                // It refuses to die (its cleanup blocks again): abandon it and its stack.
                // SAFETY: t is in the list.
                unsafe { self.cstate_remove(t) };
                std::mem::forget(keep);
                continue;
            }
            drop(keep);
            if self.cstate_head.get() != t {
                attempts = 0;
            }
        }
        drop(ts.curexc.replace(saved));
        // Empty the run queue (what is left never ran: no C state) and release main.
        loop {
            let cur = self.current.get();
            if cur.is_null() {
                break;
            }
            // SAFETY: cur is in the queue.
            let r = unsafe { self.unlink(cur) };
            drop(r);
        }
        super::switch::after_switch(ts);
        let main: TaskletPtr = self.main.replace(std::ptr::null_mut());
        // SAFETY: the scheduler owned a reference to main.
        unsafe {
            tref(main).started.set(false);
            drop(Obj::from_owned(main.cast()));
        }
        // Idle runners will never be resumed: their stacks go.
        drop(std::mem::take(&mut *self.idle_runners.borrow_mut()));
        drop(self.graveyard.take());
        self.pool.borrow_mut().clear();
        drop(ts.curexc.take());
        false
    }
}
