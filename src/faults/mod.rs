//! Fault plans: rate limits, outages, slow answers, reset connections and cut bodies on
//! purpose, in front of any [`Handler`] (`replay`, `emulate`), with an account of what fired.
//!
//! [`Faults`] wraps a handler. Each API request is shown to the plan of its scope (a session's
//! own plan when its `tailtape-session` header names one that was given a plan, else the
//! server's): its rules select requests by operation ([`Select`]), choose the first N, every
//! Kth or a seeded fraction of them ([`When`]), and answer a status with Tailscale's error body
//! (`Retry-After` with 429 or 503), wait, reset the connection or cut the body ([`Action`]). A
//! request answered by a fault never reaches the wrapped handler, so replay's positions do not
//! move and the client's retry gets the recorded answer; a delay passes the request on after
//! its wait, and a cut body is the handler's own answer cut (`http.rs` does the cutting). Every
//! answer may also wait a fixed or random latency (`--latency`).
//!
//! `plan.rs` reads and checks plans; `account.rs` keeps what fired. The layer answers
//! `/__tailtape/faults` itself (`control.rs`: `POST` a plan, `GET` the account, `DELETE` it),
//! adds the account to the wrapped handler's `GET /__tailtape/report` as `fault_plan`, and
//! rewinds the plans on `POST /__tailtape/reset`.

mod account;
mod control;
mod plan;

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hyper::body::Incoming;
use serde_json::{Value, json};

pub use account::{Account, AccountSummary, HITS_LISTED, Hit, RuleAccount};
pub use plan::{PlanError, load, parse};

use crate::cli::FaultArgs;
use crate::http::{Answer, Cut, Handler, Reply, to_headers};
use crate::replay::session_of;
use crate::routes::{Lookup, OperationTable};
use account::{Scope, Seen};
use control::pretty;

/// The control endpoint of fault plans.
pub const FAULTS_PATH: &str = "/__tailtape/faults";

/// The key of the account in the wrapped handler's report (`faults` is emulate's own).
pub const REPORT_KEY: &str = "fault_plan";

/// The header a faulted status answer carries: the number of the rule that gave it.
pub const FAULT_HEADER: &str = "tailtape-fault";

/// A checked plan.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// Where it came from: its file, or `<request body>`.
    pub source: String,
    pub rules: Vec<Rule>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    pub name: Option<String>,
    pub select: Select,
    pub when: When,
    pub action: Action,
    /// The seed of its random choices (`fraction`, a delay range).
    pub seed: u64,
}

/// Which requests a rule looks at.
#[derive(Debug, Clone, PartialEq)]
pub enum Select {
    /// Every API request (`"operation": "*"`).
    Any,
    /// One operation, by its operationId (`label` is how the plan wrote it).
    Operation { id: String, label: String },
}

impl Select {
    pub fn label(&self) -> &str {
        match self {
            Select::Any => "*",
            Select::Operation { label, .. } => label,
        }
    }

    fn matches(&self, operation: Option<&str>) -> bool {
        match self {
            Select::Any => true,
            Select::Operation { id, .. } => operation == Some(id.as_str()),
        }
    }
}

/// Which of the requests it selects a rule acts on.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum When {
    First(u64),
    Every(u64),
    /// Each with this probability, from the rule's seeded generator.
    Fraction(f64),
}

impl fmt::Display for When {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            When::First(n) => write!(f, "first {n}"),
            When::Every(1) => write!(f, "every one"),
            When::Every(k) => write!(f, "every {k}th"),
            When::Fraction(p) => write!(f, "fraction {p}"),
        }
    }
}

/// What a rule does to a request it acts on.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Answer `status` with `{"message": ...}`, and `Retry-After` when given (seconds).
    Status {
        status: u16,
        retry_after: Option<u64>,
        message: Option<String>,
    },
    /// Wait, then let the request go on.
    Delay(Delay),
    /// Reset the connection: no answer.
    Reset,
    /// The handler's answer with its body cut after at most this many bytes.
    Truncate(usize),
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Action::Status {
                status,
                retry_after,
                ..
            } => {
                write!(f, "{status}")?;
                match retry_after {
                    Some(s) => write!(f, " Retry-After: {s}"),
                    None => Ok(()),
                }
            }
            Action::Delay(delay) => write!(f, "delay {delay}"),
            Action::Reset => f.write_str("reset"),
            Action::Truncate(n) => write!(f, "truncate after {n} bytes"),
        }
    }
}

/// A wait in milliseconds, fixed (`min == max`) or drawn uniformly from `min..=max`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Delay {
    pub min: u64,
    pub max: u64,
}

impl Delay {
    /// `MS` or `MIN-MAX` (milliseconds), as `--latency` takes it.
    pub fn parse(text: &str) -> Result<Delay, String> {
        let number = |part: &str| {
            part.trim()
                .parse::<u64>()
                .map_err(|_| format!("{text:?} is not MS or MIN-MAX (milliseconds)"))
        };
        let delay = match text.split_once('-') {
            None => {
                let ms = number(text)?;
                Delay { min: ms, max: ms }
            }
            Some((min, max)) => Delay {
                min: number(min)?,
                max: number(max)?,
            },
        };
        if delay.min > delay.max {
            return Err(format!("{text:?}: the minimum is above the maximum"));
        }
        Ok(delay)
    }

