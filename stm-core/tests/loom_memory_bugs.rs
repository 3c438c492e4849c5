//! The injected memory bugs, each caught by a loom model of
//! `support/memory_models.rs` (run on a runtime with the bug switched on):
//! `publish-relaxed` (a write-back published with relaxed orderings),
//! `free-before-readers-leave` (replaced values and dropped TVars freed at
//! once) and `clock-relaxed` (commit versions taken with a relaxed
//! read-modify-write, so a snapshot that includes a commit need not see
//! its locks: the auditor reads a torn transfer). Loom reports a causality
//! violation (or a model's assertion fails), so each test expects a panic. (A TVar header freed too early is
//! invisible to loom, which does not track plain memory: Miri and
//! AddressSanitizer catch that one, see `boxed_values_std.rs`.)
//!
//! A broken engine really frees what a reader is about to touch; so that
//! the test process survives long enough for loom to report it, this
//! binary's allocator never gives memory back (each test stops at its first
//! failing execution, so little is kept).

mod support {
    pub mod memory_models;
    pub mod tracked;
}

use std::alloc::{GlobalAlloc, Layout, System};
use stm_core::{InjectedBug, LoomPlatform, Stm, StmConfig};
use support::memory_models::{self as models, Runtime};

struct NeverFree;

// SAFETY: allocation is the system's; deallocation does nothing, which is
// always sound (memory is only kept).
unsafe impl GlobalAlloc for NeverFree {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract, passed on.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, _ptr: *mut u8, _layout: Layout) {}
}

#[global_allocator]
static ALLOCATOR: NeverFree = NeverFree;

fn with_bug(bug: InjectedBug) -> Runtime {
    Stm::<LoomPlatform>::with_injected_bug(
        StmConfig {
            irrevocable_after: u32::MAX,
            ..StmConfig::default()
        },
        None,
        bug,
    )
}

fn publish_relaxed() -> Runtime {
    with_bug(InjectedBug::PublishRelaxed)
}

fn clock_relaxed() -> Runtime {
    with_bug(InjectedBug::ClockRelaxed)
}

fn free_before_readers_leave() -> Runtime {
    with_bug(InjectedBug::FreeBeforeReadersLeave)
}

#[test]
#[should_panic(expected = "Causality violation")]
fn publish_relaxed_is_caught_by_the_publication_model() {
    models::publication_of_a_new_value(publish_relaxed);
}

#[test]
#[should_panic(expected = "Causality violation")]
fn publish_relaxed_is_caught_by_the_read_racing_write_back_model() {
    models::reads_racing_a_write_back(publish_relaxed);
}

#[test]
#[should_panic(expected = "Causality violation")]
fn free_before_readers_leave_is_caught_by_the_late_reader_model() {
    models::reclamation_racing_a_late_reader(free_before_readers_leave);
}

#[test]
#[should_panic(expected = "the auditor committed a torn transfer")]
fn clock_relaxed_is_caught_by_the_auditor_model() {
    models::an_auditor_racing_a_transfer(clock_relaxed);
}
