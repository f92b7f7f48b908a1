//! The command line: flags and subcommands only, no behaviour. DESIGN.md fixes this surface;
//! `run()` in lib.rs dispatches on it.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "tailtape",
    version,
    about = "Record/replay contract tests for the Tailscale API v2"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check every request and response in cassettes against the documented schemas.
    Validate(ValidateArgs),
    /// Serve a fake Tailscale API from cassettes.
    Replay(ReplayArgs),
    /// Record a session against the real API into a cassette, secrets removed.
    Record(RecordArgs),
    /// Show which documented operations the cassettes exercise, and with which statuses.
    Coverage(CoverageArgs),
    /// Compare two recordings: responses paired by request, volatile fields ignored.
    Diff(DiffArgs),
    /// Inspect the operation schemas.
    Schemas {
        #[command(subcommand)]
        command: SchemasCommand,
    },
    /// Close cassettes a killed recorder left open (or cut short): every complete interaction
    /// kept, atomically.
    Close(CloseArgs),
}

#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// Cassette files or directories (searched for *.json). Default: the bundled cassettes.
    #[arg(value_name = "CASSETTE|DIR")]
    pub paths: Vec<PathBuf>,
    #[command(flatten)]
    pub schemas: SchemasDir,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    /// Fail (exit 1) on warnings too, not only on errors.
    #[arg(long)]
    pub strict: bool,
    /// Also write a JUnit XML report to FILE: one test case per interaction.
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// Cassette files or directories (searched for *.json). Default: the bundled cassettes.
    #[arg(value_name = "CASSETTE|DIR")]
    pub paths: Vec<PathBuf>,
    /// Address to listen on; port 0 picks a free one.
    #[arg(long, value_name = "ADDR", default_value = crate::replay::DEFAULT_LISTEN)]
    pub listen: String,
    #[command(flatten)]
    pub schemas: SchemasDir,
    /// Exit 1 when a request was unmatched or invalid or an interaction unused; a repeated
    /// request past its recorded answers is unmatched instead of getting the last answer again.
    #[arg(long)]
    pub strict: bool,
    /// Answer a request that breaks the documented contract with 400 and its findings.
    #[arg(long)]
    pub enforce: bool,
    /// Write the journal (as GET /__tailtape/report returns it) to FILE on exit.
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
    /// Write a JUnit XML report to FILE on exit: one test case per recorded interaction, and
    /// one per unmatched or invalid request.
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    #[command(flatten)]
    pub server: ServerArgs,
}

/// How long a server (`replay`, `record`) waits on a client before closing its connection.
#[derive(Debug, Args)]
pub struct ServerArgs {
    /// Close a connection whose next request head has not arrived within SECONDS (of
    /// connecting, or of the last answer).
    #[arg(
        long,
        value_name = "SECONDS",
        default_value_t = crate::http::DEFAULT_HEADER_TIMEOUT,
        value_parser = clap::value_parser!(u64).range(1..=86_400)
    )]
    pub header_timeout: u64,
    /// Close a connection that has had no request in flight for SECONDS.
    #[arg(
        long,
        value_name = "SECONDS",
        default_value_t = crate::http::DEFAULT_IDLE_TIMEOUT,
        value_parser = clap::value_parser!(u64).range(1..=86_400)
    )]
    pub idle_timeout: u64,
}

impl ServerArgs {
    pub fn timeouts(&self) -> crate::http::Timeouts {
        crate::http::Timeouts {
            header_read: std::time::Duration::from_secs(self.header_timeout),
            idle: std::time::Duration::from_secs(self.idle_timeout),
        }
    }
}

#[derive(Debug, Args)]
pub struct RecordArgs {
    /// The cassette to write (see --mode for an existing one).
    #[arg(long, value_name = "FILE")]
    pub cassette: PathBuf,
    /// The API to forward to.
    #[arg(long, value_name = "URL", default_value = crate::record::DEFAULT_UPSTREAM)]
    pub upstream: String,
    /// Address to listen on; port 0 picks a free one.
    #[arg(long, value_name = "ADDR", default_value = crate::record::DEFAULT_LISTEN)]
    pub listen: String,
    /// all: forward and record everything; new: answer what the cassette has, record the rest;
    /// once: record only if the cassette does not exist, else only replay it.
    #[arg(long, value_enum, default_value_t = RecordMode::All)]
    pub mode: RecordMode,
    /// With --mode all, replace an existing cassette (it stays until the first exchange is
    /// written).
    #[arg(long)]
    pub force: bool,
    /// Also trust this CA (PEM) for an HTTPS upstream.
    #[arg(long, value_name = "PEM")]
    pub upstream_ca: Option<PathBuf>,
    /// How long to wait for each upstream answer before giving the client 504.
    #[arg(
        long,
        value_name = "SECONDS",
        default_value_t = crate::record::DEFAULT_UPSTREAM_TIMEOUT,
        value_parser = clap::value_parser!(u64).range(1..=86_400)
    )]
    pub upstream_timeout: u64,
    /// Also redact every match of this regular expression (repeatable); a pattern that
    /// matches the empty string is refused.
    #[arg(long, value_name = "REGEX")]
    pub redact: Vec<String>,
    /// Also redact the value at this JSON pointer (`/apiKey`, `/devices/0/name`) in request
    /// and response bodies (repeatable).
    #[arg(long, value_name = "JSON-POINTER")]
    pub redact_field: Vec<String>,
    /// Store a body that cannot be decoded and scanned whole (an unknown content-encoding
    /// such as br, a damaged gzip stream) as sent, when what could be decoded holds no
    /// secret; without it such an exchange is refused.
    #[arg(long)]
    pub allow_opaque_bodies: bool,
    #[command(flatten)]
    pub server: ServerArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RecordMode {
    All,
    New,
    Once,
}

#[derive(Debug, Args)]
pub struct CoverageArgs {
    /// Cassette files or directories (searched for *.json). Default: the bundled cassettes.
    #[arg(value_name = "CASSETTE|DIR")]
    pub paths: Vec<PathBuf>,
    #[command(flatten)]
    pub schemas: SchemasDir,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
}

#[derive(Debug, Args)]
pub struct DiffArgs {
    /// The earlier cassette (for example the committed one).
    pub old: PathBuf,
    /// The later cassette (for example a fresh re-recording).
    pub new: PathBuf,
    /// Also ignore this JSON pointer in response bodies; `*` matches any one segment
    /// (`/devices/*/addresses`). Repeatable.
    #[arg(long, value_name = "JSON-POINTER")]
    pub ignore: Vec<String>,
}

#[derive(Debug, Args)]
pub struct CloseArgs {
    /// Cassette files, or directories (searched for *.json).
    #[arg(value_name = "CASSETTE|DIR", required = true)]
    pub paths: Vec<PathBuf>,
}

#[derive(Debug, Args)]
pub struct SchemasDir {
    /// Read the operation schemas from DIR instead of the embedded ones.
    #[arg(long = "schemas", value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum SchemasCommand {
    /// Print the operation table: operationId, method, path template, documented statuses.
    List {
        #[command(flatten)]
        schemas: SchemasDir,
    },
    /// Print an OpenAPI 3.1 document made from the schemas, for other tools.
    Openapi {
        #[command(flatten)]
        schemas: SchemasDir,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Human,
    Json,
}
