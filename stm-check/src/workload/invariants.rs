//! Evaluating a workload's invariants on the final state.

use super::model::{Cmp, Invariant, Workload};
use super::outcome::{InvariantFailure, Violation};

/// The failures of `workload`'s invariants, given the final values and the
/// totals committed `add` operations added to each variable.
pub(crate) fn check_invariants(
    workload: &Workload,
    final_values: &[i64],
    added: &[i64],
) -> Vec<Violation> {
    let sum = |vars: &[usize], values: &dyn Fn(usize) -> i64| {
        vars.iter().fold(0i64, |s, &v| s.wrapping_add(values(v)))
    };
    let initial = |v: usize| workload.vars[v].initial;
    let current = |v: usize| final_values[v];
    let mut failures = Vec::new();
    for (index, invariant) in workload.invariants.iter().enumerate() {
        let mut check = |vars: Vec<usize>, cmp: Cmp, expected: i64, actual: i64| {
            if !cmp.holds(actual, expected) {
                failures.push(Violation::Invariant(InvariantFailure {
                    index,
                    invariant: invariant.clone(),
                    vars,
                    cmp,
                    expected,
                    actual,
                }));
            }
        };
        match invariant {
            Invariant::SumPreserved(vars) => check(
                vars.clone(),
                Cmp::Eq,
                sum(vars, &initial),
                sum(vars, &current),
            ),
            Invariant::Counter(var) => check(
                vec![*var],
                Cmp::Eq,
                initial(*var).wrapping_add(added[*var]),
                current(*var),
            ),
            Invariant::Equals { var, value } => check(vec![*var], Cmp::Eq, *value, current(*var)),
            Invariant::EachAtLeast { vars, bound } => {
                for &var in vars {
                    check(vec![var], Cmp::Ge, *bound, current(var));
                }
            }
            Invariant::Holds(condition) => check(
                condition.sum.clone(),
                condition.cmp,
                condition.value,
                sum(&condition.sum, &current),
            ),
        }
    }
    failures
}
