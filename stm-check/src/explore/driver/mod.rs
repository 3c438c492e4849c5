//! Drivers: the ways of exploring a workload's executions, one small module
//! each behind [`Driver`].

mod loom_driver;
mod shuttle_driver;
mod stress;

pub use loom_driver::LoomDriver;
pub use shuttle_driver::ShuttleDriver;
pub use stress::StressDriver;

use super::execution::ExecutionCheck;
use crate::schedule::{DriverInfo, LoomPath, Schedule};

/// How a driver's exploration ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DriverOutcome {
    /// No execution failed.
    Passed,
    /// An execution failed; `schedule` is its exact schedule where the
    /// driver can replay one.
    Failed {
        /// The failure, explained.
        message: String,
        /// The schedule, for drivers that record one (shuttle's).
        schedule: Option<Schedule>,
        /// Loom's path to the failing execution (the loom driver's).
        loom_path: Option<LoomPath>,
        /// In a sharded run: the failing execution's number in the whole
        /// layout (see [`Shard::execution`](crate::explore::shard::Shard::execution)).
        execution: Option<u64>,
    },
}

/// One way of exploring executions of a workload.
///
/// Contract: `explore` runs executions through the given check (each one
/// counted there) until its budget is spent or one fails, and stops at the
/// first failure.
pub(crate) trait Driver {
    /// The driver as recorded in schedule files.
    fn info(&self) -> DriverInfo;
    /// Explores executions.
    fn explore(&self, check: &ExecutionCheck) -> DriverOutcome;
}
