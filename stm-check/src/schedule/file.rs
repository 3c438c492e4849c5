//! Schedule files: a failing execution saved as JSON, versioned, so that
//! `replay` can reproduce it on any machine and refuse one that was
//! recorded for something else.
//!
//! ```json
//! { "format": "stm-schedule", "version": 1, "tool": "stm-check 0.1.0",
//!   "target": {"kind": "test", "name": "split_transfer"},
//!   "driver": {"scheduler": "pct", "seed": 7, "depth": 3},
//!   "stm": {"irrevocable_after": 16, "conflict_reports": false},
//!   "tasks": 3,
//!   "failure": "total was 90, expected 100",
//!   "history_hash": "5d1f0c2a9b3e4f60",
//!   "recorded_steps": 42, "recorded_switches": 9, "shrunk_switches": 4,
//!   "schedule": {"steps": [0, 0, 1, {"random": 3}, 0]} }
//! ```
//!
//! A failure found by loom has an empty `schedule` and instead a
//! `loom_path`: loom's own checkpoint of the failing execution (the branch
//! choices that lead to it, in loom's JSON), which a replay hands back to
//! loom; `driver` is then `{"scheduler": "loom", "depth": PREEMPTION_BOUND}`.
//! A replay must run the execution that failed, not another one, so the
//! file carries everything the execution depended on besides the test (or
//! the embedded workload): `stm` is the configuration of the runtime it ran
//! on ([`StmConfig`]: a failure found with `irrevocable_after: 0` may not
//! happen with the default 16), `driver.injected_bug` the stm-core bug that
//! was switched on, and `tasks` the number of tasks (threads, the main one
//! included) that the saved execution created, so that a replay of a test
//! that starts more or fewer threads since is reported as a divergence
//! instead of passing silently. A file without `stm` or `tasks` (written by
//! an older stm-check) is refused, never replayed with a guessed
//! configuration.
//!
//! `schedule.steps` are the scheduler's choices (a task id, or a random
//! value drawn), shrunk to the shortest failing prefix (a replay continues
//! deterministically past it); `recorded_steps` and `recorded_switches`
//! describe the schedule as first found, `shrunk_switches` the execution the
//! shrunk one replays. Files are never overwritten: a new one gets
//! the next free name (`name.json`, `name-2.json`, ...). The optional
//! `explanation` holds the failing execution as the user was shown it
//! (transactions per thread, TVars, the assertion's location), so that
//! `stm-check replay` can show it for a test's file, which only the test
//! can replay.
//!
//! A failure found by a sharded exploration (`stm-check explore --shard
//! I/N`) says so in `driver`:
//!
//! ```json
//! "driver": {"scheduler": "pct", "seed": 7, "depth": 3,
//!   "shard": {"index": 1, "count": 4, "execution": 41}}
//! ```
//!
//! `index` and `count` are the shard (`I` of `N`, 0-based) and `execution`
//! is the number `k` of the failing execution (as found, before shrinking)
//! in the sharded layout of `seed`, which is all that execution depended
//! on: `explore --seed 7 --shard 1/4 --iterations 11` (the shard's
//! `(k - I) / N + 1` first executions) finds it again. A replay needs none
//! of it (the schedule is in the file); files without `shard` read as
//! before.
//!
//! A workload target (`"kind": "workload"`) holds the workload itself
//! (`workload`, an `stm-workload` document), its `name` and the
//! `fingerprint` of its JSON, so that the file replays alone. When
//! `stm-check explore` shrank the workload before saving, the target is the
//! shrunk workload (what `replay` runs), and the optional `shrunk_from`
//! field names the workload the failure was found in:
//!
//! ```json
//! "target": {"kind": "workload", "name": "write-skew", "fingerprint": "0c4f2d6a1b3e5f78",
//!   "workload": {"format": "stm-workload", "version": 1, "...": "..."},
//!   "shrunk_from": {"name": "write-skew", "fingerprint": "9a8b7c6d5e4f3a21",
//!     "threads": 3, "transactions": 4, "operations": 9, "variables": 3,
//!     "failure": "the failure as first found"}}
//! ```
//!
//! `shrunk_from` has the original's `name` and `fingerprint` (so that
//! `replay --workload` accepts the file for the workload it was explored
//! on), its size, and the failure as first found (`failure` at the top is
//! the shrunk workload's, the one a replay reproduces); `recorded_steps` and
//! `recorded_switches` then describe the schedule first found on the
//! original. Files without `shrunk_from` read as before: the field is
//! optional within version 1.
//!
//! A failure found on real threads (`explore --scheduler stress`, or
//! `stm-check from-history`), which no scheduler chose, is saved with the
//! schedule derived from its recorded history (see
//! [`derive`](crate::explore::derive)) and says where it came from:
//!
//! ```json
//! "derived_from": {"driver": "stress", "history_hash": "3b9f0c2a9b3e4f61",
//!   "how": "guided", "real_history": "bank.real-history.json"}
//! ```
//!
//! `history_hash` is the fingerprint of the real execution's history with
//! its threads numbered by first attempt
//! ([`normalized_hash`](crate::history::shape::normalized_hash)); `how` is
//! `guided` when the schedule replays that very execution (its replays'
//! histories equal the real one in reads-from, commit order and abort
//! causes) and `search` when the guided replay did not, and a search near
//! the recorded order found the same kind of failure; `real_history`, when
//! present, names the real history's file (`stm-history` JSON, for
//! `stm-check check`), saved beside the schedule. Files without
//! `derived_from` read as before: the field is optional within version 1.

