//! `cargo bench --bench validate`: how fast `tailtape validate` gets through a large cassette,
//! compared with the floor set by the schema engine itself.
//!
//! It writes a 10,000-interaction cassette (device lists and device gets from the bundled
//! devices cassette), then times, interleaved, ROUNDS times each:
//! - bare: a loop calling `is_valid` on the same response bodies, already parsed, with the same
//!   compiled validators tailtape uses (the engine's own speed);
//! - tailtape: the whole `validate` run in-process (`validate::validate`, all but printing):
//!   compile the schemas, read the file, parse it, check it against the cassette format, and
//!   check every request and response.
//! - bare parse+validate: the same loop, each body first parsed from its compact JSON text:
//!   the least any tool reading bodies from text must do, for context;
//!
//! and prints the medians and both ratios (goals: tailtape at least 0.5 of bare, and at least
//! 1.0 of bare parse+validate). It also times the built binary once, start-up included, for a
//! user's view.

use std::path::PathBuf;
use std::time::{Duration, Instant};

// The same allocator as the binary, so both loops run as they would in `tailtape`.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use bytes::Bytes;
use serde_json::Value;
use tailtape::body::Body;
use tailtape::cassette::{self, Cassette, Interaction};
use tailtape::cli::{Format, SchemasDir, ValidateArgs};
use tailtape::json::{Doc, Tape};
use tailtape::schema::Contract;
use tailtape::validate;

const INTERACTIONS: usize = 10_000;
const ROUNDS: usize = 7;

