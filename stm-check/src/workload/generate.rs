//! Generated workloads: one generator driven by a stream of choices, behind
//! both `arbitrary::Arbitrary` (fuzzers feed bytes) and a proptest strategy
//! (which generates the bytes, so shrinking them shrinks the workload).
//!
//! Every generated workload is valid and terminates on a correct engine, and
//! carries invariants that a correct engine always satisfies. Each variable
//! gets a role that decides which operations may change it:
//!
//! * **bank** variables change only by transfers among themselves, so their
//!   sum is preserved (`sum_preserved`), and `assert`s of that sum hold in
//!   every consistent snapshot;
//! * **counter** variables change only by `add` (`counter` invariant);
//! * **free** variables take writes, adds and transfers among themselves.
//!
//! Any operation may read any variable. `retry_unless` appears only in the
//! first branch of an `or_else` whose second branch cannot retry, so no
//! transaction blocks forever (and no `run_ordered` item is stuck).
//!
//! Blocking waits, which wake-up bugs need, come only with a **latch**
//! ([`GenerateConfig::max_waiters`]): a variable that thread 0 sets to 1 in
//! a step of its own, while waiter steps on the other threads block in
//! `retry_unless` until it is 1. Thread 0 never waits, so it always gets to
//! set the latch, and every waiter wakes up on a correct engine.

use super::model::{
    Cmp, Condition, Invariant, Op, QueueMode, QueueRun, Step, Thread, Transaction, Var, VarIndex,
    Workload,
};
use arbitrary::{Arbitrary, Unstructured};
use proptest::prelude::*;

/// Size bounds of generated workloads (all at least 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GenerateConfig {
    /// Most variables.
    pub max_vars: usize,
    /// Most threads.
    pub max_threads: usize,
    /// Most steps per thread.
    pub max_steps: usize,
    /// Most operations per transaction (and per `or_else` branch).
    pub max_ops: usize,
    /// Most items per queue run; 0 generates no queue steps.
    pub max_queue_items: usize,
    /// Most workers per queue run.
    pub max_workers: usize,
    /// Deepest nesting of `or_else`; 0 generates none.
    pub max_or_else_depth: usize,
    /// Most waiter steps blocking on a latch (see the module documentation);
    /// 0 generates no latch. The latch is one variable more than
    /// `max_vars`, and its setter and waiter steps come on top of
    /// `max_steps`.
    pub max_waiters: usize,
}

impl Default for GenerateConfig {
    /// Small enough for a model checker: up to 4 variables, 3 threads of 3
    /// steps, 4 operations per transaction, queues of 3 items on 2 workers,
    /// no latch.
    fn default() -> Self {
        GenerateConfig {
            max_vars: 4,
            max_threads: 3,
            max_steps: 3,
            max_ops: 4,
            max_queue_items: 3,
            max_workers: 2,
            max_or_else_depth: 1,
            max_waiters: 0,
        }
    }
}

/// What may change a variable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Bank,
    Counter,
    Free,
}

struct Generator<'u, 'a> {
    u: &'u mut Unstructured<'a>,
    config: GenerateConfig,
    vars: usize,
    bank: Vec<VarIndex>,
    counters: Vec<VarIndex>,
    free: Vec<VarIndex>,
    bank_total: i64,
}

impl Generator<'_, '_> {
    /// A number in `0..=max` (0 when the bytes run out).
    fn upto(&mut self, max: usize) -> arbitrary::Result<usize> {
        self.u.int_in_range(0..=max)
    }

    fn small(&mut self, low: i64, high: i64) -> arbitrary::Result<i64> {
        self.u.int_in_range(low..=high)
    }

    fn pick(&mut self, from: &[VarIndex]) -> arbitrary::Result<VarIndex> {
        Ok(from[self.upto(from.len() - 1)?])
    }

    fn any_var(&mut self) -> arbitrary::Result<VarIndex> {
        self.upto(self.vars - 1)
    }

    /// Two distinct variables of `from` (which has at least two).
    fn pair(&mut self, from: &[VarIndex]) -> arbitrary::Result<(VarIndex, VarIndex)> {
        let a = self.upto(from.len() - 1)?;
        let b = (a + 1 + self.upto(from.len() - 2)?) % from.len();
        Ok((from[a], from[b]))
    }

    fn condition(&mut self) -> arbitrary::Result<Condition> {
        let len = 1 + self.upto(1)?;
        let sum = (0..len)
            .map(|_| self.any_var())
            .collect::<arbitrary::Result<_>>()?;
        let cmp = Cmp::ALL[self.upto(Cmp::ALL.len() - 1)?];
        Ok(Condition {
            sum,
            cmp,
            value: self.small(-5, 25)?,
        })
    }

