//! The transaction queue: multicore use without threads.
//!
//! Add work items to a [`TransactionQueue`]; [`run`](TransactionQueue::run)
//! executes them on every core, each in its own transaction, and the result
//! is as if they had run one after another. This is PyPy-STM's `transaction`
//! module, with two differences that fix what ended it: the order can be made
//! the one you added the items in ([`run_ordered`](TransactionQueue::run_ordered)),
//! so a parallel run is reproducible and equal to a plain loop; and the
//! runtime tells you which TVars made items conflict
//! ([`report`](TransactionQueue::report)).
//!
//! | PyPy-STM | here |
//! | --- | --- |
//! | `transaction.add(f, *args)` | [`queue.add(move \|tx\| ...)`](TransactionQueue::add) |
//! | `transaction.run()` (some serial order) | [`queue.run()`](TransactionQueue::run) |
//! | (not available) | [`queue.run_ordered()`](TransactionQueue::run_ordered): the order of `add` |
//! | `add` from inside a running item | [`tx.add(...)`](ItemTx::add), kept only if the item commits |
//! | `thread.atomic` | [`atomically`](crate::atomically) |
//! | conflict log (`PYPYSTM` file) | [`queue.report()`](TransactionQueue::report), printed as a table |
//!
//! The f(1), f(2), f(3) story of the PyPy-STM talk: with a GIL they run one
//! after another; here they run on all cores, and the outcome is the same as
//! calling them in a row.
//!
//! ```
//! use stm_core::transaction::TransactionQueue;
//! use stm_core::TVar;
//!
//! let total = TVar::new(0u64);
//! let calls = TVar::new(Vec::new());
//! let mut queue = TransactionQueue::new();
//! for i in 1..=3u64 {
//!     // Items may borrow: here `total` and `calls`.
//!     let (total, calls) = (&total, &calls);
//!     queue.add(move |tx| {
//!         // f(i): some work on shared state, in one transaction.
//!         tx.modify(&total, |t| t + i * i)?;
//!         tx.modify(&calls, |mut c| {
//!             c.push(i);
//!             c
//!         })?;
//!         Ok(())
//!     });
//! }
//! queue.run_ordered().unwrap();
//! assert_eq!(total.load(), 1 + 4 + 9);
//! assert_eq!(calls.load(), vec![1, 2, 3]); // exactly the serial order
//! ```
//!
//! # Guarantees
//!
//! * Every item commits exactly once (unless the run stops on an error).
//! * `run()`: the final state equals that of SOME serial execution of the
//!   items (the order they happened to commit in).
//! * `run_ordered()`: the final state equals running the items serially in
//!   the order they were added, while they still execute in parallel: each
//!   item runs speculatively and commits only at its turn, after
//!   re-validating what it read; an item whose reads were invalidated by an
//!   earlier item runs again. Items must depend only on what they read
//!   through their transaction.
//! * Items added from inside an item (with [`ItemTx::add`]) join the queue
//!   only if the adding item commits, and go to its end: an ordered run
//!   equals the loop `while let Some(item) = queue.pop_front() { item(&mut
//!   queue) }`, where an item's additions are numbered, in the order it
//!   added them, after every item already queued when it committed.
//!
//! # Items may borrow
//!
//! Items may borrow what outlives the queue (the `'env` of
//! [`TransactionQueue<'env>`](TransactionQueue)), as rayon's `par_iter`
//! and `std::thread::scope` let closures do: an item can use `&TVar`s, or
//! any `Sync` data, of the code that queues it, with no `clone` of a
//! handle to make and drop. Every item is run and dropped (or given up and
//! dropped) before `run` returns, and the helper threads hold nothing of a
//! run after it; items still queued are dropped with the queue, which the
//! borrow checker keeps inside `'env`. Items added from inside an item
//! ([`ItemTx::add`]) must be `'static`.
//!
//! # How a run goes
//!
//! The calling thread is one of the workers; the others are helper threads
//! that the queue starts at its first run and keeps, parked, for the next
//! ones, until it is dropped (see [`keep_workers`](TransactionQueue::keep_workers)).
//! Workers claim item numbers in batches and take the items from a table, so
//! that a run in any order touches no lock and no shared counter per item;
//! idle workers poll, then sleep until items are added or the run ends. In an
//! ordered run workers claim runs of consecutive items, commit each at its
//! turn, and pass the turn on once per run; an item whose body finishes
//! before its turn does not keep its worker: unless the item just ahead is
//! about to commit, its attempt is detached, and its worker commits it when
//! the turn reaches it, after re-validating what it read (or runs it again,
//! at once, if an earlier item changed that). [`RunSummary::detached`]
//! counts such items.
//!
//! In both modes a worker commits a few consecutive items of its batch (up
//! to 16) together, in one transaction: running them one after another is
//! one of the serial orders `run` may pick, and in an ordered run it is the
//! order they were added in (the group commits at the turn of its first
//! item, and its worker holds the turns of the rest). The costs a
//! transaction pays once (taking a commit version from the shared clock,
//! locking a total the items all update, and in an ordered run detaching
//! and resuming an attempt that finished before its turn) are then paid
//! once per group. A group that cannot commit at its first attempt (or, in
//! an ordered run, one found stale at its turn) keeps nothing, and its
//! items run again one by one, each in its own transaction, so errors,
//! panics and `retry` are those of single items (an item of such a group
//! runs once more: its body, as always, must not have effects outside the
//! transaction that a re-run would repeat). Groups grow while they commit
//! and shrink when they conflict, so items that keep conflicting run alone.
//! [`RunSummary::stats`] counts a group as one transaction. With
//! [`StmConfig::conflict_reports`](crate::StmConfig::conflict_reports) on,
//! items always run alone, so that each conflict names its item's call site.
//!
//! `tx.commute(&total, f)` lets items that add to one shared total run in
//! parallel without conflicting on it (see [`Transaction::commute`]).
//!
//! # Errors and panics
//!
//! An item that returns `Err(TxError::Abort(e))` or panics stops the run: no
//! further item starts, no item is half-applied (the failing one has no
//! effect), and `run` returns a [`RunError`] with the first error and the ids
//! of the items that committed; a panic is re-raised instead, after recording
//! the committed items ([`last_committed`](TransactionQueue::last_committed)).
//! In an ordered run the failure is settled at the item's turn, so it is the
//! first failure of the serial order and exactly the items before it have
//! committed. An item of an ordered run that calls `retry` at its turn, when
//! no earlier item is left to change what it read, fails the run with
//! [`ItemFailure::WouldBlockForever`] (a serial run would hang there); in
//! `run` it blocks until some other transaction changes what it read.

