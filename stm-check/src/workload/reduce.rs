//! Shrinking candidates: every workload one step smaller than a given one
//! (an invariant, a thread, a transaction, an operation or an unused
//! variable fewer, or a simpler constant), each still valid. Which of them still fail is for the
//! explorer to find out ([`crate::explore`]).

use super::model::{Invariant, Op, Step, VarIndex, Workload};
use serde::Serialize;
use std::fmt;

/// How big a workload is, as shrinking counts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct WorkloadSize {
    /// Variables.
    pub variables: usize,
    /// Threads.
    pub threads: usize,
    /// Transactions: `atomically` steps and queue items.
    pub transactions: usize,
    /// Operations, those inside `or_else` branches included (an `or_else`
    /// counts one, plus its branches).
    pub operations: usize,
}

impl fmt::Display for WorkloadSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} threads, {} transactions, {} operations, {} variables",
            self.threads, self.transactions, self.operations, self.variables
        )
    }
}

/// What a reduction takes away or simplifies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReductionKind {
    /// An invariant is dropped (this one).
    Invariant(Invariant),
    /// A whole thread is removed.
    Thread,
    /// A step (a transaction, or a whole queue run) or a queue item is
    /// removed.
    Transaction,
    /// An operation is removed, or an `or_else` replaced by one branch.
    Operation,
    /// A constant is made simpler: an amount becomes 1 (or -1), a queue
    /// runs on one worker.
    Constant,
    /// The last variable is removed, as nothing refers to it any more.
    Variable,
}

/// One candidate of [`Workload::reductions`].
#[derive(Debug, Clone)]
pub struct Reduction {
    /// What it changes.
    pub kind: ReductionKind,
    /// Where, in words (`remove thread 1 step 0`).
    pub description: String,
    /// The smaller workload.
    pub workload: Workload,
}

/// Calls `f` with every variable `ops` refer to.
fn ops_vars(ops: &[Op], f: &mut impl FnMut(VarIndex)) {
    for op in ops {
        match op {
            Op::Read(var)
            | Op::Write { var, .. }
            | Op::Add { var, .. }
            | Op::Commute { var, .. } => f(*var),
            Op::Panic => {}
            Op::Transfer { from, to, .. } => {
                f(*from);
                f(*to);
            }
            Op::Scan(vars) => vars.iter().for_each(|&v| f(v)),
            Op::RetryUnless(c) | Op::AbortUnless(c) | Op::Assert(c) => {
                c.sum.iter().for_each(|&v| f(v))
            }
            Op::OrElse { first, second } => {
                ops_vars(first, f);
                ops_vars(second, f);
            }
        }
    }
}

impl Workload {
    /// Whether an operation, a condition or an invariant refers to `var`.
    fn uses_var(&self, var: VarIndex) -> bool {
        let mut used = false;
        for (_, tx) in self.transactions() {
            ops_vars(&tx.ops, &mut |v| used |= v == var);
        }
        used || self.invariants.iter().any(|invariant| match invariant {
            Invariant::SumPreserved(vars) => vars.contains(&var),
            Invariant::Counter(v) | Invariant::Equals { var: v, .. } => *v == var,
            Invariant::EachAtLeast { vars, .. } => vars.contains(&var),
            Invariant::Holds(condition) => condition.sum.contains(&var),
        })
    }
}

fn count_ops(ops: &[Op]) -> usize {
    ops.iter()
        .map(|op| match op {
            Op::OrElse { first, second } => 1 + count_ops(first) + count_ops(second),
            _ => 1,
        })
        .sum()
}

/// The name of an operation, for descriptions.
fn op_name(op: &Op) -> &'static str {
    match op {
        Op::Read(_) => "read",
        Op::Write { .. } => "write",
        Op::Add { .. } => "add",
        Op::Commute { .. } => "commute",
        Op::Panic => "panic",
        Op::Transfer { .. } => "transfer",
        Op::Scan(_) => "scan",
        Op::RetryUnless(_) => "retry_unless",
        Op::AbortUnless(_) => "abort_unless",
        Op::Assert(_) => "assert",
        Op::OrElse { .. } => "or_else",
    }
}

