//! The opacity check: every attempt, aborted ones included, must have read
//! one consistent snapshot.
//!
//! A read of key `k` at version `v` returned the value current at every
//! global version in `[v, n)`, where `n` is the next installed version of
//! `k` (or infinity). The reads of an attempt coexist in one snapshot when
//! these intervals intersect, that is when the largest `v` is below the
//! smallest `n`: one pass per attempt. Reads of the attempt's own writes
//! are left out. Committed transactions are ordered in real time by the
//! cycle search; for aborted attempts this check also requires that no read
//! returned a value overwritten by a transaction that ended before the
//! attempt began, and that no read returned an uncommitted write; the
//! attempts that pass are then placed in a serial order by
//! [`aborted_attempts`](super::aborted_attempts), which is opacity's
//! definition.

use super::anomaly::{Anomaly, AnomalyClass};
use super::format::{Read, Transaction};
use super::index::{HistoryIndex, ResolvedRead};
use std::fmt;

/// A read that takes part in the snapshot: its version and the next
/// installed version after it.
#[derive(Clone, Copy)]
struct Bound<'h> {
    read: &'h Read,
    /// Index of the transaction that installed the next version, if any.
    overwriter: Option<u32>,
}

/// How an explanation names the attempt: `T7` or `T7 (aborted)`. Formatted
/// only into the lines of a violation, never for attempts that pass.
#[derive(Clone, Copy)]
struct Attempt {
    id: u64,
    aborted: bool,
}

impl fmt::Display for Attempt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.aborted {
            write!(f, "T{} (aborted)", self.id)
        } else {
            write!(f, "T{}", self.id)
        }
    }
}

