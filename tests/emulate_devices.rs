//! Devices and their posture attributes through the emulator: reads, changes re-read, the
//! tagOwners refusal, routes, the shared-in device that cannot be deleted, and a delete that
//! takes what hangs off the device with it.

mod emulate_support;

use emulate_support::{Emu, text};
use rstest::rstest;
use serde_json::{Value, json};

const PANGOLIN: &str = "/api/v2/device/n5SUKe8CNTRL";
const ARMADILLO: &str = "/api/v2/device/nK7Pq3aCNTRL";

#[rstest]
#[case::all("fields=all", true)]
#[case::default("fields=default", false)]
#[case::unspecified("", false)]
fn fields_all_adds_routes_and_connectivity(#[case] query: &str, #[case] full: bool) {
    let emu = Emu::start();
    let list = emu
        .get(&format!("/api/v2/tailnet/-/devices?{query}"))
        .json();
    let devices = list["devices"].as_array().unwrap();
    assert_eq!(devices.len(), 3);
    assert_eq!(devices[0]["nodeId"], "n5SUKe8CNTRL");
    assert_eq!(devices[0].get("enabledRoutes").is_some(), full, "{query}");
    assert_eq!(devices[0].get("clientConnectivity").is_some(), full);
    assert_eq!(devices[0]["tags"], json!(["tag:server"]));
}

