//! Coverage-guided fuzzing: the logic of the cargo-fuzz targets in `fuzz/`
//! lives here, so that the same functions also run under `cargo test` on
//! stable (the committed seed corpus goes through them in
//! `tests/fuzz_corpus.rs`).
//!
//! * [`ByteScheduler`]: a shuttle scheduler that reads its choices from the
//!   fuzzer's bytes, turning libFuzzer into an interleaving explorer;
//! * `interleavings`: [`InterleavingsInput`] (a small generated workload and
//!   the choices) run by [`run_interleavings`], which checks the invariants
//!   and the recorded history like `stm-check explore`;
//! * `swarm`: [`SwarmInput`] (a swarm program, the generator of `explore
//!   --workload swarm`, with its runtime settings, and the choices) run by
//!   [`run_swarm`];
//! * `history_check`: [`HistoryInput`] into [`check_history_input`];
//! * `parsers`: any bytes into [`parse_all`];
//! * [`import_artifact`]: a crash of `interleavings` into a schedule file
//!   for `stm-check replay` (`stm-check import-fuzz`), and
//!   [`triage_artifacts`]: a folder of crashes sorted by kind of failure,
//!   one schedule file per kind (`stm-check import-fuzz FOLDER`);
//! * [`seed_the_run`]: the committed seeds (`fuzz/seeds/<target>/`) merged
//!   into a run's working corpus, which corpus tools may rewrite.

mod byte_scheduler;
mod history_input;
mod import;
mod interleavings;
mod parsers;
mod seeds;
mod swarm;
mod triage;

pub use byte_scheduler::ByteScheduler;
pub use history_input::{check_history_input, HistoryInput};
pub use import::{import_artifact, ImportError, FUZZ_SCHEDULER, IMPORTED_NAME};
pub use interleavings::{
    injected_bug_from_env, run_interleavings, InterleavingFailure, InterleavingsInput,
    INJECT_BUG_VARIABLE, INTERLEAVINGS_STM, INTERLEAVINGS_WORKLOADS,
};
pub use parsers::{parse_all, Parsed};
pub use seeds::{merge_seeds, run_corpus, seed_the_run, NO_SEEDS_VARIABLE};
pub use swarm::{run_swarm, SwarmInput};
pub use triage::{triage_artifacts, CrashKind, Triage, TriagedKind};