mod commit_order;
mod grouping;
mod hand_off;
mod item;
mod parking;
mod pool;
mod serial_order;
mod slots;
mod worker;

use crate::conflict_report::ConflictReport;
use crate::error::TxError;
use crate::injected_bug::BugSwitch;
use crate::platform::{Lock, Platform, Std};
use crate::stats::StmStats;
use crate::stm::Stm;
use crate::tx::Transaction;
use commit_order::CommitOrder;
use core::fmt;
use core::marker::PhantomData;
use core::ops::{Deref, DerefMut};
use core::panic::Location;
use hand_off::{HandOff, HandOffBugs};
use item::{Item, ItemArena};
use pool::WorkerPool;
use serial_order::SerialOrder;
use worker::{Failure, RunShared};

/// The default error type of queue items: any error.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// An item's number in its run: items added before the run are numbered
/// from 0 in the order of `add`; items added by items get the next numbers
/// when the adding item commits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ItemId(pub u64);

impl fmt::Display for ItemId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "item {}", self.0)
    }
}

/// The transaction an item runs in: everything a [`Transaction`] offers
/// (through `Deref`), plus [`add`](ItemTx::add).
pub struct ItemTx<'a, 'rt, P: Platform, E> {
    tx: &'a mut Transaction<'rt, P>,
    added: &'a mut Vec<Item<P, E>>,
}

