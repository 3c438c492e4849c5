//! Hand-written histories, one per anomaly class, each next to a close
//! variant that is valid: the checker must reject the first with the right
//! class and an explanation naming the transactions and keys, and accept
//! the second.

use serde_json::json;
use stm_check::history::{
    check, render_dot, AnomalyClass, Checker, History, Outcome, Pattern, Read, Report, Transaction,
    Write,
};

/// A transaction from `(key, version)` pairs; no values recorded.
fn tx(
    id: u64,
    outcome: Outcome,
    (begin, end): (u64, u64),
    reads: &[(u64, u64)],
    writes: &[(u64, u64)],
) -> Transaction {
    Transaction {
        id,
        thread: id,
        outcome,
        begin,
        end,
        snapshot: None,
        commit_version: None,
        reads: reads
            .iter()
            .map(|&(key, version)| Read {
                key,
                version,
                value: None,
            })
            .collect(),
        writes: writes
            .iter()
            .map(|&(key, version)| Write {
                key,
                version,
                value: None,
                commuted: None,
            })
            .collect(),
    }
}

fn committed(
    id: u64,
    span: (u64, u64),
    reads: &[(u64, u64)],
    writes: &[(u64, u64)],
) -> Transaction {
    tx(id, Outcome::Committed, span, reads, writes)
}

fn aborted(id: u64, span: (u64, u64), reads: &[(u64, u64)], writes: &[(u64, u64)]) -> Transaction {
    tx(id, Outcome::Aborted, span, reads, writes)
}

fn history(transactions: Vec<Transaction>) -> History {
    History {
        initial: Vec::new(),
        transactions,
    }
}

fn report(transactions: Vec<Transaction>) -> Report {
    check(&history(transactions)).expect("a well-formed history")
}

/// The single anomaly of `class` in `report`, checked to name `ids` and
/// `keys` in its explanation.
fn expect_one(report: &Report, class: AnomalyClass, ids: &[u64], keys: &[u64]) -> String {
    let found: Vec<_> = report.of_class(class).collect();
    assert_eq!(found.len(), 1, "expected one {class} in:\n{report}");
    let anomaly = found[0];
    let text = anomaly.explanation.join("\n");
    for id in ids {
        assert!(
            anomaly.transactions.contains(id),
            "{class} should involve T{id}:\n{report}"
        );
        assert!(
            text.contains(&format!("T{id}")),
            "explanation should name T{id}:\n{text}"
        );
    }
    for key in keys {
        assert!(
            anomaly.keys.contains(key),
            "{class} should involve key {key}:\n{report}"
        );
        assert!(
            text.contains(&format!("key {key}")),
            "explanation should name key {key}:\n{text}"
        );
    }
    text
}

fn expect_valid(transactions: Vec<Transaction>) {
    let report = report(transactions);
    assert!(report.is_valid(), "expected a valid history:\n{report}");
    assert!(report.serializable() && report.strict_serializable() && report.opaque());
}

#[test]
fn g0_interleaved_writes() {
    // T1 installs key 0 before T2, but key 1 after T2.
    let r = report(vec![
        committed(1, (1, 10), &[], &[(0, 1), (1, 4)]),
        committed(2, (2, 11), &[], &[(0, 2), (1, 3)]),
    ]);
    let text = expect_one(&r, AnomalyClass::G0, &[1, 2], &[0, 1]);
    assert!(text.ends_with(": a contradiction"), "{text}");
    assert!(!r.serializable());
    let g0 = r.of_class(AnomalyClass::G0).next().unwrap();
    assert_eq!(g0.cycle.len(), 2);
    assert_eq!(g0.shortest, Some(true));

    expect_valid(vec![
        committed(1, (1, 10), &[], &[(0, 1), (1, 3)]),
        committed(2, (2, 11), &[], &[(0, 2), (1, 4)]),
    ]);
}

