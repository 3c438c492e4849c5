//! The transaction queue under the model checkers: the workers' hand-off
//! (an idle worker must be woken when an item adds work, and every worker
//! must exit when the run ends) and `run_ordered`'s commit order, under
//! shuttle's random and PCT schedulers and under loom.

mod support {
    pub mod queue_scenarios;
}

use std::sync::atomic::{AtomicU64, Ordering};
use stm_core::transaction::TransactionQueue;
use stm_core::{LoomPlatform, Platform, ShuttlePlatform, Stm};
use support::queue_scenarios::*;

fn ordered_commits_in_add_order_on<P: Platform>() {
    ordered_commits_in_add_order(Stm::<P>::for_platform());
}

fn unordered_hands_every_item_over_once_on<P: Platform>() {
    unordered_hands_every_item_over_once(Stm::<P>::for_platform());
}

const ITERATIONS: usize = 1_000;

#[test]
fn shuttle_ordered_random() {
    shuttle::check_random(
        ordered_commits_in_add_order_on::<ShuttlePlatform>,
        ITERATIONS,
    );
}

#[test]
fn shuttle_ordered_pct() {
    shuttle::check_pct(
        ordered_commits_in_add_order_on::<ShuttlePlatform>,
        ITERATIONS,
        3,
    );
}

#[test]
fn shuttle_hand_off_random() {
    shuttle::check_random(
        unordered_hands_every_item_over_once_on::<ShuttlePlatform>,
        ITERATIONS,
    );
}

#[test]
fn shuttle_hand_off_pct() {
    shuttle::check_pct(
        unordered_hands_every_item_over_once_on::<ShuttlePlatform>,
        ITERATIONS,
        3,
    );
}

#[test]
fn shuttle_three_workers_ordered() {
    shuttle::check_pct(
        || {
            assert_eq!(
                run_small_queue(Stm::<ShuttlePlatform>::for_platform(), true, 3),
                vec![0, 1, 2, 99]
            )
        },
        ITERATIONS,
        3,
    );
}

fn loom_model(f: impl Fn() + Sync + Send + 'static) {
    loom_model_with_preemptions(3, f);
}

/// A loom model of at most `preemptions` preemptions per execution, unless
/// `LOOM_MAX_PREEMPTIONS` says otherwise (raise it for a deeper check: the
/// ordered models take minutes at 2 and much longer at 3).
fn loom_model_with_preemptions(preemptions: usize, f: impl Fn() + Sync + Send + 'static) {
    let mut builder = loom::model::Builder::new();
    builder.max_branches = 10_000;
    if builder.preemption_bound.is_none() {
        builder.preemption_bound = Some(preemptions);
    }
    builder.check(f);
}

/// The hand-off: one item adds another while the second worker may be
/// idle; it must be woken, and both workers must exit.
#[test]
fn loom_hand_off() {
    loom_model(|| an_added_item_wakes_an_idle_worker(Stm::<LoomPlatform>::for_platform()));
}

/// The kept helper: woken for each of two runs of one item, it works on
/// each once; the caller waits for it before returning
/// and wakes it to stop when the queue is dropped.
#[test]
fn loom_kept_helper_works_on_every_run_and_stops() {
    loom_model_with_preemptions(2, || {
        kept_helpers_work_on_every_run(Stm::<LoomPlatform>::for_platform(), 2, false)
    });
}

/// The kept helper over four runs, under shuttle's random and PCT
/// schedulers.
#[test]
fn shuttle_kept_helper_works_on_every_run() {
    shuttle::check_random(
        || kept_helpers_work_on_every_run(Stm::<ShuttlePlatform>::for_platform(), 4, true),
        ITERATIONS,
    );
    shuttle::check_pct(
        || kept_helpers_work_on_every_run(Stm::<ShuttlePlatform>::for_platform(), 4, true),
        ITERATIONS,
        3,
    );
}

/// The commit turn: two order-dependent items on two workers commit in add
/// order, the second one detached if it finishes first.
#[test]
fn loom_ordered_turn() {
    loom_model_with_preemptions(2, || {
        ordered_items_commit_in_turn(Stm::<LoomPlatform>::for_platform())
    });
}

/// Runs of consecutive items on one worker, the turn held between them and
/// passed on once.
#[test]
fn loom_ordered_runs_of_items() {
    loom_model_with_preemptions(2, || {
        ordered_runs_of_items_commit_in_turn(Stm::<LoomPlatform>::for_platform())
    });
}

#[test]
fn shuttle_ordered_runs_of_items_pct() {
    shuttle::check_pct(
        || ordered_runs_of_items_commit_in_turn(Stm::<ShuttlePlatform>::for_platform()),
        ITERATIONS,
        3,
    );
}

#[test]
fn shuttle_ordered_runs_of_items_random() {
    shuttle::check_random(
        || ordered_runs_of_items_commit_in_turn(Stm::<ShuttlePlatform>::for_platform()),
        ITERATIONS,
    );
}

#[test]
fn shuttle_added_read_only_item_follows_its_parent() {
    let scenario =
        || an_added_read_only_item_follows_its_parent(Stm::<ShuttlePlatform>::for_platform());
    shuttle::check_pct(scenario, ITERATIONS, 3);
    shuttle::check_random(scenario, ITERATIONS);
}

