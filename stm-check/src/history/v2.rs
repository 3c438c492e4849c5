//! Format version 2: histories from any system. Reads the document and
//! translates it into the checker's own terms (a version-1 [`History`]
//! with integer keys, ids and versions), inferring what the system did not
//! record: the writer of a read known only by its value, the version order
//! of a key from the lists its readers saw, the outcome of a transaction
//! whose writes were observed. The format is described in the
//! [module documentation](super).

use super::anomaly::{Anomaly, AnomalyClass};
use super::error::HistoryError;
use super::format::{
    objects, parse_objects, parse_part, CommuteBase, History, InitialValue, Outcome, Read,
    Transaction, Write,
};
use rustc_hash::FxHashMap;
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::Value;

/// The newest format version this build reads.
pub const FORMAT_VERSION_2: u64 = 2;

/// A key, transaction id or thread: a whole number or a string.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum Name {
    /// A whole number.
    Number(u64),
    /// A string.
    Text(String),
}

impl<'de> Deserialize<'de> for Name {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct NameVisitor;
        impl serde::de::Visitor<'_> for NameVisitor {
            type Value = Name;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, "a string or a whole number from 0 to {}", u64::MAX)
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Name, E> {
                Ok(Name::Number(v))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Name, E> {
                u64::try_from(v).map(Name::Number).map_err(|_| {
                    E::custom(format_args!(
                        "{v} is negative: keys and ids are whole numbers from 0 to {} (or, in version 2, strings)",
                        u64::MAX
                    ))
                })
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Name, E> {
                let why = if v >= 18_446_744_073_709_551_616.0 {
                    "is too large for a key or id"
                } else {
                    "is not a whole number"
                };
                Err(E::custom(format_args!(
                    "{v} {why}: keys and ids are whole numbers from 0 to {} (or, in version 2, strings)",
                    u64::MAX
                )))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Name, E> {
                Ok(Name::Text(v.to_string()))
            }
        }
        deserializer.deserialize_any(NameVisitor)
    }
}

impl Name {
    /// The name as reports spell a transaction after its `T`: a number as
    /// it is, a string in brackets (`T[a1]`).
    pub(crate) fn as_id(&self) -> IdText<'_> {
        IdText(self)
    }
}

/// A transaction id as reports spell it (see [`Name::as_id`]).
pub(crate) struct IdText<'a>(&'a Name);

impl std::fmt::Display for IdText<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            Name::Number(n) => write!(f, "{n}"),
            Name::Text(s) => write!(f, "[{s}]"),
        }
    }
}

impl std::fmt::Display for Name {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Name::Number(n) => write!(f, "{n}"),
            Name::Text(s) => write!(f, "{s:?}"),
        }
    }
}

/// How the transactions' reads and writes are to be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
enum Model {
    /// Registers: a write replaces the value; reads name a version or a
    /// value.
    #[default]
    RwRegister,
    /// Elle's list-append: transactions append unique elements to per-key
    /// lists and read whole lists.
    ListAppend,
}

/// Where write versions come from (register model).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
enum Versions {
    /// One clock for all keys, as in version 1.
    #[default]
    Global,
    /// Numbers per key: they order a key's versions and nothing else.
    PerKey,
}

/// How an attempt ended, as the system knows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
enum OutcomeV2 {
    Committed,
    Aborted,
    /// The client never learned (a timeout): committed if one of its
    /// writes was observed, otherwise taken as not committed.
    Unknown,
}

/// A version-2 document, read part by part from the envelope that the
/// version-1 reader also uses (so the file is scanned once).
struct Document {
    model: Model,
    versions: Versions,
    initial: Vec<InitialV2>,
    transactions: Vec<TransactionV2>,
}

/// The raw top-level parts of a version-2 document.
pub(crate) struct Parts<'a> {
    pub model: Option<&'a RawValue>,
    pub versions: Option<&'a RawValue>,
    pub initial: Option<&'a RawValue>,
    pub transactions: &'a RawValue,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct InitialV2 {
    key: Name,
    value: Value,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TransactionV2 {
    id: Name,
    #[serde(default)]
    thread: Option<Name>,
    outcome: OutcomeV2,
    #[serde(default)]
    begin: Option<u64>,
    #[serde(default)]
    end: Option<u64>,
    #[serde(default)]
    snapshot: Option<u64>,
    #[serde(default)]
    commit_version: Option<u64>,
    #[serde(default, deserialize_with = "objects")]
    reads: Vec<AccessV2>,
    #[serde(default, deserialize_with = "objects")]
    writes: Vec<AccessV2>,
    #[serde(default, deserialize_with = "objects")]
    appends: Vec<AccessV2>,
}

