//! Recording engine runs as histories: a [`Recorder`] for stm-core runtimes
//! that builds an `stm-history` document, ready for [`history::check`].
//!
//! Real-time positions are taken from one counter under the recorder's lock,
//! in the order the engine reports events; versions are the engine's own, so
//! nothing is inferred.
//!
//! [`history::check`]: crate::history::check

use crate::history::{CommuteBase, History, InitialValue, Outcome, Read, Transaction, Write};
use std::collections::BTreeMap;
use std::fmt;
use std::sync::Mutex;
use stm_core::recorder::{AttemptEnd, AttemptId, Event, Recorder};
use stm_core::{CallSite, Invariant, TVarId};

/// Builds a [`History`] from the events of one runtime.
///
/// ```
/// use std::sync::Arc;
/// use stm_check::record::HistoryRecorder;
/// use stm_core::{Stm, StmConfig};
///
/// let recorder = Arc::new(HistoryRecorder::new());
/// let stm = Stm::with_recorder(StmConfig::default(), recorder.clone());
/// let v = stm.new_tvar(5_i64);
/// recorder.set_initial(v.id(), 5);
/// stm.atomically(|tx| tx.modify(&v, |x| x + 1));
/// let history = recorder.history();
/// assert_eq!(history.transactions.len(), 1);
/// assert!(stm_check::history::check(&history).unwrap().is_valid());
/// ```
#[derive(Debug, Default)]
pub struct HistoryRecorder {
    state: Mutex<Recording>,
}

#[derive(Debug, Default)]
struct Recording {
    /// The next real-time position.
    clock: u64,
    /// Attempts by id (ids are dense, from 0).
    attempts: Vec<Option<Transaction>>,
    initial: Vec<InitialValue>,
    /// Where each attempt came from and why it ended without committing,
    /// by attempt id (not part of the history).
    notes: Vec<Option<AttemptNotes>>,
    /// The TVars' names.
    tvars: BTreeMap<TVarId, TVarName>,
    /// One line per event, when tracing.
    trace: Option<Vec<String>>,
    /// The engine invariants broken, in the order reported.
    broken: Vec<BrokenInvariant>,
}

/// An engine invariant the runtime reported broken
/// ([`Event::InvariantBroken`]): a bug of stm-core, whatever the workload.
///
/// ```
/// use stm_check::record::BrokenInvariant;
/// use stm_core::Invariant;
///
/// let broken = BrokenInvariant { invariant: Invariant::IrrevocableAborted, attempt: Some(3), thread: 1 };
/// assert_eq!(
///     broken.to_string(),
///     "engine invariant irrevocable-aborted broken by T3 (thread 1): \
///      an irrevocable attempt (holding serial mode) must never abort"
/// );
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BrokenInvariant {
    /// Which invariant.
    pub invariant: Invariant,
    /// The attempt that broke it, where the engine said.
    pub attempt: Option<AttemptId>,
    /// The thread that broke it.
    pub thread: u64,
}

impl fmt::Display for BrokenInvariant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "engine invariant {} broken by ", self.invariant.name())?;
        if let Some(attempt) = self.attempt {
            write!(f, "T{attempt} (thread {})", self.thread)?;
        } else {
            write!(f, "thread {}", self.thread)?;
        }
        write!(f, ": {}", self.invariant.description())
    }
}

/// What the history does not say about an attempt.
#[derive(Debug, Clone, Copy)]
struct AttemptNotes {
    site: CallSite,
    end: Option<AttemptEnd>,
}

/// How a TVar is named in explanations: by its label, else by where it
/// was created.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TVarName {
    /// Where the TVar was created, when the engine said.
    pub created_at: Option<CallSite>,
    /// Its label ([`TVar::set_label`](stm_core::TVar::set_label), or a
    /// workload variable's name), if it has one.
    pub label: Option<String>,
}

