//! Sharding an exploration over machines that do not talk to each other.
//!
//! A sharded exploration numbers the executions of the whole run
//! `k = 0, 1, 2, ...` and gives each its own scheduler, seeded by
//! [`execution_seed`]`(seed, k)` alone: what execution `k` does depends on
//! the seed and `k`, not on the executions run before it on the same
//! machine. Shard `I/N` (0-based: `0 <= I < N`) runs the executions
//! `k = I, I + N, I + 2N, ...`, as many as it is asked for. So the shards
//! of one seed are disjoint by construction, and shards `0/N` to
//! `N-1/N` with `M` executions each run exactly the executions
//! `0 .. N*M` of the layout, which is what shard `0/1` with `N*M`
//! executions runs: N machines together explore what one machine would in
//! N times as long, and find the same failures.
//!
//! The sharded layout is not the unsharded one: without `--shard`, shuttle's
//! own random and PCT schedulers draw every execution from one stream (so
//! execution `k` depends on those before it) and nothing changes for runs,
//! seeds and saved files made before sharding existed. `--shard 0/1` is the
//! sharded layout on one machine.
//!
//! Per execution, random chooses uniformly among the runnable tasks; PCT
//! (Burckhardt et al., ASPLOS 2010, as shuttle implements it) gives the
//! tasks random priorities and lowers the running task's priority at
//! `depth - 1` random steps. PCT needs a bound on an execution's steps to
//! place those points; shuttle learns it from its first execution, which
//! runs the oldest task first. A sharded PCT run does the same, once, in a
//! calibration execution that is neither counted nor checked as part of the
//! shard (it is the same execution on every shard), so every shard places
//! its points in the same range. DFS and loom enumerate executions instead
//! of drawing them, and stress runs real threads that nothing seeds: they
//! are not sharded.

use shuttle::scheduler::{Schedule as ShuttleSchedule, Scheduler, Task, TaskId};
use std::fmt;
use std::str::FromStr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// One part of a sharded exploration: shard `index` of `count` (0-based),
/// written `I/N`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Shard {
    /// Which shard, `0 .. count`.
    pub index: usize,
    /// How many shards there are, at least 1.
    pub count: usize,
}

/// Why a `--shard` value was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShardError {
    /// Not of the form `I/N`.
    #[error("`{0}` is not a shard: expected I/N, the 0-based shard I of N shards (0 <= I < N), such as 0/4")]
    Syntax(String),
    /// `N` is 0.
    #[error("`{0}`: the number of shards must be at least 1")]
    NoShards(String),
    /// `I` is not below `N`.
    #[error("`{value}`: shard {index} does not exist among {count} shards; shards are numbered from 0 to {last}")]
    OutOfRange {
        /// The value as given.
        value: String,
        /// `I`.
        index: usize,
        /// `N`.
        count: usize,
        /// `N - 1`.
        last: usize,
    },
}

impl Shard {
    /// Shard `index` of `count`; `None` unless `index < count`.
    pub fn new(index: usize, count: usize) -> Option<Shard> {
        (index < count).then_some(Shard { index, count })
    }

    /// The number `k` (in the whole sharded run) of this shard's `j`-th
    /// execution (0-based): `j * count + index`.
    pub fn execution(self, j: usize) -> u64 {
        j as u64 * self.count as u64 + self.index as u64
    }

