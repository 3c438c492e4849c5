//! From the results to the report: the ratios (against sequential code,
//! against the `Mutex`, against rayon, against rust-stm and kovan-stm, 2
//! threads against 1), the targets checked one by one, and the
//! Markdown of BENCHMARKS.md.

use crate::checker::{HISTORY_ABORT_PERCENT, HISTORY_KEYS, PCT_DEPTH, SCHEDULES, WORKLOAD};
use crate::interleaved;
use crate::machine::Machine;
use crate::names::*;
use crate::results::{id, Measurement, ReportError, Results};
use std::fmt::{self, Write as _};

/// One line of the engine table.
#[derive(Debug, Clone, PartialEq)]
pub struct EngineRow {
    /// The workload (criterion group).
    pub workload: String,
    /// The implementation.
    pub implementation: String,
    /// Threads (workers, for the queue).
    pub threads: usize,
    /// Operations per second, all threads together.
    pub throughput: f64,
    /// Against the sequential baseline.
    pub vs_sequential: Option<f64>,
    /// Against the `Mutex` version at the same thread count.
    pub vs_mutex: Option<f64>,
    /// Against rayon at the same thread count (the queue workloads).
    pub vs_rayon: Option<f64>,
    /// Against rust-stm at the same thread count.
    pub vs_rust_stm: Option<f64>,
    /// Against kovan-stm at the same thread count.
    pub vs_kovan_stm: Option<f64>,
    /// Against the same implementation on 1 thread.
    pub vs_one_thread: Option<f64>,
}

/// The engine workloads, in the order shown.
pub const ENGINE_WORKLOADS: [&str; 6] = [BANK, WORK, COUNTER, READ_MOSTLY, QUEUE, QUEUE_TOTAL];

/// The implementations, in the order shown.
const IMPLEMENTATIONS: [&str; 12] = [
    SEQUENTIAL,
    WORK_ONLY,
    MUTEX,
    RWLOCK,
    RAYON,
    STM_CORE,
    QUEUE_RUN,
    QUEUE_RUN_COMMUTE,
    QUEUE_RUN_ORDERED,
    QUEUE_RUN_ORDERED_COMMUTE,
    RUST_STM,
    KOVAN_STM,
];

fn implementation_rank(name: &str) -> usize {
    IMPLEMENTATIONS
        .iter()
        .position(|i| *i == name)
        .unwrap_or(IMPLEMENTATIONS.len())
}

/// The engine table: every result of the engine workloads with its ratios.
pub fn engine_rows(results: &Results) -> Vec<EngineRow> {
    let mut rows = Vec::new();
    for workload in ENGINE_WORKLOADS {
        let mut measured: Vec<&Measurement> =
            results.iter().filter(|m| m.group == workload).collect();
        measured.sort_by_key(|m| (implementation_rank(&m.function), m.threads()));
        let sequential = results.throughput(workload, SEQUENTIAL, 1);
        for m in measured {
            let (name, threads, throughput) = (m.function.as_str(), m.threads(), m.per_second());
            let against = |other: &str, at: usize| {
                results
                    .throughput(workload, other, at)
                    .filter(|_| name != other && name != SEQUENTIAL && name != WORK_ONLY)
                    .map(|base| throughput / base)
            };
            rows.push(EngineRow {
                workload: workload.to_string(),
                implementation: name.to_string(),
                threads,
                throughput,
                vs_sequential: sequential
                    .filter(|_| name != SEQUENTIAL && name != WORK_ONLY)
                    .map(|base| throughput / base),
                vs_mutex: against(MUTEX, threads),
                vs_rayon: against(RAYON, threads),
                vs_rust_stm: against(RUST_STM, threads),
                vs_kovan_stm: against(KOVAN_STM, threads),
                vs_one_thread: (threads > 1)
                    .then(|| results.throughput(workload, name, 1))
                    .flatten()
                    .map(|base| throughput / base),
            });
        }
    }
    rows
}

/// One line of the checker table.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckerRow {
    /// What was measured.
    pub what: String,
    /// The throughput, with its unit.
    pub throughput: String,
    /// Ratios against the other lines, in words.
    pub ratios: String,
}

