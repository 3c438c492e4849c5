//! The transaction queue on std threads: ordered and unordered runs, items
//! that add items, errors, panics, retry, and the conflict report.

use stm_core::transaction::{ItemFailure, ItemId, TransactionQueue};
use stm_core::{Stm, StmConfig, TxError};

fn queue<'env>(stm: &Stm, workers: usize) -> TransactionQueue<'env, stm_core::Std, String> {
    TransactionQueue::with_runtime_and_error_type(stm).workers(workers)
}

#[test]
fn ordered_run_equals_the_loop_even_for_order_dependent_items() {
    let stm = Stm::new();
    let x = stm.new_tvar(1i64);
    let log = stm.new_tvar(Vec::<u32>::new());
    let mut q = queue(&stm, 2);
    for i in 0..200u32 {
        let (x, log) = (x.clone(), log.clone());
        q.add(move |tx| {
            // Not commutative: the result depends on the order.
            tx.modify(&x, |v| (v * 31 + i as i64) % 1_000_003)?;
            tx.modify(&log, |mut l| {
                l.push(i);
                l
            })?;
            Ok(())
        });
    }
    let summary = q.run_ordered().unwrap();
    let expected = (0..200i64).fold(1, |v, i| (v * 31 + i) % 1_000_003);
    assert_eq!(x.load(), expected);
    assert_eq!(log.load(), (0..200).collect::<Vec<_>>());
    assert_eq!(summary.committed, 200);
    // Consecutive items of a worker may commit as one transaction.
    assert!(summary.stats.commits <= 200, "{:?}", summary.stats);
}

#[test]
fn unordered_run_applies_each_item_once() {
    let stm = Stm::new();
    let counter = stm.new_tvar(0u64);
    let mut q = queue(&stm, 2);
    for _ in 0..1_000 {
        let counter = counter.clone();
        q.add(move |tx| Ok(tx.modify(&counter, |n| n + 1)?));
    }
    let summary = q.run().unwrap();
    assert_eq!(counter.load(), 1_000);
    assert_eq!(summary.committed, 1_000);
    assert!(q.is_empty());
}

#[test]
fn added_items_run_after_those_queued_when_their_parent_committed() {
    let stm = Stm::new();
    let log = stm.new_tvar(Vec::<String>::new());
    let mut q = queue(&stm, 2);
    for name in ["a", "b"] {
        let log = log.clone();
        q.add(move |tx| {
            tx.modify(&log, |mut l| {
                l.push(name.to_string());
                l
            })?;
            for child in 1..=2 {
                let log = log.clone();
                tx.add(move |tx| {
                    Ok(tx.modify(&log, |mut l| {
                        l.push(format!("{name}{child}"));
                        l
                    })?)
                });
            }
            Ok(())
        });
    }
    q.run_ordered().unwrap();
    assert_eq!(log.load(), ["a", "b", "a1", "a2", "b1", "b2"]);
    assert_eq!(q.last_committed(), (0..6).map(ItemId).collect::<Vec<_>>());
}

#[test]
fn an_error_stops_an_ordered_run_after_exactly_the_earlier_items() {
    let stm = Stm::new();
    let sum = stm.new_tvar(0u64);
    let mut q = queue(&stm, 2);
    for i in 0..50u64 {
        let sum = sum.clone();
        q.add(move |tx| {
            tx.modify(&sum, |s| s + i)?;
            if i == 20 {
                return Err(TxError::Abort(format!("item {i} refuses")));
            }
            Ok(())
        });
    }
    let error = q.run_ordered().unwrap_err();
    assert_eq!(error.item, ItemId(20));
    assert_eq!(
        error.failure,
        ItemFailure::Error("item 20 refuses".to_string())
    );
    assert_eq!(error.committed, (0..20).map(ItemId).collect::<Vec<_>>());
    assert_eq!(
        sum.load(),
        (0..20).sum::<u64>(),
        "the failing item left no effect"
    );
    assert!(error
        .to_string()
        .contains("item 20 failed: item 20 refuses"));
}

