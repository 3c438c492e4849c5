//! What the command-line tests share: running the `stm-check` binary in a
//! folder and reading what it printed.

#![allow(dead_code)] // each test file uses its own part

use std::path::Path;
use std::process::{Command, Output};

/// Runs `stm-check ARGS` in `dir`.
pub fn stm_check(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_stm-check"))
        .current_dir(dir)
        .args(args)
        .output()
        .expect("stm-check runs")
}

/// What it printed on standard output.
pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// What it printed on standard error.
pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Its `--json` output.
pub fn json_of(output: &Output) -> serde_json::Value {
    serde_json::from_slice(&output.stdout).expect("a JSON summary")
}

/// A copy in `dir` of the workload whose reader asserts a value that only
/// some schedules give; its path.
pub fn racy_workload(dir: &Path) -> String {
    let path = dir.join("racy.json");
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/racy-reader.workload.json"),
        &path,
    )
    .unwrap();
    path.display().to_string()
}
