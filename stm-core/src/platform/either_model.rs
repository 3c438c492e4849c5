//! One platform for both model checkers, chosen per run: a test written once
//! against `Stm<ModelPlatform>` runs under shuttle or under loom, whichever
//! drives it (stm-check's `check` picks one per call).
//!
//! Each primitive is an enum of the shuttle one and the loom one; which one
//! a constructor builds is decided by the model this OS thread runs, set by
//! [`ModelPlatform::run_under`] around the checker's run. Both checkers run
//! every task of an execution as a coroutine on the OS thread that started
//! the run, so a plain thread-local reaches all of them. Under shuttle the
//! engine takes exactly the steps it takes on `ShuttlePlatform` (same
//! scheduling points, so the same schedules), and under loom those of
//! `LoomPlatform`, weak memory included.

use super::{AtomicPointer, AtomicWord, Join, Lock, Ordering, Platform, WakeEvent};
use super::{LoomPlatform, ShuttlePlatform};
use std::cell::{Cell, RefCell};

/// The model checker a [`ModelPlatform`] runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Model {
    /// shuttle: random, PCT, DFS and replayed schedules.
    Shuttle,
    /// loom: exhaustive exploration under the C11 memory model.
    Loom,
}

std::thread_local! {
    /// The model this OS thread's run uses (see [`ModelPlatform::run_under`]).
    static CURRENT: Cell<Option<Model>> = const { Cell::new(None) };
    /// The loom operations of the execution under way, when noted (see
    /// [`ModelPlatform::start_loom_log`]).
    static LOOM_LOG: RefCell<Option<Vec<u8>>> = const { RefCell::new(None) };
}

loom::thread_local! {
    /// A loom thread's number: 0 for the execution's main thread, then
    /// 1, 2, ... in the order of spawning (loom's own threads have no
    /// number a program can read).
    static LOOM_SLOT: Cell<usize> = Cell::new(0);
}

std::thread_local! {
    /// The number the next loom thread spawned gets (reset by
    /// [`ModelPlatform::start_loom_log`], at the start of each execution).
    static NEXT_LOOM_SLOT: Cell<usize> = const { Cell::new(1) };
}

/// Notes a loom operation of kind `kind` in the log, if one is kept.
fn note_loom_operation(kind: u8) {
    LOOM_LOG.with(|log| {
        if let Some(log) = log.borrow_mut().as_mut() {
            log.push(kind);
        }
    });
}

/// The backend that is shuttle or loom, whichever model checker the calling
/// thread runs under (see [`ModelPlatform::run_under`]).
///
/// Every engine object must be created inside the checker's closure, as
/// with the single-model backends; creating one where no model was chosen
/// panics with a message saying so.
///
/// ```
/// use stm_core::platform::{Model, ModelPlatform};
/// use stm_core::Stm;
///
/// let test = || {
///     let stm = Stm::<ModelPlatform>::for_platform();
///     let n = stm.new_tvar(0);
///     let other = {
///         let (stm2, n) = (stm.clone(), n.clone());
///         stm.spawn(move || stm2.atomically(|tx| tx.modify(&n, |v| v + 1)))
///     };
///     stm.atomically(|tx| tx.modify(&n, |v| v + 1));
///     other.join().unwrap();
///     assert_eq!(n.load(), 2);
/// };
/// ModelPlatform::run_under(Model::Shuttle, || shuttle::check_random(test, 20));
/// ModelPlatform::run_under(Model::Loom, || loom::model(test));
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct ModelPlatform;

impl ModelPlatform {
    /// Runs `f` (which starts a shuttle or loom run on this thread) with
    /// every `ModelPlatform` object created meanwhile backed by `model`;
    /// the previous choice is restored afterwards, also if `f` panics.
    pub fn run_under<R>(model: Model, f: impl FnOnce() -> R) -> R {
        struct Restore(Option<Model>);
        impl Drop for Restore {
            fn drop(&mut self) {
                CURRENT.with(|current| current.set(self.0));
            }
        }
        let _restore = Restore(CURRENT.with(|current| current.replace(Some(model))));
        f()
    }

    /// The model chosen on this thread, if any.
    pub fn current() -> Option<Model> {
        CURRENT.with(Cell::get)
    }

