//! The `parsers` fuzz target's logic: any bytes into every parser of a file
//! a person hands to stm-check (schedule files, histories, workloads). Each
//! must answer with the document or with an error that says what is wrong,
//! never with a panic, whatever the bytes.

use crate::history::{Checker, Recorded};
use crate::schedule::{ScheduleFile, Target};
use crate::workload::Workload;
use std::path::Path;

/// What each parser made of one input: `Ok` if it accepted the text, else
/// its error message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parsed {
    /// [`ScheduleFile::parse`] (and, for a workload schedule, the embedded
    /// workload, as `stm-check replay` reads it).
    pub schedule_file: Result<(), String>,
    /// [`Recorded::from_json_str`] (history format version 1 or 2), then
    /// [`Checker::check_recorded`] on what it accepted.
    pub history: Result<(), String>,
    /// [`Workload::from_json_str`] (which also validates).
    pub workload: Result<(), String>,
}

/// The path schedule-file errors name for fuzz inputs.
const INPUT_NAME: &str = "fuzz-input.json";

/// Feeds `bytes` (as text, invalid UTF-8 replaced as a lossy reader would)
/// to every parser. `Err` means a parser broke its contract without
/// panicking: an error with an empty message, a schedule-file error that
/// does not name the file, or a workload that changes through its own JSON.
///
/// ```
/// use stm_check::fuzz::parse_all;
///
/// let parsed = parse_all(br#"{"format": "stm-history", "version": 1, "transactions": []}"#).unwrap();
/// assert_eq!(parsed.history, Ok(()));
/// assert!(parsed.workload.unwrap_err().contains("not a workload"));
/// assert!(parse_all(b"\xff{[").unwrap().schedule_file.is_err());
/// ```
pub fn parse_all(bytes: &[u8]) -> Result<Parsed, String> {
    let text = String::from_utf8_lossy(bytes);
    let clean = |parser: &str, message: String| -> Result<Result<(), String>, String> {
        if message.trim().is_empty() {
            Err(format!("{parser}: an error without a message"))
        } else {
            Ok(Err(message))
        }
    };

    let schedule_file = match ScheduleFile::parse(Path::new(INPUT_NAME), &text) {
        Ok(file) => match &file.target {
            Target::Workload { workload, .. } => {
                match Workload::from_json_str(&workload.to_string()) {
                    Ok(_) => Ok(()),
                    Err(error) => clean("embedded workload", error.to_string())?,
                }
            }
            Target::Test { .. } => Ok(()),
        },
        Err(error) => {
            let message = error.to_string();
            if !message.starts_with(INPUT_NAME) {
                return Err(format!(
                    "schedule file: the error does not name the file: {message}"
                ));
            }
            clean("schedule file", message)?
        }
    };

    let history = match Recorded::from_json_str(&text) {
        Ok(recorded) => match Checker::new().check_recorded(&recorded) {
            Ok(report) => {
                let mut verdict = String::new();
                let _ = report.write_text(&mut verdict, 3);
                Ok(())
            }
            Err(error) => clean("history check", error.to_string())?,
        },
        Err(error) => clean("history", error.to_string())?,
    };

    let workload = match Workload::from_json_str(&text) {
        Ok(workload) => {
            let again = Workload::from_json_str(&workload.to_json_string());
            if again.as_ref() != Ok(&workload) {
                return Err(format!(
                    "workload: changes through its own JSON: {} became {again:?}",
                    workload.to_json_string()
                ));
            }
            Ok(())
        }
        Err(error) => clean("workload", error.to_string())?,
    };

    Ok(Parsed {
        schedule_file,
        history,
        workload,
    })
}
