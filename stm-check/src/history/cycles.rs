//! Finds cycles in the dependency graph: Tarjan's strongly connected
//! components, then a breadth-first search inside each component for a
//! short cycle, as Elle does.
//!
//! Each component is searched in layers so that the most severe anomaly is
//! reported: first a cycle of ww edges only (G0), then of ww and wr edges
//! (G1c), then one with a single rw edge (G-single), then any (G2-item).
//! Components that only close through real-time order are searched last.
//! The searches share a budget of edge visits so a huge component cannot
//! make the check quadratic; a cycle found after the budget ran out is short
//! but not proven shortest. G0 and G1c are found exactly whatever the
//! budget (each is a cycle of a subgraph's strongly connected component),
//! and so is every two-transaction G-single (one scan of the rw edges);
//! only a longer G-single can be missed when the budget runs out, and then
//! the cycle reported says that its class may be understated.

use super::graph::{EdgeKind, Graph, KindSet};
use super::index::NONE;
use std::collections::VecDeque;

/// Edge visits the breadth-first searches may spend beyond the first search
/// of each component (which always completes), unless the checker is told
/// otherwise.
pub(crate) const SEARCH_BUDGET: u64 = 20_000_000;

/// One step of a cycle, between two transactions (by index).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Hop {
    pub from: u32,
    pub to: u32,
    pub kind: EdgeKind,
}

/// A cycle of transactions, `hops[i].to == hops[i + 1].from`, closing at
/// the start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FoundCycle {
    pub hops: Vec<Hop>,
    /// Whether no shorter cycle of its layer exists in its component.
    pub shortest: bool,
    /// Whether it needs real-time order (no cycle of the DSG alone).
    pub real_time: bool,
    /// Whether its class is proven the most severe of its component; false
    /// when the budget ran out before a G-single could be ruled out.
    pub most_severe: bool,
}

/// Every cycle worth reporting: at most one per strongly connected
/// component, the most severe one found in it.
pub(crate) fn find_cycles(graph: &Graph, budget: u64) -> Vec<FoundCycle> {
    if is_acyclic(graph) {
        return Vec::new(); // what Tarjan would find, for less work
    }
    let all_nodes = 0..graph.node_count() as u32;
    let full = tarjan(graph, all_nodes, |_, _, _| true);
    if full.nontrivial.is_empty() {
        return Vec::new();
    }
    let mut search = Search::new(graph, budget);
    let mut found = Vec::new();

    let in_full = full.nontrivial.iter().flatten().copied();
    let dsg = tarjan(graph, in_full, |_, _, kind| KindSet::DSG.contains(kind));
    let mut explained = vec![false; dsg.nontrivial.len()];
    for layer in [KindSet::WW, KindSet::WW_WR] {
        let roots = dsg
            .nontrivial
            .iter()
            .zip(&explained)
            .filter(|(_, &done)| !done)
            .flat_map(|(nodes, _)| nodes.iter().copied());
        let sub = tarjan(graph, roots, |u, v, kind| {
            layer.contains(kind) && dsg.component[u as usize] == dsg.component[v as usize]
        });
        for nodes in &sub.nontrivial {
            let id = dsg.component[nodes[0] as usize];
            let outer = dsg.nontrivial_index(id);
            if explained[outer] {
                continue;
            }
            explained[outer] = true;
            let component = sub.component[nodes[0] as usize];
            found.push(search.shortest_cycle(nodes, |_, v, kind| {
                layer.contains(kind) && sub.component[v as usize] == component
            }));
        }
    }
    for (nodes, &done) in dsg.nontrivial.iter().zip(&explained) {
        if done {
            continue;
        }
        let id = dsg.component[nodes[0] as usize];
        let cycle = match search.single_read_write_cycle(nodes, &dsg.component, id) {
            SingleReadWrite::Found(cycle) => cycle,
            none => {
                let mut cycle = search.shortest_cycle(nodes, |_, v, kind| {
                    KindSet::DSG.contains(kind) && dsg.component[v as usize] == id
                });
                // Any cycle with one rw edge is a G-single, the most severe
                // class left; with two or more, it is proven only when the
                // search for a G-single ran to its end.
                let read_writes = cycle
                    .hops
                    .iter()
                    .filter(|h| h.kind == EdgeKind::ReadWrite)
                    .count();
                cycle.most_severe = read_writes <= 1 || matches!(none, SingleReadWrite::None);
                cycle
            }
        };
        found.push(cycle);
    }

    // Components that are cycles only with real-time order, and hold no
    // DSG cycle already reported.
    for nodes in &full.nontrivial {
        if nodes
            .iter()
            .any(|&v| dsg.component[v as usize] != NONE && dsg.is_nontrivial(v))
        {
            continue;
        }
        let id = full.component[nodes[0] as usize];
        let mut cycle = search.shortest_cycle(nodes, |_, v, _| full.component[v as usize] == id);
        cycle.real_time = true;
        found.push(cycle);
    }
    found
}

