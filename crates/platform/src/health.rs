//! `/livez` (the process serves; never touches dependencies) and `/readyz` (Postgres and RabbitMQ
//! reachable, and not draining), with a JSON report per dependency.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use actix_web::{HttpResponse, web};
use serde_json::json;

use crate::amqp::Broker;
use crate::db::{self, PgPool};

/// What `/readyz` checks. Cloned into every worker.
#[derive(Clone)]
pub struct Readiness {
    draining: Arc<AtomicBool>,
    pool: Option<PgPool>,
    broker: Option<Arc<Broker>>,
}

impl Readiness {
    pub fn new(pool: Option<PgPool>, broker: Option<Arc<Broker>>) -> Self {
        Self { draining: Arc::new(AtomicBool::new(false)), pool, broker }
    }

    /// From now on `/readyz` answers 503 so traffic moves elsewhere before we stop.
    pub fn start_draining(&self) {
        self.draining.store(true, Ordering::SeqCst);
    }

    pub fn is_draining(&self) -> bool {
        self.draining.load(Ordering::SeqCst)
    }
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/livez", web::get().to(livez)).route("/readyz", web::get().to(readyz));
}

async fn livez() -> HttpResponse {
    HttpResponse::NoContent().finish()
}

async fn readyz(readiness: web::Data<Readiness>) -> HttpResponse {
    let mut ready = !readiness.is_draining();
    let mut checks = serde_json::Map::new();
    if let Some(pool) = &readiness.pool {
        let outcome = db::ping(pool, Duration::from_secs(1)).await;
        ready &= outcome.is_ok();
        checks.insert("postgres".into(), json!(outcome.err().unwrap_or_else(|| "ok".into())));
    }
    if let Some(broker) = &readiness.broker {
        let up = broker.is_connected();
        ready &= up;
        checks.insert("rabbitmq".into(), json!(if up { "ok" } else { "not connected" }));
    }
    let status = match (readiness.is_draining(), ready) {
        (true, _) => "draining",
        (false, true) => "ready",
        (false, false) => "unavailable",
    };
    let body = json!({ "status": status, "checks": checks });
    if ready { HttpResponse::Ok().json(body) } else { HttpResponse::ServiceUnavailable().json(body) }
}
