//! The `interleavings` fuzz target's logic: a small generated workload and
//! a stream of scheduling choices, run once on the engine under the
//! [`ByteScheduler`], with the invariants and the recorded history checked
//! exactly as `stm-check explore` checks every execution.

use super::ByteScheduler;
use crate::explore::execution::ExecutionCheck;
use crate::schedule::{run_recorded, Outcome, Schedule};
use crate::workload::{generate, GenerateConfig, Workload};
use arbitrary::{Arbitrary, Unstructured};
use stm_core::{ShuttlePlatform, StmConfig};

/// The bounds of the workloads the fuzzer generates: small, so that one
/// execution takes well under a millisecond and the fuzzer runs thousands
/// a second, yet with every shape the engine's bugs need (transfers and
/// audits of a bank, counters, queues, `or_else`, and a latch that waiters
/// block on).
pub const INTERLEAVINGS_WORKLOADS: GenerateConfig = GenerateConfig {
    max_vars: 3,
    max_threads: 3,
    max_steps: 2,
    max_ops: 3,
    max_queue_items: 2,
    max_workers: 2,
    max_or_else_depth: 1,
    max_waiters: 2,
};

/// One input of the `interleavings` target: a workload and the bytes the
/// [`ByteScheduler`] reads its choices from.
///
/// Decoded from a fuzzer's bytes, the front of the bytes generates the
/// workload ([`generate`] within [`INTERLEAVINGS_WORKLOADS`]) and the rest
/// are the choices ([`from_fuzz_bytes`](Self::from_fuzz_bytes), which is
/// what `Arbitrary::arbitrary_take_rest` does and what libFuzzer calls).
/// Any bytes decode, so every crash file a fuzzer writes can be decoded
/// again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InterleavingsInput {
    /// The program run.
    pub workload: Workload,
    /// The scheduling choices (see [`ByteScheduler`]).
    pub choices: Vec<u8>,
}

impl InterleavingsInput {
    /// Decodes the input from the bytes of a fuzz input or crash artifact,
    /// as the fuzz target does.
    ///
    /// ```
    /// use stm_check::fuzz::InterleavingsInput;
    ///
    /// let input = InterleavingsInput::from_fuzz_bytes(&[]);
    /// assert_eq!(input.workload.threads.len(), 1);
    /// assert!(input.choices.is_empty());
    /// assert_eq!(InterleavingsInput::from_fuzz_bytes(b"any bytes at all").workload.name, "generated");
    /// ```
    pub fn from_fuzz_bytes(bytes: &[u8]) -> InterleavingsInput {
        Self::arbitrary_take_rest(Unstructured::new(bytes))
            .expect("the workload bounds are at least 1, so any bytes decode")
    }
}

impl<'a> Arbitrary<'a> for InterleavingsInput {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        Ok(InterleavingsInput {
            workload: generate(u, INTERLEAVINGS_WORKLOADS)?,
            choices: Vec::arbitrary(u)?,
        })
    }

    fn arbitrary_take_rest(mut u: Unstructured<'a>) -> arbitrary::Result<Self> {
        Ok(InterleavingsInput {
            workload: generate(&mut u, INTERLEAVINGS_WORKLOADS)?,
            choices: u.take_rest().to_vec(),
        })
    }
}

/// An execution that failed: what the checks said, and the exact schedule
/// that led there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InterleavingFailure {
    /// The workload's violations and the history's anomalies, explained (or
    /// the deadlock or panic shuttle reported).
    pub message: String,
    /// Every choice the scheduler made, as a schedule that
    /// [`replay_workload`](crate::explore::replay_workload) follows.
    pub schedule: Schedule,
}

impl std::fmt::Display for InterleavingFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}\n({} scheduling steps, {} context switches)",
            self.message,
            self.schedule.steps.len(),
            self.schedule.context_switches()
        )
    }
}

/// The runtime configuration every run of the `interleavings` target uses
/// (stm-core's default): an imported crash is shrunk, replayed and saved
/// with it, whatever configuration the importer was given.
pub const INTERLEAVINGS_STM: StmConfig = StmConfig {
    irrevocable_after: 16,
    conflict_reports: false,
};

/// Runs `input` once under shuttle, its choices read by a
/// [`ByteScheduler`], on a fresh recorded runtime (with `injected_bug`
/// switched on, by name, if given: one of
/// [`injectable_bugs`](crate::explore::injectable_bugs)); checks the
/// workload's assertions and invariants and the recorded history
/// (serializability, opacity, values). Deadlocks and panics fail too.
///
/// ```
/// use stm_check::fuzz::{run_interleavings, InterleavingsInput};
///
/// let input = InterleavingsInput::from_fuzz_bytes(&[9, 1, 200, 7, 3, 3, 81, 4, 0, 2, 5, 255, 1, 2]);
/// assert_eq!(run_interleavings(&input, None), Ok(()));
/// ```
///
/// # Panics
///
/// If `injected_bug` is not a bug this build can inject.
pub fn run_interleavings(
    input: &InterleavingsInput,
    injected_bug: Option<&str>,
) -> Result<(), InterleavingFailure> {
    run_with_choices(
        &input.workload,
        INTERLEAVINGS_STM,
        &input.choices,
        injected_bug,
    )
}

