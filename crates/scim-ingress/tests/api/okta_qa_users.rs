//! Okta's OIN QA test plan (okta-scim.md §4.4), the user cases that reach the SCIM server: each test
//! is named after its case and sends what Okta sends for it, with Okta's headers.

use reqwest::Method;
use serde_json::{Value, json};

use crate::groups::{patch, scim_json};
use crate::helpers::{Conn, TestApp, assert_scim_error, set_active, spawn_app};

const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

fn okta_user(user_name: &str) -> Value {
    json!({
        "schemas": [USER], "userName": user_name,
        "name": { "givenName": "Test", "familyName": "User" },
        "emails": [{ "primary": true, "value": user_name, "type": "work" }],
        "displayName": "Test User", "locale": "en-US", "externalId": "00uqa1", "groups": [],
        "password": "1mz050nq", "active": true
    })
}

async fn get(app: &TestApp, c: &Conn, id: &str) -> Value {
    scim_json(app.okta(c, Method::GET, &format!("/Users/{id}"), None).await, 200).await
}

#[tokio::test]
async fn c9290_assign_new_user_creates_it() {
    let app = spawn_app().await;
    let c = app.connection().await;
    let res = app.okta(&c, Method::POST, "/Users", Some(&okta_user("qa.new@okta.local"))).await;
    let location = res.headers().get("location").and_then(|v| v.to_str().ok()).map(str::to_owned);
    let created = scim_json(res, 201).await;
    let id = created["id"].as_str().expect("id");
    // The public URL (`scim.public_url`), not the address the test reached.
    assert!(location.as_deref().is_some_and(|l| l.ends_with(&format!("/scim/v2/Users/{id}"))), "{location:?}");
    assert_eq!(get(&app, &c, id).await["userName"], "qa.new@okta.local");
    app.shutdown().await;
}

#[tokio::test]
async fn c9307_group_assignment_creates_every_member() {
    let app = spawn_app().await;
    let c = app.connection().await;
    // Assigning a group to the app provisions each of its people, one assignment each.
    for i in 0..3 {
        app.okta_assign(&c, &okta_user(&format!("member{i}@okta.local"))).await;
    }
    assert_eq!(app.user_count().await, 3);
    app.shutdown().await;
}

#[tokio::test]
async fn c9334_user_with_all_attributes_keeps_every_one() {
    let app = spawn_app().await;
    let c = app.connection().await;
    let mut body = okta_user("all.attrs@okta.local");
    let extra = json!({
        "schemas": [USER, ENTERPRISE],
        "name": { "givenName": "Ada", "familyName": "Lovelace", "middleName": "King", "honorificPrefix": "Ms." },
        "nickName": "ada", "title": "Engineer", "userType": "Employee", "preferredLanguage": "en",
        "timezone": "Europe/London", "profileUrl": "https://example.com/ada",
        "phoneNumbers": [{ "value": "415.123.4567", "type": "work", "primary": true }, { "value": "555", "type": "mobile" }],
        "addresses": [{ "type": "work", "streetAddress": "1 Main St", "locality": "London", "postalCode": "N1",
                        "country": "GB", "primary": true }],
        ENTERPRISE: { "employeeNumber": "42", "costCenter": "R&D", "organization": "Acme", "division": "Eng",
                      "department": "Research", "manager": { "value": "00umgr" } }
    });
    for (key, value) in extra.as_object().expect("object") {
        body[key] = value.clone();
    }
    let id = app.okta_assign(&c, &body).await;
    let stored = get(&app, &c, &id).await;
    for (key, value) in extra.as_object().expect("object") {
        assert_eq!(&stored[key], value, "{key}");
    }
    assert!(stored.get("password").is_none());
    app.shutdown().await;
}