/// The checker table.
pub fn checker_rows(results: &Results) -> Vec<CheckerRow> {
    let mut rows = Vec::new();
    let mut checked: Vec<&Measurement> = results
        .iter()
        .filter(|m| m.group == HISTORY_CHECK)
        .collect();
    checked.sort_by_key(|m| m.elements);
    for m in checked {
        rows.push(CheckerRow {
            what: format!("check a history of {} transactions", grouped(m.elements)),
            throughput: format!(
                "{} histories/s ({} transactions/s)",
                number(1.0 / m.seconds),
                number(m.per_second())
            ),
            ratios: String::new(),
        });
    }
    for m in results.iter().filter(|m| m.group == HISTORY_PARSE) {
        rows.push(CheckerRow {
            what: format!(
                "parse a history file of {} transactions",
                grouped(m.elements)
            ),
            throughput: format!("{} transactions/s", number(m.per_second())),
            ratios: String::new(),
        });
    }
    let explore = |function| {
        results
            .get(EXPLORE, function, None)
            .map(Measurement::per_second)
    };
    let (recorded, unrecorded, bare) = (
        explore(EXPLORE_RECORDED),
        explore(EXPLORE_UNRECORDED),
        explore(EXPLORE_BARE),
    );
    let ways = [
        (
            recorded,
            "explore `bank`, PCT: recorded, every history checked (`stm-check explore`)",
        ),
        (
            unrecorded,
            "explore `bank`, PCT: same interpreter and scheduler, no history recorded",
        ),
        (
            bare,
            "`bank` by hand as a bare shuttle PCT test (no interpreter, no recorder)",
        ),
    ];
    for (i, (throughput, what)) in ways.into_iter().enumerate() {
        let Some(throughput) = throughput else {
            continue;
        };
        let mut ratios = Vec::new();
        if i == 0 {
            if let Some(u) = unrecorded {
                ratios.push(format!("{} of unrecorded", ratio(throughput / u)));
            }
        }
        if i < 2 {
            if let Some(b) = bare {
                ratios.push(format!("{} of bare shuttle", ratio(throughput / b)));
            }
        }
        rows.push(CheckerRow {
            what: what.to_string(),
            throughput: format!("{} schedules/s", number(throughput)),
            ratios: ratios.join(", "),
        });
    }
    rows
}

/// One of the targets, as measured.
#[derive(Debug, Clone, PartialEq)]
pub struct TargetCheck {
    /// The target, in words.
    pub target: String,
    /// The measured ratio.
    pub measured: f64,
    /// The ratio required.
    pub required: f64,
    /// How it was measured, where not from the engine table's lines.
    pub how: Option<String>,
}

impl TargetCheck {
    /// Whether the target is met.
    pub fn met(&self) -> bool {
        self.measured >= self.required
    }
}

/// Throughputs looked up by id, noting the ids that have no result.
struct Lookup<'a> {
    results: &'a Results,
    missing: Vec<String>,
}

impl Lookup<'_> {
    /// Elements per second of `group/function[/threads]` (NaN if missing).
    fn get(&mut self, group: &str, function: &str, threads: Option<usize>) -> f64 {
        let parameter = threads.map(|t| t.to_string());
        match self.results.get(group, function, parameter.as_deref()) {
            Some(m) => m.per_second(),
            None => {
                self.missing.push(id(group, function, parameter.as_deref()));
                f64::NAN
            }
        }
    }

    /// Elements per second of `group/function/threads`.
    fn at(&mut self, group: &str, function: &str, threads: usize) -> f64 {
        self.get(group, function, Some(threads))
    }

    /// The throughput of `group/numerator` over that of
    /// `group/denominator` (`(function, threads)` each) in the interleaved
    /// rounds, with the same ratio of the engine table's lines for
    /// comparison.
    fn interleaved(
        &mut self,
        group: &str,
        numerator: (&str, usize),
        denominator: (&str, usize),
    ) -> (f64, Option<String>) {
        let [n, d] = [numerator, denominator].map(|(f, t)| id(group, f, Some(&t.to_string())));
        let apart =
            self.at(group, numerator.0, numerator.1) / self.at(group, denominator.0, denominator.1);
        match self.results.interleaved().ratio(&n, &d) {
            Some(spread) => (
                spread.median,
                Some(format!(
                    "median of {} interleaved rounds ({}-{}); engine table {}",
                    spread.rounds,
                    ratio(spread.lowest),
                    ratio(spread.highest),
                    ratio(apart)
                )),
            ),
            None => {
                for id in [n, d] {
                    if self.results.interleaved().rounds(&id).is_none() {
                        self.missing
                            .push(format!("{} {id}", interleaved::FILE_NAME));
                    }
                }
                (f64::NAN, None)
            }
        }
    }
}