impl<P: Platform, E: Send + 'static> ItemTx<'_, '_, P, E> {
    /// Adds an item to the running queue. It is queued only if this item's
    /// transaction commits (its attempts that abort add nothing).
    ///
    /// ```
    /// use stm_core::transaction::TransactionQueue;
    /// use stm_core::TVar;
    ///
    /// let visited = TVar::new(0u32);
    /// let mut queue = TransactionQueue::new();
    /// let v = visited.clone();
    /// queue.add(move |tx| {
    ///     tx.modify(&v, |n| n + 1)?;
    ///     let v = v.clone();
    ///     tx.add(move |tx| Ok(tx.modify(&v, |n| n + 10)?));
    ///     Ok(())
    /// });
    /// queue.run_ordered().unwrap();
    /// assert_eq!(visited.load(), 11);
    /// ```
    #[track_caller]
    pub fn add(
        &mut self,
        item: impl FnMut(&mut ItemTx<'_, '_, P, E>) -> Result<(), TxError<E>> + Send + 'static,
    ) {
        self.added.push(Item::boxed(item, Location::caller()));
    }
}

impl<'rt, P: Platform, E> Deref for ItemTx<'_, 'rt, P, E> {
    type Target = Transaction<'rt, P>;
    fn deref(&self) -> &Self::Target {
        self.tx
    }
}

impl<P: Platform, E> DerefMut for ItemTx<'_, '_, P, E> {
    fn deref_mut(&mut self) -> &mut Self::Target {
        self.tx
    }
}

/// Why a run stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ItemFailure<E> {
    /// The item gave up with this error.
    Error(E),
    /// In an ordered run, the item retried at its turn with no earlier item
    /// left that could change what it read: a serial run would block forever.
    WouldBlockForever,
}

/// A run that stopped on an item's failure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunError<E> {
    /// The item that failed.
    pub item: ItemId,
    /// How it failed.
    pub failure: ItemFailure<E>,
    /// The items that committed, in commit order.
    pub committed: Vec<ItemId>,
    /// Items that had no effect and did not fail: never run, or given up
    /// (their attempt discarded) when the run stopped.
    pub not_run: usize,
}

impl<E: fmt::Display> fmt::Display for RunError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.failure {
            ItemFailure::Error(e) => write!(f, "{} failed: {e}", self.item)?,
            ItemFailure::WouldBlockForever => write!(
                f,
                "{} retried with no earlier item left to wake it (a serial run would block forever)",
                self.item
            )?,
        }
        write!(
            f,
            "; {} item(s) committed, {} not run",
            self.committed.len(),
            self.not_run
        )
    }
}

impl<E: fmt::Debug + fmt::Display> std::error::Error for RunError<E> {}

/// What a successful run did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunSummary {
    /// Items committed (each exactly once), added ones included.
    pub committed: u64,
    /// Workers used.
    pub workers: usize,
    /// In an ordered run, the items whose body finished before their turn
    /// (alone or in a group, see the [module docs](self#how-a-run-goes)):
    /// their worker went on to other items and committed the item when the
    /// turn reached it (or ran it again, if an earlier item changed what it
    /// read). Always 0 in a run in any order.
    pub detached: u64,
    /// The runtime's statistics over the run (attempts, aborts, ...): of
    /// transactions, where a worker may commit several items in one (see
    /// the [module docs](self#how-a-run-goes)).
    pub stats: StmStats,
}

