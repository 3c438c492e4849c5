//! `TVar`: a transactional variable, and the type-erased view of it that the
//! read and write logs keep.

use crate::platform::{Arc, Lock, Platform, Std, WakeEvent};
use crate::runtime::{RuntimeShared, Stm};
use crate::version_lock::{LockWord, VersionedLock};
use core::any::Any;
use core::fmt;
use core::panic::Location;

/// Identifies a TVar within its runtime. Ids are handed out in creation
/// order, so a deterministic program gets the same ids in every run.
pub type TVarId = u64;

/// A transactional variable holding a `T`.
///
/// A `TVar` is a cheap handle (cloning it shares the variable). Its value is
/// read and written inside transactions ([`Stm::atomically`],
/// [`atomically`](crate::atomically)); a `TVar` belongs to the runtime that
/// created it and may not be used with another one.
///
/// ```
/// use stm_core::{atomically, TVar};
///
/// let balance = TVar::new(100_i64);
/// atomically(|tx| {
///     let b = tx.read(&balance)?;
///     tx.write(&balance, b - 30)
/// });
/// assert_eq!(balance.load(), 70);
/// ```
pub struct TVar<T: Send + 'static, P: Platform = Std> {
    core: Arc<TVarCore<T, P>>,
}

/// A call site of `atomically` (or of `TransactionQueue::add`): where a
/// transaction comes from, as conflict reports name it.
pub type CallSite = &'static Location<'static>;

/// A TVar's value and the call site of the transaction that wrote it, so that
/// a conflict report can name the writer that invalidated a reader.
struct Slot<T> {
    value: T,
    written_by: Option<CallSite>,
}

pub(crate) struct TVarCore<T: Send + 'static, P: Platform> {
    pub(crate) id: TVarId,
    pub(crate) lock: VersionedLock<P>,
    slot: P::Mutex<Slot<T>>,
    waiters: P::Mutex<Vec<Arc<P::Event>>>,
    runtime: Arc<RuntimeShared<P>>,
    created_at: CallSite,
}

/// What the transaction logs need of a TVar whose type they do not know.
pub(crate) trait AnyTVar<P: Platform>: Send + Sync {
    fn id(&self) -> TVarId;
    fn lock(&self) -> &VersionedLock<P>;
    fn created_at(&self) -> CallSite;
    /// The call site of the transaction that wrote the current value.
    fn written_by(&self) -> Option<CallSite>;
    /// Stores a new value (a `Box<T>`) written by a transaction from `site`
    /// and hands back the box holding the old one, so that the old value is
    /// dropped after all locks are released.
    fn install(&self, value: Box<dyn Any + Send>, site: CallSite) -> Box<dyn Any + Send>;
    /// Registers a retry waiter.
    fn add_waiter(&self, waiter: &Arc<P::Event>);
    /// Removes a retry waiter registered by [`add_waiter`](Self::add_waiter).
    fn remove_waiter(&self, waiter: &Arc<P::Event>);
    /// Wakes every registered retry waiter.
    fn wake_waiters(&self);
}

impl<T: Clone + Send + Sync + 'static> TVar<T, Std> {
    /// Creates a TVar on the default runtime (the one [`atomically`](crate::atomically) uses).
    ///
    /// ```
    /// let counter = stm_core::TVar::new(0_u32);
    /// assert_eq!(counter.load(), 0);
    /// ```
    #[track_caller]
    pub fn new(value: T) -> Self {
        Self::new_in(crate::platform::default_runtime(), value)
    }
}

