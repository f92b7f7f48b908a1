//! `tailtape replay` on the command line: load, listen, print the base URL as the first line of
//! stdout, serve until SIGINT or SIGTERM, then write `--report` and set the exit code.

use std::io::Write;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;

use super::{Options, Replay, serve};
use crate::cli::ReplayArgs;
use crate::http;
use crate::junit;

pub fn command(args: &ReplayArgs) -> anyhow::Result<ExitCode> {
    let options = Options {
        strict: args.strict,
        enforce: args.enforce,
    };
    let replay = Arc::new(Replay::load(
        &args.paths,
        args.schemas.dir.as_deref(),
        options,
    )?);

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind(&args.listen))
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let addr = listener.local_addr()?;
    let mut stdout = std::io::stdout();
    writeln!(
        stdout,
        "tailtape replay: {} interactions from {} cassettes on http://{addr}",
        replay.interaction_count(),
        replay.cassette_count()
    )?;
    stdout.flush()?;

    runtime.block_on(serve(listener, Arc::clone(&replay), http::stop_signal()));

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
