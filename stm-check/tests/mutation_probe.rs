//! The short exploration `cargo mutants` runs against every mutant of the
//! engine (ignored by a plain `cargo test`; see README, "Measuring checking
//! power"): swarm programs under PCT and random, then each built-in
//! workload under PCT. A mutant is killed when this fails (a violation, a
//! deadlock, a panic) or times out (a hang).
//!
//! ```sh
//! cargo mutants -p stm-core --file stm-core/src/commit.rs -- -p stm-check --test mutation_probe -- --ignored
//! ```

use std::sync::Arc;
use stm_check::check::SchedulerKind;
use stm_check::explore::{explore, explore_swarm, DriverKind, ExploreConfig, SwarmConfig};
use stm_check::workload::{Workload, BUILTIN_NAMES};

fn config(driver: SchedulerKind, iterations: usize, seed: u64) -> ExploreConfig {
    ExploreConfig {
        driver: DriverKind::Shuttle(driver),
        iterations,
        seed,
        regressions: std::env::temp_dir().join("stm-check-mutation-probe"),
        shrink_schedules: 0,
        shrink_budget: 0,
        ..ExploreConfig::default()
    }
}

#[test]
#[ignore = "the test command of cargo mutants; a plain run explores what other tests do"]
fn the_engine_passes_a_short_exploration() {
    for (scheduler, seed) in [
        (SchedulerKind::Pct { depth: 3 }, 1),
        (SchedulerKind::Random, 2),
    ] {
        let swarm = SwarmConfig {
            explore: config(scheduler, 2_000, seed),
            executions_per_program: 4,
        };
        let run = explore_swarm(&swarm, Arc::new(|_| {})).unwrap();
        if let Some(failure) = run.failure() {
            panic!("swarm ({scheduler:?}, seed {seed}): {}", failure.message);
        }
    }
    for name in BUILTIN_NAMES {
        let workload = Workload::builtin(name).unwrap();
        let run = explore(
            &workload,
            &config(SchedulerKind::Pct { depth: 3 }, 500, 0),
            Arc::new(|_| {}),
        )
        .unwrap();
        if let Some(failure) = &run.failure {
            panic!("built-in {name}: {}", failure.message);
        }
    }
}
