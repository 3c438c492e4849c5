//! The history file format: the types that mirror it, and reading and
//! writing them as JSON. The format itself is described in the
//! [module documentation](super).

use super::error::{HistoryError, LoadError};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::Value;
use std::path::Path;

/// The value of the `format` field of every history file.
pub const FORMAT_NAME: &str = "stm-history";

/// The format version this build reads and writes.
pub const FORMAT_VERSION: u64 = 1;

/// A recorded run: the initial state and every transaction attempt.
///
/// Build one in memory (a recorder does) or read it with
/// [`History::from_json_str`] / [`History::load`]; check it with
/// [`check`](super::check). Reading checks only the JSON shape and the
/// format version; [`check`](super::check) and [`History::validate`] check
/// the contents (unique ids, no dangling versions, ...).
///
/// ```
/// use stm_check::history::{History, Outcome, Read, Transaction, Write};
///
/// let json = r#"{"format": "stm-history", "version": 1,
///   "transactions": [
///     {"id": 1, "thread": 0, "outcome": "committed", "begin": 1, "end": 2,
///      "commit_version": 1, "reads": [], "writes": [{"key": 7, "version": 1}]}]}"#;
/// let history = History::from_json_str(json).unwrap();
/// assert_eq!(
///     history.transactions[0].writes,
///     vec![Write { key: 7, version: 1, value: None, commuted: None }]
/// );
/// assert_eq!(History::from_json_str(&history.to_json_string()).unwrap(), history);
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct History {
    /// Values of keys at version 0 (before any transaction). Optional: a key
    /// not listed still has a version 0, only its value is unknown.
    pub initial: Vec<InitialValue>,
    /// Every transaction attempt, committed and aborted, in any order.
    pub transactions: Vec<Transaction>,
}

/// The value of one key at version 0.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InitialValue {
    /// The key.
    #[serde(deserialize_with = "key_number")]
    pub key: u64,
    /// Its value (any JSON value; compared with `==`).
    pub value: Value,
}

/// How an attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// Its writes were installed.
    Committed,
    /// It ended without installing anything (conflict, retry, panic, user
    /// abort). Under opacity it must still have read a consistent state.
    Aborted,
}

/// One transaction attempt. An engine that re-runs a transaction after a
/// conflict records each attempt as its own `Transaction` with its own id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Transaction {
    /// Unique among all attempts of the history; shown as `T<id>`.
    pub id: u64,
    /// The thread that ran the attempt (only shown in reports).
    pub thread: u64,
    /// Whether the attempt committed.
    pub outcome: Outcome,
    /// Real-time position of the attempt's start: a value of a global,
    /// strictly increasing event counter shared with `end`.
    pub begin: u64,
    /// Real-time position of the attempt's end (commit or abort); must be
    /// greater than `begin`. `a.end < b.begin` means `a` finished before `b`
    /// started, so under strict serializability `a` precedes `b`.
    pub end: u64,
    /// The global version the attempt read at (TL2's read version), when
    /// the engine knows it: every read must then be current at `snapshot`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshot: Option<u64>,
    /// The global version the commit drew (TL2's write version); only on
    /// committed attempts, unique in the history. Writes usually carry it as
    /// their version; the checker does not require it, so an engine that
    /// installs a wrong version is reported, not rejected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit_version: Option<u64>,
    /// The values the attempt returned to its code, in program order.
    #[serde(default, deserialize_with = "objects")]
    pub reads: Vec<Read>,
    /// The values the attempt wrote, in program order. A key may appear
    /// several times: the last write of a key is its final write (installed
    /// if the attempt commits), earlier ones are intermediate.
    #[serde(default, deserialize_with = "objects")]
    pub writes: Vec<Write>,
}

/// A read: which version of a key the attempt observed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Read {
    /// The key read.
    #[serde(deserialize_with = "key_number")]
    pub key: u64,
    /// The version observed: 0 for the initial value, otherwise the version
    /// of the write it returned (its own or another attempt's).
    pub version: u64,
    /// The value returned, when recorded; checked against the write's value.
    /// (`"value": null` is the JSON value null; leave the field out when no
    /// value was recorded.)
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "recorded_value"
    )]
    pub value: Option<Value>,
}

