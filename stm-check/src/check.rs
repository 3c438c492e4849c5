//! The library API for users' own tests, in the spirit of shuttle's
//! `check_random`: [`check`] runs a test closure under a scheduler, on a
//! fresh recorded runtime per execution, checks the test's assertions and
//! the serializability and opacity of the recorded history, and on failure
//! shrinks the schedule and saves it as a file that [`replay`] reproduces.
//!
//! Like proptest's regressions, saved files are replayed first: `check`
//! starts by replaying every file saved for its test, so `cargo test` keeps
//! guarding a fixed bug.

use crate::history;
use crate::record::{history_hash, HistoryRecorder};
use crate::schedule::{
    replay_expecting, run_recorded, shrink, ConfirmedExecution, Divergence, DriverInfo, Outcome,
    ScheduleFile, ScheduleFileError, Target,
};
use shuttle::scheduler::{DfsScheduler, PctScheduler, RandomScheduler, Scheduler};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use stm_core::{ShuttlePlatform, Stm, StmConfig};

/// The runtime a test closure gets: stm-core under shuttle.
pub type TestRuntime = Stm<ShuttlePlatform>;

/// Which scheduler explores the test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SchedulerKind {
    /// Uniformly random choices.
    Random,
    /// Probabilistic concurrency testing with this bug depth.
    Pct {
        /// The bug depth (2 or 3 finds most bugs).
        depth: usize,
    },
    /// Depth-first, exhaustive for small tests.
    Dfs,
}

/// How [`check`] explores a test.
#[derive(Debug, Clone)]
pub struct CheckConfig {
    /// The test's name: the saved files are `NAME.json`, `NAME-2.json`, ...
    pub name: String,
    /// The scheduler.
    pub scheduler: SchedulerKind,
    /// Executions to explore (at most).
    pub iterations: usize,
    /// The scheduler's seed.
    pub seed: u64,
    /// Where failing schedules are saved (default `stm-check-regressions`,
    /// relative to the package when run by `cargo test`).
    pub regressions: PathBuf,
    /// Settings of the runtime the test gets.
    pub stm: StmConfig,
    /// Replays that shrinking may spend.
    pub shrink_budget: usize,
}

impl CheckConfig {
    /// PCT (depth 3), 1,000 executions, seed 0, files in
    /// `stm-check-regressions/NAME*.json`.
    pub fn new(name: impl Into<String>) -> Self {
        CheckConfig {
            name: name.into(),
            scheduler: SchedulerKind::Pct { depth: 3 },
            iterations: 1_000,
            seed: 0,
            regressions: PathBuf::from("stm-check-regressions"),
            stm: StmConfig::default(),
            shrink_budget: 500,
        }
    }

    fn target(&self) -> Target {
        Target::Test {
            name: self.name.clone(),
        }
    }

    fn driver(&self) -> (Box<dyn Scheduler + Send>, DriverInfo) {
        match self.scheduler {
            SchedulerKind::Random => (
                Box::new(RandomScheduler::new_from_seed(self.seed, self.iterations)),
                DriverInfo {
                    scheduler: "random".into(),
                    seed: Some(self.seed),
                    depth: None,
                    injected_bug: None,
                },
            ),
            SchedulerKind::Pct { depth } => (
                Box::new(PctScheduler::new_from_seed(
                    self.seed,
                    depth,
                    self.iterations,
                )),
                DriverInfo {
                    scheduler: "pct".into(),
                    seed: Some(self.seed),
                    depth: Some(depth),
                    injected_bug: None,
                },
            ),
            SchedulerKind::Dfs => (
                Box::new(DfsScheduler::new(Some(self.iterations), false)),
                DriverInfo {
                    scheduler: "dfs".into(),
                    seed: None,
                    depth: None,
                    injected_bug: None,
                },
            ),
        }
    }
}

/// A passed check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckSummary {
    /// Saved schedules replayed first (all passed).
    pub replayed: usize,
    /// Executions explored.
    pub executions: usize,
}

