//! The std backend: real threads, `std::sync` atomics and locks. This file and
//! the model-checker backends are the only places in stm-core that name
//! `std::sync` or `std::thread`.

use super::{AtomicPointer, AtomicWord, Join, Lock, Ordering, Platform, ThreadState, WakeEvent};
use crate::Stm;
use std::cell::Cell;
use std::sync::{Mutex, OnceLock};

pub use std::sync::Arc;

/// A statistics counter (see [`super::StatCounter`]) with one writer at a
/// time: adding is a relaxed load and store, never a read-modify-write.
#[derive(Debug, Default)]
pub(crate) struct StatCounter(std::sync::atomic::AtomicU64);

impl StatCounter {
    /// Adds `n`. Only the record's holder calls it (see `participants`).
    #[inline]
    pub(crate) fn add_as_only_writer(&self, n: u64) {
        self.0
            .store(self.0.load(Ordering::Relaxed) + n, Ordering::Relaxed);
    }

    /// The count.
    pub(crate) fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// The default backend: operating-system threads and `std::sync`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Std;

sync_primitives!(std::sync, StdEvent);

impl<T: Send + 'static> Join<T> for std::thread::JoinHandle<T> {
    fn join(self) -> Result<T, Box<dyn core::any::Any + Send + 'static>> {
        std::thread::JoinHandle::join(self)
    }
}

thread_local! {
    static STATE: ThreadState = const { ThreadState::new() };
    static THREAD_SLOT: Cell<usize> = const { Cell::new(usize::MAX) };
}

/// Hands out statistics stripes to threads round-robin.
static NEXT_THREAD_SLOT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

impl Platform for Std {
    type AtomicU64 = std::sync::atomic::AtomicU64;
    type AtomicPtr = std::sync::atomic::AtomicPtr<()>;
    type Mutex<T: Send + 'static> = Mutex<T>;
    type Event = StdEvent;
    type JoinHandle<T: Send + 'static> = std::thread::JoinHandle<T>;

    const SPINS_BEFORE_BLOCKING: u32 = 200;
    const RECLAIM_BATCH: usize = 64;

    fn available_parallelism() -> usize {
        std::thread::available_parallelism().map_or(1, |n| n.get())
    }

    fn spawn<F, T>(f: F) -> Self::JoinHandle<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        std::thread::spawn(f)
    }

    fn yield_now() {
        std::thread::yield_now()
    }

    #[inline]
    fn pause() {
        core::hint::spin_loop();
    }

    #[inline]
    fn thread_slot() -> usize {
        THREAD_SLOT.with(|slot| {
            if slot.get() == usize::MAX {
                slot.set(NEXT_THREAD_SLOT.fetch_add(1, Ordering::Relaxed));
            }
            slot.get()
        })
    }

    thread_state_methods!(STATE);

    fn back_off(conflicts: u32) {
        // Exponential spinning (a few hundred nanoseconds at first), then
        // giving the core away.
        const MAX_DOUBLINGS: u32 = 10;
        for _ in 0..(16u32 << conflicts.min(MAX_DOUBLINGS)) {
            core::hint::spin_loop();
        }
        if conflicts > MAX_DOUBLINGS {
            std::thread::yield_now();
        }
    }
}

/// The runtime behind [`atomically`](crate::atomically) and
/// [`TVar::new`](crate::TVar::new).
pub(crate) fn default_runtime() -> &'static Stm<Std> {
    static DEFAULT: OnceLock<Stm<Std>> = OnceLock::new();
    DEFAULT.get_or_init(Stm::for_platform)
}
