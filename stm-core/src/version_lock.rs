//! The per-TVar versioned lock word and the runtime's global version clock:
//! the two pieces of metadata TL2 needs.
//!
//! A lock word packs the version of the TVar's current value, a `LOCKED` bit
//! held by a committing writer, and a `HAS_WAITERS` bit that tells a committer
//! it must wake transactions blocked in `retry` on this TVar. Putting the
//! waiter flag in the same word as the version makes the retry wake-up a
//! single-word protocol: registering (a CAS that requires the unlocked word a
//! waiter read) and taking the lock to commit (a CAS too) are totally
//! ordered, so the committer either sees the flag in the word it locked, or
//! the waiter's CAS fails and it does not sleep.

use crate::platform::{AtomicWord, Ordering, Platform};

const LOCKED: u64 = 1;
const HAS_WAITERS: u64 = 2;
const VERSION_SHIFT: u32 = 2;

/// A decoded lock word.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LockWord(u64);

impl LockWord {
    pub(crate) fn unlocked(version: u64) -> Self {
        LockWord(version << VERSION_SHIFT)
    }
    pub(crate) fn raw(self) -> u64 {
        self.0
    }
    pub(crate) fn version(self) -> u64 {
        self.0 >> VERSION_SHIFT
    }
    pub(crate) fn is_locked(self) -> bool {
        self.0 & LOCKED != 0
    }
    pub(crate) fn has_waiters(self) -> bool {
        self.0 & HAS_WAITERS != 0
    }
    pub(crate) fn locked(self) -> Self {
        LockWord(self.0 | LOCKED)
    }
    pub(crate) fn with_waiters(self) -> Self {
        LockWord(self.0 | HAS_WAITERS)
    }
    /// Version and lock state, ignoring the waiter flag: two reads of a TVar
    /// saw the same value exactly when this is equal.
    pub(crate) fn value_state(self) -> u64 {
        self.0 & !HAS_WAITERS
    }
}

/// A TVar's lock word.
pub(crate) struct VersionedLock<P: Platform> {
    word: P::AtomicU64,
}

impl<P: Platform> VersionedLock<P> {
    pub(crate) fn new() -> Self {
        Self {
            word: P::AtomicU64::new(LockWord::unlocked(0).raw()),
        }
    }

    pub(crate) fn load(&self) -> LockWord {
        LockWord(self.word.load(Ordering::Acquire))
    }

    /// Takes the lock if the word still is `seen` (unlocked: the caller
    /// checks, as the engine invariant `lock-from-locked-word`). The waiter
    /// flag and the version are kept while locked.
    pub(crate) fn try_lock(&self, seen: LockWord) -> Result<(), LockWord> {
        self.word
            .compare_exchange(
                seen.raw(),
                seen.locked().raw(),
                Ordering::AcqRel,
                Ordering::Acquire,
            )
            .map(|_| ())
            .map_err(LockWord)
    }

    /// Puts back the word that was replaced by [`try_lock`](Self::try_lock),
    /// for a commit that gives up. Nobody else writes a locked word.
    pub(crate) fn unlock_unchanged(&self, before_lock: LockWord) {
        self.word.store(before_lock.raw(), Ordering::Release);
    }

    /// Publishes a written-back value under `version` and clears the lock
    /// and the waiter flag. A plain store suffices: while the word is locked
    /// nobody else writes it (taking the lock and flagging waiters both
    /// require an unlocked word), so the waiter flag to act on is the one in
    /// `before_lock`. `Release` makes the value stored before visible to every
    /// reader that sees the new version.
    pub(crate) fn unlock_with_version(&self, version: u64, order: Ordering) {
        self.word.store(LockWord::unlocked(version).raw(), order);
    }

    /// Sets the waiter flag if the TVar still holds the value of `version`.
    /// Returns `false` when the value has changed (or is being changed), in
    /// which case the caller must not sleep. Always an RMW, so it observes
    /// the latest word, never a stale one.
    pub(crate) fn flag_waiters_if_unchanged(&self, version: u64) -> bool {
        let mut current = self.load();
        loop {
            if current.is_locked() || current.version() != version {
                return false;
            }
            match self.word.compare_exchange(
                current.raw(),
                current.with_waiters().raw(),
                Ordering::SeqCst,
                Ordering::Acquire,
            ) {
                Ok(_) => return true,
                Err(actual) => current = LockWord(actual),
            }
        }
    }
}

const SERIAL: u64 = 1;

/// The global version clock of one runtime. The low bit marks serial mode:
/// while an irrevocable transaction holds it, no other transaction may take
/// a commit version, so the irrevocable one cannot be invalidated.
///
/// Every commit writes it: it gets a cache line of its own (two, against
/// adjacent-line prefetch), so that the runtime's read-mostly fields beside
/// it (configuration, recorder) do not move between cores with each commit.
#[repr(align(128))]
pub(crate) struct VersionClock<P: Platform> {
    word: P::AtomicU64,
}

/// Another transaction runs irrevocably; this commit must give way.
#[derive(Debug)]
pub(crate) struct SerialModeBusy;

impl<P: Platform> VersionClock<P> {
    pub(crate) fn new() -> Self {
        Self {
            word: P::AtomicU64::new(0),
        }
    }

    /// The current version: the snapshot a new transaction reads at.
    pub(crate) fn now(&self) -> u64 {
        self.word.load(Ordering::Acquire) >> 1
    }

    /// Whether some transaction currently runs in serial mode.
    pub(crate) fn serial_mode_active(&self) -> bool {
        self.word.load(Ordering::Acquire) & SERIAL != 0
    }

    /// Takes a fresh commit version. Fails while another transaction is in
    /// serial mode, unless the caller is that transaction (`holds_serial`).
    ///
    /// One `fetch_add`, which never has to be retried however many threads
    /// commit at once: a commit that finds serial mode set gives its version
    /// up unused (a gap in the versions, which nothing relies on). `order`
    /// is `AcqRel` (anything weaker is the injected bug `clock-relaxed`).
    pub(crate) fn advance(
        &self,
        holds_serial: bool,
        order: Ordering,
    ) -> Result<u64, SerialModeBusy> {
        let before = self.word.fetch_add(2, order);
        if before & SERIAL != 0 && !holds_serial {
            return Err(SerialModeBusy);
        }
        Ok((before >> 1) + 1)
    }

    /// Enters serial mode, waiting for a current holder to leave it.
    pub(crate) fn enter_serial_mode(&self) {
        loop {
            let current = self.word.load(Ordering::Acquire);
            if current & SERIAL == 0
                && self
                    .word
                    .compare_exchange(
                        current,
                        current | SERIAL,
                        Ordering::AcqRel,
                        Ordering::Acquire,
                    )
                    .is_ok()
            {
                return;
            }
            P::yield_now();
        }
    }

    /// Leaves serial mode. Returns whether the clock had it set, as it
    /// must (the caller checks the engine invariant `serial-mode-not-held`).
    pub(crate) fn exit_serial_mode(&self) -> bool {
        let mut current = self.word.load(Ordering::Acquire);
        loop {
            match self.word.compare_exchange(
                current,
                current & !SERIAL,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => return current & SERIAL != 0,
                Err(actual) => current = actual,
            }
        }
    }

    /// Waits while another transaction runs in serial mode.
    pub(crate) fn wait_for_serial_mode_end(&self) {
        while self.serial_mode_active() {
            P::yield_now();
        }
    }
}
