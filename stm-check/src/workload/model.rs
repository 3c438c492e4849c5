//! The workload types: what a workload file says, as Rust values.

use serde::{Deserialize, Serialize};
use std::fmt;

/// The value of the `format` field of every workload file.
pub const FORMAT_NAME: &str = "stm-workload";

/// The workload format version this build reads and writes.
pub const FORMAT_VERSION: u64 = 1;

/// The index of a variable: its position in [`Workload::vars`].
pub type VarIndex = usize;

/// A workload: integer variables, threads running transactions on them, and
/// the invariants the final state must satisfy. See the
/// [module documentation](super) for the JSON format.
///
/// Serialized, a workload carries `"format": "stm-workload"` and
/// `"version": 1`; deserializing checks both (but not the contents: see
/// [`Workload::validate`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Workload {
    /// A short name (the built-in's name, or the file's).
    pub name: String,
    /// What the workload exercises, for people.
    pub description: String,
    /// The variables (TVars of `i64`), referred to by index.
    pub vars: Vec<Var>,
    /// The threads, each started with `Stm::spawn` and run to completion.
    pub threads: Vec<Thread>,
    /// Conditions on the final state, checked after every thread has ended.
    pub invariants: Vec<Invariant>,
    /// How [`Workload::with_threads`] scales the workload to another number
    /// of threads (`None`: every thread is a template, down to one thread).
    pub scaling: Option<Scaling>,
}

/// How a workload scales to another number of threads (the optional
/// `"scaling"` field; see [`Workload::with_threads`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scaling {
    /// The workload only runs with its own threads: any other count is
    /// refused (`{"fixed": true}`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub fixed: bool,
    /// The fewest threads the workload makes sense with (at least 1; 1 when
    /// absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_threads: Option<usize>,
    /// The threads (by index) that threads beyond the workload's own copy,
    /// in turn (every thread, in order, when absent or empty).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cycle: Vec<usize>,
}

/// A variable: one `TVar<i64>`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Var {
    /// A name shown in reports (optional; `v<index>` otherwise).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The value the TVar is created with.
    pub initial: i64,
}

/// One thread: its steps, run one after another.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Thread {
    /// The steps, in program order.
    pub steps: Vec<Step>,
}

/// One step of a thread.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    /// Run one transaction with `Stm::try_atomically`.
    Atomically(Transaction),
    /// Run a `TransactionQueue` of transactions.
    Queue(QueueRun),
}

/// A run of a `TransactionQueue`: every item is one transaction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueueRun {
    /// `run` (some serial order) or `run_ordered` (the order of `items`).
    pub mode: QueueMode,
    /// Worker count (at least 1; the calling thread is one of them).
    pub workers: usize,
    /// The items, added in this order.
    pub items: Vec<Transaction>,
}

/// How a queue runs its items.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QueueMode {
    /// `TransactionQueue::run`: the outcome equals some serial order.
    Run,
    /// `TransactionQueue::run_ordered`: the outcome equals the order added.
    RunOrdered,
}

/// A transaction: operations run in order inside one transaction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Transaction {
    /// A name shown in reports (optional).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// The operations (at least one).
    pub ops: Vec<Op>,
    /// Queue items only: the items this item adds to the running queue
    /// (`ItemTx::add`), after its operations; they join the queue only if
    /// this item commits. Added items add nothing themselves, and a queue
    /// run whose items add items uses neither `abort_unless` nor `panic`
    /// (so that every added item of a committed item commits, and the
    /// interpreter knows whose adds counted). Absent when empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub adds: Vec<Transaction>,
}