#[test]
fn an_error_stops_an_unordered_run_and_says_what_committed() {
    let stm = Stm::new();
    let applied = stm.new_tvar(Vec::<u64>::new());
    let mut q = queue(&stm, 2);
    for i in 0..100u64 {
        let applied = applied.clone();
        q.add(move |tx| {
            if i == 10 {
                return Err(TxError::Abort("stop".to_string()));
            }
            Ok(tx.modify(&applied, |mut a| {
                a.push(i);
                a
            })?)
        });
    }
    let error = q.run().unwrap_err();
    assert_eq!(error.item, ItemId(10));
    let mut applied = applied.load();
    let mut committed: Vec<u64> = error.committed.iter().map(|id| id.0).collect();
    applied.sort_unstable();
    committed.sort_unstable();
    assert_eq!(applied, committed, "exactly the reported items took effect");
    assert!(!committed.contains(&10));
    assert_eq!(committed.len() + 1 + error.not_run, 100);
}

#[test]
fn a_panic_is_re_raised_and_the_committed_items_are_kept() {
    let stm = Stm::new();
    let n = stm.new_tvar(0u32);
    let mut q = queue(&stm, 2);
    for i in 0..10u32 {
        let n = n.clone();
        q.add(move |tx| {
            tx.modify(&n, |v| v + 1)?;
            assert!(i != 6, "item six panics");
            Ok(())
        });
    }
    let panic = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| q.run_ordered()));
    let payload = panic.unwrap_err();
    assert_eq!(payload.downcast_ref::<&str>(), Some(&"item six panics"));
    assert_eq!(q.last_committed(), (0..6).map(ItemId).collect::<Vec<_>>());
    assert_eq!(n.load(), 6);
}

#[test]
fn ordered_retry_waits_for_an_earlier_item_or_reports_a_hang() {
    let stm = Stm::new();
    let flag = stm.new_tvar(false);
    let seen = stm.new_tvar(0u32);
    let mut q = queue(&stm, 2);
    {
        let flag = flag.clone();
        q.add(move |tx| Ok(tx.write(&flag, true)?));
    }
    {
        let (flag, seen) = (flag.clone(), seen.clone());
        // Speculatively it may run before item 0 commits; at its turn the
        // flag is set, as in the serial run.
        q.add(move |tx| {
            if !tx.read(&flag)? {
                return Ok(tx.retry()?);
            }
            Ok(tx.modify(&seen, |s| s + 1)?)
        });
    }
    q.run_ordered().unwrap();
    assert_eq!(seen.load(), 1);

    let other = stm.new_tvar(false);
    q.add(move |tx| {
        if !tx.read(&other)? {
            return Ok(tx.retry()?);
        }
        Ok(())
    });
    let error = q.run_ordered().unwrap_err();
    assert_eq!(error.failure, ItemFailure::WouldBlockForever);
}

