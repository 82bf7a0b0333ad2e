//! Okta's "SCIM 2.0 SPEC Test" (the Runscope suite an OIN submission must pass, okta-scim.md §4.1),
//! one test per step, each with the step's request and every assertion the suite makes. The suite's
//! variables: `Runscope###` names, `<given><family>@atko.com` as userName and email.

use std::time::{Duration, Instant};

use reqwest::{Method, RequestBuilder, Response};
use serde_json::{Value, json};

use crate::helpers::{Conn, TestApp, spawn_app};

const LIST: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
const ERROR: &str = "urn:ietf:params:scim:api:messages:2.0:Error";
const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";

/// The suite's random user: `Runscope###` / `Xxxxxxxx###`, email = userName.
pub(crate) struct Runscope {
    pub given: String,
    pub family: String,
    pub email: String,
}

impl Runscope {
    pub fn new() -> Self {
        let n = uuid::Uuid::new_v4().as_u128() % 1000;
        let (given, family) = (format!("Runscope{n:03}"), format!("Xxxxxxxx{n:03}"));
        let email = format!("{given}{family}@atko.com");
        Self { given, family, email }
    }

    /// Step 6's body: schemas, userName, name, one primary work email, displayName, active.
    pub fn body(&self) -> Value {
        json!({
            "schemas": [USER],
            "userName": self.email,
            "name": { "givenName": self.given, "familyName": self.family },
            "emails": [{ "primary": true, "value": self.email, "type": "work" }],
            "displayName": format!("{} {}", self.given, self.family),
            "active": true
        })
    }
}

/// A request as the Runscope suite sends it: JSON, the token as configured.
fn runscope(app: &TestApp, c: &Conn, method: Method, path: &str) -> RequestBuilder {
    runscope_as(app, &format!("Bearer {}", c.token), method, path)
}

fn runscope_as(app: &TestApp, authorization: &str, method: Method, path: &str) -> RequestBuilder {
    app.client
        .request(method, format!("{}{path}", app.base))
        .header("Accept", "application/json")
        .header("Content-Type", "application/json")
        .header("Authorization", authorization)
}

async fn json_of(res: Response, status: u16) -> Value {
    assert_eq!(res.status().as_u16(), status);
    res.json().await.expect("json")
}

/// `GET /Users?filter=<filter>`, as the suite sends it.
fn lookup(app: &TestApp, c: &Conn, filter: &str) -> RequestBuilder {
    runscope(app, c, Method::GET, "/Users").query(&[("filter", filter)])
}

fn user_name_eq(user_name: &str) -> String {
    format!("userName eq \"{user_name}\"")
}

/// The suite's precondition: at least one user exists. Returns its id.
async fn existing_user(app: &TestApp, c: &Conn) -> (Runscope, String) {
    let user = Runscope::new();
    let created = json_of(
        runscope(app, c, Method::POST, "/Users").body(user.body().to_string()).send().await.expect("send"),
        201,
    )
    .await;
    let id = created["id"].as_str().expect("id").to_owned();
    (user, id)
}

/// The six fields steps 1 and 2 require to be non-empty.
fn assert_six_fields(user: &Value) {
    for pointer in ["/id", "/name/familyName", "/name/givenName", "/userName", "/emails/0/value"] {
        assert!(user.pointer(pointer).and_then(Value::as_str).is_some_and(|s| !s.is_empty()), "{pointer}: {user}");
    }
    assert!(user["active"].is_boolean(), "{user}");
}

fn assert_list(body: &Value) {
    assert!(body["schemas"].as_array().expect("schemas").iter().any(|s| s == LIST), "{body}");
    for field in ["itemsPerPage", "startIndex", "totalResults"] {
        assert!(body[field].is_number(), "{field} is a number: {body}");
    }
}

fn assert_error(body: &Value, status: &str) {
    assert!(body["schemas"].as_array().expect("schemas").iter().any(|s| s == ERROR), "{body}");
    assert!(body["detail"].as_str().is_some_and(|d| !d.is_empty()), "{body}");
    assert_eq!(body["status"], status, "status is the string {status}: {body}");
}

#[tokio::test]
async fn spec_01_required_test_users_endpoint() {
    let app = spawn_app().await;
    let c = app.connection().await;
    existing_user(&app, &c).await;
    let body =
        json_of(runscope(&app, &c, Method::GET, "/Users?count=1&startIndex=1").send().await.expect("send"), 200).await;
    assert_list(&body);
    let resources = body["Resources"].as_array().expect("Resources");
    assert_eq!(resources.len(), 1);
    assert_six_fields(&resources[0]);
    app.shutdown().await;
}

#[tokio::test]
async fn spec_02_required_test_get_users_by_id() {
    let app = spawn_app().await;
    let c = app.connection().await;
    let (_, id) = existing_user(&app, &c).await;
    let user = json_of(runscope(&app, &c, Method::GET, &format!("/Users/{id}")).send().await.expect("send"), 200).await;
    assert_six_fields(&user);
    assert_eq!(user["id"], id);
    app.shutdown().await;
}

#[tokio::test]
async fn spec_03_required_test_invalid_user_by_username() {
    let app = spawn_app().await;
    let c = app.connection().await;
    existing_user(&app, &c).await;
    let body = json_of(lookup(&app, &c, &user_name_eq("abcdefgh@atko.com")).send().await.expect("send"), 200).await;
    assert_list(&body);
    assert_eq!(body["totalResults"], 0);
    app.shutdown().await;
}

#[tokio::test]
async fn spec_04_required_test_invalid_user_by_id() {
    let app = spawn_app().await;
    let c = app.connection().await;
    let res = runscope(&app, &c, Method::GET, "/Users/010101001010101011001010101011").send().await.expect("send");
    assert_error(&json_of(res, 404).await, "404");
    app.shutdown().await;
}

