//! Classic STM bugs that tests can switch on, to show that the checking
//! tools find them. Compiled only with the `bug-injection` feature, which
//! only dev-dependencies enable: no release build contains them.

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
}

impl InjectedBug {
    /// Every injectable bug.
    pub const ALL: [InjectedBug; 4] = [
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
        }
    }

    /// The bug with this name.
    pub fn from_name(name: &str) -> Option<InjectedBug> {
        InjectedBug::ALL.into_iter().find(|b| b.name() == name)
    }
}
