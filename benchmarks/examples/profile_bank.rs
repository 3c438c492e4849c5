//! The `bank` workload on stm-core in a plain loop, to profile with `perf`:
//!
//! ```sh
//! cargo build --release -p stm-benchmarks --example profile_bank
//! perf record -g ./target/release/examples/profile_bank 20000000 2
//! ```
//!
//! Arguments: transfers per thread (default 20 million), threads (default 1).

use stm_benchmarks::bank::{NoWork, StmCore};
use stm_benchmarks::threads::run_threads;

fn main() {
    let mut args = std::env::args().skip(1);
    let transfers: u64 = args
        .next()
        .and_then(|a| a.parse().ok())
        .unwrap_or(20_000_000);
    let threads: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(1);
    let bank = StmCore::<NoWork>::new();
    let elapsed = run_threads(&bank, threads, transfers, 1);
    let all = transfers * threads as u64;
    println!(
        "{threads} thread(s): {:.1} ns per transfer, {:.2e} transfers/s",
        elapsed.as_nanos() as f64 / transfers as f64,
        all as f64 / elapsed.as_secs_f64()
    );
    assert_eq!(bank.total(), stm_benchmarks::bank::TOTAL);
}
