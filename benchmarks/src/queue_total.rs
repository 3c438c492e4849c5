//! `queue_total`: the queue's items when they all update one variable.
//! 10,000 items of the `queue` workload's computation, each adding its
//! result to one shared total, through `TransactionQueue::run` and
//! `run_ordered`, each with `tx.modify` (a read-modify-write of the total,
//! so items on different workers conflict) and with `tx.commute` (an update
//! that need not read the total), against the plain loop and rayon's
//! parallel sum.
//!
//! Each implementation's `run` builds what it needs first (the queue's
//! items; rayon's pool, when the implementation is made) and returns only
//! the time of the run itself.

use crate::queue::{item_value, rayon_pool, time_run, KeptQueues};
use rayon::prelude::*;
use rayon::ThreadPool;
use std::hint::black_box;
use std::time::{Duration, Instant};
use stm_core::{Stm, TVar};

/// Items of one run.
pub const ITEMS: usize = 10_000;

/// The plain loop adding to a plain `u64`: the baseline.
#[derive(Debug)]
pub struct Sequential {
    items: usize,
    total: u64,
}

impl Sequential {
    /// `items` items, the total at 0.
    pub fn new(items: usize) -> Self {
        Sequential { items, total: 0 }
    }

    /// Runs every item once, in order.
    pub fn run(&mut self) -> Duration {
        let start = Instant::now();
        for i in 0..self.items {
            self.total = self.total.wrapping_add(item_value(i));
        }
        black_box(&mut self.total);
        start.elapsed()
    }

    /// The total.
    pub fn total(&self) -> u64 {
        self.total
    }
}

/// How a queue item adds its value to the total.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Update {
    /// `tx.modify`: reads the total, writes the sum.
    Modify,
    /// `tx.commute`: hands the engine the addition to apply to the total.
    Commute,
}

/// The items as `TransactionQueue` items on one `TVar`, on a runtime of its
/// own.
#[derive(Debug)]
pub struct Queue {
    stm: Stm,
    items: usize,
    total: TVar<u64>,
}

impl Queue {
    /// `items` items, the total at 0.
    pub fn new(items: usize) -> Self {
        let stm = Stm::new();
        let total = stm.new_tvar(0);
        Queue { stm, items, total }
    }

    /// Queues every item, each borrowing the total and adding to it by
    /// `update`, on the queue of `workers` workers kept in `queues`, then
    /// runs them, with `run_ordered` if `ordered`, else with `run`.
    ///
    /// # Panics
    ///
    /// If an item is not committed exactly once.
    pub fn run<'q>(
        &'q self,
        queues: &KeptQueues<'q>,
        workers: usize,
        ordered: bool,
        update: Update,
    ) -> Duration {
        queues.with(&self.stm, workers, |queue| {
            let total = &self.total;
            for i in 0..self.items {
                match update {
                    Update::Modify => queue.add(move |tx| {
                        let value = item_value(i);
                        Ok(tx.modify(total, |t| t.wrapping_add(value))?)
                    }),
                    Update::Commute => queue.add(move |tx| {
                        let value = item_value(i);
                        Ok(tx.commute(total, move |t| t.wrapping_add(value))?)
                    }),
                }
            }
            time_run(queue, ordered)
        })
    }

    /// The total.
    pub fn total(&self) -> u64 {
        self.total.load()
    }
}

/// rayon's parallel map and reduce over the items, on a pool of its own:
/// what a Rust user would pick for a parallel sum.
#[derive(Debug)]
pub struct Rayon {
    items: usize,
    total: u64,
    pool: ThreadPool,
}

impl Rayon {
    /// `items` items, the total at 0, and a pool of `threads` threads.
    ///
    /// # Panics
    ///
    /// If the operating system cannot start the threads.
    pub fn new(items: usize, threads: usize) -> Self {
        Rayon {
            items,
            total: 0,
            pool: rayon_pool(threads),
        }
    }

    /// Runs every item once on the pool.
    pub fn run(&mut self) -> Duration {
        let items = self.items;
        let start = Instant::now();
        // Wrapping addition is associative and commutative: any split of
        // the items gives the sequential total.
        let sum = self.pool.install(|| {
            (0..items)
                .into_par_iter()
                .map(item_value)
                .reduce(|| 0, u64::wrapping_add)
        });
        self.total = self.total.wrapping_add(sum);
        black_box(&mut self.total);
        start.elapsed()
    }

    /// The total.
    pub fn total(&self) -> u64 {
        self.total
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_implementation_reaches_the_sequential_total() {
        let items = 500;
        let mut sequential = Sequential::new(items);
        sequential.run();
        let expected = sequential.total();
        assert_eq!(
            expected,
            (0..items).fold(0, |t: u64, i| t.wrapping_add(item_value(i)))
        );
        for workers in [1, 2] {
            for ordered in [false, true] {
                for update in [Update::Modify, Update::Commute] {
                    let queue = Queue::new(items);
                    queue.run(&KeptQueues::default(), workers, ordered, update);
                    assert_eq!(
                        queue.total(),
                        expected,
                        "{workers} workers, ordered {ordered}, {update:?}"
                    );
                }
            }
            let mut rayon = Rayon::new(items, workers);
            rayon.run();
            assert_eq!(rayon.total(), expected, "rayon on {workers} threads");
        }
    }
}
