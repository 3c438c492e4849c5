//! `counter`: every operation increments one shared counter, so every pair
//! of concurrent transactions conflicts: the worst case, where an STM must
//! at least not collapse when a second thread joins.

use crate::rng::Rng;
use crate::threads::{SequentialOp, SharedOp};
use std::hint::black_box;
use std::sync::{Mutex, PoisonError};

/// A plain `u64`: the baseline.
#[derive(Debug, Default)]
pub struct Sequential {
    value: u64,
}

impl Sequential {
    /// The count so far.
    pub fn value(&self) -> u64 {
        self.value
    }
}

impl SequentialOp for Sequential {
    #[inline]
    fn op(&mut self, _rng: &mut Rng) {
        // Without the black box the loop would become one addition.
        *black_box(&mut self.value) += 1;
    }
}

/// A `Mutex<u64>`.
#[derive(Debug, Default)]
pub struct Locked {
    value: Mutex<u64>,
}

impl Locked {
    /// The count so far.
    pub fn value(&self) -> u64 {
        *self.value.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl SharedOp for Locked {
    #[inline]
    fn op(&self, _rng: &mut Rng) {
        *self.value.lock().unwrap_or_else(PoisonError::into_inner) += 1;
    }
}

/// One stm-core `TVar` on a runtime of its own.
#[derive(Debug)]
pub struct StmCore {
    stm: stm_core::Stm,
    value: stm_core::TVar<u64>,
}

impl StmCore {
    /// A counter at 0.
    pub fn new() -> Self {
        let stm = stm_core::Stm::new();
        let value = stm.new_tvar(0);
        StmCore { stm, value }
    }

    /// The count so far.
    pub fn value(&self) -> u64 {
        self.value.load()
    }
}

impl Default for StmCore {
    fn default() -> Self {
        Self::new()
    }
}

impl SharedOp for StmCore {
    #[inline]
    fn op(&self, _rng: &mut Rng) {
        self.stm.atomically(|tx| {
            let v = tx.read(&self.value)?;
            tx.write(&self.value, v + 1)
        });
    }
}

/// One `TVar` of the `stm` crate 0.4 (rust-stm).
pub struct RustStm {
    value: stm::TVar<u64>,
}

impl RustStm {
    /// A counter at 0.
    pub fn new() -> Self {
        RustStm {
            value: stm::TVar::new(0),
        }
    }

    /// The count so far.
    pub fn value(&self) -> u64 {
        self.value.read_atomic()
    }
}

impl Default for RustStm {
    fn default() -> Self {
        Self::new()
    }
}

impl SharedOp for RustStm {
    #[inline]
    fn op(&self, _rng: &mut Rng) {
        stm::atomically(|tx| {
            let v = self.value.read(tx)?;
            self.value.write(tx, v + 1)
        });
    }
}

/// One `TVar` of `kovan-stm` 0.2.0, on an engine of its own.
pub struct Kovan {
    stm: kovan_stm::Stm,
    value: kovan_stm::TVar<u64>,
}

impl Kovan {
    /// A counter at 0.
    pub fn new() -> Self {
        let stm = kovan_stm::Stm::new();
        let value = stm.tvar(0);
        Kovan { stm, value }
    }

    /// The count so far.
    pub fn value(&self) -> u64 {
        self.stm.atomically(|tx| tx.load(&self.value))
    }
}

impl Default for Kovan {
    fn default() -> Self {
        Self::new()
    }
}

impl SharedOp for Kovan {
    #[inline]
    fn op(&self, _rng: &mut Rng) {
        self.stm.atomically(|tx| {
            let v = tx.load(&self.value)?;
            tx.store(&self.value, v + 1)?;
            Ok(())
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::threads::{run_sequential, run_threads};

    #[test]
    fn no_increment_is_lost() {
        let mut sequential = Sequential::default();
        run_sequential(&mut sequential, 1_000, 0);
        assert_eq!(sequential.value(), 1_000);
        let locked = Locked::default();
        run_threads(&locked, 2, 1_000, 0);
        assert_eq!(locked.value(), 2_000);
        let stm_core = StmCore::new();
        run_threads(&stm_core, 2, 1_000, 0);
        assert_eq!(stm_core.value(), 2_000);
        let rust_stm = RustStm::new();
        run_threads(&rust_stm, 2, 1_000, 0);
        assert_eq!(rust_stm.value(), 2_000);
        let kovan = Kovan::new();
        run_threads(&kovan, 2, 1_000, 0);
        assert_eq!(kovan.value(), 2_000);
    }
}
