//! Attempt, commit and abort counters of one runtime.
//!
//! Counts are gathered in a plain local tally during `atomically` and added
//! once at the end to the counters of the calling thread's own record (see
//! `participants`): each record has one writer at a time, so adding is a
//! load and a store on a line no other thread writes, never a shared
//! read-modify-write. A snapshot sums every record.

use crate::error::AbortKind;
use crate::platform::StatCounter;
use core::fmt;

const ATTEMPTS: usize = 0;
const COMMITS: usize = 1;
const RETRY_WAITS: usize = 2;
const IRREVOCABLE_RUNS: usize = 3;
const USER_ABORTS: usize = 4;
const PANICS: usize = 5;
const FIRST_ABORT_KIND: usize = 6;
const COUNTERS: usize = FIRST_ABORT_KIND + AbortKind::ALL.len();

/// A snapshot of a runtime's statistics.
///
/// Its `Display` is one line that names every count (the conflict aborts
/// by kind, those that happened); its `Debug` shows every field, each abort
/// kind by name.
///
/// ```
/// use stm_core::{Stm, TVar};
///
/// let stm = Stm::new();
/// let v = TVar::new_in(&stm, 1);
/// stm.atomically(|tx| tx.write(&v, 2));
/// let stats = stm.stats();
/// assert_eq!(stats.commits, 1);
/// assert_eq!(stats.attempts, 1);
/// assert_eq!(stats.conflict_aborts(), 0);
/// ```
///
/// ```
/// use stm_core::{AbortKind, StmStats};
///
/// let mut stats = StmStats { attempts: 7, commits: 4, ..StmStats::default() };
/// stats.aborts = [0, 0, 2, 1, 0]; // in `AbortKind`'s order
/// assert_eq!(stats.aborts_of(AbortKind::Validation), 1);
/// assert_eq!(
///     stats.to_string(),
///     "7 attempts, 4 commits, 3 conflict aborts (2 commit found the TVar locked, \
///      1 commit validation failed), 0 retry waits, 0 irrevocable runs, \
///      0 user aborts, 0 panics"
/// );
/// assert_eq!(
///     format!("{stats:?}"),
///     "StmStats { attempts: 7, commits: 4, retry_waits: 0, irrevocable_runs: 0, \
///      user_aborts: 0, panics: 0, aborts: {ReadLocked: 0, ReadStale: 0, \
///      WriteLocked: 2, Validation: 1, SerialMode: 0} }"
/// );
/// ```
#[derive(Clone, Copy, Default, PartialEq, Eq)]
pub struct StmStats {
    /// Attempts started (each run of a transaction body).
    pub attempts: u64,
    /// Transactions committed.
    pub commits: u64,
    /// Times a transaction blocked in `retry` waiting for a change.
    pub retry_waits: u64,
    /// Attempts run irrevocably (serial mode) after repeated conflicts.
    pub irrevocable_runs: u64,
    /// Transactions abandoned with the caller's own error.
    pub user_aborts: u64,
    /// Transactions abandoned by a panic in their body.
    pub panics: u64,
    /// Conflict aborts by kind, indexed as [`AbortKind`]'s variants.
    pub aborts: [u64; AbortKind::ALL.len()],
}

impl StmStats {
    /// All conflict aborts, of every kind.
    pub fn conflict_aborts(&self) -> u64 {
        self.aborts.iter().sum()
    }

    /// The counts added since `earlier` (a snapshot of the same runtime).
    ///
    /// ```
    /// let stm = stm_core::Stm::new();
    /// let v = stm.new_tvar(0);
    /// let before = stm.stats();
    /// stm.atomically(|tx| tx.write(&v, 1));
    /// assert_eq!(stm.stats().since(&before).commits, 1);
    /// ```
    pub fn since(&self, earlier: &StmStats) -> StmStats {
        StmStats {
            attempts: self.attempts - earlier.attempts,
            commits: self.commits - earlier.commits,
            retry_waits: self.retry_waits - earlier.retry_waits,
            irrevocable_runs: self.irrevocable_runs - earlier.irrevocable_runs,
            user_aborts: self.user_aborts - earlier.user_aborts,
            panics: self.panics - earlier.panics,
            aborts: core::array::from_fn(|i| self.aborts[i] - earlier.aborts[i]),
        }
    }

