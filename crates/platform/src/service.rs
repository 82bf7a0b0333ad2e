//! The `main` every service binary shares: `<service> migrate` creates the database and applies
//! the embedded migrations; `<service>` or `<service> serve` serves until SIGTERM or Ctrl-C.

use std::future::Future;

use diesel_migrations::EmbeddedMigrations;
use tokio_util::sync::CancellationToken;

use crate::config::{DatabaseSettings, TelemetrySettings};

/// The parts of a service `run` needs.
pub struct Service<'a> {
    pub name: &'static str,
    pub telemetry: &'a TelemetrySettings,
    pub database: &'a DatabaseSettings,
    pub migrations: EmbeddedMigrations,
    /// Advisory-lock key that serialises this service's migrations.
    pub migration_lock: i64,
}

/// Runs `command` (`serve` or `migrate`); `serve` gets a token cancelled on SIGTERM/SIGINT.
pub async fn run<F, Fut>(service: Service<'_>, command: &str, serve: F) -> anyhow::Result<()>
where
    F: FnOnce(CancellationToken) -> Fut,
    Fut: Future<Output = anyhow::Result<()>>,
{
    let telemetry = crate::telemetry::init(service.name, service.telemetry)?;
    let outcome = match command {
        "migrate" => {
            async {
                let url = service.database.url.expose();
                crate::db::ensure_database(url).await?;
                crate::db::migrate(url, service.migrations, service.migration_lock).await?;
                anyhow::Ok(())
            }
            .await
        }
        "serve" => {
            let outcome = serve(crate::shutdown::on_signal()).await;
            tracing::info!(service = service.name, "stopped");
            outcome
        }
        other => Err(anyhow::anyhow!("unknown command {other:?}; use serve or migrate")),
    };
    if let Err(e) = &outcome {
        tracing::error!(error = ?e, service = service.name, "failed");
    }
    telemetry.shutdown().await;
    outcome
}

/// The first command-line argument, `serve` when absent.
pub fn command() -> String {
    std::env::args().nth(1).unwrap_or_else(|| "serve".into())
}
