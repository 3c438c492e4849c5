//! One test binary, one workload, two platforms: the bank workload of
//! stm-check runs on OS threads (`Stm<Std>`) and under shuttle's random and
//! PCT schedulers (`Stm<ShuttlePlatform>`), and its invariant holds on both.

use stm_check::bank::{self, BankConfig, Budget};
use stm_core::{ShuttlePlatform, Std, Stm};

fn small_bank(threads: usize, transfers: u64) -> BankConfig {
    BankConfig {
        accounts: 4,
        initial_balance: 100,
        threads,
        budget: Budget::Transfers(transfers),
        audit_every: 2,
        seed: 7,
    }
}

#[test]
fn bank_on_std_threads() {
    let report = bank::run(&Stm::<Std>::for_platform(), small_bank(4, 20_000));
    assert!(report.invariant_holds(), "{report:?}");
    assert_eq!(report.transfers, 80_000);
    assert_eq!(report.stats.commits, report.transfers + report.audits);
}

#[test]
fn bank_under_shuttle_random() {
    shuttle::check_random(
        || {
            let report = bank::run(&Stm::<ShuttlePlatform>::for_platform(), small_bank(3, 4));
            assert!(report.invariant_holds(), "{report:?}");
            assert_eq!(report.stats.commits, report.transfers + report.audits);
        },
        1_000,
    );
}

#[test]
fn bank_under_shuttle_pct() {
    shuttle::check_pct(
        || {
            let report = bank::run(&Stm::<ShuttlePlatform>::for_platform(), small_bank(3, 4));
            assert!(report.invariant_holds(), "{report:?}");
        },
        1_000,
        3,
    );
}

#[test]
fn std_and_shuttle_runs_share_one_process() {
    // A std run, a shuttle exploration, then a std run again: the runtimes
    // are values, so nothing leaks from one to the other.
    let before = bank::run(&Stm::<Std>::for_platform(), small_bank(2, 1_000));
    shuttle::check_random(
        || {
            let report = bank::run(&Stm::<ShuttlePlatform>::for_platform(), small_bank(2, 2));
            assert!(report.invariant_holds());
        },
        100,
    );
    let after = bank::run(&Stm::<Std>::for_platform(), small_bank(2, 1_000));
    assert!(before.invariant_holds() && after.invariant_holds());
    assert_eq!(before.stats.commits, after.stats.commits);
}