/// Every list one step smaller or simpler than `ops`, with what changed.
/// `at_least_one`: the list must keep one operation (a transaction's; an
/// `or_else` branch may be empty).
fn smaller_ops(ops: &[Op], at_least_one: bool) -> Vec<(ReductionKind, String, Vec<Op>)> {
    let mut smaller = Vec::new();
    let replaced = |i: usize, with: &[Op]| -> Vec<Op> {
        let mut list = ops[..i].to_vec();
        list.extend_from_slice(with);
        list.extend_from_slice(&ops[i + 1..]);
        list
    };
    for (i, op) in ops.iter().enumerate() {
        if !at_least_one || ops.len() > 1 {
            smaller.push((
                ReductionKind::Operation,
                format!("op {i} ({})", op_name(op)),
                replaced(i, &[]),
            ));
        }
        match op {
            Op::OrElse { first, second } => {
                for (branch, name) in [(first, "first"), (second, "second")] {
                    let list = replaced(i, branch);
                    if !at_least_one || !list.is_empty() {
                        smaller.push((
                            ReductionKind::Operation,
                            format!("op {i} (or_else) replaced by its {name} branch"),
                            list,
                        ));
                    }
                }
                for (kind, what, list) in smaller_ops(first, false) {
                    let op = Op::OrElse {
                        first: list,
                        second: second.clone(),
                    };
                    smaller.push((
                        kind,
                        format!("op {i} (or_else) first: {what}"),
                        replaced(i, &[op]),
                    ));
                }
                for (kind, what, list) in smaller_ops(second, false) {
                    let op = Op::OrElse {
                        first: first.clone(),
                        second: list,
                    };
                    smaller.push((
                        kind,
                        format!("op {i} (or_else) second: {what}"),
                        replaced(i, &[op]),
                    ));
                }
            }
            Op::Add { var, amount } if amount.unsigned_abs() > 1 => {
                let op = Op::Add {
                    var: *var,
                    amount: amount.signum(),
                };
                smaller.push((
                    ReductionKind::Constant,
                    format!("op {i} (add) amount {amount} -> {}", amount.signum()),
                    replaced(i, &[op]),
                ));
            }
            Op::Commute { var, amount } if amount.unsigned_abs() > 1 => {
                let op = Op::Commute {
                    var: *var,
                    amount: amount.signum(),
                };
                smaller.push((
                    ReductionKind::Constant,
                    format!("op {i} (commute) amount {amount} -> {}", amount.signum()),
                    replaced(i, &[op]),
                ));
            }
            Op::Transfer { from, to, amount } if amount.unsigned_abs() > 1 => {
                let op = Op::Transfer {
                    from: *from,
                    to: *to,
                    amount: amount.signum(),
                };
                smaller.push((
                    ReductionKind::Constant,
                    format!("op {i} (transfer) amount {amount} -> {}", amount.signum()),
                    replaced(i, &[op]),
                ));
            }
            _ => {}
        }
    }
    smaller
}

impl Workload {
    /// How many threads, transactions and operations the workload has.
    ///
    /// ```
    /// use stm_check::workload::Workload;
    ///
    /// let size = Workload::builtin("write-skew").unwrap().size();
    /// assert_eq!((size.threads, size.transactions, size.operations, size.variables), (2, 2, 6, 2));
    /// ```
    pub fn size(&self) -> WorkloadSize {
        let transactions = self.transactions().count();
        let operations = self.transactions().map(|(_, tx)| count_ops(&tx.ops)).sum();
        WorkloadSize {
            variables: self.vars.len(),
            threads: self.threads.len(),
            transactions,
            operations,
        }
    }

