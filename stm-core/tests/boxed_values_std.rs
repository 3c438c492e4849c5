//! Boxed values (and TVars created and dropped while others run) on real
//! threads: the read path clones values that writers keep replacing (or
//! commuting), and reclamation frees what they replace. The assertions check the values;
//! memory safety is what Miri (`cargo +nightly miri test -p stm-core --test
//! boxed_values_std`) and AddressSanitizer check on the same runs, with the
//! injected bug `free-before-readers-leave` as their proof of power (see
//! README.md).

mod support {
    pub mod env_bug;
}

use stm_core::{Std, Stm, TVar};

/// Fewer rounds under Miri, which is slow, still enough to interleave.
const ROUNDS: usize = if cfg!(miri) { 30 } else { 3_000 };

fn runtime() -> Stm {
    support::env_bug::runtime::<Std>()
}

/// Two threads move items between two vectors while a third reads both:
/// every snapshot holds every item exactly once.
#[test]
fn vectors_keep_their_items_while_readers_clone_them() {
    let stm = runtime();
    let left: TVar<Vec<u64>> = stm.new_tvar((0..8).collect());
    let right: TVar<Vec<u64>> = stm.new_tvar(Vec::new());
    let movers: Vec<_> = (0..2)
        .map(|t| {
            let (stm, left, right) = (stm.clone(), left.clone(), right.clone());
            std::thread::spawn(move || {
                for i in 0..ROUNDS {
                    let (from, to) = if (i + t) % 2 == 0 {
                        (&left, &right)
                    } else {
                        (&right, &left)
                    };
                    stm.atomically(|tx| {
                        let mut a = tx.read(from)?;
                        if let Some(item) = a.pop() {
                            let mut b = tx.read(to)?;
                            b.push(item);
                            tx.write(to, b)?;
                        }
                        tx.write(from, a)
                    });
                }
            })
        })
        .collect();
    for _ in 0..ROUNDS {
        let mut all = stm.atomically(|tx| {
            let mut all = tx.read(&left)?;
            all.extend(tx.read(&right)?);
            Ok(all)
        });
        all.sort_unstable();
        assert_eq!(
            all,
            (0..8).collect::<Vec<_>>(),
            "a snapshot lost or doubled an item"
        );
    }
    for mover in movers {
        mover.join().unwrap();
    }
    assert_eq!(left.load().len() + right.load().len(), 8);
}

/// A list of TVars that threads keep replacing with new ones: old TVars are
/// dropped (their last handle inside a replaced value) while other threads
/// still have them in their logs.
#[test]
fn tvars_dropped_while_others_read_them() {
    let stm = runtime();
    let slots: TVar<Vec<TVar<String>>> =
        stm.new_tvar((0..4).map(|i| stm.new_tvar(i.to_string())).collect());
    let threads: Vec<_> = (0..2)
        .map(|t| {
            let (stm, slots) = (stm.clone(), slots.clone());
            std::thread::spawn(move || {
                for i in 0..ROUNDS {
                    let slot = (i + t) % 4;
                    if i % 3 == 0 {
                        // Replace the TVar in `slot` by a new one holding its value.
                        let fresh = stm.atomically(|tx| {
                            let list = tx.read(&slots)?;
                            tx.read(&list[slot])
                        });
                        let fresh = stm.new_tvar(fresh);
                        stm.atomically(|tx| {
                            let mut list = tx.read(&slots)?;
                            list[slot] = fresh.clone();
                            tx.write(&slots, list)
                        });
                    } else {
                        // Read every slot and rewrite one, through the list.
                        stm.atomically(|tx| {
                            let list = tx.read(&slots)?;
                            let mut texts = Vec::new();
                            for tvar in &list {
                                texts.push(tx.read(tvar)?);
                            }
                            let n: usize = texts[slot].parse().unwrap();
                            tx.write(&list[slot], (n + 4).to_string())
                        });
                    }
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
    let values: Vec<usize> = slots
        .load()
        .iter()
        .map(|tvar| tvar.load().parse().unwrap())
        .collect();
    for (slot, value) in values.iter().enumerate() {
        assert_eq!(value % 4, slot, "slot {slot} holds {value}");
    }
}

/// A waiter blocks in `retry` on a boxed value that is replaced, with other
/// replaced values reclaimed meanwhile.
#[test]
fn retry_on_a_boxed_value() {
    let stm = runtime();
    let mailbox: TVar<Option<String>> = stm.new_tvar(None);
    let receiver = {
        let (stm, mailbox) = (stm.clone(), mailbox.clone());
        std::thread::spawn(move || {
            let mut got = Vec::new();
            for _ in 0..ROUNDS / 10 {
                got.push(stm.atomically(|tx| match tx.read(&mailbox)? {
                    Some(text) => {
                        tx.write(&mailbox, None)?;
                        Ok(text)
                    }
                    None => tx.retry(),
                }));
            }
            got
        })
    };
    for i in 0..ROUNDS / 10 {
        let text = format!("message {i}");
        stm.atomically(|tx| match tx.read(&mailbox)? {
            Some(_) => tx.retry(),
            None => tx.write(&mailbox, Some(text.clone())),
        });
    }
    let got = receiver.join().unwrap();
    assert_eq!(
        got,
        (0..ROUNDS / 10)
            .map(|i| format!("message {i}"))
            .collect::<Vec<_>>()
    );
}

/// Commutes of boxed values: two threads append to one log with commutes
/// (applied at commit to the box current then, which is then replaced and
/// reclaimed), some of them read back at once (the commute turned into a
/// buffered value) or taken back by `or_else`, while a reader clones it.
#[test]
fn commutes_of_a_boxed_log() {
    let stm = runtime();
    let log: TVar<Vec<String>> = stm.new_tvar(Vec::new());
    let never: TVar<bool> = stm.new_tvar(false);
    let writers: Vec<_> = (0..2)
        .map(|t| {
            let (stm, log, never) = (stm.clone(), log.clone(), never.clone());
            std::thread::spawn(move || {
                for i in 0..ROUNDS / 10 {
                    let entry = format!("{t}:{i}");
                    stm.atomically(|tx| {
                        let entry = entry.clone();
                        tx.commute(&log, move |mut l| {
                            l.push(entry);
                            l
                        })?;
                        match i % 3 {
                            // Read back: the pending commute is applied to the
                            // value read, and becomes a buffered write.
                            0 => assert!(tx.read(&log)?.last().is_some()),
                            // A commute taken back by `or_else`.
                            1 => tx.or_else(
                                |tx| {
                                    tx.commute(&log, |mut l| {
                                        l.push("taken back".to_string());
                                        l
                                    })?;
                                    if tx.read(&never)? {
                                        Ok(())
                                    } else {
                                        tx.retry()
                                    }
                                },
                                |_| Ok(()),
                            )?,
                            _ => {}
                        }
                        Ok(())
                    });
                }
            })
        })
        .collect();
    for _ in 0..ROUNDS / 10 {
        let seen = stm.atomically(|tx| tx.read(&log));
        assert!(!seen.iter().any(|e| e == "taken back"), "{seen:?}");
    }
    for writer in writers {
        writer.join().unwrap();
    }
    let mut all = log.load();
    assert_eq!(all.len(), 2 * (ROUNDS / 10));
    all.sort_unstable();
    let mut expected: Vec<String> = (0..2)
        .flat_map(|t| (0..ROUNDS / 10).map(move |i| format!("{t}:{i}")))
        .collect();
    expected.sort_unstable();
    assert_eq!(all, expected);
}
