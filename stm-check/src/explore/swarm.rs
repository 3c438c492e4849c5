//! Swarm exploration: instead of one workload, a stream of random programs
//! ([`swarm_program`]), each using a random subset of stm-core's features
//! and random runtime settings, each explored for a few schedules. A user
//! who changes the engine need not guess which hand-written workload would
//! reach the change: some program of the stream will.
//!
//! Program `k` of seed `s` is drawn from bytes that depend on `s` and `k`
//! alone ([`program_bytes`]), and explored with the scheduler seeded by
//! [`execution_seed`]`(s, k)`, so a run is reproducible from its seed, and
//! shard `I/N` takes the programs `k = I, I + N, ...` (disjoint shards, as
//! for single workloads: see [`shard`](super::shard)). The first failure
//! stops the run; it is confirmed, shrunk and saved like any other, with
//! the failing program inline and its runtime settings, so `stm-check
//! replay` reproduces it without knowing it came from a swarm.

use super::shard::execution_seed;
use super::{explore, ExploreConfig, ExploreSummary, FoundFailure, Progress, Shard};
use crate::workload::{swarm_program, SwarmProgram};
use arbitrary::Unstructured;
use std::sync::Arc;
use std::time::Duration;

/// The name `explore --workload` takes for swarm exploration.
pub const SWARM_WORKLOAD: &str = "swarm";

/// Bytes each program is drawn from: more than any program within the
/// swarm bounds consumes, so that programs do not run out of choices.
const PROGRAM_BYTES: usize = 4096;

/// How to explore a stream of swarm programs.
#[derive(Debug, Clone)]
pub struct SwarmConfig {
    /// The exploration of each program: its driver, seed (of the whole
    /// stream), injected bug, shrinking and where failures are saved.
    /// `iterations` is the total number of executions over all programs;
    /// `stm` is replaced by each program's settings; `shard` selects
    /// programs, not executions.
    pub explore: ExploreConfig,
    /// Executions of each program (at least 1).
    pub executions_per_program: usize,
}

/// What a swarm exploration did.
#[derive(Debug, Clone)]
pub struct SwarmSummary {
    /// The executions of all programs together (`schedules`, counts,
    /// elapsed time) and the failure, if one was found.
    pub summary: ExploreSummary,
    /// Programs explored.
    pub programs: usize,
    /// The number `k` of the program that failed, and the program.
    pub failing_program: Option<(u64, Box<SwarmProgram>)>,
}

/// The bytes program `k` of `seed` is drawn from.
pub fn program_bytes(seed: u64, k: u64) -> Vec<u8> {
    let mut state = execution_seed(seed, k);
    let mut bytes = Vec::with_capacity(PROGRAM_BYTES);
    while bytes.len() < PROGRAM_BYTES {
        state = execution_seed(state, 1);
        bytes.extend_from_slice(&state.to_le_bytes());
    }
    bytes
}

/// Program `k` of `seed`.
pub fn program(seed: u64, k: u64) -> SwarmProgram {
    swarm_program(&mut Unstructured::new(&program_bytes(seed, k)))
        .expect("the swarm bounds are all at least 1")
}

/// Explores swarm programs until `config.explore.iterations` executions
/// have run or one fails; `progress` sees the executions of the whole run.
pub fn explore_swarm(
    config: &SwarmConfig,
    progress: Arc<dyn Fn(Progress) + Send + Sync>,
) -> Result<SwarmSummary, crate::schedule::ScheduleFileError> {
    let total = config.explore.iterations;
    let per_program = config.executions_per_program.max(1);
    let shard = config.explore.shard.unwrap_or(Shard { index: 0, count: 1 });
    let mut summary = ExploreSummary {
        driver: String::new(),
        schedules: 0,
        distinct_histories: 0,
        attempts: 0,
        aborted_attempts: 0,
        violations: 0,
        cut_short: 0,
        internal_error: None,
        elapsed: Duration::ZERO,
        failure: None,
    };
    let mut programs = 0;
    let mut failing_program = None;
    while summary.schedules < total {
        let k = shard.execution(programs);
        programs += 1;
        let drawn = program(config.explore.seed, k);
        let explore_config = ExploreConfig {
            iterations: per_program.min(total - summary.schedules),
            seed: execution_seed(config.explore.seed, k),
            stm: drawn.stm,
            shard: None,
            ..config.explore.clone()
        };
        let done = summary.schedules;
        let inner_progress: Arc<dyn Fn(Progress) + Send + Sync> = {
            let progress = progress.clone();
            Arc::new(move |p: Progress| {
                progress(Progress {
                    executions: done + p.executions,
                    ..p
                })
            })
        };
        let one = explore(&drawn.workload, &explore_config, inner_progress)?;
        summary.driver = one.driver;
        summary.schedules += one.schedules;
        summary.distinct_histories += one.distinct_histories;
        summary.attempts += one.attempts;
        summary.aborted_attempts += one.aborted_attempts;
        summary.cut_short += one.cut_short;
        summary.elapsed += one.elapsed;
        if one.internal_error.is_some() || one.failure.is_some() {
            summary.internal_error = one.internal_error;
            summary.violations = one.violations;
            summary.failure = one.failure;
            failing_program = Some((k, Box::new(drawn)));
            break;
        }
        if one.schedules == 0 {
            // A driver that explores nothing (loom out of executions) would
            // loop forever: count the program as one execution.
            summary.schedules += 1;
        }
    }
    Ok(SwarmSummary {
        summary,
        programs,
        failing_program,
    })
}