use super::{Divergence, Schedule};
use serde::{Deserialize, Serialize};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use stm_core::StmConfig;

/// The `format` field of every schedule file.
pub const SCHEDULE_FORMAT: &str = "stm-schedule";
/// The version of the schedule file format this stm-check writes and reads.
pub const SCHEDULE_VERSION: u32 = 1;

/// What a schedule was recorded for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Target {
    /// A test run through [`check`](crate::check()), by its name.
    Test {
        /// The test's name.
        name: String,
    },
    /// A workload explored by `stm-check explore`, embedded so that the file
    /// replays alone.
    Workload {
        /// The workload's name.
        name: String,
        /// A fingerprint of the workload's JSON: a replay against another
        /// workload of the same name is refused.
        fingerprint: String,
        /// The workload (an `stm-workload` document).
        workload: serde_json::Value,
        /// When the workload is a shrunk one: the workload the failure was
        /// found in.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        shrunk_from: Option<ShrunkFrom>,
    },
}

/// The workload a failure was first found in, recorded in a file that holds
/// a shrunk workload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShrunkFrom {
    /// The original workload's name.
    pub name: String,
    /// The fingerprint of the original workload's JSON.
    pub fingerprint: String,
    /// Its threads.
    pub threads: usize,
    /// Its transactions (`atomically` steps and queue items).
    pub transactions: usize,
    /// Its operations.
    pub operations: usize,
    /// Its variables.
    pub variables: usize,
    /// The failure as first found, on the original workload.
    pub failure: String,
}

impl Target {
    /// This target with `shrunk_from` set (a workload target; a test target
    /// is returned as it is).
    pub fn with_shrunk_from(mut self, from: Option<ShrunkFrom>) -> Target {
        if let Target::Workload { shrunk_from, .. } = &mut self {
            *shrunk_from = from;
        }
        self
    }
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Target::Test { name } => write!(f, "test `{name}`"),
            Target::Workload {
                name,
                fingerprint,
                shrunk_from,
                ..
            } => {
                write!(f, "workload `{name}` (fingerprint {fingerprint}")?;
                if let Some(from) = shrunk_from {
                    write!(
                        f,
                        ", shrunk from workload `{}` with fingerprint {}",
                        from.name, from.fingerprint
                    )?;
                }
                f.write_str(")")
            }
        }
    }
}

/// The scheduler that found the failure.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DriverInfo {
    /// `random`, `pct` or `dfs`.
    pub scheduler: String,
    /// Its seed, where it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    /// PCT's bug depth.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub depth: Option<usize>,
    /// The stm-core bug that was injected when the failure was found (test
    /// builds only); a replay on a correct engine must pass.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub injected_bug: Option<String>,
    /// The shard of a sharded exploration that found the failure (`explore
    /// --shard I/N`); absent for an unsharded one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<ShardInfo>,
}

/// Which shard of a sharded exploration found a failure, and which of its
/// executions failed: `{"index": I, "count": N, "execution": K}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardInfo {
    /// The shard, `0 .. count`.
    pub index: usize,
    /// The number of shards.
    pub count: usize,
    /// The failing execution's number in the whole sharded layout (the
    /// shard's `j`-th execution is `j * count + index`), as found, before
    /// shrinking.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution: Option<u64>,
}

