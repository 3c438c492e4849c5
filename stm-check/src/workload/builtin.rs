//! The built-in workloads: small (2 to 3 threads, 2 to 4 variables, a few
//! transactions each) so that model checkers can explore them, and each
//! aimed at one way an engine can go wrong. Their text lives in
//! `stm-check/workloads/<name>.json`, in the workload format itself.

use super::model::Workload;

/// Each built-in: its name and its file.
const BUILTINS: [(&str, &str); 6] = [
    ("bank", include_str!("../../workloads/bank.json")),
    ("counter", include_str!("../../workloads/counter.json")),
    ("read-skew", include_str!("../../workloads/read-skew.json")),
    (
        "write-skew",
        include_str!("../../workloads/write-skew.json"),
    ),
    ("queue", include_str!("../../workloads/queue.json")),
    ("ordered", include_str!("../../workloads/ordered.json")),
];

/// The names of the built-in workloads, for [`Workload::builtin`]:
///
/// * `bank`: three accounts, transfers on two threads and a third that waits
///   (`retry_unless`) for money before paying it on; audits assert the total
///   on their snapshot; the total is preserved, no account goes negative, and
///   every final balance is known.
/// * `counter`: increments of a counter from three threads, one of them in
///   the first branch of an `or_else` that depends on a flag; the counter
///   must equal the sum of the committed increments (a lost update, or an
///   `or_else` branch whose writes were not undone, shows up).
/// * `read-skew`: two writers move money between `x` and `y` while a reader
///   reads `x`, then `y`, and asserts `x + y == 100` on what it read; a
///   reader that mixes two states (no snapshot, no validation) fails.
/// * `write-skew`: two transactions each read both accounts and withdraw 100
///   from one, giving up unless `x + y >= 0` afterwards; serializability lets
///   exactly one commit, so the final sum is exactly 0 (snapshot isolation
///   would commit both: -100).
/// * `queue`: items through `TransactionQueue::run` on two workers while
///   another thread runs its own transactions; every item commits exactly
///   once (a counter and exact totals).
/// * `ordered`: order-dependent items (writes, an add, a `retry_unless`
///   that only holds after the items before it) through `run_ordered`; the
///   final state must equal the serial order of the items exactly.
pub const BUILTIN_NAMES: [&str; 6] = [
    BUILTINS[0].0,
    BUILTINS[1].0,
    BUILTINS[2].0,
    BUILTINS[3].0,
    BUILTINS[4].0,
    BUILTINS[5].0,
];

impl Workload {
    /// The built-in workload called `name` (see [`BUILTIN_NAMES`]), or
    /// `None` if there is none.
    ///
    /// ```
    /// use stm_check::workload::{Workload, BUILTIN_NAMES};
    ///
    /// for name in BUILTIN_NAMES {
    ///     assert_eq!(Workload::builtin(name).unwrap().name, name);
    /// }
    /// assert!(Workload::builtin("no-such-workload").is_none());
    /// ```
    pub fn builtin(name: &str) -> Option<Workload> {
        let (_, text) = BUILTINS.iter().find(|(n, _)| *n == name)?;
        let workload = Workload::from_json_str(text)
            .unwrap_or_else(|e| panic!("built-in workload {name} is invalid: {e}"));
        Some(workload)
    }
}
