//! The queue's targets measured by taking turns, so that the machine's
//! drift cancels out of the ratios.
//!
//! Criterion measures one benchmark after another, a few seconds each. On
//! a machine whose speed drifts over seconds (on the 2-core VM the plain
//! loop's runs ranged over 73-80 ms inside one 3-second benchmark), two
//! lines measured apart differ by the drift between them, several percent:
//! as much as the gaps the queue's targets are about. Here the contenders
//! of one workload take turns instead. Each round runs every contender a
//! few times (after one untimed run), in an order that is reversed every
//! other round (so a steady drift falls on each side equally), and each
//! ratio is taken within one round; the report gives the median of the rounds' ratios, with the
//! lowest and the highest.
//!
//! `benches/interleaved.rs` runs the rounds and writes an [`Interleaved`]
//! as JSON next to criterion's results; the report reads it back.

use crate::results::{id, read_json, ReportError};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

/// Where, in criterion's results directory, the interleaved rounds are
/// kept.
pub const FILE_NAME: &str = "interleaved.json";

/// How many more runs a `queue_total` contender gets per round than a
/// `queue` one: its runs (10,000 items) are ten times shorter.
pub const QUEUE_TOTAL_RUNS_FACTOR: u32 = 10;

/// One contender: its id (`group/function/threads`, as criterion's) and a
/// run of its workload that returns the time of the run alone.
pub struct Contender<'a> {
    id: String,
    run: Box<dyn FnMut() -> Duration + 'a>,
}

impl<'a> Contender<'a> {
    /// The contender `group/function/threads`, timed by `run`.
    pub fn new(
        group: &str,
        function: &str,
        threads: usize,
        run: impl FnMut() -> Duration + 'a,
    ) -> Self {
        Contender {
            id: id(group, function, Some(&threads.to_string())),
            run: Box::new(run),
        }
    }

    /// Its id.
    pub fn id(&self) -> &str {
        &self.id
    }
}

impl std::fmt::Debug for Contender<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Contender").field("id", &self.id).finish()
    }
}

/// The rounds of every contender: per id, the mean seconds of a run in
/// each round (all ids of one workload ran the same rounds).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Interleaved {
    seconds: BTreeMap<String, Vec<f64>>,
}

/// A ratio over rounds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Spread {
    /// The median of the rounds' ratios.
    pub median: f64,
    /// The lowest.
    pub lowest: f64,
    /// The highest.
    pub highest: f64,
    /// How many rounds.
    pub rounds: usize,
}