/// The configuration of the runtime a failure was found on, as saved in a
/// schedule file (`"stm"`): a mirror of stm-core's [`StmConfig`], which
/// has no serde (the engine depends on nothing heavy).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EngineConfig {
    /// [`StmConfig::irrevocable_after`].
    pub irrevocable_after: u32,
    /// [`StmConfig::conflict_reports`].
    pub conflict_reports: bool,
}

impl From<StmConfig> for EngineConfig {
    fn from(config: StmConfig) -> Self {
        let StmConfig {
            irrevocable_after,
            conflict_reports,
        } = config;
        EngineConfig {
            irrevocable_after,
            conflict_reports,
        }
    }
}

impl From<EngineConfig> for StmConfig {
    fn from(config: EngineConfig) -> Self {
        StmConfig {
            irrevocable_after: config.irrevocable_after,
            conflict_reports: config.conflict_reports,
        }
    }
}

/// Where a schedule derived from a real execution came from (see the
/// [module docs](self)).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DerivedFrom {
    /// What ran the real execution: `stress` (explore on real threads) or
    /// `history` (a history recorded elsewhere, `stm-check from-history`).
    pub driver: String,
    /// The fingerprint of the real history, threads numbered by first
    /// attempt.
    pub history_hash: String,
    /// `guided` (the schedule replays the real execution) or `search` (the
    /// same kind of failure, found near the recorded order).
    pub how: String,
    /// The file holding the real history, beside the schedule file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub real_history: Option<String>,
}

/// What the replay that confirmed a shrunk schedule observed, saved with
/// it so that later replays can be compared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfirmedExecution {
    /// The fingerprint of its recorded history, when there is one.
    pub history_hash: Option<String>,
    /// The tasks it created (the highest task id seen, plus one).
    pub tasks: usize,
}

/// A saved failing execution.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScheduleFile {
    /// Always [`SCHEDULE_FORMAT`].
    pub format: String,
    /// The format version, [`SCHEDULE_VERSION`].
    pub version: u32,
    /// The stm-check that wrote it (`stm-check 0.1.0`).
    pub tool: String,
    /// What it was recorded for.
    pub target: Target,
    /// The scheduler that found it.
    pub driver: DriverInfo,
    /// The configuration of the runtime it ran on; replays use it.
    pub stm: EngineConfig,
    /// The tasks the saved execution created (task ids `0..tasks`, 0 the
    /// main thread); a replay that sees another number diverges.
    pub tasks: usize,
    /// The failure, as the test reported it.
    pub failure: String,
    /// The fingerprint of the recorded history of the failing execution
    /// ([`history_hash`](crate::record::history_hash)), when it was recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub history_hash: Option<String>,
    /// Steps of the schedule as found, before shrinking.
    pub recorded_steps: usize,
    /// Context switches of the schedule as found, before shrinking.
    pub recorded_switches: usize,
    /// Context switches of the execution the shrunk schedule replays.
    pub shrunk_switches: usize,
    /// The (shrunk) schedule to replay (empty for a loom failure).
    pub schedule: Schedule,
    /// For a failure found by loom: loom's path to the failing execution
    /// (its checkpoint), which a replay follows instead of `schedule`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loom_path: Option<super::LoomPath>,
    /// The failing execution told in the user's terms (see
    /// [`explanation`](crate::explanation)), as it was when saved; optional
    /// within version 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub explanation: Option<String>,
    /// For a schedule derived from a real execution: where it came from;
    /// optional within version 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub derived_from: Option<DerivedFrom>,
}