/// One operation of a transaction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Op {
    /// Read a variable (`{"read": 0}`).
    Read(VarIndex),
    /// Write a constant (`{"write": {"var": 0, "value": 5}}`).
    Write {
        /// The variable.
        var: VarIndex,
        /// The value written.
        value: i64,
    },
    /// Add a constant, possibly negative (`{"add": {"var": 0, "amount": 1}}`).
    Add {
        /// The variable.
        var: VarIndex,
        /// The amount added (wrapping on overflow).
        amount: i64,
    },
    /// Add a constant as a commutative update
    /// (`{"commute": {"var": 0, "amount": 1}}`): `Transaction::commute`,
    /// applied at commit to the value current then, so two transactions
    /// that only commute on a variable do not conflict on it. Counts for a
    /// `counter` invariant like `add`.
    Commute {
        /// The variable.
        var: VarIndex,
        /// The amount added (wrapping on overflow).
        amount: i64,
    },
    /// Move `amount` from one variable to another (two reads, two writes).
    Transfer {
        /// The variable debited.
        from: VarIndex,
        /// The variable credited (not `from`).
        to: VarIndex,
        /// The amount moved.
        amount: i64,
    },
    /// Read-only scan of several variables (`{"scan": [0, 1, 2]}`).
    Scan(Vec<VarIndex>),
    /// Block (`Transaction::retry`) until the condition holds.
    RetryUnless(Condition),
    /// Give up (`TxError::Abort`: no effect) unless the condition holds.
    AbortUnless(Condition),
    /// Check the condition on the values this attempt reads; a failure is
    /// recorded as a violation, and the transaction goes on.
    Assert(Condition),
    /// Panic inside the transaction (`"panic"`): the attempt is abandoned
    /// with no effect and the panic goes on to the caller, which the
    /// interpreter catches (an `atomically` step is then over; a queue run
    /// stops, as after an error). Raised with `resume_unwind`, so no panic
    /// hook prints it.
    Panic,
    /// Run `first`; if it retries, undo it and run `second`
    /// (`Transaction::or_else`).
    OrElse {
        /// The first alternative.
        first: Vec<Op>,
        /// The alternative run if `first` retries.
        second: Vec<Op>,
    },
}

/// A condition on the sum of some variables:
/// `{"sum": [0, 1], "cmp": ">=", "value": 0}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Condition {
    /// The variables summed (at least one; a variable may repeat).
    pub sum: Vec<VarIndex>,
    /// The comparison.
    pub cmp: Cmp,
    /// The right-hand side.
    pub value: i64,
}

impl Condition {
    /// Whether `sum cmp value` holds.
    pub fn holds_for(&self, sum: i64) -> bool {
        self.cmp.holds(sum, self.value)
    }
}

impl fmt::Display for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} {}", var_sum(&self.sum), self.cmp, self.value)
    }
}

/// `v0 + v1 + ...`, as reports write a sum of variables.
pub(crate) fn var_sum(vars: &[VarIndex]) -> String {
    let names: Vec<String> = vars.iter().map(|v| format!("v{v}")).collect();
    names.join(" + ")
}

/// A comparison, written as its symbol in JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Cmp {
    /// `==`
    #[serde(rename = "==")]
    Eq,
    /// `!=`
    #[serde(rename = "!=")]
    Ne,
    /// `<`
    #[serde(rename = "<")]
    Lt,
    /// `<=`
    #[serde(rename = "<=")]
    Le,
    /// `>`
    #[serde(rename = ">")]
    Gt,
    /// `>=`
    #[serde(rename = ">=")]
    Ge,
}

impl Cmp {
    /// Every comparison.
    pub const ALL: [Cmp; 6] = [Cmp::Eq, Cmp::Ne, Cmp::Lt, Cmp::Le, Cmp::Gt, Cmp::Ge];

    /// Whether `left self right` holds.
    pub fn holds(self, left: i64, right: i64) -> bool {
        match self {
            Cmp::Eq => left == right,
            Cmp::Ne => left != right,
            Cmp::Lt => left < right,
            Cmp::Le => left <= right,
            Cmp::Gt => left > right,
            Cmp::Ge => left >= right,
        }
    }

    /// The symbol (`==`, `>=`, ...).
    pub fn symbol(self) -> &'static str {
        match self {
            Cmp::Eq => "==",
            Cmp::Ne => "!=",
            Cmp::Lt => "<",
            Cmp::Le => "<=",
            Cmp::Gt => ">",
            Cmp::Ge => ">=",
        }
    }
}

impl fmt::Display for Cmp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.symbol())
    }
}