/// The opacity violation of attempt `t`, if any: the first of an
/// uncommitted read (aborted attempts), an inconsistent pair of reads, a
/// read not current at the recorded `snapshot`, a stale read (aborted
/// attempts).
///
/// Without a global clock (`global_clock` false: version numbers order
/// each key alone) the snapshot rules mean nothing and are skipped.
pub(crate) fn attempt_violation(
    index: &HistoryIndex<'_>,
    t: u32,
    global_clock: bool,
) -> Option<Anomaly> {
    let tx = index.tx(t);
    let aborted = !index.committed(t);
    let me = Attempt { id: tx.id, aborted };
    let mut latest: Option<Bound<'_>> = None; // largest version read
    let mut earliest_overwrite: Option<(Bound<'_>, u64)> = None; // smallest next version
    let mut snapshot_problem = None;
    let mut stale_problem = None;
    for (read, resolved) in tx.reads.iter().zip(index.reads(t)) {
        let (k, v) = (read.key, read.version);
        if !resolved.initial() {
            if resolved.writer == t {
                continue;
            }
            if !resolved.installed {
                if !aborted {
                    continue; // G1a or G1b, reported as such
                }
                let writer = index.tx(resolved.writer);
                let why = if index.committed(resolved.writer) {
                    "an intermediate write it later overwrote"
                } else {
                    "which aborted"
                };
                let line = format!(
                    "{me} read key {k} version {v} written by T{}, {why}: a value no committed state ever held",
                    writer.id
                );
                return Some(violation(vec![tx.id, writer.id], vec![k], vec![line]));
            }
        }
        let bound = Bound {
            read,
            overwriter: resolved.overwritten().then_some(resolved.overwriter),
        };
        if latest.is_none_or(|b| v > b.read.version) {
            latest = Some(bound);
        }
        if resolved.overwritten() {
            let overwrite = resolved.next_version;
            if earliest_overwrite.is_none_or(|(_, o)| overwrite < o) {
                earliest_overwrite = Some((bound, overwrite));
            }
        }
        if snapshot_problem.is_none() {
            snapshot_problem = snapshot_mismatch(index, me, tx, bound, resolved);
        }
        if aborted && stale_problem.is_none() {
            stale_problem = stale_read(index, me, tx, bound, resolved);
        }
    }
    if let (Some(latest), Some((old, overwrite)), true) = (latest, earliest_overwrite, global_clock)
    {
        if latest.read.version >= overwrite {
            return Some(inconsistent_pair(index, me, tx.id, latest, old, overwrite));
        }
    }
    snapshot_problem.or(stale_problem)
}

fn violation(transactions: Vec<u64>, mut keys: Vec<u64>, explanation: Vec<String>) -> Anomaly {
    keys.sort_unstable();
    keys.dedup();
    Anomaly {
        class: AnomalyClass::Opacity,
        pattern: None,
        transactions,
        keys,
        cycle: Vec::new(),
        shortest: None,
        most_severe: None,
        explanation,
    }
}

/// Who wrote the version a read returned, in words.
fn origin(index: &HistoryIndex<'_>, read: &Read) -> (String, Option<u64>) {
    match index.write_at(read.key, read.version) {
        Some(p) => {
            let id = index.tx(index.writes[p as usize].tx).id;
            (format!("written by T{id}"), Some(id))
        }
        None => ("the initial value".to_string(), None),
    }
}

/// Two reads with no global version at which both values were current.
fn inconsistent_pair(
    index: &HistoryIndex<'_>,
    me: Attempt,
    id: u64,
    latest: Bound<'_>,
    old: Bound<'_>,
    overwrite: u64,
) -> Anomaly {
    let overwriter = old
        .overwriter
        .expect("an overwritten read has a next version");
    let overwriter = index.tx(overwriter).id;
    let (new_origin, new_writer) = origin(index, latest.read);
    let (old_origin, old_writer) = origin(index, old.read);
    let (ka, va) = (latest.read.key, latest.read.version);
    let (kb, vb) = (old.read.key, old.read.version);
    let lines = vec![
        format!("{me} read key {kb} version {vb} ({old_origin}), current only until T{overwriter} installed version {overwrite}"),
        format!("{me} read key {ka} version {va} ({new_origin}), which exists only from version {va} on"),
        format!("version {overwrite} <= {va}: no global version saw both reads, an inconsistent snapshot"),
    ];
    let mut transactions = vec![id, overwriter];
    transactions.extend(new_writer.into_iter().chain(old_writer));
    transactions.dedup();
    violation(transactions, vec![ka, kb], lines)
}

/// A read not current at the attempt's recorded snapshot.
fn snapshot_mismatch(
    index: &HistoryIndex<'_>,
    me: Attempt,
    tx: &Transaction,
    bound: Bound<'_>,
    resolved: &ResolvedRead,
) -> Option<Anomaly> {
    let s = tx.snapshot?;
    let id = tx.id;
    let (k, v) = (bound.read.key, bound.read.version);
    if v > s {
        let (from, writer) = origin(index, bound.read);
        let line = format!("{me} read at snapshot {s} but saw key {k} version {v} ({from}), newer than its snapshot");
        return Some(violation(
            std::iter::once(id).chain(writer).collect(),
            vec![k],
            vec![line],
        ));
    }
    if !resolved.overwritten() || resolved.next_version > s {
        return None;
    }
    let overwriter = index.tx(resolved.overwriter).id;
    let line = format!(
        "{me} read at snapshot {s} but saw key {k} version {v}, which T{overwriter} had already overwritten with version {} <= {s}",
        resolved.next_version
    );
    Some(violation(vec![id, overwriter], vec![k], vec![line]))
}

/// A read of a value overwritten by a transaction that ended before the
/// attempt began.
fn stale_read(
    index: &HistoryIndex<'_>,
    me: Attempt,
    tx: &Transaction,
    bound: Bound<'_>,
    resolved: &ResolvedRead,
) -> Option<Anomaly> {
    if !resolved.overwritten() {
        return None;
    }
    let overwriter = index.tx(resolved.overwriter);
    if overwriter.end >= tx.begin {
        return None;
    }
    let (k, v) = (bound.read.key, bound.read.version);
    let line = format!(
        "{me} read key {k} version {v}, but T{} had overwritten it with version {} and ended (at event {}) before {me} began (at event {})",
        overwriter.id, resolved.next_version, overwriter.end, tx.begin
    );
    Some(violation(vec![tx.id, overwriter.id], vec![k], vec![line]))
}
