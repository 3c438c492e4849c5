//! `Workload::with_threads` (`explore --threads T`): every built-in scales
//! to a range of thread counts, stays valid, keeps its invariants true on a
//! serial run, on real threads and under PCT, and refuses the counts it
//! cannot take with an error saying why.

use std::sync::{Arc, Mutex};
use stm_check::explore::{explore, workload_target, ExploreConfig};
use stm_check::schedule::{replay, Schedule};
use stm_check::workload::{Invariant, Problem, Workload, WorkloadError, BUILTIN_NAMES};
use stm_core::{ShuttlePlatform, Stm};

fn builtin(name: &str) -> Workload {
    Workload::builtin(name).unwrap()
}

/// The outcome of one run of `workload` under shuttle with the threads one
/// after another (the replay scheduler's fallback keeps the running thread).
fn serial_outcome(workload: &Workload) -> stm_check::workload::WorkloadOutcome {
    let slot = Arc::new(Mutex::new(None));
    let (record, run) = (slot.clone(), Arc::new(workload.clone()));
    let (result, _) = replay(&Schedule::default(), move || {
        *record.lock().unwrap() = Some(run.run(&Stm::<ShuttlePlatform>::for_platform()));
    });
    assert_eq!(result, Ok(()), "{}", workload.name);
    let outcome = slot.lock().unwrap().take().unwrap();
    outcome
}

#[test]
fn every_builtin_scales_and_keeps_its_invariants() {
    for name in BUILTIN_NAMES {
        let workload = builtin(name);
        let own = workload.threads.len();
        let min = workload
            .scaling
            .as_ref()
            .and_then(|s| s.min_threads)
            .unwrap_or(1);
        for threads in min..=6 {
            let scaled = workload
                .with_threads(threads)
                .unwrap_or_else(|e| panic!("{name} with {threads} threads: {e}"));
            assert_eq!(scaled.threads.len(), threads, "{name}");
            assert!(scaled.validate().is_ok(), "{name} x{threads}");
            // The workload's own threads come first, in their roles.
            let kept = threads.min(own);
            assert_eq!(scaled.threads[..kept], workload.threads[..kept], "{name}");
            // Its JSON reads back as the same workload.
            assert_eq!(
                Workload::from_json_str(&scaled.to_json_string()).unwrap(),
                scaled
            );
            if threads == own {
                assert_eq!(scaled, workload, "{name}: its own count changes nothing");
                assert_eq!(workload_target(&scaled), workload_target(&workload));
            } else {
                assert_ne!(workload_target(&scaled), workload_target(&workload));
            }
            let outcome = serial_outcome(&scaled);
            assert!(outcome.is_ok(), "{name} x{threads} serially: {outcome}");
            let outcome = scaled.run(&Stm::new());
            assert!(outcome.is_ok(), "{name} x{threads} on threads: {outcome}");
        }
    }
}

#[test]
fn scaled_builtins_explore_clean_under_pct() {
    let dir = tempfile::tempdir().unwrap();
    for name in BUILTIN_NAMES {
        let scaled = builtin(name).with_threads(4).unwrap();
        let config = ExploreConfig {
            iterations: 60,
            regressions: dir.path().to_path_buf(),
            ..ExploreConfig::default()
        };
        let summary = explore(&scaled, &config, Arc::new(|_| {})).unwrap();
        assert!(
            summary.failure.is_none(),
            "{name} x4: {}",
            summary.failure.unwrap().message
        );
        assert_eq!(summary.schedules, 60);
    }
}

