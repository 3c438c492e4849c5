//! Running executions under a recording scheduler until one fails, and
//! replaying one; failures come back as data, not as panics.
//!
//! Shuttle is run quietly: its failure persistence is off, its panic hook
//! never sees our runs (see [`run_quietly`]), and its failure messages are
//! normalised ([`normalise_failure`]) so that what is saved and compared
//! does not depend on `SHUTTLE_CAPTURE_BACKTRACE`. `STM_CHECK_VERBOSE=1`
//! leaves shuttle's own lines in, for debugging stm-check itself.

use super::{Divergence, RecordingScheduler, ReplayScheduler, Schedule};
use shuttle::scheduler::Scheduler;
use shuttle::{Config, FailurePersistence, MaxSteps, Runner};
use std::cell::RefCell;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Once};

/// The environment variable that lets shuttle's own lines through.
pub const VERBOSE_ENV: &str = "STM_CHECK_VERBOSE";

/// Whether `STM_CHECK_VERBOSE` asks for shuttle's own output (set, and
/// neither empty nor `0`).
pub fn verbose() -> bool {
    std::env::var_os(VERBOSE_ENV).is_some_and(|v| !v.is_empty() && v != "0")
}

/// What to do with an execution that takes more scheduling steps than
/// shuttle's bound (1,000,000 by default).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepBound {
    /// Fail it (shuttle's default): under a fair scheduler (random, PCT) an
    /// execution that long is a livelock.
    Fail,
    /// Stop it after this many steps and go on with the next one, counting
    /// it as cut short: for DFS, which starves a spinning task's partner
    /// by design, so that a spin loop on a correct engine is not reported
    /// as a failure.
    CutShort(usize),
}

/// How many executions a run cut short, besides its outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BoundedOutcome {
    /// How the run ended.
    pub outcome: Outcome,
    /// Executions stopped at the step bound ([`StepBound::CutShort`]),
    /// which neither passed nor failed.
    pub cut_short: usize,
}

/// What one replay showed: see [`replay_expecting`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplayRun {
    /// `Err` holds the failure message.
    pub result: Result<(), String>,
    /// The schedule that actually ran (past the end of the one replayed,
    /// or after a divergence, the replay's fallback choices).
    pub executed: Schedule,
    /// Where the replay stopped following the schedule, if it did.
    pub divergence: Option<Divergence>,
    /// The tasks the execution created (highest task id, plus one).
    pub tasks: usize,
}

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
    run_recorded_bounded(scheduler, test, StepBound::Fail).outcome
}

/// [`run_recorded`], with executions longer than shuttle's step bound
/// failed or cut short as `bound` says.
pub fn run_recorded_bounded<S, F>(scheduler: S, test: F, bound: StepBound) -> BoundedOutcome
where
    S: Scheduler + 'static,
    F: Fn() + Send + Sync + 'static,
{
    let scheduler = RecordingScheduler::new(scheduler);
    let schedule = scheduler.current();
    match run_quietly(scheduler, test, bound) {
        Ok(counts) => BoundedOutcome {
            outcome: Outcome::Passed {
                executions: counts.executions,
            },
            cut_short: counts.cut_short,
        },
        Err((message, execution)) => BoundedOutcome {
            outcome: Outcome::Failed(FailedExecution {
                message,
                schedule: schedule.lock().unwrap_or_else(|p| p.into_inner()).clone(),
                execution,
            }),
            cut_short: 0,
        },
    }
}

/// Runs the executions `scheduler` gives (wrapped to record its choices)
/// until one fails or none is left, and returns the last one's result
/// (`Err`: its failure) and schedule, passing or not: what a guided run
/// needs, whose execution is kept whatever its outcome.
pub(crate) fn run_once_recording<S>(
    scheduler: S,
    test: impl Fn() + Send + Sync + 'static,
) -> (Result<(), String>, Schedule)
where
    S: Scheduler + 'static,
{
    let scheduler = RecordingScheduler::new(scheduler);
    let schedule = scheduler.current();
    let result = run_quietly(scheduler, test, StepBound::Fail)
        .map(|_| ())
        .map_err(|(message, _)| message);
    let schedule = schedule.lock().unwrap_or_else(|p| p.into_inner()).clone();
    (result, schedule)
}

