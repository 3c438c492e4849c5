//! Running one implementation on several threads at once, for criterion's
//! `iter_custom`: every thread performs the same number of operations, all
//! start together, and the time is taken from the start signal until the
//! last one finishes, so throughput is total operations over wall time.

use crate::rng::Rng;
use std::sync::Barrier;
use std::time::{Duration, Instant};

/// An implementation of a workload that threads share: each call performs
/// one operation (one transaction, one locked update), drawing its random
/// choices from the calling thread's generator.
pub trait SharedOp: Sync {
    /// Performs one operation.
    fn op(&self, rng: &mut Rng);
}

/// A plain single-threaded implementation on plain values: the baseline.
pub trait SequentialOp {
    /// Performs one operation.
    fn op(&mut self, rng: &mut Rng);
}

/// The thread counts every engine workload is measured at: 1 and 2, and the
/// machine's available parallelism where that is larger.
pub fn thread_counts() -> Vec<usize> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut counts = vec![1, 2];
    if cores > 2 {
        counts.push(cores);
    }
    counts
}

/// Runs `iters` operations of `shared` on each of `threads` threads (the
/// generator of thread `t` is seeded with `seed + t`) and returns the wall
/// time from the common start to the end of the last thread.
pub fn run_threads<S: SharedOp + ?Sized>(
    shared: &S,
    threads: usize,
    iters: u64,
    seed: u64,
) -> Duration {
    if threads <= 1 {
        let mut rng = Rng::new(seed);
        let start = Instant::now();
        for _ in 0..iters {
            shared.op(&mut rng);
        }
        return start.elapsed();
    }
    let barrier = Barrier::new(threads + 1);
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|t| {
                let barrier = &barrier;
                scope.spawn(move || {
                    let mut rng = Rng::new(seed.wrapping_add(t as u64));
                    barrier.wait();
                    for _ in 0..iters {
                        shared.op(&mut rng);
                    }
                })
            })
            .collect();
        barrier.wait();
        let start = Instant::now();
        for worker in workers {
            if let Err(panic) = worker.join() {
                std::panic::resume_unwind(panic);
            }
        }
        start.elapsed()
    })
}

/// Runs `iters` operations of the sequential baseline `state` and returns
/// the time they took.
pub fn run_sequential<S: SequentialOp + ?Sized>(state: &mut S, iters: u64, seed: u64) -> Duration {
    let mut rng = Rng::new(seed);
    let start = Instant::now();
    for _ in 0..iters {
        state.op(&mut rng);
    }
    start.elapsed()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU64, Ordering};

    struct Count(AtomicU64);

    impl SharedOp for Count {
        fn op(&self, rng: &mut Rng) {
            std::hint::black_box(rng.next_u64());
            self.0.fetch_add(1, Ordering::Relaxed);
        }
    }

    #[test]
    fn every_thread_runs_every_iteration() {
        for threads in [1, 2, 3] {
            let count = Count(AtomicU64::new(0));
            run_threads(&count, threads, 1_000, 5);
            assert_eq!(count.0.load(Ordering::Relaxed), 1_000 * threads as u64);
        }
    }

    #[test]
    fn thread_counts_start_with_one_and_two() {
        let counts = thread_counts();
        assert_eq!(&counts[..2], &[1, 2]);
        assert!(counts.len() <= 3);
    }
}
