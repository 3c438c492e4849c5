//! Generated workloads (proptest strategy and `Arbitrary`) are valid, run
//! without violation on std threads and under shuttle, record histories the
//! checker accepts, and survive a JSON round trip.

use arbitrary::{Arbitrary, Unstructured};
use proptest::prelude::*;
use stm_check::history::check;
use stm_check::workload::{strategy, GenerateConfig, Invariant, Op, Step, Workload};
use stm_core::{ShuttlePlatform, Std, StmConfig};

fn assert_clean_run<P: stm_core::Platform>(workload: &Workload, config: StmConfig) {
    let (outcome, history) = workload.run_recorded::<P>(config);
    assert!(outcome.is_ok(), "{outcome}\n{}", workload.to_json_string());
    let report = check(&history).expect("a recorded history is well-formed");
    let mut text = String::new();
    report.write_text(&mut text, 5).unwrap();
    assert!(report.is_valid(), "{text}\n{}", workload.to_json_string());
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn generated_workloads_hold_on_std_threads(workload in strategy(GenerateConfig::default())) {
        prop_assert!(workload.validate().is_ok());
        prop_assert_eq!(&Workload::from_json_str(&workload.to_json_string()).unwrap(), &workload);
        assert_clean_run::<Std>(&workload, StmConfig::default());
        assert_clean_run::<Std>(&workload, StmConfig { irrevocable_after: 1, ..StmConfig::default() });
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn generated_workloads_hold_under_shuttle(workload in strategy(GenerateConfig::default())) {
        let w = workload.clone();
        shuttle::check_random(move || assert_clean_run::<ShuttlePlatform>(&w, StmConfig::default()), 20);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    /// Waiters block on real threads until thread 0 sets the latch: every
    /// run ends, with the latch set.
    #[test]
    fn latch_workloads_terminate_on_std_threads(
        workload in strategy(GenerateConfig { max_waiters: 2, ..GenerateConfig::default() })
    ) {
        prop_assert!(workload.validate().is_ok());
        assert_clean_run::<Std>(&workload, StmConfig::default());
    }
}

/// With `max_waiters`, some workloads block in `retry_unless` on a latch
/// that thread 0 sets, and only there.
#[test]
fn latches_have_one_setter_on_thread_0_and_waiters_elsewhere() {
    let config = GenerateConfig {
        max_waiters: 2,
        ..GenerateConfig::default()
    };
    let mut latches = 0;
    for seed in 0..200u64 {
        let bytes: Vec<u8> = (0..300u64)
            .map(|i| (i.wrapping_mul(seed | 1).wrapping_mul(0x9E37_79B9) >> 7) as u8)
            .collect();
        let workload =
            stm_check::workload::generate(&mut Unstructured::new(&bytes), config).unwrap();
        workload.validate().unwrap();
        let Some(latch) = workload
            .vars
            .iter()
            .position(|v| v.name.as_deref() == Some("latch"))
        else {
            continue;
        };
        latches += 1;
        assert_eq!(latch, workload.vars.len() - 1);
        for (site, tx) in workload.transactions() {
            let retries = tx
                .ops
                .iter()
                .any(|op| matches!(op, Op::RetryUnless(c) if c.sum == [latch]));
            let sets = tx
                .ops
                .iter()
                .any(|op| matches!(op, Op::Write { var, .. } if *var == latch));
            assert!(!retries || site.thread > 0, "thread 0 never waits: {site}");
            assert!(
                !sets || site.thread == 0,
                "only thread 0 sets the latch: {site}"
            );
        }
        assert!(workload.invariants.contains(&Invariant::Equals {
            var: latch,
            value: 1
        }));
    }
    assert!(latches > 20, "{latches} of 200 workloads have a latch");
}

/// Any bytes give a valid workload within the bounds (what a fuzzer feeds).
#[test]
fn arbitrary_bytes_give_valid_bounded_workloads() {
    let config = GenerateConfig::default();
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    let mut saw = [false; 4]; // queue, or_else, assert, counter invariant
    for len in 0..400usize {
        let bytes: Vec<u8> = (0..len)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                state as u8
            })
            .collect();
        let workload = Workload::arbitrary(&mut Unstructured::new(&bytes)).unwrap();
        workload.validate().unwrap();
        assert!(workload.vars.len() <= config.max_vars);
        assert!(workload.threads.len() <= config.max_threads);
        for (_, tx) in workload.transactions() {
            assert!(!tx.ops.is_empty() && tx.ops.len() <= config.max_ops);
            saw[1] |= tx.ops.iter().any(|op| matches!(op, Op::OrElse { .. }));
            saw[2] |= tx.ops.iter().any(|op| matches!(op, Op::Assert(_)));
        }
        for thread in &workload.threads {
            assert!(thread.steps.len() <= config.max_steps);
            saw[0] |= thread.steps.iter().any(|s| matches!(s, Step::Queue(_)));
        }
        saw[3] |= workload
            .invariants
            .iter()
            .any(|i| matches!(i, Invariant::Counter(_)));
        assert!(workload.run(&stm_core::Stm::new()).is_ok());
    }
    assert_eq!(
        saw, [true; 4],
        "the generator covers queues, or_else, asserts and counters"
    );
}

/// No bytes give the smallest workload: what shrinking converges to.
#[test]
fn empty_input_gives_the_smallest_workload() {
    let workload = Workload::arbitrary(&mut Unstructured::new(&[])).unwrap();
    assert_eq!(workload.vars.len(), 1);
    assert_eq!(workload.threads.len(), 1);
    assert_eq!(workload.threads[0].steps.len(), 1);
    assert!(
        matches!(&workload.threads[0].steps[0], Step::Atomically(tx) if tx.ops == [Op::Read(0)])
    );
}
