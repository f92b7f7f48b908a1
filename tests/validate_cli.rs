//! `tailtape validate` and `tailtape schemas list` run as a user runs them: the built binary,
//! its stdout, its exit code. Each test edits a copy of a bundled cassette the way a person
//! would and checks what they would see.

mod common;

use std::path::{Path, PathBuf};

use common::{json_findings, tailtape};
use serde_json::Value;

fn bundled(name: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("cassettes")
        .join(name);
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Writes `cassette` into a fresh temp dir; returns the dir (kept alive) and the file path.
fn write(cassette: &Value) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("edited.json");
    std::fs::write(&path, serde_json::to_string_pretty(cassette).unwrap()).unwrap();
    (dir, path)
}

fn write_text(text: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.json");
    std::fs::write(&path, text).unwrap();
    (dir, path)
}

#[test]
fn bundled_cassettes_validate_clean() {
    let run = tailtape(&["validate", "--strict"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stdout.ends_with(": 0 errors, 0 warnings\n"),
        "{}",
        run.stdout
    );
}

#[test]
fn device_authorized_yes_is_an_error_at_authorized() {
    let mut c = bundled("devices.json");
    c["interactions"][2]["response"]["json"]["authorized"] = "yes".into();
    let (_dir, path) = write(&c);

    let run = tailtape(&["validate", path.to_str().unwrap(), "--format", "json"]);

    assert_eq!(run.code, 1);
    let findings = json_findings(&run);
    assert_eq!(findings.len(), 1, "{findings:?}");
    let f = &findings[0];
    assert_eq!(f["cassette"], path.to_str().unwrap());
    assert_eq!(f["interaction"], 2);
    assert_eq!(f["operation"], "getDevice");
    assert_eq!(f["side"], "response");
    assert_eq!(f["level"], "error");
    assert_eq!(f["rule"], "type");
    assert_eq!(f["pointer"], "/authorized");
    let report: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(report["summary"]["errors"], 1);
    assert_eq!(report["summary"]["cassettes"], 1);
}

#[test]
fn undocumented_field_warns_and_fails_only_under_strict() {
    let mut c = bundled("devices.json");
    c["interactions"][0]["response"]["json"]["devices"][1]["favouriteColour"] = "teal".into();
    let (_dir, path) = write(&c);
    let path = path.to_str().unwrap();

    let relaxed = tailtape(&["validate", path]);
    let strict = tailtape(&["validate", path, "--strict"]);

    assert_eq!(relaxed.code, 0, "{}", relaxed.stdout);
    assert!(
        relaxed
            .stdout
            .contains("warning #0 listTailnetDevices response /devices/1/favouriteColour")
    );
    assert!(relaxed.stdout.contains("[undocumented-field]"));
    assert!(
        relaxed.stdout.ends_with("0 errors, 1 warning\n"),
        "{}",
        relaxed.stdout
    );
    assert_eq!(strict.code, 1);
}

/// The OpenAPI file declares no ETag (erratum O-2), but clients send it back in If-Match.
#[test]
fn a_policy_file_answer_without_its_etag_is_an_error() {
    let mut c = bundled("policy.json");
    let headers = c["interactions"][0]["response"]["headers"]
        .as_object_mut()
        .unwrap();
    assert!(headers.remove("etag").is_some());
    let (_dir, path) = write(&c);

    let run = tailtape(&["validate", path.to_str().unwrap(), "--format", "json"]);

    assert_eq!(run.code, 1);
    let findings = json_findings(&run);
    assert_eq!(findings.len(), 1, "{findings:?}");
    assert_eq!(findings[0]["operation"], "getPolicyFile");
    assert_eq!(findings[0]["rule"], "missing-header");
    assert_eq!(findings[0]["interaction"], 0);
}

#[test]
fn undocumented_endpoint_and_status_are_warnings() {
    let mut c = bundled("dns.json");
    c["interactions"][0]["request"]["path"] = "/api/v2/tailnet/-/dns/resolvers".into();
    c["interactions"][1]["response"]["status"] = 418.into();
    c["interactions"][2]["request"]["query"] = "verbose=1".into();
    let (_dir, path) = write(&c);

    let run = tailtape(&["validate", path.to_str().unwrap(), "--format", "json"]);

    assert_eq!(run.code, 0);
    let findings = json_findings(&run);
    let rules: Vec<(&str, &str)> = findings
        .iter()
        .map(|f| (f["rule"].as_str().unwrap(), f["level"].as_str().unwrap()))
        .collect();
    assert_eq!(
        rules,
        [
            ("undocumented-endpoint", "warning"),
            ("undocumented-status", "warning"),
            ("undocumented-query-param", "warning")
        ]
    );
}

#[test]
fn policy_file_hujson_is_parsed_and_checked() {
    let mut c = bundled("policy.json");
    c["interactions"][0]["response"]["text"] =
        "{\n  \"acls\": [ {\"action\": \"accept\", \"src\": \"*\"}, ],\n}".into();
    c["interactions"][8]["response"]["text"] = "{ 'acls': [] }".into();
    let (_dir, path) = write(&c);

    let run = tailtape(&["validate", path.to_str().unwrap(), "--format", "json"]);

    assert_eq!(run.code, 1);
    let got: Vec<(u64, String, String)> = json_findings(&run)
        .iter()
        .map(|f| {
            let s = |k: &str| f[k].as_str().unwrap().to_string();
            (f["interaction"].as_u64().unwrap(), s("rule"), s("pointer"))
        })
        .collect();
    assert_eq!(
        got,
        [
            (0, "type".into(), "/acls/0/src".into()),
            (8, "hujson-syntax".into(), "".into())
        ]
    );
}

#[test]
fn malformed_json_names_file_line_and_column() {
    let (_dir, path) = write_text(
        "{\n  \"tailtape\": 1,\n  \"recorded\": {\"upstream\": \"docs\"},\n  \"interactions\": [,]\n}\n",
    );

    let run = tailtape(&["validate", path.to_str().unwrap()]);

    assert_eq!(run.code, 2);
    let expected = format!("{}:4:20: not valid JSON", path.display());
    assert!(run.stderr.contains(&expected), "{}", run.stderr);
    assert!(!run.stderr.contains("panicked"));
}

/// Each bad cassette: the text, the line and column the error must point at, and the words.
#[test]
fn bad_cassettes_exit_2_naming_the_place() {
    let head =
        "{\n  \"tailtape\": 1,\n  \"recorded\": {\"upstream\": \"docs\"},\n  \"interactions\": [\n";
    let tail = "\n  ]\n}\n";
    let ok_resp = "\"response\": {\"status\": 200}";
    let cases = [
        (
            "{\"tailtape\": 2, \"recorded\": {\"upstream\": \"x\"}, \"interactions\": []}"
                .to_string(),
            (1, 14),
            "unknown cassette version 2",
        ),
        (
            format!("{head}    {{\"request\": {{\"path\": \"/api/v2/x\"}}, {ok_resp}}}{tail}"),
            (5, 17),
            "missing required field \"method\"",
        ),
        (
            format!(
                "{head}    {{\"request\": {{\"method\": \"GET\", \"path\": \"/x\"}}, \"response\": {{}}}}{tail}"
            ),
            (5, 62),
            "missing required field \"status\"",
        ),
        (
            format!(
                "{head}    {{\"request\": {{\"method\": \"GET\", \"path\": \"/x\"}},\n     \"response\": {{\"status\": 200, \"json\": {{}}, \"text\": \"x\"}}}}{tail}"
            ),
            (6, 54),
            "exactly one of json, text or base64",
        ),
        (
            format!(
                "{head}    {{\"request\": {{\"method\": \"GET\", \"path\": \"/x\", \"base64\": \"a\"}}, {ok_resp}}}{tail}"
            ),
            (5, 59),
            "invalid base64",
        ),
        (
            format!(
                "{head}    {{\"request\": {{\"method\": \"GET\", \"path\": \"/x\", \"jsno\": {{}}}}, {ok_resp}}}{tail}"
            ),
            (5, 57),
            "unknown field \"jsno\"",
        ),
        (
            format!(
                "{head}    {{\"request\": {{\"method\": \"GET\", \"path\": \"/x?fields=all\"}}, {ok_resp}}}{tail}"
            ),
            (5, 43),
            "does not match",
        ),
    ];
    for (text, (line, column), words) in cases {
        let (_dir, path) = write_text(&text);

        let run = tailtape(&["validate", path.to_str().unwrap()]);

        assert_eq!(run.code, 2, "{text}\n{}", run.stderr);
        let place = format!("{}:{line}:{column}: ", path.display());
        assert!(
            run.stderr.contains(&place),
            "want {place} in {}",
            run.stderr
        );
        assert!(
            run.stderr.contains(words),
            "want {words:?} in {}",
            run.stderr
        );
    }
}

#[test]
fn missing_file_and_bad_flag_exit_2() {
    assert_eq!(
        tailtape(&["validate", "/nonexistent/cassette.json"]).code,
        2
    );
    assert_eq!(tailtape(&["validate", "--format", "xml"]).code, 2);
}

#[test]
fn directory_argument_validates_every_cassette_in_it() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("cassettes");
    let run = tailtape(&["validate", dir.to_str().unwrap(), "--format", "json"]);
    let report: Value = serde_json::from_str(&run.stdout).unwrap();
    let on_disk = std::fs::read_dir(&dir).unwrap().count();
    assert_eq!(report["summary"]["cassettes"], on_disk);
    assert_eq!(run.code, 0);
}

