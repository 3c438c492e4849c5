//! Small transaction-queue runs for the model checkers, each on a runtime
//! the caller makes (plain, or with a queue bug injected): the hand-off
//! (idle workers woken when an item adds work, every worker exiting when
//! the run ends, each item run once) and `run_ordered`'s turn (items that
//! finish before their turn are detached and committed by whoever passes
//! it).

use stm_core::platform::{AtomicWord, Ordering};
use stm_core::transaction::TransactionQueue;
use stm_core::{Platform, Stm, TVar};

/// Three items over one log; item 0 adds a fourth. Returns the log.
pub fn run_small_queue<P: Platform>(stm: Stm<P>, ordered: bool, workers: usize) -> Vec<u32> {
    let log: TVar<Vec<u32>, P> = stm.new_tvar(Vec::new());
    let counter = stm.new_tvar(0u32);
    let mut queue =
        TransactionQueue::<P, String>::with_runtime_and_error_type(&stm).workers(workers);
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
    assert_eq!(summary.committed, 4, "every item commits exactly once");
    assert_eq!(counter.load(), 3);
    log.load()
}

/// `run_small_queue` in order: the log is the add order.
pub fn ordered_commits_in_add_order<P: Platform>(stm: Stm<P>) {
    assert_eq!(run_small_queue(stm, true, 2), vec![0, 1, 2, 99]);
}

/// `run_small_queue` in any order: each item once, the added one after
/// its parent.
pub fn unordered_hands_every_item_over_once<P: Platform>(stm: Stm<P>) {
    let mut log = run_small_queue(stm, false, 2);
    let child_after_parent = log.iter().position(|&l| l == 99) > log.iter().position(|&l| l == 0);
    assert!(
        child_after_parent,
        "an added item ran before its parent committed: {log:?}"
    );
    log.sort_unstable();
    assert_eq!(log, vec![0, 1, 2, 99]);
}

/// Item 0 writes a TVar and adds an item that only reads another; item 1
/// writes a third. On two workers the added item may run on the worker
/// that committed item 1 before item 0, whose snapshot hint is then older
/// than item 0's commit: its place in `last_committed` (a read-only item
/// takes its snapshot's) must still follow the item that added it.
pub fn an_added_read_only_item_follows_its_parent<P: Platform>(stm: Stm<P>) {
    let (a, b, c) = (stm.new_tvar(0u32), stm.new_tvar(0u32), stm.new_tvar(0u32));
    let mut queue = TransactionQueue::<P, String>::with_runtime_and_error_type(&stm).workers(2);
    queue.add(move |tx| {
        tx.write(&a, 1)?;
        let b = b.clone();
        tx.add(move |tx| {
            tx.read(&b)?;
            Ok(())
        });
        Ok(())
    });
    queue.add(move |tx| Ok(tx.write(&c, 1)?));
    assert_eq!(queue.run().unwrap().committed, 3);
    let order = queue.last_committed();
    let position = |id: u64| order.iter().position(|i| i.0 == id);
    assert!(
        position(0) < position(2),
        "the added item comes before the item that added it: {order:?}"
    );
}

/// One item that adds another, on two workers: the second worker may find
/// nothing to claim and sleep; it must be woken (by the addition, or by
/// the end of the run), and both workers must exit.
pub fn an_added_item_wakes_an_idle_worker<P: Platform>(stm: Stm<P>) {
    // Not dropped if the run panics: a model checker that reports a
    // deadlock forbids touching its atomics while the panic unwinds.
    let n = core::mem::ManuallyDrop::new(stm.new_tvar(0u32));
    let mut queue = TransactionQueue::<P, String>::with_runtime_and_error_type(&stm).workers(2);
    let n2 = (*n).clone();
    queue.add(move |tx| {
        tx.modify(&n2, |v| v + 1)?;
        let n3 = n2.clone();
        tx.add(move |tx| Ok(tx.modify(&n3, |v| v + 10)?));
        Ok(())
    });
    assert_eq!(queue.run().unwrap().committed, 2);
    assert_eq!(n.load(), 11);
    drop(core::mem::ManuallyDrop::into_inner(n));
}

