//! What a plan did, kept per scope (the server's plan, or a session's own): for each rule, how
//! many requests it selected and how many it hit, which ones (the first [`HITS_LISTED`]; the
//! rest counted), and for each 429 or 503 with `Retry-After`, whether the client's next request
//! for the same operation (in the same session) came before the time was up. The [`Account`]
//! is that state read out, for `GET /__tailtape/faults`, the report's `fault_plan` and
//! `--strict`.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;

use super::{Action, Plan, Rng, When};
use crate::junit::Case;

/// The most hits listed per rule; more are only counted (`hits_not_listed`).
pub const HITS_LISTED: usize = 100;

/// The most answers with `Retry-After` a scope waits on at once for the client's next request.
const PENDING_MAX: usize = 1024;

/// One plan at work: its rules' counts and what they hit.
pub(super) struct Scope {
    pub(super) plan: Arc<Plan>,
    rules: Vec<RuleState>,
    /// Per (session, operation) of an answer with `Retry-After`: when it was sent, and for how
    /// long it asked the client to wait.
    pending: HashMap<(Option<String>, String), Pending>,
    started: Instant,
}

struct RuleState {
    selected: u64,
    fired: u64,
    when: Rng,
    delay: Rng,
    hits: Vec<Hit>,
    not_listed: u64,
    too_early: u64,
}

struct Pending {
    at: Instant,
    wait: Duration,
    rule: usize,
    /// The hit's place in its rule's list, if it is listed.
    hit: Option<usize>,
}

/// A request a rule acted on.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Hit {
    /// The how-manieth request this rule selected (from 1).
    pub selected: u64,
    /// `METHOD path?query`, keys masked.
    pub request: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session: Option<String>,
    /// Milliseconds from the plan's start (or the last reset).
    pub at_ms: u64,
    /// The `Retry-After` sent, in seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_after_s: Option<u64>,
    /// After a `Retry-After`: milliseconds until the client's next request for the operation
    /// (absent while none came).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_request_ms: Option<u64>,
    /// After a `Retry-After`: whether that next request came before the time was up.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retried_too_early: Option<bool>,
}

/// What a request meets: a wait, then an action (`None`: it goes on to the wrapped handler).
pub(super) struct Decision {
    pub(super) delay: Duration,
    pub(super) action: Option<(usize, Action)>,
}

/// One request, as the plan sees it.
pub(super) struct Seen<'a> {
    /// Its operationId, if the operation table knows it.
    pub(super) operation: Option<&'a str>,
    /// Its operationId, else `METHOD path`: what "the same operation" means for retries.
    pub(super) key: String,
    pub(super) line: &'a str,
    pub(super) session: Option<&'a str>,
}

impl Scope {
    pub(super) fn new(plan: Arc<Plan>) -> Scope {
        let rules = plan
            .rules
            .iter()
            .map(|rule| RuleState::new(rule.seed))
            .collect();
        Scope {
            plan,
            rules,
            pending: HashMap::new(),
            started: Instant::now(),
        }
    }

    /// The same plan from its start: counts, generators and hits as new.
    pub(super) fn rewound(&self) -> Scope {
        Scope::new(Arc::clone(&self.plan))
    }

    /// Walks the rules for one request: each rule that selects it counts it; a delay that fires
    /// adds its wait and the walk goes on; any other action that fires ends it.
    pub(super) fn decide(&mut self, seen: &Seen<'_>) -> Decision {
        let now = Instant::now();
        let session = seen.session.map(str::to_string);
        if let Some(pending) = self.pending.remove(&(session.clone(), seen.key.clone())) {
            let waited = now.duration_since(pending.at);
            let early = waited < pending.wait;
            let state = &mut self.rules[pending.rule];
            if early {
                state.too_early += 1;
            }
            if let Some(hit) = pending.hit.and_then(|i| state.hits.get_mut(i)) {
                hit.next_request_ms = Some(millis(waited));
                hit.retried_too_early = Some(early);
            }
        }
        let at_ms = millis(now.duration_since(self.started));
        let mut decision = Decision {
            delay: Duration::ZERO,
            action: None,
        };
        for (index, rule) in self.plan.rules.iter().enumerate() {
            if !rule.select.matches(seen.operation) {
                continue;
            }
            let state = &mut self.rules[index];
            state.selected += 1;
            let fires = match rule.when {
                When::First(n) => state.selected <= n,
                When::Every(k) => state.selected.is_multiple_of(k),
                When::Fraction(p) => state.when.unit() < p,
            };
            if !fires {
                continue;
            }
            state.fired += 1;
            let retry_after = match &rule.action {
                Action::Status { retry_after, .. } => *retry_after,
                _ => None,
            };
            let hit = (state.hits.len() < HITS_LISTED).then(|| {
                state.hits.push(Hit {
                    selected: state.selected,
                    request: seen.line.to_string(),
                    session: session.clone(),
                    at_ms,
                    retry_after_s: retry_after,
                    next_request_ms: None,
                    retried_too_early: None,
                });
                state.hits.len() - 1
            });
            if hit.is_none() {
                state.not_listed += 1;
            }
            if let Some(seconds) = retry_after
                && self.pending.len() < PENDING_MAX
            {
                self.pending.insert(
                    (session.clone(), seen.key.clone()),
                    Pending {
                        at: now,
                        wait: Duration::from_secs(seconds),
                        rule: index,
                        hit,
                    },
                );
            }
            if let Action::Delay(delay) = &rule.action {
                decision.delay += delay.draw(&mut state.delay);
                continue;
            }
            decision.action = Some((index, rule.action.clone()));
            break;
        }
        decision
    }