/// A read, write or append: a key, maybe a version, maybe a value; a
/// register write may be marked as a commute.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AccessV2 {
    key: Name,
    #[serde(default)]
    version: Option<u64>,
    #[serde(default, deserialize_with = "present")]
    value: Option<Value>,
    #[serde(default, deserialize_with = "commute_v2")]
    commuted: Option<CommuteV2>,
}

/// What a commuted register write was applied to: a version, a value, or
/// both (as version 1's [`CommuteBase`]).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CommuteV2 {
    #[serde(default)]
    version: Option<u64>,
    #[serde(default, deserialize_with = "present")]
    value: Option<Value>,
}

fn commute_v2<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<CommuteV2>, D::Error> {
    super::format::ObjectOnly::<CommuteV2>::deserialize(d).map(|o| Some(o.0))
}

fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(d).map(Some)
}

/// The names behind the numbers of a translated history, where the
/// document used strings: reports show the names.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Names {
    /// Key number -> its name, when some key was a string.
    pub keys: Option<Vec<String>>,
    /// Transaction id number -> its name, when some id was a string.
    pub ids: Option<Vec<String>>,
}

impl Names {
    /// `text` with `T<n>` and `key <n>` spelled with the document's names.
    pub fn rewrite(&self, text: &str) -> String {
        if self.keys.is_none() && self.ids.is_none() {
            return text.to_string();
        }
        let bytes = text.as_bytes();
        let mut out = String::with_capacity(text.len());
        let mut i = 0;
        let digits_from = |j: usize| -> usize {
            let mut k = j;
            while k < bytes.len() && bytes[k].is_ascii_digit() {
                k += 1;
            }
            k
        };
        let boundary = |j: usize| j == 0 || !bytes[j - 1].is_ascii_alphanumeric();
        while i < bytes.len() {
            if let (Some(ids), b'T', true) = (&self.ids, bytes[i], boundary(i)) {
                let end = digits_from(i + 1);
                if end > i + 1 && (end == bytes.len() || !bytes[end].is_ascii_alphanumeric()) {
                    if let Some(name) = text[i + 1..end]
                        .parse::<usize>()
                        .ok()
                        .and_then(|n| ids.get(n))
                    {
                        out.push_str(&format!("T[{name}]"));
                        i = end;
                        continue;
                    }
                }
            }
            if let (Some(keys), true) = (&self.keys, text[i..].starts_with("key ") && boundary(i)) {
                let end = digits_from(i + 4);
                if end > i + 4 {
                    if let Some(name) = text[i + 4..end]
                        .parse::<usize>()
                        .ok()
                        .and_then(|n| keys.get(n))
                    {
                        out.push_str("key ");
                        out.push_str(name);
                        i = end;
                        continue;
                    }
                }
            }
            let c = text[i..].chars().next().expect("i is on a char boundary");
            out.push(c);
            i += c.len_utf8();
        }
        out
    }
}

/// What the checks need to know about a translated history besides its
/// transactions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Context {
    /// Whether versions come from one global clock (snapshot rules apply).
    pub global_clock: bool,
    /// Whether real time (`begin`, `end`) was recorded.
    pub real_time: bool,
    /// Whether each thread's program order (the order the file lists its
    /// transactions) is to be checked: when threads are given and real
    /// time, which implies it, is not.
    pub session: bool,
    /// Names of keys and ids, where the document used strings.
    pub names: Names,
    /// Anomalies found while inferring (lists no single order explains).
    pub anomalies: Vec<Anomaly>,
    /// What was inferred, skipped or left out, in words.
    pub notes: Vec<String>,
}

impl Default for Context {
    /// A version-1 history: global clock, real time, nothing inferred.
    fn default() -> Context {
        Context {
            global_clock: true,
            real_time: true,
            session: false,
            names: Names::default(),
            anomalies: Vec::new(),
            notes: Vec::new(),
        }
    }
}

/// Numbers for names: kept as they are when every name is a number,
/// otherwise given in order of first appearance.
struct Interner {
    numeric: bool,
    numbers: FxHashMap<Name, u64>,
    names: Vec<String>,
}

