//! The outcomes a transaction body can produce besides success: the engine's
//! control flow (retry, conflict) and the caller's own errors.

use core::fmt;

/// Engine control flow raised inside a transaction. Propagate it with `?`;
/// the runtime handles it (by waiting or re-running the transaction).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum StmError {
    /// The transaction called [`retry`](crate::Transaction::retry): it will
    /// block until a TVar it read changes, then run again.
    Retry,
    /// The transaction cannot commit consistently; it will be re-run.
    Conflict,
}

impl fmt::Display for StmError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StmError::Retry => f.write_str("transaction retried"),
            StmError::Conflict => f.write_str("transaction conflicted and must be re-run"),
        }
    }
}

impl std::error::Error for StmError {}

/// The error type of a transaction that can fail with the caller's own error
/// `E` (see [`Stm::try_atomically`](crate::Stm::try_atomically)).
///
/// `?` converts an [`StmError`] into it; return `Err(TxError::Abort(e))` to
/// abandon the transaction, with no effect, and hand `e` to the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TxError<E> {
    /// Engine control flow; the runtime handles it.
    Stm(StmError),
    /// The caller's error: the transaction's writes are discarded and `E` is
    /// returned from `try_atomically`.
    Abort(E),
}

impl<E> From<StmError> for TxError<E> {
    fn from(error: StmError) -> Self {
        TxError::Stm(error)
    }
}

impl<E: fmt::Display> fmt::Display for TxError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TxError::Stm(e) => e.fmt(f),
            TxError::Abort(e) => write!(f, "transaction aborted: {e}"),
        }
    }
}

impl<E: fmt::Debug + fmt::Display> std::error::Error for TxError<E> {}

/// Error types that can carry a retry, so that
/// [`or_else`](crate::Transaction::or_else) can tell "this alternative
/// retried" from every other failure.
pub trait MaybeRetry {
    /// Whether this error is [`StmError::Retry`].
    fn is_retry(&self) -> bool;
}

impl MaybeRetry for StmError {
    fn is_retry(&self) -> bool {
        *self == StmError::Retry
    }
}

impl<E> MaybeRetry for TxError<E> {
    fn is_retry(&self) -> bool {
        matches!(self, TxError::Stm(StmError::Retry))
    }
}

/// Why an attempt was abandoned and re-run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AbortKind {
    /// A read found the TVar locked by a committing writer.
    ReadLocked,
    /// A read found a value newer than the snapshot, and the snapshot could
    /// not be extended because an earlier read had changed too.
    ReadStale,
    /// Commit could not lock a TVar of the write set: another writer held it.
    WriteLocked,
    /// Commit-time validation found a read TVar changed since it was read.
    Validation,
    /// Another transaction ran irrevocably (serial mode) when this one tried
    /// to take a commit version.
    SerialMode,
}

impl AbortKind {
    pub(crate) const ALL: [AbortKind; 5] = [
        AbortKind::ReadLocked,
        AbortKind::ReadStale,
        AbortKind::WriteLocked,
        AbortKind::Validation,
        AbortKind::SerialMode,
    ];

    pub(crate) fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for AbortKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            AbortKind::ReadLocked => "read found the TVar locked",
            AbortKind::ReadStale => "read found a newer version",
            AbortKind::WriteLocked => "commit found the TVar locked",
            AbortKind::Validation => "commit validation failed",
            AbortKind::SerialMode => "another transaction ran irrevocably",
        })
    }
}
