//! The `import-fuzz` subcommand: a crash artifact of the `interleavings`
//! fuzz target becomes a schedule file, reported like a failure `explore`
//! found.

use crate::explore_command::{
    bad_input, check_injected_bug, failure_json, print_failure, quiet_stderr,
};
use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use stm_check::explore::ExploreConfig;
use stm_check::fuzz::{import_artifact, ImportError, FUZZ_SCHEDULER};

/// `stm-check import-fuzz`.
pub fn import_fuzz_command(
    artifact: &Path,
    injected_bug: Option<String>,
    regressions: PathBuf,
    json: bool,
) -> ExitCode {
    if let Err(exit) = check_injected_bug(injected_bug.as_deref(), "import-fuzz") {
        return exit;
    }
    let config = ExploreConfig {
        regressions,
        injected_bug: injected_bug.clone(),
        ..ExploreConfig::default()
    };
    let found = {
        let _quiet = quiet_stderr();
        import_artifact(artifact, &config)
    };
    let found = match found {
        Ok(found) => found,
        Err(ImportError::Save(error)) => {
            return bad_input(format!("could not save the failing schedule: {error}"))
        }
        Err(error) => return bad_input(error),
    };
    if json {
        let report = json!({
            "artifact": artifact.display().to_string(),
            "driver": FUZZ_SCHEDULER,
            "injected_bug": injected_bug,
            "failure": failure_json(&found),
        });
        println!("{}", serde_json::to_string_pretty(&report).expect("JSON"));
    } else {
        println!(
            "imported {}: it fails {}",
            artifact.display(),
            injected_bug.map_or("on the correct engine".to_string(), |bug| format!(
                "with the injected bug `{bug}`"
            ))
        );
        print_failure(&found, FUZZ_SCHEDULER);
    }
    ExitCode::SUCCESS
}
