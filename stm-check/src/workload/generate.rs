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
use serde::Serialize;
use stm_core::StmConfig;

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

/// Which features of stm-core a generated workload may use. Swarm testing
/// (Groce et al., ISSTA 2012) leaves a random subset out of each program:
/// a program without transfers, say, runs its adds and `or_else`s in
/// combinations a program using everything rarely reaches.
/// [`Features::CLASSIC`] is what [`generate`] uses; [`swarm_program`] draws
/// a subset of [`Features::ALL`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Features {
    /// `write` of constants to free variables.
    pub write: bool,
    /// `add` to counters and free variables.
    pub add: bool,
    /// `transfer` between bank or free variables.
    pub transfer: bool,
    /// `assert` of a bank's total.
    pub assert: bool,
    /// `abort_unless` (user aborts).
    pub abort: bool,
    /// `or_else` (nested up to [`GenerateConfig::max_or_else_depth`]).
    pub or_else: bool,
    /// `retry_unless` in the first branch of an `or_else`.
    pub retry: bool,
    /// Queue runs with `run`.
    pub queue_run: bool,
    /// Queue runs with `run_ordered`.
    pub queue_ordered: bool,
    /// A latch that several waiters block on in `retry` (see the module
    /// documentation); in swarm programs, at least two waiters on it.
    pub waiters: bool,
    /// Writes, adds and commutes that go to a variable the transaction
    /// already wrote (also inside `or_else` branches).
    pub overwrite: bool,
    /// `commute` (commutative adds) to counters and free variables.
    pub commute: bool,
    /// `panic` inside transactions.
    pub panic: bool,
    /// Queue items that add items (`adds`).
    pub queue_adds: bool,
    /// Twenty or more variables and transactions that write more than 16
    /// of them (where the engine's write set switches to an index) and
    /// read them all.
    pub wide: bool,
}

impl Features {
    /// The features of [`generate`]: every one that existed before swarm
    /// programs (so that the bytes of saved fuzz inputs decode as before).
    pub const CLASSIC: Features = Features {
        write: true,
        add: true,
        transfer: true,
        assert: true,
        abort: true,
        or_else: true,
        retry: true,
        queue_run: true,
        queue_ordered: true,
        waiters: true,
        overwrite: false,
        commute: false,
        panic: false,
        queue_adds: false,
        wide: false,
    };

    /// Every feature.
    pub const ALL: Features = Features {
        overwrite: true,
        commute: true,
        panic: true,
        queue_adds: true,
        wide: true,
        ..Features::CLASSIC
    };

    /// The names of the features that are on.
    pub fn names(&self) -> Vec<&'static str> {
        let all = [
            (self.write, "write"),
            (self.add, "add"),
            (self.transfer, "transfer"),
            (self.assert, "assert"),
            (self.abort, "abort"),
            (self.or_else, "or_else"),
            (self.retry, "retry"),
            (self.queue_run, "queue_run"),
            (self.queue_ordered, "queue_ordered"),
            (self.waiters, "waiters"),
            (self.overwrite, "overwrite"),
            (self.commute, "commute"),
            (self.panic, "panic"),
            (self.queue_adds, "queue_adds"),
            (self.wide, "wide"),
        ];
        all.into_iter()
            .filter(|(on, _)| *on)
            .map(|(_, name)| name)
            .collect()
    }

    /// A random subset of the features: each one on with probability 1/2,
    /// and at least one that changes variables.
    fn draw(u: &mut Unstructured<'_>) -> arbitrary::Result<Features> {
        let mut bits = [false; 15];
        for bit in &mut bits {
            *bit = u.arbitrary()?;
        }
        let [write, add, transfer, assert, abort, or_else, retry, queue_run, queue_ordered, waiters, overwrite, commute, panic, queue_adds, wide] =
            bits;
        let mut features = Features {
            write,
            add,
            transfer,
            assert,
            abort,
            or_else,
            retry,
            queue_run,
            queue_ordered,
            waiters,
            overwrite,
            commute,
            panic,
            queue_adds,
            wide,
        };
        if !(write || add || transfer || commute) {
            features.add = true;
        }
        Ok(features)
    }
}

