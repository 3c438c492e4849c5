//! What can be wrong with a history file before any checking starts.

/// Why a history cannot be checked: malformed JSON, a format this version
/// does not read, or contents that contradict themselves.
///
/// Every variant names the transaction (by its `id`) and the key and version
/// involved, so the line at fault can be found in the file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HistoryError {
    /// The text is not valid JSON, ends early, or does not have the shape of
    /// a history (a missing or mistyped field).
    #[error("{what} at line {line}, column {column}: {message}")]
    Json {
        /// `invalid JSON`, `truncated JSON` or `unexpected JSON shape`.
        what: &'static str,
        /// 1-based line of the problem.
        line: usize,
        /// 1-based column of the problem.
        column: usize,
        /// serde_json's description of the problem.
        message: String,
    },
    /// The `format` field names another kind of file.
    #[error("not a history: \"format\" is {found:?}, expected \"stm-history\"")]
    UnknownFormat {
        /// The value found.
        found: String,
    },
    /// The `version` field is one this build does not read.
    #[error(
        "unsupported history format version {found}; this stm-check reads version 1 or {supported}"
    )]
    UnsupportedVersion {
        /// The version found in the file.
        found: u64,
        /// The version this build reads.
        supported: u64,
    },
    /// Two transactions share an id.
    #[error("duplicate transaction id T{id} (transactions #{first} and #{second} in the list)")]
    DuplicateTransactionId {
        /// The id used twice.
        id: u64,
        /// 0-based position of the first transaction with that id.
        first: usize,
        /// 0-based position of the second one.
        second: usize,
    },
    /// A transaction does not begin strictly before it ends.
    #[error("T{id}: begin ({begin}) must be before end ({end})")]
    EmptyInterval {
        /// The transaction.
        id: u64,
        /// Its begin position.
        begin: u64,
        /// Its end position.
        end: u64,
    },
    /// An aborted transaction carries a `commit_version`.
    #[error("T{id} aborted but has commit_version {commit_version}")]
    CommitVersionOnAborted {
        /// The transaction.
        id: u64,
        /// The commit version it claims.
        commit_version: u64,
    },
    /// Two transactions claim the same commit version.
    #[error("T{first} and T{second} both claim commit_version {commit_version}")]
    DuplicateCommitVersion {
        /// The version claimed twice.
        commit_version: u64,
        /// The first transaction claiming it.
        first: u64,
        /// The second transaction claiming it.
        second: u64,
    },
    /// A write claims version 0, which stands for the initial state.
    #[error("T{id} writes key {key} with version 0, which is reserved for the initial state")]
    ZeroWriteVersion {
        /// The transaction.
        id: u64,
        /// The key written.
        key: u64,
    },
    /// Two writes claim the same version of one key.
    #[error("T{first} and T{second} both claim to have written key {key} version {version}")]
    DuplicateWriteVersion {
        /// The key.
        key: u64,
        /// The version claimed twice.
        version: u64,
        /// The first writer (may equal `second` when one transaction lists it twice).
        first: u64,
        /// The second writer.
        second: u64,
    },
    /// A read names a version that no transaction wrote.
    #[error("T{id} read key {key} version {version}, which no transaction wrote (dangling version reference)")]
    DanglingRead {
        /// The reading transaction.
        id: u64,
        /// The key read.
        key: u64,
        /// The version that does not exist.
        version: u64,
    },
    /// A commuted write names, as the version its update was applied to,
    /// one that no transaction wrote, or itself.
    #[error(
        "T{id} commuted key {key} (writing version {version}) onto version {base}, which is {why}"
    )]
    InvalidCommuteBase {
        /// The committing transaction.
        id: u64,
        /// The key commuted.
        key: u64,
        /// The version the commuted write created.
        version: u64,
        /// The version it claims to have been applied to.
        base: u64,
        /// What is wrong with it.
        why: &'static str,
    },
    /// `initial` lists a key twice.
    #[error("initial value of key {key} is given twice")]
    DuplicateInitialKey {
        /// The key.
        key: u64,
    },
    /// A version-2 history from which the checker cannot infer what it
    /// needs (a version order, the writer of a value), or whose parts do
    /// not go together; the message names the transaction and key.
    #[error("{message}")]
    Inference {
        /// What cannot be inferred, and what to record instead.
        message: String,
    },
    /// More transactions, reads or writes than the checker indexes (2^32 - 1).
    #[error("history too large: {what} exceeds 4294967294 entries")]
    TooLarge {
        /// What overflowed.
        what: &'static str,
    },
}

impl HistoryError {
    /// Converts a serde_json error; `origin` is the line and column of the
    /// first byte of the text that was parsed, so positions inside a nested
    /// part of the document come out relative to the whole file.
    pub(crate) fn from_json(error: &serde_json::Error, origin: (usize, usize)) -> Self {
        // The position is reported in our own fields, made absolute.
        let (what, message) = crate::load_error::describe_json_error(error);
        let (line, column) = if error.line() <= 1 {
            (origin.0, origin.1 + error.column().saturating_sub(1))
        } else {
            (origin.0 + error.line() - 1, error.column())
        };
        HistoryError::Json {
            what,
            line,
            column,
            message,
        }
    }
}

/// A history that could not be loaded from a file.
pub type LoadError = crate::load_error::LoadError<HistoryError>;
