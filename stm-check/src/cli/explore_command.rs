//! The `explore` and `replay` subcommands: argument handling, the progress
//! bar, and the text and JSON reports.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::json;
use std::io::IsTerminal as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use stm_check::check::SchedulerKind;
use stm_check::explore::{
    self, injectable_bugs, replay_saved, workload_target, DriverKind, ExploreConfig, FoundFailure,
    Shard, SwarmConfig, SWARM_WORKLOAD,
};
use stm_check::schedule::{ScheduleFile, Target};
use stm_check::workload::{Workload, BUILTIN_NAMES};
use stm_core::StmConfig;

/// The drivers `--scheduler` names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SchedulerArg {
    /// shuttle's uniformly random scheduler.
    Random,
    /// shuttle's PCT scheduler (probabilistic concurrency testing).
    Pct,
    /// shuttle's depth-first scheduler (exhaustive for small workloads).
    Dfs,
    /// loom's exhaustive exploration within a preemption bound.
    Loom,
    /// Real OS threads, run repeatedly.
    Stress,
}

/// Exit codes, as for `check`; and 3 for a bug of stm-check itself (a
/// failure its own schedule does not reproduce).
const VIOLATION: u8 = 1;
const BAD_INPUT: u8 = 2;
const INTERNAL_ERROR: u8 = 3;

pub(crate) fn bad_input(message: impl std::fmt::Display) -> ExitCode {
    eprintln!("stm-check: {message}");
    ExitCode::from(BAD_INPUT)
}

/// Refuses `--inject-bug` in builds that cannot inject bugs, and names the
/// bugs this one can when `bug` is not one of them.
pub(crate) fn check_injected_bug(bug: Option<&str>, command: &str) -> Result<(), ExitCode> {
    let Some(bug) = bug else {
        return Ok(());
    };
    let available = injectable_bugs();
    if available.is_empty() {
        return Err(bad_input(format!("--inject-bug needs a test build: cargo run -p stm-check --features bug-injection -- {command} ...")));
    }
    if !available.contains(&bug) {
        return Err(bad_input(format!(
            "unknown bug `{bug}`; this build can inject: {}",
            available.join(", ")
        )));
    }
    Ok(())
}

/// The command that replays the schedule file at `file`: plain
/// `stm-check replay`, or, for a failure that needs an injected bug, the
/// test build that can inject it.
pub(crate) fn replay_command_line(file: &Path, injected_bug: Option<&str>) -> String {
    let file = shell_quoted(&file.display().to_string());
    match injected_bug {
        None => format!("stm-check replay {file}"),
        Some(_) => format!("cargo run -p stm-check --features bug-injection -- replay {file}"),
    }
}

