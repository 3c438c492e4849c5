//! Running executions under a recording scheduler until one fails, and
//! replaying one; failures come back as data, not as panics.

use super::{RecordingScheduler, ReplayScheduler, Schedule};
use shuttle::scheduler::Scheduler;
use shuttle::{Config, FailurePersistence, Runner};
use std::cell::RefCell;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Once};

/// An execution that failed (a panic or a deadlock), with its exact schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailedExecution {
    /// The panic message (shuttle reports deadlocks as panics too).
    pub message: String,
    /// The schedule that produced it.
    pub schedule: Schedule,
    /// Which execution it was, counting from 1.
    pub execution: usize,
}

/// How a run of executions ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Every execution passed.
    Passed {
        /// Executions run.
        executions: usize,
    },
    /// One failed; the run stopped there.
    Failed(FailedExecution),
}

/// Runs `test` under `scheduler` (wrapped to record its choices) until the
/// scheduler has no more executions or one fails.
///
/// ```
/// use shuttle::scheduler::PctScheduler;
/// use stm_check::schedule::{run_recorded, Outcome};
///
/// let outcome = run_recorded(PctScheduler::new_from_seed(1, 3, 10), || {
///     let stm = stm_core::Stm::<stm_core::ShuttlePlatform>::for_platform();
///     let n = stm.new_tvar(0);
///     let t = {
///         let (stm2, n) = (stm.clone(), n.clone());
///         stm.spawn(move || stm2.atomically(|tx| tx.modify(&n, |v| v + 1)))
///     };
///     stm.atomically(|tx| tx.modify(&n, |v| v + 1));
///     t.join().unwrap();
///     assert_eq!(n.load(), 2);
/// });
/// assert_eq!(outcome, Outcome::Passed { executions: 10 });
/// ```
pub fn run_recorded<S, F>(scheduler: S, test: F) -> Outcome
where
    S: Scheduler + 'static,
    F: Fn() + Send + Sync + 'static,
{
    let scheduler = RecordingScheduler::new(scheduler);
    let schedule = scheduler.current();
    match run_quietly(scheduler, test) {
        Ok(executions) => Outcome::Passed { executions },
        Err((message, execution)) => Outcome::Failed(FailedExecution {
            message,
            schedule: schedule.lock().unwrap_or_else(|p| p.into_inner()).clone(),
            execution,
        }),
    }
}

/// Replays `schedule` once; `Err` holds the failure message.
pub fn replay(
    schedule: &Schedule,
    test: impl Fn() + Send + Sync + 'static,
) -> (Result<(), String>, Option<super::Divergence>) {
    let scheduler = ReplayScheduler::new(schedule.clone());
    let divergence = scheduler.divergence();
    let result = run_quietly(scheduler, test)
        .map(|_| ())
        .map_err(|(message, _)| message);
    let divergence = divergence.lock().unwrap_or_else(|p| p.into_inner()).clone();
    (result, divergence)
}

/// Replays `schedule` once and records what actually ran (past the
/// schedule's end, or after a divergence, the replay's fallback choices):
/// the failure message, if any, and the executed schedule.
pub fn replay_recording(
    schedule: &Schedule,
    test: impl Fn() + Send + Sync + 'static,
) -> (Result<(), String>, Schedule) {
    let scheduler = RecordingScheduler::new(ReplayScheduler::new(schedule.clone()));
    let executed = scheduler.current();
    let result = run_quietly(scheduler, test)
        .map(|_| ())
        .map_err(|(message, _)| message);
    let executed = executed.lock().unwrap_or_else(|p| p.into_inner()).clone();
    (result, executed)
}

/// Replays `schedule` once and reports everything: the failure message, if
/// any, the schedule that actually ran (see [`replay_recording`]) and the
/// first divergence from `schedule` (see [`replay`]).
pub fn replay_observed(
    schedule: &Schedule,
    test: impl Fn() + Send + Sync + 'static,
) -> (Result<(), String>, Schedule, Option<super::Divergence>) {
    let replayer = ReplayScheduler::new(schedule.clone());
    let divergence = replayer.divergence();
    let scheduler = RecordingScheduler::new(replayer);
    let executed = scheduler.current();
    let result = run_quietly(scheduler, test)
        .map(|_| ())
        .map_err(|(message, _)| message);
    let executed = executed.lock().unwrap_or_else(|p| p.into_inner()).clone();
    let divergence = divergence.lock().unwrap_or_else(|p| p.into_inner()).clone();
    (result, executed, divergence)
}

thread_local! {
    /// Where the first panic of the last run on this thread was raised
    /// (shuttle runs an execution's tasks on the thread that runs it).
    static FIRST_PANIC: RefCell<Option<String>> = const { RefCell::new(None) };
    /// While this thread runs executions quietly (see [`quietly`]): what
    /// to call with each panic's message; its panics are noted, not
    /// printed.
    static QUIET: RefCell<Option<Rc<PanicNote>>> = const { RefCell::new(None) };
}

