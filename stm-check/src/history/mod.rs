//! Transaction histories: their JSON format, and the checker that decides
//! whether a recorded run was serializable, strictly serializable and
//! opaque, explaining every violation in plain words.
//!
//! # The history format (`stm-history`, version 1)
//!
//! A history is one JSON object:
//!
//! ```json
//! { "format": "stm-history", "version": 1,
//!   "initial": [{"key": 0, "value": 100}],
//!   "transactions": [
//!     { "id": 1, "thread": 0, "outcome": "committed",
//!       "begin": 4, "end": 9, "snapshot": 3, "commit_version": 5,
//!       "reads":  [{"key": 0, "version": 3, "value": 7}],
//!       "writes": [{"key": 0, "version": 5, "value": 8}] } ] }
//! ```
//!
//! | field | meaning |
//! | --- | --- |
//! | `format` | always `"stm-history"` |
//! | `version` | the format version, `1`; other versions are refused with an error naming both |
//! | `initial` | optional: values of keys at version 0 (before any transaction); keys not listed have an unknown initial value |
//! | `transactions` | every attempt, committed and aborted, in any order |
//! | `id` | unique per attempt (a retried transaction records each attempt with its own id); reports call it `T<id>` |
//! | `thread` | the thread that ran it (shown in reports only) |
//! | `outcome` | `"committed"` or `"aborted"` |
//! | `begin`, `end` | real-time positions on one global, strictly increasing event counter; `begin < end`; `a.end < b.begin` means `a` finished before `b` started |
//! | `snapshot` | optional: the global version the attempt read at (TL2's read version); every read must be current at it |
//! | `commit_version` | optional, committed attempts only, unique: the global version the commit drew (TL2's write version) |
//! | `reads` | what the attempt's code got back, in program order: `key`, the `version` observed (0 = initial value) and optionally the `value` |
//! | `writes` | what it wrote, in program order: `key`, the `version` the write created (never 0, unique per key) and optionally the `value`; `commuted` marks a commute (below) |
//! | `commuted` | optional, on a write: the write is a commute, an update the engine applied at commit to the key's value current then, without the transaction reading it; an object with the `version` the update was applied to (its *base*, 0 = initial value) and optionally that `value`, each optional (`{}` says only that the write was commuted). Files written before commutes existed have none, and read as before |
//!
//! Keys are unsigned integers (the engine's variable ids); values are any
//! JSON values, compared with `==`. Unknown fields inside transactions,
//! reads and writes are refused (they are usually typos); unknown top-level
//! fields are ignored.
//!
//! **Versions are global.** Every version number comes from one clock (as
//! in TL2, where a write's version is its transaction's commit version), so
//! the installed versions of a key are ordered by number, and "the value of
//! key `k` current at global version `t`" is the installed write of `k` with
//! the largest version `<= t` (or the initial value). A transaction that
//! writes a key several times lists each write: the last is its final write,
//! installed if it commits; earlier (intermediate) writes and the writes of
//! aborted attempts are never installed, and their version only lets a read
//! refer to them. A read's writer is the transaction, committed or aborted,
//! whose write created that `(key, version)`.
//!
//! A file that breaks these rules is refused before checking
//! ([`HistoryError`]): duplicate ids, `begin >= end`, a `commit_version` on
//! an aborted attempt or used twice, a write of version 0, two writes of
//! one `(key, version)`, a read of a version nobody wrote, a commute whose
//! base is a version nobody wrote or the write itself.
//!
//! **Commutes.** A commuted write did not read: it is ordered after the
//! version it overwrites (ww) but gives its transaction no read dependency,
//! and its base is not one of the transaction's `reads` (the transaction
//! never saw it; a transaction that read the key lists that read, and its
//! write of the key is then not a commute). Example, two commutes of +1
//! onto a key that was 0, the second applied to the first's result:
//!
//! ```json
//! {"id": 1, ..., "commit_version": 1,
//!  "writes": [{"key": 0, "version": 1, "value": 1, "commuted": {"version": 0, "value": 0}}]}
//! {"id": 2, ..., "commit_version": 2,
//!  "writes": [{"key": 0, "version": 2, "value": 2, "commuted": {"version": 1, "value": 1}}]}
//! ```
//!
//! In a correct engine a commute's base is the version installed right
//! before the write's own; the checker holds recorded bases to that (a
//! commute applied to a stale version is a lost update), but cannot tell
//! whether the update itself was computed right, since the function is not
//! recorded (`src/history/commutes.rs` lists what it can and cannot see).
//!
//! # Histories from any system (`stm-history`, version 2)
//!
//! Version 2 keeps version 1's shape and relaxes what a recorder must know,
//! so that histories of other STMs, databases and services can be checked
//! (read it with [`Recorded::load`]; version 1 files are still read, and
//! [`Recorded`] reads both):
//!
//! ```json
//! { "format": "stm-history", "version": 2, "model": "list-append",
//!   "transactions": [
//!     { "id": "a1", "thread": "p1", "outcome": "unknown",
//!       "reads":   [{"key": "x", "value": [1, 2]}],
//!       "appends": [{"key": "x", "value": 3}] } ] }
//! ```
//!
//! | field | meaning |
//! | --- | --- |
//! | `model` | `"rw-register"` (default: `reads` and `writes` of values) or `"list-append"` (Elle's: `appends` of unique elements to per-key lists, `reads` of whole lists as `value`) |
//! | `versions` | register model: `"global"` (default, as version 1) or `"per-key"` (numbers that order each key's versions and nothing else) |
//! | `id`, `key`, `thread` | a string or a whole number; `thread` is optional |
//! | `outcome` | `"committed"`, `"aborted"` or `"unknown"` (the client never learned): committed if another transaction read one of its writes, otherwise taken as not committed (its reads are then checked as an aborted attempt's) |
//! | `begin`, `end` | optional, but for every transaction or for none; without them, a thread's transactions are in program order in the order the file lists them |
//! | `snapshot`, `commit_version` | only with global versions |
//! | reads (register) | `key` and a `version`, or only a `value`: the writer is the one transaction that wrote that value to that key (values must be unique per key, as in Jepsen's rw-register tests), or the initial value |
//! | writes (register) | `key`, `value`, and a `version` on every write or on none; optionally `commuted` as in version 1, whose base is a `version` or only a `value` (found as a read's is) |
//!
//! What is inferred, and what each kind of history can be checked for:
//!
//! | history | version order | checked |
//! | --- | --- | --- |
//! | register, global versions (version 1) | given | serializability (G0-G2), strict serializability, opacity with snapshot rules, values |
//! | register, per-key versions | given, per key | the same but the snapshot rules, which need one clock; opacity by its definition |
//! | register, reads by value, no versions | inferred: a write that follows a read of the key in its transaction comes after the value read, and a commuted write after the value it was applied to (its base; a commute has no read to go by); a key with two writes not so linked is refused (give versions, or use list-append) | as per-key |
//! | list-append | the longest list read of each key; every other read must be a prefix of it (else an `incompatible-order` anomaly); committed appends nobody read are placed after it when one transaction made them all, and otherwise left out of the ww and rw dependencies (said in a note) | as per-key, G1a and G1b included |
//! | no real time | - | serializability and opacity without real-time order; strict serializability is reported as not checked |
//! | no real time, with `thread`s | - | as above, plus each thread's program order (its transactions in the order the file lists them): a cycle that needs it is a `session` anomaly (strong session serializability), and aborted attempts are placed in program order too |
//!
//! Everything inferred or skipped is said in the report's notes; what
//! cannot be inferred (an element nobody appended, a value nobody wrote, a
//! value written twice, writes whose order no read links) is refused with
//! a message naming the transaction and key ([`HistoryError::Inference`]).
//! Reports spell string ids and keys as `T[a1]` and `key x`.
//!
//! # What is checked
//!
//! [`check`] builds Adya's direct serialization graph over committed
//! transactions: ww edges between consecutive installed versions of a key,
//! wr edges from a writer to each reader of its version, rw edges from a
//! reader of a version to the writer of the next one. Each strongly
//! connected component yields its most severe cycle, classified as G0,
//! G1c, G-single or G2-item (and named lost update, read skew or write skew
//! where it applies); reads of aborted or intermediate writes are G1a and
//! G1b. Real-time order is added through a chain of time points (linear in
//! size) for strict serializability. Opacity is checked by its definition
//! (Guerraoui and Kapalka): each aborted attempt, taken as a read-only
//! transaction, must fit in one serial order of the committed transactions
//! that respects real time, and a violation is explained as the cycle it
//! closes; with a global clock, each attempt's reads must besides fit in
//! one snapshot. Recorded values must match. Each commuted write must have
//! been applied to the version it overwrote: a stale base is reported as
//! the cycle it closes (a lost update), with the base taken as a read made
//! at commit; the graph itself gives commutes ww edges only. All of it is linear
//! in the size of the history when keys are dense integers and
//! transactions are listed roughly in the order they ran (as recorders
//! write them); sparse keys, unordered versions or out-of-order `begin`s
//! fall back to sorts and binary searches, `O(n log n)` at worst.
//!
//! ```
//! use stm_check::history::{check, AnomalyClass, History, Pattern};
//!
//! // T1 and T2 both read key 0 at version 0 and both write it: lost update.
//! let history = History::from_json_str(r#"{"format": "stm-history", "version": 1,
//!   "transactions": [
//!     {"id": 1, "thread": 0, "outcome": "committed", "begin": 1, "end": 4,
//!      "reads": [{"key": 0, "version": 0}], "writes": [{"key": 0, "version": 1}]},
//!     {"id": 2, "thread": 1, "outcome": "committed", "begin": 2, "end": 5,
//!      "reads": [{"key": 0, "version": 0}], "writes": [{"key": 0, "version": 2}]}]}"#).unwrap();
//! let report = check(&history).unwrap();
//! let anomaly = report.of_class(AnomalyClass::GSingle).next().unwrap();
//! assert_eq!(anomaly.pattern, Some(Pattern::LostUpdate));
//! assert_eq!(
//!     anomaly.explanation,
//!     [
//!         "T2 < T1 because T1 overwrote key 0 version 0 that T2 read (with version 1)",
//!         "T1 < T2 because T2 overwrote key 0 version 1 written by T1 (with version 2): a contradiction",
//!     ]
//! );
//! ```

