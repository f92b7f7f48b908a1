//! The other resources through the emulator, each walked create → list → get → update →
//! delete → 404 where it has them: users, DNS, settings and contacts, webhooks, posture
//! integrations, log streaming, services, invites and OAuth apps.

mod emulate_support;

use emulate_support::{Emu, text};
use rstest::rstest;
use serde_json::{Value, json};

fn names(list: &Value, field: &str) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|item| item[field].as_str().unwrap().to_string())
        .collect()
}

#[rstest]
#[case::members("", &["amelie@example.com", "bruno@example.com", "carla@example.com", "dmitri@example.com"])]
#[case::shared("?type=shared", &["dana@partner.example"])]
#[case::owner("?role=owner", &["amelie@example.com"])]
#[case::everyone_admin("?type=all&role=it-admin", &["dmitri@example.com"])]
fn users_are_filtered_by_type_and_role(#[case] query: &str, #[case] expected: &[&str]) {
    let emu = Emu::start();
    let list = emu.get(&format!("/api/v2/tailnet/-/users{query}")).json();
    assert_eq!(names(&list["users"], "loginName"), expected);
}

#[test]
fn a_user_is_approved_given_a_role_suspended_restored_and_deleted() {
    let emu = Emu::start();
    let carla = "/api/v2/users/uCa9Rl3CNTRL";
    assert_eq!(
        emu.send("POST", &format!("{carla}/approve"), &[], b"")
            .status,
        200
    );
    let role = emu.json(
        "POST",
        &format!("{carla}/role"),
        json!({"role": "network-admin"}),
    );
    assert_eq!(role.status, 200);
    let read = emu.get(carla).json();
    assert_eq!(
        (read["status"].as_str(), read["role"].as_str()),
        (Some("active"), Some("network-admin"))
    );
    assert_eq!(
        emu.send("POST", &format!("{carla}/suspend"), &[], b"")
            .status,
        200
    );
    assert_eq!(emu.get(carla).json()["status"], "suspended");
    assert_eq!(
        emu.send("POST", &format!("{carla}/restore"), &[], b"")
            .status,
        200
    );
    assert_eq!(emu.get(carla).json()["status"], "active");
    assert_eq!(
        emu.send("POST", &format!("{carla}/delete"), &[], b"")
            .status,
        200
    );
    assert_eq!(emu.get(carla).status, 404);
}

#[test]
fn the_owner_keeps_their_role_and_cannot_be_suspended() {
    let emu = Emu::start();
    let amelie = "/api/v2/users/uA7mEl1CNTRL";
    let role = emu.json("POST", &format!("{amelie}/role"), json!({"role": "member"}));
    assert_eq!(role.status, 400);
    assert_eq!(
        emu.send("POST", &format!("{amelie}/suspend"), &[], b"")
            .status,
        403
    );
    assert_eq!(emu.get(amelie).json()["role"], "owner");
}

#[test]
fn deleting_a_user_deletes_their_devices() {
    let emu = Emu::start();
    assert_eq!(
        emu.send("POST", "/api/v2/users/uBr8No2CNTRL/delete", &[], b"")
            .status,
        200
    );
    assert_eq!(emu.get("/api/v2/device/nK7Pq3aCNTRL").status, 404);
    let devices = emu.get("/api/v2/tailnet/-/devices").json();
    assert_eq!(
        names(&devices["devices"], "hostname"),
        ["pangolin", "otter"]
    );
}

#[test]
fn split_dns_patch_merges_and_null_deletes_and_put_replaces() {
    let emu = Emu::start();
    let split = "/api/v2/tailnet/-/dns/split-dns";
    assert_eq!(
        emu.get(split).json(),
        json!({"corp.example.com": ["10.0.0.53"]})
    );
    let merged = emu.json("PATCH", split, json!({"lab.example.com": ["10.1.0.53"]}));
    assert_eq!(
        merged.json(),
        json!({"corp.example.com": ["10.0.0.53"], "lab.example.com": ["10.1.0.53"]})
    );
    let deleted = emu.json("PATCH", split, json!({"corp.example.com": null}));
    assert_eq!(deleted.json(), json!({"lab.example.com": ["10.1.0.53"]}));
    let replaced = emu.json("PUT", split, json!({"home.example.com": ["192.168.1.1"]}));
    assert_eq!(
        replaced.json(),
        json!({"home.example.com": ["192.168.1.1"]})
    );
    assert_eq!(emu.get(split).json(), replaced.json());
    let config = emu.get("/api/v2/tailnet/-/dns/configuration").json();
    assert_eq!(
        config["splitDNS"]["home.example.com"][0]["address"],
        "192.168.1.1"
    );
}