/// How a recorded attempt stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttemptState {
    /// It had not ended when the history was taken (its thread was still
    /// in it, or stopped in it: a deadlock, a panic of the model checker).
    Running,
    /// It committed.
    Committed,
    /// It ended without committing, for this reason.
    Ended(AttemptEnd),
}

/// One attempt as recorded, with what the history leaves out: the call
/// site of its `atomically` and why it ended.
#[derive(Debug, Clone)]
pub struct RecordedAttempt {
    /// The attempt as the history has it (a running one has `end ==
    /// begin`, and its reads so far).
    pub transaction: Transaction,
    /// The call site of its `atomically` (`None` from an engine that does
    /// not report it).
    pub site: Option<CallSite>,
    /// How it stands.
    pub state: AttemptState,
}

/// Everything recorded about one execution, for explaining it: every
/// attempt (running ones included) in the order they began, and the
/// TVars' names.
#[derive(Debug, Clone, Default)]
pub struct RecordedExecution {
    /// The attempts, by id (the order they began).
    pub attempts: Vec<RecordedAttempt>,
    /// The TVars' names, by id.
    pub tvars: BTreeMap<TVarId, TVarName>,
}

impl RecordedExecution {
    /// Why each attempt that ended without committing ended, by attempt
    /// id, in words (`Conflict { kind: ReadValidation, tvar: Some(1) }`):
    /// what the history itself does not say, compared when a replay is
    /// checked against the execution it reproduces.
    pub fn abort_causes(&self) -> BTreeMap<u64, String> {
        self.attempts
            .iter()
            .filter_map(|a| match a.state {
                AttemptState::Ended(end) => Some((a.transaction.id, format!("{end:?}"))),
                AttemptState::Running | AttemptState::Committed => None,
            })
            .collect()
    }
}

impl HistoryRecorder {
    /// An empty recorder.
    pub fn new() -> Self {
        Self::default()
    }

    /// A recorder that also keeps a step-by-step trace of the events
    /// ([`trace`](Self::trace)).
    pub fn with_trace() -> Self {
        HistoryRecorder {
            state: Mutex::new(Recording {
                trace: Some(Vec::new()),
                ..Recording::default()
            }),
        }
    }

    /// The trace: one line per event, in the order they happened (empty
    /// unless made [`with_trace`](Self::with_trace)).
    pub fn trace(&self) -> Vec<String> {
        self.lock().trace.clone().unwrap_or_default()
    }

    /// Records the initial value of a TVar (its value at version 0), so that
    /// the checker can compare the values read with it.
    pub fn set_initial(&self, tvar: TVarId, value: i64) {
        self.lock().initial.push(InitialValue {
            key: tvar,
            value: value.into(),
        });
    }

    /// Names a TVar in explanations (as [`TVar::set_label`] does, without
    /// involving the runtime): a workload's variable names.
    ///
    /// [`TVar::set_label`]: stm_core::TVar::set_label
    pub fn set_label(&self, tvar: TVarId, label: impl Into<String>) {
        self.lock().tvars.entry(tvar).or_default().label = Some(label.into());
    }

    /// Everything recorded so far, for an explanation of the execution.
    pub fn execution(&self) -> RecordedExecution {
        let state = self.lock();
        let attempts = state
            .attempts
            .iter()
            .enumerate()
            .filter_map(|(index, t)| {
                let transaction = t.clone()?;
                let notes = state.notes.get(index).copied().flatten();
                let state = if transaction.end == transaction.begin {
                    AttemptState::Running
                } else if transaction.outcome == Outcome::Committed {
                    AttemptState::Committed
                } else {
                    notes
                        .and_then(|n| n.end)
                        .map_or(AttemptState::Running, AttemptState::Ended)
                };
                Some(RecordedAttempt {
                    transaction,
                    site: notes.map(|n| n.site),
                    state,
                })
            })
            .collect();
        RecordedExecution {
            attempts,
            tvars: state.tvars.clone(),
        }
    }

    /// The history recorded so far. Attempts still running are left out.
    pub fn history(&self) -> History {
        let state = self.lock();
        History {
            initial: state.initial.clone(),
            transactions: state
                .attempts
                .iter()
                .flatten()
                .filter(|t| t.end > t.begin)
                .cloned()
                .collect(),
        }
    }

