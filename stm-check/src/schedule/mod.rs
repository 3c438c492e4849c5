//! Exact schedules: what a shuttle scheduler chose at every step of one
//! execution (which task ran next, which random values were drawn), in an
//! encoding of our own, so that a failing execution can be saved, replayed
//! step for step on any machine, and shrunk.
//!
//! [`RecordingScheduler`] wraps any shuttle scheduler (random, PCT, DFS) and
//! keeps the steps of the execution under way; [`ReplayScheduler`] follows a
//! saved [`Schedule`] and reports where the program stopped matching it;
//! [`run_recorded`] runs executions until one fails and returns that
//! failure with its schedule; [`GuidedScheduler`] makes a history recorded
//! on real threads happen again, as a schedule; [`shrink`] minimises it; [`ScheduleFile`]
//! saves it.

mod file;
mod guided;
mod loom_runs;
mod recording;
mod replaying;
mod runner;
mod shrink;

pub(crate) use file::write_new_file;
pub use file::{
    ConfirmedExecution, DerivedFrom, DriverInfo, EngineConfig, ScheduleFile, ScheduleFileError,
    ShardInfo, ShrunkFrom, Target, SCHEDULE_FORMAT, SCHEDULE_VERSION,
};
pub use guided::{event_owners, thread_mappings, Burst, EventCounter, GuidePlan, GuidedScheduler};
pub use loom_runs::{explore_loom, replay_loom, LoomOutcome, LoomPath};
pub use recording::RecordingScheduler;
pub(crate) use replaying::fallback_choice;
pub use replaying::{Divergence, ReplayObserver, ReplayScheduler};
pub(crate) use runner::run_once_recording;
pub use runner::{
    first_panic_location, normalise_failure, replay, replay_expecting, replay_observed,
    replay_recording, run_recorded, run_recorded_bounded, verbose, BoundedOutcome, FailedExecution,
    Outcome, ReplayRun, StepBound, VERBOSE_ENV,
};
pub use shrink::{shrink, Shrunk};

use serde::{Deserialize, Serialize};

/// One choice of the scheduler.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Step {
    /// Run the task with this id next (shuttle numbers tasks from 0, in the
    /// order they are spawned; 0 is the test's main thread).
    Task(usize),
    /// Return this value to the running task's request for randomness.
    Random {
        /// The value drawn.
        random: u64,
    },
}

/// Every choice of one execution, in order.
///
/// ```
/// use stm_check::schedule::{Schedule, Step};
///
/// let schedule = Schedule { steps: vec![Step::Task(0), Step::Task(1), Step::Random { random: 7 }] };
/// let json = serde_json::to_string(&schedule).unwrap();
/// assert_eq!(json, r#"{"steps":[0,1,{"random":7}]}"#);
/// assert_eq!(schedule.context_switches(), 1);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Schedule {
    /// The choices, first to last.
    pub steps: Vec<Step>,
}

impl Schedule {
    /// How many times the running task changed (a measure of how
    /// interleaved, and how hard to follow, the schedule is).
    pub fn context_switches(&self) -> usize {
        let tasks: Vec<usize> = self
            .steps
            .iter()
            .filter_map(|s| match s {
                Step::Task(t) => Some(*t),
                Step::Random { .. } => None,
            })
            .collect();
        tasks.windows(2).filter(|w| w[0] != w[1]).count()
    }
}
