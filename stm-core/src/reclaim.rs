//! Deferred reclamation: a value replaced at commit, or a TVar whose last
//! handle is dropped, is freed only once no running attempt can still reach
//! it.
//!
//! Reads take no lock and change no reference count, so a reader may hold a
//! pointer to a value (or a TVar, from its read log) that a writer has just
//! replaced. Epochs make that safe, on the platform's atomics so that loom
//! and shuttle check the protocol itself:
//!
//! * **Pin.** An attempt loads the global epoch `e` and announces
//!   `(e, pinned)` in its thread's record (`participants`) before it touches
//!   any TVar; it announces "not pinned" when it ends.
//! * **Retire.** Garbage (already unreachable: no TVar points to it any
//!   more) is *sealed* in a bag tagged with the epoch `r` read by a
//!   read-modify-write after it became unreachable.
//! * **Advance.** The epoch moves from `g` to `g + 1` only if every record
//!   that is pinned is pinned in `g`.
//! * **Free.** A bag sealed at `r` is freed once the epoch is `r + 2` or more.
//!
//! **Why nothing reachable is freed.** Every access to the epoch and to the
//! announcements is a read-modify-write (pin: swap; seal: `fetch_add(0)`;
//! scan: `fetch_add(0)`; advance: CAS), so each reads the latest value and
//! releases to the next. Take a bag sealed at `r` and a reader `T` that
//! loaded a pointer to it while pinned, without seeing it unlinked. The
//! advance from `r + 1` to `r + 2` happens after the unlinking (the seal
//! reads `r`, so it precedes the CAS that writes `r + 1`, which releases it to
//! everyone who reads `r + 1` or later), and it scanned `T`'s record:
//!
//! * if the scan preceded `T`'s pin, the pin read from it, so the unlinking
//!   happened before `T`'s loads, which then could not see the old pointer;
//! * if the scan saw `T` pinned, `T`'s epoch is at most `r` (an epoch of
//!   `r + 1` or more would have been read after the unlinking, with the same
//!   contradiction), so the epoch could not advance to `r + 2`;
//! * if the scan saw `T` unpinned after that pin, everything `T` did while
//!   pinned happened before the scan, and so before the free.
//!
//! A TVar is retired when its last handle is dropped; a reader reached it
//! through a live handle, so its pin happened before the retirement, and the
//! same argument applies.
//!
//! Real threads batch garbage ([`Platform::RECLAIM_BATCH`]) so that the
//! shared epoch is touched once per batch; models retire at every commit.

use crate::participants::{Participant, Participants};
use crate::platform::{AtomicWord, Lock, Ordering, Platform};
use std::collections::VecDeque;

/// Something unreachable, to be freed later: a pointer and the function that
/// frees what it points to.
pub(crate) struct Garbage {
    pointer: *mut (),
    free: unsafe fn(*mut ()),
}

// SAFETY: garbage is owned (a `Box<T>` of a value with `T: Send + Sync`, or
// a TVar's header); it moves between threads only to be freed, once.
unsafe impl Send for Garbage {}

impl Garbage {
    /// Garbage that `free(pointer)` frees.
    ///
    /// # Safety
    /// `free(pointer)` must be sound to call once, from any thread, once no
    /// one can reach `pointer` any more.
    pub(crate) unsafe fn new(pointer: *mut (), free: unsafe fn(*mut ())) -> Self {
        Garbage { pointer, free }
    }
}

impl Drop for Garbage {
    fn drop(&mut self) {
        // SAFETY: `new`'s contract; a bag is dropped only once it is safe
        // (see the module docs), and each garbage is dropped once.
        unsafe { (self.free)(self.pointer) }
    }
}

/// Garbage sealed at one epoch.
struct Bag {
    sealed_at: u64,
    #[expect(
        dead_code,
        reason = "held only to be dropped: dropping the bag frees it"
    )]
    garbage: Vec<Garbage>,
}

/// The epoch, the records and the bags of one runtime.
pub(crate) struct Reclaimer<P: Platform> {
    epoch: EpochWord<P>,
    pub(crate) participants: Participants<P>,
    bags: P::Mutex<VecDeque<Bag>>,
    /// The injected bug `free-before-readers-leave`: garbage is freed when it
    /// is retired, while readers may still hold it.
    free_at_once: bool,
}

/// The global epoch, on cache lines of its own: it is read at every pin.
#[repr(align(128))]
struct EpochWord<P: Platform>(P::AtomicU64);

impl<P: Platform> Reclaimer<P> {
    pub(crate) fn new(free_at_once: bool) -> Self {
        Reclaimer {
            epoch: EpochWord(P::AtomicU64::new(0)),
            participants: Participants::new(),
            bags: P::Mutex::new(VecDeque::new()),
            free_at_once,
        }
    }

    /// Whether the injected bug `free-before-readers-leave` is on: then a
    /// thread hands over what it replaced at every commit, to be freed at once.
    pub(crate) fn frees_at_once(&self) -> bool {
        self.free_at_once
    }

    /// Pins an attempt of the thread holding `participant`: until
    /// [`unpin`](Self::unpin), nothing it can reach is freed.
    #[inline]
    pub(crate) fn pin(&self, participant: &Participant<P>) {
        let epoch = self.epoch.0.load(Ordering::Acquire);
        participant.announce_pinned(epoch);
    }