#[test]
fn magic_dns_needs_a_nameserver_and_goes_off_without_one() {
    let emu = Emu::start();
    let prefs = "/api/v2/tailnet/-/dns/preferences";
    let servers = "/api/v2/tailnet/-/dns/nameservers";
    assert_eq!(
        emu.json("POST", prefs, json!({"magicDNS": true})).status,
        400
    );
    let set = emu.json("POST", servers, json!({"dns": ["8.8.8.8"]}));
    assert_eq!(set.json(), json!({"dns": ["8.8.8.8"], "magicDNS": false}));
    assert_eq!(
        emu.json("POST", prefs, json!({"magicDNS": true})).json(),
        json!({"magicDNS": true})
    );
    assert_eq!(emu.get(servers).json(), json!({"dns": ["8.8.8.8"]}));
    emu.json("POST", servers, json!({"dns": []}));
    assert_eq!(emu.get(prefs).json(), json!({"magicDNS": false}));
    let paths = "/api/v2/tailnet/-/dns/searchpaths";
    emu.json("POST", paths, json!({"searchPaths": ["corp.example.com"]}));
    assert_eq!(
        emu.get(paths).json(),
        json!({"searchPaths": ["corp.example.com"]})
    );
}

#[test]
fn settings_patch_merges_and_a_setting_the_plan_lacks_is_refused() {
    let emu = Emu::start();
    let settings = "/api/v2/tailnet/-/settings";
    let before = emu.get(settings).json();
    let patched = emu.json(
        "PATCH",
        settings,
        json!({"devicesApprovalOn": true, "devicesKeyDurationDays": 90}),
    );
    assert_eq!(patched.status, 200);
    let after = emu.get(settings).json();
    assert_eq!(after["devicesApprovalOn"], true);
    assert_eq!(after["devicesKeyDurationDays"], 90);
    assert_eq!(after["httpsEnabled"], before["httpsEnabled"]);
    let refused = emu.json("PATCH", settings, json!({"regionalRoutingOn": true}));
    assert_eq!(refused.status, 400);
    assert_eq!(
        text(&refused.json(), "/message"),
        "regional routing is not available on your plan"
    );
}

#[test]
fn a_changed_contact_needs_verification_until_resent() {
    let emu = Emu::start();
    let contacts = "/api/v2/tailnet/-/contacts";
    let changed = emu.json(
        "PATCH",
        &format!("{contacts}/security"),
        json!({"email": "security@example.com"}),
    );
    assert_eq!(changed.status, 200);
    let read = emu.get(contacts).json();
    assert_eq!(
        read["security"],
        json!({"email": "security@example.com", "needsVerification": true})
    );
    let resend = |kind: &str| {
        emu.send(
            "POST",
            &format!("{contacts}/{kind}/resend-verification-email"),
            &[],
            b"",
        )
        .status
    };
    assert_eq!(resend("security"), 200);
    assert_eq!(resend("support"), 400);
}

