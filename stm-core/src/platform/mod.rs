//! The atomics layer: the one seam through which the engine touches shared
//! state, locks, blocking, threads and thread identity.
//!
//! Every other module of stm-core names these traits, never the standard
//! library's sync or thread modules, so the same engine code runs on real threads ([`Std`]),
//! under the shuttle scheduler (`ShuttlePlatform`, feature `shuttle`) and
//! under the loom model checker (`LoomPlatform`, feature `loom`). The backend
//! is a type parameter rather than a cargo feature, so one binary can run the
//! engine on std threads and under shuttle side by side.
//!
//! The trait is deliberately small: a 64-bit atomic word, an atomic pointer,
//! a mutex driven by a closure (no guard types to abstract), a one-shot
//! wake-up [`Event`], thread spawning, yielding, and a per-thread state (the
//! nesting mark and the context a thread keeps between transactions).
//!
//! [`Event`]: WakeEvent

#[macro_use]
mod sync_primitives;

/// Implements [`Platform::enter_transaction`] and [`Platform::exit_transaction`]
/// on a backend's thread-local [`ThreadState`] `$state`. While the thread is
/// being torn down (its state gone), it runs no transaction and keeps
/// nothing.
macro_rules! thread_state_methods {
    ($state:ident) => {
        #[inline]
        fn enter_transaction<T: 'static>() -> Option<Option<Box<T>>> {
            $state.try_with(|state| state.enter()).unwrap_or(Some(None))
        }

        #[inline]
        fn exit_transaction<T: 'static>(spare: Option<Box<T>>) {
            let previous = $state.try_with(|state| state.exit(spare));
            drop(previous); // outside the thread-local access
        }
    };
}

#[cfg(any(feature = "loom", feature = "shuttle"))]
#[macro_use]
mod model_backend;
mod std_backend;

/// The loom backend: exhaustive exploration under loom's memory model.
#[cfg(feature = "loom")]
mod loom_backend {
    model_backend!(loom, LoomPlatform, "the loom model checker", 0, true);
}
/// The shuttle backend: randomized (random, PCT, DFS, replay) scheduling.
#[cfg(feature = "shuttle")]
mod shuttle_backend {
    model_backend!(
        shuttle,
        ShuttlePlatform,
        "the shuttle scheduler",
        usize::from(shuttle::current::me()),
        false
    );
}

pub use std_backend::Std;

/// Shuttle or loom, chosen per run (both features).
#[cfg(all(feature = "loom", feature = "shuttle"))]
mod either_model;
#[cfg(all(feature = "loom", feature = "shuttle"))]
pub use either_model::{
    Either, Model, ModelAtomicPtr, ModelAtomicU64, ModelJoinHandle, ModelMutex, ModelPlatform,
    ModelWakeEvent,
};

#[cfg(feature = "loom")]
pub use loom_backend::LoomPlatform;
#[cfg(feature = "shuttle")]
pub use shuttle_backend::ShuttlePlatform;

pub(crate) use std_backend::default_runtime;

/// Reference counting for engine objects (and the pointer a runtime takes
/// its recorder in). `Arc`'s count is correct by construction in std; the
/// protocols the models check live in the [`Platform`] atomics, not in
/// reference counts.
pub use std_backend::Arc;

/// A statistics counter: a count, not a protocol, so it lives outside the
/// models (it adds no scheduling point to explore; under a model checker
/// every task runs on one OS thread, so counts are never lost).
pub(crate) use std_backend::StatCounter;

pub use core::sync::atomic::Ordering;

/// A 64-bit atomic integer of one backend.
///
/// The methods mirror the standard library's `AtomicU64` exactly.
pub trait AtomicWord: Send + Sync + 'static {
    /// Creates a new atomic holding `value`.
    fn new(value: u64) -> Self;
    /// Loads the value.
    fn load(&self, order: Ordering) -> u64;
    /// Stores `value`.
    fn store(&self, value: u64, order: Ordering);
    /// Stores `value`, returning the previous value.
    fn swap(&self, value: u64, order: Ordering) -> u64;
    /// Stores `new` if the value is `current`; returns the previous value
    /// in `Ok` on success and the current value in `Err` on failure.
    fn compare_exchange(
        &self,
        current: u64,
        new: u64,
        success: Ordering,
        failure: Ordering,
    ) -> Result<u64, u64>;
    /// Adds `value`, returning the previous value.
    fn fetch_add(&self, value: u64, order: Ordering) -> u64;
}

/// An atomic pointer of one backend, type-erased: the engine stores either a
/// `Box`'s pointer or (for values kept inline) an integer without provenance.
///
/// The methods mirror the standard library's `AtomicPtr<()>`.
pub trait AtomicPointer: Send + Sync + 'static {
    /// Creates a new atomic holding `value`.
    fn new(value: *mut ()) -> Self;
    /// Loads the pointer.
    fn load(&self, order: Ordering) -> *mut ();
    /// Stores `value`.
    fn store(&self, value: *mut (), order: Ordering);
    /// Stores `value`, returning the previous pointer.
    fn swap(&self, value: *mut (), order: Ordering) -> *mut ();
}

/// A mutual-exclusion lock of one backend, used through a closure so that no
/// guard type has to be abstracted. Poisoning is ignored: the engine never
/// leaves protected data half-updated when user code panics.
pub trait Lock<T>: Send + Sync {
    /// Creates a new unlocked mutex holding `value`.
    fn new(value: T) -> Self;
    /// Runs `f` with exclusive access to the protected value.
    fn with<R>(&self, f: impl FnOnce(&mut T) -> R) -> R;
}

