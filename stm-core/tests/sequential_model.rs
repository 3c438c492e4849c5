//! proptest: a random program of transactions on one thread gives exactly
//! the results and final state of a plain sequential model (values in a
//! `Vec`, no transactions), including user aborts and `or_else` alternatives
//! whose discarded writes must leave no trace.

use proptest::prelude::*;
use stm_core::{Stm, StmError, TVar, Transaction, TxError};

const VARS: usize = 4;

#[derive(Debug, Clone)]
enum Op {
    Read(usize),
    Write(usize, i64),
    Add(usize, i64),
    Transfer {
        from: usize,
        to: usize,
        amount: i64,
    },
    /// Give up with a user error if the TVar is negative.
    AbortIfNegative(usize),
    /// Run `first`; if it retries (it does when `var` is even after running
    /// its ops), discard its writes and run `second`.
    OrElse {
        first: Vec<Op>,
        retry_if_even: usize,
        second: Vec<Op>,
    },
}

fn simple_op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0..VARS).prop_map(Op::Read),
        (0..VARS, -5i64..5).prop_map(|(v, c)| Op::Write(v, c)),
        (0..VARS, -5i64..5).prop_map(|(v, d)| Op::Add(v, d)),
        (0..VARS, 0..VARS, 0i64..5).prop_map(|(from, to, amount)| Op::Transfer {
            from,
            to,
            amount
        }),
        (0..VARS).prop_map(Op::AbortIfNegative),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => simple_op(),
        1 => (
            prop::collection::vec(simple_op(), 0..4),
            0..VARS,
            prop::collection::vec(simple_op(), 0..4)
        )
            .prop_map(|(first, retry_if_even, second)| Op::OrElse { first, retry_if_even, second }),
    ]
}

/// Why the sequential model stopped a transaction early.
#[derive(Debug, PartialEq)]
enum Stop {
    Retry,
    Abort(usize),
}

/// The reference: runs `ops` on plain values; returns the sum of values read.
fn run_model(state: &mut Vec<i64>, ops: &[Op]) -> Result<i64, Stop> {
    let mut observed = 0;
    for op in ops {
        match op {
            Op::Read(v) => observed += state[*v],
            Op::Write(v, c) => state[*v] = *c,
            Op::Add(v, d) => state[*v] += d,
            Op::Transfer { from, to, amount } => {
                state[*from] -= amount;
                state[*to] += amount;
            }
            Op::AbortIfNegative(v) => {
                if state[*v] < 0 {
                    return Err(Stop::Abort(*v));
                }
            }
            Op::OrElse {
                first,
                retry_if_even,
                second,
            } => {
                let mut trial = state.clone();
                let first_outcome = run_model(&mut trial, first).and_then(|seen| {
                    if trial[*retry_if_even] % 2 == 0 {
                        Err(Stop::Retry)
                    } else {
                        Ok(seen)
                    }
                });
                match first_outcome {
                    Ok(seen) => {
                        *state = trial;
                        observed += seen;
                    }
                    Err(Stop::Retry) => observed += run_model(state, second)?,
                    Err(abort) => return Err(abort),
                }
            }
        }
    }
    Ok(observed)
}

/// The same program through the engine.
fn run_engine(
    tx: &mut Transaction<'_>,
    vars: &[TVar<i64>],
    ops: &[Op],
) -> Result<i64, TxError<usize>> {
    let mut observed = 0;
    for op in ops {
        match op {
            Op::Read(v) => observed += tx.read(&vars[*v])?,
            Op::Write(v, c) => tx.write(&vars[*v], *c)?,
            Op::Add(v, d) => tx.modify(&vars[*v], |x| x + d)?,
            Op::Transfer { from, to, amount } => {
                tx.modify(&vars[*from], |x| x - amount)?;
                tx.modify(&vars[*to], |x| x + amount)?;
            }
            Op::AbortIfNegative(v) => {
                if tx.read(&vars[*v])? < 0 {
                    return Err(TxError::Abort(*v));
                }
            }
            Op::OrElse {
                first,
                retry_if_even,
                second,
            } => {
                observed += tx.or_else(
                    |tx| {
                        let seen = run_engine(tx, vars, first)?;
                        if tx.read(&vars[*retry_if_even])? % 2 == 0 {
                            return Err(TxError::Stm(StmError::Retry));
                        }
                        Ok(seen)
                    },
                    |tx| run_engine(tx, vars, second),
                )?;
            }
        }
    }
    Ok(observed)
}

/// A second alternative that retries would retry the whole transaction,
/// which on one thread blocks forever; the generator never makes one, since
/// `second` holds only simple ops.
fn program() -> impl Strategy<Value = (Vec<i64>, Vec<Vec<Op>>)> {
    (
        prop::collection::vec(-3i64..3, VARS),
        prop::collection::vec(prop::collection::vec(op(), 0..8), 1..12),
    )
}

proptest! {
    #[test]
    fn transactions_match_the_sequential_model((initial, transactions) in program()) {
        let stm = Stm::new();
        let vars: Vec<TVar<i64>> = initial.iter().map(|&v| stm.new_tvar(v)).collect();
        let mut model = initial.clone();
        let mut expected_commits = 0;
        let mut expected_aborts = 0;
        for ops in &transactions {
            let mut trial = model.clone();
            let expected = match run_model(&mut trial, ops) {
                Ok(seen) => {
                    model = trial;
                    expected_commits += 1;
                    Ok(seen)
                }
                Err(Stop::Abort(v)) => {
                    expected_aborts += 1;
                    Err(v)
                }
                Err(Stop::Retry) => unreachable!("only or_else's first alternative retries"),
            };
            let actual = stm.try_atomically(|tx| run_engine(tx, &vars, ops));
            prop_assert_eq!(actual, expected);
            let state: Vec<i64> = vars.iter().map(TVar::load).collect();
            prop_assert_eq!(&state, &model);
        }
        let stats = stm.stats();
        prop_assert_eq!(stats.commits, expected_commits);
        prop_assert_eq!(stats.user_aborts, expected_aborts);
        prop_assert_eq!(stats.conflict_aborts(), 0);
    }
}
