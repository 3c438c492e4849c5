//! Exploring a workload's interleavings: run it again and again under a
//! driver (shuttle random, PCT or DFS; loom; std threads), check each
//! execution's invariants and recorded history, and save the first failure
//! as a schedule file that `stm-check replay` reproduces, after shrinking
//! both the workload (fewer threads, transactions, operations: see
//! [Shrinking](self#shrinking) below) and the schedule (fewer context
//! switches, shortest prefix). With [`ExploreConfig::shard`], random and
//! PCT explore one shard of the seed's sharded layout, so that machines
//! share a search without talking to each other (see [`shard`]).
//!
//! # Shrinking
//!
//! A failure found by a shuttle driver is first shrunk as a workload: each
//! candidate of [`Workload::reductions`] (an invariant the failure does not
//! involve dropped, a thread, a step or queue item, an operation removed, a
//! constant simplified) is kept only if it still fails with the same kind
//! of failure ([`FailureSignature::reproduces`]: the same violated
//! assertions and invariants and anomaly classes, or fewer of them, and the
//! main one), and candidates are tried again on the smaller workload until
//! none is kept. A candidate is first run serially on a correct engine
//! (threads one after another, several orders): if that shows a failure
//! the original's serial runs do not (a `retry_unless` nothing wakes any
//! more, an invariant that only held with the removed part), the candidate
//! is meaningless and skipped; `equals` invariants that stated what the
//! original's threads leave are re-derived from the candidate's serial run.
//! The failure is then looked for by replaying the last failing schedule,
//! and if that does not fail alike, by exploring the candidate with the
//! same driver and seed for [`ExploreConfig::shrink_schedules`] schedules
//! (twice the number the original needed, if more). The whole search stops
//! after [`ExploreConfig::shrink_time`]. The schedule of the smallest
//! failing workload is then shrunk as before.

pub mod derive;
mod driver;
pub(crate) mod execution;
mod minimize;
pub mod shard;
pub mod swarm;

pub use driver::{DriverOutcome, LoomDriver, ShuttleDriver, StressDriver};
pub use minimize::WorkloadShrink;
pub use shard::{Shard, ShardError};
pub use swarm::{explore_swarm, SwarmConfig, SwarmSummary, SWARM_WORKLOAD};

use crate::check::SchedulerKind;
use crate::explanation::ExplainOptions;
use crate::record::fingerprint;
use crate::schedule::{
    replay_expecting, replay_loom, shrink, ConfirmedExecution, Divergence, Schedule, ScheduleFile,
    ScheduleFileError, ShrunkFrom, Target,
};
use crate::workload::{FailureSignature, Workload};
use driver::Driver;
use execution::ExecutionCheck;
use std::path::PathBuf;
use std::sync::Arc;

use std::time::{Duration, Instant};
use stm_core::platform::{Model, ModelPlatform};
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
    /// Replays shrinking the schedule may spend.
    pub shrink_budget: usize,
    /// Schedules each smaller candidate workload is explored for while the
    /// failing workload is shrunk (twice the number the failure first
    /// needed, if more); 0 shrinks only the schedule, not the workload.
    pub shrink_schedules: usize,
    /// How long shrinking the workload may take: no candidate is tried
    /// after it, and a candidate's exploration skips the executions that
    /// would start after it.
    pub shrink_time: Duration,
    /// An stm-core bug to inject, by name ([`injectable_bugs`]); only in
    /// builds with the `bug-injection` feature.
    pub injected_bug: Option<String>,
    /// Explore only this shard of the seed's sharded layout: `iterations`
    /// executions of it (see [`shard`]). Random and PCT only
    /// ([`shard_error`](Self::shard_error)); `None` explores unsharded, as
    /// before sharding existed.
    pub shard: Option<Shard>,
}

