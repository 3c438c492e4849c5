//! What a thread keeps between its transactions on one runtime: its record
//! in the runtime (reclamation announcements, statistics), the memory of
//! its logs, and the values its commits replaced that are not yet handed to
//! reclamation.
//!
//! A thread keeps its context between calls (see [`Platform::exit_transaction`]):
//! a transaction then claims nothing, allocates nothing and touches no
//! shared counter to start.

use crate::invariant::{engine_invariant, Invariant};
use crate::log::{ReadSet, WriteSet};
use crate::participants::Participant;
use crate::platform::{Arc, Platform};
use crate::reclaim::Garbage;
use crate::shared::RuntimeShared;

pub(crate) struct ThreadContext<P: Platform> {
    runtime: Arc<RuntimeShared<P>>,
    seat: usize,
    participant: Arc<Participant<P>>,
    pub(crate) reads: ReadSet<P>,
    pub(crate) writes: WriteSet<P>,
    /// Values replaced by this thread's commits, unreachable already, not
    /// yet handed to reclamation (it takes them in batches).
    replaced: Vec<Garbage>,
    /// Empty logs with their memory, for the attempts this thread detaches
    /// (see `speculation`): detached logs go on to the thread that resumes
    /// them, whose own logs come here, so that detaching allocates nothing
    /// once every thread has a few.
    spare_logs: Vec<(ReadSet<P>, WriteSet<P>)>,
    /// The latest clock value this thread has read (a snapshot taken or
    /// extended, a commit version): the snapshot its next attempt starts
    /// from, without reading the clock (see [`Transaction::begin`](crate::tx::Transaction::begin)).
    pub(crate) snapshot_hint: u64,
}

/// How many pairs of spare logs a thread keeps.
const SPARE_LOGS: usize = 8;

impl<P: Platform> ThreadContext<P> {
    /// The thread's context on `runtime`: `kept`, the one the thread kept
    /// (see [`Platform::enter_transaction`]), if it is on this runtime, or a
    /// new one (which claims a record in the runtime).
    pub(crate) fn for_runtime(
        runtime: &Arc<RuntimeShared<P>>,
        kept: Option<Box<Self>>,
    ) -> Box<Self> {
        match kept {
            Some(kept) if Arc::ptr_eq(&kept.runtime, runtime) => kept,
            _ => {
                let (seat, participant) = runtime.reclaimer.participants.claim();
                Box::new(ThreadContext {
                    runtime: runtime.clone(),
                    seat,
                    participant,
                    reads: ReadSet::new(),
                    writes: WriteSet::new(),
                    replaced: Vec::new(),
                    spare_logs: Vec::new(),
                    snapshot_hint: 0,
                })
            }
        }
    }

    /// Whether the logs are empty and the thread unpinned, as a context is
    /// between calls.
    pub(crate) fn is_idle(&self) -> bool {
        self.reads.is_empty() && self.writes.is_empty()
    }

    pub(crate) fn participant(&self) -> &Participant<P> {
        &self.participant
    }

    /// Pins the thread's attempt (see `reclaim`).
    #[inline]
    pub(crate) fn pin(&self) {
        self.runtime.reclaimer.pin(&self.participant);
    }

    /// Ends the pin; every header and value pointer taken while pinned must
    /// be forgotten first.
    #[inline]
    pub(crate) fn unpin(&self) {
        engine_invariant!(
            self.runtime,
            Invariant::UnpinWithLogs,
            None,
            self.reads.is_empty() && self.writes.is_empty()
        );
        self.runtime.reclaimer.unpin(&self.participant);
    }

    /// Empty logs for an attempt this thread detaches: spare ones, or new.
    pub(crate) fn take_spare_logs(&mut self) -> (ReadSet<P>, WriteSet<P>) {
        self.spare_logs
            .pop()
            .unwrap_or_else(|| (ReadSet::new(), WriteSet::new()))
    }

    /// Installs the logs of a resumed attempt, keeping the thread's own
    /// (empty, as between calls) as spares.
    pub(crate) fn install_logs(&mut self, reads: ReadSet<P>, writes: WriteSet<P>) {
        let own_reads = core::mem::replace(&mut self.reads, reads);
        let own_writes = core::mem::replace(&mut self.writes, writes);
        if self.spare_logs.len() < SPARE_LOGS {
            self.spare_logs.push((own_reads, own_writes));
        }
    }

    /// The write log, and where to put the values its write-back replaces
    /// (each unreachable from its TVar once replaced).
    #[inline]
    pub(crate) fn writes_and_replaced(&mut self) -> (&mut WriteSet<P>, &mut Vec<Garbage>) {
        (&mut self.writes, &mut self.replaced)
    }

    /// Hands the replaced values to reclamation once there are a batch of
    /// them. Called unpinned, so that this thread does not hold back the
    /// epoch it tries to advance.
    #[inline]
    pub(crate) fn reclaim_in_batches(&mut self) {
        if self.replaced.len() >= P::RECLAIM_BATCH
            || (!self.replaced.is_empty() && self.runtime.reclaimer.frees_at_once())
        {
            self.runtime.reclaimer.retire(&mut self.replaced);
        }
    }
}

impl<P: Platform> Drop for ThreadContext<P> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            // Dropped while a panic unwinds past the thread's last frames (a
            // model checker tearing down a failed execution): the runtime
            // may be gone with it, so hand nothing over; the record stays
            // claimed and the replaced values are leaked.
            core::mem::forget(core::mem::take(&mut self.replaced));
            return;
        }
        self.runtime.reclaimer.retire(&mut self.replaced);
        self.runtime.reclaimer.participants.give_back(self.seat);
    }
}
