//! A swarm program (a random subset of the engine's features, random
//! runtime settings: the generator of `stm-check explore --workload swarm`)
//! and a stream of scheduling choices, run and checked like the
//! `interleavings` target's inputs. `STM_FUZZ_INJECT_BUG=NAME` switches on
//! one of stm-core's injected bugs.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::path::Path;
use std::sync::OnceLock;
use stm_check::fuzz::{injected_bug_from_env, run_swarm, seed_the_run, SwarmInput};

/// The injected bug, read from the environment once, before fuzzing
/// starts (where exiting on a bad name is not taken for a crash).
static INJECTED_BUG: OnceLock<Option<String>> = OnceLock::new();

fuzz_target!(
    init: {
        // The committed seeds join the run's corpus (see stm_check::fuzz::seed_the_run).
        seed_the_run(Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/seeds/swarm")));
        let bug = injected_bug_from_env().unwrap_or_else(|message| {
            eprintln!("swarm: {message}");
            std::process::exit(2)
        });
        INJECTED_BUG.get_or_init(|| bug);
    },
    |input: SwarmInput| {
        let bug = INJECTED_BUG.get().and_then(Option::as_deref);
        if let Err(failure) = run_swarm(&input, bug) {
            panic!("{failure}");
        }
    }
);
