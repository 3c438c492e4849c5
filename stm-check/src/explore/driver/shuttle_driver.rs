//! Shuttle's random, PCT and DFS schedulers, with every schedule recorded.

use super::{Driver, DriverOutcome};
use crate::check::SchedulerKind;
use crate::explore::execution::ExecutionCheck;
use crate::schedule::{run_recorded, DriverInfo, Outcome};
use stm_core::ShuttlePlatform;

/// How PCT says that the first execution never chose between two threads.
const NO_CONCURRENCY: &str = "did not exercise any concurrency";

/// Explores with one of shuttle's schedulers.
#[derive(Debug, Clone)]
pub struct ShuttleDriver {
    /// Which scheduler.
    pub scheduler: SchedulerKind,
    /// Executions to explore.
    pub iterations: usize,
    /// The scheduler's seed (random and PCT).
    pub seed: u64,
}

impl Driver for ShuttleDriver {
    fn info(&self) -> DriverInfo {
        self.scheduler.info(self.seed)
    }

    fn explore(&self, check: &ExecutionCheck) -> DriverOutcome {
        let scheduler = self
            .scheduler
            .shuttle_scheduler(self.seed, self.iterations)
            .expect("explore drives loom with its loom driver");
        match run_recorded(scheduler, check.panicking::<ShuttlePlatform>()) {
            Outcome::Passed { .. } => DriverOutcome::Passed,
            // PCT refuses to go on after a first execution that never had two
            // threads to choose from (one workload thread): that execution
            // passed, and it is the only one there is.
            Outcome::Failed(failure) if failure.message.contains(NO_CONCURRENCY) => {
                DriverOutcome::Passed
            }
            Outcome::Failed(failure) => DriverOutcome::Failed {
                message: failure.message,
                schedule: Some(failure.schedule),
                loom_path: None,
            },
        }
    }
}
