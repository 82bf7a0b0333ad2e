//! One HTTP attempt: the signed POST with Standard Webhooks headers, no redirects followed, a
//! time limit, and the first KiB of the response kept for the delivery log.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use reqwest::Client;
use reqwest::header::{CONTENT_TYPE, RETRY_AFTER};

use crate::db::claims::Claimed;
use crate::sealing::{KeyRing, OpenError};
use crate::signature;
use crate::ssrf::{GuardedResolver, TargetPolicy};

/// Response bytes kept per attempt.
pub const KEPT_BODY_BYTES: usize = 1024;

/// The delivery HTTP client: the SSRF-guarded resolver, no redirects, no proxies, a time limit.
pub fn client(policy: Arc<TargetPolicy>, timeout: Duration) -> anyhow::Result<Client> {
    Ok(Client::builder()
        .dns_resolver(Arc::new(GuardedResolver::new(policy)))
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .timeout(timeout)
        .connect_timeout(timeout.min(Duration::from_secs(10)))
        .user_agent("uapi-hris-webhooks/1")
        .pool_idle_timeout(Duration::from_secs(60))
        .build()?)
}

/// What one attempt produced.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub status: Option<u16>,
    pub latency: Duration,
    pub error: Option<String>,
    pub body: Option<String>,
    pub retry_after: Option<Duration>,
}

/// The secrets that sign now, opened from their sealed form: the current one, and the previous
/// one during its grace period.
pub fn signing_keys(ring: &KeyRing, c: &Claimed) -> Result<Vec<Vec<u8>>, OpenError> {
    let mut keys: Vec<Vec<u8>> =
        signature::key_of(&ring.open(c.subscription_id, &c.endpoint.secret)?).into_iter().collect();
    if let (Some(prev), Some(until)) = (&c.endpoint.previous_secret, c.endpoint.previous_secret_expires_at)
        && until > Utc::now()
        && let Some(k) = signature::key_of(&ring.open(c.subscription_id, prev)?)
    {
        keys.push(k);
    }
    Ok(keys)
}

/// POSTs the delivery once.
pub async fn attempt(client: &Client, policy: &TargetPolicy, ring: &KeyRing, c: &Claimed) -> Outcome {
    let started = Instant::now();
    let refused = |error: String| Outcome {
        status: None,
        latency: started.elapsed(),
        error: Some(error),
        body: None,
        retry_after: None,
    };
    let url = match policy.parse_url(&c.endpoint.delivery_url) {
        Ok(u) => u,
        Err(e) => return refused(e.to_string()),
    };
    if let Err(e) = policy.check_literal(&url) {
        return refused(format!("{e} (refused by the SSRF guard)"));
    }
    let id = c.event_id.to_string();
    let timestamp = Utc::now().timestamp();
    // Never sent unsigned: a secret that cannot be opened fails the attempt (retried as usual).
    let sig = match signing_keys(ring, c) {
        Ok(keys) if !keys.is_empty() => signature::header(&keys, &id, timestamp, c.body.as_bytes()),
        Ok(_) => return refused("the subscription's signing secret is malformed".into()),
        Err(e) => {
            // The key's id stays in the log: the delivery log is the application's to read.
            tracing::error!(subscription = %c.subscription_id, error = %e, "a webhook secret cannot be opened");
            return refused("the subscription's signing secret cannot be opened; the operator is alerted".into());
        }
    };
    // A client span in the event's trace; the request carries it, so a receiver's spans join it.
    let span = tracing::info_span!(
        "webhook attempt",
        otel.name = "POST webhook",
        otel.kind = "client",
        http.request.method = "POST",
        server.address = %url.host_str().unwrap_or_default(),
        webhook.delivery_id = %c.id,
        webhook.event_id = %c.event_id,
        webhook.attempt = c.attempt_count + 1,
        http.response.status_code = tracing::field::Empty,
        otel.status_code = tracing::field::Empty,
    );
    uapi_platform::telemetry::continue_trace(&span, c.traceparent.as_deref());
    let traceparent = uapi_platform::telemetry::outgoing_traceparent(&span, c.traceparent.as_deref());
    let sent = client
        .post(url)
        .header(CONTENT_TYPE, "application/json")
        .header("webhook-id", &id)
        .header("webhook-timestamp", timestamp.to_string())
        .header("webhook-signature", sig)
        // W3C trace context on every delivery (the contract), for receivers that trace.
        .header("traceparent", traceparent)
        .body(c.body.clone())
        .send();
    let sent = tracing::Instrument::instrument(sent, span.clone()).await;
    let mut res = match sent {
        Ok(r) => r,
        Err(e) => {
            span.record("otel.status_code", "ERROR");
            return refused(describe(&e));
        }
    };
    span.record("http.response.status_code", res.status().as_u16());
    if !res.status().is_success() {
        span.record("otel.status_code", "ERROR");
    }
    let latency = started.elapsed();
    let status = res.status().as_u16();
    let retry_after = res
        .headers()
        .get(RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| super::schedule::parse_retry_after(v, std::time::SystemTime::now()));
    let mut kept: Vec<u8> = Vec::new();
    let mut error = None;
    while kept.len() < KEPT_BODY_BYTES {
        match tokio::time::timeout(Duration::from_secs(2), res.chunk()).await {
            Ok(Ok(Some(chunk))) => kept.extend_from_slice(&chunk),
            Ok(Ok(None)) => break,
            Ok(Err(e)) => {
                error = Some(format!("reading the response failed: {}", describe(&e)));
                break;
            }
            Err(_) => break,
        }
    }
    kept.truncate(KEPT_BODY_BYTES);
    let body = String::from_utf8_lossy(&kept).into_owned();
    if error.is_none() && !(200..300).contains(&status) {
        error = Some(if (300..400).contains(&status) {
            format!("HTTP {status}: redirects are not followed")
        } else {
            format!("HTTP {status}")
        });
    }
    Outcome { status: Some(status), latency, error, body: Some(body), retry_after }
}

/// The error and its causes on one line.
fn describe(e: &reqwest::Error) -> String {
    let mut text = if e.is_timeout() { "timed out".to_owned() } else { e.to_string() };
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}
