//! From an execution seen on real threads to a schedule that replays it:
//! the recorded history guides shuttle
//! ([`GuidedScheduler`](crate::schedule::GuidedScheduler)) so that the
//! engine's events happen again in the recorded order; the schedule that
//! ran is confirmed by replaying it ([`DeriveConfig::replays`] times: the
//! same kind of failure, a history equal to the real one in reads-from,
//! commit order and abort causes, and identical fingerprints every time).
//! Where the guided execution differs from the real one, the order is
//! repaired one divergence at a time with [`Burst`]s (another task runs a
//! few steps just before the due event), kept while they move the first
//! difference later ([`DeriveConfig::repair_runs`] executions at most).
//! When no guided execution is the real one (an effect of the
//! hardware's memory model that shuttle's sequential consistency cannot
//! show, or timing outside the engine's events), a seeded search of
//! executions close to the recorded order looks for the same kind of
//! failure instead, and says whether it found one.

use super::execution::{Execution, ExecutionCheck};
use super::{ExploreConfig, FoundFailure, Progress};
use crate::history::shape::{normalized_hash, HistoryShape};
use crate::history::History;
use crate::schedule::{
    event_owners, replay_expecting, run_once_recording, thread_mappings, Burst, DerivedFrom,
    DriverInfo, GuidePlan, GuidedScheduler, Schedule, ScheduleFileError,
};
use crate::workload::{FailureSignature, Workload};
use shuttle::scheduler::Scheduler;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use stm_core::{ShuttlePlatform, StmConfig};

/// An execution recorded elsewhere (on real threads), to reproduce.
#[derive(Debug, Clone)]
pub struct RealExecution {
    /// Its history.
    pub history: History,
    /// Why its attempts that did not commit ended, by attempt id, where it
    /// was recorded ([`RecordedExecution::abort_causes`](crate::record::RecordedExecution::abort_causes)).
    pub abort_causes: BTreeMap<u64, String>,
    /// How it failed, where known (a real-thread run of `explore`); a
    /// history alone says only which anomalies it shows.
    pub failure: Option<(String, FailureSignature)>,
}

impl RealExecution {
    /// The failure a reproduction must show: the recorded one, or, for a
    /// history alone, the anomalies the history checker finds in it.
    pub fn expected(&self) -> FailureSignature {
        match &self.failure {
            Some((_, signature)) => signature.clone(),
            None => crate::history::check(&self.history)
                .map(|report| FailureSignature::default().with_anomalies(&report))
                .unwrap_or_default(),
        }
    }

    /// Whether `signature` is the same kind of failure as this one: for a
    /// recorded failure, the same kinds or fewer and the same main one
    /// ([`FailureSignature::reproduces`]); for a history alone, every
    /// anomaly it shows, and a failure.
    fn same_kind(&self, signature: &FailureSignature, expected: &FailureSignature) -> bool {
        match &self.failure {
            Some(_) => signature.reproduces(expected),
            None => !signature.is_empty() && expected.kinds().all(|k| signature.contains(k)),
        }
    }
}

/// How to derive.
#[derive(Debug, Clone)]
pub struct DeriveConfig {
    /// The runtime configuration the execution ran with.
    pub stm: StmConfig,
    /// The stm-core bug it ran with, if any.
    pub injected_bug: Option<String>,
    /// Replays that must all agree before a schedule is confirmed.
    pub replays: usize,
    /// Thread mappings tried, at most (see
    /// [`thread_mappings`](crate::schedule::thread_mappings)).
    pub mappings: usize,
    /// Executions of the fallback search.
    pub search_schedules: usize,
    /// Detours per execution of the fallback search.
    pub search_depth: usize,
    /// Seed of the fallback search.
    pub seed: u64,
    /// Guided executions that may be spent repairing the guided order
    /// with bursts (see [`Burst`]) before the fallback search.
    pub repair_runs: usize,
}

impl Default for DeriveConfig {
    fn default() -> Self {
        DeriveConfig {
            stm: StmConfig::default(),
            injected_bug: None,
            replays: 10,
            mappings: 24,
            search_schedules: 200,
            search_depth: 3,
            seed: 0,
            repair_runs: 400,
        }
    }
}

