//! Crash triage: the crash artifacts of the `interleavings` target in a
//! folder (what libFuzzer's fork mode writes with `-ignore_crashes=1`, or a
//! ClusterFuzzLite or OSS-Fuzz download) sorted by kind of failure, with
//! one shrunk schedule file imported per kind.
//!
//! Two artifacts are of the same kind when they need the same injected bug
//! and fail with the same [`FailureSignature`], the one the shrinker keeps
//! (anomaly classes, failed assertions and invariants by their condition,
//! deadlock), and, for a panic, the same message (its first line).

use super::import::{read_artifact, save_imported};
use super::{run_interleavings, ImportError, InterleavingFailure, InterleavingsInput};
use crate::explore::{replay_workload, ExploreConfig, FoundFailure};
use crate::schedule::first_panic_location;
use crate::workload::{FailureKind, FailureSignature};
use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};

/// One kind of crash.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CrashKind {
    /// The injected bug the crash needs (`None`: it fails on the correct
    /// engine).
    pub injected_bug: Option<String>,
    /// The kinds of failure it shows, as the shrinker sees them.
    pub signature: FailureSignature,
    /// For a failure with a [`FailureKind::Panic`]: the first line of the
    /// panic's message and where it was raised
    /// ([`first_panic_location`]).
    pub panic: Option<String>,
}

impl CrashKind {
    /// The order of kinds in a [`Triage`]: by bug, then by failure kinds.
    fn sort_key(&self) -> (Option<&str>, Vec<&FailureKind>, Option<&str>) {
        (
            self.injected_bug.as_deref(),
            self.signature.kinds().collect(),
            self.panic.as_deref(),
        )
    }
}

impl fmt::Display for CrashKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.signature)?;
        if let Some(panic) = &self.panic {
            write!(f, ": {panic}")?;
        }
        Ok(())
    }
}

/// The artifacts of one kind, and the schedule file imported for it.
#[derive(Debug)]
pub struct TriagedKind {
    /// The kind.
    pub kind: CrashKind,
    /// Its artifacts, smallest first; the first is the one imported.
    pub artifacts: Vec<PathBuf>,
    /// The import of the first artifact: the failure, shrunk and saved.
    pub imported: FoundFailure,
}

/// What [`triage_artifacts`] found.
#[derive(Debug)]
pub struct Triage {
    /// The artifacts run.
    pub artifacts: usize,
    /// The kinds of failure, each with its artifacts and imported schedule.
    pub kinds: Vec<TriagedKind>,
    /// The artifacts that ran without a failure with every bug tried
    /// (found with another bug, by another target, or timeouts and leaks,
    /// which a rerun does not detect).
    pub passing: Vec<PathBuf>,
    /// Files that were not run: hidden files and reports (`*.log`, `*.txt`,
    /// `*.json`, ...) among the artifacts.
    pub skipped: Vec<PathBuf>,
}

/// File extensions of the reports that crash folders hold besides the
/// artifacts (fuzzer logs, stack traces, the schedule files of an import).
const REPORT_EXTENSIONS: [&str; 9] = [
    "log",
    "txt",
    "json",
    "md",
    "summary",
    "stacktrace",
    "zip",
    "gz",
    "tar",
];

/// The files under `path` (every file of a folder and its subfolders, in
/// name order; or `path` itself): the artifacts and the skipped files.
fn list_artifacts(path: &Path) -> Result<(Vec<PathBuf>, Vec<PathBuf>), ImportError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| ImportError::Io { path, source }
    };
    if !path.is_dir() {
        // A single file, read (and its error reported) like an artifact.
        return Ok((vec![path.to_path_buf()], Vec::new()));
    }
    let (mut artifacts, mut skipped) = (Vec::new(), Vec::new());
    let mut folders = vec![path.to_path_buf()];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(&folder).map_err(io(&folder))? {
            let file = entry.map_err(io(&folder))?.path();
            let name = file.file_name().unwrap_or_default().to_string_lossy();
            let report = file
                .extension()
                .is_some_and(|e| REPORT_EXTENSIONS.contains(&&*e.to_string_lossy()));
            if name.starts_with('.') || report {
                skipped.push(file);
            } else if file.is_dir() {
                folders.push(file);
            } else {
                artifacts.push(file);
            }
        }
    }
    artifacts.sort();
    skipped.sort();
    Ok((artifacts, skipped))
}

