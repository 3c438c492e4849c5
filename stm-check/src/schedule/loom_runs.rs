//! Loom runs whose failing execution is saved and replayed exactly.
//!
//! Loom explores executions depth-first and can write where it is (its
//! `checkpoint` feature: the branch choices that lead to the next
//! execution) to a file before each one. Written before every execution,
//! the file holds, when an execution fails, exactly the choices that
//! execution follows; loaded into a fresh run, it makes that execution
//! the run's first. [`LoomPath`] is that file's contents, kept inside a
//! schedule file, so that a loom failure replays like a shuttle one: on any
//! machine, step for step, with the same history.
//!
//! A path replayed on a program that changed since it was saved makes loom
//! stop at the first branch the path does not have ("Reached unexpected
//! exploration state"); the engine's destructors then call loom again while
//! unwinding, and the process aborts. That cannot be caught, so the replay
//! says what happened on standard error (unbuffered, past any test
//! harness's capture) before it does: the file no longer fits its test, and
//! is kept.

use super::runner::{quietly, quietly_noting};
use super::Divergence;
use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use stm_core::platform::ModelPlatform;

/// Branches loom may take in one execution (an engine's spin and retry
/// loops take many; loom's default of 1,000 is too few).
const MAX_BRANCHES: usize = 100_000;

/// Loom's exploration path to one execution, as saved in a schedule
/// file's `loom_path`: loom's checkpoint JSON, and the operations the
/// execution made (see [`ModelPlatform::start_loom_log`]), by which a
/// replay tells that the program no longer follows the path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoomPath {
    /// Loom's checkpoint: the branch choices that lead to the execution.
    pub checkpoint: serde_json::Value,
    /// The execution's loom operations through [`ModelPlatform`], one
    /// letter each (empty for a program that makes none).
    pub operations: String,
}

/// How a loom exploration ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoomOutcome {
    /// Every execution passed: loom explored them all within the bounds,
    /// or `executions` reached the limit.
    Passed {
        /// Executions run.
        executions: usize,
    },
    /// An execution failed; the exploration stopped there.
    Failed {
        /// The panic message (loom reports deadlocks as panics too).
        message: String,
        /// The path that replays the failing execution.
        path: LoomPath,
        /// Which execution it was, counting from 1.
        execution: usize,
    },
}

/// Explores `test` under loom, with at most `preemptions` preemptions per
/// execution and at most `iterations` executions, keeping the path of
/// each execution so that a failing one can be saved.
///
/// ```
/// use stm_check::schedule::{explore_loom, replay_loom, LoomOutcome};
///
/// let racy = || {
///     let n = std::sync::Arc::new(loom::sync::atomic::AtomicUsize::new(0));
///     let other = {
///         let n = n.clone();
///         loom::thread::spawn(move || {
///             let seen = n.load(std::sync::atomic::Ordering::SeqCst);
///             n.store(seen + 1, std::sync::atomic::Ordering::SeqCst);
///         })
///     };
///     let seen = n.load(std::sync::atomic::Ordering::SeqCst);
///     n.store(seen + 1, std::sync::atomic::Ordering::SeqCst);
///     other.join().unwrap();
///     assert_eq!(n.load(std::sync::atomic::Ordering::SeqCst), 2, "an increment was lost");
/// };
/// let LoomOutcome::Failed { message, path, .. } = explore_loom(2, 1_000, racy) else {
///     panic!("loom finds the lost increment");
/// };
/// assert!(message.contains("an increment was lost"));
/// assert_eq!(replay_loom(&path, "the racy test", racy), (Err(message), None));
/// ```
pub fn explore_loom<F>(preemptions: usize, iterations: usize, test: F) -> LoomOutcome
where
    F: Fn() + Send + Sync + 'static,
{
    let dir = tempfile::tempdir().expect("a temporary folder for loom's checkpoints");
    let checkpoint = dir.path().join("loom-path.json");
    let mut builder = builder(&checkpoint);
    builder.preemption_bound = Some(preemptions);
    // The limit is checked before each execution, with the checkpoint
    // written: execution `iterations + 1` is the first not run.
    builder.max_permutations = Some(iterations.saturating_add(1));
    let executions = Arc::new(AtomicUsize::new(0));
    let counter = executions.clone();
    let counted = move || {
        counter.fetch_add(1, Ordering::Relaxed);
        ModelPlatform::start_loom_log();
        test()
    };
    let result = quietly(|| builder.check(counted));
    let operations = ModelPlatform::take_loom_log().unwrap_or_default();
    let executions = executions.load(Ordering::Relaxed);
    match result {
        Ok(()) => LoomOutcome::Passed { executions },
        Err(message) => {
            let text = std::fs::read_to_string(&checkpoint)
                .expect("loom writes its checkpoint before every execution");
            LoomOutcome::Failed {
                message,
                path: LoomPath {
                    checkpoint: serde_json::from_str(&text).expect("loom's checkpoint is JSON"),
                    operations,
                },
                execution: executions,
            }
        }
    }
}

