//! `tailtape coverage`: which documented operations the cassettes exercise, and with which
//! statuses, so a client's authors see what their tests never touch. Requests that match no
//! documented operation are listed apart.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::process::ExitCode;

use serde::Serialize;

use crate::cassette;
use crate::cli::{CoverageArgs, Format};
use crate::routes::Lookup;
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
}

/// A recorded request no documented operation matches.
#[derive(Debug, Serialize)]
pub struct Undocumented {
    pub cassette: String,
    pub interaction: usize,
    pub request: String,
    pub status: u16,
}

#[derive(Debug, Serialize)]
pub struct Coverage {
    pub operations: Vec<OperationCoverage>,
    pub covered: usize,
    pub total: usize,
    pub undocumented: Vec<Undocumented>,
}

/// Reads the cassettes (interaction by interaction) and tallies operations and statuses.
pub fn coverage(args: &CoverageArgs) -> anyhow::Result<Coverage> {
    let contract = Contract::load(args.schemas.dir.as_deref())?;
    let table = contract.table();
    let mut seen: Vec<BTreeSet<u16>> = vec![BTreeSet::new(); table.operations().len()];
    let mut undocumented = Vec::new();
    for source in cassette::sources(&args.paths)? {
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
        })
        .collect();
    Ok(Coverage {
        covered: operations.iter().filter(|o| o.covered).count(),
        total: operations.len(),
        operations,
        undocumented,
    })
}

impl Coverage {
    /// A table (covered operations ticked, statuses seen against documented), the requests no
    /// operation matches, and the percentage.
    pub fn to_human(&self) -> String {
        let mut out = String::new();
        let width =
            |f: fn(&OperationCoverage) -> usize| self.operations.iter().map(f).max().unwrap_or(0);
        let (w_id, w_method, w_path) = (
            width(|o| o.operation_id.len()),
            width(|o| o.method.len()),
            width(|o| o.path.len()),
        );
        let join = |v: &[u16]| v.iter().map(u16::to_string).collect::<Vec<_>>().join(",");
        for op in &self.operations {
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
                "{mark}  {:w_id$}  {:w_method$}  {:w_path$}  seen {seen} of {}",
                op.operation_id,
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
        let percent = if self.total == 0 {
            0.0
        } else {
            100.0 * self.covered as f64 / self.total as f64
        };
        let _ = writeln!(
            out,
            "\n{} of {} operations covered ({percent:.0}%), {} undocumented request{}",
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
    Ok(ExitCode::SUCCESS)
}
