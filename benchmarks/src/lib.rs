//! The engine and the checker measured against what users would otherwise
//! pick: plain sequential code, a `Mutex` (an `RwLock` where it fits),
//! rayon for the queue's items, and the two published Rust STMs, the `stm`
//! crate 0.4 (rust-stm) and `kovan-stm` 0.2.0, on the same workloads, in
//! one run, so that every change shows what it costs.
//!
//! Each workload is one module ([`bank`], [`work`], [`counter`],
//! [`read_mostly`], [`queue`], [`queue_total`], [`checker`]) holding one small
//! implementation per contender, all of the same shape ([`SharedOp`] for
//! what threads share, [`SequentialOp`] for the baseline). The criterion
//! benches (`benches/engine.rs`, `benches/checker.rs`) register them under
//! the names in [`names`]; `benches/interleaved.rs` runs the queue's
//! contenders in turns ([`interleaved`]), for ratios free of the machine's
//! drift. The `stm-benchmarks` command runs all three, reads the results
//! back ([`results`]) and writes BENCHMARKS.md ([`report`]): the tables of
//! ratios, the machine ([`machine`]) and the targets met.

pub mod bank;
pub mod checker;
pub mod counter;
pub mod interleaved;
pub mod machine;
pub mod peer_histories;
pub mod queue;
pub mod queue_total;
pub mod read_mostly;
pub mod report;
pub mod results;
pub mod rng;
pub mod threads;
pub mod work;

pub use rng::Rng;
pub use threads::{run_sequential, run_threads, thread_counts, SequentialOp, SharedOp};

/// The names the benches register (criterion group, then function) and the
/// report reads back; a benchmark's id is `group/function/threads`.
pub mod names {
    /// Group: random transfers between 1,024 accounts.
    pub const BANK: &str = "bank";
    /// Group: the transfers with a microsecond of work in each.
    pub const WORK: &str = "work";
    /// Group: one hot counter.
    pub const COUNTER: &str = "counter";
    /// Group: read 64 variables, write 1.
    pub const READ_MOSTLY: &str = "read_mostly";
    /// Group: 100,000 independent items through the transaction queue.
    pub const QUEUE: &str = "queue";
    /// Group: 10,000 items through the transaction queue, all adding to one
    /// total.
    pub const QUEUE_TOTAL: &str = "queue_total";
    /// Group: the history checker, by history size.
    pub const HISTORY_CHECK: &str = "history_check";
    /// Group: parsing a history file, by history size.
    pub const HISTORY_PARSE: &str = "history_parse";
    /// Group: schedules explored on the `bank` workload with shuttle PCT.
    pub const EXPLORE: &str = "explore";

    /// Plain code on plain values.
    pub const SEQUENTIAL: &str = "sequential";
    /// The `work` workload's computation alone, without any transfer.
    pub const WORK_ONLY: &str = "work-only";
    /// `std::sync::Mutex`.
    pub const MUTEX: &str = "mutex";
    /// `std::sync::RwLock`.
    pub const RWLOCK: &str = "rwlock";
    /// rayon's parallel iterators on a pool of exactly the thread count.
    pub const RAYON: &str = "rayon";
    /// This project's engine.
    pub const STM_CORE: &str = "stm-core";
    /// The `stm` crate 0.4.
    pub const RUST_STM: &str = "rust-stm";
    /// `kovan-stm` 0.2.0.
    pub const KOVAN_STM: &str = "kovan-stm";
    /// `TransactionQueue::run`, by workers (items updating with `modify`).
    pub const QUEUE_RUN: &str = "run";
    /// `TransactionQueue::run_ordered`, by workers (items updating with
    /// `modify`).
    pub const QUEUE_RUN_ORDERED: &str = "run_ordered";
    /// `TransactionQueue::run`, by workers, items updating with `commute`.
    pub const QUEUE_RUN_COMMUTE: &str = "run-commute";
    /// `TransactionQueue::run_ordered`, by workers, items updating with
    /// `commute`.
    pub const QUEUE_RUN_ORDERED_COMMUTE: &str = "run_ordered-commute";
    /// `stm-check explore`'s path: recorded, every history checked.
    pub const EXPLORE_RECORDED: &str = "recorded";
    /// The same interpreter and scheduler with no history recorded.
    pub const EXPLORE_UNRECORDED: &str = "unrecorded";
    /// The workload by hand under shuttle alone.
    pub const EXPLORE_BARE: &str = "bare-shuttle";
    /// The `bank` workload on real threads, as `explore --scheduler
    /// stress` runs it, with and without a history recorder.
    pub const STRESS: &str = "stress";
    /// Stress executions with the history recorded.
    pub const STRESS_RECORDED: &str = "with-recorder";
    /// Stress executions with no recorder.
    pub const STRESS_UNRECORDED: &str = "without-recorder";
}