/// A rank per node such that every edge goes from a rank to the same or a
/// higher one, equal exactly within a strongly connected component: the
/// components in topological order. Tarjan's algorithm completes sinks
/// first, so a component's rank is its number counted from the end.
pub(crate) fn topological_ranks(graph: &Graph) -> Vec<u32> {
    let all_nodes = 0..graph.node_count() as u32;
    let components = tarjan(graph, all_nodes, |_, _, _| true);
    let count = components.nontrivial_of.len() as u32;
    components
        .component
        .iter()
        .map(|&c| count - 1 - c)
        .collect()
}

/// Whether the graph has no cycle: Kahn's peeling of nodes without
/// incoming edges, which removes every node exactly when there is none.
/// Valid histories are the common case, and this is several times cheaper
/// than Tarjan's search (two small arrays, no stacks).
fn is_acyclic(graph: &Graph) -> bool {
    let n = graph.node_count();
    let mut incoming = vec![0u32; n];
    for target in graph.targets() {
        incoming[target as usize] += 1;
    }
    let mut peeled: Vec<u32> = Vec::with_capacity(n);
    peeled.extend((0..n as u32).filter(|&v| incoming[v as usize] == 0));
    let mut next = 0;
    while let Some(&v) = peeled.get(next) {
        next += 1;
        for position in graph.edge_positions(v) {
            let (w, _) = graph.edge(position);
            incoming[w as usize] -= 1;
            if incoming[w as usize] == 0 {
                peeled.push(w);
            }
        }
    }
    peeled.len() == n
}

/// Strongly connected components of the subgraph reached from `roots`
/// through the edges `allow` accepts.
struct Components {
    /// Component id per node; [`NONE`] for nodes not reached.
    component: Vec<u32>,
    /// Members of each component with at least two nodes.
    nontrivial: Vec<Vec<u32>>,
    /// Position in `nontrivial` per component id, [`NONE`] when trivial.
    nontrivial_of: Vec<u32>,
}

impl Components {
    fn nontrivial_index(&self, id: u32) -> usize {
        self.nontrivial_of[id as usize] as usize
    }

    fn is_nontrivial(&self, node: u32) -> bool {
        self.nontrivial_of[self.component[node as usize] as usize] != NONE
    }
}

/// Tarjan's algorithm, iterative (histories have millions of nodes; the
/// recursive form would overflow the stack).
fn tarjan(
    graph: &Graph,
    roots: impl Iterator<Item = u32>,
    allow: impl Fn(u32, u32, EdgeKind) -> bool,
) -> Components {
    let n = graph.node_count();
    let mut order = vec![NONE; n];
    let mut low = vec![0u32; n];
    let mut on_stack = vec![false; n];
    let mut component = vec![NONE; n];
    let mut stack = Vec::new();
    // Each frame: a node and the position of its next edge to look at.
    let mut calls: Vec<(u32, usize)> = Vec::new();
    let mut next_order = 0u32;
    let mut next_component = 0u32;
    let mut nontrivial = Vec::new();
    let mut nontrivial_of = Vec::new();

    for root in roots {
        if order[root as usize] != NONE {
            continue;
        }
        order[root as usize] = next_order;
        low[root as usize] = next_order;
        next_order += 1;
        stack.push(root);
        on_stack[root as usize] = true;
        calls.push((root, graph.edge_positions(root).start));
        while let Some(&mut (v, ref mut position)) = calls.last_mut() {
            let end = graph.edge_positions(v).end;
            if *position < end {
                let (w, kind) = graph.edge(*position);
                *position += 1;
                if !allow(v, w, kind) {
                    continue;
                }
                if order[w as usize] == NONE {
                    order[w as usize] = next_order;
                    low[w as usize] = next_order;
                    next_order += 1;
                    stack.push(w);
                    on_stack[w as usize] = true;
                    calls.push((w, graph.edge_positions(w).start));
                } else if on_stack[w as usize] {
                    low[v as usize] = low[v as usize].min(order[w as usize]);
                }
                continue;
            }
            calls.pop();
            if let Some((parent, _)) = calls.last() {
                low[*parent as usize] = low[*parent as usize].min(low[v as usize]);
            }
            if low[v as usize] == order[v as usize] {
                let mut members = Vec::new();
                loop {
                    let w = stack.pop().expect("v is on the stack");
                    on_stack[w as usize] = false;
                    component[w as usize] = next_component;
                    members.push(w);
                    if w == v {
                        break;
                    }
                }
                if members.len() > 1 {
                    nontrivial_of.push(nontrivial.len() as u32);
                    members.reverse();
                    nontrivial.push(members);
                } else {
                    nontrivial_of.push(NONE);
                }
                next_component += 1;
            }
        }
    }
    Components {
        component,
        nontrivial,
        nontrivial_of,
    }
}

