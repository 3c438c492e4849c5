//! A saved schedule replays the execution that failed, or refuses to: the
//! file carries the runtime configuration the failure was found with (a
//! failure found with `irrevocable_after: 0` replays 10 times out of 10,
//! with the same history), a file without it is refused with what to do,
//! and a test that changed since its schedule was saved (one more thread)
//! fails with the divergence, keeping the file as it was.

use stm_check::check::TestRuntime;
use stm_check::schedule::{ScheduleFile, ScheduleFileError};
use stm_check::{replay, try_check, CheckConfig};
use stm_core::StmConfig;

/// A bank transfer wrongly split into two transactions, audited by the
/// main thread; with `extra_thread`, one more thread reads the balances
/// first (the change made to the test after its schedule was saved).
fn split_transfer(stm: &TestRuntime, extra_thread: bool) {
    let a = stm.new_tvar(100i64);
    let b = stm.new_tvar(0i64);
    let reader = extra_thread.then(|| {
        let (stm2, a) = (stm.clone(), a.clone());
        stm.spawn(move || {
            stm2.atomically(|tx| tx.read(&a));
        })
    });
    let mover = {
        let (stm2, a, b) = (stm.clone(), a.clone(), b.clone());
        stm.spawn(move || {
            let amount = stm2.atomically(|tx| {
                tx.modify(&a, |v| v - 10)?;
                Ok(10)
            });
            stm2.atomically(|tx| tx.modify(&b, |v| v + amount));
        })
    };
    let total = stm.atomically(|tx| Ok(tx.read(&a)? + tx.read(&b)?));
    stm_core::platform::Join::join(mover).unwrap();
    if let Some(reader) = reader {
        stm_core::platform::Join::join(reader).unwrap();
    }
    assert_eq!(total, 100, "money vanished: the audit saw {total}");
}

/// Two threads add to a counter; the test insists that no transaction ran
/// irrevocably, which only a runtime with `irrevocable_after: 0` (every
/// transaction irrevocable from its first attempt) breaks.
fn no_irrevocable_run(stm: &TestRuntime) {
    let counter = stm.new_tvar(0i64);
    let adder = {
        let (stm2, counter) = (stm.clone(), counter.clone());
        stm.spawn(move || stm2.atomically(|tx| tx.modify(&counter, |v| v + 1)))
    };
    stm.atomically(|tx| tx.modify(&counter, |v| v + 1));
    stm_core::platform::Join::join(adder).unwrap();
    let runs = stm.stats().irrevocable_runs;
    assert_eq!(runs, 0, "{runs} transactions ran irrevocably");
}

fn original(stm: &TestRuntime) {
    split_transfer(stm, false)
}

fn with_one_more_thread(stm: &TestRuntime) {
    split_transfer(stm, true)
}

/// Every transaction irrevocable from its first attempt: the engine runs
/// them in serial mode, and the recorded history says so.
fn irrevocable_config(name: &str, dir: &std::path::Path) -> CheckConfig {
    CheckConfig {
        regressions: dir.to_path_buf(),
        stm: StmConfig {
            irrevocable_after: 0,
            ..StmConfig::default()
        },
        ..CheckConfig::new(name)
    }
}

#[test]
fn a_failure_found_with_irrevocable_after_0_replays_10_of_10_with_its_configuration() {
    let dir = tempfile::tempdir().unwrap();
    let config = irrevocable_config("irrevocable", dir.path());
    let failure = try_check(&config, no_irrevocable_run).expect_err("found at once");
    assert!(
        failure.message.contains("2 transactions ran irrevocably"),
        "{failure}"
    );
    let saved = ScheduleFile::load(&failure.file).unwrap();
    assert_eq!(saved.stm.irrevocable_after, 0);
    assert_eq!(saved.tasks, 2, "the main thread and the adder");
    let text = std::fs::read_to_string(&failure.file).unwrap();
    assert!(text.contains("\"irrevocable_after\": 0"), "{text}");

    for _ in 0..10 {
        let replayed = replay(&failure.file, "irrevocable", no_irrevocable_run).unwrap();
        assert!(replayed.reproduced, "{replayed:?}");
        assert_eq!(replayed.failure.as_deref(), Some(saved.failure.as_str()));
        assert_eq!(replayed.history_hash, saved.history_hash);
    }

    // The configuration is what makes it replay: on the default runtime
    // the same schedule passes.
    let default_file = dir.path().join("default.json");
    std::fs::write(
        &default_file,
        text.replace("\"irrevocable_after\": 0", "\"irrevocable_after\": 16"),
    )
    .unwrap();
    let replayed = replay(&default_file, "irrevocable", no_irrevocable_run).unwrap();
    assert_eq!(replayed.failure, None);
    assert!(!replayed.reproduced);
}

