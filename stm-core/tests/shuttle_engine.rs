//! The engine under shuttle's random and PCT schedulers: the bank invariant,
//! opacity (even attempts that later abort see consistent snapshots), and the
//! `retry` / `or_else` wake-up protocol (a lost wake-up is a deadlock, which
//! shuttle reports).

use shuttle::{check_pct, check_random};
use stm_core::{ShuttlePlatform, Stm, StmConfig, TVar};

type Runtime = Stm<ShuttlePlatform>;

const ITERATIONS: usize = 2_000;
const PCT_DEPTH: usize = 3;

/// Three threads move money around three accounts while a fourth audits the
/// total inside transactions; the total must hold in every snapshot.
fn bank_transfers_preserve_the_total(config: StmConfig) {
    let stm = Runtime::for_platform_with_config(config);
    let accounts: Vec<TVar<i64, ShuttlePlatform>> = (0..3).map(|_| stm.new_tvar(10)).collect();
    let mut handles = Vec::new();
    for t in 0..3usize {
        let (stm2, accounts) = (stm.clone(), accounts.clone());
        handles.push(stm.spawn(move || {
            for i in 0..2usize {
                let from = &accounts[(t + i) % 3];
                let to = &accounts[(t + i + 1) % 3];
                stm2.atomically(|tx| {
                    let a = tx.read(from)?;
                    tx.write(from, a - 3)?;
                    let b = tx.read(to)?;
                    tx.write(to, b + 3)
                });
            }
        }));
    }
    let auditor = {
        let (stm2, accounts) = (stm.clone(), accounts.clone());
        stm.spawn(move || {
            for _ in 0..2 {
                let total = stm2.atomically(|tx| {
                    let mut sum = 0;
                    for account in &accounts {
                        sum += tx.read(account)?;
                    }
                    Ok(sum)
                });
                assert_eq!(total, 30, "an audit saw a torn transfer");
            }
        })
    };
    for h in handles {
        h.join().unwrap();
    }
    auditor.join().unwrap();
    let total: i64 = accounts.iter().map(TVar::load).sum();
    assert_eq!(total, 30);
    let stats = stm.stats();
    assert_eq!(stats.commits, 8);
    assert_eq!(stats.attempts, stats.commits + stats.conflict_aborts());
}

#[test]
fn bank_random() {
    check_random(
        || bank_transfers_preserve_the_total(StmConfig::default()),
        ITERATIONS,
    );
}

#[test]
fn bank_pct() {
    check_pct(
        || bank_transfers_preserve_the_total(StmConfig::default()),
        ITERATIONS,
        PCT_DEPTH,
    );
}

#[test]
fn bank_in_serial_mode_after_one_conflict_pct() {
    check_pct(
        || {
            bank_transfers_preserve_the_total(StmConfig {
                irrevocable_after: 1,
                ..StmConfig::default()
            })
        },
        ITERATIONS,
        PCT_DEPTH,
    );
}

/// A writer keeps `x == y`; readers assert it inside the body, so an attempt
/// that sees half of a commit panics even if it would later have aborted.
fn readers_never_see_half_a_commit() {
    let stm = Runtime::for_platform();
    let x = stm.new_tvar(0u32);
    let y = stm.new_tvar(0u32);
    let writer = {
        let (stm2, x, y) = (stm.clone(), x.clone(), y.clone());
        stm.spawn(move || {
            for n in 1..=3 {
                stm2.atomically(|tx| {
                    tx.write(&x, n)?;
                    tx.write(&y, n)
                });
            }
        })
    };
    let readers: Vec<_> = (0..2)
        .map(|_| {
            let (stm2, x, y) = (stm.clone(), x.clone(), y.clone());
            stm.spawn(move || {
                for _ in 0..2 {
                    stm2.atomically(|tx| {
                        let a = tx.read(&x)?;
                        let b = tx.read(&y)?;
                        assert_eq!(a, b, "opacity violated: x = {a}, y = {b} in one snapshot");
                        Ok(())
                    });
                }
            })
        })
        .collect();
    writer.join().unwrap();
    for r in readers {
        r.join().unwrap();
    }
}

#[test]
fn opacity_random() {
    check_random(readers_never_see_half_a_commit, ITERATIONS);
}

#[test]
fn opacity_pct() {
    check_pct(readers_never_see_half_a_commit, ITERATIONS, PCT_DEPTH);
}

/// A consumer blocks in `retry` until items arrive, taking from the primary
/// slot or else the secondary one; a lost wake-up leaves it blocked forever,
/// which shuttle reports as a deadlock.
fn retry_and_or_else_hand_items_over() {
    let stm = Runtime::for_platform();
    let primary = stm.new_tvar(None::<u32>);
    let secondary = stm.new_tvar(None::<u32>);
    let consumer = {
        let (stm2, primary, secondary) = (stm.clone(), primary.clone(), secondary.clone());
        stm.spawn(move || {
            let take = |tx: &mut stm_core::Transaction<'_, ShuttlePlatform>,
                        slot: &TVar<Option<u32>, ShuttlePlatform>| {
                match tx.read(slot)? {
                    Some(item) => {
                        tx.write(slot, None)?;
                        Ok(item)
                    }
                    None => tx.retry(),
                }
            };
            (0..2)
                .map(|_| {
                    stm2.atomically(|tx| {
                        tx.or_else(|tx| take(tx, &primary), |tx| take(tx, &secondary))
                    })
                })
                .sum::<u32>()
        })
    };
    let producers: Vec<_> = [(primary, 1u32), (secondary, 2u32)]
        .into_iter()
        .map(|(slot, item)| {
            let stm2 = stm.clone();
            stm.spawn(move || {
                stm2.atomically(|tx| match tx.read(&slot)? {
                    None => tx.write(&slot, Some(item)),
                    Some(_) => tx.retry(),
                })
            })
        })
        .collect();
    for p in producers {
        p.join().unwrap();
    }
    assert_eq!(consumer.join().unwrap(), 3);
}

#[test]
fn retry_or_else_random() {
    check_random(retry_and_or_else_hand_items_over, ITERATIONS);
}

#[test]
fn retry_or_else_pct() {
    check_pct(retry_and_or_else_hand_items_over, ITERATIONS, PCT_DEPTH);
}
