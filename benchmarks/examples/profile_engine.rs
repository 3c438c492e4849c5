//! The engine's fixed cost per transaction, in hot loops of one-TVar
//! transactions, to measure it or profile one part with `perf`:
//!
//! ```sh
//! cargo build --release -p stm-benchmarks --example profile_engine
//! ./target/release/examples/profile_engine all 10000000
//! perf record ./target/release/examples/profile_engine queue 10000000
//! ```
//!
//! Parts: `atomically` (`modify` of one TVar on one thread), `two-threads`
//! (two threads, each `modify`ing a TVar of its own: what the shared
//! version clock costs), `queue` (queue items doing the same `modify`, one
//! worker), `queue-own` (the same, each item `modify`ing a TVar of its own,
//! as the `queue` benchmark's items do: what cold TVars cost), `all`. Prints the time per transaction of each part run.

use std::convert::Infallible;
use std::time::Instant;
use stm_core::transaction::TransactionQueue;
use stm_core::{Std, Stm};

/// A part: its name, and the function that runs it `n` times and returns
/// the time per transaction in ns.
type Part = (&'static str, fn(usize) -> f64);

fn main() {
    let mut args = std::env::args().skip(1);
    let part = args.next().unwrap_or_else(|| "all".to_string());
    let n: usize = args
        .next()
        .and_then(|a| a.parse().ok())
        .unwrap_or(10_000_000);
    let parts: &[Part] = &[
        ("atomically", atomically),
        ("two-threads", two_threads),
        ("queue", queue),
        ("queue-own", queue_own),
    ];
    let mut ran = false;
    for (name, run) in parts {
        if part == "all" || part == *name {
            println!("{name}: {:.1} ns per transaction", run(n));
            ran = true;
        }
    }
    if !ran {
        eprintln!("profile_engine: unknown part `{part}` (atomically, two-threads, queue, queue-own, all)");
        std::process::exit(2);
    }
}

/// `n` transactions modifying one TVar on this thread.
fn atomically(n: usize) -> f64 {
    let stm = Stm::new();
    let counter = stm.new_tvar(0u64);
    let start = Instant::now();
    for _ in 0..n {
        stm.atomically(|tx| tx.modify(&counter, |v| v + 1));
    }
    let per = start.elapsed().as_nanos() as f64 / n as f64;
    assert_eq!(counter.load(), n as u64);
    per
}

/// `n` transactions over two threads, each modifying a TVar of its own.
fn two_threads(n: usize) -> f64 {
    let stm = Stm::new();
    let own: Vec<_> = (0..2).map(|_| stm.new_tvar(0u64)).collect();
    let start = Instant::now();
    std::thread::scope(|scope| {
        for tvar in &own {
            let stm = &stm;
            scope.spawn(move || {
                for _ in 0..n / 2 {
                    stm.atomically(|tx| tx.modify(tvar, |v| v + 1));
                }
            });
        }
    });
    let per = start.elapsed().as_nanos() as f64 / n as f64;
    assert!(own.iter().all(|t| t.load() == (n / 2) as u64));
    per
}

/// `n` queue items on one worker, each modifying the same TVar.
fn queue(n: usize) -> f64 {
    let stm = Stm::new();
    let counter = stm.new_tvar(0u64);
    let mut queue =
        TransactionQueue::<Std, Infallible>::with_runtime_and_error_type(&stm).workers(1);
    for _ in 0..n {
        let counter = counter.clone();
        queue.add(move |tx| Ok(tx.modify(&counter, |v| v + 1)?));
    }
    let start = Instant::now();
    queue.run().expect("no item fails");
    let per = start.elapsed().as_nanos() as f64 / n as f64;
    assert_eq!(counter.load(), n as u64);
    per
}

/// `n` queue items on one worker, each modifying a TVar of its own, made
/// before the run (in the order of the items, as a program's would be).
fn queue_own(n: usize) -> f64 {
    let stm = Stm::new();
    let tvars: Vec<_> = (0..n).map(|_| stm.new_tvar(0u64)).collect();
    let mut queue =
        TransactionQueue::<Std, Infallible>::with_runtime_and_error_type(&stm).workers(1);
    for tvar in &tvars {
        let tvar = tvar.clone();
        queue.add(move |tx| Ok(tx.modify(&tvar, |v| v + 1)?));
    }
    let start = Instant::now();
    queue.run().expect("no item fails");
    let per = start.elapsed().as_nanos() as f64 / n as f64;
    assert!(tvars.iter().all(|t| t.load() == 1));
    per
}