/// What the search for a G-single in one component found.
enum SingleReadWrite {
    /// A shortest such cycle (or the shortest found, see `shortest`).
    Found(FoundCycle),
    /// There is none.
    None,
    /// The budget ran out first: there may be one.
    OutOfBudget,
}

/// Breadth-first search state, reused across searches: a node's entries are
/// valid only when its stamp is the current one, so nothing is cleared.
struct Search<'g> {
    graph: &'g Graph,
    stamp: Vec<u32>,
    current: u32,
    cost: Vec<u32>,
    parent: Vec<u32>,
    queue: VecDeque<(u32, u32)>,
    budget: u64,
}

impl<'g> Search<'g> {
    fn new(graph: &'g Graph, budget: u64) -> Self {
        let n = graph.node_count();
        Search {
            graph,
            stamp: vec![0; n],
            current: 0,
            cost: vec![0; n],
            parent: vec![NONE; n],
            queue: VecDeque::new(),
            budget,
        }
    }

    /// The cheapest path from `from` to `target` through allowed edges,
    /// costing one per transaction entered (time points are free), as its
    /// nodes from `from` to `target`. With `target == from` it is the
    /// shortest cycle through `from`. Paths costing `limit` or more are not
    /// explored. A 0-1 breadth-first search: linear in the edges visited.
    fn cheapest_path(
        &mut self,
        from: u32,
        target: u32,
        limit: u32,
        allow: &impl Fn(u32, u32, EdgeKind) -> bool,
    ) -> Option<Vec<u32>> {
        self.current = self.current.wrapping_add(1);
        if self.current == 0 {
            self.stamp.fill(0);
            self.current = 1;
        }
        self.queue.clear();
        self.visit(from, 0, NONE);
        self.queue.push_back((from, 0));
        while let Some((u, cost)) = self.queue.pop_front() {
            if cost != self.cost[u as usize] || cost + 1 >= limit {
                continue;
            }
            for (v, kind) in self.graph.edges(u) {
                self.budget = self.budget.saturating_sub(1);
                if !allow(u, v, kind) {
                    continue;
                }
                if v == target {
                    // Costs come off the queue in order, so the first arrival
                    // is the cheapest.
                    let mut path = vec![target, u];
                    let mut node = u;
                    while node != from {
                        node = self.parent[node as usize];
                        path.push(node);
                    }
                    path.reverse();
                    return Some(path);
                }
                let step = u32::from(!self.graph.is_time_point(v));
                let next = cost + step;
                if next + 1 >= limit {
                    continue;
                }
                if self.stamp[v as usize] != self.current || next < self.cost[v as usize] {
                    self.visit(v, next, u);
                    if step == 0 {
                        self.queue.push_front((v, next));
                    } else {
                        self.queue.push_back((v, next));
                    }
                }
            }
        }
        None
    }

    fn visit(&mut self, node: u32, cost: u32, parent: u32) {
        self.stamp[node as usize] = self.current;
        self.cost[node as usize] = cost;
        self.parent[node as usize] = parent;
    }

