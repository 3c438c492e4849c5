//! A scheduler that follows a saved schedule exactly.

use super::{Schedule, Step};
use shuttle::scheduler::{Schedule as ShuttleSchedule, Scheduler, Task, TaskId};
use std::sync::{Arc, Mutex};

/// Where a replay stopped matching its schedule: the program asked for
/// something the schedule did not record there (another task set, or a
/// random value where a task choice was recorded), usually because the
/// program or the engine changed since the schedule was saved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Divergence {
    /// The index (from 0) of the step that did not fit, or, for an
    /// execution that ended too early, the number of steps it used.
    pub step: usize,
    /// What happened, in words.
    pub detail: String,
}

/// Runs one execution following `schedule` step for step. Past its end (a
/// shrunk schedule may stop early), it continues deterministically: the
/// current task keeps running unless it asks to yield (a spin loop waiting
/// for another task; then the next runnable task by id runs, round robin)
/// or blocks or finishes (then the lowest-numbered runnable task runs);
/// random values are 0. The first mismatch is kept as a [`Divergence`],
/// and the replay continues with the same fallback.
///
/// Given the number of tasks the saved execution created
/// ([`expecting_tasks`](Self::expecting_tasks)), a task beyond them that
/// becomes runnable is a divergence too (the test starts more threads than
/// it did), and so is, once the execution is over, a replay that created
/// fewer ([`ReplayObserver::divergence`]); so is an execution that ends
/// before the schedule's last step.
#[derive(Debug)]
pub struct ReplayScheduler {
    schedule: Schedule,
    position: usize,
    executions: usize,
    expected_tasks: Option<usize>,
    observed: Arc<Mutex<Observed>>,
}

/// What a replay saw, shared between the scheduler and its observer.
#[derive(Debug, Default)]
struct Observed {
    divergence: Option<Divergence>,
    /// The highest task id seen, plus one.
    tasks: usize,
    /// Steps of the schedule used.
    consumed: usize,
}

/// A view of a [`ReplayScheduler`]'s replay that outlives the runner
/// (which takes the scheduler by value).
#[derive(Debug, Clone)]
pub struct ReplayObserver {
    steps: usize,
    expected_tasks: Option<usize>,
    observed: Arc<Mutex<Observed>>,
}

impl ReplayObserver {
    fn observed(&self) -> std::sync::MutexGuard<'_, Observed> {
        self.observed.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The tasks the replayed execution created (the highest task id seen,
    /// plus one).
    pub fn tasks(&self) -> usize {
        self.observed().tasks
    }

    /// Where the replay, once over, stopped matching its schedule: the
    /// first mismatch seen while it ran; else fewer tasks than expected;
    /// else an execution that ended before the schedule's last step.
    pub fn divergence(&self) -> Option<Divergence> {
        let observed = self.observed();
        if let Some(divergence) = &observed.divergence {
            return Some(divergence.clone());
        }
        if let Some(expected) = self.expected_tasks {
            if observed.tasks < expected {
                return Some(Divergence {
                    step: observed.consumed,
                    detail: format!(
                        "the execution ended having created {} tasks, but the saved one created {expected}: the test starts fewer threads than when the schedule was saved",
                        observed.tasks
                    ),
                });
            }
        }
        (observed.consumed < self.steps).then(|| Divergence {
            step: observed.consumed,
            detail: format!(
                "the execution ended, but the schedule has {} steps: the test runs fewer scheduling points than when the schedule was saved",
                self.steps
            ),
        })
    }
}

impl ReplayScheduler {
    /// Replays `schedule` once.
    pub fn new(schedule: Schedule) -> Self {
        ReplayScheduler {
            schedule,
            position: 0,
            executions: 0,
            expected_tasks: None,
            observed: Arc::default(),
        }
    }

    /// Expects the execution to create exactly `tasks` tasks (as the saved
    /// one did); `None` expects nothing.
    pub fn expecting_tasks(mut self, tasks: Option<usize>) -> Self {
        self.expected_tasks = tasks;
        self
    }

    /// A view of the replay, to read once the runner is done.
    pub fn observer(&self) -> ReplayObserver {
        ReplayObserver {
            steps: self.schedule.steps.len(),
            expected_tasks: self.expected_tasks,
            observed: self.observed.clone(),
        }
    }