/// A one-shot wake-up: [`wait`](WakeEvent::wait) blocks (without spinning)
/// until [`notify`](WakeEvent::notify) has been called, before or after.
pub trait WakeEvent: Send + Sync {
    /// Creates an event that has not been notified yet.
    fn new() -> Self;
    /// Blocks until the event is notified; returns at once if it already was.
    fn wait(&self);
    /// Marks the event notified and wakes its waiter.
    fn notify(&self);
}

/// A handle to a thread spawned through a [`Platform`].
pub trait Join<T>: Send {
    /// Waits for the thread; `Err` carries the payload of its panic.
    fn join(self) -> Result<T, Box<dyn core::any::Any + Send + 'static>>;
}

/// One backend of the atomics layer.
///
/// Implementations are zero-sized markers; all state lives in values the
/// engine creates (a runtime [`Stm`](crate::Stm), its TVars), never in
/// process-global statics that would leak between model-checker iterations.
pub trait Platform: Sized + Send + Sync + 'static {
    /// The 64-bit atomic word.
    type AtomicU64: AtomicWord;
    /// The atomic pointer.
    type AtomicPtr: AtomicPointer;
    /// A mutex protecting a `T`.
    type Mutex<T: Send + 'static>: Lock<T>;
    /// A one-shot wake-up event.
    type Event: WakeEvent;
    /// The handle of a spawned thread.
    type JoinHandle<T: Send + 'static>: Join<T>;

    /// How many times a waiter polls (yielding in between) before it blocks.
    /// Real threads spin a little because blocking costs microseconds;
    /// models block at once, which keeps their state space small.
    const SPINS_BEFORE_BLOCKING: u32;

    /// How many replaced values a thread gathers before it hands them to
    /// reclamation (and tries to free what is safe to free). Real threads
    /// batch, so that the shared epoch is touched once per batch; models
    /// reclaim at every commit, so that they explore the protocol.
    const RECLAIM_BATCH: usize;

    /// Whether the platform explores weak-memory behaviour (loom): then
    /// synchronisation that happens outside the platform, such as a
    /// recorder's own lock, must be shown to it through the platform.
    fn models_weak_memory() -> bool {
        false
    }

    /// Whether threads are a model checker's tasks. A panic there may be
    /// the checker ending a failed execution, after which no object of the
    /// platform may be touched: code that runs while a panic unwinds (a
    /// `Drop`) must then leave them alone.
    fn is_model_checker() -> bool {
        false
    }

    /// How many threads can usefully run at once (the default number of
    /// workers of a transaction queue).
    fn available_parallelism() -> usize;

    /// Spawns a thread (a task, under a model checker).
    fn spawn<F, T>(f: F) -> Self::JoinHandle<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static;

    /// Gives other threads a chance to run. Every wait loop in the engine
    /// calls it, so that model checkers can make progress.
    fn yield_now();

    /// Pauses for a moment in a busy wait that expects to end within
    /// microseconds: a spin-loop hint to the CPU on real threads (no system
    /// call), a yield under a model checker (a scheduling point).
    fn pause() {
        Self::yield_now();
    }

    /// A small number identifying the calling thread, used to pick a
    /// statistics stripe and to name threads in recorded events. Unique per
    /// thread on std and under shuttle (its task id); 0 under loom.
    fn thread_slot() -> usize;

    /// Marks the calling thread as running a transaction and hands it the
    /// spare `T` that [`exit_transaction`](Platform::exit_transaction) kept,
    /// if any; `None`, changing nothing, if the thread already runs one (a
    /// nested `atomically`). One thread-local access: the engine keeps a
    /// thread's context on a runtime there between calls (its record in the
    /// runtime, the memory of its logs).
    fn enter_transaction<T: 'static>() -> Option<Option<Box<T>>>;

    /// Clears the mark set by [`enter_transaction`](Platform::enter_transaction)
    /// and keeps `spare` for the next call (dropping any spare kept before).
    /// Spares live in thread-local storage: a thread's spare is dropped when
    /// it exits (under a model checker, a task's when it finishes, so every
    /// execution starts afresh).
    fn exit_transaction<T: 'static>(spare: Option<Box<T>>);

    /// Waits before re-running a transaction that lost its `conflicts`-th
    /// conflict in a row, so that two transactions fighting over one TVar
    /// do not keep aborting each other in lockstep. Models just yield (a
    /// scheduling point, and no state to explore).
    fn back_off(conflicts: u32) {
        let _ = conflicts;
        Self::yield_now();
    }
}

/// What a thread keeps in thread-local storage for the engine: whether it
/// runs a transaction, and its spare (see [`Platform::enter_transaction`]).
/// Every backend keeps one per thread.
pub(crate) struct ThreadState {
    in_transaction: core::cell::Cell<bool>,
    spare: core::cell::Cell<Option<Box<dyn core::any::Any>>>,
}

impl ThreadState {
    /// Not in a transaction, nothing kept.
    pub(crate) const fn new() -> Self {
        ThreadState {
            in_transaction: core::cell::Cell::new(false),
            spare: core::cell::Cell::new(None),
        }
    }

    #[inline]
    fn enter<T: 'static>(&self) -> Option<Option<Box<T>>> {
        if self.in_transaction.replace(true) {
            return None;
        }
        Some(self.spare.take().and_then(|spare| spare.downcast().ok()))
    }

    /// Returns the spare kept before, to be dropped outside the
    /// thread-local access.
    #[inline]
    fn exit<T: 'static>(&self, spare: Option<Box<T>>) -> Option<Box<dyn core::any::Any>> {
        self.in_transaction.set(false);
        self.spare
            .replace(spare.map(|spare| spare as Box<dyn core::any::Any>))
    }
}
