//! Running a workload with a [`HistoryRecorder`] attached, so that the run
//! can be checked for serializability and opacity as well as for its own
//! assertions and invariants.

use super::model::Workload;
use super::outcome::WorkloadOutcome;
use crate::history::History;
use crate::record::HistoryRecorder;
use std::sync::Arc;
use stm_core::{Platform, Stm, StmConfig};

impl Workload {
    /// Runs the workload on a fresh runtime of platform `P` with settings
    /// `config` and a [`HistoryRecorder`] that knows every variable's initial
    /// value; returns the outcome and the recorded history. Under a model
    /// checker, call it inside the model closure.
    ///
    /// ```
    /// use stm_check::workload::Workload;
    /// use stm_core::{Std, StmConfig};
    ///
    /// let workload = Workload::builtin("write-skew").unwrap();
    /// let (outcome, history) = workload.run_recorded::<Std>(StmConfig::default());
    /// assert!(outcome.is_ok(), "{outcome}");
    /// assert_eq!(outcome.user_aborts, 1); // exactly one withdrawal is refused
    /// assert!(stm_check::history::check(&history).unwrap().is_valid());
    /// ```
    pub fn run_recorded<P: Platform>(&self, config: StmConfig) -> (WorkloadOutcome, History) {
        let recorder = Arc::new(HistoryRecorder::new());
        let stm = Stm::<P>::for_platform_with_recorder(config, recorder.clone());
        let vars = self.create_vars(&stm);
        for (id, var) in vars.ids().into_iter().zip(&self.vars) {
            recorder.set_initial(id, var.initial);
        }
        let outcome = self.run_on(&stm, &vars);
        (outcome, recorder.history())
    }
}
