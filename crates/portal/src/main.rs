//! `portal [serve]`

use uapi_platform::config::Sources;
use uapi_portal::config::Settings;
use uapi_portal::startup::{Application, SERVICE};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let settings = Settings::load(Sources { file: Some(format!("config/{SERVICE}")), env: None })?;
    let command = uapi_platform::service::command();
    anyhow::ensure!(command == "serve", "unknown command {command:?}; the portal has one: serve");
    let telemetry = uapi_platform::telemetry::init(SERVICE, &settings.telemetry)?;
    let outcome = async {
        let app = Application::build(&settings)?;
        tracing::info!(port = app.port(), "{SERVICE} listening");
        app.run_until(uapi_platform::shutdown::on_signal()).await
    }
    .await;
    if let Err(e) = &outcome {
        tracing::error!(error = ?e, service = SERVICE, "failed");
    }
    telemetry.shutdown().await;
    outcome
}