impl ExploreConfig {
    /// Why [`shard`](Self::shard) cannot be explored with this driver, if
    /// it cannot: DFS and loom enumerate executions rather than draw them
    /// from a seed, and stress runs real threads that nothing seeds, so
    /// only random and PCT are sharded.
    pub fn shard_error(&self) -> Option<String> {
        let shard = self.shard?;
        let driver = match self.driver {
            DriverKind::Shuttle(SchedulerKind::Random | SchedulerKind::Pct { .. }) => return None,
            DriverKind::Shuttle(SchedulerKind::Dfs) => "dfs enumerates schedules depth-first",
            DriverKind::Shuttle(SchedulerKind::Loom { .. }) | DriverKind::Loom { .. } => {
                "loom enumerates executions exhaustively"
            }
            DriverKind::Stress => "stress runs real threads, which no seed schedules",
        };
        Some(format!(
            "--shard {shard} needs a seeded scheduler (random or pct): {driver}, so its executions cannot be split by seed"
        ))
    }
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
            shrink_schedules: 300,
            shrink_time: Duration::from_secs(60),
            injected_bug: None,
            shard: None,
        }
    }
}

/// Progress so far, for a progress bar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Progress {
    /// Executions run.
    pub executions: usize,
    /// Executions that failed.
    pub violations: usize,
    /// While the failing workload is shrunk: the candidates tried so far.
    pub shrink_candidates: Option<usize>,
    /// The fingerprint of the history of the execution just checked
    /// ([`history_hash`](crate::record::history_hash)); `None` while
    /// shrinking. Which executions a run explored, as far as their
    /// histories tell (the shard tests compare them).
    pub history_hash: Option<String>,
}

/// A failure an exploration found.
#[derive(Debug, Clone)]
pub struct FoundFailure {
    /// What failed, explained, as first found.
    pub message: String,
    /// How the workload was shrunk (shuttle drivers, unless
    /// [`ExploreConfig::shrink_schedules`] is 0).
    pub shrink: Option<WorkloadShrink>,
    /// The saved schedule file (shuttle drivers only).
    pub file: Option<PathBuf>,
    /// Its contents.
    pub saved: Option<Box<ScheduleFile>>,
    /// For a failure on real threads (stress): how its recorded history
    /// was turned into a schedule, or why it was not.
    pub derivation: Option<Box<derive::Derivation>>,
}

/// A failure whose schedule, replayed, does not fail the same way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnconfirmedFailure {
    /// The failure the driver reported.
    pub message: String,
    /// What the replay of its schedule showed instead (`None`: it passed).
    pub replayed: Option<String>,
    /// The schedule's steps.
    pub steps: usize,
}

impl std::fmt::Display for UnconfirmedFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "internal error of stm-check: the exploration reported a failure that its own schedule ({} steps) does not reproduce, so it is neither counted as a violation nor saved. Reported:\n{}\nReplayed: {}\nPlease report this as a bug of stm-check, with the command that showed it.",
            self.steps,
            self.message,
            self.replayed.as_deref().unwrap_or("no failure"),
        )
    }
}

/// Replays a failure's `schedule` before it is reported: unless the
/// replay fails with the same `message`, the failure is not one of the
/// program under test.
pub(crate) fn confirm_failure(
    message: &str,
    schedule: &Schedule,
    replay: impl FnOnce(&Schedule) -> Option<String>,
) -> Result<(), UnconfirmedFailure> {
    let replayed = replay(schedule);
    if replayed.as_deref() == Some(message) {
        Ok(())
    } else {
        Err(UnconfirmedFailure {
            message: message.to_string(),
            replayed,
            steps: schedule.steps.len(),
        })
    }
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
    /// Executions that failed (the exploration stops at the first): 1 when
    /// [`failure`](Self::failure) is set, else 0.
    pub violations: usize,
    /// Executions cut short at the step bound (DFS only: a task spinning
    /// while DFS starves the one it waits for); neither passed nor failed,
    /// and not among [`schedules`](Self::schedules).
    pub cut_short: usize,
    /// A failure the driver reported that its own schedule does not
    /// reproduce: a bug of stm-check (or of the model checker), not of the
    /// workload or the engine. Never counted as a violation, never saved.
    pub internal_error: Option<UnconfirmedFailure>,
    /// Wall-clock time of the exploration (shrinking not included).
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
        shrunk_from: None,
    }
}

