//! `tailtape record` on the command line: choose what the mode implies, listen, print the base
//! URL as the first line of stdout, serve until SIGINT or SIGTERM, then close the cassette and
//! print what was written and the drift seen. Exit 2 if the final scan refused an exchange.

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;

use super::{Recorder, Upstream, Writer, drift_report};
use crate::cassette::{self, Cassette, Recorded};
use crate::cli::{RecordArgs, RecordMode};
use crate::http;
use crate::redact::Redactor;
use crate::replay::{Options, Replay};
use crate::schema::Contract;

pub fn command(args: &RecordArgs) -> anyhow::Result<ExitCode> {
    let upstream = Upstream::new(
        &args.upstream,
        args.upstream_ca.as_deref(),
        Duration::from_secs(args.upstream_timeout),
    )?;
    let mut redactor =
        Redactor::new(&args.redact, &args.redact_field).context("bad --redact pattern")?;
    let path = &args.cassette;
    let name = path.display().to_string();
    let existing = match args.mode {
        RecordMode::All => None,
        RecordMode::New | RecordMode::Once if path.exists() => Some(cassette::load(path)?),
        RecordMode::New | RecordMode::Once => None,
    };
    let kept = existing.is_some();
    let cassette = existing.unwrap_or_else(|| fresh(upstream.url()));
    let writer = if kept && args.mode == RecordMode::Once {
        None
    } else {
        if kept {
            redactor.continue_after(&cassette.to_canonical_string());
        }
        Some(create(path, &cassette)?)
    };
    let replay_only = writer.is_none();
    let upstream_url = upstream.url().to_string();
    let recorded = Replay::new(
        Contract::load(None)?,
        vec![(name.clone(), cassette)],
        Options::default(),
    );
    let recorder = Recorder::new(upstream, recorded, writer, name.clone(), redactor);
    let recorder = Arc::new(recorder);

    let what = if replay_only {
        format!("tailtape record: replaying {name} (mode once: it exists)")
    } else {
        format!("tailtape record: recording {upstream_url} into {name}")
    };
    http::run_until_signal(
        &args.listen,
        Arc::clone(&recorder),
        args.server.timeouts(),
        &what,
    )?;

    let mut recorder =
        Arc::try_unwrap(recorder).map_err(|_| anyhow::anyhow!("the server did not stop"))?;
    let summary = recorder
        .finish()
        .with_context(|| format!("cannot close {name}"))?;
    if !summary.replayed_only {
        eprintln!(
            "tailtape record: {} exchanges written to {name}",
            summary.written
        );
    }
    if summary.drift.is_empty() {
        eprintln!("tailtape record: no drift from the documented API");
    } else {
        eprintln!("tailtape record: drift from the documented API, per operation:");
        eprint!("{}", drift_report(&summary.drift));
    }
    if !summary.refused.is_empty() {
        eprintln!(
            "tailtape record: the final scan refused {} exchange(s), not written (add --redact or --redact-field):",
            summary.refused.len()
        );
        for place in &summary.refused {
            eprintln!("  {place}");
        }
        return Ok(ExitCode::from(2));
    }
    Ok(ExitCode::SUCCESS)
}

fn create(path: &Path, cassette: &Cassette) -> anyhow::Result<Writer> {
    Writer::create(path, cassette).with_context(|| format!("cannot write {}", path.display()))
}

/// A new, empty cassette recorded now from `upstream`.
fn fresh(upstream: &str) -> Cassette {
    Cassette {
        recorded: Recorded {
            at: Some(chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
            upstream: upstream.to_string(),
            by: Some(format!("tailtape {}", env!("CARGO_PKG_VERSION"))),
            extra: Default::default(),
        },
        interactions: Vec::new(),
        extra: Default::default(),
    }
}