#[tokio::test]
async fn c9335_user_already_in_app_is_linked_not_duplicated() {
    let app = spawn_app().await;
    let c = app.connection().await;
    let body = okta_user("already@okta.local");
    let first = app.okta_assign(&c, &body).await;
    // Okta's lookup finds the user (any case), links it and pushes its profile with a PUT.
    let mut update = okta_user("ALREADY@okta.local");
    update["userName"] = json!("already@okta.local");
    update["title"] = json!("Linked");
    let linked = app.okta_assign(&c, &okta_user("ALREADY@OKTA.LOCAL")).await;
    assert_eq!(linked, first);
    scim_json(app.okta(&c, Method::PUT, &format!("/Users/{first}"), Some(&update)).await, 200).await;
    assert_eq!(get(&app, &c, &first).await["title"], "Linked");
    assert_eq!(app.user_count().await, 1);
    app.shutdown().await;
}

#[tokio::test]
async fn c9336_user_names_are_unique() {
    let app = spawn_app().await;
    let c = app.connection().await;
    app.okta_assign(&c, &okta_user("unique@okta.local")).await;
    let res = app.okta(&c, Method::POST, "/Users", Some(&okta_user("Unique@Okta.Local"))).await;
    assert_scim_error(res, 409, Some("uniqueness")).await;
    assert_eq!(app.user_count().await, 1);
    app.shutdown().await;
}

#[tokio::test]
async fn c9291_c9310_attribute_updates_by_put_and_patch() {
    let app = spawn_app().await;
    let c = app.connection().await;
    let id = app.okta_assign(&c, &okta_user("update@okta.local")).await;
    let path = format!("/Users/{id}");
    let mut put = get(&app, &c, &id).await;
    put["title"] = json!("Director");
    scim_json(app.okta(&c, Method::PUT, &path, Some(&put)).await, 200).await;
    assert_eq!(get(&app, &c, &id).await["title"], "Director");
    let body = patch(json!([{ "op": "replace", "value": { "title": "VP", "name.familyName": "Renamed" } }]));
    let patched = scim_json(app.okta(&c, Method::PATCH, &path, Some(&body)).await, 200).await;
    assert_eq!((&patched["title"], &patched["name"]["familyName"]), (&json!("VP"), &json!("Renamed")));
    app.shutdown().await;
}

#[tokio::test]
async fn c9337_empty_values_are_pushed_without_errors() {
    let app = spawn_app().await;
    let c = app.connection().await;
    let id = app.okta_assign(&c, &okta_user("empty@okta.local")).await;
    let mut put = okta_user("empty@okta.local");
    for (key, value) in
        [("title", json!("")), ("nickName", Value::Null), ("phoneNumbers", json!([])), ("locale", json!(""))]
    {
        put[key] = value;
    }
    put[ENTERPRISE] = json!({ "department": "", "manager": { "value": "" } });
    scim_json(app.okta(&c, Method::PUT, &format!("/Users/{id}"), Some(&put)).await, 200).await;
    let body = patch(json!([{ "op": "replace", "path": "title", "value": "" }]));
    scim_json(app.okta(&c, Method::PATCH, &format!("/Users/{id}"), Some(&body)).await, 200).await;
    assert_eq!(get(&app, &c, &id).await["title"], "");
    app.shutdown().await;
}

#[tokio::test]
async fn c9292_c9294_c9311_deactivate_unassign_and_group_unassign_are_patches() {
    let app = spawn_app().await;
    let c = app.connection().await;
    // One user deactivated, one unassigned, two unassigned with their group: each is the same PATCH,
    // and a repeat (Okta retries) is a 200 that changes nothing.
    let mut ids = Vec::new();
    for i in 0..4 {
        ids.push(app.okta_assign(&c, &okta_user(&format!("off{i}@okta.local"))).await);
    }
    for id in &ids {
        for _ in 0..2 {
            let res = app.okta(&c, Method::PATCH, &format!("/Users/{id}"), Some(&set_active(false))).await;
            assert_eq!(scim_json(res, 200).await["active"], false);
        }
    }
    let updates = app.events().await.iter().filter(|e| e.kind == "employee.updated").count();
    assert_eq!(updates, 4, "one employee.updated per user, none for the repeats");
    app.shutdown().await;
}

