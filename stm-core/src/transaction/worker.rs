//! One worker of a queue run: claim items, run each as a transaction
//! through the run's gate, settle the outcome, repeat until the run ends.

use super::commit_order::{CommitOrder, HeldTurns, OrderedGate, UnorderedGate};
use super::grouping::{GroupGate, GroupSize, MAX_GROUP};
use super::hand_off::{BatchSize, HandOff, MAX_BATCH};
use super::item::{Item, ItemArena};
use super::serial_order::Committed;
use super::{ItemId, ItemTx};
use crate::attempt::{self, CommitGate, Outcome};
use crate::error::TxError;
use crate::injected_bug::BugSwitch;
use crate::platform::{Lock, Platform};
use crate::speculation::Detached;
use crate::stm::Stm;
use crate::tx::Transaction;
use core::any::Any;
use core::cell::Cell;
use smallvec::SmallVec;
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
pub(crate) const ORDERED_MAX_BATCH: u64 = 16;

/// The items of one group: consecutive items of a batch, run in one
/// transaction (see `grouping`).
type GroupItems<P, E> = SmallVec<[Item<P, E>; MAX_GROUP]>;

/// Work of an ordered run on the worker that runs it: one item, or a group
/// of consecutive items; held while it waits for the turn of its first.
struct Waiting<P: Platform, E> {
    first: ItemId,
    /// Items `first`, `first + 1`, ...
    items: GroupItems<P, E>,
    added: Vec<Item<P, E>>,
    /// Its finished attempt, detached; `None` when it is to run (again) at
    /// its turn.
    attempt: Option<Detached<P, (), E>>,
}

impl<P: Platform, E> Waiting<P, E> {
    fn empty() -> Self {
        Waiting {
            first: ItemId(0),
            items: SmallVec::new(),
            added: Vec::new(),
            attempt: None,
        }
    }

    fn one(id: ItemId, item: Item<P, E>) -> Self {
        let mut items = SmallVec::new();
        items.push(item);
        Waiting {
            first: id,
            items,
            ..Waiting::empty()
        }
    }
}

/// A group of an ordered run that could not commit: its items, to run
/// alone, and whether it lost a conflict (else an item failed).
struct GroupGaveUp<P: Platform, E> {
    first: ItemId,
    items: GroupItems<P, E>,
    conflicted: bool,
}

