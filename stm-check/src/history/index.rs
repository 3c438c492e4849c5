//! Validates a history and indexes it for the checks: every write by
//! `(key, version)`, the version order of each key, and what each read read.

use super::error::HistoryError;
use super::format::{History, Outcome, Transaction};
use rustc_hash::FxHashMap;
use serde_json::Value;

/// Marks "none" in the `u32` index arrays.
pub(crate) const NONE: u32 = u32::MAX;

/// One write, in the array of all writes sorted by `(key, version)`. The
/// key is implied by the position (see [`HistoryIndex::writes_by_key`]):
/// leaving it out makes the entry 24 bytes instead of 32, and this array
/// is filled by scattered writes.
#[derive(Debug, Clone, Copy)]
pub(crate) struct WriteEntry {
    pub version: u64,
    /// Index of the writing transaction in `History::transactions`.
    pub tx: u32,
    /// Index of the write in that transaction's `writes`.
    pub write: u32,
    /// A final write of a committed transaction: part of the version order.
    pub installed: bool,
}

/// One read, resolved once against the writes: who wrote what it read and
/// who overwrote it, with the facts about both that the checks need, so
/// that they run over the reads in order and never look a version up again.
/// Kept small (24 bytes): there is one per read, written once and read by
/// every check.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ResolvedRead {
    /// Index of the transaction that wrote the version read; [`NONE`] for
    /// version 0.
    pub writer: u32,
    /// Index of the write in the writer's `writes`; [`NONE`] for version 0.
    pub write: u32,
    /// Index of the transaction that installed the first version of the key
    /// after the one read (what overwrote it); [`NONE`] if none.
    pub overwriter: u32,
    /// Whether the write read is installed (a committed final write).
    pub installed: bool,
    /// The version the overwriter created; 0 if none.
    pub next_version: u64,
}

impl ResolvedRead {
    /// Whether the read returned the initial value (version 0).
    pub fn initial(&self) -> bool {
        self.writer == NONE
    }

    /// Whether a later installed version overwrote the value read.
    pub fn overwritten(&self) -> bool {
        self.overwriter != NONE
    }
}

/// Dense, order-preserving numbers for keys, so that per-key data lives in
/// arrays (buckets) rather than hash maps.
enum KeyIds {
    /// Keys are small: a key is its own number, `0..len`.
    Direct { len: usize },
    /// Keys are sparse: numbered by rank among the distinct keys.
    Ranked(FxHashMap<u64, u32>),
}

impl KeyIds {
    /// Numbers every key that a read or write of `txs` names, and counts
    /// the writes and the reads of each key (by number), in one pass over
    /// the history when keys are small. Also tells whether some write has
    /// version 0 (invalid), as this pass reads every write anyway.
    fn counted(txs: &[Transaction], accesses: usize) -> (KeyIds, Vec<u32>, Vec<u32>, bool) {
        // A direct table costs one slot per key up to the largest, so it
        // must stay proportional to the history.
        let limit = (accesses as u64).saturating_add(1024).min(NONE as u64 - 1);
        let count = |counts: &mut Vec<u32>, key: u64| {
            let k = key as usize;
            if k >= counts.len() {
                counts.resize(k + 1, 0);
            }
            counts[k] += 1;
        };
        let (mut writes, mut reads) = (Vec::new(), Vec::new());
        let mut zero_version = false;
        let direct = txs.iter().all(|tx| {
            tx.writes.iter().all(|w| {
                w.key < limit && {
                    zero_version |= w.version == 0;
                    count(&mut writes, w.key);
                    true
                }
            }) && tx.reads.iter().all(|r| {
                r.key < limit && {
                    count(&mut reads, r.key);
                    true
                }
            })
        });
        if direct {
            let len = writes.len().max(reads.len());
            writes.resize(len, 0);
            reads.resize(len, 0);
            return (KeyIds::Direct { len }, writes, reads, zero_version);
        }
        let keys = || {
            txs.iter().flat_map(|tx| {
                let reads = tx.reads.iter().map(|r| r.key);
                reads.chain(tx.writes.iter().map(|w| w.key))
            })
        };
        let mut distinct: Vec<u64> = keys().collect();
        distinct.sort_unstable();
        distinct.dedup();
        let ranks = distinct
            .iter()
            .enumerate()
            .map(|(rank, &key)| (key, rank as u32))
            .collect();
        let keys = KeyIds::Ranked(ranks);
        let (mut writes, mut reads) = (vec![0; keys.len()], vec![0; keys.len()]);
        let mut zero_version = false;
        for tx in txs {
            for w in &tx.writes {
                zero_version |= w.version == 0;
                writes[keys.of(w.key)] += 1;
            }
            tx.reads.iter().for_each(|r| reads[keys.of(r.key)] += 1);
        }
        (keys, writes, reads, zero_version)
    }

