//! A hot counter, updated by four threads in transactions that also do
//! some work of their own: first with `tx.modify` (a
//! read-modify-write, so concurrent updates conflict and the conflict
//! report suggests `tx.commute`), then with `tx.commute` (no read, so no
//! conflicts but the rare commit that waited too long for another's lock).
//!
//! `cargo run --release -p stm-core --example hot_counter`

use stm_core::{Stm, StmConfig, TVar, Transaction};

const THREADS: u64 = 4;
const UPDATES: u64 = 50_000;

/// The rest of a transaction's work, after it updated the counter.
fn other_work() {
    for i in 0..2_000 {
        std::hint::black_box(i);
    }
}

fn run(update: fn(&mut Transaction<'_>, &TVar<u64>) -> Result<(), stm_core::StmError>) {
    let stm = Stm::with_config(StmConfig {
        conflict_reports: true,
        ..StmConfig::default()
    });
    let hits = stm.new_tvar(0_u64);
    hits.set_label("the hot counter");
    let threads: Vec<_> = (0..THREADS)
        .map(|_| {
            let (stm2, hits) = (stm.clone(), hits.clone());
            stm.spawn(move || {
                for _ in 0..UPDATES {
                    stm2.atomically(|tx| {
                        update(tx, &hits)?;
                        other_work();
                        Ok(())
                    });
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(hits.load(), THREADS * UPDATES);
    println!("{}", stm.stats());
    print!("{}", stm.conflict_report());
}

fn main() {
    println!("with tx.modify:");
    run(|tx, hits| tx.modify(hits, |n| n + 1));
    println!("\nwith tx.commute:");
    run(|tx, hits| tx.commute(hits, |n| n + 1));
}
