//! Commuted writes in histories: a commute is a write that did not read, so
//! it orders its transaction after the version it overwrote and depends on
//! no read; its recorded base must be exactly that version. Hand-written
//! histories in both format versions, each anomaly next to a valid
//! variant, and histories recorded from the engine, with and without the
//! injected bug `commute-stale`.

use std::sync::{Arc, Barrier};
use stm_check::history::{
    check, AnomalyClass, CommuteBase, History, HistoryError, Pattern, Recorded, Report, Write,
};
use stm_check::record::HistoryRecorder;
use stm_core::{InjectedBug, Stm, StmConfig};

fn v1(transactions: &str) -> History {
    let json = format!(
        r#"{{"format": "stm-history", "version": 1, "initial": [{{"key": 0, "value": 0}}], "transactions": [{transactions}]}}"#
    );
    History::from_json_str(&json).unwrap_or_else(|e| panic!("{e}\n{json}"))
}

fn checked(transactions: &str) -> Report {
    check(&v1(transactions)).unwrap()
}

/// A committed commute of key 0: `version` written as `value`, applied to
/// `base` (a version and its value), in real time `[begin, end]`.
fn commute(
    id: u64,
    (begin, end): (u64, u64),
    version: u64,
    value: i64,
    base: (u64, i64),
) -> String {
    format!(
        r#"{{"id": {id}, "thread": {id}, "outcome": "committed", "begin": {begin}, "end": {end},
            "commit_version": {version},
            "writes": [{{"key": 0, "version": {version}, "value": {value},
                        "commuted": {{"version": {}, "value": {}}}}}]}}"#,
        base.0, base.1
    )
}

/// Two adds of 1 and 10 onto 0, overlapping in real time: the second is
/// applied to the first's result, as an engine applies it at commit.
#[test]
fn commutes_applied_to_the_version_they_overwrite_are_valid() {
    let report = checked(
        &[
            commute(1, (1, 4), 1, 1, (0, 0)),
            commute(2, (2, 5), 2, 11, (1, 1)),
        ]
        .join(","),
    );
    assert!(report.is_valid(), "{report}");
}

/// The same with the second applied to version 0, the value its
/// transaction would have seen at its start: the first add is lost.
#[test]
fn a_commute_applied_to_a_stale_version_is_a_lost_update() {
    let report = checked(
        &[
            commute(1, (1, 4), 1, 1, (0, 0)),
            commute(2, (2, 5), 2, 10, (0, 0)),
        ]
        .join(","),
    );
    let anomaly = report
        .of_class(AnomalyClass::GSingle)
        .next()
        .unwrap_or_else(|| panic!("{report}"));
    assert_eq!(anomaly.pattern, Some(Pattern::LostUpdate));
    assert_eq!(anomaly.transactions, [2, 1]);
    assert_eq!(anomaly.keys, [0]);
    assert_eq!(
        anomaly.explanation,
        [
            "T2 < T1 because T2's commute of key 0 was applied to version 0, which T1 overwrote (with version 1)",
            "T1 < T2 because T2 overwrote key 0 version 1 written by T1 (with version 2): a contradiction",
        ]
    );
    assert!(!report.serializable());
}

/// A base further back: every version in between was lost, and the cycle
/// runs through all of them (a lost update when there is one).
#[test]
fn a_commute_several_versions_stale_closes_a_longer_cycle() {
    let report = checked(
        &[
            commute(1, (1, 2), 1, 1, (0, 0)),
            commute(2, (3, 4), 2, 2, (1, 1)),
            commute(3, (5, 6), 3, 2, (1, 1)),
        ]
        .join(","),
    );
    let anomaly = report
        .of_class(AnomalyClass::GSingle)
        .next()
        .unwrap_or_else(|| panic!("{report}"));
    assert_eq!(anomaly.pattern, Some(Pattern::LostUpdate));
    assert_eq!(anomaly.transactions, [3, 2]);
    // Now with a base two versions back.
    let report = checked(
        &[
            commute(1, (1, 2), 1, 1, (0, 0)),
            commute(2, (3, 4), 2, 2, (1, 1)),
            commute(3, (5, 6), 3, 3, (2, 2)),
            commute(4, (7, 8), 4, 2, (1, 1)),
        ]
        .join(","),
    );
    let anomaly = report
        .of_class(AnomalyClass::GSingle)
        .next()
        .unwrap_or_else(|| panic!("{report}"));
    assert_eq!(anomaly.pattern, None);
    assert_eq!(anomaly.transactions, [4, 2, 3]);
    assert_eq!(anomaly.cycle.len(), 3);
    assert_eq!(report.anomalies.len(), 1, "{report}");
}