/// The 90 operationIds of Tailscale's OpenAPI file (2026-07-13 copy), in its order.
const OPENAPI_OPERATIONS: [&str; 90] = [
    "listTailnetDevices",
    "batchUpdateCustomDevicePostureAttributes",
    "getDevice",
    "deleteDevice",
    "expireDeviceKey",
    "listDeviceRoutes",
    "setDeviceRoutes",
    "authorizeDevice",
    "setDeviceName",
    "setDeviceTags",
    "updateDeviceKey",
    "setDeviceIp",
    "getDevicePostureAttributes",
    "setCustomDevicePostureAttributes",
    "deleteCustomDevicePostureAttributes",
    "listDeviceInvites",
    "createDeviceInvites",
    "listUserInvites",
    "createUserInvites",
    "getUserInvite",
    "deleteUserInvite",
    "resendUserInvite",
    "getDeviceInvite",
    "deleteDeviceInvite",
    "resendDeviceInvite",
    "acceptDeviceInvite",
    "listConfigurationAuditLogs",
    "listNetworkFlowLogs",
    "getLogStreamingStatus",
    "getLogStreamingConfiguration",
    "setLogStreamingConfiguration",
    "disableLogStreaming",
    "getAwsExternalId",
    "validateAwsExternalId",
    "listDnsNameservers",
    "setDnsNameservers",
    "getDnsPreferences",
    "setDnsPreferences",
    "listDnsSearchPaths",
    "setDnsSearchPaths",
    "getSplitDns",
    "updateSplitDns",
    "setSplitDns",
    "getDnsConfiguration",
    "setDnsConfiguration",
    "listTailnetKeys",
    "createKey",
    "getKey",
    "deleteKey",
    "setKey",
    "getPolicyFile",
    "setPolicyFile",
    "previewRuleMatches",
    "validateAndTestPolicyFile",
    "getPostureIntegrations",
    "createPostureIntegration",
    "getPostureIntegration",
    "updatePostureIntegration",
    "deletePostureIntegration",
    "listUsers",
    "getUser",
    "updateUserRole",
    "approveUser",
    "suspendUser",
    "restoreUser",
    "deleteUser",
    "getContacts",
    "updateContact",
    "resendContactVerificationEmail",
    "listWebhooks",
    "createWebhook",
    "getWebhook",
    "updateWebhook",
    "deleteWebhook",
    "testWebhook",
    "rotateWebhookSecret",
    "getTailnetSettings",
    "updateTailnetSettings",
    "listServices",
    "getService",
    "updateService",
    "deleteService",
    "listServiceHosts",
    "getServiceDeviceApproval",
    "updateServiceDeviceApproval",
    "listOAuthApps",
    "createOAuthApp",
    "getOAuthApp",
    "updateOAuthApp",
    "deleteOAuthApp",
];