/// Why a schedule file could not be used. Every variant names the file.
#[derive(Debug, thiserror::Error)]
pub enum ScheduleFileError {
    /// The file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// The file is not valid JSON, or not a schedule file.
    #[error("{path}:{line}:{column}: not a valid schedule file: {message}")]
    Malformed {
        /// The file.
        path: PathBuf,
        /// Line of the problem.
        line: usize,
        /// Column of the problem.
        column: usize,
        /// What is wrong.
        message: String,
    },
    /// The file is of another format, or another version of this one.
    #[error("{path}: unsupported schedule file ({found}); this stm-check reads {SCHEDULE_FORMAT} version {SCHEDULE_VERSION}")]
    Unsupported {
        /// The file.
        path: PathBuf,
        /// The format and version found.
        found: String,
    },
    /// The file lacks a field that replaying it exactly needs (it was
    /// written by an older stm-check): it is refused rather than replayed
    /// with a guess.
    #[error("{path}: this schedule file has no `{field}` field ({what}), so it cannot be replayed exactly; it was saved by an older stm-check. Run the test (or `stm-check explore`) again to find the failure and save a new file, then delete this one")]
    MissingField {
        /// The file.
        path: PathBuf,
        /// The field missing.
        field: &'static str,
        /// What the field records.
        what: &'static str,
    },
    /// A replay stopped following the schedule: the test (or the engine)
    /// changed since the file was saved. The file is kept.
    #[error("{path}: the replay no longer follows this schedule: at step {step}, {detail}. The test (or the code it runs) changed since the schedule was saved, so this replay ran another execution than the one that failed; the file is kept. If the change was on purpose, delete {path}", step = .divergence.step, detail = .divergence.detail)]
    Diverged {
        /// The file.
        path: PathBuf,
        /// Where and how the replay diverged.
        divergence: Divergence,
    },
    /// The file was recorded for something else than what replays it.
    #[error("{path}: this schedule was recorded for {found}, not for {expected}")]
    WrongTarget {
        /// The file.
        path: PathBuf,
        /// What it was recorded for, described.
        found: String,
        /// What tried to replay it, described.
        expected: String,
    },
}

/// The fields without which a file cannot be replayed exactly, and what
/// each records (for the message refusing a file without it).
const REPLAY_NEEDS: [(&str, &str); 2] = [
    (
        "stm",
        "the runtime configuration the failure was found with, such as `irrevocable_after`",
    ),
    (
        "tasks",
        "the number of tasks the saved execution created, to detect a test that changed",
    ),
];

/// Just the fields that say what a file is, read before the rest so that
/// another version is reported as such even if its fields differ.
#[derive(Deserialize)]
struct Header {
    format: Option<String>,
    version: Option<serde_json::Value>,
}

impl ScheduleFile {
    /// A file for a failure of `target` found by `driver` on a runtime
    /// configured with `stm`; `confirmed` is what the replay of the shrunk
    /// schedule observed.
    pub fn new(
        target: Target,
        driver: DriverInfo,
        stm: StmConfig,
        failure: String,
        confirmed: ConfirmedExecution,
        recorded: &Schedule,
        shrunk: super::Shrunk,
    ) -> Self {
        ScheduleFile {
            format: SCHEDULE_FORMAT.to_string(),
            version: SCHEDULE_VERSION,
            tool: format!("stm-check {}", env!("CARGO_PKG_VERSION")),
            target,
            driver,
            stm: stm.into(),
            tasks: confirmed.tasks,
            failure,
            history_hash: confirmed.history_hash,
            recorded_steps: recorded.steps.len(),
            recorded_switches: recorded.context_switches(),
            shrunk_switches: shrunk.context_switches,
            schedule: shrunk.schedule,
            loom_path: None,
            explanation: None,
            derived_from: None,
        }
    }

    /// A failure found by loom, replayed by following `path` (loom's
    /// schedules are not shrunk: `schedule` stays empty).
    /// The file's `tasks` are the execution's main thread and the threads
    /// it spawned (its loom operations say how many).
    pub fn for_loom(
        target: Target,
        driver: DriverInfo,
        stm: StmConfig,
        failure: String,
        history_hash: Option<String>,
        path: super::LoomPath,
    ) -> Self {
        let tasks = 1 + path.operations.matches('p').count();
        ScheduleFile {
            loom_path: Some(path),
            ..ScheduleFile::new(
                target,
                driver,
                stm,
                failure,
                ConfirmedExecution {
                    history_hash,
                    tasks,
                },
                &Schedule::default(),
                super::Shrunk {
                    schedule: Schedule::default(),
                    context_switches: 0,
                    replays: 0,
                },
            )
        }
    }

