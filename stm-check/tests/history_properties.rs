//! Property tests: histories of random serial executions are always valid;
//! the same histories with one injected anomaly are always rejected with
//! the anomaly's class.

use proptest::prelude::*;
use proptest::sample::Index;
use serde_json::Value;
use stm_check::history::generate::{serial_history, PlannedTransaction, SerialOptions};
use stm_check::history::{
    check, AnomalyClass, Checker, History, Outcome, Pattern, Read, Transaction, Write,
};

const KEYS: u64 = 4;

fn planned() -> impl Strategy<Value = PlannedTransaction> {
    (
        0..4u64,
        prop::collection::vec(0..KEYS, 0..4),
        prop::collection::vec(0..KEYS, 0..4),
        prop::bool::weighted(0.15),
    )
        .prop_map(|(thread, reads, writes, aborts)| PlannedTransaction {
            thread,
            reads,
            writes,
            outcome: if aborts {
                Outcome::Aborted
            } else {
                Outcome::Committed
            },
        })
}

fn options() -> impl Strategy<Value = SerialOptions> {
    (0..3u64, any::<bool>(), any::<bool>()).prop_map(|(overlap, snapshots, values)| SerialOptions {
        overlap,
        snapshots,
        values,
    })
}

fn serial() -> impl Strategy<Value = (History, SerialOptions)> {
    (prop::collection::vec(planned(), 1..40), options())
        .prop_map(|(plan, options)| (serial_history(&plan, options), options))
}

/// Installed writes (committed, final) per key in version order:
/// `(transaction index, version)`.
fn installed(history: &History, key: u64) -> Vec<(usize, u64)> {
    let mut found: Vec<(usize, u64)> = history
        .transactions
        .iter()
        .enumerate()
        .filter(|(_, t)| t.outcome == Outcome::Committed)
        .filter_map(|(i, t)| {
            t.writes
                .iter()
                .rev()
                .find(|w| w.key == key)
                .map(|w| (i, w.version))
        })
        .collect();
    found.sort_by_key(|&(_, v)| v);
    found
}

/// The value of `(key, version)` in `history`, if recorded.
fn value_of(history: &History, key: u64, version: u64) -> Option<Value> {
    if version == 0 {
        return history
            .initial
            .iter()
            .find(|i| i.key == key)
            .map(|i| i.value.clone());
    }
    history
        .transactions
        .iter()
        .flat_map(|t| &t.writes)
        .find(|w| w.key == key && w.version == version)
        .and_then(|w| w.value.clone())
}

fn max_version(history: &History) -> u64 {
    history
        .transactions
        .iter()
        .flat_map(|t| &t.writes)
        .map(|w| w.version)
        .max()
        .unwrap_or(0)
}