mod aborted_attempts;
mod anomaly;
mod commutes;
mod cycles;
mod dirty_reads;
mod dot;
mod error;
mod explain;
mod format;
pub mod generate;
mod graph;
mod index;
mod opacity;
mod report;
pub mod shape;
mod v2;
mod values;

pub use anomaly::{Anomaly, AnomalyClass, Dependency, Pattern, Witness};
pub use dot::render_dot;
pub use error::{HistoryError, LoadError};
pub use format::{
    CommuteBase, History, InitialValue, Outcome, Read, Recorded, Transaction, Write, FORMAT_NAME,
    FORMAT_VERSION,
};
pub use report::Report;
pub use v2::{Context, Names, FORMAT_VERSION_2};

/// Validates a history and checks it: serializability (Adya's G0, G1a,
/// G1b, G1c, G-single, G2-item), strict serializability (real-time order),
/// opacity (consistent snapshots, aborted attempts included) and values.
///
/// Returns an error only for an invalid history (see [`HistoryError`]);
/// violations are anomalies of the [`Report`]. To check many histories,
/// a [`Checker`] keeps its working memory from one to the next.
pub fn check(history: &History) -> Result<Report, HistoryError> {
    Checker::new().check(history)
}

/// Checks histories one after another, keeping the large arrays of its
/// index from one check to the next: at a million transactions they are
/// hundreds of megabytes, which a fresh [`check`] asks of the allocator,
/// and the kernel maps in page by page, every time.
///
/// ```
/// use stm_check::history::generate::{random_plan, serial_history, SerialOptions};
/// use stm_check::history::Checker;
///
/// let mut checker = Checker::new();
/// for seed in 0..3 {
///     let plan = random_plan(seed, 100, 10, 3, 5);
///     let history = serial_history(&plan, SerialOptions::default());
///     assert!(checker.check(&history).unwrap().is_valid());
/// }
/// ```
pub struct Checker {
    buffers: index::IndexBuffers,
    search_budget: u64,
}

