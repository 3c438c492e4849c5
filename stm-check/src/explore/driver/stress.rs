//! Real OS threads, run again and again: no control over the interleaving,
//! but the real memory model and real timing. A failing execution's
//! history is kept ([`StressDriver::failure`]), so that explore can turn it
//! into a schedule that replays it (see [`derive`](crate::explore::derive)).

use super::{Driver, DriverOutcome};
use crate::explore::derive::RealExecution;
use crate::explore::execution::ExecutionCheck;
use crate::schedule::DriverInfo;
use crate::workload::{FailureKind, FailureSignature};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;
use stm_core::Std;

/// Runs the workload on std threads `iterations` times.
#[derive(Debug, Clone)]
pub struct StressDriver {
    /// Runs.
    pub iterations: usize,
    /// An execution still running after this long is a failure: its
    /// threads are blocked (a `retry` nothing wakes, a deadlock). Its
    /// threads are left blocked; the history recorded so far is kept.
    pub hang_after: Duration,
    /// The failing execution, once one failed.
    pub failure: Arc<Mutex<Option<RealExecution>>>,
}

impl StressDriver {
    /// `iterations` runs, an execution that takes 5 seconds counted as
    /// hung.
    pub fn new(iterations: usize) -> Self {
        StressDriver {
            iterations,
            hang_after: Duration::from_secs(5),
            failure: Arc::default(),
        }
    }
}

impl Driver for StressDriver {
    fn info(&self) -> DriverInfo {
        DriverInfo {
            scheduler: "stress".into(),
            seed: None,
            depth: None,
            injected_bug: None,
            shard: None,
        }
    }

    fn explore(&self, check: &ExecutionCheck) -> DriverOutcome {
        for _ in 0..self.iterations {
            // Each execution on a thread of its own, so that one whose
            // threads never finish is reported instead of hanging explore.
            let (sender, receiver) = mpsc::channel();
            let run = check.clone();
            std::thread::spawn(move || {
                let execution = run.run_once::<Std>();
                let _ = sender.send((execution.failure, execution.signature));
            });
            let (message, signature) = match receiver.recv_timeout(self.hang_after) {
                Ok((None, _)) => continue,
                Ok((Some(message), signature)) => (message, signature),
                Err(_) => (
                    check.naming_broken_invariants(format!(
                        "the execution did not finish within {:?} on real threads: its threads are blocked (a `retry` that nothing wakes, or a deadlock); {} attempts were recorded",
                        self.hang_after,
                        check.last_execution().attempts.len()
                    )),
                    FailureSignature::from_kinds([FailureKind::Deadlock])
                        .with_broken_invariants(&check.last_broken_invariants()),
                ),
            };
            let recorded = check.last_execution();
            *self.failure.lock().unwrap_or_else(|p| p.into_inner()) = Some(RealExecution {
                history: check.last_history().unwrap_or_default(),
                abort_causes: recorded.abort_causes(),
                failure: Some((message.clone(), signature)),
            });
            return DriverOutcome::Failed {
                message,
                schedule: None,
                loom_path: None,
                execution: None,
            };
        }
        DriverOutcome::Passed
    }
}
