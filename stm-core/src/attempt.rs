//! The attempt loop behind `atomically` and the transaction queue: run the
//! body, commit, and on failure re-run, block in `retry`, or fall back to
//! serial mode; account for every attempt and attribute every lost one.
//! This is the only place attempts are started and ended.
//!
//! A [`CommitGate`] decides when an attempt may commit. Plain `atomically`
//! commits at once; the ordered queue makes each item wait for its turn, so
//! that items commit in the order they were added, and settles an item's
//! error, panic or `retry` only at its turn, when it is known to be the one a
//! serial run would have produced.

use crate::conflict_report::{ConflictEvent, ConflictKind};
use crate::error::{AbortKind, StmError, TxError};
use crate::ids::CallSite;
use crate::injected_bug::BugSwitch;
use crate::invariant::{engine_invariant, Invariant};
use crate::platform::{Arc, Platform};
use crate::recorder::AttemptEnd;
use crate::shared::RuntimeShared;
use crate::speculation::{Detached, Ending};
use crate::stats::Tally;
use crate::thread_context::ThreadContext;
use crate::tx::Transaction;
use core::any::Any;
use std::panic::{catch_unwind, AssertUnwindSafe};

/// Whether an attempt may go ahead once it is ready.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Turn {
    /// Commit (or settle the error).
    Go,
    /// Not yet: earlier transactions must commit first ([`CommitGate::poll_turn`]).
    NotYet,
    /// Give the transaction up without effect: the run is stopping.
    Abandon,
}

/// When an attempt may commit; see the module docs.
pub(crate) trait CommitGate {
    /// Whether the attempt may commit or settle its outcome now, without
    /// blocking. Gates that can say [`Turn::NotYet`] let a finished attempt
    /// be detached (see `speculation`) instead of waiting.
    fn poll_turn(&mut self) -> Turn {
        self.wait_for_turn()
    }
    /// Blocks until the attempt may commit or settle its outcome (never
    /// [`Turn::NotYet`]).
    fn wait_for_turn(&mut self) -> Turn;
    /// Whether the attempt already holds its turn: only then may it run
    /// irrevocably (an irrevocable attempt waiting for a turn would stop the
    /// commits it waits for).
    fn holds_turn(&self) -> bool;
    /// Whether errors, panics and retries must be confirmed at the turn
    /// (ordered mode) rather than taken as final at once.
    fn settles_at_turn(&self) -> bool;
    /// Whether attempts must read the clock for their snapshot rather than
    /// start from the thread's snapshot hint (see [`Transaction::begin`]).
    fn fresh_snapshot(&self) -> bool {
        false
    }
    /// Whether an attempt that lost a conflict runs again (else the
    /// transaction is given up, as [`Outcome::Abandoned`]: a queue's group
    /// of items, whose items then run alone).
    fn retries_conflicts(&self) -> bool {
        true
    }
}

/// The gate of plain `atomically`: commit as soon as ready.
pub(crate) struct Ungated;

impl CommitGate for Ungated {
    fn wait_for_turn(&mut self) -> Turn {
        Turn::Go
    }
    fn holds_turn(&self) -> bool {
        true
    }
    fn settles_at_turn(&self) -> bool {
        false
    }
}