fn main() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("large.json");
    let cassette = generate();
    std::fs::write(&path, cassette.to_canonical_string()).expect("write the cassette");
    let size_mb = std::fs::metadata(&path).unwrap().len() as f64 / 1e6;

    let contract = Contract::load(None).expect("schemas");
    let list = contract
        .validator("device.json#/$defs/DeviceList")
        .expect("DeviceList");
    let device = contract
        .validator("device.json#/$defs/Device")
        .expect("Device");
    let bodies: Vec<(&jsonschema::Validator, &Value)> = cassette
        .interactions
        .iter()
        .map(|i| match &i.response.body {
            Body::Json(v) if v.get("devices").is_some() => (list, v),
            Body::Json(v) => (device, v),
            _ => unreachable!("generated bodies are JSON"),
        })
        .collect();

    let args = ValidateArgs {
        paths: vec![path.clone()],
        schemas: SchemasDir { dir: None },
        format: Format::Json,
        strict: true,
        junit: None,
    };
    let texts: Vec<(&jsonschema::Validator, String)> = bodies
        .iter()
        .map(|(v, body)| (*v, body.to_string()))
        .collect();

    let tape_validators = contract.body_validators::<Tape>().expect("schemas");
    let tape_texts: Vec<(&jsonschema::Validator<Tape>, Bytes)> = bodies
        .iter()
        .map(|(v, body)| {
            let reference = if std::ptr::eq(*v, list) {
                "device.json#/$defs/DeviceList"
            } else {
                "device.json#/$defs/Device"
            };
            (&tape_validators[reference], Bytes::from(body.to_string()))
        })
        .collect();
    let docs: Vec<(&jsonschema::Validator<Tape>, Doc)> = tape_texts
        .iter()
        .map(|(v, text)| (*v, Doc::parse(text.clone()).unwrap()))
        .collect();

    let mut bare = Vec::new();
    let mut bare_parse = Vec::new();
    let mut tape_parse = Vec::new();
    let mut tape = Vec::new();
    let mut full = Vec::new();
    for _ in 0..ROUNDS {
        bare_parse.push(time(|| {
            let valid = texts
                .iter()
                .filter(|(v, text)| v.is_valid(&serde_json::from_str::<Value>(text).unwrap()))
                .count();
            assert_eq!(valid, INTERACTIONS);
        }));
        tape_parse.push(time(|| {
            let valid = tape_texts
                .iter()
                .filter(|(v, text)| v.is_valid(Doc::parse(text.clone()).unwrap().root()))
                .count();
            assert_eq!(valid, INTERACTIONS);
        }));
        tape.push(time(|| {
            let valid = docs
                .iter()
                .filter(|(v, doc)| v.is_valid(doc.root()))
                .count();
            assert_eq!(valid, INTERACTIONS);
        }));
        bare.push(time(|| {
            let valid = bodies.iter().filter(|(v, body)| v.is_valid(body)).count();
            assert_eq!(valid, INTERACTIONS);
        }));
        full.push(time(|| {
            let report = validate::validate(&args).expect("validate");
            assert_eq!(report.summary.interactions, INTERACTIONS);
            assert_eq!(report.summary.errors + report.summary.warnings, 0);
        }));
    }
    let (bare, bare_parse, full) = (median(bare), median(bare_parse), median(full));
    let (tape, tape_parse) = (median(tape), median(tape_parse));
    println!(
        "tape (tailtape::json::Doc): is_valid on parsed docs {:.1} ms ({:.2}x the Value loop); \
         parse+is_valid {:.1} ms ({:.2}x from_str+is_valid)",
        ms(tape),
        bare.as_secs_f64() / tape.as_secs_f64(),
        ms(tape_parse),
        bare_parse.as_secs_f64() / tape_parse.as_secs_f64()
    );
    let per_sec = |d: Duration| INTERACTIONS as f64 / d.as_secs_f64();
    println!(
        "cassette: {INTERACTIONS} interactions, {size_mb:.1} MB; median of {ROUNDS} interleaved rounds"
    );
    println!(
        "bare loop (is_valid on parsed bodies): {:>9.0} bodies/s  ({:.1} ms)",
        per_sec(bare),
        ms(bare)
    );
    println!(
        "tailtape validate (load+parse+check):  {:>9.0} interactions/s  ({:.1} ms)",
        per_sec(full),
        ms(full)
    );
    println!(
        "bare parse+validate (from_str+is_valid): {:>9.0} bodies/s  ({:.1} ms)",
        per_sec(bare_parse),
        ms(bare_parse)
    );
    println!(
        "ratio tailtape/bare: {:.2} (goal >= 0.50)",
        bare.as_secs_f64() / full.as_secs_f64()
    );
    println!(
        "ratio tailtape/bare parse+validate: {:.2} (goal >= 1.00)",
        bare_parse.as_secs_f64() / full.as_secs_f64()
    );

    let binary = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/release/tailtape");
    if binary.exists() {
        let started = Instant::now();
        let status = std::process::Command::new(&binary)
            .args(["validate", path.to_str().unwrap()])
            .stdout(std::process::Stdio::null())
            .status()
            .expect("run the binary");
        println!(
            "binary run ({}): {:.1} ms, {status}",
            binary.display(),
            ms(started.elapsed())
        );
    }
}

/// Alternating device lists (`fields=all`) and device gets, taken from the bundled cassette.
fn generate() -> Cassette {
    let bundled = tailtape::embedded::CASSETTES
        .iter()
        .find(|(name, _)| *name == "devices.json")
        .expect("bundled devices.json");
    let source = cassette::parse("devices.json", bundled.1).expect("bundled cassette loads");
    let pick = |path: &str, query: &str| -> Interaction {
        source
            .interactions
            .iter()
            .find(|i| {
                i.request.path == path
                    && i.request.query.as_deref() == Some(query)
                    && i.response.status == 200
            })
            .expect("a bundled interaction")
            .clone()
    };
    let list = pick("/api/v2/tailnet/-/devices", "fields=all");
    let get = pick("/api/v2/device/nK7Pq3aCNTRL", "fields=all");
    let interactions = (0..INTERACTIONS)
        .map(|i| {
            if i % 2 == 0 {
                list.clone()
            } else {
                get.clone()
            }
        })
        .collect();
    Cassette {
        interactions,
        ..source
    }
}

fn time(f: impl FnOnce()) -> Duration {
    let started = Instant::now();
    f();
    started.elapsed()
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}