/// `word` as one shell word: as is if it has no character a shell treats
/// specially, else in single quotes.
fn shell_quoted(word: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "_-./=:,+@%".contains(c);
    if !word.is_empty() && word.chars().all(plain) {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

/// The replay command of a found failure, if it was saved.
fn found_replay_command(f: &FoundFailure) -> Option<String> {
    let bug = f
        .saved
        .as_ref()
        .and_then(|s| s.driver.injected_bug.as_deref());
    f.file.as_ref().map(|p| replay_command_line(p, bug))
}

/// A found failure as JSON: the message, the saved file and the command
/// that replays it, the saved schedule's measures, and what shrinking the
/// workload did.
pub(crate) fn failure_json(f: &FoundFailure) -> serde_json::Value {
    json!({
        "message": f.message,
        "file": f.file.as_ref().map(|p| p.display().to_string()),
        "replay": found_replay_command(f),
        "steps": f.saved.as_ref().map(|s| s.schedule.steps.len()),
        "recorded_steps": f.saved.as_ref().map(|s| s.recorded_steps),
        "context_switches": f.saved.as_ref().map(|s| s.shrunk_switches),
        "history_hash": f.saved.as_ref().and_then(|s| s.history_hash.clone()),
        "shard": f.saved.as_ref().and_then(|s| s.driver.shard),
        "shrunk_failure": f.saved.as_ref().map(|s| s.failure.clone()),
        "explanation": f.saved.as_ref().and_then(|s| s.explanation.clone()),
        "derived_from": f.saved.as_ref().and_then(|s| s.derived_from.clone()),
        "derivation": f.derivation.as_ref().map(|d| json!({
            "summary": d.summary(),
            "real_history_hash": d.real_hash,
            "real_history": d.real_history.as_ref().map(|p| p.display().to_string()),
            "reproduced": d.derived.as_ref().map(|x| match x.found {
                explore::derive::Found::Guided => "guided",
                explore::derive::Found::Search { .. } => "search",
            }),
            "exact": d.derived.as_ref().map(|x| x.exact),
            "guided_difference": d.guided_difference,
            "searched": d.searched,
        })),
        "shrink": f.shrink.as_ref().map(|s| json!({
            "signature": s.signature.kinds().map(|k| k.to_string()).collect::<Vec<_>>(),
            "threads": [s.before.threads, s.after.threads],
            "transactions": [s.before.transactions, s.after.transactions],
            "operations": [s.before.operations, s.after.operations],
            "variables": [s.before.variables, s.after.variables],
            "context_switches": [s.context_switches.0, s.context_switches.1],
            "candidates": s.candidates,
            "kept": s.kept,
            "steps": s.steps,
            "schedules": s.schedules,
            "seconds": s.elapsed.as_secs_f64(),
            "out_of_time": s.out_of_time,
        })),
    })
}

/// Prints a found failure: the violation, what shrinking did, where its
/// schedule was saved and the command that replays it (or why there is
/// none, for `driver`).
pub(crate) fn print_failure(failure: &FoundFailure, driver: &str) {
    println!("\nVIOLATION:\n{}", failure.message);
    if let Some(shrink) = &failure.shrink {
        println!("\n{}", shrink_line(shrink));
        if let Some(saved) = failure.saved.as_ref().filter(|_| shrink.kept > 0) {
            println!("the shrunk workload fails with:\n{}", saved.failure);
        }
    }
    match (&failure.file, &failure.saved) {
        (Some(file), Some(saved)) => {
            if let Some(explanation) = &saved.explanation {
                println!("\nthe saved execution:\n{explanation}");
            }
            println!(
                "\nsaved to {} (shrunk to {} of {} steps, {} context switches)",
                file.display(),
                saved.schedule.steps.len(),
                saved.recorded_steps,
                saved.shrunk_switches
            );
            if let Some(command) = found_replay_command(failure) {
                println!("replay it with: {command}");
            }
        }
        _ if failure.derivation.is_some() => {}
        _ => println!("\n({driver} records no replayable schedule; explore with a shuttle scheduler to save one)"),
    }
    if let Some(derivation) = &failure.derivation {
        println!("\n{}", derivation.summary());
        if let Some(path) = &derivation.real_history {
            println!(
                "the real history is saved in {} (check it with: stm-check check {})",
                path.display(),
                shell_quoted(&path.display().to_string())
            );
        }
    }
}

/// `stm-check replay` of a file a test saved: only the test has the code
/// that the schedule drives, so the file is refused (exit 2), saying what
/// replays it, with the failure and its explanation as saved.
fn refuse_test_file(path: &Path, file: &ScheduleFile, name: &str, json: bool) -> ExitCode {
    let shown = shell_quoted(&path.display().to_string());
    let cargo = format!("cargo test {}", shell_quoted(name));
    let library = format!(
        "stm_check::replay(Path::new({:?}), {name:?}, test)",
        path.display().to_string()
    );
    if json {
        let report = json!({
            "file": path.display().to_string(),
            "test": name,
            "replayable": false,
            "replay_with": [cargo, library],
            "failure": file.failure,
            "explanation": file.explanation,
        });
        println!("{}", serde_json::to_string_pretty(&report).expect("JSON"));
    } else {
        println!(
            "{shown} was saved by the test `{name}`, which failed with:\n{}",
            file.failure
        );
        if let Some(explanation) = &file.explanation {
            println!("{explanation}\n");
        }
    }
    bad_input(format!(
        "{}: this schedule was recorded for {}, whose code only that test has; replay it with `{cargo}` (the test replays its saved files first), or alone with `{library}` where `test` is the test's closure",
        path.display(),
        file.target
    ))
}

/// A built-in workload by name, or a workload file; scaled to `threads`
/// threads if given.
pub(crate) fn resolve_workload(
    name_or_path: &str,
    threads: Option<usize>,
) -> Result<Workload, String> {
    let workload = if let Some(workload) = Workload::builtin(name_or_path) {
        workload
    } else {
        let path = Path::new(name_or_path);
        if !path.exists() {
            return Err(format!(
                "unknown workload `{name_or_path}`: not a built-in ({}) and no such file",
                BUILTIN_NAMES.join(", ")
            ));
        }
        Workload::load(path).map_err(|e| e.to_string())?
    };
    match threads {
        None => Ok(workload),
        Some(threads) => {
            // Scaling runs the workload serially under shuttle, which prints
            // a line on stderr if a run deadlocks; the error says it all.
            let _quiet = quiet_stderr();
            workload
                .with_threads(threads)
                .map_err(|e| format!("--threads {threads}: {e}"))
        }
    }
}

/// Loom runs at most this many threads, the main one included.
const LOOM_MAX_THREADS: usize = 5;

/// The threads one execution of `workload` runs at once at most: the main
/// one, one per workload thread, and the extra workers of its queue runs.
fn threads_needed(workload: &Workload) -> usize {
    1 + workload
        .threads
        .iter()
        .map(|thread| {
            1 + thread
                .steps
                .iter()
                .map(|step| match step {
                    stm_check::workload::Step::Queue(queue) => queue.workers.saturating_sub(1),
                    stm_check::workload::Step::Atomically(_) => 0,
                })
                .max()
                .unwrap_or(0)
        })
        .sum::<usize>()
}

/// Silences stderr while the model checker replays failing executions
/// (shuttle prints a line for each); restored when dropped.
pub(crate) fn quiet_stderr() -> Option<gag::Gag> {
    gag::Gag::stderr().ok()
}

/// The arguments of `stm-check explore`.
#[derive(Debug, Clone)]
pub struct ExploreArgs {
    /// A built-in's name, a workload file, or `swarm`.
    pub workload: String,
    /// With `swarm`: executions of each program.
    pub per_program: usize,
    /// The driver.
    pub scheduler: SchedulerArg,
    /// Schedules to explore, at most.
    pub iterations: usize,
    /// Seed of the random and PCT schedulers.
    pub seed: u64,
    /// PCT's depth or loom's preemption bound.
    pub depth: usize,
    /// The workload scaled to this many threads.
    pub threads: Option<usize>,
    /// Where a failing schedule is saved.
    pub regressions: PathBuf,
    /// The bug to inject, by name.
    pub injected_bug: Option<String>,
    /// Schedules per candidate when shrinking the workload (0: do not).
    pub shrink_schedules: usize,
    /// Explore only this shard of the sharded layout.
    pub shard: Option<Shard>,
    /// Print JSON.
    pub json: bool,
}

/// `stm-check explore`.
pub fn explore_command(args: ExploreArgs) -> ExitCode {
    let ExploreArgs {
        workload,
        per_program,
        scheduler,
        iterations,
        seed,
        depth,
        threads,
        regressions,
        injected_bug,
        shrink_schedules,
        shard,
        json,
    } = args;
    if let Err(exit) = check_injected_bug(injected_bug.as_deref(), "explore") {
        return exit;
    }
    let swarm = workload == SWARM_WORKLOAD;
    if swarm {
        if threads.is_some() {
            return bad_input("--threads does not apply to --workload swarm: its programs have from 1 to 3 threads of their own");
        }
        if scheduler == SchedulerArg::Loom {
            return bad_input("--workload swarm runs with pct, random, dfs or stress: its programs can need more threads than loom models; explore a built-in or a saved program with --scheduler loom");
        }
        if per_program == 0 {
            return bad_input("--per-program must be at least 1");
        }
    }
    let workload = if swarm {
        // A placeholder for the checks below; each program is drawn later.
        stm_check::explore::swarm::program(seed, 0).workload
    } else {
        match resolve_workload(&workload, threads) {
            Ok(w) => w,
            Err(message) => return bad_input(message),
        }
    };
    if iterations == 0 {
        return bad_input("--iterations must be at least 1");
    }
    if scheduler == SchedulerArg::Loom && threads_needed(&workload) > LOOM_MAX_THREADS {
        return bad_input(format!(
            "--scheduler loom runs at most {} threads besides the main one; workload `{}` runs {} (threads and queue workers): use pct, random or dfs",
            LOOM_MAX_THREADS - 1,
            workload.name,
            threads_needed(&workload) - 1
        ));
    }
    let driver = match scheduler {
        SchedulerArg::Random => DriverKind::Shuttle(SchedulerKind::Random),
        SchedulerArg::Pct => DriverKind::Shuttle(SchedulerKind::Pct { depth }),
        SchedulerArg::Dfs => DriverKind::Shuttle(SchedulerKind::Dfs),
        SchedulerArg::Loom => DriverKind::Loom { preemptions: depth },
        SchedulerArg::Stress => DriverKind::Stress,
    };
    let config = ExploreConfig {
        driver,
        iterations,
        seed,
        stm: StmConfig::default(),
        regressions,
        shrink_budget: 500,
        shrink_schedules,
        shrink_time: ExploreConfig::default().shrink_time,
        injected_bug,
        shard,
    };
    // A swarm run shards its programs, which every driver can explore.
    if let Some(error) = config.shard_error().filter(|_| !swarm) {
        return bad_input(error);
    }
    let bar = if json || !std::io::stdout().is_terminal() {
        ProgressBar::hidden()
    } else {
        let bar =
            ProgressBar::with_draw_target(Some(iterations as u64), ProgressDrawTarget::stdout());
        bar.set_style(
            ProgressStyle::with_template(
                "{elapsed_precise} [{bar:30}] {pos}/{len} schedules ({per_sec}) {msg}",
            )
            .expect("a valid template")
            .progress_chars("=> "),
        );
        bar
    };
    let shown = bar.clone();
    let progress = Arc::new(move |p: explore::Progress| {
        shown.set_position(p.executions as u64);
        if let Some(tried) = p.shrink_candidates {
            shown.set_message(format!(
                "violation found; shrinking the workload ({tried} candidates tried)"
            ));
        } else if p.violations > 0 {
            shown.set_message(format!("violations: {}", p.violations));
        }
    });
    let (summary, programs) = {
        let _quiet = quiet_stderr();
        if swarm {
            let swarm_config = SwarmConfig {
                explore: config,
                executions_per_program: per_program,
            };
            match explore::explore_swarm(&swarm_config, progress) {
                Ok(run) => (Ok(run.summary), Some((run.programs, run.failing_program))),
                Err(error) => (Err(error), None),
            }
        } else {
            (explore::explore(&workload, &config, progress), None)
        }
    };
    bar.finish_and_clear();
    let summary = match summary {
        Ok(s) => s,
        Err(error) => return bad_input(format!("could not save the failing schedule: {error}")),
    };
    let workload_name = match &programs {
        Some((count, _)) => format!("swarm ({count} programs, {per_program} executions each)"),
        None => workload.name.clone(),
    };
    if json {
        let failure = summary.failure.as_ref().map(failure_json);
        let report = json!({
            "workload": if swarm { SWARM_WORKLOAD.to_string() } else { workload.name.clone() },
            "threads": workload.threads.len(),
            "programs": programs.as_ref().map(|(count, _)| count),
            "failing_program": programs.as_ref().and_then(|(_, failing)| failing.as_ref().map(|(k, p)| json!({
                "number": k,
                "features": p.features.names(),
                "irrevocable_after": p.stm.irrevocable_after,
                "conflict_reports": p.stm.conflict_reports,
            }))),
            "driver": summary.driver,
            "seed": seed,
            "shard": shard.map(|s| json!({"index": s.index, "count": s.count})),
            "schedules": summary.schedules,
            "distinct_histories": summary.distinct_histories,
            "attempts": summary.attempts,
            "aborted_attempts": summary.aborted_attempts,
            "violations": summary.violations,
            "cut_short": summary.cut_short,
            "internal_error": summary.internal_error.as_ref().map(ToString::to_string),
            "seconds": summary.elapsed.as_secs_f64(),
            "schedules_per_second": summary.schedules_per_second(),
            "failure": failure,
        });
        println!("{}", serde_json::to_string_pretty(&report).expect("JSON"));
    } else {
        let sharded = shard.map_or(String::new(), |s| {
            format!(
                ", shard {s} of seed {seed} ({} k = {}, {}, ... of the layout)",
                if swarm { "programs" } else { "executions" },
                s.execution(0),
                s.execution(1)
            )
        });
        println!(
            "explored {} schedules of workload `{}` with {}{sharded} in {:.2} s ({:.0} schedules/s)",
            summary.schedules,
            workload_name,
            summary.driver,
            summary.elapsed.as_secs_f64(),
            summary.schedules_per_second()
        );
        println!(
            "distinct histories: {}; transaction attempts: {} ({} aborted); violations: {}",
            summary.distinct_histories,
            summary.attempts,
            summary.aborted_attempts,
            summary.violations
        );
        if summary.cut_short > 0 {
            println!(
                "cut short at the step bound: {} executions (DFS kept running a task that spins until another one moves; they neither passed nor failed)",
                summary.cut_short
            );
        }
        if let Some((_, Some((k, program)))) = &programs {
            println!(
                "failing program: number {k} of seed {seed} ({})",
                program.workload.description
            );
        }
        if let Some(failure) = &summary.failure {
            print_failure(failure, &summary.driver);
        }
    }
    if let Some(internal) = &summary.internal_error {
        eprintln!("stm-check: {internal}");
        return ExitCode::from(INTERNAL_ERROR);
    }
    if summary.failure.is_some() {
        ExitCode::from(VIOLATION)
    } else {
        ExitCode::SUCCESS
    }
}

/// What shrinking did, in one line: sizes and context switches before and
/// after.
fn shrink_line(shrink: &explore::WorkloadShrink) -> String {
    let (before, after) = (shrink.before, shrink.after);
    format!(
        "shrunk: threads {} -> {}, transactions {} -> {}, operations {} -> {}, variables {} -> {}, context switches {} -> {} ({} of {} candidates kept, {} schedules, {:.2} s{}; failure kind: {})",
        before.threads,
        after.threads,
        before.transactions,
        after.transactions,
        before.operations,
        after.operations,
        before.variables,
        after.variables,
        shrink.context_switches.0,
        shrink.context_switches.1,
        shrink.kept,
        shrink.candidates,
        shrink.schedules,
        shrink.elapsed.as_secs_f64(),
        if shrink.out_of_time { ", out of time" } else { "" },
        shrink.signature,
    )
}

/// `stm-check replay`.
pub fn replay_command(
    path: &Path,
    expected_workload: Option<&str>,
    expected_threads: Option<usize>,
    trace: bool,
    json: bool,
) -> ExitCode {
    let file = match ScheduleFile::load(path) {
        Ok(f) => f,
        Err(error) => return bad_input(error),
    };
    let (workload, shrunk_from) = match &file.target {
        Target::Workload {
            workload,
            shrunk_from,
            ..
        } => (workload, shrunk_from),
        Target::Test { name } => return refuse_test_file(path, &file, name, json),
    };
    let workload = match Workload::from_json_str(&workload.to_string()) {
        Ok(w) => w,
        Err(error) => {
            return bad_input(format!(
                "{}: the embedded workload is invalid: {error}",
                path.display()
            ))
        }
    };
    if let Some(expected) = expected_workload {
        let expected = match resolve_workload(expected, expected_threads) {
            Ok(w) => w,
            Err(message) => return bad_input(message),
        };
        if let Err(error) = file.expect_target(path, &workload_target(&expected)) {
            return bad_input(error);
        }
    }
    // A failure found with an injected bug fails only with that bug: on
    // the correct engine it would pass and read as fixed.
    let bug = file.driver.injected_bug.clone();
    if let Some(recorded) = bug.as_deref() {
        let available = injectable_bugs();
        if !available.contains(&recorded) {
            let why = if available.is_empty() {
                "this build cannot inject bugs (stm-check's `bug-injection` feature is off)"
                    .to_string()
            } else {
                format!("this build can inject only: {}", available.join(", "))
            };
            return bad_input(format!(
                "{}: this schedule fails only with the injected bug `{recorded}`, and {why}; replaying it on the correct engine would say nothing. Replay it with: {}",
                path.display(),
                replay_command_line(path, Some(recorded))
            ));
        }
    }
    let replayed = {
        let _quiet = quiet_stderr();
        replay_saved(path, &workload, &file, bug, trace)
    };
    // A replay that stopped following the schedule ran another execution:
    // whatever it showed says nothing about the saved failure.
    if let Some(divergence) = replayed.divergence.clone() {
        return bad_input(ScheduleFile::diverged(path, divergence));
    }
    let identical = file.history_hash.as_deref() == Some(replayed.history_hash.as_str());
    let reproduced = replayed.failure.as_deref() == Some(file.failure.as_str());
    // A schedule derived from a real execution: is the replayed history
    // that execution's (threads numbered by first attempt)?
    let real_identical = file
        .derived_from
        .as_ref()
        .map(|d| d.history_hash == replayed.normalized_history_hash);
    if json {
        let report = json!({
            "file": path.display().to_string(),
            "workload": workload.name,
            "shrunk_from": shrunk_from.as_ref().map(|f| json!({"name": f.name, "fingerprint": f.fingerprint})),
            "driver": file.driver.scheduler,
            "shard": file.driver.shard,
            "reproduced": reproduced,
            "failure": replayed.failure,
            "history_hash": replayed.history_hash,
            "saved_history_hash": file.history_hash,
            "identical_history": identical,
            "derived_from": file.derived_from,
            "normalized_history_hash": replayed.normalized_history_hash,
            "identical_to_real_history": real_identical,
            "explanation": replayed.explanation,
            "trace": replayed.trace,
        });
        println!("{}", serde_json::to_string_pretty(&report).expect("JSON"));
    } else {
        println!(
            "replaying {}: workload `{}`, found by {}{}{}, {} steps",
            path.display(),
            workload.name,
            file.driver.scheduler,
            file.driver
                .seed
                .map_or(String::new(), |s| format!(" (seed {s})")),
            file.driver.shard.map_or(String::new(), |s| format!(
                ", shard {}/{}{}",
                s.index,
                s.count,
                s.execution
                    .map_or(String::new(), |k| format!(" at execution {k}"))
            )),
            file.schedule.steps.len()
        );
        if let Some(from) = shrunk_from {
            let size = workload.size();
            println!(
                "(shrunk from workload `{}`: threads {} -> {}, transactions {} -> {}, operations {} -> {}, variables {} -> {})",
                from.name,
                from.threads,
                size.threads,
                from.transactions,
                size.transactions,
                from.operations,
                size.operations,
                from.variables,
                size.variables
            );
        }
        if trace {
            println!("\ntrace (step, task: the scheduler's thread id with 0 the main thread, attempt, event):");
            for line in &replayed.trace {
                println!("{line}");
            }
            println!();
        }
        match &replayed.failure {
            Some(failure) if reproduced => println!("failure reproduced:\n{failure}"),
            Some(failure) => println!("a different failure:\n{failure}\n(saved: {})", file.failure),
            None => println!("the failure no longer occurs (saved: {})", file.failure),
        }
        if let Some(explanation) = &replayed.explanation {
            println!("{explanation}\n");
        }
        println!(
            "history fingerprint {} ({} the saved {})",
            replayed.history_hash,
            if identical {
                "identical to"
            } else {
                "differs from"
            },
            file.history_hash.as_deref().unwrap_or("(none)")
        );
        if let Some(from) = &file.derived_from {
            println!(
                "derived ({}) from an execution on {}: the replayed history, threads numbered by first attempt, is {} ({} the real one's {})",
                from.how,
                if from.driver == "stress" { "real threads".to_string() } else { format!("`{}`", from.driver) },
                replayed.normalized_history_hash,
                if real_identical == Some(true) { "identical to" } else { "differs from" },
                from.history_hash,
            );
        }
    }
    if replayed.failure.is_some() {
        ExitCode::from(VIOLATION)
    } else {
        ExitCode::SUCCESS
    }
}
