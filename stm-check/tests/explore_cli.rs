//! `stm-check explore` and `stm-check replay` end to end: a clean
//! exploration, a violation found, shrunk, saved (never overwriting) and
//! replayed identically, workloads scaled with `--threads`, and every kind
//! of bad input refused with exit code 2.

mod support;

use serde_json::Value;
use std::path::Path;
use support::{racy_workload, stderr, stdout, stm_check};

#[test]
fn a_builtin_explores_clean_with_a_json_summary() {
    let dir = tempfile::tempdir().unwrap();
    let out = stm_check(
        dir.path(),
        &[
            "explore",
            "--workload",
            "bank",
            "--scheduler",
            "pct",
            "--iterations",
            "300",
            "--json",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let summary: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(summary["schedules"], 300);
    assert_eq!(summary["violations"], 0);
    assert!(summary["distinct_histories"].as_u64().unwrap() > 1);
    assert!(summary["failure"].is_null());
    assert!(!dir.path().join("stm-check-regressions").exists());
}

#[test]
fn every_driver_runs_a_builtin() {
    let dir = tempfile::tempdir().unwrap();
    for scheduler in ["random", "pct", "dfs", "loom", "stress"] {
        let out = stm_check(
            dir.path(),
            &[
                "explore",
                "--workload",
                "write-skew",
                "--scheduler",
                scheduler,
                "--iterations",
                "50",
                "--depth",
                "2",
                "--json",
            ],
        );
        assert_eq!(out.status.code(), Some(0), "{scheduler}: {}", stderr(&out));
        let summary: Value = serde_json::from_str(&stdout(&out)).unwrap();
        assert!(summary["schedules"].as_u64().unwrap() >= 1, "{scheduler}");
        assert_eq!(summary["violations"], 0, "{scheduler}");
    }
}

/// DFS starves a task that another spins on (it runs a yielding task
/// again): on the correct engine such an execution is cut short at the
/// step bound, never reported as a violation.
#[test]
fn dfs_over_100000_schedules_of_bank_finds_no_violation() {
    let dir = tempfile::tempdir().unwrap();
    let out = stm_check(
        dir.path(),
        &[
            "explore",
            "--workload",
            "bank",
            "--scheduler",
            "dfs",
            "--iterations",
            "100000",
            "--json",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let summary: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(summary["violations"], 0);
    assert!(summary["failure"].is_null());
    assert!(!dir.path().join("stm-check-regressions").exists());
}

#[test]
fn loom_explores_as_many_executions_as_asked() {
    let dir = tempfile::tempdir().unwrap();
    for iterations in [1, 7, 40] {
        let out = stm_check(
            dir.path(),
            &[
                "explore",
                "--workload",
                "write-skew",
                "--scheduler",
                "loom",
                "--iterations",
                &iterations.to_string(),
                "--json",
            ],
        );
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let summary: Value = serde_json::from_str(&stdout(&out)).unwrap();
        assert_eq!(summary["schedules"], iterations);
    }
}

#[test]
fn a_loom_violation_is_saved_and_replays_identically() {
    let dir = tempfile::tempdir().unwrap();
    let workload = racy_workload(dir.path());
    let out = stm_check(
        dir.path(),
        &[
            "explore",
            "--workload",
            &workload,
            "--scheduler",
            "loom",
            "--iterations",
            "2000",
            "--json",
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let summary: Value = serde_json::from_str(&stdout(&out)).unwrap();
    let file = summary["failure"]["file"].as_str().unwrap().to_string();
    assert_eq!(file, "stm-check-regressions/racy-reader.json");
    let saved: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join(&file)).unwrap()).unwrap();
    assert_eq!(saved["driver"]["scheduler"], "loom");
    assert!(saved["loom_path"]["checkpoint"].is_object());
    for _ in 0..10 {
        let replay = stm_check(dir.path(), &["replay", &file, "--json"]);
        assert_eq!(replay.status.code(), Some(1), "{}", stderr(&replay));
        let report: Value = serde_json::from_str(&stdout(&replay)).unwrap();
        assert_eq!(report["reproduced"], true, "{report}");
        assert_eq!(report["identical_history"], true, "{report}");
        assert_eq!(report["history_hash"], saved["history_hash"]);
        assert!(report["divergence"].is_null());
    }
}

#[test]
fn a_violation_is_saved_and_replays_identically() {
    let dir = tempfile::tempdir().unwrap();
    let workload = racy_workload(dir.path());
    let out = stm_check(
        dir.path(),
        &["explore", "--workload", &workload, "--iterations", "500"],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let text = stdout(&out);
    assert!(text.contains("assertion v0 == 60 failed"), "{text}");
    assert!(
        text.contains("shrunk: threads 3 -> 2, transactions 3 -> 2, operations 5 -> 2"),
        "{text}"
    );
    assert!(
        text.contains("replay it with: stm-check replay stm-check-regressions/racy-reader.json"),
        "{text}"
    );
    // The saved execution is told per thread, the variables by name.
    assert!(text.contains("the saved execution:"), "{text}");
    assert!(text.contains("task 1 (workload thread 0):"), "{text}");
    assert!(text.contains("\"from\" = 60 (initial)"), "{text}");
    let saved = dir.path().join("stm-check-regressions/racy-reader.json");
    let first = std::fs::read(&saved).unwrap();

    for _ in 0..5 {
        let replay = stm_check(
            dir.path(),
            &["replay", "stm-check-regressions/racy-reader.json", "--json"],
        );
        assert_eq!(replay.status.code(), Some(1));
        let report: Value = serde_json::from_str(&stdout(&replay)).unwrap();
        assert_eq!(report["reproduced"], true);
        assert_eq!(report["identical_history"], true);
        assert!(report["divergence"].is_null());
        let explanation = report["explanation"].as_str().unwrap();
        assert!(explanation.contains("committed version"), "{explanation}");
    }
    let traced = stm_check(
        dir.path(),
        &[
            "replay",
            "stm-check-regressions/racy-reader.json",
            "--trace",
        ],
    );
    let text = stdout(&traced);
    assert!(text.contains("commits version"), "{text}");
    assert!(
        text.contains("the execution's transactions, by task"),
        "{text}"
    );
    assert!(text.contains("identical to the saved"), "{text}");

    // A second run saves a new file and leaves the first untouched.
    let again = stm_check(
        dir.path(),
        &["explore", "--workload", &workload, "--iterations", "500"],
    );
    assert_eq!(again.status.code(), Some(1));
    assert!(dir
        .path()
        .join("stm-check-regressions/racy-reader-2.json")
        .exists());
    assert_eq!(std::fs::read(&saved).unwrap(), first);

    // Refused against another workload.
    let wrong = stm_check(
        dir.path(),
        &[
            "replay",
            "stm-check-regressions/racy-reader.json",
            "--workload",
            "bank",
        ],
    );
    assert_eq!(wrong.status.code(), Some(2));
    assert!(
        stderr(&wrong).contains("recorded for workload `racy-reader`"),
        "{}",
        stderr(&wrong)
    );
}

#[test]
fn bad_input_exits_2_with_a_message_naming_the_problem() {
    let dir = tempfile::tempdir().unwrap();
    let cases: [(&str, &str, &str); 4] = [
        (
            "truncated.json",
            r#"{"format": "stm-schedule", "version": 1, "tool""#,
            "truncated.json:1:",
        ),
        (
            "future.json",
            r#"{"format": "stm-schedule", "version": 9}"#,
            "unsupported schedule file (format stm-schedule, version 9)",
        ),
        (
            "other.json",
            r#"{"format": "stm-history", "version": 1}"#,
            "unsupported schedule file (format stm-history",
        ),
        (
            "fields.json",
            r#"{"format": "stm-schedule", "version": 1, "steps": []}"#,
            "fields.json:1:",
        ),
    ];
    for (name, contents, expected) in cases {
        std::fs::write(dir.path().join(name), contents).unwrap();
        let out = stm_check(dir.path(), &["replay", name]);
        assert_eq!(out.status.code(), Some(2), "{name}");
        assert!(stderr(&out).contains(expected), "{name}: {}", stderr(&out));
    }
    let missing = stm_check(dir.path(), &["replay", "nope.json"]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(stderr(&missing).contains("nope.json"));

    let unknown = stm_check(dir.path(), &["explore", "--workload", "no-such-workload"]);
    assert_eq!(unknown.status.code(), Some(2));
    assert!(
        stderr(&unknown).contains("unknown workload `no-such-workload`"),
        "{}",
        stderr(&unknown)
    );

    std::fs::write(
        dir.path().join("broken.json"),
        r#"{"format": "stm-workload", "version": 3}"#,
    )
    .unwrap();
    let broken = stm_check(dir.path(), &["explore", "--workload", "broken.json"]);
    assert_eq!(broken.status.code(), Some(2));
    assert!(
        stderr(&broken).contains("broken.json"),
        "{}",
        stderr(&broken)
    );
    assert!(
        stderr(&broken).contains("unsupported workload format version 3"),
        "{}",
        stderr(&broken)
    );
}

#[test]
fn threads_scales_a_builtin_and_refuses_zero() {
    let dir = tempfile::tempdir().unwrap();
    for (workload, threads) in [("bank", "3"), ("counter", "3"), ("bank", "5")] {
        let out = stm_check(
            dir.path(),
            &[
                "explore",
                "--workload",
                workload,
                "--threads",
                threads,
                "--iterations",
                "200",
                "--json",
            ],
        );
        assert_eq!(out.status.code(), Some(0), "{workload}: {}", stderr(&out));
        let summary: Value = serde_json::from_str(&stdout(&out)).unwrap();
        assert_eq!(summary["threads"].to_string(), threads);
        assert_eq!(summary["schedules"], 200);
        assert_eq!(summary["violations"], 0);
    }
    for (workload, threads, expected) in [
        ("bank", "0", "--threads 0: workload `bank` cannot run with 0 thread(s): a workload needs at least one thread"),
        ("counter", "1", "--threads 1: workload `counter` cannot run with 1 thread(s): it needs at least 3 threads"),
        ("bank", "5", "--scheduler loom runs at most 4 threads besides the main one"),
    ] {
        let mut args = vec!["explore", "--workload", workload, "--threads", threads];
        if threads == "5" {
            args.extend(["--scheduler", "loom"]);
        }
        let out = stm_check(dir.path(), &args);
        assert_eq!(out.status.code(), Some(2), "{workload} {threads}");
        assert!(stderr(&out).contains(expected), "{}", stderr(&out));
    }
}

#[test]
fn a_failure_found_with_threads_replays_from_its_file() {
    let dir = tempfile::tempdir().unwrap();
    let workload = racy_workload(dir.path());
    let out = stm_check(
        dir.path(),
        &[
            "explore",
            "--workload",
            &workload,
            "--threads",
            "4",
            "--iterations",
            "500",
            "--json",
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let summary: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(summary["threads"], 4);
    let failure = &summary["failure"];
    assert_eq!(failure["shrink"]["threads"][0], 4);
    assert!(failure["shrink"]["threads"][1].as_u64().unwrap() < 4);
    assert_eq!(failure["shrink"]["signature"][0], "assertion v0 == 60");
    let file = failure["file"].as_str().unwrap();

    let replay = stm_check(dir.path(), &["replay", file, "--json"]);
    assert_eq!(replay.status.code(), Some(1));
    let report: Value = serde_json::from_str(&stdout(&replay)).unwrap();
    assert_eq!(report["reproduced"], true);
    assert_eq!(report["identical_history"], true);
    assert_eq!(report["failure"], failure["shrunk_failure"]);
    assert_eq!(report["shrunk_from"]["name"], "racy-reader");

    // The file names the scaled workload it was shrunk from.
    let scaled = stm_check(
        dir.path(),
        &["replay", file, "--workload", &workload, "--threads", "4"],
    );
    assert_eq!(scaled.status.code(), Some(1), "{}", stderr(&scaled));
    let unscaled = stm_check(dir.path(), &["replay", file, "--workload", &workload]);
    assert_eq!(unscaled.status.code(), Some(2));
    assert!(
        stderr(&unscaled).contains("shrunk from workload `racy-reader`"),
        "{}",
        stderr(&unscaled)
    );
}

/// With an stm-core bug injected (`cargo test -p stm-check --features
/// bug-injection`), the built-in write skew is found, shrunk and replayed.
#[cfg(feature = "bug-injection")]
#[test]
fn an_injected_write_skew_is_shrunk_and_replays() {
    let dir = tempfile::tempdir().unwrap();
    let out = stm_check(
        dir.path(),
        &[
            "explore",
            "--workload",
            "write-skew",
            "--inject-bug",
            "skip-read-validation",
            "--iterations",
            "2000",
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("shrunk: threads 2 -> 2, transactions 2 -> 2, operations 6 -> 4"),
        "{text}"
    );
    assert!(text.contains("failure kind: G2-item anomaly"), "{text}");
    let replay = stm_check(
        dir.path(),
        &["replay", "stm-check-regressions/write-skew.json", "--json"],
    );
    let report: Value = serde_json::from_str(&stdout(&replay)).unwrap();
    assert_eq!(report["reproduced"], true);
    assert_eq!(report["identical_history"], true);
}

#[test]
fn import_fuzz_refuses_what_it_cannot_import_with_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let missing = stm_check(dir.path(), &["import-fuzz", "crash-missing"]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(
        stderr(&missing).contains("crash-missing: cannot read"),
        "{}",
        stderr(&missing)
    );

    // Any bytes decode to an input; these run clean on the correct engine.
    std::fs::write(dir.path().join("crash-clean"), [7u8, 1, 2, 3, 200, 0, 9]).unwrap();
    let clean = stm_check(dir.path(), &["import-fuzz", "crash-clean"]);
    assert_eq!(clean.status.code(), Some(2));
    assert!(
        stderr(&clean).contains("crash-clean: this input runs without a failure on the correct engine; nothing to import"),
        "{}",
        stderr(&clean)
    );
    assert!(
        stderr(&clean).contains("--inject-bug"),
        "{}",
        stderr(&clean)
    );
    assert!(!dir.path().join("stm-check-regressions").exists());

    // A build without bug injection (the default; the fuzz crate's and
    // test builds have it) refuses --inject-bug.
    if cfg!(feature = "bug-injection") {
        return;
    }
    let bug = stm_check(
        dir.path(),
        &[
            "import-fuzz",
            "crash-clean",
            "--inject-bug",
            "lose-retry-wakeup",
        ],
    );
    assert_eq!(bug.status.code(), Some(2));
    assert!(
        stderr(&bug).contains("--inject-bug needs a test build"),
        "{}",
        stderr(&bug)
    );
}

/// A schedule file recorded with an injected bug (the committed parser
/// seed of a fuzzer crash, found with `lose-retry-wakeup`), in `dir`.
fn schedule_needing_a_bug(dir: &Path) -> std::path::PathBuf {
    let path = dir.join("needs a bug.json");
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../fuzz/seeds/parsers/seed-schedule-fuzz-deadlock.json"),
        &path,
    )
    .unwrap();
    path
}

/// On the correct engine the schedule would pass and read as "fixed": a
/// build that cannot inject the bug refuses it and says how to replay it.
#[cfg(not(feature = "bug-injection"))]
#[test]
fn replaying_a_schedule_that_needs_an_injected_bug_without_it_is_refused_with_the_command() {
    let dir = tempfile::tempdir().unwrap();
    let file = schedule_needing_a_bug(dir.path());
    for extra in [&[][..], &["--json"], &["--trace"]] {
        let mut args = vec!["replay", "needs a bug.json"];
        args.extend(extra);
        let out = stm_check(dir.path(), &args);
        assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
        assert_eq!(stdout(&out), "", "nothing replayed");
        assert_eq!(
            stderr(&out),
            "stm-check: needs a bug.json: this schedule fails only with the injected bug `lose-retry-wakeup`, \
             and this build cannot inject bugs (stm-check's `bug-injection` feature is off); replaying it on \
             the correct engine would say nothing. Replay it with: cargo run -p stm-check --features \
             bug-injection -- replay 'needs a bug.json'\n"
        );
    }
    assert!(file.exists());
}

/// A build that can inject the bug replays the schedule and reproduces it.
#[cfg(feature = "bug-injection")]
#[test]
fn a_schedule_that_needs_an_injected_bug_replays_in_a_build_that_injects_it() {
    let dir = tempfile::tempdir().unwrap();
    schedule_needing_a_bug(dir.path());
    let out = stm_check(dir.path(), &["replay", "needs a bug.json", "--json"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let report: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(report["reproduced"], true);
    assert_eq!(report["identical_history"], true);
}

#[test]
fn import_fuzz_of_a_folder_without_a_failing_artifact_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("artifacts");
    std::fs::create_dir_all(&folder).unwrap();
    std::fs::write(folder.join("fuzz-0.log"), "a log").unwrap();
    let empty = stm_check(dir.path(), &["import-fuzz", "artifacts"]);
    assert_eq!(empty.status.code(), Some(2));
    assert!(
        stderr(&empty).contains("artifacts: no crash artifact in this folder"),
        "{}",
        stderr(&empty)
    );
    std::fs::write(folder.join("crash-clean"), [7u8, 1, 2, 3, 200, 0, 9]).unwrap();
    std::fs::write(folder.join("crash-empty"), []).unwrap();
    let clean = stm_check(dir.path(), &["import-fuzz", "artifacts"]);
    assert_eq!(clean.status.code(), Some(2));
    assert!(
        stderr(&clean).contains(
            "artifacts: none of its 2 artifacts fails on the correct engine; nothing to import"
        ),
        "{}",
        stderr(&clean)
    );
    assert!(
        stderr(&clean).contains("--features bug-injection"),
        "{}",
        stderr(&clean)
    );
    assert!(!dir.path().join("stm-check-regressions").exists());
}

/// Crashes of two injected bugs mixed in one folder, as a fork-mode run
/// with each bug would leave them: two kinds, each imported once, and a
/// table that names the file replaying each (`cargo test -p stm-check
/// --features bug-injection`).
#[cfg(feature = "bug-injection")]
#[test]
fn import_fuzz_triages_a_folder_of_two_bugs_into_two_kinds() {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("artifacts");
    std::fs::create_dir_all(&folder).unwrap();
    let crashes = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz-crashes");
    for (bug, copies) in [("skip-read-validation", 2), ("unlock-before-write-back", 3)] {
        for i in 0..copies {
            std::fs::copy(crashes.join(bug), folder.join(format!("crash-{bug}-{i}"))).unwrap();
        }
    }
    let out = stm_check(
        dir.path(),
        &[
            "import-fuzz",
            "artifacts",
            "--inject-bug",
            "skip-read-validation,unlock-before-write-back",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("triaged artifacts: 5 artifacts, 2 kinds of failure"),
        "{text}"
    );
    assert!(
        text.contains("| skip-read-validation | 2 | stm-check-regressions/fuzz-interleavings"),
        "{text}"
    );
    assert!(
        text.contains("| unlock-before-write-back | 3 | stm-check-regressions/fuzz-interleavings"),
        "{text}"
    );
    let json = stm_check(
        dir.path(),
        &[
            "import-fuzz",
            "artifacts",
            "--inject-bug",
            "skip-read-validation",
            "--inject-bug",
            "unlock-before-write-back",
            "--json",
        ],
    );
    assert_eq!(json.status.code(), Some(0), "{}", stderr(&json));
    let report: Value = serde_json::from_str(&stdout(&json)).unwrap();
    assert_eq!(report["artifacts"], 5);
    let kinds = report["kinds"].as_array().unwrap();
    assert_eq!(kinds.len(), 2);
    assert_eq!(kinds[0]["count"], 2);
    assert_eq!(kinds[0]["injected_bug"], "skip-read-validation");
    assert_eq!(
        kinds[0]["imported"]["file"], "stm-check-regressions/fuzz-interleavings-3.json",
        "never overwriting the first triage's files"
    );
    assert!(kinds[1]["imported"]["replay"]
        .as_str()
        .unwrap()
        .starts_with("cargo run -p stm-check --features bug-injection -- replay "));
    for file in ["fuzz-interleavings.json", "fuzz-interleavings-2.json"] {
        let replay = stm_check(
            dir.path(),
            &["replay", &format!("stm-check-regressions/{file}"), "--json"],
        );
        let report: Value = serde_json::from_str(&stdout(&replay)).unwrap();
        assert_eq!(report["reproduced"], true, "{file}");
    }
}

/// A file saved by a test cannot be replayed without the test's code: the
/// refusal (exit 2) names the commands that replay it, and the failure and
/// explanation saved in the file are shown.
#[test]
fn a_test_saved_file_is_refused_with_the_commands_that_replay_it() {
    let dir = tempfile::tempdir().unwrap();
    let mut file = stm_check::schedule::ScheduleFile::new(
        stm_check::schedule::Target::Test {
            name: "split_transfer".into(),
        },
        stm_check::schedule::DriverInfo {
            scheduler: "pct".into(),
            seed: Some(0),
            depth: Some(3),
            injected_bug: None,
            shard: None,
        },
        stm_core::StmConfig::default(),
        "money vanished".into(),
        stm_check::schedule::ConfirmedExecution {
            history_hash: None,
            tasks: 2,
        },
        &stm_check::schedule::Schedule::default(),
        stm_check::schedule::Shrunk {
            schedule: stm_check::schedule::Schedule::default(),
            context_switches: 0,
            replays: 0,
        },
    );
    file.explanation = Some("panicked at tests/split_transfer.rs:37:5".into());
    let path = file.save_new(dir.path(), "split_transfer").unwrap();
    let out = stm_check(dir.path(), &["replay", "split_transfer.json"]);
    assert_eq!(out.status.code(), Some(2));
    let (text, error) = (stdout(&out), stderr(&out));
    assert!(
        text.contains("saved by the test `split_transfer`, which failed with:\nmoney vanished"),
        "{text}"
    );
    assert!(
        text.contains("panicked at tests/split_transfer.rs:37:5"),
        "{text}"
    );
    assert!(
        error.contains("replay it with `cargo test split_transfer`"),
        "{error}"
    );
    assert!(
        error.contains(
            r#"`stm_check::replay(Path::new("split_transfer.json"), "split_transfer", test)`"#
        ),
        "{error}"
    );
    let json = stm_check(dir.path(), &["replay", "split_transfer.json", "--json"]);
    assert_eq!(json.status.code(), Some(2));
    let report: Value = serde_json::from_str(&stdout(&json)).unwrap();
    assert_eq!(report["test"], "split_transfer");
    assert_eq!(report["replay_with"][0], "cargo test split_transfer");
    assert_eq!(
        report["explanation"],
        "panicked at tests/split_transfer.rs:37:5"
    );
    assert!(path.exists(), "the file is kept");
}
