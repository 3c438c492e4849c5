//! The `history_check` fuzz target's logic: arbitrary histories into the
//! checker, which must answer every one of them (a report, or an error
//! saying why the history is not well-formed) without panicking, and
//! histories of serial executions, which it must always accept.

use crate::history::generate::{serial_history, PlannedTransaction, SerialOptions};
use crate::history::{check, render_dot, History, InitialValue, Outcome, Read, Transaction, Write};
use arbitrary::{Arbitrary, Unstructured};
use serde_json::Value;

/// One input of the `history_check` target.
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryInput {
    /// Any history: often not well-formed (duplicate ids, dangling
    /// versions, `begin >= end`, ...), sometimes with extreme numbers.
    /// Small key, version and time ranges make the well-formed ones
    /// frequent, so that the checker's graph and explanations run too.
    pub history: History,
    /// The plan of a serial execution, recorded with `options` into a
    /// history that must be accepted.
    pub serial: Vec<PlannedTransaction>,
    /// How the serial execution is recorded.
    pub options: SerialOptions,
}

/// A number in `0..=max`, or (one time in 32) any `u64`, so that the
/// checker also meets the extremes.
fn small_or_any(u: &mut Unstructured<'_>, max: u64) -> arbitrary::Result<u64> {
    if u.ratio(1, 32)? {
        u64::arbitrary(u)
    } else {
        u.int_in_range(0..=max)
    }
}

/// A value as recorders write them (a small integer), or another JSON
/// value now and then; no floats, whose text form need not round-trip.
fn value(u: &mut Unstructured<'_>) -> arbitrary::Result<Option<Value>> {
    Ok(match u.int_in_range(0..=9u8)? {
        0 => None,
        1 => Some(Value::Null),
        2 => Some(Value::from(bool::arbitrary(u)?)),
        3 => Some(Value::from(i64::arbitrary(u)?)),
        4 => Some(Value::from(String::arbitrary(u)?)),
        _ => Some(Value::from(u.int_in_range(-3..=3i64)?)),
    })
}

fn transaction(u: &mut Unstructured<'_>, index: u64) -> arbitrary::Result<Transaction> {
    let id = if u.ratio(1, 16)? {
        small_or_any(u, 16)?
    } else {
        index + 1
    };
    let begin = small_or_any(u, 60)?;
    let end = if u.ratio(1, 16)? {
        small_or_any(u, 60)?
    } else {
        begin.saturating_add(u.int_in_range(1..=8)?)
    };
    let outcome = if u.ratio(1, 4)? {
        Outcome::Aborted
    } else {
        Outcome::Committed
    };
    let optional = |u: &mut Unstructured<'_>| -> arbitrary::Result<Option<u64>> {
        Ok(if bool::arbitrary(u)? {
            Some(small_or_any(u, 24)?)
        } else {
            None
        })
    };
    let snapshot = optional(u)?;
    let commit_version = optional(u)?;
    let reads = (0..u.int_in_range(0..=4)?)
        .map(|_| {
            Ok(Read {
                key: small_or_any(u, 5)?,
                version: small_or_any(u, 24)?,
                value: value(u)?,
            })
        })
        .collect::<arbitrary::Result<_>>()?;
    let writes = (0..u.int_in_range(0..=4)?)
        .map(|_| {
            Ok(Write {
                key: small_or_any(u, 5)?,
                version: small_or_any(u, 24)?,
                value: value(u)?,
                commuted: None,
            })
        })
        .collect::<arbitrary::Result<_>>()?;
    Ok(Transaction {
        id,
        thread: u.int_in_range(0..=3)?,
        outcome,
        begin,
        end,
        snapshot,
        commit_version,
        reads,
        writes,
    })
}

fn planned(u: &mut Unstructured<'_>) -> arbitrary::Result<PlannedTransaction> {
    let keys = |u: &mut Unstructured<'_>| -> arbitrary::Result<Vec<u64>> {
        (0..u.int_in_range(0..=3)?)
            .map(|_| u.int_in_range(0..=5))
            .collect()
    };
    Ok(PlannedTransaction {
        thread: u.int_in_range(0..=3)?,
        reads: keys(u)?,
        writes: keys(u)?,
        outcome: if u.ratio(1, 5)? {
            Outcome::Aborted
        } else {
            Outcome::Committed
        },
    })
}

impl<'a> Arbitrary<'a> for HistoryInput {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        let initial = (0..u.int_in_range(0..=3)?)
            .map(|_| {
                Ok(InitialValue {
                    key: small_or_any(u, 5)?,
                    value: value(u)?.unwrap_or(Value::from(0)),
                })
            })
            .collect::<arbitrary::Result<_>>()?;
        let transactions = (0..u.int_in_range(0..=10u64)?)
            .map(|i| transaction(u, i))
            .collect::<arbitrary::Result<_>>()?;
        let serial = (0..u.int_in_range(0..=12)?)
            .map(|_| planned(u))
            .collect::<arbitrary::Result<_>>()?;
        let options = SerialOptions {
            overlap: u.int_in_range(0..=3)?,
            snapshots: bool::arbitrary(u)?,
            values: bool::arbitrary(u)?,
        };
        Ok(HistoryInput {
            history: History {
                initial,
                transactions,
            },
            serial,
            options,
        })
    }
}

/// Checks `input`'s arbitrary history as `stm-check check` does (the
/// verdict, its text, JSON and Graphviz forms, or the error), checks that
/// it survives a JSON round trip, and checks that the serial execution's
/// history is accepted. A panic anywhere is a finding; so is an `Err`,
/// which says what went wrong.
///
/// ```
/// use arbitrary::{Arbitrary, Unstructured};
/// use stm_check::fuzz::{check_history_input, HistoryInput};
///
/// let bytes: Vec<u8> = (0..=255).collect();
/// let input = HistoryInput::arbitrary(&mut Unstructured::new(&bytes)).unwrap();
/// assert_eq!(check_history_input(&input), Ok(()));
/// ```
pub fn check_history_input(input: &HistoryInput) -> Result<(), String> {
    match check(&input.history) {
        Ok(report) => {
            let mut text = String::new();
            let _ = report.write_text(&mut text, usize::MAX);
            let _ = render_dot(&report);
            serde_json::to_string(&report)
                .map_err(|e| format!("a report does not serialize: {e}"))?;
        }
        Err(error) => {
            if error.to_string().is_empty() {
                return Err(format!("an error without a message: {error:?}"));
            }
        }
    }
    let json = input.history.to_json_string();
    match History::from_json_str(&json) {
        Ok(parsed) if parsed == input.history => {}
        Ok(_) => return Err(format!("the history changes through JSON: {json}")),
        Err(error) => {
            return Err(format!(
                "the history's own JSON is refused ({error}): {json}"
            ))
        }
    }
    let serial = serial_history(&input.serial, input.options);
    let report = check(&serial).map_err(|error| {
        format!(
            "a serial history is refused: {error}\n{}",
            serial.to_json_string()
        )
    })?;
    if !report.is_valid() {
        let mut text = String::new();
        let _ = report.write_text(&mut text, 5);
        return Err(format!(
            "a serial history is rejected:\n{text}\n{}",
            serial.to_json_string()
        ));
    }
    Ok(())
}
