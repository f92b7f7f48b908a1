//! Bad requests to every operation: bodies of the wrong kind, no body, unknown ids. Each gets
//! an answer, no handler panics, and the server goes on answering.

mod emulate_support;

use emulate_support::{KEY, request, send_raw};
use tailtape::emulate::{EmulateServer, Emulator, Options};

/// A path for `template` with every parameter filled: a known device, else `x`.
fn path_of(template: &str) -> String {
    template
        .split('/')
        .map(|segment| match segment {
            "{deviceId}" => "n5SUKe8CNTRL",
            "{tailnet}" => "-",
            s if s.starts_with('{') => "x",
            s => s,
        })
        .collect::<Vec<_>>()
        .join("/")
}

#[test]
fn every_operation_answers_bad_bodies_without_a_panic() {
    let server = EmulateServer::start(Emulator::example(Options::default())).unwrap();
    let table = server.emulator().contract().table();
    let bodies: [&[u8]; 6] = [
        b"",
        b"[]",
        b"{}",
        b"\"x\"",
        b"{\"a\": [1, {\"b\": null}]}",
        b"not json",
    ];
    let mut sent = 0;
    for op in table.operations() {
        let path = path_of(&op.path);
        for body in bodies {
            let headers = [
                KEY.to_string(),
                "content-type: application/json".to_string(),
            ];
            let reply = send_raw(server.addr(), &request(&op.method, &path, &headers, body))
                .unwrap_or_else(|e| panic!("{} {path}: {e}", op.method));
            assert_ne!(reply.status, 0, "{} {path}", op.method);
            assert!(
                reply.status < 500 || reply.status == 501,
                "{} {path}: {}",
                op.method,
                reply.status
            );
            sent += 1;
        }
    }
    let report = server.report(None);
    let panics: Vec<_> = report
        .faults
        .iter()
        .filter(|f| f.issue.rule == tailtape::emulate::PANIC)
        .collect();
    assert!(panics.is_empty(), "{panics:#?}");
    assert_eq!(report.summary.requests, sent);
    let health = send_raw(
        server.addr(),
        &request("GET", "/__tailtape/health", &[], b""),
    )
    .unwrap();
    assert_eq!(health.status, 200);
}
