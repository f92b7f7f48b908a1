//! Cassette format version 1 (DESIGN.md): one JSON file of recorded exchanges. This module
//! holds the types and finds cassettes (files, directories, the bundled set); `read` checks and
//! parses them (errors carry file, line and column), `tape` reads a canonical cassette a chunk
//! at a time for validate and replay (leaving the rest to `read`), `write` prints the canonical form
//! (pretty, stable key order, so load-then-save of a canonical file is byte-identical);
//! `claim` guards the writing of a cassette file (regular files only, one writer at a time).

mod claim;
mod read;
mod strict;
mod tape;
mod write;

pub use claim::{Claim, ClaimError, Holds};
pub use read::{Ending, stream, stream_to_end};

use std::borrow::Cow;
use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use crate::body::Body;
use crate::embedded;

pub const FORMAT_VERSION: u64 = 1;

/// Header names (lower case) to one value each; repeated headers joined with ", ".
pub type Headers = BTreeMap<String, String>;

#[derive(Debug, Clone, PartialEq)]
pub struct Cassette {
    pub recorded: Recorded,
    pub interactions: Vec<Interaction>,
    /// Top-level fields this version does not define, kept as they are.
    pub extra: Map<String, Value>,
}

/// Where a cassette came from. `upstream` is `"docs"` for cassettes written from the docs.
#[derive(Debug, Clone, PartialEq)]
pub struct Recorded {
    pub at: Option<String>,
    pub upstream: String,
    pub by: Option<String>,
    pub extra: Map<String, Value>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Interaction {
    pub request: Request,
    pub response: Response,
    pub extra: Map<String, Value>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    pub method: String,
    pub path: String,
    /// The raw query string, without `?`.
    pub query: Option<String>,
    pub headers: Headers,
    pub body: Body,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Response {
    pub status: u16,
    pub headers: Headers,
    pub body: Body,
}

impl Request {
    /// The query as decoded key/value pairs, in order.
    pub fn query_pairs(&self) -> Vec<(String, String)> {
        parse_query(self.query.as_deref().unwrap_or(""))
    }
}

/// Decodes `application/x-www-form-urlencoded` text (a query string or a form body) into
/// key/value pairs, in order: `+` is a space, `%XX` a byte.
pub fn parse_query(text: &str) -> Vec<(String, String)> {
    let decode = |s: &str| {
        let spaced = match s.contains('+') {
            true => std::borrow::Cow::Owned(s.replace('+', " ")),
            false => std::borrow::Cow::Borrowed(s),
        };
        percent_encoding::percent_decode_str(&spaced)
            .decode_utf8_lossy()
            .into_owned()
    };
    text.split('&')
        .filter(|part| !part.is_empty())
        .map(|part| {
            let (k, v) = part.split_once('=').unwrap_or((part, ""));
            (decode(k), decode(v))
        })
        .collect()
}

/// The `content-type` without parameters, lower case (`application/json`).
pub fn media_type(headers: &Headers) -> Option<String> {
    let value = headers.get("content-type")?;
    let essence = value.split(';').next().unwrap_or("").trim();
    Some(essence.to_ascii_lowercase())
}

/// A cassette that cannot be used, with enough to find the problem.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("{file}: {error}")]
    Io { file: String, error: std::io::Error },
    #[error("{file}:{line}:{column}: {message}")]
    Invalid {
        file: String,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("{dir}: no cassettes (*.json) in this directory")]
    NoCassettes { dir: String },
}

/// A cassette to load: a file on disk or one of the bundled cassettes.
#[derive(Debug, Clone)]
pub enum Source {
    File(PathBuf),
    Bundled {
        name: &'static str,
        text: &'static str,
    },
}

impl Source {
    /// The name findings and errors use: the path as given, or `<bundled>/NAME`.
    pub fn name(&self) -> String {
        match self {
            Source::File(path) => path.display().to_string(),
            Source::Bundled { name, .. } => format!("<bundled>/{name}"),
        }
    }

    pub fn load(&self) -> Result<Cassette, LoadError> {
        match self {
            Source::File(path) => load(path),
            Source::Bundled { text, .. } => parse(&self.name(), text),
        }
    }

    /// Reads the cassette interaction by interaction, as [`stream`] does.
    pub fn stream(&self, each: impl FnMut(usize, Interaction)) -> Result<Cassette, LoadError> {
        let (cassette, ending) = self.stream_to_end(each)?;
        read::warn_if_cut(&self.name(), &ending);
        Ok(cassette)
    }

