//! The OpenAPI document describes exactly the routes control-plane registers, each completely.

use serde_json::Value;
use uapi_control_plane::routes::{ApiDoc, register};
use utoipa::OpenApi;

#[test]
fn the_document_describes_every_route() {
    let findings = uapi_platform::openapi::verify(&ApiDoc::openapi(), register, |_| "application/problem+json");
    assert!(findings.is_empty(), "{findings:#?}");
}

#[test]
fn setup_links_are_documented_as_served() {
    let doc = serde_json::to_value(ApiDoc::openapi()).expect("json");
    let create = &doc["paths"]["/api/connections/{id}/setup-links"]["post"];
    assert_ne!(create["requestBody"]["required"], Value::Bool(true), "the body is optional: {create}");
    assert!(create["security"].is_null(), "the document's bearer scheme applies: {create}");
    let open = &doc["paths"]["/api/setup-links/{token}"]["get"];
    assert_eq!(open["security"], serde_json::json!([{}]), "opened without credentials: {open}");
    for status in ["200", "404", "410"] {
        assert!(open["responses"][status].is_object(), "{status}: {open}");
    }
}
