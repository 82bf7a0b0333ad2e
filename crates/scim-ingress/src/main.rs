//! `scim-ingress [serve|migrate|repair|replay-dead-letters|replay-parked]`

use uapi_platform::config::Sources;
use uapi_platform::service::{self, Service};
use uapi_scim_ingress::config::Settings;
use uapi_scim_ingress::startup::{Application, SERVICE};
use uapi_scim_ingress::{MIGRATION_LOCK, MIGRATIONS};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let settings = Settings::load(Sources { file: Some(format!("config/{SERVICE}")), env: None })?;
    let service = Service {
        name: SERVICE,
        telemetry: &settings.telemetry,
        database: &settings.database,
        migrations: MIGRATIONS,
        migration_lock: MIGRATION_LOCK,
        amqp: &settings.amqp,
        queues: vec![settings.connections.queue.clone()],
        outbox: true,
        tasks: vec![(
            "repair",
            Box::new(|| {
                Box::pin(async {
                    let pool = uapi_platform::db::pool(&settings.database)?;
                    let mut conn = pool.get().await?;
                    let done = uapi_scim_ingress::domain::repair::repair(&mut conn).await?;
                    println!(
                        "{} users and {} groups cut to the depth bound ({} users still refused: see the log)",
                        done.users, done.groups, done.refused
                    );
                    Ok(())
                })
            }),
        )],
    };
    service::run(service, &service::command(), |stop| async {
        let app = Application::build(&settings)?;
        tracing::info!(port = app.port(), "{SERVICE} listening");
        app.run_until(stop).await
    })
    .await
}
