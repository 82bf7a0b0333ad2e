//! `control-plane [serve|migrate|keygen]`

use uapi_control_plane::config::Settings;
use uapi_control_plane::startup::{Application, SERVICE};
use uapi_control_plane::{MIGRATION_LOCK, MIGRATIONS};
use uapi_platform::config::Sources;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let command = std::env::args().nth(1).unwrap_or_else(|| "serve".into());
    if command == "keygen" {
        let (signing, verifying) = uapi_platform::auth::generate_keypair();
        println!("UAPI_AUTH__SIGNING_KEY={signing}");
        println!("UAPI_AUTH__VERIFYING_KEY={verifying}");
        println!("UAPI_SCIM__TOKEN_KEY={}", uapi_control_plane::domain::credentials::new_token_key());
        println!("UAPI_ADMIN__TOKEN={}", uapi_control_plane::domain::credentials::new_admin_token());
        return Ok(());
    }
    let settings = Settings::load(Sources { file: Some(format!("config/{SERVICE}")), env: None })?;
    let telemetry = uapi_platform::telemetry::init(SERVICE, &settings.telemetry)?;
    let outcome = match command.as_str() {
        "migrate" => migrate(&settings).await,
        "serve" => {
            let app = Application::build(&settings)?;
            tracing::info!(port = app.port(), "control-plane listening");
            let outcome = app.run_until(uapi_platform::shutdown::on_signal()).await;
            tracing::info!("control-plane stopped");
            outcome
        }
        other => Err(anyhow::anyhow!("unknown command {other:?}; use serve, migrate or keygen")),
    };
    if let Err(e) = &outcome {
        tracing::error!(error = ?e, "control-plane failed");
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
