//! Basic behaviour of the engine on std threads: transfers, retry wake-ups,
//! user errors, panics and nesting.

use stm_core::{Stm, StmConfig, TVar, TxError};

#[test]
fn concurrent_transfers_preserve_the_total() {
    let stm = Stm::new();
    let accounts: Vec<TVar<i64>> = (0..8).map(|_| stm.new_tvar(100)).collect();
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let (stm, accounts) = (stm.clone(), accounts.clone());
            std::thread::spawn(move || {
                for i in 0..2_000usize {
                    let from = &accounts[(i * 7 + t) % 8];
                    let to = &accounts[(i * 3 + t + 1) % 8];
                    stm.atomically(|tx| {
                        let a = tx.read(from)?;
                        tx.write(from, a - 1)?;
                        tx.modify(to, |b| b + 1)
                    });
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let total: i64 = accounts.iter().map(TVar::load).sum();
    assert_eq!(total, 800);
    let stats = stm.stats();
    assert_eq!(stats.commits, 8_000);
    assert_eq!(stats.attempts, stats.commits + stats.conflict_aborts());
}

#[test]
fn retry_blocks_until_a_read_tvar_changes() {
    let stm = Stm::new();
    let queue = stm.new_tvar(Vec::<u32>::new());
    let consumer = {
        let (stm, queue) = (stm.clone(), queue.clone());
        std::thread::spawn(move || {
            (0..100)
                .map(|_| {
                    stm.atomically(|tx| {
                        let mut items = tx.read(&queue)?;
                        match items.pop() {
                            Some(item) => {
                                tx.write(&queue, items)?;
                                Ok(item)
                            }
                            None => tx.retry(),
                        }
                    })
                })
                .sum::<u32>()
        })
    };
    for i in 0..100 {
        stm.atomically(|tx| {
            tx.modify(&queue, |mut q| {
                q.push(i);
                q
            })
        });
    }
    assert_eq!(consumer.join().unwrap(), (0..100).sum::<u32>());
}

#[test]
fn user_errors_and_panics_leave_no_effect() {
    let stm = Stm::new();
    let v = stm.new_tvar(1);
    let err = stm.try_atomically(|tx| {
        tx.write(&v, 2)?;
        Err::<(), _>(TxError::Abort("no"))
    });
    assert_eq!(err, Err("no"));
    let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        stm.atomically(|tx| -> Result<(), _> {
            tx.write(&v, 3)?;
            panic!("boom")
        })
    }));
    assert!(panicked.is_err());
    assert_eq!(v.load(), 1);
    stm.atomically(|tx| tx.write(&v, 4));
    assert_eq!(v.load(), 4);
    let stats = stm.stats();
    assert_eq!((stats.user_aborts, stats.panics, stats.commits), (1, 1, 1));
}

#[test]
fn nested_atomically_is_a_clear_error() {
    let stm = Stm::new();
    let v = stm.new_tvar(0);
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        stm.atomically(|tx| {
            tx.write(&v, 1)?;
            stm.atomically(|inner| inner.write(&v, 2));
            Ok(())
        })
    }));
    let message = outcome.unwrap_err();
    let message = message.downcast_ref::<String>().unwrap();
    assert!(
        message.contains("inside a running transaction"),
        "{message}"
    );
    assert_eq!(v.load(), 0);
    stm.atomically(|tx| tx.write(&v, 5));
    assert_eq!(v.load(), 5);
}

#[test]
fn hot_counter_under_contention_falls_back_to_serial_mode() {
    let stm = Stm::with_config(StmConfig {
        irrevocable_after: 2,
        ..StmConfig::default()
    });
    let counter = stm.new_tvar(0u64);
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let (stm, counter) = (stm.clone(), counter.clone());
            std::thread::spawn(move || {
                for _ in 0..5_000 {
                    stm.atomically(|tx| {
                        let n = tx.read(&counter)?;
                        std::hint::black_box(0..50).for_each(drop);
                        tx.write(&counter, n + 1)
                    });
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(counter.load(), 20_000);
}

#[test]
fn replaced_values_are_dropped_and_none_leak() {
    use std::sync::Arc;
    let token = Arc::new(());
    {
        let stm = Stm::new();
        let slots: Vec<TVar<Arc<()>>> = (0..4).map(|_| stm.new_tvar(token.clone())).collect();
        let threads: Vec<_> = (0..2)
            .map(|t| {
                let (stm, slots, token) = (stm.clone(), slots.clone(), token.clone());
                std::thread::spawn(move || {
                    for i in 0..2_000usize {
                        stm.atomically(|tx| {
                            let a = tx.read(&slots[(i + t) % 4])?;
                            tx.write(&slots[(i + t + 1) % 4], a)?;
                            tx.write(&slots[(i + t) % 4], token.clone())
                        });
                    }
                    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        stm.atomically(|tx| -> Result<(), _> {
                            tx.write(&slots[0], token.clone())?;
                            panic!("discard this write")
                        })
                    }));
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        // Live clones: one per slot, plus the original.
        assert_eq!(Arc::strong_count(&token), 5);
    }
    assert_eq!(
        Arc::strong_count(&token),
        1,
        "a replaced or discarded value leaked"
    );
}
