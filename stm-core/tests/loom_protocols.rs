//! Loom models of the engine's protocols, exhaustive within a preemption
//! bound: commit and validation (a transfer racing an auditor and a second
//! writer), write-write conflicts on one TVar, serial mode, and the `retry`
//! wake-up (a lost wake-up is reported by loom as a deadlock).

use loom::model::Builder;
use stm_core::{LoomPlatform, Stm, StmConfig};

type Runtime = Stm<LoomPlatform>;

/// Runs a model with at most `preemptions` preemptions per execution, unless
/// `LOOM_MAX_PREEMPTIONS` says otherwise.
fn model_with_bound(preemptions: usize, f: impl Fn() + Sync + Send + 'static) {
    let mut builder = Builder::new();
    builder.max_branches = 10_000;
    if builder.preemption_bound.is_none() {
        builder.preemption_bound = Some(preemptions);
    }
    builder.check(f);
}

fn model(f: impl Fn() + Sync + Send + 'static) {
    model_with_bound(3, f);
}

/// Commit/validation: a transfer x -> y races an auditor reading both.
/// The auditor must see x + y == 10 in every attempt (opacity), and the
/// final state must be the transfer's.
#[test]
fn transfer_against_auditor() {
    model(|| {
        let stm = Runtime::for_platform();
        let x = stm.new_tvar(10i64);
        let y = stm.new_tvar(0i64);
        let transfer = {
            let (stm2, x, y) = (stm.clone(), x.clone(), y.clone());
            stm.spawn(move || {
                stm2.atomically(|tx| {
                    let a = tx.read(&x)?;
                    tx.write(&x, a - 4)?;
                    let b = tx.read(&y)?;
                    tx.write(&y, b + 4)
                })
            })
        };
        let sum = stm.atomically(|tx| {
            let a = tx.read(&x)?;
            let b = tx.read(&y)?;
            assert_eq!(a + b, 10, "auditor saw a torn transfer");
            Ok(a + b)
        });
        transfer.join().unwrap();
        assert_eq!(sum, 10);
        assert_eq!((x.load(), y.load()), (6, 4));
    });
}

/// Validation: two read-modify-write transactions on one TVar must both
/// take effect (no lost update).
#[test]
fn concurrent_increments_are_not_lost() {
    model(|| {
        let stm = Runtime::for_platform();
        let counter = stm.new_tvar(0u32);
        let other = {
            let (stm2, counter) = (stm.clone(), counter.clone());
            stm.spawn(move || stm2.atomically(|tx| tx.modify(&counter, |n| n + 1)))
        };
        stm.atomically(|tx| tx.modify(&counter, |n| n + 1));
        other.join().unwrap();
        assert_eq!(counter.load(), 2);
        let stats = stm.stats();
        assert_eq!(stats.attempts, stats.commits + stats.conflict_aborts());
    });
}

/// Write skew is prevented: each transaction reads both TVars and writes
/// one; at most one may move the total below zero.
#[test]
fn write_skew_is_prevented() {
    model(|| {
        let stm = Runtime::for_platform();
        let a = stm.new_tvar(1i32);
        let b = stm.new_tvar(1i32);
        let withdraw = |stm: Runtime,
                        from: stm_core::TVar<i32, LoomPlatform>,
                        other: stm_core::TVar<i32, LoomPlatform>| {
            stm.atomically(|tx| {
                let total = tx.read(&from)? + tx.read(&other)?;
                if total >= 2 {
                    tx.modify(&from, |v| v - 2)?;
                }
                Ok(())
            })
        };
        let t = {
            let (stm2, a, b) = (stm.clone(), a.clone(), b.clone());
            stm.spawn(move || withdraw(stm2, a, b))
        };
        withdraw(stm.clone(), b.clone(), a.clone());
        t.join().unwrap();
        assert_eq!(a.load() + b.load(), 0, "exactly one withdrawal may happen");
    });
}

