//! Reading criterion's results back: every benchmark's time per
//! iteration and throughput, by id.
//!
//! Criterion writes, for each benchmark, `GROUP/FUNCTION/PARAMETER/new/`
//! with `benchmark.json` (its ids and throughput) and `estimates.json` (the
//! time of one iteration, in nanoseconds). The report takes criterion's own
//! headline estimate: the slope of the linear regression where the samples
//! allow one (it discounts any fixed cost per sample, such as starting
//! threads), the mean otherwise.

use crate::interleaved::{self, Interleaved};
use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

/// One benchmark's result.
#[derive(Debug, Clone, PartialEq)]
pub struct Measurement {
    /// Criterion's group (the workload).
    pub group: String,
    /// Criterion's function (the implementation; empty for benchmarks
    /// named by their parameter alone).
    pub function: String,
    /// Criterion's parameter (threads, workers or history size), if any.
    pub parameter: Option<String>,
    /// Seconds per iteration.
    pub seconds: f64,
    /// Elements per iteration (operations of all threads together).
    pub elements: u64,
}

impl Measurement {
    /// Elements per second.
    pub fn per_second(&self) -> f64 {
        self.elements as f64 / self.seconds
    }

    /// `group/function/parameter`, as criterion names it.
    pub fn id(&self) -> String {
        id(&self.group, &self.function, self.parameter.as_deref())
    }

    /// The parameter as a thread count (0 if it is none).
    pub fn threads(&self) -> usize {
        self.parameter
            .as_deref()
            .and_then(|p| p.parse().ok())
            .unwrap_or(0)
    }
}

pub(crate) fn id(group: &str, function: &str, parameter: Option<&str>) -> String {
    [Some(group), Some(function), parameter]
        .into_iter()
        .flatten()
        .filter(|part| !part.is_empty())
        .collect::<Vec<_>>()
        .join("/")
}

/// Why the results could not be read, or lack what the report needs.
#[derive(Debug)]
pub enum ReportError {
    /// A results file could not be read.
    Io {
        /// The file or directory.
        path: PathBuf,
        /// What went wrong.
        source: std::io::Error,
    },
    /// A results file is not what criterion (or the interleaved rounds)
    /// wrote.
    Format {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        problem: String,
    },
    /// Benchmarks the report needs have no result.
    Missing(Vec<String>),
}

impl fmt::Display for ReportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReportError::Io { path, source } => {
                write!(f, "cannot read {}: {source}", path.display())
            }
            ReportError::Format { path, problem } => {
                write!(f, "{}: not a benchmark result: {problem}", path.display())
            }
            ReportError::Missing(ids) => write!(
                f,
                "no result for {} benchmark(s) the report needs: {}",
                ids.len(),
                ids.join(", ")
            ),
        }
    }
}

impl std::error::Error for ReportError {}

/// Every benchmark result of one run, by id, and the interleaved rounds.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Results {
    measurements: BTreeMap<String, Measurement>,
    interleaved: Interleaved,
}

impl Results {
    /// The given measurements, with no interleaved rounds.
    pub fn new(measurements: impl IntoIterator<Item = Measurement>) -> Self {
        Results {
            measurements: measurements.into_iter().map(|m| (m.id(), m)).collect(),
            interleaved: Interleaved::default(),
        }
    }

    /// The same results with these interleaved rounds.
    pub fn with_interleaved(self, interleaved: Interleaved) -> Self {
        Results {
            interleaved,
            ..self
        }
    }

    /// Reads every result under criterion's output directory `dir`, and
    /// the interleaved rounds kept there, if any.
    pub fn load(dir: &Path) -> Result<Self, ReportError> {
        let mut found = Vec::new();
        find_results(dir, &mut found)?;
        let measurements = found
            .iter()
            .map(|new| read_measurement(new))
            .collect::<Result<Vec<_>, _>>()?;
        let interleaved_path = dir.join(interleaved::FILE_NAME);
        let interleaved = if interleaved_path.exists() {
            Interleaved::load(&interleaved_path)?
        } else {
            Interleaved::default()
        };
        Ok(Results::new(measurements).with_interleaved(interleaved))
    }

    /// The interleaved rounds.
    pub fn interleaved(&self) -> &Interleaved {
        &self.interleaved
    }

    /// Whether there is no result at all.
    pub fn is_empty(&self) -> bool {
        self.measurements.is_empty()
    }

    /// All results, by id.
    pub fn iter(&self) -> impl Iterator<Item = &Measurement> {
        self.measurements.values()
    }

    /// One result.
    pub fn get(
        &self,
        group: &str,
        function: &str,
        parameter: Option<&str>,
    ) -> Option<&Measurement> {
        self.measurements.get(&id(group, function, parameter))
    }

    /// Elements per second of `group/function/threads`.
    pub fn throughput(&self, group: &str, function: &str, threads: usize) -> Option<f64> {
        self.get(group, function, Some(&threads.to_string()))
            .map(Measurement::per_second)
    }
}