#[test]
fn a_file_without_the_configuration_is_refused_with_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let failure = try_check(&irrevocable_config("no_config", dir.path()), original)
        .expect_err("the split transfer is caught");
    let mut json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&failure.file).unwrap()).unwrap();
    json.as_object_mut().unwrap().remove("stm");
    let old = dir.path().join("old.json");
    std::fs::write(&old, serde_json::to_string_pretty(&json).unwrap()).unwrap();

    let error = replay(&old, "no_config", original).unwrap_err();
    assert!(
        matches!(error, ScheduleFileError::MissingField { field: "stm", .. }),
        "{error}"
    );
    let message = error.to_string();
    println!("{message}");
    assert!(message.starts_with(&old.display().to_string()), "{message}");
    assert!(message.contains("has no `stm` field"), "{message}");
    assert!(message.contains("irrevocable_after"), "{message}");
    assert!(message.contains("save a new file"), "{message}");

    json.as_object_mut().unwrap().remove("tasks");
    json["stm"] = serde_json::json!({"irrevocable_after": 0, "conflict_reports": false});
    std::fs::write(&old, serde_json::to_string_pretty(&json).unwrap()).unwrap();
    let error = replay(&old, "no_config", original).unwrap_err();
    assert!(
        error.to_string().contains("has no `tasks` field"),
        "{error}"
    );
}

#[test]
fn a_test_with_one_more_thread_than_its_saved_schedule_fails_with_the_divergence_and_keeps_the_file(
) {
    let dir = tempfile::tempdir().unwrap();
    let config = CheckConfig {
        regressions: dir.path().to_path_buf(),
        ..CheckConfig::new("changed_test")
    };
    let found = try_check(&config, original).expect_err("the split transfer is caught");
    let saved_bytes = std::fs::read(&found.file).unwrap();
    assert_eq!(ScheduleFile::load(&found.file).unwrap().tasks, 2);

    // The test gained a thread: its saved schedule no longer fits.
    let failure = try_check(&config, with_one_more_thread)
        .expect_err("a saved schedule that no longer fits fails the check");
    println!("{failure}");
    assert!(failure.regression);
    let divergence = failure.divergence.clone().expect("a divergence");
    assert_eq!(failure.file, found.file);
    let message = failure.to_string();
    assert!(
        message.contains("a saved schedule no longer fits in test `changed_test`"),
        "{message}"
    );
    assert!(
        message.contains(&format!(
            "the replay no longer follows this schedule: at step {},",
            divergence.step
        )),
        "{message}"
    );
    // Where it shows first depends on the schedule: the extra thread takes
    // task id 1, so the saved schedule's task 1 (the mover) is another one.
    assert!(
        divergence.detail.contains("the test starts more threads")
            || divergence.detail.contains("can run"),
        "{divergence:?}"
    );
    assert!(message.contains("the file is kept"), "{message}");
    assert!(
        message.contains(&format!("delete {}", found.file.display())),
        "{message}"
    );
    // Kept as it was, and nothing else saved.
    assert_eq!(std::fs::read(&found.file).unwrap(), saved_bytes);
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);

    // `replay` says the same.
    let error = replay(&found.file, "changed_test", with_one_more_thread).unwrap_err();
    assert!(
        matches!(error, ScheduleFileError::Diverged { .. }),
        "{error}"
    );
    assert_eq!(std::fs::read(&found.file).unwrap(), saved_bytes);

    // The unchanged test still replays it.
    let replayed = replay(&found.file, "changed_test", original).unwrap();
    assert!(replayed.reproduced, "{replayed:?}");
}