    /// Ends the pin: the attempt holds no pointer into TVars any more.
    #[inline]
    pub(crate) fn unpin(&self, participant: &Participant<P>) {
        participant.announce_unpinned(Ordering::Release);
    }

    /// Takes `garbage`, all of it already unreachable, and frees every bag
    /// that has become safe to free (trying to advance the epoch once).
    pub(crate) fn retire(&self, garbage: &mut Vec<Garbage>) {
        if garbage.is_empty() {
            return;
        }
        if self.free_at_once {
            garbage.clear();
            return;
        }
        let bag = Bag {
            sealed_at: self.epoch.0.fetch_add(0, Ordering::AcqRel),
            garbage: core::mem::take(garbage),
        };
        let safe = self.bags.with(|bags| {
            bags.push_back(bag);
            self.take_safe_bags(bags)
        });
        drop(safe); // freed outside the lock: a value's drop may be slow
    }

    /// Removes the bags that are safe to free, advancing the epoch first
    /// while the newest is not (twice at most: enough to free every bag when
    /// no one is pinned).
    fn take_safe_bags(&self, bags: &mut VecDeque<Bag>) -> Vec<Bag> {
        let mut epoch = self.epoch.0.load(Ordering::Acquire);
        let is_safe = |bag: &Bag, epoch: u64| bag.sealed_at + 2 <= epoch;
        for _ in 0..2 {
            if bags.back().is_some_and(|newest| !is_safe(newest, epoch)) && self.try_advance(epoch)
            {
                epoch += 1;
            }
        }
        let mut safe = Vec::new();
        while bags.front().is_some_and(|oldest| is_safe(oldest, epoch)) {
            safe.extend(bags.pop_front());
        }
        safe
    }

    /// Moves the epoch from `epoch` to `epoch + 1` if every pinned record is
    /// pinned in `epoch`.
    fn try_advance(&self, epoch: u64) -> bool {
        self.participants.all_pinned_in(epoch)
            && self
                .epoch
                .0
                .compare_exchange(epoch, epoch + 1, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
    }
}

#[cfg(all(test, feature = "loom"))]
mod loom_models {
    //! The reclamation protocol alone, under loom: a reader pinned while it
    //! uses what a slot points to, a writer that repoints the slot and
    //! retires the old object. Each object is a loom cell whose "free" is a
    //! write, so loom reports any free not ordered after every read of it
    //! (and nothing is really deallocated, so a broken protocol cannot
    //! corrupt the test process).
    use super::*;
    use crate::platform::LoomPlatform;
    use loom::cell::UnsafeCell;
    use loom::sync::Arc;

    const FREED: u64 = u64::MAX;

    /// Marks the object freed (the write a real free would be).
    unsafe fn free_object(pointer: *mut ()) {
        // SAFETY: objects outlive the reclaimer (see `model`).
        let object = unsafe { &*pointer.cast::<UnsafeCell<u64>>() };
        // SAFETY: loom checks that this write is ordered with every access.
        object.with_mut(|v| unsafe { *v = FREED });
    }

    fn model(free_at_once: bool) {
        let mut builder = loom::model::Builder::new();
        builder.preemption_bound = Some(3);
        builder.check(move || {
            let objects: Arc<Vec<UnsafeCell<u64>>> =
                Arc::new((0..3).map(UnsafeCell::new).collect());
            let pointer_to = |i: usize| core::ptr::from_ref(&objects[i]).cast_mut().cast::<()>();
            let reclaimer = Arc::new(Reclaimer::<LoomPlatform>::new(free_at_once));
            let slot = Arc::new(<LoomPlatform as Platform>::AtomicPtr::new(pointer_to(0)));
            let reader = {
                let (reclaimer, slot, objects) = (reclaimer.clone(), slot.clone(), objects.clone());
                loom::thread::spawn(move || {
                    let (seat, me) = reclaimer.participants.claim();
                    for _ in 0..2 {
                        reclaimer.pin(&me);
                        let pointer = slot.load(Ordering::Acquire);
                        // SAFETY: every object lives as long as `objects`.
                        let object = unsafe { &*pointer.cast::<UnsafeCell<u64>>() };
                        // SAFETY: loom checks this read against the frees.
                        let value = object.with(|v| unsafe { *v });
                        assert_ne!(value, FREED, "read a freed object");
                        reclaimer.unpin(&me);
                    }
                    reclaimer.participants.give_back(seat);
                    drop(objects);
                })
            };
            let (seat, _me) = reclaimer.participants.claim();
            for next in 1..3 {
                let old = slot.load(Ordering::Relaxed);
                slot.store(pointer_to(next), Ordering::Release);
                // SAFETY: `free_object` only marks the object freed.
                let mut garbage = vec![unsafe { Garbage::new(old, free_object) }];
                reclaimer.retire(&mut garbage);
            }
            reclaimer.participants.give_back(seat);
            reader.join().unwrap();
            drop(reclaimer); // frees what is left, while `objects` lives
        });
    }

    #[test]
    fn nothing_is_freed_while_a_pinned_reader_can_reach_it() {
        model(false);
    }

    #[test]
    #[should_panic]
    fn freeing_at_once_is_caught() {
        model(true);
    }
}
