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
use crate::explore::shard::{
    Calibration, CalibrationScheduler, Shard, ShardedScheduler, ShardedStrategy,
};
use crate::schedule::{run_recorded_bounded, DriverInfo, Outcome, ShardInfo, StepBound};
use shuttle::scheduler::Scheduler;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
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
    /// Explore only this shard of the sharded layout (random and PCT
    /// only): `iterations` executions of it.
    pub shard: Option<Shard>,
}

impl ShuttleDriver {
    /// The scheduler of this driver's run, and for a sharded run the count
    /// of executions started (the failing one is the last).
    fn scheduler(
        &self,
        check: &ExecutionCheck,
    ) -> (Box<dyn Scheduler + Send>, Option<Arc<AtomicUsize>>) {
        let Some(shard) = self.shard else {
            let scheduler = self
                .scheduler
                .shuttle_scheduler(self.seed, self.iterations)
                .expect("explore drives loom with its loom driver");
            return (scheduler, None);
        };
        let strategy = match self.scheduler {
            SchedulerKind::Random => ShardedStrategy::Random,
            SchedulerKind::Pct { depth } => ShardedStrategy::Pct {
                depth,
                calibration: calibrate(check, self.seed),
            },
            other => panic!(
                "{other:?} is not sharded: ExploreConfig::shard_error refuses it before exploring"
            ),
        };
        let scheduler = ShardedScheduler::new(strategy, self.seed, shard, self.iterations);
        let started = scheduler.started();
        (Box::new(scheduler), Some(started))
    }
}

/// Runs the calibration execution of a sharded PCT run (oldest task first),
/// outside the exploration's counts, and measures it. A failure there is
/// ignored: it is the same execution on every shard, and the shards'
/// own executions find what they find.
fn calibrate(check: &ExecutionCheck, seed: u64) -> Calibration {
    let scheduler = CalibrationScheduler::new(seed);
    let measured = scheduler.measured();
    let uncounted = check.uncounted();
    let _ = run_recorded_bounded(
        scheduler,
        uncounted.panicking::<ShuttlePlatform>(),
        StepBound::Fail,
    );
    let calibration = *measured.lock().unwrap_or_else(|p| p.into_inner());
    calibration
}

impl Driver for ShuttleDriver {
    fn info(&self) -> DriverInfo {
        let mut info = self.scheduler.info(self.seed);
        info.shard = self.shard.map(|shard| ShardInfo {
            index: shard.index,
            count: shard.count,
            execution: None,
        });
        info
    }

    fn explore(&self, check: &ExecutionCheck) -> DriverOutcome {
        let (scheduler, started) = self.scheduler(check);
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
                message: check.naming_broken_invariants(failure.message),
                schedule: Some(failure.schedule),
                loom_path: None,
                execution: started.zip(self.shard).map(|(started, shard)| {
                    shard.execution(started.load(Ordering::SeqCst).saturating_sub(1))
                }),
            },
        }
    }
}
