//! Arbitrary histories into the history checker (it must never panic) and
//! histories of serial executions (it must always accept them).
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::path::Path;
use stm_check::fuzz::{check_history_input, seed_the_run, HistoryInput};

fuzz_target!(
    init: {
        // The committed seeds join the run's corpus (see stm_check::fuzz::seed_the_run).
        seed_the_run(Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/seeds/history_check")));
    },
    |input: HistoryInput| {
        if let Err(problem) = check_history_input(&input) {
            panic!("{problem}");
        }
    }
);