/// A write: the version of a key the attempt created.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Write {
    /// The key written.
    #[serde(deserialize_with = "key_number")]
    pub key: u64,
    /// The global version this write created (not 0), unique per key. A
    /// committed final write's version places it in the key's version order;
    /// intermediate writes and writes of aborted attempts are never
    /// installed, their version only lets reads refer to them.
    pub version: u64,
    /// The value written, when recorded (`"value": null` is the JSON value
    /// null).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "recorded_value"
    )]
    pub value: Option<Value>,
    /// Present when the write is a commute (`tx.commute`): an update the
    /// engine applied at commit to the key's value current then, which the
    /// transaction did not read. It orders the transaction after the
    /// version it was applied to (a ww dependency) but makes it depend on
    /// no read. Absent in files written before commutes existed.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "commute_base"
    )]
    pub commuted: Option<Box<CommuteBase>>,
}

/// What a commuted write was applied to, as far as the recorder knows: in
/// a correct run, the version of the key installed right before the
/// write's own (the [module documentation](super) says what is checked).
///
/// ```
/// use stm_check::history::History;
///
/// let history = History::from_json_str(r#"{"format": "stm-history", "version": 1,
///   "initial": [{"key": 0, "value": 5}],
///   "transactions": [
///     {"id": 1, "thread": 0, "outcome": "committed", "begin": 1, "end": 2,
///      "writes": [{"key": 0, "version": 1, "value": 6,
///                  "commuted": {"version": 0, "value": 5}}]}]}"#).unwrap();
/// let base = history.transactions[0].writes[0].commuted.as_ref().unwrap();
/// assert_eq!((base.version, base.value.clone()), (Some(0), Some(5.into())));
/// assert!(stm_check::history::check(&history).unwrap().is_valid());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommuteBase {
    /// The version of the key the update was applied to (0: the initial
    /// value), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<u64>,
    /// That version's value as the update received it, when recorded.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "recorded_value"
    )]
    pub value: Option<Value>,
}

/// A `commuted` field that is present: a JSON object (see [`ObjectOnly`]).
fn commute_base<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Box<CommuteBase>>, D::Error> {
    ObjectOnly::<CommuteBase>::deserialize(deserializer).map(|o| Some(Box::new(o.0)))
}

/// A `value` field that is present: whatever JSON value it holds, `null`
/// included (plain `Option` would read `null` as "not recorded", and a
/// recorded null would not survive a round trip).
fn recorded_value<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Value>, D::Error> {
    Value::deserialize(deserializer).map(Some)
}

/// A key: a whole number from 0 to 2^64 - 1. serde's own message for a
/// number out of range names a floating-point type, which reads as if keys
/// could be fractions; this one says what is wrong in words.
pub(crate) fn key_number<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<u64, D::Error> {
    match super::v2::Name::deserialize(deserializer)? {
        super::v2::Name::Number(key) => Ok(key),
        super::v2::Name::Text(text) => Err(serde::de::Error::custom(format_args!(
            "key {text:?} is a string: version 1 keys are whole numbers (string keys need format version 2)"
        ))),
    }
}

/// A JSON object and nothing else. serde's derived `Deserialize` for a
/// struct also accepts a positional array (`[1, 0, "committed", ...]`),
/// which no writer of this format produces and which would silently give
/// meaning to field order; wrapping a type in `ObjectOnly` refuses it.
#[repr(transparent)]
pub(crate) struct ObjectOnly<T>(pub T);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for ObjectOnly<T> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ObjectVisitor<T>(std::marker::PhantomData<T>);
        impl<'de, T: Deserialize<'de>> serde::de::Visitor<'de> for ObjectVisitor<T> {
            type Value = ObjectOnly<T>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                let name = std::any::type_name::<T>();
                let name = name.rsplit("::").next().unwrap_or(name);
                write!(f, "struct {name} (a JSON object with named fields)")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                map: A,
            ) -> Result<Self::Value, A::Error> {
                T::deserialize(serde::de::value::MapAccessDeserializer::new(map)).map(ObjectOnly)
            }
        }
        deserializer.deserialize_map(ObjectVisitor(std::marker::PhantomData))
    }
}

