//! The value check: a read returns the value its version holds (the value
//! of the write that created it, or the initial value for version 0).
//! Skipped for reads, writes and initial values recorded without a value.

use super::anomaly::{Anomaly, AnomalyClass};
use super::index::{HistoryIndex, Source};

/// Every read whose value differs from its version's value.
pub(crate) fn value_mismatches(index: &HistoryIndex<'_>) -> Vec<Anomaly> {
    let mut found = Vec::new();
    for t in 0..index.len() as u32 {
        let reader = index.tx(t);
        for (read, &source) in reader.reads.iter().zip(index.read_sources(t)) {
            let Some(seen) = &read.value else { continue };
            let (expected, origin, writer) = match source {
                Source::Initial => match index.initial_value(read.key) {
                    Some(value) => (value, "the initial value".to_string(), None),
                    None => continue,
                },
                Source::Write(p) => {
                    let w = &index.writes[p as usize];
                    let writer = index.tx(w.tx);
                    match &writer.writes[w.write as usize].value {
                        Some(value) => (value, format!("T{} wrote", writer.id), Some(writer.id)),
                        None => continue,
                    }
                }
            };
            if seen == expected {
                continue;
            }
            let (r, k, v) = (reader.id, read.key, read.version);
            let explanation = match writer {
                Some(_) => format!(
                    "T{r} read key {k} version {v} as {seen}, but {origin} {expected} as that version"
                ),
                None => format!(
                    "T{r} read key {k} version {v} as {seen}, but {origin} is {expected}"
                ),
            };
            found.push(Anomaly {
                class: AnomalyClass::Value,
                pattern: None,
                transactions: std::iter::once(r).chain(writer).collect(),
                keys: vec![k],
                cycle: Vec::new(),
                shortest: None,
                explanation: vec![explanation],
            });
        }
    }
    found
}
