//! `Transaction`: one attempt of a transaction body, with its snapshot, its
//! read and write logs, and the opaque read protocol.

use crate::error::{AbortKind, MaybeRetry, StmError};
use crate::ids::CallSite;
use crate::injected_bug::BugSwitch;
use crate::invariant::{engine_invariant, Invariant};
use crate::log::{Pending, WriteSetBugs};
use crate::platform::{Arc, AtomicPointer, Ordering, Platform, Std};
use crate::recorder::{recorded_value, AttemptEnd, AttemptId, Event};
use crate::shared::RuntimeShared;
use crate::thread_context::ThreadContext;
use crate::tvar::{TVar, TVarHeader};
use crate::value::{self, CommutedUpdate, LoggedValue};
use core::ptr::NonNull;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::time::Instant;

/// One attempt of a transaction: the handle a transaction body reads and
/// writes TVars through.
///
/// Reads see one consistent snapshot (opacity); writes are buffered and become
/// visible all at once when the attempt commits. Every method returns a
/// `Result` whose error is engine control flow: propagate it with `?`.
pub struct Transaction<'rt, P: Platform = Std> {
    runtime: &'rt Arc<RuntimeShared<P>>,
    /// The thread's logs and record; the attempt is pinned in it from
    /// `begin` until it is dropped.
    pub(crate) context: &'rt mut ThreadContext<P>,
    /// The snapshot: every value read was current at this clock version.
    pub(crate) read_version: u64,
    /// Holds serial mode: no other transaction can take a commit version.
    pub(crate) irrevocable: bool,
    /// Set once a read found the snapshot broken; the attempt can only abort.
    doomed: Option<AbortKind>,
    /// The TVar that made this attempt abort, for conflict reports (a header
    /// this pinned attempt logged or was handed).
    conflict: Option<NonNull<TVarHeader<P>>>,
    /// Where the transaction comes from (the `atomically` call site).
    pub(crate) site: CallSite,
    /// When the attempt began, if the runtime records conflicts.
    pub(crate) started: Option<Instant>,
    /// This attempt's id, if the runtime has a recorder.
    pub(crate) attempt: Option<AttemptId>,
    /// Whether the recorder has been told how the attempt ended.
    end_recorded: bool,
    /// The version this attempt committed its writes at (set by `commit`).
    pub(crate) commit_version: Option<u64>,
}

impl<'rt, P: Platform> Transaction<'rt, P> {
    /// Starts an attempt on this thread's context: recorded, pinned, with
    /// its snapshot.
    ///
    /// The snapshot is the thread's snapshot hint, the latest clock value it
    /// read, rather than the clock itself: with several threads committing,
    /// the clock's cache line is elsewhere at every begin, and a snapshot
    /// older than the clock is still one (every value read must be current
    /// at it; a read of a newer version extends it, as in TL2). The cost is
    /// a commit that validates its reads where a fresh snapshot would have
    /// let it skip that. `fresh_snapshot` reads the clock anyway: an
    /// irrevocable attempt does, and so does a queue item whose place in
    /// the serial order must follow the items committed before it was
    /// claimed.
    pub(crate) fn begin(
        runtime: &'rt Arc<RuntimeShared<P>>,
        context: &'rt mut ThreadContext<P>,
        irrevocable: bool,
        fresh_snapshot: bool,
        site: CallSite,
    ) -> Self {
        // Recorded before a fresh snapshot is taken: see the recorder's
        // real-time rule.
        let attempt = runtime.record_begin(site);
        if irrevocable {
            runtime.clock.enter_serial_mode();
        } else if runtime.has_bug(BugSwitch::SerialModeNotExclusive) {
            runtime.clock.wait_for_serial_mode_end();
        }
        if cfg!(feature = "bug-injection") {
            context.writes.bugs = WriteSetBugs {
                index_misses_early_writes: runtime.has_bug(BugSwitch::WriteIndexMiss),
                roll_back_keeps_overwrites: runtime.has_bug(BugSwitch::OrElseUndoOverwrite),
            };
        }
        context.pin();
        if irrevocable || fresh_snapshot {
            context.snapshot_hint = runtime.clock.now();
        }
        let read_version = context.snapshot_hint;
        Transaction {
            runtime,
            read_version,
            context,
            irrevocable,
            doomed: None,
            conflict: None,
            site,
            started: runtime.config.conflict_reports.then(Instant::now),
            attempt,
            end_recorded: false,
            commit_version: None,
        }
    }