#[test]
fn g1a_read_of_an_aborted_write() {
    let r = report(vec![
        aborted(1, (1, 3), &[], &[(0, 1)]),
        committed(2, (2, 5), &[(0, 1)], &[]),
    ]);
    let text = expect_one(&r, AnomalyClass::G1a, &[1, 2], &[0]);
    assert!(text.contains("aborted"), "{text}");
    assert!(!r.serializable());

    expect_valid(vec![
        committed(1, (1, 3), &[], &[(0, 1)]),
        committed(2, (2, 5), &[(0, 1)], &[]),
    ]);
}

#[test]
fn g1b_read_of_an_intermediate_write() {
    // T1 writes key 0 twice; version 1 is intermediate, version 2 final.
    let r = report(vec![
        committed(1, (1, 3), &[], &[(0, 1), (0, 2)]),
        committed(2, (2, 5), &[(0, 1)], &[]),
    ]);
    let text = expect_one(&r, AnomalyClass::G1b, &[1, 2], &[0]);
    assert!(
        text.contains("intermediate") && text.contains("version 2"),
        "{text}"
    );

    expect_valid(vec![
        committed(1, (1, 3), &[], &[(0, 1), (0, 2)]),
        committed(2, (2, 5), &[(0, 2)], &[]),
    ]);
}

#[test]
fn g1c_circular_information_flow() {
    // Each reads the other's write.
    let r = report(vec![
        committed(1, (1, 10), &[(1, 2)], &[(0, 1)]),
        committed(2, (2, 11), &[(0, 1)], &[(1, 2)]),
    ]);
    let text = expect_one(&r, AnomalyClass::G1c, &[1, 2], &[0, 1]);
    assert!(
        text.contains("T2 read key 0 version 1 written by T1"),
        "{text}"
    );
    assert!(
        text.contains("T1 read key 1 version 2 written by T2"),
        "{text}"
    );

    expect_valid(vec![
        committed(1, (1, 10), &[(1, 0)], &[(0, 1)]),
        committed(2, (2, 11), &[(0, 1)], &[(1, 2)]),
    ]);
}

#[test]
fn g_single_read_skew() {
    // T1 writes keys 0 and 1; T2 sees its write of key 1 but not of key 0.
    let r = report(vec![
        committed(1, (1, 10), &[], &[(0, 1), (1, 1)]),
        committed(2, (2, 11), &[(0, 0), (1, 1)], &[]),
    ]);
    let text = expect_one(&r, AnomalyClass::GSingle, &[1, 2], &[0, 1]);
    let anomaly = r.of_class(AnomalyClass::GSingle).next().unwrap();
    assert_eq!(anomaly.pattern, Some(Pattern::ReadSkew));
    assert_eq!(
        anomaly.explanation,
        [
            "T2 < T1 because T1 overwrote key 0 version 0 that T2 read (with version 1)",
            "T1 < T2 because T2 read key 1 version 1 written by T1: a contradiction",
        ],
        "{text}"
    );
    // A committed read skew is also an inconsistent snapshot.
    expect_one(&r, AnomalyClass::Opacity, &[2], &[0, 1]);

    expect_valid(vec![
        committed(1, (1, 10), &[], &[(0, 1), (1, 1)]),
        committed(2, (2, 11), &[(0, 1), (1, 1)], &[]),
    ]);
}

#[test]
fn g_single_lost_update() {
    let r = report(vec![
        committed(1, (1, 10), &[(0, 0)], &[(0, 1)]),
        committed(2, (2, 11), &[(0, 0)], &[(0, 2)]),
    ]);
    expect_one(&r, AnomalyClass::GSingle, &[1, 2], &[0]);
    let anomaly = r.of_class(AnomalyClass::GSingle).next().unwrap();
    assert_eq!(anomaly.pattern, Some(Pattern::LostUpdate));
    assert!(anomaly.title().starts_with("G-single (lost update)"));

    expect_valid(vec![
        committed(1, (1, 10), &[(0, 0)], &[(0, 1)]),
        committed(2, (2, 11), &[(0, 1)], &[(0, 2)]),
    ]);
}