/// Explores `workload` as `config` says; `progress` is called after every
/// execution.
///
/// # Panics
///
/// If `config` asks for a shard its driver cannot explore
/// ([`ExploreConfig::shard_error`] says why; check it first).
pub fn explore(
    workload: &Workload,
    config: &ExploreConfig,
    progress: Arc<dyn Fn(Progress) + Send + Sync>,
) -> Result<ExploreSummary, ScheduleFileError> {
    if let Some(error) = config.shard_error() {
        panic!("{error}");
    }
    let check = ExecutionCheck::new(workload.clone(), config.stm)
        .with_injected_bug(config.injected_bug.clone())
        .with_progress(progress.clone());
    // A real-thread failure is kept, to be turned into a schedule.
    let stress = StressDriver::new(config.iterations);
    let driver: Box<dyn Driver> = match config.driver {
        DriverKind::Shuttle(SchedulerKind::Loom { preemption_bound }) => Box::new(LoomDriver {
            preemptions: preemption_bound,
            iterations: config.iterations,
        }),
        DriverKind::Shuttle(scheduler) => Box::new(ShuttleDriver {
            scheduler,
            iterations: config.iterations,
            seed: config.seed,
            shard: config.shard,
        }),
        DriverKind::Loom { preemptions } => Box::new(LoomDriver {
            preemptions,
            iterations: config.iterations,
        }),
        DriverKind::Stress => Box::new(stress.clone()),
    };
    let started = Instant::now();
    let outcome = driver.explore(&check);
    // Exploration only: shrinking is reported on its own.
    let elapsed = started.elapsed();
    let counts = check.counts();
    let mut internal_error = None;
    let failure = match outcome {
        DriverOutcome::Passed => None,
        DriverOutcome::Failed {
            message,
            schedule: None,
            loom_path: None,
            ..
        } if stress.failure.lock().is_ok_and(|f| f.is_some()) => {
            let real = stress
                .failure
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .take()
                .expect("checked just above");
            let mut info = driver.info();
            info.injected_bug = config.injected_bug.clone();
            Some(derive::save_real_failure(
                workload,
                config,
                info,
                message,
                &real,
                counts.executions,
                &progress,
            )?)
        }
        DriverOutcome::Failed {
            message,
            schedule: None,
            loom_path: None,
            ..
        } => Some(FoundFailure {
            message,
            shrink: None,
            file: None,
            saved: None,
            derivation: None,
        }),
        // Loom's failures are saved as found, with loom's path to them;
        // the check's last execution is the failing one.
        DriverOutcome::Failed {
            message,
            schedule: None,
            loom_path: Some(path),
            ..
        } => {
            let mut info = driver.info();
            info.injected_bug = config.injected_bug.clone();
            let saved = ScheduleFile::for_loom(
                workload_target(workload),
                info,
                config.stm,
                message.clone(),
                check.last_history_hash(),
                path,
            );
            let file = saved.save_new(&config.regressions, &workload.name)?;
            Some(FoundFailure {
                message,
                shrink: None,
                file: Some(file),
                saved: Some(Box::new(saved)),
                derivation: None,
            })
        }
        DriverOutcome::Failed {
            message,
            schedule: Some(schedule),
            execution,
            ..
        } => {
            // A failure is reported only if its own schedule reproduces it.
            let confirmed = confirm_failure(&message, &schedule, |schedule| {
                replay_workload(
                    workload,
                    config.stm,
                    config.injected_bug.clone(),
                    schedule,
                    false,
                )
                .failure
            });
            match confirmed {
                Err(unconfirmed) => {
                    internal_error = Some(unconfirmed);
                    None
                }
                Ok(()) => {
                    let mut info = driver.info();
                    info.injected_bug = config.injected_bug.clone();
                    if let Some(shard) = &mut info.shard {
                        shard.execution = execution;
                    }
                    Some(shrink_and_save(
                        workload,
                        config,
                        info,
                        message,
                        schedule,
                        counts.executions,
                        &progress,
                        &workload.name,
                        None,
                    )?)
                }
            }
        }
    };
    // A failure that deadlocked or panicked never reached its checks: it
    // is an execution explored all the same.
    let failed_unfinished = failure.is_some() && counts.last_unfinished;
    Ok(ExploreSummary {
        driver: driver.info().scheduler,
        schedules: counts.executions + usize::from(failed_unfinished),
        distinct_histories: counts.histories.len(),
        attempts: counts.attempts,
        aborted_attempts: counts.aborted_attempts,
        violations: usize::from(failure.is_some()),
        cut_short: counts.cut_short,
        internal_error,
        elapsed,
        failure,
    })
}

