//! Classic STM bugs that tests can switch on, to show that the checking
//! tools find them. The public [`InjectedBug`] exists only with the
//! `bug-injection` feature, which only dev-dependencies enable: no release
//! build contains a way to switch one on, and the engine's checks of
//! [`BugSwitch`] compile to `false` there.

// Without the feature, nothing outside the engine names a bug.
#![cfg_attr(not(feature = "bug-injection"), allow(dead_code, unreachable_pub))]

/// A bug to inject into a runtime (see
/// [`Stm::with_injected_bug`](crate::Stm::with_injected_bug)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum InjectedBug {
    /// Commit without re-checking the read set: lost updates, write skew.
    SkipReadValidation,
    /// Publish the new version (unlock) before installing the value: readers
    /// can take the old value for the new version.
    UnlockBeforeWriteBack,
    /// Accept values newer than the snapshot without extending it: a
    /// transaction can see half of another's commit (opacity broken).
    ReadWithoutVersionCheck,
    /// Commit without waking the transactions blocked in `retry` on what it
    /// wrote: they can sleep forever.
    LoseRetryWakeup,
    /// Free replaced values (and dropped TVars) as soon as they are retired,
    /// while a reader may still be cloning them: a use after free. Found by
    /// loom (the reclamation models), Miri and AddressSanitizer; invisible to
    /// a checker that only looks at values.
    FreeBeforeReadersLeave,
    /// Publish a written-back value and its new version with relaxed
    /// orderings: a reader that sees the new version may read the old value,
    /// or a box whose contents it does not see initialised. Only a weak
    /// memory model shows it: loom finds it, shuttle (sequentially
    /// consistent) cannot.
    PublishRelaxed,
    /// A transaction queue worker announces a change the idle workers wait
    /// for (more items, the commit turn passing, the run ending; for a
    /// queue's kept helpers, a new run or the queue dropped, and for the
    /// caller, its helpers done) by looking
    /// whether anyone sleeps before it makes the change, not after: a worker
    /// that goes to sleep in between is never woken, and the run hangs (a
    /// lost wake-up).
    LoseQueueWakeup,
    /// A transaction queue worker claims items with a load and a store
    /// instead of a compare-and-swap: two workers can claim the same items,
    /// which then run, and commit, twice.
    ClaimItemsTwice,
    /// Apply a commuted update (`tx.commute`) to the value the TVar had
    /// when the transaction first commuted it (read without logging), not
    /// to the value current at commit: a commit that came in between is
    /// lost. Found by the loom and shuttle models of commutes
    /// (`loom_commute.rs`, `shuttle_commute.rs`) and, from the recorded
    /// commute bases, by the history checker; stm-check's generated
    /// workloads do not commute, so its explorer and fuzzer cannot reach it.
    CommuteStale,
    /// Abort the first irrevocable attempt of each call at commit, as if
    /// validation had failed, though in serial mode nothing it read can
    /// have changed: the progress guarantee of bounded attempts is broken
    /// (the attempt runs again, irrevocably, and commits). Values and
    /// histories stay correct; only the engine invariant
    /// `irrevocable-aborted`, reported to the recorder (and asserted in
    /// debug builds), shows it. Needs `irrevocable_after` small enough for
    /// a transaction to reach serial mode (0: at once).
    IrrevocableAborts,
    /// Validate the read set before locking the write set instead of after
    /// taking the commit version (TL2's order turned around): a commit that
    /// writes what this one read between its validation and its locking is
    /// missed, and its update is lost (a lost update, write skew). Shuttle's
    /// schedulers find it through the history checker (G-single / G2
    /// cycles) or a final total.
    ValidateBeforeLock,
    /// Extend the snapshot, when a read meets a version newer than it,
    /// without re-validating what was read before: the attempt can see one
    /// TVar before another's commit and the next after it (opacity broken:
    /// a torn read, which a read-only transaction even commits).
    ExtendWithoutValidation,
    /// When the first alternative of `or_else` retries, drop only the
    /// write-set entries it created, not the changes it made to entries
    /// that existed before the `or_else` (its overwrites, and the updates
    /// it commuted onto them): the abandoned alternative's value of such a
    /// TVar is committed. A program that writes a TVar, then overwrites it
    /// in an alternative that retries, sees it; the values are wrong in
    /// every schedule, so one execution that reaches it finds it.
    OrElseUndoOverwrite,
    /// When the write set grows past the size it is searched linearly at
    /// (16 entries) and switches to its index, index only the entry that
    /// made it grow, not the earlier ones: a lookup of a TVar written before
    /// the switch misses, so reading it back returns the committed value
    /// instead of the transaction's own write (and writing it again adds a
    /// second entry, which makes every commit of it abort on its own
    /// lock). Needs a transaction that writes more than 16 TVars.
    WriteIndexMiss,
    /// A commit wakes only one of the transactions blocked in `retry` on a
    /// TVar it wrote (a notify-one where every waiter must be woken): the
    /// others sleep on, and the program hangs if nothing else ever writes
    /// that TVar (a deadlock, which shuttle reports). Needs two waiters on
    /// one TVar.
    WakeOneWaiter,
    /// A commit that fails validation after locking releases its locks as
    /// a successful commit does, with its new commit version, instead of
    /// the words it replaced: each TVar it would have written gets a new
    /// version for the value it already had (a read of that version
    /// returns a value no commit wrote there, which the history checker
    /// reports), and the `retry` waiters flagged on it are forgotten.
    FailedCommitBumpsVersion,
    /// In `run_ordered`, an item may commit as soon as the item just ahead
    /// of it holds the turn (an off-by-one in the turn check), before that
    /// item has committed: the outcome is no longer the order the items
    /// were added in, and the turn is passed by an item that does not hold
    /// it (the engine invariant `turn-passed-by-other`).
    OrderedCommitEarly,
    /// The items an attempt adds to the transaction queue (`ItemTx::add`)
    /// are not forgotten when the attempt aborts and runs again: the next
    /// attempt adds them again, and the run executes them twice. Needs a
    /// queue item that adds items and conflicts at least once, alone or in
    /// a group of items (a worker commits a few together; a group that gives
    /// up then queues what it added, and its items run alone and add it
    /// again).
    AddedItemsOfAbortedAttempt,
    /// Take commit versions from the global clock with a relaxed
    /// read-modify-write instead of an acquire-release one: a transaction
    /// whose snapshot includes a commit's version need not see that
    /// commit's locks, so it may read one of its TVars before the commit
    /// and another after it (a torn read). Only a weak memory model shows
    /// it: loom finds it, shuttle (sequentially consistent) cannot.
    ClockRelaxed,
    /// Serial mode keeps transactions from starting (each waits for it to
    /// end when it begins) instead of from taking a commit version: one
    /// that began before an irrevocable transaction entered serial mode
    /// commits while it runs, what the irrevocable one read can change
    /// under it, and it is aborted (the engine invariant
    /// `irrevocable-aborted`; in release builds only the recorder is told,
    /// and the values stay serializable). Needs `irrevocable_after` small
    /// enough for a transaction to reach serial mode while others run
    /// optimistically (1; with 0 every plain transaction is irrevocable).
    SerialModeNotExclusive,
    /// A transaction queue's kept helper counts itself done with a run
    /// before it lets go of the run (its job, which holds the run's
    /// items): the run can return while the helper still holds them, and
    /// items that borrow from the caller would then be dropped after what
    /// they borrow is gone. The queue stops such a run (on real threads it
    /// aborts the process); the kept-helper loom model
    /// (`queue_model_bugs.rs`) finds the interleaving. Needs a queue that
    /// keeps its helpers, which under a model checker only its own models
    /// ask for.
    HelperKeepsRun,
}

