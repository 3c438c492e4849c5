//! Violations are reported exactly: a wrong invariant gives one failure
//! with expected and actual values, a wrong assertion names the
//! transaction and the values it read, a queue that stops is reported, and
//! the `or_else` bookkeeping behind `counter` is exact.

use stm_check::workload::{
    AssertionFailure, Cmp, Condition, Invariant, InvariantFailure, QueueStopReason, Violation,
    Workload,
};
use stm_core::{ShuttlePlatform, Std, Stm, StmConfig};

fn transfer_with(invariants: &str) -> Workload {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/workloads/transfer.json"
    ))
    .unwrap();
    let mut workload = Workload::from_json_str(&text).unwrap();
    workload.invariants = serde_json::from_str(invariants).unwrap();
    workload.validate().unwrap();
    workload
}

#[test]
fn a_wrong_sum_invariant_reports_exactly_that_violation() {
    // The total is 100; the invariant claims 101.
    let workload = transfer_with(
        r#"[{"sum_preserved": [0, 1]}, {"holds": {"sum": [0, 1], "cmp": "==", "value": 101}}]"#,
    );
    let expected = vec![Violation::Invariant(InvariantFailure {
        index: 1,
        invariant: Invariant::Holds(Condition {
            sum: vec![0, 1],
            cmp: Cmp::Eq,
            value: 101,
        }),
        vars: vec![0, 1],
        cmp: Cmp::Eq,
        expected: 101,
        actual: 100,
    })];
    let outcome = workload.run(&Stm::new());
    assert_eq!(outcome.violations, expected, "{outcome}");
    assert_eq!(
        outcome.violations[0].to_string(),
        "invariant #1 (v0 + v1 == 101) failed: expected v0 + v1 == 101, found 100"
    );
    assert!(!outcome.is_ok());
    let w = workload.clone();
    shuttle::check_random(
        move || {
            let (outcome, _) = w.run_recorded::<ShuttlePlatform>(StmConfig::default());
            assert_eq!(outcome.violations, expected);
        },
        50,
    );
}

#[test]
fn wrong_equals_and_bounds_report_each_failing_var() {
    let workload = transfer_with(
        r#"[{"equals": {"var": 0, "value": 54}}, {"each_at_least": {"vars": [0, 1], "bound": 50}}]"#,
    );
    let outcome = workload.run(&Stm::new());
    let failures: Vec<(usize, Vec<usize>, Cmp, i64, i64)> = outcome
        .violations
        .iter()
        .map(|v| match v {
            Violation::Invariant(f) => (f.index, f.vars.clone(), f.cmp, f.expected, f.actual),
            other => panic!("unexpected {other}"),
        })
        .collect();
    assert_eq!(
        failures,
        [(0, vec![0], Cmp::Eq, 54, 55), (1, vec![1], Cmp::Ge, 50, 45)]
    );
}

#[test]
fn a_failed_assertion_names_the_transaction_and_the_values_read() {
    let workload = Workload::from_json_str(
        r#"{"format": "stm-workload", "version": 1,
            "vars": [{"initial": 60}, {"initial": 40}],
            "threads": [{"steps": [
              {"atomically": {"ops": [{"read": 0}]}},
              {"atomically": {"label": "audit", "ops": [
                {"assert": {"sum": [0, 1], "cmp": ">", "value": 100}},
                {"add": {"var": 0, "amount": 1}}]}}]}]}"#,
    )
    .unwrap();
    let outcome = workload.run(&Stm::new());
    let expected = Violation::Assertion(AssertionFailure {
        site: stm_check::workload::TxSite {
            thread: 0,
            step: 1,
            item: None,
        },
        label: Some("audit".to_string()),
        attempt: 1,
        condition: Condition {
            sum: vec![0, 1],
            cmp: Cmp::Gt,
            value: 100,
        },
        values: vec![(0, 60), (1, 40)],
        sum: 100,
    });
    assert_eq!(outcome.violations, [expected]);
    assert_eq!(
        outcome.violations[0].to_string(),
        "thread 0 step 1 (\"audit\"), attempt 1: assertion v0 + v1 > 100 failed: read v0 = 60, v1 = 40 (sum 100)"
    );
    // The transaction went on and committed.
    assert_eq!((outcome.commits, outcome.final_values[0]), (2, 61));
}