/// The first of `bugs` (the correct engine if there are none) that makes
/// `input` fail, with the failure and its kind.
fn first_failure(
    input: &InterleavingsInput,
    bugs: &[String],
) -> Option<(CrashKind, InterleavingFailure)> {
    let engines: Vec<Option<&String>> = if bugs.is_empty() {
        vec![None]
    } else {
        bugs.iter().map(Some).collect()
    };
    engines.into_iter().find_map(|bug| {
        let failure = run_interleavings(input, bug.map(String::as_str)).err()?;
        let location = first_panic_location();
        let replayed = replay_workload(
            &input.workload,
            super::INTERLEAVINGS_STM,
            bug.cloned(),
            &failure.schedule,
            false,
        );
        // The replay follows the failing schedule; should it not fail alike,
        // the message still tells what happened.
        let signature = if replayed.signature.is_empty() {
            FailureSignature::of_panic(&failure.message)
        } else {
            replayed.signature
        };
        let panic = signature.contains(&FailureKind::Panic).then(|| {
            let message = failure.message.lines().next().unwrap_or("");
            match &location {
                Some(location) => format!("{message} (at {location})"),
                None => message.to_string(),
            }
        });
        let kind = CrashKind {
            injected_bug: bug.cloned(),
            signature,
            panic,
        };
        Some((kind, failure))
    })
}

