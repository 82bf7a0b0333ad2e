//! Traces across the bus: one SCIM POST gives one trace, from scim-ingress's request through the
//! outbox publish, RabbitMQ, employee-store's and the dispatcher's consumers, the fan-out, to the
//! webhook attempt whose `traceparent` the receiver gets. First with the SDK's in-memory exporter,
//! then exported over OTLP/HTTP to a collector this test runs on 127.0.0.1.
//!
//! Each test installs the process's global subscriber: nextest runs each in its own process.

mod support;

use std::time::{Duration, Instant};

use opentelemetry::trace::{SpanId, SpanKind, TraceId, TracerProvider as _};
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider, SpanData};
use reqwest::Method;
use serde_json::json;
use support::receiver::{receiver, wait_for};
use support::{Stack, StackOptions};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

fn user() -> serde_json::Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": "traced.user@okta.local",
        "name": { "givenName": "Traced", "familyName": "User" },
        "emails": [{ "primary": true, "value": "traced.user@okta.local", "type": "work" }],
        "externalId": "00utraced",
        "active": true
    })
}

/// Trace and parent span of a `traceparent` header (`00-<trace>-<span>-<flags>`).
fn parse_traceparent(value: &str) -> (TraceId, SpanId) {
    let parts: Vec<&str> = value.split('-').collect();
    assert_eq!(parts.len(), 4, "traceparent {value}");
    (TraceId::from_hex(parts[1]).expect("trace id"), SpanId::from_hex(parts[2]).expect("span id"))
}

/// Starts the system with webhooks, subscribes a receiver, creates one user through SCIM and
/// returns the webhook's `traceparent` once the receiver has it (and the stack, to stop later).
async fn one_traced_create() -> (Stack, String) {
    let stack = Stack::start(StackOptions { webhooks: true, ..Default::default() }).await;
    let t = stack.tenant("Traced").await;
    let (url, inbox) = receiver();
    stack.subscribe(&t, &url, &["employee.created"]).await;
    let created = stack.scim_send(&t, Method::POST, "/Users", &user()).await;
    assert_eq!(created.status(), 201);
    let got = wait_for(&inbox, 1).await;
    let traceparent = got[0].0.get("traceparent").and_then(|v| v.to_str().ok()).expect("a traceparent header");
    (stack, traceparent.to_owned())
}

fn find<'a>(spans: &'a [SpanData], what: &str, pick: impl Fn(&SpanData) -> bool) -> &'a SpanData {
    spans.iter().find(|s| pick(s)).unwrap_or_else(|| {
        let seen: Vec<String> = spans.iter().map(|s| format!("{} ({:?})", s.name, s.span_kind)).collect();
        panic!("no {what} span in the trace; it has {seen:?}")
    })
}

