//! `webhook-dispatcher [serve [--role api|worker|all] | migrate | keygen]`

use uapi_platform::config::Sources;
use uapi_platform::service::{self, Service};
use uapi_webhook_dispatcher::config::Settings;
use uapi_webhook_dispatcher::startup::{Application, SERVICE, role_flag};
use uapi_webhook_dispatcher::{MIGRATION_LOCK, MIGRATIONS};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let command = service::command();
    if command == "keygen" {
        // A key for `secrets.keys`, with a date as its id so rotations read in order.
        let id = format!("k{}", chrono::Utc::now().format("%Y%m%d"));
        println!("UAPI_SECRETS__KEYS={}", uapi_webhook_dispatcher::sealing::KeyRing::new_entry(&id));
        return Ok(());
    }
    let mut settings = Settings::load(Sources { file: Some(format!("config/{SERVICE}")), env: None })?;
    if let Some(role) = role_flag(args.get(1..).unwrap_or_default())? {
        settings.dispatcher.role = role;
    }
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
    service::run(service, &command, |stop| async {
        let app = Application::build(&settings)?;
        tracing::info!(port = app.port(), role = ?settings.dispatcher.role, "{SERVICE} listening");
        app.run_until(stop).await
    })
    .await
}
