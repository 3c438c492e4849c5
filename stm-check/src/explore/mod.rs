//! Exploring a workload's interleavings: run it again and again under a
//! driver (shuttle random, PCT or DFS; loom; std threads), check each
//! execution's invariants and recorded history, and save the first failure
//! as a shrunk schedule file that `stm-check replay` reproduces.

mod driver;
pub(crate) mod execution;

pub use driver::{DriverOutcome, LoomDriver, ShuttleDriver, StressDriver};

use crate::check::SchedulerKind;
use crate::record::fingerprint;
use crate::schedule::{shrink, DriverInfo, Schedule, ScheduleFile, ScheduleFileError, Target};
use crate::workload::Workload;
use driver::Driver;
use execution::ExecutionCheck;
use std::path::PathBuf;
use std::sync::Arc;

use std::time::{Duration, Instant};
use stm_core::{ShuttlePlatform, StmConfig};

/// Which driver explores.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DriverKind {
    /// One of shuttle's schedulers (schedules are recorded and replayable).
    Shuttle(SchedulerKind),
    /// Loom, within this preemption bound.
    Loom {
        /// The preemption bound.
        preemptions: usize,
    },
    /// Real threads.
    Stress,
}

/// How to explore.
#[derive(Debug, Clone)]
pub struct ExploreConfig {
    /// The driver.
    pub driver: DriverKind,
    /// Executions to run (at most).
    pub iterations: usize,
    /// Seed of the random and PCT schedulers.
    pub seed: u64,
    /// Settings of the runtime each execution gets.
    pub stm: StmConfig,
    /// Where a failing schedule is saved.
    pub regressions: PathBuf,
    /// Replays shrinking may spend.
    pub shrink_budget: usize,
    /// An stm-core bug to inject, by name ([`injectable_bugs`]); only in
    /// builds with the `bug-injection` feature.
    pub injected_bug: Option<String>,
}

/// The bugs this build can inject (none without the `bug-injection`
/// feature; this crate's own unit tests can inject every bug, since its
/// dev-dependency on stm-core enables stm-core's feature).
pub fn injectable_bugs() -> Vec<&'static str> {
    #[cfg(any(test, feature = "bug-injection"))]
    {
        stm_core::InjectedBug::ALL
            .iter()
            .map(|b| b.name())
            .collect()
    }
    #[cfg(not(any(test, feature = "bug-injection")))]
    {
        Vec::new()
    }
}

/// A recorded runtime with the named bug injected.
#[cfg(any(test, feature = "bug-injection"))]
fn injected_runtime<P: stm_core::Platform>(
    stm: StmConfig,
    recorder: Arc<crate::record::HistoryRecorder>,
    bug: &str,
) -> stm_core::Stm<P> {
    let bug =
        stm_core::InjectedBug::from_name(bug).expect("bug names are checked before exploring");
    stm_core::Stm::<P>::with_injected_bug(stm, Some(recorder), bug)
}

#[cfg(not(any(test, feature = "bug-injection")))]
fn injected_runtime<P: stm_core::Platform>(
    _stm: StmConfig,
    _recorder: Arc<crate::record::HistoryRecorder>,
    bug: &str,
) -> stm_core::Stm<P> {
    unreachable!(
        "bug `{bug}` asked of a build without bug injection; callers check injectable_bugs()"
    )
}

impl Default for ExploreConfig {
    fn default() -> Self {
        ExploreConfig {
            driver: DriverKind::Shuttle(SchedulerKind::Pct { depth: 3 }),
            iterations: 1_000,
            seed: 0,
            stm: StmConfig::default(),
            regressions: PathBuf::from("stm-check-regressions"),
            shrink_budget: 500,
            injected_bug: None,
        }
    }
}

/// Progress so far, for a progress bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// Executions run.
    pub executions: usize,
    /// Executions that failed.
    pub violations: usize,
}

/// A failure an exploration found.
#[derive(Debug, Clone)]
pub struct FoundFailure {
    /// What failed, explained.
    pub message: String,
    /// The saved schedule file (shuttle drivers only).
    pub file: Option<PathBuf>,
    /// Its contents.
    pub saved: Option<Box<ScheduleFile>>,
}

/// What an exploration did.
#[derive(Debug, Clone)]
pub struct ExploreSummary {
    /// The driver, as named in schedule files.
    pub driver: String,
    /// Executions (schedules) explored.
    pub schedules: usize,
    /// Distinct recorded histories among them.
    pub distinct_histories: usize,
    /// Transaction attempts recorded, and how many of them aborted.
    pub attempts: u64,
    /// Attempts that aborted.
    pub aborted_attempts: u64,
    /// Executions that failed (the exploration stops at the first).
    pub violations: usize,
    /// Wall-clock time.
    pub elapsed: Duration,
    /// The failure found, if any.
    pub failure: Option<FoundFailure>,
}

impl ExploreSummary {
    /// Schedules explored per second.
    pub fn schedules_per_second(&self) -> f64 {
        self.schedules as f64 / self.elapsed.as_secs_f64().max(f64::MIN_POSITIVE)
    }
}

/// What a schedule file records for a workload: its name, a fingerprint of
/// its JSON, and the workload itself, so that the file replays alone.
pub fn workload_target(workload: &Workload) -> Target {
    let json = workload.to_json_string();
    Target::Workload {
        name: workload.name.clone(),
        fingerprint: fingerprint(&json),
        workload: serde_json::from_str(&json).expect("a workload serializes to JSON"),
    }
}

