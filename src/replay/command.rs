//! `tailtape replay` on the command line: load, listen, print the base URL as the first line of
//! stdout, serve until SIGINT or SIGTERM, then write `--report` and set the exit code. The
//! server is the replay behind its fault plan (`--faults`, `--latency`; see `faults/`), whose
//! account joins the report, the JUnit file and `--strict`.

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;

use super::{Options, Replay};
use crate::cli::ReplayArgs;
use crate::faults::Faults;
use crate::http;
use crate::junit;
use crate::log;
use crate::report::{self, Summary};

pub fn command(args: &ReplayArgs) -> anyhow::Result<ExitCode> {
    for path in args.report.iter().chain(&args.junit) {
        report::ensure_writable(path)?;
    }
    let setup = args.faults.setup()?;
    let options = Options {
        strict: args.strict,
        enforce: args.enforce,
    };
    let replay = Arc::new(Replay::load(
        &args.paths,
        args.schemas.dir.as_deref(),
        options,
    )?);

    if log::debugging() {
        // What scripts/replay-memory compares with the resident memory.
        let (index, bookkeeping) = replay.index_bytes();
        let answers = replay.answer_bytes();
        log::debug(format!(
            "memory: matcher index {index} bytes, bookkeeping {bookkeeping} bytes; answers in \
             memory {} bytes ({}), in a temporary file {} bytes ({}); largest body {} bytes",
            answers.in_memory.1,
            answers.in_memory.0,
            answers.in_file.1,
            answers.in_file.0,
            answers.largest_body
        ));
    }
    let what = format!(
        "tailtape replay: {} from {}",
        log::count(replay.interaction_count(), "interaction"),
        log::count(replay.cassette_count(), "cassette")
    );
    let faults = Arc::new(Faults::new(Arc::clone(&replay), setup));
    http::run_until_signal(
        &args.listen,
        Arc::clone(&faults),
        args.server.timeouts(),
        &what,
    )?;

    let report = replay.report();
    let account = faults.account();
    if let Some(path) = &args.report {
        faults
            .write_report(&report, path)
            .with_context(|| format!("cannot write the report to {}", path.display()))?;
    }
    if let Some(path) = &args.junit {
        let mut cases = replay.junit_cases();
        cases.extend(account.junit_cases());
        junit::write(path, "tailtape replay", &cases, &report.all_findings())
            .with_context(|| format!("cannot write the JUnit report to {}", path.display()))?;
    }
    if !account.is_empty() {
        log::info(account.summary_line());
    }
    let s = &report.summary;
    if report.sessions.is_empty() {
        log::info(format!(
            "{}, {} matched, {} unmatched, {} unused, {}, {}",
            log::count(s.requests as usize, "request"),
            s.matched,
            s.unmatched,
            log::count(s.unused, "interaction"),
            log::count(s.errors, "error"),
            log::count(s.warnings, "warning")
        ));
    } else {
        let mut named = Summary::default();
        for part in report.sessions.values() {
            let p = &part.summary;
            named.requests += p.requests;
            named.matched += p.matched;
            named.unmatched += p.unmatched;
            named.errors += p.errors;
            named.warnings += p.warnings;
        }
        let counts = |s: &Summary| {
            format!(
                "{} matched, {} unmatched, {}, {}",
                s.matched,
                s.unmatched,
                log::count(s.errors, "error"),
                log::count(s.warnings, "warning")
            )
        };
        log::info(format!(
            "{} without a session ({}), {} in {} ({}); {} unused by all",
            log::count(s.requests as usize, "request"),
            counts(s),
            named.requests,
            log::count(report.sessions.len(), "session"),
            counts(&named),
            log::count(s.unused, "interaction")
        ));
    }
    Ok(
        if args.strict && !(report.is_clean() && account.is_clean()) {
            ExitCode::from(1)
        } else {
            ExitCode::SUCCESS
        },
    )
}
