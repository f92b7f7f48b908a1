//! `tailtape emulate` on the command line: read the seed, listen, print the base URL as the
//! first line of stdout, serve until SIGINT or SIGTERM, then write `--report`. The server is
//! the emulator behind its fault plan (`--faults`, `--latency`; see `faults/`), as replay's is.

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;

use super::{Emulator, Options, seed};
use crate::cli::EmulateArgs;
use crate::faults::Faults;
use crate::schema::Contract;
use crate::{http, log, report};

pub fn command(args: &EmulateArgs) -> anyhow::Result<ExitCode> {
    if let Some(path) = &args.report {
        report::ensure_writable(path)?;
    }
    let setup = args.faults.setup()?;
    let contract = Contract::load(args.schemas.dir.as_deref())?;
    let (seed, what) = match &args.seed {
        Some(path) => (seed::load(path)?, path.display().to_string()),
        None => (seed::example(), "the bundled example tailnet".to_string()),
    };
    let name = seed.name.clone();
    let emulator = Arc::new(Emulator::new(
        contract,
        seed,
        Options {
            enforce: args.enforce,
        },
    ));
    let what = format!("tailtape emulate: {name} from {what}");
    let faults = Arc::new(Faults::new(Arc::clone(&emulator), setup));
    http::run_until_signal(
        &args.listen,
        Arc::clone(&faults),
        args.server.timeouts(),
        &what,
    )?;
    let report = emulator.report(None);
    if let Some(path) = &args.report {
        faults
            .write_report(&report, path)
            .with_context(|| format!("cannot write the report to {}", path.display()))?;
    }
    let account = faults.account();
    if !account.is_empty() {
        log::info(account.summary_line());
    }
    let s = &report.summary;
    log::info(format!(
        "{} without a session, {} named; {}, {}, {}",
        log::count(s.requests as usize, "request"),
        log::count(report.sessions.len(), "session"),
        log::count(s.errors, "error"),
        log::count(s.warnings, "warning"),
        log::count(s.faults, "emulator fault"),
    ));
    Ok(ExitCode::SUCCESS)
}
