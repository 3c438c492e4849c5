//! `tx.commute` on std threads: what a transaction sees of a TVar it
//! commuted, how commutes compose with reads, writes and `or_else`, that a
//! commute is applied to the value current at commit without making the
//! attempt abort, and what the recorder is told.

use std::sync::{Arc, Barrier, Mutex};
use stm_core::recorder::{CommuteBase, Event, RecordedWrite, Recorder};
use stm_core::{Stm, StmConfig, TVar};

#[test]
fn commutes_compose_in_order() {
    let stm = Stm::new();
    let x = stm.new_tvar(5_i64);
    stm.atomically(|tx| {
        tx.commute(&x, |n| n + 1)?;
        tx.commute(&x, |n| n * 2)?;
        tx.commute(&x, |n| n - 3)
    });
    assert_eq!(x.load(), (5 + 1) * 2 - 3);
}

#[test]
fn a_read_after_commutes_sees_them_applied_and_turns_them_into_a_write() {
    let stm = Stm::new();
    let x = stm.new_tvar(5_i64);
    let seen = stm.atomically(|tx| {
        tx.commute(&x, |n| n + 1)?;
        tx.commute(&x, |n| n * 2)?;
        let first = tx.read(&x)?;
        // Now a buffered value: a second read returns it unchanged, and a
        // commute applies to it at once.
        let second = tx.read(&x)?;
        tx.commute(&x, |n| n + 100)?;
        let third = tx.read(&x)?;
        Ok((first, second, third))
    });
    assert_eq!(seen, (12, 12, 112));
    assert_eq!(x.load(), 112);
}

#[test]
fn modify_after_commute_reads_the_commuted_value() {
    let stm = Stm::new();
    let x = stm.new_tvar(1_u32);
    stm.atomically(|tx| {
        tx.commute(&x, |n| n + 1)?;
        tx.modify(&x, |n| n * 10)
    });
    assert_eq!(x.load(), 20);
}

#[test]
fn a_write_replaces_pending_commutes_and_a_commute_applies_to_a_written_value() {
    let stm = Stm::new();
    let x = stm.new_tvar(1_i64);
    stm.atomically(|tx| {
        tx.commute(&x, |n| n + 1000)?;
        tx.write(&x, 7)?;
        tx.commute(&x, |n| n * 3)
    });
    assert_eq!(x.load(), 21);
}

#[test]
fn boxed_values_commute() {
    let stm = Stm::new();
    let log = stm.new_tvar(vec![String::from("a")]);
    stm.atomically(|tx| {
        tx.commute(&log, |mut v| {
            v.push("b".to_string());
            v
        })?;
        tx.commute(&log, |mut v| {
            v.push("c".to_string());
            v
        })
    });
    let seen = stm.atomically(|tx| {
        tx.commute(&log, |mut v| {
            v.push("d".to_string());
            v
        })?;
        tx.read(&log)
    });
    assert_eq!(seen, ["a", "b", "c", "d"]);
    assert_eq!(log.load(), ["a", "b", "c", "d"]);
}

/// `or_else` takes back the commutes of an alternative that retried: new
/// ones, ones added to a TVar commuted before, and ones a read of the
/// alternative had already applied.
#[test]
fn or_else_rolls_back_the_commutes_of_an_alternative_that_retried() {
    let stm = Stm::new();
    let x = stm.new_tvar(1_i64);
    let y = stm.new_tvar(1_i64);
    let gate = stm.new_tvar(false);
    let seen = stm.atomically(|tx| {
        tx.commute(&x, |n| n + 1)?;
        tx.or_else(
            |tx| {
                tx.commute(&x, |n| n * 100)?;
                tx.commute(&y, |n| n + 100)?;
                let x_seen = tx.read(&x)?; // (1 + 1) * 100: applied now
                assert_eq!(x_seen, 200);
                if tx.read(&gate)? {
                    Ok(x_seen)
                } else {
                    tx.retry()
                }
            },
            |tx| {
                tx.commute(&x, |n| n * 3)?;
                tx.read(&x)
            },
        )
    });
    assert_eq!(seen, (1 + 1) * 3);
    assert_eq!((x.load(), y.load()), (6, 1));
}