#[test]
fn g2_item_write_skew() {
    // Both read keys 0 and 1 at version 0; each overwrites a different one.
    let r = report(vec![
        committed(1, (1, 10), &[(0, 0), (1, 0)], &[(0, 1)]),
        committed(2, (2, 11), &[(0, 0), (1, 0)], &[(1, 2)]),
    ]);
    expect_one(&r, AnomalyClass::G2Item, &[1, 2], &[0, 1]);
    let anomaly = r.of_class(AnomalyClass::G2Item).next().unwrap();
    assert_eq!(anomaly.pattern, Some(Pattern::WriteSkew));
    // Write skew reads a consistent snapshot: only serializability fails.
    assert_eq!(r.count(AnomalyClass::Opacity), 0, "{r}");

    expect_valid(vec![
        committed(1, (1, 10), &[(0, 0), (1, 0)], &[(0, 1)]),
        committed(2, (2, 11), &[(0, 1), (1, 0)], &[(1, 2)]),
    ]);
}

#[test]
fn g2_item_three_way_cycle_has_no_pattern() {
    let r = report(vec![
        committed(1, (1, 10), &[(0, 0)], &[(1, 1)]),
        committed(2, (2, 11), &[(1, 0)], &[(2, 2)]),
        committed(3, (3, 12), &[(2, 0)], &[(0, 3)]),
    ]);
    expect_one(&r, AnomalyClass::G2Item, &[1, 2, 3], &[0, 1, 2]);
    let anomaly = r.of_class(AnomalyClass::G2Item).next().unwrap();
    assert_eq!(anomaly.pattern, None);
    assert_eq!(anomaly.cycle.len(), 3);
}

#[test]
fn the_most_severe_cycle_of_a_component_is_reported() {
    // T1 and T2 interleave writes (G0) and also read each other's keys
    // stale (rw edges): one component, reported once, as G0.
    let r = report(vec![
        committed(1, (1, 10), &[(1, 0)], &[(0, 1), (1, 4)]),
        committed(2, (2, 11), &[(0, 0)], &[(0, 2), (1, 3)]),
    ]);
    assert_eq!(r.count(AnomalyClass::G0), 1, "{r}");
    assert_eq!(
        r.count(AnomalyClass::GSingle) + r.count(AnomalyClass::G2Item),
        0,
        "{r}"
    );
}

#[test]
fn real_time_violation() {
    // T1 commits key 0 and ends before T2 begins, yet T2 reads the old value.
    let r = report(vec![
        committed(1, (1, 2), &[], &[(0, 1)]),
        committed(2, (3, 4), &[(0, 0)], &[]),
    ]);
    let text = expect_one(&r, AnomalyClass::RealTime, &[1, 2], &[0]);
    assert!(
        text.contains("T1 ended (at event 2) before T2 began (at event 3)"),
        "{text}"
    );
    assert!(r.serializable(), "T2 before T1 is a serial order:\n{r}");
    assert!(!r.strict_serializable());

    // Overlapping in real time, T2 may be serialized first.
    expect_valid(vec![
        committed(1, (1, 5), &[], &[(0, 1)]),
        committed(2, (3, 6), &[(0, 0)], &[]),
    ]);
}

#[test]
fn real_time_violation_through_a_chain() {
    // T1 read key 0 at version 3, written by T3, which began after T1
    // ended (with T2 in between in real time).
    let r = report(vec![
        committed(1, (1, 2), &[(0, 3)], &[]),
        committed(2, (3, 4), &[], &[(1, 2)]),
        committed(3, (5, 6), &[], &[(0, 3)]),
    ]);
    let text = expect_one(&r, AnomalyClass::RealTime, &[1, 3], &[0]);
    assert!(text.contains("T1 ended"), "{text}");
    let cycle = &r.of_class(AnomalyClass::RealTime).next().unwrap().cycle;
    assert_eq!(
        cycle.len(),
        2,
        "the direct real-time edge T1 -> T3 is the shortest:\n{r}"
    );
}

