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
    /// for (more items, the commit turn passing, the run ending) by looking
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
}

impl InjectedBug {
    /// Every injectable bug.
    pub const ALL: [InjectedBug; 10] = [
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
    ];

    /// The bugs of the transaction protocol (validation, publication order,
    /// snapshots, wake-ups): each shows in the values and histories of a
    /// sequentially consistent execution, so shuttle's schedulers and the
    /// fuzzer find them. Of the others, two break memory safety or
    /// orderings, and need loom, Miri or AddressSanitizer; two break the
    /// transaction queue's hand-off (its models find them); and
    /// `commute-stale` needs a program that commutes, which the fuzzer's
    /// generated workloads are not; `irrevocable-aborts` breaks only an
    /// engine invariant, which a recorder is told of, not the values.
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