/// A worker's state in an ordered run.
struct InOrder<'o, P: Platform, E> {
    order: &'o CommitOrder<P>,
    /// Its work that finished before its turn, by number.
    waiting: VecDeque<Waiting<P, E>>,
    held: HeldTurns,
    group_size: GroupSize,
    /// Items detached so far.
    detached: u64,
}

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
    /// The memory of the items queued before the run: dropped (or taken
    /// back by the queue) last, after every item (each worker drops the
    /// items it holds before its share of this struct). Never read during
    /// the run.
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
        let unordered = UnorderedGate {
            stopping: &stopping,
            fresh_snapshot,
        };
        let mut gate = GroupGate::new(unordered, &failed);
        let mut added = Vec::new();
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            let mut body = |tx: &mut Transaction<'_, P>| {
                run_group_body(
                    group.iter_mut().map(|(_, item)| item),
                    tx,
                    &mut added,
                    &failed,
                )
            };
            attempt::execute(runtime, site, &mut gate, &mut body)
        }));
        let outcome = match outcome {
            Ok(Outcome::Committed((), point)) => {
                for (id, _) in group.iter() {
                    committed.push(point, *id);
                }
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
                committed.push(point, id);
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
        let mut state = InOrder {
            order,
            waiting: VecDeque::new(),
            held: HeldTurns::default(),
            group_size: GroupSize::new(),
            detached: 0,
        };
        // Exact conflict reports name each item's own call site: no groups.
        let grouping = !runtime.config.conflict_reports;
        let mut group = Waiting::empty();
        loop {
            if hand_off.is_stopping(false) {
                break;
            }
            if self.commit_waiting_at_turn(&mut state) {
                continue;
            }
            order.pass(runtime, &mut state.held, parking);
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
                    let Some(item) = hand_off.take(id.0) else {
                        // Taken by another worker (an injected bug): the
                        // items around it are not consecutive.
                        self.run_taken_in_order(&mut group, &mut state);
                        order.pass(runtime, &mut state.held, parking);
                        continue;
                    };
                    if group.items.is_empty() {
                        group.first = id;
                    }
                    group.items.push(item);
                    let size = if grouping { state.group_size.next() } else { 1 };
                    if group.items.len() >= size {
                        self.run_taken_in_order(&mut group, &mut state);
                    }
                }
                self.run_taken_in_order(&mut group, &mut state);
                continue;
            }
            if turn == hand_off.allocated(false) {
                // Every item committed (the turn is read first: see
                // `hand_off`).
                break;
            }
            let first_waiting = state.waiting.front().map(|w| w.first.0);
            parking.wait_until(|exact| {
                let turn = order.turn(exact);
                hand_off.is_stopping(exact)
                    || turn == hand_off.allocated(exact)
                    || Some(turn) == first_waiting
                    || hand_off.claimable(turn + window, exact)
            });
        }
        order.pass(runtime, &mut state.held, parking);
        *detached += state.detached;
    }

    /// Runs the items taken into `group` (leaving it empty), then commits
    /// this worker's waiting items whose turn has come.
    fn run_taken_in_order(&self, group: &mut Waiting<P, E>, state: &mut InOrder<'_, P, E>) {
        if group.items.is_empty() {
            return;
        }
        let work = core::mem::replace(group, Waiting::empty());
        if work.items.len() == 1 {
            state.group_size.ran_alone();
        }
        // Holding the turn of the previous item, this worker holds this one's.
        let at_turn = state.held.next() == Some(work.first.0);
        self.run_in_order(work, at_turn, state);
        self.commit_waiting_at_turn(state);
    }

    /// Commits (or runs again) this worker's waiting items whose turn has
    /// come, in order, adding their turns to `held`; returns whether there
    /// was one.
    fn commit_waiting_at_turn(&self, state: &mut InOrder<'_, P, E>) -> bool {
        let mut any = false;
        while let Some(first) = state.waiting.front().map(|w| w.first) {
            let turn = state.held.next().unwrap_or_else(|| state.order.turn(false));
            if first.0 != turn {
                break;
            }
            let work = state.waiting.pop_front().expect("checked above");
            self.run_in_order(work, true, state);
            any = true;
        }
        any
    }

    /// Runs `work` (one item, or a group of consecutive items: see
    /// `grouping`) of an ordered run, resuming its finished attempt if it
    /// has one, holding the turn of its first item if `at_turn`. Commits it
    /// at its turn (adding the turns to `held`), leaves it in `waiting` when
    /// it finished before its turn, and runs the items of a group that
    /// cannot commit alone.
    fn run_in_order(&self, work: Waiting<P, E>, at_turn: bool, state: &mut InOrder<'_, P, E>) {
        if !at_turn {
            state
                .order
                .pass(self.stm.shared(), &mut state.held, &self.hand_off.parking);
        }
        if work.items.len() == 1 {
            let first = work.first;
            if self.run_one_in_order(work, at_turn, state) {
                state.held.committed(first);
            }
            return;
        }
        let Some(GroupGaveUp {
            first,
            items,
            conflicted,
        }) = self.run_group_in_order(work, at_turn, state)
        else {
            return;
        };
        // The group could not commit: its items run alone, each as it
        // would have without groups.
        if conflicted {
            state.group_size.conflicted();
        }
        let mut at_turn = at_turn;
        for (offset, item) in items.into_iter().enumerate() {
            if self.hand_off.is_stopping(false) {
                break;
            }
            state.group_size.ran_alone();
            let id = ItemId(first.0 + offset as u64);
            let work = Waiting::one(id, item);
            if offset > 0 {
                at_turn = state.held.next() == Some(id.0);
            }
            self.run_in_order(work, at_turn, state);
        }
    }

    /// Runs one item (see [`Self::run_in_order`]); returns whether it
    /// committed (the caller then holds the turn after it, to pass on).
    fn run_one_in_order(
        &self,
        work: Waiting<P, E>,
        at_turn: bool,
        state: &mut InOrder<'_, P, E>,
    ) -> bool {
        let Waiting {
            first: id,
            mut items,
            mut added,
            attempt,
        } = work;
        let resumed = attempt.is_some();
        let item = &mut items[0];
        let stopping = |exact| self.hand_off.is_stopping(exact);
        let mut gate = OrderedGate::new(
            state.order,
            &self.hand_off.parking,
            &stopping,
            id,
            at_turn,
            !state.waiting.is_empty(),
            self.workers,
        );
        match self.execute(item, &mut added, &mut gate, attempt) {
            Outcome::Committed((), _) => {
                // Added items are numbered before the turn passes, so
                // that their place is fixed by the commit order.
                if !added.is_empty() {
                    self.hand_off.add(added);
                }
                return true;
            }
            Outcome::Detached(attempt) => {
                // Resumed at the turn, an item never detaches again.
                debug_assert!(!resumed);
                state.detached += 1;
                // Claimed in increasing order, so the list stays sorted.
                state.waiting.push_back(Waiting {
                    first: id,
                    items,
                    added,
                    attempt: Some(attempt),
                });
            }
            Outcome::Abandoned => {
                if !self.hand_off.is_stopping(false) {
                    // Given up before its turn without being detached (a
                    // TVar it logged was being dropped) while earlier items
                    // of this worker wait: it runs again at its turn.
                    state.waiting.push_back(Waiting {
                        first: id,
                        items,
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

    /// Runs a group (see [`Self::run_in_order`]) in one transaction, once:
    /// commits it at its turn, or detaches it, or leaves it in `waiting` to
    /// run at its turn (see `OrderedGate::wait_for_turn`). Gives the
    /// group's items back, with whether it lost a conflict, if it cannot
    /// commit (a conflict, or an item that failed, panicked or retried).
    fn run_group_in_order(
        &self,
        work: Waiting<P, E>,
        at_turn: bool,
        state: &mut InOrder<'_, P, E>,
    ) -> Option<GroupGaveUp<P, E>> {
        let Waiting {
            first,
            mut items,
            mut added,
            attempt,
        } = work;
        let len = items.len() as u64;
        let site = items[0].site();
        let runtime = self.stm.shared();
        let stopping = |exact| self.hand_off.is_stopping(exact);
        let failed = Cell::new(false);
        let ordered = OrderedGate::new(
            state.order,
            &self.hand_off.parking,
            &stopping,
            first,
            at_turn,
            !state.waiting.is_empty(),
            self.workers,
        );
        let mut gate = GroupGate::new(ordered, &failed);
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            let mut body = |tx: &mut Transaction<'_, P>| {
                run_group_body(items.iter_mut(), tx, &mut added, &failed)
            };
            match attempt {
                None => attempt::execute(runtime, site, &mut gate, &mut body),
                Some(detached) => attempt::resume(runtime, site, &mut gate, &mut body, detached),
            }
        }));
        match outcome {
            Ok(Outcome::Committed((), _)) => {
                // Numbered before the turn passes, as for one item.
                if !added.is_empty() {
                    self.hand_off.add(added);
                }
                for offset in 0..len {
                    state.held.committed(ItemId(first.0 + offset));
                }
                state.group_size.committed();
                None
            }
            Ok(Outcome::Detached(attempt)) => {
                state.detached += len;
                state.waiting.push_back(Waiting {
                    first,
                    items,
                    added,
                    attempt: Some(attempt),
                });
                None
            }
            _ if self.hand_off.is_stopping(false) => None,
            Ok(Outcome::Abandoned) if gate.gave_up_waiting => {
                state.waiting.push_back(Waiting {
                    first,
                    items,
                    added: Vec::new(),
                    attempt: None,
                });
                None
            }
            outcome => {
                if runtime.has_bug(BugSwitch::AddedItemsOfAbortedAttempt) && !added.is_empty() {
                    self.hand_off.add(added);
                }
                // Abandoned with no item failed: it lost a conflict. Else
                // an item failed, panicked or retried; or (not expected: the
                // gate settles nothing) the engine failed, which the items
                // will meet again alone.
                Some(GroupGaveUp {
                    first,
                    items,
                    conflicted: matches!(outcome, Ok(Outcome::Abandoned)) && !failed.get(),
                })
            }
        }
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

/// The body of a group's transaction: its items, one after another, each
/// adding to `added`; `failed` stays set if one fails, panics or retries
/// (see `GroupGate::failed`).
fn run_group_body<'i, P: Platform, E: 'i>(
    items: impl Iterator<Item = &'i mut Item<P, E>>,
    tx: &mut Transaction<'_, P>,
    added: &mut Vec<Item<P, E>>,
    failed: &Cell<bool>,
) -> Result<(), TxError<E>> {
    added.clear();
    for item in items {
        failed.set(true);
        item.run(&mut ItemTx { tx, added })?;
        failed.set(false);
    }
    Ok(())
}
