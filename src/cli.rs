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
    #[command(flatten)]
    pub log: LogArgs,
}

/// What the log on stderr says and how (`log.rs`); given before or after the command.
#[derive(Debug, Args, Default)]
pub struct LogArgs {
    /// Only warnings and errors on stderr.
    #[arg(long, short, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Also a line per request answered (replay), exchange recorded (record) or request re-sent
    /// (parity).
    #[arg(long, short, global = true)]
    pub verbose: bool,
    /// human: `tailtape COMMAND: ...` lines; json: one JSON object per line, with `level`,
    /// `command` and `message`.
    #[arg(long, value_enum, global = true, default_value_t = LogFormat::Human)]
    pub log_format: LogFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum LogFormat {
    #[default]
    Human,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check every request and response in cassettes against the documented schemas.
    #[command(after_help = VALIDATE_HELP)]
    Validate(ValidateArgs),
    /// Serve a fake Tailscale API from cassettes.
    #[command(after_help = REPLAY_HELP)]
    Replay(ReplayArgs),
    /// Record a session against the real API into a cassette, secrets removed.
    #[command(after_help = RECORD_HELP)]
    Record(RecordArgs),
    /// Show which documented operations the cassettes exercise, and with which statuses.
    #[command(after_help = COVERAGE_HELP)]
    Coverage(CoverageArgs),
    /// Compare two recordings: responses paired by request, volatile fields ignored.
    #[command(after_help = DIFF_HELP)]
    Diff(DiffArgs),
    /// Inspect the operation schemas.
    #[command(after_help = SCHEMAS_HELP)]
    Schemas {
        #[command(subcommand)]
        command: SchemasCommand,
    },
    /// Re-send cassettes' requests to a server and compare its answers with the recorded ones.
    #[command(after_help = PARITY_HELP)]
    Parity(ParityArgs),
    /// Close cassettes a killed recorder left open (or cut short): every complete interaction
    /// kept, atomically.
    #[command(after_help = CLOSE_HELP)]
    Close(CloseArgs),
    /// Serve a stateful fake tailnet, seeded from a seed document, for every operation.
    #[command(after_help = EMULATE_HELP)]
    Emulate(EmulateArgs),
    /// Print the seed (for `emulate --seed`) that cassettes imply: the state their first reads
    /// show.
    #[command(after_help = SEED_HELP)]
    Seed(SeedArgs),
    /// Replace what names the tailnet, its people, machines and addresses in cassettes by
    /// stable pseudonyms of the same form.
    #[command(after_help = PSEUDONYMISE_HELP)]
    Pseudonymise(PseudonymiseArgs),
}

impl Command {
    /// The command's name, as typed.
    pub fn name(&self) -> &'static str {
        match self {
            Command::Validate(_) => "validate",
            Command::Replay(_) => "replay",
            Command::Record(_) => "record",
            Command::Coverage(_) => "coverage",
            Command::Diff(_) => "diff",
            Command::Schemas { .. } => "schemas",
            Command::Close(_) => "close",
            Command::Parity(_) => "parity",
            Command::Emulate(_) => "emulate",
            Command::Seed(_) => "seed",
            Command::Pseudonymise(_) => "pseudonymise",
        }
    }
}

// What `--help` shows after the options of each command: its exit codes and an example. The
// README's section on each command says the same.

const VALIDATE_HELP: &str = "\
Exit codes: 0 no error (and with --strict no warning); 1 the contract failed; 2 bad usage or a
cassette that cannot be read (the file, line and column are named).

Example:
  tailtape validate --strict --junit validate.xml cassettes/";

const REPLAY_HELP: &str = "\
The first line on stdout ends with the base URL (--listen 127.0.0.1:0 picks a free port).
SIGINT or SIGTERM stops the server; the drift and the journal's counts are printed at exit.
Admin endpoints: GET /__tailtape/health, GET /__tailtape/report (the journal as JSON),
POST /__tailtape/reset (back to the first recorded answers, journal emptied), and
/__tailtape/faults (POST a fault plan, GET what it did, DELETE it).

