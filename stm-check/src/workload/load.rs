//! Reading and writing workload files: parsing in two steps (envelope, then
//! contents), validation, and finding the line and column of a part of the
//! document for error messages.

use super::error::{LoadError, WorkloadError};
use super::model::{Workload, FORMAT_NAME, FORMAT_VERSION};
use super::validate::{validate, Segment};
use serde::Deserialize;
use std::path::Path;

/// The envelope, read first so that a file of another format or version is
/// reported as such even when its contents would not parse.
#[derive(Deserialize)]
struct Envelope {
    format: String,
    version: u64,
}

impl Workload {
    /// Parses and validates a workload from JSON text.
    ///
    /// ```
    /// use stm_check::workload::{Problem, Workload};
    ///
    /// let text = r#"{"format": "stm-workload", "version": 1,
    ///   "vars": [{"initial": 10}, {"initial": 0}],
    ///   "threads": [{"steps": [
    ///     {"atomically": {"ops": [{"transfer": {"from": 0, "to": 1, "amount": 3}}]}}]}],
    ///   "invariants": [{"sum_preserved": [0, 1]}]}"#;
    /// let workload = Workload::from_json_str(text).unwrap();
    /// assert_eq!(workload.vars.len(), 2);
    ///
    /// let error = Workload::from_json_str(&text.replace(r#""to": 1"#, r#""to": 0"#)).unwrap_err();
    /// assert_eq!(error.problem(), Some(&Problem::TransferToItself { var: 0 }));
    /// assert_eq!(
    ///     error.to_string(),
    ///     "threads[0].steps[0].atomically.ops[0].transfer (line 4, column 42): transfer from variable 0 to itself"
    /// );
    /// ```
    pub fn from_json_str(text: &str) -> Result<Workload, WorkloadError> {
        let envelope: Envelope =
            serde_json::from_str(text).map_err(|e| WorkloadError::from_json(&e))?;
        if envelope.format != FORMAT_NAME {
            return Err(WorkloadError::UnknownFormat {
                found: envelope.format,
            });
        }
        if envelope.version != FORMAT_VERSION {
            return Err(WorkloadError::UnsupportedVersion {
                found: envelope.version,
                supported: FORMAT_VERSION,
            });
        }
        let workload: Workload =
            serde_json::from_str(text).map_err(|e| WorkloadError::from_json(&e))?;
        validate(&workload, &|path| {
            locate(text, path).map(|o| line_column(text, o))
        })?;
        Ok(workload)
    }

    /// Reads, parses and validates a workload file; errors name the file.
    pub fn load(path: &Path) -> Result<Workload, LoadError> {
        crate::load_error::load_file(path, Workload::from_json_str)
    }

    /// Checks the contents of a workload built in memory (a built-in, a
    /// generated one): every index in range, no empty transaction, ...
    /// [`Workload::from_json_str`] does this too, with line and column.
    pub fn validate(&self) -> Result<(), WorkloadError> {
        validate(self, &|_| None)
    }

    /// The workload as JSON text (one line), in the current format version.
    pub fn to_json_string(&self) -> String {
        serde_json::to_string(self).expect("a Workload always serializes")
    }

    /// The workload as indented JSON text, in the current format version.
    pub fn to_json_pretty(&self) -> String {
        serde_json::to_string_pretty(self).expect("a Workload always serializes")
    }
}

/// 1-based line and column of byte `offset` of `text`.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text.as_bytes()[..offset.min(text.len())];
    let line = 1 + before.iter().filter(|&&b| b == b'\n').count();
    let line_start = before
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |p| p + 1);
    (line, 1 + offset - line_start)
}

