//! The interpreter: runs a workload on a runtime of any platform (one
//! spawned thread per workload thread), then evaluates its invariants.
//!
//! Everything it does depends only on the workload and on the schedule the
//! platform picks: no clock, no global state, no hash-map order, so a
//! schedule replayed under a model checker replays the run exactly.

use super::invariants::check_invariants;
use super::model::{Condition, Op, QueueMode, QueueRun, Step, Transaction, TxSite, Workload};
use super::outcome::{AssertionFailure, QueueStop, QueueStopReason, Violation, WorkloadOutcome};
use std::cell::RefCell;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::sync::{Arc, Mutex};
use stm_core::platform::Platform;
use stm_core::transaction::{ItemFailure, ItemTx, TransactionQueue};
use stm_core::{Stm, TVar, TVarId, TxError};

/// A workload's variables created on one runtime: one `TVar<i64>` each.
pub struct WorkloadVars<P: Platform> {
    tvars: Arc<[TVar<i64, P>]>,
}

impl<P: Platform> Clone for WorkloadVars<P> {
    fn clone(&self) -> Self {
        WorkloadVars {
            tvars: self.tvars.clone(),
        }
    }
}

impl<P: Platform> std::fmt::Debug for WorkloadVars<P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WorkloadVars")
            .field("ids", &self.ids())
            .finish()
    }
}

impl<P: Platform> WorkloadVars<P> {
    /// The engine's TVar id of each variable, by index (to give a recorder
    /// the initial values).
    pub fn ids(&self) -> Vec<TVarId> {
        self.tvars.iter().map(TVar::id).collect()
    }

    /// The current value of each variable (outside any transaction).
    pub fn values(&self) -> Vec<i64> {
        self.tvars.iter().map(TVar::load).collect()
    }

    /// The TVars, by variable index.
    pub fn tvars(&self) -> &[TVar<i64, P>] {
        &self.tvars
    }
}

/// The error a transaction gives up with (`abort_unless` failed).
#[derive(Debug)]
struct GaveUp;

/// The payload of a workload's `panic`, raised with `resume_unwind` (no
/// panic hook runs) and caught by the interpreter.
#[derive(Debug)]
struct WorkloadPanic;

/// Raises the `panic` operation.
fn workload_panic() -> ! {
    resume_unwind(Box::new(WorkloadPanic))
}

/// Goes on with a panic that is not the workload's own `panic`.
fn unless_workload_panic(panic: Box<dyn std::any::Any + Send>) {
    if !panic.is::<WorkloadPanic>() {
        resume_unwind(panic);
    }
}

type OpResult = Result<(), TxError<GaveUp>>;

/// What one thread (or one queue run) did.
#[derive(Debug)]
struct Tally {
    commits: u64,
    user_aborts: u64,
    panics: u64,
    /// Per variable: the amounts committed `add`s added.
    added: Vec<i64>,
    violations: Vec<Violation>,
    queue_stops: Vec<QueueStop>,
}

impl Tally {
    fn new(vars: usize) -> Self {
        Tally {
            commits: 0,
            user_aborts: 0,
            panics: 0,
            added: vec![0; vars],
            violations: Vec::new(),
            queue_stops: Vec::new(),
        }
    }

    fn commit(&mut self, added: &[i64]) {
        self.commits += 1;
        self.add(added);
    }

    fn add(&mut self, added: &[i64]) {
        for (total, amount) in self.added.iter_mut().zip(added) {
            *total = total.wrapping_add(*amount);
        }
    }

    fn merge(&mut self, other: Tally) {
        self.add(&other.added);
        self.commits += other.commits;
        self.user_aborts += other.user_aborts;
        self.panics += other.panics;
        self.violations.extend(other.violations);
        self.queue_stops.extend(other.queue_stops);
    }
}

/// A condition evaluated in a transaction.
struct Reading {
    holds: bool,
    /// The values read, variable by variable.
    values: Vec<(usize, i64)>,
    sum: i64,
}

/// The state of one attempt of one transaction.
struct Attempt<'a, P: Platform> {
    tvars: &'a [TVar<i64, P>],
    site: TxSite,
    label: &'a Option<String>,
    number: u32,
    /// Per variable: what this attempt's `add`s added (rolled back with an
    /// `or_else` alternative that retried).
    added: RefCell<Vec<i64>>,
    /// Failed assertions; kept even if the attempt aborts.
    violations: &'a RefCell<Vec<Violation>>,
}

