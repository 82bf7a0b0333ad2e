//! Builds the control plane from its settings and runs it until shutdown.

use std::sync::Arc;
use std::time::Duration;

use actix_web::web;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use uapi_platform::amqp::Broker;
use uapi_platform::auth::{TokenIssuer, TokenVerifier};
use uapi_platform::health::Readiness;
use uapi_platform::http::{self, HttpService};
use uapi_platform::metrics::Metrics;
use uapi_platform::outbox::{self, OutboxMetrics, RelaySettings};
use uapi_platform::problem::ErrorStyle;
use uapi_platform::tombstones::ConsumerCheck;
use uapi_platform::{db, db::PgPool};

use crate::config::Settings;
use crate::domain::credentials::{self, ScimTokens};
use crate::state::AppState;
use crate::{events, routes};

pub const SERVICE: &str = "control-plane";

pub struct Application {
    http: HttpService,
    pool: PgPool,
    broker: Arc<Broker>,
    relay: RelaySettings,
    outbox_metrics: OutboxMetrics,
    reannounce_every: Duration,
    reannounce_window: Duration,
    wake: Arc<Notify>,
}

impl Application {
    /// Creates the pool, the broker handle and the HTTP server. Nothing connects yet: the service
    /// starts while Postgres or RabbitMQ is down and reports not-ready until they are up.
    pub fn build(settings: &Settings) -> anyhow::Result<Self> {
        let pool = db::pool(&settings.database)?;
        let broker = Broker::from_settings(&settings.amqp, SERVICE)?;
        let issuer = TokenIssuer::from_base64(
            settings.auth.signing_key.expose(),
            Duration::from_secs(settings.auth.token_ttl_secs),
        )
        .map_err(|e| anyhow::anyhow!("auth.signing_key: {e}"))?;
        let verifier =
            TokenVerifier::from_base64(issuer.verifying_key()).map_err(|e| anyhow::anyhow!("auth.signing_key: {e}"))?;
        let token_key = credentials::decode_key(settings.scim.token_key.expose())
            .ok_or_else(|| anyhow::anyhow!("scim.token_key: not base64 of at least 32 bytes"))?;
        let wake = Arc::new(Notify::new());
        let state = web::Data::new(AppState {
            pool: pool.clone(),
            issuer,
            admin_token: settings.admin.token.clone(),
            scim_tokens: ScimTokens::new(token_key),
            scim_base_url: settings.scim_base_url(),
            outbox_wake: wake.clone(),
            failed_auth: uapi_platform::throttle::FailedCredentials::new(&settings.throttle),
        });
        let verifier = web::Data::new(verifier);
        // A consumer-scope token of a deleted consumer is refused: the consumer row is gone.
        let lookup_pool = pool.clone();
        let consumers = web::Data::new(ConsumerCheck::new(move |consumer| {
            let pool = lookup_pool.clone();
            async move {
                let mut conn = pool.get().await?;
                Ok(crate::db::consumers::find_any(&mut conn, consumer).await?.is_none())
            }
        }));
        let readiness = Readiness::new(Some(pool.clone()), Some(broker.clone()));
        let metrics = Metrics::new(SERVICE);
        let outbox_metrics = OutboxMetrics::register(&metrics.registry);
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
            relay: settings.outbox.relay.relay(&settings.amqp.exchange, {
                let mut mailboxes = vec![(
                    settings.outbox.connection_events_queue.clone(),
                    vec![uapi_events::queues::CONNECTION_EVENTS_BINDING.to_owned()],
                )];
                mailboxes.extend(uapi_platform::config::OutboxSettings::mailboxes(
                    &settings.outbox.consumer_queues,
                    &uapi_events::queues::DIRECTORY_BINDINGS,
                ));
                mailboxes
            }),
            outbox_metrics,
            reannounce_every: Duration::from_millis(settings.outbox.reannounce_every_ms),
            reannounce_window: Duration::from_secs(settings.outbox.reannounce_window_secs),
            wake,
        })
    }

    pub fn port(&self) -> u16 {
        self.http.port()
    }

    /// Serves until `stop` fires; then drains HTTP, lets the relay finish its round and closes
    /// the broker connection.
    pub async fn run_until(self, stop: CancellationToken) -> anyhow::Result<()> {
        let (pool, broker, relay, wake) = (self.pool, self.broker.clone(), self.relay, self.wake);
        let (metrics, every, window) = (self.outbox_metrics, self.reannounce_every, self.reannounce_window);
        self.http
            .run_with(stop, &self.broker, |background| {
                vec![
                    tokio::spawn(events::reannounce_until(
                        pool.clone(),
                        wake.clone(),
                        every,
                        window,
                        background.clone(),
                    )),
                    tokio::spawn(outbox::relay_until(pool, broker, relay, metrics, wake, background)),
                ]
            })
            .await
    }
}