    /// The number of `key`, if the history names it.
    fn get(&self, key: u64) -> Option<u32> {
        match self {
            KeyIds::Direct { len } => (key < *len as u64).then_some(key as u32),
            KeyIds::Ranked(ranks) => ranks.get(&key).copied(),
        }
    }

    /// The number of a key the history names.
    fn of(&self, key: u64) -> usize {
        match self.get(key) {
            Some(id) => id as usize,
            None => unreachable!("every key of the history is numbered"),
        }
    }

    /// How many numbers there are.
    fn len(&self) -> usize {
        match self {
            KeyIds::Direct { len } => *len,
            KeyIds::Ranked(ranks) => ranks.len(),
        }
    }
}

/// The index's large arrays, kept between checks by a
/// [`Checker`](super::Checker): at a million transactions they are a few
/// hundred megabytes, which the allocator would otherwise map afresh, and
/// the kernel fault in page by page, on every check.
#[derive(Default)]
pub(crate) struct IndexBuffers {
    writes: Vec<WriteEntry>,
    grouped_reads: Vec<(u64, u32)>,
    resolved: Vec<ResolvedRead>,
    installed_from: Vec<u32>,
    read_start: Vec<u32>,
    committed: Vec<bool>,
}

/// `buffer`, emptied, then filled with `len` copies of `value`.
fn refill<T: Clone>(buffer: &mut Vec<T>, len: usize, value: T) -> Vec<T> {
    let mut v = std::mem::take(buffer);
    v.clear();
    v.resize(len, value);
    v
}

/// A validated history with the lookups the checks need.
pub(crate) struct HistoryIndex<'h> {
    pub history: &'h History,
    /// Every write, sorted by `(key, version)`.
    pub writes: Vec<WriteEntry>,
    /// For each position `p` of `writes`: the first installed write at or
    /// after `p` with the same key, or [`NONE`].
    installed_from: Vec<u32>,
    keys: KeyIds,
    /// The writes of key number `k` are `writes[key_start[k]..key_start[k + 1]]`.
    key_start: Vec<u32>,
    /// `reads[read_start[t] + i]` resolves read `i` of transaction `t`.
    reads: Vec<ResolvedRead>,
    read_start: Vec<u32>,
    /// Whether each transaction committed (a dense copy: the hot loops
    /// test it for every transaction and every writer).
    committed: Vec<bool>,
    /// Whether the committed transactions are listed in order of `end`.
    committed_in_end_order: bool,
    initial: FxHashMap<u64, &'h Value>,
    /// Whether some write is a commute (only then are commutes checked).
    has_commutes: bool,
}

impl<'h> HistoryIndex<'h> {
    /// Validates `history` and builds the index; the first problem found is
    /// returned as an error.
    ///
    /// Linear in the size of the history: writes and reads are grouped by
    /// key with counting sorts (in transaction order, in which versions
    /// usually already ascend), and each key's reads are matched against its
    /// writes in one merge.
    pub fn build(history: &'h History) -> Result<Self, HistoryError> {
        Self::build_in(history, &mut IndexBuffers::default())
    }

