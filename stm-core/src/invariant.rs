//! The engine's own invariants, each stated once: conditions that hold in
//! every execution of a correct engine, whatever the workload and schedule.
//! A debug build panics when one breaks (as a `debug_assert` would); before
//! that, and in release builds too, a runtime with a [`Recorder`] reports it
//! as [`Event::InvariantBroken`], so that a release-mode exploration counts
//! it as a violation instead of silently carrying on.
//!
//! Without a recorder a release build does not even evaluate the condition:
//! each check costs one branch on the recorder field being `None`. Reporting
//! sends the event straight to the recorder, with no lock of the
//! platform's, so it adds no scheduling point under a model checker.
//!
//! One invariant is not reported, only asserted in debug builds: that a
//! transaction queue's finished-item slot is empty before it is filled
//! (`transaction/slots.rs`). Checking it takes an atomic load, which would
//! be a new scheduling point under shuttle and loom, and the slot table
//! does not know its runtime.
//!
//! [`Recorder`]: crate::recorder::Recorder
//! [`Event::InvariantBroken`]: crate::recorder::Event::InvariantBroken

use core::fmt;

/// An invariant of the engine, as reported by
/// [`Event::InvariantBroken`](crate::recorder::Event::InvariantBroken).
///
/// ```
/// use stm_core::Invariant;
///
/// assert_eq!(Invariant::IrrevocableAborted.name(), "irrevocable-aborted");
/// assert_eq!(Invariant::from_name("irrevocable-aborted"), Some(Invariant::IrrevocableAborted));
/// assert!(Invariant::ALL.iter().all(|i| !i.description().is_empty()));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Invariant {
    /// An attempt holding serial mode (irrevocable) was aborted: the
    /// progress guarantee of bounded attempts is broken.
    IrrevocableAborted,
    /// An attempt left serial mode that the clock did not have set.
    SerialModeNotHeld,
    /// A commit tried to take a TVar's lock from a lock word it saw locked.
    LockFromLockedWord,
    /// An attempt unpinned while its read or write log still held entries
    /// (pointers into TVars that reclamation may free).
    UnpinWithLogs,
    /// A call ended with its thread's context not idle (a log not empty).
    ContextBusyAtCallEnd,
    /// A detached attempt was taken up by a thread that does not hold its
    /// commit turn.
    ResumedWithoutTurn,
    /// A transaction queue's commit turn was passed by a thread that did
    /// not hold it.
    TurnPassedByOther,
}

impl Invariant {
    /// Every invariant the engine reports.
    pub const ALL: [Invariant; 7] = [
        Invariant::IrrevocableAborted,
        Invariant::SerialModeNotHeld,
        Invariant::LockFromLockedWord,
        Invariant::UnpinWithLogs,
        Invariant::ContextBusyAtCallEnd,
        Invariant::ResumedWithoutTurn,
        Invariant::TurnPassedByOther,
    ];

    /// Its name, as failures and schedule files name it.
    pub fn name(self) -> &'static str {
        match self {
            Invariant::IrrevocableAborted => "irrevocable-aborted",
            Invariant::SerialModeNotHeld => "serial-mode-not-held",
            Invariant::LockFromLockedWord => "lock-from-locked-word",
            Invariant::UnpinWithLogs => "unpin-with-logs",
            Invariant::ContextBusyAtCallEnd => "context-busy-at-call-end",
            Invariant::ResumedWithoutTurn => "resumed-without-turn",
            Invariant::TurnPassedByOther => "turn-passed-by-other",
        }
    }

    /// What must hold, in one line.
    pub fn description(self) -> &'static str {
        match self {
            Invariant::IrrevocableAborted => {
                "an irrevocable attempt (holding serial mode) must never abort"
            }
            Invariant::SerialModeNotHeld => "only an attempt in serial mode may leave it",
            Invariant::LockFromLockedWord => {
                "a commit takes a TVar's lock only from a lock word it saw unlocked"
            }
            Invariant::UnpinWithLogs => {
                "an attempt empties its read and write logs before it unpins"
            }
            Invariant::ContextBusyAtCallEnd => {
                "a thread's context is idle (its logs empty) when a call ends"
            }
            Invariant::ResumedWithoutTurn => {
                "a detached attempt is taken up only by the holder of its commit turn"
            }
            Invariant::TurnPassedByOther => "only the holder of a queue's commit turn passes it",
        }
    }

    /// The invariant with this [`name`](Self::name).
    pub fn from_name(name: &str) -> Option<Invariant> {
        Invariant::ALL.into_iter().find(|i| i.name() == name)
    }
}

impl fmt::Display for Invariant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.name(), self.description())
    }
}

/// Checks an engine invariant: `engine_invariant!(runtime, Invariant::X,
/// attempt, condition)`, or with a panic message after the condition.
///
/// The condition is evaluated only in debug builds or when `runtime` (a
/// `RuntimeShared`) has a recorder. When it is false, the recorder gets
/// [`Event::InvariantBroken`](crate::recorder::Event::InvariantBroken)
/// first; then a debug build panics, with the message given or the one a
/// `debug_assert!` of the condition would give.
macro_rules! engine_invariant {
    ($runtime:expr, $invariant:expr, $attempt:expr, $holds:expr $(,)?) => {
        $crate::invariant::engine_invariant!(
            $runtime,
            $invariant,
            $attempt,
            $holds,
            "{}",
            concat!("assertion failed: ", stringify!($holds))
        )
    };
    ($runtime:expr, $invariant:expr, $attempt:expr, $holds:expr, $($message:tt)+) => {{
        let runtime = &$runtime;
        if (cfg!(debug_assertions) || runtime.is_recording()) && !$holds {
            runtime.report_broken_invariant($invariant, $attempt);
            if cfg!(debug_assertions) {
                panic!($($message)+);
            }
        }
    }};
}

pub(crate) use engine_invariant;
