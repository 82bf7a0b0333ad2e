//! The per-connection rate limit: 429 with a SCIM error and Retry-After, per connection.

use reqwest::Method;

use crate::helpers::{assert_scim_error, spawn_app, spawn_app_with};

#[tokio::test]
async fn a_connection_over_its_limit_gets_429_with_retry_after() {
    let app = spawn_app_with(&[("UAPI_SCIM__RATE_LIMIT_PER_SEC", "0.2"), ("UAPI_SCIM__RATE_LIMIT_BURST", "3")]).await;
    let (busy, other) = (app.connection().await, app.connection().await);
    for _ in 0..3 {
        assert_eq!(app.send(&busy, Method::GET, "/Users", None).await.status(), 200);
    }
    let res = app.send(&busy, Method::GET, "/Users?filter=userName%20eq%20%22x%22", None).await;
    let retry_after: u64 = res
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .expect("a Retry-After in seconds");
    assert!((1..=5).contains(&retry_after), "{retry_after}");
    let body = assert_scim_error(res, 429, None).await;
    assert!(body["detail"].as_str().is_some_and(|d| d.contains("retry after")), "{body}");
    let write = app.send(&busy, Method::POST, "/Users", Some(r#"{"userName":"late@example.com"}"#)).await;
    assert_scim_error(write, 429, None).await;
    assert_eq!(app.user_count().await, 0, "a refused write stores nothing");
    assert_eq!(app.send(&other, Method::GET, "/Users", None).await.status(), 200, "another connection is not limited");
    app.shutdown().await;
}

#[tokio::test]
async fn without_a_limit_bursts_pass() {
    let app = spawn_app().await;
    let c = app.connection().await;
    for _ in 0..150 {
        assert_eq!(app.send(&c, Method::GET, "/Users?count=1", None).await.status(), 200);
    }
    app.shutdown().await;
}
