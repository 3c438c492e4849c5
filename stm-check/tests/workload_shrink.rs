//! Shrinking a failing workload before its schedule is saved: a racy reader
//! padded with threads, transactions, operations and variables that have
//! nothing to do with its failure shrinks to the race alone, the saved file
//! holds the shrunk workload and names the original, and it replays the
//! same failure with the identical history; a deadlock shrinks and replays
//! too.

use std::path::Path;
use std::sync::Arc;
use stm_check::explore::{explore, replay_workload, workload_target, ExploreConfig};
use stm_check::schedule::{ScheduleFile, Target};
use stm_check::workload::{FailureKind, FailureSignature, Workload};
use stm_core::StmConfig;

fn padded() -> Workload {
    Workload::load(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/racy-reader-padded.workload.json"),
    )
    .unwrap()
}

fn config(dir: &Path) -> ExploreConfig {
    ExploreConfig {
        iterations: 500,
        regressions: dir.to_path_buf(),
        ..ExploreConfig::default()
    }
}

/// The workload a schedule file holds, and its `shrunk_from`.
fn saved_workload(file: &ScheduleFile) -> (Workload, Option<stm_check::schedule::ShrunkFrom>) {
    let Target::Workload {
        workload,
        shrunk_from,
        ..
    } = &file.target
    else {
        panic!("a workload target: {:?}", file.target);
    };
    (
        Workload::from_json_str(&workload.to_string()).unwrap(),
        shrunk_from.clone(),
    )
}

#[test]
fn a_padded_racy_reader_shrinks_to_the_race_and_replays_identically() {
    let dir = tempfile::tempdir().unwrap();
    let original = padded();
    let summary = explore(&original, &config(dir.path()), Arc::new(|_| {})).unwrap();
    let failure = summary.failure.expect("the racy reader fails");
    assert!(
        failure.message.contains("assertion v0 == 60 failed"),
        "{}",
        failure.message
    );
    let shrink = failure.shrink.expect("the workload was shrunk");
    assert_eq!(shrink.before, original.size());
    assert_eq!(
        shrink.signature,
        FailureSignature::from_kinds([FailureKind::Assertion("v0 == 60".into())])
    );
    // One writer and the reader, one operation each; the invariants, the
    // counter, the flag and their variables are gone.
    let after = shrink.after;
    assert_eq!(
        (
            after.threads,
            after.transactions,
            after.operations,
            after.variables
        ),
        (2, 2, 2, 2),
        "{:?}",
        shrink.steps
    );
    assert!(shrink.kept >= 8 && shrink.kept <= shrink.candidates);
    assert!(!shrink.out_of_time);
    assert!(shrink.context_switches.1 <= shrink.context_switches.0);

    let path = failure.file.expect("saved");
    assert_eq!(path, dir.path().join("racy-reader-padded.json"));
    let file = ScheduleFile::load(&path).unwrap();
    let (shrunk, shrunk_from) = saved_workload(&file);
    assert_eq!(shrunk.size(), after);
    assert!(shrunk.invariants.is_empty());
    assert!(shrunk.validate().is_ok());
    assert_eq!(
        file.target,
        workload_target(&shrunk).with_shrunk_from(shrunk_from.clone())
    );
    let from = shrunk_from.expect("the original is named");
    let Target::Workload { fingerprint, .. } = workload_target(&original) else {
        unreachable!()
    };
    assert_eq!(from.name, original.name);
    assert_eq!(from.fingerprint, fingerprint);
    assert_eq!(
        (
            from.threads,
            from.transactions,
            from.operations,
            from.variables
        ),
        (4, 7, 13, 4)
    );
    assert_eq!(from.failure, failure.message);
    assert_eq!(file.shrunk_switches, shrink.context_switches.1);

    // Accepted for the original workload and for the shrunk one, refused
    // for another.
    file.expect_target(&path, &workload_target(&original))
        .unwrap();
    file.expect_target(&path, &workload_target(&shrunk))
        .unwrap();
    let error = file
        .expect_target(&path, &workload_target(&Workload::builtin("bank").unwrap()))
        .unwrap_err();
    assert!(
        error
            .to_string()
            .contains("shrunk from workload `racy-reader-padded`"),
        "{error}"
    );

    // The file replays the shrunk failure with the identical history.
    for _ in 0..20 {
        let replayed = replay_workload(&shrunk, StmConfig::default(), None, &file.schedule, false);
        assert_eq!(replayed.failure.as_deref(), Some(file.failure.as_str()));
        assert_eq!(Some(&replayed.history_hash), file.history_hash.as_ref());
        assert_eq!(replayed.divergence, None);
        assert!(replayed.signature.reproduces(&shrink.signature));
    }
}