    /// [`HistoryIndex::build`], taking its arrays from `buffers` (give them
    /// back with [`HistoryIndex::into_buffers`]).
    pub fn build_in(
        history: &'h History,
        buffers: &mut IndexBuffers,
    ) -> Result<Self, HistoryError> {
        let txs = &history.transactions;
        if txs.len() >= NONE as usize {
            return Err(HistoryError::TooLarge {
                what: "the number of transactions",
            });
        }
        // The cheap verdict on the transactions comes in two parts: one pass
        // over them here, and the check for writes of version 0 inside the
        // pass that counts the writes per key (so the writes are read from
        // memory once, not twice). Any error found in between waits for
        // `validate_transactions`, whose errors come first.
        let survey = survey(txs);
        if !survey.looks_valid(txs) {
            validate_transactions(txs)?;
        }
        let mut initial = FxHashMap::default();
        for entry in &history.initial {
            if initial.insert(entry.key, &entry.value).is_some() {
                validate_transactions(txs)?;
                return Err(HistoryError::DuplicateInitialKey { key: entry.key });
            }
        }
        let (total_reads, total_writes) = (survey.reads, survey.writes);
        if total_writes >= NONE as usize {
            validate_transactions(txs)?;
            return Err(HistoryError::TooLarge {
                what: "the number of writes",
            });
        }
        let (keys, write_counts, read_counts, zero_version) = match survey.direct_counts {
            Some(counts) => {
                let len = counts.writes.len().max(counts.reads.len());
                let (mut writes, mut reads) = (counts.writes, counts.reads);
                writes.resize(len, 0);
                reads.resize(len, 0);
                (KeyIds::Direct { len }, writes, reads, counts.zero_version)
            }
            None => KeyIds::counted(txs, total_reads.saturating_add(total_writes)),
        };
        if zero_version {
            validate_transactions(txs)?;
        }
        let key_start = starts(&write_counts);
        let group_start = starts(&read_counts);
        let reads_fit = total_reads < NONE as usize;
        let grouped = group_by_key(txs, &keys, &key_start, &group_start, reads_fit, buffers);
        let Grouped {
            mut writes,
            reads: grouped_reads,
            read_start,
            committed,
            has_commutes,
        } = grouped;
        sort_versions(txs, &mut writes, &key_start)?;
        let mut installed_from = refill(&mut buffers.installed_from, writes.len(), NONE);
        for group in key_start.windows(2) {
            let mut next = NONE;
            for p in (group[0] as usize..group[1] as usize).rev() {
                if writes[p].installed {
                    next = p as u32;
                }
                installed_from[p] = next;
            }
        }

        if !reads_fit {
            return Err(HistoryError::TooLarge {
                what: "the number of reads",
            });
        }
        let mut resolved = std::mem::take(&mut buffers.resolved);
        let mut index = HistoryIndex {
            history,
            writes,
            installed_from,
            keys,
            key_start,
            reads: Vec::new(),
            read_start,
            committed,
            committed_in_end_order: survey.committed_in_end_order,
            initial,
            has_commutes,
        };
        let mut grouped_reads = grouped_reads;
        let resolving = index.resolve_reads(&mut grouped_reads, &group_start, &mut resolved);
        buffers.grouped_reads = grouped_reads;
        resolving?;
        index.reads = resolved;
        if has_commutes {
            index.validate_commute_bases()?;
        }
        Ok(index)
    }

    /// Every commuted write's base version names a version some transaction
    /// wrote (or 0), other than the write itself.
    fn validate_commute_bases(&self) -> Result<(), HistoryError> {
        for tx in &self.history.transactions {
            for w in &tx.writes {
                let Some(base) = w.commuted.as_ref().and_then(|c| c.version) else {
                    continue;
                };
                let why = if base == w.version {
                    "the write itself"
                } else if base != 0 && self.write_at(w.key, base).is_none() {
                    "a version no transaction wrote"
                } else {
                    continue;
                };
                return Err(HistoryError::InvalidCommuteBase {
                    id: tx.id,
                    key: w.key,
                    version: w.version,
                    base,
                    why,
                });
            }
        }
        Ok(())
    }

