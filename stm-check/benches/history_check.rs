//! Throughput of the history checker on valid histories of serial runs
//! (10k, 100k and 1M transactions): the whole check (validation, index,
//! cycle search, opacity and value checks) by a `Checker` reused from one
//! check to the next, as a checker of many histories is, and JSON parsing.

use criterion::{
    criterion_group, criterion_main, BenchmarkId, Criterion, SamplingMode, Throughput,
};
use std::hint::black_box;
use std::time::Duration;
use stm_check::history::generate::{random_plan, serial_history, SerialOptions};
use stm_check::history::{check, Checker, History};

/// A valid history: 1 to 3 reads and writes per transaction over 10k keys,
/// 5% aborted attempts, each overlapping the next two in real time.
fn history(transactions: usize) -> History {
    let plan = random_plan(42, transactions, 10_000, 3, 5);
    let options = SerialOptions {
        overlap: 2,
        ..SerialOptions::default()
    };
    serial_history(&plan, options)
}

fn bench_check(c: &mut Criterion) {
    let mut group = c.benchmark_group("check");
    for &n in &[10_000usize, 100_000, 1_000_000] {
        let h = history(n);
        assert!(
            check(&h).unwrap().is_valid(),
            "the generated history is valid"
        );
        group.throughput(Throughput::Elements(n as u64));
        if n >= 1_000_000 {
            // About 0.6 s an iteration: flat sampling (every sample the same
            // number of iterations) and 20 s give criterion its 10 samples
            // with no warning, and the whole bench stays near a minute.
            group
                .sample_size(10)
                .sampling_mode(SamplingMode::Flat)
                .measurement_time(Duration::from_secs(20));
        } else {
            group
                .sample_size(20)
                .measurement_time(Duration::from_secs(4));
        }
        let mut checker = Checker::new();
        group.bench_with_input(BenchmarkId::from_parameter(n), &h, |b, h| {
            b.iter(|| black_box(checker.check(h).unwrap()))
        });
    }
    group.finish();
}

fn bench_parse(c: &mut Criterion) {
    let mut group = c.benchmark_group("parse");
    let n = 100_000usize;
    let json = history(n).to_json_string();
    group.throughput(Throughput::Elements(n as u64));
    group
        .sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .measurement_time(Duration::from_secs(6));
    group.bench_with_input(BenchmarkId::from_parameter(n), &json, |b, json| {
        b.iter(|| black_box(History::from_json_str(json).unwrap()))
    });
    group.finish();
}

criterion_group!(benches, bench_check, bench_parse);
criterion_main!(benches);
