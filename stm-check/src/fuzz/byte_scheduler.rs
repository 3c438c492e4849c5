//! A shuttle scheduler that reads its choices from a fuzzer's bytes, so
//! that a coverage-guided fuzzer explores interleavings: mutating a byte
//! changes one scheduling decision, and libFuzzer keeps the inputs whose
//! decisions reach new code in the engine.

use crate::schedule::fallback_choice;
use shuttle::scheduler::{Schedule as ShuttleSchedule, Scheduler, Task, TaskId};

/// Runs one execution whose choices come from a byte slice.
///
/// * Where more than one task can run, the next byte `b` picks
///   `runnable[b % runnable.len()]` (tasks in the order shuttle lists them,
///   by id). Where only one can, no byte is used: every byte is a real
///   decision.
/// * A request for a random value takes the next 8 bytes (little-endian;
///   missing bytes count as 0).
/// * Once the bytes run out, the choice is the one a
///   [`ReplayScheduler`](crate::schedule::ReplayScheduler) makes past the
///   end of its schedule: the current task keeps running unless it asked
///   to yield (a spin loop waiting for another task; then the next
///   runnable task by id runs, round robin) or blocked or finished (then
///   the lowest-numbered runnable task runs). Random values are then 0.
///
/// The same bytes always give the same execution, which is what lets a
/// crash found by the fuzzer be recorded (wrap this scheduler in a
/// [`RecordingScheduler`](crate::schedule::RecordingScheduler)) and
/// replayed.
///
/// ```
/// use stm_check::fuzz::ByteScheduler;
/// use stm_check::schedule::{run_recorded, Outcome};
///
/// let outcome = run_recorded(ByteScheduler::new(&[1, 0, 1, 1]), || {
///     let stm = stm_core::Stm::<stm_core::ShuttlePlatform>::for_platform();
///     let n = stm.new_tvar(0);
///     let t = {
///         let (stm2, n) = (stm.clone(), n.clone());
///         stm.spawn(move || stm2.atomically(|tx| tx.modify(&n, |v| v + 1)))
///     };
///     stm.atomically(|tx| tx.modify(&n, |v| v + 1));
///     t.join().unwrap();
///     assert_eq!(n.load(), 2);
/// });
/// assert_eq!(outcome, Outcome::Passed { executions: 1 });
/// ```
#[derive(Debug, Clone)]
pub struct ByteScheduler {
    bytes: Vec<u8>,
    position: usize,
    executions: usize,
}

impl ByteScheduler {
    /// A scheduler for one execution driven by `bytes`.
    pub fn new(bytes: &[u8]) -> Self {
        ByteScheduler {
            bytes: bytes.to_vec(),
            position: 0,
            executions: 0,
        }
    }

    /// How many bytes the execution has used so far.
    pub fn used(&self) -> usize {
        self.position
    }

    fn next_byte(&mut self) -> Option<u8> {
        let byte = self.bytes.get(self.position).copied();
        if byte.is_some() {
            self.position += 1;
        }
        byte
    }
}

impl Scheduler for ByteScheduler {
    fn new_execution(&mut self) -> Option<ShuttleSchedule> {
        self.executions += 1;
        self.position = 0;
        (self.executions == 1).then(|| ShuttleSchedule::new(0))
    }

    fn next_task(
        &mut self,
        runnable_tasks: &[&Task],
        current_task: Option<TaskId>,
        is_yielding: bool,
    ) -> Option<TaskId> {
        if runnable_tasks.len() > 1 {
            if let Some(byte) = self.next_byte() {
                return Some(runnable_tasks[usize::from(byte) % runnable_tasks.len()].id());
            }
        }
        Some(fallback_choice(runnable_tasks, current_task, is_yielding))
    }

    fn next_u64(&mut self) -> u64 {
        let mut value = [0u8; 8];
        for byte in &mut value {
            *byte = self.next_byte().unwrap_or(0);
        }
        u64::from_le_bytes(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schedule::{run_recorded, Outcome, Step};
    use std::sync::{Arc, Mutex};
    use stm_core::{ShuttlePlatform, Stm};

    /// Two threads each increment a counter twice; returns the schedule run
    /// and the order in which the increments happened.
    fn run(bytes: &[u8]) -> (crate::schedule::Schedule, Vec<usize>) {
        let order = Arc::new(Mutex::new(Vec::new()));
        let seen = order.clone();
        let scheduler = crate::schedule::RecordingScheduler::new(ByteScheduler::new(bytes));
        let schedule = scheduler.current();
        let outcome = run_recorded(scheduler, move || {
            let stm = Stm::<ShuttlePlatform>::for_platform();
            let n = stm.new_tvar(0);
            let handles: Vec<_> = (0..2)
                .map(|t| {
                    let (stm2, n, seen) = (stm.clone(), n.clone(), seen.clone());
                    stm.spawn(move || {
                        for _ in 0..2 {
                            stm2.atomically(|tx| tx.modify(&n, |v| v + 1));
                            seen.lock().unwrap().push(t);
                        }
                    })
                })
                .collect();
            for h in handles {
                h.join().unwrap();
            }
            assert_eq!(n.load(), 4);
        });
        assert_eq!(outcome, Outcome::Passed { executions: 1 });
        let schedule = schedule.lock().unwrap().clone();
        let order = order.lock().unwrap().clone();
        (schedule, order)
    }

    #[test]
    fn the_same_bytes_give_the_same_schedule() {
        let bytes: Vec<u8> = (0..200u32).map(|i| (i * 7 % 13) as u8).collect();
        let (first, order) = run(&bytes);
        for _ in 0..5 {
            assert_eq!(run(&bytes), (first.clone(), order.clone()));
        }
        assert!(first.context_switches() > 2, "{first:?}");
    }

    #[test]
    fn bytes_pick_the_task_and_exhaustion_falls_back_deterministically() {
        // No bytes: the main thread runs until it blocks in join, then the
        // first spawned thread runs to its end before the second starts.
        let (schedule, order) = run(&[]);
        assert_eq!(order, [0, 0, 1, 1]);
        assert!(schedule.steps.iter().all(|s| matches!(s, Step::Task(_))));
        // Different bytes reach another interleaving of the increments
        // (bytes from a xorshift stream per seed: their low bits, which
        // pick among two or three tasks, vary).
        let orders: std::collections::HashSet<Vec<usize>> = (1..=64u64)
            .map(|seed| {
                let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15);
                let bytes: Vec<u8> = (0..64)
                    .map(|_| {
                        state ^= state << 13;
                        state ^= state >> 7;
                        state ^= state << 17;
                        (state >> 32) as u8
                    })
                    .collect();
                run(&bytes).1
            })
            .collect();
        assert!(orders.len() > 1, "{orders:?}");
    }
}
