//! `stm-benchmarks`: the one command behind BENCHMARKS.md.
//!
//! It runs this crate's criterion benches (`cargo bench -p stm-benchmarks`)
//! as a child process with criterion's results sent to a directory of their
//! own, then the interleaved queue lines (`benches/interleaved.rs`) into the
//! same directory, reads them back, prints the report and writes it to
//! BENCHMARKS.md: whole, after every benchmark has succeeded, or not at all.
//!
//! Exit status: 0 when the report is written; 1 when a benchmark, the
//! results or the writing failed (the old file is left as it was); 2 on bad
//! arguments.

use clap::Parser;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use stm_benchmarks::machine::Machine;
use stm_benchmarks::report::{Mode, Report};
use stm_benchmarks::results::Results;

/// Measure the engine and the checker against sequential code, locks and
/// the published Rust STMs; print one table of ratios and write it, with
/// the machine and the targets met, to BENCHMARKS.md.
#[derive(Debug, Parser)]
#[command(name = "stm-benchmarks")]
struct Args {
    /// Seconds instead of minutes: short warm-up and measurement and 10
    /// samples per benchmark (noisy numbers; a check that all runs).
    #[arg(long)]
    quick: bool,
    /// Where to write the report [default: BENCHMARKS.md at the workspace
    /// root].
    #[arg(long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Run no benchmark: report the results of the last run again.
    #[arg(long, conflicts_with = "quick")]
    no_run: bool,
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("stm-benchmarks: {error}");
            ExitCode::from(1)
        }
    }
}

/// The workspace this crate belongs to.
fn workspace() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().unwrap_or(manifest).to_path_buf()
}

/// The cargo that runs us (`cargo run` sets `CARGO`), or the one on PATH.
fn cargo() -> OsString {
    std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into())
}

/// The build's target directory, as cargo resolves it (`CARGO_TARGET_DIR`
/// and configuration included).
fn target_directory(workspace: &Path) -> Result<PathBuf, String> {
    let out = Command::new(cargo())
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .current_dir(workspace)
        .output()
        .map_err(|e| format!("cannot run cargo metadata: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "cargo metadata failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    let metadata: serde_json::Value = serde_json::from_slice(&out.stdout)
        .map_err(|e| format!("cargo metadata printed no JSON: {e}"))?;
    metadata
        .get("target_directory")
        .and_then(serde_json::Value::as_str)
        .map(PathBuf::from)
        .ok_or_else(|| "cargo metadata named no target directory".to_string())
}

fn run(args: &Args) -> Result<(), String> {
    let workspace = workspace();
    let own = target_directory(&workspace)?.join("stm-benchmarks");
    let results_dir = own.join("criterion");
    let mode_file = own.join("mode");
    // The machine as it was when the run started, kept with the results.
    let machine_file = own.join("machine.json");
    let (mode, machine) = if args.no_run {
        let mode = match std::fs::read_to_string(&mode_file).map(|m| m.trim().to_string()) {
            Ok(m) if m == "quick" => Mode::QUICK,
            Ok(m) if m == "full" => Mode::FULL,
            _ => {
                return Err(format!(
                    "no finished run to report in {}: run without --no-run first",
                    own.display()
                ))
            }
        };
        let machine = std::fs::read_to_string(&machine_file)
            .map_err(|e| e.to_string())
            .and_then(|text| Machine::from_json(&text))
            .map_err(|e| {
                format!(
                    "{}: no description of the machine of the last run ({e}): run without \
                     --no-run",
                    machine_file.display()
                )
            })?;
        (mode, machine)
    } else {
        let machine = Machine::describe(&workspace);
        let mode = if args.quick { Mode::QUICK } else { Mode::FULL };
        run_benchmarks(&workspace, &own, &results_dir, mode)?;
        for (file, text) in [
            (&machine_file, machine.to_json()),
            (&mode_file, mode.name().to_string()),
        ] {
            std::fs::write(file, text)
                .map_err(|e| format!("cannot write {}: {e}", file.display()))?;
        }
        (mode, machine)
    };
    let results = Results::load(&results_dir).map_err(|e| e.to_string())?;
    let report = Report::build(&results).map_err(|e| e.to_string())?;
    let command = if mode.quick {
        "cargo run --release -p stm-benchmarks -- --quick"
    } else {
        "cargo run --release -p stm-benchmarks"
    };
    let markdown = report.to_markdown(&machine, mode, command);
    println!("\n{markdown}");
    let output = args
        .output
        .clone()
        .unwrap_or_else(|| workspace.join("BENCHMARKS.md"));
    write_whole(&output, &markdown)?;
    eprintln!("stm-benchmarks: wrote {}", output.display());
    Ok(())
}

/// Runs the criterion benches into a fresh `results_dir`, then the
/// interleaved queue lines, whose rounds go to the same directory.
fn run_benchmarks(
    workspace: &Path,
    own: &Path,
    results_dir: &Path,
    mode: Mode,
) -> Result<(), String> {
    // Stale results of benchmarks since removed must not reach the report,
    // nor a half run be reported as finished.
    let _ = std::fs::remove_file(own.join("mode"));
    if results_dir.exists() {
        std::fs::remove_dir_all(results_dir)
            .map_err(|e| format!("cannot clear {}: {e}", results_dir.display()))?;
    }
    std::fs::create_dir_all(results_dir)
        .map_err(|e| format!("cannot create {}: {e}", results_dir.display()))?;
    let mut criterion = Command::new(cargo());
    criterion
        .args([
            "bench",
            "-p",
            "stm-benchmarks",
            "--bench",
            "engine",
            "--bench",
            "checker",
            "--",
        ])
        .args(mode.criterion_args())
        .env("CRITERION_HOME", results_dir);
    let mut interleaved = Command::new(cargo());
    interleaved
        .args([
            "bench",
            "-p",
            "stm-benchmarks",
            "--bench",
            "interleaved",
            "--",
        ])
        .args(mode.interleaved_args())
        .arg("--output")
        .arg(results_dir.join(stm_benchmarks::interleaved::FILE_NAME));
    for mut command in [criterion, interleaved] {
        command.current_dir(workspace);
        eprintln!(
            "stm-benchmarks: {} mode: {} (results in {})",
            mode.name(),
            [command.get_program()]
                .into_iter()
                .chain(command.get_args())
                .map(|a| a.to_string_lossy())
                .collect::<Vec<_>>()
                .join(" "),
            results_dir.display()
        );
        let status = command
            .status()
            .map_err(|e| format!("cannot run cargo bench: {e}"))?;
        if !status.success() {
            return Err(format!(
                "the benchmarks failed ({status}); the report was not written"
            ));
        }
    }
    Ok(())
}

/// Writes `text` to `path` through a temporary file renamed over it, so the
/// file is either the old one or the whole new one.
fn write_whole(path: &Path, text: &str) -> Result<(), String> {
    let mut temporary = path.as_os_str().to_owned();
    temporary.push(".tmp");
    let temporary = PathBuf::from(temporary);
    std::fs::write(&temporary, text)
        .and_then(|()| std::fs::rename(&temporary, path))
        .map_err(|e| {
            let _ = std::fs::remove_file(&temporary);
            format!("cannot write {}: {e}", path.display())
        })
}
