//! 100,000 small independent items through `TransactionQueue::run` and
//! `run_ordered` on 1 and 2 workers, against a plain sequential loop doing the
//! same work on plain values. Read the ratios against `sequential_loop`.

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use std::hint::black_box;
use std::time::Duration;
use stm_core::transaction::TransactionQueue;
use stm_core::{Std, Stm, TVar};

const ITEMS: usize = 100_000;

/// The item's private work: a few dozen nanoseconds of arithmetic.
fn work(seed: u64) -> u64 {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    for _ in 0..16 {
        x ^= x >> 13;
        x = x.wrapping_mul(0xBF58_476D_1CE4_E5B9);
    }
    x
}

fn queue_of_items(stm: &Stm, slots: &[TVar<u64>], workers: usize) -> TransactionQueue<Std, String> {
    let mut queue = TransactionQueue::with_runtime(stm).workers(workers);
    for (i, slot) in slots.iter().enumerate() {
        let slot = slot.clone();
        queue.add(move |tx| {
            let w = work(i as u64);
            Ok(tx.modify(&slot, |v| v.wrapping_add(w))?)
        });
    }
    queue
}

fn bench_queue(c: &mut Criterion) {
    let mut group = c.benchmark_group("queue_100k_items");
    group.throughput(Throughput::Elements(ITEMS as u64));
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(3));
    group.warm_up_time(Duration::from_millis(500));

    group.bench_function("sequential_loop", |b| {
        let mut slots = vec![0u64; ITEMS];
        b.iter(|| {
            for (i, slot) in slots.iter_mut().enumerate() {
                *slot = slot.wrapping_add(work(i as u64));
            }
            black_box(&slots);
        })
    });

    let stm = Stm::new();
    let slots: Vec<TVar<u64>> = (0..ITEMS).map(|_| stm.new_tvar(0)).collect();
    for workers in [1, 2] {
        for ordered in [false, true] {
            let name = format!(
                "{}/{workers}_workers",
                if ordered { "run_ordered" } else { "run" }
            );
            group.bench_function(&name, |b| {
                b.iter_batched(
                    || queue_of_items(&stm, &slots, workers),
                    |mut queue| {
                        let summary = if ordered {
                            queue.run_ordered()
                        } else {
                            queue.run()
                        };
                        assert_eq!(summary.unwrap().committed, ITEMS as u64);
                    },
                    BatchSize::PerIteration,
                )
            });
        }
    }
    group.finish();
}

criterion_group!(benches, bench_queue);
criterion_main!(benches);