    /// The index's arrays, for the next [`HistoryIndex::build_in`].
    pub fn into_buffers(self, buffers: &mut IndexBuffers) {
        buffers.writes = self.writes;
        buffers.installed_from = self.installed_from;
        buffers.resolved = self.reads;
        buffers.read_start = self.read_start;
        buffers.committed = self.committed;
    }

    /// Resolves every read: orders each key's group of reads by version
    /// (usually a no-op check) and walks it alongside the key's writes.
    /// `grouped` holds `(version, read number)` by key, the group of key
    /// number `k` starting at `group_start[k]`.
    /// The result goes to `resolved`, whose old contents are dropped.
    fn resolve_reads(
        &self,
        grouped: &mut [(u64, u32)],
        group_start: &[u32],
        resolved: &mut Vec<ResolvedRead>,
    ) -> Result<(), HistoryError> {
        let txs = &self.history.transactions;
        let buckets = self.keys.len();
        let bucket_start = group_start;
        let total = grouped.len();
        let unresolved = ResolvedRead {
            writer: NONE,
            write: NONE,
            overwriter: NONE,
            installed: false,
            next_version: 0,
        };
        resolved.clear();
        resolved.resize(total, unresolved);
        let mut first_dangling = NONE;
        for k in 0..buckets {
            let group = &mut grouped[bucket_start[k] as usize..bucket_start[k + 1] as usize];
            if group.is_empty() {
                continue;
            }
            if !group.is_sorted_by_key(|&(version, _)| version) {
                group.sort_unstable();
            }
            let (first, end) = (self.key_start[k] as usize, self.key_start[k + 1] as usize);
            let mut p = first;
            for &(version, r) in group.iter() {
                let mut entry = unresolved;
                let next = if version == 0 {
                    first
                } else {
                    while p < end && self.writes[p].version < version {
                        p += 1;
                    }
                    if p == end || self.writes[p].version != version {
                        first_dangling = first_dangling.min(r);
                        continue;
                    }
                    let w = &self.writes[p];
                    entry.writer = w.tx;
                    entry.write = w.write;
                    entry.installed = w.installed;
                    p + 1
                };
                if next < end {
                    let n = self.installed_from[next];
                    if n != NONE {
                        let w = &self.writes[n as usize];
                        entry.overwriter = w.tx;
                        entry.next_version = w.version;
                    }
                }
                resolved[r as usize] = entry;
            }
        }
        if first_dangling != NONE {
            let t = self.read_start.partition_point(|&s| s <= first_dangling) - 1;
            let tx = &txs[t];
            let read = &tx.reads[(first_dangling - self.read_start[t]) as usize];
            let error = HistoryError::DanglingRead {
                id: tx.id,
                key: read.key,
                version: read.version,
            };
            return Err(error);
        }
        Ok(())
    }

