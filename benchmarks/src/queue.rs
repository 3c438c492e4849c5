//! `queue`: the origin's use case, multicore without threads. 100,000
//! independent items of about a microsecond of work each, each writing its
//! own variable, through `TransactionQueue::run` and `run_ordered`, against
//! the plain loop over the items, against rayon's `par_iter_mut` (what a
//! Rust user would pick for independent items) and against threads that
//! pull item numbers from an atomic counter and lock one `Mutex` per slot.
//!
//! Each implementation's `run` builds what it needs first (the queue's
//! items; rayon's pool, when the implementation is made) and returns only
//! the time of the run itself. The queue is kept from run to run, as a
//! rayon pool is: its helper threads start at its first run (criterion's
//! warm-up) and are woken for the next ones. Its items borrow their
//! variables, as rayon's closures borrow their slots.

use crate::work::private_work;
use rayon::prelude::*;
use rayon::{ThreadPool, ThreadPoolBuilder};
use std::cell::RefCell;
use std::convert::Infallible;
use std::hint::black_box;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};
use stm_core::transaction::{ItemFailure, TransactionQueue};
use stm_core::{Std, Stm, TVar};

/// Items of one run.
pub const ITEMS: usize = 100_000;

/// What item `i` adds to its slot (to the total, in `queue_total`).
#[inline]
pub(crate) fn item_value(i: usize) -> u64 {
    private_work(i as u64)
}

/// The plain loop over plain slots: the baseline.
#[derive(Debug)]
pub struct Sequential {
    slots: Vec<u64>,
}

impl Sequential {
    /// `items` slots at 0.
    pub fn new(items: usize) -> Self {
        Sequential {
            slots: vec![0; items],
        }
    }

    /// Runs every item once, in order.
    pub fn run(&mut self) -> Duration {
        let start = Instant::now();
        for (i, slot) in self.slots.iter_mut().enumerate() {
            *slot = slot.wrapping_add(item_value(i));
        }
        black_box(&mut self.slots);
        start.elapsed()
    }

    /// The slots' values.
    pub fn values(&self) -> Vec<u64> {
        self.slots.clone()
    }
}

/// One `TransactionQueue` per number of workers, kept from run to run as
/// a program that runs rounds of items would keep its queue: the queue
/// keeps its helper threads between runs, as a rayon pool does. Its items
/// may borrow what lives for `'env`.
#[derive(Debug, Default)]
pub struct KeptQueues<'env> {
    queues: RefCell<Vec<TransactionQueue<'env, Std, Infallible>>>,
}

impl<'env> KeptQueues<'env> {
    /// Calls `f` with the (empty) queue of `workers` workers on `stm`.
    pub(crate) fn with<R>(
        &self,
        stm: &Stm,
        workers: usize,
        f: impl FnOnce(&mut TransactionQueue<'env, Std, Infallible>) -> R,
    ) -> R {
        let mut queues = self.queues.borrow_mut();
        let index = match queues.iter().position(|q| q.worker_count() == workers) {
            Some(index) => index,
            None => {
                queues.push(TransactionQueue::with_runtime_and_error_type(stm).workers(workers));
                queues.len() - 1
            }
        };
        f(&mut queues[index])
    }
}

/// The items as `TransactionQueue` items, one `TVar` each, on a runtime of
/// its own.
#[derive(Debug)]
pub struct Queue {
    stm: Stm,
    slots: Vec<TVar<u64>>,
}

impl Queue {
    /// `items` slots at 0.
    pub fn new(items: usize) -> Self {
        let stm = Stm::new();
        let slots = (0..items).map(|_| stm.new_tvar(0)).collect();
        Queue { stm, slots }
    }

    /// Queues every item, each borrowing its slot, on the queue of
    /// `workers` workers kept in `queues`, then runs them, with
    /// `run_ordered` if `ordered`, else with `run`.
    ///
    /// # Panics
    ///
    /// If an item is not committed exactly once.
    pub fn run<'q>(&'q self, queues: &KeptQueues<'q>, workers: usize, ordered: bool) -> Duration {
        queues.with(&self.stm, workers, |queue| {
            for (i, slot) in self.slots.iter().enumerate() {
                queue.add(move |tx| {
                    let value = item_value(i);
                    Ok(tx.modify(slot, |v| v.wrapping_add(value))?)
                });
            }
            time_run(queue, ordered)
        })
    }

