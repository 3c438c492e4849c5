//! Histories of serial executions, valid by construction: the input of the
//! property tests (which then inject anomalies) and of the benchmarks.

use super::format::{History, InitialValue, Outcome, Read, Transaction, Write};
use crate::bank::XorShift;
use rustc_hash::FxHashMap;
use serde_json::Value;

/// One transaction of a serial run: the keys it reads, then the keys it
/// writes (a key written twice gets an intermediate write).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedTransaction {
    /// The thread shown in the history.
    pub thread: u64,
    /// Keys read, in order (each read returns the current value).
    pub reads: Vec<u64>,
    /// Keys written, in order.
    pub writes: Vec<u64>,
    /// Whether the attempt commits (an aborted one reads but installs
    /// nothing).
    pub outcome: Outcome,
}

/// How [`serial_history`] records a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SerialOptions {
    /// Each transaction's real-time interval overlaps the next `overlap`
    /// transactions' (begin and end stay in serial order, so real-time
    /// order still agrees with the serial order).
    pub overlap: u64,
    /// Record each attempt's snapshot (the clock when it began).
    pub snapshots: bool,
    /// Record values (initial values, reads and writes).
    pub values: bool,
}

impl Default for SerialOptions {
    fn default() -> Self {
        SerialOptions {
            overlap: 0,
            snapshots: true,
            values: true,
        }
    }
}

/// Runs `plan` one transaction after another against a TL2-like global
/// clock and records the history: transaction `i` (0-based) gets id
/// `i + 1`; every write draws a fresh clock version, the final writes of a
/// committed transaction share its commit version. The result is always
/// valid (serializable, strictly serializable, opaque, consistent values).
///
/// ```
/// use stm_check::history::generate::{serial_history, PlannedTransaction, SerialOptions};
/// use stm_check::history::{check, Outcome};
///
/// let transfer = PlannedTransaction { thread: 0, reads: vec![1, 2], writes: vec![1, 2], outcome: Outcome::Committed };
/// let history = serial_history(&[transfer.clone(), transfer], SerialOptions::default());
/// assert_eq!(history.transactions[1].reads[0].version, 1);
/// assert!(check(&history).unwrap().is_valid());
/// ```
pub fn serial_history(plan: &[PlannedTransaction], options: SerialOptions) -> History {
    let mut clock = 0u64;
    let mut current: FxHashMap<u64, (u64, i64)> = FxHashMap::default();
    let initial_value = |key: u64| key as i64 * 100;
    let mut keys: Vec<u64> = plan
        .iter()
        .flat_map(|p| p.reads.iter().chain(&p.writes).copied())
        .collect();
    keys.sort_unstable();
    keys.dedup();
    let value = |v: i64| options.values.then(|| Value::from(v));

    let mut transactions = Vec::with_capacity(plan.len());
    for (i, planned) in plan.iter().enumerate() {
        let id = i as u64 + 1;
        let snapshot = clock;
        let reads = planned
            .reads
            .iter()
            .map(|&key| {
                let (version, v) = current
                    .get(&key)
                    .copied()
                    .unwrap_or((0, initial_value(key)));
                Read {
                    key,
                    version,
                    value: value(v),
                }
            })
            .collect();
        let committed = planned.outcome == Outcome::Committed;
        let mut writes: Vec<Write> = Vec::with_capacity(planned.writes.len());
        for (j, &key) in planned.writes.iter().enumerate() {
            let is_final = !planned.writes[j + 1..].contains(&key);
            // Final writes of a committed transaction are versioned at
            // commit (below); everything else draws its own version.
            let version = if committed && is_final {
                0
            } else {
                clock += 1;
                clock
            };
            writes.push(Write {
                key,
                version,
                value: value(id as i64 * 1000 + j as i64),
                commuted: None,
            });
        }
        let mut commit_version = None;
        if committed && !writes.is_empty() {
            clock += 1;
            commit_version = Some(clock);
            for (j, w) in writes.iter_mut().enumerate() {
                if w.version == 0 {
                    w.version = clock;
                    current.insert(w.key, (clock, id as i64 * 1000 + j as i64));
                }
            }
        }
        let begin = 2 * i as u64;
        transactions.push(Transaction {
            id,
            thread: planned.thread,
            outcome: planned.outcome,
            begin,
            end: begin + 1 + 2 * options.overlap,
            snapshot: options.snapshots.then_some(snapshot),
            commit_version,
            reads,
            writes,
        });
    }
    let initial = if options.values {
        keys.iter()
            .map(|&key| InitialValue {
                key,
                value: Value::from(initial_value(key)),
            })
            .collect()
    } else {
        Vec::new()
    };
    History {
        initial,
        transactions,
    }
}

/// A random serial plan: `transactions` attempts on `threads` threads over
/// `keys` keys, each reading and writing one to `max_keys` keys, with
/// `abort_percent` percent aborted; deterministic in `seed`.
pub fn random_plan(
    seed: u64,
    transactions: usize,
    keys: u64,
    max_keys: u64,
    abort_percent: u64,
) -> Vec<PlannedTransaction> {
    let mut rng = XorShift::new(seed);
    let threads = 8;
    (0..transactions)
        .map(|i| {
            let reads = (0..1 + rng.below(max_keys))
                .map(|_| rng.below(keys))
                .collect();
            let writes = (0..1 + rng.below(max_keys))
                .map(|_| rng.below(keys))
                .collect();
            PlannedTransaction {
                thread: i as u64 % threads,
                reads,
                writes,
                outcome: if rng.below(100) < abort_percent {
                    Outcome::Aborted
                } else {
                    Outcome::Committed
                },
            }
        })
        .collect()
}