#[test]
fn without_workload_shrinking_the_file_holds_the_original() {
    let dir = tempfile::tempdir().unwrap();
    let original = padded();
    let config = ExploreConfig {
        shrink_schedules: 0,
        ..config(dir.path())
    };
    let summary = explore(&original, &config, Arc::new(|_| {})).unwrap();
    let failure = summary.failure.expect("the racy reader fails");
    assert!(failure.shrink.is_none());
    let file = ScheduleFile::load(&failure.file.unwrap()).unwrap();
    assert_eq!(file.target, workload_target(&original));
    assert_eq!(file.failure, failure.message);
}

#[test]
fn shrinking_stops_when_its_time_is_up() {
    let dir = tempfile::tempdir().unwrap();
    let original = padded();
    let config = ExploreConfig {
        shrink_time: std::time::Duration::ZERO,
        ..config(dir.path())
    };
    let summary = explore(&original, &config, Arc::new(|_| {})).unwrap();
    let shrink = summary.failure.as_ref().unwrap().shrink.clone().unwrap();
    assert!(shrink.out_of_time);
    assert_eq!((shrink.candidates, shrink.kept), (0, 0));
    assert_eq!(shrink.after, shrink.before);
    // Nothing was kept: the file holds the original, as without shrinking.
    let file = ScheduleFile::load(summary.failure.unwrap().file.as_ref().unwrap()).unwrap();
    assert_eq!(file.target, workload_target(&original));
}

#[test]
fn a_deadlock_shrinks_to_the_waiter_and_replays() {
    let waiter = Workload::from_json_str(
        r#"{"format": "stm-workload", "version": 1, "name": "waits-forever",
            "vars": [{"initial": 0}, {"initial": 0}],
            "threads": [
              {"steps": [{"atomically": {"ops": [{"add": {"var": 1, "amount": 3}}, {"read": 0}]}}]},
              {"steps": [{"atomically": {"ops": [{"retry_unless": {"sum": [0], "cmp": ">=", "value": 1}}]}}]}
            ],
            "invariants": [{"sum_preserved": [0]}]}"#,
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let summary = explore(&waiter, &config(dir.path()), Arc::new(|_| {})).unwrap();
    let failure = summary.failure.expect("the waiter deadlocks");
    assert!(failure.message.contains("deadlock"), "{}", failure.message);
    let shrink = failure.shrink.expect("shrunk");
    assert_eq!(
        shrink.signature,
        FailureSignature::from_kinds([FailureKind::Deadlock])
    );
    let file = ScheduleFile::load(&failure.file.unwrap()).unwrap();
    let (shrunk, _) = saved_workload(&file);
    assert_eq!(shrunk.threads, waiter.threads[1..]);
    assert!(shrunk.invariants.is_empty());
    let replayed = replay_workload(&shrunk, StmConfig::default(), None, &file.schedule, false);
    assert_eq!(replayed.failure.as_deref(), Some(file.failure.as_str()));
    assert_eq!(Some(&replayed.history_hash), file.history_hash.as_ref());
}
