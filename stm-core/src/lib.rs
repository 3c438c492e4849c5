//! A software transactional memory engine.
//!
//! Put shared state in [`TVar`]s and change it inside [`atomically`]: the
//! transaction's reads see one consistent snapshot, its writes become visible
//! all at once, and concurrent transactions commit as if they had run one
//! after another. Conflicting transactions are re-run transparently;
//! [`Transaction::retry`] blocks until something read changes, and
//! [`Transaction::or_else`] composes alternatives. Updates whose order does
//! not matter (adding to a total) can be made with
//! [`Transaction::commute`], which applies them at commit without reading:
//! transactions that only commute a TVar do not conflict on it.
//!
//! ```
//! use stm_core::{atomically, Stm, TVar};
//!
//! let alice = TVar::new(100);
//! let bob = TVar::new(0);
//! let threads: Vec<_> = (0..4)
//!     .map(|_| {
//!         let (alice, bob) = (alice.clone(), bob.clone());
//!         // `Stm::spawn` starts a thread on the runtime's platform (an OS
//!         // thread here, a task under a model checker).
//!         Stm::new().spawn(move || {
//!             for _ in 0..10 {
//!                 atomically(|tx| {
//!                     let a = tx.read(&alice)?;
//!                     tx.write(&alice, a - 1)?;
//!                     tx.modify(&bob, |b| b + 1)
//!                 });
//!             }
//!         })
//!     })
//!     .collect();
//! for t in threads {
//!     t.join().unwrap();
//! }
//! assert_eq!((alice.load(), bob.load()), (60, 40));
//! ```
//!
//! # One engine, three platforms
//!
//! All shared state goes through the [`platform`] module's [`Platform`]
//! trait. [`Stm<Std>`](Stm) (the default) runs on operating-system threads;
//! `Stm<ShuttlePlatform>` (feature `shuttle`) and `Stm<LoomPlatform>` (feature
//! `loom`) run the very same code under those model checkers. A runtime owns
//! its version clock, so each model execution starts from a fresh one.
//!
//! # Algorithm: TL2 with snapshot extension and serial-mode fallback
//!
//! Each runtime has a global version clock; each TVar a lock word holding the
//! version of its value, a lock bit and a waiter flag.
//!
//! * **Begin**: take the snapshot version `rv` from the thread's snapshot
//!   hint, the latest clock value it has read (its last commit version,
//!   or the clock at its last extension), rather than from the clock: with
//!   several threads committing, the clock's cache line is on another core
//!   at every begin. An old `rv` is still a snapshot; reads of newer
//!   versions extend it. Irrevocable attempts, and a queue item claimed
//!   after items were added (see [`transaction`]), read the clock.
//! * **Read**: load the lock word; if locked, abort; if its version is newer
//!   than `rv`, try to extend the snapshot (re-check every earlier read at the
//!   current clock) or abort; clone the value; load the lock word again and
//!   accept only if it is unchanged. Reads of TVars written earlier in the
//!   transaction return the buffered value.
//! * **Write**: buffer the value in the write log.
//! * **Commute**: buffer the update function in the write log; nothing is
//!   read or logged in the read set. A later read of the TVar in the same
//!   transaction is a real (logged) read whose value gets the pending
//!   updates applied, and turns the entry into a plain buffered write.
//! * **Commit** (writers only): lock every written or commuted TVar (abort if
//!   one is held; for a commuted one, first wait a bounded while for its
//!   holder to finish), take a commit version `wv` from the clock, re-check
//!   every read (skipped when `wv = rv + 1`, as nobody committed in
//!   between), apply each commuted TVar's updates to its value current
//!   then, install the values and release each lock with version `wv`,
//!   waking `retry` waiters.
//!
//! **Opacity.** Every value a transaction observes, committed or not, was the
//! current value of its TVar at one instant, the snapshot `rv`: a read
//! accepts a value only if the TVar was unlocked with the same version before
//! and after the value was cloned, and that version is at most `rv`. A
//! committer holds the lock from before it takes `wv` until after it has
//! installed its value, so every value with version at most `rv` was installed
//! before any commit with a version above `rv` started changing anything:
//! together the accepted values are exactly the state at `rv`. Extension moves
//! `rv` to a later clock value `t` only after re-checking that every earlier
//! read still holds its version at `t`, so the invariant is kept. A read that
//! cannot be made consistent returns [`StmError::Conflict`] and dooms the
//! attempt: even a body that ignores the error cannot commit it.
//!
//! **Serializability.** A writer commits at `wv` holding the locks of all it
//! writes, after checking that all it read is still at the version read
//! (unchanged since `rv`, and since no one can change a TVar without first
//! taking a larger version, unchanged up to `wv`). It therefore serializes at
//! `wv`; read-only transactions serialize at `rv`, or equally at their
//! begin, however old the hint `rv` came from: every value they read was
//! unchanged from `rv` until it was read, after the begin. Commutes keep
//! this: a commuted TVar is locked like a written one, and its updates are applied
//! to its value at `wv`, exactly what running the whole transaction at
//! `wv` gives; and nothing the transaction observed depends on a commuted
//! value, since reading one turns the commute into a read-modify-write.
//! What a transaction can see of a TVar it commuted is described at
//! [`Transaction::commute`].
//!
//! **Progress.** A transaction that has been aborted by conflicts
//! [`StmConfig::irrevocable_after`] times runs its next attempt in serial
//! mode: it sets a bit in the version clock that makes every other
//! transaction's attempt to take a commit version fail, waits out commits
//! already under way, and so can no longer be aborted. Every transaction thus
//! commits after a bounded number of attempts: no livelock, no starvation.
//!
//! **Reads without locks.** A TVar's value is one atomic word: the value
//! itself for small plain types (integers, `bool`, `char`, floats), else
//! a pointer to a box. A read loads the lock word, the value word and the
//! lock word again, and clones; it takes no lock, allocates nothing and
//! changes no reference count. The logs point to TVars without counting
//! them, and a read-only transaction writes no cache line another thread
//! reads (its statistics go to its own thread's record).
//!
//! **Reclamation.** A box replaced at commit, and a TVar whose last handle
//! is dropped, may still be in use by a reader, so they are freed by
//! epoch-based reclamation (module `reclaim`): every attempt pins its
//! thread's record for as long as it can reach TVars, and garbage is freed
//! once every pinned attempt began after it became unreachable. The
//! protocol runs on the [`Platform`] atomics, so loom checks it; each
//! `unsafe` block names the protocol that makes it sound.
//!
//! # Nesting
//!
//! Calling `atomically` inside a transaction body panics with a message
//! saying so: nested transactions are not flattened. Pass the outer
//! `&mut Transaction` to helper functions instead.