impl<T: Clone + Send + Sync + 'static, P: Platform> TVar<T, P> {
    /// Creates a TVar on an explicit runtime.
    ///
    /// ```
    /// use stm_core::{Stm, TVar};
    ///
    /// let stm = Stm::new();
    /// let flag = TVar::new_in(&stm, false);
    /// stm.atomically(|tx| tx.write(&flag, true));
    /// assert!(flag.load());
    /// ```
    #[track_caller]
    pub fn new_in(stm: &Stm<P>, value: T) -> Self {
        let runtime = stm.shared().clone();
        TVar {
            core: Arc::new(TVarCore {
                id: runtime.next_tvar_id(),
                lock: VersionedLock::new(),
                slot: P::Mutex::new(Slot {
                    value,
                    written_by: None,
                }),
                waiters: P::Mutex::new(Vec::new()),
                runtime,
                created_at: Location::caller(),
            }),
        }
    }

    /// Reads the latest committed value, as a transaction of its own.
    ///
    /// ```
    /// let v = stm_core::TVar::new(String::from("hi"));
    /// assert_eq!(v.load(), "hi");
    /// ```
    pub fn load(&self) -> T {
        loop {
            let before = self.core.lock.load();
            if !before.is_locked() {
                let value = self.core.read_value();
                if self.core.lock.load().value_state() == before.value_state() {
                    return value;
                }
            }
            P::yield_now();
        }
    }

    /// Names this TVar in conflict reports (by default a TVar is named by
    /// where it was created).
    ///
    /// ```
    /// let balance = stm_core::TVar::new(0);
    /// balance.set_label("alice's balance");
    /// ```
    pub fn set_label(&self, label: impl Into<String>) {
        self.core.runtime.set_label(self.core.id, label.into());
    }

    /// This TVar's id within its runtime.
    pub fn id(&self) -> TVarId {
        self.core.id
    }

    /// The source location that created this TVar.
    pub fn created_at(&self) -> CallSite {
        self.core.created_at
    }

    pub(crate) fn core(&self) -> &Arc<TVarCore<T, P>> {
        &self.core
    }

    pub(crate) fn belongs_to(&self, runtime: &Arc<RuntimeShared<P>>) -> bool {
        Arc::ptr_eq(&self.core.runtime, runtime)
    }
}

impl<T: Clone + Send + Sync + 'static, P: Platform> TVarCore<T, P> {
    /// Clones the current value. Only meaningful between two loads of the
    /// lock word that agree (the read protocol in `tx.rs`).
    pub(crate) fn read_value(&self) -> T {
        self.slot.with(|slot| slot.value.clone())
    }

    pub(crate) fn current_word(&self) -> LockWord {
        self.lock.load()
    }
}

impl<T: Clone + Send + Sync + 'static, P: Platform> AnyTVar<P> for TVarCore<T, P> {
    fn id(&self) -> TVarId {
        self.id
    }

    fn lock(&self) -> &VersionedLock<P> {
        &self.lock
    }

    fn created_at(&self) -> CallSite {
        self.created_at
    }

    fn written_by(&self) -> Option<CallSite> {
        self.slot.with(|slot| slot.written_by)
    }

    fn install(&self, value: Box<dyn Any + Send>, site: CallSite) -> Box<dyn Any + Send> {
        let mut value: Box<T> = value
            .downcast()
            .expect("a write-log entry always holds its TVar's type");
        self.slot.with(|slot| {
            core::mem::swap(&mut slot.value, &mut *value);
            slot.written_by = Some(site);
        });
        value
    }

    fn add_waiter(&self, waiter: &Arc<P::Event>) {
        self.waiters.with(|waiters| waiters.push(waiter.clone()));
    }

    fn remove_waiter(&self, waiter: &Arc<P::Event>) {
        self.waiters
            .with(|waiters| waiters.retain(|w| !Arc::ptr_eq(w, waiter)));
    }

    fn wake_waiters(&self) {
        let waiters = self.waiters.with(core::mem::take);
        for waiter in waiters {
            waiter.notify();
        }
    }
}

impl<T: Send + 'static, P: Platform> Clone for TVar<T, P> {
    fn clone(&self) -> Self {
        TVar {
            core: self.core.clone(),
        }
    }
}

impl<T: Send + 'static, P: Platform> fmt::Debug for TVar<T, P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TVar")
            .field("id", &self.core.id)
            .field("created_at", &format_args!("{}", self.core.created_at))
            .finish_non_exhaustive()
    }
}