/// Triages the crash artifacts of the `interleavings` target at `path` (a
/// folder, searched with its subfolders, or one file): runs each as the
/// target did, with each of `bugs` switched on in turn (none: on the
/// correct engine) until one makes it fail, groups the failing ones by
/// [`CrashKind`], and imports the smallest artifact of each kind as
/// [`import_artifact`](super::import_artifact) does (shrunk, saved in
/// `config.regressions`, never overwriting a file). Every artifact is read
/// and run before anything is saved.
///
/// # Errors
///
/// A file or folder that cannot be read, a folder without artifacts, no
/// failing artifact at all ([`ImportError::NothingFails`], or
/// [`ImportError::NoFailure`] for a single file), a schedule that cannot
/// be saved.
///
/// # Panics
///
/// If one of `bugs` is not a bug this build can inject
/// ([`injectable_bugs`](crate::explore::injectable_bugs)).
pub fn triage_artifacts(
    path: &Path,
    bugs: &[String],
    config: &ExploreConfig,
) -> Result<Triage, ImportError> {
    let (files, skipped) = list_artifacts(path)?;
    if files.is_empty() {
        return Err(ImportError::NoArtifact {
            path: path.to_path_buf(),
        });
    }
    let mut groups: HashMap<CrashKind, Vec<(usize, PathBuf, InterleavingsInput, _)>> =
        HashMap::new();
    let mut passing = Vec::new();
    for file in &files {
        let bytes = read_artifact(file)?;
        let input = InterleavingsInput::from_fuzz_bytes(&bytes);
        match first_failure(&input, bugs) {
            Some((kind, failure)) => {
                groups
                    .entry(kind)
                    .or_default()
                    .push((bytes.len(), file.clone(), input, failure))
            }
            None => passing.push(file.clone()),
        }
    }
    if groups.is_empty() {
        return Err(if path.is_dir() {
            ImportError::NothingFails {
                path: path.to_path_buf(),
                artifacts: files.len(),
                injected_bugs: bugs.to_vec(),
            }
        } else {
            ImportError::NoFailure {
                path: path.to_path_buf(),
                injected_bugs: bugs.to_vec(),
            }
        });
    }
    let mut groups: Vec<_> = groups.into_iter().collect();
    groups.sort_by(|(a, _), (b, _)| a.sort_key().cmp(&b.sort_key()));
    let mut kinds = Vec::new();
    for (kind, mut members) in groups {
        members.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
        let mut members = members.into_iter();
        let (len, smallest, input, failure) = members.next().expect("a kind has an artifact");
        let config = ExploreConfig {
            injected_bug: kind.injected_bug.clone(),
            ..config.clone()
        };
        let imported = save_imported(&smallest, len, input, failure, &config)?;
        let artifacts = std::iter::once(smallest)
            .chain(members.map(|(_, path, _, _)| path))
            .collect();
        kinds.push(TriagedKind {
            kind,
            artifacts,
            imported,
        });
    }
    Ok(Triage {
        artifacts: files.len(),
        kinds,
        passing,
        skipped,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schedule::ScheduleFile;

    /// The committed crash artifact of `bug` (see `import.rs`).
    fn crash(bug: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fuzz-crashes")
            .join(bug)
    }

    /// A folder of artifacts: `copies` copies of the crash of each bug
    /// (named apart), plus a passing input and a log.
    fn artifacts(dir: &Path, bugs: &[&str], copies: usize) -> PathBuf {
        let folder = dir.join("artifacts/interleavings");
        std::fs::create_dir_all(&folder).unwrap();
        for bug in bugs {
            let bytes = std::fs::read(crash(bug)).unwrap();
            for i in 0..copies {
                std::fs::write(folder.join(format!("crash-{bug}-{i}")), &bytes).unwrap();
            }
        }
        std::fs::write(folder.join("crash-clean"), [7u8, 1, 2, 3, 200, 0, 9]).unwrap();
        std::fs::write(folder.join("fuzz-0.log"), "INFO: a log").unwrap();
        folder
    }

    fn config(dir: &Path) -> ExploreConfig {
        ExploreConfig {
            regressions: dir.join("regressions"),
            shrink_schedules: 50,
            ..ExploreConfig::default()
        }
    }

    #[test]
    fn one_bug_gives_one_kind_that_replays() {
        let dir = tempfile::tempdir().unwrap();
        let bug = "lose-retry-wakeup";
        let folder = artifacts(dir.path(), &[bug], 5);
        let triage = triage_artifacts(&folder, &[bug.to_string()], &config(dir.path())).unwrap();
        assert_eq!(triage.artifacts, 6);
        assert_eq!(triage.passing, [folder.join("crash-clean")]);
        assert_eq!(triage.skipped, [folder.join("fuzz-0.log")]);
        let [kind] = &triage.kinds[..] else {
            panic!("one kind: {:?}", triage.kinds);
        };
        assert_eq!(kind.kind.injected_bug.as_deref(), Some(bug));
        assert_eq!(kind.kind.signature.to_string(), "deadlock");
        assert_eq!(kind.artifacts.len(), 5);
        assert_eq!(kind.artifacts[0], folder.join(format!("crash-{bug}-0")));
        let file = kind.imported.file.clone().unwrap();
        assert_eq!(file, dir.path().join("regressions/fuzz-interleavings.json"));
        let saved = ScheduleFile::load(&file).unwrap();
        assert_eq!(saved.driver.injected_bug.as_deref(), Some(bug));
    }

    #[test]
    fn two_bugs_mixed_give_two_kinds_and_nothing_is_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let bugs = ["skip-read-validation", "lose-retry-wakeup"];
        let folder = artifacts(dir.path(), &bugs, 3);
        let config = config(dir.path());
        std::fs::create_dir_all(&config.regressions).unwrap();
        let earlier = config.regressions.join("fuzz-interleavings.json");
        std::fs::write(&earlier, "saved before").unwrap();
        let bugs = bugs.map(String::from);
        let triage = triage_artifacts(&folder, &bugs, &config).unwrap();
        let found: Vec<_> = triage
            .kinds
            .iter()
            .map(|k| (k.kind.injected_bug.clone().unwrap(), k.artifacts.len()))
            .collect();
        assert_eq!(
            found,
            [
                ("lose-retry-wakeup".to_string(), 3),
                ("skip-read-validation".to_string(), 3)
            ]
        );
        assert_eq!(std::fs::read_to_string(&earlier).unwrap(), "saved before");
        let files: Vec<_> = triage
            .kinds
            .iter()
            .map(|k| k.imported.file.clone().unwrap())
            .collect();
        assert_eq!(
            files,
            [
                config.regressions.join("fuzz-interleavings-2.json"),
                config.regressions.join("fuzz-interleavings-3.json")
            ]
        );
    }

    /// A download from ClusterFuzzLite or OSS-Fuzz: testcases under their
    /// own names in subfolders, next to stack traces and summaries.
    #[test]
    fn a_downloaded_folder_with_subfolders_and_reports_is_triaged() {
        let dir = tempfile::tempdir().unwrap();
        let bug = "read-without-version-check";
        let download = dir.path().join("download");
        let job = download.join("job-1");
        std::fs::create_dir_all(&job).unwrap();
        let bytes = std::fs::read(crash(bug)).unwrap();
        let testcase = job.join("clusterfuzz-testcase-minimized-interleavings-5678");
        std::fs::write(&testcase, &bytes).unwrap();
        std::fs::write(job.join("crash-1.stacktrace"), "panicked at ...").unwrap();
        std::fs::write(download.join("summary.txt"), "1 crash").unwrap();
        std::fs::write(download.join(".DS_Store"), &bytes).unwrap();
        let triage = triage_artifacts(&download, &[bug.to_string()], &config(dir.path())).unwrap();
        assert_eq!(triage.artifacts, 1);
        assert_eq!(triage.kinds.len(), 1);
        assert_eq!(triage.kinds[0].artifacts, [testcase]);
        assert_eq!(triage.skipped.len(), 3, "{:?}", triage.skipped);
    }

    #[test]
    fn folders_without_a_failing_artifact_are_refused_and_nothing_is_saved() {
        let dir = tempfile::tempdir().unwrap();
        let config = config(dir.path());
        let empty = dir.path().join("empty");
        std::fs::create_dir_all(&empty).unwrap();
        std::fs::write(empty.join(".hidden"), b"").unwrap();
        let error = triage_artifacts(&empty, &[], &config).unwrap_err();
        assert!(matches!(error, ImportError::NoArtifact { .. }), "{error}");
        assert!(
            error.to_string().contains("empty: no crash artifact"),
            "{error}"
        );

        let folder = artifacts(dir.path(), &[], 0);
        let error = triage_artifacts(&folder, &[], &config).unwrap_err();
        assert!(
            error
                .to_string()
                .contains("none of its 1 artifacts fails on the correct engine"),
            "{error}"
        );
        let missing = dir.path().join("no-such-folder");
        let error = triage_artifacts(&missing, &[], &config).unwrap_err();
        assert!(matches!(error, ImportError::Io { .. }), "{error}");
        assert!(!config.regressions.exists(), "nothing saved");
    }
}
