//! The engine's workloads against their baselines, each at 1 and 2 threads
//! (and at the machine's available parallelism where larger). One criterion
//! iteration is one operation on every thread, and the throughput is in
//! operations of all threads together, so criterion's elements/s are the
//! total operations/s. `cargo run --release -p stm-benchmarks` reads the
//! results back into one table of ratios.

use criterion::measurement::WallTime;
use criterion::{
    criterion_group, criterion_main, BenchmarkGroup, BenchmarkId, Criterion, SamplingMode,
    Throughput,
};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use stm_benchmarks::bank::{self, NoWork};
use stm_benchmarks::names::*;
use stm_benchmarks::queue_total::{self, Update};
use stm_benchmarks::work::{PrivateWork, WorkOnly};
use stm_benchmarks::{counter, queue, read_mostly};
use stm_benchmarks::{run_sequential, run_threads, thread_counts, SequentialOp, SharedOp};

/// A different seed for every measurement, so repeated runs do not replay
/// one stream of choices.
fn next_seed() -> u64 {
    static SEED: AtomicU64 = AtomicU64::new(0);
    SEED.fetch_add(1, Ordering::Relaxed)
}

fn sequential(group: &mut BenchmarkGroup<'_, WallTime>, name: &str, mut state: impl SequentialOp) {
    group.throughput(Throughput::Elements(1));
    group.bench_function(BenchmarkId::new(name, 1), |b| {
        b.iter_custom(|iters| run_sequential(&mut state, iters, next_seed()))
    });
}

fn shared(group: &mut BenchmarkGroup<'_, WallTime>, name: &str, state: impl SharedOp) {
    for threads in thread_counts() {
        group.throughput(Throughput::Elements(threads as u64));
        group.bench_function(BenchmarkId::new(name, threads), |b| {
            b.iter_custom(|iters| run_threads(&state, threads, iters, next_seed()))
        });
    }
}

fn bench_bank(c: &mut Criterion) {
    let mut group = c.benchmark_group(BANK);
    sequential(&mut group, SEQUENTIAL, bank::Sequential::<NoWork>::new());
    shared(&mut group, MUTEX, bank::Locked::<NoWork>::new());
    shared(&mut group, STM_CORE, bank::StmCore::<NoWork>::new());
    shared(&mut group, RUST_STM, bank::RustStm::<NoWork>::new());
    shared(&mut group, KOVAN_STM, bank::Kovan::<NoWork>::new());
    group.finish();
}

fn bench_work(c: &mut Criterion) {
    let mut group = c.benchmark_group(WORK);
    sequential(&mut group, WORK_ONLY, WorkOnly::default());
    sequential(
        &mut group,
        SEQUENTIAL,
        bank::Sequential::<PrivateWork>::new(),
    );
    shared(&mut group, MUTEX, bank::Locked::<PrivateWork>::new());
    shared(&mut group, STM_CORE, bank::StmCore::<PrivateWork>::new());
    shared(&mut group, RUST_STM, bank::RustStm::<PrivateWork>::new());
    shared(&mut group, KOVAN_STM, bank::Kovan::<PrivateWork>::new());
    group.finish();
}

fn bench_counter(c: &mut Criterion) {
    let mut group = c.benchmark_group(COUNTER);
    sequential(&mut group, SEQUENTIAL, counter::Sequential::default());
    shared(&mut group, MUTEX, counter::Locked::default());
    shared(&mut group, STM_CORE, counter::StmCore::new());
    shared(&mut group, RUST_STM, counter::RustStm::new());
    shared(&mut group, KOVAN_STM, counter::Kovan::new());
    group.finish();
}

fn bench_read_mostly(c: &mut Criterion) {
    let mut group = c.benchmark_group(READ_MOSTLY);
    sequential(&mut group, SEQUENTIAL, read_mostly::Sequential::new());
    shared(&mut group, MUTEX, read_mostly::Locked::new());
    shared(&mut group, RWLOCK, read_mostly::RwLocked::new());
    shared(&mut group, STM_CORE, read_mostly::StmCore::new());
    shared(&mut group, RUST_STM, read_mostly::RustStm::new());
    shared(&mut group, KOVAN_STM, read_mostly::Kovan::new());
    group.finish();
}

