//! Validates a history and indexes it for the checks: every write by
//! `(key, version)`, the version order of each key, and what each read read.

use super::error::HistoryError;
use super::format::{History, Outcome, Transaction};
use rustc_hash::FxHashMap;
use serde_json::Value;

/// Marks "none" in the `u32` index arrays.
pub(crate) const NONE: u32 = u32::MAX;

/// One write, in the array of all writes sorted by `(key, version)`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct WriteEntry {
    pub key: u64,
    pub version: u64,
    /// Index of the writing transaction in `History::transactions`.
    pub tx: u32,
    /// Index of the write in that transaction's `writes`.
    pub write: u32,
    /// A final write of a committed transaction: part of the version order.
    pub installed: bool,
}

/// Where a read's value came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Source {
    /// Version 0 of the key.
    Initial,
    /// The write at this position of [`HistoryIndex::writes`].
    Write(u32),
}

/// A validated history with the lookups the checks need.
pub(crate) struct HistoryIndex<'h> {
    pub history: &'h History,
    /// Every write, sorted by `(key, version)`.
    pub writes: Vec<WriteEntry>,
    /// For each position `p` of `writes`: the first installed write at or
    /// after `p` with the same key, or [`NONE`].
    installed_from: Vec<u32>,
    /// Position in `writes` of each `(key, version)`.
    position: FxHashMap<(u64, u64), u32>,
    /// `read_sources[read_start[t] + i]` is the source of read `i` of
    /// transaction `t`.
    read_sources: Vec<Source>,
    read_start: Vec<u32>,
    initial: FxHashMap<u64, &'h Value>,
}

impl<'h> HistoryIndex<'h> {
    /// Validates `history` and builds the index; the first problem found is
    /// returned as an error.
    pub fn build(history: &'h History) -> Result<Self, HistoryError> {
        let txs = &history.transactions;
        if txs.len() >= NONE as usize {
            return Err(HistoryError::TooLarge {
                what: "the number of transactions",
            });
        }
        validate_transactions(txs)?;

        let mut initial = FxHashMap::default();
        for entry in &history.initial {
            if initial.insert(entry.key, &entry.value).is_some() {
                return Err(HistoryError::DuplicateInitialKey { key: entry.key });
            }
        }

        let writes = sorted_writes(txs)?;
        let mut installed_from = vec![NONE; writes.len()];
        for p in (0..writes.len()).rev() {
            installed_from[p] = if writes[p].installed {
                p as u32
            } else if p + 1 < writes.len() && writes[p + 1].key == writes[p].key {
                installed_from[p + 1]
            } else {
                NONE
            };
        }
        let mut position = FxHashMap::default();
        position.reserve(writes.len());
        for (p, w) in writes.iter().enumerate() {
            position.insert((w.key, w.version), p as u32);
        }

        let total_reads: usize = txs.iter().map(|t| t.reads.len()).sum();
        if total_reads >= NONE as usize {
            return Err(HistoryError::TooLarge {
                what: "the number of reads",
            });
        }
        let mut read_sources = Vec::with_capacity(total_reads);
        let mut read_start = Vec::with_capacity(txs.len() + 1);
        for tx in txs {
            read_start.push(read_sources.len() as u32);
            for read in &tx.reads {
                let source = if read.version == 0 {
                    Source::Initial
                } else {
                    match position.get(&(read.key, read.version)) {
                        Some(&p) => Source::Write(p),
                        None => {
                            return Err(HistoryError::DanglingRead {
                                id: tx.id,
                                key: read.key,
                                version: read.version,
                            })
                        }
                    }
                };
                read_sources.push(source);
            }
        }
        read_start.push(read_sources.len() as u32);

        Ok(HistoryIndex {
            history,
            writes,
            installed_from,
            position,
            read_sources,
            read_start,
            initial,
        })
    }