#[test]
fn the_report_names_the_hot_tvar_by_its_creation_line() {
    use std::sync::{Arc, Barrier};

    let stm = Stm::with_config(StmConfig {
        conflict_reports: true,
        irrevocable_after: 64,
    });
    let hot_line = line!() + 1;
    let hot = stm.new_tvar(0u64);
    hot.set_label("the hot counter");
    // The first attempt each worker runs (whatever item it claimed) waits
    // here for the other's, after both have read the hot TVar, so one of
    // them must abort: the conflict is certain.
    thread_local! {
        static MET: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    }
    let rendezvous = Arc::new(Barrier::new(2));
    let mut q = queue(&stm, 2);
    for _ in 0..2_000usize {
        let (hot, cold) = (hot.clone(), stm.new_tvar(0u64));
        let rendezvous = rendezvous.clone();
        q.add(move |tx| {
            tx.modify(&cold, |c| c + 1)?;
            let h = tx.read(&hot)?;
            if !MET.replace(true) {
                rendezvous.wait();
            }
            tx.write(&hot, h + 1)?;
            Ok(())
        });
    }
    q.run().unwrap();
    assert_eq!(hot.load(), 2_000);
    let report = q.report();
    let stats = stm.stats();
    assert!(
        stats.conflict_aborts() >= 1,
        "items 0 and 1 must conflict: {stats}"
    );
    let top = &report.sites[0];
    assert_eq!(top.tvar, hot.id(), "{report}");
    assert_eq!(top.created_at.line(), hot_line);
    assert_eq!(top.created_at.file(), file!());
    assert_eq!(top.label.as_deref(), Some("the hot counter"));
    let attributed: u64 = report
        .sites
        .iter()
        .map(|s| s.read_write + s.write_write)
        .sum();
    assert_eq!(
        attributed + report.serial_mode_aborts,
        stats.conflict_aborts()
    );
    assert_eq!(
        top.read_write + top.write_write,
        stats.conflict_aborts() - report.serial_mode_aborts
    );
    assert!(top.time_lost > std::time::Duration::ZERO);
    assert_eq!(
        report.sites.len(),
        1,
        "only the hot TVar conflicts: {report}"
    );
    let printed = report.to_string();
    println!("{printed}");
    assert!(printed.contains("the hot counter"), "{printed}");
    assert!(
        printed.contains(&format!("{}:{}", file!(), hot_line)),
        "{printed}"
    );
}

/// Per run, and over all runs, the threads other than the caller's that
/// ran items.
type HelperThreads = (
    Vec<std::collections::BTreeSet<String>>,
    std::collections::BTreeSet<String>,
);

/// Runs 6 runs of 64 items of about 0.2 ms each on a queue of 2 workers
/// that keeps its helpers if `keep`, each item noting the thread it ran on.
fn helper_threads(keep: bool) -> HelperThreads {
    let stm = Stm::new();
    let mut q = queue(&stm, 2).keep_workers(keep);
    let caller = format!("{:?}", std::thread::current().id());
    let per_run: Vec<_> = (0..6)
        .map(|_| {
            let seen = stm.new_tvar(std::collections::BTreeSet::<String>::new());
            for _ in 0..64 {
                let seen = seen.clone();
                q.add(move |tx| {
                    let until = std::time::Instant::now() + std::time::Duration::from_micros(200);
                    while std::time::Instant::now() < until {
                        std::hint::spin_loop();
                    }
                    let me = format!("{:?}", std::thread::current().id());
                    Ok(tx.modify(&seen, move |mut s| {
                        s.insert(me);
                        s
                    })?)
                });
            }
            assert_eq!(q.run().unwrap().committed, 64);
            let mut threads = seen.load();
            threads.remove(&caller);
            threads
        })
        .collect();
    let all = per_run.iter().flatten().cloned().collect();
    (per_run, all)
}

#[test]
fn kept_helpers_are_the_same_threads_from_run_to_run() {
    let (per_run, helpers) = helper_threads(true);
    assert_eq!(helpers.len(), 1, "one kept helper: {per_run:?}");
}

#[test]
fn helpers_not_kept_are_new_threads_every_run() {
    let (per_run, helpers) = helper_threads(false);
    // Thread ids are never reused: a helper that ran items in two runs
    // would show up once.
    assert!(
        helpers.len() >= 2,
        "helpers ran items in two runs: {per_run:?}"
    );
    assert_eq!(
        helpers.len(),
        per_run.iter().map(|threads| threads.len()).sum::<usize>(),
        "{per_run:?}"
    );
}

