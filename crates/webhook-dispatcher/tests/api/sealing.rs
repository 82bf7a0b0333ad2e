//! Webhook signing secrets at rest: sealed in the table (nothing of the secret readable there),
//! and still signing; a new key put first in the ring reseals every row, rows written before
//! sealing included, and deliveries keep verifying with the secret the API gave out.

use diesel::sql_types::Text;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};

use crate::early::WAIT;
use crate::helpers::{SECRET_KEYS, Subscriber, TestApp, employee_event, spawn_app, spawn_app_with, verify_standard};

#[derive(diesel::QueryableByName)]
struct Stored {
    #[diesel(sql_type = Text)]
    secret: String,
}

async fn stored_secret(app: &TestApp, id: &str) -> String {
    let mut conn = AsyncPgConnection::establish(&app.db_url).await.expect("db");
    let row: Stored = diesel::sql_query("SELECT secret FROM subscriptions WHERE id = $1::uuid")
        .bind::<Text, _>(id)
        .get_result(&mut conn)
        .await
        .expect("row");
    row.secret
}

/// The key bytes of a `whsec_` secret, as base64 (what a reader of the table must not find).
fn key_part(secret: &str) -> &str {
    secret.strip_prefix("whsec_").expect("whsec_ secret")
}

#[tokio::test]
async fn a_secret_is_unreadable_in_the_table_and_still_signs() {
    let app = spawn_app().await;
    let Subscriber { application, rx, hook, id, .. } = app.subscriber().await;
    let secret = hook["secret"].as_str().expect("secret").to_owned();
    let stored = stored_secret(&app, &id).await;
    assert!(stored.starts_with("sealed:v1:test:"), "{stored}");
    assert!(!stored.contains(key_part(&secret)) && !stored.contains(&secret), "the secret is readable at rest");

    app.publish(&employee_event(application, "emp-1", 1, "employee.created")).await;
    let hit = rx.wait_hits(1, WAIT).await.remove(0);
    verify_standard(&secret, &hit).expect("signed with the secret the API gave out");
    app.shutdown().await;
}

#[tokio::test]
async fn a_new_key_reseals_every_row_and_deliveries_still_verify() {
    // The API alone, with the first ring; the worker comes later with the rotated one.
    let mut app = spawn_app_with(&[("UAPI_DISPATCHER__ROLE", "api")]).await;
    let sealed = app.subscriber().await;
    let legacy = app.subscriber().await;
    // A row from before sealing: its secret in plaintext.
    let legacy_secret = legacy.hook["secret"].as_str().expect("secret").to_owned();
    let mut conn = AsyncPgConnection::establish(&app.db_url).await.expect("db");
    diesel::sql_query("UPDATE subscriptions SET secret = $2 WHERE id = $1::uuid")
        .bind::<Text, _>(&legacy.id)
        .bind::<Text, _>(&legacy_secret)
        .execute(&mut conn)
        .await
        .expect("update");

    let rotated = format!("k2:{},{SECRET_KEYS}", "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo3ODkwMTI=");
    app.spawn_sibling(&[("UAPI_DISPATCHER__ROLE", "worker"), ("UAPI_SECRETS__KEYS", &rotated)]).await;
    let deadline = std::time::Instant::now() + WAIT;
    for s in [&sealed, &legacy] {
        loop {
            let stored = stored_secret(&app, &s.id).await;
            if stored.starts_with("sealed:v1:k2:") {
                let secret = s.hook["secret"].as_str().expect("secret");
                assert!(!stored.contains(key_part(secret)), "resealed, and still unreadable");
                break;
            }
            assert!(std::time::Instant::now() < deadline, "{} never resealed under k2: {stored}", s.id);
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }

    for s in [&sealed, &legacy] {
        app.publish(&employee_event(s.application, "emp-1", 1, "employee.created")).await;
        let hit = s.rx.wait_hits(1, WAIT).await.remove(0);
        verify_standard(s.hook["secret"].as_str().expect("secret"), &hit).expect("still signs after the rotation");
    }
    app.shutdown().await;
}
