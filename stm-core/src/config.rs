//! The settings of a runtime.

/// Settings of a runtime.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StmConfig {
    /// After this many conflict aborts, a transaction's next attempt runs
    /// irrevocably (serial mode), which cannot be aborted by conflicts. This
    /// bounds the attempts of every transaction: no livelock, no starvation.
    pub irrevocable_after: u32,
    /// Record which TVars make transactions abort, how, and how much time
    /// the aborted attempts cost (see [`Stm::conflict_report`](crate::Stm::conflict_report)). Off by
    /// default: recording times every attempt.
    pub conflict_reports: bool,
}

impl Default for StmConfig {
    fn default() -> Self {
        StmConfig {
            irrevocable_after: 16,
            conflict_reports: false,
        }
    }
}