/// Shrinks a failing schedule of `workload` (found by `driver`, which
/// carries the injected bug): the workload first, when `config`'s driver is
/// a shuttle scheduler and [`ExploreConfig::shrink_schedules`] is not 0, then
/// the schedule; replays the result for its history fingerprint, and saves
/// it as a new schedule file in `config.regressions`, named after `stem`:
/// what `explore` does with the first failure, and `import-fuzz` with a
/// fuzzer's crash. Uses `config`'s runtime settings, shrink budgets, folder
/// and injected bug.
pub fn save_failure(
    workload: &Workload,
    config: &ExploreConfig,
    driver: crate::schedule::DriverInfo,
    message: String,
    schedule: &Schedule,
    stem: &str,
) -> Result<FoundFailure, ScheduleFileError> {
    let quiet: Arc<dyn Fn(Progress) + Send + Sync> = Arc::new(|_| {});
    shrink_and_save(
        workload,
        config,
        driver,
        message,
        schedule.clone(),
        1,
        &quiet,
        stem,
        None,
    )
}

/// A schedule derived from a real execution: where it came from, and, for
/// one that replays that very execution, the fingerprint
/// ([`normalized_hash`](crate::history::shape::normalized_hash)) its
/// shrunk schedule must keep.
pub(crate) struct DerivedSchedule {
    from: crate::schedule::DerivedFrom,
    keep_history: Option<String>,
}

/// [`save_failure`] for a failure a driver found after `found_after`
/// schedules, telling `progress` how shrinking goes; `derived`: for a
/// schedule derived from a real execution.
#[allow(clippy::too_many_arguments)]
fn shrink_and_save(
    workload: &Workload,
    config: &ExploreConfig,
    info: crate::schedule::DriverInfo,
    message: String,
    schedule: Schedule,
    found_after: usize,
    progress: &Arc<dyn Fn(Progress) + Send + Sync>,
    stem: &str,
    derived: Option<DerivedSchedule>,
) -> Result<FoundFailure, ScheduleFileError> {
    // Candidates are explored with the driver that found the failure (the
    // shuttle drivers are the ones that record schedules).
    let minimized = match config.driver {
        DriverKind::Shuttle(scheduler) if config.shrink_schedules > 0 => Some(minimize::minimize(
            workload,
            &schedule,
            &message,
            found_after,
            scheduler,
            config,
            &|tried| {
                progress(Progress {
                    executions: found_after,
                    violations: 1,
                    shrink_candidates: Some(tried),
                    history_hash: None,
                })
            },
        )),
        _ => None,
    };
    let (smallest, failing, smallest_message, shrunk_from) = match &minimized {
        Some(m) if m.report.kept > 0 => {
            let before = workload.size();
            let from = ShrunkFrom {
                name: workload.name.clone(),
                fingerprint: fingerprint(&workload.to_json_string()),
                threads: before.threads,
                transactions: before.transactions,
                operations: before.operations,
                variables: before.variables,
                failure: message.clone(),
            };
            (&m.workload, &m.schedule, m.message.clone(), Some(from))
        }
        _ => (workload, &schedule, message.clone(), None),
    };
    let quiet = ExecutionCheck::new(smallest.clone(), config.stm)
        .with_injected_bug(config.injected_bug.clone());
    let shrunk = match derived.as_ref().and_then(|d| d.keep_history.clone()) {
        // A schedule that replays the real execution stays one.
        Some(keep) => shrink(
            failing,
            &smallest_message,
            config.shrink_budget,
            derive::keeping_history(&quiet, keep),
        ),
        None => shrink(
            failing,
            &smallest_message,
            config.shrink_budget,
            quiet.panicking::<ShuttlePlatform>(),
        ),
    };
    let replayed = replay_workload(
        smallest,
        config.stm,
        config.injected_bug.clone(),
        &shrunk.schedule,
        false,
    );
    let target = workload_target(smallest).with_shrunk_from(shrunk_from);
    let mut shrink_report = minimized.map(|m| m.report);
    if let Some(report) = &mut shrink_report {
        report.context_switches = (schedule.context_switches(), shrunk.context_switches);
    }
    let mut saved = ScheduleFile::new(
        target,
        info,
        config.stm,
        smallest_message,
        ConfirmedExecution {
            history_hash: Some(replayed.history_hash),
            tasks: replayed.tasks,
        },
        &schedule,
        shrunk,
    );
    saved.explanation = replayed.explanation;
    saved.derived_from = derived.map(|d| d.from);
    let file = saved.save_new(&config.regressions, stem)?;
    Ok(FoundFailure {
        message,
        shrink: shrink_report,
        file: Some(file),
        saved: Some(Box::new(saved)),
        derivation: None,
    })
}

