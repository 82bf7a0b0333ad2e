//! Postgres: the connection pool (diesel-async on tokio-postgres, no libpq), database creation and
//! embedded migrations run under an advisory lock so replicas and Jobs never race.

use std::time::Duration;

use diesel::sql_types::BigInt;
use diesel_async::pooled_connection::deadpool::{Object, Pool, PoolError};
use diesel_async::pooled_connection::{AsyncDieselConnectionManager, ManagerConfig};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness};
use futures_util::FutureExt;

use crate::config::DatabaseSettings;

pub type PgPool = Pool<AsyncPgConnection>;
pub type PgConn = Object<AsyncPgConnection>;

/// Builds the pool. Connections open lazily, so this succeeds while Postgres is down and the
/// service reports not-ready until it is back.
pub fn pool(settings: &DatabaseSettings) -> anyhow::Result<PgPool> {
    pool_with(settings, settings.pool_size, &[])
}

/// A pool of at most `max_size` connections, each of which also runs `session` (`SET …`
/// statements) when it opens: for a writer whose hot statement wants a setting the rest of the
/// service should not have.
pub fn pool_with(
    settings: &DatabaseSettings,
    max_size: usize,
    session: &'static [&'static str],
) -> anyhow::Result<PgPool> {
    let mut setup: Vec<String> = session.iter().map(|s| (*s).to_owned()).collect();
    if settings.statement_timeout_ms > 0 {
        setup.push(format!("SET statement_timeout = {}", settings.statement_timeout_ms));
    }
    let setup = setup.join("; ");
    let mut config = ManagerConfig::<AsyncPgConnection>::default();
    // No test query on every checkout (a round trip per request): a dead connection fails its
    // first query instead, is reported as unavailable (503) and is dropped by the pool.
    config.recycling_method = diesel_async::pooled_connection::RecyclingMethod::Fast;
    config.custom_setup = Box::new(move |url| {
        let (url, setup) = (url.to_owned(), setup.clone());
        async move {
            let mut conn = crate::tls::pg_connect(&url).await?;
            if !setup.is_empty() {
                diesel_async::SimpleAsyncConnection::batch_execute(&mut conn, &setup)
                    .await
                    .map_err(|e| diesel::ConnectionError::BadConnection(e.to_string()))?;
            }
            Ok(conn)
        }
        .boxed()
    });
    let manager = AsyncDieselConnectionManager::new_with_config(settings.url.expose(), config);
    Ok(Pool::builder(manager)
        .max_size(max_size)
        .runtime(deadpool::Runtime::Tokio1)
        .wait_timeout(Some(Duration::from_millis(settings.acquire_timeout_ms)))
        .create_timeout(Some(Duration::from_millis(settings.connect_timeout_ms)))
        .recycle_timeout(Some(Duration::from_millis(settings.connect_timeout_ms)))
        .build()?)
}

/// Whether a pool error means "the database is unavailable right now" (→ 503) rather than a bug.
pub fn is_unavailable(err: &PoolError) -> bool {
    matches!(err, PoolError::Timeout(_) | PoolError::Backend(_) | PoolError::Closed | PoolError::NoRuntimeSpecified)
}

/// Messages of a connection or server going away, as the driver and Postgres word them (diesel
/// reports them as `Unknown` and keeps no SQLSTATE): a closed socket, and the class 57P errors of a
/// server shutting down, restarting or not yet accepting connections.
const CONNECTION_LOST: [&str; 7] = [
    "connection closed",
    "error communicating with the server",
    "terminating connection due to",
    "the database system is shutting down",
    "the database system is starting up",
    "the database system is not yet accepting connections",
    "the database system is in recovery mode",
];

/// Whether a query error means the connection or database is gone (→ 503, retry) rather than a bug.
pub fn is_connection_lost(err: &diesel::result::Error) -> bool {
    use diesel::result::{DatabaseErrorKind, Error};
    match err {
        Error::DatabaseError(DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand, _)
        | Error::BrokenTransactionManager => true,
        Error::DatabaseError(DatabaseErrorKind::Unknown, info) => {
            let message = info.message();
            CONNECTION_LOST.iter().any(|m| message.starts_with(m))
        }
        _ => false,
    }
}

/// Runs `SELECT 1` within `timeout`: the readiness check.
pub async fn ping(pool: &PgPool, timeout: Duration) -> Result<(), String> {
    let check = async {
        let mut conn = pool.get().await.map_err(|e| e.to_string())?;
        diesel::sql_query("SELECT 1").execute(&mut conn).await.map(|_| ()).map_err(|e| e.to_string())
    };
    tokio::time::timeout(timeout, check).await.unwrap_or_else(|_| Err("timed out".into()))
}

/// Creates the database named in `url` if it does not exist, connecting to the server's `postgres`
/// database to do so. Safe to call from several processes at once.
pub async fn ensure_database(url: &str) -> anyhow::Result<()> {
    let mut parsed = url::Url::parse(url)?;
    let name = parsed.path().trim_start_matches('/').to_owned();
    anyhow::ensure!(
        !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-'),
        "database name {name:?} must be non-empty and use only letters, digits, '_' and '-'"
    );
    parsed.set_path("/postgres");
    let mut conn = crate::tls::pg_connect(parsed.as_str()).await?;
    #[derive(diesel::QueryableByName)]
    struct Count {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }
    let existing: Count = diesel::sql_query("SELECT count(*) AS n FROM pg_database WHERE datname = $1")
        .bind::<diesel::sql_types::Text, _>(&name)
        .get_result(&mut conn)
        .await?;
    if existing.n == 0 {
        match diesel::sql_query(format!("CREATE DATABASE \"{name}\"")).execute(&mut conn).await {
            Ok(_) => tracing::info!(database = %name, "created database"),
            // Another process won the race: the database exists, which is all we need.
            Err(diesel::result::Error::DatabaseError(_, info)) if info.message().contains("already exists") => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

/// Runs the pending embedded migrations while holding a session advisory lock keyed by `lock_key`,
/// so two replicas (or a Job and a pod) never apply the same migration twice.
pub async fn migrate(url: &str, migrations: EmbeddedMigrations, lock_key: i64) -> anyhow::Result<usize> {
    let mut conn = crate::tls::pg_connect(url).await?;
    diesel::sql_query("SELECT pg_advisory_lock($1)").bind::<BigInt, _>(lock_key).execute(&mut conn).await?;
    let (conn, applied) = tokio::task::spawn_blocking(move || {
        let mut harness = diesel_async::AsyncMigrationHarness::new(conn);
        let applied = harness
            .run_pending_migrations(migrations)
            .map(|versions| versions.len())
            .map_err(|e| anyhow::anyhow!("migration failed: {e}"));
        (harness.into_inner(), applied)
    })
    .await?;
    let mut conn = conn;
    diesel::sql_query("SELECT pg_advisory_unlock($1)").bind::<BigInt, _>(lock_key).execute(&mut conn).await?;
    let applied = applied?;
    tracing::info!(applied, "migrations up to date");
    Ok(applied)
}