impl Default for Checker {
    fn default() -> Checker {
        Checker {
            buffers: index::IndexBuffers::default(),
            search_budget: cycles::SEARCH_BUDGET,
        }
    }
}

impl std::fmt::Debug for Checker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Checker").finish_non_exhaustive()
    }
}

impl Checker {
    /// A checker with no memory reserved yet.
    pub fn new() -> Checker {
        Checker::default()
    }

    /// A checker whose cycle searches may spend `budget` edge visits
    /// (20 million by default) beyond the first search of each strongly
    /// connected component. Every cycle is found whatever the budget; a
    /// larger one proves more cycles shortest and rules out G-single where
    /// a G2-item is reported (see [`Anomaly::most_severe`]).
    pub fn with_search_budget(budget: u64) -> Checker {
        Checker {
            search_budget: budget,
            ..Checker::default()
        }
    }

    /// Validates `history` and checks it, exactly as [`check`] does.
    pub fn check(&mut self, history: &History) -> Result<Report, HistoryError> {
        self.check_in_context(history, &Context::default())
    }

    /// Checks a history read from a file of any version: a version-2
    /// history's context says which checks apply (no snapshot rules
    /// without a global clock, no real-time order without real time) and
    /// brings the anomalies and notes of its translation.
    pub fn check_recorded(&mut self, recorded: &Recorded) -> Result<Report, HistoryError> {
        self.check_in_context(&recorded.history, &recorded.context)
    }

