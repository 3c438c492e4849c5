//! Blocking for `retry`: sleep until a commit changes a TVar the transaction
//! read.
//!
//! The waiter registers an event on each TVar it read, then sets the TVar's
//! waiter flag with a CAS that requires the version it read. A committer
//! clears the flag with the swap that publishes its new version, and wakes
//! the registered events if the flag was set. The CAS and the swap act on the
//! same word, so exactly one of these holds: the waiter's CAS came first (the
//! committer sees the flag and wakes it), or the commit came first (the CAS
//! fails on the new version and the waiter does not sleep). No wake-up is
//! lost and no one spins.

use crate::platform::{Arc, Platform, WakeEvent};
use crate::tvar::{AnyTVar, TVarId};
use crate::tx::Transaction;

impl<P: Platform> Transaction<'_, P> {
    /// Blocks until a TVar this attempt read has been changed by a commit,
    /// and returns that TVar (when one is found changed).
    pub(crate) fn block_until_reads_change(mut self) -> Option<Arc<dyn AnyTVar<P>>> {
        self.leave_serial_mode();
        assert!(
            !self.reads.is_empty(),
            "stm: `retry` was called before the transaction read any TVar, so no \
             commit could ever wake it"
        );
        let waiter = Arc::new(P::Event::new());
        let mut registered: Vec<TVarId> = Vec::new();
        let mut unchanged = true;
        for entry in &self.reads.entries {
            let id = entry.tvar.id();
            if registered.contains(&id) {
                continue;
            }
            entry.tvar.add_waiter(&waiter);
            registered.push(id);
            if !entry.tvar.lock().flag_waiters_if_unchanged(entry.version) {
                unchanged = false;
                break;
            }
        }
        if unchanged {
            waiter.wait();
        }
        for entry in &self.reads.entries {
            if registered.contains(&entry.tvar.id()) {
                entry.tvar.remove_waiter(&waiter);
            }
        }
        self.first_changed_read(false).cloned()
    }
}