/// A list of JSON objects, each read as a `T` (see [`ObjectOnly`]).
pub(crate) fn objects<'de, D: serde::Deserializer<'de>, T: Deserialize<'de>>(
    deserializer: D,
) -> Result<Vec<T>, D::Error> {
    let wrapped = Vec::<ObjectOnly<T>>::deserialize(deserializer)?;
    Ok(wrapped.into_iter().map(|o| o.0).collect())
}

/// The top level of the file, read in two steps so that an unknown version
/// is reported as such even when the rest no longer parses.
#[derive(Deserialize)]
struct Envelope<'a> {
    format: String,
    version: u64,
    #[serde(borrow, default)]
    initial: Option<&'a RawValue>,
    #[serde(borrow)]
    transactions: &'a RawValue,
    /// Version 2 only (see [`super::v2`]).
    #[serde(borrow, default)]
    model: Option<&'a RawValue>,
    /// Version 2 only.
    #[serde(borrow, default)]
    versions: Option<&'a RawValue>,
}

impl<'a> Envelope<'a> {
    /// The top level of `text`, its `format` checked.
    fn parse(text: &'a str) -> Result<Envelope<'a>, HistoryError> {
        let ObjectOnly(envelope): ObjectOnly<Envelope<'_>> =
            serde_json::from_str(text).map_err(|e| HistoryError::from_json(&e, (1, 1)))?;
        if envelope.format != FORMAT_NAME {
            return Err(HistoryError::UnknownFormat {
                found: envelope.format,
            });
        }
        Ok(envelope)
    }
}

#[derive(Serialize)]
struct EnvelopeOut<'a> {
    format: &'static str,
    version: u64,
    #[serde(skip_serializing_if = "<[InitialValue]>::is_empty")]
    initial: &'a [InitialValue],
    transactions: &'a [Transaction],
}

impl Serialize for History {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        EnvelopeOut {
            format: FORMAT_NAME,
            version: FORMAT_VERSION,
            initial: &self.initial,
            transactions: &self.transactions,
        }
        .serialize(serializer)
    }
}

impl History {
    /// Parses a history from JSON text: the shape of the document and its
    /// `format` and `version`. The contents are validated by
    /// [`History::validate`] and [`check`](super::check).
    pub fn from_json_str(text: &str) -> Result<History, HistoryError> {
        let envelope = Envelope::parse(text)?;
        if envelope.version == super::v2::FORMAT_VERSION_2 {
            return Err(HistoryError::Inference {
                message: "a version 2 history is read with Recorded::from_json_str or Recorded::load, which keep what its checks must know (clock, real time, names)".to_string(),
            });
        }
        History::from_envelope(text, envelope)
    }

    /// The version-1 history whose top level is `envelope`.
    fn from_envelope(text: &str, envelope: Envelope<'_>) -> Result<History, HistoryError> {
        if envelope.version != FORMAT_VERSION {
            return Err(HistoryError::UnsupportedVersion {
                found: envelope.version,
                supported: super::v2::FORMAT_VERSION_2,
            });
        }
        let initial = match envelope.initial {
            Some(raw) => parse_objects(text, raw)?,
            None => Vec::new(),
        };
        let transactions = parse_objects(text, envelope.transactions)?;
        Ok(History {
            initial,
            transactions,
        })
    }

    /// Reads and parses a history file; errors name the file.
    pub fn load(path: &Path) -> Result<History, LoadError> {
        crate::load_error::load_file(path, History::from_json_str)
    }

    /// The history as JSON text in the current format version.
    pub fn to_json_string(&self) -> String {
        serde_json::to_string(self).expect("a History always serializes")
    }

    /// Checks that the contents are consistent (unique ids, `begin < end`,
    /// no dangling or doubly claimed versions, ...) without checking
    /// isolation; [`check`](super::check) does this too.
    pub fn validate(&self) -> Result<(), HistoryError> {
        super::index::HistoryIndex::build(self).map(|_| ())
    }
}