#[test]
fn schemas_list_shows_every_openapi_operation_and_the_oauth_token_exchange() {
    let run = tailtape(&["schemas", "list"]);
    assert_eq!(run.code, 0);
    for op in OPENAPI_OPERATIONS {
        assert!(
            run.stdout.lines().any(|l| l.starts_with(&format!("{op} "))),
            "{op} missing"
        );
    }
    assert!(
        run.stdout
            .lines()
            .any(|l| l.starts_with("createOAuthToken *")
                && l.contains("POST    /api/v2/oauth/token ")),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("DELETE  /api/v2/device/{deviceId}  "));
    assert!(run.stdout.contains("200,400,401,500,501,504"));
    assert!(
        run.stdout.ends_with(
            "90 of 90 operations of Tailscale's OpenAPI file, and 1 more that clients use (*)\n"
        ),
        "{}",
        run.stdout
    );
}

#[test]
fn schemas_dir_overrides_the_embedded_schemas() {
    let dir = tempfile::tempdir().unwrap();
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas");
    for entry in std::fs::read_dir(&src).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, dir.path().join(path.file_name().unwrap())).unwrap();
    }
    // Make `authorized` a string in the overriding copy: the bundled cassettes now fail.
    let device = dir.path().join("device.json");
    let text = std::fs::read_to_string(&device).unwrap();
    let text = text.replacen(
        "\"authorized\": {\n          \"type\": \"boolean\"",
        "\"authorized\": {\n          \"type\": \"string\"",
        1,
    );
    std::fs::write(&device, text).unwrap();

    let run = tailtape(&[
        "validate",
        "--schemas",
        dir.path().to_str().unwrap(),
        "--format",
        "json",
    ]);

    assert_eq!(run.code, 1);
    assert!(
        json_findings(&run)
            .iter()
            .all(|f| f["pointer"].as_str().unwrap().ends_with("/authorized"))
    );
}

