//! The HTTP bootstrap every service shares: bind, wire health, metrics, tracing (with W3C
//! `traceparent` from callers) and problem-shaped extractor errors, then run until a shutdown
//! token fires and drain: readiness drops, a short delay lets load balancers notice, in-flight
//! requests finish.

mod guard;

use std::future::Future;
use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix_http::KeepAlive;
use actix_http::error::DispatchError;
use actix_service::{IntoServiceFactory, ServiceFactoryExt, fn_service, map_config};
use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{AppConfig, Server, ServerHandle, ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::middleware::{Next, from_fn};
use actix_web::{App, HttpRequest, web};
use opentelemetry::propagation::Extractor;
use tokio::net::TcpStream;
use tokio_util::sync::CancellationToken;
use tracing::Span;
use tracing_actix_web::{DefaultRootSpanBuilder, RootSpanBuilder, TracingLogger};
use tracing_opentelemetry::OpenTelemetrySpanExt;

use crate::amqp::Broker;
use crate::config::HttpSettings;
use crate::health::{self, Readiness};
use crate::metrics::{self, Metrics};
use crate::problem::{self, ErrorStyle, Problem};
use crate::text;

/// How long a client has to send a request head (408 after); actix-web's default.
const CLIENT_REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a closing connection may take to shut down; actix-web's default.
const CLIENT_DISCONNECT_TIMEOUT: Duration = Duration::from_secs(1);

/// A bound, not yet running, HTTP server.
pub struct HttpService {
    server: Server,
    handle: ServerHandle,
    port: u16,
    readiness: Readiness,
    drain_delay: Duration,
}

/// What browsers may do from `origins` (the portal's API Explorer): call every route with a
/// bearer token and a JSON body, and read the headers a client acts on.
fn cors(origins: &[String]) -> actix_cors::Cors {
    use actix_web::http::header;
    let cors = origins.iter().fold(actix_cors::Cors::default(), |cors, origin| cors.allowed_origin(origin));
    cors.allowed_methods(["GET", "POST", "PUT", "PATCH", "DELETE"])
        .allowed_headers([header::AUTHORIZATION, header::CONTENT_TYPE, header::ACCEPT])
        .expose_headers([header::LOCATION, header::RETRY_AFTER, header::WWW_AUTHENTICATE])
        .max_age(600)
}

/// Binds `settings.host:port` and builds the server. `configure` adds the service's routes; its
/// shared state is registered there as `web::Data`.
pub fn bind<F>(
    settings: &HttpSettings,
    readiness: Readiness,
    metrics: Metrics,
    errors: ErrorStyle,
    configure: F,
) -> anyhow::Result<HttpService>
where
    F: Fn(&mut web::ServiceConfig) + Send + Clone + 'static,
{
    let listener = TcpListener::bind((settings.host.as_str(), settings.port))
        .map_err(|e| anyhow::anyhow!("cannot bind {}:{}: {e}", settings.host, settings.port))?;
    let addr = listener.local_addr()?;
    let body_limit = settings.body_limit_bytes;
    let (ready_data, metrics_data) = (web::Data::new(readiness.clone()), web::Data::new(metrics));
    let origins: Vec<String> = settings.cors_origins().map(str::to_owned).collect();
    let app = move || {
        App::new()
            .wrap(actix_web::middleware::Condition::new(!origins.is_empty(), cors(&origins)))
            .wrap(from_fn(move |req, next| refuse_nul(errors, req, next)))
            .wrap(TracingLogger::<TraceparentRootSpan>::new())
            // Outermost, so the per-request log line stays short (outside the request span).
            .wrap(from_fn(metrics::record))
            .app_data(ready_data.clone())
            .app_data(metrics_data.clone())
            .app_data(problem::json_config(body_limit))
            .app_data(web::PayloadConfig::new(body_limit))
            .app_data(problem::path_config())
            .app_data(problem::query_config())
            .configure(health::routes)
            .configure(metrics::routes)
            .configure(configure.clone())
            .default_service(web::to(move |req: HttpRequest| async move {
                errors.respond(req.path(), Problem::not_found("no such endpoint"))
            }))
    };
    let mut builder = Server::build().disable_signals().shutdown_timeout(settings.shutdown_timeout_secs);
    if settings.workers > 0 {
        builder = builder.workers(settings.workers);
    }
    // What actix-web's `HttpServer::listen` builds, with the connection wrapped in `Guarded` so the
    // HTTP layer's own error responses (oversized or malformed heads, head timeouts) get a body.
    let shutdown = builder.graceful_shutdown_signal();
    let server = builder
        .listen("uapi-http", listener, move || {
            let shutdown = shutdown.clone();
            let h1 = actix_http::HttpService::build()
                // In-flight keep-alive connections close after their response once shutdown starts.
                .graceful_shutdown_signal(move || {
                    let shutdown = shutdown.clone();
                    async move { shutdown.notified().await }
                })
                .keep_alive(KeepAlive::default())
                .client_request_timeout(CLIENT_REQUEST_TIMEOUT)
                .client_disconnect_timeout(CLIENT_DISCONNECT_TIMEOUT)
                .h1_allow_half_closed(true)
                .local_addr(addr)
                .h1(map_config(app().into_factory().map_err(|e: actix_web::Error| e.error_response()), |_| {
                    AppConfig::default()
                }));
            fn_service(move |io: TcpStream| {
                let peer = io.peer_addr().ok();
                async move { Ok::<_, DispatchError>((guard::Guarded::new(io, errors), peer)) }
            })
            .and_then(h1)
        })?
        .run();
    Ok(HttpService {
        handle: server.handle(),
        server,
        port: addr.port(),
        readiness,
        drain_delay: Duration::from_millis(settings.drain_delay_ms),
    })
}

impl HttpService {
    /// The bound port (useful with port 0).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Serves until `stop` fires with the background work `start` spawns (relays, consumers) and a
    /// supervised broker connection; then drains HTTP, stops the background work, waits for it to
    /// finish its round, and closes the broker connection last.
    pub async fn run_with<F>(self, stop: CancellationToken, broker: &Arc<Broker>, start: F) -> anyhow::Result<()>
    where
        F: FnOnce(CancellationToken) -> Vec<tokio::task::JoinHandle<()>>,
    {
        let background = CancellationToken::new();
        let supervisor = broker.supervise_until(background.clone());
        let tasks = start(background.clone());
        let served = self
            .serve_until(stop, async {
                // The background work ends first, while the HTTP workers still run: a pooled
                // connection a request opened lives on that worker's runtime and dies with it,
                // which would fail a last fan-out, record or relay round that picked it up.
                background.cancel();
                for task in tasks {
                    let _ = task.await;
                }
            })
            .await;
        let _ = supervisor.await;
        served
    }

    /// Serves until `stop` fires, then drains.
    pub async fn run_until(self, stop: CancellationToken) -> anyhow::Result<()> {
        self.serve_until(stop, async {}).await
    }

    /// Serves until `stop` fires; then readiness drops, the drain delay passes, `before_stop`
    /// runs, and the server stops gracefully.
    async fn serve_until(self, stop: CancellationToken, before_stop: impl Future<Output = ()>) -> anyhow::Result<()> {
        let server = tokio::spawn(self.server);
        stop.cancelled().await;
        self.readiness.start_draining();
        tokio::time::sleep(self.drain_delay).await;
        before_stop.await;
        // Graceful: stop accepting, let in-flight requests complete within shutdown_timeout.
        self.handle.stop(true).await;
        server.await??;
        Ok(())
    }
}

/// Middleware: a URL that encodes NUL (`%00`) is refused before it can reach a query, since
/// Postgres stores no NUL in text.
async fn refuse_nul(
    errors: ErrorStyle,
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let target = req.uri().path_and_query().map(|p| p.as_str()).unwrap_or_default();
    if text::url_has_nul(target) {
        let problem =
            Problem::new(StatusCode::BAD_REQUEST, "invalid-value", "the URL must not contain the NUL character (%00)");
        let res = errors.respond(req.path(), problem);
        return Ok(req.into_response(res));
    }
    Ok(next.call(req).await?.map_into_boxed_body())
}

/// Paths whose rest is a secret (a setup link's token, in control-plane's API and the portal's
/// page): their span records this prefix alone, so no log line or trace of the request has it.
const SECRET_PATHS: [&str; 2] = ["/api/setup-links/", "/setup/"];

/// The fields of `tracing_actix_web::root_span!`, with the path cut at `prefix`.
fn redacted_span(request: &ServiceRequest, prefix: &str) -> Span {
    let method = request.method().as_str();
    let target = format!("{prefix}…");
    tracing::info_span!(
        "HTTP request",
        http.method = %method,
        http.route = %target,
        http.target = %target,
        http.status_code = tracing::field::Empty,
        otel.name = %format!("{method} {target}"),
        otel.kind = "server",
        otel.status_code = tracing::field::Empty,
        trace_id = tracing::field::Empty,
        exception.message = tracing::field::Empty,
        exception.details = tracing::field::Empty,
    )
}

/// Root span per request, parented on the caller's `traceparent`; probes and metrics stay untraced.
pub struct TraceparentRootSpan;

impl RootSpanBuilder for TraceparentRootSpan {
    fn on_request_start(request: &ServiceRequest) -> Span {
        if matches!(request.path(), "/livez" | "/readyz" | "/metrics") {
            return Span::none();
        }
        let span = match SECRET_PATHS.iter().find(|p| request.path().starts_with(*p)) {
            Some(prefix) => redacted_span(request, prefix),
            None => tracing_actix_web::root_span!(request),
        };
        let parent = opentelemetry::global::get_text_map_propagator(|p| p.extract(&HeaderExtractor(request.headers())));
        let _ = span.set_parent(parent);
        span
    }

    fn on_request_end<B: MessageBody>(span: Span, outcome: &Result<ServiceResponse<B>, actix_web::Error>) {
        // Recording the outcome formats the error eagerly; with the span filtered out nobody reads it.
        if span.is_disabled() {
            return;
        }
        DefaultRootSpanBuilder::on_request_end(span, outcome);
    }
}

/// actix-web 4 is on `http` 0.2 while opentelemetry-http targets 1.x, hence our own extractor.
struct HeaderExtractor<'a>(&'a actix_web::http::header::HeaderMap);

