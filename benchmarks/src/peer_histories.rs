//! Histories of the peers, for `stm-check check`: a list-append workload
//! run on real threads against rust-stm (`stm` 0.4) and `kovan-stm` 0.2.0,
//! every attempt recorded, aborted ones included, by wrapping the
//! transaction closure (each call of the closure is one attempt; the last
//! call of an `atomically` is the one that committed).
//!
//! Each key is a variable holding a list; a transaction reads one to three
//! keys and, unless it is read-only, appends a unique element to each key
//! it read. The history is written in format `stm-history` version 2, model
//! `list-append`, with real time from one shared event counter: an attempt
//! begins when its closure is entered and ends when the next attempt of the
//! same transaction is entered (aborted) or when `atomically` returns
//! (committed), so every interval holds the attempt's real execution.

use crate::Rng;
use serde_json::{json, Value};
use std::cell::RefCell;
use std::sync::atomic::{AtomicU64, Ordering};

/// The STM a history is recorded from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Peer {
    /// The `stm` crate 0.4.
    RustStm,
    /// `kovan-stm` 0.2.0.
    KovanStm,
}

/// The size of a recorded run.
#[derive(Debug, Clone, Copy)]
pub struct RecordConfig {
    /// Threads running transactions at once.
    pub threads: usize,
    /// Transactions (not attempts) per thread.
    pub transactions: usize,
    /// Keys (list variables); few keys mean many conflicts.
    pub keys: usize,
    /// Seed of the operations' choice.
    pub seed: u64,
}

/// One attempt as recorded.
#[derive(Debug, Clone)]
struct Attempt {
    id: u64,
    thread: usize,
    begin: u64,
    end: u64,
    committed: bool,
    reads: Vec<(usize, Vec<u64>)>,
    appends: Vec<(usize, u64)>,
}

/// The global event counter that orders begins and ends in real time.
struct Clock {
    events: AtomicU64,
    attempts: AtomicU64,
}

impl Clock {
    fn tick(&self) -> u64 {
        self.events.fetch_add(1, Ordering::SeqCst) + 1
    }
}

/// The attempts of one transaction, filled in by its closure.
struct AttemptLog<'c> {
    clock: &'c Clock,
    thread: usize,
    attempts: RefCell<Vec<Attempt>>,
    /// The last element appended by this thread: every attempt appends
    /// fresh ones, so a retry never appends an element twice.
    last_element: &'c std::cell::Cell<u64>,
}

impl<'c> AttemptLog<'c> {
    fn new(clock: &'c Clock, thread: usize, last_element: &'c std::cell::Cell<u64>) -> Self {
        AttemptLog {
            clock,
            thread,
            attempts: RefCell::new(Vec::new()),
            last_element,
        }
    }

    /// An element no attempt has appended yet.
    fn fresh_element(&self) -> u64 {
        let element = self.last_element.get() + 1;
        self.last_element.set(element);
        element
    }

    /// A new attempt begins; the previous one, if any, aborted.
    fn start(&self) {
        let mut attempts = self.attempts.borrow_mut();
        let now = self.clock.tick();
        if let Some(previous) = attempts.last_mut() {
            previous.end = now;
        }
        attempts.push(Attempt {
            id: self.clock.attempts.fetch_add(1, Ordering::Relaxed) + 1,
            thread: self.thread,
            begin: self.clock.tick(),
            end: 0,
            committed: false,
            reads: Vec::new(),
            appends: Vec::new(),
        });
    }

    fn read(&self, key: usize, list: &[u64]) {
        let mut attempts = self.attempts.borrow_mut();
        let attempt = attempts.last_mut().expect("started");
        attempt.reads.push((key, list.to_vec()));
    }

    fn append(&self, key: usize, element: u64) {
        let mut attempts = self.attempts.borrow_mut();
        let attempt = attempts.last_mut().expect("started");
        attempt.appends.push((key, element));
    }

    /// `atomically` returned: the last attempt committed.
    fn finish(self) -> Vec<Attempt> {
        let mut attempts = self.attempts.into_inner();
        let now = self.clock.tick();
        if let Some(last) = attempts.last_mut() {
            last.end = now;
            last.committed = true;
        }
        attempts
    }
}

/// What one transaction does: for each key, read it and, unless the
/// transaction is read-only, append to it.
fn draw_operations(rng: &mut Rng, keys: usize) -> Vec<(usize, bool)> {
    let count = 1 + (rng.next_u64() % 3) as usize;
    let read_only = rng.next_u64().is_multiple_of(4);
    let mut chosen: Vec<usize> = Vec::with_capacity(count);
    while chosen.len() < count.min(keys) {
        let key = (rng.next_u64() % keys as u64) as usize;
        if !chosen.contains(&key) {
            chosen.push(key);
        }
    }
    chosen.into_iter().map(|key| (key, !read_only)).collect()
}

