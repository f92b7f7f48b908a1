//! `tailtape parity` on the command line: the cassettes and options from [`ParityArgs`], the
//! run, then per cassette `same` or each differing interaction's changes as diff prints them,
//! a summary line (or the outcome as JSON), the `--junit` file (a test case per interaction),
//! and the exit code: 0 the target answered as recorded, 1 it did not.

use std::fmt::Write as _;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;

use super::{Options, Outcome, run};
use crate::cli::{Format, ParityArgs};
use crate::diff::{Change, write_changes};
use crate::junit::{self, Case};
use crate::{cassette, log, report, style};

pub fn command(args: &ParityArgs) -> anyhow::Result<ExitCode> {
    if let Some(path) = &args.junit {
        report::ensure_writable(path)?;
    }
    let sources = cassette::sources(&args.paths, true)?;
    let options = Options {
        against: args.against.clone(),
        ignore: args.ignore.clone(),
        authorization: args.authorization.clone(),
        timeout: Duration::from_secs(args.timeout),
    };
    let outcome = run(&sources, &options)?;
    if !outcome.reset {
        log::warn(format!(
            "{} is not a tailtape server: nothing was reset, and the requests made real changes \
             there",
            outcome.target
        ));
    }
    match args.format {
        Format::Human => style::print(&to_human(&outcome)),
        Format::Json => println!("{}", serde_json::to_string_pretty(&outcome.to_json())?),
    }
    if let Some(path) = &args.junit {
        junit::write(path, "tailtape parity", &junit_cases(&outcome), &[])
            .with_context(|| format!("cannot write the JUnit report to {}", path.display()))?;
    }
    Ok(if outcome.is_same() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// The outcome for a person: whether the target was reset, then per cassette `same` or its
/// differing interactions, then the totals.
pub fn to_human(outcome: &Outcome) -> String {
    let mut out = String::new();
    let reset = if outcome.reset {
        "a tailtape server, reset (POST /__tailtape/reset) before each cassette"
    } else {
        "not a tailtape server, not reset"
    };
    let _ = writeln!(out, "parity against {}: {reset}", outcome.target);
    for cassette in &outcome.cassettes {
        let total = log::count(cassette.checked.len(), "interaction");
        let mapped = match cassette.mapped {
            0 => String::new(),
            n => format!(", {} mapped", log::count(n, "generated value")),
        };
        let differing = cassette.differing().count();
        if differing == 0 {
            let _ = writeln!(
                out,
                "{}: {} ({total}{mapped})",
                cassette.name,
                style::good("same")
            );
            continue;
        }
        let _ = writeln!(
            out,
            "{}",
            style::heading(&format!(
                "{}: {differing} of {total} differ{mapped}",
                cassette.name
            ))
        );
        for checked in cassette.differing() {
            let _ = writeln!(out, "#{} {}", checked.index, checked.request);
            write_changes(&mut out, &checked.changes, &checked.unified);
        }
    }
    let _ = writeln!(
        out,
        "{} compared in {}: {} same, {} differ",
        log::count(outcome.interactions(), "interaction"),
        log::count(outcome.cassettes.len(), "cassette"),
        outcome.interactions() - outcome.differing(),
        outcome.differing()
    );
    out
}

/// A test case per interaction; a differing one fails with its changes as the message.
fn junit_cases(outcome: &Outcome) -> Vec<Case> {
    let mut cases = Vec::new();
    for cassette in &outcome.cassettes {
        for checked in &cassette.checked {
            let failure = (!checked.changes.is_empty()).then(|| {
                checked
                    .changes
                    .iter()
                    .map(Change::to_string)
                    .collect::<Vec<_>>()
                    .join("\n")
            });
            cases.push(Case {
                cassette: cassette.name.clone(),
                interaction: checked.index,
                request: checked.request.clone(),
                failure,
            });
        }
    }
    cases
}
