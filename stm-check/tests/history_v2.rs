//! Format version 2: histories from any system. Each kind of history (per
//! key versions, reads by value, inferred register orders, list-append,
//! unknown outcomes, string names, no real time) is checked on an anomaly
//! and on a close valid variant; what cannot be inferred is refused with a
//! message that says what to record instead.

use stm_check::history::{AnomalyClass, Checker, HistoryError, Pattern, Recorded, Report};

fn check(json: &str) -> Report {
    let recorded = Recorded::from_json_str(json).unwrap_or_else(|e| panic!("{e}\n{json}"));
    Checker::new().check_recorded(&recorded).unwrap()
}

fn refused(json: &str) -> String {
    match Recorded::from_json_str(json) {
        Ok(recorded) => match Checker::new().check_recorded(&recorded) {
            Ok(report) => panic!("accepted:\n{report}"),
            Err(e) => e.to_string(),
        },
        Err(e) => e.to_string(),
    }
}

fn v2(header: &str, transactions: &str) -> String {
    format!(
        r#"{{"format": "stm-history", "version": 2, {header} "transactions": [{transactions}]}}"#
    )
}

// --- Versions numbered per key ---

/// R read x version 1 and y version 2; T4 overwrote x with version 2 after
/// R ended. Per key, that is serializable; read as one global clock, x's
/// version 2 would precede y's version 2 and R's snapshot would be torn.
const PER_KEY: &str = r#"
  {"id": 1, "outcome": "committed", "begin": 1, "end": 2, "writes": [{"key": 0, "version": 1}]},
  {"id": 2, "outcome": "committed", "begin": 3, "end": 4, "writes": [{"key": 1, "version": 1}]},
  {"id": 3, "outcome": "committed", "begin": 5, "end": 6, "writes": [{"key": 1, "version": 2}]},
  {"id": 5, "outcome": "committed", "begin": 7, "end": 8, "reads": [{"key": 0, "version": 1}, {"key": 1, "version": 2}]},
  {"id": 4, "outcome": "committed", "begin": 9, "end": 10, "writes": [{"key": 0, "version": 2}]}"#;

