//! When a queue item may commit: at once in `run`; at its turn in
//! `run_ordered`, without making its worker wait for it.
//!
//! Ordered turns: `turn` holds the number of the item allowed to commit;
//! every item below it has committed. A worker whose item finishes before
//! its turn waits for it only if an item of the same round (one per worker)
//! holds it, and only for a moment; otherwise the attempt is detached
//! (`speculation`) and put in the item's slot of `finished`, and the worker
//! goes on with another item. Whoever commits item `k` passes the turn to `k + 1` and, if item
//! `k + 1` is waiting in `finished`, takes it and commits it too (running
//! it again first if an earlier item changed what it read), and so on: the
//! turn is carried along by the workers, Block-STM style, and an item that
//! must run again does so at once, behind nothing but its turn.
//!
//! The hand-over of a finished item, race-free without a lock: its worker
//! stores it in its slot and then reads `turn` with a read-modify-write;
//! the worker passing the turn to it moves `turn` with a read-modify-write
//! and then swaps the slot empty. If the finishing worker's read comes later
//! in `turn`'s modification order, it sees its turn and swaps the slot
//! itself; otherwise the passer's read-modify-write synchronises with it,
//! so the passer's swap finds the item. One of them, and only one (the swap
//! decides), commits it.

use super::hand_off::{read, Padded};
use super::parking::Parking;
use super::slots::SlotTable;
use super::ItemId;
use crate::attempt::{CommitGate, Turn};
use crate::invariant::{engine_invariant, Invariant};
use crate::platform::{AtomicWord, Ordering, Platform};
use crate::shared::RuntimeShared;

/// How long an item that finished within a round of the turn polls for its
/// turn before it is detached, in spin-loop pauses per poll a waiting
/// worker makes before it blocks (`Platform::SPINS_BEFORE_BLOCKING`): on
/// real threads 2,000 pauses, tens of microseconds, a few dozen items;
/// under the model checkers none, so that they explore detaching.
const POLLS_BEFORE_DETACHING_PER_SPIN: u32 = 10;

/// The commit turn of an ordered run, and the items waiting for it.
pub(crate) struct CommitOrder<P: Platform, F: Send> {
    /// The number of the item whose turn it is to commit.
    turn: Padded<P::AtomicU64>,
    /// Items whose body finished before their turn.
    finished: SlotTable<P, Box<F>>,
    /// The injected bug `ordered-commit-early`: an item may commit once the
    /// item just ahead of it holds the turn.
    commit_early: bool,
}

impl<P: Platform, F: Send> CommitOrder<P, F> {
    /// The turn of a run of `items` items (`commit_early`: the injected
    /// bug's).
    pub(crate) fn new(items: usize, commit_early: bool) -> Self {
        CommitOrder {
            turn: Padded(P::AtomicU64::new(0)),
            finished: SlotTable::new(items),
            commit_early,
        }
    }

    /// The number of the item whose turn it is (`exact`: by a
    /// read-modify-write, see `parking`).
    #[inline]
    pub(crate) fn turn(&self, exact: bool) -> u64 {
        read(&*self.turn, exact)
    }

    /// Ends item `id`'s turn (it committed), wakes sleepers, and takes item
    /// `id + 1` if it finished and waits (see the module docs). Only the
    /// turn's holder passes it: checked as an engine invariant of `runtime`.
    pub(crate) fn pass(
        &self,
        runtime: &RuntimeShared<P>,
        id: ItemId,
        parking: &Parking<P>,
    ) -> Option<Box<F>> {
        let before = parking.announce(|| self.turn.fetch_add(1, Ordering::AcqRel));
        engine_invariant!(
            runtime,
            Invariant::TurnPassedByOther,
            None,
            before == id.0,
            "assertion `left == right` failed: only the turn's holder passes it\n  left: {}\n right: {}",
            before,
            id.0
        );
        self.finished.take(id.0 + 1)
    }

    /// Leaves finished item `id` to be committed at its turn. Returns it
    /// back if the turn came meanwhile: the caller commits it.
    pub(crate) fn leave(&self, id: ItemId, finished: Box<F>) -> Option<Box<F>> {
        self.finished.put(id.0, finished);
        if self.turn(true) == id.0 {
            self.finished.take(id.0)
        } else {
            None
        }
    }
}

/// `run`'s gate: commit at once unless the run is stopping.
pub(crate) struct UnorderedGate<'q> {
    pub(crate) stopping: &'q dyn Fn() -> bool,
}

impl CommitGate for UnorderedGate<'_> {
    fn wait_for_turn(&mut self) -> Turn {
        if (self.stopping)() {
            Turn::Abandon
        } else {
            Turn::Go
        }
    }
    fn holds_turn(&self) -> bool {
        true
    }
    fn settles_at_turn(&self) -> bool {
        false
    }
}

/// `run_ordered`'s gate: commit, and settle failures, only at the item's
/// turn; before it, detach.
pub(crate) struct OrderedGate<'o, P: Platform, F: Send> {
    order: &'o CommitOrder<P, F>,
    parking: &'o Parking<P>,
    stopping: &'o dyn Fn(bool) -> bool,
    id: ItemId,
    holds: bool,
    /// How far behind the turn may be for the item to wait for it a moment
    /// rather than detach (the number of workers: one round of items).
    near: u64,
}

impl<'o, P: Platform, F: Send> OrderedGate<'o, P, F> {
    /// The gate of item `id`; `holds` if the caller already holds its turn.
    pub(crate) fn new(
        order: &'o CommitOrder<P, F>,
        parking: &'o Parking<P>,
        stopping: &'o dyn Fn(bool) -> bool,
        id: ItemId,
        holds: bool,
        workers: usize,
    ) -> Self {
        OrderedGate {
            order,
            parking,
            stopping,
            id,
            holds,
            near: workers as u64 - 1,
        }
    }
}

impl<P: Platform, F: Send> CommitGate for OrderedGate<'_, P, F> {
    fn poll_turn(&mut self) -> Turn {
        if self.holds {
            return Turn::Go;
        }
        if (self.stopping)(false) {
            return Turn::Abandon;
        }
        let mut turn = self.order.turn(false);
        // An item of the same round (at most one per worker) holds the turn:
        // it is finishing, or committing. Waiting a moment for it (tens of
        // microseconds at most) is much cheaper than detaching, whose logs
        // move to another thread; a turn further away, or one that does not
        // come in that time (its worker was descheduled), is not waited for.
        let mut polls = 0;
        let budget = P::SPINS_BEFORE_BLOCKING * POLLS_BEFORE_DETACHING_PER_SPIN;
        while turn != self.id.0 && self.id.0 - turn <= self.near && polls < budget {
            P::pause();
            polls += 1;
            turn = self.order.turn(false);
        }
        if turn == self.id.0 || (self.order.commit_early && turn + 1 == self.id.0) {
            self.holds = true;
            return Turn::Go;
        }
        Turn::NotYet
    }

    /// Only when the attempt cannot be detached: sleeps until the turn.
    fn wait_for_turn(&mut self) -> Turn {
        if !self.holds {
            let id = self.id.0;
            self.parking
                .wait_until(|exact| (self.stopping)(exact) || self.order.turn(exact) == id);
        }
        match self.poll_turn() {
            Turn::NotYet => unreachable!("woken at the turn or the stop"),
            turn => turn,
        }
    }

    fn holds_turn(&self) -> bool {
        self.holds
    }

    fn settles_at_turn(&self) -> bool {
        true
    }
}
