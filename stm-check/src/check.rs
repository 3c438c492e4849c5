//! The library API for users' own tests, in the spirit of shuttle's
//! `check_random`: [`check`] runs a test closure under a scheduler, on a
//! fresh recorded runtime per execution, checks the test's assertions and
//! the serializability and opacity of the recorded history, and on failure
//! shrinks the schedule and saves it as a file that [`replay`] reproduces.
//! The failure is told as the saved execution ([`explanation`]): where the
//! test panicked, each thread's transactions, the TVars involved.
//!
//! [`explanation`]: crate::explanation
//!
//! Like proptest's regressions, saved files are replayed first: `check`
//! starts by replaying every file saved for its test, so `cargo test` keeps
//! guarding a fixed bug.

use crate::explanation::{explain, user_panic_location, ExplainOptions};
use crate::history;
use crate::progress::CheckProgress;
use crate::record::{history_hash, HistoryRecorder};
use crate::schedule::{
    explore_loom, first_panic_location, replay_expecting, replay_loom, run_recorded, shrink,
    ConfirmedExecution, Divergence, DriverInfo, LoomOutcome, Outcome, ScheduleFile,
    ScheduleFileError, Target,
};
use shuttle::scheduler::{DfsScheduler, PctScheduler, RandomScheduler, Scheduler};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use stm_core::platform::{Model, ModelPlatform};
use stm_core::{Stm, StmConfig};

/// The runtime a test closure gets: stm-core under shuttle or loom,
/// whichever [`CheckConfig::scheduler`] names (the same closure runs under
/// both).
pub type TestRuntime = Stm<ModelPlatform>;

/// Which scheduler explores the test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SchedulerKind {
    /// shuttle, uniformly random choices.
    Random,
    /// shuttle, probabilistic concurrency testing with this bug depth.
    Pct {
        /// The bug depth (2 or 3 finds most bugs).
        depth: usize,
    },
    /// shuttle, depth-first, exhaustive for small tests.
    Dfs,
    /// loom: every interleaving within the bound, and the weak-memory
    /// behaviours of the C11 model (which shuttle, sequentially consistent,
    /// never shows).
    Loom {
        /// At most this many preemptions per execution (loom's
        /// `LOOM_MAX_PREEMPTIONS`; 2 or 3 finds most bugs).
        preemption_bound: usize,
    },
}

impl SchedulerKind {
    /// Loom, bounded as loom's own convention says: `LOOM_MAX_PREEMPTIONS`
    /// from the environment, 2 when it is unset (or not a number).
    ///
    /// ```
    /// use stm_check::SchedulerKind;
    ///
    /// std::env::remove_var("LOOM_MAX_PREEMPTIONS");
    /// assert_eq!(SchedulerKind::loom(), SchedulerKind::Loom { preemption_bound: 2 });
    /// ```
    pub fn loom() -> Self {
        let preemption_bound = std::env::var("LOOM_MAX_PREEMPTIONS")
            .ok()
            .and_then(|bound| bound.trim().parse().ok())
            .unwrap_or(2);
        SchedulerKind::Loom { preemption_bound }
    }

    /// How schedule files name this scheduler run with `seed`.
    pub(crate) fn info(self, seed: u64) -> DriverInfo {
        let (scheduler, seed, depth) = match self {
            SchedulerKind::Random => ("random", Some(seed), None),
            SchedulerKind::Pct { depth } => ("pct", Some(seed), Some(depth)),
            SchedulerKind::Dfs => ("dfs", None, None),
            SchedulerKind::Loom { preemption_bound } => ("loom", None, Some(preemption_bound)),
        };
        DriverInfo {
            scheduler: scheduler.into(),
            seed,
            depth,
            injected_bug: None,
            shard: None,
        }
    }

