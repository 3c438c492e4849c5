//! `stm-check explore --workload swarm` from the command line: a stream of
//! random programs passes on the correct engine, an injected bug is found,
//! shrunk and saved with its program and runtime settings inline, and the
//! file replays like any other.

mod support;

use support::{json_of, stderr, stm_check};

#[test]
fn swarm_programs_pass_on_the_correct_engine_under_pct_and_random() {
    let dir = tempfile::tempdir().unwrap();
    for scheduler in ["pct", "random"] {
        let out = stm_check(
            dir.path(),
            &[
                "explore",
                "--workload",
                "swarm",
                "--scheduler",
                scheduler,
                "--iterations",
                "1500",
                "--seed",
                "3",
                "--json",
            ],
        );
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let report = json_of(&out);
        assert_eq!(report["workload"], "swarm");
        assert_eq!(report["schedules"], 1500);
        assert_eq!(report["violations"], 0);
        assert!(report["programs"].as_u64().unwrap() >= 1500 / 4);
        assert!(report["failing_program"].is_null());
    }
    assert!(!dir.path().join("stm-check-regressions").exists());
}

#[test]
fn swarm_refuses_what_does_not_apply_to_it() {
    let dir = tempfile::tempdir().unwrap();
    for (args, message) in [
        (
            &["--threads", "2"][..],
            "--threads does not apply to --workload swarm",
        ),
        (
            &["--scheduler", "loom"][..],
            "--workload swarm runs with pct",
        ),
        (
            &["--per-program", "0"][..],
            "--per-program must be at least 1",
        ),
    ] {
        let mut all = vec!["explore", "--workload", "swarm"];
        all.extend_from_slice(args);
        let out = stm_check(dir.path(), &all);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(stderr(&out).contains(message), "{}", stderr(&out));
    }
}

/// With an stm-core bug injected, a swarm run finds it, says which program
/// failed, and saves a file that `replay` reproduces with the same history.
#[cfg(feature = "bug-injection")]
#[test]
fn an_injected_bug_found_by_swarm_is_saved_with_its_program_and_replays() {
    let dir = tempfile::tempdir().unwrap();
    let out = stm_check(
        dir.path(),
        &[
            "explore",
            "--workload",
            "swarm",
            "--inject-bug",
            "lose-retry-wakeup",
            "--iterations",
            "2000",
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let text = support::stdout(&out);
    assert!(text.contains("failing program: number "), "{text}");
    assert!(text.contains("swarm program: "), "{text}");
    let file = dir.path().join("stm-check-regressions/swarm.json");
    let saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(saved["target"]["workload"]["name"], "swarm");
    assert!(saved["stm"]["irrevocable_after"].is_u64());
    for _ in 0..3 {
        let replay = stm_check(
            dir.path(),
            &["replay", "stm-check-regressions/swarm.json", "--json"],
        );
        let report = json_of(&replay);
        assert_eq!(report["reproduced"], true, "{}", support::stdout(&replay));
        assert_eq!(report["identical_history"], true);
    }
}
