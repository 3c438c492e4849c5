//! The lines the queue's targets compare, run in turns (see
//! `stm_benchmarks::interleaved`): `queue` (the loop, `run` on 1 and 2
//! workers, `run_ordered` and rayon on 2) and `queue_total` with `commute`
//! (the loop, `run` and `run_ordered` on 2 workers). Prints each target's
//! ratio over the rounds and, with `--output FILE`, writes the rounds for
//! the report. Run alone: `cargo bench -p stm-benchmarks --bench
//! interleaved -- --rounds 30`; without `--bench` (as `cargo test
//! --benches` runs it) one short round checks that everything runs.

use clap::Parser;
use std::path::PathBuf;
use std::process::ExitCode;
use stm_benchmarks::interleaved::{Contender, Interleaved, QUEUE_TOTAL_RUNS_FACTOR};
use stm_benchmarks::names::*;
use stm_benchmarks::queue::{self, KeptQueues};
use stm_benchmarks::queue_total::{self, Update};

#[derive(Debug, Parser)]
#[command(name = "interleaved")]
struct Args {
    /// Rounds; every contender runs in each.
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u32).range(1..))]
    rounds: u32,
    /// Runs of each `queue` contender per round (`queue_total`'s runs are
    /// ten times shorter: it gets ten times as many).
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..))]
    runs: u32,
    /// Write the rounds here as JSON.
    #[arg(long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Set by `cargo bench`; without it, one round of one run.
    #[arg(long, hide = true)]
    bench: bool,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let (rounds, runs) = if args.bench {
        (args.rounds as usize, args.runs as usize)
    } else {
        (1, 1)
    };
    let mut interleaved = Interleaved::default();

    let mut sequential = queue::Sequential::new(queue::ITEMS);
    let mut rayon = queue::Rayon::new(queue::ITEMS, 2);
    let transactional = queue::Queue::new(queue::ITEMS);
    let kept = KeptQueues::default();
    interleaved.measure(
        &mut [
            Contender::new(QUEUE, SEQUENTIAL, 1, || sequential.run()),
            Contender::new(QUEUE, QUEUE_RUN, 1, || transactional.run(&kept, 1, false)),
            Contender::new(QUEUE, RAYON, 2, || rayon.run()),
            Contender::new(QUEUE, QUEUE_RUN, 2, || transactional.run(&kept, 2, false)),
            Contender::new(QUEUE, QUEUE_RUN_ORDERED, 2, || {
                transactional.run(&kept, 2, true)
            }),
        ],
        rounds,
        runs,
    );

    let mut sequential = queue_total::Sequential::new(queue_total::ITEMS);
    let transactional = queue_total::Queue::new(queue_total::ITEMS);
    let kept = KeptQueues::default();
    let commute = |ordered| transactional.run(&kept, 2, ordered, Update::Commute);
    interleaved.measure(
        &mut [
            Contender::new(QUEUE_TOTAL, SEQUENTIAL, 1, || sequential.run()),
            Contender::new(QUEUE_TOTAL, QUEUE_RUN_COMMUTE, 2, || commute(false)),
            Contender::new(QUEUE_TOTAL, QUEUE_RUN_ORDERED_COMMUTE, 2, || commute(true)),
        ],
        rounds,
        runs * QUEUE_TOTAL_RUNS_FACTOR as usize,
    );

    for (numerator, denominator) in [
        ("queue/run/1", "queue/sequential/1"),
        ("queue/run/2", "queue/rayon/2"),
        ("queue/run_ordered/2", "queue/rayon/2"),
        ("queue_total/run-commute/2", "queue_total/sequential/1"),
        (
            "queue_total/run_ordered-commute/2",
            "queue_total/sequential/1",
        ),
    ] {
        if let Some(s) = interleaved.ratio(numerator, denominator) {
            println!(
                "{numerator} / {denominator}: {:.3}x (median of {} rounds; {:.3}x-{:.3}x)",
                s.median, s.rounds, s.lowest, s.highest
            );
        }
    }
    if let Some(path) = &args.output {
        if let Err(error) = std::fs::write(path, interleaved.to_json()) {
            eprintln!("interleaved: cannot write {}: {error}", path.display());
            return ExitCode::FAILURE;
        }
    }
    ExitCode::SUCCESS
}