    /// Takes up, on this thread, an attempt whose body finished earlier
    /// (possibly on another thread): pinned again, with its snapshot, its
    /// recorder id and its start time. The caller installs its logs.
    pub(crate) fn resume(
        runtime: &'rt Arc<RuntimeShared<P>>,
        context: &'rt mut ThreadContext<P>,
        site: CallSite,
        read_version: u64,
        attempt: Option<AttemptId>,
        started: Option<Instant>,
    ) -> Self {
        context.pin();
        Transaction {
            runtime,
            read_version,
            context,
            irrevocable: false,
            doomed: None,
            conflict: None,
            site,
            started,
            attempt,
            end_recorded: false,
            commit_version: None,
        }
    }

    /// The point in the serial order this committed attempt takes: after
    /// every commit at or below the version it serialized at. Read-only
    /// attempts serialize at their snapshot, after the writer of that
    /// version.
    pub(crate) fn serialization_point(&self) -> u64 {
        match self.commit_version {
            Some(version) => version * 2,
            None => self.read_version * 2 + 1,
        }
    }

    /// Sends `event` to the runtime's recorder, if it has one.
    pub(crate) fn record(&self, event: impl FnOnce(AttemptId) -> Event<'static>) {
        if let Some(attempt) = self.attempt {
            self.runtime.record(&event(attempt));
        }
    }

    /// Tells the recorder that this attempt ended without committing.
    pub(crate) fn record_end(&mut self, reason: AttemptEnd) {
        if !self.end_recorded {
            self.end_recorded = true;
            let snapshot = self.read_version;
            self.record(|attempt| Event::End {
                attempt,
                snapshot,
                reason,
            });
        }
    }

    pub(crate) fn mark_end_recorded(&mut self) {
        self.end_recorded = true;
    }