#[test]
fn query_and_path_parameters_are_checked() {
    let mut devices = bundled("devices.json");
    devices["interactions"][0]["request"]["query"] = "fields=everything".into();
    devices["interactions"][1]["request"]["query"] = "fields=default&tags=tag:server".into();
    let mut posture = bundled("posture.json");
    posture["interactions"][1]["request"]["path"] =
        "/api/v2/device/n5SUKe8CNTRL/attributes/node:os".into();
    let mut policy = bundled("policy.json");
    policy["interactions"][4]["request"]["query"] = "previewFor=bruno%40example.com".into();
    let dir = tempfile::tempdir().unwrap();
    for (name, cassette) in [
        ("a-devices.json", &devices),
        ("b-posture.json", &posture),
        ("c-policy.json", &policy),
    ] {
        std::fs::write(dir.path().join(name), cassette.to_string()).unwrap();
    }

    let run = tailtape(&["validate", dir.path().to_str().unwrap(), "--format", "json"]);

    assert_eq!(run.code, 1);
    let got: Vec<(String, u64, String, String)> = json_findings(&run)
        .iter()
        .map(|f| {
            let s = |k: &str| f[k].as_str().unwrap().to_string();
            let file = s("cassette").rsplit('/').next().unwrap().to_string();
            (
                file,
                f["interaction"].as_u64().unwrap(),
                s("rule"),
                s("message"),
            )
        })
        .collect();
    let summary: Vec<(&str, u64, &str)> = got
        .iter()
        .map(|(f, i, r, _)| (f.as_str(), *i, r.as_str()))
        .collect();
    assert_eq!(
        summary,
        [
            ("a-devices.json", 0, "param"),
            ("b-posture.json", 1, "param"),
            ("c-policy.json", 4, "missing-param")
        ]
    );
    assert!(
        got[0].3.contains("fields") && got[0].3.contains("everything"),
        "{}",
        got[0].3
    );
    assert!(
        got[1].3.contains("attributeKey") && got[1].3.contains("node:os"),
        "{}",
        got[1].3
    );
    assert!(got[2].3.contains("\"type\""), "{}", got[2].3);
}
