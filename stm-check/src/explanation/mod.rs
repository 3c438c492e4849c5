//! Failure explanations: the failing execution told in the user's terms,
//! so that a failure can be understood without a debugger.
//!
//! A failure's message alone (an assertion's text, shuttle's `deadlock!
//! blocked tasks: [...]`) names no transaction, no TVar and no line of the
//! user's code. The recorder knows more ([`RecordedExecution`]): every
//! attempt with the call site of its `atomically`, what it read and wrote
//! and how it ended, and each TVar's label and creation site. From that,
//! [`explain`] writes:
//!
//! - where the test panicked (the assertion's location), when it did;
//! - for a deadlock, each blocked task: the TVars its `retry` waits on
//!   (label and creation line), or that it is blocked outside any
//!   transaction (joining another task);
//! - the execution's attempts per thread, in the order they began: call
//!   site, reads and writes with versions and values, and the outcome:
//!   committed (version), aborted (the conflict and the TVar responsible,
//!   and who wrote it), retried (and which later commit woke it), gave up,
//!   panicked;
//! - the TVars named, with where each was created.
//!
//! Explanations are bounded: at most [`ExplainOptions::max_attempts`]
//! attempts, the last ones before the failure, with a line saying how many
//! were left out.

mod deadlock;

pub use deadlock::{blocked_tasks, BlockedTask};

use crate::history::Outcome;
use crate::record::{AttemptState, RecordedAttempt, RecordedExecution, TVarName};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use stm_core::recorder::AttemptEnd;
use stm_core::{AbortKind, TVarId};

/// How much an explanation shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExplainOptions {
    /// Attempts listed at most (the last ones; the others are counted).
    pub max_attempts: usize,
    /// Whether attempts are shown with the call site of their `atomically`
    /// and TVars with where they were created (off for workloads, whose
    /// transactions and TVars all come from stm-check's interpreter).
    pub source_locations: bool,
    /// What a task is, by its id (thread slot), where the caller knows
    /// (`workload thread 0`); task 0 is always the main thread.
    pub task_names: BTreeMap<u64, String>,
}

impl Default for ExplainOptions {
    /// 40 attempts, with source locations.
    fn default() -> Self {
        ExplainOptions {
            max_attempts: 40,
            source_locations: true,
            task_names: BTreeMap::new(),
        }
    }
}

/// TVars listed at most for one blocked task.
const MAX_WAITED_ON: usize = 10;

/// Explains a failed execution from what was recorded of it: `failure` is
/// its message (a deadlock's is read for the blocked tasks), `panicked_at`
/// where the first panic was raised, if it is the user's (see
/// [`first_panic_location`](crate::schedule::first_panic_location)). The
/// text does not repeat the message.
///
/// ```
/// use std::sync::Arc;
/// use stm_check::explanation::{explain, ExplainOptions};
/// use stm_check::record::HistoryRecorder;
/// use stm_core::{Stm, StmConfig};
///
/// let recorder = Arc::new(HistoryRecorder::new());
/// let stm = Stm::with_recorder(StmConfig::default(), recorder.clone());
/// let total = stm.new_tvar(5_i64);
/// total.set_label("total");
/// stm.atomically(|tx| tx.modify(&total, |t| t + 1));
/// let text = explain(&recorder.execution(), "total is wrong", None, &ExplainOptions::default());
/// assert!(text.contains("read \"total\" = 5 (initial)"), "{text}");
/// assert!(text.contains("wrote \"total\" = 6"), "{text}");
/// assert!(text.contains("committed version 1"), "{text}");
/// ```
pub fn explain(
    execution: &RecordedExecution,
    failure: &str,
    panicked_at: Option<&str>,
    options: &ExplainOptions,
) -> String {
    let story = Story {
        execution,
        options,
        named: Default::default(),
    };
    let mut text = String::new();
    if let Some(location) = panicked_at {
        let _ = writeln!(text, "panicked at {location}");
    }
    if let Some(blocked) = blocked_tasks(failure) {
        story.write_deadlock(&mut text, &blocked);
    }
    story.write_attempts(&mut text);
    story.write_tvars(&mut text);
    text.trim().to_string()
}

/// One explanation being written; remembers the TVars it named.
struct Story<'a> {
    execution: &'a RecordedExecution,
    options: &'a ExplainOptions,
    named: std::cell::RefCell<BTreeSet<TVarId>>,
}

