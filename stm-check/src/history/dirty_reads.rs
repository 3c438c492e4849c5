//! G1a and G1b: committed transactions that read a write which was never
//! installed (written by an aborted attempt, or overwritten later by its own
//! transaction). These need no cycle: one read is the whole evidence.

use super::anomaly::{Anomaly, AnomalyClass};
use super::index::HistoryIndex;

/// The G1a and G1b reads of transaction `t`, added to `found`.
pub(crate) fn dirty_reads(index: &HistoryIndex<'_>, t: u32, found: &mut Vec<Anomaly>) {
    if !index.committed(t) {
        return; // aborted readers are the opacity check's business
    }
    let reader = index.tx(t);
    for (read, resolved) in reader.reads.iter().zip(index.reads(t)) {
        if resolved.initial() || resolved.writer == t || resolved.installed {
            continue;
        }
        let writer = index.tx(resolved.writer);
        let (r, k, v) = (reader.id, read.key, read.version);
        let (class, explanation) = if !index.committed(resolved.writer) {
            (
                AnomalyClass::G1a,
                format!(
                    "T{r} read key {k} version {v} written by T{}, which aborted",
                    writer.id
                ),
            )
        } else {
            let last = writer
                .writes
                .iter()
                .rev()
                .find(|later| later.key == k)
                .map_or(0, |later| later.version);
            (
                    AnomalyClass::G1b,
                    format!(
                        "T{r} read key {k} version {v}, an intermediate write of T{}, which later wrote key {k} again (version {last})",
                        writer.id
                    ),
                )
        };
        found.push(Anomaly {
            class,
            pattern: None,
            transactions: vec![r, writer.id],
            keys: vec![k],
            cycle: Vec::new(),
            shortest: None,
            most_severe: None,
            explanation: vec![explanation],
        });
    }
}