/// How the schedule was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Found {
    /// The guided execution is the real one.
    Guided,
    /// The fallback search found the same kind of failure, in this
    /// execution of it (from 1).
    Search {
        /// Which execution of the search.
        execution: usize,
    },
}

/// A schedule that replays the failure, confirmed.
#[derive(Debug, Clone)]
pub struct Derived {
    /// The schedule.
    pub schedule: Schedule,
    /// The failure its replays show.
    pub message: String,
    /// How it was found.
    pub found: Found,
    /// Whether its history equals the real one event for event (the same
    /// [normalized fingerprint](crate::history::shape::normalized_hash)),
    /// not only in reads-from, commit order and abort causes.
    pub exact: bool,
    /// The fingerprint of its replays' histories (all the same).
    pub history_hash: String,
}

/// What deriving a schedule from a real execution showed.
#[derive(Debug, Clone)]
pub struct Derivation {
    /// The [normalized fingerprint](crate::history::shape::normalized_hash)
    /// of the real history.
    pub real_hash: String,
    /// Where the best guided execution first differed from the real one,
    /// if no guided execution was it; or why its replays were not
    /// confirmed.
    pub guided_difference: Option<String>,
    /// The schedule, if one reproduces the failure.
    pub derived: Option<Derived>,
    /// Executions the fallback search ran (0 if it did not run).
    pub searched: usize,
    /// Where the real history was saved (for `stm-check check`), if it was.
    pub real_history: Option<PathBuf>,
    /// The replays that confirmed the schedule, all alike.
    pub replays: usize,
}

impl Derivation {
    /// One paragraph for the user: how the failure was reproduced, or why
    /// not.
    pub fn summary(&self) -> String {
        match (&self.derived, &self.guided_difference) {
            (
                Some(Derived {
                    found: Found::Guided,
                    exact,
                    ..
                }),
                _,
            ) => format!(
                "the recorded execution (history {}) was replayed under shuttle in its recorded event order{}, confirmed by {n} of {n} replays with identical histories",
                self.real_hash,
                if *exact { ", event for event" } else { " (the same reads-from, commit order and aborts)" },
                n = self.replays,
            ),
            (Some(Derived { found: Found::Search { execution }, .. }), difference) => format!(
                "the guided replay did not reproduce the recorded execution (history {}){}; a search of {} executions near the recorded order found the same kind of failure at execution {execution}, confirmed by {n} of {n} replays with identical histories",
                self.real_hash,
                difference.as_deref().map(|d| format!(": {d}")).unwrap_or_default(),
                self.searched,
                n = self.replays,
            ),
            (None, difference) => format!(
                "the guided replay did not reproduce the recorded execution (history {}){}; this may be an effect of the hardware's memory model that shuttle's sequential consistency cannot show, or of timing outside the engine's events. A search of {} executions near the recorded order did not find the same kind of failure either",
                self.real_hash,
                difference.as_deref().map(|d| format!(": {d}")).unwrap_or_default(),
                self.searched,
            ),
        }
    }
}

/// What one shuttle run of the workload showed.
struct Run {
    failure: Option<String>,
    signature: FailureSignature,
    schedule: Schedule,
    history: History,
    abort_causes: BTreeMap<u64, String>,
}

/// Runs `workload` under `scheduler` once (or until the scheduler's
/// executions run out), keeping the last execution whatever its outcome.
fn run_under<S: Scheduler + 'static>(
    check: &ExecutionCheck,
    scheduler: impl FnOnce(&ExecutionCheck) -> S,
    until: impl Fn(&Execution) -> bool + Send + Sync + 'static,
) -> Run {
    let check = check.uncounted();
    let scheduler = scheduler(&check);
    let last: Arc<Mutex<Option<Execution>>> = Arc::default();
    let (keep, run) = (last.clone(), check.clone());
    let test = move || {
        // An execution that never finishes must not leave the one before
        // it as the run's last.
        *keep.lock().unwrap_or_else(|p| p.into_inner()) = None;
        let execution = run.run_once::<ShuttlePlatform>();
        let stop = until(&execution);
        let failure = execution.failure.clone();
        *keep.lock().unwrap_or_else(|p| p.into_inner()) = Some(execution);
        if let Some(failure) = failure.filter(|_| stop) {
            panic!("{failure}");
        }
    };
    let (result, schedule) = run_once_recording(scheduler, test);
    finish(&check, &last, result, schedule)
}

