//! When a queue item may commit: at once in `run`, at its turn in
//! `run_ordered`.
//!
//! Ordered turns: `next` holds the number of the item allowed to commit.
//! An item that is not next polls briefly, then registers a wake-up event
//! under the waiters' mutex and checks `next` again before sleeping; the item
//! that passes the turn stores `next` first and then takes the events under
//! the same mutex. Either the waiter's second check sees the new `next`, or
//! the passer sees the waiter's event: no wake-up is lost.

use super::work_queue::WorkQueue;
use super::ItemId;
use crate::attempt::{CommitGate, Turn};
use crate::platform::{Arc, AtomicWord, Lock, Ordering, Platform, WakeEvent};

const STOPPED: u64 = u64::MAX;

/// Items sleeping until their turn: (item id, its wake-up event).
type TurnWaiters<P> = Vec<(u64, Arc<<P as Platform>::Event>)>;

/// The commit turn of an ordered run.
pub(crate) struct CommitOrder<P: Platform> {
    /// The id of the item whose turn it is, or `STOPPED`.
    next: P::AtomicU64,
    waiters: P::Mutex<TurnWaiters<P>>,
}

impl<P: Platform> CommitOrder<P> {
    pub(crate) fn new() -> Self {
        CommitOrder {
            next: P::AtomicU64::new(0),
            waiters: P::Mutex::new(Vec::new()),
        }
    }

    fn turn_of(&self, id: ItemId) -> Option<Turn> {
        match self.next.load(Ordering::SeqCst) {
            STOPPED => Some(Turn::Abandon),
            next if next == id.0 => Some(Turn::Go),
            _ => None,
        }
    }

    /// Blocks until it is `id`'s turn to commit, or the run stops.
    fn wait_for(&self, id: ItemId) -> Turn {
        for _ in 0..P::SPINS_BEFORE_BLOCKING {
            if let Some(turn) = self.turn_of(id) {
                return turn;
            }
            P::yield_now();
        }
        loop {
            if let Some(turn) = self.turn_of(id) {
                return turn;
            }
            let event = Arc::new(P::Event::new());
            self.waiters.with(|w| w.push((id.0, event.clone())));
            if let Some(turn) = self.turn_of(id) {
                self.waiters
                    .with(|w| w.retain(|(_, e)| !Arc::ptr_eq(e, &event)));
                return turn;
            }
            event.wait();
        }
    }

    /// Ends `id`'s turn: the next item may commit.
    pub(crate) fn pass(&self, id: ItemId) {
        self.next.store(id.0 + 1, Ordering::SeqCst);
        self.wake(|waiting| waiting == id.0 + 1);
    }

    /// Stops the run: every waiting item is told to give up.
    pub(crate) fn stop(&self) {
        self.next.store(STOPPED, Ordering::SeqCst);
        self.wake(|_| true);
    }

    fn wake(&self, which: impl Fn(u64) -> bool) {
        let woken = self.waiters.with(|w| {
            let mut woken = Vec::new();
            w.retain(|(id, event)| {
                let wake = which(*id);
                if wake {
                    woken.push(event.clone());
                }
                !wake
            });
            woken
        });
        for event in woken {
            event.notify();
        }
    }
}

/// `run`'s gate: commit at once unless the run is stopping.
pub(crate) struct UnorderedGate<'q, P: Platform, T: Send + 'static> {
    pub(crate) queue: &'q WorkQueue<P, T>,
}

impl<P: Platform, T: Send + 'static> CommitGate for UnorderedGate<'_, P, T> {
    fn wait_for_turn(&mut self) -> Turn {
        if self.queue.is_stopping() {
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

/// `run_ordered`'s gate: commit, and settle failures, only at the item's turn.
pub(crate) struct OrderedGate<'o, P: Platform> {
    order: &'o CommitOrder<P>,
    id: ItemId,
    holds: bool,
}

impl<'o, P: Platform> OrderedGate<'o, P> {
    pub(crate) fn new(order: &'o CommitOrder<P>, id: ItemId) -> Self {
        OrderedGate {
            order,
            id,
            holds: false,
        }
    }
}

impl<P: Platform> CommitGate for OrderedGate<'_, P> {
    fn wait_for_turn(&mut self) -> Turn {
        if self.holds {
            return Turn::Go;
        }
        let turn = self.order.wait_for(self.id);
        self.holds = turn == Turn::Go;
        turn
    }
    fn holds_turn(&self) -> bool {
        self.holds
    }
    fn settles_at_turn(&self) -> bool {
        true
    }
}