/// A queue kept with its helper (`keep_workers(true)`) through `runs` runs on
/// two workers; the items of every run commit once, each run sees the ones
/// before, and dropping the queue stops the helper (a model checker fails a
/// helper left waiting). The queued items borrow their TVar and a counter
/// of their drops: when a run returns, every item it took has been dropped
/// (what lets items borrow: no helper still holds one). In a `busy` run two
/// items are queued, one adding a third, and every other run is ordered
/// (both modes hand their run to the kept helper); otherwise a run has one
/// item, for loom's state space.
pub fn kept_helpers_work_on_every_run<P: Platform>(stm: Stm<P>, runs: u32, busy: bool) {
    // Not dropped if a run panics (see `an_added_item_wakes_an_idle_worker`):
    // the queue, whose items borrow them, is not either.
    let n_owned = core::mem::ManuallyDrop::new(stm.new_tvar(0u32));
    let dropped_owned = core::mem::ManuallyDrop::new(P::AtomicU64::new(0));
    let (n, dropped) = (&*n_owned, &*dropped_owned);
    let mut queue = core::mem::ManuallyDrop::new(
        TransactionQueue::<P, String>::with_runtime_and_error_type(&stm)
            .workers(2)
            .keep_workers(true),
    );
    let per_run = if busy { 3 } else { 1 };
    for run in 1..=runs {
        let adds: &[bool] = if busy { &[true, false] } else { &[false] };
        for &adds in adds {
            let counted = DropCounted::<P>(dropped);
            queue.add(move |tx| {
                let _ = &counted;
                tx.modify(n, |v| v + 1)?;
                if adds {
                    let n = n.clone();
                    tx.add(move |tx| Ok(tx.modify(&n, |v| v + 1)?));
                }
                Ok(())
            });
        }
        let summary = if busy && run % 2 == 0 {
            queue.run_ordered()
        } else {
            queue.run()
        };
        assert_eq!(summary.unwrap().committed, u64::from(per_run));
        assert_eq!(n.load(), per_run * run);
        assert_eq!(
            dropped.load(Ordering::Relaxed),
            (adds_per_run(busy) * run) as u64,
            "an item of run {run} is not dropped when the run returns"
        );
    }
    drop(core::mem::ManuallyDrop::into_inner(queue));
    drop(core::mem::ManuallyDrop::into_inner(n_owned));
    drop(core::mem::ManuallyDrop::into_inner(dropped_owned));
}

/// Items queued (not added by items) per run of `kept_helpers_work_on_every_run`.
fn adds_per_run(busy: bool) -> u32 {
    if busy {
        2
    } else {
        1
    }
}

/// Counts its drops in a platform atomic it borrows.
struct DropCounted<'a, P: Platform>(&'a P::AtomicU64);

impl<P: Platform> Drop for DropCounted<'_, P> {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
}

/// Two order-dependent items on two workers, in order: item 1 may finish
/// first and be detached; whoever commits item 0 or finishes item 1 last
/// commits it, once, after re-running it on item 0's result.
pub fn ordered_items_commit_in_turn<P: Platform>(stm: Stm<P>) {
    let x = stm.new_tvar(1i64);
    let mut queue = TransactionQueue::<P, String>::with_runtime_and_error_type(&stm).workers(2);
    for k in [2i64, 3] {
        let x = x.clone();
        queue.add(move |tx| Ok(tx.modify(&x, |v| v * k + k)?));
    }
    assert_eq!(queue.run_ordered().unwrap().committed, 2);
    // (1 * 2 + 2) * 3 + 3 = 15; the other order would give 12.
    assert_eq!(x.load(), 15);
}

