//! `tailtape validate` and `tailtape schemas list` run as a user runs them: the built binary,
//! its stdout, its exit code. Each test edits a copy of a bundled cassette the way a person
//! would and checks what they would see.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn tailtape(args: &[&str]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_tailtape"))
        .args(args)
        .output()
        .expect("the binary runs");
    Run {
        code: out.status.code().expect("exited, not killed"),
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8(out.stderr).unwrap(),
    }
}

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

fn json_findings(run: &Run) -> Vec<Value> {
    let report: Value = serde_json::from_str(&run.stdout).expect("JSON output");
    report["findings"].as_array().unwrap().clone()
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

/// The bundled dns cassette cut in half, as a killed recorder or a failed copy leaves it, and
/// how many of its interactions are whole before the cut.
fn cut_in_half() -> (tempfile::TempDir, PathBuf, usize) {
    let text =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("cassettes/dns.json"))
            .unwrap();
    let half = &text[..text.len() / 2];
    let complete = half.matches("\n    },\n").count();
    assert!(complete > 0 && complete < 12);
    let (dir, path) = write_text(half);
    (dir, path, complete)
}

#[test]
fn a_cassette_cut_in_half_fails_strict_and_warns_otherwise() {
    let (dir, path, complete) = cut_in_half();
    let junit = dir.path().join("junit.xml");

    let strict = tailtape(&[
        "validate",
        path.to_str().unwrap(),
        "--strict",
        "--format",
        "json",
        "--junit",
        junit.to_str().unwrap(),
    ]);
    let lenient = tailtape(&["validate", path.to_str().unwrap()]);

    assert_eq!(strict.code, 1, "{}{}", strict.stdout, strict.stderr);
    let findings = json_findings(&strict);
    let cut: Vec<&Value> = findings
        .iter()
        .filter(|f| f["rule"] == "truncated")
        .collect();
    assert_eq!(cut.len(), 1, "{findings:?}");
    assert_eq!(cut[0]["level"], "error");
    assert_eq!(cut[0]["cassette"], path.to_str().unwrap());
    assert_eq!(cut[0]["interaction"], complete);
    let message = cut[0]["message"].as_str().unwrap();
    assert!(
        message.contains(&format!("{complete} complete interactions")),
        "{message}"
    );
    assert!(message.contains("tailtape close"), "{message}");
    let report: Value = serde_json::from_str(&strict.stdout).unwrap();
    assert_eq!(report["summary"]["interactions"], complete);
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(
        xml.contains("<failure") && xml.contains("[truncated]"),
        "{xml}"
    );

    assert_eq!(lenient.code, 0, "{}{}", lenient.stdout, lenient.stderr);
    assert!(lenient.stdout.contains("warning"), "{}", lenient.stdout);
    assert!(lenient.stdout.contains("[truncated]"), "{}", lenient.stdout);
    assert!(lenient.stdout.contains(", 1 warning"), "{}", lenient.stdout);
}

/// A key written twice used to load silently, the last one winning; now it is an error that
/// names the key and where its second occurrence ends, wherever it is.
#[test]
fn duplicate_keys_anywhere_in_a_cassette_are_an_error_naming_the_key_and_place() {
    let head =
        "{\n  \"tailtape\": 1,\n  \"recorded\": {\"upstream\": \"docs\"},\n  \"interactions\": [\n";
    let tail = "\n  ]\n}\n";
    let ok_resp = "\"response\": {\"status\": 200}";
    let cases = [
        (
            "{\"tailtape\": 1, \"recorded\": {\"upstream\": \"x\"}, \"tailtape\": 1, \"interactions\": []}"
                .to_string(),
            "tailtape",
        ),
        (
            "{\"tailtape\": 1, \"recorded\": {\"upstream\": \"x\", \"upstream\": \"y\"}, \"interactions\": []}"
                .to_string(),
            "upstream",
        ),
        (
            format!(
                "{head}    {{\"request\": {{\"method\": \"GET\", \"path\": \"/x\", \"path\": \"/y\"}}, {ok_resp}}}{tail}"
            ),
            "path",
        ),
        (
            format!(
                "{head}    {{\"request\": {{\"method\": \"GET\", \"path\": \"/x\",\n      \"headers\": {{\"accept\": \"a\", \"accept\": \"b\"}}}}, {ok_resp}}}{tail}"
            ),
            "accept",
        ),
        (
            format!(
                "{head}    {{\"request\": {{\"method\": \"GET\", \"path\": \"/x\"}},\n      \"response\": {{\"status\": 200, \"json\": {{\"devices\": [{{\"id\": 1, \"id\": 2}}]}}}}}}{tail}"
            ),
            "id",
        ),
    ];
    for (text, key) in cases {
        let (_dir, path) = write_text(&text);
        // The place serde_json stands at: the closing quote of the key's second occurrence.
        let quoted = format!("\"{key}\"");
        let first = text.find(&quoted).unwrap() + 1;
        let end = first + text[first..].find(&quoted).unwrap() + quoted.len() - 1;
        let line = text[..end].matches('\n').count() + 1;
        let column = end - text[..end].rfind('\n').map_or(0, |n| n + 1) + 1;

        let run = tailtape(&["validate", path.to_str().unwrap()]);

        assert_eq!(run.code, 2, "{text}\n{}", run.stderr);
        let want = format!(
            "{}:{line}:{column}: duplicate key \"{key}\"",
            path.display()
        );
        assert!(run.stderr.contains(&want), "want {want} in {}", run.stderr);
        assert!(!run.stderr.contains("panicked"));
    }
}