    fn check_in_context(
        &mut self,
        history: &History,
        context: &Context,
    ) -> Result<Report, HistoryError> {
        let index = index::HistoryIndex::build_in(history, &mut self.buffers)?;
        let mut report = report_on(&index, self.search_budget, context);
        index.into_buffers(&mut self.buffers);
        if !context.anomalies.is_empty() {
            report.anomalies.extend(context.anomalies.iter().cloned());
            report.anomalies.sort_by_key(|a| a.class);
        }
        report.notes.splice(0..0, context.notes.iter().cloned());
        report.real_time = context.real_time;
        report.session = context.session;
        report.names = context.names.clone();
        Ok(report)
    }
}

/// Every check of an indexed history.
fn report_on(index: &index::HistoryIndex<'_>, search_budget: u64, context: &Context) -> Report {
    let global_clock = context.global_clock;
    // The per-read checks share one pass over the transactions, so each
    // transaction's reads come from memory once, not four times; each keeps
    // its own list so the report lists them exactly as separate passes did.
    // The same pass tells whether the graph can have a cycle at all.
    let mut acyclic = graph::writes_follow_transaction_order(index);
    let (mut dirty, mut opaque, mut values) = (Vec::new(), Vec::new(), Vec::new());
    let mut commuted = Vec::new();
    // Aborted attempts that read others' writes and pass the local checks:
    // they still have to fit in a serial order (see `aborted_attempts`).
    let mut attempts = Vec::new();
    for t in 0..index.len() as u32 {
        if acyclic && index.committed(t) {
            acyclic = graph::reads_follow_transaction_order(index, t);
        }
        dirty_reads::dirty_reads(index, t, &mut dirty);
        match opacity::attempt_violation(index, t, global_clock) {
            Some(violation) => opaque.push(violation),
            None if !index.committed(t) && !index.reads(t).is_empty() => attempts.push(t),
            None => {}
        }
        values::value_mismatches(index, t, &mut values);
        if index.has_commutes() {
            commutes::commute_anomalies(index, t, &mut commuted);
        }
    }
    // With the transactions' order a topological order, most attempts are
    // placed by two binary searches; the others need the graph.
    let to_search = if acyclic {
        aborted_attempts::failing_order_test(index, &attempts, context.session)
    } else {
        attempts
    };
    let graph =
        (!acyclic || !to_search.is_empty()).then(|| graph::Graph::build(index, context.session));
    let cycles = match &graph {
        Some(graph) if !acyclic => cycles::find_cycles(graph, search_budget),
        _ => Vec::new(),
    };
    let mut notes = Vec::new();
    if let (Some(graph), false) = (&graph, to_search.is_empty()) {
        let mut search = aborted_attempts::PathSearch::new(index, graph);
        let mut undecided = Vec::new();
        for &a in &to_search {
            match search.check(index, a) {
                aborted_attempts::Verdict::Fits => {}
                aborted_attempts::Verdict::Violation(anomaly) => opaque.push(anomaly),
                aborted_attempts::Verdict::Undecided => undecided.push(index.tx(a).id),
            }
        }
        if !undecided.is_empty() {
            notes.push(format!(
                "opacity: {} aborted attempts (first T{}) were not fully checked against a serial order: the path search's budget ran out; check a subset of the history to decide them",
                undecided.len(),
                undecided[0]
            ));
        }
    }
    let understated = cycles.iter().filter(|c| !c.most_severe).count();
    if understated > 0 {
        notes.push(format!(
            "{understated} cycle(s) reported as G2-item may hide a G-single in the same component: the search budget ran out first; rerun with a larger --search-budget or check a subset of the history"
        ));
    }
    let mut anomalies: Vec<Anomaly> = cycles
        .iter()
        .map(|cycle| explain::cycle_anomaly(index, cycle))
        .collect();
    anomalies.extend(dirty);
    anomalies.extend(commuted);
    anomalies.extend(opaque);
    anomalies.extend(values);
    anomalies.sort_by_key(|a| a.class);
    Report {
        transactions: index.len(),
        committed: index.committed_count(),
        anomalies,
        notes,
        real_time: true,
        names: Names::default(),
        session: false,
    }
}