#[test]
fn a_webhook_shows_its_secret_only_on_create_and_rotate() {
    let emu = Emu::start();
    let hooks = "/api/v2/tailnet/-/webhooks";
    let refused = emu.json(
        "POST",
        hooks,
        json!({"endpointUrl": "ftp://x.example", "subscriptions": []}),
    );
    assert_eq!(refused.status, 400);
    let created = emu
        .json(
            "POST",
            hooks,
            json!({"endpointUrl": "https://hooks.example.com/t", "subscriptions": ["nodeCreated"]}),
        )
        .json();
    let id = text(&created, "/endpointId").to_string();
    assert!(id.starts_with('w') && id.ends_with("CNTRL"), "{id}");
    assert!(text(&created, "/secret").starts_with("tskey-webhook-"));
    let list = emu.get(hooks).json();
    assert_eq!(
        names(&list["webhooks"], "endpointId"),
        ["wSl4Ck2CNTRL", id.as_str()]
    );
    assert!(list["webhooks"][1].get("secret").is_none());
    let one = format!("/api/v2/webhooks/{id}");
    assert!(emu.get(&one).json().get("secret").is_none());
    let updated = emu
        .json("PATCH", &one, json!({"subscriptions": ["policyUpdate"]}))
        .json();
    assert_eq!(updated["subscriptions"], json!(["policyUpdate"]));
    assert_eq!(
        emu.send("POST", &format!("{one}/test"), &[], b"").status,
        202
    );
    let rotated = emu.send("POST", &format!("{one}/rotate"), &[], b"").json();
    assert_ne!(text(&rotated, "/secret"), text(&created, "/secret"));
    assert_eq!(emu.delete(&one).status, 200);
    assert_eq!(emu.get(&one).status, 404);
}