/// Checks every target; `Err` lists the benchmarks that have no result.
pub fn targets(results: &Results) -> Result<Vec<TargetCheck>, ReportError> {
    let mut r = Lookup {
        results,
        missing: Vec::new(),
    };
    let check = |target: &str, measured: f64, required: f64| TargetCheck {
        target: target.to_string(),
        measured,
        required,
        how: None,
    };
    let interleaved_check =
        |target: &str, (measured, how): (f64, Option<String>), required| TargetCheck {
            how,
            ..check(target, measured, required)
        };
    let mut checks = vec![
        check(
            "`bank`, 1 thread: stm-core against sequential",
            r.at(BANK, STM_CORE, 1) / r.at(BANK, SEQUENTIAL, 1),
            0.06,
        ),
        check(
            "`bank`, 1 thread: stm-core against a 1-thread Mutex",
            r.at(BANK, STM_CORE, 1) / r.at(BANK, MUTEX, 1),
            0.3,
        ),
        check(
            "`work`, 1 thread: stm-core against sequential",
            r.at(WORK, STM_CORE, 1) / r.at(WORK, SEQUENTIAL, 1),
            0.95,
        ),
        check(
            "`work`, 2 threads: stm-core against sequential",
            r.at(WORK, STM_CORE, 2) / r.at(WORK, SEQUENTIAL, 1),
            1.8,
        ),
    ];
    for (workload, required) in [(BANK, 1.8), (READ_MOSTLY, 1.85), (WORK, 1.8)] {
        checks.push(check(
            &format!("`{workload}`: stm-core on 2 threads against 1"),
            r.at(workload, STM_CORE, 2) / r.at(workload, STM_CORE, 1),
            required,
        ));
    }
    for (workload, required) in [(BANK, 4.0), (READ_MOSTLY, 6.0)] {
        for (threads, unit) in [(1, "thread"), (2, "threads")] {
            let best_peer = r
                .at(workload, RUST_STM, threads)
                .max(r.at(workload, KOVAN_STM, threads));
            checks.push(check(
                &format!(
                    "`{workload}`, {threads} {unit}: stm-core against the better of rust-stm and kovan-stm"
                ),
                r.at(workload, STM_CORE, threads) / best_peer,
                required,
            ));
        }
    }
    checks.extend([
        check(
            "`counter`: stm-core on 2 threads against 1",
            r.at(COUNTER, STM_CORE, 2) / r.at(COUNTER, STM_CORE, 1),
            0.9,
        ),
        interleaved_check(
            "`queue`: run on 1 worker against the sequential loop",
            r.interleaved(QUEUE, (QUEUE_RUN, 1), (SEQUENTIAL, 1)),
            0.95,
        ),
        interleaved_check(
            "`queue`: run on 2 workers against rayon on 2 threads",
            r.interleaved(QUEUE, (QUEUE_RUN, 2), (RAYON, 2)),
            0.95,
        ),
        interleaved_check(
            "`queue`: run_ordered on 2 workers against rayon on 2 threads",
            r.interleaved(QUEUE, (QUEUE_RUN_ORDERED, 2), (RAYON, 2)),
            0.9,
        ),
        interleaved_check(
            "`queue_total`: run with commute on 2 workers against the sequential loop",
            r.interleaved(QUEUE_TOTAL, (QUEUE_RUN_COMMUTE, 2), (SEQUENTIAL, 1)),
            1.7,
        ),
        interleaved_check(
            "`queue_total`: run_ordered with commute on 2 workers against the sequential loop",
            r.interleaved(QUEUE_TOTAL, (QUEUE_RUN_ORDERED_COMMUTE, 2), (SEQUENTIAL, 1)),
            1.5,
        ),
        check(
            "exploration with history recording against without (recording costs at most 30%)",
            r.get(EXPLORE, EXPLORE_RECORDED, None) / r.get(EXPLORE, EXPLORE_UNRECORDED, None),
            0.7,
        ),
        check(
            "stress on real threads with history recording against without (recording costs at most 30%)",
            r.get(STRESS, STRESS_RECORDED, None) / r.get(STRESS, STRESS_UNRECORDED, None),
            0.7,
        ),
    ]);
    if r.missing.is_empty() {
        Ok(checks)
    } else {
        r.missing.sort();
        r.missing.dedup();
        Err(ReportError::Missing(r.missing))
    }
}

/// How the benchmarks were run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Mode {
    /// The short mode.
    pub quick: bool,
    /// Criterion's warm-up time per benchmark, in seconds.
    pub warm_up: f64,
    /// Criterion's measurement time per benchmark, in seconds.
    pub measurement: f64,
    /// Samples per benchmark, where not criterion's default of 100.
    pub samples: Option<usize>,
    /// Rounds of the interleaved queue lines.
    pub rounds: u32,
    /// Runs of each `queue` line per round.
    pub runs: u32,
}

impl Mode {
    /// Minutes: the numbers to keep.
    pub const FULL: Mode = Mode {
        quick: false,
        warm_up: 1.0,
        measurement: 3.0,
        samples: None,
        rounds: 30,
        runs: 3,
    };

