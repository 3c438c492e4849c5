//! The memory protocols under shuttle's random and PCT schedulers: boxed
//! values replaced while others clone them, TVars dropped while still in
//! other transactions' logs, a `retry` waiter whose TVar loses every other
//! handle. Shuttle explores many more schedules than loom can (at the price
//! of a sequentially consistent memory); run under AddressSanitizer, any
//! free that comes too early is reported where it happens
//! (`STM_INJECT_BUG=free-before-readers-leave` shows it; see README.md).

mod support {
    pub mod env_bug;
}

use shuttle::{check_pct, check_random};
use stm_core::{ShuttlePlatform, Stm, TVar};

type Runtime = Stm<ShuttlePlatform>;

const ITERATIONS: usize = 1_000;

fn boxed_transfers_and_an_auditor() {
    let stm: Runtime = support::env_bug::runtime();
    let accounts: Vec<TVar<Vec<i64>, ShuttlePlatform>> =
        (0..3).map(|_| stm.new_tvar(vec![10])).collect();
    let movers: Vec<_> = (0..2)
        .map(|t| {
            let (stm2, accounts) = (stm.clone(), accounts.clone());
            stm.spawn(move || {
                for i in 0..2 {
                    let (from, to) = (&accounts[(t + i) % 3], &accounts[(t + i + 1) % 3]);
                    stm2.atomically(|tx| {
                        let mut a = tx.read(from)?;
                        let mut b = tx.read(to)?;
                        a.push(-1);
                        b.push(1);
                        tx.write(from, a)?;
                        tx.write(to, b)
                    });
                }
            })
        })
        .collect();
    let total = stm.atomically(|tx| {
        let mut total = 0;
        for account in &accounts {
            total += tx.read(account)?.iter().sum::<i64>();
        }
        Ok(total)
    });
    assert_eq!(total, 30, "an audit saw a torn transfer");
    for mover in movers {
        mover.join().unwrap();
    }
    let total: i64 = accounts.iter().map(|a| a.load().iter().sum::<i64>()).sum();
    assert_eq!(total, 30);
}

fn tvars_dropped_while_logged() {
    let stm: Runtime = support::env_bug::runtime();
    let list: TVar<Vec<TVar<String, ShuttlePlatform>>, ShuttlePlatform> = stm.new_tvar(vec![
        stm.new_tvar("a".to_string()),
        stm.new_tvar("b".to_string()),
    ]);
    let replacer = {
        let (stm2, list) = (stm.clone(), list.clone());
        stm.spawn(move || {
            for round in 0..2 {
                let fresh = stm2.new_tvar(format!("new {round}"));
                stm2.atomically(|tx| {
                    let mut tvars = tx.read(&list)?;
                    tvars[round % 2] = fresh.clone();
                    tx.write(&list, tvars)
                });
            }
        })
    };
    let seen = stm.atomically(|tx| {
        let tvars = tx.read(&list)?;
        let mut texts = Vec::new();
        for tvar in &tvars {
            texts.push(tx.read(tvar)?);
        }
        Ok(texts)
    });
    assert_eq!(seen.len(), 2);
    replacer.join().unwrap();
    let texts: Vec<String> = list.load().iter().map(TVar::load).collect();
    assert_eq!(texts, ["new 0", "new 1"]);
}

fn a_waiter_on_a_tvar_losing_its_handles() {
    let stm: Runtime = support::env_bug::runtime();
    let mailbox: TVar<Option<String>, ShuttlePlatform> = stm.new_tvar(None);
    let waiter = {
        let (stm2, mailbox) = (stm.clone(), mailbox.clone());
        stm.spawn(move || {
            stm2.atomically(|tx| match tx.read(&mailbox)? {
                Some(text) => Ok(text),
                None => tx.retry(),
            })
        })
    };
    stm.atomically(|tx| tx.write(&mailbox, Some("hello".to_string())));
    drop(mailbox);
    assert_eq!(waiter.join().unwrap(), "hello");
}

#[test]
fn boxed_transfers_and_an_auditor_pct() {
    check_pct(boxed_transfers_and_an_auditor, ITERATIONS, 3);
}

#[test]
fn boxed_transfers_and_an_auditor_random() {
    check_random(boxed_transfers_and_an_auditor, ITERATIONS);
}

#[test]
fn tvars_dropped_while_logged_pct() {
    check_pct(tvars_dropped_while_logged, ITERATIONS, 3);
}

#[test]
fn tvars_dropped_while_logged_random() {
    check_random(tvars_dropped_while_logged, ITERATIONS);
}

#[test]
fn a_waiter_on_a_tvar_losing_its_handles_pct() {
    check_pct(a_waiter_on_a_tvar_losing_its_handles, ITERATIONS, 3);
}