/// Groups of items (`run` commits a few consecutive items of a batch in
/// one transaction) that conflict with another thread give up and run
/// their items alone: each item still commits once, and some execution
/// must have had a conflict. (No loom model: groups form only in batches
/// of several items, 8 items per worker claiming one, and 24 items are far
/// beyond what loom explores; a group commits through the same protocol as
/// a single item, which the loom models check.)
#[test]
fn shuttle_grouped_items_commit_once_despite_conflicts() {
    static CONFLICTS: AtomicU64 = AtomicU64::new(0);
    let scenario = || {
        let conflicts =
            grouped_items_commit_once_despite_conflicts(Stm::<ShuttlePlatform>::for_platform());
        CONFLICTS.fetch_add(conflicts, Ordering::Relaxed);
    };
    shuttle::check_random(scenario, ITERATIONS);
    shuttle::check_pct(scenario, ITERATIONS, 3);
    assert!(CONFLICTS.load(Ordering::Relaxed) > 0, "no group conflicted");
}

/// In an ordered run, a worker's group of items finished before its turn
/// is detached as one attempt and committed at its turn, without running
/// again (independent items); a group that conflicts (order-dependent
/// items: stale at its turn, or reading what an earlier item is
/// committing) runs its items again alone.
#[test]
fn shuttle_ordered_groups_detach_and_commit_in_turn() {
    static DETACHED_GROUP: AtomicU64 = AtomicU64::new(0);
    static GROUP_RAN_ALONE: AtomicU64 = AtomicU64::new(0);
    fn count(outcome: OrderedGroups) {
        DETACHED_GROUP.fetch_add(outcome.detached_group.into(), Ordering::Relaxed);
        GROUP_RAN_ALONE.fetch_add(outcome.group_ran_alone.into(), Ordering::Relaxed);
    }
    fn independent() {
        count(ordered_groups_commit_in_turn(
            Stm::<ShuttlePlatform>::for_platform(),
            false,
        ));
    }
    fn dependent() {
        count(ordered_groups_commit_in_turn(
            Stm::<ShuttlePlatform>::for_platform(),
            true,
        ));
    }
    for scenario in [independent, dependent] {
        shuttle::check_random(scenario, ITERATIONS);
        shuttle::check_pct(scenario, ITERATIONS, 3);
    }
    assert!(
        DETACHED_GROUP.load(Ordering::Relaxed) > 0,
        "no execution detached a group"
    );
    assert!(
        GROUP_RAN_ALONE.load(Ordering::Relaxed) > 0,
        "no group conflicted and ran its items alone"
    );
}

/// A worker's group of independent items, finished before its turn, is
/// detached as one attempt and committed at its turn without running again
/// (about 38,000 executions at two preemptions, a few seconds; the
/// order-dependent variant, whose stale groups run their items again
/// alone, is too large for loom and runs under shuttle above).
#[test]
fn loom_ordered_group_detached_commits_once() {
    static DETACHED_GROUP: AtomicU64 = AtomicU64::new(0);
    loom_model_with_preemptions(2, || {
        let outcome = ordered_groups_commit_in_turn(Stm::<LoomPlatform>::for_platform(), false);
        DETACHED_GROUP.fetch_add(outcome.detached_group.into(), Ordering::Relaxed);
    });
    assert!(
        DETACHED_GROUP.load(Ordering::Relaxed) > 0,
        "no execution detached a group"
    );
}

/// An item that cannot be detached while an earlier item of its worker
/// waits for its turn is given up and runs at its turn, rather than wait
/// forever; some execution must have given one up.
#[test]
fn shuttle_undetachable_item_runs_at_its_turn() {
    static GIVEN_UP: AtomicU64 = AtomicU64::new(0);
    let scenario = || {
        let given_up = an_item_that_cannot_be_detached_runs_at_its_turn(
            Stm::<ShuttlePlatform>::for_platform(),
        );
        GIVEN_UP.fetch_add(given_up, Ordering::Relaxed);
    };
    shuttle::check_pct(scenario, ITERATIONS, 3);
    shuttle::check_random(scenario, ITERATIONS);
    assert!(
        GIVEN_UP.load(Ordering::Relaxed) > 0,
        "no execution gave up an attempt"
    );
}

/// The hand-over of a detached item: committed once, without running
/// again; some execution must have detached it, or the model proved nothing.
#[test]
fn loom_detached_item_commits_once() {
    static DETACHED: AtomicU64 = AtomicU64::new(0);
    loom_model(|| {
        let detached = independent_ordered_items_commit_once(Stm::<LoomPlatform>::for_platform());
        DETACHED.fetch_add(detached, Ordering::Relaxed);
    });
    assert!(
        DETACHED.load(Ordering::Relaxed) > 0,
        "no execution detached an item"
    );
}

#[test]
fn shuttle_detached_item_commits_once_pct() {
    static DETACHED: AtomicU64 = AtomicU64::new(0);
    shuttle::check_pct(
        || {
            let detached =
                independent_ordered_items_commit_once(Stm::<ShuttlePlatform>::for_platform());
            DETACHED.fetch_add(detached, Ordering::Relaxed);
        },
        ITERATIONS,
        3,
    );
    assert!(
        DETACHED.load(Ordering::Relaxed) > 0,
        "no execution detached an item"
    );
}

#[test]
fn shuttle_idle_worker_is_woken_random() {
    shuttle::check_random(
        || an_added_item_wakes_an_idle_worker(Stm::<ShuttlePlatform>::for_platform()),
        ITERATIONS,
    );
}

/// Item 0 sets a flag; items 1 and 2 fail (with an error, with a panic) when
/// they see it unset. A serial run never fails, so an ordered run must not:
/// a failure seen speculatively, before item 0 committed, is settled only at
/// the item's turn, where the flag is set and the item runs again.
fn ordered_failures_are_those_of_the_serial_run<P: Platform>() {
    let stm = Stm::<P>::for_platform();
    let flag = stm.new_tvar(false);
    let mut queue = TransactionQueue::<P, String>::with_runtime_and_error_type(&stm).workers(2);
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