    /// Conflict aborts of one kind.
    pub fn aborts_of(&self, kind: AbortKind) -> u64 {
        self.aborts[kind.index()]
    }
}

impl fmt::Display for StmStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} attempts, {} commits, {} conflict aborts",
            self.attempts,
            self.commits,
            self.conflict_aborts()
        )?;
        let mut kinds = AbortKind::ALL
            .into_iter()
            .filter(|&kind| self.aborts_of(kind) > 0)
            .peekable();
        if kinds.peek().is_some() {
            f.write_str(" (")?;
            for (i, kind) in kinds.enumerate() {
                let separator = if i == 0 { "" } else { ", " };
                write!(f, "{separator}{} {kind}", self.aborts_of(kind))?;
            }
            f.write_str(")")?;
        }
        write!(
            f,
            ", {} retry waits, {} irrevocable runs, {} user aborts, {} panics",
            self.retry_waits, self.irrevocable_runs, self.user_aborts, self.panics
        )
    }
}

/// Every field, and the conflict aborts as a map from each [`AbortKind`]
/// to its count (the array alone does not say which count is which).
impl fmt::Debug for StmStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        /// The abort counts, each labelled with its kind.
        struct ByKind<'a>(&'a StmStats);
        impl fmt::Debug for ByKind<'_> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_map()
                    .entries(
                        AbortKind::ALL
                            .into_iter()
                            .map(|kind| (kind, self.0.aborts_of(kind))),
                    )
                    .finish()
            }
        }
        f.debug_struct("StmStats")
            .field("attempts", &self.attempts)
            .field("commits", &self.commits)
            .field("retry_waits", &self.retry_waits)
            .field("irrevocable_runs", &self.irrevocable_runs)
            .field("user_aborts", &self.user_aborts)
            .field("panics", &self.panics)
            .field("aborts", &ByKind(self))
            .finish()
    }
}

/// The local tally of one `atomically` call.
#[derive(Debug, Default)]
pub(crate) struct Tally {
    counts: [u64; COUNTERS],
}

impl Tally {
    pub(crate) fn attempt(&mut self) {
        self.counts[ATTEMPTS] += 1;
    }
    pub(crate) fn commit(&mut self) {
        self.counts[COMMITS] += 1;
    }
    pub(crate) fn retry_wait(&mut self) {
        self.counts[RETRY_WAITS] += 1;
    }
    pub(crate) fn irrevocable_run(&mut self) {
        self.counts[IRREVOCABLE_RUNS] += 1;
    }
    pub(crate) fn user_abort(&mut self) {
        self.counts[USER_ABORTS] += 1;
    }
    pub(crate) fn panic(&mut self) {
        self.counts[PANICS] += 1;
    }
    pub(crate) fn abort(&mut self, kind: AbortKind) {
        self.counts[FIRST_ABORT_KIND + kind.index()] += 1;
    }
}

/// One record's counters. Only the thread that holds the record adds to
/// them; snapshots may read them at any time.
#[derive(Default)]
pub(crate) struct Counters {
    counts: [StatCounter; COUNTERS],
}

impl Counters {
    /// Adds `tally`. The caller holds the record, so it is the only writer.
    pub(crate) fn add(&self, tally: &Tally) {
        for (counter, &n) in self.counts.iter().zip(&tally.counts) {
            if n != 0 {
                counter.add_as_only_writer(n);
            }
        }
    }

    /// Adds these counters into `sum`.
    pub(crate) fn add_to(&self, sum: &mut [u64; COUNTERS]) {
        for (total, counter) in sum.iter_mut().zip(&self.counts) {
            *total += counter.get();
        }
    }
}

/// Room for every counter of [`Counters`], for summing them.
pub(crate) type CounterSums = [u64; COUNTERS];

impl StmStats {
    /// The statistics that counters summed into `sum` stand for.
    pub(crate) fn from_sums(sum: &CounterSums) -> StmStats {
        StmStats {
            attempts: sum[ATTEMPTS],
            commits: sum[COMMITS],
            retry_waits: sum[RETRY_WAITS],
            irrevocable_runs: sum[IRREVOCABLE_RUNS],
            user_aborts: sum[USER_ABORTS],
            panics: sum[PANICS],
            aborts: core::array::from_fn(|i| sum[FIRST_ABORT_KIND + i]),
        }
    }
}