#[test]
fn opacity_violation_of_an_aborted_attempt() {
    // T1 writes key 0 (version 1), T2 later writes key 1 (version 2). The
    // aborted T3 saw key 0 before T1 but key 1 after T2: no version has both.
    let r = report(vec![
        committed(1, (1, 4), &[], &[(0, 1)]),
        committed(2, (2, 5), &[], &[(1, 2)]),
        aborted(3, (3, 6), &[(0, 0), (1, 2)], &[]),
    ]);
    let text = expect_one(&r, AnomalyClass::Opacity, &[3, 1], &[0, 1]);
    assert!(text.contains("T3 (aborted) read key 0 version 0"), "{text}");
    assert!(text.contains("key 1 version 2"), "{text}");
    assert!(
        r.strict_serializable(),
        "committed transactions are fine:\n{r}"
    );
    assert!(!r.opaque());

    expect_valid(vec![
        committed(1, (1, 4), &[], &[(0, 1)]),
        committed(2, (2, 5), &[], &[(1, 2)]),
        aborted(3, (3, 6), &[(0, 1), (1, 2)], &[]),
    ]);
}

#[test]
fn aborted_attempts_must_not_read_uncommitted_or_stale_values() {
    let dirty = report(vec![
        aborted(1, (1, 3), &[], &[(0, 1)]),
        aborted(2, (2, 4), &[(0, 1)], &[]),
    ]);
    let text = expect_one(&dirty, AnomalyClass::Opacity, &[1, 2], &[0]);
    assert!(text.contains("which aborted"), "{text}");
    assert_eq!(
        dirty.count(AnomalyClass::G1a),
        0,
        "G1a is for committed readers"
    );

    let stale = report(vec![
        committed(1, (1, 2), &[], &[(0, 1)]),
        aborted(2, (3, 4), &[(0, 0)], &[]),
    ]);
    let text = expect_one(&stale, AnomalyClass::Opacity, &[1, 2], &[0]);
    assert!(text.contains("before T2 (aborted) began"), "{text}");
}

#[test]
fn reads_must_be_current_at_the_recorded_snapshot() {
    let mut late = committed(2, (3, 4), &[(0, 0)], &[]);
    late.snapshot = Some(1);
    let r = report(vec![committed(1, (1, 5), &[], &[(0, 1)]), late.clone()]);
    let text = expect_one(&r, AnomalyClass::Opacity, &[2, 1], &[0]);
    assert!(text.contains("snapshot 1"), "{text}");

    late.snapshot = Some(0);
    expect_valid(vec![committed(1, (1, 5), &[], &[(0, 1)]), late]);
}

#[test]
fn reads_of_own_writes_are_not_dependencies() {
    // T1 writes key 0 twice and reads its intermediate write back.
    expect_valid(vec![
        committed(1, (1, 3), &[(0, 0), (0, 1)], &[(0, 1), (0, 2)]),
        committed(2, (2, 5), &[(0, 2)], &[]),
    ]);
}

#[test]
fn values_must_match_their_versions() {
    let mut h = history(vec![
        committed(1, (1, 3), &[], &[(0, 1)]),
        committed(2, (2, 5), &[(0, 1), (1, 0)], &[]),
    ]);
    h.initial = vec![stm_check::history::InitialValue {
        key: 1,
        value: json!(100),
    }];
    h.transactions[0].writes[0].value = Some(json!(6));
    h.transactions[1].reads[0].value = Some(json!(6));
    h.transactions[1].reads[1].value = Some(json!(100));
    assert!(check(&h).unwrap().is_valid());

    h.transactions[1].reads[0].value = Some(json!(5));
    h.transactions[1].reads[1].value = Some(json!(99));
    let r = check(&h).unwrap();
    assert_eq!(r.count(AnomalyClass::Value), 2, "{r}");
    assert!(r.serializable() && r.opaque() && !r.values_consistent());
    let texts: Vec<String> = r
        .of_class(AnomalyClass::Value)
        .map(|a| a.explanation.join(" "))
        .collect();
    assert!(
        texts
            .iter()
            .any(|t| t.contains("read key 0 version 1 as 5, but T1 wrote 6")),
        "{texts:?}"
    );
    assert!(
        texts
            .iter()
            .any(|t| t.contains("as 99, but the initial value is 100")),
        "{texts:?}"
    );
}

