//! Shrinking a failing workload: the search described in the
//! [module documentation](super#shrinking).

use super::driver::{Driver, DriverOutcome, ShuttleDriver};
use super::execution::ExecutionCheck;
use super::{observe, ExploreConfig};
use crate::check::SchedulerKind;
use crate::schedule::Schedule;
use crate::workload::{
    FailureKind, FailureSignature, ReductionKind, SerialRuns, Workload, WorkloadSize,
};
use std::time::{Duration, Instant};

/// What shrinking a failing workload did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkloadShrink {
    /// The kind of failure kept ([`FailureSignature::reproduces`]).
    pub signature: FailureSignature,
    /// The failing workload's size.
    pub before: WorkloadSize,
    /// The shrunk workload's size.
    pub after: WorkloadSize,
    /// Context switches of the schedule first found, and of the saved one.
    pub context_switches: (usize, usize),
    /// Candidates tried (run serially, replayed or explored).
    pub candidates: usize,
    /// Candidates kept.
    pub kept: usize,
    /// What each kept candidate changed, in order.
    pub steps: Vec<String>,
    /// Executions run while shrinking (serial runs and executions skipped
    /// past the time limit not counted).
    pub schedules: usize,
    /// Wall-clock time.
    pub elapsed: Duration,
    /// Whether [`ExploreConfig::shrink_time`] ran out before every
    /// candidate was tried.
    pub out_of_time: bool,
}

/// The smallest failing workload found, with a schedule that fails it and
/// that failure's message.
pub(crate) struct Minimized {
    pub(crate) workload: Workload,
    pub(crate) schedule: Schedule,
    pub(crate) message: String,
    pub(crate) report: WorkloadShrink,
}

/// The smallest workload of the search, and a schedule failing it.
struct Best {
    workload: Workload,
    schedule: Schedule,
    message: String,
}

/// Shrinks `workload`, which `schedule` fails with `message` (found after
/// `found_after` schedules by `scheduler`); `on_candidate` is told how many
/// candidates were tried, after each.
pub(crate) fn minimize(
    workload: &Workload,
    schedule: &Schedule,
    message: &str,
    found_after: usize,
    scheduler: SchedulerKind,
    config: &ExploreConfig,
    on_candidate: &dyn Fn(usize),
) -> Minimized {
    let started = Instant::now();
    let bug = config.injected_bug.clone();
    let (first, executed) = observe(workload, config.stm, bug.clone(), schedule, None, false);
    let target = first.signature;
    let mut report = WorkloadShrink {
        signature: target.clone(),
        before: workload.size(),
        after: workload.size(),
        context_switches: (schedule.context_switches(), schedule.context_switches()),
        candidates: 0,
        kept: 0,
        steps: Vec::new(),
        schedules: 1,
        elapsed: Duration::ZERO,
        out_of_time: false,
    };
    let mut best = Best {
        workload: workload.clone(),
        schedule: executed,
        message: first.failure.unwrap_or_else(|| message.to_string()),
    };
    // The replay must fail as found, or there is nothing to compare with.
    if target.is_empty() || best.message != message {
        report.elapsed = started.elapsed();
        return finish(best, report);
    }

    let serial = SerialRuns::of(workload);
    let known = serial.failures(workload);
    let derived = serial.derived_equals(workload);
    let budget = config.shrink_schedules.max(found_after.saturating_mul(2));

    let mut candidates = best.workload.reductions();
    let mut changed = true;
    'passes: while changed {
        changed = false;
        let mut next = 0;
        while next < candidates.len() {
            if started.elapsed() >= config.shrink_time {
                report.out_of_time = true;
                break 'passes;
            }
            let reduction = candidates[next].clone();
            next += 1;
            if let ReductionKind::Invariant(invariant) = &reduction.kind {
                // An invariant the failure breaks stays: it tells the story.
                if target.contains(&FailureKind::of_invariant(invariant)) {
                    continue;
                }
            }
            report.candidates += 1;
            on_candidate(report.candidates);
            let mut candidate = reduction.workload;
            let runs = SerialRuns::of(&candidate);
            runs.rederive_equals(&mut candidate, &derived);
            if !runs.failures(&candidate).is_subset(&known) {
                continue;
            }
            let found = find_failure(
                &candidate,
                &best.schedule,
                &target,
                Search {
                    scheduler,
                    budget,
                    deadline: started + config.shrink_time,
                },
                config,
                &mut report.schedules,
            );
            if let Some((schedule, message)) = found {
                best = Best {
                    workload: candidate,
                    schedule,
                    message,
                };
                report.kept += 1;
                report.steps.push(reduction.description);
                changed = true;
                candidates = best.workload.reductions();
                // The candidates before this one were tried already; the one
                // now at this place is the next in the same order.
                next -= 1;
            }
        }
    }
    report.elapsed = started.elapsed();
    finish(best, report)
}

fn finish(mut best: Best, mut report: WorkloadShrink) -> Minimized {
    report.after = best.workload.size();
    if report.kept > 0 {
        let note = format!("Shrunk by stm-check from {}.", report.before);
        best.workload.description = if best.workload.description.is_empty() {
            note
        } else {
            format!("{note} {}", best.workload.description)
        };
    }
    Minimized {
        workload: best.workload,
        schedule: best.schedule,
        message: best.message,
        report,
    }
}

/// How a candidate is explored.
struct Search {
    scheduler: SchedulerKind,
    /// Schedules, at most.
    budget: usize,
    /// Executions that would start later are skipped.
    deadline: Instant,
}

/// A schedule that fails `candidate` with the `target` kind of failure, and
/// its message: the last failing schedule replayed on it if that fails
/// alike (one execution), else the first such schedule the driver finds
/// within the search's bounds. `schedules` counts the executions spent.
fn find_failure(
    candidate: &Workload,
    last_failing: &Schedule,
    target: &FailureSignature,
    search: Search,
    config: &ExploreConfig,
    schedules: &mut usize,
) -> Option<(Schedule, String)> {
    let bug = config.injected_bug.clone();
    let reproduced = |schedule: &Schedule| {
        let (seen, executed) = observe(candidate, config.stm, bug.clone(), schedule, None, false);
        match seen.failure {
            Some(message) if seen.signature.reproduces(target) => Some((executed, message)),
            _ => None,
        }
    };
    *schedules += 1;
    if let Some(found) = reproduced(last_failing) {
        return Some(found);
    }
    let check = ExecutionCheck::new(candidate.clone(), config.stm)
        .with_injected_bug(bug.clone())
        .targeting(target.clone())
        .until(search.deadline);
    let driver = ShuttleDriver {
        scheduler: search.scheduler,
        iterations: search.budget,
        seed: config.seed,
        // Candidates are explored unsharded: shrinking is not part of the
        // shard's share of the layout.
        shard: None,
    };
    let outcome = driver.explore(&check);
    *schedules += check.counts().executions;
    match outcome {
        // Either an execution failing alike (the check only fails those) or
        // one the model checker stopped (a deadlock): the replay tells.
        DriverOutcome::Failed {
            schedule: Some(schedule),
            ..
        } => {
            *schedules += 1;
            reproduced(&schedule)
        }
        _ => None,
    }
}
