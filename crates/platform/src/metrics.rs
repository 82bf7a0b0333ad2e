//! Prometheus metrics: a registry per process, request counters and latency histograms recorded by
//! a middleware, and `/metrics` in the text exposition format. Services register their own
//! collectors on the same registry.

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{HttpResponse, web};
use prometheus::{Encoder, HistogramOpts, HistogramVec, IntCounterVec, Opts, Registry, TextEncoder};

/// The process's registry and the HTTP collectors every service has.
#[derive(Clone)]
pub struct Metrics {
    pub registry: Registry,
    requests: IntCounterVec,
    latency: HistogramVec,
}

impl Metrics {
    pub fn new(service: &str) -> Self {
        let registry =
            Registry::new_custom(Some("uapi".into()), Some([("service".to_owned(), service.to_owned())].into()))
                .unwrap_or_default();
        let requests = IntCounterVec::new(
            Opts::new("http_requests_total", "HTTP requests by route, method and status"),
            &["method", "route", "status"],
        )
        .expect("static metric definition is valid"); // ok: constant names and labels
        let latency = HistogramVec::new(
            HistogramOpts::new("http_request_duration_seconds", "HTTP request latency by route")
                .buckets(vec![0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0]),
            &["method", "route"],
        )
        .expect("static metric definition is valid"); // ok: constant names and labels
        // Registration only fails on duplicate names, impossible on a fresh registry.
        let _ = registry.register(Box::new(requests.clone()));
        let _ = registry.register(Box::new(latency.clone()));
        Self { registry, requests, latency }
    }

    fn render(&self) -> String {
        let mut buf = Vec::new();
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut buf);
        String::from_utf8(buf).unwrap_or_default()
    }
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/metrics", web::get().to(metrics));
}

async fn metrics(metrics: web::Data<Metrics>) -> HttpResponse {
    HttpResponse::Ok().content_type("text/plain; version=0.0.4").body(metrics.render())
}

/// Middleware: counts and times every request by its route pattern (never the raw path, which
/// would explode cardinality and leak ids), and logs one line per request except probes.
pub async fn record(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody + 'static>, actix_web::Error> {
    let started = Instant::now();
    let metrics = req.app_data::<web::Data<Metrics>>().cloned();
    let method = req.method().to_string();
    let res = next.call(req).await?;
    let route = res.request().match_pattern().unwrap_or_else(|| "unmatched".into());
    let status = res.status().as_u16();
    let elapsed = started.elapsed();
    if let Some(m) = metrics {
        m.requests.with_label_values(&[&method, &route, &status.to_string()]).inc();
        m.latency.with_label_values(&[&method, &route]).observe(elapsed.as_secs_f64());
    }
    if !matches!(route.as_str(), "/livez" | "/readyz" | "/metrics") {
        tracing::info!(%method, %route, status, latency_ms = elapsed.as_secs_f64() * 1e3, "request");
    }
    Ok(res)
}