    fn draw(&self, rng: &mut Rng) -> Duration {
        let span = self.max - self.min;
        let ms = match span.checked_add(1) {
            Some(n) => self.min + rng.next() % n,
            None => rng.next(),
        };
        Duration::from_millis(ms)
    }
}

impl fmt::Display for Delay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.min == self.max {
            write!(f, "{} ms", self.min)
        } else {
            write!(f, "{}-{} ms", self.min, self.max)
        }
    }
}

/// SplitMix64: small, seeded and the same on every platform, which is all a plan's choices
/// need (they must repeat run after run, not be unpredictable).
#[derive(Debug, Clone)]
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `[0, 1)`.
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// The operation table plans name operations from (the embedded one).
fn table() -> &'static OperationTable {
    OperationTable::embedded()
}

/// What a server starts with: a plan (`--faults FILE`) and a latency (`--latency`).
#[derive(Debug, Clone, Default)]
pub struct Setup {
    pub plan: Option<Plan>,
    pub latency: Option<Delay>,
}

impl FaultArgs {
    /// The plan read and checked, and the latency.
    pub fn setup(&self) -> Result<Setup, PlanError> {
        Ok(Setup {
            plan: self.faults.as_deref().map(load).transpose()?,
            latency: self.latency,
        })
    }
}

/// A handler with fault plans in front of it.
pub struct Faults<H> {
    inner: Arc<H>,
    latency: Option<Delay>,
    state: Mutex<State>,
}

struct State {
    /// The server's plan: for requests without a session, and sessions with no plan of theirs.
    default: Option<Scope>,
    /// Sessions' own plans.
    named: BTreeMap<String, Scope>,
    latency: Rng,
}

impl State {
    fn has_plans(&self) -> bool {
        self.default.is_some() || !self.named.is_empty()
    }
}

impl<H: Handler> Faults<H> {
    /// `inner` with the plan and latency of `setup` in front of it.
    pub fn new(inner: Arc<H>, setup: Setup) -> Faults<H> {
        Faults {
            inner,
            latency: setup.latency,
            state: Mutex::new(State {
                default: setup.plan.map(|plan| Scope::new(Arc::new(plan))),
                named: BTreeMap::new(),
                latency: Rng::new(0),
            }),
        }
    }

    /// The handler behind the plans.
    pub fn inner(&self) -> &Arc<H> {
        &self.inner
    }

    /// What every plan did: the server's, with each session's own under `sessions`.
    pub fn account(&self) -> Account {
        let state = self.lock();
        let mut account = state
            .default
            .as_ref()
            .map(Scope::account)
            .unwrap_or_default();
        account.sessions = state
            .named
            .iter()
            .map(|(name, scope)| (name.clone(), scope.account()))
            .collect();
        account
    }

    /// The account of the plan session `name`'s requests meet: its own, else the server's.
    pub fn session_account(&self, name: &str) -> Account {
        let state = self.lock();
        state
            .named
            .get(name)
            .or(state.default.as_ref())
            .map(Scope::account)
            .unwrap_or_default()
    }

    /// `report` (a server's report as JSON) with the account under [`REPORT_KEY`], when there is
    /// a plan.
    pub fn with_account(&self, mut report: Value, session: Option<&str>) -> Value {
        let account = match session {
            Some(name) => self.session_account(name),
            None => self.account(),
        };
        if let Some(object) = report.as_object_mut()
            && !account.is_empty()
        {
            object.insert(REPORT_KEY.into(), json!(account));
        }
        report
    }

    /// Writes a server's whole report, the account included, to `path` (`--report FILE`).
    pub fn write_report(
        &self,
        report: &impl serde::Serialize,
        path: &std::path::Path,
    ) -> std::io::Result<()> {
        let report = serde_json::to_value(report).expect("a report always serializes");
        let text = serde_json::to_string_pretty(&self.with_account(report, None))
            .expect("a report always serializes");
        std::fs::write(path, text + "\n")
    }

