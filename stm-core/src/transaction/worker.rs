//! One worker of a queue run: claim items, run each as a transaction
//! through the run's gate, settle the outcome, repeat until the run ends.

use super::commit_order::{CommitOrder, OrderedGate, UnorderedGate};
use super::hand_off::{HandOff, MAX_BATCH};
use super::item::{Item, ItemArena};
use super::{ItemId, ItemTx};
use crate::attempt::{self, CommitGate, Outcome};
use crate::injected_bug::BugSwitch;
use crate::platform::{Lock, Platform};
use crate::speculation::DetachedAttempt;
use crate::stm::Stm;
use crate::tx::Transaction;
use core::any::Any;
use std::panic::{catch_unwind, AssertUnwindSafe};

/// How many items per worker an ordered run may execute ahead of the
/// commit turn.
const ORDERED_WINDOW_PER_WORKER: u64 = 16;

/// Why a run stopped early.
pub(crate) enum Failure<E> {
    Error(E),
    Panic(Box<dyn Any + Send>),
    Stuck,
}

/// The first failure of a run, with the item it came from, and how many
/// items failed.
pub(crate) type Failures<E> = (Option<(ItemId, Failure<E>)>, u64);

/// An item of an ordered run that finished before its turn.
pub(crate) struct Finished<P: Platform, E> {
    item: Item<P, E>,
    added: Vec<Item<P, E>>,
    attempt: DetachedAttempt<P, (), E>,
}

/// The items a worker committed in a run in any order, each with its
/// place in the serial order (`Transaction::serialization_point`), in the
/// order the worker committed them.
pub(crate) type Committed = Vec<(u64, ItemId)>;

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
    pub(crate) order: Option<CommitOrder<P, Finished<P, E>>>,
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
        loop {
            if hand_off.is_stopping(false) {
                break;
            }
            if let Some(batch) = hand_off.claim(self.workers, MAX_BATCH, u64::MAX) {
                for id in batch {
                    let item = hand_off.take(id);
                    settled += 1;
                    if let Some(item) = item.filter(|_| !hand_off.is_stopping(false)) {
                        self.run_in_any_order(ItemId(id), item, committed);
                    }
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

    fn run_in_any_order(&self, id: ItemId, mut item: Item<P, E>, committed: &mut Committed) {
        let mut added = Vec::new();
        let stopping = || self.hand_off.is_stopping(false);
        let mut gate = UnorderedGate {
            stopping: &stopping,
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

    fn work_in_order(&self, order: &CommitOrder<P, Finished<P, E>>, detached: &mut u64) {
        let hand_off = &self.hand_off;
        let window = ORDERED_WINDOW_PER_WORKER * self.workers as u64;
        loop {
            if hand_off.is_stopping(false) {
                break;
            }
            let turn = order.turn(false);
            if let Some(batch) = hand_off.claim(self.workers, 1, turn + window) {
                for id in batch {
                    if let Some(item) = hand_off.take(id) {
                        self.run_in_order(order, ItemId(id), item, detached);
                    }
                }
                continue;
            }
            if turn == hand_off.allocated(false) {
                // Every item committed (the turn is read first: see
                // `hand_off`).
                break;
            }
            hand_off.parking.wait_until(|exact| {
                let turn = order.turn(exact);
                hand_off.is_stopping(exact)
                    || turn == hand_off.allocated(exact)
                    || hand_off.claimable(turn + window, exact)
            });
        }
    }

    /// Runs item `id` of an ordered run, and settles it and every item it
    /// then finds waiting for the turn it passes.
    fn run_in_order(
        &self,
        order: &CommitOrder<P, Finished<P, E>>,
        id: ItemId,
        mut item: Item<P, E>,
        detached: &mut u64,
    ) {
        let mut added = Vec::new();
        let stopping = |exact| self.hand_off.is_stopping(exact);
        let parking = &self.hand_off.parking;
        let mut gate = OrderedGate::new(order, parking, &stopping, id, false, self.workers);
        let mut outcome = self.execute(&mut item, &mut added, &mut gate, None);
        let mut id = id;
        loop {
            let next = match outcome {
                Outcome::Committed((), _) => {
                    // Added items are numbered before the turn passes, so
                    // that their place is fixed by the commit order.
                    if !added.is_empty() {
                        self.hand_off.add(core::mem::take(&mut added));
                    }
                    drop(item);
                    order
                        .pass(self.stm.shared(), id, parking)
                        .map(|next| (ItemId(id.0 + 1), next))
                }
                Outcome::Detached(attempt) => {
                    *detached += 1;
                    let finished = Box::new(Finished {
                        item,
                        added,
                        attempt,
                    });
                    order.leave(id, finished).map(|back| (id, back))
                }
                Outcome::Abandoned => None,
                Outcome::Failed(error) => {
                    self.fail(id, Failure::Error(error));
                    None
                }
                Outcome::Panicked(panic) => {
                    self.fail(id, Failure::Panic(panic));
                    None
                }
                Outcome::Stuck => {
                    self.fail(id, Failure::Stuck);
                    None
                }
            };
            // The turn is ours: commit the finished item that waits for it.
            let Some((next_id, finished)) = next else {
                return;
            };
            let Finished {
                item: next_item,
                added: next_added,
                attempt,
            } = *finished;
            (id, item, added) = (next_id, next_item, next_added);
            let mut gate = OrderedGate::new(order, parking, &stopping, id, true, self.workers);
            outcome = self.execute(&mut item, &mut added, &mut gate, Some(attempt));
        }
    }

    /// Runs `item` through `gate` (resuming `detached`, if given); a panic
    /// the attempt loop lets through is caught as the item's outcome.
    fn execute(
        &self,
        item: &mut Item<P, E>,
        added: &mut Vec<Item<P, E>>,
        gate: &mut impl CommitGate,
        detached: Option<DetachedAttempt<P, (), E>>,
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
