//! tailtape's own JSON inputs besides cassettes (a seed, a fault plan, a parity exceptions
//! file): read from a path and parsed with every error placed as `FILE:LINE:COLUMN: reason`,
//! the way cassette errors are, so each format checks only what is its own.

use std::path::Path;

use serde_json::Value;

use crate::locate::line_column;

/// A document that cannot be used: unreadable, or not what its format says, at a place.
#[derive(Debug, thiserror::Error)]
pub enum DocumentError {
    #[error("{file}: {error}")]
    Io { file: String, error: std::io::Error },
    #[error("{file}:{line}:{column}: {message}")]
    Invalid {
        file: String,
        line: usize,
        column: usize,
        message: String,
    },
}

/// A document's text and the name its errors give it.
#[derive(Clone, Copy)]
pub struct Document<'t> {
    pub file: &'t str,
    pub text: &'t str,
}

/// The text at `path`, and the name (the path as given) its errors use.
pub fn read(path: &Path) -> Result<(String, String), DocumentError> {
    let file = path.display().to_string();
    match std::fs::read_to_string(path) {
        Ok(text) => Ok((file, text)),
        Err(error) => Err(DocumentError::Io { file, error }),
    }
}

impl Document<'_> {
    /// The text as JSON, or where and why it is not.
    pub fn json(&self) -> Result<Value, DocumentError> {
        serde_json::from_str(self.text).map_err(|e| {
            let message = e.to_string();
            let message = message.split(" at line ").next().unwrap_or(&message);
            self.invalid_at(
                e.line().max(1),
                e.column().max(1),
                format!("not valid JSON: {message}"),
            )
        })
    }

    /// An error at the value `pointer` names.
    pub fn invalid(&self, pointer: &str, message: String) -> DocumentError {
        let (line, column) = line_column(self.text, pointer);
        self.invalid_at(line, column, message)
    }

    /// An error at a line and column (1-based).
    pub fn invalid_at(&self, line: usize, column: usize, message: String) -> DocumentError {
        DocumentError::Invalid {
            file: self.file.to_string(),
            line,
            column,
            message,
        }
    }
}
