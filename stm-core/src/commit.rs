//! The TL2 commit protocol: lock the write set, take a commit version,
//! validate the read set, write back, release with the new version and wake
//! the `retry` waiters of every TVar written.

use crate::error::AbortKind;
use crate::platform::Platform;
use crate::recorder::{recorded_value, Event, RecordedWrite};
use crate::runtime::BugSwitch;
use crate::tx::{debug_assert_irrevocable_survives, Transaction};

impl<P: Platform> Transaction<'_, P> {
    /// Tries to make this attempt's writes visible atomically.
    pub(crate) fn commit(&mut self) -> Result<(), AbortKind> {
        if let Some(kind) = self.doomed() {
            return Err(kind);
        }
        if self.writes.is_empty() {
            // Read-only: every read was current at `read_version`, so the
            // transaction serializes there.
            self.record_commit(None, &[]);
            return Ok(());
        }
        self.lock_write_set()?;
        let runtime = self.runtime();
        let commit_version = match runtime.clock.advance(self.irrevocable) {
            Ok(version) => version,
            Err(_) => {
                self.unlock_write_set(self.writes.entries.len());
                return Err(AbortKind::SerialMode);
            }
        };
        // If no other transaction took a version since our snapshot, nothing
        // we read can have changed (TL2's rv + 1 shortcut).
        let skip_validation = self.runtime().has_bug(BugSwitch::SkipReadValidation);
        if commit_version != self.read_version + 1 && !skip_validation {
            if let Some(changed) = self.first_changed_read(true) {
                debug_assert_irrevocable_survives(self.irrevocable, AbortKind::Validation);
                self.conflict = Some(changed.clone());
                self.unlock_write_set(self.writes.entries.len());
                return Err(AbortKind::Validation);
            }
        }
        let written: Vec<RecordedWrite> = match self.attempt {
            Some(_) => self
                .writes
                .entries
                .iter()
                .map(|e| RecordedWrite {
                    tvar: e.tvar.id(),
                    value: recorded_value(&*e.value),
                })
                .collect(),
            None => Vec::new(),
        };
        self.write_back(commit_version);
        self.record_commit(Some(commit_version), &written);
        Ok(())
    }

    fn record_commit(&mut self, version: Option<u64>, writes: &[RecordedWrite]) {
        self.mark_end_recorded();
        if let (Some(recorder), Some(attempt)) = (&self.runtime().recorder, self.attempt) {
            recorder.record(&Event::Commit {
                attempt,
                snapshot: self.read_version,
                version,
                writes,
            });
        }
    }

    fn lock_write_set(&mut self) -> Result<(), AbortKind> {
        for i in 0..self.writes.entries.len() {
            loop {
                let entry = &mut self.writes.entries[i];
                let word = entry.tvar.lock().load();
                if word.is_locked() {
                    if self.irrevocable {
                        // Its holder cannot take a commit version while we
                        // hold serial mode, so it is about to unlock.
                        P::yield_now();
                        continue;
                    }
                    self.conflict = Some(entry.tvar.clone());
                    self.unlock_write_set(i);
                    return Err(AbortKind::WriteLocked);
                }
                if entry.tvar.lock().try_lock(word).is_ok() {
                    entry.before_lock = word;
                    break;
                }
            }
        }
        Ok(())
    }

    /// Unlocks the first `count` write-set entries without changing them.
    fn unlock_write_set(&mut self, count: usize) {
        for entry in &self.writes.entries[..count] {
            entry.tvar.lock().unlock_unchanged(entry.before_lock);
        }
    }

    fn write_back(&mut self, commit_version: u64) {
        // Each entry keeps the value its TVar held before; those are dropped
        // with the write set, after every lock is released, so that a
        // panicking `Drop` cannot leave a TVar locked.
        let runtime = self.runtime();
        let unlock_first = runtime.has_bug(BugSwitch::UnlockBeforeWriteBack);
        let lose_wakeups = runtime.has_bug(BugSwitch::LoseRetryWakeup);
        for entry in &mut self.writes.entries {
            let new_value = core::mem::replace(&mut entry.value, Box::new(()));
            let had_waiters = if unlock_first {
                let had_waiters = entry.tvar.lock().unlock_with_version(commit_version);
                entry.value = entry.tvar.install(new_value, self.site);
                had_waiters
            } else {
                entry.value = entry.tvar.install(new_value, self.site);
                entry.tvar.lock().unlock_with_version(commit_version)
            };
            if had_waiters && !lose_wakeups {
                entry.tvar.wake_waiters();
            }
        }
    }
}
