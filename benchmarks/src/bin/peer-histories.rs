//! `peer-histories`: records histories of the peer STMs for
//! `stm-check check`, and measures how fast list-append histories are
//! checked beside the project's own format.
//!
//! ```text
//! peer-histories record rust-stm --out rust-stm.json
//! stm-check check rust-stm.json
//! peer-histories speed
//! ```

use clap::{Parser, Subcommand, ValueEnum};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;
use stm_benchmarks::peer_histories::{record, serial_list_append, Peer, RecordConfig};
use stm_check::history::{Checker, Recorded};

#[derive(Debug, Parser)]
#[command(name = "peer-histories")]
struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum PeerArg {
    /// The `stm` crate 0.4.
    RustStm,
    /// `kovan-stm` 0.2.0.
    KovanStm,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the list-append workload on a peer on real threads and write
    /// its history (format stm-history version 2).
    Record {
        /// The peer.
        #[arg(value_enum)]
        peer: PeerArg,
        /// Threads.
        #[arg(long, default_value_t = 4)]
        threads: usize,
        /// Transactions per thread.
        #[arg(long, default_value_t = 5_000)]
        transactions: usize,
        /// Keys (lists); fewer keys, more conflicts.
        #[arg(long, default_value_t = 8)]
        keys: usize,
        /// Seed of the operations.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// The history file to write.
        #[arg(long)]
        out: PathBuf,
    },
    /// Time parsing and checking of serial list-append histories and of
    /// version-1 histories of the same sizes.
    Speed {
        /// History sizes, in transactions.
        #[arg(long, value_delimiter = ',', default_values_t = [100_000usize, 1_000_000])]
        sizes: Vec<usize>,
        /// Runs per measurement (the best is shown).
        #[arg(long, default_value_t = 3)]
        runs: usize,
    },
}

fn main() -> ExitCode {
    match Args::parse().command {
        Command::Record {
            peer,
            threads,
            transactions,
            keys,
            seed,
            out,
        } => {
            if threads == 0 || keys == 0 {
                eprintln!("peer-histories: --threads and --keys must be at least 1");
                return ExitCode::from(2);
            }
            let peer = match peer {
                PeerArg::RustStm => Peer::RustStm,
                PeerArg::KovanStm => Peer::KovanStm,
            };
            let config = RecordConfig {
                threads,
                transactions,
                keys,
                seed,
            };
            let json = record(peer, config);
            if let Err(error) = std::fs::write(&out, json) {
                eprintln!("peer-histories: cannot write {}: {error}", out.display());
                return ExitCode::from(1);
            }
            ExitCode::SUCCESS
        }
        Command::Speed { sizes, runs } => {
            println!(
                "| history | transactions | parse (tx/s) | check (tx/s) | parse + check (tx/s) |"
            );
            println!("| --- | --- | --- | --- | --- |");
            for n in sizes {
                let v1 = stm_benchmarks::checker::history(n).to_json_string();
                // Keys grow with the history so that lists stay short, as
                // Elle's generators rotate keys.
                let lists = serial_list_append(n, (n / 10).max(8), 42);
                for (name, json) in [("stm-history v1", &v1), ("list-append v2", &lists)] {
                    let (parse, check) = measure(json, runs.max(1));
                    let rate = |seconds: f64| n as f64 / seconds;
                    println!(
                        "| {name} | {n} | {:.3e} | {:.3e} | {:.3e} |",
                        rate(parse),
                        rate(check),
                        rate(parse + check)
                    );
                }
            }
            ExitCode::SUCCESS
        }
    }
}

/// The best times, in seconds, of parsing `json` and of checking it.
fn measure(json: &str, runs: usize) -> (f64, f64) {
    let mut checker = Checker::new();
    let (mut parse, mut check) = (f64::MAX, f64::MAX);
    for _ in 0..runs {
        let started = Instant::now();
        let recorded = Recorded::from_json_str(json).expect("a valid generated history");
        parse = parse.min(started.elapsed().as_secs_f64());
        let started = Instant::now();
        let report = checker.check_recorded(&recorded).expect("checkable");
        check = check.min(started.elapsed().as_secs_f64());
        assert!(report.is_valid(), "a serial history is valid:\n{report}");
    }
    (parse, check)
}