    /// The shortest cycle through the transactions of a strongly connected
    /// component (`nodes`) whose edges `allow` accepts. Searches from every
    /// transaction while the budget lasts; the first search always runs.
    fn shortest_cycle(
        &mut self,
        nodes: &[u32],
        allow: impl Fn(u32, u32, EdgeKind) -> bool,
    ) -> FoundCycle {
        let mut best: Option<Vec<u32>> = None;
        let mut shortest = true;
        for &start in nodes.iter().filter(|&&v| !self.graph.is_time_point(v)) {
            let limit = match &best {
                Some(path) => self.cost_of(path),
                None => u32::MAX,
            };
            if limit <= 2 {
                break; // two transactions is the shortest cycle there is
            }
            if best.is_some() && self.budget == 0 {
                shortest = false;
                break;
            }
            if let Some(path) = self.cheapest_path(start, start, limit, &allow) {
                best = Some(path);
            }
        }
        let path = best.expect("a strongly connected component has a cycle");
        FoundCycle {
            hops: self.hops(&path, KindSet::ALL),
            shortest,
            real_time: false,
            most_severe: true,
        }
    }

    /// A shortest cycle with exactly one rw edge in a DSG component (`id`
    /// in `component`) without ww/wr cycles: for each rw edge `a -> b`, the
    /// shortest ww/wr path from `b` back to `a`. Two-transaction cycles (a
    /// direct ww or wr edge back) are looked for first, in one scan that
    /// the budget does not limit.
    fn single_read_write_cycle(
        &mut self,
        nodes: &[u32],
        component: &[u32],
        id: u32,
    ) -> SingleReadWrite {
        let in_layer =
            |v: u32, kind: EdgeKind| KindSet::WW_WR.contains(kind) && component[v as usize] == id;
        let graph = self.graph;
        for &a in nodes {
            for (b, kind) in graph.edges(a) {
                if kind == EdgeKind::ReadWrite
                    && component[b as usize] == id
                    && graph
                        .edges(b)
                        .any(|(back, kind)| back == a && in_layer(back, kind))
                {
                    return SingleReadWrite::Found(FoundCycle {
                        hops: self.hops(&[a, b, a], KindSet::DSG),
                        shortest: true,
                        real_time: false,
                        most_severe: true,
                    });
                }
            }
        }
        let allow = |_: u32, v: u32, kind: EdgeKind| in_layer(v, kind);
        let mut best: Option<Vec<u32>> = None;
        let mut shortest = true;
        'edges: for &a in nodes {
            for (b, kind) in graph.edges(a) {
                if kind != EdgeKind::ReadWrite || component[b as usize] != id {
                    continue;
                }
                let limit = best.as_ref().map_or(u32::MAX, |p| self.cost_of(p));
                if limit <= 3 {
                    break 'edges; // the two-transaction ones were ruled out
                }
                if self.budget == 0 {
                    shortest = false;
                    break 'edges;
                }
                // The path b .. a costs one per transaction after b; the
                // cycle a, b .. a costs one more.
                if let Some(path) = self.cheapest_path(b, a, limit.saturating_sub(1), &allow) {
                    let mut cycle = vec![a];
                    cycle.extend(path);
                    best = Some(cycle);
                }
            }
        }
        match best {
            Some(path) => SingleReadWrite::Found(FoundCycle {
                hops: self.hops(&path, KindSet::DSG),
                shortest,
                real_time: false,
                most_severe: true,
            }),
            None if shortest => SingleReadWrite::None,
            None => SingleReadWrite::OutOfBudget,
        }
    }

    /// Transactions on a closed path (first node == last node).
    fn cost_of(&self, path: &[u32]) -> u32 {
        path[1..]
            .iter()
            .filter(|&&v| !self.graph.is_time_point(v))
            .count() as u32
    }

    /// The hops between the transactions of a closed path: runs of time
    /// points become real-time hops, and each direct hop is labelled with
    /// the least severe kind of edge joining its ends (ww before wr before
    /// rw), which is the one that explains it best. `kinds` limits the labels
    /// (the single-rw layer must keep its one rw edge: it is the only edge
    /// between those two transactions in the layer).
    fn hops(&self, path: &[u32], kinds: KindSet) -> Vec<Hop> {
        let transactions: Vec<u32> = path
            .iter()
            .copied()
            .filter(|&v| !self.graph.is_time_point(v))
            .collect();
        transactions
            .windows(2)
            .map(|pair| {
                let (from, to) = (pair[0], pair[1]);
                let kind = self
                    .graph
                    .edges(from)
                    .filter(|&(v, kind)| v == to && kinds.contains(kind))
                    .map(|(_, kind)| kind)
                    .min()
                    .unwrap_or(EdgeKind::RealTime);
                Hop { from, to, kind }
            })
            .collect()
    }
}
