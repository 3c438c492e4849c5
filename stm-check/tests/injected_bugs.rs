//! Each STM bug that stm-core can inject and shuttle can show (test-only feature
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

/// How one execution of a scenario runs: with `bug` switched on (or none),
/// on a runtime with `config`, leaving its recorder in `last`.
struct Run {
    bug: Option<InjectedBug>,
    config: StmConfig,
    last: LastHash,
}

/// A small program that exposes some bug, run as `Run` says.
type Scenario = fn(&Run);

/// A recorded runtime as `run` says; its recorder is also left in
/// `run.last`.
fn runtime(run: &Run) -> (Runtime, Arc<HistoryRecorder>) {
    let recorder = Arc::new(HistoryRecorder::new());
    *run.last.lock().unwrap() = Some(recorder.clone());
    let stm = match run.bug {
        Some(bug) => Runtime::with_injected_bug(run.config, Some(recorder.clone()), bug),
        None => Runtime::for_platform_with_recorder(run.config, recorder.clone()),
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
fn lost_update(run: &Run) {
    let (stm, recorder) = runtime(run);
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

/// Three increments of one counter, each on its own thread: with serial
/// mode reached after one conflict, one can run irrevocably while another
/// commits; checked through the final count and the history.
fn three_increments(run: &Run) {
    let (stm, recorder) = runtime(run);
    let counter = stm.new_tvar(0i64);
    recorder.set_initial(counter.id(), 0);
    let others: Vec<_> = (0..2)
        .map(|_| {
            let (stm2, counter) = (stm.clone(), counter.clone());
            stm.spawn(move || stm2.atomically(|tx| tx.modify(&counter, |n| n + 1)))
        })
        .collect();
    stm.atomically(|tx| tx.modify(&counter, |n| n + 1));
    for t in others {
        t.join().unwrap();
    }
    assert_eq!(counter.load(), 3);
    assert_history_valid(&recorder);
}

/// A transfer x -> y and an auditor of x + y, checked through the history.
fn torn_transfer(run: &Run) {
    let (stm, recorder) = runtime(run);
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
fn retry_wakeup(run: &Run) {
    let (stm, recorder) = runtime(run);
    let flag = stm.new_tvar(false);
    let setter = {
        let (stm2, flag) = (stm.clone(), flag.clone());
        stm.spawn(move || stm2.atomically(|tx| tx.write(&flag, true)))
    };
    stm.atomically(|tx| if tx.read(&flag)? { Ok(()) } else { tx.retry() });
    setter.join().unwrap();
    assert_history_valid(&recorder);
}

/// Two waiters blocked in `retry` on one flag, which a third thread sets:
/// both must be woken (a waiter left asleep is a deadlock, which shuttle
/// reports).
fn two_retry_waiters(run: &Run) {
    let (stm, recorder) = runtime(run);
    let flag = stm.new_tvar(false);
    let waiters: Vec<_> = (0..2)
        .map(|_| {
            let (stm2, flag) = (stm.clone(), flag.clone());
            stm.spawn(move || {
                stm2.atomically(|tx| if tx.read(&flag)? { Ok(()) } else { tx.retry() })
            })
        })
        .collect();
    stm.atomically(|tx| tx.write(&flag, true));
    for waiter in waiters {
        waiter.join().unwrap();
    }
    assert_history_valid(&recorder);
}

/// A reservation that writes a slot, then overwrites it in an `or_else`
/// alternative that retries while the stock is empty, racing a restock:
/// the alternative's write is taken back with it, so the slot holds what
/// the taken branch says.
fn or_else_overwrite(run: &Run) {
    let (stm, recorder) = runtime(run);
    let slot = stm.new_tvar(0i64);
    let stock = stm.new_tvar(0i64);
    recorder.set_initial(slot.id(), 0);
    recorder.set_initial(stock.id(), 0);
    let restock = {
        let (stm2, stock) = (stm.clone(), stock.clone());
        stm.spawn(move || stm2.atomically(|tx| tx.write(&stock, 1)))
    };
    let branch = stm.atomically(|tx| {
        tx.write(&slot, 1)?;
        tx.or_else(
            |tx| {
                tx.write(&slot, 2)?;
                if tx.read(&stock)? > 0 {
                    Ok(2)
                } else {
                    tx.retry()
                }
            },
            |_| Ok(1),
        )
    });
    restock.join().unwrap();
    assert_eq!(
        slot.load(),
        branch,
        "branch {branch} was taken, but the slot holds another branch's write"
    );
    assert_history_valid(&recorder);
}

/// One transaction writes 17 TVars (more than the write set searches
/// linearly) and reads the first back, while another thread increments
/// it: the read returns the transaction's own write.
fn wide_write_set(run: &Run) {
    let (stm, recorder) = runtime(run);
    let vars: Vec<TVar<i64, ShuttlePlatform>> = (0..17).map(|_| stm.new_tvar(0i64)).collect();
    for v in &vars {
        recorder.set_initial(v.id(), 0);
    }
    let bumper = {
        let (stm2, first) = (stm.clone(), vars[0].clone());
        stm.spawn(move || stm2.atomically(|tx| tx.modify(&first, |n| n + 1)))
    };
    let first = stm.atomically(|tx| {
        for (i, v) in vars.iter().enumerate() {
            tx.write(v, 100 + i as i64)?;
        }
        tx.read(&vars[0])
    });
    bumper.join().unwrap();
    assert_eq!(
        first, 100,
        "a transaction read its own write back as {first}"
    );
    assert_history_valid(&recorder);
}

const BUDGET: usize = 2_000;

/// Serial mode reached after one conflict, while other transactions run
/// optimistically.
fn irrevocable_after_one() -> StmConfig {
    StmConfig {
        irrevocable_after: 1,
        ..StmConfig::default()
    }
}

/// A bug, the scenario that shows it, the runtime's settings, and the
/// depth PCT needs to find it.
struct Case {
    bug: InjectedBug,
    scenario: Scenario,
    config: fn() -> StmConfig,
    /// 3, unless the bug needs more ordered context switches:
    /// `serial-mode-not-exclusive` needs a conflict, then a transaction
    /// that begins before the retry enters serial mode and commits after
    /// it has read (PCT finds it from depth 5; random schedules at once).
    pct_depth: usize,
}

const CASES: [Case; 11] = [
    Case {
        bug: InjectedBug::SkipReadValidation,
        scenario: lost_update,
        config: StmConfig::default,
        pct_depth: 3,
    },
    Case {
        bug: InjectedBug::UnlockBeforeWriteBack,
        scenario: torn_transfer,
        config: StmConfig::default,
        pct_depth: 3,
    },
    Case {
        bug: InjectedBug::ReadWithoutVersionCheck,
        scenario: torn_transfer,
        config: StmConfig::default,
        pct_depth: 3,
    },
    Case {
        bug: InjectedBug::LoseRetryWakeup,
        scenario: retry_wakeup,
        config: StmConfig::default,
        pct_depth: 3,
    },
    Case {
        bug: InjectedBug::ValidateBeforeLock,
        scenario: lost_update,
        config: StmConfig::default,
        pct_depth: 3,
    },
    Case {
        bug: InjectedBug::ExtendWithoutValidation,
        scenario: torn_transfer,
        config: StmConfig::default,
        pct_depth: 3,
    },
    Case {
        bug: InjectedBug::OrElseUndoOverwrite,
        scenario: or_else_overwrite,
        config: StmConfig::default,
        pct_depth: 3,
    },
    Case {
        bug: InjectedBug::WriteIndexMiss,
        scenario: wide_write_set,
        config: StmConfig::default,
        pct_depth: 3,
    },
    Case {
        bug: InjectedBug::WakeOneWaiter,
        scenario: two_retry_waiters,
        config: StmConfig::default,
        pct_depth: 3,
    },
    Case {
        bug: InjectedBug::FailedCommitBumpsVersion,
        scenario: lost_update,
        config: StmConfig::default,
        pct_depth: 3,
    },
    Case {
        bug: InjectedBug::SerialModeNotExclusive,
        scenario: three_increments,
        config: irrevocable_after_one,
        pct_depth: 5,
    },
];

fn runner(
    scenario: Scenario,
    bug: Option<InjectedBug>,
    config: StmConfig,
    last: LastHash,
) -> impl Fn() + Send + Sync + Clone + 'static {
    move || {
        scenario(&Run {
            bug,
            config,
            last: last.clone(),
        })
    }
}

#[test]
fn every_injected_bug_is_found_saved_shrunk_and_replayed() {
    let dir = tempfile::tempdir().unwrap();
    for case in CASES {
        let (bug, scenario, config, depth) =
            (case.bug, case.scenario, (case.config)(), case.pct_depth);
        let last: LastHash = Arc::default();
        let random = run_recorded(
            RandomScheduler::new_from_seed(0, BUDGET),
            runner(scenario, Some(bug), config, last.clone()),
        );
        let pct = run_recorded(
            PctScheduler::new_from_seed(0, depth, BUDGET),
            runner(scenario, Some(bug), config, last.clone()),
        );
        let (Outcome::Failed(by_random), Outcome::Failed(by_pct)) = (random, pct) else {
            panic!(
                "{} was not found within {BUDGET} schedules by both schedulers",
                bug.name()
            );
        };
        println!(
            "{:<30} found after {:>4} schedules with random (seed 0), {:>4} with PCT (depth {depth}, seed 0)",
            bug.name(),
            by_random.execution,
            by_pct.execution
        );
        println!(
            "{:<30} as: {}",
            "",
            by_pct
                .message
                .lines()
                .find(|l| !l.trim().is_empty() && *l != "history rejected:")
                .unwrap_or_default()
        );

        // Shrink PCT's schedule, save it, and replay it 100 times.
        let shrunk = shrink(
            &by_pct.schedule,
            &by_pct.message,
            300,
            runner(scenario, Some(bug), config, last.clone()),
        );
        assert!(shrunk.context_switches <= by_pct.schedule.context_switches());
        let confirming = replay_expecting(
            &shrunk.schedule,
            None,
            runner(scenario, Some(bug), config, last.clone()),
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
                depth: Some(depth),
                injected_bug: Some(bug.name().into()),
                shard: None,
            },
            config,
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
            let (result, executed) = replay_recording(
                &loaded.schedule,
                runner(scenario, Some(bug), config, last.clone()),
            );
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
            "{:<30} saved {} steps ({} switches; found with {} steps, {} switches); 100 replays identical",
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
    for case in CASES {
        let (scenario, config, depth) = (case.scenario, (case.config)(), case.pct_depth);
        let last: LastHash = Arc::default();
        let outcome = run_recorded(
            PctScheduler::new_from_seed(0, depth, BUDGET),
            runner(scenario, None, config, last.clone()),
        );
        assert_eq!(outcome, Outcome::Passed { executions: BUDGET });
        let outcome = run_recorded(
            RandomScheduler::new_from_seed(0, BUDGET),
            runner(scenario, None, config, last),
        );
        assert_eq!(outcome, Outcome::Passed { executions: BUDGET });
    }
}
