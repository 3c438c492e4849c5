//! Where idle workers sleep, and the protocol that wakes them.
//!
//! A worker with nothing to do polls briefly (real threads only), then
//! sleeps on an event of its own until the run's state changes: more items,
//! the turn passing, the run ending or stopping. Waking costs the workers
//! that change that state one plain load when nobody sleeps, so it can sit
//! on the common path of every item.
//!
//! The protocol, in the platform's memory model (loom checks it):
//! - a sleeper, under the mutex, pushes its event and marks `sleepers` with
//!   a read-modify-write; then it checks the state again, reading every
//!   variable it waits on with a read-modify-write, and sleeps only if
//!   nothing changed;
//! - a waker changes the state with a read-modify-write, then loads
//!   `sleepers`; if it is marked, it takes (and notifies) every event under
//!   the mutex and clears the mark there.
//!
//! Either the sleeper's check reads the waker's change, or it comes earlier
//! in the variable's modification order: then the waker's read-modify-write
//! reads from the sleeper's (or a later one of its release sequence), so the
//! sleeper's mark happens before the waker's load, which sees it (or a clear
//! made by someone who took, and woke, the sleeper's event). No wake-up is
//! lost.

use crate::platform::{Arc, AtomicWord, Lock, Ordering, Platform, WakeEvent};

/// Spin-loop pauses between two polls of a waiting worker's first phase
/// (a poll reads shared counters; pausing keeps it from hammering them).
const PAUSES_PER_POLL: u32 = 32;

pub(crate) struct Parking<P: Platform> {
    /// Non-zero while some event may be registered.
    sleepers: P::AtomicU64,
    idle: P::Mutex<Vec<Arc<P::Event>>>,
    /// The injected bug `LoseQueueWakeup`: look for sleepers before the
    /// change.
    look_first: bool,
}

impl<P: Platform> Parking<P> {
    /// `look_first` injects the lost wake-up of `InjectedBug::LoseQueueWakeup`.
    pub(crate) fn new(look_first: bool) -> Self {
        Parking {
            sleepers: P::AtomicU64::new(0),
            idle: P::Mutex::new(Vec::new()),
            look_first,
        }
    }

    /// Makes a `change` sleepers wait for (a read-modify-write, see the
    /// module docs) and wakes them; returns what `change` returned.
    #[inline]
    pub(crate) fn announce<R>(&self, change: impl FnOnce() -> R) -> R {
        if self.look_first {
            let anyone = self.sleepers.load(Ordering::Acquire) != 0;
            let result = change();
            if anyone {
                self.wake_all();
            }
            return result;
        }
        let result = change();
        self.wake_all();
        result
    }

    /// Returns once `ready(exact)` holds. `ready(false)` may use plain
    /// loads (a poll); `ready(true)` must read, with a read-modify-write,
    /// every variable whose change it waits for, and every such change
    /// must be a read-modify-write made through [`announce`](Self::announce).
    pub(crate) fn wait_until(&self, mut ready: impl FnMut(bool) -> bool) {
        // Real threads poll first: briefly without a system call, then
        // yielding the core, and only then sleep (a wake-up costs
        // microseconds, more than most waits between items).
        for poll in 0..P::SPINS_BEFORE_BLOCKING {
            if ready(false) {
                return;
            }
            if poll < P::SPINS_BEFORE_BLOCKING / 2 {
                for _ in 0..PAUSES_PER_POLL {
                    P::pause();
                }
            } else {
                P::yield_now();
            }
        }
        loop {
            let event = Arc::new(P::Event::new());
            self.idle.with(|idle| {
                self.sleepers.fetch_add(1, Ordering::AcqRel);
                idle.push(event.clone());
            });
            if ready(true) {
                self.idle
                    .with(|idle| idle.retain(|e| !Arc::ptr_eq(e, &event)));
                return;
            }
            event.wait();
            if ready(true) {
                return;
            }
        }
    }

    /// Wakes every sleeper, if any.
    #[inline]
    fn wake_all(&self) {
        if self.sleepers.load(Ordering::Acquire) == 0 {
            return;
        }
        let woken = self.idle.with(|idle| {
            self.sleepers.store(0, Ordering::Relaxed);
            core::mem::take(idle)
        });
        for event in woken {
            event.notify();
        }
    }
}
