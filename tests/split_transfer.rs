//! The library API on a classic bug: a bank transfer wrongly split into two
//! `atomically` calls. `stm_check::try_check` finds it (an auditor sees money
//! missing), shrinks and saves the schedule, and the saved file replays the
//! same failure, with the same history, every time; the fixed transfer
//! passes. The failure is explained in the test's own terms: the mover's
//! two `atomically` calls by their lines here, the TVars by label or
//! creation line, the assertion by its line.

mod support;

use stm_check::check::TestRuntime;
use stm_check::{replay, try_check, CheckConfig};

/// Moves 10 from `a` to `b` in two transactions (the bug) or one, while
/// the main thread audits the total.
fn transfer_and_audit(stm: &TestRuntime, split: bool) {
    let a = stm.new_tvar(100i64);
    let b = stm.new_tvar(0i64);
    b.set_label("account b");
    let mover = {
        let (stm2, a, b) = (stm.clone(), a.clone(), b.clone());
        stm.spawn(move || {
            if split {
                let amount = stm2.atomically(|tx| {
                    tx.modify(&a, |v| v - 10)?;
                    Ok(10)
                });
                stm2.atomically(|tx| tx.modify(&b, |v| v + amount));
            } else {
                stm2.atomically(|tx| {
                    tx.modify(&a, |v| v - 10)?;
                    tx.modify(&b, |v| v + 10)
                });
            }
        })
    };
    let total = stm.atomically(|tx| Ok(tx.read(&a)? + tx.read(&b)?));
    mover.join().unwrap();
    assert_eq!(
        total, 100,
        "money vanished: the audit saw a total of {total}"
    );
}

fn split(stm: &TestRuntime) {
    transfer_and_audit(stm, true)
}

fn fixed(stm: &TestRuntime) {
    transfer_and_audit(stm, false)
}

#[test]
fn a_split_transfer_is_found_saved_shrunk_and_replayed() {
    let dir = tempfile::tempdir().unwrap();
    let config = CheckConfig {
        regressions: dir.path().to_path_buf(),
        ..CheckConfig::new("split_transfer")
    };
    let failure = try_check(&config, split).expect_err("the split transfer must be caught");
    assert!(
        failure
            .message
            .contains("money vanished: the audit saw a total of 90"),
        "{}",
        failure.message
    );
    assert!(!failure.regression);
    assert_eq!(failure.file, dir.path().join("split_transfer.json"));
    assert!(failure.file.exists());
    let saved = &failure.saved;
    assert!(saved.shrunk_switches <= saved.recorded_switches);
    assert!(
        saved.schedule.steps.len() < saved.recorded_steps,
        "shrinking kept every step"
    );
    assert!(saved.history_hash.is_some());
    println!("{failure}");

    // The failure as the user sees it explains the execution in this
    // file's terms.
    let text = failure.to_string();
    let here = |pattern: &str| format!("tests/split_transfer.rs:{}:", line_of(pattern));
    let withdraw = here("let amount = stm2.atomically(|tx| {");
    let deposit = here("stm2.atomically(|tx| tx.modify(&b, |v| v + amount));");
    let audit = here("let total = stm.atomically(");
    for site in [&withdraw, &deposit, &audit] {
        assert!(text.contains(site.as_str()), "{site} missing from:\n{text}");
    }
    let a_created = format!(
        "TVar 0 created at tests/split_transfer.rs:{}:",
        line_of("let a = stm.new_tvar(100i64);")
    );
    let b_named = format!(
        "\"account b\" (TVar 1, created at tests/split_transfer.rs:{}:",
        line_of("let b = stm.new_tvar(0i64);")
    );
    assert!(
        text.contains(&a_created),
        "{a_created} missing from:\n{text}"
    );
    assert!(text.contains(&b_named), "{b_named} missing from:\n{text}");
    assert!(
        text.contains("wrote \"account b\" = 10"),
        "the deposit's write is shown:\n{text}"
    );
    // The `assert_eq!(` that opens the audit's assertion.
    let asserted = format!(
        "panicked at tests/split_transfer.rs:{}:",
        line_of("total, 100,") - 1
    );
    assert!(text.contains(&asserted), "{asserted} missing from:\n{text}");
    assert_eq!(
        saved.explanation.as_deref(),
        Some(failure.explanation.as_str()),
        "the file keeps the explanation"
    );

    // The saved schedule replays the same failure and history, every time.
    for _ in 0..100 {
        let replayed = replay(&failure.file, "split_transfer", split).unwrap();
        assert!(replayed.reproduced, "{replayed:?}");
        assert_eq!(replayed.history_hash, saved.history_hash);
        assert_eq!(replayed.explanation.as_ref(), Some(&failure.explanation));
    }

    // The next run replays the saved file first and fails at once.
    let again = try_check(&config, split).expect_err("the saved schedule still fails");
    assert!(again.regression);
    assert_eq!(again.file, failure.file);
    assert_eq!(again.explanation, failure.explanation);

    // It refuses to replay for another test.
    let error = replay(&failure.file, "another_test", split).unwrap_err();
    assert!(
        error
            .to_string()
            .contains("recorded for test `split_transfer`, not for test `another_test`"),
        "{error}"
    );
}

#[test]
fn the_fixed_transfer_passes_and_saves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let config = CheckConfig {
        regressions: dir.path().to_path_buf(),
        iterations: 500,
        ..CheckConfig::new("fixed_transfer")
    };
    let summary = try_check(&config, fixed).unwrap_or_else(|f| panic!("{f}"));
    assert_eq!(summary.executions, 500);
    assert_eq!(
        std::fs::read_dir(dir.path())
            .map(|d| d.count())
            .unwrap_or(0),
        0
    );
}

/// The line (from 1) of this file that holds `pattern`, which must occur
/// on exactly one line.
fn line_of(pattern: &str) -> usize {
    support::line_of(include_str!("split_transfer.rs"), pattern)
}
