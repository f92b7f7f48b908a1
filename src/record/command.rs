//! `tailtape record` on the command line: claim the cassette (regular files only, one recorder
//! at a time, see `cassette/claim.rs`), choose what the mode implies (`all` replaces an existing
//! cassette only with `--force`), listen, print the base URL as the first line of stdout, serve
//! until SIGINT or SIGTERM, then close the cassette and print what was written and the drift
//! seen. Exit 2 if the claim or the final scan refused.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;

use super::{Recorder, Upstream, Writer, drift_report};
use crate::cassette::{self, Cassette, Claim, Holds, Recorded};
use crate::cli::{RecordArgs, RecordMode};
use crate::http;
use crate::log;
use crate::pseudonymise;
use crate::redact::Redactor;
use crate::replay::{Options, Replay};
use crate::schema::Contract;

pub fn command(args: &RecordArgs) -> anyhow::Result<ExitCode> {
    let upstream = Upstream::new(
        &args.upstream,
        args.upstream_ca.as_deref(),
        Duration::from_secs(args.upstream_timeout),
    )?;
    let mut redactor = Redactor::new(&args.redact, &args.redact_field)?
        .allow_opaque_bodies(args.allow_opaque_bodies);
    let path = &args.cassette;
    let name = path.display().to_string();
    let (claim, existing) = claim(args)?;
    let kept = existing.is_some();
    let mut cassette = existing.unwrap_or_else(|| fresh(upstream.url()));
    let pseudonyms = pseudonymise(args, &mut cassette, kept)?;
    let (writer, _reading) = if kept && args.mode == RecordMode::Once {
        (None, Some(claim))
    } else {
        if kept {
            redactor.continue_after(&cassette.to_canonical_string());
        }
        let writer =
            Writer::create(claim, &cassette).with_context(|| format!("cannot write {name}"))?;
        (Some(writer), None)
    };
    let replay_only = writer.is_none();
    let upstream_url = upstream.url().to_string();
    let contract = Contract::load(None)?;
    // Answers are validated as read in place (`Body::Doc`): compiled before the first client waits.
    contract.tape_validators();
    let recorded = Replay::new(contract, vec![(name.clone(), cassette)], Options::default());
    let recorder = Recorder::new(upstream, recorded, writer, name.clone(), redactor);
    if let Some(session) = pseudonyms {
        recorder.pseudonymise(session);
    }

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
        log::info(format!(
            "{} written to {name}",
            log::count(summary.written, "exchange")
        ));
    }
    if summary.drift.is_empty() {
        log::info("no drift from the documented API");
    } else {
        log::warn(format!(
            "drift from the documented API, per operation:\n{}",
            drift_report(&summary.drift).trim_end()
        ));
    }
    if !summary.refused.is_empty() {
        let places: Vec<String> = summary.refused.iter().map(|p| format!("  {p}")).collect();
        log::error(format!(
            "the final scan refused {}, not written (add --redact or --redact-field):\n{}",
            log::count(summary.refused.len(), "exchange"),
            places.join("\n")
        ));
        return Ok(ExitCode::from(2));
    }
    Ok(ExitCode::SUCCESS)
}

/// Claims the cassette for the run (exclusively, but shared for `once` replaying an existing
/// one) and loads what the mode keeps of it. `all` replaces a cassette only with `--force`,
/// and never a file that is not one.
fn claim(args: &RecordArgs) -> anyhow::Result<(Claim, Option<Cassette>)> {
    let path = &args.cassette;
    let name = path.display().to_string();
    let holds = |claim: &Claim| claim.holds().with_context(|| format!("cannot read {name}"));
    let replaying = args.mode == RecordMode::Once
        && std::fs::metadata(path).is_ok_and(|meta| meta.is_file() && meta.len() > 0);
    let claim = if replaying {
        let shared = Claim::shared(path)?;
        if holds(&shared)? == Holds::Nothing {
            // Emptied meanwhile: there is nothing to replay, and recording takes the lock alone.
            drop(shared);
            Claim::exclusive(path)?
        } else {
            shared
        }
    } else {
        Claim::exclusive(path)?
    };
    if holds(&claim)? == Holds::Nothing {
        return Ok((claim, None));
    }
    let text =
        std::fs::read_to_string(claim.path()).with_context(|| format!("cannot read {name}"))?;
    let existing = cassette::parse(&name, &text);
    if args.mode != RecordMode::All {
        return Ok((claim, Some(existing?)));
    }
    if let Err(err) = existing {
        anyhow::bail!(
            "{err}\n{name} is not a cassette: --mode all replaces only a cassette, even with --force; \
             move it away or record into another file"
        );
    }
    if !args.force {
        anyhow::bail!(
            "{name} exists: --mode all would record a new cassette over it; add --force to \
             replace it (the old one stays until the first exchange is written), or use \
             --mode new to append to it"
        );
    }
    Ok((claim, None))
}

/// With `--pseudonymise`: the session (its `--map`), and a new cassette marked pseudonymised;
/// an existing one that is not marked keeps its exchanges as they are, with a warning.
fn pseudonymise(
    args: &RecordArgs,
    cassette: &mut Cassette,
    kept: bool,
) -> anyhow::Result<Option<pseudonymise::Session>> {
    if !args.pseudonymise {
        return Ok(None);
    }
    let session = pseudonymise::Session::start(args.map.as_deref())?;
    if !kept {
        cassette
            .recorded
            .extra
            .insert(pseudonymise::MARK.into(), true.into());
    } else if !pseudonymise::is_marked(cassette) {
        log::warn(format!(
            "{}: the exchanges it already has are not pseudonymised; run `tailtape \
             pseudonymise` on it",
            args.cassette.display()
        ));
    }
    Ok(Some(session))
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