/// Replays `schedule` once; `Err` holds the failure message.
pub fn replay(
    schedule: &Schedule,
    test: impl Fn() + Send + Sync + 'static,
) -> (Result<(), String>, Option<Divergence>) {
    let run = replay_expecting(schedule, None, test);
    (run.result, run.divergence)
}

/// Replays `schedule` once and records what actually ran (past the
/// schedule's end, or after a divergence, the replay's fallback choices):
/// the failure message, if any, and the executed schedule.
pub fn replay_recording(
    schedule: &Schedule,
    test: impl Fn() + Send + Sync + 'static,
) -> (Result<(), String>, Schedule) {
    let run = replay_expecting(schedule, None, test);
    (run.result, run.executed)
}

/// Replays `schedule` once and reports everything: the failure message, if
/// any, the schedule that actually ran (see [`replay_recording`]) and the
/// first divergence from `schedule` (see [`replay`]).
pub fn replay_observed(
    schedule: &Schedule,
    test: impl Fn() + Send + Sync + 'static,
) -> (Result<(), String>, Schedule, Option<Divergence>) {
    let run = replay_expecting(schedule, None, test);
    (run.result, run.executed, run.divergence)
}

/// Replays `schedule` once, expecting the execution to create `tasks`
/// tasks when given (as the saved execution did; see
/// [`ReplayScheduler::expecting_tasks`]), and reports everything: the
/// failure, the schedule that ran, the first divergence, the tasks seen.
pub fn replay_expecting(
    schedule: &Schedule,
    tasks: Option<usize>,
    test: impl Fn() + Send + Sync + 'static,
) -> ReplayRun {
    let replayer = ReplayScheduler::new(schedule.clone()).expecting_tasks(tasks);
    let observer = replayer.observer();
    let scheduler = RecordingScheduler::new(replayer);
    let executed = scheduler.current();
    let result = run_quietly(scheduler, test, StepBound::Fail)
        .map(|_| ())
        .map_err(|(message, _)| message);
    let executed = executed.lock().unwrap_or_else(|p| p.into_inner()).clone();
    ReplayRun {
        result,
        executed,
        divergence: observer.divergence(),
        tasks: observer.tasks(),
    }
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
        // Shuttle wraps the hook current at its first execution in its own,
        // which prints for every panic of the process, in a shuttle run or
        // not. Let it do so around a silent hook, keep its hook apart (for
        // STM_CHECK_VERBOSE), and give every other panic to the hook from
        // before.
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(|_| {}));
        let mut config = Config::new();
        config.failure_persistence = FailurePersistence::None;
        config.silence_warnings = true;
        Runner::new(shuttle::scheduler::RandomScheduler::new(1), config).run(|| {});
        let shuttle_hook = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let Some(note) = QUIET.with(|quiet| quiet.try_borrow().ok().and_then(|q| q.clone()))
            else {
                return previous(info);
            };
            if verbose() {
                shuttle_hook(info);
            }
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
            });
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

/// Executions a run passed and cut short.
struct RunCounts {
    executions: usize,
    cut_short: usize,
}

