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
    // The ratio, measured here too: rounds of each way in turn (which
    // goes first alternating), each round's ratio kept, and the median
    // reported, so that a burst of load on a shared machine moves one
    // round, not the result.
    let executions = STRESS_EXECUTIONS * 5;
    let (mut cpu_recorded, mut cpu_unrecorded) = (0.0, 0.0);
    let mut time = |run: Stress, recording: bool| {
        let (started, cpu) = (Instant::now(), cpu_seconds());
        run(executions);
        let spent = cpu_seconds()
            .zip(cpu)
            .map_or(0.0, |(after, before)| after - before);
        if recording {
            cpu_recorded += spent;
        } else {
            cpu_unrecorded += spent;
        }
        started.elapsed().as_secs_f64()
    };
    let mut ratios = Vec::new();
    let (mut recorded, mut unrecorded) = (0.0, 0.0);
    for round in 0..21 {
        let (with, without) = if round % 2 == 0 {
            let with = time(stress_recorded, true);
            (with, time(stress_unrecorded, false))
        } else {
            let without = time(stress_unrecorded, false);
            (time(stress_recorded, true), without)
        };
        recorded += with;
        unrecorded += without;
        ratios.push(without / with);
    }
    ratios.sort_by(f64::total_cmp);
    let median = ratios[ratios.len() / 2];
    let all = (executions * ratios.len()) as f64;
    println!(
        "stress/recording: {:.0} executions/s recorded, {:.0} unrecorded; median of {} rounds: recorded throughput is {:.1}% of unrecorded (recording costs {:.1}%; rounds from {:.1}% to {:.1}%)",
        all / recorded,
        all / unrecorded,
        ratios.len(),
        100.0 * median,
        100.0 * (1.0 - median),
        100.0 * (1.0 - ratios[ratios.len() - 1]),
        100.0 * (1.0 - ratios[0]),
    );
    if cpu_recorded > 0.0 {
        println!(
            "stress/recording: CPU time (this process, all threads), which other processes' load does not inflate: {cpu_recorded:.2} s recorded, {cpu_unrecorded:.2} s unrecorded: recording costs {:.1}% of the unrecorded CPU time",
            100.0 * (cpu_recorded / cpu_unrecorded - 1.0),
        );
    }
}

/// The CPU time (user and system) this process has used, from
/// `/proc/self/stat` (Linux; `None` elsewhere), in seconds at the usual
/// 100 ticks a second.
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The fields after the command name, which is in parentheses.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i)?.parse::<f64>().ok();
    // utime and stime are fields 14 and 15, the 12th and 13th after it.
    Some((ticks(11)? + ticks(12)?) / 100.0)
}

criterion_group!(
    benches,
    bench_check,
    bench_parse,
    bench_explore,
    bench_stress
);
criterion_main!(benches);
