//! Conflict reports: which TVars made transactions abort, in which way, how
//! much time the aborted attempts wasted, and which code was on each side.
//!
//! PyPy-STM's users could not see why their transactions conflicted; this is
//! the answer. Recording is off unless [`StmConfig::conflict_reports`] is
//! set: then each aborted attempt is timed and attributed to the TVar that
//! caused it, gathered locally during the `atomically` call and merged into
//! the runtime's table once at its end.
//!
//! A TVar that conflicts mostly because transactions read it and write it
//! back (a read-modify-write, such as adding to a total) gets a suggestion:
//! if those transactions do not need the value they read, `tx.commute`
//! makes the update at commit without reading, and then they no longer
//! conflict on it.
//!
//! [`StmConfig::conflict_reports`]: crate::StmConfig::conflict_reports

use crate::error::AbortKind;
use crate::ids::{CallSite, TVarId};
use core::fmt;
use std::collections::HashMap;
use std::time::Duration;

/// How a TVar made a transaction lose work.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ConflictKind {
    /// The transaction read the TVar and another one wrote it first.
    ReadWrite,
    /// Both wrote the TVar; the other one held it while this one committed.
    WriteWrite,
    /// The transaction was blocked in `retry` and a commit to the TVar woke
    /// it; the attempt that retried is counted as lost work.
    RetryWakeup,
}

impl ConflictKind {
    pub(crate) fn of_abort(kind: AbortKind) -> Option<ConflictKind> {
        match kind {
            AbortKind::ReadLocked | AbortKind::ReadStale | AbortKind::Validation => {
                Some(ConflictKind::ReadWrite)
            }
            AbortKind::WriteLocked => Some(ConflictKind::WriteWrite),
            AbortKind::SerialMode => None,
        }
    }
}

/// One TVar that caused aborts, with everything known about them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConflictSite {
    /// The TVar's id within its runtime.
    pub tvar: TVarId,
    /// Where the TVar was created.
    pub created_at: CallSite,
    /// The label given with [`TVar::set_label`](crate::TVar::set_label).
    pub label: Option<String>,
    /// Aborts because another transaction wrote what this one read.
    pub read_write: u64,
    /// Aborts because another transaction held the TVar this one wrote.
    pub write_write: u64,
    /// `retry` waits ended by a commit to this TVar.
    pub retry_wakeups: u64,
    /// Time spent in the attempts that were thrown away.
    pub time_lost: Duration,
    /// Call sites of the transactions that lost work, most frequent first.
    pub losers: Vec<(CallSite, u64)>,
    /// Call sites of the transactions whose writes caused it, where known,
    /// most frequent first.
    pub winners: Vec<(CallSite, u64)>,
    /// Of the aborts, those whose attempt had both read and written this
    /// TVar: read-modify-writes, which a commute would spare if the value
    /// read is not needed (see [`suggests_commute`](Self::suggests_commute)).
    pub read_modify_writes: u64,
    /// Call sites of the transactions that lost work in those
    /// read-modify-writes, most frequent first.
    pub read_modify_write_losers: Vec<(CallSite, u64)>,
}

impl ConflictSite {
    /// All the events counted for this TVar.
    pub fn events(&self) -> u64 {
        self.read_write + self.write_write + self.retry_wakeups
    }

    /// Whether most (more than half) of this TVar's conflicts were
    /// read-modify-writes of it. The report then suggests writing the
    /// update as [`tx.commute(&tvar, f)`](crate::Transaction::commute),
    /// which applies it at commit without reading the TVar: if the
    /// transactions do not need the value they read (adding to a total,
    /// say), they stop conflicting on it. (An attempt that lost at its
    /// read of the TVar had not written it yet, so it does not count.)
    pub fn suggests_commute(&self) -> bool {
        self.read_modify_writes > 0 && self.read_modify_writes * 2 > self.events()
    }

    /// The TVar's label, or where it was created.
    pub fn name(&self) -> String {
        match &self.label {
            Some(label) => format!("{label} (TVar {} at {})", self.tvar, self.created_at),
            None => format!("TVar {} created at {}", self.tvar, self.created_at),
        }
    }
}

