//! `stm-check check` end to end: exit code 0 for a valid history, 1 for a
//! violation, 2 for a file that is not a valid history, with a message that
//! names the file, the position or transaction, and the problem.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const LOST_UPDATE: &str = r#"{"format": "stm-history", "version": 1,
  "transactions": [
    {"id": 1, "thread": 0, "outcome": "committed", "begin": 1, "end": 4,
     "reads": [{"key": 0, "version": 0}], "writes": [{"key": 0, "version": 1}]},
    {"id": 2, "thread": 1, "outcome": "committed", "begin": 2, "end": 5,
     "reads": [{"key": 0, "version": 0}], "writes": [{"key": 0, "version": 2}]}
  ]}
"#;

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

fn stm_check(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_stm-check"))
        .args(args)
        .output()
        .expect("stm-check runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Runs `check` on `contents` and expects exit code 2 with a message on
/// stderr containing the file name and every part of `expected`.
fn expect_bad_input(contents: &str, expected: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "history.json", contents);
    let out = stm_check(&["check", path.to_str().unwrap()]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "stderr: {stderr}");
    assert!(stderr.contains("history.json"), "names the file: {stderr}");
    for part in expected {
        assert!(stderr.contains(part), "expected {part:?} in: {stderr}");
    }
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(out.stdout.is_empty(), "no verdict on bad input");
}

#[test]
fn valid_history_exits_0() {
    let dir = tempfile::tempdir().unwrap();
    let fixed = LOST_UPDATE.replacen(
        r#""reads": [{"key": 0, "version": 0}], "writes": [{"key": 0, "version": 2}]"#,
        r#""reads": [{"key": 0, "version": 1}], "writes": [{"key": 0, "version": 2}]"#,
        1,
    );
    let path = write(dir.path(), "ok.json", &fixed);
    let out = stm_check(&["check", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("VALID"), "{}", text(&out.stdout));
}

#[test]
fn violation_exits_1_with_explanation_and_dot() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "lost.json", LOST_UPDATE);
    let dot = dir.path().join("cycle.dot");
    std::fs::write(&dot, "old contents").unwrap();
    let out = stm_check(&[
        "check",
        path.to_str().unwrap(),
        "--dot",
        dot.to_str().unwrap(),
    ]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}{}", text(&out.stderr));
    assert!(
        stdout.contains("G-single (lost update): T2, T1"),
        "{stdout}"
    );
    assert!(
        stdout.contains("T1 < T2 because T2 overwrote key 0 version 1 written by T1 (with version 2): a contradiction"),
        "{stdout}"
    );
    let graph = std::fs::read_to_string(&dot).unwrap();
    assert!(
        graph.starts_with("digraph history {") && graph.contains("a0_t1 -> a0_t2"),
        "{graph}"
    );
    // Only the requested file: the temporary file was renamed over it.
    let entries = std::fs::read_dir(dir.path()).unwrap().count();
    assert_eq!(entries, 2, "lost.json and cycle.dot only");
}

#[test]
fn json_output_is_machine_readable() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "lost.json", LOST_UPDATE);
    let out = stm_check(&["check", path.to_str().unwrap(), "--json"]);
    assert_eq!(out.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON on stdout");
    assert_eq!(report["serializable"], false);
    assert_eq!(report["anomalies"][0]["class"], "G-single");
    assert_eq!(report["anomalies"][0]["pattern"], "lost-update");
}

#[test]
fn truncated_json_exits_2_with_position() {
    let cut = &LOST_UPDATE[..LOST_UPDATE
        .find("\"writes\": [{\"key\": 0, \"version\": 2")
        .unwrap()];
    expect_bad_input(cut, &["truncated JSON at line 6, column 42"]);
}

#[test]
fn invalid_json_exits_2_with_position() {
    let broken = LOST_UPDATE.replacen("\"thread\": 1,", "\"thread\": 1,,", 1);
    expect_bad_input(&broken, &["invalid JSON at line 5, column 27"]);
}

#[test]
fn wrong_type_exits_2_with_position_in_the_whole_file() {
    // The error is on the first line of the "transactions" array, which is
    // parsed on its own: its column must still count from the file's line.
    let broken = LOST_UPDATE.replacen("\"transactions\": [", "\"transactions\": [1,", 1);
    expect_bad_input(
        &broken,
        &[
            "unexpected JSON shape at line 2, column 20",
            "expected struct Transaction",
        ],
    );
}

#[test]
fn missing_field_exits_2_with_position() {
    let broken = LOST_UPDATE.replacen("\"begin\": 2, ", "", 1);
    expect_bad_input(
        &broken,
        &["unexpected JSON shape at line 6", "missing field `begin`"],
    );
}

#[test]
fn unknown_format_version_exits_2() {
    let v7 = LOST_UPDATE.replacen("\"version\": 1,", "\"version\": 7,", 1);
    expect_bad_input(
        &v7,
        &["unsupported history format version 7; this stm-check reads version 1"],
    );
    let other = LOST_UPDATE.replacen("stm-history", "jepsen", 1);
    expect_bad_input(&other, &["not a history", "\"jepsen\""]);
}

