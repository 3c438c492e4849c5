//! What goes wrong loading stm-check's JSON documents (histories,
//! workloads): the file error naming the file, and the description of a
//! serde_json error that both formats share.

use std::path::PathBuf;

/// A document that could not be loaded from a file; `E` says what is wrong
/// with its contents.
#[derive(Debug, thiserror::Error)]
pub enum LoadError<E: std::error::Error + 'static> {
    /// Reading the file failed.
    #[error("{}: cannot read: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// The file was read but its contents are not valid.
    #[error("{}: {error}", path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        #[source]
        error: E,
    },
}

/// What kind of JSON problem a serde_json error is ("truncated JSON",
/// "invalid JSON", "unexpected JSON shape"), and its message without the
/// " at line L column C" suffix (callers report the position in fields of
/// their own).
pub(crate) fn describe_json_error(error: &serde_json::Error) -> (&'static str, String) {
    use serde_json::error::Category;
    let what = match error.classify() {
        Category::Eof => "truncated JSON",
        Category::Syntax | Category::Io => "invalid JSON",
        Category::Data => "unexpected JSON shape",
    };
    let full = error.to_string();
    let message = match full.rsplit_once(" at line ") {
        Some((message, _)) => message.to_string(),
        None => full,
    };
    (what, message)
}

impl<E: std::error::Error + 'static> LoadError<E> {
    /// What is wrong with the contents, when the file was read.
    pub fn invalid(&self) -> Option<&E> {
        match self {
            LoadError::Io { .. } => None,
            LoadError::Invalid { error, .. } => Some(error),
        }
    }
}

/// Reads the file at `path` and parses it with `parse`; errors name the
/// file.
pub(crate) fn load_file<T, E: std::error::Error + 'static>(
    path: &std::path::Path,
    parse: impl FnOnce(&str) -> Result<T, E>,
) -> Result<T, LoadError<E>> {
    let text = std::fs::read_to_string(path).map_err(|source| LoadError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    parse(&text).map_err(|error| LoadError::Invalid {
        path: path.to_path_buf(),
        error,
    })
}