/// Sums `run` over criterion's iterations (each one whole run of the items).
fn runs(iters: u64, mut run: impl FnMut() -> Duration) -> Duration {
    (0..iters).map(|_| run()).sum()
}

fn bench_queue(c: &mut Criterion) {
    let mut group = c.benchmark_group(QUEUE);
    // One iteration is a whole run of 100,000 items (about 0.1 s).
    group
        .throughput(Throughput::Elements(queue::ITEMS as u64))
        .sample_size(10)
        .sampling_mode(SamplingMode::Flat);
    let mut sequential = queue::Sequential::new(queue::ITEMS);
    group.bench_function(BenchmarkId::new(SEQUENTIAL, 1), |b| {
        b.iter_custom(|iters| runs(iters, || sequential.run()))
    });
    let locked = queue::Locked::new(queue::ITEMS);
    let transactional = queue::Queue::new(queue::ITEMS);
    let kept = queue::KeptQueues::default();
    // Each figure the report compares is measured next to its baseline
    // (the machine's speed drifts over minutes): `run` on 1 worker right
    // after the loop, rayon between `run` and `run_ordered`.
    for workers in thread_counts() {
        let bench_queue = |group: &mut BenchmarkGroup<'_, _>, name, ordered| {
            group.bench_function(BenchmarkId::new(name, workers), |b| {
                b.iter_custom(|iters| runs(iters, || transactional.run(&kept, workers, ordered)))
            });
        };
        bench_queue(&mut group, QUEUE_RUN, false);
        // The pool's threads start here, outside the timed runs.
        let mut rayon = queue::Rayon::new(queue::ITEMS, workers);
        group.bench_function(BenchmarkId::new(RAYON, workers), |b| {
            b.iter_custom(|iters| runs(iters, || rayon.run()))
        });
        bench_queue(&mut group, QUEUE_RUN_ORDERED, true);
        group.bench_function(BenchmarkId::new(MUTEX, workers), |b| {
            b.iter_custom(|iters| runs(iters, || locked.run(workers)))
        });
    }
    group.finish();
}

fn bench_queue_total(c: &mut Criterion) {
    let mut group = c.benchmark_group(QUEUE_TOTAL);
    // One iteration is a whole run of 10,000 items (about 10 ms): too long
    // for criterion's linear sampling, whose samples grow to many runs.
    group
        .throughput(Throughput::Elements(queue_total::ITEMS as u64))
        .sampling_mode(SamplingMode::Flat);
    let mut sequential = queue_total::Sequential::new(queue_total::ITEMS);
    group.bench_function(BenchmarkId::new(SEQUENTIAL, 1), |b| {
        b.iter_custom(|iters| runs(iters, || sequential.run()))
    });
    let transactional = queue_total::Queue::new(queue_total::ITEMS);
    let kept = queue::KeptQueues::default();
    // The figures the report compares with the loop are those on 2
    // workers: measured first, next to it (the machine's speed drifts
    // over minutes).
    let mut counts = thread_counts();
    counts.sort_by_key(|&workers| workers != 2);
    for workers in counts {
        let bench_queue = |group: &mut BenchmarkGroup<'_, _>, name, ordered, update| {
            group.bench_function(BenchmarkId::new(name, workers), |b| {
                b.iter_custom(|iters| {
                    runs(iters, || transactional.run(&kept, workers, ordered, update))
                })
            });
        };
        bench_queue(&mut group, QUEUE_RUN_COMMUTE, false, Update::Commute);
        bench_queue(&mut group, QUEUE_RUN_ORDERED_COMMUTE, true, Update::Commute);
        // The pool's threads start here, outside the timed runs.
        let mut rayon = queue_total::Rayon::new(queue_total::ITEMS, workers);
        group.bench_function(BenchmarkId::new(RAYON, workers), |b| {
            b.iter_custom(|iters| runs(iters, || rayon.run()))
        });
        bench_queue(&mut group, QUEUE_RUN, false, Update::Modify);
        bench_queue(&mut group, QUEUE_RUN_ORDERED, true, Update::Modify);
    }
    group.finish();
}

criterion_group!(
    benches,
    bench_bank,
    bench_work,
    bench_counter,
    bench_read_mostly,
    bench_queue,
    bench_queue_total
);
criterion_main!(benches);
