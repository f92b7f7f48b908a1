//! tailtape: a record/replay contract-test harness for the Tailscale HTTP API v2.
//!
//! The binary is a thin shell over [`run`], so tests drive the whole program in-process. The
//! pieces, each in its own module: the cassette format ([`cassette`], bodies in [`body`]), the
//! operation table ([`routes`]), schema compilation and checks ([`schema`]) producing
//! [`finding`]s, the `validate` command ([`validate`]), and the fake API: request matching
//! ([`matching`]), the replay server ([`replay`]) and its journal ([`report`]). `schemas/` and `cassettes/` are
//! embedded at build time ([`embedded`]).

pub mod body;
pub mod cassette;
pub mod cli;
pub mod coverage;
pub mod diff;
pub mod embedded;
pub mod finding;
pub mod http;
pub mod junit;
mod locate;
pub mod matching;
pub mod openapi;
mod progress;
pub mod record;
pub mod redact;
pub mod replay;
pub mod report;
pub mod routes;
pub mod schema;
mod style;
pub mod validate;

use std::process::ExitCode;

pub use cli::Cli;

use cli::{Command, SchemasCommand};

/// Runs one command. `Ok` carries the exit code for a finished run (0 pass, 1 contract failed);
/// an `Err` is bad usage or bad input, which `main` reports and exits with 2.
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Validate(args) => validate::command(&args),
        Command::Replay(args) => replay::command(&args),
        Command::Record(args) => record::command(&args),
        Command::Coverage(args) => coverage::command(&args),
        Command::Diff(args) => diff::command(&args),
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
