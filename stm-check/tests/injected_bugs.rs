//! Each classic STM bug that stm-core can inject (test-only feature
//! `bug-injection`) is found by stm-check under shuttle's random and PCT
//! schedulers, then shrunk, saved as a schedule file, and replayed 100 times
//! with the identical failure and history. The schedules each scheduler
//! needed are printed (`--nocapture`) and bounded by the budget.

use shuttle::scheduler::{PctScheduler, RandomScheduler};
use std::sync::{Arc, Mutex};
use stm_check::history::check;
use stm_check::record::{history_hash, HistoryRecorder};
use stm_check::schedule::{
    replay_expecting, replay_recording, run_recorded, shrink, ConfirmedExecution, DriverInfo,
    Outcome, ScheduleFile, Target,
};
use stm_core::{InjectedBug, ShuttlePlatform, Stm, StmConfig, TVar};

type Runtime = Stm<ShuttlePlatform>;

/// The recorder of the last execution, kept so that its history can be
/// fingerprinted after the run, also when the run deadlocked.
type LastHash = Arc<Mutex<Option<Arc<HistoryRecorder>>>>;

/// The fingerprint of the last execution's history.
fn last_history_hash(last: &LastHash) -> Option<String> {
    last.lock()
        .unwrap()
        .as_ref()
        .map(|r| history_hash(&r.history()))
}

/// A small program that exposes some bug, run with that bug (or none).
type Scenario = fn(Option<InjectedBug>, &LastHash);

/// A recorded runtime, with `bug` switched on if given; its recorder is
/// also left in `last`.
fn runtime(bug: Option<InjectedBug>, last: &LastHash) -> (Runtime, Arc<HistoryRecorder>) {
    let recorder = Arc::new(HistoryRecorder::new());
    *last.lock().unwrap() = Some(recorder.clone());
    let stm = match bug {
        Some(bug) => Runtime::with_injected_bug(StmConfig::default(), Some(recorder.clone()), bug),
        None => Runtime::for_platform_with_recorder(StmConfig::default(), recorder.clone()),
    };
    (stm, recorder)
}

fn assert_history_valid(recorder: &HistoryRecorder) {
    let history = recorder.history();
    let report = check(&history).unwrap();
    let mut text = String::new();
    report.write_text(&mut text, 3).unwrap();
    assert!(report.is_valid(), "history rejected:\n{text}");
}

/// Two increments of one counter, checked through the history.
fn lost_update(bug: Option<InjectedBug>, last: &LastHash) {
    let (stm, recorder) = runtime(bug, last);
    let counter = stm.new_tvar(0i64);
    recorder.set_initial(counter.id(), 0);
    let t = {
        let (stm2, counter) = (stm.clone(), counter.clone());
        stm.spawn(move || stm2.atomically(|tx| tx.modify(&counter, |n| n + 1)))
    };
    stm.atomically(|tx| tx.modify(&counter, |n| n + 1));
    t.join().unwrap();
    assert_history_valid(&recorder);
}

/// A transfer x -> y and an auditor of x + y, checked through the history.
fn torn_transfer(bug: Option<InjectedBug>, last: &LastHash) {
    let (stm, recorder) = runtime(bug, last);
    let x: TVar<i64, ShuttlePlatform> = stm.new_tvar(10);
    let y = stm.new_tvar(0i64);
    recorder.set_initial(x.id(), 10);
    recorder.set_initial(y.id(), 0);
    let writer = {
        let (stm2, x, y) = (stm.clone(), x.clone(), y.clone());
        stm.spawn(move || {
            for _ in 0..2 {
                stm2.atomically(|tx| {
                    tx.modify(&x, |v| v - 1)?;
                    tx.modify(&y, |v| v + 1)
                });
            }
        })
    };
    let _ = stm.atomically(|tx| Ok(tx.read(&x)? + tx.read(&y)?));
    writer.join().unwrap();
    assert_history_valid(&recorder);
}

/// A waiter blocked in `retry` on a flag the other thread sets (a lost
/// wake-up is a deadlock, which shuttle reports).
fn retry_wakeup(bug: Option<InjectedBug>, last: &LastHash) {
    let (stm, recorder) = runtime(bug, last);
    let flag = stm.new_tvar(false);
    let setter = {
        let (stm2, flag) = (stm.clone(), flag.clone());
        stm.spawn(move || stm2.atomically(|tx| tx.write(&flag, true)))
    };
    stm.atomically(|tx| if tx.read(&flag)? { Ok(()) } else { tx.retry() });
    setter.join().unwrap();
    assert_history_valid(&recorder);
}