impl InjectedBug {
    /// Every injectable bug.
    pub const ALL: [InjectedBug; 21] = [
        InjectedBug::SkipReadValidation,
        InjectedBug::UnlockBeforeWriteBack,
        InjectedBug::ReadWithoutVersionCheck,
        InjectedBug::LoseRetryWakeup,
        InjectedBug::FreeBeforeReadersLeave,
        InjectedBug::PublishRelaxed,
        InjectedBug::LoseQueueWakeup,
        InjectedBug::ClaimItemsTwice,
        InjectedBug::CommuteStale,
        InjectedBug::IrrevocableAborts,
        InjectedBug::ValidateBeforeLock,
        InjectedBug::ExtendWithoutValidation,
        InjectedBug::OrElseUndoOverwrite,
        InjectedBug::WriteIndexMiss,
        InjectedBug::WakeOneWaiter,
        InjectedBug::FailedCommitBumpsVersion,
        InjectedBug::OrderedCommitEarly,
        InjectedBug::AddedItemsOfAbortedAttempt,
        InjectedBug::ClockRelaxed,
        InjectedBug::SerialModeNotExclusive,
        InjectedBug::HelperKeepsRun,
    ];

    /// The classic bugs of the transaction protocol (validation,
    /// publication order, snapshots, wake-ups): each shows in the values and
    /// histories of a sequentially consistent execution, so shuttle's
    /// schedulers and the fuzzer find them, and a crash of each is
    /// committed (`stm-check/tests/fuzz-crashes`). Of the other classic
    /// ones, two break memory safety or orderings, and need loom, Miri or
    /// AddressSanitizer; two break the transaction queue's hand-off (its
    /// models find them); and `commute-stale` needs a program that
    /// commutes, which the fuzzer's generated workloads are not;
    /// `irrevocable-aborts` breaks only an engine invariant, which a
    /// recorder is told of, not the values. The bugs after those in
    /// [`ALL`](Self::ALL), from `validate-before-lock` on, are realistic
    /// mistakes a line or two away from the correct engine, kept to measure
    /// how well exploration finds bugs it was not written against (the
    /// README's table says which finds each).
    pub const TRANSACTION_PROTOCOL: [InjectedBug; 4] = [
        InjectedBug::SkipReadValidation,
        InjectedBug::UnlockBeforeWriteBack,
        InjectedBug::ReadWithoutVersionCheck,
        InjectedBug::LoseRetryWakeup,
    ];