/// A history file of any version this build reads, translated for the
/// checker: version 1 as it is, version 2 with what was inferred (see the
/// [module documentation](super)).
///
/// ```
/// use stm_check::history::{Checker, Recorded};
///
/// // A list-append history with string keys and no real time: T2 read the
/// // list that T1 appended to, and appended in turn.
/// let recorded = Recorded::from_json_str(r#"{"format": "stm-history", "version": 2,
///   "model": "list-append",
///   "transactions": [
///     {"id": 1, "outcome": "committed", "appends": [{"key": "x", "value": 1}]},
///     {"id": 2, "outcome": "committed", "reads": [{"key": "x", "value": [1]}],
///      "appends": [{"key": "x", "value": 2}]}]}"#).unwrap();
/// let report = Checker::new().check_recorded(&recorded).unwrap();
/// assert!(report.serializable() && report.is_valid());
/// assert!(!report.real_time, "strict serializability is not checked");
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Recorded {
    /// The transactions, in the checker's terms.
    pub history: History,
    /// What the checks must know about them.
    pub context: super::v2::Context,
}

impl Recorded {
    /// Parses a history of version 1 or 2 from JSON text.
    pub fn from_json_str(text: &str) -> Result<Recorded, HistoryError> {
        let envelope = Envelope::parse(text)?;
        if envelope.version == super::v2::FORMAT_VERSION_2 {
            let parts = super::v2::Parts {
                model: envelope.model,
                versions: envelope.versions,
                initial: envelope.initial,
                transactions: envelope.transactions,
            };
            let (history, context) = super::v2::translate(text, parts)?;
            return Ok(Recorded { history, context });
        }
        Ok(Recorded {
            history: History::from_envelope(text, envelope)?,
            context: super::v2::Context::default(),
        })
    }

    /// Reads and parses a history file of version 1 or 2; errors name the
    /// file.
    pub fn load(path: &Path) -> Result<Recorded, LoadError> {
        crate::load_error::load_file(path, Recorded::from_json_str)
    }
}

/// Parses a nested part of `text`, reporting positions relative to `text`.
pub(crate) fn parse_part<T: serde::de::DeserializeOwned>(
    text: &str,
    raw: &RawValue,
) -> Result<T, HistoryError> {
    serde_json::from_str(raw.get()).map_err(|e| {
        // `raw` borrows from `text`, so its offset is a pointer difference.
        let offset = (raw.get().as_ptr() as usize).saturating_sub(text.as_ptr() as usize);
        HistoryError::from_json(&e, line_column(text, offset))
    })
}

/// A nested list of JSON objects of `text` (see [`ObjectOnly`]).
pub(crate) fn parse_objects<T: serde::de::DeserializeOwned>(
    text: &str,
    raw: &RawValue,
) -> Result<Vec<T>, HistoryError> {
    let wrapped: Vec<ObjectOnly<T>> = parse_part(text, raw)?;
    Ok(wrapped.into_iter().map(|o| o.0).collect())
}

/// 1-based line and column of byte `offset` of `text`.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text.as_bytes()[..offset.min(text.len())];
    let line = 1 + before.iter().filter(|&&b| b == b'\n').count();
    let line_start = before
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |p| p + 1);
    (line, 1 + offset - line_start)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_recorded_null_is_a_value_and_survives_a_round_trip() {
        let json = r#"{"format": "stm-history", "version": 1,
          "initial": [{"key": 0, "value": null}],
          "transactions": [
            {"id": 1, "thread": 0, "outcome": "committed", "begin": 1, "end": 2,
             "commit_version": 1, "reads": [{"key": 0, "version": 0, "value": 5}],
             "writes": [{"key": 0, "version": 1, "value": null}, {"key": 1, "version": 1}]}]}"#;
        let history = History::from_json_str(json).unwrap();
        let t = &history.transactions[0];
        assert_eq!(t.writes[0].value, Some(Value::Null));
        assert_eq!(t.writes[1].value, None);
        assert_eq!(
            History::from_json_str(&history.to_json_string()).unwrap(),
            history
        );
        // The read of 5 where the initial value is null is a mismatch.
        let report = crate::history::check(&history).unwrap();
        assert!(!report.values_consistent());
    }
}
