//! The portal against the real services: the whole journey in headless Chromium
//! (`crates/e2e/browser/journey.mjs`), and its security promises checked over HTTP: another
//! application's ids are not found, a form without its CSRF token is refused, and an expired or
//! revoked setup link shows nothing but an explanation.

mod support;

use std::collections::HashMap;
use std::path::PathBuf;

use reqwest::Client;
use serde_json::{Value, json};
use support::{Stack, StackOptions, Tenant};
use tokio_util::sync::CancellationToken;
use uapi_platform::config::Sources;

/// The stack, with the portal's origin allowed by every API, and the portal in front of it.
async fn start(retry_schedule: &str) -> (Stack, String, CancellationToken) {
    let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("port").port();
    let portal = format!("http://127.0.0.1:{port}");
    let stack = Stack::start(StackOptions {
        webhooks: true,
        service_env: vec![
            ("UAPI_HTTP__CORS_ORIGINS", portal.clone()),
            ("UAPI_WEBHOOKS__RETRY_SCHEDULE_SECS", retry_schedule.to_owned()),
        ],
        ..StackOptions::default()
    })
    .await;
    let env: HashMap<String, String> = [
        ("UAPI_HTTP__PORT", port.to_string()),
        ("UAPI_HTTP__WORKERS", "2".to_owned()),
        ("UAPI_SERVICES__CONTROL_PLANE", stack.control_plane.clone()),
        ("UAPI_SERVICES__SCIM_INGRESS", stack.scim.clone()),
        ("UAPI_SERVICES__EMPLOYEE_STORE", stack.store.clone()),
        ("UAPI_SERVICES__WEBHOOK_DISPATCHER", stack.webhooks.clone().expect("dispatcher")),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    let settings = uapi_portal::config::Settings::load(Sources { file: None, env: Some(env) }).expect("settings");
    let app = uapi_portal::startup::Application::build(&settings).expect("portal");
    let stop = CancellationToken::new();
    tokio::spawn(app.run_until(stop.clone()));
    (stack, portal, stop)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_whole_journey_in_a_browser() {
    let browser = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("browser");
    assert!(
        browser.join("node_modules/playwright-core").exists() && std::path::Path::new("/usr/bin/chromium").exists(),
        "the browser test needs Debian's chromium and `npm ci` in crates/e2e/browser (make test does both)"
    );
    // One attempt per delivery: a failed delivery is final at once, for the retry button.
    let (stack, portal, stop) = start("0").await;
    let app = stack.application("portal journey").await;
    let journey = tokio::process::Command::new("node")
        .arg("journey.mjs")
        .current_dir(&browser)
        .env("PORTAL_URL", &portal)
        .env("APP_ID", app["applicationId"].as_str().expect("id"))
        .env("API_KEY", app["apiKey"].as_str().expect("key"))
        .kill_on_drop(true)
        .output();
    let started = std::time::Instant::now();
    let output = tokio::time::timeout(std::time::Duration::from_secs(200), journey)
        .await
        .expect("the browser journey finished within 200 s")
        .expect("node runs");
    let (out, err) = (String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success(), "the browser journey failed:\n{out}\n{err}");
    assert!(out.contains("journey passed"), "{out}");
    eprintln!("the browser journey took {:?}:\n{out}", started.elapsed());
    let started = std::time::Instant::now();
    stop.cancel();
    stack.shutdown().await;
    eprintln!("the stack stopped in {:?}", started.elapsed());
}

/// A signed-in browser: its session cookie and CSRF token.
struct Browser {
    http: Client,
    portal: String,
    cookie: String,
    csrf: String,
}

fn cookie_value(response: &reqwest::Response, name: &str) -> Option<String> {
    response.headers().get_all("set-cookie").iter().filter_map(|v| v.to_str().ok()).find_map(|c| {
        let pair = c.split(';').next()?;
        let (k, v) = pair.split_once('=')?;
        (k == name && !v.is_empty()).then(|| v.to_owned())
    })
}

fn form_body(fields: &[(&str, &str)]) -> String {
    url::form_urlencoded::Serializer::new(String::new()).extend_pairs(fields).finish()
}

fn hidden_csrf(html: &str) -> String {
    let at = html.find("name=\"_csrf\" value=\"").expect("a CSRF field") + "name=\"_csrf\" value=\"".len();
    html[at..].split('"').next().expect("value").to_owned()
}

impl Browser {
    async fn sign_in(portal: &str, t: &Tenant) -> Self {
        let http = Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("client");
        let form = http.get(format!("{portal}/signin")).send().await.expect("sign-in page");
        let pre = cookie_value(&form, "uapi_portal_signin").expect("sign-in cookie");
        let token = hidden_csrf(&form.text().await.expect("html"));
        let signed = http
            .post(format!("{portal}/signin"))
            .header("cookie", format!("uapi_portal_signin={pre}"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form_body(&[("_csrf", token.as_str()), ("applicationId", &t.application_id), ("apiKey", &t.api_key)]))
            .send()
            .await
            .expect("sign in");
        assert_eq!(signed.status(), 303);
        let set = signed.headers().get_all("set-cookie").iter().map(|v| v.to_str().unwrap_or("")).collect::<Vec<_>>();
        let session = set.iter().find(|c| c.starts_with("uapi_portal_session=")).expect("session cookie");
        for attribute in ["HttpOnly", "SameSite=Strict", "Path=/"] {
            assert!(session.contains(attribute), "{session}");
        }
        assert!(!session.contains("Secure"), "loopback: not Secure, so the browser keeps it: {session}");
        let cookie = cookie_value(&signed, "uapi_portal_session").expect("session");
        let mut b = Self { http, portal: portal.to_owned(), cookie, csrf: String::new() };
        let page = b.get("/consumers").await;
        assert_eq!(page.status(), 200);
        b.csrf = hidden_csrf(&page.text().await.expect("html"));
        b
    }

    async fn get(&self, path: &str) -> reqwest::Response {
        let request = self.http.get(format!("{}{path}", self.portal));
        request.header("cookie", format!("uapi_portal_session={}", self.cookie)).send().await.expect("get")
    }

    async fn post(&self, path: &str, form: &[(&str, &str)]) -> reqwest::Response {
        let request = self.http.post(format!("{}{path}", self.portal));
        let request = request.header("cookie", format!("uapi_portal_session={}", self.cookie));
        let request = request.header("content-type", "application/x-www-form-urlencoded");
        request.body(form_body(form)).send().await.expect("post")
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_applications_ids_are_not_found_and_forms_need_their_csrf_token() {
    let (stack, portal, stop) = start("0,5").await;
    let (ours, theirs) = (stack.tenant("portal ours").await, stack.tenant("portal theirs").await);
    let webhooks = stack.webhooks.clone().expect("dispatcher");
    let hook: Value = stack
        .client
        .post(format!("{webhooks}/api/webhooks"))
        .bearer_auth(&theirs.app_token)
        .json(&json!({"deliveryUrl": "http://127.0.0.1:9/hooks", "events": ["*"]}))
        .send()
        .await
        .expect("webhook")
        .json()
        .await
        .expect("json");
    let their_hook = hook["id"].as_str().expect("id");
    let user = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "zed@theirs.example", "active": true});
    let created: Value =
        stack.scim_send(&theirs, reqwest::Method::POST, "/Users", &user).await.json().await.expect("json");
    let their_employee = stack.wait_employee(&theirs, created["id"].as_str().expect("id"), |_| true).await;
    let their_employee = their_employee["id"].as_str().expect("id");

    let browser = Browser::sign_in(&portal, &ours).await;
    let (c, conn) = (&theirs.consumer_id, &theirs.connection_id);
    for path in [
        format!("/consumers/{c}"),
        format!("/consumers/{c}/employees"),
        format!("/consumers/{c}/employees/{their_employee}"),
        format!("/consumers/{c}/groups"),
        format!("/consumers/{c}/connections/{conn}"),
        format!("/consumers/{}/connections/{conn}", ours.consumer_id),
        format!("/consumers/{}/employees/{their_employee}", ours.consumer_id),
        format!("/webhooks/{their_hook}"),
        format!("/explorer-access/{c}"),
        "/consumers/not-a-uuid".to_owned(),
    ] {
        let page = browser.get(&path).await;
        assert_eq!(page.status(), 404, "{path}");
        let html = page.text().await.expect("html");
        assert!(!html.contains(c.as_str()) && !html.contains(&theirs.scim_token), "{path} shows their data");
    }
    // Posting to their resources: refused the same way, nothing changes.
    let csrf = browser.csrf.clone();
    let refused = browser.post(&format!("/consumers/{c}/connections/{conn}/rotate-token"), &[("_csrf", &csrf)]).await;
    assert_eq!(refused.status(), 404);
    let refused = browser.post(&format!("/webhooks/{their_hook}/delete"), &[("_csrf", &csrf)]).await;
    assert_eq!(refused.status(), 404);
    let refused = browser.post(&format!("/consumers/{c}/connections/{conn}/setup-links"), &[("_csrf", &csrf)]).await;
    assert_eq!(refused.status(), 404, "no setup link for their connection");
    let refused = browser.post("/session/explorer-token", &[("_csrf", &csrf), ("consumer", c)]).await;
    assert_eq!(refused.status(), 404, "no access token for their consumer");
    let ours_token =
        browser.post("/session/explorer-token", &[("_csrf", &csrf), ("consumer", &ours.consumer_id)]).await;
    assert_eq!(ours_token.status(), 200, "ours: the Explorer's token");
    let still = stack.client.get(format!("{webhooks}/api/webhooks/{their_hook}")).bearer_auth(&theirs.app_token);
    assert_eq!(still.send().await.expect("get").status(), 200, "their webhook is still there");

    // A form without its token, or with another's, is refused and does nothing.
    for form in [vec![("name", "Forged")], vec![("name", "Forged"), ("_csrf", "not-the-token")]] {
        let forged = browser.post("/consumers", &form).await;
        assert_eq!(forged.status(), 403);
    }
    let listed: Value = stack
        .client
        .get(format!("{}/api/consumers", stack.control_plane))
        .bearer_auth(&ours.app_token)
        .send()
        .await
        .expect("list")
        .json()
        .await
        .expect("json");
    assert!(listed["data"].as_array().expect("data").iter().all(|c| c["name"] != "Forged"), "{listed}");
    // With it, the same form works.
    let made = browser.post("/consumers", &[("name", "Genuine"), ("_csrf", &csrf)]).await;
    assert_eq!(made.status(), 303);

    // Without a session, a page leads to sign-in and a post is refused.
    let anonymous = Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("client");
    let page = anonymous.get(format!("{portal}/consumers")).send().await.expect("get");
    assert_eq!((page.status().as_u16(), page.headers()["location"].to_str().ok()), (303, Some("/signin")));
    stop.cancel();
    stack.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_or_revoked_setup_link_shows_only_an_explanation() {
    let (stack, portal, stop) = start("0,5").await;
    let t = stack.tenant("portal links").await;
    let cp = &stack.control_plane;
    let link = |hours: u32| {
        let request = stack.client.post(format!("{cp}/api/connections/{}/setup-links", t.connection_id));
        let request = request.bearer_auth(&t.consumer_token).json(&json!({ "expiresInHours": hours }));
        async move {
            let created: Value = request.send().await.expect("create").json().await.expect("json");
            (created["id"].as_str().expect("id").to_owned(), created["token"].as_str().expect("token").to_owned())
        }
    };
    let http = Client::new();
    let open = |token: String| {
        let request = http.get(format!("{portal}/setup/{token}"));
        async move {
            let page = request.send().await.expect("page");
            (page.status().as_u16(), page.text().await.expect("html"))
        }
    };

    let (_, valid) = link(168).await;
    let (status, html) = open(valid.clone()).await;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains(&t.scim_token) && html.contains(&t.base_url), "the valid link shows the metadata");
    // The harness's own SCIM call (waiting for the token) counts as Okta's first request.
    assert!(html.contains("Connected: 0 users, 0 groups."), "{html}");

    let (revoked_id, revoked) = link(168).await;
    let revoke = stack.client.delete(format!("{cp}/api/connections/{}/setup-links/{revoked_id}", t.connection_id));
    assert_eq!(revoke.bearer_auth(&t.consumer_token).send().await.expect("revoke").status(), 204);
    let (status, html) = open(revoked).await;
    assert_eq!(status, 410);
    assert!(!html.contains(&t.scim_token) && !html.contains(&t.base_url), "a revoked link shows nothing: {html}");

    let (_, expired) = link(1).await;
    {
        use diesel_async::{AsyncConnection, AsyncPgConnection, SimpleAsyncConnection};
        let mut db = AsyncPgConnection::establish(stack.control_plane_db()).await.expect("control-plane db");
        db.batch_execute("UPDATE setup_links SET expires_at = now() - interval '1 minute'").await.expect("expire");
    }
    let (status, html) = open(expired).await;
    assert_eq!(status, 410);
    assert!(html.contains("expired") && !html.contains(&t.scim_token), "{html}");

    let (status, html) = open("no-such-link".to_owned()).await;
    assert_eq!(status, 404);
    assert!(!html.contains(&t.scim_token));
    // The valid one expired with the others above: the same explanation.
    let (status, _) = open(valid).await;
    assert_eq!(status, 410);
    stop.cancel();
    stack.shutdown().await;
}
