//! What a user sees when a check fails: stm-check's report, not the model
//! checker's own lines ("Task failed, serializing schedule", a failing
//! schedule printed for shuttle's replay), unless `STM_CHECK_VERBOSE=1`
//! asks for them; and `SHUTTLE_CAPTURE_BACKTRACE`, which makes shuttle add
//! backtraces to a deadlock's message, changes neither the failure saved
//! nor whether a replay reproduces it.
//!
//! Each check runs in a child process (this test binary, running one of
//! the ignored tests below), so that its whole stderr can be read and its
//! environment set before shuttle reads it.

use std::process::Command;
use stm_check::check::TestRuntime;
use stm_check::{replay, try_check, CheckConfig};

/// Runs the ignored test `name` of this binary in a child process, with
/// `env` set; returns its exit status and its stdout and stderr together.
fn child(name: &str, env: &[(&str, &str)]) -> (bool, String) {
    let mut command = Command::new(std::env::current_exe().unwrap());
    command.args([
        "--ignored",
        "--exact",
        name,
        "--nocapture",
        "--test-threads=1",
    ]);
    command.env_remove("SHUTTLE_CAPTURE_BACKTRACE");
    command.env_remove(stm_check::schedule::VERBOSE_ENV);
    for (key, value) in env {
        command.env(key, value);
    }
    let output = command.output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

/// An audit that sees money missing: an assertion of the test fails.
fn split_transfer(stm: &TestRuntime) {
    let a = stm.new_tvar(100i64);
    let b = stm.new_tvar(0i64);
    let mover = {
        let (stm2, a, b) = (stm.clone(), a.clone(), b.clone());
        stm.spawn(move || {
            stm2.atomically(|tx| tx.modify(&a, |v| v - 10));
            stm2.atomically(|tx| tx.modify(&b, |v| v + 10));
        })
    };
    let total = stm.atomically(|tx| Ok(tx.read(&a)? + tx.read(&b)?));
    stm_core::platform::Join::join(mover).unwrap();
    assert_eq!(total, 100, "money vanished: the audit saw {total}");
}

/// A consumer whose producer never comes: `retry` waits forever.
fn lonely_consumer(stm: &TestRuntime) {
    let item = stm.new_tvar(0i64);
    stm.atomically(|tx| {
        if tx.read(&item)? == 0 {
            return tx.retry();
        }
        Ok(())
    });
}

/// Finds, saves and replays a failure of `test`, asserting that the replay
/// reproduces it; prints the saved failure.
fn find_and_replay(name: &str, test: fn(&TestRuntime)) {
    let dir = tempfile::tempdir().unwrap();
    let config = CheckConfig {
        regressions: dir.path().to_path_buf(),
        iterations: 200,
        ..CheckConfig::new(name)
    };
    let failure = try_check(&config, test).expect_err("it fails");
    println!("SAVED FAILURE: {}", failure.saved.failure);
    assert!(
        !failure.saved.failure.contains("Backtrace"),
        "{}",
        failure.saved.failure
    );
    for _ in 0..3 {
        let replayed = replay(&failure.file, name, test).unwrap();
        assert!(replayed.reproduced, "{replayed:?}");
    }
}

#[test]
#[ignore = "run by the tests below, in a child process"]
fn child_failing_checks() {
    find_and_replay("split_transfer", split_transfer);
    find_and_replay("lonely_consumer", lonely_consumer);
    println!("CHILD DONE");
}

#[test]
fn a_failing_check_shows_none_of_shuttle_s_own_lines() {
    let (ok, output) = child("child_failing_checks", &[]);
    assert!(ok, "{output}");
    assert!(output.contains("CHILD DONE"), "{output}");
    assert!(output.contains("money vanished"), "{output}");
    assert!(output.contains("deadlock"), "{output}");
    for chatter in [
        "Task failed, serializing schedule",
        "failing schedule:",
        "pass that string to `shuttle::replay`",
    ] {
        assert!(!output.contains(chatter), "{chatter:?} in:\n{output}");
    }
}

#[test]
fn stm_check_verbose_lets_shuttle_s_lines_through() {
    let (ok, output) = child("child_failing_checks", &[("STM_CHECK_VERBOSE", "1")]);
    assert!(ok, "{output}");
    assert!(output.contains("failing schedule:"), "{output}");
}

#[test]
fn capturing_backtraces_changes_neither_the_saved_failure_nor_the_replay() {
    let (ok, output) = child(
        "child_failing_checks",
        &[("SHUTTLE_CAPTURE_BACKTRACE", "1")],
    );
    assert!(ok, "{output}");
    assert!(output.contains("CHILD DONE"), "{output}");
    let saved = output
        .lines()
        .find(|l| l.starts_with("SAVED FAILURE: deadlock!"))
        .unwrap_or_else(|| panic!("no deadlock saved:\n{output}"));
    assert!(saved.ends_with(")]"), "{saved}");
}
