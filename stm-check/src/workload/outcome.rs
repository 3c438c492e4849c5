//! What a run of a workload did: final values, counts, and every violation
//! told as a story a person can check by hand.

use super::model::{var_sum, Cmp, Condition, Invariant, TxSite, VarIndex};
use std::fmt;
use stm_core::{StmStats, TVarId};

/// The result of [`Workload::run`](super::Workload::run).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkloadOutcome {
    /// The engine's id of each variable's TVar, by variable index.
    pub var_ids: Vec<TVarId>,
    /// Each variable's value after every thread ended.
    pub final_values: Vec<i64>,
    /// For each variable, the total that committed `add` operations added
    /// to it (what a `counter` invariant expects on top of the initial value).
    pub added: Vec<i64>,
    /// Failed assertions (in thread order, then in the order they happened)
    /// and then failed invariants (in the order of `invariants`).
    pub violations: Vec<Violation>,
    /// Workload transactions that committed (atomically steps and queue
    /// items).
    pub commits: u64,
    /// Workload transactions that gave up through `abort_unless`.
    pub user_aborts: u64,
    /// Workload transactions that panicked (`panic`), counting a queue run
    /// stopped by a panicking item once.
    pub panics: u64,
    /// Queue runs that stopped before running every item.
    pub queue_stops: Vec<QueueStop>,
    /// The runtime's statistics after the run (attempts, conflicts, ...).
    pub stats: StmStats,
}

impl WorkloadOutcome {
    /// Whether no assertion and no invariant failed.
    pub fn is_ok(&self) -> bool {
        self.violations.is_empty()
    }
}

impl fmt::Display for WorkloadOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} commit(s), {} user abort(s), {} attempt(s)",
            self.commits, self.user_aborts, self.stats.attempts
        )?;
        if self.panics > 0 {
            write!(f, ", {} panic(s)", self.panics)?;
        }
        f.write_str("; final values [")?;
        for (i, value) in self.final_values.iter().enumerate() {
            let sep = if i == 0 { "" } else { ", " };
            write!(f, "{sep}v{i} = {value}")?;
        }
        f.write_str("]")?;
        for stop in &self.queue_stops {
            write!(f, "\n{stop}")?;
        }
        if self.violations.is_empty() {
            return f.write_str("\nno violation");
        }
        write!(f, "\n{} violation(s):", self.violations.len())?;
        for violation in &self.violations {
            write!(f, "\n- {violation}")?;
        }
        Ok(())
    }
}

/// Something that must not happen in a correct engine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Violation {
    /// An `assert` failed inside a transaction.
    Assertion(AssertionFailure),
    /// An invariant failed on the final state.
    Invariant(InvariantFailure),
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Violation::Assertion(failure) => failure.fmt(f),
            Violation::Invariant(failure) => failure.fmt(f),
        }
    }
}

/// An `assert` that failed on the values an attempt read.
///
/// Assertions are checked in every attempt, committed or not: under opacity
/// even an attempt that will abort reads one consistent snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssertionFailure {
    /// The transaction.
    pub site: TxSite,
    /// Its label, if it has one.
    pub label: Option<String>,
    /// Which attempt of the transaction (1 for the first).
    pub attempt: u32,
    /// The condition that failed.
    pub condition: Condition,
    /// The values read for it, variable by variable.
    pub values: Vec<(VarIndex, i64)>,
    /// Their sum.
    pub sum: i64,
}

impl fmt::Display for AssertionFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.site)?;
        if let Some(label) = &self.label {
            write!(f, " ({label:?})")?;
        }
        write!(
            f,
            ", attempt {}: assertion {} failed: read ",
            self.attempt, self.condition
        )?;
        for (i, (var, value)) in self.values.iter().enumerate() {
            let sep = if i == 0 { "" } else { ", " };
            write!(f, "{sep}v{var} = {value}")?;
        }
        write!(f, " (sum {})", self.sum)
    }
}

/// An invariant that does not hold on the final state: `expected` is what
/// the sum of `vars` should compare to with `cmp`, `actual` what it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvariantFailure {
    /// Position of the invariant in [`Workload::invariants`](super::Workload::invariants).
    pub index: usize,
    /// The invariant.
    pub invariant: Invariant,
    /// The variables whose (summed) final value failed.
    pub vars: Vec<VarIndex>,
    /// How the actual value had to compare to the expected one.
    pub cmp: Cmp,
    /// The expected value (derived from the run for `counter` and
    /// `sum_preserved`).
    pub expected: i64,
    /// The actual final value (the sum, for several variables).
    pub actual: i64,
}

impl fmt::Display for InvariantFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invariant #{} ({}) failed: expected {} {} {}, found {}",
            self.index,
            self.invariant,
            var_sum(&self.vars),
            self.cmp,
            self.expected,
            self.actual
        )
    }
}

/// A queue run that stopped early (it is not a violation: an item gave up,
/// or a `run_ordered` item would have blocked forever).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueStop {
    /// The queue step (`item` is the item that failed).
    pub site: TxSite,
    /// Why it stopped.
    pub reason: QueueStopReason,
    /// Items that committed before it stopped.
    pub committed: usize,
    /// Items never run.
    pub not_run: usize,
}

/// Why a queue run stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueueStopReason {
    /// The item's `abort_unless` failed.
    GaveUp,
    /// In `run_ordered`, the item retried at its turn with nothing left to
    /// wake it.
    WouldBlockForever,
    /// An item panicked (`panic`); `site.item` is one whose last attempt
    /// panicked.
    Panicked,
}

impl fmt::Display for QueueStop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let why = match self.reason {
            QueueStopReason::GaveUp => "gave up (abort_unless)",
            QueueStopReason::WouldBlockForever => "would block forever (retry at its turn)",
            QueueStopReason::Panicked => "panicked",
        };
        write!(
            f,
            "queue stopped: {} {why}; {} item(s) committed, {} not run",
            self.site, self.committed, self.not_run
        )
    }
}
