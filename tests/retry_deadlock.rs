//! A producer/consumer whose producer never fills the queue: the
//! consumer's `retry` waits forever and the main thread waits to join it.
//! `stm_check::try_check` reports the deadlock in the test's terms: each
//! blocked task, the TVar the consumer's `retry` waits on (its label and
//! creation line), the consumer's `atomically` line; the saved schedule
//! replays the same deadlock.

mod support;

use std::sync::{Arc, Mutex};
use stm_check::check::TestRuntime;
use stm_check::{check, replay, try_check, CheckConfig};

/// The consumer takes an item, waiting with `retry` while there is none;
/// the producer counts an item as made but never puts it in the queue.
fn forgetful_producer(stm: &TestRuntime) {
    let queued = stm.new_tvar(0i64);
    queued.set_label("items queued");
    let made = stm.new_tvar(0i64);
    let consumer = {
        let (stm2, queued) = (stm.clone(), queued.clone());
        stm.spawn(move || {
            stm2.atomically(|tx| {
                let items = tx.read(&queued)?;
                if items == 0 {
                    return tx.retry();
                }
                tx.write(&queued, items - 1)
            })
        })
    };
    stm.atomically(|tx| tx.modify(&made, |n| n + 1));
    stm_core::platform::Join::join(consumer).unwrap();
}

#[test]
fn a_retry_nothing_wakes_is_explained_with_the_tvar_it_waits_on() {
    let dir = tempfile::tempdir().unwrap();
    let config = CheckConfig {
        regressions: dir.path().to_path_buf(),
        iterations: 50,
        ..CheckConfig::new("forgetful_producer")
    };
    let failure = try_check(&config, forgetful_producer).expect_err("the consumer never wakes");
    println!("{failure}");
    assert!(
        failure.message.starts_with("deadlock!"),
        "{}",
        failure.message
    );
    let text = failure.to_string();
    let queued = format!(
        "\"items queued\" (TVar 0, created at tests/retry_deadlock.rs:{}:",
        line_of("let queued = stm.new_tvar(0i64);")
    );
    let consumer_site = format!(
        "tests/retry_deadlock.rs:{}:",
        line_of("stm2.atomically(|tx| {")
    );
    for expected in [
        "deadlock: every unfinished task is blocked:",
        "task 1: blocked in `retry` of T",
        &consumer_site,
        &queued,
        ", which it read as 0 (initial)",
        "no commit has changed them since, and no other task can run to change them",
        "task 0 (main-thread): blocked outside any transaction (joining another task",
    ] {
        assert!(
            text.contains(expected),
            "`{expected}` missing from:\n{text}"
        );
    }
    // A deadlock is shuttle's panic, not the test's: no location is shown.
    assert!(!text.contains("panicked at"), "{text}");

    let replayed = replay(&failure.file, "forgetful_producer", forgetful_producer).unwrap();
    assert!(replayed.reproduced, "{replayed:?}");
    assert_eq!(replayed.explanation.as_ref(), Some(&failure.explanation));

    // `check` fails with the same text, and its panic is located at the
    // call in this file, not inside stm-check. (The only test of this
    // binary: the panic hook is the process's.)
    let located = Arc::new(Mutex::new(None));
    let previous = std::panic::take_hook();
    let last = located.clone();
    std::panic::set_hook(Box::new(move |info| {
        *last.lock().unwrap() = info.location().map(ToString::to_string);
    }));
    let panic = std::panic::catch_unwind(|| check(&config, forgetful_producer)).unwrap_err();
    std::panic::set_hook(previous);
    let message = panic.downcast_ref::<String>().unwrap();
    assert!(message.contains(&failure.explanation), "{message}");
    let location = located.lock().unwrap().clone().unwrap();
    let call = format!(
        "tests/retry_deadlock.rs:{}:",
        line_of("std::panic::catch_unwind(|| check(&config, forgetful_producer))")
    );
    assert!(location.starts_with(&call), "{location}, not {call}");
}

/// The line (from 1) of this file that holds `pattern`, which must occur
/// on exactly one line.
fn line_of(pattern: &str) -> usize {
    support::line_of(include_str!("retry_deadlock.rs"), pattern)
}
