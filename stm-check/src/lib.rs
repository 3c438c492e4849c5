//! Tools that exercise and check stm-core: built-in workloads run on real
//! threads or under a model checker (shuttle), with their invariants checked.
//!
//! This crate grows into the model checkers, history checkers and fuzzers of
//! the project; today it holds the bank workload behind `stm-check bank` and
//! the history checker behind `stm-check check` ([`history`]).

pub mod bank;
pub mod history;
