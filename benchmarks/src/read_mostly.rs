//! `read_mostly`: each operation reads 64 of 1,024 variables and writes
//! one: long read sets and rare conflicts, where reads must cost little and
//! must not serialize the threads.
//!
//! Besides one `Mutex` around everything, this workload has an `RwLock`
//! version: one lock per variable, taken in index order (shared for the 64
//! read, exclusive for the one written), the fine-grained locking a careful
//! programmer would write by hand.

use crate::rng::Rng;
use crate::threads::{SequentialOp, SharedOp};
use std::hint::black_box;
use std::sync::{Mutex, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

/// Variables (a power of two: indices are drawn with a mask).
pub const VARS: usize = 1024;

/// Variables read by each operation (distinct).
pub const READS: usize = 64;

/// The variables one operation reads and the one it writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Access {
    start: usize,
    stride: usize,
    /// The variable written.
    pub write: usize,
}

impl Access {
    /// A random access, from one draw of `rng`: the reads are `start`,
    /// `start + stride`, ... with an odd stride, hence distinct.
    #[inline]
    pub fn draw(rng: &mut Rng) -> Self {
        let r = rng.next_u64();
        Access {
            start: r as usize & (VARS - 1),
            stride: ((r >> 10) as usize & (VARS - 1)) | 1,
            write: (r >> 20) as usize & (VARS - 1),
        }
    }

    /// The variables read, in the order read.
    #[inline]
    pub fn reads(&self) -> impl Iterator<Item = usize> {
        let (start, stride) = (self.start, self.stride);
        (0..READS).map(move |k| (start + k * stride) & (VARS - 1))
    }
}

/// The value written: derived from the sum read, and kept small.
#[inline]
fn written(sum: u64) -> u64 {
    (sum + 1) & 0xFFFF
}

/// Plain code on a plain `Vec<u64>`: the baseline.
#[derive(Debug)]
pub struct Sequential {
    values: Vec<u64>,
}

impl Sequential {
    /// Every variable at 0.
    pub fn new() -> Self {
        Sequential {
            values: vec![0; VARS],
        }
    }

    /// The current values.
    pub fn values(&self) -> Vec<u64> {
        self.values.clone()
    }
}

impl Default for Sequential {
    fn default() -> Self {
        Self::new()
    }
}

impl SequentialOp for Sequential {
    #[inline]
    fn op(&mut self, rng: &mut Rng) {
        let access = Access::draw(rng);
        let values = black_box(&mut self.values);
        let sum = access.reads().map(|i| values[i]).sum();
        values[access.write] = written(sum);
    }
}

/// One `Mutex` around all the variables.
#[derive(Debug)]
pub struct Locked {
    values: Mutex<Vec<u64>>,
}

impl Locked {
    /// Every variable at 0.
    pub fn new() -> Self {
        Locked {
            values: Mutex::new(vec![0; VARS]),
        }
    }

