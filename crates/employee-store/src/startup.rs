//! Builds employee-store from its settings and runs it until shutdown: the read API and the
//! projection consumer of employee and group events.

use std::sync::Arc;

use actix_web::web;
use tokio_util::sync::CancellationToken;
use uapi_platform::amqp::Broker;
use uapi_platform::auth::TokenVerifier;
use uapi_platform::consumer::{self, ConsumerSettings};
use uapi_platform::dead_letters::ConsumerMetrics;
use uapi_platform::health::Readiness;
use uapi_platform::http::{self, HttpService};
use uapi_platform::metrics::Metrics;
use uapi_platform::problem::ErrorStyle;
use uapi_platform::tombstones::ConsumerCheck;
use uapi_platform::{db, db::PgPool};

use crate::config::Settings;
use crate::state::AppState;
use crate::{projection, routes};

pub const SERVICE: &str = "employee-store";

pub struct Application {
    http: HttpService,
    pool: PgPool,
    broker: Arc<Broker>,
    consumer: ConsumerSettings,
    feed_retention_days: u32,
}

impl Application {
    pub fn build(settings: &Settings) -> anyhow::Result<Self> {
        let pool = db::pool(&settings.database)?;
        let broker = Broker::from_settings(&settings.amqp, SERVICE)?;
        let verifier = web::Data::new(
            TokenVerifier::from_base64(&settings.auth.verifying_key)
                .map_err(|e| anyhow::anyhow!("auth.verifying_key: {e}"))?,
        );
        let state = web::Data::new(AppState { pool: pool.clone() });
        let lookup_pool = pool.clone();
        let consumers = web::Data::new(ConsumerCheck::new(move |consumer| {
            let pool = lookup_pool.clone();
            async move {
                let mut conn = pool.get().await?;
                Ok(crate::db::consumers::is_deleted(&mut conn, consumer).await?)
            }
        }));
        let readiness = Readiness::new(Some(pool.clone()), Some(broker.clone()));
        let metrics = Metrics::new(SERVICE);
        let consumer_metrics = ConsumerMetrics::register(&metrics.registry);
        let http = http::bind(&settings.http, readiness, metrics, ErrorStyle::Problem, move |cfg| {
            cfg.app_data(state.clone())
                .app_data(verifier.clone())
                .app_data(consumers.clone())
                .configure(routes::configure);
        })?;
        Ok(Self {
            http,
            pool,
            broker,
            consumer: ConsumerSettings {
                exchange: settings.amqp.exchange.clone(),
                queue: settings.consumer.queue.clone(),
                bindings: uapi_events::queues::DIRECTORY_BINDINGS.map(str::to_owned).to_vec(),
                prefetch: settings.amqp.prefetch,
                concurrency: settings.consumer.concurrency,
                metrics: consumer_metrics,
            },
            feed_retention_days: settings.feed.retention_days,
        })
    }

    pub fn port(&self) -> u16 {
        self.http.port()
    }

    pub async fn run_until(self, stop: CancellationToken) -> anyhow::Result<()> {
        let (pool, broker, settings, retention_days) =
            (self.pool, self.broker.clone(), self.consumer, self.feed_retention_days);
        let writer = projection::Writer::start(pool.clone());
        self.http
            .run_with(stop, &self.broker, |background| {
                vec![
                    tokio::spawn(crate::db::feed::sweep_until(pool.clone(), retention_days, background.clone())),
                    tokio::spawn(consumer::consume_until(
                        broker,
                        settings,
                        move |d| projection::handle(writer.clone(), pool.clone(), d),
                        background,
                    )),
                ]
            })
            .await
    }
}
