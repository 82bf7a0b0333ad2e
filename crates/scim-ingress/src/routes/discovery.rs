//! Discovery (RFC 7644 §4): `/ServiceProviderConfig`, `/ResourceTypes` and `/Schemas`, describing
//! exactly what this server supports. Read-only: other methods get 405.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use serde_json::{Value, json};
use uapi_scim::schema::{ENTERPRISE_USER_SCHEMA, GROUP_SCHEMA, USER_SCHEMA};

use super::openapi::*;
use super::scim;
use crate::scim::error::{ScimError, ScimResult};
use crate::scim::list;
use crate::state::AppState;
use uapi_platform::openapi::Routes;

pub fn register(routes: &mut Routes<'_>) {
    routes
        .read_only("/ServiceProviderConfig", service_provider_config, not_allowed)
        .read_only("/ResourceTypes", resource_types, not_allowed)
        .read_only("/ResourceTypes/{id}", resource_type, not_allowed)
        .read_only("/Schemas", schemas, not_allowed)
        .read_only("/Schemas/{id}", schema, not_allowed);
}

async fn not_allowed() -> ScimResult<HttpResponse> {
    Err(ScimError::new(StatusCode::METHOD_NOT_ALLOWED, None, "discovery endpoints are read-only"))
}

fn meta(state: &AppState, resource_type: &str, path: &str) -> Value {
    json!({ "resourceType": resource_type, "location": format!("{}{path}", state.base_url) })
}

/// What this server supports: PATCH, filters, no bulk, no sort, bearer tokens.
#[utoipa::path(
    get,
    path = "/scim/v2/ServiceProviderConfig",
    operation_id = "serviceProviderConfig",
    tag = "Discovery",
    responses(
        (status = 200, description = "The ServiceProviderConfig.", body = ScimDiscovery, content_type = "application/scim+json"),
        ScimUnauthorized,
        ScimThrottled
    )
)]
pub(crate) async fn service_provider_config(state: web::Data<AppState>) -> HttpResponse {
    let body = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
        "documentationUri": "https://github.com/uapi-hris/uapi-hris/blob/main/docs/scim.md",
        "patch": { "supported": true },
        "bulk": { "supported": false, "maxOperations": 0, "maxPayloadSize": 0 },
        "filter": { "supported": true, "maxResults": state.max_count },
        "changePassword": { "supported": false },
        "sort": { "supported": false },
        "etag": { "supported": false },
        "authenticationSchemes": [{
            "type": "oauthbearertoken",
            "name": "Bearer token",
            "description": "The connection's API token, as `Authorization: Bearer <token>` or as the bare header value",
            "primary": true
        }],
        "meta": meta(&state, "ServiceProviderConfig", "/ServiceProviderConfig"),
    });
    scim(StatusCode::OK, &body)
}

fn user_resource_type(state: &AppState) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ResourceType"],
        "id": "User",
        "name": "User",
        "endpoint": "/Users",
        "description": "User Account",
        "schema": USER_SCHEMA,
        "schemaExtensions": [{ "schema": ENTERPRISE_USER_SCHEMA, "required": false }],
        "meta": meta(state, "ResourceType", "/ResourceTypes/User"),
    })
}

fn group_resource_type(state: &AppState) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ResourceType"],
        "id": "Group",
        "name": "Group",
        "endpoint": "/Groups",
        "description": "Group",
        "schema": GROUP_SCHEMA,
        "meta": meta(state, "ResourceType", "/ResourceTypes/Group"),
    })
}

/// The resource types served: User (with the enterprise extension) and Group.
#[utoipa::path(
    get,
    path = "/scim/v2/ResourceTypes",
    operation_id = "resourceTypes",
    tag = "Discovery",
    responses(
        (status = 200, description = "A ListResponse of ResourceTypes.", body = ScimDiscovery, content_type = "application/scim+json"),
        ScimUnauthorized,
        ScimThrottled
    )
)]
pub(crate) async fn resource_types(state: web::Data<AppState>) -> HttpResponse {
    let all = vec![user_resource_type(&state), group_resource_type(&state)];
    scim(StatusCode::OK, &list::response(all.len() as i64, 1, all))
}

/// One resource type.
#[utoipa::path(
    get,
    path = "/scim/v2/ResourceTypes/{id}",
    operation_id = "resourceType",
    tag = "Discovery",
    params(("id" = String, Path, description = "`User` or `Group`; a schema URN for `/Schemas/{id}`.")),
    responses(
        (status = 200, description = "The ResourceType.", body = ScimDiscovery, content_type = "application/scim+json"),
        ScimUnauthorized,
        ScimNotFound,
        ScimThrottled
    )
)]
pub(crate) async fn resource_type(state: web::Data<AppState>, id: web::Path<String>) -> ScimResult<HttpResponse> {
    match id.as_str() {
        "User" => Ok(scim(StatusCode::OK, &user_resource_type(&state))),
        "Group" => Ok(scim(StatusCode::OK, &group_resource_type(&state))),
        _ => Err(ScimError::not_found(format!("ResourceType {id} not found"))),
    }
}

const SCHEMA_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Schema";

/// One attribute definition with RFC 7643 §7 characteristics.
fn attr(
    name: &str,
    kind: &str,
    multi: bool,
    required: bool,
    case_exact: bool,
    mutability: &str,
    uniqueness: &str,
) -> Value {
    json!({
        "name": name, "type": kind, "multiValued": multi, "description": name, "required": required,
        "caseExact": case_exact, "mutability": mutability,
        "returned": if name == "password" { "never" } else { "default" },
        "uniqueness": uniqueness,
    })
}