/// Replays `schedule` once.
fn replay(check: &ExecutionCheck, schedule: &Schedule) -> Run {
    let check = check.uncounted();
    let last: Arc<Mutex<Option<Execution>>> = Arc::default();
    let (keep, run) = (last.clone(), check.clone());
    let test = move || {
        let execution = run.run_once::<ShuttlePlatform>();
        let failure = execution.failure.clone();
        *keep.lock().unwrap_or_else(|p| p.into_inner()) = Some(execution);
        if let Some(failure) = failure {
            panic!("{failure}");
        }
    };
    let run = replay_expecting(schedule, None, test);
    finish(&check, &last, run.result, run.executed)
}

fn finish(
    check: &ExecutionCheck,
    last: &Mutex<Option<Execution>>,
    result: Result<(), String>,
    schedule: Schedule,
) -> Run {
    let history = check.last_history().unwrap_or_default();
    let abort_causes = check.last_execution().abort_causes();
    match last.lock().unwrap_or_else(|p| p.into_inner()).take() {
        Some(execution) => Run {
            failure: execution.failure,
            signature: execution.signature,
            schedule,
            history,
            abort_causes,
        },
        // It never finished: a deadlock, or a panic of the interpreter.
        None => {
            let message = check.naming_broken_invariants(
                result
                    .err()
                    .unwrap_or_else(|| "the execution did not finish".to_string()),
            );
            Run {
                signature: FailureSignature::of_panic(&message)
                    .with_broken_invariants(&check.last_broken_invariants()),
                failure: Some(message),
                schedule,
                history,
                abort_causes,
            }
        }
    }
}

/// Replays `schedule` `replays` times: `Ok` with the failure and the
/// history fingerprint if every replay fails as `real` did with the same
/// history (and, when `shape` is given, a history of that shape); `Err`
/// says what differed.
fn confirm(
    check: &ExecutionCheck,
    real: &RealExecution,
    expected: &FailureSignature,
    schedule: &Schedule,
    shape: Option<&HistoryShape>,
    replays: usize,
) -> Result<(String, String), String> {
    let mut seen: Option<(String, String)> = None;
    for n in 1..=replays.max(1) {
        let run = replay(check, schedule);
        let Some(failure) = run
            .failure
            .filter(|_| real.same_kind(&run.signature, expected))
        else {
            return Err(format!(
                "replay {n} of {replays} did not fail the same way ({})",
                if run.signature.is_empty() {
                    "it passed".to_string()
                } else {
                    run.signature.to_string()
                }
            ));
        };
        if let Some(shape) = shape {
            let replayed = HistoryShape::of(&run.history).with_abort_causes(&run.abort_causes);
            if let Some((_, why)) = shape.difference(&replayed) {
                return Err(format!("replay {n} of {replays}: {why}"));
            }
        }
        let hash = normalized_hash(&run.history);
        match &seen {
            Some((_, first)) if *first != hash => {
                return Err(format!(
                    "replay {n} of {replays} recorded history {hash}, the first one {first}"
                ))
            }
            Some(_) => {}
            None => seen = Some((failure, hash)),
        }
    }
    Ok(seen.expect("at least one replay"))
}

