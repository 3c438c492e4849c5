//! Every history recorded from real engine runs is accepted by the checker:
//! random workloads on std threads and under shuttle's random and PCT
//! schedulers, with conflicts, user aborts and serial mode, and the
//! transaction queue in both modes.

use proptest::prelude::*;
use std::sync::Arc;
use stm_check::history::{check, History};
use stm_check::record::HistoryRecorder;
use stm_core::transaction::TransactionQueue;
use stm_core::{Platform, ShuttlePlatform, Std, Stm, StmConfig, TVar, TxError};

const VARS: usize = 3;

#[derive(Debug, Clone)]
enum Op {
    Read(usize),
    Write(usize, i64),
    Add(usize, i64),
    Transfer(usize, usize, i64),
    /// Give up with a user error if the TVar is negative.
    AbortIfNegative(usize),
}

type Program = Vec<Vec<Vec<Op>>>; // threads -> transactions -> ops

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0..VARS).prop_map(Op::Read),
        (0..VARS, -3i64..4).prop_map(|(v, c)| Op::Write(v, c)),
        (0..VARS, -3i64..4).prop_map(|(v, d)| Op::Add(v, d)),
        (0..VARS, 0..VARS, 1i64..3).prop_map(|(a, b, n)| Op::Transfer(a, b, n)),
        (0..VARS).prop_map(Op::AbortIfNegative),
    ]
}

fn program(threads: std::ops::Range<usize>, txs: usize) -> impl Strategy<Value = Program> {
    prop::collection::vec(
        prop::collection::vec(prop::collection::vec(op(), 1..5), 1..=txs),
        threads,
    )
}

fn run_transaction<P: Platform>(stm: &Stm<P>, vars: &[TVar<i64, P>], ops: &[Op]) {
    let _ = stm.try_atomically(|tx| {
        for op in ops {
            match *op {
                Op::Read(v) => {
                    tx.read(&vars[v])?;
                }
                Op::Write(v, c) => tx.write(&vars[v], c)?,
                Op::Add(v, d) => tx.modify(&vars[v], |x| x + d)?,
                Op::Transfer(a, b, n) => {
                    tx.modify(&vars[a], |x| x - n)?;
                    tx.modify(&vars[b], |x| x + n)?;
                }
                Op::AbortIfNegative(v) => {
                    if tx.read(&vars[v])? < 0 {
                        return Err(TxError::Abort(()));
                    }
                }
            }
        }
        Ok(())
    });
}

/// Runs `program` on platform `P` with a recorder; returns the history.
fn record_run<P: Platform>(program: &Program, config: StmConfig) -> History {
    let recorder = Arc::new(HistoryRecorder::new());
    let stm = Stm::<P>::for_platform_with_recorder(config, recorder.clone());
    let vars: Vec<TVar<i64, P>> = (0..VARS).map(|_| stm.new_tvar(0)).collect();
    for var in &vars {
        recorder.set_initial(var.id(), 0);
    }
    let threads: Vec<_> = program
        .iter()
        .cloned()
        .map(|transactions| {
            let (stm2, vars) = (stm.clone(), vars.clone());
            stm.spawn(move || {
                for ops in &transactions {
                    run_transaction(&stm2, &vars, ops);
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    recorder.history()
}

fn assert_valid(history: &History) {
    let report = check(history).expect("a recorded history is well-formed");
    let mut text = String::new();
    report.write_text(&mut text, 5).unwrap();
    assert!(
        report.is_valid(),
        "recorded history rejected:\n{text}\n{}",
        history.to_json_string()
    );
}

fn serial_after_one_conflict() -> StmConfig {
    StmConfig {
        irrevocable_after: 1,
        ..StmConfig::default()
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn std_thread_histories_are_accepted(program in program(2..4, 40)) {
        let history = record_run::<Std>(&program, StmConfig::default());
        let attempts: usize = program.iter().map(Vec::len).sum();
        prop_assert!(history.transactions.len() >= attempts);
        assert_valid(&history);
        assert_valid(&record_run::<Std>(&program, serial_after_one_conflict()));
    }

    #[test]
    fn shuttle_histories_are_accepted(program in program(2..4, 4)) {
        let program = Arc::new(program);
        let p = program.clone();
        shuttle::check_random(move || assert_valid(&record_run::<ShuttlePlatform>(&p, StmConfig::default())), 30);
        let p = program.clone();
        shuttle::check_pct(move || assert_valid(&record_run::<ShuttlePlatform>(&p, serial_after_one_conflict())), 30, 3);
    }
}

/// The queue's items, in both modes, record valid histories too.
#[test]
fn queue_histories_are_accepted() {
    for ordered in [false, true] {
        let recorder = Arc::new(HistoryRecorder::new());
        let stm = Stm::with_recorder(StmConfig::default(), recorder.clone());
        let counter = stm.new_tvar(0i64);
        let pair = [stm.new_tvar(10i64), stm.new_tvar(10i64)];
        for v in [&counter, &pair[0], &pair[1]] {
            recorder.set_initial(v.id(), if v.id() == counter.id() { 0 } else { 10 });
        }
        let mut queue =
            TransactionQueue::<Std, String>::with_runtime_and_error_type(&stm).workers(2);
        for i in 0..500i64 {
            let (counter, pair) = (counter.clone(), pair.clone());
            queue.add(move |tx| {
                tx.modify(&counter, |c| c + 1)?;
                let (from, to) = (&pair[(i % 2) as usize], &pair[1 - (i % 2) as usize]);
                tx.modify(from, |x| x - 1)?;
                tx.modify(to, |x| x + 1)?;
                Ok(())
            });
        }
        if ordered {
            queue.run_ordered()
        } else {
            queue.run()
        }
        .unwrap();
        let history = recorder.history();
        let committed = history
            .transactions
            .iter()
            .filter(|t| t.commit_version.is_some())
            .count();
        // A worker may commit a few consecutive items in one transaction.
        assert!((1..=500).contains(&committed), "{committed} commits");
        assert_eq!(counter.load(), 500);
        assert_valid(&history);
    }
}
