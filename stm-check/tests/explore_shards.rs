//! `stm-check explore --shard I/N` end to end: shards of one seed split the
//! run of N times the size between them (the same transaction attempts in
//! all), the summary and a saved failure say their shard, and a shard that
//! does not exist, or a driver that is not seeded, is refused with exit 2.
//! The per-execution comparison (disjoint executions, the union equal to
//! the run of twice the size, failures found alike with injected bugs) is
//! in the unit tests of `stm_check::explore::shard`.

mod support;

use serde_json::Value;
use std::path::Path;
use support::{json_of, stderr, stm_check};

/// `explore --json` of the bank workload under `scheduler`, seed 5.
fn bank(dir: &Path, scheduler: &str, iterations: &str, shard: &str) -> Value {
    let out = stm_check(
        dir,
        &[
            "explore",
            "--workload",
            "bank",
            "--scheduler",
            scheduler,
            "--seed",
            "5",
            "--iterations",
            iterations,
            "--shard",
            shard,
            "--json",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    json_of(&out)
}

#[test]
fn two_shards_split_the_run_of_twice_the_size_and_say_which_they_are() {
    let dir = tempfile::tempdir().unwrap();
    for scheduler in ["random", "pct"] {
        let zero = bank(dir.path(), scheduler, "30", "0/2");
        let one = bank(dir.path(), scheduler, "30", "1/2");
        let whole = bank(dir.path(), scheduler, "60", "0/1");
        assert_eq!(zero["shard"], serde_json::json!({"index": 0, "count": 2}));
        assert_eq!(one["shard"], serde_json::json!({"index": 1, "count": 2}));
        assert_eq!(zero["seed"], 5);
        assert_eq!(zero["schedules"], 30);
        assert_eq!(whole["schedules"], 60);
        let sum = |key: &str| zero[key].as_u64().unwrap() + one[key].as_u64().unwrap();
        assert_eq!(sum("attempts"), whole["attempts"].as_u64().unwrap());
        assert_eq!(
            sum("aborted_attempts"),
            whole["aborted_attempts"].as_u64().unwrap()
        );
        // The shards are not the same run twice.
        assert_ne!(zero["attempts"], one["attempts"], "{scheduler}");
    }
    // Unsharded, nothing changes: the summary names no shard.
    let out = stm_check(
        dir.path(),
        &[
            "explore",
            "--workload",
            "bank",
            "--iterations",
            "5",
            "--json",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(json_of(&out)["shard"].is_null());
}

#[test]
fn a_failure_found_by_a_shard_is_saved_with_its_shard_and_replays() {
    let dir = tempfile::tempdir().unwrap();
    let workload = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/racy-reader.workload.json");
    let workload = workload.display().to_string();
    let out = stm_check(
        dir.path(),
        &[
            "explore",
            "--workload",
            &workload,
            "--scheduler",
            "random",
            "--shard",
            "1/3",
            "--iterations",
            "200",
            "--shrink-schedules",
            "0",
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("with random, shard 1/3 of seed 0 (executions k = 1, 4, ... of the layout)"),
        "{text}"
    );
    let path = dir.path().join("stm-check-regressions/racy-reader.json");
    let file: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let shard = &file["driver"]["shard"];
    assert_eq!(
        (shard["index"].as_u64(), shard["count"].as_u64()),
        (Some(1), Some(3))
    );
    let k = shard["execution"].as_u64().expect("the failing execution");
    assert_eq!(k % 3, 1, "{file}");

    let replay = stm_check(dir.path(), &["replay", &path.display().to_string()]);
    assert_eq!(replay.status.code(), Some(1), "{}", stderr(&replay));
    let text = String::from_utf8_lossy(&replay.stdout);
    assert!(
        text.contains(&format!(
            "found by random (seed 0), shard 1/3 at execution {k}"
        )),
        "{text}"
    );
    assert!(text.contains("failure reproduced"), "{text}");
    let json = stm_check(
        dir.path(),
        &["replay", &path.display().to_string(), "--json"],
    );
    assert_eq!(json_of(&json)["shard"]["execution"], k);

    // The file's shard and execution find the failure again: the shard's
    // first (k - 1) / 3 + 1 executions.
    let again = (k - 1) / 3 + 1;
    let rerun = stm_check(
        dir.path(),
        &[
            "explore",
            "--workload",
            &workload,
            "--scheduler",
            "random",
            "--shard",
            "1/3",
            "--iterations",
            &again.to_string(),
            "--shrink-schedules",
            "0",
            "--json",
        ],
    );
    assert_eq!(rerun.status.code(), Some(1), "{}", stderr(&rerun));
    let rerun = json_of(&rerun);
    assert_eq!(rerun["schedules"].as_u64(), Some(again));
    assert_eq!(rerun["failure"]["shard"]["execution"], k);
    assert_eq!(rerun["failure"]["shard"]["index"], 1);
}

#[test]
fn a_shard_that_does_not_exist_or_an_unseeded_driver_exits_2_naming_the_problem() {
    let dir = tempfile::tempdir().unwrap();
    let refused = |args: &[&str], expected: &str| {
        let mut all = vec!["explore", "--workload", "counter", "--iterations", "3"];
        all.extend_from_slice(args);
        let out = stm_check(dir.path(), &all);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(
            stderr(&out).contains(expected),
            "{args:?}: {}",
            stderr(&out)
        );
        assert!(!stderr(&out).contains("panicked"), "{}", stderr(&out));
    };
    refused(
        &["--shard", "4/4"],
        "`4/4`: shard 4 does not exist among 4 shards; shards are numbered from 0 to 3",
    );
    refused(
        &["--shard", "0/0"],
        "`0/0`: the number of shards must be at least 1",
    );
    for bad in ["1", "1/", "/4", "+1/4", "a/b", "1/2/3"] {
        refused(
            &["--shard", bad],
            "is not a shard: expected I/N, the 0-based shard I of N shards (0 <= I < N)",
        );
    }
    for (scheduler, why) in [
        ("dfs", "dfs enumerates schedules depth-first"),
        ("loom", "loom enumerates executions exhaustively"),
        ("stress", "stress runs real threads"),
    ] {
        refused(
            &["--scheduler", scheduler, "--shard", "0/2"],
            &format!("--shard 0/2 needs a seeded scheduler (random or pct): {why}"),
        );
    }
    assert!(!dir.path().join("stm-check-regressions").exists());
}
