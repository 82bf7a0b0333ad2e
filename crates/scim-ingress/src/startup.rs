//! Builds scim-ingress from its settings and runs it until shutdown: the SCIM HTTP server, the
//! outbox relay, the connection-event consumer and the activity flusher.

use std::sync::Arc;
use std::time::Duration;

use actix_web::web;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use uapi_platform::amqp::Broker;
use uapi_platform::consumer::{self, ConsumerSettings};
use uapi_platform::dead_letters::ConsumerMetrics;
use uapi_platform::health::Readiness;
use uapi_platform::http::{self, HttpService};
use uapi_platform::metrics::Metrics;
use uapi_platform::outbox::{self, OutboxMetrics, RelaySettings};
use uapi_platform::problem::ErrorStyle;
use uapi_platform::{db, db::PgPool};

use crate::config::Settings;
use crate::domain::activity::{self, Activity};
use crate::state::AppState;
use crate::{connection_events, routes};

pub const SERVICE: &str = "scim-ingress";

pub struct Application {
    http: HttpService,
    pool: PgPool,
    broker: Arc<Broker>,
    relay: RelaySettings,
    outbox_metrics: OutboxMetrics,
    connections: ConsumerSettings,
    wake: Arc<Notify>,
    activity: Arc<Activity>,
    activity_flush: Duration,
}

impl Application {
    pub fn build(settings: &Settings) -> anyhow::Result<Self> {
        let pool = db::pool(&settings.database)?;
        let broker = Broker::from_settings(&settings.amqp, SERVICE)?;
        let wake = Arc::new(Notify::new());
        let activity = Arc::new(Activity::default());
        let state = web::Data::new(AppState {
            pool: pool.clone(),
            base_url: settings.scim_base_url(),
            body_limit: settings.http.body_limit_bytes,
            default_count: settings.scim.default_count,
            max_count: settings.scim.max_count,
            throttle: uapi_platform::throttle::TokenBuckets::new(
                settings.scim.rate_limit_per_sec,
                settings.scim.rate_limit_burst,
            ),
            failed: uapi_platform::throttle::FailedCredentials::new(&settings.throttle),
            tokens: crate::scim::auth::TokenCache::new(Duration::from_millis(settings.scim.token_cache_ms)),
            creates: crate::domain::group_commit::CreateWriter::start(&settings.database, wake.clone())?,
            outbox_wake: wake.clone(),
            activity: activity.clone(),
        });
        let readiness = Readiness::new(Some(pool.clone()), Some(broker.clone()));
        let metrics = Metrics::new(SERVICE);
        let outbox_metrics = OutboxMetrics::register(&metrics.registry);
        let consumer_metrics = ConsumerMetrics::register(&metrics.registry);
        let http = http::bind(&settings.http, readiness, metrics, ErrorStyle::ScimUnder("/scim/"), move |cfg| {
            cfg.app_data(state.clone()).configure(routes::configure);
        })?;
        Ok(Self {
            http,
            pool,
            broker,
            relay: settings.outbox.relay.relay(&settings.amqp.exchange, settings.outbox.mailboxes()),
            outbox_metrics,
            connections: ConsumerSettings {
                exchange: settings.amqp.exchange.clone(),
                queue: settings.connections.queue.clone(),
                bindings: vec![uapi_events::queues::CONNECTION_EVENTS_BINDING.to_owned()],
                prefetch: settings.amqp.prefetch,
                // One at a time: connection events are rare, and order then needs no reasoning.
                concurrency: 1,
                metrics: consumer_metrics,
            },
            wake,
            activity,
            activity_flush: Duration::from_millis(settings.scim.activity_flush_ms),
        })
    }

    pub fn port(&self) -> u16 {
        self.http.port()
    }

    pub async fn run_until(self, stop: CancellationToken) -> anyhow::Result<()> {
        let (pool, broker, relay, wake, connections) =
            (self.pool, self.broker.clone(), self.relay, self.wake, self.connections);
        let (activity, activity_flush) = (self.activity, self.activity_flush);
        let metrics = self.outbox_metrics;
        self.http
            .run_with(stop, &self.broker, |background| {
                let (projection_pool, activity_pool) = (pool.clone(), pool.clone());
                vec![
                    tokio::spawn(outbox::relay_until(pool, broker.clone(), relay, metrics, wake, background.clone())),
                    tokio::spawn(consumer::consume_until(
                        broker,
                        connections,
                        move |d| connection_events::handle(projection_pool.clone(), d),
                        background.clone(),
                    )),
                    tokio::spawn(activity::flush_until(activity, activity_pool, activity_flush, background)),
                ]
            })
            .await
    }
}
