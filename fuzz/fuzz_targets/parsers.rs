//! Any bytes into the schedule-file, history and workload parsers: each
//! answers with the document or a clean error, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::path::Path;
use stm_check::fuzz::{parse_all, seed_the_run};

fuzz_target!(
    init: {
        // The committed seeds join the run's corpus (see stm_check::fuzz::seed_the_run).
        seed_the_run(Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/seeds/parsers")));
    },
    |data: &[u8]| {
        if let Err(problem) = parse_all(data) {
            panic!("{problem}");
        }
    }
);
