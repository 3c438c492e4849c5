//! `bank`: random transfers between 1,024 accounts, two reads and two
//! writes each: tiny transactions that rarely conflict, where an STM's own
//! cost shows most plainly.
//!
//! Every implementation is generic over a [`TransferWork`], the computation
//! a transfer does inside its transaction: [`NoWork`] here, and the
//! microsecond of [`PrivateWork`](crate::work::PrivateWork) in `work`.

use crate::rng::Rng;
use crate::threads::{SequentialOp, SharedOp};
use std::hint::black_box;
use std::marker::PhantomData;
use std::sync::{Mutex, PoisonError};

/// Accounts (a power of two: indices are drawn with a mask).
pub const ACCOUNTS: usize = 1024;

/// Starting balance of every account.
pub const INITIAL_BALANCE: i64 = 1_000;

/// The money every implementation must still hold after any number of
/// transfers.
pub const TOTAL: i64 = INITIAL_BALANCE * ACCOUNTS as i64;

/// One transfer: from one account to another, distinct one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transfer {
    /// The paying account.
    pub from: usize,
    /// The receiving account.
    pub to: usize,
    /// The base amount (below 64).
    pub amount: i64,
}

impl Transfer {
    /// A random transfer, from one draw of `rng`.
    #[inline]
    pub fn draw(rng: &mut Rng) -> Self {
        let r = rng.next_u64();
        let from = r as usize & (ACCOUNTS - 1);
        let mut to = (r >> 10) as usize & (ACCOUNTS - 1);
        if to == from {
            to = (from + 1) & (ACCOUNTS - 1);
        }
        Transfer {
            from,
            to,
            amount: ((r >> 20) & 63) as i64,
        }
    }
}

/// What a transfer computes inside its transaction: the amount moved, from
/// the transfer and the payer's balance as read.
pub trait TransferWork {
    /// The amount to move.
    fn amount(transfer: &Transfer, from_balance: i64) -> i64;
}

/// No computation: the amount drawn (the `bank` workload).
#[derive(Debug, Clone, Copy, Default)]
pub struct NoWork;

impl TransferWork for NoWork {
    #[inline]
    fn amount(transfer: &Transfer, _from_balance: i64) -> i64 {
        transfer.amount
    }
}

/// Plain code on a plain `Vec<i64>`: the baseline.
#[derive(Debug)]
pub struct Sequential<W = NoWork> {
    balances: Vec<i64>,
    work: PhantomData<W>,
}

impl<W: TransferWork> Sequential<W> {
    /// Every account at [`INITIAL_BALANCE`].
    pub fn new() -> Self {
        Sequential {
            balances: vec![INITIAL_BALANCE; ACCOUNTS],
            work: PhantomData,
        }
    }

    /// The sum of all balances.
    pub fn total(&self) -> i64 {
        self.balances.iter().sum()
    }
}

impl<W: TransferWork> Default for Sequential<W> {
    fn default() -> Self {
        Self::new()
    }
}

impl<W: TransferWork> SequentialOp for Sequential<W> {
    #[inline]
    fn op(&mut self, rng: &mut Rng) {
        let t = Transfer::draw(rng);
        let balances = black_box(&mut self.balances);
        let amount = W::amount(&t, balances[t.from]);
        balances[t.from] -= amount;
        balances[t.to] += amount;
    }
}

/// One `Mutex` around all the accounts.
#[derive(Debug)]
pub struct Locked<W = NoWork> {
    balances: Mutex<Vec<i64>>,
    work: PhantomData<fn() -> W>,
}

impl<W: TransferWork> Locked<W> {
    /// Every account at [`INITIAL_BALANCE`].
    pub fn new() -> Self {
        Locked {
            balances: Mutex::new(vec![INITIAL_BALANCE; ACCOUNTS]),
            work: PhantomData,
        }
    }

    /// The sum of all balances.
    pub fn total(&self) -> i64 {
        self.balances
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .sum()
    }
}

impl<W: TransferWork> Default for Locked<W> {
    fn default() -> Self {
        Self::new()
    }
}

impl<W: TransferWork> SharedOp for Locked<W> {
    #[inline]
    fn op(&self, rng: &mut Rng) {
        let t = Transfer::draw(rng);
        let mut balances = self.balances.lock().unwrap_or_else(PoisonError::into_inner);
        let amount = W::amount(&t, balances[t.from]);
        balances[t.from] -= amount;
        balances[t.to] += amount;
    }
}

/// One `TVar` per account on an stm-core runtime of its own.
#[derive(Debug)]
pub struct StmCore<W = NoWork> {
    stm: stm_core::Stm,
    accounts: Vec<stm_core::TVar<i64>>,
    work: PhantomData<fn() -> W>,
}

impl<W: TransferWork> StmCore<W> {
    /// Every account at [`INITIAL_BALANCE`], on a fresh runtime.
    pub fn new() -> Self {
        let stm = stm_core::Stm::new();
        let accounts = (0..ACCOUNTS)
            .map(|_| stm.new_tvar(INITIAL_BALANCE))
            .collect();
        StmCore {
            stm,
            accounts,
            work: PhantomData,
        }
    }

