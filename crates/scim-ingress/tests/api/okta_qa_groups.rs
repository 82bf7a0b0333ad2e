//! Okta's OIN QA test plan (okta-scim.md §4.4), the group-push and group-import cases: each test is
//! named after its case and sends the sequence Okta sends for it (§1.10), with Okta's headers.

use reqwest::Method;
use serde_json::{Value, json};

use crate::groups::{GROUP, create_group, member_values, members, patch, scim_json, sorted};
use crate::helpers::{Conn, TestApp, spawn_app};

/// Okta's lookup by name before it creates or links a group: the id when one exists.
async fn find_group(app: &TestApp, c: &Conn, name: &str) -> Option<String> {
    let path = format!("/Groups?filter=displayName%20eq%20%22{}%22&startIndex=1&count=100", name.replace(' ', "%20"));
    let page = scim_json(app.okta(c, Method::GET, &path, None).await, 200).await;
    assert!(page["totalResults"].as_u64().expect("totalResults") <= 1, "a name finds at most one group");
    page["Resources"][0]["id"].as_str().map(str::to_owned)
}

/// Okta's push of a group: look it up, create it empty when missing, then send its members.
async fn push(app: &TestApp, c: &Conn, name: &str, with: &[&str]) -> String {
    let id = match find_group(app, c, name).await {
        Some(id) => id,
        None => create_group(app, c, name, &[]).await,
    };
    if !with.is_empty() {
        let body = patch(json!([
            { "op": "replace", "value": { "id": id, "displayName": name } },
            { "op": "add", "path": "members", "value": members(with) }
        ]));
        scim_json(app.okta(c, Method::PATCH, &format!("/Groups/{id}"), Some(&body)).await, 200).await;
    }
    id
}

async fn group(app: &TestApp, c: &Conn, id: &str) -> Value {
    scim_json(app.okta(c, Method::GET, &format!("/Groups/{id}"), None).await, 200).await
}

async fn users(app: &TestApp, c: &Conn, n: usize) -> Vec<String> {
    let mut ids = Vec::new();
    for i in 0..n {
        ids.push(app.user(c, &format!("grp{i}@okta.local")).await);
    }
    ids
}

fn refs(ids: &[String]) -> Vec<&str> {
    ids.iter().map(String::as_str).collect()
}

#[tokio::test]
async fn c9312_c9323_push_group_creates_it_with_its_members() {
    let app = spawn_app().await;
    let c = app.connection().await;
    let ids = users(&app, &c, 2).await;
    // By name or by rule, Okta's calls are the same.
    let id = push(&app, &c, "QA Pushed", &refs(&ids)).await;
    let pushed = group(&app, &c, &id).await;
    assert_eq!(pushed["displayName"], "QA Pushed");
    assert_eq!(sorted(&member_values(&pushed).iter().map(String::as_str).collect::<Vec<_>>()), sorted(&refs(&ids)));
    app.shutdown().await;
}

#[tokio::test]
async fn c9317_push_empty_group() {
    let app = spawn_app().await;
    let c = app.connection().await;
    let body = json!({ "schemas": [GROUP], "displayName": "QA Empty", "members": [] });
    let created = scim_json(app.okta(&c, Method::POST, "/Groups", Some(&body)).await, 201).await;
    assert_eq!(created["members"], json!([]));
    assert_eq!(find_group(&app, &c, "QA Empty").await.as_deref(), created["id"].as_str());
    app.shutdown().await;
}

#[tokio::test]
async fn c9315_link_and_rename() {
    let app = spawn_app().await;
    let c = app.connection().await;
    let id = create_group(&app, &c, "QA Existing", &[]).await;
    // Linking finds the app's group by name; the rename carries the id inside `value`.
    assert_eq!(find_group(&app, &c, "qa existing").await.as_deref(), Some(id.as_str()));
    let body = patch(json!([{ "op": "replace", "value": { "id": id, "displayName": "QA Renamed" } }]));
    let renamed = scim_json(app.okta(&c, Method::PATCH, &format!("/Groups/{id}"), Some(&body)).await, 200).await;
    assert_eq!(renamed["displayName"], "QA Renamed");
    assert_eq!(find_group(&app, &c, "QA Existing").await, None);
    app.shutdown().await;
}

#[tokio::test]
async fn c9330_link_without_rename_changes_nothing() {
    let app = spawn_app().await;
    let c = app.connection().await;
    let id = create_group(&app, &c, "QA Linked", &[]).await;
    let before = app.events().await.len();
    let body = patch(json!([{ "op": "replace", "value": { "id": id, "displayName": "QA Linked" } }]));
    scim_json(app.okta(&c, Method::PATCH, &format!("/Groups/{id}"), Some(&body)).await, 200).await;
    assert_eq!(app.events().await.len(), before, "the same name is no change, so no event");
    app.shutdown().await;
}

