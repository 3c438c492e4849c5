//! The commute check: a commuted write (`tx.commute`) must have been
//! applied to the version of its key that it directly overwrites.
//!
//! A commute is a write that did not read: the engine applies the update,
//! at commit, to the key's value current then. So it creates ww order (it
//! overwrites the version before it) but no read dependency, and nothing
//! the transaction observed depends on it: the cycle search rightly leaves
//! it out of wr and rw edges. What a correct engine guarantees is that the
//! update's input, its *base*, is exactly the installed version right before
//! the write's own in the key's version order. When the recorder says which
//! version that was (`commuted.version`), this check holds it to that:
//!
//! * a base older than that version means the update was applied to a
//!   stale value and the writes in between were lost: the base counts as a
//!   read at commit, whose rw edge to the next writer closes a cycle with
//!   the ww edges back to the commit (G-single; a lost update when two
//!   transactions are involved);
//! * a base newer than the write's own version closes a wr-then-ww cycle
//!   (G1c); a base written by an aborted attempt, or overwritten within its
//!   own transaction, is G1a or G1b;
//! * with values recorded, the base's value must be the value of the base
//!   version (a value anomaly otherwise).
//!
//! What it cannot see: whether the update itself was computed correctly
//! (the function is not recorded, so a commute applied twice, or to a
//! right base with a wrong result, passes); anything about a commute whose
//! base version is not recorded (`"commuted": {}`); and without recorded
//! values, only the versions are compared.

use super::anomaly::{Anomaly, AnomalyClass, Dependency, Pattern, Witness};
use super::index::HistoryIndex;

/// The anomalies of the commuted writes of transaction `t`, added to
/// `found`. Only committed transactions' installed (final) commuted writes
/// were applied to anything.
pub(crate) fn commute_anomalies(index: &HistoryIndex<'_>, t: u32, found: &mut Vec<Anomaly>) {
    if !index.committed(t) {
        return;
    }
    let tx = index.tx(t);
    for w in &tx.writes {
        let Some(commuted) = &w.commuted else {
            continue;
        };
        let Some(base) = commuted.version else {
            continue;
        };
        let Some(p) = index.write_at(w.key, w.version) else {
            continue;
        };
        if !index.writes[p as usize].installed {
            continue;
        }
        let previous = index.previous_installed(w.key, p);
        let previous_version = previous.map_or(0, |q| index.writes[q as usize].version);
        let anomaly = if base == previous_version {
            value_mismatch(index, t, w.key, w.version, base, commuted.value.as_ref())
        } else if base == 0 {
            Some(stale(index, t, w.key, None, p))
        } else {
            let b = index
                .write_at(w.key, base)
                .expect("validated when indexing");
            let entry = index.writes[b as usize];
            if !entry.installed {
                Some(dirty(index, t, w.key, w.version, base, entry.tx))
            } else if base < w.version {
                Some(stale(index, t, w.key, Some(b), p))
            } else {
                Some(from_the_future(index, t, w.key, p, b))
            }
        };
        found.extend(anomaly);
    }
}

/// The chain of ww dependencies from the installed write at `from` to the
/// one at `to` (positions in the index, same key, `from` before `to`).
fn ww_chain(index: &HistoryIndex<'_>, key: u64, from: u32, to: u32) -> Vec<Dependency> {
    let mut chain = Vec::new();
    let mut at = from;
    while at != to {
        let next = index
            .next_installed(key, at)
            .expect("`to` is installed after `from`");
        let (a, b) = (index.writes[at as usize], index.writes[next as usize]);
        chain.push(Dependency {
            from: index.tx(a.tx).id,
            to: index.tx(b.tx).id,
            witness: Witness::WriteWrite {
                key,
                overwritten: a.version,
                written: b.version,
            },
        });
        at = next;
    }
    chain
}

/// A cycle's anomaly, its explanation made of `lines`.
fn cycle(class: AnomalyClass, key: u64, cycle: Vec<Dependency>, mut lines: Vec<String>) -> Anomaly {
    if let Some(last) = lines.last_mut() {
        last.push_str(": a contradiction");
    }
    let pattern =
        (class == AnomalyClass::GSingle && cycle.len() == 2).then_some(Pattern::LostUpdate);
    Anomaly {
        class,
        pattern,
        transactions: cycle.iter().map(|d| d.from).collect(),
        keys: vec![key],
        cycle,
        shortest: None,
        most_severe: None,
        explanation: lines,
    }
}

