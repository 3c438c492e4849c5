//! The dependency graph: Adya's direct serialization graph over committed
//! transactions (ww, wr and rw edges) plus real-time order, stored as
//! compressed adjacency lists.
//!
//! Real-time order (`a.end < b.begin`) would need a quadratic number of
//! direct edges, so it goes through a chain of time points instead: one
//! point per committed transaction in order of `end`; each transaction
//! points to its own end's point, each point to the next, and the last
//! point before a transaction's `begin` points to the transaction. `a`
//! reaches `b` through points exactly when `a.end < b.begin`.

use super::index::{HistoryIndex, NONE};

/// Why one transaction must precede another.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum EdgeKind {
    /// The target installed the next version of a key the source installed.
    WriteWrite = 0,
    /// The target read a version the source installed.
    WriteRead = 1,
    /// The target installed the version after one the source read.
    ReadWrite = 2,
    /// Real-time order, through time points.
    RealTime = 3,
    /// Program order: the next transaction of the same thread (histories
    /// without real time only, where it is not implied).
    Session = 4,
}

/// A set of [`EdgeKind`]s.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct KindSet(u8);

impl KindSet {
    pub const WW: KindSet = KindSet(1 << EdgeKind::WriteWrite as u8);
    pub const WW_WR: KindSet = KindSet(Self::WW.0 | 1 << EdgeKind::WriteRead as u8);
    pub const DSG: KindSet = KindSet(Self::WW_WR.0 | 1 << EdgeKind::ReadWrite as u8);
    pub const ALL: KindSet =
        KindSet(Self::DSG.0 | 1 << EdgeKind::RealTime as u8 | 1 << EdgeKind::Session as u8);

    pub fn contains(self, kind: EdgeKind) -> bool {
        self.0 & (1 << kind as u8) != 0
    }
}

/// Nodes `0..transactions` are the history's transactions (by index; an
/// aborted one has no edges), the rest are time points.
pub(crate) struct Graph {
    transactions: u32,
    /// The committed transactions in order of `end`: time point `r` (node
    /// `transactions + r`) is the end of `times.by_end[r]`.
    pub times: RealTimes,
    offsets: Vec<usize>,
    /// The target and kind of every edge, node by node: one array, so that
    /// filling it (edges arrive in no order of their source) touches one
    /// cache line per edge, not two.
    edges: Vec<(u32, EdgeKind)>,
}

impl Graph {
    /// Builds the graph of a validated history in two passes over the edges
    /// (count, then fill), so no edge list is ever held twice.
    pub fn build(index: &HistoryIndex<'_>, session: bool) -> Graph {
        let n = index.len() as u32;
        let mut times = RealTimes::of(index);
        times.session = session;
        let nodes = n as usize + times.by_end.len();

        // Counts go two slots ahead so that, once summed, `offsets[v + 1]`
        // is where `v`'s edges start: the fill pass then uses it as `v`'s
        // cursor and leaves it at `v`'s end, which is `v + 1`'s start.
        let mut offsets = vec![0usize; nodes + 2];
        for_each_edge(index, &times, &mut |from, _, _| {
            offsets[from as usize + 2] += 1
        });
        for i in 1..=nodes {
            offsets[i + 1] += offsets[i];
        }
        let edges = offsets[nodes + 1];
        let mut edges = vec![(0u32, EdgeKind::WriteWrite); edges];
        for_each_edge(index, &times, &mut |from, to, kind| {
            let slot = &mut offsets[from as usize + 1];
            edges[*slot] = (to, kind);
            *slot += 1;
        });
        offsets.pop();
        Graph {
            transactions: n,
            times,
            offsets,
            edges,
        }
    }

    /// Number of nodes (transactions and time points).
    pub fn node_count(&self) -> usize {
        self.offsets.len() - 1
    }

    /// Whether `node` is a time point rather than a transaction.
    pub fn is_time_point(&self, node: u32) -> bool {
        node >= self.transactions
    }

    /// The targets of all edges, node by node.
    pub fn targets(&self) -> impl Iterator<Item = u32> + '_ {
        self.edges.iter().map(|&(target, _)| target)
    }

    /// Positions (for [`Graph::edge`]) of the edges leaving `node`.
    pub fn edge_positions(&self, node: u32) -> std::ops::Range<usize> {
        self.offsets[node as usize]..self.offsets[node as usize + 1]
    }

    /// The target and kind of the edge at `position`.
    pub fn edge(&self, position: usize) -> (u32, EdgeKind) {
        self.edges[position]
    }

    /// The edges leaving `node`.
    pub fn edges(&self, node: u32) -> impl Iterator<Item = (u32, EdgeKind)> + '_ {
        let range = self.offsets[node as usize]..self.offsets[node as usize + 1];
        self.edges[range].iter().copied()
    }
}

/// The committed transactions in order of `end`, with their ends and
/// begins in that order. Read once rather than from the transactions in
/// each of the two edge passes: at a million transactions, every pass over
/// them comes from main memory.
pub(crate) struct RealTimes {
    /// Committed transactions (by index) in order of `end`.
    pub by_end: Vec<u32>,
    /// Their ends, ascending.
    pub ends: Vec<u64>,
    /// Their begins, in the same order.
    pub begins: Vec<u64>,
    /// Whether each thread's program order is an edge (see
    /// [`EdgeKind::Session`]).
    pub session: bool,
}