    /// The shuttle scheduler of this kind, for at most `iterations`
    /// executions (`None` for loom).
    pub(crate) fn shuttle_scheduler(
        self,
        seed: u64,
        iterations: usize,
    ) -> Option<Box<dyn Scheduler + Send>> {
        Some(match self {
            SchedulerKind::Random => Box::new(RandomScheduler::new_from_seed(seed, iterations)),
            SchedulerKind::Pct { depth } => {
                Box::new(PctScheduler::new_from_seed(seed, depth, iterations))
            }
            SchedulerKind::Dfs => Box::new(DfsScheduler::new(Some(iterations), false)),
            SchedulerKind::Loom { .. } => return None,
        })
    }
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
    /// Whether a check that runs longer than a few seconds shows its
    /// progress on stderr (default true; `STM_CHECK_PROGRESS=0` in the
    /// environment turns it off too). See [`crate::progress`].
    pub progress: bool,
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
            progress: true,
        }
    }

    fn target(&self) -> Target {
        Target::Test {
            name: self.name.clone(),
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
    /// The failing (shrunk) execution explained: where the test panicked,
    /// the blocked tasks of a deadlock, each thread's transactions (see
    /// [`explanation`](crate::explanation)).
    pub explanation: String,
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
        if !self.explanation.is_empty() {
            // The panic's location goes right under its message.
            let gap = if self.explanation.starts_with("panicked at") {
                ""
            } else {
                "\n"
            };
            writeln!(f, "{gap}{}\n", self.explanation)?;
        }
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
        let name = match &self.saved.target {
            Target::Test { name } => name.as_str(),
            Target::Workload { name, .. } => name.as_str(),
        };
        write!(
            f,
            "saved to {}; it replays first on every run of this test, or alone with stm_check::replay(Path::new({:?}), {name:?}, test)",
            self.file.display(),
            self.file.display().to_string()
        )
    }
}

/// Runs `test` as [`try_check`] does, and panics with the failure report
/// (including the saved file) if it fails; the panic is located at the
/// caller.
#[track_caller]
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
/// failure, shrinks its schedule (shuttle's; loom's are saved as found),
/// saves it (never overwriting a file) and returns it.
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
        let slot = RecorderSlot::default();
        let (result, divergence) = replay_file(path, &file, test.clone(), Some(slot.clone()));
        if let Some(divergence) = divergence {
            return Err(CheckFailure {
                message: ScheduleFile::diverged(path, divergence.clone()).to_string(),
                file: path.clone(),
                regression: true,
                saved: Box::new(file),
                explanation: String::new(),
                divergence: Some(divergence),
            });
        }
        if let Err(message) = result {
            let explanation = slot_explanation(&slot, &message);
            return Err(CheckFailure {
                message,
                file: path.clone(),
                regression: true,
                saved: Box::new(file),
                explanation,
                divergence: None,
            });
        }
    }
    let progress = CheckProgress::start(&config.name, config.iterations, config.progress);
    let explored = match config.scheduler {
        SchedulerKind::Loom { preemption_bound } => {
            explore_under_loom(config, preemption_bound, test, &progress)
        }
        shuttle => explore_under_shuttle(config, shuttle, test, &progress),
    };
    progress.finish();
    match explored {
        Ok(executions) => Ok(CheckSummary {
            replayed: saved.len(),
            executions,
        }),
        Err((message, saved)) => {
            let explanation = saved.explanation.clone().unwrap_or_default();
            let file = saved
                .save_new(&config.regressions, &config.name)
                .unwrap_or_else(|error| {
                    panic!("stm-check: could not save the failing schedule: {error}")
                });
            Err(CheckFailure {
                message,
                file,
                regression: false,
                saved,
                explanation,
                divergence: None,
            })
        }
    }
}

/// What exploring a test gave: the executions run, or the failure (as
/// first found) and the file to save.
type Explored = Result<usize, (String, Box<ScheduleFile>)>;

/// Explores the test with a shuttle scheduler; a failure's schedule is
/// shrunk, and the file keeps the shrunk execution's fingerprint.
fn explore_under_shuttle<F>(
    config: &CheckConfig,
    kind: SchedulerKind,
    test: Arc<F>,
    progress: &CheckProgress,
) -> Explored
where
    F: Fn(&TestRuntime) + Send + Sync + 'static,
{
    let scheduler = kind
        .shuttle_scheduler(config.seed, config.iterations)
        .expect("a shuttle scheduler");
    let run = progress.counting(recorded_run(config.stm, test.clone(), None));
    let failure = match ModelPlatform::run_under(Model::Shuttle, || run_recorded(scheduler, run)) {
        Outcome::Passed { executions } => return Ok(executions),
        Outcome::Failed(failure) => failure,
    };
    let (shrunk, confirmed, explanation) = ModelPlatform::run_under(Model::Shuttle, || {
        let shrunk = shrink(
            &failure.schedule,
            &failure.message,
            config.shrink_budget,
            recorded_run(config.stm, test.clone(), None),
        );
        // The hash and explanation saved are those of the shrunk schedule's
        // execution (the one the file replays): the original schedule's
        // history is another execution's.
        let slot = RecorderSlot::default();
        let confirming = replay_expecting(
            &shrunk.schedule,
            None,
            recorded_run(config.stm, test, Some(slot.clone())),
        );
        let explanation = slot_explanation(
            &slot,
            confirming
                .result
                .err()
                .as_deref()
                .unwrap_or(&failure.message),
        );
        let confirmed = ConfirmedExecution {
            history_hash: slot_hash(&slot),
            tasks: confirming.tasks,
        };
        (shrunk, confirmed, explanation)
    });
    let mut saved = ScheduleFile::new(
        config.target(),
        kind.info(config.seed),
        config.stm,
        failure.message.clone(),
        confirmed,
        &failure.schedule,
        shrunk,
    );
    saved.explanation = Some(explanation);
    Err((failure.message, Box::new(saved)))
}

