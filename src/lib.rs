//! tailtape: a record/replay contract-test harness for the Tailscale HTTP API v2.
//!
//! The binary is a thin shell over [`run`], so tests drive the whole program in-process. Each
//! module owns one thing:
//!
//! - the cassette format: [`cassette`] (types, read, write), [`body`] (JSON, HuJSON, text, bytes),
//!   [`json`] (JSON read in place, for the hot paths);
//! - the contract: [`routes`] (the operation table), [`schema`] (compiled once; checks produce
//!   [`finding`]s), [`embedded`] (`schemas/` and `cassettes/` built into the binary);
//! - the commands: [`validate`], [`replay`] (with [`matching`] and its journal, [`report`]),
//!   [`record`] (with [`redact`]), [`close`] (cassettes a killed recorder left open),
//!   [`coverage`], [`diff`], [`openapi`] (`schemas openapi`), [`emulate`] (a stateful fake
//!   tailnet, one module per resource, and `seed`), [`parity`] (a cassette re-sent to a live
//!   server), [`pseudonymise`] (a recording made shareable, also inside `record`); [`faults`]
//!   (fault plans in front of a server's handler);
//! - shared plumbing: [`http`] (serving), [`control`] (the `/__tailtape/` endpoints), [`log`]
//!   (stderr), [`junit`], and the private `style` (colour), `progress`, `locate` (line and
//!   column of a JSON pointer) and `wire` (answers on the wire, cut on purpose by [`faults`]).

pub mod body;
pub mod cassette;
pub mod cli;
pub mod close;
pub mod control;
pub mod coverage;
pub mod decode;
pub mod diff;
pub mod document;
pub mod embedded;
pub mod emulate;
pub mod faults;
pub mod finding;
pub mod http;
pub mod json;
pub mod junit;
mod locate;
pub mod log;
pub mod matching;
pub mod openapi;
pub mod parity;
mod progress;
pub mod pseudonymise;
pub mod record;
pub mod redact;
pub mod replay;
pub mod report;
pub mod routes;
pub mod schema;
mod style;
pub mod validate;
mod wire;

use std::process::ExitCode;

pub use cli::Cli;

/// The README's Rust example runs as a doctest (`cargo test --doc`), so that it stays true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;

use cli::{Command, SchemasCommand};

/// Runs one command. `Ok` carries the exit code for a finished run (0 pass, 1 contract failed);
/// an `Err` is bad usage or bad input, which `main` reports and exits with 2.
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    log::init(cli.command.name(), &cli.log);
    match cli.command {
        Command::Validate(args) => validate::command(&args),
        Command::Replay(args) => replay::command(&args),
        Command::Record(args) => record::command(&args),
        Command::Coverage(args) => coverage::command(&args),
        Command::Diff(args) => diff::command(&args),
        Command::Close(args) => close::command(&args),
        Command::Parity(args) => parity::command(&args),
        Command::Emulate(args) => emulate::command(&args),
        Command::Seed(args) => emulate::seed_command(&args),
        Command::Pseudonymise(args) => pseudonymise::command(&args),
        Command::Schemas {
            command: SchemasCommand::List { schemas },
        } => {
            let contract = schema::Contract::load(schemas.dir.as_deref())?;
            print!("{}", contract.table().listing());
            Ok(ExitCode::SUCCESS)
        }
        Command::Schemas {
            command: SchemasCommand::Openapi { schemas },
        } => {
            let contract = schema::Contract::load(schemas.dir.as_deref())?;
            println!(
                "{}",
                serde_json::to_string_pretty(&openapi::document(&contract))?
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}
