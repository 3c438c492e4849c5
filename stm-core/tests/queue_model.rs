//! proptest: random queues of items over shared TVars, including items that
//! add items, against a plain sequential loop over a `VecDeque`.
//!
//! `run_ordered()` on 2 workers must give exactly the loop's state and
//! order, even for order-dependent items. `run()` is checked on commutative
//! items, whose every serial order gives the same final state: the state
//! must equal the loop's, and each item must be applied exactly once.

use proptest::prelude::*;
use std::collections::VecDeque;
use stm_core::transaction::{ItemTx, TransactionQueue};
use stm_core::{Std, Stm, TVar, TxError};

const VARS: usize = 3;

#[derive(Debug, Clone)]
enum Op {
    Add(usize, i64),
    Transfer(usize, usize, i64),
    /// `vars[v] = vars[v] * 3 + vars[u]`: the result depends on the order.
    Mix(usize, usize),
}

#[derive(Debug, Clone)]
struct ItemSpec {
    label: u32,
    ops: Vec<Op>,
    children: Vec<ItemSpec>,
}

fn op(commutative_only: bool) -> BoxedStrategy<Op> {
    let add = (0..VARS, -9i64..10).prop_map(|(v, d)| Op::Add(v, d));
    let transfer = (0..VARS, 0..VARS, 0i64..5).prop_map(|(a, b, n)| Op::Transfer(a, b, n));
    if commutative_only {
        prop_oneof![add, transfer].boxed()
    } else {
        let mix = (0..VARS, 0..VARS).prop_map(|(v, u)| Op::Mix(v, u));
        prop_oneof![add, transfer, mix].boxed()
    }
}

fn item(commutative_only: bool, depth: u32) -> BoxedStrategy<ItemSpec> {
    let ops = prop::collection::vec(op(commutative_only), 0..4);
    if depth == 0 {
        ops.prop_map(|ops| ItemSpec {
            label: 0,
            ops,
            children: vec![],
        })
        .boxed()
    } else {
        (
            ops,
            prop::collection::vec(item(commutative_only, depth - 1), 0..3),
        )
            .prop_map(|(ops, children)| ItemSpec {
                label: 0,
                ops,
                children,
            })
            .boxed()
    }
}

/// Items with unique labels, two levels of added items at most.
fn items(commutative_only: bool) -> impl Strategy<Value = Vec<ItemSpec>> {
    prop::collection::vec(item(commutative_only, 2), 1..12).prop_map(|mut items| {
        let mut next = 0;
        fn label(item: &mut ItemSpec, next: &mut u32) {
            item.label = *next;
            *next += 1;
            for child in &mut item.children {
                label(child, next);
            }
        }
        for item in &mut items {
            label(item, &mut next);
        }
        items
    })
}

fn apply(state: &mut [i64], ops: &[Op]) {
    for op in ops {
        match *op {
            Op::Add(v, d) => state[v] += d,
            Op::Transfer(a, b, n) => {
                state[a] -= n;
                state[b] += n;
            }
            Op::Mix(v, u) => state[v] = state[v].wrapping_mul(3).wrapping_add(state[u]),
        }
    }
}

/// The reference: a FIFO loop; an item's children go to the back.
fn sequential(items: &[ItemSpec]) -> (Vec<i64>, Vec<u32>) {
    let mut state = vec![0i64; VARS];
    let mut log = Vec::new();
    let mut queue: VecDeque<&ItemSpec> = items.iter().collect();
    while let Some(item) = queue.pop_front() {
        apply(&mut state, &item.ops);
        log.push(item.label);
        queue.extend(item.children.iter());
    }
    (state, log)
}

type Queue<'env> = TransactionQueue<'env, Std, String>;

fn body(
    spec: ItemSpec,
    vars: Vec<TVar<i64>>,
    log: TVar<Vec<u32>>,
) -> impl FnMut(&mut ItemTx<'_, '_, Std, String>) -> Result<(), TxError<String>> + Send + 'static {
    move |tx| {
        for op in &spec.ops {
            match *op {
                Op::Add(v, d) => tx.modify(&vars[v], |x| x + d)?,
                Op::Transfer(a, b, n) => {
                    tx.modify(&vars[a], |x| x - n)?;
                    tx.modify(&vars[b], |x| x + n)?;
                }
                Op::Mix(v, u) => {
                    let other = tx.read(&vars[u])?;
                    tx.modify(&vars[v], |x| x.wrapping_mul(3).wrapping_add(other))?;
                }
            }
        }
        tx.modify(&log, |mut l| {
            l.push(spec.label);
            l
        })?;
        for child in &spec.children {
            tx.add(body(child.clone(), vars.clone(), log.clone()));
        }
        Ok(())
    }
}

fn run_queue(items: &[ItemSpec], ordered: bool) -> (Vec<i64>, Vec<u32>, u64) {
    let stm = Stm::new();
    let vars: Vec<TVar<i64>> = (0..VARS).map(|_| stm.new_tvar(0)).collect();
    let log = stm.new_tvar(Vec::new());
    let mut queue = Queue::with_runtime_and_error_type(&stm).workers(2);
    for spec in items {
        queue.add(body(spec.clone(), vars.clone(), log.clone()));
    }
    let summary = if ordered {
        queue.run_ordered()
    } else {
        queue.run()
    }
    .unwrap();
    (
        vars.iter().map(TVar::load).collect(),
        log.load(),
        summary.committed,
    )
}

proptest! {
    #[test]
    fn run_ordered_equals_the_sequential_loop(items in items(false)) {
        let (state, log) = sequential(&items);
        let (got_state, got_log, committed) = run_queue(&items, true);
        prop_assert_eq!(got_state, state);
        prop_assert_eq!(&got_log, &log);
        prop_assert_eq!(committed, log.len() as u64);
    }

    #[test]
    fn run_applies_every_item_once_in_some_serial_order(items in items(true)) {
        let (state, log) = sequential(&items);
        let (got_state, mut got_log, committed) = run_queue(&items, false);
        prop_assert_eq!(got_state, state);
        prop_assert_eq!(committed, log.len() as u64);
        got_log.sort_unstable();
        let mut expected: Vec<u32> = (0..log.len() as u32).collect();
        expected.sort_unstable();
        prop_assert_eq!(got_log, expected, "each item exactly once");
    }
}