Exit codes: 0 stopped; 1 with --strict: a request was unmatched or invalid, an interaction
unused, or a rule of the fault plan never fired; 2 bad usage, or a cassette or fault plan that
cannot be read (the file, line and column are named).

Example:
  tailtape replay --listen 127.0.0.1:0 --strict --report replay.json cassettes/";

const RECORD_HELP: &str = "\
Point the client's base URL at the address printed on the first stdout line. Each exchange is
written before the client gets its answer, secrets redacted; SIGINT or SIGTERM stops the
recorder, which then prints the drift from the documented schemas per operation. --mode all
refuses to replace an existing cassette unless --force is given.

Exit codes: 0 recorded; 2 bad usage, a cassette locked by another recorder, or an exchange
refused because a secret could not be removed (the place is named; the client still got its
answer).

Example:
  tailtape record --cassette cassettes/devices.json --listen 127.0.0.1:0";

const COVERAGE_HELP: &str = "\
Exit codes: 0 done (and with --fail-under at least that share covered); 1 under --fail-under;
2 bad usage or a cassette that cannot be read.

Example:
  tailtape coverage --fail-under 80 cassettes/";

const DIFF_HELP: &str = "\
Exit codes: 0 the responses are the same (volatile fields and --ignore'd pointers aside); 1 a
pair differs or an interaction is on one side only; 2 bad usage or a cassette that cannot be
read.

Example:
  tailtape diff cassettes/devices.json /tmp/rerecorded.json --ignore '/devices/*/hostname'";

const PARITY_HELP: &str = "\
Requests go out as recorded, ids the target generated mapped by reference; a tailtape server
(it answers GET /__tailtape/health) is reset before each cassette. Against the real API the
requests make real changes (creates, deletes). The authorization sent is the recorded
(redacted) one unless --authorization or TAILTAPE_PARITY_AUTHORIZATION gives one.

Exit codes: 0 every answer as recorded; 1 an answer differs; 2 bad usage, a cassette that
cannot be read, or a target that cannot be reached.

Example:
  tailtape parity cassettes/ --against http://127.0.0.1:8383 --ignore '/devices/*/addresses'";

const SCHEMAS_HELP: &str = "\
Exit codes: 0 printed; 2 a schema directory that cannot be read.

Example:
  tailtape schemas openapi > tailscale-openapi.json";

const CLOSE_HELP: &str = "\
Exit codes: 0 every cassette closed (or already whole); 2 a cassette that cannot be read or
written (the others are still closed).

Example:
  tailtape close cassettes/devices.json";

const EMULATE_HELP: &str = "\
The first line on stdout ends with the base URL (--listen 127.0.0.1:0 picks a free port).
SIGINT or SIGTERM stops the server. Admin endpoints: GET /__tailtape/health,
GET /__tailtape/report (the journal as JSON), POST /__tailtape/reset (back to the seed).
A tailtape-session header gives a test its own copy of the tailnet.

Exit codes: 0 stopped; 2 bad usage or a seed that cannot be read (file, line and column named).

Example:
  tailtape emulate --listen 127.0.0.1:0 --seed seeds/example.json --report emulate.json";

const SEED_HELP: &str = "\
Each part of the tailnet is taken from the first successful read that shows it; what the
cassettes created themselves is left out, and what no read showed keeps the defaults.

Exit codes: 0 printed; 2 bad usage or a cassette that cannot be read.

Example:
  tailtape seed cassettes/ > my-tailnet.json";

const PSEUDONYMISE_HELP: &str = "\
Replaced everywhere (paths, queries, headers, JSON and text bodies, the policy file): the
tailnet name, emails (user-N@domain-N.example), display names, hostnames and MagicDNS names
(host-N), ids and keys (same prefix and length), endpoint hosts, posture serial numbers,
tailnet addresses (within 100.64.0.0/10 and fd7a:115c:a1e0::/48, routes kept consistent) and
public ones (documentation ranges, ports kept). The map FILE keeps the pairs for later runs:
keep it out of the repository.

