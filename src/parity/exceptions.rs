//! Parity's exceptions file (`--exceptions FILE`): recorded behaviour a target deliberately does
//! not reproduce, each said once with its reason, so that a parity run can be clean without
//! `--ignore` hiding a pointer everywhere. The file is a JSON list of `{"cassette",
//! "interaction", "pointer", "reason"}`: `cassette` is the cassette's file name
//! (`dns-configuration.json`, whatever directory it was run from), `interaction` its index,
//! `pointer` a JSON pointer into the response body (`*` matches any one segment) that covers
//! the changes at it and below it, `reason` why (required, never empty). A change an exception
//! covers is moved from the interaction's changes to its excepted ones (shown as `excepted:
//! REASON`, not failing the run); an exception for a cassette of the run that covers nothing
//! is stale and fails the run, so the file cannot rot. A bad file is an error naming the file,
//! line, column and reason.

use std::path::Path;

use serde::Deserialize;
use serde_json::Value;

use crate::document::{self, Document, DocumentError};

use super::{CassetteParity, Excepted};
use crate::diff::Change;

/// One recorded behaviour the target does not reproduce.
#[derive(Debug, Clone, PartialEq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct Exception {
    /// The cassette's file name.
    pub cassette: String,
    /// The interaction's index in it.
    pub interaction: usize,
    /// A JSON pointer into the response body, `*` for any one segment; it covers the changes
    /// at it and below it.
    pub pointer: String,
    pub reason: String,
}

/// The exceptions of one file (none when parity runs without `--exceptions`).
#[derive(Debug, Clone, Default)]
pub struct Exceptions {
    /// The file they were read from, as named in messages.
    pub file: String,
    pub entries: Vec<Exception>,
}

/// An exceptions file that cannot be used.
pub type ExceptionsError = DocumentError;

impl Exceptions {
    /// Reads the exceptions file at `path`.
    pub fn load(path: &Path) -> Result<Exceptions, ExceptionsError> {
        let (file, text) = document::read(path)?;
        Exceptions::parse(&file, &text)
    }

    /// Checks and reads an exceptions file's text; `file` names it in errors.
    pub fn parse(file: &str, text: &str) -> Result<Exceptions, ExceptionsError> {
        let document = Document { file, text };
        let invalid = |pointer: &str, message: String| document.invalid(pointer, message);
        let value = document.json()?;
        let Value::Array(items) = value else {
            return Err(invalid(
                "",
                "not a JSON list of {\"cassette\", \"interaction\", \"pointer\", \"reason\"}"
                    .into(),
            ));
        };
        let mut entries = Vec::new();
        for (i, item) in items.into_iter().enumerate() {
            let at = format!("/{i}");
            let entry: Exception = serde_json::from_value(item).map_err(|e| {
                invalid(
                    &at,
                    format!(
                        "{at}: {e} (an exception is {{\"cassette\", \"interaction\", \"pointer\", \
                         \"reason\"}})"
                    ),
                )
            })?;
            if !(entry.pointer.is_empty() || entry.pointer.starts_with('/')) {
                return Err(invalid(
                    &format!("{at}/pointer"),
                    format!(
                        "{at}/pointer: {:?} is not a JSON pointer (one starts with /)",
                        entry.pointer
                    ),
                ));
            }
            if entry.reason.trim().is_empty() {
                return Err(invalid(
                    &format!("{at}/reason"),
                    format!("{at}/reason: an exception says why it is one"),
                ));
            }
            entries.push(entry);
        }
        Ok(Exceptions {
            file: file.to_string(),
            entries,
        })
    }

    /// Moves the changes of one cassette's run that an exception covers to the excepted ones,
    /// marking in `used` (by entry) the exceptions that covered something.
    pub(super) fn apply(&self, cassette: &mut CassetteParity, used: &mut [bool]) {
        let name = file_name(&cassette.name);
        for checked in &mut cassette.checked {
            let mut kept = Vec::new();
            for change in std::mem::take(&mut checked.changes) {
                let covering = self.entries.iter().position(|e| {
                    e.cassette == name
                        && e.interaction == checked.index
                        && covers(&e.pointer, at(&change))
                });
                match covering {
                    Some(entry) => {
                        used[entry] = true;
                        checked.excepted.push(Excepted {
                            change,
                            reason: self.entries[entry].reason.clone(),
                        });
                    }
                    None => kept.push(change),
                }
            }
            if kept.is_empty() {
                checked.unified.clear();
            }
            checked.changes = kept;
        }
    }

    /// The exceptions for a cassette of the run (by file name) that covered nothing.
    pub(super) fn stale(&self, ran: &[CassetteParity], used: &[bool]) -> Vec<Exception> {
        self.entries
            .iter()
            .zip(used)
            .filter(|(entry, used)| {
                !**used && ran.iter().any(|c| file_name(&c.name) == entry.cassette)
            })
            .map(|(entry, _)| entry.clone())
            .collect()
    }
}

/// The last part of a cassette's name (`cassettes/dns.json`, `<bundled>/dns.json`: `dns.json`).
fn file_name(name: &str) -> &str {
    name.rsplit(['/', '\\']).next().unwrap_or(name)
}

fn at(change: &Change) -> &str {
    match change {
        Change::Changed { at, .. } | Change::Added { at, .. } | Change::Removed { at, .. } => at,
    }
}

/// Whether the body pointer `pattern` (with `*` segments) covers a change at `at`: `at` is it
/// or below it. `status` and `content-type` are never covered.
fn covers(pattern: &str, at: &str) -> bool {
    if !(at.is_empty() || at.starts_with('/')) {
        return false;
    }
    let mut segments = at.split('/').skip(1);
    pattern.split('/').skip(1).all(|want| {
        segments
            .next()
            .is_some_and(|got| want == "*" || want == got)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pointer_covers_itself_and_below_with_stars_for_one_segment() {
        assert!(covers("/status", "/status/matchedCount"));
        assert!(covers("/status", "/status"));
        assert!(covers("/integrations/*/status", "/integrations/1/status/x"));
        assert!(covers("", "/anything"));
        assert!(!covers("/status", "/statusCode"));
        assert!(!covers("/a/b", "/a"));
        assert!(!covers("", "status"), "the HTTP status is never excepted");
    }

    #[test]
    fn a_bad_entry_is_placed_by_line_and_column() {
        let text = "[\n  {\"cassette\": \"dns.json\", \"interaction\": 5, \"pointer\": \"x\", \"reason\": \"r\"}\n]";
        let err = Exceptions::parse("ex.json", text).unwrap_err().to_string();
        assert!(err.starts_with("ex.json:2:"), "{err}");
        assert!(err.contains("/0/pointer"), "{err}");
        let text = "[{\"cassette\": \"dns.json\", \"interaction\": 5, \"pointer\": \"/x\"}]";
        let err = Exceptions::parse("ex.json", text).unwrap_err().to_string();
        assert!(err.contains("missing field `reason`"), "{err}");
        let text =
            "[{\"cassette\": \"d\", \"interaction\": 1, \"pointer\": \"\", \"reason\": \" \"}]";
        let err = Exceptions::parse("ex.json", text).unwrap_err().to_string();
        assert!(err.contains("says why"), "{err}");
    }
}