/// Pairs `(a, b, key)` of committed transactions that installed
/// consecutive versions of `key`, `a` first.
fn consecutive_writers(history: &History) -> Vec<(usize, usize, u64)> {
    (0..KEYS)
        .flat_map(|key| {
            installed(history, key)
                .windows(2)
                .map(|w| (w[0].0, w[1].0, key))
                .collect::<Vec<_>>()
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn serial_histories_are_valid((history, _) in serial()) {
        let report = check(&history).unwrap();
        prop_assert!(report.is_valid(), "{}", report);
    }

    /// Listed in any order, a serial history is still valid: the checker
    /// must not lean on transactions being listed as they ended (in order,
    /// it decides most histories without building the graph).
    #[test]
    fn serial_histories_are_valid_in_any_order(
        (history, _) in serial(),
        order in any::<u64>(),
    ) {
        let mut shuffled = history.clone();
        let n = shuffled.transactions.len();
        let mut state = order | 1;
        for i in (1..n).rev() {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            shuffled.transactions.swap(i, (state % (i as u64 + 1)) as usize);
        }
        let report = check(&shuffled).unwrap();
        prop_assert!(report.is_valid(), "{}", report);
    }

    /// One checker reused across histories, valid, broken and invalid,
    /// reports exactly what a fresh check of each does.
    #[test]
    fn a_reused_checker_reports_as_a_fresh_one(
        histories in proptest::collection::vec(serial(), 1..4),
        pick in any::<Index>(),
    ) {
        let mut checker = Checker::new();
        for (history, _) in histories {
            let mut broken = history.clone();
            if let Some(t) = broken.transactions.iter_mut().find(|t| !t.reads.is_empty()) {
                t.reads[0].version = u64::MAX; // dangling: invalid
            }
            let mut reordered = history.clone();
            let n = reordered.transactions.len();
            reordered.transactions.swap(0, pick.index(n));
            for h in [&history, &broken, &reordered] {
                let fresh = check(h).map(|r| r.to_string()).map_err(|e| e.to_string());
                let reused = checker.check(h).map(|r| r.to_string()).map_err(|e| e.to_string());
                prop_assert_eq!(fresh, reused);
            }
        }
    }

    /// The checker's shortcuts for dense numbers (keys as their own
    /// numbers, bitmaps of ids and commit versions) and its general paths
    /// agree: spreading keys, ids and commit versions far apart changes no
    /// verdict, and a repeated id is found either way.
    #[test]
    fn sparse_numbers_are_checked_like_dense_ones(
        (history, _) in serial(),
        pick in any::<Index>(),
    ) {
        let spread = |h: &History, by: u64| {
            let mut h = h.clone();
            for k in h.initial.iter_mut() { k.key = k.key * by + 7; }
            for t in h.transactions.iter_mut() {
                t.id = t.id * by + 3;
                t.commit_version = t.commit_version.map(|v| v * by + 5);
                for r in t.reads.iter_mut() { r.key = r.key * by + 7; }
                for w in t.writes.iter_mut() { w.key = w.key * by + 7; }
            }
            h
        };
        let dense = check(&history).unwrap();
        let sparse = spread(&history, 1 << 40);
        prop_assert_eq!(check(&sparse).unwrap().is_valid(), dense.is_valid());
        prop_assert_eq!(check(&sparse).unwrap().anomalies.len(), dense.anomalies.len());
        let n = history.transactions.len();
        prop_assume!(n >= 2);
        let i = pick.index(n - 1) + 1;
        for mut h in [history.clone(), sparse] {
            h.transactions[i].id = h.transactions[0].id;
            let error = check(&h).unwrap_err().to_string();
            prop_assert!(error.contains("duplicate"), "{}", error);
        }
    }

    #[test]
    fn json_round_trips((history, _) in serial()) {
        prop_assert_eq!(History::from_json_str(&history.to_json_string()).unwrap(), history);
    }

    /// One committed read returns the version before the one it saw. With
    /// overlapping transactions and no snapshots that can be legal (the
    /// reader may be serialized before the overwriter), so those runs are
    /// skipped.
    #[test]
    fn a_stale_read_is_rejected((mut history, options) in serial(), pick in any::<Index>()) {
        prop_assume!(options.snapshots || options.overlap == 0);
        let candidates: Vec<(usize, usize)> = history.transactions.iter().enumerate()
            .filter(|(_, t)| t.outcome == Outcome::Committed)
            .flat_map(|(i, t)| t.reads.iter().enumerate()
                .filter(|(_, r)| r.version > 0)
                .map(move |(j, _)| (i, j)))
            .collect();
        prop_assume!(!candidates.is_empty());
        let (t, r) = *pick.get(&candidates);
        let key = history.transactions[t].reads[r].key;
        let seen = history.transactions[t].reads[r].version;
        let older = installed(&history, key).into_iter().map(|(_, v)| v)
            .take_while(|&v| v < seen).last().unwrap_or(0);
        let value = value_of(&history, key, older);
        history.transactions[t].reads[r] = Read { key, version: older, value };

        let report = check(&history).unwrap();
        prop_assert!(!report.is_valid());
        if options.snapshots {
            // Recorded snapshots pin each read to one version.
            prop_assert!(report.count(AnomalyClass::Opacity) > 0, "{}", report);
        }
        if options.overlap == 0 {
            // The overwriter ended before the reader began.
            prop_assert!(!report.strict_serializable(), "{}", report);
        }
    }

    /// Two transactions that wrote consecutive versions of one key also
    /// write a fresh key, in the opposite order.
    #[test]
    fn interleaved_writes_are_g0((mut history, _) in serial(), pick in any::<Index>()) {
        let pairs = consecutive_writers(&history);
        prop_assume!(!pairs.is_empty());
        let (a, b, _) = *pick.get(&pairs);
        let fresh_key = 1_000;
        for (writer, version) in [(a, 2), (b, 1)] {
            history.transactions[writer].writes.push(Write { key: fresh_key, version, value: None, commuted: None });
        }
        let report = check(&history).unwrap();
        let ids = [history.transactions[a].id, history.transactions[b].id];
        let g0 = report.of_class(AnomalyClass::G0).next();
        prop_assert!(g0.is_some(), "{}", report);
        let g0 = g0.unwrap();
        prop_assert!(ids.iter().all(|id| g0.transactions.contains(id)), "{}", report);
        prop_assert!(g0.keys.contains(&fresh_key), "{}", report);
    }

    /// One committed read is redirected to a write of a new aborted attempt.
    #[test]
    fn reading_an_aborted_write_is_g1a((mut history, _) in serial(), pick in any::<Index>()) {
        let readers: Vec<(usize, usize)> = history.transactions.iter().enumerate()
            .filter(|(_, t)| t.outcome == Outcome::Committed)
            .flat_map(|(i, t)| (0..t.reads.len()).map(move |j| (i, j)))
            .collect();
        prop_assume!(!readers.is_empty());
        let (t, r) = *pick.get(&readers);
        let key = history.transactions[t].reads[r].key;
        let version = max_version(&history) + 1;
        let id = history.transactions.iter().map(|t| t.id).max().unwrap() + 1;
        history.transactions.push(Transaction {
            id, thread: 9, outcome: Outcome::Aborted, begin: 0, end: 1,
            snapshot: None, commit_version: None, reads: Vec::new(),
            writes: vec![Write { key, version, value: None, commuted: None }],
        });
        history.transactions[t].reads[r] = Read { key, version, value: None };
        let report = check(&history).unwrap();
        let reader = history.transactions[t].id;
        prop_assert!(
            report.of_class(AnomalyClass::G1a).any(|a| a.transactions == [reader, id]),
            "{}", report
        );
    }

    /// Of two consecutive writers of a key, the second now read the same
    /// version the first read: the first's update is lost.
    #[test]
    fn a_lost_update_is_g_single((mut history, _) in serial(), pick in any::<Index>()) {
        let pairs = consecutive_writers(&history);
        prop_assume!(!pairs.is_empty());
        let (a, b, key) = *pick.get(&pairs);
        let before = installed(&history, key).into_iter().map(|(_, v)| v)
            .take_while(|&v| v < history.transactions[a].writes.iter().rev()
                .find(|w| w.key == key).unwrap().version)
            .last().unwrap_or(0);
        let read = Read { key, version: before, value: value_of(&history, key, before) };
        for t in [a, b] {
            let reads = &mut history.transactions[t].reads;
            reads.retain(|r| r.key != key);
            reads.insert(0, read.clone());
        }
        let report = check(&history).unwrap();
        let ids = [history.transactions[a].id, history.transactions[b].id];
        let lost = report.of_class(AnomalyClass::GSingle)
            .find(|g| ids.iter().all(|id| g.transactions.contains(id)));
        prop_assert!(lost.is_some(), "{}", report);
        prop_assert_eq!(lost.unwrap().pattern, Some(Pattern::LostUpdate), "{}", report);
    }
}
