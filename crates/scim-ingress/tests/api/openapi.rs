//! The OpenAPI document describes exactly the routes scim-ingress registers, each completely, with
//! SCIM errors under `/scim/` and problems elsewhere (as crates/e2e/tests/openapi.rs checks).

use serde_json::json;
use uapi_scim_ingress::routes::{ApiDoc, register};
use utoipa::OpenApi;

#[test]
fn the_document_describes_every_route() {
    let error_type =
        |path: &str| if path.starts_with("/scim/") { "application/scim+json" } else { "application/problem+json" };
    let findings = uapi_platform::openapi::verify(&ApiDoc::openapi(), register, error_type);
    assert!(findings.is_empty(), "{findings:#?}");
}

#[test]
fn the_status_route_is_documented_as_served() {
    let doc = serde_json::to_value(ApiDoc::openapi()).expect("json");
    let op = &doc["paths"]["/api/scim/status"]["get"];
    assert_eq!(op["security"], json!([{ "scimToken": [] }]), "{op}");
    let ok = &op["responses"]["200"]["content"]["application/json"]["schema"]["$ref"];
    assert_eq!(ok, "#/components/schemas/DirectoryStatus");
    let schema = &doc["components"]["schemas"]["DirectoryStatus"];
    let mut fields: Vec<&str> =
        schema["properties"].as_object().expect("properties").keys().map(String::as_str).collect();
    fields.sort_unstable();
    assert_eq!(fields, ["connectionId", "groups", "lastPushAt", "lastRequestAt", "recentErrors", "users"]);
    for status in ["401", "429", "503"] {
        assert!(op["responses"][status].is_object(), "{status}: {op}");
    }
    let error = &doc["components"]["schemas"]["RecentError"]["properties"];
    assert_eq!(error["scimType"]["type"], json!(["string", "null"]), "{error}");
    assert!(doc["components"]["schemas"]["Problem"].is_object());
}