#[test]
fn kept_helpers_work_on_after_a_panic_and_a_change_of_workers() {
    let stm = Stm::new();
    let total = stm.new_tvar(0u64);
    let mut q = queue(&stm, 2).keep_workers(true);
    let add_items = |q: &mut TransactionQueue<stm_core::Std, String>, panic_at: Option<u64>| {
        for i in 0..200u64 {
            let total = total.clone();
            q.add(move |tx| {
                assert!(Some(i) != panic_at, "item {i} panics");
                Ok(tx.commute(&total, move |t| t + i)?)
            });
        }
    };
    add_items(&mut q, None);
    assert_eq!(q.run().unwrap().committed, 200);
    add_items(&mut q, Some(150));
    let panic = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| q.run()));
    assert_eq!(
        panic
            .unwrap_err()
            .downcast_ref::<String>()
            .map(String::as_str),
        Some("item 150 panics")
    );
    let after_panic = total.load();
    add_items(&mut q, None);
    assert_eq!(q.run_ordered().unwrap().committed, 200);
    assert_eq!(total.load(), after_panic + (0..200).sum::<u64>());
    let mut q = q.workers(3);
    add_items(&mut q, None);
    assert_eq!(q.run().unwrap().committed, 200);
    assert_eq!(total.load(), after_panic + 2 * (0..200).sum::<u64>());
}

/// Counts its drops in a counter it borrows.
struct DropCounted<'a>(&'a std::sync::atomic::AtomicU64);

impl Drop for DropCounted<'_> {
    fn drop(&mut self) {
        self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }
}

/// Items borrow their TVars and a local counter, with no handle cloned;
/// every item is dropped by the time `run` returns, also those a failure
/// left unrun, and those still queued when the queue is dropped.
#[test]
fn items_borrow_and_are_all_dropped_when_the_run_returns() {
    use std::sync::atomic::{AtomicU64, Ordering};
    let stm = Stm::new();
    let slots: Vec<_> = (0..500).map(|_| stm.new_tvar(0u64)).collect();
    let dropped = AtomicU64::new(0);
    let ran = AtomicU64::new(0);
    let mut q = queue(&stm, 2).keep_workers(true);
    for round in 0..4u64 {
        let (ran, dropped) = (&ran, &dropped);
        let before = dropped.load(Ordering::Relaxed);
        for (i, slot) in slots.iter().enumerate() {
            let counted = DropCounted(dropped);
            q.add(move |tx| {
                let _ = &counted;
                ran.fetch_add(1, Ordering::Relaxed);
                Ok(tx.modify(slot, |v| v + i as u64)?)
            });
        }
        let summary = if round % 2 == 0 {
            q.run()
        } else {
            q.run_ordered()
        };
        assert_eq!(summary.unwrap().committed, 500);
        assert!(ran.load(Ordering::Relaxed) >= 500 * (round + 1));
        assert_eq!(
            dropped.load(Ordering::Relaxed) - before,
            500,
            "round {round}"
        );
    }
    assert!(slots
        .iter()
        .enumerate()
        .all(|(i, s)| s.load() == 4 * i as u64));

    // A failure stops the run: the items it left unrun are dropped too.
    let before = dropped.load(Ordering::Relaxed);
    for (i, slot) in slots.iter().enumerate() {
        let counted = DropCounted(&dropped);
        q.add(move |tx| {
            let _ = &counted;
            if i == 10 {
                return Err(TxError::Abort("stop".to_string()));
            }
            Ok(tx.modify(slot, |v| v + 1)?)
        });
    }
    let error = q.run_ordered().unwrap_err();
    assert_eq!(error.committed.len(), 10);
    assert_eq!(dropped.load(Ordering::Relaxed) - before, 500);
    assert!(q.is_empty());

    // Items still queued are dropped with the queue.
    let before = dropped.load(Ordering::Relaxed);
    for _ in 0..3 {
        let counted = DropCounted(&dropped);
        q.add(move |_tx| {
            let _ = &counted;
            Ok(())
        });
    }
    drop(q);
    assert_eq!(dropped.load(Ordering::Relaxed) - before, 3);
}
