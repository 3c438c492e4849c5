//! One execution of a workload: run it on a fresh recorded runtime, check
//! its invariants and its history, and keep the exploration's counts.

use crate::history::{self, Outcome as AttemptOutcome};
use crate::record::{history_hash, BrokenInvariant, HistoryRecorder, RecordedExecution};
use crate::workload::{FailureKind, FailureSignature, Workload};
use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Instant;
use stm_core::platform::Arc as StmArc;
use stm_core::{Platform, Stm, StmConfig};

/// Counts over every execution of one exploration.
#[derive(Debug, Default, Clone)]
pub(crate) struct Counts {
    pub(crate) executions: usize,
    pub(crate) histories: HashSet<String>,
    pub(crate) attempts: u64,
    pub(crate) aborted_attempts: u64,
    pub(crate) violations: usize,
    /// Executions stopped at the step bound (DFS only), neither passed nor
    /// failed.
    pub(crate) cut_short: usize,
    /// Whether the last execution started never got to its checks (it
    /// deadlocked or panicked, or was cut short): a failing one is then not
    /// among `executions` yet.
    pub(crate) last_unfinished: bool,
}

/// What one execution showed.
pub(crate) struct Execution {
    /// Why it failed: workload violations and history anomalies, explained.
    pub(crate) failure: Option<String>,
    /// The kinds of failure it showed (empty if it passed).
    pub(crate) signature: FailureSignature,
    pub(crate) history_hash: String,
    pub(crate) trace: Vec<String>,
}

/// Runs executions of one workload and counts them.
#[derive(Clone)]
pub(crate) struct ExecutionCheck {
    workload: Arc<Workload>,
    stm: StmConfig,
    counts: Arc<Mutex<Counts>>,
    /// One history checker for every execution, so that its working memory
    /// is allocated once, not once per execution.
    checker: Arc<Mutex<history::Checker>>,
    trace: bool,
    progress: Option<Arc<dyn Fn(super::Progress) + Send + Sync>>,
    injected_bug: Option<String>,
    /// Only executions that fail with this kind of failure count as failing.
    target: Option<Arc<FailureSignature>>,
    /// The recorder of the execution under way (or of the last one), kept
    /// so that an execution that never finishes (a deadlock) still has a
    /// history to fingerprint.
    last_recorder: Arc<Mutex<Option<StmArc<HistoryRecorder>>>>,
    /// Executions that start after this instant are skipped.
    deadline: Option<Instant>,
}

impl ExecutionCheck {
    pub(crate) fn new(workload: Workload, stm: StmConfig) -> Self {
        ExecutionCheck {
            workload: Arc::new(workload),
            stm,
            counts: Arc::default(),
            trace: false,
            progress: None,
            injected_bug: None,
            target: None,
            last_recorder: Arc::default(),
            checker: Arc::default(),
            deadline: None,
        }
    }

    /// Skips the executions that would start after `deadline` (they pass
    /// without running the workload): a bound on the time an exploration
    /// takes.
    pub(crate) fn until(mut self, deadline: Instant) -> Self {
        self.deadline = Some(deadline);
        self
    }

    /// Counts an execution as failing only if its failure
    /// [reproduces](FailureSignature::reproduces) `target`; others pass.
    pub(crate) fn targeting(mut self, target: FailureSignature) -> Self {
        self.target = Some(Arc::new(target));
        self
    }

    /// How many threads the workload runs.
    pub(crate) fn workload_threads(&self) -> usize {
        self.workload.threads.len()
    }

    /// The fingerprint of the history of the last execution started, also
    /// when it never finished.
    pub(crate) fn last_history_hash(&self) -> Option<String> {
        let recorder = self
            .last_recorder
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        recorder.map(|r| history_hash(&r.history()))
    }

    /// What was recorded of the last execution started, also when it
    /// never finished.
    pub(crate) fn last_execution(&self) -> RecordedExecution {
        let recorder = self
            .last_recorder
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        recorder.map(|r| r.execution()).unwrap_or_default()
    }

    /// The history of the last execution started, also when it never
    /// finished (its attempts still running left out).
    pub(crate) fn last_history(&self) -> Option<history::History> {
        let recorder = self
            .last_recorder
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        recorder.map(|r| r.history())
    }

    /// Reads how many events the execution under way has recorded so far
    /// (0 before it starts): what a guided scheduler follows. Meant for a
    /// check whose executions run one at a time (a fresh
    /// [`uncounted`](Self::uncounted) one per guided run).
    pub(crate) fn event_counter(&self) -> crate::schedule::EventCounter {
        let last = self.last_recorder.clone();
        Arc::new(move || {
            let recorder = last.lock().unwrap_or_else(|p| p.into_inner()).clone();
            recorder.map_or(0, |r| r.events())
        })
    }

    /// The engine invariants that the last execution started reported
    /// broken, also when it never finished.
    pub(crate) fn last_broken_invariants(&self) -> Vec<BrokenInvariant> {
        let recorder = self
            .last_recorder
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        recorder.map(|r| r.broken_invariants()).unwrap_or_default()
    }

    /// `message`, the failure of the last execution started, preceded by
    /// each engine invariant it reported broken that the message does not
    /// name yet: in a debug build an invariant's assertion panics right
    /// after the report, and the panic alone would not say which invariant
    /// broke, or in which attempt.
    pub(crate) fn naming_broken_invariants(&self, message: String) -> String {
        let mut lines: Vec<String> = self
            .last_broken_invariants()
            .iter()
            .map(ToString::to_string)
            .filter(|line| !message.contains(line.as_str()))
            .collect();
        if lines.is_empty() {
            return message;
        }
        lines.push(message);
        lines.join("\n")
    }

