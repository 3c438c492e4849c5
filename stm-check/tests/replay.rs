//! A failing execution found by a recorded scheduler replays exactly: the
//! same failure and the identical history, 100 times out of 100.

use shuttle::scheduler::PctScheduler;
use std::sync::{Arc, Mutex};
use stm_check::history::check;
use stm_check::record::{history_hash, HistoryRecorder};
use stm_check::schedule::{replay, run_recorded, Outcome};
use stm_core::{InjectedBug, ShuttlePlatform, Stm, StmConfig};

/// Two increments of one counter on an engine that skips read validation;
/// fails when the recorded history shows the lost update. Each run's
/// history hash is appended to `hashes`.
fn lost_update(hashes: &Mutex<Vec<String>>) {
    let recorder = Arc::new(HistoryRecorder::new());
    let stm = Stm::<ShuttlePlatform>::with_injected_bug(
        StmConfig::default(),
        Some(recorder.clone()),
        InjectedBug::SkipReadValidation,
    );
    let counter = stm.new_tvar(0i64);
    recorder.set_initial(counter.id(), 0);
    let t = {
        let (stm2, counter) = (stm.clone(), counter.clone());
        stm.spawn(move || stm2.atomically(|tx| tx.modify(&counter, |n| n + 1)))
    };
    stm.atomically(|tx| tx.modify(&counter, |n| n + 1));
    t.join().unwrap();
    let history = recorder.history();
    hashes.lock().unwrap().push(history_hash(&history));
    let report = check(&history).unwrap();
    assert!(
        report.is_valid(),
        "lost update: counter = {}",
        counter.load()
    );
}

#[test]
fn a_found_failure_replays_identically_100_times() {
    let found = Arc::new(Mutex::new(Vec::new()));
    let hashes = found.clone();
    let outcome = run_recorded(PctScheduler::new_from_seed(7, 3, 1_000), move || {
        lost_update(&hashes)
    });
    let Outcome::Failed(failure) = outcome else {
        panic!("PCT should find the lost update: {outcome:?}");
    };
    assert!(
        failure.message.contains("lost update: counter = 1"),
        "{}",
        failure.message
    );
    let failing_hash = found.lock().unwrap().last().cloned().unwrap();
    assert!(!failure.schedule.steps.is_empty());

    let replayed = Arc::new(Mutex::new(Vec::new()));
    for _ in 0..100 {
        let hashes = replayed.clone();
        let (result, divergence) = replay(&failure.schedule, move || lost_update(&hashes));
        assert_eq!(result, Err(failure.message.clone()));
        assert_eq!(divergence, None);
    }
    let replayed = replayed.lock().unwrap();
    assert_eq!(replayed.len(), 100);
    assert!(
        replayed.iter().all(|h| *h == failing_hash),
        "a replay produced another history"
    );
}

#[test]
fn a_schedule_for_another_program_is_reported_as_diverging() {
    let outcome = run_recorded(PctScheduler::new_from_seed(7, 3, 1_000), || {
        lost_update(&Mutex::new(Vec::new()))
    });
    let Outcome::Failed(failure) = outcome else {
        panic!("expected a failure")
    };
    // Replay it against a program with one more thread.
    let (_, divergence) = replay(&failure.schedule, || {
        let stm = Stm::<ShuttlePlatform>::for_platform();
        let v = stm.new_tvar(0);
        let handles: Vec<_> = (0..3)
            .map(|_| {
                let (stm2, v) = (stm.clone(), v.clone());
                stm.spawn(move || stm2.atomically(|tx| tx.modify(&v, |n| n + 1)))
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
    });
    let divergence = divergence.expect("the schedule does not fit this program");
    assert!(divergence.detail.contains("task"), "{divergence:?}");
}