    /// The bug's name, as used on command lines and in schedule files.
    pub fn name(self) -> &'static str {
        match self {
            InjectedBug::SkipReadValidation => "skip-read-validation",
            InjectedBug::UnlockBeforeWriteBack => "unlock-before-write-back",
            InjectedBug::ReadWithoutVersionCheck => "read-without-version-check",
            InjectedBug::LoseRetryWakeup => "lose-retry-wakeup",
            InjectedBug::FreeBeforeReadersLeave => "free-before-readers-leave",
            InjectedBug::PublishRelaxed => "publish-relaxed",
            InjectedBug::LoseQueueWakeup => "lose-queue-wakeup",
            InjectedBug::ClaimItemsTwice => "claim-items-twice",
            InjectedBug::CommuteStale => "commute-stale",
            InjectedBug::IrrevocableAborts => "irrevocable-aborts",
            InjectedBug::ValidateBeforeLock => "validate-before-lock",
            InjectedBug::ExtendWithoutValidation => "extend-without-validation",
            InjectedBug::OrElseUndoOverwrite => "or-else-undo-overwrite",
            InjectedBug::WriteIndexMiss => "write-index-miss",
            InjectedBug::WakeOneWaiter => "wake-one-waiter",
            InjectedBug::FailedCommitBumpsVersion => "failed-commit-bumps-version",
            InjectedBug::OrderedCommitEarly => "ordered-commit-early",
            InjectedBug::AddedItemsOfAbortedAttempt => "added-items-of-aborted-attempt",
            InjectedBug::ClockRelaxed => "clock-relaxed",
            InjectedBug::SerialModeNotExclusive => "serial-mode-not-exclusive",
            InjectedBug::HelperKeepsRun => "helper-keeps-run",
        }
    }

    /// The bug with this name.
    pub fn from_name(name: &str) -> Option<InjectedBug> {
        InjectedBug::ALL.into_iter().find(|b| b.name() == name)
    }
}

/// The switches the engine checks, named the same with or without the
/// feature.
pub(crate) use InjectedBug as BugSwitch;
