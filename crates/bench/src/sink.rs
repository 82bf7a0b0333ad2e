//! Webhook receivers for the bench on 127.0.0.1: a sink that answers 200 and notes when each
//! event arrived, and a dead endpoint that accepts connections and never answers.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::{App, HttpResponse, HttpServer, web};
use serde::Deserialize;

/// When each `employee.created` of an entity arrived, and how many deliveries arrived in all.
#[derive(Default)]
struct Arrivals {
    first: Option<Instant>,
    last: Option<Instant>,
    count: usize,
    created: HashMap<String, Instant>,
    /// The highest version of each entity that arrived, and when.
    latest: HashMap<String, (u64, Instant)>,
}

#[derive(Clone, Default)]
pub struct Sink {
    arrivals: Arc<Mutex<Arrivals>>,
}

/// The two fields of a webhook body the sink reads (it shares the box with what it measures, so it
/// builds nothing else).
#[derive(Deserialize)]
struct Arrival {
    #[serde(rename = "eventType")]
    event_type: String,
    #[serde(rename = "entityId")]
    entity_id: String,
    version: u64,
}

async fn receive(sink: web::Data<Sink>, body: web::Bytes) -> HttpResponse {
    let at = Instant::now();
    let event: Option<Arrival> = serde_json::from_slice(&body).ok();
    if let Ok(mut a) = sink.arrivals.lock() {
        a.first.get_or_insert(at);
        a.last = Some(at);
        a.count += 1;
        if let Some(e) = event {
            if e.event_type == "employee.created" {
                a.created.entry(e.entity_id.clone()).or_insert(at);
            }
            let latest = a.latest.entry(e.entity_id).or_insert((e.version, at));
            if e.version > latest.0 {
                *latest = (e.version, at);
            }
        }
    }
    HttpResponse::Ok().finish()
}

impl Sink {
    /// Starts the sink on a free loopback port; returns it and its URL.
    pub fn start() -> anyhow::Result<(Sink, String)> {
        let sink = Sink::default();
        let data = web::Data::new(sink.clone());
        let server = HttpServer::new(move || App::new().app_data(data.clone()).route("/", web::post().to(receive)))
            .workers(2)
            .disable_signals()
            .bind(("127.0.0.1", 0))?;
        let port = server.addrs().first().map(|a| a.port()).unwrap_or_default();
        tokio::spawn(server.run());
        Ok((sink, format!("http://127.0.0.1:{port}/")))
    }

    /// Forgets what arrived so far.
    pub fn reset(&self) {
        if let Ok(mut a) = self.arrivals.lock() {
            *a = Arrivals::default();
        }
    }

    fn count(&self) -> usize {
        self.arrivals.lock().map(|a| a.count).unwrap_or_default()
    }

    /// Waits until `n` deliveries arrived (or `timeout`); returns the rate between the first and
    /// the last, so worker start-up does not count, and how many arrived.
    pub async fn drain(&self, n: usize, timeout: Duration) -> (f64, usize) {
        let deadline = Instant::now() + timeout;
        while self.count() < n && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let Ok(a) = self.arrivals.lock() else { return (0.0, 0) };
        let span = match (a.first, a.last) {
            (Some(f), Some(l)) if l > f => l - f,
            _ => return (0.0, a.count),
        };
        ((a.count.saturating_sub(1)) as f64 / span.as_secs_f64(), a.count)
    }

    /// When the `employee.created` of `entity` arrived.
    pub fn created_at(&self, entity: &str) -> Option<Instant> {
        self.arrivals.lock().ok()?.created.get(entity).copied()
    }

    /// When `version` (or a later one) of `entity` arrived.
    pub fn version_at(&self, entity: &str, version: u64) -> Option<Instant> {
        self.arrivals.lock().ok()?.latest.get(entity).filter(|(v, _)| *v >= version).map(|(_, at)| *at)
    }
}

/// An endpoint that accepts every connection and never answers: each attempt to it runs into the
/// dispatcher's request timeout, the worst a receiver can do to its neighbours.
pub fn dead_endpoint() -> anyhow::Result<String> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    listener.set_nonblocking(true)?;
    let port = listener.local_addr()?.port();
    let listener = tokio::net::TcpListener::from_std(listener)?;
    tokio::spawn(async move {
        let mut held = Vec::new();
        // Bounded: the bench ends long before this; connections are held, never read.
        let until = Instant::now() + Duration::from_secs(600);
        while Instant::now() < until {
            if let Ok(Ok((socket, _))) = tokio::time::timeout(Duration::from_secs(1), listener.accept()).await {
                held.push(socket);
            }
        }
    });
    Ok(format!("http://127.0.0.1:{port}/"))
}