    /// Starts a new log of the loom operations this OS thread makes (all
    /// tasks of a loom execution run on it), dropping any log kept so far.
    ///
    /// The log is one letter per operation, in the order loom ran them
    /// (`l`oad, `s`tore, swap `x`, `c`ompare-exchange, fetch-`a`dd; `L`,
    /// `S`, `X` on pointers; `m`utex, `w`ait, `n`otify, s`p`awn, `y`ield,
    /// `j`oin). Two executions that take the same branches make the same
    /// operations, so a replay whose log differs from the one saved with
    /// its loom path no longer follows that path: the program changed.
    ///
    /// It also numbers the execution's threads afresh, from 1 for the first
    /// spawned (see [`Platform::thread_slot`]).
    pub fn start_loom_log() {
        LOOM_LOG.with(|log| *log.borrow_mut() = Some(Vec::new()));
        NEXT_LOOM_SLOT.with(|next| next.set(1));
    }

    /// The log started by [`start_loom_log`](Self::start_loom_log), which
    /// stops.
    pub fn take_loom_log() -> Option<String> {
        LOOM_LOG
            .with(|log| log.borrow_mut().take())
            .map(|log| String::from_utf8(log).expect("operation kinds are ASCII letters"))
    }

    fn model() -> Model {
        Self::current().expect(
            "ModelPlatform used where no model checker was chosen: run the test through \
             stm_check::check, or wrap the checker's run in ModelPlatform::run_under",
        )
    }
}

/// Calls the same method on whichever backend `$value` holds; a loom
/// operation is noted in the operation log as `$kind`.
macro_rules! on_either {
    ($value:expr, $kind:literal, $inner:ident => $call:expr) => {
        match $value {
            Either::Shuttle($inner) => $call,
            Either::Loom($inner) => {
                note_loom_operation($kind);
                $call
            }
        }
    };
}

/// A primitive of one of the two backends.
#[derive(Debug)]
pub enum Either<S, L> {
    /// shuttle's.
    Shuttle(S),
    /// loom's.
    Loom(L),
}

impl<S, L> Either<S, L> {
    fn build(shuttle: impl FnOnce() -> S, loom: impl FnOnce() -> L) -> Self {
        match ModelPlatform::model() {
            Model::Shuttle => Either::Shuttle(shuttle()),
            Model::Loom => Either::Loom(loom()),
        }
    }
}

/// The atomic word of [`ModelPlatform`].
pub type ModelAtomicU64 =
    Either<<ShuttlePlatform as Platform>::AtomicU64, <LoomPlatform as Platform>::AtomicU64>;
/// The atomic pointer of [`ModelPlatform`].
pub type ModelAtomicPtr =
    Either<<ShuttlePlatform as Platform>::AtomicPtr, <LoomPlatform as Platform>::AtomicPtr>;
/// The mutex of [`ModelPlatform`].
pub type ModelMutex<T> =
    Either<<ShuttlePlatform as Platform>::Mutex<T>, <LoomPlatform as Platform>::Mutex<T>>;
/// The wake-up event of [`ModelPlatform`].
pub type ModelWakeEvent =
    Either<<ShuttlePlatform as Platform>::Event, <LoomPlatform as Platform>::Event>;
/// The join handle of [`ModelPlatform`].
pub type ModelJoinHandle<T> =
    Either<<ShuttlePlatform as Platform>::JoinHandle<T>, <LoomPlatform as Platform>::JoinHandle<T>>;

impl AtomicWord for ModelAtomicU64 {
    fn new(value: u64) -> Self {
        Either::build(|| AtomicWord::new(value), || AtomicWord::new(value))
    }
    fn load(&self, order: Ordering) -> u64 {
        on_either!(self, b'l', a => AtomicWord::load(a, order))
    }
    fn store(&self, value: u64, order: Ordering) {
        on_either!(self, b's', a => AtomicWord::store(a, value, order))
    }
    fn swap(&self, value: u64, order: Ordering) -> u64 {
        on_either!(self, b'x', a => AtomicWord::swap(a, value, order))
    }
    fn compare_exchange(
        &self,
        current: u64,
        new: u64,
        success: Ordering,
        failure: Ordering,
    ) -> Result<u64, u64> {
        on_either!(self, b'c', a => AtomicWord::compare_exchange(a, current, new, success, failure))
    }
    fn fetch_add(&self, value: u64, order: Ordering) -> u64 {
        on_either!(self, b'a', a => AtomicWord::fetch_add(a, value, order))
    }
}

