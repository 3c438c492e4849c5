//! `stm-check`: the command-line front of the toolkit. Each subcommand that
//! is more than argument plumbing has a `*_command.rs` file beside this one;
//! everything they call lives in the library (`stm_check::...`).

mod explore_command;
mod from_history_command;
mod import_command;

use clap::{Parser, Subcommand};
use explore_command::{explore_command, replay_command, ExploreArgs, SchedulerArg};
use from_history_command::{from_history_command, FromHistoryArgs};
use import_command::import_fuzz_command;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;
use stm_check::bank::{self, BankConfig, Budget};
use stm_check::history::{self, Recorded};

#[derive(Debug, Parser)]
#[command(
    name = "stm-check",
    version,
    about = "Explore and check stm-core transactions"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Explore interleavings of a workload under a scheduler, checking every
    /// execution's invariants and recorded history; the first violation is
    /// shrunk and saved as a schedule file for `replay`. Exit 0: no
    /// violation; 1: a violation; 2: bad input; 3: an internal error of
    /// stm-check (a failure that its own schedule does not reproduce).
    Explore {
        /// A built-in workload (bank, counter, read-skew, write-skew, queue,
        /// ordered), a workload file, or `swarm`: a new random program every
        /// --per-program executions, each using a random subset of the
        /// engine's features (commute, or_else, retry waiters, panics,
        /// queue items that add items, wide transactions, ...) and random
        /// runtime settings (irrevocable_after 0, 1 or 16, conflict reports
        /// on or off), all drawn from --seed.
        #[arg(long, default_value = "bank")]
        workload: String,
        /// With --workload swarm: executions of each program.
        #[arg(long, value_name = "N", default_value_t = 4)]
        per_program: usize,
        /// The driver.
        #[arg(long, value_enum, default_value_t = SchedulerArg::Pct)]
        scheduler: SchedulerArg,
        /// Schedules (executions) to explore, at most.
        #[arg(long, default_value_t = 1_000)]
        iterations: usize,
        /// Seed of the random and PCT schedulers.
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// PCT's bug depth, or loom's preemption bound.
        #[arg(long, default_value_t = 3)]
        depth: usize,
        /// Scale the workload to this many threads (its threads are
        /// templates, copied in turn; invariants stating exact values are
        /// derived again). Refused (exit 2) for 0, or for a workload whose
        /// scaling is fixed.
        #[arg(long, value_name = "T")]
        threads: Option<usize>,
        /// Before saving a failure, shrink the workload (fewer threads,
        /// transactions, operations), exploring each smaller candidate for
        /// this many schedules; 0 shrinks only the schedule.
        #[arg(long, value_name = "N", default_value_t = 300)]
        shrink_schedules: usize,
        /// Where a failing schedule is saved (never overwriting a file).
        #[arg(long, default_value = "stm-check-regressions")]
        regressions: PathBuf,
        /// Inject a classic STM bug into the engine (test builds with the
        /// `bug-injection` feature only), to see it found.
        #[arg(long, value_name = "BUG")]
        inject_bug: Option<String>,
        /// Explore only shard I of N (0-based: 0 <= I < N) of the seed's
        /// sharded layout: execution k of the whole run has a seed of its
        /// own, derived from --seed and k, and shard I runs the executions
        /// k = I, I+N, I+2N, ... (--iterations of them). N machines with
        /// the same seed explore disjoint executions; together, what one
        /// run of --shard 0/1 with N times the iterations explores. Random
        /// and pct only.
        #[arg(long, value_name = "I/N")]
        shard: Option<stm_check::explore::Shard>,
        /// Print the summary as JSON (no progress bar).
        #[arg(long)]
        json: bool,
    },
    /// Replay a saved schedule file exactly: the same interleaving, the same
    /// history (fingerprint compared), the checker's explanation, on the
    /// runtime configuration the file records. Exit 1 if it fails (as
    /// saved), 0 if it passes, 2 on a bad file or one the replay no longer
    /// follows (a divergence: the step where it left the schedule is
    /// named; the file is kept).
    Replay {
        /// The schedule file.
        file: PathBuf,
        /// Refuse the file unless it was recorded for this workload (name or
        /// file), or shrunk from it.
        #[arg(long)]
        workload: Option<String>,
        /// With --workload: the workload scaled to this many threads, as
        /// `explore --threads` ran it.
        #[arg(long, value_name = "T", requires = "workload")]
        threads: Option<usize>,
        /// Print every step: which thread began, read, committed or aborted.
        #[arg(long)]
        trace: bool,
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Turn a crash artifact of the `interleavings` fuzz target (a file
    /// under fuzz/artifacts/interleavings/) into a schedule file that
    /// `replay` reproduces: the input is decoded and run again with every
    /// scheduling choice recorded, then shrunk and saved like a failure
    /// `explore` found. Given a folder (fork mode's artifacts, a
    /// ClusterFuzzLite or OSS-Fuzz download), sorts its artifacts by kind of
    /// failure, imports the smallest of each kind and prints a table: kind,
    /// count, the file that replays it. Exit 0: saved; 2: a file cannot be
    /// read, nothing fails, or a schedule cannot be saved.
    ImportFuzz {
        /// The crash artifact, or a folder of them (searched with its
        /// subfolders; hidden files and reports such as *.log are skipped).
        artifact: PathBuf,
        /// The bug the fuzzer ran with (its STM_FUZZ_INJECT_BUG; test
        /// builds with the `bug-injection` feature only). Repeat it, or
        /// separate names with commas, for crashes of several bugs: each
        /// artifact counts under the first bug that makes it fail.
        #[arg(long, value_name = "BUG", value_delimiter = ',')]
        inject_bug: Vec<String>,
        /// Where the schedule files are saved (never overwriting a file).
        #[arg(long, default_value = "stm-check-regressions")]
        regressions: PathBuf,
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Turn a history recorded elsewhere (on real threads, JSON `stm-history`
    /// version 1) by a known workload into a schedule file that `replay`
    /// reproduces: shuttle is guided so that the engine's events happen in
    /// the recorded order; the schedule is confirmed by 10 replays (the same
    /// failure, a history equal to the recorded one in reads-from, commit
    /// order and abort causes), else a search near the recorded order looks
    /// for the same kind of failure. Exit 0: saved; 1: not reproduced (the
    /// history is copied beside where schedules go); 2: bad input.
    FromHistory {
        /// The history file.
        history: PathBuf,
        /// The workload that recorded it: a built-in name or a workload file.
        #[arg(long)]
        workload: String,
        /// The workload scaled to this many threads, as it ran.
        #[arg(long, value_name = "T")]
        threads: Option<usize>,
        /// The stm-core bug the history was recorded with (test builds with
        /// the `bug-injection` feature only).
        #[arg(long, value_name = "BUG")]
        inject_bug: Option<String>,
        /// Where the schedule file is saved (never overwriting a file).
        #[arg(long, default_value = "stm-check-regressions")]
        regressions: PathBuf,
        /// Seed of the search near the recorded order.
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Run the built-in bank workload on real threads: throughput, aborts and
    /// the check that money is neither created nor lost.
    Bank {
        /// Worker threads (default: every available core).
        #[arg(long)]
        threads: Option<usize>,
        /// Number of accounts.
        #[arg(long, default_value_t = 1024, value_parser = clap::value_parser!(u64).range(2..))]
        accounts: u64,
        /// Seconds to run (ignored when --transfers is given).
        #[arg(long, default_value_t = 2.0)]
        seconds: f64,
        /// Transfers per thread instead of a time budget.
        #[arg(long)]
        transfers: Option<u64>,
        /// Seed of the transfer choices.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Each thread audits the total (a read-only transaction over every
        /// account) after this many transfers; 0 disables audits.
        #[arg(long, default_value_t = 10_000)]
        audit_every: u64,
        /// Record conflicts and print the conflict report (which accounts
        /// made transfers abort, and the time lost).
        #[arg(long)]
        report: bool,
    },
    /// Check a recorded history (JSON, format `stm-history` version 1, or
    /// version 2 for histories from any system: per-key versions, reads by
    /// value, list-append, unknown outcomes, string names, no real time):
    /// serializability with Adya's anomaly classes, strict serializability,
    /// opacity and values. Exits 0 when valid, 1 on a violation, 2 when the
    /// file is not a valid history (or --dot names the input or a file that
    /// is not a regular one).
    Check {
        /// The history file.
        history: PathBuf,
        /// Also write the anomalies as a Graphviz graph to this file
        /// (replaced atomically, keeping its mode; never the input history,
        /// a link, a FIFO or a device). The verdict is printed even when
        /// it cannot be written; the exit code is then 2 unless a violation
        /// (1) was found.
        #[arg(long, value_name = "OUT.dot")]
        dot: Option<PathBuf>,
        /// Print the report as JSON instead of text.
        #[arg(long)]
        json: bool,
        /// Edge visits the cycle searches may spend beyond the first search
        /// of each component. Every cycle is found whatever the budget; a
        /// larger one proves more cycles shortest, and rules out a G-single
        /// where a G2-item is reported with "the search budget ran out".
        #[arg(long, value_name = "N", default_value_t = 20_000_000)]
        search_budget: u64,
    },
}

/// Anomalies shown in the text report; `--json` shows all.
const TEXT_ANOMALY_LIMIT: usize = 20;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Check {
            history,
            dot,
            json,
            search_budget,
        } => check_history(&history, dot.as_deref(), json, search_budget),
        Command::Explore {
            workload,
            scheduler,
            iterations,
            seed,
            depth,
            threads,
            shrink_schedules,
            regressions,
            inject_bug,
            shard,
            json,
            per_program,
        } => explore_command(ExploreArgs {
            workload,
            per_program,
            scheduler,
            iterations,
            seed,
            depth,
            threads,
            regressions,
            injected_bug: inject_bug,
            shrink_schedules,
            shard,
            json,
        }),
        Command::Replay {
            file,
            workload,
            threads,
            trace,
            json,
        } => replay_command(&file, workload.as_deref(), threads, trace, json),
        Command::ImportFuzz {
            artifact,
            inject_bug,
            regressions,
            json,
        } => import_fuzz_command(&artifact, inject_bug, regressions, json),
        Command::FromHistory {
            history,
            workload,
            threads,
            inject_bug,
            regressions,
            seed,
            json,
        } => from_history_command(FromHistoryArgs {
            history,
            workload,
            threads,
            injected_bug: inject_bug,
            regressions,
            seed,
            json,
        }),
        Command::Bank {
            threads,
            accounts,
            seconds,
            transfers,
            seed,
            audit_every,
            report,
        } => {
            let threads = match threads {
                Some(0) => return usage_error("--threads must be at least 1"),
                Some(n) => n,
                None => std::thread::available_parallelism().map_or(1, |n| n.get()),
            };
            let budget = match transfers {
                Some(n) => Budget::Transfers(n),
                None if seconds.is_finite() && seconds > 0.0 => {
                    Budget::Time(Duration::from_secs_f64(seconds))
                }
                None => return usage_error("--seconds must be a positive number"),
            };
            let config = BankConfig {
                accounts: accounts as usize,
                threads,
                budget,
                seed,
                audit_every,
                ..BankConfig::default()
            };
            let stm = stm_core::Stm::with_config(stm_core::StmConfig {
                conflict_reports: report,
                ..stm_core::StmConfig::default()
            });
            let outcome = bank::run(&stm, config);
            print_bank_report(&outcome);
            if report {
                print!("{}", stm.conflict_report());
            }
            if outcome.invariant_holds() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
    }
}

fn check_history(path: &Path, dot: Option<&Path>, json: bool, search_budget: u64) -> ExitCode {
    // A DOT file may only replace a regular file that is not the input: it
    // is refused before anything is read, so nothing is ever destroyed.
    if let Some(dot_path) = dot {
        if let Err(why) = dot_target_allowed(path, dot_path) {
            eprintln!("stm-check: refusing --dot {}: {why}", dot_path.display());
            return ExitCode::from(2);
        }
    }
    let report = match Recorded::load(path) {
        Ok(loaded) => history::Checker::with_search_budget(search_budget)
            .check_recorded(&loaded)
            .map_err(|error| history::LoadError::Invalid {
                path: path.to_path_buf(),
                error,
            }),
        Err(error) => Err(error),
    };
    let report = match report {
        Ok(report) => report,
        Err(error) => {
            eprintln!("stm-check: {error}");
            return ExitCode::from(2);
        }
    };
    // The verdict comes first: a DOT file that cannot be written must not
    // hide it.
    let text = if json {
        let mut text = serde_json::to_string_pretty(&report).expect("a report always serializes");
        text.push('\n');
        text
    } else {
        let mut text = format!("{}: ", path.display());
        // Writing to a String cannot fail.
        let _ = report.write_text(&mut text, TEXT_ANOMALY_LIMIT);
        text
    };
    // A reader that stops early (`| head`) closes the pipe: not a reason to
    // panic, and the exit code still tells the verdict.
    let mut stdout = std::io::stdout().lock();
    let _ = stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush());
    drop(stdout);
    let verdict = if report.is_valid() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    };
    if let Some(dot_path) = dot {
        if let Err(error) = write_atomically(dot_path, history::render_dot(&report).as_bytes()) {
            eprintln!("stm-check: cannot write {}: {error}", dot_path.display());
            // A violation stays exit 1; otherwise the missing file is an error.
            if report.is_valid() {
                return ExitCode::from(2);
            }
        }
    }
    verdict
}

/// Why `dot` may not be written over, if it may not: it is the input
/// history (the same file, by any name), or something other than a regular
/// file (a symbolic link, a FIFO, a device, a directory). A path that does
/// not exist yet is allowed.
fn dot_target_allowed(input: &Path, dot: &Path) -> Result<(), String> {
    let target = match std::fs::symlink_metadata(dot) {
        Ok(metadata) => metadata,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(error) => return Err(format!("cannot inspect it: {error}")),
    };
    let kind = target.file_type();
    if kind.is_symlink() {
        return Err("it is a symbolic link, not a regular file".to_string());
    }
    if !kind.is_file() {
        return Err("it is not a regular file (a directory, FIFO, socket or device)".to_string());
    }
    if let Ok(source) = std::fs::metadata(input) {
        if same_file(&source, &target) {
            return Err(format!("it is the input history {}", input.display()));
        }
    }
    Ok(())
}

/// Whether two files' metadata are of the same file (hard links included).
#[cfg(unix)]
fn same_file(a: &std::fs::Metadata, b: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::MetadataExt;
    a.dev() == b.dev() && a.ino() == b.ino()
}

#[cfg(not(unix))]
fn same_file(_: &std::fs::Metadata, _: &std::fs::Metadata) -> bool {
    false
}

/// Writes `contents` to a temporary file next to `path`, then renames it
/// over `path`: readers see the old file or the whole new one, never a part.
/// A file replaced keeps its permissions (the temporary file starts 0600).
fn write_atomically(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    let mut file = tempfile::NamedTempFile::new_in(dir)?;
    file.write_all(contents)?;
    match std::fs::metadata(path) {
        Ok(existing) => file.as_file().set_permissions(existing.permissions())?,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            set_default_permissions(file.as_file())?
        }
        Err(error) => return Err(error),
    }
    file.as_file().sync_all()?;
    file.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// A new file gets the permissions any new file gets (0666 less the umask),
/// not the temporary file's 0600.
#[cfg(unix)]
fn set_default_permissions(file: &std::fs::File) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    // std cannot read the umask (only libc's `umask`, which also sets it);
    // Linux shows it in /proc, elsewhere the usual 022 is assumed.
    let umask = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|line| line.strip_prefix("Umask:"))
                .and_then(|value| u32::from_str_radix(value.trim(), 8).ok())
        })
        .unwrap_or(0o022);
    file.set_permissions(std::fs::Permissions::from_mode(0o666 & !umask))
}

