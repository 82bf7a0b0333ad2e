//! RFC 7644 §3.5.2 PATCH rules that only show through HTTP: atomicity down to the database and the
//! outbox, no-op adds that keep the version and timestamp, the 200 answer with its projection, and
//! the mutability errors of `/Users` (the engine's own rules are unit-tested in `uapi-scim`).

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{Conn, TestApp, assert_scim_error, spawn_app};

const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

fn patch(operations: Value) -> String {
    json!({ "schemas": [PATCH_OP], "Operations": operations }).to_string()
}

/// A user with a work and a home email, a work address and a department; returns it as served.
async fn jensen(app: &TestApp, c: &Conn) -> Value {
    let body = json!({
        "schemas": [USER, ENTERPRISE],
        "userName": "bjensen@example.com",
        "name": { "givenName": "Barbara", "familyName": "Jensen" },
        "title": "Engineer",
        "emails": [{ "value": "bjensen@example.com", "type": "work", "primary": true },
                   { "value": "babs@jensen.org", "type": "home" }],
        "addresses": [{ "type": "work", "streetAddress": "100 Universal City Plaza", "locality": "Hollywood" }],
        ENTERPRISE: { "department": "Sales" }
    });
    let res = app.send(c, Method::POST, "/Users", Some(&body.to_string())).await;
    assert_eq!(res.status(), 201);
    res.json().await.expect("json")
}

async fn get(app: &TestApp, c: &Conn, path: &str) -> Value {
    app.send(c, Method::GET, path, None).await.json().await.expect("json")
}