/// A header value with a line break used to load and then be dropped at replay without a word.
#[test]
fn a_header_value_with_a_line_break_or_control_character_is_an_error_at_load() {
    let cases = [
        (
            "request",
            "x-note",
            "one\\r\\ntwo",
            "a carriage return (CR)",
        ),
        ("response", "etag", "\\\"1\\\"\\n", "a line feed (LF)"),
        (
            "response",
            "x-bell",
            "ding\\u0007",
            "the control character U+0007",
        ),
    ];
    for (side, name, value, words) in cases {
        let headers = format!("\"headers\": {{\"{name}\": \"{value}\"}}");
        let (request, response) = if side == "request" {
            (format!(", {headers}"), String::new())
        } else {
            (String::new(), format!(", {headers}"))
        };
        let text = format!(
            "{{\n  \"tailtape\": 1,\n  \"recorded\": {{\"upstream\": \"docs\"}},\n  \"interactions\": [\n    {{\"request\": {{\"method\": \"GET\", \"path\": \"/x\"{request}}},\n     \"response\": {{\"status\": 200{response}}}}}\n  ]\n}}\n"
        );
        let (_dir, path) = write_text(&text);

        let run = tailtape(&["validate", path.to_str().unwrap()]);

        assert_eq!(run.code, 2, "{text}\n{}", run.stderr);
        let line = if side == "request" { 5 } else { 6 };
        let place = format!("{}:{line}:", path.display());
        let what = format!("/interactions/0/{side}/headers/{name}: header value holds {words}");
        assert!(
            run.stderr.contains(&place),
            "want {place} in {}",
            run.stderr
        );
        assert!(run.stderr.contains(&what), "want {what} in {}", run.stderr);
    }
}

/// A directory with no cassettes used to pass `--strict` as "0 cassettes, 0 errors".
#[test]
fn a_directory_without_cassettes_fails_under_strict_and_warns_otherwise() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("notes.txt"), "not a cassette").unwrap();
    let name = dir.path().display().to_string();

    let strict = tailtape(&["validate", "--strict", &name]);
    let lenient = tailtape(&["validate", &name]);

    assert_eq!(strict.code, 2, "{}", strict.stderr);
    let want = format!("{name}: no cassettes (*.json) in this directory");
    assert!(strict.stderr.contains(&want), "{}", strict.stderr);
    assert_eq!(lenient.code, 0, "{}", lenient.stderr);
    assert!(
        lenient.stderr.contains(&format!("warning: {want}")),
        "{}",
        lenient.stderr
    );
}

/// A directory symlink loop used to load the same file once per level until the path got too
/// long (41 times); each directory is now searched once, and a file reached twice loads once.
#[cfg(unix)]
#[test]
fn symlink_loops_and_linked_files_load_each_cassette_once() {
    let dir = tempfile::tempdir().unwrap();
    let sub = dir.path().join("sub");
    std::fs::create_dir(&sub).unwrap();
    std::fs::write(
        sub.join("dns.json"),
        serde_json::to_string_pretty(&bundled("dns.json")).unwrap(),
    )
    .unwrap();
    std::os::unix::fs::symlink(dir.path(), sub.join("loop")).unwrap();
    std::os::unix::fs::symlink(sub.join("dns.json"), dir.path().join("same.json")).unwrap();

    let run = tailtape(&["validate", dir.path().to_str().unwrap(), "--format", "json"]);

    assert_eq!(run.code, 0, "{}", run.stderr);
    let report: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(report["summary"]["cassettes"], 1);
    assert_eq!(report["summary"]["interactions"], 12);
}

/// `--junit` into a missing directory used to fail only after the whole validation ran: here
/// the cassette is unreadable too, and the JUnit path is what gets reported, since it is
/// checked first.
#[test]
fn junit_path_is_checked_before_validating() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing");
    let target = missing.join("report.xml");
    let cassette = dir.path().join("not-there.json");

    let run = tailtape(&[
        "validate",
        cassette.to_str().unwrap(),
        "--junit",
        target.to_str().unwrap(),
    ]);

    assert_eq!(run.code, 2, "{}", run.stderr);
    let want = format!(
        "{}: the directory {} does not exist",
        target.display(),
        missing.display()
    );
    assert!(run.stderr.contains(&want), "want {want} in {}", run.stderr);
    assert!(!run.stderr.contains("not-there.json"), "{}", run.stderr);
}
