//! `tailtape seed`: the seed a set of cassettes implies, so that a recording becomes an
//! emulated tailnet. The first reads are taken; what the cassettes created is left out.

mod emulate_support;

use emulate_support::{KEY, request, send_raw, start_showing, stop, tailtape};
use serde_json::{Value, json};
use tailtape::cassette;
use tailtape::schema::Contract;

fn bundled_seed() -> Value {
    let contract = Contract::load(None).unwrap();
    let cassettes: Vec<_> = cassette::bundled()
        .into_iter()
        .map(|s| s.load().unwrap())
        .collect();
    tailtape::emulate::derive(contract.table(), &cassettes)
}

fn ids(seed: &Value, list: &str, field: &str) -> Vec<String> {
    seed[list]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item[field].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn the_bundled_cassettes_imply_the_example_tailnet_without_what_they_created() {
    let seed = bundled_seed();
    let example: Value = serde_json::from_str(tailtape::emulate::seed::EXAMPLE).unwrap();
    assert_eq!(seed["name"], "example.com");
    assert_eq!(seed["devices"], example["devices"]);
    assert_eq!(seed["users"], example["users"]);
    assert_eq!(
        seed["policy"], example["policy"],
        "the HuJSON text, byte for byte"
    );
    assert_eq!(seed["settings"], example["settings"]);
    assert_eq!(seed["services"], example["services"]);
    assert_eq!(ids(&seed, "keys", "id"), ["kYKVU14CNTRL", "k68VdZ3CNTRL"]);
    assert_eq!(ids(&seed, "webhooks", "endpointId"), ["wSl4Ck2CNTRL"]);
    assert_eq!(ids(&seed, "deviceInvites", "id"), ["12345", "12346"]);
    assert_eq!(seed["userInvites"], json!([]));
    assert_eq!(seed["oauthApps"], json!([]));
    assert_eq!(seed["account"], example["account"]);
    assert_eq!(seed["logStreams"], json!({}));
    assert_eq!(seed["logStreamStatus"], example["logStreamStatus"]);
}

#[test]
fn a_users_own_recording_becomes_an_emulated_tailnet() {
    let dir = tempfile::tempdir().unwrap();
    let cassette = dir.path().join("mine.json");
    let device = json!({
        "id": "123456789012", "nodeId": "nMine01CNTRL", "name": "gw.corp.ts.net",
        "hostname": "gw", "addresses": ["100.64.0.9"], "user": "me@corp.example",
        "os": "linux", "authorized": true, "isExternal": false, "clientVersion": "1.80.0",
        "updateAvailable": false, "created": "2026-01-01T00:00:00Z", "lastSeen": "2026-11-30T07:59:00Z",
        "keyExpiryDisabled": false, "expires": "2027-01-01T00:00:00Z", "machineKey": "mkey:0a",
        "nodeKey": "nodekey:0b", "blocksIncomingConnections": false,
        "enabledRoutes": [], "advertisedRoutes": ["10.9.0.0/16"],
    });
    let text = json!({
        "tailtape": 1,
        "recorded": {"at": "2026-11-30T08:00:00Z", "upstream": "https://api.tailscale.com", "tailnet": "corp.example"},
        "interactions": [{
            "request": {"method": "GET", "path": "/api/v2/tailnet/-/devices", "query": "fields=all",
                        "headers": {"authorization": "Bearer <redacted>"}},
            "response": {"status": 200, "headers": {"content-type": "application/json"},
                         "json": {"devices": [device]}},
        }],
    });
    std::fs::write(&cassette, text.to_string()).unwrap();
    let run = tailtape(&["seed", cassette.to_str().unwrap()]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let seed_file = dir.path().join("seed.json");
    std::fs::write(&seed_file, &run.stdout).unwrap();

    let (running, addr, _) = start_showing(&["emulate", "--seed", seed_file.to_str().unwrap()]);
    let get = |path: &str| send_raw(addr, &request("GET", path, &[KEY.into()], b"")).unwrap();
    let read = get("/api/v2/device/nMine01CNTRL?fields=all");
    assert_eq!(read.status, 200);
    assert_eq!(read.json()["name"], "gw.corp.ts.net");
    assert_eq!(
        get("/api/v2/tailnet/corp.example/devices").json()["devices"][0]["hostname"],
        "gw"
    );
    stop(running, "TERM");
}

#[test]
fn a_cassette_that_cannot_be_read_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, "{\"tailtape\": 1,").unwrap();
    let run = tailtape(&["seed", bad.to_str().unwrap()]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("bad.json:1:"), "{}", run.stderr);
}
