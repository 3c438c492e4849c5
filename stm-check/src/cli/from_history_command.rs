//! The `from-history` subcommand: a history recorded elsewhere (on real
//! threads, by a known workload) turned into a schedule file that `replay`
//! reproduces, as `explore --scheduler stress` does with its own failures
//! (see `stm_check::explore::derive`).

use crate::explore_command::{bad_input, check_injected_bug, quiet_stderr, resolve_workload};
use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use stm_check::explore::derive::{save_real_failure, Found, RealExecution};
use stm_check::explore::{ExploreConfig, Progress};
use stm_check::history::History;
use stm_check::schedule::DriverInfo;

/// Exit code when the history could not be reproduced.
const NOT_REPRODUCED: u8 = 1;

/// What `from-history` was asked.
pub(crate) struct FromHistoryArgs {
    pub(crate) history: PathBuf,
    pub(crate) workload: String,
    pub(crate) threads: Option<usize>,
    pub(crate) injected_bug: Option<String>,
    pub(crate) regressions: PathBuf,
    pub(crate) seed: u64,
    pub(crate) json: bool,
}

/// Derives, confirms, shrinks and saves a schedule for the history at
/// `args.history`. Exit 0: saved; 1: not reproduced (the history is saved
/// beside where schedules go); 2: bad input (the file named).
pub(crate) fn from_history_command(args: FromHistoryArgs) -> ExitCode {
    if let Err(exit) = check_injected_bug(args.injected_bug.as_deref(), "from-history") {
        return exit;
    }
    let workload = match resolve_workload(&args.workload, args.threads) {
        Ok(w) => w,
        Err(message) => return bad_input(message),
    };
    let history = match History::load(&args.history) {
        Ok(history) => history,
        Err(error) => return bad_input(error),
    };
    if history.transactions.is_empty() {
        return bad_input(format!(
            "{}: the history has no transactions, so there is no execution to reproduce",
            args.history.display()
        ));
    }
    let config = ExploreConfig {
        regressions: args.regressions,
        injected_bug: args.injected_bug.clone(),
        seed: args.seed,
        // Real-thread histories are not shrunk as workloads.
        shrink_schedules: 0,
        ..ExploreConfig::default()
    };
    let real = RealExecution {
        history,
        abort_causes: Default::default(),
        failure: None,
    };
    let info = DriverInfo {
        scheduler: "history".into(),
        seed: None,
        depth: None,
        injected_bug: args.injected_bug,
        shard: None,
    };
    let quiet: Arc<dyn Fn(Progress) + Send + Sync> = Arc::new(|_| {});
    let found = {
        let _quiet = quiet_stderr();
        save_real_failure(&workload, &config, info, String::new(), &real, 1, &quiet)
    };
    let found = match found {
        Ok(found) => found,
        Err(error) => return bad_input(error),
    };
    let derivation = found.derivation.as_deref().expect("derived from a history");
    let how = derivation.derived.as_ref().map(|d| match d.found {
        Found::Guided => "guided",
        Found::Search { .. } => "search",
    });
    if args.json {
        let report = json!({
            "history": args.history.display().to_string(),
            "workload": workload.name,
            "reproduced": how,
            "exact": derivation.derived.as_ref().map(|d| d.exact),
            "real_history_hash": derivation.real_hash,
            "failure": derivation.derived.as_ref().map(|d| d.message.clone()),
            "file": found.file.as_ref().map(|p| p.display().to_string()),
            "real_history": derivation.real_history.as_ref().map(|p| p.display().to_string()),
            "summary": derivation.summary(),
        });
        println!("{}", serde_json::to_string_pretty(&report).expect("JSON"));
    } else {
        println!("{}", derivation.summary());
        if let Some(derived) = &derivation.derived {
            println!("\nthe replay fails with:\n{}", derived.message);
        }
        if let Some(file) = &found.file {
            println!("\nsaved to {}", file.display());
            println!("replay it with: stm-check replay {}", shown(file));
        }
    }
    if found.file.is_some() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(NOT_REPRODUCED)
    }
}

fn shown(path: &Path) -> String {
    path.display().to_string()
}
