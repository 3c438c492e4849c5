//! Opacity by its definition (Guerraoui and Kapalka) for aborted attempts:
//! each one, taken as a read-only transaction, must fit in one legal serial
//! order of the committed transactions that respects real-time order.
//!
//! An aborted attempt `A` fits exactly when adding it to the dependency
//! graph of the committed transactions makes no new cycle: when no path
//! leads from one of its successors (the overwriter of a version it read, a
//! committed transaction that began after it ended) to one of its
//! predecessors (the writer of a version it read, a committed transaction
//! that ended before it began). Attempts are independent (nobody reads an
//! aborted write legally), so each is checked alone.
//!
//! Linear for histories recorded in order: when the transactions' own
//! order is a topological order of the committed graph (the graph check's
//! fast path), `A` fits if its last predecessor comes before its first
//! successor in that order, found with two binary searches. Only attempts
//! that fail this test are searched for a path, breadth first, visiting
//! only nodes that can still lead to a predecessor (by topological rank of
//! the strongly connected components), within a budget of edge visits.

use super::anomaly::{Anomaly, AnomalyClass};
use super::cycles::{topological_ranks, FoundCycle, Hop};
use super::explain::cycle_anomaly;
use super::graph::{EdgeKind, Graph};
use super::index::{HistoryIndex, NONE};
use std::collections::VecDeque;

/// Edge visits the path searches of one history may spend in all.
const PATH_BUDGET: u64 = 20_000_000;

/// Which aborted attempts pass the order test, when the transactions'
/// order is a topological order of the committed graph (real time
/// included): those that do not pass need the path search.
pub(crate) fn failing_order_test(
    index: &HistoryIndex<'_>,
    attempts: &[u32],
    session: bool,
) -> Vec<u32> {
    if attempts.is_empty() {
        return Vec::new();
    }
    let neighbours = session.then(|| ThreadNeighbours::of(index));
    // Committed transactions are listed in order of `end` on this path.
    let committed: Vec<u32> = (0..index.len() as u32)
        .filter(|&t| index.committed(t))
        .collect();
    let ends: Vec<u64> = committed.iter().map(|&t| index.tx(t).end).collect();
    // The first committed transaction (in list order) that began after a
    // time is found on the running maximum of begins, which ascends.
    let mut begun_by = Vec::with_capacity(committed.len());
    let mut latest = 0u64;
    for &t in &committed {
        latest = latest.max(index.tx(t).begin);
        begun_by.push(latest);
    }
    attempts
        .iter()
        .copied()
        .filter(|&a| {
            let tx = index.tx(a);
            let ended_before = ends.partition_point(|&end| end < tx.begin);
            let mut last_pred = ended_before
                .checked_sub(1)
                .map_or(-1, |r| committed[r] as i64);
            let began_after = begun_by.partition_point(|&begin| begin <= tx.end);
            let mut first_succ = committed.get(began_after).map_or(i64::MAX, |&t| t as i64);
            if let Some(n) = &neighbours {
                if n.before[a as usize] != NONE {
                    last_pred = last_pred.max(n.before[a as usize] as i64);
                }
                if n.after[a as usize] != NONE {
                    first_succ = first_succ.min(n.after[a as usize] as i64);
                }
            }
            for read in index.reads(a) {
                if !read.initial() && read.writer != a {
                    last_pred = last_pred.max(read.writer as i64);
                }
                if read.overwritten() {
                    first_succ = first_succ.min(read.overwriter as i64);
                }
            }
            last_pred >= first_succ
        })
        .collect()
}

/// For each transaction, the committed transactions of its thread just
/// before and just after it in the history's order ([`NONE`] if none):
/// its program-order neighbours, when program order is checked.
struct ThreadNeighbours {
    before: Vec<u32>,
    after: Vec<u32>,
}