#[tokio::test]
async fn spec_05_required_test_random_user_does_not_exist() {
    let app = spawn_app().await;
    let c = app.connection().await;
    existing_user(&app, &c).await;
    let random = Runscope::new();
    let body = json_of(lookup(&app, &c, &user_name_eq(&random.email)).send().await.expect("send"), 200).await;
    assert_list(&body);
    assert_eq!(body["totalResults"], 0);
    app.shutdown().await;
}

#[tokio::test]
async fn spec_06_required_test_create_okta_user_with_realistic_values() {
    let app = spawn_app().await;
    let c = app.connection().await;
    let user = Runscope::new();
    let res = runscope(&app, &c, Method::POST, "/Users").body(user.body().to_string()).send().await.expect("send");
    let created = json_of(res, 201).await;
    assert_eq!(created["active"], true);
    assert!(created["id"].as_str().is_some_and(|id| !id.is_empty()));
    assert_eq!(
        (&created["name"]["familyName"], &created["name"]["givenName"]),
        (&json!(user.family), &json!(user.given))
    );
    assert!(created["schemas"].as_array().expect("schemas").iter().any(|s| s == USER));
    assert_eq!(created["userName"], user.email, "case preserved");
    app.shutdown().await;
}

#[tokio::test]
async fn spec_07_required_test_verify_that_user_was_created() {
    let app = spawn_app().await;
    let c = app.connection().await;
    let (user, id) = existing_user(&app, &c).await;
    let got = json_of(runscope(&app, &c, Method::GET, &format!("/Users/{id}")).send().await.expect("send"), 200).await;
    assert_eq!(got["userName"], user.email);
    assert_eq!((&got["name"]["familyName"], &got["name"]["givenName"]), (&json!(user.family), &json!(user.given)));
    app.shutdown().await;
}

#[tokio::test]
async fn spec_08_required_test_expect_failure_when_recreating_user_with_same_values() {
    let app = spawn_app().await;
    let c = app.connection().await;
    let (user, _) = existing_user(&app, &c).await;
    let res = runscope(&app, &c, Method::POST, "/Users").body(user.body().to_string()).send().await.expect("send");
    let body = json_of(res, 409).await;
    assert_error(&body, "409");
    assert_eq!(body["scimType"], "uniqueness");
    assert_eq!(app.user_count().await, 1);
    app.shutdown().await;
}

#[tokio::test]
async fn spec_09_required_test_username_case_sensitivity_check() {
    let app = spawn_app().await;
    let c = app.connection().await;
    let (user, id) = existing_user(&app, &c).await;
    let caps = user.email.to_uppercase();
    let body = json_of(lookup(&app, &c, &user_name_eq(&caps)).send().await.expect("send"), 200).await;
    // userName is caseExact=false (RFC 7643 §4.1.1): the upper-cased name finds the user.
    assert_eq!(body["totalResults"], 1);
    assert_eq!(body["Resources"][0]["id"], id);
    app.shutdown().await;
}

#[tokio::test]
async fn spec_10_optional_test_verify_groups_endpoint() {
    let app = spawn_app().await;
    let c = app.connection().await;
    let group =
        json!({ "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Spec", "members": [] });
    json_of(runscope(&app, &c, Method::POST, "/Groups").body(group.to_string()).send().await.expect("send"), 201).await;
    let started = Instant::now();
    let body = json_of(runscope(&app, &c, Method::GET, "/Groups").send().await.expect("send"), 200).await;
    assert!(started.elapsed() < Duration::from_millis(600), "the suite allows 600 ms");
    assert!(body["totalResults"].as_u64().expect("totalResults") >= 1);
    assert!(body["Resources"].is_array());
    app.shutdown().await;
}

#[tokio::test]
async fn spec_11_required_test_check_status_401() {
    let app = spawn_app().await;
    app.connection().await;
    let res = runscope_as(&app, "non-token", Method::GET, "/Users")
        .query(&[("filter", user_name_eq("abcdefgh@atko.com"))])
        .send()
        .await
        .expect("send");
    assert_error(&json_of(res, 401).await, "401");
    app.shutdown().await;
}

#[tokio::test]
async fn spec_12_required_test_check_status_404() {
    let app = spawn_app().await;
    let c = app.connection().await;
    let res = runscope(&app, &c, Method::GET, "/Users/00919288221112222").send().await.expect("send");
    assert_error(&json_of(res, 404).await, "404");
    app.shutdown().await;
}

/// The 2016 suite: the discovery endpoints answer GET (in < 400 ms) and refuse POST with 405.
#[tokio::test]
async fn spec_2016_discovery_endpoints_and_405() {
    let app = spawn_app().await;
    let c = app.connection().await;
    for path in ["/ServiceProviderConfig", "/ResourceTypes", "/Schemas"] {
        let started = Instant::now();
        json_of(runscope(&app, &c, Method::GET, path).send().await.expect("send"), 200).await;
        assert!(started.elapsed() < Duration::from_millis(400), "{path}");
        let res = runscope(&app, &c, Method::POST, path).body("{}").send().await.expect("send");
        assert_error(&json_of(res, 405).await, "405");
    }
    app.shutdown().await;
}

/// The 2016 suite's step 9 sent the upper-cased name as the whole filter: invalid syntax, 400.
#[tokio::test]
async fn spec_2016_username_caps_as_filter_is_400() {
    let app = spawn_app().await;
    let c = app.connection().await;
    let (user, _) = existing_user(&app, &c).await;
    let body = json_of(lookup(&app, &c, &user.email.to_uppercase()).send().await.expect("send"), 400).await;
    assert_error(&body, "400");
    assert_eq!(body["scimType"], "invalidFilter");
    app.shutdown().await;
}
