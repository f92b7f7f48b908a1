//! `tailtape validate`: checks every interaction of the given cassettes against the contract
//! and reports findings as text for people or JSON for tools. Exit 0 when clean, 1 when an
//! error (or, under `--strict`, a warning) was found; a cassette that cannot be read is bad
//! input and stops the run (exit 2). A cassette cut short inside its interactions is read up to
//! the cut and gets a `truncated` finding at the first interaction missing: a warning, and an
//! error under `--strict`, so that it fails in every report (human, JSON, JUnit) by name.

use std::fmt::Write as _;
use std::process::ExitCode;

use anyhow::Context;
use serde::Serialize;

use crate::cassette::{self, Ending, Interaction};
use crate::cli::{Format, ValidateArgs};
use crate::finding::{Finding, Issue, Level, Side, rule};
use crate::junit::{self, Case};
use crate::progress::Progress;
use crate::schema::Contract;
use crate::style;

#[derive(Debug, Default, Serialize)]
pub struct Summary {
    pub cassettes: usize,
    pub interactions: usize,
    pub errors: usize,
    pub warnings: usize,
}

/// Everything `validate` found, in cassette and interaction order.
#[derive(Debug, Default, Serialize)]
pub struct Report {
    pub summary: Summary,
    pub findings: Vec<Finding>,
    /// Every interaction checked, kept only when a JUnit report was asked for.
    #[serde(skip)]
    pub cases: Option<Vec<Case>>,
}

impl Report {
    /// Checks one interaction (number `index` of cassette `name`) and records the findings.
    pub fn add_interaction(
        &mut self,
        contract: &Contract,
        name: &str,
        index: usize,
        interaction: &Interaction,
    ) {
        self.summary.interactions += 1;
        if let Some(cases) = &mut self.cases {
            cases.push(Case {
                cassette: name.to_string(),
                interaction: index,
                request: interaction.request.to_string(),
                failure: None,
            });
        }
        for issue in contract.check_exchange(&interaction.request, &interaction.response) {
            match issue.level {
                Level::Error => self.summary.errors += 1,
                Level::Warning => self.summary.warnings += 1,
            }
            self.findings.push(Finding {
                cassette: name.to_string(),
                interaction: index,
                issue,
            });
        }
    }

    /// Records that cassette `name` ends inside its interactions after `complete` of them:
    /// `describe` says so in words.
    pub fn add_cut(&mut self, name: &str, complete: usize, describe: String, strict: bool) {
        let level = if strict { Level::Error } else { Level::Warning };
        match level {
            Level::Error => self.summary.errors += 1,
            Level::Warning => self.summary.warnings += 1,
        }
        if let Some(cases) = &mut self.cases {
            cases.push(Case {
                cassette: name.to_string(),
                interaction: complete,
                request: "(the cassette ends here)".into(),
                failure: None,
            });
        }
        self.findings.push(Finding {
            cassette: name.to_string(),
            interaction: complete,
            issue: Issue {
                operation: None,
                side: Side::Cassette,
                level,
                rule: rule::TRUNCATED.into(),
                pointer: String::new(),
                message: describe,
            },
        });
    }

    /// Whether the contract held: no errors, and no warnings when `strict`.
    pub fn passed(&self, strict: bool) -> bool {
        self.summary.errors == 0 && !(strict && self.summary.warnings > 0)
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a report always serializes") + "\n"
    }

    /// Findings grouped by cassette, then one summary line.
    pub fn to_human(&self) -> String {
        let mut out = String::new();
        for findings in self.findings.chunk_by(|a, b| a.cassette == b.cassette) {
            let _ = writeln!(out, "{}", style::heading(&findings[0].cassette));
            for f in findings {
                let i = &f.issue;
                let level = match i.level {
                    Level::Error => style::bad("error  "),
                    Level::Warning => style::warn("warning"),
                };
                let op = i.operation.as_deref().unwrap_or("-");
                let _ = writeln!(out, "  {level} #{} {op} {i}", f.interaction);
            }
            out.push('\n');
        }
        let s = &self.summary;
        let errors = format!("{} error{}", s.errors, plural(s.errors));
        let errors = if s.errors > 0 {
            style::bad(&errors)
        } else {
            style::good(&errors)
        };
        let _ = writeln!(
            out,
            "{} cassette{}, {} interaction{}: {errors}, {} warning{}",
            s.cassettes,
            plural(s.cassettes),
            s.interactions,
            plural(s.interactions),
            s.warnings,
            plural(s.warnings)
        );
        out
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// Loads the schemas, then validates the cassettes one interaction at a time as they are read,
/// so memory stays flat however large a cassette is.
pub fn validate(args: &ValidateArgs) -> anyhow::Result<Report> {
    let contract = Contract::load(args.schemas.dir.as_deref())?;
    let mut report = Report {
        cases: args.junit.as_ref().map(|_| Vec::new()),
        ..Report::default()
    };
    let sources = cassette::sources(&args.paths, args.strict)?;
    let mut progress = Progress::on_terminal(sources.len());
    for source in &sources {
        let name = source.name();
        report.summary.cassettes += 1;
        progress.next_file();
        let read = source.stream_to_end(|index, interaction| {
            report.add_interaction(&contract, &name, index, &interaction);
            progress.tick();
        });
        if read.is_err() {
            progress.finish();
        }
        let (_, ending) = read?;
        if let (Ending::Cut { complete, .. }, Some(describe)) = (&ending, ending.describe(&name)) {
            report.add_cut(&name, *complete, describe, args.strict);
        }
    }
    progress.finish();
    Ok(report)
}

pub fn command(args: &ValidateArgs) -> anyhow::Result<ExitCode> {
    if let Some(path) = &args.junit {
        crate::report::ensure_writable(path)?;
    }
    let report = validate(args)?;
    if let (Some(path), Some(cases)) = (&args.junit, &report.cases) {
        junit::write(path, "tailtape validate", cases, &report.findings)
            .with_context(|| format!("cannot write the JUnit report to {}", path.display()))?;
    }
    match args.format {
        Format::Human => style::print(&report.to_human()),
        Format::Json => print!("{}", report.to_json()),
    }
    Ok(if report.passed(args.strict) {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
