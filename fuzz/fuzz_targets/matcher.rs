//! The replay matcher over the bundled cassettes' requests, with arbitrary requests (a bundled
//! one, edited or not) through `find` and, when nothing matched, `nearest`: no panic; an
//! unedited recorded request finds its own sequence; the order of query pairs never changes
//! the answer; the nearest request always exists and its diff never shows a `tskey-` token.
#![no_main]

use std::sync::LazyLock;

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use tailtape::cassette::Request;
use tailtape::matching::Matcher;
use tailtape::schema::Contract;
use tailtape_fuzz::{ArbBody, INTERACTIONS, shows_token};

struct State {
    contract: Contract,
    matcher: Matcher,
}

static STATE: LazyLock<State> = LazyLock::new(|| {
    let contract = Contract::load(None).expect("the embedded schemas load");
    let matcher = Matcher::new(&contract, INTERACTIONS.iter().map(|i| &i.request));
    State { contract, matcher }
});

#[derive(Arbitrary, Debug)]
struct Input {
    /// The bundled request to start from (modulo their count).
    base: u16,
    method: Option<String>,
    path: Option<PathEdit>,
    query: Option<Option<String>>,
    headers: Vec<(String, String)>,
    body: Option<ArbBody>,
    /// Whether to ask for the nearest request too, as replay does when nothing matched. Not
    /// always: its diffs cost most of a run, and `find` deserves runs of its own.
    nearest: bool,
}

#[derive(Arbitrary, Debug)]
enum PathEdit {
    Replace(String),
    Append(String),
    /// Replace the segment at this index (modulo their count).
    Segment(u8, String),
}

impl PathEdit {
    fn apply(&self, path: &mut String) {
        match self {
            PathEdit::Replace(new) => *path = new.clone(),
            PathEdit::Append(more) => path.push_str(more),
            PathEdit::Segment(i, new) => {
                let mut segments: Vec<&str> = path.split('/').collect();
                let i = *i as usize % segments.len();
                segments[i] = new;
                *path = segments.join("/");
            }
        }
    }
}

fuzz_target!(|input: Input| {
    let State { contract, matcher } = &*STATE;
    let table = contract.table();
    let base = input.base as usize % INTERACTIONS.len();
    let mut request: Request = INTERACTIONS[base].request.clone();
    let edited = input.method.is_some()
        || input.path.is_some()
        || input.query.is_some()
        || !input.headers.is_empty()
        || input.body.is_some();
    if let Some(method) = &input.method {
        request.method = method.clone();
    }
    if let Some(edit) = &input.path {
        edit.apply(&mut request.path);
    }
    if let Some(query) = &input.query {
        request.query = query.clone();
    }
    for (name, value) in &input.headers {
        request.headers.insert(name.clone(), value.clone());
    }
    if let Some(body) = &input.body {
        request.body = body.to_body();
    }

    let found = matcher.find(table, &request);
    if !edited {
        let sequence = found.expect("a recorded request finds a sequence");
        assert!(
            matcher.sequence(sequence).contains(&base),
            "recorded request {base} found a sequence it is not in"
        );
    }
    if let Some(query) = &request.query {
        let mut reversed = request.clone();
        let pairs: Vec<&str> = query.split('&').rev().collect();
        reversed.query = Some(pairs.join("&"));
        assert_eq!(
            matcher.find(table, &reversed),
            found,
            "the order of query pairs changed the match"
        );
    }

    if !input.nearest || found.is_some() {
        return;
    }
    let nearest = matcher
        .nearest(table, &request)
        .expect("with requests recorded there is always a nearest one");
    assert!(nearest.index < INTERACTIONS.len());
    assert!(
        !shows_token(&nearest.diff),
        "the diff shows a token: {}",
        nearest.diff
    );
});