#[test]
fn dot_rendering_draws_the_cycle() {
    let r = report(vec![
        committed(1, (1, 10), &[(0, 0)], &[(0, 1)]),
        committed(2, (2, 11), &[(0, 0)], &[(0, 2)]),
    ]);
    let dot = render_dot(&r);
    assert!(
        dot.starts_with("digraph history {") && dot.trim_end().ends_with('}'),
        "{dot}"
    );
    assert!(
        dot.contains("a0_t2 -> a0_t1 [label=\"rw key 0: read v0, overwritten by v1\"]"),
        "{dot}"
    );
    assert!(
        dot.contains("a0_t1 -> a0_t2 [label=\"ww key 0: v1 -> v2\"]"),
        "{dot}"
    );
}

#[test]
fn json_report_lists_verdicts_and_edges() {
    let r = report(vec![
        committed(1, (1, 10), &[(0, 0), (1, 0)], &[(0, 1)]),
        committed(2, (2, 11), &[(0, 0), (1, 0)], &[(1, 2)]),
    ]);
    let value = serde_json::to_value(&r).unwrap();
    assert_eq!(value["serializable"], json!(false));
    assert_eq!(value["anomalies"][0]["class"], json!("G2-item"));
    assert_eq!(value["anomalies"][0]["pattern"], json!("write-skew"));
    assert_eq!(
        value["anomalies"][0]["cycle"][0]["witness"]["kind"],
        json!("rw")
    );
}

#[test]
fn a_huge_cycle_is_found_within_the_search_budget() {
    // T_i reads key i+1 as written by T_(i+1): one ring of 50k wr edges.
    let n = 50_000u64;
    let ring: Vec<Transaction> = (0..n)
        .map(|i| {
            let next = (i + 1) % n;
            committed(
                i + 1,
                (i + 1, i + 2 * n),
                &[(next, next + 1)],
                &[(i, i + 1)],
            )
        })
        .collect();
    let started = std::time::Instant::now();
    let r = report(ring);
    let g1c: Vec<_> = r.of_class(AnomalyClass::G1c).collect();
    assert_eq!(g1c.len(), 1, "{}", r.anomalies.len());
    assert_eq!(g1c[0].cycle.len(), n as usize);
    assert!(
        started.elapsed() < std::time::Duration::from_secs(20),
        "the search budget keeps a huge component linear: {:?}",
        started.elapsed()
    );
}

// --- Opacity of aborted attempts by its definition: one legal serial
// order of the committed transactions, respecting real time, must have a
// place for each aborted attempt taken as a read-only transaction. ---

#[test]
fn an_aborted_attempt_must_not_read_from_a_transaction_that_began_after_it_ended() {
    // T2 (aborted) ended at event 2; T1 began at 3, yet T2 read its write.
    let r = report(vec![
        aborted(2, (1, 2), &[(0, 1)], &[]),
        committed(1, (3, 4), &[], &[(0, 1)]),
    ]);
    let text = expect_one(&r, AnomalyClass::Opacity, &[2, 1], &[0]);
    assert!(
        text.contains("T2 (aborted) fits in no serial order"),
        "{text}"
    );
    assert!(
        text.contains("T2 ended (at event 2) before T1 began (at event 3)"),
        "{text}"
    );
    assert!(
        text.contains("T1 < T2 because T2 read key 0 version 1 written by T1: a contradiction"),
        "{text}"
    );
    assert!(r.strict_serializable() && !r.opaque(), "{r}");
    // Marked committed, the same attempt is a real-time violation.
    let as_committed = report(vec![
        committed(2, (1, 2), &[(0, 1)], &[]),
        committed(1, (3, 4), &[], &[(0, 1)]),
    ]);
    assert!(!as_committed.strict_serializable(), "{as_committed}");
    // Close valid variant: T1 began before T2 ended (they overlap).
    expect_valid(vec![
        aborted(2, (2, 5), &[(0, 1)], &[]),
        committed(1, (1, 3), &[], &[(0, 1)]),
    ]);
}

