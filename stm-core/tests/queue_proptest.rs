//! proptest: random queues of small programs over a few TVars, mixing
//! reads, non-commutative read-modify-writes (x = 3x + c), commutes
//! (x += c at commit) and reads that feed a write of another TVar, run on
//! two workers. An ordered run must end exactly where the plain loop over
//! the items ends (a sequential interpreter of the same programs); an
//! unordered run where the loop over the items in the order they committed
//! ends.

use proptest::prelude::*;
use stm_core::transaction::{ItemId, TransactionQueue};
use stm_core::{Stm, TVar};

/// Most TVars a case uses (each case picks 3 to this many).
const MAX_VARS: usize = 5;

/// Spin-loop iterations after each operation of an item.
const WORK: u32 = 20_000;

#[derive(Debug, Clone, Copy)]
enum Op {
    /// Read the TVar (the value is only observed).
    Read(usize),
    /// x = 3x + c: the order of two of these matters.
    Modify(usize, i64),
    /// x += c, applied at commit.
    Commute(usize, i64),
    /// to = from + c: a read whose value feeds another TVar's write.
    Copy { from: usize, to: usize, c: i64 },
}

fn op(vars: usize) -> impl Strategy<Value = Op> {
    prop_oneof![
        1 => (0..vars).prop_map(Op::Read),
        1 => (0..vars, -9i64..10).prop_map(|(v, c)| Op::Modify(v, c)),
        3 => (0..vars, -9i64..10).prop_map(|(v, c)| Op::Commute(v, c)),
        1 => (0..vars, 0..vars, -9i64..10).prop_map(|(from, to, c)| Op::Copy { from, to, c }),
    ]
}

/// A queue: the number of TVars and up to 40 items, each a program of 1
/// to 5 operations.
fn queue_of_programs() -> impl Strategy<Value = (usize, Vec<Vec<Op>>)> {
    (3..=MAX_VARS).prop_flat_map(|vars| {
        (
            Just(vars),
            prop::collection::vec(prop::collection::vec(op(vars), 1..=5), 1..=40),
        )
    })
}

/// The reference: one program on plain values, as a transaction would run
/// it alone (a read after a commute sees the commute applied).
fn interpret(state: &mut [i64], program: &[Op]) {
    for &op in program {
        match op {
            Op::Read(_) => {}
            Op::Modify(v, c) => state[v] = state[v].wrapping_mul(3).wrapping_add(c),
            Op::Commute(v, c) => state[v] = state[v].wrapping_add(c),
            Op::Copy { from, to, c } => state[to] = state[from].wrapping_add(c),
        }
    }
}

/// The state the items leave when run one after another in `order`.
fn serial_state(
    vars: usize,
    items: &[Vec<Op>],
    order: impl IntoIterator<Item = usize>,
) -> Vec<i64> {
    let mut state = initial(vars);
    for i in order {
        interpret(&mut state, &items[i]);
    }
    state
}

fn initial(vars: usize) -> Vec<i64> {
    (0..vars as i64).map(|v| v * 7 + 1).collect()
}

/// Runs the items on a fresh runtime with two workers, ordered or not;
/// returns the final state and the items in commit order.
fn run_queue(vars: usize, items: &[Vec<Op>], ordered: bool) -> (Vec<i64>, Vec<ItemId>) {
    let stm = Stm::new();
    let tvars: Vec<TVar<i64>> = initial(vars).into_iter().map(|v| stm.new_tvar(v)).collect();
    let mut queue = TransactionQueue::with_runtime(&stm).workers(2);
    for program in items {
        let (program, tvars) = (program.clone(), tvars.clone());
        queue.add(move |tx| {
            for &op in &program {
                match op {
                    Op::Read(v) => {
                        tx.read(&tvars[v])?;
                    }
                    Op::Modify(v, c) => {
                        tx.modify(&tvars[v], |x| x.wrapping_mul(3).wrapping_add(c))?
                    }
                    Op::Commute(v, c) => tx.commute(&tvars[v], move |x| x.wrapping_add(c))?,
                    Op::Copy { from, to, c } => {
                        let x = tx.read(&tvars[from])?;
                        tx.write(&tvars[to], x.wrapping_add(c))?;
                    }
                }
                // Some work between accesses, so that the workers' items
                // overlap and conflict (else one worker often runs them all).
                for i in 0..WORK {
                    std::hint::black_box(i);
                }
            }
            Ok(())
        });
    }
    let summary = if ordered {
        queue.run_ordered()
    } else {
        queue.run()
    }
    .expect("no item fails");
    assert_eq!(summary.committed, items.len() as u64);
    let state = tvars.iter().map(TVar::load).collect();
    (state, queue.last_committed().to_vec())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn an_ordered_run_equals_the_loop_over_the_items((vars, items) in queue_of_programs()) {
        let (state, committed) = run_queue(vars, &items, true);
        prop_assert_eq!(&state, &serial_state(vars, &items, 0..items.len()));
        let in_order: Vec<ItemId> = (0..items.len() as u64).map(ItemId).collect();
        prop_assert_eq!(committed, in_order);
    }

    #[test]
    fn a_run_equals_the_loop_in_commit_order((vars, items) in queue_of_programs()) {
        let (state, committed) = run_queue(vars, &items, false);
        let mut order: Vec<usize> = committed.iter().map(|id| id.0 as usize).collect();
        prop_assert_eq!(&state, &serial_state(vars, &items, order.iter().copied()));
        order.sort_unstable();
        prop_assert_eq!(order, (0..items.len()).collect::<Vec<_>>(), "each item commits once");
    }
}