#[test]
fn posture_integrations_are_one_per_provider() {
    let emu = Emu::start();
    let list = "/api/v2/tailnet/-/posture/integrations";
    let body = json!({"provider": "intune", "cloudId": "global", "clientId": "c", "tenantId": "t", "clientSecret": "s"});
    let created = emu.json("POST", list, body.clone()).json();
    let id = text(&created, "/id").to_string();
    assert!(created.get("clientSecret").is_none());
    assert_eq!(emu.json("POST", list, body).status, 409);
    let one = format!("/api/v2/posture/integrations/{id}");
    assert_eq!(emu.get(&one).json()["provider"], "intune");
    let patched = emu.json("PATCH", &one, json!({"tenantId": "t2"})).json();
    assert_eq!(patched["tenantId"], "t2");
    assert_eq!(
        emu.get(list).json()["integrations"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    assert_eq!(emu.delete(&one).status, 200);
    assert_eq!(emu.get(&one).status, 404);
}

#[test]
fn log_streaming_is_set_read_without_its_token_and_disabled() {
    let emu = Emu::start();
    let stream = "/api/v2/tailnet/-/logging/configuration/stream";
    assert_eq!(emu.get(stream).status, 404);
    let set = emu.json(
        "PUT",
        stream,
        json!({"destinationType": "splunk", "url": "https://splunk.example.com", "token": "t0ken", "uploadPeriodMinutes": 5}),
    );
    assert_eq!(set.status, 200);
    let read = emu.get(stream).json();
    assert_eq!(read["logType"], "configuration");
    assert!(read.get("token").is_none());
    assert_eq!(emu.get(&format!("{stream}/status")).status, 200);
    assert_eq!(emu.delete(stream).status, 200);
    assert_eq!(emu.get(stream).status, 404);
}

#[test]
fn audit_logs_are_filtered_by_time_and_event_and_a_reversed_range_is_400() {
    let emu = Emu::start();
    let logs = "/api/v2/tailnet/-/logging/configuration?start=2026-11-23T09:00:00Z&end=2026-11-23T10:00:00Z";
    assert_eq!(emu.get(logs).json()["logs"].as_array().unwrap().len(), 2);
    let nodes = emu.get(&format!("{logs}&event=NODE.UPDATE")).json();
    assert_eq!(nodes["logs"].as_array().unwrap().len(), 1);
    let reversed = emu.get(
        "/api/v2/tailnet/-/logging/network?start=2026-11-23T10:00:00Z&end=2026-11-23T09:00:00Z",
    );
    assert_eq!(reversed.status, 400);
}

#[test]
fn a_service_is_defined_read_through_both_paths_approved_on_its_host_and_deleted() {
    let emu = Emu::start();
    let wiki = "/api/v2/tailnet/-/services/svc:wiki";
    let body = json!({"name": "svc:wiki", "addrs": [], "comment": "Team wiki", "ports": ["tcp:443"], "tags": ["tag:server"]});
    let created = emu.json("PUT", wiki, body.clone()).json();
    assert_eq!(created["addrs"].as_array().unwrap().len(), 2);
    assert_eq!(
        emu.get("/api/v2/tailnet/-/vip-services/svc:wiki").json(),
        created
    );
    assert_eq!(emu.json("PUT", wiki, body).status, 400);
    let hosts = emu.get(&format!("{wiki}/devices")).json();
    assert_eq!(
        hosts,
        json!({"hosts": [{"nodeId": "n5SUKe8CNTRL", "approvalLevel": "not-approved", "configured": "ready"}]})
    );
    let approval = format!("{wiki}/device/n5SUKe8CNTRL/approved");
    emu.json("POST", &approval, json!({"approved": true}));
    assert_eq!(
        emu.get(&approval).json(),
        json!({"approved": true, "autoApproved": false})
    );
    assert_eq!(emu.delete(wiki).status, 200);
    let gone = emu.get(wiki);
    assert_eq!(
        (gone.status, gone.json()),
        (404, json!({"message": "service not found"}))
    );
}

#[test]
fn a_user_invite_is_created_listed_resent_once_a_minute_and_deleted() {
    let emu = Emu::start();
    let list = "/api/v2/tailnet/-/user-invites";
    let created = emu
        .json(
            "POST",
            list,
            json!([{"role": "admin", "email": "hiro@example.com"}]),
        )
        .json();
    let id = text(&created, "/0/id").to_string();
    assert!(id.chars().all(|c| c.is_ascii_digit()), "{id}");
    assert_eq!(names(&emu.get(list).json(), "id"), [id.as_str()]);
    let one = format!("/api/v2/user-invites/{id}");
    assert_eq!(emu.get(&one).json()["email"], "hiro@example.com");
    assert_eq!(
        emu.send("POST", &format!("{one}/resend"), &[], b"").status,
        200
    );
    assert_eq!(
        emu.send("POST", &format!("{one}/resend"), &[], b"").status,
        429
    );
    assert_eq!(emu.delete(&one).status, 200);
    assert_eq!(emu.get(&one).status, 404);
}

#[test]
fn a_device_invite_is_created_for_its_device_and_an_incoming_one_accepted_once() {
    let emu = Emu::start();
    let list = "/api/v2/device/n5SUKe8CNTRL/device-invites";
    let created = emu
        .json(
            "POST",
            list,
            json!([{"multiUse": true, "email": "erin@example.org"}]),
        )
        .json();
    let id = text(&created, "/0/id").to_string();
    assert_eq!(created[0]["deviceId"], 393735751060u64);
    assert_eq!(
        names(&emu.get(list).json(), "id"),
        ["12345", "12346", id.as_str()]
    );
    let one = format!("/api/v2/device-invites/{id}");
    assert_eq!(emu.delete(&one).status, 200);
    assert_eq!(emu.get(&one).status, 404);
    let accept = "/api/v2/device-invites/-/accept";
    let url = json!({"invite": "https://login.tailscale.com/admin/invite/Xy7Zw2Vu"});
    let accepted = emu.json("POST", accept, url.clone());
    assert_eq!(accepted.status, 200);
    assert_eq!(accepted.json()["device"]["name"], "otter");
    assert_eq!(
        emu.json("POST", accept, json!({"invite": "Xy7Zw2Vu"}))
            .status,
        400
    );
}

#[test]
fn an_oauth_app_shows_its_secret_once_and_its_name_is_unique() {
    let emu = Emu::start();
    let apps = "/api/v2/tailnet/-/oauth-apps";
    let body = json!({"name": "grafana-sso", "redirectURIs": ["https://g.example.com/cb"], "scopes": ["users:read"]});
    let created = emu.json("POST", apps, body.clone()).json();
    let id = text(&created, "/id").to_string();
    assert!(created.get("clientSecret").is_some());
    assert_eq!(emu.json("POST", apps, body).status, 400);
    let one = format!("{apps}/{id}");
    assert!(emu.get(&one).json().get("clientSecret").is_none());
    let updated = emu.json(
        "PUT",
        &one,
        json!({"name": "grafana-sso", "redirectURIs": [], "scopes": ["users:read"]}),
    );
    assert_eq!(updated.json()["redirectURIs"], json!([]));
    assert_eq!(
        emu.get(apps).json()["oauthApps"].as_array().unwrap().len(),
        1
    );
    assert_eq!(emu.delete(&one).status, 200);
    assert_eq!(emu.get(&one).status, 404);
}
