//! Every request of every bundled cassette, sent to the emulator of the bundled seed in a
//! session of its own: no answer breaks the documented response schemas; and every documented
//! operation has a handler (none answers 501 `not emulated yet`).

mod emulate_support;

use emulate_support::{Emu, send_raw};
use tailtape::body::Body;
use tailtape::cassette;
use tailtape::schema::Contract;

/// The request as bytes, with an API key where the cassette had a redacted one.
fn wire(request: &cassette::Request, session: &str) -> Vec<u8> {
    let target = match &request.query {
        Some(q) => format!("{}?{q}", request.path),
        None => request.path.clone(),
    };
    let mut headers = vec![format!("tailtape-session: {session}")];
    for (name, value) in &request.headers {
        if name == "authorization" {
            headers.push(emulate_support::KEY.to_string());
        } else if name != "content-length" && name != "host" && name != "connection" {
            headers.push(format!("{name}: {value}"));
        }
    }
    let body = match &request.body {
        Body::Empty => Vec::new(),
        Body::Json(v) => v.to_string().into_bytes(),
        Body::Text(t) => t.clone().into_bytes(),
        Body::Binary(b) => b.clone(),
        Body::Doc(_) => unreachable!("a loaded cassette holds values"),
    };
    emulate_support::request(&request.method, &target, &headers, &body)
}

#[test]
fn every_bundled_request_gets_an_answer_that_keeps_the_documented_contract() {
    let emu = Emu::start();
    let mut answered = 0;
    for source in cassette::bundled() {
        let name = source.name();
        let cassette = source.load().unwrap();
        for interaction in &cassette.interactions {
            let reply = send_raw(emu.server.addr(), &wire(&interaction.request, &name)).unwrap();
            assert_ne!(reply.status, 0, "{name}: {}", interaction.request);
            answered += 1;
        }
    }
    assert!(answered > 150, "{answered}");
    // Emu's drop fails the test on any finding on an emulator answer.
}

#[test]
fn every_documented_operation_is_emulated() {
    let contract = Contract::load(None).unwrap();
    let missing = tailtape::emulate::not_emulated(contract.table());
    let expected: &[&str] = &[];
    assert_eq!(missing, expected);
}
