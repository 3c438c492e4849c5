//! The checker's speed: histories checked per second at 10k, 100k and 1M
//! transactions (and one history file parsed), and schedules explored per
//! second on the `bank` workload with shuttle PCT, with and without history
//! recording, beside the same workload as a bare shuttle test; and the
//! `bank` workload on real threads (stress) with and without a history
//! recorder, their ratio printed by the same run.

use criterion::{
    criterion_group, criterion_main, BenchmarkId, Criterion, SamplingMode, Throughput,
};
use std::hint::black_box;
use std::time::Instant;
use stm_benchmarks::checker::{
    bare_shuttle, explore_recorded, explore_unrecorded, history, stress_recorded,
    stress_unrecorded, HISTORY_SIZES, SCHEDULES,
};
use stm_benchmarks::names::*;
use stm_check::history::{check, Checker, History};

/// One way of exploring: `(schedules, seed)` to the schedules explored.
type Explore = fn(usize, u64) -> usize;

fn bench_check(c: &mut Criterion) {
    let mut group = c.benchmark_group(HISTORY_CHECK);
    for n in HISTORY_SIZES {
        let h = history(n);
        assert!(
            check(&h).unwrap().is_valid(),
            "the generated history is valid"
        );
        // Milliseconds to half a second an iteration: 10 samples, and flat
        // sampling (every sample the same number of iterations) for 1M,
        // or criterion's default 100 would take minutes.
        group
            .throughput(Throughput::Elements(n as u64))
            .sample_size(10);
        if n >= 1_000_000 {
            group.sampling_mode(SamplingMode::Flat);
        }
        // One checker reused from one check to the next, as a checker of
        // many histories is.
        let mut checker = Checker::new();
        group.bench_with_input(BenchmarkId::from_parameter(n), &h, |b, h| {
            b.iter(|| black_box(checker.check(h).unwrap()))
        });
    }
    group.finish();
}

fn bench_parse(c: &mut Criterion) {
    let mut group = c.benchmark_group(HISTORY_PARSE);
    let n = 100_000usize;
    let json = history(n).to_json_string();
    group
        .throughput(Throughput::Elements(n as u64))
        .sample_size(10)
        .sampling_mode(SamplingMode::Flat);
    group.bench_with_input(BenchmarkId::from_parameter(n), &json, |b, json| {
        b.iter(|| black_box(History::from_json_str(json).unwrap()))
    });
    group.finish();
}

fn bench_explore(c: &mut Criterion) {
    let mut group = c.benchmark_group(EXPLORE);
    group
        .throughput(Throughput::Elements(SCHEDULES as u64))
        .sample_size(10)
        .sampling_mode(SamplingMode::Flat);
    let ways: [(&str, Explore); 3] = [
        (EXPLORE_RECORDED, explore_recorded),
        (EXPLORE_UNRECORDED, explore_unrecorded),
        (EXPLORE_BARE, bare_shuttle),
    ];
    for (name, explore) in ways {
        group.bench_function(name, |b| {
            // The same seed every time: every iteration explores the same
            // schedules, and the three ways explore the same ones too.
            b.iter(|| assert_eq!(explore(SCHEDULES, 0), SCHEDULES))
        });
    }
    group.finish();
}

/// One way of running stress executions: how many to the number run.
type Stress = fn(usize) -> usize;

/// Stress executions per criterion iteration.
const STRESS_EXECUTIONS: usize = 20;

fn bench_stress(c: &mut Criterion) {
    let mut group = c.benchmark_group(STRESS);
    group
        .throughput(Throughput::Elements(STRESS_EXECUTIONS as u64))
        .sample_size(20);
    let ways: [(&str, Stress); 2] = [
        (STRESS_RECORDED, stress_recorded),
        (STRESS_UNRECORDED, stress_unrecorded),
    ];
    for (name, run) in ways {
        group.bench_function(name, |b| {
            b.iter(|| assert_eq!(run(STRESS_EXECUTIONS), STRESS_EXECUTIONS))
        });
    }
    group.finish();
    // The ratio, measured here too: rounds of each way in turn, so that
    // the machine's load drifts over both alike.
    let (mut recorded, mut unrecorded) = (0.0, 0.0);
    for _ in 0..10 {
        let started = Instant::now();
        stress_recorded(STRESS_EXECUTIONS * 5);
        recorded += started.elapsed().as_secs_f64();
        let started = Instant::now();
        stress_unrecorded(STRESS_EXECUTIONS * 5);
        unrecorded += started.elapsed().as_secs_f64();
    }
    let executions = (STRESS_EXECUTIONS * 50) as f64;
    println!(
        "stress/recording: {:.0} executions/s recorded, {:.0} unrecorded: recorded throughput is {:.1}% of unrecorded (recording costs {:.1}%)",
        executions / recorded,
        executions / unrecorded,
        100.0 * unrecorded / recorded,
        100.0 * (1.0 - unrecorded / recorded),
    );
}

criterion_group!(
    benches,
    bench_check,
    bench_parse,
    bench_explore,
    bench_stress
);
criterion_main!(benches);