/// A queue of work items, each run as one transaction; see the
/// [module docs](self). Its items may borrow what lives for `'env`.
///
/// The queue cannot outlive what its items borrow:
///
/// ```compile_fail
/// use stm_core::transaction::TransactionQueue;
/// use stm_core::TVar;
///
/// let mut queue = TransactionQueue::new();
/// {
///     let total = TVar::new(0);
///     queue.add(|tx| Ok(tx.modify(&total, |t| t + 1)?));
/// } // `total` is gone here, while the queue still holds the item.
/// queue.run().unwrap();
/// ```
pub struct TransactionQueue<'env, P: Platform = Std, E = BoxError> {
    stm: Stm<P>,
    /// Dropped before `arena`, which holds their closures.
    items: Vec<Item<P, E>>,
    arena: ItemArena,
    workers: usize,
    /// What the last run committed.
    last_committed: SerialOrder,
    /// Whether the helper threads stay between runs.
    keep_workers: bool,
    /// The helper threads of runs on several workers.
    pool: Option<WorkerPool<P>>,
    /// What the items borrow (`items` and `arena` do not say).
    borrows: PhantomData<&'env ()>,
}

/// Drops the items still queued while what they borrow is alive: a queue
/// with a `Drop` of its own is one the borrow checker requires to be gone
/// before `'env` ends.
impl<P: Platform, E> Drop for TransactionQueue<'_, P, E> {
    fn drop(&mut self) {
        self.items.clear();
    }
}

impl TransactionQueue<'_, Std, BoxError> {
    /// A queue on the default runtime, with one worker per available core.
    pub fn new() -> Self {
        Self::with_runtime(crate::platform::default_runtime())
    }
}

impl Default for TransactionQueue<'_, Std, BoxError> {
    fn default() -> Self {
        Self::new()
    }
}

impl<P: Platform> TransactionQueue<'_, P, BoxError> {
    /// A queue whose items run on `stm` (any platform) and fail with any
    /// error ([`BoxError`]); the error type needs no annotation.
    ///
    /// ```
    /// use stm_core::transaction::TransactionQueue;
    /// use stm_core::Stm;
    ///
    /// let stm = Stm::new();
    /// let total = stm.new_tvar(0u32);
    /// let mut queue = TransactionQueue::with_runtime(&stm).workers(2);
    /// for i in 1..=3 {
    ///     let total = total.clone();
    ///     queue.add(move |tx| Ok(tx.modify(&total, |t| t + i)?));
    /// }
    /// queue.run().unwrap();
    /// assert_eq!(total.load(), 6);
    /// ```
    ///
    /// For items that fail with an error type of your own, use
    /// [`with_runtime_and_error_type`](TransactionQueue::with_runtime_and_error_type).
    pub fn with_runtime(stm: &Stm<P>) -> Self {
        Self::with_runtime_and_error_type(stm)
    }
}

