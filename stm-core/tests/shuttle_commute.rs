//! `tx.commute` under shuttle's random and PCT schedulers, with more
//! threads than loom can explore: commuting adders and a doubler that reads
//! (a read-modify-write) on one TVar end in the state of some serial order;
//! threads that only commute never abort one another; and with the injected
//! bug `commute-stale` the serial-order check fails.

use shuttle::{check_pct, check_random};
use stm_core::{InjectedBug, ShuttlePlatform, Stm, StmConfig};

type Runtime = Stm<ShuttlePlatform>;

const ITERATIONS: usize = 2_000;
const PCT_DEPTH: usize = 3;

/// The adders' amounts (one thread each).
const ADDS: [i64; 3] = [1, 10, 100];

/// Every final value a serial order of the adders and one doubling of `x`
/// (starting from 1) can give: the doubling sees the adds before it.
fn serial_results() -> Vec<i64> {
    (0..1u32 << ADDS.len())
        .map(|before| {
            let (mut early, mut late) = (0, 0);
            for (i, add) in ADDS.iter().enumerate() {
                if before & (1 << i) != 0 {
                    early += add;
                } else {
                    late += add;
                }
            }
            (1 + early) * 2 + late
        })
        .collect()
}

/// Three threads commute their amount onto `x`, and onto `count` once
/// each; a fourth doubles `x` with a read-modify-write. The final `x` must
/// be a serial order's and no commuted update may be lost.
fn adders_and_a_doubler(stm: Runtime) {
    let x = stm.new_tvar(1i64);
    let count = stm.new_tvar(0u32);
    let mut threads: Vec<_> = ADDS
        .into_iter()
        .map(|add| {
            let (stm2, x, count) = (stm.clone(), x.clone(), count.clone());
            stm.spawn(move || {
                stm2.atomically(|tx| {
                    tx.commute(&x, move |n| n + add)?;
                    tx.commute(&count, |n| n + 1)
                })
            })
        })
        .collect();
    threads.push({
        let (stm2, x) = (stm.clone(), x.clone());
        stm.spawn(move || stm2.atomically(|tx| tx.modify(&x, |n| n * 2)))
    });
    for t in threads {
        t.join().unwrap();
    }
    let serial = serial_results();
    assert!(
        serial.contains(&x.load()),
        "x = {}, not the result of a serial order {serial:?}: an update was lost",
        x.load()
    );
    assert_eq!(count.load(), 3, "a commuted update was lost");
}

/// Three threads each commit two transactions that only commute one TVar:
/// no attempt aborts. Under PCT this is deterministic: a commit that finds
/// the TVar locked yields, which lowers its priority below the lock
/// holder's, so the holder unlocks well within the bounded wait.
fn commuters_never_abort() {
    let stm = Runtime::for_platform();
    let total = stm.new_tvar(0u64);
    let threads: Vec<_> = (1..=3u64)
        .map(|t| {
            let (stm2, total) = (stm.clone(), total.clone());
            stm.spawn(move || {
                for _ in 0..2 {
                    stm2.atomically(|tx| tx.commute(&total, move |n| n + t));
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(total.load(), 2 * (1 + 2 + 3));
    let stats = stm.stats();
    assert_eq!(stats.conflict_aborts(), 0, "commutes conflicted: {stats}");
    assert_eq!(stats.attempts, 6);
}

fn correct() -> Runtime {
    Runtime::for_platform()
}

fn commute_stale() -> Runtime {
    Runtime::with_injected_bug(StmConfig::default(), None, InjectedBug::CommuteStale)
}

#[test]
fn adders_and_a_doubler_random() {
    check_random(|| adders_and_a_doubler(correct()), ITERATIONS);
}

#[test]
fn adders_and_a_doubler_pct() {
    check_pct(|| adders_and_a_doubler(correct()), ITERATIONS, PCT_DEPTH);
}

#[test]
fn adders_and_a_doubler_in_serial_mode_pct() {
    let serial_after_one_conflict = || {
        Runtime::for_platform_with_config(StmConfig {
            irrevocable_after: 1,
            ..StmConfig::default()
        })
    };
    check_pct(
        move || adders_and_a_doubler(serial_after_one_conflict()),
        ITERATIONS,
        PCT_DEPTH,
    );
}

#[test]
fn commuters_never_abort_pct() {
    check_pct(commuters_never_abort, ITERATIONS, PCT_DEPTH);
}

#[test]
#[should_panic(expected = "an update was lost")]
fn commute_stale_is_caught_pct() {
    check_pct(
        || adders_and_a_doubler(commute_stale()),
        ITERATIONS,
        PCT_DEPTH,
    );
}
