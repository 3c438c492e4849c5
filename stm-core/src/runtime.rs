//! `Stm`: a runtime (version clock, statistics, TVar ids, settings) and the
//! `atomically` loop that runs, commits, re-runs and blocks transactions.

use crate::error::{AbortKind, StmError, TxError};
use crate::platform::{Arc, AtomicWord, Ordering, Platform, Std};
use crate::stats::{Stats, StmStats, Tally};
use crate::tvar::{TVar, TVarId};
use crate::tx::Transaction;
use crate::version_lock::VersionClock;
use core::convert::Infallible;
use core::fmt;

/// Settings of a runtime.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StmConfig {
    /// After this many conflict aborts, a transaction's next attempt runs
    /// irrevocably (serial mode), which cannot be aborted by conflicts. This
    /// bounds the attempts of every transaction: no livelock, no starvation.
    pub irrevocable_after: u32,
}

impl Default for StmConfig {
    fn default() -> Self {
        StmConfig {
            irrevocable_after: 16,
        }
    }
}

/// State shared by a runtime's handles, TVars and transactions.
pub(crate) struct RuntimeShared<P: Platform> {
    pub(crate) clock: VersionClock<P>,
    pub(crate) stats: Stats<P>,
    next_tvar_id: P::AtomicU64,
    config: StmConfig,
}

impl<P: Platform> RuntimeShared<P> {
    pub(crate) fn next_tvar_id(&self) -> TVarId {
        self.next_tvar_id.fetch_add(1, Ordering::Relaxed)
    }
}

/// A transactional-memory runtime on platform `P`.
///
/// All engine state (the version clock, statistics, TVar ids) lives here, so
/// a model checker can create a fresh runtime for every execution. `Stm` is a
/// cheap handle: clones share the runtime. The free functions
/// [`atomically`](crate::atomically) and [`TVar::new`] use a default
/// runtime on [`Std`].
///
/// ```
/// use stm_core::{Stm, TVar};
///
/// let stm = Stm::new();
/// let from = TVar::new_in(&stm, 10);
/// let to = TVar::new_in(&stm, 0);
/// stm.atomically(|tx| {
///     let amount = tx.read(&from)?;
///     tx.write(&from, 0)?;
///     tx.modify(&to, |t| t + amount)
/// });
/// assert_eq!((from.load(), to.load()), (0, 10));
/// ```
pub struct Stm<P: Platform = Std> {
    shared: Arc<RuntimeShared<P>>,
}

const NESTED_MESSAGE: &str = "stm: `atomically` was called inside a running transaction; \
     nested transactions are not flattened: pass the outer `&mut Transaction` down instead";

impl Stm<Std> {
    /// Creates a runtime on real threads with default settings.
    pub fn new() -> Self {
        Self::for_platform()
    }

    /// Creates a runtime on real threads with the given settings.
    ///
    /// ```
    /// use stm_core::{Stm, StmConfig};
    ///
    /// let stm = Stm::with_config(StmConfig { irrevocable_after: 4 });
    /// assert_eq!(stm.config().irrevocable_after, 4);
    /// ```
    pub fn with_config(config: StmConfig) -> Self {
        Self::for_platform_with_config(config)
    }
}

impl<P: Platform> Stm<P> {
    /// Creates a runtime on platform `P` with default settings; under a
    /// model checker, call it inside the model closure.
    ///
    /// ```
    /// use stm_core::{Std, Stm};
    ///
    /// let stm = Stm::<Std>::for_platform();
    /// assert_eq!(stm.stats().commits, 0);
    /// ```
    pub fn for_platform() -> Self {
        Self::for_platform_with_config(StmConfig::default())
    }

    /// Creates a runtime on platform `P` with the given settings.
    pub fn for_platform_with_config(config: StmConfig) -> Self {
        Stm {
            shared: Arc::new(RuntimeShared {
                clock: VersionClock::new(),
                stats: Stats::new(),
                next_tvar_id: P::AtomicU64::new(0),
                config,
            }),
        }
    }

    /// This runtime's settings.
    pub fn config(&self) -> StmConfig {
        self.shared.config
    }