impl ThreadNeighbours {
    fn of(index: &HistoryIndex<'_>) -> ThreadNeighbours {
        let n = index.len();
        let (mut before, mut after) = (vec![NONE; n], vec![NONE; n]);
        let mut last: rustc_hash::FxHashMap<u64, u32> = Default::default();
        for t in 0..n as u32 {
            let thread = index.tx(t).thread;
            before[t as usize] = last.get(&thread).copied().unwrap_or(NONE);
            if index.committed(t) {
                last.insert(thread, t);
            }
        }
        last.clear();
        for t in (0..n as u32).rev() {
            let thread = index.tx(t).thread;
            after[t as usize] = last.get(&thread).copied().unwrap_or(NONE);
            if index.committed(t) {
                last.insert(thread, t);
            }
        }
        ThreadNeighbours { before, after }
    }
}

/// The path search over the committed graph, shared by the attempts of one
/// history.
pub(crate) struct PathSearch<'g> {
    graph: &'g Graph,
    rank: Vec<u32>,
    /// Committed transactions by `begin`: `(begin, index)`.
    by_begin: Vec<(u64, u32)>,
    stamp: Vec<u32>,
    target_stamp: Vec<u32>,
    current: u32,
    parent: Vec<u32>,
    queue: VecDeque<u32>,
    budget: u64,
    /// Program-order neighbours, when program order is checked.
    neighbours: Option<ThreadNeighbours>,
}

/// What the search decided for one attempt.
pub(crate) enum Verdict {
    /// It fits in a serial order.
    Fits,
    /// It does not: the cycle it closes.
    Violation(Anomaly),
    /// The budget ran out before the search could tell.
    Undecided,
}

impl<'g> PathSearch<'g> {
    pub fn new(index: &HistoryIndex<'_>, graph: &'g Graph) -> Self {
        let n = graph.node_count();
        let mut by_begin: Vec<(u64, u32)> = graph
            .times
            .by_end
            .iter()
            .map(|&t| (index.tx(t).begin, t))
            .collect();
        by_begin.sort_unstable();
        PathSearch {
            graph,
            rank: topological_ranks(graph),
            by_begin,
            stamp: vec![0; n],
            target_stamp: vec![0; n],
            current: 0,
            parent: vec![NONE; n],
            queue: VecDeque::new(),
            budget: PATH_BUDGET,
            neighbours: graph.times.session.then(|| ThreadNeighbours::of(index)),
        }
    }

    /// Whether aborted attempt `a` fits in a serial order of the committed
    /// transactions; when it does not, the anomaly explains why.
    pub fn check(&mut self, index: &HistoryIndex<'_>, a: u32) -> Verdict {
        let graph = self.graph;
        let times = &graph.times;
        let n_tx = index.len() as u32;
        let tx = index.tx(a);
        self.current += 1;
        let current = self.current;
        // Predecessors: writers of what it read, and the time point of the
        // last commit before it began (every transaction that ended before
        // it began reaches that point).
        let mut max_rank = 0u32;
        let mut any_target = false;
        let mut mark = |node: u32, this: &mut Self| {
            this.target_stamp[node as usize] = current;
            max_rank = max_rank.max(this.rank[node as usize]);
            any_target = true;
        };
        for read in index.reads(a) {
            if !read.initial() && read.writer != a && read.installed {
                mark(read.writer, self);
            }
        }
        let ended_before = times.ends.partition_point(|&end| end < tx.begin);
        if ended_before > 0 {
            mark(n_tx + ended_before as u32 - 1, self);
        }
        let before = self
            .neighbours
            .as_ref()
            .map_or(NONE, |n| n.before[a as usize]);
        if before != NONE {
            mark(before, self);
        }
        if !any_target {
            return Verdict::Fits;
        }
        // Successors: overwriters of what it read, the time point of the
        // first commit after it ended (which reaches every transaction that
        // began after that commit), and the transactions that began between
        // its end and that commit.
        self.queue.clear();
        let mut starts: Vec<u32> = index
            .reads(a)
            .iter()
            .filter(|r| r.overwritten())
            .map(|r| r.overwriter)
            .collect();
        let next_end = times.ends.partition_point(|&end| end <= tx.end);
        if let Some(&until) = times.ends.get(next_end) {
            starts.push(n_tx + next_end as u32);
            let from = self.by_begin.partition_point(|&(b, _)| b <= tx.end);
            let to = self.by_begin.partition_point(|&(b, _)| b <= until);
            starts.extend(self.by_begin[from..to].iter().map(|&(_, t)| t));
        }
        if let Some(n) = &self.neighbours {
            starts.extend((n.after[a as usize] != NONE).then_some(n.after[a as usize]));
        }
        for s in starts {
            if self.enter(s, NONE, max_rank) {
                return Verdict::Violation(self.explain(index, a, s));
            }
        }
        while let Some(u) = self.queue.pop_front() {
            for (v, _) in graph.edges(u) {
                if self.budget == 0 {
                    return Verdict::Undecided;
                }
                self.budget -= 1;
                if self.enter(v, u, max_rank) {
                    return Verdict::Violation(self.explain(index, a, v));
                }
            }
        }
        Verdict::Fits
    }

