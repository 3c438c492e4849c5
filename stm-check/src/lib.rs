//! Tools that exercise and check stm-core: built-in workloads run on real
//! threads or under a model checker (shuttle), recorded as histories
//! ([`record`]) and checked for serializability and opacity ([`history`]).
//!
//! This crate grows into the model checkers and fuzzers of the project;
//! today it holds the bank workload behind `stm-check bank`, the history
//! checker behind `stm-check check`, and the [`workload`] language that the
//! exploration tools run.

pub mod bank;
pub mod check;
pub mod explore;
pub mod history;
pub mod load_error;
pub mod record;
pub mod schedule;
pub mod workload;

pub use check::{check, replay, try_check, CheckConfig, CheckFailure, SchedulerKind};
