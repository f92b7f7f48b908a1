//! The contract: the operation table plus every JSON Schema it names, compiled once per run.
//! Schema files live under `schemas/` (embedded) or a `--schemas DIR`; each is registered
//! under `https://tailtape.invalid/schemas/<path>` so `$ref`s between files resolve offline.
//!
//! This file loads and compiles; `check.rs` checks exchanges against what it compiled.

mod check;

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::OnceLock;

use jsonschema::json::{Json, SerdeJson};
use jsonschema::{Registry, Validator};
use serde_json::{Value, json};

pub use check::Place;
pub(crate) use check::truncate;

use crate::embedded;
use crate::json::Tape;
use crate::routes::OperationTable;

const BASE_URI: &str = "https://tailtape.invalid/schemas/";
const TABLE_FILE: &str = "operations.json";

#[derive(Debug, thiserror::Error)]
#[error("schemas: {file}: {message}")]
pub struct SchemaError {
    pub file: String,
    pub message: String,
}

pub struct Contract {
    table: OperationTable,
    /// The schema files as read, by path (`device.json`), for exporting them.
    documents: BTreeMap<String, Value>,
    /// Body validators by schema reference (`device.json#/$defs/Device`).
    bodies: HashMap<String, Validator>,
    /// Parameter validators of each operation, by [`Operation::index`].
    params: Vec<ParamValidators>,
    /// Body validators for [`crate::json::Doc`]s (what the recorder reads off the wire),
    /// compiled at the first one.
    tape_bodies: OnceLock<HashMap<String, Validator<Tape>>>,
}

/// The compiled schemas of one operation's parameters, by name.
#[derive(Default)]
struct ParamValidators {
    path: HashMap<String, Validator>,
    query: HashMap<String, Validator>,
}

impl Contract {
    /// Loads and compiles the schemas from `dir`, or the embedded ones.
    pub fn load(dir: Option<&Path>) -> Result<Self, SchemaError> {
        match dir {
            None => Self::from_files(
                embedded::SCHEMAS
                    .iter()
                    .map(|(p, t)| (p.to_string(), t.to_string()))
                    .collect(),
            ),
            Some(dir) => {
                let mut files = Vec::new();
                read_dir_json(dir, dir, &mut files)?;
                Self::from_files(files)
            }
        }
    }

    /// Compiles schemas given as (path relative to the schema folder, text).
    pub fn from_files(files: Vec<(String, String)>) -> Result<Self, SchemaError> {
        let error = |file: &str, message: String| SchemaError {
            file: file.to_string(),
            message,
        };
        let mut documents = BTreeMap::new();
        let mut table_text = None;
        for (path, text) in files {
            if path == TABLE_FILE {
                table_text = Some(text);
                continue;
            }
            let value: Value =
                serde_json::from_str(&text).map_err(|e| error(&path, e.to_string()))?;
            documents.insert(path, value);
        }
        let table_text = table_text.ok_or_else(|| error(TABLE_FILE, "missing".into()))?;
        let table = OperationTable::from_json(&table_text).map_err(|m| error(TABLE_FILE, m))?;
        let registry = registry(&documents).map_err(|m| error("(registry)", m))?;
        let compile = |schema: &Value| compile::<SerdeJson>(&registry, schema);

        let bodies = compile_bodies(&table, &registry).map_err(|m| error(TABLE_FILE, m))?;
        let mut params = Vec::new();
        for op in table.operations() {
            let mut compiled = ParamValidators::default();
            for (name, spec) in &op.params {
                let validator = compile(&spec.schema).map_err(|e| {
                    error(TABLE_FILE, format!("{} path parameter {name}: {e}", op.id))
                })?;
                compiled.path.insert(name.clone(), validator);
            }
            for (name, spec) in &op.query {
                let validator = compile(&spec.schema).map_err(|e| {
                    error(TABLE_FILE, format!("{} query parameter {name}: {e}", op.id))
                })?;
                compiled.query.insert(name.clone(), validator);
            }
            params.push(compiled);
        }
        // The validators own what they need; the registry only borrows the documents.
        drop(registry);
        Ok(Self {
            table,
            documents,
            bodies,
            params,
            tape_bodies: OnceLock::new(),
        })
    }