Exit codes: 0 written (with --check: no real value found); 1 with --check: a real value of the
map is still in a file; 2 bad usage or a cassette or map that cannot be read.

Example:
  tailtape pseudonymise recordings/ --out shareable/ --map ~/tailtape-map.json --shift-time
  tailtape pseudonymise --check shareable/ --map ~/tailtape-map.json";

#[derive(Debug, Args)]
pub struct PseudonymiseArgs {
    /// Cassette files or directories (searched for *.json).
    #[arg(value_name = "CASSETTE|DIR", required = true)]
    pub paths: Vec<PathBuf>,
    /// Write the results under DIR (same file names, directories' layout kept) instead of in
    /// place.
    #[arg(long, value_name = "DIR", conflicts_with = "check")]
    pub out: Option<PathBuf>,
    /// The map of real values to pseudonyms: read if it exists, updated after the run.
    #[arg(long, value_name = "FILE")]
    pub map: Option<PathBuf>,
    /// Write nothing: fail (exit 1) if any real value of --map is still in the files.
    #[arg(long)]
    pub check: bool,
    /// Also move every timestamp back by the same number of days (30 to 412, fixed by the
    /// map's key), so intervals stay.
    #[arg(long, conflicts_with = "check")]
    pub shift_time: bool,
}

#[derive(Debug, Args)]
pub struct SeedArgs {
    /// Cassette files or directories (searched for *.json). Default: the bundled cassettes.
    #[arg(value_name = "CASSETTE|DIR")]
    pub paths: Vec<PathBuf>,
    #[command(flatten)]
    pub schemas: SchemasDir,
}

#[derive(Debug, Args)]
pub struct EmulateArgs {
    /// The seed document the tailnet starts from (seeds/README.md). Default: the bundled
    /// example tailnet, the one the bundled cassettes describe.
    #[arg(long, value_name = "FILE")]
    pub seed: Option<PathBuf>,
    /// Address to listen on; port 0 picks a free one.
    #[arg(long, value_name = "ADDR", default_value = crate::emulate::DEFAULT_LISTEN)]
    pub listen: String,
    #[command(flatten)]
    pub schemas: SchemasDir,
    /// Answer any request that breaks the documented contract (a bad parameter too, not only a
    /// bad body) with 400 and its findings.
    #[arg(long)]
    pub enforce: bool,
    /// Write the journal (as GET /__tailtape/report returns it) to FILE on exit.
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
    #[command(flatten)]
    pub faults: FaultArgs,
    #[command(flatten)]
    pub server: ServerArgs,
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
    pub faults: FaultArgs,
    #[command(flatten)]
    pub server: ServerArgs,
}

/// Faults on purpose (README "Fault plans"), for a server that answers as the API.
#[derive(Debug, Args)]
pub struct FaultArgs {
    /// Apply the fault plan in FILE (schemas/faults.schema.json): rate limits, outages, delays,
    /// resets and cut bodies for chosen requests; the report's `fault_plan` says what fired, and
    /// with --strict a rule that never fired fails the run.
    #[arg(long, value_name = "FILE")]
    pub faults: Option<PathBuf>,
    /// Wait MS milliseconds, or a uniformly drawn MIN-MAX, before every answer.
    #[arg(long, value_name = "MS|MIN-MAX", value_parser = crate::faults::Delay::parse)]
    pub latency: Option<crate::faults::Delay>,
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
    /// Replace what names the tailnet, its people, machines and addresses by pseudonyms before
    /// each exchange is written (as `tailtape pseudonymise` does), checked before every write.
    #[arg(long)]
    pub pseudonymise: bool,
    /// With --pseudonymise: the map of pseudonyms to use and update (keep it out of the
    /// repository).
    #[arg(long, value_name = "FILE", requires = "pseudonymise")]
    pub map: Option<PathBuf>,
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
    /// Exit 1 when less than PERCENT of the operations of Tailscale's OpenAPI file are covered
    /// (a CI gate); 0 to 100, decimals allowed.
    #[arg(long, value_name = "PERCENT", value_parser = percent)]
    pub fail_under: Option<f64>,
}