/// A runtime's conflict report: the TVars that caused aborts, sorted by the
/// time lost to them, most first.
///
/// ```
/// use stm_core::{Stm, StmConfig};
///
/// let stm = Stm::with_config(StmConfig { conflict_reports: true, ..StmConfig::default() });
/// let hot = stm.new_tvar(0);
/// hot.set_label("hot counter");
/// stm.atomically(|tx| tx.modify(&hot, |n| n + 1));
/// let report = stm.conflict_report();
/// assert!(report.enabled);
/// assert!(report.sites.is_empty()); // one thread: nothing conflicted
/// println!("{report}");
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConflictReport {
    /// Whether the runtime records conflicts at all.
    pub enabled: bool,
    /// One entry per TVar that caused lost work, most time lost first.
    pub sites: Vec<ConflictSite>,
    /// Attempts aborted because another transaction ran irrevocably.
    pub serial_mode_aborts: u64,
    /// Time lost in those attempts.
    pub serial_mode_time_lost: Duration,
}

impl ConflictReport {
    /// The entry for one TVar, if it caused any lost work.
    pub fn site(&self, tvar: TVarId) -> Option<&ConflictSite> {
        self.sites.iter().find(|s| s.tvar == tvar)
    }

    /// Time lost to every cause together.
    pub fn total_time_lost(&self) -> Duration {
        self.sites.iter().map(|s| s.time_lost).sum::<Duration>() + self.serial_mode_time_lost
    }
}

const TOP_SITES: usize = 10;

impl fmt::Display for ConflictReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.enabled {
            return writeln!(
                f,
                "conflict reports are off (set StmConfig::conflict_reports to record them)"
            );
        }
        if self.sites.is_empty() && self.serial_mode_aborts == 0 {
            return writeln!(f, "no conflicts");
        }
        writeln!(
            f,
            "{} conflict site(s), {:.3?} lost in aborted attempts; top {} by time lost:",
            self.sites.len(),
            self.total_time_lost(),
            TOP_SITES.min(self.sites.len())
        )?;
        writeln!(
            f,
            "{:>12}  {:>10}  {:>11}  {:>10}  tvar",
            "time lost", "read-write", "write-write", "wake-ups"
        )?;
        for site in self.sites.iter().take(TOP_SITES) {
            writeln!(
                f,
                "{:>12}  {:>10}  {:>11}  {:>10}  {}",
                format!("{:.3?}", site.time_lost),
                site.read_write,
                site.write_write,
                site.retry_wakeups,
                site.name()
            )?;
            if let Some((loser, n)) = site.losers.first() {
                writeln!(f, "{:>14}aborted: transaction at {loser} ({n}x)", "")?;
            }
            if let Some((winner, n)) = site.winners.first() {
                writeln!(f, "{:>14}by: transaction at {winner} ({n}x)", "")?;
            }
            if site.suggests_commute() {
                write_commute_suggestion(f, site)?;
            }
        }
        if self.serial_mode_aborts > 0 {
            writeln!(
                f,
                "{:>12}  {} attempt(s) gave way to an irrevocable transaction",
                format!("{:.3?}", self.serial_mode_time_lost),
                self.serial_mode_aborts
            )?;
        }
        Ok(())
    }
}

/// Call sites listed in a commute suggestion, at most.
const SUGGESTED_SITES: usize = 3;

/// The suggestion printed under a TVar whose conflicts are mostly
/// read-modify-writes (see [`ConflictSite::suggests_commute`]).
fn write_commute_suggestion(f: &mut fmt::Formatter<'_>, site: &ConflictSite) -> fmt::Result {
    let sites: Vec<String> = site
        .read_modify_write_losers
        .iter()
        .take(SUGGESTED_SITES)
        .map(|(loser, n)| format!("{loser} ({n}x)"))
        .collect();
    let more = site
        .read_modify_write_losers
        .len()
        .saturating_sub(SUGGESTED_SITES);
    let more = if more > 0 {
        format!(" and {more} more")
    } else {
        String::new()
    };
    let indent = "";
    writeln!(
        f,
        "{indent:>14}suggestion: {} of {} conflicts were read-modify-writes of {}",
        site.read_modify_writes,
        site.events(),
        site.name()
    )?;
    writeln!(
        f,
        "{indent:>14}  by the transaction(s) at {}{more}. If they do not need the value they read",
        sites.join(", ")
    )?;
    writeln!(
        f,
        "{indent:>14}  (adding to a total, say), write the update as `tx.commute(&tvar, f)`: applied at"
    )?;
    writeln!(
        f,
        "{indent:>14}  commit without a read, commutes of one TVar wait for each other instead of aborting."
    )
}

