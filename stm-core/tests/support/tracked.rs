//! A boxed TVar value whose contents loom watches: reading them is a read of
//! a loom cell, making them (by cloning, or by being created) a write, and
//! dropping them a write too. Loom then reports any read of a value that is
//! not ordered after its initialisation (a publication too weak), and any
//! free not ordered after every read (reclamation too early), as a
//! causality violation.

use loom::cell::UnsafeCell;
use std::sync::Arc;

/// What a dropped value's cell holds.
pub const FREED: i64 = i64::MIN;

/// An `i64` behind a loom cell (and so never stored inline by the engine).
#[derive(Debug)]
pub struct Tracked(Arc<WatchedCell>);

/// The loom cell, shareable between threads.
#[derive(Debug)]
struct WatchedCell(UnsafeCell<i64>);

// SAFETY: the cell is used only through `get` (a read) and `drop` (a
// write), each checked by loom: an access that is not properly ordered is
// reported as a causality violation, which is what these models look for.
unsafe impl Sync for WatchedCell {}
// SAFETY: as for `Sync`.
unsafe impl Send for WatchedCell {}

impl Tracked {
    pub fn new(value: i64) -> Self {
        Tracked(Arc::new(WatchedCell(UnsafeCell::new(value))))
    }

    /// The value; a read loom checks.
    pub fn get(&self) -> i64 {
        // SAFETY: loom checks every access to the cell.
        let value = self.0 .0.with(|v| unsafe { *v });
        assert_ne!(value, FREED, "read a freed value");
        value
    }
}

impl Clone for Tracked {
    fn clone(&self) -> Self {
        Tracked::new(self.get())
    }
}

impl Drop for Tracked {
    fn drop(&mut self) {
        // SAFETY: loom checks every access to the cell.
        self.0 .0.with_mut(|v| unsafe { *v = FREED });
    }
}