    /// Seconds: a check that everything runs, with noisy numbers.
    pub const QUICK: Mode = Mode {
        quick: true,
        warm_up: 0.2,
        measurement: 0.5,
        samples: Some(10),
        rounds: 3,
        runs: 1,
    };

    /// The mode's name.
    pub fn name(&self) -> &'static str {
        if self.quick {
            "quick"
        } else {
            "full"
        }
    }

    /// The criterion command-line arguments of this mode (slow benchmarks
    /// set 10 samples themselves).
    pub fn criterion_args(&self) -> Vec<String> {
        let mut args = vec![
            "--noplot".to_string(),
            "--warm-up-time".to_string(),
            self.warm_up.to_string(),
            "--measurement-time".to_string(),
            self.measurement.to_string(),
        ];
        if let Some(samples) = self.samples {
            args.extend(["--sample-size".to_string(), samples.to_string()]);
        }
        args
    }

    /// The arguments of `benches/interleaved.rs` in this mode.
    pub fn interleaved_args(&self) -> Vec<String> {
        vec![
            "--rounds".to_string(),
            self.rounds.to_string(),
            "--runs".to_string(),
            self.runs.to_string(),
        ]
    }
}

/// Everything BENCHMARKS.md says.
#[derive(Debug, Clone)]
pub struct Report {
    /// The engine table.
    pub engine: Vec<EngineRow>,
    /// The checker table.
    pub checker: Vec<CheckerRow>,
    /// The targets.
    pub targets: Vec<TargetCheck>,
    /// The cost of one unit of the `work` workload's computation, in
    /// nanoseconds.
    pub work_unit_ns: Option<f64>,
}

impl Report {
    /// The report of `results`; fails if a benchmark it needs is missing.
    pub fn build(results: &Results) -> Result<Self, ReportError> {
        Ok(Report {
            engine: engine_rows(results),
            checker: checker_rows(results),
            targets: targets(results)?,
            work_unit_ns: results
                .get(WORK, WORK_ONLY, Some("1"))
                .map(|m| m.seconds * 1e9),
        })
    }

    /// The report as Markdown: the machine, the two tables, the targets.
    pub fn to_markdown(&self, machine: &Machine, mode: Mode, command: &str) -> String {
        let mut out = String::new();
        let _ = self.write_markdown(&mut out, machine, mode, command);
        out
    }

