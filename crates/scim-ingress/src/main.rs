//! `scim-ingress [serve|migrate]`

use uapi_platform::config::Sources;
use uapi_scim_ingress::config::Settings;
use uapi_scim_ingress::startup::{Application, SERVICE};
use uapi_scim_ingress::{MIGRATION_LOCK, MIGRATIONS};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let command = std::env::args().nth(1).unwrap_or_else(|| "serve".into());
    let settings = Settings::load(Sources { file: Some(format!("config/{SERVICE}")), env: None })?;
    let telemetry = uapi_platform::telemetry::init(SERVICE, &settings.telemetry)?;
    let outcome = match command.as_str() {
        "migrate" => migrate(&settings).await,
        "serve" => {
            let app = Application::build(&settings)?;
            tracing::info!(port = app.port(), "scim-ingress listening");
            let outcome = app.run_until(uapi_platform::shutdown::on_signal()).await;
            tracing::info!("scim-ingress stopped");
            outcome
        }
        other => Err(anyhow::anyhow!("unknown command {other:?}; use serve or migrate")),
    };
    if let Err(e) = &outcome {
        tracing::error!(error = ?e, "scim-ingress failed");
    }
    telemetry.shutdown().await;
    outcome
}

async fn migrate(settings: &Settings) -> anyhow::Result<()> {
    let url = settings.database.url.expose();
    uapi_platform::db::ensure_database(url).await?;
    uapi_platform::db::migrate(url, MIGRATIONS, MIGRATION_LOCK).await?;
    Ok(())
}
