//! What the checker reports: anomalies, their classes, and the dependencies
//! that make up a cycle, each explained in plain words.

use serde::Serialize;
use std::fmt;

/// The kind of an anomaly: Adya's classes for committed transactions, then
/// the stronger properties (real-time order, opacity) and the value check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum AnomalyClass {
    /// A cycle of ww edges only: writes of two transactions interleave.
    G0,
    /// A committed transaction read a write of an aborted one.
    G1a,
    /// A committed transaction read an intermediate (not final) write of
    /// another transaction.
    G1b,
    /// A cycle of ww and wr edges with at least one wr.
    G1c,
    /// A cycle with exactly one rw (anti-dependency) edge.
    #[serde(rename = "G-single")]
    GSingle,
    /// A cycle with two or more rw edges.
    #[serde(rename = "G2-item")]
    G2Item,
    /// Reads of a list that no single order of appends explains (Elle's
    /// incompatible order; list-append histories only): one reader saw
    /// elements in an order, or a set, that another's list contradicts.
    #[serde(rename = "incompatible-order")]
    IncompatibleOrder,
    /// Committed transactions can be serialized, but not in an order that
    /// respects real time (`a.end < b.begin` forces `a` before `b`):
    /// strict serializability is violated.
    #[serde(rename = "real-time")]
    RealTime,
    /// Committed transactions can be serialized, but not in an order that
    /// keeps each thread's program order (histories without real time,
    /// where it is checked instead): strong session serializability is
    /// violated.
    #[serde(rename = "session")]
    Session,
    /// An attempt (aborted ones included) did not read one consistent
    /// snapshot: opacity is violated.
    #[serde(rename = "opacity")]
    Opacity,
    /// A read returned a value other than the one its version holds.
    #[serde(rename = "value")]
    Value,
}

impl AnomalyClass {
    /// The class's usual name: `G0`, `G-single`, `real-time`, ...
    pub fn name(self) -> &'static str {
        match self {
            AnomalyClass::G0 => "G0",
            AnomalyClass::G1a => "G1a",
            AnomalyClass::G1b => "G1b",
            AnomalyClass::G1c => "G1c",
            AnomalyClass::GSingle => "G-single",
            AnomalyClass::G2Item => "G2-item",
            AnomalyClass::IncompatibleOrder => "incompatible-order",
            AnomalyClass::RealTime => "real-time",
            AnomalyClass::Session => "session",
            AnomalyClass::Opacity => "opacity",
            AnomalyClass::Value => "value",
        }
    }

    /// Whether the class breaks (conflict-)serializability itself, rather
    /// than only a stronger property.
    pub fn breaks_serializability(self) -> bool {
        matches!(
            self,
            AnomalyClass::G0
                | AnomalyClass::G1a
                | AnomalyClass::G1b
                | AnomalyClass::G1c
                | AnomalyClass::GSingle
                | AnomalyClass::G2Item
                | AnomalyClass::IncompatibleOrder
        )
    }
}

impl fmt::Display for AnomalyClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A classic pattern a two-transaction cycle matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Pattern {
    /// Both read the same version of a key and both overwrote it: one write
    /// is lost (G-single: one rw and one ww edge on the same key).
    LostUpdate,
    /// One transaction saw another's write to one key but not its write to
    /// another key (G-single: one rw and one wr edge on different keys).
    ReadSkew,
    /// Each overwrote a key the other read (G2-item: two rw edges on
    /// different keys).
    WriteSkew,
}

impl Pattern {
    /// The pattern's usual name: `lost update`, `read skew`, `write skew`.
    pub fn name(self) -> &'static str {
        match self {
            Pattern::LostUpdate => "lost update",
            Pattern::ReadSkew => "read skew",
            Pattern::WriteSkew => "write skew",
        }
    }
}

