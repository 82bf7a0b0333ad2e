//! The bounds of a SCIM resource (docs/scim.md): what is accepted round-trips through storage and
//! the protobuf event; what is not is refused at the door with `invalidValue` naming the
//! attribute, and leaves no row and no event. NUL, which Postgres cannot store, is refused
//! wherever it appears.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{assert_scim_error, spawn_app};

const EXT: &str = "urn:ietf:params:scim:schemas:extension:acme:2.0:User";

/// An object `levels` levels deep: `{"n": {"n": … {"leaf": "x"}}}`.
fn nested(levels: usize) -> Value {
    (1..levels).fold(json!({ "leaf": "x" }), |inner, _| json!({ "n": inner }))
}

fn user_with(user_name: &str, extension: Value) -> Value {
    json!({ "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", EXT], "userName": user_name, EXT: extension })
}

#[tokio::test]
async fn the_deepest_accepted_user_round_trips_and_a_deeper_one_is_refused() {
    let app = spawn_app().await;
    let c = app.connection().await;
    // The resource is level 1 and the extension object level 2: 15 levels inside it is the most.
    let deepest = user_with("deep@example.com", nested(15));
    let res = app.okta(&c, Method::POST, "/Users", Some(&deepest)).await;
    assert_eq!(res.status(), 201);
    let id = res.json::<Value>().await.expect("json")["id"].as_str().expect("id").to_owned();
    let read = app.okta(&c, Method::GET, &format!("/Users/{id}"), None).await;
    assert_eq!(read.status(), 200);
    assert_eq!(read.json::<Value>().await.expect("json")[EXT], nested(15));
    let listed = app.okta(&c, Method::GET, "/Users", None).await;
    assert_eq!(listed.status(), 200);
    // The event decodes (as employee-store and the dispatcher decode it) with the whole extension.
    let events = app.events().await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].data["remoteData"][EXT], nested(15));

    // 16 levels inside the extension, and the depths that broke earlier builds (33: the event
    // could not be decoded; 126: the stored user could not be read back).
    for levels in [16, 33, 126] {
        let res = app
            .okta(&c, Method::POST, "/Users", Some(&user_with(&format!("u{levels}@example.com"), nested(levels))))
            .await;
        let body = assert_scim_error(res, 400, Some("invalidValue")).await;
        let detail = body["detail"].as_str().expect("detail");
        assert!(
            detail.starts_with(&format!("`{EXT}.n.n")) && detail.contains("nests deeper than 16 levels"),
            "{detail}"
        );
    }
    // PATCH cannot build what POST may not send.
    let deeper = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{ "op": "replace", "path": format!("{EXT}:n"), "value": nested(15) }]
    });
    let res = app.okta(&c, Method::PATCH, &format!("/Users/{id}"), Some(&deeper)).await;
    assert_scim_error(res, 400, Some("invalidValue")).await;
    assert_eq!((app.user_count().await, app.events().await.len()), (1, 1));
    app.shutdown().await;
}

