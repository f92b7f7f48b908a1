//! `tailtape parity` on the command line: the cassettes and options from [`ParityArgs`], the
//! run, then per cassette `same` or each differing interaction's changes as diff prints them,
//! the changes `--exceptions` covers as `excepted: REASON`, a summary line and any stale
//! exception (or the outcome as JSON), the `--junit` file (a test case per interaction), and
//! the exit code: 0 the target answered as recorded (or as excepted), 1 it did not or an
//! exception is stale.

use std::fmt::Write as _;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;

use super::{Checked, Exceptions, Options, Outcome, run};
use crate::cli::{Format, ParityArgs};
use crate::diff::{Change, write_changes};
use crate::junit::{self, Case};
use crate::{cassette, log, report, style};

pub fn command(args: &ParityArgs) -> anyhow::Result<ExitCode> {
    if let Some(path) = &args.junit {
        report::ensure_writable(path)?;
    }
    let sources = cassette::sources(&args.paths, true)?;
    let exceptions = match &args.exceptions {
        Some(path) => Exceptions::load(path)?,
        None => Exceptions::default(),
    };
    let options = Options {
        against: args.against.clone(),
        ignore: args.ignore.clone(),
        authorization: args.authorization.clone(),
        timeout: Duration::from_secs(args.timeout),
        exceptions,
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
        let excepted = match cassette.excepted().count() {
            0 => String::new(),
            n => format!(", {n} excepted"),
        };
        if differing == 0 {
            let _ = writeln!(
                out,
                "{}: {} ({total}{excepted}{mapped})",
                cassette.name,
                style::good("same")
            );
            for checked in cassette.excepted() {
                let _ = writeln!(out, "#{} {}", checked.index, checked.request);
                write_excepted(&mut out, checked);
            }
            continue;
        }
        let _ = writeln!(
            out,
            "{}",
            style::heading(&format!(
                "{}: {differing} of {total} differ{excepted}{mapped}",
                cassette.name
            ))
        );
        for checked in cassette
            .checked
            .iter()
            .filter(|c| !c.changes.is_empty() || !c.excepted.is_empty())
        {
            let _ = writeln!(out, "#{} {}", checked.index, checked.request);
            write_excepted(&mut out, checked);
            write_changes(&mut out, &checked.changes, &checked.unified);
        }
    }
    let excepted = match outcome.excepted() {
        0 => String::new(),
        n => format!(", {n} excepted"),
    };
    let _ = writeln!(
        out,
        "{} compared in {}: {} same, {} differ{excepted}",
        log::count(outcome.interactions(), "interaction"),
        log::count(outcome.cassettes.len(), "cassette"),
        outcome.interactions() - outcome.differing() - outcome.excepted(),
        outcome.differing()
    );
    if let Some(file) = &outcome.exceptions
        && !outcome.stale.is_empty()
    {
        let _ = writeln!(
            out,
            "{}",
            style::bad(&format!(
                "{}: {} covered nothing (the target now answers as recorded there, or the \
                 recording changed): remove {}",
                file,
                log::count(outcome.stale.len(), "stale exception"),
                if outcome.stale.len() == 1 {
                    "it"
                } else {
                    "them"
                }
            ))
        );
        for stale in &outcome.stale {
            let _ = writeln!(
                out,
                "  stale: {} #{} {:?} ({})",
                stale.cassette, stale.interaction, stale.pointer, stale.reason
            );
        }
    }
    out
}

/// The changes of an interaction that exceptions cover, under each reason:
/// `  excepted: REASON` then the changes indented.
fn write_excepted(out: &mut String, checked: &Checked) {
    let mut reason: Option<&str> = None;
    for excepted in &checked.excepted {
        if reason != Some(&excepted.reason) {
            let _ = writeln!(
                out,
                "  {}",
                style::good(&format!("excepted: {}", excepted.reason))
            );
            reason = Some(&excepted.reason);
        }
        let _ = writeln!(out, "    {}", excepted.change);
    }
}

/// A test case per interaction; a differing one fails with its changes as the message, and
/// so does one a stale exception names.
fn junit_cases(outcome: &Outcome) -> Vec<Case> {
    let mut cases = Vec::new();
    for cassette in &outcome.cassettes {
        for checked in &cassette.checked {
            let stale = outcome.stale.iter().filter(|e| {
                e.interaction == checked.index && cassette.name.ends_with(e.cassette.as_str())
            });
            let lines: Vec<String> = checked
                .changes
                .iter()
                .map(Change::to_string)
                .chain(stale.map(|e| {
                    format!(
                        "stale exception {:?} ({}): it covers nothing",
                        e.pointer, e.reason
                    )
                }))
                .collect();
            let failure = (!lines.is_empty()).then(|| lines.join("\n"));
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
