//! Finished attempts that wait for their turn without holding a thread.
//!
//! In an ordered queue run an item may finish its body before the items
//! ahead of it have committed. Rather than keep its worker waiting, the
//! attempt is detached: its read and write logs, its snapshot and how its
//! body ended are moved into a [`DetachedAttempt`], the worker unpins and
//! goes on to another item, and when the item's turn comes the worker
//! resumes the attempt, validates it and commits it, or runs the body again
//! if an earlier item changed what it read (Block-STM's collaborative
//! scheduling, on a TL2 engine). The thread keeps spare logs
//! (`ThreadContext::take_spare_logs`), so that detaching allocates none.
//!
//! Logs point at TVar headers without counting a handle, which is sound
//! only while the attempt is pinned (see `log`). A detached attempt is not
//! pinned, so before it unpins it counts a handle for every header it
//! logged, as a `retry` waiter does; the handles are dropped once the
//! attempt is pinned again when it resumes.

use crate::ids::CallSite;
use crate::log::{ReadSet, WriteSet};
use crate::platform::{Arc, Platform};
use crate::recorder::AttemptId;
use crate::shared::RuntimeShared;
use crate::thread_context::ThreadContext;
use crate::tvar::KeptTVar;
use crate::tx::Transaction;
use core::any::Any;
use std::time::Instant;

/// How the body of a detached attempt ended.
pub(crate) enum Ending<R, E> {
    /// It returned a value: the attempt is ready to commit.
    Ready(R),
    /// It gave up with the caller's error.
    Failed(E),
    /// It panicked.
    Panicked(Box<dyn Any + Send>),
    /// It called `retry`.
    Retried,
}

/// A finished attempt, unpinned, waiting to be resumed at its turn.
pub(crate) struct DetachedAttempt<P: Platform, R, E> {
    reads: ReadSet<P>,
    writes: WriteSet<P>,
    /// A counted handle for every header the logs point at.
    kept: Vec<KeptTVar<P>>,
    read_version: u64,
    attempt: Option<AttemptId>,
    started: Option<Instant>,
    pub(crate) ending: Ending<R, E>,
}

// SAFETY: the logs' header pointers are kept alive by `kept` (counted
// handles, which any thread may drop) and are only dereferenced once the
// logs are installed in a pinned transaction on the resuming thread; the
// values the write log owns are `Send` (TVar values are `Send + Sync`),
// and so are `R` and `E`.
unsafe impl<P: Platform, R: Send, E: Send> Send for DetachedAttempt<P, R, E> {}

/// A detached attempt, boxed: it is moved several times on its way to its
/// turn, and a box keeps those moves small.
pub(crate) type Detached<P, R, E> = Box<DetachedAttempt<P, R, E>>;

/// An attempt that could not be detached, and its ending, given back.
pub(crate) type NotDetached<'rt, P, R, E> = (Transaction<'rt, P>, Ending<R, E>);

impl<'rt, P: Platform> Transaction<'rt, P> {
    /// Detaches this finished attempt (see the module docs). Gives the
    /// attempt and `ending` back if a TVar it logged is already losing its
    /// last handle: what it read may be unreachable, and the caller then
    /// waits for the turn instead.
    pub(crate) fn detach<R, E>(
        mut self,
        ending: Ending<R, E>,
    ) -> Result<Detached<P, R, E>, NotDetached<'rt, P, R, E>> {
        let (reads, writes) = (&self.context.reads, &self.context.writes);
        let mut kept = Vec::with_capacity(reads.entries.len() + writes.entries.len());
        // One handle per TVar written, and per TVar read but not written: a
        // read-modify-write (`modify`) is in both logs, and counting it once
        // spares a read-modify-write of its count at detach and at resume.
        let headers = (writes.entries.iter().map(|e| e.tvar())).chain(
            (reads.entries.iter().map(|e| e.tvar())).filter(|tvar| writes.position(tvar).is_none()),
        );
        for header in headers {
            // SAFETY: this attempt is still pinned, so the header is live.
            match unsafe { header.keep_alive() } {
                Some(handle) => kept.push(handle),
                None => return Err((self, ending)),
            }
        }
        let (spare_reads, spare_writes) = self.context.take_spare_logs();
        let detached = Box::new(DetachedAttempt {
            reads: core::mem::replace(&mut self.context.reads, spare_reads),
            writes: core::mem::replace(&mut self.context.writes, spare_writes),
            kept,
            read_version: self.read_version,
            attempt: self.attempt,
            started: self.started,
            ending,
        });
        // The attempt goes on in the detached logs: the transaction dropped
        // here (unpinning, with empty logs) tells the recorder nothing.
        self.mark_end_recorded();
        Ok(detached)
    }
}

impl<P: Platform, R, E> DetachedAttempt<P, R, E> {
    /// Takes the attempt up again on this thread, pinned, with its logs
    /// installed in `context` (whose own logs are empty, as between calls).
    pub(crate) fn resume<'rt>(
        self,
        runtime: &'rt Arc<RuntimeShared<P>>,
        context: &'rt mut ThreadContext<P>,
        site: CallSite,
    ) -> (Transaction<'rt, P>, Ending<R, E>) {
        let DetachedAttempt {
            reads,
            writes,
            kept,
            read_version,
            attempt,
            started,
            ending,
        } = self;
        let tx = Transaction::resume(runtime, context, site, read_version, attempt, started);
        tx.context.install_logs(reads, writes);
        // Pinned now: the logged headers cannot be freed before the logs are
        // cleared, counted or not.
        drop(kept);
        (tx, ending)
    }
}