/// Derives a schedule of `workload` that reproduces `real`, as the
/// [module docs](self) say.
pub fn derive(workload: &Workload, real: &RealExecution, config: &DeriveConfig) -> Derivation {
    let check = ExecutionCheck::new(workload.clone(), config.stm)
        .with_injected_bug(config.injected_bug.clone());
    let real_hash = normalized_hash(&real.history);
    let expected = real.expected();
    let real_shape = HistoryShape::of(&real.history).with_abort_causes(&real.abort_causes);
    let owners = event_owners(&real.history);
    let mappings = thread_mappings(&real.history, workload.threads.len(), config.mappings);
    // The guided execution of each mapping, until one is the real one;
    // else the one that agreed longest is repaired with bursts, one
    // divergence at a time, while that takes the first difference later.
    let guided = |plan: &Arc<GuidePlan>, bursts: &[Burst]| {
        let run = run_under(
            &check,
            |c| GuidedScheduler::new(plan.clone(), c.event_counter()).with_bursts(bursts.to_vec()),
            |_| true,
        );
        let replayed = HistoryShape::of(&run.history).with_abort_causes(&run.abort_causes);
        let difference = real_shape.difference(&replayed);
        (run, difference)
    };
    let found = |run: Run| -> Result<Derived, String> {
        let (message, history_hash) = confirm(
            &check,
            real,
            &expected,
            &run.schedule,
            Some(&real_shape),
            config.replays,
        )?;
        Ok(Derived {
            schedule: run.schedule,
            message,
            found: Found::Guided,
            exact: history_hash == real_hash,
            history_hash,
        })
    };
    let derived_now = |derived: Derived| Derivation {
        derived: Some(derived),
        real_hash: real_hash.clone(),
        guided_difference: None,
        searched: 0,
        real_history: None,
        replays: config.replays,
    };
    let mut best: Option<(usize, String, Arc<GuidePlan>, Vec<Burst>)> = None;
    let mut unconfirmed = None;
    for mapping in mappings.iter() {
        let plan = Arc::new(GuidePlan::new(&owners, mapping));
        match guided(&plan, &[]) {
            (run, None) => match found(run) {
                Ok(derived) => return derived_now(derived),
                Err(why) => unconfirmed = Some(why),
            },
            (_, Some((index, why))) => {
                if best.as_ref().is_none_or(|(at, ..)| index > *at) {
                    best = Some((index, why, plan, Vec::new()));
                }
            }
        }
    }
    let tasks: Vec<usize> = mappings
        .first()
        .map(|m| m.values().copied().collect())
        .unwrap_or_default();
    let normal = crate::history::shape::normalized(&real.history);
    let mut budget = config.repair_runs;
    'rounds: while let Some((index, _, plan, bursts)) = best.clone() {
        // Around the attempt that differs; past the last one (the replay
        // ran more attempts), around the last events.
        let (low, high) = match normal.transactions.get(index) {
            Some(attempt) => (
                attempt.begin.saturating_sub(4),
                attempt.end.saturating_sub(1),
            ),
            None => {
                let last = normal.transactions.iter().map(|t| t.end).max().unwrap_or(0);
                (last.saturating_sub(4), last)
            }
        };
        for at_event in low..=high {
            for &task in &tasks {
                for steps in [1, 2, 3, 5, 8, 13] {
                    if budget == 0 {
                        break 'rounds;
                    }
                    budget -= 1;
                    let mut tried = bursts.clone();
                    tried.push(Burst {
                        at_event,
                        task,
                        steps,
                    });
                    match guided(&plan, &tried) {
                        (run, None) => match found(run) {
                            Ok(derived) => return derived_now(derived),
                            Err(why) => unconfirmed = Some(why),
                        },
                        (_, Some((later, why))) if later > index => {
                            best = Some((later, why, plan, tried));
                            continue 'rounds;
                        }
                        _ => {}
                    }
                }
            }
        }
        break;
    }
    let guided_difference = match (&unconfirmed, &best) {
        (Some(why), _) => Some(format!("the guided schedule's {why}")),
        (None, Some((_, why, ..))) => Some(format!(
            "the closest guided execution differs from it at {why}"
        )),
        (None, None) => None,
    };
    let plan = best.map(|(_, _, plan, _)| plan).unwrap_or_default();
    // The fallback: executions near the recorded order (guided, with PCT's
    // change points), until one fails the same way; a run that another
    // failure ends (a deadlock shuttle stops) goes on with the next seed.
    let mut searched = 0;
    let mut derived = None;
    let mut round = 0;
    while searched < config.search_schedules && derived.is_none() {
        let target = expected.clone();
        let same = real.clone();
        let counter = Arc::new(Mutex::new(0_usize));
        let counted = counter.clone();
        let run = run_under(
            &check,
            |c| {
                GuidedScheduler::new(plan.clone(), c.event_counter()).with_detours(
                    config.search_schedules - searched,
                    config.search_depth,
                    config.seed.wrapping_add(round),
                )
            },
            move |execution| {
                *counted.lock().unwrap_or_else(|p| p.into_inner()) += 1;
                execution.failure.is_some() && same.same_kind(&execution.signature, &target)
            },
        );
        round += 1;
        let ran = *counter.lock().unwrap_or_else(|p| p.into_inner());
        // An execution that never finished was not counted.
        searched += if run.failure.is_some() && ran == 0 {
            1
        } else {
            ran.max(1)
        };
        if run.failure.is_none() {
            break;
        }
        derived = run
            .failure
            .filter(|_| real.same_kind(&run.signature, &expected))
            .and_then(|_| {
                confirm(&check, real, &expected, &run.schedule, None, config.replays).ok()
            })
            .map(|(message, history_hash)| Derived {
                schedule: run.schedule,
                message,
                found: Found::Search {
                    execution: searched,
                },
                exact: history_hash == real_hash,
                history_hash,
            });
    }
    Derivation {
        real_hash,
        guided_difference,
        derived,
        searched,
        real_history: None,
        replays: config.replays,
    }
}