fn string(name: &str) -> Value {
    attr(name, "string", false, false, false, "readWrite", "none")
}

fn complex(name: &str, multi: bool, subs: Vec<Value>) -> Value {
    let mut a = attr(name, "complex", multi, false, false, "readWrite", "none");
    a["subAttributes"] = Value::Array(subs);
    a
}

fn multi_valued(name: &str, extra: &[&str]) -> Value {
    let mut subs = vec![
        string("value"),
        string("display"),
        string("type"),
        attr("primary", "boolean", false, false, false, "readWrite", "none"),
    ];
    subs.extend(extra.iter().map(|s| string(s)));
    complex(name, true, subs)
}

fn user_schema(state: &AppState) -> Value {
    let mut groups = multi_valued("groups", &[]);
    groups["mutability"] = json!("readOnly");
    json!({
        "schemas": [SCHEMA_SCHEMA],
        "id": USER_SCHEMA, "name": "User", "description": "User Account",
        "attributes": [
            attr("userName", "string", false, true, false, "readWrite", "server"),
            complex("name", false, ["formatted", "familyName", "givenName", "middleName", "honorificPrefix", "honorificSuffix"].iter().map(|s| string(s)).collect()),
            string("displayName"), string("nickName"), string("profileUrl"), string("title"), string("userType"),
            string("preferredLanguage"), string("locale"), string("timezone"),
            attr("active", "boolean", false, false, false, "readWrite", "none"),
            attr("password", "string", false, false, false, "writeOnly", "none"),
            multi_valued("emails", &[]), multi_valued("phoneNumbers", &[]), multi_valued("ims", &[]), multi_valued("photos", &[]),
            complex("addresses", true, ["formatted", "streetAddress", "locality", "region", "postalCode", "country", "type"].iter().map(|s| string(s)).chain([attr("primary", "boolean", false, false, false, "readWrite", "none")]).collect()),
            groups,
            multi_valued("entitlements", &[]), multi_valued("roles", &[]), multi_valued("x509Certificates", &[]),
        ],
        "meta": meta(state, "Schema", &format!("/Schemas/{USER_SCHEMA}")),
    })
}

fn enterprise_schema(state: &AppState) -> Value {
    json!({
        "schemas": [SCHEMA_SCHEMA],
        "id": ENTERPRISE_USER_SCHEMA, "name": "EnterpriseUser", "description": "Enterprise User",
        "attributes": [
            string("employeeNumber"), string("costCenter"), string("organization"), string("division"), string("department"),
            complex("manager", false, vec![string("value"), attr("$ref", "reference", false, false, false, "readWrite", "none"), attr("displayName", "string", false, false, false, "readOnly", "none")]),
        ],
        "meta": meta(state, "Schema", &format!("/Schemas/{ENTERPRISE_USER_SCHEMA}")),
    })
}

fn group_schema(state: &AppState) -> Value {
    let mut members = complex(
        "members",
        true,
        vec![
            attr("value", "string", false, false, true, "immutable", "none"),
            attr("display", "string", false, false, false, "readOnly", "none"),
            attr("$ref", "reference", false, false, true, "immutable", "none"),
            attr("type", "string", false, false, false, "immutable", "none"),
        ],
    );
    members["description"] = json!("The users of the group (only users: no nested groups)");
    json!({
        "schemas": [SCHEMA_SCHEMA],
        "id": GROUP_SCHEMA, "name": "Group", "description": "Group",
        "attributes": [
            attr("displayName", "string", false, true, false, "readWrite", "server"),
            string("externalId"),
            members,
        ],
        "meta": meta(state, "Schema", &format!("/Schemas/{GROUP_SCHEMA}")),
    })
}

/// The schemas served: User, EnterpriseUser and Group, with every attribute.
#[utoipa::path(
    get,
    path = "/scim/v2/Schemas",
    operation_id = "schemas",
    tag = "Discovery",
    responses(
        (status = 200, description = "A ListResponse of Schemas.", body = ScimDiscovery, content_type = "application/scim+json"),
        ScimUnauthorized,
        ScimThrottled
    )
)]
pub(crate) async fn schemas(state: web::Data<AppState>) -> HttpResponse {
    let all = vec![user_schema(&state), enterprise_schema(&state), group_schema(&state)];
    scim(StatusCode::OK, &list::response(all.len() as i64, 1, all))
}

/// One schema, by its URN.
#[utoipa::path(
    get,
    path = "/scim/v2/Schemas/{id}",
    operation_id = "schema",
    tag = "Discovery",
    params(("id" = String, Path, description = "`User` or `Group`; a schema URN for `/Schemas/{id}`.")),
    responses(
        (status = 200, description = "The Schema.", body = ScimDiscovery, content_type = "application/scim+json"),
        ScimUnauthorized,
        ScimNotFound,
        ScimThrottled
    )
)]
pub(crate) async fn schema(state: web::Data<AppState>, id: web::Path<String>) -> ScimResult<HttpResponse> {
    let found = [user_schema(&state), enterprise_schema(&state), group_schema(&state)]
        .into_iter()
        .find(|s| s["id"].as_str().is_some_and(|i| i.eq_ignore_ascii_case(&id)));
    found.map(|s| scim(StatusCode::OK, &s)).ok_or_else(|| ScimError::not_found(format!("Schema {id} not found")))
}
