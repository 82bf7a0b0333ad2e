//! The events feed never skips: an event whose transaction commits after a younger one's is not
//! served past until it is visible, so a reader's cursor can never jump over it.

use diesel_async::{AsyncConnection, AsyncPgConnection, SimpleAsyncConnection};
use serde_json::json;
use uapi_employee_store::db::feed::{self, FeedEvent, Position};
use uapi_test_support::TestDb;
use uuid::Uuid;

fn event(consumer: Uuid, n: u32) -> FeedEvent {
    FeedEvent { consumer_id: consumer, event_id: Uuid::now_v7(), body: json!({ "n": n }) }
}

#[tokio::test]
async fn an_event_committed_late_is_served_before_later_ones_and_never_skipped() {
    let db = TestDb::new().await.expect("db");
    uapi_platform::db::migrate(&db.url, uapi_employee_store::MIGRATIONS, uapi_employee_store::MIGRATION_LOCK)
        .await
        .expect("migrate");
    let connect = || AsyncPgConnection::establish(&db.url);
    let (mut slow, mut fast, mut reader) =
        (connect().await.expect("db"), connect().await.expect("db"), connect().await.expect("db"));
    let (consumer, other) = (Uuid::now_v7(), Uuid::now_v7());

    // The slow projection starts first; the fast one commits first.
    slow.batch_execute("BEGIN").await.expect("begin");
    feed::append(&mut slow, &[&event(consumer, 1)]).await.expect("slow append");
    feed::append(&mut fast, &[&event(consumer, 2), &event(other, 9)]).await.expect("fast append");
    let served = feed::read(&mut reader, consumer, &Position::start(), 10).await.expect("read");
    assert!(served.is_empty(), "the committed event waits while an older transaction runs: {served:?}");

    slow.batch_execute("COMMIT").await.expect("commit");
    // Transactions of other databases on the same server hold the horizon back too (other tests
    // run beside this one): both appear once those end.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let served = loop {
        let served = feed::read(&mut reader, consumer, &Position::start(), 10).await.expect("read");
        if served.len() == 2 || std::time::Instant::now() > deadline {
            break served;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    };
    let bodies: Vec<_> = served.iter().map(|(_, b)| b["n"].clone()).collect();
    assert_eq!(bodies, [json!(1), json!(2)], "in commit-safe order, the other consumer's event apart");

    // From the first event's position, only the second.
    let after_first = served[0].0.clone();
    let rest = feed::read(&mut reader, consumer, &after_first, 10).await.expect("read");
    assert_eq!(rest.len(), 1);
    assert_eq!(rest[0].1["n"], 2);
    // A redelivered event is stored once, whether its copies share a batch or not.
    let again = event(consumer, 3);
    feed::append(&mut fast, &[&again, &again]).await.expect("two copies in one batch");
    feed::append(&mut fast, &[&again]).await.expect("a later copy is skipped");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while feed::read(&mut reader, consumer, &Position::start(), 10).await.expect("read").len() != 3 {
        assert!(std::time::Instant::now() < deadline, "the redelivered event was stored once, and is visible");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}