    /// Reaches `v` from `parent` (`NONE` for a start) in the current
    /// search: whether it is a predecessor, which closes a cycle. Nodes
    /// seen already, or ranked past every predecessor, are not entered.
    fn enter(&mut self, v: u32, parent: u32, max_rank: u32) -> bool {
        let current = self.current;
        if self.stamp[v as usize] == current || self.rank[v as usize] > max_rank {
            return false;
        }
        self.stamp[v as usize] = current;
        self.parent[v as usize] = parent;
        if self.target_stamp[v as usize] == current {
            return true;
        }
        self.queue.push_back(v);
        false
    }

    /// The cycle `a -> path -> a` that the path ending at `found` closes, as
    /// an opacity anomaly explained edge by edge.
    fn explain(&self, index: &HistoryIndex<'_>, a: u32, found: u32) -> Anomaly {
        let mut path = vec![found];
        let mut node = found;
        while self.parent[node as usize] != NONE {
            node = self.parent[node as usize];
            path.push(node);
        }
        path.reverse();
        // Transactions on the path, each with whether it directly follows
        // the previous one (rather than through time points).
        let mut hops = Vec::new();
        let mut previous = a;
        let mut direct = false;
        for &v in &path {
            if self.graph.is_time_point(v) {
                direct = false;
                continue;
            }
            let kind = if previous == a {
                self.first_kind(index, a, v)
            } else if direct {
                self.graph
                    .edges(previous)
                    .filter(|&(w, _)| w == v)
                    .map(|(_, kind)| kind)
                    .min()
                    .unwrap_or(EdgeKind::RealTime)
            } else {
                EdgeKind::RealTime
            };
            hops.push(Hop {
                from: previous,
                to: v,
                kind,
            });
            previous = v;
            direct = true;
        }
        let reads_last = index
            .reads(a)
            .iter()
            .any(|r| !r.initial() && r.writer == previous && r.installed);
        let session_before = self
            .neighbours
            .as_ref()
            .is_some_and(|n| n.before[a as usize] == previous);
        hops.push(Hop {
            from: previous,
            to: a,
            kind: if reads_last {
                EdgeKind::WriteRead
            } else if session_before {
                EdgeKind::Session
            } else {
                EdgeKind::RealTime
            },
        });
        let cycle = FoundCycle {
            hops,
            shortest: false,
            real_time: false,
            most_severe: true,
        };
        let mut anomaly = cycle_anomaly(index, &cycle);
        let me = index.tx(a).id;
        anomaly.class = AnomalyClass::Opacity;
        anomaly.shortest = None;
        anomaly.most_severe = None;
        anomaly.explanation.insert(
            0,
            format!(
                "T{me} (aborted) fits in no serial order of the committed transactions that respects real time:"
            ),
        );
        anomaly
    }

    /// Why aborted attempt `a` precedes the first transaction `v` of the
    /// path: `v` overwrote a version `a` read, or began after `a` ended.
    fn first_kind(&self, index: &HistoryIndex<'_>, a: u32, v: u32) -> EdgeKind {
        if index.reads(a).iter().any(|r| r.overwriter == v) {
            EdgeKind::ReadWrite
        } else if self
            .neighbours
            .as_ref()
            .is_some_and(|n| n.after[a as usize] == v)
        {
            EdgeKind::Session
        } else {
            EdgeKind::RealTime
        }
    }
}
