//! Loom: exhaustive exploration within a preemption bound, for small
//! workloads (at most 4 workload threads). Loom replays from its own
//! checkpoints, not from our schedule files.

use super::{Driver, DriverOutcome};
use crate::explore::execution::ExecutionCheck;
use crate::schedule::DriverInfo;
use std::panic::{catch_unwind, AssertUnwindSafe};
use stm_core::LoomPlatform;

/// Explores every interleaving loom distinguishes, within bounds.
#[derive(Debug, Clone)]
pub struct LoomDriver {
    /// At most this many preemptions per execution.
    pub preemptions: usize,
    /// At most this many executions.
    pub iterations: usize,
}

impl Driver for LoomDriver {
    fn info(&self) -> DriverInfo {
        DriverInfo {
            scheduler: "loom".into(),
            seed: None,
            depth: Some(self.preemptions),
            injected_bug: None,
        }
    }

    fn explore(&self, check: &ExecutionCheck) -> DriverOutcome {
        let mut builder = loom::model::Builder::new();
        builder.preemption_bound = Some(self.preemptions);
        builder.max_permutations = Some(self.iterations);
        builder.max_branches = 100_000;
        let execution = check.panicking::<LoomPlatform>();
        let previous_hook = std::panic::take_hook();
        std::panic::set_hook(Box::new(|_| {}));
        let result = catch_unwind(AssertUnwindSafe(|| builder.check(execution)));
        std::panic::set_hook(previous_hook);
        match result {
            Ok(()) => DriverOutcome::Passed,
            Err(panic) => DriverOutcome::Failed {
                message: crate::schedule::panic_message(&*panic),
                schedule: None,
            },
        }
    }
}
