//! The shape of a history: what two runs of one workload must share to be
//! the same execution, whatever their thread numbering. A history recorded
//! on real threads names threads by the engine's thread slots (a process
//! counter), one replayed under shuttle by task ids, so histories are
//! compared after renumbering threads by the order of their first attempt
//! ([`normalized`]); [`HistoryShape`] keeps what a reproduction must keep
//! (who read which version, the commit order, which attempts aborted and
//! why) and says where two shapes first differ.

use super::{History, Outcome};
use crate::record::history_hash;
use std::collections::BTreeMap;

/// The recorded threads of `history` in the order of their first attempt's
/// begin.
///
/// ```
/// use stm_check::history::{shape::thread_order, History};
///
/// let json = r#"{"format": "stm-history", "version": 1, "transactions": [
///     {"id": 0, "thread": 9, "outcome": "committed", "begin": 2, "end": 3},
///     {"id": 1, "thread": 4, "outcome": "committed", "begin": 1, "end": 4}]}"#;
/// assert_eq!(thread_order(&History::from_json_str(json).unwrap()), vec![4, 9]);
/// ```
pub fn thread_order(history: &History) -> Vec<u64> {
    let mut first: BTreeMap<u64, u64> = BTreeMap::new();
    for t in &history.transactions {
        let begin = first.entry(t.thread).or_insert(t.begin);
        *begin = (*begin).min(t.begin);
    }
    let mut threads: Vec<(u64, u64)> = first.into_iter().map(|(t, b)| (b, t)).collect();
    threads.sort_unstable();
    threads.into_iter().map(|(_, t)| t).collect()
}

/// `history` with its threads renumbered 0, 1, ... in the order of their
/// first attempt, and its attempts in the order they began: equal for a
/// real-thread run and a replay of the same execution.
pub fn normalized(history: &History) -> History {
    let order = thread_order(history);
    let number: BTreeMap<u64, u64> = order
        .iter()
        .enumerate()
        .map(|(i, &t)| (t, i as u64))
        .collect();
    let mut transactions = history.transactions.clone();
    transactions.sort_by_key(|t| (t.begin, t.id));
    for t in &mut transactions {
        t.thread = number[&t.thread];
    }
    let mut initial = history.initial.clone();
    initial.sort_by_key(|i| i.key);
    History {
        initial,
        transactions,
    }
}

/// The fingerprint of the [`normalized`] history: the same for a real run
/// and for every replay that reproduces it event for event.
pub fn normalized_hash(history: &History) -> String {
    history_hash(&normalized(history))
}

/// One attempt as a reproduction must keep it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptShape {
    /// Its thread, numbered by first attempt (see [`thread_order`]).
    pub thread: usize,
    /// Whether it committed.
    pub committed: bool,
    /// What it read: `(key, version, value)` (the value as JSON, empty
    /// when not recorded), in program order.
    pub reads: Vec<(u64, u64, String)>,
    /// The versions it installed: `(key, version)`.
    pub writes: Vec<(u64, u64)>,
    /// Why it ended without committing, where the run recorded it.
    pub abort_cause: Option<String>,
}

/// What a history says about its execution, independent of thread
/// numbering and exact event positions: the attempts in the order they
/// began (reads-from: the versions each read), the order of the commits,
/// and which attempts aborted (and why, where recorded).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryShape {
    /// The attempts, in the order they began.
    pub attempts: Vec<AttemptShape>,
    /// The committed attempts (indices into `attempts`) in commit order.
    pub commit_order: Vec<usize>,
    /// Attempt id to index in `attempts`.
    ids: BTreeMap<u64, usize>,
}

impl HistoryShape {
    /// The shape of `history`.
    pub fn of(history: &History) -> HistoryShape {
        let normal = normalized(history);
        let attempts: Vec<AttemptShape> = normal
            .transactions
            .iter()
            .map(|t| AttemptShape {
                thread: t.thread as usize,
                committed: t.outcome == Outcome::Committed,
                reads: t
                    .reads
                    .iter()
                    .map(|r| {
                        let value = r.value.as_ref().map(ToString::to_string);
                        (r.key, r.version, value.unwrap_or_default())
                    })
                    .collect(),
                writes: if t.outcome == Outcome::Committed {
                    t.writes.iter().map(|w| (w.key, w.version)).collect()
                } else {
                    Vec::new()
                },
                abort_cause: None,
            })
            .collect();
        let mut commits: Vec<(u64, usize)> = normal
            .transactions
            .iter()
            .enumerate()
            .filter(|(_, t)| t.outcome == Outcome::Committed)
            .map(|(i, t)| (t.end, i))
            .collect();
        commits.sort_unstable();
        HistoryShape {
            attempts,
            commit_order: commits.into_iter().map(|(_, i)| i).collect(),
            ids: normal
                .transactions
                .iter()
                .enumerate()
                .map(|(i, t)| (t.id, i))
                .collect(),
        }
    }

