//! Tools that exercise and check stm-core: built-in workloads run on real
//! threads or under a model checker (shuttle), recorded as histories
//! ([`record`]) and checked for serializability and opacity ([`history`]).
//!
//! It holds the bank workload behind `stm-check bank`, the history checker
//! behind `stm-check check`, the [`workload`] language that the exploration
//! tools run, the explorers behind `stm-check explore` ([`explore`]), and
//! the logic of the cargo-fuzz targets in `fuzz/` ([`fuzz`]). Every failure
//! they report is told as the execution that failed ([`explanation`]).

pub mod bank;
pub mod check;
pub mod explanation;
pub mod explore;
pub mod fuzz;
pub mod history;
pub mod load_error;
pub mod progress;
pub mod record;
pub mod schedule;
pub mod workload;

pub use check::{check, replay, try_check, CheckConfig, CheckFailure, SchedulerKind};