impl<'env, P: Platform, E: Send + 'static> TransactionQueue<'env, P, E> {
    /// A queue whose items run on `stm` (any platform) and fail with errors
    /// of type `E`, named by the queue's type.
    ///
    /// ```
    /// use stm_core::transaction::{ItemFailure, TransactionQueue};
    /// use stm_core::{Stm, TxError};
    ///
    /// let stm = Stm::new();
    /// let mut queue = TransactionQueue::<_, String>::with_runtime_and_error_type(&stm).workers(2);
    /// queue.add(|_tx| Err(TxError::Abort("no".to_string())));
    /// let error = queue.run().unwrap_err();
    /// assert_eq!(error.failure, ItemFailure::Error("no".to_string()));
    /// ```
    pub fn with_runtime_and_error_type(stm: &Stm<P>) -> Self {
        TransactionQueue {
            stm: stm.clone(),
            items: Vec::new(),
            arena: ItemArena::default(),
            workers: P::available_parallelism(),
            last_committed: SerialOrder::default(),
            keep_workers: !P::is_model_checker(),
            pool: None,
            borrows: PhantomData,
        }
    }

    /// Sets the number of workers (at least 1).
    pub fn workers(mut self, workers: usize) -> Self {
        self.workers = workers.max(1);
        self
    }

    /// Whether the helper threads of a run (its workers but the calling
    /// thread) stay, parked, for the next run, as a rayon pool's threads
    /// do, until the queue is dropped; if not, every run starts them and
    /// waits for them to end. Waking a kept helper takes tens of
    /// microseconds, starting one up to milliseconds.
    ///
    /// Default: kept on real threads. Under a model checker (loom,
    /// shuttle) each run starts its own, which keeps the checkers' state
    /// spaces small; the kept pool has models of its own.
    ///
    /// ```
    /// use stm_core::transaction::TransactionQueue;
    /// use stm_core::TVar;
    ///
    /// let total = TVar::new(0);
    /// let mut queue = TransactionQueue::new().workers(2).keep_workers(true);
    /// for round in 1..=3 {
    ///     for _ in 0..10 {
    ///         let total = total.clone();
    ///         queue.add(move |tx| Ok(tx.modify(&total, |t| t + round)?));
    ///     }
    ///     // The second and third runs wake the helper the first one started.
    ///     queue.run().unwrap();
    /// }
    /// assert_eq!(total.load(), 60);
    /// ```
    pub fn keep_workers(mut self, keep: bool) -> Self {
        self.keep_workers = keep;
        self
    }

    /// The number of workers runs use (see [`workers`](Self::workers)).
    ///
    /// ```
    /// use stm_core::transaction::TransactionQueue;
    ///
    /// assert_eq!(TransactionQueue::new().workers(3).worker_count(), 3);
    /// ```
    pub fn worker_count(&self) -> usize {
        self.workers
    }

    /// Adds an item: a closure run as one transaction (possibly several
    /// times, if it conflicts; only its committed run counts). It may
    /// borrow what outlives the queue, as here the TVars of `slots`:
    ///
    /// ```
    /// use stm_core::transaction::TransactionQueue;
    /// use stm_core::TVar;
    ///
    /// let slots: Vec<TVar<u64>> = (0..100).map(|_| TVar::new(0)).collect();
    /// let mut queue = TransactionQueue::new().workers(2);
    /// for (i, slot) in slots.iter().enumerate() {
    ///     queue.add(move |tx| Ok(tx.write(slot, i as u64 * 2)?));
    /// }
    /// queue.run().unwrap();
    /// assert_eq!(slots[21].load(), 42);
    /// ```
    #[track_caller]
    pub fn add(
        &mut self,
        item: impl FnMut(&mut ItemTx<'_, '_, P, E>) -> Result<(), TxError<E>> + Send + 'env,
    ) {
        // SAFETY: the item lives in `items` until a run takes it, and a run
        // drops every item it takes before it returns or unwinds (the pool
        // returns only once no helper holds the run, see `pool`); `items`
        // is cleared by the queue's `Drop`, which the borrow checker keeps
        // inside `'env`.
        let item = unsafe { Item::in_arena(&mut self.arena, item, Location::caller()) };
        self.items.push(item);
    }

    /// Items waiting for the next run.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether no item is waiting.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Runs every queued item (and every item they add) on the workers; the
    /// final state equals some serial execution of the items.
    pub fn run(&mut self) -> Result<RunSummary, RunError<E>> {
        self.run_items(false)
    }

    /// Runs every queued item (and every item they add) on the workers; the
    /// final state equals running them serially in the order they were
    /// added. See the [module docs](self) for where added items go.
    pub fn run_ordered(&mut self) -> Result<RunSummary, RunError<E>> {
        self.run_items(true)
    }

    /// The items that committed in the last run (also after it panicked).
    pub fn last_committed(&self) -> &[ItemId] {
        self.last_committed.items()
    }

    /// The runtime's conflict report (empty unless the runtime records
    /// conflicts: [`StmConfig::conflict_reports`](crate::StmConfig::conflict_reports)).
    pub fn report(&self) -> ConflictReport {
        self.stm.conflict_report()
    }

    fn run_items(&mut self, ordered: bool) -> Result<RunSummary, RunError<E>> {
        let before = self.stm.stats();
        let items = core::mem::take(&mut self.items);
        let shared = crate::platform::Arc::new(RunShared {
            stm: self.stm.clone(),
            hand_off: HandOff::new(
                items,
                HandOffBugs {
                    lose_wakeup: self.stm.shared().has_bug(BugSwitch::LoseQueueWakeup),
                    claim_twice: self.stm.shared().has_bug(BugSwitch::ClaimItemsTwice),
                },
            ),
            order: ordered.then(|| {
                CommitOrder::new(self.stm.shared().has_bug(BugSwitch::OrderedCommitEarly))
            }),
            workers: self.workers,
            failure: P::Mutex::new((None, 0)),
            arena: core::mem::take(&mut self.arena),
        });
        // The calling thread is one of the workers; the others are the
        // pool's, started at the first run that needs them.
        let helpers = self.workers - 1;
        let shares = if helpers == 0 {
            vec![Ok(shared.work())]
        } else {
            let keep = self.keep_workers;
            if !self
                .pool
                .as_ref()
                .is_some_and(|pool| pool.fits(helpers, keep))
            {
                self.pool = None; // stops the old helpers first
                let lose_wakeup = self.stm.shared().has_bug(BugSwitch::LoseQueueWakeup);
                self.pool = Some(WorkerPool::new(&self.stm, helpers, keep, lose_wakeup));
            }
            self.pool.as_mut().expect("set above").run(&shared)
        };
        // Every share is in before a panic goes on.
        let mut reports = Vec::with_capacity(shares.len());
        for share in shares {
            match share {
                Ok(report) => reports.push(report),
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
        let detached = reports.iter().map(|r| r.detached).sum();
        self.last_committed = match &shared.order {
            Some(order) => SerialOrder::ordered(order.turn(false)),
            None => SerialOrder::of_workers(reports.into_iter().map(|r| r.committed).collect()),
        };
        let (failure, failed) = shared
            .failure
            .with(|(first, failed)| (first.take(), *failed));
        let not_run =
            (shared.hand_off.allocated(false) - self.last_committed.len() - failed) as usize;
        // Every worker has let go of the run (see `pool`): the items not
        // run are dropped here, before `run` returns (they may borrow what
        // the caller is about to free), and the arena's memory serves the
        // next run's items (nothing freed now, no page faults as they are
        // queued).
        let Ok(run) = crate::platform::Arc::try_unwrap(shared) else {
            // A helper still holding the run could drop items after their
            // borrows end: stop here rather than let it (a model checker
            // reports the panic, with the interleaving).
            let message = "stm: a queue run returned while a helper held it (an engine bug)";
            if P::is_model_checker() {
                panic!("{message}");
            }
            eprintln!("{message}");
            std::process::abort();
        };
        let RunShared {
            hand_off, arena, ..
        } = run;
        drop(hand_off); // with the items not run, which live in the arena
        self.arena = arena;
        // SAFETY: every item placed in the arena has been dropped: run (or
        // given up) by the workers, or just now with the hand-off.
        unsafe { self.arena.reuse() };
        match failure {
            None => Ok(RunSummary {
                committed: self.last_committed.len(),
                workers: self.workers,
                detached,
                stats: self.stm.stats().since(&before),
            }),
            Some((_, Failure::Panic(panic))) => std::panic::resume_unwind(panic),
            Some((item, Failure::Error(error))) => Err(RunError {
                item,
                failure: ItemFailure::Error(error),
                committed: self.last_committed.items().to_vec(),
                not_run,
            }),
            Some((item, Failure::Stuck)) => Err(RunError {
                item,
                failure: ItemFailure::WouldBlockForever,
                committed: self.last_committed.items().to_vec(),
                not_run,
            }),
        }
    }
}

impl<P: Platform, E> fmt::Debug for TransactionQueue<'_, P, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TransactionQueue")
            .field("items", &self.items.len())
            .field("workers", &self.workers)
            .finish_non_exhaustive()
    }
}