impl RealTimes {
    fn of(index: &HistoryIndex<'_>) -> RealTimes {
        let mut by_end: Vec<u32> = (0..index.len() as u32)
            .filter(|&t| index.committed(t))
            .collect();
        let gather = |by_end: &[u32]| -> (Vec<u64>, Vec<u64>) {
            by_end
                .iter()
                .map(|&t| (index.tx(t).end, index.tx(t).begin))
                .unzip()
        };
        // Recorders list transactions roughly in order, and often exactly
        // in order of `end`: then there is nothing to sort.
        let (mut ends, mut begins) = gather(&by_end);
        if !ends.is_sorted() {
            by_end.sort_unstable_by_key(|&t| index.tx(t).end);
            (ends, begins) = gather(&by_end);
        }
        RealTimes {
            by_end,
            ends,
            begins,
            session: false,
        }
    }
}

/// Whether the transactions' own order may be a topological order of the
/// whole graph: the committed transactions end in index order and every ww
/// edge goes from a lower index to a higher one. If, besides, every
/// committed transaction's reads [follow the order](reads_follow_transaction_order),
/// the graph has no cycle. Real-time edges need no look:
/// `a.end < b.begin < b.end` puts `a` first.
///
/// Recorders list transactions in the order they end, and a valid history
/// usually serializes in commit order, so these passes over the edges, with
/// no graph built, are the verdict on most valid histories; the reads are
/// looked at in the checks' own pass over each transaction's reads.
pub(crate) fn writes_follow_transaction_order(index: &HistoryIndex<'_>) -> bool {
    let mut ordered = index.committed_in_end_order();
    for_each_write_dependency(index, &mut |from, to, _| ordered &= from < to);
    ordered
}

/// Whether every wr and rw edge of committed transaction `t` goes from a
/// lower index to a higher one (see [`writes_follow_transaction_order`]).
pub(crate) fn reads_follow_transaction_order(index: &HistoryIndex<'_>, t: u32) -> bool {
    let mut ordered = true;
    for_each_read_dependency(index, t, &mut |from, to, _| ordered &= from < to);
    ordered
}

/// Calls `edge(from, to, kind)` for every edge, in the same order each time.
fn for_each_edge(
    index: &HistoryIndex<'_>,
    times: &RealTimes,
    edge: &mut impl FnMut(u32, u32, EdgeKind),
) {
    for_each_dependency(index, edge);
    for_each_real_time_edge(index, times, edge);
    if times.session {
        for_each_session_edge(index, edge);
    }
}

/// Calls `edge(from, to, kind)` from each committed transaction to the next
/// committed one of its thread, in the order the history lists them.
fn for_each_session_edge(index: &HistoryIndex<'_>, edge: &mut impl FnMut(u32, u32, EdgeKind)) {
    let mut last_of_thread: rustc_hash::FxHashMap<u64, u32> = Default::default();
    for t in 0..index.len() as u32 {
        if index.committed(t) {
            if let Some(previous) = last_of_thread.insert(index.tx(t).thread, t) {
                edge(previous, t, EdgeKind::Session);
            }
        }
    }
}

/// Calls `edge(from, to, kind)` for every ww, wr and rw edge.
fn for_each_dependency(index: &HistoryIndex<'_>, edge: &mut impl FnMut(u32, u32, EdgeKind)) {
    for_each_write_dependency(index, edge);
    for t in 0..index.len() as u32 {
        if index.committed(t) {
            for_each_read_dependency(index, t, edge);
        }
    }
}

/// Calls `edge(from, to, kind)` for every ww edge: consecutive installed
/// versions of each key.
fn for_each_write_dependency(index: &HistoryIndex<'_>, edge: &mut impl FnMut(u32, u32, EdgeKind)) {
    for key_writes in index.writes_by_key() {
        let mut previous = NONE;
        for w in key_writes.iter().filter(|w| w.installed) {
            if previous != NONE && previous != w.tx {
                edge(previous, w.tx, EdgeKind::WriteWrite);
            }
            previous = w.tx;
        }
    }
}

/// Calls `edge(from, to, kind)` for the wr and rw edges of committed
/// transaction `t`'s reads. Reads of aborted or intermediate writes are
/// G1a/G1b, reported apart, and give no edge.
fn for_each_read_dependency(
    index: &HistoryIndex<'_>,
    t: u32,
    edge: &mut impl FnMut(u32, u32, EdgeKind),
) {
    for read in index.reads(t) {
        if !read.initial() {
            if read.writer == t || !read.installed {
                continue;
            }
            edge(read.writer, t, EdgeKind::WriteRead);
        }
        if read.overwriter != NONE && read.overwriter != t {
            edge(t, read.overwriter, EdgeKind::ReadWrite);
        }
    }
}

/// Calls `edge(from, to, kind)` for every real-time edge, through the chain
/// of time points (see the module docs).
fn for_each_real_time_edge(
    index: &HistoryIndex<'_>,
    times: &RealTimes,
    edge: &mut impl FnMut(u32, u32, EdgeKind),
) {
    let n = index.len() as u32;
    let (by_end, ends) = (&times.by_end, &times.ends);
    // How many transactions ended before `t` began: a pointer that only
    // moves forward while begins ascend along `by_end` (they do when
    // transactions are recorded in order), a binary search otherwise.
    let mut ended_before = 0usize;
    let mut previous_begin = 0u64;
    for (rank, &t) in by_end.iter().enumerate() {
        let point = n + rank as u32;
        edge(t, point, EdgeKind::RealTime);
        if rank + 1 < by_end.len() {
            edge(point, point + 1, EdgeKind::RealTime);
        }
        let begin = times.begins[rank];
        if begin < previous_begin {
            ended_before = ends.partition_point(|&end| end < begin);
        } else {
            while ended_before < ends.len() && ends[ended_before] < begin {
                ended_before += 1;
            }
        }
        previous_begin = begin;
        if ended_before > 0 {
            edge(n + ended_before as u32 - 1, t, EdgeKind::RealTime);
        }
    }
}