/// One attempt that lost work, as seen by the transaction that lost it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ConflictEvent {
    /// The TVar responsible and where it was created; `None` for serial mode.
    pub(crate) tvar: Option<(TVarId, CallSite)>,
    pub(crate) kind: Option<ConflictKind>,
    pub(crate) loser: CallSite,
    pub(crate) winner: Option<CallSite>,
    pub(crate) lost: Duration,
    /// Whether the losing attempt had both read and written the TVar (a
    /// read-modify-write of it).
    pub(crate) read_modify_write: bool,
}

#[derive(Debug, Default)]
struct SiteCounts {
    created_at: Option<CallSite>,
    read_write: u64,
    write_write: u64,
    retry_wakeups: u64,
    time_lost: Duration,
    losers: HashMap<CallSite, u64>,
    winners: HashMap<CallSite, u64>,
    read_modify_writes: u64,
    read_modify_write_losers: HashMap<CallSite, u64>,
}

/// The runtime's accumulated conflicts and TVar labels.
#[derive(Debug, Default)]
pub(crate) struct ConflictTable {
    sites: HashMap<TVarId, SiteCounts>,
    labels: HashMap<TVarId, String>,
    serial_mode_aborts: u64,
    serial_mode_time_lost: Duration,
}

impl ConflictTable {
    pub(crate) fn set_label(&mut self, tvar: TVarId, label: String) {
        self.labels.insert(tvar, label);
    }

    pub(crate) fn record(&mut self, events: &[ConflictEvent]) {
        for event in events {
            let (Some((tvar, created_at)), Some(kind)) = (event.tvar, event.kind) else {
                self.serial_mode_aborts += 1;
                self.serial_mode_time_lost += event.lost;
                continue;
            };
            let site = self.sites.entry(tvar).or_default();
            site.created_at = Some(created_at);
            match kind {
                ConflictKind::ReadWrite => site.read_write += 1,
                ConflictKind::WriteWrite => site.write_write += 1,
                ConflictKind::RetryWakeup => site.retry_wakeups += 1,
            }
            site.time_lost += event.lost;
            *site.losers.entry(event.loser).or_default() += 1;
            if let Some(winner) = event.winner {
                *site.winners.entry(winner).or_default() += 1;
            }
            if event.read_modify_write {
                site.read_modify_writes += 1;
                *site
                    .read_modify_write_losers
                    .entry(event.loser)
                    .or_default() += 1;
            }
        }
    }

    pub(crate) fn report(&self, enabled: bool) -> ConflictReport {
        let mut sites: Vec<ConflictSite> = self
            .sites
            .iter()
            .filter_map(|(&tvar, counts)| {
                Some(ConflictSite {
                    tvar,
                    created_at: counts.created_at?,
                    label: self.labels.get(&tvar).cloned(),
                    read_write: counts.read_write,
                    write_write: counts.write_write,
                    retry_wakeups: counts.retry_wakeups,
                    time_lost: counts.time_lost,
                    losers: most_frequent_first(&counts.losers),
                    winners: most_frequent_first(&counts.winners),
                    read_modify_writes: counts.read_modify_writes,
                    read_modify_write_losers: most_frequent_first(&counts.read_modify_write_losers),
                })
            })
            .collect();
        sites.sort_by(|a, b| {
            b.time_lost
                .cmp(&a.time_lost)
                .then(b.events().cmp(&a.events()))
                .then(a.tvar.cmp(&b.tvar))
        });
        ConflictReport {
            enabled,
            sites,
            serial_mode_aborts: self.serial_mode_aborts,
            serial_mode_time_lost: self.serial_mode_time_lost,
        }
    }
}

