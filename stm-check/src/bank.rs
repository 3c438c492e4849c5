//! The bank workload: threads move money between accounts in random
//! transfers (two reads, two writes each) while the total must stay fixed.
//!
//! It is generic over the engine's platform, so the same workload runs on OS
//! threads for throughput and under shuttle for exploration.

use std::time::{Duration, Instant};
use stm_core::platform::Platform;
use stm_core::{Stm, StmStats, TVar};

/// How long each worker keeps transferring.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Budget {
    /// A fixed number of transfers per worker (deterministic; use it under
    /// a model checker).
    Transfers(u64),
    /// Transfer until this much wall-clock time has passed.
    Time(Duration),
}

/// Parameters of one bank run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BankConfig {
    /// Number of accounts (TVars).
    pub accounts: usize,
    /// Starting balance of every account.
    pub initial_balance: i64,
    /// Number of worker threads.
    pub threads: usize,
    /// How long each worker runs.
    pub budget: Budget,
    /// Each worker audits the total (one read-only transaction over every
    /// account) after this many transfers; 0 disables audits.
    pub audit_every: u64,
    /// Seed of the workers' transfer choices.
    pub seed: u64,
}

impl Default for BankConfig {
    fn default() -> Self {
        BankConfig {
            accounts: 1024,
            initial_balance: 1_000,
            threads: 2,
            budget: Budget::Time(Duration::from_secs(2)),
            audit_every: 10_000,
            seed: 1,
        }
    }
}

/// What a bank run did and whether its invariant held.
#[derive(Debug, Clone, PartialEq)]
pub struct BankReport {
    /// The configuration that ran.
    pub config: BankConfig,
    /// Transfers committed, all workers together.
    pub transfers: u64,
    /// Audits run, and how many of them saw a total other than the expected.
    pub audits: u64,
    /// Audits that saw a wrong total (must be 0).
    pub failed_audits: u64,
    /// Sum of all balances before the run.
    pub expected_total: i64,
    /// Sum of all balances after the run.
    pub final_total: i64,
    /// Wall-clock time of the run.
    pub elapsed: Duration,
    /// The runtime's statistics.
    pub stats: StmStats,
}

impl BankReport {
    /// Whether the total was preserved, at the end and in every audit.
    pub fn invariant_holds(&self) -> bool {
        self.final_total == self.expected_total && self.failed_audits == 0
    }

    /// Committed transfers per second.
    pub fn throughput(&self) -> f64 {
        self.transfers as f64 / self.elapsed.as_secs_f64().max(f64::MIN_POSITIVE)
    }
}

/// A small deterministic generator (xorshift64*), one per worker.
#[derive(Debug, Clone)]
pub struct XorShift(u64);

impl XorShift {
    /// Creates a generator; any seed works (0 is remapped).
    pub fn new(seed: u64) -> Self {
        XorShift(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    /// The next value below `bound` (which must be positive).
    pub fn below(&mut self, bound: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % bound
    }
}

/// Runs the bank workload on `stm` and reports what happened.
///
/// ```
/// use stm_check::bank::{run, BankConfig, Budget};
///
/// let config = BankConfig { budget: Budget::Transfers(500), ..BankConfig::default() };
/// let report = run(&stm_core::Stm::new(), config);
/// assert!(report.invariant_holds());
/// assert_eq!(report.transfers, 1_000);
/// ```
pub fn run<P: Platform>(stm: &Stm<P>, config: BankConfig) -> BankReport {
    assert!(config.accounts >= 2, "the bank needs at least two accounts");
    let accounts: Vec<TVar<i64, P>> = (0..config.accounts)
        .map(|_| stm.new_tvar(config.initial_balance))
        .collect();
    if stm.config().conflict_reports {
        for (i, account) in accounts.iter().enumerate() {
            account.set_label(format!("account {i}"));
        }
    }
    let expected_total = config.initial_balance * config.accounts as i64;
    let start = Instant::now();
    let workers: Vec<_> = (0..config.threads)
        .map(|worker| {
            let (stm2, accounts) = (stm.clone(), accounts.clone());
            stm.spawn(move || work(&stm2, &accounts, worker, config, expected_total))
        })
        .collect();
    let mut transfers = 0;
    let mut audits = 0;
    let mut failed_audits = 0;
    for worker in workers {
        let tally = worker
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        transfers += tally.transfers;
        audits += tally.audits;
        failed_audits += tally.failed_audits;
    }
    let elapsed = start.elapsed();
    BankReport {
        config,
        transfers,
        audits,
        failed_audits,
        expected_total,
        final_total: accounts.iter().map(TVar::load).sum(),
        elapsed,
        stats: stm.stats(),
    }
}

#[derive(Debug, Default)]
struct WorkerTally {
    transfers: u64,
    audits: u64,
    failed_audits: u64,
}

fn work<P: Platform>(
    stm: &Stm<P>,
    accounts: &[TVar<i64, P>],
    worker: usize,
    config: BankConfig,
    expected_total: i64,
) -> WorkerTally {
    let mut rng =
        XorShift::new(config.seed ^ (worker as u64 + 1).wrapping_mul(0xA24B_AED4_963E_E407));
    let started = Instant::now();
    let mut tally = WorkerTally::default();
    let n = accounts.len() as u64;
    loop {
        match config.budget {
            Budget::Transfers(limit) if tally.transfers >= limit => break,
            // Checking the clock every transfer would cost more than one.
            Budget::Time(limit) if tally.transfers % 256 == 0 && started.elapsed() >= limit => {
                break
            }
            _ => {}
        }
        let from = rng.below(n) as usize;
        let to = (from + 1 + rng.below(n - 1) as usize) % accounts.len();
        let amount = rng.below(100) as i64;
        stm.atomically(|tx| {
            let a = tx.read(&accounts[from])?;
            let b = tx.read(&accounts[to])?;
            tx.write(&accounts[from], a - amount)?;
            tx.write(&accounts[to], b + amount)
        });
        tally.transfers += 1;
        if config.audit_every > 0 && tally.transfers % config.audit_every == 0 {
            let total = stm.atomically(|tx| {
                let mut sum = 0;
                for account in accounts {
                    sum += tx.read(account)?;
                }
                Ok(sum)
            });
            tally.audits += 1;
            if total != expected_total {
                tally.failed_audits += 1;
            }
        }
    }
    tally
}
