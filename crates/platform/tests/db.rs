//! The pool's connection setup against a real Postgres: the session settings of `pool_with`
//! reach every connection, and a statement with array parameters keeps one generic plan there
//! while the default pool lets Postgres plan it per execution.

use diesel::sql_types::{Array, BigInt, Text};
use diesel_async::RunQueryDsl;
use uapi_platform::config::DatabaseSettings;
use uapi_platform::db::{PgPool, pool, pool_with};
use uapi_platform::prepared::Prepared;
use uapi_platform::secret::Secret;
use uapi_test_support::TestDb;

fn settings(db: &TestDb, statement_timeout_ms: u64) -> DatabaseSettings {
    DatabaseSettings {
        url: Secret::new(db.url.clone()),
        pool_size: 2,
        acquire_timeout_ms: 2000,
        connect_timeout_ms: 2000,
        statement_timeout_ms,
    }
}

#[derive(diesel::QueryableByName)]
struct Setting {
    #[diesel(sql_type = Text)]
    value: String,
}

#[derive(diesel::QueryableByName)]
struct Plans {
    #[diesel(sql_type = BigInt)]
    generic_plans: i64,
    #[diesel(sql_type = BigInt)]
    custom_plans: i64,
}

async fn show(pool: &PgPool, name: &str) -> String {
    let mut conn = pool.get().await.expect("connection");
    let row: Setting = diesel::sql_query(format!("SELECT current_setting('{name}') AS value"))
        .get_result(&mut conn)
        .await
        .expect("setting");
    row.value
}

/// Runs an array-bound statement eight times on one connection; its generic and custom plans.
async fn plans_of_an_array_statement(pool: &PgPool) -> (i64, i64) {
    let mut conn = pool.get().await.expect("connection");
    for n in 1..=8i64 {
        Prepared::new("SELECT count(*) FROM unnest($1::int8[]) AS t(v) WHERE v > 0")
            .bind::<Array<BigInt>, _>((0..n).collect::<Vec<_>>())
            .execute(&mut conn)
            .await
            .expect("statement");
    }
    // This query is a prepared statement too, and names the other one: not itself.
    let row: Plans = diesel::sql_query(
        "SELECT generic_plans, custom_plans FROM pg_prepared_statements \
         WHERE statement LIKE '%unnest($1::int8[])%' AND statement NOT LIKE '%pg_prepared_statements%'",
    )
    .get_result(&mut conn)
    .await
    .expect("the prepared statement");
    (row.generic_plans, row.custom_plans)
}

#[tokio::test]
async fn session_settings_reach_every_connection_with_the_statement_timeout() {
    let db = TestDb::new().await.expect("db");
    let writer = pool_with(&settings(&db, 1500), 2, &["SET plan_cache_mode = force_generic_plan"]).expect("pool");
    assert_eq!(show(&writer, "plan_cache_mode").await, "force_generic_plan");
    assert_eq!(show(&writer, "statement_timeout").await, "1500ms");
    let plain = pool(&settings(&db, 1500)).expect("pool");
    assert_eq!(show(&plain, "plan_cache_mode").await, "auto");
    assert_eq!(show(&plain, "statement_timeout").await, "1500ms");
}

#[tokio::test]
async fn a_generic_plan_pool_plans_an_array_statement_once() {
    let db = TestDb::new().await.expect("db");
    let writer = pool_with(&settings(&db, 0), 1, &["SET plan_cache_mode = force_generic_plan"]).expect("pool");
    assert_eq!(plans_of_an_array_statement(&writer).await, (8, 0));
    // The default: Postgres's `auto` keeps choosing custom plans for it.
    let plain = pool(&settings(&db, 0)).expect("pool");
    let (generic, custom) = plans_of_an_array_statement(&plain).await;
    assert!(custom >= 5, "plans under auto: {generic} generic, {custom} custom");
}

/// A connection the server terminates (as on a restart) fails its next queries with errors the
/// services answer 503 for, never 500.
#[tokio::test]
async fn a_connection_the_server_terminates_counts_as_lost() {
    use diesel_async::{AsyncConnection, AsyncPgConnection};
    let db = TestDb::new().await.expect("db");
    let mut victim = AsyncPgConnection::establish(&db.url).await.expect("connect");
    let mut admin = AsyncPgConnection::establish(&db.url).await.expect("connect");
    #[derive(diesel::QueryableByName)]
    struct Pid {
        #[diesel(sql_type = diesel::sql_types::Integer)]
        pid: i32,
    }
    let pid: Pid = diesel::sql_query("SELECT pg_backend_pid() AS pid").get_result(&mut victim).await.expect("pid");
    diesel::sql_query(format!("SELECT pg_terminate_backend({})", pid.pid))
        .execute(&mut admin)
        .await
        .expect("terminate");
    for _ in 0..2 {
        let err = diesel::sql_query("SELECT 1").execute(&mut victim).await.expect_err("the connection is gone");
        assert!(uapi_platform::db::is_connection_lost(&err), "{err:?}");
    }
    let bug = diesel::sql_query("SELECT * FROM no_such_table").execute(&mut admin).await.expect_err("no table");
    assert!(!uapi_platform::db::is_connection_lost(&bug), "{bug:?}");
}