/// A failed check: the failure, where it is saved, and how to replay it.
#[derive(Debug)]
pub struct CheckFailure {
    /// The failure message (an assertion, a deadlock, or the history
    /// checker's explanation).
    pub message: String,
    /// The saved schedule file.
    pub file: PathBuf,
    /// Whether the failure came from replaying an existing file (a known
    /// regression) rather than from exploration.
    pub regression: bool,
    /// The saved (shrunk) schedule file's contents.
    pub saved: Box<ScheduleFile>,
    /// Where the replay of a saved file stopped following it, when that is
    /// the failure (the test changed since the file was saved; the file is
    /// kept).
    pub divergence: Option<Divergence>,
}

impl fmt::Display for CheckFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = if self.divergence.is_some() {
            "a saved schedule no longer fits"
        } else if self.regression {
            "a saved schedule still fails"
        } else {
            "failure found"
        };
        writeln!(f, "stm-check: {what} in {}:", self.saved.target)?;
        writeln!(f, "{}", self.message)?;
        writeln!(
            f,
            "schedule: {} steps, {} context switches (found with {} steps, {} switches)",
            self.saved.schedule.steps.len(),
            self.saved.shrunk_switches,
            self.saved.recorded_steps,
            self.saved.recorded_switches
        )?;
        if self.divergence.is_some() {
            return write!(f, "kept {}", self.file.display());
        }
        write!(
            f,
            "saved to {}; it replays first on every run of this test, or alone with stm_check::replay",
            self.file.display()
        )
    }
}

/// Runs `test` as [`try_check`] does, and panics with the failure report
/// (including the saved file) if it fails.
pub fn check<F>(config: &CheckConfig, test: F) -> CheckSummary
where
    F: Fn(&TestRuntime) + Send + Sync + 'static,
{
    match try_check(config, test) {
        Ok(summary) => summary,
        Err(failure) => panic!("{failure}"),
    }
}

/// Replays the test's saved schedules, then explores it; on the first
/// failure, shrinks its schedule, saves it (never overwriting a file) and
/// returns it.
pub fn try_check<F>(config: &CheckConfig, test: F) -> Result<CheckSummary, CheckFailure>
where
    F: Fn(&TestRuntime) + Send + Sync + 'static,
{
    let test = Arc::new(test);
    let saved = ScheduleFile::saved_for(&config.regressions, &config.name);
    for path in &saved {
        let file = match ScheduleFile::load(path)
            .and_then(|file| file.expect_target(path, &config.target()).map(|()| file))
        {
            Ok(file) => file,
            Err(error) => panic!("stm-check: {error}"),
        };
        // The file's own runtime configuration: the one it failed with.
        let run = replay_expecting(
            &file.schedule,
            Some(file.tasks),
            recorded_run(file.stm_config(), test.clone(), None),
        );
        if let Some(divergence) = run.divergence {
            return Err(CheckFailure {
                message: ScheduleFile::diverged(path, divergence.clone()).to_string(),
                file: path.clone(),
                regression: true,
                saved: Box::new(file),
                divergence: Some(divergence),
            });
        }
        if let Err(message) = run.result {
            return Err(CheckFailure {
                message,
                file: path.clone(),
                regression: true,
                saved: Box::new(file),
                divergence: None,
            });
        }
    }
    let (scheduler, driver) = config.driver();
    let run = recorded_run(config.stm, test.clone(), None);
    match run_recorded(scheduler, run) {
        Outcome::Passed { executions } => Ok(CheckSummary {
            replayed: saved.len(),
            executions,
        }),
        Outcome::Failed(failure) => {
            let shrunk = shrink(
                &failure.schedule,
                &failure.message,
                config.shrink_budget,
                recorded_run(config.stm, test.clone(), None),
            );
            // The hash and task count saved are those of the shrunk
            // schedule's execution.
            let shrunk_hash = Arc::new(Mutex::new(None));
            let confirming = replay_expecting(
                &shrunk.schedule,
                None,
                recorded_run(config.stm, test, Some(shrunk_hash.clone())),
            );
            // Only the shrunk execution's own fingerprint may be saved: the
            // original schedule's history is another execution's.
            let confirmed = ConfirmedExecution {
                history_hash: slot_hash(&shrunk_hash),
                tasks: confirming.tasks,
            };
            let saved = ScheduleFile::new(
                config.target(),
                driver,
                config.stm,
                failure.message.clone(),
                confirmed,
                &failure.schedule,
                shrunk,
            );
            let file = saved
                .save_new(&config.regressions, &config.name)
                .unwrap_or_else(|error| {
                    panic!("stm-check: could not save the failing schedule: {error}")
                });
            Err(CheckFailure {
                message: failure.message,
                file,
                regression: false,
                saved: Box::new(saved),
                divergence: None,
            })
        }
    }
}