    /// Transaction `t`.
    pub fn tx(&self, t: u32) -> &'h Transaction {
        &self.history.transactions[t as usize]
    }

    /// Number of transactions.
    pub fn len(&self) -> usize {
        self.history.transactions.len()
    }

    /// The resolved reads of transaction `t`, in the order of its `reads`.
    pub fn reads(&self, t: u32) -> &[ResolvedRead] {
        let t = t as usize;
        &self.reads[self.read_start[t] as usize..self.read_start[t + 1] as usize]
    }

    /// Positions in `writes` of the writes of `key`.
    fn key_writes(&self, key: u64) -> std::ops::Range<usize> {
        match self.keys.get(key) {
            Some(k) => self.key_start[k as usize] as usize..self.key_start[k as usize + 1] as usize,
            None => 0..0,
        }
    }

    /// The write at `(key, version)`, if any.
    pub fn write_at(&self, key: u64, version: u64) -> Option<u32> {
        let range = self.key_writes(key);
        let first = range.start;
        self.writes[range]
            .binary_search_by_key(&version, |w| w.version)
            .ok()
            .map(|i| (first + i) as u32)
    }

    /// The first installed write after the write at position `p`, of the
    /// same key, in version order: the write that overwrote it.
    pub fn next_installed(&self, key: u64, p: u32) -> Option<u32> {
        let from = p as usize + 1;
        if from >= self.key_writes(key).end {
            return None;
        }
        let next = self.installed_from[from];
        (next != NONE).then_some(next)
    }

    /// The last installed write of `key` before the write at position `p`,
    /// in version order: the version it overwrote.
    pub fn previous_installed(&self, key: u64, p: u32) -> Option<u32> {
        let first = self.key_writes(key).start;
        (first..p as usize)
            .rev()
            .find(|&q| self.writes[q].installed)
            .map(|q| q as u32)
    }

    /// The first installed write of `key`, in version order.
    pub fn first_installed(&self, key: u64) -> Option<u32> {
        let range = self.key_writes(key);
        if range.is_empty() {
            return None;
        }
        let first = self.installed_from[range.start];
        (first != NONE).then_some(first)
    }

    /// Whether some write of the history is a commute.
    pub fn has_commutes(&self) -> bool {
        self.has_commutes
    }

    /// The writes of each key in turn, each in version order.
    pub fn writes_by_key(&self) -> impl Iterator<Item = &[WriteEntry]> + '_ {
        self.key_start
            .windows(2)
            .map(|group| &self.writes[group[0] as usize..group[1] as usize])
    }

    /// The value of `key` at version 0, when the history gives it.
    pub fn initial_value(&self, key: u64) -> Option<&'h Value> {
        self.initial.get(&key).copied()
    }

    /// Whether the committed transactions are listed in order of `end`.
    pub fn committed_in_end_order(&self) -> bool {
        self.committed_in_end_order
    }

    /// How many transactions committed.
    pub fn committed_count(&self) -> usize {
        self.committed.iter().filter(|&&c| c).count()
    }

    /// Whether transaction `t` committed.
    pub fn committed(&self, t: u32) -> bool {
        self.committed[t as usize]
    }
}

/// The smallest, largest and number of some numbers.
#[derive(Clone, Copy)]
struct Spread {
    count: u64,
    min: u64,
    max: u64,
}

impl Spread {
    const EMPTY: Spread = Spread {
        count: 0,
        min: u64::MAX,
        max: 0,
    };

    fn add(&mut self, v: u64) {
        self.count += 1;
        self.min = self.min.min(v);
        self.max = self.max.max(v);
    }
}

/// What one pass over the transactions (not their reads and writes) finds:
/// most of the verdict of [`validate_transactions`], and the totals. At a
/// million transactions every pass over them comes from main memory, so
/// this one also notes what the graph check asks of them.
struct Survey {
    /// Every `begin < end`, and no commit version on an aborted attempt.
    well_formed: bool,
    /// The committed transactions are listed in order of `end`.
    committed_in_end_order: bool,
    ids: Spread,
    commit_versions: Spread,
    /// The ids and commit versions as the pass saw them, when dense enough
    /// to tell repeats at once (see [`DenseSeen`]).
    seen_ids: DenseSeen,
    seen_commit_versions: DenseSeen,
    reads: usize,
    writes: usize,
    /// The reads and writes of each key, counted in the same pass while the
    /// keys are small enough to be their own numbers (`None` once one is
    /// not: [`KeyIds::counted`] then numbers them).
    direct_counts: Option<DirectCounts>,
}

/// Reads and writes per key, for keys below a bound proportional to the
/// history, and whether some write has version 0 (invalid).
struct DirectCounts {
    writes: Vec<u32>,
    reads: Vec<u32>,
    zero_version: bool,
}

