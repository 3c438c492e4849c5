//! The `queue` workload's implementations, each run several times and
//! timed, to compare them quickly or profile one with `perf`:
//!
//! ```sh
//! cargo build --release -p stm-benchmarks --example profile_queue
//! ./target/release/examples/profile_queue run 2 20
//! ```
//!
//! Arguments: the implementation (`sequential`, `rayon`, `run`,
//! `run_ordered`), workers (default 1), runs (default 10). Prints the best
//! and the median run, in ns per item.

use std::time::Duration;
use stm_benchmarks::queue::{Queue, Rayon, Sequential, ITEMS};

fn main() {
    let mut args = std::env::args().skip(1);
    let implementation = args.next().unwrap_or_else(|| "run".to_string());
    let workers: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(1);
    let runs: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(10);
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
            let ordered = implementation == "run_ordered";
            (0..runs).map(|_| queue.run(workers, ordered)).collect()
        }
        other => {
            eprintln!("profile_queue: unknown implementation `{other}` (sequential, rayon, run, run_ordered)");
            std::process::exit(2);
        }
    };
    times.sort();
    let per_item = |d: Duration| d.as_nanos() as f64 / ITEMS as f64;
    println!(
        "{implementation} on {workers}: best {:.1} ns per item, median {:.1}",
        per_item(times[0]),
        per_item(times[times.len() / 2])
    );
}
