//! The verdict on a history: every anomaly found, and which consistency
//! properties hold.

use super::anomaly::{Anomaly, AnomalyClass};
use super::v2::Names;
use serde::Serialize;
use std::fmt;

/// What [`check`](super::check) found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// Transaction attempts in the history.
    pub transactions: usize,
    /// How many of them committed.
    pub committed: usize,
    /// Every anomaly, ordered by class (most severe first): at most one
    /// cycle per strongly connected component of the dependency graph and
    /// one opacity violation per attempt; every G1a, G1b and value mismatch.
    pub anomalies: Vec<Anomaly>,
    /// What the verdicts rest on, in words, when it is less than the whole
    /// history: checks skipped for lack of data (no real time, no global
    /// clock), searches cut short by their budget, facts inferred. Empty for
    /// a complete check.
    pub notes: Vec<String>,
    /// Whether the history recorded real time; without it, strict
    /// serializability is not checked (its verdict is left out) and opacity
    /// is checked without real-time order.
    pub real_time: bool,
    /// The document's names of keys and transactions where it used
    /// strings: the text and JSON reports spell them so.
    pub names: Names,
    /// Whether each thread's program order was checked (histories with
    /// threads but no real time): a cycle that needs it is a
    /// [`AnomalyClass::Session`] anomaly.
    pub session: bool,
}

impl Report {
    /// No anomaly of any kind.
    pub fn is_valid(&self) -> bool {
        self.anomalies.is_empty()
    }

    /// The committed transactions are (conflict-)serializable: no G0, G1a,
    /// G1b, G1c, G-single or G2-item.
    pub fn serializable(&self) -> bool {
        !self
            .anomalies
            .iter()
            .any(|a| a.class.breaks_serializability())
    }

    /// Serializable in an order that respects real time.
    pub fn strict_serializable(&self) -> bool {
        self.serializable()
            && self.count(AnomalyClass::RealTime) == 0
            && self.count(AnomalyClass::Session) == 0
    }

    /// Strictly serializable, and every attempt, aborted ones included,
    /// read one consistent snapshot.
    pub fn opaque(&self) -> bool {
        self.strict_serializable() && self.count(AnomalyClass::Opacity) == 0
    }

    /// Every recorded read value matches the value of its version.
    pub fn values_consistent(&self) -> bool {
        self.count(AnomalyClass::Value) == 0
    }

    /// The anomalies of one class.
    pub fn of_class(&self, class: AnomalyClass) -> impl Iterator<Item = &Anomaly> {
        self.anomalies.iter().filter(move |a| a.class == class)
    }

    /// How many anomalies of one class were found.
    pub fn count(&self, class: AnomalyClass) -> usize {
        self.of_class(class).count()
    }

    /// Writes the report in words, showing at most `limit` anomalies.
    pub fn write_text(&self, out: &mut impl fmt::Write, limit: usize) -> fmt::Result {
        let yes_no = |holds: bool| if holds { "yes" } else { "NO" };
        writeln!(
            out,
            "{} transactions ({} committed, {} aborted): {}",
            self.transactions,
            self.committed,
            self.transactions - self.committed,
            if self.is_valid() {
                "VALID".to_string()
            } else if self.anomalies.len() == 1 {
                "1 anomaly".to_string()
            } else {
                format!("{} anomalies", self.anomalies.len())
            }
        )?;
        let session = format!(
            "not checked (no real time); session serializable: {}",
            yes_no(self.count(AnomalyClass::Session) == 0)
        );
        let (strict, opaque) = match (self.real_time, self.session) {
            (true, _) => (yes_no(self.strict_serializable()), "opaque"),
            (false, false) => ("not checked (no real time)", "opaque (without real time)"),
            (false, true) => (session.as_str(), "opaque (in program order)"),
        };
        writeln!(
            out,
            "serializable: {}, strict serializable: {strict}, {opaque}: {}, values consistent: {}",
            yes_no(self.serializable()),
            yes_no(self.opaque()),
            yes_no(self.values_consistent()),
        )?;
        for note in &self.notes {
            writeln!(out, "note: {note}")?;
        }
        for anomaly in self.anomalies.iter().take(limit) {
            writeln!(out, "{}", self.names.rewrite(&anomaly.to_string()))?;
        }
        if self.anomalies.len() > limit {
            writeln!(
                out,
                "... and {} more (use --json to see all)",
                self.anomalies.len() - limit
            )?;
        }
        Ok(())
    }
}

impl fmt::Display for Report {
    /// The report in words, every anomaly included.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.write_text(f, usize::MAX)
    }
}

impl Serialize for Report {
    /// The verdicts, the counts and every anomaly.
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Out<'a> {
            valid: bool,
            serializable: bool,
            strict_serializable: Option<bool>,
            opaque: bool,
            values_consistent: bool,
            transactions: usize,
            committed: usize,
            aborted: usize,
            anomalies: &'a [Anomaly],
            #[serde(skip_serializing_if = "<[String]>::is_empty")]
            notes: &'a [String],
            #[serde(skip_serializing_if = "Option::is_none")]
            key_names: Option<&'a [String]>,
            #[serde(skip_serializing_if = "Option::is_none")]
            transaction_names: Option<&'a [String]>,
        }
        // Explanations spell the document's names; numbers in the other
        // fields index `key_names` and `transaction_names`.
        let renamed: Vec<Anomaly>;
        let anomalies = if self.names.keys.is_none() && self.names.ids.is_none() {
            &self.anomalies[..]
        } else {
            renamed = self
                .anomalies
                .iter()
                .map(|a| Anomaly {
                    explanation: a
                        .explanation
                        .iter()
                        .map(|l| self.names.rewrite(l))
                        .collect(),
                    ..a.clone()
                })
                .collect();
            &renamed[..]
        };
        Out {
            valid: self.is_valid(),
            serializable: self.serializable(),
            strict_serializable: self.real_time.then(|| self.strict_serializable()),
            opaque: self.opaque(),
            values_consistent: self.values_consistent(),
            transactions: self.transactions,
            committed: self.committed,
            aborted: self.transactions - self.committed,
            anomalies,
            notes: &self.notes,
            key_names: self.names.keys.as_deref(),
            transaction_names: self.names.ids.as_deref(),
        }
        .serialize(serializer)
    }
}
