//! How items get from the queue to the workers, and how a run ends.
//!
//! Items are numbered and wait in a [`SlotTable`]. A worker claims numbers
//! by moving `next` forward with a compare-and-swap, in batches
//! ([`BatchSize`]): in a run in any order at most an eighth of what is left
//! per worker, as in guided scheduling, so the last items still spread over
//! every worker; in an ordered run a worker's share of the items its window
//! allows, so that runs of consecutive items commit on one worker. Claimed
//! items are taken from their slots with a load and a store: per item, no
//! lock and no shared counter is touched at all in a batch.
//!
//! Items added by running items are numbered by moving `allocated` forward
//! (one read-modify-write per committing item that added any), stored in
//! their slots, and announced to sleeping workers.
//!
//! The end: in a run in any order, each worker counts the items it settled
//! and adds its count to `finished` when it finds nothing to claim; the run
//! is over when `finished` equals `allocated`, read in that order (an item
//! still running is allocated and not finished, and the items it adds are
//! allocated before it finishes, so equality means nothing runs). An ordered
//! run is over when the commit turn reaches `allocated`
//! (`commit_order`). Idle workers sleep in [`Parking`].

use super::parking::Parking;
use super::slots::{SlotTable, SlotValue};
use crate::platform::{AtomicWord, Ordering, Platform};
use core::ops::Range;

/// The largest batch a worker of a run in any order claims at once.
///
/// Large, because a batch costs most where it starts: the claim and the
/// snapshot read shared words the other workers write, and the CPU's
/// prefetchers lose the item, slot and TVar streams they were following
/// and must find them again. On 2 workers, `run` of the `queue` benchmark's
/// items took 1.5-2.5% less time with batches of up to 512 than of up to
/// 64, in paired runs; guided scheduling still spreads the last items
/// over every worker.
pub(crate) const MAX_BATCH: u64 = 512;

/// A value on a cache line of its own (two, against adjacent-line
/// prefetch): the counters every worker touches must not share a line.
#[repr(align(128))]
pub(crate) struct Padded<T>(pub(crate) T);

impl<T> core::ops::Deref for Padded<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

/// How many of the items left a worker claims at once.
#[derive(Debug, Clone, Copy)]
pub(crate) enum BatchSize {
    /// An eighth of one worker's share (guided scheduling), so that the
    /// last items still spread over every worker: a run in any order.
    Guided { workers: usize },
    /// One worker's share, rounded up: an ordered run, whose workers commit
    /// runs of consecutive items one after another.
    Share { workers: usize },
}

impl BatchSize {
    fn of(self, left: u64) -> u64 {
        match self {
            BatchSize::Guided { workers } => left / (8 * workers as u64),
            BatchSize::Share { workers } => left.div_ceil(workers as u64),
        }
    }
}

pub(crate) struct HandOff<P: Platform, T: SlotValue> {
    slots: SlotTable<P, T>,
    /// The next number to claim.
    next: Padded<P::AtomicU64>,
    /// Numbers below this are allocated: their item is in its slot, or is
    /// being put there.
    allocated: P::AtomicU64,
    /// Items settled (committed, failed or given up), counted in batches.
    finished: P::AtomicU64,
    /// Non-zero once the run stops early.
    stopping: P::AtomicU64,
    pub(crate) parking: Parking<P>,
    /// The injected bug `ClaimItemsTwice`: claim with a load and a store.
    claim_racily: bool,
}

/// Injected bugs the hand-off can carry (tests only).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct HandOffBugs {
    pub(crate) lose_wakeup: bool,
    pub(crate) claim_twice: bool,
}

impl<P: Platform, T: SlotValue> HandOff<P, T> {
    /// A hand-off holding `items`, numbered from 0 in order.
    pub(crate) fn new(items: Vec<T>, bugs: HandOffBugs) -> Self {
        let count = items.len() as u64;
        let slots = SlotTable::with_values(items);
        HandOff {
            slots,
            allocated: P::AtomicU64::new(count),
            next: Padded(P::AtomicU64::new(0)),
            finished: P::AtomicU64::new(0),
            stopping: P::AtomicU64::new(0),
            parking: Parking::new(bugs.lose_wakeup),
            claim_racily: bugs.claim_twice,
        }
    }

