//! What the checker's users wait on: histories checked per second, and
//! schedules explored per second on the built-in `bank` workload under
//! shuttle's PCT scheduler, three ways:
//!
//! * [`explore_recorded`]: `stm-check explore`'s own path (the workload
//!   interpreter on a recorded runtime, every history checked, every
//!   schedule recorded for replay);
//! * [`explore_unrecorded`]: the same interpreter under the same recording
//!   scheduler, on a runtime with no recorder and no history check, so the
//!   two differ by exactly the cost of recording and checking histories;
//! * [`bare_shuttle`]: the same transfers written by hand against
//!   `Stm<ShuttlePlatform>`, run by shuttle alone: the floor.
//!
//! And what recording costs on real threads ([`stress_recorded`] beside
//! [`stress_unrecorded`]): the history a real-thread failure is turned
//! into a schedule from is recorded in every stress execution.

use shuttle::scheduler::PctScheduler;
use std::sync::Arc;
use stm_check::explore::{explore, DriverKind, ExploreConfig};
use stm_check::history::generate::{random_plan, serial_history, SerialOptions};
use stm_check::history::History;
use stm_check::schedule::{run_recorded, Outcome};
use stm_check::workload::Workload;
use stm_check::SchedulerKind;
use stm_core::{ShuttlePlatform, Stm};

/// The history sizes checked, in transactions.
pub const HISTORY_SIZES: [usize; 3] = [10_000, 100_000, 1_000_000];

/// The built-in workload explored.
pub const WORKLOAD: &str = "bank";

/// PCT's bug depth (the default of `stm-check explore`).
pub const PCT_DEPTH: usize = 3;

/// Schedules per criterion iteration of the exploration benchmarks.
pub const SCHEDULES: usize = 100;

/// Keys of the generated histories.
pub const HISTORY_KEYS: u64 = 10_000;

/// Percentage of aborted attempts in the generated histories.
pub const HISTORY_ABORT_PERCENT: u64 = 5;

/// A valid history of a serial run of `transactions` attempts: 1 to 3
/// reads and 1 to 3 writes each over [`HISTORY_KEYS`] keys,
/// [`HISTORY_ABORT_PERCENT`]% aborted, each overlapping the next two in
/// real time.
pub fn history(transactions: usize) -> History {
    let plan = random_plan(42, transactions, HISTORY_KEYS, 3, HISTORY_ABORT_PERCENT);
    let options = SerialOptions {
        overlap: 2,
        ..SerialOptions::default()
    };
    serial_history(&plan, options)
}

fn bank_workload() -> Workload {
    Workload::builtin(WORKLOAD).expect("the bank workload is built in")
}

/// Explores `schedules` schedules of the `bank` workload as
/// `stm-check explore --workload bank --scheduler pct` does; returns the
/// number explored.
///
/// # Panics
///
/// If an execution fails (a bug in the engine or the checker).
pub fn explore_recorded(schedules: usize, seed: u64) -> usize {
    let config = ExploreConfig {
        driver: DriverKind::Shuttle(SchedulerKind::Pct { depth: PCT_DEPTH }),
        iterations: schedules,
        seed,
        regressions: std::env::temp_dir().join("stm-benchmarks-regressions"),
        ..ExploreConfig::default()
    };
    let summary = explore(&bank_workload(), &config, Arc::new(|_| {}))
        .expect("nothing is saved when nothing fails");
    if let Some(failure) = summary.failure {
        panic!("exploring bank failed: {}", failure.message);
    }
    summary.schedules
}

/// Explores `schedules` schedules of the `bank` workload through the same
/// interpreter and recording scheduler as [`explore_recorded`], on runtimes
/// with no history recorder, checking only the workload's own assertions
/// and invariants; returns the number explored.
///
/// # Panics
///
/// If an execution fails.
pub fn explore_unrecorded(schedules: usize, seed: u64) -> usize {
    let workload = bank_workload();
    let scheduler = PctScheduler::new_from_seed(seed, PCT_DEPTH, schedules);
    match run_recorded(scheduler, move || {
        let outcome = workload.run(&Stm::<ShuttlePlatform>::for_platform());
        assert!(outcome.is_ok(), "{outcome}");
    }) {
        Outcome::Passed { executions } => executions,
        Outcome::Failed(failure) => panic!("exploring bank failed: {}", failure.message),
    }
}

