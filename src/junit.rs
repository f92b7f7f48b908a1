//! JUnit XML for CI dashboards (`--junit FILE` on `validate` and `replay`): one test suite per
//! cassette, one test case per interaction named after its request. A case fails when its
//! interaction has error findings (or, in replay, when a request went unmatched) and carries
//! every finding; warnings alone go to the case's system-out.

use std::collections::HashMap;
use std::path::Path;

use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};

use crate::finding::{Finding, Level};

/// One interaction as a test case.
#[derive(Debug, Clone)]
pub struct Case {
    pub cassette: String,
    pub interaction: usize,
    pub request: String,
    /// A failure that is not a finding: a replayed request nothing answered.
    pub failure: Option<String>,
}

/// Writes the cases, with the findings that belong to them, to `path`.
pub fn write(path: &Path, name: &str, cases: &[Case], findings: &[Finding]) -> std::io::Result<()> {
    let xml = render(name, cases, findings).map_err(std::io::Error::other)?;
    std::fs::write(path, xml)
}

pub fn render(
    name: &str,
    cases: &[Case],
    findings: &[Finding],
) -> Result<String, quick_junit::SerializeError> {
    let mut by_case: HashMap<(&str, usize), Vec<&Finding>> = HashMap::new();
    for finding in findings {
        by_case
            .entry((&finding.cassette, finding.interaction))
            .or_default()
            .push(finding);
    }
    let mut report = Report::new(name);
    let mut suites: Vec<TestSuite> = Vec::new();
    for case in cases {
        if suites
            .last()
            .is_none_or(|s| s.name.as_str() != case.cassette)
        {
            suites.push(TestSuite::new(case.cassette.as_str()));
        }
        let found = by_case.get(&(case.cassette.as_str(), case.interaction));
        let lines: Vec<String> = found.into_iter().flatten().map(|f| line(f)).collect();
        let errors = found
            .into_iter()
            .flatten()
            .filter(|f| f.issue.level == Level::Error)
            .count();
        let status = if errors > 0 || case.failure.is_some() {
            let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
            let message = match &case.failure {
                Some(reason) => reason.clone(),
                None => format!("{errors} error{}", if errors == 1 { "" } else { "s" }),
            };
            status
                .set_message(message)
                .set_description(lines.join("\n"));
            status
        } else {
            TestCaseStatus::success()
        };
        let mut test = TestCase::new(format!("#{} {}", case.interaction, case.request), status);
        test.set_classname(case.cassette.as_str());
        if errors == 0 && case.failure.is_none() && !lines.is_empty() {
            test.set_system_out(lines.join("\n"));
        }
        if let Some(suite) = suites.last_mut() {
            suite.add_test_case(test);
        }
    }
    report.add_test_suites(suites);
    report.to_string()
}

fn line(f: &Finding) -> String {
    let i = &f.issue;
    format!(
        "{} {} {i}",
        i.level.as_str(),
        i.operation.as_deref().unwrap_or("-")
    )
}
