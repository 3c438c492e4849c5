//! The transaction queue under the model checkers: the workers' hand-off
//! (an idle worker must be woken when an item adds work, and every worker
//! must exit when the run ends) and `run_ordered`'s commit order, under
//! shuttle's random and PCT schedulers and under loom.

use stm_core::transaction::TransactionQueue;
use stm_core::{LoomPlatform, Platform, ShuttlePlatform, Stm, TVar};

/// Three items over one log; item 0 adds a fourth. Returns the log.
fn run_small_queue<P: Platform>(ordered: bool, workers: usize) -> Vec<u32> {
    let stm = Stm::<P>::for_platform();
    let log: TVar<Vec<u32>, P> = stm.new_tvar(Vec::new());
    let counter = stm.new_tvar(0u32);
    let mut queue = TransactionQueue::<P, String>::with_runtime(&stm).workers(workers);
    for label in 0..3u32 {
        let (log, counter) = (log.clone(), counter.clone());
        queue.add(move |tx| {
            // Read-modify-write of a shared counter makes items conflict.
            let n = tx.read(&counter)?;
            tx.write(&counter, n + 1)?;
            tx.modify(&log, |mut l| {
                l.push(label);
                l
            })?;
            if label == 0 {
                let log = log.clone();
                tx.add(move |tx| {
                    Ok(tx.modify(&log, |mut l| {
                        l.push(99);
                        l
                    })?)
                });
            }
            Ok(())
        });
    }
    let summary = if ordered {
        queue.run_ordered()
    } else {
        queue.run()
    }
    .unwrap();
    assert_eq!(summary.committed, 4);
    assert_eq!(counter.load(), 3);
    log.load()
}

fn ordered_commits_in_add_order<P: Platform>() {
    assert_eq!(run_small_queue::<P>(true, 2), vec![0, 1, 2, 99]);
}

fn unordered_hands_every_item_over_once<P: Platform>() {
    let mut log = run_small_queue::<P>(false, 2);
    let child_after_parent = log.iter().position(|&l| l == 99) > log.iter().position(|&l| l == 0);
    assert!(
        child_after_parent,
        "an added item ran before its parent committed: {log:?}"
    );
    log.sort_unstable();
    assert_eq!(log, vec![0, 1, 2, 99]);
}

const ITERATIONS: usize = 1_000;

#[test]
fn shuttle_ordered_random() {
    shuttle::check_random(ordered_commits_in_add_order::<ShuttlePlatform>, ITERATIONS);
}

#[test]
fn shuttle_ordered_pct() {
    shuttle::check_pct(
        ordered_commits_in_add_order::<ShuttlePlatform>,
        ITERATIONS,
        3,
    );
}

#[test]
fn shuttle_hand_off_random() {
    shuttle::check_random(
        unordered_hands_every_item_over_once::<ShuttlePlatform>,
        ITERATIONS,
    );
}

#[test]
fn shuttle_hand_off_pct() {
    shuttle::check_pct(
        unordered_hands_every_item_over_once::<ShuttlePlatform>,
        ITERATIONS,
        3,
    );
}

#[test]
fn shuttle_three_workers_ordered() {
    shuttle::check_pct(
        || {
            assert_eq!(
                run_small_queue::<ShuttlePlatform>(true, 3),
                vec![0, 1, 2, 99]
            )
        },
        ITERATIONS,
        3,
    );
}

fn loom_model(f: impl Fn() + Sync + Send + 'static) {
    let mut builder = loom::model::Builder::new();
    builder.max_branches = 10_000;
    if builder.preemption_bound.is_none() {
        builder.preemption_bound = Some(3);
    }
    builder.check(f);
}

/// The hand-off: one item adds another while the second worker may be
/// idle; it must be woken, and both workers must exit.
#[test]
fn loom_hand_off() {
    loom_model(|| {
        let stm = Stm::<LoomPlatform>::for_platform();
        let n = stm.new_tvar(0u32);
        let mut queue = TransactionQueue::<LoomPlatform, String>::with_runtime(&stm).workers(2);
        let n2 = n.clone();
        queue.add(move |tx| {
            tx.modify(&n2, |v| v + 1)?;
            let n3 = n2.clone();
            tx.add(move |tx| Ok(tx.modify(&n3, |v| v + 10)?));
            Ok(())
        });
        assert_eq!(queue.run().unwrap().committed, 2);
        assert_eq!(n.load(), 11);
    });
}

/// The commit turn: two items on two workers commit in add order.
#[test]
fn loom_ordered_turn() {
    loom_model(|| {
        let stm = Stm::<LoomPlatform>::for_platform();
        let x = stm.new_tvar(1i64);
        let mut queue = TransactionQueue::<LoomPlatform, String>::with_runtime(&stm).workers(2);
        for k in [2i64, 3] {
            let x = x.clone();
            queue.add(move |tx| Ok(tx.modify(&x, |v| v * k + k)?));
        }
        queue.run_ordered().unwrap();
        // (1 * 2 + 2) * 3 + 3 = 15; the other order would give 12.
        assert_eq!(x.load(), 15);
    });
}

/// Item 0 sets a flag; items 1 and 2 fail (with an error, with a panic) when
/// they see it unset. A serial run never fails, so an ordered run must not:
/// a failure seen speculatively, before item 0 committed, is settled only at
/// the item's turn, where the flag is set and the item runs again.
fn ordered_failures_are_those_of_the_serial_run<P: Platform>() {
    let stm = Stm::<P>::for_platform();
    let flag = stm.new_tvar(false);
    let mut queue = TransactionQueue::<P, String>::with_runtime(&stm).workers(2);
    {
        let flag = flag.clone();
        queue.add(move |tx| Ok(tx.write(&flag, true)?));
    }
    {
        let flag = flag.clone();
        queue.add(move |tx| match tx.read(&flag)? {
            true => Ok(()),
            false => Err(stm_core::TxError::Abort("flag not set yet".to_string())),
        });
    }
    queue.add(move |tx| {
        assert!(tx.read(&flag)?, "flag not set yet");
        Ok(())
    });
    let summary = queue.run_ordered().unwrap();
    assert_eq!(summary.committed, 3);
}

#[test]
fn shuttle_ordered_failures_settle_at_the_turn_random() {
    shuttle::check_random(
        ordered_failures_are_those_of_the_serial_run::<ShuttlePlatform>,
        ITERATIONS,
    );
}

#[test]
fn shuttle_ordered_failures_settle_at_the_turn_pct() {
    shuttle::check_pct(
        ordered_failures_are_those_of_the_serial_run::<ShuttlePlatform>,
        ITERATIONS,
        3,
    );
}
