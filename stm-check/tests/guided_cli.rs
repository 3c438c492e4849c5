//! A failure found on real threads (`explore --scheduler stress`) is turned
//! into a schedule by the history-guided scheduler, saved with where it
//! came from, and replayed exactly by `stm-check replay`: the replayed
//! history is the real one (threads numbered by first attempt). Also
//! `from-history` on a saved real history, and its refusals of bad input.

mod support;

use std::path::Path;
use stm_check::history::shape::normalized_hash;
use stm_check::history::History;
use support::{json_of, racy_workload, stderr, stm_check};

/// Explores `workload` on real threads until it fails; the JSON summary.
fn explore_stress(dir: &Path, workload: &str, extra: &[&str]) -> serde_json::Value {
    let output = run_stress(dir, workload, extra);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    json_of(&output)
}

/// Runs `explore --scheduler stress` on `workload` (20,000 executions at
/// most, failures saved in `regressions/`), JSON output.
fn run_stress(dir: &Path, workload: &str, extra: &[&str]) -> std::process::Output {
    let mut args = vec![
        "explore",
        "--workload",
        workload,
        "--scheduler",
        "stress",
        "--iterations",
        "20000",
        "--regressions",
        "regressions",
        "--json",
    ];
    args.extend_from_slice(extra);
    stm_check(dir, &args)
}

/// Replays a saved file; its JSON report.
fn replay(dir: &Path, file: &str) -> serde_json::Value {
    let output = stm_check(dir, &["replay", file, "--json"]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    json_of(&output)
}

#[test]
fn a_real_thread_failure_is_saved_and_replayed_with_the_real_history() {
    // Real threads: up to three explorations, for one whose failure the
    // guided replay reproduces (the racy read nearly always is).
    let mut summaries = Vec::new();
    let found = (0..3).find_map(|_| {
        let dir = tempfile::tempdir().unwrap();
        let workload = racy_workload(dir.path());
        let summary = explore_stress(dir.path(), &workload, &[]);
        if summary["failure"]["derivation"]["reproduced"] == "guided" {
            Some((dir, workload, summary))
        } else {
            summaries.push(summary);
            None
        }
    });
    let (dir, workload, summary) =
        found.unwrap_or_else(|| panic!("no guided derivation in 3 tries: {summaries:#?}"));
    let failure = &summary["failure"];
    let derivation = &failure["derivation"];
    // Guided replays keep the real reads-from, commit order and aborts;
    // most also keep the order of every event (exact), but where the
    // hardware interleaved events no dependency orders, the replay may
    // order them otherwise.
    let exact = derivation["exact"].as_bool().unwrap();
    let real_hash = derivation["real_history_hash"].as_str().unwrap();

    // The saved file says where it came from.
    let file = failure["file"].as_str().expect("saved");
    let saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join(file)).unwrap()).unwrap();
    assert_eq!(saved["derived_from"]["driver"], "stress");
    assert_eq!(saved["derived_from"]["how"], "guided");
    assert_eq!(saved["derived_from"]["history_hash"], real_hash);

    // The real history was saved beside it, and is the one fingerprinted.
    let real_path = dir
        .path()
        .join(file)
        .parent()
        .unwrap()
        .join(saved["derived_from"]["real_history"].as_str().unwrap());
    let real = History::load(&real_path).unwrap();
    assert_eq!(normalized_hash(&real), real_hash);

    // `replay` reproduces the failure with the saved history, and that
    // history is the real one, every time.
    for _ in 0..3 {
        let replayed = replay(dir.path(), file);
        assert_eq!(replayed["reproduced"], true, "{replayed:#}");
        assert_eq!(replayed["identical_history"], true, "{replayed:#}");
        assert_eq!(replayed["identical_to_real_history"], exact, "{replayed:#}");
        if exact {
            assert_eq!(replayed["normalized_history_hash"], real_hash);
        }
    }

    // from-history turns the same real history into a schedule again.
    let output = stm_check(
        dir.path(),
        &[
            "from-history",
            real_path.to_str().unwrap(),
            "--workload",
            &workload,
            "--regressions",
            "again",
            "--json",
        ],
    );
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let derived = json_of(&output);
    assert_eq!(derived["reproduced"], "guided", "{derived:#}");
    assert_eq!(derived["real_history_hash"], real_hash);
    // The same real history gives the same derivation.
    assert_eq!(derived["exact"], exact, "{derived:#}");
    let again = replay(dir.path(), derived["file"].as_str().unwrap());
    assert_eq!(again["identical_to_real_history"], exact, "{again:#}");
}