/// Commuted write `p` of transaction `t` was applied to an installed
/// version (`base`, or the initial value) older than the one it overwrote.
fn stale(index: &HistoryIndex<'_>, t: u32, key: u64, base: Option<u32>, p: u32) -> Anomaly {
    let me = index.tx(t).id;
    let base_version = base.map_or(0, |b| index.writes[b as usize].version);
    let next = match base {
        Some(b) => index.next_installed(key, b),
        None => index.first_installed(key),
    }
    .expect("a version is installed between the base and the write");
    let overwriter = index.writes[next as usize];
    let mut deps = vec![Dependency {
        from: me,
        to: index.tx(overwriter.tx).id,
        witness: Witness::ReadWrite {
            key,
            read: base_version,
            written: overwriter.version,
        },
    }];
    deps.extend(ww_chain(index, key, next, p));
    let mut lines = vec![format!(
        "T{me} < T{} because T{me}'s commute of key {key} was applied to version {base_version}, which T{} overwrote (with version {})",
        deps[0].to, deps[0].to, overwriter.version
    )];
    lines.extend(deps[1..].iter().map(Dependency::to_string));
    cycle(AnomalyClass::GSingle, key, deps, lines)
}

/// Commuted write `p` of transaction `t` was applied to version `b`,
/// installed after the write's own version.
fn from_the_future(index: &HistoryIndex<'_>, t: u32, key: u64, p: u32, b: u32) -> Anomaly {
    let me = index.tx(t).id;
    let base = index.writes[b as usize];
    let writer = index.tx(base.tx).id;
    let mut deps = vec![Dependency {
        from: writer,
        to: me,
        witness: Witness::WriteRead {
            key,
            version: base.version,
        },
    }];
    deps.extend(ww_chain(index, key, p, b));
    let mut lines = vec![format!(
        "T{writer} < T{me} because T{me}'s commute of key {key} was applied to version {} written by T{writer}",
        base.version
    )];
    lines.extend(deps[1..].iter().map(Dependency::to_string));
    cycle(AnomalyClass::G1c, key, deps, lines)
}

/// Commuted write of transaction `t` applied to a version `base` that was
/// never installed: written by an aborted attempt (G1a), or an
/// intermediate write of its transaction (G1b).
fn dirty(
    index: &HistoryIndex<'_>,
    t: u32,
    key: u64,
    version: u64,
    base: u64,
    writer: u32,
) -> Anomaly {
    let (me, them) = (index.tx(t).id, index.tx(writer).id);
    let (class, why) = if index.committed(writer) {
        (
            AnomalyClass::G1b,
            "an intermediate write it later overwrote",
        )
    } else {
        (AnomalyClass::G1a, "which aborted")
    };
    Anomaly {
        class,
        pattern: None,
        transactions: vec![me, them],
        keys: vec![key],
        cycle: Vec::new(),
        shortest: None,
        most_severe: None,
        explanation: vec![format!(
            "T{me}'s commute of key {key} (version {version}) was applied to version {base} written by T{them}, {why}"
        )],
    }
}

/// The base value recorded for a commute of transaction `t` applied to the
/// right version, if it differs from that version's value.
fn value_mismatch(
    index: &HistoryIndex<'_>,
    t: u32,
    key: u64,
    version: u64,
    base: u64,
    seen: Option<&serde_json::Value>,
) -> Option<Anomaly> {
    let seen = seen?;
    let (expected, writer) = if base == 0 {
        (index.initial_value(key)?, None)
    } else {
        let entry = index.writes[index.write_at(key, base)? as usize];
        let writer = index.tx(entry.tx);
        (
            writer.writes[entry.write as usize].value.as_ref()?,
            Some(writer.id),
        )
    };
    if seen == expected {
        return None;
    }
    let me = index.tx(t).id;
    let origin = match writer {
        Some(id) => format!("T{id} wrote {expected} as that version"),
        None => format!("the initial value is {expected}"),
    };
    Some(Anomaly {
        class: AnomalyClass::Value,
        pattern: None,
        transactions: std::iter::once(me).chain(writer).collect(),
        keys: vec![key],
        cycle: Vec::new(),
        shortest: None,
        most_severe: None,
        explanation: vec![format!(
            "T{me}'s commute of key {key} (version {version}) was applied to version {base} as {seen}, but {origin}"
        )],
    })
}