/// A commute is not a read: its transaction may have taken its snapshot
/// before the version its commute was applied to, which a read could not
/// (opacity), and which no rw edge may turn into a cycle.
#[test]
fn a_commute_base_newer_than_the_snapshot_is_not_a_stale_read() {
    let early = r#"{"id": 1, "thread": 1, "outcome": "committed", "begin": 1, "end": 6,
        "snapshot": 0, "commit_version": 2,
        "reads": [{"key": 5, "version": 0}],
        "writes": [{"key": 0, "version": 2, "value": 11, "commuted": {"version": 1, "value": 1}}]}"#;
    let between = r#"{"id": 2, "thread": 2, "outcome": "committed", "begin": 2, "end": 3,
        "snapshot": 0, "commit_version": 1,
        "writes": [{"key": 0, "version": 1, "value": 1}]}"#;
    let report = checked(&format!("{early}, {between}"));
    assert!(report.is_valid(), "{report}");
    // Had it read key 0 at its snapshot and then written it, it would be a
    // lost update (and it would not be a commute).
    let read_then_write = early
        .replace(
            r#""reads": [{"key": 5, "version": 0}]"#,
            r#""reads": [{"key": 0, "version": 0, "value": 0}]"#,
        )
        .replace(r#", "commuted": {"version": 1, "value": 1}"#, "");
    let report = checked(&format!("{read_then_write}, {between}"));
    assert!(
        report
            .of_class(AnomalyClass::GSingle)
            .any(|a| a.pattern == Some(Pattern::LostUpdate)),
        "{report}"
    );
}

#[test]
fn a_commute_applied_to_a_later_version_is_g1c() {
    let report = checked(
        &[
            commute(1, (1, 2), 1, 5, (2, 7)),
            commute(2, (3, 4), 2, 7, (0, 0)),
        ]
        .join(","),
    );
    let anomaly = report
        .of_class(AnomalyClass::G1c)
        .next()
        .unwrap_or_else(|| panic!("{report}"));
    assert_eq!(anomaly.transactions, [2, 1]);
    assert_eq!(
        anomaly.explanation[0],
        "T2 < T1 because T1's commute of key 0 was applied to version 2 written by T2"
    );
}

#[test]
fn a_commute_applied_to_an_aborted_or_intermediate_write_is_g1a_or_g1b() {
    let aborted = r#"{"id": 1, "thread": 1, "outcome": "aborted", "begin": 1, "end": 2,
        "writes": [{"key": 0, "version": 1, "value": 9}]}"#;
    let report = checked(&format!("{aborted}, {}", commute(2, (3, 4), 2, 10, (1, 9))));
    let anomaly = report
        .of_class(AnomalyClass::G1a)
        .next()
        .unwrap_or_else(|| panic!("{report}"));
    assert_eq!(anomaly.transactions, [2, 1]);
    assert!(
        anomaly.explanation[0].contains("written by T1, which aborted"),
        "{report}"
    );
    let intermediate = r#"{"id": 1, "thread": 1, "outcome": "committed", "begin": 1, "end": 2,
        "commit_version": 3,
        "writes": [{"key": 0, "version": 1, "value": 9}, {"key": 0, "version": 3, "value": 12}]}"#;
    let report = checked(&format!(
        "{intermediate}, {}",
        commute(2, (3, 4), 2, 10, (1, 9))
    ));
    assert!(
        report.of_class(AnomalyClass::G1b).next().is_some(),
        "{report}"
    );
}