    /// The sum of all balances.
    pub fn total(&self) -> i64 {
        self.accounts.iter().map(stm_core::TVar::load).sum()
    }
}

impl<W: TransferWork> Default for StmCore<W> {
    fn default() -> Self {
        Self::new()
    }
}

impl<W: TransferWork> SharedOp for StmCore<W> {
    #[inline]
    fn op(&self, rng: &mut Rng) {
        let t = Transfer::draw(rng);
        let (from, to) = (&self.accounts[t.from], &self.accounts[t.to]);
        self.stm.atomically(|tx| {
            let a = tx.read(from)?;
            let b = tx.read(to)?;
            let amount = W::amount(&t, a);
            tx.write(from, a - amount)?;
            tx.write(to, b + amount)
        });
    }
}

/// One `TVar` per account in the `stm` crate 0.4 (rust-stm).
pub struct RustStm<W = NoWork> {
    accounts: Vec<stm::TVar<i64>>,
    work: PhantomData<fn() -> W>,
}

impl<W: TransferWork> RustStm<W> {
    /// Every account at [`INITIAL_BALANCE`].
    pub fn new() -> Self {
        RustStm {
            accounts: (0..ACCOUNTS)
                .map(|_| stm::TVar::new(INITIAL_BALANCE))
                .collect(),
            work: PhantomData,
        }
    }

    /// The sum of all balances.
    pub fn total(&self) -> i64 {
        self.accounts.iter().map(stm::TVar::read_atomic).sum()
    }
}

impl<W: TransferWork> Default for RustStm<W> {
    fn default() -> Self {
        Self::new()
    }
}

impl<W: TransferWork> SharedOp for RustStm<W> {
    #[inline]
    fn op(&self, rng: &mut Rng) {
        let t = Transfer::draw(rng);
        let (from, to) = (&self.accounts[t.from], &self.accounts[t.to]);
        stm::atomically(|tx| {
            let a = from.read(tx)?;
            let b = to.read(tx)?;
            let amount = W::amount(&t, a);
            from.write(tx, a - amount)?;
            to.write(tx, b + amount)
        });
    }
}

/// One `TVar` per account in `kovan-stm` 0.2.0, on an engine of its own.
pub struct Kovan<W = NoWork> {
    stm: kovan_stm::Stm,
    accounts: Vec<kovan_stm::TVar<i64>>,
    work: PhantomData<fn() -> W>,
}

impl<W: TransferWork> Kovan<W> {
    /// Every account at [`INITIAL_BALANCE`].
    pub fn new() -> Self {
        let stm = kovan_stm::Stm::new();
        let accounts = (0..ACCOUNTS).map(|_| stm.tvar(INITIAL_BALANCE)).collect();
        Kovan {
            stm,
            accounts,
            work: PhantomData,
        }
    }

    /// The sum of all balances (in one transaction).
    pub fn total(&self) -> i64 {
        self.stm.atomically(|tx| {
            let mut sum = 0;
            for account in &self.accounts {
                sum += tx.load(account)?;
            }
            Ok(sum)
        })
    }
}

impl<W: TransferWork> Default for Kovan<W> {
    fn default() -> Self {
        Self::new()
    }
}

impl<W: TransferWork> SharedOp for Kovan<W> {
    #[inline]
    fn op(&self, rng: &mut Rng) {
        let t = Transfer::draw(rng);
        let (from, to) = (&self.accounts[t.from], &self.accounts[t.to]);
        self.stm.atomically(|tx| {
            let a = tx.load(from)?;
            let b = tx.load(to)?;
            let amount = W::amount(&t, a);
            tx.store(from, a - amount)?;
            tx.store(to, b + amount)?;
            Ok(())
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::threads::{run_sequential, run_threads};
    use crate::work::PrivateWork;

    #[test]
    fn transfers_are_between_two_accounts() {
        let mut rng = Rng::new(3);
        for _ in 0..10_000 {
            let t = Transfer::draw(&mut rng);
            assert_ne!(t.from, t.to);
            assert!(t.from < ACCOUNTS && t.to < ACCOUNTS && (0..64).contains(&t.amount));
        }
    }

    #[test]
    fn every_implementation_keeps_the_total() {
        let mut sequential = Sequential::<PrivateWork>::new();
        run_sequential(&mut sequential, 2_000, 1);
        assert_eq!(sequential.total(), TOTAL);
        assert_ne!(sequential.balances, vec![INITIAL_BALANCE; ACCOUNTS]);

        let locked = Locked::<NoWork>::new();
        run_threads(&locked, 2, 2_000, 1);
        assert_eq!(locked.total(), TOTAL);

        let stm_core = StmCore::<PrivateWork>::new();
        run_threads(&stm_core, 2, 2_000, 1);
        assert_eq!(stm_core.total(), TOTAL);

        let rust_stm = RustStm::<NoWork>::new();
        run_threads(&rust_stm, 2, 2_000, 1);
        assert_eq!(rust_stm.total(), TOTAL);

        let kovan = Kovan::<NoWork>::new();
        run_threads(&kovan, 2, 2_000, 1);
        assert_eq!(kovan.total(), TOTAL);
    }
}
