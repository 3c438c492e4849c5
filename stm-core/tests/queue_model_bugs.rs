//! The injected queue bugs, each caught by a model of
//! `support/queue_scenarios.rs` run on a runtime with the bug switched on:
//! `lose-queue-wakeup` (a worker looks for sleepers before it announces a
//! change, not after) leaves a worker asleep at the end of a run, or a
//! queue's kept helper asleep when the next run starts, which loom reports
//! as a deadlock; `claim-items-twice` (items claimed with a
//! load and a store) lets two workers claim one item, and the run's count
//! of settled items no longer matches: shuttle finds a run that hangs or
//! ends with items missing; `ordered-commit-early` (an item commits when
//! the item just ahead holds the turn) breaks the order of an ordered run,
//! or the engine invariant that only the turn's holder passes it, or (a
//! group of items committed early) leaves the run hung;
//! `added-items-of-aborted-attempt` (what an aborted attempt added is kept)
//! runs an added item twice once its parent conflicts, alone or in a group
//! of items committed together; `helper-keeps-run` (a kept helper counts
//! itself done before it lets go of the run) lets a run return while the
//! helper still holds its items, which the queue stops and loom reports.
//! Each test expects the model to fail.

mod support {
    // Each binary uses some of the scenarios.
    #[allow(dead_code)]
    pub mod queue_scenarios;
}

use stm_core::{InjectedBug, LoomPlatform, Platform, ShuttlePlatform, Stm, StmConfig};
use support::queue_scenarios::*;

fn with_bug<P: Platform>(bug: InjectedBug) -> Stm<P> {
    Stm::<P>::with_injected_bug(StmConfig::default(), None, bug)
}

#[test]
#[should_panic(expected = "deadlock")]
fn lose_queue_wakeup_is_caught_by_the_hand_off_model() {
    let mut builder = loom::model::Builder::new();
    builder.preemption_bound = Some(3);
    builder.check(|| {
        an_added_item_wakes_an_idle_worker(with_bug::<LoomPlatform>(InjectedBug::LoseQueueWakeup))
    });
}

/// The kept-helper loom model (two runs of one item, preemption bound 2)
/// on a runtime with `bug`.
fn kept_helper_model_with(bug: InjectedBug) {
    let mut builder = loom::model::Builder::new();
    builder.preemption_bound = Some(2);
    builder.check(move || kept_helpers_work_on_every_run(with_bug::<LoomPlatform>(bug), 2, false));
}

#[test]
#[should_panic(expected = "deadlock")]
fn lose_queue_wakeup_is_caught_by_the_kept_helper_model() {
    kept_helper_model_with(InjectedBug::LoseQueueWakeup);
}

#[test]
#[should_panic(expected = "a queue run returned while a helper held it")]
fn helper_keeps_run_is_caught_by_the_kept_helper_model() {
    kept_helper_model_with(InjectedBug::HelperKeepsRun);
}

#[test]
#[should_panic]
fn claim_items_twice_is_caught_by_the_hand_off_test() {
    shuttle::check_random(
        || {
            unordered_hands_every_item_over_once(with_bug::<ShuttlePlatform>(
                InjectedBug::ClaimItemsTwice,
            ))
        },
        1_000,
    );
}

#[test]
#[should_panic]
fn ordered_commit_early_is_caught_by_the_ordered_turn_test() {
    shuttle::check_random(
        || {
            ordered_commits_in_add_order(with_bug::<ShuttlePlatform>(
                InjectedBug::OrderedCommitEarly,
            ))
        },
        1_000,
    );
}

#[test]
#[should_panic]
fn ordered_commit_early_is_caught_by_the_ordered_group_test() {
    shuttle::check_random(
        || {
            ordered_groups_commit_in_turn(
                with_bug::<ShuttlePlatform>(InjectedBug::OrderedCommitEarly),
                true,
            );
        },
        1_000,
    );
}

#[test]
#[should_panic(expected = "every item commits exactly once")]
fn added_items_of_aborted_attempt_is_caught_by_the_group_test() {
    shuttle::check_random(
        || {
            grouped_items_commit_once_despite_conflicts(with_bug::<ShuttlePlatform>(
                InjectedBug::AddedItemsOfAbortedAttempt,
            ));
        },
        1_000,
    );
}

#[test]
#[should_panic(expected = "every item commits exactly once")]
fn added_items_of_aborted_attempt_is_caught_by_the_hand_off_test() {
    shuttle::check_random(
        || {
            unordered_hands_every_item_over_once(with_bug::<ShuttlePlatform>(
                InjectedBug::AddedItemsOfAbortedAttempt,
            ))
        },
        1_000,
    );
}