    fn diverge(&self, step: usize, detail: String) {
        let mut observed = self.observed.lock().unwrap_or_else(|p| p.into_inner());
        if observed.divergence.is_none() {
            observed.divergence = Some(Divergence { step, detail });
        }
    }

    /// The step at the current position and its index, if the schedule
    /// has one there.
    fn next_step(&mut self) -> Option<(usize, Step)> {
        let index = self.position;
        let step = self.schedule.steps.get(index).copied()?;
        self.position += 1;
        self.observed
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .consumed = self.position;
        Some((index, step))
    }

    /// Notes the tasks that exist, and a divergence if one is beyond those
    /// the saved execution created.
    fn see_tasks(&mut self, runnable_tasks: &[&Task], current_task: Option<TaskId>) {
        let highest = runnable_tasks
            .iter()
            .map(|t| usize::from(t.id()))
            .chain(current_task.map(usize::from))
            .max();
        let Some(highest) = highest else { return };
        let seen = {
            let mut observed = self.observed.lock().unwrap_or_else(|p| p.into_inner());
            observed.tasks = observed.tasks.max(highest + 1);
            observed.tasks
        };
        if let Some(expected) = self.expected_tasks.filter(|&n| seen > n) {
            self.diverge(
                self.position,
                format!(
                    "task {highest} can run, but the saved execution created only {expected} tasks (ids 0 to {}): the test starts more threads than when the schedule was saved",
                    expected.saturating_sub(1)
                ),
            );
        }
    }
}

/// The deterministic choice where a schedule says nothing (past its end, or
/// where a fuzzer's bytes ran out): the current task keeps running if it
/// can and has not asked to yield; a task that yields (a spin loop waiting
/// for another task) hands over to the next runnable task by id, round
/// robin, so that the one it waits for gets to run; when the current task
/// blocked or finished, the lowest-numbered runnable task runs.
/// `runnable_tasks` must not be empty (shuttle guarantees it).
pub(crate) fn fallback_choice(
    runnable_tasks: &[&Task],
    current_task: Option<TaskId>,
    is_yielding: bool,
) -> TaskId {
    let ids = || runnable_tasks.iter().map(|t| usize::from(t.id()));
    let lowest = ids()
        .min()
        .expect("shuttle lists at least one runnable task");
    let choice = match current_task.map(usize::from) {
        Some(current) if ids().any(|id| id == current) => {
            if is_yielding {
                ids().filter(|&id| id > current).min().unwrap_or(lowest)
            } else {
                current
            }
        }
        _ => lowest,
    };
    TaskId::from(choice)
}

impl Scheduler for ReplayScheduler {
    fn new_execution(&mut self) -> Option<ShuttleSchedule> {
        self.executions += 1;
        self.position = 0;
        (self.executions == 1).then(|| ShuttleSchedule::new(0))
    }

    fn next_task(
        &mut self,
        runnable_tasks: &[&Task],
        current_task: Option<TaskId>,
        is_yielding: bool,
    ) -> Option<TaskId> {
        self.see_tasks(runnable_tasks, current_task);
        let runnable = |t: usize| {
            runnable_tasks
                .iter()
                .any(|task| usize::from(task.id()) == t)
        };
        match self.next_step() {
            Some((_, Step::Task(t))) if runnable(t) => return Some(TaskId::from(t)),
            Some((index, Step::Task(t))) => self.diverge(
                index,
                format!(
                    "the schedule runs task {t} next, but only tasks {:?} can run",
                    runnable_tasks
                        .iter()
                        .map(|t| usize::from(t.id()))
                        .collect::<Vec<_>>()
                ),
            ),
            Some((index, Step::Random { .. })) => self.diverge(
                index,
                "the schedule draws a random value, but the program switches tasks".into(),
            ),
            None => {}
        }
        Some(fallback_choice(runnable_tasks, current_task, is_yielding))
    }

    fn next_u64(&mut self) -> u64 {
        match self.next_step() {
            Some((_, Step::Random { random })) => random,
            Some((index, Step::Task(t))) => {
                self.diverge(
                    index,
                    format!(
                        "the schedule runs task {t} next, but the program draws a random value"
                    ),
                );
                0
            }
            None => 0,
        }
    }
}