impl<'a, P: Platform> Attempt<'a, P> {
    /// Attempt `number` of `transaction`, at `site`, on `tvars`.
    fn new(
        tvars: &'a [TVar<i64, P>],
        site: TxSite,
        transaction: &'a Transaction,
        number: u32,
        violations: &'a RefCell<Vec<Violation>>,
    ) -> Self {
        Attempt {
            tvars,
            site,
            label: &transaction.label,
            number,
            added: RefCell::new(vec![0; tvars.len()]),
            violations,
        }
    }

    fn run_ops(&self, tx: &mut stm_core::Transaction<'_, P>, ops: &[Op]) -> OpResult {
        for op in ops {
            self.run_op(tx, op)?;
        }
        Ok(())
    }

    fn run_op(&self, tx: &mut stm_core::Transaction<'_, P>, op: &Op) -> OpResult {
        let tvars = self.tvars;
        match op {
            Op::Read(var) => {
                tx.read(&tvars[*var])?;
            }
            Op::Write { var, value } => tx.write(&tvars[*var], *value)?,
            Op::Add { var, amount } => {
                tx.modify(&tvars[*var], |x| x.wrapping_add(*amount))?;
                let mut added = self.added.borrow_mut();
                added[*var] = added[*var].wrapping_add(*amount);
            }
            Op::Commute { var, amount } => {
                let amount = *amount;
                tx.commute(&tvars[*var], move |x| x.wrapping_add(amount))?;
                let mut added = self.added.borrow_mut();
                added[*var] = added[*var].wrapping_add(amount);
            }
            Op::Panic => workload_panic(),
            Op::Transfer { from, to, amount } => {
                tx.modify(&tvars[*from], |x| x.wrapping_sub(*amount))?;
                tx.modify(&tvars[*to], |x| x.wrapping_add(*amount))?;
            }
            Op::Scan(vars) => {
                for var in vars {
                    tx.read(&tvars[*var])?;
                }
            }
            Op::RetryUnless(condition) => {
                if !self.evaluate(tx, condition)?.holds {
                    tx.retry::<()>()?;
                }
            }
            Op::AbortUnless(condition) => {
                if !self.evaluate(tx, condition)?.holds {
                    return Err(TxError::Abort(GaveUp));
                }
            }
            Op::Assert(condition) => {
                let Reading { holds, values, sum } = self.evaluate(tx, condition)?;
                if !holds {
                    self.violations
                        .borrow_mut()
                        .push(Violation::Assertion(AssertionFailure {
                            site: self.site,
                            label: self.label.clone(),
                            attempt: self.number,
                            condition: condition.clone(),
                            values,
                            sum,
                        }));
                }
            }
            Op::OrElse { first, second } => {
                let before = self.added.borrow().clone();
                tx.or_else(
                    |tx| self.run_ops(tx, first),
                    |tx| {
                        // `first` retried: its writes are gone, so are its adds.
                        *self.added.borrow_mut() = before;
                        self.run_ops(tx, second)
                    },
                )?;
            }
        }
        Ok(())
    }

    /// Reads the condition's variables and evaluates it.
    fn evaluate(
        &self,
        tx: &mut stm_core::Transaction<'_, P>,
        condition: &Condition,
    ) -> Result<Reading, TxError<GaveUp>> {
        let mut values = Vec::with_capacity(condition.sum.len());
        let mut sum = 0i64;
        for &var in &condition.sum {
            let value = tx.read(&self.tvars[var])?;
            values.push((var, value));
            sum = sum.wrapping_add(value);
        }
        Ok(Reading {
            holds: condition.holds_for(sum),
            values,
            sum,
        })
    }
}

impl Workload {
    /// Creates the workload's variables on `stm`, with their initial values.
    pub fn create_vars<P: Platform>(&self, stm: &Stm<P>) -> WorkloadVars<P> {
        WorkloadVars {
            tvars: self.vars.iter().map(|v| stm.new_tvar(v.initial)).collect(),
        }
    }

    /// Runs the workload on `stm`: creates its variables, runs each thread
    /// on a thread spawned with [`Stm::spawn`], joins them and evaluates
    /// the invariants. Works on every platform (std threads, shuttle, loom).
    ///
    /// ```
    /// use stm_check::workload::Workload;
    ///
    /// let bank = Workload::builtin("bank").unwrap();
    /// let outcome = bank.run(&stm_core::Stm::new());
    /// assert!(outcome.is_ok(), "{outcome}");
    /// assert_eq!(outcome.final_values, [100, 100, 0]);
    /// ```
    ///
    /// # Panics
    ///
    /// If the workload is invalid ([`Workload::validate`]), or a thread
    /// panics. A `retry_unless` whose condition never comes true blocks
    /// forever on std threads (a model checker reports a deadlock).
    pub fn run<P: Platform>(&self, stm: &Stm<P>) -> WorkloadOutcome {
        let vars = self.create_vars(stm);
        self.run_on(stm, &vars)
    }

