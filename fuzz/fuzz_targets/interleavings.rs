//! A small workload and a stream of scheduling choices: the engine runs it
//! under `stm_check::fuzz::ByteScheduler`, and a violation of its
//! invariants or of serializability/opacity in its history is a crash.
//! `STM_FUZZ_INJECT_BUG=NAME` switches on one of stm-core's injected bugs.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::path::Path;
use std::sync::OnceLock;
use stm_check::fuzz::{injected_bug_from_env, run_interleavings, seed_the_run, InterleavingsInput};

/// The injected bug, read from the environment once, before fuzzing
/// starts (where exiting on a bad name is not taken for a crash).
static INJECTED_BUG: OnceLock<Option<String>> = OnceLock::new();

fuzz_target!(
    init: {
        // The committed seeds join the run's corpus (see stm_check::fuzz::seed_the_run).
        seed_the_run(Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/seeds/interleavings")));
        let bug = injected_bug_from_env().unwrap_or_else(|message| {
            eprintln!("interleavings: {message}");
            std::process::exit(2)
        });
        INJECTED_BUG.get_or_init(|| bug);
    },
    |input: InterleavingsInput| {
        let bug = INJECTED_BUG.get().and_then(Option::as_deref);
        if let Err(failure) = run_interleavings(&input, bug) {
            panic!("{failure}");
        }
    }
);