/// Runs `workload` once on a recorded runtime with `stm` (and
/// `injected_bug`), its scheduling choices read from `choices`, checked as
/// [`run_interleavings`] says.
pub(super) fn run_with_choices(
    workload: &Workload,
    stm: StmConfig,
    choices: &[u8],
    injected_bug: Option<&str>,
) -> Result<(), InterleavingFailure> {
    if let Some(bug) = injected_bug {
        assert!(
            crate::explore::injectable_bugs().contains(&bug),
            "this build cannot inject `{bug}`"
        );
    }
    let check = ExecutionCheck::new(workload.clone(), stm)
        .with_injected_bug(injected_bug.map(str::to_string));
    match run_recorded(
        ByteScheduler::new(choices),
        check.panicking::<ShuttlePlatform>(),
    ) {
        Outcome::Passed { .. } => Ok(()),
        Outcome::Failed(failure) => Err(InterleavingFailure {
            message: failure.message,
            schedule: failure.schedule,
        }),
    }
}

/// The environment variable that switches on an injected bug for the
/// `interleavings` fuzz target (a name from
/// [`injectable_bugs`](crate::explore::injectable_bugs)).
pub const INJECT_BUG_VARIABLE: &str = "STM_FUZZ_INJECT_BUG";

/// The bug [`INJECT_BUG_VARIABLE`] asks for: `Ok(None)` when it is unset
/// or empty, an error naming the variable and the choices when it names no
/// bug this build can inject.
pub fn injected_bug_from_env() -> Result<Option<String>, String> {
    let value = match std::env::var(INJECT_BUG_VARIABLE) {
        Ok(value) if value.is_empty() => return Ok(None),
        Ok(value) => value,
        Err(std::env::VarError::NotPresent) => return Ok(None),
        Err(std::env::VarError::NotUnicode(_)) => {
            return Err(format!("{INJECT_BUG_VARIABLE} is not valid UTF-8"))
        }
    };
    let available = crate::explore::injectable_bugs();
    if available.contains(&value.as_str()) {
        Ok(Some(value))
    } else if available.is_empty() {
        Err(format!(
            "{INJECT_BUG_VARIABLE}={value}: this build cannot inject bugs (stm-check's `bug-injection` feature is off)"
        ))
    } else {
        Err(format!(
            "{INJECT_BUG_VARIABLE}={value}: unknown bug; this build can inject: {}",
            available.join(", ")
        ))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_interleavings_configuration_is_the_default_one() {
        assert_eq!(super::INTERLEAVINGS_STM, super::StmConfig::default());
    }

    use super::*;
    use crate::explore::replay_workload;

    /// A deterministic stream of bytes.
    fn bytes(seed: u64, len: usize) -> Vec<u8> {
        let mut state = seed | 1;
        (0..len)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                state as u8
            })
            .collect()
    }

    #[test]
    fn inputs_pass_on_the_correct_engine_and_replay_identically() {
        let mut latches = 0;
        for seed in 0..40 {
            let input = InterleavingsInput::from_fuzz_bytes(&bytes(seed, 300));
            latches += usize::from(input.workload.vars.iter().any(|v| v.name.is_some()));
            assert_eq!(
                run_interleavings(&input, None),
                Ok(()),
                "{}",
                input.workload.to_json_string()
            );
        }
        assert!(latches > 0, "some inputs have a latch");
    }

    #[test]
    fn a_failure_carries_the_schedule_that_replays_it() {
        let bug = "skip-read-validation";
        let failure = (0..2_000)
            .find_map(|seed| {
                let input = InterleavingsInput::from_fuzz_bytes(&bytes(seed, 400));
                run_interleavings(&input, Some(bug))
                    .err()
                    .map(|f| (input, f))
            })
            .expect("2,000 random inputs find skip-read-validation");
        let (input, failure) = failure;
        for _ in 0..3 {
            assert_eq!(run_interleavings(&input, Some(bug)), Err(failure.clone()));
            let replayed = replay_workload(
                &input.workload,
                StmConfig::default(),
                Some(bug.to_string()),
                &failure.schedule,
                false,
            );
            assert_eq!(replayed.failure.as_deref(), Some(failure.message.as_str()));
            assert_eq!(replayed.divergence, None);
        }
    }
}