/// The documented `<field>=<value>` filters: exact matches, ANDed, a list holding the value.
#[rstest]
#[case::a_string("os=linux", &["pangolin"])]
#[case::a_list_and_a_string("tags=tag:server&hostname=pangolin", &["pangolin"])]
#[case::and_means_both("tags=tag:server&hostname=armadillo", &[])]
#[case::a_boolean("isExternal=true", &["otter"])]
#[case::nothing_by_that_name("hostname=nothing-by-this-name", &[])]
#[case::with_fields("fields=all&os=macOS", &["armadillo"])]
fn device_filters_pick_the_devices_that_match(#[case] query: &str, #[case] want: &[&str]) {
    let emu = Emu::start();
    let list = emu
        .get(&format!("/api/v2/tailnet/-/devices?{query}"))
        .json();
    let hostnames: Vec<&str> = list["devices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["hostname"].as_str().unwrap())
        .collect();
    assert_eq!(hostnames, want, "{query}");
}

#[test]
fn an_unknown_device_is_404_in_tailscales_error_shape() {
    let emu = Emu::start();
    for path in [
        "/api/v2/device/nDoesNotExist",
        "/api/v2/device/nDoesNotExist/routes",
        "/api/v2/device/nDoesNotExist/attributes",
    ] {
        let reply = emu.get(path);
        assert_eq!(reply.status, 404, "{path}");
        assert_eq!(reply.json(), json!({"message": "not found"}));
    }
}

#[test]
fn a_tag_the_policy_does_not_own_is_refused_and_an_owned_one_is_set() {
    let emu = Emu::start();
    let refused = emu.json(
        "POST",
        &format!("{ARMADILLO}/tags"),
        json!({"tags": ["tag:laptop", "tag:madeup"]}),
    );
    assert_eq!(refused.status, 400);
    assert_eq!(
        text(&refused.json(), "/message"),
        "requested tags [tag:madeup] are invalid or not permitted"
    );
    assert!(emu.get(ARMADILLO).json().get("tags").is_none());

    let set = emu.json(
        "POST",
        &format!("{ARMADILLO}/tags"),
        json!({"tags": ["tag:laptop"]}),
    );
    assert_eq!(set.status, 200);
    assert_eq!(emu.get(ARMADILLO).json()["tags"], json!(["tag:laptop"]));
}

#[test]
fn authorize_key_expiry_ip_and_name_show_on_the_next_read() {
    let emu = Emu::start();
    let post = |path: &str, body: Value| {
        let reply = emu.json("POST", &format!("{ARMADILLO}/{path}"), body);
        assert_eq!(
            reply.status,
            200,
            "{path}: {}",
            String::from_utf8_lossy(&reply.body)
        );
    };
    post("authorized", json!({"authorized": true}));
    post("key", json!({"keyExpiryDisabled": true}));
    post("ip", json!({"ipv4": "100.80.0.1"}));
    post("name", json!({"name": "armadillo-2"}));
    let device = emu.get(&format!("{ARMADILLO}?fields=all")).json();
    assert_eq!(device["authorized"], true);
    assert_eq!(device["keyExpiryDisabled"], true);
    assert_eq!(device["addresses"][0], "100.80.0.1");
    assert_eq!(device["name"], "armadillo-2.tailfe8c.ts.net");

    let before = text(&device, "/expires").to_string();
    assert_eq!(
        emu.send("POST", &format!("{ARMADILLO}/expire"), &[], b"")
            .status,
        200
    );
    let after = emu.get(ARMADILLO).json();
    assert_ne!(text(&after, "/expires"), before);
}

#[test]
fn enabled_routes_stay_within_the_advertised_ones() {
    let emu = Emu::start();
    let routes = format!("{PANGOLIN}/routes");
    let reply = emu.json(
        "POST",
        &routes,
        json!({"routes": ["10.0.0.0/16", "192.168.1.0/24", "172.16.0.0/12"]}),
    );
    assert_eq!(reply.status, 200);
    let expected = json!({
        "advertisedRoutes": ["10.0.0.0/16", "192.168.1.0/24"],
        "enabledRoutes": ["10.0.0.0/16", "192.168.1.0/24"],
    });
    assert_eq!(reply.json(), expected);
    assert_eq!(emu.get(&routes).json(), expected);
}

#[test]
fn a_shared_in_device_cannot_be_deleted_501_as_documented() {
    let emu = Emu::start();
    let reply = emu.delete("/api/v2/device/nX2wYz9CNTRL");
    assert_eq!(reply.status, 501);
    assert_eq!(
        text(&reply.json(), "/message"),
        "cannot delete devices outside of your tailnet"
    );
    assert_eq!(emu.get("/api/v2/device/nX2wYz9CNTRL").status, 200);
}

#[test]
fn deleting_a_device_removes_it_its_attributes_and_its_invites() {
    let emu = Emu::start();
    assert_eq!(
        emu.get(&format!("{PANGOLIN}/device-invites"))
            .json()
            .as_array()
            .unwrap()
            .len(),
        2
    );
    assert_eq!(emu.delete(PANGOLIN).status, 200);
    assert_eq!(emu.get(PANGOLIN).status, 404);
    assert_eq!(emu.get(&format!("{PANGOLIN}/attributes")).status, 404);
    assert_eq!(emu.get("/api/v2/device-invites/12345").status, 404);
    let list = emu.get("/api/v2/tailnet/-/devices").json();
    let ids: Vec<&str> = list["devices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["nodeId"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["nK7Pq3aCNTRL", "nX2wYz9CNTRL"]);
}

#[test]
fn custom_posture_attributes_are_set_expire_and_are_deleted_one_by_one_or_in_a_batch() {
    let emu = Emu::start();
    let attributes = format!("{PANGOLIN}/attributes");
    let set = emu.json(
        "POST",
        &format!("{attributes}/custom:diskEncryption"),
        json!({"value": true, "expiry": "2027-01-01T00:00:00+00:00"}),
    );
    assert_eq!(set.status, 200);
    let read = emu.get(&attributes).json();
    assert_eq!(read["attributes"]["custom:diskEncryption"], true);
    assert_eq!(read["attributes"]["node:os"], "linux");
    assert_eq!(
        read["expiries"]["custom:diskEncryption"],
        "2027-01-01T00:00:00Z"
    );

    assert_eq!(
        emu.delete(&format!("{attributes}/custom:diskEncryption"))
            .status,
        200
    );
    let read = emu.get(&attributes).json();
    assert!(read["attributes"].get("custom:diskEncryption").is_none());
    assert_eq!(read["expiries"], json!({}));

    let batch = emu.json(
        "PATCH",
        "/api/v2/tailnet/-/device-attributes",
        json!({"nodes": {
            "n5SUKe8CNTRL": {"custom:tier": {"value": "prod"}},
            "nK7Pq3aCNTRL": {"custom:tier": {"value": "dev"}},
        }}),
    );
    assert_eq!(batch.status, 200);
    assert_eq!(
        emu.get(&attributes).json()["attributes"]["custom:tier"],
        "prod"
    );
    let armadillo = emu.get(&format!("{ARMADILLO}/attributes")).json();
    assert_eq!(armadillo["attributes"]["custom:tier"], "dev");
}
