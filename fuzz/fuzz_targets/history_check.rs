//! Arbitrary histories into the history checker (it must never panic) and
//! histories of serial executions (it must always accept them).
#![no_main]

use libfuzzer_sys::fuzz_target;
use stm_check::fuzz::{check_history_input, HistoryInput};

fuzz_target!(|input: HistoryInput| {
    if let Err(problem) = check_history_input(&input) {
        panic!("{problem}");
    }
});