#[test]
fn a_commute_base_recorded_with_another_value_is_a_value_anomaly() {
    let report = checked(
        &[
            commute(1, (1, 4), 1, 1, (0, 0)),
            commute(2, (2, 5), 2, 11, (1, 4)),
        ]
        .join(","),
    );
    let anomaly = report
        .of_class(AnomalyClass::Value)
        .next()
        .unwrap_or_else(|| panic!("{report}"));
    assert_eq!(
        anomaly.explanation,
        ["T2's commute of key 0 (version 2) was applied to version 1 as 4, but T1 wrote 1 as that version"]
    );
    assert!(report.serializable());
}

#[test]
fn a_commute_base_nobody_wrote_or_the_write_itself_is_refused() {
    let error = check(&v1(&commute(1, (1, 2), 1, 1, (7, 0)))).unwrap_err();
    assert_eq!(
        error,
        HistoryError::InvalidCommuteBase {
            id: 1,
            key: 0,
            version: 1,
            base: 7,
            why: "a version no transaction wrote"
        }
    );
    let error = check(&v1(&commute(1, (1, 2), 1, 1, (1, 0)))).unwrap_err();
    assert!(
        error
            .to_string()
            .contains("onto version 1, which is the write itself"),
        "{error}"
    );
}

#[test]
fn commuted_writes_survive_a_round_trip_and_old_writes_carry_no_field() {
    let history = v1(&[
        commute(1, (1, 4), 1, 1, (0, 0)),
        r#"{"id": 2, "thread": 2, "outcome": "committed", "begin": 5, "end": 6,
            "writes": [{"key": 0, "version": 2, "value": 3, "commuted": {}}, {"key": 1, "version": 2}]}"#
            .to_string(),
    ]
    .join(","));
    let writes = &history.transactions[1].writes;
    assert_eq!(writes[0].commuted.as_deref(), Some(&CommuteBase::default()));
    assert_eq!(
        writes[1],
        Write {
            key: 1,
            version: 2,
            value: None,
            commuted: None
        }
    );
    let json = history.to_json_string();
    assert!(
        json.contains(r#""commuted":{"version":0,"value":0}"#),
        "{json}"
    );
    assert!(json.contains(r#"{"key":1,"version":2}"#), "{json}");
    assert_eq!(History::from_json_str(&json).unwrap(), history);
    // A base of unknown version is not checked: nothing to compare.
    assert!(check(&history).unwrap().is_valid());
}

// --- Format version 2 ---

fn v2(transactions: &str) -> Result<Report, HistoryError> {
    let json = format!(
        r#"{{"format": "stm-history", "version": 2, "initial": [{{"key": "x", "value": 0}}], "transactions": [{transactions}]}}"#
    );
    let recorded = Recorded::from_json_str(&json)?;
    stm_check::history::Checker::new().check_recorded(&recorded)
}

/// Register writes without versions: the order of commuted writes, which
/// have no read to go by, is inferred from their bases' values.
#[test]
fn version_2_orders_commutes_by_the_values_they_were_applied_to() {
    let valid = r#"
      {"id": "b", "outcome": "committed", "writes": [{"key": "x", "value": 11, "commuted": {"value": 1}}]},
      {"id": "a", "outcome": "committed", "writes": [{"key": "x", "value": 1, "commuted": {"value": 0}}]},
      {"id": "r", "outcome": "committed", "reads": [{"key": "x", "value": 11}]}"#;
    let report = v2(valid).unwrap();
    assert!(report.is_valid(), "{report}");
    // Both applied to 0: the version order branches (a lost update).
    let stale = r#"
      {"id": "a", "outcome": "committed", "writes": [{"key": "x", "value": 1, "commuted": {"value": 0}}]},
      {"id": "b", "outcome": "committed", "writes": [{"key": "x", "value": 10, "commuted": {"value": 0}}]}"#;
    let report = v2(stale).unwrap();
    let anomaly = report
        .of_class(AnomalyClass::GSingle)
        .next()
        .unwrap_or_else(|| panic!("{report}"));
    assert_eq!(anomaly.pattern, Some(Pattern::LostUpdate));
    let text = report.to_string();
    assert!(
        text.contains("T[b]'s commute of key x was applied to version 0"),
        "{text}"
    );
    // Without bases the two writes cannot be ordered.
    let blind = r#"
      {"id": "a", "outcome": "committed", "writes": [{"key": "x", "value": 1, "commuted": {}}]},
      {"id": "b", "outcome": "committed", "writes": [{"key": "x", "value": 10, "commuted": {}}]}"#;
    let error = v2(blind).unwrap_err().to_string();
    assert!(error.contains("without reading it first"), "{error}");
}

#[test]
fn version_2_refuses_commuted_reads_and_unknown_bases() {
    let read =
        r#"{"id": 1, "outcome": "committed", "reads": [{"key": "x", "value": 0, "commuted": {}}]}"#;
    let error = v2(read).unwrap_err().to_string();
    assert!(
        error.contains("only register writes can be commutes"),
        "{error}"
    );
    let unknown = r#"{"id": 1, "outcome": "committed", "writes": [{"key": "x", "value": 1, "commuted": {"value": 5}}]}"#;
    let error = v2(unknown).unwrap_err().to_string();
    assert!(
        error.contains(r#"commuted key "x" onto 5, which no transaction wrote"#),
        "{error}"
    );
}

// --- Recorded from the engine ---

/// One transaction commutes +1 and, while it is running, another thread
/// commits x = 100; then the first commits. The recorded history is checked.
fn race_a_commute_against_a_write(stm: Stm, recorder: &HistoryRecorder) -> (i64, Report) {
    let x = stm.new_tvar(0_i64);
    recorder.set_initial(x.id(), 0);
    let (made, written) = (Arc::new(Barrier::new(2)), Arc::new(Barrier::new(2)));
    let writer = {
        let (stm, x, made, written) = (stm.clone(), x.clone(), made.clone(), written.clone());
        std::thread::spawn(move || {
            made.wait();
            stm.atomically(|tx| tx.write(&x, 100));
            written.wait();
        })
    };
    let mut first = true;
    stm.atomically(|tx| {
        tx.commute(&x, |n| n + 1)?;
        if std::mem::take(&mut first) {
            made.wait();
            written.wait();
        }
        Ok(())
    });
    writer.join().unwrap();
    (x.load(), check(&recorder.history()).unwrap())
}

#[test]
fn an_engine_history_with_commutes_is_valid() {
    let recorder = Arc::new(HistoryRecorder::new());
    let stm = Stm::with_recorder(StmConfig::default(), recorder.clone());
    let (x, report) = race_a_commute_against_a_write(stm, &recorder);
    assert_eq!(x, 101);
    assert!(report.is_valid(), "{report}");
    let history = recorder.history();
    let commuted: Vec<_> = history
        .transactions
        .iter()
        .flat_map(|t| &t.writes)
        .filter_map(|w| w.commuted.as_deref())
        .collect();
    assert_eq!(
        commuted,
        [&CommuteBase {
            version: Some(1),
            value: Some(100.into())
        }]
    );
}

#[test]
fn the_checker_reports_the_injected_bug_commute_stale() {
    let recorder = Arc::new(HistoryRecorder::new());
    let stm = Stm::with_injected_bug(
        StmConfig::default(),
        Some(recorder.clone()),
        InjectedBug::CommuteStale,
    );
    let (x, report) = race_a_commute_against_a_write(stm, &recorder);
    assert_eq!(x, 1, "the write of 100 is lost");
    let anomaly = report
        .of_class(AnomalyClass::GSingle)
        .next()
        .unwrap_or_else(|| panic!("{report}"));
    assert_eq!(anomaly.pattern, Some(Pattern::LostUpdate));
    assert!(
        anomaly.explanation[0].contains("commute of key 0 was applied to version 0"),
        "{report}"
    );
}