/// Runs the workload on `peer` and returns the history as JSON text.
pub fn record(peer: Peer, config: RecordConfig) -> String {
    let clock = Clock {
        events: AtomicU64::new(0),
        attempts: AtomicU64::new(0),
    };
    let attempts: Vec<Attempt> = match peer {
        Peer::RustStm => {
            let lists: Vec<stm::TVar<Vec<u64>>> = (0..config.keys)
                .map(|_| stm::TVar::new(Vec::new()))
                .collect();
            run_threads(&clock, config, |log, operations| {
                stm::atomically(|tx| {
                    log.start();
                    for &(key, append) in operations {
                        // Let other threads run mid-transaction, as real
                        // work would: conflicts, and torn reads, need it.
                        std::thread::yield_now();
                        let mut list = lists[key].read(tx)?;
                        log.read(key, &list);
                        if append {
                            let element = log.fresh_element();
                            list.push(element);
                            lists[key].write(tx, list)?;
                            log.append(key, element);
                        }
                    }
                    Ok(())
                })
            })
        }
        Peer::KovanStm => {
            let engine = kovan_stm::Stm::new();
            let lists: Vec<kovan_stm::TVar<Vec<u64>>> =
                (0..config.keys).map(|_| engine.tvar(Vec::new())).collect();
            run_threads(&clock, config, |log, operations| {
                engine.atomically(|tx| {
                    log.start();
                    for &(key, append) in operations {
                        // Let other threads run mid-transaction, as real
                        // work would: conflicts, and torn reads, need it.
                        std::thread::yield_now();
                        let mut list = tx.load(&lists[key])?;
                        log.read(key, &list);
                        if append {
                            let element = log.fresh_element();
                            list.push(element);
                            tx.store(&lists[key], list)?;
                            log.append(key, element);
                        }
                    }
                    Ok(())
                })
            })
        }
    };
    to_json(&attempts)
}

/// Runs `config.threads` threads, each running its transactions through
/// `transaction(log, operations)`, and gathers every attempt.
fn run_threads(
    clock: &Clock,
    config: RecordConfig,
    transaction: impl Fn(&AttemptLog<'_>, &[(usize, bool)]) + Sync,
) -> Vec<Attempt> {
    let transaction = &transaction;
    let mut all = Vec::new();
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..config.threads)
            .map(|thread| {
                scope.spawn(move || {
                    let mut rng = Rng::new(
                        config.seed ^ (thread as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15),
                    );
                    // Elements are unique across threads: each has its own range.
                    let last_element = std::cell::Cell::new((thread as u64) << 40);
                    let mut attempts = Vec::new();
                    for _ in 0..config.transactions {
                        let operations = draw_operations(&mut rng, config.keys);
                        let log = AttemptLog::new(clock, thread, &last_element);
                        transaction(&log, &operations);
                        attempts.extend(log.finish());
                    }
                    attempts
                })
            })
            .collect();
        for worker in workers {
            all.extend(worker.join().expect("a recording thread panicked"));
        }
    });
    all
}

/// The attempts as a version-2 list-append history.
fn to_json(attempts: &[Attempt]) -> String {
    let transactions: Vec<Value> = attempts
        .iter()
        .map(|a| {
            json!({
                "id": a.id,
                "thread": a.thread,
                "outcome": if a.committed { "committed" } else { "aborted" },
                "begin": a.begin,
                "end": a.end,
                "reads": a.reads.iter().map(|(key, list)| json!({"key": key, "value": list})).collect::<Vec<_>>(),
                "appends": a.appends.iter().map(|(key, element)| json!({"key": key, "value": element})).collect::<Vec<_>>(),
            })
        })
        .collect();
    json!({
        "format": "stm-history",
        "version": 2,
        "model": "list-append",
        "transactions": transactions,
    })
    .to_string()
}

/// A serial list-append history of `transactions` transactions over
/// `keys` keys, as JSON text: the shape the peers' recorder writes, with
/// every read a prefix of the final lists, for measuring the checker.
pub fn serial_list_append(transactions: usize, keys: usize, seed: u64) -> String {
    let mut rng = Rng::new(seed);
    let mut lists: Vec<Vec<u64>> = vec![Vec::new(); keys];
    let mut next_element = 0u64;
    let mut attempts = Vec::with_capacity(transactions);
    for t in 0..transactions {
        let operations = draw_operations(&mut rng, keys);
        let mut attempt = Attempt {
            id: t as u64 + 1,
            thread: t % 4,
            begin: 2 * t as u64 + 1,
            end: 2 * t as u64 + 2,
            committed: true,
            reads: Vec::new(),
            appends: Vec::new(),
        };
        for (key, append) in operations {
            attempt.reads.push((key, lists[key].clone()));
            if append {
                next_element += 1;
                let element = next_element;
                lists[key].push(element);
                attempt.appends.push((key, element));
            }
        }
        attempts.push(attempt);
    }
    to_json(&attempts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use stm_check::history::{Checker, Recorded};

    fn check(json: &str) -> stm_check::history::Report {
        let recorded = Recorded::from_json_str(json).expect("a well-formed history");
        Checker::new().check_recorded(&recorded).expect("checkable")
    }

    #[test]
    fn both_peers_record_serializable_histories() {
        let config = RecordConfig {
            threads: 2,
            transactions: 200,
            keys: 4,
            seed: 7,
        };
        for peer in [Peer::RustStm, Peer::KovanStm] {
            let report = check(&record(peer, config));
            assert_eq!(report.committed, 400, "{peer:?}");
            assert!(
                report.serializable() && report.strict_serializable(),
                "{peer:?}:\n{report}"
            );
        }
    }

    #[test]
    fn the_serial_generator_writes_valid_histories() {
        let report = check(&serial_list_append(1_000, 50, 1));
        assert!(report.is_valid(), "{report}");
        assert_eq!(report.transactions, 1_000);
    }
}