impl AtomicPointer for ModelAtomicPtr {
    fn new(value: *mut ()) -> Self {
        Either::build(|| AtomicPointer::new(value), || AtomicPointer::new(value))
    }
    fn load(&self, order: Ordering) -> *mut () {
        on_either!(self, b'L', a => AtomicPointer::load(a, order))
    }
    fn store(&self, value: *mut (), order: Ordering) {
        on_either!(self, b'S', a => AtomicPointer::store(a, value, order))
    }
    fn swap(&self, value: *mut (), order: Ordering) -> *mut () {
        on_either!(self, b'X', a => AtomicPointer::swap(a, value, order))
    }
}

impl<T: Send + 'static> Lock<T> for ModelMutex<T> {
    fn new(value: T) -> Self {
        match ModelPlatform::model() {
            Model::Shuttle => Either::Shuttle(Lock::new(value)),
            Model::Loom => Either::Loom(Lock::new(value)),
        }
    }
    fn with<R>(&self, f: impl FnOnce(&mut T) -> R) -> R {
        on_either!(self, b'm', m => Lock::with(m, f))
    }
}

impl WakeEvent for ModelWakeEvent {
    fn new() -> Self {
        Either::build(WakeEvent::new, WakeEvent::new)
    }
    fn wait(&self) {
        on_either!(self, b'w', e => e.wait())
    }
    fn notify(&self) {
        on_either!(self, b'n', e => e.notify())
    }
}

impl<T: Send + 'static> Join<T> for ModelJoinHandle<T> {
    fn join(self) -> Result<T, Box<dyn core::any::Any + Send + 'static>> {
        on_either!(self, b'j', h => Join::join(h))
    }
}

impl Platform for ModelPlatform {
    type AtomicU64 = ModelAtomicU64;
    type AtomicPtr = ModelAtomicPtr;
    type Mutex<T: Send + 'static> = ModelMutex<T>;
    type Event = ModelWakeEvent;
    type JoinHandle<T: Send + 'static> = ModelJoinHandle<T>;

    const SPINS_BEFORE_BLOCKING: u32 = 0;
    const RECLAIM_BATCH: usize = 1;

    fn models_weak_memory() -> bool {
        Self::current() == Some(Model::Loom)
    }

    fn is_model_checker() -> bool {
        true
    }

    fn available_parallelism() -> usize {
        2
    }

    fn spawn<F, T>(f: F) -> Self::JoinHandle<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        match Self::model() {
            Model::Shuttle => Either::Shuttle(ShuttlePlatform::spawn(f)),
            Model::Loom => {
                note_loom_operation(b'p');
                let slot = NEXT_LOOM_SLOT.with(|next| next.replace(next.get() + 1));
                Either::Loom(LoomPlatform::spawn(move || {
                    LOOM_SLOT.with(|own| own.set(slot));
                    f()
                }))
            }
        }
    }

    fn yield_now() {
        match Self::model() {
            Model::Shuttle => ShuttlePlatform::yield_now(),
            Model::Loom => {
                note_loom_operation(b'y');
                LoomPlatform::yield_now()
            }
        }
    }

    fn thread_slot() -> usize {
        match Self::model() {
            Model::Shuttle => ShuttlePlatform::thread_slot(),
            Model::Loom => LOOM_SLOT.with(Cell::get),
        }
    }

    fn enter_transaction<T: 'static>() -> Option<Option<Box<T>>> {
        match Self::model() {
            Model::Shuttle => ShuttlePlatform::enter_transaction(),
            Model::Loom => LoomPlatform::enter_transaction(),
        }
    }

    fn exit_transaction<T: 'static>(spare: Option<Box<T>>) {
        match Self::model() {
            Model::Shuttle => ShuttlePlatform::exit_transaction(spare),
            Model::Loom => LoomPlatform::exit_transaction(spare),
        }
    }
}