    /// Reads and checks a schedule file.
    pub fn load(path: &Path) -> Result<ScheduleFile, ScheduleFileError> {
        let text = std::fs::read_to_string(path).map_err(|source| ScheduleFileError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(path, &text)
    }

    /// Parses the text of a schedule file (`path` names it in errors).
    pub fn parse(path: &Path, text: &str) -> Result<ScheduleFile, ScheduleFileError> {
        let malformed = |e: serde_json::Error| ScheduleFileError::Malformed {
            path: path.to_path_buf(),
            line: e.line(),
            column: e.column(),
            message: e.to_string(),
        };
        let header: Header = serde_json::from_str(text).map_err(malformed)?;
        let version_ok =
            header.version.as_ref().and_then(|v| v.as_u64()) == Some(SCHEDULE_VERSION.into());
        if header.format.as_deref() != Some(SCHEDULE_FORMAT) || !version_ok {
            return Err(ScheduleFileError::Unsupported {
                path: path.to_path_buf(),
                found: format!(
                    "format {}, version {}",
                    header.format.as_deref().unwrap_or("(none)"),
                    header
                        .version
                        .map_or("(none)".to_string(), |v| v.to_string())
                ),
            });
        }
        serde_json::from_str(text).map_err(|e| {
            // What an exact replay needs is told by name, so that a file of
            // an older stm-check says what is missing and what to do, not
            // just that it is malformed.
            let message = e.to_string();
            match REPLAY_NEEDS
                .iter()
                .find(|(field, _)| message.starts_with(&format!("missing field `{field}`")))
            {
                Some(&(field, what)) => ScheduleFileError::MissingField {
                    path: path.to_path_buf(),
                    field,
                    what,
                },
                None => malformed(e),
            }
        })
    }

    /// The runtime configuration the failure was found on, to replay with.
    pub fn stm_config(&self) -> StmConfig {
        self.stm.into()
    }

    /// The error for a replay of the file at `path` that diverged.
    pub fn diverged(path: &Path, divergence: Divergence) -> ScheduleFileError {
        ScheduleFileError::Diverged {
            path: path.to_path_buf(),
            divergence,
        }
    }

    /// Refuses the file unless it was recorded for `expected`: the same
    /// test, or a workload of the same name and fingerprint, either the
    /// one the file holds or, for a shrunk workload, the one it was shrunk
    /// from.
    pub fn expect_target(&self, path: &Path, expected: &Target) -> Result<(), ScheduleFileError> {
        let same_workload = match (&self.target, expected) {
            (
                Target::Workload {
                    name,
                    fingerprint,
                    shrunk_from,
                    ..
                },
                Target::Workload {
                    name: expected_name,
                    fingerprint: expected_fingerprint,
                    ..
                },
            ) => {
                (name == expected_name && fingerprint == expected_fingerprint)
                    || shrunk_from.as_ref().is_some_and(|from| {
                        &from.name == expected_name && &from.fingerprint == expected_fingerprint
                    })
            }
            _ => false,
        };
        if &self.target == expected || same_workload {
            Ok(())
        } else {
            Err(ScheduleFileError::WrongTarget {
                path: path.to_path_buf(),
                found: self.target.to_string(),
                expected: expected.to_string(),
            })
        }
    }

    /// Saves the file in `dir` as `stem.json`, or `stem-N.json` with the
    /// first free N: an existing file is never overwritten, and a partial
    /// file never appears under the final name.
    pub fn save_new(&self, dir: &Path, stem: &str) -> Result<PathBuf, ScheduleFileError> {
        let json = serde_json::to_string_pretty(self).expect("a schedule file serializes");
        write_new_file(dir, stem, ".json", &json)
    }

    /// The saved files for `stem` in `dir` (`stem.json`, `stem-N.json`), in
    /// name order; none if the folder does not exist.
    pub fn saved_for(dir: &Path, stem: &str) -> Vec<PathBuf> {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return Vec::new();
        };
        let mut files: Vec<PathBuf> = entries
            .flatten()
            .map(|e| e.path())
            .filter(|p| {
                let Some(name) = p.file_name().and_then(|n| n.to_str()) else {
                    return false;
                };
                let Some(base) = name.strip_suffix(".json") else {
                    return false;
                };
                base == stem
                    || base
                        .strip_prefix(stem)
                        .and_then(|rest| rest.strip_prefix('-'))
                        .is_some_and(|n| n.parse::<u32>().is_ok())
            })
            .collect();
        files.sort();
        files
    }
}

