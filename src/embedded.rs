//! The files compiled into the binary: the schemas (`schemas/`) and the bundled cassettes
//! (`cassettes/`), as (path relative to that folder, contents) pairs sorted by path.
//! `build.rs` generates the tables.

include!(concat!(env!("OUT_DIR"), "/embedded.rs"));

/// The embedded schema file at `path` (relative to `schemas/`).
pub fn schema_file(path: &str) -> Option<&'static str> {
    SCHEMAS
        .iter()
        .find(|(p, _)| *p == path)
        .map(|(_, text)| *text)
}