#[tokio::test]
async fn a_failing_operation_stores_nothing_and_emits_nothing() {
    let app = spawn_app().await;
    let c = app.connection().await;
    let user = jensen(&app, &c).await;
    let path = format!("/Users/{}", user["id"].as_str().expect("id"));
    let events = app.outbox_len().await;
    let good = json!([
        { "op": "replace", "path": "title", "value": "Lead" },
        { "op": "remove", "path": "emails[type eq \"home\"]" },
        { "op": "add", "path": "nickName", "value": "Babs" }
    ]);
    let cases = [
        // The third operation's filter matches no value: noTarget, and the first two are undone.
        (
            patch(
                json!([good[0], good[1], { "op": "replace", "path": "emails[type eq \"fax\" or type eq \"pager\"].value", "value": "x" }]),
            ),
            "",
            "noTarget",
        ),
        (patch(json!([good[0], { "op": "remove", "path": "userName" }])), "", "mutability"),
        (patch(json!([good[0], { "op": "replace", "path": "name", "value": "Babs" }])), "", "invalidValue"),
        (patch(json!([good[0], { "op": "add", "path": "title.short", "value": "x" }])), "", "invalidPath"),
        // Valid operations with a query string that cannot be answered: refused before the write.
        (patch(good.clone()), "?count=ten", "invalidValue"),
    ];
    for (body, query, scim_type) in cases {
        let res = app.send(&c, Method::PATCH, &format!("{path}{query}"), Some(&body)).await;
        let error = assert_scim_error(res, 400, Some(scim_type)).await;
        assert!(error["detail"].as_str().is_some_and(|d| query.is_empty() == d.starts_with("operation ")), "{error}");
    }
    assert_eq!(get(&app, &c, &path).await, user, "the stored user is untouched");
    assert_eq!(app.outbox_len().await, events, "no event");
    // The same query-string rule for PUT and POST.
    let res = app.send(&c, Method::PUT, &format!("{path}?count=ten"), Some(r#"{"userName":"x@example.com"}"#)).await;
    assert_scim_error(res, 400, Some("invalidValue")).await;
    let res = app.send(&c, Method::POST, "/Users?count=ten", Some(r#"{"userName":"y@example.com"}"#)).await;
    assert_scim_error(res, 400, Some("invalidValue")).await;
    assert_eq!((get(&app, &c, &path).await, app.user_count().await, app.outbox_len().await), (user, 1, events));
    app.shutdown().await;
}

#[tokio::test]
async fn an_add_that_changes_nothing_keeps_version_and_timestamp() {
    let app = spawn_app().await;
    let c = app.connection().await;
    let user = jensen(&app, &c).await;
    let path = format!("/Users/{}", user["id"].as_str().expect("id"));
    let events = app.outbox_len().await;
    let same = patch(json!([
        { "op": "add", "path": "emails", "value": [{ "value": "babs@jensen.org", "type": "home" }] },
        { "op": "add", "path": "title", "value": "Engineer" },
        { "op": "Add", "value": { "name": { "givenName": "Barbara" }, "title": "Engineer" } },
        { "op": "remove", "path": "emails[type eq \"fax\"]" }
    ]));
    let res = app.send(&c, Method::PATCH, &path, Some(&same)).await;
    assert_eq!(res.status(), 200);
    let answered: Value = res.json().await.expect("json");
    assert_eq!(answered["meta"], user["meta"], "version and lastModified do not move (RFC 7644 §3.5.2.1)");
    assert_eq!(app.outbox_len().await, events);
    app.shutdown().await;
}

#[tokio::test]
async fn patch_answers_200_with_the_resource_projected() {
    let app = spawn_app().await;
    let c = app.connection().await;
    let user = jensen(&app, &c).await;
    let id = user["id"].as_str().expect("id");
    let ops = patch(json!([{ "op": "replace", "path": "title", "value": "Lead" }]));
    let res = app.send(&c, Method::PATCH, &format!("/Users/{id}?attributes=title"), Some(&ops)).await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.expect("json");
    assert_eq!(body, json!({ "schemas": [USER, ENTERPRISE], "id": id, "title": "Lead" }));
    app.shutdown().await;
}

#[tokio::test]
async fn user_mutability_follows_the_schema() {
    let app = spawn_app().await;
    let c = app.connection().await;
    let user = jensen(&app, &c).await;
    let id = user["id"].as_str().expect("id");
    let path = format!("/Users/{id}");
    for (ops, scim_type) in [
        (json!([{ "op": "replace", "value": { "id": uuid::Uuid::now_v7(), "title": "x" } }]), "mutability"),
        (json!([{ "op": "replace", "path": "id", "value": uuid::Uuid::now_v7() }]), "mutability"),
        (json!([{ "op": "remove", "path": "groups" }]), "mutability"),
        (json!([{ "op": "remove", "path": "meta.lastModified" }]), "mutability"),
        (json!([{ "op": "replace", "value": { "userName": null } }]), "mutability"),
    ] {
        let res = app.send(&c, Method::PATCH, &path, Some(&patch(ops.clone()))).await;
        assert_scim_error(res, 400, Some(scim_type)).await;
    }
    // The user's own id, `meta` and `groups` echoed in a value are accepted and change nothing else.
    let echo = json!([{ "op": "replace", "value": {
        "id": id, "meta": { "version": "W/\"9\"" }, "groups": [{ "value": id }], "title": "Lead" } }]);
    let res = app.send(&c, Method::PATCH, &path, Some(&patch(echo))).await;
    assert_eq!(res.status(), 200);
    let patched: Value = res.json().await.expect("json");
    assert_eq!(
        (&patched["title"], &patched["groups"], &patched["meta"]["version"]),
        (&json!("Lead"), &json!([]), &json!("W/\"2\""))
    );
    app.shutdown().await;
}

#[tokio::test]
async fn rfc_paths_reach_the_stored_user_and_its_event() {
    let app = spawn_app().await;
    let c = app.connection().await;
    let user = jensen(&app, &c).await;
    let path = format!("/Users/{}", user["id"].as_str().expect("id"));
    let ops = patch(json!([
        { "op": "replace", "path": "addresses[type eq \"work\"].streetAddress", "value": "1 Main St" },
        { "op": "Replace", "path": "emails[type eq \"home\"].primary", "value": "True" },
        { "op": "remove", "path": "emails[type eq \"work\"]" },
        { "op": "add", "path": format!("{ENTERPRISE}:manager.value"), "value": "00uBOSS" },
        { "op": "remove", "path": format!("{ENTERPRISE}:department") },
        { "op": "replace", "path": "name", "value": { "familyName": "Smith" } }
    ]));
    let res = app.send(&c, Method::PATCH, &path, Some(&ops)).await;
    assert_eq!(res.status(), 200);
    let patched: Value = res.json().await.expect("json");
    assert_eq!(
        patched["addresses"],
        json!([{ "type": "work", "streetAddress": "1 Main St", "locality": "Hollywood" }])
    );
    assert_eq!(patched["emails"], json!([{ "value": "babs@jensen.org", "type": "home", "primary": true }]));
    assert_eq!(patched[ENTERPRISE], json!({ "manager": { "value": "00uBOSS" } }));
    assert_eq!(patched["name"], json!({ "givenName": "Barbara", "familyName": "Smith" }));
    assert_eq!(get(&app, &c, &path).await, patched);
    let event = app.events().await.pop().expect("event");
    assert_eq!((event.kind.as_str(), event.version), ("employee.updated", 2));
    assert_eq!(
        (&event.data["lastName"], &event.data["workEmail"], &event.data["managerRemoteId"], &event.data["department"]),
        (&json!("Smith"), &json!("babs@jensen.org"), &json!("00uBOSS"), &Value::Null)
    );

    // Removing the extension's last attribute unassigns it, and `schemas` no longer lists it.
    let ops = patch(json!([{ "op": "remove", "path": format!("{ENTERPRISE}:manager") }]));
    let patched: Value = app.send(&c, Method::PATCH, &path, Some(&ops)).await.json().await.expect("json");
    assert!(patched.get(ENTERPRISE).is_none(), "{patched}");
    assert_eq!(patched["schemas"], json!([USER]));
    app.shutdown().await;
}
