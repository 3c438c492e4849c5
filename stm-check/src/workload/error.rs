//! What can be wrong with a workload file, with where it is wrong.

use std::fmt;

/// Why a workload cannot be run: malformed JSON, a format this version does
/// not read, or contents that make no sense (see [`Problem`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WorkloadError {
    /// The text is not valid JSON, ends early, or does not have the shape of
    /// a workload (a missing, mistyped or unknown field).
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
    #[error("not a workload: \"format\" is {found:?}, expected \"stm-workload\"")]
    UnknownFormat {
        /// The value found.
        found: String,
    },
    /// The `version` field is one this build does not read.
    #[error(
        "unsupported workload format version {found}; this stm-check reads version {supported}"
    )]
    UnsupportedVersion {
        /// The version found in the file.
        found: u64,
        /// The version this build reads.
        supported: u64,
    },
    /// [`Workload::with_threads`](super::Workload::with_threads) cannot give
    /// the workload that many threads.
    #[error("workload `{name}` cannot run with {threads} thread(s): {reason}")]
    CannotScale {
        /// The workload's name.
        name: String,
        /// The number of threads asked for.
        threads: usize,
        /// Why not.
        reason: String,
    },
    /// The workload parsed but one of its parts is invalid.
    #[error("{at}: {problem}")]
    Invalid {
        /// Where the invalid part is.
        at: Position,
        /// What is wrong with it.
        problem: Problem,
    },
}

impl WorkloadError {
    /// Converts a serde_json error, keeping its position in our own fields.
    pub(crate) fn from_json(error: &serde_json::Error) -> Self {
        let (what, message) = crate::load_error::describe_json_error(error);
        WorkloadError::Json {
            what,
            line: error.line(),
            column: error.column(),
            message,
        }
    }

    /// The problem, when the workload parsed but is invalid.
    pub fn problem(&self) -> Option<&Problem> {
        match self {
            WorkloadError::Invalid { problem, .. } => Some(problem),
            _ => None,
        }
    }
}

/// Where in a workload a problem is: a path in the JSON document
/// (`threads[1].steps[0].atomically.ops[2]`) and, when the workload was read
/// from text, the line and column where that part starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Position {
    /// The path from the top of the document; empty for the whole workload.
    pub path: String,
    /// 1-based line and column, when known.
    pub line_column: Option<(usize, usize)>,
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            f.write_str("workload")?;
        } else {
            f.write_str(&self.path)?;
        }
        if let Some((line, column)) = self.line_column {
            write!(f, " (line {line}, column {column})")?;
        }
        Ok(())
    }
}

/// What is wrong with a part of a workload that parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Problem {
    /// `vars` is empty.
    #[error("a workload needs at least one variable")]
    NoVars,
    /// `threads` is empty.
    #[error("a workload needs at least one thread, found zero threads")]
    NoThreads,
    /// A thread has no steps.
    #[error("a thread needs at least one step")]
    NoSteps,
    /// A transaction has no operations.
    #[error("empty transaction: a transaction needs at least one operation")]
    EmptyTransaction,
    /// A queue run has no items.
    #[error("a queue run needs at least one item")]
    EmptyQueue,
    /// A queue run has `"workers": 0`.
    #[error("a queue run needs at least one worker, found 0")]
    ZeroWorkers,
    /// A variable index is not below the number of variables.
    #[error("variable index {var} is out of range: the workload has {vars} variable(s), indices 0 to {}", vars.saturating_sub(1))]
    VarOutOfRange {
        /// The index used.
        var: usize,
        /// How many variables there are.
        vars: usize,
    },
    /// A transfer names the same variable twice.
    #[error("transfer from variable {var} to itself")]
    TransferToItself {
        /// The variable.
        var: usize,
    },
    /// A scan, condition or invariant lists no variable.
    #[error("the list of variables is empty")]
    NoVarsListed,
    /// `scaling` says `fixed` and also how to scale.
    #[error("a workload with fixed scaling takes no `min_threads` or `cycle`")]
    FixedScalingWithOptions,
    /// `scaling.min_threads` is 0.
    #[error("`min_threads` must be at least 1, found 0")]
    ZeroMinThreads,
    /// A thread index (in `scaling.cycle`) is not below the number of threads.
    #[error("thread index {thread} is out of range: the workload has {threads} thread(s), indices 0 to {}", threads.saturating_sub(1))]
    ThreadOutOfRange {
        /// The index used.
        thread: usize,
        /// How many threads there are.
        threads: usize,
    },
    /// An `atomically` step has `adds` (only queue items add items).
    #[error("only queue items can add items; this `atomically` transaction has `adds`")]
    AddsOutsideQueue,
    /// An added item has `adds` of its own.
    #[error("an added item cannot add items itself")]
    NestedAdds,
    /// A queue run whose items add items has an item that can stop the run.
    #[error("a queue run whose items add items cannot use `{op}`: a stopped run would leave unknown which added items committed")]
    StopInAddingRun {
        /// The operation (`abort_unless` or `panic`).
        op: &'static str,
    },
    /// A variable with a `counter` invariant is changed other than by `add`
    /// or `commute`,
    /// so its expected value cannot be derived.
    #[error("variable {var} has a counter invariant but this `{op}` changes it; a counter may only be changed by `add` or `commute`")]
    CounterChanged {
        /// The variable.
        var: usize,
        /// The operation (`write` or `transfer`).
        op: &'static str,
    },
}

/// A workload that could not be loaded from a file.
pub type LoadError = crate::load_error::LoadError<WorkloadError>;