impl Story<'_> {
    /// A TVar's short name: its label, else its id and creation line.
    fn tvar(&self, tvar: TVarId) -> String {
        self.named.borrow_mut().insert(tvar);
        match self.execution.tvars.get(&tvar) {
            Some(TVarName {
                label: Some(label), ..
            }) => format!("\"{label}\""),
            Some(TVarName {
                created_at: Some(at),
                ..
            }) if self.options.source_locations => {
                format!("TVar {tvar} ({}:{})", file_name(at.file()), at.line())
            }
            _ => format!("TVar {tvar}"),
        }
    }

    /// A TVar's full name: label, id and where it was created.
    fn tvar_in_full(&self, tvar: TVarId) -> String {
        self.named.borrow_mut().insert(tvar);
        let name = self.execution.tvars.get(&tvar);
        let created = name
            .and_then(|n| n.created_at)
            .filter(|_| self.options.source_locations)
            .map_or(String::new(), |at| format!(", created at {at}"));
        match name.and_then(|n| n.label.as_deref()) {
            Some(label) => format!("\"{label}\" (TVar {tvar}{created})"),
            None => format!("TVar {tvar}{}", created.replacen(',', "", 1)),
        }
    }

    /// `T<id> (task N, site)`: another attempt, as a cause.
    fn other(&self, attempt: &RecordedAttempt) -> String {
        let t = &attempt.transaction;
        match attempt.site.filter(|_| self.options.source_locations) {
            Some(site) => format!("T{} (task {}, {site})", t.id, t.thread),
            None => format!("T{} (task {})", t.id, t.thread),
        }
    }

    fn write_deadlock(&self, text: &mut String, blocked: &[BlockedTask]) {
        let _ = writeln!(text, "\ndeadlock: every unfinished task is blocked:");
        for task in blocked {
            let name = self
                .options
                .task_names
                .get(&task.id)
                .or(task.name.as_ref())
                .map_or(String::new(), |n| format!(" ({n})"));
            let last = self
                .execution
                .attempts
                .iter()
                .rfind(|a| a.transaction.thread == task.id);
            let site = |a: &RecordedAttempt| match a.site.filter(|_| self.options.source_locations)
            {
                Some(site) => format!(" at {site}"),
                None => String::new(),
            };
            match last {
                Some(a) if a.state == AttemptState::Ended(AttemptEnd::Retry) => {
                    let keys = read_keys(a);
                    let _ = writeln!(
                        text,
                        "  task {}{name}: blocked in `retry` of T{}{}, waiting for a change to:",
                        task.id,
                        a.transaction.id,
                        site(a)
                    );
                    for key in keys.iter().take(MAX_WAITED_ON) {
                        let value = a.transaction.reads.iter().rfind(|r| r.key == *key).map_or(
                            String::new(),
                            |r| {
                                format!(
                                    ", which it read as {}",
                                    value_at(r.value.as_ref(), r.version)
                                )
                            },
                        );
                        let _ = writeln!(text, "    {}{value}", self.tvar_in_full(*key));
                    }
                    if keys.len() > MAX_WAITED_ON {
                        let _ = writeln!(text, "    ({} more)", keys.len() - MAX_WAITED_ON);
                    }
                    if keys.is_empty() {
                        let _ = writeln!(
                            text,
                            "    nothing: it read no TVar before `retry`, so no commit can wake it"
                        );
                    } else if let Some(waker) = self.waker(a) {
                        let _ = writeln!(
                            text,
                            "    (it was woken by {} and is waiting again)",
                            self.other(waker)
                        );
                    } else {
                        let _ = writeln!(
                            text,
                            "    no commit has changed them since, and no other task can run to change them"
                        );
                    }
                }
                Some(a) if a.state == AttemptState::Running => {
                    let _ = writeln!(
                        text,
                        "  task {}{name}: blocked inside T{}{} (it has not ended)",
                        task.id,
                        a.transaction.id,
                        site(a)
                    );
                }
                Some(a) => {
                    let _ = writeln!(
                        text,
                        "  task {}{name}: blocked outside any transaction (joining another task, or waiting on a lock or channel); its last transaction was T{}{}",
                        task.id,
                        a.transaction.id,
                        site(a)
                    );
                }
                None => {
                    let _ = writeln!(
                        text,
                        "  task {}{name}: blocked outside any transaction (joining another task, or waiting on a lock or channel); it ran no transaction",
                        task.id
                    );
                }
            }
        }
    }

    fn write_attempts(&self, text: &mut String) {
        let attempts = &self.execution.attempts;
        if attempts.is_empty() {
            let _ = writeln!(text, "\nno transaction ran");
            return;
        }
        let shown_from = attempts.len().saturating_sub(self.options.max_attempts);
        let _ = writeln!(
            text,
            "\nthe execution's transactions, by task (T<n>: attempts, numbered in the order they began; @b-e: their begin and end in the order of recorded events):"
        );
        if shown_from > 0 {
            let _ = writeln!(
                text,
                "({shown_from} earlier attempt(s) left out; the last {} shown)",
                attempts.len() - shown_from
            );
        }
        let mut by_thread: BTreeMap<u64, Vec<&RecordedAttempt>> = BTreeMap::new();
        for attempt in &attempts[shown_from..] {
            by_thread
                .entry(attempt.transaction.thread)
                .or_default()
                .push(attempt);
        }
        for (thread, attempts) in by_thread {
            let name = match self.options.task_names.get(&thread) {
                Some(name) => format!(" ({name})"),
                None if thread == 0 => " (main thread)".to_string(),
                None => String::new(),
            };
            let _ = writeln!(text, "task {thread}{name}:");
            for attempt in attempts {
                self.write_attempt(text, attempt);
            }
        }
    }

    fn write_attempt(&self, text: &mut String, attempt: &RecordedAttempt) {
        let t = &attempt.transaction;
        let span = if attempt.state == AttemptState::Running {
            format!("@{}-", t.begin)
        } else {
            format!("@{}-{}", t.begin, t.end)
        };
        let site = match attempt.site.filter(|_| self.options.source_locations) {
            Some(site) => format!(" {site}"),
            None => String::new(),
        };
        let _ = writeln!(text, "  T{} {span}{site}", t.id);
        let reads: Vec<String> = t
            .reads
            .iter()
            .map(|r| {
                format!(
                    "{} = {}",
                    self.tvar(r.key),
                    value_at(r.value.as_ref(), r.version)
                )
            })
            .collect();
        if !reads.is_empty() {
            let _ = writeln!(text, "     read {}", reads.join(", "));
        }
        let writes: Vec<String> = t
            .writes
            .iter()
            .map(|w| {
                let value = w.value.as_ref().map_or("?".to_string(), Value::to_string);
                match &w.commuted {
                    Some(base) => format!(
                        "{} = {value} (commuted onto {})",
                        self.tvar(w.key),
                        value_at(base.value.as_ref(), base.version.unwrap_or(0))
                    ),
                    None => format!("{} = {value}", self.tvar(w.key)),
                }
            })
            .collect();
        if !writes.is_empty() {
            let _ = writeln!(text, "     wrote {}", writes.join(", "));
        }
        let _ = writeln!(text, "     {}", self.outcome(attempt));
    }

    /// How an attempt ended, with its cause.
    fn outcome(&self, attempt: &RecordedAttempt) -> String {
        let t = &attempt.transaction;
        match attempt.state {
            AttemptState::Running => "had not ended when the execution stopped".to_string(),
            AttemptState::Committed => match t.commit_version {
                Some(version) => format!("committed version {version}"),
                None if t.outcome == Outcome::Committed => format!(
                    "committed read-only at snapshot {}",
                    t.snapshot.unwrap_or_default()
                ),
                None => "committed".to_string(),
            },
            AttemptState::Ended(AttemptEnd::Conflict { kind, tvar }) => {
                let why = match tvar {
                    Some(key) => {
                        let name = self.tvar(key);
                        let by = self.overwriter(attempt, key).map_or(String::new(), |w| {
                            format!(
                                ": {} wrote it at version {}",
                                self.other(w),
                                w.transaction.commit_version.unwrap_or_default()
                            )
                        });
                        format!("{}{by}", conflict(kind, &name))
                    }
                    None => conflict(kind, "a TVar"),
                };
                format!("aborted: {why}; it ran again")
            }
            AttemptState::Ended(AttemptEnd::Retry) => {
                let waiting = read_keys(attempt)
                    .iter()
                    .map(|k| self.tvar(*k))
                    .collect::<Vec<_>>()
                    .join(", ");
                match self.waker(attempt) {
                    Some(waker) => {
                        let wrote: Vec<String> = written_keys(waker)
                            .intersection(&read_keys(attempt))
                            .map(|k| self.tvar(*k))
                            .collect();
                        format!(
                            "retried (waiting for a change to {waiting}); woken by {} committing version {}, which wrote {}",
                            self.other(waker),
                            waker.transaction.commit_version.unwrap_or_default(),
                            wrote.join(", ")
                        )
                    }
                    None if waiting.is_empty() => {
                        "retried having read nothing: nothing can wake it".to_string()
                    }
                    None => format!(
                        "retried (waiting for a change to {waiting}); no later commit of another task wrote them"
                    ),
                }
            }
            AttemptState::Ended(AttemptEnd::UserAbort) => {
                "gave up with the caller's error (no effect)".to_string()
            }
            AttemptState::Ended(AttemptEnd::Panic) => "panicked (no effect)".to_string(),
            AttemptState::Ended(AttemptEnd::Abandoned) => {
                "abandoned by a stopping transaction queue (no effect)".to_string()
            }
        }
    }

    /// The commit that woke a retry: the first, after it, by another task
    /// that wrote a TVar it had read.
    fn waker(&self, retried: &RecordedAttempt) -> Option<&RecordedAttempt> {
        let read = read_keys(retried);
        let t = &retried.transaction;
        self.execution
            .attempts
            .iter()
            .filter(|a| {
                a.state == AttemptState::Committed
                    && a.transaction.thread != t.thread
                    && a.transaction.end > t.end
                    && a.transaction.writes.iter().any(|w| read.contains(&w.key))
            })
            .min_by_key(|a| a.transaction.end)
    }

    /// The commit that wrote `key` past an aborted attempt's snapshot: the
    /// one that made it abort.
    fn overwriter(&self, aborted: &RecordedAttempt, key: TVarId) -> Option<&RecordedAttempt> {
        let snapshot = aborted.transaction.snapshot.unwrap_or_default();
        self.execution
            .attempts
            .iter()
            .filter(|a| {
                a.state == AttemptState::Committed
                    && a.transaction.id != aborted.transaction.id
                    && a.transaction.commit_version.is_some_and(|v| v > snapshot)
                    && a.transaction.writes.iter().any(|w| w.key == key)
            })
            .min_by_key(|a| a.transaction.commit_version)
    }

    fn write_tvars(&self, text: &mut String) {
        let named = self.named.borrow().clone();
        if named.is_empty() {
            return;
        }
        let _ = writeln!(text, "TVars:");
        for key in named {
            let _ = writeln!(text, "  {}", self.tvar_in_full(key));
        }
    }
}

