//! The cost of recording: the same bank transfers on one thread with no
//! recorder, with a recorder that ignores events (the cost of the hooks) and
//! with the `HistoryRecorder` that builds a checkable history.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::sync::Arc;
use std::time::Duration;
use stm_check::record::HistoryRecorder;
use stm_core::recorder::{Event, Recorder};
use stm_core::{Stm, StmConfig, TVar};

const TRANSFERS: u64 = 10_000;

struct IgnoreEvents;

/// Creates the runtime a benchmark case runs on.
type MakeRuntime = fn() -> Stm;

impl Recorder for IgnoreEvents {
    fn record(&self, event: &Event<'_>) {
        std::hint::black_box(event);
    }
}

fn transfers(stm: &Stm, accounts: &[TVar<i64>]) {
    let n = accounts.len() as u64;
    for i in 0..TRANSFERS {
        let from = (i * 7 % n) as usize;
        let to = ((i * 13 + 1) % n) as usize;
        stm.atomically(|tx| {
            let a = tx.read(&accounts[from])?;
            tx.write(&accounts[from], a - 1)?;
            tx.modify(&accounts[to], |b| b + 1)
        });
    }
}

fn bench_recording(c: &mut Criterion) {
    let mut group = c.benchmark_group("recording");
    group.throughput(Throughput::Elements(TRANSFERS));
    group.sample_size(20);
    group.measurement_time(Duration::from_secs(2));
    group.warm_up_time(Duration::from_millis(500));
    let runtimes: [(&str, MakeRuntime); 3] = [
        ("no_recorder", Stm::new),
        ("ignoring_recorder", || {
            Stm::with_recorder(StmConfig::default(), Arc::new(IgnoreEvents))
        }),
        ("history_recorder", || {
            Stm::with_recorder(StmConfig::default(), Arc::new(HistoryRecorder::new()))
        }),
    ];
    for (name, make) in &runtimes {
        group.bench_function(*name, |b| {
            b.iter_batched(
                || {
                    let stm = make();
                    let accounts: Vec<TVar<i64>> = (0..1024).map(|_| stm.new_tvar(0)).collect();
                    (stm, accounts)
                },
                |(stm, accounts)| transfers(&stm, &accounts),
                criterion::BatchSize::PerIteration,
            )
        });
    }
    group.finish();
}

criterion_group!(benches, bench_recording);
criterion_main!(benches);
