//! The value check: a read returns the value its version holds (the value
//! of the write that created it, or the initial value for version 0).
//! Skipped for reads, writes and initial values recorded without a value.

use super::anomaly::{Anomaly, AnomalyClass};
use super::index::HistoryIndex;

/// The reads of transaction `t` whose value differs from their version's
/// value, added to `found`.
pub(crate) fn value_mismatches(index: &HistoryIndex<'_>, t: u32, found: &mut Vec<Anomaly>) {
    let reader = index.tx(t);
    for (read, resolved) in reader.reads.iter().zip(index.reads(t)) {
        let Some(seen) = &read.value else { continue };
        let (expected, writer) = if resolved.initial() {
            match index.initial_value(read.key) {
                Some(value) => (value, None),
                None => continue,
            }
        } else {
            let writer = index.tx(resolved.writer);
            match &writer.writes[resolved.write as usize].value {
                Some(value) => (value, Some(writer.id)),
                None => continue,
            }
        };
        if seen == expected {
            continue;
        }
        let (r, k, v) = (reader.id, read.key, read.version);
        // Built only for a mismatch: most reads match.
        let explanation = match writer {
                Some(id) => format!(
                    "T{r} read key {k} version {v} as {seen}, but T{id} wrote {expected} as that version"
                ),
                None => format!(
                    "T{r} read key {k} version {v} as {seen}, but the initial value is {expected}"
                ),
            };
        found.push(Anomaly {
            class: AnomalyClass::Value,
            pattern: None,
            transactions: std::iter::once(r).chain(writer).collect(),
            keys: vec![k],
            cycle: Vec::new(),
            shortest: None,
            most_severe: None,
            explanation: vec![explanation],
        });
    }
}
