//! Every service's OpenAPI document describes exactly the routes the service registers, each
//! operation completely, and each running service serves its document at `GET /openapi.json`.

mod support;

use serde_json::Value;
use support::{Stack, StackOptions};
use uapi_platform::openapi::{Routes, verify};
use utoipa::OpenApi;

/// A service's document and its routes.
struct Api {
    name: &'static str,
    doc: fn() -> utoipa::openapi::OpenApi,
    register: fn(&mut Routes<'_>),
}

/// The media type of an error at `path`: SCIM's under `/scim/`, problem+json elsewhere.
fn error_type(path: &str) -> &'static str {
    if path.starts_with("/scim/") { "application/scim+json" } else { "application/problem+json" }
}

const APIS: [Api; 4] = [
    Api {
        name: "control-plane",
        doc: uapi_control_plane::routes::ApiDoc::openapi,
        register: uapi_control_plane::routes::register,
    },
    Api {
        name: "employee-store",
        doc: uapi_employee_store::routes::ApiDoc::openapi,
        register: uapi_employee_store::routes::register,
    },
    Api {
        name: "webhook-dispatcher",
        doc: uapi_webhook_dispatcher::routes::ApiDoc::openapi,
        register: uapi_webhook_dispatcher::routes::register,
    },
    Api {
        name: "scim-ingress",
        doc: uapi_scim_ingress::routes::ApiDoc::openapi,
        register: uapi_scim_ingress::routes::register,
    },
];

#[test]
fn each_document_describes_exactly_its_services_routes() {
    for api in &APIS {
        let findings = verify(&(api.doc)(), api.register, error_type);
        assert!(findings.is_empty(), "{}: {findings:#?}", api.name);
    }
}

#[tokio::test]
async fn each_service_serves_its_document() {
    let stack = Stack::start(StackOptions { webhooks: true, ..Default::default() }).await;
    let dispatcher = stack.webhooks.clone().expect("webhook-dispatcher");
    for (api, base) in APIS.iter().zip([&stack.control_plane, &stack.store, &dispatcher, &stack.scim]) {
        let res = stack.client.get(format!("{base}/openapi.json")).send().await.expect("request");
        assert_eq!(res.status(), 200, "{}", api.name);
        assert_eq!(res.headers()["content-type"], "application/json", "{}", api.name);
        let served: Value = res.json().await.expect("json");
        assert_eq!(served, serde_json::to_value((api.doc)()).expect("json"), "{}", api.name);
        assert_eq!(served["openapi"], "3.1.0", "{}", api.name);
        let schemes = served["components"]["securitySchemes"].as_object().expect("security schemes");
        assert!(schemes.values().all(|s| s["scheme"] == "bearer"), "{}: {schemes:?}", api.name);
    }
    stack.shutdown().await;
}