    /// The current values.
    pub fn values(&self) -> Vec<u64> {
        self.values
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl Default for Locked {
    fn default() -> Self {
        Self::new()
    }
}

impl SharedOp for Locked {
    #[inline]
    fn op(&self, rng: &mut Rng) {
        let access = Access::draw(rng);
        let mut values = self.values.lock().unwrap_or_else(PoisonError::into_inner);
        let sum = access.reads().map(|i| values[i]).sum();
        values[access.write] = written(sum);
    }
}

/// One `RwLock` per variable, taken in index order (so two operations
/// never wait on each other in a cycle): shared for the variables only
/// read, exclusive for the one written.
#[derive(Debug)]
pub struct RwLocked {
    values: Vec<RwLock<u64>>,
}

impl RwLocked {
    /// Every variable at 0.
    pub fn new() -> Self {
        RwLocked {
            values: (0..VARS).map(|_| RwLock::new(0)).collect(),
        }
    }

    /// The current values.
    pub fn values(&self) -> Vec<u64> {
        self.values
            .iter()
            .map(|v| *v.read().unwrap_or_else(PoisonError::into_inner))
            .collect()
    }
}

impl Default for RwLocked {
    fn default() -> Self {
        Self::new()
    }
}

impl SharedOp for RwLocked {
    #[inline]
    fn op(&self, rng: &mut Rng) {
        let access = Access::draw(rng);
        // The variables to lock as a bitmap, walked in index order.
        let mut wanted = [0u64; VARS / 64];
        for i in access.reads() {
            wanted[i / 64] |= 1 << (i % 64);
        }
        let write_is_read = wanted[access.write / 64] & (1 << (access.write % 64)) != 0;
        wanted[access.write / 64] |= 1 << (access.write % 64);
        let mut shared: Vec<RwLockReadGuard<'_, u64>> = Vec::with_capacity(READS);
        let mut exclusive: Option<RwLockWriteGuard<'_, u64>> = None;
        for (word, mut bits) in wanted.into_iter().enumerate() {
            while bits != 0 {
                let i = word * 64 + bits.trailing_zeros() as usize;
                bits &= bits - 1;
                let lock = &self.values[i];
                if i == access.write {
                    exclusive = Some(lock.write().unwrap_or_else(PoisonError::into_inner));
                } else {
                    shared.push(lock.read().unwrap_or_else(PoisonError::into_inner));
                }
            }
        }
        let mut exclusive = exclusive.expect("the written variable is locked");
        let mut sum: u64 = shared.iter().map(|guard| **guard).sum();
        if write_is_read {
            sum += *exclusive;
        }
        *exclusive = written(sum);
    }
}

/// One stm-core `TVar` per variable, on a runtime of its own.
#[derive(Debug)]
pub struct StmCore {
    stm: stm_core::Stm,
    values: Vec<stm_core::TVar<u64>>,
}

impl StmCore {
    /// Every variable at 0.
    pub fn new() -> Self {
        let stm = stm_core::Stm::new();
        let values = (0..VARS).map(|_| stm.new_tvar(0)).collect();
        StmCore { stm, values }
    }

    /// The current values.
    pub fn values(&self) -> Vec<u64> {
        self.values.iter().map(stm_core::TVar::load).collect()
    }
}

impl Default for StmCore {
    fn default() -> Self {
        Self::new()
    }
}

impl SharedOp for StmCore {
    #[inline]
    fn op(&self, rng: &mut Rng) {
        let access = Access::draw(rng);
        self.stm.atomically(|tx| {
            let mut sum = 0;
            for i in access.reads() {
                sum += tx.read(&self.values[i])?;
            }
            tx.write(&self.values[access.write], written(sum))
        });
    }
}

/// One `TVar` per variable in the `stm` crate 0.4 (rust-stm).
pub struct RustStm {
    values: Vec<stm::TVar<u64>>,
}

impl RustStm {
    /// Every variable at 0.
    pub fn new() -> Self {
        RustStm {
            values: (0..VARS).map(|_| stm::TVar::new(0)).collect(),
        }
    }

    /// The current values.
    pub fn values(&self) -> Vec<u64> {
        self.values.iter().map(stm::TVar::read_atomic).collect()
    }
}

impl Default for RustStm {
    fn default() -> Self {
        Self::new()
    }
}

impl SharedOp for RustStm {
    #[inline]
    fn op(&self, rng: &mut Rng) {
        let access = Access::draw(rng);
        stm::atomically(|tx| {
            let mut sum = 0;
            for i in access.reads() {
                sum += self.values[i].read(tx)?;
            }
            self.values[access.write].write(tx, written(sum))
        });
    }
}

/// One `TVar` per variable in `kovan-stm` 0.2.0, on an engine of its own.
pub struct Kovan {
    stm: kovan_stm::Stm,
    values: Vec<kovan_stm::TVar<u64>>,
}

impl Kovan {
    /// Every variable at 0.
    pub fn new() -> Self {
        let stm = kovan_stm::Stm::new();
        let values = (0..VARS).map(|_| stm.tvar(0)).collect();
        Kovan { stm, values }
    }

    /// The current values (read in one transaction).
    pub fn values(&self) -> Vec<u64> {
        self.stm.atomically(|tx| {
            let mut values = Vec::with_capacity(VARS);
            for v in &self.values {
                values.push(tx.load(v)?);
            }
            Ok(values)
        })
    }
}

impl Default for Kovan {
    fn default() -> Self {
        Self::new()
    }
}

impl SharedOp for Kovan {
    #[inline]
    fn op(&self, rng: &mut Rng) {
        let access = Access::draw(rng);
        self.stm.atomically(|tx| {
            let mut sum = 0;
            for i in access.reads() {
                sum += tx.load(&self.values[i])?;
            }
            tx.store(&self.values[access.write], written(sum))?;
            Ok(())
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::threads::{run_sequential, run_threads};

    #[test]
    fn reads_are_distinct() {
        let mut rng = Rng::new(9);
        for _ in 0..1_000 {
            let mut reads: Vec<usize> = Access::draw(&mut rng).reads().collect();
            reads.sort_unstable();
            reads.dedup();
            assert_eq!(reads.len(), READS);
        }
    }

    #[test]
    fn on_one_thread_every_implementation_computes_the_same_values() {
        let mut sequential = Sequential::new();
        run_sequential(&mut sequential, 3_000, 4);
        let expected = sequential.values();
        assert!(expected.iter().filter(|&&v| v > 1).count() > 100);
        let check = |name: &str, values: Vec<u64>| assert_eq!(values, expected, "{name}");
        let locked = Locked::new();
        run_threads(&locked, 1, 3_000, 4);
        check("mutex", locked.values());
        let rw_locked = RwLocked::new();
        run_threads(&rw_locked, 1, 3_000, 4);
        check("rwlock", rw_locked.values());
        let stm_core = StmCore::new();
        run_threads(&stm_core, 1, 3_000, 4);
        check("stm-core", stm_core.values());
        let rust_stm = RustStm::new();
        run_threads(&rust_stm, 1, 3_000, 4);
        check("rust-stm", rust_stm.values());
        let kovan = Kovan::new();
        run_threads(&kovan, 1, 3_000, 4);
        check("kovan-stm", kovan.values());
    }

    #[test]
    fn two_threads_finish() {
        // Index-ordered locking cannot deadlock; the STMs must not livelock.
        run_threads(&RwLocked::new(), 2, 2_000, 1);
        run_threads(&StmCore::new(), 2, 2_000, 1);
        run_threads(&RustStm::new(), 2, 2_000, 1);
        run_threads(&Kovan::new(), 2, 2_000, 1);
    }
}
