//! One worker of a queue run: claim items, run each as a transaction
//! through the run's gate, settle the outcome, repeat until the run ends.

use super::commit_order::{CommitOrder, HeldTurns, OrderedGate, UnorderedGate};
use super::grouping::{GroupGate, GroupSize, MAX_GROUP};
use super::hand_off::{BatchSize, HandOff, MAX_BATCH};
use super::item::{Item, ItemArena};
use super::{ItemId, ItemTx};
use crate::attempt::{self, CommitGate, Outcome};
use crate::injected_bug::BugSwitch;
use crate::platform::{Lock, Platform};
use crate::speculation::Detached;
use crate::stm::Stm;
use crate::tx::Transaction;
use core::any::Any;
use core::cell::Cell;
use std::collections::VecDeque;
use std::panic::{catch_unwind, AssertUnwindSafe};

/// How many items per worker an ordered run may execute ahead of the
/// commit turn.
const ORDERED_WINDOW_PER_WORKER: u64 = 64;

/// Why a run stopped early.
pub(crate) enum Failure<E> {
    Error(E),
    Panic(Box<dyn Any + Send>),
    Stuck,
}

/// The first failure of a run, with the item it came from, and how many
/// items failed.
pub(crate) type Failures<E> = (Option<(ItemId, Failure<E>)>, u64);

/// The most items a worker of an ordered run claims at once: runs of
/// consecutive items on one worker commit one after another there, and the
/// turn moves between workers once per run rather than once per item.
const ORDERED_MAX_BATCH: u64 = 16;

/// An item of an ordered run, on the worker that runs it, waiting for its
/// turn.
struct Waiting<P: Platform, E> {
    id: ItemId,
    item: Item<P, E>,
    added: Vec<Item<P, E>>,
    /// Its finished attempt, detached; `None` when it is to run (again) at
    /// its turn.
    attempt: Option<Detached<P, (), E>>,
}

/// The items a worker committed in a run in any order, each with its
/// place in the serial order (`Transaction::serialization_point`), in the
/// order the worker committed them.
pub(crate) type Committed = Vec<(u64, ItemId)>;

/// How a group's one attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum GroupOutcome {
    Committed,
    /// Lost a conflict.
    Conflicted,
    /// An item failed, panicked or called `retry`, or the run is stopping.
    GaveUp,
}

/// What one worker did in a run.
#[derive(Default)]
pub(crate) struct WorkerReport {
    /// In a run in any order, the items it committed.
    pub(crate) committed: Committed,
    /// In an ordered run, the items it detached (finished before their turn).
    pub(crate) detached: u64,
}

/// Everything the workers of one run share.
pub(crate) struct RunShared<P: Platform, E: Send + 'static> {
    pub(crate) stm: Stm<P>,
    pub(crate) hand_off: HandOff<P, Item<P, E>>,
    /// `Some` for an ordered run.
    pub(crate) order: Option<CommitOrder<P>>,
    pub(crate) workers: usize,
    /// The first failure, with the item it came from, and how many items
    /// failed.
    pub(crate) failure: P::Mutex<Failures<E>>,
    /// The memory of the items queued before the run: dropped last, after
    /// every item (each worker drops the items it holds before its share
    /// of this struct). Held, never read.
    #[allow(dead_code)]
    pub(crate) arena: ItemArena,
}