    fn ops(&mut self, depth: usize, may_retry: bool) -> arbitrary::Result<Vec<Op>> {
        let len = 1 + self.upto(self.config.max_ops - 1)?;
        (0..len).map(|_| self.op(depth, may_retry)).collect()
    }

    fn op(&mut self, depth: usize, may_retry: bool) -> arbitrary::Result<Op> {
        // Kinds whose preconditions hold; the first is always possible, so
        // running out of bytes yields a read.
        let mut kinds = vec!["read", "scan", "abort_unless"];
        if self.counters.len() + self.free.len() > 0 {
            kinds.push("add");
        }
        if !self.free.is_empty() {
            kinds.push("write");
        }
        if self.bank.len() >= 2 || self.free.len() >= 2 {
            kinds.push("transfer");
        }
        if !self.bank.is_empty() {
            kinds.push("assert");
        }
        if depth < self.config.max_or_else_depth {
            kinds.push("or_else");
        }
        if may_retry {
            kinds.push("retry_unless");
        }
        Ok(match kinds[self.upto(kinds.len() - 1)?] {
            "read" => Op::Read(self.any_var()?),
            "scan" => {
                let len = 1 + self.upto(2)?;
                Op::Scan(
                    (0..len)
                        .map(|_| self.any_var())
                        .collect::<arbitrary::Result<_>>()?,
                )
            }
            "abort_unless" => Op::AbortUnless(self.condition()?),
            "add" => {
                let targets: Vec<VarIndex> =
                    self.counters.iter().chain(&self.free).copied().collect();
                Op::Add {
                    var: self.pick(&targets)?,
                    amount: self.small(-3, 5)?,
                }
            }
            "write" => {
                let free = self.free.clone();
                Op::Write {
                    var: self.pick(&free)?,
                    value: self.small(-5, 20)?,
                }
            }
            "transfer" => {
                let use_bank = if self.bank.len() >= 2 && self.free.len() >= 2 {
                    self.upto(1)? == 0
                } else {
                    self.bank.len() >= 2
                };
                let group = if use_bank {
                    self.bank.clone()
                } else {
                    self.free.clone()
                };
                let (from, to) = self.pair(&group)?;
                Op::Transfer {
                    from,
                    to,
                    amount: self.small(0, 10)?,
                }
            }
            "assert" => Op::Assert(Condition {
                sum: self.bank.clone(),
                cmp: Cmp::Eq,
                value: self.bank_total,
            }),
            "or_else" => Op::OrElse {
                first: self.ops(depth + 1, true)?,
                second: self.ops(depth + 1, false)?,
            },
            "retry_unless" => Op::RetryUnless(self.condition()?),
            other => unreachable!("unknown operation kind {other}"),
        })
    }

    fn transaction(&mut self) -> arbitrary::Result<Transaction> {
        Ok(Transaction {
            label: None,
            ops: self.ops(0, false)?,
        })
    }

    fn step(&mut self) -> arbitrary::Result<Step> {
        if self.config.max_queue_items == 0 || self.upto(3)? != 3 {
            return Ok(Step::Atomically(self.transaction()?));
        }
        let mode = if self.upto(1)? == 0 {
            QueueMode::Run
        } else {
            QueueMode::RunOrdered
        };
        let workers = 1 + self.upto(self.config.max_workers - 1)?;
        let items = 1 + self.upto(self.config.max_queue_items - 1)?;
        Ok(Step::Queue(QueueRun {
            mode,
            workers,
            items: (0..items)
                .map(|_| self.transaction())
                .collect::<arbitrary::Result<_>>()?,
        }))
    }
}