#[tokio::test]
async fn c9316_c9320_push_now_and_reactivation_overwrite_the_members() {
    let app = spawn_app().await;
    let c = app.connection().await;
    let ids = users(&app, &c, 3).await;
    let id = push(&app, &c, "QA Push Now", &refs(&ids[..2])).await;
    let path = format!("/Groups/{id}");
    // Push Now (and a push reactivated after a pause, C9319/C9320) sends the full membership.
    let body = patch(json!([{ "op": "replace", "path": "members", "value": members(&refs(&ids[1..])) }]));
    let replaced = scim_json(app.okta(&c, Method::PATCH, &path, Some(&body)).await, 200).await;
    assert_eq!(
        sorted(&member_values(&replaced).iter().map(String::as_str).collect::<Vec<_>>()),
        sorted(&refs(&ids[1..]))
    );
    let empty = patch(json!([{ "op": "replace", "path": "members", "value": [] }]));
    assert_eq!(scim_json(app.okta(&c, Method::PATCH, &path, Some(&empty)).await, 200).await["members"], json!([]));
    app.shutdown().await;
}

#[tokio::test]
async fn c9318_unlink_and_delete_in_app() {
    let app = spawn_app().await;
    let c = app.connection().await;
    let ids = users(&app, &c, 1).await;
    let id = push(&app, &c, "QA Deleted", &refs(&ids)).await;
    let res = app.okta(&c, Method::DELETE, &format!("/Groups/{id}"), None).await;
    assert_eq!(res.status(), 204);
    let res = app.okta(&c, Method::GET, &format!("/Groups/{id}"), None).await;
    assert_eq!(res.status(), 404);
    assert_eq!(app.member_count().await, 0);
    assert_eq!(app.user_count().await, 1, "deleting a group never deletes its users");
    app.shutdown().await;
}

#[tokio::test]
async fn c9321_c9322_unlink_leaves_the_group_and_relink_finds_it() {
    let app = spawn_app().await;
    let c = app.connection().await;
    let ids = users(&app, &c, 2).await;
    let id = push(&app, &c, "QA Relink", &refs(&ids[..1])).await;
    // Unlinking and leaving the group sends nothing; relinking looks it up by name and pushes again.
    let relinked = push(&app, &c, "QA Relink", &refs(&ids[1..])).await;
    assert_eq!(relinked, id);
    assert_eq!(member_values(&group(&app, &c, &id).await).len(), 2);
    assert_eq!(app.group_count().await, 1);
    app.shutdown().await;
}

#[tokio::test]
async fn c9327_c9331_bulk_edits_are_one_request_per_group() {
    let app = spawn_app().await;
    let c = app.connection().await;
    let ids = users(&app, &c, 2).await;
    let mut groups = Vec::new();
    for i in 0..4 {
        groups.push(push(&app, &c, &format!("QA Bulk {i}"), &refs(&ids)).await);
    }
    // Bulk delete of pushed groups: one DELETE each; bulk deactivate leaves them as they are.
    for id in &groups[..2] {
        assert_eq!(app.okta(&c, Method::DELETE, &format!("/Groups/{id}"), None).await.status(), 204);
    }
    assert_eq!(app.group_count().await, 2);
    app.shutdown().await;
}

#[tokio::test]
async fn c9332_c9333_add_and_remove_members() {
    let app = spawn_app().await;
    let c = app.connection().await;
    let ids = users(&app, &c, 3).await;
    let id = push(&app, &c, "QA Members", &refs(&ids[..1])).await;
    let path = format!("/Groups/{id}");
    let add = patch(json!([{ "op": "add", "path": "members", "value": members(&refs(&ids[1..])) }]));
    assert_eq!(member_values(&scim_json(app.okta(&c, Method::PATCH, &path, Some(&add)).await, 200).await).len(), 3);
    let remove = patch(json!([{ "op": "remove", "path": format!("members[value eq \"{}\"]", ids[0]) }]));
    let left = scim_json(app.okta(&c, Method::PATCH, &path, Some(&remove)).await, 200).await;
    assert_eq!(sorted(&member_values(&left).iter().map(String::as_str).collect::<Vec<_>>()), sorted(&refs(&ids[1..])));
    app.shutdown().await;
}

#[tokio::test]
async fn c9338_import_groups_pages_through_every_group() {
    let app = spawn_app().await;
    let c = app.connection().await;
    let ids = users(&app, &c, 1).await;
    let mut expected = Vec::new();
    for i in 0..3 {
        expected.push(push(&app, &c, &format!("QA Import {i}"), &refs(&ids)).await);
    }
    let mut seen = Vec::new();
    for start in [1, 3] {
        let page =
            scim_json(app.okta(&c, Method::GET, &format!("/Groups?startIndex={start}&count=2"), None).await, 200).await;
        assert_eq!(page["totalResults"], 3);
        seen.extend(
            page["Resources"].as_array().expect("Resources").iter().map(|g| g["id"].as_str().expect("id").to_owned()),
        );
    }
    assert_eq!(seen, expected);
    app.shutdown().await;
}