    /// The trace of the last execution started (empty unless traced).
    pub(crate) fn last_trace(&self) -> Vec<String> {
        let recorder = self
            .last_recorder
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        recorder.map(|r| r.trace()).unwrap_or_default()
    }

    /// Runs every execution with this stm-core bug injected (by name; the
    /// name must be valid and the build must have bug injection).
    pub(crate) fn with_injected_bug(mut self, bug: Option<String>) -> Self {
        self.injected_bug = bug;
        self
    }

    /// Calls `progress` after every execution.
    pub(crate) fn with_progress(
        mut self,
        progress: Arc<dyn Fn(super::Progress) + Send + Sync>,
    ) -> Self {
        self.progress = Some(progress);
        self
    }

    /// Also keep a step-by-step trace of each execution.
    pub(crate) fn traced(mut self) -> Self {
        self.trace = true;
        self
    }

    /// The same check with counts of its own and no progress: for an
    /// execution that is not part of the exploration (the calibration of a
    /// sharded PCT run).
    pub(crate) fn uncounted(&self) -> Self {
        ExecutionCheck {
            counts: Arc::default(),
            progress: None,
            last_recorder: Arc::default(),
            ..self.clone()
        }
    }

    /// Counts `n` executions cut short at the step bound.
    pub(crate) fn count_cut_short(&self, n: usize) {
        self.counts
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .cut_short += n;
    }

    pub(crate) fn counts(&self) -> Counts {
        self.counts
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Runs the workload once on platform `P` and checks it.
    pub(crate) fn run_once<P: Platform>(&self) -> Execution {
        let recorder = StmArc::new(if self.trace {
            HistoryRecorder::with_trace()
        } else {
            HistoryRecorder::new()
        });
        *self.last_recorder.lock().unwrap_or_else(|p| p.into_inner()) = Some(recorder.clone());
        let stm = match &self.injected_bug {
            None => Stm::<P>::for_platform_with_recorder(self.stm, recorder.clone()),
            Some(bug) => super::injected_runtime(self.stm, recorder.clone(), bug),
        };
        self.counts
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .last_unfinished = true;
        let vars = self.workload.create_vars(&stm);
        for (index, (id, var)) in vars.ids().into_iter().zip(&self.workload.vars).enumerate() {
            recorder.set_initial(id, var.initial);
            // Named as the workload names them, in explanations.
            recorder.set_label(id, var.name.clone().unwrap_or_else(|| format!("v{index}")));
        }
        let outcome = self.workload.run_on(&stm, &vars);
        let history = recorder.history();
        let checked = self
            .checker
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .check(&history);
        // A broken engine invariant is a bug of stm-core, whatever the
        // values: it comes first.
        let broken = recorder.broken_invariants();
        let mut problems: Vec<String> = broken.iter().map(ToString::to_string).collect();
        // The recorder writes well-formed histories of a correct engine: a
        // malformed one (a read of a version no transaction committed) is
        // an engine bug too.
        let malformed = checked.as_ref().err().map(|error| {
            format!("the recorded history is malformed, which no correct engine records: {error}")
        });
        let report = checked.ok();
        if !outcome.is_ok() {
            problems.push(outcome.to_string());
        }
        if let Some(report) = report.as_ref().filter(|r| !r.is_valid()) {
            let mut text = String::new();
            let _ = report.write_text(&mut text, 3);
            problems.push(format!("the recorded history is rejected:\n{text}"));
        }
        let aborted = history
            .transactions
            .iter()
            .filter(|t| t.outcome == AttemptOutcome::Aborted)
            .count() as u64;
        let hash = history_hash(&history);
        let mut signature = FailureSignature::of_outcome(&outcome).with_broken_invariants(&broken);
        if let Some(report) = &report {
            signature = signature.with_anomalies(report);
        }
        if let Some(malformed) = malformed {
            problems.push(malformed);
            signature.extend(FailureSignature::from_kinds([
                FailureKind::MalformedHistory,
            ]));
        }
        let fails = match &self.target {
            None => !problems.is_empty(),
            Some(target) => signature.reproduces(target),
        };
        let mut counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        counts.executions += 1;
        counts.last_unfinished = false;
        counts.attempts += history.transactions.len() as u64;
        counts.aborted_attempts += aborted;
        counts.histories.insert(hash.clone());
        if fails {
            counts.violations += 1;
        }
        let progress = super::Progress {
            executions: counts.executions,
            violations: counts.violations,
            shrink_candidates: None,
            history_hash: Some(hash.clone()),
        };
        drop(counts);
        if let Some(report) = &self.progress {
            report(progress);
        }
        Execution {
            failure: fails.then(|| problems.join("\n")),
            signature,
            history_hash: hash,
            trace: recorder.trace(),
        }
    }

    /// An execution on `P` that panics on failure (how model checkers learn
    /// that an execution failed).
    pub(crate) fn panicking<P: Platform>(&self) -> impl Fn() + Send + Sync + Clone + 'static {
        let check = self.clone();
        move || {
            // Past the deadline the remaining executions do nothing, so that
            // the driver runs out of them at once.
            if check.deadline.is_some_and(|d| Instant::now() >= d) {
                return;
            }
            if let Some(failure) = check.run_once::<P>().failure {
                panic!("{failure}");
            }
        }
    }
}