impl Interner {
    fn new<'a>(all: impl Iterator<Item = &'a Name>) -> Interner {
        let mut interner = Interner {
            numeric: true,
            numbers: FxHashMap::default(),
            names: Vec::new(),
        };
        let all: Vec<&Name> = all.collect();
        interner.numeric = all.iter().all(|n| matches!(n, Name::Number(_)));
        if !interner.numeric {
            for name in all {
                let next = interner.names.len() as u64;
                if let std::collections::hash_map::Entry::Vacant(slot) =
                    interner.numbers.entry(name.clone())
                {
                    slot.insert(next);
                    interner.names.push(match name {
                        Name::Number(n) => n.to_string(),
                        Name::Text(s) => s.clone(),
                    });
                }
            }
        }
        interner
    }

    fn of(&self, name: &Name) -> u64 {
        match (self.numeric, name) {
            (true, Name::Number(n)) => *n,
            _ => self.numbers[name],
        }
    }

    fn names(self) -> Option<Vec<String>> {
        (!self.numeric).then_some(self.names)
    }
}

/// A JSON value usable as a hash key (values are compared with `==`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum ValueKey {
    Unsigned(u64),
    Signed(i64),
    Text(String),
    Other(String),
}

impl ValueKey {
    fn of(value: &Value) -> ValueKey {
        match value {
            Value::Number(n) if n.is_u64() => ValueKey::Unsigned(n.as_u64().unwrap_or(0)),
            Value::Number(n) if n.is_i64() => ValueKey::Signed(n.as_i64().unwrap_or(0)),
            Value::String(s) => ValueKey::Text(s.clone()),
            other => ValueKey::Other(other.to_string()),
        }
    }
}

fn invalid(message: String) -> HistoryError {
    HistoryError::Inference { message }
}

/// Parses a version-2 document and translates it.
pub(crate) fn translate(text: &str, parts: Parts<'_>) -> Result<(History, Context), HistoryError> {
    let document = Document {
        model: parts
            .model
            .map_or(Ok(Model::default()), |raw| parse_part(text, raw))?,
        versions: parts
            .versions
            .map_or(Ok(Versions::default()), |raw| parse_part(text, raw))?,
        initial: parts
            .initial
            .map_or(Ok(Vec::new()), |raw| parse_objects(text, raw))?,
        transactions: parse_objects(text, parts.transactions)?,
    };
    let keys = Interner::new(document.initial.iter().map(|i| &i.key).chain(
        document.transactions.iter().flat_map(|t| {
            t.reads
                .iter()
                .chain(&t.writes)
                .chain(&t.appends)
                .map(|a| &a.key)
        }),
    ));
    let ids = Interner::new(document.transactions.iter().map(|t| &t.id));
    let threads = Interner::new(
        document
            .transactions
            .iter()
            .filter_map(|t| t.thread.as_ref()),
    );
    let timed = document
        .transactions
        .iter()
        .filter(|t| t.begin.is_some() && t.end.is_some())
        .count();
    let real_time = timed > 0;
    if real_time && timed < document.transactions.len() {
        let t = document
            .transactions
            .iter()
            .find(|t| t.begin.is_none() || t.end.is_none())
            .expect("some transaction lacks a time");
        return Err(invalid(format!(
            "T{} has no \"begin\" and \"end\" but other transactions do: real time must be recorded for every transaction or for none",
            t.id.as_id()
        )));
    }
    let mut context = Context {
        global_clock: document.model == Model::RwRegister && document.versions == Versions::Global,
        real_time,
        session: !real_time && document.transactions.iter().any(|t| t.thread.is_some()),
        ..Context::default()
    };
    if !context.global_clock {
        if let Some(t) = document
            .transactions
            .iter()
            .find(|t| t.snapshot.is_some() || t.commit_version.is_some())
        {
            return Err(invalid(format!(
                "T{}: \"snapshot\" and \"commit_version\" need global versions (\"versions\": \"global\", register model)",
                t.id.as_id()
            )));
        }
    }
    let initial: Vec<InitialValue> = document
        .initial
        .iter()
        .map(|i| InitialValue {
            key: keys.of(&i.key),
            value: i.value.clone(),
        })
        .collect();
    let mut transactions: Vec<Transaction> = document
        .transactions
        .iter()
        .map(|t| Transaction {
            id: ids.of(&t.id),
            thread: t.thread.as_ref().map_or(0, |n| threads.of(n)),
            outcome: match t.outcome {
                OutcomeV2::Committed => Outcome::Committed,
                _ => Outcome::Aborted,
            },
            begin: t.begin.unwrap_or(1),
            end: t.end.unwrap_or(2),
            snapshot: t.snapshot,
            commit_version: t.commit_version,
            reads: Vec::new(),
            writes: Vec::new(),
        })
        .collect();
    for t in &document.transactions {
        let mut misplaced = t.reads.iter().map(|r| (r, "reads")).chain(
            t.appends.iter().map(|a| (a, "appends")).chain(
                t.writes
                    .iter()
                    .filter(|_| document.model == Model::ListAppend)
                    .map(|w| (w, "writes")),
            ),
        );
        if let Some((access, what)) = misplaced.find(|(a, _)| a.commuted.is_some()) {
            return Err(invalid(format!(
                "T{} has \"commuted\" on one of its {what} (key {}): only register writes can be commutes",
                t.id.as_id(),
                access.key
            )));
        }
    }
    match document.model {
        Model::RwRegister => {
            registers(&document, &keys, &initial, &mut transactions, &mut context)?
        }
        Model::ListAppend => lists(&document, &keys, &ids, &mut transactions, &mut context)?,
    }
    if context.session {
        context.notes.push(
            "no real time recorded: strict serializability is not checked; each thread's program order (the order of its transactions in the file) is checked instead, for committed transactions and aborted attempts".to_string(),
        );
    } else if !real_time {
        context.notes.push(
            "no real time recorded: strict serializability is not checked, and opacity is checked without real-time order".to_string(),
        );
    }
    if !context.global_clock && document.model == Model::RwRegister {
        context.notes.push(
            "versions are numbered per key: the snapshot rules that need a global clock are skipped; opacity is checked by placing each aborted attempt in a serial order".to_string(),
        );
    }
    context.names = Names {
        keys: keys.names(),
        ids: ids.names(),
    };
    Ok((
        History {
            initial,
            transactions,
        },
        context,
    ))
}

