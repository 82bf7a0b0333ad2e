//! A write that loses a deadlock to a concurrent write is tried again, not answered 503: a real
//! Postgres deadlock between two transactions, the loser run through `domain::contended`.

use std::sync::atomic::{AtomicU32, Ordering};

use diesel::sql_types::Integer;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use uapi_scim_ingress::domain::contended;
use uapi_scim_ingress::scim::error::{ScimError, ScimResult};
use uapi_test_support::TestDb;

async fn connect(url: &str, deadlock_timeout: &str) -> AsyncPgConnection {
    let mut conn = AsyncPgConnection::establish(url).await.expect("connect");
    // The backend that waits `deadlock_timeout` first looks for the cycle and aborts its own
    // transaction: a short timeout makes that one the loser.
    diesel::sql_query(format!("SET deadlock_timeout = '{deadlock_timeout}'")).execute(&mut conn).await.expect("set");
    conn
}

async fn lock(conn: &mut AsyncPgConnection, row: i32) -> diesel::QueryResult<usize> {
    diesel::sql_query("SELECT id FROM rows WHERE id = $1 FOR UPDATE").bind::<Integer, _>(row).execute(conn).await
}

#[tokio::test]
async fn a_write_that_loses_a_deadlock_is_tried_again_and_goes_through() {
    let db = TestDb::new().await.expect("db");
    let mut setup = AsyncPgConnection::establish(&db.url).await.expect("connect");
    diesel::sql_query("CREATE TABLE rows (id int PRIMARY KEY)").execute(&mut setup).await.expect("table");
    diesel::sql_query("INSERT INTO rows VALUES (1), (2)").execute(&mut setup).await.expect("rows");

    let mut winner = connect(&db.url, "10s").await;
    let mut loser = connect(&db.url, "50ms").await;
    // The winner holds row 1 and, once the loser holds row 2, asks for it: a cycle.
    diesel::sql_query("BEGIN").execute(&mut winner).await.expect("begin");
    lock(&mut winner, 1).await.expect("row 1");

    let tries = AtomicU32::new(0);
    let (locked_2, mut loser_holds_2) = tokio::sync::watch::channel(false);
    let losing = contended(async || -> ScimResult<()> {
        let attempt = tries.fetch_add(1, Ordering::SeqCst) + 1;
        loser
            .transaction::<(), ScimError, _>(async |conn| {
                lock(conn, 2).await?;
                if attempt == 1 {
                    let _ = locked_2.send(true);
                }
                lock(conn, 1).await?;
                Ok(())
            })
            .await
    });
    let winning = async {
        loser_holds_2.wait_for(|held| *held).await.expect("the loser runs");
        // Blocks until the loser's first try is aborted, then commits: the retry goes through.
        lock(&mut winner, 2).await.expect("the winner is not the one aborted");
        diesel::sql_query("COMMIT").execute(&mut winner).await.expect("commit");
    };
    let (lost_then_won, ()) = tokio::join!(losing, winning);
    assert!(lost_then_won.is_ok(), "{lost_then_won:?}");
    assert_eq!(
        AtomicU32::load(&tries, Ordering::SeqCst),
        2,
        "the first try lost the deadlock, the second went through"
    );
}

#[tokio::test]
async fn a_write_that_keeps_losing_is_a_503_after_its_tries() {
    let tries = AtomicU32::new(0);
    let result = contended(async || -> ScimResult<()> {
        tries.fetch_add(1, Ordering::SeqCst);
        Err(ScimError::Contended("deadlock detected".into()))
    })
    .await;
    assert!(matches!(result, Err(ScimError::Contended(_))), "{result:?}");
    assert_eq!(AtomicU32::load(&tries, Ordering::SeqCst), 4);
    let answer = actix_web::ResponseError::error_response(&result.expect_err("contended"));
    assert_eq!(answer.status(), 503);
    assert_eq!(answer.headers().get("retry-after").map(|v| v.as_bytes()), Some(&b"1"[..]));
}
