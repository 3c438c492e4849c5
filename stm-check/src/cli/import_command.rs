//! The `import-fuzz` subcommand: a crash artifact of the `interleavings`
//! fuzz target becomes a schedule file, reported like a failure `explore`
//! found; a folder of them is triaged, one schedule file per kind of
//! failure, reported as a table.

use crate::explore_command::{
    bad_input, check_injected_bug, failure_json, print_failure, quiet_stderr, replay_command_line,
};
use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use stm_check::explore::ExploreConfig;
use stm_check::fuzz::{import_artifact, triage_artifacts, ImportError, Triage, FUZZ_SCHEDULER};

/// `stm-check import-fuzz`.
pub fn import_fuzz_command(
    artifact: &Path,
    injected_bugs: Vec<String>,
    regressions: PathBuf,
    json: bool,
) -> ExitCode {
    for bug in &injected_bugs {
        if let Err(exit) = check_injected_bug(Some(bug), "import-fuzz") {
            return exit;
        }
    }
    let config = ExploreConfig {
        regressions,
        injected_bug: injected_bugs.first().cloned(),
        ..ExploreConfig::default()
    };
    if artifact.is_dir() || injected_bugs.len() > 1 {
        return triage_command(artifact, &injected_bugs, &config, json);
    }
    let found = {
        let _quiet = quiet_stderr();
        import_artifact(artifact, &config)
    };
    let found = match found {
        Ok(found) => found,
        Err(error) => return import_error(error),
    };
    if json {
        let report = json!({
            "artifact": artifact.display().to_string(),
            "driver": FUZZ_SCHEDULER,
            "injected_bug": config.injected_bug,
            "failure": failure_json(&found),
        });
        println!("{}", serde_json::to_string_pretty(&report).expect("JSON"));
    } else {
        println!(
            "imported {}: it fails {}",
            artifact.display(),
            config
                .injected_bug
                .map_or("on the correct engine".to_string(), |bug| format!(
                    "with the injected bug `{bug}`"
                ))
        );
        print_failure(&found, FUZZ_SCHEDULER);
    }
    ExitCode::SUCCESS
}

fn import_error(error: ImportError) -> ExitCode {
    match error {
        ImportError::Save(error) => {
            bad_input(format!("could not save the failing schedule: {error}"))
        }
        error => bad_input(error),
    }
}

/// `stm-check import-fuzz FOLDER`: the crash triage.
fn triage_command(path: &Path, bugs: &[String], config: &ExploreConfig, json: bool) -> ExitCode {
    let triage = {
        let _quiet = quiet_stderr();
        triage_artifacts(path, bugs, config)
    };
    let triage = match triage {
        Ok(triage) => triage,
        Err(error) => return import_error(error),
    };
    let shown = |paths: &[PathBuf]| {
        paths
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
    };
    if json {
        let kinds: Vec<_> = triage
            .kinds
            .iter()
            .map(|k| {
                json!({
                    "kind": k.kind.to_string(),
                    "kinds": k.kind.signature.kinds().map(|k| k.to_string()).collect::<Vec<_>>(),
                    "panic": k.kind.panic,
                    "injected_bug": k.kind.injected_bug,
                    "count": k.artifacts.len(),
                    "artifacts": shown(&k.artifacts),
                    "imported": failure_json(&k.imported),
                })
            })
            .collect();
        let report = json!({
            "path": path.display().to_string(),
            "driver": FUZZ_SCHEDULER,
            "injected_bugs": bugs,
            "artifacts": triage.artifacts,
            "kinds": kinds,
            "passing": shown(&triage.passing),
            "skipped": shown(&triage.skipped),
        });
        println!("{}", serde_json::to_string_pretty(&report).expect("JSON"));
    } else {
        print!("{}", triage_text(path, &triage));
    }
    ExitCode::SUCCESS
}

/// The triage as text: a summary line, the table (kind, bug, count, the
/// file that replays it), the replay commands, and the artifacts that did
/// not fail or were skipped.
fn triage_text(path: &Path, triage: &Triage) -> String {
    let kinds = triage.kinds.len();
    let mut text = format!(
        "triaged {}: {} artifacts, {kinds} kind{} of failure; the smallest artifact of each kind imported and shrunk\n\n",
        path.display(),
        triage.artifacts,
        if kinds == 1 { "" } else { "s" },
    );
    text.push_str("| kind | injected bug | count | replayed by |\n| --- | --- | --- | --- |\n");
    for kind in &triage.kinds {
        let file = kind
            .imported
            .file
            .as_ref()
            .map_or("(not saved)".to_string(), |f| f.display().to_string());
        text.push_str(&format!(
            "| {} | {} | {} | {file} |\n",
            kind.kind,
            kind.kind.injected_bug.as_deref().unwrap_or("none"),
            kind.artifacts.len(),
        ));
    }
    text.push_str("\nreplay each kind with:\n");
    for kind in &triage.kinds {
        if let Some(file) = &kind.imported.file {
            text.push_str(&format!(
                "  {}    # {}, imported from {}\n",
                replay_command_line(file, kind.kind.injected_bug.as_deref()),
                kind.kind,
                kind.artifacts[0].display()
            ));
        }
    }
    if !triage.passing.is_empty() {
        text.push_str(&format!(
            "\n{} artifact{} ran without a failure (found with another bug or by another target, or a timeout or leak, which a rerun does not detect): {}\n",
            triage.passing.len(),
            if triage.passing.len() == 1 { "" } else { "s" },
            list(&triage.passing)
        ));
    }
    if !triage.skipped.is_empty() {
        text.push_str(&format!(
            "skipped (hidden files and reports, not artifacts): {}\n",
            list(&triage.skipped)
        ));
    }
    text
}

/// Up to five paths, then how many more.
fn list(paths: &[PathBuf]) -> String {
    let mut shown: Vec<String> = paths
        .iter()
        .take(5)
        .map(|p| p.display().to_string())
        .collect();
    if paths.len() > 5 {
        shown.push(format!("and {} more", paths.len() - 5));
    }
    shown.join(", ")
}
