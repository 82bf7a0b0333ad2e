//! Okta's "SCIM 2.0 CRUD Test" (okta-scim.md §4.2), the steps that reach our server: what Okta
//! sends after each admin action (with Okta's headers and bodies), then the suite's own GET and
//! its assertions. Template apps update with `PUT` and (de)activate with `PATCH`; AIW apps do
//! everything with `PUT`: both are run.

use reqwest::Method;
use serde_json::{Value, json};

use crate::groups::{patch, scim_json};
use crate::helpers::{Conn, TestApp, okta_lookup, set_active, spawn_app};

const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";

/// The suite's user: `Runscope###` names, title `Engineer`, phone `415.123.4567`.
struct CrudUser {
    first: String,
    last: String,
    email: String,
}

impl CrudUser {
    fn new() -> Self {
        let n = uuid::Uuid::new_v4().as_u128() % 1000;
        let (first, last) = (format!("Runscope{n:03}"), format!("Xxxxxxxx{n:03}"));
        let email = format!("{first}{last}@atko.com");
        Self { first, last, email }
    }

    /// What Okta POSTs on assignment (okta-scim.md §2.2).
    fn body(&self, first: &str, active: bool) -> Value {
        json!({
            "schemas": [USER],
            "userName": self.email,
            "name": { "givenName": first, "familyName": self.last },
            "emails": [{ "primary": true, "value": self.email, "type": "work" }],
            "displayName": format!("{first} {}", self.last),
            "title": "Engineer",
            "phoneNumbers": [{ "value": "415.123.4567", "type": "work" }],
            "locale": "en-US",
            "externalId": "00u1a2b3c4",
            "groups": [],
            "password": "Ok7a-Pa55word!",
            "active": active
        })
    }
}

async fn ok(app: &TestApp, c: &Conn, method: Method, path: &str, body: Option<&Value>, status: u16) -> Value {
    scim_json(app.okta(c, method, path, body).await, status).await
}

/// Step 3, as our server sees it: the existence check finds nothing, then the create.
async fn assign(app: &TestApp, c: &Conn, user: &CrudUser) -> String {
    let id = app.okta_assign(c, &user.body(&user.first, true)).await;
    assert_eq!(app.user_count().await, 1);
    id
}

/// Okta deactivates or reactivates: `PATCH` for template apps, a `PUT` of the whole user for AIW.
async fn push_active(app: &TestApp, c: &Conn, user: &CrudUser, id: &str, active: bool, aiw: bool) {
    let path = format!("/Users/{id}");
    if aiw {
        let mut body = user.body(&user.first, active);
        body["id"] = json!(id);
        ok(app, c, Method::PUT, &path, Some(&body), 200).await;
    } else {
        ok(app, c, Method::PATCH, &path, Some(&set_active(active)), 200).await;
    }
}

#[tokio::test]
async fn crud_03_04_assign_user_then_find_it_by_username() {
    let app = spawn_app().await;
    let c = app.connection().await;
    let user = CrudUser::new();
    assign(&app, &c, &user).await;
    // The suite's own lookup carries no startIndex or count.
    let path = format!("/Users?filter=userName%20eq%20%22{}%22", user.email);
    let found = ok(&app, &c, Method::GET, &path, None, 200).await;
    let first = &found["Resources"][0];
    assert_eq!((&first["userName"], &first["emails"][0]["value"]), (&json!(user.email), &json!(user.email)));
    assert_eq!((&first["name"]["familyName"], &first["name"]["givenName"]), (&json!(user.last), &json!(user.first)));
    app.shutdown().await;
}

#[tokio::test]
async fn crud_05_06_update_first_name_is_read_back() {
    let app = spawn_app().await;
    let c = app.connection().await;
    let user = CrudUser::new();
    let id = assign(&app, &c, &user).await;
    let path = format!("/Users/{id}");
    // Okta reads the user, then PUTs the whole profile with the new first name.
    let mut current = ok(&app, &c, Method::GET, &path, None, 200).await;
    let updated = format!("{}update", user.first);
    current["name"]["givenName"] = json!(updated);
    ok(&app, &c, Method::PUT, &path, Some(&current), 200).await;
    assert_eq!(ok(&app, &c, Method::GET, &path, None, 200).await["name"]["givenName"], updated);
    // Integrations with "Support PATCH for User" send the change as a PATCH instead.
    let again = format!("{updated}2");
    let patch = patch(json!([{ "op": "replace", "path": "name.givenName", "value": again }]));
    ok(&app, &c, Method::PATCH, &path, Some(&patch), 200).await;
    assert_eq!(ok(&app, &c, Method::GET, &path, None, 200).await["name"]["givenName"], again);
    app.shutdown().await;
}

#[tokio::test]
async fn crud_07_to_10_deactivate_then_reactivate_keeps_the_id() {
    for aiw in [false, true] {
        let app = spawn_app().await;
        let c = app.connection().await;
        let user = CrudUser::new();
        let id = assign(&app, &c, &user).await;
        let path = format!("/Users/{id}");
        push_active(&app, &c, &user, &id, false, aiw).await;
        assert_eq!(ok(&app, &c, Method::GET, &path, None, 200).await["active"], false, "aiw {aiw}");
        // Reactivation: Okta looks the user up again, finds the same id, and activates it.
        let found = ok(&app, &c, Method::GET, &okta_lookup(&user.email), None, 200).await;
        assert_eq!(found["Resources"][0]["id"], id);
        push_active(&app, &c, &user, &id, true, aiw).await;
        let back = ok(&app, &c, Method::GET, &path, None, 200).await;
        assert_eq!((&back["active"], &back["id"], &back["title"]), (&json!(true), &json!(id), &json!("Engineer")));
        assert_eq!(app.user_count().await, 1);
        app.shutdown().await;
    }
}

#[tokio::test]
async fn crud_11_12_unassign_deactivates() {
    let app = spawn_app().await;
    let c = app.connection().await;
    let user = CrudUser::new();
    let id = assign(&app, &c, &user).await;
    // Unassigning from the app is a deactivation for the SCIM server, never a DELETE.
    push_active(&app, &c, &user, &id, false, false).await;
    let got = ok(&app, &c, Method::GET, &format!("/Users/{id}"), None, 200).await;
    assert_eq!(got["active"], false);
    assert!(got.get("password").is_none(), "the password is never returned");
    let events = app.events().await;
    let kinds: Vec<&str> = events.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(kinds, ["employee.created", "employee.updated"]);
    assert_eq!(events[1].data["employmentStatus"], "INACTIVE");
    app.shutdown().await;
}
