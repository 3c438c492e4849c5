//! Validation: the checks a workload must pass before it runs, reporting
//! the first problem in document order with its path in the document.

use super::error::{Position, Problem, WorkloadError};
use super::model::{Condition, Invariant, Op, Scaling, Step, Transaction, VarIndex, Workload};

/// One step of a path into the JSON document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Segment {
    /// A field of an object (or the tag of an enum).
    Key(&'static str),
    /// An element of an array.
    Index(usize),
}

/// The path as people write it: `threads[1].steps[0].atomically`.
pub(crate) fn path_text(path: &[Segment]) -> String {
    let mut text = String::new();
    for segment in path {
        match segment {
            Segment::Key(key) => {
                if !text.is_empty() {
                    text.push('.');
                }
                text.push_str(key);
            }
            Segment::Index(i) => text.push_str(&format!("[{i}]")),
        }
    }
    text
}

/// Finds the line and column where the value at a path starts, when the
/// workload came from text.
pub(crate) type Locate<'a> = &'a dyn Fn(&[Segment]) -> Option<(usize, usize)>;

/// Walks a workload, keeping the current path, and stops at the first
/// problem. `locate` turns a path into a line and column, when text exists.
struct Validator<'a> {
    vars: usize,
    /// Variables with a `counter` invariant.
    counters: Vec<VarIndex>,
    path: Vec<Segment>,
    locate: Locate<'a>,
}

type Checked = Result<(), WorkloadError>;