/// Nested alternatives: each rollback restores the state its alternative
/// began with, whether the commutes are still pending or were read.
#[test]
fn nested_or_else_restores_each_level() {
    let stm = Stm::new();
    let x = stm.new_tvar(2_i64);
    let gate = stm.new_tvar(false);
    let result = stm.atomically(|tx| {
        tx.commute(&x, |n| n + 1)?; // 3 at commit
        tx.or_else(
            |tx| {
                tx.commute(&x, |n| n * 10)?; // 30
                let inner = tx.or_else(
                    |tx| {
                        tx.commute(&x, |n| n + 5)?; // 35
                        assert_eq!(tx.read(&x)?, 35);
                        tx.read(&gate)?;
                        tx.retry::<i64>()
                    },
                    |tx| tx.read(&x), // 30: the +5 is gone
                )?;
                assert_eq!(inner, 30);
                tx.commute(&x, |n| n - 1)?; // 29
                tx.read(&gate)?;
                tx.retry::<i64>()
            },
            |tx| {
                tx.commute(&x, |n| n * 7)?; // 3 * 7: the * 10 and - 1 are gone
                Ok(0)
            },
        )
    });
    assert_eq!(result, 0);
    assert_eq!(x.load(), 21);
}

/// The same with boxed values: the values computed when a read applies
/// the commutes of an alternative, kept to undo it, are freed or restored.
#[test]
fn or_else_restores_boxed_values_a_read_computed() {
    let stm = Stm::new();
    let words = stm.new_tvar(vec![String::from("a")]);
    let gate = stm.new_tvar(false);
    let push = |word: &'static str| {
        move |mut v: Vec<String>| {
            v.push(word.to_string());
            v
        }
    };
    let seen = stm.atomically(|tx| {
        tx.commute(&words, push("b"))?;
        tx.or_else(
            |tx| {
                tx.commute(&words, push("x"))?;
                tx.commute(&words, push("y"))?;
                assert_eq!(tx.read(&words)?, ["a", "b", "x", "y"]);
                tx.commute(&words, push("z"))?;
                tx.read(&gate)?;
                tx.retry::<()>()
            },
            |tx| tx.commute(&words, push("c")),
        )?;
        tx.read(&words)
    });
    assert_eq!(seen, ["a", "b", "c"]);
    assert_eq!(words.load(), ["a", "b", "c"]);
}

/// A commute is applied to the value current at commit, here one that
/// another thread committed after the commute was made, and that commit
/// does not make the commuting attempt abort.
#[test]
fn a_commute_applies_to_a_value_committed_after_it_was_made() {
    let stm = Stm::new();
    let x = stm.new_tvar(0_i64);
    let (made, committed) = (Arc::new(Barrier::new(2)), Arc::new(Barrier::new(2)));
    let writer = {
        let (stm, x, made, committed) = (stm.clone(), x.clone(), made.clone(), committed.clone());
        std::thread::spawn(move || {
            made.wait();
            stm.atomically(|tx| tx.write(&x, 100));
            committed.wait();
        })
    };
    let mut first = true;
    stm.atomically(|tx| {
        tx.commute(&x, |n| n + 1)?;
        if std::mem::take(&mut first) {
            made.wait();
            committed.wait();
        }
        Ok(())
    });
    writer.join().unwrap();
    assert_eq!(x.load(), 101);
    let stats = stm.stats();
    assert_eq!(stats.conflict_aborts(), 0, "{stats}");
    assert_eq!(stats.attempts, 2);
}

/// The same with the TVar read first: the transaction is then an ordinary
/// read-modify-write, and the other commit makes it run again.
#[test]
fn a_read_makes_the_commute_conflict_like_a_read_modify_write() {
    let stm = Stm::new();
    let x = stm.new_tvar(0_i64);
    let (made, committed) = (Arc::new(Barrier::new(2)), Arc::new(Barrier::new(2)));
    let writer = {
        let (stm, x, made, committed) = (stm.clone(), x.clone(), made.clone(), committed.clone());
        std::thread::spawn(move || {
            made.wait();
            stm.atomically(|tx| tx.write(&x, 100));
            committed.wait();
        })
    };
    let mut first = true;
    let seen = stm.atomically(|tx| {
        tx.commute(&x, |n| n + 1)?;
        let seen = tx.read(&x)?;
        if std::mem::take(&mut first) {
            made.wait();
            committed.wait();
        }
        Ok(seen)
    });
    writer.join().unwrap();
    assert_eq!((seen, x.load()), (101, 101));
    assert_eq!(stm.stats().conflict_aborts(), 1);
}