/// Three order-dependent items on two workers, in order: a worker claims
/// two consecutive items (its share, rounded up) and commits the second at
/// the turn it holds after the first, passing the turn on once for both;
/// the other item may finish first and wait, detached, for the turn.
pub fn ordered_runs_of_items_commit_in_turn<P: Platform>(stm: Stm<P>) {
    let x = stm.new_tvar(1i64);
    let mut queue = TransactionQueue::<P, String>::with_runtime_and_error_type(&stm).workers(2);
    for k in [2i64, 3, 4] {
        let x = x.clone();
        queue.add(move |tx| Ok(tx.modify(&x, |v| v * k + k)?));
    }
    assert_eq!(queue.run_ordered().unwrap().committed, 3);
    // ((1 * 2 + 2) * 3 + 3) * 4 + 4 = 64: the serial order, and no other.
    assert_eq!(x.load(), 64);
}

/// Four order-dependent items in order on two workers; the last writes a
/// TVar it creates and drops in its body, so its attempt cannot be
/// detached (the TVar is losing its last handle). When its worker also
/// holds item 2, finished and waiting for its turn, waiting for item 3's
/// turn would never end (only that worker can commit item 2): the attempt
/// is given up and runs again at its turn. Returns how many attempts were
/// given up (neither committed nor aborted).
pub fn an_item_that_cannot_be_detached_runs_at_its_turn<P: Platform>(stm: Stm<P>) -> u64 {
    let x = stm.new_tvar(1i64);
    let mut queue = TransactionQueue::<P, String>::with_runtime_and_error_type(&stm).workers(2);
    for k in [2i64, 3, 4, 5] {
        let (x, stm) = (x.clone(), stm.clone());
        queue.add(move |tx| {
            if k == 5 {
                let scratch = stm.new_tvar(0i64);
                tx.write(&scratch, k)?;
                drop(scratch);
            }
            Ok(tx.modify(&x, |v| v * k + k)?)
        });
    }
    let summary = queue.run_ordered().unwrap();
    assert_eq!(summary.committed, 4);
    // (((1 * 2 + 2) * 3 + 3) * 4 + 4) * 5 + 5: the serial order.
    assert_eq!(x.load(), 325);
    let stats = summary.stats;
    stats.attempts - stats.commits - stats.conflict_aborts() - stats.user_aborts - stats.panics
}

/// Two independent items in order on two workers: item 1 finishing first
/// is detached and, unchanged by item 0, committed without running again.
/// Returns how many items were detached.
pub fn independent_ordered_items_commit_once<P: Platform>(stm: Stm<P>) -> u64 {
    let a = stm.new_tvar(0u32);
    let b = stm.new_tvar(0u32);
    let mut queue = TransactionQueue::<P, String>::with_runtime_and_error_type(&stm).workers(2);
    for tvar in [a.clone(), b.clone()] {
        queue.add(move |tx| Ok(tx.modify(&tvar, |v| v + 1)?));
    }
    let summary = queue.run_ordered().unwrap();
    assert_eq!(summary.committed, 2);
    assert_eq!(
        summary.stats.attempts, 2,
        "no item ran twice: {}",
        summary.stats
    );
    assert_eq!((a.load(), b.load()), (1, 1));
    summary.detached
}

