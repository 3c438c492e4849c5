//! Recording: the evidence a history checker needs, as events sent to a
//! [`Recorder`] attached to a runtime.
//!
//! Every attempt (committed or not) is reported: when it began, each TVar it
//! read with the version it saw, and how it ended, with its snapshot version;
//! a commit also carries the TVars written and its commit version, each
//! commuted TVar (`tx.commute`) marked with the version and value its
//! updates were applied to (a commute is not a read: the transaction did
//! not observe that value, and it is not reported as a `Read`). Versions
//! are the runtime's global clock values (a write's version is its commit
//! version; 0 is a TVar's initial value), so a checker needs no version
//! inference. Real-time order: `Begin` is sent before the attempt reads
//! anything and `Commit` after its writes are visible, so an attempt whose
//! end is recorded before another's begin really finished first. (The
//! snapshot may be older than the `Begin`: a thread starts from the latest
//! clock value it saw, and a read of a newer version moves the snapshot
//! forward; every read is current at the snapshot reported.)
//!
//! So that a failure can be explained in the user's terms, events also say
//! where things come from: `Begin` carries the call site of the
//! `atomically` the attempt runs for, and [`Event::Created`] and
//! [`Event::Labelled`] name each TVar by its creation site and its label.
//! Those two are not part of the history (a checker ignores them), and are
//! sent without the ordering lock that the model checkers see, so they add
//! no scheduling point.
//!
//! [`Event::InvariantBroken`] reports a broken engine invariant (an engine
//! bug), in release builds too, so that exploration tools count it.
//!
//! Without a recorder each event point costs one branch on a field that is
//! `None`.

use crate::error::AbortKind;
use crate::ids::{CallSite, TVarId};
pub use crate::invariant::Invariant;
use core::any::Any;

/// Identifies one attempt of one transaction within its runtime, from 0 in
/// the order attempts began.
pub type AttemptId = u64;

/// A value written by a commit, as recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordedWrite {
    /// The TVar written.
    pub tvar: TVarId,
    /// The value, where its type allows (see [`recorded_value`]).
    pub value: Option<i64>,
    /// For a TVar the transaction only commuted
    /// ([`Transaction::commute`](crate::Transaction::commute)): what its
    /// updates were applied to. `None` for a written TVar (a commuted TVar
    /// that the transaction then read is an ordinary write).
    pub commuted: Option<CommuteBase>,
}

/// The value a commit applied a TVar's commuted updates to: in a correct
/// engine, the value current at commit, installed by the commit right
/// before this one in the TVar's version order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CommuteBase {
    /// Its version (0: the initial value).
    pub version: u64,
    /// The value, where its type allows.
    pub value: Option<i64>,
}

/// Why an attempt ended without committing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttemptEnd {
    /// A conflict aborted it; `tvar` is the TVar that caused it, if one did.
    Conflict {
        /// The kind of conflict.
        kind: AbortKind,
        /// The TVar responsible.
        tvar: Option<TVarId>,
    },
    /// It called `retry` (it will run again after a change).
    Retry,
    /// It gave up with the caller's error.
    UserAbort,
    /// Its body panicked.
    Panic,
    /// A transaction queue that was stopping gave it up.
    Abandoned,
}