pub mod platform;
pub mod recorder;
pub mod transaction;

// The engine's layers, bottom-up; each module uses only those of the layers
// below it (and `platform`, `recorder` and `error` everywhere):
// 1. ids, injected_bug, invariant, config, version_lock, stats, value: leaf
//    facts (`invariant`'s checks name `shared`'s runtime only in macros);
// 2. participants -> reclaim: threads' records, deferred reclamation;
// 3. conflict_report -> shared: what a runtime's users share;
// 4. tvar -> log -> thread_context: variables, logs, a thread's own state;
// 5. tx -> commit, retry_wait, speculation: one attempt;
// 6. attempt -> stm -> transaction: the attempt loop, the public entry
//    points, the queue.
mod attempt;
mod commit;
mod config;
mod conflict_report;
mod error;
mod ids;
mod injected_bug;
mod invariant;
mod join_handle;
mod log;
mod participants;
mod reclaim;
mod retry_wait;
mod shared;
mod speculation;
mod stats;
mod stm;
mod thread_context;
mod tvar;
mod tx;
mod value;
mod version_lock;

pub use config::StmConfig;
pub use conflict_report::{ConflictKind, ConflictReport, ConflictSite};
pub use error::{AbortKind, MaybeRetry, StmError, TxError};
pub use ids::{CallSite, TVarId};
#[cfg(feature = "bug-injection")]
pub use injected_bug::InjectedBug;
pub use invariant::Invariant;
pub use join_handle::JoinHandle;
pub use platform::{Platform, Std};
pub use stats::StmStats;
pub use stm::Stm;
pub use tvar::TVar;
pub use tx::Transaction;

#[cfg(feature = "loom")]
pub use platform::LoomPlatform;
#[cfg(all(feature = "loom", feature = "shuttle"))]
pub use platform::ModelPlatform;
#[cfg(feature = "shuttle")]
pub use platform::ShuttlePlatform;

/// Runs `body` as a transaction on the default runtime (see
/// [`Stm::atomically`]).
///
/// ```
/// use stm_core::{atomically, TVar};
///
/// let v = TVar::new(1);
/// atomically(|tx| tx.modify(&v, |x| x * 10));
/// assert_eq!(v.load(), 10);
/// ```
#[track_caller]
pub fn atomically<R>(body: impl FnMut(&mut Transaction<'_, Std>) -> Result<R, StmError>) -> R {
    platform::default_runtime().atomically(body)
}

/// Runs `body` as a transaction on the default runtime, allowing the
/// caller's own error (see [`Stm::try_atomically`]).
///
/// ```
/// use stm_core::{try_atomically, TVar, TxError};
///
/// let stock = TVar::new(0_u32);
/// let taken: Result<(), &str> = try_atomically(|tx| match tx.read(&stock)? {
///     0 => Err(TxError::Abort("out of stock")),
///     n => tx.write(&stock, n - 1).map_err(Into::into),
/// });
/// assert_eq!(taken, Err("out of stock"));
/// ```
#[track_caller]
pub fn try_atomically<R, E>(
    body: impl FnMut(&mut Transaction<'_, Std>) -> Result<R, TxError<E>>,
) -> Result<R, E> {
    platform::default_runtime().try_atomically(body)
}