/// Generates a valid workload within `config`'s bounds from the choices in
/// `u`; when `u` runs out, every further choice is the smallest (so fewer
/// bytes give smaller workloads). Fails only if `config` has a bound of 0
/// where at least 1 is needed.
///
/// ```
/// use arbitrary::Unstructured;
/// use stm_check::workload::{generate, GenerateConfig};
///
/// let bytes = [7u8, 200, 3, 99, 42, 1, 0, 255, 18, 64, 5, 77];
/// let workload = generate(&mut Unstructured::new(&bytes), GenerateConfig::default()).unwrap();
/// workload.validate().unwrap();
/// assert!(workload.run(&stm_core::Stm::new()).is_ok());
/// ```
pub fn generate(u: &mut Unstructured<'_>, config: GenerateConfig) -> arbitrary::Result<Workload> {
    let at_least_one = [
        config.max_vars,
        config.max_threads,
        config.max_steps,
        config.max_ops,
        config.max_workers,
    ];
    if at_least_one.contains(&0) {
        return Err(arbitrary::Error::IncorrectFormat);
    }
    let vars = 1 + u.int_in_range(0..=config.max_vars - 1)?;
    let mut roles = Vec::with_capacity(vars);
    let mut initial = Vec::with_capacity(vars);
    for _ in 0..vars {
        roles.push([Role::Bank, Role::Counter, Role::Free][u.int_in_range(0..=2)?]);
        initial.push(u.int_in_range(0..=20)?);
    }
    let with_role = |role| -> Vec<VarIndex> { (0..vars).filter(|&v| roles[v] == role).collect() };
    let bank = with_role(Role::Bank);
    let bank_total = bank.iter().map(|&v| initial[v]).sum();
    let mut generator = Generator {
        u,
        config,
        vars,
        counters: with_role(Role::Counter),
        free: with_role(Role::Free),
        bank,
        bank_total,
    };
    let threads = 1 + generator.upto(config.max_threads - 1)?;
    let mut threads: Vec<Thread> = (0..threads)
        .map(|_| {
            let steps = 1 + generator.upto(config.max_steps - 1)?;
            Ok(Thread {
                steps: (0..steps)
                    .map(|_| generator.step())
                    .collect::<arbitrary::Result<_>>()?,
            })
        })
        .collect::<arbitrary::Result<_>>()?;
    let mut invariants = Vec::new();
    if !generator.bank.is_empty() {
        invariants.push(Invariant::SumPreserved(generator.bank.clone()));
    }
    invariants.extend(generator.counters.iter().map(|&v| Invariant::Counter(v)));
    let mut vars: Vec<Var> = initial
        .into_iter()
        .map(|initial| Var {
            name: None,
            initial,
        })
        .collect();
    let waiters = if threads.len() > 1 {
        generator.upto(config.max_waiters.min(threads.len() - 1))?
    } else {
        0
    };
    if waiters > 0 {
        let latch = vars.len();
        vars.push(Var {
            name: Some("latch".to_string()),
            initial: 0,
        });
        let setter = generator.upto(threads[0].steps.len())?;
        threads[0].steps.insert(
            setter,
            latch_step(
                "set latch",
                Op::Write {
                    var: latch,
                    value: 1,
                },
            ),
        );
        for _ in 0..waiters {
            let thread = 1 + generator.upto(threads.len() - 2)?;
            let at = generator.upto(threads[thread].steps.len())?;
            let open = Condition {
                sum: vec![latch],
                cmp: Cmp::Eq,
                value: 1,
            };
            threads[thread]
                .steps
                .insert(at, latch_step("wait for latch", Op::RetryUnless(open)));
        }
        invariants.push(Invariant::Equals {
            var: latch,
            value: 1,
        });
    }
    Ok(Workload {
        name: "generated".to_string(),
        description: String::new(),
        vars,
        threads,
        invariants,
        scaling: None,
    })
}

/// A step of the latch: one transaction of one operation.
fn latch_step(label: &str, op: Op) -> Step {
    Step::Atomically(Transaction {
        label: Some(label.to_string()),
        ops: vec![op],
    })
}

/// Workloads within [`GenerateConfig::default`]'s bounds.
impl<'a> Arbitrary<'a> for Workload {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        generate(u, GenerateConfig::default())
    }
}

/// A proptest strategy for valid workloads within `config`'s bounds. It
/// generates the choice bytes of [`generate`]; shrinking shortens and lowers
/// them, which yields fewer and smaller threads, steps and operations.
///
/// ```
/// use proptest::strategy::{Strategy, ValueTree};
/// use proptest::test_runner::TestRunner;
/// use stm_check::workload::{strategy, GenerateConfig};
///
/// let mut runner = TestRunner::deterministic();
/// let workload = strategy(GenerateConfig::default()).new_tree(&mut runner).unwrap().current();
/// assert!(workload.validate().is_ok());
/// ```
///
/// # Panics
///
/// The strategy panics when generating if `config` has a bound of 0 where
/// at least 1 is needed.
pub fn strategy(config: GenerateConfig) -> impl Strategy<Value = Workload> {
    prop::collection::vec(any::<u8>(), 0..512).prop_map(move |bytes| {
        generate(&mut Unstructured::new(&bytes), config)
            .expect("GenerateConfig bounds must be at least 1")
    })
}
