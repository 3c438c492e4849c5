//! Loom: exhaustive exploration within a preemption bound, for small
//! workloads (at most 4 workload threads). A failing execution is kept as
//! loom's own path to it (see [`crate::schedule::explore_loom`]), which a
//! schedule file carries and `replay` hands back to loom.

use super::{Driver, DriverOutcome};
use crate::explore::execution::ExecutionCheck;
use crate::schedule::{explore_loom, DriverInfo, LoomOutcome};
use stm_core::platform::{Model, ModelPlatform};

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
            shard: None,
        }
    }

    fn explore(&self, check: &ExecutionCheck) -> DriverOutcome {
        let execution = check.panicking::<ModelPlatform>();
        let outcome = ModelPlatform::run_under(Model::Loom, || {
            explore_loom(self.preemptions, self.iterations, execution)
        });
        match outcome {
            LoomOutcome::Passed { .. } => DriverOutcome::Passed,
            LoomOutcome::Failed { message, path, .. } => DriverOutcome::Failed {
                message: check.naming_broken_invariants(message),
                schedule: None,
                loom_path: Some(path),
                execution: None,
            },
        }
    }
}