    /// How many ordered events (begins, reads, commits, ends) were recorded
    /// so far: the real-time position of the last one. A guided replay
    /// ([`GuidedScheduler`](crate::schedule::GuidedScheduler)) reads it at
    /// every scheduling choice to know which recorded event is due next.
    pub fn events(&self) -> u64 {
        self.lock().clock
    }

    /// The engine invariants reported broken so far, in order (empty for a
    /// correct engine).
    pub fn broken_invariants(&self) -> Vec<BrokenInvariant> {
        self.lock().broken.clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Recording> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// A stable fingerprint of a history (FNV-1a over its JSON), the same on
/// every machine: two replays of one schedule must give the same one.
///
/// ```
/// use stm_check::history::generate::{random_plan, serial_history, SerialOptions};
/// use stm_check::history::History;
/// use stm_check::record::{fingerprint, history_hash};
///
/// assert_eq!(history_hash(&History::default()), history_hash(&History::default()));
/// let history = serial_history(&random_plan(7, 20, 5, 3, 10), SerialOptions::default());
/// assert_eq!(history_hash(&history), fingerprint(&history.to_json_string()));
/// ```
pub fn history_hash(history: &History) -> String {
    // The fingerprint of the JSON text, hashed as it is written: the same
    // value as `fingerprint(&history.to_json_string())`, with no string.
    let mut hasher = Fnv1a::new();
    serde_json::to_writer(&mut hasher, history).expect("a History always serializes");
    hasher.hex()
}

/// A stable 64-bit fingerprint of a text (FNV-1a), as 16 hex digits.
///
/// ```
/// assert_eq!(stm_check::record::fingerprint(""), "cbf29ce484222325");
/// ```
pub fn fingerprint(text: &str) -> String {
    let mut hasher = Fnv1a::new();
    hasher.add(text.as_bytes());
    hasher.hex()
}

/// The FNV-1a hash of the bytes written to it.
struct Fnv1a(u64);

impl Fnv1a {
    fn new() -> Fnv1a {
        Fnv1a(0xcbf2_9ce4_8422_2325)
    }

    fn add(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.0 ^= u64::from(byte);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }

    fn hex(&self) -> String {
        format!("{:016x}", self.0)
    }
}

impl std::io::Write for Fnv1a {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.add(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Recording {
    fn attempt(&mut self, attempt: AttemptId) -> Option<&mut Transaction> {
        self.attempts
            .get_mut(usize::try_from(attempt).ok()?)
            .and_then(Option::as_mut)
    }
}

impl Recorder for HistoryRecorder {
    fn record(&self, event: &Event<'_>) {
        let mut state = self.lock();
        // Names are not events of the history: they take no real-time
        // position (histories, and their fingerprints, stay as they were).
        match *event {
            Event::Created { tvar, at } => {
                state.tvars.entry(tvar).or_default().created_at = Some(at);
                return;
            }
            Event::Labelled { tvar, label } => {
                state.tvars.entry(tvar).or_default().label = Some(label.to_string());
                return;
            }
            // Not part of the history either (histories and fingerprints
            // stay as they were); traced, without a step of its own.
            Event::InvariantBroken {
                invariant,
                attempt,
                thread,
            } => {
                let broken = BrokenInvariant {
                    invariant,
                    attempt,
                    thread,
                };
                let step = state.clock;
                if let Some(trace) = &mut state.trace {
                    trace.push(format!("{step:>5}  task {thread}  {broken}"));
                }
                state.broken.push(broken);
                return;
            }
            _ => {}
        }
        state.clock += 1;
        let now = state.clock;
        if state.trace.is_some() {
            let line = trace_line(now, &state, event);
            if let Some(trace) = &mut state.trace {
                trace.push(line);
            }
        }
        match *event {
            Event::Begin {
                attempt,
                thread,
                site,
            } => {
                let index = attempt as usize;
                if state.attempts.len() <= index {
                    state.attempts.resize(index + 1, None);
                    state.notes.resize(index + 1, None);
                }
                state.notes[index] = Some(AttemptNotes { site, end: None });
                state.attempts[index] = Some(Transaction {
                    id: attempt,
                    thread,
                    outcome: Outcome::Aborted,
                    begin: now,
                    end: now,
                    snapshot: None,
                    commit_version: None,
                    reads: Vec::new(),
                    writes: Vec::new(),
                });
            }
            Event::Read {
                attempt,
                tvar,
                version,
                value,
            } => {
                if let Some(t) = state.attempt(attempt) {
                    t.reads.push(Read {
                        key: tvar,
                        version,
                        value: value.map(Into::into),
                    });
                }
            }
            Event::Commit {
                attempt,
                snapshot,
                version,
                writes,
            } => {
                if let Some(t) = state.attempt(attempt) {
                    t.outcome = Outcome::Committed;
                    t.end = now;
                    t.snapshot = Some(snapshot);
                    t.commit_version = version;
                    if let Some(version) = version {
                        t.writes = writes
                            .iter()
                            .map(|w| Write {
                                key: w.tvar,
                                version,
                                value: w.value.map(Into::into),
                                commuted: w.commuted.map(|base| {
                                    Box::new(CommuteBase {
                                        version: Some(base.version),
                                        value: base.value.map(Into::into),
                                    })
                                }),
                            })
                            .collect();
                    }
                }
            }
            Event::End {
                attempt,
                snapshot,
                reason,
            } => {
                if let Some(t) = state.attempt(attempt) {
                    t.outcome = Outcome::Aborted;
                    t.end = now;
                    t.snapshot = Some(snapshot);
                }
                if let Some(Some(notes)) = state.notes.get_mut(attempt as usize) {
                    notes.end = Some(reason);
                }
            }
            Event::Created { .. } | Event::Labelled { .. } | Event::InvariantBroken { .. } => {}
        }
    }
}

/// One trace line: the step, the thread, the attempt and what it did.
fn trace_line(step: u64, state: &Recording, event: &Event<'_>) -> String {
    let thread = |attempt: AttemptId| {
        state
            .attempts
            .get(attempt as usize)
            .and_then(Option::as_ref)
            .map_or(0, |t| t.thread)
    };
    let value = |v: Option<i64>| v.map_or(String::new(), |v| format!(" = {v}"));
    match *event {
        Event::Begin { attempt, thread, .. } => format!("{step:>5}  task {thread}  T{attempt} begins"),
        Event::Read { attempt, tvar, version, value: v } => format!(
            "{step:>5}  task {}  T{attempt} reads TVar {tvar} version {version}{}",
            thread(attempt),
            value(v)
        ),
        Event::Commit { attempt, snapshot, version, writes } => {
            let written: Vec<String> = writes
                .iter()
                .map(|w| match w.commuted {
                    Some(base) => format!(
                        "TVar {}{} (commuted onto version {}{})",
                        w.tvar,
                        value(w.value),
                        base.version,
                        value(base.value)
                    ),
                    None => format!("TVar {}{}", w.tvar, value(w.value)),
                })
                .collect();
            match version {
                Some(version) => format!(
                    "{step:>5}  task {}  T{attempt} commits version {version} (snapshot {snapshot}), writing {}",
                    thread(attempt),
                    written.join(", ")
                ),
                None => format!(
                    "{step:>5}  task {}  T{attempt} commits read-only at snapshot {snapshot}",
                    thread(attempt)
                ),
            }
        }
        Event::End { attempt, snapshot, reason } => format!(
            "{step:>5}  task {}  T{attempt} ends without committing (snapshot {snapshot}): {reason:?}",
            thread(attempt)
        ),
        // Not traced: names take no step (see `record`).
        Event::Created { .. } | Event::Labelled { .. } | Event::InvariantBroken { .. } => {
            String::new()
        }
    }
}
