//! The `swarm` fuzz target's logic: a swarm program (a random subset of the
//! engine's features and random runtime settings, drawn by the same
//! [`swarm_program`] that `stm-check explore --workload swarm` draws
//! from) and a stream of scheduling choices, run once under the
//! [`ByteScheduler`] and checked like every explored execution. Coverage
//! guidance then steers both the program and the interleaving towards
//! engine code no input reached before.

use super::interleavings::run_with_choices;
use super::InterleavingFailure;
use crate::workload::{swarm_program, SwarmProgram};
use arbitrary::{Arbitrary, Unstructured};

/// One input of the `swarm` target: a program with its runtime settings,
/// and the bytes the [`ByteScheduler`](super::ByteScheduler) reads its
/// choices from. The front of the bytes draws the program
/// ([`swarm_program`]), the rest are the choices; any bytes decode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SwarmInput {
    /// The program and its runtime settings.
    pub program: SwarmProgram,
    /// The scheduling choices.
    pub choices: Vec<u8>,
}

impl SwarmInput {
    /// Decodes the input from the bytes of a fuzz input or crash artifact,
    /// as the fuzz target does.
    ///
    /// ```
    /// use stm_check::fuzz::SwarmInput;
    ///
    /// let input = SwarmInput::from_fuzz_bytes(b"any bytes at all");
    /// assert_eq!(input.program.workload.name, "swarm");
    /// input.program.workload.validate().unwrap();
    /// ```
    pub fn from_fuzz_bytes(bytes: &[u8]) -> SwarmInput {
        Self::arbitrary_take_rest(Unstructured::new(bytes))
            .expect("the swarm bounds are at least 1, so any bytes decode")
    }
}

impl<'a> Arbitrary<'a> for SwarmInput {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        Ok(SwarmInput {
            program: swarm_program(u)?,
            choices: Vec::arbitrary(u)?,
        })
    }

    fn arbitrary_take_rest(mut u: Unstructured<'a>) -> arbitrary::Result<Self> {
        Ok(SwarmInput {
            program: swarm_program(&mut u)?,
            choices: u.take_rest().to_vec(),
        })
    }
}

/// Runs `input` once, as [`run_interleavings`](super::run_interleavings)
/// runs its inputs, on a runtime with the program's own settings (and
/// `injected_bug`, by name, if given).
///
/// ```
/// use stm_check::fuzz::{run_swarm, SwarmInput};
///
/// let input = SwarmInput::from_fuzz_bytes(&[3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8, 9, 7, 9, 3, 2, 3, 8, 4]);
/// assert_eq!(run_swarm(&input, None), Ok(()));
/// ```
///
/// # Panics
///
/// If `injected_bug` is not a bug this build can inject.
pub fn run_swarm(
    input: &SwarmInput,
    injected_bug: Option<&str>,
) -> Result<(), InterleavingFailure> {
    run_with_choices(
        &input.program.workload,
        input.program.stm,
        &input.choices,
        injected_bug,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::explore::swarm::program_bytes;

    #[test]
    fn swarm_inputs_pass_on_the_correct_engine() {
        for k in 0..60 {
            let input = SwarmInput::from_fuzz_bytes(&program_bytes(11, k));
            assert_eq!(
                run_swarm(&input, None),
                Ok(()),
                "{}",
                input.program.workload.to_json_string()
            );
        }
    }

    #[test]
    fn the_fuzz_target_and_explore_draw_the_same_program_from_the_same_bytes() {
        let bytes = program_bytes(3, 9);
        assert_eq!(
            SwarmInput::from_fuzz_bytes(&bytes).program,
            crate::explore::swarm::program(3, 9)
        );
    }

    #[test]
    fn swarm_inputs_find_an_injected_bug() {
        let found = (0..500).any(|k| {
            let input = SwarmInput::from_fuzz_bytes(&program_bytes(0, k));
            run_swarm(&input, Some("lose-retry-wakeup")).is_err()
        });
        assert!(found, "500 swarm inputs find lose-retry-wakeup");
    }
}