/// A percentage from 0 to 100.
fn percent(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(p) if (0.0..=100.0).contains(&p) => Ok(p),
        Ok(_) => Err(format!("{text} is not between 0 and 100")),
        Err(_) => Err(format!("{text} is not a number")),
    }
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
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
}

#[derive(Debug, Args)]
pub struct ParityArgs {
    /// Cassette files or directories (searched for *.json), run in order.
    #[arg(value_name = "CASSETTE|DIR", required = true)]
    pub paths: Vec<PathBuf>,
    /// The server to send the requests to (`http://127.0.0.1:8383`).
    #[arg(long, value_name = "URL")]
    pub against: String,
    /// Also ignore this JSON pointer in response bodies; `*` matches any one segment.
    /// Repeatable.
    #[arg(long, value_name = "JSON-POINTER", value_parser = json_pointer)]
    pub ignore: Vec<String>,
    /// Send this authorization header value instead of the recorded (redacted) one; never
    /// shown.
    #[arg(
        long,
        value_name = "VALUE",
        env = crate::parity::AUTHORIZATION_ENV,
        hide_env_values = true
    )]
    pub authorization: Option<String>,
    /// How long to wait for each answer.
    #[arg(
        long,
        value_name = "SECONDS",
        default_value_t = crate::record::DEFAULT_UPSTREAM_TIMEOUT,
        value_parser = clap::value_parser!(u64).range(1..=86_400)
    )]
    pub timeout: u64,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    /// Also write a JUnit XML report to FILE: one test case per interaction.
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// Recorded behaviour the target deliberately does not reproduce: a JSON list of
    /// {cassette, interaction, pointer, reason}; a change one covers is excepted, an exception
    /// that covers nothing fails the run.
    #[arg(long, value_name = "FILE")]
    pub exceptions: Option<PathBuf>,
}

/// A JSON pointer (RFC 6901): empty, or `/` and its segments.
fn json_pointer(text: &str) -> Result<String, String> {
    if text.is_empty() || text.starts_with('/') {
        Ok(text.to_string())
    } else {
        Err(format!("{text} is not a JSON pointer (one starts with /)"))
    }
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

#[cfg(test)]
mod tests {
    use clap::{CommandFactory, Parser};

    use super::Cli;

    /// The example of a command's `--help`, as arguments (single quotes group words; a
    /// redirection ends them).
    fn example_of(help: &str) -> Vec<String> {
        let line = help
            .split("Example:\n")
            .nth(1)
            .and_then(|rest| rest.lines().next())
            .expect("an example after the options");
        let line = line.split(" > ").next().unwrap_or_default();
        let mut words = Vec::new();
        for (i, part) in line.trim().split('\'').enumerate() {
            if i % 2 == 1 {
                words.push(part.to_string());
            } else {
                words.extend(part.split_whitespace().map(str::to_string));
            }
        }
        words
    }

    #[test]
    fn every_command_help_gives_exit_codes_and_an_example_that_parses() {
        let mut cli = Cli::command();
        for command in cli.get_subcommands_mut() {
            let name = command.get_name().to_string();
            let help = command.render_long_help().to_string();
            assert!(help.contains("Exit codes: 0 "), "{name}: {help}");
            let example = example_of(&help);
            assert_eq!(example[..2], ["tailtape".to_string(), name.clone()]);
            if let Err(err) = Cli::try_parse_from(&example) {
                panic!("{name}: the example {example:?} does not parse: {err}");
            }
        }
    }
}