    /// Numbers `items` after every item numbered so far, in order, makes
    /// them claimable and wakes sleeping workers; returns the first number.
    pub(crate) fn add(&self, items: Vec<T>) -> u64 {
        let count = items.len() as u64;
        self.parking.announce(|| {
            let first = self.allocated.fetch_add(count, Ordering::AcqRel);
            for (id, item) in (first..).zip(items) {
                self.slots.put(id, item);
            }
            first
        })
    }

    /// Numbers allocated so far (`exact`: by a read-modify-write, for a
    /// sleeper's last check).
    pub(crate) fn allocated(&self, exact: bool) -> u64 {
        read(&self.allocated, exact)
    }

    /// Claims the next numbers: a batch of `size` out of what is left, at
    /// most `max_batch`, none past `limit`. `None` if nothing is left to
    /// claim below `limit`.
    pub(crate) fn claim(&self, size: BatchSize, max_batch: u64, limit: u64) -> Option<Range<u64>> {
        let mut next = self.next.load(Ordering::Relaxed);
        loop {
            let end = self.allocated.load(Ordering::Acquire).min(limit);
            if next >= end {
                return None;
            }
            let batch = size.of(end - next).clamp(1, max_batch);
            if self.claim_racily {
                P::yield_now();
                self.next.store(next + batch, Ordering::Relaxed);
                return Some(next..next + batch);
            }
            match self.next.compare_exchange(
                next,
                next + batch,
                Ordering::Relaxed,
                Ordering::Relaxed,
            ) {
                Ok(_) => return Some(next..next + batch),
                Err(current) => next = current,
            }
        }
    }

    /// Whether some number is left to claim below `limit` (`exact`: read
    /// by read-modify-writes).
    pub(crate) fn claimable(&self, limit: u64, exact: bool) -> bool {
        read(&*self.next, exact) < self.allocated(exact).min(limit)
    }

    /// Takes claimed item `id` from its slot, waiting for it if the item is
    /// still being put there (numbered by `add`, not yet stored). `None`
    /// only with the injected `ClaimItemsTwice`, for the second of two
    /// workers that claimed the item (the first took it).
    pub(crate) fn take(&self, id: u64) -> Option<T> {
        if self.claim_racily {
            return self.slots.take(id);
        }
        loop {
            if let Some(item) = self.slots.take_claimed(id) {
                return Some(item);
            }
            P::yield_now();
        }
    }

    /// Counts `count` items settled by the caller; returns whether the run
    /// is over (every allocated item settled), waking sleepers if so.
    pub(crate) fn settled(&self, count: u64) -> bool {
        if count > 0 {
            self.parking.announce(|| {
                self.finished.fetch_add(count, Ordering::AcqRel);
            });
        }
        self.is_over(true)
    }

    /// Whether every allocated item is settled (see the module docs for
    /// why `finished` is read first).
    pub(crate) fn is_over(&self, exact: bool) -> bool {
        let finished = read(&self.finished, exact);
        finished == self.allocated(exact)
    }

    /// Stops the run: nothing more is claimed, and sleepers are woken.
    pub(crate) fn stop(&self) {
        self.parking
            .announce(|| self.stopping.swap(1, Ordering::AcqRel));
    }

    /// Whether the run stops (`exact`: by a read-modify-write).
    #[inline]
    pub(crate) fn is_stopping(&self, exact: bool) -> bool {
        read(&self.stopping, exact) != 0
    }
}

/// Reads `word`: by a read-modify-write when `exact` (see `parking`).
#[inline]
pub(crate) fn read<W: AtomicWord>(word: &W, exact: bool) -> u64 {
    if exact {
        word.fetch_add(0, Ordering::AcqRel)
    } else {
        word.load(Ordering::Acquire)
    }
}
