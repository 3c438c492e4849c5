//! Graphviz rendering of the anomalies of a report: one cluster per
//! anomaly, a node per transaction, an edge per dependency labelled with its
//! kind, key and versions.

use super::anomaly::{Anomaly, Witness};
use super::report::Report;
use super::v2::Names;
use std::fmt::Write;

/// The report as a Graphviz `digraph` (render with `dot -Tsvg`).
///
/// Cycles are drawn edge by edge; G1a/G1b reads as a dashed edge from the
/// writer to the reader; other anomalies as their transactions with the
/// explanation as the cluster's label. A valid history gives an empty graph.
///
/// ```
/// use stm_check::history::{render_dot, Report};
///
/// let report = Report {
///     transactions: 0,
///     committed: 0,
///     anomalies: Vec::new(),
///     notes: Vec::new(),
///     real_time: true,
///     names: Default::default(),
///     session: false,
/// };
/// assert!(render_dot(&report).starts_with("digraph history {"));
/// ```
pub fn render_dot(report: &Report) -> String {
    let mut out = String::from("digraph history {\n  rankdir=LR;\n  node [shape=box];\n");
    if report.anomalies.is_empty() {
        out.push_str("  label=\"no anomalies\";\n");
    }
    for (i, anomaly) in report.anomalies.iter().enumerate() {
        cluster(&mut out, i, anomaly, &report.names);
    }
    out.push_str("}\n");
    out
}

/// One anomaly as a cluster; labels spell the document's names, node ids
/// keep the numbers.
fn cluster(out: &mut String, i: usize, anomaly: &Anomaly, names: &Names) {
    let escape = |text: &str| escape(&names.rewrite(text));
    // Writing to a String cannot fail.
    let _ = writeln!(out, "  subgraph cluster_{i} {{");
    let _ = writeln!(out, "    label=\"{}\";", escape(&anomaly.title()));
    for t in &anomaly.transactions {
        let _ = writeln!(
            out,
            "    a{i}_t{t} [label=\"{}\"];",
            escape(&format!("T{t}"))
        );
    }
    for d in &anomaly.cycle {
        let label = match d.witness {
            Witness::WriteWrite {
                key,
                overwritten,
                written,
            } => format!("ww key {key}: v{overwritten} -> v{written}"),
            Witness::WriteRead { key, version } => format!("wr key {key} v{version}"),
            Witness::ReadWrite { key, read, written } => {
                format!("rw key {key}: read v{read}, overwritten by v{written}")
            }
            Witness::RealTime { end, begin } => format!("rt: end {end} < begin {begin}"),
            Witness::Session { thread } => format!("program order, thread {thread}"),
        };
        let _ = writeln!(
            out,
            "    a{i}_t{} -> a{i}_t{} [label=\"{}\"];",
            d.from,
            d.to,
            escape(&label)
        );
    }
    if anomaly.cycle.is_empty() {
        if let [reader, writer] = anomaly.transactions[..] {
            let _ = writeln!(
                out,
                "    a{i}_t{writer} -> a{i}_t{reader} [style=dashed, label=\"{}\"];",
                escape(&anomaly.explanation.join("\\n"))
            );
        } else {
            let _ = writeln!(
                out,
                "    a{i}_note [shape=note, label=\"{}\"];",
                escape(&anomaly.explanation.join("\\n"))
            );
        }
    }
    out.push_str("  }\n");
}

/// Escapes a DOT string literal, keeping `\n` line breaks.
fn escape(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace("\\\\n", "\\n")
        .replace('"', "\\\"")
}
