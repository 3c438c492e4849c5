//! When a queue item may commit: at once in `run`; at its turn in
//! `run_ordered`, without making its worker wait for it.
//!
//! Ordered turns: `turn` holds the number of the item allowed to commit;
//! every item below it has committed. Workers of an ordered run claim runs
//! of consecutive items (up to 16), so that most items find the turn on
//! their own worker: the worker that commits an item (or a group of
//! consecutive items, see `grouping`) holds the next turn and, if the next
//! item is its own, commits that one too and passes the turn on once,
//! after the run ([`HeldTurns`]).
//!
//! An item whose body finishes before its turn does not keep its worker:
//! unless another worker's batch just ahead of it is about to commit, its
//! attempt is detached (`speculation`) and kept, in order, by the worker
//! that ran it, which goes on with other items and commits it when the turn
//! reaches it (running it again first if an earlier item changed what it
//! read). Only the owner ever commits an item, so there is no hand-over to
//! race on: the turn cannot move past a waiting item until its owner
//! commits it, and the owner checks for its turn after every item and
//! sleeps only on a condition that includes it (the turn's moves wake
//! sleepers, see `parking`). A detached attempt's memory stays on the
//! thread that made it: moving logs between threads made glibc's allocator
//! contend on its arena locks. The one wait that could deadlock, an item
//! that cannot be detached waiting for its turn while earlier items of the
//! same worker wait too, is never made: the attempt is given up and runs
//! again at its turn.

use super::hand_off::{read, Padded};
use super::parking::Parking;
use super::worker::ORDERED_MAX_BATCH;
use super::ItemId;
use crate::attempt::{CommitGate, Turn};
use crate::invariant::{engine_invariant, Invariant};
use crate::platform::{AtomicWord, Ordering, Platform};
use crate::shared::RuntimeShared;

/// How long an item that finished just after the turn's item polls for its
/// turn before it is detached, in spin-loop pauses per poll a waiting worker
/// makes before it blocks (`Platform::SPINS_BEFORE_BLOCKING`): on real
/// threads 100 pauses, a few microseconds; under the model checkers none,
/// so that they explore detaching.
const POLLS_BEFORE_DETACHING_PER_SPIN: u32 = 1;

/// The commit turn of an ordered run.
pub(crate) struct CommitOrder<P: Platform> {
    /// The number of the item whose turn it is to commit.
    turn: Padded<P::AtomicU64>,
    /// The injected bug `ordered-commit-early`: an item may commit once the
    /// item just ahead of it holds the turn.
    commit_early: bool,
}

impl<P: Platform> CommitOrder<P> {
    /// The turn of a run (`commit_early`: the injected bug's).
    pub(crate) fn new(commit_early: bool) -> Self {
        CommitOrder {
            turn: Padded(P::AtomicU64::new(0)),
            commit_early,
        }
    }

    /// The number of the item whose turn it is (`exact`: by a
    /// read-modify-write, see `parking`).
    #[inline]
    pub(crate) fn turn(&self, exact: bool) -> u64 {
        read(&*self.turn, exact)
    }

    /// Passes on the turns `held` (its items committed, in order) and
    /// wakes sleepers (the worker holding the next item may wait for it).
    /// Only the turns' holder passes them: checked as an engine invariant
    /// of `runtime`.
    pub(crate) fn pass(
        &self,
        runtime: &RuntimeShared<P>,
        held: &mut HeldTurns,
        parking: &Parking<P>,
    ) {
        if held.count == 0 {
            return;
        }
        let before = parking.announce(|| self.turn.fetch_add(held.count, Ordering::AcqRel));
        engine_invariant!(
            runtime,
            Invariant::TurnPassedByOther,
            None,
            before == held.first,
            "assertion `left == right` failed: only the turn's holder passes it\n  left: {}\n right: {}",
            before,
            held.first
        );
        *held = HeldTurns::default();
    }
}