/// Collects every `new` directory holding a `benchmark.json` under `dir`.
fn find_results(dir: &Path, found: &mut Vec<PathBuf>) -> Result<(), ReportError> {
    let io = |source| ReportError::Io {
        path: dir.to_path_buf(),
        source,
    };
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let path = entry.map_err(io)?.path();
        if !path.is_dir() {
            continue;
        }
        if path.file_name().is_some_and(|n| n == "new") && path.join("benchmark.json").is_file() {
            found.push(path);
        } else {
            find_results(&path, found)?;
        }
    }
    Ok(())
}

pub(crate) fn read_json(path: &Path) -> Result<Value, ReportError> {
    let text = std::fs::read_to_string(path).map_err(|source| ReportError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    serde_json::from_str(&text).map_err(|e| ReportError::Format {
        path: path.to_path_buf(),
        problem: e.to_string(),
    })
}

fn read_measurement(new: &Path) -> Result<Measurement, ReportError> {
    let benchmark_path = new.join("benchmark.json");
    let estimates_path = new.join("estimates.json");
    let benchmark = read_json(&benchmark_path)?;
    let estimates = read_json(&estimates_path)?;
    let problem = |path: &Path, problem: &str| ReportError::Format {
        path: path.to_path_buf(),
        problem: problem.to_string(),
    };
    let text = |key: &str| {
        benchmark
            .get(key)
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    let group = text("group_id").ok_or_else(|| problem(&benchmark_path, "no group_id"))?;
    let function = text("function_id").unwrap_or_default();
    let elements = benchmark
        .pointer("/throughput/Elements")
        .and_then(Value::as_u64)
        .ok_or_else(|| problem(&benchmark_path, "no throughput in elements"))?;
    let nanoseconds = ["slope", "mean"]
        .iter()
        .find_map(|e| estimates.get(e)?.get("point_estimate")?.as_f64())
        .filter(|ns| *ns > 0.0)
        .ok_or_else(|| problem(&estimates_path, "no positive slope or mean"))?;
    Ok(Measurement {
        group,
        function,
        parameter: text("value_str"),
        seconds: nanoseconds * 1e-9,
        elements,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::names::*;

    #[test]
    fn results_are_read_back_from_criterion_files() {
        let dir =
            std::env::temp_dir().join(format!("stm-benchmarks-report-{}", std::process::id()));
        let new = dir.join("bank").join("stm-core").join("2").join("new");
        std::fs::create_dir_all(&new).unwrap();
        std::fs::write(
            new.join("benchmark.json"),
            r#"{"group_id":"bank","function_id":"stm-core","value_str":"2","throughput":{"Elements":2},"full_id":"bank/stm-core/2"}"#,
        )
        .unwrap();
        std::fs::write(
            new.join("estimates.json"),
            r#"{"mean":{"point_estimate":1100.0},"median":{"point_estimate":900.0},"slope":{"point_estimate":1000.0}}"#,
        )
        .unwrap();
        let results = Results::load(&dir).unwrap();
        assert_eq!(results.interleaved().rounds("queue/run/2"), None);
        std::fs::write(
            dir.join(interleaved::FILE_NAME),
            r#"{"seconds":{"queue/run/2":[0.04,0.05]}}"#,
        )
        .unwrap();
        let with_rounds = Results::load(&dir).unwrap();
        std::fs::write(dir.join(interleaved::FILE_NAME), r#"{"seconds":[]}"#).unwrap();
        let broken = Results::load(&dir).unwrap_err().to_string();
        std::fs::remove_dir_all(&dir).unwrap();
        let m = results.get(BANK, STM_CORE, Some("2")).unwrap();
        // The slope: 1 µs an iteration of 2 operations.
        assert!((m.per_second() - 2e6).abs() < 1e-3, "{}", m.per_second());
        assert_eq!(
            with_rounds.interleaved().rounds("queue/run/2"),
            Some(&[0.04, 0.05][..])
        );
        assert_eq!(with_rounds.get(BANK, STM_CORE, Some("2")), Some(m));
        assert!(
            broken.contains(interleaved::FILE_NAME) && broken.contains("no \"seconds\" object"),
            "{broken}"
        );
    }

    #[test]
    fn a_broken_result_is_an_error_naming_the_file() {
        let dir =
            std::env::temp_dir().join(format!("stm-benchmarks-broken-{}", std::process::id()));
        let new = dir.join("g").join("f").join("new");
        std::fs::create_dir_all(&new).unwrap();
        std::fs::write(
            new.join("benchmark.json"),
            r#"{"group_id":"g","value_str":"f"}"#,
        )
        .unwrap();
        std::fs::write(
            new.join("estimates.json"),
            r#"{"mean":{"point_estimate":1.0}}"#,
        )
        .unwrap();
        let error = Results::load(&dir).unwrap_err().to_string();
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(
            error.contains("benchmark.json") && error.contains("throughput"),
            "{error}"
        );
    }
}
