//! `tailtape coverage`: which documented operations the cassettes exercise, and with which
//! statuses, so a client's authors see what their tests never touch. Operations of Tailscale's
//! OpenAPI file are counted apart from those only clients document (marked `*`); requests that
//! match no documented operation are listed apart too.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::process::ExitCode;

use serde::Serialize;

use crate::cassette;
use crate::cli::{CoverageArgs, Format};
use crate::routes::{Lookup, listed_id};
use crate::schema::Contract;
use crate::style;

#[derive(Debug, Serialize)]
pub struct OperationCoverage {
    #[serde(rename = "operationId")]
    pub operation_id: String,
    pub method: String,
    pub path: String,
    pub statuses_documented: Vec<u16>,
    pub statuses_seen: Vec<u16>,
    pub covered: bool,
    /// False for an operation clients use that Tailscale's OpenAPI file does not list.
    pub openapi: bool,
}

/// A recorded request no documented operation matches.
#[derive(Debug, Serialize)]
pub struct Undocumented {
    pub cassette: String,
    pub interaction: usize,
    pub request: String,
    pub status: u16,
}

/// How many operations of a group the cassettes exercise.
#[derive(Debug, Serialize)]
pub struct Tally {
    pub covered: usize,
    pub total: usize,
}

#[derive(Debug, Serialize)]
pub struct Coverage {
    pub operations: Vec<OperationCoverage>,
    /// Operations of Tailscale's OpenAPI file.
    pub covered: usize,
    pub total: usize,
    /// Operations outside the OpenAPI file that clients use (the OAuth token exchange).
    pub outside_openapi: Tally,
    pub undocumented: Vec<Undocumented>,
}

/// Reads the cassettes (interaction by interaction) and tallies operations and statuses.
pub fn coverage(args: &CoverageArgs) -> anyhow::Result<Coverage> {
    let contract = Contract::load(args.schemas.dir.as_deref())?;
    let table = contract.table();
    let mut seen: Vec<BTreeSet<u16>> = vec![BTreeSet::new(); table.operations().len()];
    let mut undocumented = Vec::new();
    for source in cassette::sources(&args.paths, false)? {
        let name = source.name();
        source.stream(|index, interaction| {
            let request = &interaction.request;
            match table.lookup(&request.method, &request.path) {
                Lookup::Found { operation, .. } => {
                    seen[operation.index].insert(interaction.response.status);
                }
                Lookup::WrongMethod { .. } | Lookup::NotFound => undocumented.push(Undocumented {
                    cassette: name.clone(),
                    interaction: index,
                    request: request.to_string(),
                    status: interaction.response.status,
                }),
            }
        })?;
    }
    let operations: Vec<OperationCoverage> = table
        .operations()
        .iter()
        .zip(seen)
        .map(|(op, statuses)| OperationCoverage {
            operation_id: op.id.clone(),
            method: op.method.clone(),
            path: op.path.clone(),
            statuses_documented: table.statuses(op),
            covered: !statuses.is_empty(),
            statuses_seen: statuses.into_iter().collect(),
            openapi: op.openapi,
        })
        .collect();
    let tally = |openapi: bool| {
        let group = operations.iter().filter(|o| o.openapi == openapi);
        Tally {
            covered: group.clone().filter(|o| o.covered).count(),
            total: group.count(),
        }
    };
    let Tally { covered, total } = tally(true);
    Ok(Coverage {
        covered,
        total,
        outside_openapi: tally(false),
        operations,
        undocumented,
    })
}

impl Coverage {
    /// The share of the operations of Tailscale's OpenAPI file covered, in percent.
    pub fn percent(&self) -> f64 {
        if self.total == 0 {
            0.0
        } else {
            100.0 * self.covered as f64 / self.total as f64
        }
    }

    /// A table (covered operations ticked, statuses seen against documented), the requests no
    /// operation matches, and the percentage.
    pub fn to_human(&self) -> String {
        let mut out = String::new();
        let ids: Vec<String> = self
            .operations
            .iter()
            .map(|o| listed_id(&o.operation_id, o.openapi))
            .collect();
        let width =
            |f: fn(&OperationCoverage) -> usize| self.operations.iter().map(f).max().unwrap_or(0);
        let (w_id, w_method, w_path) = (
            ids.iter().map(String::len).max().unwrap_or(0),
            width(|o| o.method.len()),
            width(|o| o.path.len()),
        );
        let join = |v: &[u16]| v.iter().map(u16::to_string).collect::<Vec<_>>().join(",");
        for (op, id) in self.operations.iter().zip(ids) {
            let mark = if op.covered {
                style::good("yes")
            } else {
                style::bad("no ")
            };
            let seen = if op.statuses_seen.is_empty() {
                "-".to_string()
            } else {
                join(&op.statuses_seen)
            };
            let _ = writeln!(
                out,
                "{mark}  {id:w_id$}  {:w_method$}  {:w_path$}  seen {seen} of {}",
                op.method,
                op.path,
                join(&op.statuses_documented),
            );
        }
        if !self.undocumented.is_empty() {
            let _ = writeln!(out, "\nRequests no documented operation matches:");
            for u in &self.undocumented {
                let _ = writeln!(
                    out,
                    "  {} #{} {} -> {}",
                    u.cassette, u.interaction, u.request, u.status
                );
            }
        }
        let percent = self.percent();
        let outside = &self.outside_openapi;
        let outside = if outside.total == 0 {
            String::new()
        } else {
            format!(
                "; {} of {} more that clients use (*)",
                outside.covered, outside.total
            )
        };
        let _ = writeln!(
            out,
            "\n{} of {} operations of Tailscale's OpenAPI file covered ({percent:.0}%){outside}; {} undocumented request{}",
            self.covered,
            self.total,
            self.undocumented.len(),
            if self.undocumented.len() == 1 {
                ""
            } else {
                "s"
            }
        );
        out
    }
}

pub fn command(args: &CoverageArgs) -> anyhow::Result<ExitCode> {
    let report = coverage(args)?;
    match args.format {
        Format::Human => style::print(&report.to_human()),
        Format::Json => print!("{}", serde_json::to_string_pretty(&report)? + "\n"),
    }
    if let Some(wanted) = args.fail_under
        && report.percent() < wanted
    {
        crate::log::error(format!(
            "{:.1}% of the operations of Tailscale's OpenAPI file covered, \
             under --fail-under {wanted}%",
            report.percent()
        ));
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
}