/// Explores the test under loom; a failure is saved with loom's path to
/// it and the fingerprint of the failing execution's history.
fn explore_under_loom<F>(
    config: &CheckConfig,
    preemption_bound: usize,
    test: Arc<F>,
    progress: &CheckProgress,
) -> Explored
where
    F: Fn(&TestRuntime) + Send + Sync + 'static,
{
    let last = RecorderSlot::default();
    let run = progress.counting(recorded_run(config.stm, test, Some(last.clone())));
    let outcome = ModelPlatform::run_under(Model::Loom, || {
        explore_loom(preemption_bound, config.iterations, run)
    });
    match outcome {
        LoomOutcome::Passed { executions } => Ok(executions),
        LoomOutcome::Failed { message, path, .. } => {
            let info = SchedulerKind::Loom { preemption_bound }.info(config.seed);
            let mut saved = ScheduleFile::for_loom(
                config.target(),
                info,
                config.stm,
                message.clone(),
                slot_hash(&last),
                path,
            );
            saved.explanation = Some(slot_explanation(&last, &message));
            Err((message, Box::new(saved)))
        }
    }
}

/// Replays a saved file once, under the model checker that found it;
/// `Err` holds the failure, and a divergence says where the test stopped
/// following the file.
fn replay_file<F>(
    path: &Path,
    file: &ScheduleFile,
    test: Arc<F>,
    recorder_out: Option<RecorderSlot>,
) -> (Result<(), String>, Option<Divergence>)
where
    F: Fn(&TestRuntime) + Send + Sync + 'static,
{
    // The file's own runtime configuration: the one it failed with.
    let run = recorded_run(file.stm_config(), test, recorder_out);
    match &file.loom_path {
        Some(loom_path) => ModelPlatform::run_under(Model::Loom, || {
            replay_loom(loom_path, &path.display().to_string(), run)
        }),
        None => ModelPlatform::run_under(Model::Shuttle, || {
            let run = replay_expecting(&file.schedule, Some(file.tasks), run);
            (run.result, run.divergence)
        }),
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
    /// The replayed execution explained, if the replay failed (see
    /// [`explanation`](crate::explanation)).
    pub explanation: Option<String>,
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
    let hash = RecorderSlot::default();
    let (result, divergence) = replay_file(path, &file, Arc::new(test), Some(hash.clone()));
    let history_hash = slot_hash(&hash);
    if let Some(divergence) = divergence {
        return Err(ScheduleFile::diverged(path, divergence));
    }
    let failure = result.err();
    let explanation = failure
        .as_deref()
        .map(|message| slot_explanation(&hash, message));
    let reproduced = failure.as_deref() == Some(file.failure.as_str())
        && (file.history_hash.is_none() || file.history_hash == history_hash);
    Ok(Replayed {
        failure,
        history_hash,
        reproduced,
        explanation,
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

/// The execution recorded in `slot`, which failed with `failure`,
/// explained; call it right after the run (the panic's location is the
/// last run's on this thread).
fn slot_explanation(slot: &RecorderSlot, failure: &str) -> String {
    let execution = slot
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .as_ref()
        .map(|recorder| recorder.execution())
        .unwrap_or_default();
    let location = user_panic_location(failure, first_panic_location(), file!());
    explain(
        &execution,
        failure,
        location.as_deref(),
        &ExplainOptions::default(),
    )
}

/// One execution: a fresh recorded runtime, the test, then the engine's
/// invariants and the history check. The recorder is left in `recorder_out` when given.
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
        // Reported by a release build; a debug build has panicked already,
        // right after the report.
        let broken = recorder.broken_invariants();
        if !broken.is_empty() {
            let lines: Vec<String> = broken.iter().map(ToString::to_string).collect();
            panic!("stm-core broke its own invariants:\n{}", lines.join("\n"));
        }
        let history = recorder.history();
        let report = history::check(&history).expect("recorded histories are well-formed");
        if !report.is_valid() {
            let mut text = String::new();
            let _ = report.write_text(&mut text, 3);
            panic!("the recorded history is not serializable or not opaque:\n{text}");
        }
    }
}
