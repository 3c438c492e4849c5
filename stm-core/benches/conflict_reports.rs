//! The cost of conflict reports: the same transfers with recording off and
//! on, on one thread (no conflicts: the pure bookkeeping cost) and on two
//! threads over a few hot accounts (conflicts: the cost of recording them).

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::time::Duration;
use stm_core::{Stm, StmConfig, TVar};

const TRANSFERS: u64 = 10_000;

fn transfers(stm: &Stm, accounts: &[TVar<i64>], thread: u64) {
    let n = accounts.len() as u64;
    for i in 0..TRANSFERS {
        let from = ((i * 7 + thread) % n) as usize;
        let to = ((i * 13 + thread + 1) % n) as usize;
        if from == to {
            continue;
        }
        stm.atomically(|tx| {
            let a = tx.read(&accounts[from])?;
            tx.write(&accounts[from], a - 1)?;
            tx.modify(&accounts[to], |b| b + 1)
        });
    }
}

fn bench_reports(c: &mut Criterion) {
    let mut group = c.benchmark_group("conflict_reports");
    group.sample_size(20);
    group.measurement_time(Duration::from_secs(2));
    group.warm_up_time(Duration::from_millis(500));
    for (threads, accounts) in [(1u64, 1024usize), (2, 4)] {
        group.throughput(Throughput::Elements(TRANSFERS * threads));
        for enabled in [false, true] {
            let stm = Stm::with_config(StmConfig {
                conflict_reports: enabled,
                ..StmConfig::default()
            });
            let accounts: Vec<TVar<i64>> = (0..accounts).map(|_| stm.new_tvar(0)).collect();
            let name = format!(
                "{}/{threads}_threads_{}_accounts",
                if enabled { "on" } else { "off" },
                accounts.len()
            );
            group.bench_function(&name, |b| {
                b.iter(|| {
                    let helpers: Vec<_> = (1..threads)
                        .map(|t| {
                            let (stm2, accounts) = (stm.clone(), accounts.clone());
                            stm.spawn(move || transfers(&stm2, &accounts, t))
                        })
                        .collect();
                    transfers(&stm, &accounts, 0);
                    for h in helpers {
                        h.join().unwrap();
                    }
                })
            });
        }
    }
    group.finish();
}

criterion_group!(benches, bench_reports);
criterion_main!(benches);