/// Numbers seen, in a bitmap from the first one on, for numbers that are
/// counters in practice (ids, commit versions): it tells repeats in the
/// same pass that finds the numbers' spread. Numbers below the first or
/// too far above it make it give up (`spilled`); then a second pass, sized
/// by the spread, decides.
struct DenseSeen {
    base: u64,
    words: Vec<u64>,
    /// Bits the bitmap may grow to (proportional to the history).
    limit: u64,
    spilled: bool,
    repeated: bool,
}

impl DenseSeen {
    fn new(limit: u64) -> DenseSeen {
        DenseSeen {
            base: 0,
            words: Vec::new(),
            limit,
            spilled: false,
            repeated: false,
        }
    }

    #[inline]
    fn add(&mut self, v: u64) {
        if self.spilled {
            return;
        }
        if self.words.is_empty() {
            self.base = v;
        }
        let Some(bit) = v.checked_sub(self.base).filter(|&b| b < self.limit) else {
            self.spilled = true;
            return;
        };
        let word = (bit / 64) as usize;
        if word >= self.words.len() {
            self.words.resize((word + 1).max(self.words.len() * 2), 0);
        }
        let mask = 1u64 << (bit % 64);
        self.repeated |= self.words[word] & mask != 0;
        self.words[word] |= mask;
    }

    /// Whether the numbers are distinct, when the bitmap can tell.
    fn verdict(&self) -> Option<bool> {
        (!self.spilled).then_some(!self.repeated)
    }
}

fn survey(txs: &[Transaction]) -> Survey {
    let mut survey = Survey {
        well_formed: true,
        committed_in_end_order: true,
        ids: Spread::EMPTY,
        commit_versions: Spread::EMPTY,
        seen_ids: DenseSeen::new(8 * txs.len() as u64 + 4096),
        seen_commit_versions: DenseSeen::new(8 * txs.len() as u64 + 4096),
        reads: 0,
        writes: 0,
        direct_counts: Some(DirectCounts {
            writes: Vec::new(),
            reads: Vec::new(),
            zero_version: false,
        }),
    };
    // Keys are their own numbers while below this (a table proportional to
    // the history; [`KeyIds::counted`] allows as much or more).
    let key_limit = (txs.len() as u64).saturating_add(1024).min(NONE as u64 - 1);
    let count = |counts: &mut Vec<u32>, key: u64| -> bool {
        if key >= key_limit {
            return false;
        }
        let k = key as usize;
        if k >= counts.len() {
            counts.resize((k + 1).max(counts.len() * 2), 0);
        }
        counts[k] += 1;
        true
    };
    let mut last_end = 0u64;
    for tx in txs {
        survey.well_formed &=
            tx.begin < tx.end && !(tx.commit_version.is_some() && tx.outcome == Outcome::Aborted);
        if tx.outcome == Outcome::Committed {
            survey.committed_in_end_order &= tx.end >= last_end;
            last_end = tx.end;
        }
        survey.ids.add(tx.id);
        survey.seen_ids.add(tx.id);
        if let Some(v) = tx.commit_version {
            survey.commit_versions.add(v);
            survey.seen_commit_versions.add(v);
        }
        survey.reads += tx.reads.len();
        survey.writes += tx.writes.len();
        if let Some(counts) = &mut survey.direct_counts {
            let mut fits = true;
            for w in &tx.writes {
                counts.zero_version |= w.version == 0;
                fits &= count(&mut counts.writes, w.key);
            }
            for r in &tx.reads {
                fits &= count(&mut counts.reads, r.key);
            }
            if !fits {
                survey.direct_counts = None;
            }
        }
    }
    if let Some(counts) = &mut survey.direct_counts {
        // Trim the doubling's slack: the table's length is the key count.
        let len = |c: &Vec<u32>| c.iter().rposition(|&n| n > 0).map_or(0, |p| p + 1);
        let used = len(&counts.writes).max(len(&counts.reads));
        counts.writes.truncate(used);
        counts.reads.truncate(used);
    }
    survey
}

