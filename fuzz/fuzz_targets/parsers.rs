//! Any bytes into the schedule-file, history and workload parsers: each
//! answers with the document or a clean error, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use stm_check::fuzz::parse_all;

fuzz_target!(|data: &[u8]| {
    if let Err(problem) = parse_all(data) {
        panic!("{problem}");
    }
});