    pub(crate) fn runtime(&self) -> &'rt Arc<RuntimeShared<P>> {
        self.runtime
    }

    pub(crate) fn doomed(&self) -> Option<AbortKind> {
        self.doomed
    }

    /// The TVar blamed for this attempt's abort, if any.
    pub(crate) fn conflict(&self) -> Option<&TVarHeader<P>> {
        // SAFETY: the header was logged by (or handed to) this attempt,
        // which is still pinned.
        self.conflict.map(|header| unsafe { &*header.as_ptr() })
    }

    /// Names the TVar this attempt aborts because of: one it logged, or
    /// was handed while pinned.
    pub(crate) fn blame(&mut self, tvar: NonNull<TVarHeader<P>>) {
        self.conflict = Some(tvar);
    }

    /// Whether this attempt runs irrevocably (it cannot be aborted by
    /// conflicts; see the crate docs on progress).
    pub fn is_irrevocable(&self) -> bool {
        self.irrevocable
    }

    /// Reads a TVar: the value written earlier in this transaction, else the
    /// value current at the transaction's snapshot. A TVar this transaction
    /// has [commuted](Self::commute) is read for real, and its pending
    /// updates applied to the value read (see `commute`).
    ///
    /// ```
    /// use stm_core::{atomically, TVar};
    ///
    /// let a = TVar::new(3);
    /// let doubled = atomically(|tx| Ok(tx.read(&a)? * 2));
    /// assert_eq!(doubled, 6);
    /// ```
    #[inline]
    pub fn read<T: Clone + Send + Sync + 'static>(
        &mut self,
        tvar: &TVar<T, P>,
    ) -> Result<T, StmError> {
        self.check_usable(tvar)?;
        let header = tvar.header();
        if !self.context.writes.is_empty() {
            match self.context.writes.get(header) {
                Some(Pending::Value(buffered)) => {
                    // SAFETY: the log owns the value, a `T` (the TVar's type).
                    return Ok(unsafe { value::clone_value::<T>(buffered.word()) });
                }
                Some(Pending::Commutes(_)) => return self.read_commuted(header),
                None => {}
            }
        }
        self.read_current(header)
    }

    /// Reads a TVar this transaction commuted: a logged read of the value
    /// current at the snapshot, with the pending updates applied; the entry
    /// becomes a plain write of the result.
    #[cold]
    fn read_commuted<T: Clone + Send + Sync + 'static>(
        &mut self,
        header: &TVarHeader<P>,
    ) -> Result<T, StmError> {
        let current = self.read_current::<T>(header)?;
        let writes = &mut self.context.writes;
        let resolving = catch_unwind(AssertUnwindSafe(|| {
            writes
                .resolve_commutes(header, LoggedValue::new(current))
                .word()
        }));
        match resolving {
            // SAFETY: the log owns the value, a `T` (the TVar's type).
            Ok(word) => Ok(unsafe { value::clone_value::<T>(word) }),
            Err(panic) => {
                // An update panicked and its entry lost its updates: this
                // attempt must not commit, even if the body catches the
                // panic (it runs again instead).
                self.doomed = Some(AbortKind::Validation);
                resume_unwind(panic)
            }
        }
    }

    /// The opaque read protocol: the value of `header` current at the
    /// snapshot, logged in the read set.
    #[inline]
    fn read_current<T: Clone + Send + Sync + 'static>(
        &mut self,
        header: &TVarHeader<P>,
    ) -> Result<T, StmError> {
        loop {
            let before = header.lock.load();
            if before.is_locked() {
                if self.irrevocable {
                    P::yield_now();
                    continue;
                }
                return Err(self.doom(AbortKind::ReadLocked, header));
            }
            if before.version() > self.read_version
                && !self.runtime.has_bug(BugSwitch::ReadWithoutVersionCheck)
            {
                if self.extend_snapshot() {
                    continue;
                }
                return Err(self.doom(AbortKind::ReadStale, header));
            }
            // SAFETY: the word holds a `T`; this attempt is pinned, so a box
            // it points to is not freed before the clone returns (`reclaim`).
            let value = unsafe { value::clone_value::<T>(header.value.load(Ordering::Acquire)) };
            if header.lock.load().value_state() != before.value_state() {
                // A writer got in between the two loads; look again.
                P::yield_now();
                continue;
            }
            self.context.reads.push(header, before.version());
            self.record(|attempt| Event::Read {
                attempt,
                tvar: header.id,
                version: before.version(),
                value: recorded_value(&value),
            });
            return Ok(value);
        }
    }

    /// Writes a TVar. The write is buffered: other transactions see it only
    /// once this one commits.
    ///
    /// ```
    /// use stm_core::{atomically, TVar};
    ///
    /// let a = TVar::new(0);
    /// atomically(|tx| tx.write(&a, 42));
    /// assert_eq!(a.load(), 42);
    /// ```
    #[inline]
    pub fn write<T: Clone + Send + Sync + 'static>(
        &mut self,
        tvar: &TVar<T, P>,
        value: T,
    ) -> Result<(), StmError> {
        self.check_usable(tvar)?;
        self.context
            .writes
            .insert(tvar.header(), LoggedValue::new(value));
        Ok(())
    }

    /// Reads a TVar, applies `f` and writes the result back.
    ///
    /// ```
    /// use stm_core::{atomically, TVar};
    ///
    /// let hits = TVar::new(0_u64);
    /// atomically(|tx| tx.modify(&hits, |n| n + 1));
    /// assert_eq!(hits.load(), 1);
    /// ```
    #[inline]
    pub fn modify<T: Clone + Send + Sync + 'static>(
        &mut self,
        tvar: &TVar<T, P>,
        f: impl FnOnce(T) -> T,
    ) -> Result<(), StmError> {
        // `read` then `write`, looking the TVar up in the write set once.
        self.check_usable(tvar)?;
        let header = tvar.header();
        let Some(i) = self.context.writes.position(header) else {
            let value = self.read_current(header)?;
            self.context
                .writes
                .push_new(header, LoggedValue::new(f(value)));
            return Ok(());
        };
        let value = match self.context.writes.pending(i) {
            // SAFETY: the log owns the value, a `T` (the TVar's type).
            Pending::Value(buffered) => unsafe { value::clone_value::<T>(buffered.word()) },
            Pending::Commutes(_) => self.read_commuted(header)?,
        };
        self.context
            .writes
            .overwrite_value(i, LoggedValue::new(f(value)));
        Ok(())
    }

    /// Updates a TVar with `f` at commit, without reading it: `f` is
    /// applied, under the TVar's commit lock, to the value current when
    /// this transaction commits (Clojure's `commute`). Use it for updates
    /// whose order does not matter to anyone, such as adding to a total or
    /// counting events: transactions that only commute a TVar do not
    /// conflict with each other on it (none reads it, so none can
    /// invalidate another's reads; at commit they wait for each other).
    ///
    /// A commute is not a read: it is not logged in the read set, not
    /// validated, and can never make the attempt abort as a read does. At
    /// commit, the TVar is locked with the rest of the write set; if
    /// another committer holds its lock, this one waits a few scheduling
    /// rounds for it (a commit holds locks only for a moment, and the wait
    /// is bounded, so it cannot deadlock) before giving up as for any
    /// locked write (which then happens only when the holder was kept from
    /// running meanwhile). Then, after the commit version is taken and the
    /// reads are validated, `f` is applied to the current value and the
    /// result is installed like any written value.
    ///
    /// Inside the transaction:
    ///
    /// * Several commutes of one TVar compose, in the order they were made.
    /// * [`read`](Self::read) of a commuted TVar is a real read (logged and
    ///   validated like any other) that returns the value read with the
    ///   pending updates applied; from then on the TVar is an ordinary
    ///   read-modify-write of this transaction, and the updates no longer
    ///   wait for commit. ([`modify`](Self::modify) reads, so the same
    ///   holds for it.)
    /// * [`write`](Self::write) after a commute replaces the pending
    ///   updates; a commute after a write (or after a read has turned the
    ///   commute into a value) applies `f` to the buffered value at once.
    /// * [`or_else`](Self::or_else) takes back the commutes of an
    ///   alternative that retried, as it does its writes.
    /// * If `f` panics, at commit or in a read, the panic propagates as one
    ///   in the body does, and the attempt has no effect (it cannot commit
    ///   even if the body catches the panic).
    ///
    /// **Serializability.** The transaction still serializes at its commit
    /// version `wv`: it holds the lock of every TVar it writes or commutes,
    /// its reads are validated unchanged up to `wv`, and each commuted TVar
    /// gets `f` applied to its value at `wv`, which is exactly what running
    /// the whole transaction at its commit point produces. Nothing the
    /// transaction observed depends on a commuted value, since reading one
    /// turns the commute into a read-modify-write; so no read needs
    /// validating for a commute, and two transactions that only commute a
    /// TVar are ordered by their commit versions, each applying its update
    /// to the other's result.
    ///
    /// Many threads adding to one total, none of them reading it:
    ///
    /// ```
    /// use stm_core::{Stm, TVar};
    ///
    /// let stm = Stm::new();
    /// let total = TVar::new_in(&stm, 0_u64);
    /// let threads: Vec<_> = (1..=4_u64)
    ///     .map(|t| {
    ///         let (stm2, total) = (stm.clone(), total.clone());
    ///         stm.spawn(move || {
    ///             for _ in 0..100 {
    ///                 stm2.atomically(|tx| tx.commute(&total, move |n| n + t));
    ///             }
    ///         })
    ///     })
    ///     .collect();
    /// for t in threads {
    ///     t.join().unwrap();
    /// }
    /// assert_eq!(total.load(), 100 * (1 + 2 + 3 + 4));
    /// ```
    ///
    /// Reading a commuted TVar returns the pending updates applied to the
    /// value read, and makes the transaction an ordinary read-modify-write:
    ///
    /// ```
    /// use stm_core::{atomically, TVar};
    ///
    /// let hits = TVar::new(10_u32);
    /// let seen = atomically(|tx| {
    ///     tx.commute(&hits, |n| n + 1)?;
    ///     tx.commute(&hits, |n| n * 2)?; // composes: (n + 1) * 2
    ///     let seen = tx.read(&hits)?; // a logged read of 10, updates applied
    ///     tx.commute(&hits, |n| n + 3)?; // applied at once to the buffered 22
    ///     Ok(seen)
    /// });
    /// assert_eq!(seen, 22);
    /// assert_eq!(hits.load(), 25);
    /// ```
    #[inline]
    pub fn commute<T: Clone + Send + Sync + 'static>(
        &mut self,
        tvar: &TVar<T, P>,
        f: impl FnOnce(T) -> T + Send + 'static,
    ) -> Result<(), StmError> {
        self.check_usable(tvar)?;
        let header = tvar.header();
        let stale_base = (self.runtime.has_bug(BugSwitch::CommuteStale)
            && self.context.writes.position(header).is_none())
        .then(|| self.peek::<T>(header));
        self.context
            .writes
            .commute(header, CommutedUpdate::new(f), stale_base);
        Ok(())
    }

    /// The injected bug `commute-stale`: the value of `header` now (and
    /// its version), read without logging, for the commuted updates to be
    /// applied to instead of the value current at commit.
    #[cold]
    fn peek<T: Clone + Send + Sync + 'static>(&self, header: &TVarHeader<P>) -> (LoggedValue, u64) {
        loop {
            let before = header.lock.load();
            if !before.is_locked() {
                // SAFETY: the word holds a `T`; this attempt is pinned, so a
                // box it points to is not freed before the clone returns.
                let value =
                    unsafe { value::clone_value::<T>(header.value.load(Ordering::Acquire)) };
                if header.lock.load().value_state() == before.value_state() {
                    return (LoggedValue::new(value), before.version());
                }
            }
            P::yield_now();
        }
    }

    /// Abandons this attempt and blocks until a TVar read so far is changed
    /// by another commit, then runs the transaction again (GHC's `retry`).
    ///
    /// A transaction that retries before reading any TVar could never be
    /// woken; `atomically` panics in that case.
    ///
    /// ```
    /// use stm_core::{Stm, TVar};
    ///
    /// let stm = Stm::new();
    /// let ready = TVar::new_in(&stm, false);
    /// let setter = {
    ///     let (stm2, ready) = (stm.clone(), ready.clone());
    ///     stm.spawn(move || stm2.atomically(|tx| tx.write(&ready, true)))
    /// };
    /// // Blocks (without spinning) until the other thread sets the flag.
    /// stm.atomically(|tx| if tx.read(&ready)? { Ok(()) } else { tx.retry() });
    /// setter.join().unwrap();
    /// ```
    pub fn retry<R>(&self) -> Result<R, StmError> {
        Err(StmError::Retry)
    }

    /// Runs `first`; if it retries, discards its writes and runs `second`
    /// instead (GHC's `orElse`). If `second` retries too, the whole
    /// transaction retries, waiting on the TVars both alternatives read.
    ///
    /// ```
    /// use stm_core::{atomically, TVar};
    ///
    /// let primary = TVar::new(None::<u32>);
    /// let fallback = TVar::new(7_u32);
    /// let got = atomically(|tx| {
    ///     tx.or_else(
    ///         |tx| match tx.read(&primary)? {
    ///             Some(v) => Ok(v),
    ///             None => tx.retry(),
    ///         },
    ///         |tx| tx.read(&fallback),
    ///     )
    /// });
    /// assert_eq!(got, 7);
    /// ```
    pub fn or_else<R, E: MaybeRetry>(
        &mut self,
        first: impl FnOnce(&mut Self) -> Result<R, E>,
        second: impl FnOnce(&mut Self) -> Result<R, E>,
    ) -> Result<R, E> {
        let checkpoint = self.context.writes.checkpoint();
        match first(self) {
            Err(e) if e.is_retry() && self.doomed.is_none() => {
                self.context.writes.roll_back(checkpoint);
                second(self)
            }
            outcome => {
                self.context.writes.keep(checkpoint);
                outcome
            }
        }
    }

    #[inline]
    fn check_usable<T: Clone + Send + Sync + 'static>(
        &mut self,
        tvar: &TVar<T, P>,
    ) -> Result<(), StmError> {
        assert!(
            tvar.belongs_to(self.runtime),
            "stm: {tvar:?} belongs to another Stm runtime than this transaction"
        );
        match self.doomed {
            Some(_) => Err(StmError::Conflict),
            None => Ok(()),
        }
    }

    fn doom(&mut self, kind: AbortKind, culprit: &TVarHeader<P>) -> StmError {
        self.check_irrevocable_survives(kind);
        self.doomed = Some(kind);
        self.blame(NonNull::from(culprit));
        StmError::Conflict
    }

    /// Moves the snapshot forward to now if nothing read so far has changed.
    fn extend_snapshot(&mut self) -> bool {
        let now = self.runtime.clock.now();
        self.context.snapshot_hint = now;
        if self.runtime.has_bug(BugSwitch::ExtendWithoutValidation) {
            self.read_version = now;
            return true;
        }
        match self.first_changed_read(false) {
            None => {
                self.read_version = now;
                true
            }
            Some(_) => false,
        }
    }

    /// The first TVar read that no longer holds the version read, if any.
    /// While committing (`holding_write_locks`), TVars locked by this
    /// transaction count as unchanged if their version is. An irrevocable
    /// transaction waits out other writers' locks: they cannot take a commit
    /// version while it runs, so they are about to unlock.
    pub(crate) fn first_changed_read(&self, holding_write_locks: bool) -> Option<&TVarHeader<P>> {
        for entry in &self.context.reads.entries {
            let tvar = entry.tvar();
            loop {
                let word = tvar.lock.load();
                if word.is_locked()
                    && !(holding_write_locks && self.context.writes.position(tvar).is_some())
                {
                    if self.irrevocable {
                        P::yield_now();
                        continue;
                    }
                    return Some(tvar);
                }
                if word.version() != entry.version {
                    return Some(tvar);
                }
                break;
            }
        }
        None
    }

    /// Whether this attempt both read `tvar` and wrote it (or commuted it
    /// after reading it): a read-modify-write, which a commute would spare
    /// its conflicts if the value read is not needed (conflict reports
    /// suggest it).
    pub(crate) fn read_and_wrote(&self, tvar: &TVarHeader<P>) -> bool {
        self.context.writes.position(tvar).is_some()
            && self
                .context
                .reads
                .entries
                .iter()
                .any(|entry| core::ptr::eq(entry.tvar(), tvar))
    }

    /// The progress guarantee: while an attempt holds serial mode no other
    /// transaction can take a commit version, so nothing it read can change
    /// and it cannot be aborted by a conflict. Checked in debug builds (and
    /// so under the model checkers) and reported to a recorder; release
    /// builds fall back to aborting safely.
    pub(crate) fn check_irrevocable_survives(&self, kind: AbortKind) {
        engine_invariant!(
            self.runtime,
            Invariant::IrrevocableAborted,
            self.attempt,
            !self.irrevocable,
            "stm engine bug: an irrevocable attempt was aborted ({kind})"
        );
    }

    /// The injected bug `irrevocable-aborts`: dooms this irrevocable attempt
    /// as if a TVar it read (the first, if any) had changed.
    pub(crate) fn abort_irrevocable_by_injected_bug(&mut self) {
        let culprit = self
            .context
            .reads
            .entries
            .first()
            .map(|entry| NonNull::from(entry.tvar()));
        self.check_irrevocable_survives(AbortKind::Validation);
        self.doomed = Some(AbortKind::Validation);
        if let Some(culprit) = culprit {
            self.blame(culprit);
        }
    }

    /// Gives serial mode back early (before blocking in `retry`).
    pub(crate) fn leave_serial_mode(&mut self) {
        if self.irrevocable {
            self.irrevocable = false;
            let held = self.runtime.clock.exit_serial_mode();
            engine_invariant!(
                self.runtime,
                Invariant::SerialModeNotHeld,
                self.attempt,
                held
            );
        }
    }

    /// Forgets both logs (dropping the values they hold) and ends the pin:
    /// the attempt holds no pointer into TVars any more.
    pub(crate) fn clear_and_unpin(&mut self) {
        self.conflict = None;
        self.context.reads.clear();
        self.context.writes.clear();
        self.context.unpin();
    }
}

impl<P: Platform> Drop for Transaction<'_, P> {
    fn drop(&mut self) {
        // Every other way out records its end first: this is a panic.
        self.record_end(AttemptEnd::Panic);
        self.leave_serial_mode();
        // Every lock is released by now: drop what the logs hold (values
        // written but not committed), then unpin, then hand replaced values
        // to reclamation.
        self.clear_and_unpin();
        self.context.reclaim_in_batches();
    }
}