fn most_frequent_first(counts: &HashMap<CallSite, u64>) -> Vec<(CallSite, u64)> {
    let mut sites: Vec<(CallSite, u64)> = counts.iter().map(|(&s, &n)| (s, n)).collect();
    sites.sort_by(|a, b| {
        b.1.cmp(&a.1)
            .then_with(|| (a.0.file(), a.0.line()).cmp(&(b.0.file(), b.0.line())))
    });
    sites
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::panic::Location;

    #[track_caller]
    fn here() -> CallSite {
        Location::caller()
    }

    /// `rmw` read-modify-write aborts and `plain` others (a read of the
    /// TVar, a write elsewhere) on TVar 7, lost by the transaction at
    /// `loser`.
    fn report_of(
        rmw: usize,
        plain: usize,
        created_at: CallSite,
        loser: CallSite,
    ) -> ConflictReport {
        let event = |read_modify_write, kind| ConflictEvent {
            tvar: Some((7, created_at)),
            kind: Some(kind),
            loser,
            winner: Some(loser),
            lost: Duration::from_micros(10),
            read_modify_write,
        };
        let mut events = vec![event(true, ConflictKind::WriteWrite); rmw];
        events.extend(vec![event(false, ConflictKind::ReadWrite); plain]);
        let mut table = ConflictTable::default();
        table.record(&events);
        table.report(true)
    }

    #[test]
    fn mostly_read_modify_writes_suggest_commute_naming_both_sites() {
        let (created_at, loser) = (here(), here());
        let report = report_of(3, 2, created_at, loser);
        let site = report.site(7).unwrap();
        assert_eq!((site.read_modify_writes, site.events()), (3, 5));
        assert_eq!(site.read_modify_write_losers, vec![(loser, 3)]);
        assert!(site.suggests_commute());
        let printed = report.to_string();
        assert!(
            printed.contains("suggestion: 3 of 5 conflicts were read-modify-writes of TVar 7"),
            "{printed}"
        );
        assert!(
            printed.contains(&format!("created at {created_at}")),
            "{printed}"
        );
        assert!(
            printed.contains(&format!("by the transaction(s) at {loser} (3x)")),
            "{printed}"
        );
        assert!(printed.contains("tx.commute(&tvar, f)"), "{printed}");
    }

    #[test]
    fn half_or_fewer_read_modify_writes_suggest_nothing() {
        let (created_at, loser) = (here(), here());
        for (rmw, plain) in [(2, 2), (1, 4), (0, 3)] {
            let report = report_of(rmw, plain, created_at, loser);
            let site = report.site(7).unwrap();
            assert_eq!(site.read_modify_writes, rmw as u64);
            assert!(!site.suggests_commute());
            let printed = report.to_string();
            assert!(!printed.contains("suggestion"), "{printed}");
            assert!(!printed.contains("commute"), "{printed}");
        }
    }

    #[test]
    fn suggestions_list_the_most_frequent_losers_first() {
        let created_at = here();
        let (a, b, c, d) = (here(), here(), here(), here());
        let mut events = Vec::new();
        for (loser, n) in [(a, 1), (b, 4), (c, 2), (d, 3)] {
            for _ in 0..n {
                events.push(ConflictEvent {
                    tvar: Some((1, created_at)),
                    kind: Some(ConflictKind::ReadWrite),
                    loser,
                    winner: None,
                    lost: Duration::ZERO,
                    read_modify_write: true,
                });
            }
        }
        let mut table = ConflictTable::default();
        table.record(&events);
        table.set_label(1, "the total".to_string());
        let report = table.report(true);
        let printed = report.to_string();
        assert!(printed.contains("of the total (TVar 1 at"), "{printed}");
        assert!(
            printed.contains(&format!("at {b} (4x), {d} (3x), {c} (2x) and 1 more.")),
            "{printed}"
        );
    }
}