/// A condition on the final state, checked once every thread has ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Invariant {
    /// The sum of these variables equals the sum of their initial values
    /// (`{"sum_preserved": [0, 1]}`).
    SumPreserved(Vec<VarIndex>),
    /// The variable equals its initial value plus every amount that
    /// committed transactions added to it (`{"counter": 2}`). The expected
    /// value is derived from the run; the variable may only be changed by
    /// `add` operations.
    Counter(VarIndex),
    /// The variable equals a value (`{"equals": {"var": 0, "value": 3}}`).
    Equals {
        /// The variable.
        var: VarIndex,
        /// Its expected final value.
        value: i64,
    },
    /// Each of these variables is at least `bound`
    /// (`{"each_at_least": {"vars": [0, 1], "bound": 0}}`).
    EachAtLeast {
        /// The variables.
        vars: Vec<VarIndex>,
        /// The lower bound.
        bound: i64,
    },
    /// A condition on the final values (`{"holds": {"sum": [0, 1], "cmp": ">=", "value": 0}}`).
    Holds(Condition),
}

impl fmt::Display for Invariant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Invariant::SumPreserved(vars) => write!(f, "sum_preserved({})", var_sum(vars)),
            Invariant::Counter(var) => write!(f, "counter(v{var})"),
            Invariant::Equals { var, value } => write!(f, "v{var} == {value}"),
            Invariant::EachAtLeast { vars, bound } => {
                let names: Vec<String> = vars.iter().map(|v| format!("v{v}")).collect();
                write!(f, "each of {} >= {bound}", names.join(", "))
            }
            Invariant::Holds(condition) => condition.fmt(f),
        }
    }
}

/// The file form of a workload: the envelope fields and the contents.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Document {
    format: String,
    version: u64,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    name: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    description: String,
    vars: Vec<Var>,
    threads: Vec<Thread>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    invariants: Vec<Invariant>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    scaling: Option<Scaling>,
}

impl Serialize for Workload {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        Document {
            format: FORMAT_NAME.to_string(),
            version: FORMAT_VERSION,
            name: self.name.clone(),
            description: self.description.clone(),
            vars: self.vars.clone(),
            threads: self.threads.clone(),
            invariants: self.invariants.clone(),
            scaling: self.scaling.clone(),
        }
        .serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Workload {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let document = Document::deserialize(deserializer)?;
        if document.format != FORMAT_NAME {
            return Err(D::Error::custom(format!(
                "not a workload: \"format\" is {:?}, expected {FORMAT_NAME:?}",
                document.format
            )));
        }
        if document.version != FORMAT_VERSION {
            return Err(D::Error::custom(format!(
                "unsupported workload format version {}; this stm-check reads version {FORMAT_VERSION}",
                document.version
            )));
        }
        Ok(Workload {
            name: document.name,
            description: document.description,
            vars: document.vars,
            threads: document.threads,
            invariants: document.invariants,
            scaling: document.scaling,
        })
    }
}

impl Workload {
    /// The name reports use for variable `var`: its `name`, or `v<index>`.
    pub fn var_name(&self, var: VarIndex) -> String {
        match self.vars.get(var).and_then(|v| v.name.as_ref()) {
            Some(name) => name.clone(),
            None => format!("v{var}"),
        }
    }

    /// Every transaction of the workload with where it is, in thread, step
    /// and item order; the items a queue item adds follow it, with its site.
    pub fn transactions(&self) -> impl Iterator<Item = (TxSite, &Transaction)> {
        self.threads.iter().enumerate().flat_map(|(thread, t)| {
            t.steps
                .iter()
                .enumerate()
                .flat_map(move |(step, s)| -> Vec<(TxSite, &Transaction)> {
                    match s {
                        Step::Atomically(tx) => vec![(
                            TxSite {
                                thread,
                                step,
                                item: None,
                            },
                            tx,
                        )],
                        Step::Queue(queue) => queue
                            .items
                            .iter()
                            .enumerate()
                            .flat_map(|(item, tx)| {
                                let site = TxSite {
                                    thread,
                                    step,
                                    item: Some(item),
                                };
                                std::iter::once((site, tx))
                                    .chain(tx.adds.iter().map(move |added| (site, added)))
                            })
                            .collect(),
                    }
                })
        })
    }
}

/// Where a transaction is in its workload: thread, step, and item of a queue
/// step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TxSite {
    /// Index of the thread.
    pub thread: usize,
    /// Index of the step in the thread.
    pub step: usize,
    /// Index of the item, when the step is a queue run.
    pub item: Option<usize>,
}

impl fmt::Display for TxSite {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "thread {} step {}", self.thread, self.step)?;
        if let Some(item) = self.item {
            write!(f, " item {item}")?;
        }
        Ok(())
    }
}