impl Interleaved {
    /// Runs `rounds` rounds of `contenders` (one workload: the same items
    /// for all), each contender `runs` times a round after one untimed run,
    /// and adds them under their ids.
    ///
    /// The untimed run is criterion's warm-up in small: a pool that slept
    /// while the others ran (the queue's helpers, rayon's threads) wakes in
    /// it, and the timed runs follow back to back, as in a criterion
    /// benchmark.
    pub fn measure(&mut self, contenders: &mut [Contender<'_>], rounds: usize, runs: usize) {
        for round in 0..rounds {
            let order: Vec<usize> = if round % 2 == 0 {
                (0..contenders.len()).collect()
            } else {
                (0..contenders.len()).rev().collect()
            };
            for i in order {
                // The pool that ran last spins before it sleeps: let it
                // stop before the next contender's clock starts.
                std::thread::sleep(Duration::from_millis(2));
                let contender = &mut contenders[i];
                (contender.run)();
                let total: Duration = (0..runs).map(|_| (contender.run)()).sum();
                self.seconds
                    .entry(contender.id.clone())
                    .or_default()
                    .push(total.as_secs_f64() / runs.max(1) as f64);
            }
        }
    }

    /// Rounds already measured: per id, the mean seconds of a run in each
    /// round.
    pub fn from_rounds(rounds: impl IntoIterator<Item = (String, Vec<f64>)>) -> Self {
        Interleaved {
            seconds: rounds.into_iter().collect(),
        }
    }

    /// The mean seconds of a run of `id`, round by round.
    pub fn rounds(&self, id: &str) -> Option<&[f64]> {
        self.seconds.get(id).map(Vec::as_slice)
    }

    /// The throughput of `numerator` over that of `denominator` (ids of
    /// one workload), round by round; `None` if either has no rounds or
    /// they ran different numbers of rounds.
    pub fn ratio(&self, numerator: &str, denominator: &str) -> Option<Spread> {
        let (n, d) = (self.rounds(numerator)?, self.rounds(denominator)?);
        if n.is_empty() || n.len() != d.len() {
            return None;
        }
        // Same items: the ratio of throughputs is that of the times, inverted.
        let mut ratios: Vec<f64> = n.iter().zip(d).map(|(n, d)| d / n).collect();
        ratios.sort_by(f64::total_cmp);
        let middle = ratios.len() / 2;
        let median = if ratios.len() % 2 == 1 {
            ratios[middle]
        } else {
            (ratios[middle - 1] + ratios[middle]) / 2.0
        };
        Some(Spread {
            median,
            lowest: ratios[0],
            highest: ratios[ratios.len() - 1],
            rounds: ratios.len(),
        })
    }

    /// As JSON: `{"seconds": {"queue/run/2": [0.0385, ...], ...}}`.
    pub fn to_json(&self) -> String {
        json!({ "seconds": self.seconds }).to_string()
    }

    /// Reads what [`Interleaved::to_json`] wrote to `path`.
    pub fn load(path: &Path) -> Result<Self, ReportError> {
        Self::from_value(&read_json(path)?).map_err(|problem| ReportError::Format {
            path: path.to_path_buf(),
            problem,
        })
    }

    fn from_value(value: &Value) -> Result<Self, String> {
        let seconds = value
            .get("seconds")
            .and_then(Value::as_object)
            .ok_or("no \"seconds\" object")?;
        let mut parsed = BTreeMap::new();
        for (id, rounds) in seconds {
            let rounds = rounds
                .as_array()
                .ok_or_else(|| format!("\"{id}\": not a list of seconds"))?
                .iter()
                .map(|s| s.as_f64().filter(|s| *s > 0.0))
                .collect::<Option<Vec<f64>>>()
                .ok_or_else(|| format!("\"{id}\": a round that is not a positive number"))?;
            parsed.insert(id.clone(), rounds);
        }
        Ok(Interleaved { seconds: parsed })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    #[test]
    fn ratios_are_taken_within_rounds() {
        // The machine slows down twofold after round 1: `fast` is 2x
        // `slow` in every round, though `fast`'s rounds taken together
        // overlap `slow`'s.
        let mut interleaved = Interleaved::default();
        interleaved
            .seconds
            .insert("q/fast/2".into(), vec![1.0, 2.0, 2.0]);
        interleaved
            .seconds
            .insert("q/slow/2".into(), vec![2.0, 4.0, 4.0]);
        let spread = interleaved.ratio("q/fast/2", "q/slow/2").unwrap();
        assert_eq!(
            spread,
            Spread {
                median: 2.0,
                lowest: 2.0,
                highest: 2.0,
                rounds: 3
            }
        );
        assert_eq!(
            interleaved.ratio("q/slow/2", "q/fast/2").unwrap().median,
            0.5
        );
        assert_eq!(interleaved.ratio("q/fast/2", "q/none/2"), None);
    }

    #[test]
    fn the_median_ignores_one_disturbed_round() {
        let mut interleaved = Interleaved::default();
        interleaved
            .seconds
            .insert("q/a/1".into(), vec![1.0, 1.0, 5.0, 1.0, 1.0]);
        interleaved
            .seconds
            .insert("q/b/1".into(), vec![1.0, 1.1, 1.0, 0.9, 1.0]);
        let spread = interleaved.ratio("q/a/1", "q/b/1").unwrap();
        assert!((spread.median - 1.0).abs() < 1e-9, "{spread:?}");
        assert!((spread.lowest - 0.2).abs() < 1e-9);
        assert!((spread.highest - 1.1).abs() < 1e-9);
    }

    #[test]
    fn contenders_take_turns_in_alternating_order() {
        let log = Cell::new(Vec::new());
        let push = |name: &'static str| {
            let mut l = log.take();
            l.push(name);
            log.set(l);
        };
        let mut contenders = [
            Contender::new("q", "a", 1, || {
                push("a");
                Duration::from_millis(1)
            }),
            Contender::new("q", "b", 2, || {
                push("b");
                Duration::from_millis(3)
            }),
        ];
        let mut interleaved = Interleaved::default();
        interleaved.measure(&mut contenders, 3, 2);
        // Each turn one untimed run and two timed ones: rounds a b, b a,
        // a b.
        let turns = ["a", "b", "b", "a", "a", "b"];
        let expected: Vec<&str> = turns.iter().flat_map(|t| [*t; 3]).collect();
        assert_eq!(log.take(), expected);
        assert_eq!(interleaved.rounds("q/a/1").unwrap(), [0.001; 3]);
        let spread = interleaved.ratio("q/a/1", "q/b/2").unwrap();
        assert!((spread.median - 3.0).abs() < 1e-9);
        assert_eq!(spread.rounds, 3);
    }

    #[test]
    fn json_round_trips_and_bad_files_are_named() {
        let mut interleaved = Interleaved::default();
        interleaved
            .seconds
            .insert("queue/run/2".into(), vec![0.0385, 0.0391]);
        let parse = |text: &str| Interleaved::from_value(&serde_json::from_str(text).unwrap());
        assert_eq!(parse(&interleaved.to_json()).unwrap(), interleaved);
        for (text, problem) in [
            ("[]", "no \"seconds\" object"),
            (r#"{"seconds": {"q/a/1": 3}}"#, "\"q/a/1\": not a list"),
            (
                r#"{"seconds": {"q/a/1": [0.1, -1]}}"#,
                "not a positive number",
            ),
        ] {
            let error = parse(text).unwrap_err();
            assert!(error.contains(problem), "{text}: {error}");
        }
        let path = std::env::temp_dir().join(format!(
            "stm-benchmarks-interleaved-{}.json",
            std::process::id()
        ));
        std::fs::write(&path, "{").unwrap();
        let error = Interleaved::load(&path).unwrap_err().to_string();
        let _ = std::fs::remove_file(&path);
        assert!(error.contains(&path.display().to_string()), "{error}");
    }
}