/// Variables of a wide program (see [`Features::wide`]): the first few get
/// any role, the others are counters or free, so that a transaction can
/// write more than 16.
const WIDE_VARS: usize = 20;
/// Operations of a wide transaction, at least (each on another variable).
const WIDE_OPS: usize = 17;

struct Generator<'u, 'a> {
    u: &'u mut Unstructured<'a>,
    config: GenerateConfig,
    features: Features,
    /// Variables the transaction being generated already changed.
    written: Vec<VarIndex>,
    /// Generating a queue run whose items add items: no `abort_unless`,
    /// no `panic` (see [`Transaction::adds`]).
    no_stop: bool,
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
        let f = self.features;
        let mut kinds = vec!["read", "scan"];
        if f.abort && !self.no_stop {
            kinds.push("abort_unless");
        }
        let changeable = self.counters.len() + self.free.len() > 0;
        if f.add && changeable {
            kinds.push("add");
        }
        if f.write && !self.free.is_empty() {
            kinds.push("write");
        }
        if f.transfer && (self.bank.len() >= 2 || self.free.len() >= 2) {
            kinds.push("transfer");
        }
        if f.assert && !self.bank.is_empty() {
            kinds.push("assert");
        }
        if f.or_else && depth < self.config.max_or_else_depth {
            kinds.push("or_else");
        }
        if f.retry && may_retry {
            kinds.push("retry_unless");
        }
        if f.commute && changeable {
            kinds.push("commute");
        }
        if f.panic && !self.no_stop {
            kinds.push("panic");
        }
        let kind = kinds[self.upto(kinds.len() - 1)?];
        let op = match kind {
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
            "add" | "commute" => {
                let targets: Vec<VarIndex> =
                    self.counters.iter().chain(&self.free).copied().collect();
                let var = self.target(&targets)?;
                let amount = self.small(-3, 5)?;
                if kind == "commute" {
                    Op::Commute { var, amount }
                } else {
                    Op::Add { var, amount }
                }
            }
            "write" => {
                let free = self.free.clone();
                Op::Write {
                    var: self.target(&free)?,
                    value: self.small(-5, 20)?,
                }
            }
            // A panic is rarer than other operations: three in four become
            // reads.
            "panic" => {
                if self.upto(3)? == 0 {
                    Op::Panic
                } else {
                    Op::Read(self.any_var()?)
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
            "or_else" => {
                let mut first = self.ops(depth + 1, true)?;
                // With overwrites and retries, half the time the first
                // branch overwrites what the transaction already wrote and
                // then retries, so that undoing it must bring back the
                // earlier write (swarm programs only: no classic program
                // has the overwrite feature).
                let undo = self.features.overwrite && self.features.retry;
                let written: Vec<VarIndex> = (self.written.iter())
                    .filter(|v| !self.bank.contains(v))
                    .copied()
                    .collect();
                if undo && !written.is_empty() && self.u.arbitrary::<bool>()? {
                    let var = self.pick(&written)?;
                    let again = if self.free.contains(&var) {
                        Op::Write {
                            var,
                            value: self.small(-5, 20)?,
                        }
                    } else {
                        Op::Add {
                            var,
                            amount: self.small(1, 5)?,
                        }
                    };
                    first.insert(0, again);
                    first.push(Op::RetryUnless(self.condition()?));
                }
                Op::OrElse {
                    first,
                    second: self.ops(depth + 1, false)?,
                }
            }
            "retry_unless" => Op::RetryUnless(self.condition()?),
            other => unreachable!("unknown operation kind {other}"),
        };
        match &op {
            Op::Write { var, .. } | Op::Add { var, .. } | Op::Commute { var, .. } => {
                self.written.push(*var)
            }
            Op::Transfer { from, to, .. } => self.written.extend([*from, *to]),
            _ => {}
        }
        Ok(op)
    }

    /// The variable a write, add or commute goes to, of `targets`: with
    /// [`Features::overwrite`], half the time one the transaction already
    /// changed, if there is one.
    fn target(&mut self, targets: &[VarIndex]) -> arbitrary::Result<VarIndex> {
        if self.features.overwrite {
            let again: Vec<VarIndex> = targets
                .iter()
                .copied()
                .filter(|v| self.written.contains(v))
                .collect();
            if !again.is_empty() && self.u.arbitrary::<bool>()? {
                return self.pick(&again);
            }
        }
        self.pick(targets)
    }

    fn transaction(&mut self) -> arbitrary::Result<Transaction> {
        self.written.clear();
        let ops = if self.features.wide && self.upto(3)? == 0 {
            self.wide_ops()?
        } else {
            self.ops(0, false)?
        };
        Ok(Transaction {
            label: None,
            ops,
            adds: Vec::new(),
        })
    }

    /// The operations of a wide transaction: maybe a scan of every
    /// variable, then a write, add or commute to each of at least
    /// [`WIDE_OPS`] variables in turn, then maybe the usual operations.
    fn wide_ops(&mut self) -> arbitrary::Result<Vec<Op>> {
        let mut ops = Vec::new();
        if self.u.arbitrary::<bool>()? {
            ops.push(Op::Scan((0..self.vars).collect()));
        }
        let writable: Vec<VarIndex> = self.counters.iter().chain(&self.free).copied().collect();
        let start = self.upto(writable.len() - 1)?;
        let len = WIDE_OPS + self.upto(writable.len() - WIDE_OPS)?;
        for i in 0..len {
            let var = writable[(start + i) % writable.len()];
            let amount = self.small(-3, 5)?;
            let op = if self.free.contains(&var) && (!self.features.add || self.u.arbitrary()?) {
                Op::Write { var, value: amount }
            } else if self.features.commute && (!self.features.add || self.u.arbitrary()?) {
                Op::Commute { var, amount }
            } else {
                Op::Add { var, amount }
            };
            self.written.push(var);
            ops.push(op);
        }
        if self.u.arbitrary::<bool>()? {
            ops.extend(self.ops(0, false)?);
        }
        Ok(ops)
    }

    fn step(&mut self) -> arbitrary::Result<Step> {
        let (run, ordered) = (self.features.queue_run, self.features.queue_ordered);
        if self.config.max_queue_items == 0 || !(run || ordered) || self.upto(3)? != 3 {
            return Ok(Step::Atomically(self.transaction()?));
        }
        let mode = match (run, ordered) {
            (true, true) if self.upto(1)? == 0 => QueueMode::Run,
            (true, true) => QueueMode::RunOrdered,
            (true, false) => QueueMode::Run,
            _ => QueueMode::RunOrdered,
        };
        let workers = 1 + self.upto(self.config.max_workers - 1)?;
        let items = 1 + self.upto(self.config.max_queue_items - 1)?;
        let adding = self.features.queue_adds && self.u.arbitrary::<bool>()?;
        self.no_stop = adding;
        let items = (0..items)
            .map(|_| {
                let mut item = self.transaction()?;
                if adding {
                    let adds = self.upto(2)?;
                    item.adds = (0..adds)
                        .map(|_| self.transaction())
                        .collect::<arbitrary::Result<_>>()?;
                }
                Ok(item)
            })
            .collect::<arbitrary::Result<_>>();
        self.no_stop = false;
        Ok(Step::Queue(QueueRun {
            mode,
            workers,
            items: items?,
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
    generate_with(u, config, Features::CLASSIC)
}

/// [`generate`] with only `features`. With features other than
/// [`Features::CLASSIC`], a program with waiters has
/// `config.max_threads` threads and at least two waiters (when the bounds
/// allow), so that several transactions block on one TVar.
pub fn generate_with(
    u: &mut Unstructured<'_>,
    config: GenerateConfig,
    features: Features,
) -> arbitrary::Result<Workload> {
    let swarm = features != Features::CLASSIC;
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
    let vars = if features.wide {
        WIDE_VARS + u.int_in_range(0..=3)?
    } else {
        1 + u.int_in_range(0..=config.max_vars - 1)?
    };
    let mut roles = Vec::with_capacity(vars);
    let mut initial = Vec::with_capacity(vars);
    for v in 0..vars {
        // A wide program's variables beyond the first three can be written.
        roles.push(if features.wide && v >= 3 {
            [Role::Counter, Role::Free][u.int_in_range(0..=1)?]
        } else {
            [Role::Bank, Role::Counter, Role::Free][u.int_in_range(0..=2)?]
        });
        initial.push(u.int_in_range(0..=20)?);
    }
    let with_role = |role| -> Vec<VarIndex> { (0..vars).filter(|&v| roles[v] == role).collect() };
    let bank = with_role(Role::Bank);
    let bank_total = bank.iter().map(|&v| initial[v]).sum();
    let mut generator = Generator {
        u,
        config,
        features,
        written: Vec::new(),
        no_stop: false,
        vars,
        counters: with_role(Role::Counter),
        free: with_role(Role::Free),
        bank,
        bank_total,
    };
    let threads = if swarm && features.waiters && config.max_waiters > 0 {
        config.max_threads
    } else {
        1 + generator.upto(config.max_threads - 1)?
    };
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
    let waiters = if !features.waiters || threads.len() < 2 {
        0
    } else if swarm {
        let most = config.max_waiters.min(threads.len() - 1).max(2);
        let least = most.min(2);
        least + generator.upto(most - least)?
    } else {
        generator.upto(config.max_waiters.min(threads.len() - 1))?
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

/// The bounds of swarm programs: small enough that shuttle runs thousands
/// of executions a second, with room for every feature (`or_else` nested
/// twice, three threads so that two can wait on a latch, queues of three
/// items that may add two each).
pub const SWARM_BOUNDS: GenerateConfig = GenerateConfig {
    max_vars: 5,
    max_threads: 3,
    max_steps: 3,
    max_ops: 4,
    max_queue_items: 3,
    max_workers: 2,
    max_or_else_depth: 2,
    max_waiters: 2,
};

/// One program of swarm exploration: a workload using a random subset of
/// the features, and the runtime settings it runs with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SwarmProgram {
    /// The program.
    pub workload: Workload,
    /// The runtime's settings: `irrevocable_after` 0, 1 or the default 16,
    /// conflict reports on or off.
    pub stm: StmConfig,
    /// The features it may use (it need not use every one).
    pub features: Features,
}

/// Draws a swarm program from `u`: a subset of [`Features::ALL`] (each
/// feature on with probability 1/2), runtime settings, and a workload
/// within [`SWARM_BOUNDS`] that uses only those features
/// ([`generate_with`]). Explore's `--workload swarm` and the `swarm` fuzz
/// target both call it, so coverage-guided fuzzing reaches what swarm
/// exploration reaches.
///
/// ```
/// use arbitrary::Unstructured;
/// use stm_check::workload::swarm_program;
///
/// let bytes: Vec<u8> = (0..512u32).map(|i| (i * 37 % 251) as u8).collect();
/// let program = swarm_program(&mut Unstructured::new(&bytes)).unwrap();
/// program.workload.validate().unwrap();
/// assert!([0, 1, 16].contains(&program.stm.irrevocable_after));
/// ```
pub fn swarm_program(u: &mut Unstructured<'_>) -> arbitrary::Result<SwarmProgram> {
    let features = Features::draw(u)?;
    let stm = StmConfig {
        irrevocable_after: [0, 1, StmConfig::default().irrevocable_after][u.int_in_range(0..=2)?],
        conflict_reports: u.arbitrary()?,
    };
    let mut workload = generate_with(u, SWARM_BOUNDS, features)?;
    workload.name = "swarm".to_string();
    workload.description = format!(
        "swarm program: {}; irrevocable_after {}, conflict reports {}",
        features.names().join(", "),
        stm.irrevocable_after,
        if stm.conflict_reports { "on" } else { "off" }
    );
    Ok(SwarmProgram {
        workload,
        stm,
        features,
    })
}

/// A step of the latch: one transaction of one operation.
fn latch_step(label: &str, op: Op) -> Step {
    Step::Atomically(Transaction {
        label: Some(label.to_string()),
        ops: vec![op],
        adds: Vec::new(),
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