    /// This scope read out.
    pub(super) fn account(&self) -> Account {
        let rules: Vec<RuleAccount> = self
            .plan
            .rules
            .iter()
            .zip(&self.rules)
            .enumerate()
            .map(|(index, (rule, state))| RuleAccount {
                rule: index + 1,
                name: rule.name.clone(),
                selects: rule.select.label().to_string(),
                when: rule.when.to_string(),
                action: rule.action.to_string(),
                selected: state.selected,
                fired: state.fired,
                never_fired: state.fired == 0,
                retried_too_early: state.too_early,
                hits: state.hits.clone(),
                hits_not_listed: state.not_listed,
            })
            .collect();
        Account {
            plan: Some(self.plan.source.clone()),
            summary: AccountSummary::of(&rules),
            rules,
            sessions: BTreeMap::new(),
        }
    }
}

impl RuleState {
    fn new(seed: u64) -> RuleState {
        RuleState {
            selected: 0,
            fired: 0,
            when: Rng::new(seed),
            // Another stream from the same seed, so that a range's draws do not move the
            // choices of `fraction`.
            delay: Rng::new(seed ^ 0x5DEE_CE66_D1CE_5EED),
            hits: Vec::new(),
            not_listed: 0,
            too_early: 0,
        }
    }
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

/// What a plan did: `GET /__tailtape/faults`, and `fault_plan` in the report.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Account {
    /// Where the plan came from (its file, or `<request body>`); absent when only sessions
    /// have plans.
    pub plan: Option<String>,
    pub summary: AccountSummary,
    pub rules: Vec<RuleAccount>,
    /// The account of each session that was given a plan of its own, by name.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub sessions: BTreeMap<String, Account>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct AccountSummary {
    pub rules: usize,
    /// Hits of every rule together.
    pub fired: u64,
    /// Rules that hit no request (each fails `--strict`).
    pub never_fired: usize,
    /// Requests that came before the `Retry-After` of the answer before them was up.
    pub retried_too_early: u64,
}

impl AccountSummary {
    fn of(rules: &[RuleAccount]) -> AccountSummary {
        AccountSummary {
            rules: rules.len(),
            fired: rules.iter().map(|r| r.fired).sum(),
            never_fired: rules.iter().filter(|r| r.never_fired).count(),
            retried_too_early: rules.iter().map(|r| r.retried_too_early).sum(),
        }
    }
}

/// One rule of a plan and what it did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RuleAccount {
    /// Its place in the plan, from 1.
    pub rule: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// `listTailnetDevices`, `GET /api/v2/device/{deviceId}`, `*`.
    pub selects: String,
    /// `first 2`, `every 3rd`, `fraction 0.25 (seed 7)`.
    pub when: String,
    /// `429 Retry-After: 1`, `delay 100-500 ms`, `reset`, `truncate after 10 bytes`.
    pub action: String,
    /// Requests it selected.
    pub selected: u64,
    /// Requests it acted on.
    pub fired: u64,
    pub never_fired: bool,
    pub retried_too_early: u64,
    pub hits: Vec<Hit>,
    pub hits_not_listed: u64,
}

impl Account {
    /// Whether there is any plan in it.
    pub fn is_empty(&self) -> bool {
        self.plan.is_none() && self.sessions.is_empty()
    }

