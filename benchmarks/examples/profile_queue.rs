//! The `queue` workload's implementations, each run several times and
//! timed, to compare them quickly or profile one with `perf`:
//!
//! ```sh
//! cargo build --release -p stm-benchmarks --example profile_queue
//! ./target/release/examples/profile_queue run 2 20
//! ./target/release/examples/profile_queue compare 15
//! ```
//!
//! Arguments: the implementation (`sequential`, `rayon`, `run`,
//! `run_ordered`, `total-run`, `total-run_ordered` (items commuting into
//! one total), `total-modify-run`, `total-modify-run_ordered` (items
//! updating it with `modify`)), workers (default 1), runs (default 10).
//! Prints the best and the median run, in ns per item.
//!
//! `one-worker ROUNDS` times the loop and `run` on one worker in
//! back-to-back pairs and prints the median ratio and the time `run` adds
//! per item.
//!
//! `bare WORKERS RUNS` times items that do nothing but update their own
//! variable: what the queue and the engine cost per item, with none of the
//! work to hide it.
//!
//! `compare ROUNDS` runs every implementation behind issue 12's five
//! targets once per round, interleaved, and prints for each target the
//! median over the rounds of the ratio measured within a round: on a noisy
//! machine, paired ratios vary far less than separate runs.

use std::convert::Infallible;
use std::time::{Duration, Instant};
use stm_benchmarks::queue::{KeptQueues, Queue, Rayon, Sequential, ITEMS};
use stm_benchmarks::queue_total::{self, Update};
use stm_core::transaction::TransactionQueue;
use stm_core::{Std, Stm, TVar};

fn main() {
    let mut args = std::env::args().skip(1);
    let implementation = args.next().unwrap_or_else(|| "run".to_string());
    if implementation == "compare" {
        let rounds = args.next().and_then(|a| a.parse().ok()).unwrap_or(15);
        compare(rounds);
        return;
    }
    if implementation == "one-worker" {
        let rounds = args.next().and_then(|a| a.parse().ok()).unwrap_or(40);
        one_worker(rounds);
        return;
    }
    let workers: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(1);
    let runs: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(10);
    let mut items = ITEMS;
    let mut times: Vec<Duration> = match implementation.as_str() {
        "sequential" => {
            let mut sequential = Sequential::new(ITEMS);
            (0..runs).map(|_| sequential.run()).collect()
        }
        "rayon" => {
            let mut rayon = Rayon::new(ITEMS, workers);
            (0..runs).map(|_| rayon.run()).collect()
        }
        "run" | "run_ordered" => {
            let queue = Queue::new(ITEMS);
            let kept = KeptQueues::default();
            let ordered = implementation == "run_ordered";
            (0..runs)
                .map(|_| queue.run(&kept, workers, ordered))
                .collect()
        }
        "total-run" | "total-run_ordered" | "total-modify-run" | "total-modify-run_ordered" => {
            items = queue_total::ITEMS;
            let queue = queue_total::Queue::new(items);
            let kept = KeptQueues::default();
            let ordered = implementation.ends_with("run_ordered");
            let update = if implementation.starts_with("total-modify") {
                Update::Modify
            } else {
                Update::Commute
            };
            (0..runs)
                .map(|_| queue.run(&kept, workers, ordered, update))
                .collect()
        }
        "bare" => bare(workers, runs),
        other => {
            eprintln!("profile_queue: unknown implementation `{other}` (sequential, rayon, run, run_ordered, total-run, total-run_ordered, total-modify-run, total-modify-run_ordered, bare, one-worker, compare)");
            std::process::exit(2);
        }
    };
    times.sort();
    let per_item = |d: Duration| d.as_nanos() as f64 / items as f64;
    println!(
        "{implementation} on {workers}: best {:.1} ns per item, median {:.1}",
        per_item(times[0]),
        per_item(times[times.len() / 2])
    );
}

