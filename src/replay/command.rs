//! `tailtape replay` on the command line: load, listen, print the base URL as the first line of
//! stdout, serve until SIGINT or SIGTERM, then write `--report` and set the exit code.

use std::io::Write;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;

use super::{Options, Replay, serve};
use crate::cli::ReplayArgs;
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

    runtime.block_on(serve(listener, Arc::clone(&replay), stop_signal()));

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

/// Completes on SIGINT or SIGTERM.
async fn stop_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(signal) => signal,
                Err(_) => {
                    let _ = interrupt.await;
                    return;
                }
            };
        tokio::select! {
            _ = interrupt => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = interrupt.await;
    }
}