/// How loom says that a replayed path does not fit the program.
const LOOM_DIVERGED: &str = "Reached unexpected exploration state";

/// Runs the one execution `path` leads to; `Err` holds its failure, and
/// the [`Divergence`] says where the program stopped making the operations
/// the saved execution made, if it did. `source` names where the path
/// comes from (a schedule file), for the message printed if loom cannot go
/// on (see the module docs).
pub fn replay_loom<F>(
    path: &LoomPath,
    source: &str,
    test: F,
) -> (Result<(), String>, Option<Divergence>)
where
    F: Fn() + Send + Sync + 'static,
{
    let source = source.to_string();
    let diverged = move |message: &str| {
        if message.contains(LOOM_DIVERGED) {
            use std::io::Write as _;
            let _ = writeln!(
                std::io::stderr(),
                "stm-check: {source}: the program no longer follows this loom schedule: loom reached a \
                 branch the saved path does not have (the test or the engine changed since it was \
                 saved). Loom cannot stop cleanly here and the process aborts; the file is kept: \
                 delete it if the test changed on purpose."
            );
        }
    };
    let dir = tempfile::tempdir().expect("a temporary folder for loom's checkpoints");
    let checkpoint = dir.path().join("loom-path.json");
    std::fs::write(&checkpoint, path.checkpoint.to_string())
        .expect("the temporary folder is writable");
    let mut builder = builder(&checkpoint);
    // The saved path's own preemption bound applies; stop before a second
    // execution.
    builder.max_permutations = Some(2);
    let logged = move || {
        ModelPlatform::start_loom_log();
        test()
    };
    let result = quietly_noting(diverged, || builder.check(logged));
    let operations = ModelPlatform::take_loom_log().unwrap_or_default();
    (result, divergence(&path.operations, &operations))
}

/// Where the `replayed` operations first differ from the `saved` ones.
fn divergence(saved: &str, replayed: &str) -> Option<Divergence> {
    let name = |kind: Option<char>| match kind {
        None => "nothing more".to_string(),
        Some(kind) => format!("`{kind}` ({})", operation_name(kind)),
    };
    let step = saved
        .chars()
        .zip(replayed.chars())
        .position(|(a, b)| a != b)
        .or_else(|| (saved.len() != replayed.len()).then(|| saved.len().min(replayed.len())))?;
    Some(Divergence {
        step,
        detail: format!(
            "loom operation {step}: the saved execution made {}, the replay made {} \
             ({} operations saved, {} replayed)",
            name(saved.chars().nth(step)),
            name(replayed.chars().nth(step)),
            saved.len(),
            replayed.len()
        ),
    })
}

/// What a letter of the operation log stands for.
fn operation_name(kind: char) -> &'static str {
    match kind {
        'l' => "an atomic load",
        's' => "an atomic store",
        'x' => "an atomic swap",
        'c' => "a compare-exchange",
        'a' => "a fetch-add",
        'L' => "a pointer load",
        'S' => "a pointer store",
        'X' => "a pointer swap",
        'm' => "a mutex lock",
        'w' => "a wait",
        'n' => "a notify",
        'p' => "a spawn",
        'y' => "a yield",
        'j' => "a join",
        _ => "an unknown operation",
    }
}

/// A loom builder that writes its path to `checkpoint` before every
/// execution, bounded by time or environment only as the caller says.
fn builder(checkpoint: &std::path::Path) -> loom::model::Builder {
    let mut builder = loom::model::Builder::new();
    builder.checkpoint_file = Some(checkpoint.to_path_buf());
    builder.checkpoint_interval = 1;
    builder.max_branches = MAX_BRANCHES;
    builder.max_duration = None;
    builder
}