/// One recorded event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event<'a> {
    /// An attempt begins (before it takes its snapshot).
    Begin {
        /// The attempt.
        attempt: AttemptId,
        /// The thread running it ([`Platform::thread_slot`](crate::Platform::thread_slot)).
        thread: u64,
        /// The call site of the `atomically` (or `TransactionQueue::add`)
        /// this attempt runs for.
        site: CallSite,
    },
    /// An attempt read a TVar (reads of its own buffered writes are not
    /// reported: they depend on no other transaction).
    Read {
        /// The attempt.
        attempt: AttemptId,
        /// The TVar read.
        tvar: TVarId,
        /// The version of the value read (0: the initial value).
        version: u64,
        /// The value read, where its type allows.
        value: Option<i64>,
    },
    /// An attempt committed; its writes are visible.
    Commit {
        /// The attempt.
        attempt: AttemptId,
        /// Its final snapshot version: every value it read was current then.
        snapshot: u64,
        /// The version its writes were installed with (`None` when it wrote
        /// nothing: it serializes at `snapshot`).
        version: Option<u64>,
        /// What it wrote, one entry per TVar.
        writes: &'a [RecordedWrite],
    },
    /// An attempt ended without committing; it left no effect.
    End {
        /// The attempt.
        attempt: AttemptId,
        /// Its snapshot version when it ended.
        snapshot: u64,
        /// Why.
        reason: AttemptEnd,
    },
    /// A TVar was created (before any attempt can log it). Not ordered
    /// with the other events; it only names the TVar.
    Created {
        /// The TVar.
        tvar: TVarId,
        /// Where it was created ([`TVar::created_at`](crate::TVar::created_at)).
        at: CallSite,
    },
    /// A TVar was given a label ([`TVar::set_label`](crate::TVar::set_label));
    /// the last label given names it. Not ordered with the other events.
    Labelled {
        /// The TVar.
        tvar: TVarId,
        /// The label.
        label: &'a str,
    },
    /// An invariant of the engine broke: the engine has a bug (see
    /// [`Invariant`]). Sent in release builds too, before a debug build
    /// panics on it. Like names it is not part of the history and is not
    /// ordered with the other events (it is sent without the ordering lock
    /// that the model checkers see, so it adds no scheduling point).
    InvariantBroken {
        /// Which invariant.
        invariant: Invariant,
        /// The attempt that broke it, where the engine knows it (and
        /// records attempts).
        attempt: Option<AttemptId>,
        /// The thread that broke it ([`Platform::thread_slot`](crate::Platform::thread_slot)).
        thread: u64,
    },
}

/// Receives a runtime's events. Calls come from every thread running
/// transactions, in the order the events happen; an implementation must be
/// cheap and must not run transactions itself.
///
/// ```
/// use core::sync::atomic::{AtomicUsize, Ordering};
/// use stm_core::platform::Arc;
/// use stm_core::recorder::{Event, Recorder};
/// use stm_core::{Stm, StmConfig};
///
/// #[derive(Default)]
/// struct Count(AtomicUsize);
/// impl Recorder for Count {
///     fn record(&self, _event: &Event<'_>) {
///         self.0.fetch_add(1, Ordering::Relaxed);
///     }
/// }
///
/// let count = Arc::new(Count::default());
/// let stm = Stm::with_recorder(StmConfig::default(), count.clone());
/// let v = stm.new_tvar(1);
/// stm.atomically(|tx| tx.modify(&v, |x| x + 1));
/// assert_eq!(count.0.load(Ordering::Relaxed), 4); // created, begin, read, commit
/// ```
pub trait Recorder: Send + Sync + 'static {
    /// Handles one event.
    fn record(&self, event: &Event<'_>);
}

/// The value of a TVar as a recorded integer, for the integer and boolean
/// types (`None` for other types, and for `u64`/`usize` values that do not
/// fit in an `i64`).
///
/// ```
/// use stm_core::recorder::recorded_value;
///
/// assert_eq!(recorded_value(&7_u8), Some(7));
/// assert_eq!(recorded_value(&true), Some(1));
/// assert_eq!(recorded_value(&"text"), None);
/// ```
pub fn recorded_value(value: &dyn Any) -> Option<i64> {
    macro_rules! try_types {
        ($($t:ty),*) => {
            $(if let Some(v) = value.downcast_ref::<$t>() {
                return i64::try_from(*v).ok();
            })*
        };
    }
    try_types!(i64, i32, i16, i8, u64, u32, u16, u8, usize, isize);
    value.downcast_ref::<bool>().map(|&b| i64::from(b))
}
