//! Shuttle's random, PCT and DFS schedulers, with every schedule recorded.

use super::{Driver, DriverOutcome};
use crate::check::SchedulerKind;
use crate::explore::execution::ExecutionCheck;
use crate::schedule::{run_recorded, DriverInfo, Outcome};
use shuttle::scheduler::{DfsScheduler, PctScheduler, RandomScheduler, Scheduler};
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

impl ShuttleDriver {
    fn scheduler(&self) -> Box<dyn Scheduler + Send> {
        match self.scheduler {
            SchedulerKind::Random => {
                Box::new(RandomScheduler::new_from_seed(self.seed, self.iterations))
            }
            SchedulerKind::Pct { depth } => Box::new(PctScheduler::new_from_seed(
                self.seed,
                depth,
                self.iterations,
            )),
            SchedulerKind::Dfs => Box::new(DfsScheduler::new(Some(self.iterations), false)),
        }
    }
}

impl Driver for ShuttleDriver {
    fn info(&self) -> DriverInfo {
        match self.scheduler {
            SchedulerKind::Random => DriverInfo {
                scheduler: "random".into(),
                seed: Some(self.seed),
                depth: None,
                injected_bug: None,
            },
            SchedulerKind::Pct { depth } => DriverInfo {
                scheduler: "pct".into(),
                seed: Some(self.seed),
                depth: Some(depth),
                injected_bug: None,
            },
            SchedulerKind::Dfs => DriverInfo {
                scheduler: "dfs".into(),
                seed: None,
                depth: None,
                injected_bug: None,
            },
        }
    }

    fn explore(&self, check: &ExecutionCheck) -> DriverOutcome {
        match run_recorded(self.scheduler(), check.panicking::<ShuttlePlatform>()) {
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
            },
        }
    }
}