impl<P: Platform, E: Send + 'static> RunShared<P, E> {
    /// Runs items until none is left or the run stops.
    pub(crate) fn work(&self) -> WorkerReport {
        let mut report = WorkerReport::default();
        match &self.order {
            None => self.work_in_any_order(&mut report.committed),
            Some(order) => self.work_in_order(order, &mut report.detached),
        }
        report
    }

    fn work_in_any_order(&self, committed: &mut Committed) {
        let hand_off = &self.hand_off;
        let mut settled = 0;
        let mut group = Vec::with_capacity(MAX_GROUP);
        let mut group_size = GroupSize::new();
        // Exact conflict reports name each item's own call site: no groups.
        let grouping = !self.stm.shared().config.conflict_reports;
        loop {
            if hand_off.is_stopping(false) {
                break;
            }
            if let Some(batch) = hand_off.claim(
                BatchSize::Guided {
                    workers: self.workers,
                },
                MAX_BATCH,
                u64::MAX,
            ) {
                let mut fresh_snapshot = true;
                for id in batch {
                    let item = hand_off.take(id);
                    settled += 1;
                    if let Some(item) = item.filter(|_| !hand_off.is_stopping(false)) {
                        group.push((ItemId(id), item));
                    }
                    let size = if grouping { group_size.next() } else { 1 };
                    if group.len() >= size {
                        self.run_group(&mut group, &mut group_size, fresh_snapshot, committed);
                        fresh_snapshot = false;
                    }
                }
                if !group.is_empty() {
                    self.run_group(&mut group, &mut group_size, fresh_snapshot, committed);
                }
                continue;
            }
            if hand_off.settled(core::mem::take(&mut settled)) {
                break;
            }
            hand_off.parking.wait_until(|exact| {
                hand_off.is_stopping(exact)
                    || hand_off.claimable(u64::MAX, exact)
                    || hand_off.is_over(exact)
            });
            if hand_off.is_over(false) {
                break;
            }
        }
        hand_off.settled(settled);
    }

    /// Runs the items of `group` (consecutive items of one batch, leaving it
    /// empty): together in one transaction if there are several (see
    /// `grouping`), and alone if there is one or the group cannot commit.
    fn run_group(
        &self,
        group: &mut Vec<(ItemId, Item<P, E>)>,
        group_size: &mut GroupSize,
        fresh_snapshot: bool,
        committed: &mut Committed,
    ) {
        if group.len() > 1 {
            let (outcome, added) = self.execute_group(group, fresh_snapshot, committed);
            let keep_added = outcome == GroupOutcome::Committed
                || self
                    .stm
                    .shared()
                    .has_bug(BugSwitch::AddedItemsOfAbortedAttempt);
            if keep_added && !added.is_empty() {
                self.hand_off.add(added);
            }
            match outcome {
                GroupOutcome::Committed => {
                    group_size.committed();
                    group.clear();
                    return;
                }
                GroupOutcome::Conflicted => group_size.conflicted(),
                GroupOutcome::GaveUp => {}
            }
        }
        // Alone, the first with a fresh snapshot if the group was to have
        // one (a group that gave up took its snapshot for nothing).
        let mut fresh_snapshot = fresh_snapshot;
        for (id, item) in group.drain(..) {
            // As when taken: once the run stops, no further item starts.
            if self.hand_off.is_stopping(false) {
                continue;
            }
            group_size.ran_alone();
            self.run_in_any_order(id, item, fresh_snapshot, committed);
            fresh_snapshot = false;
        }
    }

    /// Runs every item of `group`, in order, in one transaction, once;
    /// if it commits, adds the group's items to `committed`. Returns how it
    /// ended and what its attempt added.
    fn execute_group(
        &self,
        group: &mut [(ItemId, Item<P, E>)],
        fresh_snapshot: bool,
        committed: &mut Committed,
    ) -> (GroupOutcome, Vec<Item<P, E>>) {
        let site = group[0].1.site();
        let runtime = self.stm.shared();
        let stopping = || self.hand_off.is_stopping(false);
        let failed = Cell::new(false);
        let mut gate = GroupGate {
            unordered: UnorderedGate {
                stopping: &stopping,
                fresh_snapshot,
            },
            failed: &failed,
        };
        let mut added = Vec::new();
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            let mut body = |tx: &mut Transaction<'_, P>| {
                added.clear();
                for (_, item) in group.iter_mut() {
                    failed.set(true);
                    item.run(&mut ItemTx {
                        tx,
                        added: &mut added,
                    })?;
                    failed.set(false);
                }
                Ok(())
            };
            attempt::execute(runtime, site, &mut gate, &mut body)
        }));
        let outcome = match outcome {
            Ok(Outcome::Committed((), point)) => {
                committed.extend(group.iter().map(|(id, _)| (point, *id)));
                GroupOutcome::Committed
            }
            // Abandoned with no item failed and the run going on: it lost a
            // conflict.
            Ok(Outcome::Abandoned) if !failed.get() && !stopping() => GroupOutcome::Conflicted,
            // Given up for a failing item or a stop; or (not expected: the
            // gate settles nothing) a failure of the engine's own, which the
            // items will meet again alone.
            _ => GroupOutcome::GaveUp,
        };
        (outcome, added)
    }

    fn run_in_any_order(
        &self,
        id: ItemId,
        mut item: Item<P, E>,
        fresh_snapshot: bool,
        committed: &mut Committed,
    ) {
        let mut added = Vec::new();
        let stopping = || self.hand_off.is_stopping(false);
        let mut gate = UnorderedGate {
            stopping: &stopping,
            fresh_snapshot,
        };
        match self.execute(&mut item, &mut added, &mut gate, None) {
            Outcome::Committed((), point) => {
                committed.push((point, id));
                if !added.is_empty() {
                    self.hand_off.add(added);
                }
            }
            Outcome::Abandoned => {}
            Outcome::Failed(error) => self.fail(id, Failure::Error(error)),
            Outcome::Panicked(panic) => self.fail(id, Failure::Panic(panic)),
            Outcome::Stuck => self.fail(id, Failure::Stuck),
            Outcome::Detached(_) => unreachable!("an unordered gate never says `not yet`"),
        }
    }

    fn work_in_order(&self, order: &CommitOrder<P>, detached: &mut u64) {
        let hand_off = &self.hand_off;
        let runtime = self.stm.shared();
        let parking = &hand_off.parking;
        let window = ORDERED_WINDOW_PER_WORKER * self.workers as u64;
        // This worker's items that finished before their turn, by number.
        let mut waiting = VecDeque::new();
        let mut held = HeldTurns::default();
        loop {
            if hand_off.is_stopping(false) {
                break;
            }
            if self.commit_waiting_at_turn(order, &mut waiting, &mut held) {
                continue;
            }
            order.pass(runtime, &mut held, parking);
            let turn = order.turn(false);
            if let Some(batch) = hand_off.claim(
                BatchSize::Share {
                    workers: self.workers,
                },
                ORDERED_MAX_BATCH,
                turn + window,
            ) {
                // No check for a stop between the items: only the turn's
                // holder fails, so an item of a stopping run is either
                // this worker's at its turn (whose failure stopped it) or
                // one whose gate sees the stop.
                for id in batch.map(ItemId) {
                    // Holding the turn of the previous item of the batch,
                    // this worker holds this one's.
                    let at_turn = held.next() == Some(id.0);
                    let item = hand_off.take(id.0);
                    if !at_turn || item.is_none() {
                        order.pass(runtime, &mut held, parking);
                    }
                    if let Some(item) = item {
                        let item = Waiting {
                            id,
                            item,
                            added: Vec::new(),
                            attempt: None,
                        };
                        if self.run_in_order(order, item, at_turn, &mut waiting, detached) {
                            held.committed(id);
                        }
                    }
                    self.commit_waiting_at_turn(order, &mut waiting, &mut held);
                }
                continue;
            }
            if turn == hand_off.allocated(false) {
                // Every item committed (the turn is read first: see
                // `hand_off`).
                break;
            }
            let first_waiting = waiting.front().map(|w| w.id.0);
            parking.wait_until(|exact| {
                let turn = order.turn(exact);
                hand_off.is_stopping(exact)
                    || turn == hand_off.allocated(exact)
                    || Some(turn) == first_waiting
                    || hand_off.claimable(turn + window, exact)
            });
        }
        order.pass(runtime, &mut held, parking);
    }

    /// Commits (or runs again) this worker's waiting items whose turn has
    /// come, in order, adding their turns to `held`; returns whether there
    /// was one.
    fn commit_waiting_at_turn(
        &self,
        order: &CommitOrder<P>,
        waiting: &mut VecDeque<Waiting<P, E>>,
        held: &mut HeldTurns,
    ) -> bool {
        let mut any = false;
        while let Some(first) = waiting.front().map(|w| w.id) {
            let turn = held.next().unwrap_or_else(|| order.turn(false));
            if first.0 != turn {
                break;
            }
            let item = waiting.pop_front().expect("checked above");
            // Resumed at the turn, an item never detaches again.
            let mut not_detached = 0;
            if self.run_in_order(order, item, true, waiting, &mut not_detached) {
                held.committed(first);
            }
            any = true;
        }
        any
    }

    /// Runs item `item.id` of an ordered run (resuming its finished
    /// attempt, if it has one), holding its turn if `at_turn`; commits it
    /// at its turn, or leaves it in `waiting` when it finished before its
    /// turn. Returns whether it committed (the caller then holds the turn
    /// after it, to pass on).
    fn run_in_order(
        &self,
        order: &CommitOrder<P>,
        item: Waiting<P, E>,
        at_turn: bool,
        waiting: &mut VecDeque<Waiting<P, E>>,
        detached: &mut u64,
    ) -> bool {
        let Waiting {
            id,
            mut item,
            mut added,
            attempt,
        } = item;
        let stopping = |exact| self.hand_off.is_stopping(exact);
        let parking = &self.hand_off.parking;
        let mut gate = OrderedGate::new(
            order,
            parking,
            &stopping,
            id,
            at_turn,
            !waiting.is_empty(),
            self.workers,
        );
        match self.execute(&mut item, &mut added, &mut gate, attempt) {
            Outcome::Committed((), _) => {
                // Added items are numbered before the turn passes, so
                // that their place is fixed by the commit order.
                if !added.is_empty() {
                    self.hand_off.add(added);
                }
                return true;
            }
            Outcome::Detached(attempt) => {
                *detached += 1;
                // Claimed in increasing order, so the list stays sorted.
                waiting.push_back(Waiting {
                    id,
                    item,
                    added,
                    attempt: Some(attempt),
                });
            }
            Outcome::Abandoned => {
                if !self.hand_off.is_stopping(false) {
                    // Given up before its turn without being detached (a
                    // TVar it logged was being dropped) while earlier items
                    // of this worker wait: it runs again at its turn.
                    waiting.push_back(Waiting {
                        id,
                        item,
                        added: Vec::new(),
                        attempt: None,
                    });
                }
            }
            Outcome::Failed(error) => self.fail(id, Failure::Error(error)),
            Outcome::Panicked(panic) => self.fail(id, Failure::Panic(panic)),
            Outcome::Stuck => self.fail(id, Failure::Stuck),
        }
        false
    }

    /// Runs `item` through `gate` (resuming `detached`, if given); a panic
    /// the attempt loop lets through is caught as the item's outcome.
    fn execute(
        &self,
        item: &mut Item<P, E>,
        added: &mut Vec<Item<P, E>>,
        gate: &mut impl CommitGate,
        detached: Option<Detached<P, (), E>>,
    ) -> Outcome<P, (), E> {
        let site = item.site();
        let runtime = self.stm.shared();
        let keep_added = runtime.has_bug(BugSwitch::AddedItemsOfAbortedAttempt);
        catch_unwind(AssertUnwindSafe(|| {
            let mut body = |tx: &mut Transaction<'_, P>| {
                // What an earlier attempt added goes with it.
                if !keep_added {
                    added.clear();
                }
                item.run(&mut ItemTx { tx, added })
            };
            match detached {
                None => attempt::execute(runtime, site, gate, &mut body),
                Some(detached) => attempt::resume(runtime, site, gate, &mut body, detached),
            }
        }))
        .unwrap_or_else(Outcome::Panicked)
    }

    fn fail(&self, id: ItemId, failure: Failure<E>) {
        self.failure.with(|(first, failed)| {
            *failed += 1;
            if first.is_none() {
                *first = Some((id, failure));
            }
        });
        self.hand_off.stop();
    }
}