/// An execution of `check` under shuttle that panics with its failure only
/// if its history is the one fingerprinted `keep` (see
/// [`normalized_hash`]): the test that shrinking a schedule which replays a
/// real execution uses, so that the shrunk one still replays it.
pub(crate) fn keeping_history(
    check: &ExecutionCheck,
    keep: String,
) -> impl Fn() + Send + Sync + Clone + 'static {
    let check = check.clone();
    move || {
        let execution = check.run_once::<ShuttlePlatform>();
        let Some(failure) = execution.failure else {
            return;
        };
        if check.last_history().as_ref().map(normalized_hash).as_ref() == Some(&keep) {
            panic!("{failure}");
        }
    }
}

/// Saves `history` in `dir` as `stem.real-history.json` (or
/// `stem-N.real-history.json`, never overwriting a file), an `stm-history`
/// document that `stm-check check` reads.
pub fn save_history(
    dir: &Path,
    stem: &str,
    history: &History,
) -> Result<PathBuf, ScheduleFileError> {
    crate::schedule::write_new_file(dir, stem, ".real-history.json", &history.to_json_string())
}

/// What explore does with a failure found on real threads (`driver`
/// `info`, after `found_after` executions): saves its history, derives a
/// schedule from it, and shrinks and saves that schedule with where it
/// came from; the failure is reported with the derivation, saved or not.
pub fn save_real_failure(
    workload: &Workload,
    config: &ExploreConfig,
    info: DriverInfo,
    message: String,
    real: &RealExecution,
    found_after: usize,
    progress: &Arc<dyn Fn(Progress) + Send + Sync>,
) -> Result<FoundFailure, ScheduleFileError> {
    let real_history = save_history(&config.regressions, &workload.name, &real.history)?;
    let mut derivation = derive(
        workload,
        real,
        &DeriveConfig {
            stm: config.stm,
            injected_bug: config.injected_bug.clone(),
            seed: config.seed,
            ..DeriveConfig::default()
        },
    );
    derivation.real_history = Some(real_history.clone());
    let Some(derived) = derivation.derived.clone() else {
        return Ok(FoundFailure {
            message,
            shrink: None,
            file: None,
            saved: None,
            derivation: Some(Box::new(derivation)),
        });
    };
    let from = DerivedFrom {
        driver: info.scheduler.clone(),
        history_hash: derivation.real_hash.clone(),
        how: match derived.found {
            Found::Guided => "guided",
            Found::Search { .. } => "search",
        }
        .to_string(),
        real_history: real_history
            .file_name()
            .map(|n| n.to_string_lossy().into_owned()),
    };
    let keep_history =
        (derived.found == Found::Guided && derived.exact).then(|| derivation.real_hash.clone());
    let mut found = super::shrink_and_save(
        workload,
        config,
        info,
        derived.message.clone(),
        derived.schedule,
        found_after,
        progress,
        &workload.name,
        Some(super::DerivedSchedule { from, keep_history }),
    )?;
    found.message = message;
    found.derivation = Some(Box::new(derivation));
    Ok(found)
}
