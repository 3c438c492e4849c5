//! Scaling a workload to another number of threads (`explore --threads T`):
//! its threads are templates, copied in turn, and the invariants that state
//! exact final values are derived again for the new thread set.

use super::error::WorkloadError;
use super::model::Workload;
use super::serial::SerialRuns;

impl Workload {
    /// This workload with `threads` threads.
    ///
    /// The first threads are the workload's own (the first `threads` of them
    /// when scaling down, which keeps each thread's role); each thread
    /// beyond them copies, in turn, one of the threads its `scaling.cycle`
    /// lists (every thread when absent). `sum_preserved` and `counter`
    /// invariants hold as they are; an `equals` invariant that states what
    /// the threads leave (the value a serial run of the workload ends with)
    /// is set to what a serial run of the scaled workload ends with. The
    /// scaled workload is then run serially in several thread orders on a
    /// correct engine: any failure the workload's own serial runs do not
    /// show (an invariant that only held for the original thread set, a
    /// `retry_unless` left waiting forever) refuses the scaling.
    ///
    /// `threads` equal to the workload's own count returns it unchanged
    /// (the same fingerprint). Refused: 0 threads, fewer than
    /// `scaling.min_threads`, and any change to a workload whose scaling is
    /// `fixed`.
    ///
    /// ```
    /// use stm_check::workload::{Invariant, Workload};
    ///
    /// let bank = Workload::builtin("bank").unwrap();
    /// assert_eq!(bank.with_threads(3).unwrap(), bank);
    /// let five = bank.with_threads(5).unwrap();
    /// assert_eq!(five.threads.len(), 5);
    /// assert_eq!(five.threads[3], bank.threads[0]);
    /// // Two more transfers from alice to bob and on to carol, one more back.
    /// assert!(five.invariants.contains(&Invariant::Equals { var: 0, value: 80 }));
    /// assert!(five.run(&stm_core::Stm::new()).is_ok());
    ///
    /// let error = bank.with_threads(0).unwrap_err();
    /// assert_eq!(error.to_string(), "workload `bank` cannot run with 0 thread(s): a workload needs at least one thread");
    /// ```
    pub fn with_threads(&self, threads: usize) -> Result<Workload, WorkloadError> {
        let cannot = |reason: String| WorkloadError::CannotScale {
            name: self.name.clone(),
            threads,
            reason,
        };
        if threads == 0 {
            return Err(cannot("a workload needs at least one thread".into()));
        }
        self.validate()?;
        let own = self.threads.len();
        if threads == own {
            return Ok(self.clone());
        }
        let scaling = self.scaling.clone().unwrap_or_default();
        if scaling.fixed {
            return Err(cannot(format!(
                "its scaling is fixed: it runs with its own {own} thread(s) only"
            )));
        }
        let min = scaling.min_threads.unwrap_or(1);
        if threads < min {
            return Err(cannot(format!("it needs at least {min} threads")));
        }
        let cycle: Vec<usize> = if scaling.cycle.is_empty() {
            (0..own).collect()
        } else {
            scaling.cycle.clone()
        };
        let mut scaled = self.clone();
        scaled.threads = (0..threads)
            .map(|i| {
                let template = if i < own {
                    i
                } else {
                    cycle[(i - own) % cycle.len()]
                };
                self.threads[template].clone()
            })
            .collect();
        scaled.scaling = None;
        let note = format!("Scaled from {own} to {threads} threads.");
        scaled.description = if self.description.is_empty() {
            note
        } else {
            format!("{} {note}", self.description)
        };
        scaled.validate()?;

        let before = SerialRuns::of(self);
        let derived = before.derived_equals(self);
        let after = SerialRuns::of(&scaled);
        after.rederive_equals(&mut scaled, &derived);
        let known = before.failures(self);
        let found = after.failures(&scaled);
        if let Some(new) = found.kinds().find(|kind| !known.contains(kind)) {
            return Err(cannot(format!(
                "a serial run of the scaled workload on a correct engine shows {new}, which the workload's own serial runs do not"
            )));
        }
        Ok(scaled)
    }
}
