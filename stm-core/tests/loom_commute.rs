//! Loom models of `tx.commute`: commutes racing commutes, a commute racing a
//! read-modify-write (also in serial mode), and an auditor reading two TVars
//! that a commit commutes together. Each checks the final state against the serial
//! orders, and the first that commutes never make each other abort. The
//! same models run on a runtime with the injected bug `commute-stale`
//! (updates applied to the value seen when the commute was made, not at
//! commit), and must fail there.

use loom::model::Builder;
use stm_core::{InjectedBug, LoomPlatform, Stm, StmConfig};

type Runtime = Stm<LoomPlatform>;

/// Makes the runtime of one execution (correct, or with the bug).
type MakeRuntime = fn() -> Runtime;

fn config() -> StmConfig {
    StmConfig {
        // Conflicts are bounded by the preemption bound; serial mode has
        // models of its own.
        irrevocable_after: u32::MAX,
        ..StmConfig::default()
    }
}

fn correct() -> Runtime {
    Runtime::for_platform_with_config(config())
}

fn commute_stale() -> Runtime {
    Runtime::with_injected_bug(config(), None, InjectedBug::CommuteStale)
}

fn model(f: impl Fn() + Sync + Send + 'static) {
    let mut builder = Builder::new();
    builder.max_branches = 10_000;
    if builder.preemption_bound.is_none() {
        builder.preemption_bound = Some(3);
    }
    builder.check(f);
}

/// Two threads commute +1 and +10 on one TVar: both updates land, and
/// neither commit aborts (a commute is not a read, and a locked commuted
/// TVar is waited for).
fn two_commutes(make: MakeRuntime) {
    model(move || {
        let stm = make();
        let total = stm.new_tvar(0u32);
        let other = {
            let (stm2, total) = (stm.clone(), total.clone());
            stm.spawn(move || stm2.atomically(|tx| tx.commute(&total, |n| n + 1)))
        };
        stm.atomically(|tx| tx.commute(&total, |n| n + 10));
        other.join().unwrap();
        assert_eq!(total.load(), 11, "a commuted update was lost");
        let stats = stm.stats();
        assert_eq!(stats.conflict_aborts(), 0, "commutes conflicted: {stats}");
    });
}

/// A commute (+10) races a read-modify-write (x * 3) of the same TVar:
/// the result is one of the two serial orders'.
fn commute_against_modify(make: MakeRuntime) {
    model(move || {
        let stm = make();
        let x = stm.new_tvar(2u32);
        let other = {
            let (stm2, x) = (stm.clone(), x.clone());
            stm.spawn(move || stm2.atomically(|tx| tx.modify(&x, |n| n * 3)))
        };
        stm.atomically(|tx| tx.commute(&x, |n| n + 10));
        other.join().unwrap();
        let serial = [(2 + 10) * 3, 2 * 3 + 10];
        assert!(
            serial.contains(&x.load()),
            "x = {}, not a serial result {serial:?}: an update was lost",
            x.load()
        );
    });
}

/// A commit moves 4 from x to y with two commutes while an auditor reads
/// both: every attempt sees the total (the commuted values are published
/// together), and the final state is the move's.
fn commuted_move_against_auditor(make: MakeRuntime) {
    model(move || {
        let stm = make();
        let x = stm.new_tvar(10i64);
        let y = stm.new_tvar(0i64);
        let mover = {
            let (stm2, x, y) = (stm.clone(), x.clone(), y.clone());
            stm.spawn(move || {
                stm2.atomically(|tx| {
                    tx.commute(&x, |n| n - 4)?;
                    tx.commute(&y, |n| n + 4)
                })
            })
        };
        let seen = stm.atomically(|tx| {
            let (a, b) = (tx.read(&x)?, tx.read(&y)?);
            assert_eq!(a + b, 10, "auditor saw half a commit");
            Ok(a)
        });
        mover.join().unwrap();
        assert!(seen == 10 || seen == 6, "auditor saw x = {seen}");
        assert_eq!((x.load(), y.load()), (6, 4));
    });
}

#[test]
fn two_commutes_on_one_tvar() {
    two_commutes(correct);
}

#[test]
fn a_commute_against_a_read_modify_write() {
    commute_against_modify(correct);
}

#[test]
fn a_commuted_move_against_an_auditor() {
    commuted_move_against_auditor(correct);
}

/// Serial mode: a read-modify-write that runs irrevocably after one
/// conflict, against another thread's two commuting commits, which must
/// wait for it; every update lands.
#[test]
fn commutes_against_serial_mode() {
    model(|| {
        let stm = Runtime::for_platform_with_config(StmConfig {
            irrevocable_after: 1,
            ..StmConfig::default()
        });
        let x = stm.new_tvar(0u32);
        let commuter = {
            let (stm2, x) = (stm.clone(), x.clone());
            stm.spawn(move || {
                for _ in 0..2 {
                    stm2.atomically(|tx| tx.commute(&x, |n| n + 10));
                }
            })
        };
        stm.atomically(|tx| tx.modify(&x, |n| n + 1));
        commuter.join().unwrap();
        assert_eq!(x.load(), 21);
    });
}

#[test]
#[should_panic(expected = "a commuted update was lost")]
fn commute_stale_is_caught_by_two_commutes() {
    two_commutes(commute_stale);
}

#[test]
#[should_panic(expected = "an update was lost")]
fn commute_stale_is_caught_by_a_commute_against_a_read_modify_write() {
    commute_against_modify(commute_stale);
}