impl Survey {
    /// Whether [`validate_transactions`] would accept `txs`, but for writes
    /// of version 0: bitmaps where ids and commit versions are dense (they
    /// are counters in practice), hash sets otherwise. Only the verdict: the
    /// error, with its details, comes from [`validate_transactions`].
    fn looks_valid(&self, txs: &[Transaction]) -> bool {
        if !self.well_formed {
            return false;
        }
        match (self.seen_ids.verdict(), self.seen_commit_versions.verdict()) {
            (Some(ids), Some(commit_versions)) => return ids && commit_versions,
            (Some(false), _) | (_, Some(false)) => return false,
            _ => {}
        }
        // One more pass, for both sets.
        let (mut ids, mut commit_versions) = (
            DistinctSet::for_spread(self.ids),
            DistinctSet::for_spread(self.commit_versions),
        );
        txs.iter().all(|tx| {
            ids.insert(tx.id) && tx.commit_version.is_none_or(|v| commit_versions.insert(v))
        })
    }
}

/// A set of numbers that tells whether each one added is new: a bitmap
/// where the numbers are dense (ids and commit versions are counters in
/// practice), a hash set otherwise.
enum DistinctSet {
    /// Fewer than two numbers: all distinct.
    Trivial,
    Bitmap {
        min: u64,
        words: Vec<u64>,
    },
    Hashed(rustc_hash::FxHashSet<u64>),
}

impl DistinctSet {
    /// A set for numbers whose spread is `spread`.
    fn for_spread(spread: Spread) -> DistinctSet {
        let Spread { count, min, max } = spread;
        if count < 2 {
            return DistinctSet::Trivial;
        }
        let span = max - min;
        if span < count.saturating_mul(8).saturating_add(64) {
            DistinctSet::Bitmap {
                min,
                words: vec![0u64; (span / 64 + 1) as usize],
            }
        } else {
            let mut seen = rustc_hash::FxHashSet::default();
            seen.reserve(count as usize);
            DistinctSet::Hashed(seen)
        }
    }

