//! Logs and traces: one `init` per binary. JSON or pretty logs filtered by `RUST_LOG` (or the
//! configured filter), and OTLP trace export when an endpoint is configured. W3C `traceparent`
//! propagation is installed globally so HTTP and AMQP hops join one trace.

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::WithExportConfig;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

use crate::config::{LogFormat, TelemetrySettings};

/// Flushes pending spans when dropped at the end of `main`.
pub struct TelemetryGuard {
    provider: Option<SdkTracerProvider>,
}

impl TelemetryGuard {
    /// Flushes and stops the exporter. The SDK's shutdown blocks, so it runs off the async runtime.
    pub async fn shutdown(mut self) {
        if let Some(provider) = self.provider.take() {
            let _ = tokio::task::spawn_blocking(move || provider.shutdown()).await;
        }
    }
}

/// Installs the global subscriber for `service`. Call once, before anything logs.
pub fn init(service: &'static str, settings: &TelemetrySettings) -> anyhow::Result<TelemetryGuard> {
    opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());

    let filter = EnvFilter::try_from_default_env().or_else(|_| EnvFilter::try_new(&settings.log_filter))?;
    let fmt = match settings.log_format {
        LogFormat::Json => tracing_subscriber::fmt::layer().json().flatten_event(true).with_current_span(false).boxed(),
        LogFormat::Pretty => tracing_subscriber::fmt::layer().compact().with_target(false).boxed(),
    };

    // The setting is the traces URL itself; the standard variables are left to the exporter,
    // which appends `/v1/traces` to OTEL_EXPORTER_OTLP_ENDPOINT (a base URL) as the spec says.
    let configured = Some(settings.otlp_endpoint.clone()).filter(|e| !e.is_empty());
    let from_env = ["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT"]
        .iter()
        .any(|v| std::env::var(v).is_ok_and(|e| !e.is_empty()));
    let provider = match (configured, from_env) {
        (None, false) => None,
        (configured, _) => {
            let builder = opentelemetry_otlp::SpanExporter::builder().with_http();
            let exporter = match configured {
                Some(endpoint) => builder.with_endpoint(endpoint).build()?,
                None => builder.build()?,
            };
            Some(
                SdkTracerProvider::builder()
                    .with_batch_exporter(exporter)
                    .with_resource(opentelemetry_sdk::Resource::builder().with_service_name(service).build())
                    .build(),
            )
        }
    };
    let otel = provider.as_ref().map(|p| tracing_opentelemetry::layer().with_tracer(p.tracer(service)));

    tracing_subscriber::registry().with(filter).with(fmt).with(otel).try_init()?;
    Ok(TelemetryGuard { provider })
}

/// The W3C `traceparent` of `span`, when it is part of a trace something records.
pub fn traceparent_of(span: &tracing::Span) -> Option<String> {
    use tracing_opentelemetry::OpenTelemetrySpanExt;
    let cx = span.context();
    let mut carrier = std::collections::HashMap::new();
    opentelemetry::global::get_text_map_propagator(|p| p.inject_context(&cx, &mut carrier));
    carrier.remove("traceparent")
}

/// The current span's `traceparent`, or, where there is no trace (no exporter, no caller's
/// context), a new root one (not sampled: nothing of ours recorded it): what every outbox row
/// (so every event) and every outgoing webhook carries, so a receiver can always correlate.
pub fn traceparent_or_new() -> String {
    traceparent_of(&tracing::Span::current()).unwrap_or_else(|| {
        let trace: u128 = rand::random::<u128>().max(1);
        let span: u64 = rand::random::<u64>().max(1);
        format!("00-{trace:032x}-{span:016x}-00")
    })
}

/// Makes `traceparent` (when valid) the parent of `span`, which must not have been entered yet.
pub fn continue_trace(span: &tracing::Span, traceparent: Option<&str>) {
    use tracing_opentelemetry::OpenTelemetrySpanExt;
    let Some(traceparent) = traceparent else { return };
    let carrier = std::collections::HashMap::from([("traceparent".to_owned(), traceparent.to_owned())]);
    let parent = opentelemetry::global::get_text_map_propagator(|p| p.extract(&carrier));
    let _ = span.set_parent(parent);
}

/// The `traceparent` a message or request sent within `span` carries: the span's own where spans
/// are recorded, so the receiver's spans are its children; else the trace it continues (`given`),
/// so a receiver can still correlate; else a new root.
pub fn outgoing_traceparent(span: &tracing::Span, given: Option<&str>) -> String {
    traceparent_of(span).or_else(|| given.map(str::to_owned)).unwrap_or_else(traceparent_or_new)
}