#[test]
fn from_history_refuses_bad_input_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("broken.json"), "{\"format\": ").unwrap();
    std::fs::write(
        dir.path().join("empty.json"),
        r#"{"format": "stm-history", "version": 1, "transactions": []}"#,
    )
    .unwrap();
    for (file, says) in [
        ("missing.json", "cannot read"),
        ("broken.json", "broken.json:"),
        ("empty.json", "no transactions"),
    ] {
        let output = stm_check(dir.path(), &["from-history", file, "--workload", "bank"]);
        assert_eq!(output.status.code(), Some(2), "{file}: {}", stderr(&output));
        let text = stderr(&output);
        assert!(text.contains(file), "{file}: {text}");
        assert!(text.contains(says), "{file}: {text}");
        assert!(!text.contains("panicked"), "{file}: {text}");
    }
    let output = stm_check(
        dir.path(),
        &[
            "from-history",
            "empty.json",
            "--workload",
            "no-such-workload",
        ],
    );
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("no-such-workload"));
}

/// With an injected bug (`--features bug-injection`), a failure of the
/// bank workload on real threads becomes a schedule that replays the same
/// failure; when the guided replay is the real execution, its history is
/// the real one.
#[cfg(feature = "bug-injection")]
#[test]
fn a_real_thread_failure_of_an_injected_bug_replays() {
    // Real threads decide whether the bug shows within the budget, and a
    // few of its failures (about 1 in 20 here) are effects a sequentially
    // consistent replay cannot show: up to five real-thread explorations,
    // the first failure turned into a schedule is the one replayed.
    let mut tries = Vec::new();
    let found = (0..5).find_map(|_| {
        let dir = tempfile::tempdir().unwrap();
        let output = run_stress(
            dir.path(),
            "bank",
            &["--inject-bug", "skip-read-validation"],
        );
        let summary = json_of(&output);
        let how = summary["failure"]["derivation"]["reproduced"]
            .as_str()
            .unwrap_or("none")
            .to_string();
        tries.push(format!(
            "exit {:?}, reproduced: {how}",
            output.status.code()
        ));
        (output.status.code() == Some(1) && (how == "guided" || how == "search"))
            .then_some((dir, summary, how))
    });
    let (dir, summary, how) = found.unwrap_or_else(|| panic!("no reproducible failure: {tries:?}"));
    let failure = &summary["failure"];
    let derivation = &failure["derivation"];
    let file = failure["file"].as_str().expect("saved");
    let output = stm_check(
        dir.path(),
        &["replay", file, "--json", "--workload", "bank"],
    );
    // Replaying needs the bug: the test build has it.
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let replayed = json_of(&output);
    assert_eq!(replayed["reproduced"], true, "{replayed:#}");
    assert_eq!(replayed["identical_history"], true, "{replayed:#}");
    if how == "guided" && derivation["exact"] == true {
        assert_eq!(replayed["identical_to_real_history"], true, "{replayed:#}");
    }
    // The real history was saved for `stm-check check`, and it fails it or
    // the workload's assertions: either way it is a real failure.
    let real = History::load(
        &dir.path()
            .join(derivation["real_history"].as_str().expect("saved")),
    )
    .unwrap();
    assert!(!stm_check::history::shape::HistoryShape::of(&real)
        .attempts
        .is_empty());
}