impl Validator<'_> {
    fn fail(&self, problem: Problem) -> Checked {
        Err(WorkloadError::Invalid {
            at: Position {
                path: path_text(&self.path),
                line_column: (self.locate)(&self.path),
            },
            problem,
        })
    }

    /// Runs `f` with `segments` appended to the path.
    fn at(&mut self, segments: &[Segment], f: impl FnOnce(&mut Self) -> Checked) -> Checked {
        let depth = self.path.len();
        self.path.extend_from_slice(segments);
        let result = f(self);
        self.path.truncate(depth);
        result
    }

    fn var(&mut self, var: VarIndex) -> Checked {
        if var >= self.vars {
            return self.fail(Problem::VarOutOfRange {
                var,
                vars: self.vars,
            });
        }
        Ok(())
    }

    fn var_list(&mut self, vars: &[VarIndex]) -> Checked {
        if vars.is_empty() {
            return self.fail(Problem::NoVarsListed);
        }
        for (i, &var) in vars.iter().enumerate() {
            self.at(&[Segment::Index(i)], |v| v.var(var))?;
        }
        Ok(())
    }

    fn condition(&mut self, condition: &Condition) -> Checked {
        self.at(&[Segment::Key("sum")], |v| v.var_list(&condition.sum))
    }

    fn not_counter(&mut self, var: VarIndex, op: &'static str) -> Checked {
        if self.counters.contains(&var) {
            return self.fail(Problem::CounterChanged { var, op });
        }
        Ok(())
    }

    fn workload(&mut self, workload: &Workload) -> Checked {
        if workload.vars.is_empty() {
            return self.at(&[Segment::Key("vars")], |v| v.fail(Problem::NoVars));
        }
        if workload.threads.is_empty() {
            return self.at(&[Segment::Key("threads")], |v| v.fail(Problem::NoThreads));
        }
        for (t, thread) in workload.threads.iter().enumerate() {
            self.at(&[Segment::Key("threads"), Segment::Index(t)], |v| {
                if thread.steps.is_empty() {
                    return v.fail(Problem::NoSteps);
                }
                for (s, step) in thread.steps.iter().enumerate() {
                    v.at(&[Segment::Key("steps"), Segment::Index(s)], |v| {
                        v.step(step)
                    })?;
                }
                Ok(())
            })?;
        }
        for (i, invariant) in workload.invariants.iter().enumerate() {
            self.at(&[Segment::Key("invariants"), Segment::Index(i)], |v| {
                v.invariant(invariant)
            })?;
        }
        if let Some(scaling) = &workload.scaling {
            let threads = workload.threads.len();
            self.at(&[Segment::Key("scaling")], |v| v.scaling(scaling, threads))?;
        }
        Ok(())
    }

    fn scaling(&mut self, scaling: &Scaling, threads: usize) -> Checked {
        if scaling.fixed && (scaling.min_threads.is_some() || !scaling.cycle.is_empty()) {
            return self.fail(Problem::FixedScalingWithOptions);
        }
        if scaling.min_threads == Some(0) {
            return self.at(&[Segment::Key("min_threads")], |v| {
                v.fail(Problem::ZeroMinThreads)
            });
        }
        for (i, &thread) in scaling.cycle.iter().enumerate() {
            if thread >= threads {
                return self.at(&[Segment::Key("cycle"), Segment::Index(i)], |v| {
                    v.fail(Problem::ThreadOutOfRange { thread, threads })
                });
            }
        }
        Ok(())
    }

    fn invariant(&mut self, invariant: &Invariant) -> Checked {
        match invariant {
            Invariant::SumPreserved(vars) => {
                self.at(&[Segment::Key("sum_preserved")], |v| v.var_list(vars))
            }
            Invariant::Counter(var) => self.at(&[Segment::Key("counter")], |v| v.var(*var)),
            Invariant::Equals { var, .. } => self
                .at(&[Segment::Key("equals"), Segment::Key("var")], |v| {
                    v.var(*var)
                }),
            Invariant::EachAtLeast { vars, .. } => self.at(
                &[Segment::Key("each_at_least"), Segment::Key("vars")],
                |v| v.var_list(vars),
            ),
            Invariant::Holds(condition) => {
                self.at(&[Segment::Key("holds")], |v| v.condition(condition))
            }
        }
    }

    fn step(&mut self, step: &Step) -> Checked {
        match step {
            Step::Atomically(tx) => self.at(&[Segment::Key("atomically")], |v| {
                if !tx.adds.is_empty() {
                    return v.at(&[Segment::Key("adds")], |v| {
                        v.fail(Problem::AddsOutsideQueue)
                    });
                }
                v.transaction(tx)
            }),
            Step::Queue(queue) => self.at(&[Segment::Key("queue")], |v| {
                if queue.workers == 0 {
                    return v.at(&[Segment::Key("workers")], |v| v.fail(Problem::ZeroWorkers));
                }
                if queue.items.is_empty() {
                    return v.at(&[Segment::Key("items")], |v| v.fail(Problem::EmptyQueue));
                }
                let adding = queue.items.iter().any(|item| !item.adds.is_empty());
                for (i, item) in queue.items.iter().enumerate() {
                    v.at(&[Segment::Key("items"), Segment::Index(i)], |v| {
                        v.item(item, adding)
                    })?;
                }
                Ok(())
            }),
        }
    }

    /// A queue item; `adding`: some item of its run adds items.
    fn item(&mut self, item: &Transaction, adding: bool) -> Checked {
        self.transaction(item)?;
        if adding {
            if let Some(op) = stopping_op(&item.ops) {
                return self.at(&[Segment::Key("ops")], |v| {
                    v.fail(Problem::StopInAddingRun { op })
                });
            }
        }
        for (i, added) in item.adds.iter().enumerate() {
            self.at(&[Segment::Key("adds"), Segment::Index(i)], |v| {
                if !added.adds.is_empty() {
                    return v.at(&[Segment::Key("adds")], |v| v.fail(Problem::NestedAdds));
                }
                if let Some(op) = stopping_op(&added.ops) {
                    return v.at(&[Segment::Key("ops")], |v| {
                        v.fail(Problem::StopInAddingRun { op })
                    });
                }
                v.transaction(added)
            })?;
        }
        Ok(())
    }

    fn transaction(&mut self, tx: &Transaction) -> Checked {
        if tx.ops.is_empty() {
            return self.fail(Problem::EmptyTransaction);
        }
        self.at(&[Segment::Key("ops")], |v| v.ops(&tx.ops))
    }

    fn ops(&mut self, ops: &[Op]) -> Checked {
        for (i, op) in ops.iter().enumerate() {
            self.at(&[Segment::Index(i)], |v| v.op(op))?;
        }
        Ok(())
    }

    fn op(&mut self, op: &Op) -> Checked {
        match op {
            Op::Read(var) => self.at(&[Segment::Key("read")], |v| v.var(*var)),
            Op::Write { var, .. } => self.at(&[Segment::Key("write")], |v| {
                v.at(&[Segment::Key("var")], |v| v.var(*var))?;
                v.not_counter(*var, "write")
            }),
            Op::Add { var, .. } => {
                self.at(&[Segment::Key("add"), Segment::Key("var")], |v| v.var(*var))
            }
            Op::Commute { var, .. } => self
                .at(&[Segment::Key("commute"), Segment::Key("var")], |v| {
                    v.var(*var)
                }),
            Op::Panic => Ok(()),
            Op::Transfer { from, to, .. } => self.at(&[Segment::Key("transfer")], |v| {
                v.at(&[Segment::Key("from")], |v| v.var(*from))?;
                v.at(&[Segment::Key("to")], |v| v.var(*to))?;
                if from == to {
                    return v.fail(Problem::TransferToItself { var: *from });
                }
                v.not_counter(*from, "transfer")?;
                v.not_counter(*to, "transfer")
            }),
            Op::Scan(vars) => self.at(&[Segment::Key("scan")], |v| v.var_list(vars)),
            Op::RetryUnless(c) => self.at(&[Segment::Key("retry_unless")], |v| v.condition(c)),
            Op::AbortUnless(c) => self.at(&[Segment::Key("abort_unless")], |v| v.condition(c)),
            Op::Assert(c) => self.at(&[Segment::Key("assert")], |v| v.condition(c)),
            Op::OrElse { first, second } => self.at(&[Segment::Key("or_else")], |v| {
                v.at(&[Segment::Key("first")], |v| v.ops(first))?;
                v.at(&[Segment::Key("second")], |v| v.ops(second))
            }),
        }
    }
}

/// The first operation of `ops` (or of their `or_else` branches) that can
/// stop a queue run: `abort_unless` or `panic`.
fn stopping_op(ops: &[Op]) -> Option<&'static str> {
    ops.iter().find_map(|op| match op {
        Op::AbortUnless(_) => Some("abort_unless"),
        Op::Panic => Some("panic"),
        Op::OrElse { first, second } => stopping_op(first).or_else(|| stopping_op(second)),
        _ => None,
    })
}

/// Validates `workload`; `locate` gives the line and column of a path, when
/// the workload came from text.
pub(crate) fn validate(workload: &Workload, locate: Locate<'_>) -> Result<(), WorkloadError> {
    let counters = workload
        .invariants
        .iter()
        .filter_map(|invariant| match invariant {
            Invariant::Counter(var) => Some(*var),
            _ => None,
        })
        .collect();
    Validator {
        vars: workload.vars.len(),
        counters,
        path: Vec::new(),
        locate,
    }
    .workload(workload)
}