#[test]
fn dangling_version_reference_exits_2() {
    let dangling = LOST_UPDATE.replacen(
        r#""reads": [{"key": 0, "version": 0}], "writes": [{"key": 0, "version": 2}]"#,
        r#""reads": [{"key": 0, "version": 9}], "writes": [{"key": 0, "version": 2}]"#,
        1,
    );
    expect_bad_input(
        &dangling,
        &["T2 read key 0 version 9, which no transaction wrote"],
    );
}

#[test]
fn duplicate_transaction_ids_exit_2() {
    let duplicate = LOST_UPDATE.replacen("\"id\": 2", "\"id\": 1", 1);
    expect_bad_input(&duplicate, &["duplicate transaction id T1"]);
}

#[test]
fn contradictory_contents_exit_2() {
    let same_version = LOST_UPDATE.replacen(
        r#""writes": [{"key": 0, "version": 2}]"#,
        r#""writes": [{"key": 0, "version": 1}]"#,
        1,
    );
    expect_bad_input(
        &same_version,
        &["T1 and T2 both claim to have written key 0 version 1"],
    );
    let backwards = LOST_UPDATE.replacen("\"begin\": 2, \"end\": 5", "\"begin\": 5, \"end\": 5", 1);
    expect_bad_input(&backwards, &["T2: begin (5) must be before end (5)"]);
    let aborted_commit = LOST_UPDATE.replacen(
        "\"outcome\": \"committed\", \"begin\": 2",
        "\"outcome\": \"aborted\", \"commit_version\": 3, \"begin\": 2",
        1,
    );
    expect_bad_input(&aborted_commit, &["T2 aborted but has commit_version 3"]);
}

#[test]
fn missing_file_exits_2() {
    let out = stm_check(&["check", "/nonexistent/history.json"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("/nonexistent/history.json: cannot read"));
}

// --- `--dot` never destroys a file; the JSON is objects only ---

/// `stm-check check HISTORY --dot DOT`.
fn check_with_dot(history: &Path, dot: &Path) -> Output {
    stm_check(&[
        "check",
        history.to_str().unwrap(),
        "--dot",
        dot.to_str().unwrap(),
    ])
}

/// A directory with the lost-update history in `lost.json`.
fn lost_update_dir() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "lost.json", LOST_UPDATE);
    (dir, path)
}

#[test]
fn dot_refuses_the_input_history_and_leaves_it_intact() {
    let (dir, path) = lost_update_dir();
    let out = check_with_dot(&path, &path);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("lost.json") && stderr.contains("it is the input history"),
        "{stderr}"
    );
    assert_eq!(std::fs::read_to_string(&path).unwrap(), LOST_UPDATE);
    // The same file by another name (a hard link) is refused too.
    let link = dir.path().join("link.json");
    std::fs::hard_link(&path, &link).unwrap();
    let out = check_with_dot(&path, &link);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(std::fs::read_to_string(&path).unwrap(), LOST_UPDATE);
    // Close valid variant: another file beside it is written.
    let other = dir.path().join("graph.dot");
    let out = check_with_dot(&path, &other);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(std::fs::read_to_string(&other)
        .unwrap()
        .starts_with("digraph"));
}

#[cfg(unix)]
#[test]
fn dot_refuses_symlinks_fifos_and_devices() {
    use std::os::unix::fs::FileTypeExt;
    let (dir, path) = lost_update_dir();
    let target = write(dir.path(), "target.txt", "keep me");
    let link = dir.path().join("link.dot");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    let fifo = dir.path().join("pipe.dot");
    let made = Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(made.success());
    for refused in [
        &link,
        &fifo,
        &PathBuf::from("/dev/null"),
        &dir.path().to_path_buf(),
    ] {
        let out = check_with_dot(&path, refused);
        let stderr = text(&out.stderr);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{}: {stderr}",
            refused.display()
        );
        assert!(
            stderr.contains(refused.to_str().unwrap()),
            "names it: {stderr}"
        );
        assert!(out.stdout.is_empty(), "refused before checking");
    }
    assert!(std::fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
    assert!(std::fs::metadata(&fifo).unwrap().file_type().is_fifo());
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "keep me");
}

#[cfg(unix)]
#[test]
fn dot_keeps_an_existing_files_mode() {
    use std::os::unix::fs::PermissionsExt;
    let (dir, path) = lost_update_dir();
    let dot = write(dir.path(), "graph.dot", "old");
    std::fs::set_permissions(&dot, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = check_with_dot(&path, &dot);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let mode = std::fs::metadata(&dot).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o644);
    assert!(std::fs::read_to_string(&dot)
        .unwrap()
        .starts_with("digraph"));
    // A new file gets the usual mode of a new file, not 0600.
    let fresh = dir.path().join("fresh.dot");
    check_with_dot(&path, &fresh);
    let mode = std::fs::metadata(&fresh).unwrap().permissions().mode() & 0o777;
    assert_ne!(mode, 0o600, "{mode:o}");
}