#[tokio::test]
async fn c9293_c9300_reactivate_keeps_id_and_attributes() {
    let app = spawn_app().await;
    let c = app.connection().await;
    let id = app.okta_assign(&c, &okta_user("back@okta.local")).await;
    let before = get(&app, &c, &id).await;
    for value in [false, true] {
        scim_json(app.okta(&c, Method::PATCH, &format!("/Users/{id}"), Some(&set_active(value))).await, 200).await;
    }
    let after = get(&app, &c, &id).await;
    for key in ["id", "userName", "name", "emails", "externalId", "active"] {
        assert_eq!(after[key], before[key], "{key}");
    }
    app.shutdown().await;
}

#[tokio::test]
async fn c9301_c9302_passwords_are_accepted_and_never_kept() {
    let app = spawn_app().await;
    let c = app.connection().await;
    let id = app.okta_assign(&c, &okta_user("pw@okta.local")).await;
    let body = patch(json!([{ "op": "replace", "path": "password", "value": "n3w-Secret" }]));
    let patched = scim_json(app.okta(&c, Method::PATCH, &format!("/Users/{id}"), Some(&body)).await, 200).await;
    assert!(patched.get("password").is_none());
    let rows = app.events().await;
    assert!(
        rows.iter().all(|e| !e.data.to_string().contains("1mz050nq") && !e.data.to_string().contains("n3w-Secret"))
    );
    assert!(!get(&app, &c, &id).await.to_string().contains("n3w-Secret"));
    app.shutdown().await;
}

#[tokio::test]
async fn c9303_c9304_c9305_import_pages_through_every_user_then_updates_one() {
    let app = spawn_app().await;
    let c = app.connection().await;
    let mut ids = Vec::new();
    for i in 0..5 {
        ids.push(app.okta_assign(&c, &okta_user(&format!("import{i}@okta.local"))).await);
    }
    let mut seen = Vec::new();
    let mut start = 1;
    loop {
        let page =
            scim_json(app.okta(&c, Method::GET, &format!("/Users?startIndex={start}&count=2"), None).await, 200).await;
        assert_eq!(page["totalResults"], 5);
        let resources = page["Resources"].as_array().expect("Resources").clone();
        if resources.is_empty() {
            break;
        }
        seen.extend(resources.iter().map(|r| r["id"].as_str().expect("id").to_owned()));
        start += resources.len();
    }
    assert_eq!(seen, ids);
    let mut user = get(&app, &c, &ids[2]).await;
    user["title"] = json!("Imported");
    scim_json(app.okta(&c, Method::PUT, &format!("/Users/{}", ids[2]), Some(&user)).await, 200).await;
    app.shutdown().await;
}

#[tokio::test]
async fn c9340_c9341_wrong_credentials_fail_and_a_new_token_works() {
    let app = spawn_app().await;
    let c = app.connection().await;
    for wrong in ["Bearer wrong", "wrong", "Basic d3Jvbmc6d3Jvbmc=", ""] {
        let res =
            app.client.get(format!("{}/Users", app.base)).header("Authorization", wrong).send().await.expect("send");
        assert_scim_error(res, 401, None).await;
    }
    // A new connection token (rotation issues one) works at once, in both header forms.
    let new = app.connection().await;
    for auth in [format!("Bearer {}", new.token), new.token.clone()] {
        let res =
            app.client.get(format!("{}/Users", app.base)).header("Authorization", auth).send().await.expect("send");
        assert_eq!(res.status(), 200);
    }
    assert_eq!(scim_json(app.okta(&c, Method::GET, "/Users", None).await, 200).await["totalResults"], 0);
    app.shutdown().await;
}
