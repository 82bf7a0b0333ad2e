//! The API Explorer: Swagger UI served from the binary, offering every service's document, with
//! nothing loaded from anywhere but the portal and the APIs.

use std::collections::HashMap;

use tokio_util::sync::CancellationToken;
use uapi_platform::config::Sources;
use uapi_portal::config::Settings;
use uapi_portal::startup::Application;

/// The portal on a free port with `settings` (`UAPI_…` pairs) over its test defaults.
async fn spawn_portal_with(settings: &[(&str, &str)]) -> (String, CancellationToken) {
    let mut env: HashMap<String, String> = [
        ("UAPI_HTTP__PORT", "0"),
        ("UAPI_HTTP__WORKERS", "1"),
        ("UAPI_SERVICES__CONTROL_PLANE", "http://127.0.0.1:18080"),
        ("UAPI_SERVICES__SCIM_INGRESS", "http://127.0.0.1:18081"),
        ("UAPI_SERVICES__EMPLOYEE_STORE", "http://127.0.0.1:18082"),
        ("UAPI_SERVICES__WEBHOOK_DISPATCHER", "http://127.0.0.1:18083"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    env.extend(settings.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
    let settings = Settings::load(Sources { file: None, env: Some(env) }).expect("settings");
    let app = Application::build(&settings).expect("builds");
    let base = format!("http://127.0.0.1:{}", app.port());
    let stop = CancellationToken::new();
    tokio::spawn(app.run_until(stop.clone()));
    (base, stop)
}

async fn spawn_portal() -> (String, CancellationToken) {
    spawn_portal_with(&[]).await
}

fn client() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("client")
}

#[tokio::test]
async fn the_explorer_offers_every_services_document_and_loads_nothing_from_elsewhere() {
    let (base, stop) = spawn_portal().await;
    let http = client();

    let home = http.get(format!("{base}/")).send().await.expect("home");
    assert_eq!(home.status(), 303);
    assert_eq!(home.headers()["location"], "/signin", "no session: sign in first");

    let page = http.get(format!("{base}/explorer/")).send().await.expect("page");
    assert_eq!(page.status(), 200);
    let html = page.text().await.expect("html");
    assert!(html.contains("swagger-ui"), "{html}");
    // Every script and stylesheet is the portal's own.
    for attr in ["src=\"", "href=\""] {
        for reference in html.split(attr).skip(1).filter_map(|s| s.split('"').next()) {
            assert!(!reference.contains("://"), "{reference} is loaded from elsewhere");
        }
    }
    let bundle = http.get(format!("{base}/explorer/swagger-ui-bundle.js")).send().await.expect("bundle");
    assert_eq!(bundle.status(), 200, "the assets are embedded");

    let init = http.get(format!("{base}/explorer/swagger-initializer.js")).send().await.expect("initializer");
    let init = init.text().await.expect("js");
    for slug in ["control-plane", "employee-store", "webhook-dispatcher", "scim-ingress"] {
        assert!(init.contains(&format!("/explorer/docs/{slug}.json")), "{slug}: {init}");
    }
    assert!(init.contains(r#""validatorUrl": "none""#), "no validator badge: {init}");
    assert!(!init.contains("queryConfigEnabled\": true"), "no configuration from a link: {init}");
    stop.cancel();
}

/// An API that serves only its document.
fn api_with_a_document() -> String {
    use actix_web::{App, HttpResponse, HttpServer, web};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let server = HttpServer::new(|| {
        App::new().route(
            "/openapi.json",
            web::get().to(|| async {
                HttpResponse::Ok().json(
                    serde_json::json!({"openapi": "3.1.0", "info": {"title": "HRIS", "version": "1"}, "paths": {}}),
                )
            }),
        )
    })
    .workers(1)
    .disable_signals()
    .listen(listener)
    .expect("listen")
    .run();
    tokio::spawn(server);
    format!("http://127.0.0.1:{port}")
}

#[tokio::test]
async fn the_portal_serves_each_document_pointing_at_the_api_a_browser_reaches() {
    let backend = api_with_a_document();
    let (base, stop) = spawn_portal_with(&[
        ("UAPI_SERVICES__EMPLOYEE_STORE", "https://hris.example.com"),
        ("UAPI_BACKEND__EMPLOYEE_STORE", &backend),
    ])
    .await;

    let doc: serde_json::Value = client()
        .get(format!("{base}/explorer/docs/employee-store.json"))
        .send()
        .await
        .expect("doc")
        .json()
        .await
        .expect("json");
    assert_eq!(doc["info"]["title"], "HRIS", "{doc}");
    assert_eq!(doc["servers"], serde_json::json!([{"url": "https://hris.example.com"}]), "{doc}");
    let unknown = client().get(format!("{base}/explorer/docs/nothing.json")).send().await.expect("unknown");
    assert_eq!(unknown.status(), 404);
    stop.cancel();
}

#[test]
fn a_service_url_must_be_a_base_url() {
    for bad in ["ftp://x", "http://127.0.0.1:8080/", "nonsense"] {
        let env = HashMap::from([("UAPI_SERVICES__EMPLOYEE_STORE".to_owned(), bad.to_owned())]);
        let err = Settings::load(Sources { file: None, env: Some(env) }).expect_err(bad);
        assert!(err.to_string().contains("services.employee_store"), "{err}");
    }
}

#[test]
fn the_portals_own_calls_use_the_backend_url_where_set() {
    let env = HashMap::from([
        ("UAPI_SERVICES__CONTROL_PLANE".to_owned(), "https://api.example.com".to_owned()),
        ("UAPI_BACKEND__CONTROL_PLANE".to_owned(), "http://control-plane:8080".to_owned()),
    ]);
    let settings = Settings::load(Sources { file: None, env: Some(env) }).expect("settings");
    let backend = settings.backend();
    assert_eq!(backend.control_plane, "http://control-plane:8080");
    assert_eq!(backend.employee_store, settings.services.employee_store, "unset: the browser's URL");
    let env = HashMap::from([("UAPI_BACKEND__SCIM_INGRESS".to_owned(), "http://x/".to_owned())]);
    let err = Settings::load(Sources { file: None, env: Some(env) }).expect_err("trailing slash");
    assert!(err.to_string().contains("backend.scim_ingress"), "{err}");
}