/// Unknown outcomes whose writes were observed become committed; notes
/// say how many were decided each way.
fn settle_unknown(
    document: &Document,
    observed: &[bool],
    transactions: &mut [Transaction],
    context: &mut Context,
) {
    let (mut committed, mut not) = (0, 0);
    for (i, t) in document.transactions.iter().enumerate() {
        if t.outcome == OutcomeV2::Unknown {
            if observed[i] {
                transactions[i].outcome = Outcome::Committed;
                committed += 1;
            } else {
                not += 1;
            }
        }
    }
    if committed + not > 0 {
        context.notes.push(format!(
            "{} transactions of unknown outcome: {committed} taken as committed (a write of theirs was read), {not} as not committed (no write of theirs was read; their reads are checked as an aborted attempt's)",
            committed + not
        ));
    }
}

/// The register model: reads by version or by value, writes with versions
/// (global or per key) or, when none has one, orders inferred from reads.
fn registers(
    document: &Document,
    keys: &Interner,
    initial: &[InitialValue],
    transactions: &mut [Transaction],
    context: &mut Context,
) -> Result<(), HistoryError> {
    if let Some(t) = document.transactions.iter().find(|t| !t.appends.is_empty()) {
        return Err(invalid(format!(
            "T{} has \"appends\", which only the \"list-append\" model has",
            t.id.as_id()
        )));
    }
    let versioned = document
        .transactions
        .iter()
        .flat_map(|t| &t.writes)
        .filter(|w| w.version.is_some())
        .count();
    let total = document
        .transactions
        .iter()
        .map(|t| t.writes.len())
        .sum::<usize>();
    if versioned != 0 && versioned != total {
        return Err(invalid(
            "some writes have a \"version\" and others do not: give every write a version, or none (then the order of each key's writes is inferred from reads of their values)".to_string(),
        ));
    }
    // Every written value, per key: who wrote it, and which of its writes.
    let mut written: FxHashMap<(u64, ValueKey), (usize, usize)> = FxHashMap::default();
    let by_value = document
        .transactions
        .iter()
        .flat_map(|t| &t.reads)
        .any(|r| r.version.is_none());
    if by_value || versioned == 0 {
        for (i, t) in document.transactions.iter().enumerate() {
            for (j, w) in t.writes.iter().enumerate() {
                let Some(value) = &w.value else {
                    return Err(invalid(format!(
                        "T{} writes key {} without a value: reads by value and inferred orders need every written value",
                        t.id.as_id(), w.key
                    )));
                };
                let key = keys.of(&w.key);
                if let Some((first, _)) = written.insert((key, ValueKey::of(value)), (i, j)) {
                    return Err(invalid(format!(
                        "T{} and T{} both write {value} to key {}: reads by value need unique written values per key",
                        document.transactions[first].id.as_id(), t.id.as_id(), w.key
                    )));
                }
            }
        }
    }
    let initial_of: FxHashMap<u64, ValueKey> = initial
        .iter()
        .map(|i| (i.key, ValueKey::of(&i.value)))
        .collect();
    // Write versions: given, or inferred per key.
    let versions: Vec<Vec<u64>> = if versioned == total {
        document
            .transactions
            .iter()
            .map(|t| t.writes.iter().map(|w| w.version.unwrap_or(0)).collect())
            .collect()
    } else {
        infer_register_orders(document, keys, &written, &initial_of, context)?
    };
    // Commute bases given only by value are found as reads by value are.
    let values_indexed = by_value || versioned == 0;
    let mut observed = vec![false; document.transactions.len()];
    // Reads by version of a transaction of unknown outcome observe it too.
    let unknown_writes: FxHashMap<(u64, u64), usize> = document
        .transactions
        .iter()
        .enumerate()
        .filter(|(_, t)| t.outcome == OutcomeV2::Unknown)
        .flat_map(|(i, t)| {
            let versions = &versions[i];
            t.writes
                .iter()
                .zip(versions)
                .map(move |(w, &v)| ((keys.of(&w.key), v), i))
        })
        .collect();
    for (i, t) in document.transactions.iter().enumerate() {
        let mut writes = Vec::with_capacity(t.writes.len());
        for (w, &version) in t.writes.iter().zip(&versions[i]) {
            let key = keys.of(&w.key);
            let commuted = match &w.commuted {
                None => None,
                Some(c) => {
                    let base = match (c.version, &c.value) {
                        (Some(_), _) if versioned == 0 => {
                            return Err(invalid(format!(
                                "T{} gives its commute of key {} a base \"version\", but the writes carry no versions: give the base as a \"value\"",
                                t.id.as_id(),
                                w.key
                            )))
                        }
                        (Some(base), _) => {
                            if let Some(&writer) = unknown_writes.get(&(key, base)) {
                                observed[writer] |= writer != i;
                            }
                            Some(base)
                        }
                        (None, Some(value)) if values_indexed => {
                            let value_key = ValueKey::of(value);
                            match written.get(&(key, value_key.clone())) {
                                Some(&(writer, write)) => {
                                    observed[writer] |= writer != i;
                                    Some(versions[writer][write])
                                }
                                None if initial_of.get(&key) == Some(&value_key) => Some(0),
                                None if !initial_of.contains_key(&key) && value.is_null() => {
                                    Some(0)
                                }
                                None => {
                                    return Err(invalid(format!(
                                        "T{} commuted key {} onto {value}, which no transaction wrote and is not its initial value",
                                        t.id.as_id(),
                                        w.key
                                    )))
                                }
                            }
                        }
                        (None, _) => None,
                    };
                    Some(Box::new(CommuteBase {
                        version: base,
                        value: c.value.clone(),
                    }))
                }
            };
            writes.push(Write {
                key,
                version,
                value: w.value.clone(),
                commuted,
            });
        }
        transactions[i].writes = writes;
        let mut reads = Vec::with_capacity(t.reads.len());
        for r in &t.reads {
            let key = keys.of(&r.key);
            let version = match (r.version, &r.value) {
                (Some(version), _) => {
                    if let Some(&writer) = unknown_writes.get(&(key, version)) {
                        observed[writer] |= writer != i;
                    }
                    version
                }
                (None, None) => {
                    return Err(invalid(format!(
                        "T{} reads key {} with neither a version nor a value",
                        t.id.as_id(),
                        r.key
                    )))
                }
                (None, Some(value)) => {
                    let value_key = ValueKey::of(value);
                    match written.get(&(key, value_key.clone())) {
                        Some(&(writer, write)) => {
                            if writer != i {
                                observed[writer] = true;
                            }
                            versions[writer][write]
                        }
                        None if initial_of.get(&key) == Some(&value_key) => 0,
                        None if !initial_of.contains_key(&key) && value.is_null() => 0,
                        None => {
                            return Err(invalid(format!(
                                "T{} read {value} from key {}, which no transaction wrote and is not its initial value",
                                t.id.as_id(), r.key
                            )))
                        }
                    }
                }
            };
            reads.push(Read {
                key,
                version,
                value: r.value.clone(),
            });
        }
        transactions[i].reads = reads;
    }
    settle_unknown(document, &observed, transactions, context);
    Ok(())
}

