//! Each classic STM bug that stm-core can inject is found under shuttle,
//! through what stm-check checks: the recorded history, an invariant, or a
//! deadlock. Prints how many schedules each scheduler needed (run with
//! `--nocapture` to see them) and asserts each is found within its budget.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use stm_check::history::check;
use stm_check::record::HistoryRecorder;
use stm_core::{InjectedBug, ShuttlePlatform, Stm, StmConfig, TVar};

type Runtime = Stm<ShuttlePlatform>;

/// A small program that exposes some bug, run with that bug (or none).
type Scenario = fn(Option<InjectedBug>);

/// A recorded runtime, with `bug` switched on if given.
fn runtime(bug: Option<InjectedBug>) -> (Runtime, Arc<HistoryRecorder>) {
    let recorder = Arc::new(HistoryRecorder::new());
    let stm = match bug {
        Some(bug) => Runtime::with_injected_bug(StmConfig::default(), Some(recorder.clone()), bug),
        None => Runtime::for_platform_with_recorder(StmConfig::default(), recorder.clone()),
    };
    (stm, recorder)
}

fn assert_history_valid(recorder: &HistoryRecorder) {
    let report = check(&recorder.history()).unwrap();
    let mut text = String::new();
    report.write_text(&mut text, 3).unwrap();
    assert!(report.is_valid(), "history rejected:\n{text}");
}

/// Two increments of one counter, checked through the history.
fn lost_update(bug: Option<InjectedBug>) {
    let (stm, recorder) = runtime(bug);
    let counter = stm.new_tvar(0i64);
    recorder.set_initial(counter.id(), 0);
    let t = {
        let (stm2, counter) = (stm.clone(), counter.clone());
        stm.spawn(move || stm2.atomically(|tx| tx.modify(&counter, |n| n + 1)))
    };
    stm.atomically(|tx| tx.modify(&counter, |n| n + 1));
    t.join().unwrap();
    assert_history_valid(&recorder);
    assert_eq!(counter.load(), 2, "lost update");
}

/// A transfer x -> y and an auditor of x + y, checked through the history.
fn torn_transfer(bug: Option<InjectedBug>) {
    let (stm, recorder) = runtime(bug);
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

/// A waiter blocked in `retry` on a flag the other thread sets.
fn retry_wakeup(bug: Option<InjectedBug>) {
    let (stm, _recorder) = runtime(bug);
    let flag = stm.new_tvar(false);
    let setter = {
        let (stm2, flag) = (stm.clone(), flag.clone());
        stm.spawn(move || stm2.atomically(|tx| tx.write(&flag, true)))
    };
    stm.atomically(|tx| if tx.read(&flag)? { Ok(()) } else { tx.retry() });
    setter.join().unwrap();
}

/// Runs `scenario` under a scheduler until it fails; returns the number of
/// schedules explored, or `None` if none failed within the budget.
fn schedules_to_find(
    run: impl FnOnce(Box<dyn Fn() + Send + Sync>),
    scenario: Scenario,
    bug: InjectedBug,
) -> Option<usize> {
    let explored = Arc::new(AtomicUsize::new(0));
    let counter = explored.clone();
    let test = Box::new(move || {
        counter.fetch_add(1, Ordering::Relaxed);
        scenario(Some(bug))
    });
    let previous_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let outcome = catch_unwind(AssertUnwindSafe(|| run(test)));
    std::panic::set_hook(previous_hook);
    outcome.is_err().then(|| explored.load(Ordering::Relaxed))
}

const BUDGET: usize = 2_000;

#[test]
fn every_injected_bug_is_found_by_random_and_pct() {
    let cases: [(InjectedBug, Scenario); 4] = [
        (InjectedBug::SkipReadValidation, lost_update),
        (InjectedBug::UnlockBeforeWriteBack, torn_transfer),
        (InjectedBug::ReadWithoutVersionCheck, torn_transfer),
        (InjectedBug::LoseRetryWakeup, retry_wakeup),
    ];
    for (bug, scenario) in cases {
        let random = schedules_to_find(|f| shuttle::check_random(f, BUDGET), scenario, bug);
        let pct = schedules_to_find(|f| shuttle::check_pct(f, BUDGET, 3), scenario, bug);
        println!(
            "{:<28} random: {random:?} schedules, PCT(depth 3): {pct:?} schedules",
            bug.name()
        );
        assert!(
            random.is_some(),
            "{} not found by random in {BUDGET} schedules",
            bug.name()
        );
        assert!(
            pct.is_some(),
            "{} not found by PCT in {BUDGET} schedules",
            bug.name()
        );
    }
}

#[test]
fn without_a_bug_the_scenarios_pass() {
    for scenario in [lost_update, torn_transfer, retry_wakeup] {
        shuttle::check_random(move || scenario(None), BUDGET);
        shuttle::check_pct(move || scenario(None), BUDGET, 3);
    }
}