/// The times of `runs` runs of items that only add their number to their
/// own variable.
fn bare(workers: usize, runs: usize) -> Vec<Duration> {
    let stm = Stm::new();
    let slots: Vec<TVar<u64>> = (0..ITEMS).map(|_| stm.new_tvar(0)).collect();
    let mut queue: TransactionQueue<'_, Std, Infallible> =
        TransactionQueue::with_runtime_and_error_type(&stm).workers(workers);
    (0..runs)
        .map(|_| {
            for (i, slot) in slots.iter().enumerate() {
                queue.add(move |tx| Ok(tx.modify(slot, |v| v.wrapping_add(i as u64))?));
            }
            let start = Instant::now();
            let summary = queue.run().unwrap_or_else(|_| panic!("no item fails"));
            let elapsed = start.elapsed();
            assert_eq!(summary.committed, ITEMS as u64);
            elapsed
        })
        .collect()
}

/// Prints the loop's time over `run`'s on one worker, as the median (and
/// quartiles) of ratios measured in back-to-back pairs: the finest view of
/// what the queue and the engine add to each item.
fn one_worker(rounds: usize) {
    let mut sequential = Sequential::new(ITEMS);
    let queue = Queue::new(ITEMS);
    let kept = KeptQueues::default();
    let mut ratios = Vec::with_capacity(rounds);
    let mut overheads = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        let loop_time = sequential.run().as_secs_f64();
        let run = queue.run(&kept, 1, false).as_secs_f64();
        ratios.push(loop_time / run);
        overheads.push((run - loop_time) * 1e9 / ITEMS as f64);
    }
    ratios.sort_by(f64::total_cmp);
    overheads.sort_by(f64::total_cmp);
    let quartile = |v: &[f64], q: usize| v[(v.len() - 1) * q / 4];
    println!(
        "run 1 worker / loop: median {:.3} (quartiles {:.3} {:.3}); added per item: median {:.1} ns (quartiles {:.1} {:.1})",
        quartile(&ratios, 2),
        quartile(&ratios, 1),
        quartile(&ratios, 3),
        quartile(&overheads, 2),
        quartile(&overheads, 1),
        quartile(&overheads, 3)
    );
}

/// Prints issue 12's five ratios as medians of per-round ratios.
fn compare(rounds: usize) {
    let mut sequential = Sequential::new(ITEMS);
    let mut rayon = Rayon::new(ITEMS, 2);
    let queue = Queue::new(ITEMS);
    let kept = KeptQueues::default();
    let mut total_sequential = queue_total::Sequential::new(queue_total::ITEMS);
    let total = queue_total::Queue::new(queue_total::ITEMS);
    let kept_total = KeptQueues::default();
    let names = [
        "run 1 worker / loop (>= 0.95)",
        "run 2 workers / rayon 2 (>= 0.95)",
        "run_ordered 2 workers / rayon 2 (>= 0.90)",
        "total, run-commute 2 workers / loop (>= 1.70)",
        "total, run_ordered-commute 2 workers / loop (>= 1.50)",
    ];
    let mut ratios: Vec<Vec<f64>> = vec![Vec::new(); names.len()];
    for _ in 0..rounds {
        let loop_time = sequential.run().as_secs_f64();
        let rayon_time = rayon.run().as_secs_f64();
        let run1 = queue.run(&kept, 1, false).as_secs_f64();
        let run2 = queue.run(&kept, 2, false).as_secs_f64();
        let ordered2 = queue.run(&kept, 2, true).as_secs_f64();
        // The total's runs are short: time several of each.
        let repeat = 5;
        let total_loop: f64 = (0..repeat)
            .map(|_| total_sequential.run().as_secs_f64())
            .sum();
        let commute: f64 = (0..repeat)
            .map(|_| {
                total
                    .run(&kept_total, 2, false, Update::Commute)
                    .as_secs_f64()
            })
            .sum();
        let commute_ordered: f64 = (0..repeat)
            .map(|_| {
                total
                    .run(&kept_total, 2, true, Update::Commute)
                    .as_secs_f64()
            })
            .sum();
        ratios[0].push(loop_time / run1);
        ratios[1].push(rayon_time / run2);
        ratios[2].push(rayon_time / ordered2);
        ratios[3].push(total_loop / commute);
        ratios[4].push(total_loop / commute_ordered);
    }
    for (name, mut values) in names.into_iter().zip(ratios) {
        values.sort_by(f64::total_cmp);
        println!(
            "{name}: median {:.2} (min {:.2}, max {:.2})",
            values[values.len() / 2],
            values[0],
            values[values.len() - 1]
        );
    }
}