#[cfg(not(unix))]
fn set_default_permissions(_: &std::fs::File) -> std::io::Result<()> {
    Ok(())
}

fn usage_error(message: &str) -> ExitCode {
    eprintln!("stm-check: {message}");
    ExitCode::from(2)
}

fn print_bank_report(report: &bank::BankReport) {
    let stats = &report.stats;
    println!(
        "bank: {} threads, {} accounts, {:.2} s",
        report.config.threads,
        report.config.accounts,
        report.elapsed.as_secs_f64()
    );
    println!(
        "  throughput: {:.0} transfers/s ({} transfers)",
        report.throughput(),
        report.transfers
    );
    let abort_rate = stats.conflict_aborts() as f64 / stats.attempts.max(1) as f64;
    println!(
        "  attempts: {}, commits: {}, conflict aborts: {} ({:.3}% of attempts), irrevocable runs: {}",
        stats.attempts,
        stats.commits,
        stats.conflict_aborts(),
        100.0 * abort_rate,
        stats.irrevocable_runs
    );
    println!("  engine: {stats}");
    let verdict = if report.invariant_holds() {
        "PASS"
    } else {
        "FAIL"
    };
    println!(
        "  invariant (total preserved): {verdict}: expected {}, final {}, audits {} ({} failed)",
        report.expected_total, report.final_total, report.audits, report.failed_audits
    );
}
