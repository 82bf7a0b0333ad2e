//! employee-store's OpenAPI document: what it describes is exactly what the service registers,
//! and the service serves it at `GET /openapi.json`.

use serde_json::Value;
use uapi_employee_store::routes::{ApiDoc, register};
use utoipa::OpenApi;

use crate::helpers::spawn_app;

#[test]
fn the_document_describes_exactly_the_registered_routes() {
    let (undocumented, unregistered) = uapi_platform::openapi::drift(&ApiDoc::openapi(), register);
    assert!(undocumented.is_empty(), "registered, not in the document: {undocumented:?}");
    assert!(unregistered.is_empty(), "in the document, not registered: {unregistered:?}");
    let lacking = uapi_platform::openapi::lacks(&ApiDoc::openapi(), |_| "application/problem+json");
    assert!(lacking.is_empty(), "{lacking:#?}");
}

#[tokio::test]
async fn the_service_serves_its_document() {
    let app = spawn_app().await;
    let res = app.client.get(format!("{}/openapi.json", app.addr)).send().await.expect("request");
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "application/json");
    let served: Value = res.json().await.expect("json");
    assert_eq!(served, serde_json::to_value(ApiDoc::openapi()).expect("json"));
    assert_eq!(served["openapi"], "3.1.0");
    assert_eq!(served["components"]["securitySchemes"]["bearer"]["scheme"], "bearer");
    app.shutdown().await;
}