/// A transaction body, as the attempt loop runs it.
pub(crate) type Body<'b, P, R, E> =
    dyn FnMut(&mut Transaction<'_, P>) -> Result<R, TxError<E>> + 'b;

/// How a transaction ended.
pub(crate) enum Outcome<P: Platform, R, E> {
    /// Committed, at this point of the serial order
    /// ([`Transaction::serialization_point`]).
    Committed(R, u64),
    /// The body gave up with the caller's error; nothing was written.
    Failed(E),
    /// The body panicked (caught only when the gate settles at the turn).
    Panicked(Box<dyn Any + Send>),
    /// The gate abandoned the transaction (or, for a gate that does not
    /// retry conflicts, an attempt lost one); nothing was written.
    Abandoned,
    /// It retried at its turn with nothing left that could change what it
    /// read: a serial run would block forever here.
    Stuck,
    /// Its body finished before its turn: the attempt waits, detached, to
    /// be [`resume`]d at the turn.
    Detached(Detached<P, R, E>),
}

/// Runs `body` as a transaction from `site` on `runtime`, committing
/// through `gate`.
pub(crate) fn execute<P: Platform, R, E>(
    runtime: &Arc<RuntimeShared<P>>,
    site: CallSite,
    gate: &mut impl CommitGate,
    body: &mut Body<'_, P, R, E>,
) -> Outcome<P, R, E> {
    run_attempts(runtime, site, gate, body, None)
}

/// Takes up a detached attempt of `body` at its turn (the `gate` holds
/// it): commits it if what it read is unchanged, settles its failure if
/// that stands, and runs `body` again otherwise.
pub(crate) fn resume<P: Platform, R, E>(
    runtime: &Arc<RuntimeShared<P>>,
    site: CallSite,
    gate: &mut impl CommitGate,
    body: &mut Body<'_, P, R, E>,
    detached: Detached<P, R, E>,
) -> Outcome<P, R, E> {
    engine_invariant!(
        runtime,
        Invariant::ResumedWithoutTurn,
        None,
        gate.holds_turn()
    );
    run_attempts(runtime, site, gate, body, Some(detached))
}

fn run_attempts<P: Platform, R, E>(
    runtime: &Arc<RuntimeShared<P>>,
    site: CallSite,
    gate: &mut impl CommitGate,
    body: &mut Body<'_, P, R, E>,
    mut detached: Option<Detached<P, R, E>>,
) -> Outcome<P, R, E> {
    const NESTED: &str = "stm: `atomically` was called inside a running transaction; \
         nested transactions are not flattened: pass the outer `&mut Transaction` down instead";
    let kept = P::enter_transaction::<ThreadContext<P>>().expect(NESTED);
    let mut call = CallAccounting::new(runtime, ThreadContext::for_runtime(runtime, kept));
    let mut conflicts = 0u32;
    loop {
        let context = call
            .context
            .as_deref_mut()
            .expect("held until the call ends");
        let (mut tx, result) = match detached.take() {
            // Counted as an attempt where it began.
            Some(detached) => {
                let (tx, ending) = detached.resume(runtime, context, site);
                let result = match ending {
                    Ending::Ready(value) => Ok(Ok(value)),
                    Ending::Failed(error) => Ok(Err(TxError::Abort(error))),
                    Ending::Retried => Ok(Err(TxError::Stm(StmError::Retry))),
                    Ending::Panicked(panic) => Err(panic),
                };
                (tx, result)
            }
            None => {
                let irrevocable =
                    conflicts >= runtime.config.irrevocable_after && gate.holds_turn();
                call.tally.attempt();
                if irrevocable {
                    call.tally.irrevocable_run();
                }
                let mut tx =
                    Transaction::begin(runtime, context, irrevocable, gate.fresh_snapshot(), site);
                let result = if gate.settles_at_turn() {
                    catch_unwind(AssertUnwindSafe(|| body(&mut tx)))
                } else {
                    Ok(body(&mut tx))
                };
                (tx, result)
            }
        };
        let abort = match result {
            Ok(Ok(value)) => {
                let value = match gate.poll_turn() {
                    Turn::Go => value,
                    Turn::Abandon => {
                        tx.record_end(AttemptEnd::Abandoned);
                        call.finished = true;
                        return Outcome::Abandoned;
                    }
                    Turn::NotYet => match tx.detach(Ending::Ready(value)) {
                        Ok(detached) => {
                            call.finished = true;
                            return Outcome::Detached(detached);
                        }
                        Err((back, Ending::Ready(value))) => {
                            tx = back;
                            if gate.wait_for_turn() == Turn::Abandon {
                                tx.record_end(AttemptEnd::Abandoned);
                                call.finished = true;
                                return Outcome::Abandoned;
                            }
                            value
                        }
                        Err(_) => unreachable!("detach gives back what it was given"),
                    },
                };
                if tx.irrevocable
                    && conflicts == runtime.config.irrevocable_after
                    && runtime.has_bug(BugSwitch::IrrevocableAborts)
                {
                    tx.abort_irrevocable_by_injected_bug();
                }
                match tx.commit() {
                    Ok(()) => {
                        call.tally.commit();
                        call.finished = true;
                        return Outcome::Committed(value, tx.serialization_point());
                    }
                    Err(kind) => kind,
                }
            }
            Ok(Err(TxError::Stm(StmError::Retry)))
                if tx.doomed().is_none() && !gate.settles_at_turn() =>
            {
                tx.record_end(AttemptEnd::Retry);
                call.tally.retry_wait();
                let lost = tx.started.map(|t| t.elapsed());
                let woken_by = tx.block_until_reads_change();
                if let (Some(lost), Some(tvar)) = (lost, woken_by) {
                    call.conflicts.push(ConflictEvent {
                        tvar: Some((tvar.id, tvar.created_at)),
                        kind: Some(ConflictKind::RetryWakeup),
                        loser: site,
                        winner: tvar.written_by,
                        lost,
                        read_modify_write: false,
                    });
                }
                continue;
            }
            // A conflict raised by a read, or one the body made up (a
            // `retry` after a conflict is the conflict).
            Ok(Err(TxError::Stm(error)))
                if matches!(error, StmError::Conflict) || tx.doomed().is_some() =>
            {
                tx.doomed().unwrap_or(AbortKind::Validation)
            }
            // A failure: final at once, or only if it stands at the turn.
            failure => {
                let ending = match failure {
                    Ok(Err(TxError::Abort(error))) => Ending::Failed(error),
                    Ok(Err(TxError::Stm(StmError::Retry))) => Ending::Retried,
                    Err(panic) => Ending::Panicked(panic),
                    Ok(Ok(_)) | Ok(Err(TxError::Stm(StmError::Conflict))) => {
                        unreachable!("matched above")
                    }
                };
                match settle(gate, tx, ending) {
                    Settlement::Final(mut tx, Ending::Retried) => {
                        tx.record_end(AttemptEnd::Retry);
                        call.finished = true;
                        return Outcome::Stuck;
                    }
                    Settlement::Final(mut tx, Ending::Failed(error)) => {
                        tx.record_end(AttemptEnd::UserAbort);
                        call.tally.user_abort();
                        call.finished = true;
                        return Outcome::Failed(error);
                    }
                    // `call` is not finished: its drop counts the panic, and
                    // the transaction's drop records it.
                    Settlement::Final(_, Ending::Panicked(panic)) => {
                        return Outcome::Panicked(panic)
                    }
                    Settlement::Final(_, Ending::Ready(_)) => {
                        unreachable!("a failure is settled, not a value")
                    }
                    Settlement::Stale(stale) => {
                        tx = stale;
                        AbortKind::Validation
                    }
                    Settlement::Abandon(mut tx) => {
                        tx.record_end(AttemptEnd::Abandoned);
                        call.finished = true;
                        return Outcome::Abandoned;
                    }
                    Settlement::Detached(detached) => {
                        call.finished = true;
                        return Outcome::Detached(detached);
                    }
                }
            }
        };
        let culprit = tx.conflict().map(|c| c.id);
        tx.record_end(AttemptEnd::Conflict {
            kind: abort,
            tvar: culprit,
        });
        if let Some(started) = tx.started {
            let culprit = tx.conflict();
            call.conflicts.push(ConflictEvent {
                tvar: culprit.map(|c| (c.id, c.created_at)),
                kind: ConflictKind::of_abort(abort),
                loser: site,
                winner: culprit.and_then(|c| c.written_by()),
                lost: started.elapsed(),
                read_modify_write: culprit.is_some_and(|c| tx.read_and_wrote(c)),
            });
        }
        drop(tx);
        call.tally.abort(abort);
        if !gate.retries_conflicts() {
            call.finished = true;
            return Outcome::Abandoned;
        }
        conflicts = conflicts.saturating_add(1);
        if abort == AbortKind::SerialMode {
            runtime.clock.wait_for_serial_mode_end();
        } else {
            P::back_off(conflicts);
        }
    }
}

/// What settling a failed attempt (a `retry`, an error or a panic, as the
/// [`Ending`] of a body) found.
enum Settlement<'rt, P: Platform, R, E> {
    /// The failure stands: the attempt read the state a serial run would.
    Final(Transaction<'rt, P>, Ending<R, E>),
    /// What the attempt read has changed since: run it again.
    Stale(Transaction<'rt, P>),
    /// The run is stopping.
    Abandon(Transaction<'rt, P>),
    /// Not the turn yet: the attempt waits, detached, with its failure.
    Detached(Detached<P, R, E>),
}

/// Decides whether a failed attempt's `failure` stands (see [`Settlement`]):
/// at once unless the gate settles at the turn; else at the turn, or by
/// detaching the attempt with it.
fn settle<'rt, P: Platform, R, E>(
    gate: &mut impl CommitGate,
    tx: Transaction<'rt, P>,
    failure: Ending<R, E>,
) -> Settlement<'rt, P, R, E> {
    if !gate.settles_at_turn() {
        return Settlement::Final(tx, failure);
    }
    let (mut tx, failure) = match gate.poll_turn() {
        Turn::Go => (tx, failure),
        Turn::Abandon => return Settlement::Abandon(tx),
        Turn::NotYet => match tx.detach(failure) {
            Ok(detached) => return Settlement::Detached(detached),
            Err((tx, failure)) => {
                if gate.wait_for_turn() == Turn::Abandon {
                    return Settlement::Abandon(tx);
                }
                (tx, failure)
            }
        },
    };
    match tx.first_changed_read(false).map(core::ptr::NonNull::from) {
        None => Settlement::Final(tx, failure),
        Some(changed) => {
            tx.blame(changed);
            Settlement::Stale(tx)
        }
    }
}

/// The thread's context for the length of one call, and the call's tally
/// and conflict events, added to the thread's record and the runtime when
/// the call ends, by return or by panic; it also clears the nesting mark.
struct CallAccounting<'a, P: Platform> {
    runtime: &'a RuntimeShared<P>,
    context: Option<Box<ThreadContext<P>>>,
    tally: Tally,
    conflicts: Vec<ConflictEvent>,
    finished: bool,
}

impl<'a, P: Platform> CallAccounting<'a, P> {
    fn new(runtime: &'a Arc<RuntimeShared<P>>, context: Box<ThreadContext<P>>) -> Self {
        CallAccounting {
            runtime,
            context: Some(context),
            tally: Tally::default(),
            conflicts: Vec::new(),
            finished: false,
        }
    }
}

impl<P: Platform> Drop for CallAccounting<'_, P> {
    fn drop(&mut self) {
        if !self.finished {
            self.tally.panic();
        }
        let context = self.context.take();
        if let Some(context) = &context {
            engine_invariant!(
                self.runtime,
                Invariant::ContextBusyAtCallEnd,
                None,
                context.is_idle()
            );
            context.participant().counters.add(&self.tally);
        }
        if !self.conflicts.is_empty() {
            self.runtime.record_conflicts(&self.conflicts);
        }
        P::exit_transaction(context);
    }
}