/// The turns a worker has used (their items committed, in order) and not
/// yet passed on. A worker that commits a run of consecutive items passes
/// the turn once, after the last: the turn is only a lower bound for the
/// others, and its cache line then moves between cores once per run of
/// items rather than once per item.
#[derive(Debug, Default)]
pub(crate) struct HeldTurns {
    first: u64,
    count: u64,
}

impl HeldTurns {
    /// The turn this worker holds without having passed it: the one after
    /// its last commit, if it has turns to pass.
    pub(crate) fn next(&self) -> Option<u64> {
        (self.count > 0).then_some(self.first + self.count)
    }

    /// Item `id`, which held the turn, committed.
    pub(crate) fn committed(&mut self, id: ItemId) {
        if self.count == 0 {
            self.first = id.0;
        }
        self.count += 1;
    }
}

/// `run`'s gate: commit at once unless the run is stopping.
pub(crate) struct UnorderedGate<'q> {
    pub(crate) stopping: &'q dyn Fn() -> bool,
    /// Set for the first item a worker runs after claiming items: its
    /// snapshot, and so its place in the serial order if it only reads, then
    /// follows every commit that added an item of the batch.
    pub(crate) fresh_snapshot: bool,
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
    fn fresh_snapshot(&self) -> bool {
        self.fresh_snapshot
    }
}

/// `run_ordered`'s gate: commit, and settle failures, only at the item's
/// turn; before it, detach.
pub(crate) struct OrderedGate<'o, P: Platform> {
    order: &'o CommitOrder<P>,
    parking: &'o Parking<P>,
    stopping: &'o dyn Fn(bool) -> bool,
    id: ItemId,
    holds: bool,
    /// Whether earlier items of the same worker wait for their turn: then
    /// the turn cannot reach this item while the worker waits for it.
    earlier_waiting: bool,
    /// How far behind the turn may be for the item to wait for it a moment
    /// rather than detach: the other workers' batches of one round, which
    /// started about when this worker's did and so finish about when it
    /// does. (Within one round of single items, the bound it had before
    /// groups, a group almost never found the turn near, and on 2 workers
    /// 14-74% of the `queue` benchmark's items were detached, not 0.5%.)
    near: u64,
}

impl<'o, P: Platform> OrderedGate<'o, P> {
    /// The gate of item `id`; `holds` if the caller already holds its turn,
    /// `earlier_waiting` if earlier items of the caller wait for theirs.
    pub(crate) fn new(
        order: &'o CommitOrder<P>,
        parking: &'o Parking<P>,
        stopping: &'o dyn Fn(bool) -> bool,
        id: ItemId,
        holds: bool,
        earlier_waiting: bool,
        workers: usize,
    ) -> Self {
        OrderedGate {
            order,
            parking,
            stopping,
            id,
            holds,
            earlier_waiting,
            near: (workers as u64 - 1) * ORDERED_MAX_BATCH,
        }
    }
}

impl<P: Platform> CommitGate for OrderedGate<'_, P> {
    fn poll_turn(&mut self) -> Turn {
        if self.holds {
            return Turn::Go;
        }
        if (self.stopping)(false) {
            return Turn::Abandon;
        }
        let mut turn = self.order.turn(false);
        // Another worker's batch of the same round holds the turn: it is
        // finishing, or committing, and waiting a moment for it costs less
        // than detaching. Never while this worker's own earlier items wait:
        // only this worker can commit those.
        let mut polls = 0;
        let budget = if self.earlier_waiting {
            0
        } else {
            P::SPINS_BEFORE_BLOCKING * POLLS_BEFORE_DETACHING_PER_SPIN
        };
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

    /// Only when the attempt cannot be detached: sleeps until the turn; or,
    /// if earlier items of this worker wait for their turn (which would
    /// then never come), gives the attempt up, to run again at its turn.
    fn wait_for_turn(&mut self) -> Turn {
        if !self.holds && self.earlier_waiting {
            return Turn::Abandon;
        }
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