    /// Back to the start of every plan (`None`), or of session `name`'s own.
    pub fn rewind(&self, session: Option<&str>) {
        let mut state = self.lock();
        match session {
            Some(name) => {
                if let Some(scope) = state.named.get_mut(name) {
                    *scope = scope.rewound();
                }
            }
            None => {
                let State { default, named, .. } = &mut *state;
                for scope in default.iter_mut().chain(named.values_mut()) {
                    *scope = scope.rewound();
                }
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// What the plan of `request`'s scope does to it, and the latency.
    fn decide(&self, request: &hyper::Request<Incoming>) -> (Duration, Option<(usize, Action)>) {
        if self.latency.is_none() && !self.lock().has_plans() {
            // Nothing to do: no header copied, no operation looked up.
            return (Duration::ZERO, None);
        }
        let headers = to_headers(request.headers());
        let session = session_of(&headers).ok();
        let method = request.method().as_str();
        let path = request.uri().path();
        let operation = match table().lookup(method, path) {
            Lookup::Found { operation, .. } => Some(operation.id.as_str()),
            _ => None,
        };
        let mut state = self.lock();
        let latency = match self.latency {
            Some(delay) => delay.draw(&mut state.latency),
            None => Duration::ZERO,
        };
        let Some(session) = session else {
            // A session the wrapped handler refuses: no plan applies.
            return (latency, None);
        };
        let State { default, named, .. } = &mut *state;
        let scope = match session.and_then(|name| named.get_mut(name)) {
            Some(scope) => scope,
            None => match default {
                Some(scope) => scope,
                None => return (latency, None),
            },
        };
        let line = request_line(request);
        let decision = scope.decide(&Seen {
            operation,
            key: operation.map_or_else(|| format!("{method} {path}"), str::to_string),
            line: &line,
            session,
        });
        (latency + decision.delay, decision.action)
    }
}

impl<H: Handler> Handler for Faults<H> {
    async fn handle(&self, request: hyper::Request<Incoming>) -> Answer {
        let path = request.uri().path();
        if path == FAULTS_PATH {
            return self.control(request).await;
        }
        if path.starts_with("/__tailtape/") {
            let headers = to_headers(request.headers());
            let session = session_of(&headers).ok().flatten().map(str::to_string);
            let report = request.method() == hyper::Method::GET && path == "/__tailtape/report";
            let reset = request.method() == hyper::Method::POST && path == "/__tailtape/reset";
            let answer = self.inner.handle(request).await;
            if answer.status != 200 {
                return answer;
            }
            if reset {
                self.rewind(session.as_deref());
            }
            if report
                && self.lock().has_plans()
                && let Ok(value) = serde_json::from_slice::<Value>(&answer.body)
            {
                return pretty(200, &self.with_account(value, session.as_deref()));
            }
            return answer;
        }
        let (wait, action) = self.decide(&request);
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
        match action {
            None | Some((_, Action::Delay(_))) => self.inner.handle(request).await,
            Some((_, Action::Truncate(n))) => self.inner.handle(request).await.cut(Cut::After(n)),
            Some((_, Action::Reset)) => Answer::json(0, json!({})).cut(Cut::Reset),
            Some((
                index,
                Action::Status {
                    status,
                    retry_after,
                    message,
                },
            )) => {
                let message = message.unwrap_or_else(|| {
                    hyper::StatusCode::from_u16(status)
                        .ok()
                        .and_then(|s| s.canonical_reason())
                        .unwrap_or("error")
                        .to_ascii_lowercase()
                });
                let mut answer = Answer::json(status, json!({ "message": message }));
                if let Some(seconds) = retry_after {
                    answer
                        .headers
                        .push(("retry-after".into(), seconds.to_string()));
                }
                answer
                    .headers
                    .push((FAULT_HEADER.into(), (index + 1).to_string()));
                answer
            }
        }
    }

    /// With no plan and no latency, what the wrapped handler answers at once.
    fn answer_now(&self, request: &hyper::Request<Incoming>) -> Option<Reply<'_>> {
        if self.latency.is_some()
            || request.uri().path().starts_with("/__tailtape/")
            || self.lock().has_plans()
        {
            return None;
        }
        self.inner.answer_now(request)
    }

    fn drained(&self) -> impl std::future::Future<Output = ()> + Send {
        self.inner.drained()
    }
}

/// `METHOD path?query` with keys masked and at most 2 KiB kept, as hits list requests.
fn request_line(request: &hyper::Request<Incoming>) -> String {
    let target = request
        .uri()
        .path_and_query()
        .map_or_else(|| request.uri().path().to_string(), |p| p.to_string());
    let line = format!("{} {}", request.method(), target);
    crate::schema::truncate(crate::redact::mask_tokens(&line), 2048)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latency_reads_a_fixed_wait_or_a_range() {
        assert_eq!(Delay::parse("250"), Ok(Delay { min: 250, max: 250 }));
        assert_eq!(Delay::parse("100-500"), Ok(Delay { min: 100, max: 500 }));
        assert!(Delay::parse("500-100").unwrap_err().contains("above"));
        assert!(Delay::parse("fast").is_err());
    }

    #[test]
    fn a_range_draws_within_its_bounds_and_repeats_from_its_seed() {
        let delay = Delay { min: 10, max: 20 };
        let draws = |seed| {
            let mut rng = Rng::new(seed);
            (0..50).map(|_| delay.draw(&mut rng)).collect::<Vec<_>>()
        };
        let first = draws(7);
        assert_eq!(first, draws(7));
        assert_ne!(first, draws(8));
        assert!(first.iter().all(|d| (10..=20).contains(&d.as_millis())));
        assert!(first.iter().any(|d| d.as_millis() != first[0].as_millis()));
    }
}
