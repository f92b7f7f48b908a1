//! `tailtape replay` on the command line: load, listen, print the base URL as the first line of
//! stdout, serve until SIGINT or SIGTERM, then write `--report` and set the exit code.

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;

use super::{Options, Replay};
use crate::cli::ReplayArgs;
use crate::http;
use crate::junit;
use crate::report;

pub fn command(args: &ReplayArgs) -> anyhow::Result<ExitCode> {
    for path in args.report.iter().chain(&args.junit) {
        report::ensure_writable(path)?;
    }
    let options = Options {
        strict: args.strict,
        enforce: args.enforce,
    };
    let replay = Arc::new(Replay::load(
        &args.paths,
        args.schemas.dir.as_deref(),
        options,
    )?);

    let what = format!(
        "tailtape replay: {} interactions from {} cassettes",
        replay.interaction_count(),
        replay.cassette_count()
    );
    http::run_until_signal(
        &args.listen,
        Arc::clone(&replay),
        args.server.timeouts(),
        &what,
    )?;

    let report = replay.report();
    if let Some(path) = &args.report {
        std::fs::write(path, report.to_json())
            .with_context(|| format!("cannot write the report to {}", path.display()))?;
    }
    if let Some(path) = &args.junit {
        junit::write(
            path,
            "tailtape replay",
            &replay.junit_cases(),
            &report.findings,
        )
        .with_context(|| format!("cannot write the JUnit report to {}", path.display()))?;
    }
    let s = &report.summary;
    eprintln!(
        "tailtape replay: {} requests, {} matched, {} unmatched, {} interactions unused, {} errors, {} warnings",
        s.requests, s.matched, s.unmatched, s.unused, s.errors, s.warnings
    );
    Ok(if args.strict && !report.is_clean() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
