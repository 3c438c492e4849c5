//! Loom models of the engine's memory protocols, on boxed values whose
//! contents loom watches ([`Tracked`]): publication of a new value, reads
//! racing a write-back, reclamation racing a late reader, a TVar dropped
//! while a transaction still has it in its logs, and a `retry` waiter
//! keeping alive what it waits on. Shared by the correct engine's tests and
//! the injected bugs' tests, which run the same models on a broken runtime.

// Each test binary uses the models it needs.
#![allow(dead_code)]

use super::tracked::Tracked;
use loom::model::Builder;
use stm_core::{LoomPlatform, Stm, StmConfig, TVar};

pub type Runtime = Stm<LoomPlatform>;

/// Makes the runtime of one execution (correct, or with a bug injected).
pub type MakeRuntime = fn() -> Runtime;

pub fn correct() -> Runtime {
    Runtime::for_platform_with_config(StmConfig {
        // Conflicts are bounded by the preemption bound; serial mode has
        // models of its own.
        irrevocable_after: u32::MAX,
        ..StmConfig::default()
    })
}

fn check(preemptions: usize, f: impl Fn() + Sync + Send + 'static) {
    let mut builder = Builder::new();
    builder.max_branches = 20_000;
    if builder.preemption_bound.is_none() {
        builder.preemption_bound = Some(preemptions);
    }
    builder.check(f);
}

/// A writer publishes a new boxed value while a reader reads the TVar: the
/// reader sees the old value or the new one, fully initialised.
pub fn publication_of_a_new_value(make: MakeRuntime) {
    check(3, move || {
        let stm = make();
        let v = stm.new_tvar(Tracked::new(0));
        let writer = {
            let (stm2, v) = (stm.clone(), v.clone());
            stm.spawn(move || stm2.atomically(|tx| tx.write(&v, Tracked::new(1))))
        };
        let seen = stm.atomically(|tx| Ok(tx.read(&v)?.get()));
        assert!(seen == 0 || seen == 1, "read {seen}");
        writer.join().unwrap();
        assert_eq!(v.load().get(), 1);
    });
}

/// A transfer between two boxed TVars races an auditor reading both: every
/// attempt of the auditor sees the total (opacity), whatever it reads.
pub fn reads_racing_a_write_back(make: MakeRuntime) {
    check(2, move || {
        let stm = make();
        let x = stm.new_tvar(Tracked::new(10));
        let y = stm.new_tvar(Tracked::new(0));
        let transfer = {
            let (stm2, x, y) = (stm.clone(), x.clone(), y.clone());
            stm.spawn(move || {
                stm2.atomically(|tx| {
                    let a = tx.read(&x)?.get();
                    let b = tx.read(&y)?.get();
                    tx.write(&x, Tracked::new(a - 4))?;
                    tx.write(&y, Tracked::new(b + 4))
                })
            })
        };
        let total = stm.atomically(|tx| {
            let total = tx.read(&x)?.get() + tx.read(&y)?.get();
            assert_eq!(total, 10, "the auditor saw a torn transfer");
            Ok(total)
        });
        transfer.join().unwrap();
        assert_eq!(total, 10);
        assert_eq!((x.load().get(), y.load().get()), (6, 4));
    });
}

/// A transfer between two TVars races a read-only auditor, whose total is
/// checked once both have finished (a panic inside the auditor's body,
/// with the transfer still running, would leave loom unable to unwind):
/// the auditor commits only a snapshot that includes all of the transfer
/// or none of it. The auditor first commits a write of its own: its
/// snapshot then starts from that commit's version (the thread's snapshot
/// hint), which can follow the transfer's without the auditor having read
/// anything the transfer wrote, and must see the transfer's locks (the
/// clock's acquire-release).
pub fn an_auditor_racing_a_transfer(make: MakeRuntime) {
    check(2, move || {
        let stm = make();
        let x = stm.new_tvar(10i64);
        let y = stm.new_tvar(0i64);
        let own = stm.new_tvar(0i64);
        let transfer = {
            let (stm2, x, y) = (stm.clone(), x.clone(), y.clone());
            stm.spawn(move || {
                stm2.atomically(|tx| {
                    tx.modify(&x, |a| a - 4)?;
                    tx.modify(&y, |b| b + 4)
                })
            })
        };
        stm.atomically(|tx| tx.write(&own, 1));
        let total = stm.atomically(|tx| Ok(tx.read(&x)? + tx.read(&y)?));
        transfer.join().unwrap();
        assert_eq!(total, 10, "the auditor committed a torn transfer");
    });
}

/// A reader reads a boxed TVar in two transactions while a writer replaces
/// its value twice, each replaced box retired at once (models reclaim at
/// every commit): no box is freed while the reader can still clone it.
pub fn reclamation_racing_a_late_reader(make: MakeRuntime) {
    check(3, move || {
        let stm = make();
        let v = stm.new_tvar(Tracked::new(0));
        let reader = {
            let (stm2, v) = (stm.clone(), v.clone());
            stm.spawn(move || {
                let first = stm2.atomically(|tx| Ok(tx.read(&v)?.get()));
                let second = stm2.atomically(|tx| Ok(tx.read(&v)?.get()));
                assert!(first <= second, "read {first} after {second}");
            })
        };
        for next in 1..3 {
            stm.atomically(|tx| tx.write(&v, Tracked::new(next)));
        }
        reader.join().unwrap();
        assert_eq!(v.load().get(), 2);
    });
}

/// A transaction reads a TVar through its own handle and drops that handle
/// inside its body, while another thread drops the last other one: the
/// TVar is retired while still in the transaction's logs, and must not be
/// freed before the transaction has validated and ended.
pub fn a_tvar_dropped_while_logged(make: MakeRuntime) {
    check(3, move || {
        let stm = make();
        let x = stm.new_tvar(Tracked::new(7));
        let y = stm.new_tvar(Tracked::new(1));
        let reader = {
            let (stm2, y) = (stm.clone(), y.clone());
            let mut mine = Some(x.clone());
            stm.spawn(move || {
                stm2.atomically(|tx| {
                    let mut seen = 0;
                    if let Some(x) = mine.take() {
                        seen = tx.read(&x)?.get();
                        drop(x);
                    }
                    tx.write(&y, Tracked::new(seen))
                })
            })
        };
        drop(x);
        stm.atomically(|tx| tx.write(&y, Tracked::new(2)));
        reader.join().unwrap();
        assert!([0, 2, 7].contains(&y.load().get()));
    });
}

/// A waiter blocks in `retry` on a boxed TVar whose other handles are all
/// dropped while it sleeps; the commit that wakes it replaces the value.
pub fn a_retry_waiter_keeps_what_it_waits_on(make: MakeRuntime) {
    check(2, move || {
        let stm = make();
        let flag: TVar<Tracked, LoomPlatform> = stm.new_tvar(Tracked::new(0));
        let waiter = {
            let (stm2, flag) = (stm.clone(), flag.clone());
            stm.spawn(move || {
                stm2.atomically(|tx| match tx.read(&flag)?.get() {
                    0 => tx.retry(),
                    set => Ok(set),
                })
            })
        };
        let setter = flag.clone();
        drop(flag);
        stm.atomically(|tx| tx.write(&setter, Tracked::new(1)));
        drop(setter);
        assert_eq!(waiter.join().unwrap(), 1);
    });
}