/// What a conflict of `kind` on `tvar` means, in words.
fn conflict(kind: AbortKind, tvar: &str) -> String {
    match kind {
        AbortKind::ReadLocked => {
            format!("it read {tvar} while another transaction was committing it")
        }
        AbortKind::ReadStale => {
            format!("{tvar} changed after its snapshot, and an earlier read had changed too")
        }
        AbortKind::WriteLocked => {
            format!("another transaction held {tvar}, which it writes, when it committed")
        }
        AbortKind::Validation => {
            format!("{tvar}, which it read, changed before it could commit")
        }
        AbortKind::SerialMode => "it gave way to an irrevocable transaction".to_string(),
    }
}

/// A value read and its version: `5 (version 2)`, `5 (initial)`.
fn value_at(value: Option<&Value>, version: u64) -> String {
    let value = value.map_or("?".to_string(), Value::to_string);
    if version == 0 {
        format!("{value} (initial)")
    } else {
        format!("{value} (version {version})")
    }
}

fn read_keys(attempt: &RecordedAttempt) -> BTreeSet<TVarId> {
    attempt.transaction.reads.iter().map(|r| r.key).collect()
}

fn written_keys(attempt: &RecordedAttempt) -> BTreeSet<TVarId> {
    attempt.transaction.writes.iter().map(|w| w.key).collect()
}

