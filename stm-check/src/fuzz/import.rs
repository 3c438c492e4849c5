//! From a fuzzer's crash to a schedule file: decode a crash artifact of the
//! `interleavings` target as the target did, run it again with every
//! choice recorded, and save the failure the way `stm-check explore` saves
//! its own (shrunk, fingerprinted, never overwriting a file), so that
//! `stm-check replay` reproduces it like any other.

use super::{run_interleavings, InterleavingFailure, InterleavingsInput, INTERLEAVINGS_STM};
use crate::explore::{save_failure, ExploreConfig, FoundFailure};
use crate::schedule::{DriverInfo, ScheduleFileError};
use std::path::{Path, PathBuf};

/// The stem of imported schedule files (`fuzz-interleavings.json`,
/// `fuzz-interleavings-2.json`, ...), and the name of their workload.
pub const IMPORTED_NAME: &str = "fuzz-interleavings";

/// The scheduler that schedule files of fuzzer crashes name.
pub const FUZZ_SCHEDULER: &str = "fuzz";

/// Why a crash artifact could not be imported. Every variant names the
/// artifact.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The artifact could not be read.
    #[error("{}: cannot read: {source}", path.display())]
    Io {
        /// The artifact.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// The input runs without any failure on this build.
    #[error("{}: this input runs without a failure {}; nothing to import{}", path.display(), describe(injected_bugs), hint(injected_bugs))]
    NoFailure {
        /// The artifact.
        path: PathBuf,
        /// The bugs it was run with (none: the correct engine).
        injected_bugs: Vec<String>,
    },
    /// A folder to triage holds no artifact.
    #[error("{}: no crash artifact in this folder (hidden files and reports such as *.log, *.txt, *.json are not artifacts)", path.display())]
    NoArtifact {
        /// The folder.
        path: PathBuf,
    },
    /// None of the artifacts of a folder fails on this build.
    #[error("{}: none of its {artifacts} artifacts fails {}; nothing to import{}", path.display(), describe(injected_bugs), hint(injected_bugs))]
    NothingFails {
        /// The folder.
        path: PathBuf,
        /// How many artifacts it holds.
        artifacts: usize,
        /// The bugs each was run with (none: the correct engine).
        injected_bugs: Vec<String>,
    },
    /// The schedule file could not be written.
    #[error(transparent)]
    Save(#[from] ScheduleFileError),
}

/// The engine an input ran on: correct, or with one of these bugs.
fn describe(bugs: &[String]) -> String {
    match bugs {
        [] => "on the correct engine".to_string(),
        [bug] => format!("with the injected bug `{bug}`"),
        bugs => format!(
            "with any of the injected bugs {}",
            bugs.iter()
                .map(|b| format!("`{b}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

fn hint(bugs: &[String]) -> &'static str {
    match bugs {
        [_, ..] => " (was it found with another bug switched on, or by another target?)",
        [] => " (if the fuzzer ran with STM_FUZZ_INJECT_BUG=NAME, import with a build that can inject it: cargo run -p stm-check --features bug-injection -- import-fuzz ARTIFACT --inject-bug NAME)",
    }
}

/// Imports the crash artifact at `path`: decodes it
/// ([`InterleavingsInput::from_fuzz_bytes`]), runs it with
/// `config.injected_bug` switched on, and saves the failure in
/// `config.regressions` with the decoded workload embedded (named
/// [`IMPORTED_NAME`], its description naming the artifact) and the driver
/// [`FUZZ_SCHEDULER`]; `config`'s driver, iterations, seed and runtime
/// configuration are not used (the target's runs use
/// [`INTERLEAVINGS_STM`], and so do the shrinking, the replays and the
/// file).
pub fn import_artifact(path: &Path, config: &ExploreConfig) -> Result<FoundFailure, ImportError> {
    let bytes = read_artifact(path)?;
    let input = InterleavingsInput::from_fuzz_bytes(&bytes);
    let failure = run_interleavings(&input, config.injected_bug.as_deref())
        .err()
        .ok_or_else(|| ImportError::NoFailure {
            path: path.to_path_buf(),
            injected_bugs: config.injected_bug.iter().cloned().collect(),
        })?;
    save_imported(path, bytes.len(), input, failure, config)
}

/// The bytes of the artifact at `path`.
pub(super) fn read_artifact(path: &Path) -> Result<Vec<u8>, ImportError> {
    std::fs::read(path).map_err(|source| ImportError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// Saves `failure`, which `input` (decoded from the `len` bytes of the
/// artifact at `path`) showed with `config.injected_bug`, as
/// [`import_artifact`] does.
pub(super) fn save_imported(
    path: &Path,
    len: usize,
    mut input: InterleavingsInput,
    failure: InterleavingFailure,
    config: &ExploreConfig,
) -> Result<FoundFailure, ImportError> {
    // The name and description do not change the run: it depends only on
    // the variables, threads and the schedule.
    input.workload.name = IMPORTED_NAME.to_string();
    input.workload.description = format!(
        "decoded from the fuzz input {} ({len} bytes) of the interleavings target",
        path.file_name().map_or_else(
            || path.display().to_string(),
            |name| name.to_string_lossy().into_owned()
        ),
    );
    let driver = DriverInfo {
        scheduler: FUZZ_SCHEDULER.to_string(),
        seed: None,
        depth: None,
        injected_bug: config.injected_bug.clone(),
        shard: None,
    };
    // The failure happened on the target's runtime configuration: shrink,
    // confirm and save it with that one.
    let config = ExploreConfig {
        stm: INTERLEAVINGS_STM,
        ..config.clone()
    };
    Ok(save_failure(
        &input.workload,
        &config,
        driver,
        failure.message,
        &failure.schedule,
        IMPORTED_NAME,
    )?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::explore::replay_workload;
    use crate::schedule::{ScheduleFile, Target};
    use crate::workload::Workload;
    use stm_core::StmConfig;

    /// Crash artifacts the `interleavings` target wrote, one per injected
    /// bug, under `tests/fuzz-crashes/<bug>`. If the workload generator or
    /// the byte scheduler changes how bytes decode, they may stop failing:
    /// find new ones with the fuzzer (see the README).
    fn crash(bug: &str) -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fuzz-crashes")
            .join(bug)
    }

    #[test]
    fn every_bug_found_imports_to_a_schedule_that_replays_the_same_failure() {
        let dir = tempfile::tempdir().unwrap();
        for bug in stm_core::InjectedBug::TRANSACTION_PROTOCOL.map(|b| b.name()) {
            let artifact = crash(bug);
            let config = ExploreConfig {
                regressions: dir.path().join(bug),
                injected_bug: Some(bug.to_string()),
                ..ExploreConfig::default()
            };
            let found = import_artifact(&artifact, &config).unwrap();
            let path = found.file.clone().unwrap();
            assert_eq!(path, config.regressions.join("fuzz-interleavings.json"));
            let file = ScheduleFile::load(&path).unwrap();
            assert_eq!(file.driver.scheduler, "fuzz");
            assert_eq!(file.driver.injected_bug.as_deref(), Some(bug));
            let Target::Workload {
                name,
                workload,
                shrunk_from,
                ..
            } = &file.target
            else {
                panic!("a workload target");
            };
            // The file holds the failure of the workload it saves: the one
            // found, or, shrunk, its own (the one found is kept with the
            // original workload's size).
            match shrunk_from {
                None => assert_eq!(file.failure, found.message),
                Some(from) => assert_eq!(from.failure, found.message),
            }
            assert_eq!(name, IMPORTED_NAME);
            let workload = Workload::from_json_str(&workload.to_string()).unwrap();
            assert!(
                workload.description.contains(bug),
                "{}",
                workload.description
            );
            for _ in 0..3 {
                let replayed = replay_workload(
                    &workload,
                    StmConfig::default(),
                    Some(bug.to_string()),
                    &file.schedule,
                    false,
                );
                assert_eq!(
                    replayed.failure.as_deref(),
                    Some(file.failure.as_str()),
                    "{bug}"
                );
                assert_eq!(Some(replayed.history_hash), file.history_hash, "{bug}");
            }
            // On the correct engine the schedule passes.
            let fixed =
                replay_workload(&workload, StmConfig::default(), None, &file.schedule, false);
            assert_eq!(fixed.failure, None, "{bug}");

            // A second import never overwrites the first.
            let again = import_artifact(&artifact, &config).unwrap();
            assert_eq!(
                again.file.unwrap(),
                config.regressions.join("fuzz-interleavings-2.json")
            );
            assert_eq!(ScheduleFile::load(&path).unwrap(), file);
        }
    }

    #[test]
    fn inputs_without_a_failure_and_unreadable_files_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let config = ExploreConfig {
            regressions: dir.path().join("regressions"),
            ..ExploreConfig::default()
        };
        let passing = dir.path().join("crash-passing");
        std::fs::write(&passing, b"").unwrap();
        let error = import_artifact(&passing, &config).unwrap_err();
        assert!(matches!(error, ImportError::NoFailure { .. }), "{error}");
        assert!(error.to_string().contains("crash-passing"), "{error}");
        assert!(error.to_string().contains("--inject-bug"), "{error}");

        let missing = dir.path().join("no-such-artifact");
        let error = import_artifact(&missing, &config).unwrap_err();
        assert!(matches!(error, ImportError::Io { .. }), "{error}");
        assert!(error.to_string().contains("no-such-artifact"), "{error}");
        assert!(!config.regressions.exists(), "nothing saved");
    }
}