#[test]
fn an_aborted_attempts_reads_must_not_close_a_cycle_through_real_time() {
    // T1 ended before T2 began, so T1 < T2. The aborted T3 read key 0
    // before T1 overwrote it (T3 < T1) and key 1 from T2 (T2 < T3). Version
    // numbers are per key here, so no snapshot rule can see it.
    let r = report(vec![
        committed(1, (1, 3), &[], &[(0, 5)]),
        committed(2, (4, 6), &[], &[(1, 2)]),
        aborted(3, (2, 7), &[(0, 0), (1, 2)], &[]),
    ]);
    let text = expect_one(&r, AnomalyClass::Opacity, &[3, 1, 2], &[0, 1]);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines,
        [
            "T3 (aborted) fits in no serial order of the committed transactions that respects real time:",
            "T3 < T1 because T1 overwrote key 0 version 0 that T3 read (with version 5)",
            "T1 < T2 because T1 ended (at event 3) before T2 began (at event 4)",
            "T2 < T3 because T3 read key 1 version 2 written by T2: a contradiction",
        ],
        "{text}"
    );
    assert!(r.strict_serializable() && !r.opaque(), "{r}");
    // Marked committed, the same transaction is caught.
    let as_committed = report(vec![
        committed(1, (1, 3), &[], &[(0, 5)]),
        committed(2, (4, 6), &[], &[(1, 2)]),
        committed(3, (2, 7), &[(0, 0), (1, 2)], &[]),
    ]);
    assert!(!as_committed.strict_serializable(), "{as_committed}");
    // Close valid variant: T1 and T2 overlap, so T2 < T3 < T1 is legal;
    // the transactions' own order does not place T3, the path search does.
    expect_valid(vec![
        committed(1, (1, 3), &[], &[(0, 5)]),
        committed(2, (2, 6), &[], &[(1, 2)]),
        aborted(3, (2, 7), &[(0, 0), (1, 2)], &[]),
    ]);
}

#[test]
fn an_aborted_attempts_cycle_may_run_through_dependencies() {
    // T1 < T2 by a wr edge (T2 read T1's key 2); the aborted T3 read key 0
    // before T1 overwrote it and key 1 from T2 (versions chosen so that
    // no global-clock rule sees it).
    let r = report(vec![
        committed(1, (1, 4), &[], &[(0, 5), (2, 5)]),
        committed(2, (2, 5), &[(2, 5)], &[(1, 2)]),
        aborted(3, (3, 6), &[(0, 0), (1, 2)], &[]),
    ]);
    let text = expect_one(&r, AnomalyClass::Opacity, &[3, 1, 2], &[0, 1, 2]);
    assert!(
        text.contains("T1 < T2 because T2 read key 2 version 5 written by T1"),
        "{text}"
    );
    // Close valid variant: T2 read key 2 before T1 wrote it: T2 < T3 < T1.
    expect_valid(vec![
        committed(1, (1, 4), &[], &[(0, 5), (2, 5)]),
        committed(2, (2, 5), &[(2, 0)], &[(1, 2)]),
        aborted(3, (3, 6), &[(0, 0), (1, 2)], &[]),
    ]);
}

#[test]
fn aborted_attempts_of_a_long_history_recorded_in_order_are_all_decided() {
    // A chain of 200k committed increments of key 0, each followed by an
    // aborted attempt that read the value just installed: every attempt is
    // placed by the order test, none needs the path search. (How long it
    // takes is the checker benchmark's business, not a test's.)
    let n = 200_000u64;
    let mut transactions = Vec::with_capacity(2 * n as usize);
    for i in 0..n {
        let t = 4 * i + 1;
        transactions.push(committed(2 * i + 1, (t, t + 1), &[(0, i)], &[(0, i + 1)]));
        transactions.push(aborted(2 * i + 2, (t + 2, t + 3), &[(0, i + 1)], &[]));
    }
    let r = report(transactions.clone());
    assert!(r.is_valid(), "{r}");
    assert!(r.notes.is_empty(), "every attempt decided: {:?}", r.notes);
    // One stale attempt among them is found.
    let k = 2 * 1000 + 1;
    transactions[k].reads[0].version = 0;
    let r = report(transactions);
    assert_eq!(r.count(AnomalyClass::Opacity), 1, "{r}");
}

// --- The most severe class per component, or a plain word that it may
// not be. ---

