//! Every committed seed under `fuzz/seeds/<target>/` goes through the same
//! stm-check function as its cargo-fuzz target, on the correct engine: no
//! violation, no panic. So the targets' logic is guarded on stable without
//! libFuzzer, and an input that once found a bug (renamed `seed-...` and
//! committed) keeps guarding against it. The seeds live apart from the
//! working corpus `fuzz/corpus/<target>/` that corpus tools rewrite; the
//! last tests check that layout.
//!
//! Seeds named `seed-history-*`, `seed-workload-*` or `seed-schedule-*` are
//! valid documents of that kind, which the parser must accept.

use arbitrary::{Arbitrary, Unstructured};
use std::path::{Path, PathBuf};
use stm_check::fuzz::{
    check_history_input, merge_seeds, parse_all, run_corpus, run_interleavings, run_swarm,
    HistoryInput, InterleavingsInput, SwarmInput,
};

/// The cargo-fuzz targets.
const TARGETS: [&str; 4] = ["interleavings", "swarm", "history_check", "parsers"];

/// The fuzz crate's folder.
fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz")
}

/// The committed seeds of one target, in name order (at least one).
fn corpus(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = fuzz_dir().join("seeds").join(target);
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
fn swarm_seeds_pass_on_the_correct_engine() {
    for (path, bytes) in corpus("swarm") {
        let input = SwarmInput::from_fuzz_bytes(&bytes);
        if let Err(failure) = run_swarm(&input, None) {
            panic!(
                "{}: {failure}\nprogram ({:?}): {}",
                path.display(),
                input.program.stm,
                input.program.workload.to_json_string()
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

/// What `cargo fuzz cmin TARGET` does to the working corpus, file by file:
/// it moves the corpus aside, creates it again empty, runs the target with
/// `-merge=1 CORPUS OLD` (the target's init merges the seeds in first,
/// then libFuzzer adds the inputs of OLD that bring new coverage, named by
/// their SHA-1) and deletes OLD. Here the "coverage" kept is one input of
/// the grown ones.
fn cmin_as_cargo_fuzz_does(target_seeds: &Path, corpus: &Path) {
    let old = corpus.with_extension("cmin-old");
    std::fs::rename(corpus, &old).unwrap();
    std::fs::create_dir_all(corpus).unwrap();
    let merge_args = ["target", "-merge=1", "-artifact_prefix=artifacts/"]
        .map(Into::into)
        .into_iter()
        .chain([corpus.as_os_str().to_owned(), old.as_os_str().to_owned()]);
    let output = run_corpus(merge_args).expect("the merge has an output folder");
    assert_eq!(output, corpus);
    merge_seeds(target_seeds, &output).unwrap();
    let kept = std::fs::read(old.join("grown-0")).unwrap();
    std::fs::write(
        output.join("5ba93c9db0cff93f52b521d7420e43f6eda2784f"),
        kept,
    )
    .unwrap();
    std::fs::remove_dir_all(&old).unwrap();
}

#[test]
fn cmin_on_a_grown_corpus_leaves_every_committed_seed_in_place() {
    let work = tempfile::tempdir().unwrap();
    for target in TARGETS {
        let seeds_dir = fuzz_dir().join("seeds").join(target);
        let seeds = corpus(target);
        // A run grows the working corpus: the seeds merged in, then what
        // libFuzzer finds.
        let working = work.path().join("corpus").join(target);
        std::fs::create_dir_all(&working).unwrap();
        let run_args = ["target", "-fork=2", "-ignore_crashes=1"]
            .map(Into::into)
            .into_iter()
            .chain([
                working.as_os_str().to_owned(),
                seeds_dir.as_os_str().to_owned(),
            ]);
        assert_eq!(run_corpus(run_args).as_deref(), Some(working.as_path()));
        assert_eq!(merge_seeds(&seeds_dir, &working).unwrap(), seeds.len());
        for i in 0..20 {
            std::fs::write(working.join(format!("grown-{i}")), [i as u8; 9]).unwrap();
        }
        cmin_as_cargo_fuzz_does(&seeds_dir, &working);
        // The committed seeds are untouched, and the next run (or the
        // merge itself) puts them back into the working corpus.
        assert_eq!(corpus(target), seeds, "{target}");
        for (seed, bytes) in &seeds {
            let copy = working.join(seed.file_name().unwrap());
            assert_eq!(&std::fs::read(&copy).unwrap(), bytes, "{}", copy.display());
        }
    }
}

#[test]
fn the_seeds_live_apart_from_the_working_corpus_that_git_ignores() {
    let gitignore = std::fs::read_to_string(fuzz_dir().join("../.gitignore")).unwrap();
    for ignored in ["/fuzz/corpus/", "/fuzz/artifacts/"] {
        assert!(gitignore.lines().any(|l| l == ignored), "{ignored}");
    }
    for target in TARGETS {
        assert!(!corpus(target).is_empty());
        // Each target merges its own seeds into the run's corpus.
        let source = fuzz_dir().join("fuzz_targets").join(format!("{target}.rs"));
        let source = std::fs::read_to_string(&source).unwrap();
        assert!(
            source.contains(&format!("seed_the_run(Path::new(concat!(env!(\"CARGO_MANIFEST_DIR\"), \"/seeds/{target}\")))")),
            "{target} merges fuzz/seeds/{target}"
        );
    }
}

/// The JSON keys that appear in `value`, at any depth.
fn json_keys(value: &serde_json::Value, keys: &mut std::collections::BTreeSet<String>) {
    match value {
        serde_json::Value::Object(map) => {
            for (key, inner) in map {
                keys.insert(key.clone());
                json_keys(inner, keys);
            }
        }
        serde_json::Value::Array(items) => items.iter().for_each(|v| json_keys(v, keys)),
        _ => {}
    }
}

#[test]
fn the_parsers_dictionary_is_well_formed_and_has_every_key_of_the_valid_seeds() {
    let path = fuzz_dir().join("parsers.dict");
    let text = std::fs::read_to_string(&path).unwrap();
    let mut entries = std::collections::BTreeSet::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        // libFuzzer's format: an optional name=, then a quoted string with
        // \" and \\ escapes.
        let quoted = match line.split_once('=') {
            Some((name, quoted)) if !line.starts_with('"') && !name.is_empty() => quoted,
            _ => line,
        };
        assert!(
            quoted.len() >= 2 && quoted.starts_with('"') && quoted.ends_with('"'),
            "{}:{}: not a quoted entry: {line}",
            path.display(),
            n + 1
        );
        entries.insert(
            quoted[1..quoted.len() - 1]
                .replace("\\\"", "\"")
                .replace("\\\\", "\\"),
        );
    }
    let mut keys = std::collections::BTreeSet::new();
    for (path, bytes) in corpus("parsers") {
        let n = name(&path);
        if ["seed-history-", "seed-workload-", "seed-schedule-"]
            .iter()
            .any(|p| n.starts_with(p))
        {
            json_keys(&serde_json::from_slice(&bytes).unwrap(), &mut keys);
        }
    }
    for key in keys {
        assert!(
            entries.contains(&format!("\"{key}\":")),
            "{} lacks the key {key:?}",
            path.display()
        );
    }
}