/// Explores `workload` as `config` says; `progress` is called after every
/// execution.
pub fn explore(
    workload: &Workload,
    config: &ExploreConfig,
    progress: Arc<dyn Fn(Progress) + Send + Sync>,
) -> Result<ExploreSummary, ScheduleFileError> {
    let check = ExecutionCheck::new(workload.clone(), config.stm)
        .with_injected_bug(config.injected_bug.clone())
        .with_progress(progress);
    let driver: Box<dyn Driver> = match config.driver {
        DriverKind::Shuttle(scheduler) => Box::new(ShuttleDriver {
            scheduler,
            iterations: config.iterations,
            seed: config.seed,
        }),
        DriverKind::Loom { preemptions } => Box::new(LoomDriver {
            preemptions,
            iterations: config.iterations,
        }),
        DriverKind::Stress => Box::new(StressDriver {
            iterations: config.iterations,
        }),
    };
    let started = Instant::now();
    let outcome = driver.explore(&check);
    let elapsed = started.elapsed();
    let counts = check.counts();
    let failure = match outcome {
        DriverOutcome::Passed => None,
        DriverOutcome::Failed {
            message,
            schedule: None,
        } => Some(FoundFailure {
            message,
            file: None,
            saved: None,
        }),
        DriverOutcome::Failed {
            message,
            schedule: Some(schedule),
        } => {
            let mut info = driver.info();
            info.injected_bug = config.injected_bug.clone();
            Some(save_failure(
                workload,
                config,
                info,
                message,
                &schedule,
                &workload.name,
            )?)
        }
    };
    Ok(ExploreSummary {
        driver: driver.info().scheduler,
        schedules: counts.executions,
        distinct_histories: counts.histories.len(),
        attempts: counts.attempts,
        aborted_attempts: counts.aborted_attempts,
        violations: counts.violations,
        elapsed,
        failure,
    })
}

/// Shrinks a failing schedule of `workload` (found by `driver`, which
/// carries the injected bug), replays the shrunk one for its history
/// fingerprint, and saves it as a new schedule file in
/// `config.regressions`, named after `stem`: what `explore` does with the
/// first failure, and `import-fuzz` with a fuzzer's crash. Uses `config`'s
/// runtime settings, shrink budget, folder and injected bug.
pub fn save_failure(
    workload: &Workload,
    config: &ExploreConfig,
    driver: DriverInfo,
    message: String,
    schedule: &Schedule,
    stem: &str,
) -> Result<FoundFailure, ScheduleFileError> {
    let quiet = ExecutionCheck::new(workload.clone(), config.stm)
        .with_injected_bug(config.injected_bug.clone());
    let shrunk = shrink(
        schedule,
        &message,
        config.shrink_budget,
        quiet.panicking::<ShuttlePlatform>(),
    );
    let replayed = replay_workload(
        workload,
        config.stm,
        config.injected_bug.clone(),
        &shrunk.schedule,
        false,
    );
    let saved = ScheduleFile::new(
        workload_target(workload),
        driver,
        message.clone(),
        Some(replayed.history_hash),
        schedule,
        shrunk,
    );
    let file = saved.save_new(&config.regressions, stem)?;
    Ok(FoundFailure {
        message,
        file: Some(file),
        saved: Some(Box::new(saved)),
    })
}

/// What one replay of a workload schedule showed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkloadReplay {
    /// The failure, explained, if the replay failed.
    pub failure: Option<String>,
    /// The fingerprint of the replayed history.
    pub history_hash: String,
    /// The step-by-step trace, when asked for.
    pub trace: Vec<String>,
    /// Where the replay stopped following the schedule, if it did.
    pub divergence: Option<crate::schedule::Divergence>,
}

/// Replays `schedule` on `workload` once under shuttle. An execution that
/// never finishes (a deadlock, a panic in the engine) fails with shuttle's
/// message, and its history so far is fingerprinted and traced.
pub fn replay_workload(
    workload: &Workload,
    stm: StmConfig,
    injected_bug: Option<String>,
    schedule: &Schedule,
    trace: bool,
) -> WorkloadReplay {
    let slot: execution::RecorderSlot = Arc::default();
    let mut check = ExecutionCheck::new(workload.clone(), stm)
        .with_injected_bug(injected_bug)
        .with_recorder_slot(slot.clone());
    if trace {
        check = check.traced();
    }
    let last = Arc::new(std::sync::Mutex::new(None));
    let (record, run) = (last.clone(), check.clone());
    let (result, divergence) = crate::schedule::replay(schedule, move || {
        let execution = run.run_once::<ShuttlePlatform>();
        let failure = execution.failure.clone();
        *record.lock().unwrap_or_else(|p| p.into_inner()) = Some(execution);
        if let Some(failure) = failure {
            panic!("{failure}");
        }
    });
    let finished = last.lock().unwrap_or_else(|p| p.into_inner()).take();
    let execution = finished.unwrap_or_else(|| {
        let recorder = slot.lock().unwrap_or_else(|p| p.into_inner()).clone();
        execution::Execution {
            failure: Some(result.err().unwrap_or_else(|| {
                "the execution ended without finishing the workload".to_string()
            })),
            history_hash: crate::record::history_hash(
                &recorder.as_ref().map(|r| r.history()).unwrap_or_default(),
            ),
            trace: recorder.map(|r| r.trace()).unwrap_or_default(),
        }
    });
    WorkloadReplay {
        failure: execution.failure,
        history_hash: execution.history_hash,
        trace: execution.trace,
        divergence,
    }
}
