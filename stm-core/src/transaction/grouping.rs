//! Group commit: a worker runs a few consecutive items of its batch in ONE
//! transaction, so that the costs a transaction pays once (beginning,
//! taking a commit version from the shared clock, locking a shared total;
//! in an ordered run, detaching an attempt that finished before its turn
//! and resuming it there) are paid once per group rather than once per
//! item.
//!
//! Running items one after another in one transaction is one of the serial
//! orders `run` may pick: each item sees what the items before it in the
//! group wrote, and all commit at one point of the serial order, in group
//! order. In `run_ordered` that order is the add order: the group commits
//! at its first item's turn, and its worker then holds the turns of the
//! others (nobody else can commit between them). A group is all or
//! nothing, and only an optimisation: if it cannot commit at its first
//! attempt (a conflict, stale reads at its turn, or an item that fails,
//! panics or calls `retry`), nothing of it is kept and its items run again
//! one by one, each in its own transaction, exactly as without groups. So errors,
//! panics, `retry` and conflict reports stay those of single items; the cost
//! is that an item of a failed group runs once more (an item that panics
//! in a group panics again alone, so the panic hook prints its message
//! twice).
//!
//! Groups grow while they commit and shrink when they conflict
//! ([`GroupSize`]): items that conflict run alone, and only now and then is
//! a group of two tried again.

use crate::attempt::{CommitGate, Turn};
use core::cell::Cell;

/// The most items in one group. (16 rather than 8: on 2 workers an
/// ordered run of the `queue` benchmark's items took 5% less time, a run
/// in any order and one on 1 worker about the same, in paired runs of
/// `profile_queue`.)
pub(crate) const MAX_GROUP: usize = 16;

/// Items a worker runs alone, after a group of two conflicted, before it
/// tries a group again; doubled by each further conflicting try, up to
/// [`MAX_ALONE`].
const FIRST_ALONE: u32 = 8;
const MAX_ALONE: u32 = 1024;

/// How many items a worker puts in its next group: doubled when a group
/// commits, halved when one conflicts. At one, items run alone, and a group
/// of two is tried after a number of them that doubles with each try that
/// conflicts, so that items that keep conflicting waste little work on
/// groups.
#[derive(Debug)]
pub(crate) struct GroupSize {
    size: usize,
    /// At size one: items to run alone before the next try of a group.
    alone_left: u32,
    /// At size one: what `alone_left` starts from after the next conflict.
    alone_next: u32,
}

impl GroupSize {
    /// Starts at groups of two.
    pub(crate) fn new() -> Self {
        GroupSize {
            size: 2,
            alone_left: 0,
            alone_next: FIRST_ALONE,
        }
    }

    /// How many items the next group should have (one: run alone).
    pub(crate) fn next(&self) -> usize {
        if self.size == 1 && self.alone_left == 0 {
            2
        } else {
            self.size
        }
    }

    /// An item ran alone (not in a group).
    pub(crate) fn ran_alone(&mut self) {
        self.alone_left = self.alone_left.saturating_sub(1);
    }

    /// A group committed.
    pub(crate) fn committed(&mut self) {
        self.size = (self.size * 2).min(MAX_GROUP);
        self.alone_next = FIRST_ALONE;
    }

    /// A group conflicted.
    pub(crate) fn conflicted(&mut self) {
        self.size = (self.size / 2).max(1);
        if self.size == 1 {
            self.alone_left = self.alone_next;
            self.alone_next = (self.alone_next * 2).min(MAX_ALONE);
        }
    }
}

/// The gate of a group's attempt: the run's own gate (`run`'s, which
/// commits at once unless the run is stopping; or `run_ordered`'s for the
/// group's first item, which commits at that item's turn or detaches the
/// finished attempt before it), which also gives the group up if an item
/// of it failed (`failed`, set by the group's body); a failure or conflict
/// gives the group up (its items then run alone) rather than settling or
/// retrying it.
pub(crate) struct GroupGate<'q, G> {
    pub(crate) inner: G,
    /// Set while an item runs, cleared when it returns `Ok`: still set when
    /// the body ends, it means an item failed, panicked or called `retry`.
    pub(crate) failed: &'q Cell<bool>,
    /// Set when the run's gate gave the attempt up while the attempt waited
    /// for its turn: the run is stopping, or (ordered) the attempt could
    /// neither be detached nor wait (see `OrderedGate::wait_for_turn`), and
    /// the group then runs again at its turn.
    pub(crate) gave_up_waiting: bool,
}

impl<'q, G: CommitGate> GroupGate<'q, G> {
    pub(crate) fn new(inner: G, failed: &'q Cell<bool>) -> Self {
        GroupGate {
            inner,
            failed,
            gave_up_waiting: false,
        }
    }
}

impl<G: CommitGate> CommitGate for GroupGate<'_, G> {
    fn poll_turn(&mut self) -> Turn {
        if self.failed.get() {
            Turn::Abandon
        } else {
            self.inner.poll_turn()
        }
    }
    fn wait_for_turn(&mut self) -> Turn {
        if self.failed.get() {
            return Turn::Abandon;
        }
        let turn = self.inner.wait_for_turn();
        self.gave_up_waiting = turn == Turn::Abandon;
        turn
    }
    fn holds_turn(&self) -> bool {
        self.inner.holds_turn()
    }
    /// Failures go through the gate, which gives them up: an item's error,
    /// panic or `retry` is settled when it runs alone.
    fn settles_at_turn(&self) -> bool {
        true
    }
    fn fresh_snapshot(&self) -> bool {
        self.inner.fresh_snapshot()
    }
    fn retries_conflicts(&self) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_grow_to_the_limit_while_they_commit() {
        let mut size = GroupSize::new();
        assert_eq!(size.next(), 2);
        size.committed();
        assert_eq!(size.next(), 4);
        for _ in 0..5 {
            size.committed();
        }
        assert_eq!(size.next(), MAX_GROUP);
    }

    #[test]
    fn conflicting_groups_shrink_to_items_alone_then_try_again_less_and_less_often() {
        let mut size = GroupSize::new();
        size.conflicted();
        for tries in 0..4u32 {
            let alone = FIRST_ALONE << tries;
            for _ in 0..alone {
                assert_eq!(size.next(), 1, "try {tries}");
                size.ran_alone();
            }
            assert_eq!(size.next(), 2, "try {tries}");
            size.conflicted();
        }
        // A group that commits ends the waiting.
        for _ in 0..FIRST_ALONE * 16 {
            size.ran_alone();
        }
        assert_eq!(size.next(), 2);
        size.committed();
        assert_eq!(size.next(), 2);
        size.conflicted();
        assert_eq!(size.next(), 1);
        for _ in 0..FIRST_ALONE {
            size.ran_alone();
        }
        assert_eq!(size.next(), 2, "waits from the first length again");
    }
}