/// Writes `contents` and a newline to a new file in `dir` named
/// `stem{suffix}`, or `stem-N{suffix}` with the first free N: an existing
/// file is never overwritten (the contents go to a temporary file, synced,
/// then hard-linked to the first free name), and a partial file never
/// appears under the final name.
pub(crate) fn write_new_file(
    dir: &Path,
    stem: &str,
    suffix: &str,
    contents: &str,
) -> Result<PathBuf, ScheduleFileError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| ScheduleFileError::Io { path, source }
    };
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let mut temp = tempfile::NamedTempFile::new_in(dir).map_err(io(dir))?;
    temp.write_all(contents.as_bytes())
        .and_then(|()| temp.write_all(b"\n"))
        .and_then(|()| temp.as_file().sync_all())
        .map_err(io(temp.path()))?;
    for n in 1.. {
        let name = if n == 1 {
            format!("{stem}{suffix}")
        } else {
            format!("{stem}-{n}{suffix}")
        };
        let path = dir.join(name);
        match std::fs::hard_link(temp.path(), &path) {
            Ok(()) => return Ok(path),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(source) => return Err(ScheduleFileError::Io { path, source }),
        }
    }
    unreachable!("some file name is free")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn workload_file(shrunk_from: Option<ShrunkFrom>) -> ScheduleFile {
        let workload = crate::workload::Workload::builtin("write-skew").unwrap();
        ScheduleFile::new(
            crate::explore::workload_target(&workload).with_shrunk_from(shrunk_from),
            DriverInfo {
                scheduler: "pct".into(),
                seed: Some(0),
                depth: Some(3),
                injected_bug: None,
                shard: None,
            },
            StmConfig::default(),
            "it failed".into(),
            ConfirmedExecution {
                history_hash: Some("0123456789abcdef".into()),
                tasks: 3,
            },
            &Schedule::default(),
            super::super::Shrunk {
                schedule: Schedule::default(),
                context_switches: 0,
                replays: 0,
            },
        )
    }

    #[test]
    fn the_committed_regression_reads_without_shrunk_from() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../tests/stm-check-regressions/write-skew.json");
        let file = ScheduleFile::load(&path).unwrap();
        let Target::Workload { shrunk_from, .. } = &file.target else {
            panic!("a workload target");
        };
        assert_eq!(shrunk_from, &None);
    }

    #[test]
    fn derived_from_is_written_only_when_set_and_reads_back() {
        let plain = workload_file(None);
        let text = serde_json::to_string_pretty(&plain).unwrap();
        assert!(!text.contains("derived_from"));
        let mut derived = plain;
        derived.derived_from = Some(DerivedFrom {
            driver: "stress".into(),
            history_hash: "0123456789abcdef".into(),
            how: "guided".into(),
            real_history: Some("write-skew.real-history.json".into()),
        });
        let text = serde_json::to_string_pretty(&derived).unwrap();
        assert!(text.contains("\"derived_from\""));
        assert_eq!(
            ScheduleFile::parse(Path::new("derived.json"), &text).unwrap(),
            derived
        );
        let typo = text.replace("\"how\"", "\"hwo\"");
        assert!(ScheduleFile::parse(Path::new("typo.json"), &typo).is_err());
    }

    #[test]
    fn shrunk_from_is_written_only_when_set_and_reads_back() {
        let plain = workload_file(None);
        let text = serde_json::to_string_pretty(&plain).unwrap();
        assert!(!text.contains("shrunk_from"));
        assert_eq!(
            ScheduleFile::parse(Path::new("plain.json"), &text).unwrap(),
            plain
        );

        let shrunk = workload_file(Some(ShrunkFrom {
            name: "bigger".into(),
            fingerprint: "fedcba9876543210".into(),
            threads: 3,
            transactions: 4,
            operations: 9,
            variables: 3,
            failure: "it failed first".into(),
        }));
        let text = serde_json::to_string_pretty(&shrunk).unwrap();
        assert!(text.contains("\"shrunk_from\""));
        let read = ScheduleFile::parse(Path::new("shrunk.json"), &text).unwrap();
        assert_eq!(read, shrunk);
        assert!(read
            .target
            .to_string()
            .ends_with("shrunk from workload `bigger` with fingerprint fedcba9876543210)"));

        let typo = text.replace("\"operations\"", "\"operatoins\"");
        let error = ScheduleFile::parse(Path::new("typo.json"), &typo).unwrap_err();
        assert!(error.to_string().starts_with("typo.json:"), "{error}");
    }
}
