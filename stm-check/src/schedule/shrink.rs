//! Shrinking a failing schedule: keep only the steps the failure needs.
//!
//! Two passes, each accepting a change only if a replay still fails with
//! the same message. First, one by one, context switches are turned into
//! "keep running the same task" (after each accepted change the schedule
//! that actually ran is kept, so later steps stay consistent). Then the
//! shortest failing prefix is kept: past its end a replay continues
//! deterministically (the running task goes on unless it yields or blocks;
//! see [`ReplayScheduler`](super::ReplayScheduler)), so the steps after the
//! point where the failure is decided are not needed at all.

use super::{replay_recording, Schedule, Step};

/// A shrunk schedule and how much work shrinking took.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shrunk {
    /// The smallest failing schedule found: a prefix, replayed with the
    /// deterministic fallback after its end.
    pub schedule: Schedule,
    /// Context switches of the execution it replays.
    pub context_switches: usize,
    /// Replays spent.
    pub replays: usize,
}

/// Shrinks `schedule`, which fails `test` with `message`, within `budget`
/// replays.
pub fn shrink(
    schedule: &Schedule,
    message: &str,
    budget: usize,
    test: impl Fn() + Send + Sync + Clone + 'static,
) -> Shrunk {
    let replays = std::cell::Cell::new(0);
    let still_fails = |candidate: &Schedule| -> Option<Schedule> {
        replays.set(replays.get() + 1);
        let (result, executed) = replay_recording(candidate, test.clone());
        (result.as_ref().err().map(String::as_str) == Some(message)).then_some(executed)
    };

    let mut best = schedule.clone();
    let mut changed = true;
    while changed && replays.get() < budget {
        changed = false;
        for i in 1..best.steps.len() {
            if replays.get() >= budget {
                break;
            }
            let Some(previous) = previous_task(&best.steps[..i]) else {
                continue;
            };
            if !matches!(best.steps[i], Step::Task(t) if t != previous) {
                continue;
            }
            let mut candidate = best.clone();
            candidate.steps[i] = Step::Task(previous);
            if let Some(executed) = still_fails(&candidate) {
                if executed.context_switches() < best.context_switches() {
                    best = executed;
                    changed = true;
                    break;
                }
            }
        }
    }
    let context_switches = best.context_switches();

    // The shortest failing prefix, by bisection (the full schedule fails).
    let (mut low, mut high) = (0, best.steps.len());
    while low < high && replays.get() < budget {
        let middle = (low + high) / 2;
        let prefix = Schedule {
            steps: best.steps[..middle].to_vec(),
        };
        match still_fails(&prefix) {
            Some(_) => high = middle,
            None => low = middle + 1,
        }
    }
    best.steps.truncate(high);
    Shrunk {
        schedule: best,
        context_switches,
        replays: replays.get(),
    }
}

fn previous_task(steps: &[Step]) -> Option<usize> {
    steps.iter().rev().find_map(|s| match s {
        Step::Task(t) => Some(*t),
        Step::Random { .. } => None,
    })
}