    /// Every workload one step smaller or simpler than this one, each valid
    /// (no thread, step, queue or transaction left empty): invariants
    /// dropped one at a time, then threads removed, then steps and queue
    /// items, then single operations (an `or_else` also replaced by either
    /// branch), then constants simplified (an `add` or `transfer` amount
    /// to 1 or -1, a queue's workers to 1), then the last variable if
    /// nothing refers to it (variables are referred to by index, so only
    /// the last goes without renumbering the others). Invariants other than the
    /// dropped one are kept as they are: `counter` and `sum_preserved`
    /// derive their expected values from the run, and shrinking re-derives
    /// `equals` values itself.
    ///
    /// ```
    /// use stm_check::workload::{ReductionKind, Workload};
    ///
    /// let workload = Workload::builtin("write-skew").unwrap();
    /// let reductions = workload.reductions();
    /// assert!(reductions.iter().all(|r| r.workload.validate().is_ok()));
    /// let threads: Vec<_> = reductions.iter().filter(|r| r.kind == ReductionKind::Thread).collect();
    /// assert_eq!(threads.len(), 2);
    /// assert_eq!(threads[0].workload.threads, workload.threads[1..]);
    /// ```
    pub fn reductions(&self) -> Vec<Reduction> {
        let mut reductions = Vec::new();
        let mut push = |kind: ReductionKind, description: String, workload: Workload| {
            reductions.push(Reduction {
                kind,
                description,
                workload,
            })
        };
        for (i, invariant) in self.invariants.iter().enumerate() {
            let mut smaller = self.clone();
            smaller.invariants.remove(i);
            push(
                ReductionKind::Invariant(invariant.clone()),
                format!("drop invariant #{i} ({invariant})"),
                smaller,
            );
        }
        if self.threads.len() > 1 {
            for t in 0..self.threads.len() {
                let mut smaller = self.clone();
                smaller.threads.remove(t);
                if let Some(scaling) = &mut smaller.scaling {
                    scaling.cycle = scaling
                        .cycle
                        .iter()
                        .filter(|&&c| c != t)
                        .map(|&c| if c > t { c - 1 } else { c })
                        .collect();
                }
                push(ReductionKind::Thread, format!("remove thread {t}"), smaller);
            }
        }
        for (t, thread) in self.threads.iter().enumerate() {
            for (s, step) in thread.steps.iter().enumerate() {
                if thread.steps.len() > 1 {
                    let mut smaller = self.clone();
                    smaller.threads[t].steps.remove(s);
                    push(
                        ReductionKind::Transaction,
                        format!("remove thread {t} step {s}"),
                        smaller,
                    );
                }
                if let Step::Queue(queue) = step {
                    if queue.items.len() > 1 {
                        for item in 0..queue.items.len() {
                            let mut smaller = self.clone();
                            if let Step::Queue(q) = &mut smaller.threads[t].steps[s] {
                                q.items.remove(item);
                            }
                            push(
                                ReductionKind::Transaction,
                                format!("remove thread {t} step {s} item {item}"),
                                smaller,
                            );
                        }
                    }
                }
            }
        }
        let mut simpler = Vec::new();
        for (t, thread) in self.threads.iter().enumerate() {
            for (s, step) in thread.steps.iter().enumerate() {
                match step {
                    Step::Atomically(tx) => {
                        for (kind, what, ops) in smaller_ops(&tx.ops, true) {
                            let mut smaller = self.clone();
                            if let Step::Atomically(tx) = &mut smaller.threads[t].steps[s] {
                                tx.ops = ops;
                            }
                            let description = format!("thread {t} step {s} {what}");
                            if kind == ReductionKind::Constant {
                                simpler.push((kind, description, smaller));
                            } else {
                                push(kind, description, smaller);
                            }
                        }
                    }
                    Step::Queue(queue) => {
                        for (item, tx) in queue.items.iter().enumerate() {
                            for (a, added) in tx.adds.iter().enumerate() {
                                let mut smaller = self.clone();
                                if let Step::Queue(q) = &mut smaller.threads[t].steps[s] {
                                    q.items[item].adds.remove(a);
                                }
                                push(
                                    ReductionKind::Transaction,
                                    format!(
                                        "thread {t} step {s} item {item} remove added item {a}"
                                    ),
                                    smaller,
                                );
                                for (kind, what, ops) in smaller_ops(&added.ops, true) {
                                    let mut smaller = self.clone();
                                    if let Step::Queue(q) = &mut smaller.threads[t].steps[s] {
                                        q.items[item].adds[a].ops = ops;
                                    }
                                    let description = format!(
                                        "thread {t} step {s} item {item} added item {a} {what}"
                                    );
                                    if kind == ReductionKind::Constant {
                                        simpler.push((kind, description, smaller));
                                    } else {
                                        push(kind, description, smaller);
                                    }
                                }
                            }
                            for (kind, what, ops) in smaller_ops(&tx.ops, true) {
                                let mut smaller = self.clone();
                                if let Step::Queue(q) = &mut smaller.threads[t].steps[s] {
                                    q.items[item].ops = ops;
                                }
                                let description = format!("thread {t} step {s} item {item} {what}");
                                if kind == ReductionKind::Constant {
                                    simpler.push((kind, description, smaller));
                                } else {
                                    push(kind, description, smaller);
                                }
                            }
                        }
                        if queue.workers > 1 {
                            let mut smaller = self.clone();
                            if let Step::Queue(q) = &mut smaller.threads[t].steps[s] {
                                q.workers = 1;
                            }
                            simpler.push((
                                ReductionKind::Constant,
                                format!("thread {t} step {s} queue workers {} -> 1", queue.workers),
                                smaller,
                            ));
                        }
                    }
                }
            }
        }
        for (kind, description, workload) in simpler {
            push(kind, description, workload);
        }
        let last = self.vars.len() - 1;
        if last > 0 && !self.uses_var(last) {
            let mut smaller = self.clone();
            smaller.vars.pop();
            push(
                ReductionKind::Variable,
                format!("remove variable {last} (unused)"),
                smaller,
            );
        }
        reductions
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workload::{generate, GenerateConfig, BUILTIN_NAMES};

    fn assert_all_valid(workload: &Workload) {
        let size = workload.size();
        for reduction in workload.reductions() {
            let smaller = &reduction.workload;
            if let Err(error) = smaller.validate() {
                panic!("{}: {}: {error}", workload.name, reduction.description);
            }
            // The JSON form reads back as the same valid workload.
            assert_eq!(
                &Workload::from_json_str(&smaller.to_json_string()).unwrap(),
                smaller
            );
            let after = smaller.size();
            let (before_total, after_total) = (
                size.threads + size.transactions + size.operations,
                after.threads + after.transactions + after.operations,
            );
            match &reduction.kind {
                ReductionKind::Invariant(invariant) => {
                    assert_eq!(after, size);
                    assert_eq!(smaller.invariants.len() + 1, workload.invariants.len());
                    assert!(workload.invariants.contains(invariant));
                }
                ReductionKind::Thread => assert_eq!(after.threads + 1, size.threads),
                ReductionKind::Transaction => {
                    assert!(
                        after.transactions < size.transactions,
                        "{}",
                        reduction.description
                    )
                }
                ReductionKind::Operation => {
                    assert!(after_total < before_total, "{}", reduction.description)
                }
                ReductionKind::Constant => {
                    assert_eq!(after, size);
                    assert_ne!(smaller, workload);
                }
                ReductionKind::Variable => {
                    assert_eq!(after.variables + 1, size.variables);
                    assert!(!workload.uses_var(size.variables - 1));
                }
            }
        }
    }

    #[test]
    fn every_candidate_of_every_builtin_is_valid_and_smaller() {
        for name in BUILTIN_NAMES {
            let workload = Workload::builtin(name).unwrap();
            assert!(!workload.reductions().is_empty(), "{name}");
            assert_all_valid(&workload);
        }
    }

    #[test]
    fn every_candidate_of_generated_workloads_is_valid_and_smaller() {
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..200 {
            let bytes: Vec<u8> = (0..256)
                .map(|_| {
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    seed as u8
                })
                .collect();
            let workload = generate(
                &mut arbitrary::Unstructured::new(&bytes),
                GenerateConfig::default(),
            )
            .unwrap();
            assert_all_valid(&workload);
        }
    }

    #[test]
    fn candidates_cover_each_kind_in_order() {
        let counter = Workload::builtin("counter").unwrap();
        let reductions = counter.reductions();
        let rank = |kind: &ReductionKind| match kind {
            ReductionKind::Invariant(_) => 0,
            ReductionKind::Thread => 1,
            ReductionKind::Transaction => 2,
            ReductionKind::Operation => 3,
            ReductionKind::Constant => 4,
            ReductionKind::Variable => 5,
        };
        let ranks: Vec<_> = reductions.iter().map(|r| rank(&r.kind)).collect();
        assert!(ranks.windows(2).all(|w| w[0] <= w[1]), "{ranks:?}");
        // 3 invariants, 3 threads, 7 steps in threads of more than one step.
        assert_eq!(ranks.iter().filter(|&&r| r == 0).count(), 3);
        assert_eq!(ranks.iter().filter(|&&r| r == 1).count(), 3);
        assert_eq!(ranks.iter().filter(|&&r| r == 2).count(), 7);
        let descriptions: Vec<_> = reductions.iter().map(|r| r.description.as_str()).collect();
        assert!(
            descriptions.contains(&"thread 1 step 1 op 0 (or_else) replaced by its second branch")
        );
        assert!(descriptions.contains(&"thread 1 step 1 op 0 (or_else) first: op 0 (add)"));
        assert!(descriptions
            .contains(&"thread 1 step 1 op 0 (or_else) first: op 0 (add) amount 5 -> 1"));
    }
}
