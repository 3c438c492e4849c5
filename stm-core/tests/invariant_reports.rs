//! The engine's invariants are reported to the recorder before a debug
//! build panics on them (and instead of silently carrying on in a release
//! build): provoked here with the injected bug `irrevocable-aborts`, which
//! aborts an attempt that holds serial mode.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Mutex;
use stm_core::platform::Arc;
use stm_core::recorder::{AttemptEnd, AttemptId, Event, Recorder};
use stm_core::{AbortKind, InjectedBug, Invariant, Stm, StmConfig};

/// What the test looks at, in the order it arrived.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Seen {
    Broken {
        invariant: Invariant,
        attempt: Option<AttemptId>,
    },
    End {
        attempt: AttemptId,
        reason: AttemptEnd,
    },
    Commit {
        attempt: AttemptId,
    },
}

#[derive(Default)]
struct Collect(Mutex<Vec<Seen>>);

impl Recorder for Collect {
    fn record(&self, event: &Event<'_>) {
        let seen = match *event {
            Event::InvariantBroken {
                invariant, attempt, ..
            } => Seen::Broken { invariant, attempt },
            Event::End {
                attempt, reason, ..
            } => Seen::End { attempt, reason },
            Event::Commit { attempt, .. } => Seen::Commit { attempt },
            _ => return,
        };
        self.0.lock().unwrap().push(seen);
    }
}

fn serial_at_once() -> StmConfig {
    StmConfig {
        irrevocable_after: 0,
        ..StmConfig::default()
    }
}

#[test]
fn an_aborted_irrevocable_attempt_is_reported_before_the_debug_panic() {
    let recorder = Arc::new(Collect::default());
    let stm: Stm = Stm::with_injected_bug(
        serial_at_once(),
        Some(recorder.clone()),
        InjectedBug::IrrevocableAborts,
    );
    let v = stm.new_tvar(1_i64);
    let run = catch_unwind(AssertUnwindSafe(|| {
        stm.atomically(|tx| tx.modify(&v, |x| x + 1));
    }));
    let seen = recorder.0.lock().unwrap().clone();
    let broken = Seen::Broken {
        invariant: Invariant::IrrevocableAborted,
        attempt: Some(0),
    };
    assert_eq!(seen.first(), Some(&broken), "{seen:?}");
    if cfg!(debug_assertions) {
        // The event came first; then the debug assertion panicked.
        let panic = run.expect_err("a debug build panics on a broken invariant");
        let message = panic.downcast_ref::<String>().cloned().unwrap_or_default();
        assert!(
            message.contains("an irrevocable attempt was aborted (commit validation failed)"),
            "{message}"
        );
        assert_eq!(seen.len(), 2, "{seen:?}");
        assert_eq!(
            seen[1],
            Seen::End {
                attempt: 0,
                reason: AttemptEnd::Panic
            }
        );
    } else {
        // A release build reports it, aborts safely and runs the
        // transaction again, irrevocably, to its commit.
        assert!(run.is_ok());
        assert_eq!(
            seen[1..],
            [
                Seen::End {
                    attempt: 0,
                    reason: AttemptEnd::Conflict {
                        kind: AbortKind::Validation,
                        tvar: Some(v.id())
                    }
                },
                Seen::Commit { attempt: 1 }
            ]
        );
        assert_eq!(v.load(), 2);
    }
}

#[test]
fn a_correct_engine_in_serial_mode_breaks_no_invariant() {
    let recorder = Arc::new(Collect::default());
    let stm = Stm::with_recorder(serial_at_once(), recorder.clone());
    let v = stm.new_tvar(1_i64);
    for _ in 0..3 {
        stm.atomically(|tx| tx.modify(&v, |x| x + 1));
    }
    assert_eq!(v.load(), 4);
    let seen = recorder.0.lock().unwrap().clone();
    assert_eq!(
        seen,
        (0..3)
            .map(|attempt| Seen::Commit { attempt })
            .collect::<Vec<_>>()
    );
}

#[test]
fn every_invariant_has_its_own_name_and_a_description() {
    let mut names: Vec<_> = Invariant::ALL.iter().map(|i| i.name()).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), Invariant::ALL.len());
    for invariant in Invariant::ALL {
        assert_eq!(Invariant::from_name(invariant.name()), Some(invariant));
        assert!(invariant.to_string().contains(invariant.description()));
    }
}