impl fmt::Display for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why transaction `from` must come before transaction `to`: the evidence
/// behind one edge of a cycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "kind")]
pub enum Witness {
    /// ww: `to` installed the version of `key` right after `from`'s.
    #[serde(rename = "ww")]
    WriteWrite {
        /// The key.
        key: u64,
        /// The version `from` wrote.
        overwritten: u64,
        /// The version `to` wrote.
        written: u64,
    },
    /// wr: `to` read the version of `key` that `from` wrote.
    #[serde(rename = "wr")]
    WriteRead {
        /// The key.
        key: u64,
        /// The version read.
        version: u64,
    },
    /// rw: `from` read a version of `key` that `to` overwrote next.
    #[serde(rename = "rw")]
    ReadWrite {
        /// The key.
        key: u64,
        /// The version `from` read.
        read: u64,
        /// The version `to` wrote over it.
        written: u64,
    },
    /// Real time: `from` ended before `to` began.
    #[serde(rename = "rt")]
    RealTime {
        /// `from`'s end position.
        end: u64,
        /// `to`'s begin position.
        begin: u64,
    },
    /// Program order: `from` ran before `to` on the same thread.
    #[serde(rename = "session")]
    Session {
        /// The thread.
        thread: u64,
    },
}

impl Witness {
    /// The key involved, if any.
    pub fn key(&self) -> Option<u64> {
        match *self {
            Witness::WriteWrite { key, .. }
            | Witness::WriteRead { key, .. }
            | Witness::ReadWrite { key, .. } => Some(key),
            Witness::RealTime { .. } | Witness::Session { .. } => None,
        }
    }
}

/// One edge of a cycle: `from` must precede `to`, because of `witness`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Dependency {
    /// Id of the earlier transaction.
    pub from: u64,
    /// Id of the later transaction.
    pub to: u64,
    /// The evidence.
    pub witness: Witness,
}

impl fmt::Display for Dependency {
    /// One line in Elle's style: `T3 < T5 because T5 read key 0 version 4
    /// written by T3`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (a, b) = (self.from, self.to);
        write!(f, "T{a} < T{b} because ")?;
        match self.witness {
            Witness::WriteWrite {
                key,
                overwritten,
                written,
            } => write!(
                f,
                "T{b} overwrote key {key} version {overwritten} written by T{a} (with version {written})"
            ),
            Witness::WriteRead { key, version } => {
                write!(f, "T{b} read key {key} version {version} written by T{a}")
            }
            Witness::ReadWrite { key, read, written } => write!(
                f,
                "T{b} overwrote key {key} version {read} that T{a} read (with version {written})"
            ),
            Witness::RealTime { end, begin } => write!(
                f,
                "T{a} ended (at event {end}) before T{b} began (at event {begin})"
            ),
            Witness::Session { thread } => {
                write!(f, "T{a} ran before T{b} on thread {thread}")
            }
        }
    }
}

/// One violation found in a history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Anomaly {
    /// Its class.
    pub class: AnomalyClass,
    /// The classic pattern it matches, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pattern: Option<Pattern>,
    /// Ids of the transactions involved (for a cycle, in cycle order).
    pub transactions: Vec<u64>,
    /// The keys involved, ascending.
    pub keys: Vec<u64>,
    /// For a cycle, its edges in order; each one's `to` is the next one's
    /// `from`, and the last one's `to` is the first one's `from`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub cycle: Vec<Dependency>,
    /// For a cycle, whether no shorter cycle of its class exists in its
    /// strongly connected component (false only when the search budget ran
    /// out on a huge component).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shortest: Option<bool>,
    /// For a cycle, whether its class is proven the most severe in its
    /// strongly connected component. False only when the search budget ran
    /// out before a cycle with a single rw edge (G-single) could be ruled
    /// out: a G2-item reported then may hide a G-single (a larger budget,
    /// `--search-budget`, or a subset of the history settles it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub most_severe: Option<bool>,
    /// The story in plain words, one line per fact; for a cycle, one line
    /// per edge, the last ending in ": a contradiction".
    pub explanation: Vec<String>,
}

impl Anomaly {
    /// A one-line headline: `G-single (read skew): T3, T5`.
    pub fn title(&self) -> String {
        let pattern = self.pattern.map(|p| format!(" ({p})")).unwrap_or_default();
        let transactions: Vec<String> = self.transactions.iter().map(|t| format!("T{t}")).collect();
        format!("{}{pattern}: {}", self.class, transactions.join(", "))
    }
}

impl fmt::Display for Anomaly {
    /// The title, then the explanation indented by two spaces.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.title())?;
        for line in &self.explanation {
            write!(f, "\n  {line}")?;
        }
        Ok(())
    }
}