/// Installs, once per process, the panic hook of quiet runs: on a thread
/// that runs executions quietly it notes where the first panic was raised
/// and prints nothing; elsewhere it hands the panic to the hook it
/// replaced. A hook swapped in and out around each run would be a race:
/// tests run in parallel, and one test's restoring the hook would let
/// another's panics print and go unlocated. Shuttle installs its own hook
/// (which prints "Task failed, serializing schedule") at its first
/// execution, so a trivial execution runs first and this hook goes on top.
fn install_quiet_hook() {
    static INSTALLED: Once = Once::new();
    INSTALLED.call_once(|| {
        Runner::new(shuttle::scheduler::RandomScheduler::new(1), Config::new()).run(|| {});
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let Some(note) = QUIET.with(|quiet| quiet.try_borrow().ok().and_then(|q| q.clone()))
            else {
                return previous(info);
            };
            let payload = info.payload();
            let message = payload
                .downcast_ref::<&str>()
                .copied()
                .or_else(|| payload.downcast_ref::<String>().map(String::as_str));
            // Panics without a message are the model checkers' own control
            // flow (loom's coroutines finish by unwinding), not failures.
            let Some(message) = message else {
                return;
            };
            note(message);
            FIRST_PANIC.with(|first| {
                if let Ok(mut first) = first.try_borrow_mut() {
                    if first.is_none() {
                        *first = info.location().map(ToString::to_string);
                    }
                }
            })
        }));
    });
}

/// What a quiet run calls with the message of each panic.
type PanicNote = dyn Fn(&str);

/// Marks this thread as running quietly, with `note`, until dropped.
struct QuietThread {
    was: Option<Rc<PanicNote>>,
}

impl QuietThread {
    fn enter(note: Rc<PanicNote>) -> QuietThread {
        QuietThread {
            was: QUIET.with(|quiet| quiet.replace(Some(note))),
        }
    }
}

impl Drop for QuietThread {
    fn drop(&mut self) {
        QUIET.with(|quiet| *quiet.borrow_mut() = self.was.take());
    }
}

/// The source location (`file:line:column`) of the first panic in the last
/// run of [`run_recorded`] or a replay on this thread: for a failure that
/// is a panic of the code under test, where it panicked (its message alone
/// may not say); `None` if nothing panicked.
pub fn first_panic_location() -> Option<String> {
    FIRST_PANIC.with(|first| first.borrow().clone())
}

/// Runs executions with shuttle's own failure printing off and panics
/// silenced on this thread (see [`quietly`]); returns the executions run,
/// or the failure message and the failing execution's number.
fn run_quietly<S, F>(scheduler: S, test: F) -> Result<usize, (String, usize)>
where
    S: Scheduler + 'static,
    F: Fn() + Send + Sync + 'static,
{
    let mut config = Config::new();
    config.failure_persistence = FailurePersistence::None;
    config.silence_warnings = true;
    let executions = Arc::new(AtomicUsize::new(0));
    let counter = executions.clone();
    let counted = move || {
        counter.fetch_add(1, Ordering::Relaxed);
        test()
    };
    let result = quietly(|| Runner::new(scheduler, config).run(counted));
    let executions = executions.load(Ordering::Relaxed);
    result.map_err(|message| (message, executions))
}

/// Runs `run` (a model checker's run) with this thread's panics silenced
/// (the hook only notes where the first one was raised, see
/// [`first_panic_location`] and [`install_quiet_hook`]); `Err` holds the
/// message of the panic that ended the run.
pub(crate) fn quietly<R>(run: impl FnOnce() -> R) -> Result<R, String> {
    quietly_noting(|_| {}, run)
}

/// [`quietly`], also calling `note` with the message of every panic.
pub(crate) fn quietly_noting<R>(
    note: impl Fn(&str) + 'static,
    run: impl FnOnce() -> R,
) -> Result<R, String> {
    install_quiet_hook();
    FIRST_PANIC.with(|first| *first.borrow_mut() = None);
    let quiet = QuietThread::enter(Rc::new(note));
    let result = catch_unwind(AssertUnwindSafe(run));
    drop(quiet);
    result.map_err(|panic| panic_message(&*panic))
}

/// The message of a panic payload.
pub(crate) fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "the test panicked with a non-string payload".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use shuttle::scheduler::RandomScheduler;

    #[test]
    fn the_first_panic_of_a_run_is_located() {
        let line = line!() + 3;
        let outcome = run_recorded(RandomScheduler::new(1), || {
            let task = shuttle::thread::spawn(|| {
                panic!("the code under test broke");
            });
            let _ = task.join();
            panic!("the test's own panic comes second");
        });
        let Outcome::Failed(failure) = outcome else {
            panic!("the run fails");
        };
        assert!(failure.message.contains("broke"), "{}", failure.message);
        let location = first_panic_location().unwrap();
        assert!(
            location.ends_with(&format!("runner.rs:{line}:17")),
            "{location}"
        );
        let passing = run_recorded(RandomScheduler::new(1), || {});
        assert_eq!(passing, Outcome::Passed { executions: 1 });
        assert_eq!(first_panic_location(), None);
    }
}
