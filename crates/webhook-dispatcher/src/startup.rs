//! Builds webhook-dispatcher from its settings and runs it until shutdown: the API (role `api`),
//! the event consumer and delivery loop (role `worker`), or both (`all`).

use std::sync::Arc;
use std::time::Duration;

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
use uapi_platform::{db, db::PgPool};

use crate::config::{Role, Settings};
use crate::delivery::Dispatcher;
use crate::delivery::metrics::DeliveryMetrics;
use crate::delivery::subscription_cache::SubscriptionCache;
use crate::ssrf::TargetPolicy;
use crate::state::AppState;
use crate::{fanout, routes};

pub const SERVICE: &str = "webhook-dispatcher";

pub struct Application {
    http: HttpService,
    pool: PgPool,
    broker: Arc<Broker>,
    consumer: ConsumerSettings,
    /// The delivery engine, when this process is a worker.
    dispatcher: Option<Dispatcher>,
    keys: Arc<crate::sealing::KeyRing>,
}

impl Application {
    /// Builds the process for `settings.dispatcher.role`.
    pub fn build(settings: &Settings) -> anyhow::Result<Self> {
        let role = settings.dispatcher.role;
        let pool = db::pool(&settings.database)?;
        let broker = Broker::from_settings(&settings.amqp, SERVICE)?;
        let verifier = web::Data::new(
            TokenVerifier::from_base64(&settings.auth.verifying_key)
                .map_err(|e| anyhow::anyhow!("auth.verifying_key: {e}"))?,
        );
        let w = &settings.webhooks;
        let policy = Arc::new(TargetPolicy::new(w.allow_private_targets, &w.allowed_cidrs));
        let metrics = Metrics::new(SERVICE);
        let consumer_metrics = ConsumerMetrics::register(&metrics.registry);
        let cache = SubscriptionCache::new(pool.clone(), w.subscription_cache());
        let keys = Arc::new(settings.secrets.key_ring()?);
        let dispatcher = if role.delivers() {
            let m = DeliveryMetrics::register(&metrics);
            Some(Dispatcher::new(pool.clone(), w.clone(), policy.clone(), m, cache.clone(), keys.clone())?)
        } else {
            None
        };
        let state = web::Data::new(AppState {
            pool: pool.clone(),
            policy,
            secret_grace: Duration::from_secs(w.secret_grace_secs),
            subscriptions: cache,
            keys: keys.clone(),
        });
        // The API alone never touches RabbitMQ, so only workers report on it.
        let readiness = Readiness::new(Some(pool.clone()), role.delivers().then(|| broker.clone()));
        let http = http::bind(&settings.http, readiness, metrics, ErrorStyle::Problem, move |cfg| {
            if role.serves_api() {
                cfg.app_data(state.clone()).app_data(verifier.clone()).configure(routes::configure);
            }
        })?;
        Ok(Self {
            http,
            pool,
            broker,
            keys,
            consumer: ConsumerSettings {
                exchange: settings.amqp.exchange.clone(),
                queue: settings.consumer.queue.clone(),
                bindings: uapi_events::queues::DIRECTORY_BINDINGS.map(str::to_owned).to_vec(),
                prefetch: settings.amqp.prefetch,
                concurrency: settings.consumer.concurrency,
                metrics: consumer_metrics,
            },
            dispatcher,
        })
    }

    pub fn port(&self) -> u16 {
        self.http.port()
    }

    pub async fn run_until(self, stop: CancellationToken) -> anyhow::Result<()> {
        // Every secret onto the first key of the ring (and rows written before sealing sealed),
        // in the background: until a row is resealed, any key of the ring still opens it.
        let (pool, keys) = (self.pool.clone(), self.keys.clone());
        tokio::spawn(async move {
            match crate::sealing::reseal(&pool, &keys).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(resealed = n, key = keys.active_id(), "webhook secrets resealed"),
                Err(e) => tracing::warn!(error = %e, "resealing webhook secrets failed; the next start tries again"),
            }
        });
        let Some(dispatcher) = self.dispatcher else {
            return self.http.run_until(stop).await;
        };
        let writer = fanout::Writer::start(self.pool, dispatcher.clone());
        let (broker, settings) = (self.broker.clone(), self.consumer);
        self.http
            .run_with(stop, &self.broker, |background| {
                // The delivery loop drains only after the consumer stopped: its handlers may
                // still start attempts until then.
                let fed = CancellationToken::new();
                let (consumed, consuming) = (fed.clone(), background.clone());
                vec![
                    tokio::spawn(async move {
                        consumer::consume_until(
                            broker,
                            settings,
                            move |d| fanout::handle(writer.clone(), d),
                            consuming,
                        )
                        .await;
                        consumed.cancel();
                    }),
                    tokio::spawn(dispatcher.run_until(background, fed)),
                ]
            })
            .await
    }
}

/// `--role R` (or `--role=R`) among the arguments after the command, if given.
pub fn role_flag(args: &[String]) -> anyhow::Result<Option<Role>> {
    let value = match args {
        [] => return Ok(None),
        [flag, value] if flag == "--role" => value.as_str(),
        [one] if one.starts_with("--role=") => &one["--role=".len()..],
        [flag] if flag == "--role" => anyhow::bail!("--role needs a value: api, worker or all"),
        other => {
            anyhow::bail!("unknown arguments {other:?}; usage: {SERVICE} [serve [--role api|worker|all] | migrate]")
        }
    };
    Role::parse(value).map(Some).ok_or_else(|| anyhow::anyhow!("--role must be api, worker or all, not {value:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn role_flag_parses_both_spellings_and_rejects_the_rest() {
        assert_eq!(role_flag(&args(&[])).expect("none"), None);
        assert_eq!(role_flag(&args(&["--role", "worker"])).expect("worker"), Some(Role::Worker));
        assert_eq!(role_flag(&args(&["--role=api"])).expect("api"), Some(Role::Api));
        assert!(role_flag(&args(&["--role", "boss"])).is_err());
        assert!(role_flag(&args(&["--verbose"])).is_err());
    }
}