    pub fn table(&self) -> &OperationTable {
        &self.table
    }

    /// The schema files as read (`operations.json` aside), by path.
    pub fn documents(&self) -> &BTreeMap<String, Value> {
        &self.documents
    }

    /// The compiled validator for a schema reference of the table.
    pub fn validator(&self, reference: &str) -> Option<&Validator> {
        self.bodies.get(reference)
    }

    /// The validator of a schema reference for [`crate::json::Doc`]s; `None` if the schemas
    /// could not be compiled for them (the caller validates a `Value` instead).
    pub fn tape_validator(&self, reference: &str) -> Option<&Validator<Tape>> {
        self.tape_validators().get(reference)
    }

    /// Compiles the validators for [`crate::json::Doc`]s now (the recorder, at start) rather
    /// than at the first document checked.
    pub fn tape_validators(&self) -> &HashMap<String, Validator<Tape>> {
        self.tape_bodies
            .get_or_init(|| self.body_validators::<Tape>().unwrap_or_default())
    }

    /// The body validators compiled again for another JSON representation, by reference.
    pub fn body_validators<F: Json>(&self) -> Result<HashMap<String, Validator<F>>, SchemaError> {
        let error = |message| SchemaError {
            file: TABLE_FILE.into(),
            message,
        };
        let registry = registry(&self.documents).map_err(error)?;
        compile_bodies(&self.table, &registry).map_err(error)
    }
}

/// Every schema file registered under its URI, so that `$ref`s between files resolve offline.
fn registry(documents: &BTreeMap<String, Value>) -> Result<Registry<'_>, String> {
    Registry::new()
        .extend(
            documents
                .iter()
                .map(|(path, value)| (format!("{BASE_URI}{path}"), value)),
        )
        .and_then(|b| b.prepare())
        .map_err(|e| e.to_string())
}

fn compile<F: Json>(
    registry: &Registry<'_>,
    schema: &Value,
) -> Result<Validator<F>, jsonschema::ValidationError<'static>> {
    jsonschema::options_for::<F>()
        .offline()
        .with_base_uri(BASE_URI)
        .with_registry(registry)
        .should_validate_formats(true)
        .build(schema)
}

/// A validator per body schema the table names, by reference.
fn compile_bodies<F: Json>(
    table: &OperationTable,
    registry: &Registry<'_>,
) -> Result<HashMap<String, Validator<F>>, String> {
    let mut bodies = HashMap::new();
    for reference in table.body_specs().filter_map(|s| s.schema.as_deref()) {
        if !bodies.contains_key(reference) {
            let validator = compile(registry, &json!({ "$ref": reference }))
                .map_err(|e| format!("schema {reference}: {e}"))?;
            bodies.insert(reference.to_string(), validator);
        }
    }
    Ok(bodies)
}

fn read_dir_json(
    root: &Path,
    dir: &Path,
    out: &mut Vec<(String, String)>,
) -> Result<(), SchemaError> {
    let error = |path: &Path, e: std::io::Error| SchemaError {
        file: path.display().to_string(),
        message: e.to_string(),
    };
    for entry in std::fs::read_dir(dir).map_err(|e| error(dir, e))? {
        let path = entry.map_err(|e| error(dir, e))?.path();
        if path.is_dir() {
            read_dir_json(root, &path, out)?;
        } else if path.extension().is_some_and(|e| e == "json") {
            let rel = path
                .strip_prefix(root)
                .unwrap_or(&path)
                .to_string_lossy()
                .replace('\\', "/");
            let text = std::fs::read_to_string(&path).map_err(|e| error(&path, e))?;
            out.push((rel, text));
        }
    }
    Ok(())
}
