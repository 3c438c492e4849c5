//! The queue the workers share: pending items in order, how many are being
//! run, which committed, and the parking of idle workers.
//!
//! Hand-off protocol: a worker takes the oldest pending item under the
//! mutex; if there is none but items are still running (they may add more),
//! it registers a wake-up event under the same mutex and sleeps. A worker
//! that finishes an item does its bookkeeping under the mutex and, if it
//! added items or was the last one running, takes every registered event and
//! wakes it. Registration and take happen under one mutex, so a wake-up is
//! never lost, and the run ends exactly when nothing is pending or running.

use super::ItemId;
use crate::platform::{Arc, AtomicWord, Lock, Ordering, Platform, WakeEvent};
use std::collections::VecDeque;

/// What a worker should do next.
pub(crate) enum Next<T> {
    /// Run this item.
    Run(ItemId, T),
    /// Nothing is left (or the run is stopping): exit.
    Finished,
}

struct QueueState<P: Platform, T> {
    pending: VecDeque<(ItemId, T)>,
    running: usize,
    next_id: u64,
    stopping: bool,
    committed: Vec<ItemId>,
    /// Items taken but given up without effect because the run stopped.
    abandoned: usize,
    idle: Vec<Arc<P::Event>>,
}

impl<P: Platform, T> QueueState<P, T> {
    /// The bookkeeping of item `id`'s end (see [`WorkQueue::finish`]).
    fn settle(&mut self, id: ItemId, committed: bool, added: Vec<T>) {
        self.running -= 1;
        if committed {
            self.committed.push(id);
            for item in added {
                self.pending.push_back((ItemId(self.next_id), item));
                self.next_id += 1;
            }
        }
    }

    /// The idle workers to wake: all of them when there is work pending or
    /// the run is over (nothing running), none otherwise.
    fn wake_list(&mut self) -> Vec<Arc<P::Event>> {
        if !self.pending.is_empty() || self.running == 0 {
            core::mem::take(&mut self.idle)
        } else {
            Vec::new()
        }
    }
}

pub(crate) struct WorkQueue<P: Platform, T: Send + 'static> {
    state: P::Mutex<QueueState<P, T>>,
    /// `stopping`, readable without the mutex: every commit of a run asks.
    stop_requested: P::AtomicU64,
}

impl<P: Platform, T: Send + 'static> WorkQueue<P, T> {
    /// A queue holding `items`, numbered from 0 in order.
    pub(crate) fn new(items: Vec<T>) -> Self {
        let pending: VecDeque<(ItemId, T)> = items
            .into_iter()
            .enumerate()
            .map(|(i, item)| (ItemId(i as u64), item))
            .collect();
        WorkQueue {
            state: P::Mutex::new(QueueState {
                next_id: pending.len() as u64,
                pending,
                running: 0,
                stopping: false,
                committed: Vec::new(),
                abandoned: 0,
                idle: Vec::new(),
            }),
            stop_requested: P::AtomicU64::new(0),
        }
    }

    /// Takes the oldest pending item, sleeping while none is pending but
    /// some are still running.
    pub(crate) fn next(&self) -> Next<T> {
        loop {
            let idle = self.state.with(|s| {
                if s.stopping {
                    return Err(Next::Finished);
                }
                if let Some((id, item)) = s.pending.pop_front() {
                    s.running += 1;
                    return Err(Next::Run(id, item));
                }
                if s.running == 0 {
                    return Err(Next::Finished);
                }
                let event = Arc::new(P::Event::new());
                s.idle.push(event.clone());
                Ok(event)
            });
            match idle {
                Ok(event) => event.wait(),
                Err(next) => return next,
            }
        }
    }

    /// Records the end of item `id`: `committed` tells whether it committed,
    /// `added` holds the items it added (queued only if it committed), which
    /// are numbered here, in order, after every item numbered so far.
    pub(crate) fn finish(&self, id: ItemId, committed: bool, added: Vec<T>) {
        let wake = self.state.with(|s| {
            s.settle(id, committed, added);
            s.wake_list()
        });
        for event in wake {
            event.notify();
        }
    }

    /// Stops the run: no further item is handed out, and sleeping workers
    /// are woken so that they exit.
    /// [`finish`](Self::finish), then takes the oldest pending item if there
    /// is one, in the same critical section: a worker going from item to
    /// item takes the queue's mutex once per item, not twice, and wakes idle
    /// workers only for what it leaves pending. `None`: nothing was taken
    /// (ask [`next`](Self::next), which parks or ends).
    pub(crate) fn finish_and_take(
        &self,
        id: ItemId,
        committed: bool,
        added: Vec<T>,
    ) -> Option<(ItemId, T)> {
        let (taken, wake) = self.state.with(|s| {
            s.settle(id, committed, added);
            // The atomic flag is set before `stopping`: once a stop is
            // asked for, no item is taken, only to be given up.
            let taken = if s.stopping || self.is_stopping() {
                None
            } else {
                s.pending.pop_front()
            };
            if taken.is_some() {
                s.running += 1;
            }
            (taken, s.wake_list())
        });
        for event in wake {
            event.notify();
        }
        taken
    }

    pub(crate) fn stop(&self) {
        self.stop_requested.store(1, Ordering::Release);
        let wake = self.state.with(|s| {
            s.stopping = true;
            core::mem::take(&mut s.idle)
        });
        for event in wake {
            event.notify();
        }
    }

    pub(crate) fn is_stopping(&self) -> bool {
        self.stop_requested.load(Ordering::Acquire) != 0
    }

    /// The items that committed, in the order they committed.
    pub(crate) fn take_committed(&self) -> Vec<ItemId> {
        self.state.with(|s| core::mem::take(&mut s.committed))
    }

    /// The items left pending (not run).
    /// Records that item `id` was given up, without effect, because the run
    /// is stopping: it counts as not run.
    pub(crate) fn abandon(&self, id: ItemId) {
        let wake = self.state.with(|s| {
            s.settle(id, false, Vec::new());
            s.abandoned += 1;
            s.wake_list()
        });
        for event in wake {
            event.notify();
        }
    }

    /// Items that had no effect and did not fail: never taken, or given up
    /// when the run stopped.
    pub(crate) fn not_run(&self) -> usize {
        self.state.with(|s| s.pending.len() + s.abandoned)
    }
}