#[test]
fn the_verdict_is_printed_when_the_dot_cannot_be_written() {
    let (dir, path) = lost_update_dir();
    let unwritable = dir.path().join("no-such-dir").join("graph.dot");
    let out = check_with_dot(&path, &unwritable);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(
        out.status.code(),
        Some(1),
        "the violation's exit code: {stderr}"
    );
    assert!(stdout.contains("G-single (lost update)"), "{stdout}");
    assert!(
        stderr.contains("cannot write") && stderr.contains("graph.dot"),
        "{stderr}"
    );
    // A valid history whose DOT cannot be written: verdict printed, exit 2.
    let valid = LOST_UPDATE.replacen(
        r#""reads": [{"key": 0, "version": 0}], "writes": [{"key": 0, "version": 2}]"#,
        r#""reads": [{"key": 0, "version": 1}], "writes": [{"key": 0, "version": 2}]"#,
        1,
    );
    let ok = write(dir.path(), "ok.json", &valid);
    let out = check_with_dot(&ok, &unwritable);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stdout).contains("VALID"));
}

#[test]
fn positional_arrays_are_refused_for_every_object() {
    let positional_tx = LOST_UPDATE.replacen(
        r#"{"id": 1, "thread": 0, "outcome": "committed", "begin": 1, "end": 4,
     "reads": [{"key": 0, "version": 0}], "writes": [{"key": 0, "version": 1}]}"#,
        r#"[1, 0, "committed", 1, 4, null, null, [], []]"#,
        1,
    );
    expect_bad_input(
        &positional_tx,
        &["expected struct Transaction (a JSON object"],
    );
    let positional_read = LOST_UPDATE.replacen(r#"{"key": 0, "version": 0}"#, "[0, 0]", 1);
    expect_bad_input(&positional_read, &["expected struct Read (a JSON object"]);
    let positional_write = LOST_UPDATE.replacen(r#"{"key": 0, "version": 1}"#, "[0, 1]", 1);
    expect_bad_input(&positional_write, &["expected struct Write (a JSON object"]);
    let positional_top = r#"["stm-history", 1, [], []]"#;
    expect_bad_input(positional_top, &["a JSON object"]);
    let positional_initial = LOST_UPDATE.replacen(
        r#""transactions""#,
        r#""initial": [[0, 5]], "transactions""#,
        1,
    );
    expect_bad_input(
        &positional_initial,
        &["expected struct InitialValue (a JSON object"],
    );
}

#[test]
fn a_key_too_large_says_so_in_words() {
    let huge = LOST_UPDATE.replacen(
        r#"{"key": 0, "version": 0}"#,
        r#"{"key": 18446744073709551616, "version": 0}"#,
        1,
    );
    expect_bad_input(&huge, &["too large for a key", "18446744073709551615"]);
    let negative = LOST_UPDATE.replacen(
        r#"{"key": 0, "version": 1}"#,
        r#"{"key": -3, "version": 1}"#,
        1,
    );
    expect_bad_input(&negative, &["-3 is negative"]);
    let string = LOST_UPDATE.replacen(
        r#"{"key": 0, "version": 1}"#,
        r#"{"key": "x", "version": 1}"#,
        1,
    );
    expect_bad_input(&string, &["key \"x\" is a string", "format version 2"]);
    // Close valid variant: the largest key is accepted.
    let dir = tempfile::tempdir().unwrap();
    let largest = LOST_UPDATE.replace(r#""key": 0"#, r#""key": 18446744073709551615"#);
    let path = write(dir.path(), "largest.json", &largest);
    let out = stm_check(&["check", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
}

#[test]
fn version_2_histories_are_checked_and_refused_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let skew = r#"{"format": "stm-history", "version": 2, "model": "list-append", "transactions": [
      {"id": "a", "outcome": "committed", "reads": [{"key": "x", "value": []}, {"key": "y", "value": []}], "appends": [{"key": "x", "value": 1}]},
      {"id": "b", "outcome": "committed", "reads": [{"key": "x", "value": []}, {"key": "y", "value": []}], "appends": [{"key": "y", "value": 2}]},
      {"id": "c", "outcome": "committed", "reads": [{"key": "x", "value": [1]}, {"key": "y", "value": [2]}]}]}"#;
    let path = write(dir.path(), "skew.json", skew);
    let out = stm_check(&["check", path.to_str().unwrap()]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}{}", text(&out.stderr));
    assert!(
        stdout.contains("G2-item (write skew): T[a], T[b]"),
        "{stdout}"
    );
    assert!(
        stdout.contains("strict serializable: not checked (no real time)"),
        "{stdout}"
    );
    // Close valid variant: b saw a's append.
    let ok = skew.replacen(
        r#"{"key": "x", "value": []}, {"key": "y", "value": []}], "appends": [{"key": "y""#,
        r#"{"key": "x", "value": [1]}, {"key": "y", "value": []}], "appends": [{"key": "y""#,
        1,
    );
    let path = write(dir.path(), "ok.json", &ok);
    let out = stm_check(&["check", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    // What cannot be inferred: exit 2, naming the file and the element.
    expect_bad_input(
        &skew.replace("[2]}]}", "[9]}]}"),
        &["T[c] read 9 in the list of key \"y\", which no transaction appended"],
    );
}