/// What one replay of a workload schedule showed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkloadReplay {
    /// The failure, explained, if the replay failed (for an execution that
    /// never finished, such as a deadlock, the model checker's message).
    pub failure: Option<String>,
    /// The kinds of failure it showed (empty if it passed).
    pub signature: FailureSignature,
    /// The fingerprint of the replayed history.
    pub history_hash: String,
    /// The step-by-step trace, when asked for.
    pub trace: Vec<String>,
    /// Where the replay stopped following the schedule, if it did.
    pub divergence: Option<Divergence>,
    /// The failing execution explained (its transactions per thread, the
    /// blocked tasks of a deadlock), if the replay failed; see
    /// [`explanation`](crate::explanation).
    pub explanation: Option<String>,
    /// The tasks the execution created (the highest task id, plus one).
    pub tasks: usize,
    /// The fingerprint of the replayed history with its threads numbered
    /// by first attempt ([`normalized_hash`](crate::history::shape::normalized_hash)):
    /// what is compared with the real execution a derived schedule came
    /// from.
    pub normalized_history_hash: String,
}

/// Replays `schedule` on `workload` once under shuttle.
pub fn replay_workload(
    workload: &Workload,
    stm: StmConfig,
    injected_bug: Option<String>,
    schedule: &Schedule,
    trace: bool,
) -> WorkloadReplay {
    observe(workload, stm, injected_bug, schedule, None, trace).0
}

/// Replays the execution a saved file (at `source`) holds, of `workload`,
/// once, on the runtime configuration the file records: under loom when
/// the file holds a loom path, under shuttle otherwise. With the file's
/// own injected bug, a replay that creates another number of tasks than
/// the file says diverges; with another bug (a regression replayed on the
/// correct engine), the engine's scheduling points may differ and only
/// the failure is compared.
pub fn replay_saved(
    source: &std::path::Path,
    workload: &Workload,
    file: &ScheduleFile,
    injected_bug: Option<String>,
    trace: bool,
) -> WorkloadReplay {
    let Some(path) = &file.loom_path else {
        let tasks = (injected_bug == file.driver.injected_bug).then_some(file.tasks);
        return observe(
            workload,
            file.stm_config(),
            injected_bug,
            &file.schedule,
            tasks,
            trace,
        )
        .0;
    };
    let mut check =
        ExecutionCheck::new(workload.clone(), file.stm_config()).with_injected_bug(injected_bug);
    if trace {
        check = check.traced();
    }
    let last = Arc::new(std::sync::Mutex::new(None));
    let (result, divergence) = ModelPlatform::run_under(Model::Loom, || {
        replay_loom(
            path,
            &source.display().to_string(),
            keep_last::<ModelPlatform>(&check, &last),
        )
    });
    finish_replay(&check, &last, result, divergence, file.tasks)
}