    /// What `--strict` requires: every rule of every plan fired at least once.
    pub fn is_clean(&self) -> bool {
        self.summary.never_fired == 0 && self.sessions.values().all(Account::is_clean)
    }

    /// The plan's JUnit cases: one per rule (suite `<faults>`, or `<faults NAME>` for a
    /// session's own plan), failed when it never fired.
    pub fn junit_cases(&self) -> Vec<Case> {
        let mut cases = Vec::new();
        let scopes = std::iter::once(("<faults>".to_string(), self)).chain(
            self.sessions
                .iter()
                .map(|(name, account)| (format!("<faults {name}>"), account)),
        );
        for (suite, account) in scopes {
            for rule in &account.rules {
                let name = rule
                    .name
                    .as_deref()
                    .map(|n| format!(" ({n})"))
                    .unwrap_or_default();
                let request = format!(
                    "rule {}{name}: {} {}: {}",
                    rule.rule, rule.selects, rule.when, rule.action
                );
                let failure = rule.never_fired.then(|| {
                    format!(
                        "{request}: never fired ({} requests selected); a rule that never fired \
                         fails --strict",
                        rule.selected
                    )
                });
                cases.push(Case {
                    cassette: suite.clone(),
                    interaction: rule.rule,
                    request,
                    failure,
                });
            }
        }
        cases
    }

    /// One line for the log at exit.
    pub fn summary_line(&self) -> String {
        let mut total = self.summary.clone();
        for account in self.sessions.values() {
            total.rules += account.summary.rules;
            total.fired += account.summary.fired;
            total.never_fired += account.summary.never_fired;
            total.retried_too_early += account.summary.retried_too_early;
        }
        format!(
            "faults: {}, {} fired, {} never fired, {} retried too early{}",
            crate::log::count(total.rules, "rule"),
            total.fired,
            total.never_fired,
            total.retried_too_early,
            if self.sessions.is_empty() {
                String::new()
            } else {
                format!(
                    " (with {})",
                    crate::log::count(self.sessions.len(), "session plan")
                )
            }
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope(plan: &str) -> Scope {
        Scope::new(Arc::new(super::super::parse("plan.json", plan).unwrap()))
    }

    fn seen(operation: &str) -> Seen<'_> {
        Seen {
            operation: Some(operation),
            key: operation.to_string(),
            line: "GET /x",
            session: None,
        }
    }

    #[test]
    fn a_delay_that_fires_adds_its_wait_and_the_walk_goes_on() {
        let mut scope = scope(
            r#"{"rules": [
                {"operation": "*", "first": 1, "delay": 50},
                {"operation": "listDnsSearchPaths", "every": 2, "delay": 20},
                {"operation": "listDnsSearchPaths", "first": 2, "status": 503},
                {"operation": "listDnsSearchPaths", "first": 5, "reset": true}
            ]}"#,
        );
        let first = scope.decide(&seen("listDnsSearchPaths"));
        assert_eq!(first.delay, Duration::from_millis(50));
        assert!(matches!(
            first.action,
            Some((2, Action::Status { status: 503, .. }))
        ));
        let second = scope.decide(&seen("listDnsSearchPaths"));
        assert_eq!(second.delay, Duration::from_millis(20));
        assert!(matches!(second.action, Some((2, _))));
        // The reset rule sees only what the 503 rule let through.
        let third = scope.decide(&seen("listDnsSearchPaths"));
        assert!(matches!(third.action, Some((3, Action::Reset))));
        let account = scope.account();
        let fired: Vec<u64> = account.rules.iter().map(|r| r.fired).collect();
        assert_eq!(fired, [1, 1, 2, 1]);
        let selected: Vec<u64> = account.rules.iter().map(|r| r.selected).collect();
        assert_eq!(selected, [3, 3, 3, 1]);
    }

    #[test]
    fn hits_beyond_the_listed_are_counted() {
        let mut scope = scope(r#"{"rules": [{"operation": "*", "every": 1, "status": 500}]}"#);
        for _ in 0..HITS_LISTED + 5 {
            scope.decide(&seen("getDevice"));
        }
        let rule = &scope.account().rules[0];
        assert_eq!(rule.fired, HITS_LISTED as u64 + 5);
        assert_eq!(rule.hits.len(), HITS_LISTED);
        assert_eq!(rule.hits_not_listed, 5);
    }
}
