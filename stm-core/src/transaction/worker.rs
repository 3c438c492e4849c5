//! One worker of a queue run: take the next item, run it as a transaction
//! through the run's gate, record the outcome, repeat.

use super::commit_order::{CommitOrder, OrderedGate, UnorderedGate};
use super::work_queue::{Next, WorkQueue};
use super::{Item, ItemId, ItemTx};
use crate::attempt::{self, Outcome};
use crate::platform::{Lock, Platform};
use crate::stm::Stm;
use crate::tx::Transaction;
use core::any::Any;
use std::panic::{catch_unwind, AssertUnwindSafe};

/// Why a run stopped early.
pub(crate) enum Failure<E> {
    Error(E),
    Panic(Box<dyn Any + Send>),
    Stuck,
}

/// Everything the workers of one run share.
pub(crate) struct RunShared<P: Platform, E: Send + 'static> {
    pub(crate) stm: Stm<P>,
    pub(crate) queue: WorkQueue<P, Item<P, E>>,
    /// `Some` for an ordered run.
    pub(crate) order: Option<CommitOrder<P>>,
    /// The first failure, with the item it came from.
    pub(crate) failure: P::Mutex<Option<(ItemId, Failure<E>)>>,
}

impl<P: Platform, E: Send + 'static> RunShared<P, E> {
    /// Runs items until none is left or the run stops.
    pub(crate) fn work(&self) {
        let mut next = self.queue.next();
        while let Next::Run(id, item) = next {
            next = match self.run_item(id, item) {
                Some(taken) => Next::Run(taken.0, taken.1),
                None => self.queue.next(),
            };
        }
    }

    /// Runs one item and settles it; returns the item taken next in the same
    /// step, if any.
    fn run_item(&self, id: ItemId, mut item: Item<P, E>) -> Option<(ItemId, Item<P, E>)> {
        let mut added = Vec::new();
        let site = item.site;
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            let mut body = |tx: &mut Transaction<'_, P>| {
                added.clear();
                (item.body)(&mut ItemTx {
                    tx,
                    added: &mut added,
                })
            };
            let runtime = self.stm.shared();
            match &self.order {
                Some(order) => {
                    attempt::execute(runtime, site, &mut OrderedGate::new(order, id), &mut body)
                }
                None => attempt::execute(
                    runtime,
                    site,
                    &mut UnorderedGate { queue: &self.queue },
                    &mut body,
                ),
            }
        }))
        .unwrap_or_else(Outcome::Panicked);
        match outcome {
            Outcome::Committed(()) => {
                // Added items are numbered before the turn passes, so that in
                // an ordered run their place is fixed by the commit order.
                let taken = self.queue.finish_and_take(id, true, added);
                if let Some(order) = &self.order {
                    order.pass(id);
                }
                taken
            }
            Outcome::Abandoned => {
                self.queue.abandon(id);
                None
            }
            Outcome::Failed(error) => self.fail(id, Failure::Error(error)),
            Outcome::Panicked(panic) => self.fail(id, Failure::Panic(panic)),
            Outcome::Stuck => self.fail(id, Failure::Stuck),
        }
    }

    fn fail(&self, id: ItemId, failure: Failure<E>) -> Option<(ItemId, Item<P, E>)> {
        self.failure.with(|first| {
            if first.is_none() {
                *first = Some((id, failure));
            }
        });
        self.queue.stop();
        if let Some(order) = &self.order {
            order.stop();
        }
        self.queue.finish(id, false, Vec::new());
        None
    }
}