/// Per-key version orders of registers whose writes carry no version,
/// inferred from read-then-write: a transaction that read value `v` of a
/// key and then wrote the key put its write after `v`'s; a commuted write
/// goes after the value it was applied to (its base). Each key's
/// committed final writes must form a tree rooted at the initial value
/// (a write with no such read is placed only when it is the key's one
/// write); branches (two writes after one version: a lost update) are
/// ordered by their place in the file, and said so.
fn infer_register_orders(
    document: &Document,
    keys: &Interner,
    written: &FxHashMap<(u64, ValueKey), (usize, usize)>,
    initial_of: &FxHashMap<u64, ValueKey>,
    context: &mut Context,
) -> Result<Vec<Vec<u64>>, HistoryError> {
    let txs = &document.transactions;
    // Children of each version, per key: `None` is the initial value.
    type Node = Option<(usize, usize)>;
    let mut children: FxHashMap<(u64, Node), Vec<(usize, usize)>> = FxHashMap::default();
    let mut installed_count: FxHashMap<u64, usize> = FxHashMap::default();
    let mut blind: FxHashMap<u64, (usize, usize)> = FxHashMap::default();
    let mut later: Vec<(u64, usize, usize)> = Vec::new();
    for (i, t) in txs.iter().enumerate() {
        for (j, w) in t.writes.iter().enumerate() {
            let key = keys.of(&w.key);
            let is_final = !t.writes[j + 1..].iter().any(|x| keys.of(&x.key) == key);
            if !(is_final && t.outcome != OutcomeV2::Aborted) {
                later.push((key, i, j));
                continue;
            }
            *installed_count.entry(key).or_default() += 1;
            // A commute's base: the version it was applied to, which it
            // follows as a read-then-write follows the version read.
            let base = w.commuted.as_ref().and_then(|c| c.value.as_ref());
            let from_base = base.and_then(|value| {
                let value_key = ValueKey::of(value);
                match written.get(&(key, value_key.clone())) {
                    Some(&(writer, write)) if writer != i => Some(Some((writer, write))),
                    Some(_) => None,
                    None if initial_of.get(&key) == Some(&value_key) || value.is_null() => {
                        Some(None)
                    }
                    None => None,
                }
            });
            // Else the version this transaction read of the key, from another.
            let before = from_base.or_else(|| {
                t.reads.iter().find_map(|r| {
                    let value = r.value.as_ref()?;
                    if keys.of(&r.key) != key {
                        return None;
                    }
                    let value_key = ValueKey::of(value);
                    match written.get(&(key, value_key.clone())) {
                        Some(&(writer, write)) if writer != i => Some(Some((writer, write))),
                        Some(_) => None,
                        None if initial_of.get(&key) == Some(&value_key) || value.is_null() => {
                            Some(None)
                        }
                        None => None,
                    }
                })
            });
            match before {
                Some(parent) => children.entry((key, parent)).or_default().push((i, j)),
                None => {
                    blind.insert(key, (i, j));
                }
            }
        }
    }
    let mut versions: Vec<Vec<u64>> = txs.iter().map(|t| vec![0; t.writes.len()]).collect();
    let mut next_version: FxHashMap<u64, u64> = FxHashMap::default();
    let mut branched = 0usize;
    let mut key_list: Vec<u64> = installed_count.keys().copied().collect();
    key_list.sort_unstable();
    for key in key_list {
        let count = installed_count[&key];
        if let Some(&(i, j)) = blind.get(&key) {
            if count > 1 {
                return Err(invalid(format!(
                    "key {}: T{} wrote it without reading it first, so its place among the key's {count} writes cannot be inferred; give every write a \"version\" (with \"versions\": \"per-key\") or use the \"list-append\" model",
                    txs[i].writes[j].key, txs[i].id.as_id()
                )));
            }
            children.entry((key, None)).or_default().push((i, j));
        }
        // Depth-first from the initial value, children in file order.
        let mut stack: Vec<(usize, usize)> = Vec::new();
        let push_children = |node: Node, stack: &mut Vec<(usize, usize)>, branched: &mut usize| {
            if let Some(kids) = children.get(&(key, node)) {
                if kids.len() > 1 {
                    *branched += 1;
                }
                stack.extend(kids.iter().rev());
            }
        };
        push_children(None, &mut stack, &mut branched);
        let mut placed = 0usize;
        let counter = next_version.entry(key).or_insert(0);
        while let Some((i, j)) = stack.pop() {
            *counter += 1;
            versions[i][j] = *counter;
            placed += 1;
            push_children(Some((i, j)), &mut stack, &mut branched);
        }
        if placed < count {
            return Err(invalid(format!(
                "key {}: {} of its {count} writes follow no chain of reads from its initial value, so their order cannot be inferred; give every write a \"version\" (with \"versions\": \"per-key\") or use the \"list-append\" model",
                keys_name(txs, keys, key),
                count - placed
            )));
        }
    }
    for (key, i, j) in later {
        let counter = next_version.entry(key).or_insert(0);
        *counter += 1;
        versions[i][j] = *counter;
    }
    if branched > 0 {
        context.notes.push(format!(
            "{branched} versions were overwritten by two or more transactions that each read them (lost updates); their order is taken from the file, which changes which cycle is shown, not whether there is one"
        ));
    }
    context.notes.push(
        "register writes carry no versions: each key's version order was inferred from the values read before each write".to_string(),
    );
    Ok(versions)
}

