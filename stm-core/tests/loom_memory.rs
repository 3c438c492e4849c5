//! Loom models of the engine's memory protocols on the correct engine: the
//! lock-free read path, deferred reclamation and dropped TVars (see
//! `support/memory_models.rs`). Each must pass with no causality violation.

mod support {
    pub mod memory_models;
    pub mod tracked;
}

use support::memory_models::{self as models, correct};

#[test]
fn publication_of_a_new_value() {
    models::publication_of_a_new_value(correct);
}

#[test]
fn reads_racing_a_write_back() {
    models::reads_racing_a_write_back(correct);
}

#[test]
fn an_auditor_racing_a_transfer() {
    models::an_auditor_racing_a_transfer(correct);
}

#[test]
fn reclamation_racing_a_late_reader() {
    models::reclamation_racing_a_late_reader(correct);
}

#[test]
fn a_tvar_dropped_while_logged() {
    models::a_tvar_dropped_while_logged(correct);
}

#[test]
fn a_retry_waiter_keeps_what_it_waits_on() {
    models::a_retry_waiter_keeps_what_it_waits_on(correct);
}