#[test]
fn derived_values_follow_the_thread_count() {
    // Each extra incrementer of `queue`'s other thread adds 100 to the total.
    let queue = builtin("queue").with_threads(4).unwrap();
    assert!(queue
        .invariants
        .contains(&Invariant::Equals { var: 0, value: 220 }));
    assert!(queue
        .invariants
        .contains(&Invariant::Equals { var: 1, value: 8 }));
    // `ordered` copies only its adder: y gets 10 more per copy.
    let ordered = builtin("ordered").with_threads(4).unwrap();
    assert_eq!(ordered.threads[2], ordered.threads[1]);
    assert_eq!(ordered.threads[3], ordered.threads[1]);
    assert!(ordered
        .invariants
        .contains(&Invariant::Equals { var: 1, value: 33 }));
    // Counters and preserved sums are derived from the run: unchanged.
    let counter = builtin("counter").with_threads(5).unwrap();
    assert_eq!(counter.invariants[0], Invariant::Counter(0));
}

#[test]
fn counts_a_workload_cannot_take_are_refused_with_the_reason() {
    let message =
        |name: &str, threads: usize| builtin(name).with_threads(threads).unwrap_err().to_string();
    assert_eq!(
        message("bank", 0),
        "workload `bank` cannot run with 0 thread(s): a workload needs at least one thread"
    );
    assert_eq!(
        message("counter", 2),
        "workload `counter` cannot run with 2 thread(s): it needs at least 3 threads"
    );

    let fixed = Workload::from_json_str(
        r#"{"format": "stm-workload", "version": 1, "name": "pinned",
            "vars": [{"initial": 0}],
            "threads": [{"steps": [{"atomically": {"ops": [{"add": {"var": 0, "amount": 1}}]}}]}],
            "scaling": {"fixed": true}}"#,
    )
    .unwrap();
    assert_eq!(fixed.with_threads(1).unwrap(), fixed);
    let error = fixed.with_threads(2).unwrap_err();
    assert!(
        matches!(&error, WorkloadError::CannotScale { threads: 2, .. }),
        "{error:?}"
    );
    assert!(error.to_string().contains("fixed"), "{error}");

    // An invariant that only held for the workload's own threads: one more
    // incrementer breaks `v0 <= 1` in every order.
    let bounded = Workload::from_json_str(
        r#"{"format": "stm-workload", "version": 1, "name": "bounded",
            "vars": [{"initial": 0}],
            "threads": [{"steps": [{"atomically": {"ops": [{"add": {"var": 0, "amount": 1}}]}}]},
                        {"steps": [{"atomically": {"ops": [{"read": 0}]}}]}],
            "invariants": [{"holds": {"sum": [0], "cmp": "<=", "value": 1}}]}"#,
    )
    .unwrap();
    assert!(bounded.with_threads(1).is_ok());
    let error = bounded.with_threads(3).unwrap_err().to_string();
    assert!(
        error.contains(
            "a serial run of the scaled workload on a correct engine shows invariant v0 <= 1"
        ),
        "{error}"
    );
}

#[test]
fn invalid_scaling_fields_are_refused_where_they_are() {
    let with_scaling = |scaling: &str| {
        Workload::from_json_str(&format!(
            r#"{{"format": "stm-workload", "version": 1,
                "vars": [{{"initial": 0}}],
                "threads": [{{"steps": [{{"atomically": {{"ops": [{{"read": 0}}]}}}}]}}],
                "scaling": {scaling}}}"#
        ))
        .unwrap_err()
    };
    let error = with_scaling(r#"{"cycle": [0, 1]}"#);
    assert_eq!(
        error.problem(),
        Some(&Problem::ThreadOutOfRange {
            thread: 1,
            threads: 1
        })
    );
    assert!(
        error.to_string().starts_with("scaling.cycle[1] (line 4"),
        "{error}"
    );
    let error = with_scaling(r#"{"min_threads": 0}"#);
    assert_eq!(error.problem(), Some(&Problem::ZeroMinThreads));
    let error = with_scaling(r#"{"fixed": true, "min_threads": 2}"#);
    assert_eq!(error.problem(), Some(&Problem::FixedScalingWithOptions));
    let error = with_scaling(r#"{"threads": 2}"#);
    assert!(
        error.to_string().contains("unknown field `threads`"),
        "{error}"
    );
}