/// Replays `schedule` on `workload` once under shuttle (expecting
/// `expected_tasks` tasks, when given); also returns the schedule that
/// actually ran (past the end of `schedule`, or after a divergence, the
/// replay's fallback choices), which replays the same execution exactly.
pub(crate) fn observe(
    workload: &Workload,
    stm: StmConfig,
    injected_bug: Option<String>,
    schedule: &Schedule,
    expected_tasks: Option<usize>,
    trace: bool,
) -> (WorkloadReplay, Schedule) {
    let mut check = ExecutionCheck::new(workload.clone(), stm).with_injected_bug(injected_bug);
    if trace {
        check = check.traced();
    }
    let last = Arc::new(std::sync::Mutex::new(None));
    let run = replay_expecting(
        schedule,
        expected_tasks,
        keep_last::<ShuttlePlatform>(&check, &last),
    );
    let replay = finish_replay(&check, &last, run.result, run.divergence, run.tasks);
    (replay, run.executed)
}

/// Where a replay keeps its execution, once finished.
type LastExecution = Arc<std::sync::Mutex<Option<execution::Execution>>>;

/// One execution of `check` on `P` that keeps its result in `last` and
/// panics with its failure.
fn keep_last<P: stm_core::Platform>(
    check: &ExecutionCheck,
    last: &LastExecution,
) -> impl Fn() + Send + Sync + 'static {
    let (record, run) = (last.clone(), check.clone());
    move || {
        let execution = run.run_once::<P>();
        let failure = execution.failure.clone();
        *record.lock().unwrap_or_else(|p| p.into_inner()) = Some(execution);
        if let Some(failure) = failure {
            panic!("{failure}");
        }
    }
}

