//! One database per test, dropped when the test ends. Names carry the creation time so leftovers
//! of crashed runs (older than an hour) are swept by the next run.

use diesel::sql_types::Text;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};

/// A freshly created, empty database. Dropped (with `FORCE`) when this value is dropped.
pub struct TestDb {
    pub name: String,
    pub url: String,
    server: String,
}

fn with_database(server: &str, name: &str) -> String {
    match server.rsplit_once('/') {
        Some((base, _)) => format!("{base}/{name}"),
        None => format!("{server}/{name}"),
    }
}

impl TestDb {
    pub async fn new() -> anyhow::Result<Self> {
        let server = crate::database_server_url();
        let mut conn = AsyncPgConnection::establish(&server)
            .await
            .map_err(|e| anyhow::anyhow!("tests need Postgres at {server}: {e}"))?;
        sweep(&mut conn).await;
        let now =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or_default();
        let name = format!("test_{now}_{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
        diesel::sql_query(format!("CREATE DATABASE \"{name}\"")).execute(&mut conn).await?;
        Ok(Self { url: with_database(&server, &name), name, server })
    }
}

#[derive(diesel::QueryableByName)]
struct Name {
    #[diesel(sql_type = Text)]
    datname: String,
}

async fn sweep(conn: &mut AsyncPgConnection) {
    let Ok(names) =
        diesel::sql_query("SELECT datname FROM pg_database WHERE datname LIKE 'test\\_%'").load::<Name>(conn).await
    else {
        return;
    };
    let cutoff = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs().saturating_sub(3600))
        .unwrap_or_default();
    for n in names {
        let created = n.datname.split('_').nth(1).and_then(|t| t.parse::<u64>().ok());
        if created.is_some_and(|t| t < cutoff) {
            let _ = diesel::sql_query(format!("DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)", n.datname))
                .execute(conn)
                .await;
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let (server, name) = (self.server.clone(), self.name.clone());
        // Drop runs inside the test's runtime, which cannot block on itself: use a fresh one.
        let _ = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_all().build() else {
                return;
            };
            rt.block_on(async {
                if let Ok(mut conn) = AsyncPgConnection::establish(&server).await {
                    let _ = diesel::sql_query(format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                        .execute(&mut conn)
                        .await;
                }
            });
        })
        .join();
    }
}
