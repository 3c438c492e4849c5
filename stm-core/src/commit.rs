//! The TL2 commit protocol: lock the write set, take a commit version,
//! validate the read set, apply the commuted updates to the values current
//! then, write back, release with the new version and wake the `retry`
//! waiters of every TVar written.

use crate::error::AbortKind;
use crate::injected_bug::BugSwitch;
use crate::invariant::{engine_invariant, Invariant};
use crate::log::Pending;
use crate::platform::{AtomicPointer, Ordering, Platform};
use crate::reclaim::Garbage;
use crate::recorder::{CommuteBase, Event, RecordedWrite};
use crate::tx::Transaction;
use crate::value::LoggedValue;
use core::ptr::NonNull;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};

/// How many times a commit yields (after spinning `SPINS_BEFORE_BLOCKING`
/// times on real threads), waiting for another committer to unlock a TVar
/// it only commutes, before it gives up as for a locked write: long
/// enough for a commit in progress to finish (it holds its locks for a
/// moment), and bounded, so that two commits waiting for each other's locks
/// both give up rather than deadlock.
const COMMUTE_LOCK_SPINS: u32 = 64;

impl<P: Platform> Transaction<'_, P> {
    /// Tries to make this attempt's writes visible atomically.
    pub(crate) fn commit(&mut self) -> Result<(), AbortKind> {
        if let Some(kind) = self.doomed() {
            return Err(kind);
        }
        if self.context.writes.is_empty() {
            // Read-only: every read was current at `read_version`, so the
            // transaction serializes there.
            self.record_commit(None, &[]);
            return Ok(());
        }
        let runtime = self.runtime();
        let validate_early = runtime.has_bug(BugSwitch::ValidateBeforeLock);
        if validate_early {
            if let Some(changed) = self.first_changed_read(false) {
                self.check_irrevocable_survives(AbortKind::Validation);
                self.blame(NonNull::from(changed));
                return Err(AbortKind::Validation);
            }
        }
        self.lock_write_set()?;
        // Acquire-release: a transaction whose snapshot includes this
        // version sees the locks taken above.
        let clock_order = if runtime.has_bug(BugSwitch::ClockRelaxed) {
            Ordering::Relaxed
        } else {
            Ordering::AcqRel
        };
        let holds_serial = self.irrevocable || runtime.has_bug(BugSwitch::SerialModeNotExclusive);
        let commit_version = match runtime.clock.advance(holds_serial, clock_order) {
            Ok(version) => {
                self.context.snapshot_hint = version;
                version
            }
            Err(_) => {
                self.unlock_write_set(self.context.writes.entries.len());
                return Err(AbortKind::SerialMode);
            }
        };
        // If no other transaction took a version since our snapshot, nothing
        // we read can have changed (TL2's rv + 1 shortcut).
        let skip_validation = runtime.has_bug(BugSwitch::SkipReadValidation) || validate_early;
        if commit_version != self.read_version + 1
            && !skip_validation
            && !self.reads_are_the_locked_writes()
        {
            if let Some(changed) = self.first_changed_read(true) {
                self.check_irrevocable_survives(AbortKind::Validation);
                self.blame(NonNull::from(changed));
                if runtime.has_bug(BugSwitch::FailedCommitBumpsVersion) {
                    for entry in &self.context.writes.entries {
                        entry
                            .tvar()
                            .lock
                            .unlock_with_version(commit_version, Ordering::Release);
                    }
                } else {
                    self.unlock_write_set(self.context.writes.entries.len());
                }
                return Err(AbortKind::Validation);
            }
        }
        if self.context.writes.has_commutes {
            // The updates are the caller's code, run while we hold locks:
            // if one panics, let go of the locks before the panic goes on
            // (the attempt has installed nothing).
            if let Err(panic) = catch_unwind(AssertUnwindSafe(|| self.apply_commutes())) {
                self.unlock_write_set(self.context.writes.entries.len());
                resume_unwind(panic);
            }
        }
        let written: Vec<RecordedWrite> = match self.attempt {
            Some(_) => self
                .context
                .writes
                .entries
                .iter()
                .map(|e| {
                    let pending = &e.pending;
                    let value = pending.value().expect("commutes are applied");
                    let commuted = match pending {
                        Pending::Commutes(commutes) => {
                            let (_, version) = commutes.resolved.as_ref().expect("applied");
                            Some(CommuteBase {
                                version: *version,
                                value: commutes.recorded_base,
                            })
                        }
                        Pending::Value(_) => None,
                    };
                    RecordedWrite {
                        tvar: e.tvar().id,
                        // SAFETY: the log owns the value.
                        value: unsafe { value.kind().recorded(value.word()) },
                        commuted,
                    }
                })
                .collect(),
            None => Vec::new(),
        };
        self.write_back(commit_version);
        self.commit_version = Some(commit_version);
        self.record_commit(Some(commit_version), &written);
        Ok(())
    }

    fn record_commit(&mut self, version: Option<u64>, writes: &[RecordedWrite]) {
        self.mark_end_recorded();
        if let Some(attempt) = self.attempt {
            self.runtime().record(&Event::Commit {
                attempt,
                snapshot: self.read_version,
                version,
                writes,
            });
        }
    }

    /// Whether every read is of a TVar this commit has locked, locked at
    /// the version read: a transaction of `modify`s, whose reads and writes
    /// pair up in order. Then validation would find nothing (it compares
    /// each read with the version its TVar had when locked, and the lock
    /// keeps it so until write-back), and it is skipped: a group of items
    /// each updating its own TVar checks its pairs in one pass instead of
    /// loading every lock word and looking every TVar up in the write set.
    fn reads_are_the_locked_writes(&self) -> bool {
        let (reads, writes) = (&self.context.reads.entries, &self.context.writes.entries);
        reads.len() == writes.len()
            && reads.iter().zip(writes).all(|(read, write)| {
                core::ptr::eq(read.tvar(), write.tvar())
                    && write.before_lock.version() == read.version
            })
    }

    fn lock_write_set(&mut self) -> Result<(), AbortKind> {
        let runtime = self.runtime();
        let attempt = self.attempt;
        for i in 0..self.context.writes.entries.len() {
            let mut spins = 0;
            loop {
                let entry = &mut self.context.writes.entries[i];
                let word = entry.tvar().lock.load();
                if word.is_locked() {
                    if self.irrevocable {
                        // Its holder cannot take a commit version while we
                        // hold serial mode, so it is about to unlock.
                        P::yield_now();
                        continue;
                    }
                    if entry.is_commute() && spins < P::SPINS_BEFORE_BLOCKING + COMMUTE_LOCK_SPINS {
                        // A commute does not care what the holder installs:
                        // wait for it rather than abort; real threads first
                        // spin without a system call (the holder is busy
                        // for a moment only).
                        if spins < P::SPINS_BEFORE_BLOCKING {
                            P::pause();
                        } else {
                            P::yield_now();
                        }
                        spins += 1;
                        continue;
                    }
                    let locked = NonNull::from(entry.tvar());
                    self.blame(locked);
                    self.unlock_write_set(i);
                    return Err(AbortKind::WriteLocked);
                }
                engine_invariant!(
                    runtime,
                    Invariant::LockFromLockedWord,
                    attempt,
                    !word.is_locked()
                );
                if entry.tvar().lock.try_lock(word).is_ok() {
                    entry.before_lock = word;
                    break;
                }
            }
        }
        Ok(())
    }

    /// Applies every commuted TVar's updates, in order, to its value current
    /// at commit (the write set is locked, the commit version taken and the
    /// reads validated), keeping the result for write-back and the version
    /// it was computed from for the recorder.
    fn apply_commutes(&mut self) {
        let recording = self.attempt.is_some();
        for entry in &mut self.context.writes.entries {
            if !entry.is_commute() {
                continue;
            }
            let tvar = entry.tvar();
            let kind = tvar.kind;
            // The lock is held, so this is the current value, and stays it
            // until write-back replaces it; acquired (like the lock), since
            // the updates read what a box points to.
            let current = tvar.value.load(Ordering::Acquire);
            let current_version = entry.before_lock.version();
            let Pending::Commutes(commutes) = &mut entry.pending else {
                unreachable!("checked above");
            };
            let (base, version) = match &commutes.stale_base {
                Some((value, version)) => (value.word(), *version),
                None => (current, current_version),
            };
            if recording {
                // SAFETY: `base` is the TVar's current value (not replaced
                // while we hold the lock) or a value the log owns.
                commutes.recorded_base = unsafe { kind.recorded(base) };
            }
            let mut value: Option<LoggedValue> = None;
            for update in commutes.updates.drain(..) {
                let word = value.as_ref().map_or(base, LoggedValue::word);
                // SAFETY: `word` holds a live value of the TVar's type: the
                // current one (held by the locked TVar) or the stale base (the
                // log's), or the previous update's result (owned here).
                value = Some(unsafe { update.apply(word) });
            }
            let value = value.expect("a commuted entry has an update");
            commutes.resolved = Some((value, version));
        }
    }

    /// Unlocks the first `count` write-set entries without changing them.
    fn unlock_write_set(&mut self, count: usize) {
        for entry in &self.context.writes.entries[..count] {
            entry.tvar().lock.unlock_unchanged(entry.before_lock);
        }
    }

    /// Installs every value and releases every lock with `commit_version`,
    /// then wakes the `retry` waiters of the TVars that had some.
    fn write_back(&mut self, commit_version: u64) {
        let runtime = self.runtime();
        let unlock_first = runtime.has_bug(BugSwitch::UnlockBeforeWriteBack);
        let lose_wakeups = runtime.has_bug(BugSwitch::LoseRetryWakeup);
        let wake_one = runtime.has_bug(BugSwitch::WakeOneWaiter);
        // Release: a reader that sees the new version (or the new word) sees
        // the value, and a box's contents, initialised.
        let publish = if runtime.has_bug(BugSwitch::PublishRelaxed) {
            Ordering::Relaxed
        } else {
            Ordering::Release
        };
        let report_writers = runtime.config.conflict_reports;
        let site = self.site;
        let (writes, replaced) = self.context.writes_and_replaced();
        for entry in &mut writes.entries {
            let value = core::mem::replace(&mut entry.pending, Pending::taken())
                .into_value()
                .expect("commutes applied");
            let kind = value.kind();
            let tvar = entry.tvar();
            if unlock_first {
                tvar.lock.unlock_with_version(commit_version, publish);
            }
            // The lock is held: no other writer, so a load and a store.
            let old_value = tvar.value.load(Ordering::Relaxed);
            tvar.value.store(value.into_word(), publish);
            if report_writers {
                tvar.set_written_by(site);
            }
            if !unlock_first {
                tvar.lock.unlock_with_version(commit_version, publish);
            }
            if !kind.inline {
                // SAFETY: the replaced box is unreachable from the TVar now;
                // readers that loaded it before are pinned, and reclamation
                // frees it only after they leave.
                replaced.push(unsafe { Garbage::new(old_value, kind.free_fn()) });
            }
            if entry.before_lock.has_waiters() && !lose_wakeups {
                if wake_one {
                    tvar.wake_one_waiter();
                } else {
                    tvar.wake_waiters();
                }
            }
        }
    }
}