#[tokio::test]
async fn one_scim_post_is_one_trace_from_the_request_to_the_webhook_attempt() {
    opentelemetry::global::set_text_map_propagator(opentelemetry_sdk::propagation::TraceContextPropagator::new());
    let exporter = InMemorySpanExporter::default();
    let provider = SdkTracerProvider::builder().with_simple_exporter(exporter.clone()).build();
    tracing_subscriber::registry()
        .with(tracing_subscriber::EnvFilter::new("info"))
        .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("e2e")))
        .try_init()
        .expect("the only subscriber of this process");

    let (stack, traceparent) = one_traced_create().await;
    let (trace, attempt_id) = parse_traceparent(&traceparent);
    assert!(traceparent.ends_with("-01"), "the webhook's trace is sampled: {traceparent}");

    // Spans are exported as they end; the last ones (the consumers') end just after the webhook.
    let wanted = |spans: &[SpanData]| {
        let kinds = |k: SpanKind| spans.iter().filter(|s| s.span_kind == k).count();
        kinds(SpanKind::Consumer) >= 2 && spans.iter().any(|s| s.span_context.span_id() == attempt_id)
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    let spans = loop {
        let spans: Vec<SpanData> = exporter
            .get_finished_spans()
            .expect("spans")
            .into_iter()
            .filter(|s| s.span_context.trace_id() == trace)
            .collect();
        if wanted(&spans) {
            break spans;
        }
        assert!(
            Instant::now() < deadline,
            "the trace never completed: {:?}",
            spans.iter().map(|s| &s.name).collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };

    let request = find(&spans, "SCIM request (server)", |s| {
        s.span_kind == SpanKind::Server && s.name.starts_with("POST /scim/v2/")
    });
    let publish = find(&spans, "outbox publish (producer)", |s| {
        s.span_kind == SpanKind::Producer && s.name.ends_with(" publish")
    });
    let store = find(&spans, "employee-store consume (consumer)", |s| {
        s.span_kind == SpanKind::Consumer && s.name.contains("employee-store")
    });
    let dispatcher_queue = stack.webhooks_queue();
    let dispatch = find(&spans, "webhook-dispatcher consume (consumer)", |s| {
        s.span_kind == SpanKind::Consumer && s.name == format!("{dispatcher_queue} process")
    });
    let fan_out = find(&spans, "fan-out", |s| s.name == "fan-out");
    let attempt = find(&spans, "webhook attempt (client)", |s| s.span_context.span_id() == attempt_id);

    // One chain of parents: request → … → publish → each consumer; dispatcher → fan-out → attempt.
    let ancestors = |span: &SpanData| {
        let mut chain = Vec::new();
        let mut parent = span.parent_span_id;
        while let Some(p) = spans.iter().find(|s| s.span_context.span_id() == parent) {
            chain.push(p.span_context.span_id());
            parent = p.parent_span_id;
        }
        chain
    };
    assert!(ancestors(publish).contains(&request.span_context.span_id()), "the publish descends from the request");
    assert_eq!(store.parent_span_id, publish.span_context.span_id(), "employee-store continues the message's trace");
    assert_eq!(dispatch.parent_span_id, publish.span_context.span_id(), "the dispatcher continues the message's trace");
    assert_eq!(fan_out.parent_span_id, dispatch.span_context.span_id());
    assert_eq!(attempt.parent_span_id, fan_out.span_context.span_id());
    assert_eq!(attempt.span_kind, SpanKind::Client);
    assert_eq!(attempt.name, "POST webhook");
    let status = attempt.attributes.iter().find(|kv| kv.key.as_str() == "http.response.status_code");
    assert_eq!(status.map(|kv| kv.value.to_string()), Some("204".to_owned()));
    assert_eq!(request.parent_span_id, SpanId::INVALID, "the SCIM request (no caller context) is the root");

    stack.shutdown().await;
    let _ = provider.shutdown();
}

#[tokio::test]
async fn spans_are_exported_over_otlp_http_to_the_configured_collector() {
    // A collector that keeps what it is sent (it answers 204, which the OTLP exporter takes).
    let (url, exports) = receiver();
    let settings = uapi_platform::config::TelemetrySettings {
        otlp_endpoint: url.replace("/webhooks", "/v1/traces"),
        log_filter: "info".into(),
        log_format: uapi_platform::config::LogFormat::Json,
    };
    let guard = uapi_platform::telemetry::init("uapi-e2e", &settings).expect("telemetry");

    let (stack, traceparent) = one_traced_create().await;
    let (trace, attempt_id) = parse_traceparent(&traceparent);
    stack.shutdown().await;
    // Flushes the batch exporter: every span ended so far is POSTed before this returns.
    guard.shutdown().await;

    let got = exports.lock().expect("lock").clone();
    assert!(!got.is_empty(), "the collector got no export");
    for (headers, _) in &got {
        assert_eq!(headers.get("content-type").and_then(|v| v.to_str().ok()), Some("application/x-protobuf"));
    }
    // The protobuf carries ids as raw bytes and names as UTF-8: the trace, the attempt's span,
    // the service name and the span names are all in what was exported.
    let all: Vec<u8> = got.iter().flat_map(|(_, b)| b.to_vec()).collect();
    let has = |needle: &[u8]| all.windows(needle.len()).any(|w| w == needle);
    assert!(has(&trace.to_bytes()), "the webhook's trace was exported");
    assert!(has(&attempt_id.to_bytes()), "the attempt's span was exported");
    for name in ["uapi-e2e", "POST webhook", "fan-out", " publish", " process"] {
        assert!(has(name.as_bytes()), "{name:?} was exported");
    }
}
