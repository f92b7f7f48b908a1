//! Logs: configuration audit logs and network flow logs (the seed's, filtered by the `start`
//! and `end` range, which must be in order, and for audit logs by `event=TARGET.ACTION`), log
//! streaming per log type (the destination's token is never shown again; a stream's status
//! reports the seed's `logStreamStatus` counters for its type, else zeros), and AWS external
//! ids for S3 streaming: a role trusts them when the seed lists it in `awsTrustedRoles`, else
//! 422 as recorded.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use crate::emulate::call::{Call, Handler, Outcome, Reply};
use crate::emulate::state::{Object, parse_time};

pub(super) const HANDLERS: &[(&str, Handler)] = &[
    ("listConfigurationAuditLogs", audit_logs),
    ("listNetworkFlowLogs", network_logs),
    ("getLogStreamingStatus", stream_status),
    ("getLogStreamingConfiguration", stream),
    ("setLogStreamingConfiguration", set_stream),
    ("disableLogStreaming", disable_stream),
    ("getAwsExternalId", aws_external_id),
    ("validateAwsExternalId", validate_aws),
];

/// The `start`..`end` range of the query, or the 400 to answer.
fn range(call: &Call) -> Result<(DateTime<Utc>, DateTime<Utc>), Reply> {
    let time = |name: &str| {
        call.query(name)
            .and_then(parse_time)
            .ok_or_else(|| Reply::error(400, format!("{name} must be an RFC 3339 time")))
    };
    let (start, end) = (time("start")?, time("end")?);
    if end < start {
        return Err(Reply::error(400, "end must be after start"));
    }
    Ok((start, end))
}

/// The logs whose time `field` falls in the range.
fn within(
    logs: &[Object],
    field: &str,
    (start, end): (DateTime<Utc>, DateTime<Utc>),
) -> Vec<Object> {
    logs.iter()
        .filter(|log| {
            log.get(field)
                .and_then(Value::as_str)
                .and_then(parse_time)
                .is_some_and(|t| start <= t && t <= end)
        })
        .cloned()
        .collect()
}

fn audit_logs(call: &mut Call) -> Outcome {
    let range = range(call)?;
    let mut logs = within(&call.tailnet.configuration_logs, "eventTime", range);
    if let Some(event) = call.query("event") {
        let (target, action) = event.split_once('.').unwrap_or((event, ""));
        logs.retain(|log| {
            log.get("target")
                .and_then(|t| t.get("type"))
                .and_then(Value::as_str)
                == Some(target)
                && (action.is_empty() || log.get("action").and_then(Value::as_str) == Some(action))
        });
    }
    Ok(Reply::ok(json!({
        "version": "1.1",
        "tailnet": call.tailnet.name,
        "logs": logs,
    })))
}

fn network_logs(call: &mut Call) -> Outcome {
    let range = range(call)?;
    let logs = within(&call.tailnet.network_logs, "logged", range);
    Ok(Reply::ok(json!({ "logs": logs })))
}

fn stream(call: &mut Call) -> Outcome {
    call.tailnet
        .log_streams
        .get(call.param("logType"))
        .map(|config| Reply::ok(Value::Object(config.clone())))
        .ok_or_else(Reply::not_found)
}

fn set_stream(call: &mut Call) -> Outcome {
    let mut body = call.object()?;
    let kind = call.param("logType").to_string();
    body.remove("token");
    let mut config = Object::new();
    config.insert("logType".into(), json!(kind));
    config.extend(body);
    call.tailnet.tick();
    call.tailnet.log_streams.insert(kind, config);
    Ok(Reply::done())
}

fn stream_status(call: &mut Call) -> Outcome {
    let kind = call.param("logType").to_string();
    if !call.tailnet.log_streams.contains_key(&kind) {
        return Err(Reply::not_found());
    }
    let now = crate::emulate::state::format_time(call.tailnet.now);
    let mut status = json!({
        "lastActivity": now,
        "lastError": "",
        "maxBodySize": 524288,
        "numBytesSent": 0,
        "numEntriesSent": 0,
        "numSpoofedEntries": 0,
        "numTotalRequests": 0,
        "numFailedRequests": 0,
        "rateBytesSent": 0,
        "rateEntriesSent": 0,
        "rateTotalRequests": 0,
        "rateFailedRequests": 0,
    });
    if let (Some(status), Some(seeded)) = (
        status.as_object_mut(),
        call.tailnet.log_stream_status.get(&kind),
    ) {
        status.extend(seeded.clone());
    }
    Ok(Reply::ok(status))
}

fn disable_stream(call: &mut Call) -> Outcome {
    let kind = call.param("logType").to_string();
    call.tailnet
        .log_streams
        .remove(&kind)
        .map(|_| Reply::done())
        .ok_or_else(Reply::not_found)
}

/// The AWS account Tailscale streams logs from, as recorded.
const TAILSCALE_AWS_ACCOUNT: &str = "001234567890";

fn aws_external_id(call: &mut Call) -> Outcome {
    let tailnet = &mut *call.tailnet;
    let hex = tailnet.hex();
    let id = format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    );
    tailnet.aws_external_ids.push(id.clone());
    Ok(Reply::ok(
        json!({"externalId": id, "tailscaleAwsAccountId": TAILSCALE_AWS_ACCOUNT}),
    ))
}

fn validate_aws(call: &mut Call) -> Outcome {
    let body = call.object()?;
    let id = call.param("id").to_string();
    let tailnet = &*call.tailnet;
    if !tailnet.aws_external_ids.contains(&id) {
        return Err(Reply::not_found());
    }
    let role = body.get("roleArn").and_then(Value::as_str).unwrap_or("");
    if !tailnet.aws_trusted_roles.iter().any(|r| r == role) {
        return Err(Reply::error(
            422,
            format!("Tailscale could not assume role {role} with external id {id}"),
        ));
    }
    Ok(Reply::done())
}