#[test]
fn a_counter_counts_only_committed_adds() {
    // The first branch adds 5 and then retries (the flag is 0): its add must
    // be undone, and the abort_unless transaction's add must not count.
    let workload = Workload::from_json_str(
        r#"{"format": "stm-workload", "version": 1,
            "vars": [{"initial": 3}, {"initial": 0}],
            "threads": [{"steps": [
              {"atomically": {"ops": [{"or_else": {
                "first": [{"add": {"var": 0, "amount": 5}}, {"retry_unless": {"sum": [1], "cmp": ">=", "value": 1}}],
                "second": [{"add": {"var": 0, "amount": 2}}]}}]}},
              {"atomically": {"ops": [{"add": {"var": 0, "amount": 100}}, {"abort_unless": {"sum": [1], "cmp": "==", "value": 1}}]}},
              {"queue": {"mode": "run", "workers": 1, "items": [
                {"ops": [{"add": {"var": 0, "amount": 10}}]},
                {"ops": [{"add": {"var": 0, "amount": 20}}, {"abort_unless": {"sum": [1], "cmp": "==", "value": 1}}]},
                {"ops": [{"add": {"var": 0, "amount": 40}}]}]}}]}],
            "invariants": [{"counter": 0}]}"#,
    )
    .unwrap();
    let outcome = workload.run(&Stm::new());
    assert!(outcome.is_ok(), "{outcome}");
    // 3 + 2 (second branch) + 10 (first item); the second item stopped the
    // single-worker queue before the third ran.
    assert_eq!(outcome.final_values[0], 15);
    assert_eq!(outcome.added, [12, 0]);
    assert_eq!((outcome.commits, outcome.user_aborts), (2, 2));
    assert_eq!(outcome.queue_stops.len(), 1);
    let stop = &outcome.queue_stops[0];
    assert_eq!(
        (stop.site.item, stop.reason, stop.committed, stop.not_run),
        (Some(1), QueueStopReason::GaveUp, 1, 1)
    );

    // A counter that lost an increment (changed behind the workload's back
    // here) is reported with the value derived from the committed adds.
    let stm = Stm::new();
    let vars = workload.create_vars(&stm);
    stm.atomically(|tx| tx.modify(&vars.tvars()[0], |x| x - 1));
    let outcome = workload.run_on(&stm, &vars);
    match &outcome.violations[..] {
        [Violation::Invariant(f)] => {
            assert_eq!((f.expected, f.actual), (15, 14));
            assert_eq!(
                f.to_string(),
                "invariant #0 (counter(v0)) failed: expected v0 == 15, found 14"
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn an_ordered_queue_that_would_block_forever_is_reported() {
    let workload = Workload::from_json_str(
        r#"{"format": "stm-workload", "version": 1,
            "vars": [{"initial": 0}],
            "threads": [{"steps": [{"queue": {"mode": "run_ordered", "workers": 2, "items": [
                {"ops": [{"add": {"var": 0, "amount": 1}}]},
                {"ops": [{"retry_unless": {"sum": [0], "cmp": ">=", "value": 5}}]}]}}]}]}"#,
    )
    .unwrap();
    let outcome = workload.run_recorded::<Std>(StmConfig::default()).0;
    assert!(outcome.is_ok());
    assert_eq!(outcome.queue_stops.len(), 1);
    assert_eq!(
        outcome.queue_stops[0].reason,
        QueueStopReason::WouldBlockForever
    );
    assert_eq!(outcome.final_values, [1]);
}
