//! Real OS threads, run again and again: no control over the interleaving,
//! but the real memory model and real timing.

use super::{Driver, DriverOutcome};
use crate::explore::execution::ExecutionCheck;
use crate::schedule::DriverInfo;
use stm_core::Std;

/// Runs the workload on std threads `iterations` times.
#[derive(Debug, Clone)]
pub struct StressDriver {
    /// Runs.
    pub iterations: usize,
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
            if let Some(message) = check.run_once::<Std>().failure {
                return DriverOutcome::Failed {
                    message,
                    schedule: None,
                    loom_path: None,
                    execution: None,
                };
            }
        }
        DriverOutcome::Passed
    }
}
