//! One test of a user's own code, written once, run by `stm_check::check`
//! under shuttle's PCT and under loom: the correct version passes both, a
//! bug in it is found by both, and each saved file replays the same
//! failure with the same history fingerprint every time.

use stm_check::check::TestRuntime;
use stm_check::{replay, try_check, CheckConfig, SchedulerKind};

/// A counter incremented by two tasks, either in one transaction each
/// (correct) or as a read in one transaction and a write in another (the
/// bug: a lost update).
fn increments(stm: &TestRuntime, split: bool) {
    let count = stm.new_tvar(0i64);
    count.set_label("count");
    let increment = {
        let (stm, count) = (stm.clone(), count.clone());
        move || {
            if split {
                let seen = stm.atomically(|tx| tx.read(&count));
                stm.atomically(|tx| tx.write(&count, seen + 1));
            } else {
                stm.atomically(|tx| tx.modify(&count, |v| v + 1));
            }
        }
    };
    let other = stm.spawn(increment.clone());
    increment();
    other.join().unwrap();
    let total = count.load();
    assert_eq!(total, 2, "an increment was lost: the count is {total}");
}

fn split(stm: &TestRuntime) {
    increments(stm, true)
}

fn correct(stm: &TestRuntime) {
    increments(stm, false)
}

fn config(dir: &std::path::Path, name: &str, scheduler: SchedulerKind) -> CheckConfig {
    CheckConfig {
        regressions: dir.to_path_buf(),
        scheduler,
        iterations: 2_000,
        ..CheckConfig::new(name)
    }
}

const SCHEDULERS: [(&str, SchedulerKind); 2] = [
    ("pct", SchedulerKind::Pct { depth: 3 }),
    (
        "loom",
        SchedulerKind::Loom {
            preemption_bound: 2,
        },
    ),
];

#[test]
fn the_correct_test_passes_under_pct_and_loom() {
    for (what, scheduler) in SCHEDULERS {
        let dir = tempfile::tempdir().unwrap();
        let summary = try_check(&config(dir.path(), "increments", scheduler), correct)
            .unwrap_or_else(|failure| panic!("{what}: {failure}"));
        assert!(summary.executions > 1, "{what}: {summary:?}");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0, "{what}");
    }
}

#[test]
fn a_lost_update_is_found_under_pct_and_loom_and_each_file_replays_exactly() {
    for (what, scheduler) in SCHEDULERS {
        let dir = tempfile::tempdir().unwrap();
        let failure = try_check(&config(dir.path(), "increments", scheduler), split)
            .expect_err("the split increment loses an update");
        assert!(
            failure
                .message
                .contains("an increment was lost: the count is 1"),
            "{what}: {}",
            failure.message
        );
        let saved = &failure.saved;
        assert_eq!(saved.driver.scheduler, what);
        assert_eq!(saved.loom_path.is_some(), what == "loom");
        assert!(saved.history_hash.is_some(), "{what}");
        for _ in 0..10 {
            let replayed = replay(&failure.file, "increments", split).unwrap();
            assert!(replayed.reproduced, "{what}: {replayed:?}");
            assert_eq!(replayed.history_hash, saved.history_hash, "{what}");
        }
        // The next check replays the saved file first, under the same
        // checker, and fails at once.
        let again = try_check(&config(dir.path(), "increments", scheduler), split)
            .expect_err("the saved schedule still fails");
        assert!(again.regression, "{what}");
    }
}

/// Set in the child process of the test below.
const CHILD: &str = "STM_TESTS_LOOM_DIVERGENCE_CHILD";

#[test]
fn a_loom_file_replayed_on_a_changed_test_says_so_and_is_kept() {
    let dir = tempfile::tempdir().unwrap();
    let scheduler = SchedulerKind::Loom {
        preemption_bound: 2,
    };
    let failure = try_check(&config(dir.path(), "increments", scheduler), split)
        .expect_err("the split increment loses an update");
    let saved = std::fs::read(&failure.file).unwrap();
    // Where loom itself meets a branch the path does not have, it cannot
    // stop cleanly and the process aborts (after stm-check says why): the
    // replay of the changed test runs in a child process.
    let child = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "replay_on_a_changed_test", "--nocapture"])
        .env(CHILD, &failure.file)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&child.stderr);
    let file = failure.file.display();
    assert!(
        stderr.contains(&format!(
            "{file}: the replay no longer follows this schedule: at step 0, loom operation 0: \
             the saved execution made `a` (a fetch-add), the replay made `p` (a spawn)"
        )) || stderr.contains(&format!(
            "stm-check: {file}: the program no longer follows this loom schedule"
        )),
        "{stderr}"
    );
    assert_eq!(std::fs::read(&failure.file).unwrap(), saved);
}

/// The child of the test above: replays the saved file on the test with
/// one more task (does nothing unless the parent set [`CHILD`]).
#[test]
fn replay_on_a_changed_test() {
    let Some(file) = std::env::var_os(CHILD) else {
        return;
    };
    let diverged = replay(std::path::Path::new(&file), "increments", |stm| {
        let extra = stm.spawn(|| ());
        split(stm);
        extra.join().unwrap();
    })
    .expect_err("the changed test no longer follows the saved execution");
    eprintln!("{diverged}");
}