#[test]
fn commutes_work_in_serial_mode() {
    let stm = Stm::with_config(StmConfig {
        irrevocable_after: 0,
        ..StmConfig::default()
    });
    let total = stm.new_tvar(0_u64);
    let threads: Vec<_> = (1..=4_u64)
        .map(|t| {
            let (stm, total) = (stm.clone(), total.clone());
            std::thread::spawn(move || {
                for _ in 0..200 {
                    stm.atomically(|tx| tx.commute(&total, move |n| n + t));
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(total.load(), 200 * 10);
    let stats = stm.stats();
    assert_eq!(stats.irrevocable_runs, stats.attempts);
    assert_eq!(stats.commits, 800);
}

#[test]
fn many_threads_commuting_lose_no_update() {
    let stm = Stm::new();
    let total = stm.new_tvar(0_i64);
    let other = stm.new_tvar(0_i64);
    let threads: Vec<_> = (0..4_i64)
        .map(|t| {
            let (stm, total, other) = (stm.clone(), total.clone(), other.clone());
            std::thread::spawn(move || {
                for i in 0..2_000_i64 {
                    stm.atomically(|tx| {
                        tx.commute(&total, move |n| n + i)?;
                        if i % 3 == t % 3 {
                            // Some transactions also read-modify-write it.
                            tx.modify(&total, |n| n - 1)?;
                        }
                        tx.commute(&other, |n| n + 1)
                    });
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let decrements: i64 = (0..4_i64)
        .map(|t| (0..2_000_i64).filter(|i| i % 3 == t % 3).count() as i64)
        .sum();
    assert_eq!(total.load(), 4 * (1_999 * 2_000 / 2) - decrements);
    assert_eq!(other.load(), 8_000);
}

/// What the recorder is told: no read for a commute, and the commit's
/// write marked as commuted, with the version and value it was applied to.
#[test]
fn the_recorder_marks_commuted_writes_with_their_base() {
    #[derive(Default)]
    struct Log(Mutex<Vec<String>>, Mutex<Vec<Vec<RecordedWrite>>>);
    impl Recorder for Log {
        fn record(&self, event: &Event<'_>) {
            match event {
                Event::Read { tvar, value, .. } => {
                    self.0
                        .lock()
                        .unwrap()
                        .push(format!("read {tvar} = {value:?}"));
                }
                Event::Commit { writes, .. } => self.1.lock().unwrap().push(writes.to_vec()),
                _ => {}
            }
        }
    }
    let log = Arc::new(Log::default());
    let stm = Stm::with_recorder(StmConfig::default(), log.clone());
    let x: TVar<i64> = stm.new_tvar(4);
    let y: TVar<i64> = stm.new_tvar(0);
    stm.atomically(|tx| tx.write(&y, 9)); // version 1
    stm.atomically(|tx| {
        tx.commute(&x, |n| n * 2)?;
        tx.commute(&y, |n| n + 1)
    }); // version 2
    stm.atomically(|tx| {
        tx.commute(&x, |n| n + 1)?;
        tx.read(&x)
    }); // version 3: a read-modify-write
    assert_eq!(*log.0.lock().unwrap(), ["read 0 = Some(8)"]);
    let commits = log.1.lock().unwrap();
    let commuted = |tvar, value, version, base| RecordedWrite {
        tvar,
        value: Some(value),
        commuted: Some(CommuteBase {
            version,
            value: Some(base),
        }),
    };
    assert_eq!(
        commits[1],
        [commuted(x.id(), 8, 0, 4), commuted(y.id(), 10, 1, 9)]
    );
    assert_eq!(
        commits[2],
        [RecordedWrite {
            tvar: x.id(),
            value: Some(9),
            commuted: None
        }]
    );
}

/// An update is the caller's code, run at commit under the TVar's lock: if
/// it panics, the panic propagates from `atomically`, nothing is installed,
/// and the lock is let go.
#[test]
fn a_panic_in_an_update_at_commit_releases_the_locks() {
    let stm = Stm::new();
    let x = stm.new_tvar(1_i64);
    let y = stm.new_tvar(1_i64);
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        stm.atomically(|tx| {
            tx.write(&y, 2)?;
            tx.commute(&x, |_| panic!("update failed"))
        })
    }));
    assert!(outcome.is_err());
    assert_eq!((x.load(), y.load()), (1, 1));
    // Both TVars are unlocked: another transaction commits at once.
    stm.atomically(|tx| {
        tx.modify(&x, |n| n + 1)?;
        tx.modify(&y, |n| n + 1)
    });
    assert_eq!((x.load(), y.load()), (2, 2));
    assert_eq!(stm.stats().conflict_aborts(), 0);
}

/// If an update panics when a read applies it and the body catches the
/// panic, the attempt cannot commit what is left of it: it runs again.
#[test]
fn a_panic_in_an_update_at_a_read_caught_by_the_body_dooms_the_attempt() {
    let stm = Stm::new();
    let x = stm.new_tvar(String::from("a"));
    let mut attempts = 0;
    let seen = stm.atomically(|tx| {
        attempts += 1;
        let first = attempts == 1;
        tx.commute(&x, move |s| {
            if first {
                panic!("update failed")
            } else {
                s + "b"
            }
        })?;
        let caught =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| tx.read(&x).map(|_| ())));
        if first {
            assert!(caught.is_err());
            // Whatever the body does now, this attempt will not commit.
            assert!(tx.read(&x).is_err());
            return Ok(String::new());
        }
        tx.read(&x)
    });
    assert_eq!((seen.as_str(), attempts), ("ab", 2));
    assert_eq!(x.load(), "ab");
}