    /// Whether execution `k` of the whole run is this shard's.
    pub fn contains(self, k: u64) -> bool {
        k % self.count as u64 == self.index as u64
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl FromStr for Shard {
    type Err = ShardError;

    fn from_str(value: &str) -> Result<Shard, ShardError> {
        let syntax = || ShardError::Syntax(value.to_string());
        let (index, count) = value.split_once('/').ok_or_else(syntax)?;
        let number = |s: &str| {
            // Digits only: no sign, no spaces, no `+`.
            if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
                return Err(syntax());
            }
            s.parse::<usize>().map_err(|_| syntax())
        };
        let (index, count) = (number(index)?, number(count)?);
        if count == 0 {
            return Err(ShardError::NoShards(value.to_string()));
        }
        Shard::new(index, count).ok_or(ShardError::OutOfRange {
            value: value.to_string(),
            index,
            count,
            last: count - 1,
        })
    }
}

/// The seed of execution `k` of a sharded run with seed `seed`: the `k`-th
/// output of SplitMix64 started at `seed`.
pub fn execution_seed(seed: u64, k: u64) -> u64 {
    SplitMix64(seed.wrapping_add(k.wrapping_mul(GOLDEN_GAMMA))).next()
}

/// SplitMix64's increment.
const GOLDEN_GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;

/// SplitMix64 (Steele, Lea, Flood, 2014): a small, well-mixed generator,
/// enough to shuffle priorities and pick tasks; carried here so that a
/// sharded execution depends on nothing but its seed.
#[derive(Debug, Clone)]
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(GOLDEN_GAMMA);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0 .. bound` (`bound > 0`).
    fn below(&mut self, bound: usize) -> usize {
        (self.next() % bound as u64) as usize
    }
}

/// What a sharded PCT run learns from its calibration execution (the oldest
/// task always run first): the steps at which there was a choice, and the
/// tasks created.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Calibration {
    /// Scheduling decisions with more than one runnable task.
    pub(crate) steps: usize,
    /// Tasks created (highest task id, plus one).
    pub(crate) tasks: usize,
}

/// How each execution of a sharded run chooses its tasks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ShardedStrategy {
    /// Uniformly at random.
    Random,
    /// PCT of this depth, its change points placed within the calibrated
    /// steps.
    Pct {
        /// Priority change points, plus one.
        depth: usize,
        /// The calibration execution's measures.
        calibration: Calibration,
    },
}

/// The scheduler of one execution of a sharded run.
#[derive(Debug)]
struct ExecutionScheduler {
    strategy: ShardedStrategy,
    rng: SplitMix64,
    /// PCT: each task's priority, by task id (lower runs first).
    priorities: Vec<usize>,
    next_priority: usize,
    /// PCT: the steps at which the running task's priority drops.
    change_points: Vec<usize>,
    steps: usize,
}

impl ExecutionScheduler {
    fn new(strategy: ShardedStrategy, seed: u64) -> ExecutionScheduler {
        let mut rng = SplitMix64(seed);
        let (mut priorities, mut change_points) = (Vec::new(), Vec::new());
        if let ShardedStrategy::Pct { depth, calibration } = strategy {
            // Random distinct priorities for the tasks the calibration saw.
            priorities = (0..calibration.tasks.max(1)).collect();
            for i in (1..priorities.len()).rev() {
                priorities.swap(i, rng.below(i + 1));
            }
            // `depth - 1` distinct change points among steps 1 ..= steps - 1.
            let wanted = depth
                .saturating_sub(1)
                .min(calibration.steps.saturating_sub(1));
            while change_points.len() < wanted {
                let point = 1 + rng.below(calibration.steps - 1);
                if !change_points.contains(&point) {
                    change_points.push(point);
                }
            }
        }
        ExecutionScheduler {
            strategy,
            next_priority: priorities.len(),
            priorities,
            change_points,
            steps: 0,
            rng,
        }
    }

    /// PCT's choice, as shuttle's `PctScheduler` makes it after its first
    /// execution.
    fn pct_choice(
        &mut self,
        runnable: &[&Task],
        current: Option<TaskId>,
        yielding: bool,
    ) -> TaskId {
        // A new task takes the priority of a random existing one (other
        // than the main thread's) or the lowest, and that one the lowest.
        let newest = runnable
            .iter()
            .map(|t| usize::from(t.id()))
            .max()
            .unwrap_or(0);
        while self.priorities.len() <= newest {
            let new_task = self.priorities.len();
            let target = self.rng.below(new_task.max(1)) + 1;
            if target >= new_task {
                self.priorities.push(self.next_priority);
            } else {
                let taken = std::mem::replace(&mut self.priorities[target], self.next_priority);
                self.priorities.push(taken);
            }
            self.next_priority += 1;
        }
        if runnable.len() > 1 {
            if self.change_points.contains(&self.steps) || yielding {
                if let Some(current) = current {
                    self.priorities[usize::from(current)] = self.next_priority;
                    self.next_priority += 1;
                }
            }
            self.steps += 1;
        }
        runnable
            .iter()
            .min_by_key(|t| self.priorities[usize::from(t.id())])
            .expect("shuttle offers at least one runnable task")
            .id()
    }
}

/// Runs the executions of one shard, each with its own
/// [`execution_seed`], and says which one is under way.
#[derive(Debug)]
pub(crate) struct ShardedScheduler {
    strategy: ShardedStrategy,
    seed: u64,
    shard: Shard,
    iterations: usize,
    /// Executions of this shard started so far.
    started: Arc<AtomicUsize>,
    current: Option<ExecutionScheduler>,
}

impl ShardedScheduler {
    /// `iterations` executions of `shard` of the run seeded `seed`.
    pub(crate) fn new(
        strategy: ShardedStrategy,
        seed: u64,
        shard: Shard,
        iterations: usize,
    ) -> ShardedScheduler {
        ShardedScheduler {
            strategy,
            seed,
            shard,
            iterations,
            started: Arc::default(),
            current: None,
        }
    }

    /// How many executions have started, shared with the scheduler (which
    /// the runner takes by value): after a failure, the failing one is the
    /// last started.
    pub(crate) fn started(&self) -> Arc<AtomicUsize> {
        self.started.clone()
    }
}

impl Scheduler for ShardedScheduler {
    fn new_execution(&mut self) -> Option<ShuttleSchedule> {
        let j = self.started.load(Ordering::SeqCst);
        if j >= self.iterations {
            self.current = None;
            return None;
        }
        let seed = execution_seed(self.seed, self.shard.execution(j));
        self.current = Some(ExecutionScheduler::new(self.strategy, seed));
        self.started.store(j + 1, Ordering::SeqCst);
        Some(ShuttleSchedule::new(seed))
    }

    fn next_task(
        &mut self,
        runnable: &[&Task],
        current: Option<TaskId>,
        yielding: bool,
    ) -> Option<TaskId> {
        let execution = self.current.as_mut()?;
        Some(match execution.strategy {
            ShardedStrategy::Random => runnable[execution.rng.below(runnable.len())].id(),
            ShardedStrategy::Pct { .. } => execution.pct_choice(runnable, current, yielding),
        })
    }

    fn next_u64(&mut self) -> u64 {
        match self.current.as_mut() {
            Some(execution) => execution.rng.next(),
            None => 0,
        }
    }
}

/// The calibration of a sharded PCT run: runs the oldest runnable task
/// first, once, and measures the execution into a shared [`Calibration`].
#[derive(Debug)]
pub(crate) struct CalibrationScheduler {
    seed: u64,
    done: bool,
    measured: Arc<Mutex<Calibration>>,
}

impl CalibrationScheduler {
    /// One oldest-first execution; `seed` seeds the random values the
    /// program draws.
    pub(crate) fn new(seed: u64) -> CalibrationScheduler {
        CalibrationScheduler {
            seed,
            done: false,
            measured: Arc::default(),
        }
    }

    /// What the execution measured, shared with the scheduler.
    pub(crate) fn measured(&self) -> Arc<Mutex<Calibration>> {
        self.measured.clone()
    }
}

impl Scheduler for CalibrationScheduler {
    fn new_execution(&mut self) -> Option<ShuttleSchedule> {
        if std::mem::replace(&mut self.done, true) {
            return None;
        }
        Some(ShuttleSchedule::new(self.seed))
    }

    fn next_task(&mut self, runnable: &[&Task], _: Option<TaskId>, _: bool) -> Option<TaskId> {
        let oldest = runnable
            .iter()
            .map(|t| t.id())
            .min_by_key(|id| usize::from(*id))?;
        let newest = runnable.iter().map(|t| usize::from(t.id())).max()?;
        let mut measured = self.measured.lock().unwrap_or_else(|p| p.into_inner());
        measured.tasks = measured.tasks.max(newest + 1);
        if runnable.len() > 1 {
            measured.steps += 1;
        }
        Some(oldest)
    }

    fn next_u64(&mut self) -> u64 {
        self.seed = self.seed.wrapping_add(GOLDEN_GAMMA);
        SplitMix64(self.seed).next()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::SchedulerKind;
    use crate::explore::{explore, DriverKind, ExploreConfig, ExploreSummary};
    use crate::workload::Workload;
    use std::collections::{BTreeMap, BTreeSet};

    /// Explores `workload` as `config` says, with `shard`, and returns the
    /// summary and each execution's history fingerprint by its number `k`
    /// in the layout (executions reach the progress hook in order).
    fn explore_shard(
        workload: &Workload,
        config: &ExploreConfig,
        shard: Shard,
    ) -> (ExploreSummary, BTreeMap<u64, String>) {
        let seen = Arc::new(Mutex::new(BTreeMap::new()));
        let record = seen.clone();
        let progress = Arc::new(move |p: crate::explore::Progress| {
            if let Some(hash) = p.history_hash {
                let k = shard.execution(p.executions - 1);
                record.lock().unwrap().insert(k, hash);
            }
        });
        let config = ExploreConfig {
            shard: Some(shard),
            ..config.clone()
        };
        let summary = explore(workload, &config, progress).unwrap();
        let seen = seen.lock().unwrap().clone();
        (summary, seen)
    }

    fn shard(index: usize, count: usize) -> Shard {
        Shard::new(index, count).unwrap()
    }

    #[test]
    fn two_shards_explore_disjoint_executions_and_together_the_run_of_twice_the_size() {
        let dir = tempfile::tempdir().unwrap();
        let bank = Workload::builtin("bank").unwrap();
        for scheduler in [SchedulerKind::Random, SchedulerKind::Pct { depth: 3 }] {
            let config = ExploreConfig {
                driver: DriverKind::Shuttle(scheduler),
                iterations: 40,
                seed: 11,
                regressions: dir.path().to_path_buf(),
                ..ExploreConfig::default()
            };
            let (first, zero) = explore_shard(&bank, &config, shard(0, 2));
            let (second, one) = explore_shard(&bank, &config, shard(1, 2));
            let twice = ExploreConfig {
                iterations: 80,
                ..config.clone()
            };
            let (whole, all) = explore_shard(&bank, &twice, shard(0, 1));
            for summary in [&first, &second, &whole] {
                assert!(summary.failure.is_none(), "{:?}", summary.failure);
            }
            assert_eq!((first.schedules, second.schedules), (40, 40));
            assert_eq!(whole.schedules, 80);

            // Disjoint: the even executions and the odd ones. Their
            // histories differ too, but for chance: under random, bank's
            // executions nearly all have a history of their own; PCT, with
            // two priority changes per execution, meets the same
            // interleaving again now and then, across shards as within one
            // run (had the shards run the same executions, all 40 would
            // coincide).
            assert!(zero.keys().all(|k| k % 2 == 0) && one.keys().all(|k| k % 2 == 1));
            let zero_hashes: BTreeSet<&String> = zero.values().collect();
            let one_hashes: BTreeSet<&String> = one.values().collect();
            let both = zero_hashes.intersection(&one_hashes).count();
            let distinct = all.values().collect::<BTreeSet<_>>().len();
            match scheduler {
                SchedulerKind::Random => {
                    assert_eq!(both, 0, "shards 0/2 and 1/2 both ran {both} histories");
                    assert!(distinct >= 70, "{distinct}");
                }
                _ => assert!(both <= 8, "{scheduler:?}: {both} histories in both shards"),
            }
            eprintln!("{scheduler:?}: {both} histories in both shards; {distinct} distinct of 80");

            // Together: exactly the executions of shard 0/1, twice as long,
            // each with the same history.
            let mut union = zero.clone();
            union.extend(one.clone());
            assert_eq!(union, all, "{scheduler:?}");
            assert_eq!(first.attempts + second.attempts, whole.attempts);

            // The comparison sees overlap where there is some: the same
            // shard explored again runs the same executions.
            let (_, again) = explore_shard(&bank, &config, shard(0, 2));
            assert_eq!(again, zero);
            // And another seed explores other executions.
            let other_seed = ExploreConfig {
                seed: 12,
                ..config.clone()
            };
            let (_, other) = explore_shard(&bank, &other_seed, shard(0, 2));
            assert_ne!(other, zero);
        }
    }

    /// The failing execution's number in the layout, from its saved file.
    fn failing_execution(summary: &ExploreSummary) -> Option<u64> {
        let failure = summary.failure.as_ref()?;
        let saved = failure.saved.as_ref().expect("shuttle failures are saved");
        let info = saved
            .driver
            .shard
            .expect("a sharded run's file says its shard");
        Some(info.execution.expect("and the failing execution"))
    }

    #[test]
    fn the_union_of_two_shards_finds_what_one_run_of_twice_the_size_finds() {
        let dir = tempfile::tempdir().unwrap();
        // (bug, workload, seed, scheduler): found late enough that each
        // shard's share matters, and one that none of them finds.
        let cases = [
            (
                "skip-read-validation",
                "write-skew",
                1,
                SchedulerKind::Pct { depth: 3 },
            ),
            (
                "skip-read-validation",
                "read-skew",
                0,
                SchedulerKind::Pct { depth: 3 },
            ),
            (
                "unlock-before-write-back",
                "write-skew",
                1,
                SchedulerKind::Pct { depth: 3 },
            ),
            (
                "skip-read-validation",
                "write-skew",
                2,
                SchedulerKind::Random,
            ),
            (
                "lose-retry-wakeup",
                "write-skew",
                0,
                SchedulerKind::Pct { depth: 3 },
            ),
        ];
        let (mut found_by_one_shard_only, mut missed) = (0, 0);
        for (bug, name, seed, scheduler) in cases {
            let workload = Workload::builtin(name).unwrap();
            let config = ExploreConfig {
                driver: DriverKind::Shuttle(scheduler),
                iterations: 25,
                seed,
                regressions: dir.path().to_path_buf(),
                shrink_budget: 20,
                shrink_schedules: 0,
                injected_bug: Some(bug.to_string()),
                ..ExploreConfig::default()
            };
            let (zero, _) = explore_shard(&workload, &config, shard(0, 2));
            let (one, _) = explore_shard(&workload, &config, shard(1, 2));
            let twice = ExploreConfig {
                iterations: 50,
                ..config.clone()
            };
            let (whole, _) = explore_shard(&workload, &twice, shard(0, 1));
            let case = format!("{bug} on {name}, seed {seed}, {scheduler:?}");
            let by_shard = [failing_execution(&zero), failing_execution(&one)];
            let first_by_shards = by_shard.iter().flatten().min().copied();
            eprintln!(
                "{case}: shards 0/2, 1/2 fail at {by_shard:?}; 0/1 at {:?}",
                failing_execution(&whole)
            );
            // Found by the shards iff found by the whole run, at the same
            // execution, with the same failure.
            assert_eq!(first_by_shards, failing_execution(&whole), "{case}");
            if let Some(k) = first_by_shards {
                let finder = if k % 2 == 0 { &zero } else { &one };
                assert_eq!(
                    finder.failure.as_ref().unwrap().message,
                    whole.failure.as_ref().unwrap().message,
                    "{case}"
                );
                let saved = finder.failure.as_ref().unwrap().saved.as_ref().unwrap();
                let info = saved.driver.shard.unwrap();
                assert_eq!((info.index, info.count), ((k % 2) as usize, 2), "{case}");
                if by_shard.iter().flatten().count() == 1 {
                    found_by_one_shard_only += 1;
                }
            } else {
                missed += 1;
            }
        }
        // The cases cover a failure only one of the shards holds, and one
        // that no shard finds.
        assert!(found_by_one_shard_only >= 1, "{found_by_one_shard_only}");
        assert!(missed >= 1, "{missed}");
    }

    #[test]
    fn shards_parse_0_based_and_refuse_what_is_not_one() {
        assert_eq!("0/1".parse(), Ok(Shard { index: 0, count: 1 }));
        assert_eq!("3/4".parse(), Ok(Shard { index: 3, count: 4 }));
        assert_eq!("3/4".parse::<Shard>().unwrap().to_string(), "3/4");
        let refused = |value: &str| value.parse::<Shard>().unwrap_err().to_string();
        assert_eq!(
            refused("4/4"),
            "`4/4`: shard 4 does not exist among 4 shards; shards are numbered from 0 to 3"
        );
        assert_eq!(
            refused("0/0"),
            "`0/0`: the number of shards must be at least 1"
        );
        for bad in [
            "",
            "1",
            "1/",
            "/2",
            "a/2",
            "1/b",
            "-1/2",
            "+1/2",
            " 1/2",
            "1/2/3",
            "99999999999999999999999/2",
        ] {
            assert!(
                refused(bad).contains("is not a shard: expected I/N"),
                "{bad:?}: {}",
                refused(bad)
            );
        }
    }

    #[test]
    fn the_shards_of_a_layout_partition_its_executions() {
        let shards: Vec<Shard> = (0..3).map(|i| Shard::new(i, 3).unwrap()).collect();
        let mut all: Vec<u64> = shards
            .iter()
            .flat_map(|s| (0..5).map(move |j| s.execution(j)))
            .collect();
        for s in &shards {
            assert!((0..5).all(|j| s.contains(s.execution(j))));
        }
        all.sort_unstable();
        assert_eq!(all, (0..15).collect::<Vec<u64>>());
        // Seeds of different executions differ, and so do those of
        // different run seeds.
        let seeds: std::collections::HashSet<u64> =
            (0..1000).map(|k| execution_seed(7, k)).collect();
        assert_eq!(seeds.len(), 1000);
        assert_ne!(execution_seed(7, 0), execution_seed(8, 0));
    }
}