/// The last component of a source path.
fn file_name(path: &str) -> &str {
    path.rsplit(['/', '\\']).next().unwrap_or(path)
}

/// Where a panic was raised, if it is worth showing as the user's: not a
/// deadlock (shuttle raises those in its own code) and not a panic raised
/// by stm-check itself (`own_file`, the file of the code that raised the
/// history check's failure).
pub fn user_panic_location(
    failure: &str,
    location: Option<String>,
    own_file: &str,
) -> Option<String> {
    let location = location?;
    let is_own = location
        .rsplit_once(':')
        .and_then(|(rest, _)| rest.rsplit_once(':'))
        .is_some_and(|(file, _)| file == own_file);
    (blocked_tasks(failure).is_none() && !is_own).then_some(location)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::{Read, Transaction, Write};
    use core::panic::Location;

    /// An attempt of `thread` over `[begin, end]` reading `reads` (key,
    /// version) and, committed at `version`, writing `writes`.
    fn attempt(
        id: u64,
        thread: u64,
        (begin, end): (u64, u64),
        reads: &[(u64, u64)],
        state: AttemptState,
        commit: Option<(u64, &[u64])>,
    ) -> RecordedAttempt {
        let (commit_version, writes) = match commit {
            Some((version, keys)) => (
                Some(version),
                keys.iter()
                    .map(|&key| Write {
                        key,
                        version,
                        value: Some(Value::from(7)),
                        commuted: None,
                    })
                    .collect(),
            ),
            None => (None, Vec::new()),
        };
        RecordedAttempt {
            transaction: Transaction {
                id,
                thread,
                outcome: if state == AttemptState::Committed {
                    Outcome::Committed
                } else {
                    Outcome::Aborted
                },
                begin,
                end,
                snapshot: Some(0),
                commit_version,
                reads: reads
                    .iter()
                    .map(|&(key, version)| Read {
                        key,
                        version,
                        value: Some(Value::from(0)),
                    })
                    .collect(),
                writes,
            },
            site: Some(Location::caller()),
            state,
        }
    }

    fn labelled(label: &str) -> BTreeMap<TVarId, TVarName> {
        BTreeMap::from([(
            0,
            TVarName {
                created_at: Some(Location::caller()),
                label: Some(label.to_string()),
            },
        )])
    }

    #[test]
    fn a_retry_names_the_commit_that_woke_it() {
        let execution = RecordedExecution {
            attempts: vec![
                attempt(
                    0,
                    1,
                    (1, 2),
                    &[(0, 0)],
                    AttemptState::Ended(AttemptEnd::Retry),
                    None,
                ),
                attempt(1, 0, (3, 4), &[], AttemptState::Committed, Some((1, &[0]))),
            ],
            tvars: labelled("queue"),
        };
        let text = explain(&execution, "failed", None, &ExplainOptions::default());
        assert!(
            text.contains("retried (waiting for a change to \"queue\"); woken by T1 (task 0, "),
            "{text}"
        );
        assert!(
            text.contains("committing version 1, which wrote \"queue\""),
            "{text}"
        );
    }

    #[test]
    fn an_abort_names_its_conflict_the_tvar_and_its_writer() {
        let conflict = AttemptEnd::Conflict {
            kind: AbortKind::Validation,
            tvar: Some(0),
        };
        let execution = RecordedExecution {
            attempts: vec![
                attempt(0, 1, (1, 5), &[(0, 0)], AttemptState::Ended(conflict), None),
                attempt(
                    1,
                    2,
                    (2, 4),
                    &[(0, 0)],
                    AttemptState::Committed,
                    Some((1, &[0])),
                ),
            ],
            tvars: labelled("x"),
        };
        let text = explain(&execution, "failed", None, &ExplainOptions::default());
        assert!(
            text.contains(
                "aborted: \"x\", which it read, changed before it could commit: T1 (task 2, "
            ),
            "{text}"
        );
        assert!(
            text.contains(") wrote it at version 1; it ran again"),
            "{text}"
        );
    }

    #[test]
    fn only_the_last_attempts_are_listed_with_a_count_of_the_others() {
        let execution = RecordedExecution {
            attempts: (0..50)
                .map(|i| {
                    attempt(
                        i,
                        i % 3,
                        (2 * i + 1, 2 * i + 2),
                        &[],
                        AttemptState::Committed,
                        None,
                    )
                })
                .collect(),
            tvars: BTreeMap::new(),
        };
        let text = explain(&execution, "failed", None, &ExplainOptions::default());
        assert!(
            text.contains("(10 earlier attempt(s) left out; the last 40 shown)"),
            "{text}"
        );
        assert!(!text.contains("  T9 "), "{text}");
        assert!(text.contains("  T10 ") && text.contains("  T49 "), "{text}");
        assert_eq!(text.matches("\n  T").count(), 40, "{text}");
    }

    #[test]
    fn a_panic_location_is_the_users_unless_stm_check_raised_it() {
        let at = |l: &str| Some(l.to_string());
        assert_eq!(
            user_panic_location("boom", at("tests/t.rs:3:5"), "stm-check/src/check.rs"),
            at("tests/t.rs:3:5")
        );
        assert_eq!(
            user_panic_location(
                "history rejected",
                at("stm-check/src/check.rs:40:13"),
                "stm-check/src/check.rs"
            ),
            None
        );
        assert_eq!(
            user_panic_location(
                "deadlock! blocked tasks: []",
                at("src/runtime/execution.rs:1:1"),
                "stm-check/src/check.rs"
            ),
            None
        );
    }
}