    /// Runs the workload on variables already created with
    /// [`create_vars`](Self::create_vars) on the same `stm` (so their ids can
    /// be handed to a recorder first). See [`run`](Self::run).
    pub fn run_on<P: Platform>(&self, stm: &Stm<P>, vars: &WorkloadVars<P>) -> WorkloadOutcome {
        if let Err(error) = self.validate() {
            panic!("cannot run an invalid workload: {error}");
        }
        assert_eq!(
            vars.tvars.len(),
            self.vars.len(),
            "the variables were created for another workload"
        );
        let handles: Vec<_> = self
            .threads
            .iter()
            .enumerate()
            .map(|(thread, t)| {
                let (stm2, vars, steps) = (stm.clone(), vars.clone(), t.steps.clone());
                stm.spawn(move || run_thread(&stm2, &vars, thread, &steps))
            })
            .collect();
        let mut total = Tally::new(self.vars.len());
        for handle in handles {
            match handle.join() {
                Ok(tally) => total.merge(tally),
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
        let final_values = vars.values();
        let mut violations = total.violations;
        violations.extend(check_invariants(self, &final_values, &total.added));
        WorkloadOutcome {
            var_ids: vars.ids(),
            final_values,
            added: total.added,
            violations,
            commits: total.commits,
            user_aborts: total.user_aborts,
            panics: total.panics,
            queue_stops: total.queue_stops,
            stats: stm.stats(),
        }
    }
}

fn run_thread<P: Platform>(
    stm: &Stm<P>,
    vars: &WorkloadVars<P>,
    thread: usize,
    steps: &[Step],
) -> Tally {
    let mut tally = Tally::new(vars.tvars.len());
    for (step, s) in steps.iter().enumerate() {
        let site = TxSite {
            thread,
            step,
            item: None,
        };
        match s {
            Step::Atomically(tx) => run_atomically(stm, vars, site, tx, &mut tally),
            Step::Queue(queue) => run_queue(stm, vars, site, queue, &mut tally),
        }
    }
    tally
}

fn run_atomically<P: Platform>(
    stm: &Stm<P>,
    vars: &WorkloadVars<P>,
    site: TxSite,
    transaction: &Transaction,
    tally: &mut Tally,
) {
    let violations = RefCell::new(Vec::new());
    let mut number = 0;
    let result = catch_unwind(AssertUnwindSafe(|| {
        stm.try_atomically(|tx| {
            number += 1;
            let attempt = Attempt::new(&vars.tvars, site, transaction, number, &violations);
            attempt.run_ops(tx, &transaction.ops)?;
            Ok(attempt.added.into_inner())
        })
    }));
    match result {
        Ok(Ok(added)) => tally.commit(&added),
        Ok(Err(GaveUp)) => tally.user_aborts += 1,
        Err(panic) => {
            unless_workload_panic(panic);
            tally.panics += 1;
        }
    }
    tally.violations.extend(violations.into_inner());
}

/// What the attempts of one queue item left behind.
#[derive(Debug, Default)]
struct ItemRecord {
    attempts: u32,
    /// The adds of the last attempt that finished its body (the committed
    /// one, if the item committed).
    added: Option<Vec<i64>>,
    /// The records of the items the last attempt added (`adds`): they run
    /// only if it commits.
    children: Vec<Arc<Mutex<ItemRecord>>>,
    /// Whether the last attempt panicked (`panic`).
    panicked: bool,
    violations: Vec<Violation>,
}

type Queue<'env, P> = TransactionQueue<'env, P, GaveUp>;
type ItemResult = Result<(), TxError<GaveUp>>;

/// The body of the queue item `transaction`: runs its operations in the
/// item's transaction, adds its `adds` (each with a record of its own), and
/// keeps what each attempt did in `record`.
fn item_body<P: Platform>(
    vars: WorkloadVars<P>,
    site: TxSite,
    transaction: Transaction,
    record: Arc<Mutex<ItemRecord>>,
) -> impl FnMut(&mut ItemTx<'_, '_, P, GaveUp>) -> ItemResult + Send + 'static {
    move |tx| {
        let number = {
            let mut record = lock(&record);
            record.attempts += 1;
            record.added = None;
            record.children.clear();
            record.panicked = false;
            record.attempts
        };
        let violations = RefCell::new(Vec::new());
        let attempt = Attempt::new(&vars.tvars, site, &transaction, number, &violations);
        let result = catch_unwind(AssertUnwindSafe(|| attempt.run_ops(tx, &transaction.ops)));
        let added = attempt.added.into_inner();
        let mut record = lock(&record);
        record.violations.extend(violations.into_inner());
        let result = match result {
            Ok(result) => result,
            Err(panic) => {
                record.panicked = true;
                drop(record);
                resume_unwind(panic)
            }
        };
        if result.is_ok() {
            record.added = Some(added);
            for child in &transaction.adds {
                let child_record = Arc::new(Mutex::new(ItemRecord::default()));
                record.children.push(child_record.clone());
                tx.add(item_body(vars.clone(), site, child.clone(), child_record));
            }
        }
        result
    }
}

fn run_queue<P: Platform>(
    stm: &Stm<P>,
    vars: &WorkloadVars<P>,
    site: TxSite,
    run: &QueueRun,
    tally: &mut Tally,
) {
    let mut queue = Queue::<P>::with_runtime_and_error_type(stm).workers(run.workers);
    let records: Vec<Arc<Mutex<ItemRecord>>> = run
        .items
        .iter()
        .map(|_| Arc::new(Mutex::new(ItemRecord::default())))
        .collect();
    for (item, (transaction, record)) in run.items.iter().zip(&records).enumerate() {
        let site = TxSite {
            item: Some(item),
            ..site
        };
        queue.add(item_body(
            vars.clone(),
            site,
            transaction.clone(),
            record.clone(),
        ));
    }
    let result = catch_unwind(AssertUnwindSafe(|| match run.mode {
        QueueMode::Run => queue.run(),
        QueueMode::RunOrdered => queue.run_ordered(),
    }));
    let committed: Vec<usize> = match result {
        Ok(Ok(_)) => (0..run.items.len()).collect(),
        Ok(Err(error)) => {
            let reason = match error.failure {
                ItemFailure::Error(GaveUp) => {
                    tally.user_aborts += 1;
                    QueueStopReason::GaveUp
                }
                ItemFailure::WouldBlockForever => QueueStopReason::WouldBlockForever,
            };
            tally.queue_stops.push(QueueStop {
                site: TxSite {
                    item: Some(error.item.0 as usize),
                    ..site
                },
                reason,
                committed: error.committed.len(),
                not_run: error.not_run,
            });
            error.committed.iter().map(|id| id.0 as usize).collect()
        }
        Err(panic) => {
            unless_workload_panic(panic);
            tally.panics += 1;
            let committed: Vec<usize> = queue
                .last_committed()
                .iter()
                .map(|id| id.0 as usize)
                .collect();
            let panicked = records.iter().position(|r| lock(r).panicked);
            tally.queue_stops.push(QueueStop {
                site: TxSite {
                    item: panicked,
                    ..site
                },
                reason: QueueStopReason::Panicked,
                committed: committed.len(),
                not_run: run.items.len().saturating_sub(committed.len()),
            });
            committed
        }
    };
    let mut committed_flags = vec![false; records.len()];
    for item in committed {
        // Added items have numbers after the run's own: a run that adds
        // items never stops early, so they all committed (validation).
        if let Some(flag) = committed_flags.get_mut(item) {
            *flag = true;
        }
    }
    for (record, committed) in records.iter().zip(committed_flags) {
        tally_item(record, committed, tally);
    }
}

/// Counts a finished item and, if it committed, the items it added (which
/// all committed too: a run whose items add items does not stop early).
fn tally_item(record: &Mutex<ItemRecord>, committed: bool, tally: &mut Tally) {
    let mut record = lock(record);
    if committed {
        let added = record
            .added
            .take()
            .expect("a committed item finished its body");
        tally.commit(&added);
        for child in std::mem::take(&mut record.children) {
            tally_item(&child, true, tally);
        }
    }
    tally.violations.append(&mut record.violations);
}

/// Locks an item record. The lock is only ever held briefly and never across
/// a scheduling point, so it cannot contend under a model checker.
fn lock(record: &Mutex<ItemRecord>) -> std::sync::MutexGuard<'_, ItemRecord> {
    record.lock().unwrap_or_else(|p| p.into_inner())
}
