//! Seeds: the JSON document a tailnet starts from (`seeds/README.md` documents it). A seed is
//! checked against `schemas/seed.schema.json` and then read into [`Tailnet`]; a bad one is an
//! error naming the file, line, column and reason (the command exits 2). The bundled example
//! tailnet, the one the bundled cassettes describe, is compiled in.

use std::path::Path;
use std::sync::OnceLock;

use serde_json::Value;

use super::state::Tailnet;
use crate::document::{self, Document, DocumentError};
use crate::embedded;

/// The bundled example tailnet (`seeds/example.json`).
pub const EXAMPLE: &str = include_str!("../../seeds/example.json");

/// A seed that cannot be used.
pub type SeedError = DocumentError;

/// The bundled example tailnet.
pub fn example() -> Tailnet {
    parse("seeds/example.json", EXAMPLE).expect("the bundled seed is valid")
}

/// Reads the seed at `path`.
pub fn load(path: &Path) -> Result<Tailnet, SeedError> {
    let (file, text) = document::read(path)?;
    parse(&file, &text)
}

/// Checks and reads a seed's text; `file` names it in errors.
pub fn parse(file: &str, text: &str) -> Result<Tailnet, SeedError> {
    let document = Document { file, text };
    let value = document.json()?;
    if let Some(error) = validator().iter_errors(&value).next() {
        let pointer = error.instance_path().to_string();
        let at = if pointer.is_empty() { "/" } else { &pointer };
        let message = format!("{at}: {error} (schemas/seed.schema.json)");
        return Err(document.invalid(&pointer, message));
    }
    serde_json::from_str(text).map_err(|e| {
        let message = e.to_string();
        let message = message.split(" at line ").next().unwrap_or(&message);
        document.invalid_at(e.line(), e.column(), message.to_string())
    })
}

fn validator() -> &'static jsonschema::Validator {
    static VALIDATOR: OnceLock<jsonschema::Validator> = OnceLock::new();
    VALIDATOR.get_or_init(|| {
        let text = embedded::schema_file("seed.schema.json").expect("the seed schema is embedded");
        let schema: Value = serde_json::from_str(text).expect("the seed schema is JSON");
        jsonschema::options()
            .should_validate_formats(true)
            .build(&schema)
            .expect("the seed schema compiles")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bundled_seed_is_valid() {
        let tailnet = example();
        assert_eq!(tailnet.name, "example.com");
        assert!(!tailnet.devices.is_empty());
    }

    #[test]
    fn a_seed_breaking_its_schema_is_placed_by_line_and_column() {
        let text = EXAMPLE.replace("\"numericId\": 22011", "\"numericId\": \"22011\"");
        let line = text
            .lines()
            .position(|l| l.contains("\"numericId\""))
            .unwrap()
            + 1;
        let err = parse("bad.json", &text).unwrap_err().to_string();
        assert!(
            err.starts_with(&format!("bad.json:{line}:18: /account/numericId")),
            "{err}"
        );
    }
}