    /// Transaction `t`.
    pub fn tx(&self, t: u32) -> &'h Transaction {
        &self.history.transactions[t as usize]
    }

    /// Number of transactions.
    pub fn len(&self) -> usize {
        self.history.transactions.len()
    }

    /// Sources of the reads of transaction `t`, in the order of its `reads`.
    pub fn read_sources(&self, t: u32) -> &[Source] {
        let t = t as usize;
        &self.read_sources[self.read_start[t] as usize..self.read_start[t + 1] as usize]
    }

    /// The write at `(key, version)`, if any.
    pub fn write_at(&self, key: u64, version: u64) -> Option<u32> {
        self.position.get(&(key, version)).copied()
    }

    /// The first installed write of `key` after `source` in version order:
    /// the write that overwrote what a read of `source` returned.
    pub fn next_installed(&self, key: u64, source: Source) -> Option<u32> {
        let from = match source {
            Source::Initial => self.writes.partition_point(|w| w.key < key),
            Source::Write(p) => p as usize + 1,
        };
        match self.writes.get(from) {
            Some(w) if w.key == key => {
                let next = self.installed_from[from];
                (next != NONE).then_some(next)
            }
            _ => None,
        }
    }

    /// The value of `key` at version 0, when the history gives it.
    pub fn initial_value(&self, key: u64) -> Option<&'h Value> {
        self.initial.get(&key).copied()
    }

    /// Whether transaction `t` committed.
    pub fn committed(&self, t: u32) -> bool {
        self.tx(t).outcome == Outcome::Committed
    }
}

/// Per-transaction checks: unique ids and commit versions, `begin < end`,
/// no commit version on aborted attempts, no write of version 0.
fn validate_transactions(txs: &[Transaction]) -> Result<(), HistoryError> {
    let mut ids = FxHashMap::default();
    ids.reserve(txs.len());
    let mut commit_versions = FxHashMap::default();
    for (i, tx) in txs.iter().enumerate() {
        if let Some(first) = ids.insert(tx.id, i) {
            return Err(HistoryError::DuplicateTransactionId {
                id: tx.id,
                first,
                second: i,
            });
        }
        if tx.begin >= tx.end {
            return Err(HistoryError::EmptyInterval {
                id: tx.id,
                begin: tx.begin,
                end: tx.end,
            });
        }
        if let Some(commit_version) = tx.commit_version {
            if tx.outcome == Outcome::Aborted {
                return Err(HistoryError::CommitVersionOnAborted {
                    id: tx.id,
                    commit_version,
                });
            }
            if let Some(first) = commit_versions.insert(commit_version, tx.id) {
                return Err(HistoryError::DuplicateCommitVersion {
                    commit_version,
                    first,
                    second: tx.id,
                });
            }
        }
        if let Some(w) = tx.writes.iter().find(|w| w.version == 0) {
            return Err(HistoryError::ZeroWriteVersion {
                id: tx.id,
                key: w.key,
            });
        }
    }
    Ok(())
}

/// All writes sorted by `(key, version)`, each `(key, version)` once.
fn sorted_writes(txs: &[Transaction]) -> Result<Vec<WriteEntry>, HistoryError> {
    let total: usize = txs.iter().map(|t| t.writes.len()).sum();
    if total >= NONE as usize {
        return Err(HistoryError::TooLarge {
            what: "the number of writes",
        });
    }
    let mut writes = Vec::with_capacity(total);
    let mut last_write = FxHashMap::default();
    for (t, tx) in txs.iter().enumerate() {
        let committed = tx.outcome == Outcome::Committed;
        // The last write of a key in a transaction is its final one. Most
        // transactions write few keys: a scan beats a map until it is long.
        let scan = tx.writes.len() <= 16;
        if !scan {
            last_write.clear();
            for (i, w) in tx.writes.iter().enumerate() {
                last_write.insert(w.key, i);
            }
        }
        for (i, w) in tx.writes.iter().enumerate() {
            let final_write = if scan {
                !tx.writes[i + 1..].iter().any(|later| later.key == w.key)
            } else {
                last_write[&w.key] == i
            };
            writes.push(WriteEntry {
                key: w.key,
                version: w.version,
                tx: t as u32,
                write: i as u32,
                installed: final_write && committed,
            });
        }
    }
    writes.sort_unstable_by_key(|w| (w.key, w.version));
    if let Some(pair) = writes
        .windows(2)
        .find(|p| (p[0].key, p[0].version) == (p[1].key, p[1].version))
    {
        return Err(HistoryError::DuplicateWriteVersion {
            key: pair[0].key,
            version: pair[0].version,
            first: txs[pair[0].tx as usize].id,
            second: txs[pair[1].tx as usize].id,
        });
    }
    Ok(writes)
}
