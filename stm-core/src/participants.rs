//! The threads that use a runtime: one record each, held by one thread at a
//! time, with what that thread announces to reclamation and its statistics.
//!
//! A thread claims a record when it first runs a transaction on the runtime
//! and keeps it between calls (see `thread_context`); a record given back is
//! claimed again by the next thread that needs one, so a runtime has about as
//! many records as threads ever used it at once. Claiming and giving back go
//! through one mutex, which orders successive holders: each record's fields
//! have a single writer at any moment.

use crate::platform::{Arc, AtomicWord, Lock, Ordering, Platform};
use crate::stats::{CounterSums, Counters};

/// Not pinned: the announcement of a thread outside any attempt.
const NOT_PINNED: u64 = 0;

/// One thread's record in a runtime. Aligned to its own cache lines (two,
/// against adjacent-line prefetch): its holder writes it on every attempt.
#[repr(align(128))]
pub(crate) struct Participant<P: Platform> {
    /// `NOT_PINNED`, or `(epoch << 1) | 1` while an attempt of the holder
    /// runs pinned in reclamation epoch `epoch` (see `reclaim`).
    announcement: P::AtomicU64,
    /// The statistics of every call made through this record.
    pub(crate) counters: Counters,
}

impl<P: Platform> Participant<P> {
    fn new() -> Self {
        Participant {
            announcement: P::AtomicU64::new(NOT_PINNED),
            counters: Counters::default(),
        }
    }

    /// Announces that an attempt runs pinned in `epoch`. A read-modify-write,
    /// so that it is ordered with every scan (see `reclaim` for why).
    pub(crate) fn announce_pinned(&self, epoch: u64) {
        self.announcement.swap((epoch << 1) | 1, Ordering::AcqRel);
    }

    /// Announces that the holder's attempt ended: everything it read happens
    /// before the next scan that sees this.
    pub(crate) fn announce_unpinned(&self, order: Ordering) {
        self.announcement.store(NOT_PINNED, order);
    }

    /// The epoch the holder is pinned in, if it is. A read-modify-write that
    /// changes nothing: it reads the latest announcement, never a stale one.
    fn pinned_epoch(&self) -> Option<u64> {
        let announced = self.announcement.fetch_add(0, Ordering::AcqRel);
        (announced & 1 == 1).then_some(announced >> 1)
    }
}

struct Seat<P: Platform> {
    participant: Arc<Participant<P>>,
    taken: bool,
}

/// Every record of one runtime.
pub(crate) struct Participants<P: Platform> {
    seats: P::Mutex<Vec<Seat<P>>>,
}

impl<P: Platform> Participants<P> {
    pub(crate) fn new() -> Self {
        Participants {
            seats: P::Mutex::new(Vec::new()),
        }
    }

    /// Takes a free record (adding one if none is free); returns its index,
    /// for [`give_back`](Self::give_back), and the record.
    pub(crate) fn claim(&self) -> (usize, Arc<Participant<P>>) {
        self.seats.with(|seats| {
            if let Some(index) = seats.iter().position(|seat| !seat.taken) {
                seats[index].taken = true;
                return (index, seats[index].participant.clone());
            }
            let participant = Arc::new(Participant::new());
            seats.push(Seat {
                participant: participant.clone(),
                taken: true,
            });
            (seats.len() - 1, participant)
        })
    }

    /// Gives back the record claimed at `index`; its holder must not be
    /// pinned.
    pub(crate) fn give_back(&self, index: usize) {
        self.seats.with(|seats| seats[index].taken = false);
    }

    /// Whether every pinned record is pinned in `epoch`, so that the epoch
    /// may advance past it.
    pub(crate) fn all_pinned_in(&self, epoch: u64) -> bool {
        self.seats.with(|seats| {
            seats
                .iter()
                .all(|seat| seat.participant.pinned_epoch().is_none_or(|e| e == epoch))
        })
    }

    /// The statistics of every record, summed.
    pub(crate) fn sum_counters(&self) -> CounterSums {
        let mut sums = CounterSums::default();
        self.seats.with(|seats| {
            for seat in seats.iter() {
                seat.participant.counters.add_to(&mut sums);
            }
        });
        sums
    }
}