    /// Reads the cassette as [`stream_to_end`] does, saying how its text ended: a chunk at a
    /// time, by the tape reader (`tape.rs`).
    pub fn stream_to_end(
        &self,
        each: impl FnMut(usize, Interaction),
    ) -> Result<(Cassette, Ending), LoadError> {
        let name = self.name();
        match self {
            Source::File(path) => {
                let file = std::fs::File::open(path).map_err(|error| LoadError::Io {
                    file: name.clone(),
                    error,
                })?;
                tape::stream_to_end(&name, file, || read(path).map(Cow::Owned), each)
            }
            Source::Bundled { text, .. } => {
                tape::stream_to_end(&name, text.as_bytes(), || Ok(Cow::Borrowed(text)), each)
            }
        }
    }
}

/// The bundled cassettes, embedded in the binary.
pub fn bundled() -> Vec<Source> {
    embedded::CASSETTES
        .iter()
        .map(|(name, text)| Source::Bundled { name, text })
        .collect()
}

/// Expands the command-line arguments: files as given, directories searched (recursively,
/// following symbolic links) for `*.json` in sorted order; no argument means the bundled
/// cassettes. A directory is searched once however many links lead to it (a link loop ends
/// there), and a file reached twice is loaded once. A directory holding no cassette is an
/// error when `strict`, and otherwise a warning on stderr: a mistyped path must not pass as
/// "0 cassettes, no errors".
pub fn sources(paths: &[PathBuf], strict: bool) -> Result<Vec<Source>, LoadError> {
    if paths.is_empty() {
        return Ok(bundled());
    }
    let mut walk = Walk::default();
    let mut out = Vec::new();
    for path in paths {
        let io_err = |error| LoadError::Io {
            file: path.display().to_string(),
            error,
        };
        if std::fs::metadata(path).map_err(io_err)?.is_dir() {
            let mut found = Vec::new();
            walk.collect_json_files(path, &mut found).map_err(io_err)?;
            found.sort();
            found.retain(|file| walk.first_time(file));
            if found.is_empty() {
                let err = LoadError::NoCassettes {
                    dir: path.display().to_string(),
                };
                if strict {
                    return Err(err);
                }
                crate::log::warn(&err);
            }
            out.extend(found.into_iter().map(Source::File));
        } else if walk.first_time(path) {
            out.push(Source::File(path.clone()));
        }
    }
    Ok(out)
}

/// What a directory walk has seen, by canonical path.
#[derive(Default)]
struct Walk {
    dirs: HashSet<PathBuf>,
    files: HashSet<PathBuf>,
}

impl Walk {
    /// Whether `file` (by its canonical path; as given if it has none) was not seen before.
    fn first_time(&mut self, file: &Path) -> bool {
        let canonical = std::fs::canonicalize(file).unwrap_or_else(|_| file.to_path_buf());
        self.files.insert(canonical)
    }

    fn collect_json_files(&mut self, dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
        if !self.dirs.insert(std::fs::canonicalize(dir)?) {
            return Ok(());
        }
        for entry in std::fs::read_dir(dir)? {
            let path = entry?.path();
            if path.is_dir() {
                self.collect_json_files(&path, out)?;
            } else if path.extension().is_some_and(|e| e == "json") {
                out.push(path);
            }
        }
        Ok(())
    }
}

/// Reads and checks the cassette at `path`.
pub fn load(path: &Path) -> Result<Cassette, LoadError> {
    parse(&path.display().to_string(), &read(path)?)
}

fn read(path: &Path) -> Result<String, LoadError> {
    std::fs::read_to_string(path).map_err(|error| LoadError::Io {
        file: path.display().to_string(),
        error,
    })
}

/// Parses and checks a whole cassette; `file` names it in errors.
pub fn parse(file: &str, text: &str) -> Result<Cassette, LoadError> {
    let mut interactions = Vec::new();
    let mut cassette = stream(file, text, |_, interaction| interactions.push(interaction))?;
    cassette.interactions = interactions;
    Ok(cassette)
}

/// The request line (`GET /api/v2/...?query`) as logs and reports show it, `tskey-` tokens
/// masked: a client may put a key in a query.
impl fmt::Display for Request {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let line = match &self.query {
            Some(q) => format!("{} {}?{q}", self.method, self.path),
            None => format!("{} {}", self.method, self.path),
        };
        f.write_str(&crate::redact::mask_tokens(&line))
    }
}