/// Serial mode: with `irrevocable_after: 0` every attempt is irrevocable;
/// two of them must exclude each other and both commit.
#[test]
fn serial_mode_transactions_exclude_each_other() {
    model(|| {
        let stm = Runtime::for_platform_with_config(StmConfig {
            irrevocable_after: 0,
            ..StmConfig::default()
        });
        let counter = stm.new_tvar(0u32);
        let other = {
            let (stm2, counter) = (stm.clone(), counter.clone());
            stm.spawn(move || stm2.atomically(|tx| tx.modify(&counter, |n| n + 1)))
        };
        stm.atomically(|tx| tx.modify(&counter, |n| n + 1));
        other.join().unwrap();
        assert_eq!(counter.load(), 2);
        assert_eq!(stm.stats().conflict_aborts(), 0);
    });
}

/// Serial mode against an optimistic committer: the first conflict sends a
/// transaction to serial mode, and the other thread's next commit must wait
/// for it (an irrevocable attempt that aborts trips an engine assertion).
#[test]
fn serial_mode_against_optimistic_commits() {
    model(|| {
        let stm = Runtime::for_platform_with_config(StmConfig {
            irrevocable_after: 1,
            ..StmConfig::default()
        });
        let counter = stm.new_tvar(0u32);
        let other = {
            let (stm2, counter) = (stm.clone(), counter.clone());
            stm.spawn(move || {
                for _ in 0..2 {
                    stm2.atomically(|tx| tx.modify(&counter, |n| n + 10));
                }
            })
        };
        stm.atomically(|tx| tx.modify(&counter, |n| n + 1));
        other.join().unwrap();
        assert_eq!(counter.load(), 21);
    });
}

/// Retry wake-up: the waiter blocks until the flag is set; if the commit's
/// wake-up were lost, loom would report a deadlock.
#[test]
fn retry_is_woken_by_the_commit_it_waits_for() {
    model(|| {
        let stm = Runtime::for_platform();
        let flag = stm.new_tvar(false);
        let setter = {
            let (stm2, flag) = (stm.clone(), flag.clone());
            stm.spawn(move || stm2.atomically(|tx| tx.write(&flag, true)))
        };
        stm.atomically(|tx| if tx.read(&flag)? { Ok(()) } else { tx.retry() });
        setter.join().unwrap();
    });
}

/// Three threads: two transfers in opposite directions and an auditor.
#[test]
fn two_transfers_and_an_auditor() {
    model_with_bound(2, || {
        let stm = Runtime::for_platform();
        let x = stm.new_tvar(10i64);
        let y = stm.new_tvar(10i64);
        let transfer = |from: stm_core::TVar<i64, LoomPlatform>,
                        to: stm_core::TVar<i64, LoomPlatform>,
                        amount| {
            let stm2 = stm.clone();
            stm.spawn(move || {
                stm2.atomically(|tx| {
                    let a = tx.read(&from)?;
                    tx.write(&from, a - amount)?;
                    tx.modify(&to, |b| b + amount)
                })
            })
        };
        let t1 = transfer(x.clone(), y.clone(), 3);
        let t2 = transfer(y.clone(), x.clone(), 5);
        let seen = stm.atomically(|tx| {
            let (a, b) = (tx.read(&x)?, tx.read(&y)?);
            assert_eq!(a + b, 20, "auditor saw a torn transfer");
            Ok(a)
        });
        t1.join().unwrap();
        t2.join().unwrap();
        assert!(
            [10, 7, 15, 12].contains(&seen),
            "auditor saw x = {seen}, not a serial state"
        );
        assert_eq!((x.load(), y.load()), (12, 8));
    });
}

/// Two waiters block on one flag; a single commit must wake both. Serial
/// mode is kept out of reach (it has its own models): conflicts here are
/// bounded by the preemption bound, which keeps the model small.
#[test]
fn one_commit_wakes_every_waiter() {
    model_with_bound(1, || {
        let stm = Runtime::for_platform_with_config(StmConfig {
            irrevocable_after: u32::MAX,
            ..StmConfig::default()
        });
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
        for w in waiters {
            w.join().unwrap();
        }
    });
}