/// Runs `schedules` schedules of the `bank` workload written by hand
/// against `Stm<ShuttlePlatform>` under shuttle's own PCT runner: no
/// interpreter, no recorder, no schedule recording; returns the number
/// run.
///
/// # Panics
///
/// If an execution fails.
pub fn bare_shuttle(schedules: usize, seed: u64) -> usize {
    let scheduler = PctScheduler::new_from_seed(seed, PCT_DEPTH, schedules);
    let mut config = shuttle::Config::new();
    config.silence_warnings = true;
    shuttle::Runner::new(scheduler, config).run(bank_by_hand)
}

/// The `bank` workload (`stm-check/workloads/bank.json`) by hand.
fn bank_by_hand() {
    let stm = Stm::<ShuttlePlatform>::for_platform();
    let alice = stm.new_tvar(100i64);
    let bob = stm.new_tvar(100i64);
    let carol = stm.new_tvar(0i64);
    let all = [alice.clone(), bob.clone(), carol.clone()];
    let transfer = |stm: &Stm<ShuttlePlatform>, from: &_, to: &_, amount: i64| {
        stm.atomically(|tx| {
            tx.modify(from, |x| x - amount)?;
            tx.modify(to, |x| x + amount)
        })
    };
    let threads = [
        {
            let (stm2, alice, bob, carol) =
                (stm.clone(), alice.clone(), bob.clone(), carol.clone());
            stm.spawn(move || {
                transfer(&stm2, &alice, &bob, 30);
                transfer(&stm2, &bob, &carol, 20);
            })
        },
        {
            let (stm2, all) = (stm.clone(), all.clone());
            stm.spawn(move || {
                transfer(&stm2, &all[1], &all[0], 10);
                let total = stm2.atomically(|tx| {
                    Ok(tx.read(&all[0])? + tx.read(&all[1])? + tx.read(&all[2])?)
                });
                assert_eq!(total, 200, "the audit saw a wrong total");
            })
        },
        {
            let (stm2, all) = (stm.clone(), all.clone());
            stm.spawn(move || {
                let total = stm2.atomically(|tx| {
                    if tx.read(&all[2])? < 20 {
                        return tx.retry();
                    }
                    tx.modify(&all[2], |x| x - 20)?;
                    tx.modify(&all[0], |x| x + 20)?;
                    Ok(tx.read(&all[0])? + tx.read(&all[1])? + tx.read(&all[2])?)
                });
                assert_eq!(total, 200, "carol's payment saw a wrong total");
            })
        },
    ];
    for thread in threads {
        if let Err(panic) = thread.join() {
            std::panic::resume_unwind(panic);
        }
    }
    let finals: Vec<i64> = all.iter().map(|v| v.load()).collect();
    assert_eq!(finals, [100, 100, 0], "final balances");
}

/// Runs the `bank` workload `executions` times on real threads (one fresh
/// runtime each, as `explore --scheduler stress` does), with a history
/// recorder whose history is taken after each run (not checked: the cost
/// of recording alone); returns the executions run.
///
/// # Panics
///
/// If an execution fails.
pub fn stress_recorded(executions: usize) -> usize {
    let workload = bank_workload();
    for _ in 0..executions {
        let recorder = Arc::new(stm_check::record::HistoryRecorder::new());
        let stm = stm_core::Stm::<stm_core::Std>::for_platform_with_recorder(
            stm_core::StmConfig::default(),
            recorder.clone(),
        );
        let vars = workload.create_vars(&stm);
        for (id, var) in vars.ids().into_iter().zip(&workload.vars) {
            recorder.set_initial(id, var.initial);
        }
        let outcome = workload.run_on(&stm, &vars);
        assert!(outcome.is_ok(), "{outcome}");
        std::hint::black_box(recorder.history());
    }
    executions
}

/// [`stress_recorded`] on runtimes with no recorder.
///
/// # Panics
///
/// If an execution fails.
pub fn stress_unrecorded(executions: usize) -> usize {
    let workload = bank_workload();
    for _ in 0..executions {
        let stm = stm_core::Stm::<stm_core::Std>::for_platform();
        let outcome = workload.run(&stm);
        assert!(outcome.is_ok(), "{outcome}");
    }
    executions
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_three_explorations_run_every_schedule() {
        assert_eq!(explore_recorded(20, 1), 20);
        assert_eq!(explore_unrecorded(20, 1), 20);
        assert_eq!(bare_shuttle(20, 1), 20);
    }

    #[test]
    fn generated_histories_are_valid() {
        let h = history(1_000);
        assert_eq!(h.transactions.len(), 1_000);
        assert!(stm_check::history::check(&h).unwrap().is_valid());
    }
}