/// What replaying a saved schedule showed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Replayed {
    /// The failure message, if the replay failed.
    pub failure: Option<String>,
    /// The fingerprint of the replayed execution's history.
    pub history_hash: Option<String>,
    /// Whether the replay failed exactly as saved (same message, same
    /// history fingerprint when one was saved).
    pub reproduced: bool,
}

/// Replays a schedule file saved for `test` on a runtime configured as the
/// file says (refusing one saved for another test, in another format
/// version, or without the configuration; and failing with
/// [`ScheduleFileError::Diverged`] when the test no longer follows the
/// schedule, such as a test that starts another thread since).
pub fn replay<F>(path: &Path, name: &str, test: F) -> Result<Replayed, ScheduleFileError>
where
    F: Fn(&TestRuntime) + Send + Sync + 'static,
{
    let file = ScheduleFile::load(path)?;
    file.expect_target(
        path,
        &Target::Test {
            name: name.to_string(),
        },
    )?;
    let hash = Arc::new(Mutex::new(None));
    let run = replay_expecting(
        &file.schedule,
        Some(file.tasks),
        recorded_run(file.stm_config(), Arc::new(test), Some(hash.clone())),
    );
    if let Some(divergence) = run.divergence {
        return Err(ScheduleFile::diverged(path, divergence));
    }
    let history_hash = slot_hash(&hash);
    let failure = run.result.err();
    let reproduced = failure.as_deref() == Some(file.failure.as_str())
        && (file.history_hash.is_none() || file.history_hash == history_hash);
    Ok(Replayed {
        failure,
        history_hash,
        reproduced,
    })
}

/// Where an execution leaves its recorder, so that its history can be
/// fingerprinted after the run, also one that deadlocked.
type RecorderSlot = Arc<Mutex<Option<Arc<HistoryRecorder>>>>;

/// The fingerprint of the history in `slot`.
fn slot_hash(slot: &RecorderSlot) -> Option<String> {
    slot.lock()
        .unwrap_or_else(|p| p.into_inner())
        .as_ref()
        .map(|recorder| history_hash(&recorder.history()))
}

/// One execution: a fresh recorded runtime, the test, then the history
/// check. The recorder is left in `recorder_out` when given.
fn recorded_run<F>(
    stm: StmConfig,
    test: Arc<F>,
    recorder_out: Option<RecorderSlot>,
) -> impl Fn() + Send + Sync + Clone + 'static
where
    F: Fn(&TestRuntime) + Send + Sync + 'static,
{
    move || {
        let recorder = Arc::new(HistoryRecorder::new());
        if let Some(out) = &recorder_out {
            *out.lock().unwrap_or_else(|p| p.into_inner()) = Some(recorder.clone());
        }
        let runtime = TestRuntime::for_platform_with_recorder(stm, recorder.clone());
        test(&runtime);
        let history = recorder.history();
        let report = history::check(&history).expect("recorded histories are well-formed");
        if !report.is_valid() {
            let mut text = String::new();
            let _ = report.write_text(&mut text, 3);
            panic!("the recorded history is not serializable or not opaque:\n{text}");
        }
    }
}