    /// This shape with the abort causes the run recorded, by attempt id
    /// (see [`RecordedExecution::abort_causes`](crate::record::RecordedExecution::abort_causes)); attempts
    /// not listed keep none, and causes are compared only where both
    /// shapes have one.
    pub fn with_abort_causes(mut self, causes: &BTreeMap<u64, String>) -> HistoryShape {
        for (id, cause) in causes {
            if let Some(&index) = self.ids.get(id) {
                self.attempts[index].abort_cause = Some(cause.clone());
            }
        }
        self
    }

    /// Where `self` (the expected execution) and `other` first differ, in
    /// words, with the index of the first attempt that differs; `None` when
    /// they are the same execution.
    ///
    /// ```
    /// use stm_check::history::{shape::HistoryShape, History};
    ///
    /// let json = |version: u64| format!(r#"{{"format": "stm-history", "version": 1, "transactions": [
    ///     {{"id": 0, "thread": 7, "outcome": "committed", "begin": 1, "end": 2, "commit_version": 1,
    ///       "writes": [{{"key": 0, "version": 1}}]}},
    ///     {{"id": 1, "thread": 8, "outcome": "committed", "begin": 3, "end": 5,
    ///       "reads": [{{"key": 0, "version": {version}}}]}}]}}"#);
    /// let real = HistoryShape::of(&History::from_json_str(&json(1)).unwrap());
    /// let same = HistoryShape::of(&History::from_json_str(&json(1)).unwrap());
    /// assert_eq!(real.difference(&same), None);
    /// let other = HistoryShape::of(&History::from_json_str(&json(0)).unwrap());
    /// let (index, why) = real.difference(&other).unwrap();
    /// assert_eq!(index, 1);
    /// assert!(why.contains("read key 0 version 1"), "{why}");
    /// ```
    pub fn difference(&self, other: &HistoryShape) -> Option<(usize, String)> {
        for (index, (a, b)) in self.attempts.iter().zip(&other.attempts).enumerate() {
            let what = format!("attempt #{index} (in the order attempts began)");
            if a.thread != b.thread {
                return Some((
                    index,
                    format!(
                        "{what} ran on thread {} (numbered by first attempt), but on thread {} in the replay",
                        a.thread, b.thread
                    ),
                ));
            }
            if a.reads != b.reads {
                let at = a
                    .reads
                    .iter()
                    .zip(&b.reads)
                    .position(|(x, y)| x != y)
                    .unwrap_or(a.reads.len().min(b.reads.len()));
                let show = |r: Option<&(u64, u64, String)>| {
                    r.map_or("nothing".to_string(), |(k, v, value)| {
                        if value.is_empty() {
                            format!("key {k} version {v}")
                        } else {
                            format!("key {k} version {v} = {value}")
                        }
                    })
                };
                return Some((
                    index,
                    format!(
                        "{what}, thread {}: read {} as its read {at}, but {} in the replay",
                        a.thread,
                        show(a.reads.get(at)),
                        show(b.reads.get(at))
                    ),
                ));
            }
            if a.committed != b.committed {
                let said = |c: bool| if c { "committed" } else { "aborted" };
                return Some((
                    index,
                    format!(
                        "{what}, thread {}: {}, but {} in the replay",
                        a.thread,
                        said(a.committed),
                        said(b.committed)
                    ),
                ));
            }
            if a.writes != b.writes {
                return Some((
                    index,
                    format!(
                        "{what}, thread {}: installed {:?}, but {:?} in the replay",
                        a.thread, a.writes, b.writes
                    ),
                ));
            }
            if let (Some(x), Some(y)) = (&a.abort_cause, &b.abort_cause) {
                if x != y {
                    return Some((
                        index,
                        format!(
                            "{what}, thread {}: ended without committing ({x}), but for another reason in the replay ({y})",
                            a.thread
                        ),
                    ));
                }
            }
        }
        if self.attempts.len() != other.attempts.len() {
            let index = self.attempts.len().min(other.attempts.len());
            return Some((
                index,
                format!(
                    "{} attempts, but {} in the replay",
                    self.attempts.len(),
                    other.attempts.len()
                ),
            ));
        }
        if self.commit_order != other.commit_order {
            let at = self
                .commit_order
                .iter()
                .zip(&other.commit_order)
                .position(|(x, y)| x != y)
                .unwrap_or(0);
            return Some((
                self.commit_order[at],
                format!(
                    "commit {at} was attempt {}'s, but attempt {}'s in the replay",
                    self.commit_order[at], other.commit_order[at]
                ),
            ));
        }
        None
    }
}
