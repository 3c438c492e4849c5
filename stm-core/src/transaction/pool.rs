//! The queue's helper threads: started at its first run on several
//! workers, kept parked between runs, stopped when the queue is dropped.
//!
//! Starting threads for every run cost more than a short run gains: on a
//! 2-core machine a new thread began working 0.2 to 4 ms after the run
//! began (and joining it took 0.15 ms more), against 5 ms for a run of
//! 10,000 items of a microsecond each. A kept helper is woken instead, as
//! rayon's pool is.
//!
//! The protocol, on the platform's atomics (loom checks it, see
//! `loom_kept_helper_works_on_every_run_and_stops` in `queue_models.rs`):
//! - the caller sets `finished` to 0, puts one job per helper in `jobs`
//!   (each holds the run), and announces the round (`round`, a
//!   read-modify-write through the helpers' [`Parking`]); at the first run
//!   it spawns the helpers with their jobs instead;
//! - a helper waits for a round it has not worked on (or for the stop),
//!   takes a job, works (which drops the job, and with it the run), leaves
//!   its share, and counts itself in `finished` through the caller's
//!   `Parking`;
//! - the caller works too, then waits for `finished` to reach the number
//!   of helpers and takes the shares. The next round is announced only
//!   after that, so every helper works on every round exactly once, and
//!   holds nothing of a run once the run returns: which is what lets the
//!   queue's items borrow (the run's last share, with the items not run,
//!   is the caller's).

use super::parking::Parking;
use super::worker::{RunShared, WorkerReport};
use crate::injected_bug::BugSwitch;
use crate::platform::{Arc, AtomicWord, Lock, Ordering, Platform};
use crate::stm::Stm;
use crate::JoinHandle;
use core::any::Any;
use std::panic::{catch_unwind, AssertUnwindSafe};

/// What a worker's share of a run gave: its report, or its panic (an
/// engine bug: items' panics are caught as items' failures).
pub(crate) type Share = Result<WorkerReport, Box<dyn Any + Send>>;

/// A helper's part of one run.
type Job = Box<dyn FnOnce() -> WorkerReport + Send>;

/// `round`'s value once the pool stops.
const STOPPED: u64 = u64::MAX;

/// What the caller and its helpers share.
struct Board<P: Platform> {
    /// Rounds announced so far, or [`STOPPED`].
    round: P::AtomicU64,
    /// The jobs of the current round not yet taken.
    jobs: P::Mutex<Vec<Job>>,
    /// Helpers done with the current round.
    finished: P::AtomicU64,
    /// The helpers' shares of the current round.
    shares: P::Mutex<Vec<Share>>,
    /// Where helpers wait for a round.
    helpers_wait: Parking<P>,
    /// Where the caller waits for its helpers.
    caller_waits: Parking<P>,
    /// Only with the injected bug `helper-keeps-run` (`Some`): a share of
    /// the current run, which a helper lets go of after counting itself
    /// done.
    kept_run: Option<P::Mutex<Option<Box<dyn Send>>>>,
}

/// Helper threads that work on every run of one queue.
pub(crate) struct WorkerPool<P: Platform> {
    stm: Stm<P>,
    board: Arc<Board<P>>,
    helpers: Vec<JoinHandle<Option<Share>, P>>,
    /// Helpers the next run is to have.
    wanted: usize,
    /// Whether helpers stay between runs; if not, each run spawns its
    /// helpers and joins them.
    keep: bool,
    /// Rounds announced so far (this pool alone announces them).
    rounds: u64,
}

impl<P: Platform> WorkerPool<P> {
    /// A pool of `helpers` threads on `stm`'s platform, spawned by its
    /// first run, and kept between runs if `keep`. `lose_wakeup` injects
    /// `InjectedBug::LoseQueueWakeup` into its waits.
    pub(crate) fn new(stm: &Stm<P>, helpers: usize, keep: bool, lose_wakeup: bool) -> Self {
        let board = Arc::new(Board {
            round: P::AtomicU64::new(0),
            jobs: P::Mutex::new(Vec::with_capacity(helpers)),
            finished: P::AtomicU64::new(0),
            shares: P::Mutex::new(Vec::with_capacity(helpers)),
            helpers_wait: Parking::new(lose_wakeup),
            caller_waits: Parking::new(lose_wakeup),
            kept_run: stm
                .shared()
                .has_bug(BugSwitch::HelperKeepsRun)
                .then(|| P::Mutex::new(None)),
        });
        WorkerPool {
            stm: stm.clone(),
            board,
            helpers: Vec::with_capacity(helpers),
            wanted: helpers,
            keep,
            rounds: 0,
        }
    }

    /// Whether this pool gives runs `helpers` helpers, kept if `keep`.
    pub(crate) fn fits(&self, helpers: usize, keep: bool) -> bool {
        self.wanted == helpers && self.keep == keep
    }

