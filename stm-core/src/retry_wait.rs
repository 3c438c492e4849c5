//! Blocking for `retry`: sleep until a commit changes a TVar the transaction
//! read.
//!
//! The waiter registers an event on each TVar it read, then sets the TVar's
//! waiter flag with a CAS that requires the unlocked word with the version
//! it read. A committer locks the TVar with a CAS on the same word, so
//! exactly one of these holds: the waiter's CAS came first (the committer
//! finds the flag in the word it locked and wakes the registered events
//! after publishing), or the commit came first (the CAS fails on the locked
//! or newer word and the waiter does not sleep). No wake-up is lost and no
//! one spins.
//!
//! A sleeping thread must not stay pinned (it would hold back reclamation
//! for as long as it sleeps), so before unpinning it counts a handle to
//! every TVar it read: they stay alive while it waits on them.

use crate::ids::{CallSite, TVarId};
use crate::platform::{Arc, Platform, WakeEvent};
use crate::tvar::KeptTVar;
use crate::tx::Transaction;

/// The TVar whose change ended a `retry` wait, as conflict reports name it.
pub(crate) struct ChangedTVar {
    pub(crate) id: TVarId,
    pub(crate) created_at: CallSite,
    pub(crate) written_by: Option<CallSite>,
}

impl<P: Platform> Transaction<'_, P> {
    /// Blocks until a TVar this attempt read has been changed by a commit,
    /// and returns that TVar (when one is found changed).
    pub(crate) fn block_until_reads_change(mut self) -> Option<ChangedTVar> {
        self.leave_serial_mode();
        assert!(
            !self.context.reads.is_empty(),
            "stm: `retry` was called before the transaction read any TVar, so no \
             commit could ever wake it"
        );
        let mut kept: Vec<(KeptTVar<P>, u64)> = Vec::new();
        let mut all_kept = true;
        for entry in &self.context.reads.entries {
            let tvar = entry.tvar();
            if kept.iter().any(|(k, _)| core::ptr::eq(k.header(), tvar)) {
                continue;
            }
            // SAFETY: this attempt is still pinned.
            match unsafe { tvar.keep_alive() } {
                Some(handle) => kept.push((handle, entry.version)),
                None => {
                    // Its last handle is gone: what was read may be
                    // unreachable, so run again rather than sleep on it.
                    all_kept = false;
                    break;
                }
            }
        }
        self.clear_and_unpin();
        let waiter = Arc::new(P::Event::new());
        let mut registered = 0;
        let mut unchanged = all_kept;
        for (tvar, version) in &kept {
            if !unchanged {
                break;
            }
            tvar.header().add_waiter(&waiter);
            registered += 1;
            unchanged = tvar.header().lock.flag_waiters_if_unchanged(*version);
        }
        if unchanged {
            waiter.wait();
        }
        for (tvar, _) in &kept[..registered] {
            tvar.header().remove_waiter(&waiter);
        }
        kept.iter().find_map(|(tvar, version)| {
            let tvar = tvar.header();
            let word = tvar.lock.load();
            (word.is_locked() || word.version() != *version).then(|| ChangedTVar {
                id: tvar.id,
                created_at: tvar.created_at,
                written_by: tvar.written_by(),
            })
        })
    }
}