#[test]
fn a_two_transaction_g_single_is_found_whatever_the_search_budget() {
    // A ring of 7 rw edges (a G2-item), T1 and T8 in write skew, and T8 and
    // T9 in a lost update: one component, whose most severe cycle is the
    // two-transaction G-single.
    let mut transactions: Vec<Transaction> = (1..=7u64)
        .map(|i| committed(i, (i, 100 + i), &[(i, 0)], &[(i % 7 + 1, 1)]))
        .collect();
    transactions[0].reads.push(Read {
        key: 31,
        version: 0,
        value: None,
    });
    transactions[0].writes.push(Write {
        key: 30,
        version: 1,
        value: None,
        commuted: None,
    });
    transactions.push(committed(
        8,
        (8, 108),
        &[(20, 0), (30, 0)],
        &[(20, 1), (31, 1)],
    ));
    transactions.push(committed(9, (9, 109), &[(20, 0)], &[(20, 2)]));
    for budget in [0, 20_000_000] {
        let r = Checker::with_search_budget(budget)
            .check(&history(transactions.clone()))
            .unwrap();
        assert_eq!(r.anomalies.len(), 1, "one component:\n{r}");
        let anomaly = &r.anomalies[0];
        assert_eq!(
            anomaly.class,
            AnomalyClass::GSingle,
            "budget {budget}:\n{r}"
        );
        assert_eq!(anomaly.pattern, Some(Pattern::LostUpdate));
        assert_eq!(anomaly.most_severe, Some(true));
        assert!(r.notes.is_empty(), "{r}");
    }
    // Close valid variant: T9 read T8's version, so no cycle through them
    // is a G-single, and the ring's G2-item is reported as proven.
    transactions[8].reads[0].version = 1;
    let r = report(transactions);
    let anomaly = r
        .anomalies
        .iter()
        .find(|a| a.class == AnomalyClass::G2Item)
        .unwrap();
    assert_eq!(anomaly.most_severe, Some(true), "{r}");
    assert_eq!(r.count(AnomalyClass::GSingle), 0, "{r}");
}

#[test]
fn a_g2_item_reported_when_the_budget_ran_out_says_a_g_single_may_hide() {
    // T1 and T2 in write skew; T3 -rw-> T4 -wr-> T5 -wr-> T3 is a
    // three-transaction G-single; T2 -wr-> T3 -wr-> T1 joins them.
    let transactions = vec![
        committed(1, (1, 100), &[(0, 0), (1, 0), (6, 1)], &[(0, 1)]),
        committed(2, (2, 101), &[(0, 0), (1, 0)], &[(1, 1), (5, 1)]),
        committed(3, (3, 102), &[(2, 0), (4, 1), (5, 1)], &[(6, 1)]),
        committed(4, (4, 103), &[], &[(2, 1), (3, 1)]),
        committed(5, (5, 104), &[(3, 1)], &[(4, 1)]),
    ];
    let starved = Checker::with_search_budget(0)
        .check(&history(transactions.clone()))
        .unwrap();
    // (Versions are per key here: the global-clock snapshot rule flags
    // attempts too; only the cycles matter.)
    let cycles: Vec<_> = starved
        .anomalies
        .iter()
        .filter(|a| !a.cycle.is_empty())
        .collect();
    assert_eq!(cycles.len(), 1, "{starved}");
    let anomaly = cycles[0];
    assert_eq!(anomaly.class, AnomalyClass::G2Item, "{starved}");
    assert_eq!(anomaly.most_severe, Some(false));
    let text = anomaly.explanation.join("\n");
    assert!(text.contains("a G-single may exist here"), "{text}");
    assert!(text.contains("--search-budget"), "{text}");
    assert!(
        starved
            .notes
            .iter()
            .any(|n| n.contains("may hide a G-single")),
        "{starved}"
    );
    // Close variant: with the default budget, the G-single is found.
    let r = report(transactions);
    let cycles: Vec<_> = r.anomalies.iter().filter(|a| !a.cycle.is_empty()).collect();
    assert_eq!(cycles.len(), 1, "{r}");
    assert_eq!(cycles[0].class, AnomalyClass::GSingle, "{r}");
    assert_eq!(cycles[0].most_severe, Some(true));
    assert!(r.notes.is_empty());
}
