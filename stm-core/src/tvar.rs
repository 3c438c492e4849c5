//! `TVar`: a transactional variable. A handle points to the variable's
//! header, which holds everything the engine needs without knowing the
//! value's type: the versioned lock, the value's word, the `retry` waiters.
//!
//! Transactions log headers by pointer, with no reference count, so the last
//! handle's drop does not free the header: it retires it to deferred
//! reclamation, which frees it once no running attempt can reach it.

use crate::ids::{CallSite, TVarId};
use crate::platform::{Arc, AtomicPointer, AtomicWord, Lock, Ordering, Platform, Std, WakeEvent};
use crate::reclaim::Garbage;
use crate::shared::RuntimeShared;
use crate::stm::Stm;
use crate::thread_context::ThreadContext;
use crate::value::{self, ValueKind};
use crate::version_lock::VersionedLock;
use core::fmt;
use core::marker::PhantomData;
use core::mem::ManuallyDrop;
use core::panic::Location;
use core::ptr::{self, NonNull};

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
    header: NonNull<TVarHeader<P>>,
    value: PhantomData<T>,
}

// SAFETY: a TVar shares its value between threads: values are moved in from
// any thread (`T: Send`) and cloned from shared references on any thread
// (`T: Sync`); the header's fields are atomics and mutexes.
unsafe impl<T: Send + Sync + 'static, P: Platform> Send for TVar<T, P> {}
// SAFETY: as for `Send`.
unsafe impl<T: Send + Sync + 'static, P: Platform> Sync for TVar<T, P> {}

/// Everything about a TVar but the type of its value.
///
/// Two cache lines: first what commits and handles write, then what every
/// access reads and nothing writes after creation. A TVar that many
/// transactions update (one shared total) moves its first line between
/// cores with each commit; the second stays in every core's cache, so
/// checking which runtime the TVar belongs to costs no miss.
///
/// Aligned to a line, not to the pair: glibc's allocator places 128-aligned
/// blocks made in a row at alternating distances (256 and 384 bytes), which
/// the CPU's stride prefetcher cannot follow, while 64-aligned ones come at
/// one distance. A queue whose items each update a TVar of their own, made
/// in a row, then finds the next item's TVar already in cache: in `perf`
/// samples of the `queue` benchmark on 2 workers, the read that first
/// touches it went from 4.8% of the run to 1.6% once aligned so.
#[repr(C, align(64))]
pub(crate) struct TVarHeader<P: Platform> {
    pub(crate) lock: VersionedLock<P>,
    /// The current value (see the `value` module), published under `lock`:
    /// stored while the lock is held, before the lock word gets the new
    /// version.
    pub(crate) value: P::AtomicPtr,
    handles: HandleCount<P>,
    /// The call site of the transaction that wrote the current value (a
    /// `&'static Location`, or null), kept only for conflict reports.
    written_by: P::AtomicPtr,
    _read_mostly: CacheLineBreak,
    /// The runtime, counted while handles exist; taken out when the TVar is
    /// retired (reclamation is the runtime's, and must not keep it alive).
    runtime: ManuallyDrop<Arc<RuntimeShared<P>>>,
    pub(crate) kind: &'static ValueKind,
    pub(crate) id: TVarId,
    pub(crate) created_at: CallSite,
    waiters: P::Mutex<Vec<Arc<P::Event>>>,
}

/// Takes no room; the field after it starts a new cache line.
#[repr(align(64))]
struct CacheLineBreak;

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
        let id = runtime.next_tvar_id();
        let at = Location::caller();
        runtime.record_name(|| crate::recorder::Event::Created { tvar: id, at });
        let header = Box::new(TVarHeader {
            lock: VersionedLock::new(),
            value: P::AtomicPtr::new(value::into_word(value)),
            handles: HandleCount::new(),
            written_by: P::AtomicPtr::new(ptr::null_mut()),
            _read_mostly: CacheLineBreak,
            runtime: ManuallyDrop::new(runtime),
            kind: ValueKind::of::<T>(),
            id,
            created_at: at,
            waiters: P::Mutex::new(Vec::new()),
        });
        TVar {
            header: NonNull::from(Box::leak(header)),
            value: PhantomData,
        }
    }

    /// Reads the latest committed value, as a transaction of its own.
    ///
    /// ```
    /// let v = stm_core::TVar::new(String::from("hi"));
    /// assert_eq!(v.load(), "hi");
    /// ```
    pub fn load(&self) -> T {
        let header = self.header();
        if header.kind.inline {
            // Nothing to pin: the value is in the word.
            return header.load_consistent::<T>();
        }
        // Inside a transaction body the thread's context is in use: then
        // a context of its own, given back at once.
        let kept = P::enter_transaction::<ThreadContext<P>>();
        let in_a_body = kept.is_none();
        let context = ThreadContext::for_runtime(header.runtime(), kept.flatten());
        context.pin();
        let value = header.load_consistent::<T>();
        context.unpin();
        if !in_a_body {
            P::exit_transaction(Some(context));
        }
        value
    }
}

