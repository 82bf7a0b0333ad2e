//! `control-plane [serve|migrate|keygen|republish-connections|replay-parked|replay-dead-letters]`

use uapi_control_plane::config::Settings;
use uapi_control_plane::domain::credentials;
use uapi_control_plane::startup::{Application, SERVICE};
use uapi_control_plane::{MIGRATION_LOCK, MIGRATIONS};
use uapi_platform::config::Sources;
use uapi_platform::service::{self, Service};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let command = service::command();
    if command == "keygen" {
        let (signing, verifying) = uapi_platform::auth::generate_keypair()?;
        println!("UAPI_AUTH__SIGNING_KEY={signing}");
        println!("UAPI_AUTH__VERIFYING_KEY={verifying}");
        println!("UAPI_SCIM__TOKEN_KEY={}", credentials::new_token_key());
        println!("UAPI_ADMIN__TOKEN={}", credentials::new_admin_token());
        return Ok(());
    }
    let settings = Settings::load(Sources { file: Some(format!("config/{SERVICE}")), env: None })?;
    let service = Service {
        name: SERVICE,
        telemetry: &settings.telemetry,
        database: &settings.database,
        migrations: MIGRATIONS,
        migration_lock: MIGRATION_LOCK,
        amqp: &settings.amqp,
        queues: Vec::new(),
        outbox: true,
        tasks: vec![(
            "republish-connections",
            Box::new(|| {
                Box::pin(async {
                    let pool = uapi_platform::db::pool(&settings.database)?;
                    let mut conn = pool.get().await?;
                    let n = uapi_control_plane::events::republish(&mut conn).await?;
                    println!("{n} connection events written; a running control-plane publishes them");
                    Ok(())
                })
            }),
        )],
    };
    service::run(service, &command, |stop| async {
        let app = Application::build(&settings)?;
        tracing::info!(port = app.port(), "{SERVICE} listening");
        app.run_until(stop).await
    })
    .await
}
