//! A probe, not a test (ignored, run on purpose): the latency of Okta's membership PATCH on a
//! 10,000-member group, of reading it with and without members, and of a rename (which touches
//! every member's employee). Run it with
//! `cargo nextest run -p uapi-scim-ingress --run-ignored only --no-capture large_group`.

use std::time::{Duration, Instant};

use diesel_async::RunQueryDsl;
use reqwest::Method;
use serde_json::json;

use crate::helpers::spawn_app;

const MEMBERS: i64 = 10_000;

fn percentile(samples: &mut [Duration], p: f64) -> Duration {
    samples.sort_unstable();
    samples[((samples.len() as f64 - 1.0) * p).round() as usize]
}

#[tokio::test]
#[ignore = "a latency probe"]
async fn large_group_patch_probe() {
    let app = spawn_app().await;
    let c = app.connection().await;
    // The relay publishes and deletes the (large) group events as in production, instead of
    // retrying unroutable ones beside the requests measured.
    let (channel, sink) = app.sink().await;
    let joiner = app.user(&c, "joiner").await;
    let body = json!({ "displayName": "Everyone", "members": [] });
    let group: serde_json::Value = app.okta(&c, Method::POST, "/Groups", Some(&body)).await.json().await.expect("json");
    let gid = group["id"].as_str().expect("id").to_owned();

    // The members are written directly (copies of the joiner's rows): the probe measures the
    // PATCH, not 10,000 creates.
    let mut conn = app.pool.get().await.expect("conn");
    diesel::sql_query(
        "INSERT INTO users (id, connection_id, user_name, emails, active, resource, employee, version, created_at, \
         updated_at) SELECT n.id, u.connection_id, 'member' || n.i, '{}', true, \
         jsonb_set(u.resource, '{userName}', to_jsonb('member' || n.i)), \
         jsonb_set(jsonb_set(u.employee, '{id}', to_jsonb(n.id::text)), '{userName}', to_jsonb('member' || n.i)), \
         1, now(), now() FROM users u, (SELECT i, gen_random_uuid() AS id FROM generate_series(1, $1) AS i) n \
         WHERE u.connection_id = $2",
    )
    .bind::<diesel::sql_types::BigInt, _>(MEMBERS)
    .bind::<diesel::sql_types::Uuid, _>(c.id)
    .execute(&mut conn)
    .await
    .expect("members");
    diesel::sql_query(
        "INSERT INTO group_members (group_id, user_id) SELECT $1, id FROM users WHERE user_name LIKE 'member%'",
    )
    .bind::<diesel::sql_types::Uuid, _>(uuid::Uuid::parse_str(&gid).expect("uuid"))
    .execute(&mut conn)
    .await
    .expect("memberships");
    diesel::sql_query("ANALYZE").execute(&mut conn).await.expect("analyze");

    let path = format!("/Groups/{gid}");
    let slim = format!("{path}?excludedAttributes=members");
    let add = json!({ "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [
        { "op": "add", "path": "members", "value": [{ "value": joiner, "display": "joiner" }] },
        { "op": "replace", "value": { "id": gid, "displayName": "Everyone" } }] });
    let remove = json!({ "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [
        { "op": "remove", "path": format!("members[value eq \"{joiner}\"]") }] });
    let timed = |method: Method, path: String, body: Option<serde_json::Value>| {
        let (app, c) = (&app, &c);
        async move {
            let started = Instant::now();
            let res = app.okta(c, method, &path, body.as_ref()).await;
            assert_eq!(res.status(), 200, "{path}");
            let bytes = res.bytes().await.expect("body").len();
            (started.elapsed(), bytes)
        }
    };
    let (mut patch_full, mut patch_slim) = (Vec::new(), Vec::new());
    let mut sizes = (0, 0);
    for i in 0..20 {
        let target = if i % 2 == 0 { slim.clone() } else { path.clone() };
        for body in [&add, &remove] {
            let (took, bytes) = timed(Method::PATCH, target.clone(), Some(body.clone())).await;
            if i % 2 == 0 {
                patch_slim.push(took)
            } else {
                patch_full.push(took)
            }
            if i % 2 == 0 { sizes.0 = bytes } else { sizes.1 = bytes }
        }
    }
    let (get_full, _) = timed(Method::GET, path.clone(), None).await;
    let (get_slim, _) = timed(Method::GET, slim.clone(), None).await;
    let rename = json!({ "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [
        { "op": "replace", "value": { "id": gid, "displayName": "Everyone, renamed" } }] });
    let (renamed, _) = timed(Method::PATCH, slim.clone(), Some(rename)).await;
    println!(
        "{MEMBERS}-member group: PATCH add/remove one member, excludedAttributes=members: p50 {:?} p99 {:?} \
         ({} bytes); with members: p50 {:?} p99 {:?} ({} bytes); GET with members {get_full:?}, without \
         {get_slim:?}; rename ({MEMBERS} employee.updated) {renamed:?}",
        percentile(&mut patch_slim, 0.5),
        percentile(&mut patch_slim, 0.99),
        sizes.0,
        percentile(&mut patch_full, 0.5),
        percentile(&mut patch_full, 0.99),
        sizes.1,
    );
    // Every event was published: 2 creates, 40 PATCHes of a group and an employee each, the rename
    // and its 10,000 employee.updated.
    let started = Instant::now();
    while app.outbox_len().await > 0 {
        assert!(started.elapsed() < Duration::from_secs(120), "the outbox never drained");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    println!("the outbox drained {:?} after the rename", started.elapsed());
    let passive = lapin::options::QueueDeclareOptions { passive: true, ..Default::default() };
    let queue = channel.queue_declare(sink.as_str().into(), passive, Default::default()).await.expect("sink");
    assert_eq!(i64::from(queue.message_count()), 2 + 80 + 1 + MEMBERS);
    uapi_test_support::delete_broker_objects("", &[&sink]).await;
    app.shutdown().await;
}