/// Items of a run in any order on one worker, enough for it to commit them
/// in groups, all updating one total that another thread updates too: a
/// group conflicts and its items run again alone. Every item commits
/// exactly once (each adds one more, which must run once, after it), the
/// total counts every update, and some transaction committed several
/// items (groups formed). Returns how many attempts lost a conflict.
pub fn grouped_items_commit_once_despite_conflicts<P: Platform>(stm: Stm<P>) -> u64 {
    // A batch of 24 / 8 = 3 items: a group of two, then of the rest.
    const ITEMS: u32 = 24;
    const CHILD: u32 = 100;
    const OTHER_UPDATES: u32 = 8;
    let total = stm.new_tvar(0u32);
    let log: TVar<Vec<u32>, P> = stm.new_tvar(Vec::new());
    let mut queue = TransactionQueue::<P, String>::with_runtime_and_error_type(&stm).workers(1);
    for label in 0..ITEMS {
        let (total, log) = (total.clone(), log.clone());
        queue.add(move |tx| {
            tx.modify(&total, |t| t + 1)?;
            tx.modify(&log, |mut l| {
                l.push(label);
                l
            })?;
            let log = log.clone();
            tx.add(move |tx| {
                Ok(tx.modify(&log, |mut l| {
                    l.push(CHILD + label);
                    l
                })?)
            });
            Ok(())
        });
    }
    let other = {
        let (stm2, total) = (stm.clone(), total.clone());
        stm.spawn(move || {
            for _ in 0..OTHER_UPDATES {
                stm2.atomically(|tx| tx.modify(&total, |t| t + 100));
            }
        })
    };
    let summary = queue.run().unwrap();
    other.join().unwrap();
    let log = log.load();
    assert_eq!(
        summary.committed,
        2 * u64::from(ITEMS),
        "every item commits exactly once: {log:?}"
    );
    assert_eq!(total.load(), ITEMS + 100 * OTHER_UPDATES);
    let position = |label: u32| log.iter().position(|&l| l == label);
    for label in 0..ITEMS {
        assert!(
            position(label) < position(CHILD + label),
            "an added item ran before its parent: {log:?}"
        );
    }
    let mut sorted = log.clone();
    sorted.sort_unstable();
    let expected: Vec<u32> = (0..ITEMS).chain(CHILD..CHILD + ITEMS).collect();
    assert_eq!(sorted, expected, "every item commits exactly once");
    // Ours and the other thread's commits: fewer than one per item.
    assert!(
        summary.stats.commits < u64::from(2 * ITEMS + OTHER_UPDATES),
        "no group formed: {:?}",
        summary.stats
    );
    summary.stats.conflict_aborts()
}

/// What a run of [`ordered_groups_commit_in_turn`] did.
#[derive(Debug, Clone, Copy)]
pub struct OrderedGroups {
    /// The second worker's group was detached, then committed at its turn
    /// without running again.
    pub detached_group: bool,
    /// A group conflicted and its items ran alone.
    pub group_ran_alone: bool,
}

/// Six items in order on two workers, enough for each worker to run some
/// consecutive items as a group (a first claim of three, a group of two
/// then one item; a second claim of two, a group): the group of items 3
/// and 4 may finish before its turn and be detached as one attempt. If
/// `dependent`, every item updates one TVar in an order-dependent way, so
/// that such a group conflicts (stale at its turn, or reading what an
/// earlier item is committing) and its items run again alone; else each
/// item updates a TVar of its own, and no item runs twice. The outcome is
/// the serial order's either way.
pub fn ordered_groups_commit_in_turn<P: Platform>(stm: Stm<P>, dependent: bool) -> OrderedGroups {
    const ITEMS: i64 = 6;
    let tvars: Vec<TVar<i64, P>> = (0..ITEMS).map(|_| stm.new_tvar(1)).collect();
    let mut queue = TransactionQueue::<P, String>::with_runtime_and_error_type(&stm).workers(2);
    for k in 0..ITEMS {
        let tvar = tvars[if dependent { 0 } else { k as usize }].clone();
        queue.add(move |tx| Ok(tx.modify(&tvar, |v| v * 3 + k)?));
    }
    let summary = queue.run_ordered().unwrap();
    assert_eq!(summary.committed, ITEMS as u64, "every item commits once");
    if dependent {
        let serial = (0..ITEMS).fold(1, |v, k| v * 3 + k);
        assert_eq!(tvars[0].load(), serial, "the serial order's outcome");
    } else {
        for (k, tvar) in tvars.iter().enumerate() {
            assert_eq!(tvar.load(), 3 + k as i64, "item {k} applied once");
        }
        assert_eq!(
            summary.stats.conflict_aborts(),
            0,
            "independent items never conflict: {}",
            summary.stats
        );
    }
    // Without conflicts the items run in four transactions (groups of
    // items 0 and 1 and of 3 and 4, items 2 and 5 alone): two or more
    // items detached then means the second group was. Six attempts or
    // more means that group conflicted (item 5 alone makes at most two)
    // and its items ran alone.
    let attempts = summary.stats.attempts;
    OrderedGroups {
        detached_group: !dependent && summary.detached >= 2 && attempts == 4,
        group_ran_alone: attempts >= 6,
    }
}