impl Extractor for HeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(|k| k.as_str()).collect()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;

    /// Every log line written while `path`'s request span is entered, in the pretty format (which
    /// prints each value a field was ever given).
    fn logged_under(path: &str) -> String {
        let lines = Arc::new(Mutex::new(Vec::<u8>::new()));
        let sink = lines.clone();
        let subscriber =
            tracing_subscriber::fmt().with_writer(move || SinkWriter(sink.clone())).with_ansi(false).pretty().finish();
        tracing::subscriber::with_default(subscriber, || {
            let request = actix_web::test::TestRequest::with_uri(path).to_srv_request();
            let span = TraceparentRootSpan::on_request_start(&request);
            span.in_scope(|| tracing::warn!("a warning during the request"));
        });
        lines.lock().map(|l| String::from_utf8_lossy(&l).into_owned()).unwrap_or_default()
    }

    struct SinkWriter(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for SinkWriter {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().map_err(|_| std::io::Error::other("poisoned"))?.extend_from_slice(buf);
            Ok(buf.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_setup_links_token_never_reaches_a_log_line() {
        for path in ["/api/setup-links/uapi_setup_SECRET", "/setup/uapi_setup_SECRET/status"] {
            let logged = logged_under(path);
            assert!(logged.contains("a warning during the request"), "{logged}");
            assert!(!logged.contains("SECRET"), "{path}: {logged}");
            assert!(logged.contains("setup") && logged.contains('…'), "the prefix is kept: {logged}");
        }
    }
}
