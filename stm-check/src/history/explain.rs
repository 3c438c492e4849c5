//! Turns a cycle of transaction indices into a reported anomaly: finds the
//! evidence for each edge (which key, which versions), classifies the cycle
//! by Adya's classes and names the classic pattern it matches.

use super::anomaly::{Anomaly, AnomalyClass, Dependency, Pattern, Witness};
use super::cycles::{FoundCycle, Hop};
use super::graph::EdgeKind;
use super::index::HistoryIndex;

/// The anomaly a cycle stands for.
pub(crate) fn cycle_anomaly(index: &HistoryIndex<'_>, cycle: &FoundCycle) -> Anomaly {
    let candidates: Vec<Vec<Witness>> = cycle.hops.iter().map(|h| witnesses(index, h)).collect();
    let (witnesses, pattern) = choose(&cycle.hops, &candidates);
    let read_writes = cycle
        .hops
        .iter()
        .filter(|h| h.kind == EdgeKind::ReadWrite)
        .count();
    let in_session = |kind| cycle.hops.iter().any(|h| h.kind == kind);
    let class = if cycle.real_time {
        if in_session(EdgeKind::Session) && !in_session(EdgeKind::RealTime) {
            AnomalyClass::Session
        } else {
            AnomalyClass::RealTime
        }
    } else if read_writes == 0 {
        if cycle.hops.iter().all(|h| h.kind == EdgeKind::WriteWrite) {
            AnomalyClass::G0
        } else {
            AnomalyClass::G1c
        }
    } else if read_writes == 1 {
        AnomalyClass::GSingle
    } else {
        AnomalyClass::G2Item
    };
    let id = |t: u32| index.tx(t).id;
    let dependencies: Vec<Dependency> = cycle
        .hops
        .iter()
        .zip(witnesses)
        .map(|(hop, witness)| Dependency {
            from: id(hop.from),
            to: id(hop.to),
            witness,
        })
        .collect();
    let mut explanation: Vec<String> = dependencies.iter().map(|d| d.to_string()).collect();
    if let Some(last) = explanation.last_mut() {
        last.push_str(": a contradiction");
    }
    if !cycle.most_severe {
        explanation.push(format!(
            "(the search budget ran out in this component before a cycle with a single rw edge could be ruled out: a G-single may exist here; rerun with a larger --search-budget or check a subset of these {} transactions to know)",
            cycle.hops.len()
        ));
    }
    let mut keys: Vec<u64> = dependencies
        .iter()
        .filter_map(|d| d.witness.key())
        .collect();
    keys.sort_unstable();
    keys.dedup();
    Anomaly {
        class,
        pattern: if cycle.real_time { None } else { pattern },
        transactions: cycle.hops.iter().map(|h| id(h.from)).collect(),
        keys,
        cycle: dependencies,
        shortest: Some(cycle.shortest),
        most_severe: Some(cycle.most_severe),
        explanation,
    }
}

/// One witness per hop, preferring, for two-transaction cycles, witnesses
/// that make up a classic pattern.
fn choose(hops: &[Hop], candidates: &[Vec<Witness>]) -> (Vec<Witness>, Option<Pattern>) {
    if let [first, second] = candidates {
        for a in first {
            for b in second {
                if let Some(pattern) = pattern(a, b) {
                    return (vec![*a, *b], Some(pattern));
                }
            }
        }
    }
    let chosen = hops
        .iter()
        .zip(candidates)
        .map(|(hop, c)| {
            c.first().copied().unwrap_or(Witness::RealTime {
                // Unreachable for a graph built from this index; keep the
                // report well-formed rather than panic.
                end: u64::from(hop.from),
                begin: u64::from(hop.to),
            })
        })
        .collect();
    (chosen, None)
}

/// The classic pattern of a two-edge cycle, if it is one.
fn pattern(a: &Witness, b: &Witness) -> Option<Pattern> {
    use Witness::{ReadWrite, WriteRead, WriteWrite};
    match (a, b) {
        (ReadWrite { key: x, .. }, WriteWrite { key: y, .. })
        | (WriteWrite { key: y, .. }, ReadWrite { key: x, .. })
            if x == y =>
        {
            Some(Pattern::LostUpdate)
        }
        (ReadWrite { key: x, .. }, WriteRead { key: y, .. })
        | (WriteRead { key: y, .. }, ReadWrite { key: x, .. })
            if x != y =>
        {
            Some(Pattern::ReadSkew)
        }
        (ReadWrite { key: x, .. }, ReadWrite { key: y, .. }) if x != y => Some(Pattern::WriteSkew),
        _ => None,
    }
}

/// Every piece of evidence for one hop.
fn witnesses(index: &HistoryIndex<'_>, hop: &Hop) -> Vec<Witness> {
    let (a, b) = (hop.from, hop.to);
    let (ta, tb) = (index.tx(a), index.tx(b));
    let mut found = Vec::new();
    match hop.kind {
        EdgeKind::WriteWrite => {
            for w in &ta.writes {
                let Some(p) = index.write_at(w.key, w.version) else {
                    continue;
                };
                if !index.writes[p as usize].installed {
                    continue;
                }
                if let Some(next) = index.next_installed(w.key, p) {
                    let next = &index.writes[next as usize];
                    if next.tx == b {
                        found.push(Witness::WriteWrite {
                            key: w.key,
                            overwritten: w.version,
                            written: next.version,
                        });
                    }
                }
            }
        }
        EdgeKind::WriteRead => {
            for (read, resolved) in tb.reads.iter().zip(index.reads(b)) {
                // `a` is a transaction, never NONE: the read is not initial.
                if resolved.writer == a && resolved.installed {
                    found.push(Witness::WriteRead {
                        key: read.key,
                        version: read.version,
                    });
                }
            }
        }
        EdgeKind::ReadWrite => {
            for (read, resolved) in ta.reads.iter().zip(index.reads(a)) {
                if !resolved.initial() && (resolved.writer == a || !resolved.installed) {
                    continue;
                }
                if resolved.overwritten() && resolved.overwriter == b {
                    found.push(Witness::ReadWrite {
                        key: read.key,
                        read: read.version,
                        written: resolved.next_version,
                    });
                }
            }
        }
        EdgeKind::RealTime => found.push(Witness::RealTime {
            end: ta.end,
            begin: tb.begin,
        }),
        EdgeKind::Session => found.push(Witness::Session { thread: ta.thread }),
    }
    found
}