/// The document's name of key number `key`.
fn keys_name(txs: &[TransactionV2], keys: &Interner, key: u64) -> String {
    txs.iter()
        .flat_map(|t| &t.writes)
        .find(|w| keys.of(&w.key) == key)
        .map_or_else(|| key.to_string(), |w| w.key.to_string())
}

/// The list-append model: the version order of each key is the longest
/// list read of it; every read must be a prefix of it.
fn lists(
    document: &Document,
    keys: &Interner,
    ids: &Interner,
    transactions: &mut [Transaction],
    context: &mut Context,
) -> Result<(), HistoryError> {
    let txs = &document.transactions;
    if let Some(t) = txs.iter().find(|t| !t.writes.is_empty()) {
        return Err(invalid(format!(
            "T{} has \"writes\"; the \"list-append\" model has \"appends\" and reads of whole lists",
            t.id.as_id()
        )));
    }
    // Who appended each element of each key.
    let mut appended: FxHashMap<(u64, ValueKey), (usize, usize)> = FxHashMap::default();
    for (i, t) in txs.iter().enumerate() {
        for (j, a) in t.appends.iter().enumerate() {
            let Some(value) = &a.value else {
                return Err(invalid(format!(
                    "T{} appends to key {} without a value",
                    t.id.as_id(),
                    a.key
                )));
            };
            if let Some((first, _)) =
                appended.insert((keys.of(&a.key), ValueKey::of(value)), (i, j))
            {
                return Err(invalid(format!(
                    "T{} and T{} both append {value} to key {}: appended elements must be unique per key",
                    txs[first].id.as_id(), t.id.as_id(), a.key
                )));
            }
        }
    }
    // The longest list read of each key: its order of appends.
    let mut longest: FxHashMap<u64, (&Vec<Value>, usize)> = FxHashMap::default();
    for (i, t) in txs.iter().enumerate() {
        for r in &t.reads {
            let list = match &r.value {
                Some(Value::Array(list)) => list,
                Some(Value::Null) | None if r.version.is_none() => {
                    return Err(invalid(format!(
                        "T{} reads key {} without the list it saw (\"value\": [...])",
                        t.id.as_id(), r.key
                    )))
                }
                _ => {
                    return Err(invalid(format!(
                        "T{} reads key {}: in the \"list-append\" model a read's \"value\" is the whole list (and it has no \"version\")",
                        t.id.as_id(), r.key
                    )))
                }
            };
            let entry = longest.entry(keys.of(&r.key)).or_insert((list, i));
            if list.len() > entry.0.len() {
                *entry = (list, i);
            }
        }
    }
    // Versions: position in the longest list (1-based).
    let mut version_of: FxHashMap<(u64, ValueKey), u64> = FxHashMap::default();
    let mut order_len: FxHashMap<u64, usize> = FxHashMap::default();
    let mut observed = vec![false; txs.len()];
    let mut sorted_keys: Vec<u64> = longest.keys().copied().collect();
    sorted_keys.sort_unstable();
    for key in sorted_keys {
        let (list, reader) = longest[&key];
        let mut len = list.len();
        for (p, element) in list.iter().enumerate() {
            let element_key = ValueKey::of(element);
            let Some(&(writer, _)) = appended.get(&(key, element_key.clone())) else {
                let r = &txs[reader];
                let name = r
                    .reads
                    .iter()
                    .find(|x| keys.of(&x.key) == key)
                    .map(|x| &x.key);
                return Err(invalid(format!(
                    "T{} read {element} in the list of key {}, which no transaction appended",
                    r.id.as_id(),
                    name.map_or_else(|| key.to_string(), |n| n.to_string())
                )));
            };
            if version_of
                .insert((key, element_key), p as u64 + 1)
                .is_some()
            {
                // The same element twice: the order is known only before it.
                let id = ids.of(&txs[reader].id);
                context.anomalies.push(incompatible(
                    vec![id],
                    key,
                    format!("T{id} read key {key} with {element} twice in its list: an append applied twice"),
                ));
                len = p;
                break;
            }
            if writer != reader {
                observed[writer] = true;
            }
        }
        order_len.insert(key, len);
    }
    // Reads: the length of the prefix seen is its version.
    let mut dropped_reads = 0usize;
    for (i, t) in txs.iter().enumerate() {
        let mut reads = Vec::with_capacity(t.reads.len());
        for r in &t.reads {
            let key = keys.of(&r.key);
            let Some(Value::Array(list)) = &r.value else {
                continue;
            };
            let (order, reader) = longest[&key];
            let fits = list.len() <= order_len[&key] && order[..list.len()] == list[..];
            if !fits {
                dropped_reads += 1;
                let other = &txs[reader];
                let (me, them) = (ids.of(&t.id), ids.of(&other.id));
                context.anomalies.push(incompatible(
                    vec![me, them],
                    key,
                    format!(
                        "T{me} read key {key} as {}, but T{them} read it as {}: no single order of appends gives both",
                        Value::Array(list.clone()),
                        Value::Array(order.clone())
                    ),
                ));
                continue;
            }
            reads.push(Read {
                key,
                version: list.len() as u64,
                value: None,
            });
        }
        transactions[i].reads = reads;
    }
    settle_unknown(document, &observed, transactions, context);
    // Appends: observed ones at their position; the unobserved ones of
    // committed transactions after them, in program order when they all
    // come from one transaction, and otherwise left out (their order is
    // unknown); those of other attempts after everything (never read).
    let mut unobserved: FxHashMap<u64, Vec<(usize, usize)>> = FxHashMap::default();
    let mut aborted_tail: Vec<(u64, usize, usize)> = Vec::new();
    let mut versions: Vec<Vec<Option<u64>>> =
        txs.iter().map(|t| vec![None; t.appends.len()]).collect();
    for (i, t) in txs.iter().enumerate() {
        for (j, a) in t.appends.iter().enumerate() {
            let key = keys.of(&a.key);
            let element = a.value.as_ref().map(ValueKey::of).expect("checked above");
            match version_of.get(&(key, element)) {
                Some(&v) if v as usize <= order_len.get(&key).copied().unwrap_or(0) => {
                    versions[i][j] = Some(v)
                }
                _ if transactions[i].outcome == Outcome::Committed => {
                    unobserved.entry(key).or_default().push((i, j))
                }
                _ => aborted_tail.push((key, i, j)),
            }
        }
    }
    let mut next: FxHashMap<u64, u64> = order_len.iter().map(|(&k, &l)| (k, l as u64)).collect();
    let mut left_out = Vec::new();
    let mut unobserved_keys: Vec<u64> = unobserved.keys().copied().collect();
    unobserved_keys.sort_unstable();
    for key in unobserved_keys {
        let appends = &unobserved[&key];
        let one_writer = appends.iter().all(|&(i, _)| i == appends[0].0);
        if one_writer {
            for &(i, j) in appends {
                let counter = next.entry(key).or_insert(0);
                *counter += 1;
                versions[i][j] = Some(*counter);
            }
        } else {
            left_out.push((key, appends.len()));
        }
    }
    for (key, i, j) in aborted_tail {
        let counter = next.entry(key).or_insert(0);
        *counter += 1;
        versions[i][j] = Some(*counter);
    }
    for (i, t) in txs.iter().enumerate() {
        transactions[i].writes = t
            .appends
            .iter()
            .zip(&versions[i])
            .filter_map(|(a, v)| {
                v.map(|version| Write {
                    key: keys.of(&a.key),
                    version,
                    value: None,
                    commuted: None,
                })
            })
            .collect();
    }
    if !left_out.is_empty() {
        let total: usize = left_out.iter().map(|&(_, n)| n).sum();
        context.notes.push(format!(
            "{total} committed appends to {} keys were never read and come from several transactions, so their order is unknown: they take no part in the ww and rw dependencies (a final read of every key includes them)",
            left_out.len()
        ));
    }
    if dropped_reads > 0 {
        context.notes.push(format!(
            "{dropped_reads} reads fit no single order of appends (reported as incompatible-order) and were left out of the dependency graph"
        ));
    }
    context
        .notes
        .push("list-append: each key's version order is the longest list read of it".to_string());
    Ok(())
}

/// An anomaly of reads that no single order of appends explains.
fn incompatible(transactions: Vec<u64>, key: u64, line: String) -> Anomaly {
    Anomaly {
        class: AnomalyClass::IncompatibleOrder,
        pattern: None,
        transactions,
        keys: vec![key],
        cycle: Vec::new(),
        shortest: None,
        most_severe: None,
        explanation: vec![line],
    }
}