    fn write_markdown(
        &self,
        out: &mut String,
        machine: &Machine,
        mode: Mode,
        command: &str,
    ) -> fmt::Result {
        writeln!(out, "# Benchmarks")?;
        writeln!(out)?;
        writeln!(
            out,
            "Written by `{command}` ({} mode) on {}. Regenerate it with the same command; \
             `--quick` takes seconds per benchmark instead of minutes in all.",
            mode.name(),
            machine.date
        )?;
        if mode.quick {
            writeln!(out)?;
            writeln!(
                out,
                "**Quick mode**: {} s of warm-up, {} s of measurement and {} samples per \
                 benchmark. The numbers are noisy; they show that everything runs, not what \
                 it costs.",
                mode.warm_up,
                mode.measurement,
                mode.samples.unwrap_or(100)
            )?;
        }
        writeln!(out)?;
        writeln!(out, "## Machine")?;
        writeln!(out)?;
        machine.write_markdown(out)?;
        writeln!(
            out,
            "- criterion: {} s warm-up, {} s measurement, {}; the estimate is the slope \
             of time over iterations where criterion fits one, the mean otherwise",
            mode.warm_up,
            mode.measurement,
            match mode.samples {
                Some(samples) => format!("{samples} samples per benchmark"),
                None => "100 samples per benchmark (10 for those of 0.1 s and more an \
                         iteration)"
                    .to_string(),
            }
        )?;
        writeln!(
            out,
            "- interleaved queue lines (the queue's targets): {} rounds, {} runs of each \
             `queue` line and {} of each `queue_total` line per round",
            mode.rounds,
            mode.runs,
            mode.runs * interleaved::QUEUE_TOTAL_RUNS_FACTOR
        )?;
        writeln!(out)?;
        writeln!(out, "## Engine")?;
        writeln!(out)?;
        writeln!(
            out,
            "Operations per second of all threads together (transfers, increments, \
             transactions; items for `queue` and `queue_total`, whose threads are the queue's \
             workers or rayon's pool threads). Each ratio divides the line's throughput by the named \
             line's in the same workload: sequential code runs on 1 thread; Mutex, rayon, \
             rust-stm and kovan-stm at the same thread count; \"vs 1 thread\" is the same \
             implementation on 1 thread."
        )?;
        writeln!(out)?;
        writeln!(
            out,
            "- `bank`: {} accounts, random transfers (2 reads, 2 writes).",
            grouped(crate::bank::ACCOUNTS as u64)
        )?;
        write!(
            out,
            "- `work`: the same transfers, each computing a fee from the balance read \
             (hashing a 64-byte buffer) inside the transaction"
        )?;
        match self.work_unit_ns {
            Some(ns) => writeln!(
                out,
                "; the computation alone (`work-only`) takes {ns:.0} ns here."
            )?,
            None => writeln!(out, ".")?,
        }
        writeln!(
            out,
            "- `counter`: every operation increments one shared counter."
        )?;
        writeln!(
            out,
            "- `read_mostly`: read {} of {} variables, write 1; `rwlock` is one RwLock \
             per variable, taken in index order.",
            crate::read_mostly::READS,
            grouped(crate::read_mostly::VARS as u64)
        )?;
        writeln!(
            out,
            "- `queue`: {} independent items of the `work` computation, each writing \
             its own variable: `TransactionQueue::run` and `run_ordered` (items borrowing \
             their variables; the queue, with its helper threads, kept from run to run), \
             the plain loop, rayon's `par_iter_mut` over plain slots on a pool of as many \
             threads (started before the timed runs), and threads taking items from an \
             atomic counter, one Mutex per slot. `run` on 1 worker is measured right after \
             the loop, and rayon between `run` and `run_ordered`: the machine's speed \
             drifts over minutes.",
            grouped(crate::queue::ITEMS as u64)
        )?;
        writeln!(
            out,
            "- `queue_total`: {} items of the same computation, each adding its result \
             to one shared total: `run` and `run_ordered` with `tx.modify` (a read and a write \
             of the total, so items on other workers conflict) and with `tx.commute` \
             (`run-commute`, `run_ordered-commute`), the plain loop, and rayon's parallel \
             map and reduce.",
            grouped(crate::queue_total::ITEMS as u64)
        )?;
        writeln!(out)?;
        writeln!(
            out,
            "| workload | implementation | threads | ops/s | vs sequential | vs Mutex | vs rayon | vs rust-stm | vs kovan-stm | vs 1 thread |"
        )?;
        writeln!(
            out,
            "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
        )?;
        for row in &self.engine {
            let cell = |r: Option<f64>| r.map_or(String::new(), ratio);
            writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
                row.workload,
                row.implementation,
                row.threads,
                number(row.throughput),
                cell(row.vs_sequential),
                cell(row.vs_mutex),
                cell(row.vs_rayon),
                cell(row.vs_rust_stm),
                cell(row.vs_kovan_stm),
                cell(row.vs_one_thread)
            )?;
        }
        writeln!(out)?;
        writeln!(out, "## Checker")?;
        writeln!(out)?;
        writeln!(
            out,
            "Histories are valid histories of serial runs (1 to 3 reads and 1 to 3 writes \
             per transaction over {} keys, {HISTORY_ABORT_PERCENT}% aborted); explorations \
             run {SCHEDULES} schedules of the built-in `{WORKLOAD}` workload (3 threads, 5 \
             transactions) with PCT depth {PCT_DEPTH}, the same seed for all three.",
            grouped(HISTORY_KEYS)
        )?;
        writeln!(out)?;
        writeln!(out, "| benchmark | throughput | ratios |")?;
        writeln!(out, "| --- | ---: | --- |")?;
        for row in &self.checker {
            writeln!(
                out,
                "| {} | {} | {} |",
                row.what, row.throughput, row.ratios
            )?;
        }
        writeln!(out)?;
        writeln!(out, "## Targets")?;
        writeln!(out)?;
        let met = self.targets.iter().filter(|t| t.met()).count();
        writeln!(
            out,
            "{met} of {} met on this machine{}.",
            self.targets.len(),
            if machine.cores < 2 {
                " (it has fewer than 2 cores: the 2-thread targets cannot be met)"
            } else {
                ""
            }
        )?;
        writeln!(out)?;
        writeln!(
            out,
            "The queue's targets are judged on interleaved rounds (`benches/interleaved.rs`): \
             the lines compared take turns, a few runs each per round after one untimed run, \
             in an order reversed every other round, and each ratio is taken within a round; the figure is the \
             median over rounds, the lowest and highest follow, then the same ratio of the \
             engine table's lines, which criterion measures seconds apart and which differ \
             by the machine's drift between them. The other targets come from the engine \
             and checker tables."
        )?;
        writeln!(out)?;
        writeln!(out, "| target | measured | required | | how |")?;
        writeln!(out, "| --- | ---: | ---: | --- | --- |")?;
        for t in &self.targets {
            writeln!(
                out,
                "| {} | {} | ≥ {} | {} | {} |",
                t.target,
                ratio(t.measured),
                ratio(t.required),
                if t.met() { "met" } else { "**not met**" },
                t.how.as_deref().unwrap_or("")
            )?;
        }
        Ok(())
    }
}