    /// Runs `run` on the calling thread and every helper; returns the
    /// caller's share first, then the helpers'. Returns only once no
    /// helper holds `run` any more, also when a share panicked.
    pub(crate) fn run<E: Send + 'static>(&mut self, run: &Arc<RunShared<P, E>>) -> Vec<Share> {
        let board = &*self.board;
        let job = || {
            let run = run.clone();
            Box::new(move || run.work()) as Job
        };
        board.finished.store(0, Ordering::Relaxed);
        let mut spawn_failed = None;
        if self.helpers.is_empty() {
            // The first run starts its helpers with their jobs: nothing to
            // announce. Spawning publishes `finished` to them.
            let (round, keep) = (self.rounds, self.keep);
            for _ in 0..self.wanted {
                let (board, job) = (self.board.clone(), job());
                let stm = &self.stm;
                match catch_unwind(AssertUnwindSafe(|| {
                    stm.spawn(move || help(&board, round, job, keep))
                })) {
                    Ok(helper) => self.helpers.push(helper),
                    Err(panic) => {
                        // The system would not start a thread. Those
                        // started hold the run: stop it, and raise the
                        // panic only once they let go of it (the items may
                        // borrow from the caller). A pool short of helpers
                        // fits no later run.
                        run.hand_off.stop();
                        self.wanted = self.helpers.len();
                        spawn_failed = Some(panic);
                        break;
                    }
                }
            }
        } else {
            board
                .jobs
                .with(|jobs| jobs.extend((0..self.wanted).map(|_| job())));
            if let Some(kept_run) = &board.kept_run {
                let share: Box<dyn Send> = Box::new(run.clone());
                kept_run.with(|kept| *kept = Some(share));
            }
            self.rounds += 1;
            // The release of the announcing read-modify-write publishes
            // `jobs` and `finished` to every helper that reads the round.
            board
                .helpers_wait
                .announce(|| board.round.fetch_add(1, Ordering::AcqRel));
        }
        // Nothing below unwinds before every helper has let go of the run:
        // the caller's own share catches its panics.
        let own = catch_unwind(AssertUnwindSafe(|| run.work()));
        let mut shares = vec![own];
        if self.keep {
            let helpers = self.wanted as u64;
            board
                .caller_waits
                .wait_until(|exact| finished(board, exact) == helpers);
            board.shares.with(|theirs| shares.append(theirs));
        } else {
            // Each helper returns its share and ends.
            for helper in self.helpers.drain(..) {
                shares.push(match helper.join() {
                    Ok(share) => share.expect("a helper that is not kept returns its share"),
                    Err(panic) => Err(panic),
                });
            }
        }
        if let Some(panic) = spawn_failed {
            std::panic::resume_unwind(panic);
        }
        shares
    }
}

impl<P: Platform> Drop for WorkerPool<P> {
    fn drop(&mut self) {
        if std::thread::panicking() && P::is_model_checker() {
            // Perhaps the checker ending a failed execution: the helpers'
            // tasks are gone with it, and so is the board's platform state.
            return;
        }
        if self.helpers.is_empty() {
            return;
        }
        let board = &*self.board;
        board
            .helpers_wait
            .announce(|| board.round.swap(STOPPED, Ordering::AcqRel));
        for helper in self.helpers.drain(..) {
            // A helper catches its shares' panics: it cannot end in one.
            let _ = helper.join();
        }
    }
}

/// Helpers done with the current round (`exact`: by a read-modify-write,
/// as `Parking::wait_until` requires).
fn finished<P: Platform>(board: &Board<P>, exact: bool) -> u64 {
    if exact {
        board.finished.fetch_add(0, Ordering::AcqRel)
    } else {
        board.finished.load(Ordering::Acquire)
    }
}

/// The latest round (`exact` as in [`busy`]).
fn round<P: Platform>(board: &Board<P>, exact: bool) -> u64 {
    if exact {
        board.round.fetch_add(0, Ordering::AcqRel)
    } else {
        board.round.load(Ordering::Acquire)
    }
}

/// A helper's life: `job`, its part of round `done`, then, if `keep`,
/// every later round once, until the pool stops; if not, it returns the
/// job's share.
fn help<P: Platform>(board: &Board<P>, mut done: u64, mut job: Job, keep: bool) -> Option<Share> {
    if !keep {
        return Some(catch_unwind(AssertUnwindSafe(job)));
    }
    loop {
        // The job is dropped (and the run with it) as it returns.
        let share = catch_unwind(AssertUnwindSafe(job));
        board.shares.with(|shares| shares.push(share));
        board
            .caller_waits
            .announce(|| board.finished.fetch_add(1, Ordering::AcqRel));
        if let Some(kept_run) = &board.kept_run {
            drop(kept_run.with(Option::take));
        }
        board
            .helpers_wait
            .wait_until(|exact| round(board, exact) != done);
        done = round(board, true);
        if done == STOPPED {
            return None;
        }
        job = board
            .jobs
            .with(Vec::pop)
            .expect("a round is announced with a job for every helper");
    }
}
