//! The kind of a failure, as opposed to its exact message: which assertions
//! and invariants failed (by their conditions, not by the transactions that
//! hit them) and which anomaly classes the history shows. Shrinking keeps a
//! smaller workload only if it fails with the same kind of failure, and the
//! kinds survive renumbering threads and transactions.

use super::model::Invariant;
use super::outcome::{Violation, WorkloadOutcome};
use crate::history::{AnomalyClass, Report};
use crate::record::BrokenInvariant;
use std::collections::BTreeSet;
use std::fmt;

/// One kind of failure. Kinds order broken engine invariants and anomalies
/// first (the engine's own misbehaviour), then the workload's assertions and invariants, then
/// deadlocks and other panics.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FailureKind {
    /// The engine reported one of its own invariants broken (by name, as
    /// [`Invariant::name`](stm_core::Invariant::name) gives it): a bug of
    /// stm-core whatever the values show.
    EngineInvariant(String),
    /// The recorded history shows an anomaly of this class.
    Anomaly(AnomalyClass),
    /// An assertion failed: its condition, as `v0 + v1 == 100`.
    Assertion(String),
    /// An invariant failed: its form, as `sum_preserved(v0 + v1)`. An
    /// `equals` invariant is named without its value (`equals(v0)`), since
    /// shrinking re-derives the value when it removes transactions.
    Invariant(String),
    /// The recorded history is malformed (a read of a version nobody
    /// committed, say): the engine recorded something no correct engine
    /// does.
    MalformedHistory,
    /// The execution deadlocked (a `retry` never woken, a thread never
    /// joined).
    Deadlock,
    /// The execution panicked for another reason.
    Panic,
}

impl FailureKind {
    /// The kind of failure of `invariant`.
    pub fn of_invariant(invariant: &Invariant) -> FailureKind {
        FailureKind::Invariant(match invariant {
            Invariant::Equals { var, .. } => format!("equals(v{var})"),
            other => other.to_string(),
        })
    }
}

impl fmt::Display for FailureKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FailureKind::EngineInvariant(name) => write!(f, "engine invariant {name}"),
            FailureKind::Anomaly(class) => write!(f, "{class} anomaly"),
            FailureKind::Assertion(condition) => write!(f, "assertion {condition}"),
            FailureKind::Invariant(invariant) => write!(f, "invariant {invariant}"),
            FailureKind::MalformedHistory => f.write_str("malformed history"),
            FailureKind::Deadlock => f.write_str("deadlock"),
            FailureKind::Panic => f.write_str("panic"),
        }
    }
}

/// The kinds of failure one execution showed (empty: it passed).
///
/// ```
/// use stm_check::workload::{FailureKind, FailureSignature};
///
/// let found = FailureSignature::from_kinds([
///     FailureKind::Assertion("v0 == 60".into()),
///     FailureKind::Invariant("equals(v0)".into()),
/// ]);
/// let smaller = FailureSignature::from_kinds([FailureKind::Assertion("v0 == 60".into())]);
/// assert!(smaller.reproduces(&found));
/// assert!(!FailureSignature::default().reproduces(&found));
/// assert!(!FailureSignature::from_kinds([FailureKind::Deadlock]).reproduces(&found));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct FailureSignature {
    kinds: BTreeSet<FailureKind>,
}

impl FailureSignature {
    /// A signature of these kinds.
    pub fn from_kinds(kinds: impl IntoIterator<Item = FailureKind>) -> Self {
        FailureSignature {
            kinds: kinds.into_iter().collect(),
        }
    }

    /// The kinds of the violations of a workload run.
    pub fn of_outcome(outcome: &WorkloadOutcome) -> Self {
        Self::of_violations(&outcome.violations)
    }

    /// The kinds of these violations.
    pub fn of_violations(violations: &[Violation]) -> Self {
        Self::from_kinds(violations.iter().map(|violation| match violation {
            Violation::Assertion(failure) => FailureKind::Assertion(failure.condition.to_string()),
            Violation::Invariant(failure) => FailureKind::of_invariant(&failure.invariant),
        }))
    }

    /// The kind of an execution that ended in a panic with `message`
    /// before the workload finished (shuttle reports deadlocks so).
    pub fn of_panic(message: &str) -> Self {
        Self::from_kinds([if message.contains("deadlock") {
            FailureKind::Deadlock
        } else {
            FailureKind::Panic
        }])
    }

    /// Adds the anomaly classes of a history's report.
    pub fn with_anomalies(mut self, report: &Report) -> Self {
        self.kinds.extend(
            report
                .anomalies
                .iter()
                .map(|a| FailureKind::Anomaly(a.class)),
        );
        self
    }

    /// Adds the engine invariants reported broken.
    pub fn with_broken_invariants(mut self, broken: &[BrokenInvariant]) -> Self {
        self.kinds.extend(
            broken
                .iter()
                .map(|b| FailureKind::EngineInvariant(b.invariant.name().to_string())),
        );
        self
    }

    /// Adds the kinds of `other`.
    pub fn extend(&mut self, other: FailureSignature) {
        self.kinds.extend(other.kinds);
    }

    /// No failure.
    pub fn is_empty(&self) -> bool {
        self.kinds.is_empty()
    }

    /// The kinds, in order (anomalies first).
    pub fn kinds(&self) -> impl Iterator<Item = &FailureKind> {
        self.kinds.iter()
    }

    /// Whether the signature has this kind.
    pub fn contains(&self, kind: &FailureKind) -> bool {
        self.kinds.contains(kind)
    }

    /// The kind that matters most: the first broken engine invariant, else
    /// the first anomaly class if the history showed one, else the first failed assertion or invariant, else a
    /// deadlock or panic.
    pub fn primary(&self) -> Option<&FailureKind> {
        self.kinds.first()
    }

    /// Whether every kind of `self` is one of `other`'s.
    pub fn is_subset(&self, other: &FailureSignature) -> bool {
        self.kinds.is_subset(&other.kinds)
    }

    /// Whether a failure with this signature is the same kind of failure as
    /// `target`: it fails, shows nothing `target` does not, and shows
    /// `target`'s primary kind. (A smaller workload may lose some of the
    /// symptoms, never gain new ones, and keeps the main one.)
    pub fn reproduces(&self, target: &FailureSignature) -> bool {
        !self.is_empty()
            && self.is_subset(target)
            && target.primary().is_some_and(|p| self.contains(p))
    }
}

impl fmt::Display for FailureSignature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.kinds.is_empty() {
            return f.write_str("no failure");
        }
        for (i, kind) in self.kinds.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            kind.fmt(f)?;
        }
        Ok(())
    }
}