impl<T: Send + 'static, P: Platform> TVar<T, P> {
    /// Names this TVar in conflict reports (by default a TVar is named by
    /// where it was created).
    ///
    /// ```
    /// let balance = stm_core::TVar::new(0);
    /// balance.set_label("alice's balance");
    /// ```
    pub fn set_label(&self, label: impl Into<String>) {
        let header = self.header();
        header.runtime().set_label(header.id, label.into());
    }

    /// This TVar's id within its runtime.
    pub fn id(&self) -> TVarId {
        self.header().id
    }

    /// The source location that created this TVar.
    pub fn created_at(&self) -> CallSite {
        self.header().created_at
    }

    pub(crate) fn header(&self) -> &TVarHeader<P> {
        // SAFETY: a handle keeps its header alive (it is retired only after
        // the last handle is dropped).
        unsafe { self.header.as_ref() }
    }

    pub(crate) fn belongs_to(&self, runtime: &Arc<RuntimeShared<P>>) -> bool {
        Arc::ptr_eq(self.header().runtime(), runtime)
    }
}

impl<P: Platform> TVarHeader<P> {
    pub(crate) fn runtime(&self) -> &Arc<RuntimeShared<P>> {
        &self.runtime
    }

    /// The current value, cloned between two loads of the lock word that
    /// agree (an unlocked word with the same version), waiting out writers.
    /// The caller is pinned, or the value is inline.
    fn load_consistent<T: Clone + Send + Sync + 'static>(&self) -> T {
        loop {
            let before = self.lock.load();
            if !before.is_locked() {
                // SAFETY: the word holds a `T` (a TVar's values all have its
                // type); it is inline, or the caller is pinned, so a box it
                // points to is not freed before the clone returns.
                let value = unsafe { value::clone_value::<T>(self.value.load(Ordering::Acquire)) };
                if self.lock.load().value_state() == before.value_state() {
                    return value;
                }
            }
            P::yield_now();
        }
    }

    /// The call site of the transaction that wrote the current value, where
    /// conflict reports are on.
    pub(crate) fn written_by(&self) -> Option<CallSite> {
        let site = self.written_by.load(Ordering::Relaxed);
        // SAFETY: the word is null or was stored from a `&'static Location`.
        (!site.is_null()).then(|| unsafe { &*site.cast::<Location<'static>>() })
    }

    pub(crate) fn set_written_by(&self, site: CallSite) {
        self.written_by
            .store(ptr::from_ref(site).cast_mut().cast(), Ordering::Relaxed);
    }

    /// Registers a retry waiter.
    pub(crate) fn add_waiter(&self, waiter: &Arc<P::Event>) {
        self.waiters.with(|waiters| waiters.push(waiter.clone()));
    }

    /// Removes a retry waiter registered by [`add_waiter`](Self::add_waiter).
    pub(crate) fn remove_waiter(&self, waiter: &Arc<P::Event>) {
        self.waiters
            .with(|waiters| waiters.retain(|w| !Arc::ptr_eq(w, waiter)));
    }

    /// The injected bug `wake-one-waiter`: wakes the first registered retry
    /// waiter only; the others stay registered, asleep.
    pub(crate) fn wake_one_waiter(&self) {
        if let Some(waiter) = self
            .waiters
            .with(|waiters| (!waiters.is_empty()).then(|| waiters.remove(0)))
        {
            waiter.notify();
        }
    }

    /// Wakes every registered retry waiter.
    pub(crate) fn wake_waiters(&self) {
        let waiters = self.waiters.with(core::mem::take);
        for waiter in waiters {
            waiter.notify();
        }
    }

    /// Takes a handle to this TVar unless its last one is gone already (it
    /// is then retired, and cannot change any more).
    ///
    /// # Safety
    /// The caller is pinned (the header is not freed during the call).
    pub(crate) unsafe fn keep_alive(&self) -> Option<KeptTVar<P>> {
        self.handles.increment_if_live().then(|| KeptTVar {
            header: NonNull::from(self),
        })
    }
}

impl<P: Platform> Drop for TVarHeader<P> {
    fn drop(&mut self) {
        // SAFETY: the header is freed once nothing can reach it, so its
        // value is owned by it alone.
        unsafe { self.kind.free(self.value.load(Ordering::Relaxed)) }
    }
}

/// The count of a TVar's handles: `Arc`'s counting, written out so that
/// the last handle can hand the TVar to deferred reclamation instead of
/// freeing it, and on the platform's atomics, so that a model checker sees
/// that every use through any handle happens before the retirement.
struct HandleCount<P: Platform>(P::AtomicU64);

impl<P: Platform> HandleCount<P> {
    /// One handle.
    fn new() -> Self {
        HandleCount(P::AtomicU64::new(1))
    }

    /// Counts a handle made from a live one.
    #[inline]
    fn increment(&self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a handle made while no live handle may be held (a transaction
    /// blocked in `retry` keeping what it read alive); fails once the count
    /// has reached zero, when the TVar is already handed to reclamation.
    fn increment_if_live(&self) -> bool {
        let mut count = self.0.load(Ordering::Relaxed);
        while count != 0 {
            match self
                .0
                .compare_exchange(count, count + 1, Ordering::Acquire, Ordering::Relaxed)
            {
                Ok(_) => return true,
                Err(actual) => count = actual,
            }
        }
        false
    }

    /// Counts a handle dropped; `true` for the last one, after which every
    /// use made through any handle happens before the caller's next step.
    #[inline]
    fn decrement(&self) -> bool {
        self.0.fetch_add(u64::MAX, Ordering::AcqRel) == 1
    }
}

/// A counted reference to a TVar's header, without its value's type: what
/// a transaction blocked in `retry` keeps of what it read, since it is not
/// pinned while it sleeps.
pub(crate) struct KeptTVar<P: Platform> {
    header: NonNull<TVarHeader<P>>,
}

impl<P: Platform> KeptTVar<P> {
    pub(crate) fn header(&self) -> &TVarHeader<P> {
        // SAFETY: counted like a handle.
        unsafe { self.header.as_ref() }
    }
}

impl<P: Platform> Drop for KeptTVar<P> {
    fn drop(&mut self) {
        release_handle(self.header);
    }
}

/// Counts a handle dropped; the last one retires the header.
fn release_handle<P: Platform>(header: NonNull<TVarHeader<P>>) {
    // SAFETY: the caller held a counted handle, so the header is live.
    if !unsafe { header.as_ref() }.handles.decrement() {
        return;
    }
    // SAFETY: the last handle is gone: nobody reads the `runtime` field any
    // more (transactions reach a retired header only through their logs,
    // which use its lock, value and waiters), so the counted `Arc` is moved
    // out, once; the field is `ManuallyDrop` and is never dropped in place.
    let runtime = unsafe { ptr::read(&*header.as_ref().runtime) };
    // SAFETY: the header came from `Box::leak` and is freed once, by the
    // reclaimer, when no attempt can reach it any more.
    let garbage = unsafe { Garbage::new(header.as_ptr().cast(), free_header::<P>) };
    runtime.reclaimer.retire(&mut vec![garbage]);
}

/// # Safety
/// `header` is a retired header that nothing can reach any more.
unsafe fn free_header<P: Platform>(header: *mut ()) {
    // SAFETY: the caller's contract; it was leaked from a box.
    drop(unsafe { Box::from_raw(header.cast::<TVarHeader<P>>()) });
}

impl<T: Send + 'static, P: Platform> Clone for TVar<T, P> {
    fn clone(&self) -> Self {
        self.header().handles.increment();
        TVar {
            header: self.header,
            value: PhantomData,
        }
    }
}

impl<T: Send + 'static, P: Platform> Drop for TVar<T, P> {
    fn drop(&mut self) {
        release_handle(self.header);
    }
}

impl<T: Send + 'static, P: Platform> fmt::Debug for TVar<T, P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TVar")
            .field("id", &self.id())
            .field("created_at", &format_args!("{}", self.created_at()))
            .finish_non_exhaustive()
    }
}
