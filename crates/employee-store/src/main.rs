//! `employee-store [serve|migrate]`

use uapi_employee_store::config::Settings;
use uapi_employee_store::startup::{Application, SERVICE};
use uapi_employee_store::{MIGRATION_LOCK, MIGRATIONS};
use uapi_platform::config::Sources;
use uapi_platform::service::{self, Service};

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
        queues: vec![settings.consumer.queue.clone()],
        outbox: false,
        tasks: Vec::new(),
    };
    service::run(service, &service::command(), |stop| async {
        let app = Application::build(&settings)?;
        tracing::info!(port = app.port(), "{SERVICE} listening");
        app.run_until(stop).await
    })
    .await
}
