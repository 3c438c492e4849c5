//! The state a runtime's handles, TVars and transactions share: the version
//! clock, reclamation (with each thread's record and statistics), ids,
//! settings, the conflict table and the recorder.

use crate::config::StmConfig;
use crate::conflict_report::{ConflictEvent, ConflictTable};
use crate::ids::{CallSite, TVarId};
use crate::injected_bug::BugSwitch;
use crate::invariant::Invariant;
use crate::platform::{Arc, AtomicWord, Lock, Ordering, Platform};
use crate::reclaim::Reclaimer;
use crate::recorder::{AttemptId, Event, Recorder};
use crate::stats::StmStats;
use crate::version_lock::VersionClock;

pub(crate) struct RuntimeShared<P: Platform> {
    pub(crate) clock: VersionClock<P>,
    pub(crate) reclaimer: Reclaimer<P>,
    next_tvar_id: P::AtomicU64,
    pub(crate) config: StmConfig,
    conflicts: P::Mutex<ConflictTable>,
    recorder: Option<Arc<dyn Recorder>>,
    /// Taken around every recorded event where the platform models weak
    /// memory (see [`record`](Self::record)).
    recording: P::Mutex<()>,
    next_attempt: P::AtomicU64,
    injected_bug: Option<BugSwitch>,
}

impl<P: Platform> RuntimeShared<P> {
    pub(crate) fn new(
        config: StmConfig,
        recorder: Option<Arc<dyn Recorder>>,
        injected_bug: Option<BugSwitch>,
    ) -> Self {
        RuntimeShared {
            clock: VersionClock::new(),
            reclaimer: Reclaimer::new(injected_bug == Some(BugSwitch::FreeBeforeReadersLeave)),
            next_tvar_id: P::AtomicU64::new(0),
            config,
            conflicts: P::Mutex::new(ConflictTable::default()),
            recorder,
            recording: P::Mutex::new(()),
            next_attempt: P::AtomicU64::new(0),
            injected_bug,
        }
    }

    pub(crate) fn next_tvar_id(&self) -> TVarId {
        self.next_tvar_id.fetch_add(1, Ordering::Relaxed)
    }

    /// Starts recording a new attempt of the transaction from `site`: its
    /// id, after its `Begin` event.
    pub(crate) fn record_begin(&self, site: CallSite) -> Option<AttemptId> {
        self.recorder.as_ref()?;
        let attempt = self.next_attempt.fetch_add(1, Ordering::Relaxed);
        self.record(&Event::Begin {
            attempt,
            thread: P::thread_slot() as u64,
            site,
        });
        Some(attempt)
    }

    /// Sends an event that only names a TVar ([`Event::Created`],
    /// [`Event::Labelled`]) to the recorder, if there is one. Names need no
    /// real-time order, so unlike [`record`](Self::record) this takes no
    /// lock of the platform's: it adds no scheduling point under a model
    /// checker.
    pub(crate) fn record_name<'a>(&self, event: impl FnOnce() -> Event<'a>) {
        if let Some(recorder) = &self.recorder {
            recorder.record(&event());
        }
    }

    /// Sends `event` to the recorder, if there is one.
    ///
    /// A recorder orders events with its own lock, which a model checker
    /// does not see. Recorded order is real-time order (an attempt whose end
    /// is recorded before another's begin finished first), so where the
    /// platform models weak memory the event is sent under a lock of the
    /// platform's: then the model knows that everything before one event
    /// happens before everything after the next, as it does on real
    /// hardware, and does not invent a later attempt that misses an
    /// earlier one's writes.
    pub(crate) fn record(&self, event: &Event<'_>) {
        if let Some(recorder) = &self.recorder {
            if P::models_weak_memory() {
                self.recording.with(|()| recorder.record(event));
            } else {
                recorder.record(event);
            }
        }
    }

    /// Whether a recorder is installed: only then does a release build
    /// evaluate the engine's invariants (see `invariant`).
    #[inline]
    pub(crate) fn is_recording(&self) -> bool {
        self.recorder.is_some()
    }

    /// Reports a broken engine invariant to the recorder, if there is one,
    /// as [`Event::InvariantBroken`]. Like names, the event is sent without
    /// the platform's ordering lock: reporting adds no scheduling point.
    #[cold]
    #[inline(never)]
    pub(crate) fn report_broken_invariant(&self, invariant: Invariant, attempt: Option<AttemptId>) {
        if let Some(recorder) = &self.recorder {
            recorder.record(&Event::InvariantBroken {
                invariant,
                attempt,
                thread: P::thread_slot() as u64,
            });
        }
    }

    /// Whether the test-only `bug` is switched on for this runtime.
    #[inline]
    pub(crate) fn has_bug(&self, bug: BugSwitch) -> bool {
        cfg!(feature = "bug-injection") && self.injected_bug == Some(bug)
    }

    pub(crate) fn record_conflicts(&self, events: &[ConflictEvent]) {
        self.conflicts.with(|table| table.record(events));
    }

    pub(crate) fn set_label(&self, tvar: TVarId, label: String) {
        self.record_name(|| Event::Labelled {
            tvar,
            label: &label,
        });
        self.conflicts.with(|table| table.set_label(tvar, label));
    }

    pub(crate) fn conflict_report(&self) -> crate::ConflictReport {
        self.conflicts
            .with(|table| table.report(self.config.conflict_reports))
    }

    pub(crate) fn stats(&self) -> StmStats {
        StmStats::from_sums(&self.reclaimer.participants.sum_counters())
    }
}
