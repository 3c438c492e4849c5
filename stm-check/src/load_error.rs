//! The error of loading any of stm-check's JSON documents (histories,
//! workloads) from a file: the file could not be read, or its contents are
//! not a valid document. Both name the file.

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

impl<E: std::error::Error + 'static> LoadError<E> {
    /// What is wrong with the contents, when the file was read.
    pub fn invalid(&self) -> Option<&E> {
        match self {
            LoadError::Io { .. } => None,
            LoadError::Invalid { error, .. } => Some(error),
        }
    }
}
