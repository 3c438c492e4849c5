//! Every file of the committed seed corpus under `fuzz/corpus/<target>/`
//! goes through the same stm-check function as its cargo-fuzz target, on
//! the correct engine: no violation, no panic. So the targets' logic is
//! guarded on stable without libFuzzer, and an input that once found a bug
//! (renamed `seed-...` and committed) keeps guarding against it.
//!
//! Seeds named `seed-history-*`, `seed-workload-*` or `seed-schedule-*` are
//! valid documents of that kind, which the parser must accept.

use arbitrary::{Arbitrary, Unstructured};
use std::path::{Path, PathBuf};
use stm_check::fuzz::{
    check_history_input, parse_all, run_interleavings, HistoryInput, InterleavingsInput,
};

/// The files of one target's corpus, in name order (at least one).
fn corpus(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/corpus")
        .join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "{} holds no seed", dir.display());
    files
        .into_iter()
        .map(|path| {
            let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            (path, bytes)
        })
        .collect()
}

fn name(path: &Path) -> &str {
    path.file_name().and_then(|n| n.to_str()).unwrap_or("")
}

#[test]
fn interleavings_seeds_pass_on_the_correct_engine() {
    for (path, bytes) in corpus("interleavings") {
        let input = InterleavingsInput::from_fuzz_bytes(&bytes);
        if let Err(failure) = run_interleavings(&input, None) {
            panic!(
                "{}: {failure}\nworkload: {}",
                path.display(),
                input.workload.to_json_string()
            );
        }
    }
}

#[test]
fn history_check_seeds_are_answered_and_serial_histories_accepted() {
    for (path, bytes) in corpus("history_check") {
        // As libFuzzer's `fuzz_target!` decodes a typed input.
        let Ok(input) = HistoryInput::arbitrary_take_rest(Unstructured::new(&bytes)) else {
            continue;
        };
        if let Err(problem) = check_history_input(&input) {
            panic!("{}: {problem}", path.display());
        }
    }
}

#[test]
fn parsers_seeds_get_a_document_or_a_clean_error() {
    let mut valid = 0;
    for (path, bytes) in corpus("parsers") {
        let parsed = parse_all(&bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let expected = if name(&path).starts_with("seed-history-") {
            Some(&parsed.history)
        } else if name(&path).starts_with("seed-workload-") {
            Some(&parsed.workload)
        } else if name(&path).starts_with("seed-schedule-") {
            Some(&parsed.schedule_file)
        } else {
            None
        };
        if let Some(result) = expected {
            valid += 1;
            assert_eq!(result, &Ok(()), "{}", path.display());
        }
    }
    assert!(valid >= 3, "a valid seed of each kind");
}
