//! The workload language: what the exploration tools run. A workload is a
//! small concurrent program over integer TVars (threads of transactions and
//! queue runs) with the assertions and invariants a correct engine keeps.
//!
//! Workloads come from files ([`Workload::load`]), from the built-ins
//! ([`Workload::builtin`], [`BUILTIN_NAMES`]) or from generators
//! ([`strategy`], `Arbitrary`, and [`swarm_program`], which leaves a random
//! subset of the [`Features`] out of each program); [`Workload::run`] interprets one on any
//! platform (std threads, shuttle, loom) and [`Workload::run_recorded`] also
//! records its history for [`history::check`](crate::history::check).
//! [`Workload::with_threads`] scales one to another number of threads;
//! [`Workload::reductions`] lists the smaller workloads that shrinking a
//! failure tries, and [`FailureSignature`] says what kind of failure a run
//! showed.
//!
//! # The workload format (`stm-workload`, version 1)
//!
//! ```json
//! { "format": "stm-workload", "version": 1, "name": "transfer",
//!   "vars": [{"name": "from", "initial": 60}, {"initial": 40}],
//!   "threads": [
//!     {"steps": [{"atomically": {"ops": [{"transfer": {"from": 0, "to": 1, "amount": 10}}]}}]},
//!     {"steps": [{"queue": {"mode": "run_ordered", "workers": 2, "items": [
//!       {"label": "audit", "ops": [{"scan": [0, 1]},
//!                                  {"assert": {"sum": [0, 1], "cmp": "==", "value": 100}}]}]}}]}],
//!   "invariants": [{"sum_preserved": [0, 1]}, {"equals": {"var": 0, "value": 50}}] }
//! ```
//!
//! | field | meaning |
//! | --- | --- |
//! | `format`, `version` | always `"stm-workload"` and `1`; other values are refused with an error naming both |
//! | `name`, `description` | optional text for people |
//! | `vars` | the variables (TVars of `i64`), at least one: `initial` value and optional `name`; operations refer to them by index |
//! | `threads` | at least one; each has `steps` (at least one), run in order on its own thread |
//! | step `atomically` | one transaction, run with `try_atomically` |
//! | step `queue` | a `TransactionQueue` run: `mode` `"run"` or `"run_ordered"`, `workers` (at least 1), `items` (transactions, at least one) |
//! | transaction | optional `label`, and `ops` (at least one) run in order; a queue item may also have `adds`: transactions it adds to the running queue (`ItemTx::add`) after its ops, queued only if it commits. Added items add nothing, and a run whose items add items uses no `abort_unless` or `panic` |
//! | `invariants` | optional conditions on the final state |
//! | `scaling` | optional: how `explore --threads T` scales the workload ([`Workload::with_threads`]): `{"fixed": true}` refuses any other count; `{"min_threads": n, "cycle": [t, ...]}` refuses fewer than `n` threads, and threads beyond the workload's own copy the listed threads in turn (all of them when absent) |
//!
//! Operations (`v` is a variable index, `c` a condition):
//!
//! | operation | meaning |
//! | --- | --- |
//! | `{"read": v}` | read `v` |
//! | `{"write": {"var": v, "value": n}}` | write `n` |
//! | `{"add": {"var": v, "amount": n}}` | add `n` (arithmetic wraps) |
//! | `{"commute": {"var": v, "amount": n}}` | add `n` as a commutative update (`Transaction::commute`): applied at commit to the value current then, no conflict with other commutes of `v` |
//! | `"panic"` | panic inside the transaction: no effect; an `atomically` step ends there, a queue run stops (the interpreter catches the panic; no panic hook prints it) |
//! | `{"transfer": {"from": v, "to": w, "amount": n}}` | subtract `n` from `v`, add it to `w` (`v != w`) |
//! | `{"scan": [v, ...]}` | read each variable |
//! | `{"retry_unless": c}` | `retry` (block until something read changes) unless `c` holds |
//! | `{"abort_unless": c}` | give up (no effect; in a queue, the run stops) unless `c` holds |
//! | `{"assert": c}` | record a violation unless `c` holds on the values read; the transaction goes on |
//! | `{"or_else": {"first": [ops], "second": [ops]}}` | run `first`; if it retries, undo it and run `second` |
//!
//! A condition is `{"sum": [v, ...], "cmp": "==", "value": n}`: the sum of
//! the variables (read in the transaction, so its own writes count) compared
//! with `==`, `!=`, `<`, `<=`, `>` or `>=` to `n`. Assertions are checked in
//! every attempt, committed or not (under opacity every attempt reads one
//! consistent snapshot), so they suit properties of every committed state;
//! properties of one serial order belong in invariants.
//!
//! Invariants: `{"sum_preserved": [v, ...]}` (the sum equals the initial
//! sum), `{"counter": v}` (the value equals the initial value plus every
//! amount committed `add`s and `commute`s added, derived from the run;
//! only `add` and `commute` may change `v`), `{"equals": {"var": v, "value": n}}`,
//! `{"each_at_least": {"vars": [v, ...], "bound": n}}` and `{"holds": c}`.
//!
//! With `--threads T` ([`Workload::with_threads`]) the threads are
//! templates: the first `T` of the workload's own, then copies of the
//! `scaling.cycle` threads in turn. `sum_preserved` and `counter`
//! invariants hold as they are, `equals` values that state what the threads
//! leave are derived again from a serial run, and the scaled workload must
//! run serially (threads one after another, in several orders) without a
//! failure the original's serial runs do not show.
//!
//! Unknown fields are refused (they are usually typos). After parsing, a
//! workload is validated: indices in range, no empty list where one item is
//! needed, no transfer to itself, counters changed only by `add` and
//! `commute`, `adds` only on queue items (one level deep). Errors
//! name the place as a path and a line and column ([`WorkloadError`]).
//!
//! # Determinism
//!
//! The interpreter reads no clock and no global state and iterates no hash
//! map: given the schedule, a run (values, violations, counts) is always
//! the same, so a failure found under a model checker replays exactly.

mod builtin;
mod error;
mod generate;
mod invariants;
mod load;
mod model;
mod outcome;
mod recorded;
mod reduce;
mod run;
mod scale;
mod serial;
mod signature;
mod validate;

pub use builtin::BUILTIN_NAMES;
pub use error::{LoadError, Position, Problem, WorkloadError};
pub use generate::{
    generate, generate_with, strategy, swarm_program, Features, GenerateConfig, SwarmProgram,
    SWARM_BOUNDS,
};
pub use model::{
    Cmp, Condition, Invariant, Op, QueueMode, QueueRun, Scaling, Step, Thread, Transaction, TxSite,
    Var, VarIndex, Workload, FORMAT_NAME, FORMAT_VERSION,
};
pub use outcome::{
    AssertionFailure, InvariantFailure, QueueStop, QueueStopReason, Violation, WorkloadOutcome,
};
pub use reduce::{Reduction, ReductionKind, WorkloadSize};
pub use run::WorkloadVars;
pub(crate) use serial::SerialRuns;
pub use signature::{FailureKind, FailureSignature};
