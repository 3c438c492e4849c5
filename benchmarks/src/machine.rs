//! The machine the numbers were measured on, written next to them: ratios
//! move with the CPU, the core count and the load, so a table without its
//! machine cannot be compared with another.
//!
//! Everything is read from `/proc` and `/etc` (Linux) or from `rustc` and
//! `git`; what cannot be found is reported as unknown, never an error.

use serde_json::{json, Value};
use std::fmt::{self, Write as _};
use std::path::Path;
use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

/// A description of the machine and the build.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Machine {
    /// The CPU model.
    pub cpu: String,
    /// Cores this process may use (`available_parallelism`).
    pub cores: usize,
    /// Logical CPUs the system has, where known.
    pub logical_cpus: Option<usize>,
    /// Total memory.
    pub memory: String,
    /// The operating system and kernel.
    pub os: String,
    /// `rustc --version`.
    pub rustc: String,
    /// The git commit measured, and whether the tree had changes.
    pub commit: String,
    /// The load average when the run started (1, 5, 15 minutes).
    pub load_average: String,
    /// When the run started (UTC).
    pub date: String,
}

const UNKNOWN: &str = "unknown";

impl Machine {
    /// Describes this machine, and the build in `workspace`.
    pub fn describe(workspace: &Path) -> Self {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu = cpuinfo
            .lines()
            .find_map(|line| field(line, "model name"))
            .unwrap_or(UNKNOWN)
            .to_string();
        let logical_cpus = cpuinfo
            .lines()
            .filter(|line| field(line, "processor").is_some())
            .count();
        let memory = std::fs::read_to_string("/proc/meminfo")
            .ok()
            .and_then(|info| {
                let line = info.lines().find_map(|l| field(l, "MemTotal"))?;
                let kib: f64 = line.trim_end_matches("kB").trim().parse().ok()?;
                Some(format!("{:.1} GiB", kib / (1024.0 * 1024.0)))
            })
            .unwrap_or_else(|| UNKNOWN.to_string());
        let release = std::fs::read_to_string("/etc/os-release")
            .ok()
            .and_then(|text| {
                text.lines()
                    .find_map(|l| l.strip_prefix("PRETTY_NAME="))
                    .map(|name| name.trim_matches('"').to_string())
            })
            .unwrap_or_else(|| std::env::consts::OS.to_string());
        let os = match std::fs::read_to_string("/proc/sys/kernel/osrelease") {
            Ok(kernel) => format!("{release}, kernel {}", kernel.trim()),
            Err(_) => release,
        };
        let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".to_string());
        let rustc = output(Command::new(rustc).arg("--version").current_dir(workspace))
            .unwrap_or_else(|| UNKNOWN.to_string());
        let commit = match output(
            Command::new("git")
                .args(["rev-parse", "--short", "HEAD"])
                .current_dir(workspace),
        ) {
            Some(hash) => {
                let dirty = output(
                    Command::new("git")
                        .args(["status", "--porcelain", "--untracked-files=no"])
                        .current_dir(workspace),
                )
                .is_some_and(|changes| !changes.is_empty());
                if dirty {
                    format!("{hash} with uncommitted changes")
                } else {
                    hash
                }
            }
            None => UNKNOWN.to_string(),
        };
        let load_average = std::fs::read_to_string("/proc/loadavg")
            .ok()
            .map(|text| {
                text.split_whitespace()
                    .take(3)
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .unwrap_or_else(|| UNKNOWN.to_string());
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        Machine {
            cpu,
            cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
            logical_cpus: (logical_cpus > 0).then_some(logical_cpus),
            memory,
            os,
            rustc,
            commit,
            load_average,
            date: utc_date(now),
        }
    }

    /// As JSON, kept with a run's results so that reporting the run again
    /// (`--no-run`) describes the machine as it was then.
    pub fn to_json(&self) -> String {
        json!({
            "cpu": self.cpu,
            "cores": self.cores,
            "logical_cpus": self.logical_cpus,
            "memory": self.memory,
            "os": self.os,
            "rustc": self.rustc,
            "commit": self.commit,
            "load_average": self.load_average,
            "date": self.date,
        })
        .to_string()
    }

    /// What [`Machine::to_json`] wrote; `Err` says what is wrong with it.
    pub fn from_json(text: &str) -> Result<Self, String> {
        let value: Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
        let text = |key: &str| {
            value
                .get(key)
                .and_then(Value::as_str)
                .map(str::to_string)
                .ok_or_else(|| format!("no text \"{key}\""))
        };
        let count = |key: &str| value.get(key).and_then(Value::as_u64).map(|n| n as usize);
        Ok(Machine {
            cpu: text("cpu")?,
            cores: count("cores").ok_or("no number \"cores\"")?,
            logical_cpus: count("logical_cpus"),
            memory: text("memory")?,
            os: text("os")?,
            rustc: text("rustc")?,
            commit: text("commit")?,
            load_average: text("load_average")?,
            date: text("date")?,
        })
    }

    /// The description as a Markdown list.
    pub fn write_markdown(&self, out: &mut String) -> fmt::Result {
        writeln!(out, "- CPU: {}", self.cpu)?;
        write!(out, "- cores available: {}", self.cores)?;
        match self.logical_cpus {
            Some(n) if n != self.cores => writeln!(out, " (of {n} logical CPUs)")?,
            _ => writeln!(out)?,
        }
        writeln!(out, "- memory: {}", self.memory)?;
        writeln!(out, "- OS: {}", self.os)?;
        writeln!(out, "- {}", self.rustc)?;
        writeln!(out, "- commit: {}", self.commit)?;
        writeln!(
            out,
            "- load average at the start: {} (other work running disturbs the numbers)",
            self.load_average
        )
    }
}

/// The value of a `/proc` line `key : value`, if the line is about `key`.
fn field<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    let (name, value) = line.split_once(':')?;
    (name.trim() == key).then(|| value.trim())
}

/// A command's trimmed standard output, if it ran and succeeded.
fn output(command: &mut Command) -> Option<String> {
    let out = command.output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// `seconds` since the Unix epoch as `YYYY-MM-DD HH:MM UTC`.
///
/// ```
/// assert_eq!(stm_benchmarks::machine::utc_date(0), "1970-01-01 00:00 UTC");
/// assert_eq!(stm_benchmarks::machine::utc_date(1_709_210_096), "2024-02-29 12:34 UTC");
/// ```
pub fn utc_date(seconds: u64) -> String {
    let days = (seconds / 86_400) as i64;
    let (hour, minute) = ((seconds % 86_400) / 3_600, (seconds % 3_600) / 60);
    // Howard Hinnant's days-to-civil algorithm.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02} {hour:02}:{minute:02} UTC")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_across_years_and_leap_days() {
        assert_eq!(utc_date(951_782_400), "2000-02-29 00:00 UTC");
        assert_eq!(utc_date(1_767_225_599), "2025-12-31 23:59 UTC");
        assert_eq!(utc_date(1_767_225_600), "2026-01-01 00:00 UTC");
    }

    #[test]
    fn proc_fields_are_matched_by_name() {
        assert_eq!(field("model name\t: Xeon", "model name"), Some("Xeon"));
        assert_eq!(field("model\t\t: 85", "model name"), None);
    }

    #[test]
    fn this_machine_is_described() {
        let machine = Machine::describe(Path::new(env!("CARGO_MANIFEST_DIR")));
        assert!(machine.cores >= 1);
        assert_eq!(Machine::from_json(&machine.to_json()), Ok(machine.clone()));
        assert_eq!(
            Machine::from_json(r#"{"cpu": "x"}"#),
            Err("no number \"cores\"".to_string())
        );
        assert!(Machine::from_json("{").is_err());
        let mut text = String::new();
        machine.write_markdown(&mut text).unwrap();
        assert!(text.contains("- CPU: ") && text.contains("rustc"), "{text}");
    }
}