    /// The slots' values.
    pub fn values(&self) -> Vec<u64> {
        self.slots.iter().map(TVar::load).collect()
    }
}

/// Runs every item of `queue`, with `run_ordered` if `ordered`, else with
/// `run`, and returns the time of the run alone.
///
/// # Panics
///
/// If an item is not committed exactly once.
pub(crate) fn time_run(
    queue: &mut TransactionQueue<'_, Std, Infallible>,
    ordered: bool,
) -> Duration {
    let items = queue.len() as u64;
    let start = Instant::now();
    let summary = if ordered {
        queue.run_ordered()
    } else {
        queue.run()
    };
    let elapsed = start.elapsed();
    let summary = summary.unwrap_or_else(|error| match error.failure {
        ItemFailure::Error(never) => match never {},
        ItemFailure::WouldBlockForever => unreachable!("no item retries"),
    });
    assert_eq!(summary.committed, items);
    elapsed
}

/// A rayon pool of exactly `threads` threads, started before any timed run.
///
/// # Panics
///
/// If the operating system cannot start the threads.
pub(crate) fn rayon_pool(threads: usize) -> ThreadPool {
    ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap_or_else(|error| panic!("cannot start a rayon pool of {threads} threads: {error}"))
}

/// `par_iter_mut` over plain slots, on a rayon pool of its own: what a Rust
/// user would pick instead of the queue for independent items.
#[derive(Debug)]
pub struct Rayon {
    slots: Vec<u64>,
    pool: ThreadPool,
}

impl Rayon {
    /// `items` slots at 0, and a pool of `threads` threads.
    ///
    /// # Panics
    ///
    /// If the operating system cannot start the threads.
    pub fn new(items: usize, threads: usize) -> Self {
        Rayon {
            slots: vec![0; items],
            pool: rayon_pool(threads),
        }
    }

    /// Runs every item once on the pool.
    pub fn run(&mut self) -> Duration {
        let slots = &mut self.slots;
        let start = Instant::now();
        self.pool.install(|| {
            slots
                .par_iter_mut()
                .enumerate()
                .for_each(|(i, slot)| *slot = slot.wrapping_add(item_value(i)));
        });
        black_box(&mut self.slots);
        start.elapsed()
    }

    /// The slots' values.
    pub fn values(&self) -> Vec<u64> {
        self.slots.clone()
    }
}

/// Threads pulling item numbers from an atomic counter, each item locking
/// its own slot's `Mutex`.
#[derive(Debug)]
pub struct Locked {
    slots: Vec<Mutex<u64>>,
}

impl Locked {
    /// `items` slots at 0.
    pub fn new(items: usize) -> Self {
        Locked {
            slots: (0..items).map(|_| Mutex::new(0)).collect(),
        }
    }

    /// Runs every item once on `threads` threads.
    pub fn run(&self, threads: usize) -> Duration {
        let next = AtomicUsize::new(0);
        let work = || loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            let Some(slot) = self.slots.get(i) else {
                break;
            };
            let value = item_value(i);
            let mut slot = slot.lock().unwrap_or_else(PoisonError::into_inner);
            *slot = slot.wrapping_add(value);
        };
        let start = Instant::now();
        std::thread::scope(|scope| {
            for _ in 1..threads {
                scope.spawn(work);
            }
            work();
        });
        start.elapsed()
    }

    /// The slots' values.
    pub fn values(&self) -> Vec<u64> {
        self.slots
            .iter()
            .map(|slot| *slot.lock().unwrap_or_else(PoisonError::into_inner))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_implementation_runs_every_item_once() {
        let items = 500;
        let mut sequential = Sequential::new(items);
        sequential.run();
        let expected = sequential.values();
        assert_eq!(expected[3], item_value(3));
        for (workers, ordered) in [(1, false), (2, false), (1, true), (2, true)] {
            let queue = Queue::new(items);
            queue.run(&KeptQueues::default(), workers, ordered);
            assert_eq!(
                queue.values(),
                expected,
                "{workers} workers, ordered {ordered}"
            );
        }
        let locked = Locked::new(items);
        locked.run(2);
        assert_eq!(locked.values(), expected);
        for threads in [1, 2] {
            let mut rayon = Rayon::new(items, threads);
            rayon.run();
            assert_eq!(rayon.values(), expected, "rayon on {threads} threads");
        }
    }
}
