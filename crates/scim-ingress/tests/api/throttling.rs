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
    let retry_after = uapi_test_support::retry_after_secs(&res);
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

/// Invalid tokens from one client: 401 up to the limit, then 429 with Retry-After; the right
/// token from that same client is accepted all along.
#[tokio::test]
async fn invalid_tokens_are_throttled_per_client_and_the_right_token_always_passes() {
    let app = spawn_app_with(&[
        ("UAPI_THROTTLE__FAILURES_PER_SOURCE_PER_MINUTE", "5"),
        ("UAPI_THROTTLE__FAILURES_PER_SUBJECT_PER_MINUTE", "100"),
    ])
    .await;
    let c = app.connection().await;
    let wrong = |n: usize| crate::helpers::Conn { id: c.id, token: format!("uapi_scim_wrong{n}") };
    for n in 0..5 {
        assert_scim_error(app.send(&wrong(n), Method::GET, "/Users", None).await, 401, None).await;
    }
    let res = app.send(&wrong(5), Method::GET, "/Users", None).await;
    let retry_after = uapi_test_support::retry_after_secs(&res);
    assert!((1..=12).contains(&retry_after), "one failure back every 12 s: {retry_after}");
    let body = assert_scim_error(res, 429, None).await;
    assert!(body["detail"].as_str().is_some_and(|d| d.contains("invalid SCIM token")), "{body}");
    // The right token from the same (throttled) client.
    assert_eq!(app.send(&c, Method::GET, "/Users", None).await.status(), 200, "never locked out");
    assert_scim_error(app.send(&wrong(6), Method::GET, "/Users", None).await, 429, None).await;
    app.shutdown().await;
}

/// One token presented again and again (a rotated token an Okta app still sends) is throttled on
/// its own, whichever client presents it.
#[tokio::test]
async fn one_invalid_token_is_throttled_whichever_client_sends_it() {
    let app = spawn_app_with(&[
        ("UAPI_THROTTLE__FAILURES_PER_SOURCE_PER_MINUTE", "100"),
        ("UAPI_THROTTLE__FAILURES_PER_SUBJECT_PER_MINUTE", "3"),
    ])
    .await;
    let c = app.connection().await;
    let stale = crate::helpers::Conn { id: c.id, token: "uapi_scim_rotated_long_ago".into() };
    let from = |ip: &str| {
        app.client
            .get(format!("{}/Users", app.base))
            .header("authorization", format!("Bearer {}", stale.token))
            .header("x-forwarded-for", ip)
    };
    for ip in ["10.0.0.1", "10.0.0.2", "10.0.0.3"] {
        assert_eq!(from(ip).send().await.expect("request").status(), 401);
    }
    assert_eq!(from("10.0.0.4").send().await.expect("request").status(), 429, "the token is over its limit");
    let other = crate::helpers::Conn { id: c.id, token: "uapi_scim_another_wrong".into() };
    assert_scim_error(app.send(&other, Method::GET, "/Users", None).await, 401, None).await;
    app.shutdown().await;
}