/// A throughput with three significant digits: plain below 10,000,
/// scientific above.
pub fn number(x: f64) -> String {
    if !x.is_finite() {
        "n/a".to_string()
    } else if x >= 10_000.0 {
        format!("{x:.2e}")
    } else if x >= 100.0 {
        format!("{x:.0}")
    } else if x >= 10.0 {
        format!("{x:.1}")
    } else {
        format!("{x:.2}")
    }
}

/// A ratio with two or three significant digits.
pub fn ratio(x: f64) -> String {
    if !x.is_finite() {
        "n/a".to_string()
    } else if x >= 100.0 {
        format!("{x:.0}x")
    } else if x >= 10.0 {
        format!("{x:.1}x")
    } else if x >= 0.1 {
        format!("{x:.2}x")
    } else {
        format!("{x:.3}x")
    }
}

/// An integer with thousands separators.
fn grouped(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::interleaved::Interleaved;

    fn m(
        group: &str,
        function: &str,
        parameter: Option<&str>,
        per_second: f64,
        elements: u64,
    ) -> Measurement {
        Measurement {
            group: group.into(),
            function: function.into(),
            parameter: parameter.map(Into::into),
            seconds: elements as f64 / per_second,
            elements,
        }
    }

    /// Every benchmark the targets need; stm-core at `core` ops/s on 1
    /// thread everywhere, twice that on 2.
    fn complete(core: f64) -> Vec<Measurement> {
        let mut all = Vec::new();
        for group in [BANK, WORK, COUNTER, READ_MOSTLY] {
            all.push(m(group, SEQUENTIAL, Some("1"), 10.0 * core, 1));
            for threads in [1u64, 2] {
                let t = threads.to_string();
                all.push(m(group, MUTEX, Some(&t), core, threads));
                all.push(m(group, STM_CORE, Some(&t), core * threads as f64, threads));
                all.push(m(group, RUST_STM, Some(&t), core / 10.0, threads));
                all.push(m(group, KOVAN_STM, Some(&t), core / 4.0, threads));
            }
        }
        // The queue: run at 0.9x of the loop on 1 worker (short of 0.95x),
        // 0.98x of rayon on 2; run_ordered at 0.75x of rayon (short of 0.9x).
        all.push(m(QUEUE, SEQUENTIAL, Some("1"), 1e6, 100_000));
        all.push(m(QUEUE, RAYON, Some("2"), 2e6, 100_000));
        all.push(m(QUEUE, QUEUE_RUN, Some("1"), 0.9e6, 100_000));
        all.push(m(QUEUE, QUEUE_RUN, Some("2"), 1.96e6, 100_000));
        all.push(m(QUEUE, QUEUE_RUN_ORDERED, Some("2"), 1.5e6, 100_000));
        // One total: commute at 1.8x of the loop with run (1.7x needed),
        // 1.2x with run_ordered (1.5x needed).
        all.push(m(QUEUE_TOTAL, SEQUENTIAL, Some("1"), 1e6, 10_000));
        all.push(m(QUEUE_TOTAL, QUEUE_RUN_COMMUTE, Some("2"), 1.8e6, 10_000));
        all.push(m(
            QUEUE_TOTAL,
            QUEUE_RUN_ORDERED_COMMUTE,
            Some("2"),
            1.2e6,
            10_000,
        ));
        all.push(m(EXPLORE, EXPLORE_RECORDED, None, 800.0, 100));
        all.push(m(EXPLORE, EXPLORE_UNRECORDED, None, 1000.0, 100));
        all.push(m(EXPLORE, EXPLORE_BARE, None, 4000.0, 100));
        all.push(m(STRESS, STRESS_RECORDED, None, 4000.0, 20));
        all.push(m(STRESS, STRESS_UNRECORDED, None, 5000.0, 20));
        all.push(m(HISTORY_CHECK, "", Some("1000000"), 2e6, 1_000_000));
        all
    }

    /// `measurements` with interleaved rounds of the queue's lines that
    /// agree with them: three rounds each, the second one twice as slow
    /// for all (the machine's drift).
    fn with_rounds(measurements: Vec<Measurement>) -> Results {
        let rounds = measurements
            .iter()
            .filter(|m| m.group == QUEUE || m.group == QUEUE_TOTAL)
            .map(|m| (m.id(), vec![m.seconds, 2.0 * m.seconds, m.seconds]))
            .collect::<Vec<_>>();
        Results::new(measurements).with_interleaved(Interleaved::from_rounds(rounds))
    }

    #[test]
    fn ratios_divide_by_the_named_line_at_the_same_thread_count() {
        let results = Results::new(complete(1e6));
        let rows = engine_rows(&results);
        let row = |implementation: &str, threads| {
            rows.iter()
                .find(|r| {
                    r.workload == BANK && r.implementation == implementation && r.threads == threads
                })
                .unwrap()
        };
        let core2 = row(STM_CORE, 2);
        assert!((core2.throughput - 2e6).abs() < 1.0);
        assert!((core2.vs_sequential.unwrap() - 0.2).abs() < 1e-9);
        assert!((core2.vs_mutex.unwrap() - 2.0).abs() < 1e-9);
        assert!((core2.vs_rust_stm.unwrap() - 20.0).abs() < 1e-9);
        assert!((core2.vs_kovan_stm.unwrap() - 8.0).abs() < 1e-9);
        assert!((core2.vs_one_thread.unwrap() - 2.0).abs() < 1e-9);
        assert_eq!(row(STM_CORE, 1).vs_one_thread, None);
        assert_eq!(
            row(MUTEX, 1).vs_mutex,
            None,
            "no line is compared with itself"
        );
        assert_eq!(row(SEQUENTIAL, 1).vs_sequential, None);
        assert_eq!(core2.vs_rayon, None, "no rayon line in `bank`");
        let queue_run2 = rows
            .iter()
            .find(|r| r.workload == QUEUE && r.implementation == QUEUE_RUN && r.threads == 2)
            .unwrap();
        assert!((queue_run2.vs_rayon.unwrap() - 0.98).abs() < 1e-9);
        assert!((queue_run2.vs_one_thread.unwrap() - 1.96e6 / 0.9e6).abs() < 1e-9);
        // Sequential first, then the Mutex, stm-core and the peers.
        let order: Vec<&str> = rows
            .iter()
            .filter(|r| r.workload == BANK)
            .map(|r| r.implementation.as_str())
            .collect();
        assert_eq!(order[..4], [SEQUENTIAL, MUTEX, MUTEX, STM_CORE]);
    }

    #[test]
    fn targets_are_computed_from_the_numbers() {
        let targets = targets(&with_rounds(complete(1e6))).unwrap();
        let find = |prefix: &str| {
            targets
                .iter()
                .find(|t| t.target.starts_with(prefix))
                .unwrap()
        };
        // stm-core is 0.1x of sequential: met.
        assert!(find("`bank`, 1 thread: stm-core against sequential").met());
        // 4x the better peer (kovan at a quarter): met, just; 6x is needed
        // in `read_mostly`, so the same 4x there is not.
        let peers = find("`bank`, 1 thread: stm-core against the better");
        assert!((peers.measured - 4.0).abs() < 1e-9 && peers.met());
        let read_mostly = find("`read_mostly`, 1 thread: stm-core against the better");
        assert!((read_mostly.measured - 4.0).abs() < 1e-9 && !read_mostly.met());
        assert!((find("exploration").measured - 0.8).abs() < 1e-9);
        let queue1 = find("`queue`: run on 1 worker against the sequential loop");
        assert!((queue1.measured - 0.9).abs() < 1e-9 && !queue1.met());
        let queue2 = find("`queue`: run on 2 workers against rayon");
        assert!((queue2.measured - 0.98).abs() < 1e-9 && queue2.met());
        assert!(!find("`queue`: run_ordered on 2 workers against rayon").met());
        let total = find("`queue_total`: run with commute");
        assert!((total.measured - 1.8).abs() < 1e-9 && total.met());
        let total_ordered = find("`queue_total`: run_ordered with commute");
        assert!((total_ordered.measured - 1.2).abs() < 1e-9 && !total_ordered.met());
        assert_eq!(targets.len(), 19);
        assert_eq!(
            queue2.how.as_deref(),
            Some("median of 3 interleaved rounds (0.98x-0.98x); engine table 0.98x")
        );
        assert_eq!(
            find("`bank`, 1 thread: stm-core against sequential").how,
            None
        );
    }

    #[test]
    fn the_queue_targets_are_judged_on_the_interleaved_rounds() {
        // Measured apart, run on 2 workers is 0.98x of rayon; in turns,
        // 0.94x, 0.97x and 0.93x in three rounds: not met.
        let all = complete(1e6);
        let rayon = 100_000.0 / 2e6;
        let mut rounds: Vec<(String, Vec<f64>)> = all
            .iter()
            .filter(|m| m.group == QUEUE || m.group == QUEUE_TOTAL)
            .map(|m| (m.id(), vec![m.seconds; 3]))
            .collect();
        for (id, seconds) in &mut rounds {
            if id == "queue/run/2" {
                *seconds = [0.94, 0.97, 0.93].map(|r| rayon / r).to_vec();
            }
        }
        let results = Results::new(all).with_interleaved(Interleaved::from_rounds(rounds));
        let targets = targets(&results).unwrap();
        let queue2 = targets
            .iter()
            .find(|t| t.target.starts_with("`queue`: run on 2 workers"))
            .unwrap();
        assert!((queue2.measured - 0.94).abs() < 1e-9 && !queue2.met());
        assert_eq!(
            queue2.how.as_deref(),
            Some("median of 3 interleaved rounds (0.93x-0.97x); engine table 0.98x")
        );
    }

    #[test]
    fn a_missing_benchmark_is_named() {
        let mut partial = complete(1e6);
        partial.retain(|m| {
            !(m.group == COUNTER && m.function == STM_CORE && m.parameter.as_deref() == Some("2"))
        });
        partial.retain(|m| m.function != EXPLORE_UNRECORDED);
        partial.retain(|m| !(m.group == QUEUE && m.function == RAYON));
        match targets(&with_rounds(partial)) {
            Err(ReportError::Missing(ids)) => {
                // Sorted, and named once though two targets need it.
                assert_eq!(
                    ids,
                    [
                        "counter/stm-core/2",
                        "explore/unrecorded",
                        "interleaved.json queue/rayon/2",
                        "queue/rayon/2"
                    ]
                )
            }
            other => panic!("expected the missing benchmarks, got {other:?}"),
        }
    }

    #[test]
    fn the_markdown_has_the_machine_the_tables_and_the_targets() {
        let report = Report::build(&with_rounds(complete(1e6))).unwrap();
        let machine = Machine {
            cpu: "Test CPU".into(),
            cores: 2,
            logical_cpus: Some(2),
            memory: "1.0 GiB".into(),
            os: "Test OS".into(),
            rustc: "rustc 1.95.0".into(),
            commit: "abc1234".into(),
            load_average: "0.00 0.00 0.00".into(),
            date: "2026-01-01 00:00 UTC".into(),
        };
        let quick = report.to_markdown(&machine, Mode::QUICK, "the command");
        assert!(quick.starts_with("# Benchmarks\n"));
        assert!(quick.contains("`the command` (quick mode) on 2026-01-01 00:00 UTC"));
        assert!(quick.contains("**Quick mode**"));
        assert!(quick.contains("- CPU: Test CPU"));
        assert!(
            quick.contains(
                "| bank | stm-core | 2 | 2.00e6 | 0.20x | 2.00x |  | 20.0x | 8.00x | 2.00x |"
            ),
            "{quick}"
        );
        assert!(quick.contains("| explore `bank`, PCT: recorded"));
        assert!(quick.contains(&format!(
            "{} of 19 met on this machine.",
            report.targets.iter().filter(|t| t.met()).count()
        )));
        assert!(quick.contains("| queue | run | 2 | 1.96e6 | 1.96x |  | 0.98x |  |  | 2.18x |"));
        assert!(quick.contains(
            "| `queue`: run_ordered on 2 workers against rayon on 2 threads | 0.75x | ≥ 0.90x | **not met** | median of 3 interleaved rounds (0.75x-0.75x); engine table 0.75x |"
        ));
        assert!(quick.contains(
            "| `queue_total`: run with commute on 2 workers against the sequential loop | 1.80x | ≥ 1.70x | met | median of 3"
        ));
        assert!(quick
            .contains("| `counter`: stm-core on 2 threads against 1 | 2.00x | ≥ 0.90x | met |  |"));
        assert!(quick.contains("- `queue_total`: 10,000 items"));
        let full = report.to_markdown(&machine, Mode::FULL, "the command");
        assert!(!full.contains("Quick mode") && full.contains("(full mode)"));
    }

    #[test]
    fn numbers_read_well() {
        assert_eq!(ratio(0.0456), "0.046x");
        assert_eq!(ratio(1.234), "1.23x");
        assert_eq!(ratio(12.34), "12.3x");
        assert_eq!(number(312_000_000.0), "3.12e8");
        assert_eq!(number(225.4), "225");
        assert_eq!(number(1.567), "1.57");
        assert_eq!(grouped(1_000_000), "1,000,000");
        assert_eq!(grouped(100), "100");
    }
}