/// The byte offset where the value at `path` starts in `text` (valid JSON),
/// or `None` if the path is not there.
fn locate(text: &str, path: &[Segment]) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut at = skip_whitespace(bytes, 0);
    for segment in path {
        match *segment {
            Segment::Key(key) => {
                if bytes.get(at) != Some(&b'{') {
                    return None;
                }
                at = skip_whitespace(bytes, at + 1);
                loop {
                    let key_end = skip_string(bytes, at)?;
                    let found = &bytes[at + 1..key_end - 1];
                    at = skip_whitespace(bytes, key_end);
                    if bytes.get(at) != Some(&b':') {
                        return None;
                    }
                    at = skip_whitespace(bytes, at + 1);
                    if found == key.as_bytes() {
                        break;
                    }
                    at = next_element(bytes, skip_value(bytes, at)?, b'}')?;
                }
            }
            Segment::Index(index) => {
                if bytes.get(at) != Some(&b'[') {
                    return None;
                }
                at = skip_whitespace(bytes, at + 1);
                for _ in 0..index {
                    at = next_element(bytes, skip_value(bytes, at)?, b']')?;
                }
                if bytes.get(at) == Some(&b']') {
                    return None;
                }
            }
        }
    }
    Some(at)
}

fn skip_whitespace(bytes: &[u8], mut at: usize) -> usize {
    while bytes.get(at).is_some_and(u8::is_ascii_whitespace) {
        at += 1;
    }
    at
}

/// After a member or element ending at `at`: the start of the next one, or
/// `None` at the closing bracket.
fn next_element(bytes: &[u8], at: usize, close: u8) -> Option<usize> {
    let at = skip_whitespace(bytes, at);
    match *bytes.get(at)? {
        b',' => Some(skip_whitespace(bytes, at + 1)),
        c if c == close => None,
        _ => None,
    }
}

/// The end (one past the closing quote) of the string starting at `at`.
fn skip_string(bytes: &[u8], at: usize) -> Option<usize> {
    if bytes.get(at) != Some(&b'"') {
        return None;
    }
    let mut i = at + 1;
    loop {
        match *bytes.get(i)? {
            b'\\' => i += 2,
            b'"' => return Some(i + 1),
            _ => i += 1,
        }
    }
}

/// The end of the value starting at `at`.
fn skip_value(bytes: &[u8], at: usize) -> Option<usize> {
    match *bytes.get(at)? {
        b'"' => skip_string(bytes, at),
        open @ (b'{' | b'[') => {
            let close = if open == b'{' { b'}' } else { b']' };
            let mut i = skip_whitespace(bytes, at + 1);
            if bytes.get(i) == Some(&close) {
                return Some(i + 1);
            }
            loop {
                if open == b'{' {
                    i = skip_whitespace(bytes, skip_string(bytes, i)?);
                    if bytes.get(i) != Some(&b':') {
                        return None;
                    }
                    i = skip_whitespace(bytes, i + 1);
                }
                i = skip_whitespace(bytes, skip_value(bytes, i)?);
                match *bytes.get(i)? {
                    b',' => i = skip_whitespace(bytes, i + 1),
                    c if c == close => return Some(i + 1),
                    _ => return None,
                }
            }
        }
        _ => {
            // A number, `true`, `false` or `null`.
            let mut i = at;
            while bytes
                .get(i)
                .is_some_and(|b| !matches!(b, b',' | b'}' | b']') && !b.is_ascii_whitespace())
            {
                i += 1;
            }
            Some(i)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locate_finds_nested_values() {
        let text = "{\"a\": [1, {\"b\": \"x,]\"}, [2, 3]],\n \"c\": {\"d\": 4}}";
        let at = |path: &[Segment]| locate(text, path).map(|o| line_column(text, o));
        assert_eq!(at(&[Segment::Key("c"), Segment::Key("d")]), Some((2, 13)));
        assert_eq!(
            at(&[Segment::Key("a"), Segment::Index(2), Segment::Index(1)]),
            Some((1, 29))
        );
        assert_eq!(at(&[Segment::Key("a"), Segment::Index(3)]), None);
        assert_eq!(at(&[Segment::Key("z")]), None);
    }
}