#[test]
fn per_key_versions_are_not_read_as_a_global_clock() {
    let r = check(&v2(r#""versions": "per-key","#, PER_KEY));
    assert!(r.is_valid(), "{r}");
    assert!(
        r.notes.iter().any(|n| n.contains("numbered per key")),
        "{r}"
    );
    // The same numbers as a global clock give the false verdict that per
    // key numbering avoids.
    let global = check(&v2("", PER_KEY));
    assert!(!global.opaque(), "{global}");
    // Close invalid variant: R begins after T4 ended and still reads x
    // version 1, a stale read.
    let stale = PER_KEY.replace(r#""begin": 7, "end": 8"#, r#""begin": 11, "end": 12"#);
    let r = check(&v2(r#""versions": "per-key","#, &stale));
    assert!(!r.strict_serializable() && r.serializable(), "{r}");
}

#[test]
fn a_global_clock_field_is_refused_with_per_key_versions() {
    let with_snapshot = PER_KEY.replacen(
        r#""begin": 7, "end": 8,"#,
        r#""begin": 7, "end": 8, "snapshot": 3,"#,
        1,
    );
    let message = refused(&v2(r#""versions": "per-key","#, &with_snapshot));
    assert!(
        message.contains("T5") && message.contains("need global versions"),
        "{message}"
    );
}

// --- Reads identified by value ---

#[test]
fn a_read_by_value_is_resolved_to_its_writer() {
    // T1 and T2 both read x = 0 (the initial value) and both wrote it.
    let lost = r#"
      {"id": 1, "outcome": "committed", "begin": 1, "end": 4,
       "reads": [{"key": "x", "value": 0}], "writes": [{"key": "x", "version": 1, "value": 10}]},
      {"id": 2, "outcome": "committed", "begin": 2, "end": 5,
       "reads": [{"key": "x", "value": 0}], "writes": [{"key": "x", "version": 2, "value": 20}]}"#;
    let header = r#""versions": "per-key", "initial": [{"key": "x", "value": 0}],"#;
    let r = check(&v2(header, lost));
    let anomaly = r
        .of_class(AnomalyClass::GSingle)
        .next()
        .expect("a lost update");
    assert_eq!(anomaly.pattern, Some(Pattern::LostUpdate));
    let text = r.to_string();
    assert!(
        text.contains("T2 < T1 because T1 overwrote key x version 0 that T2 read"),
        "{text}"
    );
    // Close valid variant: T2 read T1's value.
    let r = check(&v2(
        header,
        &lost.replacen(
            r#""value": 0}], "writes": [{"key": "x", "version": 2"#,
            r#""value": 10}], "writes": [{"key": "x", "version": 2"#,
            1,
        ),
    ));
    assert!(r.is_valid(), "{r}");
}

#[test]
fn reads_by_value_need_unique_values_and_known_ones() {
    let twice = r#"
      {"id": 1, "outcome": "committed", "writes": [{"key": "x", "version": 1, "value": 5}]},
      {"id": 2, "outcome": "committed", "writes": [{"key": "x", "version": 2, "value": 5}]},
      {"id": 3, "outcome": "committed", "reads": [{"key": "x", "value": 5}]}"#;
    let message = refused(&v2(r#""versions": "per-key","#, twice));
    assert!(
        message.contains("T1 and T2 both write 5 to key \"x\"") && message.contains("unique"),
        "{message}"
    );
    let unknown = twice
        .replacen(
            r#""value": 5}]},
      {"id": 2"#,
            r#""value": 6}]},
      {"id": 2"#,
            1,
        )
        .replace(
            r#"[{"key": "x", "value": 5}]"#,
            r#"[{"key": "x", "value": 7}]"#,
        );
    let message = refused(&v2(r#""versions": "per-key","#, &unknown));
    assert!(
        message.contains("T3 read 7 from key \"x\", which no transaction wrote"),
        "{message}"
    );
    // Close valid variant: distinct values, read one of them.
    let ok = twice.replacen(
        r#""value": 5}]},
      {"id": 2"#,
        r#""value": 6}]},
      {"id": 2"#,
        1,
    );
    assert!(check(&v2(r#""versions": "per-key","#, &ok)).is_valid());
}

// --- Register orders inferred from reads (no versions at all) ---

const INCREMENTS: &str = r#"
  {"id": 1, "outcome": "committed", "reads": [{"key": "c", "value": 0}], "writes": [{"key": "c", "value": 1}]},
  {"id": 2, "outcome": "committed", "reads": [{"key": "c", "value": 1}], "writes": [{"key": "c", "value": 2}]},
  {"id": 3, "outcome": "committed", "reads": [{"key": "c", "value": 2}], "writes": [{"key": "c", "value": 3}]}"#;

#[test]
fn register_orders_are_inferred_from_read_then_write() {
    let header = r#""initial": [{"key": "c", "value": 0}],"#;
    let r = check(&v2(header, INCREMENTS));
    assert!(r.is_valid(), "{r}");
    assert!(!r.real_time, "no begin or end: no real time");
    assert!(
        r.notes
            .iter()
            .any(|n| n.contains("inferred from the values read")),
        "{r}"
    );
    // T3 read 1 instead of 2: T2 and T3 both overwrote version 1.
    let lost = INCREMENTS.replacen(
        r#""value": 2}], "writes": [{"key": "c", "value": 3}]"#,
        r#""value": 1}], "writes": [{"key": "c", "value": 3}]"#,
        1,
    );
    let r = check(&v2(header, &lost));
    assert_eq!(r.count(AnomalyClass::GSingle), 1, "{r}");
    assert!(r.notes.iter().any(|n| n.contains("lost updates")), "{r}");
}

#[test]
fn an_order_that_cannot_be_inferred_is_refused() {
    let blind = r#"
      {"id": 1, "outcome": "committed", "writes": [{"key": "c", "value": 1}]},
      {"id": 2, "outcome": "committed", "writes": [{"key": "c", "value": 2}]}"#;
    let message = refused(&v2("", blind));
    assert!(
        message.contains("key \"c\"") && message.contains("cannot be inferred"),
        "{message}"
    );
    assert!(
        message.contains("list-append"),
        "says what to record instead: {message}"
    );
    // Close valid variant: one blind write is placed after the initial value.
    let one = r#"{"id": 1, "outcome": "committed", "writes": [{"key": "c", "value": 1}]},
      {"id": 2, "outcome": "committed", "reads": [{"key": "c", "value": 1}]}"#;
    assert!(check(&v2("", one)).is_valid());
}

// --- Elle's list-append ---

/// T1 and T2 each read both lists empty and appended to one; T3 read both.
const WRITE_SKEW: &str = r#"
  {"id": 1, "outcome": "committed", "reads": [{"key": "x", "value": []}, {"key": "y", "value": []}], "appends": [{"key": "x", "value": 1}]},
  {"id": 2, "outcome": "committed", "reads": [{"key": "x", "value": []}, {"key": "y", "value": []}], "appends": [{"key": "y", "value": 2}]},
  {"id": 3, "outcome": "committed", "reads": [{"key": "x", "value": [1]}, {"key": "y", "value": [2]}]}"#;

#[test]
fn list_append_orders_come_from_the_lists() {
    let r = check(&v2(r#""model": "list-append","#, WRITE_SKEW));
    let anomaly = r.of_class(AnomalyClass::G2Item).next().expect("write skew");
    assert_eq!(anomaly.pattern, Some(Pattern::WriteSkew));
    assert!(
        r.to_string()
            .contains("T2 overwrote key y version 0 that T1 read"),
        "{r}"
    );
    // Close valid variant: T2 saw T1's append.
    let ok = WRITE_SKEW.replacen(r#""reads": [{"key": "x", "value": []}, {"key": "y", "value": []}], "appends": [{"key": "y""#, r#""reads": [{"key": "x", "value": [1]}, {"key": "y", "value": []}], "appends": [{"key": "y""#, 1);
    let r = check(&v2(r#""model": "list-append","#, &ok));
    assert!(r.is_valid(), "{r}");
}

#[test]
fn lists_that_no_single_order_explains_are_incompatible() {
    let txs = r#"
      {"id": 1, "outcome": "committed", "appends": [{"key": "x", "value": 1}]},
      {"id": 2, "outcome": "committed", "appends": [{"key": "x", "value": 2}]},
      {"id": 3, "outcome": "committed", "reads": [{"key": "x", "value": [1, 2]}]},
      {"id": 4, "outcome": "committed", "reads": [{"key": "x", "value": [2]}]}"#;
    let r = check(&v2(r#""model": "list-append","#, txs));
    assert_eq!(r.count(AnomalyClass::IncompatibleOrder), 1, "{r}");
    assert!(!r.serializable());
    assert!(
        r.to_string()
            .contains("T4 read key x as [2], but T3 read it as [1,2]"),
        "{r}"
    );
    let r = check(&v2(
        r#""model": "list-append","#,
        &txs.replace("[2]}]}", "[1]}]}"),
    ));
    assert!(r.is_valid(), "{r}");
}

#[test]
fn an_aborted_append_that_was_read_is_g1a() {
    let txs = r#"
      {"id": 1, "outcome": "aborted", "appends": [{"key": "x", "value": 1}]},
      {"id": 2, "outcome": "committed", "reads": [{"key": "x", "value": [1]}]}"#;
    let r = check(&v2(r#""model": "list-append","#, txs));
    assert_eq!(r.count(AnomalyClass::G1a), 1, "{r}");
    let r = check(&v2(r#""model": "list-append","#, &txs.replace("[1]", "[]")));
    assert!(r.is_valid(), "{r}");
}

#[test]
fn a_list_element_nobody_appended_is_refused() {
    let txs = r#"{"id": 1, "outcome": "committed", "reads": [{"key": "x", "value": [9]}]}"#;
    let message = refused(&v2(r#""model": "list-append","#, txs));
    assert!(
        message.contains("T1 read 9 in the list of key \"x\", which no transaction appended"),
        "{message}"
    );
}

// --- Unknown outcomes, string ids, real time ---

#[test]
fn an_unknown_outcome_is_committed_when_its_write_was_read() {
    let txs = r#"
      {"id": "a", "outcome": "unknown", "begin": 1, "end": 2, "appends": [{"key": "x", "value": 1}]},
      {"id": "b", "outcome": "committed", "begin": 3, "end": 4, "reads": [{"key": "x", "value": []}]}"#;
    let r = check(&v2(r#""model": "list-append","#, txs));
    assert!(r.is_valid(), "unobserved, so maybe not committed:\n{r}");
    assert!(
        r.notes.iter().any(|n| n.contains("1 as not committed")),
        "{r}"
    );
    // Its write observed by another reader: committed, and then b's read
    // of the empty list after it ended is stale.
    let observed = format!(
        r#"{txs}, {{"id": "c", "outcome": "committed", "begin": 5, "end": 6, "reads": [{{"key": "x", "value": [1]}}]}}"#
    );
    let r = check(&v2(r#""model": "list-append","#, &observed));
    assert!(
        r.notes.iter().any(|n| n.contains("1 taken as committed")),
        "{r}"
    );
    assert!(!r.strict_serializable(), "{r}");
    let text = r.to_string();
    assert!(
        text.contains("T[a]") && text.contains("T[b]"),
        "string ids are shown: {text}"
    );
}

#[test]
fn real_time_is_optional_but_all_or_nothing() {
    let r = check(&v2(r#""model": "list-append","#, WRITE_SKEW));
    assert!(!r.real_time);
    assert!(
        r.to_string()
            .contains("strict serializable: not checked (no real time)"),
        "{r}"
    );
    let json = serde_json::to_value(&r).unwrap();
    assert!(json["strict_serializable"].is_null(), "{json}");
    let mixed = WRITE_SKEW.replacen(
        r#""id": 1, "outcome": "committed","#,
        r#""id": 1, "outcome": "committed", "begin": 1, "end": 2,"#,
        1,
    );
    let message = refused(&v2(r#""model": "list-append","#, &mixed));
    assert!(
        message.contains("T2 has no \"begin\" and \"end\"")
            && message.contains("every transaction or for none"),
        "{message}"
    );
}

#[test]
fn version_1_is_still_read_and_unknown_versions_are_refused() {
    let v1 = r#"{"format": "stm-history", "version": 1, "transactions": [
      {"id": 1, "thread": 0, "outcome": "committed", "begin": 1, "end": 2, "writes": [{"key": 0, "version": 1}]}]}"#;
    assert!(check(v1).is_valid());
    let v3 = v1.replace(
        r#""version": 1, "transactions""#,
        r#""version": 3, "transactions""#,
    );
    match Recorded::from_json_str(&v3) {
        Err(e @ HistoryError::UnsupportedVersion { found: 3, .. }) => {
            assert!(e.to_string().contains("reads version 1 or 2"), "{e}")
        }
        other => panic!("{other:?}"),
    }
    // The writes of the wrong model are refused by name.
    let message = refused(&v2(
        r#""model": "list-append","#,
        r#"{"id": 1, "outcome": "committed", "writes": [{"key": 0, "value": 1}]}"#,
    ));
    assert!(message.contains("\"appends\""), "{message}");
}

// --- Program order per thread, where real time is not recorded ---

#[test]
fn each_threads_program_order_is_checked_without_real_time() {
    // p1 appended 1 to x, then read x empty: its own write is missing.
    let txs = r#"
      {"id": 1, "thread": "p1", "outcome": "committed", "appends": [{"key": "x", "value": 1}]},
      {"id": 2, "thread": "p1", "outcome": "committed", "reads": [{"key": "x", "value": []}]},
      {"id": 3, "thread": "p2", "outcome": "committed", "reads": [{"key": "x", "value": [1]}]}"#;
    let r = check(&v2(r#""model": "list-append","#, txs));
    assert!(r.session && !r.real_time);
    assert!(r.serializable(), "{r}");
    let anomaly = r
        .of_class(AnomalyClass::Session)
        .next()
        .expect("a session anomaly");
    let text = anomaly.explanation.join("\n");
    assert!(text.contains("T1 ran before T2 on thread"), "{text}");
    assert!(r.to_string().contains("session serializable: NO"), "{r}");
    // The same read by an aborted attempt breaks opacity in program order.
    let aborted = txs.replacen(
        r#""thread": "p1", "outcome": "committed", "reads""#,
        r#""thread": "p1", "outcome": "aborted", "reads""#,
        1,
    );
    let r = check(&v2(r#""model": "list-append","#, &aborted));
    assert_eq!(r.count(AnomalyClass::Opacity), 1, "{r}");
    // Close valid variants: the read saw the append; or the two ran on
    // different threads (no order between them).
    let r = check(&v2(
        r#""model": "list-append","#,
        &txs.replacen(r#""value": []"#, r#""value": [1]"#, 1),
    ));
    assert!(r.is_valid(), "{r}");
    let r = check(&v2(
        r#""model": "list-append","#,
        &txs.replacen(
            r#""id": 2, "thread": "p1""#,
            r#""id": 2, "thread": "p3""#,
            1,
        ),
    ));
    assert!(r.is_valid(), "{r}");
}

#[test]
fn string_names_are_spelled_in_text_json_and_dot() {
    let txs = WRITE_SKEW
        .replace(r#""id": 1,"#, r#""id": "t-1","#)
        .replace(r#""id": 2,"#, r#""id": "t-2","#)
        .replace(r#""id": 3,"#, r#""id": "t-3","#);
    let r = check(&v2(r#""model": "list-append","#, &txs));
    let text = r.to_string();
    assert!(
        text.contains("G2-item (write skew): T[t-1], T[t-2]"),
        "{text}"
    );
    let json = serde_json::to_value(&r).unwrap();
    assert_eq!(json["transaction_names"][0], "t-1", "{json}");
    assert_eq!(json["key_names"][1], "y", "{json}");
    let line = json["anomalies"][0]["explanation"][0].as_str().unwrap();
    assert!(line.contains("T[t-") && line.contains("key "), "{line}");
    let dot = stm_check::history::render_dot(&r);
    assert!(dot.contains(r#"[label="T[t-1]"]"#), "{dot}");
    assert!(dot.contains("key y") || dot.contains("key x"), "{dot}");
    // Close variant: numeric ids and keys are left as they are.
    let r = check(&v2(
        r#""model": "list-append","#,
        &WRITE_SKEW.replace(r#""x""#, "0").replace(r#""y""#, "1"),
    ));
    assert!(r.names.keys.is_none() && r.names.ids.is_none());
    assert!(
        r.to_string().contains("G2-item (write skew): T1, T2"),
        "{r}"
    );
}

#[test]
fn a_read_by_version_observes_an_unknown_outcome_too() {
    let txs = r#"
      {"id": 1, "outcome": "unknown", "writes": [{"key": 0, "version": 1}]},
      {"id": 2, "outcome": "committed", "reads": [{"key": 0, "version": 1}]}"#;
    let r = check(&v2(r#""versions": "per-key","#, txs));
    assert!(r.is_valid(), "T1 committed, as T2 read its write:\n{r}");
    assert_eq!(r.committed, 2);
    // Close variant: a known abort read is G1a.
    let r = check(&v2(
        r#""versions": "per-key","#,
        &txs.replace("unknown", "aborted"),
    ));
    assert_eq!(r.count(AnomalyClass::G1a), 1, "{r}");
}