    /// Adds `v` (within the spread); `false` if it was there already.
    fn insert(&mut self, v: u64) -> bool {
        match self {
            DistinctSet::Trivial => true,
            DistinctSet::Bitmap { min, words } => {
                let bit = v - *min;
                let word = &mut words[(bit / 64) as usize];
                let mask = 1u64 << (bit % 64);
                let new = *word & mask == 0;
                *word |= mask;
                new
            }
            DistinctSet::Hashed(seen) => seen.insert(v),
        }
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

/// Where each group starts, given the group sizes, plus the end.
fn starts(counts: &[u32]) -> Vec<u32> {
    let mut starts = Vec::with_capacity(counts.len() + 1);
    let mut sum = 0u32;
    starts.push(0);
    for &c in counts {
        sum += c;
        starts.push(sum);
    }
    starts
}

/// The history's writes and reads grouped by key, in transaction order
/// within each key.
struct Grouped {
    /// Every write, grouped by key number (see [`group_by_key`]).
    writes: Vec<WriteEntry>,
    /// `(version, read number)` of every read, grouped by key number.
    reads: Vec<(u64, u32)>,
    /// Number of the first read of each transaction, plus the end.
    read_start: Vec<u32>,
    /// Whether each transaction committed.
    committed: Vec<bool>,
    /// Whether some write is a commute.
    has_commutes: bool,
}

/// One pass over the history: a counting sort of the writes (into
/// `key_start` groups) and, when `with_reads`, of the reads (into
/// `group_start` groups), both by key number.
fn group_by_key(
    txs: &[Transaction],
    keys: &KeyIds,
    key_start: &[u32],
    group_start: &[u32],
    with_reads: bool,
    buffers: &mut IndexBuffers,
) -> Grouped {
    let total_writes = *key_start.last().unwrap_or(&0) as usize;
    let total_reads = if with_reads {
        *group_start.last().unwrap_or(&0) as usize
    } else {
        0
    };
    let unfilled = WriteEntry {
        version: 0,
        tx: NONE,
        write: NONE,
        installed: false,
    };
    let mut writes = refill(&mut buffers.writes, total_writes, unfilled);
    let mut reads = refill(&mut buffers.grouped_reads, total_reads, (0u64, 0u32));
    let mut read_start = refill(&mut buffers.read_start, 0, 0);
    read_start.reserve(txs.len() + 1);
    let mut committed = refill(&mut buffers.committed, 0, false);
    committed.reserve(txs.len());
    let mut write_fill = key_start.to_vec();
    let mut read_fill = group_start.to_vec();
    let mut last_write = FxHashMap::default();
    let mut r = 0u32;
    let mut has_commutes = false;
    for (t, tx) in txs.iter().enumerate() {
        let is_committed = tx.outcome == Outcome::Committed;
        committed.push(is_committed);
        read_start.push(r);
        for_each_write(tx, &mut last_write, |i, w, final_write| {
            has_commutes |= w.commuted.is_some();
            let slot = &mut write_fill[keys.of(w.key)];
            writes[*slot as usize] = WriteEntry {
                version: w.version,
                tx: t as u32,
                write: i as u32,
                installed: final_write && is_committed,
            };
            *slot += 1;
        });
        if with_reads {
            for read in &tx.reads {
                let slot = &mut read_fill[keys.of(read.key)];
                reads[*slot as usize] = (read.version, r);
                *slot += 1;
                r += 1;
            }
        }
    }
    read_start.push(r);
    Grouped {
        writes,
        reads,
        read_start,
        committed,
        has_commutes,
    }
}

/// Sorts each key's writes by version where they do not already ascend
/// (in transaction order they usually do), so that `writes` is sorted by
/// `(key, version)`; a version written twice is an error.
fn sort_versions(
    txs: &[Transaction],
    writes: &mut [WriteEntry],
    key_start: &[u32],
) -> Result<(), HistoryError> {
    for k in 0..key_start.len() - 1 {
        let group = &mut writes[key_start[k] as usize..key_start[k + 1] as usize];
        if !group.windows(2).all(|p| p[0].version < p[1].version) {
            group.sort_unstable_by_key(|w| w.version);
            if group.windows(2).any(|p| p[0].version == p[1].version) {
                // Rare: let the reference sort name the same pair as ever.
                return Err(sorted_writes(txs).expect_err("a version is written twice"));
            }
        }
    }
    Ok(())
}

/// A write with its key, for [`sorted_writes`]: the entry the index used
/// before it left the key out. Kept as it was because the unstable sort
/// decides which of two duplicates the error names first, and that
/// depends on the element type.
#[derive(Debug, Clone, Copy)]
struct KeyedWrite {
    key: u64,
    version: u64,
    tx: u32,
    #[allow(dead_code)] // only shapes the sort, as in the index's entry
    write: u32,
    #[allow(dead_code)]
    installed: bool,
}

/// All writes sorted by `(key, version)`, each `(key, version)` once: the
/// reference that [`writes_by_key`] falls back to, to report a duplicate
/// exactly as it always has.
fn sorted_writes(txs: &[Transaction]) -> Result<Vec<KeyedWrite>, HistoryError> {
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
        for_each_write(tx, &mut last_write, |i, w, final_write| {
            writes.push(KeyedWrite {
                key: w.key,
                version: w.version,
                tx: t as u32,
                write: i as u32,
                installed: final_write && committed,
            });
        });
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

/// Calls `f(i, write, final)` for each write of `tx` in order, `final`
/// telling whether it is the transaction's last write of its key (its final
/// write). Most transactions write few keys: a scan beats a map (`last_write`,
/// reused) until it is long.
#[inline]
fn for_each_write<'t>(
    tx: &'t Transaction,
    last_write: &mut FxHashMap<u64, usize>,
    mut f: impl FnMut(usize, &'t super::format::Write, bool),
) {
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
        f(i, w, final_write);
    }
}