/// What a replay showed, from the execution it kept (or, if it never
/// finished, the model checker's message).
fn finish_replay(
    check: &ExecutionCheck,
    last: &LastExecution,
    result: Result<(), String>,
    divergence: Option<Divergence>,
    tasks: usize,
) -> WorkloadReplay {
    let finished = last.lock().unwrap_or_else(|p| p.into_inner()).take();
    let normalized_history_hash =
        crate::history::shape::normalized_hash(&check.last_history().unwrap_or_default());
    // Workload transactions and variables all come from the interpreter:
    // their source locations would say nothing. The interpreter spawns the
    // workload's threads first, in order: shuttle numbers them 1, 2, ...
    let explain = |failure: &Option<String>| {
        failure.as_deref().map(|failure| {
            let options = ExplainOptions {
                source_locations: false,
                task_names: (0..check.workload_threads())
                    .map(|thread| (thread as u64 + 1, format!("workload thread {thread}")))
                    .collect(),
                ..ExplainOptions::default()
            };
            crate::explanation::explain(&check.last_execution(), failure, None, &options)
        })
    };
    match finished {
        Some(execution) => WorkloadReplay {
            explanation: explain(&execution.failure),
            failure: execution.failure,
            signature: execution.signature,
            history_hash: execution.history_hash,
            trace: execution.trace,
            divergence,
            tasks,
            normalized_history_hash,
        },
        // The execution never finished: the model checker stopped it (a
        // deadlock) or the interpreter panicked.
        None => {
            let message = check.naming_broken_invariants(
                result
                    .err()
                    .unwrap_or_else(|| "the execution did not finish".to_string()),
            );
            WorkloadReplay {
                explanation: explain(&Some(message.clone())),
                signature: FailureSignature::of_panic(&message)
                    .with_broken_invariants(&check.last_broken_invariants()),
                failure: Some(message),
                history_hash: check.last_history_hash().unwrap_or_default(),
                trace: check.last_trace(),
                divergence,
                tasks,
                normalized_history_hash,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schedule::{replay, run_recorded, Outcome};
    use shuttle::scheduler::RandomScheduler;
    use std::sync::atomic::{AtomicBool, Ordering};

    /// Fails its first execution only: what a failure that does not
    /// replay looks like (a bug of the tool, or nondeterminism the model
    /// checker does not control).
    static FAILED_ONCE: AtomicBool = AtomicBool::new(false);

    fn fails_once() {
        let t = shuttle::thread::spawn(|| ());
        t.join().unwrap();
        if !FAILED_ONCE.swap(true, Ordering::SeqCst) {
            panic!("only the first time");
        }
    }

    #[test]
    fn a_failure_that_does_not_replay_is_an_internal_error_not_a_violation() {
        let Outcome::Failed(found) =
            run_recorded(RandomScheduler::new_from_seed(0, 10), fails_once)
        else {
            panic!("the first execution fails");
        };
        let unconfirmed = confirm_failure(&found.message, &found.schedule, |schedule| {
            replay(schedule, fails_once).0.err()
        })
        .unwrap_err();
        assert_eq!(unconfirmed.message, "only the first time");
        assert_eq!(unconfirmed.replayed, None);
        let text = unconfirmed.to_string();
        assert!(text.starts_with("internal error of stm-check"), "{text}");
        assert!(
            text.contains("neither counted as a violation nor saved"),
            "{text}"
        );

        // A failure that replays is confirmed.
        let always = || panic!("every time");
        let Outcome::Failed(found) = run_recorded(RandomScheduler::new_from_seed(0, 10), always)
        else {
            panic!("it fails");
        };
        confirm_failure(&found.message, &found.schedule, |schedule| {
            replay(schedule, always).0.err()
        })
        .unwrap();
    }

    #[test]
    fn dfs_on_a_correct_engine_reports_no_violation_and_counts_what_it_cut_short() {
        let dir = tempfile::tempdir().unwrap();
        let config = ExploreConfig {
            driver: DriverKind::Shuttle(SchedulerKind::Dfs),
            iterations: 200,
            regressions: dir.path().to_path_buf(),
            ..ExploreConfig::default()
        };
        let workload = Workload::builtin("bank").unwrap();
        let summary = explore(&workload, &config, Arc::new(|_| {})).unwrap();
        assert!(summary.failure.is_none(), "{:?}", summary.failure);
        assert!(
            summary.internal_error.is_none(),
            "{:?}",
            summary.internal_error
        );
        assert_eq!(summary.violations, 0);
        assert!(summary.schedules + summary.cut_short <= 200);
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            0,
            "nothing saved"
        );
    }

    /// An engine invariant broken by an injected bug that leaves values and
    /// histories correct (`irrevocable-aborts`: every transaction runs
    /// irrevocably at once, and the first irrevocable attempt of each call
    /// aborts) is the violation explore reports, named and described, and
    /// shrinking keeps it as the failure's primary kind. (Tests run with
    /// debug assertions: the report comes first, then the assertion's
    /// panic; a release build reports it from the finished execution.)
    #[test]
    fn a_broken_engine_invariant_is_the_violation_explore_reports() {
        let dir = tempfile::tempdir().unwrap();
        let config = ExploreConfig {
            iterations: 20,
            stm: StmConfig {
                irrevocable_after: 0,
                ..StmConfig::default()
            },
            regressions: dir.path().to_path_buf(),
            shrink_budget: 20,
            shrink_schedules: 10,
            injected_bug: Some("irrevocable-aborts".into()),
            ..ExploreConfig::default()
        };
        let workload = Workload::builtin("bank").unwrap();
        let summary = explore(&workload, &config, Arc::new(|_| {})).unwrap();
        assert_eq!(summary.violations, 1);
        assert!(
            summary.internal_error.is_none(),
            "{:?}",
            summary.internal_error
        );
        let failure = summary.failure.expect("the broken invariant is a failure");
        let invariant = stm_core::Invariant::IrrevocableAborted;
        assert!(
            failure.message.starts_with(&format!(
                "engine invariant {} broken by T",
                invariant.name()
            )),
            "{}",
            failure.message
        );
        assert!(failure.message.contains(invariant.description()));
        let shrink = failure.shrink.expect("shuttle shrinks");
        assert_eq!(
            shrink.signature.primary(),
            Some(&crate::workload::FailureKind::EngineInvariant(
                invariant.name().to_string()
            )),
            "{}",
            shrink.signature
        );
        assert!(failure.file.is_some_and(|file| file.exists()));

        // Without the bug, the same exploration finds nothing.
        let clean = ExploreConfig {
            injected_bug: None,
            ..config
        };
        let summary = explore(&workload, &clean, Arc::new(|_| {})).unwrap();
        assert_eq!(summary.violations, 0);
    }
}
