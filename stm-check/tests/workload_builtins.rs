//! Every built-in workload runs without violation on std threads and under
//! shuttle's random and PCT schedulers, records a history the checker
//! accepts, and round-trips through its JSON format.

use stm_check::history::{check, History};
use stm_check::workload::{Workload, WorkloadOutcome, BUILTIN_NAMES};
use stm_core::{Platform, ShuttlePlatform, Std, StmConfig};

fn builtin(name: &str) -> Workload {
    Workload::builtin(name).unwrap_or_else(|| panic!("no built-in {name}"))
}

/// Runs `name` recorded on `P`; panics with the outcome and the checker's
/// report unless both are clean.
fn run_clean<P: Platform>(name: &str, config: StmConfig) -> WorkloadOutcome {
    let (outcome, history) = builtin(name).run_recorded::<P>(config);
    assert!(outcome.is_ok(), "{name}: {outcome}");
    assert_history_valid(name, &history);
    outcome
}

fn assert_history_valid(name: &str, history: &History) {
    let report = check(history).expect("a recorded history is well-formed");
    let mut text = String::new();
    report.write_text(&mut text, 5).unwrap();
    assert!(report.is_valid(), "{name}: history rejected:\n{text}");
    assert!(report.committed > 0, "{name}: nothing was recorded");
}

fn serial_after_one_conflict() -> StmConfig {
    StmConfig {
        irrevocable_after: 1,
        ..StmConfig::default()
    }
}

#[test]
fn the_builtins_are_the_documented_six() {
    assert_eq!(
        BUILTIN_NAMES,
        [
            "bank",
            "counter",
            "read-skew",
            "write-skew",
            "queue",
            "ordered"
        ]
    );
    for name in BUILTIN_NAMES {
        let workload = builtin(name);
        assert!(
            !workload.description.is_empty(),
            "{name} has no description"
        );
        assert!((2..=3).contains(&workload.threads.len()), "{name}: threads");
        assert!((2..=4).contains(&workload.vars.len()), "{name}: vars");
        assert!(!workload.invariants.is_empty(), "{name}: no invariant");
    }
}

#[test]
fn builtins_round_trip_through_json() {
    for name in BUILTIN_NAMES {
        let workload = builtin(name);
        for text in [workload.to_json_string(), workload.to_json_pretty()] {
            assert!(
                text.contains(r#""format":"stm-workload""#)
                    || text.contains(r#""format": "stm-workload""#)
            );
            assert_eq!(Workload::from_json_str(&text).unwrap(), workload, "{name}");
        }
    }
}

#[test]
fn builtins_hold_on_std_threads() {
    for name in BUILTIN_NAMES {
        for _ in 0..20 {
            run_clean::<Std>(name, StmConfig::default());
            run_clean::<Std>(name, serial_after_one_conflict());
        }
    }
}

/// The exact counts each built-in must produce, whatever the schedule.
#[test]
fn builtins_commit_what_they_should() {
    let counts = |name| {
        let outcome = run_clean::<Std>(name, StmConfig::default());
        (
            outcome.commits,
            outcome.user_aborts,
            outcome.queue_stops.len(),
        )
    };
    assert_eq!(counts("bank"), (5, 0, 0));
    assert_eq!(counts("counter"), (7, 0, 0));
    assert_eq!(counts("read-skew"), (6, 0, 0));
    assert_eq!(counts("write-skew"), (1, 1, 0));
    assert_eq!(counts("queue"), (6, 0, 0));
    assert_eq!(counts("ordered"), (5, 0, 0));
}

#[test]
fn builtins_hold_under_shuttle_random() {
    for name in BUILTIN_NAMES {
        shuttle::check_random(
            move || {
                run_clean::<ShuttlePlatform>(name, StmConfig::default());
            },
            300,
        );
    }
}

#[test]
fn builtins_hold_under_shuttle_pct() {
    for name in BUILTIN_NAMES {
        shuttle::check_pct(
            move || {
                run_clean::<ShuttlePlatform>(name, serial_after_one_conflict());
            },
            300,
            3,
        );
    }
}

/// The schedulers really explore: across schedules the `counter` bonus
/// branch both runs (10) and is undone (6), and either `write-skew`
/// withdrawal can be the one that commits.
#[test]
fn shuttle_reaches_every_outcome() {
    use std::collections::BTreeSet;
    use std::sync::{Arc, Mutex};
    let seen = Arc::new(Mutex::new(BTreeSet::new()));
    for name in ["counter", "write-skew"] {
        let seen = seen.clone();
        shuttle::check_random(
            move || {
                let outcome = run_clean::<ShuttlePlatform>(name, StmConfig::default());
                seen.lock().unwrap().insert((name, outcome.final_values));
            },
            300,
        );
    }
    let seen: Vec<_> = seen.lock().unwrap().iter().cloned().collect();
    assert_eq!(
        seen,
        [
            ("counter", vec![6, 1]),
            ("counter", vec![10, 1]),
            ("write-skew", vec![-50, 50]),
            ("write-skew", vec![50, -50]),
        ]
    );
}

/// A run depends only on the schedule: shuttle finds no nondeterminism it
/// does not control, and the same seed gives the same outcomes, counts and
/// statistics included (what replaying a failure needs).
#[test]
fn runs_are_deterministic_given_the_schedule() {
    use std::sync::{Arc, Mutex};
    for name in BUILTIN_NAMES {
        shuttle::check_uncontrolled_nondeterminism(
            move || {
                builtin(name).run(&stm_core::Stm::<ShuttlePlatform>::for_platform());
            },
            50,
        );
        let runs = |seed| {
            let outcomes = Arc::new(Mutex::new(Vec::new()));
            let sink = outcomes.clone();
            shuttle::check_random_with_seed(
                move || {
                    let (outcome, history) =
                        builtin(name).run_recorded::<ShuttlePlatform>(StmConfig::default());
                    sink.lock()
                        .unwrap()
                        .push((outcome, history.to_json_string()));
                },
                seed,
                40,
            );
            Arc::try_unwrap(outcomes).unwrap().into_inner().unwrap()
        };
        let first = runs(7);
        assert_eq!(first.len(), 40);
        assert_eq!(first, runs(7), "{name}: same seed, different runs");
    }
}