/// Runs executions with shuttle's own failure printing off and panics
/// silenced on this thread (see [`quietly`]); returns the executions run
/// and cut short, or the failure message ([normalised](normalise_failure))
/// and the failing execution's number.
fn run_quietly<S, F>(scheduler: S, test: F, bound: StepBound) -> Result<RunCounts, (String, usize)>
where
    S: Scheduler + 'static,
    F: Fn() + Send + Sync + 'static,
{
    let verbose = verbose();
    let mut config = Config::new();
    config.failure_persistence = if verbose {
        FailurePersistence::Print
    } else {
        FailurePersistence::None
    };
    config.silence_warnings = !verbose;
    if let StepBound::CutShort(steps) = bound {
        config.max_steps = MaxSteps::ContinueAfter(steps);
    }
    let executions = Arc::new(AtomicUsize::new(0));
    let finished = Arc::new(AtomicUsize::new(0));
    let (counter, done) = (executions.clone(), finished.clone());
    // An execution that shuttle stops at the step bound never returns from
    // `test`: started but not finished, and not failed, is cut short.
    let counted = move || {
        counter.fetch_add(1, Ordering::Relaxed);
        test();
        done.fetch_add(1, Ordering::Relaxed);
    };
    let result = quietly(|| Runner::new(scheduler, config).run(counted));
    let executions = executions.load(Ordering::Relaxed);
    let finished = finished.load(Ordering::Relaxed);
    result
        .map(|_| RunCounts {
            executions,
            cut_short: executions - finished,
        })
        .map_err(|message| (normalise_failure(&message), executions))
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

/// A failure message without what only some environments add to it: with
/// `SHUTTLE_CAPTURE_BACKTRACE` set, shuttle appends each blocked task's
/// backtrace to a deadlock's message (`\nBacktrace:\n` and indented frame
/// lines, or `\nBacktrace: <not captured>\n`); they are removed, so that
/// the message saved and the one a replay compares are the same with and
/// without it.
///
/// ```
/// use stm_check::schedule::normalise_failure;
///
/// let plain = "deadlock! blocked tasks: [main-thread (task main-thread(0)), <unknown> (task t(1))]";
/// let traced = "deadlock! blocked tasks: [main-thread (task main-thread(0))\nBacktrace:\n   0: f\n             at src/a.rs:1:2\n, <unknown> (task t(1))\nBacktrace: <not captured>\n]";
/// assert_eq!(normalise_failure(traced), plain);
/// assert_eq!(normalise_failure(plain), plain);
/// ```
pub fn normalise_failure(message: &str) -> String {
    if !message.contains("\nBacktrace:") {
        return message.to_string();
    }
    let mut out = String::with_capacity(message.len());
    let mut in_backtrace = false;
    // After a backtrace, the next line continues the one before it.
    let mut glue = false;
    for (i, line) in message.split('\n').enumerate() {
        if line.starts_with("Backtrace:") {
            in_backtrace = true;
            continue;
        }
        if in_backtrace && (line.is_empty() || line.starts_with(char::is_whitespace)) {
            continue;
        }
        if in_backtrace {
            in_backtrace = false;
            glue = true;
        }
        if i > 0 && !glue {
            out.push('\n');
        }
        glue = false;
        out.push_str(line);
    }
    out
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

    /// The main thread spins (yielding) until a spawned thread sets a flag:
    /// correct, but DFS runs the spinner again at every yield.
    fn spin_until_set() {
        use shuttle::sync::atomic::{AtomicBool, Ordering};
        let flag = std::sync::Arc::new(AtomicBool::new(false));
        let setter = {
            let flag = flag.clone();
            shuttle::thread::spawn(move || flag.store(true, Ordering::SeqCst))
        };
        while !flag.load(Ordering::SeqCst) {
            shuttle::thread::yield_now();
        }
        setter.join().unwrap();
    }

    #[test]
    fn dfs_cuts_a_starving_execution_short_instead_of_failing_it() {
        use shuttle::scheduler::DfsScheduler;
        let failed = run_recorded(DfsScheduler::new(Some(5), false), spin_until_set);
        let Outcome::Failed(failure) = failed else {
            panic!("shuttle's bound fails it: {failed:?}");
        };
        assert!(
            failure.message.contains("exceeded max_steps"),
            "{}",
            failure.message
        );

        let bounded = run_recorded_bounded(
            DfsScheduler::new(Some(5), false),
            spin_until_set,
            StepBound::CutShort(1_000),
        );
        let BoundedOutcome {
            outcome: Outcome::Passed { executions },
            cut_short,
        } = bounded
        else {
            panic!("cut short, not failed: {bounded:?}");
        };
        assert!(cut_short >= 1, "{cut_short} of {executions}");
        assert!(cut_short <= executions, "{cut_short} of {executions}");
    }

    #[test]
    fn backtraces_are_stripped_from_failure_messages() {
        let traced = "deadlock! blocked tasks: [main-thread (task main-thread(0))\nBacktrace:\n   0: std::backtrace::Backtrace::force_capture\n             at /rustc/library/std/src/backtrace.rs:312:9\n   1: shuttle::Task::block\n, <unknown> (task main-thread(3))\nBacktrace:\n   0: f\n]";
        assert_eq!(
            normalise_failure(traced),
            "deadlock! blocked tasks: [main-thread (task main-thread(0)), <unknown> (task main-thread(3))]"
        );
        let multi_line = "assertion failed\n  left: 1\n right: 2";
        assert_eq!(normalise_failure(multi_line), multi_line);
    }
}