    /// Creates a TVar on this runtime (same as [`TVar::new_in`]).
    ///
    /// ```
    /// let stm = stm_core::Stm::new();
    /// let v = stm.new_tvar(vec![1, 2, 3]);
    /// assert_eq!(v.load().len(), 3);
    /// ```
    #[track_caller]
    pub fn new_tvar<T: Clone + Send + Sync + 'static>(&self, value: T) -> TVar<T, P> {
        TVar::new_in(self, value)
    }

    /// Runs `body` as a transaction and returns its result once it commits.
    ///
    /// The body may run several times: on a conflict it is re-run, and after
    /// [`retry`](Transaction::retry) it is re-run once a TVar it read has
    /// changed. It must have no effects other than through the transaction.
    /// A panic in the body discards the attempt's writes and propagates.
    /// Calling `atomically` inside a body panics (nesting is not flattened).
    ///
    /// ```
    /// let stm = stm_core::Stm::new();
    /// let v = stm.new_tvar(1);
    /// let old = stm.atomically(|tx| {
    ///     let old = tx.read(&v)?;
    ///     tx.write(&v, old + 1)?;
    ///     Ok(old)
    /// });
    /// assert_eq!((old, v.load()), (1, 2));
    /// ```
    pub fn atomically<R>(
        &self,
        mut body: impl FnMut(&mut Transaction<'_, P>) -> Result<R, StmError>,
    ) -> R {
        match self.try_atomically(|tx| body(tx).map_err(TxError::<Infallible>::Stm)) {
            Ok(value) => value,
            Err(never) => match never {},
        }
    }

    /// Like [`atomically`](Self::atomically), but the body can give up with
    /// the caller's own error: `Err(TxError::Abort(e))` discards the
    /// transaction's writes and returns `Err(e)`.
    ///
    /// ```
    /// use stm_core::{Stm, TxError};
    ///
    /// let stm = Stm::new();
    /// let balance = stm.new_tvar(50);
    /// let result = stm.try_atomically(|tx| {
    ///     let b = tx.read(&balance)?;
    ///     tx.write(&balance, b - 80)?;
    ///     if b < 80 {
    ///         return Err(TxError::Abort("insufficient funds"));
    ///     }
    ///     Ok(())
    /// });
    /// assert_eq!(result, Err("insufficient funds"));
    /// assert_eq!(balance.load(), 50); // the write was discarded
    /// ```
    pub fn try_atomically<R, E>(
        &self,
        mut body: impl FnMut(&mut Transaction<'_, P>) -> Result<R, TxError<E>>,
    ) -> Result<R, E> {
        assert!(P::enter_transaction(), "{NESTED_MESSAGE}");
        let mut call = CallAccounting::new(&self.shared);
        let mut conflicts = 0u32;
        loop {
            let irrevocable = conflicts >= self.shared.config.irrevocable_after;
            call.tally.attempt();
            if irrevocable {
                call.tally.irrevocable_run();
            }
            let mut tx = Transaction::begin(&self.shared, irrevocable);
            let abort = match body(&mut tx) {
                Ok(value) => match tx.commit() {
                    Ok(()) => {
                        call.finish(|t| t.commit());
                        return Ok(value);
                    }
                    Err(kind) => kind,
                },
                Err(TxError::Abort(error)) => {
                    call.finish(|t| t.user_abort());
                    return Err(error);
                }
                Err(TxError::Stm(StmError::Retry)) if tx.doomed().is_none() => {
                    call.tally.retry_wait();
                    tx.block_until_reads_change();
                    continue;
                }
                // A conflict raised by a read, or one the body made up.
                Err(TxError::Stm(_)) => tx.doomed().unwrap_or(AbortKind::Validation),
            };
            drop(tx);
            call.tally.abort(abort);
            conflicts = conflicts.saturating_add(1);
            if abort == AbortKind::SerialMode {
                self.shared.clock.wait_for_serial_mode_end();
            } else {
                P::yield_now();
            }
        }
    }

    /// A snapshot of this runtime's statistics.
    pub fn stats(&self) -> StmStats {
        self.shared.stats.snapshot()
    }

    /// Spawns a thread on this runtime's platform (a task, under a model
    /// checker), so that the same test code runs on real threads and under
    /// shuttle or loom.
    ///
    /// ```
    /// use stm_core::platform::Join;
    ///
    /// let stm = stm_core::Stm::new();
    /// let n = stm.new_tvar(0);
    /// let worker = {
    ///     let n = n.clone();
    ///     stm.spawn({
    ///         let stm = stm.clone();
    ///         move || stm.atomically(|tx| tx.modify(&n, |x| x + 1))
    ///     })
    /// };
    /// worker.join().unwrap();
    /// assert_eq!(n.load(), 1);
    /// ```
    pub fn spawn<F, T>(&self, f: F) -> P::JoinHandle<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        P::spawn(f)
    }

    pub(crate) fn shared(&self) -> &Arc<RuntimeShared<P>> {
        &self.shared
    }
}

/// Adds one `atomically` call's tally to the runtime's statistics when the
/// call ends, by return or by panic, and clears the nesting mark.
struct CallAccounting<'a, P: Platform> {
    runtime: &'a RuntimeShared<P>,
    tally: Tally,
    finished: bool,
}

impl<'a, P: Platform> CallAccounting<'a, P> {
    fn new(runtime: &'a RuntimeShared<P>) -> Self {
        CallAccounting {
            runtime,
            tally: Tally::default(),
            finished: false,
        }
    }

    fn finish(&mut self, outcome: impl FnOnce(&mut Tally)) {
        outcome(&mut self.tally);
        self.finished = true;
    }
}

impl<P: Platform> Drop for CallAccounting<'_, P> {
    fn drop(&mut self) {
        if !self.finished {
            self.tally.panic();
        }
        self.runtime.stats.add(&self.tally);
        P::exit_transaction();
    }
}

impl<P: Platform> Default for Stm<P> {
    fn default() -> Self {
        Self::for_platform()
    }
}

impl<P: Platform> Clone for Stm<P> {
    fn clone(&self) -> Self {
        Stm {
            shared: self.shared.clone(),
        }
    }
}

impl<P: Platform> fmt::Debug for Stm<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Stm")
            .field("clock", &self.shared.clock.now())
            .field("config", &self.shared.config)
            .finish_non_exhaustive()
    }
}
