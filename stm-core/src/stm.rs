//! `Stm`: the handle to a runtime, and the public entry points that run
//! transactions on it.

use crate::attempt::{self, Outcome, Ungated};
use crate::config::StmConfig;
use crate::conflict_report::ConflictReport;
use crate::error::{StmError, TxError};
use crate::join_handle::JoinHandle;
use crate::platform::{Arc, Platform, Std};
use crate::recorder::Recorder;
use crate::shared::RuntimeShared;
use crate::stats::StmStats;
use crate::tvar::TVar;
use crate::tx::Transaction;
use core::convert::Infallible;
use core::fmt;
use core::panic::Location;

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
    /// let stm = Stm::with_config(StmConfig { irrevocable_after: 4, ..StmConfig::default() });
    /// assert_eq!(stm.config().irrevocable_after, 4);
    /// ```
    pub fn with_config(config: StmConfig) -> Self {
        Self::for_platform_with_config(config)
    }

    /// Creates a runtime on real threads that sends every transaction event
    /// to `recorder` (see the [`recorder`](crate::recorder) module).
    pub fn with_recorder(config: StmConfig, recorder: Arc<dyn Recorder>) -> Self {
        Self::for_platform_with_recorder(config, recorder)
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
        Self::build(config, None)
    }

    /// Creates a runtime on platform `P` that sends every transaction event
    /// to `recorder`.
    pub fn for_platform_with_recorder(config: StmConfig, recorder: Arc<dyn Recorder>) -> Self {
        Self::build(config, Some(recorder))
    }

    /// Creates a runtime on platform `P` with a classic STM bug switched on
    /// (test-only: feature `bug-injection`), to show that the checking tools
    /// find it.
    #[cfg(feature = "bug-injection")]
    pub fn with_injected_bug(
        config: StmConfig,
        recorder: Option<Arc<dyn Recorder>>,
        bug: crate::InjectedBug,
    ) -> Self {
        Stm {
            shared: Arc::new(RuntimeShared::new(config, recorder, Some(bug))),
        }
    }

    fn build(config: StmConfig, recorder: Option<Arc<dyn Recorder>>) -> Self {
        Stm {
            shared: Arc::new(RuntimeShared::new(config, recorder, None)),
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
    #[track_caller]
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
    #[track_caller]
    pub fn try_atomically<R, E>(
        &self,
        mut body: impl FnMut(&mut Transaction<'_, P>) -> Result<R, TxError<E>>,
    ) -> Result<R, E> {
        match attempt::execute(&self.shared, Location::caller(), &mut Ungated, &mut body) {
            Outcome::Committed(value, _) => Ok(value),
            Outcome::Failed(error) => Err(error),
            Outcome::Panicked(panic) => std::panic::resume_unwind(panic),
            Outcome::Abandoned | Outcome::Stuck | Outcome::Detached(_) => {
                unreachable!("an ungated transaction is never abandoned, stuck or detached")
            }
        }
    }

    /// The conflict report: which TVars made transactions abort, how, and
    /// how much time was lost (empty unless [`StmConfig::conflict_reports`]
    /// is set). See [`ConflictReport`].
    pub fn conflict_report(&self) -> ConflictReport {
        self.shared.conflict_report()
    }

    /// A snapshot of this runtime's statistics.
    pub fn stats(&self) -> StmStats {
        self.shared.stats()
    }

    /// Spawns a thread on this runtime's platform (a task, under a model
    /// checker), so that the same test code runs on real threads and under
    /// shuttle or loom.
    ///
    /// The handle joins without importing any trait, also in code generic
    /// over the platform (see [`JoinHandle`]).
    ///
    /// ```
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
    pub fn spawn<F, T>(&self, f: F) -> JoinHandle<T, P>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        JoinHandle::new(P::spawn(f))
    }

    pub(crate) fn shared(&self) -> &Arc<RuntimeShared<P>> {
        &self.shared
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
