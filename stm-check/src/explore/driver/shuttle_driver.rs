//! Shuttle's random, PCT and DFS schedulers, with every schedule recorded.
//!
//! DFS is not fair: at a yield it runs the yielding task again, so a task
//! spinning until another one moves (the engine's waits for a lock holder
//! are such loops) starves it, and the execution runs into shuttle's step
//! bound on a correct engine. Under DFS an execution that long is
//! therefore cut short (counted, reported, and not a failure) instead of
//! failing; under random and PCT, which are fair, it is a livelock and
//! fails.

use super::{Driver, DriverOutcome};
use crate::check::SchedulerKind;
use crate::explore::execution::ExecutionCheck;
use crate::schedule::{run_recorded_bounded, DriverInfo, Outcome, StepBound};
use stm_core::ShuttlePlatform;

/// How PCT says that the first execution never chose between two threads.
const NO_CONCURRENCY: &str = "did not exercise any concurrency";

/// The steps after which DFS cuts an execution short: shuttle's own bound
/// for failing one.
pub const DFS_STEP_BOUND: usize = 1_000_000;

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
        let bound = match self.scheduler {
            SchedulerKind::Dfs => StepBound::CutShort(DFS_STEP_BOUND),
            _ => StepBound::Fail,
        };
        let run = run_recorded_bounded(scheduler, check.panicking::<ShuttlePlatform>(), bound);
        check.count_cut_short(run.cut_short);
        match run.outcome {
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