const BUDGET: usize = 2_000;
const CASES: [(InjectedBug, Scenario); 4] = [
    (InjectedBug::SkipReadValidation, lost_update),
    (InjectedBug::UnlockBeforeWriteBack, torn_transfer),
    (InjectedBug::ReadWithoutVersionCheck, torn_transfer),
    (InjectedBug::LoseRetryWakeup, retry_wakeup),
];

fn runner(
    scenario: Scenario,
    bug: Option<InjectedBug>,
    last: LastHash,
) -> impl Fn() + Send + Sync + Clone + 'static {
    move || scenario(bug, &last)
}

#[test]
fn every_injected_bug_is_found_saved_shrunk_and_replayed() {
    let dir = tempfile::tempdir().unwrap();
    for (bug, scenario) in CASES {
        let last: LastHash = Arc::default();
        let random = run_recorded(
            RandomScheduler::new_from_seed(0, BUDGET),
            runner(scenario, Some(bug), last.clone()),
        );
        let pct = run_recorded(
            PctScheduler::new_from_seed(0, 3, BUDGET),
            runner(scenario, Some(bug), last.clone()),
        );
        let (Outcome::Failed(by_random), Outcome::Failed(by_pct)) = (random, pct) else {
            panic!(
                "{} was not found within {BUDGET} schedules by both schedulers",
                bug.name()
            );
        };
        println!(
            "{:<28} found after {:>4} schedules with random (seed 0), {:>4} with PCT (depth 3, seed 0)",
            bug.name(),
            by_random.execution,
            by_pct.execution
        );

        // Shrink PCT's schedule, save it, and replay it 100 times.
        let shrunk = shrink(
            &by_pct.schedule,
            &by_pct.message,
            300,
            runner(scenario, Some(bug), last.clone()),
        );
        assert!(shrunk.context_switches <= by_pct.schedule.context_switches());
        let confirming = replay_expecting(
            &shrunk.schedule,
            None,
            runner(scenario, Some(bug), last.clone()),
        );
        let (result, tasks) = (confirming.result, confirming.tasks);
        assert_eq!(
            result,
            Err(by_pct.message.clone()),
            "{}: the shrunk schedule fails alike",
            bug.name()
        );
        let saved_hash = last_history_hash(&last);
        assert!(
            saved_hash.is_some(),
            "{}: the failing history is fingerprinted",
            bug.name()
        );
        let file = ScheduleFile::new(
            Target::Test {
                name: bug.name().to_string(),
            },
            DriverInfo {
                scheduler: "pct".into(),
                seed: Some(0),
                depth: Some(3),
                injected_bug: Some(bug.name().into()),
                shard: None,
            },
            StmConfig::default(),
            by_pct.message.clone(),
            ConfirmedExecution {
                history_hash: saved_hash.clone(),
                tasks,
            },
            &by_pct.schedule,
            shrunk,
        );
        let path = file.save_new(dir.path(), bug.name()).unwrap();
        let loaded = ScheduleFile::load(&path).unwrap();
        assert_eq!(loaded, file);
        for _ in 0..100 {
            let (result, executed) =
                replay_recording(&loaded.schedule, runner(scenario, Some(bug), last.clone()));
            assert_eq!(result, Err(loaded.failure.clone()), "{}", bug.name());
            assert!(executed.steps.len() >= loaded.schedule.steps.len());
            assert_eq!(
                last_history_hash(&last),
                loaded.history_hash,
                "{}: another history",
                bug.name()
            );
        }
        println!(
            "{:<28} saved {} steps ({} switches; found with {} steps, {} switches); 100 replays identical",
            "",
            loaded.schedule.steps.len(),
            loaded.shrunk_switches,
            loaded.recorded_steps,
            loaded.recorded_switches
        );
    }
}

#[test]
fn without_a_bug_the_scenarios_pass() {
    for (_, scenario) in CASES {
        let last: LastHash = Arc::default();
        let outcome = run_recorded(
            PctScheduler::new_from_seed(0, 3, BUDGET),
            runner(scenario, None, last.clone()),
        );
        assert_eq!(outcome, Outcome::Passed { executions: BUDGET });
        let outcome = run_recorded(
            RandomScheduler::new_from_seed(0, BUDGET),
            runner(scenario, None, last),
        );
        assert_eq!(outcome, Outcome::Passed { executions: BUDGET });
    }
}
