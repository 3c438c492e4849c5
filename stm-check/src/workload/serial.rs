//! Serial runs: a workload run with its threads one after another, in a few
//! orders, on a correct engine under shuttle's deterministic replay (no
//! exploration). They tell what the workload itself does, apart from any
//! interleaving: the final values its `equals` invariants must state, and
//! the failures that are the workload's own rather than the engine's.
//! Scaling ([`Workload::with_threads`]) and shrinking check their results
//! against them.

use super::invariants::check_invariants;
use super::model::{Invariant, VarIndex, Workload};
use super::outcome::{Violation, WorkloadOutcome};
use super::signature::FailureSignature;
use crate::schedule::{replay, Schedule};
use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use stm_core::{ShuttlePlatform, Stm};

/// At most this many orders are tried: every rotation of the threads and of
/// their reverse, up to this bound (all six orders of three threads).
const MAX_ORDERS: usize = 8;

/// How one serial run ended.
#[derive(Debug, Clone)]
pub(crate) enum SerialRun {
    /// Every thread ended.
    Finished(Box<WorkloadOutcome>),
    /// The run panicked or deadlocked (a `retry_unless` nothing wakes).
    Stuck(String),
}

/// The serial runs of one workload, the threads in their own order first.
#[derive(Debug, Clone)]
pub(crate) struct SerialRuns {
    runs: Vec<SerialRun>,
}

/// The orders tried for `threads` threads: their own first, then the
/// reverse, then rotations of both.
fn serial_orders(threads: usize) -> Vec<Vec<usize>> {
    let forward: Vec<usize> = (0..threads).collect();
    let backward: Vec<usize> = forward.iter().rev().copied().collect();
    let mut orders: Vec<Vec<usize>> = Vec::new();
    for k in 0..threads {
        for base in [&forward, &backward] {
            let mut order = base.clone();
            order.rotate_left(k);
            if orders.len() < MAX_ORDERS && !orders.contains(&order) {
                orders.push(order);
            }
        }
    }
    orders
}

/// Runs `workload` once with its threads started in `order`: under the
/// replay scheduler's fallback, the running thread keeps running, so each
/// thread runs to its end (or until it blocks) before the next one starts.
fn run_serial(workload: &Workload, order: &[usize]) -> SerialRun {
    let mut permuted = workload.clone();
    permuted.threads = order.iter().map(|&t| workload.threads[t].clone()).collect();
    permuted.scaling = None;
    let permuted = Arc::new(permuted);
    let slot: Arc<Mutex<Option<WorkloadOutcome>>> = Arc::default();
    let (result, _) = {
        let slot = slot.clone();
        replay(&Schedule::default(), move || {
            let outcome = permuted.run(&Stm::<ShuttlePlatform>::for_platform());
            *slot.lock().unwrap_or_else(|p| p.into_inner()) = Some(outcome);
        })
    };
    let outcome = slot.lock().unwrap_or_else(|p| p.into_inner()).take();
    match (outcome, result) {
        (Some(outcome), _) => SerialRun::Finished(Box::new(outcome)),
        (None, Err(message)) => SerialRun::Stuck(message),
        (None, Ok(())) => SerialRun::Stuck("the run did not finish".to_string()),
    }
}

impl SerialRuns {
    /// Runs `workload` (valid) serially in each order tried.
    pub(crate) fn of(workload: &Workload) -> Self {
        SerialRuns {
            runs: serial_orders(workload.threads.len())
                .iter()
                .map(|order| run_serial(workload, order))
                .collect(),
        }
    }

    /// The run in the threads' own order, if it finished.
    fn first(&self) -> Option<&WorkloadOutcome> {
        match self.runs.first() {
            Some(SerialRun::Finished(outcome)) => Some(outcome),
            _ => None,
        }
    }

    /// The kinds of failure these runs show, with `workload`'s invariants
    /// evaluated again on each run's final values (so that `equals` values
    /// set by [`rederive_equals`](Self::rederive_equals) after the runs
    /// count). `workload` must have the variables of the workload that ran.
    pub(crate) fn failures(&self, workload: &Workload) -> FailureSignature {
        let mut failures = FailureSignature::default();
        for run in &self.runs {
            match run {
                SerialRun::Finished(outcome) => {
                    let mut violations: Vec<Violation> = outcome
                        .violations
                        .iter()
                        .filter(|v| matches!(v, Violation::Assertion(_)))
                        .cloned()
                        .collect();
                    violations.extend(check_invariants(
                        workload,
                        &outcome.final_values,
                        &outcome.added,
                    ));
                    failures.extend(FailureSignature::of_violations(&violations));
                }
                SerialRun::Stuck(message) => failures.extend(FailureSignature::of_panic(message)),
            }
        }
        failures
    }

    /// The variables whose `equals` invariant in `workload` states the value
    /// the run in the threads' own order leaves: values derived from what
    /// the threads do, which a smaller or larger workload derives anew.
    pub(crate) fn derived_equals(&self, workload: &Workload) -> BTreeSet<VarIndex> {
        let Some(outcome) = self.first() else {
            return BTreeSet::new();
        };
        workload
            .invariants
            .iter()
            .filter_map(|invariant| match invariant {
                Invariant::Equals { var, value } if outcome.final_values[*var] == *value => {
                    Some(*var)
                }
                _ => None,
            })
            .collect()
    }

    /// Sets each `equals` invariant of `workload` on one of `vars` to the
    /// value the run in the threads' own order left (no change if that run
    /// did not finish).
    pub(crate) fn rederive_equals(&self, workload: &mut Workload, vars: &BTreeSet<VarIndex>) {
        let Some(outcome) = self.first() else {
            return;
        };
        for invariant in &mut workload.invariants {
            if let Invariant::Equals { var, value } = invariant {
                if vars.contains(var) {
                    *value = outcome.final_values[*var];
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orders_start_with_the_threads_own_and_stay_bounded() {
        assert_eq!(serial_orders(1), vec![vec![0]]);
        assert_eq!(serial_orders(2), vec![vec![0, 1], vec![1, 0]]);
        let three = serial_orders(3);
        assert_eq!(three.len(), 6, "every order of three threads");
        assert_eq!(three[0], vec![0, 1, 2]);
        assert_eq!(serial_orders(10).len(), MAX_ORDERS);
    }

    #[test]
    fn builtins_pass_every_serial_order() {
        for name in super::super::BUILTIN_NAMES {
            let workload = Workload::builtin(name).unwrap();
            let runs = SerialRuns::of(&workload);
            assert!(runs.failures(&workload).is_empty(), "{name}");
            assert!(runs.first().is_some(), "{name}");
        }
    }
}