#[tokio::test]
async fn nul_is_refused_wherever_it_appears() {
    let app = spawn_app().await;
    let c = app.connection().await;
    let res = app.okta(&c, Method::POST, "/Users", Some(&json!({ "userName": "alice@example.com" }))).await;
    assert_eq!(res.status(), 201);
    let alice = res.json::<Value>().await.expect("json")["id"].as_str().expect("id").to_owned();
    let group = app.okta(&c, Method::POST, "/Groups", Some(&json!({ "displayName": "Eng" }))).await;
    assert_eq!(group.status(), 201);
    let group = group.json::<Value>().await.expect("json")["id"].as_str().expect("id").to_owned();
    let (users, events) = (app.user_count().await, app.events().await.len());

    let bodies = [
        ("userName", json!({ "userName": "a\u{0}b" }), "`userName`"),
        ("givenName", json!({ "userName": "b", "name": { "givenName": "\u{0}" } }), "`name.givenName`"),
        ("email", json!({ "userName": "c", "emails": [{ "value": "c@x\u{0}" }] }), "`emails[0].value`"),
        ("custom attribute", user_with("d", json!({ "costCenter": "\u{0}" })), "costCenter`"),
        ("attribute name", json!({ "userName": "e", "title\u{0}": "x" }), "`title\\u0000`"),
    ];
    for (what, body, named) in bodies {
        let res = app.okta(&c, Method::POST, "/Users", Some(&body)).await;
        let error = assert_scim_error(res, 400, Some("invalidValue")).await;
        assert!(error["detail"].as_str().is_some_and(|d| d.contains(named) && d.contains("NUL")), "{what}: {error}");
    }
    let patch = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{ "op": "replace", "path": "title", "value": "x\u{0}" }]
    });
    let res = app.okta(&c, Method::PATCH, &format!("/Users/{alice}"), Some(&patch)).await;
    assert_scim_error(res, 400, Some("invalidValue")).await;
    let res = app.okta(&c, Method::PUT, &format!("/Users/{alice}"), Some(&json!({ "userName": "alice\u{0}" }))).await;
    assert_scim_error(res, 400, Some("invalidValue")).await;
    let res = app.okta(&c, Method::POST, "/Groups", Some(&json!({ "displayName": "G\u{0}" }))).await;
    assert_scim_error(res, 400, Some("invalidValue")).await;
    let rename = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{ "op": "replace", "value": { "displayName": "\u{0}" } }]
    });
    let res = app.okta(&c, Method::PATCH, &format!("/Groups/{group}"), Some(&rename)).await;
    assert_scim_error(res, 400, Some("invalidValue")).await;
    // In a filter: as a JSON escape inside the string, and percent-encoded in the URL.
    for path in
        ["/Users?filter=userName%20eq%20%22a%5Cu0000%22", "/Users?filter=userName%20eq%20%22a%00%22", "/Users/%00"]
    {
        let res = app.send(&c, Method::GET, path, None).await;
        assert_scim_error(res, 400, Some("invalidValue")).await;
    }
    assert_eq!((app.user_count().await, app.events().await.len()), (users, events));
    app.shutdown().await;
}

/// A user an earlier build stored 130 levels deep can no longer be read; `repair` cuts it to the
/// bound and stores it again as the next version, with an event the consumers can decode.
#[tokio::test]
async fn repair_mends_a_user_stored_beyond_the_bounds() {
    use diesel_async::RunQueryDsl;
    let app = spawn_app().await;
    let c = app.connection().await;
    let res = app.okta(&c, Method::POST, "/Users", Some(&json!({ "userName": "deep@example.com" }))).await;
    let id = res.json::<Value>().await.expect("json")["id"].as_str().expect("id").to_owned();
    let deep = nested(130).to_string();
    let mut conn = app.pool.get().await.expect("conn");
    diesel::sql_query(format!(
        "UPDATE users SET resource = jsonb_set(resource, '{{{EXT}}}', '{deep}'::jsonb), \
         employee = jsonb_set(employee, '{{remoteData,{EXT}}}', '{deep}'::jsonb) WHERE id = '{id}'"
    ))
    .execute(&mut conn)
    .await
    .expect("store it as an earlier build did");
    let before = app.okta(&c, Method::GET, &format!("/Users/{id}"), None).await;
    assert_eq!(before.status(), 500, "unreadable before the repair");

    let done = uapi_scim_ingress::domain::repair::repair(&mut conn).await.expect("repair");
    assert_eq!(done, uapi_scim_ingress::domain::repair::Repaired { users: 1, groups: 0, refused: 0 });
    let after = app.okta(&c, Method::GET, &format!("/Users/{id}"), None).await;
    assert_eq!(after.status(), 200);
    let user: Value = after.json().await.expect("json");
    assert_eq!(user["meta"]["version"], "W/\"2\"");
    // Cut at the bound: the resource is level 1, so level 16 is the last object kept.
    let mut inner = &user[EXT];
    for _ in 0..14 {
        inner = &inner["n"];
    }
    assert_eq!(inner["n"], Value::Null, "deeper than the bound is cut");
    let events = app.events().await;
    assert_eq!((events.len(), events[1].kind.as_str(), events[1].version), (2, "employee.updated", 2));
    assert!(!events[1].changed.is_empty());
    assert_eq!(uapi_scim_ingress::domain::repair::repair(&mut conn).await.expect("again").users, 0);
    drop(conn);
    app.shutdown().await;
}
