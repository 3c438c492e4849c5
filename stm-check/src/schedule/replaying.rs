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
    /// The index of the step that did not fit.
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
#[derive(Debug)]
pub struct ReplayScheduler {
    schedule: Schedule,
    position: usize,
    executions: usize,
    divergence: Arc<Mutex<Option<Divergence>>>,
}

impl ReplayScheduler {
    /// Replays `schedule` once.
    pub fn new(schedule: Schedule) -> Self {
        ReplayScheduler {
            schedule,
            position: 0,
            executions: 0,
            divergence: Arc::default(),
        }
    }

    /// The first divergence of the replay, shared with this scheduler.
    pub fn divergence(&self) -> Arc<Mutex<Option<Divergence>>> {
        self.divergence.clone()
    }

    fn diverge(&self, detail: String) {
        let mut first = self.divergence.lock().unwrap_or_else(|p| p.into_inner());
        if first.is_none() {
            *first = Some(Divergence {
                step: self.position,
                detail,
            });
        }
    }

    fn next_step(&mut self) -> Option<Step> {
        let step = self.schedule.steps.get(self.position).copied();
        self.position += 1;
        step
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
        let runnable = |t: usize| {
            runnable_tasks
                .iter()
                .any(|task| usize::from(task.id()) == t)
        };
        match self.next_step() {
            Some(Step::Task(t)) if runnable(t) => return Some(TaskId::from(t)),
            Some(Step::Task(t)) => self.diverge(format!(
                "the schedule runs task {t} next, but only tasks {:?} can run",
                runnable_tasks
                    .iter()
                    .map(|t| usize::from(t.id()))
                    .collect::<Vec<_>>()
            )),
            Some(Step::Random { .. }) => self.diverge(
                "the schedule draws a random value, but the program switches tasks".into(),
            ),
            None => {}
        }
        Some(fallback_choice(runnable_tasks, current_task, is_yielding))
    }

    fn next_u64(&mut self) -> u64 {
        match self.next_step() {
            Some(Step::Random { random }) => random,
            Some(Step::Task(_)) => {
                self.diverge(
                    "the schedule switches tasks, but the program draws a random value".into(),
                );
                0
            }
            None => 0,
        }
    }
}
