//! A scheduler wrapper that records the current execution's choices.

use super::{Schedule, Step};
use shuttle::scheduler::{Schedule as ShuttleSchedule, Scheduler, Task, TaskId};
use std::sync::{Arc, Mutex};

/// Wraps a shuttle scheduler and records every choice of the execution under
/// way; [`current`](RecordingScheduler::current) hands out a view of it that
/// survives the runner (which takes the scheduler by value).
#[derive(Debug)]
pub struct RecordingScheduler<S> {
    inner: S,
    steps: Arc<Mutex<Schedule>>,
}

impl<S: Scheduler> RecordingScheduler<S> {
    /// Records the choices `inner` makes.
    pub fn new(inner: S) -> Self {
        RecordingScheduler {
            inner,
            steps: Arc::default(),
        }
    }

    /// The schedule of the execution under way (or of the last one, once the
    /// run is over), shared with this scheduler.
    pub fn current(&self) -> Arc<Mutex<Schedule>> {
        self.steps.clone()
    }

    fn push(&self, step: Step) {
        self.steps
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .steps
            .push(step);
    }
}

impl<S: Scheduler> Scheduler for RecordingScheduler<S> {
    fn new_execution(&mut self) -> Option<ShuttleSchedule> {
        let next = self.inner.new_execution();
        // The last execution's schedule stays readable once the run is over.
        if next.is_some() {
            self.steps
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .steps
                .clear();
        }
        next
    }

    fn next_task(
        &mut self,
        runnable_tasks: &[&Task],
        current_task: Option<TaskId>,
        is_yielding: bool,
    ) -> Option<TaskId> {
        let choice = self
            .inner
            .next_task(runnable_tasks, current_task, is_yielding)?;
        self.push(Step::Task(usize::from(choice)));
        Some(choice)
    }

    fn next_u64(&mut self) -> u64 {
        let value = self.inner.next_u64();
        self.push(Step::Random { random: value });
        value
    }
}