impl SwarmSummary {
    /// The failure found, if any.
    pub fn failure(&self) -> Option<&FoundFailure> {
        self.summary.failure.as_ref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::SchedulerKind;
    use crate::explore::DriverKind;

    fn config(iterations: usize, seed: u64, bug: Option<&str>) -> SwarmConfig {
        SwarmConfig {
            explore: ExploreConfig {
                driver: DriverKind::Shuttle(SchedulerKind::Pct { depth: 3 }),
                iterations,
                seed,
                regressions: std::env::temp_dir().join("stm-check-swarm-unit"),
                shrink_schedules: 0,
                shrink_budget: 50,
                injected_bug: bug.map(str::to_string),
                ..ExploreConfig::default()
            },
            executions_per_program: 4,
        }
    }

    #[test]
    fn programs_depend_on_the_seed_and_number_alone() {
        assert_eq!(program(7, 3), program(7, 3));
        assert_ne!(program(7, 3).workload, program(7, 4).workload);
        assert_ne!(program(7, 3).workload, program(8, 3).workload);
    }

    #[test]
    fn every_feature_and_setting_appears_in_the_first_programs() {
        let programs: Vec<SwarmProgram> = (0..200).map(|k| program(1, k)).collect();
        for p in &programs {
            p.workload.validate().unwrap();
        }
        for name in crate::workload::Features::ALL.names() {
            let with = programs
                .iter()
                .filter(|p| p.features.names().contains(&name))
                .count();
            assert!(
                (40..=160).contains(&with),
                "feature {name} on in {with} of 200 programs"
            );
        }
        for setting in [0, 1, 16] {
            assert!(programs.iter().any(|p| p.stm.irrevocable_after == setting));
        }
        let json: Vec<String> = programs
            .iter()
            .map(|p| p.workload.to_json_string())
            .collect();
        for op in ["\"commute\"", "\"panic\"", "\"adds\"", "\"or_else\""] {
            assert!(json.iter().any(|j| j.contains(op)), "no program has {op}");
        }
    }

    #[test]
    fn the_correct_engine_passes_a_short_swarm_run() {
        let run = explore_swarm(&config(400, 5, None), Arc::new(|_| {})).unwrap();
        assert!(run.failure().is_none(), "{:?}", run.failure());
        assert!(run.summary.internal_error.is_none());
        assert_eq!(run.summary.schedules, 400);
        // Four executions each, fewer for a program with nothing to
        // interleave (one thread, no queue workers), whose one schedule
        // the explorer does not repeat.
        assert!(run.programs >= 100, "{} programs", run.programs);
    }

    /// The history fingerprints of every execution of a run.
    fn fingerprints(config: &SwarmConfig) -> Vec<String> {
        let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
        let sink = seen.clone();
        let run = explore_swarm(
            config,
            Arc::new(move |p: Progress| {
                if let Some(hash) = p.history_hash {
                    sink.lock().unwrap().push(hash);
                }
            }),
        )
        .unwrap();
        assert!(run.failure().is_none());
        let seen = seen.lock().unwrap().clone();
        seen
    }

    #[test]
    fn two_shards_explore_disjoint_programs_that_together_make_the_whole_run() {
        let mut whole = config(120, 9, None);
        whole.executions_per_program = 1;
        let shard = |index| {
            let mut c = whole.clone();
            c.explore.iterations = 60;
            c.explore.shard = Some(Shard { index, count: 2 });
            fingerprints(&c)
        };
        let (first, second) = (shard(0), shard(1));
        let mut union: Vec<String> = first.iter().chain(&second).cloned().collect();
        let mut all = fingerprints(&whole);
        assert!(first.iter().all(|h| !second.contains(h)), "shards overlap");
        union.sort();
        all.sort();
        assert_eq!(union, all);
    }

    #[test]
    fn a_swarm_run_finds_an_injected_bug_and_names_the_program() {
        let run = explore_swarm(
            &config(4000, 0, Some("skip-read-validation")),
            Arc::new(|_| {}),
        )
        .unwrap();
        let failure = run.failure().expect("skip-read-validation is found");
        let (k, program) = run.failing_program.as_ref().unwrap();
        assert_eq!(**program, super::program(0, *k));
        let saved = failure.saved.as_ref().unwrap();
        assert_eq!(saved.stm.irrevocable_after, program.stm.irrevocable_after);
    }
}
