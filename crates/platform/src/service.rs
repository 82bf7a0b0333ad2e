//! The `main` every service binary shares. Commands:
//! - `migrate`: create the database and apply the embedded migrations;
//! - `serve` (the default): serve until SIGTERM or Ctrl-C;
//! - `replay-dead-letters`: move the dead letters of the queues the service consumes back to them;
//! - `replay-parked`: give the outbox rows parked as unroutable back to the relay;
//! - any command of the service's own ([`Service::tasks`]).

use std::future::Future;
use std::pin::Pin;

use diesel_migrations::EmbeddedMigrations;
use tokio_util::sync::CancellationToken;

use crate::config::{AmqpSettings, DatabaseSettings, TelemetrySettings};

/// A command of the service's own.
pub type Task<'a> = Box<dyn FnOnce() -> Pin<Box<dyn Future<Output = anyhow::Result<()>> + 'a>> + 'a>;

/// The parts of a service `run` needs.
pub struct Service<'a> {
    pub name: &'static str,
    pub telemetry: &'a TelemetrySettings,
    pub database: &'a DatabaseSettings,
    pub migrations: EmbeddedMigrations,
    /// Advisory-lock key that serialises this service's migrations.
    pub migration_lock: i64,
    pub amqp: &'a AmqpSettings,
    /// The queues the service consumes (`replay-dead-letters`).
    pub queues: Vec<String>,
    /// Whether the service publishes through an outbox (`replay-parked`).
    pub outbox: bool,
    /// Commands of the service's own, by name.
    pub tasks: Vec<(&'static str, Task<'a>)>,
}

/// Runs `command`; `serve` gets a token cancelled on SIGTERM/SIGINT.
pub async fn run<F, Fut>(mut service: Service<'_>, command: &str, serve: F) -> anyhow::Result<()>
where
    F: FnOnce(CancellationToken) -> Fut,
    Fut: Future<Output = anyhow::Result<()>>,
{
    let telemetry = crate::telemetry::init(service.name, service.telemetry)?;
    let own = service.tasks.iter().position(|(name, _)| *name == command).map(|i| service.tasks.swap_remove(i).1);
    let outcome = match (command, own) {
        (_, Some(task)) => task().await,
        ("migrate", None) => {
            async {
                let url = service.database.url.expose();
                crate::db::ensure_database(url).await?;
                crate::db::migrate(url, service.migrations, service.migration_lock).await?;
                anyhow::Ok(())
            }
            .await
        }
        ("serve", None) => {
            let outcome = serve(crate::shutdown::on_signal()).await;
            tracing::info!(service = service.name, "stopped");
            outcome
        }
        ("replay-dead-letters", None) => replay_dead_letters(&service).await,
        ("replay-parked", None) if service.outbox => {
            async {
                let pool = crate::db::pool(service.database)?;
                let n = crate::outbox::unpark(&pool).await?;
                println!("{n} parked outbox rows given back to the relay");
                anyhow::Ok(())
            }
            .await
        }
        (other, None) => {
            let mut known = vec!["serve", "migrate", "replay-dead-letters"];
            if service.outbox {
                known.push("replay-parked");
            }
            known.extend(service.tasks.iter().map(|(name, _)| *name));
            Err(anyhow::anyhow!("unknown command {other:?}; use one of: {}", known.join(", ")))
        }
    };
    if let Err(e) = &outcome {
        tracing::error!(error = ?e, service = service.name, "failed");
    }
    telemetry.shutdown().await;
    outcome
}

async fn replay_dead_letters(service: &Service<'_>) -> anyhow::Result<()> {
    if service.queues.is_empty() {
        println!("{} consumes no queue: no dead letters to replay", service.name);
        return Ok(());
    }
    let broker = crate::amqp::Broker::from_settings(service.amqp, format!("{}-replay", service.name))?;
    broker.connect_now().await?;
    for queue in &service.queues {
        let n = crate::dead_letters::replay(&broker, queue).await?;
        println!("{n} dead letters of {queue} replayed");
    }
    Ok(())
}

/// The first command-line argument, `serve` when absent.
pub fn command() -> String {
    std::env::args().nth(1).unwrap_or_else(|| "serve".into())
}
